//! Every function of the C header is bound by both language bindings — declared with its
//! signature in Python's table (bindings/python/aa_logon/_native.py) and as a P/Invoke import in
//! C# (bindings/csharp/src/NativeMethods.cs) — and neither binding declares a function the
//! header lacks. Test-only (virtual-device) functions are included: both bindings expose them.

use std::collections::BTreeSet;

#[path = "support/header.rs"]
mod header;

/// The keys of the signature table in _native.py: lines of the form `"aa_name": (restype, [...]),`.
fn python_declarations() -> BTreeSet<String> {
    header::read_repo_file("bindings/python/aa_logon/_native.py")
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix("\"aa_"))
        .filter_map(|rest| rest.split_once("\": ("))
        .map(|(name, _)| format!("aa_{name}"))
        .collect()
}

/// The names of `static extern … aa_name(` imports in NativeMethods.cs.
fn csharp_declarations() -> BTreeSet<String> {
    header::read_repo_file("bindings/csharp/src/NativeMethods.cs")
        .lines()
        .filter(|line| line.contains("static extern"))
        .filter_map(|line| line.split_once(" aa_"))
        .filter_map(|(_, rest)| rest.split_once('('))
        .map(|(name, _)| format!("aa_{name}"))
        .collect()
}

fn check(binding: &str, declared: &BTreeSet<String>, exported: &BTreeSet<String>) -> Vec<String> {
    let missing = exported.difference(declared).map(|f| format!("{binding} lacks {f}"));
    let unknown =
        declared.difference(exported).map(|f| format!("{binding} declares {f}, which the header lacks"));
    missing.chain(unknown).collect()
}

#[test]
fn header_functions_are_bound_in_python_and_csharp() {
    let exported = header::function_names();
    assert!(exported.len() > 40, "header scan found only {} functions", exported.len());
    let mut problems = check("Python", &python_declarations(), &exported);
    problems.extend(check("C#", &csharp_declarations(), &exported));
    assert!(problems.is_empty(), "include/aa_logon.h and the bindings disagree:\n{}", problems.join("\n"));
}
