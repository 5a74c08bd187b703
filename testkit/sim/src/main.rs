//! `aa-sim`: the AA REST API simulator as a command-line server, plus `enroll-virtual-key`.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use aa_sim::{demo, ChainsLookup, Fixture, Lifetimes, SimConfig, Simulator, TlsMode};
use aa_virtual_key::KeyMaterial;
use base64::Engine;
use clap::{Args, Parser, Subcommand};

/// Simulator of the NetIQ/OpenText Advanced Authentication REST API (/api/v1/…) for tests and demos.
///
/// Prints its base URL (e.g. https://127.0.0.1:40123) as the first line of standard output (with
/// --instances N, then one line `aa-sim instance I listening on URL` for each further instance),
/// then serves until killed. Requests are logged to standard error (method, route, status; never ids or
/// secrets); set RUST_LOG=debug for more.
#[derive(Parser)]
#[command(name = "aa-sim", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Print the credential the virtual key made from SEED registers for APP_ID, as a fixture's
    /// `u2f` entry needs it: {"key_handle": "<base64url>", "public_key": "<base64url of the 65-byte point>"}.
    EnrollVirtualKey {
        /// Seed of the virtual key (the demo user's key has seed "demo").
        #[arg(long)]
        seed: String,
        /// U2F App ID (the fixture's `u2f_app_id`, e.g. https://aa-sim.local): prints the U2F
        /// credential.
        #[arg(long, required_unless_present = "rp_id", conflicts_with = "rp_id")]
        app_id: Option<String>,
        /// FIDO2 relying party id (the host of the App ID, e.g. aa-sim.local): prints the FIDO2
        /// credential for a fixture's `fido2.credentials`.
        #[arg(long)]
        rp_id: Option<String>,
    },
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR")]
    listen: SocketAddr,
    /// Start a cluster of N servers sharing one state (sessions, processes, faults), each on its
    /// own port of the --listen address (free ports for port 0, else PORT, PORT+1, …) with one
    /// certificate for all; /sim/v1/instances takes them down and back.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    instances: u16,
    /// Serve plain HTTP instead of HTTPS (benchmarks, quick experiments).
    #[arg(long, conflicts_with_all = ["ca_out", "cert", "key"])]
    http: bool,
    /// JSON fixture (App ID, admin, endpoints, events, chains, users); default: the built-in demo
    /// fixture, whose endpoint id and secret are printed on standard error.
    #[arg(long, value_name = "FILE")]
    fixture: Option<PathBuf>,
    /// Write the PEM of the CA generated at start to FILE, for clients to trust.
    #[arg(long, value_name = "FILE", conflicts_with = "cert")]
    ca_out: Option<PathBuf>,
    /// Serve this PEM certificate chain instead of generating one (needs --key).
    #[arg(long, value_name = "PEM", requires = "key")]
    cert: Option<PathBuf>,
    /// PEM private key of --cert.
    #[arg(long, value_name = "PEM", requires = "cert")]
    key: Option<PathBuf>,
    /// Endpoint sessions expire after this many idle seconds (fractions allowed).
    #[arg(long, value_name = "SECS", default_value_t = 3600.0)]
    endpoint_session_lifetime: f64,
    /// Logon processes expire after this many idle seconds.
    #[arg(long, value_name = "SECS", default_value_t = 600.0)]
    logon_process_lifetime: f64,
    /// Login sessions expire this many seconds after the logon.
    #[arg(long, value_name = "SECS", default_value_t = 28800.0)]
    login_session_lifetime: f64,
    /// A SMARTPHONE:1 push or VOICE:1 call not decided this many seconds after it started fails
    /// ("Auth confirmation timeout").
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    approval_lifetime: f64,
    /// Answer only PWM's `POST /logon/chains?username=…` form, as an older server (the `GET`
    /// form gets 405).
    #[arg(long)]
    chains_post_only: bool,
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::EnrollVirtualKey { seed, app_id: Some(app_id), .. }) => {
            enroll_virtual_key(&seed, &app_id)
        }
        Some(Command::EnrollVirtualKey { seed, rp_id: Some(rp_id), .. }) => enroll_fido2(&seed, &rp_id),
        Some(Command::EnrollVirtualKey { .. }) => Err("give --app-id or --rp-id".to_owned()),
        None => serve(cli.serve),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("aa-sim: {message}");
            ExitCode::FAILURE
        }
    }
}

fn enroll_virtual_key(seed: &str, app_id: &str) -> Result<(), String> {
    let enrollment = KeyMaterial::from_seed(seed.as_bytes()).enrollment(app_id);
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let output = serde_json::json!({
        "key_handle": b64.encode(&enrollment.key_handle),
        "public_key": b64.encode(enrollment.public_key),
    });
    println!("{output}");
    Ok(())
}

fn enroll_fido2(seed: &str, rp_id: &str) -> Result<(), String> {
    let credential = aa_virtual_key::VirtualKey::new(seed.as_bytes()).make_credential(rp_id, b"");
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let output = serde_json::json!({
        "rp_id": rp_id,
        "credential_id": b64.encode(&credential.credential_id),
        "public_key": b64.encode(credential.public_key_sec1),
        "public_key_cose": b64.encode(&credential.public_key_cose),
    });
    println!("{output}");
    Ok(())
}

fn seconds(option: &str, value: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(value)
        .map_err(|_| format!("--{option} must be a non-negative number of seconds"))
}

fn serve(args: ServeArgs) -> Result<(), String> {
    let fixture = match &args.fixture {
        Some(path) => Fixture::load(path).map_err(|error| error.to_string())?,
        None => Fixture::demo(),
    };
    let tls = if args.http {
        TlsMode::PlainHttp
    } else if let (Some(cert), Some(key)) = (&args.cert, &args.key) {
        let read = |path: &PathBuf| {
            std::fs::read_to_string(path).map_err(|error| format!("cannot read {}: {error}", path.display()))
        };
        TlsMode::FromPem { cert_pem: read(cert)?, key_pem: read(key)? }
    } else {
        TlsMode::Generated
    };
    let lifetimes = Lifetimes {
        endpoint_session: seconds("endpoint-session-lifetime", args.endpoint_session_lifetime)?,
        logon_process: seconds("logon-process-lifetime", args.logon_process_lifetime)?,
        login_session: seconds("login-session-lifetime", args.login_session_lifetime)?,
        approval: seconds("approval-lifetime", args.approval_lifetime)?,
    };
    let chains_lookup = if args.chains_post_only { ChainsLookup::PostOnly } else { ChainsLookup::GetAndPost };
    let using_demo = args.fixture.is_none();
    let config = SimConfig { fixture, listen: args.listen, tls, lifetimes, chains_lookup };
    let simulator = Simulator::start_cluster(config, usize::from(args.instances))
        .map_err(|error| format!("cannot start: {error}"))?;
    if let (Some(path), Some(pem)) = (&args.ca_out, simulator.ca_pem()) {
        std::fs::write(path, pem).map_err(|error| format!("cannot write {}: {error}", path.display()))?;
        log::info!("CA certificate written to {}", path.display());
    }
    let mut stdout = std::io::stdout().lock();
    // The first line stays the bare URL of instance 0: scripts and tests read just that line.
    let mut printed = writeln!(stdout, "{}", simulator.base_url());
    for (index, url) in simulator.base_urls().iter().enumerate().skip(1) {
        printed = printed.and_then(|()| writeln!(stdout, "aa-sim instance {index} listening on {url}"));
    }
    printed.and_then(|()| stdout.flush()).map_err(|error| format!("cannot write to stdout: {error}"))?;
    drop(stdout);
    if using_demo {
        eprintln!(
            "aa-sim demo fixture: endpoint id {} secret {}; user {} password {}; TOTP secret {}; App ID {}; event {:?}",
            demo::ENDPOINT_ID,
            demo::ENDPOINT_SECRET,
            demo::USER,
            demo::PASSWORD,
            demo::TOTP_SECRET,
            demo::APP_ID,
            demo::EVENT
        );
    }
    // Serve until killed.
    loop {
        std::thread::park();
    }
}
