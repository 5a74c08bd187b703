//! `cargo run -p xtask -- man [OUT_DIR]`: section 3 man pages of the C API, generated from the doc
//! comments of include/aa_logon.h — one page per function family (client options, client, logon,
//! errors, strings, logging, HID transport) plus the overview libaa_logon(3), and one alias page
//! per function (`.so man3/aa_client.3` for aa_client_new.3) so `man aa_client_new` works.
//! Written to OUT_DIR/man3/ (default: target/man/man3/), installed by the libaa-logon-dev package.
//! Every function of the header must belong to a family: one that does not makes this fail (and
//! the test below, so CI), naming it.

use std::fmt::Write as _;
use std::path::PathBuf;

use crate::header::{CType, Function, Header};

/// A function family and its page.
struct Family {
    /// The page name: aa_client_options(3).
    page: &'static str,
    /// What the NAME section says after the function names.
    summary: &'static str,
    /// Whether a function belongs to it (checked in order: the first family that claims wins).
    claims: fn(&str) -> bool,
    /// Enums, structs, callback types and opaque types documented on this page.
    types: &'static [&'static str],
}

const FAMILIES: &[Family] = &[
    Family {
        page: "aa_client_options",
        summary: "configure a client: server, endpoint, TLS trust, timeouts, proxy, appId policy",
        claims: |name| name.starts_with("aa_client_options_"),
        types: &["aa_client_options"],
    },
    Family {
        page: "aa_hid_io",
        summary: "reach security keys through your own HID functions instead of the USB devices",
        claims: |name| name == "aa_client_set_hid_io" || name.starts_with("aa_hid_"),
        types: &[
            "aa_hid_io",
            "aa_hid_device_info",
            "aa_hid_device_list",
            "aa_hid_device_sink",
            "aa_hid_enumerate_fn",
            "aa_hid_open_fn",
            "aa_hid_close_fn",
            "aa_hid_write_fn",
            "aa_hid_read_fn",
            "aa_hid_release_fn",
        ],
    },
    Family {
        page: "aa_client",
        summary: "a client of one AA server: chains, login sessions, logout, devices",
        claims: |name| name.starts_with("aa_client_"),
        types: &["aa_client"],
    },
    Family {
        page: "aa_logon",
        summary: "run a logon: methods, U2F signatures, answers, verdicts and results",
        claims: |name| name.starts_with("aa_logon_"),
        types: &[
            "aa_logon",
            "aa_server_status",
            "aa_sign_request_field",
            "aa_sign_options",
            "aa_prompt",
            "aa_prompt_callback",
            "aa_pin_callback",
        ],
    },
    Family {
        page: "aa_error",
        summary: "status codes and the details of a failure",
        claims: |name| name.starts_with("aa_error_") || name == "aa_status_str",
        types: &["aa_error", "aa_status", "aa_device_code_kind"],
    },
    Family {
        page: "aa_string_free",
        summary: "free a string the library returned",
        claims: |name| name == "aa_string_free",
        types: &[],
    },
    Family {
        page: "aa_set_log_callback",
        summary: "receive the library's log lines (never with secrets or tokens)",
        claims: |name| name == "aa_set_log_callback" || name == "aa_log_level_str",
        types: &["aa_log_level", "aa_log_callback"],
    },
    Family {
        page: "libaa_logon",
        summary: "log users on to NetIQ / OpenText Advanced Authentication with FIDO security keys",
        claims: |name| name == "aa_version" || name == "aa_live_objects",
        types: &[],
    },
];

/// The page (file name in man3/) and its text, for every page and alias.
pub fn pages(header: &Header, version: &str) -> Result<Vec<(String, String)>, String> {
    let mut members: Vec<Vec<&Function>> = vec![Vec::new(); FAMILIES.len()];
    let mut orphans = Vec::new();
    for function in &header.functions {
        match FAMILIES.iter().position(|family| (family.claims)(&function.name)) {
            Some(index) => members[index].push(function),
            None => orphans.push(function.name.as_str()),
        }
    }
    if !orphans.is_empty() {
        return Err(format!(
            "no man page covers {}: add the function to a family of FAMILIES in xtask/src/manpages.rs",
            orphans.join(", ")
        ));
    }
    // Types no family names are documented on the overview page, so none goes undocumented.
    let claimed: Vec<&str> = FAMILIES.iter().flat_map(|f| f.types.iter().copied()).collect();
    let all_types = header.enums.iter().map(|e| &e.name).chain(header.structs.iter().map(|s| &s.name));
    let all_types = all_types.chain(header.callbacks.iter().map(|c| &c.name)).chain(header.opaque.iter());
    let unclaimed: Vec<&str> = all_types.map(String::as_str).filter(|t| !claimed.contains(t)).collect();
    let mut pages = Vec::new();
    for (family, functions) in FAMILIES.iter().zip(&members) {
        if functions.is_empty() && family.page != "libaa_logon" {
            return Err(format!("the man page {}(3) covers no function of the header", family.page));
        }
        let extra_types = if family.page == "libaa_logon" { unclaimed.as_slice() } else { &[] };
        pages.push((format!("{}.3", family.page), page(header, family, functions, extra_types, version)));
        for function in functions.iter().filter(|f| f.name != family.page) {
            pages.push((format!("{}.3", function.name), format!(".so man3/{}.3\n", family.page)));
        }
    }
    Ok(pages)
}

fn page(
    header: &Header,
    family: &Family,
    functions: &[&Function],
    extra_types: &[&str],
    version: &str,
) -> String {
    let mut out = String::new();
    let title = family.page.to_uppercase();
    let _ =
        writeln!(out, ".\\\" Generated by `cargo run -p xtask -- man` from include/aa_logon.h; do not edit.");
    let _ = writeln!(out, ".TH {title} 3 \"\" \"aa_logon {version}\" \"aa_logon C API\"");
    out.push_str(".SH NAME\n");
    let mut names: Vec<&str> = functions.iter().map(|f| f.name.as_str()).collect();
    if names.is_empty() {
        names.push(family.page);
    }
    let _ = writeln!(out, "{} \\- {}", escape(&names.join(", ")), escape(family.summary));

    out.push_str(".SH SYNOPSIS\n.nf\n.B #include <aa_logon.h>\n.PP\n");
    for function in functions {
        synopsis(&mut out, function);
    }
    out.push_str(".fi\n.PP\nLink with\n.IR \"$(pkg-config \\-\\-libs aa_logon)\"\n(\\fB\\-laa_logon\\fR).\n");

    if family.page == "libaa_logon" {
        overview(&mut out, header);
    }
    if !functions.is_empty() {
        out.push_str(".SH DESCRIPTION\n");
        for function in functions {
            let _ = writeln!(out, ".SS {}()", function.name);
            doc(&mut out, &function.doc);
        }
    }
    let types: Vec<&str> = family.types.iter().copied().chain(extra_types.iter().copied()).collect();
    types_section(&mut out, header, &types);
    if functions.iter().any(|f| f.returns == CType::Named("aa_status".into())) {
        out.push_str(
            ".SH RETURN VALUE\nFunctions returning \\fBaa_status\\fR return \\fBAA_STATUS_OK\\fR (0) on success \
             and write their results only then; any other value is a failure, described by the\n\
             \\fBaa_error\\fR written to \\fI*error_out\\fR when \\fIerror_out\\fR is not NULL (see\n\
             .BR aa_error (3)).\n",
        );
    }
    out.push_str(".SH SEE ALSO\n");
    let others: Vec<String> =
        FAMILIES.iter().filter(|f| f.page != family.page).map(|f| format!(".BR {} (3)", f.page)).collect();
    out.push_str(&others.join(",\n"));
    out.push('\n');
    out
}

/// `aa_status aa_x(const char *name, aa_error **error_out);` with the parameter names in italics.
fn synopsis(out: &mut String, function: &Function) {
    let params: Vec<String> =
        function.params.iter().map(|p| format!("{}\" {} \"", spaced(&p.ty), p.name)).collect();
    let joined = if params.is_empty() { "void".to_owned() } else { params.join(", ") };
    let _ = writeln!(out, ".BI \"{}{}({});\"", spaced(&function.returns), function.name, joined);
}

/// A type as written before a name: `aa_status `, `const char *`, `aa_error **`.
fn spaced(ty: &CType) -> String {
    let text = ty.to_string().replace("* *", "**");
    if text.ends_with('*') {
        text
    } else {
        format!("{text} ")
    }
}

fn overview(out: &mut String, header: &Header) {
    out.push_str(
        ".SH OVERVIEW\nlibaa_logon logs users on to NetIQ / OpenText Advanced Authentication (AA) over its \
         REST API, signing U2F challenges with FIDO security keys. A program configures a client with \
         \\fBaa_client_options\\fR(3), makes an \\fBaa_client\\fR(3) and runs logons with \
         \\fBaa_logon\\fR(3). Every fallible function returns an \\fBaa_status\\fR and reports failures \
         through an optional \\fBaa_error\\fR(3); strings returned through \\fBchar **\\fR are freed with \
         \\fBaa_string_free\\fR(3). Log lines reach a callback set with \\fBaa_set_log_callback\\fR(3); \
         security keys can be reached through the program's own HID functions, \\fBaa_hid_io\\fR(3).\n\
         .PP\nEvery handle is thread-safe unless its page says otherwise; stale or foreign handles are \
         detected and never dereferenced.\n",
    );
    // The include guard is no constant of the API.
    let defines: Vec<&(String, String)> =
        header.defines.iter().filter(|(_, value)| !value.is_empty()).collect();
    if !defines.is_empty() {
        out.push_str(".SH CONSTANTS\n");
        for (name, value) in defines {
            let _ = writeln!(out, ".TP\n.B {}\n{}", escape(name), escape(value));
        }
    }
}

fn types_section(out: &mut String, header: &Header, types: &[&str]) {
    let mut text = String::new();
    for name in types {
        if let Some(item) = header.enums.iter().find(|e| e.name == *name) {
            let _ = writeln!(text, ".SS enum {name}");
            doc(&mut text, &item.doc);
            text.push_str(".TS\nl l.\n");
            for (variant, value) in &item.variants {
                let _ = writeln!(text, "\\fB{}\\fR\t{value}", escape(variant));
            }
            text.push_str(".TE\n");
        } else if let Some(item) = header.structs.iter().find(|s| s.name == *name) {
            let _ = writeln!(text, ".SS struct {name}");
            text.push_str(".nf\n");
            let _ = writeln!(text, "typedef struct {name} {{");
            for field in &item.fields {
                let _ = writeln!(text, "    {}{};", escape(&spaced(&field.ty)), field.name);
            }
            let _ = writeln!(text, "}} {name};");
            text.push_str(".fi\n");
            doc(&mut text, &item.doc);
        } else if let Some(item) = header.callbacks.iter().find(|c| c.name == *name) {
            let _ = writeln!(text, ".SS {name}");
            let params: Vec<String> =
                item.params.iter().map(|p| format!("{}{}", spaced(&p.ty), p.name)).collect();
            let _ = writeln!(
                text,
                ".nf\ntypedef {}(*{name})({});\n.fi",
                escape(&spaced(&item.returns)),
                escape(&params.join(", "))
            );
            doc(&mut text, &item.doc);
        } else if header.opaque.iter().any(|o| o == name) {
            let _ = writeln!(text, ".SS {name}\nAn opaque handle (\\fBtypedef struct {name} {name};\\fR).");
        }
    }
    if !text.is_empty() {
        out.push_str(".SH TYPES\n");
        out.push_str(&text);
    }
}

/// A doc comment as roff: `# Heading` lines become bold run-in headings, `- ` lines bullets,
/// `code` bold, everything else running text.
fn doc(out: &mut String, text: &str) {
    out.push_str(".PP\n");
    for line in text.lines() {
        let line = line.trim();
        if let Some(heading) = line.strip_prefix("# ") {
            let _ = writeln!(out, ".PP\n\\fB{}\\fR", escape(heading));
            out.push_str(".br\n");
        } else if let Some(item) = line.strip_prefix("- ") {
            let _ = writeln!(out, ".IP \\(bu 2\n{}", inline(item));
        } else if !line.is_empty() {
            let _ = writeln!(out, "{}", inline(line));
        }
    }
}

/// Backquoted code in bold; roff's special characters escaped.
fn inline(line: &str) -> String {
    let mut out = String::new();
    for (index, part) in line.split('`').enumerate() {
        if index % 2 == 1 {
            let _ = write!(out, "\\fB{}\\fR", escape(part));
        } else {
            out.push_str(&escape(part));
        }
    }
    if out.starts_with('.') || out.starts_with('\'') {
        out.insert_str(0, "\\&");
    }
    out
}

/// Escapes roff's backslash and hyphen-minus; other characters beyond ASCII become groff's
/// `\[uXXXX]` (man pages are read in any locale).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\e"),
            '-' => out.push_str("\\-"),
            c if c.is_ascii() => out.push(c),
            c => {
                let _ = write!(out, "\\[u{:04X}]", u32::from(c));
            }
        }
    }
    out
}

/// The command: writes every page to OUT_DIR/man3/.
pub fn run(args: &[&str]) -> Result<(), String> {
    let out_dir = match args {
        [] => std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| crate::repo().join("target"))
            .join("man"),
        [dir] => PathBuf::from(dir),
        _ => return Err("usage: cargo run -p xtask -- man [OUT_DIR]".to_owned()),
    };
    let header = crate::read_header("include/aa_logon.h")?;
    let man3 = out_dir.join("man3");
    // Written afresh: a page of a function that no longer exists must not linger.
    let _ = std::fs::remove_dir_all(&man3);
    std::fs::create_dir_all(&man3).map_err(|e| format!("{}: {e}", man3.display()))?;
    let pages = pages(&header, env!("CARGO_PKG_VERSION"))?;
    for (name, text) in &pages {
        std::fs::write(man3.join(name), text).map_err(|e| format!("{name}: {e}"))?;
    }
    println!("wrote {} man pages ({} families) to {}", pages.len(), FAMILIES.len(), man3.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn library_header() -> Header {
        crate::read_header("include/aa_logon.h").unwrap()
    }

    #[test]
    fn every_function_of_the_header_has_a_page() {
        let header = library_header();
        let pages = pages(&header, "0.0.0").unwrap();
        let lookup = |file: &str| pages.iter().find(|(name, _)| name == file).map(|(_, text)| text.as_str());
        for function in &header.functions {
            let text = lookup(&format!("{}.3", function.name))
                .unwrap_or_else(|| panic!("no page {}.3", function.name));
            let page = match text.strip_prefix(".so man3/") {
                Some(target) => lookup(target.trim()).expect("the alias names a page"),
                None => text,
            };
            assert!(page.contains(&format!(".SS {}()", function.name)), "{} is not described", function.name);
        }
    }

    #[test]
    fn every_type_of_the_header_is_documented_on_some_page() {
        let header = library_header();
        let pages = pages(&header, "0.0.0").unwrap();
        let names = header.enums.iter().map(|e| &e.name).chain(header.structs.iter().map(|s| &s.name));
        for name in names.chain(header.callbacks.iter().map(|c| &c.name)).chain(header.opaque.iter()) {
            let documented = pages.iter().any(|(_, text)| {
                text.lines().any(|line| {
                    line.starts_with(".SS") && line.split_whitespace().last() == Some(name.as_str())
                })
            });
            assert!(documented, "{name} is on no page");
        }
    }

    #[test]
    fn a_function_of_no_family_fails_naming_it() {
        let mut header = library_header();
        let mut stray = header.functions[0].clone();
        stray.name = "aa_mystery".into();
        header.functions.push(stray);
        let error = pages(&header, "0.0.0").unwrap_err();
        assert!(error.contains("aa_mystery") && error.contains("FAMILIES"), "{error}");
    }

    #[test]
    fn docs_become_roff_without_stray_requests() {
        let mut out = String::new();
        doc(&mut out, "Frees `x` - see aa_y \u{2014} now.\n# Safety\n.starts with a dot\n- a bullet");
        assert_eq!(
            out,
            ".PP\nFrees \\fBx\\fR \\- see aa_y \\[u2014] now.\n.PP\n\\fBSafety\\fR\n.br\n\\&.starts with a dot\n.IP \\(bu 2\na bullet\n"
        );
    }
}
