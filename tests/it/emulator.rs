//! `svcbind emulator` as any HTTP client sees it.

use crate::{ACCOUNT, Emu, TOKEN};

fn seed() -> String {
    std::fs::read_to_string(crate::root().join("examples/live.yaml")).unwrap()
}

#[test]
fn answers_with_the_envelope_and_checks_the_token() {
    let emu = Emu::start(&seed(), &[]);
    let path = format!("/client/v4/accounts/{ACCOUNT}/addressing/services");
    let auth = format!("Bearer {TOKEN}");
    let (status, body) = emu.http("GET", &path, &[("Authorization", &auth)], "");
    assert_eq!(status, 200, "{body}");
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["success"], true);
    assert_eq!(doc["result"].as_array().unwrap().len(), 3);

    let (status, body) = emu.http("GET", &path, &[("Authorization", "Bearer nope")], "");
    assert_eq!(status, 403);
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["success"], false);
    assert_eq!(doc["errors"][0]["code"], 10000);
    assert!(!body.contains(TOKEN));

    let (status, body) = emu.http("GET", &path, &[], "");
    assert_eq!(status, 400);
    assert!(body.contains("9106"), "{body}");
}

#[test]
fn create_answers_201_and_delete_the_envelope_only() {
    let emu = Emu::start(&seed(), &["--provisioning-delay", "1h"]);
    let bindings = format!(
        "/client/v4/accounts/{ACCOUNT}/addressing/prefixes/ac49a052844a077e7982a0a1fe50652f/bindings"
    );
    let auth = format!("Bearer {TOKEN}");
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    let (status, body) = emu.http(
        "POST",
        &bindings,
        &headers,
        r#"{"cidr": "198.51.100.8/29", "service_id": "a7c5b5e1c33d4ea0b2f5d4f6c1e0a9b3"}"#,
    );
    assert_eq!(status, 201, "{body}");
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["result"]["provisioning"]["state"], "provisioning");
    assert_eq!(doc["result"]["service_name"], "CDN");
    let id = doc["result"]["id"].as_str().unwrap().to_owned();

    // Magic Transit cannot be more specific: the API's rule, with its code.
    let (status, body) = emu.http(
        "POST",
        &bindings,
        &headers,
        r#"{"cidr": "198.51.100.16/29", "service_id": "f2f0ba6cd8a14c3e9ee9d6bd8b4b5f2a"}"#,
    );
    assert_eq!(status, 400);
    assert!(body.contains("1003"), "{body}");

    let (status, body) = emu.http("DELETE", &format!("{bindings}/{id}"), &headers, "");
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap(),
        serde_json::json!({"success": true, "errors": [], "messages": []})
    );
}
