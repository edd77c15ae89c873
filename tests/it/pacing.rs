//! Pacing, through the binary against `svcbind emulator --rate-limit` over HTTP: svcbind waits
//! rather than meeting a 429, under its own budget (`--request-budget` per `--request-window`,
//! set short here so the test stays short) and the emulator's `Ratelimit` header, which also
//! covers the requests of the run before (each run of svcbind starts with an empty budget).

use std::fmt::Write as _;

use crate::{Emu, Output, TestEnv};

const PREFIXES: usize = 50;

/// `PREFIXES` prefixes, each with its prefix-wide binding; with `more`, a CDN /29 in each too.
fn state(more: bool) -> String {
    let mut yaml =
        String::from("version: 1\naccount_id: 023e105f4ecef8ad9ca31a8372d0c353\nprefixes:\n");
    for i in 0..PREFIXES {
        let _ = write!(
            yaml,
            "  - cidr: 198.18.{i}.0/24\n    bindings:\n      - {{ cidr: 198.18.{i}.0/24, service: Magic Transit }}\n"
        );
        if more {
            let _ = writeln!(yaml, "      - {{ cidr: 198.18.{i}.8/29, service: CDN }}");
        }
    }
    yaml
}

/// Each line of stderr is a pacing notice, an apply progress line, or (apply's) the summary.
fn only_waits_and_progress(out: &Output) {
    for line in out.stderr.lines() {
        assert!(
            line.starts_with(" WARN waiting ") || line.starts_with('[') || line.is_empty(),
            "unexpected line on stderr: {line}\n{}",
            out.stderr
        );
    }
    assert!(!out.stderr.contains("429"), "{}", out.stderr);
}

#[test]
fn plan_and_apply_of_50_prefixes_meet_no_429_under_the_accounts_limit() {
    // The account allows 40 requests per 2 s and then blocks every call for 2 s.
    let emu = Emu::start(&state(false), &["--rate-limit", "40/2"]);
    let env = TestEnv::against(&emu);
    env.write("svcbind.yaml", &state(true));
    let budget = ["--request-budget", "36", "--request-window", "2s"];

    // P + 2 reads: more than the account allows in one window.
    let plan: Vec<&str> = ["plan", "--detailed-exitcode"]
        .into_iter()
        .chain(budget)
        .collect();
    let out = env
        .cmd(&plan)
        .status(2)
        .stdout_has("Plan: 50 to create, 0 to replace, 0 to delete; 0 prefixes unchanged.")
        .stderr_has(" before the next API request: ")
        .run();
    only_waits_and_progress(&out);
    let counts = emu.counts();
    assert_eq!(
        (counts["total"].as_u64(), counts["rate_limited"].as_u64()),
        (Some(52), Some(0))
    );

    // Right after: the account still counts the plan's requests, which the header says.
    let apply: Vec<&str> = ["apply", "--yes"].into_iter().chain(budget).collect();
    let out = env
        .cmd(&apply)
        .stdout_has("Apply: 50 done, 0 failed, 0 not run.")
        .stderr_has(" before the next API request: ")
        .run();
    only_waits_and_progress(&out);
    let counts = emu.counts();
    assert_eq!(
        (counts["total"].as_u64(), counts["rate_limited"].as_u64()),
        (Some(52 + 52 + 50), Some(0)),
        "{counts}"
    );
    let state = emu.state();
    let prefixes = state["prefixes"].as_array().unwrap();
    assert_eq!(prefixes.len(), PREFIXES);
    assert!(
        prefixes
            .iter()
            .all(|p| p["bindings"].as_array().unwrap().len() == 2),
        "{state}"
    );
}
