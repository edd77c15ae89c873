//! Reading the live account for one run and resolving the file against it.
//!
//! Exactly these calls (SPEC §2): `GET services` once, `GET prefixes` once (skipped when every
//! managed prefix pins its id), and one `GET bindings` per managed prefix, in parallel up to
//! the concurrency limit. Nothing per binding. Service names and prefix CIDRs become ids here;
//! every problem found is reported together, each at its place in the file.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use futures::{StreamExt, TryStreamExt};
use ipnet::IpNet;

use crate::api::{Api, ApiError, ForeignPrefix};
use crate::model::{
    Binding, DesiredPrefix, Location, MAGIC_TRANSIT, Prefix, PrefixId, ServiceId, Services,
    StateFile,
};
use crate::plan::{PrefixState, covers};

/// The file resolved against the live account.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub services: Services,
    /// Managed prefixes in file order, with their desired and live bindings.
    pub prefixes: Vec<PrefixState>,
    /// The account's prefix listing, when this run read it (it is skipped when every managed
    /// prefix pins its id): what `drift` lists unmanaged prefixes from, without a call more.
    pub listed: Option<Vec<Prefix>>,
}

/// A problem with the file that only the account can reveal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub location: Location,
    pub message: String,
    pub hint: Option<String>,
}

/// A `--prefix` value: a prefix's CIDR or its id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PrefixSelector {
    Cidr(IpNet),
    Id(PrefixId),
}

impl PrefixSelector {
    /// Whether this selects the prefix `cidr` whose id is `id` (when known).
    pub fn matches(&self, cidr: &IpNet, id: Option<&PrefixId>) -> bool {
        match self {
            PrefixSelector::Cidr(net) => net == cidr,
            PrefixSelector::Id(wanted) => id == Some(wanted),
        }
    }
}

impl fmt::Display for PrefixSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrefixSelector::Cidr(net) => net.fmt(f),
            PrefixSelector::Id(id) => id.fmt(f),
        }
    }
}

/// A `--prefix` value that is neither a CIDR nor an id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    #[error("--prefix `{value}` has host bits set; did you mean `{fixed}`?")]
    HostBits { value: IpNet, fixed: IpNet },
    #[error(
        "--prefix `{value}` is neither a CIDR nor a prefix id (1 to 32 letters or digits); use the CIDR or the id of a prefix listed under `prefixes:`"
    )]
    Invalid { value: String },
}

impl FromStr for PrefixSelector {
    type Err = SelectorError;

    fn from_str(s: &str) -> Result<Self, SelectorError> {
        if let Ok(net) = s.parse::<IpNet>() {
            return if net.trunc() == net {
                Ok(PrefixSelector::Cidr(net))
            } else {
                Err(SelectorError::HostBits {
                    value: net,
                    fixed: net.trunc(),
                })
            };
        }
        PrefixId::new(s)
            .map(PrefixSelector::Id)
            .map_err(|_| SelectorError::Invalid {
                value: crate::sanitize::text(s).into_owned(),
            })
    }
}

/// Why resolution failed.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// An API call failed.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The file disagrees with the account (unknown service, prefix not onboarded, …).
    #[error("the file does not match the account ({} problems)", .0.len())]
    Problems(Vec<Problem>),
    /// A `--prefix` value names no prefix of the file.
    #[error(
        "--prefix {value} matches no prefix in the file; use the CIDR or the id of a prefix listed under `prefixes:`"
    )]
    UnknownFilter { value: String },
    /// A `--prefix` value names no prefix of the account.
    #[error(
        "--prefix {value} matches no prefix of the account; use the CIDR or the id of one of its prefixes: {known}"
    )]
    NotInAccount { value: String, known: String },
}

/// Resolves service names to ids, prefix CIDRs to ids, and reads the live bindings of every
/// managed prefix (those of the file, narrowed by `filter` when it is not empty).
pub async fn resolve<A: Api>(
    api: &A,
    file: &StateFile,
    filter: &[PrefixSelector],
    concurrency: usize,
) -> Result<Resolved, ResolveError> {
    let (mut selected, by_other_id) = select(file, filter)?;
    // The two account-wide reads go out together. The prefix listing is needed to find the
    // ids of prefixes that do not pin one, and those that `--prefix ID` names.
    let need_listing =
        !by_other_id.is_empty() || selected.iter().any(|&i| file.prefixes[i].id.is_none());
    let prefixes_call = async {
        if need_listing {
            api.list_prefixes().await.map(Some)
        } else {
            Ok(None)
        }
    };
    let (services, mut listed): (_, Option<Vec<Prefix>>) =
        futures::try_join!(api.list_services(), prefixes_call)?;
    let services = Services::new(services);
    // Listed prefixes of other accounts: never managed, but a file naming one is told why.
    let mut foreign = api.foreign_prefixes();

    // `--prefix ID` for a prefix whose id the file does not pin.
    for id in &by_other_id {
        let found = listed.iter().flatten().find(|p| &p.id == id);
        match found.and_then(|p| file.prefixes.iter().position(|f| f.cidr == p.cidr)) {
            Some(i) => selected.push(i),
            None => {
                return Err(ResolveError::UnknownFilter {
                    value: id.to_string(),
                });
            }
        }
    }
    selected.sort_unstable();
    selected.dedup();
    let managed: Vec<&DesiredPrefix> = selected.iter().map(|&i| &file.prefixes[i]).collect();

    // Prefix ids, and the desired service ids of each prefix.
    let mut problems = Vec::new();
    let mut targets = Vec::new();
    for prefix in &managed {
        // Without a listing every managed prefix pins its id.
        let id = match &listed {
            None => prefix.id.clone(),
            Some(listed) => {
                match_listed(prefix, prefix.id.as_ref(), listed, &foreign, &mut problems)
            }
        };
        let desired = desired_services(prefix, &services, &mut problems);
        if let Some(id) = id {
            targets.push((*prefix, id, desired));
        }
    }
    if !problems.is_empty() {
        return Err(ResolveError::Problems(problems));
    }

    // One list per prefix, up to `concurrency` at a time, back in file order.
    let mut lives: Vec<(usize, Option<Vec<Binding>>)> = futures::stream::iter(
        targets
            .iter()
            .enumerate()
            .map(|(i, (_, id, _))| async move {
                match api.list_bindings(id).await {
                    Ok(live) => Ok((i, Some(live))),
                    Err(e) if e.is_prefix_not_found() => Ok((i, None)),
                    Err(e) => Err(e),
                }
            }),
    )
    .buffer_unordered(concurrency.max(1))
    .try_collect()
    .await?;
    lives.sort_unstable_by_key(|(i, _)| *i);

    // Pinned ids unchecked by a listing: their bindings must lie inside the CIDR, and an
    // empty prefix tells nothing, so then the listing is read after all to check it.
    let late_listing = listed.is_none()
        && lives
            .iter()
            .any(|(_, live)| live.as_ref().is_some_and(Vec::is_empty));
    if late_listing {
        listed = Some(api.list_prefixes().await?);
        foreign = api.foreign_prefixes();
    }

    let mut prefixes = Vec::new();
    for ((prefix, id, desired), (_, live)) in targets.into_iter().zip(lives) {
        let Some(live) = live else {
            problems.push(Problem {
                location: prefix.location,
                message: format!("prefix id {id} does not exist in the account"),
                hint: Some(
                    "check the pinned `id`, or remove it to look the prefix up by CIDR".into(),
                ),
            });
            continue;
        };
        if late_listing {
            if let Some(listed) = &listed
                && match_listed(prefix, Some(&id), listed, &foreign, &mut problems).is_none()
            {
                continue;
            }
        } else if listed.is_none()
            && let Some(stray) = live.iter().find(|b| !covers(&prefix.cidr, &b.cidr))
        {
            problems.push(Problem {
                location: prefix.location,
                message: format!(
                    "prefix id {id} is not {}: it has a binding for {}",
                    prefix.cidr, stray.cidr
                ),
                hint: Some("check the pinned `id` against `cidr`".into()),
            });
            continue;
        }
        prefixes.push(PrefixState {
            id,
            cidr: prefix.cidr,
            desired: desired.unwrap_or_default(),
            ignore: prefix.ignore.clone(),
            live,
        });
    }
    if !problems.is_empty() {
        return Err(ResolveError::Problems(problems));
    }
    Ok(Resolved {
        services,
        prefixes,
        listed,
    })
}

/// The indices of the file's prefixes that `filter` selects by CIDR or pinned id (all when it
/// is empty), without the account: an id the file does not pin matches nothing.
pub fn select_in_file(
    file: &StateFile,
    filter: &[PrefixSelector],
) -> Result<Vec<usize>, ResolveError> {
    let (selected, others) = select(file, filter)?;
    match others.first() {
        Some(id) => Err(ResolveError::UnknownFilter {
            value: id.to_string(),
        }),
        None => Ok(selected),
    }
}

/// The indices of the file's prefixes that `filter` selects by CIDR or pinned id (all when it
/// is empty), and the ids in `filter` that may name prefixes the file does not pin.
fn select(
    file: &StateFile,
    filter: &[PrefixSelector],
) -> Result<(Vec<usize>, Vec<PrefixId>), ResolveError> {
    if filter.is_empty() {
        return Ok(((0..file.prefixes.len()).collect(), Vec::new()));
    }
    let matches = |p: &DesiredPrefix, s: &PrefixSelector| s.matches(&p.cidr, p.id.as_ref());
    let selected = (0..file.prefixes.len())
        .filter(|&i| filter.iter().any(|s| matches(&file.prefixes[i], s)))
        .collect();
    let mut others = Vec::new();
    for selector in filter {
        if file.prefixes.iter().any(|p| matches(p, selector)) {
            continue;
        }
        match selector {
            PrefixSelector::Cidr(_) => {
                return Err(ResolveError::UnknownFilter {
                    value: selector.to_string(),
                });
            }
            // Only an id can still match, once the account's prefixes are listed.
            PrefixSelector::Id(id) => others.push(id.clone()),
        }
    }
    Ok((selected, others))
}

fn match_listed(
    prefix: &DesiredPrefix,
    pinned: Option<&PrefixId>,
    listed: &[Prefix],
    foreign: &[ForeignPrefix],
    problems: &mut Vec<Problem>,
) -> Option<PrefixId> {
    // Not the account's own, but another account's (delegated): its bindings are managed
    // there, never here.
    let delegated = foreign.iter().find(|f| match pinned {
        Some(id) => &f.prefix.id == id && listed.iter().all(|p| &p.id != id),
        None => f.prefix.cidr == prefix.cidr && listed.iter().all(|p| p.cidr != prefix.cidr),
    });
    if let Some(f) = delegated {
        problems.push(Problem {
            location: prefix.location,
            message: format!(
                "prefix {} (id {}) belongs to account {}, not to the account svcbind works on: a delegated prefix's bindings are managed in the account that owns it",
                f.prefix.cidr, f.prefix.id, f.owner
            ),
            hint: Some(format!(
                "manage it with the owning account's id ({}) in `account_id`, --account-id or CLOUDFLARE_ACCOUNT_ID, or remove it from this file",
                f.owner
            )),
        });
        return None;
    }
    if let Some(pinned) = pinned {
        return match listed.iter().find(|p| &p.id == pinned) {
            Some(p) if p.cidr == prefix.cidr => Some(p.id.clone()),
            Some(p) => {
                problems.push(Problem {
                    location: prefix.location,
                    message: format!(
                        "prefix id {pinned} is {} in the account, not {}",
                        p.cidr, prefix.cidr
                    ),
                    hint: Some("correct `cidr` or the pinned `id`".into()),
                });
                None
            }
            None => {
                problems.push(Problem {
                    location: prefix.location,
                    message: format!("prefix id {pinned} does not exist in the account"),
                    hint: Some(
                        "check the pinned `id`, or remove it to look the prefix up by CIDR".into(),
                    ),
                });
                None
            }
        };
    }
    let same: Vec<&Prefix> = listed.iter().filter(|p| p.cidr == prefix.cidr).collect();
    match same.as_slice() {
        [p] => Some(p.id.clone()),
        [_, _, ..] => {
            // Never a guess: which of them the file means, only the file can say.
            problems.push(Problem {
                location: prefix.location,
                message: format!(
                    "{} prefixes of the account have the CIDR {}: {}",
                    same.len(),
                    prefix.cidr,
                    id_list(same.iter().map(|p| p.id.as_str()))
                ),
                hint: Some("pin the one to manage with `id:` under this prefix".into()),
            });
            None
        }
        [] => {
            let known: Vec<String> = listed.iter().map(|p| p.cidr.to_string()).collect();
            problems.push(Problem {
                location: prefix.location,
                message: format!("prefix {} is not onboarded in the account", prefix.cidr),
                hint: Some(if known.is_empty() {
                    "the account has no BYOIP prefixes; check the account id".into()
                } else {
                    format!("the account's prefixes: {}", known.join(", "))
                }),
            });
            None
        }
    }
}

/// A live prefix with its bindings, as the views of the account read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LivePrefix {
    pub prefix: Prefix,
    pub bindings: Vec<Binding>,
}

/// Reads the account's service catalog and prefix listing (the two account-wide calls,
/// together): where `export`, `show` and `route` start, before they choose which prefixes to
/// read. Listed prefixes come sorted by CIDR.
pub async fn list_account<A: Api>(api: &A) -> Result<(Services, Vec<Prefix>), ApiError> {
    let (services, mut prefixes) = futures::try_join!(api.list_services(), api.list_prefixes())?;
    prefixes.sort_by(|a, b| (a.cidr, &a.id).cmp(&(b.cidr, &b.id)));
    Ok((Services::new(services), prefixes))
}

/// Reads the bindings of each of `prefixes`, one call each, up to `concurrency` at a time,
/// and returns them in the order given.
pub async fn read_bindings<A: Api>(
    api: &A,
    prefixes: Vec<Prefix>,
    concurrency: usize,
) -> Result<Vec<LivePrefix>, ApiError> {
    let mut read: Vec<(usize, LivePrefix)> = futures::stream::iter(
        prefixes
            .into_iter()
            .enumerate()
            .map(|(i, prefix)| async move {
                let bindings = api.list_bindings(&prefix.id).await?;
                Ok::<_, ApiError>((i, LivePrefix { prefix, bindings }))
            }),
    )
    .buffer_unordered(concurrency.max(1))
    .try_collect()
    .await?;
    read.sort_unstable_by_key(|(i, _)| *i);
    Ok(read.into_iter().map(|(_, p)| p).collect())
}

/// The listed prefixes that `filter` selects by CIDR or id (all when it is empty), in listing
/// order. A selector that matches no prefix of the account is an error naming them.
pub fn select_listed(
    listed: &[Prefix],
    filter: &[PrefixSelector],
) -> Result<Vec<Prefix>, ResolveError> {
    if let Some(unknown) = filter
        .iter()
        .find(|s| !listed.iter().any(|p| s.matches(&p.cidr, Some(&p.id))))
    {
        return Err(ResolveError::NotInAccount {
            value: unknown.to_string(),
            known: prefix_list(listed),
        });
    }
    Ok(listed
        .iter()
        .filter(|p| filter.is_empty() || filter.iter().any(|s| s.matches(&p.cidr, Some(&p.id))))
        .cloned()
        .collect())
}

/// `192.0.2.0/24, 2001:db8::/48`, or a sentence when there is none.
pub fn prefix_list(prefixes: &[Prefix]) -> String {
    if prefixes.is_empty() {
        "the account has no BYOIP prefixes".to_owned()
    } else {
        prefixes
            .iter()
            .map(|p| p.cidr.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Resolves each binding's service (a name, case-insensitively, or an id) to its id.
fn desired_services(
    prefix: &DesiredPrefix,
    services: &Services,
    problems: &mut Vec<Problem>,
) -> Option<BTreeMap<IpNet, ServiceId>> {
    let mut out = BTreeMap::new();
    let mut ok = true;
    for b in &prefix.bindings {
        match resolve_service(&b.service, services) {
            Ok(id) => {
                if b.cidr != prefix.cidr && services.is_magic_transit(&id) {
                    problems.push(Problem {
                        location: b.location,
                        message: format!(
                            "service `{}` is {MAGIC_TRANSIT}, which may only be the prefix-wide binding ({})",
                            b.service, prefix.cidr
                        ),
                        hint: Some("bind more-specific CIDRs to CDN or Spectrum".into()),
                    });
                    ok = false;
                }
                out.insert(b.cidr, id);
            }
            Err(problem) => {
                problems.push(Problem {
                    location: b.location,
                    ..problem
                });
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

/// `` `a`, `b` `` (ids checked by `model`, so they need no sanitizing).
fn id_list<'a>(ids: impl Iterator<Item = &'a str>) -> String {
    ids.map(|id| format!("`{id}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A service name (exact, then case-insensitive) or id, against the account's catalog. A name
/// that more than one service of the account bears is an error listing their ids: svcbind
/// never picks one of them.
pub fn resolve_service(value: &str, services: &Services) -> Result<ServiceId, Problem> {
    if let Some((id, _)) = services.iter().find(|(id, _)| id.as_str() == value) {
        return Ok(id.clone());
    }
    let exact: Vec<&ServiceId> = services
        .iter()
        .filter(|(_, name)| *name == value)
        .map(|(id, _)| id)
        .collect();
    let folded: Vec<&ServiceId> = services
        .iter()
        .filter(|(_, name)| name.eq_ignore_ascii_case(value))
        .map(|(id, _)| id)
        .collect();
    let candidates = if exact.is_empty() { folded } else { exact };
    match candidates.as_slice() {
        [id] => return Ok((*id).clone()),
        [_, _, ..] => {
            return Err(Problem {
                location: Location::default(),
                message: format!(
                    "service `{}` is ambiguous: {} services of the account bear that name: {}",
                    crate::sanitize::text(value),
                    candidates.len(),
                    id_list(candidates.iter().map(|id| id.as_str()))
                ),
                hint: Some("write the id of the service you mean instead of its name".into()),
            });
        }
        [] => {}
    }
    let mut names: Vec<&str> = services.iter().map(|(_, n)| n).collect();
    names.sort_unstable();

    let list = names
        .iter()
        .map(|n| format!("`{}`", crate::sanitize::text(n)))
        .collect::<Vec<_>>()
        .join(", ");
    Err(Problem {
        location: Location::default(),
        message: format!(
            "unknown service `{}`; the account's services are {list}",
            crate::sanitize::text(value)
        ),
        hint: crate::config::did_you_mean(value, names.iter().copied()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Service;

    fn catalog() -> Services {
        Services::new([
            Service {
                id: ServiceId::new("mt1").unwrap(),
                name: "Magic Transit".into(),
            },
            Service {
                id: ServiceId::new("cdn1").unwrap(),
                name: "CDN".into(),
            },
            Service {
                id: ServiceId::new("sp1").unwrap(),
                name: "Spectrum".into(),
            },
        ])
    }

    #[test]
    fn services_resolve_by_name_case_and_id() {
        let c = catalog();
        assert_eq!(resolve_service("CDN", &c).unwrap().as_str(), "cdn1");
        assert_eq!(
            resolve_service("magic transit", &c).unwrap().as_str(),
            "mt1"
        );
        assert_eq!(resolve_service("sp1", &c).unwrap().as_str(), "sp1");
    }

    #[test]
    fn unknown_service_lists_catalog_and_closest() {
        let err = resolve_service("Spectrun", &catalog()).unwrap_err();
        assert_eq!(
            err.message,
            "unknown service `Spectrun`; the account's services are `CDN`, `Magic Transit`, `Spectrum`"
        );
        assert_eq!(err.hint.as_deref(), Some("did you mean `Spectrum`?"));
        let err = resolve_service("zzzzzz", &catalog()).unwrap_err();
        assert_eq!(err.hint, None);
    }

    #[test]
    fn a_name_two_services_bear_is_an_error_listing_both_ids() {
        let mut services: Vec<Service> = catalog()
            .iter()
            .map(|(id, name)| Service {
                id: id.clone(),
                name: name.to_owned(),
            })
            .collect();
        services.push(Service {
            id: ServiceId::new("cdn2").unwrap(),
            name: "CDN".into(),
        });
        let c = Services::new(services);
        for name in ["CDN", "cdn"] {
            let err = resolve_service(name, &c).unwrap_err();
            assert_eq!(
                err.message,
                format!(
                    "service `{name}` is ambiguous: 2 services of the account bear that name: `cdn1`, `cdn2`"
                )
            );
            assert_eq!(
                err.hint.as_deref(),
                Some("write the id of the service you mean instead of its name")
            );
        }
        // Either id is fine, and other names are not affected.
        assert_eq!(resolve_service("cdn2", &c).unwrap().as_str(), "cdn2");
        assert_eq!(resolve_service("Spectrum", &c).unwrap().as_str(), "sp1");
    }
}

#[cfg(test)]
mod account_tests {
    use super::*;
    use crate::api::Route;
    use crate::emulator::{
        Account, CDN_ID, Emulator, EmulatorOptions, MAGIC_TRANSIT_ID, default_services,
    };
    use crate::model::{
        AccountId, Binding, BindingId, DesiredBinding, DesiredPrefix, ProvisioningState, Service,
    };

    const ACCOUNT: &str = "023e105f4ecef8ad9ca31a8372d0c353";

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn prefix_id(n: usize) -> PrefixId {
        PrefixId::new(format!("prefix{n:02}")).unwrap()
    }

    /// An account with `n` prefixes 10.n.0.0/24, each with a Magic Transit prefix-wide binding.
    fn emulator(n: usize) -> Emulator {
        let mut account = Account::new(AccountId::new(ACCOUNT).unwrap(), default_services());
        for i in 0..n {
            let cidr = net(&format!("10.{i}.0.0/24"));
            account
                .add_prefix(Prefix {
                    id: prefix_id(i),
                    cidr,
                    description: None,
                })
                .unwrap();
            account
                .insert_binding(
                    &prefix_id(i),
                    Binding {
                        id: BindingId::new(format!("b{i}")).unwrap(),
                        cidr,
                        service_id: ServiceId::new(MAGIC_TRANSIT_ID).unwrap(),
                        service_name: None,
                        state: ProvisioningState::Active,
                    },
                )
                .unwrap();
        }
        Emulator::new(account, EmulatorOptions::new("t"))
    }

    fn binding(cidr: &str, service: &str, line: u32) -> DesiredBinding {
        DesiredBinding {
            cidr: net(cidr),
            service: service.into(),
            id: None,
            state: None,
            location: Location {
                file: 0,
                line,
                column: 18,
            },
        }
    }

    fn file(n: usize, pinned: bool) -> StateFile {
        StateFile {
            prefixes: (0..n)
                .map(|i| DesiredPrefix {
                    cidr: net(&format!("10.{i}.0.0/24")),
                    id: pinned.then(|| prefix_id(i)),
                    ignore: Vec::new(),
                    bindings: vec![
                        binding(&format!("10.{i}.0.0/24"), "Magic Transit", 10),
                        binding(&format!("10.{i}.0.16/29"), "CDN", 12),
                    ],
                    location: Location {
                        file: 0,
                        line: 5,
                        column: 11,
                    },
                })
                .collect(),
            ..StateFile::default()
        }
    }

    fn problems(result: Result<Resolved, ResolveError>) -> Vec<Problem> {
        match result {
            Err(ResolveError::Problems(p)) => p,
            other => panic!("expected problems, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn reads_take_p_plus_two_calls_or_p_plus_one_when_pinned() {
        for (pinned, expected) in [(false, 12 + 2), (true, 12 + 1)] {
            let em = emulator(12);
            let api = em.in_process(AccountId::new(ACCOUNT).unwrap());
            let resolved = resolve(&api, &file(12, pinned), &[], 4).await.unwrap();
            assert_eq!(resolved.prefixes.len(), 12);
            let counts = em.request_counts();
            assert_eq!(counts.total, expected, "pinned: {pinned}: {counts:?}");
            assert_eq!(counts.get(Route::ListServices), 1);
            assert_eq!(counts.get(Route::ListPrefixes), u64::from(!pinned));
            assert_eq!(counts.get(Route::ListBindings), 12);
            // File order is kept, with the desired services resolved to ids.
            assert_eq!(resolved.prefixes[3].cidr, net("10.3.0.0/24"));
            assert_eq!(
                resolved.prefixes[3].desired[&net("10.3.0.16/29")].as_str(),
                CDN_ID
            );
        }
    }

    #[tokio::test]
    async fn two_live_prefixes_with_one_cidr_need_a_pinned_id() {
        let em = emulator(1);
        em.with_account(|a| {
            a.add_prefix(Prefix {
                id: PrefixId::new("twin").unwrap(),
                cidr: net("10.0.0.0/24"),
                description: None,
            })
            .unwrap();
        });
        let api = em.in_process(AccountId::new(ACCOUNT).unwrap());
        let p = problems(resolve(&api, &file(1, false), &[], 4).await);
        assert_eq!(
            p,
            [Problem {
                location: Location {
                    file: 0,
                    line: 5,
                    column: 11
                },
                message: "2 prefixes of the account have the CIDR 10.0.0.0/24: `prefix00`, `twin`"
                    .into(),
                hint: Some("pin the one to manage with `id:` under this prefix".into()),
            }]
        );
        // Pinned, it is no longer a question.
        let resolved = resolve(&api, &file(1, true), &[], 4).await.unwrap();
        assert_eq!(resolved.prefixes[0].id, prefix_id(0));
        let mut f = file(1, false);
        f.prefixes[0].id = Some(PrefixId::new("twin").unwrap());
        let resolved = resolve(&api, &f, &[], 4).await.unwrap();
        assert_eq!(resolved.prefixes[0].id.as_str(), "twin");
    }

    #[tokio::test]
    async fn a_service_name_two_services_bear_is_reported_at_the_binding() {
        let mut services = default_services();
        services.push(Service {
            id: ServiceId::new("cdn2").unwrap(),
            name: "CDN".into(),
        });
        let account = Account::new(AccountId::new(ACCOUNT).unwrap(), services);
        let em = Emulator::new(account, EmulatorOptions::new("t"));
        em.with_account(|a| {
            a.add_prefix(Prefix {
                id: prefix_id(0),
                cidr: net("10.0.0.0/24"),
                description: None,
            })
            .unwrap();
        });
        let api = em.in_process(AccountId::new(ACCOUNT).unwrap());
        let p = problems(resolve(&api, &file(1, false), &[], 4).await);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(
            p[0].location,
            Location {
                file: 0,
                line: 12,
                column: 18
            }
        );
        assert_eq!(
            p[0].message,
            format!(
                "service `CDN` is ambiguous: 2 services of the account bear that name: `{CDN_ID}`, `cdn2`"
            )
        );
    }

    #[tokio::test]
    async fn every_problem_is_reported_at_its_place() {
        let em = emulator(2);
        let api = em.in_process(AccountId::new(ACCOUNT).unwrap());
        let mut f = file(2, false);
        f.prefixes[0].bindings[1].service = "CDNN".into();
        f.prefixes[1].bindings[1].service = MAGIC_TRANSIT_ID.into();
        f.prefixes.push(DesiredPrefix {
            cidr: net("192.0.2.0/24"),
            id: None,
            ignore: Vec::new(),
            bindings: Vec::new(),
            location: Location {
                file: 0,
                line: 30,
                column: 11,
            },
        });
        let p = problems(resolve(&api, &f, &[], 8).await);
        assert_eq!(p.len(), 3, "{p:#?}");
        assert_eq!(
            p[0].location,
            Location {
                file: 0,
                line: 12,
                column: 18
            }
        );
        assert!(p[0].message.starts_with(
            "unknown service `CDNN`; the account's services are `CDN`, `Magic Transit`, `Spectrum`"
        ));
        assert_eq!(p[0].hint.as_deref(), Some("did you mean `CDN`?"));
        assert!(
            p[1].message
                .contains("Magic Transit, which may only be the prefix-wide binding")
        );
        assert_eq!(p[2].location.line, 30);
        assert_eq!(
            p[2].message,
            "prefix 192.0.2.0/24 is not onboarded in the account"
        );
        assert_eq!(
            p[2].hint.as_deref(),
            Some("the account's prefixes: 10.0.0.0/24, 10.1.0.0/24")
        );
        // Nothing per prefix is read when the file does not resolve.
        assert_eq!(em.request_counts().get(Route::ListBindings), 0);
    }

    #[tokio::test]
    async fn pinned_ids_must_exist_and_match_the_cidr() {
        let em = emulator(2);
        let api = em.in_process(AccountId::new(ACCOUNT).unwrap());
        // Listed (one prefix unpinned): the listing is checked.
        let mut f = file(2, false);
        f.prefixes[0].id = Some(prefix_id(1));
        let p = problems(resolve(&api, &f, &[], 8).await);
        assert_eq!(
            p[0].message,
            "prefix id prefix01 is 10.1.0.0/24 in the account, not 10.0.0.0/24"
        );
        // All pinned: no listing; a missing id shows as not found, a wrong one by its bindings.
        let mut f = file(2, true);
        f.prefixes[0].id = Some(PrefixId::new("nosuch").unwrap());
        f.prefixes[1].id = Some(prefix_id(0));
        let p = problems(resolve(&api, &f, &[], 8).await);
        assert_eq!(
            p[0].message,
            "prefix id nosuch does not exist in the account"
        );
        assert_eq!(
            p[1].message,
            "prefix id prefix00 is not 10.1.0.0/24: it has a binding for 10.0.0.0/24"
        );
    }

    #[tokio::test]
    async fn a_404_that_is_not_prefix_not_found_is_an_error_not_a_missing_prefix() {
        use crate::emulator::{FaultAction, FaultRule};
        let em = emulator(1);
        let api = em.in_process(AccountId::new(ACCOUNT).unwrap());
        for action in [
            FaultAction::Status {
                status: 404,
                retry_after_secs: None,
                code: Some(crate::api::error::codes::UNKNOWN_ROUTE),
                message: Some("No route for that URI".into()),
            },
            FaultAction::Malformed { status: Some(404) },
        ] {
            em.add_fault(FaultRule::new(action.clone()).path_contains("/bindings"));
            let err = resolve(&api, &file(1, true), &[], 8).await.unwrap_err();
            let ResolveError::Api(e) = err else {
                panic!("{action:?}: expected an API error, got {err:?}")
            };
            assert_eq!(e.status(), Some(404), "{action:?}");
        }
    }

    #[tokio::test]
    async fn the_prefix_filter_narrows_and_rejects_unknown_values() {
        let em = emulator(3);
        let api = em.in_process(AccountId::new(ACCOUNT).unwrap());
        let f = file(3, true);
        let r = resolve(&api, &f, &selectors(&["10.2.0.0/24", "prefix00"]), 8)
            .await
            .unwrap();
        let cidrs: Vec<String> = r.prefixes.iter().map(|p| p.cidr.to_string()).collect();
        assert_eq!(cidrs, ["10.0.0.0/24", "10.2.0.0/24"]);
        assert_eq!(em.request_counts().get(Route::ListBindings), 2);
        let err = resolve(&api, &f, &selectors(&["10.9.0.0/24"]), 8)
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "--prefix 10.9.0.0/24 matches no prefix in the file; use the CIDR or the id of a prefix listed under `prefixes:`"
        );
    }

    #[tokio::test]
    async fn the_prefix_filter_takes_ids_the_file_does_not_pin() {
        let em = emulator(3);
        let api = em.in_process(AccountId::new(ACCOUNT).unwrap());
        let r = resolve(&api, &file(3, false), &selectors(&["prefix01"]), 8)
            .await
            .unwrap();
        assert_eq!(r.prefixes.len(), 1);
        assert_eq!(r.prefixes[0].cidr, net("10.1.0.0/24"));
        // An id of the account that is not a prefix of the file is refused, after the listing.
        let mut f = file(3, false);
        f.prefixes.remove(2);
        let err = resolve(&api, &f, &selectors(&["prefix02"]), 8)
            .await
            .unwrap_err();
        assert!(matches!(err, ResolveError::UnknownFilter { .. }), "{err}");
        // A CIDR the file does not list: refused before any call.
        em.reset_request_counts();
        let err = resolve(&api, &f, &selectors(&["10.2.0.0/24"]), 8)
            .await
            .unwrap_err();
        assert!(matches!(err, ResolveError::UnknownFilter { .. }), "{err}");
        assert_eq!(em.request_counts().total, 0);
    }

    fn selectors(values: &[&str]) -> Vec<PrefixSelector> {
        values.iter().map(|v| v.parse().unwrap()).collect()
    }

    #[test]
    fn selectors_are_a_cidr_or_an_id() {
        assert_eq!(
            "192.0.2.0/24".parse(),
            Ok(PrefixSelector::Cidr(net("192.0.2.0/24")))
        );
        assert_eq!("prefix01".parse(), Ok(PrefixSelector::Id(prefix_id(1))));
        let err = "192.0.2.1/24".parse::<PrefixSelector>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "--prefix `192.0.2.1/24` has host bits set; did you mean `192.0.2.0/24`?"
        );
        for bad in ["not/an id", "../x", &"a".repeat(33), ""] {
            let err = bad.parse::<PrefixSelector>().unwrap_err();
            assert!(matches!(err, SelectorError::Invalid { .. }), "{bad}: {err}");
        }
        let s = PrefixSelector::Id(prefix_id(1));
        assert!(s.matches(&net("10.1.0.0/24"), Some(&prefix_id(1))));
        assert!(!s.matches(&net("10.1.0.0/24"), None));
    }

    #[tokio::test]
    async fn an_empty_pinned_prefix_is_checked_against_the_listing() {
        let em = emulator(2);
        // 10.1.0.0/24 loses its only binding.
        em.with_account(|a| {
            a.delete_binding(ACCOUNT, "prefix01", "b1", std::time::Duration::ZERO)
                .unwrap()
        });
        let api = em.in_process(AccountId::new(ACCOUNT).unwrap());
        let mut f = file(2, true);
        // The file pins 10.0.0.0/24's id on 10.1.0.0/24 and the other way round.
        f.prefixes[0].id = Some(prefix_id(1));
        f.prefixes[1].id = Some(prefix_id(0));
        let p = problems(resolve(&api, &f, &[], 8).await);
        assert_eq!(
            p.iter().map(|p| p.message.as_str()).collect::<Vec<_>>(),
            [
                "prefix id prefix01 is 10.1.0.0/24 in the account, not 10.0.0.0/24",
                "prefix id prefix00 is 10.0.0.0/24 in the account, not 10.1.0.0/24",
            ]
        );
        // Correctly pinned: P + 1 reads plus the listing that checks the empty prefix.
        em.reset_request_counts();
        let r = resolve(&api, &file(2, true), &[], 8).await.unwrap();
        assert_eq!(r.prefixes.len(), 2);
        assert_eq!(em.request_counts().total, 2 + 1 + 1);
    }

    #[tokio::test]
    async fn api_errors_surface_as_they_are() {
        let em = emulator(1);
        let api = em.in_process(AccountId::new("0000000000000000000000000000000f").unwrap());
        let err = resolve(&api, &file(1, false), &[], 8).await.unwrap_err();
        let ResolveError::Api(e) = err else {
            panic!("expected an API error")
        };
        assert_eq!(e.status(), Some(400));
        assert!(e.codes().contains(&crate::api::error::codes::NO_ROUTE));
    }

    /// The emulated account, whose listing also named prefixes of another account.
    struct Delegated {
        inner: crate::emulator::InProcess,
        foreign: Vec<ForeignPrefix>,
    }

    impl Api for Delegated {
        async fn list_services(&self) -> Result<Vec<Service>, ApiError> {
            self.inner.list_services().await
        }
        async fn list_prefixes(&self) -> Result<Vec<Prefix>, ApiError> {
            self.inner.list_prefixes().await
        }
        fn foreign_prefixes(&self) -> Vec<ForeignPrefix> {
            self.foreign.clone()
        }
        async fn get_prefix(&self, p: &PrefixId) -> Result<Option<Prefix>, ApiError> {
            self.inner.get_prefix(p).await
        }
        async fn list_bindings(&self, p: &PrefixId) -> Result<Vec<Binding>, ApiError> {
            self.inner.list_bindings(p).await
        }
        async fn get_binding(
            &self,
            p: &PrefixId,
            b: &BindingId,
        ) -> Result<Option<Binding>, ApiError> {
            self.inner.get_binding(p, b).await
        }
        async fn create_binding(
            &self,
            p: &PrefixId,
            cidr: IpNet,
            s: &ServiceId,
        ) -> Result<crate::api::Created, ApiError> {
            self.inner.create_binding(p, cidr, s).await
        }
        async fn delete_binding(
            &self,
            p: &PrefixId,
            b: &BindingId,
        ) -> Result<crate::api::Confirmed, ApiError> {
            self.inner.delete_binding(p, b).await
        }
    }

    #[tokio::test]
    async fn a_prefix_of_another_account_is_refused_saying_where_it_is_managed() {
        let em = emulator(1);
        let owner = "ffffffffffffffffffffffffffffffff";
        let api = Delegated {
            inner: em.in_process(AccountId::new(ACCOUNT).unwrap()),
            foreign: vec![ForeignPrefix {
                prefix: Prefix {
                    id: PrefixId::new("delegated").unwrap(),
                    cidr: net("10.1.0.0/24"),
                    description: None,
                },
                owner: owner.into(),
            }],
        };
        // By CIDR, and by a pinned id: the same refusal, and the account's own prefix is fine.
        for pinned in [None, Some(PrefixId::new("delegated").unwrap())] {
            let mut f = file(2, false);
            f.prefixes[1].id = pinned.clone();
            let p = problems(resolve(&api, &f, &[], 4).await);
            assert_eq!(p.len(), 1, "{pinned:?}: {p:?}");
            assert_eq!(
                p[0].message,
                format!(
                    "prefix 10.1.0.0/24 (id delegated) belongs to account {owner}, not to the account svcbind works on: a delegated prefix's bindings are managed in the account that owns it"
                )
            );
            assert_eq!(
                p[0].hint.as_deref(),
                Some(
                    format!("manage it with the owning account's id ({owner}) in `account_id`, --account-id or CLOUDFLARE_ACCOUNT_ID, or remove it from this file")
                        .as_str()
                )
            );
        }
        // Nothing of it is read: only the account's own prefix would be.
        assert_eq!(em.request_counts().get(Route::ListBindings), 0);
        let resolved = resolve(&api, &file(1, false), &[], 4).await.unwrap();
        assert_eq!(resolved.prefixes.len(), 1);
    }
}
