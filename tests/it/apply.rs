//! `svcbind apply` through the binary against `svcbind emulator` over HTTP.

use serde_json::json;

use crate::signals::{release, wait_until_held};
use crate::{Emu, Output, TOKEN, TestEnv, root};

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
    // Progress goes to stderr, one line per step, in plan order within a prefix.
    let out = env
        .cmd(&["apply", "-c", &bindings, "--yes"])
        .stdout_has("Apply: 6 done, 0 failed, 0 not run.")
        .stderr_has("192.0.2.0/24: created 192.0.2.128/28 → CDN (")
        .run();
    let progress: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(progress.len(), 6, "{}", out.stderr);
    insta::assert_snapshot!("apply_report_text", report_only(&out.stdout));
    assert_eq!(
        emu.bindings_of("192.0.2.0/24"),
        [
            ("192.0.2.0/24".into(), "Magic Transit".into()),
            ("192.0.2.128/28".into(), "CDN".into()),
            ("192.0.2.16/29".into(), "CDN".into()),
            ("192.0.2.64/27".into(), "Spectrum".into()),
        ]
    );

    env.cmd(&["plan", "-c", &bindings, "--detailed-exitcode"])
        .stdout_has("\nNo changes. The live bindings match the file (3 prefixes).\n")
        .run();
}

/// The apply report: what text output prints after the plan, without the elapsed times.
fn report_only(stdout: &str) -> String {
    let report = stdout
        .split_once("\nApply")
        .map_or(stdout.to_owned(), |(_, rest)| format!("Apply{rest}"));
    elapsed_free(&report)
}

/// `(0.4 s)`, `"elapsed_ms": 3` and the like, replaced so snapshots do not depend on timing.
fn elapsed_free(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let line = match line.find("\"elapsed_ms\": ") {
            Some(i) => {
                let rest = &line[i + 14..];
                let end = rest
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(rest.len());
                format!("{}\"elapsed_ms\": 0{}", &line[..i], &rest[end..])
            }
            None => line.to_owned(),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[test]
fn without_a_terminal_apply_needs_yes_and_changes_nothing() {
    let emu = Emu::example("live.yaml");
    let env = TestEnv::against(&emu);
    // The plan is shown first.
    env.cmd(&["apply", "-c", &example("bindings.yaml")])
        .stdin("yes\n")
        .status(3)
        .stdout_has("Plan: 2 to create")
        .stderr(
            "error: apply refused: no terminal to confirm on; review the plan, then run again with --yes\n",
        )
        .run();
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
    env.cmd(&["apply", "--yes"])
        .status(3)
        .stderr("error: apply refused: the prefix-wide binding of 192.0.2.0/24 is deleted or replaced; review the plan, then run again with --force\n")
        .run();
    assert_eq!(writes(&emu), 0);

    env.cmd(&["apply", "--yes", "--force"]).stderr_any().run();
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
    env.cmd(&["apply", "--yes"])
        .status(3)
        .stdout_has("more than max_deletes (2); apply needs --force")
        .stderr("error: apply refused: 3 bindings are deleted or replaced, more than max_deletes (2); review the plan, then run again with --force\n")
        .run();
    assert_eq!(writes(&emu), 0);
    // The flag overrides the file.
    env.cmd(&["apply", "--yes", "--max-deletes", "3"])
        .stderr_any()
        .run();
}

/// Starts `apply --yes` one prefix at a time in `env`, without waiting for it.
fn spawn_apply(env: &TestEnv, config: &str) -> std::process::Child {
    env.spawn(&["apply", "-c", config, "--yes", "--concurrency", "1"])
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
    emu.fault(json!({"method": "POST", "path_contains": create, "action": {"type": "hold"}}));
    let child = spawn_apply(&env, &bindings);
    wait_until_held(&emu, 1);
    let auth = format!("Bearer {TOKEN}");
    let (status, body) = emu.http(
        "POST",
        "/client/v4/accounts/023e105f4ecef8ad9ca31a8372d0c353/addressing/prefixes/2af39739cc4e3b5910c918468bb89828/bindings",
        &[("Authorization", auth.as_str()), ("Content-Type", "application/json")],
        r#"{"cidr": "192.0.2.64/27", "service_id": "a7c5b5e1c33d4ea0b2f5d4f6c1e0a9b3"}"#,
    );
    assert_eq!(status, 201, "{body}");
    release(&emu);

    let out = Output::of(child.wait_with_output().expect("apply ends"));
    assert_eq!(out.code, 1, "{out:?}");
    let stdout = &out.stdout;
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
    env.cmd(&["plan", "-c", &bindings])
        .stdout_has("Plan: 1 to create, 1 to replace, 2 to delete; 1 prefix unchanged.")
        .run();
    env.cmd(&["apply", "-c", &bindings, "--yes"])
        .stdout_has("Apply: 5 done, 0 failed, 0 not run.")
        .stderr_any()
        .run();
    env.cmd(&["plan", "-c", &bindings, "--detailed-exitcode"])
        .stdout_has("No changes.")
        .run();
}

#[test]
fn the_json_report_follows_its_schema() {
    let emu = Emu::example("live.yaml");
    let env = TestEnv::against(&emu);
    // The plan goes to stderr, so stdout stays one document.
    let out = env
        .cmd(&[
            "apply",
            "-c",
            &example("bindings.yaml"),
            "--yes",
            "--format",
            "json",
        ])
        .stderr_has("Plan: 2 to create")
        .run();
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
    // Created ids depend on the order prefixes ran in; times on the machine.
    insta::assert_json_snapshot!("apply_report_json", doc, {
        ".svcbind_version" => "[version]",
        ".prefixes[].steps[].elapsed_ms" => "[elapsed]",
        ".prefixes[].steps[].binding_id" => "[binding id]",
    });
}

#[test]
fn machine_formats_put_one_document_on_stdout_even_when_refused() {
    let emu = Emu::example("live.yaml");
    let env = TestEnv::against(&emu);
    let bindings = example("bindings.yaml");
    // Refused (no --yes, no terminal): the JSON report says why and that nothing ran.
    let out = env
        .cmd(&["apply", "-c", &bindings, "--format", "json"])
        .status(3)
        .stderr_has("Plan: 2 to create")
        .stderr_has("error: apply refused: no terminal to confirm on")
        .run();
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).expect("one JSON document");
    assert_eq!(
        doc["refused"],
        "no terminal to confirm on; review the plan, then run again with --yes"
    );
    assert_eq!(
        doc["summary"],
        json!({"done": 0, "failed": 0, "not_run": 6})
    );
    // Markdown: only the apply report, under its own marker, so a CI job updating the plan's
    // comment never overwrites it. -q: no plan on stderr either.
    let out = env
        .cmd(&[
            "apply", "-c", &bindings, "--format", "markdown", "--yes", "-q",
        ])
        .stdout_has("### svcbind apply: 6 done, 0 failed, 0 not run")
        .run();
    assert!(
        out.stdout.starts_with("<!-- svcbind:apply -->\n"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("<!-- svcbind:plan -->"));
    insta::assert_snapshot!("apply_report_markdown", elapsed_free(&out.stdout));
}

#[test]
fn the_report_file_holds_the_json_report_whatever_the_format() {
    let emu = Emu::example("live.yaml");
    let env = TestEnv::against(&emu);
    let bindings = example("bindings.yaml");
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("schema/apply-report.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let read = |name: &str| -> serde_json::Value {
        let doc = serde_json::from_str(
            &std::fs::read_to_string(env.dir.path().join(name)).expect("the report file"),
        )
        .expect("one JSON document");
        let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:#?}");
        doc
    };
    // Refused (no --yes, no terminal): the file still says why and that nothing ran.
    env.cmd(&["apply", "-c", &bindings, "--report", "refused.json"])
        .status(3)
        .stdout_has("Plan: 2 to create")
        .stderr_has("error: apply refused: no terminal to confirm on")
        .run();
    let refused = read("refused.json");
    assert_eq!(
        refused["summary"],
        json!({"done": 0, "failed": 0, "not_run": 6})
    );
    assert!(refused["refused"].is_string());
    assert_eq!(writes(&emu), 0);
    // Applied with text on stdout: the file holds the JSON report of the same run.
    env.cmd(&["apply", "-c", &bindings, "--yes", "--report", "done.json"])
        .stdout_has("Apply: 6 done, 0 failed, 0 not run.")
        .stderr_any()
        .run();
    let done = read("done.json");
    assert_eq!(done["kind"], "apply_report");
    assert_eq!(
        done["summary"],
        json!({"done": 6, "failed": 0, "not_run": 0})
    );
}
