//! `aa-logon demo`: the seed's whole U2F logon, driven through the C ABI (the functions of
//! include/aa_logon.h) against the AA simulator started in-process over HTTPS, with the virtual
//! key of seed "demo" enrolled for the demo user. The key comes from libaa_logon_testkit
//! (testkit/capi/include/aa_logon_testkit.h) and reaches the client through libaa_logon's public
//! pluggable HID transport, aa_client_set_hid_io. Needs nothing but the Rust toolchain.

mod capi;
mod frames;
mod tempdir;

use std::ffi::c_void;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use aa_logon_ffi::{self as c, aa_prompt, aa_server_status, aa_sign_request_field};
use aa_logon_testkit as tk;
use aa_sim::{demo, SimConfig, Simulator};
use serde_json::{json, Value};

use self::capi::{
    arg, c_call, call, handle, hid_io, string, testkit_call, testkit_handle, CallResult, NoUserdata,
};
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
        // Prompts of aa_logon_wait_for_approval, which the U2F demo never calls.
        aa_prompt::ApproveOnPhone => "AA_PROMPT_APPROVE_ON_PHONE -> \"Approve the logon on your phone\"",
        aa_prompt::AnswerCall => "AA_PROMPT_ANSWER_CALL -> \"Answer the phone call\"",
    };
    step(&format!("                 prompt callback: {text}"));
}

pub fn run(args: &DemoArgs) -> CmdResult<Outcome> {
    STEPS_TO_STDERR.store(args.json, Ordering::Relaxed);
    let live_before = capi::live_objects();
    let testkit_before = capi::testkit_live_objects();
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
    let testkit_after = capi::testkit_live_objects();
    step(&format!(
        "[9] Cleanup      every handle freed: aa_live_objects {live_before} before, {live_after} after;"
    ));
    step(&format!("                 aa_testkit_live_objects {testkit_before} before, {testkit_after} after"));
    if live_after != live_before || testkit_after != testkit_before {
        return Err(Failure::internal(format!(
            "the C objects were not all freed: libaa_logon {live_before} live before, {live_after} after; \
             libaa_logon_testkit {testkit_before} before, {testkit_after} after"
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
    let options = handle(c::aa_client_options_free, |out, error| {
        c_call!(c::aa_client_options_new(&url, &endpoint_id, &secret, out, error))
    })?;
    drop(secret);
    let ca = arg("aa_client_options_set_ca_file", ca_file)?;
    call(|error| c_call!(c::aa_client_options_set_ca_file(&options, &ca, error)))?;
    // The simulator's U2F appId (https://aa-sim.local) is not on the host the demo connects to
    // (127.0.0.1), as a facet of a real deployment may not be: allow it explicitly.
    let app_id_host = arg("aa_client_options_allow_app_id_host", demo::APP_ID_HOST)?;
    call(|error| c_call!(c::aa_client_options_allow_app_id_host(&options, &app_id_host, error)))?;
    let client = handle(c::aa_client_free, |out, error| c_call!(c::aa_client_new(&options, out, error)))?;
    drop(options);
    step(&format!("[2] Endpoint     aa_client_new: {base_url}, endpoint id {}", demo::ENDPOINT_ID));
    step("                 (TLS verified against the CA file; the endpoint session is opened on first use)");

    let seed = arg("aa_virtual_key_new", demo::VIRTUAL_KEY_SEED)?;
    let key = testkit_handle(tk::aa_virtual_key_free, |out| c_call!(tk::aa_virtual_key_new(&seed, out)))?;
    let devices =
        testkit_handle(tk::aa_virtual_devices_free, |out| c_call!(tk::aa_virtual_devices_new(out)))?;
    testkit_call(|| c_call!(tk::aa_virtual_devices_plug(&devices, &key)))?;
    let io = hid_io(|io| c_call!(tk::aa_virtual_devices_hid_io(&devices, io)))?;
    // The io holds its own reference to the device set: the set's handle can go now.
    drop(devices);
    call(|error| c_call!(c::aa_client_set_hid_io(&client, &io, error)))?;
    io.handed_over();
    step(&format!(
        "[3] Security key aa_virtual_key_new(\"{}\") -> aa_virtual_devices_new -> aa_virtual_devices_plug",
        demo::VIRTUAL_KEY_SEED
    ));
    step(
        "                 -> aa_virtual_devices_hid_io -> aa_client_set_hid_io: a software U2F key speaking",
    );
    step(
        "                 CTAPHID, reached through the public pluggable HID transport (aa_hid_io callbacks);",
    );
    step("                 the key lives in libaa_logon_testkit, not in libaa_logon");

    let user = arg("aa_logon_new", demo::USER)?;
    let event = arg("aa_logon_new", demo::EVENT)?;
    let method = arg("aa_logon_new", "U2F:1")?;
    let logon = handle(c::aa_logon_free, |out, error| {
        c_call!(c::aa_logon_new(&client, &user, &event, &method, out, error))
    })?;
    let process_id = string(|out, error| c_call!(c::aa_logon_process_id(&logon, out, error)))?;
    let current = string(|out, error| c_call!(c::aa_logon_current_method(&logon, out, error)))?;
    step(&format!("[4] Logon        aa_logon_new(\"{}\", \"{}\", \"U2F:1\")", demo::USER, demo::EVENT));
    step(&format!("                 logon process {process_id}, current method {current}"));

    let request_json = string(|out, error| c_call!(c::aa_logon_gather_sign_request(&logon, out, error)))?;
    let mut count = 0usize;
    call(|error| c_call!(c::aa_logon_sign_request_count(&logon, &mut count, error)))?;
    step(&format!(
        "[5] Sign request aa_logon_gather_sign_request: {count} entr{}",
        if count == 1 { "y" } else { "ies" }
    ));
    for index in 0..count {
        let field = |name: aa_sign_request_field| {
            string(|out, error| {
                c_call!(c::aa_logon_sign_request_field(&logon, index, name as u32, out, error))
            })
        };
        step(&format!("                 appId     {}", field(aa_sign_request_field::AppId)?));
        step(&format!("                 version   {}", field(aa_sign_request_field::Version)?));
        step(&format!("                 keyHandle {}", field(aa_sign_request_field::KeyHandle)?));
        step(&format!("                 challenge {}", field(aa_sign_request_field::Challenge)?));
    }
    log::debug!("sign request JSON: {request_json}");

    let mut counter_before = 0u32;
    testkit_call(|| c_call!(tk::aa_virtual_key_counter(&key, &mut counter_before)))?;
    step(&format!(
        "[6] Key exchange aa_logon_sign_with_device(timeout {} s, prompt callback)",
        SIGN_TIMEOUT_MS / 1000
    ));
    logger::start_frame_capture();
    let prompt: c::aa_prompt_callback = Some(show_prompt);
    let signed: CallResult = call(|error| {
        c_call!(c::aa_logon_sign_with_device(&logon, SIGN_TIMEOUT_MS, prompt, NoUserdata, error))
    });
    let frames = Summary::from_lines(&logger::take_frames());
    step("                 CTAPHID exchange over the aa_hid_io callbacks (trace target aa_logon::fido::frames):");
    step(frames.describe("                   ").trim_end());
    signed?;

    let mut counter = 0u32;
    testkit_call(|| c_call!(tk::aa_virtual_key_counter(&key, &mut counter)))?;
    let sent_json = string(|out, error| c_call!(c::aa_logon_sign_response_json(&logon, out, error)))?;
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
    call(|error| c_call!(c::aa_logon_server_status(&logon, &mut status, error)))?;
    let message = string(|out, error| c_call!(c::aa_logon_message(&logon, out, error))).unwrap_or_default();
    if status != aa_server_status::Ok {
        return Err(Failure::new(
            Exit::LogonFailed,
            "logon_failed",
            format!("the server answered {status:?}: {message}"),
        ));
    }
    let session = string(|out, error| c_call!(c::aa_logon_login_session_id(&logon, out, error)))?;
    let user_field = |name: &str| -> CallResult<String> {
        let name = arg("aa_logon_user_field", name)?;
        string(|out, error| c_call!(c::aa_logon_user_field(&logon, &name, out, error)))
    };
    let user_name = user_field("user_name")?;
    let user_id = user_field("user_id").ok();
    let response_json = string(|out, error| c_call!(c::aa_logon_response_json(&logon, out, error)))?;
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
    let session_json =
        string(|out, error| c_call!(c::aa_client_login_session_json(&client, &session_arg, out, error)))?;
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
