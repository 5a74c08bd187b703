//! Boots a qemu guest whose kernel presents virtual keys through uhid, and runs the guest scenarios
//! against them through the library's production hidapi transport (see README.md).
//!
//! Skips, loudly, when qemu is not installed, unless `AA_REQUIRE_ALL=1` (as CI sets it).

#![cfg(target_os = "linux")]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aa_uhid::harness::{guest_binary, guest_files, initramfs, qemu, report};

/// Built by `cargo test` for this package, with the test profile's flags.
const GUEST_BINARY: &str = env!("CARGO_BIN_EXE_aa-uhid-guest");

/// Hard limit for one boot; the scenarios take a few seconds under TCG.
const BOOT_TIMEOUT: Duration = Duration::from_secs(120);

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("the workspace root exists")
}

#[test]
fn guest_scenarios_pass_through_the_real_hidraw_path() {
    if !qemu::available() {
        let required = std::env::var("AA_REQUIRE_ALL").is_ok_and(|value| value == "1");
        assert!(
            !required,
            "{} is not installed but AA_REQUIRE_ALL=1 requires the uhid guest test",
            qemu::QEMU
        );
        eprintln!();
        eprintln!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
        eprintln!("!!! SKIPPED aa-uhid guest test: {} is not installed.", qemu::QEMU);
        eprintln!("!!! The hidapi/hidraw path is NOT tested. Install qemu-system-x86 (CI sets");
        eprintln!("!!! AA_REQUIRE_ALL=1, which turns this skip into a failure).");
        eprintln!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
        return;
    }
    let cache = workspace_root().join("target").join("uhid-cache");

    let fetch_started = Instant::now();
    let files = guest_files::fetch(&cache).unwrap_or_else(|error| panic!("{error}"));
    let fetch_time = fetch_started.elapsed();

    let pack_started = Instant::now();
    let guest = guest_binary::collect(Path::new(GUEST_BINARY), initramfs::GUEST_BINARY, &cache)
        .unwrap_or_else(|error| panic!("{error}"));
    let initrd = cache.join("initramfs.cpio");
    initramfs::write(&files, &guest, &initrd).unwrap_or_else(|error| panic!("{error}"));
    let pack_time = pack_started.elapsed();

    let boot = qemu::boot(&files.kernel, &initrd, BOOT_TIMEOUT).unwrap_or_else(|error| panic!("{error}"));
    let results = report::parse(&boot.console);
    eprintln!(
        "aa-uhid guest: guest files {:.1} s ({}, {}), initramfs {:.1} s ({} KiB), boot to result {:.1} s",
        fetch_time.as_secs_f64(),
        if files.from_cache { "cached" } else { "downloaded" },
        files.packages,
        pack_time.as_secs_f64(),
        std::fs::metadata(&initrd).map(|meta| meta.len() / 1024).unwrap_or(0),
        boot.elapsed.as_secs_f64(),
    );
    for (name, outcome) in &results {
        eprintln!("  {name}: {outcome}");
    }
    for note in boot.console.lines().filter(|line| line.starts_with("GUEST ")) {
        eprintln!("  {note}");
    }

    let mut problems = report::problems(&results);
    if boot.status.is_none() {
        problems.push(format!("the guest was killed after {BOOT_TIMEOUT:?}"));
    }
    if boot.console.contains(initramfs::INSMOD_FAILED) {
        problems.push("a kernel module failed to load".into());
    }
    assert!(
        problems.is_empty(),
        "guest problems:\n  {}\n--- guest console ---\n{}",
        problems.join("\n  "),
        boot.console
    );
}
