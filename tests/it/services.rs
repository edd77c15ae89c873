//! `svcbind services` through the binary, against `svcbind emulator`: every format, and what a
//! failed listing says.

use crate::{ACCOUNT, Emu, TestEnv, root};

fn env(emu: &Emu) -> TestEnv {
    TestEnv::against(emu).env("CLOUDFLARE_ACCOUNT_ID", ACCOUNT)
}

#[test]
fn the_catalog_in_every_format() {
    let emu = Emu::example("live.yaml");
    let env = env(&emu);

    let text = env.cmd(&["services"]).run();
    insta::assert_snapshot!("services_text", text.stdout);

    let markdown = env.cmd(&["services", "--format", "markdown"]).run();
    insta::assert_snapshot!("services_markdown", markdown.stdout);

    let json = env.cmd(&["services", "--format", "json"]).run();
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("schema/services.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    insta::assert_json_snapshot!("services_json", doc, {
        ".svcbind_version" => "[version]",
    });
    // One call per run.
    assert_eq!(emu.counts()["total"], 3);
}

#[test]
fn the_account_comes_from_the_file_when_nothing_else_names_it() {
    let emu = Emu::example("live.yaml");
    let env = TestEnv::against(&emu);
    env.write(
        "svcbind.yaml",
        &format!("version: 1\naccount_id: {ACCOUNT}\nprefixes: []\n"),
    );
    let out = env.cmd(&["services", "--format", "json"]).run();
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(doc["account_id"], ACCOUNT);
}

#[test]
fn a_failed_listing_says_what_failed() {
    let emu = Emu::example("live.yaml");
    emu.fault(serde_json::json!({
        "method": "GET",
        "path_contains": "/addressing/services",
        // A status no retry would change, so the listing fails at once.
        "times": 10,
        "action": {"type": "status", "status": 400},
    }));
    let out = env(&emu)
        .cmd(&["services"])
        .status(1)
        .stdout("")
        .stderr_any()
        .run();
    assert!(
        out.stderr.starts_with(&format!(
            "error: cannot list the account's services: GET /accounts/{ACCOUNT}/addressing/services: HTTP 400"
        )),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("bindings"), "{}", out.stderr);
}
