//! The desired state through the binary: split over several files, extension keys, and the
//! offline rules that only warn or that refuse what was accepted before.

use crate::{Emu, TestEnv, root};

fn example(name: &str) -> String {
    root()
        .join("examples")
        .join(name)
        .to_str()
        .unwrap()
        .to_owned()
}

/// The separator of paths in `SVCBIND_CONFIG`, as in `PATH`.
const SEP: &str = if cfg!(windows) { ";" } else { ":" };

#[test]
fn a_split_desired_state_plans_exactly_like_the_single_file() {
    let emu = Emu::example("live.yaml");
    let env = TestEnv::against(&emu);
    let single = env
        .cmd(&["plan", "-c", &example("bindings.yaml")])
        .stdout_has("Plan: 2 to create, 1 to replace, 2 to delete; 1 prefix unchanged.")
        .run();
    // A directory; the same files named one by one; and SVCBIND_CONFIG with both.
    let split = [
        example("split/10-edge.yaml"),
        example("split/20-spectrum.yaml"),
    ];
    env.cmd(&["plan", "-c", &example("split")])
        .stdout(&single.stdout)
        .run();
    env.cmd(&["plan", "-c", &split[0], "-c", &split[1]])
        .stdout(&single.stdout)
        .run();
    TestEnv::against(&emu)
        .env("SVCBIND_CONFIG", &split.join(SEP))
        .cmd(&["plan"])
        .stdout(&single.stdout)
        .run();
    // The pull-request comment too.
    let single = env
        .cmd(&[
            "plan",
            "-c",
            &example("bindings.yaml"),
            "--format",
            "markdown",
        ])
        .run();
    env.cmd(&["plan", "-c", &example("split"), "--format", "markdown"])
        .stdout(&single.stdout)
        .run();
    env.cmd(&["validate", "-c", &example("split")])
        .stdout("ok: 3 prefixes, 7 bindings\n")
        .run();
}

/// A plan saved from several files knows them: applied with the same files it says nothing
/// of a change; after one of them changes, it says so (and still carries out the plan).
#[test]
fn a_plan_saved_from_a_directory_notices_a_change_in_any_of_its_files() {
    let emu = Emu::example("live.yaml");
    let env = TestEnv::against(&emu);
    std::fs::create_dir(env.dir.path().join("teams")).unwrap();
    for name in ["10-edge.yaml", "20-spectrum.yaml"] {
        let text = std::fs::read_to_string(root().join("examples/split").join(name)).unwrap();
        env.write(&format!("teams/{name}"), &text);
    }
    env.cmd(&["plan", "-c", "teams", "--out", "plan.json", "-q"])
        .stdout_has("Plan: 2 to create, 1 to replace, 2 to delete; 1 prefix unchanged.")
        .run();
    env.cmd(&["apply", "plan.json", "-c", "teams"])
        .status(3)
        .stdout_has("Plan: 2 to create")
        .stderr("error: apply refused: no terminal to confirm on; review the plan, then run again with --yes\n")
        .run();
    // Only the second file changes (a comment): the desired state's digest sees it.
    let second = env.dir.path().join("teams/20-spectrum.yaml");
    let text = std::fs::read_to_string(&second).unwrap();
    std::fs::write(&second, format!("{text}# reviewed\n")).unwrap();
    env.cmd(&["apply", "plan.json", "-c", "teams", "--yes"])
        .stdout_has("Apply: 6 done, 0 failed, 0 not run.")
        .stderr_has("note: teams changed since the plan was made; apply carries out the plan as it was reviewed, then run `svcbind plan` to see what the file's newer changes need\n")
        .run();
}

#[test]
fn a_conflict_across_files_names_both_in_both_forms() {
    let env = TestEnv::new().env("GITHUB_ACTIONS", "true");
    let dir = example("invalid/split-account");
    let a = format!("{dir}/a.yaml");
    let b = format!("{dir}/b.yaml");
    env.cmd(&["validate", "-c", &dir])
        .status(1)
        .stdout("")
        .stderr(&format!(
            "{b}:3:13: error: `account_id` is 0000000000000000000000000000000a here but 023e105f4ecef8ad9ca31a8372d0c353 in {a}:3
  |
3 | account_id: 0000000000000000000000000000000a
  |             ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  = hint: the files are one desired state: make `account_id` the same in each, or write it in one file only
::error file={b},line=3,col=13::`account_id` is 0000000000000000000000000000000a here but 023e105f4ecef8ad9ca31a8372d0c353 in {a}:3%0Ahint: the files are one desired state: make `account_id` the same in each, or write it in one file only
error: {dir} is not valid (1 error)
"
        ))
        .run();
}

/// The validation document holds every diagnostic with its own file, and names the files.
#[test]
fn the_validation_document_of_several_files_names_each_diagnostics_file() {
    let env = TestEnv::new();
    let dir = example("invalid/split-prefix");
    let out = env
        .cmd(&["validate", "-c", &dir, "--format", "json"])
        .status(1)
        .stderr_any()
        .run();
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["file"], dir);
    assert_eq!(
        (doc["errors"].clone(), doc["warnings"].clone()),
        (1.into(), 1.into())
    );
    let places: Vec<String> = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            format!(
                "{}:{}:{}",
                d["file"].as_str().unwrap(),
                d["line"],
                d["severity"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        places,
        [
            format!("{dir}/b.yaml:4:error"),
            format!("{dir}/c.yml:0:warning")
        ]
    );
}

#[test]
fn a_prefix_in_two_files_is_refused_before_any_api_call() {
    let emu = Emu::example("live.yaml");
    let env = TestEnv::against(&emu);
    env.write(
        "a.yaml",
        "version: 1\naccount_id: 023e105f4ecef8ad9ca31a8372d0c353\nprefixes:\n  - cidr: 192.0.2.0/24\n    bindings: []\n",
    );
    env.write(
        "b.yaml",
        "version: 1\nprefixes:\n  - cidr: 192.0.2.0/25\n    bindings: []\n",
    );
    env.cmd(&["plan", "-c", "a.yaml", "-c", "b.yaml"])
        .status(1)
        .stdout("")
        .stderr_has(
            "b.yaml:3:11: error: prefix `192.0.2.0/25` overlaps prefix `192.0.2.0/24` (a.yaml:4)\n",
        )
        .stderr_has("error: a.yaml, b.yaml is not valid (1 error, 1 warning)\n")
        .run();
    assert_eq!(emu.counts()["total"], 0, "{}", emu.counts());
}

#[test]
fn a_directory_without_yaml_files_says_so() {
    let env = TestEnv::new();
    std::fs::create_dir(env.dir.path().join("teams")).unwrap();
    env.write("teams/a.yml", "version: 1\nprefixes: []\n");
    env.cmd(&["validate", "-c", "teams"])
        .status(1)
        .stdout("")
        .stderr("error: no `*.yaml` file in the directory `teams`; found a.yml (of a directory, only `*.yaml` files are read): rename a.yml to a.yaml\n")
        .run();
}

#[test]
fn an_undocumented_service_warns_offline_and_the_account_decides_at_plan() {
    // The account has a service the documentation does not list.
    let seed = "version: 1
account_id: 023e105f4ecef8ad9ca31a8372d0c353
services:
  Magic Transit: f2f0ba6cd8a14c3e9ee9d6bd8b4b5f2a
  Workers: 0d6c3b1a2e4f4a5b8c9d0e1f2a3b4c5d
prefixes:
  - cidr: 192.0.2.0/24
    id: 2af39739cc4e3b5910c918468bb89828
    bindings:
      - { cidr: 192.0.2.0/24, service: Magic Transit, id: 0268691a34343f5f7404ff8abe0b5785, state: active }
";
    let emu = Emu::start(seed, &[]);
    let env = TestEnv::against(&emu);
    env.write(
        "svcbind.yaml",
        "version: 1
account_id: 023e105f4ecef8ad9ca31a8372d0c353
prefixes:
  - cidr: 192.0.2.0/24
    bindings:
      - { cidr: 192.0.2.0/24, service: Magic Transit }
      - { cidr: 192.0.2.16/29, service: Workers }
",
    );
    env.cmd(&["validate"])
        .stdout("ok: 1 prefix, 2 bindings (1 warning)\n")
        .stderr("svcbind.yaml:7:41: warning: `Workers` is none of Cloudflare's documented services (`Magic Transit`, `CDN`, `Spectrum`) nor a service id
  |
7 |       - { cidr: 192.0.2.16/29, service: Workers }
  |                                         ^^^^^^^
  = hint: the account decides at plan: `svcbind services` lists its services; or give the service's id
")
        .run();
    // The account knows it: plan says nothing of the guess.
    env.cmd(&["plan"])
        .stdout_has("  + create  192.0.2.16/29  Workers\n")
        .run();
}

#[test]
fn seed_only_keys_in_a_desired_file_are_warned_about() {
    let env = TestEnv::new();
    env.write(
        "svcbind.yaml",
        "version: 1
services: { CDN: a7c5b5e1c33d4ea0b2f5d4f6c1e0a9b3 }
prefixes:
  - cidr: 192.0.2.0/24
    bindings:
      - { cidr: 192.0.2.0/24, service: CDN, id: 0268691a34343f5f7404ff8abe0b5785, state: active }
",
    );
    let out = env
        .cmd(&["validate"])
        .stdout("ok: 1 prefix, 1 binding (3 warnings)\n")
        .stderr_any()
        .run();
    let located: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("svcbind.yaml:"))
        .collect();
    assert_eq!(
        located,
        [
            "svcbind.yaml:2:1: warning: `services` has no effect in a desired-state file",
            "svcbind.yaml:6:45: warning: binding key `id` has no effect in a desired-state file",
            "svcbind.yaml:6:83: warning: binding key `state` has no effect in a desired-state file",
        ]
    );
}

#[test]
fn numbers_out_of_range_and_leading_zeros_are_refused_with_the_fix() {
    let env = TestEnv::new();
    env.write(
        "svcbind.yaml",
        "version: 1
safety:
  max_deletes: 4294967296
prefixes:
  - cidr: 010.0.0.0/8
    bindings: []
",
    );
    env.cmd(&["validate"])
        .status(1)
        .stdout("")
        .stderr("svcbind.yaml:3:16: error: `safety.max_deletes` is too large: 4294967296 is more than 4294967295
  |
3 |   max_deletes: 4294967296
  |                ^^^^^^^^^^
  = hint: write a whole number from 0 to 4294967295
svcbind.yaml:5:11: error: leading zero in `010.0.0.0/8`: svcbind reads no octal, write each number without leading zeros
  |
5 |   - cidr: 010.0.0.0/8
  |           ^^^^^^^^^^^
  = hint: did you mean `10.0.0.0/8`?
error: svcbind.yaml is not valid (2 errors)
")
        .run();
}

/// 60,000 problems print the first 100 and a count, not 11 MB; the exit code and the count
/// hold them all.
#[test]
fn sixty_thousand_problems_print_a_hundred_and_a_count() {
    let env = TestEnv::new().env("GITHUB_ACTIONS", "true");
    let mut yaml = String::from(
        "version: 1\nprefixes:\n  - cidr: 10.0.0.0/8\n    bindings:\n      - { cidr: 10.0.0.0/8, service: CDN }\n",
    );
    for i in 0..60_000u32 {
        let [_, a, b, _] = i.to_be_bytes();
        yaml.push_str(&format!(
            "      - {{ cidr: 10.{a}.{b}.1/24, service: CDN }}\n"
        ));
    }
    env.write("svcbind.yaml", &yaml);
    let out = env
        .cmd(&["validate"])
        .status(1)
        .stdout("")
        .stderr_has("svcbind.yaml: note: 59900 more errors not shown; fix the ones above first\n")
        .stderr_has("::notice file=svcbind.yaml::59900 more errors not annotated; fix the ones above first\n")
        .stderr_has("error: svcbind.yaml is not valid (60000 errors)\n")
        .run();
    assert!(out.stderr.len() < 80_000, "{} bytes", out.stderr.len());
    assert_eq!(out.stderr.matches(": error: host bits set in").count(), 100);
    assert_eq!(out.stderr.matches("::error file=").count(), 100);
}
