//! The emulated account on the wire: what its records, refusals and generated ids look like.
//!
//! Records become the API's JSON shapes ([`crate::api::wire`]); a request's strings become
//! domain types or the API's refusal; a [`Violation`] of the rules core becomes a
//! [`Rejection`] (400 / 1003, the message, and a JSON pointer at the field to blame); and the
//! ids the emulator makes up are hashes of what they stand for, so a run can be repeated
//! exactly. No state, no rules: the account façade decides, this module only translates.

use std::fmt;

use ipnet::IpNet;
use sha2::{Digest, Sha256};

use super::store::BindingRecord;
use crate::api::error::codes;
use crate::api::wire::{Message, WireBinding, WirePrefix, WireProvisioning, WireService};
use crate::model::{
    AccountId, BindingId, Prefix, PrefixId, ProvisioningState, Service, ServiceId, Services,
};
use crate::rules::Violation;

/// The fixed timestamp reported as a prefix's `created_at` and `modified_at`.
const PREFIX_TIMESTAMP: &str = "2024-01-01T00:00:00Z";

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
    pub(super) fn unsupported(message: impl Into<String>, pointer: Option<&str>) -> Self {
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
    pub(super) fn no_route(path: &str) -> Self {
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

    /// A create sent with a `Content-Type` other than JSON (or none): 400 / 6003 "Invalid
    /// request headers" with 6105 in its `error_chain`, as Cloudflare answers such a request
    /// elsewhere in its API (it does not document this endpoint's answer).
    pub(super) fn invalid_content_type() -> Self {
        Self {
            status: 400,
            errors: vec![
                Message::new(codes::INVALID_HEADERS, "Invalid request headers").caused_by(
                    Message::new(
                        INVALID_CONTENT_TYPE,
                        "Invalid Content-Type header, valid values are application/json,multipart/form-data",
                    ),
                ),
            ],
        }
    }

    /// A create whose body does not decode as JSON: 400 / 6007 "Malformed JSON in request
    /// body", as Cloudflare answers such a request elsewhere in its API. Distinct from 1003,
    /// which refuses a binding configuration.
    pub(super) fn malformed_json() -> Self {
        Self::new(400, MALFORMED_JSON, "Malformed JSON in request body")
    }

    pub(super) fn prefix_not_found() -> Self {
        Self::new(404, codes::PREFIX_NOT_FOUND, "prefix not found")
    }

    pub(super) fn binding_not_found() -> Self {
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

/// The `error_chain` code of a request whose `Content-Type` the API does not take.
pub const INVALID_CONTENT_TYPE: u32 = 6105;
/// A request body that is not JSON.
pub const MALFORMED_JSON: u32 = 6007;

/// The request field a create's violation is blamed on.
const CIDR: &str = "/cidr";
const SERVICE_ID: &str = "/service_id";

impl From<Violation> for Rejection {
    /// 400 / 1003 with the violation's message, pointing at the field to blame (none for a
    /// delete, which has no body).
    fn from(violation: Violation) -> Self {
        let pointer = match &violation {
            Violation::HostBits { .. }
            | Violation::WrongFamily { .. }
            | Violation::OutsidePrefix { .. }
            | Violation::NoPrefixWide { .. }
            | Violation::DuplicateCidr { .. } => Some(CIDR),
            Violation::UnknownService { .. }
            | Violation::MagicTransitNotPrefixWide { .. }
            | Violation::SameServiceAsCover { .. } => Some(SERVICE_ID),
            Violation::PrefixWideNotLast { .. } => None,
        };
        Self::unsupported(violation.to_string(), pointer)
    }
}

/// The `cidr` of a create request as a CIDR: refused when missing or not a CIDR. (What the
/// CIDR must be is the rules core's to say.)
pub(super) fn parse_cidr(text: &str, prefix: IpNet) -> Result<IpNet, Rejection> {
    let bad = |message: String| Rejection::unsupported(message, Some(CIDR));
    if text.is_empty() {
        return Err(bad(format!(
            "cidr is required: the CIDR to bind, e.g. {prefix}"
        )));
    }
    text.parse()
        .map_err(|_| bad(format!("`{text}` is not a CIDR (e.g. {prefix})")))
}

/// The `service_id` of a create request as an id: refused when missing; a string that cannot
/// be an id is refused as the unknown service it is.
pub(super) fn parse_service_id(text: &str) -> Result<ServiceId, Rejection> {
    if text.is_empty() {
        return Err(Rejection::unsupported(
            "service_id is required: the id of a service from List Services",
            Some(SERVICE_ID),
        ));
    }
    ServiceId::new(text).map_err(|_| {
        Rejection::unsupported(
            format!("unknown service_id `{text}`: List Services gives the account's services"),
            Some(SERVICE_ID),
        )
    })
}

pub(super) fn wire_service(service: &Service) -> WireService {
    WireService {
        id: service.id.to_string(),
        name: service.name.clone(),
    }
}

/// A prefix as the emulator answers it: the fields svcbind reads ([`WirePrefix`]) and the
/// newer ones of the current contract (`addressing_ipam-prefixes`, SDK 5.9.0 / 7.3.0), so
/// that a client of that contract sees the shape it expects. An onboarded prefix of the
/// emulator is approved (`approved: "V"`), so its validations are `verified`; Cloudflare does
/// not document the states, only that they are strings (example `pending`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EmulatedPrefix {
    #[serde(flatten)]
    pub prefix: WirePrefix,
    /// Whether Cloudflare may generate the LOA document for the owner.
    pub delegate_loa_creation: bool,
    pub irr_validation_state: String,
    pub ownership_validation_state: String,
    pub rpki_validation_state: String,
    /// The token that demonstrated ownership: made up from the prefix id, so a run repeats.
    pub ownership_validation_token: String,
}

impl std::ops::Deref for EmulatedPrefix {
    type Target = WirePrefix;

    fn deref(&self) -> &WirePrefix {
        &self.prefix
    }
}

/// The state of every validation of an emulated prefix.
const VALIDATED: &str = "verified";

pub(super) fn wire_prefix(account: &AccountId, prefix: &Prefix) -> EmulatedPrefix {
    let digest = Sha256::digest(format!("ownership/{}", prefix.id).as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    // Shaped as a UUID, as such tokens commonly are.
    let token = format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    );
    EmulatedPrefix {
        prefix: wire_prefix_fields(account, prefix),
        delegate_loa_creation: false,
        irr_validation_state: VALIDATED.to_owned(),
        ownership_validation_state: VALIDATED.to_owned(),
        rpki_validation_state: VALIDATED.to_owned(),
        ownership_validation_token: token,
    }
}

fn wire_prefix_fields(account: &AccountId, prefix: &Prefix) -> WirePrefix {
    WirePrefix {
        id: prefix.id.to_string(),
        cidr: prefix.cidr.to_string(),
        account_id: Some(account.to_string()),
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

/// A binding in `state`, named from `catalog` (else by the name it was mirrored with).
pub(super) fn wire_binding(
    catalog: &Services,
    b: &BindingRecord,
    state: ProvisioningState,
) -> WireBinding {
    let service_name = catalog
        .name(&b.service_id)
        .map(str::to_owned)
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

/// The id a seeded prefix without one gets: a stable hash of its CIDR.
pub fn seed_prefix_id(cidr: &IpNet) -> PrefixId {
    PrefixId::new(hash_id(&format!("prefix {cidr}"))).expect("32 hex digits are a valid id")
}

/// The id of a seeded binding without one: a hash of the CIDRs, made unique (against `taken`)
/// if the seed repeats a CIDR.
pub(super) fn seed_binding_id(
    prefix: &IpNet,
    cidr: &IpNet,
    taken: impl Fn(&BindingId) -> bool,
) -> BindingId {
    unique_binding_id(&format!("binding {prefix} {cidr}"), taken)
}

/// The id of a created binding: a hash of the prefix, the CIDR and how many bindings were
/// created before (`created`), so the same calls in the same order give the same ids.
pub(super) fn new_binding_id(
    prefix: &PrefixId,
    cidr: &IpNet,
    created: u64,
    taken: impl Fn(&BindingId) -> bool,
) -> BindingId {
    unique_binding_id(&format!("created {prefix} {cidr} {created}"), taken)
}

/// The hash of `base`, or of `base #1`, `base #2`, … : the first that is not `taken`.
fn unique_binding_id(base: &str, taken: impl Fn(&BindingId) -> bool) -> BindingId {
    let mut attempt = 0u32;
    loop {
        let text = if attempt == 0 {
            base.to_owned()
        } else {
            format!("{base} #{attempt}")
        };
        let id = BindingId::new(hash_id(&text)).expect("32 hex digits are a valid id");
        if !taken(&id) {
            return id;
        }
        attempt += 1;
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn pointer(r: &Rejection) -> Option<&str> {
        r.errors[0]
            .source
            .as_ref()
            .and_then(|s| s.pointer.as_deref())
    }

    #[test]
    fn every_violation_is_a_400_1003_with_its_message_and_pointer() {
        let prefix = net("192.0.2.0/24");
        let cidr = net("192.0.2.16/29");
        let cases = [
            (
                Violation::HostBits {
                    cidr: net("192.0.2.1/24"),
                },
                Some(CIDR),
            ),
            (
                Violation::WrongFamily {
                    cidr: net("2001:db8::/48"),
                    prefix,
                },
                Some(CIDR),
            ),
            (
                Violation::OutsidePrefix {
                    cidr: net("10.0.0.0/8"),
                    prefix,
                },
                Some(CIDR),
            ),
            (Violation::NoPrefixWide { prefix }, Some(CIDR)),
            (
                Violation::DuplicateCidr {
                    cidr,
                    existing: Some(BindingId::new("b1").unwrap()),
                },
                Some(CIDR),
            ),
            (
                Violation::UnknownService {
                    service: ServiceId::new("nope").unwrap(),
                },
                Some(SERVICE_ID),
            ),
            (
                Violation::MagicTransitNotPrefixWide { cidr, prefix },
                Some(SERVICE_ID),
            ),
            (
                Violation::SameServiceAsCover {
                    cidr,
                    cover: prefix,
                },
                Some(SERVICE_ID),
            ),
            (
                Violation::PrefixWideNotLast {
                    prefix,
                    specific: 2,
                },
                None,
            ),
        ];
        for (violation, expected) in cases {
            let message = violation.to_string();
            let r = Rejection::from(violation);
            assert_eq!((r.status, r.codes()), (400, vec![1003]), "{r}");
            assert_eq!(r.errors[0].message, message);
            assert_eq!(pointer(&r), expected, "{r}");
        }
    }

    #[test]
    fn request_strings_that_are_not_domain_values_are_refused() {
        let prefix = net("192.0.2.0/24");
        let r = parse_cidr("", prefix).unwrap_err();
        assert_eq!(
            r.errors[0].message,
            "cidr is required: the CIDR to bind, e.g. 192.0.2.0/24"
        );
        assert_eq!(pointer(&r), Some(CIDR));
        for text in ["192.0.2.0", "banana", "192.0.2.0/33"] {
            let r = parse_cidr(text, prefix).unwrap_err();
            assert_eq!(
                r.errors[0].message,
                format!("`{text}` is not a CIDR (e.g. 192.0.2.0/24)")
            );
        }
        // Host bits and containment are the rules core's: the CIDR parses.
        assert_eq!(parse_cidr("10.0.0.1/8", prefix), Ok(net("10.0.0.1/8")));

        let r = parse_service_id("").unwrap_err();
        assert!(r.errors[0].message.starts_with("service_id is required"));
        assert_eq!(pointer(&r), Some(SERVICE_ID));
        // Not an id at all: worded as the rules core words an unknown one.
        let r = parse_service_id("a/b").unwrap_err();
        let unknown = Violation::UnknownService {
            service: ServiceId::new("ab").unwrap(),
        };
        assert_eq!(
            r.errors[0].message,
            unknown.to_string().replace("`ab`", "`a/b`")
        );
        assert_eq!(pointer(&r), Some(SERVICE_ID));
    }

    #[test]
    fn generated_ids_keep_their_values() {
        // The first 16 bytes of SHA-256("svcbind emulator: " + what the id is derived from),
        // in hex: ids already written to seeds and snapshots must not change.
        assert_eq!(
            seed_prefix_id(&net("192.0.2.0/24")).as_str(),
            "78f9e1a92e8ac05e80a6447b8ff3eb16"
        );
        let id = new_binding_id(
            &PrefixId::new("p4").unwrap(),
            &net("192.0.2.0/24"),
            0,
            |_| false,
        );
        assert_eq!(id.as_str(), "77db3c4d707afa1a3a3da0e760ea9009");
    }

    #[test]
    fn a_taken_id_is_hashed_again() {
        let prefix = net("192.0.2.0/24");
        let first = seed_binding_id(&prefix, &prefix, |_| false);
        let second = seed_binding_id(&prefix, &prefix, |id| *id == first);
        assert_ne!(first, second);
        assert_eq!(second, seed_binding_id(&prefix, &prefix, |id| *id == first));
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
