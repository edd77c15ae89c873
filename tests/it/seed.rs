//! A bad `--emulate` (or `emulator --seed`) file is reported as a bad seed, naming the flag,
//! never as a bad desired-state file.

use crate::{TestEnv, root};

fn bindings() -> String {
    root()
        .join("examples/bindings.yaml")
        .to_str()
        .unwrap()
        .to_owned()
}

#[test]
fn an_invalid_seed_names_the_flag() {
    let env = TestEnv::new();
    env.write(
        "seed.yaml",
        "version: 1\nprefixes:\n  - cidr: 192.0.2.0/24\n    bindings:\n      - { cidr: 192.0.2.0/24, service: CDN, stat: active }\n",
    );
    let out = env
        .cmd(&["plan", "-c", &bindings(), "--emulate", "seed.yaml"])
        .status(1)
        .stdout("")
        .stderr_has("seed.yaml:5:45: error: unknown key `stat`")
        .run();
    assert!(
        out.stderr
            .ends_with("error: the --emulate seed seed.yaml is not valid (1 error)\n"),
        "{}",
        out.stderr
    );
    env.cmd(&[
        "emulator",
        "--seed",
        "seed.yaml",
        "--token",
        "t",
        "--listen",
        "127.0.0.1:0",
    ])
    .status(1)
    .stderr_has("error: the --seed seed seed.yaml is not valid (1 error)\n")
    .run();
}

#[test]
fn a_missing_seed_names_the_flag_not_the_desired_state_file() {
    let env = TestEnv::new();
    env.cmd(&["plan", "-c", &bindings(), "--emulate", "nope.yaml"])
        .status(1)
        .stdout("")
        .stderr("error: cannot read the --emulate seed `nope.yaml`; name a seed file (the emulated account, in the desired-state format with binding ids and states): No such file or directory (os error 2)\n")
        .run();
}
