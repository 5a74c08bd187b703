//! Boots a qemu guest whose kernel presents virtual keys through uhid, and runs the guest scenarios
//! against them through the library's production hidapi transport (see README.md).
//!
//! Skips, loudly, when qemu is not installed, unless `AA_REQUIRE_ALL=1` (as CI sets it).

#![cfg(target_os = "linux")]

use std::io::Write;
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
        // Straight to the stderr handle: libtest captures eprintln! output of passing tests.
        let banner = "!".repeat(90);
        let _ = writeln!(
            std::io::stderr(),
            "\n{banner}\n!!! SKIPPED aa-uhid guest test: {} is not installed.\n\
             !!! The real hidapi/hidraw path is NOT tested. Install qemu-system-x86 (CI sets\n\
             !!! AA_REQUIRE_ALL=1, which turns this skip into a failure).\n{banner}",
            qemu::QEMU
        );
        return;
    }
    let cache = workspace_root().join("target").join("uhid-cache");

    let fetch_started = Instant::now();
    let files = guest_files::fetch(&cache).unwrap_or_else(|error| panic!("{error}"));
    let fetch_time = fetch_started.elapsed();

    let pack_started = Instant::now();
    // Per-process work files: two test runs may share the cache.
    let work = cache.join(format!("run-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap_or_else(|error| panic!("{}: {error}", work.display()));
    let guest = guest_binary::collect(Path::new(GUEST_BINARY), initramfs::GUEST_BINARY, &work)
        .unwrap_or_else(|error| panic!("{error}"));
    let initrd = work.join("initramfs.cpio");
    initramfs::write(&files, &guest, &initrd).unwrap_or_else(|error| panic!("{error}"));
    let pack_time = pack_started.elapsed();

    let boot = qemu::boot(&files.kernel, &initrd, BOOT_TIMEOUT).unwrap_or_else(|error| panic!("{error}"));
    let initrd_kib = std::fs::metadata(&initrd).map(|meta| meta.len() / 1024).unwrap_or(0);
    let _ = std::fs::remove_dir_all(&work);
    let results = report::parse(&boot.console);
    let mut summary = format!(
        "aa-uhid guest: guest files {:.1} s ({}, {}), initramfs {:.1} s ({} KiB), boot to result {:.1} s",
        fetch_time.as_secs_f64(),
        if files.from_cache { "cached" } else { "downloaded" },
        files.packages,
        pack_time.as_secs_f64(),
        initrd_kib,
        boot.elapsed.as_secs_f64(),
    );
    for (name, outcome) in &results {
        summary.push_str(&format!("\n  {name}: {outcome}"));
    }
    for note in boot.console.lines().filter(|line| line.starts_with("GUEST ")) {
        summary.push_str(&format!("\n  {note}"));
    }
    // Uncaptured, like the skip banner: CI logs should show the figures of a passing run too.
    let _ = writeln!(std::io::stderr(), "{summary}");

    let mut problems = report::problems(&results);
    if boot.status.is_none() {
        problems.push(format!("the guest was killed after {BOOT_TIMEOUT:?}"));
    }
    if boot.console.contains(initramfs::INSMOD_FAILED) {
        problems.push("a kernel module failed to load".into());
    }
    if boot.console.contains(initramfs::LOOPBACK_FAILED) {
        problems.push("the loopback interface could not be brought up (the logon scenarios need it)".into());
    }
    assert!(
        problems.is_empty(),
        "guest problems:\n  {}\n--- guest console ---\n{}",
        problems.join("\n  "),
        boot.console
    );
}
