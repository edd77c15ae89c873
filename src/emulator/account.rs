//! The emulated account's façade: the seven API calls, as the API answers them.
//!
//! [`Account`] takes each call's strings as they came in the URL and body, turns them into
//! domain types or a refusal ([`super::wire`]), asks the rules core ([`crate::rules`]) whether
//! a create or delete is allowed, updates its storage ([`super::store`]), and answers with the
//! API's JSON shapes or a [`Rejection`] with the real status and codes.
//!
//! Everything here is synchronous and deterministic: no I/O, no clock, no printing. Time comes in
//! as a [`Duration`] since an arbitrary start, so provisioning is tested without sleeping, and
//! generated ids are hashes of what the account has seen, so a run can be repeated exactly.
//! The HTTP server and the in-process [`crate::api::Api`] both call it.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::api::endpoint::{Endpoint, RawEndpoint};
use crate::api::wire::{WireBinding, WireService};
use crate::model::{
    AccountId, Binding, BindingId, DesiredBinding, DesiredPrefix, Location, Prefix, PrefixId,
    ProvisioningState, Service, ServiceId, Services, StateFile,
};
use crate::rules;

use super::store::{BindingRecord, PrefixRecord, SeedError, Slot, StateRecord, Store};
use super::wire::{self, EmulatedPrefix, Rejection};

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
/// by scanning the account.
#[derive(Debug, Clone)]
pub struct Account {
    id: AccountId,
    /// In List Services order.
    services: Vec<Service>,
    /// The same services by id, for the rules and for naming bindings.
    catalog: Services,
    store: Store,
    provisioning_delay: Duration,
    clock: Duration,
    /// Bindings created so far: a counter that makes generated ids unique and reproducible.
    created: u64,
}

impl Account {
    /// An empty account with this catalog; new bindings turn active at once (see
    /// [`Account::set_provisioning_delay`]).
    pub fn new(account_id: AccountId, services: Vec<Service>) -> Self {
        // Where two services share an id, the first one's name counts, as in List Services.
        let catalog = Services::new(services.iter().rev().cloned());
        Self {
            id: account_id,
            services,
            catalog,
            store: Store::default(),
            provisioning_delay: Duration::ZERO,
            clock: Duration::ZERO,
            created: 0,
        }
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
        self.store.add_prefix(prefix)
    }

    /// Inserts a binding as it is, without the API's rules (to mirror a live account, which may
    /// even break them). Its state never changes. Fails only on an unknown prefix or a binding
    /// id already in use.
    pub fn insert_binding(&mut self, prefix: &PrefixId, binding: Binding) -> Result<(), SeedError> {
        self.store.insert(
            prefix,
            BindingRecord {
                id: binding.id,
                cidr: binding.cidr,
                service_id: binding.service_id,
                service_name: binding.service_name,
                state: StateRecord::Fixed(binding.state),
            },
        )
    }

    /// Whether some binding of the account has id `id`.
    pub(super) fn has_binding(&self, id: &BindingId) -> bool {
        self.store.has_binding(id)
    }

    /// List services.
    pub fn list_services(&self, account: &str) -> Result<Vec<WireService>, Rejection> {
        self.check_account(account, Endpoint::ListServices)?;
        Ok(self.services.iter().map(wire::wire_service).collect())
    }

    /// List prefixes.
    pub fn list_prefixes(&self, account: &str) -> Result<Vec<EmulatedPrefix>, Rejection> {
        self.check_account(account, Endpoint::ListPrefixes)?;
        Ok(self
            .store
            .prefixes()
            .map(|r| wire::wire_prefix(&self.id, &r.prefix))
            .collect())
    }

    /// Get a prefix.
    pub fn get_prefix(&self, account: &str, prefix: &str) -> Result<EmulatedPrefix, Rejection> {
        self.check_account(account, Endpoint::GetPrefix(prefix))?;
        let record = self.prefix(prefix)?;
        Ok(wire::wire_prefix(&self.id, &record.prefix))
    }

    /// List a prefix's bindings, in creation order.
    pub fn list_bindings(
        &mut self,
        account: &str,
        prefix: &str,
        now: Duration,
    ) -> Result<Vec<WireBinding>, Rejection> {
        self.check_account(account, Endpoint::ListBindings(prefix))?;
        self.advance_to(now);
        let record = self.prefix(prefix)?;
        Ok(record
            .iter()
            .map(|b| wire::wire_binding(&self.catalog, b, b.state_at(now)))
            .collect())
    }

    /// Get one binding.
    pub fn get_binding(
        &mut self,
        account: &str,
        prefix: &str,
        binding: &str,
        now: Duration,
    ) -> Result<WireBinding, Rejection> {
        self.check_account(account, Endpoint::GetBinding(prefix, binding))?;
        self.advance_to(now);
        let index = self.prefix_index(prefix)?;
        let b = self.binding_in(index, binding)?.1;
        Ok(wire::wire_binding(&self.catalog, b, b.state_at(now)))
    }

    /// Whether a create may be asked of `prefix` at all: the account is this one (else 400 /
    /// 7003), and the prefix is one of its (else 404 / 1000). Checked before the request's
    /// body is read, as the API routes a request before it decodes it.
    pub fn check_create_target(&self, account: &str, prefix: &str) -> Result<(), Rejection> {
        self.check_account(account, Endpoint::CreateBinding(prefix))?;
        self.prefix_index(prefix).map(|_| ())
    }

    /// Create a binding from `{"cidr", "service_id"}` (the API answers
    /// 201). The new binding is `provisioning`.
    ///
    /// Refused with 400 / 1003: a `cidr` or `service_id` that is missing, or is not a CIDR or
    /// an id; then whatever the rules core refuses ([`rules::PrefixBindings::check_create`]),
    /// with the CIDR's own rules before the service's (a more-specific binding of its cover's
    /// service included).
    pub fn create_binding(
        &mut self,
        account: &str,
        prefix: &str,
        cidr: &str,
        service_id: &str,
        now: Duration,
    ) -> Result<WireBinding, Rejection> {
        self.check_account(account, Endpoint::CreateBinding(prefix))?;
        self.advance_to(now);
        let index = self.prefix_index(prefix)?;
        let record = self.store.prefix(index);
        let prefix_cidr = record.prefix.cidr;
        let net = wire::parse_cidr(cidr, prefix_cidr)?;
        rules::check_cidr(prefix_cidr, net)?;
        let service_id = wire::parse_service_id(service_id)?;
        record
            .rules()
            .check_create(net, &service_id, &self.catalog)?;

        let id = wire::new_binding_id(&record.prefix.id, &net, self.created, |id| {
            self.store.has_binding(id)
        });
        self.created += 1;
        let binding = BindingRecord {
            id,
            cidr: net,
            service_id,
            service_name: None,
            state: StateRecord::ActiveAt(now + self.provisioning_delay),
        };
        let answer = wire::wire_binding(&self.catalog, &binding, ProvisioningState::Provisioning);
        self.store.push(index, binding);
        Ok(answer)
    }

    /// Delete a binding (the API answers with the
    /// envelope only).
    ///
    /// Refused: an unknown binding (404 / 1002); what the rules core refuses
    /// ([`rules::PrefixBindings::check_delete`]: the last prefix-wide binding while
    /// more-specific bindings exist, 400 / 1003).
    pub fn delete_binding(
        &mut self,
        account: &str,
        prefix: &str,
        binding: &str,
        now: Duration,
    ) -> Result<(), Rejection> {
        self.check_account(account, Endpoint::DeleteBinding(prefix, binding))?;
        self.advance_to(now);
        let index = self.prefix_index(prefix)?;
        let (slot, record) = self.binding_in(index, binding)?;
        self.store.prefix(index).rules().check_delete(record.cidr)?;
        self.store.remove(slot);
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
            .store
            .prefixes()
            .map(|r| DesiredPrefix {
                cidr: r.prefix.cidr,
                id: Some(r.prefix.id.clone()),
                ignore: Vec::new(),
                bindings: r
                    .iter()
                    .map(|b| DesiredBinding {
                        cidr: b.cidr,
                        service: self.catalog.display(&b.service_id).to_owned(),
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
            services,
            prefixes,
            ..StateFile::default()
        }
    }

    /// Refuses an account id that is not this account's, naming the path of the call the way
    /// the API does.
    fn check_account(&self, account: &str, call: RawEndpoint<'_>) -> Result<(), Rejection> {
        if account == self.id.as_str() {
            Ok(())
        } else {
            Err(Rejection::no_route(&format!(
                "/client/v4{}",
                call.path(account)
            )))
        }
    }

    fn prefix_index(&self, prefix: &str) -> Result<usize, Rejection> {
        self.store
            .prefix_at(prefix)
            .ok_or_else(Rejection::prefix_not_found)
    }

    fn prefix(&self, prefix: &str) -> Result<&PrefixRecord, Rejection> {
        self.prefix_index(prefix).map(|i| self.store.prefix(i))
    }

    /// Binding `id`, if it lives in the prefix at `index`: a binding of another prefix is as
    /// unknown as one that does not exist.
    fn binding_in(&self, index: usize, id: &str) -> Result<(Slot, &BindingRecord), Rejection> {
        self.store
            .slot(id)
            .filter(|slot| slot.prefix == index)
            .and_then(|slot| Some((slot, self.store.get(slot)?)))
            .ok_or_else(Rejection::binding_not_found)
    }
}

#[cfg(test)]
mod tests {
    use ipnet::IpNet;

    use super::*;
    use crate::api::error::codes;
    use crate::emulator::{
        CDN_ID, DEFAULT_ACCOUNT_ID, MAGIC_TRANSIT_ID, SPECTRUM_ID, default_account_id,
        default_services,
    };

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
        // The current contract's newer fields, on the wire too.
        assert!(!p.delegate_loa_creation);
        for state in [
            &p.irr_validation_state,
            &p.ownership_validation_state,
            &p.rpki_validation_state,
        ] {
            assert_eq!(state, "verified");
        }
        let token = &p.ownership_validation_token;
        assert_eq!(token.len(), 36, "{token}");
        assert_ne!(
            token,
            &a.get_prefix(ACCOUNT, "p6")
                .unwrap()
                .ownership_validation_token
        );
        let json = serde_json::to_value(&p).unwrap();
        for field in [
            "id",
            "cidr",
            "approved",
            "delegate_loa_creation",
            "irr_validation_state",
            "ownership_validation_state",
            "rpki_validation_state",
            "ownership_validation_token",
        ] {
            assert!(json.get(field).is_some(), "{field}: {json}");
        }
        assert_eq!(json["delegate_loa_creation"], false);
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
        assert_unsupported(
            create(&mut a, "192.0.2.0/24", "not/an-id"),
            "unknown service_id `not/an-id`: List Services gives the account's services",
            Some("/service_id"),
        );
        assert!(cidrs(&mut a, "p4").is_empty());
    }

    #[test]
    fn the_cidrs_own_rules_come_before_the_service() {
        let mut a = account();
        assert_unsupported(
            create(&mut a, "192.0.2.1/24", ""),
            "has host bits set",
            Some("/cidr"),
        );
        assert_unsupported(
            create(&mut a, "198.51.100.0/24", "nope"),
            "is not inside prefix",
            Some("/cidr"),
        );
        // An unknown service before the prefix-wide rule.
        assert_unsupported(
            create(&mut a, "192.0.2.16/29", "nope"),
            "unknown service_id `nope`",
            Some("/service_id"),
        );
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
    fn a_more_specific_binding_of_its_covers_service_is_refused() {
        let mut a = account();
        create(&mut a, "192.0.2.0/24", CDN_ID).unwrap();
        assert_unsupported(
            create(&mut a, "192.0.2.128/25", CDN_ID),
            "192.0.2.128/25 cannot have the service of 192.0.2.0/24",
            Some("/service_id"),
        );
        create(&mut a, "192.0.2.128/25", SPECTRUM_ID).unwrap();
        assert_unsupported(
            create(&mut a, "192.0.2.128/26", SPECTRUM_ID),
            "cannot have the service of 192.0.2.128/25, the binding that covers it",
            Some("/service_id"),
        );
        // CDN under Spectrum under CDN: only the nearest cover counts.
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
        for (cidr, service) in [
            ("192.0.2.0/24", MAGIC_TRANSIT_ID),
            ("192.0.2.128/25", CDN_ID),
            ("192.0.2.0/25", CDN_ID),
            ("192.0.2.64/26", SPECTRUM_ID),
        ] {
            ids.push(create(&mut a, cidr, service).unwrap().id);
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
    fn generated_binding_ids_are_hex_unique_and_reproducible() {
        let run = || {
            let mut a = account();
            let mut ids = Vec::new();
            for (cidr, service) in [
                ("192.0.2.0/24", MAGIC_TRANSIT_ID),
                ("192.0.2.16/29", CDN_ID),
                ("192.0.2.32/29", CDN_ID),
            ] {
                ids.push(create(&mut a, cidr, service).unwrap().id);
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
}
