//! The dynamic section of an ELF file as `readelf -d` shows it: a library's SONAME and the
//! libraries a program or library records as NEEDED (the names the loader looks for).

#![allow(dead_code)] // every test crate uses its own part

use std::path::Path;
use std::process::Command;

/// `readelf -d FILE`; panics with readelf's message when it fails.
fn dynamic_section(file: &Path) -> String {
    let output = Command::new("readelf")
        .arg("-d")
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("run readelf -d {}: {e}", file.display()));
    assert!(
        output.status.success(),
        "readelf -d {} failed: {}",
        file.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The SONAME of the library `file`, if it has one.
pub fn soname(file: &Path) -> Option<String> {
    parse_soname(&dynamic_section(file))
}

/// The NEEDED entries of `file`, in order.
pub fn needed(file: &Path) -> Vec<String> {
    parse_needed(&dynamic_section(file))
}

/// The bracketed values of the `readelf -d` lines carrying `label` (`Library soname: [NAME]`).
fn bracketed<'a>(readelf_dynamic: &'a str, label: &'a str) -> impl Iterator<Item = String> + 'a {
    readelf_dynamic.lines().filter_map(move |line| {
        let (_, rest) = line.split_once(label)?;
        rest.strip_prefix('[')?.split_once(']').map(|(name, _)| name.to_owned())
    })
}

/// The name of the `Library soname: [NAME]` line of `readelf -d` output.
pub fn parse_soname(readelf_dynamic: &str) -> Option<String> {
    bracketed(readelf_dynamic, "Library soname: ").next()
}

/// The names of the `Shared library: [NAME]` (NEEDED) lines of `readelf -d` output.
pub fn parse_needed(readelf_dynamic: &str) -> Vec<String> {
    bracketed(readelf_dynamic, "Shared library: ").collect()
}
