//! The planner against the API's rules ([`svcbind::rules`], called directly), for random
//! desired and live states of a prefix with random `ignore` ranges: every step is accepted,
//! the end state is exactly the desired bindings plus the ignored live ones, a second plan is
//! empty, the rehearsal agrees, and the reported impact matches routing before and after. A
//! plan is refused only when ignored bindings really block a change of the prefix-wide binding.

use std::collections::BTreeMap;

use ipnet::IpNet;
use proptest::prelude::*;
use svcbind::model::{
    AccountId, Binding, BindingId, MAGIC_TRANSIT, PrefixId, ProvisioningState, Service, ServiceId,
    Services,
};
use svcbind::plan::rehearse::rehearse;
use svcbind::plan::{Plan, PlanError, PrefixPlan, PrefixState, Step, covers, plan_prefix};
use svcbind::rules::{Entry, PrefixBindings};

const SERVICES: [(&str, &str); 3] = [
    ("mt", MAGIC_TRANSIT),
    ("cdn", "CDN"),
    ("spectrum", "Spectrum"),
];

fn catalog() -> Services {
    Services::new(SERVICES.map(|(id, name)| Service {
        id: service_id(id),
        name: name.to_owned(),
    }))
}

fn service_id(id: &str) -> ServiceId {
    ServiceId::new(id).expect("a catalog id")
}

/// A prefix, nested CIDRs inside it, services for them, and ranges to leave alone.
#[derive(Debug, Clone)]
struct Case {
    prefix: IpNet,
    /// Desired bindings (empty, or the prefix-wide one plus more-specific ones), none inside
    /// an `ignore` range and none with its cover's service (the file's validation refuses
    /// both).
    desired: BTreeMap<IpNet, ServiceId>,
    /// Live bindings, possibly broken: duplicates, no prefix-wide binding, or bindings with
    /// their cover's service.
    live: Vec<(IpNet, ServiceId)>,
    /// `ignore` ranges, more specific than the prefix.
    ignore: Vec<IpNet>,
}

fn prefix_strategy() -> impl Strategy<Value = IpNet> {
    prop_oneof![
        Just("192.0.2.0/24".parse::<IpNet>().unwrap()),
        Just("2001:db8:1000::/48".parse::<IpNet>().unwrap()),
    ]
}

/// A CIDR inside `prefix`, `extra` bits longer.
fn sub_cidr(prefix: IpNet, extra: std::ops::RangeInclusive<u8>) -> impl Strategy<Value = IpNet> {
    (extra, any::<u64>()).prop_map(move |(extra, pick)| {
        let len = prefix.prefix_len() + extra;
        let subnets: Vec<IpNet> = prefix.subnets(len).unwrap().collect();
        subnets[(pick % subnets.len() as u64) as usize]
    })
}

fn specific_service() -> impl Strategy<Value = ServiceId> {
    prop_oneof![Just(service_id("cdn")), Just(service_id("spectrum"))]
}

fn wide_service() -> impl Strategy<Value = ServiceId> {
    prop_oneof![
        Just(service_id("mt")),
        Just(service_id("cdn")),
        Just(service_id("spectrum"))
    ]
}

fn case_strategy() -> impl Strategy<Value = Case> {
    prefix_strategy().prop_flat_map(|prefix| {
        (
            Just(prefix),
            proptest::collection::vec(sub_cidr(prefix, 1..=8), 0..10),
            proptest::collection::vec((any::<bool>(), any::<bool>()), 10),
            proptest::collection::vec(specific_service(), 20),
            wide_service(),
            wide_service(),
            0u8..10,
            proptest::collection::vec(sub_cidr(prefix, 1..=3), 0..3),
        )
            .prop_map(
                |(prefix, cidrs, membership, services, desired_wide, live_wide, shape, ignore)| {
                    let ignored = |cidr: &IpNet| ignore.iter().any(|r| covers(r, cidr));
                    let mut desired = BTreeMap::new();
                    let mut live = Vec::new();
                    // shape 0: desired `bindings: []`; 1: live has no prefix-wide binding
                    // (broken); 2: an empty live prefix; 3: a live duplicate; else ordinary.
                    if shape != 0 {
                        desired.insert(prefix, desired_wide);
                    }
                    if shape != 1 && shape != 2 {
                        live.push((prefix, live_wide));
                    }
                    for (i, cidr) in cidrs.iter().enumerate() {
                        let (in_desired, in_live) = membership[i];
                        if in_desired && shape != 0 && !ignored(cidr) {
                            desired.entry(*cidr).or_insert_with(|| services[i].clone());
                        }
                        if in_live && shape != 2 && !live.iter().any(|(c, _)| c == cidr) {
                            live.push((*cidr, services[10 + i].clone()));
                        }
                    }
                    if shape == 3
                        && let Some(dup) = live.last().cloned()
                    {
                        live.push(dup);
                    }
                    valid_covers(prefix, &mut desired);
                    Case {
                        prefix,
                        desired,
                        live,
                        ignore,
                    }
                },
            )
    })
}

/// Makes `desired` valid under the rule that a more-specific binding's service differs from
/// its cover's: widest first, a binding with its cover's service takes the other one of CDN
/// and Spectrum. (The live bindings keep whatever they drew: a live account may nest a
/// binding under one of its own service.)
fn valid_covers(prefix: IpNet, desired: &mut BTreeMap<IpNet, ServiceId>) {
    let mut cidrs: Vec<IpNet> = desired.keys().copied().filter(|c| *c != prefix).collect();
    cidrs.sort_by_key(|c| c.prefix_len());
    for cidr in cidrs {
        let cover = svcbind::rules::covers_of(prefix, cidr).find_map(|c| desired.get(&c));
        if cover == desired.get(&cidr) {
            let other = if desired[&cidr].as_str() == "cdn" {
                "spectrum"
            } else {
                "cdn"
            };
            desired.insert(cidr, service_id(other));
        }
    }
}

fn prefix_id() -> PrefixId {
    PrefixId::new("2af39739cc4e3b5910c918468bb89828").unwrap()
}

fn binding(id: &BindingId, cidr: IpNet, service: &ServiceId) -> Binding {
    Binding {
        id: id.clone(),
        cidr,
        service_id: service.clone(),
        service_name: None,
        state: ProvisioningState::Active,
    }
}

/// The live bindings of `case`, with ids `live00`, `live01`, …
fn live_of(case: &Case) -> Vec<Binding> {
    case.live
        .iter()
        .enumerate()
        .map(|(i, (cidr, service))| {
            binding(
                &BindingId::new(format!("live{i:02}")).unwrap(),
                *cidr,
                service,
            )
        })
        .collect()
}

fn state_of(case: &Case, live: Vec<Binding>) -> PrefixState {
    PrefixState {
        id: prefix_id(),
        cidr: case.prefix,
        desired: case.desired.clone(),
        ignore: case.ignore.clone(),
        live,
    }
}

/// Whether the plan must be refused: ignored live bindings under a prefix-wide binding that
/// is to be replaced (none of its live bindings has the desired service) or deleted.
fn blocked(case: &Case) -> bool {
    let ignored_inside = case
        .live
        .iter()
        .any(|(c, _)| *c != case.prefix && case.ignore.iter().any(|r| covers(r, c)));
    let live_wide: Vec<&ServiceId> = case
        .live
        .iter()
        .filter(|(c, _)| *c == case.prefix)
        .map(|(_, s)| s)
        .collect();
    let changes_wide = match case.desired.get(&case.prefix) {
        Some(service) => !live_wide.is_empty() && !live_wide.contains(&service),
        None => !live_wide.is_empty(),
    };
    ignored_inside && changes_wide
}

/// Plans `case`, checking that a refusal happens exactly when it must. `None` when refused.
fn plan_case(case: &Case) -> Result<Option<(PrefixState, PrefixPlan)>, TestCaseError> {
    let state = state_of(case, live_of(case));
    match plan_prefix(&state) {
        Ok(plan) => {
            prop_assert!(
                !blocked(case),
                "a blocked case was planned: {:?}",
                plan.steps
            );
            Ok(Some((state, plan)))
        }
        Err(PlanError::IgnoredBlockPrefixWide { .. }) if blocked(case) => Ok(None),
        Err(e) => Err(TestCaseError::fail(format!("refused: {e}"))),
    }
}

/// Routing as (CIDR, service), one service per CIDR: of duplicates, the binding the plan keeps
/// (bound to the desired service), else the lowest id.
fn routing_table<'a>(
    bindings: impl Iterator<Item = &'a Binding>,
    desired: &BTreeMap<IpNet, ServiceId>,
) -> Vec<(IpNet, ServiceId)> {
    let rank = |b: &Binding| (desired.get(&b.cidr) != Some(&b.service_id), b.id.clone());
    let mut by_cidr: BTreeMap<IpNet, &Binding> = BTreeMap::new();
    for b in bindings {
        by_cidr
            .entry(b.cidr)
            .and_modify(|cur| {
                if rank(b) < rank(cur) {
                    *cur = b
                }
            })
            .or_insert(b);
    }
    by_cidr
        .into_iter()
        .map(|(c, b)| (c, b.service_id.clone()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn every_step_is_accepted_and_the_result_is_the_desired_state(case in case_strategy()) {
        let Some((state, plan)) = plan_case(&case)? else { return Ok(()) };
        let services = catalog();

        let mut bindings = PrefixBindings::new(case.prefix);
        for b in &state.live {
            bindings.insert(b.cidr, Entry { id: b.id.clone(), service: b.service_id.clone() });
        }
        for (i, step) in plan.steps.iter().enumerate() {
            let result = match step {
                Step::Create { cidr, service } => {
                    let id = BindingId::new(format!("new{i:02}")).unwrap();
                    bindings.create(*cidr, Entry { id, service: service.clone() }, &services)
                }
                Step::Delete { binding, cidr, .. } => match bindings.delete(*cidr, binding) {
                    Ok(Some(_)) => Ok(()),
                    Ok(None) => {
                        return Err(TestCaseError::fail(format!(
                            "step {} {step:?} deletes a binding that is not there\nplan: {:#?}",
                            i + 1,
                            plan.steps
                        )))
                    }
                    Err(v) => Err(v),
                },
            };
            prop_assert!(
                result.is_ok(),
                "step {} {:?} rejected: {}\nplan: {:#?}",
                i + 1,
                step,
                result.unwrap_err(),
                plan.steps
            );
        }

        // The desired bindings, plus every ignored live one as it was (duplicates included).
        let mut end: Vec<(IpNet, ServiceId)> =
            bindings.iter().map(|(c, e)| (c, e.service.clone())).collect();
        end.sort();
        let mut expected: Vec<(IpNet, ServiceId)> =
            case.desired.iter().map(|(c, s)| (*c, s.clone())).collect();
        expected.extend(
            case.live.iter().filter(|(c, _)| case.ignore.iter().any(|r| covers(r, c))).cloned(),
        );
        expected.sort();
        prop_assert_eq!(&end, &expected);

        // The rehearsal accepts what the rules accepted.
        let whole = Plan { account_id: AccountId::new("acc").unwrap(), prefixes: vec![plan.clone()] };
        prop_assert_eq!(rehearse(&whole, std::slice::from_ref(&state), &services), Ok(()));

        let after: Vec<Binding> =
            bindings.iter().map(|(c, e)| binding(&e.id, c, &e.service)).collect();
        let again = plan_prefix(&state_of(&case, after)).unwrap();
        prop_assert!(again.steps.is_empty(), "second plan not empty: {:?}", again.steps);
        prop_assert!(again.impact.is_empty(), "{:?}", again.impact);
    }

    #[test]
    fn impact_matches_routing_before_and_after(case in case_strategy()) {
        // Every reported range really changes service, and every address whose most specific
        // binding changes service lies in a reported range (checked on each range's edges
        // and on the first and last address of every binding).
        let Some((state, plan)) = plan_case(&case)? else { return Ok(()) };
        let before = routing_table(state.live.iter(), &state.desired);
        let mut after: Vec<(IpNet, ServiceId)> = state.desired.clone().into_iter().collect();
        let ignored = state.live.iter().filter(|b| case.ignore.iter().any(|r| covers(r, &b.cidr)));
        after.extend(routing_table(ignored, &state.desired));
        let route = |table: &[(IpNet, ServiceId)], addr| {
            svcbind::plan::impact::route(table, addr).map(|(_, s)| s.clone())
        };
        for r in &plan.impact {
            for addr in [r.cidr.network(), r.cidr.broadcast()] {
                prop_assert_eq!(route(&before, addr), r.from.clone());
                prop_assert_eq!(route(&after, addr), r.to.clone());
            }
        }
        let probes = before.iter().chain(after.iter()).flat_map(|(c, _)| [c.network(), c.broadcast()]);
        for addr in probes {
            let changed = route(&before, addr) != route(&after, addr);
            let reported = plan.impact.iter().any(|r| r.cidr.contains(&addr));
            prop_assert_eq!(changed, reported, "address {}", addr);
        }
    }
}
