use clap::Parser;

fn main() -> std::process::ExitCode {
    svcbind::run(svcbind::cli::Cli::parse()).into()
}
