//! The NuGet packages (scripts/build-nuget.sh): AaLogon (assembly + libaa_logon for linux-x64) and
//! AaLogon.Testing (libaa_logon_testkit) are packed into a local folder feed; a consumer restores
//! AaLogon.Testing (and through it AaLogon) with `nuget install -Source FEED`, compiles
//! bindings/csharp/packaging/consumer/Consumer.cs against the restored assembly with mcs, lays the
//! application out as a build does (the packages' lib/net45/ files beside the program, their
//! runtimes/ folder under it) and runs it with mono against the aa-sim simulator — twice, sharing
//! the virtual key's counter through a state file. No library path, dllmap or environment
//! variable is set by the test: the assembly finds the native libraries through the
//! AaLogon.dll.config the package ships. Without mcs, mono or nuget the test prints a loud skip (a
//! failure under AA_REQUIRE_ALL=1).

use std::path::Path;
use std::process::Command;

#[path = "support/elf.rs"]
mod elf;
#[path = "support/packaging.rs"]
mod packaging;

use packaging::{describe, repo, run, VERSION};

/// Copies `from` into `to` recursively (the application layout a build produces).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("create {}: {e}", to.display()));
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.expect("directory entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target)
                .unwrap_or_else(|e| panic!("copy {}: {e}", entry.path().display()));
        }
    }
}

#[test]
fn nuget_packages_restore_from_a_folder_feed_and_a_mono_program_logs_on() {
    if !packaging::tools_present(
        "the NuGet package test",
        &[
            ("mcs", &["--version"], "mcs (apt-get install mono-mcs)"),
            ("mono", &["--version"], "mono (apt-get install mono-runtime)"),
            // `nuget help` spins forever with its output redirected (NuGet 2.8 on Mono): look it up instead.
            ("sh", &["-c", "command -v nuget"], "nuget (apt-get install nuget)"),
        ],
    ) {
        return;
    }
    let release = packaging::release_build();
    let dir = packaging::scratch("nuget");
    let feed = dir.join("feed");
    let mut pack = Command::new("bash");
    pack.arg(repo().join("scripts/build-nuget.sh"))
        .arg("--no-build")
        .arg(&feed)
        .env("CARGO_TARGET_DIR", packaging::target_dir());
    run(pack, "scripts/build-nuget.sh");
    for package in ["AaLogon", "AaLogon.Testing"] {
        assert!(feed.join(format!("{package}.{VERSION}.nupkg")).is_file(), "{package} was not packed");
    }

    // Restore, as a consumer's build would, from the folder feed only.
    let packages = dir.join("packages");
    let home = dir.join("home");
    std::fs::create_dir_all(&home).expect("create the consumer's HOME");
    let mut install = Command::new("nuget");
    install
        .args(["install", "AaLogon.Testing", "-Version", VERSION, "-NonInteractive", "-Source"])
        .arg(&feed)
        .arg("-OutputDirectory")
        .arg(&packages)
        .env("HOME", &home);
    run(install, "nuget install AaLogon.Testing");
    let aalogon = packages.join(format!("AaLogon.{VERSION}"));
    let testing = packages.join(format!("AaLogon.Testing.{VERSION}"));
    for file in [
        aalogon.join("lib/net45/AaLogon.dll"),
        aalogon.join("lib/net45/AaLogon.dll.config"),
        aalogon.join("runtimes/linux-x64/native/libaa_logon.so"),
        testing.join("runtimes/linux-x64/native/libaa_logon_testkit.so"),
    ] {
        assert!(file.is_file(), "the restored packages lack {}", file.display());
    }
    // Loaded by path through the dllmap, the native libraries still carry their SONAMEs.
    for (package, file, soname) in [
        (&aalogon, "libaa_logon.so", "libaa_logon.so.0"),
        (&testing, "libaa_logon_testkit.so", "libaa_logon_testkit.so.0"),
    ] {
        let library = package.join("runtimes/linux-x64/native").join(file);
        assert_eq!(elf::soname(&library).as_deref(), Some(soname), "{}", library.display());
    }

    let app = dir.join("app");
    std::fs::create_dir_all(&app).expect("create app/");
    let mut compile = Command::new("mcs");
    compile
        .args(["-nologo", "-warnaserror+", "-target:exe"])
        .arg(format!("-r:{}", aalogon.join("lib/net45/AaLogon.dll").display()))
        .arg(format!("-out:{}", app.join("Consumer.exe").display()))
        .arg(repo().join("bindings/csharp/packaging/consumer/Consumer.cs"));
    run(compile, "mcs Consumer.cs");
    copy_tree(&aalogon.join("lib/net45"), &app);
    for package in [&aalogon, &testing] {
        copy_tree(&package.join("runtimes"), &app.join("runtimes"));
    }

    let sim = packaging::SimProcess::start(&release.join("aa-sim"), &dir);
    let state = dir.join("demo.state");
    for counter in [1, 2] {
        let output = Command::new("mono")
            .arg(app.join("Consumer.exe"))
            .args([sim.url.as_str(), &sim.ca_file.display().to_string(), &state.display().to_string()])
            .env_remove("LD_LIBRARY_PATH")
            .env_remove("MONO_PATH")
            .env("HOME", &home)
            .current_dir(&dir)
            .output()
            .expect("run mono Consumer.exe");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.trim() == format!("OK {counter}"),
            "run {counter}: {}",
            describe(&output)
        );
    }
}
