//! Saved plans at the edge: writing one (`plan --out`), reading one back (`apply PLAN.json`),
//! deciding which account it is carried out on, and saying what changed since it was made.
//!
//! The document and its checks belong to [`crate::contract`]; this module does the file I/O,
//! gives errors their context, and words the refusal of a stale plan for stderr and for the
//! apply report.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;

use super::Refused;
use crate::config::{ConfigPaths, Loaded};
use crate::contract::{self, LiveChange, PlanDocument, SavedPlan, StalePrefix};
use crate::model::{AccountId, Binding, Service, Services};
use crate::render::Context;
use crate::settings::Connection;

/// Writes `doc` to `path` as pretty JSON, whole or not at all: into a file beside it, then
/// renamed over it, so a reader never sees half a plan.
pub(crate) fn write(path: &Path, doc: &PlanDocument) -> anyhow::Result<()> {
    let shown = path.display();
    let mut text = serde_json::to_vec_pretty(doc).context("cannot encode the plan")?;
    text.push(b'\n');
    let name = path
        .file_name()
        .with_context(|| format!("cannot save the plan to `{shown}`: that names no file"))?;
    let mut temporary = name.to_owned();
    temporary.push(format!(".{}.tmp", std::process::id()));
    let temporary = path.with_file_name(temporary);
    let written = std::fs::File::create(&temporary)
        .and_then(|mut file| file.write_all(&text).and_then(|()| file.sync_all()))
        .and_then(|()| std::fs::rename(&temporary, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(anyhow::Error::new(e).context(format!("cannot save the plan to `{shown}`")));
    }
    Ok(())
}

/// The most a plan file may hold: far above any real plan, low enough to refuse a wrong file.
const MAX_PLAN_BYTES: u64 = 256 << 20;

/// Reads and checks a saved plan.
pub(crate) fn read(path: &Path) -> anyhow::Result<SavedPlan> {
    let shown = path.display();
    let cannot_read = || format!("cannot read the plan file `{shown}`");
    let size = std::fs::metadata(path).with_context(cannot_read)?.len();
    if size > MAX_PLAN_BYTES {
        anyhow::bail!(
            "`{shown}` is not a plan svcbind wrote: it is larger than {} MiB",
            MAX_PLAN_BYTES >> 20
        );
    }
    let text = std::fs::read(path).with_context(cannot_read)?;
    let text = String::from_utf8(text).map_err(|_| {
        anyhow::anyhow!("`{shown}` is not a plan svcbind wrote: it is not UTF-8 text")
    })?;
    contract::read_plan(&text).map_err(|e| {
        if contract::looks_like_plan(&text) {
            anyhow::Error::new(e).context(format!(
                "`{shown}` is not a plan this svcbind can apply; make it again with `svcbind plan --out {shown}`"
            ))
        } else if looks_like_desired_state(path, &text) {
            anyhow::anyhow!(
                "`{shown}` looks like a desired-state file, not a saved plan; did you mean `svcbind apply -c {shown}`?"
            )
        } else {
            anyhow::anyhow!(
                "`{shown}` is not a saved plan ({e}); make one with `svcbind plan --out PLAN.json`, then run `svcbind apply PLAN.json`"
            )
        }
    })
}

/// Whether a file that is not a plan looks like a desired-state file: named `*.yaml` or
/// `*.yml`, or a line opening with one of its top-level keys.
fn looks_like_desired_state(path: &Path, text: &str) -> bool {
    let yaml = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
    yaml || text
        .lines()
        .any(|l| l.starts_with("prefixes:") || l.starts_with("version:"))
}

/// Refuses a `plan --out` path that must not be overwritten: one of the desired-state files
/// (`-c`, or a file of a `-c` directory), or an existing file that is not a plan svcbind saved.
/// Checked before anything is read from the account.
pub(crate) fn check_out(path: &Path, config: &ConfigPaths) -> anyhow::Result<()> {
    let shown = path.display();
    if !path.exists() {
        return Ok(());
    }
    let resolved = std::fs::canonicalize(path).ok();
    let parent = resolved.as_deref().and_then(Path::parent);
    let yaml = path.extension().is_some_and(|e| e == "yaml");
    let is_config = config.paths().iter().any(|c| {
        let c = std::fs::canonicalize(c).ok();
        c.is_some() && (c == resolved || (yaml && c.as_deref() == parent))
    });
    if is_config {
        anyhow::bail!(
            "--out `{shown}` is a desired-state file (-c); the plan would overwrite it: save the plan to another file, e.g. --out plan.json"
        );
    }
    let is_plan = std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() <= MAX_PLAN_BYTES)
        && std::fs::read_to_string(path).is_ok_and(|text| contract::looks_like_plan(&text));
    if !is_plan {
        anyhow::bail!(
            "--out `{shown}` exists and is not a plan svcbind saved; plan --out overwrites only an earlier plan: name another file, or move this one away first"
        );
    }
    Ok(())
}

/// The account a saved plan is carried out on: the plan's. When `--account-id` (or
/// `CLOUDFLARE_ACCOUNT_ID`) or the desired-state file also name one, it must be the same
/// (the two must agree with each other first), else apply refuses; when neither does, the plan
/// alone decides.
pub(crate) fn account(
    connection: &Connection,
    config: &ConfigPaths,
    file: Option<&Loaded>,
    saved: &SavedPlan,
    plan_path: &Path,
) -> anyhow::Result<AccountId> {
    let planned = &saved.plan.account_id;
    let named = config.display();
    let chosen =
        connection.account_id(file.map(|f| (&named as &dyn std::fmt::Display, &f.state)))?;
    match chosen {
        Some(chosen) if chosen != *planned => {
            let source = if connection.account_id.is_some() {
                "--account-id / CLOUDFLARE_ACCOUNT_ID".to_owned()
            } else {
                format!("`account_id` in {}", config.display())
            };
            Err(Refused(format!(
                "{} was made for account {planned}, but {source} is {chosen}; apply a plan made for {chosen}, or point svcbind at account {planned}",
                plan_path.display()
            ))
            .into())
        }
        _ => Ok(planned.clone()),
    }
}

/// The service names to word a refusal with: the plan's, and those the API gave with the
/// bindings read since (a binding added by hand may name a service the plan never did).
pub(crate) fn names(saved: &SavedPlan, stale: &[StalePrefix]) -> Services {
    let mut all: Vec<Service> = saved
        .services
        .iter()
        .map(|(id, name)| Service {
            id: id.clone(),
            name: name.to_owned(),
        })
        .collect();
    for change in stale.iter().flat_map(|p| &p.changes) {
        if let LiveChange::Added(b) | LiveChange::Removed(b) = change
            && let Some(name) = &b.service_name
            && saved.services.name(&b.service_id).is_none()
        {
            all.push(Service {
                id: b.service_id.clone(),
                name: name.clone(),
            });
        }
    }
    Services::new(all)
}

/// The refusal of a stale plan in one line, for the apply report.
pub(crate) fn stale_reason(stale: &[StalePrefix], ctx: &Context<'_>) -> String {
    let prefixes: Vec<String> = stale
        .iter()
        .map(|p| format!("in {}, {}", p.cidr, prefix_lines(p, ctx).join(", ")))
        .collect();
    format!(
        "the account changed since the plan was made: {}; nothing was changed: make a new plan, review it, and apply that one",
        prefixes.join("; ")
    )
}

/// The refusal of a stale plan for stderr: each prefix, then what changed in it, one line each.
pub(crate) fn stale_text(
    stale: &[StalePrefix],
    ctx: &Context<'_>,
    plan_path: &Path,
    config: &[std::path::PathBuf],
) -> String {
    let mut text = String::from(
        "apply refused: the account changed since the plan was made, so its steps are not the ones that were reviewed:\n",
    );
    for p in stale {
        text.push_str(&format!("  {} (prefix {}):\n", p.cidr, p.id));
        for line in prefix_lines(p, ctx) {
            text.push_str(&format!("    {line}\n"));
        }
    }
    text.push_str(&format!(
        "  = hint: nothing was changed; make a new plan with `svcbind plan{} --out {}`, review it, and apply that one",
        super::config_flags(config),
        super::shell_word(&plan_path.display().to_string())
    ));
    text
}

/// What changed in one prefix, one phrase per binding.
fn prefix_lines(p: &StalePrefix, ctx: &Context<'_>) -> Vec<String> {
    if p.gone {
        return vec!["the prefix no longer exists".to_owned()];
    }
    let bound = |b: &Binding| format!("{} → {}", b.cidr, ctx.service(&b.service_id));
    let now_is = |before: &crate::model::BindingId, after: &crate::model::BindingId| {
        if before == after {
            format!("binding {after}")
        } else {
            format!("binding {before} is now {after}")
        }
    };
    p.changes
        .iter()
        .map(|c| match c {
            LiveChange::Added(b) => format!("{} was added (binding {})", bound(b), b.id),
            LiveChange::Removed(b) => format!("{} was removed (binding {})", bound(b), b.id),
            LiveChange::Moved {
                cidr,
                from,
                to,
                before,
                after,
            } => format!(
                "{cidr} moved from {} to {} ({})",
                ctx.service(from),
                ctx.service(to),
                now_is(before, after)
            ),
            LiveChange::Recreated {
                cidr,
                service,
                before,
                after,
            } => format!(
                "{cidr} → {} was deleted and created again ({})",
                ctx.service(service),
                now_is(before, after)
            ),
        })
        .collect()
}

/// Whether the desired-state file differs from the one the plan was made from.
pub(crate) fn file_changed(file: &Loaded, saved: &SavedPlan) -> bool {
    saved
        .desired_sha256
        .as_deref()
        .is_some_and(|planned| planned != contract::sha256_hex(&file.contents()))
}
