//! Values of the built-in demo fixture ([`crate::Fixture::demo`]), for tests and demos.

/// Id of the demo endpoint (the protocol notes' §1.2 test-vector id).
pub const ENDPOINT_ID: &str = "178fa64ebafe11eaa1fb0242ac110003";
/// Secret of the demo endpoint (the protocol notes' §1.2 test-vector secret).
pub const ENDPOINT_SECRET: &str = "hVqFAFfQmfUqfrLMRf6y86Heslm3GtGt";
/// Name of the demo endpoint.
pub const ENDPOINT_NAME: &str = "aa-logon demo";
/// The demo user, enrolled for every method.
pub const USER: &str = "JAGUAR\\denis";
/// Password of [`USER`] (PASSWORD:1 and LDAP_PASSWORD:1).
pub const PASSWORD: &str = "novell";
/// Base32 TOTP secret of [`USER`].
pub const TOTP_SECRET: &str = "JBSWY3DPEHPK3PXP";
/// A second user with a password and TOTP but no U2F key.
pub const USER_WITHOUT_U2F: &str = "JAGUAR\\alice";
/// Password of [`USER_WITHOUT_U2F`].
pub const USER_WITHOUT_U2F_PASSWORD: &str = "wonderland";
/// The U2F App ID the simulator puts in sign requests.
pub const APP_ID: &str = "https://aa-sim.local";
/// The host of [`APP_ID`]: clients that reach the simulator at another host (127.0.0.1) allow it
/// with `allow_app_id_host`, as a deployment whose appId names a facet host does.
pub const APP_ID_HOST: &str = "aa-sim.local";
/// The one event of the demo fixture.
pub const EVENT: &str = "Search Card";
/// Seed of the virtual key enrolled for [`USER`].
pub const VIRTUAL_KEY_SEED: &str = "demo";
/// Administrator allowed to register endpoints.
pub const ADMIN_USER: &str = "LOCAL\\admin";
/// Password of [`ADMIN_USER`].
pub const ADMIN_PASSWORD: &str = "novell@123";
