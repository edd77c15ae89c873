//! End-to-end tests: the real binary against `svcbind emulator` over HTTP on 127.0.0.1.
//!
//! [`TestEnv`] holds a temporary directory for files; [`Emu`] runs `svcbind emulator` on a free
//! port (read from its first output line, never by sleeping) and talks to its admin endpoints.
//! Every run starts from an empty environment, so nothing on the machine leaks in.

mod answers;
mod apply;
mod changed_since;
mod ci;
mod cli;
mod covers;
mod documents;
mod drift;
mod emulator;
mod export;
mod faults;
mod files;
mod first_use;
mod impact;
mod layering;
mod not_found;
mod output_errors;
mod pacing;
mod plan;
mod plan_props;
mod route;
mod safety;
mod sanitize;
mod saved_plan;
mod security;
mod seed;
mod services;
mod show;
mod signals;
mod token;
mod validate;
mod wait;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_svcbind");
pub const TOKEN: &str = "it-token-0123456789";
pub const ACCOUNT: &str = "023e105f4ecef8ad9ca31a8372d0c353";

/// The repository's root (for `examples/`).
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A directory with a copy of `examples/`, to run commands as the README shows them.
pub fn with_examples() -> TestEnv {
    let env = TestEnv::new();
    std::fs::create_dir(env.dir.path().join("examples")).expect("an examples directory");
    for name in ["bindings.yaml", "live.yaml"] {
        let text = std::fs::read_to_string(root().join("examples").join(name)).expect("example");
        env.write(&format!("examples/{name}"), &text);
    }
    env
}

/// Whether the README shows `command` (as typed after `$ `) followed by `output` in one of
/// its console blocks.
pub fn readme_shows(command: &str, output: &str) -> bool {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("the README");
    readme.contains(&format!("$ {command}\n{output}"))
}

/// The output of one run of the binary.
#[derive(Debug)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

/// A temporary directory and an environment to run the binary in.
pub struct TestEnv {
    pub dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Default for TestEnv {
    fn default() -> Self {
        Self::new()
    }
}

impl TestEnv {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("a temporary directory"),
            env: Vec::new(),
        }
    }

    /// Points the binary at `emu` with the right token.
    pub fn against(emu: &Emu) -> Self {
        Self::new()
            .env("CLOUDFLARE_BASE_URL", &emu.base_url())
            .env("CLOUDFLARE_API_TOKEN", TOKEN)
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Writes a file into the directory and returns its path.
    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).expect("write a test file");
        path
    }

    /// A run of the binary with `args` in the directory, to be given its expectations and
    /// [`Test::run`]. By default it must exit 0 with nothing on stderr; stdout is not checked
    /// unless the test says what it must hold.
    pub fn cmd(&self, args: &[&str]) -> Test<'_> {
        Test {
            env: self,
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            stdin: String::new(),
            status: 0,
            stdout: Expect::Any,
            stderr: Expect::Exact(String::new()),
        }
    }

    /// Starts the binary with `args` in the background, stdout and stderr piped.
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run svcbind")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .args(args)
            .current_dir(self.dir.path())
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        command
    }

    fn exec(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run svcbind");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write stdin");
        Output::of(child.wait_with_output().expect("wait for svcbind"))
    }
}

impl Output {
    /// The output of a finished child process.
    pub fn of(out: std::process::Output) -> Self {
        Output {
            stdout: String::from_utf8(out.stdout).expect("utf-8 stdout"),
            stderr: String::from_utf8(out.stderr).expect("utf-8 stderr"),
            code: out.status.code().unwrap_or(-1),
        }
    }
}

/// What a stream must hold.
#[derive(Debug, Clone)]
pub enum Expect {
    /// Anything (the test checks it itself, e.g. with a snapshot).
    Any,
    /// Exactly this text.
    Exact(String),
    /// Each of these pieces, somewhere.
    Contains(Vec<String>),
}

impl Expect {
    fn check(&self, stream: &str, actual: &str) -> Option<String> {
        match self {
            Expect::Any => None,
            Expect::Exact(want) if want == actual => None,
            Expect::Exact(want) => Some(format!(
                "{stream} differs\n--- expected {stream}\n{want}\n--- actual {stream}\n{actual}"
            )),
            Expect::Contains(pieces) => {
                let missing: Vec<&String> = pieces
                    .iter()
                    .filter(|p| !actual.contains(p.as_str()))
                    .collect();
                (!missing.is_empty()).then(|| format!("{stream} lacks {missing:?}"))
            }
        }
    }

    fn add(&mut self, piece: &str) {
        match self {
            Expect::Contains(pieces) => pieces.push(piece.to_owned()),
            _ => *self = Expect::Contains(vec![piece.to_owned()]),
        }
    }
}

/// One run of the binary and what it must give: status, stdout and stderr are checked together
/// by [`Test::run`], which reports all three when anything differs.
#[must_use = "a test does nothing until it is run"]
pub struct Test<'a> {
    env: &'a TestEnv,
    args: Vec<String>,
    stdin: String,
    status: i32,
    stdout: Expect,
    stderr: Expect,
}

impl Test<'_> {
    /// Feeds `text` on stdin.
    pub fn stdin(mut self, text: &str) -> Self {
        self.stdin = text.to_owned();
        self
    }

    /// The exit status it must end with (0 unless set).
    pub fn status(mut self, code: i32) -> Self {
        self.status = code;
        self
    }

    /// stdout must be exactly `text`.
    pub fn stdout(mut self, text: &str) -> Self {
        self.stdout = Expect::Exact(text.to_owned());
        self
    }

    /// stdout must contain `piece` (repeat for more).
    pub fn stdout_has(mut self, piece: &str) -> Self {
        self.stdout.add(piece);
        self
    }

    /// stderr must be exactly `text` (empty unless set).
    pub fn stderr(mut self, text: &str) -> Self {
        self.stderr = Expect::Exact(text.to_owned());
        self
    }

    /// stderr must contain `piece` (repeat for more).
    pub fn stderr_has(mut self, piece: &str) -> Self {
        self.stderr.add(piece);
        self
    }

    /// stderr may hold anything: the test checks it itself.
    pub fn stderr_any(mut self) -> Self {
        self.stderr = Expect::Any;
        self
    }

    /// Runs the binary and checks status, stdout and stderr; panics with all three otherwise.
    pub fn run(self) -> Output {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        let out = self.env.exec(&args, &self.stdin);
        let mut problems = Vec::new();
        if out.code != self.status {
            problems.push(format!(
                "exit status {} instead of {}",
                out.code, self.status
            ));
        }
        problems.extend(self.stdout.check("stdout", &out.stdout));
        problems.extend(self.stderr.check("stderr", &out.stderr));
        assert!(
            problems.is_empty(),
            "svcbind {}\n{}\n--- status {}\n--- stdout\n{}\n--- stderr\n{}",
            self.args.join(" "),
            problems.join("\n"),
            out.code,
            out.stdout,
            out.stderr
        );
        out
    }
}

/// A running `svcbind emulator`, killed on drop.
pub struct Emu {
    child: Child,
    addr: String,
    _seed_dir: tempfile::TempDir,
}

impl Emu {
    /// Starts the emulator seeded with `seed` (YAML), with extra flags.
    pub fn start(seed: &str, extra: &[&str]) -> Self {
        Self::start_on("127.0.0.1:0", seed, extra)
    }

    /// Starts the emulator listening on `listen` (reached through 127.0.0.1 whatever the
    /// address, e.g. `0.0.0.0:0`, so no test leaves the machine).
    pub fn start_on(listen: &str, seed: &str, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let seed_path = dir.path().join("seed.yaml");
        std::fs::write(&seed_path, seed).expect("write the seed");
        let mut child = Command::new(BIN)
            .arg("emulator")
            .args(["--listen", listen, "--token", TOKEN, "--seed"])
            .arg(&seed_path)
            .args(extra)
            .env_clear()
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start svcbind emulator");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the emulator's first line");
        let addr = line
            .trim()
            .strip_prefix("svcbind emulator listening on http://")
            .and_then(|rest| rest.strip_suffix("/client/v4"))
            .unwrap_or_else(|| panic!("unexpected first line from the emulator: {line:?}"))
            .replace("0.0.0.0:", "127.0.0.1:");
        Self {
            child,
            addr,
            _seed_dir: dir,
        }
    }

    /// Starts the emulator seeded with a file of `examples/`.
    pub fn example(name: &str) -> Self {
        let seed = std::fs::read_to_string(root().join("examples").join(name)).expect("example");
        Self::start(&seed, &[])
    }

    pub fn base_url(&self) -> String {
        format!("http://{}/client/v4", self.addr)
    }

    /// A plain HTTP/1.1 request to the emulator; returns (status, body).
    pub fn http(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, String) {
        let mut stream = TcpStream::connect(&self.addr).expect("connect to the emulator");
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        for (k, v) in headers {
            request.push_str(&format!("{k}: {v}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(body);
        stream.write_all(request.as_bytes()).expect("send");
        let mut raw = String::new();
        stream.read_to_string(&mut raw).expect("read the answer");
        let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP answer");
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("a status code");
        let body = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(body)
        } else {
            body.to_owned()
        };
        (status, body)
    }

    fn admin(&self, method: &str, path: &str, body: &str) -> serde_json::Value {
        let (status, body) = self.http(method, path, &[("Content-Type", "application/json")], body);
        assert!(status < 300, "admin {method} {path}: {status} {body}");
        serde_json::from_str(&body).expect("admin JSON")
    }

    /// Requests per route since the start (or the last reset).
    pub fn counts(&self) -> serde_json::Value {
        self.admin("GET", "/__svcbind/requests", "")
    }

    pub fn reset_counts(&self) {
        self.admin("DELETE", "/__svcbind/requests", "");
    }

    /// Adds a fault rule (JSON as the emulator documents it).
    pub fn fault(&self, rule: serde_json::Value) {
        self.admin("POST", "/__svcbind/faults", &rule.to_string());
    }

    /// The emulated account: prefixes with their bindings.
    pub fn state(&self) -> serde_json::Value {
        self.admin("GET", "/__svcbind/state", "")
    }

    /// `cidr → service name` of every binding of the prefix `cidr`.
    pub fn bindings_of(&self, cidr: &str) -> Vec<(String, String)> {
        let state = self.state();
        let prefix = state["prefixes"]
            .as_array()
            .expect("prefixes")
            .iter()
            .find(|p| p["cidr"] == cidr)
            .unwrap_or_else(|| panic!("no prefix {cidr}"));
        let mut out: Vec<(String, String)> = prefix["bindings"]
            .as_array()
            .expect("bindings")
            .iter()
            .map(|b| {
                (
                    b["cidr"].as_str().unwrap().to_owned(),
                    b["service_name"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        out.sort();
        out
    }
}

impl Drop for Emu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
    out
}

#[test]
fn help_reads_well_and_names_every_command() {
    let out = TestEnv::new()
        .cmd(&["--help"])
        .stdout_has("CLOUDFLARE_API_TOKEN")
        .run();
    for command in [
        "validate",
        "plan",
        "apply",
        "services",
        "drift",
        "export",
        "show",
        "route",
        "emulator",
        "completions",
    ] {
        assert!(
            out.stdout.contains(command),
            "--help lacks {command}:\n{}",
            out.stdout
        );
    }
}

#[test]
fn completions_are_printed() {
    TestEnv::new()
        .cmd(&["completions", "bash"])
        .stdout_has("_svcbind()")
        .run();
}
