//! The file as written: the YAML input structs, with the place of every value.
//!
//! These types mirror the format key for key, keep every scalar as the text the user wrote
//! (with its line and column), and describe themselves as a JSON Schema for editors (which
//! refuses unknown keys: `additionalProperties: false`). They check nothing beyond the shape:
//! `validate` reads them and decides what is wrong, so that all problems of a file are found
//! in one run.
//!
//! Reading is lenient on purpose. A mapping's unknown keys are kept by name in its `unknown`
//! list and its missing keys are left `None`, where serde's `deny_unknown_fields` and required
//! fields would stop the whole read at the first one and hide every other problem of the file
//! (SPEC §1: all problems are reported together). The `Deserialize` impls are therefore
//! written here rather than derived, one small [`Mapping::read`] per struct; the keys of each
//! mapping are declared once (the `keys!` enums), and serve the reader, the "did you mean"
//! hints and a test that holds them equal to the schema's properties.
//!
//! Keys are read as plain strings, as serde's derive reads them: no location is recorded for
//! them, so a valid file costs what a derived reader costs. Where an unknown or missing key
//! is, is found only when there is one, by [`super::yaml::locate`]: one more pass over the
//! parser's events, about half the cost of the read, paid by files that have such a problem.
//! Reading every key as a `Spanned` would have cost every valid file about 8 % more (measured
//! on the 10,000-binding benchmark), and would hide key names from the path that names the
//! place of a type error (`prefixes[2].bindings`).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::yaml::Spanned;

/// The keys of one mapping of the format.
pub(crate) trait Keys: Copy + 'static {
    /// Every key, in the order of the format.
    const ALL: &'static [Self];
    /// The name of each key of [`Keys::ALL`], in the same order.
    const NAMES: &'static [&'static str];

    /// The key named `name`, if the mapping has one.
    fn find(name: &str) -> Option<Self> {
        Self::NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| Self::ALL[i])
    }
}

/// Declares the keys of one mapping: an enum with one variant per key, and their names.
macro_rules! keys {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum $name {
            $($variant),+
        }

        impl Keys for $name {
            const ALL: &'static [Self] = &[$(Self::$variant),+];
            const NAMES: &'static [&'static str] = &[$($text),+];
        }
    };
}

keys!(
    /// The keys of the file's top-level mapping.
    FileKey {
        Version = "version",
        AccountId = "account_id",
        Safety = "safety",
        Services = "services",
        Prefixes = "prefixes",
    }
);

keys!(
    /// The keys of `safety`.
    SafetyKey {
        MaxDeletes = "max_deletes",
        MaxDeletePercent = "max_delete_percent",
        Protect = "protect",
    }
);

/// The prefix of extension keys: a top-level key that starts with it is read and ignored, so
/// that YAML anchors have a home (`x-anchors: { edge: &edge CDN }`), as in Compose files.
pub(crate) const EXTENSION_PREFIX: &str = "x-";

keys!(
    /// The keys of a prefix.
    PrefixKey {
        Cidr = "cidr",
        Id = "id",
        Ignore = "ignore",
        Bindings = "bindings",
    }
);

keys!(
    /// The keys of a binding.
    BindingKey {
        Cidr = "cidr",
        Service = "service",
        Id = "id",
        State = "state",
    }
);

/// A struct read from a YAML mapping, key by key, keeping the keys it does not know.
pub(crate) trait Mapping: Default {
    type Key: Keys;
    /// Reads the value of `key` into its field.
    fn read<'de, A: MapAccess<'de>>(&mut self, key: Self::Key, map: &mut A)
    -> Result<(), A::Error>;
    /// The names of the keys read that the mapping does not have, in file order.
    fn unknown_mut(&mut self) -> &mut Vec<String>;
    /// Whether keys starting with [`EXTENSION_PREFIX`] are allowed (and ignored).
    const EXTENSIONS: bool = false;
}

/// A mapping key as read: one of the mapping's keys, or another, kept by its text.
enum Key<K> {
    Known(K),
    Unknown(String),
}

impl<'de, K: Keys> Deserialize<'de> for Key<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<K>(PhantomData<K>);
        impl<K: Keys> Visitor<'_> for V<K> {
            type Value = Key<K>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<K>, E> {
                Ok(K::find(v).map_or_else(|| Key::Unknown(v.to_owned()), Key::Known))
            }
            fn visit_bytes<E>(self, v: &[u8]) -> Result<Key<K>, E> {
                Ok(Key::Unknown(String::from_utf8_lossy(v).into_owned()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Key<K>, E> {
                Ok(Key::Unknown(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Key<K>, E> {
                Ok(Key::Unknown(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Key<K>, E> {
                Ok(Key::Unknown(v.to_string()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Key<K>, E> {
                Ok(Key::Unknown(v.to_string()))
            }
            fn visit_unit<E>(self) -> Result<Key<K>, E> {
                Ok(Key::Unknown("null".to_owned()))
            }
        }
        d.deserialize_identifier(V(PhantomData))
    }
}

/// Reads any [`Mapping`]: its keys into its fields, other keys into its `unknown` list.
fn read_mapping<'de, M: Mapping, D: Deserializer<'de>>(
    d: D,
    name: &'static str,
) -> Result<M, D::Error> {
    struct V<M>(PhantomData<M>, &'static str);
    impl<'de, M: Mapping> Visitor<'de> for V<M> {
        type Value = M;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{}", self.1)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<M, A::Error> {
            let mut out = M::default();
            while let Some(key) = map.next_key::<Key<M::Key>>()? {
                match key {
                    Key::Known(key) => out.read(key, &mut map)?,
                    Key::Unknown(name) => {
                        map.next_value::<IgnoredAny>()?;
                        if !(M::EXTENSIONS && name.starts_with(EXTENSION_PREFIX)) {
                            out.unknown_mut().push(name);
                        }
                    }
                }
            }
            Ok(out)
        }
    }
    d.deserialize_struct(name, M::Key::NAMES, V(PhantomData, name))
}

/// The svcbind desired-state file: the service bindings wanted for each listed BYOIP prefix.
/// The same format seeds the emulator and is written by `svcbind export`. Top-level keys
/// starting with `x-` are ignored: a place for YAML anchors.
#[derive(Debug, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(title = "svcbind desired-state file")]
#[schemars(extend("patternProperties" = {
    "^x-": {
        "description": "An extension key: ignored by svcbind, a place for YAML anchors such as `x-anchors: { edge: &edge CDN }`."
    }
}))]
pub(crate) struct FileInput {
    /// The format version. Always 1.
    #[schemars(with = "VersionSchema")]
    pub version: Option<Spanned<Whole>>,
    /// The Cloudflare account id. When absent, `--account-id` or `CLOUDFLARE_ACCOUNT_ID` gives
    /// it; when both are given they must agree.
    #[schemars(default, with = "IdText")]
    pub account_id: Option<Spanned<String>>,
    /// Limits that guard `apply`.
    #[schemars(default, with = "SafetyInput")]
    pub safety: Option<SafetyInput>,
    /// Service name → service id. Seeds the emulator's catalog (seed files only: it has no
    /// effect in a desired-state file).
    #[schemars(default, with = "BTreeMap<String, IdText>")]
    pub services: BTreeMap<String, Spanned<String>>,
    /// Whether the file has a `services` key (even an empty one).
    #[schemars(skip)]
    pub has_services: bool,
    /// The managed prefixes. A live prefix not listed here is never touched.
    #[schemars(with = "Vec<PrefixInput>")]
    pub prefixes: Option<Vec<PrefixInput>>,
    #[schemars(skip)]
    pub unknown: Vec<String>,
}

impl Mapping for FileInput {
    type Key = FileKey;
    fn read<'de, A: MapAccess<'de>>(&mut self, key: FileKey, map: &mut A) -> Result<(), A::Error> {
        match key {
            FileKey::Version => self.version = Some(map.next_value()?),
            FileKey::AccountId => self.account_id = map.next_value()?,
            FileKey::Safety => self.safety = map.next_value()?,
            FileKey::Services => {
                self.has_services = true;
                self.services = map.next_value()?;
            }
            FileKey::Prefixes => self.prefixes = Some(map.next_value()?),
        }
        Ok(())
    }
    fn unknown_mut(&mut self) -> &mut Vec<String> {
        &mut self.unknown
    }
    const EXTENSIONS: bool = true;
}

impl<'de> Deserialize<'de> for FileInput {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        read_mapping(
            d,
            "the file's mapping of `version`, `prefixes` and other keys",
        )
    }
}

/// Limits that guard `apply`.
#[derive(Debug, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct SafetyInput {
    /// Deletes plus replaces allowed in one apply before `--force` is needed (default 10).
    #[schemars(default, with = "Count")]
    pub max_deletes: Option<Spanned<Whole>>,
    /// Deletes plus replaces allowed in one prefix, in percent of its live bindings, before
    /// `--force` is needed; applied to prefixes with at least 10 live bindings. Off when absent.
    #[schemars(default, with = "Percent")]
    pub max_delete_percent: Option<Spanned<Whole>>,
    /// Ranges whose addresses may not move to another service without `--force`, each inside
    /// a listed prefix. The lists of several files add up.
    #[schemars(default, with = "Vec<Cidr>")]
    pub protect: Vec<Spanned<String>>,
    #[schemars(skip)]
    pub unknown: Vec<String>,
}

impl Mapping for SafetyInput {
    type Key = SafetyKey;
    fn read<'de, A: MapAccess<'de>>(
        &mut self,
        key: SafetyKey,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match key {
            SafetyKey::MaxDeletes => self.max_deletes = map.next_value()?,
            SafetyKey::MaxDeletePercent => self.max_delete_percent = map.next_value()?,
            SafetyKey::Protect => self.protect = map.next_value()?,
        }
        Ok(())
    }
    fn unknown_mut(&mut self) -> &mut Vec<String> {
        &mut self.unknown
    }
}

impl<'de> Deserialize<'de> for SafetyInput {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        read_mapping(d, "a mapping such as `max_deletes: 10`")
    }
}

/// One BYOIP prefix and the bindings wanted in it.
#[derive(Debug, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct PrefixInput {
    /// The prefix's CIDR, as onboarded; its id is looked up by it.
    #[schemars(with = "Cidr")]
    pub cidr: Option<Spanned<String>>,
    /// Pins the prefix id (it must agree with `cidr`).
    #[schemars(default, with = "IdText")]
    pub id: Option<Spanned<String>>,
    /// Ranges inside the prefix whose live bindings are left alone.
    #[schemars(default, with = "Vec<Cidr>")]
    pub ignore: Vec<Spanned<String>>,
    /// Every binding the prefix shall have; live bindings not listed are deleted. `[]` means
    /// none. When not empty, one binding covers the whole prefix.
    #[schemars(with = "Vec<BindingInput>")]
    pub bindings: Option<Vec<BindingInput>>,
    #[schemars(skip)]
    pub unknown: Vec<String>,
}

impl Mapping for PrefixInput {
    type Key = PrefixKey;
    fn read<'de, A: MapAccess<'de>>(
        &mut self,
        key: PrefixKey,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match key {
            PrefixKey::Cidr => self.cidr = Some(map.next_value()?),
            PrefixKey::Id => self.id = map.next_value()?,
            PrefixKey::Ignore => self.ignore = map.next_value()?,
            PrefixKey::Bindings => self.bindings = Some(map.next_value()?),
        }
        Ok(())
    }
    fn unknown_mut(&mut self) -> &mut Vec<String> {
        &mut self.unknown
    }
}

impl<'de> Deserialize<'de> for PrefixInput {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        read_mapping(d, "a prefix: a mapping with `cidr` and `bindings`")
    }
}

/// One service binding: the range and the service that gets its traffic.
#[derive(Debug, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct BindingInput {
    /// The bound range, inside the prefix.
    #[schemars(with = "Cidr")]
    pub cidr: Option<Spanned<String>>,
    /// A service name (`Magic Transit`, `CDN`, `Spectrum`) or a service id.
    #[schemars(with = "ServiceText")]
    pub service: Option<Spanned<String>>,
    /// The binding id (seed and export files).
    #[schemars(default, with = "IdText")]
    pub id: Option<Spanned<String>>,
    /// The provisioning state (seed and export files), such as `active` or `provisioning`.
    #[schemars(default, with = "String")]
    pub state: Option<Spanned<String>>,
    #[schemars(skip)]
    pub unknown: Vec<String>,
}

impl Mapping for BindingInput {
    type Key = BindingKey;
    fn read<'de, A: MapAccess<'de>>(
        &mut self,
        key: BindingKey,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match key {
            BindingKey::Cidr => self.cidr = Some(map.next_value()?),
            BindingKey::Service => self.service = Some(map.next_value()?),
            BindingKey::Id => self.id = map.next_value()?,
            BindingKey::State => self.state = map.next_value()?,
        }
        Ok(())
    }
    fn unknown_mut(&mut self) -> &mut Vec<String> {
        &mut self.unknown
    }
}

impl<'de> Deserialize<'de> for BindingInput {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        read_mapping(d, "a binding: a mapping with `cidr` and `service`")
    }
}

/// A value meant to be a whole number (`version`, `max_deletes`, …) as written: any value is
/// read, so a wrong one gets its own message (out of range, not whole) instead of stopping the
/// read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Whole {
    Number(i128),
    /// Anything else, as it reads in a message (`"1"` for a quoted string, `a list`, …).
    Other(String),
}

impl<'de> Deserialize<'de> for Whole {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Whole;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a whole number")
            }
            fn visit_u64<E>(self, v: u64) -> Result<Whole, E> {
                Ok(Whole::Number(v.into()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Whole, E> {
                Ok(Whole::Number(v.into()))
            }
            fn visit_u128<E>(self, v: u128) -> Result<Whole, E> {
                Ok(i128::try_from(v).map_or_else(|_| Whole::Other(v.to_string()), Whole::Number))
            }
            fn visit_i128<E>(self, v: i128) -> Result<Whole, E> {
                Ok(Whole::Number(v))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Whole, E> {
                Ok(Whole::Other(format!("{v:?}")))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Whole, E> {
                Ok(Whole::Other(v.to_string()))
            }
            fn visit_str<E>(self, v: &str) -> Result<Whole, E> {
                Ok(Whole::Other(format!("{v:?}")))
            }
            fn visit_unit<E>(self) -> Result<Whole, E> {
                Ok(Whole::Other("null".to_owned()))
            }
            fn visit_none<E>(self) -> Result<Whole, E> {
                Ok(Whole::Other("null".to_owned()))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Whole, D::Error> {
                d.deserialize_any(V)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Whole, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Whole::Other("a list".to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Whole, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Whole::Other("a mapping".to_owned()))
            }
            fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Whole, E> {
                Ok(Whole::Other("binary data".to_owned()))
            }
        }
        d.deserialize_any(V)
    }
}

/// The schema of `version`.
pub(crate) struct VersionSchema;

impl JsonSchema for VersionSchema {
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

/// The schema of a count: a whole number from 0 to 4294967295 (an unsigned 32-bit number).
pub(crate) struct Count;

impl JsonSchema for Count {
    fn schema_name() -> Cow<'static, str> {
        "Count".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A whole number from 0 to 4294967295.",
            "type": "integer",
            "minimum": 0,
            "maximum": u32::MAX,
        })
    }
}

/// The schema of a percentage: a whole number from 0 to 100.
pub(crate) struct Percent;

impl JsonSchema for Percent {
    fn schema_name() -> Cow<'static, str> {
        "Percent".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A whole number from 0 to 100.",
            "type": "integer",
            "minimum": 0,
            "maximum": 100,
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
    use super::super::yaml::from_str;
    use super::*;

    fn text(s: &Option<Spanned<String>>) -> &str {
        s.as_ref().map_or("<none>", |s| s.value.as_str())
    }

    #[test]
    fn flow_and_block_bindings_read_alike() {
        let block: FileInput = from_str(
            "version: 1\nprefixes:\n  - cidr: 192.0.2.0/24\n    bindings:\n      - cidr: 192.0.2.0/24\n        service: CDN\n",
        )
        .unwrap();
        let flow: FileInput = from_str(
            "version: 1\nprefixes:\n  - cidr: 192.0.2.0/24\n    bindings:\n      - { cidr: 192.0.2.0/24, service: CDN }\n",
        )
        .unwrap();
        let block_prefixes = block.prefixes.unwrap();
        let b = &block_prefixes[0].bindings.as_ref().unwrap()[0];
        let flow_prefixes = flow.prefixes.unwrap();
        let f = &flow_prefixes[0].bindings.as_ref().unwrap()[0];
        assert_eq!((text(&b.cidr), text(&b.service)), ("192.0.2.0/24", "CDN"));
        assert_eq!((text(&f.cidr), text(&f.service)), ("192.0.2.0/24", "CDN"));
        let service = f.service.as_ref().unwrap();
        assert_eq!(
            (service.referenced.line(), service.referenced.column()),
            (5, 40)
        );
    }

    #[test]
    fn version_keeps_what_was_written() {
        let read = |v: &str| -> Whole {
            let f: FileInput = from_str(&format!("version: {v}\nprefixes: []\n")).unwrap();
            f.version.unwrap().value
        };
        assert_eq!(read("1"), Whole::Number(1));
        assert_eq!(read("-3"), Whole::Number(-3));
        assert_eq!(read("4294967296"), Whole::Number(4_294_967_296));
        assert_eq!(read("'1'"), Whole::Other("\"1\"".into()));
        assert_eq!(read("1.0"), Whole::Other("1.0".into()));
        assert_eq!(read("[1, [2]]"), Whole::Other("a list".into()));
        assert_eq!(read("{a: 1}"), Whole::Other("a mapping".into()));
        assert_eq!(read("~"), Whole::Other("null".into()));
    }

    #[test]
    fn numbers_are_read_as_the_text_written() {
        let f: FileInput = from_str(
            "version: 1\nprefixes:\n  - cidr: 10\n    id: 0123\n    bindings: [{cidr: x, service: 12345}]\n",
        )
        .unwrap();
        let p = &f.prefixes.unwrap()[0];
        assert_eq!(text(&p.id), "0123");
        assert_eq!(text(&p.bindings.as_ref().unwrap()[0].service), "12345");
    }

    #[test]
    fn unknown_keys_are_kept_and_missing_keys_left_out() {
        let f: FileInput = from_str(
            "versoin: 1\nsafety: { max_delete: 3 }\nprefixes:\n  - cidr: 10.0.0.0/8\n    bindngs: []\n    1: x\n  - bindings: [{ cidr: 10.0.0.0/8, colour: red, id: ~ }]\n",
        )
        .unwrap();
        assert_eq!(f.unknown, ["versoin"]);
        assert!(f.version.is_none());
        let safety = f.safety.unwrap();
        assert_eq!(safety.unknown, ["max_delete"]);
        assert!(safety.max_deletes.is_none());
        let prefixes = f.prefixes.unwrap();
        assert_eq!(prefixes[0].unknown, ["bindngs", "1"]);
        assert!(prefixes[0].bindings.is_none());
        assert!(prefixes[1].cidr.is_none());
        let b = &prefixes[1].bindings.as_ref().unwrap()[0];
        assert_eq!(b.unknown, ["colour"]);
        assert!(b.service.is_none() && b.id.is_none());
        assert_eq!(text(&b.cidr), "10.0.0.0/8");
    }

    #[test]
    fn type_errors_still_stop_the_read() {
        let e = from_str::<FileInput>("version: 1\nprefixes:\n  - cidr: [x]\n    bindings: []\n")
            .unwrap_err();
        assert_eq!(
            e.message,
            "`prefixes[0].cidr` must be a CIDR such as 192.0.2.0/24"
        );
        assert_eq!(e.location.line, 3);
    }

    /// The reader's keys and the schema's properties are one list: an editor completes exactly
    /// the keys that `validate` accepts.
    #[test]
    fn the_keys_read_are_the_keys_of_the_schema() {
        let schema = super::super::json_schema();
        let properties = |def: Option<&str>| -> Vec<String> {
            let object = match def {
                Some(name) => &schema["$defs"][name],
                None => &schema,
            };
            assert_eq!(object["additionalProperties"], false, "{def:?}");
            let mut names: Vec<String> = object["properties"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect();
            names.sort();
            names
        };
        let sorted = |names: &[&str]| {
            let mut v: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
            v.sort();
            v
        };
        assert_eq!(properties(None), sorted(FileKey::NAMES));
        assert_eq!(properties(Some("SafetyInput")), sorted(SafetyKey::NAMES));
        assert_eq!(properties(Some("PrefixInput")), sorted(PrefixKey::NAMES));
        assert_eq!(properties(Some("BindingInput")), sorted(BindingKey::NAMES));
        assert_eq!(FileKey::find("prefixes"), Some(FileKey::Prefixes));
        assert_eq!(BindingKey::find("state"), Some(BindingKey::State));
        assert_eq!(BindingKey::find("State"), None);
    }
}
