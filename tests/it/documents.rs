//! The documents a bot reads: every command with `--format json` or `markdown` leaves one on
//! stdout, also when it fails (an error document), and `validate` writes its diagnostics as a
//! validation document. Each JSON document follows its schema in `schema/`.

use serde_json::Value;

use crate::{ACCOUNT, Emu, TestEnv, root};

/// The account of these tests: one prefix, bound prefix-wide to Magic Transit.
const SEED: &str = "version: 1
account_id: 023e105f4ecef8ad9ca31a8372d0c353
prefixes:
  - cidr: 192.0.2.0/24
    id: 2af39739cc4e3b5910c918468bb89828
    bindings:
      - { cidr: 192.0.2.0/24, service: Magic Transit, id: 0268691a34343f5f7404ff8abe0b5785, state: active }
";

/// A file with two errors (a typo in a key, host bits) and a warning (an undocumented service).
const INVALID: &str = "version: 1
account_id: 023e105f4ecef8ad9ca31a8372d0c353
prefixes:
  - cidr: 192.0.2.0/24
    bindings:
      - { cidr: 192.0.2.0/24, service: CDN }
      - { cidr: 192.0.2.1/29, service: Spectrum }
      - { cidr: 192.0.2.64/26, service: Workers }
  - cidr: 198.51.100.0/24
    bindngs: []
";

/// A valid file with one warning.
const VALID: &str = "version: 1
account_id: 023e105f4ecef8ad9ca31a8372d0c353
prefixes:
  - cidr: 192.0.2.0/24
    bindings:
      - { cidr: 192.0.2.0/24, service: Magic Transit }
      - { cidr: 192.0.2.16/29, service: CDN }
      - { cidr: 192.0.2.16/30, service: Spectrum, state: active }
";

/// Parses stdout as one JSON document and checks it against `schema/NAME`.
fn document(stdout: &str, schema: &str) -> Value {
    let doc: Value = serde_json::from_str(stdout).expect("one JSON document on stdout");
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("schema").join(schema)).expect("the schema"),
    )
    .expect("JSON schema");
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}\n{doc:#}");
    doc
}

#[test]
fn a_plan_of_an_invalid_file_writes_an_error_document() {
    let env = TestEnv::new();
    env.write("svcbind.yaml", INVALID);
    let out = env
        .cmd(&["plan", "--format", "json"])
        .status(1)
        .stderr_has("svcbind.yaml:10:5: error: unknown key `bindngs`")
        .stderr_has("error: svcbind.yaml is not valid (2 errors, 1 warning)\n")
        .run();
    let doc = document(&out.stdout, "error.schema.json");
    assert_eq!(doc["kind"], "error");
    assert_eq!(doc["exit_code"], 1);
    insta::assert_json_snapshot!("plan_error_json", doc, {
        ".svcbind_version" => "[version]",
    });

    let out = env
        .cmd(&["plan", "--format", "markdown"])
        .status(1)
        .stderr_any()
        .run();
    assert!(out.stdout.starts_with("<!-- svcbind:plan -->\n"));
    insta::assert_snapshot!("plan_error_markdown", out.stdout);
}

#[test]
fn an_api_failure_is_an_error_document_with_its_hint() {
    let emu = Emu::start(SEED, &[]);
    let env = TestEnv::new()
        .env("CLOUDFLARE_BASE_URL", &emu.base_url())
        .env("CLOUDFLARE_API_TOKEN", "wrong-token-value");
    env.write("svcbind.yaml", VALID);
    let out = env
        .cmd(&["plan", "--format", "json"])
        .status(1)
        .stderr_any()
        .run();
    let doc = document(&out.stdout, "error.schema.json");
    let message = doc["message"].as_str().unwrap();
    assert!(
        message.starts_with("cannot read the live state: GET /accounts/")
            && message.contains("HTTP 403"),
        "{message}"
    );
    assert_eq!(
        doc["hint"],
        "the API refused the credentials: check CLOUDFLARE_API_TOKEN; plan needs the \"IP Prefixes: Read\" permission, apply \"IP Prefixes: Edit\""
    );
    assert!(!out.stdout.contains("wrong-token-value"));

    // `services` too, under its own marker in markdown.
    let out = env
        .cmd(&["services", "--format", "markdown"])
        .status(1)
        .stderr_any()
        .run();
    assert!(
        out.stdout.starts_with(
            "<!-- svcbind:services -->\n### svcbind services failed (exit 1)\n\n> [!CAUTION]\n> cannot list the account's services: GET /accounts/"
        ),
        "{}",
        out.stdout
    );
}

#[test]
fn a_refused_apply_writes_a_document_with_exit_code_3() {
    let emu = Emu::start(SEED, &[]);
    let env = TestEnv::against(&emu);
    env.write("svcbind.yaml", &VALID.replace(", state: active", ""));
    env.cmd(&["plan", "-o", "plan.json", "-q"]).run();
    std::fs::remove_file(env.dir.path().join("svcbind.yaml")).unwrap();
    let other = "0000000000000000000000000000000f";
    let out = env
        .cmd(&[
            "apply",
            "plan.json",
            "--account-id",
            other,
            "--format",
            "json",
        ])
        .status(3)
        .stderr_any()
        .run();
    let doc = document(&out.stdout, "error.schema.json");
    assert_eq!(doc["command"], "apply");
    assert_eq!(doc["exit_code"], 3);
    assert_eq!(
        doc["message"],
        format!(
            "apply refused: plan.json was made for account {ACCOUNT}, but --account-id / CLOUDFLARE_ACCOUNT_ID is {other}; apply a plan made for {other}, or point svcbind at account {ACCOUNT}"
        )
    );
    let out = env
        .cmd(&[
            "apply",
            "plan.json",
            "--account-id",
            other,
            "--format",
            "markdown",
        ])
        .status(3)
        .stderr_any()
        .run();
    insta::assert_snapshot!("apply_refused_markdown", out.stdout);

    // A stale plan: the apply report, with the changes, under the apply marker.
    let auth = format!("Bearer {}", crate::TOKEN);
    let (status, body) = emu.http(
        "POST",
        &format!(
            "/client/v4/accounts/{ACCOUNT}/addressing/prefixes/2af39739cc4e3b5910c918468bb89828/bindings"
        ),
        &[("Authorization", auth.as_str()), ("Content-Type", "application/json")],
        r#"{"cidr": "192.0.2.128/25", "service_id": "a7c5b5e1c33d4ea0b2f5d4f6c1e0a9b3"}"#,
    );
    assert_eq!(status, 201, "{body}");
    let out = env
        .cmd(&["apply", "plan.json", "--format", "markdown", "--yes"])
        .status(3)
        .stderr_any()
        .run();
    insta::assert_snapshot!("apply_stale_markdown", out.stdout);
}

#[test]
fn a_usage_error_writes_a_document_when_the_format_is_known() {
    let env = TestEnv::new();
    let out = env
        .cmd(&["plan", "--format", "json", "--nope"])
        .status(1)
        .stderr_has("error: unexpected argument '--nope' found")
        .run();
    let doc = document(&out.stdout, "error.schema.json");
    insta::assert_json_snapshot!("usage_error_json", doc, {
        ".svcbind_version" => "[version]",
    });
    // The flag's tip becomes the hint; `--format=X` and SVCBIND_FORMAT count too.
    let out = env
        .cmd(&["validate", "--api-url", "x", "--format=markdown"])
        .status(1)
        .stderr_any()
        .run();
    insta::assert_snapshot!("usage_error_markdown", out.stdout);
    let out = TestEnv::new()
        .env("SVCBIND_FORMAT", "json")
        .cmd(&["apply", "--yes", "--concurrency", "0"])
        .status(1)
        .stderr_any()
        .run();
    let doc = document(&out.stdout, "error.schema.json");
    assert_eq!(doc["command"], "apply");
    // Not known: no document, and nothing else on stdout.
    for args in [
        &["plan", "--format", "yaml"][..],
        &["plan", "--nope"],
        &["emulator", "--format", "json"],
        &["--format", "json", "plan"],
    ] {
        env.cmd(args).status(1).stdout("").stderr_any().run();
    }
    // Help is no error.
    env.cmd(&["plan", "--format", "json", "--help"])
        .stdout_has("Usage: svcbind plan")
        .run();
}

#[test]
fn a_bad_setting_writes_an_error_document() {
    let out = TestEnv::new()
        .cmd(&["plan", "--format", "json", "--prefix", "192.0.2.1/24"])
        .status(1)
        .stderr("error: --prefix `192.0.2.1/24` has host bits set; did you mean `192.0.2.0/24`?\n")
        .run();
    let doc = document(&out.stdout, "error.schema.json");
    assert_eq!(
        doc["message"],
        "--prefix `192.0.2.1/24` has host bits set; did you mean `192.0.2.0/24`?"
    );
}

#[test]
fn validate_writes_a_validation_document_valid_or_not() {
    let env = TestEnv::new();
    env.write("svcbind.yaml", VALID);
    env.write("invalid.yaml", INVALID);
    // Valid, with a warning: exit 0; the diagnostics still go to stderr for the log.
    let out = env
        .cmd(&["validate", "--format", "json"])
        .stderr_has(
            "svcbind.yaml:8:51: warning: binding key `state` has no effect in a desired-state file",
        )
        .run();
    let doc = document(&out.stdout, "validation.schema.json");
    insta::assert_json_snapshot!("validation_valid_json", doc, {
        ".svcbind_version" => "[version]",
    });
    // Invalid: exit 1, and the document says why.
    let out = env
        .cmd(&["validate", "-c", "invalid.yaml", "--format", "json"])
        .status(1)
        .stderr_has("error: invalid.yaml is not valid (2 errors, 1 warning)\n")
        .run();
    let doc = document(&out.stdout, "validation.schema.json");
    assert_eq!(doc["valid"], false);
    insta::assert_json_snapshot!("validation_invalid_json", doc, {
        ".svcbind_version" => "[version]",
    });
    let out = env
        .cmd(&["validate", "-c", "invalid.yaml", "--format", "markdown"])
        .status(1)
        .stderr_any()
        .run();
    insta::assert_snapshot!("validation_invalid_markdown", out.stdout);
    let out = env
        .cmd(&["validate", "--format", "markdown"])
        .stderr_any()
        .run();
    insta::assert_snapshot!("validation_valid_markdown", out.stdout);
    // Text is as it always was.
    env.cmd(&["validate", "--format", "text"])
        .stdout("ok: 1 prefix, 3 bindings (1 warning)\n")
        .stderr_any()
        .run();
    // A file that cannot be read is an error, with its document.
    let out = env
        .cmd(&["validate", "-c", "missing.yaml", "--format", "json"])
        .status(1)
        .stderr_has("error: cannot read the desired-state file `missing.yaml`")
        .run();
    let doc = document(&out.stdout, "error.schema.json");
    assert_eq!(doc["command"], "validate");
}
