//! `svcbind export` through the binary, against `svcbind emulator`: the file it writes, that
//! `plan` on it shows no changes (for every example seed and a large nested account), that it
//! never overwrites a file without `--force`, and `--prefix`.

use crate::{ACCOUNT, Emu, TestEnv, root};

fn env(emu: &Emu) -> TestEnv {
    TestEnv::against(emu).env("CLOUDFLARE_ACCOUNT_ID", ACCOUNT)
}

/// The export's header names the time and the version: both vary.
fn stable(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# Exported by svcbind ") {
            let account = rest.split(" from account ").nth(1).unwrap_or_default();
            let account = account.split(" at ").next().unwrap_or_default();
            out.push_str(&format!(
                "# Exported by svcbind [version] from account {account} at [time].\n"
            ));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Exports the account of `emu` to a file, then plans that file against it: no changes.
fn export_then_plan(emu: &Emu) -> String {
    let env = env(emu);
    env.cmd(&["export", "-o", "exported.yaml"])
        .stderr_has("exported ")
        .stderr_has(" to exported.yaml\n")
        .run();
    env.cmd(&["validate", "-c", "exported.yaml"])
        .stdout_has("ok: ")
        .run();
    env.cmd(&["plan", "-c", "exported.yaml", "--detailed-exitcode"])
        .stdout_has("No changes. The live bindings match the file")
        .run();
    std::fs::read_to_string(env.dir.path().join("exported.yaml")).unwrap()
}

#[test]
fn the_quick_start_account_exported() {
    let emu = Emu::example("live.yaml");
    let out = env(&emu).cmd(&["export"]).run();
    assert!(out.stdout.contains(&format!("from account {ACCOUNT} at ")));
    insta::assert_snapshot!("export_live_example", stable(&out.stdout));
    // Services, prefixes, and one list per prefix.
    assert_eq!(emu.counts()["total"], 2 + 3);
}

#[test]
fn plan_on_an_export_of_every_example_seed_shows_no_changes() {
    let mut seeds: Vec<_> = std::fs::read_dir(root().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    seeds.sort();
    assert!(seeds.len() >= 2, "{seeds:?}");
    for seed in seeds {
        let emu = Emu::start(&std::fs::read_to_string(&seed).unwrap(), &[]);
        let exported = export_then_plan(&emu);
        assert!(
            exported.starts_with("# svcbind desired-state file"),
            "{}",
            seed.display()
        );
    }
}

/// 200 prefixes, half IPv4 and half IPv6, each with bindings nested four deep, one of them
/// still provisioning, and an empty prefix.
fn large_seed() -> String {
    let mut seed = format!("version: 1\naccount_id: {ACCOUNT}\nprefixes:\n");
    for i in 0..100 {
        seed.push_str(&format!(
            "  - cidr: 10.{i}.0.0/24
    bindings:
      - {{ cidr: 10.{i}.0.0/24, service: Magic Transit }}
      - {{ cidr: 10.{i}.0.0/25, service: CDN }}
      - {{ cidr: 10.{i}.0.32/27, service: Spectrum }}
      - {{ cidr: 10.{i}.0.40/29, service: CDN, state: provisioning }}
      - {{ cidr: 10.{i}.0.192/26, service: Spectrum }}
"
        ));
    }
    for i in 0..99 {
        seed.push_str(&format!(
            "  - cidr: 2001:db8:{i:x}::/48
    bindings:
      - {{ cidr: 2001:db8:{i:x}::/48, service: CDN }}
      - {{ cidr: 2001:db8:{i:x}:1000::/52, service: Spectrum }}
      - {{ cidr: 2001:db8:{i:x}:1100::/56, service: CDN }}
      - {{ cidr: 2001:db8:{i:x}:1120::/64, service: Spectrum }}
      - {{ cidr: 2001:db8:{i:x}:8000::/64, service: Spectrum }}
"
        ));
    }
    seed.push_str("  - cidr: 2001:db8:ffff::/48\n    bindings: []\n");
    seed
}

#[test]
fn plan_on_an_export_of_a_large_nested_account_shows_no_changes() {
    let emu = Emu::start(&large_seed(), &[]);
    let exported = export_then_plan(&emu);
    assert_eq!(exported.matches("  - cidr: ").count(), 200);
    // The empty prefix is exported as such.
    let empty = exported
        .split_once("  - cidr: 2001:db8:ffff::/48  # prefix ")
        .expect("the empty prefix")
        .1;
    assert!(
        empty
            .split_once('\n')
            .unwrap()
            .1
            .starts_with("    bindings: []\n")
    );
    assert!(exported.contains(
        "      - { cidr: 10.7.0.40/29, service: CDN }  # provisioning, not active yet\n"
    ));
    // Sorted: IPv4 by address, then IPv6.
    let cidrs: Vec<&str> = exported
        .lines()
        .filter_map(|l| l.strip_prefix("  - cidr: "))
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    let mut sorted: Vec<ipnet::IpNet> = cidrs.iter().map(|c| c.parse().unwrap()).collect();
    sorted.sort();
    let sorted: Vec<String> = sorted.iter().map(ToString::to_string).collect();
    assert_eq!(cidrs, sorted);
}

#[test]
fn an_existing_file_is_overwritten_only_with_force() {
    let emu = Emu::example("live.yaml");
    let env = env(&emu);
    let path = env.write("svcbind.yaml", "# mine\n");
    env.cmd(&["export", "-o", "svcbind.yaml"])
        .status(1)
        .stdout("")
        .stderr("error: svcbind.yaml exists; pass --force to overwrite it, or name another file with -o\n")
        .run();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "# mine\n");
    // Refused before any call.
    assert_eq!(emu.counts()["total"], 0);
    env.cmd(&["export", "-o", "svcbind.yaml", "--force"])
        .stderr("exported 3 prefixes, 7 bindings to svcbind.yaml\n")
        .run();
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("service: Magic Transit")
    );
}

#[test]
fn the_prefix_filter_exports_only_what_it_names() {
    let emu = Emu::example("live.yaml");
    let env = env(&emu);
    let out = env
        .cmd(&[
            "export",
            "--prefix",
            "198.51.100.0/24",
            "--prefix",
            "27203fb4a75ab20477af870466c990cc",
        ])
        .run();
    let cidrs: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("  - cidr: "))
        .collect();
    assert_eq!(
        cidrs,
        [
            "198.51.100.0/24  # prefix ac49a052844a077e7982a0a1fe50652f",
            "2001:db8:1000::/48  # prefix 27203fb4a75ab20477af870466c990cc"
        ]
    );
    assert_eq!(emu.counts()["total"], 2 + 2);
    env.cmd(&["export", "--prefix", "10.0.0.0/8"])
        .status(1)
        .stdout("")
        .stderr("error: --prefix 10.0.0.0/8 matches no prefix of the account; use the CIDR or the id of one of its prefixes: 192.0.2.0/24, 198.51.100.0/24, 2001:db8:1000::/48\n")
        .run();
}

#[test]
fn the_readme_shows_real_output() {
    let args = ["export", "--emulate", "examples/live.yaml"];
    let out = crate::with_examples().cmd(&args).run();
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let shown = readme
        .split_once(&format!("$ svcbind {}\n", args.join(" ")))
        .expect("the README's export example")
        .1
        .split_once("```")
        .unwrap()
        .0;
    assert_eq!(stable(shown), stable(&out.stdout));
}

#[test]
fn live_bindings_that_break_the_rules_are_exported_with_a_comment_and_validate_reports_them() {
    // What the API should never have let happen: no prefix-wide binding, one CIDR bound
    // twice, Magic Transit below the prefix.
    let emu = Emu::start(
        "version: 1
account_id: 023e105f4ecef8ad9ca31a8372d0c353
prefixes:
  - cidr: 192.0.2.0/24
    bindings:
      - { cidr: 192.0.2.16/29, service: CDN, id: b1 }
      - { cidr: 192.0.2.16/29, service: Spectrum, id: b2 }
      - { cidr: 192.0.2.64/27, service: Magic Transit, id: b3 }
  - cidr: 198.51.100.0/24
    bindings:
      - { cidr: 198.51.100.0/24, service: CDN, id: b4 }
",
        &[],
    );
    let env = env(&emu);
    env.cmd(&["export", "-o", "exported.yaml"])
        .stderr("exported 2 prefixes, 4 bindings to exported.yaml\nwarning: the live state breaks the API's rules in 4 places; each is exported with a comment saying so, and `svcbind validate` reports it\n")
        .run();
    let text = std::fs::read_to_string(env.dir.path().join("exported.yaml")).unwrap();
    assert_eq!(
        text.split_once("prefixes:\n").unwrap().1,
        "  # breaks the API's rules: prefix 192.0.2.0/24 has no prefix-wide binding: the first binding of a prefix must be 192.0.2.0/24 itself, then more-specific ones may follow; `svcbind validate` reports it
  - cidr: 192.0.2.0/24  # prefix 78f9e1a92e8ac05e80a6447b8ff3eb16
    bindings:
      # breaks the API's rules: 192.0.2.16/29 already has a binding (`b2`); a binding cannot be changed: delete it, then create the new one; `svcbind validate` reports it
      - { cidr: 192.0.2.16/29, service: CDN }
      # breaks the API's rules: 192.0.2.16/29 already has a binding (`b1`); a binding cannot be changed: delete it, then create the new one; `svcbind validate` reports it
      - { cidr: 192.0.2.16/29, service: Spectrum }
      # breaks the API's rules: Magic Transit can only be bound to the whole prefix 192.0.2.0/24, not to 192.0.2.64/27; `svcbind validate` reports it
      - { cidr: 192.0.2.64/27, service: Magic Transit }
  - cidr: 198.51.100.0/24  # prefix 803a67ec56a1af2f139bcb231eafb7e4
    bindings:
      - { cidr: 198.51.100.0/24, service: CDN }
"
    );
    assert!(
        text.contains("# The live state breaks the API's rules (each place is commented below)")
    );
    // The file says what the account holds, and validate judges it for what it is: each
    // broken rule is an error at its place, and nothing else is.
    let out = env
        .cmd(&["validate", "-c", "exported.yaml"])
        .status(1)
        .stderr_any()
        .run();
    for place in [
        "exported.yaml:8:11: error: prefix `192.0.2.0/24` has no prefix-wide binding",
        "exported.yaml:13:17: error: duplicate binding `192.0.2.16/29`",
        "exported.yaml:15:41: error: `Magic Transit` can only be bound to the whole prefix, not to `192.0.2.64/27`",
        "error: exported.yaml is not valid (3 errors)",
    ] {
        assert!(out.stderr.contains(place), "{place}\n{}", out.stderr);
    }
    assert_eq!(out.stderr.matches(": error: ").count(), 3, "{}", out.stderr);
}
