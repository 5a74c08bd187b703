//! Caller-supplied HID transports (`aa_hid_io`), in the spirit of libfido2's
//! `fido_dev_set_io_functions`: a C caller gives a client its own set of devices — a remote-HID
//! bridge, a recorded-wire replay, the testkit's virtual keys — and the whole FIDO stack (CTAPHID,
//! U2F, the sign flow) runs over it unchanged.

use std::ffi::{c_char, c_void};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aa_logon::fido::{DeviceInfo, DeviceProvider, HidTransport, Report, REPORT_LEN};
use aa_logon::{Error, ErrorKind, Result};

use super::args::{optional_str_arg, str_arg};
use super::boundary::guard_status;
use super::handles::{from_ptr, to_ptr, HandleKind, Registry};
use super::result::{FfiError, FfiResult};
use super::status::aa_status;

/// The size of every report passed to aa_hid_io's write and read functions: one CTAPHID packet,
/// without the HID report-id byte.
pub const AA_HID_REPORT_LEN: usize = REPORT_LEN;

/// A device reported by an aa_hid_io enumerate function. The strings are NUL-terminated UTF-8
/// and need to stay valid only during the aa_hid_device_sink call that receives them.
#[repr(C)]
pub struct aa_hid_device_info {
    /// Required: the name the open function accepts; unique among the devices of this io.
    pub path: *const c_char,
    /// USB vendor id (informational).
    pub vendor_id: u16,
    /// USB product id (informational).
    pub product_id: u16,
    /// May be NULL.
    pub manufacturer: *const c_char,
    /// May be NULL.
    pub product: *const c_char,
    /// May be NULL.
    pub serial_number: *const c_char,
}

/// Opaque: the list an enumerate function adds devices to, valid only during that call.
pub struct aa_hid_device_list {
    _private: [u8; 0],
}

/// Given to the enumerate function: call it once per present FIDO device with `list` as received.
/// Returns AA_STATUS_OK, or a failure (NULL or non-UTF-8 path, duplicate path, a `list` that is
/// not the one of the running enumeration), in which case the device is not added.
pub type aa_hid_device_sink = Option<
    unsafe extern "C" fn(list: *mut aa_hid_device_list, device: *const aa_hid_device_info) -> aa_status,
>;

/// Lists the FIDO devices present now by calling `sink(list, &info)` once per device. Returns 0
/// on success; any other value fails the enumeration (AA_STATUS_DEVICE_ERROR).
pub type aa_hid_enumerate_fn = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        sink: aa_hid_device_sink,
        list: *mut aa_hid_device_list,
    ) -> i32,
>;

/// Opens the device named `path` (as enumerated) for exclusive use; returns a non-NULL device
/// pointer of the caller's choosing, or NULL on failure.
pub type aa_hid_open_fn =
    Option<unsafe extern "C" fn(userdata: *mut c_void, path: *const c_char) -> *mut c_void>;

/// Closes a device returned by open; called exactly once per successful open.
pub type aa_hid_close_fn = Option<unsafe extern "C" fn(userdata: *mut c_void, device: *mut c_void)>;

/// Sends one report of `len` (= AA_HID_REPORT_LEN) bytes. Returns 0 on success, anything else
/// on failure (the device is then treated as gone).
pub type aa_hid_write_fn = Option<
    unsafe extern "C" fn(userdata: *mut c_void, device: *mut c_void, report: *const u8, len: usize) -> i32,
>;

/// Waits up to `timeout_ms` for one report and copies it to `report` (room for `len` =
/// AA_HID_REPORT_LEN bytes). Returns the number of bytes copied (1..len; shorter reports are
/// zero-padded), 0 when the time passed without a report, or a negative value on failure.
pub type aa_hid_read_fn = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        device: *mut c_void,
        report: *mut u8,
        len: usize,
        timeout_ms: i32,
    ) -> i32,
>;

/// Called once when no client or logon uses the io any more (may be NULL): frees `userdata`.
pub type aa_hid_release_fn = Option<unsafe extern "C" fn(userdata: *mut c_void)>;

/// A set of HID functions through which a client reaches its security keys instead of the
/// operating system's USB HID devices (see aa_client_set_hid_io). All functions but release are
/// required. They are called from the threads that call into the library with the client (a sign
/// or a device listing), possibly from several threads at once for different devices, so they
/// must be thread-safe; one open device is used by one thread at a time. They must not unwind
/// (throw) into the library, and must not call aa_client_set_hid_io themselves.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct aa_hid_io {
    /// Passed as the first argument of every function.
    pub userdata: *mut c_void,
    pub enumerate: aa_hid_enumerate_fn,
    pub open: aa_hid_open_fn,
    pub close: aa_hid_close_fn,
    pub write: aa_hid_write_fn,
    pub read: aa_hid_read_fn,
    pub release: aa_hid_release_fn,
}

/// The functions of an `aa_hid_io`, checked to be present.
struct Functions {
    userdata: *mut c_void,
    enumerate: unsafe extern "C" fn(*mut c_void, aa_hid_device_sink, *mut aa_hid_device_list) -> i32,
    open: unsafe extern "C" fn(*mut c_void, *const c_char) -> *mut c_void,
    close: unsafe extern "C" fn(*mut c_void, *mut c_void),
    write: unsafe extern "C" fn(*mut c_void, *mut c_void, *const u8, usize) -> i32,
    read: unsafe extern "C" fn(*mut c_void, *mut c_void, *mut u8, usize, i32) -> i32,
    release: aa_hid_release_fn,
}

/// A caller's io; shared by the client and every device opened through it.
struct CallerIo {
    functions: Functions,
}

// SAFETY: aa_hid_io's contract makes its functions and userdata usable from any thread.
unsafe impl Send for CallerIo {}
// SAFETY: as above, including concurrent calls for different devices.
unsafe impl Sync for CallerIo {}

/// A caller's io as the FIDO stack's device provider.
pub(crate) struct CallerDevices(Arc<CallerIo>);

impl CallerDevices {
    /// Takes over `io` (its release function runs when the last user is gone).
    pub(crate) fn new(io: &aa_hid_io) -> FfiResult<CallerDevices> {
        let missing = |name: &str| FfiError::new(aa_status::NullArgument, format!("io->{name} is NULL"));
        let functions = Functions {
            userdata: io.userdata,
            enumerate: io.enumerate.ok_or_else(|| missing("enumerate"))?,
            open: io.open.ok_or_else(|| missing("open"))?,
            close: io.close.ok_or_else(|| missing("close"))?,
            write: io.write.ok_or_else(|| missing("write"))?,
            read: io.read.ok_or_else(|| missing("read"))?,
            release: io.release,
        };
        Ok(CallerDevices(Arc::new(CallerIo { functions })))
    }
}

impl Drop for CallerIo {
    fn drop(&mut self) {
        if let Some(release) = self.functions.release {
            // SAFETY: the caller gave release and userdata together; this is its one call, made
            // after every device was closed (open transports hold an Arc of this object).
            unsafe { release(self.functions.userdata) }
        }
    }
}

/// Devices collected during one enumeration; reachable from C only through its sink handle.
type Collected = Mutex<Vec<DeviceInfo>>;

static DEVICE_LISTS: Registry<Collected> = Registry::new(HandleKind::DeviceSink);

fn device_error(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::DeviceProtocol, message.into())
}

/// Adds a device to the running enumeration `list` (the aa_hid_device_sink given to enumerate).
unsafe extern "C" fn add_device(
    list: *mut aa_hid_device_list,
    device: *const aa_hid_device_info,
) -> aa_status {
    guard_status(|| {
        let collected = DEVICE_LISTS.get(from_ptr(list), "list")?;
        if device.is_null() {
            return Err(FfiError::new(aa_status::NullArgument, "device is NULL"));
        }
        // SAFETY: the enumerate function passes a valid aa_hid_device_info whose strings are
        // NUL-terminated and valid during this call (aa_hid_device_info's contract).
        let info = unsafe {
            let device = &*device;
            DeviceInfo {
                path: str_arg(device.path, "device->path")?.to_owned(),
                vendor_id: device.vendor_id,
                product_id: device.product_id,
                manufacturer: optional_str_arg(device.manufacturer, "device->manufacturer")?
                    .map(str::to_owned),
                product: optional_str_arg(device.product, "device->product")?.map(str::to_owned),
                serial_number: optional_str_arg(device.serial_number, "device->serial_number")?
                    .map(str::to_owned),
            }
        };
        if info.path.is_empty() {
            return Err(FfiError::new(aa_status::InvalidArgument, "device->path is empty"));
        }
        let mut devices = collected.lock().unwrap_or_else(PoisonError::into_inner);
        if devices.iter().any(|d| d.path == info.path) {
            return Err(FfiError::new(aa_status::InvalidArgument, format!("{}: listed twice", info.path)));
        }
        devices.push(info);
        Ok(())
    })
}

impl DeviceProvider for CallerDevices {
    fn list(&self) -> Result<Vec<DeviceInfo>> {
        let functions = &self.0.functions;
        let handle = DEVICE_LISTS.insert(Mutex::new(Vec::new()));
        // SAFETY: enumerate and userdata come from one aa_hid_io; the sink and its list handle
        // are ours and stay valid for the whole call.
        let result = unsafe { (functions.enumerate)(functions.userdata, Some(add_device), to_ptr(handle)) };
        // Removing the handle makes any later use of the list from C a reported error.
        let collected = DEVICE_LISTS.remove(handle, "list").map_err(|e| device_error(e.0.message))?;
        if result != 0 {
            return Err(device_error(format!("the caller's HID enumerate function failed ({result})")));
        }
        let devices = collected.lock().unwrap_or_else(PoisonError::into_inner).clone();
        Ok(devices)
    }

    fn open(&self, path: &str) -> Result<Box<dyn HidTransport>> {
        let c_path = std::ffi::CString::new(path)
            .map_err(|_| device_error(format!("{path:?}: a device path with a NUL byte")))?;
        let functions = &self.0.functions;
        // SAFETY: open and userdata come from one aa_hid_io; the path is NUL-terminated and lives
        // for the call.
        let device = unsafe { (functions.open)(functions.userdata, c_path.as_ptr()) };
        if device.is_null() {
            return Err(device_error(format!("{path}: the caller's HID open function failed")));
        }
        Ok(Box::new(CallerDevice { io: self.0.clone(), device, path: path.to_owned() }))
    }
}

/// One device opened through a caller's io.
struct CallerDevice {
    io: Arc<CallerIo>,
    device: *mut c_void,
    path: String,
}

// SAFETY: aa_hid_io's contract lets an open device be used from any one thread at a time; the
// FIDO stack never shares a transport between threads.
unsafe impl Send for CallerDevice {}

impl HidTransport for CallerDevice {
    fn write_report(&mut self, report: &Report) -> Result<()> {
        let functions = &self.io.functions;
        // SAFETY: write, userdata and device belong together (device came from this io's open
        // and is not closed yet); the report buffer is valid for len bytes during the call.
        let result =
            unsafe { (functions.write)(functions.userdata, self.device, report.as_ptr(), report.len()) };
        if result != 0 {
            return Err(device_error(format!(
                "{}: the caller's HID write function failed ({result})",
                self.path
            )));
        }
        Ok(())
    }

    fn read_report(&mut self, timeout: Duration) -> Result<Option<Report>> {
        let functions = &self.io.functions;
        let mut report = [0u8; REPORT_LEN];
        let timeout_ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: as in write_report; the buffer is writable for len bytes during the call.
        let read = unsafe {
            (functions.read)(functions.userdata, self.device, report.as_mut_ptr(), report.len(), timeout_ms)
        };
        match usize::try_from(read) {
            Ok(0) => Ok(None),
            Ok(n) if n <= REPORT_LEN => Ok(Some(report)),
            Ok(n) => {
                Err(device_error(format!("{}: the caller's HID read function claims {n} bytes", self.path)))
            }
            Err(_) => {
                Err(device_error(format!("{}: the caller's HID read function failed ({read})", self.path)))
            }
        }
    }
}

impl Drop for CallerDevice {
    fn drop(&mut self) {
        let functions = &self.io.functions;
        // SAFETY: the device came from this io's open; this is its one close.
        unsafe { (functions.close)(functions.userdata, self.device) }
    }
}

/// Number of enumerations running now (leak checks: 0 between calls).
pub(crate) fn live_device_lists() -> usize {
    DEVICE_LISTS.len()
}
