//! `svcbind apply` through the binary against `svcbind emulator` over HTTP.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::{BIN, Emu, TOKEN, TestEnv, root};

fn example(name: &str) -> String {
    root()
        .join("examples")
        .join(name)
        .to_str()
        .unwrap()
        .to_owned()
}

fn writes(emu: &Emu) -> u64 {
    let c = emu.counts();
    let routes = &c["routes"];
    routes["POST /accounts/{account_id}/addressing/prefixes/{prefix_id}/bindings"]
        .as_u64()
        .unwrap_or(0)
        + routes["DELETE /accounts/{account_id}/addressing/prefixes/{prefix_id}/bindings/{binding_id}"]
            .as_u64()
            .unwrap_or(0)
}

#[test]
fn apply_then_plan_shows_no_changes() {
    let emu = Emu::example("live.yaml");
    let env = TestEnv::against(&emu);
    let bindings = example("bindings.yaml");
    let out = env.run(&["apply", "-c", &bindings, "--yes"]);
    assert_eq!(out.code, 0, "{out:?}");
    // Progress goes to stderr, one line per step, in plan order within a prefix.
    let progress: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(progress.len(), 6, "{}", out.stderr);
    assert!(
        progress
            .iter()
            .any(|l| l.contains("192.0.2.0/24: created 192.0.2.128/28 → CDN ("))
    );
    assert!(
        out.stdout.contains("Apply: 6 done, 0 failed, 0 not run."),
        "{}",
        out.stdout
    );
    assert_eq!(
        emu.bindings_of("192.0.2.0/24"),
        [
            ("192.0.2.0/24".into(), "Magic Transit".into()),
            ("192.0.2.128/28".into(), "CDN".into()),
            ("192.0.2.16/29".into(), "CDN".into()),
            ("192.0.2.64/27".into(), "Spectrum".into()),
        ]
    );

    let again = env.run(&["plan", "-c", &bindings, "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{again:?}");
    assert_eq!(
        again.stdout.lines().last(),
        Some("No changes. The live bindings match the file (3 prefixes).")
    );
}

#[test]
fn without_a_terminal_apply_needs_yes_and_changes_nothing() {
    let emu = Emu::example("live.yaml");
    let env = TestEnv::against(&emu);
    let out = env.run_with_stdin(&["apply", "-c", &example("bindings.yaml")], "yes\n");
    assert_eq!(out.code, 3, "{out:?}");
    assert!(
        out.stderr.contains(
            "apply refused: no terminal to confirm on; review the plan, then run again with --yes"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout.contains("Plan: 2 to create"),
        "the plan is shown first"
    );
    assert_eq!(writes(&emu), 0);
}

#[test]
fn a_prefix_wide_replace_needs_force() {
    let emu = Emu::example("live.yaml");
    let env = TestEnv::against(&emu);
    env.write(
        "svcbind.yaml",
        "version: 1
account_id: 023e105f4ecef8ad9ca31a8372d0c353
prefixes:
  - cidr: 192.0.2.0/24
    bindings:
      - { cidr: 192.0.2.0/24, service: CDN }
      - { cidr: 192.0.2.16/29, service: Spectrum }
",
    );
    let out = env.run(&["apply", "--yes"]);
    assert_eq!(out.code, 3, "{out:?}");
    assert!(
        out.stderr.contains("apply refused: the prefix-wide binding of 192.0.2.0/24 is deleted or replaced; review the plan, then run again with --force"),
        "{}",
        out.stderr
    );
    assert_eq!(writes(&emu), 0);

    let out = env.run(&["apply", "--yes", "--force"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        emu.bindings_of("192.0.2.0/24"),
        [
            ("192.0.2.0/24".into(), "CDN".into()),
            ("192.0.2.16/29".into(), "Spectrum".into()),
        ]
    );
}

#[test]
fn more_deletes_than_allowed_need_force() {
    let emu = Emu::example("live.yaml");
    let env = TestEnv::against(&emu);
    // Three deletes + one replace = 4 > 2.
    env.write(
        "svcbind.yaml",
        "version: 1
account_id: 023e105f4ecef8ad9ca31a8372d0c353
safety: { max_deletes: 2 }
prefixes:
  - cidr: 192.0.2.0/24
    bindings:
      - { cidr: 192.0.2.0/24, service: Magic Transit }
      - { cidr: 192.0.2.64/27, service: Spectrum }
",
    );
    let out = env.run(&["apply", "--yes"]);
    assert_eq!(out.code, 3, "{out:?}");
    assert!(
        out.stderr
            .contains("3 bindings are deleted or replaced, more than max_deletes (2)"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout
            .contains("more than max_deletes (2); apply needs --force")
    );
    assert_eq!(writes(&emu), 0);
    // The flag overrides the file.
    let out = env.run(&["apply", "--yes", "--max-deletes", "3"]);
    assert_eq!(out.code, 0, "{out:?}");
}

/// Starts `apply --yes` one prefix at a time against `emu`, without waiting for it.
fn spawn_apply(emu: &Emu, config: &str) -> std::process::Child {
    Command::new(BIN)
        .args(["apply", "-c", config, "--yes", "--concurrency", "1"])
        .env_clear()
        .env("CLOUDFLARE_BASE_URL", emu.base_url())
        .env("CLOUDFLARE_API_TOKEN", TOKEN)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start apply")
}

/// Waits until `cond` holds, polling the emulator (no fixed sleeps).
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_failure_in_the_middle_stops_reports_and_resumes() {
    let emu = Emu::example("live.yaml");
    let env = TestEnv::against(&emu);
    let bindings = example("bindings.yaml");
    // 192.0.2.0/24's steps: create /28, delete /27, create /27 (Spectrum), delete /29. Let the
    // first create through and hold the second (the replace's create), so that a colleague can
    // bind 192.0.2.64/27 by hand meanwhile: the held create then meets the API's rule of one
    // binding per CIDR.
    let create = "/prefixes/2af39739cc4e3b5910c918468bb89828/";
    emu.fault(json!({"method": "POST", "path_contains": create, "action": {"type": "delay", "millis": 0}}));
    emu.fault(json!({"method": "POST", "path_contains": create, "action": {"type": "delay", "millis": 2000}}));
    let child = spawn_apply(&emu, &bindings);
    let posts = || {
        emu.counts()["routes"]["POST /accounts/{account_id}/addressing/prefixes/{prefix_id}/bindings"]
            .as_u64()
            .unwrap_or(0)
    };
    wait_for("the replace's create to be held", || posts() >= 2);
    let auth = format!("Bearer {TOKEN}");
    let (status, body) = emu.http(
        "POST",
        "/client/v4/accounts/023e105f4ecef8ad9ca31a8372d0c353/addressing/prefixes/2af39739cc4e3b5910c918468bb89828/bindings",
        &[("Authorization", auth.as_str()), ("Content-Type", "application/json")],
        r#"{"cidr": "192.0.2.64/27", "service_id": "a7c5b5e1c33d4ea0b2f5d4f6c1e0a9b3"}"#,
    );
    assert_eq!(status, 201, "{body}");

    let out = child.wait_with_output().expect("apply ends");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let report: Vec<&str> = stdout
        .lines()
        .skip_while(|l| *l != "192.0.2.0/24")
        .collect();
    assert_eq!(
        report[1], "  done      1. create 192.0.2.128/28 → CDN",
        "{stdout}"
    );
    assert_eq!(report[2], "  done      2. delete 192.0.2.64/27 (CDN)");
    assert_eq!(report[3], "  FAILED    3. create 192.0.2.64/27 → Spectrum");
    assert!(
        report[4].contains("HTTP 400") && report[4].contains("(1003)"),
        "{}",
        report[4]
    );
    assert_eq!(report[5], "  not run   4. delete 192.0.2.200/29 (CDN)");
    assert!(
        stdout.contains("Apply: 2 done, 1 failed, 3 not run."),
        "{stdout}"
    );
    assert!(stdout.contains("Stopped at the first failure."), "{stdout}");

    // A new plan shows exactly what remains, and applying it finishes the work.
    let rest = env.run(&["plan", "-c", &bindings]);
    assert!(
        rest.stdout
            .contains("Plan: 1 to create, 1 to replace, 2 to delete; 1 prefix unchanged."),
        "{}",
        rest.stdout
    );
    let resume = env.run(&["apply", "-c", &bindings, "--yes"]);
    assert_eq!(resume.code, 0, "{resume:?}");
    let again = env.run(&["plan", "-c", &bindings, "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{again:?}");
}

#[test]
fn ctrl_c_finishes_the_step_in_flight_and_exits_130() {
    let emu = Emu::example("live.yaml");
    let bindings = example("bindings.yaml");
    // Hold the first step long enough to interrupt the apply while it is in flight.
    emu.fault(json!({"method": "POST", "action": {"type": "delay", "millis": 1500}}));
    let child = spawn_apply(&emu, &bindings);
    wait_for("the first step to be in flight", || writes(&emu) >= 1);
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("send SIGINT");
    assert!(status.success());
    let out = child.wait_with_output().expect("apply ends");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(130), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("interrupted: finishing the steps in flight"),
        "{stderr}"
    );
    // The step in flight finished; nothing else ran.
    assert!(
        stdout.contains("Apply: 1 done, 0 failed, 5 not run."),
        "{stdout}"
    );
    assert!(stdout.contains("Interrupted:"), "{stdout}");
    assert_eq!(writes(&emu), 1);
    assert!(
        emu.bindings_of("192.0.2.0/24")
            .contains(&("192.0.2.128/28".into(), "CDN".into()))
    );
}

#[test]
fn the_json_report_follows_its_schema() {
    let emu = Emu::example("live.yaml");
    let env = TestEnv::against(&emu);
    let out = env.run(&[
        "apply",
        "-c",
        &example("bindings.yaml"),
        "--yes",
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).expect("one JSON document");
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("schema/apply-report.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(doc["kind"], "apply_report");
    assert_eq!(
        doc["summary"],
        json!({"done": 6, "failed": 0, "not_run": 0})
    );
    assert_eq!(doc["prefixes"][0]["steps"][0]["status"], "done");
    assert!(doc["prefixes"][0]["steps"][0]["binding_id"].is_string());
    // The plan went to stderr, so stdout stays one document.
    assert!(out.stderr.contains("Plan: 2 to create"), "{}", out.stderr);
}

#[test]
fn machine_formats_put_one_document_on_stdout_even_when_refused() {
    let emu = Emu::example("live.yaml");
    let env = TestEnv::against(&emu);
    let bindings = example("bindings.yaml");
    // Refused (no --yes, no terminal): the JSON report says why and that nothing ran.
    let out = env.run(&["apply", "-c", &bindings, "--format", "json"]);
    assert_eq!(out.code, 3, "{out:?}");
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).expect("one JSON document");
    assert_eq!(
        doc["refused"],
        "no terminal to confirm on; review the plan, then run again with --yes"
    );
    assert_eq!(
        doc["summary"],
        json!({"done": 0, "failed": 0, "not_run": 6})
    );
    assert!(out.stderr.contains("Plan: 2 to create"), "{}", out.stderr);
    // Markdown: only the apply report, under its own marker, so a CI job updating the plan's
    // comment never overwrites it.
    let out = env.run(&[
        "apply", "-c", &bindings, "--format", "markdown", "--yes", "-q",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.starts_with("<!-- svcbind:apply -->\n"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("<!-- svcbind:plan -->"));
    assert!(
        out.stdout
            .contains("### svcbind apply: 6 done, 0 failed, 0 not run")
    );
    // -q: no plan on stderr either.
    assert_eq!(out.stderr, "");
}
