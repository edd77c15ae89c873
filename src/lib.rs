//! svcbind keeps Cloudflare BYOIP service bindings in Git.
//!
//! Data flows left to right, one module per stage: `cli` → `settings`; `config` (YAML →
//! [`model::StateFile`]); `resolve` (the [`api::Api`] → live state); `plan` (desired + live →
//! plan, pure); `apply` (plan → report, through the same trait); `render` (any of them →
//! text, markdown or JSON). `emulator` is an in-memory account that enforces the API's rules.

pub mod api;
pub mod apply;
pub mod cli;
pub mod config;
pub mod emulator;
pub mod exit;
pub mod model;
pub mod plan;
pub mod render;
pub mod resolve;
pub mod sanitize;

pub use exit::ExitCode;

/// Runs one invocation and returns its exit code. Errors are printed here, once.
pub fn run(cli: cli::Cli) -> ExitCode {
    let _ = cli;
    eprintln!("error: this build has no commands yet");
    ExitCode::Failure
}
