//! The guest's initramfs: busybox, the HID modules, the test binary and an init script that runs it.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::Path;

use super::cpio::Archive;
use super::guest_binary::GuestFile;
use super::guest_files::GuestFiles;

/// Where the test binary sits inside the guest.
pub const GUEST_BINARY: &str = "aa-uhid-guest";

/// Printed by init when a module fails to load, so the harness can say why no scenario ran.
pub const INSMOD_FAILED: &str = "GUEST insmod failed";

/// Printed by init when the loopback interface cannot be brought up (the logon scenarios need it).
pub const LOOPBACK_FAILED: &str = "GUEST loopback interface not brought up";

/// Mounts what hidapi needs (sysfs for enumeration, devtmpfs for /dev/uhid and /dev/hidraw*), brings
/// the loopback interface up (the kernel leaves it down; the logon scenarios' simulator listens on
/// 127.0.0.1, which the kernel gives `lo` as it comes up), loads the modules in order, runs the
/// scenarios, then powers off so qemu (-no-reboot) exits at once.
fn init_script(modules: &[String]) -> String {
    let insmods: String = modules
        .iter()
        .map(|name| {
            format!("/bin/busybox insmod /lib/modules/{name}.ko || echo \"{INSMOD_FAILED}: {name}\"\n")
        })
        .collect();
    format!(
        "#!/bin/busybox sh\n\
         /bin/busybox mount -t proc proc /proc\n\
         /bin/busybox mount -t sysfs sysfs /sys\n\
         /bin/busybox mount -t devtmpfs devtmpfs /dev\n\
         /bin/busybox ip link set lo up || echo \"{LOOPBACK_FAILED}\"\n\
         {insmods}\
         /{GUEST_BINARY}\n\
         echo \"GUEST exit status $?\"\n\
         /bin/busybox poweroff -f\n"
    )
}

/// Packs the initramfs: busybox, the modules, `guest` (the test binary at [`GUEST_BINARY`] and its
/// shared libraries) and init, into `output`.
pub fn write(files: &GuestFiles, guest: &[GuestFile], output: &Path) -> io::Result<()> {
    let mut archive = Archive::new();
    let mut files_wanted = vec!["bin/busybox".to_string(), "dev/console".into()];
    files_wanted.extend(files.modules.iter().map(|(name, _)| format!("lib/modules/{name}.ko")));
    files_wanted.extend(guest.iter().map(|file| file.guest_path.clone()));
    // Mount points, plus every parent of every file.
    let mut directories: BTreeSet<String> = ["proc".to_string(), "sys".into()].into();
    for path in &files_wanted {
        let parents = Path::new(path).ancestors().skip(1).filter(|dir| !dir.as_os_str().is_empty());
        directories.extend(parents.map(|dir| dir.to_string_lossy().into_owned()));
    }
    // BTreeSet order puts every parent before its children, as cpio extraction needs.
    for directory in &directories {
        archive.directory(directory)?;
    }
    // Without a console node in the initramfs the kernel starts init with no stdout.
    archive.char_device("dev/console", 0o600, 5, 1)?;
    archive.file("bin/busybox", 0o755, &fs::read(&files.busybox)?)?;
    let mut names = Vec::new();
    for (name, path) in &files.modules {
        archive.file(&format!("lib/modules/{name}.ko"), 0o644, &fs::read(path)?)?;
        names.push(name.clone());
    }
    for file in guest {
        archive.file(&file.guest_path, if file.executable { 0o755 } else { 0o644 }, &file.bytes)?;
    }
    archive.file("init", 0o755, init_script(&names).as_bytes())?;
    fs::write(output, archive.finish()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_loads_modules_in_order_then_runs_the_guest_and_powers_off() {
        let script = init_script(&["hid".into(), "uhid".into(), "hid-generic".into()]);
        let hid = script.find("insmod /lib/modules/hid.ko").unwrap();
        let uhid = script.find("insmod /lib/modules/uhid.ko").unwrap();
        let generic = script.find("insmod /lib/modules/hid-generic.ko").unwrap();
        let guest = script.find("/aa-uhid-guest\n").unwrap();
        let poweroff = script.find("poweroff -f").unwrap();
        assert!(hid < uhid && uhid < generic && generic < guest && guest < poweroff);
        let loopback = script.find("ip link set lo up").unwrap();
        assert!(loopback < guest, "the logon scenarios need loopback up before they start");
        assert!(script.starts_with("#!/bin/busybox sh\n"));
    }
}
