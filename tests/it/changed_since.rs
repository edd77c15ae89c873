//! `svcbind plan --changed-since REF` through the binary, in a temporary git repository,
//! against `svcbind emulator`: only the prefixes whose entry changed since REF are read and
//! planned (P + 2 calls with P = 1, from the emulator's counters), with the same steps as a
//! full plan; every prefix when the file is new or its settings changed; none, and no call,
//! when nothing changed; and clear errors without git, outside a repository, for an unknown REF.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::{Emu, TestEnv};

/// How many prefixes the account and the file have.
const PREFIXES: usize = 12;
/// The prefix the pull request changes.
const TOUCHED: &str = "198.18.5.0/24";

/// The account: [`PREFIXES`] /24s, each bound to Magic Transit with one CDN range.
fn seed() -> String {
    let mut yaml =
        String::from("version: 1\naccount_id: 023e105f4ecef8ad9ca31a8372d0c353\nprefixes:\n");
    for i in 0..PREFIXES {
        yaml.push_str(&format!(
            "  - cidr: 198.18.{i}.0/24\n    bindings:\n      - {{ cidr: 198.18.{i}.0/24, service: Magic Transit, id: a{i:02}, state: active }}\n      - {{ cidr: 198.18.{i}.16/29, service: CDN, id: b{i:02}, state: active }}\n"
        ));
    }
    yaml
}

/// The desired file that matches [`seed`], with `extra` lines added to `touched`'s bindings.
fn desired(max_deletes: u32, touched: &str, extra: &str) -> String {
    let mut yaml = format!(
        "version: 1\naccount_id: 023e105f4ecef8ad9ca31a8372d0c353\nsafety:\n  max_deletes: {max_deletes}\nprefixes:\n"
    );
    for i in 0..PREFIXES {
        let cidr = format!("198.18.{i}.0/24");
        yaml.push_str(&format!(
            "  - cidr: {cidr}\n    bindings:\n      - {{ cidr: {cidr}, service: Magic Transit }}\n      - {{ cidr: 198.18.{i}.16/29, service: CDN }}\n"
        ));
        if cidr == touched {
            yaml.push_str(extra);
        }
    }
    yaml
}

/// The change of the pull request: one range of [`TOUCHED`] moves to Spectrum, one to CDN.
const CHANGE: &str = "      - { cidr: 198.18.5.64/27, service: Spectrum }\n      - { cidr: 198.18.5.128/28, service: CDN }\n";

/// Runs git in `dir` for the test's set-up, with no user or system configuration.
fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args([
            "-c",
            "user.name=svcbind test",
            "-c",
            "user.email=test@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run git");
    assert!(status.success(), "git {args:?} failed");
}

/// A test environment pointed at `emu`, with git on PATH and no repository found above its
/// directory.
fn git_env(emu: &Emu) -> TestEnv {
    let env = TestEnv::against(emu).env("PATH", &std::env::var("PATH").unwrap_or_default());
    let above = env
        .dir
        .path()
        .parent()
        .expect("a parent directory")
        .to_str()
        .expect("a UTF-8 path")
        .to_owned();
    env.env("GIT_CEILING_DIRECTORIES", &above)
}

/// A repository whose `main` holds the file matching the account, and whose working tree
/// changed [`TOUCHED`].
fn repository(emu: &Emu) -> TestEnv {
    let env = git_env(emu);
    let dir = env.dir.path();
    git(dir, &["init", "-q", "-b", "main"]);
    env.write("svcbind.yaml", &desired(10, "", ""));
    git(dir, &["add", "svcbind.yaml"]);
    git(dir, &["commit", "-q", "-m", "bindings as they are"]);
    env.write("svcbind.yaml", &desired(10, TOUCHED, CHANGE));
    env
}

fn json(out: &crate::Output) -> Value {
    serde_json::from_str(&out.stdout).expect("a JSON document")
}

/// The plan of one prefix in a plan document.
fn prefix<'a>(doc: &'a Value, cidr: &str) -> &'a Value {
    doc["prefixes"]
        .as_array()
        .expect("prefixes")
        .iter()
        .find(|p| p["cidr"] == cidr)
        .unwrap_or_else(|| panic!("{cidr} is not in the plan"))
}

#[test]
fn one_changed_prefix_costs_three_calls_and_plans_as_a_full_plan_does() {
    let emu = Emu::start(&seed(), &[]);
    let env = repository(&emu);

    let out = env
        .cmd(&["plan", "--changed-since", "main", "--format", "json"])
        .run();
    let counts = emu.counts();
    let routes = &counts["routes"];
    // P + 2 with P = 1: the services, the prefix listing, one prefix's bindings.
    assert_eq!(counts["total"], 3, "{counts}");
    assert_eq!(routes["GET /accounts/{account_id}/addressing/services"], 1);
    assert_eq!(routes["GET /accounts/{account_id}/addressing/prefixes"], 1);
    assert_eq!(
        routes["GET /accounts/{account_id}/addressing/prefixes/{prefix_id}/bindings"],
        1
    );
    let partial = json(&out);
    assert_eq!(partial["changed_since"], "main");
    let planned: Vec<&Value> = partial["prefixes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["cidr"])
        .collect();
    assert_eq!(planned, [TOUCHED]);
    let skipped: Vec<String> = (0..PREFIXES)
        .map(|i| format!("198.18.{i}.0/24"))
        .filter(|cidr| cidr != TOUCHED)
        .collect();
    assert_eq!(
        partial["summary"]["skipped_prefixes"],
        serde_json::json!(skipped)
    );

    // The full plan reads every prefix and plans the same steps for the touched one.
    emu.reset_counts();
    let full = json(&env.cmd(&["plan", "--format", "json"]).run());
    assert_eq!(emu.counts()["total"], PREFIXES + 2);
    assert_eq!(full["changed_since"], Value::Null);
    assert_eq!(full["summary"]["skipped_prefixes"], serde_json::json!([]));
    let steps = prefix(&partial, TOUCHED);
    assert_eq!(steps, prefix(&full, TOUCHED));
    assert_eq!(steps["steps"].as_array().unwrap().len(), 2, "{steps}");
    assert_eq!(partial["summary"]["create"], full["summary"]["create"]);
    assert_eq!(partial["summary"]["steps"], full["summary"]["steps"]);
}

#[test]
fn the_text_and_markdown_say_which_prefixes_were_skipped() {
    let emu = Emu::start(&seed(), &[]);
    let env = repository(&emu);
    let listed = (0..PREFIXES)
        .map(|i| format!("198.18.{i}.0/24"))
        .filter(|cidr| cidr != TOUCHED)
        .collect::<Vec<_>>();
    env.cmd(&["plan", "--changed-since", "main"])
        .stdout_has("Plan: 2 to create, 0 to replace, 0 to delete; 0 prefixes unchanged.\n")
        .stdout_has(&format!(
            "\nSkipped 11 prefixes whose entry in the file is the same as at main (--changed-since): {}.\n",
            listed.join(", ")
        ))
        .run();
    let quoted: Vec<String> = listed.iter().map(|c| format!("`{c}`")).collect();
    let out = env
        .cmd(&["plan", "--changed-since", "main", "--format", "markdown", "--out", "plan.json"])
        .stderr("Saved the plan to plan.json. To carry out exactly these steps: svcbind apply plan.json\n")
        .stdout_has("Skipped 11 prefixes whose entry in the file is the same as at `main` (--changed-since): ")
        .stdout_has(&quoted.join(", "))
        .run();
    assert!(
        out.stdout.starts_with("<!-- svcbind:plan -->\n"),
        "{}",
        out.stdout
    );
    // The saved plan carries the same summary, and applies as any saved plan does.
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(env.dir.path().join("plan.json")).unwrap())
            .unwrap();
    assert_eq!(
        saved["summary"]["skipped_prefixes"]
            .as_array()
            .unwrap()
            .len(),
        11
    );
    emu.reset_counts();
    env.cmd(&["apply", "plan.json", "--yes", "-q"]).run();
    assert_eq!(
        emu.bindings_of(TOUCHED),
        [
            ("198.18.5.0/24".to_owned(), "Magic Transit".to_owned()),
            ("198.18.5.128/28".to_owned(), "CDN".to_owned()),
            ("198.18.5.16/29".to_owned(), "CDN".to_owned()),
            ("198.18.5.64/27".to_owned(), "Spectrum".to_owned()),
        ]
    );
}

#[test]
fn nothing_changed_reads_nothing() {
    let emu = Emu::start(&seed(), &[]);
    let env = repository(&emu);
    git(env.dir.path(), &["commit", "-q", "-a", "-m", "the change"]);
    env.cmd(&["plan", "--changed-since", "HEAD", "--detailed-exitcode"])
        .stdout_has(
            "No changes. No prefix was read: none changed in the file.\nSkipped 12 prefixes",
        )
        .run();
    assert_eq!(emu.counts()["total"], 0);
}

#[test]
fn a_new_file_or_changed_settings_plan_every_prefix() {
    let emu = Emu::start(&seed(), &[]);
    let env = repository(&emu);
    // The safety limit changed too: every prefix's verdict may depend on it.
    env.write("svcbind.yaml", &desired(3, TOUCHED, CHANGE));
    env.cmd(&["plan", "--changed-since", "main"])
        .stdout_has("Planned every prefix of the file: its settings outside `prefixes` (the account, the safety limits) changed since main.\n")
        .run();
    assert_eq!(emu.counts()["total"], PREFIXES + 2);

    // A file that did not exist at the revision.
    emu.reset_counts();
    env.write("new.yaml", &desired(10, TOUCHED, CHANGE));
    env.cmd(&["plan", "-c", "new.yaml", "--changed-since", "main"])
        .stdout_has("Planned every prefix of the file: new.yaml did not exist at main.\n")
        .run();
    assert_eq!(emu.counts()["total"], PREFIXES + 2);
}

#[test]
fn without_git_a_repository_or_the_revision_the_error_says_what_to_do() {
    let emu = Emu::start(&seed(), &[]);
    let env = repository(&emu);
    env.cmd(&["plan", "--changed-since", "origin/main"])
        .status(1)
        .stderr_has("error: --changed-since `origin/main` is not a commit of the repository at ")
        .stderr_has("; fetch it first (in CI: check out with the whole history, e.g. `fetch-depth: 0`), or name another revision\n")
        .run();
    let no_git = TestEnv::against(&emu).env("PATH", "/nonexistent");
    no_git.write("svcbind.yaml", &desired(10, "", ""));
    no_git
        .cmd(&["plan", "--changed-since", "main", "--format", "json"])
        .status(1)
        .stderr("error: --changed-since needs the `git` program, which is not on PATH; install git, or plan without --changed-since\n")
        .stdout_has("\"kind\": \"error\"")
        .run();
    assert_eq!(emu.counts()["total"], 0);

    // A directory that is no repository (git stops looking above it).
    let outside = git_env(&emu);
    outside.write("svcbind.yaml", &desired(10, "", ""));
    outside
        .cmd(&["plan", "--changed-since", "main"])
        .status(1)
        .stderr("error: --changed-since compares the file with git, but `svcbind.yaml` is not in a git repository; run svcbind in a clone, or plan without --changed-since\n")
        .run();
}

#[test]
fn the_readme_shows_a_real_plan_of_what_changed() {
    let emu = Emu::example("live.yaml");
    let env = git_env(&emu);
    let dir = env.dir.path();
    git(dir, &["init", "-q", "-b", "main"]);
    let bindings = std::fs::read_to_string(crate::root().join("examples/bindings.yaml")).unwrap();
    env.write("svcbind.yaml", &bindings);
    git(dir, &["add", "svcbind.yaml"]);
    git(dir, &["commit", "-q", "-m", "the example"]);
    let moved = bindings.replace(
        "{ cidr: 192.0.2.128/28, service: CDN }",
        "{ cidr: 192.0.2.128/28, service: Spectrum }",
    );
    assert_ne!(moved, bindings);
    env.write("svcbind.yaml", &moved);
    let out = env.cmd(&["plan", "--changed-since", "main"]).run();
    assert!(
        crate::readme_shows("svcbind plan --changed-since main", &out.stdout),
        "the README's --changed-since example differs from:\n{}",
        out.stdout
    );
    assert_eq!(emu.counts()["total"], 3);
}

/// The prefixes `from..to` of [`desired`], as a file of their own (with the settings only in
/// the first, as a split desired state may have them).
fn part(from: usize, to: usize, settings: bool, touched: &str, extra: &str) -> String {
    let whole = desired(10, touched, extra);
    let (head, body) = whole.split_once("prefixes:\n").unwrap();
    let entries: Vec<String> = body
        .split("  - cidr: ")
        .skip(1)
        .map(|e| format!("  - cidr: {e}"))
        .collect();
    let head = if settings {
        head.to_owned()
    } else {
        "version: 1\n".to_owned()
    };
    format!("{head}prefixes:\n{}", entries[from..to].concat())
}

#[test]
fn several_files_or_a_directory_are_compared_as_one_state() {
    let emu = Emu::start(&seed(), &[]);
    let env = git_env(&emu);
    let dir = env.dir.path();
    git(dir, &["init", "-q", "-b", "main"]);
    std::fs::create_dir(dir.join("teams")).unwrap();
    env.write("teams/edge.yaml", &part(0, 4, true, "", ""));
    env.write("teams/spectrum.yaml", &part(4, PREFIXES, false, "", ""));
    git(dir, &["add", "teams"]);
    git(dir, &["commit", "-q", "-m", "split"]);
    // The change: one prefix of spectrum.yaml, and a prefix moved unchanged to a new file.
    env.write("teams/edge.yaml", &part(0, 3, true, "", ""));
    env.write("teams/moved.yaml", &part(3, 4, false, "", ""));
    env.write(
        "teams/spectrum.yaml",
        &part(4, PREFIXES, false, TOUCHED, CHANGE),
    );

    let directory = json(
        &env.cmd(&[
            "plan",
            "-c",
            "teams",
            "--changed-since",
            "main",
            "--format",
            "json",
        ])
        .run(),
    );
    assert_eq!(emu.counts()["total"], 3);
    let planned: Vec<&Value> = directory["prefixes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["cidr"])
        .collect();
    assert_eq!(planned, [TOUCHED]);
    assert_eq!(
        directory["summary"]["skipped_prefixes"]
            .as_array()
            .unwrap()
            .len(),
        PREFIXES - 1
    );

    // The files named one by one: the same; a file named twice is read once.
    let files = json(
        &env.cmd(&[
            "plan",
            "-c",
            "teams/edge.yaml",
            "-c",
            "teams/moved.yaml",
            "-c",
            "teams/spectrum.yaml",
            "-c",
            "teams",
            "--changed-since",
            "main",
            "--format",
            "json",
        ])
        .run(),
    );
    assert_eq!(prefix(&files, TOUCHED), prefix(&directory, TOUCHED));

    // And the same steps as a full plan of the directory.
    let full = json(&env.cmd(&["plan", "-c", "teams", "--format", "json"]).run());
    assert_eq!(prefix(&full, TOUCHED), prefix(&directory, TOUCHED));
}
