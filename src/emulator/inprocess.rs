//! [`InProcess`]: the emulator behind the [`Api`] trait, without sockets (`--emulate`).
//!
//! Each call goes through the same steps as over HTTP (latency, counting, budget, faults, the
//! rules core) and fails the way the HTTP client would report the same answer: a refusal is
//! an [`ApiErrorKind::Status`] with the path the client would have used (its [`Endpoint`]'s),
//! a dropped connection a transport error, a malformed body a non-JSON error. Not found on a
//! single get is `Ok(None)` on the same terms as for the client.

use std::time::Duration;

use ipnet::IpNet;

use super::server::API_ROOT;
use super::{After, Emulator, Gate, Rejection};
use crate::api::endpoint::{Endpoint, TypedEndpoint};
use crate::api::wire::{FieldError, Message};
use crate::api::{Api, ApiError, ApiErrorKind, ApiMessage, Confirmed, Created};
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

    /// An error of `endpoint`, named by the method and path the HTTP client would use.
    fn error(&self, endpoint: TypedEndpoint<'_>, kind: ApiErrorKind) -> ApiError {
        ApiError::new(
            endpoint.method().as_str(),
            endpoint.path(&self.account_id),
            kind,
        )
    }

    /// One call, counted under its route key.
    async fn call<T>(
        &self,
        endpoint: TypedEndpoint<'_>,
        op: impl FnOnce(&mut super::Account, &str, Duration) -> Result<T, Rejection>,
    ) -> Result<T, ApiError> {
        let em = &self.emulator;
        em.pause().await;
        em.count(endpoint.route().key());
        let fail = |kind| self.error(endpoint, kind);
        let path = format!("{API_ROOT}{}", endpoint.path(&self.account_id));
        let after = match em.gate(endpoint.method().as_str(), &path).await {
            Gate::Proceed(after) => after,
            Gate::Refuse(r) => {
                return Err(fail(status_kind(r.status, r.errors, r.retry_after)));
            }
            Gate::Drop => return Err(fail(dropped())),
            Gate::Malformed { status, body } => return Err(unreadable(fail, status, &body)),
            Gate::Oversized { bytes } if bytes > crate::api::client::DEFAULT_MAX_BODY => {
                return Err(fail(ApiErrorKind::TooLarge {
                    limit: crate::api::client::DEFAULT_MAX_BODY,
                }));
            }
            Gate::Oversized { .. } => {
                return Err(fail(ApiErrorKind::NotJson {
                    status: 200,
                    excerpt: crate::api::client::excerpt(super::server::OVERSIZED_START),
                }));
            }
        };
        let account = self.account_id.as_str();
        let result = em.process(|a, now| op(a, account, now));
        match after {
            None => result.map_err(|r| fail(status_kind(r.status, r.errors, None))),
            Some(After::Status(r)) => Err(fail(status_kind(r.status, r.errors, None))),
            Some(After::Drop) => Err(fail(dropped())),
            Some(After::Malformed { status }) => {
                let answered = match &result {
                    Ok(_) if endpoint.method() == crate::api::Method::Post => 201,
                    Ok(_) => 200,
                    Err(r) => r.status,
                };
                let (status, body) =
                    super::faults::malformed_answer(Some(status.unwrap_or(answered)));
                Err(unreadable(fail, status, &body))
            }
        }
    }
}

/// An answer that is not JSON, as the HTTP client reports it: a write's with a success status
/// was accepted, its answer unreadable.
fn unreadable(fail: impl Fn(ApiErrorKind) -> ApiError, status: u16, body: &str) -> ApiError {
    let error = fail(ApiErrorKind::NotJson {
        status,
        excerpt: crate::api::client::excerpt(body.as_bytes()),
    });
    if error.method == crate::api::Method::Get.as_str() {
        error
    } else {
        crate::api::client::accepted(error, status)
    }
}

fn status_kind(status: u16, errors: Vec<Message>, retry_after: Option<u64>) -> ApiErrorKind {
    ApiErrorKind::Status {
        status,
        errors: errors.into_iter().map(ApiMessage::from).collect(),
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
fn decode(e: FieldError) -> ApiErrorKind {
    ApiErrorKind::Decode {
        field: e.field,
        message: e.message,
    }
}

/// A single get that found nothing, as `is_not_found` decides it, is `Ok(None)`.
fn none_if<T>(
    result: Result<T, ApiError>,
    is_not_found: fn(&ApiError) -> bool,
) -> Result<Option<T>, ApiError> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

impl Api for InProcess {
    async fn list_services(&self) -> Result<Vec<Service>, ApiError> {
        let endpoint = Endpoint::ListServices;
        let wire = self
            .call(endpoint, |a, acc, _| a.list_services(acc))
            .await?;
        wire.into_iter()
            .enumerate()
            .map(|(i, s)| {
                s.into_service(&format!("result[{i}]."))
                    .map_err(|e| self.error(endpoint, decode(e)))
            })
            .collect()
    }

    async fn list_prefixes(&self) -> Result<Vec<Prefix>, ApiError> {
        let endpoint = Endpoint::ListPrefixes;
        let wire = self
            .call(endpoint, |a, acc, _| a.list_prefixes(acc))
            .await?;
        wire.into_iter()
            .enumerate()
            .map(|(i, p)| {
                p.prefix
                    .into_prefix(&format!("result[{i}]."))
                    .map_err(|e| self.error(endpoint, decode(e)))
            })
            .collect()
    }

    async fn get_prefix(&self, prefix: &PrefixId) -> Result<Option<Prefix>, ApiError> {
        let endpoint = Endpoint::GetPrefix(prefix);
        let result = self
            .call(endpoint, |a, acc, _| a.get_prefix(acc, prefix.as_str()))
            .await;
        none_if(result, ApiError::is_prefix_not_found)?
            .map(|p| {
                p.prefix
                    .into_prefix("result.")
                    .map_err(|e| self.error(endpoint, decode(e)))
            })
            .transpose()
    }

    async fn list_bindings(&self, prefix: &PrefixId) -> Result<Vec<Binding>, ApiError> {
        let endpoint = Endpoint::ListBindings(prefix);
        let wire = self
            .call(endpoint, |a, acc, now| {
                a.list_bindings(acc, prefix.as_str(), now)
            })
            .await?;
        wire.into_iter()
            .enumerate()
            .map(|(i, b)| {
                b.into_binding(&format!("result[{i}]."))
                    .map_err(|e| self.error(endpoint, decode(e)))
            })
            .collect()
    }

    async fn get_binding(
        &self,
        prefix: &PrefixId,
        binding: &BindingId,
    ) -> Result<Option<Binding>, ApiError> {
        let endpoint = Endpoint::GetBinding(prefix, binding);
        let result = self
            .call(endpoint, |a, acc, now| {
                a.get_binding(acc, prefix.as_str(), binding.as_str(), now)
            })
            .await;
        none_if(result, ApiError::is_binding_not_found)?
            .map(|b| {
                b.into_binding("result.")
                    .map_err(|e| self.error(endpoint, decode(e)))
            })
            .transpose()
    }

    async fn create_binding(
        &self,
        prefix: &PrefixId,
        cidr: IpNet,
        service: &ServiceId,
    ) -> Result<Created, ApiError> {
        let endpoint = Endpoint::CreateBinding(prefix);
        let wire = self
            .call(endpoint, |a, acc, now| {
                a.create_binding(
                    acc,
                    prefix.as_str(),
                    &cidr.to_string(),
                    service.as_str(),
                    now,
                )
            })
            .await?;
        let binding = wire
            .into_binding("result.")
            .map_err(|e| self.error(endpoint, decode(e)))?;
        Ok(Created {
            binding,
            confirmed: Confirmed::Answered,
        })
    }

    async fn delete_binding(
        &self,
        prefix: &PrefixId,
        binding: &BindingId,
    ) -> Result<Confirmed, ApiError> {
        self.call(Endpoint::DeleteBinding(prefix, binding), |a, acc, now| {
            a.delete_binding(acc, prefix.as_str(), binding.as_str(), now)
        })
        .await
        .map(|()| Confirmed::Answered)
    }
}
