//! Tests over whole files: the examples, the invalid examples (one per rule), the JSON Schema,
//! the round trip through [`to_yaml`], and inputs that must never panic.

use std::path::{Path, PathBuf};

use ipnet::IpNet;
use proptest::prelude::*;

use super::*;
use crate::model::{
    AccountId, BindingId, DesiredBinding, DesiredPrefix, PrefixId, ProvisioningState, ServiceId,
};

fn manifest_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    files
}

fn one_line(d: &Diagnostic) -> String {
    format!("{}:{}: {}: {}", d.line, d.column, d.severity, d.message)
}

#[test]
fn the_quick_start_files_are_valid_without_warnings() {
    let desired = load(&manifest_path("examples/bindings.yaml"), Mode::Desired).unwrap();
    assert!(desired.warnings.is_empty(), "{:?}", desired.warnings);
    assert_eq!(
        crate::render::state_summary(&desired.state),
        "3 prefixes, 7 bindings"
    );
    assert_eq!(desired.state.max_deletes, Some(5));

    let live = load(&manifest_path("examples/live.yaml"), Mode::Seed).unwrap();
    assert!(live.warnings.is_empty(), "{:?}", live.warnings);
    assert_eq!(live.state.services.len(), 3);
    assert_eq!(live.state.account_id, desired.state.account_id);
    let states: Vec<&str> = live
        .state
        .prefixes
        .iter()
        .flat_map(|p| &p.bindings)
        .map(|b| b.state.as_ref().map_or("", |s| s.as_str()))
        .collect();
    assert!(states.contains(&"provisioning"));
    assert!(
        live.state
            .prefixes
            .iter()
            .flat_map(|p| &p.bindings)
            .all(|b| b.id.is_some())
    );
}

/// The `# expect: …` lines at the top of an example: the diagnostics it must give.
fn expected_lines(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .map_while(|l| l.strip_prefix("# expect: "))
        .map(str::to_owned)
        .collect()
}

/// Every file of `examples/invalid` is a desired state that breaks one rule, and every
/// directory one split over files that breaks a rule across them: each gives exactly the
/// diagnostics its `# expect: ` lines list (a directory's name the file, as `NAME:LINE:COL`).
#[test]
fn every_invalid_example_gives_exactly_its_expected_diagnostics() {
    let dir = manifest_path("examples/invalid");
    let files = yaml_files(&dir);
    assert!(files.len() >= 20, "one file per rule: {files:?}");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "an example of the rules across files");
    let mut failures = Vec::new();
    let mut check = |path: &Path, expected: Vec<String>, name: &dyn Fn(&Diagnostic) -> String| {
        assert!(
            !expected.is_empty(),
            "{} must start with `# expect: `",
            path.display()
        );
        let diagnostics = match load(path, Mode::Desired) {
            Ok(loaded) => loaded.warnings,
            Err(LoadError::Invalid(d)) => d,
            Err(e) => panic!("{}: {e}", path.display()),
        };
        let actual: Vec<String> = diagnostics
            .iter()
            .map(|d| {
                format!("{}{}", name(d), one_line(d)).replace(&format!("{}/", path.display()), "")
            })
            .collect();
        if actual != expected {
            failures.push(format!(
                "{}:\n  expected {expected:?}\n  actual   {actual:?}",
                path.display()
            ));
        }
        for d in &diagnostics {
            assert!(
                d.line == 0 || d.source_line.is_some(),
                "{}: no snippet",
                path.display()
            );
        }
    };
    for path in &files {
        let file = path.display().to_string();
        check(path, expected_lines(path), &|d: &Diagnostic| {
            assert_eq!(d.file, file);
            String::new()
        });
    }
    for path in &dirs {
        let expected = yaml_files(path)
            .iter()
            .flat_map(|f| expected_lines(f))
            .collect();
        let prefix = format!("{}/", path.display());
        check(path, expected, &|d: &Diagnostic| {
            let name = d
                .file
                .strip_prefix(&prefix)
                .expect("a file of the directory");
            format!("{name}:")
        });
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---- several files ----

#[test]
fn the_split_example_is_the_single_file() {
    let single = load(&manifest_path("examples/bindings.yaml"), Mode::Desired).unwrap();
    let split = load(&manifest_path("examples/split"), Mode::Desired).unwrap();
    assert!(split.warnings.is_empty(), "{:?}", split.warnings);
    let names: Vec<&str> = split.files().map(|(name, _)| name).collect();
    assert_eq!(names.len(), 2);
    assert!(
        names[0].ends_with("examples/split/10-edge.yaml"),
        "{names:?}"
    );
    assert!(
        names[1].ends_with("examples/split/20-spectrum.yaml"),
        "{names:?}"
    );
    assert_eq!(
        without_locations(split.state),
        without_locations(single.state)
    );
    // Named one by one, in another order: the files are read in the order given.
    let paths = ConfigPaths::new(
        vec![
            manifest_path("examples/split/20-spectrum.yaml"),
            manifest_path("examples/split/10-edge.yaml"),
        ],
        None,
    );
    let swapped = load(&paths, Mode::Desired).unwrap();
    let cidrs: Vec<String> = swapped
        .state
        .prefixes
        .iter()
        .map(|p| p.cidr.to_string())
        .collect();
    assert_eq!(
        cidrs,
        ["198.51.100.0/24", "192.0.2.0/24", "2001:db8:1000::/48"]
    );
}

#[test]
fn config_paths_come_from_the_flags_else_the_environment_else_the_default() {
    let paths = |given: &[&str], env: Option<&str>| -> Vec<String> {
        let given = given.iter().map(PathBuf::from).collect();
        ConfigPaths::new(given, env.map(std::ffi::OsStr::new))
            .paths()
            .iter()
            .map(|p| p.display().to_string())
            .collect()
    };
    assert_eq!(paths(&["a.yaml", "d"], Some("x.yaml")), ["a.yaml", "d"]);
    assert_eq!(paths(&[], None), [DEFAULT_CONFIG]);
    assert_eq!(paths(&[], Some("")), [DEFAULT_CONFIG]);
    let sep = if cfg!(windows) { ";" } else { ":" };
    assert_eq!(
        paths(&[], Some(&format!("a.yaml{sep}teams{sep}"))),
        ["a.yaml", "teams"]
    );
    let two = ConfigPaths::new(vec!["a.yaml".into(), "teams".into()], None);
    assert_eq!(two.display().to_string(), "a.yaml, teams");
    assert!(!two.exists());
}

#[test]
fn a_directory_is_its_yaml_files_in_name_order() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    let prefix =
        |cidr: &str| format!("version: 1\nprefixes:\n  - cidr: {cidr}\n    bindings: []\n");
    write("b.yaml", &prefix("198.51.100.0/24"));
    write("a.yaml", &prefix("192.0.2.0/24"));
    // Not read: other names, hidden files, a subdirectory's files; a `*.yml` file is named.
    write("c.yml", &prefix("203.0.113.0/24"));
    write(".hidden.yaml", "not: [yaml");
    write("notes.txt", "not yaml");
    std::fs::create_dir(dir.path().join("old.yaml")).unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/d.yaml"), "not: [yaml").unwrap();
    let loaded = load(dir.path(), Mode::Desired).unwrap();
    let cidrs: Vec<String> = loaded
        .state
        .prefixes
        .iter()
        .map(|p| p.cidr.to_string())
        .collect();
    assert_eq!(cidrs, ["192.0.2.0/24", "198.51.100.0/24"]);
    let warnings: Vec<String> = loaded.warnings.iter().map(|d| d.to_string()).collect();
    assert_eq!(
        warnings,
        [format!(
            "{}: warning: not read: of a directory, the `*.yaml` files are read, not the `*.yml` ones",
            dir.path().join("c.yml").display()
        )]
    );
    assert_eq!(
        loaded.warnings.iter().next().unwrap().hint.as_deref(),
        Some("rename it to `c.yaml` to make it part of the desired state")
    );

    // A file named twice, directly and through its directory, is read once.
    let paths = ConfigPaths::new(vec![dir.path().join("a.yaml"), dir.path().to_owned()], None);
    assert_eq!(load(&paths, Mode::Desired).unwrap().state.prefixes.len(), 2);

    // A directory without a `*.yaml` file is an error, not an empty desired state.
    let empty = tempfile::tempdir().unwrap();
    std::fs::write(empty.path().join("x.yml"), "version: 1\nprefixes: []\n").unwrap();
    let err = load(empty.path(), Mode::Desired).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "no `*.yaml` file in the directory `{}`; found x.yml (of a directory, only `*.yaml` files are read): rename x.yml to x.yaml",
            empty.path().display()
        )
    );
    // A missing file among several is named.
    let paths = ConfigPaths::new(
        vec![dir.path().join("a.yaml"), dir.path().join("zz.yaml")],
        None,
    );
    let err = load(&paths, Mode::Desired).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot read the desired-state file `")
            && err.to_string().contains("zz.yaml"),
        "{err}"
    );
}

#[test]
fn invalid_files_are_summarized_by_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.yaml"), "version: 2\nprefixes: []\n").unwrap();
    std::fs::write(dir.path().join("b.yaml"), "version: 3\nprefixes: []\n").unwrap();
    let err = load(dir.path(), Mode::Desired).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "`{}`, `{}` have 2 errors",
            dir.path().join("a.yaml").display(),
            dir.path().join("b.yaml").display()
        )
    );
}

// ---- extension keys ----

#[test]
fn top_level_x_keys_are_ignored_and_hold_anchors() {
    let yaml = "\
version: 1
x-anchors:
  edge: &edge CDN
  nested: { any: [thing, 1] }
x-note: anything at all
prefixes:
  - cidr: 192.0.2.0/24
    bindings:
      - { cidr: 192.0.2.0/24, service: Magic Transit }
      - { cidr: 192.0.2.16/29, service: *edge }
";
    let loaded = parse(yaml, "x.yaml", Mode::Desired).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert_eq!(loaded.state.prefixes[0].bindings[1].service, "CDN");
    assert!(schema_errors(&schema_validator(), yaml).is_empty());
    // Only at the top: elsewhere an `x-` key is unknown, like any other.
    let nested = yaml.replace("service: *edge }", "service: *edge, x-note: 1 }");
    let d = parse(&nested, "x.yaml", Mode::Desired).unwrap_err();
    assert_eq!(
        d.iter().map(one_line).collect::<Vec<_>>(),
        ["10:48: error: unknown key `x-note`"]
    );
    assert!(!schema_errors(&schema_validator(), &nested).is_empty());
    // `x` alone, or `X-`, is no extension key.
    let d = parse(&yaml.replace("x-note", "X-note"), "x.yaml", Mode::Desired).unwrap_err();
    assert_eq!(
        d.iter().map(one_line).collect::<Vec<_>>(),
        ["5:1: error: unknown key `X-note`"]
    );
}

// ---- printing many diagnostics ----

/// A file with 60,000 problems is printed in a few kilobytes: the first of them and a count,
/// while every one of them is still counted.
#[test]
fn sixty_thousand_diagnostics_print_the_first_hundred_and_a_count() {
    let mut yaml = String::from(
        "version: 1\nprefixes:\n  - cidr: 10.0.0.0/8\n    bindings:\n      - { cidr: 10.0.0.0/8, service: CDN }\n",
    );
    for i in 0..60_000u32 {
        let [_, a, b, _] = i.to_be_bytes();
        yaml.push_str(&format!(
            "      - {{ cidr: 10.{a}.{b}.1/24, service: CDN }}\n"
        ));
    }
    let d = parse(&yaml, "big.yaml", Mode::Desired).unwrap_err();
    assert_eq!(d.error_count(), 60_000);
    let mut out = Vec::new();
    d.render(&mut out, false).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.len() < 40_000, "{} bytes", text.len());
    assert_eq!(
        text.matches(": error: host bits set").count(),
        SHOWN_PER_FILE
    );
    assert!(
        text.ends_with("big.yaml: note: 59900 more errors not shown; fix the ones above first\n"),
        "{}",
        &text[text.len() - 200..]
    );
    let mut out = Vec::new();
    d.render_github(&mut out).unwrap();
    let github = String::from_utf8(out).unwrap();
    assert_eq!(github.lines().count(), SHOWN_PER_FILE + 1);
    assert!(github.ends_with(
        "::notice file=big.yaml::59900 more errors not annotated; fix the ones above first\n"
    ));
}

#[test]
fn five_mistakes_are_all_reported_in_one_run() {
    let yaml = "\
version: 1
account_id: 023e105f4ecef8ad9ca31a8372d0c35/
prefixes:
  - cidr: 192.0.2.0/24
    bindings:
      - { cidr: 192.0.2.0/24, service: CDN }
      - { cidr: 192.0.2.1/29, service: Spectrum }
      - { cidr: 192.0.2.64/27, service: Magic Transit }
  - cidr: 192.0.2.128/25
    bindings: []
  - cidr: 2001:db8:1000::/48
    ignore: [2001:db8:2000::/56]
    bindings: []
";
    let diagnostics = parse(yaml, "five.yaml", Mode::Desired).unwrap_err();
    let actual: Vec<String> = diagnostics.iter().map(one_line).collect();
    assert_eq!(
        actual,
        [
            "2:13: error: invalid account id `023e105f4ecef8ad9ca31a8372d0c35/`: an id is 1 to 32 letters or digits",
            "7:17: error: host bits set in `192.0.2.1/29`",
            "8:41: error: `Magic Transit` can only be bound to the whole prefix, not to `192.0.2.64/27`",
            "9:11: warning: prefix `192.0.2.128/25` is smaller than BYOIP allows: IPv4 prefixes are /24 or shorter",
            "9:11: error: prefix `192.0.2.128/25` overlaps prefix `192.0.2.0/24` (line 4)",
            "12:14: error: ignore range `2001:db8:2000::/56` is outside its prefix `2001:db8:1000::/48`",
        ]
    );
    assert_eq!(diagnostics.error_count(), 5);
    assert_eq!(
        diagnostics.iter().nth(1).unwrap().hint.as_deref(),
        Some("did you mean `192.0.2.0/29`?")
    );
}

/// SPEC §1: all problems are reported together. An unknown key at each level of the format
/// stops nothing: it is reported at the key with the rule mistakes of the rest of the file.
#[test]
fn unknown_keys_at_every_level_are_reported_with_every_other_problem() {
    let yaml = "\
version: 1
acount_id: 023e105f4ecef8ad9ca31a8372d0c353
safety:
  max_delets: 3
prefixes:
  - cidr: 192.0.2.0/24
    igonre: [192.0.2.128/26]
    bindings:
      - { cidr: 192.0.2.0/24, service: Magic Transit }
      - { cidr: 192.0.2.16/29, service: CDN, sevrice: Spectrum }
      - { cidr: 192.0.2.33/27, service: CDN }
  - cidr: 198.51.100.0/24
    bindings:
      - { cidr: 198.51.100.0/24, service: CDN }
      - { cidr: 198.51.100.64/26, service: Magic Transit }
      - { cidr: 203.0.113.0/28, service: CDN }
";
    let diagnostics = parse(yaml, "levels.yaml", Mode::Desired).unwrap_err();
    let actual: Vec<String> = diagnostics.iter().map(one_line).collect();
    assert_eq!(
        actual,
        [
            "2:1: error: unknown key `acount_id`",
            "4:3: error: unknown key `max_delets`",
            "7:5: error: unknown key `igonre`",
            "10:46: error: unknown key `sevrice`",
            "11:17: error: host bits set in `192.0.2.33/27`",
            "15:44: error: `Magic Transit` can only be bound to the whole prefix, not to `198.51.100.64/26`",
            "16:17: error: binding `203.0.113.0/28` is outside its prefix `198.51.100.0/24`",
        ]
    );
    let hints: Vec<Option<&str>> = diagnostics.iter().map(|d| d.hint.as_deref()).collect();
    assert_eq!(
        hints[..4],
        [
            Some("did you mean `account_id`?"),
            Some("did you mean `max_deletes`?"),
            Some("did you mean `ignore`?"),
            Some("did you mean `service`?"),
        ]
    );
    for d in diagnostics.iter().take(4) {
        let key = d.message.split('`').nth(1).unwrap();
        let line = d.source_line.as_deref().unwrap();
        let column = line.find(key).unwrap() + 1;
        assert_eq!(d.column as usize, column, "{}", d.message);
    }
}

/// A seed may hold what a live account holds, duplicates included, and the emulator takes it.
#[test]
fn the_emulator_accepts_a_seed_with_duplicate_bindings() {
    let yaml = "\
version: 1
prefixes:
  - cidr: 192.0.2.0/24
    bindings:
      - { cidr: 192.0.2.0/24, service: Magic Transit }
      - { cidr: 192.0.2.16/29, service: CDN }
      - { cidr: 192.0.2.16/29, service: Spectrum }
      - { cidr: 192.0.2.16/29, service: CDN }
";
    let Err(errors) = parse(yaml, "dup.yaml", Mode::Desired) else {
        panic!("duplicates are an error in a desired file");
    };
    assert_eq!(errors.error_count(), 2);
    let seed = parse(yaml, "dup.yaml", Mode::Seed).unwrap();
    assert_eq!(
        seed.warnings.iter().map(one_line).collect::<Vec<_>>(),
        [
            "7:17: warning: duplicate binding `192.0.2.16/29`",
            "8:17: warning: duplicate binding `192.0.2.16/29`",
        ]
    );
    let mut account = crate::emulator::Account::from_seed(&seed.state).unwrap();
    let account_id = account.id().to_string();
    let prefixes = account.list_prefixes(&account_id).unwrap();
    let bindings = account
        .list_bindings(&account_id, &prefixes[0].id, std::time::Duration::ZERO)
        .unwrap();
    let mut listed: Vec<(String, String)> = bindings
        .iter()
        .map(|b| (b.cidr.clone(), b.service_id.clone()))
        .collect();
    listed.sort();
    use crate::emulator::{CDN_ID, MAGIC_TRANSIT_ID, SPECTRUM_ID};
    let mut expected: Vec<(String, String)> = [
        ("192.0.2.0/24", MAGIC_TRANSIT_ID),
        ("192.0.2.16/29", CDN_ID),
        ("192.0.2.16/29", SPECTRUM_ID),
        ("192.0.2.16/29", CDN_ID),
    ]
    .iter()
    .map(|(cidr, service)| ((*cidr).to_owned(), (*service).to_owned()))
    .collect();
    expected.sort();
    assert_eq!(listed, expected);
    let mut ids: Vec<&str> = bindings.iter().map(|b| b.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 4, "each duplicate gets its own binding id");
}

#[test]
fn load_names_the_missing_file_and_how_to_choose_another() {
    let err = load(Path::new("/nonexistent/svcbind.yaml"), Mode::Desired).unwrap_err();
    assert!(matches!(err, LoadError::Read { .. }));
    assert_eq!(
        err.to_string(),
        "cannot read the desired-state file `/nonexistent/svcbind.yaml`; name another with `-c FILE` or `SVCBIND_CONFIG`"
    );
    let source = std::error::Error::source(&err).unwrap().to_string();
    assert!(
        !err.to_string().contains(&source),
        "the cause is not repeated"
    );
}

#[test]
fn load_reports_non_utf8_and_summarizes_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    std::fs::write(&path, b"version: 1\nprefixes: [\xff]\n").unwrap();
    let Err(LoadError::Invalid(d)) = load(&path, Mode::Desired) else {
        panic!("expected invalid");
    };
    assert_eq!(
        d.iter().map(one_line).collect::<Vec<_>>(),
        ["2:12: error: the file is not UTF-8 text"]
    );
    let err = LoadError::Invalid(d);
    assert_eq!(err.to_string(), format!("`{}` has 1 error", path.display()));

    let big = "#".repeat(MAX_FILE_BYTES + 1);
    let d = parse(&big, "big.yaml", Mode::Desired).unwrap_err();
    assert_eq!(
        d.iter().map(one_line).collect::<Vec<_>>(),
        ["0:0: error: the file is larger than 32 MiB"]
    );
}

#[test]
fn later_stages_make_diagnostics_with_the_files_snippet() {
    let loaded = load(&manifest_path("examples/bindings.yaml"), Mode::Desired).unwrap();
    let binding = &loaded.state.prefixes[0].bindings[1];
    let d = loaded.diagnostic(
        Severity::Error,
        binding.location,
        "unknown service `CDN`",
        Some("did you mean `CDNs`?".to_owned()),
    );
    assert!(d.file.ends_with("examples/bindings.yaml"));
    assert_eq!(
        d.source_line.as_deref(),
        Some("      - { cidr: 192.0.2.16/29, service: CDN }")
    );
    let mut out = Vec::new();
    Diagnostics::from(vec![d]).render(&mut out, false).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("|                                         ^^^\n"),
        "{text}"
    );
    let (name, text) = loaded.files().next().unwrap();
    assert!(name.ends_with("examples/bindings.yaml"));
    assert!(text.starts_with("# yaml-language-server"));
}

// ---- JSON Schema ----

#[test]
fn the_committed_schema_is_up_to_date() {
    let path = manifest_path("schema/svcbind.schema.json");
    let generated = serde_json::to_string_pretty(&json_schema()).unwrap() + "\n";
    if std::env::var_os("SVCBIND_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "schema/svcbind.schema.json is out of date with the input structs in src/config/file.rs;\n\
         regenerate it with: SVCBIND_BLESS=1 cargo test --lib the_committed_schema_is_up_to_date"
    );
}

fn schema_validator() -> jsonschema::Validator {
    jsonschema::validator_for(&json_schema()).unwrap()
}

fn schema_errors(validator: &jsonschema::Validator, yaml: &str) -> Vec<String> {
    let instance = yaml::to_json(yaml).unwrap();
    validator
        .iter_errors(&instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

#[test]
fn every_example_satisfies_the_schema() {
    let validator = schema_validator();
    let mut files = yaml_files(&manifest_path("examples"));
    files.extend(yaml_files(&manifest_path("examples/split")));
    assert!(files.len() >= 4);
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let errors = schema_errors(&validator, &text);
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
    }
}

#[test]
fn the_schema_accepts_both_families_and_rejects_what_the_format_rejects() {
    let v = schema_validator();
    let ok = "version: 1\nprefixes:\n  - cidr: 192.0.2.0/24\n    bindings:\n      - { cidr: 192.0.2.0/24, service: CDN }\n  - cidr: 2001:db8::/32\n    ignore: [2001:db8::/48, '::ffff:192.0.2.0/120']\n    bindings: []\n";
    assert_eq!(schema_errors(&v, ok), Vec::<String>::new());
    for bad in [
        "version: 2\nprefixes: []\n",
        "version: 1\nprefixes: []\nextra: 1\n",
        "version: 1\nprefixes:\n  - { cidr: 192.0.2.0/33, bindings: [] }\n",
        "version: 1\nprefixes:\n  - { cidr: 192.0.2.0, bindings: [] }\n",
        "version: 1\nprefixes:\n  - { cidr: 2001:db8::/129, bindings: [] }\n",
        "version: 1\nprefixes:\n  - { cidr: 192.0.2.0/24 }\n",
        "version: 1\naccount_id: a-b\nprefixes: []\n",
        "version: 1\nprefixes:\n  - { cidr: 192.0.2.0/24, bindings: [{ cidr: 192.0.2.0/24, service: '' }] }\n",
        "version: 1\nprefixes:\n  - { cidr: 192.0.2.0/24, bindings: [{ cidr: 192.0.2.0/24, service: CDN, colour: red }] }\n",
    ] {
        assert!(!schema_errors(&v, bad).is_empty(), "accepted: {bad}");
    }
}

// ---- round trip ----

/// Clears what writing cannot keep: where things were written.
fn without_locations(mut state: StateFile) -> StateFile {
    for p in &mut state.prefixes {
        p.location = Location::default();
        for b in &mut p.bindings {
            b.location = Location::default();
        }
    }
    state
}

#[test]
fn the_examples_round_trip_through_to_yaml() {
    for (file, mode) in [
        ("examples/bindings.yaml", Mode::Desired),
        ("examples/live.yaml", Mode::Seed),
    ] {
        let state = load(&manifest_path(file), mode).unwrap().state;
        let written = to_yaml(&state);
        assert!(
            written.starts_with(&format!("{FILE_HEADER}\nversion: 1\n")),
            "{written}"
        );
        assert!(!written.contains("$schema") && !written.contains("://"));
        let again = parse(&written, "written.yaml", mode)
            .unwrap_or_else(|d| panic!("{written}\n{d:?}"))
            .state;
        assert_eq!(without_locations(again), without_locations(state));
        assert!(schema_errors(&schema_validator(), &written).is_empty());
    }
}

#[test]
fn to_yaml_writes_a_readable_file() {
    let state = load(&manifest_path("examples/live.yaml"), Mode::Seed)
        .unwrap()
        .state;
    let written = to_yaml(&state);
    assert!(written.contains(
        "\n  - cidr: 2001:db8:1000::/48\n    id: 27203fb4a75ab20477af870466c990cc\n    bindings:\n      - { cidr: 2001:db8:1000::/48, service: CDN, id: 0a3378648dd97fd5b7cd611ff71acdc9, state: active }\n"
    ), "{written}");
    assert!(written.contains("\nservices:\n  CDN: a7c5b5e1c33d4ea0b2f5d4f6c1e0a9b3\n"));
    let empty = to_yaml(&StateFile::default());
    assert!(empty.ends_with("version: 1\nprefixes: []\n"), "{empty}");
    assert!(parse(&empty, "e.yaml", Mode::Desired).is_ok());
}

/// Text that YAML must carry through quoting: names with punctuation, numbers, unicode.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("CDN".to_owned()),
        Just("Magic Transit".to_owned()),
        Just("12345".to_owned()),
        Just("true".to_owned()),
        "[A-Za-z0-9 ._:/#,{}\\[\\]'\"&*!|>%@`-]{1,12}",
        any::<String>(),
    ]
    .prop_filter("a service is not blank", |s| !s.trim().is_empty())
}

fn any_id() -> impl Strategy<Value = String> {
    "[0-9a-zA-Z]{1,32}"
}

/// A random valid state: non-overlapping prefixes, each with its prefix-wide binding first,
/// unique more-specific bindings inside, and ignore ranges away from them.
fn any_state() -> impl Strategy<Value = StateFile> {
    let binding = (
        any_text(),
        proptest::option::of(any_id()),
        proptest::option::of(any_text()),
    );
    let prefix = (
        any::<bool>(),
        proptest::option::of(any_id()),
        proptest::collection::vec((0u8..=255, binding), 0..6),
        any::<bool>(),
    );
    (
        (
            proptest::option::of(any_id()),
            proptest::option::of(any::<u32>()),
            proptest::option::of(0u8..=100),
            any::<bool>(),
        ),
        proptest::collection::btree_map(any_text(), any_id(), 0..4),
        proptest::collection::vec(prefix, 0..5),
    )
        .prop_map(
            |((account, max_deletes, max_delete_percent, protected), services, prefixes)| {
                let prefixes = prefixes
                    .into_iter()
                    .enumerate()
                    .map(|(i, (v6, id, more, with_ignore))| {
                        let cidr: IpNet = if v6 {
                            format!("2001:db8:{i:x}::/48").parse().unwrap()
                        } else {
                            format!("10.{i}.0.0/16").parse().unwrap()
                        };
                        let sub = |n: u8, len: u8| -> IpNet {
                            if v6 {
                                format!("2001:db8:{i:x}:{n:x}00::/{}", len + 40)
                                    .parse()
                                    .unwrap()
                            } else {
                                format!("10.{i}.{n}.0/{len}").parse().unwrap()
                            }
                        };
                        let make = |cidr: IpNet,
                                    (service, id, state): (
                            String,
                            Option<String>,
                            Option<String>,
                        )| DesiredBinding {
                            cidr,
                            service,
                            id: id.map(|i| BindingId::new(i).unwrap()),
                            state: state.map(|s| ProvisioningState::from(s.as_str())),
                            location: Location::default(),
                        };
                        let mut seen = std::collections::BTreeSet::new();
                        let mut bindings = Vec::new();
                        let mut rest = more.into_iter();
                        if let Some((_, first)) = rest.next() {
                            bindings.push(make(cidr, first));
                            // Third octets 0..=254 are bound; 255 is kept for the ignore range.
                            for (n, b) in rest {
                                let n = n % 255;
                                if seen.insert(n) {
                                    bindings.push(make(sub(n, 24), b));
                                }
                            }
                        }
                        DesiredPrefix {
                            cidr,
                            id: id.map(|i| PrefixId::new(i).unwrap()),
                            ignore: if with_ignore {
                                vec![sub(255, 24)]
                            } else {
                                vec![]
                            },
                            bindings,
                            location: Location::default(),
                        }
                    })
                    .collect::<Vec<DesiredPrefix>>();
                // A protected range: the first prefix, when there is one.
                let protect = match prefixes.first() {
                    Some(p) if protected => vec![p.cidr],
                    _ => Vec::new(),
                };
                StateFile {
                    account_id: account.map(|a| AccountId::new(a).unwrap()),
                    max_deletes,
                    max_delete_percent,
                    protect,
                    services: services
                        .into_iter()
                        .map(|(name, id)| (name, ServiceId::new(id).unwrap()))
                        .collect(),
                    prefixes,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_schema_accepts_every_cidr_the_validator_accepts(
        v4 in any::<u32>(), v6 in any::<u128>(), len4 in 0u8..=32, len6 in 0u8..=128, zeros in 0usize..8,
    ) {
        let validator = jsonschema::validator_for(&serde_json::json!({
            "$ref": "#/$defs/Cidr", "$defs": json_schema()["$defs"].clone(),
        })).unwrap();
        // Runs of zero groups exercise the `::` forms.
        let v6 = if zeros > 0 { v6 & !(u128::MAX >> (zeros * 16)) } else { v6 };
        let nets = [
            IpNet::new(std::net::Ipv4Addr::from(v4).into(), len4).unwrap().trunc(),
            IpNet::new(std::net::Ipv6Addr::from(v6).into(), len6).unwrap().trunc(),
            IpNet::new(std::net::Ipv6Addr::from(v6 >> (zeros * 16)).into(), len6).unwrap().trunc(),
            IpNet::new(std::net::Ipv4Addr::from(v4).to_ipv6_mapped().into(), 96 + len4).unwrap().trunc(),
        ];
        for net in nets {
            for text in [net.to_string(), net.to_string().to_uppercase()] {
                prop_assert!(validator.is_valid(&serde_json::json!(text)), "{}", text);
            }
        }
    }

    #[test]
    fn parse_of_to_yaml_gives_the_state_back(state in any_state()) {
        let written = to_yaml(&state);
        let loaded = parse(&written, "roundtrip.yaml", Mode::Seed);
        prop_assert!(loaded.is_ok(), "{}\n{:?}", written, loaded.err());
        let again = without_locations(loaded.unwrap().state);
        prop_assert_eq!(again, without_locations(state));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&bytes);
        for mode in [Mode::Desired, Mode::Seed] {
            let _ = parse(&text, "fuzz.yaml", mode);
        }
    }

    #[test]
    fn arbitrary_yaml_shapes_never_panic(doc in yaml_shape()) {
        for mode in [Mode::Desired, Mode::Seed] {
            if let Err(d) = parse(&doc, "fuzz.yaml", mode) {
                prop_assert!(d.has_errors());
                let mut out = Vec::new();
                d.render(&mut out, true).unwrap();
                d.render_github(&mut out).unwrap();
            }
        }
    }
}

/// A scalar a user might write: real CIDR-ish strings, ids, names, odd YAML.
fn yaml_scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("1".to_owned()),
        Just("2".to_owned()),
        Just("~".to_owned()),
        Just("''".to_owned()),
        Just("Magic Transit".to_owned()),
        Just("CDN".to_owned()),
        Just("&a x".to_owned()),
        Just("*a".to_owned()),
        "(10|192|2001:db8|fe80|::)[.:/0-9a-f]{0,14}",
        "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}/[0-9]{1,3}",
        "[0-9a-f]{30,34}",
        "[ -~]{0,8}",
    ]
}

fn yaml_key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("version"),
        Just("account_id"),
        Just("safety"),
        Just("max_deletes"),
        Just("services"),
        Just("prefixes"),
        Just("cidr"),
        Just("id"),
        Just("ignore"),
        Just("bindings"),
        Just("service"),
        Just("state"),
        Just("bindngs"),
        Just("<<"),
    ]
    .prop_map(str::to_owned)
}

/// Random nesting of mappings, lists and scalars, written in flow style.
fn yaml_value() -> impl Strategy<Value = String> {
    yaml_scalar().prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5)
                .prop_map(|v| format!("[{}]", v.join(", "))),
            proptest::collection::vec((yaml_key(), inner), 0..5).prop_map(|kv| {
                let body: Vec<String> = kv.into_iter().map(|(k, v)| format!("{k}: {v}")).collect();
                format!("{{{}}}", body.join(", "))
            }),
        ]
    })
}

/// A document: a block mapping of real keys to random values, sometimes starting right.
fn yaml_shape() -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        proptest::collection::vec((yaml_key(), yaml_value()), 0..6),
    )
        .prop_map(|(versioned, entries)| {
            let mut doc = String::new();
            if versioned {
                doc.push_str("version: 1\n");
            }
            for (k, v) in entries {
                doc.push_str(&format!("{k}: {v}\n"));
            }
            doc
        })
}
