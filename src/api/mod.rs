//! The Cloudflare addressing API as svcbind sees it: one trait, [`Api`], with the seven calls,
//! and the typed error every implementation returns.
//!
//! Two implementations exist: [`client::HttpClient`] (reqwest, the real network) and
//! `emulator::InProcess` (the emulator's rules core, no sockets). Everything above this
//! module (resolution, apply) is generic over the trait, so ordering, stop-on-failure and
//! resume are tested without HTTP. This module must not print.

pub mod client;
pub mod credentials;
pub mod error;
pub mod wire;

use std::future::Future;

use ipnet::IpNet;

use crate::model::{Binding, BindingId, Prefix, PrefixId, Service, ServiceId};

pub use error::{ApiError, ApiErrorKind, ApiMessage};

/// The calls svcbind makes, all scoped to one account chosen when the implementation is built.
///
/// Not-found on a single get is `Ok(None)`; on delete it is an error the caller may treat as
/// done (see [`ApiError::is_not_found`]).
pub trait Api: Send + Sync {
    /// `GET /accounts/{account_id}/addressing/services`
    fn list_services(&self) -> impl Future<Output = Result<Vec<Service>, ApiError>> + Send;

    /// `GET /accounts/{account_id}/addressing/prefixes`
    fn list_prefixes(&self) -> impl Future<Output = Result<Vec<Prefix>, ApiError>> + Send;

    /// `GET /accounts/{account_id}/addressing/prefixes/{prefix_id}`
    fn get_prefix(
        &self,
        prefix: &PrefixId,
    ) -> impl Future<Output = Result<Option<Prefix>, ApiError>> + Send;

    /// `GET …/prefixes/{prefix_id}/bindings`
    fn list_bindings(
        &self,
        prefix: &PrefixId,
    ) -> impl Future<Output = Result<Vec<Binding>, ApiError>> + Send;

    /// `GET …/prefixes/{prefix_id}/bindings/{binding_id}`
    fn get_binding(
        &self,
        prefix: &PrefixId,
        binding: &BindingId,
    ) -> impl Future<Output = Result<Option<Binding>, ApiError>> + Send;

    /// `POST …/prefixes/{prefix_id}/bindings` with `{"cidr", "service_id"}`; answers 201.
    fn create_binding(
        &self,
        prefix: &PrefixId,
        cidr: IpNet,
        service: &ServiceId,
    ) -> impl Future<Output = Result<Binding, ApiError>> + Send;

    /// `DELETE …/prefixes/{prefix_id}/bindings/{binding_id}`; the answer is the envelope only.
    fn delete_binding(
        &self,
        prefix: &PrefixId,
        binding: &BindingId,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;
}
