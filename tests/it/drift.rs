//! `svcbind drift` through the binary, against `svcbind emulator`: every finding class and its
//! exit code, bindings not yet active, ignored ranges, unmanaged prefixes, `--report`, the
//! calls it makes, and every format.

use crate::{ACCOUNT, Emu, TestEnv, root};

/// An account with one of everything drift tells apart.
const SEED: &str = "version: 1
account_id: 023e105f4ecef8ad9ca31a8372d0c353
prefixes:
  - cidr: 192.0.2.0/24
    id: 2af39739cc4e3b5910c918468bb89828
    bindings:
      - { cidr: 192.0.2.0/24, service: Magic Transit, id: b01, state: active }
      - { cidr: 192.0.2.16/29, service: CDN, id: b02, state: active }
      - { cidr: 192.0.2.64/27, service: CDN, id: b03, state: active }
      - { cidr: 192.0.2.200/29, service: CDN, id: b04, state: active }
      - { cidr: 192.0.2.241/32, service: Spectrum, id: b05, state: active }
  - cidr: 2001:db8:1000::/48
    id: 27203fb4a75ab20477af870466c990cc
    bindings:
      - { cidr: 2001:db8:1000::/48, service: Magic Transit, id: b11, state: active }
      - { cidr: 2001:db8:1000:20::/64, service: Spectrum, id: b12, state: provisioning }
      - { cidr: 2001:db8:1000:30::/64, service: Spectrum, id: b13, state: magic_transit_route_missing }
  - cidr: 198.51.100.0/24
    id: ac49a052844a077e7982a0a1fe50652f
    bindings:
      - { cidr: 198.51.100.0/24, service: Spectrum, id: b21, state: active }
  - cidr: 203.0.113.0/24
    id: 5b2d7a1c9e8f4a3b6c0d1e2f3a4b5c6d
    bindings:
      - { cidr: 203.0.113.0/24, service: CDN, id: b31, state: active }
";

/// What the file wants of three of the four prefixes: against [`SEED`], 192.0.2.0/24 has a
/// missing, an unexpected and a mismatched binding and an ignored one; 2001:db8:1000::/48 has
/// two bindings not active (one not in the file, one with another service); 198.51.100.0/24 is
/// in sync; 203.0.113.0/24 is unmanaged.
const FILE: &str = "version: 1
account_id: 023e105f4ecef8ad9ca31a8372d0c353
prefixes:
  - cidr: 192.0.2.0/24
    ignore: [192.0.2.240/28]
    bindings:
      - { cidr: 192.0.2.0/24, service: Magic Transit }
      - { cidr: 192.0.2.16/29, service: CDN }
      - { cidr: 192.0.2.64/27, service: Spectrum }
      - { cidr: 192.0.2.128/28, service: CDN }
  - cidr: 2001:db8:1000::/48
    bindings:
      - { cidr: 2001:db8:1000::/48, service: Magic Transit }
      - { cidr: 2001:db8:1000:30::/64, service: CDN }
  - cidr: 198.51.100.0/24
    bindings:
      - { cidr: 198.51.100.0/24, service: Spectrum }
";

fn validate(doc: &serde_json::Value) {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("schema/drift.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let errors: Vec<String> = validator.iter_errors(doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn every_format_tells_the_same_drift() {
    let emu = Emu::start(SEED, &[]);
    let env = TestEnv::against(&emu);
    env.write("svcbind.yaml", FILE);

    let text = env.cmd(&["drift"]).status(2).run();
    insta::assert_snapshot!("drift_text", text.stdout);

    let markdown = env.cmd(&["drift", "--format", "markdown"]).status(2).run();
    assert!(markdown.stdout.starts_with("<!-- svcbind:drift -->\n"));
    insta::assert_snapshot!("drift_markdown", markdown.stdout);

    let json = env.cmd(&["drift", "--format", "json"]).status(2).run();
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    validate(&doc);
    assert_eq!(doc["kind"], "drift");
    let summary = &doc["summary"];
    assert_eq!(
        [
            &summary["missing"],
            &summary["unexpected"],
            &summary["service_mismatch"],
            &summary["not_active"],
            &summary["ignored"],
        ],
        [1, 1, 1, 2, 1]
    );
    assert_eq!(doc["unmanaged_prefixes"][0]["cidr"], "203.0.113.0/24");
    insta::assert_json_snapshot!("drift_json", doc, {
        ".svcbind_version" => "[version]",
    });
}

#[test]
fn drift_reads_what_plan_reads_and_writes_nothing() {
    let emu = Emu::start(SEED, &[]);
    let env = TestEnv::against(&emu);
    env.write("svcbind.yaml", FILE);
    env.cmd(&["drift"]).status(2).run();
    let counts = emu.counts();
    // Services, prefixes, and one list per managed prefix: P + 2.
    assert_eq!(counts["total"], 3 + 2, "{counts}");
    env.cmd(&["plan"]).run();
    assert_eq!(emu.counts()["total"], 2 * (3 + 2));
    // The account is as it was.
    assert_eq!(emu.bindings_of("192.0.2.0/24").len(), 5);
}

#[test]
fn with_every_id_pinned_no_listing_is_read_and_unmanaged_prefixes_are_not_looked_for() {
    let emu = Emu::start(SEED, &[]);
    let env = TestEnv::against(&emu);
    env.write(
        "svcbind.yaml",
        "version: 1
account_id: 023e105f4ecef8ad9ca31a8372d0c353
prefixes:
  - cidr: 198.51.100.0/24
    id: ac49a052844a077e7982a0a1fe50652f
    bindings:
      - { cidr: 198.51.100.0/24, service: Spectrum }
",
    );
    let out = env.cmd(&["drift", "--format", "json"]).run();
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["unmanaged_prefixes"], serde_json::Value::Null);
    assert_eq!(emu.counts()["total"], 1 + 1);
    env.cmd(&["drift"])
        .stdout_has("Unmanaged prefixes were not looked for")
        .stdout_has("No drift. The live bindings match the file (1 prefix).")
        .run();
}

/// A seed and a file of one prefix, the file with `extra` bindings after the prefix-wide one,
/// the seed with `live` ones.
fn one_prefix(live: &str, file: &str) -> (String, String) {
    let head = |more: &str| {
        format!(
            "version: 1
account_id: {ACCOUNT}
prefixes:
  - cidr: 192.0.2.0/24
    bindings:
      - {{ cidr: 192.0.2.0/24, service: Magic Transit }}
{more}"
        )
    };
    (head(live), head(file))
}

#[test]
fn each_finding_class_exits_two_and_in_sync_exits_zero() {
    let cases = [
        (
            "in sync",
            "      - { cidr: 192.0.2.16/29, service: CDN }\n",
            "      - { cidr: 192.0.2.16/29, service: CDN }\n",
            0,
            "",
        ),
        (
            "missing",
            "",
            "      - { cidr: 192.0.2.16/29, service: CDN }\n",
            2,
            "missing",
        ),
        (
            "unexpected",
            "      - { cidr: 192.0.2.16/29, service: CDN }\n",
            "",
            2,
            "unexpected",
        ),
        (
            "service_mismatch",
            "      - { cidr: 192.0.2.16/29, service: Spectrum }\n",
            "      - { cidr: 192.0.2.16/29, service: CDN }\n",
            2,
            "service_mismatch",
        ),
    ];
    for (name, live, file, status, kind) in cases {
        let (seed, desired) = one_prefix(live, file);
        let emu = Emu::start(&seed, &[]);
        let env = TestEnv::against(&emu);
        env.write("svcbind.yaml", &desired);
        let out = env.cmd(&["drift", "--format", "json"]).status(status).run();
        let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        validate(&doc);
        let findings = doc["prefixes"][0]["findings"].as_array().unwrap();
        if kind.is_empty() {
            assert!(findings.is_empty(), "{name}: {findings:?}");
            assert_eq!(doc["summary"]["has_drift"], false, "{name}");
        } else {
            assert_eq!(findings.len(), 1, "{name}: {findings:?}");
            assert_eq!(findings[0]["kind"], kind, "{name}");
            assert_eq!(findings[0]["cidr"], "192.0.2.16/29", "{name}");
            assert_eq!(doc["summary"][kind], 1, "{name}");
        }
        // The text and markdown formats exit the same way.
        env.cmd(&["drift"]).status(status).run();
        env.cmd(&["drift", "--format", "markdown"])
            .status(status)
            .run();
    }
}

#[test]
fn bindings_not_yet_active_never_count_as_drift() {
    // Just applied: every binding the apply created is still provisioning for an hour.
    let (seed, desired) = one_prefix(
        "",
        "      - { cidr: 192.0.2.16/29, service: CDN }\n      - { cidr: 192.0.2.64/27, service: Spectrum }\n",
    );
    let emu = Emu::start(&seed, &["--provisioning-delay", "1h"]);
    let env = TestEnv::against(&emu);
    env.write("svcbind.yaml", &desired);
    env.cmd(&["drift"]).status(2).run();
    env.cmd(&["apply", "--yes"]).stderr_any().run();
    let out = env.cmd(&["drift", "--format", "json"]).run();
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["summary"]["not_active"], 2);
    assert_eq!(doc["summary"]["has_drift"], false);
    assert_eq!(doc["prefixes"][0]["not_active"][0]["state"], "provisioning");

    // Not in the file, or bound to another service than the file's: still a note.
    let (seed, desired) = one_prefix(
        "      - { cidr: 192.0.2.16/29, service: Spectrum, state: provisioning }\n      - { cidr: 192.0.2.64/27, service: CDN, state: magic_transit_route_missing }\n",
        "      - { cidr: 192.0.2.16/29, service: CDN }\n",
    );
    let emu = Emu::start(&seed, &[]);
    let env = TestEnv::against(&emu);
    env.write("svcbind.yaml", &desired);
    env.cmd(&["drift"])
        .stdout_has("note: 192.0.2.16/29 (Spectrum) is provisioning, not active yet (the file has CDN); not counted as drift")
        .stdout_has("note: 192.0.2.64/27 (CDN) is magic_transit_route_missing, not active yet (not in the file); not counted as drift")
        .stdout_has("No drift.")
        .run();
}

#[test]
fn the_report_is_json_whatever_stdout_is() {
    let emu = Emu::start(SEED, &[]);
    let env = TestEnv::against(&emu);
    env.write("svcbind.yaml", FILE);
    let json = env.cmd(&["drift", "--format", "json"]).status(2).run();
    for format in ["text", "markdown", "json"] {
        let report = env.dir.path().join(format!("drift-{format}.json"));
        let report = report.to_str().unwrap();
        env.cmd(&["drift", "--format", format, "--report", report])
            .status(2)
            .run();
        let written = std::fs::read_to_string(report).unwrap();
        assert_eq!(written, json.stdout, "--report with --format {format}");
    }
    // An in-sync account writes its report too, and exits 0.
    let report = env.dir.path().join("in-sync.json");
    env.cmd(&[
        "drift",
        "--prefix",
        "198.51.100.0/24",
        "--report",
        report.to_str().unwrap(),
    ])
    .run();
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(doc["summary"]["in_sync_prefixes"], 1);
    assert_eq!(doc["prefixes"].as_array().unwrap().len(), 1);
}

#[test]
fn an_unwritable_report_is_an_error() {
    let emu = Emu::start(SEED, &[]);
    let env = TestEnv::against(&emu);
    env.write("svcbind.yaml", FILE);
    env.cmd(&["drift", "--report", "no/such/dir/report.json"])
        .status(1)
        .stdout("")
        .stderr_has("error: cannot write the drift report to no/such/dir/report.json")
        .run();
}

#[test]
fn the_readme_shows_real_output() {
    let args = [
        "drift",
        "-c",
        "examples/bindings.yaml",
        "--emulate",
        "examples/live.yaml",
    ];
    let out = crate::with_examples().cmd(&args).status(2).run();
    assert!(
        crate::readme_shows(&format!("svcbind {}", args.join(" ")), &out.stdout),
        "the README's drift example is not what drift prints:\n{}",
        out.stdout
    );
}

#[test]
fn a_failed_drift_still_writes_its_document_under_the_marker() {
    let emu = Emu::start(SEED, &[]);
    let env = TestEnv::against(&emu);
    env.write(
        "svcbind.yaml",
        "version: 1\nprefixes:\n  - cidr: 10.0.0.0/24\n    bindings: []\n",
    );
    let out = env
        .cmd(&["drift", "--format", "markdown", "--account-id", ACCOUNT])
        .status(1)
        .stderr_has("prefix 10.0.0.0/24 is not onboarded in the account")
        .run();
    assert!(
        out.stdout
            .starts_with("<!-- svcbind:drift -->\n### svcbind drift failed (exit 1)\n"),
        "{}",
        out.stdout
    );
}
