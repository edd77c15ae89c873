//! The `svcbind` binary: parse the command line, run, exit with the code.

#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    match svcbind::cli::Cli::parse_args(std::env::args_os()) {
        Ok(cli) => svcbind::run(cli).into(),
        Err(e) => {
            // Help and version go to stdout and succeed; a usage error is an error (exit 1,
            // not clap's 2, which `plan --detailed-exitcode` means "changes").
            let _ = e.print();
            if e.use_stderr() {
                svcbind::ExitCode::Failure.into()
            } else {
                svcbind::ExitCode::Success.into()
            }
        }
    }
}
