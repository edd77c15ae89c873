//! Signals during `svcbind apply` through the binary: SIGTERM as Ctrl-C, a second signal, and
//! a prefix-wide cascade cut by Ctrl-C, which is undone or finished, never left half done.
//!
//! A `hold` fault keeps the step to interrupt in flight; the test sends the signal, waits for
//! svcbind to say it is stopping, and only then releases the step: nothing depends on timing.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::json;

use crate::{Emu, Output, TestEnv, root};

/// A running svcbind whose stderr is read line by line as it comes.
pub struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: Vec<String>,
    stdout: JoinHandle<String>,
}

impl Running {
    /// Starts svcbind with `args` in `env`.
    pub fn start(env: &TestEnv, args: &[&str]) -> Self {
        let mut child = env.spawn(args);
        let mut stdout = child.stdout.take().expect("stdout");
        let stdout = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stdout.read_to_string(&mut text);
            text
        });
        let stderr = child.stderr.take().expect("stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            stderr: Vec::new(),
            stdout,
        }
    }

    /// Waits until svcbind writes a stderr line holding `piece`.
    pub fn wait_for_line(&mut self, piece: &str) {
        loop {
            match self.lines.recv_timeout(Duration::from_secs(30)) {
                Ok(line) => {
                    let found = line.contains(piece);
                    self.stderr.push(line);
                    if found {
                        return;
                    }
                }
                Err(e) => panic!(
                    "no stderr line with {piece:?} ({e}); stderr so far:\n{}",
                    self.stderr.join("\n")
                ),
            }
        }
    }

    /// Sends the signal `name` (`TERM`, `INT`).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits for svcbind to end.
    pub fn finish(mut self) -> Output {
        let status = self.child.wait().expect("svcbind ends");
        let stdout = self.stdout.join().expect("stdout read");
        self.stderr.extend(self.lines.iter());
        let mut stderr = self.stderr.join("\n");
        stderr.push('\n');
        Output {
            stdout,
            stderr,
            code: status.code().unwrap_or(-1),
        }
    }
}

/// Holds in the emulator: how many requests wait for a release.
pub fn held(emu: &Emu) -> u64 {
    let (status, body) = emu.http("GET", "/__svcbind/held", &[], "");
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    v["held"].as_u64().expect("held")
}

/// Waits until `n` requests are held.
pub fn wait_until_held(emu: &Emu, n: u64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while held(emu) < n {
        assert!(std::time::Instant::now() < deadline, "no request was held");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Lets the longest-held request go on.
pub fn release(emu: &Emu) {
    let (status, body) = emu.http("POST", "/__svcbind/release", &[], "");
    assert_eq!(status, 200, "{body}");
}

fn example(name: &str) -> String {
    root()
        .join("examples")
        .join(name)
        .to_str()
        .unwrap()
        .to_owned()
}

fn writes(emu: &Emu) -> u64 {
    let routes = &emu.counts()["routes"];
    ["POST", "DELETE"]
        .iter()
        .map(|m| {
            routes
                .as_object()
                .expect("routes")
                .iter()
                .filter(|(k, _)| k.starts_with(m) && k.contains("/bindings"))
                .map(|(_, v)| v.as_u64().unwrap_or(0))
                .sum::<u64>()
        })
        .sum()
}

#[test]
fn ctrl_c_finishes_the_step_in_flight_reports_and_exits_130() {
    a_signal_finishes_the_step_in_flight("INT", "Ctrl-C");
}

#[test]
fn sigterm_finishes_the_step_in_flight_reports_and_exits_130() {
    a_signal_finishes_the_step_in_flight("TERM", "SIGTERM");
}

/// An apply whose first step is held in flight gets `signal` (`said` as svcbind names it):
/// that step finishes, nothing else runs, the report is printed, and the exit code is 130.
fn a_signal_finishes_the_step_in_flight(signal: &str, said: &str) {
    let emu = Emu::example("live.yaml");
    let env = TestEnv::against(&emu);
    emu.fault(json!({"method": "POST", "action": {"type": "hold"}}));
    let bindings = example("bindings.yaml");
    let mut apply = Running::start(
        &env,
        &["apply", "-c", &bindings, "--yes", "--concurrency", "1"],
    );
    wait_until_held(&emu, 1);
    apply.signal(signal);
    apply.wait_for_line(&format!(
        "interrupted ({said}): finishing the steps in flight"
    ));
    release(&emu);
    let out = apply.finish();
    assert_eq!(out.code, 130, "{out:?}");
    // The step in flight finished; nothing else ran; the report was printed.
    assert!(
        out.stdout.contains("Apply: 1 done, 0 failed, 5 not run."),
        "{out:?}"
    );
    assert!(out.stdout.contains("Interrupted:"), "{out:?}");
    assert_eq!(writes(&emu), 1);
    assert!(
        emu.bindings_of("192.0.2.0/24")
            .contains(&("192.0.2.128/28".into(), "CDN".into()))
    );
}

#[test]
fn a_second_signal_prints_the_steps_in_flight_and_exits_at_once() {
    let emu = Emu::example("live.yaml");
    let env = TestEnv::against(&emu);
    emu.fault(json!({"method": "POST", "action": {"type": "hold"}}));
    let bindings = example("bindings.yaml");
    let mut apply = Running::start(
        &env,
        &["apply", "-c", &bindings, "--yes", "--concurrency", "1"],
    );
    wait_until_held(&emu, 1);
    apply.signal("TERM");
    apply.wait_for_line("interrupted (SIGTERM)");
    // The step is still held: the second signal comes while it is in flight.
    apply.signal("INT");
    let out = apply.finish();
    assert_eq!(out.code, 130, "{out:?}");
    assert!(
        out.stderr.contains(
            "interrupted again (Ctrl-C): quitting now; 1 step was in flight, so its outcome is unknown (run `svcbind plan` to see the account as it is):\n  192.0.2.0/24: create 192.0.2.128/28 → CDN\n"
        ),
        "{out:?}"
    );
    // It quit without a report, with the step still held.
    assert!(!out.stdout.contains("Apply:"), "{out:?}");
    assert_eq!(held(&emu), 1);
    release(&emu);
}

/// 192.0.2.0/24 of `examples/live.yaml` moves from Magic Transit to Spectrum; its three CDN
/// bindings stay as they are, so the cascade deletes and re-creates them.
const PREFIX_WIDE_REPLACE: &str = "version: 1
account_id: 023e105f4ecef8ad9ca31a8372d0c353
prefixes:
  - cidr: 192.0.2.0/24
    bindings:
      - { cidr: 192.0.2.0/24, service: Spectrum }
      - { cidr: 192.0.2.16/29, service: CDN }
      - { cidr: 192.0.2.64/27, service: CDN }
      - { cidr: 192.0.2.200/29, service: CDN }
";

fn live_192() -> Vec<(String, String)> {
    [
        ("192.0.2.0/24", "Magic Transit"),
        ("192.0.2.16/29", "CDN"),
        ("192.0.2.200/29", "CDN"),
        ("192.0.2.64/27", "CDN"),
    ]
    .iter()
    .map(|(c, s)| ((*c).to_owned(), (*s).to_owned()))
    .collect()
}

#[test]
fn ctrl_c_early_in_a_prefix_wide_replace_restores_the_bindings_it_deleted() {
    let emu = Emu::example("live.yaml");
    let env = TestEnv::against(&emu);
    env.write("svcbind.yaml", PREFIX_WIDE_REPLACE);
    // The cascade: delete /29 .16, /29 .200, /27, the prefix-wide binding; create it, /27,
    // /29 .16, /29 .200. Ctrl-C comes while the second delete is in flight.
    emu.fault(json!({"method": "DELETE", "action": {"type": "delay", "millis": 0}}));
    emu.fault(json!({"method": "DELETE", "action": {"type": "hold"}}));
    let mut apply = Running::start(&env, &["apply", "--yes", "--force"]);
    wait_until_held(&emu, 1);
    apply.signal("INT");
    apply.wait_for_line("interrupted (Ctrl-C)");
    release(&emu);
    let out = apply.finish();
    assert_eq!(out.code, 130, "{out:?}");
    // The two bindings it deleted are back, on their old service: the prefix is as before.
    assert_eq!(emu.bindings_of("192.0.2.0/24"), live_192());
    let report: Vec<&str> = out
        .stdout
        .lines()
        .skip_while(|l| *l != "192.0.2.0/24")
        .collect();
    assert_eq!(
        report[1..=10],
        [
            "  done      1. delete 192.0.2.16/29 (CDN)",
            "  done      2. delete 192.0.2.200/29 (CDN)",
            "  not run   3. delete 192.0.2.64/27 (CDN)",
            "  not run   4. delete 192.0.2.0/24 (Magic Transit)",
            "  not run   5. create 192.0.2.0/24 → Spectrum",
            "  not run   6. create 192.0.2.64/27 → CDN",
            "  not run   7. create 192.0.2.16/29 → CDN",
            "  not run   8. create 192.0.2.200/29 → CDN",
            "  Restored: the apply stopped before the prefix-wide binding of 192.0.2.0/24 was replaced, so the 2 more-specific bindings its cascade had deleted were created again with their old services; the prefix is as it was before this apply:",
            "  done         create 192.0.2.16/29 → CDN",
        ],
        "{}",
        out.stdout
    );
    assert_eq!(report[11], "  done         create 192.0.2.200/29 → CDN");
    assert!(
        out.stderr
            .contains("[restore] 192.0.2.0/24: created 192.0.2.16/29 → CDN"),
        "{out:?}"
    );
    // A new plan is the whole replace again.
    env.cmd(&["plan"])
        .stdout_has("Plan: 0 to create, 1 to replace, 0 to delete; 0 prefixes unchanged.")
        .stderr_any()
        .run();
}

#[test]
fn ctrl_c_after_the_prefix_wide_delete_finishes_the_replace() {
    let emu = Emu::example("live.yaml");
    let env = TestEnv::against(&emu);
    env.write("svcbind.yaml", PREFIX_WIDE_REPLACE);
    // Ctrl-C while the new prefix-wide binding is being created (all deletes are done).
    emu.fault(json!({"method": "POST", "action": {"type": "hold"}}));
    let mut apply = Running::start(
        &env,
        &["apply", "--yes", "--force", "--format", "json", "-q"],
    );
    wait_until_held(&emu, 1);
    apply.signal("INT");
    apply.wait_for_line("interrupted (Ctrl-C)");
    release(&emu);
    let out = apply.finish();
    assert_eq!(out.code, 130, "{out:?}");
    let mut want = live_192();
    want[0].1 = "Spectrum".into();
    assert_eq!(emu.bindings_of("192.0.2.0/24"), want);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).expect("one JSON document");
    assert_eq!(doc["interrupted"], true);
    assert_eq!(
        doc["prefixes"][0]["cascade"],
        json!({"outcome": "finished"})
    );
    assert_eq!(doc["prefixes"][0]["unbound"], false);
    assert_eq!(
        doc["summary"],
        json!({"done": 8, "failed": 0, "not_run": 0})
    );
}
