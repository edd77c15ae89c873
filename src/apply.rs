//! Carrying out a plan: its steps, in order, through the [`Api`] trait.
//!
//! Within a prefix the steps run one at a time in plan order; prefixes run in parallel up to
//! the concurrency limit. On the first failure that prefix stops, no new step starts anywhere,
//! and steps already in flight finish; the same happens when the caller raises the [`Stop`]
//! signal (Ctrl-C). The result is an [`ApplyReport`] saying what was done, what failed and
//! what did not run. Apply is idempotent by re-planning: a new plan shows exactly the rest.
//! This module decides nothing about output: progress goes to a callback.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use ipnet::IpNet;

use crate::api::{Api, ApiError};
use crate::model::{BindingId, PrefixId};
use crate::plan::{Plan, PrefixPlan, Step};

/// A flag that stops an apply between steps (raised on Ctrl-C or on the first failure).
#[derive(Debug, Clone, Default)]
pub struct Stop {
    interrupted: Arc<AtomicBool>,
}

impl Stop {
    /// Asks the apply to stop after the steps in flight.
    pub fn interrupt(&self) {
        self.interrupted.store(true, Ordering::SeqCst);
    }

    pub fn is_interrupted(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }
}

/// What became of one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepStatus {
    Done {
        elapsed: Duration,
        /// The id of a created binding.
        created: Option<BindingId>,
        /// A delete whose binding was already gone counts as done.
        already_gone: bool,
    },
    Failed {
        elapsed: Duration,
        error: ApiError,
    },
    NotRun,
}

/// One step and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepReport {
    pub step: Step,
    pub status: StepStatus,
}

/// The steps of one prefix and their outcomes, in plan order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixReport {
    pub id: PrefixId,
    pub cidr: IpNet,
    pub steps: Vec<StepReport>,
}

/// The outcome of an apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyReport {
    /// Prefixes that had steps, in plan order.
    pub prefixes: Vec<PrefixReport>,
    /// The apply was stopped by the caller (Ctrl-C) before every step ran.
    pub interrupted: bool,
}

/// Counts of an [`ApplyReport`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplyCounts {
    pub done: usize,
    pub failed: usize,
    pub not_run: usize,
}

impl ApplyReport {
    /// The report of an apply with nothing to do.
    pub fn empty() -> Self {
        Self {
            prefixes: Vec::new(),
            interrupted: false,
        }
    }

    pub fn counts(&self) -> ApplyCounts {
        let mut c = ApplyCounts::default();
        for s in self.prefixes.iter().flat_map(|p| &p.steps) {
            match s.status {
                StepStatus::Done { .. } => c.done += 1,
                StepStatus::Failed { .. } => c.failed += 1,
                StepStatus::NotRun => c.not_run += 1,
            }
        }
        c
    }

    pub fn failed(&self) -> bool {
        self.counts().failed > 0
    }
}

/// A step finished (for progress output).
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    /// How many steps have finished so far, this one included.
    pub finished: usize,
    /// Steps in the whole plan.
    pub total: usize,
    pub prefix: IpNet,
    pub step: &'a Step,
    pub status: &'a StepStatus,
}

/// Runs the plan's steps. Never panics on API errors: they land in the report.
pub async fn apply<A: Api>(
    api: &A,
    plan: &Plan,
    concurrency: usize,
    stop: &Stop,
    progress: &(dyn Fn(Progress<'_>) + Send + Sync),
) -> ApplyReport {
    let total = plan.prefixes.iter().map(|p| p.steps.len()).sum();
    let shared = Shared {
        failed: AtomicBool::new(false),
        finished: AtomicUsize::new(0),
        total,
        stop,
        progress,
    };
    let prefixes = futures::stream::iter(plan.prefixes.iter().filter(|p| !p.is_unchanged()))
        .map(|p| run_prefix(api, p, &shared))
        .buffered(concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
    let interrupted = stop.is_interrupted()
        && prefixes
            .iter()
            .flat_map(|p| &p.steps)
            .any(|s| s.status == StepStatus::NotRun);
    ApplyReport {
        prefixes,
        interrupted,
    }
}

struct Shared<'a> {
    failed: AtomicBool,
    finished: AtomicUsize,
    total: usize,
    stop: &'a Stop,
    progress: &'a (dyn Fn(Progress<'_>) + Send + Sync),
}

impl Shared<'_> {
    fn halted(&self) -> bool {
        self.failed.load(Ordering::SeqCst) || self.stop.is_interrupted()
    }
}

async fn run_prefix<A: Api>(api: &A, plan: &PrefixPlan, shared: &Shared<'_>) -> PrefixReport {
    let mut steps = Vec::with_capacity(plan.steps.len());
    for step in &plan.steps {
        if shared.halted() {
            steps.push(StepReport {
                step: step.clone(),
                status: StepStatus::NotRun,
            });
            continue;
        }
        let status = run_step(api, &plan.id, step).await;
        if matches!(status, StepStatus::Failed { .. }) {
            shared.failed.store(true, Ordering::SeqCst);
        }
        let finished = shared.finished.fetch_add(1, Ordering::SeqCst) + 1;
        (shared.progress)(Progress {
            finished,
            total: shared.total,
            prefix: plan.cidr,
            step,
            status: &status,
        });
        steps.push(StepReport {
            step: step.clone(),
            status,
        });
    }
    PrefixReport {
        id: plan.id.clone(),
        cidr: plan.cidr,
        steps,
    }
}

async fn run_step<A: Api>(api: &A, prefix: &PrefixId, step: &Step) -> StepStatus {
    let started = Instant::now();
    let result = match step {
        Step::Create { cidr, service } => api
            .create_binding(prefix, *cidr, service)
            .await
            .map(|b| (Some(b.id), false)),
        Step::Delete { binding, .. } => match api.delete_binding(prefix, binding).await {
            Ok(()) => Ok((None, false)),
            Err(e) if is_binding_gone(&e) => Ok((None, true)),
            Err(e) => Err(e),
        },
    };
    let elapsed = started.elapsed();
    match result {
        Ok((created, already_gone)) => StepStatus::Done {
            elapsed,
            created,
            already_gone,
        },
        Err(error) => StepStatus::Failed { elapsed, error },
    }
}

/// The binding (not the prefix) no longer exists.
fn is_binding_gone(e: &ApiError) -> bool {
    use crate::api::error::codes;
    let codes = e.codes();
    codes.contains(&codes::BINDING_NOT_FOUND)
        || (e.status() == Some(404) && !codes.contains(&codes::PREFIX_NOT_FOUND))
}
