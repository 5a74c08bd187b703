//! The unsafe code stays where it belongs and every export runs inside the panic boundary. Reads
//! the sources (paths relative to the repository root):
//!
//! - ffi/src/*.rs (libaa_logon's C ABI) and testkit/capi/src/*.rs (libaa_logon_testkit): every
//!   `#[no_mangle]` function is `extern "C"` and its body starts with the panic boundary
//!   (`guard_call(`, `guard_status(`, `guard_static(`, or the testkit's `guard(`), directly or as
//!   `// SAFETY: …` + `unsafe {` + the guard; one taking a raw pointer is `unsafe extern "C"`
//!   with a `# Safety` section in its doc comment; every `unsafe {` block and `unsafe impl` has a
//!   `// SAFETY:` comment on one of the 3 lines above it.
//! - core/src/**: no `unsafe` and no `extern "C"` outside comments and strings, and
//!   `#![forbid(unsafe_code)]` in lib.rs.

use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("libaa_logon/ has a parent").to_path_buf()
}

/// The .rs files of `dir` (relative to the repository root), recursively when `recursive`.
fn rust_files(dir: &str, recursive: bool) -> Vec<PathBuf> {
    fn walk(dir: &Path, recursive: bool, files: &mut Vec<PathBuf>) {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                if recursive {
                    walk(&path, recursive, files);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&repo_root().join(dir), recursive, &mut files);
    files.sort();
    assert!(!files.is_empty(), "no .rs files in {dir}");
    files
}

/// `source` with the insides of comments and of string, byte-string and char literals replaced by
/// spaces (newlines and the quote characters kept), byte for byte, so positions stay the same.
fn mask(source: &str) -> String {
    let bytes = source.as_bytes();
    let mut out = bytes.to_vec();
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for b in &mut out[from..to] {
            if *b != b'\n' {
                *b = b' ';
            }
        }
    };
    let mut i = 0;
    while i < bytes.len() {
        let rest = &bytes[i..];
        if rest.starts_with(b"//") {
            let end = rest.iter().position(|&b| b == b'\n').map_or(bytes.len(), |n| i + n);
            blank(&mut out, i, end);
            i = end;
        } else if rest.starts_with(b"/*") {
            let mut depth = 0;
            let mut j = i;
            while j < bytes.len() {
                if bytes[j..].starts_with(b"/*") {
                    depth += 1;
                    j += 2;
                } else if bytes[j..].starts_with(b"*/") {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            blank(&mut out, i, j);
            i = j;
        } else if let Some((open, hashes)) = raw_string_start(bytes, i) {
            // r"…", r#"…"#, br"…": no escapes; ends at a quote followed by the same hashes.
            let close: Vec<u8> = std::iter::once(b'"').chain(std::iter::repeat_n(b'#', hashes)).collect();
            let body = open + 1;
            let end =
                bytes[body..].windows(close.len()).position(|w| w == close).map_or(bytes.len(), |n| body + n);
            blank(&mut out, body, end);
            i = end + close.len();
        } else if bytes[i] == b'"' {
            let mut j = i + 1;
            while j < bytes.len() && bytes[j] != b'"' {
                j += if bytes[j] == b'\\' { 2 } else { 1 };
            }
            blank(&mut out, i + 1, j.min(bytes.len()));
            i = j + 1;
        } else if bytes[i] == b'\'' && may_open_char_literal(bytes, i) {
            // A char or byte literal ('x', '\n', '\'', 'é', b'"'), or else a lifetime / label ('a).
            if let Some(end) = char_literal_end(source, i) {
                blank(&mut out, i + 1, end);
                i = end + 1;
            } else {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    String::from_utf8(out).expect("masking keeps UTF-8: only ASCII and whole literals are replaced")
}

fn is_ident_byte(byte: Option<u8>) -> bool {
    byte.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Whether the quote at `i` may open a char literal: not preceded by an identifier (as the second
/// quote of `'a'` or a lifetime's use in `T<'a>` would not be), except for the `b` of `b'x'`.
fn may_open_char_literal(bytes: &[u8], i: usize) -> bool {
    let before = |n: usize| i.checked_sub(n).map(|at| bytes[at]);
    !is_ident_byte(before(1)) || (before(1) == Some(b'b') && !is_ident_byte(before(2)))
}

/// At `i`, the start of a raw (byte) string literal: the index of its opening quote and its hashes.
fn raw_string_start(bytes: &[u8], i: usize) -> Option<(usize, usize)> {
    if is_ident_byte(bytes.get(i.wrapping_sub(1)).copied()) {
        return None;
    }
    let mut j = i;
    if bytes.get(j) == Some(&b'b') || bytes.get(j) == Some(&b'c') {
        j += 1;
    }
    if bytes.get(j) != Some(&b'r') {
        return None;
    }
    j += 1;
    let hashes = bytes[j..].iter().take_while(|&&b| b == b'#').count();
    (bytes.get(j + hashes) == Some(&b'"')).then_some((j + hashes, hashes))
}

/// The index of the closing quote of the char literal opening at `i`, if it is one.
fn char_literal_end(source: &str, i: usize) -> Option<usize> {
    let rest = &source[i + 1..];
    let mut chars = rest.char_indices();
    let (_, first) = chars.next()?;
    if first == '\\' {
        // An escape: the literal ends at the next quote (after the escaped character).
        let (_, _escaped) = chars.next()?;
        return rest[2..].find('\'').map(|n| i + 1 + 2 + n);
    }
    let (at, second) = chars.next()?;
    (second == '\'').then_some(i + 1 + at)
}

/// The index of the `}` closing the `{` at `open` in masked text.
fn matching_brace(masked: &str, open: usize) -> usize {
    let mut depth = 0usize;
    for (offset, b) in masked.as_bytes()[open..].iter().enumerate() {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return open + offset;
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced braces after byte {open}");
}

/// The positions of `word` in `masked` as a whole token.
fn token_positions<'a>(masked: &'a str, word: &'a str) -> impl Iterator<Item = usize> + 'a {
    masked.match_indices(word).map(|(at, _)| at).filter(move |&at| {
        let before = masked.as_bytes().get(at.wrapping_sub(1)).copied();
        let after = masked.as_bytes().get(at + word.len()).copied();
        !is_ident_byte(before) && !is_ident_byte(after)
    })
}

fn line_of(text: &str, at: usize) -> usize {
    text[..at].matches('\n').count()
}

/// One `#[no_mangle]` function.
struct Export {
    name: String,
    /// The text from `fn`'s qualifiers up to the body's `{` (original text).
    signature: String,
    /// The parameter list (original text).
    parameters: String,
    /// The doc comment above the attributes.
    doc: String,
    /// The body between its braces (original text, comments included).
    body: String,
}

fn exports_of(source: &str) -> Vec<Export> {
    let masked = mask(source);
    let mut exports = Vec::new();
    let attributes = masked.match_indices("#[no_mangle]").chain(masked.match_indices("#[unsafe(no_mangle)]"));
    for (at, attribute) in attributes {
        let after = at + attribute.len();
        let fn_at = token_positions(&masked, "fn").find(|&f| f > after).expect("a fn after #[no_mangle]");
        let name: String = masked[fn_at + 2..]
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let open_paren = fn_at + masked[fn_at..].find('(').expect("parameter list");
        let mut depth = 0usize;
        let mut close_paren = open_paren;
        for (offset, b) in masked.as_bytes()[open_paren..].iter().enumerate() {
            match b {
                b'(' => depth += 1,
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        close_paren = open_paren + offset;
                        break;
                    }
                }
                _ => {}
            }
        }
        let body_open = close_paren + masked[close_paren..].find('{').expect("function body");
        let body_close = matching_brace(&masked, body_open);
        // The doc comment: the `///` lines right above the attribute, skipping other attributes.
        let mut doc_lines = Vec::new();
        for line in source[..at].lines().rev() {
            let line = line.trim();
            if let Some(doc) = line.strip_prefix("///") {
                doc_lines.push(doc.trim().to_owned());
            } else if !(line.starts_with("#[") || line.is_empty() && doc_lines.is_empty()) {
                break;
            }
        }
        doc_lines.reverse();
        exports.push(Export {
            name,
            signature: source[after..body_open].trim().to_owned(),
            parameters: source[open_paren + 1..close_paren].to_owned(),
            doc: doc_lines.join("\n"),
            body: source[body_open + 1..body_close].to_owned(),
        });
    }
    exports
}

/// The panic-boundary calls an exported body may start with.
const GUARDS: &[&str] = &["guard_call(", "guard_status(", "guard_static(", "guard("];
/// Module paths a guard may be named through.
const GUARD_PATHS: &[&str] =
    &["super::boundary::", "crate::boundary::", "boundary::", "crate::status::", "status::"];

fn starts_with_guard(code: &str) -> bool {
    let mut code = code.trim_start();
    for path in GUARD_PATHS {
        if let Some(rest) = code.strip_prefix(path) {
            code = rest;
            break;
        }
    }
    GUARDS.iter().any(|guard| code.starts_with(guard)) || code.starts_with("std::panic::catch_unwind(")
}

/// Skips leading whitespace and `//` comment lines; returns the rest and the comments seen.
fn skip_comments(mut code: &str) -> (&str, Vec<&str>) {
    let mut comments = Vec::new();
    loop {
        code = code.trim_start();
        if code.starts_with("//") {
            let end = code.find('\n').unwrap_or(code.len());
            comments.push(&code[..end]);
            code = &code[end..];
        } else {
            return (code, comments);
        }
    }
}

/// Why `export`'s body does not start in the panic boundary, if it does not.
fn boundary_problem(export: &Export) -> Option<String> {
    let (code, comments) = skip_comments(&export.body);
    if let Some(inner) = code.strip_prefix("unsafe").map(str::trim_start).and_then(|c| c.strip_prefix('{')) {
        if !comments.iter().any(|c| c.starts_with("// SAFETY:")) {
            return Some("its top-level `unsafe {` has no `// SAFETY:` comment right above it".into());
        }
        let (inner, _) = skip_comments(inner);
        return (!starts_with_guard(inner))
            .then(|| "its `unsafe {` block does not start with a guard".into());
    }
    (!starts_with_guard(code))
        .then(|| format!("its body starts with `{}`", code.lines().next().unwrap_or("")))
}

/// The source files compiled into the crate whose root is `src/lib.rs` under `dir` (relative to
/// the repository root): lib.rs and every file reached through `mod name;` declarations.
fn module_files(dir: &str) -> Vec<PathBuf> {
    let src = repo_root().join(dir);
    let mut files = Vec::new();
    let mut pending = vec![(src.join("lib.rs"), src.clone())];
    while let Some((file, children_dir)) = pending.pop() {
        let source =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
        let masked = mask(&source);
        for at in token_positions(&masked, "mod") {
            let rest = masked[at + 3..].trim_start();
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if name.is_empty() || !rest[name.len()..].trim_start().starts_with(';') {
                continue; // an inline `mod name { … }`
            }
            let flat = children_dir.join(format!("{name}.rs"));
            let (child, grandchildren) = if flat.is_file() {
                (flat, children_dir.join(&name))
            } else {
                (children_dir.join(&name).join("mod.rs"), children_dir.join(&name))
            };
            assert!(child.is_file(), "{}: `mod {name};` has no file", file.display());
            pending.push((child, grandchildren));
        }
        files.push(file);
    }
    files.sort();
    files
}

/// The crates holding C ABI code: libaa_logon's (ffi) and the testkit's.
const ABI_CRATES: &[&str] = &["ffi/src", "testkit/capi/src"];

/// The compiled sources of the C ABI crates: (path relative to the repository root, text).
fn abi_sources() -> Vec<(String, String)> {
    let root = repo_root();
    ABI_CRATES
        .iter()
        .flat_map(|dir| module_files(dir))
        .map(|path| {
            let text =
                std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
            (path.strip_prefix(&root).unwrap_or(&path).display().to_string(), text)
        })
        .collect()
}

/// A .rs file that no `mod` reaches is never compiled, so no check here (nor the compiler) sees
/// it; in the ABI crates it is a leftover that would come back to life with one `mod` line.
#[test]
fn the_abi_crates_have_no_stray_source_files() {
    let root = repo_root();
    let mut stray = Vec::new();
    for dir in ABI_CRATES {
        let modules = module_files(dir);
        for file in rust_files(dir, true) {
            if !modules.contains(&file) {
                stray.push(file.strip_prefix(&root).unwrap_or(&file).display().to_string());
            }
        }
    }
    assert!(
        stray.is_empty(),
        "source files that are not modules of their crate (delete them):\n{}",
        stray.join("\n")
    );
}

#[test]
fn every_export_runs_inside_the_panic_boundary() {
    let mut counts = std::collections::BTreeMap::new();
    let mut problems = Vec::new();
    for (path, source) in abi_sources() {
        for export in exports_of(&source) {
            *counts.entry(path.split("/src").next().unwrap_or("").to_owned()).or_insert(0) += 1;
            if !export.signature.contains("extern \"C\" fn") {
                problems.push(format!("{path}: {} is #[no_mangle] but not extern \"C\"", export.name));
            }
            if let Some(problem) = boundary_problem(&export) {
                problems.push(format!("{path}: {}: {problem}", export.name));
            }
        }
    }
    println!("exports found: {counts:?}");
    assert!(
        counts.get("ffi").is_some_and(|&n| n > 40),
        "too few exports in ffi/src: {counts:?}; scan broken?"
    );
    assert!(counts.get("testkit/capi").is_some_and(|&n| n > 10), "too few testkit exports: {counts:?}");
    assert!(problems.is_empty(), "exports outside the panic boundary:\n{}", problems.join("\n"));
}

#[test]
fn exports_taking_raw_pointers_are_unsafe_and_document_their_safety() {
    let mut problems = Vec::new();
    let mut with_pointers = 0;
    for (path, source) in abi_sources() {
        for export in exports_of(&source) {
            let masked = mask(&export.parameters);
            if !(masked.contains("*const") || masked.contains("*mut")) {
                continue;
            }
            with_pointers += 1;
            if !export.signature.contains("unsafe extern \"C\" fn") {
                problems.push(format!(
                    "{path}: {} takes a raw pointer but is not `unsafe extern \"C\"`",
                    export.name
                ));
            }
            if !export.doc.contains("# Safety") {
                problems.push(format!(
                    "{path}: {} takes a raw pointer but its doc has no `# Safety`",
                    export.name
                ));
            }
        }
    }
    assert!(with_pointers > 40, "only {with_pointers} exports take pointers; scan broken?");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_unsafe_block_has_a_safety_comment() {
    let mut problems = Vec::new();
    let mut blocks = 0;
    for (path, source) in abi_sources() {
        let masked = mask(&source);
        let lines: Vec<&str> = source.lines().collect();
        for at in token_positions(&masked, "unsafe") {
            let after = masked[at + "unsafe".len()..].trim_start();
            // Blocks and `unsafe impl` need a justification; `unsafe fn` / `unsafe extern` declare a
            // contract (documented by `# Safety`) instead.
            if !(after.starts_with('{') || after.starts_with("impl")) {
                continue;
            }
            blocks += 1;
            let line = line_of(&source, at);
            let justified =
                lines[line.saturating_sub(3)..line].iter().any(|l| l.trim_start().starts_with("// SAFETY:"));
            if !justified {
                problems.push(format!("{path}:{}: {}", line + 1, lines[line].trim()));
            }
        }
    }
    assert!(blocks > 50, "found only {blocks} unsafe blocks; scan broken?");
    assert!(
        problems.is_empty(),
        "unsafe without a `// SAFETY:` comment on the 3 lines above:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_core_crate_has_no_unsafe_and_no_c_abi() {
    let root = repo_root();
    let mut problems = Vec::new();
    let files = rust_files("core/src", true);
    for path in &files {
        let source = std::fs::read_to_string(path).unwrap();
        let masked = mask(&source);
        let shown = path.strip_prefix(&root).unwrap_or(path).display().to_string();
        for at in token_positions(&masked, "unsafe") {
            problems.push(format!("{shown}:{}: `unsafe`", line_of(&source, at) + 1));
        }
        for at in token_positions(&masked, "extern") {
            if masked[at + "extern".len()..].trim_start().starts_with('"') {
                problems.push(format!("{shown}:{}: `extern \"…\"`", line_of(&source, at) + 1));
            }
        }
        for attribute in ["no_mangle", "export_name"] {
            for at in token_positions(&masked, attribute) {
                problems.push(format!("{shown}:{}: `{attribute}`", line_of(&source, at) + 1));
            }
        }
    }
    assert!(files.len() > 10, "only {} files in core/src; scan broken?", files.len());
    assert!(
        problems.is_empty(),
        "core/src must stay free of unsafe code and C ABI:\n{}",
        problems.join("\n")
    );
    let lib = std::fs::read_to_string(root.join("core/src/lib.rs")).unwrap();
    assert!(
        mask(&lib).lines().any(|l| l.trim() == "#![forbid(unsafe_code)]"),
        "core/src/lib.rs lacks #![forbid(unsafe_code)]"
    );
}

/// The scanner itself, on sources made to trip it.
#[test]
fn the_scanner_sees_through_comments_strings_and_lifetimes() {
    let source = r###"
// unsafe { in a comment }
/* unsafe { nested /* unsafe */ } */
const A: &str = "unsafe { extern \"C\" }";
const B: &str = r#"unsafe { "# ;
const C: char = '"';
const D: char = '\'';
const E: u8 = b'"';
fn lifetime<'a>(x: &'a str) -> &'a str { x }
fn real() { let _ = 'x'; unsafe { f() } }
"###;
    let masked = mask(source);
    assert_eq!(masked.len(), source.len());
    assert_eq!(token_positions(&masked, "unsafe").count(), 1, "masked:\n{masked}");
    assert!(masked.contains("fn real() {"));
    assert!(masked.contains("fn lifetime<'a>(x: &'a str)"));

    let exports = exports_of(
        r#"
/// Doc.
///
/// # Safety
/// `p` is NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn good(p: *const u8, error_out: *mut *mut aa_error) -> aa_status {
    // SAFETY: the caller's contract.
    unsafe {
        guard_call(error_out, || {
            let x = "{";
            Ok(())
        })
    }
}

#[no_mangle]
pub extern "C" fn bad(p: *const u8) -> aa_status {
    let _ = p;
    guard_status(|| Ok(()))
}

#[no_mangle]
pub unsafe extern "C" fn unjustified(p: *const u8) -> aa_status {
    unsafe { guard_status(|| Ok(())) }
}
"#,
    );
    let names: Vec<&str> = exports.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["good", "bad", "unjustified"]);
    assert!(exports[0].doc.contains("# Safety") && exports[0].signature.contains("unsafe extern \"C\" fn"));
    assert_eq!(boundary_problem(&exports[0]), None);
    assert!(boundary_problem(&exports[1]).is_some(), "a body starting with `let` must be reported");
    assert!(boundary_problem(&exports[2]).is_some(), "an unjustified unsafe block must be reported");
    assert!(!exports[1].signature.contains("unsafe extern") && exports[1].doc.is_empty());
}
