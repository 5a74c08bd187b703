//! The command line.

use std::path::PathBuf;

#[cfg(feature = "virtual-device")]
use clap::ValueEnum;
use clap::{Args, Parser, Subcommand};

use crate::exit::EXIT_CODES_HELP;

#[derive(Parser, Debug)]
#[command(
    name = "aa-logon",
    version,
    about = "Log users on to NetIQ / OpenText Advanced Authentication with U2F security keys",
    long_about = "Log users on to NetIQ / OpenText Advanced Authentication (AA) with U2F security keys \
                  and the other AA methods, list the security keys attached to this machine, and run a \
                  self-contained demo against an in-process AA simulator.",
    after_help = EXIT_CODES_HELP
)]
pub struct Cli {
    /// Log more to standard error (-v info, -vv debug, -vvv trace). Secrets are never logged.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Log a user on: runs the method(s) of a chain and prints the login session.
    #[command(after_help = EXIT_CODES_HELP)]
    Logon(LogonArgs),
    /// List the chains a user may use for an event.
    #[command(after_help = EXIT_CODES_HELP)]
    Chains(ChainsArgs),
    /// End a login session (logout).
    #[command(after_help = EXIT_CODES_HELP)]
    Logout(LogoutArgs),
    /// List the FIDO security keys attached to this machine, or make one blink.
    #[command(after_help = EXIT_CODES_HELP)]
    Devices(DevicesArgs),
    /// Run the whole U2F logon through the C ABI against an in-process simulator and a virtual key.
    #[cfg(feature = "virtual-device")]
    #[command(after_help = EXIT_CODES_HELP)]
    Demo(DemoArgs),
}

/// Where the AA server is and how this endpoint authenticates to it.
#[derive(Args, Debug)]
pub struct ConnectionArgs {
    /// Base URL of the AA server, e.g. https://aa.example.com. Repeat it (or separate URLs with
    /// commas in AA_URL) for the servers of a cluster, in order of preference: when one cannot be
    /// reached or answers 502/503/504, the logon moves to the next.
    #[arg(long, env = "AA_URL", value_name = "URL", required = true, value_delimiter = ',')]
    pub url: Vec<String>,

    /// Endpoint id (32 hex characters) from the endpoint registration.
    #[arg(long, env = "AA_ENDPOINT_ID", value_name = "ID")]
    pub endpoint_id: String,

    /// Read the endpoint secret from this environment variable. Without any --endpoint-secret*
    /// option the secret is read from AA_ENDPOINT_SECRET.
    #[arg(long, value_name = "VAR", group = "secret_source")]
    pub endpoint_secret_env: Option<String>,

    /// Read the endpoint secret from the first line of this file.
    #[arg(long, value_name = "PATH", group = "secret_source")]
    pub endpoint_secret_file: Option<PathBuf>,

    /// The endpoint secret itself. Discouraged: it is visible in process listings and shell
    /// history; prefer --endpoint-secret-env or --endpoint-secret-file.
    #[arg(long, value_name = "SECRET", group = "secret_source")]
    pub endpoint_secret: Option<String>,

    /// Trust the CA certificates in this PEM file in addition to the system trust store.
    #[arg(long, value_name = "PATH")]
    pub ca_file: Option<PathBuf>,

    /// Require the server certificate's public key to have this SHA-256 (hex of the DER
    /// SubjectPublicKeyInfo, 64 digits; colons allowed).
    #[arg(long, value_name = "HEX")]
    pub pin_sha256: Option<String>,

    /// Accept U2F sign requests whose appId is an https origin on HOST, besides the AA server's own
    /// host (real deployments with a facet list need this). Repeatable.
    #[arg(long, value_name = "HOST")]
    pub allow_app_id_host: Vec<String>,

    /// DANGER: sign U2F requests for any appId the server names. A malicious server (or anyone in
    /// the middle) could then obtain your key's assertions for another site.
    #[arg(long)]
    pub danger_disable_app_id_check: bool,

    /// DANGER: accept any server certificate. Anyone on the network path can then read the
    /// traffic, secrets included. For lab setups only.
    #[arg(long)]
    pub danger_disable_tls_verification: bool,

    /// Connect and per-request timeout for the AA server, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,

    /// Print one machine-readable JSON object on standard output instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct LogonArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,

    /// The user to log on, e.g. 'JAGUAR\denis' or a bare user name.
    #[arg(long, value_name = "NAME")]
    pub user: String,

    /// The AA event (the application the logon is for), e.g. 'Search Card'.
    #[arg(long, value_name = "EVENT")]
    pub event: String,

    /// The first method of the chain: U2F:1, FIDO2:1 (a FIDO2 key; its PIN is asked for without
    /// echo when the policy requires user verification); PASSWORD:1, LDAP_PASSWORD:1, EMERG_PASSWORD:1,
    /// RADIUS:1 (a password, then any challenge it asks); TOTP:1, HOTP:1; SMS_OTP:1, EMAIL_OTP:1,
    /// VOICE_OTP:1 (a code sent to you); SMARTPHONE:1 (approve a push, or --offline-code),
    /// VOICE:1 (answer a call); SECQUEST:1 (security questions); CARD:1 (the card UID);
    /// FINGER:1 (an ISO/IEC 19794-2 template); any other as its response JSON. Later methods of
    /// the chain follow the server's NEXT answers. Every answer is read without echo.
    #[arg(long, value_name = "METHOD", default_value = "U2F:1")]
    pub method: String,

    /// How long to wait for a push to be approved or a call answered (SMARTPHONE:1, VOICE:1),
    /// in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub approval_timeout: u64,

    /// Pause between polls of the server while waiting for an approval, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 3000, value_parser = clap::value_parser!(u64).range(10..=60000))]
    pub poll_interval_ms: u64,

    /// SMARTPHONE:1: type the code the smartphone app shows offline instead of approving a push.
    #[arg(long)]
    pub offline_code: bool,

    /// How long to wait for a security key to be inserted and touched, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub key_timeout: u64,

    #[command(flatten)]
    pub virtual_key: VirtualKeyArgs,
}

/// Test-only: a software key instead of USB devices.
#[derive(Args, Debug, Default)]
pub struct VirtualKeyArgs {
    /// Use the virtual security key derived from SEED instead of USB devices (the simulator's demo
    /// user has the key of seed "demo" enrolled).
    #[cfg(feature = "virtual-device")]
    #[arg(long, value_name = "SEED")]
    pub virtual_key: Option<String>,

    /// When the virtual key reports a touch.
    #[cfg(feature = "virtual-device")]
    #[arg(long, value_name = "WHEN", requires = "virtual_key", default_value = "always")]
    pub virtual_key_presence: PresenceArg,

    /// Keep the virtual key's signature counter in this file between runs (created when missing,
    /// saved after every signature), so successive runs against one server that checks counters
    /// keep succeeding. One file per seed.
    #[cfg(feature = "virtual-device")]
    #[arg(long, value_name = "PATH", requires = "virtual_key")]
    pub virtual_key_state: Option<PathBuf>,

    /// Which protocols the virtual key speaks: U2F only, CTAP2 only (a FIDO2 key without U2F,
    /// which answers U2F:1 over CTAP2), or both, like most keys sold today.
    #[cfg(feature = "virtual-device")]
    #[arg(long, value_name = "PROTOCOLS", requires = "virtual_key", default_value = "both")]
    pub virtual_key_protocols: ProtocolsArg,

    /// Give the virtual key this CTAP2 PIN (FIDO2:1 then asks for it when the policy requires
    /// user verification). Test keys only: it is visible in process listings.
    #[cfg(feature = "virtual-device")]
    #[arg(long, value_name = "PIN", requires = "virtual_key")]
    pub virtual_key_pin: Option<String>,
}

/// The protocols of the virtual key.
#[cfg(feature = "virtual-device")]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ProtocolsArg {
    /// U2F (CTAP1) only.
    U2f,
    /// CTAP2 only (INIT reports NMSG).
    Ctap2,
    /// U2F and CTAP2.
    #[default]
    Both,
}

/// When the virtual key is "touched".
#[cfg(feature = "virtual-device")]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum PresenceArg {
    /// At once.
    #[default]
    Always,
    /// Never (to see the touch timeout).
    Never,
}

#[derive(Args, Debug)]
pub struct ChainsArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,

    /// The user whose chains to list.
    #[arg(long, value_name = "NAME")]
    pub user: String,

    /// The AA event.
    #[arg(long, value_name = "EVENT")]
    pub event: String,
}

#[derive(Args, Debug)]
pub struct LogoutArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,

    /// The login session id printed by `aa-logon logon`.
    #[arg(long, value_name = "ID")]
    pub session: String,
}

#[derive(Args, Debug)]
pub struct DevicesArgs {
    /// Print one machine-readable JSON object on standard output instead of text.
    #[arg(long)]
    pub json: bool,

    /// Make the key at this device path blink (see the paths in the list).
    #[arg(long, value_name = "PATH")]
    pub wink: Option<String>,

    #[command(flatten)]
    pub virtual_key: VirtualKeyArgs,
}

#[cfg(feature = "virtual-device")]
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Also print the outcome as one JSON object on standard output (after the steps, which go to
    /// standard error with this option).
    #[arg(long)]
    pub json: bool,
}
