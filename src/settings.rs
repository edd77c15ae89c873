//! Settings for one run, built from the parsed command line and the environment: the account
//! id, the backend (the network or an emulated account), colour and verbosity.
//!
//! Raw flags ([`crate::cli::GlobalArgs`]) stay raw; everything derived from them lives here.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};
use ipnet::IpNet;

use crate::api::client::{ClientConfig, HttpClient};
use crate::api::credentials::{self, Credentials};
use crate::api::{Api, ApiError, Confirmed, Created};
use crate::cli::{ColorChoice, Format, GlobalArgs};
use crate::emulator::{self, Emulator, EmulatorOptions, InProcess};
use crate::model::{
    AccountId, Binding, BindingId, Prefix, PrefixId, Service, ServiceId, StateFile,
};

/// Settings shared by every command.
#[derive(Debug, Clone)]
pub struct Settings {
    pub config: PathBuf,
    pub account_id: Option<String>,
    pub api_url: String,
    pub api_token_file: Option<PathBuf>,
    pub emulate: Option<PathBuf>,
    pub prefixes: Vec<String>,
    pub concurrency: usize,
    pub timeout: Duration,
    pub format: Format,
    /// Colour on stdout.
    pub color: bool,
    /// Colour on stderr.
    pub color_stderr: bool,
    pub verbose: u8,
    pub quiet: bool,
    /// `GITHUB_ACTIONS=true`: also print workflow commands for diagnostics.
    pub github_actions: bool,
}

impl Settings {
    pub fn from_args(args: &GlobalArgs) -> Self {
        let color_for = |terminal: bool| match args.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                terminal
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::env::var("TERM").map_or(true, |t| t != "dumb")
            }
        };
        Self {
            config: args.config.clone(),
            account_id: args.account_id.clone().filter(|s| !s.is_empty()),
            api_url: args.api_url.clone(),
            api_token_file: args.api_token_file.clone(),
            emulate: args.emulate.clone(),
            prefixes: args.prefixes.clone(),
            concurrency: usize::from(args.concurrency),
            timeout: args.timeout,
            format: args.format,
            color: color_for(std::io::stdout().is_terminal()),
            color_stderr: color_for(std::io::stderr().is_terminal()),
            verbose: args.verbose,
            quiet: args.quiet,
            github_actions: std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true"),
        }
    }

    /// The account to work on: the flag or environment, else the file (the two must agree
    /// when both are given), else with `--emulate` the seed's or the emulator's default.
    pub fn account_id(
        &self,
        file: &StateFile,
        seed: Option<&StateFile>,
    ) -> anyhow::Result<AccountId> {
        let flag = self
            .account_id
            .as_deref()
            .map(|s| {
                AccountId::new(s)
                    .context("--account-id / CLOUDFLARE_ACCOUNT_ID is not an account id")
            })
            .transpose()?;
        let from_file = file.account_id.clone();
        if let (Some(flag), Some(in_file)) = (&flag, &from_file)
            && flag != in_file
        {
            bail!(
                "account id mismatch: --account-id / CLOUDFLARE_ACCOUNT_ID is {flag} but {} says {in_file}; make them agree or drop one",
                self.config.display()
            );
        }
        let seed_account = seed.and_then(|s| s.account_id.clone());
        match flag.or(from_file).or(seed_account) {
            Some(id) => Ok(id),
            None if seed.is_some() => Ok(emulator::default_account_id()),
            None => bail!(
                "no account id: set `account_id` in {}, pass --account-id, or set CLOUDFLARE_ACCOUNT_ID",
                self.config.display()
            ),
        }
    }
}

/// Where API calls go: Cloudflare (or any server speaking its API), or an in-process emulator.
#[derive(Debug)]
pub enum Backend {
    Http(HttpClient),
    Emulated(InProcess),
}

impl Backend {
    /// Builds the backend: `--emulate SEED` wins, else the HTTP client with credentials.
    pub fn connect(
        settings: &Settings,
        account_id: &AccountId,
        seed: Option<StateFile>,
    ) -> anyhow::Result<Self> {
        if let Some(seed) = seed {
            let account = emulator::Account::from_seed(&seed).with_context(|| {
                let path = settings.emulate.as_deref().map(std::path::Path::display);
                format!(
                    "cannot seed the emulator from {}",
                    path.map_or_else(String::new, |p| p.to_string())
                )
            })?;
            let emulator = Emulator::new(account, EmulatorOptions::new(String::new()));
            return Ok(Backend::Emulated(emulator.in_process(account_id.clone())));
        }
        let credentials: Credentials = credentials::from_sources(
            |name| std::env::var(name).ok(),
            settings.api_token_file.as_deref(),
        )?;
        let mut config =
            ClientConfig::new(settings.api_url.clone(), account_id.clone(), credentials);
        config.timeout = settings.timeout;
        let client = HttpClient::new(config)?;
        Ok(Backend::Http(client))
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
