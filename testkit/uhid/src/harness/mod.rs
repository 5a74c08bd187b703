//! Host side of the qemu harness: build the guest binary, fetch and pack the guest, boot it, read
//! the results.

pub mod cpio;
pub mod guest_binary;
pub mod guest_files;
pub mod initramfs;
pub mod qemu;
pub mod report;
