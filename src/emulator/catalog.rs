//! The emulated account's catalog and seeding: the default account and services, and an
//! account built from a seed file (the desired-state format, with ids and states).
//!
//! A seed is inserted as written, even where it breaks the API's rules, since a seed may
//! mirror a live account in a state the API would not let one reach; only what the account
//! cannot hold at all (an unknown service, an id used twice) is a [`SeedError`].

use crate::model::{
    AccountId, Binding, MAGIC_TRANSIT, Prefix, ProvisioningState, Service, ServiceId, StateFile,
};

use super::account::Account;
use super::store::SeedError;
use super::wire::{seed_binding_id, seed_prefix_id};

/// The account id of an emulated account whose seed names none (the contract's example id).
pub const DEFAULT_ACCOUNT_ID: &str = "023e105f4ecef8ad9ca31a8372d0c353";

/// The service ids of the default catalog.
pub const MAGIC_TRANSIT_ID: &str = "f2f0ba6cd8a14c3e9ee9d6bd8b4b5f2a";
/// The CDN's id in the default catalog.
pub const CDN_ID: &str = "a7c5b5e1c33d4ea0b2f5d4f6c1e0a9b3";
/// Spectrum's id in the default catalog.
pub const SPECTRUM_ID: &str = "5c3d1e2f4a6b4c8d9e0f1a2b3c4d5e6f";

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

impl Account {
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
                let service_id =
                    resolve_service(account.services(), &b.service).ok_or_else(|| {
                        SeedError::UnknownService {
                            prefix: p.cidr,
                            binding: b.cidr,
                            service: b.service.clone(),
                            known: catalog_list(account.services()),
                        }
                    })?;
                let id = match &b.id {
                    Some(id) => id.clone(),
                    None => seed_binding_id(&p.cidr, &b.cidr, |id| account.has_binding(id)),
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
}

/// A service written in a seed: a catalog name first, else a catalog id.
fn resolve_service(services: &[Service], service: &str) -> Option<ServiceId> {
    services
        .iter()
        .find(|s| s.name == service)
        .or_else(|| services.iter().find(|s| s.id.as_str() == service))
        .map(|s| s.id.clone())
}

/// The catalog as a message lists it: `name (id), …`.
fn catalog_list(services: &[Service]) -> String {
    if services.is_empty() {
        return "(the catalog is empty)".to_owned();
    }
    services
        .iter()
        .map(|s| format!("{} ({})", s.name, s.id))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use ipnet::IpNet;

    use super::*;
    use crate::model::{BindingId, DesiredBinding, DesiredPrefix, Location, PrefixId};

    const ACCOUNT: &str = DEFAULT_ACCOUNT_ID;
    const T0: Duration = Duration::ZERO;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
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
    fn default_catalog_has_the_three_services_with_fixed_ids() {
        let a = Account::new(default_account_id(), default_services());
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
        assert_eq!(catalog_list(&[]), "(the catalog is empty)");
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
        let mut a = Account::new(default_account_id(), default_services());
        for (id, cidr) in [("p4", "192.0.2.0/24"), ("p6", "2001:db8:1000::/48")] {
            a.add_prefix(Prefix {
                id: PrefixId::new(id).unwrap(),
                cidr: net(cidr),
                description: None,
            })
            .unwrap();
        }
        a.set_provisioning_delay(Duration::from_secs(5));
        for (prefix, cidr, service) in [
            ("p4", "192.0.2.0/24", MAGIC_TRANSIT_ID),
            ("p4", "192.0.2.16/29", CDN_ID),
            ("p6", "2001:db8:1000::/48", SPECTRUM_ID),
        ] {
            a.create_binding(ACCOUNT, prefix, cidr, service, T0)
                .unwrap();
        }
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
}
