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
    let dir = parent(path);
    check(dir, path, revision)?;
    let name = path.file_name().map_or_else(
        || path.to_string_lossy().into_owned(),
        |n| n.to_string_lossy().into_owned(),
    );
    blob(dir, revision, &name)
}

/// The `*.yaml` files directly in the directory `dir` at `revision` (not hidden ones, not
/// those of its subdirectories, as `-c DIRECTORY` reads them now), by name, with their text;
/// none when the directory did not exist there.
pub(crate) fn yaml_files_at(
    dir: &Path,
    revision: &str,
) -> Result<Vec<(PathBuf, String)>, GitError> {
    check(dir, dir, revision)?;
    let listing = git(dir, &["ls-tree", "-z", revision, "--", "./"])?;
    if !listing.status.success() {
        return Err(failed(&format!("ls-tree {revision}"), &listing));
    }
    let mut names: Vec<String> = String::from_utf8_lossy(&listing.stdout)
        .split('\0')
        .filter_map(|entry| {
            // `MODE TYPE OBJECT<TAB>NAME`
            let (meta, name) = entry.split_once('\t')?;
            let blob = meta.split(' ').nth(1) == Some("blob");
            (blob && name.ends_with(".yaml") && !name.starts_with('.')).then(|| name.to_owned())
        })
        .collect();
    names.sort();
    let mut files = Vec::new();
    for name in names {
        if let Some(text) = blob(dir, revision, &name)? {
            files.push((dir.join(&name), text));
        }
    }
    Ok(files)
}

/// The directory git runs in for `path`: its parent (`.` for a bare file name).
fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Checks that `dir` is in a repository that has `revision` (`path` names what is compared).
fn check(dir: &Path, path: &Path, revision: &str) -> Result<(), GitError> {
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
    Ok(())
}

/// The text of the file `name` of `dir` at `revision`, or `None` when it did not exist there.
fn blob(dir: &Path, revision: &str, name: &str) -> Result<Option<String>, GitError> {
    // `REV:./NAME` is relative to the directory git runs in.
    let object = format!("{revision}:./{name}");
    let exists = git(dir, &["cat-file", "-e", &object])?;
    if !exists.status.success() {
        return Ok(None);
    }
    let blob = git(dir, &["cat-file", "blob", &object])?;
    if !blob.status.success() {
        return Err(failed(&format!("cat-file blob {object}"), &blob));
    }
    Ok(Some(String::from_utf8_lossy(&blob.stdout).into_owned()))
}

fn failed(command: &str, output: &Output) -> GitError {
    GitError::Failed {
        command: sanitize::text(command).into_owned(),
        message: sanitize::text(String::from_utf8_lossy(&output.stderr).trim()).into_owned(),
    }
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
        // A directory: its `*.yaml` files, not hidden ones, `*.yml` ones or subdirectories'.
        for (name, text) in [
            ("b.yaml", "b"),
            (".c.yaml", "c"),
            ("d.yml", "d"),
            ("deeper/e.yaml", "e"),
        ] {
            std::fs::create_dir_all(sub.join(name).parent().unwrap()).unwrap();
            std::fs::write(sub.join(name), text).unwrap();
        }
        setup(repo.path(), &["add", "."]);
        setup(repo.path(), &["commit", "-q", "-m", "two"]);
        std::fs::remove_file(sub.join("b.yaml")).unwrap();
        assert_eq!(
            yaml_files_at(&sub, "HEAD").unwrap(),
            [
                (sub.join("a.yaml"), "version: 2\n".to_owned()),
                (sub.join("b.yaml"), "b".to_owned())
            ]
        );
        assert_eq!(
            yaml_files_at(&sub, "main~1").unwrap(),
            [(sub.join("a.yaml"), "version: 1\n".to_owned())]
        );
        std::fs::create_dir(sub.join("new")).unwrap();
        assert_eq!(yaml_files_at(&sub.join("new"), "HEAD").unwrap(), []);
        let err = read_at(&sub.join("a.yaml"), "nope").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("--changed-since `nope` is not a commit of the repository at "),
            "{err}"
        );
    }
}
