//! Where the API credentials come from, and the [`Secret`] type that keeps them out of output.
//!
//! This module owns the lookup order (`--api-token-file`, then `CLOUDFLARE_API_TOKEN`, then the
//! legacy `CLOUDFLARE_API_KEY` + `CLOUDFLARE_EMAIL` pair) and the check that a credential can be
//! sent in an HTTP header. It must never put a secret into an error message, a `Debug` or a
//! `Display`; it reads the environment only through the lookup function it is given, so tests
//! never touch the process environment. It does no network I/O and does not print.

use std::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};

/// Environment variable holding an API token.
pub const ENV_API_TOKEN: &str = "CLOUDFLARE_API_TOKEN";
/// Environment variable holding a legacy global API key (needs [`ENV_EMAIL`] too).
pub const ENV_API_KEY: &str = "CLOUDFLARE_API_KEY";
/// Environment variable holding the account e-mail that goes with a legacy API key.
pub const ENV_EMAIL: &str = "CLOUDFLARE_EMAIL";
/// The most read from a token file: a token is about 40 characters, so anything larger is
/// the wrong file (or a device such as `/dev/zero` that never ends).
pub const MAX_TOKEN_FILE: u64 = 64 * 1024;

/// A credential. `Debug` and `Display` print `[redacted]`; only [`Secret::expose`] gives the
/// value, and only the HTTP client calls it, to build a header.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential. No check is made here: [`from_sources`] checks what it reads, and the
    /// HTTP client refuses a value that cannot go into a header.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The credential itself, to be put into a request header and nowhere else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// How svcbind authenticates to the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// An API token, sent as `Authorization: Bearer <token>` (preferred).
    Token(Secret),
    /// The legacy global API key, sent as `X-Auth-Email` and `X-Auth-Key`.
    Legacy { email: String, key: Secret },
}

/// Why no usable credentials were found. Messages never contain a secret.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// The token file could not be read.
    #[error("cannot read the API token file `{}`", path.display())]
    ReadFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The token file is larger than [`MAX_TOKEN_FILE`].
    #[error(
        "the API token file `{}` is larger than 64 KiB: it should hold one API token; check --api-token-file",
        path.display()
    )]
    FileTooLarge { path: PathBuf },
    /// The token file is not UTF-8 text.
    #[error(
        "the API token file `{}` is not text (not UTF-8): it should hold one API token; check --api-token-file",
        path.display()
    )]
    FileNotText { path: PathBuf },
    /// The token file holds nothing but whitespace.
    #[error(
        "the API token file `{}` is empty: write the API token into it, or unset --api-token-file to use CLOUDFLARE_API_TOKEN",
        path.display()
    )]
    EmptyFile { path: PathBuf },
    /// A credential holds a character that cannot be sent in an HTTP header.
    #[error(
        "the {what} from {origin} contains a space, a control character or a non-ASCII character (at character {position}): copy it again without stray characters"
    )]
    BadCharacter {
        /// `API token`, `API key` or `e-mail`.
        what: &'static str,
        /// Where it came from: an environment variable or the token file.
        origin: String,
        /// 1-based position of the first bad character (never the character itself).
        position: usize,
    },
    /// One half of the legacy pair is set without the other.
    #[error(
        "{present} is set but {missing} is not: the legacy API key needs both (or set CLOUDFLARE_API_TOKEN instead)"
    )]
    IncompleteLegacy {
        present: &'static str,
        missing: &'static str,
    },
    /// No credentials at all.
    #[error(
        "no Cloudflare credentials{}: set CLOUDFLARE_API_TOKEN to an API token with the \"IP Prefixes: Read\" permission (plan, drift) or \"IP Prefixes: Edit\" (apply), or pass --api-token-file FILE; to try svcbind without an account, use --emulate SEED.yaml",
        empty_note(empty)
    )]
    Missing {
        /// Variables that were set but empty (a CI secret that is not defined looks like this).
        empty: Vec<&'static str>,
    },
}

fn empty_note(empty: &[&'static str]) -> String {
    if empty.is_empty() {
        String::new()
    } else {
        format!(" ({} set but empty)", empty.join(", "))
    }
}

/// Finds the credentials, in this order: the token file, `CLOUDFLARE_API_TOKEN`, then the
/// legacy `CLOUDFLARE_API_KEY` + `CLOUDFLARE_EMAIL` pair.
///
/// `env` looks up an environment variable (pass `|k| std::env::var(k).ok()`). Values are trimmed
/// of surrounding whitespace (a token file usually ends with a newline); a variable that is set
/// but empty counts as unset, and the final error says so, since that is how an undefined CI
/// secret arrives. Every credential must be printable ASCII without spaces, so that it can go
/// into a header.
pub fn from_sources(
    env: impl Fn(&str) -> Option<String>,
    token_file: Option<&Path>,
) -> Result<Credentials, CredentialsError> {
    if let Some(path) = token_file {
        return token_from_file(path);
    }

    let mut empty = Vec::new();
    let mut lookup = |name: &'static str| match env(name) {
        Some(v) if !v.trim().is_empty() => Some(v.trim().to_owned()),
        Some(_) => {
            empty.push(name);
            None
        }
        None => None,
    };

    if let Some(token) = lookup(ENV_API_TOKEN) {
        check_header_safe(&token, "API token", || ENV_API_TOKEN.to_owned())?;
        return Ok(Credentials::Token(Secret(token)));
    }

    match (lookup(ENV_API_KEY), lookup(ENV_EMAIL)) {
        (Some(key), Some(email)) => {
            check_header_safe(&key, "API key", || ENV_API_KEY.to_owned())?;
            check_header_safe(&email, "e-mail", || ENV_EMAIL.to_owned())?;
            Ok(Credentials::Legacy {
                email,
                key: Secret(key),
            })
        }
        (Some(_), None) => Err(CredentialsError::IncompleteLegacy {
            present: ENV_API_KEY,
            missing: ENV_EMAIL,
        }),
        (None, Some(_)) => Err(CredentialsError::IncompleteLegacy {
            present: ENV_EMAIL,
            missing: ENV_API_KEY,
        }),
        (None, None) => Err(CredentialsError::Missing { empty }),
    }
}

fn token_from_file(path: &Path) -> Result<Credentials, CredentialsError> {
    let read_error = |source| CredentialsError::ReadFile {
        path: path.to_owned(),
        source,
    };
    // Read one byte past the cap, so a larger file is told apart without reading it whole.
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_TOKEN_FILE + 1).read_to_end(&mut bytes))
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_TOKEN_FILE {
        return Err(CredentialsError::FileTooLarge {
            path: path.to_owned(),
        });
    }
    let text = String::from_utf8(bytes).map_err(|_| CredentialsError::FileNotText {
        path: path.to_owned(),
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(CredentialsError::EmptyFile {
            path: path.to_owned(),
        });
    }
    check_header_safe(token, "API token", || {
        format!("the file `{}`", path.display())
    })?;
    Ok(Credentials::Token(Secret(token.to_owned())))
}

/// Accepts printable ASCII without spaces (`!` to `~`): what a token, a key or an e-mail
/// address can be, and always a valid header value.
fn check_header_safe(
    value: &str,
    what: &'static str,
    origin: impl FnOnce() -> String,
) -> Result<(), CredentialsError> {
    match value.chars().position(|c| !c.is_ascii_graphic()) {
        None => Ok(()),
        Some(i) => Err(CredentialsError::BadCharacter {
            what,
            origin: origin(),
            position: i + 1,
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::io::Write;

    use super::*;

    const TOKEN: &str = "Yq3fZ8rT1uV0wX9aB2cD4eF6gH7iJ5kL0mN1oP2q";

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn token_file(content: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(content.as_bytes()).unwrap();
        f
    }

    #[test]
    fn secret_never_prints_itself() {
        let s = Secret::new(TOKEN);
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert_eq!(s.to_string(), "[redacted]");
        assert_eq!(s.expose(), TOKEN);
        let legacy = Credentials::Legacy {
            email: "ops@example.com".into(),
            key: Secret::new(TOKEN),
        };
        let debug = format!("{legacy:?} {:?}", Credentials::Token(Secret::new(TOKEN)));
        assert!(!debug.contains(TOKEN), "{debug}");
        assert!(debug.contains("ops@example.com"));
    }

    #[test]
    fn token_file_comes_first_and_is_trimmed() {
        let f = token_file(&format!("{TOKEN}\n"));
        let got = from_sources(
            env(&[(ENV_API_TOKEN, "from-env"), (ENV_API_KEY, "k")]),
            Some(f.path()),
        )
        .unwrap();
        assert_eq!(got, Credentials::Token(Secret::new(TOKEN)));

        let f = token_file(&format!("  {TOKEN} \r\n\n"));
        let got = from_sources(env(&[]), Some(f.path())).unwrap();
        assert_eq!(got, Credentials::Token(Secret::new(TOKEN)));
    }

    #[test]
    fn empty_token_file_is_an_error_naming_the_file() {
        let f = token_file(" \n\n");
        let err = from_sources(env(&[(ENV_API_TOKEN, TOKEN)]), Some(f.path())).unwrap_err();
        assert!(matches!(err, CredentialsError::EmptyFile { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains(&f.path().display().to_string()), "{msg}");
        assert!(msg.contains("is empty"), "{msg}");
    }

    #[test]
    fn unreadable_token_file_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope.txt");
        let err = from_sources(env(&[]), Some(&path)).unwrap_err();
        assert!(matches!(err, CredentialsError::ReadFile { .. }), "{err:?}");
        assert!(err.to_string().contains("nope.txt"), "{err}");
    }

    #[test]
    fn a_token_file_larger_than_64_kib_is_refused_without_reading_it_whole() {
        // `/dev/zero` never ends: reading it whole would grow without bound.
        let zero = Path::new("/dev/zero");
        if zero.exists() {
            let err = from_sources(env(&[]), Some(zero)).unwrap_err();
            assert!(
                matches!(err, CredentialsError::FileTooLarge { .. }),
                "{err:?}"
            );
            assert_eq!(
                err.to_string(),
                "the API token file `/dev/zero` is larger than 64 KiB: it should hold one API token; check --api-token-file"
            );
        }
        let f = token_file(&"a".repeat(64 * 1024 + 1));
        let err = from_sources(env(&[]), Some(f.path())).unwrap_err();
        assert!(
            matches!(err, CredentialsError::FileTooLarge { .. }),
            "{err:?}"
        );
        // At the cap it is read (and refused for what it holds, not for its size).
        let f = token_file(&format!("{TOKEN}{}", " ".repeat(64 * 1024 - TOKEN.len())));
        assert_eq!(
            from_sources(env(&[]), Some(f.path())).unwrap(),
            Credentials::Token(Secret::new(TOKEN))
        );
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(b"\xff\xfe token").unwrap();
        let err = from_sources(env(&[]), Some(f.path())).unwrap_err();
        assert!(
            matches!(err, CredentialsError::FileNotText { .. }),
            "{err:?}"
        );
    }

    #[test]
    fn env_token_comes_before_the_legacy_pair() {
        let got = from_sources(
            env(&[
                (ENV_API_TOKEN, TOKEN),
                (ENV_API_KEY, "key"),
                (ENV_EMAIL, "a@b.c"),
            ]),
            None,
        )
        .unwrap();
        assert_eq!(got, Credentials::Token(Secret::new(TOKEN)));
    }

    #[test]
    fn legacy_pair_needs_both_halves() {
        let got = from_sources(
            env(&[(ENV_API_KEY, TOKEN), (ENV_EMAIL, "ops@example.com\n")]),
            None,
        )
        .unwrap();
        assert_eq!(
            got,
            Credentials::Legacy {
                email: "ops@example.com".into(),
                key: Secret::new(TOKEN)
            }
        );

        let err = from_sources(env(&[(ENV_API_KEY, TOKEN)]), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "CLOUDFLARE_API_KEY is set but CLOUDFLARE_EMAIL is not: the legacy API key needs both (or set CLOUDFLARE_API_TOKEN instead)"
        );
        let err = from_sources(env(&[(ENV_EMAIL, "ops@example.com")]), None).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("CLOUDFLARE_EMAIL is set but CLOUDFLARE_API_KEY is not"),
            "{err}"
        );
    }

    #[test]
    fn nothing_set_says_what_to_set() {
        let msg = from_sources(env(&[]), None).unwrap_err().to_string();
        for needle in [
            "CLOUDFLARE_API_TOKEN",
            "IP Prefixes: Read",
            "IP Prefixes: Edit",
            "--api-token-file",
            "--emulate SEED.yaml",
        ] {
            assert!(msg.contains(needle), "{needle} missing from: {msg}");
        }
        assert!(!msg.contains("set but empty"), "{msg}");
    }

    #[test]
    fn empty_variables_count_as_unset_and_are_named() {
        let err = from_sources(env(&[(ENV_API_TOKEN, "")]), None).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("no Cloudflare credentials (CLOUDFLARE_API_TOKEN set but empty):"),
            "{err}"
        );
        // An empty token does not hide a complete legacy pair.
        let got = from_sources(
            env(&[
                (ENV_API_TOKEN, " "),
                (ENV_API_KEY, "key"),
                (ENV_EMAIL, "a@b.c"),
            ]),
            None,
        )
        .unwrap();
        assert!(matches!(got, Credentials::Legacy { .. }));
    }

    #[test]
    fn tokens_that_cannot_go_into_a_header_are_refused_without_echo() {
        let bad = [
            format!("{TOKEN} {TOKEN}"),
            format!("{TOKEN}\x07"),
            format!("{TOKEN}\ninjected: header"),
            format!("{TOKEN}é"),
        ];
        for value in &bad {
            let err = from_sources(env(&[(ENV_API_TOKEN, value)]), None).unwrap_err();
            assert!(
                matches!(err, CredentialsError::BadCharacter { .. }),
                "{err:?}"
            );
            let msg = err.to_string();
            let debug = format!("{err:?}");
            assert!(
                !msg.contains(TOKEN) && !debug.contains(TOKEN),
                "{msg} / {debug}"
            );
            assert!(msg.contains("CLOUDFLARE_API_TOKEN"), "{msg}");
            assert!(
                msg.contains(&format!("character {}", TOKEN.len() + 1)),
                "{msg}"
            );
        }

        let f = token_file(&format!("{TOKEN}\tmore\n"));
        let err = from_sources(env(&[]), Some(f.path())).unwrap_err();
        assert!(!err.to_string().contains(TOKEN), "{err}");
        assert!(err.to_string().contains("the file `"), "{err}");

        let err =
            from_sources(env(&[(ENV_API_KEY, "k y"), (ENV_EMAIL, "a@b.c")]), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the API key from CLOUDFLARE_API_KEY contains a space, a control character or a non-ASCII character (at character 2): copy it again without stray characters"
        );
    }
}
