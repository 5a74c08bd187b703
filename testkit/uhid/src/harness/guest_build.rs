//! Builds the guest test binary statically (glibc with crt-static: no shared libraries in the guest).

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::initramfs::GUEST_BINARY;

/// The musl target is not installable here; glibc links statically with `+crt-static` when the target
/// is named explicitly.
pub const TARGET: &str = "x86_64-unknown-linux-gnu";

/// Runs `cargo build` for the guest binary in its own target dir and returns the binary's path.
pub fn build(cargo: &Path, workspace: &Path, target_dir: &Path) -> io::Result<PathBuf> {
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace)
        .args(["build", "-p", "aa-uhid", "--bin", GUEST_BINARY, "--target", TARGET])
        // Small and fast in the guest, cheap to build: no debug info, symbols stripped, crypto optimised.
        .args(["--config", "profile.dev.debug=false", "--config", "profile.dev.strip=true"])
        .args(["--config", "profile.dev.package.\"*\".opt-level=1"])
        .env("CARGO_TARGET_DIR", target_dir)
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS");
    let output = command
        .output()
        .map_err(|error| io::Error::new(error.kind(), format!("cannot run {}: {error}", cargo.display())))?;
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "guest build failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(target_dir.join(TARGET).join("debug").join(GUEST_BINARY))
}
