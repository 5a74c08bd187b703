//! The virtual keys behind libaa_logon's `aa_hid_io`: these functions are what a client calls
//! to list, open, write to and read from the keys of one `aa_virtual_devices` set.
//!
//! The two structs mirror the declarations of include/aa_logon.h field for field (this library
//! must not link libaa_logon, so it cannot take them from there); a test compares their layout
//! with libaa_logon's own definitions.

use std::ffi::{c_char, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

use aa_logon::fido::{DeviceInfo, DeviceProvider, HidTransport, REPORT_LEN};
use aa_virtual_key::VirtualDevices;

/// Mirror of libaa_logon's `aa_hid_device_info`.
#[repr(C)]
pub struct aa_hid_device_info {
    pub path: *const c_char,
    pub vendor_id: u16,
    pub product_id: u16,
    pub manufacturer: *const c_char,
    pub product: *const c_char,
    pub serial_number: *const c_char,
}

type Sink = Option<unsafe extern "C" fn(list: *mut c_void, device: *const aa_hid_device_info) -> u32>;

/// Mirror of libaa_logon's `aa_hid_io`.
#[repr(C)]
pub struct aa_hid_io {
    pub userdata: *mut c_void,
    pub enumerate: Option<unsafe extern "C" fn(*mut c_void, Sink, *mut c_void) -> i32>,
    pub open: Option<unsafe extern "C" fn(*mut c_void, *const c_char) -> *mut c_void>,
    pub close: Option<unsafe extern "C" fn(*mut c_void, *mut c_void)>,
    pub write: Option<unsafe extern "C" fn(*mut c_void, *mut c_void, *const u8, usize) -> i32>,
    pub read: Option<unsafe extern "C" fn(*mut c_void, *mut c_void, *mut u8, usize, i32) -> i32>,
    pub release: Option<unsafe extern "C" fn(*mut c_void)>,
}

/// An io over `devices`; its userdata holds one reference, dropped by `release`.
pub(crate) fn hid_io(devices: Arc<VirtualDevices>) -> aa_hid_io {
    aa_hid_io {
        userdata: Arc::into_raw(devices).cast_mut().cast(),
        enumerate: Some(enumerate),
        open: Some(open),
        close: Some(close),
        write: Some(write),
        read: Some(read),
        release: Some(release),
    }
}

/// # Safety
/// `userdata` came from [`hid_io`] and was not released yet.
unsafe fn devices<'a>(userdata: *mut c_void) -> &'a VirtualDevices {
    // SAFETY: the Arc made in hid_io is alive until release; this borrow ends with the call.
    unsafe { &*userdata.cast_const().cast::<VirtualDevices>() }
}

/// Runs a callback body; a panic becomes the failure value instead of unwinding into C.
fn contained<T>(failure: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(failure)
}

fn c_string(value: &str) -> CString {
    CString::new(value.replace('\0', "")).unwrap_or_default()
}

fn optional(value: &Option<CString>) -> *const c_char {
    value.as_ref().map_or(std::ptr::null(), |s| s.as_ptr())
}

fn report_device(
    sink: unsafe extern "C" fn(*mut c_void, *const aa_hid_device_info) -> u32,
    list: *mut c_void,
    device: &DeviceInfo,
) -> u32 {
    let path = c_string(&device.path);
    let manufacturer = device.manufacturer.as_deref().map(c_string);
    let product = device.product.as_deref().map(c_string);
    let serial = device.serial_number.as_deref().map(c_string);
    let info = aa_hid_device_info {
        path: path.as_ptr(),
        vendor_id: device.vendor_id,
        product_id: device.product_id,
        manufacturer: optional(&manufacturer),
        product: optional(&product),
        serial_number: optional(&serial),
    };
    // SAFETY: the sink and list come from libaa_logon for this enumeration; info and its strings
    // live until the call returns.
    unsafe { sink(list, &info) }
}

unsafe extern "C" fn enumerate(userdata: *mut c_void, sink: Sink, list: *mut c_void) -> i32 {
    contained(-1, || {
        let Some(sink) = sink else { return -1 };
        // SAFETY: libaa_logon passes back the userdata of our aa_hid_io.
        let Ok(found) = unsafe { devices(userdata) }.list() else { return -1 };
        for device in &found {
            if report_device(sink, list, device) != 0 {
                return -1;
            }
        }
        0
    })
}

unsafe extern "C" fn open(userdata: *mut c_void, path: *const c_char) -> *mut c_void {
    contained(std::ptr::null_mut(), || {
        if path.is_null() {
            return std::ptr::null_mut();
        }
        // SAFETY: libaa_logon passes a NUL-terminated path valid for this call.
        let Ok(path) = unsafe { CStr::from_ptr(path) }.to_str() else { return std::ptr::null_mut() };
        // SAFETY: as in enumerate.
        match unsafe { devices(userdata) }.open(path) {
            Ok(transport) => Box::into_raw(Box::new(transport)).cast(),
            Err(_) => std::ptr::null_mut(),
        }
    })
}

/// # Safety
/// `device` came from [`open`] and is not closed.
unsafe fn transport<'a>(device: *mut c_void) -> &'a mut Box<dyn HidTransport> {
    // SAFETY: open boxed a Box<dyn HidTransport>; one thread uses an open device at a time.
    unsafe { &mut *device.cast::<Box<dyn HidTransport>>() }
}

unsafe extern "C" fn close(_userdata: *mut c_void, device: *mut c_void) {
    contained((), || {
        if !device.is_null() {
            // SAFETY: libaa_logon closes each device from open exactly once.
            drop(unsafe { Box::from_raw(device.cast::<Box<dyn HidTransport>>()) });
        }
    })
}

unsafe extern "C" fn write(
    _userdata: *mut c_void,
    device: *mut c_void,
    report: *const u8,
    len: usize,
) -> i32 {
    contained(-1, || {
        if device.is_null() || report.is_null() || len != REPORT_LEN {
            return -1;
        }
        // SAFETY: libaa_logon passes `len` readable bytes.
        let bytes = unsafe { std::slice::from_raw_parts(report, len) };
        let mut packet = [0u8; REPORT_LEN];
        packet.copy_from_slice(bytes);
        // SAFETY: device came from open and is still open.
        match unsafe { transport(device) }.write_report(&packet) {
            Ok(()) => 0,
            Err(_) => -1,
        }
    })
}

unsafe extern "C" fn read(
    _userdata: *mut c_void,
    device: *mut c_void,
    report: *mut u8,
    len: usize,
    timeout_ms: i32,
) -> i32 {
    contained(-1, || {
        if device.is_null() || report.is_null() || len < REPORT_LEN {
            return -1;
        }
        let timeout = Duration::from_millis(u64::try_from(timeout_ms).unwrap_or(0));
        // SAFETY: device came from open and is still open.
        match unsafe { transport(device) }.read_report(timeout) {
            Ok(Some(packet)) => {
                // SAFETY: libaa_logon passes `len` ≥ REPORT_LEN writable bytes.
                unsafe { std::ptr::copy_nonoverlapping(packet.as_ptr(), report, REPORT_LEN) };
                REPORT_LEN as i32
            }
            Ok(None) => 0,
            Err(_) => -1,
        }
    })
}

unsafe extern "C" fn release(userdata: *mut c_void) {
    contained((), || {
        // SAFETY: the one reference hid_io gave away; libaa_logon releases it exactly once.
        drop(unsafe { Arc::from_raw(userdata.cast_const().cast::<VirtualDevices>()) });
    })
}

#[cfg(test)]
mod tests {
    use std::mem::{align_of, offset_of, size_of};

    #[test]
    fn the_mirrors_have_libaa_logons_layout() {
        use aa_logon_ffi as real;
        assert_eq!(size_of::<super::aa_hid_io>(), size_of::<real::aa_hid_io>());
        assert_eq!(align_of::<super::aa_hid_io>(), align_of::<real::aa_hid_io>());
        assert_eq!(offset_of!(super::aa_hid_io, enumerate), offset_of!(real::aa_hid_io, enumerate));
        assert_eq!(offset_of!(super::aa_hid_io, open), offset_of!(real::aa_hid_io, open));
        assert_eq!(offset_of!(super::aa_hid_io, close), offset_of!(real::aa_hid_io, close));
        assert_eq!(offset_of!(super::aa_hid_io, write), offset_of!(real::aa_hid_io, write));
        assert_eq!(offset_of!(super::aa_hid_io, read), offset_of!(real::aa_hid_io, read));
        assert_eq!(offset_of!(super::aa_hid_io, release), offset_of!(real::aa_hid_io, release));
        assert_eq!(size_of::<super::aa_hid_device_info>(), size_of::<real::aa_hid_device_info>());
        assert_eq!(
            offset_of!(super::aa_hid_device_info, serial_number),
            offset_of!(real::aa_hid_device_info, serial_number)
        );
        assert_eq!(
            offset_of!(super::aa_hid_device_info, product_id),
            offset_of!(real::aa_hid_device_info, product_id)
        );
    }
}
