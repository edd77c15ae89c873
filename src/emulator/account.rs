//! The rules core: one emulated Cloudflare account, its services, prefixes and bindings, and
//! the rules the API enforces (and those svcbind assumes it enforces).
//!
//! Everything here is synchronous and deterministic: no I/O, no clock, no printing. Time comes in
//! as a [`Duration`] since an arbitrary start, so provisioning is tested without sleeping, and
//! generated ids are hashes of what the account has seen, so a run can be repeated exactly.
//! The answers are the API's own JSON shapes ([`crate::api::wire`]); the HTTP server and the
//! in-process [`crate::api::Api`] both use them, and so does the planner's rehearsal.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::time::Duration;

use ipnet::IpNet;
use sha2::{Digest, Sha256};

use crate::api::error::codes;
use crate::api::wire::{Message, WireBinding, WirePrefix, WireProvisioning, WireService};
use crate::model::{
    AccountId, Binding, BindingId, DesiredBinding, DesiredPrefix, Location, MAGIC_TRANSIT, Prefix,
    PrefixId, ProvisioningState, Service, ServiceId, StateFile,
};

/// The account id of an emulated account whose seed names none (the contract's example id).
pub const DEFAULT_ACCOUNT_ID: &str = "023e105f4ecef8ad9ca31a8372d0c353";

/// The service ids of the default catalog.
pub const MAGIC_TRANSIT_ID: &str = "f2f0ba6cd8a14c3e9ee9d6bd8b4b5f2a";
/// The CDN's id in the default catalog.
pub const CDN_ID: &str = "a7c5b5e1c33d4ea0b2f5d4f6c1e0a9b3";
/// Spectrum's id in the default catalog.
pub const SPECTRUM_ID: &str = "5c3d1e2f4a6b4c8d9e0f1a2b3c4d5e6f";

/// The fixed timestamp reported as a prefix's `created_at` and `modified_at`.
const PREFIX_TIMESTAMP: &str = "2024-01-01T00:00:00Z";

/// [`DEFAULT_ACCOUNT_ID`] as an [`AccountId`].
pub fn default_account_id() -> AccountId {
    AccountId::new(DEFAULT_ACCOUNT_ID).expect("the default account id is 32 hex digits")
}

/// The catalog of an account whose seed has no `services:` map: Magic Transit, CDN, Spectrum.
pub fn default_services() -> Vec<Service> {
    [
        (MAGIC_TRANSIT_ID, MAGIC_TRANSIT),
        (CDN_ID, "CDN"),
        (SPECTRUM_ID, "Spectrum"),
    ]
    .into_iter()
    .map(|(id, name)| Service {
        id: ServiceId::new(id).expect("catalog ids are 32 hex digits"),
        name: name.to_owned(),
    })
    .collect()
}

/// The API's refusal of one call: the HTTP status and the envelope's `errors`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Rejection {
    /// The HTTP status (400, 404).
    pub status: u16,
    /// The envelope's `errors`, at least one.
    pub errors: Vec<Message>,
}

impl Rejection {
    /// A refusal with one error.
    pub fn new(status: u16, code: u32, message: impl Into<String>) -> Self {
        Self {
            status,
            errors: vec![Message::new(code, message)],
        }
    }

    /// A 400 / 1003 refusal of a create or delete, pointing at `pointer` when given.
    fn unsupported(message: impl Into<String>, pointer: Option<&str>) -> Self {
        let mut m = Message::new(codes::UNSUPPORTED_BINDING, message);
        if let Some(p) = pointer {
            m = m.with_pointer(p);
        }
        Self {
            status: 400,
            errors: vec![m],
        }
    }

    /// The API's answer to an account id that is not this account's.
    fn no_route(path: &str) -> Self {
        Self {
            status: 400,
            errors: vec![
                Message::new(
                    codes::NO_ROUTE,
                    format!(
                        "Could not route to {path}, perhaps your object identifier is invalid?"
                    ),
                ),
                Message::new(codes::UNKNOWN_ROUTE, "No route for that URI"),
            ],
        }
    }

    fn prefix_not_found() -> Self {
        Self::new(404, codes::PREFIX_NOT_FOUND, "prefix not found")
    }

    fn binding_not_found() -> Self {
        Self::new(404, codes::BINDING_NOT_FOUND, "binding not found")
    }

    /// The error codes, in order.
    pub fn codes(&self) -> Vec<u32> {
        self.errors.iter().map(|e| e.code).collect()
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        for (i, e) in self.errors.iter().enumerate() {
            f.write_str(if i == 0 { ": " } else { "; " })?;
            write!(f, "{} ({})", e.message, e.code)?;
        }
        Ok(())
    }
}

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
enum StateRecord {
    /// Seeded or mirrored: the state never changes.
    Fixed(ProvisioningState),
    /// Created here: `provisioning` until this time, `active` from then on.
    ActiveAt(Duration),
}

#[derive(Debug, Clone)]
struct BindingRecord {
    id: BindingId,
    cidr: IpNet,
    service_id: ServiceId,
    /// The name a mirrored binding came with, used when the catalog lacks its service.
    service_name: Option<String>,
    state: StateRecord,
}

impl BindingRecord {
    fn state_at(&self, now: Duration) -> ProvisioningState {
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

#[derive(Debug, Clone)]
struct PrefixRecord {
    prefix: Prefix,
    /// By sequence, so in creation order, which is the order List Bindings answers in.
    bindings: BTreeMap<Sequence, BindingRecord>,
    /// Every binding as (CIDR, sequence): a CIDR's bindings, oldest first, are one range (a
    /// mirrored account may bind one CIDR more than once).
    by_cidr: BTreeSet<(IpNet, Sequence)>,
}

impl PrefixRecord {
    fn new(prefix: Prefix) -> Self {
        Self {
            prefix,
            bindings: BTreeMap::new(),
            by_cidr: BTreeSet::new(),
        }
    }

    /// The sequences of `cidr`'s bindings, oldest first.
    fn with_cidr(&self, cidr: IpNet) -> impl Iterator<Item = Sequence> + '_ {
        self.by_cidr
            .range((cidr, Sequence::MIN)..=(cidr, Sequence::MAX))
            .map(|&(_, sequence)| sequence)
    }

    /// How many bindings `cidr` has: O(log n) plus that count, which is 1 but for a mirrored
    /// account that repeats a CIDR.
    fn count(&self, cidr: IpNet) -> usize {
        self.with_cidr(cidr).count()
    }

    fn has_prefix_wide(&self) -> bool {
        self.with_cidr(self.prefix.cidr).next().is_some()
    }

    /// The oldest binding of `cidr`.
    fn first_with(&self, cidr: IpNet) -> Option<&BindingRecord> {
        self.get(self.with_cidr(cidr).next()?)
    }

    fn get(&self, sequence: Sequence) -> Option<&BindingRecord> {
        self.bindings.get(&sequence)
    }

    /// The bindings in creation order.
    fn iter(&self) -> impl Iterator<Item = &BindingRecord> + '_ {
        self.bindings.values()
    }

    fn push(&mut self, sequence: Sequence, binding: BindingRecord) {
        self.by_cidr.insert((binding.cidr, sequence));
        self.bindings.insert(sequence, binding);
    }

    fn remove(&mut self, sequence: Sequence) -> Option<BindingRecord> {
        let binding = self.bindings.remove(&sequence)?;
        self.by_cidr.remove(&(binding.cidr, sequence));
        Some(binding)
    }
}

/// A binding id as a key of [`Account::binding_index`], held inline and padded with NULs: a
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

/// Where a binding lives: its prefix (an index into [`Account::prefixes`]) and its sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    prefix: usize,
    sequence: Sequence,
}

/// One emulated account: its catalog, prefixes and bindings, and the API's rules.
///
/// Operations mirror the seven API calls. Each takes the account id as it came in the URL and
/// answers like the API: a wire object, or a [`Rejection`] with the real status and codes.
/// Calls that read or create bindings take `now`, the time since an arbitrary start; the
/// account remembers the latest `now` it was given, and [`Account::snapshot`] reports states
/// as of then.
///
/// Every call costs O(1) or O(log n) in the number of prefixes and bindings (listings aside,
/// which are linear in what they list): prefixes and bindings are found through indexes, never
/// by scanning the account, so a rehearsal of a plan over thousands of prefixes stays linear.
#[derive(Debug, Clone)]
pub struct Account {
    id: AccountId,
    services: Vec<Service>,
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
    provisioning_delay: Duration,
    clock: Duration,
    /// Bindings created so far: a counter that makes generated ids unique and reproducible.
    created: u64,
}

impl Account {
    /// An empty account with this catalog; new bindings turn active at once (see
    /// [`Account::set_provisioning_delay`]).
    pub fn new(account_id: AccountId, services: Vec<Service>) -> Self {
        Self {
            id: account_id,
            services,
            prefixes: Vec::new(),
            prefix_index: HashMap::new(),
            binding_index: HashMap::new(),
            next_sequence: 0,
            provisioning_delay: Duration::ZERO,
            clock: Duration::ZERO,
            created: 0,
        }
    }

    /// Builds the account a seed file describes (the desired-state format).
    ///
    /// Services come from the seed's `services:` map, else [`default_services`]. A binding's
    /// `service` is a catalog name or id. Missing prefix and binding ids are derived from the
    /// CIDRs, so the same seed always gives the same ids; a missing state is `active`.
    /// Bindings are inserted as written, even when they break the API's rules: a seed may
    /// mirror a live account in a state the API would not let one reach.
    pub fn from_seed(seed: &StateFile) -> Result<Self, SeedError> {
        let services = if seed.services.is_empty() {
            default_services()
        } else {
            seed.services
                .iter()
                .map(|(name, id)| Service {
                    id: id.clone(),
                    name: name.clone(),
                })
                .collect()
        };
        let account_id = seed.account_id.clone().unwrap_or_else(default_account_id);
        let mut account = Self::new(account_id, services);
        for p in &seed.prefixes {
            let prefix_id = p.id.clone().unwrap_or_else(|| seed_prefix_id(&p.cidr));
            account.add_prefix(Prefix {
                id: prefix_id.clone(),
                cidr: p.cidr,
                description: None,
            })?;
            for b in &p.bindings {
                let service_id = account.resolve_service(&b.service).ok_or_else(|| {
                    SeedError::UnknownService {
                        prefix: p.cidr,
                        binding: b.cidr,
                        service: b.service.clone(),
                        known: account.catalog_list(),
                    }
                })?;
                let id = match &b.id {
                    Some(id) => id.clone(),
                    None => account.seed_binding_id(&p.cidr, &b.cidr),
                };
                account.insert_binding(
                    &prefix_id,
                    Binding {
                        id,
                        cidr: b.cidr,
                        service_id,
                        service_name: None,
                        state: b.state.clone().unwrap_or(ProvisioningState::Active),
                    },
                )?;
            }
        }
        Ok(account)
    }

    /// The account's id.
    pub fn id(&self) -> &AccountId {
        &self.id
    }

    /// The service catalog, in List Services order.
    pub fn services(&self) -> &[Service] {
        &self.services
    }

    /// How long a new binding stays `provisioning`. Zero: it is reported `provisioning` in the
    /// create answer and `active` from the next read on.
    pub fn set_provisioning_delay(&mut self, delay: Duration) {
        self.provisioning_delay = delay;
    }

    /// See [`Account::set_provisioning_delay`].
    pub fn provisioning_delay(&self) -> Duration {
        self.provisioning_delay
    }

    /// Moves the account's clock forward to `now` (never back).
    pub fn advance_to(&mut self, now: Duration) {
        self.clock = self.clock.max(now);
    }

    /// Adds a prefix, keeping its id. Fails only when the id is already taken.
    pub fn add_prefix(&mut self, prefix: Prefix) -> Result<(), SeedError> {
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

    /// Inserts a binding as it is, without the API's rules (to mirror a live account, which may
    /// even break them). Its state never changes. Fails only on an unknown prefix or a binding
    /// id already in use.
    pub fn insert_binding(&mut self, prefix: &PrefixId, binding: Binding) -> Result<(), SeedError> {
        if let Some(other) = self.find_binding_anywhere(binding.id.as_str()) {
            return Err(SeedError::DuplicateBindingId {
                id: binding.id,
                first: other.cidr,
                second: binding.cidr,
            });
        }
        let index = *self
            .prefix_index
            .get(prefix.as_str())
            .ok_or_else(|| SeedError::UnknownPrefix(prefix.clone()))?;
        self.push_binding(
            index,
            BindingRecord {
                id: binding.id,
                cidr: binding.cidr,
                service_id: binding.service_id,
                service_name: binding.service_name,
                state: StateRecord::Fixed(binding.state),
            },
        );
        Ok(())
    }

    /// `GET /accounts/{account_id}/addressing/services`
    pub fn list_services(&self, account: &str) -> Result<Vec<WireService>, Rejection> {
        self.check_account(account, || "addressing/services".to_owned())?;
        Ok(self
            .services
            .iter()
            .map(|s| WireService {
                id: s.id.to_string(),
                name: s.name.clone(),
            })
            .collect())
    }

    /// `GET /accounts/{account_id}/addressing/prefixes`
    pub fn list_prefixes(&self, account: &str) -> Result<Vec<WirePrefix>, Rejection> {
        self.check_account(account, || "addressing/prefixes".to_owned())?;
        Ok(self
            .prefixes
            .iter()
            .map(|r| self.wire_prefix(&r.prefix))
            .collect())
    }

    /// `GET /accounts/{account_id}/addressing/prefixes/{prefix_id}`
    pub fn get_prefix(&self, account: &str, prefix: &str) -> Result<WirePrefix, Rejection> {
        self.check_account(account, || format!("addressing/prefixes/{prefix}"))?;
        let record = self.prefix(prefix)?;
        Ok(self.wire_prefix(&record.prefix))
    }

    /// `GET …/prefixes/{prefix_id}/bindings`, in creation order.
    pub fn list_bindings(
        &mut self,
        account: &str,
        prefix: &str,
        now: Duration,
    ) -> Result<Vec<WireBinding>, Rejection> {
        self.check_account(account, || format!("addressing/prefixes/{prefix}/bindings"))?;
        self.advance_to(now);
        let record = self.prefix(prefix)?;
        Ok(record
            .iter()
            .map(|b| self.wire_binding(b, b.state_at(now)))
            .collect())
    }

    /// `GET …/prefixes/{prefix_id}/bindings/{binding_id}`
    pub fn get_binding(
        &mut self,
        account: &str,
        prefix: &str,
        binding: &str,
        now: Duration,
    ) -> Result<WireBinding, Rejection> {
        self.check_account(account, || {
            format!("addressing/prefixes/{prefix}/bindings/{binding}")
        })?;
        self.advance_to(now);
        let index = self.prefix_index(prefix)?;
        let slot = self.slot_in(index, binding)?;
        let b = self.prefixes[index]
            .get(slot.sequence)
            .ok_or_else(Rejection::binding_not_found)?;
        Ok(self.wire_binding(b, b.state_at(now)))
    }

    /// `POST …/prefixes/{prefix_id}/bindings` with `{"cidr", "service_id"}` (the API answers
    /// 201). The new binding is `provisioning`.
    ///
    /// Refused with 400 / 1003: a CIDR that is missing, unparsable, has host bits set, or lies
    /// outside the prefix; an unknown service; a more-specific binding while the prefix-wide
    /// one is absent (so the first binding must be the prefix itself); Magic Transit anywhere
    /// but prefix-wide; a CIDR that already has a binding. A more-specific binding with the
    /// same service as its covering binding is allowed: it is redundant, not wrong.
    pub fn create_binding(
        &mut self,
        account: &str,
        prefix: &str,
        cidr: &str,
        service_id: &str,
        now: Duration,
    ) -> Result<WireBinding, Rejection> {
        self.check_account(account, || format!("addressing/prefixes/{prefix}/bindings"))?;
        self.advance_to(now);
        let index = self.prefix_index(prefix)?;
        let record = &self.prefixes[index];
        let prefix_cidr = record.prefix.cidr;

        let net = parse_binding_cidr(cidr, &prefix_cidr)?;
        if service_id.is_empty() {
            return Err(Rejection::unsupported(
                "service_id is required: the id of a service from List Services",
                Some("/service_id"),
            ));
        }
        let Some(service) = self.services.iter().find(|s| s.id.as_str() == service_id) else {
            return Err(Rejection::unsupported(
                format!(
                    "unknown service_id `{service_id}`: List Services gives the account's services"
                ),
                Some("/service_id"),
            ));
        };
        let prefix_wide = net == prefix_cidr;
        if !prefix_wide && !record.has_prefix_wide() {
            return Err(Rejection::unsupported(
                format!(
                    "prefix {prefix_cidr} has no prefix-wide binding: the first binding of a prefix must be {prefix_cidr} itself, then more-specific ones may follow"
                ),
                Some("/cidr"),
            ));
        }
        if !prefix_wide && service.name == MAGIC_TRANSIT {
            return Err(Rejection::unsupported(
                format!(
                    "Magic Transit can only be bound to the whole prefix {prefix_cidr}, not to {net}"
                ),
                Some("/service_id"),
            ));
        }
        if let Some(existing) = record.first_with(net) {
            return Err(Rejection::unsupported(
                format!(
                    "{net} already has a binding (`{}`); a binding cannot be changed: delete it, then create the new one",
                    existing.id
                ),
                Some("/cidr"),
            ));
        }

        let service_id = service.id.clone();
        let id = self.new_binding_id(&self.prefixes[index].prefix.id.clone(), &net);
        self.created += 1;
        let binding = BindingRecord {
            id,
            cidr: net,
            service_id,
            service_name: None,
            state: StateRecord::ActiveAt(now + self.provisioning_delay),
        };
        let answer = self.wire_binding(&binding, ProvisioningState::Provisioning);
        self.push_binding(index, binding);
        Ok(answer)
    }

    /// `DELETE …/prefixes/{prefix_id}/bindings/{binding_id}` (the API answers with the
    /// envelope only).
    ///
    /// Refused: an unknown binding (404 / 1002); the last prefix-wide binding while
    /// more-specific bindings exist (400 / 1003, an assumption: see the module doc).
    pub fn delete_binding(
        &mut self,
        account: &str,
        prefix: &str,
        binding: &str,
        now: Duration,
    ) -> Result<(), Rejection> {
        self.check_account(account, || {
            format!("addressing/prefixes/{prefix}/bindings/{binding}")
        })?;
        self.advance_to(now);
        let index = self.prefix_index(prefix)?;
        let slot = self.slot_in(index, binding)?;
        let record = &self.prefixes[index];
        let cidr = record
            .get(slot.sequence)
            .ok_or_else(Rejection::binding_not_found)?
            .cidr;
        let prefix_cidr = record.prefix.cidr;
        if cidr == prefix_cidr {
            let wide = record.count(prefix_cidr);
            let other_wide = wide - 1;
            let specific = record.bindings.len() - wide;
            if other_wide == 0 && specific > 0 {
                return Err(Rejection::unsupported(
                    format!(
                        "cannot delete the prefix-wide binding {prefix_cidr} while {specific} more-specific binding{} exist{}; delete {} first",
                        if specific == 1 { "" } else { "s" },
                        if specific == 1 { "s" } else { "" },
                        if specific == 1 { "it" } else { "them" },
                    ),
                    None,
                ));
            }
        }
        if let Some(removed) = self.prefixes[index].remove(slot.sequence) {
            self.binding_index.remove(&IdKey::of(&removed.id));
        }
        Ok(())
    }

    /// The whole account in the seed format, with every id and state (as of the latest time
    /// the account was given): `Account::from_seed` of it gives the same account back.
    pub fn snapshot(&self) -> StateFile {
        let services: BTreeMap<String, ServiceId> = self
            .services
            .iter()
            .map(|s| (s.name.clone(), s.id.clone()))
            .collect();
        let prefixes = self
            .prefixes
            .iter()
            .map(|r| DesiredPrefix {
                cidr: r.prefix.cidr,
                id: Some(r.prefix.id.clone()),
                ignore: Vec::new(),
                bindings: r
                    .iter()
                    .map(|b| DesiredBinding {
                        cidr: b.cidr,
                        service: self.service_label(&b.service_id),
                        id: Some(b.id.clone()),
                        state: Some(b.state_at(self.clock)),
                        location: Location::default(),
                    })
                    .collect(),
                location: Location::default(),
            })
            .collect();
        StateFile {
            account_id: Some(self.id.clone()),
            max_deletes: None,
            services,
            prefixes,
        }
    }

    /// Refuses an account id that is not this account's; `rest` is the path after the account
    /// id, only built for the refusal.
    fn check_account(&self, account: &str, rest: impl FnOnce() -> String) -> Result<(), Rejection> {
        if account == self.id.as_str() {
            Ok(())
        } else {
            Err(Rejection::no_route(&format!(
                "/client/v4/accounts/{account}/{}",
                rest()
            )))
        }
    }

    fn prefix_index(&self, prefix: &str) -> Result<usize, Rejection> {
        self.prefix_index
            .get(prefix)
            .copied()
            .ok_or_else(Rejection::prefix_not_found)
    }

    fn prefix(&self, prefix: &str) -> Result<&PrefixRecord, Rejection> {
        self.prefix_index(prefix).map(|i| &self.prefixes[i])
    }

    /// Where binding `id` lives, if it lives in the prefix at `index`: a binding of another
    /// prefix is as unknown as one that does not exist.
    fn slot_in(&self, index: usize, id: &str) -> Result<Slot, Rejection> {
        match self.slot(id) {
            Some(slot) if slot.prefix == index => Ok(slot),
            _ => Err(Rejection::binding_not_found()),
        }
    }

    /// Where binding `id` lives, in whichever prefix.
    fn slot(&self, id: &str) -> Option<Slot> {
        self.binding_index.get(&IdKey::new(id)?).copied()
    }

    fn find_binding_anywhere(&self, id: &str) -> Option<&BindingRecord> {
        let slot = self.slot(id)?;
        self.prefixes[slot.prefix].get(slot.sequence)
    }

    /// Adds `binding` as the newest of the prefix at `index`, keeping the indexes in step.
    /// The caller has checked that its id is not in use.
    fn push_binding(&mut self, index: usize, binding: BindingRecord) {
        let slot = Slot {
            prefix: index,
            sequence: self.next_sequence,
        };
        self.next_sequence += 1;
        let previous = self.binding_index.insert(IdKey::of(&binding.id), slot);
        debug_assert!(previous.is_none(), "binding id {} is in use", binding.id);
        self.prefixes[index].push(slot.sequence, binding);
    }

    /// A service written in a seed: a catalog name first, else a catalog id.
    fn resolve_service(&self, service: &str) -> Option<ServiceId> {
        self.services
            .iter()
            .find(|s| s.name == service)
            .or_else(|| self.services.iter().find(|s| s.id.as_str() == service))
            .map(|s| s.id.clone())
    }

    fn catalog_list(&self) -> String {
        if self.services.is_empty() {
            return "(the catalog is empty)".to_owned();
        }
        self.services
            .iter()
            .map(|s| format!("{} ({})", s.name, s.id))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The name for a service in a snapshot: the catalog's name, else the id itself.
    fn service_label(&self, id: &ServiceId) -> String {
        self.services
            .iter()
            .find(|s| s.id == *id)
            .map_or_else(|| id.to_string(), |s| s.name.clone())
    }

    fn wire_prefix(&self, prefix: &Prefix) -> WirePrefix {
        WirePrefix {
            id: prefix.id.to_string(),
            cidr: prefix.cidr.to_string(),
            account_id: Some(self.id.to_string()),
            description: prefix.description.clone(),
            asn: None,
            approved: Some("V".to_owned()),
            advertised: None,
            advertised_modified_at: None,
            created_at: Some(PREFIX_TIMESTAMP.to_owned()),
            modified_at: Some(PREFIX_TIMESTAMP.to_owned()),
            loa_document_id: None,
            on_demand_enabled: Some(false),
            on_demand_locked: Some(false),
        }
    }

    fn wire_binding(&self, b: &BindingRecord, state: ProvisioningState) -> WireBinding {
        let service_name = self
            .services
            .iter()
            .find(|s| s.id == b.service_id)
            .map(|s| s.name.clone())
            .or_else(|| b.service_name.clone());
        WireBinding {
            id: b.id.to_string(),
            cidr: b.cidr.to_string(),
            provisioning: Some(WireProvisioning {
                state: state.to_string(),
            }),
            service_id: b.service_id.to_string(),
            service_name,
        }
    }

    /// The id of a seeded binding without one: a hash of the CIDRs, made unique if the seed
    /// repeats a CIDR.
    fn seed_binding_id(&self, prefix: &IpNet, cidr: &IpNet) -> BindingId {
        let base = format!("binding {prefix} {cidr}");
        self.unique_binding_id(&base)
    }

    /// The id of a created binding: a hash of the prefix, the CIDR and how many bindings were
    /// created before, so the same calls in the same order give the same ids.
    fn new_binding_id(&self, prefix: &PrefixId, cidr: &IpNet) -> BindingId {
        let base = format!("created {prefix} {cidr} {}", self.created);
        self.unique_binding_id(&base)
    }

    fn unique_binding_id(&self, base: &str) -> BindingId {
        let mut attempt = 0u32;
        loop {
            let text = if attempt == 0 {
                base.to_owned()
            } else {
                format!("{base} #{attempt}")
            };
            let id = BindingId::new(hash_id(&text)).expect("32 hex digits are a valid id");
            if !self.binding_index.contains_key(&IdKey::of(&id)) {
                return id;
            }
            attempt += 1;
        }
    }
}

/// The id a seeded prefix without one gets: a stable hash of its CIDR.
pub fn seed_prefix_id(cidr: &IpNet) -> PrefixId {
    PrefixId::new(hash_id(&format!("prefix {cidr}"))).expect("32 hex digits are a valid id")
}

/// 32 lowercase hex digits: the first half of the SHA-256 of `text`.
fn hash_id(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::new()
        .chain_update("svcbind emulator: ")
        .chain_update(text)
        .finalize();
    digest[..16]
        .iter()
        .flat_map(|b| [HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]])
        .map(char::from)
        .collect()
}

/// The `cidr` of a create request: present, a CIDR, no host bits, inside the prefix.
fn parse_binding_cidr(cidr: &str, prefix: &IpNet) -> Result<IpNet, Rejection> {
    let bad = |message: String| Rejection::unsupported(message, Some("/cidr"));
    if cidr.is_empty() {
        return Err(bad(format!(
            "cidr is required: the CIDR to bind, e.g. {prefix}"
        )));
    }
    let net: IpNet = cidr
        .parse()
        .map_err(|_| bad(format!("`{cidr}` is not a CIDR (e.g. {prefix})")))?;
    if net.trunc() != net {
        return Err(bad(format!(
            "`{cidr}` has host bits set; did you mean {}?",
            net.trunc()
        )));
    }
    let family = |n: &IpNet| match n {
        IpNet::V4(_) => "IPv4",
        IpNet::V6(_) => "IPv6",
    };
    if family(&net) != family(prefix) {
        return Err(bad(format!(
            "{net} is {} but prefix {prefix} is {}",
            family(&net),
            family(prefix)
        )));
    }
    if !prefix.contains(&net) {
        return Err(bad(format!("{net} is not inside prefix {prefix}")));
    }
    Ok(net)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: &str = DEFAULT_ACCOUNT_ID;
    const T0: Duration = Duration::ZERO;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    /// An account with prefix `p4` (192.0.2.0/24) and `p6` (2001:db8:1000::/48), no bindings.
    fn account() -> Account {
        let mut a = Account::new(default_account_id(), default_services());
        for (id, cidr) in [("p4", "192.0.2.0/24"), ("p6", "2001:db8:1000::/48")] {
            a.add_prefix(Prefix {
                id: PrefixId::new(id).unwrap(),
                cidr: net(cidr),
                description: Some(format!("{id} prefix")),
            })
            .unwrap();
        }
        a
    }

    fn create(a: &mut Account, cidr: &str, service: &str) -> Result<WireBinding, Rejection> {
        a.create_binding(ACCOUNT, "p4", cidr, service, T0)
    }

    /// Asserts a 400 / 1003 refusal whose message contains `text` and points at `pointer`.
    fn assert_unsupported(r: Result<WireBinding, Rejection>, text: &str, pointer: Option<&str>) {
        let r = r.unwrap_err();
        assert_eq!(r.status, 400, "{r}");
        assert_eq!(r.codes(), vec![1003], "{r}");
        assert!(r.errors[0].message.contains(text), "{r}");
        assert_eq!(
            r.errors[0]
                .source
                .as_ref()
                .and_then(|s| s.pointer.as_deref()),
            pointer,
            "{r}"
        );
    }

    fn cidrs(a: &mut Account, prefix: &str) -> Vec<String> {
        a.list_bindings(ACCOUNT, prefix, T0)
            .unwrap()
            .into_iter()
            .map(|b| b.cidr)
            .collect()
    }

    #[test]
    fn default_catalog_has_the_three_services_with_fixed_ids() {
        let a = account();
        let list = a.list_services(ACCOUNT).unwrap();
        let pairs: Vec<(&str, &str)> = list
            .iter()
            .map(|s| (s.name.as_str(), s.id.as_str()))
            .collect();
        assert_eq!(
            pairs,
            vec![
                ("Magic Transit", "f2f0ba6cd8a14c3e9ee9d6bd8b4b5f2a"),
                ("CDN", "a7c5b5e1c33d4ea0b2f5d4f6c1e0a9b3"),
                ("Spectrum", "5c3d1e2f4a6b4c8d9e0f1a2b3c4d5e6f"),
            ]
        );
    }

    #[test]
    fn wrong_account_is_no_route() {
        let mut a = account();
        let other = "0123456789abcdef0123456789abcdef";
        let r = a.list_services(other).unwrap_err();
        assert_eq!(r.status, 400);
        assert_eq!(r.codes(), vec![7003, 7000]);
        assert_eq!(
            r.errors[0].message,
            format!(
                "Could not route to /client/v4/accounts/{other}/addressing/services, perhaps your object identifier is invalid?"
            )
        );
        assert_eq!(r.errors[1].message, "No route for that URI");
        assert_eq!(
            a.list_prefixes(other).unwrap_err().codes(),
            vec![7003, 7000]
        );
        assert_eq!(
            a.create_binding(other, "p4", "192.0.2.0/24", CDN_ID, T0)
                .unwrap_err()
                .codes(),
            vec![7003, 7000]
        );
        assert!(a.list_bindings(ACCOUNT, "p4", T0).unwrap().is_empty());
    }

    #[test]
    fn unknown_prefix_and_binding_are_404() {
        let mut a = account();
        let r = a.get_prefix(ACCOUNT, "nope").unwrap_err();
        assert_eq!((r.status, r.codes()), (404, vec![1000]));
        assert_eq!(r.errors[0].message, "prefix not found");
        let r = a.list_bindings(ACCOUNT, "nope", T0).unwrap_err();
        assert_eq!((r.status, r.codes()), (404, vec![1000]));
        let r = a
            .create_binding(ACCOUNT, "nope", "192.0.2.0/24", CDN_ID, T0)
            .unwrap_err();
        assert_eq!((r.status, r.codes()), (404, vec![1000]));
        let r = a.get_binding(ACCOUNT, "p4", "b1", T0).unwrap_err();
        assert_eq!((r.status, r.codes()), (404, vec![1002]));
        assert_eq!(r.errors[0].message, "binding not found");
        let r = a.delete_binding(ACCOUNT, "p4", "b1", T0).unwrap_err();
        assert_eq!((r.status, r.codes()), (404, vec![1002]));
        let r = a.delete_binding(ACCOUNT, "nope", "b1", T0).unwrap_err();
        assert_eq!((r.status, r.codes()), (404, vec![1000]));
    }

    #[test]
    fn get_prefix_answers_the_contract_fields() {
        let a = account();
        let p = a.get_prefix(ACCOUNT, "p4").unwrap();
        assert_eq!(p.id, "p4");
        assert_eq!(p.cidr, "192.0.2.0/24");
        assert_eq!(p.account_id.as_deref(), Some(ACCOUNT));
        assert_eq!(p.description.as_deref(), Some("p4 prefix"));
        assert_eq!(p.approved.as_deref(), Some("V"));
        let all = a.list_prefixes(ACCOUNT).unwrap();
        assert_eq!(
            all.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
            ["p4", "p6"]
        );
    }

    #[test]
    fn create_refuses_bad_cidrs() {
        let mut a = account();
        assert_unsupported(
            create(&mut a, "", MAGIC_TRANSIT_ID),
            "cidr is required",
            Some("/cidr"),
        );
        assert_unsupported(
            create(&mut a, "192.0.2.0", MAGIC_TRANSIT_ID),
            "`192.0.2.0` is not a CIDR",
            Some("/cidr"),
        );
        assert_unsupported(
            create(&mut a, "banana", MAGIC_TRANSIT_ID),
            "`banana` is not a CIDR",
            Some("/cidr"),
        );
        assert_unsupported(
            create(&mut a, "192.0.2.1/24", MAGIC_TRANSIT_ID),
            "`192.0.2.1/24` has host bits set; did you mean 192.0.2.0/24?",
            Some("/cidr"),
        );
        assert_unsupported(
            create(&mut a, "198.51.100.0/24", MAGIC_TRANSIT_ID),
            "198.51.100.0/24 is not inside prefix 192.0.2.0/24",
            Some("/cidr"),
        );
        assert_unsupported(
            create(&mut a, "192.0.0.0/16", MAGIC_TRANSIT_ID),
            "not inside prefix",
            Some("/cidr"),
        );
        assert_unsupported(
            create(&mut a, "2001:db8:1000::/48", MAGIC_TRANSIT_ID),
            "2001:db8:1000::/48 is IPv6 but prefix 192.0.2.0/24 is IPv4",
            Some("/cidr"),
        );
        assert!(cidrs(&mut a, "p4").is_empty());
    }

    #[test]
    fn create_refuses_unknown_or_missing_service() {
        let mut a = account();
        assert_unsupported(
            create(&mut a, "192.0.2.0/24", "0000"),
            "unknown service_id `0000`",
            Some("/service_id"),
        );
        assert_unsupported(
            create(&mut a, "192.0.2.0/24", ""),
            "service_id is required",
            Some("/service_id"),
        );
        assert!(cidrs(&mut a, "p4").is_empty());
    }

    #[test]
    fn first_binding_must_be_prefix_wide() {
        let mut a = account();
        assert_unsupported(
            create(&mut a, "192.0.2.16/29", CDN_ID),
            "prefix 192.0.2.0/24 has no prefix-wide binding",
            Some("/cidr"),
        );
        create(&mut a, "192.0.2.0/24", MAGIC_TRANSIT_ID).unwrap();
        create(&mut a, "192.0.2.16/29", CDN_ID).unwrap();
        assert_eq!(cidrs(&mut a, "p4"), ["192.0.2.0/24", "192.0.2.16/29"]);
    }

    #[test]
    fn magic_transit_only_prefix_wide() {
        let mut a = account();
        create(&mut a, "192.0.2.0/24", CDN_ID).unwrap();
        assert_unsupported(
            create(&mut a, "192.0.2.16/29", MAGIC_TRANSIT_ID),
            "Magic Transit can only be bound to the whole prefix 192.0.2.0/24, not to 192.0.2.16/29",
            Some("/service_id"),
        );
        create(&mut a, "192.0.2.16/29", SPECTRUM_ID).unwrap();
    }

    #[test]
    fn one_binding_per_cidr() {
        let mut a = account();
        let wide = create(&mut a, "192.0.2.0/24", MAGIC_TRANSIT_ID).unwrap();
        assert_unsupported(
            create(&mut a, "192.0.2.0/24", CDN_ID),
            &format!("192.0.2.0/24 already has a binding (`{}`)", wide.id),
            Some("/cidr"),
        );
        create(&mut a, "192.0.2.16/29", CDN_ID).unwrap();
        assert_unsupported(
            create(&mut a, "192.0.2.16/29", SPECTRUM_ID),
            "192.0.2.16/29 already has a binding",
            Some("/cidr"),
        );
    }

    #[test]
    fn redundant_more_specific_binding_is_allowed() {
        let mut a = account();
        create(&mut a, "192.0.2.0/24", CDN_ID).unwrap();
        create(&mut a, "192.0.2.128/25", CDN_ID).unwrap();
        create(&mut a, "192.0.2.128/26", CDN_ID).unwrap();
        assert_eq!(cidrs(&mut a, "p4").len(), 3);
    }

    #[test]
    fn ipv6_bindings_follow_the_same_rules() {
        let mut a = account();
        a.create_binding(ACCOUNT, "p6", "2001:db8:1000::/48", CDN_ID, T0)
            .unwrap();
        let b = a
            .create_binding(ACCOUNT, "p6", "2001:DB8:1000:1::/64", SPECTRUM_ID, T0)
            .unwrap();
        assert_eq!(b.cidr, "2001:db8:1000:1::/64");
        let r = a.create_binding(ACCOUNT, "p6", "2001:db8:1000:1::1/64", SPECTRUM_ID, T0);
        assert_unsupported(r, "has host bits set", Some("/cidr"));
    }

    #[test]
    fn prefix_wide_binding_outlives_the_others() {
        let mut a = account();
        let wide = create(&mut a, "192.0.2.0/24", MAGIC_TRANSIT_ID).unwrap();
        let s1 = create(&mut a, "192.0.2.16/29", CDN_ID).unwrap();
        let s2 = create(&mut a, "192.0.2.128/25", SPECTRUM_ID).unwrap();
        let r = a.delete_binding(ACCOUNT, "p4", &wide.id, T0).unwrap_err();
        assert_eq!((r.status, r.codes()), (400, vec![1003]));
        assert_eq!(
            r.errors[0].message,
            "cannot delete the prefix-wide binding 192.0.2.0/24 while 2 more-specific bindings exist; delete them first"
        );
        a.delete_binding(ACCOUNT, "p4", &s1.id, T0).unwrap();
        let r = a.delete_binding(ACCOUNT, "p4", &wide.id, T0).unwrap_err();
        assert!(
            r.errors[0]
                .message
                .contains("while 1 more-specific binding exists")
        );
        a.delete_binding(ACCOUNT, "p4", &s2.id, T0).unwrap();
        a.delete_binding(ACCOUNT, "p4", &wide.id, T0).unwrap();
        assert!(cidrs(&mut a, "p4").is_empty());
        let r = a.delete_binding(ACCOUNT, "p4", &wide.id, T0).unwrap_err();
        assert_eq!((r.status, r.codes()), (404, vec![1002]));
    }

    #[test]
    fn a_duplicate_prefix_wide_binding_may_go_first() {
        // A mirrored live account may hold two prefix-wide bindings; one of them may be
        // deleted while the other still covers the more-specific ones.
        let mut a = account();
        let p4 = PrefixId::new("p4").unwrap();
        for (id, cidr) in [
            ("w1", "192.0.2.0/24"),
            ("w2", "192.0.2.0/24"),
            ("s1", "192.0.2.0/25"),
        ] {
            a.insert_binding(
                &p4,
                Binding {
                    id: BindingId::new(id).unwrap(),
                    cidr: net(cidr),
                    service_id: ServiceId::new(CDN_ID).unwrap(),
                    service_name: None,
                    state: ProvisioningState::Active,
                },
            )
            .unwrap();
        }
        a.delete_binding(ACCOUNT, "p4", "w1", T0).unwrap();
        let r = a.delete_binding(ACCOUNT, "p4", "w2", T0).unwrap_err();
        assert_eq!(r.codes(), vec![1003]);
    }

    #[test]
    fn insert_binding_is_unchecked_but_ids_are_unique() {
        let mut a = account();
        let p4 = PrefixId::new("p4").unwrap();
        let b = |id: &str, cidr: &str| Binding {
            id: BindingId::new(id).unwrap(),
            cidr: net(cidr),
            service_id: ServiceId::new("unknownservice").unwrap(),
            service_name: Some("Mystery".into()),
            state: ProvisioningState::MagicTransitRouteMissing,
        };
        // More-specific without a prefix-wide binding, unknown service: mirrored as is.
        a.insert_binding(&p4, b("x1", "192.0.2.16/29")).unwrap();
        let listed = a.list_bindings(ACCOUNT, "p4", T0).unwrap();
        assert_eq!(listed[0].service_name.as_deref(), Some("Mystery"));
        assert_eq!(
            listed[0].provisioning.as_ref().unwrap().state,
            "magic_transit_route_missing"
        );
        let err = a.insert_binding(&p4, b("x1", "192.0.2.32/29")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "binding id `x1` is used twice (for 192.0.2.16/29 and 192.0.2.32/29); give each binding its own id"
        );
        let err = a
            .insert_binding(&PrefixId::new("zz").unwrap(), b("x2", "192.0.2.16/29"))
            .unwrap_err();
        assert_eq!(err, SeedError::UnknownPrefix(PrefixId::new("zz").unwrap()));
        let err = a
            .add_prefix(Prefix {
                id: p4.clone(),
                cidr: net("198.51.100.0/24"),
                description: None,
            })
            .unwrap_err();
        assert!(matches!(err, SeedError::DuplicatePrefixId { .. }));
    }

    #[test]
    fn new_bindings_provision_then_turn_active_after_the_delay() {
        let mut a = account();
        a.set_provisioning_delay(Duration::from_secs(60));
        let t = Duration::from_secs(10);
        let b = a
            .create_binding(ACCOUNT, "p4", "192.0.2.0/24", CDN_ID, t)
            .unwrap();
        assert_eq!(b.provisioning.unwrap().state, "provisioning");
        let state = |a: &mut Account, now: Duration| {
            a.get_binding(ACCOUNT, "p4", &b.id, now)
                .unwrap()
                .provisioning
                .unwrap()
                .state
        };
        assert_eq!(state(&mut a, Duration::from_secs(69)), "provisioning");
        assert_eq!(
            a.snapshot().prefixes[0].bindings[0].state,
            Some(ProvisioningState::Provisioning)
        );
        assert_eq!(state(&mut a, Duration::from_secs(70)), "active");
        assert_eq!(
            a.list_bindings(ACCOUNT, "p4", Duration::from_secs(71))
                .unwrap()[0]
                .provisioning
                .as_ref()
                .unwrap()
                .state,
            "active"
        );
        assert_eq!(
            a.snapshot().prefixes[0].bindings[0].state,
            Some(ProvisioningState::Active)
        );
    }

    #[test]
    fn zero_delay_is_provisioning_in_the_answer_and_active_on_the_next_read() {
        let mut a = account();
        let b = create(&mut a, "192.0.2.0/24", CDN_ID).unwrap();
        assert_eq!(b.provisioning.unwrap().state, "provisioning");
        let read = a.get_binding(ACCOUNT, "p4", &b.id, T0).unwrap();
        assert_eq!(read.provisioning.unwrap().state, "active");
    }

    #[test]
    fn seeded_states_never_change() {
        let mut a = account();
        a.set_provisioning_delay(Duration::from_secs(1));
        a.insert_binding(
            &PrefixId::new("p4").unwrap(),
            Binding {
                id: BindingId::new("seeded").unwrap(),
                cidr: net("192.0.2.0/24"),
                service_id: ServiceId::new(CDN_ID).unwrap(),
                service_name: None,
                state: ProvisioningState::Provisioning,
            },
        )
        .unwrap();
        let later = Duration::from_secs(86_400);
        let b = a.get_binding(ACCOUNT, "p4", "seeded", later).unwrap();
        assert_eq!(b.provisioning.unwrap().state, "provisioning");
    }

    fn mirrored(id: &str, cidr: &str) -> Binding {
        Binding {
            id: BindingId::new(id).unwrap(),
            cidr: net(cidr),
            service_id: ServiceId::new(CDN_ID).unwrap(),
            service_name: None,
            state: ProvisioningState::Active,
        }
    }

    #[test]
    fn a_binding_is_found_only_under_its_own_prefix() {
        let mut a = account();
        let b = create(&mut a, "192.0.2.0/24", CDN_ID).unwrap();
        let r = a.get_binding(ACCOUNT, "p6", &b.id, T0).unwrap_err();
        assert_eq!((r.status, r.codes()), (404, vec![codes::BINDING_NOT_FOUND]));
        let r = a.delete_binding(ACCOUNT, "p6", &b.id, T0).unwrap_err();
        assert_eq!((r.status, r.codes()), (404, vec![codes::BINDING_NOT_FOUND]));
        let r = a.get_binding(ACCOUNT, "nope", &b.id, T0).unwrap_err();
        assert_eq!((r.status, r.codes()), (404, vec![codes::PREFIX_NOT_FOUND]));
        assert_eq!(a.get_binding(ACCOUNT, "p4", &b.id, T0).unwrap().id, b.id);
        // Strings that cannot be binding ids are simply unknown.
        let long = format!("{}0", b.id);
        for id in [long.as_str(), "", "a\0", "192.0.2.0/24"] {
            let r = a.get_binding(ACCOUNT, "p4", id, T0).unwrap_err();
            assert_eq!(r.codes(), vec![codes::BINDING_NOT_FOUND], "{id:?}");
        }
    }

    #[test]
    fn listings_keep_creation_order_across_deletes() {
        let mut a = account();
        let mut ids = Vec::new();
        for cidr in [
            "192.0.2.0/24",
            "192.0.2.128/25",
            "192.0.2.0/25",
            "192.0.2.64/26",
        ] {
            ids.push(create(&mut a, cidr, CDN_ID).unwrap().id);
        }
        a.delete_binding(ACCOUNT, "p4", &ids[1], T0).unwrap();
        let again = create(&mut a, "192.0.2.128/25", SPECTRUM_ID).unwrap();
        assert_eq!(
            cidrs(&mut a, "p4"),
            [
                "192.0.2.0/24",
                "192.0.2.0/25",
                "192.0.2.64/26",
                "192.0.2.128/25"
            ]
        );
        let listed: Vec<_> = a
            .list_bindings(ACCOUNT, "p4", T0)
            .unwrap()
            .into_iter()
            .map(|b| b.id)
            .collect();
        assert_eq!(
            listed,
            [ids[0].clone(), ids[2].clone(), ids[3].clone(), again.id]
        );
        let snapshot = a.snapshot();
        let snapped: Vec<_> = snapshot.prefixes[0]
            .bindings
            .iter()
            .map(|b| b.id.as_ref().unwrap().as_str())
            .collect();
        assert_eq!(snapped, listed);
    }

    #[test]
    fn a_deleted_binding_frees_its_id_and_its_cidr() {
        let mut a = account();
        let p4 = PrefixId::new("p4").unwrap();
        a.insert_binding(&p4, mirrored("w1", "192.0.2.0/24"))
            .unwrap();
        a.insert_binding(&p4, mirrored("s1", "192.0.2.0/25"))
            .unwrap();
        assert!(matches!(
            a.insert_binding(&p4, mirrored("s1", "192.0.2.128/25")),
            Err(SeedError::DuplicateBindingId { .. })
        ));
        a.delete_binding(ACCOUNT, "p4", "s1", T0).unwrap();
        let r = a.delete_binding(ACCOUNT, "p4", "s1", T0).unwrap_err();
        assert_eq!(r.codes(), vec![1002]);
        create(&mut a, "192.0.2.0/25", SPECTRUM_ID).unwrap();
        a.insert_binding(&p4, mirrored("s1", "192.0.2.128/25"))
            .unwrap();
        assert_eq!(
            a.get_binding(ACCOUNT, "p4", "s1", T0).unwrap().cidr,
            "192.0.2.128/25"
        );
    }

    #[test]
    fn a_repeated_cidr_is_reported_by_its_oldest_binding() {
        let mut a = account();
        let p4 = PrefixId::new("p4").unwrap();
        for id in ["w1", "w2"] {
            a.insert_binding(&p4, mirrored(id, "192.0.2.0/24")).unwrap();
        }
        let message = |a: &mut Account| {
            create(a, "192.0.2.0/24", CDN_ID).unwrap_err().errors[0]
                .message
                .clone()
        };
        assert!(message(&mut a).contains("(`w1`)"), "{}", message(&mut a));
        a.delete_binding(ACCOUNT, "p4", "w1", T0).unwrap();
        assert!(message(&mut a).contains("(`w2`)"), "{}", message(&mut a));
        a.delete_binding(ACCOUNT, "p4", "w2", T0).unwrap();
        create(&mut a, "192.0.2.0/24", CDN_ID).unwrap();
    }

    #[test]
    fn generated_ids_keep_their_values() {
        // The first 16 bytes of SHA-256("svcbind emulator: " + what the id is derived from),
        // in hex: ids already written to seeds and snapshots must not change.
        assert_eq!(
            seed_prefix_id(&net("192.0.2.0/24")).as_str(),
            "78f9e1a92e8ac05e80a6447b8ff3eb16"
        );
        let mut a = account();
        let first = create(&mut a, "192.0.2.0/24", CDN_ID).unwrap();
        assert_eq!(first.id, "77db3c4d707afa1a3a3da0e760ea9009");
    }

    #[test]
    fn generated_binding_ids_are_hex_unique_and_reproducible() {
        let run = || {
            let mut a = account();
            let mut ids = Vec::new();
            for cidr in ["192.0.2.0/24", "192.0.2.16/29", "192.0.2.32/29"] {
                ids.push(create(&mut a, cidr, CDN_ID).unwrap().id);
            }
            // Delete and recreate the same CIDR: a new id.
            a.delete_binding(ACCOUNT, "p4", &ids[1], T0).unwrap();
            ids.push(create(&mut a, "192.0.2.16/29", CDN_ID).unwrap().id);
            ids
        };
        let ids = run();
        assert_eq!(ids, run());
        for id in &ids {
            assert_eq!(id.len(), 32);
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            );
        }
        let unique: std::collections::BTreeSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
    }

    fn seed_binding(cidr: &str, service: &str) -> DesiredBinding {
        DesiredBinding {
            cidr: net(cidr),
            service: service.into(),
            id: None,
            state: None,
            location: Location::default(),
        }
    }

    fn seed_prefix(cidr: &str, bindings: Vec<DesiredBinding>) -> DesiredPrefix {
        DesiredPrefix {
            cidr: net(cidr),
            id: None,
            ignore: Vec::new(),
            bindings,
            location: Location::default(),
        }
    }

    #[test]
    fn seed_resolves_names_and_ids_and_generates_stable_ids() {
        let mut pinned = seed_binding("198.51.100.0/24", "Spectrum");
        pinned.id = Some(BindingId::new("pinnedbinding").unwrap());
        pinned.state = Some(ProvisioningState::Provisioning);
        let mut p2 = seed_prefix("198.51.100.0/24", vec![pinned]);
        p2.id = Some(PrefixId::new("pinnedprefix").unwrap());
        let seed = StateFile {
            prefixes: vec![
                seed_prefix(
                    "192.0.2.0/24",
                    vec![
                        seed_binding("192.0.2.0/24", "Magic Transit"),
                        seed_binding("192.0.2.16/29", CDN_ID),
                    ],
                ),
                p2,
            ],
            ..StateFile::default()
        };
        let mut a = Account::from_seed(&seed).unwrap();
        assert_eq!(a.id().as_str(), DEFAULT_ACCOUNT_ID);
        let prefixes = a.list_prefixes(ACCOUNT).unwrap();
        let generated = &prefixes[0].id;
        assert_eq!(generated.len(), 32);
        assert_eq!(*generated, seed_prefix_id(&net("192.0.2.0/24")).to_string());
        assert_eq!(prefixes[1].id, "pinnedprefix");
        let bindings = a.list_bindings(ACCOUNT, generated, T0).unwrap();
        assert_eq!(bindings[0].service_id, MAGIC_TRANSIT_ID);
        assert_eq!(bindings[0].service_name.as_deref(), Some("Magic Transit"));
        assert_eq!(bindings[1].service_id, CDN_ID);
        assert_eq!(bindings[1].service_name.as_deref(), Some("CDN"));
        assert_eq!(bindings[0].provisioning.as_ref().unwrap().state, "active");
        assert_ne!(bindings[0].id, bindings[1].id);
        let pinned = a
            .get_binding(ACCOUNT, "pinnedprefix", "pinnedbinding", T0)
            .unwrap();
        assert_eq!(pinned.provisioning.unwrap().state, "provisioning");

        // The same seed gives the same ids.
        let mut again = Account::from_seed(&seed).unwrap();
        assert_eq!(
            again.list_bindings(ACCOUNT, generated, T0).unwrap(),
            bindings
        );
    }

    #[test]
    fn seed_with_own_catalog_and_account() {
        let seed = StateFile {
            account_id: Some(AccountId::new("acc1").unwrap()),
            services: BTreeMap::from([
                ("CDN".to_owned(), ServiceId::new("cdn1").unwrap()),
                ("Magic Transit".to_owned(), ServiceId::new("mt1").unwrap()),
            ]),
            prefixes: vec![seed_prefix(
                "192.0.2.0/24",
                vec![seed_binding("192.0.2.0/24", "mt1")],
            )],
            ..StateFile::default()
        };
        let a = Account::from_seed(&seed).unwrap();
        assert_eq!(a.id().as_str(), "acc1");
        assert_eq!(a.list_services("acc1").unwrap().len(), 2);
        assert_eq!(
            a.snapshot().prefixes[0].bindings[0].service,
            "Magic Transit"
        );
    }

    #[test]
    fn seed_with_unknown_service_names_the_binding() {
        let seed = StateFile {
            prefixes: vec![seed_prefix(
                "192.0.2.0/24",
                vec![
                    seed_binding("192.0.2.0/24", "CDN"),
                    seed_binding("192.0.2.16/29", "Workers"),
                ],
            )],
            ..StateFile::default()
        };
        let err = Account::from_seed(&seed).unwrap_err();
        assert_eq!(
            err.to_string(),
            "binding 192.0.2.16/29 of prefix 192.0.2.0/24: unknown service `Workers`; use a name or an id of the catalog: \
             Magic Transit (f2f0ba6cd8a14c3e9ee9d6bd8b4b5f2a), CDN (a7c5b5e1c33d4ea0b2f5d4f6c1e0a9b3), \
             Spectrum (5c3d1e2f4a6b4c8d9e0f1a2b3c4d5e6f)"
        );
    }

    #[test]
    fn seed_repeating_a_cidr_gets_distinct_ids() {
        let seed = StateFile {
            prefixes: vec![seed_prefix(
                "192.0.2.0/24",
                vec![
                    seed_binding("192.0.2.0/24", "CDN"),
                    seed_binding("192.0.2.0/24", "CDN"),
                ],
            )],
            ..StateFile::default()
        };
        let a = Account::from_seed(&seed).unwrap();
        let s = a.snapshot();
        let ids: Vec<_> = s.prefixes[0]
            .bindings
            .iter()
            .map(|b| b.id.clone())
            .collect();
        assert_ne!(ids[0], ids[1]);
    }

    #[test]
    fn snapshot_round_trips_through_from_seed() {
        let mut a = account();
        a.set_provisioning_delay(Duration::from_secs(5));
        create(&mut a, "192.0.2.0/24", MAGIC_TRANSIT_ID).unwrap();
        create(&mut a, "192.0.2.16/29", CDN_ID).unwrap();
        a.create_binding(ACCOUNT, "p6", "2001:db8:1000::/48", SPECTRUM_ID, T0)
            .unwrap();
        let snap = a.snapshot();
        assert_eq!(snap.account_id.as_ref().unwrap().as_str(), ACCOUNT);
        assert_eq!(snap.services.len(), 3);
        assert_eq!(snap.binding_count(), 3);
        assert_eq!(snap.prefixes[0].bindings[1].service, "CDN");
        let mut back = Account::from_seed(&snap).unwrap();
        assert_eq!(back.snapshot(), snap);
        assert_eq!(
            back.list_bindings(ACCOUNT, "p4", T0).unwrap(),
            a.list_bindings(ACCOUNT, "p4", T0).unwrap()
        );
    }

    #[test]
    fn rejection_display_lists_every_error() {
        let r = Rejection::no_route("/x");
        assert_eq!(
            r.to_string(),
            "HTTP 400: Could not route to /x, perhaps your object identifier is invalid? (7003); No route for that URI (7000)"
        );
    }
}
