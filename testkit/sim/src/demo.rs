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
/// A second event, whose chains start with a password and go on out of band.
pub const EVENT_REMOTE_ACCESS: &str = "Remote Access";
/// Base32 secret of [`USER`]'s smartphone app offline code (SMARTPHONE:1 `{"totp": …}`).
pub const SMARTPHONE_TOTP_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
/// [`USER`]'s security questions: (id, question, answer), asked in this order.
pub const SECURITY_QUESTIONS: &[(&str, &str, &str)] = &[
    ("6", "What hue are your shoes?", "blue"),
    ("7", "Who is your hero?", "Ada Lovelace"),
    ("9", "Where were you born?", "Jaguar Bay"),
];
/// [`USER`]'s emergency password (EMERG_PASSWORD:1).
pub const EMERGENCY_PASSWORD: &str = "in-case-of-fire";
/// [`USER`]'s RADIUS password (RADIUS:1), answered by an Access-Challenge.
pub const RADIUS_PASSWORD: &str = "radius-novell";
/// The Reply-Message of the RADIUS Access-Challenge (sent as the answer's `msg`).
pub const RADIUS_CHALLENGE_PROMPT: &str = "Enter the code shown on your token";
/// The answer the RADIUS Access-Challenge expects.
pub const RADIUS_CHALLENGE_ANSWER: &str = "424242";
/// [`USER`]'s card UID (CARD:1 `{"card_uid": …}`).
pub const CARD_UID: &str = "04a1b2c3d4e5f6";
/// [`USER`]'s enrolled fingerprint: standard base64 of an ISO/IEC 19794-2 template ("FMR\0…").
pub const FINGERPRINT_ISO: &str =
    "Rk1SACAyMAAQERITFBUWFxgZGhscHR4fICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
/// A user whose phone approves every push and answers every call (SMARTPHONE:1, VOICE:1).
pub const USER_PHONE_APPROVES: &str = "JAGUAR\\approver";
/// Password of [`USER_PHONE_APPROVES`].
pub const USER_PHONE_APPROVES_PASSWORD: &str = "approve-me";
/// A user whose phone rejects every push and call.
pub const USER_PHONE_REJECTS: &str = "JAGUAR\\rejecter";
/// Password of [`USER_PHONE_REJECTS`].
pub const USER_PHONE_REJECTS_PASSWORD: &str = "reject-me";
/// The event whose chain is "FIDO2 only" [FIDO2:1].
pub const EVENT_FIDO2: &str = "FIDO2 Logon";
/// The FIDO2:1 relying party id: the host of [`APP_ID`].
pub const FIDO2_RP_ID: &str = APP_ID_HOST;
/// A user whose FIDO2:1 policy requires user verification (the UV flag: PIN or biometrics).
pub const USER_FIDO2_UV: &str = "JAGUAR\\carol";
/// Password of [`USER_FIDO2_UV`].
pub const USER_FIDO2_UV_PASSWORD: &str = "verify-me";
/// Seed of the virtual key whose FIDO2 credential is enrolled for [`USER_FIDO2_UV`].
pub const FIDO2_UV_KEY_SEED: &str = "demo-uv";
