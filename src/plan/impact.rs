//! Traffic impact: which addresses move to which service.
//!
//! An address goes to the service of the most specific binding that contains it. [`impact`]
//! computes that effective routing before and after a plan and returns the ranges whose
//! service changes, as minimal CIDR blocks. [`gaps`] names the ranges that briefly fall back
//! to their covering binding between a replace's delete and its create. [`route`] answers the
//! question for one address. Pure functions over literal data; linear after sorting.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

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

/// A run of addresses `[start, end]` and the service that gets it.
type Segment<'a> = (u128, u128, Option<&'a ServiceId>);

fn bounds(net: &IpNet) -> (u128, u128) {
    match net {
        IpNet::V4(n) => (
            u128::from(u32::from(n.network())),
            u128::from(u32::from(n.broadcast())),
        ),
        IpNet::V6(n) => (u128::from(n.network()), u128::from(n.broadcast())),
    }
}

/// The effective routing of `domain` under `table`, as contiguous segments covering it.
/// Entries outside `domain` are ignored.
fn routing<'a>(domain: IpNet, table: &[(IpNet, &'a ServiceId)]) -> Vec<Segment<'a>> {
    let (dom_start, dom_end) = bounds(&domain);
    let mut entries: Vec<(u128, u128, &ServiceId)> = table
        .iter()
        .filter(|(c, _)| covers(&domain, c))
        .map(|(c, s)| {
            let (a, b) = bounds(c);
            (a, b, *s)
        })
        .collect();
    // Outer before inner at the same start: CIDRs nest or are disjoint.
    entries.sort_by_key(|(a, b, _)| (*a, std::cmp::Reverse(*b)));

    let mut out: Vec<Segment<'a>> = Vec::new();
    let mut stack: Vec<(u128, &ServiceId)> = Vec::new(); // (end, service)
    let mut pos = dom_start;
    let mut done = false;
    // Emits segments from `pos` up to `until` (inclusive) following the stack.
    let advance = |pos: &mut u128,
                   done: &mut bool,
                   until: u128,
                   stack: &mut Vec<(u128, &'a ServiceId)>,
                   out: &mut Vec<Segment<'a>>| {
        while !*done && *pos <= until {
            while stack.last().is_some_and(|(end, _)| *end < *pos) {
                stack.pop();
            }
            let top = stack.last().copied();
            let seg_end = top.map_or(until, |(end, _)| end.min(until));
            push_segment(out, *pos, seg_end, top.map(|(_, s)| s));
            if seg_end >= dom_end {
                *done = true;
            } else {
                *pos = seg_end + 1;
            }
        }
    };
    for (start, end, service) in entries {
        if start > pos {
            advance(&mut pos, &mut done, start - 1, &mut stack, &mut out);
        }
        while stack.last().is_some_and(|(e, _)| *e < start) {
            stack.pop();
        }
        stack.push((end, service));
    }
    advance(&mut pos, &mut done, dom_end, &mut stack, &mut out);
    out
}

fn push_segment<'a>(out: &mut Vec<Segment<'a>>, start: u128, end: u128, s: Option<&'a ServiceId>) {
    if let Some(last) = out.last_mut()
        && last.2 == s
        && last.1 + 1 == start
    {
        last.1 = end;
        return;
    }
    out.push((start, end, s));
}

/// Ranges of `domain` routed differently by `before` and `after`, as minimal CIDR blocks.
fn changed_ranges(
    domain: IpNet,
    before: &[(IpNet, &ServiceId)],
    after: &[(IpNet, &ServiceId)],
) -> Vec<ImpactRange> {
    let a = routing(domain, before);
    let b = routing(domain, after);
    let (_, dom_end) = bounds(&domain);
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    let mut run: Option<(u128, u128, Option<&ServiceId>, Option<&ServiceId>)> = None;
    while i < a.len() && j < b.len() {
        let start = a[i].0.max(b[j].0);
        let end = a[i].1.min(b[j].1);
        let (from, to) = (a[i].2, b[j].2);
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
        if a[i].1 == end {
            i += 1;
        }
        if b[j].1 == end {
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

/// Calls `each` with the minimal CIDR blocks covering `[start, end]` in `domain`'s family.
fn blocks(domain: IpNet, mut start: u128, end: u128, mut each: impl FnMut(IpNet)) {
    let width = u32::from(domain.max_prefix_len());
    loop {
        // The largest aligned block at `start` that stays within `end`.
        let mut bits = if start == 0 {
            width
        } else {
            start.trailing_zeros().min(width)
        };
        while bits > 0 && span_end(start, bits) > end {
            bits -= 1;
        }
        let len = (width - bits) as u8;
        each(match domain {
            IpNet::V4(_) => IpNet::V4(
                Ipv4Net::new(std::net::Ipv4Addr::from(start as u32), len)
                    .expect("prefix length is at most 32"),
            ),
            IpNet::V6(_) => IpNet::V6(
                Ipv6Net::new(std::net::Ipv6Addr::from(start), len)
                    .expect("prefix length is at most 128"),
            ),
        });
        let last = span_end(start, bits);
        if last >= end {
            return;
        }
        start = last + 1;
    }
}

/// The last address of the block of `2^bits` addresses starting at `start`.
fn span_end(start: u128, bits: u32) -> u128 {
    if bits >= 128 {
        u128::MAX
    } else {
        start.saturating_add((1u128 << bits) - 1)
    }
}

/// The ranges that briefly route elsewhere while `steps` run: for each delete immediately
/// followed by a create of the same CIDR (a replace), the addresses the deleted binding routed
/// (not those of more-specific bindings inside it) fall back to the nearest binding that still
/// covers them, or to nothing. Returned as minimal CIDR blocks; a replace whose fallback is
/// its own old service has no gap.
pub fn gaps(state: &PrefixState, steps: &[Step]) -> Vec<Gap> {
    let is_replace = |pair: &[Step]| matches!(pair, [Step::Delete { cidr: a, .. }, Step::Create { cidr: b, .. }] if a == b);
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
                if let Some(bound) = current.get_mut(cidr)
                    && bound.remove(service)
                {
                    current.remove(cidr);
                }
                if let Some(Step::Create {
                    cidr: next,
                    service: to,
                }) = steps.get(i + 1)
                    && next == cidr
                    && !current.contains_key(cidr)
                {
                    gap_of(&current, *cidr, service, to, &mut out);
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

/// Which binding routes `addr`: the most specific CIDR of `table` that contains it.
pub fn route<T>(table: &[(IpNet, T)], addr: IpAddr) -> Option<&(IpNet, T)> {
    table
        .iter()
        .filter(|(net, _)| net.contains(&addr))
        .max_by_key(|(net, _)| net.prefix_len())
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

    #[test]
    fn route_picks_the_most_specific() {
        let table = vec![(net("192.0.2.0/24"), "mt"), (net("192.0.2.16/29"), "cdn")];
        assert_eq!(
            route(&table, "192.0.2.17".parse().unwrap()).unwrap().1,
            "cdn"
        );
        assert_eq!(route(&table, "192.0.2.1".parse().unwrap()).unwrap().1, "mt");
        assert!(route(&table, "198.51.100.1".parse().unwrap()).is_none());
    }
}
