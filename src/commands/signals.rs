//! Signals during an apply: Ctrl-C (SIGINT) and SIGTERM (what a CI runner sends when a job is
//! cancelled) are handled alike.
//!
//! [`Signals::listen`] takes both over (from then on neither kills the process) right before
//! the first step; [`Signals::guard`] runs a part of the apply while watching them:
//!
//! - the **first** signal raises the [`Stop`]: no new step starts, the steps in flight finish,
//!   a replace or prefix-wide cascade already begun is finished or undone (see
//!   [`crate::apply`]), then the command prints its report and exits 130;
//! - a **second** signal, during that finishing work, prints the steps in flight (their
//!   outcome is unknown: the calls are out, the answers not in) and exits 130 at once.
//!
//! Before `listen` (loading, planning, asking for confirmation) a signal ends the process as
//! usual: nothing has changed yet. After the last guard a signal is held until exit.

use std::future::Future;

use super::out::stderr_line;
use crate::apply::Stop;
use crate::exit::ExitCode;
use crate::render::Context;

/// What the first signal during the steps starts, for [`Signals::guard`].
pub(crate) const STOPPING: &str = "finishing the steps in flight, starting no new one; a replace or a prefix-wide cascade already begun is finished or undone first";

/// Ctrl-C and SIGTERM, taken over (Ctrl-C alone where there is no SIGTERM).
pub(crate) struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    /// Takes Ctrl-C and SIGTERM over: from now on they reach [`Signals::guard`] instead of
    /// ending the process.
    #[cfg(unix)]
    pub(crate) fn listen() -> anyhow::Result<Self> {
        use anyhow::Context as _;
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            interrupt: signal(SignalKind::interrupt()).context("cannot watch for Ctrl-C")?,
            terminate: signal(SignalKind::terminate()).context("cannot watch for SIGTERM")?,
        })
    }

    /// Takes Ctrl-C over (from its first wait on).
    #[cfg(not(unix))]
    pub(crate) fn listen() -> anyhow::Result<Self> {
        Ok(Self {})
    }

    /// Runs `work` to its end. The first signal raises `stop` and prints `first` (what happens
    /// now); a signal after that prints the steps in flight and exits 130.
    pub(crate) async fn guard<T>(
        &mut self,
        stop: &Stop,
        ctx: &Context<'_>,
        first: &str,
        work: impl Future<Output = T>,
    ) -> T {
        let mut work = std::pin::pin!(work);
        loop {
            tokio::select! {
                biased;
                out = &mut work => return out,
                name = self.next() => {
                    if stop.is_interrupted() {
                        quit(stop, ctx, name);
                    }
                    stop.interrupt();
                    stderr_line(format_args!(
                        "\ninterrupted ({name}): {first} ({name} again quits at once)"
                    ));
                }
            }
        }
    }

    /// The next signal's name.
    #[cfg(not(unix))]
    async fn next(&mut self) -> &'static str {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
        "Ctrl-C"
    }

    /// The next signal's name.
    #[cfg(unix)]
    async fn next(&mut self) -> &'static str {
        tokio::select! {
            Some(()) = self.interrupt.recv() => "Ctrl-C",
            Some(()) = self.terminate.recv() => "SIGTERM",
            // Both streams closed (the runtime is shutting down): no signal will come.
            else => std::future::pending().await,
        }
    }
}

/// Quits at once, after saying which steps are left in flight.
fn quit(stop: &Stop, ctx: &Context<'_>, name: &str) -> ! {
    let in_flight = stop.in_flight();
    if in_flight.is_empty() {
        stderr_line(format_args!(
            "interrupted again ({name}): quitting now, with no step in flight; run `svcbind plan` to see what remains"
        ));
    } else {
        stderr_line(format_args!(
            "interrupted again ({name}): quitting now; {} in flight, so {} outcome is unknown (run `svcbind plan` to see the account as it is):",
            crate::render::count(in_flight.len(), "step was", "steps were"),
            if in_flight.len() == 1 { "its" } else { "their" }
        ));
        for f in &in_flight {
            stderr_line(format_args!(
                "  {}",
                crate::render::text::in_flight_line(f, ctx)
            ));
        }
    }
    std::process::exit(i32::from(ExitCode::Interrupted.code()))
}
