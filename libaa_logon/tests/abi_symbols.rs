//! The shipped library: a default build (no test-only features) exports the C API and nothing
//! of the virtual key, carries a SONAME with the major version, and exports every function the
//! committed header declares.

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "support/header.rs"]
mod header;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Builds the library exactly as shipped (default features) into its own target dir.
fn shipped_library() -> PathBuf {
    let target = repo().join("target/abi-default");
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--lib", "-p", "aa-logon"])
        .env("CARGO_TARGET_DIR", &target)
        .current_dir(repo())
        .status()
        .expect("run cargo build");
    assert!(status.success(), "default build of the library failed");
    target.join("debug/libaa_logon.so")
}

fn tool_output(tool: &str, args: &[&str], file: &Path) -> String {
    let output =
        Command::new(tool).args(args).arg(file).output().unwrap_or_else(|e| panic!("run {tool}: {e}"));
    assert!(output.status.success(), "{tool} failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn shipped_library_exports_the_api_and_no_test_symbols() {
    let library = shipped_library();
    let symbols = tool_output("nm", &["-D", "--defined-only", "--format=just-symbols"], &library);
    let exported: Vec<&str> = symbols.lines().filter(|s| s.starts_with("aa_")).collect();
    assert!(exported.contains(&"aa_logon_new"));
    assert!(exported.contains(&"aa_logon_gather_sign_request"));
    assert!(exported.contains(&"aa_logon_sign_with_device"));
    let test_only: Vec<_> = exported.iter().filter(|s| s.contains("virtual")).collect();
    assert!(test_only.is_empty(), "test-only symbols in the shipped library: {test_only:?}");
    for (function, _) in header::functions().into_iter().filter(|(_, test_only)| !test_only) {
        assert!(
            exported.contains(&function.as_str()),
            "{function} is declared in the header but not exported"
        );
    }

    let dynamic = tool_output("readelf", &["-d"], &library);
    assert!(
        dynamic.contains("Library soname: [libaa_logon.so.0]"),
        "no SONAME with the major version:\n{dynamic}"
    );
}

#[test]
fn every_header_item_has_a_doc_comment() {
    let header = std::fs::read_to_string(repo().join("include/aa_logon.h")).unwrap();
    let lines: Vec<&str> = header.lines().collect();
    let mut undocumented = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let item = line.starts_with("aa_status aa_")
            || line.starts_with("const char *aa_")
            || line.starts_with("enum aa_")
            || line.starts_with("typedef struct aa_")
            || line.starts_with("typedef void (*aa_")
            || line.trim_start().starts_with("AA_");
        if !item {
            continue;
        }
        // The doc block ends right above the item (enums' typedef lines follow their body).
        let previous = lines[..i].iter().rev().find(|l| !l.trim().is_empty()).map_or("", |l| l.trim());
        if !previous.ends_with("*/") {
            undocumented.push(line.trim().to_owned());
        }
    }
    assert!(undocumented.is_empty(), "header items without a doc comment:\n{}", undocumented.join("\n"));
}
