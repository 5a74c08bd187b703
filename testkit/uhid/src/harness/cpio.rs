//! A writer for the "newc" cpio format the kernel unpacks as an initramfs.
//!
//! Each entry is a 110-byte ASCII header (`070701` and thirteen 8-digit hex fields), the NUL-terminated
//! name padded to 4 bytes, then the data padded to 4 bytes; a `TRAILER!!!` entry ends the archive.

use std::io::{self, Write};

const MAGIC: &str = "070701";
const TRAILER: &str = "TRAILER!!!";

const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFCHR: u32 = 0o020000;

/// Builds an archive in memory; paths are relative to the initramfs root (`init`, `bin/busybox`).
#[derive(Debug, Default)]
pub struct Archive {
    bytes: Vec<u8>,
    next_inode: u32,
}

impl Archive {
    pub fn new() -> Archive {
        Archive { bytes: Vec::new(), next_inode: 1 }
    }

    pub fn directory(&mut self, path: &str) -> io::Result<()> {
        self.entry(path, S_IFDIR | 0o755, 2, (0, 0), &[])
    }

    pub fn file(&mut self, path: &str, permissions: u32, data: &[u8]) -> io::Result<()> {
        self.entry(path, S_IFREG | (permissions & 0o7777), 1, (0, 0), data)
    }

    /// A character device node, e.g. `dev/console` (5, 1), which the kernel needs to give init a console.
    pub fn char_device(&mut self, path: &str, permissions: u32, major: u32, minor: u32) -> io::Result<()> {
        self.entry(path, S_IFCHR | (permissions & 0o7777), 1, (major, minor), &[])
    }

    /// Appends the trailer and returns the archive bytes.
    pub fn finish(mut self) -> io::Result<Vec<u8>> {
        self.next_inode = 0;
        self.entry(TRAILER, 0, 1, (0, 0), &[])?;
        Ok(self.bytes)
    }

    fn entry(&mut self, path: &str, mode: u32, links: u32, rdev: (u32, u32), data: &[u8]) -> io::Result<()> {
        let invalid =
            |why: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("cpio entry {path:?}: {why}"));
        if path.is_empty() || path.starts_with('/') || path.contains('\0') {
            return Err(invalid("path must be relative, non-empty and without NUL"));
        }
        let size = u32::try_from(data.len()).map_err(|_| invalid("larger than 4 GiB"))?;
        let name_size = u32::try_from(path.len() + 1).map_err(|_| invalid("name too long"))?;
        let inode = self.next_inode;
        self.next_inode += 1;
        let fields = [inode, mode, 0, 0, links, 0, size, 0, 0, rdev.0, rdev.1, name_size, 0];
        self.bytes.write_all(MAGIC.as_bytes())?;
        for field in fields {
            write!(self.bytes, "{field:08X}")?;
        }
        self.bytes.write_all(path.as_bytes())?;
        self.bytes.push(0);
        self.pad();
        self.bytes.write_all(data)?;
        self.pad();
        Ok(())
    }

    fn pad(&mut self) {
        let padded = self.bytes.len().next_multiple_of(4);
        self.bytes.resize(padded, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(header: &[u8], index: usize) -> u32 {
        let start = 6 + index * 8;
        u32::from_str_radix(std::str::from_utf8(&header[start..start + 8]).unwrap(), 16).unwrap()
    }

    #[test]
    fn writes_newc_headers_names_and_padding() {
        let mut archive = Archive::new();
        archive.file("init", 0o755, b"#!/bin/sh\n").unwrap();
        archive.char_device("dev/console", 0o600, 5, 1).unwrap();
        let bytes = archive.finish().unwrap();

        assert_eq!(&bytes[..6], b"070701");
        assert_eq!(field(&bytes, 1), S_IFREG | 0o755);
        assert_eq!(field(&bytes, 6), 10, "file size");
        assert_eq!(field(&bytes, 11), 5, "name size with NUL");
        assert_eq!(&bytes[110..115], b"init\0");
        // 110 + 5 = 115 → padded to 116; data 10 bytes → padded to 128.
        assert_eq!(&bytes[116..126], b"#!/bin/sh\n");
        let console = &bytes[128..];
        assert_eq!(&console[..6], b"070701");
        assert_eq!(field(console, 1), S_IFCHR | 0o600);
        assert_eq!((field(console, 9), field(console, 10)), (5, 1));
        assert_eq!(bytes.len() % 4, 0);
        let trailer_at = bytes.len() - 124;
        assert_eq!(&bytes[trailer_at + 110..trailer_at + 120], b"TRAILER!!!");
    }

    #[test]
    fn rejects_absolute_and_empty_paths() {
        let mut archive = Archive::new();
        assert!(archive.file("/init", 0o755, b"").is_err());
        assert!(archive.directory("").is_err());
    }
}
