//! Turns the connection options into a library [`Client`]; the endpoint secret comes from an
//! environment variable, a file or (discouraged) the command line, and never reaches the output.

use std::path::Path;
use std::time::Duration;

use aa_logon::{Client, ClientConfig, Secret, TlsOptions};

use crate::args::ConnectionArgs;
use crate::exit::{CmdResult, Failure};

/// The environment variable read when no --endpoint-secret* option is given.
pub const DEFAULT_SECRET_ENV: &str = "AA_ENDPOINT_SECRET";

/// Builds the client; nothing is sent to the server yet.
pub fn client(args: &ConnectionArgs) -> CmdResult<Client> {
    let secret = endpoint_secret(args)?;
    let (preferred, failover) = args.url.split_first().ok_or_else(|| Failure::usage("--url is required"))?;
    let mut config = ClientConfig::new(preferred.trim(), args.endpoint_id.trim(), secret);
    for url in failover {
        config.add_failover_url(url)?;
    }
    config.connect_timeout = Duration::from_secs(args.timeout);
    config.request_timeout = Duration::from_secs(args.timeout);
    config.tls = TlsOptions {
        extra_ca_pem_file: args.ca_file.clone(),
        pinned_spki_sha256: args.pin_sha256.as_deref().map(parse_pin).transpose()?,
        danger_disable_tls_verification: args.danger_disable_tls_verification,
        ..TlsOptions::default()
    };
    for host in &args.allow_app_id_host {
        config.allow_app_id_host(host)?;
    }
    config.danger_disable_app_id_check = args.danger_disable_app_id_check;
    if args.danger_disable_app_id_check {
        eprintln!(
            "warning: the appId check is OFF (--danger-disable-app-id-check): the server may have your key \
             sign for any site"
        );
    }
    if args.danger_disable_tls_verification {
        eprintln!(
            "warning: TLS certificate verification is OFF (--danger-disable-tls-verification): anyone on the \
             network path can read and change this traffic, the endpoint secret and passwords included"
        );
    }
    Ok(Client::new(config)?)
}

fn endpoint_secret(args: &ConnectionArgs) -> CmdResult<Secret> {
    let secret = if let Some(value) = &args.endpoint_secret {
        eprintln!(
            "warning: --endpoint-secret shows the secret in process listings and shell history; prefer \
             --endpoint-secret-env or --endpoint-secret-file"
        );
        Secret::from(value.as_str())
    } else if let Some(path) = &args.endpoint_secret_file {
        secret_from_file(path)?
    } else {
        let variable = args.endpoint_secret_env.as_deref().unwrap_or(DEFAULT_SECRET_ENV);
        match std::env::var(variable) {
            Ok(value) => Secret::new(value),
            Err(std::env::VarError::NotPresent) => {
                return Err(Failure::usage(format!(
                    "no endpoint secret: set {variable}, or use --endpoint-secret-env VAR or \
                     --endpoint-secret-file PATH"
                )))
            }
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(Failure::usage(format!("the environment variable {variable} is not valid UTF-8")))
            }
        }
    };
    if secret.expose().trim().is_empty() {
        return Err(Failure::usage("the endpoint secret is empty"));
    }
    Ok(secret)
}

/// The first line of the file, without its line ending.
fn secret_from_file(path: &Path) -> CmdResult<Secret> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure::usage(format!("cannot read the endpoint secret file {}: {e}", path.display()))
    })?;
    let mut secret = Secret::new(text);
    let first_line = secret.expose().lines().next().unwrap_or("").trim_end();
    if first_line.len() != secret.expose().len() {
        secret = Secret::from(first_line);
    }
    Ok(secret)
}

/// 64 hex digits, optionally separated by colons.
fn parse_pin(text: &str) -> CmdResult<[u8; 32]> {
    let digits: String = text.chars().filter(|c| *c != ':').collect();
    let invalid = || Failure::usage(format!("--pin-sha256 must be 64 hex digits (SHA-256), got {text:?}"));
    if digits.len() != 64 || !digits.is_ascii() {
        return Err(invalid());
    }
    let mut pin = [0u8; 32];
    for (byte, pair) in pin.iter_mut().zip(digits.as_bytes().chunks(2)) {
        let pair = std::str::from_utf8(pair).map_err(|_| invalid())?;
        *byte = u8::from_str_radix(pair, 16).map_err(|_| invalid())?;
    }
    Ok(pin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_parse_with_or_without_colons() {
        let hex = "00".repeat(31) + "ff";
        assert_eq!(parse_pin(&hex).unwrap()[31], 0xff);
        let colons: Vec<String> = (0..32).map(|i| format!("{i:02X}")).collect();
        assert_eq!(parse_pin(&colons.join(":")).unwrap()[5], 5);
        assert!(parse_pin("abc").is_err());
        assert!(parse_pin(&"zz".repeat(32)).is_err());
    }
}
