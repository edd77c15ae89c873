//! The routing model: which binding, and so which service, gets each address of a prefix.
//!
//! An address goes to the service of the most specific binding that contains it. This module
//! computes that once, for every view of it: the planner's traffic impact (the routing before
//! and after a plan, [`segments`]), `svcbind show` (a prefix's bindings as a tree of nested
//! CIDRs, [`PrefixRouting::tree`], and the effective table of minimal ranges,
//! [`PrefixRouting::table`]) and `svcbind route` (the chain of bindings that cover one address,
//! [`PrefixRouting::chain`]). A property test holds the three to the same answer.
//!
//! CIDRs nest or are disjoint, so a prefix's routing is a sequence of contiguous segments, each
//! won by one binding (or by none). Two bindings of one CIDR (a live state the API should not
//! allow) are resolved the same way everywhere: the first one given wins. Pure functions over
//! literal data; linear after sorting.

use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use super::covers;
use crate::model::{
    Binding, BindingId, DesiredPrefix, Prefix, PrefixId, ProvisioningState, ServiceId, Services,
};

/// A run of addresses `[start, end]` (as integers of the family) and the key that wins it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment<K> {
    pub start: u128,
    pub end: u128,
    pub key: Option<K>,
}

/// The first and last address of `net`, as integers.
pub fn bounds(net: &IpNet) -> (u128, u128) {
    match net {
        IpNet::V4(n) => (
            u128::from(u32::from(n.network())),
            u128::from(u32::from(n.broadcast())),
        ),
        IpNet::V6(n) => (u128::from(n.network()), u128::from(n.broadcast())),
    }
}

/// `addr` as an integer of its family.
pub fn address(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

/// The effective routing of `domain` under `table`: contiguous segments covering it, each won
/// by the key of the most specific entry that contains it (`None`: no entry does). Adjacent
/// segments with equal keys are merged, so keying by service gives the service map and keying
/// by binding gives the binding map. Entries outside `domain` are ignored. Of entries with the
/// same CIDR, the first wins.
pub fn segments<K: Copy + Eq>(domain: IpNet, table: &[(IpNet, K)]) -> Vec<Segment<K>> {
    let (dom_start, dom_end) = bounds(&domain);
    let mut entries: Vec<(u128, u128, usize, K)> = table
        .iter()
        .enumerate()
        .filter(|(_, (c, _))| covers(&domain, c))
        .map(|(i, (c, k))| {
            let (a, b) = bounds(c);
            (a, b, i, *k)
        })
        .collect();
    // Outer before inner at the same start (CIDRs nest or are disjoint); of equal CIDRs the
    // first given comes last, so that it ends on top of the stack and wins.
    entries.sort_by_key(|(a, b, i, _)| (*a, std::cmp::Reverse(*b), std::cmp::Reverse(*i)));

    let mut out: Vec<Segment<K>> = Vec::new();
    let mut stack: Vec<(u128, K)> = Vec::new(); // (end, key)
    let mut pos = dom_start;
    let mut done = false;
    // Emits segments from `pos` up to `until` (inclusive) following the stack.
    let advance = |pos: &mut u128,
                   done: &mut bool,
                   until: u128,
                   stack: &mut Vec<(u128, K)>,
                   out: &mut Vec<Segment<K>>| {
        while !*done && *pos <= until {
            while stack.last().is_some_and(|(end, _)| *end < *pos) {
                stack.pop();
            }
            let top = stack.last().copied();
            let seg_end = top.map_or(until, |(end, _)| end.min(until));
            push_segment(out, *pos, seg_end, top.map(|(_, k)| k));
            if seg_end >= dom_end {
                *done = true;
            } else {
                *pos = seg_end + 1;
            }
        }
    };
    for (start, end, _, key) in entries {
        if start > pos {
            advance(&mut pos, &mut done, start - 1, &mut stack, &mut out);
        }
        while stack.last().is_some_and(|(e, _)| *e < start) {
            stack.pop();
        }
        stack.push((end, key));
    }
    advance(&mut pos, &mut done, dom_end, &mut stack, &mut out);
    out
}

fn push_segment<K: Eq>(out: &mut Vec<Segment<K>>, start: u128, end: u128, key: Option<K>) {
    if let Some(last) = out.last_mut()
        && last.key == key
        && last.end + 1 == start
    {
        last.end = end;
        return;
    }
    out.push(Segment { start, end, key });
}

/// Calls `each` with the minimal CIDR blocks that cover `[start, end]` in `domain`'s family,
/// in address order.
pub fn blocks(domain: IpNet, mut start: u128, end: u128, mut each: impl FnMut(IpNet)) {
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
        each(block(domain, start, bits));
        let last = span_end(start, bits);
        if last >= end {
            return;
        }
        start = last + 1;
    }
}

/// The block of `2^bits` addresses at `start`, in `domain`'s family.
pub fn block(domain: IpNet, start: u128, bits: u32) -> IpNet {
    let len = (u32::from(domain.max_prefix_len()) - bits) as u8;
    match domain {
        IpNet::V4(_) => IpNet::V4(
            Ipv4Net::new(std::net::Ipv4Addr::from(start as u32), len)
                .expect("prefix length is at most 32"),
        ),
        IpNet::V6(_) => IpNet::V6(
            Ipv6Net::new(std::net::Ipv6Addr::from(start), len)
                .expect("prefix length is at most 128"),
        ),
    }
}

/// The last address of the block of `2^bits` addresses starting at `start`.
pub fn span_end(start: u128, bits: u32) -> u128 {
    if bits >= 128 {
        u128::MAX
    } else {
        start.saturating_add((1u128 << bits) - 1)
    }
}

/// Number of addresses in `net`, saturating at `u128::MAX` for an IPv6 `/0`.
pub fn size(net: &IpNet) -> u128 {
    let bits = u32::from(net.max_prefix_len() - net.prefix_len());
    1u128.checked_shl(bits).unwrap_or(u128::MAX)
}

/// A binding as the views show it: from the live account (with its id and state) or from the
/// desired-state file (its service as written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutedBinding {
    pub cidr: IpNet,
    /// The service's name (from the account's catalog, or as written in the file); the id
    /// when the catalog does not know it.
    pub service: String,
    /// The service id, when known (live state).
    pub service_id: Option<ServiceId>,
    /// The binding's id (live state).
    pub binding_id: Option<BindingId>,
    /// The provisioning state (live state).
    pub state: Option<ProvisioningState>,
}

/// One prefix and its bindings, sorted by CIDR: what `show` and `route` read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixRouting {
    /// The prefix id (always for the live account; when pinned, for the file).
    pub id: Option<PrefixId>,
    pub cidr: IpNet,
    /// By CIDR, then as given (two live bindings of one CIDR keep their order).
    pub bindings: Vec<RoutedBinding>,
}

/// One row of a prefix's tree of bindings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeRow {
    /// The binding, as an index into [`PrefixRouting::bindings`].
    pub binding: usize,
    /// 0 for a binding no other covers (the prefix-wide one), 1 for those directly inside it…
    pub depth: usize,
    /// The row of the binding that directly covers this one.
    pub parent: Option<usize>,
    /// Whether no later row has the same parent (the tree draws `└` instead of `├`).
    pub last: bool,
}

/// One row of the effective table: a minimal CIDR block and the binding that wins it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableRow {
    pub cidr: IpNet,
    /// The winning binding, as an index into [`PrefixRouting::bindings`]; `None` when no
    /// binding covers the block.
    pub winner: Option<usize>,
}

impl PrefixRouting {
    /// A prefix with `bindings`, which are sorted here by CIDR (stable: equal CIDRs keep their
    /// order, and the first of them wins their addresses).
    pub fn new(id: Option<PrefixId>, cidr: IpNet, mut bindings: Vec<RoutedBinding>) -> Self {
        bindings.sort_by_key(|b| b.cidr);
        Self { id, cidr, bindings }
    }

    /// A live prefix: its bindings with their ids and states, services named by the catalog.
    pub fn live(prefix: &Prefix, bindings: &[Binding], services: &Services) -> Self {
        let mut bindings: Vec<&Binding> = bindings.iter().collect();
        // Of two bindings of one CIDR, the lower id first, so the answer is stable.
        bindings.sort_by(|a, b| (a.cidr, &a.id).cmp(&(b.cidr, &b.id)));
        Self::new(
            Some(prefix.id.clone()),
            prefix.cidr,
            bindings
                .into_iter()
                .map(|b| RoutedBinding {
                    cidr: b.cidr,
                    service: services.display(&b.service_id).to_owned(),
                    service_id: Some(b.service_id.clone()),
                    binding_id: Some(b.id.clone()),
                    state: Some(b.state.clone()),
                })
                .collect(),
        )
    }

    /// A prefix of the desired-state file, services as written.
    pub fn desired(prefix: &DesiredPrefix) -> Self {
        Self::new(
            prefix.id.clone(),
            prefix.cidr,
            prefix
                .bindings
                .iter()
                .map(|b| RoutedBinding {
                    cidr: b.cidr,
                    service: b.service.clone(),
                    service_id: None,
                    binding_id: None,
                    state: None,
                })
                .collect(),
        )
    }

    /// The bindings as a tree of nested CIDRs, in pre-order (a binding, then what lies inside
    /// it). Two bindings of one CIDR are siblings; what lies inside them hangs under the last.
    pub fn tree(&self) -> Vec<TreeRow> {
        let mut rows: Vec<TreeRow> = Vec::with_capacity(self.bindings.len());
        // Rows of the bindings that cover the current one, outermost first.
        let mut open: Vec<usize> = Vec::new();
        for (i, b) in self.bindings.iter().enumerate() {
            while let Some(&top) = open.last() {
                let outer = self.bindings[rows[top].binding].cidr;
                if covers(&outer, &b.cidr) && outer != b.cidr {
                    break;
                }
                open.pop();
            }
            rows.push(TreeRow {
                binding: i,
                depth: open.len(),
                parent: open.last().copied(),
                last: true,
            });
            open.push(rows.len() - 1);
        }
        // A row is last unless a later row has the same parent.
        let mut seen_parents = std::collections::HashSet::new();
        for row in rows.iter_mut().rev() {
            row.last = seen_parents.insert(row.parent);
        }
        rows
    }

    /// The effective table: the prefix as minimal CIDR blocks in address order, each with the
    /// binding that wins it (the most specific that contains it). Adjacent blocks won by one
    /// binding come from one contiguous range.
    pub fn table(&self) -> Vec<TableRow> {
        let entries: Vec<(IpNet, usize)> = self
            .bindings
            .iter()
            .enumerate()
            .map(|(i, b)| (b.cidr, i))
            .collect();
        let mut rows = Vec::new();
        for seg in segments(self.cidr, &entries) {
            blocks(self.cidr, seg.start, seg.end, |cidr| {
                rows.push(TableRow {
                    cidr,
                    winner: seg.key,
                });
            });
        }
        rows
    }

    /// The bindings that contain `addr`, least specific first: the last one wins. Of two
    /// bindings of one CIDR, only the first is in the chain, as it is the one that routes.
    pub fn chain(&self, addr: IpAddr) -> Vec<usize> {
        let mut chain: Vec<usize> = Vec::new();
        for (i, b) in self.bindings.iter().enumerate() {
            if b.cidr.contains(&addr)
                && chain
                    .last()
                    .is_none_or(|&last| self.bindings[last].cidr != b.cidr)
            {
                chain.push(i);
            }
        }
        // Sorted by CIDR, the containing ones come outermost first already.
        chain
    }

    /// Whether the prefix contains `addr`.
    pub fn contains(&self, addr: IpAddr) -> bool {
        self.cidr.contains(&addr)
    }
}

/// Which entry of `table` routes `addr`: the most specific CIDR that contains it (of entries
/// with the same CIDR, the first).
pub fn route<T>(table: &[(IpNet, T)], addr: IpAddr) -> Option<&(IpNet, T)> {
    table
        .iter()
        .filter(|(net, _)| net.contains(&addr))
        .reduce(|best, e| {
            if e.0.prefix_len() > best.0.prefix_len() {
                e
            } else {
                best
            }
        })
}

/// The row of `table` that holds `addr` (binary search; the rows cover their prefix in order).
pub fn table_row(table: &[TableRow], addr: IpAddr) -> Option<&TableRow> {
    let a = address(addr);
    let i = table.partition_point(|row| bounds(&row.cidr).1 < a);
    table.get(i).filter(|row| row.cidr.contains(&addr))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::tests::net;

    fn routing(cidr: &str, bindings: &[(&str, &str)]) -> PrefixRouting {
        PrefixRouting::new(
            None,
            net(cidr),
            bindings
                .iter()
                .map(|(c, s)| RoutedBinding {
                    cidr: net(c),
                    service: (*s).to_owned(),
                    service_id: None,
                    binding_id: None,
                    state: None,
                })
                .collect(),
        )
    }

    fn rows(r: &PrefixRouting) -> Vec<String> {
        r.table()
            .iter()
            .map(|row| {
                let who = row
                    .winner
                    .map_or("none".to_owned(), |i| r.bindings[i].service.clone());
                format!("{} {who}", row.cidr)
            })
            .collect()
    }

    #[test]
    fn the_table_gives_each_minimal_block_its_most_specific_binding() {
        let r = routing(
            "192.0.2.0/24",
            &[
                ("192.0.2.0/24", "mt"),
                ("192.0.2.0/25", "spectrum"),
                ("192.0.2.8/29", "cdn"),
            ],
        );
        assert_eq!(
            rows(&r),
            [
                "192.0.2.0/29 spectrum",
                "192.0.2.8/29 cdn",
                "192.0.2.16/28 spectrum",
                "192.0.2.32/27 spectrum",
                "192.0.2.64/26 spectrum",
                "192.0.2.128/25 mt",
            ]
        );
        // Without a prefix-wide binding, the rest is bound to nothing.
        let r = routing("192.0.2.0/24", &[("192.0.2.128/25", "cdn")]);
        assert_eq!(rows(&r), ["192.0.2.0/25 none", "192.0.2.128/25 cdn"]);
        assert_eq!(rows(&routing("2001:db8::/48", &[])), ["2001:db8::/48 none"]);
    }

    #[test]
    fn adjacent_bindings_with_one_service_stay_apart_in_the_table() {
        let r = routing(
            "192.0.2.0/24",
            &[("192.0.2.0/24", "cdn"), ("192.0.2.0/25", "cdn")],
        );
        let table = r.table();
        assert_eq!(
            table,
            [
                TableRow {
                    cidr: net("192.0.2.0/25"),
                    winner: Some(1)
                },
                TableRow {
                    cidr: net("192.0.2.128/25"),
                    winner: Some(0)
                },
            ]
        );
    }

    #[test]
    fn the_chain_runs_from_the_prefix_to_the_winner() {
        let r = routing(
            "192.0.2.0/24",
            &[
                ("192.0.2.8/29", "cdn"),
                ("192.0.2.0/24", "mt"),
                ("192.0.2.0/25", "spectrum"),
                ("192.0.2.200/29", "cdn"),
            ],
        );
        let chain = r.chain("192.0.2.9".parse().unwrap());
        let cidrs: Vec<String> = chain
            .iter()
            .map(|&i| r.bindings[i].cidr.to_string())
            .collect();
        assert_eq!(cidrs, ["192.0.2.0/24", "192.0.2.0/25", "192.0.2.8/29"]);
        assert_eq!(r.chain("192.0.2.130".parse().unwrap()).len(), 1);
        assert!(r.chain("198.51.100.1".parse().unwrap()).is_empty());
    }

    #[test]
    fn of_two_bindings_of_one_cidr_the_first_routes_everywhere() {
        let r = routing(
            "192.0.2.0/24",
            &[("192.0.2.0/24", "mt"), ("192.0.2.0/24", "cdn")],
        );
        assert_eq!(rows(&r), ["192.0.2.0/24 mt"]);
        let chain = r.chain("192.0.2.1".parse().unwrap());
        assert_eq!(chain, [0]);
        let table: Vec<(IpNet, &str)> =
            vec![(net("192.0.2.0/24"), "a"), (net("192.0.2.0/24"), "b")];
        assert_eq!(segments(net("192.0.2.0/24"), &table)[0].key, Some("a"));
    }

    #[test]
    fn the_tree_nests_cidrs_and_marks_the_last_child() {
        let r = routing(
            "192.0.2.0/24",
            &[
                ("192.0.2.0/24", "mt"),
                ("192.0.2.0/25", "spectrum"),
                ("192.0.2.8/29", "cdn"),
                ("192.0.2.64/27", "cdn"),
                ("192.0.2.128/28", "cdn"),
            ],
        );
        let shape: Vec<(String, usize, Option<usize>, bool)> = r
            .tree()
            .iter()
            .map(|row| {
                (
                    r.bindings[row.binding].cidr.to_string(),
                    row.depth,
                    row.parent,
                    row.last,
                )
            })
            .collect();
        assert_eq!(
            shape,
            [
                ("192.0.2.0/24".to_owned(), 0, None, true),
                ("192.0.2.0/25".to_owned(), 1, Some(0), false),
                ("192.0.2.8/29".to_owned(), 2, Some(1), false),
                ("192.0.2.64/27".to_owned(), 2, Some(1), true),
                ("192.0.2.128/28".to_owned(), 1, Some(0), true),
            ]
        );
        // Two bindings of one CIDR are siblings.
        let r = routing(
            "192.0.2.0/24",
            &[("192.0.2.0/24", "mt"), ("192.0.2.0/24", "cdn")],
        );
        let depths: Vec<usize> = r.tree().iter().map(|row| row.depth).collect();
        assert_eq!(depths, [0, 0]);
    }

    #[test]
    fn a_table_row_is_found_by_address() {
        let r = routing(
            "2001:db8::/48",
            &[("2001:db8::/48", "cdn"), ("2001:db8:0:10::/64", "spectrum")],
        );
        let table = r.table();
        let row = table_row(&table, "2001:db8:0:10::5".parse().unwrap()).unwrap();
        assert_eq!(row.cidr, net("2001:db8:0:10::/64"));
        let row = table_row(&table, "2001:db8:0:ffff::1".parse().unwrap()).unwrap();
        assert_eq!(row.winner, Some(0));
        assert!(table_row(&table, "2001:db9::1".parse().unwrap()).is_none());
    }

    #[test]
    fn route_picks_the_most_specific() {
        let table = vec![
            (net("192.0.2.0/24"), "mt"),
            (net("192.0.2.16/29"), "cdn"),
            (net("192.0.2.16/29"), "spectrum"),
        ];
        assert_eq!(
            route(&table, "192.0.2.17".parse().unwrap()).unwrap().1,
            "cdn"
        );
        assert_eq!(route(&table, "192.0.2.1".parse().unwrap()).unwrap().1, "mt");
        assert!(route(&table, "198.51.100.1".parse().unwrap()).is_none());
    }

    #[test]
    fn sizes_do_not_overflow() {
        assert_eq!(size(&net("192.0.2.0/24")), 256);
        assert_eq!(size(&net("::/0")), u128::MAX);
        assert_eq!(size(&net("2001:db8::/64")), 1 << 64);
    }
}

/// The three views of routing agree: for random live and desired states of a prefix and
/// random addresses, the service `route` gives (the winner of the chain), the one `show`'s
/// effective table implies (the row that holds the address), and the one the planner's impact
/// assumes (its `from` before the plan, its `to` after; outside the impact, no change) are the
/// same, and so is what the impact's phrases say.
#[cfg(test)]
mod props {
    use std::collections::BTreeMap;
    use std::net::IpAddr;

    use ipnet::IpNet;
    use proptest::prelude::*;

    use super::{PrefixRouting, RoutedBinding, TableRow, bounds, table_row};
    use crate::model::{
        Binding, BindingId, Prefix, PrefixId, ProvisioningState, Service, ServiceId, Services,
    };
    use crate::plan::impact::{impact, phrases};
    use crate::plan::{PrefixState, covers};

    fn services() -> Services {
        Services::new(["mt", "cdn", "sp"].map(|s| Service {
            id: ServiceId::new(s).unwrap(),
            name: s.to_uppercase(),
        }))
    }

    fn service(i: u8) -> ServiceId {
        ServiceId::new(["mt", "cdn", "sp"][usize::from(i % 3)]).unwrap()
    }

    /// CIDRs inside `prefix` (1 to 10 bits longer), each with a service.
    fn cidrs(prefix: IpNet) -> impl Strategy<Value = Vec<(IpNet, u8)>> {
        let extra = (prefix.max_prefix_len() - prefix.prefix_len()).min(10);
        prop::collection::vec((1..=extra, any::<u128>(), 0u8..3), 0..12).prop_map(move |picks| {
            picks
                .into_iter()
                .map(|(more, pick, service)| {
                    let host_bits = u32::from(prefix.max_prefix_len() - prefix.prefix_len() - more);
                    let (start, _) = bounds(&prefix);
                    let offset = (pick % (1u128 << more)) << host_bits;
                    (super::block(prefix, start + offset, host_bits), service)
                })
                .collect()
        })
    }

    #[derive(Debug, Clone)]
    struct Case {
        state: PrefixState,
        addresses: Vec<IpAddr>,
    }

    fn case() -> impl Strategy<Value = Case> {
        let prefix = prop_oneof![
            Just("192.0.2.0/24".parse::<IpNet>().unwrap()),
            Just("2001:db8:beef::/48".parse::<IpNet>().unwrap()),
        ];
        prefix.prop_flat_map(|prefix| {
            (
                Just(prefix),
                (any::<bool>(), 0u8..3, cidrs(prefix)),
                (any::<bool>(), 0u8..3, cidrs(prefix)),
                prop::collection::vec(any::<u128>(), 0..24),
                cidrs(prefix),
            )
                .prop_map(|(prefix, live, desired, picks, ignore)| {
                    let (live_wide, live_service, live) = live;
                    let (desired_wide, desired_service, desired_more) = desired;
                    // One live binding per CIDR, as the API keeps them; maybe no prefix-wide one.
                    let mut live_by_cidr: BTreeMap<IpNet, ServiceId> =
                        live.into_iter().map(|(c, s)| (c, service(s))).collect();
                    if live_wide {
                        live_by_cidr.insert(prefix, service(live_service));
                    }
                    let live: Vec<Binding> = live_by_cidr
                        .into_iter()
                        .enumerate()
                        .map(|(i, (cidr, service_id))| Binding {
                            id: BindingId::new(format!("b{i}")).unwrap(),
                            cidr,
                            service_id,
                            service_name: None,
                            state: ProvisioningState::Active,
                        })
                        .collect();
                    // At most one `ignore` range, never the whole prefix.
                    let ignore: Vec<IpNet> = ignore.into_iter().take(1).map(|(c, _)| c).collect();
                    // Empty, or the prefix-wide binding and more-specific ones, none ignored.
                    let mut desired: BTreeMap<IpNet, ServiceId> = BTreeMap::new();
                    if desired_wide {
                        desired.extend(desired_more.into_iter().map(|(c, s)| (c, service(s))));
                        desired.retain(|c, _| !ignore.iter().any(|r| covers(r, c)));
                        desired.insert(prefix, service(desired_service));
                    }
                    let (start, end) = bounds(&prefix);
                    let mut addresses: Vec<u128> = picks
                        .into_iter()
                        .map(|p| start + p % (end - start + 1))
                        .collect();
                    // The edges of every binding, and the addresses just outside them.
                    for cidr in live.iter().map(|b| b.cidr).chain(desired.keys().copied()) {
                        let (a, b) = bounds(&cidr);
                        addresses.extend([a, b]);
                        if a > start {
                            addresses.push(a - 1);
                        }
                        if b < end {
                            addresses.push(b + 1);
                        }
                    }
                    let addresses = addresses
                        .into_iter()
                        .map(|a| match prefix {
                            IpNet::V4(_) => IpAddr::from(std::net::Ipv4Addr::from(a as u32)),
                            IpNet::V6(_) => IpAddr::from(std::net::Ipv6Addr::from(a)),
                        })
                        .collect();
                    Case {
                        state: PrefixState {
                            id: PrefixId::new("p1").unwrap(),
                            cidr: prefix,
                            desired,
                            ignore,
                            live,
                        },
                        addresses,
                    }
                })
        })
    }

    /// The service of the winner of the chain, as `route` gives it.
    fn routed(r: &PrefixRouting, addr: IpAddr) -> Option<ServiceId> {
        r.chain(addr)
            .last()
            .and_then(|&i| r.bindings[i].service_id.clone())
    }

    /// The service `show`'s effective table gives the row that holds `addr`.
    fn shown(r: &PrefixRouting, table: &[TableRow], addr: IpAddr) -> Option<ServiceId> {
        let row = table_row(table, addr).expect("the table covers the prefix");
        row.winner.and_then(|i| r.bindings[i].service_id.clone())
    }

    fn routing_of(
        cidr: IpNet,
        bindings: impl IntoIterator<Item = (IpNet, ServiceId)>,
    ) -> PrefixRouting {
        PrefixRouting::new(
            None,
            cidr,
            bindings
                .into_iter()
                .map(|(cidr, s)| RoutedBinding {
                    cidr,
                    service: s.to_string(),
                    service_id: Some(s),
                    binding_id: None,
                    state: None,
                })
                .collect(),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn route_show_and_impact_agree(case in case()) {
            let state = &case.state;
            let prefix = Prefix { id: state.id.clone(), cidr: state.cidr, description: None };
            // Before: the live account, as `route` and `show` read it.
            let before = PrefixRouting::live(&prefix, &state.live, &services());
            // After: the desired bindings, and the live ones the plan leaves alone.
            let ignored = state
                .live
                .iter()
                .filter(|b| state.ignore.iter().any(|r| covers(r, &b.cidr)))
                .map(|b| (b.cidr, b.service_id.clone()));
            let after = routing_of(
                state.cidr,
                state.desired.iter().map(|(c, s)| (*c, s.clone())).chain(ignored),
            );
            let (before_table, after_table) = (before.table(), after.table());
            let ranges = impact(state);
            let said = phrases(ranges.iter().map(|r| (r.cidr, (r.from.clone(), r.to.clone()))));
            for &addr in &case.addresses {
                let (was, will) = (routed(&before, addr), routed(&after, addr));
                prop_assert_eq!(&was, &shown(&before, &before_table, addr), "before, {}", addr);
                prop_assert_eq!(&will, &shown(&after, &after_table, addr), "after, {}", addr);
                match ranges.iter().find(|r| r.cidr.contains(&addr)) {
                    Some(r) => {
                        prop_assert_eq!(&r.from, &was, "impact from, {}", addr);
                        prop_assert_eq!(&r.to, &will, "impact to, {}", addr);
                    }
                    None => prop_assert_eq!(&was, &will, "no impact at {}", addr),
                }
                let in_phrase: Vec<_> = said
                    .iter()
                    .filter(|p| p.cidr.contains(&addr) && !p.except.iter().any(|h| h.contains(&addr)))
                    .collect();
                prop_assert!(in_phrase.len() <= 1, "{} is in {:?}", addr, in_phrase);
                let key = in_phrase.first().map(|p| p.key.clone());
                let expected = (was != will).then(|| (was.clone(), will.clone()));
                prop_assert_eq!(key, expected, "phrases at {}", addr);
            }
        }
    }
}
