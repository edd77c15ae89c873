//! `svcbind export`: a desired-state file written from the live account (connect → read the
//! account → the file), to stdout or to `-o FILE`, which it never overwrites without
//! `--force`.

use std::io::Write as _;
use std::path::Path;

use anyhow::{Context as _, bail};

use super::steps;
use crate::config::{self, LiveInput};
use crate::exit::ExitCode;
use crate::render::count;
use crate::resolve;
use crate::settings::{ExportSettings, Output};

pub async fn run(output: &Output, settings: &ExportSettings) -> anyhow::Result<ExitCode> {
    // Refused before any call: an existing file stays as it is without --force.
    if let Some(path) = &settings.output
        && path.exists()
        && !settings.force
    {
        bail!(
            "{} exists; pass --force to overwrite it, or name another file with -o",
            path.display()
        );
    }
    let connected = steps::connect_for_account(output, &settings.connection, &settings.config)?;
    let account = steps::read_account(
        &connected,
        |listed| Ok(resolve::select_listed(listed, &settings.scope.prefixes)?),
        settings.scope.concurrency,
    )
    .await?;
    let inputs: Vec<LiveInput<'_>> = account
        .prefixes
        .iter()
        .map(|p| LiveInput {
            prefix: &p.prefix,
            bindings: &p.bindings,
        })
        .collect();
    let exported = config::export(&connected.account_id, &account.services, &inputs);
    let mut comments = exported.comments;
    comments.header = vec![format!(
        "Exported by svcbind {} from account {} at {}.",
        env!("CARGO_PKG_VERSION"),
        connected.account_id,
        humantime::format_rfc3339_seconds(std::time::SystemTime::now())
    )];
    comments.header.push(if exported.broken == 0 {
        "`svcbind plan` on this file shows no changes; edit it, then plan and apply.".to_owned()
    } else {
        "The live state breaks the API's rules (each place is commented below): `svcbind validate` reports it; fix the file, then plan and apply.".to_owned()
    });
    let text = config::to_yaml_with(&exported.state, &comments);
    match &settings.output {
        Some(path) => {
            write_file(path, &text, settings.force)?;
            if !output.quiet {
                super::out::stderr_line(format_args!(
                    "exported {} to {}",
                    crate::render::state_summary(&exported.state),
                    path.display()
                ));
            }
        }
        None => {
            let mut out = super::out::stdout();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
    }
    if exported.broken > 0 && !output.quiet {
        super::out::stderr_line(format_args!(
            "warning: the live state breaks the API's rules in {}; each is exported with a comment saying so, and `svcbind validate` reports it",
            count(exported.broken, "place", "places")
        ));
    }
    Ok(ExitCode::Success)
}

/// Writes `text` to `path`: a new file, or over an existing one only with `force` (decided
/// when the file is opened, so a file that appeared since the check is not overwritten).
fn write_file(path: &Path, text: &str, force: bool) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut f = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow::anyhow!(
                "{} exists; pass --force to overwrite it, or name another file with -o",
                path.display()
            )
        } else {
            anyhow::Error::new(e).context(format!("cannot write {}", path.display()))
        }
    })?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.flush())
        .with_context(|| format!("cannot write {}", path.display()))
}
