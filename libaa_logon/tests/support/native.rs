//! Where this test run's C library is. `cargo test` compiles the aa-logon cdylib (with this run's
//! features) into target/<profile>/deps/ but only copies it up to target/<profile>/ for
//! `cargo build`, so the drivers of C, Python and C# tests take it from deps/ and stage it in
//! target/<profile>/aa-native/ together with the SONAME link libaa_logon.so.0.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// target/<profile>, the directory above this test executable's deps/.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent().and_then(Path::parent).expect("target/<profile>/deps/<test>").to_path_buf()
}

/// The directory holding libaa_logon.so (and libaa_logon.so.0) of this test run.
pub fn library_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let built = profile_dir().join("deps").join(LIBRARY);
        assert!(built.is_file(), "{} is missing: cargo builds it with the aa-logon library", built.display());
        let dir = profile_dir().join("aa-native");
        std::fs::create_dir_all(&dir).expect("create aa-native dir");
        // Copy then rename, so a concurrently running test binary never sees a partial file.
        let staging = dir.join(format!("{LIBRARY}.{}", std::process::id()));
        std::fs::copy(&built, &staging).expect("copy the built library");
        std::fs::rename(&staging, dir.join(LIBRARY)).expect("stage the built library");
        let soname = dir.join(format!("{LIBRARY}.0"));
        if std::fs::symlink_metadata(&soname).is_err() {
            // Another test binary may create it at the same moment: an existing link is fine.
            let _ = std::os::unix::fs::symlink(LIBRARY, &soname);
        }
        dir
    })
}

/// The library file of this test run.
#[allow(dead_code)] // the C driver links through library_dir() instead
pub fn library() -> PathBuf {
    library_dir().join(LIBRARY)
}

const LIBRARY: &str = "libaa_logon.so";
