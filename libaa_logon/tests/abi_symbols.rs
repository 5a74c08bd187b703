//! The shipped library exports exactly the C API: the libaa_logon.so this test run built (and a
//! release build in target/release/, when there is one) exports as dynamic symbols precisely the
//! functions include/aa_logon.h declares — nothing more (no testkit function, no Rust symbol),
//! nothing less — and carries the SONAME libaa_logon.so.0. The test-only libaa_logon_testkit.so
//! exports precisely the functions of aa_logon_testkit.h and carries the SONAME
//! libaa_logon_testkit.so.0. Every item of both headers is documented.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

#[path = "support/elf.rs"]
mod elf;
#[path = "support/header.rs"]
mod header;
#[path = "support/native.rs"]
mod native;

fn tool_output(tool: &str, args: &[&str], file: &Path) -> String {
    let output =
        Command::new(tool).args(args).arg(file).output().unwrap_or_else(|e| panic!("run {tool}: {e}"));
    assert!(
        output.status.success(),
        "{tool} {} failed: {}",
        file.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn readelf_output_is_read_for_the_soname_and_needed_libraries() {
    let library = "\
 0x0000000000000001 (NEEDED)             Shared library: [libgcc_s.so.1]
 0x0000000000000001 (NEEDED)             Shared library: [libc.so.6]
 0x000000000000000e (SONAME)             Library soname: [libaa_logon_testkit.so.0]
 0x000000000000000c (INIT)               0x5000
";
    assert_eq!(elf::parse_soname(library).as_deref(), Some("libaa_logon_testkit.so.0"));
    assert_eq!(elf::parse_needed(library), ["libgcc_s.so.1", "libc.so.6"]);
    let program = " 0x0000000000000001 (NEEDED)             Shared library: [libaa_logon.so.0]\n";
    assert_eq!(elf::parse_soname(program), None);
    assert_eq!(elf::parse_needed(program), ["libaa_logon.so.0"]);
}

/// Every defined dynamic symbol of `library` (`nm -D --defined-only`), without symbol versions.
fn exported_symbols(library: &Path) -> BTreeSet<String> {
    parse_nm(&tool_output("nm", &["-D", "--defined-only"], library))
}

/// The names in `nm -D --defined-only` output (`ADDRESS TYPE NAME[@[@]VERSION]` lines). The
/// absolute symbols a version script defines for its version nodes (e.g. `A AA_LOGON_0`) are no
/// functions and are left out; `@VERSION` suffixes are cut.
fn parse_nm(output: &str) -> BTreeSet<String> {
    output
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (kind, name) = match fields.as_slice() {
                [_, kind, name] | [kind, name] => (*kind, *name),
                _ => return None,
            };
            (kind != "A").then(|| name.split('@').next().unwrap_or(name).to_owned())
        })
        .collect()
}

#[test]
fn nm_output_is_read_with_and_without_symbol_versions() {
    let output = "\
0000000000212860 T aa_client_chains_json@@AA_LOGON_0
0000000000000000 A AA_LOGON_0
00000000002128a0 T aa_version
0000000000312860 T aa_old@AA_LOGON_0
";
    let names: Vec<String> = parse_nm(output).into_iter().collect();
    assert_eq!(names, ["aa_client_chains_json", "aa_old", "aa_version"]);
}

/// The differences between what `library` exports and what `header` declares, as readable lines.
fn export_problems(library: &Path, header: &str, declared: &BTreeSet<String>) -> Vec<String> {
    let exported = exported_symbols(library);
    let mut problems = Vec::new();
    for missing in declared.difference(&exported) {
        problems.push(format!("{}: {missing} is declared in {header} but not exported", library.display()));
    }
    for extra in exported.difference(declared) {
        problems.push(format!("{}: exports {extra}, which {header} does not declare", library.display()));
    }
    problems
}

/// The newest modification time of the files under `dir` (relative to the repository root).
fn newest_under(dir: &str) -> SystemTime {
    fn walk(path: &Path, newest: &mut SystemTime) {
        if path.is_dir() {
            for entry in std::fs::read_dir(path).into_iter().flatten().flatten() {
                walk(&entry.path(), newest);
            }
        } else if let Ok(modified) = std::fs::metadata(path).and_then(|m| m.modified()) {
            *newest = (*newest).max(modified);
        }
    }
    let mut newest = SystemTime::UNIX_EPOCH;
    walk(&header::repo_root().join(dir), &mut newest);
    newest
}

/// The shipped libraries to check: this run's, and a release build when there is an up-to-date
/// one (one older than the sources it is built from says nothing about them; it is skipped with a
/// notice, or fails the test under AA_REQUIRE_ALL=1).
fn shipped_libraries() -> Vec<PathBuf> {
    let mut libraries = vec![native::library()];
    let release = header::repo_root().join("target/release").join(native::LIBRARY);
    let Ok(built) = std::fs::metadata(&release).and_then(|m| m.modified()) else {
        eprintln!("note: {} is not built; only this run's library is checked", release.display());
        return libraries;
    };
    let sources = ["include", "ffi/src", "core/src", "libaa_logon/src", "libaa_logon/build.rs"];
    let newest = sources.iter().map(|dir| newest_under(dir)).max().unwrap_or(SystemTime::UNIX_EPOCH);
    if built < newest {
        let notice = format!(
            "{} is older than its sources (include/, ffi/src, core/src, libaa_logon/): not checked; \
             rebuild it with `cargo build --release -p libaa-logon`",
            release.display()
        );
        assert!(std::env::var("AA_REQUIRE_ALL").map_or(true, |v| v != "1"), "AA_REQUIRE_ALL=1 and {notice}");
        eprintln!("\n*** SKIPPED: {notice} ***\n");
    } else {
        libraries.push(release);
    }
    libraries
}

#[test]
fn shipped_library_exports_exactly_the_header_functions() {
    let declared = header::function_names();
    assert!(declared.len() > 40, "the header scan found only {} functions", declared.len());
    assert!(declared.contains("aa_client_set_hid_io") && declared.contains("aa_logon_sign_with_device"));
    let testkit = header::testkit_function_names();
    for library in shipped_libraries() {
        let mut problems = export_problems(&library, header::HEADER, &declared);
        let exported = exported_symbols(&library);
        for leaked in exported.intersection(&testkit) {
            problems.push(format!("{}: exports the testkit function {leaked}", library.display()));
        }
        assert!(
            problems.is_empty(),
            "{} disagrees with the header:\n{}",
            library.display(),
            problems.join("\n")
        );

        assert_eq!(elf::soname(&library).as_deref(), Some(native::SONAME), "{}: SONAME", library.display());
    }
}

#[test]
fn testkit_library_exports_exactly_its_header_functions() {
    let declared = header::testkit_function_names();
    for expected in ["aa_virtual_key_new", "aa_virtual_devices_hid_io", "aa_testkit_live_objects"] {
        assert!(declared.contains(expected), "the testkit header scan missed {expected}: {declared:?}");
    }
    let shipped = header::function_names();
    let overlap: Vec<_> = declared.intersection(&shipped).collect();
    assert!(overlap.is_empty(), "functions declared by both headers: {overlap:?}");
    let library = native::testkit_library();
    let problems = export_problems(&library, header::TESTKIT_HEADER, &declared);
    assert!(problems.is_empty(), "{} disagrees with its header:\n{}", library.display(), problems.join("\n"));
    assert_eq!(
        elf::soname(&library).as_deref(),
        Some(native::TESTKIT_SONAME),
        "{}: SONAME",
        library.display()
    );
}

/// Whether `line` starts a header item that needs a doc comment right above it.
fn is_item(line: &str) -> bool {
    const STARTS: &[&str] = &[
        // Functions, by return type.
        "aa_status aa_",
        "const char *aa_",
        "size_t aa_",
        "void aa_",
        "bool aa_",
        // Types.
        "enum aa_",
        "typedef struct aa_",
        "typedef void (*aa_",
        "typedef void *(*aa_",
        "typedef int32_t (*aa_",
        "typedef aa_status (*aa_",
    ];
    STARTS.iter().any(|start| line.starts_with(start))
        // Enum variants and struct fields (function-pointer fields are named by their typedef's doc).
        || line.trim_start().starts_with("AA_")
        || is_field(line)
}

/// A member of a struct: an indented `type name;` line.
fn is_field(line: &str) -> bool {
    let trimmed = line.trim_start();
    line.starts_with("  ")
        && !trimmed.starts_with('*')
        && !trimmed.starts_with("/*")
        && line.trim_end().ends_with(';')
        && !line.contains('(')
        && !line.trim_start().starts_with("aa_hid_")
}

/// Items of the header text `text` (named `name` in messages) without a doc comment ending right
/// above them, and how many items there are.
fn undocumented_items(name: &str, text: &str) -> (Vec<String>, usize) {
    let lines: Vec<&str> = text.lines().collect();
    let mut undocumented = Vec::new();
    let mut items = 0;
    for (i, line) in lines.iter().enumerate() {
        // Lines of a multi-line declaration belong to the item they continue.
        let continues = i > 0
            && !lines[i - 1].trim_end().ends_with([';', '{', '}', '/'])
            && !lines[i - 1].trim().is_empty();
        if !is_item(line) || (continues && !line.trim_start().starts_with("AA_")) {
            continue;
        }
        items += 1;
        // The doc block ends right above the item (enums' typedef lines follow their body).
        let previous = lines[..i].iter().rev().find(|l| !l.trim().is_empty()).map_or("", |l| l.trim());
        if !previous.ends_with("*/") {
            undocumented.push(format!("{name}:{}: {}", i + 1, line.trim()));
        }
    }
    (undocumented, items)
}

#[test]
fn every_header_item_has_a_doc_comment() {
    let mut undocumented = Vec::new();
    for (relative, at_least) in [(header::HEADER, 100), (header::TESTKIT_HEADER, 20)] {
        let (missing, items) = undocumented_items(relative, &header::read_repo_file(relative));
        assert!(items >= at_least, "{relative}: the item scan found only {items} items; is it broken?");
        undocumented.extend(missing);
    }
    assert!(undocumented.is_empty(), "header items without a doc comment:\n{}", undocumented.join("\n"));
}

/// The doc scan itself: it finds undocumented items of every shape and passes documented ones.
#[test]
fn the_doc_scan_finds_undocumented_items() {
    let text = "\
/** Documented. */
aa_status aa_documented(const char *a,
                        struct aa_error **error_out);
aa_status aa_plain(void);
typedef int32_t (*aa_fn)(void *userdata,
                         size_t len);
typedef void *(*aa_open_fn)(void *userdata);
typedef aa_status (*aa_sink)(void *list);
typedef struct aa_thing {
  /** Documented. */
  const char *path;
  uint16_t vendor_id;
} aa_thing;
enum aa_kind {
  AA_KIND_ONE = 1,
};
";
    let (undocumented, _) = undocumented_items("test.h", text);
    let names: Vec<&str> =
        undocumented.iter().map(|l| l.split_once(": ").map_or("", |(_, item)| item)).collect();
    assert_eq!(
        names,
        [
            "aa_status aa_plain(void);",
            "typedef int32_t (*aa_fn)(void *userdata,",
            "typedef void *(*aa_open_fn)(void *userdata);",
            "typedef aa_status (*aa_sink)(void *list);",
            "typedef struct aa_thing {",
            "uint16_t vendor_id;",
            "enum aa_kind {",
            "AA_KIND_ONE = 1,",
        ]
    );
}

/// Every function the headers declare is reached by the item scan above, so none can slip by.
#[test]
fn the_doc_scan_sees_every_declared_function() {
    for (relative, names) in [
        (header::HEADER, header::function_names()),
        (header::TESTKIT_HEADER, header::testkit_function_names()),
    ] {
        let text = header::read_repo_file(relative);
        let mut unseen = Vec::new();
        for name in names {
            let seen = text.lines().any(|line| is_item(line) && line.contains(&format!("{name}(")));
            if !seen {
                unseen.push(name);
            }
        }
        assert!(
            unseen.is_empty(),
            "{relative}: functions whose declaration line the doc scan misses: {unseen:?}"
        );
    }
}
