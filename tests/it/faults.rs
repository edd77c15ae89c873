//! The network misbehaving, through the binary against `svcbind emulator` over HTTP: answers
//! that fail (5xx, 429), answers lost after the write happened (`drop_after_processing`: the
//! emulator did the write and closed the connection without answering), and answers too large
//! to read. Each test asserts what svcbind said, the emulator's request counts and its final
//! state.

use serde_json::{Value, json};

use crate::{Emu, TestEnv};

pub(crate) const SEED: &str = "version: 1
account_id: 023e105f4ecef8ad9ca31a8372d0c353
prefixes:
  - cidr: 192.0.2.0/24
    id: 2af39739cc4e3b5910c918468bb89828
    bindings:
      - { cidr: 192.0.2.0/24, service: Magic Transit, id: 0268691a34343f5f7404ff8abe0b5785, state: active }
      - { cidr: 192.0.2.16/29, service: CDN, id: 924041a85939189348b16d6171cdd9ed, state: active }
";

/// 192.0.2.16/29 moves from CDN to Spectrum: a replace (delete, then create).
pub(crate) const REPLACE: &str = "version: 1
account_id: 023e105f4ecef8ad9ca31a8372d0c353
prefixes:
  - cidr: 192.0.2.0/24
    bindings:
      - { cidr: 192.0.2.0/24, service: Magic Transit }
      - { cidr: 192.0.2.16/29, service: Spectrum }
";

/// One new binding, 192.0.2.32/28 → CDN: a create.
pub(crate) const CREATE: &str = "version: 1
account_id: 023e105f4ecef8ad9ca31a8372d0c353
prefixes:
  - cidr: 192.0.2.0/24
    bindings:
      - { cidr: 192.0.2.0/24, service: Magic Transit }
      - { cidr: 192.0.2.16/29, service: CDN }
      - { cidr: 192.0.2.32/28, service: CDN }
";

pub(crate) const SERVICES: &str = "GET /accounts/{account_id}/addressing/services";
pub(crate) const LIST_BINDINGS: &str =
    "GET /accounts/{account_id}/addressing/prefixes/{prefix_id}/bindings";
pub(crate) const CREATE_BINDING: &str =
    "POST /accounts/{account_id}/addressing/prefixes/{prefix_id}/bindings";
pub(crate) const DELETE_BINDING: &str =
    "DELETE /accounts/{account_id}/addressing/prefixes/{prefix_id}/bindings/{binding_id}";

/// Requests the emulator counted under `route`.
pub(crate) fn count(emu: &Emu, route: &str) -> u64 {
    emu.counts()["routes"][route].as_u64().unwrap_or(0)
}

/// The emulator seeded with [`SEED`], svcbind pointed at it with `file` as its config.
pub(crate) fn setup(file: &str) -> (Emu, TestEnv) {
    let emu = Emu::start(SEED, &[]);
    let env = TestEnv::against(&emu);
    env.write("svcbind.yaml", file);
    (emu, env)
}

pub(crate) fn fault(emu: &Emu, method: &str, path: &str, action: Value) {
    emu.fault(json!({"method": method, "path_contains": path, "action": action}));
}

pub(crate) fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(c, s)| ((*c).to_owned(), (*s).to_owned()))
        .collect()
}

#[test]
fn a_503_on_a_bindings_read_is_retried_and_the_plan_succeeds() {
    let (emu, env) = setup(REPLACE);
    fault(
        &emu,
        "GET",
        "/bindings",
        json!({"type": "status", "status": 503}),
    );
    env.cmd(&["plan", "--detailed-exitcode"])
        .status(2)
        .stdout_has("± replace 192.0.2.16/29  CDN → Spectrum")
        .stderr_has(" WARN GET /accounts/023e105f4ecef8ad9ca31a8372d0c353/addressing/prefixes/2af39739cc4e3b5910c918468bb89828/bindings: HTTP 503: injected fault: HTTP 503 Service Unavailable (9000); trying again in ")
        .stderr_has(" (attempt 2 of 4)")
        .run();
    assert_eq!(count(&emu, LIST_BINDINGS), 2);
}

#[test]
fn a_429_is_waited_out_for_its_retry_after() {
    let (emu, env) = setup(REPLACE);
    fault(
        &emu,
        "GET",
        "/services",
        json!({"type": "status", "status": 429, "retry_after_secs": 1}),
    );
    env.cmd(&["plan", "--detailed-exitcode"])
        .status(2)
        .stderr_has("HTTP 429: Please wait and consider throttling your request speed (971); trying again in 1.0 s (attempt 2 of 4)")
        .run();
    assert_eq!(count(&emu, SERVICES), 2);
}

#[test]
fn a_retry_after_beyond_max_retry_wait_fails_at_once_saying_how_long() {
    let (emu, env) = setup(REPLACE);
    fault(
        &emu,
        "GET",
        "/services",
        json!({"type": "status", "status": 429, "retry_after_secs": 600}),
    );
    env.cmd(&["plan", "--max-retry-wait", "30s"])
        .status(1)
        .stdout("")
        .stderr_has("GET /accounts/023e105f4ecef8ad9ca31a8372d0c353/addressing/services: HTTP 429: Please wait and consider throttling your request speed (971); the API asks to wait 10m before the next request, longer than --max-retry-wait (30s): try again later, or raise --max-retry-wait\n")
        .run();
    assert_eq!(count(&emu, SERVICES), 1);
}

#[test]
fn a_delete_whose_answer_is_lost_counts_as_done_and_its_replace_finishes() {
    let (emu, env) = setup(REPLACE);
    fault(
        &emu,
        "DELETE",
        "/bindings/",
        json!({"type": "drop_after_processing"}),
    );
    env.cmd(&["apply", "--yes"])
        .stdout_has("Apply: 2 done, 0 failed, 0 not run.")
        .stderr_has("whether it happened is unknown: the prefix's bindings are read back in ")
        .stderr_has(" WARN binding 924041a85939189348b16d6171cdd9ed: the answer to its delete was lost, but the binding is gone: deleted\n")
        .stderr_has("[1/2] 192.0.2.0/24: deleted 192.0.2.16/29 (CDN, answer lost or unreadable; confirmed by reading the prefix back)")
        .stderr_has("[2/2] 192.0.2.0/24: created 192.0.2.16/29 → Spectrum (")
        .stdout_has("  done      1. delete 192.0.2.16/29 (CDN) (answer lost or unreadable; confirmed by reading the prefix back)\n")
        .run();
    // One delete (the write happened, its answer never came), one read-back, one create.
    assert_eq!(count(&emu, DELETE_BINDING), 1);
    assert_eq!(count(&emu, CREATE_BINDING), 1);
    assert_eq!(count(&emu, LIST_BINDINGS), 2);
    assert_eq!(
        emu.bindings_of("192.0.2.0/24"),
        owned(&[
            ("192.0.2.0/24", "Magic Transit"),
            ("192.0.2.16/29", "Spectrum")
        ])
    );
    env.cmd(&["plan", "--detailed-exitcode"]).run();
}

#[test]
fn a_create_whose_answer_is_lost_is_adopted_never_made_twice() {
    for lost in [
        json!({"type": "drop_after_processing"}),
        json!({"type": "status_after_processing", "status": 502}),
    ] {
        let (emu, env) = setup(CREATE);
        fault(&emu, "POST", "/bindings", lost.clone());
        let out = env
            .cmd(&["apply", "--yes", "--format", "json"])
            .stdout_has("\"read_back\": true")
            .stderr_has(" WARN 192.0.2.32/28: the answer to its create was lost, but the binding is there (id ")
            .stderr_has("[1/1] 192.0.2.0/24: created 192.0.2.32/28 → CDN (answer lost or unreadable; confirmed by reading the prefix back)")
            .run();
        let report: Value = serde_json::from_str(&out.stdout).expect("the JSON report");
        assert_eq!(report["summary"]["done"], 1, "{lost}");
        assert_eq!(
            report["prefixes"][0]["steps"][0]["read_back"], true,
            "{lost}"
        );
        assert_eq!(count(&emu, CREATE_BINDING), 1, "{lost}");
        assert_eq!(count(&emu, LIST_BINDINGS), 2, "{lost}");
        assert_eq!(
            emu.bindings_of("192.0.2.0/24"),
            owned(&[
                ("192.0.2.0/24", "Magic Transit"),
                ("192.0.2.16/29", "CDN"),
                ("192.0.2.32/28", "CDN")
            ]),
            "{lost}"
        );
        env.cmd(&["plan", "--detailed-exitcode"]).run();
    }
}

#[test]
fn a_create_dropped_before_it_was_processed_is_sent_again_once() {
    let (emu, env) = setup(CREATE);
    fault(&emu, "POST", "/bindings", json!({"type": "drop"}));
    env.cmd(&["apply", "--yes"])
        .stdout_has("Apply: 1 done, 0 failed, 0 not run.")
        .stderr_has("/bindings: it did not happen; sending it again (attempt 2 of 4)")
        .stderr_any()
        .run();
    assert_eq!(count(&emu, CREATE_BINDING), 2);
    assert_eq!(count(&emu, LIST_BINDINGS), 2);
    assert_eq!(emu.bindings_of("192.0.2.0/24").len(), 3);
}

#[test]
fn an_answer_larger_than_8_mib_is_not_read_whole() {
    let (emu, env) = setup(REPLACE);
    fault(
        &emu,
        "GET",
        "/services",
        json!({"type": "oversized", "bytes": 200_000_000u64}),
    );
    env.cmd(&["plan"])
        .status(1)
        .stdout("")
        .stderr("error: cannot read the live state: GET /accounts/023e105f4ecef8ad9ca31a8372d0c353/addressing/services: the answer is larger than 8 MiB, more than svcbind reads; it was not read further\n")
        .run();
    assert_eq!(count(&emu, SERVICES), 1);
}

#[test]
fn a_token_file_that_never_ends_is_refused() {
    let (emu, env) = setup(REPLACE);
    let env = env.env("CLOUDFLARE_API_TOKEN", "");
    env.cmd(&["plan", "--api-token-file", "/dev/zero"])
        .status(1)
        .stdout("")
        .stderr("error: the API token file `/dev/zero` is larger than 64 KiB: it should hold one API token; check --api-token-file\n")
        .run();
    assert_eq!(emu.counts()["total"], 0);
}
