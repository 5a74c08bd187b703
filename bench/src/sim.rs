//! The simulator, in a child process of this binary (`--serve-sim`): its CPU then never counts
//! as the client's, and the client's figures (getrusage of this process) stay clean. It still
//! shares the 2 cores with the client, as a server on loopback does.
//!
//! The fixture is the demo one plus `users` extra users `BENCH\uN`, each with one U2F key made
//! from seed `benchN`: every client kind, thread and cold-start process signs as its own user
//! with its own key, so U2F counters never race (the simulator refuses a counter that does not
//! grow, as a real server does).
//!
//! The child may run a cluster of several instances sharing one state. It prints each
//! instance's URL on a line of its own, then takes commands on standard input, one a line, and
//! answers each with one line (`ok` or `error …`) once the change is in force:
//! `outage INDEX KIND` (KIND: `refuse`, `reset`, `unavailable`, `hang`) and `restore INDEX`.

use std::io::{self, BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use aa_sim::{demo, Fixture, Outage, SimConfig, Simulator, U2fCredentialFixture, UserFixture};
use aa_virtual_key::KeyMaterial;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// Where the benchmarked clients connect, and the CA they trust (a file, as a deployment has).
#[derive(Clone, Debug)]
pub struct Server {
    pub base_url: String,
    pub ca_file: PathBuf,
}

pub fn user_name(index: usize) -> String {
    format!("BENCH\\u{index}")
}

pub fn key_seed(index: usize) -> String {
    format!("bench{index}")
}

/// A running simulator child; dropping it stops it and removes its CA file.
pub struct SimProcess {
    child: Child,
    commands: ChildStdin,
    replies: BufReader<ChildStdout>,
    /// Instance 0's URL and the CA every instance's certificate chains to.
    pub server: Server,
    /// Every instance's URL, in instance order (`urls[0] == server.base_url`).
    pub urls: Vec<String>,
    dir: PathBuf,
}

impl SimProcess {
    pub fn spawn(users: usize) -> io::Result<SimProcess> {
        SimProcess::spawn_cluster(users, 1)
    }

    /// A simulator of `instances` instances sharing one state (one CA for all).
    pub fn spawn_cluster(users: usize, instances: usize) -> io::Result<SimProcess> {
        // Several simulators may run at once: each gets a directory of its own.
        static SPAWNED: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "aa-logon-bench-{}-{}",
            std::process::id(),
            SPAWNED.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)?;
        let ca_file = dir.join("ca.pem");
        let mut child = Command::new(std::env::current_exe()?)
            .arg("--serve-sim")
            .arg(users.to_string())
            .arg(instances.to_string())
            .arg(&ca_file)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let commands = child.stdin.take().expect("piped");
        let mut replies = BufReader::new(child.stdout.take().expect("piped"));
        let mut urls = Vec::with_capacity(instances);
        for _ in 0..instances {
            let mut line = String::new();
            replies.read_line(&mut line)?;
            if !line.starts_with("https://") {
                let _ = child.kill();
                let _ = child.wait();
                let _ = std::fs::remove_dir_all(&dir);
                return Err(io::Error::other(format!("simulator did not start: {line:?}")));
            }
            urls.push(line.trim().to_owned());
        }
        let server = Server { base_url: urls[0].clone(), ca_file };
        Ok(SimProcess { child, commands, replies, server, urls, dir })
    }

    /// Takes instance `index` down the way `outage` says (`refuse`, `hang`, …), or brings it
    /// back with `None`; returns once the change is in force.
    pub fn set_outage(&mut self, index: usize, outage: Option<&str>) -> io::Result<()> {
        match outage {
            Some(kind) => writeln!(self.commands, "outage {index} {kind}")?,
            None => writeln!(self.commands, "restore {index}")?,
        }
        self.commands.flush()?;
        let mut reply = String::new();
        self.replies.read_line(&mut reply)?;
        match reply.trim() {
            "ok" => Ok(()),
            other => Err(io::Error::other(format!("simulator: {other:?}"))),
        }
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The `--serve-sim USERS INSTANCES CA_FILE` child: serves, obeying the commands on standard
/// input, until it closes.
pub fn serve(users: usize, instances: usize, ca_file: PathBuf) -> ! {
    let mut fixture = Fixture::demo();
    for index in 0..users {
        let enrollment = KeyMaterial::from_seed(key_seed(index).as_bytes()).enrollment(demo::APP_ID);
        fixture.users.push(UserFixture {
            name: user_name(index),
            u2f: vec![U2fCredentialFixture {
                key_handle: URL_SAFE_NO_PAD.encode(&enrollment.key_handle),
                public_key: URL_SAFE_NO_PAD.encode(enrollment.public_key),
                counter: 0,
            }],
            ..UserFixture::default()
        });
    }
    let config = SimConfig { fixture, ..SimConfig::default() };
    let sim = Simulator::start_cluster(config, instances).unwrap_or_else(|e| {
        eprintln!("aa-logon-bench: simulator: {e}");
        std::process::exit(1)
    });
    std::fs::write(&ca_file, sim.ca_pem().expect("generated CA")).expect("CA file written");
    let mut stdout = io::stdout();
    for url in sim.base_urls() {
        let _ = writeln!(stdout, "{url}");
    }
    let _ = stdout.flush();
    for line in io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let reply = match obey(&sim, &line) {
            Ok(()) => "ok".to_owned(),
            Err(e) => format!("error {e}"),
        };
        let _ = writeln!(stdout, "{reply}");
        let _ = stdout.flush();
    }
    drop(sim);
    std::process::exit(0)
}

/// One control command of the parent: `outage INDEX KIND` or `restore INDEX`.
fn obey(sim: &Simulator, command: &str) -> Result<(), String> {
    let words: Vec<&str> = command.split_whitespace().collect();
    let instance = |index: &str| match index.parse::<usize>() {
        Ok(index) if index < sim.instance_count() => Ok(sim.instance(index)),
        _ => Err(format!("no instance {index:?}")),
    };
    match words.as_slice() {
        ["outage", index, kind] => {
            let outage = Outage::from_name(kind).ok_or_else(|| format!("no outage {kind:?}"))?;
            instance(index)?.set_outage(outage).map_err(|e| e.to_string())
        }
        ["restore", index] => instance(index)?.restore().map_err(|e| e.to_string()),
        _ => Err(format!("unknown command {command:?}")),
    }
}
