//! A CTAP2-only key over hidraw: INIT reports CBOR and NMSG, CTAPHID_MSG is refused, and
//! authenticatorGetInfo travels as CTAPHID_CBOR in several reports each way through hidapi.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aa_logon::fido::{DeviceProvider, HidTransport, HidapiDevices, Report};
use aa_uhid::Bridge;
use aa_virtual_key::{Protocols, VirtualKey, PRODUCT, PRODUCT_ID, VENDOR_ID};
use ciborium::value::Value;

use crate::runner::Verdict;

const BROADCAST_CID: [u8; 4] = [0xFF; 4];
const CMD_MSG: u8 = 0x83;
const CMD_INIT: u8 = 0x86;
const CMD_CBOR: u8 = 0x90;
const CMD_KEEPALIVE: u8 = 0xBB;
const CMD_ERROR: u8 = 0xBF;
const CAPABILITIES_WINK_CBOR_NMSG: u8 = 0x0D;
const ERR_INVALID_CMD: u8 = 0x01;
const GET_INFO: u8 = 0x04;

pub fn ctap2_only_get_info() -> Verdict {
    let mut bridge = Bridge::new();
    let key = VirtualKey::with_protocols(b"ctap2-only", Protocols::Ctap2Only);
    let plugged = bridge.plug(Arc::new(key), PRODUCT, VENDOR_ID, PRODUCT_ID).map_err(|e| e.to_string())?;
    let path = plugged.node.to_string_lossy().into_owned();
    let mut transport = HidapiDevices::new().open(&path).map_err(|e| format!("open: {e}"))?;

    let nonce = *b"ctap2nce";
    transport
        .write_report(&packet(BROADCAST_CID, CMD_INIT, 8, &nonce))
        .map_err(|e| format!("write INIT: {e}"))?;
    let (_, init) = message(transport.as_mut(), BROADCAST_CID)?;
    if init.len() < 17 || init[..8] != nonce {
        return Err(format!("INIT reply {init:02x?}"));
    }
    let cid: [u8; 4] = init[8..12].try_into().map_err(|_| "short INIT reply")?;
    if init[16] != CAPABILITIES_WINK_CBOR_NMSG {
        return Err(format!("capabilities 0x{:02x}, expected WINK|CBOR|NMSG", init[16]));
    }

    // U2F is refused by a CTAP2-only key.
    transport
        .write_report(&packet(cid, CMD_MSG, 7, &[0, 3, 0, 0, 0, 0, 0]))
        .map_err(|e| format!("write MSG: {e}"))?;
    match message(transport.as_mut(), cid)? {
        (CMD_ERROR, payload) if payload == [ERR_INVALID_CMD] => {}
        other => return Err(format!("MSG answered {other:02x?}, expected ERROR INVALID_CMD")),
    }

    transport.write_report(&packet(cid, CMD_CBOR, 1, &[GET_INFO])).map_err(|e| format!("write CBOR: {e}"))?;
    let (command, answer) = message(transport.as_mut(), cid)?;
    if command != CMD_CBOR || answer.first() != Some(&0) {
        return Err(format!("getInfo answered 0x{command:02x} {:02x?}", &answer[..answer.len().min(8)]));
    }
    if answer.len() <= 57 {
        return Err(format!("getInfo fit in one report ({} bytes): continuations untested", answer.len()));
    }
    let info: Value = ciborium::de::from_reader(&answer[1..]).map_err(|e| format!("getInfo CBOR: {e}"))?;
    let versions = entry(&info, 1)
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_text).collect::<Vec<_>>())
        .ok_or("getInfo has no versions")?;
    if versions != ["FIDO_2_0", "FIDO_2_1"] {
        return Err(format!("versions {versions:?}"));
    }
    let protocols = entry(&info, 6).and_then(Value::as_array).ok_or("getInfo has no pinUvAuthProtocols")?;
    if protocols.len() != 2 {
        return Err(format!("pinUvAuthProtocols {protocols:?}"));
    }
    drop(transport);
    bridge.unplug(plugged.slot).map_err(|e| e.to_string())?;
    Ok(())
}

fn entry(map: &Value, key: i64) -> Option<&Value> {
    map.as_map()?.iter().find(|(k, _)| *k == Value::Integer(key.into())).map(|(_, v)| v)
}

/// An initialization packet with a payload that fits in it.
fn packet(cid: [u8; 4], command: u8, length: u16, payload: &[u8]) -> Report {
    let mut report = [0u8; 64];
    report[..4].copy_from_slice(&cid);
    report[4] = command;
    report[5..7].copy_from_slice(&length.to_be_bytes());
    report[7..7 + payload.len()].copy_from_slice(payload);
    report
}

/// One whole message on `cid` (KEEPALIVE skipped): its command byte and payload, within 5 s.
fn message(transport: &mut dyn HidTransport, cid: [u8; 4]) -> Result<(u8, Vec<u8>), String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let next = |transport: &mut dyn HidTransport| -> Result<Report, String> {
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            if let Some(report) = transport.read_report(left).map_err(|e| format!("read: {e}"))? {
                if report[..4] == cid && report[4] != CMD_KEEPALIVE {
                    return Ok(report);
                }
            }
        }
        Err("no answer within 5 s".into())
    };
    let first = next(transport)?;
    if first[4] & 0x80 == 0 {
        return Err(format!("expected an initialization packet, got {:02x?}", &first[..8]));
    }
    let length = usize::from(u16::from_be_bytes([first[5], first[6]]));
    let mut payload = first[7..7 + length.min(57)].to_vec();
    let mut seq = 0u8;
    while payload.len() < length {
        let report = next(transport)?;
        if report[4] != seq {
            return Err(format!("continuation SEQ {} where {seq} was due", report[4]));
        }
        let take = (length - payload.len()).min(59);
        payload.extend_from_slice(&report[5..5 + take]);
        seq += 1;
    }
    Ok((first[4], payload))
}
