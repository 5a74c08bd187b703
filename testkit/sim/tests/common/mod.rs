//! A plain HTTP client (ureq, not the library) and a U2F signer built on the virtual key's APDU layer.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use aa_sim::{demo, SimConfig, Simulator, TlsMode};
use aa_virtual_key::{application_parameter, VirtualKey};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub fn start_plain() -> Simulator {
    Simulator::start(SimConfig { tls: TlsMode::PlainHttp, ..SimConfig::default() }).expect("simulator starts")
}

pub struct Client {
    agent: ureq::Agent,
    pub base: String,
}

impl Client {
    pub fn new(simulator: &Simulator) -> Client {
        Client::for_instance(simulator, 0, None)
    }

    /// A client of instance `index` of a cluster, trusting the cluster's CA; `timeout` bounds
    /// each whole exchange.
    pub fn for_instance(simulator: &Simulator, index: usize, timeout: Option<Duration>) -> Client {
        let mut config = ureq::Agent::config_builder().http_status_as_error(false).timeout_global(timeout);
        if let Some(pem) = simulator.ca_pem() {
            let ca = ureq::tls::Certificate::from_pem(pem.as_bytes()).expect("CA PEM parses");
            config = config.tls_config(
                ureq::tls::TlsConfig::builder()
                    .provider(ureq::tls::TlsProvider::Rustls)
                    .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::ring::default_provider()))
                    .root_certs(ureq::tls::RootCerts::Specific(Arc::new(vec![ca])))
                    .build(),
            );
        }
        Client { agent: config.build().new_agent(), base: simulator.base_urls()[index].clone() }
    }

    /// GET without asserting that the exchange succeeds.
    pub fn try_get(&self, path: &str) -> Result<u16, ureq::Error> {
        let mut response = self.agent.get(format!("{}{path}", self.base)).call()?;
        response.body_mut().read_to_string()?;
        Ok(response.status().as_u16())
    }

    fn read(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> (u16, Value) {
        let mut response = response.expect("HTTP exchange succeeds");
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().expect("body readable");
        let body =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect("JSON body") };
        (status, body)
    }

    pub fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        Self::read(self.agent.post(format!("{}{path}", self.base)).send_json(body))
    }

    pub fn put(&self, path: &str, body: &Value) -> (u16, Value) {
        Self::read(self.agent.put(format!("{}{path}", self.base)).send_json(body))
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        Self::read(self.agent.get(format!("{}{path}", self.base)).call())
    }

    pub fn delete(&self, path: &str, body: Option<&Value>) -> (u16, Value) {
        let request = self.agent.delete(format!("{}{path}", self.base));
        match body {
            Some(body) => Self::read(request.force_send_body().send_json(body)),
            None => Self::read(request.call()),
        }
    }

    /// POST /endpoints/{id}/sessions with a fresh salt and the §1.2 hash.
    pub fn endpoint_session(&self) -> String {
        let salt = format!("salt-{}", std::process::id());
        let (status, body) = self.post(
            &format!("/api/v1/endpoints/{}/sessions", demo::ENDPOINT_ID),
            &json!({ "salt": salt, "endpoint_secret_hash": secret_hash(demo::ENDPOINT_ID, demo::ENDPOINT_SECRET, &salt), "session_data": {} }),
        );
        assert_eq!(status, 200, "{body}");
        body["endpoint_session_id"].as_str().expect("endpoint_session_id").to_owned()
    }

    pub fn start_logon(&self, endpoint_session: &str, method: &str, user: &str) -> (u16, Value) {
        self.post(
            "/api/v1/logon",
            &json!({ "method_id": method, "user_name": user, "event": demo::EVENT, "endpoint_session_id": endpoint_session }),
        )
    }

    /// Starts a logon and returns its process id.
    pub fn logon_process(&self, endpoint_session: &str, method: &str, user: &str) -> String {
        let (status, body) = self.start_logon(endpoint_session, method, user);
        assert_eq!(status, 200, "{body}");
        body["logon_process_id"].as_str().expect("logon_process_id").to_owned()
    }

    pub fn do_logon(&self, endpoint_session: &str, process: &str, response: Option<Value>) -> (u16, Value) {
        let mut body = json!({ "endpoint_session_id": endpoint_session });
        if let Some(response) = response {
            body["response"] = response;
        }
        self.post(&format!("/api/v1/logon/{process}/do_logon"), &body)
    }
}

pub fn secret_hash(id: &str, secret: &str, salt: &str) -> String {
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let id_hash = hex(&Sha256::digest(format!("{id}{salt}")));
    hex(&Sha256::digest(format!("{secret}{id_hash}")))
}

pub fn b64u(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn unb64u(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).expect("base64url")
}

/// U2F client data as a native client builds it.
pub fn client_data(typ: &str, challenge: &str, origin: &str) -> String {
    json!({ "typ": typ, "challenge": challenge, "origin": origin }).to_string()
}

/// AUTHENTICATE through the virtual key's APDU layer; returns flags ‖ counter ‖ DER signature.
pub fn authenticate(
    key: &VirtualKey,
    control: u8,
    app_id: &str,
    key_handle: &[u8],
    client_data: &str,
) -> Vec<u8> {
    let mut data = Sha256::digest(client_data.as_bytes()).to_vec();
    data.extend_from_slice(&application_parameter(app_id));
    data.push(u8::try_from(key_handle.len()).expect("short handle"));
    data.extend_from_slice(key_handle);
    let length = u16::try_from(data.len()).expect("short APDU").to_be_bytes();
    let mut apdu = vec![0x00, 0x02, control, 0x00, 0x00, length[0], length[1]];
    apdu.extend_from_slice(&data);
    apdu.extend_from_slice(&[0, 0]);
    let mut response = key.apdu(&apdu);
    let status = response.split_off(response.len() - 2);
    assert_eq!(status, [0x90, 0x00], "AUTHENTICATE succeeds");
    response
}

/// The signResponse for the first sign request, signed by `key` with enforced presence.
pub fn sign_first_request(key: &VirtualKey, gather: &Value) -> Value {
    let request = &gather["signRequests"][0];
    let challenge = request["challenge"].as_str().expect("challenge");
    let app_id = request["appId"].as_str().expect("appId");
    let data = client_data("navigator.id.getAssertion", challenge, app_id);
    sign_with(key, 0x03, request, &data)
}

pub fn sign_with(key: &VirtualKey, control: u8, request: &Value, client_data: &str) -> Value {
    let app_id = request["appId"].as_str().expect("appId");
    let key_handle = unb64u(request["keyHandle"].as_str().expect("keyHandle"));
    let signature_data = authenticate(key, control, app_id, &key_handle, client_data);
    json!({
        "signResponse": {
            "keyHandle": request["keyHandle"],
            "clientData": b64u(client_data.as_bytes()),
            "signatureData": b64u(&signature_data),
        }
    })
}

pub fn assert_error(status: u16, body: &Value, expected_status: u16, msgid: &str) {
    assert_eq!(status, expected_status, "{body}");
    assert_eq!(body["status"], "error", "{body}");
    assert_eq!(body["errors"][0]["msgid"], msgid, "{body}");
}

pub fn assert_failed(status: u16, body: &Value, reason: &str, msgid: &str) {
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "FAILED", "{body}");
    assert_eq!(body["reason"], reason, "{body}");
    assert_eq!(body["msgid"], msgid, "{body}");
    assert!(!body["msg"].as_str().unwrap_or_default().is_empty(), "{body}");
}
