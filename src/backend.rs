//! Where API calls go: Cloudflare (or any server speaking its API) through the HTTP client,
//! with its calls retried ([`Retrying`]) and paced, or an emulated account in process
//! (`--emulate SEED.yaml`).
//!
//! [`Backend`] implements [`Api`] by handing each call to the one it holds, so every stage above
//! (resolution, apply) is written once against the trait. This module only builds and routes:
//! it reads no settings and no environment (the caller hands it a [`ClientConfig`] with the
//! credentials already read, or a seed), and prints nothing. Only `commands` uses it.

use ipnet::IpNet;

use crate::api::client::{ClientConfig, HttpClient};
use crate::api::{Api, ApiError, Confirmed, Created, RetryPolicy, Retrying};
use crate::emulator::{self, Emulator, EmulatorOptions, InProcess, SeedError};
use crate::model::{
    AccountId, Binding, BindingId, Prefix, PrefixId, Service, ServiceId, StateFile,
};

/// The implementation of [`Api`] one run uses.
#[derive(Debug)]
pub enum Backend {
    /// Boxed: the client and its policies are large, the emulated handle small.
    Http(Box<Retrying<HttpClient>>),
    Emulated(InProcess),
}

impl Backend {
    /// The HTTP client for `config` (which paces its requests), its calls retried by `retry`.
    pub fn http(mut config: ClientConfig, retry: RetryPolicy) -> Result<Self, ApiError> {
        // The longest wait the API may ask for, in `Retry-After` or its `Ratelimit` header.
        config.max_retry_wait = retry.max_retry_wait;
        let client = HttpClient::new(config)?;
        Ok(Backend::Http(Box::new(Retrying::new(client, retry))))
    }

    /// An in-process emulated account seeded from `seed`, seen as `account_id`.
    pub fn emulated(seed: &StateFile, account_id: AccountId) -> Result<Self, SeedError> {
        let account = emulator::Account::from_seed(seed)?;
        let emulator = Emulator::new(account, EmulatorOptions::new(String::new()));
        Ok(Backend::Emulated(emulator.in_process(account_id)))
    }
}

impl Api for Backend {
    async fn list_services(&self) -> Result<Vec<Service>, ApiError> {
        match self {
            Backend::Http(c) => c.list_services().await,
            Backend::Emulated(e) => e.list_services().await,
        }
    }

    async fn list_prefixes(&self) -> Result<Vec<Prefix>, ApiError> {
        match self {
            Backend::Http(c) => c.list_prefixes().await,
            Backend::Emulated(e) => e.list_prefixes().await,
        }
    }

    fn foreign_prefixes(&self) -> Vec<crate::api::ForeignPrefix> {
        match self {
            Backend::Http(c) => c.foreign_prefixes(),
            Backend::Emulated(e) => e.foreign_prefixes(),
        }
    }

    async fn get_prefix(&self, prefix: &PrefixId) -> Result<Option<Prefix>, ApiError> {
        match self {
            Backend::Http(c) => c.get_prefix(prefix).await,
            Backend::Emulated(e) => e.get_prefix(prefix).await,
        }
    }

    async fn list_bindings(&self, prefix: &PrefixId) -> Result<Vec<Binding>, ApiError> {
        match self {
            Backend::Http(c) => c.list_bindings(prefix).await,
            Backend::Emulated(e) => e.list_bindings(prefix).await,
        }
    }

    async fn get_binding(
        &self,
        prefix: &PrefixId,
        binding: &BindingId,
    ) -> Result<Option<Binding>, ApiError> {
        match self {
            Backend::Http(c) => c.get_binding(prefix, binding).await,
            Backend::Emulated(e) => e.get_binding(prefix, binding).await,
        }
    }

    async fn create_binding(
        &self,
        prefix: &PrefixId,
        cidr: IpNet,
        service: &ServiceId,
    ) -> Result<Created, ApiError> {
        match self {
            Backend::Http(c) => c.create_binding(prefix, cidr, service).await,
            Backend::Emulated(e) => e.create_binding(prefix, cidr, service).await,
        }
    }

    async fn delete_binding(
        &self,
        prefix: &PrefixId,
        binding: &BindingId,
    ) -> Result<Confirmed, ApiError> {
        match self {
            Backend::Http(c) => c.delete_binding(prefix, binding).await,
            Backend::Emulated(e) => e.delete_binding(prefix, binding).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_emulated_backend_serves_its_seed() {
        let seed = crate::config::parse(
            "version: 1\nprefixes:\n  - cidr: 192.0.2.0/24\n    bindings:\n      - { cidr: 192.0.2.0/24, service: CDN }\n",
            "seed.yaml",
            crate::config::Mode::Seed,
        )
        .unwrap()
        .state;
        let backend = Backend::emulated(&seed, emulator::default_account_id()).unwrap();
        assert!(matches!(backend, Backend::Emulated(_)));
        let prefixes = backend.list_prefixes().await.unwrap();
        assert_eq!(prefixes.len(), 1);
        let bindings = backend.list_bindings(&prefixes[0].id).await.unwrap();
        assert_eq!(bindings[0].cidr, "192.0.2.0/24".parse::<IpNet>().unwrap());
        assert_eq!(backend.list_services().await.unwrap().len(), 3);
    }
}
