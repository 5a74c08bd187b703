//! Every function of the C header is bound by both language bindings: declared with its
//! signature in Python's table (bindings/python/aa_logon/_native.py) and as a P/Invoke import in
//! C# (bindings/csharp/src/NativeMethods.cs). Test-only (virtual-device) functions included.

use std::path::Path;

fn read(relative: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(relative))
        .unwrap_or_else(|e| panic!("read {relative}: {e}"))
}

/// Names of the functions the header declares.
fn header_functions() -> Vec<String> {
    let header = read("include/aa_logon.h");
    let mut names = Vec::new();
    for line in header.lines() {
        let line = line.trim_start();
        if line.starts_with('*')
            || line.starts_with("/*")
            || line.starts_with("typedef")
            || line.starts_with('#')
        {
            continue;
        }
        let Some(open) = line.find('(') else { continue };
        let Some(name) =
            line[..open].split(|c: char| !(c.is_alphanumeric() || c == '_')).rfind(|w| !w.is_empty())
        else {
            continue;
        };
        if name.starts_with("aa_") && !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
    }
    names
}

#[test]
fn header_functions_are_bound_in_python_and_csharp() {
    let functions = header_functions();
    assert!(functions.len() > 40, "header scan found only {} functions", functions.len());
    let python = read("bindings/python/aa_logon/_native.py");
    let csharp = read("bindings/csharp/src/NativeMethods.cs");
    let mut missing = Vec::new();
    for function in &functions {
        if !python.contains(&format!("\"{function}\"")) {
            missing.push(format!("Python lacks {function}"));
        }
        if !csharp.contains(&format!(" {function}(")) {
            missing.push(format!("C# lacks {function}"));
        }
    }
    assert!(missing.is_empty(), "functions of include/aa_logon.h not bound:\n{}", missing.join("\n"));
}
