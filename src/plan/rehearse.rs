//! Rehearsal: before a plan is shown or saved, its steps are replayed on the emulator's rules
//! core, seeded with the live state just read.
//!
//! A step the API's rules would reject, or an end state that differs from the desired one, is a
//! bug in svcbind: the command fails with an internal error instead of showing a plan that
//! cannot be applied. In memory only; no I/O.

use std::time::Duration;

use ipnet::IpNet;

use super::{Plan, PrefixState, Step, covers};
use crate::emulator::Account;
use crate::model::{Prefix, Service, ServiceId, Services};

/// Why a rehearsal failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RehearsalError {
    #[error("{prefix}: step {number} ({step}) would be rejected: {reason}")]
    Rejected {
        prefix: IpNet,
        number: usize,
        step: String,
        reason: String,
    },
    #[error("{prefix}: after every step the bindings would be {actual}, not {expected}")]
    WrongEndState {
        prefix: IpNet,
        expected: String,
        actual: String,
    },
    #[error("the live state cannot be mirrored: {0}")]
    Mirror(String),
}

/// Replays every step of `plan` on an emulated copy of the live `states`.
pub fn rehearse(
    plan: &Plan,
    states: &[PrefixState],
    services: &Services,
) -> Result<(), RehearsalError> {
    let catalog: Vec<Service> = services
        .iter()
        .map(|(id, name)| Service {
            id: id.clone(),
            name: name.to_owned(),
        })
        .collect();
    let mut account = Account::new(plan.account_id.clone(), catalog);
    for state in states {
        account
            .add_prefix(Prefix {
                id: state.id.clone(),
                cidr: state.cidr,
                description: None,
            })
            .map_err(|e| RehearsalError::Mirror(e.to_string()))?;
        for b in &state.live {
            account
                .insert_binding(&state.id, b.clone())
                .map_err(|e| RehearsalError::Mirror(e.to_string()))?;
        }
    }
    let acc = plan.account_id.as_str();
    for prefix in &plan.prefixes {
        let pid = prefix.id.as_str();
        for (i, step) in prefix.steps.iter().enumerate() {
            let result = match step {
                Step::Create { cidr, service } => account
                    .create_binding(
                        acc,
                        pid,
                        &cidr.to_string(),
                        service.as_str(),
                        Duration::ZERO,
                    )
                    .map(drop),
                Step::Delete { binding, .. } => {
                    account.delete_binding(acc, pid, binding.as_str(), Duration::ZERO)
                }
            };
            result.map_err(|rejection| RehearsalError::Rejected {
                prefix: prefix.cidr,
                number: i + 1,
                step: crate::render::text::step_text(
                    step,
                    &crate::render::Context {
                        services,
                        max_deletes: 0,
                    },
                ),
                reason: rejection.to_string(),
            })?;
        }
        let Some(state) = states.iter().find(|s| s.id == prefix.id) else {
            continue;
        };
        // Compared as sorted lists, so a duplicate left behind is seen.
        let mut actual: Vec<(IpNet, ServiceId)> = account
            .list_bindings(acc, pid, Duration::ZERO)
            .map_err(|r| RehearsalError::Mirror(r.to_string()))?
            .into_iter()
            .filter_map(|b| Some((b.cidr.parse().ok()?, ServiceId::new(b.service_id).ok()?)))
            .collect();
        actual.sort();
        let expected = expected_end_state(state);
        if actual != expected {
            return Err(RehearsalError::WrongEndState {
                prefix: prefix.cidr,
                expected: show(&expected),
                actual: show(&actual),
            });
        }
    }
    Ok(())
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

fn show(bindings: &[(IpNet, ServiceId)]) -> String {
    if bindings.is_empty() {
        return "none".into();
    }
    bindings
        .iter()
        .map(|(c, s)| format!("{c} → {s}"))
        .collect::<Vec<_>>()
        .join(", ")
}
