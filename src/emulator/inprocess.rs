//! [`InProcess`]: the emulator behind the [`Api`] trait, without sockets (`--emulate`).
//!
//! Each call goes through the same steps as over HTTP (latency, counting, budget, faults, the
//! rules core) and fails the way the HTTP client would report the same answer: a refusal is
//! an [`ApiErrorKind::Status`] with the path the client would have used, a dropped connection
//! a transport error, a malformed body a non-JSON error.

use std::time::Duration;

use ipnet::IpNet;

use super::{After, Emulator, Gate, MALFORMED_BODY, Rejection, route};
use crate::api::wire::{FieldError, Message};
use crate::api::{Api, ApiError, ApiErrorKind, ApiMessage};
use crate::model::{AccountId, Binding, BindingId, Prefix, PrefixId, Service, ServiceId};

/// An [`Api`] for one account id, served by an [`Emulator`]. Cheap to clone.
#[derive(Debug, Clone)]
pub struct InProcess {
    emulator: Emulator,
    account_id: AccountId,
}

impl InProcess {
    pub(crate) fn new(emulator: Emulator, account_id: AccountId) -> Self {
        Self {
            emulator,
            account_id,
        }
    }

    /// The emulator behind this handle.
    pub fn emulator(&self) -> &Emulator {
        &self.emulator
    }

    fn path(&self, rest: &str) -> String {
        format!("/accounts/{}/addressing/{rest}", self.account_id)
    }

    /// One call: `key` is its route key (which starts with `method`), `path` the client's
    /// path below the base URL.
    async fn call<T>(
        &self,
        method: &'static str,
        key: &'static str,
        path: String,
        op: impl FnOnce(&mut super::Account, &str, Duration) -> Result<T, Rejection>,
    ) -> Result<T, ApiError> {
        let em = &self.emulator;
        em.pause().await;
        em.count(key.to_owned());
        let fail = |kind| ApiError::new(method, path.clone(), kind);
        let after = match em.gate(method, &format!("/client/v4{path}")).await {
            Gate::Proceed(after) => after,
            Gate::Refuse(r) => {
                return Err(fail(status_kind(r.status, r.errors, r.retry_after)));
            }
            Gate::Drop => return Err(fail(dropped())),
            Gate::Malformed => {
                return Err(fail(ApiErrorKind::NotJson {
                    status: 200,
                    excerpt: MALFORMED_BODY.chars().take(80).collect(),
                }));
            }
        };
        let account = self.account_id.as_str();
        let result = em.process(|a, now| op(a, account, now));
        match after {
            None => result.map_err(|r| fail(status_kind(r.status, r.errors, None))),
            Some(After::Status(status)) => {
                let r = super::Refusal::injected(status, None);
                Err(fail(status_kind(r.status, r.errors, None)))
            }
            Some(After::Drop) => Err(fail(dropped())),
        }
    }
}

fn status_kind(status: u16, errors: Vec<Message>, retry_after: Option<u64>) -> ApiErrorKind {
    ApiErrorKind::Status {
        status,
        errors: errors
            .into_iter()
            .map(|m| ApiMessage {
                code: m.code,
                message: m.message,
            })
            .collect(),
        retry_after: retry_after.map(Duration::from_secs),
    }
}

fn dropped() -> ApiErrorKind {
    ApiErrorKind::Transport {
        message: "connection closed before an answer came".to_owned(),
    }
}

/// A wire object the emulator made that does not convert: impossible by construction, but
/// reported like the HTTP client would rather than trusted.
fn decode(method: &'static str, path: &str, e: FieldError) -> ApiError {
    ApiError::new(
        method,
        path,
        ApiErrorKind::Decode {
            field: e.field,
            message: e.message,
        },
    )
}

/// A 404 on a single get is `Ok(None)`.
fn not_found_is_none<T>(result: Result<T, ApiError>) -> Result<Option<T>, ApiError> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.status() == Some(404) => Ok(None),
        Err(e) => Err(e),
    }
}

impl Api for InProcess {
    async fn list_services(&self) -> Result<Vec<Service>, ApiError> {
        let path = self.path("services");
        let wire = self
            .call("GET", route::LIST_SERVICES, path.clone(), |a, acc, _| {
                a.list_services(acc)
            })
            .await?;
        wire.into_iter()
            .enumerate()
            .map(|(i, s)| {
                s.into_service(&format!("result[{i}]."))
                    .map_err(|e| decode("GET", &path, e))
            })
            .collect()
    }

    async fn list_prefixes(&self) -> Result<Vec<Prefix>, ApiError> {
        let path = self.path("prefixes");
        let wire = self
            .call("GET", route::LIST_PREFIXES, path.clone(), |a, acc, _| {
                a.list_prefixes(acc)
            })
            .await?;
        wire.into_iter()
            .enumerate()
            .map(|(i, p)| {
                p.into_prefix(&format!("result[{i}]."))
                    .map_err(|e| decode("GET", &path, e))
            })
            .collect()
    }

    async fn get_prefix(&self, prefix: &PrefixId) -> Result<Option<Prefix>, ApiError> {
        let path = self.path(&format!("prefixes/{prefix}"));
        let result = self
            .call("GET", route::GET_PREFIX, path.clone(), |a, acc, _| {
                a.get_prefix(acc, prefix.as_str())
            })
            .await;
        not_found_is_none(result)?
            .map(|p| {
                p.into_prefix("result.")
                    .map_err(|e| decode("GET", &path, e))
            })
            .transpose()
    }

    async fn list_bindings(&self, prefix: &PrefixId) -> Result<Vec<Binding>, ApiError> {
        let path = self.path(&format!("prefixes/{prefix}/bindings"));
        let wire = self
            .call("GET", route::LIST_BINDINGS, path.clone(), |a, acc, now| {
                a.list_bindings(acc, prefix.as_str(), now)
            })
            .await?;
        wire.into_iter()
            .enumerate()
            .map(|(i, b)| {
                b.into_binding(&format!("result[{i}]."))
                    .map_err(|e| decode("GET", &path, e))
            })
            .collect()
    }

    async fn get_binding(
        &self,
        prefix: &PrefixId,
        binding: &BindingId,
    ) -> Result<Option<Binding>, ApiError> {
        let path = self.path(&format!("prefixes/{prefix}/bindings/{binding}"));
        let result = self
            .call("GET", route::GET_BINDING, path.clone(), |a, acc, now| {
                a.get_binding(acc, prefix.as_str(), binding.as_str(), now)
            })
            .await;
        not_found_is_none(result)?
            .map(|b| {
                b.into_binding("result.")
                    .map_err(|e| decode("GET", &path, e))
            })
            .transpose()
    }

    async fn create_binding(
        &self,
        prefix: &PrefixId,
        cidr: IpNet,
        service: &ServiceId,
    ) -> Result<Binding, ApiError> {
        let path = self.path(&format!("prefixes/{prefix}/bindings"));
        let wire = self
            .call(
                "POST",
                route::CREATE_BINDING,
                path.clone(),
                |a, acc, now| {
                    a.create_binding(
                        acc,
                        prefix.as_str(),
                        &cidr.to_string(),
                        service.as_str(),
                        now,
                    )
                },
            )
            .await?;
        wire.into_binding("result.")
            .map_err(|e| decode("POST", &path, e))
    }

    async fn delete_binding(&self, prefix: &PrefixId, binding: &BindingId) -> Result<(), ApiError> {
        let path = self.path(&format!("prefixes/{prefix}/bindings/{binding}"));
        self.call("DELETE", route::DELETE_BINDING, path, |a, acc, now| {
            a.delete_binding(acc, prefix.as_str(), binding.as_str(), now)
        })
        .await
    }
}
