//! The order of an apply: which API call runs when, within one prefix.
//!
//! This is the one place that decides it; [`order_steps`] documents the rules and the reasons.

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

use ipnet::IpNet;

use super::{BrokenRule, Change, Lengths, PlanError, PrefixState, Step, covers};
use crate::model::{Binding, BindingId, ServiceId};

/// Changes in execution order, and the API calls that carry them out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ordered {
    /// The logical changes, sorted by the position of their first step.
    pub changes: Vec<Change>,
    pub steps: Vec<Step>,
}

/// Orders the changes of one prefix into API calls, one at a time.
///
/// The API requires the prefix-wide binding (the one whose CIDR equals the prefix) to exist
/// before any more-specific binding, and (assumed; see [`crate::rules`]) refuses to delete
/// it while any more-specific binding remains. Every binding change disrupts its addresses for
/// hours, so the order also keeps each address bound to something for as long as possible:
///
/// 1. **Prefix-wide binding created** (the prefix had none): create it first, because nothing
///    else may exist without it. The rest follows rule 3.
/// 2. **Prefix-wide binding replaced** (the whole prefix moves to another service): there is no
///    update call and it cannot be deleted under more-specific bindings, so delete every live
///    more-specific binding (longest prefix first, the reverse of creation), delete the
///    prefix-wide binding, create the new one, then create every desired more-specific binding
///    (shortest prefix first, so a covering binding exists before what it covers). Unchanged
///    more-specific bindings are deleted and re-created too: the API leaves no other way. The
///    whole prefix is disrupted; the plan warns loudly.
/// 3. **Otherwise, make before break**: first create new more-specific CIDRs (shortest first),
///    then replace more-specific CIDRs whose service changes (each delete immediately followed
///    by its create, shortest first, so the gap is one call long), then delete (longest first,
///    so an address falls back to its nearest covering binding, never past it).
/// 4. **Prefix-wide binding deleted** (`bindings: []`): after every other delete, last.
///
/// Before all of these, live bindings that break the API's own rules for a CIDR (host bits
/// set, the other address family, outside the prefix: [`super::BrokenRule`]) are deleted,
/// first of all: they route nothing the plan can account for, no other step needs them, and
/// the API counts them among the more-specific bindings that keep the prefix-wide one from
/// being deleted. Deleting them is allowed at any time, so the API accepts every order that
/// puts them before the prefix-wide delete; first is the one that repairs the prefix before
/// anything else changes. A live binding with the service of its cover
/// ([`BrokenRule::SameServiceAsCover`]) that the plan deletes goes first too: its addresses
/// fall back to a binding of the same service, so deleting it moves nothing, and it may be the
/// cover a create below it would meet.
///
/// Last, the API refuses a more-specific binding of the service of the binding that most
/// specifically covers it *when it is created* ([`crate::rules`], rule 8). The desired
/// bindings are free of that, but when a create runs, its cover may still be a live binding
/// the plan removes later (a delete, a surplus duplicate, or a replace that changes the
/// cover's service). [`settle_covers`] then moves that removal right before the create: a
/// delete alone, a replace whole (its create judged by the same rule in turn). Making before
/// breaking yields to what the API accepts; the transient move this causes is a gap of the
/// create ([`super::impact::gaps`]).
///
/// Surplus live duplicates of a CIDR are deleted with the deletes, except that those of a
/// replaced CIDR go right before the replace, since the API refuses two bindings of one CIDR.
/// Ties break by address, then binding id, so the same input always yields the same steps.
///
/// Live bindings inside an `ignore` range are never touched; when rule 2 or 4 would have to
/// remove them, the prefix cannot be planned and [`PlanError::IgnoredBlockPrefixWide`] says so.
pub fn order_steps(state: &PrefixState, changes: &[Change]) -> Result<Ordered, PlanError> {
    order_steps_with(state, changes, &super::same_service_as_cover(state))
}

/// [`order_steps`], given the live bindings that have their cover's service
/// ([`super::same_service_as_cover`]).
pub(crate) fn order_steps_with(
    state: &PrefixState,
    changes: &[Change],
    same_service: &BTreeSet<&BindingId>,
) -> Result<Ordered, PlanError> {
    let wide = state.cidr;
    let replaced_wide = changes.iter().find_map(|c| match c {
        Change::Replace { from, to } if from.cidr == wide => Some(to),
        _ => None,
    });
    let wide_removed = !state.desired.contains_key(&wide)
        && changes
            .iter()
            .any(|c| matches!(c, Change::Delete { binding } if binding.cidr == wide));

    let ignored_inside: Vec<IpNet> = {
        let mut v: Vec<IpNet> = state
            .live
            .iter()
            .filter(|b| b.cidr != wide && state.ignore.iter().any(|r| covers(r, &b.cidr)))
            .map(|b| b.cidr)
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let blocked = |action| {
        Err(PlanError::IgnoredBlockPrefixWide {
            prefix: wide,
            action,
            ignored: ignored_inside.clone(),
        })
    };

    let broken =
        |b: &Binding| BrokenRule::of(wide, b.cidr).is_some() || same_service.contains(&b.id);
    let mut steps = Vec::new();
    if let Some(new_service) = replaced_wide {
        if !ignored_inside.is_empty() {
            return blocked("replaced");
        }
        // Rule 2: clear the prefix (what breaks the rules first), swap the prefix-wide
        // binding, rebuild.
        let mut specifics: Vec<&Binding> = state.live.iter().filter(|b| b.cidr != wide).collect();
        specifics
            .sort_unstable_by(|a, b| broken(b).cmp(&broken(a)).then_with(|| longest_first(a, b)));
        steps.extend(specifics.into_iter().map(delete));
        let mut wides: Vec<&Binding> = state.live.iter().filter(|b| b.cidr == wide).collect();
        // The binding the replace names goes last; surplus duplicates before it.
        let replaced_id = changes.iter().find_map(|c| match c {
            Change::Replace { from, .. } if from.cidr == wide => Some(&from.id),
            _ => None,
        });
        wides.sort_unstable_by_key(|b| (Some(&b.id) == replaced_id, &b.id));
        steps.extend(wides.into_iter().map(delete));
        steps.push(Step::Create {
            cidr: wide,
            service: new_service.clone(),
        });
        let mut desired: Vec<(&IpNet, _)> =
            state.desired.iter().filter(|(c, _)| **c != wide).collect();
        desired.sort_by_key(|(c, _)| shortest_first(c));
        steps.extend(desired.into_iter().map(|(cidr, service)| Step::Create {
            cidr: *cidr,
            service: service.clone(),
        }));
    } else {
        if wide_removed && !ignored_inside.is_empty() {
            return blocked("deleted");
        }
        let mut creates = Vec::new();
        let mut replaces = Vec::new();
        let mut deletes = Vec::new();
        for c in changes {
            match c {
                Change::Create { cidr, service } => creates.push((*cidr, service)),
                Change::Replace { from, to } => replaces.push((from, to)),
                Change::Delete { binding } => deletes.push(binding),
            }
        }
        // What breaks the rules first.
        let (mut repairs, rest): (Vec<&Binding>, Vec<&Binding>) =
            deletes.into_iter().partition(|b| broken(b));
        let mut deletes = rest;
        repairs.sort_unstable_by(|a, b| longest_first(a, b));
        steps.extend(repairs.into_iter().map(delete));
        // Rule 1, then rule 3's creates.
        creates.sort_by_key(|(cidr, _)| (*cidr != wide, shortest_first(cidr)));
        steps.extend(creates.into_iter().map(|(cidr, service)| Step::Create {
            cidr,
            service: service.clone(),
        }));
        // Rule 3's replaces, each with the surplus duplicates of its CIDR just before it.
        replaces.sort_unstable_by_key(|(from, _)| shortest_first(&from.cidr));
        let mut replaced: Vec<IpNet> = replaces.iter().map(|(from, _)| from.cidr).collect();
        replaced.sort_unstable();
        let mut dups: BTreeMap<IpNet, Vec<&Binding>> = BTreeMap::new();
        deletes.retain(|b| {
            let dup = replaced.binary_search(&b.cidr).is_ok();
            if dup {
                dups.entry(b.cidr).or_default().push(b);
            }
            !dup
        });
        for (from, to) in replaces {
            let mut before = dups.remove(&from.cidr).unwrap_or_default();
            before.sort_unstable_by_key(|b| &b.id);
            steps.extend(before.into_iter().map(delete));
            steps.push(delete(from));
            steps.push(Step::Create {
                cidr: from.cidr,
                service: to.clone(),
            });
        }
        // Rule 3's deletes, longest first; rule 4: the prefix-wide binding's last.
        deletes.sort_unstable_by(|a, b| {
            (a.cidr == wide)
                .cmp(&(b.cidr == wide))
                .then_with(|| longest_first(a, b))
        });
        steps.extend(deletes.into_iter().map(delete));
    }

    let steps = settle_covers(state, steps)?;
    Ok(Ordered {
        changes: by_first_step(changes, &steps),
        steps,
    })
}

/// Reorders `steps` so that every create of a more-specific binding finds, when it runs, a
/// cover of another service (rule 8 of [`crate::rules`]).
///
/// The steps are replayed over the live bindings. When a create would meet a cover bound to
/// its service, every binding of that service at the cover is one the plan removes later (the
/// desired bindings have no such nesting, and an ignored binding never covers a desired one),
/// and its removal moves right before the create: a delete alone; the delete of a replace
/// with the replace's create, after the other deletes of that CIDR. A moved create is judged
/// in its turn. Each move takes a step from after the create to before it, and a create
/// only ever waits for a binding that covers it, so the replay ends. A cover of the create's
/// service that nothing removes is a desired state the API refuses:
/// [`PlanError::SameServiceAsCover`]. Steps that need no move keep their order.
fn settle_covers(state: &PrefixState, steps: Vec<Step>) -> Result<Vec<Step>, PlanError> {
    let wide = state.cidr;
    // Every CIDR bound at some point, sorted, with what is bound to it as the steps run: live
    // bindings by id, created ones without. Steps are moved by index, so what the slots
    // borrow from them stays put.
    let mut cidrs: Vec<IpNet> = state
        .live
        .iter()
        .map(|b| b.cidr)
        .filter(|c| BrokenRule::of(wide, *c).is_none())
        .chain(steps.iter().filter_map(|s| match s {
            Step::Create { cidr, .. } => Some(*cidr),
            Step::Delete { .. } => None,
        }))
        .collect();
    cidrs.sort_unstable();
    cidrs.dedup();
    let at = |cidr: &IpNet| cidrs.binary_search(cidr).ok();
    let mut slots: Vec<Slot<'_>> = std::iter::repeat_with(Slot::default)
        .take(cidrs.len())
        .collect();
    let mut lens = Lengths::default();
    for b in &state.live {
        if let Some(i) = at(&b.cidr) {
            slots[i].push(Some(&b.id), &b.service_id);
            lens.insert(b.cidr.prefix_len());
        }
    }
    for cidr in &cidrs {
        lens.insert(cidr.prefix_len());
    }
    // The step that deletes each binding, by id.
    let mut deleting: Vec<(&BindingId, usize)> = steps
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match s {
            Step::Delete { binding, .. } => Some((binding, i)),
            Step::Create { .. } => None,
        })
        .collect();
    deleting.sort_unstable();
    let delete_of = |id: &BindingId| {
        let from = deleting.partition_point(|(k, _)| *k < id);
        deleting
            .get(from)
            .filter(|(k, _)| *k == id)
            .map(|(_, i)| *i)
    };
    let refused = |cidr: IpNet, cover: IpNet, service: &ServiceId| PlanError::SameServiceAsCover {
        prefix: wide,
        cidr,
        cover,
        service: service.clone(),
    };
    let is_delete_at =
        |i: usize, at: IpNet| matches!(&steps[i], Step::Delete { cidr, .. } if *cidr == at);

    let mut pending: VecDeque<usize> = (0..steps.len()).collect();
    let mut order: Vec<usize> = Vec::with_capacity(steps.len());
    while let Some(index) = pending.pop_front() {
        // The create to judge: this one, or that of the replace this delete begins, so that
        // what the replace's create waits for goes before its delete, not into its gap.
        let probe = match &steps[index] {
            Step::Create { cidr, service } => Some((*cidr, service)),
            Step::Delete { cidr: at, .. } => pending
                .iter()
                .find(|&&i| !is_delete_at(i, *at))
                .and_then(|&i| match &steps[i] {
                    Step::Create { cidr, service } if cidr == at => Some((*cidr, service)),
                    _ => None,
                }),
        };
        let offending = probe.and_then(|(cidr, service)| {
            let (cover, slot) = crate::rules::covers_at(wide, cidr, |len| lens.contains(len))
                .find_map(|c| at(&c).filter(|&i| !slots[i].is_empty()).map(|i| (c, i)))?;
            slots[slot]
                .iter()
                .any(|(_, s)| s == service)
                .then_some((cidr, service, cover, slot))
        });
        if let Some((cidr, service, cover, slot)) = offending {
            let offenders: Vec<Option<&BindingId>> = slots[slot]
                .iter()
                .filter(|(_, s)| *s == service)
                .map(|(id, _)| id)
                .collect();
            let mut moved: Vec<usize> = Vec::new();
            for id in offenders {
                let id = id.ok_or_else(|| refused(cidr, cover, service))?;
                let step = delete_of(id).ok_or_else(|| refused(cidr, cover, service))?;
                if moved.contains(&step) {
                    continue;
                }
                let at = pending
                    .iter()
                    .position(|&i| i == step)
                    .ok_or_else(|| refused(cidr, cover, service))?;
                let replace = pending.get(at + 1).is_some_and(
                    |&i| matches!(&steps[i], Step::Create { cidr: next, .. } if *next == cover),
                );
                if replace {
                    // Every delete of the cover's CIDR up to the replace's, then its create.
                    let mut i = 0;
                    let mut end = at + 1;
                    while i < end {
                        if is_delete_at(pending[i], cover) {
                            moved.extend(pending.remove(i));
                            end -= 1;
                        } else {
                            i += 1;
                        }
                    }
                    moved.extend(pending.remove(end));
                } else {
                    moved.extend(pending.remove(at));
                }
            }
            pending.push_front(index);
            for i in moved.into_iter().rev() {
                pending.push_front(i);
            }
            continue;
        }
        match &steps[index] {
            Step::Create { cidr, service } => {
                if let Some(i) = at(cidr) {
                    slots[i].push(None, service);
                }
            }
            Step::Delete { binding, cidr, .. } => {
                if let Some(i) = at(cidr) {
                    slots[i].remove(binding);
                }
            }
        }
        order.push(index);
    }
    if order.iter().copied().eq(0..steps.len()) {
        return Ok(steps);
    }
    let mut steps: Vec<Option<Step>> = steps.into_iter().map(Some).collect();
    Ok(order.into_iter().filter_map(|i| steps[i].take()).collect())
}

/// The bindings of one CIDR as the steps run: almost always one, so without an allocation
/// then. A created binding has no id.
#[derive(Debug, Default)]
struct Slot<'a> {
    first: Option<(Option<&'a BindingId>, &'a ServiceId)>,
    more: Vec<(Option<&'a BindingId>, &'a ServiceId)>,
}

impl<'a> Slot<'a> {
    fn push(&mut self, id: Option<&'a BindingId>, service: &'a ServiceId) {
        if self.first.is_none() {
            self.first = Some((id, service));
        } else {
            self.more.push((id, service));
        }
    }

    fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    fn iter(&self) -> impl Iterator<Item = (Option<&'a BindingId>, &'a ServiceId)> + '_ {
        self.first.iter().chain(self.more.iter()).copied()
    }

    /// Removes binding `id`; true when none is left.
    fn remove(&mut self, id: &BindingId) -> bool {
        if self.first.is_some_and(|(mine, _)| mine == Some(id)) {
            self.first = self.more.pop();
        } else if let Some(at) = self.more.iter().position(|(mine, _)| *mine == Some(id)) {
            self.more.remove(at);
        }
        self.first.is_none()
    }
}

fn delete(b: &Binding) -> Step {
    Step::Delete {
        binding: b.id.clone(),
        cidr: b.cidr,
        service: b.service_id.clone(),
    }
}

/// Shortest prefix first; ties by address.
fn shortest_first(cidr: &IpNet) -> (u8, IpNet) {
    (cidr.prefix_len(), *cidr)
}

/// Longest prefix first; ties by address, then binding id.
fn longest_first(a: &Binding, b: &Binding) -> Ordering {
    (Reverse(a.cidr.prefix_len()), a.cidr, &a.id).cmp(&(
        Reverse(b.cidr.prefix_len()),
        b.cidr,
        &b.id,
    ))
}

/// Sorts changes by the index of the first step that carries them out.
fn by_first_step(changes: &[Change], steps: &[Step]) -> Vec<Change> {
    // (key, first index) lists, sorted by key; the sort is stable, so the first index of a
    // key comes first among equals.
    let mut creates: Vec<(IpNet, usize)> = Vec::new();
    let mut deletes: Vec<(&BindingId, usize)> = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        match step {
            Step::Create { cidr, .. } => creates.push((*cidr, i)),
            Step::Delete { binding, .. } => deletes.push((binding, i)),
        }
    }
    creates.sort_by_key(|(cidr, _)| *cidr);
    deletes.sort_by_key(|(id, _)| *id);
    let position = |c: &Change| match c {
        Change::Create { cidr, .. } => {
            let at = creates.partition_point(|(k, _)| k < cidr);
            creates.get(at).filter(|(k, _)| k == cidr).map(|(_, i)| *i)
        }
        Change::Delete { binding: b } | Change::Replace { from: b, .. } => {
            let at = deletes.partition_point(|(k, _)| *k < &b.id);
            deletes
                .get(at)
                .filter(|(k, _)| *k == &b.id)
                .map(|(_, i)| *i)
        }
    };
    let mut ordered: Vec<(Option<usize>, &Change)> =
        changes.iter().map(|c| (position(c), c)).collect();
    ordered.sort_by_key(|(pos, _)| *pos);
    ordered.into_iter().map(|(_, c)| c.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::tests::{live, net, state};
    use crate::plan::{diff, plan_prefix};

    fn steps_of(s: &PrefixState) -> Vec<String> {
        let plan = plan_prefix(s).unwrap();
        plan.steps
            .iter()
            .map(|step| match step {
                Step::Create { cidr, service } => format!("create {cidr} {service}"),
                Step::Delete {
                    binding,
                    cidr,
                    service,
                } => format!("delete {cidr} {service} {binding}"),
            })
            .collect()
    }

    /// (a) An empty prefix: the prefix-wide binding is created first.
    #[test]
    fn empty_prefix_creates_the_prefix_wide_binding_first() {
        let s = state(
            "192.0.2.0/24",
            &[
                ("192.0.2.16/29", "cdn"),
                ("192.0.2.0/24", "mt"),
                ("192.0.2.0/25", "spectrum"),
                ("192.0.2.64/26", "cdn"),
            ],
            vec![],
        );
        assert_eq!(
            steps_of(&s),
            [
                "create 192.0.2.0/24 mt",
                "create 192.0.2.0/25 spectrum",
                "create 192.0.2.64/26 cdn",
                "create 192.0.2.16/29 cdn",
            ]
        );
    }

    /// (b) One more-specific added and another removed: the create comes before the delete.
    #[test]
    fn make_before_break_creates_before_deletes() {
        let s = state(
            "192.0.2.0/24",
            &[("192.0.2.0/24", "mt"), ("192.0.2.200/29", "cdn")],
            vec![
                live("b1", "192.0.2.0/24", "mt"),
                live("b2", "192.0.2.16/29", "cdn"),
            ],
        );
        assert_eq!(
            steps_of(&s),
            ["create 192.0.2.200/29 cdn", "delete 192.0.2.16/29 cdn b2"]
        );
    }

    /// (c) The prefix-wide service changes under three more-specific bindings: those are
    /// deleted longest first, the prefix-wide binding is deleted and re-created, and the three
    /// are re-created shortest first.
    #[test]
    fn prefix_wide_replace_cascades() {
        let s = state(
            "192.0.2.0/24",
            &[
                ("192.0.2.0/24", "cdn"),
                ("192.0.2.0/26", "spectrum"),
                ("192.0.2.64/28", "spectrum"),
                ("192.0.2.128/30", "spectrum"),
            ],
            vec![
                live("b1", "192.0.2.0/24", "mt"),
                live("b2", "192.0.2.0/26", "spectrum"),
                live("b3", "192.0.2.64/28", "spectrum"),
                live("b4", "192.0.2.128/30", "cdn"),
            ],
        );
        assert_eq!(
            steps_of(&s),
            [
                "delete 192.0.2.128/30 cdn b4",
                "delete 192.0.2.64/28 spectrum b3",
                "delete 192.0.2.0/26 spectrum b2",
                "delete 192.0.2.0/24 mt b1",
                "create 192.0.2.0/24 cdn",
                "create 192.0.2.0/26 spectrum",
                "create 192.0.2.64/28 spectrum",
                "create 192.0.2.128/30 spectrum",
            ]
        );
        let plan = plan_prefix(&s).unwrap();
        // Logical changes: the /30 replace (its delete runs first), then the prefix-wide one.
        assert_eq!(
            plan.changes
                .iter()
                .map(|c| c.cidr().to_string())
                .collect::<Vec<_>>(),
            ["192.0.2.128/30", "192.0.2.0/24"]
        );
    }

    /// (d) `bindings: []`: more-specific bindings longest first, the prefix-wide one last.
    #[test]
    fn removing_everything_deletes_the_prefix_wide_binding_last() {
        let s = state(
            "192.0.2.0/24",
            &[],
            vec![
                live("b1", "192.0.2.0/24", "mt"),
                live("b2", "192.0.2.0/26", "cdn"),
                live("b3", "192.0.2.128/30", "spectrum"),
                live("b4", "192.0.2.64/28", "cdn"),
            ],
        );
        assert_eq!(
            steps_of(&s),
            [
                "delete 192.0.2.128/30 spectrum b3",
                "delete 192.0.2.64/28 cdn b4",
                "delete 192.0.2.0/26 cdn b2",
                "delete 192.0.2.0/24 mt b1",
            ]
        );
    }

    #[test]
    fn replaces_come_between_creates_and_deletes_with_each_delete_next_to_its_create() {
        let s = state(
            "192.0.2.0/24",
            &[
                ("192.0.2.0/24", "mt"),
                ("192.0.2.0/25", "spectrum"),
                ("192.0.2.136/29", "spectrum"),
                ("192.0.2.200/30", "cdn"),
            ],
            vec![
                live("b1", "192.0.2.0/24", "mt"),
                live("b2", "192.0.2.0/25", "cdn"),
                live("b3", "192.0.2.136/29", "cdn"),
                live("b4", "192.0.2.240/28", "cdn"),
                live("b5", "192.0.2.252/30", "spectrum"),
            ],
        );
        assert_eq!(
            steps_of(&s),
            [
                "create 192.0.2.200/30 cdn",
                "delete 192.0.2.0/25 cdn b2",
                "create 192.0.2.0/25 spectrum",
                "delete 192.0.2.136/29 cdn b3",
                "create 192.0.2.136/29 spectrum",
                "delete 192.0.2.252/30 spectrum b5",
                "delete 192.0.2.240/28 cdn b4",
            ]
        );
    }

    #[test]
    fn missing_prefix_wide_is_created_before_anything_else() {
        let s = state(
            "2001:db8::/48",
            &[("2001:db8::/48", "cdn"), ("2001:db8:0:1::/64", "spectrum")],
            vec![live("b2", "2001:db8:0:2::/64", "spectrum")],
        );
        assert_eq!(
            steps_of(&s),
            [
                "create 2001:db8::/48 cdn",
                "create 2001:db8:0:1::/64 spectrum",
                "delete 2001:db8:0:2::/64 spectrum b2",
            ]
        );
    }

    #[test]
    fn duplicates_of_a_replaced_cidr_go_right_before_it() {
        let s = state(
            "192.0.2.0/24",
            &[("192.0.2.0/24", "mt"), ("192.0.2.16/29", "cdn")],
            vec![
                live("b1", "192.0.2.0/24", "mt"),
                live("b7", "192.0.2.16/29", "spectrum"),
                live("b6", "192.0.2.16/29", "spectrum"),
                live("b9", "192.0.2.32/29", "cdn"),
            ],
        );
        assert_eq!(
            steps_of(&s),
            [
                "delete 192.0.2.16/29 spectrum b7",
                "delete 192.0.2.16/29 spectrum b6",
                "create 192.0.2.16/29 cdn",
                "delete 192.0.2.32/29 cdn b9",
            ]
        );
    }

    #[test]
    fn ignored_bindings_block_a_prefix_wide_replace() {
        let mut s = state(
            "192.0.2.0/24",
            &[("192.0.2.0/24", "cdn")],
            vec![
                live("b1", "192.0.2.0/24", "mt"),
                live("b2", "192.0.2.130/32", "cdn"),
            ],
        );
        s.ignore = vec![net("192.0.2.128/26")];
        let err = plan_prefix(&s).unwrap_err();
        assert_eq!(
            err.to_string(),
            "192.0.2.0/24: the prefix-wide binding must be replaced, which needs every more-specific binding removed first, but 1 live binding lies inside `ignore` (192.0.2.130/32); remove its range from `ignore` or keep the prefix-wide binding"
        );
        s.desired.clear();
        assert!(matches!(
            plan_prefix(&s),
            Err(PlanError::IgnoredBlockPrefixWide {
                action: "deleted",
                ..
            })
        ));
    }

    #[test]
    fn ignored_bindings_do_not_block_ordinary_changes() {
        let mut s = state(
            "192.0.2.0/24",
            &[("192.0.2.0/24", "mt"), ("192.0.2.0/29", "cdn")],
            vec![
                live("b1", "192.0.2.0/24", "mt"),
                live("b2", "192.0.2.130/32", "cdn"),
            ],
        );
        s.ignore = vec![net("192.0.2.128/26")];
        assert_eq!(steps_of(&s), ["create 192.0.2.0/29 cdn"]);
    }

    /// The steps of `s`, once the rehearsal has accepted them.
    fn rehearsed_steps_of(s: &PrefixState) -> Vec<String> {
        let services = crate::model::Services::new(
            [
                ("mt", crate::model::MAGIC_TRANSIT),
                ("cdn", "CDN"),
                ("spectrum", "Spectrum"),
            ]
            .map(|(id, name)| crate::model::Service {
                id: crate::plan::tests::svc(id),
                name: name.into(),
            }),
        );
        let plan = crate::plan::plan(
            crate::model::AccountId::new("acc").unwrap(),
            std::slice::from_ref(s),
        )
        .unwrap();
        crate::plan::rehearse::rehearse(&plan, std::slice::from_ref(s), &services).unwrap();
        steps_of(s)
    }

    #[test]
    fn a_cover_of_the_creates_service_that_goes_away_is_deleted_before_the_create() {
        // 192.0.2.0/26 (CDN) goes; 192.0.2.0/28 (CDN) comes under it. Created first, it would
        // have a CDN cover, which the API refuses.
        let s = state(
            "192.0.2.0/24",
            &[("192.0.2.0/24", "mt"), ("192.0.2.0/28", "cdn")],
            vec![
                live("b1", "192.0.2.0/24", "mt"),
                live("b2", "192.0.2.0/26", "cdn"),
                live("b3", "192.0.2.128/26", "cdn"),
            ],
        );
        assert_eq!(
            rehearsed_steps_of(&s),
            [
                "delete 192.0.2.0/26 cdn b2",
                "create 192.0.2.0/28 cdn",
                "delete 192.0.2.128/26 cdn b3",
            ]
        );
        // Meanwhile the /28 falls back to Magic Transit: a gap of the create.
        let plan = plan_prefix(&s).unwrap();
        assert_eq!(
            plan.gaps,
            [crate::plan::impact::Gap {
                cidr: net("192.0.2.0/28"),
                from: crate::plan::tests::svc("cdn"),
                to: crate::plan::tests::svc("cdn"),
                during: Some(crate::plan::tests::svc("mt")),
            }]
        );
    }

    #[test]
    fn a_cover_whose_service_changes_is_replaced_before_a_create_of_its_old_service_below_it() {
        let s = state(
            "192.0.2.0/24",
            &[
                ("192.0.2.0/24", "mt"),
                ("192.0.2.0/26", "spectrum"),
                ("192.0.2.0/28", "cdn"),
                ("192.0.2.64/26", "cdn"),
            ],
            vec![
                live("b1", "192.0.2.0/24", "mt"),
                live("b2", "192.0.2.0/26", "cdn"),
            ],
        );
        // The /26 CDN create needs nothing; the /28 waits for its cover's replace.
        assert_eq!(
            rehearsed_steps_of(&s),
            [
                "create 192.0.2.64/26 cdn",
                "delete 192.0.2.0/26 cdn b2",
                "create 192.0.2.0/26 spectrum",
                "create 192.0.2.0/28 cdn",
            ]
        );
        // Two levels: the /26 goes Spectrum → CDN and the /25 above it CDN → Spectrum; a new
        // Spectrum /28 under the /26. Each replace waits for the one above it.
        let s = state(
            "192.0.2.0/24",
            &[
                ("192.0.2.0/24", "mt"),
                ("192.0.2.0/25", "spectrum"),
                ("192.0.2.0/26", "cdn"),
                ("192.0.2.0/28", "spectrum"),
            ],
            vec![
                live("b1", "192.0.2.0/24", "mt"),
                live("b2", "192.0.2.0/25", "cdn"),
                live("b3", "192.0.2.0/26", "spectrum"),
            ],
        );
        assert_eq!(
            rehearsed_steps_of(&s),
            [
                "delete 192.0.2.0/25 cdn b2",
                "create 192.0.2.0/25 spectrum",
                "delete 192.0.2.0/26 spectrum b3",
                "create 192.0.2.0/26 cdn",
                "create 192.0.2.0/28 spectrum",
            ]
        );
    }

    #[test]
    fn a_surplus_duplicate_of_the_creates_service_at_its_cover_goes_first() {
        let s = state(
            "192.0.2.0/24",
            &[
                ("192.0.2.0/24", "mt"),
                ("192.0.2.0/26", "spectrum"),
                ("192.0.2.0/28", "cdn"),
            ],
            vec![
                live("b1", "192.0.2.0/24", "mt"),
                live("b2", "192.0.2.0/26", "cdn"),
                live("b3", "192.0.2.0/26", "spectrum"),
            ],
        );
        assert_eq!(
            rehearsed_steps_of(&s),
            ["delete 192.0.2.0/26 cdn b2", "create 192.0.2.0/28 cdn"]
        );
    }

    #[test]
    fn a_live_binding_of_its_covers_service_is_deleted_first_when_it_goes() {
        let s = state(
            "192.0.2.0/24",
            &[
                ("192.0.2.0/24", "mt"),
                ("192.0.2.0/26", "cdn"),
                ("192.0.2.128/25", "cdn"),
            ],
            vec![
                live("b1", "192.0.2.0/24", "mt"),
                live("b2", "192.0.2.0/26", "cdn"),
                live("b3", "192.0.2.0/28", "cdn"),
            ],
        );
        assert_eq!(
            rehearsed_steps_of(&s),
            ["delete 192.0.2.0/28 cdn b3", "create 192.0.2.128/25 cdn"]
        );
        let plan = plan_prefix(&s).unwrap();
        assert_eq!(
            plan.warnings,
            [crate::plan::Warning::BrokenLive {
                cidr: net("192.0.2.0/28"),
                service: crate::plan::tests::svc("cdn"),
                broken: BrokenRule::SameServiceAsCover,
                ignored: false,
            }]
        );
        // It routes like its cover: deleting it moves nothing.
        assert_eq!(plan.impact.len(), 1, "{:?}", plan.impact);
        assert_eq!(plan.impact[0].cidr, net("192.0.2.128/25"));

        // Kept, it is not warned about: the plan gives it another cover.
        let s = state(
            "192.0.2.0/24",
            &[("192.0.2.0/24", "mt"), ("192.0.2.0/28", "cdn")],
            vec![
                live("b1", "192.0.2.0/24", "mt"),
                live("b2", "192.0.2.0/26", "cdn"),
                live("b3", "192.0.2.0/28", "cdn"),
            ],
        );
        assert_eq!(rehearsed_steps_of(&s), ["delete 192.0.2.0/26 cdn b2"]);
        assert_eq!(plan_prefix(&s).unwrap().warnings, []);

        // Inside `ignore`, it is left alone and said so.
        let mut s = state(
            "192.0.2.0/24",
            &[("192.0.2.0/24", "cdn")],
            vec![
                live("b1", "192.0.2.0/24", "cdn"),
                live("b2", "192.0.2.128/26", "cdn"),
            ],
        );
        s.ignore = vec![net("192.0.2.128/25")];
        let plan = plan_prefix(&s).unwrap();
        assert!(plan.steps.is_empty());
        assert!(matches!(
            plan.warnings[..],
            [crate::plan::Warning::BrokenLive {
                broken: BrokenRule::SameServiceAsCover,
                ignored: true,
                ..
            }]
        ));
    }

    #[test]
    fn a_desired_binding_of_its_covers_service_is_refused() {
        let s = state(
            "192.0.2.0/24",
            &[
                ("192.0.2.0/24", "mt"),
                ("192.0.2.0/25", "cdn"),
                ("192.0.2.64/26", "spectrum"),
                ("192.0.2.96/27", "spectrum"),
            ],
            vec![],
        );
        let err = plan_prefix(&s).unwrap_err();
        assert_eq!(
            err.to_string(),
            "192.0.2.0/24: the desired binding 192.0.2.96/27 has service `spectrum`, like 192.0.2.64/26, the binding that covers it; the API refuses a more-specific binding of its cover's service: remove 192.0.2.96/27, or bind it to another service"
        );
    }

    #[test]
    fn order_is_deterministic_whatever_the_input_order() {
        let mut live_bindings = vec![
            live("b1", "192.0.2.0/24", "mt"),
            live("b2", "192.0.2.0/28", "cdn"),
            live("b3", "192.0.2.16/28", "cdn"),
            live("b4", "192.0.2.32/28", "cdn"),
        ];
        let s1 = state(
            "192.0.2.0/24",
            &[("192.0.2.0/24", "mt")],
            live_bindings.clone(),
        );
        live_bindings.reverse();
        let s2 = state("192.0.2.0/24", &[("192.0.2.0/24", "mt")], live_bindings);
        assert_eq!(steps_of(&s1), steps_of(&s2));
        assert_eq!(
            steps_of(&s1),
            [
                "delete 192.0.2.0/28 cdn b2",
                "delete 192.0.2.16/28 cdn b3",
                "delete 192.0.2.32/28 cdn b4",
            ]
        );
        assert_eq!(diff(&s1).len(), 3);
    }
}
