//! The API's answers as the HTTP client reads them: straight from the bytes into small typed
//! structs, never into a generic JSON tree, and leniently wherever svcbind can do without a
//! field.
//!
//! An answer is read twice over its bytes. [`Head`] reads what every answer has (`success`,
//! the first [`ERRORS_SHOWN`] entries of `errors`, `result_info`) and skips the rest without
//! building it; then, for a success, `result` alone is decoded into the call's type, with the
//! path of a field that does not decode. The items keep only what svcbind uses:
//!
//! - [`ReadPrefix`]: `id`, `cidr`, and `description` and `account_id` of any JSON type (a
//!   value that is not a string counts as absent); every other field, whatever its type, is
//!   skipped, so a field Cloudflare adds or changes never fails a run;
//! - [`ReadBinding`]: `id`, `cidr`, `service_id` (required: svcbind cannot work without them),
//!   and `service_name` and `provisioning.state` of any type, absent or null; a state that is
//!   not a string is unknown;
//! - [`ReadService`]: `id`, and `name` of any type: a service without a name is usable by id
//!   only.
//!
//! The emulator writes the contract's full shapes from [`super::wire`]; these types are the
//! client's alone.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::error::ERRORS_SHOWN;

/// How deep nested `error_chain`s are read (Cloudflare nests one level).
const CHAIN_DEPTH: usize = 4;

/// A JSON value of any type, kept only when it is a scalar; arrays and objects are skipped
/// without being built.
#[derive(Debug, Clone, PartialEq)]
pub enum Loose {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Array,
    Object,
}

impl Loose {
    /// The string, when it is one.
    pub fn into_string(self) -> Option<String> {
        match self {
            Loose::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A whole number of at least zero, when it is one (`3` or `3.0`).
    pub fn count(&self) -> Option<u64> {
        match self {
            Loose::Int(n) => u64::try_from(*n).ok(),
            Loose::Float(x) if x.fract() == 0.0 && *x >= 0.0 && *x < u64::MAX as f64 => {
                Some(*x as u64)
            }
            _ => None,
        }
    }

    /// A short description for an error message (`"yes"`, `1`, `an array`).
    pub fn describe(&self) -> String {
        match self {
            Loose::Null => "null".to_owned(),
            Loose::Bool(b) => b.to_string(),
            Loose::Int(n) => n.to_string(),
            Loose::Float(x) => x.to_string(),
            Loose::Str(s) => {
                let short: String = s.chars().take(40).collect();
                let cut = if short.len() < s.len() { "…" } else { "" };
                format!("{:?}", crate::sanitize::text(&format!("{short}{cut}")))
            }
            Loose::Array => "an array".to_owned(),
            Loose::Object => "an object".to_owned(),
        }
    }
}

impl<'de> Deserialize<'de> for Loose {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LooseVisitor)
    }
}

struct LooseVisitor;

impl<'de> Visitor<'de> for LooseVisitor {
    type Value = Loose;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Loose, E> {
        Ok(Loose::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Loose, E> {
        Ok(Loose::Int(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Loose, E> {
        Ok(Loose::Int(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Loose, E> {
        Ok(Loose::Float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Loose, E> {
        Ok(Loose::Str(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Loose, E> {
        Ok(Loose::Str(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Loose, E> {
        Ok(Loose::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Loose, E> {
        Ok(Loose::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Loose, D::Error> {
        Loose::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Loose, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Loose::Array)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Loose, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Loose::Object)
    }
}

/// A value used when it is a JSON object, and absent when it is anything else (`null`, a
/// string, an array…), which is skipped without being built.
#[derive(Debug, Clone, PartialEq)]
pub struct IfObject<T>(pub Option<T>);

impl<T> Default for IfObject<T> {
    fn default() -> Self {
        Self(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for IfObject<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(IfObjectVisitor(PhantomData))
    }
}

struct IfObjectVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for IfObjectVisitor<T> {
    type Value = IfObject<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<IfObject<T>, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(map)).map(|t| IfObject(Some(t)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<IfObject<T>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(IfObject(None))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<IfObject<T>, E> {
        Ok(IfObject(None))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<IfObject<T>, E> {
        Ok(IfObject(None))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<IfObject<T>, E> {
        Ok(IfObject(None))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<IfObject<T>, E> {
        Ok(IfObject(None))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<IfObject<T>, E> {
        Ok(IfObject(None))
    }

    fn visit_unit<E: de::Error>(self) -> Result<IfObject<T>, E> {
        Ok(IfObject(None))
    }
}

/// What every answer has, read before anything else: `success` (absent: the body is not the
/// envelope), the first entries of `errors`, and `result_info`. Everything else is skipped.
#[derive(Debug, Default, Deserialize)]
pub struct Head {
    /// `None` only when absent: `null` is [`Loose::Null`].
    #[serde(default, deserialize_with = "present")]
    pub success: Option<Loose>,
    #[serde(default)]
    pub errors: Errors,
    #[serde(default)]
    pub result_info: IfObject<ResultInfo>,
}

/// A field that is there, whatever its value (`null` included).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Loose>, D::Error> {
    Loose::deserialize(d).map(Some)
}

/// An `errors` (or `error_chain`) array: its first [`ERRORS_SHOWN`] entries and how many
/// more there were. Anything but an array counts as none.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Errors {
    pub kept: Vec<ErrorEntry>,
    pub more: u64,
}

impl<'de> Deserialize<'de> for Errors {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let list = d.deserialize_any(ErrorsVisitor)?;
        Ok(list.unwrap_or_default())
    }
}

/// Reads an array into [`Errors`]; anything else is `None`.
struct ErrorsVisitor;

impl<'de> Visitor<'de> for ErrorsVisitor {
    type Value = Option<Errors>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of errors")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<Errors>, A::Error> {
        let mut errors = Errors::default();
        while errors.kept.len() < ERRORS_SHOWN {
            match seq.next_element::<IfObject<ErrorEntry>>()? {
                Some(entry) => errors.kept.push(entry.0.unwrap_or_default()),
                None => return Ok(Some(errors)),
            }
        }
        while seq.next_element::<IgnoredAny>()?.is_some() {
            errors.more += 1;
        }
        Ok(Some(errors))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<Errors>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Option<Errors>, E> {
        Ok(None)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Option<Errors>, E> {
        Ok(None)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Option<Errors>, E> {
        Ok(None)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Option<Errors>, E> {
        Ok(None)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Option<Errors>, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<Errors>, E> {
        Ok(None)
    }
}

/// One entry of `errors`, read leniently: a code or message of the wrong type is shown as
/// such, an entry that is not an object as one without either.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ErrorEntry {
    #[serde(default)]
    pub code: Option<Loose>,
    #[serde(default)]
    pub message: Option<Loose>,
    #[serde(default)]
    pub error_chain: Errors,
}

impl Errors {
    /// The entries as [`ApiMessage`](super::ApiMessage)s (a code that is not a whole number
    /// is 0, a message that is not a string says so; both sanitized), nested chains down to
    /// [`CHAIN_DEPTH`].
    pub fn messages(&self) -> Vec<super::ApiMessage> {
        self.messages_at(0)
    }

    fn messages_at(&self, depth: usize) -> Vec<super::ApiMessage> {
        self.kept
            .iter()
            .map(|e| super::ApiMessage {
                code: e
                    .code
                    .as_ref()
                    .and_then(Loose::count)
                    .and_then(|c| u32::try_from(c).ok())
                    .unwrap_or(0),
                message: match &e.message {
                    Some(Loose::Str(m)) => crate::sanitize::text(m).into_owned(),
                    Some(other) => format!("(message: {})", other.describe()),
                    None => "(no message)".to_owned(),
                },
                chain: if depth < CHAIN_DEPTH {
                    e.error_chain.messages_at(depth + 1)
                } else {
                    Vec::new()
                },
            })
            .collect()
    }
}

/// What `result_info` says is missing from a list: the total it names, and the page out of
/// how many.
pub type Missing = (Option<u32>, Option<(u32, u32)>);

/// `result_info` of a list, each number read leniently (`total_pages` is not in the
/// addressing contract, but Cloudflare's other lists send it).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ResultInfo {
    #[serde(default)]
    pub page: Option<Loose>,
    #[serde(default)]
    pub count: Option<Loose>,
    #[serde(default)]
    pub total_count: Option<Loose>,
    #[serde(default)]
    pub total_pages: Option<Loose>,
}

impl ResultInfo {
    /// When `result_info` says there is more than the `returned` items: the total it names
    /// (when more than `returned`) and the page out of how many (when there are later pages).
    pub fn missing(&self, returned: u32) -> Option<Missing> {
        let number = |v: &Option<Loose>| {
            v.as_ref()
                .and_then(Loose::count)
                .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
        };
        let total = [number(&self.total_count), number(&self.count)]
            .into_iter()
            .flatten()
            .max()
            .filter(|&t| t > returned);
        let page = number(&self.page).unwrap_or(1);
        let pages = number(&self.total_pages)
            .filter(|&of| of > page)
            .map(|of| (page, of));
        (total.is_some() || pages.is_some()).then_some((total, pages))
    }
}

/// `result` alone, so that no other field can fail its decoding.
#[derive(Deserialize)]
pub struct ResultOnly<T> {
    #[serde(default = "none")]
    pub result: Option<T>,
}

fn none<T>() -> Option<T> {
    None
}

/// One item of List Prefixes, or Get Prefix's result.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ReadPrefix {
    pub id: String,
    pub cidr: String,
    #[serde(default)]
    pub description: Option<Loose>,
    #[serde(default)]
    pub account_id: Option<Loose>,
}

/// One binding of List Bindings, Get Binding or Create Binding.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ReadBinding {
    pub id: String,
    pub cidr: String,
    pub service_id: String,
    #[serde(default)]
    pub service_name: Option<Loose>,
    #[serde(default)]
    pub provisioning: IfObject<Provisioning>,
}

impl ReadBinding {
    /// `provisioning.state`, when it is a string.
    pub fn state(&self) -> Option<&str> {
        match self.provisioning.0.as_ref()?.state.as_ref()? {
            Loose::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// `provisioning`: only its `state` is read.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Provisioning {
    #[serde(default)]
    pub state: Option<Loose>,
}

/// One service of List Services.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ReadService {
    pub id: String,
    #[serde(default)]
    pub name: Option<Loose>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loose_takes_any_value_and_keeps_only_scalars() {
        let values: Vec<Loose> =
            serde_json::from_str(r#"[null, true, -1, 2.5, "x", [1, [2]], {"a": {"b": 1}}]"#)
                .unwrap();
        assert_eq!(
            values,
            [
                Loose::Null,
                Loose::Bool(true),
                Loose::Int(-1),
                Loose::Float(2.5),
                Loose::Str("x".into()),
                Loose::Array,
                Loose::Object
            ]
        );
        assert_eq!(Loose::Float(3.0).count(), Some(3));
        assert_eq!(Loose::Int(-1).count(), None);
        assert_eq!(Loose::Str("3".into()).count(), None);
    }

    #[test]
    fn errors_keep_the_first_few_and_count_the_rest() {
        let entries: Vec<String> = (0..12)
            .map(|i| format!(r#"{{"code": {i}, "message": "m{i}"}}"#))
            .collect();
        let head: Head = serde_json::from_str(&format!(
            r#"{{"success": false, "errors": [{}], "result": [1, 2, 3]}}"#,
            entries.join(",")
        ))
        .unwrap();
        assert_eq!(head.success, Some(Loose::Bool(false)));
        assert_eq!(head.errors.kept.len(), ERRORS_SHOWN);
        assert_eq!(head.errors.more, 7);
        let messages = head.errors.messages();
        assert_eq!(messages[4].code, 4);
        assert_eq!(messages[4].message, "m4");

        // Odd shapes: no error at all, or entries without what they should hold.
        for odd in [r#"{"code": 1}"#, "null", "7", r#""x""#] {
            let head: Head =
                serde_json::from_str(&format!(r#"{{"success": false, "errors": {odd}}}"#)).unwrap();
            assert_eq!(head.errors, Errors::default(), "{odd}");
        }
        let head: Head = serde_json::from_str(
            r#"{"success": false, "errors": [7, [1], {"code": "x", "message": 5}],
                "result_info": "odd"}"#,
        )
        .unwrap();
        let shown: Vec<String> = head
            .errors
            .messages()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            shown,
            ["(no message) (0)", "(no message) (0)", "(message: 5) (0)"]
        );
        assert_eq!(head.result_info, IfObject(None));
        // `success: null` is there, unlike a body without it.
        let head: Head = serde_json::from_str(r#"{"success": null}"#).unwrap();
        assert_eq!(head.success, Some(Loose::Null));
        let head: Head = serde_json::from_str(r#"{"message": "not here"}"#).unwrap();
        assert_eq!(head.success, None);
    }

    #[test]
    fn result_info_says_when_a_list_is_partial() {
        let info = |json: &str| serde_json::from_str::<ResultInfo>(json).unwrap();
        assert_eq!(
            info(r#"{"count": 1, "page": 1, "per_page": 1, "total_count": 3}"#).missing(1),
            Some((Some(3), None))
        );
        assert_eq!(
            info(r#"{"page": 1, "total_pages": 2}"#).missing(20),
            Some((None, Some((1, 2))))
        );
        assert_eq!(info(r#"{"count": 2.0}"#).missing(1), Some((Some(2), None)));
        // Whole lists, and numbers that say nothing.
        for whole in [
            r#"{"count": 3, "page": 1, "per_page": 20, "total_count": 3}"#,
            r#"{"page": 2, "total_pages": 2}"#,
            r#"{"count": "many", "total_count": null}"#,
            "{}",
        ] {
            assert_eq!(info(whole).missing(3), None, "{whole}");
        }
    }

    #[test]
    fn items_keep_what_svcbind_uses_and_skip_the_rest_whatever_its_type() {
        let p: ReadPrefix = serde_json::from_str(
            r#"{"id": "p", "cidr": "192.0.2.0/24", "asn": -1, "advertised": "true",
                "description": 7, "created_at": {}, "on_demand_enabled": "yes"}"#,
        )
        .unwrap();
        assert_eq!(p.description.and_then(Loose::into_string), None);
        assert_eq!(p.account_id, None);

        for provisioning in [
            "",
            r#", "provisioning": null"#,
            r#", "provisioning": {}"#,
            r#", "provisioning": {"state": null}"#,
            r#", "provisioning": {"state": 3}"#,
            r#", "provisioning": "active""#,
        ] {
            let b: ReadBinding = serde_json::from_str(&format!(
                r#"{{"id": "b", "cidr": "192.0.2.0/24", "service_id": "s"{provisioning}}}"#
            ))
            .unwrap();
            assert_eq!(b.state(), None, "{provisioning}");
        }
        let s: ReadService = serde_json::from_str(r#"{"id": "s"}"#).unwrap();
        assert_eq!(s.name, None);
    }
}
