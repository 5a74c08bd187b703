//! Test-only bridge that presents virtual security keys to the Linux kernel through `/dev/uhid`, so
//! the library's production hidapi transport can be exercised against `/dev/hidraw*` nodes exactly as
//! with a key in a USB port; plus the pieces of the qemu harness that runs it in a guest.

pub mod descriptor;
pub mod endpoint;
pub mod event;
mod virtual_key;

#[cfg(target_os = "linux")]
pub mod bridge;
#[cfg(target_os = "linux")]
pub mod device;
#[cfg(target_os = "linux")]
pub mod hidraw;

#[cfg(target_os = "linux")]
pub use bridge::{Bridge, Plugged, Slot};
pub use endpoint::{Endpoint, EndpointGone, Report};

#[cfg(target_os = "linux")]
pub mod harness;
