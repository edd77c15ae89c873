//! Storage and indexes of the emulated account: its prefixes and their bindings as records,
//! found by id in O(1) and by CIDR in O(log n), listed in creation order.
//!
//! Each prefix's bindings are held twice: as records in creation order (the order List
//! Bindings answers in), and in a [`PrefixBindings`] of the rules core, by CIDR, which the
//! account's create and delete checks run on. [`Store`] keeps the two and the account-wide id
//! index in step. Nothing here checks the API's rules or knows the wire format; the store only
//! refuses what would corrupt it (an id used twice, a binding of an unknown prefix), as a
//! [`SeedError`].

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use ipnet::IpNet;

use crate::model::{BindingId, Prefix, PrefixId, ProvisioningState, ServiceId};
use crate::rules::{Entry, PrefixBindings};

/// A seed, or a mirror of a live account, that cannot become an emulated account.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeedError {
    /// A seeded binding names a service the catalog lacks.
    #[error(
        "binding {binding} of prefix {prefix}: unknown service `{service}`; use a name or an id of the catalog: {known}"
    )]
    UnknownService {
        prefix: IpNet,
        binding: IpNet,
        service: String,
        /// The catalog, `name (id)`, comma-separated.
        known: String,
    },
    /// Two prefixes with one id.
    #[error("prefix id `{id}` is used by both {first} and {second}; give each prefix its own id")]
    DuplicatePrefixId {
        id: PrefixId,
        first: IpNet,
        second: IpNet,
    },
    /// Two bindings with one id.
    #[error(
        "binding id `{id}` is used twice (for {first} and {second}); give each binding its own id"
    )]
    DuplicateBindingId {
        id: BindingId,
        first: IpNet,
        second: IpNet,
    },
    /// A binding for a prefix the account does not have.
    #[error("no prefix with id `{0}` in the account; add the prefix before its bindings")]
    UnknownPrefix(PrefixId),
}

/// When a binding is (or becomes) active.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum StateRecord {
    /// Seeded or mirrored: the state never changes.
    Fixed(ProvisioningState),
    /// Created here: `provisioning` until this time, `active` from then on.
    ActiveAt(Duration),
}

/// One binding as the account holds it.
#[derive(Debug, Clone)]
pub(super) struct BindingRecord {
    pub(super) id: BindingId,
    pub(super) cidr: IpNet,
    pub(super) service_id: ServiceId,
    /// The name a mirrored binding came with, used when the catalog lacks its service.
    pub(super) service_name: Option<String>,
    pub(super) state: StateRecord,
}

impl BindingRecord {
    /// The binding's state at `now`.
    pub(super) fn state_at(&self, now: Duration) -> ProvisioningState {
        match &self.state {
            StateRecord::Fixed(s) => s.clone(),
            StateRecord::ActiveAt(t) if now >= *t => ProvisioningState::Active,
            StateRecord::ActiveAt(_) => ProvisioningState::Provisioning,
        }
    }
}

/// The order in which the account received a binding: the account's bindings are numbered
/// from 0 as they are inserted or created, and a number is never reused.
type Sequence = u64;

/// One prefix and its bindings.
#[derive(Debug, Clone)]
pub(super) struct PrefixRecord {
    pub(super) prefix: Prefix,
    /// By sequence, so in creation order, which is the order List Bindings answers in.
    bindings: BTreeMap<Sequence, BindingRecord>,
    /// The same bindings by CIDR, for the rules.
    rules: PrefixBindings,
}

impl PrefixRecord {
    fn new(prefix: Prefix) -> Self {
        Self {
            rules: PrefixBindings::new(prefix.cidr),
            prefix,
            bindings: BTreeMap::new(),
        }
    }

    /// The bindings by CIDR, for the create and delete checks.
    pub(super) fn rules(&self) -> &PrefixBindings {
        &self.rules
    }

    /// The bindings in creation order.
    pub(super) fn iter(&self) -> impl Iterator<Item = &BindingRecord> + '_ {
        self.bindings.values()
    }

    fn get(&self, sequence: Sequence) -> Option<&BindingRecord> {
        self.bindings.get(&sequence)
    }

    fn push(&mut self, sequence: Sequence, binding: BindingRecord) {
        self.rules.insert(
            binding.cidr,
            Entry {
                id: binding.id.clone(),
                service: binding.service_id.clone(),
            },
        );
        self.bindings.insert(sequence, binding);
    }

    fn remove(&mut self, sequence: Sequence) -> Option<BindingRecord> {
        let binding = self.bindings.remove(&sequence)?;
        self.rules.remove(binding.cidr, &binding.id);
        Some(binding)
    }
}

/// A binding id as a key of [`Store::binding_index`], held inline and padded with NULs: a
/// binding id has at most 32 characters and no NUL, so the index needs no allocation of its own
/// per binding and two ids never share a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct IdKey([u8; 32]);

impl IdKey {
    /// The key of `id`; `None` when `id` cannot be a binding id (too long, or with a NUL), so
    /// is in no index.
    fn new(id: &str) -> Option<Self> {
        if id.bytes().any(|b| b == 0) {
            return None;
        }
        let mut bytes = [0; 32];
        bytes.get_mut(..id.len())?.copy_from_slice(id.as_bytes());
        Some(Self(bytes))
    }

    fn of(id: &BindingId) -> Self {
        Self::new(id.as_str()).expect("a binding id is 1 to 32 letters and digits")
    }
}

/// Where a binding lives: its prefix (an index into [`Store::prefixes`]) and its sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Slot {
    pub(super) prefix: usize,
    sequence: Sequence,
}

/// Every prefix and binding of the account, with the indexes that find them.
///
/// Every operation costs O(1) or O(log n) in the number of prefixes and bindings: nothing
/// scans the account.
#[derive(Debug, Clone, Default)]
pub(super) struct Store {
    /// In creation order, which is the order List Prefixes answers in. Never shrinks, so an
    /// index into it stays valid.
    prefixes: Vec<PrefixRecord>,
    /// Each prefix id → its index in `prefixes`. Only looked up, never iterated.
    prefix_index: HashMap<String, usize>,
    /// Each binding id in the account → where the binding lives. Binding ids are unique across
    /// the account. Only looked up, never iterated.
    binding_index: HashMap<IdKey, Slot>,
    /// The sequence the next binding gets.
    next_sequence: Sequence,
}

impl Store {
    /// Adds a prefix, keeping its id. Fails only when the id is already taken.
    pub(super) fn add_prefix(&mut self, prefix: Prefix) -> Result<(), SeedError> {
        if let Some(&other) = self.prefix_index.get(prefix.id.as_str()) {
            return Err(SeedError::DuplicatePrefixId {
                id: prefix.id,
                first: self.prefixes[other].prefix.cidr,
                second: prefix.cidr,
            });
        }
        self.prefix_index
            .insert(prefix.id.as_str().to_owned(), self.prefixes.len());
        self.prefixes.push(PrefixRecord::new(prefix));
        Ok(())
    }

    /// Adds `binding` as the newest of prefix `prefix`, without the API's rules. Fails only on
    /// an unknown prefix or a binding id already in use.
    pub(super) fn insert(
        &mut self,
        prefix: &PrefixId,
        binding: BindingRecord,
    ) -> Result<(), SeedError> {
        if let Some(other) = self.slot(binding.id.as_str()).and_then(|s| self.get(s)) {
            return Err(SeedError::DuplicateBindingId {
                id: binding.id,
                first: other.cidr,
                second: binding.cidr,
            });
        }
        let index = self
            .prefix_at(prefix.as_str())
            .ok_or_else(|| SeedError::UnknownPrefix(prefix.clone()))?;
        self.push(index, binding);
        Ok(())
    }

    /// Adds `binding` as the newest of the prefix at `index`, keeping the indexes in step.
    /// The caller has checked that its id is not in use.
    pub(super) fn push(&mut self, index: usize, binding: BindingRecord) {
        let slot = Slot {
            prefix: index,
            sequence: self.next_sequence,
        };
        self.next_sequence += 1;
        let previous = self.binding_index.insert(IdKey::of(&binding.id), slot);
        debug_assert!(previous.is_none(), "binding id {} is in use", binding.id);
        self.prefixes[index].push(slot.sequence, binding);
    }

    /// Removes the binding at `slot` from its prefix and the indexes.
    pub(super) fn remove(&mut self, slot: Slot) -> Option<BindingRecord> {
        let removed = self.prefixes[slot.prefix].remove(slot.sequence)?;
        self.binding_index.remove(&IdKey::of(&removed.id));
        Some(removed)
    }

    /// The index of the prefix with id `prefix`.
    pub(super) fn prefix_at(&self, prefix: &str) -> Option<usize> {
        self.prefix_index.get(prefix).copied()
    }

    /// The prefix at `index`, which [`Store::prefix_at`] or a [`Slot`] gave.
    pub(super) fn prefix(&self, index: usize) -> &PrefixRecord {
        &self.prefixes[index]
    }

    /// The prefixes in creation order.
    pub(super) fn prefixes(&self) -> impl Iterator<Item = &PrefixRecord> + '_ {
        self.prefixes.iter()
    }

    /// Where binding `id` lives, in whichever prefix; `None` for an id the account lacks, or a
    /// string that cannot be a binding id.
    pub(super) fn slot(&self, id: &str) -> Option<Slot> {
        self.binding_index.get(&IdKey::new(id)?).copied()
    }

    /// The binding at `slot`.
    pub(super) fn get(&self, slot: Slot) -> Option<&BindingRecord> {
        self.prefixes[slot.prefix].get(slot.sequence)
    }

    /// Whether some binding of the account has id `id`.
    pub(super) fn has_binding(&self, id: &BindingId) -> bool {
        self.binding_index.contains_key(&IdKey::of(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn record(id: &str, cidr: &str) -> BindingRecord {
        BindingRecord {
            id: BindingId::new(id).unwrap(),
            cidr: net(cidr),
            service_id: ServiceId::new("cdn").unwrap(),
            service_name: None,
            state: StateRecord::Fixed(ProvisioningState::Active),
        }
    }

    fn store() -> (Store, PrefixId) {
        let mut s = Store::default();
        let p = PrefixId::new("p4").unwrap();
        s.add_prefix(Prefix {
            id: p.clone(),
            cidr: net("192.0.2.0/24"),
            description: None,
        })
        .unwrap();
        (s, p)
    }

    #[test]
    fn records_and_the_rules_view_stay_in_step() {
        let (mut s, p) = store();
        s.insert(&p, record("w1", "192.0.2.0/24")).unwrap();
        s.insert(&p, record("w2", "192.0.2.0/24")).unwrap();
        s.insert(&p, record("s1", "192.0.2.16/29")).unwrap();
        let index = s.prefix_at("p4").unwrap();
        assert_eq!(s.prefix(index).rules().len(), 3);
        assert_eq!(s.prefix(index).rules().count(net("192.0.2.0/24")), 2);
        let slot = s.slot("w1").unwrap();
        assert_eq!(s.remove(slot).unwrap().id.as_str(), "w1");
        let rules = s.prefix(index).rules();
        assert_eq!(rules.len(), 2);
        assert_eq!(rules.first(net("192.0.2.0/24")).unwrap().id.as_str(), "w2");
        assert!(s.slot("w1").is_none());
        assert!(!s.has_binding(&BindingId::new("w1").unwrap()));
        let order: Vec<&str> = s.prefix(index).iter().map(|b| b.id.as_str()).collect();
        assert_eq!(order, ["w2", "s1"]);
    }

    #[test]
    fn ids_are_unique_across_the_account_and_freed_on_removal() {
        let (mut s, p) = store();
        s.insert(&p, record("x1", "192.0.2.16/29")).unwrap();
        assert_eq!(
            s.insert(&p, record("x1", "192.0.2.32/29")).unwrap_err(),
            SeedError::DuplicateBindingId {
                id: BindingId::new("x1").unwrap(),
                first: net("192.0.2.16/29"),
                second: net("192.0.2.32/29"),
            }
        );
        let slot = s.slot("x1").unwrap();
        s.remove(slot);
        s.insert(&p, record("x1", "192.0.2.32/29")).unwrap();
        let zz = PrefixId::new("zz").unwrap();
        assert_eq!(
            s.insert(&zz, record("x2", "192.0.2.16/29")).unwrap_err(),
            SeedError::UnknownPrefix(zz)
        );
    }

    #[test]
    fn strings_that_cannot_be_binding_ids_are_in_no_index() {
        let (mut s, p) = store();
        s.insert(&p, record("b1", "192.0.2.0/24")).unwrap();
        for id in ["", "a\0", "b1\0", &"b".repeat(33), "192.0.2.0/24"] {
            assert!(s.slot(id).is_none(), "{id:?}");
        }
        assert!(s.slot("b1").is_some());
    }
}
