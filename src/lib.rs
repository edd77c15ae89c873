//! svcbind keeps Cloudflare BYOIP service bindings in Git.
//!
//! Data flows left to right, one module per stage: `cli` → `settings`; `config` (YAML →
//! [`model::StateFile`]); `resolve` (the [`api::Api`] → live state); `plan` (desired + live →
//! plan, pure); `apply` (plan → report, through the same trait); `render` (any of them →
//! text, markdown or JSON). `emulator` is an in-memory account that enforces the API's rules;
//! `commands` is the edge where errors become messages and exit codes.

#![forbid(unsafe_code)]

pub mod api;
pub mod apply;
pub mod cli;
mod commands;
pub mod config;
pub mod emulator;
pub mod exit;
pub mod model;
pub mod plan;
pub mod render;
pub mod resolve;
pub mod rules;
pub mod sanitize;
pub mod settings;

pub use commands::run;
pub use exit::ExitCode;
