//! Where this test run's C libraries are, staged for the C, Python and C# test drivers:
//! libaa_logon.so in target/<profile>/aa-native/ together with the SONAME link libaa_logon.so.0,
//! and the test-only libaa_logon_testkit.so with its SONAME link libaa_logon_testkit.so.0 in
//! target/<profile>/aa-native-testkit/ (kept apart, so the directory of the shipped library holds
//! only what ships). Programs linked with -laa_logon / -laa_logon_testkit record the SONAMEs.
//!
//! `cargo test` builds neither where a C program can be pointed at it reliably: the testkit's
//! cdylib (crate aa-logon-testkit, a dev-dependency with an rlib) lands in target/<profile>/deps/,
//! but libaa-logon's own cdylib is not built at all for its integration tests — a crate with only
//! cdylib / staticlib types is nothing a test can link to — so deps/libaa_logon.so is whatever an
//! earlier `cargo build` left there. library_dir() therefore first runs
//! `cargo build -p libaa-logon --lib` for this run's profile and target directory (a no-op when
//! it is up to date), then stages the result.

#![allow(dead_code)] // every test crate uses its own part

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// target/<profile>, the directory above this test executable's deps/.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent().and_then(Path::parent).expect("target/<profile>/deps/<test>").to_path_buf()
}

/// Copies `file` from deps/ to target/<profile>/<dir_name>/ (adding the `soname` link when given)
/// and returns that directory.
fn stage(file: &str, dir_name: &str, soname: Option<&str>, built_by: &str) -> PathBuf {
    let built = profile_dir().join("deps").join(file);
    assert!(built.is_file(), "{} is missing: cargo builds it with {built_by}", built.display());
    let dir = profile_dir().join(dir_name);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    // Copy then rename, so a concurrently running test binary never sees a partial file.
    let staging = dir.join(format!("{file}.{}", std::process::id()));
    std::fs::copy(&built, &staging).unwrap_or_else(|e| panic!("copy {}: {e}", built.display()));
    std::fs::rename(&staging, dir.join(file)).unwrap_or_else(|e| panic!("stage {file}: {e}"));
    if let Some(soname) = soname {
        let link = dir.join(soname);
        if std::fs::symlink_metadata(&link).is_err() {
            // Another test binary may create it at the same moment: an existing link is fine.
            let _ = std::os::unix::fs::symlink(file, &link);
        }
    }
    dir
}

/// Builds libaa-logon's cdylib for this test run's profile into its target directory.
fn build_library() {
    let profile_dir = profile_dir();
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => "dev".to_owned(),
        Some(other) => other.to_owned(),
        None => panic!("{}: no profile directory name", profile_dir.display()),
    };
    // target/<profile>, or target/<triple>/<profile> when building for an explicit target.
    let mut target_dir = profile_dir.parent().expect("target/<profile>").to_path_buf();
    if std::env::var_os("CARGO_BUILD_TARGET").is_some() {
        target_dir = target_dir.parent().expect("target/<triple>/<profile>").to_path_buf();
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let output = std::process::Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--lib", "-p", "libaa-logon", "--profile", &profile, "--manifest-path"])
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", &target_dir)
        .output()
        .expect("run cargo build -p libaa-logon");
    assert!(
        output.status.success(),
        "cargo build -p libaa-logon --lib failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The directory holding libaa_logon.so (and libaa_logon.so.0) of this test run.
pub fn library_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        build_library();
        stage(LIBRARY, "aa-native", Some(SONAME), "`cargo build -p libaa-logon --lib`")
    })
}

/// The library file of this test run.
pub fn library() -> PathBuf {
    library_dir().join(LIBRARY)
}

/// The directory holding libaa_logon_testkit.so (and libaa_logon_testkit.so.0) of this test run
/// (not the one of libaa_logon).
pub fn testkit_library_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        stage(
            TESTKIT_LIBRARY,
            "aa-native-testkit",
            Some(TESTKIT_SONAME),
            "the aa-logon-testkit dev-dependency",
        )
    })
}

/// The testkit library file of this test run.
pub fn testkit_library() -> PathBuf {
    testkit_library_dir().join(TESTKIT_LIBRARY)
}

/// The file name of the shipped library.
pub const LIBRARY: &str = "libaa_logon.so";
/// Its SONAME (build.rs of libaa-logon).
pub const SONAME: &str = "libaa_logon.so.0";
/// The file name of the test-only testkit library.
pub const TESTKIT_LIBRARY: &str = "libaa_logon_testkit.so";
/// Its SONAME (build.rs of aa-logon-testkit).
pub const TESTKIT_SONAME: &str = "libaa_logon_testkit.so.0";
