//! What the benchmark measures with: process CPU time, resident memory, percentiles, and the
//! CPU-burning child process that makes the contention runs.

use std::io;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// User + system CPU time of this whole process (every thread, also those that have exited)
/// since it started. The simulator and the busy loops run in other processes, so this is the
/// client's CPU alone: the library's or the floor's, plus the virtual key's (the same for both).
pub fn process_cpu() -> Duration {
    // SAFETY: getrusage only writes the rusage struct it is given, which is a zeroed local.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// User + system CPU time of this process's children that have exited and been waited for.
pub fn children_cpu() -> Duration {
    // SAFETY: as in process_cpu.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage
    };
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// This process's resident set size (VmRSS of /proc/self/status), in KiB.
pub fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Latencies in seconds, sorted on demand.
#[derive(Default, Clone)]
pub struct Samples {
    values: Vec<f64>,
}

impl Samples {
    pub fn push(&mut self, value: Duration) {
        self.values.push(value.as_secs_f64());
    }

    /// A plain number (a rate, a fraction).
    pub fn push_value(&mut self, value: f64) {
        self.values.push(value);
    }

    /// Nearest-rank percentile (`p` in 0..=100); NaN without samples.
    pub fn percentile(&self, p: f64) -> f64 {
        if self.values.is_empty() {
            return f64::NAN;
        }
        let mut sorted = self.values.clone();
        sorted.sort_by(f64::total_cmp);
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    }

    pub fn median(&self) -> f64 {
        self.percentile(50.0)
    }
}

/// A child process of this binary spinning `threads` busy loops until it is dropped: contention
/// for the 2 cores without adding to this process's CPU figures.
pub struct Burners {
    child: Child,
}

impl Burners {
    pub fn start(threads: usize) -> io::Result<Burners> {
        let child = Command::new(std::env::current_exe()?)
            .args(["--burn", &threads.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()?;
        Ok(Burners { child })
    }
}

impl Drop for Burners {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `--burn N` child: N threads that spin until standard input closes (the parent went away)
/// or the parent kills it.
pub fn burn(threads: usize) -> ! {
    for _ in 0..threads {
        std::thread::spawn(|| {
            let mut x = 0u64;
            loop {
                x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
            }
        });
    }
    let _ = io::copy(&mut io::stdin(), &mut io::sink());
    std::process::exit(0)
}

/// A pseudo-random fraction in [0, 1) for jitter (the touch moment within a poll interval).
pub fn jitter() -> f64 {
    let mut bytes = [0u8; 8];
    let _ = getrandom::fill(&mut bytes);
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}
