//! The steps every command composes, in this order: [`load`] the desired-state file,
//! [`connect`] to the account, [`resolve`] the file against the live state, [`plan`] (and
//! rehearse) the changes.
//!
//! Each step prints what it alone knows (a file's diagnostics, resolution problems located in
//! the file) and returns a value or an error with its context; the command decides what to do
//! next and what to write on stdout. A command that needs only some steps takes only those:
//! `validate` loads, `services` connects, `plan` and `apply` take all four.

use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, bail};

use super::Reported;
use crate::api::client::ClientConfig;
use crate::api::credentials;
use crate::backend::Backend;
use crate::config::{self, ConfigPaths, Diagnostics, Loaded, Mode};
use crate::model::{AccountId, Services, StateFile};
use crate::plan::{Plan, SafetyLimits, rehearse};
use crate::render::{self, Context};
use crate::resolve::{self, ResolveError, Resolved};
use crate::settings::{Connection, Limits, Output, Scope};

/// Timeout of establishing a connection to the API.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Loads and validates the desired state (one file, or several that are one desired state),
/// printing its diagnostics (the warnings, or every problem when it is invalid), for a command
/// that goes on to read the account: a guess the account settles (a service name that is
/// none of the documented ones) is left to that check, which accepts the name or reports it.
pub(crate) fn load(output: &Output, paths: &ConfigPaths) -> anyhow::Result<Loaded> {
    load_file(output, paths, Mode::Desired, Diagnostics::unsettled)
}

/// [`load`] for `validate`, which reads no account: every diagnostic is printed.
pub(crate) fn load_offline(output: &Output, paths: &ConfigPaths) -> anyhow::Result<Loaded> {
    load_file(output, paths, Mode::Desired, Clone::clone)
}

/// Loads an emulator seed, printing its diagnostics.
pub(crate) fn load_seed(output: &Output, path: &Path) -> anyhow::Result<StateFile> {
    let paths = ConfigPaths::from(path.to_owned());
    load_file(output, &paths, Mode::Seed, Clone::clone).map(|loaded| loaded.state)
}

/// Loads `paths` in `mode` and prints the `shown` part of the diagnostics.
fn load_file(
    output: &Output,
    paths: &ConfigPaths,
    mode: Mode,
    shown: fn(&Diagnostics) -> Diagnostics,
) -> anyhow::Result<Loaded> {
    match config::load(paths, mode) {
        Ok(loaded) => {
            print_diagnostics(output, &shown(&loaded.warnings))?;
            Ok(loaded)
        }
        Err(config::LoadError::Invalid(diagnostics)) => {
            print_diagnostics(output, &diagnostics)?;
            Err(Reported(format!(
                "{} is not valid ({})",
                paths.display(),
                problem_count(&diagnostics)
            ))
            .into())
        }
        Err(e) => Err(e.into()),
    }
}

/// `2 errors, 1 warning`.
pub(crate) fn problem_count(d: &Diagnostics) -> String {
    let (errors, warnings) = (d.error_count(), d.warning_count());
    let mut s = render::count(errors, "error", "errors");
    if warnings > 0 {
        s.push_str(&format!(
            ", {}",
            render::count(warnings, "warning", "warnings")
        ));
    }
    s
}

fn print_diagnostics(output: &Output, d: &Diagnostics) -> anyhow::Result<()> {
    if d.is_empty() {
        return Ok(());
    }
    // Workflow commands go to stderr too (the runner reads both streams), so that stdout
    // stays one document with `--format json` or `markdown`.
    let mut err = std::io::stderr().lock();
    d.render(&mut err, output.color_stderr)?;
    if output.github_actions {
        d.render_github(&mut err)?;
    }
    err.flush()?;
    Ok(())
}

/// The account a run works on, and where its API calls go.
#[derive(Debug)]
pub(crate) struct Connected {
    pub account_id: AccountId,
    pub backend: Backend,
}

/// Chooses the account and builds the backend: with `--emulate SEED`, an emulated account
/// seeded from it (its diagnostics printed); else the HTTP client, with the credentials read
/// from the environment or `--api-token-file`.
///
/// The account is `--account-id` (or `CLOUDFLARE_ACCOUNT_ID`), else `account_id` in `file`
/// (the two must agree when both are set), else with `--emulate` the seed's or the emulator's
/// default. `config` names the desired-state file in the message when there is none.
pub(crate) fn connect(
    connection: &Connection,
    output: &Output,
    config: &ConfigPaths,
    file: Option<&StateFile>,
) -> anyhow::Result<Connected> {
    let seed = connection
        .emulate
        .as_deref()
        .map(|path| load_seed(output, path).map(|seed| (path, seed)))
        .transpose()?;
    let named = config.display();
    let chosen =
        connection.account_id(file.map(|state| (&named as &dyn std::fmt::Display, state)))?;
    if let Some((path, seed)) = seed {
        let account_id = chosen
            .or_else(|| seed.account_id.clone())
            .unwrap_or_else(crate::emulator::default_account_id);
        let backend = Backend::emulated(&seed, account_id.clone())
            .with_context(|| format!("cannot seed the emulator from {}", path.display()))?;
        return Ok(Connected {
            account_id,
            backend,
        });
    }
    let Some(account_id) = chosen else {
        bail!(
            "no account id: set `account_id` in {}, pass --account-id, or set CLOUDFLARE_ACCOUNT_ID",
            config.display()
        );
    };
    let credentials = credentials::from_sources(
        |name| std::env::var(name).ok(),
        connection.api_token_file.as_deref(),
    )?;
    let backend = Backend::http(ClientConfig {
        base_url: connection.api_url.clone(),
        account_id: account_id.clone(),
        credentials,
        timeout: connection.timeout,
        connect_timeout: CONNECT_TIMEOUT,
    })?;
    Ok(Connected {
        account_id,
        backend,
    })
}

/// Resolves the file against the live account: service names and prefix CIDRs to ids, and the
/// live bindings of every prefix in `scope`. Problems of the file that only the account reveals
/// are printed as diagnostics located in the file.
pub(crate) async fn resolve(
    output: &Output,
    connected: &Connected,
    file: &Loaded,
    scope: &Scope,
) -> anyhow::Result<Resolved> {
    match resolve::resolve(
        &connected.backend,
        &file.state,
        &scope.prefixes,
        scope.concurrency,
    )
    .await
    {
        Ok(resolved) => Ok(resolved),
        Err(ResolveError::Problems(problems)) => {
            let mut diagnostics = Diagnostics::new();
            for p in &problems {
                diagnostics.push(file.diagnostic(
                    config::Severity::Error,
                    p.location,
                    p.message.clone(),
                    p.hint.clone(),
                ));
            }
            print_diagnostics(output, &diagnostics)?;
            Err(Reported(format!(
                "{} does not match the account ({})",
                file.file(),
                problem_count(&diagnostics)
            ))
            .into())
        }
        Err(ResolveError::Api(e)) => {
            Err(anyhow::Error::new(e).context("cannot read the live state"))
        }
        Err(e) => Err(e.into()),
    }
}

/// A plan, rehearsed, with what rendering it needs.
#[derive(Debug)]
pub(crate) struct Planned {
    pub plan: Plan,
    pub services: Services,
    /// The effective safety limits (each the flag, else the file's, else the default).
    pub limits: SafetyLimits,
}

impl Planned {
    /// What the renderers need besides the plan.
    pub fn context(&self) -> Context<'_> {
        Context {
            services: &self.services,
            limits: self.limits.clone(),
        }
    }
}

/// Plans the resolved prefixes and rehearses the plan on the API's rules; a plan the rules
/// would reject is a bug, reported as such instead of being shown.
pub(crate) fn plan(
    account_id: &AccountId,
    resolved: Resolved,
    limits: &Limits,
    file: &StateFile,
) -> anyhow::Result<Planned> {
    let plan = crate::plan::plan(account_id.clone(), &resolved.prefixes)?;
    rehearse::rehearse(&plan, &resolved.prefixes, &resolved.services)
        .context("internal error: the plan breaks the API's rules; please report this as a bug")?;
    Ok(Planned {
        plan,
        services: resolved.services,
        limits: limits.safety(file),
    })
}
