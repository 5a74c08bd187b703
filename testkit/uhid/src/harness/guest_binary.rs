//! The guest test binary and the shared libraries it needs at run time.
//!
//! The binary is the one `cargo test` already built for this package (`CARGO_BIN_EXE_aa-uhid-guest`),
//! so the harness compiles nothing of its own: a separate static build of the library, the simulator
//! and their TLS and crypto stacks took minutes of CI time. The guest instead gets the binary's ELF
//! interpreter and libraries from the host, at the paths `ldd` reports.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A file to place in the initramfs at `guest_path` (relative to its root).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestFile {
    pub guest_path: String,
    pub bytes: Vec<u8>,
    pub executable: bool,
}

/// The binary (debug info stripped when `objcopy` exists: the guest has only 256 MiB of RAM) and
/// every shared library it loads.
pub fn collect(binary: &Path, guest_name: &str, work_dir: &Path) -> io::Result<Vec<GuestFile>> {
    let mut files = vec![GuestFile {
        guest_path: guest_name.to_string(),
        bytes: stripped(binary, work_dir)?,
        executable: true,
    }];
    for library in shared_libraries(binary)? {
        let guest_path = library.to_string_lossy().trim_start_matches('/').to_string();
        // fs::read follows the symlinks the library paths usually are.
        files.push(GuestFile { guest_path, bytes: fs::read(&library)?, executable: true });
    }
    Ok(files)
}

fn stripped(binary: &Path, work_dir: &Path) -> io::Result<Vec<u8>> {
    let output = work_dir.join("guest-binary.stripped");
    let status = Command::new("objcopy").arg("--strip-debug").arg(binary).arg(&output).status();
    match status {
        Ok(status) if status.success() => fs::read(&output),
        _ => fs::read(binary),
    }
}

/// Absolute paths of the interpreter and libraries `ldd` lists for `binary`.
pub fn shared_libraries(binary: &Path) -> io::Result<Vec<PathBuf>> {
    let output = Command::new("ldd")
        .arg(binary)
        .output()
        .map_err(|error| io::Error::new(error.kind(), format!("cannot run ldd: {error}")))?;
    let text = String::from_utf8_lossy(&output.stdout);
    // A static binary makes ldd fail with "not a dynamic executable": nothing to add then.
    if !output.status.success() {
        return Ok(Vec::new());
    }
    let mut libraries = Vec::new();
    for line in text.lines() {
        match parse_ldd_line(line) {
            LddLine::Library(path) => libraries.push(path),
            LddLine::Missing(name) => {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("{name} needed by the guest binary is missing"),
                ))
            }
            LddLine::Virtual => {}
        }
    }
    Ok(libraries)
}

#[derive(Debug, PartialEq, Eq)]
enum LddLine {
    Library(PathBuf),
    Missing(String),
    /// The vDSO, or anything without a file behind it.
    Virtual,
}

fn parse_ldd_line(line: &str) -> LddLine {
    let line = line.trim();
    let (name, target) = match line.split_once(" => ") {
        Some((name, target)) => (name, target),
        None => (line, line),
    };
    if target.starts_with("not found") {
        return LddLine::Missing(name.to_string());
    }
    let path = target.split_whitespace().next().unwrap_or("");
    if path.starts_with('/') {
        LddLine::Library(PathBuf::from(path))
    } else {
        LddLine::Virtual
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_shapes_of_ldd_lines() {
        assert_eq!(parse_ldd_line("\tlinux-vdso.so.1 (0x00007ffd)"), LddLine::Virtual);
        assert_eq!(
            parse_ldd_line("\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)"),
            LddLine::Library(PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6"))
        );
        assert_eq!(
            parse_ldd_line("\t/lib64/ld-linux-x86-64.so.2 (0x00007f)"),
            LddLine::Library(PathBuf::from("/lib64/ld-linux-x86-64.so.2"))
        );
        assert_eq!(parse_ldd_line("\tlibfoo.so => not found"), LddLine::Missing("libfoo.so".into()));
    }
}
