//! The JSON shapes of the Cloudflare API, exactly as the official contract
//! (`cloudflare-openapi-current.json`) describes them, and their conversion to domain types.
//!
//! Both sides use these: the HTTP client decodes them, the emulator encodes them. Domain types
//! never derive their wire form; a field added by Cloudflare is ignored here, never an error.

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::model::{
    Binding, BindingId, IdError, Prefix, PrefixId, ProvisioningState, Service, ServiceId,
};

/// The response envelope: `{"success", "errors", "messages", "result", "result_info"?}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope<T> {
    pub success: bool,
    #[serde(default)]
    pub errors: Vec<Message>,
    #[serde(default)]
    pub messages: Vec<Message>,
    #[serde(default = "none", skip_serializing_if = "Option::is_none")]
    pub result: Option<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_info: Option<ResultInfo>,
}

fn none<T>() -> Option<T> {
    None
}

impl<T> Envelope<T> {
    /// A successful envelope around `result`.
    pub fn ok(result: T) -> Self {
        Self {
            success: true,
            errors: Vec::new(),
            messages: Vec::new(),
            result: Some(result),
            result_info: None,
        }
    }
}

/// The failure envelope: `result` is present and `null`, as the contract requires.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FailureEnvelope {
    pub success: bool,
    pub errors: Vec<Message>,
    pub messages: Vec<Message>,
    pub result: Option<serde_json::Value>,
}

impl FailureEnvelope {
    pub fn new(errors: Vec<Message>) -> Self {
        Self {
            success: false,
            errors,
            messages: Vec::new(),
            result: None,
        }
    }
}

/// The envelope-only answer of a delete: `{"success", "errors", "messages"}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BareEnvelope {
    pub success: bool,
    #[serde(default)]
    pub errors: Vec<Message>,
    #[serde(default)]
    pub messages: Vec<Message>,
}

impl BareEnvelope {
    pub fn ok() -> Self {
        Self {
            success: true,
            errors: Vec::new(),
            messages: Vec::new(),
        }
    }
}

/// An entry of `errors` or `messages`. Cloudflare nests the specific cause of some errors in
/// `error_chain` (e.g. 6003 "Invalid request headers" holds 6111 "Invalid format for
/// Authorization header").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub code: u32,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documentation_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<MessageSource>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub error_chain: Vec<Message>,
}

impl Message {
    pub fn new(code: u32, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            documentation_url: None,
            source: None,
            error_chain: Vec::new(),
        }
    }

    /// Nests `cause` in the message's `error_chain`.
    pub fn caused_by(mut self, cause: Message) -> Self {
        self.error_chain.push(cause);
        self
    }

    /// Points the message at a field of the request body (`source.pointer`).
    pub fn with_pointer(mut self, pointer: impl Into<String>) -> Self {
        self.source = Some(MessageSource {
            pointer: Some(pointer.into()),
        });
        self
    }
}

/// `source` of a message: a JSON pointer into the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageSource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
}

/// `result_info` of a collection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResultInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_page: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_count: Option<u64>,
}

/// `addressing_service_binding`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireBinding {
    pub id: String,
    pub cidr: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning: Option<WireProvisioning>,
    pub service_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
}

/// `addressing_provisioning`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireProvisioning {
    pub state: String,
}

/// One item of List Services.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireService {
    pub id: String,
    pub name: String,
}

/// `addressing_ipam-prefixes`. Fields svcbind does not use are optional and only carried
/// so that the emulator answers with the contract's shape.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WirePrefix {
    pub id: String,
    pub cidr: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub asn: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved: Option<String>,
    #[serde(default)]
    pub advertised: Option<bool>,
    #[serde(default)]
    pub advertised_modified_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_at: Option<String>,
    #[serde(default)]
    pub loa_document_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_demand_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_demand_locked: Option<bool>,
}

/// `addressing_create_binding_request`: the official SDKs always send both fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateBindingRequest {
    pub cidr: String,
    pub service_id: String,
}

/// A field of a decoded answer that did not convert to a domain type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// JSON path below `result`, e.g. `[2].cidr`.
    pub field: String,
    pub message: String,
}

fn id_field<T>(
    path: &str,
    name: &str,
    value: &str,
    make: fn(String) -> Result<T, IdError>,
) -> Result<T, FieldError> {
    make(value.to_owned()).map_err(|e| FieldError {
        field: format!("{path}{name}"),
        message: e.to_string(),
    })
}

fn cidr_field(path: &str, value: &str) -> Result<IpNet, FieldError> {
    value.parse().map_err(|_| FieldError {
        field: format!("{path}cidr"),
        message: format!("`{}` is not a CIDR", crate::sanitize::text(value)),
    })
}

impl WireBinding {
    /// Converts to the domain type; `path` prefixes field names in errors (e.g. `result[3].`).
    pub fn into_binding(self, path: &str) -> Result<Binding, FieldError> {
        Ok(Binding {
            id: id_field(path, "id", &self.id, BindingId::new)?,
            cidr: cidr_field(path, &self.cidr)?,
            service_id: id_field(path, "service_id", &self.service_id, ServiceId::new)?,
            service_name: self.service_name,
            state: self
                .provisioning
                .map(|p| ProvisioningState::from(p.state.as_str()))
                .unwrap_or_else(ProvisioningState::unknown),
        })
    }

    pub fn from_binding(b: &Binding) -> Self {
        Self {
            id: b.id.to_string(),
            cidr: b.cidr.to_string(),
            provisioning: Some(WireProvisioning {
                state: b.state.to_string(),
            }),
            service_id: b.service_id.to_string(),
            service_name: b.service_name.clone(),
        }
    }
}

impl WireService {
    pub fn into_service(self, path: &str) -> Result<Service, FieldError> {
        Ok(Service {
            id: id_field(path, "id", &self.id, ServiceId::new)?,
            name: self.name,
        })
    }
}

impl WirePrefix {
    pub fn into_prefix(self, path: &str) -> Result<Prefix, FieldError> {
        Ok(Prefix {
            id: id_field(path, "id", &self.id, PrefixId::new)?,
            cidr: cidr_field(path, &self.cidr)?,
            description: self.description,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_decodes_from_the_contract_example() {
        let json = r#"{"cidr":"192.0.2.0/24","id":"0429b49b6a5155297b78e75a44b09e14",
            "provisioning":{"state":"provisioning"},"service_id":"2db684ee7ca04e159946fd05b99e1bcd",
            "service_name":"Magic Transit","extra":1}"#;
        let wire: WireBinding = serde_json::from_str(json).unwrap();
        let b = wire.into_binding("result.").unwrap();
        assert_eq!(b.cidr, "192.0.2.0/24".parse::<IpNet>().unwrap());
        assert_eq!(b.state, ProvisioningState::Provisioning);
        assert_eq!(b.service_name.as_deref(), Some("Magic Transit"));
    }

    #[test]
    fn bad_fields_are_named() {
        let wire = WireBinding {
            id: "x/y".into(),
            cidr: "192.0.2.0/24".into(),
            provisioning: None,
            service_id: "s".into(),
            service_name: None,
        };
        assert_eq!(
            wire.into_binding("result[2].").unwrap_err().field,
            "result[2].id"
        );
        let wire = WireBinding {
            id: "b".into(),
            cidr: "nope".into(),
            provisioning: None,
            service_id: "s".into(),
            service_name: None,
        };
        let err = wire.into_binding("result[0].").unwrap_err();
        assert_eq!(err.field, "result[0].cidr");
        assert_eq!(err.message, "`nope` is not a CIDR");
    }

    #[test]
    fn a_nested_error_chain_round_trips_and_is_left_out_when_empty() {
        let json = r#"{"code":6003,"message":"Invalid request headers","error_chain":[{"code":6111,"message":"Invalid format for Authorization header"}]}"#;
        let m: Message = serde_json::from_str(json).unwrap();
        assert_eq!(
            m,
            Message::new(6003, "Invalid request headers").caused_by(Message::new(
                6111,
                "Invalid format for Authorization header"
            ))
        );
        assert_eq!(serde_json::to_string(&m).unwrap(), json);
        assert_eq!(
            serde_json::to_string(&Message::new(1003, "x")).unwrap(),
            r#"{"code":1003,"message":"x"}"#
        );
    }

    #[test]
    fn failure_envelope_has_null_result() {
        let json =
            serde_json::to_value(FailureEnvelope::new(vec![Message::new(1003, "x")])).unwrap();
        assert_eq!(json["result"], serde_json::Value::Null);
        assert!(json.as_object().unwrap().contains_key("result"));
        assert_eq!(json["success"], false);
    }
}
