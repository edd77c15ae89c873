//! svcbind keeps Cloudflare BYOIP service bindings in Git.
//!
//! Data flows left to right, one module per stage, and dependencies point down only:
//!
//! - `cli` (raw clap arguments, importing nothing of the crate) → `settings` (the typed form:
//!   account id, prefix selectors, formats, colour, limits);
//! - `commands`, the edge: each command composes the steps load → connect → resolve → plan,
//!   prints errors once and returns the exit code;
//! - `backend`: where API calls go, the HTTP client or the in-process emulator, behind
//!   [`api::Api`];
//! - `config` (YAML → [`model::StateFile`] and diagnostics); `resolve` (the [`api::Api`] →
//!   live state); `plan` (desired + live → plan, pure); `apply` (plan → report, through the
//!   same trait);
//! - `render` (text, markdown, JSON) over `contract`, the versioned JSON documents and their
//!   way back to domain types;
//! - `emulator`, an account that enforces the API's rules, in process and over HTTP; `api`,
//!   the trait, the HTTP client and its errors;
//! - `rules`, the API's rules as typed checks over one prefix's bindings, which the emulator
//!   wraps, the planner's rehearsal replays plans on and `config` validation asks;
//! - `model`, `sanitize`, `exit`, the leaves.
//!
//! Of the modules below `commands`, only `settings` reads `cli`; `render` never reads `cli` or
//! `commands`; `plan` never reads `emulator`, `render` or `api`.

#![forbid(unsafe_code)]

pub mod api;
pub mod apply;
mod backend;
pub mod cli;
mod commands;
pub mod config;
pub mod contract;
pub mod emulator;
pub mod exit;
pub mod model;
pub mod plan;
pub mod render;
pub mod resolve;
pub mod rules;
pub mod sanitize;
pub mod settings;

pub use commands::{run, usage_error};
pub use exit::ExitCode;
