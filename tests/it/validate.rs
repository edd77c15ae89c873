//! `svcbind validate` through the binary.

use crate::{TestEnv, root};

#[test]
fn the_example_validates() {
    let env = TestEnv::new();
    let file = root().join("examples/bindings.yaml");
    let out = env.run(&["validate", "-c", file.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "ok: 3 prefixes, 7 bindings\n");
    assert_eq!(out.stderr, "");
}

#[test]
fn the_config_comes_from_the_environment_too() {
    let env = TestEnv::new().env(
        "SVCBIND_CONFIG",
        root().join("examples/bindings.yaml").to_str().unwrap(),
    );
    let out = env.run(&["validate"]);
    assert_eq!(out.code, 0, "{out:?}");
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
    let out = env.run(&["validate"]);
    assert_eq!(out.code, 1, "{out:?}");
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
            .contains("= hint: did you mean `198.51.100.0/29`?"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .ends_with("error: svcbind.yaml is not valid (4 errors, 2 warnings)\n"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stdout, "");
}

#[test]
fn github_actions_get_workflow_commands() {
    let env = TestEnv::new().env("GITHUB_ACTIONS", "true");
    env.write("svcbind.yaml", "version: 2\nprefixes: []\n");
    let out = env.run(&["validate"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .lines()
            .any(|l| l.starts_with("::error file=svcbind.yaml,line=1,col=10::")),
        "{}",
        out.stderr
    );
    // stdout stays free for `--format json` and `markdown` documents.
    assert_eq!(out.stdout, "");
}

#[test]
fn a_missing_file_says_how_to_name_another() {
    let out = TestEnv::new().run(&["validate", "-c", "nope.yaml"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.starts_with("error: cannot read"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("-c FILE"), "{}", out.stderr);
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
      - { cidr: 192.0.2.16/29, service: CDN }
",
    );
    let out = env.run(&["validate"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("svcbind.yaml:6:"), "{}", out.stderr);
    assert!(out.stderr.contains("warning:"), "{}", out.stderr);
    assert_eq!(out.stdout, "ok: 1 prefix, 2 bindings (1 warning)\n");
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
    let out = env.run(&["validate"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "ok: 2 prefixes, 3 bindings\n");
}
