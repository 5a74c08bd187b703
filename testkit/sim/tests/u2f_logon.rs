//! The seed's U2F flow end to end with a plain HTTP client and the virtual key, and every
//! documented rejection.

mod common;

use std::time::Duration;

use aa_sim::{demo, Lifetimes};
use aa_virtual_key::{application_parameter, sign_der, KeyMaterial, Presence, VirtualKey};
use common::*;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

#[test]
fn whole_u2f_flow_has_the_documented_shapes() {
    let simulator = start_plain();
    let client = Client::new(&simulator);

    // §1.2 test vector, then a real session with it.
    let vector = "f72f4f69212deed77d2127e532826aa0ad341b8ca523d76947f274abbf61a075";
    assert_eq!(secret_hash(demo::ENDPOINT_ID, demo::ENDPOINT_SECRET, "i_am_salt"), vector);
    let (status, body) = client.post(
        &format!("/api/v1/endpoints/{}/sessions", demo::ENDPOINT_ID),
        &json!({ "salt": "i_am_salt", "endpoint_secret_hash": vector }),
    );
    assert_eq!(status, 200, "{body}");
    let session = body["endpoint_session_id"].as_str().unwrap().to_owned();
    assert!(session.len() == 32 && session.chars().all(|c| c.is_ascii_alphanumeric()));

    let (status, started) = client.start_logon(&session, "U2F:1", "denis");
    assert_eq!(status, 200, "{started}");
    assert_eq!(started["status"], "MORE_DATA");
    assert_eq!(started["reason"], "PROCESS_STARTED");
    assert_eq!(started["msgid"], "AUCORE-1008");
    assert_eq!(started["msg"], "Process has been started");
    assert_eq!(started["current_method"], "U2F:1");
    assert_eq!(started["completed_methods"], json!([]));
    let process = started["logon_process_id"].as_str().unwrap().to_owned();

    let (status, gather) = client.do_logon(&session, &process, None);
    assert_eq!(status, 200, "{gather}");
    assert_eq!(gather["status"], "MORE_DATA");
    assert_eq!(gather["msg"], "Waiting for an authentication response");
    assert_eq!(gather["reason"], "U2F_WAITING_AUTH_RESPONSE");
    assert_eq!(gather["msgid"], "AUCORE-2059");
    assert_eq!(gather["current_method"], "U2F:1");
    assert_eq!(gather["completed_methods"], json!([]));
    assert_eq!(gather["logon_process_id"], process.as_str());
    assert_eq!(gather["linked_logon"], false);
    assert_eq!(gather["event_name"], demo::EVENT);
    let chains = gather["chains"].as_array().unwrap();
    let u2f_only = chains.iter().find(|c| c["name"] == "U2F only").expect("U2F only listed");
    assert_eq!(u2f_only["methods"], json!(["U2F:1"]));
    assert_eq!(u2f_only["tenant_id"], "def0def0def0def0def0def0def0def0");
    assert_eq!(u2f_only["id_hex"].as_str().unwrap().len(), 32);

    let enrollment = KeyMaterial::from_seed(demo::VIRTUAL_KEY_SEED.as_bytes()).enrollment(demo::APP_ID);
    let requests = gather["signRequests"].as_array().unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["version"], "U2F_V2");
    assert_eq!(requests[0]["appId"], demo::APP_ID);
    assert_eq!(unb64u(requests[0]["keyHandle"].as_str().unwrap()), enrollment.key_handle);
    assert_eq!(unb64u(requests[0]["challenge"].as_str().unwrap()).len(), 32);
    let webauth = &gather["webauth_challenge"];
    let hex_challenge = webauth["challenge"].as_str().unwrap();
    assert!(hex_challenge.len() == 64 && hex_challenge.chars().all(|c| c.is_ascii_hexdigit()));
    let hex_handle: String = enrollment.key_handle.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        webauth["allowCredentials"],
        json!([{ "type": "public-key", "id": hex_handle, "transports": ["usb"] }])
    );
    assert_eq!(webauth["userVerification"], "discouraged");
    assert!(webauth["extensions"]["appid"].is_string());

    let key = VirtualKey::new(demo::VIRTUAL_KEY_SEED.as_bytes());
    let (status, ok) = client.do_logon(&session, &process, Some(sign_first_request(&key, &gather)));
    assert_eq!(status, 200, "{ok}");
    assert_eq!(ok["status"], "OK", "{ok}");
    assert_eq!(ok["msg"], "Welcome");
    let login_session = ok["login_session_id"].as_str().unwrap().to_owned();
    assert_eq!(login_session.len(), 32);
    assert_eq!(ok["completed_chain"]["name"], "U2F only");
    assert_eq!(ok["completed_chain"]["methods"], json!(["U2F:1"]));
    assert_eq!(ok["completed_methods"], json!(["U2F:1"]));
    assert_eq!(ok["user_name"], demo::USER);
    assert_eq!(ok["user_name_netbios"], demo::USER);
    assert_eq!(ok["tenant_name"], "TOP");
    assert_eq!(ok["user_cn"], "denis");
    assert_eq!(ok["user_upn"], "denis@jaguar.com");
    assert_eq!(ok["user_dn"], "CN=denis,CN=Users,DC=jaguar,DC=com");
    assert_eq!(ok["user_mobile_phone"], "+918746825777");
    assert!(ok["user_sid"].as_str().unwrap().starts_with("S-1-5-21-"));
    for id in ["user_id", "repo_id", "repo_obj_id"] {
        assert_eq!(ok[id].as_str().unwrap().len(), 32, "{id}");
    }

    // The process is over; the login session lives until logout.
    assert_error_pair(client.do_logon(&session, &process, None), 444, "AUCORE-1001");
    let path = format!("/api/v1/logon/sessions/{login_session}?endpoint_session_id={session}");
    let (status, info) = client.get(&path);
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["user_name"], demo::USER);
    assert_eq!(info["event_name"], demo::EVENT);
    assert_eq!(info["data_id"], "SEARCH CARD");
    assert_eq!(info["chain_id"], ok["completed_chain"]["id_hex"]);
    assert_eq!(info["user_groups"], json!([]));
    assert!(info["created"].as_str().unwrap().contains('T'));
    let (status, logout) = client.delete(&path, None);
    assert_eq!((status, logout), (200, Value::Null));
    assert_error_pair(client.get(&path), 434, "AUCORE-1066");
}

fn assert_error_pair((status, body): (u16, Value), expected: u16, msgid: &str) {
    assert_error(status, &body, expected, msgid);
}

/// A fresh process with a gathered sign request.
fn gathered(client: &Client, session: &str) -> (String, Value) {
    let process = client.logon_process(session, "U2F:1", demo::USER);
    let (status, gather) = client.do_logon(session, &process, None);
    assert_eq!(status, 200, "{gather}");
    (process, gather)
}

fn first_request(gather: &Value) -> (Value, String) {
    let request = gather["signRequests"][0].clone();
    let challenge = request["challenge"].as_str().unwrap().to_owned();
    (request, challenge)
}

#[test]
fn each_u2f_defect_is_failed_with_its_own_reason_and_ends_the_process() {
    let simulator = start_plain();
    let client = Client::new(&simulator);
    let session = client.endpoint_session();
    let key = VirtualKey::new(demo::VIRTUAL_KEY_SEED.as_bytes());
    let typ = "navigator.id.getAssertion";

    // Tampered clientData: valid JSON, but not the bytes that were signed.
    let (process, gather) = gathered(&client, &session);
    let (request, challenge) = first_request(&gather);
    let mut response = sign_with(&key, 0x03, &request, &client_data(typ, &challenge, demo::APP_ID));
    let tampered = format!("{} ", client_data(typ, &challenge, demo::APP_ID));
    response["signResponse"]["clientData"] = json!(b64u(tampered.as_bytes()));
    let (status, body) = client.do_logon(&session, &process, Some(response));
    assert_failed(status, &body, "U2F_BAD_SIGNATURE", "AUCORE-2066");
    assert_error_pair(client.do_logon(&session, &process, None), 444, "AUCORE-1001");

    // clientData that is not JSON, or of the wrong typ.
    for bad in ["not json".to_owned(), client_data("navigator.id.finishEnrollment", &challenge, demo::APP_ID)]
    {
        let (process, gather) = gathered(&client, &session);
        let (request, _) = first_request(&gather);
        let (status, body) = client.do_logon(&session, &process, Some(sign_with(&key, 0x03, &request, &bad)));
        assert_failed(status, &body, "U2F_BAD_CLIENT_DATA", "AUCORE-2060");
    }

    // A challenge from an earlier gather.
    let (process, gather) = gathered(&client, &session);
    let (request, stale_challenge) = first_request(&gather);
    client.do_logon(&session, &process, None);
    let response = sign_with(&key, 0x03, &request, &client_data(typ, &stale_challenge, demo::APP_ID));
    let (status, body) = client.do_logon(&session, &process, Some(response));
    assert_failed(status, &body, "U2F_WRONG_CHALLENGE", "AUCORE-2061");

    // Another origin.
    let (process, gather) = gathered(&client, &session);
    let (request, challenge) = first_request(&gather);
    let response = sign_with(&key, 0x03, &request, &client_data(typ, &challenge, "https://evil.example"));
    let (status, body) = client.do_logon(&session, &process, Some(response));
    assert_failed(status, &body, "U2F_WRONG_ORIGIN", "AUCORE-2062");

    // A signature by another key over the enrolled key handle.
    let (process, gather) = gathered(&client, &session);
    let (request, challenge) = first_request(&gather);
    let data = client_data(typ, &challenge, demo::APP_ID);
    let handle = unb64u(request["keyHandle"].as_str().unwrap());
    let app_param = application_parameter(demo::APP_ID);
    let impostor = KeyMaterial::from_seed(b"impostor").signing_key(&app_param, &handle);
    let mut signed = app_param.to_vec();
    signed.extend_from_slice(&[0x01, 0, 0, 0, 50]);
    signed.extend_from_slice(&Sha256::digest(data.as_bytes()));
    let mut signature_data = vec![0x01, 0, 0, 0, 50];
    signature_data.extend_from_slice(&sign_der(&impostor, &signed));
    let response = json!({ "signResponse": {
        "keyHandle": request["keyHandle"], "clientData": b64u(data.as_bytes()), "signatureData": b64u(&signature_data) } });
    let (status, body) = client.do_logon(&session, &process, Some(response));
    assert_failed(status, &body, "U2F_BAD_SIGNATURE", "AUCORE-2066");

    // A key that is not enrolled.
    let (process, gather) = gathered(&client, &session);
    let (mut request, challenge) = first_request(&gather);
    let stranger = VirtualKey::new(b"stranger");
    request["keyHandle"] = json!(b64u(&stranger.enrollment(demo::APP_ID).key_handle));
    let response = sign_with(&stranger, 0x03, &request, &client_data(typ, &challenge, demo::APP_ID));
    let (status, body) = client.do_logon(&session, &process, Some(response));
    assert_failed(status, &body, "U2F_UNKNOWN_KEY_HANDLE", "AUCORE-2063");

    // No user presence: "don't enforce" on a key nobody touches.
    let (process, gather) = gathered(&client, &session);
    let (request, challenge) = first_request(&gather);
    let untouched = VirtualKey::new(demo::VIRTUAL_KEY_SEED.as_bytes());
    untouched.set_presence(Presence::Never);
    let response = sign_with(&untouched, 0x08, &request, &client_data(typ, &challenge, demo::APP_ID));
    assert_eq!(unb64u(response["signResponse"]["signatureData"].as_str().unwrap())[0] & 1, 0);
    let (status, body) = client.do_logon(&session, &process, Some(response));
    assert_failed(status, &body, "U2F_USER_NOT_PRESENT", "AUCORE-2064");

    // Replayed counter: a clone of the key (same seed, own counter) after the original signed.
    let (process, gather) = gathered(&client, &session);
    let (status, body) = client.do_logon(&session, &process, Some(sign_first_request(&key, &gather)));
    assert_eq!((status, body["status"].as_str()), (200, Some("OK")), "{body}");
    let clone = VirtualKey::new(demo::VIRTUAL_KEY_SEED.as_bytes());
    let (process, gather) = gathered(&client, &session);
    let (status, body) = client.do_logon(&session, &process, Some(sign_first_request(&clone, &gather)));
    assert_failed(status, &body, "U2F_COUNTER_REPLAY", "AUCORE-2065");

    // A malformed signResponse is a validation error and leaves the process alive.
    let (process, _) = gathered(&client, &session);
    let (status, body) =
        client.do_logon(&session, &process, Some(json!({ "signResponse": { "keyHandle": 5 } })));
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["name"], "response.signResponse");
    let (status, body) = client.do_logon(&session, &process, None);
    assert_eq!((status, body["status"].as_str()), (200, Some("MORE_DATA")));
}

#[test]
fn expired_and_unknown_ids_get_their_http_codes() {
    let simulator = start_plain();
    let client = Client::new(&simulator);
    let session = client.endpoint_session();

    // Unknown endpoint session.
    assert_error_pair(
        client.start_logon("NoSuchSessionNoSuchSessionNoSuch", "U2F:1", "denis"),
        433,
        "AUCORE-1063",
    );

    // Logon process idle past its lifetime: with a zero lifetime, any idle time is past it, so
    // no sleep has to outlast the lifetime.
    simulator.set_lifetimes(Lifetimes { logon_process: Duration::ZERO, ..Lifetimes::default() });
    let process = client.logon_process(&session, "U2F:1", "denis");
    assert_error_pair(client.do_logon(&session, &process, None), 444, "AUCORE-1001");
    simulator.set_lifetimes(Lifetimes::default());
    let process = client.logon_process(&session, "U2F:1", "denis");
    simulator.expire_logon_processes();
    assert_error_pair(client.do_logon(&session, &process, None), 444, "AUCORE-1001");

    // Endpoint session idle past its (zero) lifetime, and forced expiry.
    simulator.set_lifetimes(Lifetimes { endpoint_session: Duration::ZERO, ..Lifetimes::default() });
    assert_error_pair(client.start_logon(&session, "U2F:1", "denis"), 433, "AUCORE-1063");
    simulator.set_lifetimes(Lifetimes::default());
    let session = client.endpoint_session();
    simulator.expire_endpoint_sessions();
    assert_error_pair(client.start_logon(&session, "U2F:1", "denis"), 433, "AUCORE-1063");

    // Unknown user.
    let session = client.endpoint_session();
    let (status, body) = client.start_logon(&session, "U2F:1", "JAGUAR\\nobody");
    assert_error(status, &body, 400, "AUCORE-1056");
    assert_eq!(body["reason"], "USER_NOT_FOUND");
    assert_eq!(body["errors"][0]["description"], "User is not found");

    // A user without a U2F key cannot start with U2F:1.
    let (status, body) = client.start_logon(&session, "U2F:1", demo::USER_WITHOUT_U2F);
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["name"], "method_id");
}

#[test]
fn endpoint_session_hash_is_checked() {
    let simulator = start_plain();
    let client = Client::new(&simulator);
    let path = format!("/api/v1/endpoints/{}/sessions", demo::ENDPOINT_ID);

    let (status, body) =
        client.post(&path, &json!({ "salt": "i_am_salt", "endpoint_secret_hash": "e7e2dfe2" }));
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({ "status": "error", "errors": [{ "location": "body", "name": "endpoint_secret_hash",
            "description": "String does not match expected pattern" }] })
    );

    let wrong = secret_hash(demo::ENDPOINT_ID, "not-the-secret", "i_am_salt");
    let (status, body) = client.post(&path, &json!({ "salt": "i_am_salt", "endpoint_secret_hash": wrong }));
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["name"], "endpoint_secret_hash");
    assert!(body["errors"][0]["description"].as_str().unwrap().contains("does not match"));

    let unknown = "00000000000000000000000000000000";
    let hash = secret_hash(unknown, demo::ENDPOINT_SECRET, "s");
    let (status, body) = client.post(
        &format!("/api/v1/endpoints/{unknown}/sessions"),
        &json!({ "salt": "s", "endpoint_secret_hash": hash }),
    );
    assert_eq!(status, 400, "{body}");

    let (status, body) = client.post(&path, &json!({ "endpoint_secret_hash": wrong }));
    assert_eq!((status, body["errors"][0]["name"].as_str()), (400, Some("salt")));
}
