//! The plan document (`svcbind plan --format json`, `kind: "plan"`), and the plan read back
//! from it ([`SavedPlan`]): what a later run needs to carry out exactly the reviewed steps.

use std::collections::BTreeMap;

use ipnet::IpNet;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};

use super::{CidrSchema, ContractError, IdSchema, Kind, ServiceRef, StepDoc, checked_cidr};
use crate::model::{AccountId, BindingId, PrefixId, Service, ServiceId, Services};
use crate::plan::Step;

fn kind_schema(_: &mut SchemaGenerator) -> Schema {
    Kind::Plan.schema()
}

/// `svcbind plan --format json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PlanDocument {
    /// Always 1 for this layout.
    pub format_version: u32,
    #[schemars(schema_with = "kind_schema")]
    pub kind: Kind,
    /// The svcbind version that wrote the document.
    pub svcbind_version: String,
    #[schemars(with = "IdSchema")]
    pub account_id: String,
    pub summary: SummaryDoc,
    pub safety: SafetyDoc,
    /// Managed prefixes in the order of the file, unchanged ones included.
    pub prefixes: Vec<PrefixDoc>,
    /// The propagation notice, when the plan has changes.
    pub notice: Option<String>,
}

/// Counts of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SummaryDoc {
    pub create: usize,
    pub replace: usize,
    pub delete: usize,
    /// API calls an apply would make.
    pub steps: usize,
    pub changed_prefixes: usize,
    pub unchanged_prefixes: usize,
    pub has_changes: bool,
}

/// What the safety rules say: `needs_force` means apply refuses without `--force`, for each
/// reason listed (`prefix_wide`, `too_many_deletes`, `delete_share`, `protected`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SafetyDoc {
    pub max_deletes: u32,
    /// `max_delete_percent`, or `null` when it is not set.
    #[serde(default)]
    pub max_delete_percent: Option<u8>,
    /// The fewest live bindings a prefix has for `max_delete_percent` to apply to it.
    #[serde(default)]
    pub delete_percent_min_live: usize,
    /// The protected ranges (`safety.protect`).
    #[serde(default)]
    #[schemars(with = "Vec<CidrSchema>")]
    pub protect: Vec<IpNet>,
    /// Deletes plus replaces.
    pub destructive: usize,
    /// Prefixes whose prefix-wide binding is deleted or replaced.
    #[schemars(with = "Vec<CidrSchema>")]
    pub prefix_wide: Vec<IpNet>,
    /// Whether `destructive` exceeds `max_deletes`.
    #[serde(default)]
    pub too_many_deletes: bool,
    /// Prefixes whose deletes plus replaces exceed `max_delete_percent` of their live
    /// bindings.
    #[serde(default)]
    pub delete_share: Vec<DeleteShareDoc>,
    /// Protected ranges the plan moves to another service, with what moves.
    #[serde(default)]
    pub protected: Vec<ProtectedRangeDoc>,
    pub needs_force: bool,
}

/// A prefix over `max_delete_percent`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DeleteShareDoc {
    #[schemars(with = "CidrSchema")]
    pub prefix: IpNet,
    /// Deletes plus replaces in the prefix.
    pub destructive: usize,
    /// Its live bindings.
    pub live: usize,
    /// `max_delete_percent`.
    pub limit: u8,
    /// The same as one sentence.
    pub message: String,
}

/// A protected range that the plan moves to another service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProtectedRangeDoc {
    /// The range of `safety.protect`.
    #[schemars(with = "CidrSchema")]
    pub range: IpNet,
    /// The prefix it lies in.
    #[schemars(with = "CidrSchema")]
    pub prefix: IpNet,
    /// Every part of it that moves: for good (from the prefix's impact) or, with `transient`,
    /// between a replace's delete and create (from its gaps).
    pub moves: Vec<ProtectedMoveDoc>,
    /// The same as one sentence.
    pub message: String,
}

/// Addresses of a protected range that go to another service; `null` means no service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProtectedMoveDoc {
    #[schemars(with = "CidrSchema")]
    pub cidr: IpNet,
    /// Number of addresses, in decimal (a string: IPv6 counts exceed JSON's safe integers).
    pub addresses: String,
    /// Their service before the plan; with `transient`, the service of the binding over them
    /// that is replaced.
    pub from: Option<ServiceRef>,
    /// Their service after the plan; with `transient`, where they go while it is replaced.
    pub to: Option<ServiceRef>,
    /// Only during a replace, not once the plan is done.
    pub transient: bool,
}

/// The plan of one prefix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PrefixDoc {
    #[schemars(with = "IdSchema")]
    pub id: String,
    #[schemars(with = "CidrSchema")]
    pub cidr: IpNet,
    /// SHA-256 (hex) of the sorted live (CIDR, service id, binding id) list.
    pub live_fingerprint: String,
    pub unchanged: bool,
    /// Logical changes, in the order their first step runs.
    pub changes: Vec<ChangeDoc>,
    /// API calls, in execution order.
    pub steps: Vec<StepDoc>,
    /// Ranges whose service changes, as minimal CIDR blocks.
    pub impact: Vec<ImpactDoc>,
    /// Ranges that briefly fall back to another service during a replace.
    pub gaps: Vec<GapDoc>,
    pub warnings: Vec<MessageDoc>,
    pub notes: Vec<MessageDoc>,
}

/// A logical change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ChangeDoc {
    Create {
        #[schemars(with = "CidrSchema")]
        cidr: IpNet,
        service: ServiceRef,
    },
    Replace {
        #[schemars(with = "CidrSchema")]
        cidr: IpNet,
        #[schemars(with = "IdSchema")]
        binding_id: String,
        from: ServiceRef,
        to: ServiceRef,
    },
    Delete {
        #[schemars(with = "CidrSchema")]
        cidr: IpNet,
        #[schemars(with = "IdSchema")]
        binding_id: String,
        service: ServiceRef,
    },
}

/// A range whose service changes; `null` means no binding covers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ImpactDoc {
    #[schemars(with = "CidrSchema")]
    pub cidr: IpNet,
    /// Number of addresses, in decimal (a string: IPv6 counts exceed JSON's safe integers).
    pub addresses: String,
    pub from: Option<ServiceRef>,
    pub to: Option<ServiceRef>,
}

/// Between a replace's delete and create, `cidr` goes to `during`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GapDoc {
    #[schemars(with = "CidrSchema")]
    pub cidr: IpNet,
    pub from: ServiceRef,
    pub to: ServiceRef,
    pub during: Option<ServiceRef>,
}

/// A warning or a note: a stable `kind` and a sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MessageDoc {
    pub kind: String,
    pub message: String,
}

/// A plan read back from its document, every id and CIDR checked: the account, the safety
/// verdict of plan time, and per prefix the live fingerprint and the exact steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedPlan {
    pub account_id: AccountId,
    /// The svcbind version that wrote it.
    pub svcbind_version: String,
    /// The `max_deletes` the plan was made with.
    pub max_deletes: u32,
    /// Deletes plus replaces.
    pub destructive: usize,
    /// Prefixes whose prefix-wide binding the plan deletes or replaces.
    pub prefix_wide: Vec<IpNet>,
    /// Whether apply needed `--force` at plan time.
    pub needs_force: bool,
    /// Managed prefixes in plan order, unchanged ones included.
    pub prefixes: Vec<SavedPrefix>,
    /// The service names the document gives, by id.
    pub services: Services,
}

/// One prefix of a [`SavedPlan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedPrefix {
    pub id: PrefixId,
    pub cidr: IpNet,
    /// The live fingerprint at plan time (64 lowercase hex digits).
    pub live_fingerprint: String,
    /// The API calls, in execution order.
    pub steps: Vec<Step>,
}

impl SavedPlan {
    /// Whether any step would run.
    pub fn has_changes(&self) -> bool {
        self.prefixes.iter().any(|p| !p.steps.is_empty())
    }
}

/// Reads a plan document written by `svcbind plan --format json`: version and kind first,
/// then its shape, then every id and CIDR ([`SavedPlan::try_from`]).
pub fn read_plan(text: &str) -> Result<SavedPlan, ContractError> {
    let doc: PlanDocument = super::read(text, Kind::Plan)?;
    SavedPlan::try_from(&doc)
}

impl TryFrom<&PlanDocument> for SavedPlan {
    type Error = ContractError;

    /// Checks what the types cannot: ids are ids, CIDRs have no host bits and steps lie inside
    /// their prefix, fingerprints are SHA-256 digests. The first problem names its field.
    fn try_from(doc: &PlanDocument) -> Result<Self, ContractError> {
        let account_id = AccountId::new(doc.account_id.as_str())
            .map_err(|e| ContractError::id("account_id", e))?;
        let prefix_wide = doc
            .safety
            .prefix_wide
            .iter()
            .enumerate()
            .map(|(i, cidr)| checked_cidr(&format!("safety.prefix_wide[{i}]"), *cidr))
            .collect::<Result<_, _>>()?;
        let mut names = BTreeMap::new();
        let mut prefixes = Vec::with_capacity(doc.prefixes.len());
        for (i, p) in doc.prefixes.iter().enumerate() {
            let at = format!("prefixes[{i}]");
            let id = PrefixId::new(p.id.as_str())
                .map_err(|e| ContractError::id(format!("{at}.id"), e))?;
            let cidr = checked_cidr(&format!("{at}.cidr"), p.cidr)?;
            let fingerprint = &p.live_fingerprint;
            if fingerprint.len() != 64
                || !fingerprint
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                return Err(ContractError::field(
                    format!("{at}.live_fingerprint"),
                    "not a SHA-256 digest (64 lowercase hex digits)",
                ));
            }
            let steps = p
                .steps
                .iter()
                .enumerate()
                .map(|(j, step)| step_from(&format!("{at}.steps[{j}]"), step, cidr, &mut names))
                .collect::<Result<_, _>>()?;
            prefixes.push(SavedPrefix {
                id,
                cidr,
                live_fingerprint: fingerprint.clone(),
                steps,
            });
        }
        Ok(SavedPlan {
            account_id,
            svcbind_version: doc.svcbind_version.clone(),
            max_deletes: doc.safety.max_deletes,
            destructive: doc.safety.destructive,
            prefix_wide,
            needs_force: doc.safety.needs_force,
            prefixes,
            services: Services::new(names.into_iter().map(|(id, name)| Service { id, name })),
        })
    }
}

/// One step back to a [`Step`]; `names` collects the service names the document gives.
fn step_from(
    at: &str,
    step: &StepDoc,
    prefix: IpNet,
    names: &mut BTreeMap<ServiceId, String>,
) -> Result<Step, ContractError> {
    let (cidr, service) = match step {
        StepDoc::Create { cidr, service } | StepDoc::Delete { cidr, service, .. } => {
            (cidr, service)
        }
    };
    let cidr = checked_cidr(&format!("{at}.cidr"), *cidr)?;
    if !prefix.contains(&cidr) {
        return Err(ContractError::field(
            format!("{at}.cidr"),
            format!("`{cidr}` is not inside the prefix `{prefix}`"),
        ));
    }
    let service_id = ServiceId::new(service.id.as_str())
        .map_err(|e| ContractError::id(format!("{at}.service.id"), e))?;
    if let Some(name) = &service.name {
        names.insert(service_id.clone(), name.clone());
    }
    Ok(match step {
        StepDoc::Create { .. } => Step::Create {
            cidr,
            service: service_id,
        },
        StepDoc::Delete { binding_id, .. } => Step::Delete {
            binding: BindingId::new(binding_id.as_str())
                .map_err(|e| ContractError::id(format!("{at}.binding_id"), e))?,
            cidr,
            service: service_id,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Binding, ProvisioningState};
    use crate::plan::{Plan, PrefixState};
    use crate::render::{Context, json::plan_document};

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn service(s: &str) -> ServiceId {
        ServiceId::new(s).unwrap()
    }

    fn live(id: &str, cidr: &str, svc: &str) -> Binding {
        Binding {
            id: BindingId::new(id).unwrap(),
            cidr: net(cidr),
            service_id: service(svc),
            service_name: None,
            state: ProvisioningState::Active,
        }
    }

    /// Three prefixes: one create, no change, one delete.
    fn sample() -> (Plan, Services) {
        let services = Services::new([
            Service {
                id: service("mt"),
                name: "Magic Transit".into(),
            },
            Service {
                id: service("cdn"),
                name: "CDN".into(),
            },
            Service {
                id: service("sp"),
                name: "Spectrum".into(),
            },
        ]);
        let state =
            |id: &str, cidr: &str, desired: &[(&str, &str)], live: Vec<Binding>| PrefixState {
                id: PrefixId::new(id).unwrap(),
                cidr: net(cidr),
                desired: desired.iter().map(|(c, s)| (net(c), service(s))).collect(),
                ignore: Vec::new(),
                live,
            };
        let states = [
            state(
                "p0",
                "192.0.2.0/24",
                &[("192.0.2.0/24", "mt"), ("192.0.2.16/29", "cdn")],
                vec![live("b1", "192.0.2.0/24", "mt")],
            ),
            state(
                "p1",
                "198.51.100.0/24",
                &[("198.51.100.0/24", "cdn")],
                vec![live("b2", "198.51.100.0/24", "cdn")],
            ),
            state(
                "p2",
                "2001:db8::/48",
                &[("2001:db8::/48", "cdn")],
                vec![
                    live("b3", "2001:db8::/48", "cdn"),
                    live("b4", "2001:db8:0:1::/64", "sp"),
                ],
            ),
        ];
        let plan = crate::plan::plan(AccountId::new("acc").unwrap(), &states).unwrap();
        (plan, services)
    }

    /// The sample plan as a JSON value.
    fn document() -> (Plan, serde_json::Value) {
        let (plan, services) = sample();
        let ctx = Context {
            services: &services,
            limits: crate::plan::SafetyLimits::max_deletes(10),
        };
        let value = serde_json::to_value(plan_document(&plan, &ctx)).unwrap();
        (plan, value)
    }

    fn read_value(value: &serde_json::Value) -> Result<SavedPlan, ContractError> {
        read_plan(&value.to_string())
    }

    #[test]
    fn a_plan_round_trips_to_domain_types() {
        let (plan, value) = document();
        let saved = read_value(&value).unwrap();
        assert_eq!(saved.account_id, plan.account_id);
        assert_eq!(saved.svcbind_version, env!("CARGO_PKG_VERSION"));
        assert_eq!(saved.max_deletes, 10);
        assert_eq!(saved.destructive, 1);
        assert!(!saved.needs_force);
        assert!(saved.prefix_wide.is_empty());
        assert!(saved.has_changes());
        assert_eq!(saved.prefixes.len(), plan.prefixes.len());
        for (s, p) in saved.prefixes.iter().zip(&plan.prefixes) {
            assert_eq!(s.id, p.id);
            assert_eq!(s.cidr, p.cidr);
            assert_eq!(s.live_fingerprint, p.live_fingerprint);
            assert_eq!(s.steps, p.steps);
        }
        assert_eq!(
            saved.prefixes[2].steps,
            [Step::Delete {
                binding: BindingId::new("b4").unwrap(),
                cidr: net("2001:db8:0:1::/64"),
                service: service("sp"),
            }]
        );
        // The names the document gives, for showing the steps again.
        assert_eq!(saved.services.name(&service("sp")), Some("Spectrum"));
        assert_eq!(saved.services.name(&service("cdn")), Some("CDN"));
    }

    /// Edits `value` at the JSON pointer `at` and reads it back.
    fn edited(at: &str, new: serde_json::Value) -> String {
        let (_, mut value) = document();
        *value.pointer_mut(at).unwrap_or_else(|| panic!("no {at}")) = new;
        read_value(&value).unwrap_err().to_string()
    }

    #[test]
    fn a_hand_edited_id_is_refused_naming_its_field() {
        assert_eq!(
            edited("/prefixes/2/steps/0/binding_id", "../x".into()),
            "prefixes[2].steps[0].binding_id: invalid binding id `../x`: an id is 1 to 32 letters or digits"
        );
        let long = "a".repeat(33);
        assert_eq!(
            edited("/prefixes/1/id", long.clone().into()),
            format!(
                "prefixes[1].id: invalid prefix id `{long}`: an id is 1 to 32 letters or digits"
            )
        );
        assert_eq!(
            edited("/account_id", "acc/../other".into()),
            "account_id: invalid account id `acc/../other`: an id is 1 to 32 letters or digits"
        );
        assert_eq!(
            edited("/prefixes/0/steps/0/service/id", "".into()),
            "prefixes[0].steps[0].service.id: invalid service id ``: an id is 1 to 32 letters or digits"
        );
    }

    #[test]
    fn a_hand_edited_cidr_or_fingerprint_is_refused_naming_its_field() {
        assert_eq!(
            edited("/prefixes/0/steps/0/cidr", "192.0.2.17/29".into()),
            "prefixes[0].steps[0].cidr: `192.0.2.17/29` has host bits set (did you mean `192.0.2.16/29`?)"
        );
        assert_eq!(
            edited("/prefixes/0/steps/0/cidr", "10.0.0.0/8".into()),
            "prefixes[0].steps[0].cidr: `10.0.0.0/8` is not inside the prefix `192.0.2.0/24`"
        );
        assert_eq!(
            edited("/prefixes/2/cidr", "2001:db8::1/48".into()),
            "prefixes[2].cidr: `2001:db8::1/48` has host bits set (did you mean `2001:db8::/48`?)"
        );
        assert_eq!(
            edited("/prefixes/1/live_fingerprint", "abc".into()),
            "prefixes[1].live_fingerprint: not a SHA-256 digest (64 lowercase hex digits)"
        );
        let err = edited("/prefixes/1/cidr", "not a cidr".into());
        assert!(err.starts_with("prefixes[1].cidr: "), "{err}");
        let err = edited(
            "/prefixes/0/steps/0",
            serde_json::json!({"action": "create"}),
        );
        assert!(
            err.starts_with("prefixes[0].steps[0]: missing field"),
            "{err}"
        );
    }

    #[test]
    fn a_truncated_document_is_not_json() {
        let (_, value) = document();
        let text = value.to_string();
        let err = read_plan(&text[..text.len() / 2]).unwrap_err();
        assert!(matches!(err, ContractError::Syntax(_)), "{err}");
    }
}
