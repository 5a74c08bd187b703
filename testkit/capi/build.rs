//! Linux link option of the test-only shared library: the SONAME libaa_logon_testkit.so.MAJOR
//! (libaa_logon_testkit.so.0), as libaa_logon has libaa_logon.so.MAJOR, so that a program linked
//! with -laa_logon_testkit records the versioned name and the Debian package can ship the library
//! with its SONAME link and an unversioned development link, as libaa_logon's packages do.
//!
//! Only the SONAME: libaa_logon/build.rs links through a gcc `-wrapper` because its *version
//! script* would otherwise lose to rustc's own; rustc sets no SONAME, so `-soname` needs no wrapper
//! and works with any ELF linker driver (gcc, clang). The testkit keeps rustc's export list (its
//! exports are checked against its header by libaa_logon/tests/abi_symbols.rs).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return;
    }
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").expect("cargo sets CARGO_PKG_VERSION_MAJOR");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libaa_logon_testkit.so.{major}");
}
