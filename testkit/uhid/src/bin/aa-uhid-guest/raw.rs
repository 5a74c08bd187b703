//! The bridge alone, below the library: hidapi's 65-byte write reaches the key as one 64-byte
//! report, and the key's 64-byte answer comes back through hidraw.

use std::sync::Arc;

use aa_uhid::Bridge;
use aa_virtual_key::{VirtualKey, PRODUCT, PRODUCT_ID, VENDOR_ID};

use crate::runner::Verdict;

const BROADCAST_CID: [u8; 4] = [0xFF; 4];
const CTAPHID_INIT: u8 = 0x86;

pub fn hidapi_raw_init() -> Verdict {
    let mut bridge = Bridge::new();
    let key = VirtualKey::new(b"raw-init");
    let plugged = bridge.plug(Arc::new(key), PRODUCT, VENDOR_ID, PRODUCT_ID).map_err(|e| e.to_string())?;
    let api = hidapi::HidApi::new().map_err(|e| format!("hidapi init: {e}"))?;
    let node =
        std::ffi::CString::new(plugged.node.to_string_lossy().as_bytes()).map_err(|e| e.to_string())?;
    let device = api.open_path(&node).map_err(|e| format!("open {}: {e}", plugged.node.display()))?;

    let nonce = *b"rawnonce";
    let mut write = [0u8; 65]; // report id 0, then the 64-byte report
    write[1..5].copy_from_slice(&BROADCAST_CID);
    write[5] = CTAPHID_INIT;
    write[7] = 8;
    write[8..16].copy_from_slice(&nonce);
    let written = device.write(&write).map_err(|e| format!("write: {e}"))?;
    if written != 65 {
        return Err(format!("hidapi wrote {written} bytes, expected 65"));
    }
    let mut read = [0u8; 65];
    let len = device.read_timeout(&mut read, 5_000).map_err(|e| format!("read: {e}"))?;
    if len != 64 {
        return Err(format!("read {len} bytes, expected one 64-byte report"));
    }
    let reply = &read[..64];
    if reply[..4] != BROADCAST_CID || reply[4] != CTAPHID_INIT || reply[6] < 17 || reply[7..15] != nonce {
        return Err(format!("unexpected INIT reply {:02x?}", &reply[..24]));
    }
    drop(device);
    bridge.unplug(plugged.slot).map_err(|e| e.to_string())?;
    Ok(())
}
