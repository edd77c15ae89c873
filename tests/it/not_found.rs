//! "Not found" on a DELETE, through the binary against `svcbind emulator` over HTTP: only the
//! API's own answer (404, its envelope, code 1002) means the binding is gone. A 404 for a
//! route the API does not know (code 7000) or a proxy's HTML 404 leaves the binding in place,
//! so the step fails and a new plan still shows the delete.

use serde_json::{Value, json};

use crate::{Emu, Output, TestEnv};

const SEED: &str = "version: 1
account_id: 023e105f4ecef8ad9ca31a8372d0c353
prefixes:
  - cidr: 192.0.2.0/24
    id: 2af39739cc4e3b5910c918468bb89828
    bindings:
      - { cidr: 192.0.2.0/24, service: Magic Transit, id: 0268691a34343f5f7404ff8abe0b5785, state: active }
      - { cidr: 192.0.2.16/29, service: CDN, id: 924041a85939189348b16d6171cdd9ed, state: active }
";

/// The file: only the prefix-wide binding, so the plan is one delete of 192.0.2.16/29.
const FILE: &str = "version: 1
account_id: 023e105f4ecef8ad9ca31a8372d0c353
prefixes:
  - cidr: 192.0.2.0/24
    bindings:
      - { cidr: 192.0.2.0/24, service: Magic Transit }
";

const DELETE_CALL: &str = "DELETE /accounts/023e105f4ecef8ad9ca31a8372d0c353/addressing/prefixes/2af39739cc4e3b5910c918468bb89828/bindings/924041a85939189348b16d6171cdd9ed";

const PLAN: &str = "Account 023e105f4ecef8ad9ca31a8372d0c353

192.0.2.0/24 (prefix 2af39739cc4e3b5910c918468bb89828)
  - delete  192.0.2.16/29  CDN
  Traffic impact:
    192.0.2.16/29 (8 addresses): CDN → Magic Transit

Plan: 0 to create, 0 to replace, 1 to delete; 0 prefixes unchanged.

Binding changes take 4 to 6 hours to spread over Cloudflare's network, and the addresses they touch may be disrupted meanwhile.
";

/// The report of an apply whose delete was done.
const DONE: &str = "192.0.2.0/24
  done      1. delete 192.0.2.16/29 (CDN)

Apply: 1 done, 0 failed, 0 not run.

Binding changes take 4 to 6 hours to spread over Cloudflare's network, and the addresses they touch may be disrupted meanwhile.
";

/// The emulator seeded with [`SEED`], the file written, and the next DELETE faulted.
fn setup(fault: Value) -> (Emu, TestEnv) {
    let emu = Emu::start(SEED, &[]);
    let env = TestEnv::against(&emu);
    env.write("svcbind.yaml", FILE);
    emu.fault(json!({"method": "DELETE", "action": fault}));
    (emu, env)
}

/// `apply --yes` fails its one step with `error`: exit 1, the report on stdout, the progress
/// line on stderr.
fn apply_fails_with(env: &TestEnv, error: &str) {
    let out = env
        .cmd(&["apply", "--yes"])
        .status(1)
        .stdout(&format!(
            "{PLAN}
192.0.2.0/24
  FAILED    1. delete 192.0.2.16/29 (CDN)
             {DELETE_CALL}: {error}

Apply: 0 done, 1 failed, 0 not run.
Stopped at the first failure. Fix the cause, then run `svcbind plan` to see exactly what remains and apply again.
"
        ))
        .stderr_any()
        .run();
    assert_eq!(
        progress(&out),
        format!("[1/1] 192.0.2.0/24: FAILED to delete 192.0.2.16/29 (CDN): {DELETE_CALL}: {error}")
    );
}

/// The one progress line on stderr, without its elapsed time (` (0.0 s)`), which varies.
fn progress(out: &Output) -> String {
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one progress line: {}", out.stderr);
    let (line, secs) = lines[0]
        .strip_suffix(" s)")
        .and_then(|l| l.rsplit_once(" ("))
        .unwrap_or_else(|| panic!("no elapsed time: {}", lines[0]));
    assert!(secs.parse::<f64>().is_ok(), "{secs:?}");
    line.to_owned()
}

/// The binding is still there, a new plan still shows its delete, and once the fault is used
/// up, applying again deletes it.
fn assert_delete_remains(emu: &Emu, env: &TestEnv) {
    assert_eq!(
        emu.bindings_of("192.0.2.0/24"),
        [
            ("192.0.2.0/24".into(), "Magic Transit".into()),
            ("192.0.2.16/29".into(), "CDN".into()),
        ]
    );
    env.cmd(&["plan", "--detailed-exitcode"])
        .status(2)
        .stdout(PLAN)
        .run();

    env.cmd(&["apply", "--yes", "-q"])
        .stdout(&format!("{PLAN}\n{DONE}"))
        .run();
    assert_eq!(
        emu.bindings_of("192.0.2.0/24"),
        [("192.0.2.0/24".into(), "Magic Transit".into())]
    );
}

#[test]
fn a_delete_answered_404_no_route_fails_the_step() {
    let (emu, env) = setup(json!({"type": "status", "status": 404, "code": 7000,
                                  "message": "No route for that URI"}));
    apply_fails_with(&env, "HTTP 404: No route for that URI (7000)");
    assert_delete_remains(&emu, &env);
}

#[test]
fn a_delete_answered_by_a_proxys_html_404_fails_the_step() {
    let (emu, env) = setup(json!({"type": "malformed", "status": 404}));
    apply_fails_with(
        &env,
        r#"HTTP 404 with a body that is not JSON: "<!DOCTYPE html> <html><head><title>404 Not Found</title></head><body><h1>404 Not Found</h1><p>The upstream answered something that is not JSON.</p></body></html>""#,
    );
    assert_delete_remains(&emu, &env);
}

#[test]
fn a_delete_answered_binding_not_found_by_the_api_is_already_done() {
    let (_emu, env) = setup(json!({"type": "status", "status": 404, "code": 1002,
                                  "message": "binding not found"}));
    let out = env
        .cmd(&["apply", "--yes"])
        .stdout(&format!(
            "{PLAN}\n{}",
            DONE.replace("(CDN)\n", "(CDN) (already gone)\n")
        ))
        .stderr_any()
        .run();
    assert_eq!(
        progress(&out),
        "[1/1] 192.0.2.0/24: deleted 192.0.2.16/29 (CDN, already gone)"
    );
    // The fault answered without deleting: the API said the binding was gone, and svcbind
    // takes its word; the next plan shows what is really there.
    env.cmd(&["plan", "--detailed-exitcode"])
        .status(2)
        .stdout(PLAN)
        .run();
}
