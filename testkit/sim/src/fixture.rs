//! The simulated server's configuration data: App ID, administrator, endpoints, events, chains and
//! users. Loaded from JSON (see the README for the format) and validated before use.

use std::fmt;
use std::path::Path;

use aa_virtual_key::KeyMaterial;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::demo;
use crate::fixture_fido2::{Fido2CredentialFixture, Fido2UserFixture};
use crate::u2f::{decode_b64url, parse_public_key};

/// Methods the simulator can run; a chain with any other method is rejected at load time.
pub const SUPPORTED_METHODS: &[&str] = &[
    "U2F:1",
    "PASSWORD:1",
    "LDAP_PASSWORD:1",
    "TOTP:1",
    "SMS_OTP:1",
    "EMAIL_OTP:1",
    "VOICE_OTP:1",
    "SMARTPHONE:1",
    "VOICE:1",
    "SECQUEST:1",
    "EMERG_PASSWORD:1",
    "RADIUS:1",
    "CARD:1",
    "FINGER:1",
    "FIDO2:1",
];

/// The first bytes of an ISO/IEC 19794-2 finger minutiae record ("FMR\0").
pub const ISO_TEMPLATE_MAGIC: &[u8] = b"FMR\0";

/// Everything the simulated server knows at start.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    /// App ID put into every sign request and required as clientData `origin`.
    pub u2f_app_id: String,
    /// Tenant name reported in `tenant_name` and accepted at endpoint registration.
    #[serde(default = "default_tenant")]
    pub tenant_name: String,
    /// Administrator whose credentials `auth_data` must carry to register or delete endpoints.
    pub admin: AdminFixture,
    /// Endpoints known from the start (more can be registered through the API).
    #[serde(default)]
    pub endpoints: Vec<EndpointFixture>,
    /// Event names; the first one is used when a request names no event.
    pub events: Vec<String>,
    /// Authentication chains.
    pub chains: Vec<ChainFixture>,
    /// Users, each in a repository (`REPO\user`).
    pub users: Vec<UserFixture>,
}

fn default_tenant() -> String {
    "TOP".to_owned()
}

/// The administrator account used for endpoint registration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminFixture {
    /// `REPO\user`, e.g. `LOCAL\admin`.
    pub user_name: String,
    /// Password checked with PASSWORD:1.
    pub password: String,
}

/// A registered endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointFixture {
    /// 32 lowercase hex characters.
    pub id: String,
    /// The endpoint secret used in the session hash.
    pub secret: String,
    /// Display name.
    pub name: String,
}

/// An authentication chain: methods in order, offered for the listed events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainFixture {
    /// Chain name, e.g. "U2F only".
    pub name: String,
    /// Method ids in order, e.g. `["LDAP_PASSWORD:1", "U2F:1"]`.
    pub methods: Vec<String>,
    /// Events this chain is assigned to.
    pub events: Vec<String>,
}

/// A user and the authenticators enrolled for it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserFixture {
    /// `REPO\user`, e.g. `JAGUAR\denis`.
    pub name: String,
    /// Password for PASSWORD:1 and LDAP_PASSWORD:1.
    #[serde(default)]
    pub password: Option<String>,
    /// Base32 (RFC 4648) TOTP secret.
    #[serde(default)]
    pub totp_secret: Option<String>,
    /// Enrolled U2F keys.
    #[serde(default)]
    pub u2f: Vec<U2fCredentialFixture>,
    /// Where SMS_OTP:1 codes are "sent"; also reported as `user_mobile_phone`.
    #[serde(default)]
    pub mobile_phone: Option<String>,
    /// Where EMAIL_OTP:1 codes are "sent"; also reported as `user_email`.
    #[serde(default)]
    pub email: Option<String>,
    /// Reported as `user_sid`.
    #[serde(default)]
    pub sid: Option<String>,
    /// Reported as `user_upn`.
    #[serde(default)]
    pub upn: Option<String>,
    /// Reported as `user_dn`.
    #[serde(default)]
    pub dn: Option<String>,
    /// A locked user is listed as `user_is_locked` and cannot start a logon.
    #[serde(default)]
    pub locked: bool,
    /// The smartphone app enrolled for SMARTPHONE:1 (push, or its offline code).
    #[serde(default)]
    pub smartphone: Option<SmartphoneFixture>,
    /// How the user's phone answers SMARTPHONE:1 pushes and VOICE:1 calls (which need
    /// `mobile_phone`).
    #[serde(default)]
    pub phone_answers: PhoneAnswers,
    /// SECQUEST:1 questions with their answers, asked in this order.
    #[serde(default)]
    pub security_questions: Vec<SecurityQuestionFixture>,
    /// EMERG_PASSWORD:1.
    #[serde(default)]
    pub emergency_password: Option<String>,
    /// RADIUS:1.
    #[serde(default)]
    pub radius: Option<RadiusFixture>,
    /// CARD:1: the card's UID in hex.
    #[serde(default)]
    pub card_uid: Option<String>,
    /// FINGER:1: the enrolled ISO/IEC 19794-2 template, standard base64 ("Rk1SAC…").
    #[serde(default)]
    pub fingerprint_iso: Option<String>,
    /// FIDO2:1: enrolled credentials and the user-verification policy.
    #[serde(default)]
    pub fido2: Option<Fido2UserFixture>,
}

/// The SMARTPHONE:1 enrollment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmartphoneFixture {
    /// Base32 secret of the app's offline code (`{"totp": …}`); none = no offline code.
    #[serde(default)]
    pub offline_totp_secret: Option<String>,
}

/// What the simulated phone does with a push or a call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhoneAnswers {
    /// Nothing until a test decides through `POST /sim/v1/approvals` or
    /// [`crate::Simulator::decide_approval`] (or the approval lifetime runs out).
    #[default]
    Manual,
    /// Approves at the first poll after the push was sent or the call started.
    Approve,
    /// Rejects at the first poll after the push was sent or the call started.
    Reject,
}

/// One security question.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityQuestionFixture {
    /// The id the server sends it under (AA's samples use numbers as text, e.g. "6").
    pub id: String,
    pub question: String,
    /// Compared without case and surrounding whitespace.
    pub answer: String,
}

/// A RADIUS:1 account: a password and, optionally, an Access-Challenge asked after it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RadiusFixture {
    pub password: String,
    #[serde(default)]
    pub challenge: Option<RadiusChallengeFixture>,
}

/// The Access-Challenge: its Reply-Message (sent as `msg`) and the answer it expects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RadiusChallengeFixture {
    pub prompt: String,
    pub answer: String,
}

/// One enrolled U2F credential.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct U2fCredentialFixture {
    /// base64url key handle.
    pub key_handle: String,
    /// base64url of the 65-byte uncompressed P-256 point.
    pub public_key: String,
    /// Last accepted signature counter; the next assertion must carry a greater one.
    #[serde(default)]
    pub counter: u32,
}

/// Why a fixture was refused.
#[derive(Debug)]
pub struct FixtureError(String);

impl fmt::Display for FixtureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid fixture: {}", self.0)
    }
}

impl std::error::Error for FixtureError {}

impl From<FixtureError> for std::io::Error {
    fn from(error: FixtureError) -> Self {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, error)
    }
}

fn fail<T>(message: impl Into<String>) -> Result<T, FixtureError> {
    Err(FixtureError(message.into()))
}

impl Fixture {
    /// The built-in demo data; see [`crate::demo`] for its names and secrets.
    pub fn demo() -> Fixture {
        let enrollment = KeyMaterial::from_seed(demo::VIRTUAL_KEY_SEED.as_bytes()).enrollment(demo::APP_ID);
        let chain_for = |event: &str, name: &str, methods: &[&str]| ChainFixture {
            name: name.to_owned(),
            methods: methods.iter().map(|m| (*m).to_owned()).collect(),
            events: vec![event.to_owned()],
        };
        let chain = |name: &str, methods: &[&str]| chain_for(demo::EVENT, name, methods);
        let phone_user = |name: &str, password: &str, answers: PhoneAnswers| UserFixture {
            name: name.to_owned(),
            password: Some(password.to_owned()),
            mobile_phone: Some("+4930123456".to_owned()),
            smartphone: Some(SmartphoneFixture::default()),
            phone_answers: answers,
            ..UserFixture::default()
        };
        Fixture {
            u2f_app_id: demo::APP_ID.to_owned(),
            tenant_name: default_tenant(),
            admin: AdminFixture {
                user_name: demo::ADMIN_USER.to_owned(),
                password: demo::ADMIN_PASSWORD.to_owned(),
            },
            endpoints: vec![EndpointFixture {
                id: demo::ENDPOINT_ID.to_owned(),
                secret: demo::ENDPOINT_SECRET.to_owned(),
                name: demo::ENDPOINT_NAME.to_owned(),
            }],
            events: vec![
                demo::EVENT.to_owned(),
                demo::EVENT_REMOTE_ACCESS.to_owned(),
                demo::EVENT_FIDO2.to_owned(),
            ],
            chains: vec![
                chain("U2F only", &["U2F:1"]),
                chain("TOTP Only", &["TOTP:1"]),
                chain("LDAP + U2F", &["LDAP_PASSWORD:1", "U2F:1"]),
                chain("Password", &["PASSWORD:1"]),
                chain("SMS OTP", &["SMS_OTP:1"]),
                chain("Email OTP", &["EMAIL_OTP:1"]),
                chain("Voice OTP", &["VOICE_OTP:1"]),
                chain("Smartphone", &["SMARTPHONE:1"]),
                chain("Voice call", &["VOICE:1"]),
                chain("Security questions", &["SECQUEST:1"]),
                chain("Emergency password", &["EMERG_PASSWORD:1"]),
                chain("RADIUS", &["RADIUS:1"]),
                chain("Card", &["CARD:1"]),
                chain("Fingerprint", &["FINGER:1"]),
                chain("FIDO2 & U2F", &["FIDO2:1", "U2F:1"]),
                chain_for(demo::EVENT_FIDO2, "FIDO2 only", &["FIDO2:1"]),
                chain_for(
                    demo::EVENT_REMOTE_ACCESS,
                    "Password + Smartphone",
                    &["PASSWORD:1", "SMARTPHONE:1"],
                ),
                chain_for(demo::EVENT_REMOTE_ACCESS, "Password + Voice call", &["PASSWORD:1", "VOICE:1"]),
            ],
            users: vec![
                UserFixture {
                    name: demo::USER.to_owned(),
                    password: Some(demo::PASSWORD.to_owned()),
                    totp_secret: Some(demo::TOTP_SECRET.to_owned()),
                    u2f: vec![U2fCredentialFixture {
                        key_handle: crate::u2f::encode_b64url(&enrollment.key_handle),
                        public_key: crate::u2f::encode_b64url(&enrollment.public_key),
                        counter: 0,
                    }],
                    mobile_phone: Some("+918746825777".to_owned()),
                    email: Some("denis@jaguar.com".to_owned()),
                    sid: Some("S-1-5-21-1982020363-492839410-2784625695-2126".to_owned()),
                    upn: Some("denis@jaguar.com".to_owned()),
                    dn: Some("CN=denis,CN=Users,DC=jaguar,DC=com".to_owned()),
                    locked: false,
                    smartphone: Some(SmartphoneFixture {
                        offline_totp_secret: Some(demo::SMARTPHONE_TOTP_SECRET.to_owned()),
                    }),
                    phone_answers: PhoneAnswers::Manual,
                    security_questions: demo::SECURITY_QUESTIONS
                        .iter()
                        .map(|(id, question, answer)| SecurityQuestionFixture {
                            id: (*id).to_owned(),
                            question: (*question).to_owned(),
                            answer: (*answer).to_owned(),
                        })
                        .collect(),
                    emergency_password: Some(demo::EMERGENCY_PASSWORD.to_owned()),
                    radius: Some(RadiusFixture {
                        password: demo::RADIUS_PASSWORD.to_owned(),
                        challenge: Some(RadiusChallengeFixture {
                            prompt: demo::RADIUS_CHALLENGE_PROMPT.to_owned(),
                            answer: demo::RADIUS_CHALLENGE_ANSWER.to_owned(),
                        }),
                    }),
                    card_uid: Some(demo::CARD_UID.to_owned()),
                    fingerprint_iso: Some(demo::FINGERPRINT_ISO.to_owned()),
                    fido2: Some(fido2_user(demo::VIRTUAL_KEY_SEED, "discouraged")),
                },
                UserFixture {
                    name: demo::USER_WITHOUT_U2F.to_owned(),
                    password: Some(demo::USER_WITHOUT_U2F_PASSWORD.to_owned()),
                    totp_secret: Some("KRUGKIDROVUWG2ZAMJZG653OEBTG66BA".to_owned()),
                    email: Some("alice@jaguar.com".to_owned()),
                    upn: Some("alice@jaguar.com".to_owned()),
                    dn: Some("CN=alice,CN=Users,DC=jaguar,DC=com".to_owned()),
                    ..UserFixture::default()
                },
                phone_user(
                    demo::USER_PHONE_APPROVES,
                    demo::USER_PHONE_APPROVES_PASSWORD,
                    PhoneAnswers::Approve,
                ),
                phone_user(demo::USER_PHONE_REJECTS, demo::USER_PHONE_REJECTS_PASSWORD, PhoneAnswers::Reject),
                UserFixture {
                    name: demo::USER_FIDO2_UV.to_owned(),
                    password: Some(demo::USER_FIDO2_UV_PASSWORD.to_owned()),
                    fido2: Some(fido2_user(demo::FIDO2_UV_KEY_SEED, "required")),
                    ..UserFixture::default()
                },
            ],
        }
    }

    /// Parses and validates a fixture from JSON text.
    pub fn from_json(text: &str) -> Result<Fixture, FixtureError> {
        let fixture: Fixture =
            serde_json::from_str(text).map_err(|error| FixtureError(format!("not a fixture: {error}")))?;
        fixture.validate()?;
        Ok(fixture)
    }

    /// Reads, parses and validates a fixture file.
    pub fn load(path: impl AsRef<Path>) -> Result<Fixture, FixtureError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|error| FixtureError(format!("cannot read {}: {error}", path.display())))?;
        Fixture::from_json(&text)
    }

    /// Checks every cross-reference and encoding, so the running server never meets bad data.
    pub fn validate(&self) -> Result<(), FixtureError> {
        if !self.u2f_app_id.starts_with("https://") {
            return fail(format!("u2f_app_id {:?} must be an https:// URL", self.u2f_app_id));
        }
        if split_user_name(&self.admin.user_name).is_none() {
            return fail(format!("admin user_name {:?} must be REPO\\user", self.admin.user_name));
        }
        for (index, endpoint) in self.endpoints.iter().enumerate() {
            if !is_lower_hex(&endpoint.id, 32) {
                return fail(format!("endpoint id {:?} must be 32 lowercase hex characters", endpoint.id));
            }
            if endpoint.secret.is_empty() {
                return fail(format!("endpoint {} has an empty secret", endpoint.id));
            }
            if self.endpoints[..index].iter().any(|other| other.id == endpoint.id) {
                return fail(format!("endpoint id {} appears twice", endpoint.id));
            }
        }
        if self.events.is_empty() {
            return fail("at least one event is needed");
        }
        for chain in &self.chains {
            if chain.methods.is_empty() {
                return fail(format!("chain {:?} has no methods", chain.name));
            }
            if let Some(method) = chain.methods.iter().find(|m| !SUPPORTED_METHODS.contains(&m.as_str())) {
                return fail(format!(
                    "chain {:?} uses {method:?}; supported: {}",
                    chain.name,
                    SUPPORTED_METHODS.join(", ")
                ));
            }
            if let Some(event) = chain.events.iter().find(|e| !self.events.contains(e)) {
                return fail(format!("chain {:?} names unknown event {event:?}", chain.name));
            }
        }
        for (index, user) in self.users.iter().enumerate() {
            self.validate_user(user)?;
            if self.users[..index].iter().any(|other| other.name.eq_ignore_ascii_case(&user.name)) {
                return fail(format!("user {:?} appears twice", user.name));
            }
        }
        Ok(())
    }

    fn validate_user(&self, user: &UserFixture) -> Result<(), FixtureError> {
        if split_user_name(&user.name).is_none() {
            return fail(format!("user name {:?} must be REPO\\user", user.name));
        }
        if let Some(secret) = &user.totp_secret {
            if crate::totp::decode_secret(secret).is_none() {
                return fail(format!("totp_secret of {} is not base32", user.name));
            }
        }
        let name = &user.name;
        if let Some(secret) = user.smartphone.as_ref().and_then(|phone| phone.offline_totp_secret.as_ref()) {
            if crate::totp::decode_secret(secret).is_none() {
                return fail(format!("smartphone offline_totp_secret of {name} is not base32"));
            }
        }
        for (index, question) in user.security_questions.iter().enumerate() {
            if question.id.is_empty() || question.question.is_empty() || question.answer.trim().is_empty() {
                return fail(format!("a security question of {name} has an empty id, question or answer"));
            }
            if user.security_questions[..index].iter().any(|other| other.id == question.id) {
                return fail(format!("security question id {:?} of {name} appears twice", question.id));
            }
        }
        if user.emergency_password.as_deref().is_some_and(str::is_empty) {
            return fail(format!("the emergency_password of {name} is empty"));
        }
        if let Some(radius) = &user.radius {
            let challenge_empty =
                radius.challenge.as_ref().is_some_and(|c| c.prompt.is_empty() || c.answer.is_empty());
            if radius.password.is_empty() || challenge_empty {
                return fail(format!("the radius password, challenge prompt or answer of {name} is empty"));
            }
        }
        if let Some(uid) = &user.card_uid {
            if uid.is_empty() || uid.len() % 2 != 0 || !uid.bytes().all(|b| b.is_ascii_hexdigit()) {
                return fail(format!("card_uid of {name} is not hex"));
            }
        }
        if let Some(template) = &user.fingerprint_iso {
            if !STANDARD.decode(template).is_ok_and(|bytes| bytes.starts_with(ISO_TEMPLATE_MAGIC)) {
                return fail(format!(
                    "fingerprint_iso of {name} is not base64 of an ISO/IEC 19794-2 template"
                ));
            }
        }
        for credential in &user.u2f {
            let key_handle = decode_b64url(&credential.key_handle);
            if key_handle.as_ref().is_none_or(|handle| handle.is_empty() || handle.len() > 255) {
                return fail(format!("a key_handle of {} is not base64url of 1..=255 bytes", user.name));
            }
            let public_key = decode_b64url(&credential.public_key);
            if public_key.as_deref().and_then(parse_public_key).is_none() {
                return fail(format!("a public_key of {} is not base64url of a P-256 point", user.name));
            }
        }
        if let Some(fido2) = &user.fido2 {
            crate::fixture_fido2::validate(&user.name, fido2).map_err(FixtureError)?;
        }
        Ok(())
    }
}

/// A FIDO2:1 enrollment of the virtual key of `seed` for the demo RP ID.
fn fido2_user(seed: &str, user_verification: &str) -> Fido2UserFixture {
    let credential = KeyMaterial::from_seed(seed.as_bytes()).fido2_credential(demo::FIDO2_RP_ID);
    Fido2UserFixture {
        credentials: vec![Fido2CredentialFixture {
            credential_id: crate::u2f::encode_b64url(&credential.key_handle),
            public_key: crate::u2f::encode_b64url(&credential.public_key),
            counter: 0,
        }],
        user_verification: user_verification.to_owned(),
    }
}

/// Splits `REPO\user` into its two non-empty parts.
pub fn split_user_name(name: &str) -> Option<(&str, &str)> {
    let (repo, user) = name.split_once('\\')?;
    (!repo.is_empty() && !user.is_empty() && !user.contains('\\')).then_some((repo, user))
}

pub fn is_lower_hex(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_fixture_is_valid_and_round_trips_through_json() {
        let demo = Fixture::demo();
        demo.validate().unwrap();
        let text = serde_json::to_string(&demo).unwrap();
        assert_eq!(Fixture::from_json(&text).unwrap(), demo);
    }

    #[test]
    fn bad_fixtures_are_refused_with_a_reason() {
        let mut fixture = Fixture::demo();
        fixture.chains[0].methods = vec!["FACE:1".into()];
        assert!(fixture.validate().unwrap_err().to_string().contains("FACE:1"));

        let mut fixture = Fixture::demo();
        fixture.users[0].fingerprint_iso = Some(STANDARD.encode(b"JPEG not a template"));
        assert!(fixture.validate().unwrap_err().to_string().contains("fingerprint_iso"));

        let mut fixture = Fixture::demo();
        fixture.users[0].security_questions[1].id = fixture.users[0].security_questions[0].id.clone();
        assert!(fixture.validate().unwrap_err().to_string().contains("appears twice"));

        let mut fixture = Fixture::demo();
        fixture.users[0].card_uid = Some("not hex".into());
        assert!(fixture.validate().unwrap_err().to_string().contains("card_uid"));

        let mut fixture = Fixture::demo();
        fixture.users[0].u2f[0].public_key = "AAAA".into();
        assert!(fixture.validate().unwrap_err().to_string().contains("public_key"));

        let mut fixture = Fixture::demo();
        fixture.endpoints[0].id = "XYZ".into();
        assert!(fixture.validate().is_err());

        assert!(Fixture::from_json("{\"u2f_app_id\": 3}").is_err());
    }
}
