//! JSON shapes the C API returns for structured values.

use serde_json::{json, Value};

use crate::fido::DeviceInfo;
use crate::Chain;

pub(crate) fn chain(chain: &Chain) -> Value {
    json!({
        "id_hex": chain.id_hex,
        "name": chain.name,
        "short_name": chain.short_name,
        "methods": chain.methods,
        "is_enabled": chain.is_enabled,
        "position": chain.position,
    })
}

pub(crate) fn device(device: &DeviceInfo) -> Value {
    json!({
        "path": device.path,
        "vendor_id": device.vendor_id,
        "product_id": device.product_id,
        "manufacturer": device.manufacturer,
        "product": device.product,
        "serial_number": device.serial_number,
    })
}
