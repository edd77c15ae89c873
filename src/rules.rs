//! The API's rules for service bindings, as typed checks over one prefix's bindings.
//!
//! Each rule is a check that answers `Ok(())` or a [`Violation`]: the create checks
//! ([`PrefixBindings::check_create`]) and the delete check ([`PrefixBindings::check_delete`])
//! over a [`PrefixBindings`], the bindings of one prefix held in memory. The single checks
//! ([`check_host_bits`], [`check_family`], [`check_inside`], [`check_prefix_wide`],
//! [`check_magic_transit`], [`check_unique`], [`check_cover_service`]) are public too, for callers that hold bindings
//! their own way, such as a desired-state file, whose bindings have no ids yet.
//!
//! Pure: domain types in ([`IpNet`], [`ServiceId`], [`Services`]), typed answers out; no
//! strings to parse, no I/O, no clock. This module imports `model` only. Three stages use it:
//! the emulator answers HTTP about it (a violation becomes 400 / 1003 with a JSON pointer), the
//! planner's rehearsal replays a plan's steps on it, and `config` validation words its
//! violations as diagnostics of a file.
//!
//! # The rules
//!
//! Creating a binding of `cidr` to `service` in a prefix is refused, checked in this order:
//!
//! 1. `cidr` has host bits set ([`Violation::HostBits`]);
//! 2. `cidr` is of the other address family ([`Violation::WrongFamily`]);
//! 3. `cidr` is not inside the prefix ([`Violation::OutsidePrefix`]);
//! 4. `service` is not in the account's catalog ([`Violation::UnknownService`]);
//! 5. `cidr` is more specific than the prefix while the prefix has no prefix-wide binding (the
//!    binding whose CIDR is the prefix's own): the first binding of a prefix must be the
//!    prefix itself ([`Violation::NoPrefixWide`]);
//! 6. `service` is Magic Transit (by its catalog name, [`crate::model::MAGIC_TRANSIT`]) and
//!    `cidr` is more specific than the prefix ([`Violation::MagicTransitNotPrefixWide`]);
//! 7. `cidr` already has a binding: there is no update call, a new service for a CIDR is a
//!    delete then a create ([`Violation::DuplicateCidr`]);
//! 8. `cidr` is more specific than the prefix and `service` is the service of the binding
//!    that most specifically covers it (the cover: of the bindings whose CIDR contains
//!    `cidr`, the one with the longest prefix): a more-specific binding changes the service
//!    of its addresses, or it is no configuration the API supports
//!    ([`Violation::SameServiceAsCover`]). Where the cover's CIDR has more than one binding
//!    (a mirrored state), any of them with `service` refuses it.
//!
//! Deleting a binding is refused when it is the prefix's last prefix-wide binding and
//! more-specific bindings remain: the prefix-wide binding goes last
//! ([`Violation::PrefixWideNotLast`]).
//!
//! Allowed, and tested as such: the prefix-wide binding with any known service (Magic Transit
//! included); a more-specific binding with another service than its cover's, nested at any
//! depth; a more-specific binding whose service some binding further out has (only the cover
//! counts); deleting a more-specific binding at any time; deleting a prefix-wide binding that another prefix-wide binding still backs (a
//! mirrored live account may hold two); deleting the prefix-wide binding once it is alone.
//!
//! # What is documented and what is assumed
//!
//! Cloudflare documents rules 5 and 6 (the first binding equals the prefix; Magic Transit is
//! bound prefix-wide only) and that there is no update call. Its "Scope" section lists which
//! services a more-specific binding may have under which ("a Magic Transit prefix can upgrade
//! IPs to CDN or Spectrum; a CDN prefix to Spectrum; a Spectrum prefix to CDN"): with Magic
//! Transit prefix-wide only, that is rule 8, the service of a more-specific binding differs
//! from its cover's. What the API answers when a create breaks it is not documented. The rest
//! is what svcbind assumes where the documentation is silent (`cloudflare-api-notes.md`, and
//! the README's "Assumptions about the API"): that the API refuses, with 400 / 1003, a CIDR
//! with host bits, of the other family or outside the prefix, an unknown service, a second
//! binding of one CIDR, a more-specific binding of its cover's service, and the deletion of
//! the prefix-wide binding under more-specific ones. Not checked, because nothing says the API
//! checks it: the smallest prefix length of a binding, and the bindings a create comes to
//! cover (rule 8 judges the binding created against its cover, not the bindings under it).
//!
//! A [`PrefixBindings`] may hold bindings that break these rules: [`PrefixBindings::insert`]
//! adds one unchecked, because a mirrored live account may have got into such a state (two
//! bindings of one CIDR, more-specific bindings without a prefix-wide one). The checks judge
//! the next call against whatever is there.

use std::collections::BTreeMap;
use std::fmt;

use ipnet::IpNet;

use crate::model::{BindingId, ServiceId, Services};

/// Why the API would refuse a create or a delete. Every variant carries what its message needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// The CIDR has bits set after its prefix length (`192.0.2.1/24`).
    HostBits { cidr: IpNet },
    /// The CIDR is IPv4 in an IPv6 prefix, or the reverse.
    WrongFamily { cidr: IpNet, prefix: IpNet },
    /// The CIDR does not lie inside the prefix.
    OutsidePrefix { cidr: IpNet, prefix: IpNet },
    /// The service is not in the account's catalog.
    UnknownService { service: ServiceId },
    /// A more-specific binding while the prefix has no prefix-wide binding.
    NoPrefixWide { prefix: IpNet },
    /// Magic Transit on a CIDR more specific than the prefix.
    MagicTransitNotPrefixWide { cidr: IpNet, prefix: IpNet },
    /// The CIDR already has a binding: `existing` is its id where ids are known (a
    /// desired-state file has none).
    DuplicateCidr {
        cidr: IpNet,
        existing: Option<BindingId>,
    },
    /// The prefix's last prefix-wide binding, while `specific` more-specific bindings remain.
    PrefixWideNotLast { prefix: IpNet, specific: usize },
    /// A more-specific binding with the service of `cover`, the binding that most specifically
    /// covers it: it would route exactly like its cover.
    SameServiceAsCover { cidr: IpNet, cover: IpNet },
}

/// `IPv4` or `IPv6`.
pub fn family(net: &IpNet) -> &'static str {
    match net {
        IpNet::V4(_) => "IPv4",
        IpNet::V6(_) => "IPv6",
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::HostBits { cidr } => write!(
                f,
                "`{cidr}` has host bits set; did you mean {}?",
                cidr.trunc()
            ),
            Violation::WrongFamily { cidr, prefix } => write!(
                f,
                "{cidr} is {} but prefix {prefix} is {}",
                family(cidr),
                family(prefix)
            ),
            Violation::OutsidePrefix { cidr, prefix } => {
                write!(f, "{cidr} is not inside prefix {prefix}")
            }
            Violation::UnknownService { service } => write!(
                f,
                "unknown service_id `{service}`: List Services gives the account's services"
            ),
            Violation::NoPrefixWide { prefix } => write!(
                f,
                "prefix {prefix} has no prefix-wide binding: the first binding of a prefix must be {prefix} itself, then more-specific ones may follow"
            ),
            Violation::MagicTransitNotPrefixWide { cidr, prefix } => write!(
                f,
                "Magic Transit can only be bound to the whole prefix {prefix}, not to {cidr}"
            ),
            Violation::DuplicateCidr { cidr, existing } => {
                write!(f, "{cidr} already has a binding")?;
                if let Some(id) = existing {
                    write!(f, " (`{id}`)")?;
                }
                f.write_str("; a binding cannot be changed: delete it, then create the new one")
            }
            Violation::PrefixWideNotLast { prefix, specific } => {
                let one = *specific == 1;
                write!(
                    f,
                    "cannot delete the prefix-wide binding {prefix} while {specific} more-specific binding{} exist{}; delete {} first",
                    if one { "" } else { "s" },
                    if one { "s" } else { "" },
                    if one { "it" } else { "them" },
                )
            }
            Violation::SameServiceAsCover { cidr, cover } => write!(
                f,
                "{cidr} cannot have the service of {cover}, the binding that covers it: a more-specific binding must send its addresses to another service than its cover"
            ),
        }
    }
}

impl std::error::Error for Violation {}

/// Rule 1: a binding's CIDR has no host bits set.
pub fn check_host_bits(cidr: IpNet) -> Result<(), Violation> {
    if cidr.trunc() == cidr {
        Ok(())
    } else {
        Err(Violation::HostBits { cidr })
    }
}

/// Rule 2: `cidr` is of `prefix`'s address family.
pub fn check_family(prefix: IpNet, cidr: IpNet) -> Result<(), Violation> {
    if family(&cidr) == family(&prefix) {
        Ok(())
    } else {
        Err(Violation::WrongFamily { cidr, prefix })
    }
}

/// Rule 3: `cidr` lies inside `prefix` (or is it). A CIDR of the other family lies outside;
/// [`check_cidr`] asks [`check_family`] first, to say so.
pub fn check_inside(prefix: IpNet, cidr: IpNet) -> Result<(), Violation> {
    if prefix.contains(&cidr) {
        Ok(())
    } else {
        Err(Violation::OutsidePrefix { cidr, prefix })
    }
}

/// Rules 1 to 3, in the API's order: what a binding's CIDR must be, whatever else the prefix
/// holds.
pub fn check_cidr(prefix: IpNet, cidr: IpNet) -> Result<(), Violation> {
    check_host_bits(cidr)?;
    check_family(prefix, cidr)?;
    check_inside(prefix, cidr)
}

/// Rule 5: no more-specific binding without the prefix-wide one. `more_specific` says whether
/// there is (or is to be) a binding other than the prefix-wide one; `has_prefix_wide` whether
/// the prefix-wide binding is there.
pub fn check_prefix_wide(
    prefix: IpNet,
    has_prefix_wide: bool,
    more_specific: bool,
) -> Result<(), Violation> {
    if more_specific && !has_prefix_wide {
        Err(Violation::NoPrefixWide { prefix })
    } else {
        Ok(())
    }
}

/// Rule 6: Magic Transit only prefix-wide. `magic_transit` says whether `cidr`'s service is
/// Magic Transit, which the caller decides by the service's name.
pub fn check_magic_transit(
    prefix: IpNet,
    cidr: IpNet,
    magic_transit: bool,
) -> Result<(), Violation> {
    if magic_transit && cidr != prefix {
        Err(Violation::MagicTransitNotPrefixWide { cidr, prefix })
    } else {
        Ok(())
    }
}

/// Rule 7: one binding per CIDR. `bound` says whether `cidr` has a binding already; where the
/// bindings' ids are known, [`PrefixBindings::check_create`] names the binding instead.
pub fn check_unique(cidr: IpNet, bound: bool) -> Result<(), Violation> {
    if bound {
        Err(Violation::DuplicateCidr {
            cidr,
            existing: None,
        })
    } else {
        Ok(())
    }
}

/// Rule 8: a more-specific binding's service differs from its cover's. `cover` is the binding
/// that most specifically covers `cidr` (its CIDR and service), if any; the prefix-wide
/// binding has none.
pub fn check_cover_service(
    cidr: IpNet,
    service: &ServiceId,
    cover: Option<(IpNet, &ServiceId)>,
) -> Result<(), Violation> {
    match cover {
        Some((cover, theirs)) if theirs == service => {
            Err(Violation::SameServiceAsCover { cidr, cover })
        }
        _ => Ok(()),
    }
}

/// The CIDRs that cover `cidr` inside `prefix`, nearest first: its supernets from one bit
/// shorter down to `prefix` itself (none when `cidr` is `prefix` or not inside it). Where
/// bindings are held by CIDR, the cover of `cidr` is the first of these that has one.
pub fn covers_of(prefix: IpNet, cidr: IpNet) -> impl Iterator<Item = IpNet> {
    covers_at(prefix, cidr, |_| true)
}

/// [`covers_of`], of the prefix lengths `keep` takes only: where few lengths are bound (a
/// /48 holding /64s and /128s), the others are skipped without building their CIDR.
pub fn covers_at(
    prefix: IpNet,
    cidr: IpNet,
    keep: impl Fn(u8) -> bool,
) -> impl Iterator<Item = IpNet> {
    let inside = prefix.contains(&cidr) && cidr.prefix_len() > prefix.prefix_len();
    let lens = if inside {
        prefix.prefix_len()..cidr.prefix_len()
    } else {
        0..0
    };
    lens.rev()
        .filter(move |&len| keep(len))
        .filter_map(move |len| {
            IpNet::new(cidr.addr(), len)
                .ok()
                .map(|net: IpNet| net.trunc())
        })
}

/// One binding of a [`PrefixBindings`]: its id and service (its CIDR is the key it is held by).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: BindingId,
    pub service: ServiceId,
}

/// The bindings of one prefix, by CIDR, with the rules' checks.
///
/// A CIDR may have more than one binding (only [`PrefixBindings::insert`] adds such a one);
/// a CIDR's bindings are kept oldest first. Lookups by CIDR cost O(log n), so replaying a plan
/// costs O(log n) a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixBindings {
    prefix: IpNet,
    /// (CIDR, the order the binding was added in) → the binding: a CIDR's bindings, oldest
    /// first, are one range of keys.
    by_cidr: BTreeMap<(IpNet, u64), Entry>,
    /// How many bindings each prefix length (0 to 128) has, so that looking for a cover
    /// skips the lengths nothing is bound at.
    lens: [u32; 129],
    /// The number the next binding added gets; never reused.
    next: u64,
}

impl PrefixBindings {
    /// A prefix without bindings.
    pub fn new(prefix: IpNet) -> Self {
        Self {
            prefix,
            by_cidr: BTreeMap::new(),
            lens: [0; 129],
            next: 0,
        }
    }

    /// The prefix's CIDR.
    pub fn prefix(&self) -> IpNet {
        self.prefix
    }

    /// How many bindings the prefix has, repeated CIDRs counted each time.
    pub fn len(&self) -> usize {
        self.by_cidr.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_cidr.is_empty()
    }

    /// `cidr`'s bindings, oldest first.
    fn with_cidr(&self, cidr: IpNet) -> impl Iterator<Item = (&(IpNet, u64), &Entry)> + '_ {
        self.by_cidr.range((cidr, u64::MIN)..=(cidr, u64::MAX))
    }

    /// How many bindings `cidr` has: 0 or 1, but for a mirrored state that repeats a CIDR.
    pub fn count(&self, cidr: IpNet) -> usize {
        self.with_cidr(cidr).count()
    }

    /// The oldest binding of `cidr`.
    pub fn first(&self, cidr: IpNet) -> Option<&Entry> {
        self.with_cidr(cidr).next().map(|(_, entry)| entry)
    }

    /// Whether the prefix has its prefix-wide binding.
    pub fn has_prefix_wide(&self) -> bool {
        self.first(self.prefix).is_some()
    }

    /// Every binding as (CIDR, binding), by CIDR, a CIDR's bindings oldest first.
    pub fn iter(&self) -> impl Iterator<Item = (IpNet, &Entry)> + '_ {
        self.by_cidr.iter().map(|(&(cidr, _), entry)| (cidr, entry))
    }

    /// Adds a binding as it is, without the rules: to mirror a live state, which may break
    /// them.
    pub fn insert(&mut self, cidr: IpNet, entry: Entry) {
        self.by_cidr.insert((cidr, self.next), entry);
        self.lens[usize::from(cidr.prefix_len())] += 1;
        self.next += 1;
    }

    /// Removes binding `id` of `cidr` (the oldest, if `cidr` has it twice), without the rules.
    pub fn remove(&mut self, cidr: IpNet, id: &BindingId) -> Option<Entry> {
        let key = *self
            .with_cidr(cidr)
            .find(|(_, entry)| entry.id == *id)
            .map(|(key, _)| key)?;
        self.lens[usize::from(cidr.prefix_len())] -= 1;
        self.by_cidr.remove(&key)
    }

    /// The CIDR of the binding that most specifically covers `cidr` (rule 8's cover), and that
    /// CIDR's bindings, oldest first; `None` when no binding covers it.
    pub fn cover(&self, cidr: IpNet) -> Option<(IpNet, impl Iterator<Item = &Entry> + '_)> {
        covers_at(self.prefix, cidr, |len| self.lens[usize::from(len)] > 0)
            .find(|net| self.count(*net) > 0)
            .map(|net| (net, self.with_cidr(net).map(|(_, entry)| entry)))
    }

    /// Rules 1 to 8: whether the API would create a binding of `cidr` to `service`, given the
    /// account's catalog `services`.
    pub fn check_create(
        &self,
        cidr: IpNet,
        service: &ServiceId,
        services: &Services,
    ) -> Result<(), Violation> {
        let prefix = self.prefix;
        check_cidr(prefix, cidr)?;
        if services.name(service).is_none() {
            return Err(Violation::UnknownService {
                service: service.clone(),
            });
        }
        check_prefix_wide(prefix, self.has_prefix_wide(), cidr != prefix)?;
        check_magic_transit(prefix, cidr, services.is_magic_transit(service))?;
        if let Some(existing) = self.first(cidr) {
            return Err(Violation::DuplicateCidr {
                cidr,
                existing: Some(existing.id.clone()),
            });
        }
        if let Some((cover, mut entries)) = self.cover(cidr)
            && let Some(same) = entries.find(|entry| entry.service == *service)
        {
            return check_cover_service(cidr, service, Some((cover, &same.service)));
        }
        Ok(())
    }

    /// Creates binding `entry` of `cidr` when the rules allow it.
    pub fn create(
        &mut self,
        cidr: IpNet,
        entry: Entry,
        services: &Services,
    ) -> Result<(), Violation> {
        self.check_create(cidr, &entry.service, services)?;
        self.insert(cidr, entry);
        Ok(())
    }

    /// The delete rule: whether the API would delete a binding of `cidr` (one the prefix has).
    pub fn check_delete(&self, cidr: IpNet) -> Result<(), Violation> {
        let prefix = self.prefix;
        if cidr != prefix {
            return Ok(());
        }
        let wide = self.count(prefix);
        let specific = self.len() - wide;
        if wide <= 1 && specific > 0 {
            Err(Violation::PrefixWideNotLast { prefix, specific })
        } else {
            Ok(())
        }
    }

    /// Deletes binding `id` of `cidr` when the rules allow it: `Ok(None)` when the prefix has
    /// no such binding (the API answers 404), else the binding deleted.
    pub fn delete(&mut self, cidr: IpNet, id: &BindingId) -> Result<Option<Entry>, Violation> {
        if !self.with_cidr(cidr).any(|(_, entry)| entry.id == *id) {
            return Ok(None);
        }
        self.check_delete(cidr)?;
        Ok(self.remove(cidr, id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{MAGIC_TRANSIT, Service};

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn svc(s: &str) -> ServiceId {
        ServiceId::new(s).unwrap()
    }

    fn id(s: &str) -> BindingId {
        BindingId::new(s).unwrap()
    }

    fn entry(i: &str, service: &str) -> Entry {
        Entry {
            id: id(i),
            service: svc(service),
        }
    }

    /// Magic Transit (`mt`), CDN (`cdn`) and Spectrum (`spectrum`).
    fn services() -> Services {
        Services::new([
            Service {
                id: svc("mt"),
                name: MAGIC_TRANSIT.into(),
            },
            Service {
                id: svc("cdn"),
                name: "CDN".into(),
            },
            Service {
                id: svc("spectrum"),
                name: "Spectrum".into(),
            },
        ])
    }

    /// 192.0.2.0/24 with the given (CIDR, id, service) bindings, inserted unchecked.
    fn v4(bindings: &[(&str, &str, &str)]) -> PrefixBindings {
        let mut p = PrefixBindings::new(net("192.0.2.0/24"));
        for (cidr, i, service) in bindings {
            p.insert(net(cidr), entry(i, service));
        }
        p
    }

    fn create(p: &PrefixBindings, cidr: &str, service: &str) -> Result<(), Violation> {
        p.check_create(net(cidr), &svc(service), &services())
    }

    #[test]
    fn host_bits_are_refused() {
        let p = v4(&[]);
        let v = create(&p, "192.0.2.1/24", "mt").unwrap_err();
        assert_eq!(
            v,
            Violation::HostBits {
                cidr: net("192.0.2.1/24")
            }
        );
        assert_eq!(
            v.to_string(),
            "`192.0.2.1/24` has host bits set; did you mean 192.0.2.0/24?"
        );
        assert_eq!(check_host_bits(net("192.0.2.0/24")), Ok(()));
        assert!(check_host_bits(net("2001:db8::1/64")).is_err());
    }

    #[test]
    fn the_other_family_is_refused() {
        let p = v4(&[]);
        let v = create(&p, "2001:db8::/48", "mt").unwrap_err();
        assert_eq!(
            v,
            Violation::WrongFamily {
                cidr: net("2001:db8::/48"),
                prefix: net("192.0.2.0/24")
            }
        );
        assert_eq!(
            v.to_string(),
            "2001:db8::/48 is IPv6 but prefix 192.0.2.0/24 is IPv4"
        );
    }

    #[test]
    fn a_cidr_outside_the_prefix_is_refused() {
        let p = v4(&[("192.0.2.0/24", "w", "mt")]);
        for outside in ["198.51.100.0/24", "192.0.0.0/16", "192.0.3.0/25"] {
            let v = create(&p, outside, "cdn").unwrap_err();
            assert_eq!(
                v,
                Violation::OutsidePrefix {
                    cidr: net(outside),
                    prefix: net("192.0.2.0/24")
                }
            );
        }
        assert_eq!(
            create(&p, "198.51.100.0/24", "cdn")
                .unwrap_err()
                .to_string(),
            "198.51.100.0/24 is not inside prefix 192.0.2.0/24"
        );
    }

    #[test]
    fn cidr_checks_come_in_the_apis_order() {
        // Host bits before family, family before containment, all before the service.
        let p = v4(&[]);
        assert!(matches!(
            create(&p, "2001:db8::1/48", "nope"),
            Err(Violation::HostBits { .. })
        ));
        assert!(matches!(
            create(&p, "2001:db8::/48", "nope"),
            Err(Violation::WrongFamily { .. })
        ));
        assert!(matches!(
            create(&p, "10.0.0.0/8", "nope"),
            Err(Violation::OutsidePrefix { .. })
        ));
        assert_eq!(check_cidr(p.prefix(), net("192.0.2.128/25")), Ok(()));
    }

    #[test]
    fn an_unknown_service_is_refused() {
        let p = v4(&[]);
        let v = create(&p, "192.0.2.0/24", "workers").unwrap_err();
        assert_eq!(
            v,
            Violation::UnknownService {
                service: svc("workers")
            }
        );
        assert_eq!(
            v.to_string(),
            "unknown service_id `workers`: List Services gives the account's services"
        );
    }

    #[test]
    fn the_first_binding_is_the_prefix_wide_one() {
        let p = v4(&[]);
        let v = create(&p, "192.0.2.16/29", "cdn").unwrap_err();
        assert_eq!(
            v,
            Violation::NoPrefixWide {
                prefix: net("192.0.2.0/24")
            }
        );
        assert_eq!(
            v.to_string(),
            "prefix 192.0.2.0/24 has no prefix-wide binding: the first binding of a prefix must be 192.0.2.0/24 itself, then more-specific ones may follow"
        );
        // Allowed: the prefix-wide binding first, with any service.
        for service in ["mt", "cdn", "spectrum"] {
            assert_eq!(create(&p, "192.0.2.0/24", service), Ok(()));
        }
    }

    #[test]
    fn a_mirrored_prefix_without_its_prefix_wide_binding_takes_only_that_one() {
        let p = v4(&[("192.0.2.16/29", "s", "cdn")]);
        assert!(matches!(
            create(&p, "192.0.2.64/26", "cdn"),
            Err(Violation::NoPrefixWide { .. })
        ));
        assert_eq!(create(&p, "192.0.2.0/24", "mt"), Ok(()));
    }

    #[test]
    fn magic_transit_is_bound_prefix_wide_only() {
        let p = v4(&[("192.0.2.0/24", "w", "cdn")]);
        let v = create(&p, "192.0.2.16/29", "mt").unwrap_err();
        assert_eq!(
            v,
            Violation::MagicTransitNotPrefixWide {
                cidr: net("192.0.2.16/29"),
                prefix: net("192.0.2.0/24")
            }
        );
        assert_eq!(
            v.to_string(),
            "Magic Transit can only be bound to the whole prefix 192.0.2.0/24, not to 192.0.2.16/29"
        );
        assert_eq!(create(&p, "192.0.2.16/29", "spectrum"), Ok(()));
        // By name: another id named Magic Transit is Magic Transit too.
        let renamed = Services::new([Service {
            id: svc("other"),
            name: MAGIC_TRANSIT.into(),
        }]);
        assert!(matches!(
            p.check_create(net("192.0.2.16/29"), &svc("other"), &renamed),
            Err(Violation::MagicTransitNotPrefixWide { .. })
        ));
        assert_eq!(
            check_magic_transit(p.prefix(), p.prefix(), true),
            Ok(()),
            "prefix-wide"
        );
    }

    #[test]
    fn a_cidr_is_bound_once() {
        let p = v4(&[("192.0.2.0/24", "w1", "mt"), ("192.0.2.16/29", "s1", "cdn")]);
        let v = create(&p, "192.0.2.0/24", "cdn").unwrap_err();
        assert_eq!(
            v,
            Violation::DuplicateCidr {
                cidr: net("192.0.2.0/24"),
                existing: Some(id("w1"))
            }
        );
        assert_eq!(
            v.to_string(),
            "192.0.2.0/24 already has a binding (`w1`); a binding cannot be changed: delete it, then create the new one"
        );
        // Even with the same service: there is nothing to update.
        assert!(matches!(
            create(&p, "192.0.2.16/29", "cdn"),
            Err(Violation::DuplicateCidr { .. })
        ));
        let unnamed = check_unique(net("192.0.2.16/29"), true).unwrap_err();
        assert_eq!(
            unnamed.to_string(),
            "192.0.2.16/29 already has a binding; a binding cannot be changed: delete it, then create the new one"
        );
        assert_eq!(check_unique(net("192.0.2.16/29"), false), Ok(()));
    }

    #[test]
    fn a_repeated_cidr_is_named_by_its_oldest_binding() {
        let mut p = v4(&[("192.0.2.0/24", "w1", "cdn"), ("192.0.2.0/24", "w2", "cdn")]);
        let existing = |p: &PrefixBindings| match create(p, "192.0.2.0/24", "cdn") {
            Err(Violation::DuplicateCidr { existing, .. }) => existing,
            other => panic!("{other:?}"),
        };
        assert_eq!(existing(&p), Some(id("w1")));
        p.remove(net("192.0.2.0/24"), &id("w1")).unwrap();
        assert_eq!(existing(&p), Some(id("w2")));
    }

    #[test]
    fn more_specific_bindings_are_allowed_under_the_prefix_wide_one() {
        let mut p = v4(&[]);
        let services = services();
        p.create(net("192.0.2.0/24"), entry("w", "mt"), &services)
            .unwrap();
        // Nested at any depth, down to one address, each with another service than its
        // cover's.
        for (cidr, i, service) in [
            ("192.0.2.128/25", "a", "cdn"),
            ("192.0.2.128/26", "b", "spectrum"),
            ("192.0.2.130/32", "c", "cdn"),
            ("192.0.2.0/25", "d", "spectrum"),
        ] {
            p.create(net(cidr), entry(i, service), &services).unwrap();
        }
        assert_eq!(p.len(), 5);
        let cidrs: Vec<String> = p.iter().map(|(c, _)| c.to_string()).collect();
        assert_eq!(
            cidrs,
            [
                "192.0.2.0/24",
                "192.0.2.0/25",
                "192.0.2.128/25",
                "192.0.2.128/26",
                "192.0.2.130/32"
            ]
        );
    }

    #[test]
    fn a_more_specific_binding_of_its_covers_service_is_refused() {
        let p = v4(&[
            ("192.0.2.0/24", "w", "cdn"),
            ("192.0.2.128/25", "a", "spectrum"),
            ("192.0.2.128/27", "b", "cdn"),
        ]);
        // Under the prefix-wide binding.
        let v = create(&p, "192.0.2.16/29", "cdn").unwrap_err();
        assert_eq!(
            v,
            Violation::SameServiceAsCover {
                cidr: net("192.0.2.16/29"),
                cover: net("192.0.2.0/24"),
            }
        );
        assert_eq!(
            v.to_string(),
            "192.0.2.16/29 cannot have the service of 192.0.2.0/24, the binding that covers it: a more-specific binding must send its addresses to another service than its cover"
        );
        // Only the nearest cover counts: CDN under Spectrum under CDN is allowed, Spectrum
        // under Spectrum is not, and a binding beside another of its service is no cover.
        assert_eq!(create(&p, "192.0.2.192/26", "cdn"), Ok(()));
        assert!(matches!(
            create(&p, "192.0.2.192/26", "spectrum"),
            Err(Violation::SameServiceAsCover { cover, .. }) if cover == net("192.0.2.128/25")
        ));
        assert!(matches!(
            create(&p, "192.0.2.130/31", "cdn"),
            Err(Violation::SameServiceAsCover { cover, .. }) if cover == net("192.0.2.128/27")
        ));
        assert_eq!(create(&p, "192.0.2.130/31", "spectrum"), Ok(()));
        assert_eq!(create(&p, "192.0.2.16/29", "spectrum"), Ok(()));
        // A duplicate CIDR is named as such first.
        assert!(matches!(
            create(&p, "192.0.2.128/27", "cdn"),
            Err(Violation::DuplicateCidr { .. })
        ));
        // The single check.
        assert_eq!(
            check_cover_service(net("192.0.2.16/29"), &svc("cdn"), None),
            Ok(())
        );
        assert_eq!(
            check_cover_service(
                net("192.0.2.16/29"),
                &svc("cdn"),
                Some((net("192.0.2.0/24"), &svc("spectrum")))
            ),
            Ok(())
        );
    }

    #[test]
    fn a_cover_bound_twice_refuses_the_service_of_either() {
        let p = v4(&[
            ("192.0.2.0/24", "w", "mt"),
            ("192.0.2.0/25", "a", "cdn"),
            ("192.0.2.0/25", "b", "spectrum"),
        ]);
        for service in ["cdn", "spectrum"] {
            assert!(
                matches!(
                    create(&p, "192.0.2.0/26", service),
                    Err(Violation::SameServiceAsCover { .. })
                ),
                "{service}"
            );
        }
    }

    #[test]
    fn the_covers_of_a_cidr_come_nearest_first() {
        let covers: Vec<String> = covers_of(net("192.0.2.0/24"), net("192.0.2.20/30"))
            .map(|c| c.to_string())
            .collect();
        assert_eq!(
            covers,
            [
                "192.0.2.16/29",
                "192.0.2.16/28",
                "192.0.2.0/27",
                "192.0.2.0/26",
                "192.0.2.0/25",
                "192.0.2.0/24"
            ]
        );
        for none in [
            "192.0.2.0/24",
            "198.51.100.0/30",
            "192.0.0.0/16",
            "2001:db8::/64",
        ] {
            assert_eq!(
                covers_of(net("192.0.2.0/24"), net(none)).count(),
                0,
                "{none}"
            );
        }
        let p = v4(&[("192.0.2.0/24", "w", "mt"), ("192.0.2.16/28", "a", "cdn")]);
        let (cover, mut entries) = p.cover(net("192.0.2.20/30")).unwrap();
        assert_eq!(cover, net("192.0.2.16/28"));
        assert_eq!(entries.next(), Some(&entry("a", "cdn")));
        assert!(p.cover(net("192.0.2.0/24")).is_none());
        assert!(v4(&[]).cover(net("192.0.2.16/28")).is_none());
    }

    #[test]
    fn ipv6_follows_the_same_rules() {
        let mut p = PrefixBindings::new(net("2001:db8:1000::/48"));
        let services = services();
        let create = |p: &PrefixBindings, cidr: &str, service: &str| {
            p.check_create(net(cidr), &svc(service), &services)
        };
        assert!(matches!(
            create(&p, "2001:db8:1000:1::/64", "cdn"),
            Err(Violation::NoPrefixWide { .. })
        ));
        p.create(net("2001:db8:1000::/48"), entry("w", "cdn"), &services)
            .unwrap();
        assert_eq!(create(&p, "2001:db8:1000:1::/64", "spectrum"), Ok(()));
        assert!(matches!(
            create(&p, "2001:db8:1000:1::1/64", "spectrum"),
            Err(Violation::HostBits { .. })
        ));
        assert!(matches!(
            create(&p, "192.0.2.0/24", "cdn"),
            Err(Violation::WrongFamily { .. })
        ));
        assert!(matches!(
            create(&p, "2001:db8:2000::/64", "cdn"),
            Err(Violation::OutsidePrefix { .. })
        ));
        assert!(matches!(
            create(&p, "2001:db8:1000:1::/64", "mt"),
            Err(Violation::MagicTransitNotPrefixWide { .. })
        ));
        assert!(matches!(
            create(&p, "2001:db8:1000:1::/64", "cdn"),
            Err(Violation::SameServiceAsCover { .. })
        ));
    }

    #[test]
    fn the_prefix_wide_binding_goes_last() {
        let mut p = v4(&[
            ("192.0.2.0/24", "w", "mt"),
            ("192.0.2.16/29", "s1", "cdn"),
            ("192.0.2.128/25", "s2", "spectrum"),
        ]);
        let wide = net("192.0.2.0/24");
        let v = p.delete(wide, &id("w")).unwrap_err();
        assert_eq!(
            v,
            Violation::PrefixWideNotLast {
                prefix: wide,
                specific: 2
            }
        );
        assert_eq!(
            v.to_string(),
            "cannot delete the prefix-wide binding 192.0.2.0/24 while 2 more-specific bindings exist; delete them first"
        );
        // A more-specific binding may go at any time.
        assert_eq!(
            p.delete(net("192.0.2.16/29"), &id("s1")),
            Ok(Some(entry("s1", "cdn")))
        );
        assert_eq!(
            p.check_delete(wide).unwrap_err().to_string(),
            "cannot delete the prefix-wide binding 192.0.2.0/24 while 1 more-specific binding exists; delete it first"
        );
        p.delete(net("192.0.2.128/25"), &id("s2")).unwrap();
        assert_eq!(p.delete(wide, &id("w")), Ok(Some(entry("w", "mt"))));
        assert!(p.is_empty());
    }

    #[test]
    fn a_prefix_wide_binding_backed_by_another_may_go() {
        // A mirrored live account may hold two prefix-wide bindings: one may be deleted while
        // the other still covers the more-specific ones, not the second.
        let mut p = v4(&[
            ("192.0.2.0/24", "w1", "cdn"),
            ("192.0.2.0/24", "w2", "cdn"),
            ("192.0.2.0/25", "s", "cdn"),
        ]);
        let wide = net("192.0.2.0/24");
        assert_eq!(p.delete(wide, &id("w1")), Ok(Some(entry("w1", "cdn"))));
        assert!(matches!(
            p.delete(wide, &id("w2")),
            Err(Violation::PrefixWideNotLast { specific: 1, .. })
        ));
    }

    #[test]
    fn deleting_what_is_not_there_is_not_a_violation() {
        let mut p = v4(&[("192.0.2.0/24", "w", "mt"), ("192.0.2.16/29", "s", "cdn")]);
        // No such id; an id under another CIDR than its own; the prefix-wide one by a wrong id.
        assert_eq!(p.delete(net("192.0.2.16/29"), &id("x")), Ok(None));
        assert_eq!(p.delete(net("192.0.2.32/29"), &id("s")), Ok(None));
        assert_eq!(p.delete(net("192.0.2.0/24"), &id("s")), Ok(None));
        assert_eq!(p.len(), 2);
        assert_eq!(p.check_delete(net("192.0.2.64/26")), Ok(()));
    }

    #[test]
    fn a_refused_create_leaves_the_bindings_alone() {
        let mut p = v4(&[]);
        let services = services();
        assert!(
            p.create(net("192.0.2.16/29"), entry("s", "cdn"), &services)
                .is_err()
        );
        assert!(p.is_empty());
        p.create(net("192.0.2.0/24"), entry("w", "cdn"), &services)
            .unwrap();
        assert!(
            p.create(net("192.0.2.0/24"), entry("x", "cdn"), &services)
                .is_err()
        );
        assert_eq!(p.count(net("192.0.2.0/24")), 1);
        assert!(p.has_prefix_wide());
    }

    #[test]
    fn the_single_checks_agree_with_the_create_check() {
        let prefix = net("192.0.2.0/24");
        assert_eq!(check_prefix_wide(prefix, false, false), Ok(()));
        assert_eq!(check_prefix_wide(prefix, true, true), Ok(()));
        assert_eq!(
            check_prefix_wide(prefix, false, true),
            Err(Violation::NoPrefixWide { prefix })
        );
        assert_eq!(check_inside(prefix, prefix), Ok(()));
        assert_eq!(
            check_inside(prefix, net("192.0.2.0/23")),
            Err(Violation::OutsidePrefix {
                cidr: net("192.0.2.0/23"),
                prefix
            })
        );
        assert_eq!(check_family(prefix, net("10.0.0.0/8")), Ok(()));
        assert!(matches!(
            check_inside(prefix, net("2001:db8::/32")),
            Err(Violation::OutsidePrefix { .. })
        ));
        assert!(matches!(
            check_cidr(prefix, net("2001:db8::/32")),
            Err(Violation::WrongFamily { .. })
        ));
    }
}
