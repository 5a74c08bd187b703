//! Boots the guest under qemu (TCG only: KVM hangs guests on this kind of machine) and collects its
//! serial console, killing it at a hard deadline.

use std::io::{self, Read};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

pub const QEMU: &str = "qemu-system-x86_64";

/// What came back from one boot.
#[derive(Debug)]
pub struct Boot {
    /// Everything the guest wrote to its serial console (and qemu to stderr).
    pub console: String,
    pub elapsed: Duration,
    /// qemu's exit status; `None` when it had to be killed at the deadline.
    pub status: Option<ExitStatus>,
}

/// True when `qemu-system-x86_64` can be run.
pub fn available() -> bool {
    Command::new(QEMU)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// The full qemu command line for `kernel` and `initrd`.
pub fn command(kernel: &Path, initrd: &Path) -> Command {
    let mut command = Command::new(QEMU);
    command
        .args(["-accel", "tcg", "-cpu", "max", "-m", "256", "-smp", "1", "-nographic", "-no-reboot"])
        // No network card: spares the firmware its PXE boot-ROM detour.
        .args(["-nic", "none"])
        .arg("-kernel")
        .arg(kernel)
        .arg("-initrd")
        .arg(initrd)
        .args(["-append", "console=ttyS0 panic=-1 quiet"]);
    command
}

/// Boots and waits until qemu exits or `timeout` passes.
pub fn boot(kernel: &Path, initrd: &Path, timeout: Duration) -> io::Result<Boot> {
    let started = Instant::now();
    let mut child = command(kernel, initrd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| io::Error::new(error.kind(), format!("cannot start {QEMU}: {error}")))?;
    let stdout = child.stdout.take().map(|pipe| thread::spawn(move || drain(pipe)));
    let stderr = child.stderr.take().map(|pipe| thread::spawn(move || drain(pipe)));
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if started.elapsed() >= timeout {
            // kill(2) closes qemu's pipes, which ends the drain threads.
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(20));
    };
    let elapsed = started.elapsed();
    let mut console = String::new();
    for drained in [stdout, stderr].into_iter().flatten() {
        console.push_str(&drained.join().unwrap_or_default());
    }
    Ok(Boot { console, elapsed, status })
}

fn drain(mut pipe: impl Read) -> String {
    let mut bytes = Vec::new();
    let _ = pipe.read_to_end(&mut bytes);
    // The serial console ends lines with CR LF.
    String::from_utf8_lossy(&bytes).replace('\r', "")
}
