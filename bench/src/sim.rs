//! The simulator, in a child process of this binary (`--serve-sim`): its CPU then never counts
//! as the client's, and the client's figures (getrusage of this process) stay clean. It still
//! shares the 2 cores with the client, as a server on loopback does.
//!
//! The fixture is the demo one plus `users` extra users `BENCH\uN`, each with one U2F key made
//! from seed `benchN`: every client kind, thread and cold-start process signs as its own user
//! with its own key, so U2F counters never race (the simulator refuses a counter that does not
//! grow, as a real server does).

use std::io::{self, BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};

use aa_sim::{demo, Fixture, SimConfig, Simulator, U2fCredentialFixture, UserFixture};
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
    pub server: Server,
    dir: PathBuf,
}

impl SimProcess {
    pub fn spawn(users: usize) -> io::Result<SimProcess> {
        let dir = std::env::temp_dir().join(format!("aa-logon-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let ca_file = dir.join("ca.pem");
        let mut child = Command::new(std::env::current_exe()?)
            .arg("--serve-sim")
            .arg(users.to_string())
            .arg(&ca_file)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout: ChildStdout = child.stdout.take().expect("piped");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let base_url = line.trim().to_owned();
        if !base_url.starts_with("https://") {
            let _ = child.kill();
            return Err(io::Error::other(format!("simulator did not start: {line:?}")));
        }
        Ok(SimProcess { child, server: Server { base_url, ca_file }, dir })
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The `--serve-sim USERS CA_FILE` child: serves until standard input closes.
pub fn serve(users: usize, ca_file: PathBuf) -> ! {
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
    let sim = Simulator::start(SimConfig { fixture, ..SimConfig::default() }).unwrap_or_else(|e| {
        eprintln!("aa-logon-bench: simulator: {e}");
        std::process::exit(1)
    });
    std::fs::write(&ca_file, sim.ca_pem().expect("generated CA")).expect("CA file written");
    let mut stdout = io::stdout();
    let _ = writeln!(stdout, "{}", sim.base_url());
    let _ = stdout.flush();
    let _ = io::copy(&mut io::stdin(), &mut io::sink());
    drop(sim);
    std::process::exit(0)
}
