//! The `svcbind` binary: parse the command line, run, exit with the code.

#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    match svcbind::cli::Cli::parse_args(&args) {
        Ok(cli) => svcbind::run(cli).into(),
        Err(e) => svcbind::usage_error(&e, &args).into(),
    }
}
