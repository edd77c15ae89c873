//! The planner: desired bindings plus live bindings in, a [`Plan`] out.
//!
//! Pure by design: no async, no HTTP types, no printing, no clock. [`diff`] finds the logical
//! changes of one prefix, [`order::order_steps`] turns them into API calls in a safe order,
//! [`impact`] says which addresses change service, and [`rehearse`] replays the steps on the
//! API's rules ([`crate::rules`]) before anyone sees the plan. Everything here is
//! deterministic: the same input always yields the same plan. The planner imports `model` and
//! `rules` only: never the emulator, a renderer, the API or the command line.

pub mod drift;
pub mod impact;
pub mod order;
pub mod rehearse;
pub mod routing;

use std::collections::{BTreeMap, BTreeSet};

use ipnet::IpNet;
use sha2::{Digest, Sha256};

use crate::model::{AccountId, Binding, BindingId, PrefixId, ServiceId};

pub use impact::{ImpactRange, Transition};

/// The desired and live state of one managed prefix, resolved to ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixState {
    pub id: PrefixId,
    pub cidr: IpNet,
    /// Desired CIDR → service id (validated: contains `cidr` itself whenever non-empty).
    pub desired: BTreeMap<IpNet, ServiceId>,
    /// Live bindings inside these ranges are left alone.
    pub ignore: Vec<IpNet>,
    /// Every live binding of the prefix, as listed.
    pub live: Vec<Binding>,
}

/// A logical change to one CIDR of a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The CIDR is desired and has no live binding.
    Create { cidr: IpNet, service: ServiceId },
    /// The live binding is not desired (or is a surplus duplicate).
    Delete { binding: Binding },
    /// The CIDR is bound to another service: a delete then a create (there is no update call).
    Replace { from: Binding, to: ServiceId },
}

impl Change {
    pub fn cidr(&self) -> IpNet {
        match self {
            Change::Create { cidr, .. } => *cidr,
            Change::Delete { binding } => binding.cidr,
            Change::Replace { from, .. } => from.cidr,
        }
    }
}

/// One API call of an apply.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Step {
    Create {
        cidr: IpNet,
        service: ServiceId,
    },
    Delete {
        binding: BindingId,
        cidr: IpNet,
        service: ServiceId,
    },
}

impl Step {
    pub fn cidr(&self) -> IpNet {
        match self {
            Step::Create { cidr, .. } | Step::Delete { cidr, .. } => *cidr,
        }
    }
}

/// Something a reviewer must read before approving.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Warning {
    /// The prefix-wide binding changes service: every address of the prefix is disrupted.
    PrefixWideReplaced { from: ServiceId, to: ServiceId },
    /// The prefix-wide binding is deleted (desired `bindings: []`).
    PrefixWideDeleted { service: ServiceId },
    /// The live prefix has more-specific bindings but no prefix-wide one; `repaired` when the
    /// plan creates it.
    MissingPrefixWide { repaired: bool },
    /// Several live bindings share one CIDR: all but one are deleted, unless the CIDR lies
    /// inside an `ignore` range (`ignored`), where they are left alone.
    DuplicateLive {
        cidr: IpNet,
        count: usize,
        ignored: bool,
    },
    /// A live binding breaks the API's own rules for a binding's CIDR (see
    /// [`crate::rules::check_cidr`]): it is deleted first (left alone when `ignored`), and the
    /// traffic impact leaves it out, since which addresses it routes, if any, is unknowable.
    BrokenLive {
        cidr: IpNet,
        service: ServiceId,
        broken: BrokenRule,
        ignored: bool,
    },
}

/// Which of the API's rules for a binding's CIDR a live binding breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum BrokenRule {
    /// Bits are set after the prefix length (`192.0.2.1/28`).
    HostBits,
    /// IPv6 in an IPv4 prefix, or the reverse.
    OtherFamily,
    /// Not inside the prefix.
    OutsidePrefix,
    /// The service of the live binding that most specifically covers it (see
    /// [`crate::rules::check_cover_service`]): it routes exactly like its cover, and the API
    /// would refuse to create it. Unlike the others, its addresses are known.
    SameServiceAsCover,
}

impl BrokenRule {
    /// The rule `cidr` breaks as a binding of `prefix`, if any.
    pub fn of(prefix: IpNet, cidr: IpNet) -> Option<Self> {
        use crate::rules::Violation;
        match crate::rules::check_cidr(prefix, cidr) {
            Ok(()) => None,
            Err(Violation::HostBits { .. }) => Some(Self::HostBits),
            Err(Violation::WrongFamily { .. }) => Some(Self::OtherFamily),
            // `check_cidr` gives no other violation.
            Err(_) => Some(Self::OutsidePrefix),
        }
    }

    /// A stable name for machine-readable output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HostBits => "host_bits",
            Self::OtherFamily => "other_family",
            Self::OutsidePrefix => "outside_prefix",
            Self::SameServiceAsCover => "same_service_as_cover",
        }
    }

    /// The rule named `name` ([`BrokenRule::as_str`]) when `cidr` can break it as a binding of
    /// `prefix`: a rule for a CIDR only when `cidr` breaks exactly it, the cover's service only
    /// when `cidr` is a valid more-specific CIDR (the cover is not in view here).
    pub fn read(prefix: IpNet, cidr: IpNet, name: &str) -> Option<Self> {
        match Self::of(prefix, cidr) {
            Some(broken) => (broken.as_str() == name).then_some(broken),
            None => (name == Self::SameServiceAsCover.as_str() && cidr != prefix)
                .then_some(Self::SameServiceAsCover),
        }
    }

    /// Whether the binding's addresses are unknowable (a rule for its CIDR), so the traffic
    /// impact leaves it out.
    pub fn unroutable(self) -> bool {
        match self {
            Self::HostBits | Self::OtherFamily | Self::OutsidePrefix => true,
            Self::SameServiceAsCover => false,
        }
    }
}

/// The live bindings of `state` that have the service of the live binding that most
/// specifically covers them ([`BrokenRule::SameServiceAsCover`]): where the cover's CIDR has
/// several bindings, any of them with that service counts. Bindings whose CIDR breaks the
/// rules are neither judged nor covers.
pub fn same_service_as_cover(state: &PrefixState) -> BTreeSet<&BindingId> {
    let sound = |b: &&Binding| BrokenRule::of(state.cidr, b.cidr).is_none();
    // (CIDR, service) of every sound binding, sorted: a CIDR's services are one run.
    let mut bound: Vec<(IpNet, &ServiceId)> = Vec::with_capacity(state.live.len());
    // The prefix lengths bound, so a cover is looked for at those alone.
    let mut lens = Lengths::default();
    for b in state.live.iter().filter(sound) {
        bound.push((b.cidr, &b.service_id));
        lens.insert(b.cidr.prefix_len());
    }
    if bound.len() < 2 {
        return BTreeSet::new();
    }
    bound.sort_unstable();
    let services_of = |cidr: IpNet| {
        let from = bound.partition_point(|(c, _)| *c < cidr);
        let run = bound[from..].iter().take_while(move |(c, _)| *c == cidr);
        (from < bound.len() && bound[from].0 == cidr).then_some(run)
    };
    state
        .live
        .iter()
        .filter(sound)
        .filter(|b| {
            crate::rules::covers_at(state.cidr, b.cidr, |len| lens.contains(len))
                .find_map(services_of)
                .is_some_and(|mut run| run.any(|(_, s)| **s == b.service_id))
        })
        .map(|b| &b.id)
        .collect()
}

/// A set of prefix lengths (0 to 128).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Lengths([u64; 3]);

impl Lengths {
    pub(crate) fn insert(&mut self, len: u8) {
        self.0[usize::from(len / 64)] |= 1 << (len % 64);
    }

    pub(crate) fn contains(&self, len: u8) -> bool {
        self.0[usize::from(len / 64)] & (1 << (len % 64)) != 0
    }
}

impl Warning {
    /// A stable name for machine-readable output.
    pub fn kind(&self) -> &'static str {
        match self {
            Warning::PrefixWideReplaced { .. } => "prefix_wide_replaced",
            Warning::PrefixWideDeleted { .. } => "prefix_wide_deleted",
            Warning::MissingPrefixWide { .. } => "missing_prefix_wide",
            Warning::DuplicateLive { .. } => "duplicate_live",
            Warning::BrokenLive { .. } => "broken_live",
        }
    }
}

/// A fact worth showing that is not a risk.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Note {
    /// A live binding is not `active` (still provisioning, or in another state).
    NotActive {
        cidr: IpNet,
        service: ServiceId,
        state: String,
    },
}

impl Note {
    /// A stable name for machine-readable output.
    pub fn kind(&self) -> &'static str {
        match self {
            Note::NotActive { .. } => "not_active",
        }
    }
}

/// The plan for one prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixPlan {
    pub id: PrefixId,
    pub cidr: IpNet,
    /// SHA-256 over the sorted live (CIDR, service id, binding id) list.
    pub live_fingerprint: String,
    /// How many live bindings the prefix has (what `max_delete_percent` is a share of).
    pub live_bindings: usize,
    /// Logical changes, in the order their first step runs.
    pub changes: Vec<Change>,
    /// API calls, in execution order.
    pub steps: Vec<Step>,
    /// Address ranges whose service changes once every step has run.
    pub impact: Vec<ImpactRange>,
    /// Ranges that briefly fall back to another service between a replace's delete and create.
    pub gaps: Vec<impact::Gap>,
    pub warnings: Vec<Warning>,
    pub notes: Vec<Note>,
}

impl PrefixPlan {
    pub fn is_unchanged(&self) -> bool {
        self.steps.is_empty()
    }

    /// Deletes plus replaces: what `max_deletes` counts.
    pub fn destructive_count(&self) -> usize {
        self.changes
            .iter()
            .filter(|c| matches!(c, Change::Delete { .. } | Change::Replace { .. }))
            .count()
    }

    /// Whether the prefix-wide binding is deleted or replaced (refused without `--force`).
    pub fn touches_prefix_wide(&self) -> bool {
        self.warnings.iter().any(|w| {
            matches!(
                w,
                Warning::PrefixWideReplaced { .. } | Warning::PrefixWideDeleted { .. }
            )
        })
    }
}

/// Counts of a plan, for the summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub create: usize,
    pub replace: usize,
    pub delete: usize,
    pub unchanged_prefixes: usize,
    pub changed_prefixes: usize,
    pub steps: usize,
}

impl Summary {
    pub fn has_changes(&self) -> bool {
        self.steps > 0
    }
}

/// The plan for one run over every managed prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub account_id: AccountId,
    /// In the order of the file.
    pub prefixes: Vec<PrefixPlan>,
}

impl Plan {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for p in &self.prefixes {
            if p.is_unchanged() {
                s.unchanged_prefixes += 1;
                continue;
            }
            s.changed_prefixes += 1;
            s.steps += p.steps.len();
            for c in &p.changes {
                match c {
                    Change::Create { .. } => s.create += 1,
                    Change::Replace { .. } => s.replace += 1,
                    Change::Delete { .. } => s.delete += 1,
                }
            }
        }
        s
    }

    /// Deletes plus replaces over all prefixes.
    pub fn destructive_count(&self) -> usize {
        self.prefixes
            .iter()
            .map(PrefixPlan::destructive_count)
            .sum()
    }
}

/// The smallest number of live bindings a prefix must have for `max_delete_percent` to apply.
///
/// Fixed, as octoDNS fixes its `MIN_EXISTING_RECORDS` (also 10): below it, one delete is
/// already 10 % or more, so a percentage would refuse nearly every change of a small prefix
/// and say nothing `max_deletes` does not.
pub const MIN_LIVE_FOR_PERCENT: usize = 10;

/// The limits the safety rules (SPEC §3) apply, as settled from the flags, the file and the
/// defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafetyLimits {
    /// Deletes plus replaces over the whole plan.
    pub max_deletes: u32,
    /// Deletes plus replaces of one prefix, in percent of its live bindings; applied to
    /// prefixes with at least [`MIN_LIVE_FOR_PERCENT`] live bindings.
    pub max_delete_percent: Option<u8>,
    /// Ranges whose addresses may not move to another service.
    pub protect: Vec<IpNet>,
}

impl SafetyLimits {
    /// Only `max_deletes`: no percentage, nothing protected.
    pub fn max_deletes(max_deletes: u32) -> Self {
        Self {
            max_deletes,
            max_delete_percent: None,
            protect: Vec::new(),
        }
    }
}

/// What the safety rules (SPEC §3) say of a plan: apply refuses it without `--force` when
/// any of this is set.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Safety {
    /// Prefixes whose prefix-wide binding is deleted or replaced.
    pub prefix_wide: Vec<IpNet>,
    /// Deletes plus replaces, when they exceed the limit: (count, limit).
    pub too_many_deletes: Option<(usize, u32)>,
    /// Prefixes whose deletes plus replaces exceed `max_delete_percent` of their live
    /// bindings, in plan order.
    pub too_large_share: Vec<DeleteShare>,
    /// The protected ranges the plan moves, each with what moves, in the order of `protect`.
    pub protected: Vec<ProtectedRange>,
}

/// A prefix that loses more than `max_delete_percent` of its live bindings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteShare {
    pub prefix: IpNet,
    /// Deletes plus replaces in the prefix.
    pub destructive: usize,
    /// Live bindings of the prefix.
    pub live: usize,
    /// The limit, in percent.
    pub limit: u8,
}

/// A protected range that the plan moves, and every part of it that moves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedRange {
    pub range: IpNet,
    /// The prefix it lies in.
    pub prefix: IpNet,
    /// What moves, in address order: the lasting moves (the impact) first, then those during
    /// a replace (its gap).
    pub moves: Vec<ProtectedMove>,
}

/// Addresses of a protected range that go to another service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedMove {
    /// The addresses (inside the protected range, or the whole range).
    pub cidr: IpNet,
    /// Their service before the plan; when `transient`, the service of the binding over them
    /// that is replaced.
    pub from: Option<ServiceId>,
    /// Their service after the plan; when `transient`, where they go while it is replaced.
    pub to: Option<ServiceId>,
    /// Only between a replace's delete and its create (the replace's gap), not once the plan
    /// is done.
    pub transient: bool,
}

impl Safety {
    pub fn needs_force(&self) -> bool {
        !self.prefix_wide.is_empty()
            || self.too_many_deletes.is_some()
            || !self.too_large_share.is_empty()
            || !self.protected.is_empty()
    }
}

impl Plan {
    /// Checks the plan against the safety rules with `limits`.
    ///
    /// A protected range is moved when any address of it changes service, for good (the
    /// prefix's impact) or for a while (the gap of a replace, which includes the whole prefix
    /// when the prefix-wide binding is replaced). CIDRs nest or are disjoint, so the part of a
    /// range that moves is the smaller of the range and the moving block.
    pub fn safety(&self, limits: &SafetyLimits) -> Safety {
        let count = self.destructive_count();
        let too_large_share = match limits.max_delete_percent {
            None => Vec::new(),
            Some(limit) => self
                .prefixes
                .iter()
                .filter(|p| p.live_bindings >= MIN_LIVE_FOR_PERCENT)
                .filter(|p| p.destructive_count() * 100 > usize::from(limit) * p.live_bindings)
                .map(|p| DeleteShare {
                    prefix: p.cidr,
                    destructive: p.destructive_count(),
                    live: p.live_bindings,
                    limit,
                })
                .collect(),
        };
        let mut protected = Vec::new();
        for &range in &limits.protect {
            for p in self.prefixes.iter().filter(|p| p.cidr.contains(&range)) {
                let within = |cidr: IpNet| -> Option<IpNet> {
                    if range.contains(&cidr) {
                        Some(cidr)
                    } else if cidr.contains(&range) {
                        Some(range)
                    } else {
                        None
                    }
                };
                let lasting = p.impact.iter().filter_map(|r| {
                    Some(ProtectedMove {
                        cidr: within(r.cidr)?,
                        from: r.from.clone(),
                        to: r.to.clone(),
                        transient: false,
                    })
                });
                let transient = p.gaps.iter().filter_map(|g| {
                    Some(ProtectedMove {
                        cidr: within(g.cidr)?,
                        from: Some(g.from.clone()),
                        to: g.during.clone(),
                        transient: true,
                    })
                });
                let moves: Vec<ProtectedMove> = lasting.chain(transient).collect();
                if !moves.is_empty() {
                    protected.push(ProtectedRange {
                        range,
                        prefix: p.cidr,
                        moves,
                    });
                }
            }
        }
        Safety {
            prefix_wide: self
                .prefixes
                .iter()
                .filter(|p| p.touches_prefix_wide())
                .map(|p| p.cidr)
                .collect(),
            too_many_deletes: (count > limits.max_deletes as usize)
                .then_some((count, limits.max_deletes)),
            too_large_share,
            protected,
        }
    }
}

/// A prefix the planner cannot plan for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(
        "{prefix}: the desired bindings lack the prefix-wide binding {prefix}; every prefix with bindings needs one"
    )]
    MissingDesiredPrefixWide { prefix: IpNet },
    #[error(
        "{prefix}: the prefix-wide binding must be {action}, which needs every more-specific binding removed first, but {} {} inside `ignore` ({}); remove {} from `ignore` or keep the prefix-wide binding",
        ignored.len(),
        if ignored.len() == 1 { "live binding lies" } else { "live bindings lie" },
        list(ignored),
        if ignored.len() == 1 { "its range" } else { "their ranges" }
    )]
    IgnoredBlockPrefixWide {
        prefix: IpNet,
        action: &'static str,
        ignored: Vec<IpNet>,
    },
    #[error(
        "{prefix}: the desired binding {cidr} has service `{service}`, like {cover}, the binding that covers it; the API refuses a more-specific binding of its cover's service: remove {cidr}, or bind it to another service"
    )]
    SameServiceAsCover {
        prefix: IpNet,
        cidr: IpNet,
        cover: IpNet,
        service: ServiceId,
    },
}

fn list(cidrs: &[IpNet]) -> String {
    cidrs
        .iter()
        .map(IpNet::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// SHA-256 over the sorted live (CIDR, service id, binding id) list, hex-encoded.
///
/// Each row is hashed as the CIDR's family, address bytes and prefix length, then the two ids,
/// each ended by a zero byte (ids never contain one). `apply` of a saved plan compares it with
/// a fresh read to detect that the account changed.
pub fn live_fingerprint(live: &[Binding]) -> String {
    let mut rows: Vec<(IpNet, &str, &str)> = live
        .iter()
        .map(|b| (b.cidr, b.service_id.as_str(), b.id.as_str()))
        .collect();
    rows.sort_unstable();
    let mut hasher = Sha256::new();
    for (cidr, service, id) in rows {
        match cidr {
            IpNet::V4(n) => {
                hasher.update([4]);
                hasher.update(n.addr().octets());
            }
            IpNet::V6(n) => {
                hasher.update([6]);
                hasher.update(n.addr().octets());
            }
        }
        hasher.update([cidr.prefix_len()]);
        hasher.update(service.as_bytes());
        hasher.update([0]);
        hasher.update(id.as_bytes());
        hasher.update([0]);
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = hasher.finalize();
    let mut out = String::with_capacity(64);
    for b in digest.iter() {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
    out
}

/// Whether `inner` lies inside (or equals) `outer`.
pub fn covers(outer: &IpNet, inner: &IpNet) -> bool {
    outer.contains(&inner.network()) && outer.prefix_len() <= inner.prefix_len()
}

/// Finds the logical changes of one prefix (SPEC §3):
/// - **create** a CIDR desired and not live; **delete** a CIDR live and not desired, unless it
///   lies inside an `ignore` range;
/// - **replace** a CIDR in both whose service differs;
/// - live duplicates of one CIDR are all deleted but one (the one already bound to the desired
///   service if any, else the active one, else the lowest id).
///
/// Changes come out sorted by CIDR; [`order::order_steps`] decides when each runs.
pub fn diff(state: &PrefixState) -> Vec<Change> {
    // Live bindings by CIDR, the keeper of each CIDR first: bound to the desired service,
    // then active, then by id.
    let mut ranked: Vec<(IpNet, bool, bool, &Binding)> = state
        .live
        .iter()
        .filter(|b| !is_ignored(&state.ignore, &b.cidr))
        .map(|b| {
            let keep_service = state.desired.get(&b.cidr) == Some(&b.service_id);
            (b.cidr, !keep_service, !b.state.is_active(), b)
        })
        .collect();
    ranked.sort_unstable_by(|a, b| (a.0, a.1, a.2, &a.3.id).cmp(&(b.0, b.1, b.2, &b.3.id)));
    let live: Vec<&Binding> = ranked.into_iter().map(|(.., b)| b).collect();

    // Walk the live runs and the desired map together, both sorted by CIDR.
    let mut changes = Vec::new();
    let mut desired = state.desired.iter().peekable();
    let mut live = live.as_slice();
    loop {
        let next_live = live.first().map(|b| b.cidr);
        let next_desired = desired.peek().map(|(c, _)| **c);
        let cidr = match (next_live, next_desired) {
            (Some(l), Some(d)) => l.min(d),
            (Some(c), None) | (None, Some(c)) => c,
            (None, None) => break,
        };
        let run = live.iter().take_while(|b| b.cidr == cidr).count();
        let (same, rest) = live.split_at(run);
        live = rest;
        let wanted = desired.next_if(|(c, _)| **c == cidr).map(|(_, s)| s);
        let mut same = same.iter();
        match (wanted, same.next()) {
            (Some(service), None) => changes.push(Change::Create {
                cidr,
                service: service.clone(),
            }),
            (Some(service), Some(keep)) if keep.service_id != *service => {
                changes.push(Change::Replace {
                    from: (*keep).clone(),
                    to: service.clone(),
                });
            }
            (Some(_), Some(_)) | (None, None) => {}
            (None, Some(first)) => changes.push(Change::Delete {
                binding: (*first).clone(),
            }),
        }
        changes.extend(same.map(|b| Change::Delete {
            binding: (*b).clone(),
        }));
    }
    changes
}

/// The desired bindings have no more-specific binding of its cover's service (rule 8 of
/// [`crate::rules`]): validation checks it by name, this by id, once names are resolved.
fn check_desired_covers(state: &PrefixState) -> Result<(), PlanError> {
    let mut lens = Lengths::default();
    for cidr in state.desired.keys() {
        lens.insert(cidr.prefix_len());
    }
    for (cidr, service) in &state.desired {
        let cover = crate::rules::covers_at(state.cidr, *cidr, |len| lens.contains(len))
            .find_map(|c| state.desired.get_key_value(&c));
        if let Some((cover, theirs)) = cover
            && theirs == service
        {
            return Err(PlanError::SameServiceAsCover {
                prefix: state.cidr,
                cidr: *cidr,
                cover: *cover,
                service: service.clone(),
            });
        }
    }
    Ok(())
}

fn is_ignored(ignore: &[IpNet], cidr: &IpNet) -> bool {
    ignore.iter().any(|range| covers(range, cidr))
}

/// Plans one prefix: changes, ordered steps, impact, warnings and notes.
pub fn plan_prefix(state: &PrefixState) -> Result<PrefixPlan, PlanError> {
    if !state.desired.is_empty() && !state.desired.contains_key(&state.cidr) {
        return Err(PlanError::MissingDesiredPrefixWide { prefix: state.cidr });
    }
    check_desired_covers(state)?;
    let changes = diff(state);
    let same_service = same_service_as_cover(state);
    let ordered = order::order_steps_with(state, &changes, &same_service)?;

    let mut warnings = Vec::new();
    for change in &changes {
        match change {
            Change::Replace { from, to } if from.cidr == state.cidr => {
                warnings.push(Warning::PrefixWideReplaced {
                    from: from.service_id.clone(),
                    to: to.clone(),
                });
            }
            Change::Delete { binding }
                if binding.cidr == state.cidr && !state.desired.contains_key(&state.cidr) =>
            {
                warnings.push(Warning::PrefixWideDeleted {
                    service: binding.service_id.clone(),
                });
            }
            _ => {}
        }
    }
    // Live bindings that break the API's own rules: warned about, deleted first (see
    // `order`), and left out of the routing before and after, since what they route is
    // unknowable.
    let mut sound = std::borrow::Cow::Borrowed(state);
    for b in &state.live {
        if let Some(broken) = BrokenRule::of(state.cidr, b.cidr) {
            warnings.push(Warning::BrokenLive {
                cidr: b.cidr,
                service: b.service_id.clone(),
                broken,
                ignored: is_ignored(&state.ignore, &b.cidr),
            });
        }
    }
    if warnings
        .iter()
        .any(|w| matches!(w, Warning::BrokenLive { .. }))
    {
        sound
            .to_mut()
            .live
            .retain(|b| BrokenRule::of(state.cidr, b.cidr).is_none());
    }
    // Live bindings with their cover's service that the plan deletes (first, see `order`) or
    // leaves alone in an `ignore` range. Those it keeps or replaces are desired, and the
    // plan's other changes give them another cover. They stay in the routing: they route like
    // their cover.
    if !same_service.is_empty() {
        for b in &state.live {
            let deleted = || {
                changes
                    .iter()
                    .any(|c| matches!(c, Change::Delete { binding } if binding.id == b.id))
            };
            let ignored = is_ignored(&state.ignore, &b.cidr);
            if same_service.contains(&b.id) && (ignored || deleted()) {
                warnings.push(Warning::BrokenLive {
                    cidr: b.cidr,
                    service: b.service_id.clone(),
                    broken: BrokenRule::SameServiceAsCover,
                    ignored,
                });
            }
        }
    }
    let has_prefix_wide = state.live.iter().any(|b| b.cidr == state.cidr);
    if !has_prefix_wide && !sound.live.is_empty() {
        warnings.push(Warning::MissingPrefixWide {
            repaired: ordered
                .steps
                .iter()
                .any(|s| matches!(s, Step::Create { cidr, .. } if *cidr == state.cidr)),
        });
    }
    let mut per_cidr: BTreeMap<IpNet, usize> = BTreeMap::new();
    for b in &state.live {
        *per_cidr.entry(b.cidr).or_default() += 1;
    }
    for (cidr, count) in per_cidr {
        if count > 1 {
            warnings.push(Warning::DuplicateLive {
                cidr,
                count,
                ignored: is_ignored(&state.ignore, &cidr),
            });
        }
    }
    warnings.sort();
    warnings.dedup();

    let mut notes: Vec<Note> = state
        .live
        .iter()
        .filter(|b| !b.state.is_active())
        .map(|b| Note::NotActive {
            cidr: b.cidr,
            service: b.service_id.clone(),
            state: crate::sanitize::text(b.state.as_str()).into_owned(),
        })
        .collect();
    notes.sort();

    let impact = impact::impact(&sound);
    let gaps = impact::gaps(&sound, &ordered.steps);

    Ok(PrefixPlan {
        id: state.id.clone(),
        cidr: state.cidr,
        live_fingerprint: live_fingerprint(&state.live),
        live_bindings: state.live.len(),
        changes: ordered.changes,
        steps: ordered.steps,
        impact,
        gaps,
        warnings,
        notes,
    })
}

/// Plans every prefix, keeping their order.
///
/// Prefixes are independent, so a large account (at least [`PARALLEL_CHUNK`] prefixes per
/// core) is planned on every core, each thread taking the next small batch of prefixes until
/// none is left; the result is the same as planning one by one.
pub fn plan(account_id: AccountId, prefixes: &[PrefixState]) -> Result<Plan, PlanError> {
    const BATCH: usize = 16;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let threads = cores.min(prefixes.len() / PARALLEL_CHUNK).max(1);
    let planned = if threads == 1 {
        prefixes
            .iter()
            .map(plan_prefix)
            .collect::<Result<Vec<_>, _>>()?
    } else {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let work = || {
            let mut done = Vec::new();
            loop {
                let start = next.fetch_add(BATCH, std::sync::atomic::Ordering::Relaxed);
                if start >= prefixes.len() {
                    return done;
                }
                let end = (start + BATCH).min(prefixes.len());
                done.extend((start..end).map(|i| (i, plan_prefix(&prefixes[i]))));
            }
        };
        let mut results: Vec<(usize, Result<PrefixPlan, PlanError>)> =
            std::thread::scope(|scope| {
                let handles: Vec<_> = (0..threads).map(|_| scope.spawn(work)).collect();
                handles
                    .into_iter()
                    .flat_map(|h| {
                        h.join()
                            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                    })
                    .collect()
            });
        results.sort_unstable_by_key(|(i, _)| *i);
        results
            .into_iter()
            .map(|(_, r)| r)
            .collect::<Result<Vec<_>, _>>()?
    };
    Ok(Plan {
        account_id,
        prefixes: planned,
    })
}

/// The fewest prefixes worth a thread of their own.
pub const PARALLEL_CHUNK: usize = 64;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::ProvisioningState;

    pub fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    pub fn svc(s: &str) -> ServiceId {
        ServiceId::new(s).unwrap()
    }

    pub fn live(id: &str, cidr: &str, service: &str) -> Binding {
        Binding {
            id: BindingId::new(id).unwrap(),
            cidr: net(cidr),
            service_id: svc(service),
            service_name: None,
            state: ProvisioningState::Active,
        }
    }

    pub fn state(cidr: &str, desired: &[(&str, &str)], live: Vec<Binding>) -> PrefixState {
        PrefixState {
            id: PrefixId::new("p1").unwrap(),
            cidr: net(cidr),
            desired: desired.iter().map(|(c, s)| (net(c), svc(s))).collect(),
            ignore: Vec::new(),
            live,
        }
    }

    #[test]
    fn diff_finds_create_replace_delete() {
        let s = state(
            "192.0.2.0/24",
            &[
                ("192.0.2.0/24", "mt"),
                ("192.0.2.16/29", "cdn"),
                ("192.0.2.64/27", "spectrum"),
            ],
            vec![
                live("b1", "192.0.2.0/24", "mt"),
                live("b2", "192.0.2.64/27", "cdn"),
                live("b3", "192.0.2.200/29", "cdn"),
            ],
        );
        let changes = diff(&s);
        assert_eq!(
            changes,
            vec![
                Change::Create {
                    cidr: net("192.0.2.16/29"),
                    service: svc("cdn")
                },
                Change::Replace {
                    from: live("b2", "192.0.2.64/27", "cdn"),
                    to: svc("spectrum")
                },
                Change::Delete {
                    binding: live("b3", "192.0.2.200/29", "cdn")
                },
            ]
        );
    }

    #[test]
    fn equal_states_have_no_changes() {
        let s = state(
            "192.0.2.0/24",
            &[("192.0.2.0/24", "mt"), ("192.0.2.16/29", "cdn")],
            vec![
                live("b1", "192.0.2.0/24", "mt"),
                live("b2", "192.0.2.16/29", "cdn"),
            ],
        );
        let p = plan_prefix(&s).unwrap();
        assert!(p.is_unchanged());
        assert!(p.changes.is_empty() && p.impact.is_empty() && p.warnings.is_empty());
    }

    #[test]
    fn ignored_live_bindings_are_left_alone() {
        let mut s = state(
            "192.0.2.0/24",
            &[("192.0.2.0/24", "mt")],
            vec![
                live("b1", "192.0.2.0/24", "mt"),
                live("b2", "192.0.2.130/32", "cdn"),
                live("b3", "192.0.2.8/29", "cdn"),
            ],
        );
        s.ignore = vec![net("192.0.2.128/26")];
        assert_eq!(
            diff(&s),
            vec![Change::Delete {
                binding: live("b3", "192.0.2.8/29", "cdn")
            }]
        );
    }

    #[test]
    fn duplicates_keep_the_one_with_the_desired_service() {
        let s = state(
            "192.0.2.0/24",
            &[("192.0.2.0/24", "mt"), ("192.0.2.16/29", "cdn")],
            vec![
                live("b1", "192.0.2.0/24", "mt"),
                live("a9", "192.0.2.16/29", "spectrum"),
                live("b5", "192.0.2.16/29", "cdn"),
            ],
        );
        assert_eq!(
            diff(&s),
            vec![Change::Delete {
                binding: live("a9", "192.0.2.16/29", "spectrum")
            }]
        );
        let p = plan_prefix(&s).unwrap();
        assert_eq!(
            p.warnings,
            vec![Warning::DuplicateLive {
                cidr: net("192.0.2.16/29"),
                count: 2,
                ignored: false
            }]
        );
    }

    #[test]
    fn duplicates_without_the_desired_service_replace_one_and_delete_the_rest() {
        let s = state(
            "192.0.2.0/24",
            &[("192.0.2.0/24", "mt"), ("192.0.2.16/29", "cdn")],
            vec![
                live("b1", "192.0.2.0/24", "mt"),
                live("b7", "192.0.2.16/29", "spectrum"),
                live("b6", "192.0.2.16/29", "spectrum"),
            ],
        );
        assert_eq!(
            diff(&s),
            vec![
                Change::Replace {
                    from: live("b6", "192.0.2.16/29", "spectrum"),
                    to: svc("cdn")
                },
                Change::Delete {
                    binding: live("b7", "192.0.2.16/29", "spectrum")
                },
            ]
        );
    }

    #[test]
    fn fingerprint_ignores_order_and_sees_every_field() {
        let a = vec![
            live("b1", "192.0.2.0/24", "mt"),
            live("b2", "192.0.2.16/29", "cdn"),
        ];
        let mut b = a.clone();
        b.reverse();
        assert_eq!(live_fingerprint(&a), live_fingerprint(&b));
        assert_eq!(live_fingerprint(&a).len(), 64);
        let mut c = a.clone();
        c[1].service_id = svc("spectrum");
        assert_ne!(live_fingerprint(&a), live_fingerprint(&c));
        let mut d = a.clone();
        d[1].id = BindingId::new("b3").unwrap();
        assert_ne!(live_fingerprint(&a), live_fingerprint(&d));
    }

    #[test]
    fn warnings_for_prefix_wide_changes_and_broken_live_state() {
        let s = state(
            "192.0.2.0/24",
            &[("192.0.2.0/24", "cdn")],
            vec![live("b1", "192.0.2.0/24", "mt")],
        );
        let p = plan_prefix(&s).unwrap();
        assert_eq!(
            p.warnings,
            vec![Warning::PrefixWideReplaced {
                from: svc("mt"),
                to: svc("cdn")
            }]
        );
        assert!(p.touches_prefix_wide());

        let s = state("192.0.2.0/24", &[], vec![live("b1", "192.0.2.0/24", "mt")]);
        let p = plan_prefix(&s).unwrap();
        assert_eq!(
            p.warnings,
            vec![Warning::PrefixWideDeleted { service: svc("mt") }]
        );

        let s = state(
            "192.0.2.0/24",
            &[("192.0.2.0/24", "mt")],
            vec![live("b2", "192.0.2.16/29", "cdn")],
        );
        let p = plan_prefix(&s).unwrap();
        assert_eq!(
            p.warnings,
            vec![Warning::MissingPrefixWide { repaired: true }]
        );
        assert!(!p.touches_prefix_wide());
    }

    /// The three bindings of 192.0.2.0/24 that break the API's rules for a CIDR.
    fn broken() -> Vec<Binding> {
        vec![
            live("b3", "192.0.2.33/28", "cdn"),
            live("b4", "198.51.100.0/29", "cdn"),
            live("b5", "2001:db8::/64", "spectrum"),
        ]
    }

    fn step_names(p: &PrefixPlan) -> Vec<String> {
        p.steps
            .iter()
            .map(|s| match s {
                Step::Create { cidr, .. } => format!("create {cidr}"),
                Step::Delete { cidr, .. } => format!("delete {cidr}"),
            })
            .collect()
    }

    fn services() -> crate::model::Services {
        crate::model::Services::new(
            [
                ("mt", crate::model::MAGIC_TRANSIT),
                ("cdn", "CDN"),
                ("spectrum", "Spectrum"),
            ]
            .map(|(id, name)| crate::model::Service {
                id: svc(id),
                name: name.into(),
            }),
        )
    }

    #[test]
    fn live_bindings_that_break_the_rules_are_warned_about_deleted_first_and_left_out_of_the_impact()
     {
        let mut live_bindings = vec![
            live("b1", "192.0.2.0/24", "mt"),
            live("b2", "192.0.2.16/29", "cdn"),
        ];
        live_bindings.extend(broken());
        let s = state(
            "192.0.2.0/24",
            &[("192.0.2.0/24", "mt"), ("192.0.2.128/28", "cdn")],
            live_bindings,
        );
        let p = plan_prefix(&s).unwrap();
        assert_eq!(
            p.warnings,
            [
                Warning::BrokenLive {
                    cidr: net("192.0.2.33/28"),
                    service: svc("cdn"),
                    broken: BrokenRule::HostBits,
                    ignored: false
                },
                Warning::BrokenLive {
                    cidr: net("198.51.100.0/29"),
                    service: svc("cdn"),
                    broken: BrokenRule::OutsidePrefix,
                    ignored: false
                },
                Warning::BrokenLive {
                    cidr: net("2001:db8::/64"),
                    service: svc("spectrum"),
                    broken: BrokenRule::OtherFamily,
                    ignored: false
                },
            ]
        );
        // Deleted first (the repair), then the plan's own order.
        assert_eq!(
            step_names(&p),
            [
                "delete 2001:db8::/64",
                "delete 198.51.100.0/29",
                "delete 192.0.2.33/28",
                "create 192.0.2.128/28",
                "delete 192.0.2.16/29",
            ]
        );
        // The impact is that of the valid bindings alone: the host-bits /28 is not read as
        // 192.0.2.32/28 on CDN.
        assert_eq!(
            p.impact,
            [
                ImpactRange {
                    cidr: net("192.0.2.16/29"),
                    from: Some(svc("cdn")),
                    to: Some(svc("mt")),
                },
                ImpactRange {
                    cidr: net("192.0.2.128/28"),
                    from: Some(svc("mt")),
                    to: Some(svc("cdn")),
                },
            ]
        );
        rehearse::rehearse(
            &Plan {
                account_id: AccountId::new("acc").unwrap(),
                prefixes: vec![p],
            },
            &[s],
            &services(),
        )
        .unwrap();
    }

    #[test]
    fn bindings_that_break_the_rules_go_before_a_prefix_wide_delete_or_replace() {
        for desired in [
            &[][..],
            &[("192.0.2.0/24", "cdn"), ("192.0.2.16/29", "spectrum")][..],
        ] {
            let mut live_bindings = vec![
                live("b1", "192.0.2.0/24", "mt"),
                live("b2", "192.0.2.16/29", "cdn"),
            ];
            live_bindings.extend(broken());
            let s = state("192.0.2.0/24", desired, live_bindings);
            let p = plan_prefix(&s).unwrap();
            let steps = step_names(&p);
            assert_eq!(
                steps[..4],
                [
                    "delete 2001:db8::/64",
                    "delete 198.51.100.0/29",
                    "delete 192.0.2.33/28",
                    "delete 192.0.2.16/29",
                ],
                "{desired:?}"
            );
            assert_eq!(steps[4], "delete 192.0.2.0/24");
            rehearse::rehearse(
                &Plan {
                    account_id: AccountId::new("acc").unwrap(),
                    prefixes: vec![p],
                },
                &[s],
                &services(),
            )
            .unwrap();
        }
    }

    #[test]
    fn a_prefix_of_broken_bindings_alone_does_not_lack_its_prefix_wide_binding() {
        let s = state("192.0.2.0/24", &[("192.0.2.0/24", "mt")], broken());
        let p = plan_prefix(&s).unwrap();
        assert!(
            !p.warnings
                .iter()
                .any(|w| matches!(w, Warning::MissingPrefixWide { .. })),
            "{:?}",
            p.warnings
        );
        assert_eq!(step_names(&p)[3], "create 192.0.2.0/24");
    }

    #[test]
    fn a_broken_rule_is_read_back_only_where_it_can_hold() {
        let prefix = net("192.0.2.0/24");
        for rule in [
            BrokenRule::HostBits,
            BrokenRule::OtherFamily,
            BrokenRule::OutsidePrefix,
            BrokenRule::SameServiceAsCover,
        ] {
            let cidr = match rule {
                BrokenRule::HostBits => net("192.0.2.33/28"),
                BrokenRule::OtherFamily => net("2001:db8::/64"),
                BrokenRule::OutsidePrefix => net("198.51.100.0/29"),
                BrokenRule::SameServiceAsCover => net("192.0.2.32/28"),
            };
            assert_eq!(BrokenRule::read(prefix, cidr, rule.as_str()), Some(rule));
            assert_eq!(rule.unroutable(), rule != BrokenRule::SameServiceAsCover);
        }
        // A CIDR that breaks a rule for CIDRs breaks only that one; the prefix-wide binding
        // has no cover.
        assert_eq!(
            BrokenRule::read(prefix, net("192.0.2.33/28"), "same_service_as_cover"),
            None
        );
        assert_eq!(
            BrokenRule::read(prefix, prefix, "same_service_as_cover"),
            None
        );
        assert_eq!(
            BrokenRule::read(prefix, net("192.0.2.32/28"), "host_bits"),
            None
        );
    }

    #[test]
    fn not_active_bindings_are_noted() {
        let mut b = live("b1", "192.0.2.0/24", "mt");
        b.state = ProvisioningState::Provisioning;
        let s = state("192.0.2.0/24", &[("192.0.2.0/24", "mt")], vec![b]);
        let p = plan_prefix(&s).unwrap();
        assert!(p.is_unchanged());
        assert_eq!(
            p.notes,
            vec![Note::NotActive {
                cidr: net("192.0.2.0/24"),
                service: svc("mt"),
                state: "provisioning".into()
            }]
        );
    }

    #[test]
    fn desired_without_prefix_wide_is_refused() {
        let s = state("192.0.2.0/24", &[("192.0.2.16/29", "cdn")], vec![]);
        assert_eq!(
            plan_prefix(&s).unwrap_err(),
            PlanError::MissingDesiredPrefixWide {
                prefix: net("192.0.2.0/24")
            }
        );
    }

    #[test]
    fn planning_in_parallel_gives_the_plan_of_planning_one_by_one() {
        let states: Vec<PrefixState> = (0..PARALLEL_CHUNK * 3 + 5)
            .map(|i| {
                let mut s = state(
                    &format!("10.{}.{}.0/24", i / 256, i % 256),
                    &[],
                    vec![live(
                        "b1",
                        &format!("10.{}.{}.0/24", i / 256, i % 256),
                        "mt",
                    )],
                );
                if i % 3 == 0 {
                    s.desired.insert(s.cidr, svc("mt"));
                }
                s
            })
            .collect();
        let account = AccountId::new("acc").unwrap();
        let together = plan(account.clone(), &states).unwrap();
        let one_by_one: Vec<PrefixPlan> = states.iter().map(|s| plan_prefix(s).unwrap()).collect();
        assert_eq!(together.prefixes, one_by_one);
        assert_eq!(together.summary().unchanged_prefixes, 66);
    }

    #[test]
    fn summary_counts() {
        let s1 = state(
            "192.0.2.0/24",
            &[("192.0.2.0/24", "mt"), ("192.0.2.16/29", "cdn")],
            vec![
                live("b1", "192.0.2.0/24", "mt"),
                live("b3", "192.0.2.32/29", "cdn"),
            ],
        );
        let s2 = state(
            "198.51.100.0/24",
            &[("198.51.100.0/24", "cdn")],
            vec![live("b9", "198.51.100.0/24", "cdn")],
        );
        let plan = plan(AccountId::new("acc").unwrap(), &[s1, s2]).unwrap();
        let sum = plan.summary();
        assert_eq!(
            (
                sum.create,
                sum.replace,
                sum.delete,
                sum.unchanged_prefixes,
                sum.changed_prefixes,
                sum.steps
            ),
            (1, 0, 1, 1, 1, 2)
        );
        assert_eq!(plan.destructive_count(), 1);
    }

    /// A /24 with its prefix-wide MT binding and `n` CDN /29s, live; desired keeps the first
    /// `n - deleted` of them.
    fn many(n: usize, deleted: usize) -> PrefixState {
        let sub = |i: usize| format!("192.0.2.{}/29", i * 8);
        let mut live_bindings = vec![live("b0", "192.0.2.0/24", "mt")];
        live_bindings.extend((1..=n).map(|i| live(&format!("b{i}"), &sub(i), "cdn")));
        let mut desired = vec![("192.0.2.0/24".to_owned(), "mt")];
        desired.extend((1..=n - deleted).map(|i| (sub(i), "cdn")));
        let desired: Vec<(&str, &str)> = desired.iter().map(|(c, s)| (c.as_str(), *s)).collect();
        state("192.0.2.0/24", &desired, live_bindings)
    }

    fn limits(max_deletes: u32, percent: Option<u8>, protect: &[&str]) -> SafetyLimits {
        SafetyLimits {
            max_deletes,
            max_delete_percent: percent,
            protect: protect.iter().map(|p| net(p)).collect(),
        }
    }

    fn account() -> AccountId {
        AccountId::new("acc").unwrap()
    }

    #[test]
    fn max_delete_percent_counts_a_prefix_from_ten_live_bindings_and_only_above_the_limit() {
        // 10 live bindings (the prefix-wide one and nine /29s), 3 deleted: 30 %.
        let at_limit = plan(account(), &[many(9, 3)]).unwrap();
        assert_eq!(at_limit.prefixes[0].live_bindings, 10);
        let safety = at_limit.safety(&limits(100, Some(30), &[]));
        assert_eq!(safety.too_large_share, []);
        assert!(!safety.needs_force());
        // 4 of 10: 40 %, more than 30.
        let over = plan(account(), &[many(9, 4)]).unwrap();
        let safety = over.safety(&limits(100, Some(30), &[]));
        assert_eq!(
            safety.too_large_share,
            [DeleteShare {
                prefix: net("192.0.2.0/24"),
                destructive: 4,
                live: 10,
                limit: 30
            }]
        );
        assert!(safety.needs_force());
        // Unset, nothing is counted; 0 % refuses any delete.
        assert_eq!(over.safety(&limits(100, None, &[])), Safety::default());
        assert_eq!(
            at_limit
                .safety(&limits(100, Some(0), &[]))
                .too_large_share
                .len(),
            1
        );
        // 9 live bindings, all but the prefix-wide one deleted: below the minimum, so only
        // max_deletes speaks.
        let small = plan(account(), &[many(8, 8)]).unwrap();
        assert_eq!(small.prefixes[0].live_bindings, MIN_LIVE_FOR_PERCENT - 1);
        let safety = small.safety(&limits(100, Some(0), &[]));
        assert!(!safety.needs_force(), "{safety:?}");
        assert_eq!(
            small.safety(&limits(7, Some(0), &[])).too_many_deletes,
            Some((8, 7))
        );
    }

    #[test]
    fn a_protected_range_is_moved_by_any_lasting_change_of_its_addresses() {
        // A new CDN /29 inside the protected /26; an unrelated delete elsewhere.
        let s = state(
            "192.0.2.0/24",
            &[("192.0.2.0/24", "mt"), ("192.0.2.16/29", "cdn")],
            vec![
                live("b1", "192.0.2.0/24", "mt"),
                live("b2", "192.0.2.128/28", "cdn"),
            ],
        );
        let p = plan(account(), &[s]).unwrap();
        let safety = p.safety(&limits(10, None, &["192.0.2.0/26", "192.0.2.192/26"]));
        assert_eq!(
            safety.protected,
            [ProtectedRange {
                range: net("192.0.2.0/26"),
                prefix: net("192.0.2.0/24"),
                moves: vec![ProtectedMove {
                    cidr: net("192.0.2.16/29"),
                    from: Some(svc("mt")),
                    to: Some(svc("cdn")),
                    transient: false,
                }],
            }]
        );
        assert!(safety.needs_force());
        // A protected range inside a moving block moves as a whole; one beside it not at all.
        let safety = p.safety(&limits(10, None, &["192.0.2.20/30", "192.0.2.8/29"]));
        assert_eq!(safety.protected.len(), 1);
        assert_eq!(safety.protected[0].moves[0].cidr, net("192.0.2.20/30"));
        // The delete of 192.0.2.128/28 moves it back to MT.
        let safety = p.safety(&limits(10, None, &["192.0.2.128/25"]));
        assert_eq!(
            safety.protected[0].moves,
            [ProtectedMove {
                cidr: net("192.0.2.128/28"),
                from: Some(svc("cdn")),
                to: Some(svc("mt")),
                transient: false,
            }]
        );
        // Nothing protected, or nothing of it moving: no reason to force.
        assert!(!p.safety(&limits(10, None, &[])).needs_force());
        assert!(
            !p.safety(&limits(10, None, &["192.0.2.64/26"]))
                .needs_force()
        );
        // Another prefix's range is not this prefix's business.
        assert!(
            !p.safety(&limits(10, None, &["198.51.100.0/24"]))
                .needs_force()
        );
    }

    #[test]
    fn a_protected_range_is_moved_by_the_gap_of_a_replace_that_ends_where_it_began() {
        // 192.0.2.16/29 goes CDN → Spectrum: for good, and through MT in between. The /30
        // inside it keeps its own CDN binding throughout: it does not move.
        let s = state(
            "192.0.2.0/24",
            &[
                ("192.0.2.0/24", "mt"),
                ("192.0.2.16/29", "sp"),
                ("192.0.2.20/30", "cdn"),
            ],
            vec![
                live("b1", "192.0.2.0/24", "mt"),
                live("b2", "192.0.2.16/29", "cdn"),
                live("b3", "192.0.2.20/30", "cdn"),
            ],
        );
        let p = plan(account(), &[s]).unwrap();
        let safety = p.safety(&limits(10, None, &["192.0.2.16/30"]));
        assert_eq!(
            safety.protected[0].moves,
            [
                ProtectedMove {
                    cidr: net("192.0.2.16/30"),
                    from: Some(svc("cdn")),
                    to: Some(svc("sp")),
                    transient: false,
                },
                ProtectedMove {
                    cidr: net("192.0.2.16/30"),
                    from: Some(svc("cdn")),
                    to: Some(svc("mt")),
                    transient: true,
                },
            ]
        );
        assert!(
            !p.safety(&limits(10, None, &["192.0.2.20/30"]))
                .needs_force()
        );

        // A prefix-wide replace disrupts every address, even of a range whose service is the
        // same before and after: it is deleted and re-created with the rest.
        let s = state(
            "192.0.2.0/24",
            &[("192.0.2.0/24", "cdn"), ("192.0.2.64/26", "sp")],
            vec![
                live("b1", "192.0.2.0/24", "mt"),
                live("b2", "192.0.2.64/26", "sp"),
            ],
        );
        let p = plan(account(), &[s]).unwrap();
        let safety = p.safety(&limits(10, None, &["192.0.2.64/27"]));
        assert_eq!(
            safety.protected[0].moves,
            [ProtectedMove {
                cidr: net("192.0.2.64/27"),
                from: Some(svc("mt")),
                to: None,
                transient: true,
            }]
        );
        assert_eq!(safety.prefix_wide, [net("192.0.2.0/24")]);
    }
}
