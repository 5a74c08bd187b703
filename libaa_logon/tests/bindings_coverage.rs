//! Every C function of both headers (include/aa_logon.h and the testkit's aa_logon_testkit.h) is
//! used by the idiomatic layer of both bindings. The declarations themselves are generated from
//! the headers by `cargo run -p xtask -- bindings` (CI checks they are current); this test checks
//! what generation cannot: that the hand-written Python and C# code calls each function, so no
//! C function is left without a wrapper. Generated files are excluded from the search.

use std::collections::BTreeSet;
use std::path::Path;

#[path = "support/header.rs"]
mod header;

/// The text of every hand-written source file under `dir` with extension `ext`.
fn hand_written_sources(dir: &str, ext: &str, generated: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(dir);
    let mut text = String::new();
    let mut pending = vec![root];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
            if path.is_dir() {
                if !["bin", "obj", "__pycache__", "tests"].contains(&name.as_str()) {
                    pending.push(path);
                }
            } else if name.ends_with(ext) && name != generated {
                text.push_str(&std::fs::read_to_string(&path).unwrap());
                text.push('\n');
            }
        }
    }
    text
}

/// Functions never called by name in `sources` (a name counts when followed by `(`, `"` or `'`,
/// or used as an identifier — the bindings call through their generated tables).
fn unused(functions: &BTreeSet<String>, sources: &str) -> Vec<String> {
    functions
        .iter()
        .filter(|f| {
            !sources.match_indices(f.as_str()).any(|(at, _)| {
                let next = sources[at + f.len()..].chars().next().unwrap_or(' ');
                !(next.is_ascii_alphanumeric() || next == '_')
            })
        })
        .cloned()
        .collect()
}

/// C functions a binding deliberately does not call, with the reason.
const NOT_NEEDED: &[(&str, &str, &str)] = &[
    (
        "Python",
        "aa_logon_sign_request_count",
        "the binding reads the JSON of aa_logon_gather_sign_request in one call",
    ),
    (
        "Python",
        "aa_logon_sign_request_field",
        "the binding reads the JSON of aa_logon_gather_sign_request in one call",
    ),
    (
        "C#",
        "aa_logon_sign_request_count",
        "the binding reads the JSON of aa_logon_gather_sign_request in one call",
    ),
    (
        "C#",
        "aa_logon_sign_request_field",
        "the binding reads the JSON of aa_logon_gather_sign_request in one call",
    ),
    (
        "C#",
        "aa_error_status",
        "the status is the failing call's return value, which the exception already carries",
    ),
    ("C#", "aa_log_level_str", "the generated AaLogLevel enum names the levels"),
];

fn not_needed(binding: &str, function: &str) -> bool {
    NOT_NEEDED.iter().any(|(b, f, _)| *b == binding && *f == function)
}

#[test]
fn every_c_function_is_wrapped_by_python_and_csharp() {
    let mut functions = header::function_names();
    functions.extend(header::testkit_function_names());
    assert!(functions.len() > 50, "header scan found only {} functions", functions.len());
    let python = hand_written_sources("bindings/python/aa_logon", ".py", "_generated.py");
    let csharp = hand_written_sources("bindings/csharp/src", ".cs", "NativeMethods.g.cs");
    let mut problems = Vec::new();
    for (binding, sources) in [("Python", &python), ("C#", &csharp)] {
        let missing = unused(&functions, sources);
        problems.extend(
            missing.iter().filter(|f| !not_needed(binding, f)).map(|f| format!("{binding} never calls {f}")),
        );
        // An exemption that is no longer needed is stale: the binding calls the function now.
        problems.extend(
            NOT_NEEDED
                .iter()
                .filter(|(b, f, _)| *b == binding && !missing.iter().any(|m| m == f))
                .map(|(_, f, _)| format!("{binding} calls {f}: remove it from NOT_NEEDED")),
        );
    }
    assert!(problems.is_empty(), "C functions without a wrapper:\n{}", problems.join("\n"));
}
