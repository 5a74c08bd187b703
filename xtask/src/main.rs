//! `cargo run -p xtask -- bindings [--check]`: writes (or, with --check, compares) the
//! declarations both bindings take from the C headers — the Python ctypes table and the C#
//! P/Invoke declarations and enums. CI runs `--check` and fails on any difference.

mod csharp;
mod header;
mod manpages;
mod python;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The two headers the bindings cover.
pub struct Headers {
    pub library: header::Header,
    pub testkit: header::Header,
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the repo").to_path_buf()
}

fn read_header(path: &str) -> Result<header::Header, String> {
    let text = std::fs::read_to_string(repo().join(path)).map_err(|e| format!("{path}: {e}"))?;
    header::parse(&text).map_err(|e| format!("{path}: {e}"))
}

fn bindings(check: bool) -> Result<(), String> {
    let headers = Headers {
        library: read_header("include/aa_logon.h")?,
        testkit: read_header("testkit/capi/include/aa_logon_testkit.h")?,
    };
    let mut stale = Vec::new();
    for (path, text) in python::generate(&headers)?.into_iter().chain(csharp::generate(&headers)?) {
        let file = repo().join(&path);
        let current = std::fs::read_to_string(&file).unwrap_or_default();
        if current == text {
            continue;
        }
        if check {
            stale.push(path);
        } else {
            std::fs::write(&file, text).map_err(|e| format!("{path}: {e}"))?;
            println!("wrote {path}");
        }
    }
    if stale.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "generated binding declarations are out of date: {}\nregenerate with: cargo run -p xtask -- bindings",
            stale.join(", ")
        ))
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["bindings"] => bindings(false),
        ["bindings", "--check"] => bindings(true),
        ["man", rest @ ..] => manpages::run(rest),
        _ => Err("usage: cargo run -p xtask -- bindings [--check]".to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}
