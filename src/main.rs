//! The `svcbind` binary: parse the command line, run, exit with the code.

#![forbid(unsafe_code)]

use clap::Parser;

fn main() -> std::process::ExitCode {
    svcbind::run(svcbind::cli::Cli::parse()).into()
}
