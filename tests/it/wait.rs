//! `svcbind apply --wait` through the binary, against an emulator whose new bindings stay
//! `provisioning` for an hour: the test moves the emulator's clock instead of waiting.

use serde_json::json;

use crate::signals::Running;
use crate::{Emu, TestEnv, root};

fn bindings() -> String {
    root()
        .join("examples/bindings.yaml")
        .to_str()
        .unwrap()
        .to_owned()
}

fn live() -> String {
    std::fs::read_to_string(root().join("examples/live.yaml")).expect("example")
}

/// Moves the emulator's clock forward.
fn advance(emu: &Emu, secs: u64) {
    let (status, body) = emu.http(
        "POST",
        "/__svcbind/clock",
        &[("Content-Type", "application/json")],
        &json!({ "advance_secs": secs }).to_string(),
    );
    assert_eq!(status, 200, "{body}");
}

#[test]
fn apply_waits_until_every_created_binding_is_active() {
    let emu = Emu::start(&live(), &["--provisioning-delay", "1h"]);
    let env = TestEnv::against(&emu);
    let bindings = bindings();
    let mut apply = Running::start(
        &env,
        &[
            "apply", "-c", &bindings, "--yes", "--wait", "--format", "json",
        ],
    );
    // The steps ran (2 creates) and the first read found both provisioning.
    apply.wait_for_line("waiting: 0 of 3 created bindings active");
    advance(&emu, 3600);
    apply.wait_for_line("waiting: 3 of 3 created bindings active");
    let out = apply.finish();
    assert_eq!(out.code, 0, "{out:?}");
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).expect("one JSON document");
    assert_eq!(doc["wait"]["outcome"], "active");
    let states: Vec<(&str, &str)> = doc["wait"]["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["cidr"].as_str().unwrap(), b["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        states,
        [
            ("192.0.2.128/28", "active"),
            ("192.0.2.64/27", "active"),
            ("2001:db8:1000:10::/64", "active")
        ]
    );
    assert!(
        out.stderr.contains("not active yet: 192.0.2.0/24: 192.0.2.128/28 → CDN (provisioning), 192.0.2.0/24: 192.0.2.64/27 → Spectrum (provisioning), 2001:db8:1000::/48: 2001:db8:1000:10::/64 → Spectrum (provisioning)"),
        "{out:?}"
    );
    // Planning read the three prefixes; each round of the wait read the two it changed.
    let reads = emu.counts()["routes"]
        ["GET /accounts/{account_id}/addressing/prefixes/{prefix_id}/bindings"]
        .as_u64()
        .unwrap();
    assert!(
        reads >= 3 + 2 * 2 && (reads - 3).is_multiple_of(2),
        "{reads} reads"
    );
}

#[test]
fn apply_wait_that_runs_out_of_time_says_what_is_still_provisioning_and_exits_1() {
    let emu = Emu::start(&live(), &["--provisioning-delay", "1h"]);
    let env = TestEnv::against(&emu);
    let out = env
        .cmd(&["apply", "-c", &bindings(), "--yes", "--wait=1s"])
        .status(1)
        .stdout_has("Apply: 6 done, 0 failed, 0 not run.")
        .stdout_has("Waited 1s (the --wait limit): 3 of 3 created bindings not active yet: 192.0.2.0/24: 192.0.2.128/28 → CDN (provisioning), 192.0.2.0/24: 192.0.2.64/27 → Spectrum (provisioning), 2001:db8:1000::/48: 2001:db8:1000:10::/64 → Spectrum (provisioning).")
        .stderr_has("waiting: 0 of 3 created bindings active")
        .stderr_has("error: 3 of 3 created bindings are not active after --wait=1s; the steps are done, and the report lists what is still provisioning\n")
        .run();
    assert!(
        !out.stdout.contains("Stopped at the first failure"),
        "{out:?}"
    );
}

#[test]
fn wait_is_a_flag_with_an_optional_value() {
    // `--wait PLAN.json` must not take the file for a duration.
    TestEnv::new()
        .cmd(&["apply", "--wait", "soon"])
        .status(1)
        .stdout("")
        .stderr_has("soon")
        .run();
    TestEnv::new()
        .cmd(&["apply", "--wait=soon"])
        .status(1)
        .stdout("")
        .stderr_has("invalid value 'soon' for '--wait[=<DURATION>]'")
        .run();
}
