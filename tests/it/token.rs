//! The API token appears in no output and no file svcbind writes: every command, in every
//! format, at the highest verbosity (`-vvv` logs each request), with the token set in the
//! environment as CI sets it.

use crate::{ACCOUNT, Emu, TOKEN, TestEnv, root};

fn example(name: &str) -> String {
    root()
        .join("examples")
        .join(name)
        .to_str()
        .unwrap()
        .to_owned()
}

/// What one run left: its name, stdout, stderr, and any file it wrote.
struct Seen {
    what: String,
    texts: Vec<String>,
}

/// Runs `args` at `-vvv` in `env`, expecting `status`, and keeps its outputs and `files`.
fn run(env: &TestEnv, args: &[&str], status: i32, files: &[&str]) -> Seen {
    let mut args = args.to_vec();
    args.push("-vvv");
    let out = env.cmd(&args).status(status).stderr_any().run();
    let mut texts = vec![out.stdout, out.stderr];
    for file in files {
        let path = env.dir.path().join(file);
        texts.push(
            std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{args:?} wrote no {file}: {e}")),
        );
    }
    Seen {
        what: args.join(" "),
        texts,
    }
}

#[test]
fn the_token_appears_in_no_output_and_no_file_of_any_command_at_the_highest_verbosity() {
    let emu = Emu::example("live.yaml");
    let env = TestEnv::against(&emu).env("CLOUDFLARE_ACCOUNT_ID", ACCOUNT);
    let bindings = example("bindings.yaml");
    let b = bindings.as_str();
    let mut seen = Vec::new();
    for format in ["text", "json", "markdown"] {
        let f = ["--format", format];
        let plan_file = format!("plan-{format}.json");
        let drift_file = format!("drift-{format}.json");
        seen.push(run(
            &env,
            &[&["validate", "-c", b][..], &f].concat(),
            0,
            &[],
        ));
        seen.push(run(
            &env,
            &[&["plan", "-c", b, "--out", &plan_file][..], &f].concat(),
            0,
            &[&plan_file],
        ));
        seen.push(run(
            &env,
            &[&["drift", "-c", b, "--report", &drift_file][..], &f].concat(),
            2,
            &[&drift_file],
        ));
        seen.push(run(&env, &[&["show"][..], &f].concat(), 0, &[]));
        seen.push(run(
            &env,
            &[&["show", "--desired", "-c", b][..], &f].concat(),
            0,
            &[],
        ));
        seen.push(run(
            &env,
            &[&["route", "192.0.2.130", "2001:db8:1000::1"][..], &f].concat(),
            0,
            &[],
        ));
        seen.push(run(&env, &[&["services"][..], &f].concat(), 0, &[]));
    }
    seen.push(run(&env, &["export"], 0, &[]));
    seen.push(run(
        &env,
        &["export", "-o", "exported.yaml"],
        0,
        &["exported.yaml"],
    ));
    // Apply changes the account, so each run gets its own: a saved plan, then each format,
    // one of them waiting for what it created.
    seen.push(run(&env, &["apply", "plan-json.json", "--yes"], 0, &[]));
    for (format, wait) in [("text", true), ("json", false), ("markdown", false)] {
        let emu = Emu::example("live.yaml");
        let env = TestEnv::against(&emu);
        let mut args = vec!["apply", "-c", b, "--yes", "--format", format];
        if wait {
            args.push("--wait=1m");
        }
        seen.push(run(&env, &args, 0, &[]));
    }

    for s in &seen {
        for text in &s.texts {
            assert!(
                !text.contains(TOKEN),
                "{}: the token leaked:\n{text}",
                s.what
            );
        }
    }
    // The runs that call the API really logged their requests, so the scan looked at the
    // most they say (`validate` and `show --desired` read only the file).
    let offline = |s: &&Seen| s.what.starts_with("validate") || s.what.contains("--desired");
    for s in seen.iter().filter(|s| !offline(s)) {
        assert!(
            s.texts[1].contains("DEBUG") && s.texts[1].contains("api request"),
            "{}: no request logged:\n{}",
            s.what,
            s.texts[1]
        );
    }
    assert_eq!(seen.len(), 3 * 7 + 2 + 1 + 3);
}
