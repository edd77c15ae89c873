//! What a new user runs into: a desired-state file given where a plan goes, a plan applied
//! twice, variables set for the whole pipeline, flags spelled the other way, `--report` on a
//! failure, `-q`, and the messages that must name what the user actually set.

use crate::{Emu, TestEnv, with_examples};

/// A desired-state file passed as the saved plan is named as such, with the command that
/// works, and `plan --out` never overwrites it (nor any file that is not a saved plan).
#[test]
fn a_desired_state_file_is_never_taken_for_a_plan_nor_overwritten() {
    let env = with_examples();
    let desired = std::fs::read_to_string(env.dir.path().join("examples/bindings.yaml")).unwrap();
    env.write("victim.yaml", &desired);
    env.cmd(&["apply", "victim.yaml", "--yes", "--emulate", "examples/live.yaml"])
        .status(1)
        .stderr("error: `victim.yaml` looks like a desired-state file, not a saved plan; did you mean `svcbind apply -c victim.yaml`?\n")
        .run();
    env.cmd(&[
        "plan",
        "-c",
        "victim.yaml",
        "--emulate",
        "examples/live.yaml",
        "--out",
        "victim.yaml",
    ])
    .status(1)
    .stderr("error: --out `victim.yaml` is a desired-state file (-c); the plan would overwrite it: save the plan to another file, e.g. --out plan.json\n")
    .run();
    assert_eq!(
        std::fs::read_to_string(env.dir.path().join("victim.yaml")).unwrap(),
        desired
    );
    // Any other file that is not a saved plan stays too.
    env.write("notes.json", "{}");
    env.cmd(&[
        "plan",
        "-c",
        "victim.yaml",
        "--emulate",
        "examples/live.yaml",
        "--output",
        "notes.json",
    ])
    .status(1)
    .stderr("error: --out `notes.json` exists and is not a plan svcbind saved; plan --out overwrites only an earlier plan: name another file, or move this one away first\n")
    .run();
    assert_eq!(
        std::fs::read_to_string(env.dir.path().join("notes.json")).unwrap(),
        "{}"
    );
    // `{}` is no document of svcbind: nothing about the svcbind that wrote it.
    env.cmd(&["apply", "notes.json", "--yes"])
        .status(1)
        .stderr("error: `notes.json` is not a saved plan (it has neither `format_version` nor `kind`, so svcbind did not write it); make one with `svcbind plan --out PLAN.json`, then run `svcbind apply PLAN.json`\n")
        .run();
    // An earlier plan is overwritten, as before.
    for _ in 0..2 {
        env.cmd(&[
            "plan",
            "-c",
            "victim.yaml",
            "--emulate",
            "examples/live.yaml",
            "-o",
            "plan.json",
            "-q",
        ])
        .run();
    }
}

/// Not JSON: the parser's message is said once.
#[test]
fn a_parse_error_is_said_once() {
    let env = TestEnv::new();
    env.write("plan.json", "not json");
    let out = env
        .cmd(&["apply", "plan.json", "--yes"])
        .status(1)
        .stderr_any()
        .run();
    assert_eq!(
        out.stderr
            .matches("expected ident at line 1 column 2")
            .count(),
        1,
        "{}",
        out.stderr
    );
}

/// Re-running an apply of a saved plan that went through is no refusal; a plan applied only
/// in part still is, and the command it suggests carries the `-c` the user gave.
#[test]
fn a_saved_plan_applied_already_is_nothing_to_do() {
    let emu = Emu::example("live.yaml");
    let env = TestEnv::against(&emu);
    let desired = std::fs::read_to_string(crate::root().join("examples/bindings.yaml")).unwrap();
    env.write("d.yaml", &desired);
    env.cmd(&["plan", "-c", "d.yaml", "--out", "p.json", "-q"])
        .run();
    env.cmd(&["plan", "-c", "d.yaml", "--out", "p2.json", "-q"])
        .run();
    env.cmd(&["apply", "p.json", "--yes", "-c", "d.yaml", "-q"])
        .stdout_has("Apply: 6 done, 0 failed, 0 not run.")
        .run();
    env.cmd(&["apply", "p.json", "--yes", "-c", "d.yaml"])
        .stdout("p.json: this plan has already been applied; nothing to do.\n")
        .run();
    // Another plan of the same change, made before: applied too, by the first one.
    let out = env
        .cmd(&[
            "apply", "p2.json", "--yes", "--format", "json", "--report", "r.json",
        ])
        .stderr("p2.json: this plan has already been applied; nothing to do.\n")
        .run();
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["kind"], "apply_report");
    assert!(env.dir.path().join("r.json").exists());
}

#[test]
fn a_saved_plan_applied_in_part_is_stale_and_the_hint_keeps_the_config() {
    let emu = Emu::example("live.yaml");
    let env = TestEnv::against(&emu);
    let desired = std::fs::read_to_string(crate::root().join("examples/bindings.yaml")).unwrap();
    env.write("d.yaml", &desired);
    env.cmd(&["plan", "-c", "d.yaml", "--out", "p.json", "-q"])
        .run();
    // One of its two prefixes is applied by another run.
    env.cmd(&[
        "apply",
        "-c",
        "d.yaml",
        "--prefix",
        "192.0.2.0/24",
        "--yes",
        "-q",
    ])
    .run();
    env.cmd(&["apply", "p.json", "--yes", "-c", "d.yaml"])
        .status(3)
        .stdout_has("")
        .stderr_has("error: apply refused: the account changed since the plan was made")
        .stderr_has("= hint: nothing was changed; make a new plan with `svcbind plan -c d.yaml --out p.json`, review it, and apply that one")
        .run();
    // drift's hint too.
    env.cmd(&["drift", "-c", "d.yaml"])
        .status(2)
        .stdout_has("Run `svcbind plan -c d.yaml` to see how apply would restore the file")
        .run();
}

/// `--report FILE` always leaves a file: the error document when the command fails before it
/// has a report (an auth failure, a bad file, a refused command line).
#[test]
fn the_report_file_holds_the_error_when_the_command_fails_early() {
    let emu = Emu::example("live.yaml");
    let env = TestEnv::against(&emu).env("CLOUDFLARE_API_TOKEN", "wrong-token");
    let desired = std::fs::read_to_string(crate::root().join("examples/bindings.yaml")).unwrap();
    env.write("svcbind.yaml", &desired);
    let read = |name: &str| -> serde_json::Value {
        let text = std::fs::read_to_string(env.dir.path().join(name))
            .unwrap_or_else(|e| panic!("no {name}: {e}"));
        serde_json::from_str(&text).unwrap()
    };
    let out = env
        .cmd(&[
            "apply",
            "--format",
            "json",
            "--yes",
            "--report",
            "apply.json",
        ])
        .status(1)
        .stderr_any()
        .run();
    let report = read("apply.json");
    assert_eq!(report["kind"], "error");
    assert_eq!(report["command"], "apply");
    // The same document as on stdout.
    assert_eq!(
        report,
        serde_json::from_str::<serde_json::Value>(&out.stdout).unwrap()
    );
    env.cmd(&["drift", "--format", "markdown", "--report", "drift.json"])
        .status(1)
        .stderr_any()
        .run();
    assert_eq!(read("drift.json")["kind"], "error");
    assert_eq!(read("drift.json")["command"], "drift");
    // A file that is not valid, and a command line clap refused.
    env.write("bad.yaml", "version: 1\nprefixes: nope\n");
    env.cmd(&["drift", "-c", "bad.yaml", "--report", "bad.json"])
        .status(1)
        .stderr_any()
        .run();
    assert_eq!(read("bad.json")["kind"], "error");
    env.cmd(&["apply", "--nope", "--report=usage.json"])
        .status(1)
        .stderr_any()
        .run();
    assert_eq!(read("usage.json")["kind"], "error");
}

/// Limits set for the whole pipeline do not stop a saved plan, which keeps the limits it was
/// checked with; given on the command line, both are refused alike.
#[test]
fn limit_variables_do_not_stop_a_saved_plan() {
    let env = with_examples()
        .env("SVCBIND_MAX_DELETES", "0")
        .env("SVCBIND_MAX_DELETE_PERCENT", "1");
    // The flags win over the variables: the plan is made and checked with these.
    env.cmd(&[
        "plan",
        "-c",
        "examples/bindings.yaml",
        "--emulate",
        "examples/live.yaml",
        "--max-deletes",
        "10",
        "--max-delete-percent",
        "100",
        "-o",
        "p.json",
        "-q",
    ])
    .run();
    env.cmd(&[
        "apply",
        "p.json",
        "--yes",
        "--emulate",
        "examples/live.yaml",
        "-q",
    ])
    .stdout_has("Apply: 6 done, 0 failed, 0 not run.")
    .run();
    for flag in ["--max-deletes", "--max-delete-percent"] {
        env.cmd(&["apply", "p.json", "--yes", "--emulate", "examples/live.yaml", flag, "5"])
            .status(1)
            .stderr(&format!("error: {flag} cannot be used with a saved plan: apply carries out the plan with the safety limits it was made and checked with; to change them, make the plan again with `svcbind plan {flag} … --out PLAN.json`\n"))
            .run();
    }
}

/// An auth failure names the credential that was sent; several set: a note says which one is
/// used.
#[test]
fn an_auth_failure_names_the_credential_used() {
    let emu = Emu::example("live.yaml");
    let env = TestEnv::new()
        .env("CLOUDFLARE_BASE_URL", &emu.base_url())
        .env("CLOUDFLARE_API_KEY", "wrongKey99")
        .env("CLOUDFLARE_EMAIL", "me@example.com");
    let desired = std::fs::read_to_string(crate::root().join("examples/bindings.yaml")).unwrap();
    env.write("svcbind.yaml", &desired);
    let out = env.cmd(&["services"]).status(1).stderr_any().run();
    assert!(
        out.stderr.contains(
            "= hint: the API refused the credentials: check CLOUDFLARE_API_KEY and CLOUDFLARE_EMAIL"
        ),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("note: using"), "{}", out.stderr);
    // A wrong token besides a key: the token is used, and a note says the key is not.
    let env = env.env("CLOUDFLARE_API_TOKEN", "wrong-token");
    let out = env.cmd(&["services"]).status(1).stderr_any().run();
    assert!(
        out.stderr.starts_with("note: using CLOUDFLARE_API_TOKEN; CLOUDFLARE_API_KEY + CLOUDFLARE_EMAIL is set too and ignored (svcbind uses --api-token-file, else CLOUDFLARE_API_TOKEN, else CLOUDFLARE_API_KEY + CLOUDFLARE_EMAIL)\n"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("= hint: the API refused the credentials: check CLOUDFLARE_API_TOKEN;"),
        "{}",
        out.stderr
    );
    // The token file comes first.
    env.write("token", "wrong-file-token\n");
    let out = env
        .cmd(&["services", "--api-token-file", "token", "-q"])
        .status(1)
        .stderr_any()
        .run();
    assert!(
        out.stderr.contains(
            "= hint: the API refused the credentials: check the token in --api-token-file"
        ),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("note:"), "-q: {}", out.stderr);
}

/// A valid file with one warning: a seed-only key, which has no effect in a desired file.
const WITH_WARNING: &str = "version: 1
account_id: 023e105f4ecef8ad9ca31a8372d0c353
prefixes:
  - cidr: 192.0.2.0/24
    bindings:
      - { cidr: 192.0.2.0/24, service: Magic Transit }
      - { cidr: 192.0.2.16/29, service: CDN }
      - { cidr: 192.0.2.16/30, service: Spectrum, state: active }
";

/// `-q` leaves only errors on stderr, for every command: the warnings of validation too (a
/// document on stdout still carries them).
#[test]
fn quiet_leaves_only_errors_on_stderr() {
    let env = with_examples();
    env.write("pw.yaml", WITH_WARNING);
    env.cmd(&[
        "plan",
        "-q",
        "-c",
        "pw.yaml",
        "--emulate",
        "examples/live.yaml",
        "--out",
        "pq.json",
    ])
    .run();
    env.cmd(&["validate", "-q", "-c", "pw.yaml"])
        .stdout("ok: 1 prefix, 3 bindings (1 warning)\n")
        .run();
    let out = env
        .cmd(&["validate", "-q", "-c", "pw.yaml", "--format", "json"])
        .run();
    assert!(out.stdout.contains("has no effect"), "{}", out.stdout);
    // Without -q the warning is there; errors stay with -q.
    env.cmd(&["validate", "-c", "pw.yaml"])
        .stdout_has("ok:")
        .stderr_has("warning: binding key `state` has no effect in a desired-state file")
        .run();
    env.write(
        "bad.yaml",
        &WITH_WARNING.replace("192.0.2.16/29", "192.0.2.17/29"),
    );
    env.cmd(&["validate", "-q", "-c", "bad.yaml"])
        .status(1)
        .stderr_has("error:")
        .run();
}

/// A directory with only `*.yml` files: the error names them and the rename that reads them.
#[test]
fn a_directory_of_yml_files_says_to_rename_them() {
    let env = TestEnv::new();
    std::fs::create_dir(env.dir.path().join("ymldir")).unwrap();
    env.write("ymldir/a.yml", WITH_WARNING);
    env.cmd(&["validate", "-c", "ymldir"])
        .status(1)
        .stderr("error: no `*.yaml` file in the directory `ymldir`; found a.yml (of a directory, only `*.yaml` files are read): rename a.yml to a.yaml\n")
        .run();
    std::fs::create_dir(env.dir.path().join("empty")).unwrap();
    env.cmd(&["validate", "-c", "empty"])
        .status(1)
        .stderr("error: no `*.yaml` file in the directory `empty`; put the desired state there, or name a file with `-c FILE`\n")
        .run();
}

/// `apply --wait 10m`: the duration is not taken for a plan file.
#[test]
fn a_wait_value_after_a_space_gets_the_spelling_that_works() {
    let env = with_examples();
    for args in [
        &[
            "apply",
            "-c",
            "examples/bindings.yaml",
            "--emulate",
            "examples/live.yaml",
            "--wait",
            "10m",
            "--yes",
        ][..],
        &["apply", "--wait", "6h", "p0.json"],
    ] {
        let out = env.cmd(args).status(1).stderr_any().run();
        assert!(
            out.stderr
                .starts_with("error: --wait takes its value after `=`: --wait="),
            "{}",
            out.stderr
        );
    }
}

/// A bad value from the environment names its variable; boolean variables take the usual
/// spellings, and empty is unset.
#[test]
fn environment_values_name_their_variable() {
    let env = with_examples().env("SVCBIND_FORMAT", "JSON");
    let out = env
        .cmd(&[
            "plan",
            "-c",
            "examples/bindings.yaml",
            "--emulate",
            "examples/live.yaml",
        ])
        .status(1)
        .stderr_any()
        .run();
    assert!(
        out.stderr
            .starts_with("error: invalid value 'JSON' for SVCBIND_FORMAT (--format)"),
        "{}",
        out.stderr
    );
    // The flag given: clap's own message, no variable.
    let out = TestEnv::new()
        .cmd(&["plan", "--format", "JSON"])
        .status(1)
        .stderr_any()
        .run();
    assert!(
        out.stderr
            .starts_with("error: invalid value 'JSON' for '--format <FORMAT>'"),
        "{}",
        out.stderr
    );
    for (value, ok) in [
        ("1", true),
        ("0", true),
        ("no", true),
        ("", true),
        ("maybe", false),
    ] {
        let env = with_examples().env("SVCBIND_ALLOW_INSECURE_HTTP", value);
        let test = env.cmd(&[
            "services",
            "-c",
            "examples/bindings.yaml",
            "--emulate",
            "examples/live.yaml",
        ]);
        if ok {
            test.stdout_has("Magic Transit").run();
        } else {
            test.status(1)
                .stderr("error: invalid value 'maybe' for SVCBIND_ALLOW_INSECURE_HTTP (--allow-insecure-http): use 1, true, yes, on or 0, false, no, off\n")
                .run();
        }
    }
}

/// `plan --prefix` that matches nothing lists the file's prefixes, as show and export list
/// the account's.
#[test]
fn a_prefix_that_matches_nothing_lists_the_candidates() {
    let env = with_examples();
    env.cmd(&["plan", "-c", "examples/bindings.yaml", "--emulate", "examples/live.yaml", "--prefix", "10.0.0.0/8"])
        .status(1)
        .stderr("error: --prefix 10.0.0.0/8 matches no prefix in examples/bindings.yaml; use the CIDR or the id of one of its prefixes: 192.0.2.0/24, 2001:db8:1000::/48, 198.51.100.0/24\n")
        .run();
}

/// A saved plan without changes does not offer "these steps"; `export --out` and
/// `plan --output` are the other commands' spellings, taken alike.
#[test]
fn a_plan_without_steps_says_so_and_both_output_spellings_work() {
    let env = with_examples();
    env.write(
        "live-as-desired.yaml",
        "version: 1\naccount_id: 023e105f4ecef8ad9ca31a8372d0c353\nprefixes: []\n",
    );
    env.cmd(&[
        "plan",
        "-c",
        "live-as-desired.yaml",
        "--emulate",
        "examples/live.yaml",
        "--output",
        "pn.json",
    ])
    .stderr("Saved the plan to pn.json. It has no steps: applying it changes nothing.\n")
    .run();
    env.cmd(&[
        "export",
        "--emulate",
        "examples/live.yaml",
        "--out",
        "x.yaml",
        "-q",
    ])
    .run();
    assert!(env.dir.path().join("x.yaml").exists());
}
