//! AA server simulator: the Advanced Authentication REST API (`/api/v1/…`) as documented in the
//! project's protocol notes, strict in what it accepts, plus simulator-only inspection and fault
//! routes under `/sim/v1/`. Start it in-process with [`Simulator::start`] (or, as a cluster of
//! servers sharing one state whose instances can be taken down, [`Simulator::start_cluster`]) or
//! as the `aa-sim` binary.

mod api;
mod app;
pub mod demo;
mod directory;
mod envelope;
pub mod faults;
pub mod fido2;
mod fixture;
mod fixture_fido2;
mod http;
mod ids;
mod instance;
mod instance_control;
mod instance_routes;
mod routes;
mod sim_routes;
mod simulator;
mod store;
mod tls;
pub mod totp;
pub mod u2f;

pub use faults::{Fault, FaultRule};
pub use fido2::Fido2Rejection;
pub use fixture::{
    AdminFixture, ChainFixture, EndpointFixture, Fixture, FixtureError, PhoneAnswers, RadiusChallengeFixture,
    RadiusFixture, SecurityQuestionFixture, SmartphoneFixture, U2fCredentialFixture, UserFixture,
};
pub use fixture_fido2::{Fido2CredentialFixture, Fido2UserFixture};
pub use instance::{InstanceStats, Outage};
pub use instance_control::InstanceControl;
pub use simulator::{ApprovalDecision, ChainsLookup, Lifetimes, SimConfig, Simulator, Stats, TlsMode};
pub use u2f::U2fRejection;
