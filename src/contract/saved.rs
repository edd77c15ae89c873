//! A saved plan read back (`svcbind apply PLAN.json`), and what changed in the account since.
//!
//! [`read_plan`] turns a plan document into a [`SavedPlan`]: the [`Plan`] exactly as it was made
//! and reviewed (changes, steps, impact, warnings, notes), with the safety limit and verdict of
//! plan time and the live bindings each changed prefix was planned against. Everything is
//! checked on the way: the version and kind first, then the shape, every id and CIDR (the
//! first problem names its field), the consistency of the parts (fingerprints, safety), and
//! last the document's checksum, so a plan edited after svcbind wrote it is refused.
//!
//! [`staleness`] compares a changed prefix's plan-time bindings with a fresh read and says
//! what changed: bindings added, removed, moved to another service or re-created.

use std::collections::BTreeMap;

use ipnet::IpNet;

use super::plan::{
    ChangeDoc, LiveBindingDoc, NoteDetail, PlanDocument, PrefixDoc, WarningDetail, checksum,
};
use super::{ContractError, Kind, ServiceRef, StepDoc, checked_cidr};
use crate::model::{
    AccountId, Binding, BindingId, PrefixId, ProvisioningState, Service, ServiceId, Services,
};
use crate::plan::impact::Gap;
use crate::plan::{
    BrokenRule, Change, ImpactRange, Note, Plan, PrefixPlan, SafetyLimits, Step, Warning,
    live_fingerprint,
};

/// A plan read back from its document, every id and CIDR checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedPlan {
    /// The plan as it was made and reviewed.
    pub plan: Plan,
    /// The svcbind version that wrote it.
    pub svcbind_version: String,
    /// SHA-256 of the desired-state file the plan was made from, when the document says.
    pub desired_sha256: Option<String>,
    /// The safety limits the plan was made with (`max_deletes`, `max_delete_percent`,
    /// `protect`; a document written before the last two has neither).
    pub limits: SafetyLimits,
    /// Whether apply needed `--force` at plan time (agrees with `plan.safety(&limits)`).
    pub needs_force: bool,
    /// The service names the document gives, by id.
    pub services: Services,
    /// For each prefix of `plan.prefixes`, in the same order: the live bindings it was planned
    /// against, for a prefix with steps; empty for an unchanged prefix.
    pub live: Vec<Vec<Binding>>,
}

impl SavedPlan {
    /// The prefixes with steps, each with the live bindings it was planned against.
    pub fn changed(&self) -> impl Iterator<Item = (&PrefixPlan, &[Binding])> {
        self.plan
            .prefixes
            .iter()
            .zip(&self.live)
            .filter(|(p, _)| !p.is_unchanged())
            .map(|(p, live)| (p, live.as_slice()))
    }
}

/// Reads a plan document written by `svcbind plan --out` (or `plan --format json`).
pub fn read_plan(text: &str) -> Result<SavedPlan, ContractError> {
    let value = super::read_value(text, Kind::Plan)?;
    let doc: PlanDocument = super::from_value(value.clone())?;
    let saved = SavedPlan::try_from(&doc)?;
    if checksum(&value) != doc.checksum {
        return Err(ContractError::Edited);
    }
    Ok(saved)
}

impl TryFrom<&PlanDocument> for SavedPlan {
    type Error = ContractError;

    /// Checks what the types cannot: ids are ids, CIDRs have no host bits and lie inside their
    /// prefix, digests are SHA-256, each fingerprint is that of the live bindings given, every
    /// binding a change names is among them, and the safety verdict is the plan's. The first
    /// problem names its field.
    fn try_from(doc: &PlanDocument) -> Result<Self, ContractError> {
        let account_id = AccountId::new(doc.account_id.as_str())
            .map_err(|e| ContractError::id("account_id", e))?;
        if let Some(digest) = &doc.desired_sha256 {
            check_digest("desired_sha256", digest)?;
        }
        check_digest("checksum", &doc.checksum)?;
        let mut names = Names::default();
        let mut prefixes = Vec::with_capacity(doc.prefixes.len());
        let mut live = Vec::with_capacity(doc.prefixes.len());
        for (i, p) in doc.prefixes.iter().enumerate() {
            let (prefix, bindings) = prefix_from(&format!("prefixes[{i}]"), p, &mut names)?;
            prefixes.push(prefix);
            live.push(bindings);
        }
        let plan = Plan {
            account_id,
            prefixes,
        };
        let protect = doc
            .safety
            .protect
            .iter()
            .enumerate()
            .map(|(i, cidr)| checked_cidr(&format!("safety.protect[{i}]"), *cidr))
            .collect::<Result<_, _>>()?;
        if doc.safety.max_delete_percent.is_some_and(|p| p > 100) {
            return Err(ContractError::field(
                "safety.max_delete_percent",
                "is not a percentage from 0 to 100",
            ));
        }
        let limits = SafetyLimits {
            max_deletes: doc.safety.max_deletes,
            max_delete_percent: doc.safety.max_delete_percent,
            protect,
        };
        let safety = plan.safety(&limits);
        for (i, cidr) in doc.safety.prefix_wide.iter().enumerate() {
            checked_cidr(&format!("safety.prefix_wide[{i}]"), *cidr)?;
        }
        if plan.destructive_count() != doc.safety.destructive
            || safety.prefix_wide != doc.safety.prefix_wide
            || safety.needs_force() != doc.safety.needs_force
        {
            return Err(ContractError::field(
                "safety",
                "does not agree with the plan's changes and warnings",
            ));
        }
        Ok(SavedPlan {
            plan,
            svcbind_version: doc.svcbind_version.clone(),
            desired_sha256: doc.desired_sha256.clone(),
            limits,
            needs_force: doc.safety.needs_force,
            services: names.into_services(),
            live,
        })
    }
}

/// The service names a document gives, collected while reading it.
#[derive(Default)]
struct Names(BTreeMap<ServiceId, String>);

impl Names {
    /// The id of a service reference, remembering its name.
    fn id(&mut self, at: &str, service: &ServiceRef) -> Result<ServiceId, ContractError> {
        let id = ServiceId::new(service.id.as_str())
            .map_err(|e| ContractError::id(format!("{at}.id"), e))?;
        if let Some(name) = &service.name {
            self.0.insert(id.clone(), name.clone());
        }
        Ok(id)
    }

    fn maybe_id(
        &mut self,
        at: &str,
        service: Option<&ServiceRef>,
    ) -> Result<Option<ServiceId>, ContractError> {
        service.map(|s| self.id(at, s)).transpose()
    }

    fn into_services(self) -> Services {
        Services::new(self.0.into_iter().map(|(id, name)| Service { id, name }))
    }
}

fn check_digest(at: &str, digest: &str) -> Result<(), ContractError> {
    let hex = digest.len() == 64
        && digest
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if hex {
        Ok(())
    } else {
        Err(ContractError::field(
            at,
            "not a SHA-256 digest (64 lowercase hex digits)",
        ))
    }
}

/// A CIDR of the prefix `prefix`: no host bits, inside it.
fn inside(at: &str, cidr: IpNet, prefix: IpNet) -> Result<IpNet, ContractError> {
    let cidr = checked_cidr(at, cidr)?;
    if crate::plan::covers(&prefix, &cidr) {
        Ok(cidr)
    } else {
        Err(ContractError::field(
            at,
            format!("`{cidr}` is not inside the prefix `{prefix}`"),
        ))
    }
}

/// One prefix back to a [`PrefixPlan`], with the live bindings it was planned against.
fn prefix_from(
    at: &str,
    p: &PrefixDoc,
    names: &mut Names,
) -> Result<(PrefixPlan, Vec<Binding>), ContractError> {
    let id = PrefixId::new(p.id.as_str()).map_err(|e| ContractError::id(format!("{at}.id"), e))?;
    let cidr = checked_cidr(&format!("{at}.cidr"), p.cidr)?;
    check_digest(&format!("{at}.live_fingerprint"), &p.live_fingerprint)?;
    let steps: Vec<Step> = p
        .steps
        .iter()
        .enumerate()
        .map(|(j, step)| step_from(&format!("{at}.steps[{j}]"), step, cidr, names))
        .collect::<Result<_, _>>()?;
    if p.unchanged != steps.is_empty() {
        return Err(ContractError::field(
            format!("{at}.unchanged"),
            format!(
                "is {} but the prefix has {} steps",
                p.unchanged,
                steps.len()
            ),
        ));
    }
    let live = match &p.live_bindings {
        Some(list) => {
            let live = list
                .iter()
                .enumerate()
                .map(|(j, b)| binding_from(&format!("{at}.live_bindings[{j}]"), b, names))
                .collect::<Result<Vec<_>, _>>()?;
            if live_fingerprint(&live) != p.live_fingerprint {
                return Err(ContractError::field(
                    format!("{at}.live_fingerprint"),
                    format!("is not the fingerprint of `{at}.live_bindings`"),
                ));
            }
            live
        }
        None if steps.is_empty() => Vec::new(),
        None => {
            return Err(ContractError::field(
                format!("{at}.live_bindings"),
                "missing: a prefix with steps needs the live bindings it was planned against",
            ));
        }
    };
    let find = |at: String, id: &str| {
        live.iter()
            .find(|b| b.id.as_str() == id)
            .cloned()
            .ok_or_else(|| {
                ContractError::field(
                    at,
                    format!(
                        "`{}` is not among the prefix's live_bindings",
                        crate::sanitize::text(id)
                    ),
                )
            })
    };
    let mut changes = Vec::with_capacity(p.changes.len());
    for (j, change) in p.changes.iter().enumerate() {
        let at = format!("{at}.changes[{j}]");
        changes.push(match change {
            ChangeDoc::Create { cidr: c, service } => Change::Create {
                cidr: inside(&format!("{at}.cidr"), *c, cidr)?,
                service: names.id(&format!("{at}.service"), service)?,
            },
            ChangeDoc::Replace { binding_id, to, .. } => Change::Replace {
                from: find(format!("{at}.binding_id"), binding_id)?,
                to: names.id(&format!("{at}.to"), to)?,
            },
            ChangeDoc::Delete { binding_id, .. } => Change::Delete {
                binding: find(format!("{at}.binding_id"), binding_id)?,
            },
        });
    }
    let impact = p
        .impact
        .iter()
        .enumerate()
        .map(|(j, r)| {
            let at = format!("{at}.impact[{j}]");
            Ok(ImpactRange {
                cidr: inside(&format!("{at}.cidr"), r.cidr, cidr)?,
                from: names.maybe_id(&format!("{at}.from"), r.from.as_ref())?,
                to: names.maybe_id(&format!("{at}.to"), r.to.as_ref())?,
            })
        })
        .collect::<Result<_, ContractError>>()?;
    let gaps = p
        .gaps
        .iter()
        .enumerate()
        .map(|(j, g)| {
            let at = format!("{at}.gaps[{j}]");
            Ok(Gap {
                cidr: inside(&format!("{at}.cidr"), g.cidr, cidr)?,
                from: names.id(&format!("{at}.from"), &g.from)?,
                to: names.id(&format!("{at}.to"), &g.to)?,
                during: names.maybe_id(&format!("{at}.during"), g.during.as_ref())?,
            })
        })
        .collect::<Result<_, ContractError>>()?;
    let mut warnings = Vec::with_capacity(p.warnings.len());
    for (j, w) in p.warnings.iter().enumerate() {
        let at = format!("{at}.warnings[{j}]");
        if let WarningDetail::BrokenLive {
            service,
            broken,
            ignored,
        } = &w.detail
        {
            // The one warning about a CIDR that may lie outside the prefix.
            let broken = BrokenRule::read(cidr, w.cidr, broken).ok_or_else(|| {
                ContractError::field(
                    format!("{at}.broken"),
                    format!("`{broken}` is not what `{}` breaks in `{cidr}`", w.cidr),
                )
            })?;
            warnings.push(Warning::BrokenLive {
                cidr: w.cidr,
                service: names.id(&format!("{at}.service"), service)?,
                broken,
                ignored: *ignored,
            });
            continue;
        }
        let on = inside(&format!("{at}.cidr"), w.cidr, cidr)?;
        warnings.push(match &w.detail {
            WarningDetail::PrefixWideReplaced { from, to } => Warning::PrefixWideReplaced {
                from: names.id(&format!("{at}.from"), from)?,
                to: names.id(&format!("{at}.to"), to)?,
            },
            WarningDetail::PrefixWideDeleted { service } => Warning::PrefixWideDeleted {
                service: names.id(&format!("{at}.service"), service)?,
            },
            WarningDetail::MissingPrefixWide { repaired } => Warning::MissingPrefixWide {
                repaired: *repaired,
            },
            WarningDetail::DuplicateLive { count, ignored } => Warning::DuplicateLive {
                cidr: on,
                count: *count,
                ignored: *ignored,
            },
            // Read above.
            WarningDetail::BrokenLive { .. } => continue,
        });
    }
    let mut notes = Vec::with_capacity(p.notes.len());
    for (j, n) in p.notes.iter().enumerate() {
        let at = format!("{at}.notes[{j}]");
        let on = inside(&format!("{at}.cidr"), n.cidr, cidr)?;
        notes.push(match &n.detail {
            NoteDetail::NotActive { service, state } => Note::NotActive {
                cidr: on,
                service: names.id(&format!("{at}.service"), service)?,
                state: crate::sanitize::text(state).into_owned(),
            },
        });
    }
    let prefix = PrefixPlan {
        id,
        cidr,
        live_fingerprint: p.live_fingerprint.clone(),
        // Listed for a prefix with steps only: an unchanged prefix has none here, which no
        // safety rule counts.
        live_bindings: live.len(),
        changes,
        steps,
        impact,
        gaps,
        warnings,
        notes,
    };
    Ok((prefix, live))
}

/// A live binding back to a [`Binding`].
fn binding_from(at: &str, b: &LiveBindingDoc, names: &mut Names) -> Result<Binding, ContractError> {
    Ok(Binding {
        id: BindingId::new(b.binding_id.as_str())
            .map_err(|e| ContractError::id(format!("{at}.binding_id"), e))?,
        // As listed: a live binding may break the API's rules (the plan warns about it).
        cidr: b.cidr,
        service_id: names.id(&format!("{at}.service"), &b.service)?,
        service_name: None,
        state: ProvisioningState::from(b.state.as_str()),
    })
}

/// One step back to a [`Step`].
fn step_from(
    at: &str,
    step: &StepDoc,
    prefix: IpNet,
    names: &mut Names,
) -> Result<Step, ContractError> {
    Ok(match step {
        StepDoc::Create { cidr, service } => Step::Create {
            cidr: inside(&format!("{at}.cidr"), *cidr, prefix)?,
            service: names.id(&format!("{at}.service"), service)?,
        },
        StepDoc::Delete {
            cidr,
            binding_id,
            service,
        } => Step::Delete {
            // A live binding's CIDR, which may break the API's rules; the binding id decides.
            cidr: *cidr,
            binding: BindingId::new(binding_id.as_str())
                .map_err(|e| ContractError::id(format!("{at}.binding_id"), e))?,
            service: names.id(&format!("{at}.service"), service)?,
        },
    })
}

/// What changed in one prefix since the plan was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StalePrefix {
    pub id: PrefixId,
    pub cidr: IpNet,
    /// The prefix no longer exists in the account.
    pub gone: bool,
    /// The bindings that changed, by CIDR.
    pub changes: Vec<LiveChange>,
}

/// One binding change since the plan was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveChange {
    /// A binding the plan did not see.
    Added(Binding),
    /// A binding the plan saw is gone.
    Removed(Binding),
    /// The CIDR is now bound to another service (the binding `before`, now `after`).
    Moved {
        cidr: IpNet,
        from: ServiceId,
        to: ServiceId,
        before: BindingId,
        after: BindingId,
    },
    /// The CIDR was deleted and bound again to the same service: the binding the plan's
    /// steps name (`before`) is not the one there now (`after`).
    Recreated {
        cidr: IpNet,
        service: ServiceId,
        before: BindingId,
        after: BindingId,
    },
}

impl LiveChange {
    pub fn cidr(&self) -> IpNet {
        match self {
            LiveChange::Added(b) | LiveChange::Removed(b) => b.cidr,
            LiveChange::Moved { cidr, .. } | LiveChange::Recreated { cidr, .. } => *cidr,
        }
    }
}

/// Compares the live bindings of a changed prefix as planned (`before`) with a fresh read
/// (`now`; `None` when the prefix no longer exists). `None` when nothing that the live
/// fingerprint covers changed (a binding turning `active` is no change).
pub fn staleness(
    prefix: &PrefixPlan,
    before: &[Binding],
    now: Option<&[Binding]>,
) -> Option<StalePrefix> {
    let stale = |gone, changes| StalePrefix {
        id: prefix.id.clone(),
        cidr: prefix.cidr,
        gone,
        changes,
    };
    match now {
        None => Some(stale(true, Vec::new())),
        Some(now) if live_fingerprint(now) == prefix.live_fingerprint => None,
        Some(now) => Some(stale(false, live_changes(before, now))),
    }
}

/// Whether a changed prefix is at the end state of its plan: every binding the plan keeps is
/// there with its id, none it deletes is, and the bindings that are new since are exactly the
/// ones it creates (CIDR and service; their ids are the API's). A plan whose every changed
/// prefix is so was applied already.
pub fn is_applied(prefix: &PrefixPlan, before: &[Binding], now: &[Binding]) -> bool {
    let deleted: Vec<&BindingId> = prefix
        .steps
        .iter()
        .filter_map(|s| match s {
            Step::Delete { binding, .. } => Some(binding),
            Step::Create { .. } => None,
        })
        .collect();
    let mut created: Vec<(IpNet, &ServiceId)> = prefix
        .steps
        .iter()
        .filter_map(|s| match s {
            Step::Create { cidr, service } => Some((*cidr, service)),
            Step::Delete { .. } => None,
        })
        .collect();
    let kept: Vec<&Binding> = before
        .iter()
        .filter(|b| !deleted.contains(&&b.id))
        .collect();
    let all_kept = kept.iter().all(|b| {
        now.iter()
            .any(|n| n.id == b.id && n.cidr == b.cidr && n.service_id == b.service_id)
    });
    let mut new: Vec<(IpNet, &ServiceId)> = now
        .iter()
        .filter(|n| !before.iter().any(|b| b.id == n.id))
        .map(|n| (n.cidr, &n.service_id))
        .collect();
    created.sort();
    new.sort();
    all_kept && new == created && now.len() == kept.len() + created.len()
}

/// The binding changes from `before` to `now`, by CIDR then kind. Per CIDR, bindings with the
/// same id and service are unchanged; of the rest, pairs in id order are moves (another
/// service) or re-creations (same service, another id); what is left was added or removed.
pub fn live_changes(before: &[Binding], now: &[Binding]) -> Vec<LiveChange> {
    let mut by_cidr: BTreeMap<IpNet, (Vec<&Binding>, Vec<&Binding>)> = BTreeMap::new();
    for b in before {
        by_cidr.entry(b.cidr).or_default().0.push(b);
    }
    for b in now {
        by_cidr.entry(b.cidr).or_default().1.push(b);
    }
    let mut changes = Vec::new();
    for (cidr, (mut old, mut new)) in by_cidr {
        let same = |a: &Binding, b: &Binding| a.id == b.id && a.service_id == b.service_id;
        old.retain(|o| !new.iter().any(|n| same(o, n)));
        new.retain(|n| !before.iter().any(|o| o.cidr == cidr && same(o, n)));
        old.sort_by(|a, b| a.id.cmp(&b.id));
        new.sort_by(|a, b| a.id.cmp(&b.id));
        let paired = old.len().min(new.len());
        for (o, n) in old.iter().zip(&new) {
            changes.push(if o.service_id == n.service_id {
                LiveChange::Recreated {
                    cidr,
                    service: n.service_id.clone(),
                    before: o.id.clone(),
                    after: n.id.clone(),
                }
            } else {
                LiveChange::Moved {
                    cidr,
                    from: o.service_id.clone(),
                    to: n.service_id.clone(),
                    before: o.id.clone(),
                    after: n.id.clone(),
                }
            });
        }
        changes.extend(
            old[paired..]
                .iter()
                .map(|b| LiveChange::Removed((*b).clone())),
        );
        changes.extend(
            new[paired..]
                .iter()
                .map(|b| LiveChange::Added((*b).clone())),
        );
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::PrefixState;
    use crate::render::Context;
    use crate::render::json::{Provenance, plan_document};

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn service(s: &str) -> ServiceId {
        ServiceId::new(s).unwrap()
    }

    fn live(id: &str, cidr: &str, svc: &str) -> Binding {
        Binding {
            id: BindingId::new(id).unwrap(),
            cidr: net(cidr),
            service_id: service(svc),
            service_name: None,
            state: ProvisioningState::Active,
        }
    }

    fn services() -> Services {
        Services::new([
            Service {
                id: service("mt"),
                name: "Magic Transit".into(),
            },
            Service {
                id: service("cdn"),
                name: "CDN".into(),
            },
            Service {
                id: service("sp"),
                name: "Spectrum".into(),
            },
        ])
    }

    /// Four prefixes: one create and a replace, no change, one delete of a provisioning
    /// binding, one prefix-wide replace (so the plan needs `--force`).
    fn states() -> Vec<PrefixState> {
        let state =
            |id: &str, cidr: &str, desired: &[(&str, &str)], live: Vec<Binding>| PrefixState {
                id: PrefixId::new(id).unwrap(),
                cidr: net(cidr),
                desired: desired.iter().map(|(c, s)| (net(c), service(s))).collect(),
                ignore: Vec::new(),
                live,
            };
        let mut provisioning = live("b4", "2001:db8:0:1::/64", "sp");
        provisioning.state = ProvisioningState::Provisioning;
        vec![
            state(
                "p0",
                "192.0.2.0/24",
                &[
                    ("192.0.2.0/24", "mt"),
                    ("192.0.2.16/29", "cdn"),
                    ("192.0.2.64/27", "sp"),
                ],
                vec![
                    live("b1", "192.0.2.0/24", "mt"),
                    live("b5", "192.0.2.64/27", "cdn"),
                ],
            ),
            state(
                "p1",
                "198.51.100.0/24",
                &[("198.51.100.0/24", "cdn")],
                vec![live("b2", "198.51.100.0/24", "cdn")],
            ),
            state(
                "p2",
                "2001:db8::/48",
                &[("2001:db8::/48", "cdn")],
                vec![live("b3", "2001:db8::/48", "cdn"), provisioning],
            ),
            state(
                "p3",
                "203.0.113.0/24",
                &[("203.0.113.0/24", "sp")],
                vec![live("b6", "203.0.113.0/24", "cdn")],
            ),
        ]
    }

    fn sample() -> (Plan, Vec<PrefixState>) {
        let states = states();
        let plan = crate::plan::plan(AccountId::new("acc").unwrap(), &states).unwrap();
        (plan, states)
    }

    /// The sample plan as a JSON value, as `svcbind plan --out` writes it.
    fn document() -> (Plan, serde_json::Value) {
        let (plan, states) = sample();
        let services = services();
        let ctx = Context {
            services: &services,
            limits: SafetyLimits::max_deletes(10),
        };
        let from = Provenance {
            desired_sha256: Some(&"d".repeat(64)),
            states: &states,
            skipped: None,
        };
        let value = serde_json::to_value(plan_document(&plan, &ctx, &from)).unwrap();
        (plan, value)
    }

    fn read_value(value: &serde_json::Value) -> Result<SavedPlan, ContractError> {
        read_plan(&value.to_string())
    }

    #[test]
    fn a_plan_round_trips_to_domain_types() {
        let (mut plan, value) = document();
        let saved = read_value(&value).unwrap();
        // Exactly the plan that was made: changes, steps, impact, gaps, warnings, notes. The
        // document lists the live bindings of changed prefixes only, so an unchanged prefix
        // reads back with none (no safety rule counts an unchanged prefix).
        for p in plan.prefixes.iter_mut().filter(|p| p.is_unchanged()) {
            p.live_bindings = 0;
        }
        assert_eq!(saved.plan, plan);
        assert_eq!(saved.svcbind_version, env!("CARGO_PKG_VERSION"));
        assert_eq!(saved.desired_sha256, Some("d".repeat(64)));
        assert_eq!(saved.limits, SafetyLimits::max_deletes(10));
        assert!(saved.needs_force);
        assert!(!saved.plan.prefixes[3].warnings.is_empty());
        assert!(!saved.plan.prefixes[0].gaps.is_empty());
        assert!(!saved.plan.prefixes[2].notes.is_empty());
        // The live bindings of the changed prefixes only.
        let states = states();
        assert_eq!(saved.live[0], states[0].live);
        assert!(saved.live[1].is_empty());
        assert_eq!(saved.live[2], states[2].live);
        let changed: Vec<&IpNet> = saved.changed().map(|(p, _)| &p.cidr).collect();
        assert_eq!(changed.len(), 3);
        // The names the document gives, for showing the plan again.
        assert_eq!(saved.services.name(&service("sp")), Some("Spectrum"));
        assert_eq!(saved.services.name(&service("mt")), Some("Magic Transit"));
    }

    #[test]
    fn a_plan_that_repairs_bindings_breaking_the_rules_round_trips() {
        let mut states = states();
        states[1].live.extend([
            live("b7", "198.51.100.9/29", "cdn"),
            live("b8", "10.0.0.0/8", "cdn"),
            live("b9", "2001:db8:ffff::/48", "sp"),
        ]);
        let plan = crate::plan::plan(AccountId::new("acc").unwrap(), &states).unwrap();
        assert_eq!(plan.prefixes[1].warnings.len(), 3);
        let services = services();
        let ctx = Context {
            services: &services,
            limits: SafetyLimits::max_deletes(10),
        };
        let from = Provenance {
            desired_sha256: None,
            states: &states,
            skipped: None,
        };
        let value = serde_json::to_value(plan_document(&plan, &ctx, &from)).unwrap();
        assert_eq!(value["prefixes"][1]["warnings"][0]["kind"], "broken_live");
        assert_eq!(value["prefixes"][1]["warnings"][1]["broken"], "host_bits");
        let saved = read_value(&value).unwrap();
        assert_eq!(saved.plan, plan);
        assert_eq!(saved.live[1], states[1].live);
    }

    #[test]
    fn the_checksum_ignores_formatting_but_not_content() {
        let (_, value) = document();
        // Pretty, compact: the same plan.
        let pretty = serde_json::to_string_pretty(&value).unwrap();
        assert!(read_plan(&pretty).is_ok());
        // A step taken out, the summary and safety left as they were: still well-formed,
        // but not what svcbind wrote.
        let mut edited = value.clone();
        edited["prefixes"][0]["steps"]
            .as_array_mut()
            .unwrap()
            .remove(0);
        let err = read_value(&edited).unwrap_err();
        assert!(matches!(err, ContractError::Edited), "{err}");
        assert_eq!(
            err.to_string(),
            "the document was changed after svcbind wrote it (its content no longer matches its `checksum`)"
        );
        let mut edited = value;
        edited["notice"] = "nothing to see".into();
        assert!(matches!(read_value(&edited), Err(ContractError::Edited)));
    }

    /// Edits `value` at the JSON pointer `at` and reads it back.
    fn edited(at: &str, new: serde_json::Value) -> String {
        let (_, mut value) = document();
        *value.pointer_mut(at).unwrap_or_else(|| panic!("no {at}")) = new;
        read_value(&value).unwrap_err().to_string()
    }

    #[test]
    fn a_hand_edited_id_is_refused_naming_its_field() {
        assert_eq!(
            edited("/prefixes/2/steps/0/binding_id", "../x".into()),
            "prefixes[2].steps[0].binding_id: invalid binding id `../x`: an id is 1 to 32 letters or digits"
        );
        let long = "a".repeat(33);
        assert_eq!(
            edited("/prefixes/1/id", long.clone().into()),
            format!(
                "prefixes[1].id: invalid prefix id `{long}`: an id is 1 to 32 letters or digits"
            )
        );
        assert_eq!(
            edited("/account_id", "acc/../other".into()),
            "account_id: invalid account id `acc/../other`: an id is 1 to 32 letters or digits"
        );
        assert_eq!(
            edited("/prefixes/0/steps/0/service/id", "".into()),
            "prefixes[0].steps[0].service.id: invalid service id ``: an id is 1 to 32 letters or digits"
        );
        assert_eq!(
            edited("/prefixes/0/changes/1/binding_id", "b9".into()),
            "prefixes[0].changes[1].binding_id: `b9` is not among the prefix's live_bindings"
        );
    }

    #[test]
    fn a_hand_edited_cidr_or_digest_is_refused_naming_its_field() {
        assert_eq!(
            edited("/prefixes/0/steps/0/cidr", "192.0.2.17/29".into()),
            "prefixes[0].steps[0].cidr: `192.0.2.17/29` has host bits set (did you mean `192.0.2.16/29`?)"
        );
        assert_eq!(
            edited("/prefixes/0/steps/0/cidr", "10.0.0.0/8".into()),
            "prefixes[0].steps[0].cidr: `10.0.0.0/8` is not inside the prefix `192.0.2.0/24`"
        );
        assert_eq!(
            edited("/prefixes/2/cidr", "2001:db8::1/48".into()),
            "prefixes[2].cidr: `2001:db8::1/48` has host bits set (did you mean `2001:db8::/48`?)"
        );
        assert_eq!(
            edited("/prefixes/1/live_fingerprint", "abc".into()),
            "prefixes[1].live_fingerprint: not a SHA-256 digest (64 lowercase hex digits)"
        );
        assert_eq!(
            edited("/checksum", "ABC".into()),
            "checksum: not a SHA-256 digest (64 lowercase hex digits)"
        );
        assert_eq!(
            edited("/prefixes/0/live_fingerprint", "0".repeat(64).into()),
            "prefixes[0].live_fingerprint: is not the fingerprint of `prefixes[0].live_bindings`"
        );
        assert_eq!(
            edited("/prefixes/0/live_bindings", serde_json::Value::Null),
            "prefixes[0].live_bindings: missing: a prefix with steps needs the live bindings it was planned against"
        );
        assert_eq!(
            edited("/safety/needs_force", false.into()),
            "safety: does not agree with the plan's changes and warnings"
        );
        let err = edited("/prefixes/1/cidr", "not a cidr".into());
        assert!(err.starts_with("prefixes[1].cidr: "), "{err}");
        let err = edited(
            "/prefixes/0/steps/0",
            serde_json::json!({"action": "create"}),
        );
        assert!(
            err.starts_with("prefixes[0].steps[0]: missing field"),
            "{err}"
        );
    }

    #[test]
    fn a_truncated_document_is_not_json() {
        let (_, value) = document();
        let text = value.to_string();
        let err = read_plan(&text[..text.len() / 2]).unwrap_err();
        assert!(matches!(err, ContractError::Syntax(_)), "{err}");
    }

    #[test]
    fn a_prefix_at_the_end_state_of_its_plan_is_applied() {
        let (plan, states) = sample();
        let prefix = &plan.prefixes[0];
        let before = &states[0].live;
        assert!(!prefix.steps.is_empty());
        // The steps carried out, the API giving the created bindings new ids.
        let mut after: Vec<Binding> = before
            .iter()
            .filter(|b| {
                !prefix
                    .steps
                    .iter()
                    .any(|s| matches!(s, Step::Delete { binding, .. } if *binding == b.id))
            })
            .cloned()
            .collect();
        for (i, step) in prefix.steps.iter().enumerate() {
            if let Step::Create { cidr, service } = step {
                after.push(live(&format!("n{i}"), &cidr.to_string(), service.as_str()));
            }
        }
        assert!(is_applied(prefix, before, &after));
        // Not applied, or only partly: not at the end state.
        assert!(!is_applied(prefix, before, before));
        let mut partly = after.clone();
        partly.pop();
        assert!(!is_applied(prefix, before, &partly));
        // A binding added by hand besides the plan's: not the end state either.
        let mut more = after.clone();
        more.push(live("x1", "192.0.2.240/28", "cdn"));
        assert!(!is_applied(prefix, before, &more));
    }

    #[test]
    fn staleness_names_what_changed_and_ignores_provisioning() {
        let (plan, states) = sample();
        let prefix = &plan.prefixes[0];
        let before = &states[0].live;
        // Nothing changed, or only the state: not stale.
        assert_eq!(staleness(prefix, before, Some(before)), None);
        let mut provisioning = before.clone();
        provisioning[1].state = ProvisioningState::Provisioning;
        assert_eq!(staleness(prefix, before, Some(&provisioning)), None);
        // The prefix is gone.
        let gone = staleness(prefix, before, None).unwrap();
        assert!(gone.gone && gone.changes.is_empty());
        // Added, moved, re-created, removed.
        let now = vec![
            live("b1", "192.0.2.0/24", "mt"),
            live("b7", "192.0.2.64/27", "sp"),
            live("b8", "192.0.2.128/28", "cdn"),
        ];
        let stale = staleness(prefix, before, Some(&now)).unwrap();
        assert!(!stale.gone);
        assert_eq!(
            stale.changes,
            [
                LiveChange::Moved {
                    cidr: net("192.0.2.64/27"),
                    from: service("cdn"),
                    to: service("sp"),
                    before: BindingId::new("b5").unwrap(),
                    after: BindingId::new("b7").unwrap(),
                },
                LiveChange::Added(live("b8", "192.0.2.128/28", "cdn")),
            ]
        );
        let now = vec![live("b9", "192.0.2.0/24", "mt")];
        assert_eq!(
            live_changes(before, &now),
            [
                LiveChange::Recreated {
                    cidr: net("192.0.2.0/24"),
                    service: service("mt"),
                    before: BindingId::new("b1").unwrap(),
                    after: BindingId::new("b9").unwrap(),
                },
                LiveChange::Removed(live("b5", "192.0.2.64/27", "cdn")),
            ]
        );
    }
}
