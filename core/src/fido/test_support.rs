//! Test helpers: the Google vectors and a scripted transport that answers reports with closures.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::transport::{HidTransport, Report, REPORT_LEN};
use crate::Result;

pub fn hex(text: &str) -> Vec<u8> {
    assert!(text.len() % 2 == 0, "odd hex length");
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

/// The `sign` object of testdata/u2f-test-vectors.json.
pub fn sign_vector() -> serde_json::Value {
    let all: serde_json::Value =
        serde_json::from_str(include_str!("../../../testdata/u2f-test-vectors.json")).unwrap();
    all["sign"].clone()
}

/// The `name` object of testdata/ctap2-vectors.json.
pub fn ctap2_vector(name: &str) -> serde_json::Value {
    let all: serde_json::Value =
        serde_json::from_str(include_str!("../../../testdata/ctap2-vectors.json")).unwrap();
    all[name].clone()
}

/// A report from a hex prefix, zero-padded to 64 bytes.
pub fn report(hex_prefix: &str) -> Report {
    let bytes = hex(hex_prefix);
    let mut report = [0u8; REPORT_LEN];
    report[..bytes.len()].copy_from_slice(&bytes);
    report
}

/// The INIT reply to `request` (an INIT report): same CID, our nonce echoed, then `fields` (CID,
/// protocol, versions, capabilities).
pub fn init_reply(request: &Report, new_cid: u32, capabilities: u8) -> Report {
    let mut reply = [0u8; REPORT_LEN];
    reply[..4].copy_from_slice(&request[..4]);
    reply[4] = 0x86;
    reply[6] = 17;
    reply[7..15].copy_from_slice(&request[7..15]);
    reply[15..19].copy_from_slice(&new_cid.to_be_bytes());
    reply[19..23].copy_from_slice(&[2, 5, 2, 1]);
    reply[23] = capabilities;
    reply
}

/// The CTAPHID command of an init packet (`None` for continuations).
pub fn command_of(report: &Report) -> Option<u8> {
    (report[4] & 0x80 != 0).then_some(report[4] & 0x7F)
}

pub fn cid_of(report: &Report) -> u32 {
    u32::from_be_bytes([report[0], report[1], report[2], report[3]])
}

type Responder = Box<dyn FnMut(&Report) -> Vec<Report> + Send>;

/// A device whose answers come from a closure called for every written report.
pub struct ScriptedTransport {
    written: Arc<Mutex<Vec<Report>>>,
    pending: VecDeque<Report>,
    respond: Responder,
}

impl ScriptedTransport {
    /// The transport and a view of everything written to it.
    pub fn new(
        respond: impl FnMut(&Report) -> Vec<Report> + Send + 'static,
    ) -> (Self, Arc<Mutex<Vec<Report>>>) {
        let written = Arc::new(Mutex::new(Vec::new()));
        (
            ScriptedTransport {
                written: written.clone(),
                pending: VecDeque::new(),
                respond: Box::new(respond),
            },
            written,
        )
    }
}

impl HidTransport for ScriptedTransport {
    fn write_report(&mut self, report: &Report) -> Result<()> {
        self.written.lock().unwrap().push(*report);
        let answers = (self.respond)(report);
        self.pending.extend(answers);
        Ok(())
    }

    fn read_report(&mut self, timeout: Duration) -> Result<Option<Report>> {
        match self.pending.pop_front() {
            Some(report) => Ok(Some(report)),
            None => {
                std::thread::sleep(timeout);
                Ok(None)
            }
        }
    }
}
