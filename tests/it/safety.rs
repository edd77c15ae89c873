//! The safety rules beyond `max_deletes`, through the binary against `svcbind emulator`:
//! `max_delete_percent` and protected ranges. Plan warns; apply refuses with exit 3, naming
//! the rule and what breaks it, and changes nothing; `--force` lets it through.

use crate::{Emu, TestEnv, root};

fn writes(emu: &Emu) -> u64 {
    let c = emu.counts();
    let routes = &c["routes"];
    routes["POST /accounts/{account_id}/addressing/prefixes/{prefix_id}/bindings"]
        .as_u64()
        .unwrap_or(0)
        + routes["DELETE /accounts/{account_id}/addressing/prefixes/{prefix_id}/bindings/{binding_id}"]
            .as_u64()
            .unwrap_or(0)
}

/// An account whose 192.0.2.0/24 has 12 live bindings: Magic Transit prefix-wide and eleven
/// CDN /29s.
fn twelve_bindings() -> Emu {
    let mut seed = String::from(
        "version: 1
account_id: 023e105f4ecef8ad9ca31a8372d0c353
prefixes:
  - cidr: 192.0.2.0/24
    bindings:
      - { cidr: 192.0.2.0/24, service: Magic Transit }
",
    );
    for i in 1..=11 {
        seed.push_str(&format!(
            "      - {{ cidr: 192.0.2.{}/29, service: CDN }}\n",
            i * 8
        ));
    }
    Emu::start(&seed, &[])
}

/// The desired state of [`twelve_bindings`] without its last `deleted` /29s.
fn all_but(deleted: usize, safety: &str) -> String {
    let mut yaml = format!(
        "version: 1
account_id: 023e105f4ecef8ad9ca31a8372d0c353
{safety}prefixes:
  - cidr: 192.0.2.0/24
    bindings:
      - {{ cidr: 192.0.2.0/24, service: Magic Transit }}
"
    );
    for i in 1..=(11 - deleted) {
        yaml.push_str(&format!(
            "      - {{ cidr: 192.0.2.{}/29, service: CDN }}\n",
            i * 8
        ));
    }
    yaml
}

const SHARE: &str = "192.0.2.0/24 loses 4 of its 12 live bindings (over 33 %) to deletes and replaces; max_delete_percent allows 30 %";

#[test]
fn a_prefix_losing_more_than_max_delete_percent_needs_force() {
    let emu = twelve_bindings();
    let env = TestEnv::against(&emu);
    env.write(
        "svcbind.yaml",
        &all_but(4, "safety:\n  max_delete_percent: 30\n"),
    );
    env.cmd(&["plan"])
        .stdout_has(&format!("\nwarning: {SHARE}; apply needs --force\n"))
        .run();
    let out = env.cmd(&["plan", "--format", "json"]).run();
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["safety"]["needs_force"], true);
    assert_eq!(doc["safety"]["max_delete_percent"], 30);
    assert_eq!(
        doc["safety"]["delete_share"],
        serde_json::json!([{
            "prefix": "192.0.2.0/24",
            "destructive": 4,
            "live": 12,
            "limit": 30,
            "message": SHARE,
        }])
    );
    // Markdown escapes what would read as emphasis.
    env.cmd(&["plan", "--format", "markdown"])
        .stdout_has(&format!(
            "> [!CAUTION]\n> {}; apply needs `--force`.\n",
            SHARE.replace('_', "\\_")
        ))
        .run();

    env.cmd(&["apply", "--yes"])
        .status(3)
        .stdout_has("Plan: 0 to create, 0 to replace, 4 to delete; 0 prefixes unchanged.")
        .stderr(&format!(
            "error: apply refused: {SHARE}; review the plan, then run again with --force\n"
        ))
        .run();
    assert_eq!(writes(&emu), 0);

    // The flag sets the share too: 40 % lets these 34 % through.
    let out = env
        .cmd(&["plan", "--max-delete-percent", "40"])
        .stdout_has("Plan: 0 to create, 0 to replace, 4 to delete")
        .run();
    assert!(!out.stdout.contains("max_delete_percent"), "{}", out.stdout);
    env.cmd(&["apply", "--yes", "--force"])
        .stdout_has("Apply: 4 done, 0 failed, 0 not run.")
        .stderr_any()
        .run();
    assert_eq!(emu.bindings_of("192.0.2.0/24").len(), 8);
}

#[test]
fn max_delete_percent_leaves_small_prefixes_to_max_deletes() {
    let emu = twelve_bindings();
    let env = TestEnv::against(&emu);
    // Three bindings left, 9 of 12 deleted (75 %), then a prefix of 3 losing 2 (67 %).
    env.write(
        "svcbind.yaml",
        &all_but(9, "safety:\n  max_deletes: 20\n  max_delete_percent: 80\n"),
    );
    env.cmd(&["apply", "--yes"])
        .stdout_has("Apply: 9 done, 0 failed, 0 not run.")
        .stderr_any()
        .run();
    env.write(
        "svcbind.yaml",
        &all_but(11, "safety:\n  max_delete_percent: 10\n"),
    );
    env.cmd(&["apply", "--yes"])
        .stdout_has("Apply: 2 done, 0 failed, 0 not run.")
        .stderr_any()
        .run();
    assert_eq!(emu.bindings_of("192.0.2.0/24").len(), 1);
}

/// The quick start replaces 192.0.2.64/27 (CDN → Spectrum): a plan that moves a protected
/// range, for good and through Magic Transit while it is replaced.
const PROTECTED: &str = "protected range 192.0.2.64/27 (safety.protect) moves to another service: 192.0.2.64/27 (32 addresses) CDN → Spectrum; 192.0.2.64/27 (32 addresses) goes to Magic Transit while the CDN binding over it is replaced";

fn quick_start_protecting(ranges: &str) -> String {
    let file = std::fs::read_to_string(root().join("examples/bindings.yaml")).unwrap();
    file.replace(
        "  max_deletes: 5 ",
        &format!("  protect: [{ranges}]\n  max_deletes: 5 "),
    )
}

#[test]
fn a_plan_that_moves_a_protected_range_needs_force() {
    let emu = Emu::example("live.yaml");
    let env = TestEnv::against(&emu);
    env.write(
        "svcbind.yaml",
        &quick_start_protecting("192.0.2.64/27, 198.51.100.0/24"),
    );
    env.cmd(&["plan"])
        .stdout_has(&format!("\nwarning: {PROTECTED}; apply needs --force\n"))
        .run();
    let out = env.cmd(&["plan", "--format", "json"]).run();
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let safety = &doc["safety"];
    assert_eq!(safety["needs_force"], true);
    assert_eq!(
        safety["protect"],
        serde_json::json!(["192.0.2.64/27", "198.51.100.0/24"])
    );
    assert_eq!(safety["protected"].as_array().unwrap().len(), 1);
    assert_eq!(safety["protected"][0]["range"], "192.0.2.64/27");
    assert_eq!(safety["protected"][0]["message"], PROTECTED);
    assert_eq!(
        safety["protected"][0]["moves"][1],
        serde_json::json!({
            "cidr": "192.0.2.64/27",
            "addresses": "32",
            "from": { "id": "a7c5b5e1c33d4ea0b2f5d4f6c1e0a9b3", "name": "CDN" },
            "to": { "id": "f2f0ba6cd8a14c3e9ee9d6bd8b4b5f2a", "name": "Magic Transit" },
            "transient": true,
        })
    );

    env.cmd(&["apply", "--yes"])
        .status(3)
        .stdout_has("Plan: 2 to create, 1 to replace, 2 to delete")
        .stderr(&format!(
            "error: apply refused: {PROTECTED}; review the plan, then run again with --force\n"
        ))
        .run();
    assert_eq!(writes(&emu), 0);
    let out = env
        .cmd(&["apply", "--yes", "--format", "json"])
        .status(3)
        .stderr_any()
        .run();
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        report["refused"],
        format!("{PROTECTED}; review the plan, then run again with --force")
    );
    assert_eq!(writes(&emu), 0);

    env.cmd(&["apply", "--yes", "--force"])
        .stdout_has("Apply: 6 done, 0 failed, 0 not run.")
        .stderr_any()
        .run();
    assert!(
        emu.bindings_of("192.0.2.0/24")
            .contains(&("192.0.2.64/27".into(), "Spectrum".into()))
    );
}

#[test]
fn a_protected_range_the_plan_leaves_alone_needs_nothing() {
    let emu = Emu::example("live.yaml");
    let env = TestEnv::against(&emu);
    // Unchanged (198.51.100.0/24), or inside a prefix whose change is elsewhere.
    env.write(
        "svcbind.yaml",
        &quick_start_protecting("198.51.100.0/25, 192.0.2.32/28, 2001:db8:1000:30::/64"),
    );
    let out = env
        .cmd(&["apply", "--yes"])
        .stdout_has("Apply: 6 done, 0 failed, 0 not run.")
        .stderr_any()
        .run();
    assert!(!out.stdout.contains("protected range"), "{}", out.stdout);
}

/// A saved plan keeps the limits it was made with: `apply PLAN.json` refuses what the plan
/// said needs --force, naming the protected range, even without the file around.
#[test]
fn a_saved_plan_that_moves_a_protected_range_still_needs_force() {
    let emu = Emu::example("live.yaml");
    let env = TestEnv::against(&emu);
    env.write("svcbind.yaml", &quick_start_protecting("192.0.2.64/27"));
    env.cmd(&["plan", "--out", "plan.json", "-q"])
        .stdout_has(&format!("\nwarning: {PROTECTED}; apply needs --force\n"))
        .run();
    std::fs::remove_file(env.dir.path().join("svcbind.yaml")).unwrap();
    env.cmd(&["apply", "plan.json", "--yes"])
        .status(3)
        .stdout_has(&format!("\nwarning: {PROTECTED}; apply needs --force\n"))
        .stderr(&format!(
            "error: apply refused: {PROTECTED}; review the plan, then run again with --force\n"
        ))
        .run();
    assert_eq!(writes(&emu), 0);
    env.cmd(&["apply", "plan.json", "--yes", "--force", "-q"])
        .stdout_has("Apply: 6 done, 0 failed, 0 not run.")
        .run();
}
