//! Discovery and the CTAPHID transport: the key as hidapi and the library see it.

use std::time::{Duration, Instant};

use aa_logon::fido::{self, DeviceProvider, HidapiDevices, Report};
use aa_uhid::Bridge;
use aa_virtual_key::{PRODUCT, PRODUCT_ID, VENDOR_ID};

use crate::runner::Verdict;
use crate::support::plug_key;

const FIDO_USAGE_PAGE: u16 = 0xF1D0;
const BROADCAST_CID: [u8; 4] = [0xFF; 4];
const CMD_INIT: u8 = 0x86;
const CMD_PING: u8 = 0x81;
const CMD_KEEPALIVE: u8 = 0xBB;
const CMD_ERROR: u8 = 0xBF;

/// The library lists the key with the ids and strings the kernel got from the bridge; hidapi sees
/// the FIDO usage page on a USB bus; `describe` talks CTAPHID and U2F to it.
pub fn list_and_identify() -> Verdict {
    let mut bridge = Bridge::new();
    let (_key, plugged) = plug_key(&mut bridge, b"identify")?;
    let path = plugged.node.to_string_lossy().into_owned();
    let devices = HidapiDevices::new();

    let listed = devices.list().map_err(|e| format!("list: {e}"))?;
    let info = listed.iter().find(|info| info.path == path).ok_or(format!("{path} not in {listed:?}"))?;
    if (info.vendor_id, info.product_id) != (VENDOR_ID, PRODUCT_ID) {
        return Err(format!("ids {:04x}:{:04x}", info.vendor_id, info.product_id));
    }
    if info.product.as_deref() != Some(PRODUCT) || info.serial_number.as_deref() != Some(&plugged.serial) {
        return Err(format!("strings {info:?}"));
    }

    let api = hidapi::HidApi::new().map_err(|e| format!("hidapi: {e}"))?;
    let raw = api
        .device_list()
        .find(|d| d.path().to_string_lossy() == path)
        .ok_or("hidapi does not enumerate the node")?;
    if raw.usage_page() != FIDO_USAGE_PAGE
        || raw.usage() != 1
        || !matches!(raw.bus_type(), hidapi::BusType::Usb)
    {
        return Err(format!("usage {:04x}/{} on {:?}", raw.usage_page(), raw.usage(), raw.bus_type()));
    }

    let details = fido::describe(&devices, &path).map_err(|e| format!("describe: {e}"))?;
    if details.ctaphid_version != 2 || details.u2f_version.as_deref() != Some("U2F_V2") {
        return Err(format!("describe: {details:?}"));
    }
    if details.info != *info {
        return Err(format!("describe saw {:?}, list saw {info:?}", details.info));
    }
    Ok(())
}

/// INIT on the broadcast channel through the production transport, then a 100-byte PING on the new
/// channel (an init and a continuation packet each way).
pub fn ctaphid_init() -> Verdict {
    let mut bridge = Bridge::new();
    let (_key, plugged) = plug_key(&mut bridge, b"ctaphid")?;
    let path = plugged.node.to_string_lossy().into_owned();
    let mut transport = HidapiDevices::new().open(&path).map_err(|e| format!("open: {e}"))?;

    let nonce = *b"\x01\x23\x45\x67\x89\xab\xcd\xef";
    let mut init = [0u8; 64];
    init[..4].copy_from_slice(&BROADCAST_CID);
    init[4] = CMD_INIT;
    init[6] = 8;
    init[7..15].copy_from_slice(&nonce);
    transport.write_report(&init).map_err(|e| format!("write INIT: {e}"))?;
    let reply = read_reply(transport.as_mut(), BROADCAST_CID, CMD_INIT)?;
    let length = usize::from(u16::from_be_bytes([reply[5], reply[6]]));
    if length < 17 || reply[7..15] != nonce {
        return Err(format!("INIT reply {:02x?}", &reply[..24]));
    }
    let cid: [u8; 4] = reply[15..19].try_into().map_err(|_| "short INIT reply")?;
    if cid == BROADCAST_CID || cid == [0; 4] || reply[19] != 2 {
        return Err(format!("channel {cid:02x?}, protocol {}", reply[19]));
    }

    let payload: Vec<u8> = (0..100u8).collect();
    let mut ping = [0u8; 64];
    ping[..4].copy_from_slice(&cid);
    ping[4] = CMD_PING;
    ping[5..7].copy_from_slice(&(payload.len() as u16).to_be_bytes());
    ping[7..].copy_from_slice(&payload[..57]);
    let mut continuation = [0u8; 64];
    continuation[..4].copy_from_slice(&cid);
    continuation[4] = 0; // SEQ 0
    continuation[5..5 + 43].copy_from_slice(&payload[57..]);
    transport.write_report(&ping).map_err(|e| format!("write PING: {e}"))?;
    transport.write_report(&continuation).map_err(|e| format!("write PING continuation: {e}"))?;
    let first = read_reply(transport.as_mut(), cid, CMD_PING)?;
    let second = read_reply(transport.as_mut(), cid, 0)?;
    let mut echoed = first[7..].to_vec();
    echoed.extend_from_slice(&second[5..5 + 43]);
    if u16::from_be_bytes([first[5], first[6]]) != 100 || echoed != payload {
        return Err("PING echo differs".into());
    }
    Ok(())
}

/// Reads reports until one on `cid` with `command` (or continuation SEQ) arrives, skipping
/// keep-alives; fails on CTAPHID ERROR or after 5 s.
fn read_reply(transport: &mut dyn fido::HidTransport, cid: [u8; 4], command: u8) -> Result<Report, String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        let Some(report) = transport.read_report(left).map_err(|e| format!("read: {e}"))? else { continue };
        if report[..4] != cid || report[4] == CMD_KEEPALIVE {
            continue;
        }
        if report[4] == CMD_ERROR {
            return Err(format!("CTAPHID ERROR 0x{:02x}", report[7]));
        }
        if report[4] == command {
            return Ok(report);
        }
        return Err(format!("expected 0x{command:02x}, got {:02x?}", &report[..8]));
    }
    Err(format!("no reply 0x{command:02x} within 5 s"))
}
