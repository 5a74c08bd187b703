//! The guest's test program, started by the initramfs init inside qemu: it plugs virtual keys into
//! the guest kernel through uhid and drives them through the library's production hidapi transport,
//! printing one `SCENARIO` line per scenario and a summary (see `aa_uhid::harness::report`).

#[cfg(target_os = "linux")]
mod cancel;
#[cfg(target_os = "linux")]
mod ctap2;
#[cfg(target_os = "linux")]
mod identify;
#[cfg(target_os = "linux")]
mod logon;
#[cfg(target_os = "linux")]
mod plugging;
#[cfg(target_os = "linux")]
mod raw;
#[cfg(target_os = "linux")]
mod runner;
#[cfg(target_os = "linux")]
mod server;
#[cfg(target_os = "linux")]
mod signing;
#[cfg(target_os = "linux")]
mod support;

#[cfg(target_os = "linux")]
fn main() {
    std::process::exit(runner::run_all());
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("aa-uhid-guest runs only inside the Linux guest the aa-uhid harness boots");
    std::process::exit(2);
}
