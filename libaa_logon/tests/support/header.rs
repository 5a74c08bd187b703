//! Reading include/aa_logon.h in tests: the functions it declares, in general and inside the
//! test-only `#if defined(AA_LOGON_VIRTUAL_DEVICE)` blocks.

use std::collections::BTreeSet;
use std::path::Path;

pub fn read_repo_file(relative: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(relative))
        .unwrap_or_else(|e| panic!("read {relative}: {e}"))
}

/// Every function the header declares, with whether it is test-only (virtual-device).
pub fn functions() -> Vec<(String, bool)> {
    let header = read_repo_file("include/aa_logon.h");
    let mut names = Vec::new();
    let mut in_comment = false;
    let mut in_test_only = false;
    for line in header.lines() {
        let trimmed = line.trim_start();
        if in_comment || trimmed.starts_with("/*") {
            in_comment = !trimmed.contains("*/");
            continue;
        }
        if trimmed.starts_with("#if defined(AA_LOGON_VIRTUAL_DEVICE)") {
            in_test_only = true;
        } else if trimmed.starts_with("#endif") {
            in_test_only = false;
        }
        if trimmed.starts_with('#') || trimmed.starts_with("typedef") || trimmed.starts_with("//") {
            continue;
        }
        let Some(open) = trimmed.find('(') else { continue };
        let before = &trimmed[..open];
        let name = before.rsplit([' ', '*']).next().unwrap_or("");
        if name.starts_with("aa_") && before.contains(' ') && !names.iter().any(|(n, _)| n == name) {
            names.push((name.to_owned(), in_test_only));
        }
    }
    names
}

/// The names of all declared functions.
#[allow(dead_code)] // not every test crate needs every view
pub fn function_names() -> BTreeSet<String> {
    functions().into_iter().map(|(name, _)| name).collect()
}
