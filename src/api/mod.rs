//! The Cloudflare addressing API as svcbind sees it: one trait, [`Api`], with the seven calls,
//! and the typed error every implementation returns.
//!
//! Each call's method, route template and path live in [`endpoint`], written once for the
//! client, the emulator and its request counts.
//!
//! Two implementations exist: [`client::HttpClient`] (reqwest, the real network, paced by
//! [`pace`]) and `emulator::InProcess` (the emulator's rules core, no sockets); [`retry`] is a
//! layer around either that sends a failed call again when that is safe, and learns the
//! outcome of a write whose answer was lost by reading its prefix back. Everything above this
//! module (resolution, apply) is generic over the trait, so ordering, stop-on-failure and
//! resume are tested without HTTP. This module must not print.

pub mod answer;
pub mod client;
pub mod credentials;
pub mod endpoint;
pub mod error;
pub mod pace;
pub mod retry;
pub mod wire;

use std::future::Future;

use ipnet::IpNet;

use crate::model::{Binding, BindingId, Prefix, PrefixId, Service, ServiceId};

pub use endpoint::{Endpoint, Method, Route};
pub use error::{ApiError, ApiErrorKind, ApiMessage, Outcome};
pub use retry::{RetryPolicy, Retrying};

/// How svcbind knows that a write happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmed {
    /// The API answered the call with success.
    Answered,
    /// The answer was lost (a timeout, a broken connection, a 5xx), and reading the prefix's
    /// bindings back showed that the write happened: the binding created is there, or the
    /// binding deleted is gone.
    ReadBack,
}

/// A prefix that List Prefixes named but that belongs to another account, `owner` (a
/// delegated prefix: its bindings are managed in the account that owns it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignPrefix {
    pub prefix: Prefix,
    pub owner: String,
}

/// A binding created by [`Api::create_binding`], and how svcbind knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    pub binding: Binding,
    pub confirmed: Confirmed,
}

/// The calls svcbind makes, all scoped to one account chosen when the implementation is built.
///
/// Not found on a single get is `Ok(None)`; on delete it is an error the caller may treat as
/// done. Either way "not found" means one thing only: a 404 with the API's envelope and its
/// not-found code ([`ApiError::is_prefix_not_found`], [`ApiError::is_binding_not_found`]).
pub trait Api: Send + Sync {
    /// List Services ([`Route::ListServices`]).
    fn list_services(&self) -> impl Future<Output = Result<Vec<Service>, ApiError>> + Send;

    /// List Prefixes ([`Route::ListPrefixes`]): the account's own prefixes. A prefix whose
    /// `account_id` names another account is left out, and kept for
    /// [`Api::foreign_prefixes`].
    fn list_prefixes(&self) -> impl Future<Output = Result<Vec<Prefix>, ApiError>> + Send;

    /// The prefixes the last List Prefixes left out because they belong to another account,
    /// so that a file naming one is told why it is not managed here. None unless the
    /// implementation reads the owner of a prefix (the HTTP client does).
    fn foreign_prefixes(&self) -> Vec<ForeignPrefix> {
        Vec::new()
    }

    /// Get a prefix ([`Route::GetPrefix`]).
    fn get_prefix(
        &self,
        prefix: &PrefixId,
    ) -> impl Future<Output = Result<Option<Prefix>, ApiError>> + Send;

    /// List a prefix's service bindings ([`Route::ListBindings`]).
    fn list_bindings(
        &self,
        prefix: &PrefixId,
    ) -> impl Future<Output = Result<Vec<Binding>, ApiError>> + Send;

    /// Get a service binding ([`Route::GetBinding`]).
    fn get_binding(
        &self,
        prefix: &PrefixId,
        binding: &BindingId,
    ) -> impl Future<Output = Result<Option<Binding>, ApiError>> + Send;

    /// Create a service binding ([`Route::CreateBinding`]) with `{"cidr", "service_id"}`;
    /// answers 201 with the binding.
    fn create_binding(
        &self,
        prefix: &PrefixId,
        cidr: IpNet,
        service: &ServiceId,
    ) -> impl Future<Output = Result<Created, ApiError>> + Send;

    /// Delete a service binding ([`Route::DeleteBinding`]); the answer is the envelope only.
    fn delete_binding(
        &self,
        prefix: &PrefixId,
        binding: &BindingId,
    ) -> impl Future<Output = Result<Confirmed, ApiError>> + Send;
}
