//! `aa-logon chains` and `aa-logon logout`.

use std::fmt::Write as _;

use serde_json::json;

use crate::args::{ChainsArgs, LogoutArgs};
use crate::connection;
use crate::exit::CmdResult;
use crate::output::Outcome;

pub fn chains(args: &ChainsArgs) -> CmdResult<Outcome> {
    let client = connection::client(&args.connection)?;
    let info = client.chains(&args.user, &args.event)?;
    let mut text = String::new();
    if info.chains.is_empty() {
        let _ = writeln!(text, "no chains for {} at event {:?}", args.user, args.event);
    }
    for chain in &info.chains {
        let state = if chain.is_enabled { "" } else { " (disabled)" };
        let _ = writeln!(text, "{}{state}: {}", chain.name, chain.methods.join(" -> "));
    }
    if info.user_is_locked {
        let _ = writeln!(text, "the user is locked");
    }
    let chains: Vec<_> = info
        .chains
        .iter()
        .map(|chain| {
            json!({
                "name": chain.name,
                "short_name": chain.short_name,
                "id": chain.id_hex,
                "methods": chain.methods,
                "is_enabled": chain.is_enabled,
                "position": chain.position,
            })
        })
        .collect();
    Ok(Outcome::ok(text, json!({ "status": "OK", "chains": chains, "user_is_locked": info.user_is_locked })))
}

pub fn logout(args: &LogoutArgs) -> CmdResult<Outcome> {
    let client = connection::client(&args.connection)?;
    client.logout(&args.session)?;
    Ok(Outcome::ok(
        format!("login session {} ended\n", args.session),
        json!({ "status": "OK", "logged_out": args.session }),
    ))
}
