//! `svcbind show` through the binary: the live account against `svcbind emulator`, and the
//! file offline with `--desired`, in every format.

use crate::{Emu, TestEnv, root};

fn example(name: &str) -> String {
    root()
        .join("examples")
        .join(name)
        .to_str()
        .unwrap()
        .to_owned()
}

/// A prefix nested three deep, and an empty one.
const NESTED: &str = "version: 1
account_id: 023e105f4ecef8ad9ca31a8372d0c353
prefixes:
  - cidr: 192.0.2.0/24
    id: 2af39739cc4e3b5910c918468bb89828
    bindings:
      - { cidr: 192.0.2.0/24, service: Magic Transit, id: b01 }
      - { cidr: 192.0.2.0/25, service: CDN, id: b02 }
      - { cidr: 192.0.2.8/29, service: Spectrum, id: b03 }
      - { cidr: 192.0.2.64/26, service: Spectrum, id: b04, state: provisioning }
      - { cidr: 192.0.2.192/27, service: CDN, id: b05 }
  - cidr: 2001:db8:2000::/48
    id: 27203fb4a75ab20477af870466c990cc
    bindings: []
";

fn validate(doc: &serde_json::Value) {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("schema/show.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let errors: Vec<String> = validator.iter_errors(doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn the_live_account_as_trees_and_tables_in_every_format() {
    let emu = Emu::start(NESTED, &[]);
    let env = TestEnv::against(&emu).env("CLOUDFLARE_ACCOUNT_ID", crate::ACCOUNT);

    let text = env.cmd(&["show"]).run();
    insta::assert_snapshot!("show_text", text.stdout);
    // Services, prefixes, and one list per prefix.
    assert_eq!(emu.counts()["total"], 2 + 2);

    let markdown = env.cmd(&["show", "--format", "markdown"]).run();
    assert!(markdown.stdout.starts_with("<!-- svcbind:show -->\n"));
    insta::assert_snapshot!("show_markdown", markdown.stdout);

    let json = env.cmd(&["show", "--format", "json"]).run();
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    validate(&doc);
    assert_eq!(doc["source"], "live");
    let bindings = &doc["prefixes"][0]["bindings"];
    assert_eq!(bindings[2]["cidr"], "192.0.2.8/29");
    assert_eq!(bindings[2]["depth"], 2);
    assert_eq!(bindings[2]["parent"], 1);
    assert_eq!(doc["prefixes"][1]["bindings"], serde_json::json!([]));
    assert_eq!(
        doc["prefixes"][1]["table"][0]["service"],
        serde_json::Value::Null
    );
    insta::assert_json_snapshot!("show_json", doc, {
        ".svcbind_version" => "[version]",
    });
}

#[test]
fn the_prefix_filter_reads_only_what_it_names() {
    let emu = Emu::start(NESTED, &[]);
    let env = TestEnv::against(&emu).env("CLOUDFLARE_ACCOUNT_ID", crate::ACCOUNT);
    let out = env
        .cmd(&["show", "--prefix", "27203fb4a75ab20477af870466c990cc"])
        .stdout_has("2001:db8:2000::/48 (prefix 27203fb4a75ab20477af870466c990cc, 2^80 addresses)\n  no bindings: no address of the prefix goes to a service\n")
        .run();
    assert!(!out.stdout.contains("192.0.2.0/24"));
    assert_eq!(emu.counts()["total"], 2 + 1);
    env.cmd(&["show", "--prefix", "10.0.0.0/8"])
        .status(1)
        .stdout("")
        .stderr("error: --prefix 10.0.0.0/8 matches no prefix of the account; use the CIDR or the id of one of its prefixes: 192.0.2.0/24, 2001:db8:2000::/48\n")
        .run();
}

#[test]
fn the_file_offline_with_desired() {
    // No account, no token: --desired reads the file alone.
    let env = TestEnv::new();
    let out = env
        .cmd(&["show", "--desired", "-c", &example("bindings.yaml")])
        .run();
    let text = out
        .stdout
        .replace(&example("bindings.yaml"), "examples/bindings.yaml");
    insta::assert_snapshot!("show_desired_text", text);
    let json = env
        .cmd(&[
            "show",
            "--desired",
            "-c",
            &example("bindings.yaml"),
            "--prefix",
            "2001:db8:1000::/48",
            "--format",
            "json",
        ])
        .run();
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    validate(&doc);
    assert_eq!(doc["source"], "desired");
    assert_eq!(doc["prefixes"].as_array().unwrap().len(), 1);
    assert_eq!(
        doc["prefixes"][0]["bindings"][1]["service"],
        serde_json::json!({"name": "Spectrum", "id": null})
    );
    env.cmd(&[
        "show",
        "--desired",
        "-c",
        &example("bindings.yaml"),
        "--prefix",
        "10.0.0.0/8",
    ])
    .status(1)
    .stdout("")
    .stderr_has("error: --prefix 10.0.0.0/8 matches no prefix in ")
    .stderr_has("bindings.yaml; use the CIDR or the id of one of its prefixes: 192.0.2.0/24, 2001:db8:1000::/48, 198.51.100.0/24")
    .run();
}

#[test]
fn the_readme_shows_real_output() {
    let args = [
        "show",
        "--emulate",
        "examples/live.yaml",
        "--prefix",
        "192.0.2.0/24",
    ];
    let out = crate::with_examples().cmd(&args).run();
    assert!(
        crate::readme_shows(&format!("svcbind {}", args.join(" ")), &out.stdout),
        "the README's show example is not what show prints:\n{}",
        out.stdout
    );
}
