//! The steps every command composes, in this order: [`load`] the desired-state file,
//! [`connect`] to the account, [`resolve`] the file against the live state, [`plan`] (and
//! rehearse) the changes.
//!
//! Each step prints what it alone knows (a file's diagnostics, resolution problems located in
//! the file) and returns a value or an error with its context; the command decides what to do
//! next and what to write on stdout. A command that needs only some steps takes only those:
//! `validate` loads, `services` connects, `plan`, `apply` and `drift` take all four.
//! `apply PLAN.json` connects, then [`recheck`]s only the prefixes the saved plan changes,
//! instead of resolving and planning again. The views of the whole account (`export`, `show`,
//! `route`) connect, then [`read_account`] instead of resolving a file.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::Path;

use anyhow::{Context as _, bail};
use futures::StreamExt as _;
use ipnet::IpNet;

use super::Reported;
use crate::api::Api as _;
use crate::api::RetryPolicy;
use crate::api::client::ClientConfig;
use crate::api::credentials;
use crate::backend::Backend;
use crate::config::{self, ConfigPaths, Diagnostics, Loaded, Mode};
use crate::contract::{SavedPlan, StalePrefix};
use crate::model::{AccountId, DesiredPrefix, Prefix, Services, StateFile};
use crate::plan::{Plan, PrefixState, SafetyLimits, rehearse};
use crate::render::{self, Context};
use crate::resolve::{self, LivePrefix, ResolveError, Resolved};
use crate::settings::{Connection, Limits, Output, Scope};

/// Loads and validates the desired state (one file, or several that are one desired state),
/// printing its diagnostics (the warnings, or every problem when it is invalid), for a command
/// that goes on to read the account: a guess the account settles (a service name that is
/// none of the documented ones) is left to that check, which accepts the name or reports it.
pub(crate) fn load(output: &Output, paths: &ConfigPaths) -> anyhow::Result<Loaded> {
    load_desired(output, paths, Diagnostics::unsettled)
}

/// [`load`] for `validate`, which reads no account: every diagnostic is printed.
pub(crate) fn load_offline(output: &Output, paths: &ConfigPaths) -> anyhow::Result<Loaded> {
    load_desired(output, paths, Clone::clone)
}

/// Loads the desired state and prints the `shown` part of its warnings (all of its problems
/// when it is invalid).
fn load_desired(
    output: &Output,
    paths: &ConfigPaths,
    shown: fn(&Diagnostics) -> Diagnostics,
) -> anyhow::Result<Loaded> {
    match config::load(paths, Mode::Desired) {
        Ok(loaded) => {
            print_diagnostics(output, &shown(&loaded.warnings))?;
            Ok(loaded)
        }
        Err(config::LoadError::Invalid(diagnostics)) => {
            Err(invalid(output, diagnostics, paths.display().to_string()))
        }
        Err(e) => Err(e.into()),
    }
}

/// Loads an emulator seed named by `flag` (`--emulate`, `--seed`), printing its diagnostics.
/// Its errors name the flag: a bad seed is not a bad desired-state file.
pub(crate) fn load_seed(output: &Output, path: &Path, flag: &str) -> anyhow::Result<StateFile> {
    let shown = crate::sanitize::text(&path.display().to_string()).into_owned();
    match config::load(path, Mode::Seed) {
        Ok(loaded) => {
            print_diagnostics(output, &loaded.warnings)?;
            Ok(loaded.state)
        }
        Err(config::LoadError::Invalid(diagnostics)) => Err(invalid(
            output,
            diagnostics,
            format!("the {flag} seed {shown}"),
        )),
        Err(config::LoadError::Read { source, .. }) => Err(anyhow::Error::new(source).context(
            format!(
                "cannot read the {flag} seed `{shown}`; name a seed file (the emulated account, in the desired-state format with binding ids and states)"
            ),
        )),
        Err(e @ config::LoadError::NoFiles { .. }) => {
            Err(anyhow::Error::new(e).context(format!("cannot read the {flag} seed `{shown}`")))
        }
    }
}

/// Prints an invalid file's diagnostics; the error says `what` is not valid.
fn invalid(output: &Output, diagnostics: Diagnostics, what: String) -> anyhow::Error {
    let _ = print_diagnostics(output, &diagnostics);
    Reported {
        message: format!("{what} is not valid ({})", problem_count(&diagnostics)),
        diagnostics,
    }
    .into()
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

/// Prints diagnostics on stderr (and as workflow commands under GitHub Actions). A failed
/// write is dropped: stderr never decides a command's outcome.
pub(crate) fn print_diagnostics(output: &Output, d: &Diagnostics) -> anyhow::Result<()> {
    // `-q`: only errors on stderr, so the warnings are left out (a document on stdout still
    // carries them).
    let errors_only;
    let d = if output.quiet {
        let mut errors = Diagnostics::new();
        for diagnostic in d.iter().filter(|d| d.is_error()) {
            errors.push(diagnostic.clone());
        }
        errors_only = errors;
        &errors_only
    } else {
        d
    };
    if d.is_empty() {
        return Ok(());
    }
    // Workflow commands go to stderr too (the runner reads both streams), so that stdout
    // stays one document with `--format json` or `markdown`.
    let mut err = super::out::Lossy::new(std::io::stderr().lock());
    let _ = d.render(&mut err, output.color_stderr);
    if output.github_actions {
        let _ = d.render_github(&mut err);
    }
    let _ = err.flush();
    Ok(())
}

/// [`connect`] for a command that does not work on the desired state (services, export,
/// show, route): the file is read only for its `account_id`, and only when neither the flag
/// nor the environment names the account, no emulated account is used, and the file exists.
pub(crate) fn connect_for_account(
    output: &Output,
    connection: &Connection,
    config: &ConfigPaths,
) -> anyhow::Result<Connected> {
    let file = if connection.account_id.is_none() && connection.emulate.is_none() && config.exists()
    {
        Some(load(output, config)?.state)
    } else {
        None
    };
    connect(connection, output, config, file.as_ref())
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
        .map(|path| load_seed(output, path, "--emulate").map(|seed| (path, seed)))
        .transpose()?;
    let named = config.display();
    let chosen =
        connection.account_id(file.map(|state| (&named as &dyn std::fmt::Display, state)))?;
    if let Some((path, seed)) = seed {
        let account_id = chosen
            .or_else(|| seed.account_id.clone())
            .unwrap_or_else(crate::emulator::default_account_id);
        let backend = Backend::emulated(&seed, account_id.clone()).with_context(|| {
            format!(
                "cannot seed the emulated account from --emulate {}",
                path.display()
            )
        })?;
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
    let env = |name: &str| std::env::var(name).ok();
    let credentials = credentials::from_sources(env, connection.api_token_file.as_deref())?;
    let (used, ignored) = credential_sources(&env, connection.api_token_file.is_some());
    if let Some(used) = used {
        let _ = CREDENTIAL.set(used);
        if !ignored.is_empty() && !output.quiet {
            super::out::stderr_line(format_args!(
                "note: using {}; {} set too and ignored (svcbind uses --api-token-file, else CLOUDFLARE_API_TOKEN, else CLOUDFLARE_API_KEY + CLOUDFLARE_EMAIL)",
                used.name(),
                ignored
                    .iter()
                    .map(|c| c.name())
                    .collect::<Vec<_>>()
                    .join(" and ")
                    + if ignored.len() == 1 { " is" } else { " are" }
            ));
        }
    }
    let mut config = ClientConfig::new(connection.api_url.clone(), account_id.clone(), credentials);
    config.timeout = connection.timeout;
    config.pacing = connection.pacing;
    config.allow_insecure_http = connection.allow_insecure_http;
    let retry = RetryPolicy::with_max_retry_wait(connection.max_retry_wait);
    let backend = Backend::http(config, retry)?;
    Ok(Connected {
        account_id,
        backend,
    })
}

/// A place credentials come from, in the order svcbind takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Credential {
    /// `--api-token-file` (or `SVCBIND_API_TOKEN_FILE`).
    TokenFile,
    /// `CLOUDFLARE_API_TOKEN`.
    Token,
    /// `CLOUDFLARE_API_KEY` + `CLOUDFLARE_EMAIL`.
    Legacy,
}

impl Credential {
    fn name(self) -> &'static str {
        match self {
            Credential::TokenFile => "the token of --api-token-file",
            Credential::Token => "CLOUDFLARE_API_TOKEN",
            Credential::Legacy => "CLOUDFLARE_API_KEY + CLOUDFLARE_EMAIL",
        }
    }
}

/// The credentials this run sends, once connected: what an auth failure's hint names.
static CREDENTIAL: std::sync::OnceLock<Credential> = std::sync::OnceLock::new();

/// Which credential is used and which others are set too (non-empty), in the order of
/// [`credentials::from_sources`]: the token file, `CLOUDFLARE_API_TOKEN`, the legacy pair.
fn credential_sources(
    env: &dyn Fn(&str) -> Option<String>,
    token_file: bool,
) -> (Option<Credential>, Vec<Credential>) {
    let set = |name: &str| env(name).is_some_and(|v| !v.trim().is_empty());
    let mut present = Vec::new();
    if token_file {
        present.push(Credential::TokenFile);
    }
    if set(credentials::ENV_API_TOKEN) {
        present.push(Credential::Token);
    }
    if set(credentials::ENV_API_KEY) && set(credentials::ENV_EMAIL) {
        present.push(Credential::Legacy);
    }
    let mut present = present.into_iter();
    (present.next(), present.collect())
}

/// What to check when the API refuses the credentials: the ones this run sent.
pub(crate) fn auth_hint() -> &'static str {
    match CREDENTIAL.get() {
        Some(Credential::TokenFile) => {
            "the API refused the credentials: check the token in --api-token-file (it is used before CLOUDFLARE_API_TOKEN); plan needs the \"IP Prefixes: Read\" permission, apply \"IP Prefixes: Edit\""
        }
        Some(Credential::Legacy) => {
            "the API refused the credentials: check CLOUDFLARE_API_KEY and CLOUDFLARE_EMAIL (the legacy key and its account's e-mail), or set CLOUDFLARE_API_TOKEN to an API token with \"IP Prefixes: Read\" (plan) or \"IP Prefixes: Edit\" (apply)"
        }
        Some(Credential::Token) | None => {
            "the API refused the credentials: check CLOUDFLARE_API_TOKEN; plan needs the \"IP Prefixes: Read\" permission, apply \"IP Prefixes: Edit\""
        }
    }
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
            Err(Reported {
                message: format!(
                    "{} does not match the account ({})",
                    file.file(),
                    problem_count(&diagnostics)
                ),
                diagnostics,
            }
            .into())
        }
        Err(ResolveError::Api(e)) => {
            Err(anyhow::Error::new(e).context("cannot read the live state"))
        }
        Err(e) => Err(in_file(e, &file.file(), &file.state)),
    }
}

/// A resolution error, with a `--prefix` that matches no prefix of the file listing the
/// file's prefixes (as `show` and `export` list the account's).
pub(crate) fn in_file(e: ResolveError, name: &str, state: &StateFile) -> anyhow::Error {
    match e {
        ResolveError::UnknownFilter { value } => {
            let known = if state.prefixes.is_empty() {
                format!("{name} lists no prefix")
            } else {
                let cidrs: Vec<String> =
                    state.prefixes.iter().map(|p| p.cidr.to_string()).collect();
                format!(
                    "use the CIDR or the id of one of its prefixes: {}",
                    cidrs.join(", ")
                )
            };
            anyhow::anyhow!("--prefix {value} matches no prefix in {name}; {known}")
        }
        e => e.into(),
    }
}

/// The live account as its views read it: the catalog, and the bindings of the prefixes
/// chosen from its listing.
#[derive(Debug)]
pub(crate) struct Account {
    pub services: Services,
    /// The prefixes chosen, with their bindings, in listing order.
    pub prefixes: Vec<LivePrefix>,
}

/// Reads the account for a view of it: the services and the prefix listing (together), then
/// the bindings of the prefixes `choose` picks from the listing (one call each, up to
/// `concurrency` at a time). `choose` may refuse, e.g. a `--prefix` the account lacks.
pub(crate) async fn read_account(
    connected: &Connected,
    choose: impl FnOnce(&[Prefix]) -> anyhow::Result<Vec<Prefix>>,
    concurrency: usize,
) -> anyhow::Result<Account> {
    let api = &connected.backend;
    let (services, listed) = resolve::list_account(api)
        .await
        .context("cannot read the live state")?;
    let chosen = choose(&listed)?;
    let prefixes = resolve::read_bindings(api, chosen, concurrency)
        .await
        .context("cannot read the live state")?;
    Ok(Account { services, prefixes })
}

/// A plan, rehearsed, with what rendering and saving it need.
#[derive(Debug)]
pub(crate) struct Planned {
    pub plan: Plan,
    pub services: Services,
    /// The effective safety limits (each the flag, else the file's, else the default).
    pub limits: SafetyLimits,
    /// The desired and live state the plan was made from, in plan order.
    pub states: Vec<PrefixState>,
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
    if let Err(e) = rehearse::rehearse(&plan, &resolved.prefixes, &resolved.services) {
        let ctx = Context {
            services: &resolved.services,
            limits: limits.safety(file),
        };
        bail!(
            "internal error: the plan breaks the API's rules; please report this as a bug: {}",
            render::text::rehearsal_failure(&e, &ctx)
        );
    }
    Ok(Planned {
        plan,
        services: resolved.services,
        limits: limits.safety(file),
        states: resolved.prefixes,
    })
}

/// Which prefixes `plan --changed-since REF` plans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Since {
    /// Every prefix of the file, for this reason (the file is new since REF, its settings
    /// outside `prefixes` changed, or its old text is not a valid desired-state file).
    Every(String),
    /// Only the prefixes whose entry changed; `skipped` holds the others, in file order.
    Changed {
        changed: BTreeSet<IpNet>,
        skipped: Vec<IpNet>,
    },
}

/// Compares the desired state with itself at git `revision` ([`changed_prefixes`]): each file
/// of `config` as it was there, and for a directory the `*.yaml` files it held there, taken
/// together as [`config::load`] takes them now.
pub(crate) fn changed_since(
    config: &ConfigPaths,
    file: &Loaded,
    revision: &str,
) -> anyhow::Result<Since> {
    let mut seen = BTreeSet::new();
    let mut old: Vec<(String, String)> = Vec::new();
    for path in config.paths() {
        let files = if path.is_dir() {
            super::git::yaml_files_at(path, revision)?
        } else {
            super::git::read_at(path, revision)?
                .map(|text| (path.clone(), text))
                .into_iter()
                .collect()
        };
        for (path, text) in files {
            // A file named twice (directly and through its directory) is read once, as now.
            if seen.insert(same_file(&path)) {
                old.push((format!("{revision}:{}", path.display()), text));
            }
        }
    }
    let shown = config.display();
    if old.is_empty() {
        return Ok(Since::Every(format!("{shown} did not exist at {revision}")));
    }
    let named: Vec<(&str, &str)> = old.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
    Ok(match config::parse_files(&named, Mode::Desired) {
        Ok(old) => changed_prefixes(&old.state, &file.state, revision),
        Err(_) => Since::Every(format!(
            "{shown} at {revision} is not a valid desired state to compare with"
        )),
    })
}

/// What tells two names of one file apart: its directory resolved (the file itself may be
/// gone since), and its name.
fn same_file(path: &Path) -> std::path::PathBuf {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    match (std::fs::canonicalize(dir), path.file_name()) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => path.to_owned(),
    }
}

/// The prefixes of `new` whose entry differs from `old`'s: its bindings (CIDR and service as
/// written, in any order), its `ignore` ranges, its pinned id; a prefix `old` lacks is changed.
/// A prefix only `old` has is nobody's business: svcbind leaves unlisted prefixes alone. When
/// anything outside `prefixes` differs (the account, the safety settings), every prefix is
/// planned, since each one's plan or verdict may depend on it.
pub(crate) fn changed_prefixes(old: &StateFile, new: &StateFile, revision: &str) -> Since {
    // The protected ranges of several files add up, in any order.
    let settings = |s: &StateFile| {
        let mut protect = s.protect.clone();
        protect.sort_unstable();
        protect.dedup();
        StateFile {
            prefixes: Vec::new(),
            protect,
            ..s.clone()
        }
    };
    if settings(old) != settings(new) {
        return Since::Every(format!(
            "its settings outside `prefixes` (the account, the safety limits) changed since {revision}"
        ));
    }
    /// A prefix's entry without where it was written.
    fn entry(p: &DesiredPrefix) -> impl PartialEq + '_ {
        let ignore: BTreeSet<&IpNet> = p.ignore.iter().collect();
        let bindings: BTreeSet<(&IpNet, &str)> = p
            .bindings
            .iter()
            .map(|b| (&b.cidr, b.service.as_str()))
            .collect();
        (p.id.as_ref(), ignore, bindings)
    }
    let before: BTreeMap<&IpNet, &DesiredPrefix> =
        old.prefixes.iter().map(|p| (&p.cidr, p)).collect();
    let mut changed = BTreeSet::new();
    let mut skipped = Vec::new();
    for prefix in &new.prefixes {
        match before.get(&prefix.cidr) {
            Some(was) if entry(was) == entry(prefix) => skipped.push(prefix.cidr),
            _ => {
                changed.insert(prefix.cidr);
            }
        }
    }
    Since::Changed { changed, skipped }
}

/// What a saved plan's changed prefixes look like now.
#[derive(Debug)]
pub(crate) struct Rechecked {
    /// The prefixes that changed since the plan was made, in plan order.
    pub stale: Vec<StalePrefix>,
    /// Every prefix the plan changes is at the plan's end state: it was applied already.
    pub applied: bool,
}

/// Reads the live bindings of the prefixes a saved plan changes, and of no other (one list
/// call each, up to `concurrency` at a time: no service or prefix listing, since the plan holds
/// every id), and says which changed since the plan was made, in plan order, and whether all
/// of them are as the plan leaves them. A prefix that no longer exists counts as changed.
pub(crate) async fn recheck(
    connected: &Connected,
    saved: &SavedPlan,
    concurrency: usize,
) -> anyhow::Result<Rechecked> {
    type Checked = anyhow::Result<Option<(StalePrefix, bool)>>;
    let checked: Vec<Checked> = futures::stream::iter(saved.changed())
        .map(|(prefix, before)| async move {
            let now = match connected.backend.list_bindings(&prefix.id).await {
                Ok(now) => Some(now),
                Err(e) if e.is_prefix_not_found() => None,
                Err(e) => {
                    return Err(anyhow::Error::new(e).context(format!(
                        "cannot read the live bindings of {} to check the plan against them",
                        prefix.cidr
                    )));
                }
            };
            let applied = now
                .as_deref()
                .is_some_and(|now| crate::contract::saved::is_applied(prefix, before, now));
            Ok(
                crate::contract::saved::staleness(prefix, before, now.as_deref())
                    .map(|stale| (stale, applied)),
            )
        })
        .buffered(concurrency.max(1))
        .collect()
        .await;
    let changed = checked.len();
    let checked: Vec<(StalePrefix, bool)> = checked
        .into_iter()
        .filter_map(Result::transpose)
        .collect::<anyhow::Result<_>>()?;
    Ok(Rechecked {
        applied: changed > 0 && checked.len() == changed && checked.iter().all(|(_, a)| *a),
        stale: checked.into_iter().map(|(stale, _)| stale).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_credential_used_is_the_first_set_in_the_documented_order() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let all = env(&[
            ("CLOUDFLARE_API_TOKEN", "t"),
            ("CLOUDFLARE_API_KEY", "k"),
            ("CLOUDFLARE_EMAIL", "e@example.com"),
        ]);
        assert_eq!(
            credential_sources(&all, true),
            (
                Some(Credential::TokenFile),
                vec![Credential::Token, Credential::Legacy]
            )
        );
        assert_eq!(
            credential_sources(&all, false),
            (Some(Credential::Token), vec![Credential::Legacy])
        );
        let legacy = env(&[
            ("CLOUDFLARE_API_TOKEN", ""),
            ("CLOUDFLARE_API_KEY", "k"),
            ("CLOUDFLARE_EMAIL", "e@example.com"),
        ]);
        assert_eq!(
            credential_sources(&legacy, false),
            (Some(Credential::Legacy), vec![])
        );
    }

    fn state(yaml: &str) -> StateFile {
        config::parse(yaml, "svcbind.yaml", Mode::Desired)
            .expect("a valid file")
            .state
    }

    fn changed(old: &str, new: &str) -> Since {
        changed_prefixes(&state(old), &state(new), "main")
    }

    fn only(changed: &[&str], skipped: &[&str]) -> Since {
        Since::Changed {
            changed: changed.iter().map(|c| c.parse().unwrap()).collect(),
            skipped: skipped.iter().map(|c| c.parse().unwrap()).collect(),
        }
    }

    const BASE: &str = "version: 1
prefixes:
  - cidr: 192.0.2.0/24
    bindings:
      - { cidr: 192.0.2.0/24, service: Magic Transit }
      - { cidr: 192.0.2.16/29, service: CDN }
  - cidr: 198.51.100.0/24
    bindings:
      - { cidr: 198.51.100.0/24, service: CDN }
";

    #[test]
    fn order_comments_and_lines_are_no_change() {
        let moved = "version: 1
# the same bindings, written in another order, further down
prefixes:
  - cidr: 198.51.100.0/24
    bindings: [{ cidr: 198.51.100.0/24, service: CDN }]

  - cidr: 192.0.2.0/24
    bindings:
      - { cidr: 192.0.2.16/29, service: CDN }
      - { cidr: 192.0.2.0/24, service: Magic Transit }
";
        assert_eq!(
            changed(BASE, moved),
            only(&[], &["198.51.100.0/24", "192.0.2.0/24"])
        );
    }

    #[test]
    fn a_binding_an_ignore_range_or_a_pinned_id_changes_its_prefix() {
        let service = BASE.replace(
            "192.0.2.16/29, service: CDN",
            "192.0.2.16/29, service: Spectrum",
        );
        assert_eq!(
            changed(BASE, &service),
            only(&["192.0.2.0/24"], &["198.51.100.0/24"])
        );
        let ignore = BASE.replace(
            "  - cidr: 198.51.100.0/24\n",
            "  - cidr: 198.51.100.0/24\n    ignore: [198.51.100.128/25]\n",
        );
        assert_eq!(
            changed(BASE, &ignore),
            only(&["198.51.100.0/24"], &["192.0.2.0/24"])
        );
        let pinned = BASE.replace(
            "  - cidr: 192.0.2.0/24\n",
            "  - cidr: 192.0.2.0/24\n    id: 2af39739cc4e3b5910c918468bb89828\n",
        );
        assert_eq!(
            changed(BASE, &pinned),
            only(&["192.0.2.0/24"], &["198.51.100.0/24"])
        );
    }

    #[test]
    fn a_new_prefix_is_planned_and_a_dropped_one_is_not() {
        let new = BASE.replace(
            "prefixes:\n",
            "prefixes:\n  - cidr: 203.0.113.0/24\n    bindings: []\n",
        );
        assert_eq!(
            changed(BASE, &new),
            only(&["203.0.113.0/24"], &["192.0.2.0/24", "198.51.100.0/24"])
        );
        let dropped = "version: 1
prefixes:
  - cidr: 198.51.100.0/24
    bindings:
      - { cidr: 198.51.100.0/24, service: CDN }
";
        assert_eq!(changed(BASE, dropped), only(&[], &["198.51.100.0/24"]));
    }

    #[test]
    fn settings_outside_the_prefixes_plan_every_prefix() {
        let why =
            "its settings outside `prefixes` (the account, the safety limits) changed since main";
        let safety = BASE.replace("version: 1\n", "version: 1\nsafety: { max_deletes: 3 }\n");
        assert_eq!(changed(BASE, &safety), Since::Every(why.to_owned()));
        let account = BASE.replace(
            "version: 1\n",
            "version: 1\naccount_id: 023e105f4ecef8ad9ca31a8372d0c353\n",
        );
        assert_eq!(changed(BASE, &account), Since::Every(why.to_owned()));
    }
}
