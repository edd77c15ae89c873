//! `svcbind validate` through the binary.

use crate::{TestEnv, root};

#[test]
fn the_example_validates() {
    let env = TestEnv::new();
    let file = root().join("examples/bindings.yaml");
    env.cmd(&["validate", "-c", file.to_str().unwrap()])
        .stdout("ok: 3 prefixes, 7 bindings\n")
        .run();
}

#[test]
fn the_config_comes_from_the_environment_too() {
    let env = TestEnv::new().env(
        "SVCBIND_CONFIG",
        root().join("examples/bindings.yaml").to_str().unwrap(),
    );
    env.cmd(&["validate"])
        .stdout("ok: 3 prefixes, 7 bindings\n")
        .run();
}

#[test]
fn every_problem_is_reported_with_its_place_and_a_hint() {
    let env = TestEnv::new();
    env.write(
        "svcbind.yaml",
        "version: 1
prefixes:
  - cidr: 192.0.2.0/24
    bindings: []
  - cidr: 198.51.100.0/24
    bindings:
      - { cidr: 198.51.100.0/24, service: Magic Transit }
      - { cidr: 198.51.100.1/29, service: CDN }
      - { cidr: 198.51.100.64/26, service: Magic Transit }
      - { cidr: 203.0.113.0/28, service: CDN }
  - cidr: 2001:db8::/49
    bindings: []
  - cidr: 192.0.2.128/25
    bindings: []
",
    );
    let out = env
        .cmd(&["validate"])
        .status(1)
        .stdout("")
        .stderr_has("= hint: did you mean `198.51.100.0/29`?")
        .run();
    let located: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("svcbind.yaml:"))
        .collect();
    assert_eq!(
        located,
        [
            "svcbind.yaml:8:17: error: host bits set in `198.51.100.1/29`",
            "svcbind.yaml:9:44: error: `Magic Transit` can only be bound to the whole prefix, not to `198.51.100.64/26`",
            "svcbind.yaml:10:17: error: binding `203.0.113.0/28` is outside its prefix `198.51.100.0/24`",
            "svcbind.yaml:11:11: warning: prefix `2001:db8::/49` is smaller than BYOIP allows: IPv6 prefixes are /48 or shorter",
            "svcbind.yaml:13:11: warning: prefix `192.0.2.128/25` is smaller than BYOIP allows: IPv4 prefixes are /24 or shorter",
            "svcbind.yaml:13:11: error: prefix `192.0.2.128/25` overlaps prefix `192.0.2.0/24` (line 3)",
        ],
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .ends_with("error: svcbind.yaml is not valid (4 errors, 2 warnings)\n"),
        "{}",
        out.stderr
    );
    // The whole report, snippets and hints included, as a reader sees it.
    insta::assert_snapshot!("diagnostics_text", out.stderr);
}

#[test]
fn github_actions_get_workflow_commands() {
    let env = TestEnv::new().env("GITHUB_ACTIONS", "true");
    env.write("svcbind.yaml", "version: 2\nprefixes: []\n");
    // stdout stays free for `--format json` and `markdown` documents.
    let out = env
        .cmd(&["validate"])
        .status(1)
        .stdout("")
        .stderr_any()
        .run();
    assert!(
        out.stderr
            .lines()
            .any(|l| l.starts_with("::error file=svcbind.yaml,line=1,col=10::")),
        "{}",
        out.stderr
    );
    insta::assert_snapshot!("diagnostics_github", out.stderr);
}

#[test]
fn a_missing_file_says_how_to_name_another() {
    let out = TestEnv::new()
        .cmd(&["validate", "-c", "nope.yaml"])
        .status(1)
        .stdout("")
        .stderr_has("-c FILE")
        .run();
    assert!(
        out.stderr.starts_with("error: cannot read"),
        "{}",
        out.stderr
    );
}

#[test]
fn warnings_alone_exit_zero() {
    let env = TestEnv::new();
    env.write(
        "svcbind.yaml",
        "version: 1
prefixes:
  - cidr: 192.0.2.0/24
    bindings:
      - { cidr: 192.0.2.0/24, service: CDN }
      - { cidr: 192.0.2.16/29, service: Workers }
",
    );
    env.cmd(&["validate"])
        .stdout("ok: 1 prefix, 2 bindings (1 warning)\n")
        .stderr_has("svcbind.yaml:6:")
        .stderr_has("warning:")
        .run();
}

#[test]
fn a_more_specific_binding_of_its_covers_service_fails_validation() {
    let env = TestEnv::new();
    env.write(
        "svcbind.yaml",
        "version: 1
prefixes:
  - cidr: 192.0.2.0/24
    bindings:
      - { cidr: 192.0.2.0/24, service: CDN }
      - { cidr: 192.0.2.16/29, service: cdn }
",
    );
    env.cmd(&["validate"])
        .status(1)
        .stderr_has("svcbind.yaml:6:17: error: binding `192.0.2.16/29` has the service of the binding that covers it: `192.0.2.0/24` (line 5) already sends it to `cdn`")
        .stderr_has("remove it: its addresses go to `cdn` either way")
        .run();
}

#[test]
fn the_readme_example_validates() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let yaml = readme
        .split("```yaml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a YAML block in the README");
    let env = TestEnv::new();
    env.write("svcbind.yaml", yaml);
    env.cmd(&["validate"])
        .stdout("ok: 2 prefixes, 3 bindings\n")
        .run();
}
