//! Credentials and the emulator's guard rails, through the binary and `svcbind emulator` over
//! HTTP: the token never goes over plain http beyond loopback and never appears in output,
//! missing or malformed credentials get Cloudflare's answers, the admin endpoints need the
//! token beyond loopback, and a huge clock advance is refused.

use serde_json::{Value, json};

use crate::{ACCOUNT, Emu, TOKEN, TestEnv};

const SEED: &str = "version: 1
account_id: 023e105f4ecef8ad9ca31a8372d0c353
prefixes:
  - cidr: 192.0.2.0/24
    id: 2af39739cc4e3b5910c918468bb89828
    bindings:
      - { cidr: 192.0.2.0/24, service: Magic Transit, id: 0268691a34343f5f7404ff8abe0b5785, state: active }
      - { cidr: 192.0.2.16/29, service: CDN, id: 924041a85939189348b16d6171cdd9ed, state: active }
";

/// A replace of 192.0.2.16/29 and a new 192.0.2.32/28.
const FILE: &str = "version: 1
account_id: 023e105f4ecef8ad9ca31a8372d0c353
prefixes:
  - cidr: 192.0.2.0/24
    bindings:
      - { cidr: 192.0.2.0/24, service: Magic Transit }
      - { cidr: 192.0.2.16/29, service: Spectrum }
      - { cidr: 192.0.2.32/28, service: CDN }
";

const REFUSED_HTTP: &str = "error: refusing to send the API credentials over plain http:// to 192.0.2.1: anyone on the way could read them and use the account; use an https:// URL (--api-url or CLOUDFLARE_BASE_URL), or pass --allow-insecure-http to accept that risk\n";

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

#[test]
fn the_token_is_never_sent_over_plain_http_beyond_loopback() {
    let env = TestEnv::new()
        .env("CLOUDFLARE_BASE_URL", "http://192.0.2.1/client/v4")
        .env("CLOUDFLARE_API_TOKEN", TOKEN);
    env.write("svcbind.yaml", FILE);
    for command in ["plan", "apply", "services"] {
        env.cmd(&[command])
            .status(1)
            .stdout("")
            .stderr(REFUSED_HTTP)
            .run();
    }
    // Loopback, by name too, is this machine: allowed.
    let emu = Emu::start(SEED, &[]);
    let local = emu.base_url().replace("127.0.0.1", "localhost");
    let env = TestEnv::new()
        .env("CLOUDFLARE_BASE_URL", &local)
        .env("CLOUDFLARE_API_TOKEN", TOKEN)
        .env("CLOUDFLARE_ACCOUNT_ID", ACCOUNT);
    env.cmd(&["services"]).stdout_has("Magic Transit").run();
}

#[test]
fn a_zero_timeout_is_refused() {
    TestEnv::new()
        .cmd(&["plan", "--timeout", "0s"])
        .status(1)
        .stdout("")
        .stderr("error: invalid value '0s' for '--timeout <DURATION>': must be more than 0s, e.g. 60s\n\nFor more information, try '--help'.\n")
        .run();
}

#[test]
fn missing_or_malformed_credentials_are_answered_as_cloudflare_does() {
    let emu = Emu::start(SEED, &[]);
    let path = format!("/client/v4/accounts/{ACCOUNT}/addressing/services");
    let (status, body) = emu.http("GET", &path, &[], "");
    assert_eq!(status, 400);
    assert_eq!(
        json_of(&body)["errors"],
        json!([{"code": 9106, "message": "Missing X-Auth-Key, X-Auth-Email or Authorization headers"}])
    );
    for (headers, nested) in [
        (
            vec![("Authorization", "Token abc")],
            (6111, "Authorization"),
        ),
        (vec![("X-Auth-Key", TOKEN)], (6102, "X-Auth-Email")),
        (
            vec![("X-Auth-Email", "ops@example.com")],
            (6103, "X-Auth-Key"),
        ),
    ] {
        let (status, body) = emu.http("GET", &path, &headers, "");
        assert_eq!(status, 400, "{body}");
        assert_eq!(
            json_of(&body)["errors"],
            json!([{"code": 6003, "message": "Invalid request headers", "error_chain": [
                {"code": nested.0, "message": format!("Invalid format for {} header", nested.1)}
            ]}]),
            "{headers:?}"
        );
    }
}

#[test]
fn admin_endpoints_need_the_token_when_the_emulator_listens_beyond_loopback() {
    let emu = Emu::start_on("0.0.0.0:0", SEED, &[]);
    let bearer = format!("Bearer {TOKEN}");
    let (status, body) = emu.http("GET", "/__svcbind/state", &[], "");
    assert_eq!(
        (status, json_of(&body)["errors"][0]["code"].clone()),
        (400, json!(9106))
    );
    let (status, body) = emu.http(
        "POST",
        "/__svcbind/faults",
        &[("Authorization", "Bearer wrong")],
        r#"{"action": {"type": "drop"}}"#,
    );
    assert_eq!(
        (status, json_of(&body)["errors"][0]["code"].clone()),
        (403, json!(10000))
    );
    let (status, body) = emu.http(
        "POST",
        "/__svcbind/clock",
        &[("Authorization", "Token x")],
        r#"{"advance_secs": 1}"#,
    );
    assert_eq!(
        (status, json_of(&body)["errors"][0]["code"].clone()),
        (400, json!(6003))
    );
    // Nothing was changed by the refused calls, and the token opens them.
    let (status, body) = emu.http(
        "GET",
        "/__svcbind/faults",
        &[("Authorization", &bearer)],
        "",
    );
    assert_eq!((status, json_of(&body)), (200, json!([])));
    let (status, body) = emu.http("GET", "/__svcbind/state", &[("Authorization", &bearer)], "");
    assert_eq!(status, 200, "{body}");
    assert_eq!(json_of(&body)["account_id"], ACCOUNT);
}

#[test]
fn a_huge_clock_advance_is_refused_and_every_later_call_answers() {
    let emu = Emu::start(SEED, &["--provisioning-delay", "1h"]);
    let (status, body) = emu.http(
        "POST",
        "/__svcbind/clock",
        &[],
        &format!(r#"{{"advance_secs": {}}}"#, u64::MAX),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        json_of(&body)["errors"][0]["message"],
        format!(
            "cannot move the emulated clock {}s ahead: it is already 0s ahead of real time, and may be at most 3153600000s (100 years) ahead",
            u64::MAX
        )
    );
    let env = TestEnv::against(&emu);
    env.write("svcbind.yaml", FILE);
    env.cmd(&["apply", "--yes", "-q"])
        .stdout_has("Apply: 3 done, 0 failed, 0 not run.")
        .run();
    // Up to the limit the clock moves, and provisioning completes.
    let (status, body) = emu.http("POST", "/__svcbind/clock", &[], r#"{"advance_secs": 3600}"#);
    assert_eq!(status, 200, "{body}");
    let states: Vec<Value> = emu.state()["prefixes"][0]["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["provisioning"]["state"].clone())
        .collect();
    assert_eq!(states, vec![json!("active"); 3]);
    env.cmd(&["plan", "--detailed-exitcode"]).run();
}

#[test]
fn verbose_logs_each_request_by_route_and_attempt_never_a_header() {
    let emu = Emu::start(SEED, &[]);
    emu.fault(json!({"method": "GET", "path_contains": "/bindings",
                     "action": {"type": "status", "status": 503}}));
    let env = TestEnv::against(&emu);
    env.write("svcbind.yaml", FILE);
    let out = env
        .cmd(&["plan", "-v"])
        .stderr_has(r#" INFO call{attempt=1}: api request method="GET" route="/accounts/{account_id}/addressing/services" status=200 duration_ms="#)
        .stderr_has(r#" INFO call{attempt=1}: api request method="GET" route="/accounts/{account_id}/addressing/prefixes/{prefix_id}/bindings" status=503 duration_ms="#)
        .stderr_has(r#" INFO call{attempt=2}: api request method="GET" route="/accounts/{account_id}/addressing/prefixes/{prefix_id}/bindings" status=200 duration_ms="#)
        .stderr_has(" waited_ms=0\n")
        .run();
    for line in out.stderr.lines().filter(|l| l.starts_with(" INFO")) {
        assert!(!line.contains(ACCOUNT), "an id in an info line: {line}");
        assert!(
            !line.to_ascii_lowercase().contains("authorization"),
            "{line}"
        );
    }
}

#[test]
fn the_token_never_appears_with_retries_pacing_and_every_network_flag() {
    let emu = Emu::start(SEED, &[]);
    let env = TestEnv::against(&emu).env("CLOUDFLARE_ACCOUNT_ID", ACCOUNT);
    env.write("svcbind.yaml", FILE);
    let token_file = env.write("token.txt", &format!("{TOKEN}\n"));
    let token_file = token_file.to_str().unwrap();
    let flags = [
        "-vvv",
        "--request-budget",
        "3",
        "--request-window",
        "1s",
        "--max-retry-wait",
        "5s",
        "--timeout",
        "10s",
        "--allow-insecure-http",
        "--api-token-file",
        token_file,
    ];
    for command in [vec!["services"], vec!["plan"], vec!["apply", "--yes"]] {
        // A retried read and a write whose answer is lost, so every path logs.
        emu.fault(json!({"method": "GET", "action": {"type": "status", "status": 503}}));
        emu.fault(json!({"method": "POST", "action": {"type": "drop_after_processing"}}));
        let args: Vec<&str> = command.iter().copied().chain(flags).collect();
        let out = env.cmd(&args).stderr_has("DEBUG").run();
        for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            assert!(
                !text.contains(TOKEN),
                "{command:?}: the token on {stream}:\n{text}"
            );
        }
        assert!(
            out.stderr.contains("trying again in"),
            "{command:?}: {}",
            out.stderr
        );
    }
    assert!(emu.counts()["total"].as_u64().unwrap() > 10);
}
