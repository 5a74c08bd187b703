//! Every exported C function runs its body inside the panic boundary (guard_call, guard_status
//! or guard_static in src/ffi/boundary.rs). This test reads the sources and fails for any
//! `extern "C" fn` whose body starts with anything else.

use std::path::Path;

#[test]
fn every_export_starts_with_the_panic_boundary() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ffi");
    let mut exports = 0;
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        let mut rest = source.as_str();
        while let Some(at) = rest.find("pub extern \"C\" fn ") {
            let after = &rest[at + "pub extern \"C\" fn ".len()..];
            let name: String = after.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            let body_start = after.find('{').expect("function body");
            let body = after[body_start + 1..].trim_start();
            let body = body.trim_start_matches("super::").trim_start_matches("boundary::");
            if !["guard_call(", "guard_status(", "guard_static("].iter().any(|g| body.starts_with(g)) {
                missing.push(format!("{}: {name}", path.display()));
            }
            exports += 1;
            rest = &after[body_start..];
        }
        assert!(!source.contains("#[no_mangle]\npub fn"), "{}: exported non-extern fn", path.display());
    }
    assert!(exports > 30, "found only {exports} exports; is the scan broken?");
    assert!(missing.is_empty(), "exports without a panic boundary:\n{}", missing.join("\n"));
}
