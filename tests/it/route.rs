//! `svcbind route` through the binary: where addresses go in the live account (against
//! `svcbind emulator`) and in the file (`--desired`, offline), in every format.

use crate::{ACCOUNT, Emu, TestEnv, root};

fn example(name: &str) -> String {
    root()
        .join("examples")
        .join(name)
        .to_str()
        .unwrap()
        .to_owned()
}

fn env(emu: &Emu) -> TestEnv {
    TestEnv::against(emu).env("CLOUDFLARE_ACCOUNT_ID", ACCOUNT)
}

const ADDRESSES: [&str; 4] = [
    "192.0.2.70",
    "192.0.2.1",
    "2001:db8:1000:20::1",
    "198.51.100.255",
];

#[test]
fn each_address_gets_its_binding_and_chain_in_every_format() {
    let emu = Emu::example("live.yaml");
    let env = env(&emu);
    let mut args = vec!["route"];
    args.extend(ADDRESSES);

    let text = env.cmd(&args).run();
    insta::assert_snapshot!("route_text", text.stdout);
    // Services, prefixes, and only the three prefixes that hold an address asked.
    assert_eq!(emu.counts()["total"], 2 + 3);

    let markdown = env
        .cmd(&[args.as_slice(), &["--format", "markdown"]].concat())
        .run();
    assert!(markdown.stdout.starts_with("<!-- svcbind:route -->\n"));
    insta::assert_snapshot!("route_markdown", markdown.stdout);

    let json = env
        .cmd(&[args.as_slice(), &["--format", "json"]].concat())
        .run();
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("schema/route.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let first = &doc["routes"][0];
    assert_eq!(first["service"]["name"], "CDN");
    assert_eq!(first["binding"]["cidr"], "192.0.2.64/27");
    assert_eq!(
        first["binding"]["binding_id"],
        "a32ed85acfc7210b6ae7bbe30ea10134"
    );
    assert_eq!(first["chain"][0]["cidr"], "192.0.2.0/24");
    assert_eq!(doc["routes"][1]["service"]["name"], "Magic Transit");
    insta::assert_json_snapshot!("route_json", doc, {
        ".svcbind_version" => "[version]",
    });
}

#[test]
fn an_address_in_no_prefix_is_an_error_naming_the_prefixes() {
    let emu = Emu::example("live.yaml");
    env(&emu)
        .cmd(&["route", "192.0.2.1", "203.0.113.9", "2001:db8:ffff::1"])
        .status(1)
        .stdout("")
        .stderr(&format!(
            "error: addresses 203.0.113.9, 2001:db8:ffff::1 are in no onboarded prefix of account {ACCOUNT}; the prefixes are 192.0.2.0/24, 198.51.100.0/24, 2001:db8:1000::/48\n"
        ))
        .run();
    // Nothing per prefix was read.
    assert_eq!(emu.counts()["total"], 2);
    TestEnv::new()
        .cmd(&[
            "route",
            "--desired",
            "-c",
            &example("bindings.yaml"),
            "10.1.2.3",
        ])
        .status(1)
        .stdout("")
        .stderr_has("error: address 10.1.2.3 is in no prefix of ")
        .stderr_has("; the prefixes are 192.0.2.0/24, 2001:db8:1000::/48, 198.51.100.0/24\n")
        .run();
}

#[test]
fn the_file_answers_offline_with_desired() {
    let out = TestEnv::new()
        .cmd(&[
            "route",
            "--desired",
            "-c",
            &example("bindings.yaml"),
            "192.0.2.70",
            "2001:db8:1000:10::8",
        ])
        .run();
    let text = out
        .stdout
        .replace(&example("bindings.yaml"), "examples/bindings.yaml");
    assert_eq!(
        text,
        "examples/bindings.yaml (desired)

192.0.2.70 → Spectrum, by 192.0.2.64/27 in prefix 192.0.2.0/24
  192.0.2.0/24      Magic Transit
  └─ 192.0.2.64/27  Spectrum       ← wins

2001:db8:1000:10::8 → Spectrum, by 2001:db8:1000:10::/64 in prefix 2001:db8:1000::/48
  2001:db8:1000::/48        CDN
  └─ 2001:db8:1000:10::/64  Spectrum  ← wins
"
    );
}

#[test]
fn an_address_that_is_not_one_is_a_usage_error() {
    TestEnv::new()
        .cmd(&["route", "192.0.2.300"])
        .status(1)
        .stdout("")
        .stderr_has("invalid value '192.0.2.300' for '<IP>...'")
        .run();
    TestEnv::new()
        .cmd(&["route"])
        .status(1)
        .stdout("")
        .stderr_has("the following required arguments were not provided")
        .run();
}

#[test]
fn the_readme_shows_real_output() {
    let env = crate::with_examples();
    for args in [
        &[
            "route",
            "--emulate",
            "examples/live.yaml",
            "192.0.2.70",
            "2001:db8:1000:20::1",
        ][..],
        &[
            "route",
            "--emulate",
            "examples/live.yaml",
            "192.0.2.70",
            "--format",
            "json",
        ],
    ] {
        let out = env.cmd(args).run();
        let shown = out.stdout.replace(
            &format!("\"svcbind_version\": \"{}\"", env!("CARGO_PKG_VERSION")),
            "\"svcbind_version\": \"0.1.0\"",
        );
        assert!(
            crate::readme_shows(&format!("svcbind {}", args.join(" ")), &shown),
            "the README's route example is not what route prints:\n{}",
            out.stdout
        );
    }
}

#[test]
fn a_failed_route_still_writes_its_document() {
    let emu = Emu::example("live.yaml");
    let out = env(&emu)
        .cmd(&["route", "203.0.113.9", "--format", "json"])
        .status(1)
        .stderr_has("error: address 203.0.113.9 is in no onboarded prefix")
        .run();
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["kind"], "error");
    assert_eq!(doc["command"], "route");
    assert_eq!(doc["exit_code"], 1);
}
