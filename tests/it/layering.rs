//! The module layering of `src/`, checked from the source: dependencies point down only.
//!
//! Every top-level module has a layer; a module may use only modules of lower layers, so no
//! two modules import each other and there is no cycle. `cli` (raw arguments) is used by
//! `settings` and `commands` alone. Test code (`#[cfg(test)]` and `tests.rs` files) and
//! comments are not counted. Rerun with `cargo test --test it layering`.

use std::collections::BTreeMap;
use std::path::Path;

use crate::root;

/// Each module's layer: it may use modules of lower layers only.
const LAYERS: &[(&str, u8)] = &[
    ("cli", 0),
    ("exit", 0),
    ("model", 0),
    ("sanitize", 0),
    ("api", 1),
    ("rules", 1),
    ("config", 2),
    ("emulator", 2),
    ("plan", 2),
    ("apply", 3),
    ("resolve", 3),
    ("contract", 4),
    ("backend", 5),
    ("render", 5),
    ("settings", 6),
    ("commands", 7),
];

/// Modules that may use `cli` besides the layering: the parsed-settings stage and the edge.
const CLI_USERS: &[&str] = &["settings", "commands"];

fn layer(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
}

/// The top-level module a file of `src/` belongs to (`None` for `lib.rs` and `main.rs`).
fn module_of(relative: &Path) -> Option<String> {
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib" && name != "main").then(|| name.to_owned())
}

/// The source without test code and comments: everything from the first `#[cfg(test)]` on is
/// dropped (tests sit at the end of a file), and `//` comments are removed.
fn production_code(source: &str) -> String {
    let mut out = String::new();
    for line in source.lines() {
        if line.trim_start().starts_with("#[cfg(test)]") {
            break;
        }
        let code = match line.find("//") {
            Some(i) if !line[..i].contains('"') => &line[..i],
            Some(_) => line,
            None => line,
        };
        out.push_str(code);
        out.push('\n');
    }
    out
}

/// The top-level modules a piece of code names through `crate::`.
fn used_modules(code: &str) -> Vec<String> {
    let mut used = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `crate::{a::b, c}`: the first name of each item at depth 0.
            let mut depth = 0;
            let mut item_start = true;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        rest = &group[j..];
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && (c.is_ascii_alphabetic() || c == '_') => {
                        let name: String = group[j..]
                            .chars()
                            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                            .collect();
                        used.push(name);
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            used.push(name);
        }
    }
    used
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src/") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs")
            && path.file_name().is_some_and(|n| n != "tests.rs")
        {
            out.push(path);
        }
    }
}

/// Every use of another module, as (user, used) → the first file that shows it.
fn dependencies() -> BTreeMap<(String, String), String> {
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut deps = BTreeMap::new();
    for file in files {
        let relative = file.strip_prefix(&src).expect("inside src/");
        let Some(user) = module_of(relative) else {
            continue;
        };
        let source = std::fs::read_to_string(&file).expect("read a source file");
        for used in used_modules(&production_code(&source)) {
            if used != user {
                deps.entry((user.clone(), used))
                    .or_insert_with(|| relative.display().to_string());
            }
        }
    }
    deps
}

#[test]
fn dependencies_point_down_only() {
    let mut wrong = Vec::new();
    for ((user, used), file) in dependencies() {
        let (Some(from), Some(to)) = (layer(&user), layer(&used)) else {
            wrong.push(format!(
                "{file}: `{user}` or `{used}` has no layer: add it to LAYERS in tests/it/layering.rs"
            ));
            continue;
        };
        if used == "cli" && !CLI_USERS.contains(&user.as_str()) {
            wrong.push(format!(
                "{file}: `{user}` uses `cli`; only {CLI_USERS:?} may (raw arguments become settings first)"
            ));
        } else if used != "cli" && to >= from {
            wrong.push(format!(
                "{file}: `{user}` (layer {from}) uses `{used}` (layer {to}): dependencies point down only"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_checker_sees_grouped_and_plain_uses() {
    let code = production_code(
        "use crate::{api::{Api, ApiError}, model};\n\
         // crate::render is only mentioned here\n\
         fn f() { crate::plan::plan(); }\n\
         #[cfg(test)]\n\
         mod tests { use crate::emulator; }\n",
    );
    assert_eq!(used_modules(&code), ["api", "model", "plan"]);
}
