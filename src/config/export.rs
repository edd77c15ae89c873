//! The desired-state file of a live account, for `svcbind export`: every binding with its
//! service's name, sorted, and comments that say what the file cannot (each prefix's id, a
//! binding not active yet, a binding that breaks the API's rules).
//!
//! Pure: the caller reads the account and writes the text ([`super::to_yaml_with`]). Planning
//! the result against the same account shows no change: every binding is in it, by CIDR, with
//! a service that resolves to the same id (the catalog's name, or the id itself when the
//! catalog lacks it), and no `ignore` range or pinned id changes what is managed.

use crate::model::{
    AccountId, Binding, DesiredBinding, DesiredPrefix, Prefix, Services, StateFile,
};

use super::write::Comments;

/// A live prefix and its bindings, as read.
#[derive(Debug, Clone, Copy)]
pub struct LiveInput<'a> {
    pub prefix: &'a Prefix,
    pub bindings: &'a [Binding],
    /// For each binding (in the order of `bindings`), why the API's rules forbid it, if they
    /// do.
    pub broken: &'a [Option<String>],
}

/// A file to write, with its comments and what a reader should be told about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    pub state: StateFile,
    pub comments: Comments,
    /// Bindings that break the API's rules (each commented as such).
    pub broken: usize,
    /// Bindings that are not `active` yet (each commented with its state).
    pub not_active: usize,
}

/// The file of `account_id`'s `prefixes`, sorted by CIDR, with `header` lines after the
/// file's first comment.
pub fn export(
    account_id: &AccountId,
    services: &Services,
    prefixes: &[LiveInput<'_>],
    header: Vec<String>,
) -> Exported {
    let mut prefixes: Vec<&LiveInput<'_>> = prefixes.iter().collect();
    prefixes.sort_by(|a, b| (a.prefix.cidr, &a.prefix.id).cmp(&(b.prefix.cidr, &b.prefix.id)));
    let mut comments = Comments {
        header,
        ..Comments::default()
    };
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
        let mut order: Vec<usize> = (0..live.bindings.len()).collect();
        order.sort_by(|&a, &b| {
            let (a, b) = (&live.bindings[a], &live.bindings[b]);
            (a.cidr, &a.id).cmp(&(b.cidr, &b.id))
        });
        let mut bindings = Vec::with_capacity(order.len());
        for (j, k) in order.into_iter().enumerate() {
            let b = &live.bindings[k];
            if let Some(Some(why)) = live.broken.get(k) {
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
            max_deletes: None,
            services: Default::default(),
            prefixes: out,
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
        let broken = [None, None, Some("unknown service_id `unknown1`".to_owned())];
        let exported = export(
            &AccountId::new("acc").unwrap(),
            &services,
            &[
                LiveInput {
                    prefix: &v6,
                    bindings: &[],
                    broken: &[],
                },
                LiveInput {
                    prefix: &v4,
                    bindings: &v4_bindings,
                    broken: &broken,
                },
            ],
            vec!["Exported from account acc.".into()],
        );
        assert_eq!((exported.broken, exported.not_active), (1, 1));
        let text = crate::config::to_yaml_with(&exported.state, &exported.comments);
        assert_eq!(
            text.split_once('\n').unwrap().1,
            "# Exported from account acc.
version: 1
account_id: acc
prefixes:
  - cidr: 192.0.2.0/24  # prefix p4
    bindings:
      - { cidr: 192.0.2.0/24, service: Magic Transit }
      - { cidr: 192.0.2.16/29, service: CDN }  # provisioning, not active yet
      # breaks the API's rules: unknown service_id `unknown1`; `svcbind validate` reports it
      - { cidr: 192.0.2.64/27, service: unknown1 }
  - cidr: 2001:db8::/48  # prefix p6: lab\\u{a}version: 2
    bindings: []
"
        );
    }
}
