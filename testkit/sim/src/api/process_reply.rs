//! The envelope every logon-process reply carries (§2.1): status, messages, chains, methods, ids
//! and the event fields.

use serde_json::{json, Map, Value};

use crate::app::App;
use crate::store::LogonProcess;

/// status/msg/reason/msgid of one reply.
pub struct Status<'a> {
    pub status: &'static str,
    pub msg: &'a str,
    pub reason: &'a str,
    pub msgid: &'static str,
}

pub fn envelope(
    app: &App,
    process: &LogonProcess,
    process_id: &str,
    status: Status<'_>,
) -> Map<String, Value> {
    let directory = &app.directory;
    let chains: Vec<Value> = directory
        .usable_chains(process.user, &process.event)
        .into_iter()
        .map(|c| directory.chain_json(c))
        .collect();
    let event_data_id = process.event.to_uppercase();
    let value = json!({
        "status": status.status, "msg": status.msg, "linked_logon": false, "reason": status.reason,
        "plugins": [], "msgid": status.msgid, "chains": chains, "categories": null,
        "current_method": process.current_method, "completed_methods": process.completed,
        "logon_process_id": process_id, "event_name": process.event, "event_type": "Generic",
        "event_all_categories": true, "event_data_id": event_data_id, "data_id": event_data_id,
        "category_id": "", "current_category_id": "",
    });
    match value {
        Value::Object(map) => map,
        _ => unreachable!("json! of an object literal is an object"),
    }
}

/// The policy hints AA sends when a logon process starts.
pub fn start_logon_hints() -> Value {
    json!({ "policy": {
        "cached_logon_offline_period": 60, "cached_logon": false, "sspr_enabled": false, "sspr_url": "",
        "sspr_caption": "", "disable_ldap_change": false, "save_password": true,
    } })
}
