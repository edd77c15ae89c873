//! The desired-state file of a live account, for `svcbind export`: every binding with its
//! service's name, sorted, and comments that say what the file cannot (each prefix's id, a
//! binding not active yet, a binding that breaks the API's rules).
//!
//! Pure: the caller reads the account and writes the text ([`super::to_yaml_with`]). Planning
//! the result against the same account shows no change: every binding is in it, by CIDR, with
//! a service that resolves to the same id (the catalog's name, or the id itself when the
//! catalog lacks it), and no `ignore` range or pinned id changes what is managed.
//!
//! A live binding that breaks the API's rules (judged by the rules core, [`violations`]) is
//! written as it is, with a comment saying which rule: the file then says what the account
//! holds, and `svcbind validate` reports the problem at that binding instead of the export
//! hiding it.

use ipnet::IpNet;

use crate::model::{
    AccountId, Binding, BindingId, DesiredBinding, DesiredPrefix, Prefix, ServiceId, Services,
    StateFile,
};
use crate::rules::{Entry, PrefixBindings, Violation, check_prefix_wide};

use super::write::Comments;

/// A live prefix and its bindings, as read.
#[derive(Debug, Clone, Copy)]
pub struct LiveInput<'a> {
    pub prefix: &'a Prefix,
    pub bindings: &'a [Binding],
}

/// The rule of the API a live prefix breaks as a whole: more-specific bindings without the
/// prefix-wide one.
pub fn prefix_violation(prefix: IpNet, bindings: &[Binding]) -> Option<Violation> {
    let has_prefix_wide = bindings.iter().any(|b| b.cidr == prefix);
    let more_specific = bindings.iter().any(|b| b.cidr != prefix);
    check_prefix_wide(prefix, has_prefix_wide, more_specific).err()
}

/// For each of a live prefix's `bindings` (in their order), the rule of the API it breaks, if
/// it breaks one: the rules core's create check, asked of each binding against the rest of the
/// prefix as it is, as if it were the one created last. A prefix without its prefix-wide
/// binding is [`prefix_violation`]'s to say; here it is judged as if it had one, so that what
/// else is wrong (Magic Transit below the prefix, two bindings of one CIDR, an unknown service)
/// is still named at the binding that does it.
pub fn violations(
    prefix: IpNet,
    bindings: &[Binding],
    services: &Services,
) -> Vec<Option<Violation>> {
    let mut all = PrefixBindings::new(prefix);
    for b in bindings {
        all.insert(
            b.cidr,
            Entry {
                id: b.id.clone(),
                service: b.service_id.clone(),
            },
        );
    }
    if prefix_violation(prefix, bindings).is_some() {
        // A stand-in prefix-wide binding; its service is never judged, and no binding's
        // service is judged against it as a cover.
        all.insert(
            prefix,
            Entry {
                id: BindingId::new("0").expect("`0` is a valid id"),
                service: ServiceId::new("0").expect("`0` is a valid id"),
            },
        );
    }
    bindings
        .iter()
        .map(|b| {
            let entry = all.remove(b.cidr, &b.id)?;
            let verdict = all.check_create(b.cidr, &b.service_id, services).err();
            all.insert(b.cidr, entry);
            verdict
        })
        .collect()
}

/// A file to write, with its comments and what a reader should be told about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    pub state: StateFile,
    pub comments: Comments,
    /// Places where the live state breaks the API's rules: a prefix without its prefix-wide
    /// binding, a binding (each commented as such).
    pub broken: usize,
    /// Bindings that are not `active` yet (each commented with its state).
    pub not_active: usize,
}

/// The file of `account_id`'s `prefixes`, sorted by CIDR, with its comments (the caller adds
/// the header's).
pub fn export(account_id: &AccountId, services: &Services, prefixes: &[LiveInput<'_>]) -> Exported {
    let mut prefixes: Vec<&LiveInput<'_>> = prefixes.iter().collect();
    prefixes.sort_by(|a, b| (a.prefix.cidr, &a.prefix.id).cmp(&(b.prefix.cidr, &b.prefix.id)));
    let mut comments = Comments::default();
    let (mut broken, mut not_active) = (0, 0);
    let mut out = Vec::with_capacity(prefixes.len());
    for (i, live) in prefixes.into_iter().enumerate() {
        let mut prefix_comment = format!("prefix {}", live.prefix.id);
        if let Some(d) = live
            .prefix
            .description
            .as_deref()
            .filter(|d| !d.trim().is_empty())
        {
            prefix_comment.push_str(": ");
            prefix_comment.push_str(&crate::sanitize::text(d));
        }
        comments.prefix.insert(i, prefix_comment);
        if let Some(why) = prefix_violation(live.prefix.cidr, live.bindings) {
            broken += 1;
            comments.above_prefix.insert(
                i,
                vec![format!(
                    "breaks the API's rules: {why}; `svcbind validate` reports it"
                )],
            );
        }
        let broken_rules = violations(live.prefix.cidr, live.bindings, services);
        let mut order: Vec<usize> = (0..live.bindings.len()).collect();
        order.sort_by(|&a, &b| {
            let (a, b) = (&live.bindings[a], &live.bindings[b]);
            (a.cidr, &a.id).cmp(&(b.cidr, &b.id))
        });
        let mut bindings = Vec::with_capacity(order.len());
        for (j, k) in order.into_iter().enumerate() {
            let b = &live.bindings[k];
            if let Some(Some(why)) = broken_rules.get(k) {
                broken += 1;
                comments.above_binding.insert(
                    (i, j),
                    vec![format!(
                        "breaks the API's rules: {why}; `svcbind validate` reports it"
                    )],
                );
            }
            if !b.state.is_active() {
                not_active += 1;
                comments.after_binding.insert(
                    (i, j),
                    format!(
                        "{}, not active yet",
                        crate::sanitize::text(b.state.as_str())
                    ),
                );
            }
            bindings.push(DesiredBinding {
                cidr: b.cidr,
                service: services.display(&b.service_id).to_owned(),
                id: None,
                state: None,
                location: Default::default(),
            });
        }
        out.push(DesiredPrefix {
            cidr: live.prefix.cidr,
            id: None,
            ignore: Vec::new(),
            bindings,
            location: Default::default(),
        });
    }
    Exported {
        state: StateFile {
            account_id: Some(account_id.clone()),
            prefixes: out,
            ..StateFile::default()
        },
        comments,
        broken,
        not_active,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BindingId, PrefixId, ProvisioningState, Service, ServiceId};

    fn binding(id: &str, cidr: &str, service: &str, state: ProvisioningState) -> Binding {
        Binding {
            id: BindingId::new(id).unwrap(),
            cidr: cidr.parse().unwrap(),
            service_id: ServiceId::new(service).unwrap(),
            service_name: None,
            state,
        }
    }

    #[test]
    fn a_live_account_becomes_a_sorted_commented_file() {
        let services = Services::new([
            Service {
                id: ServiceId::new("mt").unwrap(),
                name: "Magic Transit".into(),
            },
            Service {
                id: ServiceId::new("cdn").unwrap(),
                name: "CDN".into(),
            },
        ]);
        let v6 = Prefix {
            id: PrefixId::new("p6").unwrap(),
            cidr: "2001:db8::/48".parse().unwrap(),
            description: Some("lab\nversion: 2".into()),
        };
        let v4 = Prefix {
            id: PrefixId::new("p4").unwrap(),
            cidr: "192.0.2.0/24".parse().unwrap(),
            description: None,
        };
        let v4_bindings = [
            binding(
                "b2",
                "192.0.2.16/29",
                "cdn",
                ProvisioningState::Provisioning,
            ),
            binding("b1", "192.0.2.0/24", "mt", ProvisioningState::Active),
            binding("b3", "192.0.2.64/27", "unknown1", ProvisioningState::Active),
        ];
        let exported = export(
            &AccountId::new("acc").unwrap(),
            &services,
            &[
                LiveInput {
                    prefix: &v6,
                    bindings: &[],
                },
                LiveInput {
                    prefix: &v4,
                    bindings: &v4_bindings,
                },
            ],
        );
        assert_eq!((exported.broken, exported.not_active), (1, 1));
        let text = crate::config::to_yaml_with(&exported.state, &exported.comments);
        assert_eq!(
            text.split_once('\n').unwrap().1,
            "version: 1
account_id: acc
prefixes:
  - cidr: 192.0.2.0/24  # prefix p4
    bindings:
      - { cidr: 192.0.2.0/24, service: Magic Transit }
      - { cidr: 192.0.2.16/29, service: CDN }  # provisioning, not active yet
      # breaks the API's rules: unknown service_id `unknown1`: List Services gives the account's services; `svcbind validate` reports it
      - { cidr: 192.0.2.64/27, service: unknown1 }
  - cidr: 2001:db8::/48  # prefix p6: lab\\u{a}version: 2
    bindings: []
"
        );
    }

    #[test]
    fn each_binding_is_judged_against_the_rest_of_its_prefix() {
        let services = Services::new([
            Service {
                id: ServiceId::new("mt").unwrap(),
                name: crate::model::MAGIC_TRANSIT.into(),
            },
            Service {
                id: ServiceId::new("cdn").unwrap(),
                name: "CDN".into(),
            },
        ]);
        let active = ProvisioningState::Active;
        let prefix: IpNet = "192.0.2.0/24".parse().unwrap();
        let judged = |bindings: &[Binding]| -> Vec<Option<String>> {
            violations(prefix, bindings, &services)
                .into_iter()
                .map(|v| v.map(|v| v.to_string()))
                .collect()
        };
        // A sound prefix breaks nothing.
        let sound = [
            binding("b1", "192.0.2.0/24", "mt", active.clone()),
            binding("b2", "192.0.2.16/29", "cdn", active.clone()),
        ];
        assert_eq!(judged(&sound), [None, None]);
        assert!(prefix_violation(prefix, &sound).is_none());
        // Without the prefix-wide binding, the prefix breaks a rule; its bindings are judged
        // as if it had one.
        let orphan = [
            binding("b2", "192.0.2.16/29", "cdn", active.clone()),
            binding("b5", "192.0.2.128/25", "mt", active.clone()),
        ];
        assert_eq!(
            prefix_violation(prefix, &orphan)
                .map(|v| v.to_string())
                .as_deref(),
            Some(
                "prefix 192.0.2.0/24 has no prefix-wide binding: the first binding of a prefix must be 192.0.2.0/24 itself, then more-specific ones may follow"
            )
        );
        let verdicts = judged(&orphan);
        assert_eq!(verdicts[0], None);
        assert!(
            verdicts[1]
                .as_deref()
                .unwrap()
                .starts_with("Magic Transit can only be bound")
        );
        assert!(prefix_violation(prefix, &[]).is_none());
        // Magic Transit below the prefix, and two bindings of one CIDR.
        let broken = [
            binding("b1", "192.0.2.0/24", "cdn", active.clone()),
            binding("b2", "192.0.2.16/29", "mt", active.clone()),
            binding("b3", "192.0.2.64/27", "cdn", active.clone()),
            binding("b4", "192.0.2.64/27", "cdn", active.clone()),
        ];
        let verdicts = judged(&broken);
        assert_eq!(verdicts[0], None);
        assert_eq!(
            verdicts[1].as_deref(),
            Some(
                "Magic Transit can only be bound to the whole prefix 192.0.2.0/24, not to 192.0.2.16/29"
            )
        );
        assert!(
            verdicts[2]
                .as_deref()
                .unwrap()
                .starts_with("192.0.2.64/27 already has a binding (`b4`)")
        );
        assert!(
            verdicts[3]
                .as_deref()
                .unwrap()
                .starts_with("192.0.2.64/27 already has a binding (`b3`)")
        );
    }
}
