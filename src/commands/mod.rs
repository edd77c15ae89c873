//! The commands: the edge of the program, where settings become work, output and an exit code.
//!
//! Each command composes the steps of [`steps`] it needs, in this order: **load** the
//! desired-state file (printing its diagnostics), **connect** to the account (the backend:
//! the network or an emulated account), **resolve** the file against the live state, **plan**
//! (and rehearse the plan). `validate` only loads; `services` connects; `plan` and `apply` run
//! all four. Errors get their context here (anyhow), are printed once by [`run`] and become
//! exit codes; the stages below return values and never print.

mod apply;
mod emulator;
mod plan;
mod services;
mod steps;
mod validate;

use anyhow::Context as _;
use clap::CommandFactory;

use crate::cli::Cli;
use crate::exit::ExitCode;
use crate::settings::{Command, Output, Settings};

/// An error whose details were already printed (diagnostics); only the exit code remains.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Reported(pub String);

/// Runs one invocation and returns its exit code. Errors are printed here, once.
pub fn run(cli: Cli) -> ExitCode {
    let settings = match Settings::from_cli(cli) {
        Ok(settings) => settings,
        Err(e) => return report_error(&e),
    };
    init_logging(&settings.output);
    let output = &settings.output;
    let result = match &settings.command {
        Command::Validate(s) => validate::run(output, s),
        Command::Plan(s) => block_on(plan::run(output, s)),
        Command::Apply(s) => block_on(apply::run(output, s)),
        Command::Services(s) => block_on(services::run(output, s)),
        Command::Emulator(s) => block_on(emulator::run(output, s)),
        Command::Completions(shell) => {
            clap_complete::generate(
                *shell,
                &mut Cli::command(),
                "svcbind",
                &mut std::io::stdout(),
            );
            Ok(ExitCode::Success)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => report_error(&e),
    }
}

/// Prints an error (unless it is a closed pipe, which ends quietly) and returns its exit code.
fn report_error(e: &anyhow::Error) -> ExitCode {
    if is_broken_pipe(e) {
        return ExitCode::Success;
    }
    if let Some(reported) = e.downcast_ref::<Reported>() {
        eprintln!("error: {reported}");
    } else {
        eprintln!("error: {}", crate::sanitize::controls(&format!("{e:#}")));
        let api_error = e
            .chain()
            .find_map(|c| c.downcast_ref::<crate::api::ApiError>());
        if let Some(hint) = api_error.and_then(api_hint) {
            eprintln!("  = hint: {hint}");
        }
    }
    ExitCode::Failure
}

fn block_on<F: Future<Output = anyhow::Result<ExitCode>>>(f: F) -> anyhow::Result<ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(f)
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn init_logging(output: &Output) {
    let level = match (output.quiet, output.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    // Only svcbind's own events: dependencies may log request details.
    let filter = tracing_subscriber::EnvFilter::new(format!("warn,svcbind={level}"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(output.color_stderr)
        .with_target(false)
        .without_time()
        .try_init();
}

/// What to do about an API error whose cause is predictable.
fn api_hint(e: &crate::api::ApiError) -> Option<&'static str> {
    use crate::api::error::codes;
    let codes = e.codes();
    if codes.contains(&codes::NO_ROUTE) {
        Some(
            "the API does not know this account: check `account_id`, --account-id or CLOUDFLARE_ACCOUNT_ID",
        )
    } else if e.is_auth() {
        Some(
            "the API refused the credentials: check CLOUDFLARE_API_TOKEN (or --api-token-file); plan needs the \"IP Prefixes: Read\" permission, apply \"IP Prefixes: Edit\"",
        )
    } else {
        None
    }
}
