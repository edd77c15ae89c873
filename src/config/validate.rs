//! The rules of the desired-state file (SPEC §1, "Validation"), checked offline.
//!
//! Reads the input structs, reports every problem it finds (it never stops at the first), and
//! builds the [`StateFile`] from what is valid. Each diagnostic points at the offending value,
//! or at the key for an unknown key, or at the mapping for a missing one. Nothing here needs
//! the API: service names are resolved later, by the stage that reads the account. Every check
//! is `n log n` in the number of bindings: ranges are sorted by start address and length,
//! after which containment, duplicates and overlap are found in one pass.
//!
//! What a file shares with the API's rules is decided by the rules core ([`crate::rules`]):
//! host bits, the address family, lying inside the prefix, one binding per CIDR, the
//! prefix-wide binding, Magic Transit only prefix-wide, and a more-specific binding's service
//! differing from its cover's (the last two by name, since ids are not known offline). This module finds the entries to ask about and words the answer as a diagnostic
//! of the file.
//!
//! The rules that concern several files at once (prefixes unique and apart across files, the
//! settings every file must agree on, protected ranges inside a listed prefix) are
//! `super::merge`'s, which reads what this module found ([`Checked`]), one file at a time.

use std::collections::HashMap;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

use super::Mode;
use super::diagnostic::{Diagnostics, Severity, SourceMap, clip, closest};
use super::file::{
    BindingInput, BindingKey, FileInput, FileKey, Keys, PrefixInput, PrefixKey, SafetyInput,
    SafetyKey, Whole,
};
use super::yaml::{self, Query, Spanned, Step};
use crate::model::{
    self, AccountId, BindingId, DesiredBinding, DesiredPrefix, Location, PrefixId,
    ProvisioningState, ServiceId, StateFile,
};
use crate::rules::{self, family};

/// The longest IPv4 prefix BYOIP onboards.
const MAX_IPV4_PREFIX_LEN: u8 = 24;
/// The longest IPv6 prefix BYOIP onboards.
const MAX_IPV6_PREFIX_LEN: u8 = 48;

/// The services Cloudflare documents for service bindings: a `service` that is none of these
/// (in any case) nor a service id gets a warning offline; the account decides at plan.
pub const DOCUMENTED_SERVICES: [&str; 3] = [model::MAGIC_TRANSIT, "CDN", "Spectrum"];

/// One file's checks: what is valid of it, every problem found in it alone, and where the
/// settings that several files must agree on are written.
#[derive(Debug)]
pub(crate) struct Checked {
    /// What is valid of the file. Not to be used as a desired state when `diagnostics` hold
    /// an error; the checks across files still read it.
    pub state: StateFile,
    pub diagnostics: Diagnostics,
    pub places: Places,
}

/// Where the file writes the settings that several files must agree on.
#[derive(Debug, Clone, Default)]
pub(crate) struct Places {
    pub account_id: Option<Location>,
    pub max_deletes: Option<Location>,
    pub max_delete_percent: Option<Location>,
    /// One per range of [`StateFile::protect`], in the same order.
    pub protect: Vec<Location>,
}

/// Checks `input` against every rule of one file and returns what is valid of it with all
/// the problems.
pub(crate) fn validate(input: FileInput, mode: Mode, map: &SourceMap) -> Checked {
    let mut c = Checker {
        map,
        mode,
        out: Diagnostics::new(),
        keys: Vec::new(),
        places: Places::default(),
        seed_keys: SeedKeys::default(),
    };
    let state = c.file(input);
    c.seed_only_keys();
    c.locate_key_problems();
    Checked {
        state,
        diagnostics: c.out,
        places: c.places,
    }
}

struct Checker<'a> {
    map: &'a SourceMap,
    mode: Mode,
    out: Diagnostics,
    /// Unknown and missing keys, reported once their places are known.
    keys: Vec<KeyProblem>,
    places: Places,
    seed_keys: SeedKeys,
}

/// An unknown, missing or seed-only key: its message, and the key or mapping to point at.
struct KeyProblem {
    severity: Severity,
    at: Query,
    message: String,
    hint: Option<String>,
}

/// The binding keys of a seed met in a desired file: where each is first written, and how
/// many bindings have it.
#[derive(Default)]
struct SeedKeys {
    id: Option<(Vec<Step>, usize)>,
    state: Option<(Vec<Step>, usize)>,
}

fn loc<T>(s: &Spanned<T>) -> Location {
    Location {
        file: 0,
        line: u32::try_from(s.referenced.line()).unwrap_or(u32::MAX),
        column: u32::try_from(s.referenced.column()).unwrap_or(u32::MAX),
    }
}

/// Whether `value` reads as a Cloudflare service id: 32 hexadecimal digits.
fn looks_like_service_id(value: &str) -> bool {
    value.len() == 32 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The text of a CIDR with the leading zeros of its IPv4 octets and of its prefix length
/// removed, when it has any (`010.0.0.0/08` → `10.0.0.0/8`); `None` when it has none. A
/// leading zero reads as octal to some tools (`010` is 8 to `inet_aton`), so svcbind refuses
/// it rather than guess.
fn without_leading_zeros(text: &str) -> Option<String> {
    // Most CIDRs have no `0` that starts a number and is followed by a digit: no allocation.
    let bytes = text.as_bytes();
    let starts_padded = |i: usize| {
        bytes[i] == b'0'
            && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)
            && (i == 0 || matches!(bytes[i - 1], b'.' | b'/' | b':'))
    };
    if !(0..bytes.len()).any(starts_padded) {
        return None;
    }
    let (addr, len) = match text.split_once('/') {
        Some((addr, len)) => (addr, Some(len)),
        None => (text, None),
    };
    let padded = |part: &str| part.len() > 1 && part.starts_with('0');
    let strip = |part: &str| {
        let rest = part.trim_start_matches('0');
        if rest.is_empty() { "0" } else { rest }.to_owned()
    };
    // The IPv4 part: the whole address, or the dotted tail of an IPv6 address.
    let (head, v4) = match addr.rfind(':') {
        Some(i) => (&addr[..=i], &addr[i + 1..]),
        None => ("", addr),
    };
    let octets: Vec<&str> = if v4.contains('.') {
        v4.split('.').collect()
    } else {
        Vec::new()
    };
    let digits = |p: &&str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    let octets_padded = octets.iter().all(digits) && octets.iter().any(|p| padded(p));
    let len_padded = len.is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()) && padded(l));
    if !octets_padded && !len_padded {
        return None;
    }
    let mut out = head.to_owned();
    if octets_padded {
        out.push_str(
            &octets
                .iter()
                .map(|p| strip(p))
                .collect::<Vec<_>>()
                .join("."),
        );
    } else {
        out.push_str(v4);
    }
    if let Some(len) = len {
        out.push('/');
        out.push_str(&if len_padded {
            strip(len)
        } else {
            len.to_owned()
        });
    }
    Some(out)
}

/// `prefixes[0].bindings[2]`, as a path reads in a message.
fn path_text(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Step::Index(index) => out.push_str(&format!("[{index}]")),
        }
    }
    out
}

/// `` `a`, `b` `` for a hint.
fn quoted_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A service as compared between bindings: case and spacing of names do not matter.
fn service_key(service: &str) -> String {
    service
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Network address as a number, for sorting ranges of one family.
fn start(net: &IpNet) -> (bool, u128) {
    match net {
        IpNet::V4(n) => (false, u128::from(u32::from(n.network()))),
        IpNet::V6(n) => (true, u128::from(n.network())),
    }
}

/// Last address as a number, to find the ranges that start inside another.
fn end(net: &IpNet) -> (bool, u128) {
    match net {
        IpNet::V4(n) => (false, u128::from(u32::from(n.broadcast()))),
        IpNet::V6(n) => (true, u128::from(n.broadcast())),
    }
}

/// One binding entry whose CIDR parsed.
struct ValidBinding<'a> {
    index: usize,
    net: IpNet,
    /// Where its CIDR is written.
    at: Location,
    /// The text of its CIDR, as written.
    text: &'a str,
    /// Its service, unless the key is missing.
    service: Option<&'a Spanned<String>>,
}

impl Checker<'_> {
    fn report(&mut self, severity: Severity, at: Location, message: String, hint: Option<String>) {
        self.out
            .push(self.map.diagnostic(severity, at, message, hint));
    }

    fn error(&mut self, at: Location, message: String, hint: Option<String>) {
        self.report(Severity::Error, at, message, hint);
    }

    fn warning(&mut self, at: Location, message: String, hint: Option<String>) {
        self.report(Severity::Warning, at, message, hint);
    }

    /// A whole number between `min` and `max` at `key` of `safety` (`max_deletes`, …).
    fn whole<T: TryFrom<i128>>(
        &mut self,
        key: &str,
        value: &Spanned<Whole>,
        min: i128,
        max: i128,
    ) -> Option<T> {
        let range = format!("a whole number from {min} to {max}");
        match &value.value {
            Whole::Number(n) if (min..=max).contains(n) => T::try_from(*n).ok(),
            Whole::Number(n) if *n > max => {
                self.error(
                    loc(value),
                    format!("`safety.{key}` is too large: {n} is more than {max}"),
                    Some(format!("write {range}")),
                );
                None
            }
            Whole::Number(n) => {
                self.error(
                    loc(value),
                    format!("`safety.{key}` is too small: {n} is less than {min}"),
                    Some(format!("write {range}")),
                );
                None
            }
            Whole::Other(other) => {
                self.error(
                    loc(value),
                    format!("`safety.{key}` must be {range}, not `{}`", clip(other)),
                    None,
                );
                None
            }
        }
    }

    /// An error in a desired file, a warning in a seed (a live account may be broken so).
    fn broken_live_state(&mut self, at: Location, message: String, hint: Option<String>) {
        let severity = match self.mode {
            Mode::Desired => Severity::Error,
            Mode::Seed => Severity::Warning,
        };
        self.report(severity, at, message, hint);
    }

    /// The unknown keys of the mapping at `path`, and its `missing` keys (with a hint each),
    /// except a missing key that an unknown one is a typo of: its "did you mean" says it all.
    fn mapping_keys<K: Keys>(
        &mut self,
        path: &[Step],
        unknown: &[String],
        missing: &[(&'static str, Option<&str>)],
    ) {
        let mut meant = Vec::with_capacity(unknown.len());
        for name in unknown {
            let close = closest(name, K::NAMES.iter().copied());
            meant.extend(close);
            let hint = match close {
                Some(key) => format!("did you mean `{key}`?"),
                None => format!("expected one of {}", quoted_list(K::NAMES)),
            };
            self.keys.push(KeyProblem {
                severity: Severity::Error,
                at: Query {
                    path: path.to_vec(),
                    key: Some(name.clone()),
                },
                message: format!("unknown key `{}`", clip(name)),
                hint: Some(hint),
            });
        }
        for &(key, hint) in missing {
            if meant.contains(&key) {
                continue;
            }
            let within = if path.is_empty() {
                String::new()
            } else {
                format!(" in `{}`", path_text(path))
            };
            self.keys.push(KeyProblem {
                severity: Severity::Error,
                at: Query {
                    path: path.to_vec(),
                    key: None,
                },
                message: format!("missing key `{key}`{within}"),
                hint: hint.map(str::to_owned),
            });
        }
    }

    /// Reports the key problems at their places, found in one more pass over the file, which
    /// a file without such a problem never pays for.
    fn locate_key_problems(&mut self) {
        if self.keys.is_empty() {
            return;
        }
        let problems = std::mem::take(&mut self.keys);
        let queries: Vec<Query> = problems.iter().map(|p| p.at.clone()).collect();
        let places = yaml::locate(&self.map.source, &queries);
        for (problem, at) in problems.into_iter().zip(places) {
            self.report(problem.severity, at, problem.message, problem.hint);
        }
    }

    /// Seed-only binding keys in a desired file: one warning per key, at its first use.
    fn seed_only_keys(&mut self) {
        let found = [
            (
                std::mem::take(&mut self.seed_keys.id),
                "id",
                "binding ids are the API's to choose",
            ),
            (
                std::mem::take(&mut self.seed_keys.state),
                "state",
                "the API reports the provisioning state",
            ),
        ];
        for (first, key, why) in found {
            let Some((path, count)) = first else {
                continue;
            };
            let others = match count {
                1 => String::new(),
                n => format!(" ({} bindings have it)", n),
            };
            self.keys.push(KeyProblem {
                severity: Severity::Warning,
                at: Query {
                    path,
                    key: Some(key.to_owned()),
                },
                message: format!(
                    "binding key `{key}` has no effect in a desired-state file{others}"
                ),
                hint: Some(format!(
                    "remove it: {why}; `{key}` is read from emulator seeds only"
                )),
            });
        }
    }

    fn id<T>(
        &mut self,
        value: &Spanned<String>,
        make: impl FnOnce(String) -> Result<T, model::IdError>,
    ) -> Option<T> {
        match make(value.value.clone()) {
            Ok(id) => Some(id),
            Err(e) => {
                self.error(loc(value), e.to_string(), None);
                None
            }
        }
    }

    /// Parses a CIDR, reporting a syntax error, a leading zero or host bits.
    fn cidr(&mut self, value: &Spanned<String>) -> Option<IpNet> {
        let text = value.value.trim();
        if let Some(plain) = without_leading_zeros(text) {
            let hint = match IpNet::from_str(&plain) {
                Ok(net) => format!("did you mean `{}`?", net.trunc()),
                Err(_) => "write each number without leading zeros".to_owned(),
            };
            self.error(
                loc(value),
                format!(
                    "leading zero in `{}`: svcbind reads no octal, write each number without leading zeros",
                    clip(text)
                ),
                Some(hint),
            );
            return None;
        }
        match IpNet::from_str(text) {
            Ok(net) if rules::check_host_bits(net).is_ok() => Some(net),
            Ok(net) => {
                self.error(
                    loc(value),
                    format!("host bits set in `{}`", clip(text)),
                    Some(format!("did you mean `{}`?", net.trunc())),
                );
                None
            }
            Err(_) => {
                let hint = match IpAddr::from_str(text) {
                    Ok(IpAddr::V4(a)) => format!("add a prefix length: `{a}/32` is one address"),
                    Ok(IpAddr::V6(a)) => format!("add a prefix length: `{a}/128` is one address"),
                    Err(_) => "write an address and a prefix length, such as `192.0.2.0/24` or \
                               `2001:db8::/48`"
                        .to_owned(),
                };
                self.error(
                    loc(value),
                    format!("invalid CIDR `{}`", clip(&value.value)),
                    Some(hint),
                );
                None
            }
        }
    }

    fn version(&mut self, version: &Spanned<Whole>) {
        let shown = match &version.value {
            Whole::Number(1) => return,
            Whole::Number(n) => n.to_string(),
            Whole::Other(s) => s.clone(),
        };
        self.error(
            loc(version),
            format!("unsupported version `{}`", clip(&shown)),
            Some("write `version: 1`: it is the only version of the format".to_owned()),
        );
    }

    fn file(&mut self, input: FileInput) -> StateFile {
        let mut missing = Vec::new();
        match &input.version {
            Some(version) => self.version(version),
            None => missing.push(("version", Some("start the file with `version: 1`"))),
        }
        if input.prefixes.is_none() {
            missing.push((
                "prefixes",
                Some("list the prefixes to manage under `prefixes:`, or write `prefixes: []`"),
            ));
        }
        self.mapping_keys::<FileKey>(&[], &input.unknown, &missing);
        if input.has_services && self.mode == Mode::Desired {
            self.keys.push(KeyProblem {
                severity: Severity::Warning,
                at: Query {
                    path: Vec::new(),
                    key: Some("services".to_owned()),
                },
                message: "`services` has no effect in a desired-state file".to_owned(),
                hint: Some(
                    "remove it: service names are looked up in the account's catalog; `services` is read from emulator seeds only"
                        .to_owned(),
                ),
            });
        }

        self.places.account_id = input.account_id.as_ref().map(loc);
        let account_id = input
            .account_id
            .as_ref()
            .and_then(|v| self.id(v, AccountId::new));
        let (max_deletes, max_delete_percent, protect) = match &input.safety {
            Some(safety) => self.safety(safety),
            None => (None, None, Vec::new()),
        };

        let mut services = std::collections::BTreeMap::new();
        for (name, id) in &input.services {
            if name.trim().is_empty() {
                self.error(loc(id), "empty service name in `services`".to_owned(), None);
            }
            if let Some(id) = self.id(id, ServiceId::new) {
                services.insert(name.clone(), id);
            }
        }
        // Magic Transit by name, and by id when the file's own catalog names it.
        let mut magic_transit: Vec<String> = vec![service_key(model::MAGIC_TRANSIT)];
        // Names and ids of one service compare equal for the redundancy check.
        let mut canonical: HashMap<String, String> = HashMap::new();
        for (name, id) in &services {
            let id_key = service_key(id.as_str());
            if service_key(name) == magic_transit[0] {
                magic_transit.push(id_key.clone());
            }
            canonical.insert(service_key(name), id_key);
        }
        let mut services_view = ServiceKeys {
            magic_transit,
            canonical,
            spellings: HashMap::new(),
            interned: HashMap::new(),
        };

        let input_prefixes = input.prefixes.as_deref().unwrap_or_default();
        let mut prefixes = Vec::with_capacity(input_prefixes.len());
        for (index, prefix) in input_prefixes.iter().enumerate() {
            if let Some(p) = self.prefix(index, prefix, &mut services_view) {
                prefixes.push(p);
            }
        }

        StateFile {
            account_id,
            max_deletes,
            max_delete_percent,
            protect,
            services,
            prefixes,
        }
    }

    /// The `safety` mapping: its keys, the limits in their ranges, the protected ranges parsed
    /// (whether they lie inside a listed prefix is for the checks across files).
    fn safety(&mut self, safety: &SafetyInput) -> (Option<u32>, Option<u8>, Vec<IpNet>) {
        self.mapping_keys::<SafetyKey>(&[Step::Key("safety")], &safety.unknown, &[]);
        self.places.max_deletes = safety.max_deletes.as_ref().map(loc);
        let max_deletes = safety
            .max_deletes
            .as_ref()
            .and_then(|v| self.whole("max_deletes", v, 0, i128::from(u32::MAX)));
        self.places.max_delete_percent = safety.max_delete_percent.as_ref().map(loc);
        let max_delete_percent = safety
            .max_delete_percent
            .as_ref()
            .and_then(|v| self.whole("max_delete_percent", v, 0, 100));
        let mut protect = Vec::with_capacity(safety.protect.len());
        for value in &safety.protect {
            if let Some(range) = self.cidr(value) {
                protect.push(range);
                self.places.protect.push(loc(value));
            }
        }
        (max_deletes, max_delete_percent, protect)
    }

    fn prefix(
        &mut self,
        index: usize,
        input: &PrefixInput,
        services: &mut ServiceKeys,
    ) -> Option<DesiredPrefix> {
        let path = [Step::Key("prefixes"), Step::Index(index)];
        let mut missing = Vec::new();
        if input.cidr.is_none() {
            missing.push(("cidr", None));
        }
        if input.bindings.is_none() {
            missing.push((
                "bindings",
                Some("write `bindings: []` if the prefix shall have no bindings"),
            ));
        }
        self.mapping_keys::<PrefixKey>(&path, &input.unknown, &missing);

        let cidr = input.cidr.as_ref().and_then(|c| self.cidr(c));
        let id = input.id.as_ref().and_then(|v| self.id(v, PrefixId::new));
        let at = input.cidr.as_ref().map(loc).unwrap_or_default();

        if let Some(net) = cidr {
            let (max, fam) = match net {
                IpNet::V4(_) => (MAX_IPV4_PREFIX_LEN, "IPv4"),
                IpNet::V6(_) => (MAX_IPV6_PREFIX_LEN, "IPv6"),
            };
            if net.prefix_len() > max {
                self.warning(
                    at,
                    format!(
                        "prefix `{net}` is smaller than BYOIP allows: {fam} prefixes are /{max} or shorter"
                    ),
                    None,
                );
            }
        }

        // Ranges: parse all, then the checks that need the prefix.
        let mut ignore = Vec::with_capacity(input.ignore.len());
        for value in &input.ignore {
            let Some(range) = self.cidr(value) else {
                continue;
            };
            if let Some(net) = cidr {
                if rules::check_family(net, range).is_err() {
                    self.error(
                        loc(value),
                        format!(
                            "ignore range `{range}` is {} but its prefix `{net}` is {}",
                            family(&range),
                            family(&net)
                        ),
                        None,
                    );
                    continue;
                }
                if rules::check_inside(net, range).is_err() {
                    self.error(
                        loc(value),
                        format!("ignore range `{range}` is outside its prefix `{net}`"),
                        None,
                    );
                    continue;
                }
            }
            ignore.push((range, value));
        }

        let entries = input.bindings.as_deref().unwrap_or_default();
        let mut bindings = Vec::with_capacity(entries.len());
        let mut valid = Vec::with_capacity(entries.len());
        let mut unparsed = false;
        for (b_index, b) in entries.iter().enumerate() {
            let b_path = [
                path[0],
                path[1],
                Step::Key("bindings"),
                Step::Index(b_index),
            ];
            let Some(entry) = self.binding(&b_path, b_index, b, &mut bindings) else {
                unparsed = true;
                continue;
            };
            if let Some(prefix) = cidr
                && self.binding_inside(&entry, prefix)
            {
                valid.push(entry);
            }
        }

        if let Some(net) = cidr {
            let whole = WholePrefix { net, at };
            let has_entries = !entries.is_empty();
            self.bindings_of_prefix(whole, has_entries, &valid, unparsed, &ignore, services);
        }

        let cidr = cidr?;
        Some(DesiredPrefix {
            cidr,
            id,
            ignore: ignore.into_iter().map(|(r, _)| r).collect(),
            bindings,
            location: at,
        })
    }

    /// A binding's keys and own fields. Its CIDR when it parses; its state too when it has
    /// a service (else the file has an error and the state is not used).
    fn binding<'b>(
        &mut self,
        path: &[Step],
        index: usize,
        b: &'b BindingInput,
        state: &mut Vec<DesiredBinding>,
    ) -> Option<ValidBinding<'b>> {
        let mut missing = Vec::new();
        if b.cidr.is_none() {
            missing.push(("cidr", None));
        }
        if b.service.is_none() {
            missing.push((
                "service",
                Some("name a service such as `CDN`, or give its id"),
            ));
        }
        self.mapping_keys::<BindingKey>(path, &b.unknown, &missing);

        let cidr = b.cidr.as_ref();
        let net = cidr.and_then(|c| self.cidr(c));
        if let Some(service) = &b.service
            && service.value.trim().is_empty()
        {
            let of = cidr.map_or("", |c| c.value.trim());
            self.error(
                loc(service),
                format!("binding `{}` has an empty service", clip(of)),
                Some("name a service such as `CDN`, or give its id".to_owned()),
            );
        }
        if let Some(service) = &b.service {
            self.service_name(service);
        }
        if self.mode == Mode::Desired {
            for (present, seen) in [
                (b.id.is_some(), &mut self.seed_keys.id),
                (b.state.is_some(), &mut self.seed_keys.state),
            ] {
                if present {
                    let (_, count) = seen.get_or_insert_with(|| (path.to_vec(), 0));
                    *count += 1;
                }
            }
        }
        let id = b.id.as_ref().and_then(|v| self.id(v, BindingId::new));
        let provisioning = b
            .state
            .as_ref()
            .map(|s| ProvisioningState::from(s.value.as_str()));
        let (net, cidr) = (net?, cidr?);
        if let Some(service) = &b.service {
            state.push(DesiredBinding {
                cidr: net,
                service: service.value.clone(),
                id,
                state: provisioning,
                location: loc(service),
            });
        }
        Some(ValidBinding {
            index,
            net,
            at: loc(cidr),
            text: cidr.value.trim(),
            service: b.service.as_ref(),
        })
    }

    /// A service that is none of Cloudflare's documented services nor an id: a warning in a
    /// desired file, with the closest documented name. Offline this is a guess (an account may
    /// have other services): the account decides at plan, where an unknown name is an error.
    fn service_name(&mut self, service: &Spanned<String>) {
        let name = service.value.trim();
        if self.mode != Mode::Desired
            || name.is_empty()
            || looks_like_service_id(name)
            || DOCUMENTED_SERVICES
                .iter()
                .any(|d| d.eq_ignore_ascii_case(&service.value))
        {
            return;
        }
        let hint = match closest(name, DOCUMENTED_SERVICES) {
            Some(close) => format!("did you mean `{close}`?"),
            None => "the account decides at plan: `svcbind services` lists its services; or give the service's id".to_owned(),
        };
        let mut d = self.map.diagnostic(
            Severity::Warning,
            loc(service),
            format!(
                "`{}` is none of Cloudflare's documented services ({}) nor a service id",
                clip(name),
                quoted_list(&DOCUMENTED_SERVICES)
            ),
            Some(hint),
        );
        d.settled_by_account = true;
        self.out.push(d);
    }

    /// A binding is the same family as, and inside, its prefix.
    fn binding_inside(&mut self, b: &ValidBinding<'_>, prefix: IpNet) -> bool {
        let net = b.net;
        if rules::check_family(prefix, net).is_err() {
            self.error(
                b.at,
                format!(
                    "binding `{net}` is {} but its prefix `{prefix}` is {}",
                    family(&net),
                    family(&prefix)
                ),
                None,
            );
            false
        } else if rules::check_inside(prefix, net).is_err() {
            self.error(
                b.at,
                format!("binding `{net}` is outside its prefix `{prefix}`"),
                Some("list it under the prefix that contains it".to_owned()),
            );
            false
        } else {
            true
        }
    }

    /// Uniqueness, the prefix-wide binding, Magic Transit, the cover's service and ignore
    /// ranges.
    ///
    /// Two CIDR ranges either nest or are disjoint. Sorted by start address, then by length,
    /// the ranges that contain a binding are exactly those on a stack of open ranges when it
    /// comes, so the nearest one is found without any lookup; duplicates end up side by side.
    ///
    /// Duplicates are an error in a desired file; in a seed they are a warning, as a live
    /// account may have them (the planner deletes all but one).
    fn bindings_of_prefix(
        &mut self,
        prefix: WholePrefix,
        has_entries: bool,
        valid: &[ValidBinding<'_>],
        unparsed: bool,
        ignore: &[(IpNet, &Spanned<String>)],
        services: &mut ServiceKeys,
    ) {
        let mut sorted: Vec<&ValidBinding<'_>> = valid.iter().collect();
        sorted.sort_by_key(|v| (start(&v.net), v.net.prefix_len(), v.index));

        let mut unique: Vec<&ValidBinding<'_>> = Vec::with_capacity(sorted.len());
        for v in sorted {
            // Sorted, a CIDR's entries are side by side: the first is the one kept.
            match unique.last() {
                Some(first) if rules::check_unique(v.net, first.net == v.net).is_err() => {
                    self.broken_live_state(
                        v.at,
                        format!("duplicate binding `{}`", v.net),
                        Some(format!("it is already listed at line {}", first.at.line)),
                    );
                }
                _ => unique.push(v),
            }
        }

        // A typo in a CIDR is reported once, not also as a missing prefix-wide binding.
        let has_prefix_wide = unique.first().is_some_and(|v| v.net == prefix.net);
        if !unparsed && rules::check_prefix_wide(prefix.net, has_prefix_wide, has_entries).is_err()
        {
            let net = prefix.net;
            self.broken_live_state(
                prefix.at,
                format!("prefix `{net}` has no prefix-wide binding"),
                Some(format!(
                    "add `- {{ cidr: {net}, service: … }}`: the API needs it before any other binding"
                )),
            );
        }

        let keys: Vec<Option<ServiceKey>> = unique
            .iter()
            .map(|v| v.service.map(|s| services.key(&s.value)))
            .collect();
        // Positions in `unique` of the ranges that contain the current one, widest first.
        let mut open: Vec<usize> = Vec::new();
        for (i, &v) in unique.iter().enumerate() {
            while open
                .last()
                .is_some_and(|&o| !unique[o].net.contains(&v.net))
            {
                open.pop();
            }
            let cover = open.last().map(|&o| (unique[o], keys[o]));
            open.push(i);
            if v.net != prefix.net
                && let Some(key) = keys[i]
            {
                self.more_specific(prefix.net, v, key, cover);
            }
        }

        for &(range, value) in ignore {
            self.ignore_range(range, value, &unique);
        }
    }

    /// Magic Transit only prefix-wide; no binding with its cover's service (the rule of
    /// [`rules::check_cover_service`], compared by key since ids are not known offline: an error in a
    /// desired file, where it is redundant and the API refuses to create it; a warning in a
    /// seed, as a live account may hold one). `key` is the key of `v`'s service; `cover` is the nearest binding that contains `v`,
    /// with the key of its service when it has one.
    fn more_specific(
        &mut self,
        prefix: IpNet,
        v: &ValidBinding<'_>,
        key: ServiceKey,
        cover: Option<(&ValidBinding<'_>, Option<ServiceKey>)>,
    ) {
        let Some(service) = v.service else {
            return;
        };
        if rules::check_magic_transit(prefix, v.net, key.magic_transit).is_err() {
            self.broken_live_state(
                loc(service),
                format!(
                    "`{}` can only be bound to the whole prefix, not to `{}`",
                    clip(service.value.trim()),
                    v.net
                ),
                Some(format!(
                    "bind it to `{prefix}`, or choose another service for this range"
                )),
            );
            return;
        }
        let Some((cover, Some(cover_key))) = cover else {
            return;
        };
        // Compared by key (name or mapped id), as the rule compares services.
        if cover_key.id == key.id {
            let service = clip(service.value.trim());
            self.broken_live_state(
                v.at,
                format!(
                    "binding `{}` has the service of the binding that covers it: `{}` (line {}) already sends it to `{service}`, and the API refuses a more-specific binding of its cover's service",
                    v.net, cover.net, cover.at.line
                ),
                Some(format!(
                    "remove it: its addresses go to `{service}` either way"
                )),
            );
        }
    }

    /// An ignore range holds no desired binding: a range is either managed or left alone.
    /// `sorted` is in (start, length) order, so the bindings inside `range` are found by a
    /// binary search and a scan over them alone.
    fn ignore_range(
        &mut self,
        range: IpNet,
        value: &Spanned<String>,
        sorted: &[&ValidBinding<'_>],
    ) {
        let (from, to) = (start(&range), end(&range));
        let first = sorted.partition_point(|v| start(&v.net) < from);
        let inside: Vec<&ValidBinding<'_>> = sorted[first..]
            .iter()
            .copied()
            .take_while(|v| start(&v.net) <= to)
            .filter(|v| v.net.prefix_len() >= range.prefix_len())
            .collect();
        let Some(b) = inside.iter().min_by_key(|v| v.index) else {
            return;
        };
        let more = match inside.len() - 1 {
            0 => String::new(),
            n => format!(" and {n} more"),
        };
        self.error(
            loc(value),
            format!(
                "ignore range `{range}` contains binding `{}` (line {}){more}",
                b.text, b.at.line
            ),
            Some(
                "a range is either managed or ignored: remove the binding or the range".to_owned(),
            ),
        );
    }
}

/// A prefix whose CIDR parsed, and where it is written.
#[derive(Clone, Copy)]
struct WholePrefix {
    net: IpNet,
    at: Location,
}

/// How services are compared offline: by normalized name, or by id when `services:` maps it.
struct ServiceKeys {
    /// The normalized names and ids of Magic Transit.
    magic_transit: Vec<String>,
    /// Normalized name → normalized id, from `services:`.
    canonical: HashMap<String, String>,
    /// Each spelling met, with its key. A file names few services many times: normalizing
    /// each spelling once, not each binding, was a fifth of the validator's time.
    spellings: HashMap<String, ServiceKey>,
    /// The normalized form of each service met → its number.
    interned: HashMap<String, usize>,
}

/// A service as compared offline: equal ids are one service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ServiceKey {
    id: usize,
    magic_transit: bool,
}

impl ServiceKeys {
    fn key(&mut self, service: &str) -> ServiceKey {
        if let Some(&key) = self.spellings.get(service) {
            return key;
        }
        let normal = service_key(service);
        let canonical = self.canonical.get(&normal).cloned().unwrap_or(normal);
        let magic_transit = self.magic_transit.contains(&canonical);
        let next = self.interned.len();
        let id = *self.interned.entry(canonical).or_insert(next);
        let key = ServiceKey { id, magic_transit };
        self.spellings.insert(service.to_owned(), key);
        key
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Mode, parse};
    use super::*;

    /// Every diagnostic of `yaml` as `LINE:COL: severity: message`, in file order.
    fn problems(yaml: &str, mode: Mode) -> Vec<String> {
        let d = match parse(yaml, "t.yaml", mode) {
            Ok(loaded) => loaded.warnings,
            Err(d) => d,
        };
        d.iter()
            .map(|d| format!("{}:{}: {}: {}", d.line, d.column, d.severity, d.message))
            .collect()
    }

    fn hints(yaml: &str, mode: Mode) -> Vec<Option<String>> {
        let d = match parse(yaml, "t.yaml", mode) {
            Ok(loaded) => loaded.warnings,
            Err(d) => d,
        };
        d.iter().map(|d| d.hint.clone()).collect()
    }

    /// `LINE:COL` of the `nth` (0-based) occurrence of `needle` in `yaml`.
    fn pos(yaml: &str, needle: &str, nth: usize) -> String {
        let (offset, _) = yaml.match_indices(needle).nth(nth).expect("needle in yaml");
        let before = &yaml[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
        format!("{line}:{column}")
    }

    const OK: &str = "\
version: 1
account_id: 023e105f4ecef8ad9ca31a8372d0c353
safety:
  max_deletes: 3
prefixes:
  - cidr: 192.0.2.0/24
    id: 2af39739cc4e3b5910c918468bb89828
    ignore: [192.0.2.128/26]
    bindings:
      - cidr: 192.0.2.0/24
        service: Magic Transit
      - { cidr: 192.0.2.16/29, service: CDN }
  - cidr: 2001:db8:1000::/48
    bindings:
      - { cidr: 2001:db8:1000::/48, service: CDN }
      - { cidr: 2001:db8:1000:10::/64, service: Spectrum }
  - cidr: 198.51.100.0/24
    bindings: []
";

    #[test]
    fn a_valid_file_gives_its_state_with_locations() {
        let loaded = parse(OK, "t.yaml", Mode::Desired).unwrap();
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
        let s = &loaded.state;
        assert_eq!(
            s.account_id.as_ref().unwrap().as_str(),
            "023e105f4ecef8ad9ca31a8372d0c353"
        );
        assert_eq!(s.max_deletes, Some(3));
        assert_eq!(s.prefixes.len(), 3);
        let p = &s.prefixes[0];
        assert_eq!(p.cidr.to_string(), "192.0.2.0/24");
        assert_eq!(
            p.id.as_ref().unwrap().as_str(),
            "2af39739cc4e3b5910c918468bb89828"
        );
        assert_eq!(p.ignore, vec!["192.0.2.128/26".parse::<IpNet>().unwrap()]);
        assert_eq!(
            p.location,
            Location {
                file: 0,
                line: 6,
                column: 11
            }
        );
        assert_eq!(p.bindings[0].service, "Magic Transit");
        assert_eq!(
            p.bindings[0].location,
            Location {
                file: 0,
                line: 11,
                column: 18
            }
        );
        assert_eq!(
            p.bindings[1].location,
            Location {
                file: 0,
                line: 12,
                column: 41
            }
        );
        assert!(s.prefixes[2].bindings.is_empty());
        assert_eq!(crate::render::state_summary(s), "3 prefixes, 4 bindings");
    }

    #[test]
    fn version_must_be_1() {
        let yaml = "version: 2\nprefixes: []\n";
        assert_eq!(
            problems(yaml, Mode::Desired),
            ["1:10: error: unsupported version `2`"]
        );
        let yaml = "version: \"1\"\nprefixes: []\n";
        assert_eq!(
            problems(yaml, Mode::Seed),
            ["1:10: error: unsupported version `\"1\"`"]
        );
        assert_eq!(
            problems("prefixes: []\n", Mode::Desired),
            ["1:1: error: missing key `version`"]
        );
    }

    #[test]
    fn unknown_keys_suggest_the_right_one() {
        let yaml = OK.replace("    bindings: []", "    bindngs: []");
        assert_eq!(
            problems(&yaml, Mode::Desired),
            [format!(
                "{}: error: unknown key `bindngs`",
                pos(&yaml, "bindngs", 0)
            )]
        );
        assert_eq!(
            hints(&yaml, Mode::Desired),
            [Some("did you mean `bindings`?".to_owned())]
        );
        // Both bindings with the typo are reported, each at its key; neither also as a
        // missing `service`.
        let yaml = OK.replace("service: CDN }", "servce: CDN }");
        assert_eq!(
            problems(&yaml, Mode::Desired),
            [
                format!("{}: error: unknown key `servce`", pos(&yaml, "servce", 0)),
                format!("{}: error: unknown key `servce`", pos(&yaml, "servce", 1)),
            ]
        );
        let yaml = OK.replace("  max_deletes: 3", "  max_deletes: 3\n  zzz: 1");
        assert_eq!(
            problems(&yaml, Mode::Desired),
            ["5:3: error: unknown key `zzz`"]
        );
        assert_eq!(
            hints(&yaml, Mode::Desired),
            [Some(
                "expected one of `max_deletes`, `max_delete_percent`, `protect`".to_owned()
            )]
        );
    }

    #[test]
    fn missing_keys_are_reported_at_their_mapping_with_the_rest() {
        // A key that is not a typo of the missing one: both are reported.
        let yaml = OK.replace(
            "{ cidr: 192.0.2.16/29, service: CDN }",
            "{ cidr: 192.0.2.16/29, colour: red }",
        );
        assert_eq!(
            problems(&yaml, Mode::Desired),
            [
                format!(
                    "{}: error: missing key `service` in `prefixes[0].bindings[1]`",
                    pos(&yaml, "{ cidr: 192.0.2.16/29", 0)
                ),
                format!("{}: error: unknown key `colour`", pos(&yaml, "colour", 0)),
            ]
        );
        // An empty mapping, and a prefix without its CIDR, next to a rule's error.
        let yaml = OK
            .replace(
                "      - { cidr: 192.0.2.16/29, service: CDN }\n",
                "      - {}\n      - { cidr: 192.0.2.17/29, service: CDN }\n",
            )
            .replace("  - cidr: 198.51.100.0/24\n", "  - id: abc\n");
        assert_eq!(
            problems(&yaml, Mode::Desired),
            [
                format!(
                    "{}: error: missing key `cidr` in `prefixes[0].bindings[1]`",
                    pos(&yaml, "{}", 0)
                ),
                format!(
                    "{}: error: missing key `service` in `prefixes[0].bindings[1]`",
                    pos(&yaml, "{}", 0)
                ),
                format!(
                    "{}: error: host bits set in `192.0.2.17/29`",
                    pos(&yaml, "192.0.2.17/29", 0)
                ),
                format!(
                    "{}: error: missing key `cidr` in `prefixes[2]`",
                    pos(&yaml, "id: abc", 0)
                ),
            ]
        );
        let yaml = "# top\nversion: 1\n";
        assert_eq!(
            problems(yaml, Mode::Desired),
            ["2:1: error: missing key `prefixes`"]
        );
    }

    #[test]
    fn cidrs_must_parse_with_zero_host_bits() {
        let yaml = OK.replace("cidr: 192.0.2.16/29", "cidr: 192.0.2.17/29");
        assert_eq!(
            problems(&yaml, Mode::Desired),
            [format!(
                "{}: error: host bits set in `192.0.2.17/29`",
                pos(&yaml, "192.0.2.17/29", 0)
            )]
        );
        assert_eq!(
            hints(&yaml, Mode::Desired),
            [Some("did you mean `192.0.2.16/29`?".to_owned())]
        );

        let yaml = OK.replace("- cidr: 198.51.100.0/24", "- cidr: 198.51.100.0/33");
        assert_eq!(
            problems(&yaml, Mode::Desired),
            [format!(
                "{}: error: invalid CIDR `198.51.100.0/33`",
                pos(&yaml, "198.51.100.0/33", 0)
            )]
        );
        let yaml = OK.replace("- cidr: 198.51.100.0/24", "- cidr: 198.51.100.7");
        assert_eq!(
            hints(&yaml, Mode::Desired),
            [Some(
                "add a prefix length: `198.51.100.7/32` is one address".to_owned()
            )]
        );
        let yaml = OK.replace("ignore: [192.0.2.128/26]", "ignore: [192.0.2.128/26, nope]");
        assert_eq!(
            problems(&yaml, Mode::Desired),
            [format!(
                "{}: error: invalid CIDR `nope`",
                pos(&yaml, "nope", 0)
            )]
        );
    }

    #[test]
    fn prefixes_are_unique_and_do_not_overlap() {
        let yaml = format!("{OK}  - cidr: 198.51.100.0/24\n    bindings: []\n");
        assert_eq!(
            problems(&yaml, Mode::Desired),
            [format!(
                "{}: error: duplicate prefix `198.51.100.0/24`",
                pos(&yaml, "198.51.100.0/24", 1)
            )]
        );
        assert_eq!(
            hints(&yaml, Mode::Desired),
            [Some("it is already listed at line 17".to_owned())]
        );

        // The contained prefix is written first: the report is at the later, wider one.
        let yaml = OK.replacen(
            "  - cidr: 192.0.2.0/24\n",
            "  - cidr: 192.0.2.0/25\n    bindings: []\n  - cidr: 192.0.2.0/24\n",
            1,
        );
        assert_eq!(
            problems(&yaml, Mode::Desired),
            [
                format!(
                    "{}: warning: prefix `192.0.2.0/25` is smaller than BYOIP allows: IPv4 prefixes are /24 or shorter",
                    pos(&yaml, "192.0.2.0/25", 0)
                ),
                "8:11: error: prefix `192.0.2.0/24` overlaps prefix `192.0.2.0/25` (line 6)"
                    .to_owned(),
            ]
        );
        let yaml = format!(
            "{OK}  - cidr: 2001:db8::/32\n    bindings: []\n  - cidr: 198.51.0.0/16\n    bindings: []\n"
        );
        assert_eq!(
            problems(&yaml, Mode::Desired),
            [
                "19:11: error: prefix `2001:db8::/32` overlaps prefix `2001:db8:1000::/48` (line 13)",
                "21:11: error: prefix `198.51.0.0/16` overlaps prefix `198.51.100.0/24` (line 17)",
            ]
        );
    }

    #[test]
    fn bindings_are_inside_their_prefix_and_of_its_family() {
        let yaml = OK.replace("{ cidr: 192.0.2.16/29", "{ cidr: 192.0.3.16/29");
        assert_eq!(
            problems(&yaml, Mode::Desired),
            [format!(
                "{}: error: binding `192.0.3.16/29` is outside its prefix `192.0.2.0/24`",
                pos(&yaml, "192.0.3.16/29", 0)
            )]
        );
        let yaml = OK.replace("{ cidr: 192.0.2.16/29", "{ cidr: 2001:db8:1000:20::/64");
        assert_eq!(
            problems(&yaml, Mode::Desired),
            [format!(
                "{}: error: binding `2001:db8:1000:20::/64` is IPv6 but its prefix `192.0.2.0/24` is IPv4",
                pos(&yaml, "2001:db8:1000:20::/64", 0)
            )]
        );
    }

    #[test]
    fn binding_cidrs_are_unique_within_a_prefix() {
        let yaml = OK.replace(
            "      - { cidr: 192.0.2.16/29, service: CDN }\n",
            "      - { cidr: 192.0.2.16/29, service: CDN }\n      - { cidr: 192.0.2.16/29, service: Spectrum }\n",
        );
        let expected = format!(
            "{}: error: duplicate binding `192.0.2.16/29`",
            pos(&yaml, "192.0.2.16/29", 1)
        );
        assert_eq!(
            problems(&yaml, Mode::Desired),
            std::slice::from_ref(&expected)
        );
        assert_eq!(
            hints(&yaml, Mode::Desired),
            [Some("it is already listed at line 12".to_owned())]
        );
        // A live account may hold duplicates (the planner deletes all but one): a seed keeps
        // them all, with a warning.
        assert_eq!(
            problems(&yaml, Mode::Seed),
            [expected.replace("error", "warning")]
        );
        let seed = parse(&yaml, "t.yaml", Mode::Seed).unwrap();
        let cidrs: Vec<String> = seed.state.prefixes[0]
            .bindings
            .iter()
            .map(|b| format!("{} {}", b.cidr, b.service))
            .collect();
        assert_eq!(
            cidrs,
            [
                "192.0.2.0/24 Magic Transit",
                "192.0.2.16/29 CDN",
                "192.0.2.16/29 Spectrum"
            ]
        );
    }

    #[test]
    fn a_prefix_with_bindings_has_a_prefix_wide_one() {
        let yaml = OK.replace("      - { cidr: 2001:db8:1000::/48, service: CDN }\n", "");
        let expected = format!(
            "{}: error: prefix `2001:db8:1000::/48` has no prefix-wide binding",
            pos(&yaml, "2001:db8:1000::/48", 0)
        );
        assert_eq!(
            problems(&yaml, Mode::Desired),
            std::slice::from_ref(&expected)
        );
        assert_eq!(
            problems(&yaml, Mode::Seed),
            [expected.replace("error", "warning")]
        );
        // A CIDR typo is reported once, not also as a missing prefix-wide binding.
        let yaml = OK.replace(
            "      - cidr: 192.0.2.0/24\n",
            "      - cidr: 192.0.2.0/2x\n",
        );
        assert_eq!(
            problems(&yaml, Mode::Desired),
            [format!(
                "{}: error: invalid CIDR `192.0.2.0/2x`",
                pos(&yaml, "192.0.2.0/2x", 0)
            )]
        );
    }

    #[test]
    fn magic_transit_only_prefix_wide() {
        let yaml = OK.replace("service: CDN }", "service: magic  TRANSIT }");
        let expected = format!(
            "{}: error: `magic  TRANSIT` can only be bound to the whole prefix, not to `192.0.2.16/29`",
            pos(&yaml, "magic  TRANSIT", 0)
        );
        // The API compares names without folding spaces: the name is not a documented one.
        let not_documented = |nth| {
            format!(
                "{}: warning: `magic  TRANSIT` is none of Cloudflare's documented services (`Magic Transit`, `CDN`, `Spectrum`) nor a service id",
                pos(&yaml, "magic  TRANSIT", nth)
            )
        };
        assert_eq!(
            problems(&yaml, Mode::Desired),
            [not_documented(0), expected.clone(), not_documented(1)]
        );
        assert_eq!(
            problems(&yaml, Mode::Seed),
            [expected.replace("error", "warning")]
        );

        // By id, when the file's catalog names it.
        let yaml = OK
            .replace(
                "safety:",
                "services:\n  Magic Transit: f2f0ba6cd8a14c3e9ee9d6bd8b4b5f2a\nsafety:",
            )
            .replace(
                "service: CDN }",
                "service: f2f0ba6cd8a14c3e9ee9d6bd8b4b5f2a }",
            );
        assert_eq!(problems(&yaml, Mode::Seed).len(), 1);
        assert!(
            problems(&yaml, Mode::Seed)[0]
                .contains("warning: `f2f0ba6cd8a14c3e9ee9d6bd8b4b5f2a` can only be bound")
        );
    }

    #[test]
    fn ignore_ranges_lie_inside_and_hold_no_binding() {
        let yaml = OK.replace(
            "ignore: [192.0.2.128/26]",
            "ignore: [192.0.3.0/26, 2001:db8::/64]",
        );
        assert_eq!(
            problems(&yaml, Mode::Desired),
            [
                format!(
                    "{}: error: ignore range `192.0.3.0/26` is outside its prefix `192.0.2.0/24`",
                    pos(&yaml, "192.0.3.0/26", 0)
                ),
                format!(
                    "{}: error: ignore range `2001:db8::/64` is IPv6 but its prefix `192.0.2.0/24` is IPv4",
                    pos(&yaml, "2001:db8::/64", 0)
                ),
            ]
        );
        let yaml = OK.replace(
            "      - { cidr: 192.0.2.16/29, service: CDN }\n",
            "      - { cidr: 192.0.2.16/29, service: CDN }\n      - { cidr: 192.0.2.160/28, service: CDN }\n      - { cidr: 192.0.2.128/26, service: Spectrum }\n",
        );
        assert_eq!(
            problems(&yaml, Mode::Seed),
            [format!(
                "{}: error: ignore range `192.0.2.128/26` contains binding `192.0.2.160/28` (line 13) and 1 more",
                pos(&yaml, "192.0.2.128/26", 0)
            )]
        );
        // A binding that contains the range is fine: the prefix-wide one always does.
        assert!(problems(OK, Mode::Desired).is_empty());
    }

    #[test]
    fn ids_are_letters_and_digits() {
        let yaml = OK
            .replace(
                "account_id: 023e105f4ecef8ad9ca31a8372d0c353",
                "account_id: ../admin",
            )
            .replace(
                "id: 2af39739cc4e3b5910c918468bb89828",
                "id: 2af39739cc4e3b5910c918468bb89828ff",
            )
            .replacen("service: CDN }", "service: CDN, id: \"a b\" }", 1)
            .replace("safety:", "services:\n  CDN: x/y\n  \" \": abc\nsafety:");
        // A seed: where binding ids and `services` mean something.
        assert_eq!(
            problems(&yaml, Mode::Seed),
            [
                "2:13: error: invalid account id `../admin`: an id is 1 to 32 letters or digits"
                    .to_owned(),
                format!(
                    "{}: error: invalid service id `x/y`: an id is 1 to 32 letters or digits",
                    pos(&yaml, "x/y", 0)
                ),
                format!(
                    "{}: error: empty service name in `services`",
                    pos(&yaml, "abc", 0)
                ),
                format!(
                    "{}: error: invalid prefix id `2af39739cc4e3b5910c918468bb89828ff`: an id is 1 to 32 letters or digits",
                    pos(&yaml, "2af3", 0)
                ),
                format!(
                    "{}: error: invalid binding id `a b`: an id is 1 to 32 letters or digits",
                    pos(&yaml, "\"a b\"", 0)
                ),
            ]
        );
    }

    #[test]
    fn an_empty_service_is_an_error() {
        let yaml = OK.replacen("service: CDN }", "service: '' }", 1);
        assert_eq!(
            problems(&yaml, Mode::Desired),
            [format!(
                "{}: error: binding `192.0.2.16/29` has an empty service",
                pos(&yaml, "''", 0)
            )]
        );
    }

    #[test]
    fn a_more_specific_binding_with_its_covers_service_is_an_error() {
        // 192.0.2.20/30 is inside 192.0.2.16/29 (CDN), which is inside the prefix (MT).
        let yaml = OK.replace(
            "      - { cidr: 192.0.2.16/29, service: CDN }\n",
            "      - { cidr: 192.0.2.16/29, service: CDN }\n      - { cidr: 192.0.2.20/30, service: cdn }\n      - { cidr: 192.0.2.32/30, service: CDN }\n",
        );
        let message = "binding `192.0.2.20/30` has the service of the binding that covers it: `192.0.2.16/29` (line 12) already sends it to `cdn`, and the API refuses a more-specific binding of its cover's service";
        let at = pos(&yaml, "192.0.2.20/30", 0);
        assert_eq!(
            problems(&yaml, Mode::Desired),
            [format!("{at}: error: {message}")]
        );
        assert_eq!(
            hints(&yaml, Mode::Desired),
            [Some(
                "remove it: its addresses go to `cdn` either way".to_owned()
            )]
        );
        assert!(parse(&yaml, "t.yaml", Mode::Desired).is_err());
        // A seed mirrors a live account, which may hold one: a warning there.
        assert_eq!(
            problems(&yaml, Mode::Seed),
            [format!("{at}: warning: {message}")]
        );

        // A name and its id are one service when `services:` says so.
        let yaml = OK
            .replace(
                "safety:",
                "services:\n  CDN: a7c5b5e1c33d4ea0b2f5d4f6c1e0a9b3\nsafety:",
            )
            .replace(
                "2001:db8:1000:10::/64, service: Spectrum",
                "2001:db8:1000:10::/64, service: a7c5b5e1c33d4ea0b2f5d4f6c1e0a9b3",
            );
        assert_eq!(
            problems(&yaml, Mode::Seed).len(),
            1,
            "{:?}",
            problems(&yaml, Mode::Seed)
        );
    }

    #[test]
    fn the_covers_service_is_compared_with_the_nearest_cover_only() {
        // Written out of order on purpose: the check must not depend on it.
        let yaml = "\
version: 1
prefixes:
  - cidr: 192.0.2.0/24
    bindings:
      - { cidr: 192.0.2.0/27, service: CDN }
      - { cidr: 192.0.2.0/24, service: Magic Transit }
      - { cidr: 192.0.2.0/25, service: CDN }
      - { cidr: 192.0.2.0/26, service: Spectrum }
      - { cidr: 192.0.2.64/26, service: CDN }
      - { cidr: 192.0.2.128/26, service: Spectrum }
      - { cidr: 192.0.2.160/27, service: Spectrum }
      - { cidr: 192.0.2.192/26, service: Magic Transit }
";
        let cover = "and the API refuses a more-specific binding of its cover's service";
        assert_eq!(
            problems(yaml, Mode::Seed),
            [
                format!("9:17: warning: binding `192.0.2.64/26` has the service of the binding that covers it: `192.0.2.0/25` (line 7) already sends it to `CDN`, {cover}"),
                format!("11:17: warning: binding `192.0.2.160/27` has the service of the binding that covers it: `192.0.2.128/26` (line 10) already sends it to `Spectrum`, {cover}"),
                "12:42: warning: `Magic Transit` can only be bound to the whole prefix, not to `192.0.2.192/26`".to_owned(),
            ]
        );
    }

    #[test]
    fn prefixes_longer_than_byoip_allows_are_warned_about() {
        let yaml = "version: 1\nprefixes:\n  - cidr: 2001:db8:1:2::/64\n    bindings: []\n  - cidr: 2001:db8:2::/48\n    bindings: []\n";
        assert_eq!(
            problems(yaml, Mode::Desired),
            [
                "3:11: warning: prefix `2001:db8:1:2::/64` is smaller than BYOIP allows: IPv6 prefixes are /48 or shorter"
            ]
        );
    }

    #[test]
    fn yaml_type_errors_stop_parsing_with_their_location() {
        let yaml = OK.replace("    bindings: []", "    bindings: CDN");
        assert_eq!(
            problems(&yaml, Mode::Desired),
            [format!(
                "{}: error: `prefixes[2].bindings` must be a list",
                pos(&yaml, "CDN", 2)
            )]
        );
        let yaml = "version: 1\nprefixes:\n  - cidr: 10.0.0.0/8\n";
        assert_eq!(
            problems(yaml, Mode::Desired),
            ["3:5: error: missing key `bindings` in `prefixes[0]`"]
        );
        let yaml = OK.replace("max_deletes: 3", "max_deletes: -1");
        assert_eq!(
            problems(&yaml, Mode::Desired),
            ["4:16: error: `safety.max_deletes` is too small: -1 is less than 0"]
        );
    }

    #[test]
    fn a_leading_zero_is_refused_with_the_plain_number() {
        let yaml = OK
            .replace("- cidr: 198.51.100.0/24", "- cidr: 198.051.100.0/24")
            .replace("{ cidr: 192.0.2.16/29", "{ cidr: 192.0.2.016/29")
            .replace("ignore: [192.0.2.128/26]", "ignore: [192.0.2.128/026]")
            .replace(
                "  max_deletes: 3",
                "  max_deletes: 3\n  protect: [192.0.02.0/26]",
            );
        assert_eq!(
            problems(&yaml, Mode::Desired),
            [
                "5:13: error: leading zero in `192.0.02.0/26`: svcbind reads no octal, write each number without leading zeros",
                "9:14: error: leading zero in `192.0.2.128/026`: svcbind reads no octal, write each number without leading zeros",
                "13:17: error: leading zero in `192.0.2.016/29`: svcbind reads no octal, write each number without leading zeros",
                "18:11: error: leading zero in `198.051.100.0/24`: svcbind reads no octal, write each number without leading zeros",
            ]
        );
        assert_eq!(
            hints(&yaml, Mode::Desired),
            [
                Some("did you mean `192.0.2.0/26`?".to_owned()),
                Some("did you mean `192.0.2.128/26`?".to_owned()),
                Some("did you mean `192.0.2.16/29`?".to_owned()),
                Some("did you mean `198.51.100.0/24`?".to_owned()),
            ]
        );
        // The hint drops host bits too; an address that is no address still gets a word.
        assert_eq!(
            without_leading_zeros("010.0.0.1/8").as_deref(),
            Some("10.0.0.1/8")
        );
        assert_eq!(
            without_leading_zeros("::ffff:10.00.0.0/104").as_deref(),
            Some("::ffff:10.0.0.0/104")
        );
        assert_eq!(without_leading_zeros("0.0.0.0/0"), None);
        assert_eq!(without_leading_zeros("2001:db8:0::/48"), None);
        assert_eq!(
            without_leading_zeros("2001:0db8::/048").as_deref(),
            Some("2001:0db8::/48")
        );
        assert_eq!(without_leading_zeros("192.0.2.0/24"), None);
        assert_eq!(without_leading_zeros("1.2.3.x/24"), None);
        let yaml = OK.replace("- cidr: 198.51.100.0/24", "- cidr: 0198.51.100.0/024");
        assert_eq!(
            hints(&yaml, Mode::Desired),
            [Some("did you mean `198.51.100.0/24`?".to_owned())]
        );
    }

    #[test]
    fn safety_numbers_say_their_range() {
        let problem = |line: &str| problems(&OK.replace("  max_deletes: 3", line), Mode::Desired);
        assert_eq!(
            problem("  max_deletes: 4294967296"),
            ["4:16: error: `safety.max_deletes` is too large: 4294967296 is more than 4294967295"]
        );
        let yaml = OK.replace("  max_deletes: 3", "  max_deletes: 4294967296");
        assert_eq!(
            hints(&yaml, Mode::Desired),
            [Some("write a whole number from 0 to 4294967295".to_owned())]
        );
        assert!(problem("  max_deletes: 4294967295").is_empty());
        assert_eq!(
            problem("  max_deletes: 1.5"),
            [
                "4:16: error: `safety.max_deletes` must be a whole number from 0 to 4294967295, not `1.5`"
            ]
        );
        assert_eq!(
            problem("  max_deletes: '10'"),
            [
                "4:16: error: `safety.max_deletes` must be a whole number from 0 to 4294967295, not `\"10\"`"
            ]
        );
        assert_eq!(
            problem("  max_delete_percent: 101\n  max_deletes: [3]"),
            [
                "4:23: error: `safety.max_delete_percent` is too large: 101 is more than 100",
                "5:16: error: `safety.max_deletes` must be a whole number from 0 to 4294967295, not `a list`",
            ]
        );
        let loaded = parse(
            &OK.replace(
                "  max_deletes: 3",
                "  max_delete_percent: 0\n  protect: [192.0.2.0/26, 2001:db8:1000:10::/64]",
            ),
            "t.yaml",
            Mode::Desired,
        )
        .unwrap();
        assert_eq!(loaded.state.max_delete_percent, Some(0));
        assert_eq!(loaded.state.max_deletes, None);
        assert_eq!(
            loaded.state.protect,
            [
                "192.0.2.0/26".parse::<IpNet>().unwrap(),
                "2001:db8:1000:10::/64".parse().unwrap()
            ]
        );
    }

    #[test]
    fn seed_only_keys_in_a_desired_file_are_warned_about_once_each() {
        let yaml = OK
            .replace(
                "service: Magic Transit",
                "service: Magic Transit\n        id: 0268691a34343f5f7404ff8abe0b5785\n        state: active",
            )
            .replace("service: Spectrum }", "service: Spectrum, id: b1 }")
            .replace("safety:", "services: {}\nsafety:");
        assert_eq!(
            problems(&yaml, Mode::Desired),
            [
                "3:1: warning: `services` has no effect in a desired-state file",
                "13:9: warning: binding key `id` has no effect in a desired-state file (2 bindings have it)",
                "14:9: warning: binding key `state` has no effect in a desired-state file",
            ]
        );
        assert_eq!(
            hints(&yaml, Mode::Desired)[1].as_deref(),
            Some(
                "remove it: binding ids are the API's to choose; `id` is read from emulator seeds only"
            )
        );
        // A seed is where they belong.
        assert!(problems(&yaml, Mode::Seed).is_empty());
    }

    #[test]
    fn a_service_none_of_the_documented_ones_is_a_warning_the_account_settles() {
        let yaml = OK.replace("service: CDN }", "service: cdn }").replace(
            "2001:db8:1000:10::/64, service: Spectrum",
            "2001:db8:1000:10::/64, service: a7c5b5e1c33d4ea0b2f5d4f6c1e0a9b3",
        );
        assert!(
            problems(&yaml, Mode::Desired).is_empty(),
            "case and ids are fine"
        );
        let yaml = OK
            .replace("service: CDN }", "service: CDNN }")
            .replace("service: Spectrum }", "service: Workers }");
        assert_eq!(
            problems(&yaml, Mode::Desired),
            [
                "12:41: warning: `CDNN` is none of Cloudflare's documented services (`Magic Transit`, `CDN`, `Spectrum`) nor a service id",
                "15:46: warning: `CDNN` is none of Cloudflare's documented services (`Magic Transit`, `CDN`, `Spectrum`) nor a service id",
                "16:49: warning: `Workers` is none of Cloudflare's documented services (`Magic Transit`, `CDN`, `Spectrum`) nor a service id",
            ]
        );
        assert_eq!(
            hints(&yaml, Mode::Desired),
            [
                Some("did you mean `CDN`?".to_owned()),
                Some("did you mean `CDN`?".to_owned()),
                Some("the account decides at plan: `svcbind services` lists its services; or give the service's id".to_owned()),
            ]
        );
        let loaded = parse(&yaml, "t.yaml", Mode::Desired).unwrap();
        assert!(loaded.warnings.iter().all(|d| d.settled_by_account));
        assert!(loaded.warnings.unsettled().is_empty());
        // A seed's catalog is its own.
        assert!(problems(&yaml, Mode::Seed).is_empty());
    }
}
