//! One virtual key presented to the kernel as a HID device through its own `/dev/uhid` handle.
//!
//! Two threads serve it: one reads kernel events (output reports go to the key), one pumps the key's
//! input reports back as `UHID_INPUT2`. `UHID_DESTROY` makes the kernel unplug the device; it answers
//! with `UHID_STOP`, which ends the event thread.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::descriptor::{FIDO_REPORT_DESCRIPTOR, REPORT_LEN};
use crate::endpoint::{Endpoint, Report};
use crate::event::{self, CreateRequest, KernelEvent, BUS_USB};

/// The uhid character device.
pub const UHID_PATH: &str = "/dev/uhid";

/// How long the pump waits for one input report before it looks at the stop flag again.
const PUMP_POLL: Duration = Duration::from_millis(20);
/// How long [`UhidDevice::destroy`] waits for the kernel's `UHID_STOP` before leaving the thread behind.
const STOP_GRACE: Duration = Duration::from_secs(2);
/// errno `EIO`: the answer to report requests this device does not support.
const EIO: u16 = 5;

/// How the device introduces itself to the kernel (and so to hidapi).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// `HID_NAME`: hidapi's product string for a uhid device.
    pub name: String,
    pub vendor_id: u16,
    pub product_id: u16,
    /// `HID_UNIQ`: hidapi's serial number; also how [`crate::hidraw`] finds the node.
    pub serial: String,
}

/// A live uhid device; dropping it unplugs the device.
pub struct UhidDevice {
    uhid: Arc<File>,
    serial: String,
    stopping: Arc<AtomicBool>,
    pump: Option<JoinHandle<()>>,
    events: Option<JoinHandle<()>>,
    events_done: Option<mpsc::Receiver<()>>,
}

impl UhidDevice {
    /// Opens `/dev/uhid`, creates the FIDO HID device and starts serving `endpoint`.
    pub fn create(endpoint: Arc<dyn Endpoint>, identity: &Identity) -> io::Result<UhidDevice> {
        let uhid = OpenOptions::new().read(true).write(true).open(UHID_PATH).map_err(|error| {
            io::Error::new(error.kind(), format!("cannot open {UHID_PATH}: {error} (is uhid.ko loaded?)"))
        })?;
        let phys = format!("aa-uhid/{}", identity.serial);
        let create = event::encode_create2(&CreateRequest {
            name: &identity.name,
            phys: &phys,
            uniq: &identity.serial,
            bus: BUS_USB,
            vendor: identity.vendor_id.into(),
            product: identity.product_id.into(),
            version: 0x0100,
            country: 0,
            report_descriptor: &FIDO_REPORT_DESCRIPTOR,
        })
        .map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error))?;
        write_event(&uhid, &create)?;
        log::debug!("uhid device {} created", identity.serial);

        let uhid = Arc::new(uhid);
        let stopping = Arc::new(AtomicBool::new(false));
        let (done_tx, done_rx) = mpsc::channel();
        let events = {
            let (uhid, endpoint, stopping, serial) =
                (uhid.clone(), endpoint.clone(), stopping.clone(), identity.serial.clone());
            thread::Builder::new().name(format!("uhid-events-{serial}")).spawn(move || {
                serve_kernel_events(&uhid, endpoint.as_ref(), &stopping, &serial);
                let _ = done_tx.send(());
            })?
        };
        let pump = {
            let (uhid, stopping, serial) = (uhid.clone(), stopping.clone(), identity.serial.clone());
            thread::Builder::new()
                .name(format!("uhid-pump-{serial}"))
                .spawn(move || pump_input_reports(&uhid, endpoint.as_ref(), &stopping, &serial))?
        };
        Ok(UhidDevice {
            uhid,
            serial: identity.serial.clone(),
            stopping,
            pump: Some(pump),
            events: Some(events),
            events_done: Some(done_rx),
        })
    }

    /// The serial number (`HID_UNIQ`) the device was created with.
    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// Unplugs the device (`UHID_DESTROY`) and stops its threads.
    pub fn destroy(mut self) -> io::Result<()> {
        self.shut_down()
    }

    fn shut_down(&mut self) -> io::Result<()> {
        if self.stopping.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let destroyed = write_event(&self.uhid, &event::encode_destroy());
        if let Some(pump) = self.pump.take() {
            let _ = pump.join();
        }
        if let (Some(events), Some(done)) = (self.events.take(), self.events_done.take()) {
            // The kernel sends UHID_STOP only if a driver had bound; without it the event thread stays
            // blocked in read(2), so it is left behind rather than hanging the caller.
            if done.recv_timeout(STOP_GRACE).is_ok() {
                let _ = events.join();
            } else {
                log::warn!(
                    "uhid device {}: no UHID_STOP after destroy; event thread left behind",
                    self.serial
                );
            }
        }
        destroyed
    }
}

impl Drop for UhidDevice {
    fn drop(&mut self) {
        if let Err(error) = self.shut_down() {
            log::warn!("uhid device {}: destroy failed: {error}", self.serial);
        }
    }
}

impl std::fmt::Debug for UhidDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UhidDevice").field("serial", &self.serial).finish()
    }
}

/// The 64-byte report inside a kernel output event. hidraw always puts the report number first (0:
/// the descriptor has no report ids), so hidapi's 65-byte write arrives as 65 bytes; shorter writes
/// are zero-padded, as a USB host controller would send them.
pub fn output_report(data: &[u8]) -> Option<Report> {
    let [0, payload @ ..] = data else { return None };
    if payload.len() > REPORT_LEN {
        return None;
    }
    let mut report = [0u8; REPORT_LEN];
    report[..payload.len()].copy_from_slice(payload);
    Some(report)
}

fn serve_kernel_events(uhid: &File, endpoint: &dyn Endpoint, stopping: &AtomicBool, serial: &str) {
    let mut buffer = vec![0u8; event::EVENT_SIZE];
    loop {
        let len = match (&*uhid).read(&mut buffer) {
            Ok(len) => len,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => {
                log::warn!("uhid device {serial}: read failed: {error}");
                return;
            }
        };
        match event::decode(&buffer[..len]) {
            Ok(KernelEvent::Output { data, .. }) => match output_report(&data) {
                Some(report) => {
                    if endpoint.host_to_device(&report).is_err() {
                        log::debug!("uhid device {serial}: key disconnected");
                    }
                }
                None => log::warn!("uhid device {serial}: dropped an output report of {} bytes", data.len()),
            },
            Ok(KernelEvent::GetReport { id, .. }) => {
                reply_or_log(uhid, &event::encode_get_report_reply(id, EIO), serial);
            }
            Ok(KernelEvent::SetReport { id, .. }) => {
                reply_or_log(uhid, &event::encode_set_report_reply(id, EIO), serial);
            }
            Ok(KernelEvent::Stop) if stopping.load(Ordering::SeqCst) => return,
            Ok(other) => log::trace!("uhid device {serial}: {other:?}"),
            Err(error) => log::warn!("uhid device {serial}: {error}"),
        }
    }
}

fn pump_input_reports(uhid: &File, endpoint: &dyn Endpoint, stopping: &AtomicBool, serial: &str) {
    while !stopping.load(Ordering::SeqCst) {
        match endpoint.device_to_host(PUMP_POLL) {
            Ok(Some(report)) => {
                let sent = event::encode_input2(&report)
                    .map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error))
                    .and_then(|input| write_event(uhid, &input));
                if let Err(error) = sent {
                    log::warn!("uhid device {serial}: input report lost: {error}");
                }
            }
            Ok(None) => {}
            Err(_) => {
                log::debug!("uhid device {serial}: key disconnected; pump ends");
                return;
            }
        }
    }
}

fn reply_or_log(uhid: &File, reply: &[u8], serial: &str) {
    if let Err(error) = write_event(uhid, reply) {
        log::warn!("uhid device {serial}: report reply failed: {error}");
    }
}

/// uhid consumes one whole event per write(2).
fn write_event(uhid: &File, bytes: &[u8]) -> io::Result<()> {
    let written = (&*uhid).write(bytes)?;
    if written != bytes.len() {
        return Err(io::Error::new(
            io::ErrorKind::WriteZero,
            format!("uhid took {written} of {} bytes", bytes.len()),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_the_report_id_hidapi_writes_first() {
        let mut written = vec![0u8];
        written.extend(1..=64u8);
        let report = output_report(&written).unwrap();
        assert_eq!(report[0], 1);
        assert_eq!(report[63], 64);
    }

    #[test]
    fn pads_short_writes_and_rejects_foreign_report_ids_and_overlong_writes() {
        let short = output_report(&[0, 1, 2, 3]).unwrap();
        assert_eq!(&short[..4], &[1, 2, 3, 0]);
        assert_eq!(output_report(&[1; 65]), None, "report id must be 0");
        assert_eq!(output_report(&[0; 66]), None);
        assert_eq!(output_report(&[]), None);
    }
}
