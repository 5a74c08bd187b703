//! The fixture resolved for fast lookups: users by any accepted name form, chains per event, and
//! the JSON shapes AA uses for chains and users.

use serde_json::{json, Map, Value};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::envelope::ApiError;
use crate::fixture::{split_user_name, Fixture, PhoneAnswers, RadiusFixture, SecurityQuestionFixture};
use crate::ids::{derived_hex, TENANT_ID};
use crate::u2f::decode_b64url;

pub struct Chain {
    pub name: String,
    pub methods: Vec<String>,
    pub events: Vec<String>,
    pub id_hex: String,
    pub position: usize,
    /// The §2.1 chain object, built once: every logon reply lists chains.
    pub json: Value,
}

pub struct EnrolledKey {
    pub key_handle: Vec<u8>,
    pub public_key: [u8; 65],
    pub initial_counter: u32,
}

pub struct User {
    pub name: String,
    pub repo: String,
    pub short_name: String,
    pub password: Option<String>,
    pub totp_key: Option<Vec<u8>>,
    pub keys: Vec<EnrolledKey>,
    pub mobile_phone: Option<String>,
    pub email: Option<String>,
    pub sid: Option<String>,
    pub upn: Option<String>,
    pub dn: Option<String>,
    pub locked: bool,
    /// SMARTPHONE:1 is enrolled; the offline code's key, if the app has one.
    pub smartphone: Option<Option<Vec<u8>>>,
    pub phone_answers: PhoneAnswers,
    pub security_questions: Vec<SecurityQuestionFixture>,
    pub emergency_password: Option<String>,
    pub radius: Option<RadiusFixture>,
    /// Lowercase hex.
    pub card_uid: Option<String>,
    pub fingerprint_iso: Option<Vec<u8>>,
}

pub struct Directory {
    pub app_id: String,
    pub tenant_name: String,
    pub admin_name: String,
    pub admin_password: String,
    pub events: Vec<String>,
    pub chains: Vec<Chain>,
    pub users: Vec<User>,
    /// FIDO2:1 credentials and policy per user (same order as `users`).
    pub fido2: crate::fido2::Fido2Directory,
}

impl Directory {
    /// Resolves a validated fixture.
    pub fn new(fixture: &Fixture) -> Directory {
        let mut chains: Vec<Chain> = fixture
            .chains
            .iter()
            .enumerate()
            .map(|(index, chain)| Chain {
                name: chain.name.clone(),
                methods: chain.methods.clone(),
                events: chain.events.clone(),
                id_hex: derived_hex("chain", &chain.name),
                position: index + 1,
                json: Value::Null,
            })
            .collect();
        for chain in &mut chains {
            chain.json = chain_object(chain);
        }
        let users = fixture
            .users
            .iter()
            .map(|user| {
                let (repo, short_name) = split_user_name(&user.name).expect("validated fixture");
                User {
                    name: user.name.clone(),
                    repo: repo.to_owned(),
                    short_name: short_name.to_owned(),
                    password: user.password.clone(),
                    totp_key: user.totp_secret.as_deref().and_then(crate::totp::decode_secret),
                    keys: user
                        .u2f
                        .iter()
                        .map(|key| EnrolledKey {
                            key_handle: decode_b64url(&key.key_handle).expect("validated fixture"),
                            public_key: decode_b64url(&key.public_key)
                                .and_then(|bytes| bytes.try_into().ok())
                                .expect("validated fixture"),
                            initial_counter: key.counter,
                        })
                        .collect(),
                    mobile_phone: user.mobile_phone.clone(),
                    email: user.email.clone(),
                    sid: user.sid.clone(),
                    upn: user.upn.clone(),
                    dn: user.dn.clone(),
                    locked: user.locked,
                    smartphone: user.smartphone.as_ref().map(|phone| {
                        phone.offline_totp_secret.as_deref().and_then(crate::totp::decode_secret)
                    }),
                    phone_answers: user.phone_answers,
                    security_questions: user.security_questions.clone(),
                    emergency_password: user.emergency_password.clone(),
                    radius: user.radius.clone(),
                    card_uid: user.card_uid.as_ref().map(|uid| uid.to_ascii_lowercase()),
                    fingerprint_iso: user
                        .fingerprint_iso
                        .as_ref()
                        .map(|template| STANDARD.decode(template).expect("validated fixture")),
                }
            })
            .collect();
        Directory {
            app_id: fixture.u2f_app_id.clone(),
            tenant_name: fixture.tenant_name.clone(),
            admin_name: fixture.admin.user_name.clone(),
            admin_password: fixture.admin.password.clone(),
            events: fixture.events.clone(),
            chains,
            users,
            fido2: crate::fido2::Fido2Directory::new(fixture),
        }
    }

    /// Finds a user by `REPO\user`, `TENANT\REPO\user`, `user@REPO` or a bare name that is unique
    /// across repositories (all case-insensitive, as AD names are).
    pub fn resolve_user(&self, requested: &str) -> Option<usize> {
        let requested = requested.trim();
        let (repo, short) = if let Some((tenant_and_repo, short)) = requested.rsplit_once('\\') {
            let repo = match tenant_and_repo.split_once('\\') {
                Some((tenant, repo)) if tenant.eq_ignore_ascii_case(&self.tenant_name) => repo,
                Some(_) => return None,
                None => tenant_and_repo,
            };
            (Some(repo), short)
        } else if let Some((short, repo)) = requested.split_once('@') {
            (Some(repo), short)
        } else {
            (None, requested)
        };
        let mut matches = self.users.iter().enumerate().filter(|(_, user)| {
            user.short_name.eq_ignore_ascii_case(short)
                && repo.is_none_or(|repo| user.repo.eq_ignore_ascii_case(repo))
        });
        let first = matches.next()?.0;
        matches.next().is_none().then_some(first)
    }

    /// Resolves a user or fails with AUCORE-1056.
    pub fn user_or_error(&self, requested: &str) -> Result<usize, ApiError> {
        self.resolve_user(requested).ok_or_else(ApiError::user_not_found)
    }

    /// The event a request names; a missing or empty name means the first (default) event.
    pub fn event(&self, requested: Option<&str>) -> Result<String, ApiError> {
        match requested {
            None | Some("") => Ok(self.events[0].clone()),
            Some(name) => self
                .events
                .iter()
                .find(|event| event.as_str() == name)
                .cloned()
                .ok_or_else(|| ApiError::field("body", "event", format!("Event {name:?} is not found"))),
        }
    }

    /// Whether the user has what `method` needs (password, TOTP secret, a U2F key, phone, email,
    /// smartphone app, security questions, emergency password, RADIUS account, card, fingerprint).
    pub fn is_enrolled(&self, user_index: usize, method: &str) -> bool {
        let user = &self.users[user_index];
        match method {
            "PASSWORD:1" | "LDAP_PASSWORD:1" => user.password.is_some(),
            "TOTP:1" => user.totp_key.is_some(),
            "U2F:1" => !user.keys.is_empty(),
            crate::api::fido2_login::METHOD_ID => self.fido2.is_enrolled(user_index),
            "SMS_OTP:1" | "VOICE_OTP:1" | "VOICE:1" => user.mobile_phone.is_some(),
            "EMAIL_OTP:1" => user.email.is_some(),
            "SMARTPHONE:1" => user.smartphone.is_some(),
            "SECQUEST:1" => !user.security_questions.is_empty(),
            "EMERG_PASSWORD:1" => user.emergency_password.is_some(),
            "RADIUS:1" => user.radius.is_some(),
            "CARD:1" => user.card_uid.is_some(),
            "FINGER:1" => user.fingerprint_iso.is_some(),
            _ => false,
        }
    }

    /// Chains of `event` whose every method the user is enrolled for.
    pub fn usable_chains(&self, user: usize, event: &str) -> Vec<usize> {
        (0..self.chains.len())
            .filter(|&index| {
                let chain = &self.chains[index];
                chain.events.iter().any(|e| e == event)
                    && chain.methods.iter().all(|m| self.is_enrolled(user, m))
            })
            .collect()
    }

    /// The chain object of §2.1.
    pub fn chain_json(&self, index: usize) -> Value {
        self.chains[index].json.clone()
    }

    pub fn user_id(&self, user: usize) -> String {
        derived_hex("user", &self.users[user].name)
    }

    pub fn repo_id(&self, user: usize) -> String {
        derived_hex("repo", &self.users[user].repo)
    }

    pub fn repo_obj_id(&self, user: usize) -> String {
        derived_hex("repo_obj", &self.users[user].name)
    }

    /// The `user_*` block of NEXT and OK replies; which fields appear depends on the fixture.
    pub fn user_block(&self, user_index: usize) -> Map<String, Value> {
        let user = &self.users[user_index];
        let mut block = Map::new();
        block.insert("user_id".into(), json!(self.user_id(user_index)));
        block.insert("user_name".into(), json!(user.name));
        block.insert("repo_id".into(), json!(self.repo_id(user_index)));
        block.insert("repo_obj_id".into(), json!(self.repo_obj_id(user_index)));
        if user.repo.eq_ignore_ascii_case("LOCAL") {
            return block;
        }
        let optional = [
            ("user_mobile_phone", &user.mobile_phone),
            ("user_email", &user.email),
            ("user_sid", &user.sid),
            ("user_upn", &user.upn),
            ("user_dn", &user.dn),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                block.insert(name.into(), json!(value));
            }
        }
        block.insert("user_name_netbios".into(), json!(user.name));
        block.insert("tenant_name".into(), json!(self.tenant_name));
        block.insert("user_cn".into(), json!(user.short_name));
        block
    }
}

fn chain_object(chain: &Chain) -> Value {
    json!({
        "id_hex": chain.id_hex, "tenant_id": TENANT_ID, "is_trusted": null, "is_enabled": true,
        "name": chain.name, "short_name": "", "methods": chain.methods, "position": chain.position,
        "apply_for_ep_owner": false, "image_name": "default", "required_chain_id_hex": null,
        "grace_period": null, "mfa_tags": [], "risk_level": "NONE",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_resolve_in_every_documented_form() {
        let directory = Directory::new(&Fixture::demo());
        let denis = directory.resolve_user("JAGUAR\\denis");
        assert!(denis.is_some());
        for form in ["denis", "DENIS", "jaguar\\Denis", "denis@jaguar", "TOP\\JAGUAR\\denis"] {
            assert_eq!(directory.resolve_user(form), denis, "{form}");
        }
        for unknown in ["bob", "OTHER\\denis", "X\\JAGUAR\\denis", "", "\\"] {
            assert_eq!(directory.resolve_user(unknown), None, "{unknown}");
        }
    }

    #[test]
    fn chains_need_every_method_enrolled() {
        let directory = Directory::new(&Fixture::demo());
        let alice = directory.resolve_user("alice").unwrap();
        let names: Vec<_> = directory
            .usable_chains(alice, "Search Card")
            .iter()
            .map(|&c| directory.chains[c].name.clone())
            .collect();
        assert!(!names.iter().any(|name| name.contains("U2F")), "{names:?}");
        assert!(names.contains(&"Password".to_owned()));
    }
}
