//! Settings for one run: the parsed form of the command line ([`crate::cli::Cli`]) and the
//! environment, typed once so that no later stage parses a flag again.
//!
//! `cli` declares raw arguments; this module turns them into [`Settings`]: the account id as an
//! [`AccountId`], `--prefix` values as [`PrefixSelector`]s, the output [`Format`] and colour
//! decided per stream, the limits with their defaults. It is the only module besides `commands`
//! that reads `cli`, and it does no I/O beyond looking at the environment and the terminal: it
//! holds settings, not connections (the backend is built by `commands` from [`Connection`]).

use std::fmt;
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};

use crate::api::pace::Pacing;
use crate::cli::{self, Cli};
use crate::config::ConfigPaths;
use crate::emulator::EmulatorOptions;
use crate::model::{AccountId, StateFile};
use crate::plan::SafetyLimits;
use crate::render::Format;
use crate::resolve::PrefixSelector;

/// The default of `max_deletes` when neither the flag nor the file sets it.
pub const DEFAULT_MAX_DELETES: u32 = 10;

/// Everything one run needs to know, typed.
#[derive(Debug, Clone)]
pub struct Settings {
    pub output: Output,
    pub command: Command,
}

/// The subcommand to run, with the settings that apply to it.
#[derive(Debug, Clone)]
pub enum Command {
    Validate(ValidateSettings),
    Plan(PlanSettings),
    Apply(ApplySettings),
    Services(ServicesSettings),
    Drift(DriftSettings),
    Export(ExportSettings),
    Show(ShowSettings),
    Route(RouteSettings),
    Emulator(EmulatorSettings),
    Completions(clap_complete::Shell),
}

/// How and where output is written.
#[derive(Debug, Clone)]
pub struct Output {
    /// The format of the document on stdout (text for commands without `--format`).
    pub format: Format,
    /// Colour on stdout.
    pub color: bool,
    /// Colour on stderr.
    pub color_stderr: bool,
    pub verbose: u8,
    pub quiet: bool,
    /// `GITHUB_ACTIONS=true`: also print workflow commands for diagnostics.
    pub github_actions: bool,
}

/// `svcbind validate`.
#[derive(Debug, Clone)]
pub struct ValidateSettings {
    /// The desired-state file, or files.
    pub config: ConfigPaths,
}

/// `svcbind plan`.
#[derive(Debug, Clone)]
pub struct PlanSettings {
    pub config: ConfigPaths,
    pub connection: Connection,
    pub scope: Scope,
    pub limits: Limits,
    pub detailed_exitcode: bool,
    /// `--out PLAN.json`: also save the plan there.
    pub out: Option<PathBuf>,
    /// `--changed-since REF`: plan only the prefixes whose entry in the file differs from the
    /// file at this git revision.
    pub changed_since: Option<String>,
}

/// `svcbind apply`.
#[derive(Debug, Clone)]
pub struct ApplySettings {
    pub config: ConfigPaths,
    pub connection: Connection,
    pub scope: Scope,
    pub limits: Limits,
    /// `--yes`: no confirmation.
    pub yes: bool,
    /// `--force`: past the safety rules.
    pub force: bool,
    /// `apply PLAN.json`: carry out this saved plan instead of planning now.
    pub plan_file: Option<PathBuf>,
    /// `--wait[=DURATION]`: after the steps, wait this long at most for the created bindings
    /// to be active.
    pub wait: Option<Duration>,
    /// `--report FILE`: the JSON apply report, whatever the format on stdout.
    pub report: Option<PathBuf>,
    /// The `-c` paths given on the command line, for the commands a message suggests.
    pub config_given: Vec<PathBuf>,
}

/// `svcbind services`.
#[derive(Debug, Clone)]
pub struct ServicesSettings {
    /// Read only for its `account_id`, when nothing else names the account.
    pub config: ConfigPaths,
    pub connection: Connection,
}

/// `svcbind drift`.
#[derive(Debug, Clone)]
pub struct DriftSettings {
    pub config: ConfigPaths,
    pub connection: Connection,
    pub scope: Scope,
    /// `--report FILE`: the JSON report, whatever the format on stdout.
    pub report: Option<PathBuf>,
    /// The `-c` paths given on the command line, for the commands a message suggests.
    pub config_given: Vec<PathBuf>,
}

/// `svcbind export`.
#[derive(Debug, Clone)]
pub struct ExportSettings {
    /// Read only for its `account_id`, when nothing else names the account.
    pub config: ConfigPaths,
    pub connection: Connection,
    /// Which of the account's prefixes (all when empty), and how many to read at once.
    pub scope: Scope,
    /// `-o FILE`; stdout when unset.
    pub output: Option<PathBuf>,
    /// `--force`: overwrite the `-o` file.
    pub force: bool,
}

/// `svcbind show`.
#[derive(Debug, Clone)]
pub struct ShowSettings {
    pub config: ConfigPaths,
    pub connection: Connection,
    /// Which prefixes (of the account, or of the file with `--desired`).
    pub scope: Scope,
    /// `--desired`: the file's bindings, offline.
    pub desired: bool,
}

/// `svcbind route`.
#[derive(Debug, Clone)]
pub struct RouteSettings {
    pub config: ConfigPaths,
    pub connection: Connection,
    /// In the order given.
    pub addresses: Vec<std::net::IpAddr>,
    /// `--desired`: the file's bindings, offline.
    pub desired: bool,
    /// How many prefixes to read at once.
    pub concurrency: usize,
}

/// How many prefixes `route` reads at once (it has no `--concurrency`: it reads only the
/// prefixes of the addresses asked).
pub const ROUTE_CONCURRENCY: usize = 8;

/// `svcbind emulator`.
#[derive(Debug, Clone)]
pub struct EmulatorSettings {
    pub listen: SocketAddr,
    pub seed: Option<PathBuf>,
    pub options: EmulatorOptions,
}

/// Where the account is and how to reach it.
#[derive(Debug, Clone)]
pub struct Connection {
    /// `--account-id` / `CLOUDFLARE_ACCOUNT_ID` (empty counts as unset).
    pub account_id: Option<AccountId>,
    pub api_url: String,
    pub api_token_file: Option<PathBuf>,
    /// `--emulate SEED.yaml`: an in-process emulated account instead of the network.
    pub emulate: Option<PathBuf>,
    /// Timeout of one API request.
    pub timeout: Duration,
    /// The longest `Retry-After` honoured before a retry.
    pub max_retry_wait: Duration,
    /// svcbind's own request budget.
    pub pacing: Pacing,
    /// `--allow-insecure-http`: the credentials may go over plain http beyond loopback.
    pub allow_insecure_http: bool,
}

/// Which of the file's prefixes to work on, and how many at once.
#[derive(Debug, Clone)]
pub struct Scope {
    /// `--prefix` values; empty means every prefix of the file.
    pub prefixes: Vec<PrefixSelector>,
    pub concurrency: usize,
}

/// The safety limits as given on the command line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    /// `--max-deletes` / `SVCBIND_MAX_DELETES`.
    pub max_deletes: Option<u32>,
    /// `--max-delete-percent` / `SVCBIND_MAX_DELETE_PERCENT`.
    pub max_delete_percent: Option<u8>,
}

impl Limits {
    /// The effective `max_deletes`: the flag, else `safety.max_deletes` in the file, else
    /// [`DEFAULT_MAX_DELETES`].
    pub fn max_deletes(&self, file: &StateFile) -> u32 {
        self.max_deletes
            .or(file.max_deletes)
            .unwrap_or(DEFAULT_MAX_DELETES)
    }

    /// The effective safety limits: each the flag, else the file's, else its default
    /// (`max_delete_percent` off); the protected ranges are the file's.
    pub fn safety(&self, file: &StateFile) -> SafetyLimits {
        SafetyLimits {
            max_deletes: self.max_deletes(file),
            max_delete_percent: self.max_delete_percent.or(file.max_delete_percent),
            protect: file.protect.clone(),
        }
    }
}

impl Connection {
    /// The account the flag (or environment) and the file name, if either does. When both do,
    /// they must agree; `file` is the desired state (named by its paths, for the message).
    pub fn account_id(
        &self,
        file: Option<(&dyn fmt::Display, &StateFile)>,
    ) -> anyhow::Result<Option<AccountId>> {
        let in_file = file.and_then(|(path, state)| Some((path, state.account_id.as_ref()?)));
        match (&self.account_id, in_file) {
            (Some(flag), Some((path, in_file))) if flag != in_file => bail!(
                "account id mismatch: --account-id / CLOUDFLARE_ACCOUNT_ID is {flag} but {path} says {in_file}; make them agree or drop one"
            ),
            (Some(flag), _) => Ok(Some(flag.clone())),
            (None, Some((_, in_file))) => Ok(Some(in_file.clone())),
            (None, None) => Ok(None),
        }
    }
}

impl Settings {
    /// Builds the settings from the parsed command line and the environment (colour, CI).
    pub fn from_cli(cli: Cli) -> anyhow::Result<Self> {
        let env = |name: &str| std::env::var(name).ok();
        Self::from_cli_with(
            cli,
            &env,
            std::io::stdout().is_terminal(),
            std::io::stderr().is_terminal(),
        )
    }

    /// [`Settings::from_cli`] with the environment and the terminals given, for tests.
    fn from_cli_with(
        cli: Cli,
        env: &dyn Fn(&str) -> Option<String>,
        stdout_tty: bool,
        stderr_tty: bool,
    ) -> anyhow::Result<Self> {
        let color_for = |choice: cli::ColorChoice, terminal: bool| match choice {
            cli::ColorChoice::Always => true,
            cli::ColorChoice::Never => false,
            cli::ColorChoice::Auto => {
                terminal
                    && env("NO_COLOR").is_none_or(|v| v.is_empty())
                    && env("TERM").is_none_or(|t| t != "dumb")
            }
        };
        let (format, color) = match &cli.command {
            cli::Command::Plan(cli::PlanArgs { output, .. })
            | cli::Command::Apply(cli::ApplyArgs { output, .. })
            | cli::Command::Services(cli::ServicesArgs { output, .. })
            | cli::Command::Validate(cli::ValidateArgs { output, .. })
            | cli::Command::Drift(cli::DriftArgs { output, .. })
            | cli::Command::Show(cli::ShowArgs { output, .. })
            | cli::Command::Route(cli::RouteArgs { output, .. }) => {
                (format(output.format), output.color.color)
            }
            cli::Command::Export(_) | cli::Command::Emulator(_) | cli::Command::Completions(_) => {
                (Format::Text, cli::ColorChoice::Auto)
            }
        };
        let output = Output {
            format,
            color: color_for(color, stdout_tty),
            color_stderr: color_for(color, stderr_tty),
            verbose: cli.global.verbose,
            quiet: cli.global.quiet,
            github_actions: env("GITHUB_ACTIONS").is_some_and(|v| v == "true"),
        };
        let env_config = env("SVCBIND_CONFIG");
        let config = |given: Vec<PathBuf>| {
            ConfigPaths::new(given, env_config.as_deref().map(std::ffi::OsStr::new))
        };
        let command = match cli.command {
            cli::Command::Validate(args) => Command::Validate(ValidateSettings {
                config: config(args.file.config),
            }),
            cli::Command::Plan(args) => Command::Plan(PlanSettings {
                config: config(args.file.config),
                connection: connection(args.connect, env)?,
                scope: scope(args.prefixes)?,
                limits: limits(&args.limits),
                detailed_exitcode: args.detailed_exitcode,
                out: args.out,
                changed_since: args.changed_since.map(revision).transpose()?,
            }),
            cli::Command::Apply(args) => Command::Apply(ApplySettings {
                limits: match (&args.plan, args.limits.given.first()) {
                    (Some(_), Some(flag)) => bail!(
                        "{flag} cannot be used with a saved plan: apply carries out the plan with the safety limits it was made and checked with; to change them, make the plan again with `svcbind plan {flag} … --out PLAN.json`"
                    ),
                    // SVCBIND_MAX_DELETES and SVCBIND_MAX_DELETE_PERCENT, set for a whole
                    // pipeline, do not apply to a saved plan, which keeps its own limits.
                    (Some(_), None) => Limits::default(),
                    (None, _) => limits(&args.limits),
                },
                config_given: args.file.config.clone(),
                config: config(args.file.config),
                connection: connection(args.connect, env)?,
                scope: scope(args.prefixes)?,
                yes: args.yes,
                force: args.force,
                plan_file: args.plan,
                wait: args.wait,
                report: args.report,
            }),
            cli::Command::Services(args) => Command::Services(ServicesSettings {
                config: config(args.config),
                connection: connection(args.connect, env)?,
            }),
            cli::Command::Drift(args) => Command::Drift(DriftSettings {
                config_given: args.file.config.clone(),
                config: config(args.file.config),
                connection: connection(args.connect, env)?,
                scope: scope(args.prefixes)?,
                report: args.report,
            }),
            cli::Command::Export(args) => Command::Export(ExportSettings {
                config: config(args.config),
                connection: connection(args.connect, env)?,
                scope: scope(args.prefixes)?,
                output: args.output,
                force: args.force,
            }),
            cli::Command::Show(args) => Command::Show(ShowSettings {
                config: config(args.file.config),
                connection: connection(args.connect, env)?,
                scope: scope(args.prefixes)?,
                desired: args.desired,
            }),
            cli::Command::Route(args) => Command::Route(RouteSettings {
                config: config(args.file.config),
                connection: connection(args.connect, env)?,
                addresses: args.addresses,
                desired: args.desired,
                concurrency: ROUTE_CONCURRENCY,
            }),
            cli::Command::Emulator(args) => Command::Emulator(EmulatorSettings::from(args)),
            cli::Command::Completions(args) => Command::Completions(args.shell),
        };
        Ok(Self { output, command })
    }
}

/// The output format a `--format` value names.
pub(crate) fn format(f: cli::Format) -> Format {
    match f {
        cli::Format::Text => Format::Text,
        cli::Format::Markdown => Format::Markdown,
        cli::Format::Json => Format::Json,
    }
}

/// A boolean environment variable: `1`, `true`, `yes`, `on` or `0`, `false`, `no`, `off` (any
/// case); unset or empty is `None`; anything else is an error naming the variable and `flag`.
fn env_bool(
    env: &dyn Fn(&str) -> Option<String>,
    name: &str,
    flag: &str,
) -> anyhow::Result<Option<bool>> {
    let Some(value) = env(name).filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(Some(true)),
        "0" | "false" | "no" | "off" => Ok(Some(false)),
        _ => bail!(
            "invalid value '{}' for {name} ({flag}): use 1, true, yes, on or 0, false, no, off",
            crate::sanitize::text(&value)
        ),
    }
}

fn connection(
    args: cli::ConnectArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Connection> {
    let allow_insecure_http = args.allow_insecure_http
        || env_bool(env, "SVCBIND_ALLOW_INSECURE_HTTP", "--allow-insecure-http")?.unwrap_or(false);
    let account_id = args
        .account_id
        .filter(|s| !s.is_empty())
        .map(|s| {
            AccountId::new(s).context("--account-id / CLOUDFLARE_ACCOUNT_ID is not an account id")
        })
        .transpose()?;
    Ok(Connection {
        account_id,
        api_url: args.api_url,
        api_token_file: args.api_token_file,
        emulate: args.emulate,
        timeout: args.timeout,
        max_retry_wait: args.max_retry_wait,
        pacing: Pacing {
            budget: args.request_budget,
            window: args.request_window,
        },
        allow_insecure_http,
    })
}

fn scope(args: cli::PrefixArgs) -> anyhow::Result<Scope> {
    let prefixes = args
        .prefixes
        .iter()
        .map(|value| value.parse::<PrefixSelector>())
        .collect::<Result<_, _>>()?;
    Ok(Scope {
        prefixes,
        concurrency: usize::from(args.concurrency),
    })
}

/// A `--changed-since` value: a git revision, which `git` must not read as an option.
fn revision(value: String) -> anyhow::Result<String> {
    if value.trim().is_empty() {
        bail!(
            "--changed-since is empty; give the git revision to compare the file with, e.g. origin/main (in CI, check that the variable it comes from is set)"
        );
    }
    if value.starts_with('-') {
        bail!(
            "--changed-since `{}` is not a git revision (it starts with `-`)",
            crate::sanitize::text(&value)
        );
    }
    Ok(value)
}

fn limits(args: &cli::Limits) -> Limits {
    Limits {
        max_deletes: args.max_deletes,
        max_delete_percent: args.max_delete_percent,
    }
}

impl From<cli::EmulatorArgs> for EmulatorSettings {
    fn from(args: cli::EmulatorArgs) -> Self {
        Self {
            listen: args.listen,
            seed: args.seed,
            options: EmulatorOptions {
                token: args.token,
                provisioning_delay: args.provisioning_delay,
                latency: args.latency,
                rate_limit: args.rate_limit,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: &str = "023e105f4ecef8ad9ca31a8372d0c353";

    fn settings(args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<Settings> {
        let cli = Cli::parse_args(std::iter::once("svcbind").chain(args.iter().copied()))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let lookup = |name: &str| {
            env.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        };
        Settings::from_cli_with(cli, &lookup, true, false)
    }

    fn plan(args: &[&str]) -> PlanSettings {
        let mut all = vec!["plan"];
        all.extend_from_slice(args);
        match settings(&all, &[]).unwrap().command {
            Command::Plan(plan) => plan,
            other => panic!("not plan: {other:?}"),
        }
    }

    #[test]
    fn prefixes_are_typed_once() {
        let p = plan(&["--prefix", "192.0.2.0/24", "--prefix", "2af39739cc4e"]);
        assert_eq!(
            p.scope.prefixes,
            [
                PrefixSelector::Cidr("192.0.2.0/24".parse().unwrap()),
                PrefixSelector::Id(crate::model::PrefixId::new("2af39739cc4e").unwrap()),
            ]
        );
        let err = settings(&["plan", "--prefix", "192.0.2.1/24"], &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--prefix `192.0.2.1/24` has host bits set; did you mean `192.0.2.0/24`?"
        );
        let err = settings(&["apply", "--prefix", "../x"], &[]).unwrap_err();
        assert!(err.to_string().starts_with("--prefix `../x` is neither"));
    }

    #[test]
    fn changed_since_takes_a_revision_and_no_prefix() {
        assert_eq!(
            plan(&["--changed-since", "origin/main"])
                .changed_since
                .as_deref(),
            Some("origin/main")
        );
        assert_eq!(plan(&[]).changed_since, None);
        let err = settings(&["plan", "--changed-since", ""], &[]).unwrap_err();
        assert!(
            err.to_string().starts_with("--changed-since is empty;"),
            "{err}"
        );
        let err = settings(&["plan", "--changed-since=-x"], &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--changed-since `-x` is not a git revision (it starts with `-`)"
        );
        // The file's changes choose the prefixes; a --prefix besides them is refused.
        let err = settings(
            &[
                "plan",
                "--changed-since",
                "main",
                "--prefix",
                "192.0.2.0/24",
            ],
            &[],
        )
        .unwrap_err();
        assert!(err.to_string().contains("cannot be used with"), "{err}");
    }

    #[test]
    fn the_account_id_is_checked_once_and_agrees_with_the_file() {
        let p = plan(&["--account-id", ACCOUNT]);
        let file = StateFile {
            account_id: Some(AccountId::new("0000000000000000000000000000000f").unwrap()),
            ..StateFile::default()
        };
        let err = p
            .connection
            .account_id(Some((&"svcbind.yaml", &file)))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "account id mismatch: --account-id / CLOUDFLARE_ACCOUNT_ID is {ACCOUNT} but svcbind.yaml says 0000000000000000000000000000000f; make them agree or drop one"
            )
        );
        let from_file = plan(&[]).connection.account_id(Some((&"f", &file)));
        assert_eq!(from_file.unwrap(), file.account_id);
        assert_eq!(plan(&[]).connection.account_id(None).unwrap(), None);
        // An empty flag is refused (an empty CLOUDFLARE_ACCOUNT_ID is unset); anything else
        // must be an id.
        assert!(settings(&["plan", "--account-id", ""], &[]).is_err());
        let err = settings(&["services", "--account-id", "acc/1"], &[]).unwrap_err();
        assert_eq!(
            format!("{err:#}"),
            "--account-id / CLOUDFLARE_ACCOUNT_ID is not an account id: invalid account id `acc/1`: an id is 1 to 32 letters or digits"
        );
    }

    #[test]
    fn the_views_take_their_own_settings() {
        let s = settings(
            &["drift", "--report", "r.json", "--format", "markdown"],
            &[],
        )
        .unwrap();
        assert_eq!(s.output.format, Format::Markdown);
        let Command::Drift(d) = s.command else {
            panic!("not drift")
        };
        assert_eq!(d.report, Some(PathBuf::from("r.json")));
        let s = settings(
            &[
                "export",
                "-o",
                "out.yaml",
                "--force",
                "--prefix",
                "192.0.2.0/24",
            ],
            &[],
        )
        .unwrap();
        let Command::Export(e) = s.command else {
            panic!("not export")
        };
        assert_eq!((e.output, e.force), (Some(PathBuf::from("out.yaml")), true));
        assert_eq!(e.scope.prefixes.len(), 1);
        let s = settings(&["show", "--desired", "--format", "json"], &[]).unwrap();
        assert!(matches!(
            s.command,
            Command::Show(ShowSettings { desired: true, .. })
        ));
        let s = settings(&["route", "192.0.2.1", "2001:db8::1"], &[]).unwrap();
        let Command::Route(r) = s.command else {
            panic!("not route")
        };
        assert_eq!(r.addresses.len(), 2);
        assert!(!r.desired);
        assert_eq!(r.concurrency, ROUTE_CONCURRENCY);
    }

    #[test]
    fn max_deletes_is_the_flag_else_the_file_else_ten() {
        let file = StateFile {
            max_deletes: Some(4),
            ..StateFile::default()
        };
        assert_eq!(plan(&["--max-deletes", "2"]).limits.max_deletes(&file), 2);
        assert_eq!(plan(&[]).limits.max_deletes(&file), 4);
        assert_eq!(
            plan(&[]).limits.max_deletes(&StateFile::default()),
            DEFAULT_MAX_DELETES
        );
    }

    #[test]
    fn max_delete_percent_is_the_flag_else_the_file_else_off() {
        let file = StateFile {
            max_delete_percent: Some(30),
            protect: vec!["192.0.2.0/26".parse().unwrap()],
            ..StateFile::default()
        };
        let limits = plan(&["--max-delete-percent", "5"]).limits.safety(&file);
        assert_eq!(limits.max_delete_percent, Some(5));
        assert_eq!(limits.protect, file.protect);
        assert_eq!(limits.max_deletes, DEFAULT_MAX_DELETES);
        assert_eq!(plan(&[]).limits.safety(&file).max_delete_percent, Some(30));
        assert_eq!(
            plan(&[]).limits.safety(&StateFile::default()),
            SafetyLimits::max_deletes(DEFAULT_MAX_DELETES)
        );
        assert!(settings(&["plan", "--max-delete-percent", "101"], &[]).is_err());
    }

    #[test]
    fn config_is_repeatable_and_svcbind_config_holds_several_paths() {
        let paths = |s: PlanSettings| -> Vec<String> {
            s.config
                .paths()
                .iter()
                .map(|p| p.display().to_string())
                .collect()
        };
        assert_eq!(
            paths(plan(&["-c", "a.yaml", "--config", "teams"])),
            ["a.yaml", "teams"]
        );
        assert_eq!(paths(plan(&[])), ["svcbind.yaml"]);
        let sep = if cfg!(windows) { ";" } else { ":" };
        let s = settings(
            &["validate"],
            &[("SVCBIND_CONFIG", &format!("a.yaml{sep}b.yaml"))],
        )
        .unwrap();
        let Command::Validate(v) = s.command else {
            panic!("not validate");
        };
        assert_eq!(v.config.display().to_string(), "a.yaml, b.yaml");
        // A flag wins over the environment.
        let s = settings(
            &["validate", "-c", "c.yaml"],
            &[("SVCBIND_CONFIG", "a.yaml")],
        )
        .unwrap();
        let Command::Validate(v) = s.command else {
            panic!("not validate");
        };
        assert_eq!(v.config.display().to_string(), "c.yaml");
    }

    #[test]
    fn colour_is_decided_per_stream_and_honours_no_color() {
        // stdout is a terminal in these tests, stderr is not.
        let s = settings(&["validate"], &[]).unwrap();
        assert!(s.output.color && !s.output.color_stderr);
        let s = settings(&["validate"], &[("NO_COLOR", "1")]).unwrap();
        assert!(!s.output.color);
        let s = settings(&["validate"], &[("TERM", "dumb")]).unwrap();
        assert!(!s.output.color);
        let s = settings(&["plan", "--color", "always"], &[("NO_COLOR", "1")]).unwrap();
        assert!(s.output.color && s.output.color_stderr);
        let s = settings(&["services", "--format", "json", "--color=never"], &[]).unwrap();
        assert!(!s.output.color && s.output.format == Format::Json);
        let s = settings(&["validate"], &[("GITHUB_ACTIONS", "true")]).unwrap();
        assert!(s.output.github_actions && s.output.format == Format::Text);
    }

    #[test]
    fn boolean_variables_take_the_usual_spellings_and_empty_is_unset() {
        let insecure = |value: &str| {
            settings(&["services"], &[("SVCBIND_ALLOW_INSECURE_HTTP", value)]).map(|s| {
                let Command::Services(s) = s.command else {
                    panic!("not services")
                };
                s.connection.allow_insecure_http
            })
        };
        for yes in ["1", "true", "yes", "on", "TRUE", "Yes"] {
            assert!(insecure(yes).unwrap(), "{yes}");
        }
        for no in ["0", "false", "no", "off", "", " "] {
            assert!(!insecure(no).unwrap(), "{no:?}");
        }
        let err = insecure("maybe").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid value 'maybe' for SVCBIND_ALLOW_INSECURE_HTTP (--allow-insecure-http): use 1, true, yes, on or 0, false, no, off"
        );
        // The flag wins.
        let s = settings(
            &["services", "--allow-insecure-http"],
            &[("SVCBIND_ALLOW_INSECURE_HTTP", "0")],
        )
        .unwrap();
        let Command::Services(s) = s.command else {
            panic!("not services")
        };
        assert!(s.connection.allow_insecure_http);
    }

    #[test]
    fn a_saved_plan_refuses_limit_flags_alike() {
        for flag in ["--max-deletes", "--max-delete-percent"] {
            let err = settings(&["apply", "p.json", flag, "3"], &[]).unwrap_err();
            assert!(
                err.to_string().starts_with(&format!(
                    "{flag} cannot be used with a saved plan: apply carries out the plan with the safety limits it was made and checked with"
                )),
                "{err}"
            );
        }
        let s = settings(&["apply", "--max-deletes", "3"], &[]).unwrap();
        let Command::Apply(a) = s.command else {
            panic!("not apply")
        };
        assert_eq!(a.limits.max_deletes, Some(3));
    }

    #[test]
    fn emulator_options_come_from_the_command_line() {
        let s = settings(
            &[
                "emulator",
                "--token",
                "t0ken",
                "--provisioning-delay",
                "2s",
                "--latency",
                "100ms",
                "--rate-limit",
                "10/60",
            ],
            &[],
        )
        .unwrap();
        let Command::Emulator(e) = s.command else {
            panic!("not the emulator command");
        };
        assert_eq!(e.listen, "127.0.0.1:8787".parse().unwrap());
        assert_eq!(e.options.token, "t0ken");
        assert_eq!(e.options.provisioning_delay, Duration::from_secs(2));
        assert_eq!(e.options.latency, Duration::from_millis(100));
        assert_eq!(e.options.rate_limit, Some((10, Duration::from_secs(60))));
        assert!(!format!("{e:?}").contains("t0ken"));
    }
}
