//! Output errors through the binary: a full stream (`/dev/full`) or a closed pipe never makes
//! svcbind panic, a broken stderr never cuts an apply short, and a closed stdout pipe ends a
//! read-only command quietly (as `svcbind plan | head` expects).

use std::fs::File;
use std::process::Stdio;

use crate::{Emu, Output, TestEnv, root};

fn example(name: &str) -> String {
    root()
        .join("examples")
        .join(name)
        .to_str()
        .unwrap()
        .to_owned()
}

/// Where a stream goes.
enum To {
    /// Captured by the test.
    Piped,
    /// `/dev/full`: every write fails with "No space left on device".
    Full,
    /// A pipe whose reading end is already closed: every write fails with a broken pipe.
    Closed,
}

impl To {
    fn stdio(&self) -> Stdio {
        match self {
            To::Piped => Stdio::piped(),
            To::Full => File::options()
                .write(true)
                .open("/dev/full")
                .expect("/dev/full")
                .into(),
            To::Closed => {
                let (reader, writer) = std::io::pipe().expect("a pipe");
                drop(reader);
                writer.into()
            }
        }
    }
}

/// Runs svcbind with stdout and stderr sent where the test says; the captured ones are in
/// the output (the others are empty).
fn run(env: &TestEnv, args: &[&str], stdout: To, stderr: To) -> Output {
    let child = env
        .command(args)
        .stdin(Stdio::null())
        .stdout(stdout.stdio())
        .stderr(stderr.stdio())
        .spawn()
        .expect("run svcbind");
    Output::of(child.wait_with_output().expect("svcbind ends"))
}

/// `examples/live.yaml` with 192.0.2.64/27 moved from CDN to Spectrum: a replace (delete,
/// then create) and nothing else.
const REPLACE: &str = "version: 1
account_id: 023e105f4ecef8ad9ca31a8372d0c353
prefixes:
  - cidr: 192.0.2.0/24
    bindings:
      - { cidr: 192.0.2.0/24, service: Magic Transit }
      - { cidr: 192.0.2.16/29, service: CDN }
      - { cidr: 192.0.2.64/27, service: Spectrum }
      - { cidr: 192.0.2.200/29, service: CDN }
";

#[test]
fn apply_with_a_full_stderr_runs_every_step() {
    for format in ["text", "json"] {
        let emu = Emu::example("live.yaml");
        let env = TestEnv::against(&emu);
        env.write("svcbind.yaml", REPLACE);
        // Progress (and with JSON the plan too) goes to stderr, which takes nothing.
        let out = run(
            &env,
            &["apply", "--yes", "--format", format],
            To::Piped,
            To::Full,
        );
        assert_eq!(out.code, 0, "{format}: {out:?}");
        // The replace's create ran after its delete.
        assert!(
            emu.bindings_of("192.0.2.0/24")
                .contains(&("192.0.2.64/27".into(), "Spectrum".into())),
            "{format}: {:?}",
            emu.bindings_of("192.0.2.0/24")
        );
        let done = if format == "text" {
            "Apply: 2 done, 0 failed, 0 not run."
        } else {
            "\"done\": 2"
        };
        assert!(out.stdout.contains(done), "{format}: {out:?}");
    }
}

#[test]
fn apply_with_a_full_or_closed_stdout_runs_every_step_and_exits_as_the_apply_went() {
    for (stdout, warning) in [(To::Full, true), (To::Closed, false)] {
        let emu = Emu::example("live.yaml");
        let env = TestEnv::against(&emu);
        let out = run(
            &env,
            &["apply", "-c", &example("bindings.yaml"), "--yes"],
            stdout,
            To::Piped,
        );
        assert_eq!(out.code, 0, "{out:?}");
        assert_eq!(
            emu.bindings_of("192.0.2.0/24"),
            [
                ("192.0.2.0/24".into(), "Magic Transit".into()),
                ("192.0.2.128/28".into(), "CDN".into()),
                ("192.0.2.16/29".into(), "CDN".into()),
                ("192.0.2.64/27".into(), "Spectrum".into()),
            ]
        );
        // Every step's progress line, then a word about the report only when it is not a
        // closed pipe (which is quiet).
        let lines: Vec<&str> = out.stderr.lines().collect();
        assert_eq!(lines.len(), 6 + usize::from(warning), "{}", out.stderr);
        assert_eq!(
            out.stderr.contains(
                "warning: cannot write the apply report to stdout: No space left on device (os error 28); the exit code still says how the apply went"
            ),
            warning,
            "{}",
            out.stderr
        );
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    }
}

#[test]
fn a_full_stdout_is_an_error_not_a_panic() {
    let env = TestEnv::new();
    let bindings = example("bindings.yaml");
    for args in [
        &["validate", "-c", bindings.as_str()][..],
        &["completions", "bash"][..],
        &["--help"][..],
        &["plan", "--help"][..],
        &["--version"][..],
    ] {
        let out = run(&env, args, To::Full, To::Piped);
        assert_eq!(out.code, 1, "{args:?}: {out:?}");
        assert_eq!(
            out.stderr, "error: cannot write to stdout: No space left on device (os error 28)\n",
            "{args:?}"
        );
    }
}

#[test]
fn read_only_commands_end_quietly_on_a_closed_pipe_and_fail_on_a_full_disk() {
    let emu = Emu::example("live.yaml");
    let env = TestEnv::against(&emu);
    let bindings = example("bindings.yaml");
    for args in [
        &["validate", "-c", bindings.as_str()][..],
        &["plan", "-c", bindings.as_str()][..],
        &["plan", "-c", bindings.as_str(), "--format", "json"][..],
        &["services", "--account-id", crate::ACCOUNT][..],
        &["completions", "bash"][..],
        &["drift", "-c", bindings.as_str()][..],
        &["export", "--account-id", crate::ACCOUNT][..],
        &["show", "--account-id", crate::ACCOUNT][..],
        &["route", "192.0.2.1", "--account-id", crate::ACCOUNT][..],
    ] {
        let out = run(&env, args, To::Closed, To::Piped);
        assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{args:?}");
        // A full disk is an error that says it was stdout's, never a panic.
        let out = run(&env, args, To::Full, To::Piped);
        assert_eq!(out.code, 1, "{args:?}: {out:?}");
        assert_eq!(
            out.stderr, "error: cannot write to stdout: No space left on device (os error 28)\n",
            "{args:?}"
        );
    }
}

#[test]
fn a_full_stderr_never_fails_a_command() {
    let emu = Emu::example("live.yaml");
    let env = TestEnv::against(&emu);
    let bindings = example("bindings.yaml");
    // Diagnostics, logs at -vvv and notes all go to stderr; the outcome is the same.
    let out = run(
        &env,
        &["plan", "-c", &bindings, "-vvv"],
        To::Piped,
        To::Full,
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("Plan: 2 to create"), "{out:?}");
    // An invalid file still fails (exit 1), with its diagnostics dropped.
    let invalid = env.write("invalid.yaml", "version: 1\nprefixes: [{cidr: nope}]\n");
    let out = run(
        &env,
        &["validate", "-c", invalid.to_str().unwrap()],
        To::Piped,
        To::Full,
    );
    assert_eq!((out.code, out.stdout.as_str()), (1, ""), "{out:?}");
}
