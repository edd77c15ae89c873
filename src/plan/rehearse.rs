//! Rehearsal: before a plan is shown or saved, its steps are replayed on the API's rules
//! ([`crate::rules`]), starting from the live state just read.
//!
//! Each prefix's live bindings go into a [`PrefixBindings`] exactly as listed (duplicates and a
//! missing prefix-wide binding included: nothing is dropped), then every step runs through
//! the rules' create or delete check. A step the rules would refuse, a delete of a binding that
//! is not there, or an end state other than the desired bindings plus the ignored live ones, is
//! a bug in svcbind: the command fails with an internal error instead of showing a plan that
//! cannot be applied. [`RehearsalError`] carries the prefix, the step and the typed reason;
//! its message names services by id, and the command layer may word it with their names.
//! In memory only; no I/O, no catalog beyond the one given.

use std::collections::HashMap;
use std::fmt;

use ipnet::IpNet;

use super::{Plan, PrefixState, Step, covers};
use crate::model::{BindingId, PrefixId, ServiceId, Services};
use crate::rules::{Entry, PrefixBindings, Violation};

/// Why a rehearsal failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RehearsalError {
    /// The rules refuse step `number` (from 1) of the prefix's plan.
    #[error(
        "{prefix}: step {number} ({}) would be rejected: {violation}",
        StepText(step)
    )]
    Rejected {
        prefix: IpNet,
        number: u32,
        step: Step,
        violation: Violation,
    },
    /// Step `number` deletes a binding the prefix does not have (the API would answer 404).
    #[error(
        "{prefix}: step {number} ({}) deletes a binding the prefix does not have",
        StepText(step)
    )]
    UnknownBinding {
        prefix: IpNet,
        number: u32,
        step: Step,
    },
    /// After every step, the bindings (CIDR, service id; sorted) are not the expected ones.
    #[error(
        "{prefix}: after every step the bindings would be {}, not {}",
        Bindings(actual),
        Bindings(expected)
    )]
    WrongEndState {
        prefix: IpNet,
        expected: Vec<(IpNet, ServiceId)>,
        actual: Vec<(IpNet, ServiceId)>,
    },
    /// The plan has a prefix (id and CIDR) whose live state was not given.
    #[error("{prefix}: the plan has prefix id `{id}`, whose live bindings were not read")]
    NoLiveState { prefix: IpNet, id: PrefixId },
}

/// Replays every step of `plan` on the rules, starting from the live `states`, with the
/// account's catalog `services`; then compares each prefix's end state with the desired one.
pub fn rehearse(
    plan: &Plan,
    states: &[PrefixState],
    services: &Services,
) -> Result<(), RehearsalError> {
    let by_id: HashMap<(&PrefixId, IpNet), &PrefixState> =
        states.iter().map(|s| ((&s.id, s.cidr), s)).collect();
    // Bindings the plan creates have no id until the API answers; these stand in for them.
    let mut created = 0u64;
    for prefix in &plan.prefixes {
        let state =
            by_id
                .get(&(&prefix.id, prefix.cidr))
                .ok_or_else(|| RehearsalError::NoLiveState {
                    prefix: prefix.cidr,
                    id: prefix.id.clone(),
                })?;
        let mut bindings = PrefixBindings::new(prefix.cidr);
        for b in &state.live {
            bindings.insert(
                b.cidr,
                Entry {
                    id: b.id.clone(),
                    service: b.service_id.clone(),
                },
            );
        }
        for (number, step) in (1..).zip(&prefix.steps) {
            let rejected = |violation| RehearsalError::Rejected {
                prefix: prefix.cidr,
                number,
                step: step.clone(),
                violation,
            };
            match step {
                Step::Create { cidr, service } => {
                    created += 1;
                    let entry = Entry {
                        id: stand_in_id(created),
                        service: service.clone(),
                    };
                    bindings.create(*cidr, entry, services).map_err(rejected)?;
                }
                Step::Delete { binding, cidr, .. } => {
                    if bindings.delete(*cidr, binding).map_err(rejected)?.is_none() {
                        return Err(RehearsalError::UnknownBinding {
                            prefix: prefix.cidr,
                            number,
                            step: step.clone(),
                        });
                    }
                }
            }
        }
        // Compared as sorted lists, so a duplicate left behind is seen.
        let mut actual: Vec<(IpNet, ServiceId)> = bindings
            .iter()
            .map(|(cidr, entry)| (cidr, entry.service.clone()))
            .collect();
        actual.sort();
        let expected = expected_end_state(state);
        if actual != expected {
            return Err(RehearsalError::WrongEndState {
                prefix: prefix.cidr,
                expected,
                actual,
            });
        }
    }
    Ok(())
}

/// The id a binding created in a rehearsal stands in with: `planned1`, `planned2`, …
fn stand_in_id(n: u64) -> BindingId {
    BindingId::new(format!("planned{n}")).expect("`planned` and a number is a valid id")
}

/// The desired bindings plus every ignored live one (duplicates included), sorted.
pub fn expected_end_state(state: &PrefixState) -> Vec<(IpNet, ServiceId)> {
    let mut expected: Vec<(IpNet, ServiceId)> =
        state.desired.iter().map(|(c, s)| (*c, s.clone())).collect();
    expected.extend(
        state
            .live
            .iter()
            .filter(|b| state.ignore.iter().any(|r| covers(r, &b.cidr)))
            .map(|b| (b.cidr, b.service_id.clone())),
    );
    expected.sort();
    expected
}

/// A step as a message names it, by service id: `create 192.0.2.0/24 → <id>`,
/// `delete 192.0.2.16/29 (<id>, binding <id>)`.
struct StepText<'a>(&'a Step);

impl fmt::Display for StepText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Step::Create { cidr, service } => write!(f, "create {cidr} → {service}"),
            Step::Delete {
                binding,
                cidr,
                service,
            } => write!(f, "delete {cidr} ({service}, binding {binding})"),
        }
    }
}

/// Bindings as a message lists them: `192.0.2.0/24 → <id>, …`, or `none`.
struct Bindings<'a>(&'a [(IpNet, ServiceId)]);

impl fmt::Display for Bindings<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("none");
        }
        for (i, (cidr, service)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{cidr} → {service}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AccountId, MAGIC_TRANSIT, Service};
    use crate::plan::tests::{live, net, state, svc};
    use crate::plan::{PrefixPlan, plan};

    fn services() -> Services {
        Services::new(
            [
                ("mt", MAGIC_TRANSIT),
                ("cdn", "CDN"),
                ("spectrum", "Spectrum"),
            ]
            .map(|(id, name)| Service {
                id: svc(id),
                name: name.into(),
            }),
        )
    }

    fn account() -> AccountId {
        AccountId::new("acc").unwrap()
    }

    /// The plan of `states`, with its steps replaced by `steps` in the first prefix.
    fn with_steps(states: &[PrefixState], steps: Vec<Step>) -> Plan {
        let mut p = plan(account(), states).unwrap();
        p.prefixes[0].steps = steps;
        p
    }

    fn create(cidr: &str, service: &str) -> Step {
        Step::Create {
            cidr: net(cidr),
            service: svc(service),
        }
    }

    fn delete(binding: &str, cidr: &str, service: &str) -> Step {
        Step::Delete {
            binding: BindingId::new(binding).unwrap(),
            cidr: net(cidr),
            service: svc(service),
        }
    }

    #[test]
    fn a_plan_of_the_planner_rehearses_cleanly() {
        let mut s = state(
            "192.0.2.0/24",
            &[("192.0.2.0/24", "mt"), ("192.0.2.16/29", "spectrum")],
            vec![
                live("b1", "192.0.2.0/24", "mt"),
                live("b2", "192.0.2.16/29", "cdn"),
                live("b3", "192.0.2.16/29", "cdn"),
                live("b4", "192.0.2.130/32", "cdn"),
                live("b5", "192.0.2.200/29", "cdn"),
            ],
        );
        s.ignore = vec![net("192.0.2.200/29")];
        let mut s2 = state("198.51.100.0/24", &[("198.51.100.0/24", "mt")], vec![]);
        s2.id = PrefixId::new("p2").unwrap();
        let states = [s, s2];
        let p = plan(account(), &states).unwrap();
        assert!(!p.prefixes[0].steps.is_empty());
        assert_eq!(rehearse(&p, &states, &services()), Ok(()));
    }

    #[test]
    fn a_step_the_rules_refuse_names_its_number_and_violation() {
        let states = [state(
            "192.0.2.0/24",
            &[("192.0.2.0/24", "mt"), ("192.0.2.16/29", "cdn")],
            vec![],
        )];
        let p = with_steps(
            &states,
            vec![create("192.0.2.16/29", "cdn"), create("192.0.2.0/24", "mt")],
        );
        let err = rehearse(&p, &states, &services()).unwrap_err();
        assert_eq!(
            err,
            RehearsalError::Rejected {
                prefix: net("192.0.2.0/24"),
                number: 1,
                step: create("192.0.2.16/29", "cdn"),
                violation: Violation::NoPrefixWide {
                    prefix: net("192.0.2.0/24")
                },
            }
        );
        assert_eq!(
            err.to_string(),
            "192.0.2.0/24: step 1 (create 192.0.2.16/29 → cdn) would be rejected: prefix 192.0.2.0/24 has no prefix-wide binding: the first binding of a prefix must be 192.0.2.0/24 itself, then more-specific ones may follow"
        );
    }

    #[test]
    fn deleting_the_prefix_wide_binding_first_is_refused() {
        let states = [state(
            "192.0.2.0/24",
            &[],
            vec![
                live("b1", "192.0.2.0/24", "mt"),
                live("b2", "192.0.2.16/29", "cdn"),
            ],
        )];
        let p = with_steps(
            &states,
            vec![
                delete("b1", "192.0.2.0/24", "mt"),
                delete("b2", "192.0.2.16/29", "cdn"),
            ],
        );
        let err = rehearse(&p, &states, &services()).unwrap_err();
        assert!(
            matches!(
                &err,
                RehearsalError::Rejected {
                    number: 1,
                    violation: Violation::PrefixWideNotLast { specific: 1, .. },
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .starts_with("192.0.2.0/24: step 1 (delete 192.0.2.0/24 (mt, binding b1)) would be rejected: cannot delete"),
            "{err}"
        );
    }

    #[test]
    fn a_created_binding_is_refused_a_second_time() {
        let states = [state("192.0.2.0/24", &[("192.0.2.0/24", "mt")], vec![])];
        let p = with_steps(
            &states,
            vec![create("192.0.2.0/24", "mt"), create("192.0.2.0/24", "mt")],
        );
        let err = rehearse(&p, &states, &services()).unwrap_err();
        assert!(
            matches!(
                &err,
                RehearsalError::Rejected {
                    number: 2,
                    violation: Violation::DuplicateCidr { .. },
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn an_unknown_service_is_refused() {
        let states = [state(
            "192.0.2.0/24",
            &[("192.0.2.0/24", "workers")],
            vec![],
        )];
        let p = plan(account(), &states).unwrap();
        assert!(matches!(
            rehearse(&p, &states, &services()),
            Err(RehearsalError::Rejected {
                violation: Violation::UnknownService { .. },
                ..
            })
        ));
    }

    #[test]
    fn a_delete_of_a_binding_that_is_not_there_fails() {
        let states = [state(
            "192.0.2.0/24",
            &[("192.0.2.0/24", "mt")],
            vec![
                live("b1", "192.0.2.0/24", "mt"),
                live("b2", "192.0.2.16/29", "cdn"),
            ],
        )];
        // The right id under the wrong CIDR, then an id that does not exist.
        for step in [
            delete("b2", "192.0.2.32/29", "cdn"),
            delete("b9", "192.0.2.16/29", "cdn"),
        ] {
            let p = with_steps(&states, vec![step.clone()]);
            let err = rehearse(&p, &states, &services()).unwrap_err();
            assert_eq!(
                err,
                RehearsalError::UnknownBinding {
                    prefix: net("192.0.2.0/24"),
                    number: 1,
                    step,
                }
            );
        }
    }

    #[test]
    fn a_wrong_end_state_lists_both_states() {
        let states = [state(
            "192.0.2.0/24",
            &[("192.0.2.0/24", "mt")],
            vec![
                live("b1", "192.0.2.0/24", "mt"),
                live("b2", "192.0.2.16/29", "cdn"),
            ],
        )];
        // The planner deletes b2; without that step it stays.
        let p = with_steps(&states, vec![]);
        let err = rehearse(&p, &states, &services()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "192.0.2.0/24: after every step the bindings would be 192.0.2.0/24 → mt, 192.0.2.16/29 → cdn, not 192.0.2.0/24 → mt"
        );
        let states = [state("192.0.2.0/24", &[], vec![])];
        let p = with_steps(&states, vec![create("192.0.2.0/24", "cdn")]);
        assert_eq!(
            rehearse(&p, &states, &services()).unwrap_err().to_string(),
            "192.0.2.0/24: after every step the bindings would be 192.0.2.0/24 → cdn, not none"
        );
    }

    #[test]
    fn a_duplicate_left_behind_is_a_wrong_end_state() {
        let states = [state(
            "192.0.2.0/24",
            &[("192.0.2.0/24", "mt")],
            vec![
                live("b1", "192.0.2.0/24", "mt"),
                live("b2", "192.0.2.0/24", "mt"),
            ],
        )];
        let p = with_steps(&states, vec![]);
        assert!(matches!(
            rehearse(&p, &states, &services()),
            Err(RehearsalError::WrongEndState { .. })
        ));
    }

    #[test]
    fn live_bindings_that_break_the_rules_are_kept_as_they_are() {
        // Duplicates and no prefix-wide binding: all mirrored, the plan repairs them.
        let states = [state(
            "192.0.2.0/24",
            &[("192.0.2.0/24", "mt"), ("192.0.2.16/29", "cdn")],
            vec![
                live("b2", "192.0.2.16/29", "cdn"),
                live("b3", "192.0.2.16/29", "spectrum"),
                live("b4", "192.0.2.16/29", "cdn"),
            ],
        )];
        let p = plan(account(), &states).unwrap();
        assert_eq!(p.prefixes[0].steps.len(), 3, "{:?}", p.prefixes[0].steps);
        assert_eq!(rehearse(&p, &states, &services()), Ok(()));
    }

    #[test]
    fn a_plan_for_a_prefix_without_live_state_fails() {
        let states = [state("192.0.2.0/24", &[], vec![])];
        let mut p = plan(account(), &states).unwrap();
        p.prefixes.push(PrefixPlan {
            id: PrefixId::new("p9").unwrap(),
            ..p.prefixes[0].clone()
        });
        assert_eq!(
            rehearse(&p, &states, &services()).unwrap_err().to_string(),
            "192.0.2.0/24: the plan has prefix id `p9`, whose live bindings were not read"
        );
    }
}
