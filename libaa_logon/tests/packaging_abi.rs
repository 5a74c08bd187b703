//! The stable ABI of libaa_logon.so.0:
//!
//! - `header_*`: every function, enum constant, struct and callback of include/aa_logon.h matches
//!   the committed snapshot libaa_logon/abi/aa_logon.abi. A removed or changed entry is an ABI
//!   break and fails unless the major version (and so the SONAME) moved; a new entry is
//!   compatible but must be recorded: `AA_ABI_UPDATE=1 cargo test -p libaa-logon --test
//!   packaging_abi` rewrites the snapshot, and refuses to record a break under the same SONAME.
//!   The header's version defines are the Cargo workspace version.
//! - the library built by this run exports exactly libaa_logon/libaa_logon.symbols, with symbol
//!   versions (scripts/check-abi.sh --symbols-only), and that script fails, naming the symbol,
//!   on a library that lost one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

#[path = "../../xtask/src/header.rs"]
#[allow(dead_code)]
mod header;
#[path = "support/native.rs"]
mod native;
#[path = "support/packaging.rs"]
mod packaging;

use header::Header;
use packaging::{describe, repo};

const SNAPSHOT: &str = "libaa_logon/abi/aa_logon.abi";
const SYMBOLS: &str = "libaa_logon/libaa_logon.symbols";

fn major() -> &'static str {
    env!("CARGO_PKG_VERSION_MAJOR")
}

fn soname() -> String {
    format!("libaa_logon.so.{}", major())
}

fn read_header() -> Header {
    let text = std::fs::read_to_string(repo().join("include/aa_logon.h")).expect("read include/aa_logon.h");
    header::parse(&text).expect("include/aa_logon.h parses")
}

/// One line per ABI-relevant item, keyed by what it is (`function aa_x`, `enum aa_status
/// AA_STATUS_OK`…), so a changed item is told apart from a removed one. Parameter names are left
/// out (they are no part of the ABI); struct field names are kept (callers write them).
fn abi_entries(header: &Header) -> BTreeMap<String, String> {
    let mut entries = BTreeMap::new();
    let signature = |params: &[header::Param], returns: &header::CType| {
        let types: Vec<String> = params.iter().map(|p| p.ty.to_string()).collect();
        format!("({}) -> {returns}", types.join(", "))
    };
    for function in &header.functions {
        let key = format!("function {}", function.name);
        entries.insert(key.clone(), format!("{key}{}", signature(&function.params, &function.returns)));
    }
    for callback in &header.callbacks {
        let key = format!("callback {}", callback.name);
        entries.insert(key.clone(), format!("{key}{}", signature(&callback.params, &callback.returns)));
    }
    for item in &header.enums {
        for (variant, value) in &item.variants {
            let key = format!("enum {} {variant}", item.name);
            entries.insert(key.clone(), format!("{key} = {value}"));
        }
    }
    for item in &header.structs {
        let key = format!("struct {}", item.name);
        let fields: Vec<String> = item.fields.iter().map(|f| format!("{} {};", f.ty, f.name)).collect();
        entries.insert(key.clone(), format!("{key} {{ {} }}", fields.join(" ")));
    }
    for name in &header.opaque {
        let key = format!("opaque {name}");
        entries.insert(key.clone(), key);
    }
    entries
}

fn snapshot_text(entries: &BTreeMap<String, String>) -> String {
    let mut text = format!(
        "# The ABI of include/aa_logon.h as libaa_logon.so.{major} ships it: one line per function,\n\
         # callback, enum constant, struct and opaque type (parameter names left out).\n\
         # Checked by libaa_logon/tests/packaging_abi.rs and scripts/check-abi.sh: removing or changing\n\
         # a line is an ABI break and needs a new major version; new lines are recorded with\n\
         # AA_ABI_UPDATE=1 cargo test -p libaa-logon --test packaging_abi\n\
         soname {soname}\n",
        major = major(),
        soname = soname()
    );
    for line in entries.values() {
        text.push_str(line);
        text.push('\n');
    }
    text
}

/// The recorded SONAME and entries of a snapshot text.
fn parse_snapshot(text: &str) -> (String, BTreeMap<String, String>) {
    let mut soname = String::new();
    let mut entries = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        if let Some(name) = line.strip_prefix("soname ") {
            soname = name.to_owned();
            continue;
        }
        let mut words = line.split_whitespace();
        let kind = words.next().unwrap_or_default();
        let key = match kind {
            "function" | "callback" => {
                format!("{kind} {}", line[kind.len() + 1..].split('(').next().unwrap_or_default())
            }
            "enum" => {
                format!("enum {} {}", words.next().unwrap_or_default(), words.next().unwrap_or_default())
            }
            _ => format!("{kind} {}", words.next().unwrap_or_default()),
        };
        entries.insert(key, line.to_owned());
    }
    (soname, entries)
}

/// What differs between the recorded entries and the header's: (breaks, unrecorded additions).
fn compare(
    recorded: &BTreeMap<String, String>,
    current: &BTreeMap<String, String>,
) -> (Vec<String>, Vec<String>) {
    let mut breaks = Vec::new();
    for (key, was) in recorded {
        match current.get(key) {
            None => breaks.push(format!("removed from include/aa_logon.h: {was}")),
            Some(now) if now != was => {
                breaks.push(format!("changed in include/aa_logon.h:\n      was: {was}\n      now: {now}"))
            }
            Some(_) => {}
        }
    }
    let additions = current
        .iter()
        .filter(|(key, _)| !recorded.contains_key(*key))
        .map(|(_, line)| line.clone())
        .collect();
    (breaks, additions)
}

#[test]
fn header_abi_matches_the_committed_snapshot() {
    let current = abi_entries(&read_header());
    let path = repo().join(SNAPSHOT);
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    let (recorded_soname, recorded) = parse_snapshot(&committed);
    let major_moved = !recorded_soname.is_empty() && recorded_soname != soname();
    let (breaks, additions) = compare(&recorded, &current);
    let update = std::env::var("AA_ABI_UPDATE").is_ok_and(|v| v == "1");

    if update {
        assert!(
            breaks.is_empty() || major_moved || committed.is_empty(),
            "AA_ABI_UPDATE=1 refuses to record an ABI break under the same SONAME {}:\n  {}\n\
             Restore the old declarations, or raise the major version in Cargo.toml first.",
            soname(),
            breaks.join("\n  ")
        );
        std::fs::write(&path, snapshot_text(&current)).expect("write the ABI snapshot");
        eprintln!("wrote {SNAPSHOT}: {} entries ({} new)", current.len(), additions.len());
        return;
    }
    assert!(!committed.is_empty(), "{SNAPSHOT} is missing: create it with AA_ABI_UPDATE=1 cargo test -p libaa-logon --test packaging_abi");
    assert!(
        !major_moved,
        "the major version moved ({recorded_soname} -> {}): ABI changes are allowed now; record the new ABI with \
         AA_ABI_UPDATE=1 cargo test -p libaa-logon --test packaging_abi (and start a new {SYMBOLS})",
        soname()
    );
    let mut problems = Vec::new();
    if !breaks.is_empty() {
        problems.push(format!(
            "ABI BREAK under the unchanged SONAME {} (programs built against the old header would call \
             these wrongly or fail to link). Restore them, or raise the major version in Cargo.toml:\n  {}",
            soname(),
            breaks.join("\n  ")
        ));
    }
    if !additions.is_empty() {
        problems.push(format!(
            "new in include/aa_logon.h and not recorded in {SNAPSHOT} (additions are compatible; record them with \
             AA_ABI_UPDATE=1 cargo test -p libaa-logon --test packaging_abi, and new functions in {SYMBOLS}):\n  {}",
            additions.join("\n  ")
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn header_check_reports_a_changed_signature_a_removed_function_and_an_addition() {
    let mut header = read_header();
    let recorded = abi_entries(&header);
    let changed = header.functions.iter_mut().find(|f| f.name == "aa_client_new").expect("aa_client_new");
    changed.params[0].ty = header::CType::Size;
    header.functions.retain(|f| f.name != "aa_version");
    let mut added = header.functions[0].clone();
    added.name = "aa_brand_new".into();
    header.functions.push(added);

    let (breaks, additions) = compare(&recorded, &abi_entries(&header));
    assert_eq!(breaks.len(), 2, "{breaks:#?}");
    assert!(
        breaks.iter().any(|b| b.starts_with("changed")
            && b.contains("was: function aa_client_new(const aa_client_options *")
            && b.contains("now: function aa_client_new(size_t")),
        "{breaks:#?}"
    );
    assert!(
        breaks.iter().any(|b| b.starts_with("removed") && b.contains("function aa_version()")),
        "{breaks:#?}"
    );
    assert_eq!(additions.len(), 1);
    assert!(additions[0].starts_with("function aa_brand_new("), "{additions:?}");
    // The committed snapshot reads back to exactly what the header gives.
    assert_eq!(parse_snapshot(&snapshot_text(&recorded)), (soname(), recorded));
}

#[test]
fn header_version_is_the_cargo_workspace_version() {
    let header = read_header();
    let define = |name: &str| {
        header
            .defines
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    let in_header = format!(
        "{}.{}.{}",
        define("AA_LOGON_VERSION_MAJOR"),
        define("AA_LOGON_VERSION_MINOR"),
        define("AA_LOGON_VERSION_PATCH")
    );
    assert_eq!(
        in_header,
        packaging::VERSION,
        "include/aa_logon.h says version {in_header} but the Cargo workspace version is {}: the version \
         defines in cbindgen.toml must follow Cargo.toml (then regenerate the header)",
        packaging::VERSION
    );
    let symbols = std::fs::read_to_string(repo().join(SYMBOLS)).expect("read the symbols file");
    let first = symbols.lines().find(|l| !l.starts_with('#')).unwrap_or_default();
    assert!(
        first.starts_with(&format!("{} libaa-logon{} ", soname(), major())),
        "{SYMBOLS} starts with {first:?}"
    );
}

/// The csproj (for `dotnet` users) states a version of its own: it must be the workspace's, as the
/// NuGet packages (scripts/build-nuget.sh) and the wheel (setup.py) take it.
#[test]
fn the_csproj_version_is_the_cargo_workspace_version() {
    let csproj =
        std::fs::read_to_string(repo().join("bindings/csharp/AaLogon.csproj")).expect("read AaLogon.csproj");
    let expected = format!("<Version>{}</Version>", packaging::VERSION);
    assert!(
        csproj.contains(&expected),
        "bindings/csharp/AaLogon.csproj must say {expected} (the Cargo workspace version)"
    );
}

fn binutils_present(what: &str) -> bool {
    packaging::tools_present(
        what,
        &[
            ("nm", &["--version"], "nm (binutils)"),
            ("readelf", &["--version"], "readelf (binutils)"),
            ("cc", &["--version"], "cc (gcc)"),
        ],
    )
}

fn check_abi(library: &Path, symbols: &Path) -> std::process::Output {
    Command::new("bash")
        .arg(repo().join("scripts/check-abi.sh"))
        .args(["--symbols-only", "--symbols"])
        .arg(symbols)
        .arg(library)
        .output()
        .expect("run scripts/check-abi.sh")
}

#[test]
fn the_built_library_exports_the_recorded_symbols_with_their_versions() {
    if !binutils_present("the exported-symbol check") {
        return;
    }
    let output = check_abi(&native::library(), &repo().join(SYMBOLS));
    assert!(output.status.success(), "scripts/check-abi.sh --symbols-only: {}", describe(&output));
}

/// A library that is libaa_logon.so.0 with every recorded symbol but one (a C stub linked with the
/// same version script): the check must fail and name the lost symbol.
#[test]
fn check_abi_fails_clearly_when_a_recorded_symbol_disappears() {
    if !binutils_present("the removed-symbol check") {
        return;
    }
    let dir = packaging::scratch("abi-removed-symbol");
    let symbols = std::fs::read_to_string(repo().join(SYMBOLS)).expect("read the symbols file");
    let functions: BTreeSet<&str> = symbols
        .lines()
        .filter_map(|l| l.strip_prefix(' '))
        .filter_map(|l| l.split('@').next())
        .filter(|name| name.starts_with("aa_"))
        .collect();
    assert!(functions.contains("aa_version"));
    let stub: String =
        functions.iter().filter(|f| **f != "aa_version").map(|f| format!("void {f}(void) {{}}\n")).collect();
    std::fs::write(dir.join("stub.c"), stub).expect("write stub.c");
    let library = dir.join("libaa_logon.so");
    let mut compile = Command::new("cc");
    compile
        .args(["-shared", "-fPIC", "-o"])
        .arg(&library)
        .arg(dir.join("stub.c"))
        .arg(format!("-Wl,-soname,{}", soname()))
        .arg(format!("-Wl,--version-script={}", repo().join("libaa_logon/abi/libaa_logon.map").display()));
    packaging::run(compile, "cc (stub library)");

    let output = check_abi(&library, &repo().join(SYMBOLS));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert!(
        stderr.contains(
            "no longer exports aa_version@AA_LOGON_0 (recorded in libaa_logon.symbols since 0.1.0)"
        ) && stderr.contains("raise the major version"),
        "{}",
        describe(&output)
    );
    assert_eq!(stderr.matches("ABI: ").count(), 1, "only the lost symbol is reported: {stderr}");
}
