//! Carrying out a plan: its steps, in order, through the [`Api`] trait.
//!
//! Within a prefix the steps run one at a time in plan order; prefixes run in parallel up to
//! the concurrency limit. On the first failure that prefix stops, no new step starts anywhere,
//! and steps already in flight finish; the same happens when the caller raises the [`Stop`]
//! signal (Ctrl-C). One exception: the create of a replace whose delete is done still runs, so
//! no range is left unbound for hours because of a failure elsewhere. The result is an [`ApplyReport`] saying what was done, what failed and
//! what did not run. Apply is idempotent by re-planning: a new plan shows exactly the rest.
//! This module decides nothing about output: progress goes to a callback.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use ipnet::IpNet;

use crate::api::{Api, ApiError, Confirmed};
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
                })
                .collect(),
            interrupted: false,
        }
    }

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
    let mut steps: Vec<StepReport> = Vec::with_capacity(plan.steps.len());
    for step in &plan.steps {
        // A replace is not left half-done because another prefix failed or Ctrl-C came: its
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
        if shared.halted() && !completes_replace {
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

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
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
}
