//! `svcbind plan` through the binary: in process (`--emulate`) and against `svcbind emulator`.

use crate::{ACCOUNT, Emu, TestEnv, root};

fn example(name: &str) -> String {
    root()
        .join("examples")
        .join(name)
        .to_str()
        .unwrap()
        .to_owned()
}

/// The README's quick start, with extra flags; it must exit `status` with an empty stderr.
fn quick_start(extra: &[&str], status: i32) -> crate::Output {
    let (bindings, live) = (example("bindings.yaml"), example("live.yaml"));
    let mut args = vec!["plan", "-c", &bindings, "--emulate", &live];
    args.extend_from_slice(extra);
    TestEnv::new().cmd(&args).status(status).run()
}

#[test]
fn the_quick_start_shows_creates_a_replace_and_deletes() {
    let out = quick_start(&[], 0);
    insta::assert_snapshot!("quick_start_text", out.stdout);
    assert!(
        out.stdout
            .contains("Plan: 2 to create, 1 to replace, 2 to delete; 1 prefix unchanged.")
    );
}

#[test]
fn over_http_the_plan_is_the_same_and_reads_p_plus_two_times() {
    let emu = Emu::example("live.yaml");
    let env = TestEnv::against(&emu);
    env.cmd(&["plan", "-c", &example("bindings.yaml")])
        .stdout(&quick_start(&[], 0).stdout)
        .run();
    let counts = emu.counts();
    // Three prefixes: services + prefixes + one list per prefix; nothing written.
    assert_eq!(counts["total"], 5, "{counts}");
    let routes = &counts["routes"];
    assert_eq!(routes["GET /accounts/{account_id}/addressing/services"], 1);
    assert_eq!(routes["GET /accounts/{account_id}/addressing/prefixes"], 1);
    assert_eq!(
        routes["GET /accounts/{account_id}/addressing/prefixes/{prefix_id}/bindings"],
        3
    );
}

#[test]
fn pinned_prefix_ids_save_the_prefix_listing() {
    let emu = Emu::example("live.yaml");
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
    env.cmd(&["plan", "--detailed-exitcode"])
        .stdout_has("No changes.")
        .run();
    assert_eq!(emu.counts()["total"], 2);
}

#[test]
fn detailed_exitcode_is_two_with_changes_and_zero_without() {
    quick_start(&["--detailed-exitcode"], 2);
    // The desired file seeds an account that already matches it.
    TestEnv::new()
        .cmd(&[
            "plan",
            "-c",
            &example("bindings.yaml"),
            "--emulate",
            &example("bindings.yaml"),
            "--detailed-exitcode",
        ])
        .stdout_has("\nNo changes. The live bindings match the file (3 prefixes).\n")
        .run();
}

#[test]
fn markdown_is_ready_for_a_pull_request_comment() {
    let out = quick_start(&["--format", "markdown"], 0);
    assert!(out.stdout.starts_with("<!-- svcbind:plan -->\n"));
    insta::assert_snapshot!("quick_start_markdown", out.stdout);
}

#[test]
fn json_follows_its_schema() {
    let out = quick_start(&["--format", "json"], 0);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("schema/plan.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(doc["format_version"], 1);
    assert_eq!(doc["summary"]["steps"], 6);
    insta::assert_json_snapshot!("quick_start_json", doc, {
        ".svcbind_version" => "[version]",
        ".checksum" => "[checksum over the version too]",
    });
}

#[test]
fn a_bad_token_is_a_clear_authentication_error() {
    let emu = Emu::example("live.yaml");
    let env = TestEnv::new()
        .env("CLOUDFLARE_BASE_URL", &emu.base_url())
        .env("CLOUDFLARE_API_TOKEN", "wrong-token-value");
    let out = env
        .cmd(&["plan", "-c", &example("bindings.yaml")])
        .status(1)
        .stdout("")
        .stderr_has("HTTP 403")
        .stderr_has("Authentication error (10000)")
        .stderr_has("= hint: the API refused the credentials: check CLOUDFLARE_API_TOKEN")
        .run();
    assert!(!out.stderr.contains("wrong-token-value"));
}

#[test]
fn no_credentials_say_what_to_set() {
    TestEnv::new()
        .cmd(&["plan", "-c", &example("bindings.yaml")])
        .status(1)
        .stdout("")
        .stderr_has("CLOUDFLARE_API_TOKEN")
        .stderr_has("--emulate")
        .run();
}

#[test]
fn an_unknown_service_lists_the_accounts_services_and_the_closest() {
    let emu = Emu::example("live.yaml");
    let env = TestEnv::against(&emu);
    env.write(
        "svcbind.yaml",
        "version: 1
account_id: 023e105f4ecef8ad9ca31a8372d0c353
prefixes:
  - cidr: 192.0.2.0/24
    bindings:
      - { cidr: 192.0.2.0/24, service: Magic Transit }
      - { cidr: 192.0.2.16/29, service: Spectrun }
",
    );
    let out = env
        .cmd(&["plan"])
        .status(1)
        .stdout("")
        .stderr_has("= hint: did you mean `Spectrum`?")
        .run();
    assert!(
        out.stderr.starts_with(
            "svcbind.yaml:7:41: error: unknown service `Spectrun`; the account's services are `CDN`, `Magic Transit`, `Spectrum`\n"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .ends_with("error: svcbind.yaml does not match the account (1 error)\n"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_account_id_of_flag_and_file_must_agree() {
    let out = TestEnv::new()
        .env("CLOUDFLARE_ACCOUNT_ID", "0000000000000000000000000000000a")
        .cmd(&[
            "plan",
            "-c",
            &example("bindings.yaml"),
            "--emulate",
            &example("live.yaml"),
        ])
        .status(1)
        .stdout("")
        .stderr_has(&format!("says {ACCOUNT}"))
        .run();
    assert!(
        out.stderr.starts_with("error: account id mismatch: --account-id / CLOUDFLARE_ACCOUNT_ID is 0000000000000000000000000000000a but "),
        "{}",
        out.stderr
    );
}

#[test]
fn a_prefix_not_in_the_account_is_named() {
    let emu = Emu::example("live.yaml");
    let env = TestEnv::against(&emu);
    env.write(
        "svcbind.yaml",
        "version: 1
account_id: 023e105f4ecef8ad9ca31a8372d0c353
prefixes:
  - cidr: 203.0.113.0/24
    bindings: []
",
    );
    let out = env
        .cmd(&["plan"])
        .status(1)
        .stdout("")
        .stderr_has(
            "= hint: the account's prefixes: 192.0.2.0/24, 2001:db8:1000::/48, 198.51.100.0/24",
        )
        .run();
    assert!(
        out.stderr.starts_with(
            "svcbind.yaml:4:11: error: prefix 203.0.113.0/24 is not onboarded in the account\n"
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn the_prefix_filter_limits_the_plan() {
    let out = quick_start(&["--prefix", "2001:db8:1000::/48"], 0);
    assert!(out.stdout.contains("2001:db8:1000::/48"));
    assert!(!out.stdout.contains("192.0.2.0/24"));
    assert!(
        out.stdout
            .contains("Plan: 1 to create, 0 to replace, 1 to delete; 0 prefixes unchanged.")
    );
}

#[test]
fn a_prefix_wide_change_is_shown_step_by_step_with_a_warning() {
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
    let out = env.cmd(&["plan"]).run();
    insta::assert_snapshot!("prefix_wide_replace_text", out.stdout);
}

#[test]
fn services_lists_the_catalog() {
    let emu = Emu::example("live.yaml");
    let env = TestEnv::against(&emu).env("CLOUDFLARE_ACCOUNT_ID", ACCOUNT);
    env.cmd(&["services"])
        .stdout(
            "Account 023e105f4ecef8ad9ca31a8372d0c353\n\n\
             CDN            a7c5b5e1c33d4ea0b2f5d4f6c1e0a9b3\n\
             Magic Transit  f2f0ba6cd8a14c3e9ee9d6bd8b4b5f2a\n\
             Spectrum       5c3d1e2f4a6b4c8d9e0f1a2b3c4d5e6f\n",
        )
        .run();
    assert_eq!(emu.counts()["total"], 1);
}
