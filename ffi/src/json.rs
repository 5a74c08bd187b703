//! JSON shapes the C API returns for structured values.

use serde_json::{json, Value};

use aa_logon::fido::{DeviceInfo, SignRequest};
use aa_logon::{Chain, UserInfo};

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

/// `{"signRequests":[{"version","challenge","keyHandle","appId"},…]}`, the libu2f-host / Device
/// Service shape.
pub(crate) fn sign_requests(requests: &[SignRequest]) -> Value {
    json!({ "signRequests": requests })
}

/// The user fields of an answer as one object of strings (absent fields left out).
pub(crate) fn user(user: &UserInfo) -> Value {
    let typed = [
        ("user_id", &user.user_id),
        ("user_name", &user.user_name),
        ("repo_id", &user.repo_id),
        ("user_name_netbios", &user.user_name_netbios),
        ("user_email", &user.user_email),
        ("user_mobile_phone", &user.user_mobile_phone),
        ("user_cn", &user.user_cn),
        ("user_sid", &user.user_sid),
        ("user_upn", &user.user_upn),
        ("user_dn", &user.user_dn),
        ("tenant_name", &user.tenant_name),
    ];
    let mut object = serde_json::Map::new();
    for (name, value) in typed {
        if let Some(value) = value {
            object.insert(name.to_owned(), Value::String(value.clone()));
        }
    }
    for (name, value) in &user.other {
        object.insert(name.clone(), Value::String(value.clone()));
    }
    Value::Object(object)
}
