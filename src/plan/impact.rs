//! Traffic impact: which addresses move to which service.
//!
//! An address goes to the service of the most specific binding that contains it; the routing
//! model of [`super::routing`] says which. [`impact`] compares that effective routing before
//! and after a plan and returns the ranges whose service changes, as minimal CIDR blocks (the
//! exact answer, kept as such in JSON). [`gaps`] names the ranges that briefly fall back to
//! their covering binding between a replace's delete and its create. [`phrases`] says a set of
//! blocks in few words for people: a block minus a few holes reads as `2001:db8:beef::/48
//! except 2001:db8:beef:10::/64`, not as the sixteen blocks around the hole. Pure functions
//! over literal data; linear after sorting.

use std::collections::BTreeMap;

use ipnet::IpNet;

pub use super::routing::route;
use super::routing::{blocks, bounds, segments};
use super::{PrefixState, Step, covers};
use crate::model::{Binding, BindingId, ServiceId};

/// A range whose service changes: `from` → `to` (`None`: no binding covers it).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ImpactRange {
    pub cidr: IpNet,
    pub from: Option<ServiceId>,
    pub to: Option<ServiceId>,
}

impl ImpactRange {
    /// Number of addresses in the range, as a power of two: `2^bits`.
    pub fn address_bits(&self) -> u8 {
        self.cidr.max_prefix_len() - self.cidr.prefix_len()
    }
}

/// A service transition, for grouping.
pub type Transition = (Option<ServiceId>, Option<ServiceId>);

/// Between the delete and the create of a replace, `cidr` routes to `during` (the covering
/// binding's service, or nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    pub cidr: IpNet,
    pub from: ServiceId,
    pub to: ServiceId,
    pub during: Option<ServiceId>,
}

/// The ranges of `state`'s prefix whose service differs between the live bindings and the
/// bindings after the plan (desired plus the ignored live ones), in address order.
pub fn impact(state: &PrefixState) -> Vec<ImpactRange> {
    let before = live_table(&state.live, &state.desired);
    let mut after: Vec<(IpNet, &ServiceId)> = state.desired.iter().map(|(c, s)| (*c, s)).collect();
    let ignored: Vec<Binding> = state
        .live
        .iter()
        .filter(|b| state.ignore.iter().any(|r| covers(r, &b.cidr)))
        .cloned()
        .collect();
    for (cidr, service) in live_table(&ignored, &state.desired) {
        if !state.desired.contains_key(&cidr) {
            after.push((cidr, service));
        }
    }
    changed_ranges(state.cidr, &before, &after)
}

/// Live bindings as a routing table: one service per CIDR. Of duplicates, the one the plan
/// keeps wins (bound to the desired service), else the lowest id, so the answer is stable.
fn live_table<'a>(
    live: &'a [Binding],
    desired: &BTreeMap<IpNet, ServiceId>,
) -> Vec<(IpNet, &'a ServiceId)> {
    let mut ranked: Vec<(IpNet, bool, &'a BindingId, &'a ServiceId)> = live
        .iter()
        .map(|b| {
            let kept = desired.get(&b.cidr) == Some(&b.service_id);
            (b.cidr, !kept, &b.id, &b.service_id)
        })
        .collect();
    ranked.sort_unstable();
    ranked.dedup_by_key(|(cidr, ..)| *cidr);
    ranked
        .into_iter()
        .map(|(cidr, _, _, service)| (cidr, service))
        .collect()
}

/// A set of addresses in few words: `cidr` minus the blocks in `except` (none when the whole
/// block is meant), and what it stands for (`key`: a transition, a gap's services…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phrase<K> {
    pub cidr: IpNet,
    /// Holes inside `cidr` that are not meant, as minimal blocks in address order.
    pub except: Vec<IpNet>,
    pub key: K,
    /// The number of addresses meant (saturating at `u128::MAX`).
    pub addresses: u128,
}

/// At most this many holes in one phrase; more read worse than the blocks themselves.
pub const MAX_HOLES: usize = 4;

/// Says the minimal blocks of `ranges` in few words, per key: the blocks of one key are joined
/// into contiguous runs, and each run (or cluster of runs) is said as the smallest block that
/// holds it minus its holes when that names fewer CIDRs than the blocks would (and has at most
/// [`MAX_HOLES`] holes), else split in two halves and said again. A run that is one block comes
/// out as that block. Phrases come in address order (wider first at one address), so a hole
/// said on its own line follows the phrase it is a hole of.
pub fn phrases<K: Clone + Ord>(ranges: impl IntoIterator<Item = (IpNet, K)>) -> Vec<Phrase<K>> {
    let mut by_key: BTreeMap<K, (IpNet, Vec<(u128, u128)>)> = BTreeMap::new();
    for (cidr, key) in ranges {
        by_key
            .entry(key)
            .or_insert_with(|| (cidr, Vec::new()))
            .1
            .push(bounds(&cidr));
    }
    let mut out = Vec::new();
    for (key, (family, mut spans)) in by_key {
        spans.sort_unstable();
        let mut runs: Vec<(u128, u128)> = Vec::with_capacity(spans.len());
        for (start, end) in spans {
            match runs.last_mut() {
                Some(last) if last.1.checked_add(1) == Some(start) => last.1 = end,
                _ => runs.push((start, end)),
            }
        }
        say(family, &runs, &key, &mut out);
    }
    out.sort_by_key(|p| (bounds(&p.cidr).0, p.cidr.prefix_len()));
    out
}

/// Phrases `runs` (sorted, disjoint, not adjacent) of `family`'s address space into `out`.
fn say<K: Clone>(family: IpNet, runs: &[(u128, u128)], key: &K, out: &mut Vec<Phrase<K>>) {
    let (Some(first), Some(last)) = (runs.first(), runs.last()) else {
        return;
    };
    let width = u32::from(family.max_prefix_len());
    // The smallest block holding every run.
    let differing = first.0 ^ last.1;
    let bits = if differing == 0 {
        0
    } else {
        128 - differing.leading_zeros()
    };
    let start = if bits >= 128 {
        0
    } else {
        first.0 & !((1u128 << bits) - 1)
    };
    let node = super::routing::block(family, start, bits.min(width));
    let (node_start, node_end) = bounds(&node);
    if runs.len() == 1 && *first == (node_start, node_end) {
        out.push(Phrase {
            cidr: node,
            except: Vec::new(),
            key: key.clone(),
            addresses: super::routing::size(&node),
        });
        return;
    }
    // The holes of the node, and how many blocks the runs take, both counted only as far as
    // the choice needs.
    let mut gaps = Vec::new();
    let mut pos = node_start;
    for &(s, e) in runs {
        if s > pos {
            gaps.push((pos, s - 1));
        }
        pos = e.saturating_add(1);
    }
    if last.1 < node_end {
        gaps.push((last.1 + 1, node_end));
    }
    let mut holes = Vec::new();
    for &(s, e) in &gaps {
        blocks(family, s, e, |b| holes.push(b));
        if holes.len() > MAX_HOLES {
            break;
        }
    }
    let mut run_blocks = 0usize;
    for &(s, e) in runs {
        blocks(family, s, e, |_| run_blocks += 1);
        if run_blocks > holes.len() + 1 {
            break;
        }
    }
    if holes.len() <= MAX_HOLES && holes.len() + 1 < run_blocks {
        let missing: u128 = holes.iter().map(super::routing::size).sum();
        out.push(Phrase {
            cidr: node,
            except: holes,
            key: key.clone(),
            addresses: super::routing::size(&node).saturating_sub(missing),
        });
        return;
    }
    // Split at the middle of the node and say each half.
    let mid = node_start + (node_end - node_start) / 2;
    let mut low = Vec::new();
    let mut high = Vec::new();
    for &(s, e) in runs {
        if e <= mid {
            low.push((s, e));
        } else if s > mid {
            high.push((s, e));
        } else {
            low.push((s, mid));
            high.push((mid + 1, e));
        }
    }
    say(family, &low, key, out);
    say(family, &high, key, out);
}

/// Ranges of `domain` routed differently by `before` and `after`, as minimal CIDR blocks.
fn changed_ranges(
    domain: IpNet,
    before: &[(IpNet, &ServiceId)],
    after: &[(IpNet, &ServiceId)],
) -> Vec<ImpactRange> {
    let a = segments(domain, before);
    let b = segments(domain, after);
    let (_, dom_end) = bounds(&domain);
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    let mut run: Option<(u128, u128, Option<&ServiceId>, Option<&ServiceId>)> = None;
    while i < a.len() && j < b.len() {
        let start = a[i].start.max(b[j].start);
        let end = a[i].end.min(b[j].end);
        let (from, to) = (a[i].key, b[j].key);
        if from != to {
            match &mut run {
                Some(r) if r.2 == from && r.3 == to && r.1 + 1 == start => r.1 = end,
                _ => {
                    if let Some(r) = run.take() {
                        emit(domain, r, &mut out);
                    }
                    run = Some((start, end, from, to));
                }
            }
        }
        if end >= dom_end {
            break;
        }
        if a[i].end == end {
            i += 1;
        }
        if b[j].end == end {
            j += 1;
        }
    }
    if let Some(r) = run {
        emit(domain, r, &mut out);
    }
    out
}

fn emit(
    domain: IpNet,
    (start, end, from, to): (u128, u128, Option<&ServiceId>, Option<&ServiceId>),
    out: &mut Vec<ImpactRange>,
) {
    blocks(domain, start, end, |cidr| {
        out.push(ImpactRange {
            cidr,
            from: from.cloned(),
            to: to.cloned(),
        });
    });
}

/// The ranges that briefly route elsewhere while `steps` run: for each delete immediately
/// followed by a create of the same CIDR (a replace), the addresses the deleted binding routed
/// (not those of more-specific bindings inside it) fall back to the nearest binding that still
/// covers them, or to nothing. Returned as minimal CIDR blocks; a replace whose fallback is
/// its own old service has no gap.
///
/// The same holds for a delete immediately followed by a create inside the deleted CIDR, when
/// the deleted binding was the create's cover (the order moves a cover of the create's own
/// service out of its way, [`super::order`]): the created range's addresses fall back from
/// the deleted binding to the one covering it until the create, then come back.
pub fn gaps(state: &PrefixState, steps: &[Step]) -> Vec<Gap> {
    let is_replace = |pair: &[Step]| matches!(pair, [Step::Delete { cidr: a, .. }, Step::Create { cidr: b, .. }] if covers(a, b));
    if !steps.windows(2).any(is_replace) {
        return Vec::new();
    }
    // The live bindings by CIDR (duplicates kept), replayed step by step.
    let mut current: BTreeMap<IpNet, Bound<'_>> = BTreeMap::new();
    for b in &state.live {
        current.entry(b.cidr).or_default().push(&b.service_id);
    }
    let mut out = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        match step {
            Step::Delete { cidr, service, .. } => {
                // Whether the deleted binding is the cover of the create that follows.
                let covered = match steps.get(i + 1) {
                    Some(Step::Create { cidr: next, .. }) if next != cidr && covers(cidr, next) => {
                        std::iter::successors(next.supernet(), IpNet::supernet)
                            .find(|net| current.contains_key(net))
                            == Some(*cidr)
                    }
                    _ => false,
                };
                if let Some(bound) = current.get_mut(cidr)
                    && bound.remove(service)
                {
                    current.remove(cidr);
                }
                if let Some(Step::Create {
                    cidr: next,
                    service: to,
                }) = steps.get(i + 1)
                {
                    if next == cidr && !current.contains_key(cidr) {
                        gap_of(&current, *cidr, service, to, &mut out);
                    } else if covered {
                        gap_of(&current, *next, service, to, &mut out);
                    }
                }
            }
            Step::Create { cidr, service } => {
                current.entry(*cidr).or_default().push(service);
            }
        }
    }
    out
}

/// The services bound to one CIDR: almost always one, so without an allocation then.
#[derive(Debug, Default)]
struct Bound<'a> {
    first: Option<&'a ServiceId>,
    more: Vec<&'a ServiceId>,
}

impl<'a> Bound<'a> {
    fn push(&mut self, service: &'a ServiceId) {
        if self.first.is_none() {
            self.first = Some(service);
        } else {
            self.more.push(service);
        }
    }

    /// Removes one binding of `service`; true when none is left.
    fn remove(&mut self, service: &ServiceId) -> bool {
        if self.first == Some(service) {
            self.first = self.more.pop();
        } else if let Some(at) = self.more.iter().position(|s| *s == service) {
            self.more.remove(at);
        }
        self.first.is_none()
    }
}

/// The gap of replacing `cidr` (bound to `from`) once its binding is gone from `current`.
fn gap_of(
    current: &BTreeMap<IpNet, Bound<'_>>,
    cidr: IpNet,
    from: &ServiceId,
    to: &ServiceId,
    out: &mut Vec<Gap>,
) {
    let during = std::iter::successors(cidr.supernet(), IpNet::supernet)
        .find_map(|net| current.get(&net).and_then(|b| b.first));
    if during == Some(from) {
        return;
    }
    let mut inside = current
        .range(cidr..)
        .take_while(|(net, _)| cidr.contains(&net.network()))
        .filter(|(net, _)| covers(&cidr, net))
        .filter_map(|(net, b)| Some((*net, b.first?)))
        .peekable();
    if inside.peek().is_none() {
        // Nothing inside: the whole range falls back.
        out.push(Gap {
            cidr,
            from: from.clone(),
            to: to.clone(),
            during: during.cloned(),
        });
        return;
    }
    let inside: Vec<(IpNet, &ServiceId)> = inside.collect();
    let before: Vec<(IpNet, &ServiceId)> = std::iter::once((cidr, from))
        .chain(inside.iter().copied())
        .collect();
    let after: Vec<(IpNet, &ServiceId)> = during
        .map(|d| (cidr, d))
        .into_iter()
        .chain(inside.iter().copied())
        .collect();
    for range in changed_ranges(cidr, &before, &after) {
        out.push(Gap {
            cidr: range.cidr,
            from: from.clone(),
            to: to.clone(),
            during: during.cloned(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::tests::{live, net, state, svc};
    use crate::plan::{diff, order::order_steps};

    fn show(ranges: &[ImpactRange]) -> Vec<String> {
        let name = |s: &Option<ServiceId>| s.as_ref().map_or("none".to_string(), |s| s.to_string());
        ranges
            .iter()
            .map(|r| format!("{} {} -> {}", r.cidr, name(&r.from), name(&r.to)))
            .collect()
    }

    #[test]
    fn a_new_more_specific_moves_only_its_addresses() {
        let s = state(
            "192.0.2.0/24",
            &[("192.0.2.0/24", "mt"), ("192.0.2.16/29", "cdn")],
            vec![live("b1", "192.0.2.0/24", "mt")],
        );
        let ranges = impact(&s);
        assert_eq!(show(&ranges), ["192.0.2.16/29 mt -> cdn"]);
        assert_eq!(ranges[0].address_bits(), 3);
    }

    #[test]
    fn a_deleted_binding_falls_back_to_its_cover() {
        let s = state(
            "192.0.2.0/24",
            &[("192.0.2.0/24", "mt"), ("192.0.2.0/25", "spectrum")],
            vec![
                live("b1", "192.0.2.0/24", "mt"),
                live("b2", "192.0.2.0/25", "spectrum"),
                live("b3", "192.0.2.8/29", "cdn"),
            ],
        );
        assert_eq!(show(&impact(&s)), ["192.0.2.8/29 cdn -> spectrum"]);
    }

    #[test]
    fn non_aligned_ranges_become_minimal_blocks() {
        // Removing a /25 under a /24 while a /26 inside it stays: 192.0.2.64/26 changes only.
        let s = state(
            "192.0.2.0/24",
            &[("192.0.2.0/24", "mt"), ("192.0.2.0/26", "cdn")],
            vec![
                live("b1", "192.0.2.0/24", "mt"),
                live("b2", "192.0.2.0/25", "spectrum"),
                live("b3", "192.0.2.0/26", "cdn"),
            ],
        );
        assert_eq!(show(&impact(&s)), ["192.0.2.64/26 spectrum -> mt"]);

        // A /29 hole in a replaced /24 splits it into the minimal blocks around it.
        let s = state(
            "192.0.2.0/24",
            &[("192.0.2.0/24", "cdn"), ("192.0.2.16/29", "spectrum")],
            vec![
                live("b1", "192.0.2.0/24", "mt"),
                live("b2", "192.0.2.16/29", "spectrum"),
            ],
        );
        assert_eq!(
            show(&impact(&s)),
            [
                "192.0.2.0/28 mt -> cdn",
                "192.0.2.24/29 mt -> cdn",
                "192.0.2.32/27 mt -> cdn",
                "192.0.2.64/26 mt -> cdn",
                "192.0.2.128/25 mt -> cdn",
            ]
        );
    }

    #[test]
    fn empty_prefix_gains_service_everywhere_and_ipv6_works() {
        let s = state(
            "2001:db8:1000::/48",
            &[
                ("2001:db8:1000::/48", "cdn"),
                ("2001:db8:1000:10::/64", "spectrum"),
            ],
            vec![],
        );
        assert_eq!(
            show(&impact(&s)),
            [
                "2001:db8:1000::/60 none -> cdn",
                "2001:db8:1000:10::/64 none -> spectrum",
                "2001:db8:1000:11::/64 none -> cdn",
                "2001:db8:1000:12::/63 none -> cdn",
                "2001:db8:1000:14::/62 none -> cdn",
                "2001:db8:1000:18::/61 none -> cdn",
                "2001:db8:1000:20::/59 none -> cdn",
                "2001:db8:1000:40::/58 none -> cdn",
                "2001:db8:1000:80::/57 none -> cdn",
                "2001:db8:1000:100::/56 none -> cdn",
                "2001:db8:1000:200::/55 none -> cdn",
                "2001:db8:1000:400::/54 none -> cdn",
                "2001:db8:1000:800::/53 none -> cdn",
                "2001:db8:1000:1000::/52 none -> cdn",
                "2001:db8:1000:2000::/51 none -> cdn",
                "2001:db8:1000:4000::/50 none -> cdn",
                "2001:db8:1000:8000::/49 none -> cdn",
            ]
        );
    }

    /// The phrases of a plan's impact, as text.
    fn said(ranges: &[ImpactRange]) -> Vec<String> {
        let name = |s: &Option<ServiceId>| s.as_ref().map_or("none".to_string(), |s| s.to_string());
        phrases(
            ranges
                .iter()
                .map(|r| (r.cidr, (r.from.clone(), r.to.clone()))),
        )
        .iter()
        .map(|p| {
            let except: Vec<String> = p.except.iter().map(ToString::to_string).collect();
            let except = if except.is_empty() {
                String::new()
            } else {
                format!(" except {}", except.join(" "))
            };
            format!(
                "{}{except} ({}) {} -> {}",
                p.cidr,
                p.addresses,
                name(&p.key.0),
                name(&p.key.1)
            )
        })
        .collect()
    }

    #[test]
    fn a_block_minus_a_few_holes_is_said_so() {
        // The case: a /48 moves from CDN to Magic Transit but for two /64s.
        let s = state(
            "2001:db8:beef::/48",
            &[
                ("2001:db8:beef::/48", "mt"),
                ("2001:db8:beef:10::/64", "cdn"),
                ("2001:db8:beef:20::/64", "spectrum"),
            ],
            vec![
                live("b1", "2001:db8:beef::/48", "cdn"),
                live("b2", "2001:db8:beef:20::/64", "cdn"),
            ],
        );
        assert!(impact(&s).len() > 16);
        assert_eq!(
            said(&impact(&s)),
            [
                "2001:db8:beef::/48 except 2001:db8:beef:10::/64 2001:db8:beef:20::/64 (1208888926126481755602944) cdn -> mt",
                "2001:db8:beef:20::/64 (18446744073709551616) cdn -> spectrum",
            ]
        );
        // The holes of the empty prefix's impact are the more-specific binding.
        let s = state(
            "2001:db8:1000::/48",
            &[
                ("2001:db8:1000::/48", "cdn"),
                ("2001:db8:1000:10::/64", "spectrum"),
            ],
            vec![],
        );
        assert_eq!(
            said(&impact(&s)),
            [
                "2001:db8:1000::/48 except 2001:db8:1000:10::/64 (1208907372870555465154560) none -> cdn",
                "2001:db8:1000:10::/64 (18446744073709551616) none -> spectrum",
            ]
        );
    }

    #[test]
    fn blocks_far_apart_or_few_are_listed_as_they_are() {
        // Two /29s far apart: the /24 around them would have many holes.
        let s = state(
            "192.0.2.0/24",
            &[
                ("192.0.2.0/24", "mt"),
                ("192.0.2.16/29", "cdn"),
                ("192.0.2.200/29", "cdn"),
            ],
            vec![live("b1", "192.0.2.0/24", "mt")],
        );
        assert_eq!(
            said(&impact(&s)),
            [
                "192.0.2.16/29 (8) mt -> cdn",
                "192.0.2.200/29 (8) mt -> cdn"
            ]
        );
        // Two blocks around one hole: naming the blocks is as short.
        let ranges = [(net("192.0.2.0/25"), 1), (net("192.0.2.128/26"), 1)];
        let p = phrases(ranges);
        assert_eq!(p.len(), 2);
        assert!(p.iter().all(|p| p.except.is_empty()));
        // A replaced /24 with a /29 kept: one block minus its hole, in IPv4 too.
        let s = state(
            "192.0.2.0/24",
            &[("192.0.2.0/24", "cdn"), ("192.0.2.16/29", "spectrum")],
            vec![
                live("b1", "192.0.2.0/24", "mt"),
                live("b2", "192.0.2.16/29", "spectrum"),
            ],
        );
        assert_eq!(
            said(&impact(&s)),
            ["192.0.2.0/24 except 192.0.2.16/29 (248) mt -> cdn"]
        );
    }

    #[test]
    fn clusters_are_said_each_on_their_own() {
        // Two clusters in the two halves of a /24, each a block minus one hole.
        let mut ranges = Vec::new();
        for (start, end, hole) in [(0u128, 127u128, 8u128), (128, 255, 200)] {
            let mut pos = start;
            while pos <= end {
                if pos != hole {
                    ranges.push((
                        crate::plan::routing::block(net("192.0.2.0/24"), 0xc000_0200 + pos, 0),
                        "k",
                    ));
                }
                pos += 1;
            }
        }
        let p = phrases(ranges);
        let text: Vec<String> = p
            .iter()
            .map(|p| {
                format!(
                    "{} {:?} {}",
                    p.cidr,
                    p.except.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    p.addresses
                )
            })
            .collect();
        assert_eq!(
            text,
            ["192.0.2.0/24 [\"192.0.2.8/32\", \"192.0.2.200/32\"] 254",]
        );
        // Holes beyond the limit split the phrase.
        let ranges: Vec<(IpNet, u8)> = (0..16u32)
            .filter(|i| i % 3 != 0)
            .map(|i| (net(&format!("10.0.{i}.0/24")), 0))
            .collect();
        let p = phrases(ranges.clone());
        let covered: u128 = p.iter().map(|p| p.addresses).sum();
        assert_eq!(covered, 256 * ranges.len() as u128);
        assert!(p.iter().all(|p| p.except.len() <= MAX_HOLES));
    }

    #[test]
    fn removing_everything_unbinds_the_prefix() {
        let s = state("192.0.2.0/24", &[], vec![live("b1", "192.0.2.0/24", "mt")]);
        assert_eq!(show(&impact(&s)), ["192.0.2.0/24 mt -> none"]);
    }

    #[test]
    fn top_of_the_address_space_does_not_overflow() {
        let s = state(
            "ffff:ffff:ffff::/48",
            &[
                ("ffff:ffff:ffff::/48", "cdn"),
                ("ffff:ffff:ffff:ffff::/64", "spectrum"),
            ],
            vec![live("b1", "ffff:ffff:ffff::/48", "cdn")],
        );
        assert_eq!(
            show(&impact(&s)),
            ["ffff:ffff:ffff:ffff::/64 cdn -> spectrum"]
        );
        let s = state(
            "255.255.255.0/24",
            &[("255.255.255.0/24", "mt"), ("255.255.255.255/32", "cdn")],
            vec![live("b1", "255.255.255.0/24", "mt")],
        );
        assert_eq!(show(&impact(&s)), ["255.255.255.255/32 mt -> cdn"]);
    }

    #[test]
    fn ignored_live_bindings_keep_routing_their_addresses() {
        let mut s = state(
            "192.0.2.0/24",
            &[("192.0.2.0/24", "mt")],
            vec![
                live("b1", "192.0.2.0/24", "mt"),
                live("b2", "192.0.2.128/26", "cdn"),
                live("b3", "192.0.2.16/29", "cdn"),
            ],
        );
        s.ignore = vec![net("192.0.2.128/26")];
        assert_eq!(show(&impact(&s)), ["192.0.2.16/29 cdn -> mt"]);
    }

    #[test]
    fn replace_gap_falls_back_to_the_covering_binding() {
        let s = state(
            "192.0.2.0/24",
            &[
                ("192.0.2.0/24", "mt"),
                ("192.0.2.0/25", "spectrum"),
                ("192.0.2.64/27", "other"),
            ],
            vec![
                live("b1", "192.0.2.0/24", "mt"),
                live("b2", "192.0.2.0/25", "spectrum"),
                live("b3", "192.0.2.64/27", "cdn"),
            ],
        );
        let ordered = order_steps(&s, &diff(&s)).unwrap();
        // The nearest cover is the /25, not the prefix-wide binding.
        assert_eq!(
            gaps(&s, &ordered.steps),
            vec![Gap {
                cidr: net("192.0.2.64/27"),
                from: svc("cdn"),
                to: svc("other"),
                during: Some(svc("spectrum")),
            }]
        );
    }

    #[test]
    fn a_gap_spares_what_more_specific_bindings_inside_keep() {
        // /25 CDN → Spectrum while the /26 inside it stays: only 192.0.2.64/26 falls back.
        let s = state(
            "192.0.2.0/24",
            &[
                ("192.0.2.0/24", "mt"),
                ("192.0.2.0/25", "spectrum"),
                ("192.0.2.0/26", "cdn"),
            ],
            vec![
                live("b1", "192.0.2.0/24", "mt"),
                live("b2", "192.0.2.0/25", "cdn"),
                live("b3", "192.0.2.0/26", "cdn"),
            ],
        );
        let ordered = order_steps(&s, &diff(&s)).unwrap();
        assert_eq!(
            gaps(&s, &ordered.steps),
            vec![Gap {
                cidr: net("192.0.2.64/26"),
                from: svc("cdn"),
                to: svc("spectrum"),
                during: Some(svc("mt")),
            }]
        );
        // Falling back to the same service is no gap at all.
        let s = state(
            "192.0.2.0/24",
            &[("192.0.2.0/24", "cdn"), ("192.0.2.0/25", "spectrum")],
            vec![
                live("b1", "192.0.2.0/24", "cdn"),
                live("b2", "192.0.2.0/25", "cdn"),
            ],
        );
        let ordered = order_steps(&s, &diff(&s)).unwrap();
        assert_eq!(gaps(&s, &ordered.steps), vec![]);
    }

    #[test]
    fn prefix_wide_replace_gap_has_no_service() {
        let s = state(
            "192.0.2.0/24",
            &[("192.0.2.0/24", "cdn")],
            vec![live("b1", "192.0.2.0/24", "mt")],
        );
        let ordered = order_steps(&s, &diff(&s)).unwrap();
        assert_eq!(
            gaps(&s, &ordered.steps),
            vec![Gap {
                cidr: net("192.0.2.0/24"),
                from: svc("mt"),
                to: svc("cdn"),
                during: None,
            }]
        );
    }
}
