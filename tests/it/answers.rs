//! Odd answers, through the binary against `svcbind emulator` over HTTP: a write the API
//! accepted whose answer cannot be read (`malformed_after_processing`: the emulator did the
//! write and answered an HTML page with a success status), 408 answers, and routes the server
//! does not know (a base URL without `/client/v4`, a proxy's 404 page). Each test asserts what
//! svcbind said, the emulator's request counts and its final state.

use serde_json::{Value, json};

use crate::faults::{
    CREATE, CREATE_BINDING, DELETE_BINDING, LIST_BINDINGS, REPLACE, SEED, SERVICES, count, fault,
    owned, setup,
};
use crate::{ACCOUNT, Emu, TestEnv};

#[test]
fn a_create_accepted_with_an_unreadable_answer_is_read_back_and_adopted() {
    let (emu, env) = setup(CREATE);
    fault(
        &emu,
        "POST",
        "/bindings",
        json!({"type": "malformed_after_processing"}),
    );
    let out = env
        .cmd(&["apply", "--yes", "--format", "json"])
        .stdout_has("\"read_back\": true")
        .stderr_has("/bindings: HTTP 201: the API accepted the write, but its answer cannot be read: HTTP 201 with a body that is not JSON: ")
        .stderr_has("whether it happened is unknown: the prefix's bindings are read back in ")
        .stderr_has("[1/1] 192.0.2.0/24: created 192.0.2.32/28 → CDN (answer lost or unreadable; confirmed by reading the prefix back)")
        .run();
    let report: Value = serde_json::from_str(&out.stdout).expect("the JSON report");
    assert_eq!(report["summary"]["done"], 1);
    assert_eq!(report["summary"]["failed"], 0);
    // One create (never a second), one read of the plan, one read-back.
    assert_eq!(count(&emu, CREATE_BINDING), 1);
    assert_eq!(count(&emu, LIST_BINDINGS), 2);
    assert_eq!(
        emu.bindings_of("192.0.2.0/24"),
        owned(&[
            ("192.0.2.0/24", "Magic Transit"),
            ("192.0.2.16/29", "CDN"),
            ("192.0.2.32/28", "CDN")
        ])
    );
    env.cmd(&["plan", "--detailed-exitcode"]).run();
}

#[test]
fn a_delete_accepted_with_an_unreadable_answer_counts_as_done_and_its_replace_finishes() {
    let (emu, env) = setup(REPLACE);
    fault(
        &emu,
        "DELETE",
        "/bindings/",
        json!({"type": "malformed_after_processing", "status": 204}),
    );
    env.cmd(&["apply", "--yes"])
        .stdout_has("Apply: 2 done, 0 failed, 0 not run.")
        .stderr_has("HTTP 204: the API accepted the write, but its answer cannot be read")
        .stderr_has("[1/2] 192.0.2.0/24: deleted 192.0.2.16/29 (CDN, answer lost or unreadable; confirmed by reading the prefix back)")
        .stderr_has("[2/2] 192.0.2.0/24: created 192.0.2.16/29 → Spectrum (")
        .run();
    assert_eq!(count(&emu, DELETE_BINDING), 1);
    assert_eq!(count(&emu, CREATE_BINDING), 1);
    assert_eq!(
        emu.bindings_of("192.0.2.0/24"),
        owned(&[
            ("192.0.2.0/24", "Magic Transit"),
            ("192.0.2.16/29", "Spectrum")
        ])
    );
}

#[test]
fn a_408_on_a_read_is_retried() {
    let (emu, env) = setup(REPLACE);
    fault(
        &emu,
        "GET",
        "/bindings",
        json!({"type": "status", "status": 408}),
    );
    env.cmd(&["plan", "--detailed-exitcode"])
        .status(2)
        .stdout_has("± replace 192.0.2.16/29  CDN → Spectrum")
        .stderr_has("/bindings: HTTP 408: injected fault: HTTP 408 Request Timeout (9000); trying again in ")
        .run();
    assert_eq!(count(&emu, LIST_BINDINGS), 2);
}

#[test]
fn a_create_answered_408_is_read_back_before_it_is_sent_again() {
    let (emu, env) = setup(CREATE);
    // The server gave up before processing: the read-back finds nothing, so it goes again.
    fault(
        &emu,
        "POST",
        "/bindings",
        json!({"type": "status", "status": 408}),
    );
    env.cmd(&["apply", "--yes"])
        .stdout_has("Apply: 1 done, 0 failed, 0 not run.")
        .stderr_has("whether it happened is unknown: the prefix's bindings are read back in ")
        .stderr_has("/bindings: it did not happen; sending it again (attempt 2 of 4)")
        .stderr_any()
        .run();
    assert_eq!(count(&emu, CREATE_BINDING), 2);
    assert_eq!(count(&emu, LIST_BINDINGS), 2);
    assert_eq!(emu.bindings_of("192.0.2.0/24").len(), 3);
}

#[test]
fn a_base_url_without_client_v4_gets_a_hint_naming_it() {
    let emu = Emu::start(SEED, &[]);
    let host = emu.base_url().trim_end_matches("/client/v4").to_owned();
    let env = TestEnv::new()
        .env("CLOUDFLARE_BASE_URL", &host)
        .env("CLOUDFLARE_API_TOKEN", crate::TOKEN)
        .env("CLOUDFLARE_ACCOUNT_ID", ACCOUNT);
    env.cmd(&["services"])
        .status(1)
        .stdout("")
        .stderr(&format!(
            "error: cannot list the account's services: GET /accounts/{ACCOUNT}/addressing/services: HTTP 404: No route for that URI (7000)
  = hint: the server knows no such route: check the base URL (this run used {host}); it usually ends in /client/v4, as https://api.cloudflare.com/client/v4 does (--api-url or CLOUDFLARE_BASE_URL)
"
        ))
        .run();
    let out = env
        .cmd(&["services", "--format", "json"])
        .status(1)
        .stderr_any()
        .run();
    let doc: Value = serde_json::from_str(&out.stdout).expect("the error document");
    assert!(
        doc["hint"]
            .as_str()
            .is_some_and(|h| h.contains(&format!("(this run used {host})"))),
        "{doc}"
    );
    assert_eq!(count(&emu, SERVICES), 0);
}

#[test]
fn a_proxys_404_page_gets_the_same_hint() {
    let (emu, env) = setup(REPLACE);
    fault(
        &emu,
        "GET",
        "/services",
        json!({"type": "malformed", "status": 404}),
    );
    env.cmd(&["plan"])
        .status(1)
        .stdout("")
        .stderr_has("HTTP 404 with a body that is not JSON: ")
        .stderr_has(&format!(
            "  = hint: the server knows no such route: check the base URL (this run used {}); it usually ends in /client/v4",
            emu.base_url()
        ))
        .run();
}
