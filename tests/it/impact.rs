//! The traffic impact of a plan through the binary: a block minus a few holes reads as one
//! line in text and markdown, while the JSON keeps the exact minimal blocks.

use crate::{Emu, TestEnv};

const SEED: &str = "version: 1
account_id: 023e105f4ecef8ad9ca31a8372d0c353
prefixes:
  - cidr: 2001:db8:beef::/48
    bindings:
      - { cidr: 2001:db8:beef::/48, service: CDN }
      - { cidr: 2001:db8:beef:10::/64, service: Spectrum }
      - { cidr: 2001:db8:beef:20::/64, service: Spectrum }
";

const FILE: &str = "version: 1
account_id: 023e105f4ecef8ad9ca31a8372d0c353
prefixes:
  - cidr: 2001:db8:beef::/48
    bindings:
      - { cidr: 2001:db8:beef::/48, service: Magic Transit }
      - { cidr: 2001:db8:beef:10::/64, service: Spectrum }
      - { cidr: 2001:db8:beef:20::/64, service: Spectrum }
";

#[test]
fn a_block_minus_its_holes_is_one_line_and_json_keeps_the_blocks() {
    let emu = Emu::start(SEED, &[]);
    let env = TestEnv::against(&emu);
    env.write("svcbind.yaml", FILE);
    let text = env.cmd(&["plan"]).run();
    assert!(
        text.stdout.contains(
            "  Traffic impact:\n    2001:db8:beef::/48 except 2001:db8:beef:10::/64 and 2001:db8:beef:20::/64 (about 2^80 addresses): CDN → Magic Transit\n  During the replace,"
        ),
        "{}",
        text.stdout
    );
    let markdown = env.cmd(&["plan", "--format", "markdown"]).run();
    assert!(
        markdown.stdout.contains(
            "| `2001:db8:beef::/48` except `2001:db8:beef:10::/64` and `2001:db8:beef:20::/64` | about 2^80 addresses | CDN | Magic Transit |\n\n"
        ),
        "{}",
        markdown.stdout
    );
    let json = env.cmd(&["plan", "--format", "json"]).run();
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let impact = doc["prefixes"][0]["impact"].as_array().unwrap();
    // The minimal blocks around two /64 holes in a /48.
    assert_eq!(impact.len(), 20, "{impact:#?}");
    assert!(impact.iter().all(|r| r["from"]["name"] == "CDN"));
    let total: u128 = impact
        .iter()
        .map(|r| r["addresses"].as_str().unwrap().parse::<u128>().unwrap())
        .sum();
    assert_eq!(total, (1 << 80) - (2 << 64));
}
