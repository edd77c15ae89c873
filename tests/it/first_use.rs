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
