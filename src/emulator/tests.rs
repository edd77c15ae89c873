//! The emulator end to end: over HTTP on 127.0.0.1 (reqwest as the client) and in process
//! (through the `Api` trait), sharing one rules core, one set of counters and faults.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use ipnet::IpNet;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use super::*;
use crate::api::{Api, ApiErrorKind, Route};
use crate::model::{Binding, BindingId, Prefix, PrefixId, ProvisioningState, ServiceId};

const TOKEN: &str = "s3cr3t-emulator-token";
const ACCOUNT: &str = DEFAULT_ACCOUNT_ID;
const WIDE_ID: &str = "b0000000000000000000000000000001";
const CDN29_ID: &str = "b0000000000000000000000000000002";

/// Prefix `p4` 192.0.2.0/24 (Magic Transit prefix-wide, CDN on 192.0.2.16/29) and prefix `p6`
/// 2001:db8:1000::/48 without bindings.
fn account() -> Account {
    let mut a = Account::new(default_account_id(), default_services());
    let p4 = PrefixId::new("p4").unwrap();
    a.add_prefix(Prefix {
        id: p4.clone(),
        cidr: "192.0.2.0/24".parse().unwrap(),
        description: Some("edge".into()),
    })
    .unwrap();
    a.add_prefix(Prefix {
        id: PrefixId::new("p6").unwrap(),
        cidr: "2001:db8:1000::/48".parse().unwrap(),
        description: None,
    })
    .unwrap();
    for (id, cidr, service) in [
        (WIDE_ID, "192.0.2.0/24", MAGIC_TRANSIT_ID),
        (CDN29_ID, "192.0.2.16/29", CDN_ID),
    ] {
        a.insert_binding(
            &p4,
            Binding {
                id: BindingId::new(id).unwrap(),
                cidr: cidr.parse().unwrap(),
                service_id: ServiceId::new(service).unwrap(),
                service_name: None,
                state: ProvisioningState::Active,
            },
        )
        .unwrap();
    }
    a
}

struct Server {
    addr: SocketAddr,
    emulator: Emulator,
    client: reqwest::Client,
    _stop: oneshot::Sender<()>,
}

async fn start(options: EmulatorOptions) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let emulator = Emulator::new(account(), options);
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(serve(listener, emulator.clone(), async {
        let _ = stopped.await;
    }));
    Server {
        addr,
        emulator,
        client: client(Duration::from_secs(10)),
        _stop: stop,
    }
}

async fn start_default() -> Server {
    start(EmulatorOptions::new(TOKEN)).await
}

fn client(timeout: Duration) -> reqwest::Client {
    // reqwest is built without a default TLS provider: install svcbind's (as `api::client`
    // does), or these tests pass only when one of those ran first.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .build()
        .unwrap()
}

impl Server {
    /// `http://ADDR/client/v4/accounts/ACCOUNT/addressing/<rest>`.
    fn url(&self, rest: &str) -> String {
        format!(
            "http://{}/client/v4/accounts/{ACCOUNT}/addressing/{rest}",
            self.addr
        )
    }

    fn raw_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn request(&self, method: reqwest::Method, rest: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(rest))
            .bearer_auth(TOKEN)
    }

    async fn get(&self, rest: &str) -> reqwest::Response {
        self.request(reqwest::Method::GET, rest)
            .send()
            .await
            .unwrap()
    }

    async fn post(&self, rest: &str, body: Value) -> reqwest::Response {
        self.request(reqwest::Method::POST, rest)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn delete(&self, rest: &str) -> reqwest::Response {
        self.request(reqwest::Method::DELETE, rest)
            .send()
            .await
            .unwrap()
    }

    /// The CIDRs bound in `prefix`, read from the account directly.
    fn cidrs(&self, prefix: &str) -> Vec<String> {
        self.emulator.with_account(|a| {
            a.list_bindings(ACCOUNT, prefix, Duration::ZERO)
                .unwrap()
                .into_iter()
                .map(|b| b.cidr)
                .collect()
        })
    }
}

/// Status and JSON body; fails unless the answer is `application/json`.
async fn json_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "status {status}"
    );
    let text = response.text().await.unwrap();
    let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    (status, value)
}

/// The error codes of a failure envelope, after checking its shape.
fn failure_codes(body: &Value) -> Vec<u64> {
    assert_eq!(body["success"], false, "{body}");
    assert_eq!(body["messages"], json!([]), "{body}");
    assert!(body.as_object().unwrap().contains_key("result"), "{body}");
    assert_eq!(body["result"], Value::Null, "{body}");
    body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_u64().unwrap())
        .collect()
}

fn keys(value: &Value) -> BTreeSet<&str> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .map(String::as_str)
        .collect()
}

fn set<'a>(items: &[&'a str]) -> BTreeSet<&'a str> {
    items.iter().copied().collect()
}

#[tokio::test]
async fn create_answers_201_with_the_binding_and_delete_the_envelope_only() {
    let s = start_default().await;
    let (status, body) = json_of(
        s.post(
            "prefixes/p4/bindings",
            json!({"cidr": "192.0.2.64/26", "service_id": SPECTRUM_ID}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["success"], true);
    let created = &body["result"];
    assert_eq!(created["cidr"], "192.0.2.64/26");
    assert_eq!(created["service_id"], SPECTRUM_ID);
    assert_eq!(created["service_name"], "Spectrum");
    assert_eq!(created["provisioning"]["state"], "provisioning");
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        s.cidrs("p4"),
        ["192.0.2.0/24", "192.0.2.16/29", "192.0.2.64/26"]
    );

    let response = s.delete(&format!("prefixes/p4/bindings/{id}")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"success":true,"errors":[],"messages":[]}"#
    );
    assert_eq!(s.cidrs("p4"), ["192.0.2.0/24", "192.0.2.16/29"]);
}

#[tokio::test]
async fn rule_violations_answer_the_api_status_and_code() {
    let s = start_default().await;
    let cases = [
        // (cidr, service, pointer); null means the field is left out.
        (json!("192.0.2.1/24"), json!(CDN_ID), "/cidr"),
        (json!("not a cidr"), json!(CDN_ID), "/cidr"),
        (json!("198.51.100.0/24"), json!(CDN_ID), "/cidr"),
        (json!("2001:db8:1000::/48"), json!(CDN_ID), "/cidr"),
        (
            json!("192.0.2.32/27"),
            json!("ffffffffffffffffffffffffffffffff"),
            "/service_id",
        ),
        (
            json!("192.0.2.32/27"),
            json!(MAGIC_TRANSIT_ID),
            "/service_id",
        ),
        (json!("192.0.2.16/29"), json!(SPECTRUM_ID), "/cidr"),
        (json!("192.0.2.0/24"), json!(CDN_ID), "/cidr"),
        (Value::Null, json!(CDN_ID), "/cidr"),
        (json!("192.0.2.32/27"), Value::Null, "/service_id"),
        (json!(24), json!(CDN_ID), "/cidr"),
    ];
    for (cidr, service, pointer) in cases {
        let mut body = serde_json::Map::new();
        if !cidr.is_null() {
            body.insert("cidr".into(), cidr.clone());
        }
        if !service.is_null() {
            body.insert("service_id".into(), service.clone());
        }
        let (status, answer) =
            json_of(s.post("prefixes/p4/bindings", Value::Object(body)).await).await;
        assert_eq!(status, 400, "{cidr} {service}: {answer}");
        assert_eq!(failure_codes(&answer), [1003], "{answer}");
        assert_eq!(
            answer["errors"][0]["source"]["pointer"], pointer,
            "{answer}"
        );
    }
    // A body that is not JSON at all: 6007, not the rules' 1003.
    let raw = |prefix: &str, content_type: Option<&str>, body: &'static str| {
        let mut request = s.request(
            reqwest::Method::POST,
            &format!("prefixes/{prefix}/bindings"),
        );
        if let Some(value) = content_type {
            request = request.header("content-type", value);
        }
        request.body(body)
    };
    let (status, answer) = json_of(
        raw("p4", Some("application/json"), "cidr=192.0.2.32/27")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, failure_codes(&answer)), (400, vec![6007]));
    assert_eq!(
        answer["errors"][0]["message"],
        "Malformed JSON in request body"
    );
    // A JSON body under a form's content type, or none, is refused by its header: nothing is
    // created.
    let good = r#"{"cidr": "192.0.2.32/27", "service_id": "a7c5b5e1c33d4ea0b2f5d4f6c1e0a9b3"}"#;
    for content_type in [
        Some("application/x-www-form-urlencoded"),
        Some("text/plain"),
        None,
    ] {
        let (status, answer) = json_of(raw("p4", content_type, good).send().await.unwrap()).await;
        assert_eq!(
            (status, failure_codes(&answer)),
            (400, vec![6003]),
            "{content_type:?}: {answer}"
        );
        assert_eq!(
            answer["errors"][0]["error_chain"][0]["code"], 6105,
            "{answer}"
        );
    }
    assert_eq!(s.cidrs("p4"), ["192.0.2.0/24", "192.0.2.16/29"]);
    // A charset parameter is fine; the prefix and the account are checked before the body.
    let (status, answer) = json_of(
        raw("nope", Some("text/plain"), "not json")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, failure_codes(&answer)), (404, vec![1000]));
    let elsewhere = s
        .client
        .post(format!(
            "http://{}/client/v4/accounts/0000000000000000000000000000000f/addressing/prefixes/p4/bindings",
            s.addr
        ))
        .bearer_auth(TOKEN)
        .header("content-type", "text/plain")
        .body("not json");
    let (status, answer) = json_of(elsewhere.send().await.unwrap()).await;
    assert_eq!((status, failure_codes(&answer)), (400, vec![7003, 7000]));
    let (status, answer) = json_of(
        raw("nope", Some("application/json; charset=utf-8"), "{")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, failure_codes(&answer)), (404, vec![1000]));
    let (status, answer) = json_of(
        raw("p4", Some("application/json; charset=utf-8"), "[]")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, failure_codes(&answer)), (400, vec![1003]));

    // The first binding of an empty prefix must be the prefix itself.
    let (status, answer) = json_of(
        s.post(
            "prefixes/p6/bindings",
            json!({"cidr": "2001:db8:1000:1::/64", "service_id": CDN_ID}),
        )
        .await,
    )
    .await;
    assert_eq!((status, failure_codes(&answer)), (400, vec![1003]));
    assert!(s.cidrs("p6").is_empty());

    // The prefix-wide binding outlives the more-specific ones.
    let (status, answer) =
        json_of(s.delete(&format!("prefixes/p4/bindings/{WIDE_ID}")).await).await;
    assert_eq!((status, failure_codes(&answer)), (400, vec![1003]));
    let (status, answer) = json_of(s.delete("prefixes/p4/bindings/nope").await).await;
    assert_eq!((status, failure_codes(&answer)), (404, vec![1002]));
    let (status, answer) = json_of(s.get("prefixes/nope/bindings").await).await;
    assert_eq!((status, failure_codes(&answer)), (404, vec![1000]));
    let (status, answer) = json_of(s.get("prefixes/nope").await).await;
    assert_eq!((status, failure_codes(&answer)), (404, vec![1000]));
    let (status, answer) = json_of(s.get("prefixes/p4/bindings/nope").await).await;
    assert_eq!((status, failure_codes(&answer)), (404, vec![1002]));
    assert_eq!(s.cidrs("p4"), ["192.0.2.0/24", "192.0.2.16/29"]);

    // Another account id is routed nowhere.
    let other =
        s.raw_url("/client/v4/accounts/0123456789abcdef0123456789abcdef/addressing/prefixes");
    let response = s.client.get(other).bearer_auth(TOKEN).send().await.unwrap();
    let (status, answer) = json_of(response).await;
    assert_eq!((status, failure_codes(&answer)), (400, vec![7003, 7000]));
    assert_eq!(
        answer["errors"][0]["message"],
        "Could not route to /client/v4/accounts/0123456789abcdef0123456789abcdef/addressing/prefixes, perhaps your object identifier is invalid?"
    );
}

#[tokio::test]
async fn credentials_like_cloudflare() {
    let s = start_default().await;
    let url = s.url("services");
    let longer = format!("Bearer {TOKEN}x");
    type Headers<'a> = Vec<(&'a str, &'a str)>;
    // Codes as `[code, nested codes of its error_chain…]` per error.
    let cases: Vec<(Headers, u16, Vec<u64>)> = vec![
        (vec![], 400, vec![9106]),
        (
            vec![("authorization", "Basic dXNlcjpwYXNz")],
            400,
            vec![6003, 6111],
        ),
        (vec![("authorization", "Bearer")], 400, vec![6003, 6111]),
        (vec![("authorization", "Bearer  ")], 400, vec![6003, 6111]),
        (
            vec![("authorization", "Bearer wrong-token")],
            403,
            vec![10000],
        ),
        (vec![("authorization", longer.as_str())], 403, vec![10000]),
        (
            vec![("x-auth-email", "ops@example.com"), ("x-auth-key", "wrong")],
            403,
            vec![10000],
        ),
        (vec![("x-auth-key", TOKEN)], 400, vec![6003, 6102]),
        (
            vec![("x-auth-email", ""), ("x-auth-key", TOKEN)],
            400,
            vec![6003, 6102],
        ),
        (
            vec![("x-auth-email", "ops@example.com")],
            400,
            vec![6003, 6103],
        ),
    ];
    for (headers, want_status, want_codes) in cases {
        let mut request = s.client.get(&url);
        for (name, value) in &headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        let text_headers = format!("{:?}", response.headers());
        let (status, body) = json_of(response).await;
        assert_eq!(status, want_status, "{headers:?}: {body}");
        // One error, the specific code nested in its chain.
        assert_eq!(failure_codes(&body).len(), 1, "{headers:?}: {body}");
        let nested: Vec<u64> = body["errors"][0]["error_chain"]
            .as_array()
            .map(|chain| chain.iter().map(|e| e["code"].as_u64().unwrap()).collect())
            .unwrap_or_default();
        let codes = [failure_codes(&body), nested].concat();
        assert_eq!(codes, want_codes, "{headers:?}: {body}");
        assert!(!body.to_string().contains(TOKEN), "{body}");
        assert!(!text_headers.contains(TOKEN), "{text_headers}");
    }
    for headers in [
        vec![("authorization", format!("Bearer {TOKEN}"))],
        vec![("authorization", format!("bearer {TOKEN}"))],
        vec![
            ("x-auth-email", "ops@example.com".to_owned()),
            ("x-auth-key", TOKEN.to_owned()),
        ],
    ] {
        let mut request = s.client.get(&url);
        for (name, value) in &headers {
            request = request.header(*name, value);
        }
        let (status, body) = json_of(request.send().await.unwrap()).await;
        assert_eq!(status, 200, "{headers:?}: {body}");
        assert_eq!(body["result"].as_array().unwrap().len(), 3);
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_the_envelope() {
    let s = start_default().await;
    for path in [
        "/",
        "/client/v4",
        "/client/v4/zones",
        &format!("/client/v4/accounts/{ACCOUNT}/addressing/prefixes/p4/bindings/b/x"),
        &format!("/client/v4/accounts/{ACCOUNT}/addressing/prefixes/"),
        "/__svcbind/nothing",
    ] {
        let response = s.client.get(s.raw_url(path)).send().await.unwrap();
        let (status, body) = json_of(response).await;
        assert_eq!((status, failure_codes(&body)), (404, vec![7000]), "{path}");
        assert_eq!(body["errors"][0]["message"], "No route for that URI");
    }
    let response = s
        .request(reqwest::Method::PUT, "prefixes")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["allow"], "GET");
    let (status, body) = json_of(response).await;
    assert_eq!((status, failure_codes(&body)), (405, vec![10405]));
    let response = s
        .request(reqwest::Method::PATCH, "prefixes/p4/bindings/x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["allow"], "GET, DELETE");
    assert_eq!(response.status(), 405);
    let response = s
        .client
        .put(s.raw_url("/__svcbind/state"))
        .send()
        .await
        .unwrap();
    let (status, _) = json_of(response).await;
    assert_eq!(status, 405);
}

#[tokio::test]
async fn every_answer_carries_ratelimit_headers() {
    let s = start_default().await;
    let response = s.get("services").await;
    assert_eq!(
        response.headers()["ratelimit-policy"],
        "\"default\";q=1200;w=300"
    );
    assert_eq!(response.headers()["ratelimit"], "\"default\";r=1199;t=300");
    // Failures too.
    let response = s.client.get(s.url("services")).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.headers()["ratelimit-policy"],
        "\"default\";q=1200;w=300"
    );
    assert!(
        response.headers()["ratelimit"]
            .to_str()
            .unwrap()
            .starts_with("\"default\";r=1199;t=")
    );
}

#[tokio::test]
async fn spent_budget_answers_429_and_blocks_for_a_window() {
    let mut options = EmulatorOptions::new(TOKEN);
    options.rate_limit = Some((3, Duration::from_secs(60)));
    let s = start(options).await;
    for remaining in [2, 1, 0] {
        let response = s.get("prefixes").await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["ratelimit"],
            format!("\"default\";r={remaining};t=60").as_str()
        );
        assert_eq!(
            response.headers()["ratelimit-policy"],
            "\"default\";q=3;w=60"
        );
    }
    let response = s.get("prefixes").await;
    assert_eq!(response.headers()["retry-after"], "60");
    let (status, body) = json_of(response).await;
    assert_eq!((status, failure_codes(&body)), (429, vec![971]));
    assert_eq!(
        body["errors"][0]["message"],
        "Please wait and consider throttling your request speed"
    );
    // Every call stays blocked until the window has passed.
    s.emulator.advance(Duration::from_secs(30)).unwrap();
    let response = s.delete(&format!("prefixes/p4/bindings/{CDN29_ID}")).await;
    assert_eq!(response.status(), 429);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((29..=30).contains(&retry), "{retry}");
    assert!(
        response.headers()["ratelimit"]
            .to_str()
            .unwrap()
            .starts_with("\"default\";r=0;")
    );
    assert_eq!(s.cidrs("p4").len(), 2, "a blocked call is not processed");
    s.emulator.advance(Duration::from_secs(31)).unwrap();
    assert_eq!(s.get("prefixes").await.status(), 200);
    // Blocked calls were counted all the same.
    assert_eq!(s.emulator.request_counts().total, 6);
}

#[tokio::test]
async fn requests_are_counted_per_route_over_http_and_in_process() {
    let s = start_default().await;
    s.get("services").await;
    s.get("prefixes").await;
    s.get("prefixes/p4").await;
    s.get("prefixes/p4/bindings").await;
    s.get("prefixes/p6/bindings").await;
    s.get(&format!("prefixes/p4/bindings/{WIDE_ID}")).await;
    s.post(
        "prefixes/p4/bindings",
        json!({"cidr": "192.0.2.128/25", "service_id": CDN_ID}),
    )
    .await;
    s.delete(&format!("prefixes/p4/bindings/{CDN29_ID}")).await;
    s.client
        .get(s.raw_url("/client/v4/zones"))
        .send()
        .await
        .unwrap();
    let api = s.emulator.in_process(default_account_id());
    api.list_bindings(&PrefixId::new("p4").unwrap())
        .await
        .unwrap();
    // Admin calls are not counted.
    s.client
        .get(s.raw_url("/__svcbind/state"))
        .send()
        .await
        .unwrap();

    let counts = s.emulator.request_counts();
    let mut expected: Vec<(String, u64)> = [
        (Route::GetBinding, 1),
        (Route::GetPrefix, 1),
        (Route::ListBindings, 3),
        (Route::ListPrefixes, 1),
        (Route::ListServices, 1),
        (Route::CreateBinding, 1),
        (Route::DeleteBinding, 1),
    ]
    .iter()
    .map(|(route, n)| (route.key(), *n))
    .chain([("GET (no route)".to_owned(), 1)])
    .collect();
    expected.sort();
    assert_eq!(counts.routes.into_iter().collect::<Vec<_>>(), expected);
    assert_eq!(counts.total, 10);

    let response = s
        .client
        .get(s.raw_url("/__svcbind/requests"))
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(response).await;
    assert_eq!(status, 200);
    assert_eq!(body["total"], 10);
    assert_eq!(body["routes"][Route::ListBindings.key()], 3);

    let response = s
        .client
        .delete(s.raw_url("/__svcbind/requests"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(s.emulator.request_counts(), RequestCounts::default());
}

#[tokio::test]
async fn status_fault_answers_without_processing() {
    let s = start_default().await;
    s.emulator
        .add_fault(FaultRule::new(FaultAction::status(503)).method(FaultMethod::Post));
    // The rule matches POST only: a GET goes through.
    assert_eq!(s.get("prefixes/p4/bindings").await.status(), 200);
    let body = json!({"cidr": "192.0.2.128/25", "service_id": CDN_ID});
    let (status, answer) = json_of(s.post("prefixes/p4/bindings", body.clone()).await).await;
    assert_eq!((status, failure_codes(&answer)), (503, vec![9000]));
    assert_eq!(
        answer["errors"][0]["message"],
        "injected fault: HTTP 503 Service Unavailable"
    );
    assert_eq!(s.cidrs("p4").len(), 2, "not processed");
    // Used up: the next POST is processed.
    assert_eq!(s.post("prefixes/p4/bindings", body).await.status(), 201);
    assert!(s.emulator.pending_faults().is_empty());

    s.emulator.add_fault(
        FaultRule::new(FaultAction::Status {
            status: 429,
            retry_after_secs: Some(7),
            code: None,
            message: None,
        })
        .path_contains("/services")
        .times(2),
    );
    for _ in 0..2 {
        let response = s.get("services").await;
        assert_eq!(response.headers()["retry-after"], "7");
        let (status, answer) = json_of(response).await;
        assert_eq!((status, failure_codes(&answer)), (429, vec![971]));
    }
    assert_eq!(s.get("services").await.status(), 200);
}

#[tokio::test]
async fn status_after_processing_really_creates_the_binding() {
    let s = start_default().await;
    s.emulator.add_fault(
        FaultRule::new(FaultAction::status_after_processing(502)).method(FaultMethod::Post),
    );
    let (status, answer) = json_of(
        s.post(
            "prefixes/p4/bindings",
            json!({"cidr": "192.0.2.128/25", "service_id": CDN_ID}),
        )
        .await,
    )
    .await;
    assert_eq!((status, failure_codes(&answer)), (502, vec![9000]));
    let (_, listed) = json_of(s.get("prefixes/p4/bindings").await).await;
    let cidrs: Vec<&str> = listed["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["cidr"].as_str().unwrap())
        .collect();
    assert_eq!(cidrs, ["192.0.2.0/24", "192.0.2.16/29", "192.0.2.128/25"]);
}

#[tokio::test]
async fn drop_closes_the_connection_without_an_answer() {
    let s = start_default().await;
    s.emulator
        .add_fault(FaultRule::new(FaultAction::Drop).method(FaultMethod::Post));
    let err = s
        .request(reqwest::Method::POST, "prefixes/p4/bindings")
        .json(&json!({"cidr": "192.0.2.128/25", "service_id": CDN_ID}))
        .send()
        .await
        .expect_err("a dropped connection is no response");
    assert!(!err.is_timeout() && err.status().is_none(), "{err:?}");
    assert_eq!(s.cidrs("p4").len(), 2, "dropped before processing");
    // The server goes on serving.
    assert_eq!(s.get("prefixes/p4/bindings").await.status(), 200);
}

#[tokio::test]
async fn drop_after_processing_processes_then_closes() {
    let s = start_default().await;
    s.emulator
        .add_fault(FaultRule::new(FaultAction::DropAfterProcessing).method(FaultMethod::Delete));
    let err = s
        .request(
            reqwest::Method::DELETE,
            &format!("prefixes/p4/bindings/{CDN29_ID}"),
        )
        .send()
        .await
        .expect_err("a dropped connection is no response");
    assert!(!err.is_timeout() && err.status().is_none(), "{err:?}");
    assert_eq!(s.cidrs("p4"), ["192.0.2.0/24"], "processed before the drop");
}

#[tokio::test]
async fn malformed_answers_200_with_a_body_that_is_not_json() {
    let s = start_default().await;
    s.emulator
        .add_fault(FaultRule::new(FaultAction::Malformed { status: None }));
    let response = s.delete(&format!("prefixes/p4/bindings/{CDN29_ID}")).await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let text = response.text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    assert!(text.contains("502 Bad Gateway"));
    assert_eq!(s.cidrs("p4").len(), 2, "not processed");
}

#[tokio::test]
async fn a_status_fault_answers_the_code_and_message_given() {
    let s = start_default().await;
    let rule = json!({"method": "DELETE", "action": {"type": "status", "status": 404,
                      "code": 7000, "message": "No route for that URI"}});
    let response = s
        .client
        .post(s.raw_url("/__svcbind/faults"))
        .json(&rule)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (status, answer) =
        json_of(s.delete(&format!("prefixes/p4/bindings/{CDN29_ID}")).await).await;
    assert_eq!((status, failure_codes(&answer)), (404, vec![7000]));
    assert_eq!(answer["errors"][0]["message"], "No route for that URI");
    assert_eq!(s.cidrs("p4").len(), 2, "not processed");

    // A code without a message keeps the message naming the status.
    s.emulator.add_fault(FaultRule::new(FaultAction::Status {
        status: 404,
        retry_after_secs: None,
        code: Some(1002),
        message: None,
    }));
    let (status, answer) = json_of(s.get("services").await).await;
    assert_eq!((status, failure_codes(&answer)), (404, vec![1002]));
    assert_eq!(
        answer["errors"][0]["message"],
        "injected fault: HTTP 404 Not Found"
    );
}

#[tokio::test]
async fn malformed_may_answer_a_proxys_404_page() {
    let s = start_default().await;
    s.emulator
        .add_fault(FaultRule::new(FaultAction::Malformed { status: Some(404) }));
    let response = s.delete(&format!("prefixes/p4/bindings/{CDN29_ID}")).await;
    assert_eq!(response.status(), 404);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let text = response.text().await.unwrap();
    assert!(text.contains("<title>404 Not Found</title>"), "{text}");
    assert_eq!(s.cidrs("p4").len(), 2, "not processed");
}

#[tokio::test]
async fn a_held_request_waits_for_its_release() {
    let s = start_default().await;
    let admin = |path: &str| s.raw_url(&format!("/__svcbind/{path}"));
    s.emulator
        .add_fault(FaultRule::new(FaultAction::Hold).method(FaultMethod::Delete));
    let delete = tokio::spawn(
        s.request(
            reqwest::Method::DELETE,
            &format!("prefixes/p4/bindings/{CDN29_ID}"),
        )
        .send(),
    );
    // Held: counted, not processed, and shown by the admin endpoint.
    loop {
        let (_, held) = json_of(s.client.get(admin("held")).send().await.unwrap()).await;
        if held["held"] == 1 {
            assert_eq!(held, json!({"released": 0, "held": 1, "ahead": 0}));
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(s.emulator.request_counts().get(Route::DeleteBinding), 1);
    assert_eq!(s.cidrs("p4").len(), 2, "not processed while held");
    assert!(!delete.is_finished());

    // No body releases one.
    let (status, released) = json_of(s.client.post(admin("release")).send().await.unwrap()).await;
    assert_eq!(status, 200, "{released}");
    assert_eq!(released["success"], true);
    assert_eq!(
        released["result"],
        json!({"released": 1, "held": 0, "ahead": 0})
    );
    let response = delete.await.unwrap().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(s.cidrs("p4"), ["192.0.2.0/24"]);

    // A count given ahead lets that many holds pass at once.
    let response = s
        .client
        .post(admin("release"))
        .json(&json!({"count": 1}))
        .send()
        .await
        .unwrap();
    let (_, released) = json_of(response).await;
    assert_eq!(
        released["result"],
        json!({"released": 0, "held": 0, "ahead": 1})
    );
    s.emulator.add_fault(FaultRule::new(FaultAction::Hold));
    assert_eq!(s.get("services").await.status(), 200);
    assert_eq!(s.emulator.held(), HoldCounts::default());

    for bad in [
        json!({"count": "all"}),
        json!({"cuont": 1}),
        json!({"count": -1}),
    ] {
        let response = s
            .client
            .post(admin("release"))
            .json(&bad)
            .send()
            .await
            .unwrap();
        let (status, body) = json_of(response).await;
        assert_eq!((status, failure_codes(&body)), (400, vec![1003]), "{bad}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .starts_with("not a release request: "),
            "{body}"
        );
    }
    let response = s.client.get(admin("release")).send().await.unwrap();
    assert_eq!(response.status(), 405);
}

#[tokio::test]
async fn clearing_the_faults_lets_held_requests_go_on() {
    let s = start_default().await;
    s.emulator
        .add_fault(FaultRule::new(FaultAction::Hold).times(2));
    let first = tokio::spawn(s.request(reqwest::Method::GET, "services").send());
    let second = tokio::spawn(s.request(reqwest::Method::GET, "prefixes").send());
    while s.emulator.held().held < 2 {
        tokio::task::yield_now().await;
    }
    let response = s
        .client
        .delete(s.raw_url("/__svcbind/faults"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(first.await.unwrap().unwrap().status(), 200);
    assert_eq!(second.await.unwrap().unwrap().status(), 200);
    assert_eq!(s.emulator.held(), HoldCounts::default());
}

#[tokio::test]
async fn delay_fault_outlasts_a_client_timeout() {
    let s = start_default().await;
    s.emulator
        .add_fault(FaultRule::new(FaultAction::Delay { millis: 5_000 }));
    let impatient = client(Duration::from_millis(150));
    let err = impatient
        .get(s.url("services"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect_err("the answer comes after the timeout");
    assert!(err.is_timeout(), "{err:?}");
    // Used up: the next call answers at once.
    let response = impatient
        .get(s.url("services"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn latency_and_delay_hold_the_answer_back() {
    let mut options = EmulatorOptions::new(TOKEN);
    options.latency = Duration::from_millis(40);
    let s = start(options).await;
    s.emulator
        .add_fault(FaultRule::new(FaultAction::Delay { millis: 40 }));
    let started = std::time::Instant::now();
    assert_eq!(s.get("services").await.status(), 200);
    assert!(
        started.elapsed() >= Duration::from_millis(80),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn admin_endpoints_manage_faults_and_show_state() {
    let s = start_default().await;
    let admin = |path: &str| s.raw_url(&format!("/__svcbind/{path}"));
    let rule = json!({"method": "GET", "path_contains": "/prefixes/p6", "times": 2,
                      "action": {"type": "status", "status": 500}});
    let response = s
        .client
        .post(admin("faults"))
        .json(&rule)
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"], rule);
    let (_, pending) = json_of(s.client.get(admin("faults")).send().await.unwrap()).await;
    assert_eq!(pending, json!([rule]));
    assert_eq!(s.get("prefixes/p6").await.status(), 500);
    assert_eq!(s.get("prefixes/p4").await.status(), 200);
    let response = s.client.delete(admin("faults")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(s.get("prefixes/p6").await.status(), 200);

    for bad in [
        json!({"action": {"type": "status", "status": 200}}),
        json!({"times": 0, "action": {"type": "drop"}}),
        json!({"action": {"type": "teleport"}}),
        json!({"method": "GET"}),
    ] {
        let response = s
            .client
            .post(admin("faults"))
            .json(&bad)
            .send()
            .await
            .unwrap();
        let (status, body) = json_of(response).await;
        assert_eq!((status, failure_codes(&body)), (400, vec![1003]), "{bad}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .starts_with("not a fault rule: "),
            "{body}"
        );
    }
    assert!(s.emulator.pending_faults().is_empty());

    let (status, state) = json_of(s.client.get(admin("state")).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(state["account_id"], ACCOUNT);
    assert_eq!(state["services"].as_array().unwrap().len(), 3);
    let view: StateView = serde_json::from_value(state.clone()).unwrap();
    assert_eq!(view.prefixes.len(), 2);
    assert_eq!(view.prefixes[0].id, "p4");
    assert_eq!(view.prefixes[0].cidr, "192.0.2.0/24");
    assert_eq!(view.prefixes[0].bindings[1].id, CDN29_ID);
    assert_eq!(
        keys(&state["prefixes"][0]),
        set(&["id", "cidr", "description", "bindings"])
    );
    assert_eq!(
        keys(&state["prefixes"][0]["bindings"][0]),
        set(&["id", "cidr", "provisioning", "service_id", "service_name"])
    );
}

#[tokio::test]
async fn provisioning_turns_active_after_the_delay() {
    let mut options = EmulatorOptions::new(TOKEN);
    options.provisioning_delay = Duration::from_secs(3600);
    let s = start(options).await;
    let (_, created) = json_of(
        s.post(
            "prefixes/p6/bindings",
            json!({"cidr": "2001:db8:1000::/48", "service_id": CDN_ID}),
        )
        .await,
    )
    .await;
    let id = created["result"]["id"].as_str().unwrap().to_owned();
    let state = |body: &Value| body["result"]["provisioning"]["state"].clone();
    assert_eq!(state(&created), "provisioning");
    let (_, read) = json_of(s.get(&format!("prefixes/p6/bindings/{id}")).await).await;
    assert_eq!(state(&read), "provisioning");

    // No waiting: the emulated clock moves on (here through the admin endpoint).
    let response = s
        .client
        .post(s.raw_url("/__svcbind/clock"))
        .json(&json!({"advance_secs": 3600}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (_, read) = json_of(s.get(&format!("prefixes/p6/bindings/{id}")).await).await;
    assert_eq!(state(&read), "active");
    // Seeded bindings keep their state.
    let (_, read) = json_of(s.get(&format!("prefixes/p4/bindings/{WIDE_ID}")).await).await;
    assert_eq!(state(&read), "active");
}

/// Every endpoint's answer has the keys the official contract names, and no others.
#[tokio::test]
async fn answers_have_the_contract_shape() {
    let s = start_default().await;
    let envelope = set(&["success", "errors", "messages", "result"]);
    let binding_keys = set(&["id", "cidr", "provisioning", "service_id", "service_name"]);

    // List Services: result is [{id, name}].
    let (_, body) = json_of(s.get("services").await).await;
    assert_eq!(keys(&body), envelope);
    assert_eq!(body["success"], true);
    assert_eq!(body["errors"], json!([]));
    assert_eq!(body["messages"], json!([]));
    for service in body["result"].as_array().unwrap() {
        assert_eq!(keys(service), set(&["id", "name"]));
    }

    // List Prefixes: result is the ipam-prefixes objects, with result_info.
    let prefix_keys = set(&[
        "id",
        "cidr",
        "account_id",
        "description",
        "asn",
        "approved",
        "advertised",
        "advertised_modified_at",
        "created_at",
        "modified_at",
        "loa_document_id",
        "on_demand_enabled",
        "on_demand_locked",
        // The current contract's newer fields.
        "delegate_loa_creation",
        "irr_validation_state",
        "ownership_validation_state",
        "rpki_validation_state",
        "ownership_validation_token",
    ]);
    let (_, body) = json_of(s.get("prefixes").await).await;
    assert_eq!(
        keys(&body),
        set(&["success", "errors", "messages", "result", "result_info"])
    );
    assert_eq!(
        keys(&body["result_info"]),
        set(&["count", "page", "per_page", "total_count"])
    );
    assert_eq!(body["result_info"]["count"], 2);
    assert_eq!(body["result_info"]["total_count"], 2);
    assert_eq!(body["result_info"]["page"], 1);
    let prefixes = body["result"].as_array().unwrap();
    assert_eq!(keys(&prefixes[0]), prefix_keys);
    assert_eq!(prefixes[0]["account_id"], ACCOUNT);
    assert!(keys(&prefixes[1]).is_subset(&prefix_keys));
    assert!(prefixes[0]["asn"].is_null() && prefixes[0]["approved"].is_string());

    // Prefix Details.
    let (_, body) = json_of(s.get("prefixes/p4").await).await;
    assert_eq!(keys(&body), envelope);
    assert_eq!(keys(&body["result"]), prefix_keys);

    // List, Get, Create Service Binding: the service_binding object.
    let (_, body) = json_of(s.get("prefixes/p4/bindings").await).await;
    assert_eq!(keys(&body), envelope);
    for b in body["result"].as_array().unwrap() {
        assert_eq!(keys(b), binding_keys);
        assert_eq!(keys(&b["provisioning"]), set(&["state"]));
    }
    let (_, body) = json_of(s.get(&format!("prefixes/p4/bindings/{WIDE_ID}")).await).await;
    assert_eq!(keys(&body), envelope);
    assert_eq!(keys(&body["result"]), binding_keys);
    let (status, body) = json_of(
        s.post(
            "prefixes/p4/bindings",
            json!({"cidr": "192.0.2.128/25", "service_id": CDN_ID}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(keys(&body), envelope);
    assert_eq!(keys(&body["result"]), binding_keys);

    // Delete: the common envelope without result.
    let id = body["result"]["id"].as_str().unwrap().to_owned();
    let (_, body) = json_of(s.delete(&format!("prefixes/p4/bindings/{id}")).await).await;
    assert_eq!(keys(&body), set(&["success", "errors", "messages"]));

    // Failure: success false, errors [{code, message, source?}], messages [], result null.
    let (_, body) = json_of(
        s.post(
            "prefixes/p4/bindings",
            json!({"cidr": "192.0.2.1/24", "service_id": CDN_ID}),
        )
        .await,
    )
    .await;
    assert_eq!(keys(&body), envelope);
    assert_eq!(
        keys(&body["errors"][0]),
        set(&["code", "message", "source"])
    );
    assert_eq!(keys(&body["errors"][0]["source"]), set(&["pointer"]));
    let (_, body) = json_of(s.get("prefixes/nope").await).await;
    assert_eq!(keys(&body["errors"][0]), set(&["code", "message"]));
    assert!(body["errors"][0]["code"].as_u64().unwrap() >= 1000);
}

// ---- in process ----

fn in_process() -> (Emulator, InProcess) {
    let emulator = Emulator::new(account(), EmulatorOptions::new(TOKEN));
    let api = emulator.in_process(default_account_id());
    (emulator, api)
}

fn pid(s: &str) -> PrefixId {
    PrefixId::new(s).unwrap()
}

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

#[tokio::test]
async fn in_process_api_reads_and_writes_the_account() {
    let (emulator, api) = in_process();
    let services = api.list_services().await.unwrap();
    assert_eq!(services, default_services());
    let prefixes = api.list_prefixes().await.unwrap();
    assert_eq!(prefixes.len(), 2);
    assert_eq!(prefixes[0].description.as_deref(), Some("edge"));
    assert_eq!(
        api.get_prefix(&pid("p4")).await.unwrap(),
        Some(prefixes[0].clone())
    );
    assert_eq!(api.get_prefix(&pid("nope")).await.unwrap(), None);

    let cdn = ServiceId::new(CDN_ID).unwrap();
    let created = api
        .create_binding(&pid("p4"), net("192.0.2.128/25"), &cdn)
        .await
        .unwrap()
        .binding;
    assert_eq!(created.state, ProvisioningState::Provisioning);
    assert_eq!(created.service_name.as_deref(), Some("CDN"));
    let read = api
        .get_binding(&pid("p4"), &created.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.state, ProvisioningState::Active);
    let missing = BindingId::new("nope").unwrap();
    assert_eq!(api.get_binding(&pid("p4"), &missing).await.unwrap(), None);
    api.delete_binding(&pid("p4"), &created.id).await.unwrap();
    let listed = api.list_bindings(&pid("p4")).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|b| b.cidr.to_string())
            .collect::<Vec<_>>(),
        ["192.0.2.0/24", "192.0.2.16/29"]
    );
    assert_eq!(emulator.snapshot().binding_count(), 2);
    assert_eq!(emulator.request_counts().total, 9);
}

#[tokio::test]
async fn in_process_refusals_are_api_errors_with_the_client_path() {
    let (_, api) = in_process();
    let mt = ServiceId::new(MAGIC_TRANSIT_ID).unwrap();
    let err = api
        .create_binding(&pid("p4"), net("192.0.2.128/25"), &mt)
        .await
        .unwrap_err();
    assert_eq!(err.method, "POST");
    assert_eq!(
        err.path,
        format!("/accounts/{ACCOUNT}/addressing/prefixes/p4/bindings")
    );
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.codes(), vec![1003]);

    let wide = BindingId::new(WIDE_ID).unwrap();
    let err = api.delete_binding(&pid("p4"), &wide).await.unwrap_err();
    assert_eq!(
        (err.method, err.path.as_str(), err.codes()),
        (
            "DELETE",
            format!("/accounts/{ACCOUNT}/addressing/prefixes/p4/bindings/{WIDE_ID}").as_str(),
            vec![1003]
        )
    );
    let err = api.list_bindings(&pid("nope")).await.unwrap_err();
    assert!(
        err.is_prefix_not_found() && !err.is_binding_not_found(),
        "{err}"
    );

    let (emulator, _) = in_process();
    let other = emulator.in_process(AccountId::new("0123456789abcdef0123456789abcdef").unwrap());
    let err = other.list_prefixes().await.unwrap_err();
    assert_eq!(err.codes(), vec![7003, 7000]);
    assert_eq!(
        err.path,
        "/accounts/0123456789abcdef0123456789abcdef/addressing/prefixes"
    );
}

#[tokio::test]
async fn in_process_faults_fail_like_the_http_client_would_report() {
    let (emulator, api) = in_process();
    let cdn = ServiceId::new(CDN_ID).unwrap();
    emulator.add_fault(FaultRule::new(FaultAction::Status {
        status: 429,
        retry_after_secs: Some(3),
        code: None,
        message: None,
    }));
    let err = api.list_services().await.unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3)));
    assert!(err.surely_not_processed());

    emulator.add_fault(FaultRule::new(FaultAction::Drop));
    let err = api.list_services().await.unwrap_err();
    assert!(matches!(err.kind, ApiErrorKind::Transport { .. }), "{err}");

    emulator.add_fault(FaultRule::new(FaultAction::Malformed { status: None }));
    let err = api.list_services().await.unwrap_err();
    assert!(
        matches!(err.kind, ApiErrorKind::NotJson { status: 200, .. }),
        "{err}"
    );

    // A proxy's 404 page, and a 404 with a code other than "binding not found": errors the
    // way the HTTP client reports them, never a binding that is gone.
    let wide = BindingId::new(WIDE_ID).unwrap();
    emulator.add_fault(FaultRule::new(FaultAction::Malformed { status: Some(404) }));
    let err = api.delete_binding(&pid("p4"), &wide).await.unwrap_err();
    let ApiErrorKind::NotJson { status, excerpt } = &err.kind else {
        panic!("{err:?}")
    };
    assert_eq!(*status, 404);
    assert!(
        excerpt.starts_with("<!DOCTYPE html> <html><head><title>404 Not Found</title>"),
        "{excerpt}"
    );
    assert!(!err.is_binding_not_found());
    emulator.add_fault(FaultRule::new(FaultAction::Status {
        status: 404,
        retry_after_secs: None,
        code: Some(7000),
        message: Some("No route for that URI".into()),
    }));
    let err = api.get_binding(&pid("p4"), &wide).await.unwrap_err();
    assert_eq!((err.status(), err.codes()), (Some(404), vec![7000]));
    assert!(!err.is_binding_not_found());

    emulator.add_fault(
        FaultRule::new(FaultAction::status_after_processing(500))
            .method(FaultMethod::Post)
            .path_contains("/prefixes/p4/"),
    );
    let err = api
        .create_binding(&pid("p4"), net("192.0.2.128/25"), &cdn)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert!(err.is_retryable() && !err.surely_not_processed());
    emulator.add_fault(FaultRule::new(FaultAction::DropAfterProcessing));
    let err = api
        .create_binding(&pid("p4"), net("192.0.2.64/26"), &cdn)
        .await
        .unwrap_err();
    assert!(matches!(err.kind, ApiErrorKind::Transport { .. }), "{err}");
    let cidrs: Vec<String> = api
        .list_bindings(&pid("p4"))
        .await
        .unwrap()
        .iter()
        .map(|b| b.cidr.to_string())
        .collect();
    assert_eq!(
        cidrs,
        [
            "192.0.2.0/24",
            "192.0.2.16/29",
            "192.0.2.128/25",
            "192.0.2.64/26"
        ]
    );
    assert_eq!(emulator.request_counts().get(Route::CreateBinding), 2);
}

#[tokio::test]
async fn in_process_a_held_call_waits_for_its_release() {
    let (emulator, api) = in_process();
    emulator.add_fault(FaultRule::new(FaultAction::Hold).method(FaultMethod::Delete));
    let call = tokio::spawn({
        let api = api.clone();
        async move {
            api.delete_binding(&pid("p4"), &BindingId::new(CDN29_ID).unwrap())
                .await
        }
    });
    while emulator.held().held < 1 {
        tokio::task::yield_now().await;
    }
    assert_eq!(emulator.request_counts().get(Route::DeleteBinding), 1);
    assert_eq!(api.list_bindings(&pid("p4")).await.unwrap().len(), 2);
    assert_eq!(emulator.release(1).released, 1);
    call.await.unwrap().unwrap();
    assert_eq!(api.list_bindings(&pid("p4")).await.unwrap().len(), 1);
}

#[tokio::test]
async fn in_process_budget_and_provisioning_follow_the_emulated_clock() {
    let mut options = EmulatorOptions::new(TOKEN);
    options.rate_limit = Some((1, Duration::from_secs(300)));
    options.provisioning_delay = Duration::from_secs(600);
    let emulator = Emulator::new(account(), options);
    let api = emulator.in_process(default_account_id());
    let cdn = ServiceId::new(CDN_ID).unwrap();
    let created = api
        .create_binding(&pid("p6"), net("2001:db8:1000::/48"), &cdn)
        .await
        .unwrap()
        .binding;
    let err = api.list_bindings(&pid("p6")).await.unwrap_err();
    assert_eq!(err.status(), Some(429));
    assert_eq!(err.codes(), vec![971]);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(300)));
    emulator.advance(Duration::from_secs(600)).unwrap();
    let read = api
        .get_binding(&pid("p6"), &created.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.state, ProvisioningState::Active);
}

#[tokio::test]
async fn run_prints_its_address_and_serves_until_stopped() {
    struct Lines(std::sync::mpsc::Sender<Vec<u8>>);
    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let _ = self.0.send(buf.to_vec());
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let (stop, stopped) = oneshot::channel::<()>();
    let seed = StateFile {
        account_id: Some(AccountId::new("acc7").unwrap()),
        ..StateFile::default()
    };
    let server = tokio::spawn(async move {
        let mut out = Lines(tx);
        run_until(
            Some(&seed),
            "127.0.0.1:0".parse().unwrap(),
            EmulatorOptions::new(TOKEN),
            &mut out,
            async {
                let _ = stopped.await;
            },
        )
        .await
    });
    let line = tokio::task::spawn_blocking(move || {
        let mut text = Vec::new();
        while !text.ends_with(b"\n") {
            text.extend(rx.recv().unwrap());
        }
        String::from_utf8(text).unwrap()
    })
    .await
    .unwrap();
    let base = line
        .strip_prefix("svcbind emulator listening on ")
        .and_then(|l| l.strip_suffix('\n'))
        .unwrap_or_else(|| panic!("{line:?}"));
    assert!(
        base.starts_with("http://127.0.0.1:") && base.ends_with("/client/v4"),
        "{base}"
    );
    assert!(!base.ends_with(":0/client/v4"), "the real port: {base}");
    assert!(!line.contains(TOKEN));
    let response = client(Duration::from_secs(10))
        .get(format!("{base}/accounts/acc7/addressing/services"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn run_refuses_a_seed_with_an_unknown_service() {
    let seed = StateFile {
        prefixes: vec![crate::model::DesiredPrefix {
            cidr: net("192.0.2.0/24"),
            id: None,
            ignore: Vec::new(),
            bindings: vec![crate::model::DesiredBinding {
                cidr: net("192.0.2.0/24"),
                service: "Workers".into(),
                id: None,
                state: None,
                location: Default::default(),
            }],
            location: Default::default(),
        }],
        ..StateFile::default()
    };
    let mut out = Vec::new();
    let err = run_until(
        Some(&seed),
        "127.0.0.1:0".parse().unwrap(),
        EmulatorOptions::new(TOKEN),
        &mut out,
        std::future::pending(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.to_string(), "cannot seed the emulator");
    assert!(format!("{err:#}").contains("unknown service `Workers`"));
    assert!(out.is_empty());
}

#[test]
fn options_debug_hides_the_token() {
    let text = format!("{:?}", EmulatorOptions::new(TOKEN));
    assert!(
        !text.contains(TOKEN) && text.contains("<redacted>"),
        "{text}"
    );
    let emulator = Emulator::new(account(), EmulatorOptions::new(TOKEN));
    assert!(!format!("{emulator:?}").contains(TOKEN));
}
