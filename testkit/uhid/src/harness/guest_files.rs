//! The guest's kernel, HID modules and busybox, taken from Debian packages and cached.
//!
//! `apt-get download` fetches the packages without installing anything; `dpkg-deb -x` unpacks them.
//! Only what the guest needs is kept in `<cache>/files`, marked complete by a stamp file, so later
//! runs touch neither apt nor the network.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The Debian cloud kernel's metapackage; it depends on the versioned image package.
pub const KERNEL_METAPACKAGE: &str = "linux-image-cloud-amd64";
pub const BUSYBOX_PACKAGE: &str = "busybox-static";
/// Loaded in this order with insmod (the package ships no modules.dep): hid-generic binds the uhid
/// device to hidraw.
pub const MODULES: [&str; 3] = ["hid", "uhid", "hid-generic"];

const STAMP: &str = "complete";

/// Paths of everything the initramfs and qemu need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestFiles {
    pub kernel: PathBuf,
    /// `(module name, path of the uncompressed .ko)` in load order.
    pub modules: Vec<(String, PathBuf)>,
    pub busybox: PathBuf,
    /// The packages they came from, e.g. `linux-image-6.1.0-56-cloud-amd64 busybox-static`.
    pub packages: String,
    /// False when this call had to download.
    pub from_cache: bool,
}

/// Returns the cached guest files, downloading and unpacking them first when the cache is empty.
pub fn fetch(cache_dir: &Path) -> io::Result<GuestFiles> {
    let files_dir = cache_dir.join("files");
    if let Ok(packages) = fs::read_to_string(files_dir.join(STAMP)) {
        let files = layout(&files_dir, packages.trim(), true);
        if files.kernel.is_file() && files.busybox.is_file() && files.modules.iter().all(|(_, p)| p.is_file())
        {
            return Ok(files);
        }
    }
    download_and_unpack(cache_dir, &files_dir)
}

fn layout(files_dir: &Path, packages: &str, from_cache: bool) -> GuestFiles {
    GuestFiles {
        kernel: files_dir.join("vmlinuz"),
        modules: MODULES
            .iter()
            .map(|name| (name.to_string(), files_dir.join(format!("{name}.ko"))))
            .collect(),
        busybox: files_dir.join("busybox"),
        packages: packages.to_string(),
        from_cache,
    }
}

fn download_and_unpack(cache_dir: &Path, files_dir: &Path) -> io::Result<GuestFiles> {
    let debs_dir = cache_dir.join("debs");
    let unpacked_dir = cache_dir.join("unpacked");
    fs::create_dir_all(&debs_dir)?;
    let _ = fs::remove_dir_all(&unpacked_dir);
    let _ = fs::remove_dir_all(files_dir);
    fs::create_dir_all(&unpacked_dir)?;
    fs::create_dir_all(files_dir)?;

    let kernel_package = with_fresh_lists_on_failure(resolve_kernel_package)?;
    let packages = [kernel_package.as_str(), BUSYBOX_PACKAGE];
    with_fresh_lists_on_failure(|| download(&debs_dir, &packages))?;
    for package in packages {
        let deb = find_deb(&debs_dir, package)?;
        run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&unpacked_dir))?;
    }

    let files = layout(files_dir, &packages.join(" "), false);
    let boot = unpacked_dir.join("boot");
    let vmlinuz = find_first(&boot, &|name| name.starts_with("vmlinuz-"))?
        .ok_or_else(|| missing(&format!("vmlinuz-* in {}", boot.display())))?;
    fs::copy(vmlinuz, &files.kernel)?;
    for (name, destination) in &files.modules {
        install_module(&unpacked_dir, name, destination)?;
    }
    let busybox = find_first(&unpacked_dir, &|name| name == "busybox")?
        .ok_or_else(|| missing(&format!("busybox in {BUSYBOX_PACKAGE}")))?;
    fs::copy(busybox, &files.busybox)?;
    fs::write(files_dir.join(STAMP), &files.packages)?;
    let _ = fs::remove_dir_all(&unpacked_dir);
    Ok(files)
}

/// The versioned image package the metapackage depends on, e.g. `linux-image-6.1.0-56-cloud-amd64`.
fn resolve_kernel_package() -> io::Result<String> {
    let output = run(Command::new("apt-cache").args(["depends", KERNEL_METAPACKAGE]))?;
    depends_on_image(&output)
        .ok_or_else(|| missing(&format!("a linux-image dependency of {KERNEL_METAPACKAGE}")))
}

fn depends_on_image(apt_cache_depends: &str) -> Option<String> {
    apt_cache_depends.lines().find_map(|line| {
        let package = line.trim().strip_prefix("Depends:")?.trim();
        package.starts_with("linux-image-").then(|| package.to_string())
    })
}

fn download(debs_dir: &Path, packages: &[&str]) -> io::Result<()> {
    run(Command::new("apt-get").arg("download").args(packages).current_dir(debs_dir)).map(drop)
}

/// Stale package lists name versions the mirror no longer has: refresh them once (as root, the only
/// user apt-get update works for) and try again.
fn with_fresh_lists_on_failure<T>(mut step: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    match step() {
        Ok(value) => Ok(value),
        Err(first) if running_as_root() => {
            eprintln!("aa-uhid: {first}; running apt-get update and trying again");
            run(Command::new("apt-get").args(["update", "-qq"]))?;
            step()
        }
        Err(first) => Err(first),
    }
}

fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    fs::metadata("/proc/self").map(|meta| meta.uid() == 0).unwrap_or(false)
}

fn find_deb(debs_dir: &Path, package: &str) -> io::Result<PathBuf> {
    let prefix = format!("{package}_");
    let mut candidates: Vec<PathBuf> = fs::read_dir(debs_dir)?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            let name = path.file_name().and_then(|name| name.to_str()).unwrap_or("");
            name.starts_with(&prefix) && name.ends_with(".deb")
        })
        .collect();
    // Several versions may have piled up in the cache; the newest download wins.
    candidates.sort_by_key(|path| fs::metadata(path).and_then(|meta| meta.modified()).ok());
    candidates.pop().ok_or_else(|| missing(&format!("{package}_*.deb in {}", debs_dir.display())))
}

/// Copies `<name>.ko` out of the unpacked tree, decompressing `.ko.xz` / `.ko.zst` when needed.
fn install_module(unpacked_dir: &Path, name: &str, destination: &Path) -> io::Result<()> {
    let plain = format!("{name}.ko");
    let found = find_first(unpacked_dir, &|file| {
        file == plain || file == format!("{plain}.xz") || file == format!("{plain}.zst")
    })?
    .ok_or_else(|| missing(&format!("{plain} in the kernel package")))?;
    let extension = found.extension().and_then(|ext| ext.to_str()).unwrap_or("");
    let decompressor = match extension {
        "ko" => return fs::copy(&found, destination).map(drop),
        "xz" => "xz",
        _ => "zstd",
    };
    let bytes = run_bytes(Command::new(decompressor).arg("-dc").arg(&found))?;
    fs::write(destination, bytes)
}

/// Depth-first search for the first file whose name satisfies `matches`.
fn find_first(dir: &Path, matches: &dyn Fn(&str) -> bool) -> io::Result<Option<PathBuf>> {
    let mut entries: Vec<_> = fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let file_type = entry.file_type()?;
        let path = entry.path();
        if file_type.is_dir() {
            if let Some(found) = find_first(&path, matches)? {
                return Ok(Some(found));
            }
        } else if file_type.is_file() && entry.file_name().to_str().is_some_and(matches) {
            return Ok(Some(path));
        }
    }
    Ok(None)
}

fn run(command: &mut Command) -> io::Result<String> {
    run_bytes(command).map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}

fn run_bytes(command: &mut Command) -> io::Result<Vec<u8>> {
    let output = command
        .output()
        .map_err(|error| io::Error::new(error.kind(), format!("cannot run {command:?}: {error}")))?;
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "{command:?} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(output.stdout)
}

fn missing(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("not found: {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_image_package_from_apt_cache_depends() {
        let output = "linux-image-cloud-amd64\n  Depends: linux-image-6.1.0-56-cloud-amd64\n";
        assert_eq!(depends_on_image(output).as_deref(), Some("linux-image-6.1.0-56-cloud-amd64"));
        assert_eq!(depends_on_image("linux-image-cloud-amd64\n  Depends: <virtual>\n"), None);
        assert_eq!(depends_on_image(""), None);
    }

    #[test]
    fn finds_files_depth_first_and_reports_absence() {
        let root = std::env::temp_dir().join(format!("aa-uhid-find-test-{}", std::process::id()));
        fs::create_dir_all(root.join("lib/modules/6.1/kernel/drivers/hid")).unwrap();
        fs::write(root.join("lib/modules/6.1/kernel/drivers/hid/uhid.ko"), b"m").unwrap();
        let found = find_first(&root, &|name| name == "uhid.ko").unwrap().unwrap();
        assert!(found.ends_with("drivers/hid/uhid.ko"));
        assert_eq!(find_first(&root, &|name| name == "hid.ko").unwrap(), None);
        let destination = root.join("uhid-copy.ko");
        install_module(&root, "uhid", &destination).unwrap();
        assert_eq!(fs::read(&destination).unwrap(), b"m");
        assert!(install_module(&root, "absent", &destination).is_err());
        fs::remove_dir_all(&root).unwrap();
    }
}
