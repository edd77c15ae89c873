//! The command line: raw arguments as clap parses them ([`Cli`]). Turning them into settings
//! (reading the token, checking the account id) is `settings`' job; this module only declares.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
Credentials: the API token is read from CLOUDFLARE_API_TOKEN or from --api-token-file, never \
from a flag. The legacy CLOUDFLARE_API_KEY + CLOUDFLARE_EMAIL pair is accepted too.

Exit codes: 0 done or in sync, 1 error, 2 changes (plan --detailed-exitcode), \
3 apply refused, 130 interrupted.

Try it without an account: svcbind plan -c examples/bindings.yaml --emulate examples/live.yaml";

/// Keep Cloudflare BYOIP service bindings in Git: validate, plan and apply them safely.
#[derive(Debug, Parser)]
#[command(name = "svcbind", version, after_help = AFTER_HELP, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The desired-state file.
    #[arg(
        short = 'c',
        long = "config",
        env = "SVCBIND_CONFIG",
        value_name = "FILE",
        default_value = "svcbind.yaml",
        global = true
    )]
    pub config: PathBuf,

    /// The Cloudflare account id (must agree with `account_id` in the file when both are set).
    #[arg(long, env = "CLOUDFLARE_ACCOUNT_ID", value_name = "ID", global = true)]
    pub account_id: Option<String>,

    /// Base URL of the Cloudflare API.
    #[arg(
        long,
        env = "CLOUDFLARE_BASE_URL",
        value_name = "URL",
        default_value = "https://api.cloudflare.com/client/v4",
        global = true
    )]
    pub api_url: String,

    /// Read the API token from this file instead of CLOUDFLARE_API_TOKEN.
    #[arg(
        long,
        env = "SVCBIND_API_TOKEN_FILE",
        value_name = "FILE",
        global = true
    )]
    pub api_token_file: Option<PathBuf>,

    /// Use an in-process emulated account seeded from this file instead of the network.
    #[arg(long, env = "SVCBIND_EMULATE", value_name = "SEED.yaml", global = true)]
    pub emulate: Option<PathBuf>,

    /// Only work on this prefix (its CIDR or id); repeat for more.
    #[arg(long = "prefix", value_name = "CIDR|ID", global = true)]
    pub prefixes: Vec<String>,

    /// How many prefixes to read or apply at the same time.
    #[arg(
        long,
        env = "SVCBIND_CONCURRENCY",
        value_name = "N",
        default_value_t = 8,
        value_parser = clap::value_parser!(u16).range(1..=64),
        global = true
    )]
    pub concurrency: u16,

    /// Timeout of one API request.
    #[arg(
        long,
        env = "SVCBIND_TIMEOUT",
        value_name = "DURATION",
        default_value = "60s",
        value_parser = parse_duration,
        global = true
    )]
    pub timeout: Duration,

    /// Output format.
    #[arg(
        long,
        env = "SVCBIND_FORMAT",
        value_enum,
        default_value_t = Format::Text,
        global = true
    )]
    pub format: Format,

    /// When to colour the output (NO_COLOR is honoured with `auto`).
    #[arg(
        long,
        env = "SVCBIND_COLOR",
        value_enum,
        default_value_t = ColorChoice::Auto,
        global = true
    )]
    pub color: ColorChoice,

    /// More detail on stderr (-v, -vv, -vvv).
    #[arg(short, long, action = clap::ArgAction::Count, global = true, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
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

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the desired-state file offline: syntax, CIDRs, ids and the binding rules.
    Validate,

    /// Show what apply would change, in the order it would change it.
    Plan(PlanArgs),

    /// Change the account to match the file, in an order the API accepts.
    Apply(ApplyArgs),

    /// List the account's services (name and id).
    Services,

    /// Serve the emulated Cloudflare API over HTTP, for tests and pipelines.
    Emulator(EmulatorArgs),

    /// Print a shell completion script.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Exit 2 when there are changes (0 when there are none).
    #[arg(long)]
    pub detailed_exitcode: bool,

    #[command(flatten)]
    pub limits: Limits,
}

/// Safety limits, shared by `plan` (which warns) and `apply` (which refuses).
#[derive(Debug, Args)]
pub struct Limits {
    /// Deletes plus replaces allowed in one apply before --force is needed
    /// (default: `safety.max_deletes` in the file, else 10).
    #[arg(long, env = "SVCBIND_MAX_DELETES", value_name = "N")]
    pub max_deletes: Option<u32>,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Apply without asking for confirmation.
    #[arg(short = 'y', long)]
    pub yes: bool,

    /// Allow what the safety rules refuse: deleting or replacing a prefix-wide binding, and
    /// more deletes than --max-deletes.
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub limits: Limits,
}

#[derive(Debug, Args)]
pub struct EmulatorArgs {
    /// Address to listen on (loopback by default; port 0 picks a free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8787")]
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

/// Parses `250ms`, `10s`, `6h`, `1h30m`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s)
        .map_err(|e| format!("{e} (expected a duration such as 500ms, 10s, 6h)"))
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
    Ok((n, Duration::from_secs(secs)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn rate_limit_parses() {
        assert_eq!(
            parse_rate_limit("1200/300"),
            Ok((1200, Duration::from_secs(300)))
        );
        assert!(parse_rate_limit("1200").is_err());
        assert!(parse_rate_limit("0/5").is_err());
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("6h"), Ok(Duration::from_secs(6 * 3600)));
        assert!(parse_duration("soon").is_err());
    }
}
