//! The CI recipes against the real command line: every `svcbind …` command line in the GitHub
//! recipes (their `run:` scripts, and the command each use of svcbind's Action builds from its
//! `with:`), the Action itself, the GitLab file (`script:` blocks), the rehearsal, the
//! pre-commit hooks, the README's shell blocks and each command's `--help` examples is parsed with [`Cli::try_parse_from`] and
//! turned into settings, so a renamed or removed flag breaks the build, not a user's pipeline.
//!
//! Placeholders are expanded with representative values: `${{ … }}` expressions and shell
//! variables from the tables below (an unknown one fails the test, so a new placeholder is
//! declared here), `${NAME:+WORD}` as WORD. A command built from a shell array
//! (`"${words[@]}"`) cannot be read here: that one is the Action's, whose assembly
//! [`action_command`] mirrors and checks.

use std::collections::BTreeMap;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};
use serde_json::Value;
use svcbind::cli::Cli;

use crate::root;

/// Values for the `${{ … }}` expressions that reach a svcbind command line.
const EXPRESSIONS: &[(&str, &str)] = &[
    ("env.SVCBIND_CONFIG", "svcbind.yaml"),
    (
        "github.event_name == 'pull_request' && format('--changed-since {0}', github.event.pull_request.base.sha) || ''",
        "--changed-since 9fceb02d0ae598e95dc970b74767f19372d61af8",
    ),
    (
        "steps.reviewed.outputs.plan",
        "/tmp/reviewed/svcbind-plan.json",
    ),
    ("steps.reviewed.outputs.flags", "--force --wait=6h"),
];

/// Values for the shell variables that reach a svcbind command line.
const VARIABLES: &[(&str, &str)] = &[
    ("SVCBIND_CONFIG", "svcbind.yaml"),
    (
        "CI_MERGE_REQUEST_DIFF_BASE_SHA",
        "9fceb02d0ae598e95dc970b74767f19372d61af8",
    ),
    ("SVCBIND_WAIT", "6h"),
    ("work", "/tmp/rehearsal"),
    ("seed", "examples/live.yaml"),
    ("token", "rehearsal-token"),
    ("ROOT", "/opt/svcbind"),
];

/// One command line found, where it was found, and its words after `svcbind`.
#[derive(Debug)]
struct Found {
    place: String,
    words: Vec<String>,
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(root().join(relative))
        .unwrap_or_else(|e| panic!("cannot read {relative}: {e}"))
}

fn yaml(relative: &str) -> Value {
    serde_saphyr::from_str(&read(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// `${{ expression }}` replaced by its value from [`EXPRESSIONS`].
fn expand_expressions(text: &str, place: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find("}}")
            .unwrap_or_else(|| panic!("{place}: unclosed ${{{{ in {text:?}"));
        let expression = rest[start + 3..start + end]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let value = EXPRESSIONS
            .iter()
            .find(|(e, _)| *e == expression)
            .unwrap_or_else(|| {
                panic!("{place}: no value for `${{{{ {expression} }}}}`: add one to EXPRESSIONS")
            })
            .1;
        out.push_str(value);
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out
}

/// Shell variables replaced: `${NAME:+WORD}` by WORD, `$NAME` and `${NAME}` by their value
/// from [`VARIABLES`]. `None` for a command built from an array.
fn expand_variables(text: &str, place: &str) -> Option<String> {
    if text.contains("[@]}") {
        return None;
    }
    let value = |name: &str| -> String {
        VARIABLES
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("{place}: no value for `${name}`: add one to VARIABLES"))
            .1
            .to_owned()
    };
    let mut out = String::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        if text[i + 1..].starts_with('{') {
            let close = text[i..]
                .find('}')
                .unwrap_or_else(|| panic!("{place}: {text}"));
            let inner = &text[i + 2..i + close];
            let expanded = match inner.split_once(":+") {
                Some((_, word)) => expand_variables(word, place)?,
                None => match inner.split_once(":-") {
                    Some((name, _)) => value(name),
                    None => value(inner),
                },
            };
            out.push_str(&expanded);
            while chars.peek().is_some_and(|(j, _)| *j <= i + close) {
                chars.next();
            }
        } else {
            let name: String = text[i + 1..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            out.push_str(&value(&name));
            for _ in 0..name.len() {
                chars.next();
            }
        }
    }
    Some(out)
}

/// Whether the end of `before` lies inside a quoted string.
fn inside_quotes(before: &str) -> bool {
    let mut quote = None;
    let mut escaped = false;
    // `${…}` holds words that are not commands either.
    let mut braces = 0_usize;
    let mut dollar = false;
    for c in before.chars() {
        match (quote, c) {
            (_, _) if escaped => escaped = false,
            (Some('"') | None, '\\') => escaped = true,
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            (Some('\''), _) => {}
            (_, '{') if dollar => braces += 1,
            (_, '}') if braces > 0 => braces -= 1,
            _ => {}
        }
        dollar = c == '$';
    }
    quote.is_some() || braces > 0
}

/// What a word of a shell line must follow for the next word to be a command.
fn command_position(before: &str) -> bool {
    if inside_quotes(before) {
        return false;
    }
    let last = before.split_whitespace().last().unwrap_or("");
    let keyword = [
        "", ";", "|", "||", "&&", "(", "{", "!", "if", "elif", "then", "else", "while", "until",
        "do", "exec", "time", "--",
    ]
    .contains(&last);
    let assignment = last.contains('=')
        && last.split('=').next().is_some_and(|n| {
            !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
    keyword || assignment
}

/// The svcbind command lines of a shell script.
fn shell_commands(script: &str, place: &str) -> Vec<Found> {
    let script = script.replace("\\\n", " ");
    let mut found = Vec::new();
    for (n, line) in script.lines().enumerate() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        let place = format!("{place}, line {}", n + 1);
        for program in ["\"$SVCBIND\" ", "\"$ROOT/bin/svcbind\" ", "svcbind "] {
            let mut from = 0;
            while let Some(at) = line[from..].find(program).map(|i| i + from) {
                from = at + program.len();
                // The program starts a word (not `path/svcbind`, not `x-svcbind`), and a
                // command substitution starts a command.
                let word_start = line[..at].is_empty()
                    || line[..at].ends_with(|c: char| c.is_whitespace() || "(;|&{".contains(c));
                let before = line[..at].strip_suffix("$(").unwrap_or(&line[..at]);
                if !word_start || !command_position(before) {
                    continue;
                }
                if let Some(words) = words_until_operator(&line[from..], &place) {
                    found.push(Found {
                        place: format!("{place}: {}", line.trim()),
                        words,
                    });
                }
            }
        }
    }
    found
}

/// The words of a command, up to the first unquoted redirection, pipe, list operator, closing
/// parenthesis or comment; `None` when they come from an array.
fn words_until_operator(rest: &str, place: &str) -> Option<Vec<String>> {
    let mut quote = None;
    let mut end = rest.len();
    for (i, c) in rest.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            (None, '>' | '<' | '|' | ';' | '&' | ')') => {
                end = i;
                break;
            }
            (None, '#') if rest[..i].ends_with(' ') => {
                end = i;
                break;
            }
            _ => {}
        }
    }
    let text = expand_variables(&rest[..end], place)?;
    Some(shlex::split(&text).unwrap_or_else(|| panic!("{place}: cannot split {text:?}")))
}

/// The command a use of svcbind's Action runs, built from its `with:` as action.yml does:
/// `COMMAND [PLAN_FILE (apply)] [-c CONFIG] [--out PLAN_FILE (plan)] ARGS…`. `None` when it only
/// installs svcbind.
fn action_command(with: &Value, place: &str) -> Option<Vec<String>> {
    let input = |name: &str, default: &str| -> String {
        let raw = with.get(name).and_then(Value::as_str).unwrap_or(default);
        expand_expressions(raw, place)
    };
    let command = input("command", "");
    if command.is_empty() {
        return None;
    }
    let mut words = vec![command.clone()];
    let plan_file = input("plan-file", "");
    if command == "apply" && !plan_file.is_empty() {
        words.push(plan_file.clone());
    }
    let config = input("config", "svcbind.yaml");
    if !["emulator", "completions"].contains(&command.as_str()) && !config.is_empty() {
        words.extend(["-c".to_owned(), config]);
    }
    if command == "plan" {
        let out = if plan_file.is_empty() {
            "/tmp/svcbind-plan.json".to_owned()
        } else {
            plan_file
        };
        words.extend(["--out".to_owned(), out]);
    }
    words.extend(input("args", "").split_whitespace().map(str::to_owned));
    Some(words)
}

/// Whether a step uses svcbind's Action (the recipes name it `OWNER/svcbind@REF`).
fn uses_the_action(step: &Value) -> bool {
    step.get("uses").and_then(Value::as_str).is_some_and(|u| {
        u.split('@')
            .next()
            .is_some_and(|r| r.ends_with("/svcbind") || r == "./")
    })
}

/// The command lines of a GitHub workflow: its `run:` scripts and its uses of the Action.
fn workflow_commands(relative: &str) -> Vec<Found> {
    let doc = yaml(relative);
    let mut found = Vec::new();
    let jobs = doc["jobs"].as_object().expect("jobs");
    for (job, body) in jobs {
        for (i, step) in body["steps"].as_array().expect("steps").iter().enumerate() {
            let place = format!("{relative}, job {job}, step {}", i + 1);
            if let Some(run) = step.get("run").and_then(Value::as_str) {
                let run = expand_expressions(run, &place);
                found.extend(shell_commands(&run, &place));
            }
            if uses_the_action(step)
                && let Some(words) = action_command(&step["with"], &place)
            {
                found.push(Found {
                    place: format!("{place} (the Action's command)"),
                    words,
                });
            }
        }
    }
    found
}

/// The command lines of the GitLab file: every job's scripts.
fn gitlab_commands(relative: &str) -> Vec<Found> {
    let doc = yaml(relative);
    let mut found = Vec::new();
    for (job, body) in doc.as_object().expect("a mapping") {
        for key in ["before_script", "script", "after_script"] {
            let scripts: Vec<&str> = match body.get(key) {
                Some(Value::String(s)) => vec![s.as_str()],
                Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
                _ => continue,
            };
            for script in scripts {
                found.extend(shell_commands(script, &format!("{relative}, {job}.{key}")));
            }
        }
    }
    found
}

/// The command lines of the README's `sh` blocks.
fn readme_commands() -> Vec<Found> {
    let readme = read("README.md");
    let mut found = Vec::new();
    let mut in_shell = false;
    let mut block = String::new();
    for line in readme.lines() {
        if let Some(lang) = line.strip_prefix("```") {
            if in_shell {
                found.extend(shell_commands(&block, "README.md"));
                block.clear();
            }
            in_shell = !in_shell && (lang == "sh" || lang == "bash");
            continue;
        }
        if in_shell {
            block.push_str(line);
            block.push('\n');
        }
    }
    found
}

/// The examples of each command's `--help`.
fn help_examples() -> Vec<Found> {
    let mut cli = Cli::command();
    cli.build();
    let mut found = Vec::new();
    for sub in cli.get_subcommands_mut() {
        let help = sub.render_long_help().to_string();
        let Some((_, examples)) = help.split_once("Examples:\n") else {
            continue;
        };
        for line in examples.lines().take_while(|l| l.starts_with("  ")) {
            let place = format!("svcbind {} --help", sub.get_name());
            found.extend(shell_commands(line.trim(), &place));
        }
    }
    found
}

/// Parses each command line with the real command line and settings; returns the failures.
fn failures(found: &[Found]) -> Vec<String> {
    found
        .iter()
        .filter_map(|f| {
            let args = std::iter::once("svcbind".to_owned()).chain(f.words.iter().cloned());
            let result = match Cli::try_parse_from(args) {
                Ok(cli) => svcbind::settings::Settings::from_cli(cli)
                    .map(drop)
                    .map_err(|e| format!("{e:#}")),
                // `svcbind --version` and `--help` are fine command lines.
                Err(e)
                    if matches!(e.kind(), ErrorKind::DisplayVersion | ErrorKind::DisplayHelp) =>
                {
                    Ok(())
                }
                Err(e) => Err(e.render().to_string()),
            };
            result
                .err()
                .map(|e| format!("{}\n  words: {:?}\n  {e}", f.place, f.words))
        })
        .collect()
}

/// The command lines of each source, by file, with the least each must hold.
fn sources() -> BTreeMap<&'static str, (Vec<Found>, usize)> {
    let rehearsal = shell_commands(&read("examples/ci/rehearse.sh"), "examples/ci/rehearse.sh");
    BTreeMap::from([
        (
            "examples/ci/github/svcbind-plan.yml",
            (workflow_commands("examples/ci/github/svcbind-plan.yml"), 2),
        ),
        (
            "examples/ci/github/svcbind-apply.yml",
            (workflow_commands("examples/ci/github/svcbind-apply.yml"), 1),
        ),
        (
            "examples/ci/github/svcbind-drift.yml",
            (workflow_commands("examples/ci/github/svcbind-drift.yml"), 1),
        ),
        ("action.yml", (action_yml_commands(), 1)),
        (
            "examples/ci/gitlab-ci.yml",
            (gitlab_commands("examples/ci/gitlab-ci.yml"), 7),
        ),
        ("examples/ci/rehearse.sh", (rehearsal, 8)),
        (".pre-commit-hooks.yaml", (hook_commands(), 2)),
        ("README.md", (readme_commands(), 5)),
        ("--help", (help_examples(), 20)),
    ])
}

/// The commands of the pre-commit hooks: `entry`, then the file pre-commit would pass to
/// `args` (none: they take no file names).
fn hook_commands() -> Vec<Found> {
    let doc = yaml(".pre-commit-hooks.yaml");
    doc.as_array()
        .expect("a list of hooks")
        .iter()
        .map(|hook| {
            assert_eq!(hook["pass_filenames"], false, "{hook}");
            let entry = hook["entry"].as_str().expect("an entry");
            let words = shlex::split(entry).expect("words");
            assert_eq!(words[0], "svcbind", "{hook}");
            Found {
                place: format!(".pre-commit-hooks.yaml, {}", hook["id"]),
                words: words[1..].to_vec(),
            }
        })
        .collect()
}

/// The command lines of action.yml's own scripts (its `svcbind --version`).
fn action_yml_commands() -> Vec<Found> {
    let doc = yaml("action.yml");
    let mut found = Vec::new();
    for (i, step) in doc["runs"]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .enumerate()
    {
        if let Some(run) = step.get("run").and_then(Value::as_str) {
            found.extend(shell_commands(run, &format!("action.yml, step {}", i + 1)));
        }
    }
    found
}

#[test]
fn every_svcbind_command_line_of_the_recipes_parses() {
    let mut problems = Vec::new();
    for (source, (found, least)) in sources() {
        if found.len() < least {
            problems.push(format!(
                "{source}: {} svcbind command lines found, expected at least {least}: {found:#?}",
                found.len()
            ));
        }
        problems.extend(failures(&found));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn the_recipes_take_the_steps_the_pipeline_needs() {
    let has = |found: &[Found], words: &[&str]| {
        found
            .iter()
            .any(|f| words.iter().all(|w| f.words.iter().any(|x| x == w)))
    };
    let plan = workflow_commands("examples/ci/github/svcbind-plan.yml");
    assert!(has(&plan, &["validate"]));
    assert!(has(
        &plan,
        &["plan", "--changed-since", "--out", "markdown"]
    ));
    let apply = workflow_commands("examples/ci/github/svcbind-apply.yml");
    assert!(has(
        &apply,
        &[
            "apply",
            "/tmp/reviewed/svcbind-plan.json",
            "--yes",
            "--force"
        ]
    ));
    let drift = workflow_commands("examples/ci/github/svcbind-drift.yml");
    assert!(has(&drift, &["drift", "--report", "markdown"]));
    let gitlab = gitlab_commands("examples/ci/gitlab-ci.yml");
    for words in [
        &["validate"][..],
        &["plan", "--changed-since", "--out", "markdown"],
        &["apply", "plan.json", "--yes", "--force", "--wait=6h"],
        &["drift", "--report", "markdown"],
    ] {
        assert!(has(&gitlab, words), "the GitLab file lacks {words:?}");
    }
}

/// The recipes' reading of svcbind's Action ([`action_command`]) is the Action's: the inputs
/// exist, and its script assembles the words in that order.
#[test]
fn the_action_builds_the_command_the_recipes_expect() {
    let doc = yaml("action.yml");
    for input in ["command", "config", "args", "plan-file", "output"] {
        assert!(
            doc["inputs"].get(input).is_some(),
            "action.yml has no input `{input}`"
        );
    }
    assert_eq!(doc["inputs"]["config"]["default"], "svcbind.yaml");
    for output in ["exit-code", "has-changes", "plan-file"] {
        assert!(
            doc["outputs"].get(output).is_some(),
            "action.yml has no output `{output}`"
        );
    }
    let run = doc["runs"]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find_map(|s| (s["id"] == "run").then(|| s["run"].as_str().expect("a script")))
        .expect("the step that runs svcbind");
    let order = [
        "words=(\"$SVCBIND_COMMAND\")",
        "if [ -n \"$plan_file\" ]; then words+=(\"$plan_file\"); fi",
        "words+=(-c \"$SVCBIND_INPUT_CONFIG\")",
        "plan_file=\"${SVCBIND_INPUT_PLAN:-$RUNNER_TEMP/svcbind-plan.json}\"",
        "words+=(--out \"$plan_file\")",
        "read -r -a extra <<< \"$SVCBIND_INPUT_ARGS\"",
        "words+=(\"${extra[@]}\")",
        "svcbind \"${words[@]}\"",
    ];
    let mut at = 0;
    for piece in order {
        let found = run[at..]
            .find(piece)
            .unwrap_or_else(|| panic!("action.yml no longer has `{piece}` after the last piece"));
        at += found + piece.len();
    }
    // The recipes use the Action, pinned.
    for recipe in [
        "examples/ci/github/svcbind-plan.yml",
        "examples/ci/github/svcbind-apply.yml",
        "examples/ci/github/svcbind-drift.yml",
    ] {
        let text = read(recipe);
        assert!(text.contains("uses: OWNER/svcbind@REF"), "{recipe}");
        for line in text.lines().filter(|l| l.contains("uses: actions/")) {
            let (_, reference) = line.split_once('@').expect("a ref");
            assert!(
                reference.len() > 40 && reference[..40].chars().all(|c| c.is_ascii_hexdigit()),
                "{recipe}: not pinned to a commit: {line}"
            );
        }
    }
}

#[test]
fn the_extraction_finds_commands_where_a_shell_runs_them() {
    let found = shell_commands(
        "echo \"svcbind plan\"\ncommand -v svcbind > /dev/null || cargo install svcbind\n\
         code=0; svcbind plan --out p.json \\\n  --format json > p.md || code=$?\n\
         x=$(svcbind services --format json | jq .)\nif svcbind validate; then :; fi # svcbind x\n\
         SVCBIND_FORMAT=json svcbind drift ${SVCBIND_WAIT:+--report=r.json}\n\
         SVCBIND=target/release/svcbind examples/ci/rehearse.sh\n",
        "test",
    );
    let words: Vec<Vec<&str>> = found
        .iter()
        .map(|f| f.words.iter().map(String::as_str).collect())
        .collect();
    assert_eq!(
        words,
        [
            vec!["plan", "--out", "p.json", "--format", "json"],
            vec!["services", "--format", "json"],
            vec!["validate"],
            vec!["drift", "--report=r.json"],
        ]
    );
    assert!(failures(&found).is_empty());
    // A flag that does not exist is caught.
    let bad = shell_commands("svcbind plan --changed-sinse main", "test");
    assert_eq!(failures(&bad).len(), 1);
}
