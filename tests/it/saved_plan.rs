//! Saved plans end to end: `svcbind plan --out PLAN.json`, then `svcbind apply PLAN.json`
//! against `svcbind emulator`, with the account changed (or not) in between.

use serde_json::{Value, json};

use crate::{ACCOUNT, Emu, TOKEN, TestEnv, root};

const PREFIX_ID: &str = "2af39739cc4e3b5910c918468bb89828";
const V6_PREFIX_ID: &str = "27203fb4a75ab20477af870466c990cc";
const CDN: &str = "a7c5b5e1c33d4ea0b2f5d4f6c1e0a9b3";
const SPECTRUM: &str = "5c3d1e2f4a6b4c8d9e0f1a2b3c4d5e6f";

const LIST_BINDINGS: &str = "GET /accounts/{account_id}/addressing/prefixes/{prefix_id}/bindings";
const CREATE: &str = "POST /accounts/{account_id}/addressing/prefixes/{prefix_id}/bindings";
const DELETE: &str =
    "DELETE /accounts/{account_id}/addressing/prefixes/{prefix_id}/bindings/{binding_id}";

fn example(name: &str) -> String {
    root()
        .join("examples")
        .join(name)
        .to_str()
        .unwrap()
        .to_owned()
}

/// The account of the README's scenario: one prefix, bound prefix-wide to Magic Transit.
const SEED: &str = "version: 1
account_id: 023e105f4ecef8ad9ca31a8372d0c353
prefixes:
  - cidr: 192.0.2.0/24
    id: 2af39739cc4e3b5910c918468bb89828
    bindings:
      - { cidr: 192.0.2.0/24, service: Magic Transit, id: 0268691a34343f5f7404ff8abe0b5785, state: active }
";

/// What the pull request asks for: one more-specific binding.
const DESIRED: &str = "version: 1
account_id: 023e105f4ecef8ad9ca31a8372d0c353
prefixes:
  - cidr: 192.0.2.0/24
    bindings:
      - { cidr: 192.0.2.0/24, service: Magic Transit }
      - { cidr: 192.0.2.16/29, service: CDN }
";

/// Someone binds `cidr` to `service` by hand, through the API.
fn bind_by_hand(emu: &Emu, prefix: &str, cidr: &str, service: &str) -> String {
    let auth = format!("Bearer {TOKEN}");
    let (status, body) = emu.http(
        "POST",
        &format!("/client/v4/accounts/{ACCOUNT}/addressing/prefixes/{prefix}/bindings"),
        &[
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/json"),
        ],
        &json!({"cidr": cidr, "service_id": service}).to_string(),
    );
    assert_eq!(status, 201, "{body}");
    let body: Value = serde_json::from_str(&body).expect("JSON");
    body["result"]["id"].as_str().expect("an id").to_owned()
}

/// Someone deletes a binding by hand, through the API.
fn unbind_by_hand(emu: &Emu, prefix: &str, binding: &str) {
    let auth = format!("Bearer {TOKEN}");
    let (status, body) = emu.http(
        "DELETE",
        &format!("/client/v4/accounts/{ACCOUNT}/addressing/prefixes/{prefix}/bindings/{binding}"),
        &[("Authorization", auth.as_str())],
        "",
    );
    assert_eq!(status, 200, "{body}");
}

/// The emulator's request counts per route, without the total.
fn routes(emu: &Emu) -> Value {
    emu.counts()["routes"].clone()
}

fn read_json(env: &TestEnv, name: &str) -> Value {
    let text = std::fs::read_to_string(env.dir.path().join(name)).expect("the saved plan");
    serde_json::from_str(&text).expect("JSON")
}

/// The steps of a plan document or an apply report, as (prefix id, step) pairs in order.
fn steps_of(doc: &Value, step: impl Fn(&Value) -> &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for prefix in doc["prefixes"].as_array().expect("prefixes") {
        for s in prefix["steps"].as_array().expect("steps") {
            out.push((prefix["id"].as_str().unwrap().to_owned(), step(s).clone()));
        }
    }
    out
}

/// The README's scenario: the pull request's plan shows one create; a binding is added by hand
/// before the merge; `apply PLAN.json` on merge refuses instead of deleting it unseen.
#[test]
fn a_binding_added_by_hand_after_review_is_not_deleted_unseen() {
    let emu = Emu::start(SEED, &[]);
    let env = TestEnv::against(&emu);
    env.write("svcbind.yaml", DESIRED);
    // The pull request: a plan with one create, saved for the merge.
    let plan = env
        .cmd(&["plan", "--out", "plan.json"])
        .stdout_has("  + create  192.0.2.16/29  CDN\n")
        .stdout_has("Plan: 1 to create, 0 to replace, 0 to delete; 0 prefixes unchanged.")
        .stderr(
            "Saved the plan to plan.json. To carry out exactly these steps: svcbind apply plan.json\n",
        )
        .run();
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let shown = readme
        .split("$ svcbind plan --out plan.json\n")
        .nth(1)
        .and_then(|rest| rest.split("\n$ svcbind apply plan.json --yes\n").next())
        .expect("the README's plan");
    assert_eq!(
        format!("{}{}", plan.stdout, plan.stderr),
        shown,
        "the README shows another plan"
    );
    // Written whole (through a file beside it, renamed), nothing left behind.
    let mut files: Vec<String> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, ["plan.json", "svcbind.yaml"]);
    // Before the merge, a colleague binds a range by hand.
    let added = bind_by_hand(&emu, PREFIX_ID, "192.0.2.64/27", SPECTRUM);
    emu.reset_counts();

    // On merge: refused, naming the prefix and the binding; nothing is written. The README
    // shows this run.
    let out = env
        .cmd(&["apply", "plan.json", "--yes"])
        .status(3)
        .stdout("")
        .stderr_any()
        .run();
    let shown = readme
        .split("$ svcbind apply plan.json --yes\n")
        .nth(1)
        .and_then(|rest| rest.split("$ echo $?\n3\n").next())
        .expect("the README's refused apply");
    assert_eq!(out.stderr, shown, "the README shows another refusal");
    assert_eq!(
        out.stderr,
        format!(
            "error: apply refused: the account changed since the plan was made, so its steps are not the ones that were reviewed:
  192.0.2.0/24 (prefix {PREFIX_ID}):
    192.0.2.64/27 → Spectrum was added (binding {added})
  = hint: nothing was changed; make a new plan with `svcbind plan --out plan.json`, review it, and apply that one
"
        )
    );
    // One read of the one prefix the plan changes; no listing, no write.
    assert_eq!(routes(&emu), json!({ LIST_BINDINGS: 1 }));
    assert!(
        emu.bindings_of("192.0.2.0/24")
            .contains(&("192.0.2.64/27".into(), "Spectrum".into()))
    );

    // Re-planning shows the deletion for review, which is what the saved plan prevented.
    env.cmd(&["plan"])
        .stdout_has("  - delete  192.0.2.64/27  Spectrum\n")
        .run();
}

#[test]
fn with_nothing_changed_apply_runs_exactly_the_saved_steps() {
    let emu = Emu::example("live.yaml");
    let env = TestEnv::against(&emu);
    let bindings = example("bindings.yaml");
    let plan = env
        .cmd(&["plan", "-c", &bindings, "--out", "plan.json", "-q"])
        .stdout_has("Plan: 2 to create, 1 to replace, 2 to delete; 1 prefix unchanged.")
        .run();
    let saved = read_json(&env, "plan.json");
    assert_eq!(saved["kind"], "plan");
    assert_eq!(saved["summary"]["steps"], 6);
    // Before anything runs, apply shows the saved plan as it was reviewed, saying it is the
    // saved one.
    let out = env
        .cmd(&["apply", "plan.json"])
        .status(3)
        .stdout_has(&plan.stdout)
        .stderr("error: apply refused: no terminal to confirm on; review the plan, then run again with --yes\n")
        .run();
    let (header, rest) = out.stdout.split_once("\n\n").unwrap();
    assert!(
        header.starts_with(&format!(
            "Carrying out the saved plan plan.json (made by svcbind {}, saved ",
            env!("CARGO_PKG_VERSION")
        )) && header.ends_with("), as it was reviewed:"),
        "{header}"
    );
    assert_eq!(rest, plan.stdout);
    emu.reset_counts();

    // Without the file around (a CI job that only has the plan): the plan decides everything.
    let out = env
        .cmd(&["apply", "plan.json", "--yes", "--format", "json", "-q"])
        .run();
    // Exactly the plan's calls: one read per changed prefix (2 of 3), its three creates and
    // three deletes; no service or prefix listing.
    assert_eq!(
        routes(&emu),
        json!({ LIST_BINDINGS: 2, CREATE: 3, DELETE: 3 })
    );
    // The same steps, in the same order, each done.
    let report: Value = serde_json::from_str(&out.stdout).expect("one JSON document");
    assert_eq!(report["kind"], "apply_report");
    assert_eq!(report["refused"], Value::Null);
    assert_eq!(
        report["summary"],
        json!({"done": 6, "failed": 0, "not_run": 0})
    );
    assert_eq!(
        steps_of(&report, |s| &s["step"]),
        steps_of(&saved, |s| s),
        "the steps run are the steps saved"
    );
    assert!(
        steps_of(&report, |s| &s["status"])
            .iter()
            .all(|(_, status)| status == "done")
    );
    // The account is what the plan said it would be: a new plan is empty.
    env.cmd(&["plan", "-c", &bindings, "--detailed-exitcode"])
        .stdout_has("\nNo changes. The live bindings match the file (3 prefixes).\n")
        .run();
}

#[test]
fn bindings_moved_removed_or_gone_since_the_plan_are_each_named() {
    let emu = Emu::example("live.yaml");
    let env = TestEnv::against(&emu);
    let bindings = example("bindings.yaml");
    env.cmd(&["plan", "-c", &bindings, "-o", "plan.json", "-q"])
        .run();
    // 192.0.2.16/29 moves from CDN to Spectrum (deleted, bound again); in the IPv6 prefix a
    // provisioning binding is removed. The unchanged prefix changes too, which the plan does
    // not touch and apply does not read.
    unbind_by_hand(&emu, PREFIX_ID, "924041a85939189348b16d6171cdd9ed");
    let moved = bind_by_hand(&emu, PREFIX_ID, "192.0.2.16/29", SPECTRUM);
    unbind_by_hand(&emu, V6_PREFIX_ID, "b634be3fc3f03c4ed3891444c139227d");
    bind_by_hand(
        &emu,
        "ac49a052844a077e7982a0a1fe50652f",
        "198.51.100.128/25",
        CDN,
    );
    emu.reset_counts();

    let out = env
        .cmd(&["apply", "plan.json", "--yes", "--format", "json"])
        .status(3)
        .stderr_any()
        .run();
    assert_eq!(
        out.stderr,
        format!(
            "error: apply refused: the account changed since the plan was made, so its steps are not the ones that were reviewed:
  192.0.2.0/24 (prefix {PREFIX_ID}):
    192.0.2.16/29 moved from CDN to Spectrum (binding 924041a85939189348b16d6171cdd9ed is now {moved})
  2001:db8:1000::/48 (prefix {V6_PREFIX_ID}):
    2001:db8:1000:20::/64 → Spectrum was removed (binding b634be3fc3f03c4ed3891444c139227d)
  = hint: nothing was changed; make a new plan with `svcbind plan --out plan.json`, review it, and apply that one
"
        )
    );
    assert_eq!(routes(&emu), json!({ LIST_BINDINGS: 2 }));
    // The report says the same, field by field.
    let report: Value = serde_json::from_str(&out.stdout).expect("one JSON document");
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("schema/apply-report.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    assert!(validator.is_valid(&report), "{report:#}");
    assert_eq!(
        report["summary"],
        json!({"done": 0, "failed": 0, "not_run": 6})
    );
    assert_eq!(
        report["refused"],
        format!(
            "the account changed since the plan was made: in 192.0.2.0/24, 192.0.2.16/29 moved from CDN to Spectrum (binding 924041a85939189348b16d6171cdd9ed is now {moved}); in 2001:db8:1000::/48, 2001:db8:1000:20::/64 → Spectrum was removed (binding b634be3fc3f03c4ed3891444c139227d); nothing was changed: make a new plan, review it, and apply that one"
        )
    );
    assert_eq!(
        report["stale"],
        json!([
            {
                "id": PREFIX_ID,
                "cidr": "192.0.2.0/24",
                "gone": false,
                "changes": [{
                    "change": "moved",
                    "cidr": "192.0.2.16/29",
                    "from": {"id": CDN, "name": "CDN"},
                    "to": {"id": SPECTRUM, "name": "Spectrum"},
                    "planned_binding_id": "924041a85939189348b16d6171cdd9ed",
                    "binding_id": moved,
                }],
            },
            {
                "id": V6_PREFIX_ID,
                "cidr": "2001:db8:1000::/48",
                "gone": false,
                "changes": [{
                    "change": "removed",
                    "cidr": "2001:db8:1000:20::/64",
                    "service": {"id": SPECTRUM, "name": "Spectrum"},
                    "binding_id": "b634be3fc3f03c4ed3891444c139227d",
                }],
            },
        ])
    );
}

#[test]
fn a_binding_turning_active_is_no_change() {
    let emu = Emu::start(SEED, &["--provisioning-delay", "1h"]);
    let env = TestEnv::against(&emu);
    bind_by_hand(&emu, PREFIX_ID, "192.0.2.128/25", CDN);
    env.write(
        "svcbind.yaml",
        &format!("{DESIRED}      - {{ cidr: 192.0.2.128/25, service: CDN }}\n"),
    );
    env.cmd(&["plan", "-o", "plan.json", "-q"])
        .stdout_has("note: 192.0.2.128/25 (CDN) is provisioning, not active yet")
        .run();
    let (status, body) = emu.http(
        "POST",
        "/__svcbind/clock",
        &[("Content-Type", "application/json")],
        r#"{"advance_secs": 7200}"#,
    );
    assert_eq!(status, 200, "{body}");
    let state = emu.state();
    let bindings = state["prefixes"][0]["bindings"].as_array().unwrap();
    assert!(
        bindings
            .iter()
            .all(|b| b["provisioning"]["state"] == "active"),
        "{state:#}"
    );
    env.cmd(&["apply", "plan.json", "--yes", "-q"])
        .stdout_has("Apply: 1 done, 0 failed, 0 not run.")
        .run();
}

#[test]
fn a_plan_for_another_account_is_refused() {
    let emu = Emu::start(SEED, &[]);
    let env = TestEnv::against(&emu);
    env.write("svcbind.yaml", DESIRED);
    env.cmd(&["plan", "-o", "plan.json", "-q"]).run();
    let other = "0000000000000000000000000000000f";
    emu.reset_counts();

    // By the flag (or CLOUDFLARE_ACCOUNT_ID).
    std::fs::remove_file(env.dir.path().join("svcbind.yaml")).unwrap();
    env.cmd(&["apply", "plan.json", "--yes", "--account-id", other])
        .status(3)
        .stdout("")
        .stderr(&format!(
            "error: apply refused: plan.json was made for account {ACCOUNT}, but --account-id / CLOUDFLARE_ACCOUNT_ID is {other}; apply a plan made for {other}, or point svcbind at account {ACCOUNT}\n"
        ))
        .run();
    // By the desired-state file, when it exists.
    env.write(
        "svcbind.yaml",
        &DESIRED.replace(
            &format!("account_id: {ACCOUNT}"),
            &format!("account_id: {other}"),
        ),
    );
    env.cmd(&["apply", "plan.json", "--yes"])
        .status(3)
        .stderr(&format!(
            "error: apply refused: plan.json was made for account {ACCOUNT}, but `account_id` in svcbind.yaml is {other}; apply a plan made for {other}, or point svcbind at account {ACCOUNT}\n"
        ))
        .run();
    // Refused before any call.
    assert_eq!(emu.counts()["total"], 0);

    // When only the plan names the account, it is the plan's.
    env.write(
        "svcbind.yaml",
        &DESIRED.replace(&format!("account_id: {ACCOUNT}\n"), ""),
    );
    env.cmd(&["apply", "plan.json", "--yes"])
        .stdout_has("Apply: 1 done, 0 failed, 0 not run.")
        .stderr_has("[1/1] 192.0.2.0/24: created 192.0.2.16/29 → CDN (")
        .stderr_has(
            "note: svcbind.yaml changed since the plan was made; apply carries out the plan as it was reviewed, then run `svcbind plan` to see what the file's newer changes need\n",
        )
        .run();
}

#[test]
fn a_corrupt_truncated_or_edited_plan_is_a_clear_error() {
    let emu = Emu::example("live.yaml");
    let env = TestEnv::against(&emu);
    env.cmd(&[
        "plan",
        "-c",
        &example("bindings.yaml"),
        "-o",
        "plan.json",
        "-q",
    ])
    .run();
    let text = std::fs::read_to_string(env.dir.path().join("plan.json")).unwrap();
    let saved: Value = serde_json::from_str(&text).unwrap();
    let prefix = "error: `plan.json` is not a plan this svcbind can apply; make it again with `svcbind plan --out plan.json`: ";
    let refused = |contents: &str, reason: &str| {
        env.write("plan.json", contents);
        env.cmd(&["apply", "plan.json", "--yes"])
            .status(1)
            .stdout("")
            .stderr(&format!("{prefix}{reason}\n"))
            .run();
    };

    // Cut short in transfer.
    env.write("plan.json", &text[..text.len() / 2]);
    let out = env
        .cmd(&["apply", "plan.json", "--yes"])
        .status(1)
        .stderr_any()
        .run();
    assert!(
        out.stderr
            .starts_with(&format!("{prefix}not a JSON document: EOF while parsing")),
        "{}",
        out.stderr
    );
    assert_eq!(
        out.stderr.matches("EOF while parsing").count(),
        1,
        "{}",
        out.stderr
    );
    // Written by another version of the format.
    let mut other = saved.clone();
    other["format_version"] = 2.into();
    refused(
        &other.to_string(),
        "`format_version` is 2, but this svcbind reads version 1; use the svcbind that wrote it, or write the document again with this one",
    );
    // Not a plan at all: no advice to overwrite it.
    env.write(
        "plan.json",
        r#"{"format_version": 1, "kind": "apply_report"}"#,
    );
    env.cmd(&["apply", "plan.json", "--yes"])
        .status(1)
        .stderr("error: `plan.json` is not a saved plan (`kind` is \"apply_report\", not \"plan\": this is not a plan document); make one with `svcbind plan --out PLAN.json`, then run `svcbind apply PLAN.json`\n")
        .run();
    // A step taken out by hand: well-formed, but not what was reviewed.
    let mut edited = saved.clone();
    edited["prefixes"][0]["steps"].as_array_mut().unwrap().pop();
    refused(
        &serde_json::to_string_pretty(&edited).unwrap(),
        "the document was changed after svcbind wrote it (its content no longer matches its `checksum`)",
    );
    // An id that would go into a URL path.
    let mut edited = saved.clone();
    edited["prefixes"][0]["id"] = "../../x".into();
    refused(
        &edited.to_string(),
        "prefixes[0].id: invalid prefix id `../../x`: an id is 1 to 32 letters or digits",
    );
    // No file.
    env.cmd(&["apply", "missing.json", "--yes"])
        .status(1)
        .stderr_has("error: cannot read the plan file `missing.json`: ")
        .run();
    // None of it reached the API; the untouched plan still applies.
    assert_eq!(emu.counts()["total"], 5);
    env.write("plan.json", &text);
    env.cmd(&["apply", "plan.json", "--yes", "-q"])
        .stdout_has("Apply: 6 done, 0 failed, 0 not run.")
        .run();
}

#[test]
fn a_plan_that_needed_force_still_needs_it() {
    let emu = Emu::start(SEED, &[]);
    let env = TestEnv::against(&emu);
    // The prefix-wide binding moves: apply needs --force.
    env.write(
        "svcbind.yaml",
        &DESIRED
            .replace("Magic Transit", "CDN")
            .replace("16/29, service: CDN", "16/29, service: Spectrum"),
    );
    env.cmd(&["plan", "-o", "wide.json", "-q"])
        .stdout_has("apply needs --force")
        .run();
    assert_eq!(read_json(&env, "wide.json")["safety"]["needs_force"], true);
    env.cmd(&["apply", "wide.json", "--yes", "-q"])
        .status(3)
        .stderr("error: apply refused: the prefix-wide binding of 192.0.2.0/24 is deleted or replaced; review the plan, then run again with --force\n")
        .run();
    // `max_deletes` is the plan's too: made with a limit of 0, one delete needs --force even
    // though the file's default would allow it.
    env.write(
        "svcbind.yaml",
        &DESIRED.replace("      - { cidr: 192.0.2.16/29, service: CDN }\n", ""),
    );
    bind_by_hand(&emu, PREFIX_ID, "192.0.2.32/28", CDN);
    env.cmd(&["plan", "-o", "delete.json", "--max-deletes", "0", "-q"])
        .stdout_has("more than max_deletes (0)")
        .run();
    env.cmd(&["apply", "delete.json", "--yes", "-q"])
        .status(3)
        .stderr("error: apply refused: 1 binding is deleted or replaced, more than max_deletes (0); review the plan, then run again with --force\n")
        .run();
    env.cmd(&["apply", "delete.json", "--yes", "--force", "-q"])
        .stdout_has("Apply: 1 done, 0 failed, 0 not run.")
        .run();
    // `--max-deletes` cannot loosen a saved plan.
    env.cmd(&["apply", "wide.json", "--yes", "--max-deletes", "9"])
        .status(1)
        .stderr_has("error: --max-deletes cannot be used with a saved plan: apply carries out the plan with the safety limits it was made and checked with")
        .run();
}

#[test]
fn an_empty_saved_plan_reads_nothing_and_changes_nothing() {
    let emu = Emu::start(SEED, &[]);
    let env = TestEnv::against(&emu);
    env.write(
        "svcbind.yaml",
        &DESIRED.replace("      - { cidr: 192.0.2.16/29, service: CDN }\n", ""),
    );
    env.cmd(&["plan", "-o", "plan.json", "-q"])
        .stdout_has("No changes.")
        .run();
    emu.reset_counts();
    env.cmd(&["apply", "plan.json"])
        .stdout_has("No changes.")
        .run();
    assert_eq!(emu.counts()["total"], 0);
}

#[test]
fn no_credential_reaches_the_saved_plan_or_any_output() {
    let emu = Emu::start(SEED, &[]);
    let env = TestEnv::against(&emu);
    env.write("svcbind.yaml", DESIRED);
    let mut seen = Vec::new();
    for format in ["text", "json", "markdown"] {
        let out = env
            .cmd(&["plan", "-o", "plan.json", "--format", format, "-vvv"])
            .stderr_any()
            .run();
        seen.push(out.stdout);
        seen.push(out.stderr);
        seen.push(std::fs::read_to_string(env.dir.path().join("plan.json")).unwrap());
    }
    // A refusal (stale), an error document, then a real apply.
    let added = bind_by_hand(&emu, PREFIX_ID, "192.0.2.64/27", CDN);
    for format in ["text", "json", "markdown"] {
        let out = env
            .cmd(&["apply", "plan.json", "--yes", "--format", format, "-vvv"])
            .status(3)
            .stderr_any()
            .run();
        seen.push(out.stdout);
        seen.push(out.stderr);
    }
    let out = env
        .cmd(&[
            "apply",
            "plan.json",
            "--account-id",
            "f00",
            "--format",
            "json",
        ])
        .status(1)
        .stderr_any()
        .run();
    seen.push(out.stdout);
    seen.push(out.stderr);
    unbind_by_hand(&emu, PREFIX_ID, &added);
    let out = env
        .cmd(&["apply", "plan.json", "--yes", "--format", "json", "-vvv"])
        .stderr_any()
        .run();
    seen.push(out.stdout);
    seen.push(out.stderr);
    for text in &seen {
        assert!(!text.contains(TOKEN), "the token leaked:\n{text}");
    }
    // The runs above did what they say (so the scan looked at real output).
    assert!(
        seen.iter()
            .any(|t| t.contains("\"kind\": \"apply_report\""))
    );
    assert!(seen.iter().any(|t| t.contains("was added")));
    assert!(seen.iter().any(|t| t.contains("\"done\": 1")));
}

#[test]
fn a_prefix_gone_since_the_plan_refuses_and_an_unreadable_one_fails() {
    let emu = Emu::example("live.yaml");
    let env = TestEnv::against(&emu);
    env.cmd(&[
        "plan",
        "-c",
        &example("bindings.yaml"),
        "-o",
        "plan.json",
        "-q",
    ])
    .run();
    // The API says the IPv6 prefix is not there any more.
    emu.fault(json!({
        "method": "GET",
        "path_contains": V6_PREFIX_ID,
        "action": {"type": "status", "status": 404, "code": 1000, "message": "Prefix not found"},
    }));
    let out = env
        .cmd(&["apply", "plan.json", "--yes", "--format", "json"])
        .status(3)
        .stderr_has(&format!(
            "  2001:db8:1000::/48 (prefix {V6_PREFIX_ID}):\n    the prefix no longer exists\n"
        ))
        .run();
    let report: Value = serde_json::from_str(&out.stdout).expect("one JSON document");
    assert_eq!(
        report["stale"],
        json!([{"id": V6_PREFIX_ID, "cidr": "2001:db8:1000::/48", "gone": true, "changes": []}])
    );
    // Any other failure to read is an error, not a verdict: exit 1, nothing written. (A
    // status no retry would change, so the read fails at once.)
    emu.fault(json!({
        "method": "GET",
        "path_contains": PREFIX_ID,
        "times": 10,
        "action": {"type": "status", "status": 400},
    }));
    let out = env
        .cmd(&["apply", "plan.json", "--yes", "--format", "json"])
        .status(1)
        .stderr_any()
        .run();
    assert!(
        out.stderr.starts_with(
            "error: cannot read the live bindings of 192.0.2.0/24 to check the plan against them: GET /accounts/"
        ),
        "{}",
        out.stderr
    );
    let doc: Value = serde_json::from_str(&out.stdout).expect("one JSON document");
    assert_eq!(doc["kind"], "error");
    assert_eq!(routes(&emu)[CREATE], Value::Null);
    assert_eq!(routes(&emu)[DELETE], Value::Null);
}
