//! The command line as clap parses it: raw arguments, one struct per subcommand ([`Cli`]).
//!
//! This module only declares. It imports nothing from the crate: `settings` turns these raw
//! values into typed settings (the account id, the prefix selectors, the formats, the limits),
//! and nothing else reads them.
//!
//! Each subcommand takes only the flags that apply to it. Flags that several subcommands share
//! are grouped ([`FileArgs`], [`ConnectArgs`], [`PrefixArgs`], [`OutputArgs`], [`Limits`]) and
//! flattened where they apply, so a new command picks the groups it needs and a new flag of a
//! group reaches every command that takes the group. Only `-v` and `-q` are global.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::StyledStr;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::parser::ValueSource;
use clap::{Args, CommandFactory, FromArgMatches as _, Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
Credentials: the API token is read from CLOUDFLARE_API_TOKEN or from --api-token-file, never \
from a flag. The legacy CLOUDFLARE_API_KEY + CLOUDFLARE_EMAIL pair is accepted too. When several \
are set, the first of --api-token-file, CLOUDFLARE_API_TOKEN, the legacy pair is used (a note on \
stderr says which).

Environment (each stands for the flag of the commands that take it; a flag wins):
  CLOUDFLARE_API_TOKEN         the API token (no flag, so it never lands in shell history)
  CLOUDFLARE_API_KEY, CLOUDFLARE_EMAIL
                               the legacy key and its account's email, instead of a token
  CLOUDFLARE_ACCOUNT_ID        --account-id
  CLOUDFLARE_BASE_URL          --api-url
  SVCBIND_CONFIG               -c, --config (default svcbind.yaml; several paths as in PATH)
  SVCBIND_API_TOKEN_FILE       --api-token-file
  SVCBIND_EMULATE              --emulate
  SVCBIND_FORMAT               --format
  SVCBIND_COLOR                --color (NO_COLOR turns colour off with auto)
  SVCBIND_CONCURRENCY          --concurrency
  SVCBIND_MAX_DELETES          --max-deletes
  SVCBIND_MAX_DELETE_PERCENT   --max-delete-percent
  SVCBIND_TIMEOUT              --timeout
  SVCBIND_MAX_RETRY_WAIT       --max-retry-wait
  SVCBIND_REQUEST_BUDGET       --request-budget
  SVCBIND_REQUEST_WINDOW       --request-window
  SVCBIND_ALLOW_INSECURE_HTTP  --allow-insecure-http
  SVCBIND_EMULATOR_TOKEN       emulator --token
  GITHUB_ACTIONS=true          validation problems are also printed as ::error annotations

Exit codes: 0 done or in sync, 1 error, 2 changes (plan --detailed-exitcode) or drift, \
3 apply refused, 130 interrupted. `svcbind COMMAND --help` shows each command's examples.

Try it without an account: svcbind plan -c examples/bindings.yaml --emulate examples/live.yaml";

const VALIDATE_HELP: &str = "\
Examples:
  svcbind validate -c svcbind.yaml
  svcbind validate --format json > validation.json

Under GITHUB_ACTIONS=true each problem is also printed as an ::error annotation on the file.

Exit codes: 0 valid (warnings alone included), 1 errors.";

const PLAN_HELP: &str = "\
Examples:
  svcbind plan --out plan.json --format markdown > plan.md
  svcbind plan --changed-since origin/main --detailed-exitcode

Exit codes: 0 planned; 2 there are changes (only with --detailed-exitcode); 1 error.";

const APPLY_HELP: &str = "\
Examples:
  svcbind apply plan.json --yes --wait=6h
  svcbind apply --prefix 192.0.2.0/24

Exit codes: 0 done (or nothing to do); 1 a step failed, --wait ran out of time, or an error; \
3 refused, nothing changed (a saved plan that is stale or for another account, a safety rule \
without --force, not confirmed); 130 interrupted (Ctrl-C, SIGTERM), after the step in flight.";

const SERVICES_HELP: &str = "\
Examples:
  svcbind services --account-id 023e105f4ecef8ad9ca31a8372d0c353
  svcbind services --format json

Exit codes: 0 listed, 1 error.";

const DRIFT_HELP: &str = "\
Examples:
  svcbind drift --format markdown --report drift.json > drift.md
  svcbind drift --prefix 192.0.2.0/24

Exit codes: 0 in sync, 2 drift, 1 error.";

const EXPORT_HELP: &str = "\
Examples:
  svcbind export -o svcbind.yaml
  svcbind export --prefix 192.0.2.0/24 --account-id 023e105f4ecef8ad9ca31a8372d0c353

Exit codes: 0 written, 1 error (an existing -o file without --force included).";

const SHOW_HELP: &str = "\
Examples:
  svcbind show --prefix 192.0.2.0/24
  svcbind show --desired -c svcbind.yaml

Exit codes: 0 shown, 1 error.";

const ROUTE_HELP: &str = "\
Examples:
  svcbind route 192.0.2.17 2001:db8:1000::1
  svcbind route --desired 192.0.2.17

Exit codes: 0 answered, 1 error (an address in no prefix of the account or file included).";

const EMULATOR_HELP: &str = "\
Examples:
  svcbind emulator --seed examples/live.yaml --token test-token
  svcbind emulator --listen 127.0.0.1:0 --token test-token --provisioning-delay 30s

Then: CLOUDFLARE_BASE_URL=http://127.0.0.1:8787/client/v4 CLOUDFLARE_API_TOKEN=test-token \
svcbind plan

Exit codes: runs until stopped (Ctrl-C or SIGTERM: 0); 1 when it cannot start (an invalid \
seed, an address in use).";

const COMPLETIONS_HELP: &str = "\
Examples:
  svcbind completions bash > ~/.local/share/bash-completion/completions/svcbind
  svcbind completions fish > ~/.config/fish/completions/svcbind.fish

Exit codes: 0 printed, 1 an unknown shell.";

/// Keep Cloudflare BYOIP service bindings in Git: validate, plan and apply them safely.
#[derive(Debug, Parser)]
#[command(name = "svcbind", version, after_help = AFTER_HELP, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parses `args` (the program name first), explaining a flag that exists but not on the
    /// subcommand it was given to.
    pub fn parse_args<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        if let Some(e) = wait_value_apart(&args) {
            return Err(e);
        }
        let matches = Self::command()
            .try_get_matches_from(&args)
            .map_err(|e| name_env_source(explain_misplaced_flag(e, &args), &args))?;
        let mut cli = Self::from_arg_matches(&matches)?;
        if let Some((_, sub)) = matches.subcommand() {
            let from_command_line = |id: &str| {
                sub.try_get_raw(id).is_ok()
                    && sub.value_source(id) == Some(ValueSource::CommandLine)
            };
            if from_command_line("account_id")
                && sub
                    .try_get_one::<String>("account_id")
                    .ok()
                    .flatten()
                    .is_some_and(|id| id.trim().is_empty())
            {
                return Err(clap::Error::raw(
                    ErrorKind::InvalidValue,
                    "--account-id is empty; give the account id, or leave the flag out to use CLOUDFLARE_ACCOUNT_ID or `account_id` in the file\n",
                ));
            }
            if let Command::Apply(apply) = &mut cli.command {
                apply.limits.given = [
                    ("max_deletes", "--max-deletes"),
                    ("max_delete_percent", "--max-delete-percent"),
                ]
                .into_iter()
                .filter(|(id, _)| from_command_line(id))
                .map(|(_, flag)| flag)
                .collect();
            }
        }
        Ok(cli)
    }
}

/// The flags every subcommand takes.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// More detail on stderr (-v, -vv, -vvv).
    #[arg(short, long, action = clap::ArgAction::Count, global = true, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Only errors on stderr: no warnings (those of validation included), notes or progress;
    /// a report that cannot be written is still said.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the desired-state file offline: syntax, CIDRs, ids and the binding rules.
    #[command(after_help = VALIDATE_HELP)]
    Validate(ValidateArgs),

    /// Show what apply would change, in the order it would change it.
    #[command(after_help = PLAN_HELP)]
    Plan(PlanArgs),

    /// Change the account to match the file, in an order the API accepts.
    #[command(after_help = APPLY_HELP)]
    Apply(ApplyArgs),

    /// List the account's services (name and id).
    #[command(after_help = SERVICES_HELP)]
    Services(ServicesArgs),

    /// Tell whether the live bindings drifted from the file (read-only; exit 2 on drift).
    #[command(after_help = DRIFT_HELP)]
    Drift(DriftArgs),

    /// Write a desired-state file from the live account.
    #[command(after_help = EXPORT_HELP)]
    Export(ExportArgs),

    /// Show each prefix's bindings as a tree of nested CIDRs, and which service gets what.
    #[command(after_help = SHOW_HELP)]
    Show(ShowArgs),

    /// Tell which service gets each address, and by which binding.
    #[command(after_help = ROUTE_HELP)]
    Route(RouteArgs),

    /// Serve the emulated Cloudflare API over HTTP, for tests and pipelines.
    #[command(after_help = EMULATOR_HELP)]
    Emulator(EmulatorArgs),

    /// Print a shell completion script.
    #[command(after_help = COMPLETIONS_HELP)]
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub file: FileArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Exit 2 when there are changes (0 when there are none).
    #[arg(long)]
    pub detailed_exitcode: bool,

    /// Also save the plan (its JSON document) to this file, for `svcbind apply PLAN.json` to
    /// carry out exactly as shown.
    #[arg(short = 'o', long, visible_alias = "output", value_name = "PLAN.json")]
    pub out: Option<PathBuf>,

    /// Plan only the prefixes whose entry in the file (bindings, `ignore`, pinned id) differs
    /// from the file at this git revision, and say which were skipped; every prefix when the
    /// file's other settings changed or it did not exist there. Runs `git` in the file's
    /// repository (in CI, fetch that revision: `fetch-depth: 0`).
    #[arg(long, value_name = "REF", conflicts_with = "prefixes")]
    pub changed_since: Option<String>,

    #[command(flatten)]
    pub limits: Limits,

    #[command(flatten)]
    pub file: FileArgs,

    #[command(flatten)]
    pub prefixes: PrefixArgs,

    #[command(flatten)]
    pub connect: ConnectArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved by `svcbind plan --out`: re-read the prefixes it changes, refuse if any of
    /// them changed since (nothing to do if it was applied already), else carry out exactly its
    /// steps with the safety limits it was checked with: --max-deletes and
    /// --max-delete-percent are refused, their variables ignored (without it: plan now, then
    /// apply).
    #[arg(value_name = "PLAN.json", conflicts_with = "prefixes")]
    pub plan: Option<PathBuf>,

    /// Apply without asking for confirmation.
    #[arg(short = 'y', long)]
    pub yes: bool,

    /// Allow what the safety rules refuse: deleting or replacing a prefix-wide binding, more
    /// deletes than --max-deletes or --max-delete-percent, and moving a protected range.
    #[arg(long)]
    pub force: bool,

    /// After the steps, read the changed prefixes back until every binding the apply created
    /// is active, for at most DURATION (6h when no value is given, at most 24h; the value
    /// only after `=`: --wait=10m); exit 1 if time runs out.
    #[arg(
        long,
        value_name = "DURATION",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "6h",
        value_parser = parse_duration
    )]
    pub wait: Option<Duration>,

    /// Also write the JSON apply report to this file, whatever --format is (also when apply
    /// refuses; when it fails before it has a report, the JSON error document: a pipeline
    /// always has a file to keep).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,

    #[command(flatten)]
    pub limits: Limits,

    #[command(flatten)]
    pub file: FileArgs,

    #[command(flatten)]
    pub prefixes: PrefixArgs,

    #[command(flatten)]
    pub connect: ConnectArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct ServicesArgs {
    /// The desired-state file (or directory; repeatable), read only for its `account_id` when
    /// --account-id is not given [default: SVCBIND_CONFIG, else svcbind.yaml].
    #[arg(short = 'c', long = "config", value_name = "FILE|DIR", action = clap::ArgAction::Append)]
    pub config: Vec<PathBuf>,

    #[command(flatten)]
    pub connect: ConnectArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct DriftArgs {
    /// Also write the JSON drift report to this file, whatever --format is (when drift fails
    /// before it has a report, the JSON error document).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,

    #[command(flatten)]
    pub file: FileArgs,

    #[command(flatten)]
    pub prefixes: PrefixArgs,

    #[command(flatten)]
    pub connect: ConnectArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Write the file here instead of to stdout.
    #[arg(
        short = 'o',
        long = "output",
        visible_alias = "out",
        value_name = "FILE"
    )]
    pub output: Option<PathBuf>,

    /// Overwrite the -o file if it exists.
    #[arg(long)]
    pub force: bool,

    /// The desired-state file (or directory; repeatable), read only for its `account_id` when
    /// --account-id is not given [default: SVCBIND_CONFIG, else svcbind.yaml].
    #[arg(short = 'c', long = "config", value_name = "FILE|DIR", action = clap::ArgAction::Append)]
    pub config: Vec<PathBuf>,

    #[command(flatten)]
    pub prefixes: PrefixArgs,

    #[command(flatten)]
    pub connect: ConnectArgs,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Show the bindings of the file (offline) instead of the live account's.
    #[arg(long)]
    pub desired: bool,

    #[command(flatten)]
    pub file: FileArgs,

    #[command(flatten)]
    pub prefixes: PrefixArgs,

    #[command(flatten)]
    pub connect: ConnectArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct RouteArgs {
    /// The addresses to look up (IPv4 or IPv6).
    #[arg(value_name = "IP", required = true)]
    pub addresses: Vec<std::net::IpAddr>,

    /// Answer from the file (offline) instead of the live account.
    #[arg(long)]
    pub desired: bool,

    #[command(flatten)]
    pub file: FileArgs,

    #[command(flatten)]
    pub connect: ConnectArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// The desired-state file, or files.
#[derive(Debug, Args)]
pub struct FileArgs {
    /// The desired-state file, or a directory whose `*.yaml` files are read in name order;
    /// repeat for more files of one desired state (for `show` and `route` without --desired,
    /// read only for its `account_id`) [default: SVCBIND_CONFIG (several paths separated by
    /// `:`, `;` on Windows), else svcbind.yaml].
    #[arg(short = 'c', long = "config", value_name = "FILE|DIR", action = clap::ArgAction::Append)]
    pub config: Vec<PathBuf>,
}

/// Where the account is and how to reach it.
#[derive(Debug, Args)]
#[command(next_help_heading = "Account and API")]
pub struct ConnectArgs {
    /// The Cloudflare account id (must agree with `account_id` in the file when both are set).
    #[arg(long, env = "CLOUDFLARE_ACCOUNT_ID", value_name = "ID")]
    pub account_id: Option<String>,

    /// Base URL of the Cloudflare API.
    #[arg(
        long,
        env = "CLOUDFLARE_BASE_URL",
        value_name = "URL",
        default_value = "https://api.cloudflare.com/client/v4"
    )]
    pub api_url: String,

    /// Read the API token from this file instead of CLOUDFLARE_API_TOKEN.
    #[arg(long, env = "SVCBIND_API_TOKEN_FILE", value_name = "FILE")]
    pub api_token_file: Option<PathBuf>,

    /// Use an in-process emulated account seeded from this file instead of the network.
    #[arg(long, env = "SVCBIND_EMULATE", value_name = "SEED.yaml")]
    pub emulate: Option<PathBuf>,

    /// Timeout of one API request (more than 0s, at most 24h).
    #[arg(
        long,
        env = "SVCBIND_TIMEOUT",
        value_name = "DURATION",
        default_value = "60s",
        value_parser = parse_positive_duration
    )]
    pub timeout: Duration,

    /// The longest wait the API may ask for (Retry-After of a 429) before a call is retried;
    /// a longer one fails the call, saying how long the API asked to wait.
    #[arg(
        long,
        env = "SVCBIND_MAX_RETRY_WAIT",
        value_name = "DURATION",
        default_value = "300s",
        value_parser = parse_duration
    )]
    pub max_retry_wait: Duration,

    /// At most this many API requests in any --request-window (half the account's 1,200 per
    /// 5 minutes by default, leaving the rest to other clients of the token); svcbind waits
    /// rather than meeting a 429.
    #[arg(
        long,
        env = "SVCBIND_REQUEST_BUDGET",
        value_name = "N",
        default_value_t = 600,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub request_budget: u32,

    /// The window of --request-budget (at most 1h).
    #[arg(
        long,
        env = "SVCBIND_REQUEST_WINDOW",
        value_name = "DURATION",
        default_value = "300s",
        value_parser = parse_window
    )]
    pub request_window: Duration,

    /// Send the API token over plain http:// to a host that is not this machine, where anyone
    /// on the way can read it (refused otherwise; http:// to loopback is always allowed)
    /// [env: SVCBIND_ALLOW_INSECURE_HTTP=1|0, true|false, yes|no, on|off; empty is unset].
    #[arg(long)]
    pub allow_insecure_http: bool,
}

/// Which prefixes to work on, and how many at once.
#[derive(Debug, Args)]
pub struct PrefixArgs {
    /// Only work on this prefix (its CIDR or id); repeat for more.
    #[arg(long = "prefix", value_name = "CIDR|ID")]
    pub prefixes: Vec<String>,

    /// How many prefixes to read or apply at the same time.
    #[arg(
        long,
        env = "SVCBIND_CONCURRENCY",
        value_name = "N",
        default_value_t = 8,
        value_parser = clap::value_parser!(u16).range(1..=64)
    )]
    pub concurrency: u16,
}

/// How a document is written on stdout.
#[derive(Debug, Args)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// Output format.
    #[arg(long, env = "SVCBIND_FORMAT", value_enum, default_value_t = Format::Text)]
    pub format: Format,

    #[command(flatten)]
    pub color: ColorArgs,
}

/// Whether to colour.
#[derive(Debug, Args)]
#[command(next_help_heading = "Output")]
pub struct ColorArgs {
    /// When to colour the output (NO_COLOR is honoured with `auto`).
    #[arg(long, env = "SVCBIND_COLOR", value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable, for terminals and logs.
    Text,
    /// For pull-request comments.
    Markdown,
    /// The versioned machine-readable contract (see schema/).
    Json,
}

/// Colour choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Safety limits, shared by `plan` (which warns) and `apply` (which refuses).
#[derive(Debug, Args)]
pub struct Limits {
    /// Deletes plus replaces allowed in one apply before --force is needed
    /// (default: `safety.max_deletes` in the file, else 10).
    #[arg(long, env = "SVCBIND_MAX_DELETES", value_name = "N")]
    pub max_deletes: Option<u32>,

    /// Deletes plus replaces allowed in one prefix, in percent of its live bindings, before
    /// --force is needed; applied to prefixes with at least 10 live bindings (default:
    /// `safety.max_delete_percent` in the file, else off).
    #[arg(
        long,
        env = "SVCBIND_MAX_DELETE_PERCENT",
        value_name = "PERCENT",
        value_parser = clap::value_parser!(u8).range(0..=100)
    )]
    pub max_delete_percent: Option<u8>,

    /// The limit flags given on the command line (not from the environment), by name: filled
    /// for `apply`, which refuses them with a saved plan and ignores their variables.
    #[arg(skip)]
    pub given: Vec<&'static str>,
}

#[derive(Debug, Args)]
pub struct EmulatorArgs {
    /// Address to listen on (loopback by default; port 0 picks a free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8787", value_parser = parse_listen)]
    pub listen: std::net::SocketAddr,

    /// Seed the account from this file (the desired-state format, with optional ids).
    #[arg(long, value_name = "FILE")]
    pub seed: Option<PathBuf>,

    /// The bearer token the emulator accepts (also as X-Auth-Key).
    #[arg(
        long,
        env = "SVCBIND_EMULATOR_TOKEN",
        value_name = "T",
        hide_env_values = true
    )]
    pub token: String,

    /// How long a new binding stays `provisioning` before it turns `active`.
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = parse_duration)]
    pub provisioning_delay: Duration,

    /// Latency added to every API answer.
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = parse_duration)]
    pub latency: Duration,

    /// Answer 429 like the real limit after N requests in SECS seconds (e.g. 1200/300).
    #[arg(long, value_name = "N/SECS", value_parser = parse_rate_limit)]
    pub rate_limit: Option<(u32, Duration)>,
}

/// The longest duration a flag takes (timeouts, waits, delays): a day.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

/// The longest `--request-window`: an hour (the API's own window is 5 minutes).
pub const MAX_WINDOW: Duration = Duration::from_secs(3600);

/// Parses `250ms`, `10s`, `6h`, `1h30m`, up to [`MAX_DURATION`].
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s)
        .map_err(|e| format!("{e} (expected a duration such as 500ms, 10s, 6h)"))?;
    if d > MAX_DURATION {
        return Err(String::from("must be at most 24h"));
    }
    Ok(d)
}

/// Parses `--request-window`: more than zero, at most [`MAX_WINDOW`].
pub fn parse_window(s: &str) -> Result<Duration, String> {
    match parse_positive_duration(s)? {
        d if d > MAX_WINDOW => Err(String::from(
            "must be at most 1h (the API's own window is 5m)",
        )),
        d => Ok(d),
    }
}

/// Parses the emulator's `--listen`: `IP:PORT`, or `localhost:PORT` (the IPv4 loopback).
/// Other host names are refused rather than looked up.
pub fn parse_listen(s: &str) -> Result<std::net::SocketAddr, String> {
    if let Ok(addr) = s.parse() {
        return Ok(addr);
    }
    match s.rsplit_once(':') {
        Some((host, port)) if host.eq_ignore_ascii_case("localhost") => port
            .parse::<u16>()
            .map(|port| std::net::SocketAddr::from(([127, 0, 0, 1], port)))
            .map_err(|_| format!("`{port}` is not a port (0 to 65535)")),
        _ => Err(String::from(
            "expected IP:PORT, e.g. 127.0.0.1:8787, [::1]:8787 or localhost:8787",
        )),
    }
}

/// `apply --wait 10m`: `--wait` takes its value only after `=`, so `10m` would be read as the
/// plan file. Refused with the spelling that works when the word after a bare `--wait` of
/// `apply` is a duration.
fn wait_value_apart(args: &[OsString]) -> Option<clap::Error> {
    let words: Vec<&str> = args.iter().skip(1).filter_map(|a| a.to_str()).collect();
    let apply = words.iter().position(|w| *w == "apply")?;
    let rest = &words[apply + 1..];
    let rest = &rest[..rest.iter().position(|w| *w == "--").unwrap_or(rest.len())];
    rest.windows(2)
        .find(|pair| pair[0] == "--wait" && humantime::parse_duration(pair[1]).is_ok())
        .map(|pair| {
            clap::Error::raw(
                ErrorKind::ValueValidation,
                format!(
                    "--wait takes its value after `=`: --wait={} (`{}` was read as the plan file)\n",
                    pair[1], pair[1]
                ),
            )
        })
}

/// Names the environment variable in an invalid-value error when the value came from it (the
/// flag is not on the command line and its variable is set): `invalid value 'JSON' for
/// SVCBIND_FORMAT (--format)`.
fn name_env_source(err: clap::Error, args: &[OsString]) -> clap::Error {
    if !matches!(
        err.kind(),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation
    ) {
        return err;
    }
    let Some(ContextValue::String(invalid)) = err.get(ContextKind::InvalidArg) else {
        return err;
    };
    let flag = invalid.split([' ', '=']).next().unwrap_or_default();
    let Some(long) = flag.strip_prefix("--") else {
        return err;
    };
    let cli = Cli::command();
    let words: Vec<&str> = args.iter().skip(1).filter_map(|a| a.to_str()).collect();
    let Some(sub) = words.iter().find_map(|w| cli.find_subcommand(w)) else {
        return err;
    };
    let Some(env) = sub
        .get_arguments()
        .find(|a| a.get_long() == Some(long))
        .and_then(clap::Arg::get_env)
        .map(|e| e.to_string_lossy().into_owned())
    else {
        return err;
    };
    let on_command_line = words
        .iter()
        .any(|w| *w == flag || w.strip_prefix(flag).is_some_and(|r| r.starts_with('=')));
    if on_command_line || std::env::var_os(&env).is_none() {
        return err;
    }
    let text = err.render().to_string();
    let text = text.strip_prefix("error: ").unwrap_or(&text);
    let text = text.replacen(&format!("'{invalid}'"), &format!("{env} ({flag})"), 1);
    clap::Error::raw(err.kind(), text)
}

/// Parses a duration like [`parse_duration`] that must be more than zero.
pub fn parse_positive_duration(s: &str) -> Result<Duration, String> {
    match parse_duration(s)? {
        d if d.is_zero() => Err(String::from("must be more than 0s, e.g. 60s")),
        d => Ok(d),
    }
}

/// Parses `N/SECS`, e.g. `1200/300`.
pub fn parse_rate_limit(s: &str) -> Result<(u32, Duration), String> {
    let (n, secs) = s
        .split_once('/')
        .ok_or_else(|| format!("`{s}` is not N/SECS (e.g. 1200/300)"))?;
    let n: u32 = n
        .trim()
        .parse()
        .map_err(|_| format!("`{n}` is not a number of requests"))?;
    let secs: u64 = secs
        .trim()
        .parse()
        .map_err(|_| format!("`{secs}` is not a number of seconds"))?;
    if n == 0 || secs == 0 {
        return Err("both N and SECS must be at least 1".into());
    }
    if secs > MAX_WINDOW.as_secs() {
        return Err(format!(
            "SECS must be at most {} (an hour)",
            MAX_WINDOW.as_secs()
        ));
    }
    Ok((n, Duration::from_secs(secs)))
}

/// Adds a tip to "unexpected argument" when the flag belongs to other subcommands: which one
/// was given it, and which ones take it.
fn explain_misplaced_flag(mut err: clap::Error, args: &[OsString]) -> clap::Error {
    if err.kind() != ErrorKind::UnknownArgument {
        return err;
    }
    let Some(ContextValue::String(given)) = err.get(ContextKind::InvalidArg) else {
        return err;
    };
    let flag = given.split_once('=').map_or(given.as_str(), |(f, _)| f);
    let cli = Cli::command();
    let takes = |sub: &clap::Command| {
        sub.get_arguments().any(|a| {
            let long = a.get_long().map(|l| format!("--{l}"));
            let short = a.get_short().map(|s| format!("-{s}"));
            long.as_deref() == Some(flag) || short.as_deref() == Some(flag)
        })
    };
    let takers: Vec<&str> = cli
        .get_subcommands()
        .filter(|s| takes(s))
        .map(clap::Command::get_name)
        .collect();
    if takers.is_empty() {
        return err;
    }
    let position = |wanted: &dyn Fn(&str) -> bool| {
        args.iter()
            .skip(1)
            .position(|a| a.to_str().is_some_and(wanted))
    };
    let subcommand = position(&|a| cli.find_subcommand(a).is_some());
    let at = position(&|a| a == given || a.split_once('=').is_some_and(|(f, _)| f == flag));
    let takers = takers
        .iter()
        .map(|name| format!("`svcbind {name}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let tip = match (subcommand, at) {
        (Some(sub), Some(at)) if sub < at => {
            let name = args[sub + 1].to_string_lossy();
            let tip = format!("`svcbind {name}` does not take `{flag}`; it is a flag of {takers}");
            // This tip alone: clap's own would point at a flag of this command with a similar
            // name (`--force` for `--format`) or at `--` (for a command with a positional).
            let mut fresh = clap::Error::new(ErrorKind::UnknownArgument).with_cmd(&cli);
            for kind in [ContextKind::InvalidArg, ContextKind::Usage] {
                if let Some(value) = err.get(kind) {
                    fresh.insert(kind, value.clone());
                }
            }
            fresh.insert(
                ContextKind::Suggested,
                ContextValue::StyledStrs(vec![StyledStr::from(tip)]),
            );
            return fresh;
        }
        // Before the command: clap may already have said where it exists.
        _ if err.get(ContextKind::Suggested).is_some() => return err,
        _ => format!("`{flag}` goes after the command; it is a flag of {takers}"),
    };
    let mut tips = match err.get(ContextKind::Suggested) {
        Some(ContextValue::StyledStrs(tips)) => tips.clone(),
        _ => Vec::new(),
    };
    tips.push(StyledStr::from(tip));
    err.insert(ContextKind::Suggested, ContextValue::StyledStrs(tips));
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    /// The long flags a subcommand's `--help` lists.
    fn help_flags(sub: &str) -> Vec<String> {
        let mut cli = Cli::command();
        cli.build();
        let help = cli
            .find_subcommand_mut(sub)
            .expect("a subcommand")
            .render_long_help()
            .to_string();
        let mut flags: Vec<String> = help
            .lines()
            .map(str::trim_start)
            .filter(|l| l.starts_with('-'))
            .filter_map(|l| {
                l.split([',', ' ', '='])
                    .find(|w| w.starts_with("--"))
                    .map(|w| w.trim_end_matches("...").to_owned())
            })
            .collect();
        flags.sort();
        flags
    }

    #[test]
    fn validate_help_lists_only_its_own_flags() {
        assert_eq!(
            help_flags("validate"),
            [
                "--color",
                "--config",
                "--format",
                "--help",
                "--quiet",
                "--verbose"
            ]
        );
    }

    #[test]
    fn emulator_help_lists_only_its_own_flags() {
        assert_eq!(
            help_flags("emulator"),
            [
                "--help",
                "--latency",
                "--listen",
                "--provisioning-delay",
                "--quiet",
                "--rate-limit",
                "--seed",
                "--token",
                "--verbose"
            ]
        );
    }

    #[test]
    fn route_and_export_take_only_their_own_flags() {
        let has = |sub: &str, flag: &str| help_flags(sub).contains(&flag.to_owned());
        // route reads only the prefixes of its addresses: no --prefix, no --concurrency.
        assert!(has("route", "--desired") && has("route", "--format"));
        assert!(!has("route", "--prefix") && !has("route", "--concurrency"));
        // export writes YAML: no --format; and drift's report is its own.
        assert!(has("export", "--force") && has("export", "--output") && has("export", "--prefix"));
        assert!(!has("export", "--format") && !has("export", "--max-deletes"));
        assert!(has("drift", "--report") && has("apply", "--report") && !has("plan", "--report"));
        assert!(has("show", "--desired") && !has("drift", "--desired"));
    }

    #[test]
    fn every_flag_is_documented() {
        let cli = Cli::command();
        for sub in cli.get_subcommands() {
            for arg in sub.get_arguments() {
                assert!(
                    arg.get_help().is_some(),
                    "svcbind {} {:?} has no help",
                    sub.get_name(),
                    arg.get_id()
                );
            }
        }
    }

    #[test]
    fn every_command_shows_examples_and_exit_codes() {
        let mut cli = Cli::command();
        cli.build();
        for sub in cli
            .get_subcommands_mut()
            .filter(|sub| sub.get_name() != "help")
        {
            let name = sub.get_name().to_owned();
            for help in [sub.render_help(), sub.render_long_help()] {
                let help = help.to_string();
                let examples: Vec<&str> = help
                    .split_once("Examples:\n")
                    .map(|(_, rest)| rest)
                    .unwrap_or_default()
                    .lines()
                    .take_while(|l| l.starts_with("  "))
                    .collect();
                assert!(
                    !examples.is_empty()
                        && examples
                            .iter()
                            .all(|l| l.starts_with(&format!("  svcbind {name}"))),
                    "`svcbind {name} --help` lacks examples of itself:\n{help}"
                );
                assert!(
                    help.contains("\nExit codes: ") && help.contains(" 1 "),
                    "`svcbind {name} --help` lacks its exit codes:\n{help}"
                );
            }
        }
    }

    #[test]
    fn the_top_level_help_lists_every_environment_variable() {
        let mut cli = Cli::command();
        cli.build();
        let help = cli.render_help().to_string();
        let mut names: Vec<String> = cli
            .get_subcommands()
            .flat_map(|sub| sub.get_arguments())
            .filter_map(|arg| arg.get_env())
            .map(|env| env.to_string_lossy().into_owned())
            .collect();
        names.extend(
            [
                "CLOUDFLARE_API_TOKEN",
                "CLOUDFLARE_API_KEY",
                "CLOUDFLARE_EMAIL",
            ]
            .map(String::from),
        );
        // The names a line of the list starts with: `  NAME  what` or `  NAME, NAME`.
        let listed: Vec<&str> = help
            .split_once("\nEnvironment")
            .map(|(_, rest)| rest)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.strip_prefix("  "))
            .filter_map(|l| l.split("  ").next())
            .flat_map(|names| names.split(", "))
            .map(|name| name.split('=').next().unwrap_or(name).trim())
            .collect();
        for name in names {
            assert!(
                listed.contains(&name.as_str()),
                "`svcbind --help` does not list {name}:\n{help}"
            );
        }
    }

    #[test]
    fn a_flag_of_another_command_is_refused_with_a_tip() {
        let err = Cli::parse_args(["svcbind", "validate", "--api-url", "x"]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnknownArgument);
        let text = err.render().to_string();
        assert!(
            text.contains("unexpected argument '--api-url' found"),
            "{text}"
        );
        assert!(
            text.contains(
                "tip: `svcbind validate` does not take `--api-url`; it is a flag of `svcbind plan`, `svcbind apply`, `svcbind services`"
            ),
            "{text}"
        );
        let err = Cli::parse_args(["svcbind", "validate", "--timeout=5s"]).unwrap_err();
        assert!(
            err.render()
                .to_string()
                .contains("tip: `svcbind validate` does not take `--timeout`"),
            "{}",
            err.render()
        );
        // Before the command, where the flags used to be global.
        let err = Cli::parse_args(["svcbind", "-c", "x.yaml", "validate"]).unwrap_err();
        let text = err.render().to_string();
        assert!(
            text.contains("tip: `-c` goes after the command; it is a flag of `svcbind validate`, `svcbind plan`, `svcbind apply`, `svcbind services`"),
            "{text}"
        );
        let err = Cli::parse_args(["svcbind", "--format=json", "plan"]).unwrap_err();
        let text = err.render().to_string();
        assert!(text.contains("tip: 'plan --format' exists"), "{text}");
        assert!(!text.contains("does not take"), "{text}");
        // Only the tip that helps: not clap's similar flag of this command, nor `--`.
        for args in [
            &["svcbind", "export", "--format", "json"][..],
            &["svcbind", "apply", "p.json", "--changed-since", "main"],
        ] {
            let text = Cli::parse_args(args).unwrap_err().render().to_string();
            assert_eq!(text.matches("tip:").count(), 1, "{text}");
            assert!(text.contains("does not take"), "{text}");
            assert!(text.starts_with("error: unexpected argument '--"), "{text}");
            assert!(text.contains("Usage: svcbind "), "{text}");
        }
        // A flag no command takes keeps clap's own message.
        let err = Cli::parse_args(["svcbind", "plan", "--nope"]).unwrap_err();
        assert!(!err.render().to_string().contains("is a flag of"));
    }

    #[test]
    fn verbosity_is_taken_everywhere() {
        for args in [
            &["svcbind", "-v", "validate"][..],
            &["svcbind", "validate", "-vv"],
            &["svcbind", "completions", "bash", "-q"],
            &["svcbind", "emulator", "--token", "t", "-v"],
        ] {
            assert!(Cli::parse_args(args).is_ok(), "{args:?}");
        }
    }

    #[test]
    fn a_saved_plan_takes_no_scope_or_limit() {
        assert!(Cli::parse_args(["svcbind", "apply", "plan.json", "--yes", "--force"]).is_ok());
        assert!(Cli::parse_args(["svcbind", "plan", "-o", "plan.json"]).is_ok());
        let err = Cli::parse_args(["svcbind", "apply", "plan.json", "--prefix", "192.0.2.0/24"])
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ArgumentConflict);
        // The limits are refused by `settings` when given on the command line, and only then
        // (their variables may be set for a whole pipeline): both are told apart alike.
        let given = |args: &[&str]| match Cli::parse_args(args).unwrap().command {
            Command::Apply(apply) => apply.limits.given,
            other => panic!("not apply: {other:?}"),
        };
        assert_eq!(
            given(&["svcbind", "apply", "p.json", "--max-deletes", "3"]),
            ["--max-deletes"]
        );
        assert_eq!(
            given(&[
                "svcbind",
                "apply",
                "p.json",
                "--max-delete-percent=5",
                "--max-deletes=1"
            ]),
            ["--max-deletes", "--max-delete-percent"]
        );
        assert!(given(&["svcbind", "apply", "p.json"]).is_empty());
    }

    #[test]
    fn a_duration_after_a_bare_wait_is_refused_with_the_spelling_that_works() {
        for args in [
            &["svcbind", "apply", "--wait", "10m", "--yes"][..],
            &["svcbind", "apply", "--wait", "6h", "p0.json"],
        ] {
            let err = Cli::parse_args(args).unwrap_err();
            let text = err.render().to_string();
            assert!(
                text.starts_with("error: --wait takes its value after `=`: --wait="),
                "{text}"
            );
        }
        assert!(Cli::parse_args(["svcbind", "apply", "--wait=10m", "p.json"]).is_ok());
        assert!(Cli::parse_args(["svcbind", "apply", "p.json", "--wait"]).is_ok());
    }

    #[test]
    fn durations_have_an_upper_bound_and_listen_takes_localhost() {
        assert_eq!(parse_duration("25h"), Err("must be at most 24h".to_owned()));
        assert!(parse_duration("500000000000y").is_err());
        assert!(parse_window("2h").is_err());
        assert_eq!(parse_window("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(
            parse_listen("localhost:8787"),
            Ok("127.0.0.1:8787".parse().unwrap())
        );
        assert_eq!(parse_listen("[::1]:0"), Ok("[::1]:0".parse().unwrap()));
        assert!(parse_listen("example.com:80").is_err());
    }

    #[test]
    fn an_empty_account_id_flag_is_refused() {
        let err = Cli::parse_args(["svcbind", "services", "--account-id", ""]).unwrap_err();
        assert!(err.to_string().contains("--account-id is empty"), "{err}");
    }

    #[test]
    fn plan_and_export_take_both_spellings_of_the_output_file() {
        for args in [
            &["svcbind", "plan", "--output", "p.json"][..],
            &["svcbind", "plan", "--out", "p.json"],
            &["svcbind", "export", "--out", "x.yaml"],
            &["svcbind", "export", "--output", "x.yaml"],
        ] {
            assert!(Cli::parse_args(args).is_ok(), "{args:?}");
        }
    }

    #[test]
    fn rate_limit_parses() {
        assert_eq!(
            parse_rate_limit("1200/300"),
            Ok((1200, Duration::from_secs(300)))
        );
        assert!(parse_rate_limit("1200").is_err());
        assert!(parse_rate_limit("0/5").is_err());
        assert!(parse_rate_limit("10/99999999999").is_err());
    }

    #[test]
    fn positive_durations_refuse_zero() {
        assert_eq!(parse_positive_duration("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(
            parse_positive_duration("0s"),
            Err("must be more than 0s, e.g. 60s".to_owned())
        );
        assert!(parse_positive_duration("soon").is_err());
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("6h"), Ok(Duration::from_secs(6 * 3600)));
        assert!(parse_duration("soon").is_err());
    }
}
