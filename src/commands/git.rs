//! Reading a file as it was at a git revision, for `plan --changed-since REF`.
//!
//! svcbind runs the `git` program in the directory of the file, so the file's own repository
//! answers (whatever the current directory), and reads the file with `git cat-file`, which
//! gives the bytes as committed (no filters, no pager). It never changes the repository. Each
//! failure says what to do: install git, run from a clone, fetch the revision.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::sanitize;

/// Why a file could not be read at a revision.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GitError {
    #[error(
        "--changed-since needs the `git` program, which is not on PATH; install git, or plan without --changed-since"
    )]
    NotInstalled,
    #[error(
        "--changed-since compares the file with git, but `{}` is not in a git repository; run svcbind in a clone, or plan without --changed-since",
        .file.display()
    )]
    NotARepository { file: PathBuf },
    #[error(
        "--changed-since `{revision}` is not a commit of the repository at {}; fetch it first (in CI: check out with the whole history, e.g. `fetch-depth: 0`), or name another revision",
        .top.display()
    )]
    UnknownRevision { revision: String, top: PathBuf },
    #[error("`git {command}` failed: {message}")]
    Failed { command: String, message: String },
    #[error("cannot run `git {command}`")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
}

/// The text of `path` at `revision` of the file's repository, or `None` when the file did not
/// exist there. Bytes that are not UTF-8 are replaced (the parser then reports them).
pub(crate) fn read_at(path: &Path, revision: &str) -> Result<Option<String>, GitError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path.file_name().map_or_else(
        || path.to_string_lossy().into_owned(),
        |n| n.to_string_lossy().into_owned(),
    );
    let top = git(dir, &["rev-parse", "--show-toplevel"])?;
    if !top.status.success() {
        return Err(GitError::NotARepository {
            file: path.to_owned(),
        });
    }
    let top = PathBuf::from(String::from_utf8_lossy(&top.stdout).trim());
    let commit = format!("{revision}^{{commit}}");
    let verified = git(dir, &["rev-parse", "--verify", "--quiet", &commit])?;
    if !verified.status.success() {
        return Err(GitError::UnknownRevision {
            revision: sanitize::text(revision).into_owned(),
            top,
        });
    }
    // `REV:./NAME` is relative to the directory git runs in: the file's.
    let object = format!("{revision}:./{name}");
    let exists = git(dir, &["cat-file", "-e", &object])?;
    if !exists.status.success() {
        return Ok(None);
    }
    let blob = git(dir, &["cat-file", "blob", &object])?;
    if !blob.status.success() {
        return Err(GitError::Failed {
            command: format!("cat-file blob {}", sanitize::text(&object)),
            message: sanitize::text(String::from_utf8_lossy(&blob.stderr).trim()).into_owned(),
        });
    }
    Ok(Some(String::from_utf8_lossy(&blob.stdout).into_owned()))
}

/// Runs `git ARGS` in `dir`, capturing its output.
fn git(dir: &Path, args: &[&str]) -> Result<Output, GitError> {
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => GitError::NotInstalled,
            _ => GitError::Spawn {
                command: args.join(" "),
                source,
            },
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs git in `dir` for a test's set-up, failing the test if git does.
    fn setup(dir: &Path, args: &[&str]) {
        let status = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .arg("-C")
            .arg(dir)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("git");
        assert!(status.success(), "git {args:?}");
    }

    #[test]
    fn reads_a_file_as_committed_and_knows_when_it_was_not() {
        let repo = tempfile::tempdir().unwrap();
        let sub = repo.path().join("net");
        std::fs::create_dir(&sub).unwrap();
        setup(repo.path(), &["init", "-q", "-b", "main"]);
        std::fs::write(sub.join("a.yaml"), "version: 1\n").unwrap();
        setup(repo.path(), &["add", "."]);
        setup(repo.path(), &["commit", "-q", "-m", "one"]);
        std::fs::write(sub.join("a.yaml"), "version: 2\n").unwrap();

        assert_eq!(
            read_at(&sub.join("a.yaml"), "main").unwrap().as_deref(),
            Some("version: 1\n")
        );
        assert_eq!(read_at(&sub.join("b.yaml"), "HEAD").unwrap(), None);
        let err = read_at(&sub.join("a.yaml"), "nope").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("--changed-since `nope` is not a commit of the repository at "),
            "{err}"
        );
    }
}
