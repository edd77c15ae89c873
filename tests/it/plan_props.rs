//! The planner against the emulator's rules, for random desired and live states of a prefix:
//! every step is accepted, the end state is exactly the desired state, and a second plan is
//! empty.

use std::collections::BTreeMap;
use std::time::Duration;

use ipnet::IpNet;
use proptest::prelude::*;
use svcbind::api::wire::WireBinding;
use svcbind::emulator::{Account, default_services};
use svcbind::model::{
    AccountId, Binding, BindingId, Prefix, PrefixId, ProvisioningState, ServiceId,
};
use svcbind::plan::{PrefixState, Step, plan_prefix};

const ACCOUNT: &str = "023e105f4ecef8ad9ca31a8372d0c353";

fn service_id(name: &str) -> ServiceId {
    default_services()
        .into_iter()
        .find(|s| s.name == name)
        .map(|s| s.id)
        .expect("the default catalog has Magic Transit, CDN and Spectrum")
}

/// A prefix, nested CIDRs inside it, and services for them.
#[derive(Debug, Clone)]
struct Case {
    prefix: IpNet,
    /// Desired bindings (empty, or the prefix-wide one plus more-specific ones).
    desired: BTreeMap<IpNet, String>,
    /// Live bindings, possibly broken: duplicates, or no prefix-wide binding.
    live: Vec<(IpNet, String)>,
}

fn prefix_strategy() -> impl Strategy<Value = IpNet> {
    prop_oneof![
        Just("192.0.2.0/24".parse::<IpNet>().unwrap()),
        Just("2001:db8:1000::/48".parse::<IpNet>().unwrap()),
    ]
}

/// A CIDR inside `prefix`, 1 to 8 bits longer.
fn sub_cidr(prefix: IpNet) -> impl Strategy<Value = IpNet> {
    let max_extra = (prefix.max_prefix_len() - prefix.prefix_len()).min(8);
    (1..=max_extra, any::<u64>()).prop_map(move |(extra, pick)| {
        let len = prefix.prefix_len() + extra;
        let subnets: Vec<IpNet> = prefix.subnets(len).unwrap().collect();
        subnets[(pick % subnets.len() as u64) as usize]
    })
}

fn specific_service() -> impl Strategy<Value = String> {
    prop_oneof![Just("CDN".to_string()), Just("Spectrum".to_string())]
}

fn wide_service() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("Magic Transit".to_string()),
        Just("CDN".to_string()),
        Just("Spectrum".to_string())
    ]
}

fn case_strategy() -> impl Strategy<Value = Case> {
    prefix_strategy().prop_flat_map(|prefix| {
        let cidrs = proptest::collection::vec(sub_cidr(prefix), 0..10);
        (
            Just(prefix),
            cidrs,
            proptest::collection::vec((any::<bool>(), any::<bool>()), 10),
            proptest::collection::vec(specific_service(), 20),
            wide_service(),
            wide_service(),
            0u8..10,
        )
            .prop_map(
                |(prefix, cidrs, membership, services, desired_wide, live_wide, shape)| {
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
                        if in_desired && shape != 0 {
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
                    Case {
                        prefix,
                        desired,
                        live,
                    }
                },
            )
    })
}

fn account_with(case: &Case) -> (Account, PrefixId) {
    let account_id = AccountId::new(ACCOUNT).unwrap();
    let prefix_id = PrefixId::new("2af39739cc4e3b5910c918468bb89828").unwrap();
    let mut account = Account::new(account_id, default_services());
    account
        .add_prefix(Prefix {
            id: prefix_id.clone(),
            cidr: case.prefix,
            description: None,
        })
        .unwrap();
    for (i, (cidr, service)) in case.live.iter().enumerate() {
        account
            .insert_binding(
                &prefix_id,
                Binding {
                    id: BindingId::new(format!("live{i:02}")).unwrap(),
                    cidr: *cidr,
                    service_id: service_id(service),
                    service_name: None,
                    state: ProvisioningState::Active,
                },
            )
            .unwrap();
    }
    (account, prefix_id)
}

fn listing(account: &mut Account, prefix: &PrefixId) -> Vec<Binding> {
    account
        .list_bindings(ACCOUNT, prefix.as_str(), Duration::ZERO)
        .unwrap()
        .into_iter()
        .map(|w: WireBinding| w.into_binding("").unwrap())
        .collect()
}

fn state_of(case: &Case, prefix: &PrefixId, live: Vec<Binding>) -> PrefixState {
    PrefixState {
        id: prefix.clone(),
        cidr: case.prefix,
        desired: case
            .desired
            .iter()
            .map(|(c, s)| (*c, service_id(s)))
            .collect(),
        ignore: Vec::new(),
        live,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn every_step_is_accepted_and_the_result_is_the_desired_state(case in case_strategy()) {
        let (mut account, prefix) = account_with(&case);
        let live = listing(&mut account, &prefix);
        let plan = plan_prefix(&state_of(&case, &prefix, live)).unwrap();

        for (i, step) in plan.steps.iter().enumerate() {
            let result = match step {
                Step::Create { cidr, service } => account
                    .create_binding(ACCOUNT, prefix.as_str(), &cidr.to_string(), service.as_str(), Duration::ZERO)
                    .map(drop),
                Step::Delete { binding, .. } => {
                    account.delete_binding(ACCOUNT, prefix.as_str(), binding.as_str(), Duration::ZERO)
                }
            };
            prop_assert!(result.is_ok(), "step {} {:?} rejected: {:?}\nplan: {:#?}", i + 1, step, result, plan.steps);
        }

        let after = listing(&mut account, &prefix);
        let end: BTreeMap<IpNet, ServiceId> =
            after.iter().map(|b| (b.cidr, b.service_id.clone())).collect();
        prop_assert_eq!(end.len(), after.len(), "duplicate CIDRs remain: {:?}", after);
        let desired: BTreeMap<IpNet, ServiceId> =
            case.desired.iter().map(|(c, s)| (*c, service_id(s))).collect();
        prop_assert_eq!(&end, &desired);

        let again = plan_prefix(&state_of(&case, &prefix, after)).unwrap();
        prop_assert!(again.steps.is_empty(), "second plan not empty: {:?}", again.steps);
        prop_assert!(again.impact.is_empty());
    }

    #[test]
    fn impact_matches_routing_before_and_after(case in case_strategy()) {
        // Every reported range really changes service, and every address whose most specific
        // binding changes service lies in a reported range (checked on each range's edges
        // and on the first and last address of every binding).
        let (mut account, prefix) = account_with(&case);
        let live = listing(&mut account, &prefix);
        let state = state_of(&case, &prefix, live.clone());
        let plan = plan_prefix(&state).unwrap();
        // Of live duplicates, the binding the plan keeps routes: the one already bound to the
        // desired service, else the lowest id.
        let before: Vec<(IpNet, ServiceId)> = {
            let rank = |b: &Binding| (state.desired.get(&b.cidr) != Some(&b.service_id), b.id.clone());
            let mut by_cidr: BTreeMap<IpNet, &Binding> = BTreeMap::new();
            for b in &live {
                by_cidr.entry(b.cidr).and_modify(|cur| if rank(b) < rank(cur) { *cur = b }).or_insert(b);
            }
            by_cidr.into_iter().map(|(c, b)| (c, b.service_id.clone())).collect()
        };
        let after: Vec<(IpNet, ServiceId)> = state.desired.clone().into_iter().collect();
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
