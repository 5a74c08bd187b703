//! `aa-logon`: log users on to NetIQ / OpenText Advanced Authentication from a terminal, list the
//! security keys attached, and run the self-contained demo.

// Only the demo drives the C ABI (unsafe extern "C" functions); its C calls all go through the
// one audited unsafe block of demo/capi.rs's c_call! (plus the RAII frees there).
#![deny(unsafe_code)]
#![warn(clippy::undocumented_unsafe_blocks)]

mod args;
mod connection;
#[cfg(feature = "virtual-device")]
#[allow(unsafe_code)]
mod demo;
mod devices;
mod exit;
mod input;
mod interrupt;
mod logger;
mod logon;
mod output;
mod session;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    logger::install(cli.verbose);
    let json = match &cli.command {
        Command::Logon(args) => args.connection.json,
        Command::Chains(args) => args.connection.json,
        Command::Logout(args) => args.connection.json,
        Command::Devices(args) => args.json,
        #[cfg(feature = "virtual-device")]
        Command::Demo(args) => args.json,
    };
    interrupt::install(json);
    let result = match &cli.command {
        Command::Logon(args) => logon::run(args),
        Command::Chains(args) => session::chains(args),
        Command::Logout(args) => session::logout(args),
        Command::Devices(args) => devices::run(args),
        #[cfg(feature = "virtual-device")]
        Command::Demo(args) => demo::run(args),
    };
    match result {
        Ok(outcome) => {
            output::report_success(&outcome, json);
            outcome.exit.into()
        }
        Err(failure) => {
            output::report_failure(&failure, json);
            failure.exit.into()
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;
    use crate::exit::Exit;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn exit_codes_are_documented() {
        for exit in [
            Exit::Ok,
            Exit::LogonFailed,
            Exit::Usage,
            Exit::Network,
            Exit::Server,
            Exit::Device,
            Exit::Cancelled,
            Exit::Internal,
        ] {
            assert!(exit::EXIT_CODES_HELP.contains(&format!("\n  {}  ", exit.code())), "{exit:?}");
        }
    }
}
