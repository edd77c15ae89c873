//! The command line through the binary: each subcommand takes only its own flags.

use crate::TestEnv;

/// The long flags listed by `svcbind SUBCOMMAND --help`.
fn listed_flags(help: &str) -> Vec<&str> {
    let mut flags: Vec<&str> = help
        .lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with('-'))
        .filter_map(|l| l.split([',', ' ', '=']).find(|w| w.starts_with("--")))
        .map(|w| w.trim_end_matches("..."))
        .collect();
    flags.sort_unstable();
    flags
}

#[test]
fn validate_and_emulator_help_list_only_their_flags() {
    let out = TestEnv::new().cmd(&["validate", "--help"]).run();
    assert_eq!(
        listed_flags(&out.stdout),
        [
            "--color",
            "--config",
            "--format",
            "--help",
            "--quiet",
            "--verbose"
        ]
    );
    let out = TestEnv::new().cmd(&["emulator", "--help"]).run();
    assert_eq!(
        listed_flags(&out.stdout),
        [
            "--help",
            "--latency",
            "--listen",
            "--provisioning-delay",
            "--quiet",
            "--rate-limit",
            "--seed",
            "--token",
            "--verbose"
        ]
    );
}

#[test]
fn a_flag_of_another_command_is_a_usage_error() {
    let out = TestEnv::new()
        .cmd(&["validate", "--api-url", "x"])
        .status(1)
        .stdout("")
        .stderr_has(
            "tip: `svcbind validate` does not take `--api-url`; it is a flag of `svcbind plan`, `svcbind apply`, `svcbind services`",
        )
        .run();
    assert!(
        out.stderr
            .starts_with("error: unexpected argument '--api-url' found\n"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_bad_prefix_or_account_id_is_refused_before_any_work() {
    let env = TestEnv::new();
    env.cmd(&["plan", "--prefix", "192.0.2.1/24"])
        .status(1)
        .stdout("")
        .stderr("error: --prefix `192.0.2.1/24` has host bits set; did you mean `192.0.2.0/24`?\n")
        .run();
    env.env("CLOUDFLARE_ACCOUNT_ID", "not/an/id")
        .cmd(&["services"])
        .status(1)
        .stdout("")
        .stderr("error: --account-id / CLOUDFLARE_ACCOUNT_ID is not an account id: invalid account id `not/an/id`: an id is 1 to 32 letters or digits\n")
        .run();
}
