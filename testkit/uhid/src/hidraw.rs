//! Finding the `/dev/hidraw*` node the kernel made for a uhid device.
//!
//! The node appears shortly after `UHID_CREATE2` (the kernel adds the device from a work queue), and
//! disappears shortly after `UHID_DESTROY`; tests wait for both instead of guessing a delay.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

const SYS_CLASS_HIDRAW: &str = "/sys/class/hidraw";
const POLL: Duration = Duration::from_millis(5);

/// The `/dev/hidrawN` path of the HID device whose `HID_UNIQ` is `serial`, if it exists now.
pub fn find_node(serial: &str) -> io::Result<Option<PathBuf>> {
    find_node_in(Path::new(SYS_CLASS_HIDRAW), serial)
}

/// Waits until the node for `serial` exists and can be opened, or fails after `timeout`.
pub fn wait_for_node(serial: &str, timeout: Duration) -> io::Result<PathBuf> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(node) = find_node(serial)? {
            // devtmpfs creates the file a moment after sysfs lists the class device.
            if node.exists() {
                return Ok(node);
            }
        }
        if Instant::now() >= deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no hidraw node for uhid device {serial} after {timeout:?}"),
            ));
        }
        thread::sleep(POLL);
    }
}

/// Waits until the node for `serial` is gone, or fails after `timeout`.
pub fn wait_for_removal(serial: &str, timeout: Duration) -> io::Result<()> {
    let deadline = Instant::now() + timeout;
    while find_node(serial)?.is_some() {
        if Instant::now() >= deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("hidraw node of uhid device {serial} still present after {timeout:?}"),
            ));
        }
        thread::sleep(POLL);
    }
    Ok(())
}

fn find_node_in(class_dir: &Path, serial: &str) -> io::Result<Option<PathBuf>> {
    let entries = match fs::read_dir(class_dir) {
        Ok(entries) => entries,
        // No hidraw device was ever registered: the class directory does not exist yet.
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error),
    };
    for entry in entries {
        let entry = entry?;
        // A device can vanish between read_dir and read: that just means it is not ours.
        let Ok(uevent) = fs::read_to_string(entry.path().join("device/uevent")) else { continue };
        if uevent_serial(&uevent) == Some(serial) {
            return Ok(Some(Path::new("/dev").join(entry.file_name())));
        }
    }
    Ok(None)
}

/// The `HID_UNIQ` value of a HID device's uevent text.
fn uevent_serial(uevent: &str) -> Option<&str> {
    uevent.lines().find_map(|line| line.strip_prefix("HID_UNIQ="))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_hid_uniq_from_uevent_text() {
        let uevent = "DRIVER=hid-generic\nHID_ID=0003:00001209:0000AA01\nHID_NAME=Key\nHID_UNIQ=k-1\n";
        assert_eq!(uevent_serial(uevent), Some("k-1"));
        assert_eq!(uevent_serial("HID_NAME=x\n"), None);
    }

    #[test]
    fn finds_the_node_by_serial_in_a_sysfs_like_tree() {
        let root = std::env::temp_dir().join(format!("aa-uhid-hidraw-test-{}", std::process::id()));
        for (node, serial) in [("hidraw0", "other"), ("hidraw3", "mine")] {
            let device = root.join(node).join("device");
            fs::create_dir_all(&device).unwrap();
            fs::write(device.join("uevent"), format!("HID_NAME=x\nHID_UNIQ={serial}\n")).unwrap();
        }
        assert_eq!(find_node_in(&root, "mine").unwrap(), Some(PathBuf::from("/dev/hidraw3")));
        assert_eq!(find_node_in(&root, "absent").unwrap(), None);
        assert_eq!(find_node_in(&root.join("missing"), "mine").unwrap(), None);
        fs::remove_dir_all(&root).unwrap();
    }
}
