//! Linux link options of the shared library:
//!
//! - the SONAME carries the major version (libaa_logon.so.0), so an ABI break can be installed
//!   beside the old library;
//! - the linker version script abi/libaa_logon.map gives every exported function the symbol
//!   version AA_LOGON_0 and hides everything but the aa_* C API (the committed list of what is
//!   exported, libaa_logon.symbols, is checked by scripts/check-abi.sh and tests/packaging_abi.rs).
//!
//! rustc passes the linker a version script of its own (an anonymous one listing the exports), and
//! linkers honour the first assignment of a symbol, so a second script alone changes nothing. With
//! a gcc-compatible driver, the link runs under a small `-wrapper` (written to OUT_DIR) that drops
//! rustc's anonymous list from the linker's arguments and leaves ours. With another driver (clang
//! has no -wrapper) the library is built without symbol versions and a warning says so; the ABI
//! check then fails, since the symbols file expects them.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs the real linker step (collect2/ld) without rustc's own `--version-script=…/rustcXXXX/list`.
const LINK_WRAPPER: &str = r#"#!/bin/sh
# Written by libaa_logon/build.rs; gcc runs each of its subprograms as: wrapper PROGRAM ARGS...
program=$1
shift
drop_next=no
for arg do
    shift
    if [ "$drop_next" = yes ]; then
        drop_next=no
        case $arg in */rustc*/list) continue ;; esac
        set -- "$@" --version-script "$arg"
        continue
    fi
    case $arg in
        --version-script=*/rustc*/list) ;;
        --version-script) drop_next=yes ;;
        *) set -- "$@" "$arg" ;;
    esac
done
exec "$program" "$@"
"#;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=abi/libaa_logon.map");
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
    if target_os != "linux" {
        return;
    }
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libaa_logon.so.{major}");

    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let map = manifest_dir.join("abi").join("libaa_logon.map");
    let linker = std::env::var("RUSTC_LINKER").unwrap_or_else(|_| "cc".to_owned());
    if !is_gcc_driver(&linker) {
        println!(
            "cargo:warning=libaa_logon.so is linked without symbol versions: the linker {linker} is not gcc \
             (the version script {} needs gcc's -wrapper)",
            map.display()
        );
        return;
    }
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
    // Linked from OUT_DIR, next to the wrapper: the link step then never depends on where the
    // source tree that ran this build script is (several checkouts may share a target directory).
    let linked_map = out_dir.join("libaa_logon.map");
    std::fs::copy(&map, &linked_map).unwrap_or_else(|e| panic!("copy {} to OUT_DIR: {e}", map.display()));
    let Some(wrapper) = write_wrapper(&out_dir) else {
        println!("cargo:warning=libaa_logon.so is linked without symbol versions: the link wrapper needs a Unix build host");
        return;
    };
    println!("cargo:rustc-cdylib-link-arg=-wrapper");
    println!("cargo:rustc-cdylib-link-arg={}", wrapper.display());
    println!("cargo:rustc-cdylib-link-arg=-Wl,--version-script={}", linked_map.display());
}

/// gcc (and only gcc) prints its spec strings; clang refuses -dumpspecs.
fn is_gcc_driver(linker: &str) -> bool {
    Command::new(linker)
        .arg("-dumpspecs")
        .output()
        .is_ok_and(|out| out.status.success() && String::from_utf8_lossy(&out.stdout).contains("*link:"))
}

#[cfg(unix)]
fn write_wrapper(out_dir: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = out_dir.join("aa-logon-link-wrapper.sh");
    std::fs::write(&path, LINK_WRAPPER).expect("write the link wrapper to OUT_DIR");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        .expect("make the link wrapper executable");
    Some(path)
}

#[cfg(not(unix))]
fn write_wrapper(_out_dir: &Path) -> Option<PathBuf> {
    None
}
