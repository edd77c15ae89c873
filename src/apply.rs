//! Carrying out a plan: its steps, in order, through the [`Api`] trait; then, when asked,
//! waiting until the bindings it created are active ([`wait`]).
//!
//! Within a prefix the steps run one at a time in plan order; prefixes run in parallel up to
//! the concurrency limit. On the first failure that prefix stops, no new step starts anywhere,
//! and steps already in flight finish; the same happens when the caller raises the [`Stop`]
//! signal (Ctrl-C, SIGTERM). The result is an [`ApplyReport`] saying what was done, what
//! failed and what did not run. Apply is idempotent by re-planning: a new plan shows exactly
//! the rest. This module decides nothing about output: progress goes to a callback, and
//! [`Stop::in_flight`] tells a caller that must quit at once which calls it leaves unanswered.
//!
//! # Never worse than either end state
//!
//! Stopping between two steps is safe for most plans: each step is a change the plan wants,
//! and the order keeps every address bound while it runs. Two shapes of steps are not safe to
//! cut, so a stop (a signal, or a failure in this prefix or another) does not cut them:
//!
//! - **A replace** (the delete of a CIDR immediately followed by its create): once the delete
//!   is done, the create runs, so the range falls back to its covering binding for one call,
//!   never for the hours until someone re-plans.
//! - **A prefix-wide cascade** (the prefix-wide binding changes service: every more-specific
//!   binding is deleted, then the prefix-wide one, which is created anew, then the
//!   more-specific ones are created again; see [`crate::plan::order`]). Cut half way, it would
//!   leave ranges the file never changed on the old prefix-wide service, or the whole prefix
//!   unbound. What a stop does depends on where the cascade stands ([`Cascade`]):
//!   - **the old prefix-wide binding still stands** (its delete has not run, or failed):
//!     *restore*. The more-specific bindings the cascade deleted are created again with their
//!     old services, shortest prefix first, which puts the prefix back as it was before the
//!     apply ([`Cascade::Restored`]). Restoring moves back only the ranges the cascade had
//!     already moved; finishing would move the whole prefix, which is what a stop asks not to
//!     start.
//!   - **the old prefix-wide binding is deleted**: *finish*. The prefix routes nothing until
//!     the new prefix-wide binding exists, and the plan's own remaining steps are the quickest
//!     way to a bound prefix ([`Cascade::Finished`]). If the new prefix-wide binding cannot be
//!     created, nothing else can be (the API wants it first), so the rest does not run and the
//!     report says the prefix is unbound; a failed more-specific create does not stop the
//!     others, since each binds only its own range.
//!
//! A delete whose binding was already gone restores nothing (there was nothing there). What
//! is restored or finished is reported; in a restored prefix the plan's later steps stay "not
//! run", and a new plan shows the whole cascade again. A prefix whose prefix-wide binding is deleted
//! for good (`bindings: []`) holds no cascade: each of its deletes is a change the file asks
//! for, so a stop leaves it part way like any other plan. A second signal during the finishing
//! work quits at once (the command's choice, see `commands::signals`): the steps in flight are
//! all that can be said then.
//!
//! # Waiting
//!
//! A binding change spreads over hours; `apply --wait` asks [`wait`] to read the touched
//! prefixes back until every binding the apply created is `active`: one `GET bindings` per
//! prefix still waited for, per round. Rounds come 1 s, 2 s, 4 s … apart, at most a minute,
//! and never more often than one call a second over all prefixes (half the default request
//! budget), so waiting for hours costs a few calls a minute.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::StreamExt;
use ipnet::IpNet;
use tokio::sync::watch;

use crate::api::{Api, ApiError, Confirmed};
use crate::model::{BindingId, PrefixId, ProvisioningState, ServiceId};
use crate::plan::{Plan, PrefixPlan, Step};

/// A flag that stops an apply between steps (raised on a signal), and the steps in flight
/// when it is raised. Clones share both.
#[derive(Debug, Clone, Default)]
pub struct Stop {
    shared: Arc<StopShared>,
}

#[derive(Debug)]
struct StopShared {
    interrupted: watch::Sender<bool>,
    /// Steps that started and have not finished, by the order they started in.
    in_flight: Mutex<BTreeMap<u64, InFlight>>,
    next: AtomicU64,
}

impl Default for StopShared {
    fn default() -> Self {
        Self {
            interrupted: watch::Sender::new(false),
            in_flight: Mutex::new(BTreeMap::new()),
            next: AtomicU64::new(0),
        }
    }
}

/// A step that has started and not finished: its call is out, its answer not in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InFlight {
    pub prefix: IpNet,
    pub step: Step,
    /// Whether it re-creates a binding an interrupted cascade had deleted (not a plan step).
    pub restoring: bool,
}

impl Stop {
    /// Asks the apply to stop after the steps in flight (and the finishing work of a cascade
    /// or replace already begun).
    pub fn interrupt(&self) {
        self.shared.interrupted.send_replace(true);
    }

    pub fn is_interrupted(&self) -> bool {
        *self.shared.interrupted.borrow()
    }

    /// Resolves once [`Stop::interrupt`] has been called (at once if it was).
    pub async fn interrupted(&self) {
        let mut rx = self.shared.interrupted.subscribe();
        // The sender lives in `self`, so the wait ends only with an interrupt.
        let _ = rx.wait_for(|interrupted| *interrupted).await;
    }

    /// The steps in flight now, in the order they started.
    pub fn in_flight(&self) -> Vec<InFlight> {
        self.flights().values().cloned().collect()
    }

    fn flights(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, InFlight>> {
        self.shared
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Marks a step in flight until the returned guard is dropped.
    fn start(&self, flight: InFlight) -> Flight<'_> {
        let key = self.shared.next.fetch_add(1, Ordering::SeqCst);
        self.flights().insert(key, flight);
        Flight { stop: self, key }
    }
}

/// A step in flight; dropping it (the step finished, or its future was dropped) forgets it.
struct Flight<'a> {
    stop: &'a Stop,
    key: u64,
}

impl Drop for Flight<'_> {
    fn drop(&mut self) {
        self.stop.flights().remove(&self.key);
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
        /// The API's answer was lost, and reading the prefix back showed the step done: the
        /// binding created was there (and is adopted), or the binding deleted was gone.
        read_back: bool,
    },
    Failed {
        elapsed: Duration,
        error: ApiError,
    },
    NotRun,
}

impl StepStatus {
    pub fn is_done(&self) -> bool {
        matches!(self, StepStatus::Done { .. })
    }
}

/// One step and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepReport {
    pub step: Step,
    pub status: StepStatus,
}

/// What a stop did to a prefix-wide cascade it came in the middle of (see the module doc).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cascade {
    /// The stop came after the old prefix-wide binding was deleted: the cascade's remaining
    /// steps ran anyway (their outcomes are in the prefix's steps).
    Finished,
    /// The stop came while the old prefix-wide binding still stood: the more-specific
    /// bindings the cascade had deleted were created again with their old services, by these
    /// steps (in the order they ran). The prefix's later plan steps did not run.
    Restored { steps: Vec<StepReport> },
}

/// The steps of one prefix and their outcomes, in plan order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixReport {
    pub id: PrefixId,
    pub cidr: IpNet,
    pub steps: Vec<StepReport>,
    /// Set when a stop came in the middle of this prefix's prefix-wide cascade.
    pub cascade: Option<Cascade>,
}

impl PrefixReport {
    /// The steps that restored an interrupted cascade (none unless [`Cascade::Restored`]).
    pub fn restored(&self) -> &[StepReport] {
        match &self.cascade {
            Some(Cascade::Restored { steps }) => steps,
            Some(Cascade::Finished) | None => &[],
        }
    }

    /// Whether the prefix is left without a prefix-wide binding: its cascade deleted the old
    /// one and the new one was not created.
    pub fn unbound(&self) -> bool {
        let Some(w) = cascade_point(self.cidr, self.steps.iter().map(|s| &s.step)) else {
            return false;
        };
        self.steps[w].status.is_done()
            && !self.steps[w + 1..].iter().any(|s| {
                matches!(s.step, Step::Create { cidr, .. } if cidr == self.cidr)
                    && s.status.is_done()
            })
    }
}

/// The outcome of an apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyReport {
    /// Prefixes that had steps, in plan order.
    pub prefixes: Vec<PrefixReport>,
    /// The apply was stopped by the caller (a signal) before every step ran.
    pub interrupted: bool,
    /// What `--wait` saw, when it was asked for and the steps all ran.
    pub waited: Option<Waited>,
}

/// Counts of an [`ApplyReport`]: its plan steps (steps that restored a cascade are not
/// counted here; see [`ApplyReport::failed`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplyCounts {
    pub done: usize,
    pub failed: usize,
    pub not_run: usize,
}

impl ApplyReport {
    /// The report of an apply that ran no step of `plan` (it was refused).
    pub fn not_run(plan: &Plan) -> Self {
        Self {
            prefixes: plan
                .prefixes
                .iter()
                .filter(|p| !p.is_unchanged())
                .map(|p| PrefixReport {
                    id: p.id.clone(),
                    cidr: p.cidr,
                    steps: p
                        .steps
                        .iter()
                        .map(|step| StepReport {
                            step: step.clone(),
                            status: StepStatus::NotRun,
                        })
                        .collect(),
                    cascade: None,
                })
                .collect(),
            interrupted: false,
            waited: None,
        }
    }

    /// The report of an apply with nothing to do.
    pub fn empty() -> Self {
        Self {
            prefixes: Vec::new(),
            interrupted: false,
            waited: None,
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

    /// Whether a step failed: a plan step, or one restoring an interrupted cascade.
    pub fn failed(&self) -> bool {
        self.counts().failed > 0
            || self
                .prefixes
                .iter()
                .flat_map(PrefixReport::restored)
                .any(|s| !s.status.is_done())
    }

    /// Whether `--wait` ran out of time with bindings not active yet.
    pub fn wait_timed_out(&self) -> bool {
        self.waited
            .as_ref()
            .is_some_and(|w| w.outcome == WaitOutcome::TimedOut)
    }
}

/// A step finished (for progress output).
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    /// How many plan steps have finished so far, this one included (steps restoring a
    /// cascade are not counted).
    pub finished: usize,
    /// Steps in the whole plan.
    pub total: usize,
    pub prefix: IpNet,
    pub step: &'a Step,
    pub status: &'a StepStatus,
    /// The step re-created a binding an interrupted cascade had deleted (not a plan step).
    pub restoring: bool,
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
    // Up to `concurrency` prefixes at a time, a new one as soon as any finishes; the report
    // keeps plan order.
    let mut prefixes: Vec<(usize, PrefixReport)> = futures::stream::iter(
        plan.prefixes
            .iter()
            .filter(|p| !p.is_unchanged())
            .enumerate(),
    )
    .map(|(i, p)| {
        let shared = &shared;
        async move { (i, run_prefix(api, p, shared).await) }
    })
    .buffer_unordered(concurrency.max(1))
    .collect()
    .await;
    prefixes.sort_unstable_by_key(|(i, _)| *i);
    let prefixes: Vec<PrefixReport> = prefixes.into_iter().map(|(_, p)| p).collect();
    // Interrupted: the stop left steps not run, or made a cascade finish or be undone.
    let interrupted = stop.is_interrupted()
        && prefixes
            .iter()
            .any(|p| p.cascade.is_some() || p.steps.iter().any(|s| s.status == StepStatus::NotRun));
    ApplyReport {
        prefixes,
        interrupted,
        waited: None,
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

/// The index of a prefix-wide cascade's point of no return in `steps` (the delete of the old
/// prefix-wide binding that a create of a new one follows), if the steps hold a cascade.
///
/// Found from the steps themselves, so a saved plan is read the same way as a fresh one.
fn cascade_point<'a>(prefix: IpNet, steps: impl Iterator<Item = &'a Step>) -> Option<usize> {
    let steps: Vec<&Step> = steps.collect();
    let wide_delete = steps
        .iter()
        .rposition(|s| matches!(s, Step::Delete { cidr, .. } if *cidr == prefix))?;
    steps[wide_delete + 1..]
        .iter()
        .any(|s| matches!(s, Step::Create { cidr, .. } if *cidr == prefix))
        .then_some(wide_delete)
}

async fn run_prefix<A: Api>(api: &A, plan: &PrefixPlan, shared: &Shared<'_>) -> PrefixReport {
    let cascade = cascade_point(plan.cidr, plan.steps.iter());
    let mut steps: Vec<StepReport> = Vec::with_capacity(plan.steps.len());
    // Past the cascade's point of no return, with its new prefix-wide binding not failed: the
    // rest runs whatever stop comes.
    let mut finishing = false;
    // A step ran only because the cascade was being finished.
    let mut finished_anyway = false;
    for (i, step) in plan.steps.iter().enumerate() {
        // A replace is not left half-done because another prefix failed or a signal came: its
        // create runs right after its delete, so the range's gap stays one call long.
        let completes_replace = matches!(
            (steps.last(), step),
            (
                Some(StepReport {
                    step: Step::Delete { cidr: deleted, .. },
                    status: StepStatus::Done { .. },
                }),
                Step::Create { cidr, .. },
            ) if deleted == cidr
        );
        if shared.halted() {
            if !(finishing || completes_replace) {
                steps.push(StepReport {
                    step: step.clone(),
                    status: StepStatus::NotRun,
                });
                continue;
            }
            finished_anyway |= finishing;
        }
        let status = run_tracked(api, plan, step, shared.stop, false).await;
        let done = status.is_done();
        if !done {
            shared.failed.store(true, Ordering::SeqCst);
        }
        if cascade == Some(i) && done {
            finishing = true;
        }
        if !done && matches!(step, Step::Create { cidr, .. } if *cidr == plan.cidr) {
            // Nothing more-specific can be created without the prefix-wide binding.
            finishing = false;
        }
        let finished = shared.finished.fetch_add(1, Ordering::SeqCst) + 1;
        (shared.progress)(Progress {
            finished,
            total: shared.total,
            prefix: plan.cidr,
            step,
            status: &status,
            restoring: false,
        });
        steps.push(StepReport {
            step: step.clone(),
            status,
        });
    }
    let cascade = match cascade {
        Some(w) if !steps[w].status.is_done() => {
            let restored = restore(api, plan, &steps[..w], shared).await;
            (!restored.is_empty()).then_some(Cascade::Restored { steps: restored })
        }
        Some(_) if finished_anyway => Some(Cascade::Finished),
        Some(_) | None => None,
    };
    PrefixReport {
        id: plan.id.clone(),
        cidr: plan.cidr,
        steps,
        cascade,
    }
}

/// Creates again, with their old services, the more-specific bindings that `cut` (the steps
/// of a cascade before its point of no return) deleted: shortest prefix first, one per CIDR.
/// Each runs whatever happens to the others, since each binds only its own range.
async fn restore<A: Api>(
    api: &A,
    plan: &PrefixPlan,
    cut: &[StepReport],
    shared: &Shared<'_>,
) -> Vec<StepReport> {
    let mut creates: Vec<(IpNet, &ServiceId)> = cut
        .iter()
        .filter_map(|s| match (&s.step, &s.status) {
            (
                Step::Delete { cidr, service, .. },
                StepStatus::Done {
                    already_gone: false,
                    ..
                },
            ) if *cidr != plan.cidr => Some((*cidr, service)),
            _ => None,
        })
        .collect();
    creates.sort_by_key(|(cidr, _)| (cidr.prefix_len(), *cidr));
    creates.dedup_by_key(|(cidr, _)| *cidr);
    let mut done = Vec::with_capacity(creates.len());
    for (cidr, service) in creates {
        let step = Step::Create {
            cidr,
            service: service.clone(),
        };
        let status = run_tracked(api, plan, &step, shared.stop, true).await;
        (shared.progress)(Progress {
            finished: shared.finished.load(Ordering::SeqCst),
            total: shared.total,
            prefix: plan.cidr,
            step: &step,
            status: &status,
            restoring: true,
        });
        done.push(StepReport { step, status });
    }
    done
}

/// Runs one step, marked in flight while its call is out.
async fn run_tracked<A: Api>(
    api: &A,
    plan: &PrefixPlan,
    step: &Step,
    stop: &Stop,
    restoring: bool,
) -> StepStatus {
    let _flight = stop.start(InFlight {
        prefix: plan.cidr,
        step: step.clone(),
        restoring,
    });
    run_step(api, &plan.id, step).await
}

async fn run_step<A: Api>(api: &A, prefix: &PrefixId, step: &Step) -> StepStatus {
    let started = Instant::now();
    let result = match step {
        Step::Create { cidr, service } => api
            .create_binding(prefix, *cidr, service)
            .await
            .map(|c| (Some(c.binding.id), false, c.confirmed)),
        Step::Delete { binding, .. } => match api.delete_binding(prefix, binding).await {
            Ok(confirmed) => Ok((None, false, confirmed)),
            // Gone only when the API says so (404, code 1002): a 404 from a proxy or for a
            // route the API does not know leaves the binding in place, so the step fails.
            Err(e) if e.is_binding_not_found() => Ok((None, true, Confirmed::Answered)),
            Err(e) => Err(e),
        },
    };
    let elapsed = started.elapsed();
    match result {
        Ok((created, already_gone, confirmed)) => StepStatus::Done {
            elapsed,
            created,
            already_gone,
            read_back: confirmed == Confirmed::ReadBack,
        },
        Err(error) => StepStatus::Failed { elapsed, error },
    }
}

/// A binding the apply created, and its provisioning state as `--wait` last read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watched {
    pub prefix: IpNet,
    pub cidr: IpNet,
    pub service: ServiceId,
    pub binding: BindingId,
    pub state: Seen,
}

/// What the last read of a created binding showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// Not read yet (every read of its prefix failed).
    Unread,
    State(ProvisioningState),
    /// The prefix no longer has it: someone deleted it meanwhile.
    Gone,
}

impl Seen {
    /// Whether waiting for it is over: active, or gone.
    fn settled(&self) -> bool {
        match self {
            Seen::State(state) => state.is_active(),
            Seen::Gone => true,
            Seen::Unread => false,
        }
    }
}

/// How `--wait` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitOutcome {
    /// Every created binding is active (or was deleted by someone else meanwhile).
    Settled,
    /// The time ran out first.
    TimedOut,
    /// A signal ended the wait.
    Interrupted,
}

/// What `--wait` saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waited {
    /// The bindings the apply created, in report order, with their final states.
    pub bindings: Vec<Watched>,
    pub outcome: WaitOutcome,
    pub elapsed: Duration,
    /// How long it was allowed to take.
    pub limit: Duration,
}

impl Waited {
    /// The bindings still waited for (neither active nor gone).
    pub fn pending(&self) -> impl Iterator<Item = &Watched> {
        self.bindings.iter().filter(|b| !b.state.settled())
    }
}

/// One round of `--wait` is read (for progress output).
#[derive(Debug, Clone, Copy)]
pub struct WaitProgress<'a> {
    pub round: usize,
    pub elapsed: Duration,
    /// How long `--wait` waits at most.
    pub limit: Duration,
    pub bindings: &'a [Watched],
    /// Reads of this round that failed (their bindings keep their last state).
    pub errors: &'a [ApiError],
}

impl WaitProgress<'_> {
    /// Created bindings active (or gone) so far.
    pub fn settled(&self) -> usize {
        self.bindings.iter().filter(|b| b.state.settled()).count()
    }
}

/// The pause before round `round + 1` while `prefixes` prefixes are still waited for: 1 s,
/// 2 s, 4 s … up to a minute, and at least a second per prefix, so polling never takes more
/// than half of the default request budget (600 requests per 5 minutes).
pub fn poll_interval(round: usize, prefixes: usize) -> Duration {
    let exp = u32::try_from(round.saturating_sub(1))
        .unwrap_or(u32::MAX)
        .min(6);
    let backoff = Duration::from_secs(1u64 << exp).min(Duration::from_secs(60));
    backoff.max(Duration::from_secs(
        u64::try_from(prefixes).unwrap_or(u64::MAX),
    ))
}

/// After the steps: reads back the prefixes whose bindings `report` created until every one
/// of those bindings is active, `limit` has passed, or `stop` is raised. One `GET bindings`
/// per prefix still waited for per round, up to `concurrency` at once; a failed read keeps
/// its bindings' last state and is tried again next round.
pub async fn wait<A: Api>(
    api: &A,
    report: &ApplyReport,
    limit: Duration,
    concurrency: usize,
    stop: &Stop,
    progress: &(dyn Fn(WaitProgress<'_>) + Send + Sync),
) -> Waited {
    let started = tokio::time::Instant::now();
    let deadline = started + limit;
    let mut bindings: Vec<Watched> = Vec::new();
    let mut ids: BTreeMap<IpNet, PrefixId> = BTreeMap::new();
    for prefix in &report.prefixes {
        let created = prefix.steps.iter().chain(prefix.restored());
        for s in created {
            if let (
                Step::Create { cidr, service },
                StepStatus::Done {
                    created: Some(id), ..
                },
            ) = (&s.step, &s.status)
            {
                ids.insert(prefix.cidr, prefix.id.clone());
                bindings.push(Watched {
                    prefix: prefix.cidr,
                    cidr: *cidr,
                    service: service.clone(),
                    binding: id.clone(),
                    state: Seen::Unread,
                });
            }
        }
    }
    let mut round = 0;
    let outcome = loop {
        round += 1;
        let pending: Vec<(IpNet, PrefixId)> = ids
            .iter()
            .filter(|(cidr, _)| {
                bindings
                    .iter()
                    .any(|b| b.prefix == **cidr && !b.state.settled())
            })
            .map(|(cidr, id)| (*cidr, id.clone()))
            .collect();
        if pending.is_empty() {
            break WaitOutcome::Settled;
        }
        let reads: Vec<(IpNet, Result<Vec<crate::model::Binding>, ApiError>)> =
            futures::stream::iter(
                pending
                    .iter()
                    .map(|(cidr, id)| async move { (*cidr, api.list_bindings(id).await) }),
            )
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        let mut errors = Vec::new();
        for (cidr, read) in reads {
            match read {
                Ok(live) => {
                    for b in bindings.iter_mut().filter(|b| b.prefix == cidr) {
                        b.state = match live.iter().find(|l| l.id == b.binding) {
                            Some(l) => Seen::State(l.state.clone()),
                            None => Seen::Gone,
                        };
                    }
                }
                Err(e) => errors.push(e),
            }
        }
        let now = tokio::time::Instant::now();
        progress(WaitProgress {
            round,
            elapsed: now - started,
            limit,
            bindings: &bindings,
            errors: &errors,
        });
        if bindings.iter().all(|b| b.state.settled()) {
            break WaitOutcome::Settled;
        }
        if stop.is_interrupted() {
            break WaitOutcome::Interrupted;
        }
        if now >= deadline {
            break WaitOutcome::TimedOut;
        }
        let still = pending.len();
        let pause = poll_interval(round, still).min(deadline - now);
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = stop.interrupted() => break WaitOutcome::Interrupted,
        }
    };
    Waited {
        bindings,
        outcome,
        elapsed: started.elapsed(),
        limit,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    trait Act {
        fn action_hold(self) -> Self;
        fn action(self, action: FaultAction) -> Self;
    }

    impl Act for FaultRule {
        fn action_hold(self) -> Self {
            self.action(FaultAction::Hold)
        }

        fn action(mut self, action: FaultAction) -> Self {
            self.action = action;
            self
        }
    }
    use crate::api::Route;
    use crate::emulator::{
        Account, Emulator, EmulatorOptions, FaultAction, FaultMethod, FaultRule, default_services,
    };
    use crate::model::{
        AccountId, Binding, DesiredBinding, DesiredPrefix, Location, Prefix, ProvisioningState,
        ServiceId, StateFile,
    };
    use crate::resolve::resolve;

    const ACCOUNT: &str = "023e105f4ecef8ad9ca31a8372d0c353";

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn service(name: &str) -> ServiceId {
        default_services()
            .into_iter()
            .find(|s| s.name == name)
            .unwrap()
            .id
    }

    /// Two prefixes, each live with a Magic Transit prefix-wide binding and a CDN /29.
    fn emulator() -> Emulator {
        let mut account = Account::new(AccountId::new(ACCOUNT).unwrap(), default_services());
        for i in 0..2 {
            let id = PrefixId::new(format!("p{i}")).unwrap();
            account
                .add_prefix(Prefix {
                    id: id.clone(),
                    cidr: net(&format!("10.{i}.0.0/24")),
                    description: None,
                })
                .unwrap();
            for (n, (cidr, svc)) in [("0/24", "Magic Transit"), ("8/29", "CDN")]
                .iter()
                .enumerate()
            {
                account
                    .insert_binding(
                        &id,
                        Binding {
                            id: BindingId::new(format!("b{i}{n}")).unwrap(),
                            cidr: net(&format!("10.{i}.0.{cidr}")),
                            service_id: service(svc),
                            service_name: None,
                            state: ProvisioningState::Active,
                        },
                    )
                    .unwrap();
            }
        }
        Emulator::new(account, EmulatorOptions::new("t"))
    }

    /// Desired: in each prefix, drop the /29, add a CDN /28 and a Spectrum /30.
    fn desired() -> StateFile {
        let b = |cidr: String, service: &str| DesiredBinding {
            cidr: net(&cidr),
            service: service.into(),
            id: None,
            state: None,
            location: Location::default(),
        };
        StateFile {
            prefixes: (0..2)
                .map(|i| DesiredPrefix {
                    cidr: net(&format!("10.{i}.0.0/24")),
                    id: None,
                    ignore: Vec::new(),
                    bindings: vec![
                        b(format!("10.{i}.0.0/24"), "Magic Transit"),
                        b(format!("10.{i}.0.32/28"), "CDN"),
                        b(format!("10.{i}.0.64/30"), "Spectrum"),
                    ],
                    location: Location::default(),
                })
                .collect(),
            ..StateFile::default()
        }
    }

    async fn plan_for(api: &crate::emulator::InProcess) -> Plan {
        let resolved = resolve(api, &desired(), &[], 8).await.unwrap();
        crate::plan::plan(AccountId::new(ACCOUNT).unwrap(), &resolved.prefixes).unwrap()
    }

    fn statuses(report: &ApplyReport) -> Vec<Vec<&'static str>> {
        report
            .prefixes
            .iter()
            .map(|p| {
                p.steps
                    .iter()
                    .map(|s| match s.status {
                        StepStatus::Done { .. } => "done",
                        StepStatus::Failed { .. } => "failed",
                        StepStatus::NotRun => "not run",
                    })
                    .collect()
            })
            .collect()
    }

    #[tokio::test]
    async fn applies_every_step_then_nothing_remains() {
        let em = emulator();
        let api = em.in_process(AccountId::new(ACCOUNT).unwrap());
        let plan = plan_for(&api).await;
        assert_eq!(plan.summary().steps, 6);
        let seen = Mutex::new(Vec::new());
        let report = apply(&api, &plan, 2, &Stop::default(), &|p| {
            seen.lock().unwrap().push((p.finished, p.total));
        })
        .await;
        assert_eq!(statuses(&report), [["done"; 3], ["done"; 3]]);
        assert!(!report.failed() && !report.interrupted);
        let mut seen = seen.into_inner().unwrap();
        seen.sort();
        assert_eq!(seen, (1..=6).map(|n| (n, 6)).collect::<Vec<_>>());
        // Created ids are reported.
        let StepStatus::Done { created, .. } = &report.prefixes[0].steps[0].status else {
            panic!()
        };
        assert!(created.is_some());
        assert_eq!(plan_for(&api).await.summary().steps, 0);
    }

    #[tokio::test]
    async fn stops_at_the_first_failure_and_resumes_by_replanning() {
        let em = emulator();
        let api = em.in_process(AccountId::new(ACCOUNT).unwrap());
        let plan = plan_for(&api).await;
        // The second create of the first prefix fails: the first matching rule lets one
        // request through untouched, the next answers 500.
        let create_in_p0 = |action| {
            FaultRule::new(action)
                .method(FaultMethod::Post)
                .path_contains("/prefixes/p0/")
        };
        em.add_fault(create_in_p0(FaultAction::Delay { millis: 0 }));
        em.add_fault(create_in_p0(FaultAction::status(500)));
        let report = apply(&api, &plan, 1, &Stop::default(), &|_| {}).await;
        assert_eq!(
            statuses(&report),
            [vec!["done", "failed", "not run"], vec!["not run"; 3]]
        );
        assert!(report.failed() && !report.interrupted);
        let StepStatus::Failed { error, .. } = &report.prefixes[0].steps[1].status else {
            panic!()
        };
        assert_eq!(error.status(), Some(500));
        assert_eq!(
            report.counts(),
            ApplyCounts {
                done: 1,
                failed: 1,
                not_run: 4
            }
        );
        // No call was made for the steps that did not run.
        assert_eq!(em.request_counts().get(Route::CreateBinding), 2);
        assert_eq!(em.request_counts().get(Route::DeleteBinding), 0);

        // Re-planning shows exactly the rest, and applying it finishes the work.
        let rest = plan_for(&api).await;
        assert_eq!(rest.summary().steps, 5);
        let report = apply(&api, &rest, 1, &Stop::default(), &|_| {}).await;
        assert!(!report.failed());
        assert_eq!(plan_for(&api).await.summary().steps, 0);
    }

    #[tokio::test]
    async fn a_rule_the_api_enforces_fails_the_step_with_its_code() {
        let em = emulator();
        let api = em.in_process(AccountId::new(ACCOUNT).unwrap());
        let mut plan = plan_for(&api).await;
        // A step the API refuses: deleting the prefix-wide binding under more-specific ones.
        let p0 = &mut plan.prefixes[0];
        p0.steps.insert(
            0,
            Step::Delete {
                binding: BindingId::new("b00").unwrap(),
                cidr: net("10.0.0.0/24"),
                service: service("Magic Transit"),
            },
        );
        let report = apply(&api, &plan, 1, &Stop::default(), &|_| {}).await;
        let StepStatus::Failed { error, .. } = &report.prefixes[0].steps[0].status else {
            panic!("{report:?}")
        };
        assert_eq!(error.status(), Some(400));
        assert_eq!(
            error.codes(),
            vec![crate::api::error::codes::UNSUPPORTED_BINDING]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_step_whose_answer_was_lost_is_done_and_says_it_was_read_back() {
        let em = emulator();
        let api = crate::api::Retrying::new(
            em.in_process(AccountId::new(ACCOUNT).unwrap()),
            crate::api::RetryPolicy::default(),
        );
        let plan = plan_for(api.inner()).await;
        // p0: create /28, create /30, delete /29; the first create's and the delete's answers
        // are lost after the emulator did them.
        for method in [FaultMethod::Post, FaultMethod::Delete] {
            em.add_fault(
                FaultRule::new(FaultAction::DropAfterProcessing)
                    .method(method)
                    .path_contains("/prefixes/p0/"),
            );
        }
        let report = apply(&api, &plan, 1, &Stop::default(), &|_| {}).await;
        assert_eq!(statuses(&report), [["done"; 3], ["done"; 3]]);
        let read_back: Vec<bool> = report.prefixes[0]
            .steps
            .iter()
            .map(|s| matches!(s.status, StepStatus::Done { read_back, .. } if read_back))
            .collect();
        assert_eq!(read_back, [true, false, true]);
        let StepStatus::Done { created, .. } = &report.prefixes[0].steps[0].status else {
            panic!()
        };
        assert!(created.is_some(), "the adopted binding's id is reported");
        // Each write was sent once; nothing remains to do.
        assert_eq!(em.request_counts().get(Route::CreateBinding), 4);
        assert_eq!(em.request_counts().get(Route::DeleteBinding), 2);
        assert_eq!(plan_for(api.inner()).await.summary().steps, 0);
    }

    #[tokio::test]
    async fn a_delete_of_a_binding_already_gone_counts_as_done() {
        let em = emulator();
        let api = em.in_process(AccountId::new(ACCOUNT).unwrap());
        let plan = plan_for(&api).await;
        // Someone else deleted 10.0.0.8/29 after the plan was made.
        api.delete_binding(
            &PrefixId::new("p0").unwrap(),
            &BindingId::new("b01").unwrap(),
        )
        .await
        .unwrap();
        let report = apply(&api, &plan, 1, &Stop::default(), &|_| {}).await;
        assert!(!report.failed());
        let last = report.prefixes[0].steps.last().unwrap();
        assert!(
            matches!(
                last.status,
                StepStatus::Done {
                    already_gone: true,
                    ..
                }
            ),
            "{last:?}"
        );
    }

    #[tokio::test]
    async fn a_delete_answered_404_other_than_by_the_api_fails_the_step() {
        let no_route = FaultAction::Status {
            status: 404,
            retry_after_secs: None,
            code: Some(crate::api::error::codes::UNKNOWN_ROUTE),
            message: Some("No route for that URI".into()),
        };
        let proxy_page = FaultAction::Malformed { status: Some(404) };
        for action in [no_route, proxy_page] {
            let em = emulator();
            let api = em.in_process(AccountId::new(ACCOUNT).unwrap());
            let plan = plan_for(&api).await;
            em.add_fault(FaultRule::new(action.clone()).method(FaultMethod::Delete));
            let report = apply(&api, &plan, 1, &Stop::default(), &|_| {}).await;
            // p0: create /28, create /30, delete /29: the delete fails, the binding stays.
            assert_eq!(
                statuses(&report),
                [vec!["done", "done", "failed"], vec!["not run"; 3]],
                "{action:?}"
            );
            let StepStatus::Failed { error, .. } = &report.prefixes[0].steps[2].status else {
                panic!("{report:?}")
            };
            assert_eq!(error.status(), Some(404), "{action:?}");
            assert!(!error.is_binding_not_found(), "{action:?}");
            // The binding is still there, so a new plan still deletes it.
            let rest = plan_for(&api).await;
            assert!(
                rest.prefixes[0].steps.iter().any(|s| matches!(
                    s,
                    Step::Delete { binding, .. } if binding.as_str() == "b01"
                )),
                "{rest:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_replace_is_finished_even_when_interrupted_between_its_halves() {
        let em = emulator();
        let api = em.in_process(AccountId::new(ACCOUNT).unwrap());
        // 10.0.0.8/29 moves from CDN to Spectrum: delete then create.
        let mut f = desired();
        f.prefixes.truncate(1);
        f.prefixes[0].bindings = vec![
            f.prefixes[0].bindings[0].clone(),
            DesiredBinding {
                cidr: net("10.0.0.8/29"),
                service: "Spectrum".into(),
                id: None,
                state: None,
                location: Location::default(),
            },
        ];
        let resolved = resolve(&api, &f, &[], 8).await.unwrap();
        let plan = crate::plan::plan(AccountId::new(ACCOUNT).unwrap(), &resolved.prefixes).unwrap();
        assert_eq!(plan.prefixes[0].steps.len(), 2);
        let stop = Stop::default();
        let report = apply(&api, &plan, 1, &stop, &|_| stop.interrupt()).await;
        assert_eq!(statuses(&report), [vec!["done", "done"]]);
        assert!(!report.interrupted, "everything ran: {report:?}");
    }

    #[tokio::test]
    async fn an_interrupt_starts_no_new_step() {
        let em = emulator();
        let api = em.in_process(AccountId::new(ACCOUNT).unwrap());
        let plan = plan_for(&api).await;
        let stop = Stop::default();
        // Interrupt as soon as the first step finishes.
        let report = apply(&api, &plan, 1, &stop, &|_| stop.interrupt()).await;
        assert_eq!(
            statuses(&report),
            [vec!["done", "not run", "not run"], vec!["not run"; 3]]
        );
        assert!(report.interrupted && !report.failed());
    }

    /// An account with one prefix, `10.9.0.0/24`, holding `bindings` (CIDR, service name), and
    /// a second one, `10.8.0.0/24`, with a Magic Transit prefix-wide binding alone.
    fn account(bindings: &[(&str, &str)], options: EmulatorOptions) -> Emulator {
        let mut account = Account::new(AccountId::new(ACCOUNT).unwrap(), default_services());
        for (id, cidr) in [("p9", "10.9.0.0/24"), ("p8", "10.8.0.0/24")] {
            account
                .add_prefix(Prefix {
                    id: PrefixId::new(id).unwrap(),
                    cidr: net(cidr),
                    description: None,
                })
                .unwrap();
        }
        let mut insert = |prefix: &str, n: usize, cidr: &str, svc: &str| {
            account
                .insert_binding(
                    &PrefixId::new(prefix).unwrap(),
                    Binding {
                        id: BindingId::new(format!("{prefix}b{n}")).unwrap(),
                        cidr: net(cidr),
                        service_id: service(svc),
                        service_name: None,
                        state: ProvisioningState::Active,
                    },
                )
                .unwrap();
        };
        for (n, (cidr, svc)) in bindings.iter().enumerate() {
            insert("p9", n, cidr, svc);
        }
        insert("p8", 0, "10.8.0.0/24", "Magic Transit");
        Emulator::new(account, options)
    }

    /// The live bindings of 10.9.0.0/24 before the cascade.
    const BEFORE: [(&str, &str); 4] = [
        ("10.9.0.0/24", "Magic Transit"),
        ("10.9.0.8/29", "Spectrum"),
        ("10.9.0.16/28", "Spectrum"),
        ("10.9.0.64/27", "Spectrum"),
    ];

    /// The same more-specific bindings under a CDN prefix-wide binding: a cascade of 8 steps,
    /// delete /29, /28, /27, /24, create /24, /27, /28, /29. With `other`, 10.8.0.0/24 gets a
    /// CDN /29 too (one create).
    fn cascade_file(other: bool) -> StateFile {
        let b = |cidr: &str, service: &str| DesiredBinding {
            cidr: net(cidr),
            service: service.into(),
            id: None,
            state: None,
            location: Location::default(),
        };
        let mut prefixes = vec![DesiredPrefix {
            cidr: net("10.9.0.0/24"),
            id: None,
            ignore: Vec::new(),
            bindings: vec![
                b("10.9.0.0/24", "CDN"),
                b("10.9.0.8/29", "Spectrum"),
                b("10.9.0.16/28", "Spectrum"),
                b("10.9.0.64/27", "Spectrum"),
            ],
            location: Location::default(),
        }];
        if other {
            prefixes.push(DesiredPrefix {
                cidr: net("10.8.0.0/24"),
                id: None,
                ignore: Vec::new(),
                bindings: vec![b("10.8.0.0/24", "Magic Transit"), b("10.8.0.8/29", "CDN")],
                location: Location::default(),
            });
        }
        StateFile {
            prefixes,
            ..StateFile::default()
        }
    }

    async fn plan_of(api: &crate::emulator::InProcess, file: &StateFile) -> Plan {
        let resolved = resolve(api, file, &[], 8).await.unwrap();
        crate::plan::plan(AccountId::new(ACCOUNT).unwrap(), &resolved.prefixes).unwrap()
    }

    /// `(CIDR, service name)` of every binding of 10.9.0.0/24, by CIDR.
    fn bound(em: &Emulator) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = em
            .snapshot()
            .prefixes
            .into_iter()
            .filter(|p| p.cidr == net("10.9.0.0/24"))
            .flat_map(|p| p.bindings)
            .map(|b| (b.cidr.to_string(), b.service))
            .collect();
        out.sort();
        out
    }

    fn expect(bindings: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = bindings
            .iter()
            .map(|(c, s)| ((*c).to_owned(), (*s).to_owned()))
            .collect();
        out.sort();
        out
    }

    /// Runs `work` until a request is held by a `hold` fault, then calls `when_held` and
    /// releases it.
    async fn on_hold<T>(
        em: &Emulator,
        work: impl std::future::Future<Output = T>,
        when_held: impl FnOnce(),
    ) -> T {
        let control = async {
            while em.held().held == 0 {
                tokio::task::yield_now().await;
            }
            when_held();
            em.release(1);
        };
        let (out, ()) = tokio::join!(work, control);
        out
    }

    fn delete(prefix: &str) -> FaultRule {
        FaultRule::new(FaultAction::Delay { millis: 0 })
            .method(FaultMethod::Delete)
            .path_contains(format!("/prefixes/{prefix}/"))
    }

    fn post(prefix: &str) -> FaultRule {
        FaultRule::new(FaultAction::Delay { millis: 0 })
            .method(FaultMethod::Post)
            .path_contains(format!("/prefixes/{prefix}/"))
    }

    fn restored(report: &ApplyReport) -> Vec<(String, &'static str)> {
        report.prefixes[0]
            .restored()
            .iter()
            .map(|s| {
                let status = if s.status.is_done() { "done" } else { "failed" };
                (s.step.cidr().to_string(), status)
            })
            .collect()
    }

    #[tokio::test]
    async fn a_signal_before_the_prefix_wide_delete_restores_what_the_cascade_deleted() {
        let em = account(&BEFORE, EmulatorOptions::new("t"));
        let api = em.in_process(AccountId::new(ACCOUNT).unwrap());
        let plan = plan_of(&api, &cascade_file(false)).await;
        assert_eq!(plan.prefixes[0].steps.len(), 8, "{plan:?}");
        // The second delete (10.9.0.16/28) is in flight when the signal comes.
        em.add_fault(delete("p9"));
        em.add_fault(delete("p9").action_hold());
        let stop = Stop::default();
        let report = on_hold(&em, apply(&api, &plan, 1, &stop, &|_| {}), || {
            let in_flight = stop.in_flight();
            assert_eq!(in_flight.len(), 1);
            assert_eq!(in_flight[0].step.cidr(), net("10.9.0.16/28"));
            stop.interrupt();
        })
        .await;
        let mut want = vec!["done", "done"];
        want.extend(["not run"; 6]);
        assert_eq!(statuses(&report), [want]);
        // Both deleted more-specific bindings are back, shortest first, with their services.
        assert_eq!(
            restored(&report),
            [
                ("10.9.0.16/28".into(), "done"),
                ("10.9.0.8/29".into(), "done")
            ]
        );
        assert_eq!(bound(&em), expect(&BEFORE));
        assert!(report.interrupted && !report.failed(), "{report:?}");
        assert!(stop.in_flight().is_empty());
        // Nothing remains of the cut cascade: a new plan is the whole cascade again (the
        // restored bindings have new ids).
        let shape = |plan: &Plan| -> Vec<(bool, IpNet)> {
            plan.prefixes[0]
                .steps
                .iter()
                .map(|s| (matches!(s, Step::Create { .. }), s.cidr()))
                .collect()
        };
        assert_eq!(
            shape(&plan_of(&api, &cascade_file(false)).await),
            shape(&plan)
        );
    }

    #[tokio::test]
    async fn a_signal_after_the_prefix_wide_delete_finishes_the_cascade() {
        let em = account(&BEFORE, EmulatorOptions::new("t"));
        let api = em.in_process(AccountId::new(ACCOUNT).unwrap());
        let plan = plan_of(&api, &cascade_file(false)).await;
        // The create of the new prefix-wide binding is in flight when the signal comes.
        em.add_fault(post("p9").action_hold());
        let stop = Stop::default();
        let report = on_hold(&em, apply(&api, &plan, 1, &stop, &|_| {}), || {
            assert_eq!(stop.in_flight()[0].step.cidr(), net("10.9.0.0/24"));
            stop.interrupt();
        })
        .await;
        assert_eq!(statuses(&report), [["done"; 8]]);
        assert_eq!(report.prefixes[0].cascade, Some(Cascade::Finished));
        assert!(report.interrupted && !report.failed());
        assert_eq!(
            bound(&em),
            expect(&[
                ("10.9.0.0/24", "CDN"),
                ("10.9.0.8/29", "Spectrum"),
                ("10.9.0.16/28", "Spectrum"),
                ("10.9.0.64/27", "Spectrum"),
            ])
        );
    }

    #[tokio::test]
    async fn a_failure_elsewhere_restores_a_cascade_cut_before_its_prefix_wide_delete() {
        let em = account(&BEFORE, EmulatorOptions::new("t"));
        let api = em.in_process(AccountId::new(ACCOUNT).unwrap());
        let plan = plan_of(&api, &cascade_file(true)).await;
        // 10.9.0.0/24's first delete is held while 10.8.0.0/24's create fails.
        em.add_fault(delete("p9").action_hold());
        em.add_fault(post("p8").action(FaultAction::status(500)));
        let failed = AtomicBool::new(false);
        let on_progress = |p: Progress<'_>| {
            if !p.status.is_done() {
                failed.store(true, Ordering::SeqCst);
            }
        };
        let control = async {
            while em.held().held == 0 || !failed.load(Ordering::SeqCst) {
                tokio::task::yield_now().await;
            }
            em.release(1);
        };
        let stop = Stop::default();
        let (report, ()) = tokio::join!(apply(&api, &plan, 2, &stop, &on_progress), control);
        let mut want = vec!["done"];
        want.extend(["not run"; 7]);
        assert_eq!(statuses(&report), [want, vec!["failed"]]);
        assert_eq!(restored(&report), [("10.9.0.8/29".into(), "done")]);
        assert_eq!(bound(&em), expect(&BEFORE));
        assert!(report.failed() && !report.interrupted);
    }

    #[tokio::test]
    async fn a_failed_delete_in_the_cascade_restores_what_it_deleted() {
        let em = account(&BEFORE, EmulatorOptions::new("t"));
        let api = em.in_process(AccountId::new(ACCOUNT).unwrap());
        let plan = plan_of(&api, &cascade_file(false)).await;
        em.add_fault(delete("p9"));
        em.add_fault(delete("p9"));
        em.add_fault(delete("p9").action(FaultAction::status(500)));
        let report = apply(&api, &plan, 1, &Stop::default(), &|_| {}).await;
        let mut want = vec!["done", "done", "failed"];
        want.extend(["not run"; 5]);
        assert_eq!(statuses(&report), [want]);
        assert_eq!(
            restored(&report),
            [
                ("10.9.0.16/28".into(), "done"),
                ("10.9.0.8/29".into(), "done")
            ]
        );
        assert_eq!(bound(&em), expect(&BEFORE));
        assert!(report.failed() && !report.prefixes[0].unbound());
    }

    #[tokio::test]
    async fn a_failed_more_specific_create_does_not_stop_the_rest_of_the_cascade() {
        let em = account(&BEFORE, EmulatorOptions::new("t"));
        let api = em.in_process(AccountId::new(ACCOUNT).unwrap());
        let plan = plan_of(&api, &cascade_file(false)).await;
        // The new prefix-wide binding is created; the /27 (the first more-specific) fails.
        em.add_fault(post("p9"));
        em.add_fault(post("p9").action(FaultAction::status(500)));
        let report = apply(&api, &plan, 1, &Stop::default(), &|_| {}).await;
        let mut want = vec!["done"; 5];
        want.extend(["failed", "done", "done"]);
        assert_eq!(statuses(&report), [want]);
        assert_eq!(report.prefixes[0].cascade, Some(Cascade::Finished));
        assert!(report.failed() && !report.prefixes[0].unbound());
        assert_eq!(
            bound(&em),
            expect(&[
                ("10.9.0.0/24", "CDN"),
                ("10.9.0.8/29", "Spectrum"),
                ("10.9.0.16/28", "Spectrum"),
            ])
        );
    }

    #[tokio::test]
    async fn a_failed_prefix_wide_create_leaves_the_prefix_unbound_and_says_so() {
        let em = account(&BEFORE, EmulatorOptions::new("t"));
        let api = em.in_process(AccountId::new(ACCOUNT).unwrap());
        let plan = plan_of(&api, &cascade_file(false)).await;
        em.add_fault(post("p9").action(FaultAction::status(500)));
        let report = apply(&api, &plan, 1, &Stop::default(), &|_| {}).await;
        let mut want = vec!["done"; 4];
        want.push("failed");
        want.extend(["not run"; 3]);
        assert_eq!(statuses(&report), [want]);
        assert!(report.prefixes[0].unbound());
        assert!(bound(&em).is_empty());
        // Nothing more-specific was tried without the prefix-wide binding.
        assert_eq!(em.request_counts().get(Route::CreateBinding), 1);
    }

    /// 10.9.0.0/24 gains two CDN bindings, 10.8.0.0/24 one.
    fn creating() -> StateFile {
        let mut f = cascade_file(true);
        f.prefixes[0].bindings = vec![
            DesiredBinding {
                cidr: net("10.9.0.0/24"),
                service: "Magic Transit".into(),
                id: None,
                state: None,
                location: Location::default(),
            },
            DesiredBinding {
                cidr: net("10.9.0.8/29"),
                service: "Spectrum".into(),
                id: None,
                state: None,
                location: Location::default(),
            },
            DesiredBinding {
                cidr: net("10.9.0.16/28"),
                service: "Spectrum".into(),
                id: None,
                state: None,
                location: Location::default(),
            },
        ];
        f
    }

    fn provisioning(delay: Duration) -> EmulatorOptions {
        let mut options = EmulatorOptions::new("t");
        options.provisioning_delay = delay;
        options
    }

    #[tokio::test(start_paused = true)]
    async fn wait_reads_each_prefix_once_a_round_until_every_created_binding_is_active() {
        let em = account(
            &[("10.9.0.0/24", "Magic Transit")],
            provisioning(Duration::from_secs(90)),
        );
        let api = em.in_process(AccountId::new(ACCOUNT).unwrap());
        let plan = plan_of(&api, &creating()).await;
        let report = apply(&api, &plan, 8, &Stop::default(), &|_| {}).await;
        assert_eq!(report.counts().done, 3);
        em.reset_request_counts();
        let rounds = Mutex::new(Vec::new());
        let waited = wait(
            &api,
            &report,
            Duration::from_secs(3600),
            8,
            &Stop::default(),
            &|p| {
                rounds
                    .lock()
                    .unwrap()
                    .push((p.round, p.settled(), p.elapsed.as_secs()));
            },
        )
        .await;
        assert_eq!(waited.outcome, WaitOutcome::Settled);
        assert!(
            waited
                .bindings
                .iter()
                .all(|b| b.state == Seen::State(ProvisioningState::Active))
        );
        assert_eq!(waited.bindings.len(), 3);
        // Rounds 2 s (two prefixes: a second each), 2 s, 4 s … apart, at most a minute, until
        // 90 s have passed.
        let rounds = rounds.into_inner().unwrap();
        assert_eq!(
            rounds,
            [
                (1, 0, 0),
                (2, 0, 2),
                (3, 0, 4),
                (4, 0, 8),
                (5, 0, 16),
                (6, 0, 32),
                (7, 0, 64),
                (8, 3, 124)
            ]
        );
        // One read per prefix and round.
        assert_eq!(em.request_counts().get(Route::ListBindings), 16);
        assert_eq!(em.request_counts().total, 16);
    }

    #[tokio::test(start_paused = true)]
    async fn wait_stops_at_its_limit_with_what_is_still_provisioning() {
        let em = account(
            &[("10.9.0.0/24", "Magic Transit")],
            provisioning(Duration::from_secs(36_000)),
        );
        let api = em.in_process(AccountId::new(ACCOUNT).unwrap());
        let plan = plan_of(&api, &creating()).await;
        let report = apply(&api, &plan, 8, &Stop::default(), &|_| {}).await;
        let waited = wait(
            &api,
            &report,
            Duration::from_secs(30),
            8,
            &Stop::default(),
            &|_| {},
        )
        .await;
        assert_eq!(waited.outcome, WaitOutcome::TimedOut);
        assert_eq!(waited.elapsed, Duration::from_secs(30));
        assert_eq!(waited.pending().count(), 3);
        assert!(
            waited
                .bindings
                .iter()
                .all(|b| b.state == Seen::State(ProvisioningState::Provisioning))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn wait_ends_on_a_signal_and_on_bindings_deleted_meanwhile() {
        let em = account(
            &[("10.9.0.0/24", "Magic Transit")],
            provisioning(Duration::from_secs(36_000)),
        );
        let api = em.in_process(AccountId::new(ACCOUNT).unwrap());
        let plan = plan_of(&api, &creating()).await;
        let report = apply(&api, &plan, 8, &Stop::default(), &|_| {}).await;
        let stop = Stop::default();
        let waited = wait(&api, &report, Duration::from_secs(3600), 8, &stop, &|p| {
            if p.round == 2 {
                stop.interrupt();
            }
        })
        .await;
        assert_eq!(waited.outcome, WaitOutcome::Interrupted);
        assert_eq!(waited.elapsed, Duration::from_secs(2));

        // Someone deletes what was created: nothing is left to wait for.
        for b in waited.bindings.iter().rev() {
            let prefix = report.prefixes.iter().find(|p| p.cidr == b.prefix).unwrap();
            api.delete_binding(&prefix.id, &b.binding).await.unwrap();
        }
        let waited = wait(
            &api,
            &report,
            Duration::from_secs(3600),
            8,
            &Stop::default(),
            &|_| {},
        )
        .await;
        assert_eq!(waited.outcome, WaitOutcome::Settled);
        assert!(waited.bindings.iter().all(|b| b.state == Seen::Gone));
    }

    #[test]
    fn polling_slows_down_and_spreads_over_prefixes() {
        assert_eq!(poll_interval(1, 1), Duration::from_secs(1));
        assert_eq!(poll_interval(3, 1), Duration::from_secs(4));
        assert_eq!(poll_interval(100, 1), Duration::from_secs(60));
        assert_eq!(poll_interval(1, 30), Duration::from_secs(30));
        assert_eq!(poll_interval(100, 500), Duration::from_secs(500));
    }
}
