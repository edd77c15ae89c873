//! Strings from the API or the file never reach text or markdown output raw: control
//! characters and invisible format characters (bidi overrides, zero-width ones) show as
//! `\u{…}` escapes.

use crate::{Emu, TestEnv};

/// An account whose CDN service is named with a right-to-left override and a zero-width
/// space, as a hostile or careless API answer could name it.
const SEED: &str = r#"version: 1
account_id: 023e105f4ecef8ad9ca31a8372d0c353
services:
  "Magic Transit": f2f0ba6cd8a14c3e9ee9d6bd8b4b5f2a
  "CDN\u202Etisnar\u200BT cigaM": a7c5b5e1c33d4ea0b2f5d4f6c1e0a9b3
prefixes:
  - cidr: 192.0.2.0/24
    bindings:
      - { cidr: 192.0.2.0/24, service: Magic Transit, id: b1, state: active }
      - { cidr: 192.0.2.16/29, service: a7c5b5e1c33d4ea0b2f5d4f6c1e0a9b3, id: b2, state: active }
"#;

const ESCAPED: &str = r"CDN\u{202e}tisnar\u{200b}T cigaM";

#[test]
fn bidi_and_invisible_characters_from_the_api_are_escaped_in_text_and_markdown() {
    let emu = Emu::start(SEED, &[]);
    let env = TestEnv::against(&emu);
    env.write(
        "svcbind.yaml",
        "version: 1
account_id: 023e105f4ecef8ad9ca31a8372d0c353
prefixes:
  - cidr: 192.0.2.0/24
    bindings:
      - { cidr: 192.0.2.0/24, service: Magic Transit }
",
    );
    for args in [
        &["services"][..],
        &["services", "--format", "markdown"][..],
        &["plan"][..],
        &["plan", "--format", "markdown"][..],
    ] {
        let out = env.cmd(args).run();
        assert!(
            !out.stdout.contains(['\u{202E}', '\u{200B}']),
            "{args:?}: a raw format character:\n{}",
            out.stdout
        );
        // Markdown escapes the backslash of the escape once more.
        let escaped = if args.contains(&"markdown") {
            ESCAPED.replace('\\', "\\\\")
        } else {
            ESCAPED.to_owned()
        };
        assert!(out.stdout.contains(&escaped), "{args:?}:\n{}", out.stdout);
    }
}

#[test]
fn a_bidi_override_in_the_file_shows_in_its_diagnostic() {
    let env = TestEnv::new();
    env.write(
        "svcbind.yaml",
        "version: 1\nprefixes:\n  - cidr: 192.0.2.0/24\n    bindings:\n      - { cidr: 192.0.2.0/24, service: \"Magic\u{202E}Transit\", colour: 1 }\n",
    );
    let out = env.cmd(&["validate"]).status(1).stderr_any().run();
    assert!(!out.stderr.contains('\u{202E}'), "{}", out.stderr);
    assert!(
        out.stderr.contains("Magic\u{FFFD}Transit"),
        "{}",
        out.stderr
    );
}
