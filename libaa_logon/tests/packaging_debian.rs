//! The Debian packages (scripts/build-debs.sh): built from this tree's release build, checked with
//! dpkg-deb --info / --contents, unpacked with dpkg -x into a scratch root (no change to this
//! machine), then examples/c/logon.c is compiled against the unpacked libaa-logon-dev and
//! aa-logon-testkit with `pkg-config --cflags --libs aa_logon aa_logon_testkit` and logs on
//! against the packaged aa-sim with a virtual key. The program records both SONAMEs
//! (libaa_logon.so.0, libaa_logon_testkit.so.0), and dpkg-shlibdeps turns them into dependencies
//! on the two packages through their shlibs files. Without dpkg-dev, pkg-config or a C compiler
//! the test prints a loud skip (a failure under AA_REQUIRE_ALL=1).

use std::path::Path;
use std::process::Command;

#[path = "support/elf.rs"]
mod elf;
#[path = "support/packaging.rs"]
mod packaging;

use aa_sim::demo;
use packaging::{describe, repo, run, SimProcess, VERSION};

const PACKAGES: [&str; 4] = ["libaa-logon0", "libaa-logon-dev", "aa-logon", "aa-logon-testkit"];

fn text(output: std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn dpkg_deb(args: &[&str], deb: &Path) -> String {
    let mut command = Command::new("dpkg-deb");
    command.args(args).arg(deb);
    text(run(command, &format!("dpkg-deb {}", args.join(" "))))
}

/// The control files dpkg-deb --info lists for a package.
fn has_control_file(info: &str, control_file: &str) -> bool {
    info.lines().any(|line| line.contains(" bytes,") && line.split_whitespace().any(|w| w == control_file))
}

/// The `shlibs:Depends` dpkg-shlibdeps computes for the ELF file `binary` (which must lie in a
/// package build directory, one with a DEBIAN/ folder), finding libraries in `package_dirs`
/// (package build directories: their files and their DEBIAN/shlibs). Fails on any warning.
fn shlibs_depends(binary: &Path, package_dirs: &[&Path], work: &Path) -> String {
    std::fs::create_dir_all(work.join("debian")).expect("create the dpkg-shlibdeps work directory");
    std::fs::write(work.join("debian/control"), "Source: probe\n\nPackage: probe\nArchitecture: any\n")
        .expect("write debian/control");
    let mut command = Command::new("dpkg-shlibdeps");
    command.arg("-O").args(package_dirs.iter().map(|dir| format!("-S{}", dir.display()))).arg(binary);
    command.current_dir(work);
    let output = run(command, "dpkg-shlibdeps");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("warning"), "dpkg-shlibdeps warned: {}", describe(&output));
    let stdout = text(output);
    stdout
        .lines()
        .find_map(|line| line.strip_prefix("shlibs:Depends="))
        .unwrap_or_else(|| panic!("dpkg-shlibdeps printed no shlibs:Depends: {stdout}"))
        .to_owned()
}

fn multiarch() -> String {
    let mut command = Command::new("dpkg-architecture");
    command.arg("-qDEB_HOST_MULTIARCH");
    text(run(command, "dpkg-architecture")).trim().to_owned()
}

#[test]
fn debian_packages_install_and_a_c_program_links_with_pkg_config_and_logs_on() {
    if !packaging::tools_present(
        "the Debian packaging test",
        &[
            ("dpkg-deb", &["--version"], "dpkg-deb (dpkg)"),
            ("dpkg-shlibdeps", &["--version"], "dpkg-shlibdeps (apt-get install dpkg-dev)"),
            ("pkg-config", &["--version"], "pkg-config (apt-get install pkg-config)"),
            ("cc", &["--version"], "cc (apt-get install gcc)"),
            ("nm", &["--version"], "nm (binutils)"),
        ],
    ) {
        return;
    }
    packaging::release_build();
    let dir = packaging::scratch("debian");
    let debs = dir.join("debs");
    let mut build = Command::new("bash");
    build
        .arg(repo().join("scripts/build-debs.sh"))
        .arg("--no-build")
        .arg(&debs)
        .env("CARGO_TARGET_DIR", packaging::target_dir());
    run(build, "scripts/build-debs.sh");

    let arch = {
        let mut command = Command::new("dpkg-architecture");
        command.arg("-qDEB_HOST_ARCH");
        text(run(command, "dpkg-architecture")).trim().to_owned()
    };
    let multiarch = multiarch();
    let deb = |package: &str| debs.join(format!("{package}_{VERSION}_{arch}.deb"));
    for package in PACKAGES {
        let info = dpkg_deb(&["--info"], &deb(package));
        assert!(
            info.contains(&format!(" Package: {package}\n"))
                && info.contains(&format!(" Version: {VERSION}\n")),
            "{info}"
        );
    }

    // The runtime library: the real file, its SONAME link, shlibs + symbols + ldconfig trigger.
    let info = dpkg_deb(&["--info"], &deb("libaa-logon0"));
    for control_file in ["shlibs", "symbols", "triggers", "md5sums"] {
        assert!(
            has_control_file(&info, control_file),
            "libaa-logon0 has no {control_file} control file:\n{info}"
        );
    }
    assert!(info.contains("Depends: libc6 (>= "), "{info}");
    let contents = dpkg_deb(&["--contents"], &deb("libaa-logon0"));
    assert!(contents.contains(&format!("./usr/lib/{multiarch}/libaa_logon.so.{VERSION}")), "{contents}");
    assert!(
        contents.contains(&format!("./usr/lib/{multiarch}/libaa_logon.so.0 -> libaa_logon.so.{VERSION}")),
        "{contents}"
    );
    let dev = dpkg_deb(&["--contents"], &deb("libaa-logon-dev"));
    for path in [
        "./usr/include/aa_logon.h".to_owned(),
        format!("./usr/lib/{multiarch}/libaa_logon.a"),
        format!("./usr/lib/{multiarch}/libaa_logon.so -> libaa_logon.so.0"),
        format!("./usr/lib/{multiarch}/pkgconfig/aa_logon.pc"),
        "./usr/share/man/man3/aa_client_options.3.gz".to_owned(),
        "./usr/share/man/man3/libaa_logon.3.gz".to_owned(),
    ] {
        assert!(dev.contains(&path), "libaa-logon-dev lacks {path}:\n{dev}");
    }
    assert!(dpkg_deb(&["--info"], &deb("libaa-logon-dev"))
        .contains(&format!("Depends: libaa-logon0 (= {VERSION})")));

    // The test kit's library, laid out as libaa_logon's: the real file, its SONAME link and the
    // unversioned link -laa_logon_testkit finds, with shlibs and the ldconfig trigger.
    let testkit = dpkg_deb(&["--contents"], &deb("aa-logon-testkit"));
    for path in [
        format!("./usr/lib/{multiarch}/libaa_logon_testkit.so.{VERSION}"),
        format!("./usr/lib/{multiarch}/libaa_logon_testkit.so.0 -> libaa_logon_testkit.so.{VERSION}"),
        format!("./usr/lib/{multiarch}/libaa_logon_testkit.so -> libaa_logon_testkit.so.0"),
        format!("./usr/lib/{multiarch}/pkgconfig/aa_logon_testkit.pc"),
        "./usr/include/aa_logon_testkit.h".to_owned(),
        "./usr/bin/aa-sim".to_owned(),
    ] {
        assert!(testkit.contains(&path), "aa-logon-testkit lacks {path}:\n{testkit}");
    }
    let info = dpkg_deb(&["--info"], &deb("aa-logon-testkit"));
    for control_file in ["shlibs", "triggers", "md5sums"] {
        assert!(
            has_control_file(&info, control_file),
            "aa-logon-testkit has no {control_file} control file:\n{info}"
        );
    }
    assert!(info.contains(&format!("Depends: libaa-logon-dev (= {VERSION})")), "{info}");

    // Unpacked into a scratch root, as dpkg -i would lay the files out.
    let root = dir.join("root");
    for package in PACKAGES {
        let mut extract = Command::new("dpkg-deb");
        extract.arg("-x").arg(deb(package)).arg(&root);
        run(extract, "dpkg-deb -x");
    }
    let libdir = root.join("usr/lib").join(&multiarch);
    // Each library's SONAME is the name of its link (the name ldconfig maintains).
    for soname in ["libaa_logon.so.0", "libaa_logon_testkit.so.0"] {
        assert_eq!(elf::soname(&libdir.join(soname)).as_deref(), Some(soname), "the packaged {soname}");
    }

    // The packaged library keeps the recorded ABI, and every exported function has a man page.
    let mut check = Command::new("bash");
    check.arg(repo().join("scripts/check-abi.sh")).arg("--symbols-only").arg(libdir.join("libaa_logon.so.0"));
    run(check, "scripts/check-abi.sh on the packaged library");
    let mut nm = Command::new("nm");
    nm.args(["-D", "--defined-only", "--format=just-symbols"]).arg(libdir.join("libaa_logon.so.0"));
    for symbol in text(run(nm, "nm")).lines().map(|l| l.split('@').next().unwrap_or(l)) {
        let page = root.join("usr/share/man/man3").join(format!("{symbol}.3.gz"));
        assert!(page.is_file(), "exported {symbol} has no man page {}", page.display());
    }

    // examples/c/logon.c, built the way docs/INSTALL.md tells users, against the unpacked packages.
    let pkg_config = |args: &[&str]| {
        let mut command = Command::new("pkg-config");
        command
            .args(args)
            .env("PKG_CONFIG_SYSROOT_DIR", &root)
            .env("PKG_CONFIG_LIBDIR", libdir.join("pkgconfig"))
            .env_remove("PKG_CONFIG_PATH");
        text(run(command, "pkg-config"))
    };
    assert_eq!(pkg_config(&["--modversion", "aa_logon"]).trim(), VERSION);
    let flags = pkg_config(&["--cflags", "--libs", "aa_logon", "aa_logon_testkit"]);
    let program = dir.join("logon");
    let mut compile = Command::new("cc");
    compile
        .args(["-std=c11", "-Wall", "-Werror", "-DAA_LOGON_EXAMPLE_VIRTUAL_KEY", "-o"])
        .arg(&program)
        .arg(repo().join("examples/c/logon.c"))
        .args(flags.split_whitespace());
    run(compile, "cc examples/c/logon.c $(pkg-config --cflags --libs aa_logon aa_logon_testkit)");
    let needed = elf::needed(&program);
    for soname in ["libaa_logon.so.0", "libaa_logon_testkit.so.0"] {
        assert!(needed.iter().any(|n| n == soname), "linked through the SONAME {soname}: NEEDED {needed:?}");
    }

    // Packaged, the program would depend on both packages, through their shlibs files: each
    // package's files with its control files, as dpkg-shlibdeps finds them in a package build.
    let package_dirs = dir.join("package-dirs");
    for package in ["libaa-logon0", "aa-logon-testkit"] {
        let package_dir = package_dirs.join(package);
        std::fs::create_dir_all(&package_dir).expect("create a package directory");
        let mut files = Command::new("dpkg-deb");
        files.arg("-x").arg(deb(package)).arg(&package_dir);
        run(files, "dpkg-deb -x");
        let mut control = Command::new("dpkg-deb");
        control.arg("-e").arg(deb(package)).arg(package_dir.join("DEBIAN"));
        run(control, "dpkg-deb -e");
    }
    let probe = package_dirs.join("probe");
    std::fs::create_dir_all(probe.join("DEBIAN")).expect("create the probe package directory");
    std::fs::create_dir_all(probe.join("usr/bin")).expect("create the probe package directory");
    std::fs::copy(&program, probe.join("usr/bin/logon")).expect("copy the program into the probe package");
    let depends = shlibs_depends(
        &probe.join("usr/bin/logon"),
        &[&package_dirs.join("libaa-logon0"), &package_dirs.join("aa-logon-testkit")],
        &dir.join("shlibdeps"),
    );
    for dependency in [format!("libaa-logon0 (>= {VERSION})"), format!("aa-logon-testkit (= {VERSION})")] {
        assert!(
            depends.split(", ").any(|d| d == dependency),
            "dpkg-shlibdeps: the program's Depends {depends:?} lack {dependency}"
        );
    }

    // The scratch root is no system library path: the loader is pointed at it.
    let sim = SimProcess::start(&root.join("usr/bin/aa-sim"), &dir);
    let output = Command::new(&program)
        .arg("--ca-file")
        .arg(&sim.ca_file)
        .args(["--allow-app-id-host", demo::APP_ID_HOST, "--virtual-key", "demo"])
        .args([sim.url.as_str(), demo::ENDPOINT_ID, demo::USER])
        .env("AA_ENDPOINT_SECRET", demo::ENDPOINT_SECRET)
        .env("LD_LIBRARY_PATH", &libdir)
        .output()
        .expect("run the example");
    assert!(
        output.status.success() && text(output.clone()).contains("Logged on as"),
        "{}",
        describe(&output)
    );

    let mut version = Command::new(root.join("usr/bin/aa-logon"));
    version.arg("--version");
    assert!(text(run(version, "aa-logon --version")).contains(VERSION));
}
