//! Several virtual keys on the kernel's HID bus at once, plugged and unplugged on command.

use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::device::{Identity, UhidDevice};
use crate::endpoint::Endpoint;
use crate::hidraw;

/// How long [`Bridge::plug`] waits for the kernel to publish the hidraw node.
pub const NODE_TIMEOUT: Duration = Duration::from_secs(5);

/// Names a plugged key within its bridge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Slot(u32);

/// A plugged key: where the kernel put it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plugged {
    pub slot: Slot,
    /// The serial number (`HID_UNIQ`) the bridge gave the device; unique per process.
    pub serial: String,
    /// `/dev/hidrawN`, ready to open.
    pub node: PathBuf,
}

/// Owns the uhid devices it created; dropping it unplugs them all.
#[derive(Debug, Default)]
pub struct Bridge {
    devices: BTreeMap<Slot, UhidDevice>,
    next_slot: u32,
}

/// Serials must be unique across bridges too: the hidraw lookup goes by serial.
static SERIAL_COUNTER: AtomicU32 = AtomicU32::new(0);

impl Bridge {
    pub fn new() -> Bridge {
        Bridge::default()
    }

    /// Presents `endpoint` as a USB FIDO key named `product` with the given ids, and waits until its
    /// hidraw node exists.
    pub fn plug(
        &mut self,
        endpoint: Arc<dyn Endpoint>,
        product: &str,
        vendor_id: u16,
        product_id: u16,
    ) -> io::Result<Plugged> {
        let serial =
            format!("aa-uhid-{}-{}", std::process::id(), SERIAL_COUNTER.fetch_add(1, Ordering::Relaxed));
        let identity = Identity { name: product.to_string(), vendor_id, product_id, serial: serial.clone() };
        let device = UhidDevice::create(endpoint, &identity)?;
        let node = hidraw::wait_for_node(&serial, NODE_TIMEOUT)?;
        let slot = Slot(self.next_slot);
        self.next_slot += 1;
        self.devices.insert(slot, device);
        log::debug!("plugged {serial} at {}", node.display());
        Ok(Plugged { slot, serial, node })
    }

    /// Unplugs one key and waits until its hidraw node is gone.
    pub fn unplug(&mut self, slot: Slot) -> io::Result<()> {
        let device = self
            .devices
            .remove(&slot)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("no key plugged in {slot:?}")))?;
        let serial = device.serial().to_string();
        device.destroy()?;
        hidraw::wait_for_removal(&serial, NODE_TIMEOUT)
    }

    /// How many keys are plugged.
    pub fn len(&self) -> usize {
        self.devices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.devices.is_empty()
    }

    /// Unplugs every key and waits until their nodes are gone, so the next user sees a clean bus.
    pub fn unplug_all(&mut self) -> io::Result<()> {
        let slots: Vec<Slot> = self.devices.keys().copied().collect();
        let mut first_error = None;
        for slot in slots {
            if let Err(error) = self.unplug(slot) {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        if let Err(error) = self.unplug_all() {
            log::warn!("uhid bridge: {error}");
        }
    }
}
