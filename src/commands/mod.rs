//! The commands: each turns settings into work and output, and returns an exit code.
//!
//! This is the edge of the program: errors get their context here (anyhow), are printed once
//! by [`run`], and become exit codes. The stages below (config, resolve, plan, apply, render)
//! return values and never print.

mod apply;
mod plan;
mod services;
mod validate;

use std::io::Write;

use anyhow::Context as _;
use clap::CommandFactory;

use crate::cli::{Cli, Command};
use crate::config::{self, Diagnostics, Loaded, Mode};
use crate::exit::ExitCode;
use crate::model::StateFile;
use crate::plan::{Plan, rehearse};
use crate::resolve::{self, ResolveError, Resolved};
use crate::settings::{Backend, Settings};

/// An error whose details were already printed (diagnostics); only the exit code remains.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Reported(pub String);

/// Runs one invocation and returns its exit code. Errors are printed here, once.
pub fn run(cli: Cli) -> ExitCode {
    let settings = Settings::from_args(&cli.global);
    init_logging(&settings);
    let result = match cli.command {
        Command::Validate => validate::run(&settings),
        Command::Plan(args) => block_on(plan::run(&settings, &args)),
        Command::Apply(args) => block_on(apply::run(&settings, &args)),
        Command::Services => block_on(services::run(&settings)),
        Command::Emulator(args) => block_on(emulator(&args)),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "svcbind",
                &mut std::io::stdout(),
            );
            Ok(ExitCode::Success)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::Success,
        Err(e) => {
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
    }
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

fn init_logging(settings: &Settings) {
    let level = match (settings.quiet, settings.verbose) {
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
        .with_ansi(settings.color_stderr)
        .with_target(false)
        .without_time()
        .try_init();
}

async fn emulator(args: &crate::cli::EmulatorArgs) -> anyhow::Result<ExitCode> {
    let seed = match &args.seed {
        Some(path) => Some(load_file(path, Mode::Seed, false, false)?.state),
        None => None,
    };
    let options = crate::emulator::EmulatorOptions {
        token: args.token.clone(),
        provisioning_delay: args.provisioning_delay,
        latency: args.latency,
        rate_limit: args.rate_limit,
    };
    crate::emulator::run(seed.as_ref(), args.listen, options).await?;
    Ok(ExitCode::Success)
}

/// Loads a file and prints its diagnostics (warnings, or everything when it is invalid).
fn load_file(
    path: &std::path::Path,
    mode: Mode,
    color: bool,
    github_actions: bool,
) -> anyhow::Result<Loaded> {
    match config::load(path, mode) {
        Ok(loaded) => {
            print_diagnostics(&loaded.warnings, color, github_actions)?;
            Ok(loaded)
        }
        Err(config::LoadError::Invalid(diagnostics)) => {
            print_diagnostics(&diagnostics, color, github_actions)?;
            Err(Reported(format!(
                "{} is not valid ({})",
                path.display(),
                problem_count(&diagnostics)
            ))
            .into())
        }
        Err(e) => Err(e.into()),
    }
}

fn problem_count(d: &Diagnostics) -> String {
    let (errors, warnings) = (d.error_count(), d.warning_count());
    let mut s = crate::render::count(errors, "error", "errors");
    if warnings > 0 {
        s.push_str(&format!(
            ", {}",
            crate::render::count(warnings, "warning", "warnings")
        ));
    }
    s
}

fn print_diagnostics(d: &Diagnostics, color: bool, github_actions: bool) -> anyhow::Result<()> {
    if d.is_empty() {
        return Ok(());
    }
    // Workflow commands go to stderr too (the runner reads both streams), so that stdout
    // stays one document with `--format json` or `markdown`.
    let mut err = std::io::stderr().lock();
    d.render(&mut err, color)?;
    if github_actions {
        d.render_github(&mut err)?;
    }
    err.flush()?;
    Ok(())
}

/// Diagnostics, located in the file, for what resolution found wrong.
fn problem_diagnostics(file: &Loaded, problems: &[resolve::Problem]) -> Diagnostics {
    let mut d = Diagnostics::new();
    for p in problems {
        d.push(file.diagnostic(
            config::Severity::Error,
            p.location,
            p.message.clone(),
            p.hint.clone(),
        ));
    }
    d
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

/// Loads the `--emulate` seed, if any, printing its diagnostics.
fn load_seed(settings: &Settings) -> anyhow::Result<Option<StateFile>> {
    settings
        .emulate
        .as_deref()
        .map(|path| {
            load_file(
                path,
                Mode::Seed,
                settings.color_stderr,
                settings.github_actions,
            )
            .map(|loaded| loaded.state)
        })
        .transpose()
}

/// Everything `plan` and `apply` share: the file, the account, the live state and the plan.
pub(crate) struct Prepared {
    pub file: Loaded,
    pub backend: Backend,
    pub resolved: Resolved,
    pub plan: Plan,
}

impl Prepared {
    pub fn state(&self) -> &StateFile {
        &self.file.state
    }
}

/// Loads and validates the file, reads the account, plans, and rehearses the plan.
pub(crate) async fn prepare(settings: &Settings) -> anyhow::Result<Prepared> {
    let file = load_file(
        &settings.config,
        Mode::Desired,
        settings.color_stderr,
        settings.github_actions,
    )?;
    let seed = load_seed(settings)?;
    let account_id = settings.account_id(&file.state, seed.as_ref())?;
    let backend = Backend::connect(settings, &account_id, seed)?;
    let resolved = match resolve::resolve(
        &backend,
        &file.state,
        &settings.prefixes,
        settings.concurrency,
    )
    .await
    {
        Ok(r) => r,
        Err(ResolveError::Problems(problems)) => {
            let diagnostics = problem_diagnostics(&file, &problems);
            print_diagnostics(&diagnostics, settings.color_stderr, settings.github_actions)?;
            return Err(Reported(format!(
                "{} does not match the account ({})",
                settings.config.display(),
                problem_count(&diagnostics)
            ))
            .into());
        }
        Err(ResolveError::Api(e)) => {
            return Err(anyhow::Error::new(e).context("cannot read the live bindings"));
        }
        Err(e) => return Err(e.into()),
    };
    let plan = crate::plan::plan(account_id, &resolved.prefixes)?;
    rehearse::rehearse(&plan, &resolved.prefixes, &resolved.services)
        .context("internal error: the plan breaks the API's rules; please report this as a bug")?;
    Ok(Prepared {
        file,
        backend,
        resolved,
        plan,
    })
}
