//! Drift: how the live bindings of the managed prefixes differ from the file, classified.
//!
//! Per managed prefix, the findings are the logical changes a plan would make, read the other
//! way round: a binding the plan would create is **missing** (in the file, not live), one it
//! would delete is **unexpected** (live, not in the file), one it would replace is a **service
//! mismatch** (both, another service). So drift and plan never disagree: a prefix in sync is a
//! prefix whose plan is empty.
//!
//! Two kinds of live binding are never drift. One not yet `active` (still provisioning, or in
//! a state such as `magic_transit_route_missing`) is a note: a change in flight, reported with
//! what the file wants for its CIDR. One inside an `ignore` range is listed as ignored. Pure:
//! [`classify`] takes a resolved prefix and returns its drift; no I/O, no clock.

use std::collections::BTreeMap;

use ipnet::IpNet;

use super::{Change, PrefixState, covers, diff};
use crate::model::{AccountId, Binding, Prefix, PrefixId, ServiceId};

/// One difference between the file and the live bindings of a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// In the file, not live: the next apply creates it.
    Missing { cidr: IpNet, service: ServiceId },
    /// Live, not in the file (or a second live binding of a CIDR): the next apply deletes it.
    Unexpected { binding: Binding },
    /// Live and in the file with another service: the next apply replaces it.
    ServiceMismatch {
        binding: Binding,
        desired: ServiceId,
    },
}

impl Finding {
    /// A stable name for machine-readable output: `missing`, `unexpected`, `service_mismatch`.
    pub fn kind(&self) -> &'static str {
        match self {
            Finding::Missing { .. } => "missing",
            Finding::Unexpected { .. } => "unexpected",
            Finding::ServiceMismatch { .. } => "service_mismatch",
        }
    }

    pub fn cidr(&self) -> IpNet {
        match self {
            Finding::Missing { cidr, .. } => *cidr,
            Finding::Unexpected { binding } | Finding::ServiceMismatch { binding, .. } => {
                binding.cidr
            }
        }
    }
}

/// A live binding that is not `active`: never drift, reported with what the file wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotActive {
    pub binding: Binding,
    /// The file's service for the binding's CIDR, if the file has it.
    pub desired: Option<ServiceId>,
}

/// The drift of one managed prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixDrift {
    pub id: PrefixId,
    pub cidr: IpNet,
    /// The file's bindings of the prefix, CIDR → service id.
    pub desired: BTreeMap<IpNet, ServiceId>,
    /// By CIDR.
    pub findings: Vec<Finding>,
    /// Live bindings inside `ignore` ranges, by CIDR.
    pub ignored: Vec<Binding>,
    /// Live bindings, outside `ignore`, that are not `active`, by CIDR.
    pub not_active: Vec<NotActive>,
}

impl PrefixDrift {
    pub fn in_sync(&self) -> bool {
        self.findings.is_empty()
    }

    /// The file's bindings with the live state accepted: missing ones gone, mismatched ones
    /// with their live service, unexpected ones added. By CIDR (a CIDR bound twice live comes
    /// twice).
    pub fn accepted(&self) -> Vec<(IpNet, ServiceId)> {
        let mut out: Vec<(IpNet, ServiceId)> = Vec::with_capacity(self.desired.len());
        let mut skip: BTreeMap<IpNet, Option<&ServiceId>> = BTreeMap::new();
        for f in &self.findings {
            match f {
                Finding::Missing { cidr, .. } => {
                    skip.insert(*cidr, None);
                }
                Finding::ServiceMismatch { binding, .. } => {
                    skip.insert(binding.cidr, Some(&binding.service_id));
                }
                Finding::Unexpected { binding } => {
                    out.push((binding.cidr, binding.service_id.clone()));
                }
            }
        }
        for (cidr, service) in &self.desired {
            match skip.get(cidr) {
                None => out.push((*cidr, service.clone())),
                Some(Some(live)) => out.push((*cidr, (*live).clone())),
                Some(None) => {}
            }
        }
        out.sort();
        out
    }
}

/// Counts of a drift report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DriftSummary {
    pub missing: usize,
    pub unexpected: usize,
    pub service_mismatch: usize,
    pub drifted_prefixes: usize,
    pub in_sync_prefixes: usize,
    /// Live bindings not `active` (notes, not drift).
    pub not_active: usize,
    /// Live bindings inside `ignore` ranges.
    pub ignored: usize,
}

impl DriftSummary {
    pub fn has_drift(&self) -> bool {
        self.drifted_prefixes > 0
    }

    pub fn findings(&self) -> usize {
        self.missing + self.unexpected + self.service_mismatch
    }
}

/// The drift of every managed prefix of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    pub account_id: AccountId,
    /// In the order of the file.
    pub prefixes: Vec<PrefixDrift>,
    /// Live prefixes the file does not list; `None` when the prefix listing was not read
    /// (every managed prefix pins its id, and no call was added to find out).
    pub unmanaged: Option<Vec<Prefix>>,
}

impl Drift {
    pub fn summary(&self) -> DriftSummary {
        let mut s = DriftSummary::default();
        for p in &self.prefixes {
            if p.in_sync() {
                s.in_sync_prefixes += 1;
            } else {
                s.drifted_prefixes += 1;
            }
            s.not_active += p.not_active.len();
            s.ignored += p.ignored.len();
            for f in &p.findings {
                match f {
                    Finding::Missing { .. } => s.missing += 1,
                    Finding::Unexpected { .. } => s.unexpected += 1,
                    Finding::ServiceMismatch { .. } => s.service_mismatch += 1,
                }
            }
        }
        s
    }
}

/// Classifies the drift of one prefix (see the module's doc).
pub fn classify(state: &PrefixState) -> PrefixDrift {
    let ignored_range = |cidr: &IpNet| state.ignore.iter().any(|r| covers(r, cidr));
    let mut findings = Vec::new();
    for change in diff(state) {
        match change {
            Change::Create { cidr, service } => findings.push(Finding::Missing { cidr, service }),
            Change::Delete { binding } if binding.state.is_active() => {
                findings.push(Finding::Unexpected { binding });
            }
            Change::Replace { from, to } if from.state.is_active() => {
                findings.push(Finding::ServiceMismatch {
                    binding: from,
                    desired: to,
                });
            }
            // A change in flight: a note below, never drift.
            Change::Delete { .. } | Change::Replace { .. } => {}
        }
    }
    findings.sort_by_key(Finding::cidr);
    let mut ignored: Vec<Binding> = state
        .live
        .iter()
        .filter(|b| ignored_range(&b.cidr))
        .cloned()
        .collect();
    ignored.sort_by(|a, b| (a.cidr, &a.id).cmp(&(b.cidr, &b.id)));
    let mut not_active: Vec<NotActive> = state
        .live
        .iter()
        .filter(|b| !b.state.is_active() && !ignored_range(&b.cidr))
        .map(|b| NotActive {
            binding: b.clone(),
            desired: state.desired.get(&b.cidr).cloned(),
        })
        .collect();
    not_active
        .sort_by(|a, b| (a.binding.cidr, &a.binding.id).cmp(&(b.binding.cidr, &b.binding.id)));
    PrefixDrift {
        id: state.id.clone(),
        cidr: state.cidr,
        desired: state.desired.clone(),
        findings,
        ignored,
        not_active,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ProvisioningState;
    use crate::plan::plan_prefix;
    use crate::plan::tests::{live, net, state, svc};

    fn kinds(d: &PrefixDrift) -> Vec<(String, &'static str)> {
        d.findings
            .iter()
            .map(|f| (f.cidr().to_string(), f.kind()))
            .collect()
    }

    fn provisioning(mut b: Binding) -> Binding {
        b.state = ProvisioningState::Provisioning;
        b
    }

    #[test]
    fn each_class_of_finding() {
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
        let d = classify(&s);
        assert_eq!(
            kinds(&d),
            [
                ("192.0.2.16/29".to_owned(), "missing"),
                ("192.0.2.64/27".to_owned(), "service_mismatch"),
                ("192.0.2.200/29".to_owned(), "unexpected"),
            ]
        );
        assert_eq!(
            d.findings[1],
            Finding::ServiceMismatch {
                binding: live("b2", "192.0.2.64/27", "cdn"),
                desired: svc("spectrum")
            }
        );
        assert!(!d.in_sync());
        // Accepting the live state gives the live bindings.
        assert_eq!(
            d.accepted(),
            [
                (net("192.0.2.0/24"), svc("mt")),
                (net("192.0.2.64/27"), svc("cdn")),
                (net("192.0.2.200/29"), svc("cdn")),
            ]
        );
    }

    #[test]
    fn in_sync_means_the_plan_is_empty() {
        let s = state(
            "192.0.2.0/24",
            &[("192.0.2.0/24", "mt"), ("192.0.2.16/29", "cdn")],
            vec![
                live("b2", "192.0.2.16/29", "cdn"),
                live("b1", "192.0.2.0/24", "mt"),
            ],
        );
        assert!(classify(&s).in_sync());
        assert!(plan_prefix(&s).unwrap().is_unchanged());
    }

    #[test]
    fn bindings_not_active_are_notes_never_drift() {
        // Provisioning: not in the file, another service than the file's, or as in the file.
        let s = state(
            "2001:db8::/48",
            &[("2001:db8::/48", "cdn"), ("2001:db8:0:10::/64", "spectrum")],
            vec![
                live("b1", "2001:db8::/48", "cdn"),
                provisioning(live("b2", "2001:db8:0:10::/64", "cdn")),
                provisioning(live("b3", "2001:db8:0:20::/64", "spectrum")),
            ],
        );
        let d = classify(&s);
        assert!(d.in_sync(), "{:?}", d.findings);
        assert_eq!(
            d.not_active
                .iter()
                .map(|n| (n.binding.cidr.to_string(), n.desired.clone()))
                .collect::<Vec<_>>(),
            [
                ("2001:db8:0:10::/64".to_owned(), Some(svc("spectrum"))),
                ("2001:db8:0:20::/64".to_owned(), None),
            ]
        );
        let mut route_missing = live("b4", "2001:db8::/48", "cdn");
        route_missing.state = ProvisioningState::MagicTransitRouteMissing;
        let s = state("2001:db8::/48", &[], vec![route_missing]);
        assert!(classify(&s).in_sync());
    }

    #[test]
    fn ignored_ranges_are_listed_not_drift() {
        let mut s = state(
            "192.0.2.0/24",
            &[("192.0.2.0/24", "mt")],
            vec![
                live("b1", "192.0.2.0/24", "mt"),
                live("b2", "192.0.2.130/32", "cdn"),
                provisioning(live("b3", "192.0.2.140/32", "cdn")),
            ],
        );
        s.ignore = vec![net("192.0.2.128/26")];
        let d = classify(&s);
        assert!(d.in_sync());
        assert_eq!(d.ignored.len(), 2);
        // Inside `ignore` a binding is ignored, not a note.
        assert!(d.not_active.is_empty());
    }

    #[test]
    fn a_second_live_binding_of_a_cidr_is_unexpected() {
        let s = state(
            "192.0.2.0/24",
            &[("192.0.2.0/24", "mt"), ("192.0.2.16/29", "cdn")],
            vec![
                live("b1", "192.0.2.0/24", "mt"),
                live("b2", "192.0.2.16/29", "cdn"),
                live("b3", "192.0.2.16/29", "spectrum"),
            ],
        );
        let d = classify(&s);
        assert_eq!(
            d.findings,
            [Finding::Unexpected {
                binding: live("b3", "192.0.2.16/29", "spectrum")
            }]
        );
        assert_eq!(d.accepted().len(), 3);
    }

    #[test]
    fn the_summary_counts_findings_and_prefixes() {
        let drifted = state(
            "192.0.2.0/24",
            &[("192.0.2.0/24", "mt"), ("192.0.2.16/29", "cdn")],
            vec![live("b1", "192.0.2.0/24", "cdn")],
        );
        let synced = state(
            "198.51.100.0/24",
            &[("198.51.100.0/24", "cdn")],
            vec![live("b9", "198.51.100.0/24", "cdn")],
        );
        let drift = Drift {
            account_id: AccountId::new("acc").unwrap(),
            prefixes: vec![classify(&drifted), classify(&synced)],
            unmanaged: None,
        };
        let s = drift.summary();
        assert_eq!(
            (
                s.missing,
                s.unexpected,
                s.service_mismatch,
                s.drifted_prefixes,
                s.in_sync_prefixes
            ),
            (1, 0, 1, 1, 1)
        );
        assert!(s.has_drift());
        assert_eq!(s.findings(), 2);
    }
}
