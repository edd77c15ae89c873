//! The file as written: the YAML input structs, with the place of every value.
//!
//! These types mirror the format key for key (`deny_unknown_fields`), keep every scalar as the
//! text the user wrote (with its line and column), and describe themselves as a JSON Schema
//! for editors. They check nothing beyond the shape: `validate` reads them and decides what is
//! wrong, so that all problems of a file are found in one run.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::yaml::Spanned;

/// The svcbind desired-state file: the service bindings wanted for each listed BYOIP prefix.
/// The same format seeds the emulator and is written by `svcbind export`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "svcbind desired-state file")]
pub(crate) struct FileInput {
    /// The format version. Always 1.
    #[schemars(with = "Version")]
    pub version: Spanned<Version>,
    /// The Cloudflare account id. When absent, `--account-id` or `CLOUDFLARE_ACCOUNT_ID` gives
    /// it; when both are given they must agree.
    #[serde(default)]
    #[schemars(with = "IdText")]
    pub account_id: Option<Spanned<String>>,
    /// Limits that guard `apply`.
    #[serde(default)]
    #[schemars(with = "SafetyInput")]
    pub safety: Option<SafetyInput>,
    /// Service name → service id. Seeds the emulator's catalog; written by `export`.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, IdText>")]
    pub services: BTreeMap<String, Spanned<String>>,
    /// The managed prefixes. A live prefix not listed here is never touched.
    pub prefixes: Vec<PrefixInput>,
}

/// Limits that guard `apply`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SafetyInput {
    /// Deletes plus replaces allowed in one apply before `--force` is needed (default 10).
    #[serde(default)]
    #[schemars(with = "u32")]
    pub max_deletes: Option<Spanned<u32>>,
}

/// One BYOIP prefix and the bindings wanted in it.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PrefixInput {
    /// The prefix's CIDR, as onboarded; its id is looked up by it.
    #[schemars(with = "Cidr")]
    pub cidr: Spanned<String>,
    /// Pins the prefix id (it must agree with `cidr`).
    #[serde(default)]
    #[schemars(with = "IdText")]
    pub id: Option<Spanned<String>>,
    /// Ranges inside the prefix whose live bindings are left alone.
    #[serde(default)]
    #[schemars(with = "Vec<Cidr>")]
    pub ignore: Vec<Spanned<String>>,
    /// Every binding the prefix shall have; live bindings not listed are deleted. `[]` means
    /// none. When not empty, one binding covers the whole prefix.
    pub bindings: Vec<BindingInput>,
}

/// One service binding: the range and the service that gets its traffic.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BindingInput {
    /// The bound range, inside the prefix.
    #[schemars(with = "Cidr")]
    pub cidr: Spanned<String>,
    /// A service name (`Magic Transit`, `CDN`, `Spectrum`) or a service id.
    #[schemars(with = "ServiceText")]
    pub service: Spanned<String>,
    /// The binding id (seed and export files).
    #[serde(default)]
    #[schemars(with = "IdText")]
    pub id: Option<Spanned<String>>,
    /// The provisioning state (seed and export files), such as `active` or `provisioning`.
    #[serde(default)]
    #[schemars(with = "String")]
    pub state: Option<Spanned<String>>,
}

/// The `version` value as written: any scalar is read, so a wrong one gets its own message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Version {
    Number(i128),
    /// Anything else, as it reads in a message (`"1"` for a quoted string, `a list`, …).
    Other(String),
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Version;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("the format version, 1")
            }
            fn visit_u64<E>(self, v: u64) -> Result<Version, E> {
                Ok(Version::Number(v.into()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Version, E> {
                Ok(Version::Number(v.into()))
            }
            fn visit_u128<E>(self, v: u128) -> Result<Version, E> {
                Ok(i128::try_from(v)
                    .map_or_else(|_| Version::Other(v.to_string()), Version::Number))
            }
            fn visit_i128<E>(self, v: i128) -> Result<Version, E> {
                Ok(Version::Number(v))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Version, E> {
                Ok(Version::Other(format!("{v:?}")))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Version, E> {
                Ok(Version::Other(v.to_string()))
            }
            fn visit_str<E>(self, v: &str) -> Result<Version, E> {
                Ok(Version::Other(format!("{v:?}")))
            }
            fn visit_unit<E>(self) -> Result<Version, E> {
                Ok(Version::Other("null".to_owned()))
            }
            fn visit_none<E>(self) -> Result<Version, E> {
                Ok(Version::Other("null".to_owned()))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Version, D::Error> {
                d.deserialize_any(V)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Version, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Version::Other("a list".to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Version, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Version::Other("a mapping".to_owned()))
            }
            fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Version, E> {
                Ok(Version::Other("binary data".to_owned()))
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for Version {
    fn schema_name() -> Cow<'static, str> {
        "Version".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "The format version. Always 1.",
            "type": "integer",
            "const": 1,
        })
    }
}

/// IPv4 CIDR: four octets of 0–255, then `/0`–`/32`.
const IPV4_CIDR: &str = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}/(3[0-2]|[12]?[0-9])";

/// IPv6 CIDR: two to seven hex groups ending in a colon (`::` makes empty ones), then a last
/// group or a dotted IPv4 tail, then `/0`–`/128`. Looser than the full grammar; the validator
/// checks the rest.
const IPV6_CIDR: &str = r"([0-9A-Fa-f]{0,4}:){2,7}([0-9A-Fa-f]{0,4}|[0-9]{1,3}(\.[0-9]{1,3}){3})/(12[0-8]|1[01][0-9]|[1-9]?[0-9])";

/// The schema of a CIDR field. Not ipnet's, whose `oneOf` rejects every IPv4 CIDR.
pub(crate) struct Cidr;

impl JsonSchema for Cidr {
    fn schema_name() -> Cow<'static, str> {
        "Cidr".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "An IPv4 or IPv6 CIDR with zero host bits, such as 192.0.2.0/24 or 2001:db8::/48.",
            "type": "string",
            "pattern": format!("^(({IPV4_CIDR})|({IPV6_CIDR}))$"),
        })
    }
}

/// The schema of an id: what goes into an API path.
pub(crate) struct IdText;

impl JsonSchema for IdText {
    fn schema_name() -> Cow<'static, str> {
        "Id".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A Cloudflare id: 1 to 32 letters or digits.",
            "type": "string",
            "pattern": "^[0-9A-Za-z]{1,32}$",
        })
    }
}

/// The schema of a `service` value: a name or an id.
pub(crate) struct ServiceText;

impl JsonSchema for ServiceText {
    fn schema_name() -> Cow<'static, str> {
        "Service".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A service name (Magic Transit, CDN, Spectrum) or a service id.",
            "type": "string",
            "minLength": 1,
            "examples": ["Magic Transit", "CDN", "Spectrum"],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_and_block_bindings_read_alike() {
        let block: FileInput = super::super::yaml::from_str(
            "version: 1\nprefixes:\n  - cidr: 192.0.2.0/24\n    bindings:\n      - cidr: 192.0.2.0/24\n        service: CDN\n",
        )
        .unwrap();
        let flow: FileInput = super::super::yaml::from_str(
            "version: 1\nprefixes:\n  - cidr: 192.0.2.0/24\n    bindings:\n      - { cidr: 192.0.2.0/24, service: CDN }\n",
        )
        .unwrap();
        let b = &block.prefixes[0].bindings[0];
        let f = &flow.prefixes[0].bindings[0];
        assert_eq!(
            (b.cidr.value.as_str(), b.service.value.as_str()),
            ("192.0.2.0/24", "CDN")
        );
        assert_eq!(
            (f.cidr.value.as_str(), f.service.value.as_str()),
            ("192.0.2.0/24", "CDN")
        );
        assert_eq!(
            (f.service.referenced.line(), f.service.referenced.column()),
            (5, 40)
        );
    }

    #[test]
    fn version_keeps_what_was_written() {
        let read = |v: &str| -> Version {
            let f: FileInput =
                super::super::yaml::from_str(&format!("version: {v}\nprefixes: []\n")).unwrap();
            f.version.value
        };
        assert_eq!(read("1"), Version::Number(1));
        assert_eq!(read("-3"), Version::Number(-3));
        assert_eq!(read("'1'"), Version::Other("\"1\"".into()));
        assert_eq!(read("1.0"), Version::Other("1.0".into()));
        assert_eq!(read("[1, [2]]"), Version::Other("a list".into()));
        assert_eq!(read("{a: 1}"), Version::Other("a mapping".into()));
        assert_eq!(read("~"), Version::Other("null".into()));
    }

    #[test]
    fn numbers_are_read_as_the_text_written() {
        let f: FileInput = super::super::yaml::from_str(
            "version: 1\nprefixes:\n  - cidr: 10\n    id: 0123\n    bindings: [{cidr: x, service: 12345}]\n",
        )
        .unwrap();
        assert_eq!(f.prefixes[0].id.as_ref().unwrap().value, "0123");
        assert_eq!(f.prefixes[0].bindings[0].service.value, "12345");
    }
}
