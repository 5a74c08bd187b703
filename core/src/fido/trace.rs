//! One log line per CTAPHID report (headers only, never payload bytes) under the target
//! [`FRAMES_TARGET`], at debug level. Costs one level check when that target is off.

use super::frame::{command, Packet};
use super::transport::Report;

/// The `log` target of the per-report trace, for an application that wants an exchange summary.
pub const FRAMES_TARGET: &str = "aa_logon::fido::frames";

/// A report written to the device.
pub fn sent(path: &str, report: &Report) {
    line("->", path, report);
}

/// A report read from the device on our channel.
pub fn received(path: &str, report: &Report) {
    line("<-", path, report);
}

/// A report read from the device but meant for another channel (or an empty read).
pub fn skipped(path: &str, report: &Report) {
    line("<- (not ours)", path, report);
}

fn line(direction: &str, path: &str, report: &Report) {
    if !log::log_enabled!(target: FRAMES_TARGET, log::Level::Debug) {
        return;
    }
    match Packet::parse(report) {
        Packet::Init { cid, command, length, .. } => log::debug!(
            target: FRAMES_TARGET,
            "{direction} {path} cid={cid:08x} {} len={length}",
            command_name(command)
        ),
        Packet::Continuation { cid, seq, .. } => {
            log::debug!(target: FRAMES_TARGET, "{direction} {path} cid={cid:08x} cont seq={seq}")
        }
    }
}

fn command_name(code: u8) -> String {
    match code {
        command::PING => "PING".into(),
        command::MSG => "MSG".into(),
        command::INIT => "INIT".into(),
        command::WINK => "WINK".into(),
        command::CBOR => "CBOR".into(),
        command::CANCEL => "CANCEL".into(),
        command::KEEPALIVE => "KEEPALIVE".into(),
        command::ERROR => "ERROR".into(),
        other => format!("CMD(0x{other:02x})"),
    }
}
