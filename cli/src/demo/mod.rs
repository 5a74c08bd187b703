//! `aa-logon demo`: the seed's whole U2F logon, driven through the C ABI (the functions of
//! include/aa_logon.h) against the AA simulator started in-process over HTTPS, with the virtual
//! key of seed "demo" enrolled for the demo user. Needs nothing but the Rust toolchain.

mod capi;
mod frames;
mod tempdir;

use std::ffi::c_void;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use aa_logon::ffi::{self as c, aa_prompt, aa_server_status, aa_sign_request_field};
use aa_sim::{demo, SimConfig, Simulator};
use serde_json::{json, Value};

use self::capi::{arg, call, handle, string, CallResult, Owned};
use self::frames::Summary;
use self::tempdir::TempDir;
use crate::args::DemoArgs;
use crate::exit::{CmdResult, Exit, Failure};
use crate::logger;
use crate::output::Outcome;

/// How long aa_logon_sign_with_device waits for the key (the virtual key answers at once).
const SIGN_TIMEOUT_MS: u32 = 30_000;

/// With --json the steps go to standard error so standard output holds only the JSON object.
static STEPS_TO_STDERR: AtomicBool = AtomicBool::new(false);

fn step(text: &str) {
    if STEPS_TO_STDERR.load(Ordering::Relaxed) {
        let _ = writeln!(std::io::stderr(), "{text}");
    } else {
        let _ = writeln!(std::io::stdout(), "{text}");
    }
}

/// The prompt callback handed to aa_logon_sign_with_device, as a C program would write it.
extern "C" fn show_prompt(_userdata: *mut c_void, prompt: aa_prompt) {
    let text = match prompt {
        aa_prompt::InsertKey => "AA_PROMPT_INSERT_KEY  -> \"Insert your security key\"",
        aa_prompt::TouchKey => "AA_PROMPT_TOUCH_KEY   -> \"Touch your security key\"",
        aa_prompt::Touched => "AA_PROMPT_TOUCHED     -> \"Key touched; verifying\"",
    };
    step(&format!("                 prompt callback: {text}"));
}

pub fn run(args: &DemoArgs) -> CmdResult<Outcome> {
    STEPS_TO_STDERR.store(args.json, Ordering::Relaxed);
    let live_before = capi::live_objects();
    step(&format!(
        "aa-logon demo: a complete U2F logon through the C ABI of libaa_logon {}",
        c::static_str(c::aa_version())
    ));
    step("");

    let simulator = Simulator::start(SimConfig::default())
        .map_err(|e| Failure::internal(format!("cannot start the AA simulator: {e}")))?;
    let ca_pem =
        simulator.ca_pem().ok_or_else(|| Failure::internal("the simulator generated no CA certificate"))?;
    let temp = TempDir::new("aa-logon-demo")
        .map_err(|e| Failure::internal(format!("cannot create a temporary directory: {e}")))?;
    let ca_file = temp.path().join("aa-sim-ca.pem");
    std::fs::write(&ca_file, ca_pem)
        .map_err(|e| Failure::internal(format!("cannot write {}: {e}", ca_file.display())))?;
    step(&format!("[1] AA server    simulator running in-process at {} (HTTPS)", simulator.base_url()));
    step(&format!("                 its generated CA certificate: {}", ca_file.display()));

    let verdict = run_logon(simulator.base_url(), &ca_file.display().to_string())?;

    let live_after = capi::live_objects();
    step(&format!(
        "[9] Cleanup      every handle freed: aa_live_objects {live_before} before, {live_after} after"
    ));
    if live_after != live_before {
        return Err(Failure::internal(format!(
            "the C objects were not all freed: {live_before} live before, {live_after} after"
        )));
    }
    step("");
    let text = format!(
        "Demo OK: {} logged on with U2F, login session {}\n",
        verdict["user"].as_str().unwrap_or_default(),
        verdict["login_session_id"].as_str().unwrap_or_default()
    );
    Ok(Outcome::ok(text, verdict))
}

/// Steps 2–8; every handle is freed (in reverse order) when this returns.
fn run_logon(base_url: &str, ca_file: &str) -> CmdResult<Value> {
    let url = arg("aa_client_options_new", base_url)?;
    let endpoint_id = arg("aa_client_options_new", demo::ENDPOINT_ID)?;
    let secret = arg("aa_client_options_new", demo::ENDPOINT_SECRET)?;
    let options = Owned::new(
        handle("aa_client_options_new", |out, error| {
            c::aa_client_options_new(url.as_ptr(), endpoint_id.as_ptr(), secret.as_ptr(), out, error)
        })?,
        c::aa_client_options_free,
    );
    drop(secret);
    let ca = arg("aa_client_options_set_ca_file", ca_file)?;
    call("aa_client_options_set_ca_file", |error| {
        c::aa_client_options_set_ca_file(options.ptr, ca.as_ptr(), error)
    })?;
    let client = Owned::new(
        handle("aa_client_new", |out, error| c::aa_client_new(options.ptr, out, error))?,
        c::aa_client_free,
    );
    drop(options);
    step(&format!("[2] Endpoint     aa_client_new: {base_url}, endpoint id {}", demo::ENDPOINT_ID));
    step("                 (TLS verified against the CA file; the endpoint session is opened on first use)");

    let seed = arg("aa_virtual_key_new", demo::VIRTUAL_KEY_SEED)?;
    let key = Owned::new(
        handle("aa_virtual_key_new", |out, error| c::aa_virtual_key_new(seed.as_ptr(), out, error))?,
        c::aa_virtual_key_free,
    );
    call("aa_client_attach_virtual_key", |error| {
        c::aa_client_attach_virtual_key(client.ptr, key.ptr, error)
    })?;
    step(&format!(
        "[3] Security key aa_virtual_key_new(\"{}\") + aa_client_attach_virtual_key (software U2F key speaking CTAPHID)",
        demo::VIRTUAL_KEY_SEED
    ));

    let user = arg("aa_logon_new", demo::USER)?;
    let event = arg("aa_logon_new", demo::EVENT)?;
    let method = arg("aa_logon_new", "U2F:1")?;
    let logon = Owned::new(
        handle("aa_logon_new", |out, error| {
            c::aa_logon_new(client.ptr, user.as_ptr(), event.as_ptr(), method.as_ptr(), out, error)
        })?,
        c::aa_logon_free,
    );
    let process_id =
        string("aa_logon_process_id", |out, error| c::aa_logon_process_id(logon.ptr, out, error))?;
    let current =
        string("aa_logon_current_method", |out, error| c::aa_logon_current_method(logon.ptr, out, error))?;
    step(&format!("[4] Logon        aa_logon_new(\"{}\", \"{}\", \"U2F:1\")", demo::USER, demo::EVENT));
    step(&format!("                 logon process {process_id}, current method {current}"));

    let request_json = string("aa_logon_gather_sign_request", |out, error| {
        c::aa_logon_gather_sign_request(logon.ptr, out, error)
    })?;
    let mut count = 0usize;
    call("aa_logon_sign_request_count", |error| {
        c::aa_logon_sign_request_count(logon.ptr, &mut count, error)
    })?;
    step(&format!(
        "[5] Sign request aa_logon_gather_sign_request: {count} entr{}",
        if count == 1 { "y" } else { "ies" }
    ));
    for index in 0..count {
        let field = |name: aa_sign_request_field| {
            string("aa_logon_sign_request_field", |out, error| {
                c::aa_logon_sign_request_field(logon.ptr, index, name as u32, out, error)
            })
        };
        step(&format!("                 appId     {}", field(aa_sign_request_field::AppId)?));
        step(&format!("                 version   {}", field(aa_sign_request_field::Version)?));
        step(&format!("                 keyHandle {}", field(aa_sign_request_field::KeyHandle)?));
        step(&format!("                 challenge {}", field(aa_sign_request_field::Challenge)?));
    }
    log::debug!("sign request JSON: {request_json}");

    let mut counter_before = 0u32;
    call("aa_virtual_key_counter", |error| c::aa_virtual_key_counter(key.ptr, &mut counter_before, error))?;
    step(&format!(
        "[6] Key exchange aa_logon_sign_with_device(timeout {} s, prompt callback)",
        SIGN_TIMEOUT_MS / 1000
    ));
    logger::start_frame_capture();
    let signed: CallResult = call("aa_logon_sign_with_device", |error| {
        c::aa_logon_sign_with_device(
            logon.ptr,
            SIGN_TIMEOUT_MS,
            Some(show_prompt as unsafe extern "C" fn(*mut c_void, aa_prompt)),
            std::ptr::null_mut(),
            error,
        )
    });
    let frames = Summary::from_lines(&logger::take_frames());
    step("                 CTAPHID exchange (trace target aa_logon::fido::frames):");
    step(frames.describe("                   ").trim_end());
    signed?;

    let mut counter = 0u32;
    call("aa_virtual_key_counter", |error| c::aa_virtual_key_counter(key.ptr, &mut counter, error))?;
    let sent_json = string("aa_logon_sign_response_json", |out, error| {
        c::aa_logon_sign_response_json(logon.ptr, out, error)
    })?;
    let sent: Value = serde_json::from_str(&sent_json).unwrap_or(Value::Null);
    let text = |name: &str| sent[name].as_str().unwrap_or("?").to_owned();
    step("[7] signResponse forwarded to the server and verified by the simulator:");
    step(&format!("                 keyHandle      {}", text("keyHandle")));
    step(&format!("                 clientData     {}", text("clientData")));
    step(&format!("                                = {}", decoded_client_data(&text("clientData"))));
    step(&format!("                 signatureData  {}", text("signatureData")));
    step(&format!(
        "                                = user presence 01, counter {counter_before} -> {counter}, DER ECDSA P-256 signature"
    ));

    let mut status = aa_server_status::Unknown;
    call("aa_logon_server_status", |error| c::aa_logon_server_status(logon.ptr, &mut status, error))?;
    let message = string("aa_logon_message", |out, error| c::aa_logon_message(logon.ptr, out, error))
        .unwrap_or_default();
    if status != aa_server_status::Ok {
        return Err(Failure::new(
            Exit::LogonFailed,
            "logon_failed",
            format!("the server answered {status:?}: {message}"),
        ));
    }
    let session = string("aa_logon_login_session_id", |out, error| {
        c::aa_logon_login_session_id(logon.ptr, out, error)
    })?;
    let user_field = |name: &str| -> CallResult<String> {
        let name = arg("aa_logon_user_field", name)?;
        string("aa_logon_user_field", |out, error| {
            c::aa_logon_user_field(logon.ptr, name.as_ptr(), out, error)
        })
    };
    let user_name = user_field("user_name")?;
    let user_id = user_field("user_id").ok();
    let response_json =
        string("aa_logon_response_json", |out, error| c::aa_logon_response_json(logon.ptr, out, error))?;
    let response: Value = serde_json::from_str(&response_json).unwrap_or(Value::Null);
    let chain = response.pointer("/completed_chain/name").and_then(Value::as_str).map(str::to_owned);
    step(&format!("[8] Verdict      aa_logon_server_status: AA_SERVER_STATUS_OK ({message})"));
    step(&format!("                 user             {user_name}"));
    if let Some(id) = &user_id {
        step(&format!("                 user id          {id}"));
    }
    step(&format!("                 login session id {session}"));
    if let Some(chain) = &chain {
        step(&format!("                 chain            {chain}"));
    }
    let session_arg = arg("aa_client_login_session_json", &session)?;
    let session_json = string("aa_client_login_session_json", |out, error| {
        c::aa_client_login_session_json(client.ptr, session_arg.as_ptr(), out, error)
    })?;
    let session_info: Value = serde_json::from_str(&session_json).unwrap_or(Value::Null);
    step(&format!(
        "                 aa_client_login_session_json: {} at {:?}, created {}",
        session_info["user_name"].as_str().unwrap_or("?"),
        session_info["event_name"].as_str().unwrap_or("?"),
        session_info["created"].as_str().unwrap_or("?")
    ));

    Ok(json!({
        "status": "OK",
        "user": user_name,
        "user_id": user_id,
        "login_session_id": session,
        "logon_process_id": process_id,
        "chain": chain,
        "base_url": base_url,
        "endpoint_id": demo::ENDPOINT_ID,
        "signature_counter": counter,
        "ctaphid_reports": frames.total_reports(),
    }))
}

/// The clientData JSON inside its base64url encoding, for display.
fn decoded_client_data(encoded: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .unwrap_or_else(|| "(not base64url JSON)".to_owned())
}
