//! Reading the C headers in tests: the functions include/aa_logon.h (libaa_logon) and
//! testkit/capi/include/aa_logon_testkit.h (the test-only libaa_logon_testkit) declare.

#![allow(dead_code)] // not every test crate needs every view

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The repository root: the directory above this crate (libaa_logon/).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("libaa_logon/ has a parent").to_path_buf()
}

/// A file of the repository, by its path relative to the repository root.
pub fn read_repo_file(relative: &str) -> String {
    std::fs::read_to_string(repo_root().join(relative)).unwrap_or_else(|e| panic!("read {relative}: {e}"))
}

/// The shipped header.
pub const HEADER: &str = "include/aa_logon.h";
/// The testkit's header.
pub const TESTKIT_HEADER: &str = "testkit/capi/include/aa_logon_testkit.h";

/// Removes `/* … */` and `// …` comments and preprocessor lines, keeping string literals.
fn code_only(source: &str) -> String {
    let mut code = String::with_capacity(source.len());
    let mut chars = source.chars().peekable();
    let mut at_line_start = true;
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut previous = '\0';
                for c in chars.by_ref() {
                    if previous == '*' && c == '/' {
                        break;
                    }
                    previous = c;
                }
                code.push(' ');
            }
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
                code.push('\n');
                at_line_start = true;
            }
            '#' if at_line_start => {
                // A preprocessor line (with backslash continuations).
                let mut previous = '\0';
                for c in chars.by_ref() {
                    if c == '\n' && previous != '\\' {
                        break;
                    }
                    previous = c;
                }
                code.push('\n');
            }
            '"' => {
                code.push(c);
                let mut escaped = false;
                for c in chars.by_ref() {
                    code.push(c);
                    if c == '"' && !escaped {
                        break;
                    }
                    escaped = c == '\\' && !escaped;
                }
                at_line_start = false;
            }
            '\n' => {
                code.push(c);
                at_line_start = true;
            }
            c if c.is_whitespace() => code.push(c),
            c => {
                code.push(c);
                at_line_start = false;
            }
        }
    }
    code
}

/// Every function the header at `relative` declares, in order: each top-level declaration
/// (between `;`, `{` and `}`) that is not a typedef and has a parameter list, by the identifier
/// right before its `(`.
pub fn functions_in(relative: &str) -> Vec<String> {
    let code = code_only(&read_repo_file(relative));
    let mut names = Vec::new();
    for piece in code.split([';', '{', '}']) {
        let piece = piece.trim();
        if piece.starts_with("typedef") || piece.starts_with("extern") {
            continue;
        }
        let Some(open) = piece.find('(') else { continue };
        let before = piece[..open].trim_end();
        let name: String = before
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        // A declaration has a return type before the name.
        if name.is_empty() || before.len() == name.len() {
            continue;
        }
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// Every function include/aa_logon.h declares.
pub fn functions() -> Vec<String> {
    functions_in(HEADER)
}

/// The names of all functions include/aa_logon.h declares.
pub fn function_names() -> BTreeSet<String> {
    functions().into_iter().collect()
}

/// The names of all functions the testkit header declares.
pub fn testkit_function_names() -> BTreeSet<String> {
    functions_in(TESTKIT_HEADER).into_iter().collect()
}
