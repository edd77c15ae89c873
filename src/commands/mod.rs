//! The commands: the edge of the program, where settings become work, output and an exit code.
//!
//! Each command composes the steps of [`steps`] it needs, in this order: **load** the
//! desired-state file (printing its diagnostics), **connect** to the account (the backend:
//! the network or an emulated account), **resolve** the file against the live state, **plan**
//! (and rehearse the plan). `validate` only loads; `services` connects; `plan`, `apply` and
//! `drift` run the first three or all four; `export`, `show` and `route` connect and read the
//! account (or, with `--desired`, only load). Errors get their context here (anyhow), are
//! printed once by [`run`] and become exit codes; the stages below return values and never
//! print. Everything here writes through [`out`], never the `print!` family (which panics when
//! a stream fails), and `apply` takes Ctrl-C and SIGTERM over through [`signals`] while its
//! steps run.
//!
//! A command asked for `--format json` or `markdown` always leaves a document on stdout, so a
//! bot has something to post: its own, or, when it fails before writing one, the error
//! document that [`run`] (and [`usage_error`], for a command line clap refused) writes here,
//! once for every command: JSON `kind: "error"` with the message and the exit code, markdown
//! a short error under the command's marker (`<!-- svcbind:plan -->`, …).

mod apply;
mod drift;
mod emulator;
mod export;
mod git;
mod out;
mod plan;
mod route;
mod saved;
mod services;
mod show;
mod signals;
mod steps;
mod validate;

use std::ffi::OsString;
use std::io::Write as _;

use anyhow::Context as _;
use clap::{CommandFactory, ValueEnum as _};

use crate::cli::{self, Cli};
use crate::config::Diagnostics;
use crate::exit::ExitCode;
use crate::render::Format;
use crate::settings::{Command, Output, Settings};

/// An error whose details were already printed (the file's diagnostics, which the error
/// document carries too); only the message and the exit code remain.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Reported {
    pub message: String,
    pub diagnostics: Diagnostics,
}

/// `apply` refused before it changed anything: exit 3.
#[derive(Debug, thiserror::Error)]
#[error("apply refused: {0}")]
pub struct Refused(pub String);

/// Which command runs and the format of its stdout: what the error document needs.
#[derive(Debug, Clone)]
struct Edge {
    command: String,
    format: Format,
    /// `--report FILE` of `apply` and `drift`: where the error document goes too when the
    /// command fails before it wrote its report.
    report: Option<std::path::PathBuf>,
}

/// Set once a command wrote its `--report` file: an error after that leaves the file alone.
static REPORT_WRITTEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Notes that the `--report` file holds the command's report.
pub(crate) fn report_written() {
    REPORT_WRITTEN.store(true, std::sync::atomic::Ordering::SeqCst);
}

impl Edge {
    fn of(cli: &Cli) -> Self {
        let (command, output) = match &cli.command {
            cli::Command::Validate(args) => ("validate", Some(&args.output)),
            cli::Command::Plan(args) => ("plan", Some(&args.output)),
            cli::Command::Apply(args) => ("apply", Some(&args.output)),
            cli::Command::Services(args) => ("services", Some(&args.output)),
            cli::Command::Drift(args) => ("drift", Some(&args.output)),
            cli::Command::Export(_) => ("export", None),
            cli::Command::Show(args) => ("show", Some(&args.output)),
            cli::Command::Route(args) => ("route", Some(&args.output)),
            cli::Command::Emulator(_) => ("emulator", None),
            cli::Command::Completions(_) => ("completions", None),
        };
        let report = match &cli.command {
            cli::Command::Apply(args) => args.report.clone(),
            cli::Command::Drift(args) => args.report.clone(),
            _ => None,
        };
        Self {
            command: command.to_owned(),
            format: output.map_or(Format::Text, |o| crate::settings::format(o.format)),
            report,
        }
    }
}

/// Runs one invocation and returns its exit code. Errors are printed here, once.
pub fn run(cli: Cli) -> ExitCode {
    let edge = Edge::of(&cli);
    let settings = match Settings::from_cli(cli) {
        Ok(settings) => settings,
        Err(e) => return report_error(&e, &edge),
    };
    init_logging(&settings.output);
    let output = &settings.output;
    let result = match &settings.command {
        Command::Validate(s) => validate::run(output, s),
        Command::Plan(s) => block_on(plan::run(output, s)),
        Command::Apply(s) => block_on(apply::run(output, s)),
        Command::Services(s) => block_on(services::run(output, s)),
        Command::Drift(s) => block_on(drift::run(output, s)),
        Command::Export(s) => block_on(export::run(output, s)),
        Command::Show(s) => block_on(show::run(output, s)),
        Command::Route(s) => block_on(route::run(output, s)),
        Command::Emulator(s) => block_on(emulator::run(output, s)),
        Command::Completions(shell) => completions(*shell),
    };
    match result {
        Ok(code) => code,
        Err(e) => report_error(&e, &edge),
    }
}

/// Prints an error (unless it is a closed pipe, which ends quietly), writes the error
/// document when a format asks for one, and returns the exit code.
fn report_error(e: &anyhow::Error, edge: &Edge) -> ExitCode {
    if is_broken_pipe(e) {
        return ExitCode::Success;
    }
    let code = if e.downcast_ref::<Refused>().is_some() {
        ExitCode::Refused
    } else {
        ExitCode::Failure
    };
    let empty = Diagnostics::new();
    let (message, hint, diagnostics) = match e.downcast_ref::<Reported>() {
        Some(reported) => (reported.message.clone(), None, &reported.diagnostics),
        None => {
            let api_error = e
                .chain()
                .find_map(|c| c.downcast_ref::<crate::api::ApiError>());
            (
                crate::sanitize::controls(&format!("{e:#}")).into_owned(),
                api_error.and_then(api_hint),
                &empty,
            )
        }
    };
    out::stderr_line(format_args!("error: {message}"));
    if let Some(hint) = &hint {
        out::stderr_line(format_args!("  = hint: {hint}"));
    }
    write_error_document(edge, code, &message, hint.as_deref(), diagnostics);
    if !REPORT_WRITTEN.load(std::sync::atomic::Ordering::SeqCst) {
        write_error_report(edge, code, &message, hint.as_deref(), diagnostics);
    }
    code
}

/// Writes the JSON error document to the `--report` file, if the command has one, so that a
/// pipeline has a file to keep whenever the command ran. A failure to write it is a warning.
fn write_error_report(
    edge: &Edge,
    code: ExitCode,
    message: &str,
    hint: Option<&str>,
    diagnostics: &Diagnostics,
) {
    let Some(path) = &edge.report else {
        return;
    };
    let mut json = Vec::new();
    let doc =
        crate::render::json::error_document(&edge.command, code.code(), message, hint, diagnostics);
    let written = crate::render::json::write_document(&mut json, &doc)
        .map_err(|e| e.to_string())
        .and_then(|()| std::fs::write(path, json).map_err(|e| e.to_string()));
    if let Err(e) = written {
        out::stderr_line(format_args!(
            "warning: cannot write the error document to --report {}: {e}",
            path.display()
        ));
    }
}

/// A command line clap refused (or `--help`, `--version`): prints clap's message and, when the
/// command and a `--format json|markdown` can be told from the arguments (or
/// `SVCBIND_FORMAT`), the error document. `args` starts with the program name.
pub fn usage_error(e: &clap::Error, args: &[OsString]) -> ExitCode {
    let printed = e.print();
    // Help and version go to stdout and succeed, unless stdout fails (a closed pipe ends
    // quietly); a usage error is an error (exit 1, not clap's 2, which
    // `plan --detailed-exitcode` means "changes").
    if !e.use_stderr() {
        return match printed {
            Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => {
                out::stderr_line(format_args!("error: cannot write to stdout: {err}"));
                ExitCode::Failure
            }
            _ => ExitCode::Success,
        };
    }
    let env = std::env::var("SVCBIND_FORMAT").ok();
    let requested = requested_edge(args, env.as_deref());
    if let Some((command, report)) = requested_report(args) {
        let text = e.render().to_string();
        let message = text.lines().next().unwrap_or_default();
        let message = message.strip_prefix("error: ").unwrap_or(message);
        let hint = format!("see `svcbind {command} --help`");
        let edge = Edge {
            command,
            format: Format::Json,
            report: Some(report),
        };
        write_error_report(
            &edge,
            ExitCode::Failure,
            message,
            Some(&hint),
            &Diagnostics::new(),
        );
    }
    if let Some(edge) = requested {
        let text = e.render().to_string();
        let mut lines = text.lines();
        let message = lines
            .next()
            .map(|l| l.strip_prefix("error: ").unwrap_or(l).to_owned())
            .unwrap_or_default();
        let tips: Vec<&str> = lines
            .filter_map(|l| l.trim_start().strip_prefix("tip: "))
            .collect();
        let hint = if tips.is_empty() {
            format!("see `svcbind {} --help`", edge.command)
        } else {
            tips.join("; ")
        };
        write_error_document(
            &edge,
            ExitCode::Failure,
            &message,
            Some(&hint),
            &Diagnostics::new(),
        );
    }
    ExitCode::Failure
}

/// The command and the document format a command line clap refused asks for, when both can be
/// told: the first argument that names a command taking `--format`, and the last `--format X`
/// (or `--format=X`) after it, else `env` (`SVCBIND_FORMAT`). `None` for text or when unsure.
fn requested_edge(args: &[OsString], env: Option<&str>) -> Option<Edge> {
    let cli = Cli::command();
    let words: Vec<&str> = args
        .iter()
        .skip(1)
        .map(|a| a.to_str())
        .collect::<Option<_>>()?;
    let at = words
        .iter()
        .position(|w| cli.find_subcommand(w).is_some())?;
    let command = cli.find_subcommand(words[at])?;
    if !command
        .get_arguments()
        .any(|a| a.get_long() == Some("format"))
    {
        return None;
    }
    let mut value = None;
    let mut rest = words[at + 1..].iter();
    while let Some(word) = rest.next() {
        match *word {
            "--" => break,
            "--format" => value = rest.next().copied(),
            _ => {
                if let Some(v) = word.strip_prefix("--format=") {
                    value = Some(v);
                }
            }
        }
    }
    let format = cli::Format::from_str(value.or(env)?, false).ok()?;
    let edge = Edge {
        command: command.get_name().to_owned(),
        format: crate::settings::format(format),
        report: None,
    };
    (edge.format != Format::Text).then_some(edge)
}

/// The command and its `--report FILE` (or `--report=FILE`) in a command line clap refused,
/// for `apply` and `drift`.
fn requested_report(args: &[OsString]) -> Option<(String, std::path::PathBuf)> {
    let words: Vec<&str> = args
        .iter()
        .skip(1)
        .map(|a| a.to_str())
        .collect::<Option<_>>()?;
    let at = words.iter().position(|w| ["apply", "drift"].contains(w))?;
    let mut report = None;
    let mut rest = words[at + 1..].iter();
    while let Some(word) = rest.next() {
        match *word {
            "--" => break,
            "--report" => report = rest.next().copied(),
            _ => {
                if let Some(v) = word.strip_prefix("--report=") {
                    report = Some(v);
                }
            }
        }
    }
    Some((
        words[at].to_owned(),
        std::path::PathBuf::from(report.filter(|r| !r.is_empty())?),
    ))
}

/// Writes the error document on stdout in the edge's format (nothing for text). A failure to
/// write it is not reported: the error itself already went to stderr.
fn write_error_document(
    edge: &Edge,
    code: ExitCode,
    message: &str,
    hint: Option<&str>,
    diagnostics: &Diagnostics,
) {
    let mut out = std::io::stdout().lock();
    let written = match edge.format {
        Format::Text => return,
        Format::Json => crate::render::json::write_document(
            &mut out,
            &crate::render::json::error_document(
                &edge.command,
                code.code(),
                message,
                hint,
                diagnostics,
            ),
        ),
        Format::Markdown => crate::render::markdown::error(
            &mut out,
            &edge.command,
            code.code(),
            message,
            hint,
            diagnostics,
        ),
    };
    let _ = written.and_then(|()| out.flush());
}

/// `svcbind completions SHELL`: the script, written whole (clap_complete's own writer panics
/// when stdout fails).
fn completions(shell: clap_complete::Shell) -> anyhow::Result<ExitCode> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "svcbind", &mut script);
    let mut stdout = out::stdout();
    stdout.write_all(&script).and_then(|()| stdout.flush())?;
    Ok(ExitCode::Success)
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
        // A failed write to stderr is dropped, never reported on stderr (which would panic).
        .log_internal_errors(false)
        .try_init();
}

/// The `-c` flags of a suggested command, each path as the shell takes it: ` -c a.yaml -c
/// 'my dir'`, or nothing when none were given (the command then reads what this one read).
pub(crate) fn config_flags(given: &[std::path::PathBuf]) -> String {
    given
        .iter()
        .map(|p| format!(" -c {}", shell_word(&p.display().to_string())))
        .collect()
}

/// `word` as a POSIX shell reads it back: as it is when it holds only safe characters, else
/// in single quotes.
pub(crate) fn shell_word(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "/._-+:@%,=".contains(c);
    let word = crate::sanitize::text(word);
    if !word.is_empty() && word.chars().all(safe) {
        word.into_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// What to do about an API error whose cause is predictable.
fn api_hint(e: &crate::api::ApiError) -> Option<String> {
    use crate::api::ApiErrorKind;
    use crate::api::error::codes;
    let codes = e.codes();
    // A route the server does not know ("No route for that URI", or a 404 page that is not
    // the API's envelope): most often a base URL without its /client/v4.
    let no_such_route = codes.contains(&codes::UNKNOWN_ROUTE)
        || matches!(e.kind, ApiErrorKind::NotJson { status: 404, .. });
    if codes.contains(&codes::NO_ROUTE) {
        Some(
            "the API does not know this account: check `account_id`, --account-id or CLOUDFLARE_ACCOUNT_ID".to_owned(),
        )
    } else if no_such_route {
        let used = e
            .details
            .base_url
            .as_deref()
            .map(|url| format!(" (this run used {})", crate::sanitize::text(url)))
            .unwrap_or_default();
        Some(format!(
            "the server knows no such route: check the base URL{used}; it usually ends in /client/v4, as https://api.cloudflare.com/client/v4 does (--api-url or CLOUDFLARE_BASE_URL)"
        ))
    } else if e.is_auth() {
        Some(steps::auth_hint().to_owned())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(args: &[&str], env: Option<&str>) -> Option<(String, Format)> {
        let args: Vec<OsString> = std::iter::once("svcbind")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect();
        requested_edge(&args, env).map(|e| (e.command, e.format))
    }

    #[test]
    fn a_refused_command_line_still_names_its_format_when_it_can() {
        let json = Some(("plan".to_owned(), Format::Json));
        assert_eq!(edge(&["plan", "--format", "json", "--nope"], None), json);
        assert_eq!(edge(&["-v", "plan", "--nope", "--format=json"], None), json);
        assert_eq!(edge(&["plan", "--nope"], Some("json")), json);
        // The flag wins over the environment; the last one counts, as with clap.
        assert_eq!(
            edge(
                &["validate", "--format", "text", "--format", "markdown", "-x"],
                Some("json")
            ),
            Some(("validate".to_owned(), Format::Markdown))
        );
        // Text, unknown values, commands without --format, a flag before the command, and
        // whatever follows `--`: no document.
        assert_eq!(
            edge(&["plan", "--format", "text", "--nope"], Some("json")),
            None
        );
        assert_eq!(edge(&["plan", "--format", "yaml"], None), None);
        assert_eq!(edge(&["emulator", "--format", "json"], None), None);
        assert_eq!(edge(&["--format", "json", "plan"], None), None);
        assert_eq!(edge(&["apply", "--", "--format", "json"], None), None);
        assert_eq!(edge(&["nope", "--format", "json"], None), None);
    }
}
