//! A more-specific binding of its cover's service, end to end: the HTTP emulator refuses to
//! create one, and `plan` / `apply` order the steps so that no create meets such a cover.

use serde_json::json;

use crate::{Emu, TOKEN, TestEnv};

const ACCOUNT: &str = "023e105f4ecef8ad9ca31a8372d0c353";
const PREFIX: &str = "2af39739cc4e3b5910c918468bb89828";

/// 192.0.2.0/24 on Magic Transit with a CDN /26 inside (and a CDN /28 inside that, nested
/// under its own service as a live account may be).
const SEED: &str = "version: 1
account_id: 023e105f4ecef8ad9ca31a8372d0c353
prefixes:
  - cidr: 192.0.2.0/24
    id: 2af39739cc4e3b5910c918468bb89828
    bindings:
      - { cidr: 192.0.2.0/24, service: Magic Transit, id: 0268691a34343f5f7404ff8abe0b5785, state: active }
      - { cidr: 192.0.2.0/26, service: CDN, id: 1268691a34343f5f7404ff8abe0b5785, state: active }
      - { cidr: 192.0.2.48/28, service: CDN, id: 2268691a34343f5f7404ff8abe0b5785, state: active }
";

#[test]
fn the_emulator_refuses_a_binding_of_its_covers_service() {
    let emu = Emu::start(SEED, &[]);
    let auth = format!("Bearer {TOKEN}");
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    let base = format!("/client/v4/accounts/{ACCOUNT}/addressing");
    let (_, services) = emu.http("GET", &format!("{base}/services"), &headers, "");
    let services: serde_json::Value = serde_json::from_str(&services).unwrap();
    let cdn = services["result"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "CDN")
        .unwrap()["id"]
        .clone();
    let (status, body) = emu.http(
        "POST",
        &format!("{base}/prefixes/{PREFIX}/bindings"),
        &headers,
        &json!({"cidr": "192.0.2.0/28", "service_id": cdn}).to_string(),
    );
    assert_eq!(status, 400, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["errors"][0]["code"], 1003, "{body}");
    assert_eq!(
        body["errors"][0]["source"]["pointer"], "/service_id",
        "{body}"
    );
    assert_eq!(
        body["errors"][0]["message"],
        "192.0.2.0/28 cannot have the service of 192.0.2.0/26, the binding that covers it: a more-specific binding must send its addresses to another service than its cover"
    );
    assert_eq!(emu.bindings_of("192.0.2.0/24").len(), 3);
}

#[test]
fn apply_deletes_a_cover_of_the_creates_service_before_the_create() {
    let emu = Emu::start(SEED, &[]);
    let env = TestEnv::against(&emu);
    // The /26 goes, a CDN /28 comes under where it was; the nested /28 goes too.
    env.write(
        "svcbind.yaml",
        "version: 1
account_id: 023e105f4ecef8ad9ca31a8372d0c353
prefixes:
  - cidr: 192.0.2.0/24
    bindings:
      - { cidr: 192.0.2.0/24, service: Magic Transit }
      - { cidr: 192.0.2.0/28, service: CDN }
",
    );
    let out = env
        .cmd(&["plan"])
        .stdout_has("the live binding 192.0.2.48/28 (CDN) breaks the API's own rules: it has the service of the binding that covers it; it is deleted before any other step, which moves none of its addresses")
        .run();
    let steps: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.trim_start().starts_with(['+', '-', '±']))
        .collect();
    assert_eq!(steps.len(), 3, "{}", out.stdout);
    assert!(steps[0].contains("192.0.2.48/28"), "{}", out.stdout);
    assert!(steps[1].contains("192.0.2.0/26"), "{}", out.stdout);
    assert!(steps[2].contains("192.0.2.0/28"), "{}", out.stdout);
    env.cmd(&["apply", "--yes"])
        .stdout_has("Apply: 3 done, 0 failed, 0 not run.")
        .stderr_any()
        .run();
    assert_eq!(
        emu.bindings_of("192.0.2.0/24"),
        [
            ("192.0.2.0/24".into(), "Magic Transit".into()),
            ("192.0.2.0/28".into(), "CDN".into()),
        ]
    );
    env.cmd(&["plan", "--detailed-exitcode"])
        .stdout_has("No changes.")
        .run();
}
