//! The performance targets of SPEC §9, measured: one line per target with the figure, the
//! bound, the ratio measured/bound and PASS or FAIL.
//!
//! Run with `cargo bench --bench perf` (a release build; the run takes under a minute).
//! Positional arguments select groups by name: `cargo bench --bench perf -- calls apply` runs
//! only those (`calls`, `plan`, `apply`, `apply6`, `pacing`, `planner`, `rehearse`). The exit
//! status is 1 when a
//! target fails. Figures are wall time for the HTTP targets (they wait on latency) and for the
//! planner (which uses every core); the breakdown and the rehearsal report the median CPU
//! time of the thread, which a busy machine inflates less.
//!
//! What it measures:
//! - `calls`: the API calls `plan` makes over 64 prefixes, counted by the emulator per route
//!   over real HTTP on 127.0.0.1: exactly P + 2, or P + 1 when every prefix pins its id.
//! - `plan`: the wall time of a plan (resolve, plan, rehearse) over 64 prefixes through the real
//!   [`HttpClient`] against the emulator with 100 ms of latency per call, concurrency 8, against
//!   the latency bound (1 + 1 + 64/8) × 100 ms, within 1.25×.
//! - `apply`: the wall time of an apply of 64 prefixes × 4 steps (2 creates and 1 replace each)
//!   under the same latency: the steps against (64/8) × 4 × 100 ms, the whole command (reads,
//!   plan, rehearsal, steps) against that plus the reads' bound, within 1.25×. A fresh plan
//!   afterwards must be empty.
//! - `apply6`: the same for 64 prefixes × 6 steps (2 creates and 2 replaces each), whole
//!   command against 9 rounds of reads + 8 rounds × 6 steps = 5.7 s, within 1.05×: retries and
//!   pacing cost nothing when nothing fails (450 requests, under the default budget of 600).
//! - `pacing`: a plan, then an apply (a fresh client each, as two runs of svcbind), of 50
//!   prefixes × 1 create against an emulator that allows 40 requests per 2 s, with a budget of
//!   36 per 2 s: no request may meet a 429 (counted by the emulator), and the wall time is
//!   reported against the budget's bound (for N requests, ⌊(N − 1) / 36⌋ windows of 2 s each
//!   run), within 1.5×.
//!
//! Every HTTP target goes through what `svcbind` uses: the [`HttpClient`] (which paces itself)
//! wrapped in the retry layer ([`Retrying`]).
//! - `planner`: `plan::plan` (diff, order, impact, fingerprints) in process over 1,000 prefixes
//!   × 256 live and 256 desired bindings, about half of them changing: under 200 ms of wall time
//!   (the planner uses every core for large accounts) and 200 MB of heap. Heap is counted by the global allocator below (current and peak bytes), both for
//!   the planning alone and for the input plus the planning; a breakdown per phase follows.
//! - `rehearse` (no target): the rehearsal of such plans at growing sizes, so its growth shows,
//!   and an estimate for 1,000 prefixes.
//!
//! The `validate` target needs the YAML loader and is measured where that lives.

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use ipnet::IpNet;

use svcbind::api::client::{ClientConfig, HttpClient};
use svcbind::api::credentials::{Credentials, Secret};
use svcbind::api::pace::Pacing;
use svcbind::api::{RetryPolicy, Retrying, Route};
use svcbind::apply::{Progress, Stop, apply};
use svcbind::emulator::{
    Account, CDN_ID, Emulator, EmulatorOptions, MAGIC_TRANSIT_ID, SPECTRUM_ID, default_account_id,
    default_services, seed_prefix_id, serve,
};
use svcbind::model::{
    AccountId, Binding, BindingId, DesiredBinding, DesiredPrefix, Location, MAGIC_TRANSIT,
    ProvisioningState, ServiceId, Services, StateFile,
};
use svcbind::plan::impact::{gaps, impact};
use svcbind::plan::order::order_steps;
use svcbind::plan::rehearse::rehearse;
use svcbind::plan::{Plan, PrefixState, diff, live_fingerprint, plan};
use svcbind::resolve::{ResolveError, resolve};

// ---------------------------------------------------------------------------------------------
// Heap accounting

/// `System`, counting the bytes currently allocated and the highest count since the last reset.
///
/// Counting costs a few atomic operations per allocation, which the planner (millions of
/// allocations) notices: timed runs pause it with [`Counting::uncounted`].
struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static PAUSED: AtomicBool = AtomicBool::new(false);

impl Counting {
    fn allocated(size: usize) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        Self::grew(size);
    }

    /// Runs `f` without counting. Everything `f` allocates must be freed before it returns
    /// (and nothing allocated before freed inside), or the current count goes wrong; the
    /// process is single-threaded while it runs.
    fn uncounted<T>(f: impl FnOnce() -> T) -> T {
        PAUSED.store(true, Ordering::SeqCst);
        let out = f();
        PAUSED.store(false, Ordering::SeqCst);
        out
    }

    fn counting() -> bool {
        !PAUSED.load(Ordering::Relaxed)
    }

    /// Allocations (`alloc`, `alloc_zeroed`; not `realloc`) so far.
    fn allocations() -> usize {
        ALLOCATIONS.load(Ordering::Relaxed)
    }

    fn grew(by: usize) {
        let now = CURRENT.fetch_add(by, Ordering::Relaxed) + by;
        // A plain load first: a new peak is rare, and `fetch_max` is a compare-and-swap loop.
        if now > PEAK.load(Ordering::Relaxed) {
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
    }

    fn shrank(by: usize) {
        CURRENT.fetch_sub(by, Ordering::Relaxed);
    }

    /// Bytes allocated now.
    fn current() -> usize {
        CURRENT.load(Ordering::Relaxed)
    }

    /// The peak since the last reset.
    fn peak() -> usize {
        PEAK.load(Ordering::Relaxed)
    }

    /// Starts a new peak from the current count; returns that count.
    fn reset_peak() -> usize {
        let now = Self::current();
        PEAK.store(now, Ordering::Relaxed);
        now
    }
}

// Safety: every call is forwarded unchanged to `System`, which upholds the `GlobalAlloc`
// contract; the counters only observe sizes and never touch the memory.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // Safety: same layout, same contract as our caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() && Self::counting() {
            Self::allocated(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // Safety: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() && Self::counting() {
            Self::allocated(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // Safety: `ptr` came from this allocator, hence from `System`, with this layout.
        unsafe { System.dealloc(ptr, layout) };
        if Self::counting() {
            Self::shrank(layout.size());
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Safety: as for `dealloc`; `new_size` is checked by our caller.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() && Self::counting() {
            if new_size >= layout.size() {
                Self::grew(new_size - layout.size());
            } else {
                Self::shrank(layout.size() - new_size);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

// ---------------------------------------------------------------------------------------------
// Reporting

/// Collects the result lines and whether any target failed.
#[derive(Default)]
struct Report {
    failed: Vec<String>,
}

impl Report {
    fn verdict(&mut self, label: &str, ok: bool) -> &'static str {
        if ok {
            "PASS"
        } else {
            self.failed.push(label.to_owned());
            "FAIL"
        }
    }

    /// A wall time against a bound, allowed `slack` times the bound.
    fn time(&mut self, label: &str, measured: Duration, bound: Duration, slack: f64, extra: &str) {
        let limit = bound.mul_f64(slack);
        let ratio = measured.as_secs_f64() / bound.as_secs_f64();
        let verdict = self.verdict(label, measured <= limit);
        let allowed = if slack == 1.0 {
            String::new()
        } else {
            format!(" (x{slack} = {})", secs(limit))
        };
        println!(
            "{label}: {}, bound {}{allowed}, ratio {ratio:.2} {verdict}{extra}",
            secs(measured),
            secs(bound),
        );
    }

    /// Bytes against a bound.
    fn bytes(&mut self, label: &str, measured: usize, bound: usize, extra: &str) {
        let ratio = measured as f64 / bound as f64;
        let verdict = self.verdict(label, measured <= bound);
        println!(
            "{label}: {}, bound {}, ratio {ratio:.2} {verdict}{extra}",
            mb(measured),
            mb(bound),
        );
    }

    /// An exact count against the expected one; `detail_ok` is whether its breakdown is right.
    fn count(&mut self, label: &str, measured: u64, expected: u64, detail_ok: bool, detail: &str) {
        let ratio = measured as f64 / expected as f64;
        let verdict = self.verdict(label, detail_ok && measured == expected);
        println!("{label}: {measured} ({detail}), expected {expected}, ratio {ratio:.2} {verdict}");
    }
}

fn secs(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{:.1} ms", d.as_secs_f64() * 1e3)
    } else {
        format!("{:.3} s", d.as_secs_f64())
    }
}

fn mb(bytes: usize) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

// ---------------------------------------------------------------------------------------------
// Building states

const TOKEN: &str = "benchtoken";
/// Prefixes of the HTTP targets.
const HTTP_PREFIXES: usize = 64;
const LATENCY: Duration = Duration::from_millis(100);
const CONCURRENCY: usize = 8;

fn service(id: &str) -> ServiceId {
    ServiceId::new(id).expect("the default catalog's ids are valid")
}

fn desired_binding(cidr: IpNet, service: &str) -> DesiredBinding {
    DesiredBinding {
        cidr,
        service: service.to_owned(),
        id: None,
        state: None,
        location: Location::default(),
    }
}

fn desired_prefix(cidr: IpNet, pin: bool, bindings: Vec<DesiredBinding>) -> DesiredPrefix {
    DesiredPrefix {
        cidr,
        // The id the emulator gives a seeded prefix without one.
        id: pin.then(|| seed_prefix_id(&cidr)),
        ignore: Vec::new(),
        bindings,
        location: Location::default(),
    }
}

/// `198.18.i.0/24` (the benchmarking range holds 512 of them).
fn bench_prefix(i: usize) -> IpNet {
    assert!(i < 512, "198.18.0.0/15 holds 512 /24s");
    let base = u32::from(Ipv4Addr::new(198, 18, 0, 0)) + ((i as u32) << 8);
    IpNet::new(IpAddr::V4(Ipv4Addr::from(base)), 24).expect("/24 is a valid length")
}

/// The `n`-th subnet of length `len` inside `net`.
fn child(net: IpNet, len: u8, n: u128) -> IpNet {
    let shift = u32::from(net.max_prefix_len() - len);
    let addr = match net {
        IpNet::V4(v4) => {
            let offset = u32::try_from(n << shift).expect("the subnet lies inside an IPv4 prefix");
            IpAddr::V4(Ipv4Addr::from(u32::from(v4.network()) + offset))
        }
        IpNet::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6.network()) + (n << shift))),
    };
    IpNet::new(addr, len).expect("a longer length inside the prefix is valid")
}

/// A seed (live) and a desired file of `count` prefixes for the plan and call-count targets.
///
/// Live: `/24` Magic Transit, `.0/26` CDN, `.64/26` CDN, `.128/26` Spectrum.
/// Desired: `/24` Magic Transit, `.0/26` CDN, `.64/26` Spectrum (replace), `.192/26` CDN and
/// `.16/28` Spectrum (creates); `.128/26` goes (delete): five steps per prefix.
fn plan_scenario(count: usize, pin: bool) -> (StateFile, StateFile) {
    let mut seed = StateFile::default();
    let mut desired = StateFile::default();
    for i in 0..count {
        let p = bench_prefix(i);
        seed.prefixes.push(desired_prefix(
            p,
            false,
            vec![
                desired_binding(p, MAGIC_TRANSIT),
                desired_binding(child(p, 26, 0), "CDN"),
                desired_binding(child(p, 26, 1), "CDN"),
                desired_binding(child(p, 26, 2), "Spectrum"),
            ],
        ));
        desired.prefixes.push(desired_prefix(
            p,
            pin,
            vec![
                desired_binding(p, MAGIC_TRANSIT),
                desired_binding(child(p, 26, 0), "CDN"),
                desired_binding(child(p, 28, 1), "Spectrum"),
                desired_binding(child(p, 26, 1), "Spectrum"),
                desired_binding(child(p, 26, 3), "CDN"),
            ],
        ));
    }
    (seed, desired)
}

/// Seed and desired file for the apply target: per prefix, 2 creates and 1 replace (4 steps).
///
/// Live: `/24` Magic Transit, `.0/26` CDN. Desired: `/24` Magic Transit, `.0/26` Spectrum,
/// `.64/26` CDN, `.128/26` CDN.
fn apply_scenario(count: usize) -> (StateFile, StateFile) {
    let mut seed = StateFile::default();
    let mut desired = StateFile::default();
    for i in 0..count {
        let p = bench_prefix(i);
        seed.prefixes.push(desired_prefix(
            p,
            false,
            vec![
                desired_binding(p, MAGIC_TRANSIT),
                desired_binding(child(p, 26, 0), "CDN"),
            ],
        ));
        desired.prefixes.push(desired_prefix(
            p,
            false,
            vec![
                desired_binding(p, MAGIC_TRANSIT),
                desired_binding(child(p, 26, 0), "Spectrum"),
                desired_binding(child(p, 26, 1), "CDN"),
                desired_binding(child(p, 26, 2), "CDN"),
            ],
        ));
    }
    (seed, desired)
}

/// Seed and desired file for the `apply6` target: per prefix, 2 creates and 2 replaces (6
/// steps).
///
/// Live: `/24` Magic Transit, `.0/26` and `.64/26` CDN. Desired: `/24` Magic Transit, `.0/26`
/// and `.64/26` Spectrum, `.128/26` and `.192/26` CDN.
fn apply6_scenario(count: usize) -> (StateFile, StateFile) {
    let mut seed = StateFile::default();
    let mut desired = StateFile::default();
    for i in 0..count {
        let p = bench_prefix(i);
        seed.prefixes.push(desired_prefix(
            p,
            false,
            vec![
                desired_binding(p, MAGIC_TRANSIT),
                desired_binding(child(p, 26, 0), "CDN"),
                desired_binding(child(p, 26, 1), "CDN"),
            ],
        ));
        desired.prefixes.push(desired_prefix(
            p,
            false,
            vec![
                desired_binding(p, MAGIC_TRANSIT),
                desired_binding(child(p, 26, 0), "Spectrum"),
                desired_binding(child(p, 26, 1), "Spectrum"),
                desired_binding(child(p, 26, 2), "CDN"),
                desired_binding(child(p, 26, 3), "CDN"),
            ],
        ));
    }
    (seed, desired)
}

/// Seed and desired file for the `pacing` target: per prefix, 1 create.
fn pacing_scenario(count: usize) -> (StateFile, StateFile) {
    let mut seed = StateFile::default();
    let mut desired = StateFile::default();
    for i in 0..count {
        let p = bench_prefix(i);
        seed.prefixes.push(desired_prefix(
            p,
            false,
            vec![desired_binding(p, MAGIC_TRANSIT)],
        ));
        desired.prefixes.push(desired_prefix(
            p,
            false,
            vec![
                desired_binding(p, MAGIC_TRANSIT),
                desired_binding(child(p, 29, 1), "CDN"),
            ],
        ));
    }
    (seed, desired)
}

/// SplitMix64: spreads a counter over 64 bits, so generated ids look like the API's random
/// ones (ids that share a long prefix would make every id comparison slower than it is).
fn mix(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The planner's input: `count` prefixes, each with 256 live and 256 desired bindings.
///
/// Half the prefixes are IPv4 `/16`s, half IPv6 `/48`s. Each has a prefix-wide Magic Transit
/// binding (unchanged) and more-specific ones drawn from 16 CIDRs 4 bits longer, 256 CIDRs 8
/// bits longer and 16 CIDRs 12 bits longer, so they nest three deep. Of those 287 CIDRs, by
/// index k: k % 9 == 0 only desired (32 creates), == 1 only live (32 deletes), 2 or 3 in both
/// with another service (64 replaces), the rest in both, unchanged (159). That is 128 changes
/// for 256 bindings a side.
fn planner_input(count: usize) -> Vec<PrefixState> {
    let mt = service(MAGIC_TRANSIT_ID);
    let cdn = service(CDN_ID);
    let spectrum = service(SPECTRUM_ID);
    let mut next_id = 0u64;
    let mut binding = |cidr: IpNet, service: &ServiceId| {
        next_id += 1;
        Binding {
            id: BindingId::new(format!("{:016x}{:016x}", mix(next_id), mix(!next_id)))
                .expect("32 hex digits are an id"),
            cidr,
            service_id: service.clone(),
            service_name: None,
            state: ProvisioningState::Active,
        }
    };
    (0..count)
        .map(|i| {
            let cidr = if i % 2 == 0 {
                let base = u32::from(Ipv4Addr::new(11, 0, 0, 0)) + ((i as u32 / 2) << 16);
                IpNet::new(IpAddr::V4(Ipv4Addr::from(base)), 16).expect("/16 is valid")
            } else {
                let base = u128::from(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0))
                    + ((i as u128 / 2) << 80);
                IpNet::new(IpAddr::V6(Ipv6Addr::from(base)), 48).expect("/48 is valid")
            };
            let len = cidr.prefix_len();
            let universe = (0..16)
                .map(|n| child(cidr, len + 4, n))
                .chain((0..256).map(|n| child(cidr, len + 8, n)))
                .chain((0..16).map(|n| child(cidr, len + 12, n * 16 + 5)))
                .take(287);
            let mut desired = std::collections::BTreeMap::new();
            let mut live = Vec::with_capacity(256);
            desired.insert(cidr, mt.clone());
            live.push(binding(cidr, &mt));
            for (k, c) in universe.enumerate() {
                let (base, other) = if k % 2 == 0 {
                    (&cdn, &spectrum)
                } else {
                    (&spectrum, &cdn)
                };
                match k % 9 {
                    0 => {
                        desired.insert(c, base.clone());
                    }
                    1 => live.push(binding(c, base)),
                    2 | 3 => {
                        desired.insert(c, other.clone());
                        live.push(binding(c, base));
                    }
                    _ => {
                        desired.insert(c, base.clone());
                        live.push(binding(c, base));
                    }
                }
            }
            // The API refuses a more-specific binding of its cover's service: where the
            // pattern above nests one, it and its live binding take the other service, which
            // keeps the counts of creates, deletes and replaces.
            let swap = |s: &ServiceId| {
                if *s == cdn {
                    spectrum.clone()
                } else {
                    cdn.clone()
                }
            };
            let mut nested: Vec<IpNet> = desired.keys().copied().filter(|c| *c != cidr).collect();
            nested.sort_by_key(|c| c.prefix_len());
            for c in nested {
                let mine = desired[&c].clone();
                if svcbind::rules::covers_of(cidr, c).find_map(|p| desired.get(&p)) == Some(&mine) {
                    desired.insert(c, swap(&mine));
                    for b in live.iter_mut().filter(|b| b.cidr == c) {
                        b.service_id = swap(&b.service_id);
                    }
                }
            }
            PrefixState {
                id: seed_prefix_id(&cidr),
                cidr,
                desired,
                ignore: Vec::new(),
                live,
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The emulator over HTTP

/// An emulator served on 127.0.0.1:0 and a client pointed at it as `svcbind` builds it: the
/// paced [`HttpClient`] in the retry layer. Dropping it stops the server.
struct Server {
    emulator: Emulator,
    client: Retrying<HttpClient>,
    base_url: String,
    account_id: AccountId,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn start(seed: &StateFile, latency: Duration) -> anyhow::Result<Server> {
    start_limited(seed, latency, None, Pacing::default()).await
}

/// [`start`], the emulator enforcing `rate_limit`, the client paced by `pacing`.
async fn start_limited(
    seed: &StateFile,
    latency: Duration,
    rate_limit: Option<(u32, Duration)>,
    pacing: Pacing,
) -> anyhow::Result<Server> {
    let account = Account::from_seed(seed).context("cannot seed the emulator")?;
    let account_id = account.id().clone();
    let mut options = EmulatorOptions::new(TOKEN);
    options.latency = latency;
    options.rate_limit = rate_limit;
    let emulator = Emulator::new(account, options);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(listener, emulator.clone(), async {
        let _ = stopped.await;
    }));
    let base_url = format!("http://{addr}/client/v4");
    let client = client(&base_url, &account_id, pacing)?;
    Ok(Server {
        emulator,
        client,
        base_url,
        account_id,
        _stop: stop,
    })
}

/// A client as one run of `svcbind` has it, with its own (empty) budget.
fn client(
    base_url: &str,
    account_id: &AccountId,
    pacing: Pacing,
) -> anyhow::Result<Retrying<HttpClient>> {
    let mut config = ClientConfig::new(
        base_url,
        account_id.clone(),
        Credentials::Token(Secret::new(TOKEN)),
    );
    config.pacing = pacing;
    Ok(Retrying::new(
        HttpClient::new(config)?,
        RetryPolicy::default(),
    ))
}

/// What `svcbind plan` does before rendering: read, plan, rehearse.
async fn plan_command(server: &Server, file: &StateFile) -> anyhow::Result<Plan> {
    plan_with(&server.client, server, file).await
}

/// [`plan_command`] through `client`.
async fn plan_with(
    client: &Retrying<HttpClient>,
    server: &Server,
    file: &StateFile,
) -> anyhow::Result<Plan> {
    let resolved = resolve(client, file, &[], CONCURRENCY)
        .await
        .map_err(|e| match e {
            ResolveError::Problems(p) => anyhow::anyhow!("{p:?}"),
            other => other.into(),
        })?;
    let plan = plan(server.account_id.clone(), &resolved.prefixes)?;
    rehearse(&plan, &resolved.prefixes, &resolved.services)?;
    Ok(plan)
}

/// The latency bound of a plan over `prefixes`: services, prefixes, then the bindings lists in
/// waves of `CONCURRENCY`.
fn read_bound(prefixes: usize) -> Duration {
    LATENCY * (2 + prefixes.div_ceil(CONCURRENCY)) as u32
}

// ---------------------------------------------------------------------------------------------
// The targets

async fn calls(report: &mut Report) -> anyhow::Result<()> {
    let p = HTTP_PREFIXES;
    for pin in [false, true] {
        let (seed, desired) = plan_scenario(p, pin);
        let server = start(&seed, Duration::ZERO).await?;
        let plan = plan_command(&server, &desired).await?;
        ensure!(
            plan.summary().steps == 5 * p,
            "the plan should have 5 steps per prefix, not {}",
            plan.summary().steps
        );
        let counts = server.emulator.request_counts();
        let services = counts.get(Route::ListServices);
        let prefixes = counts.get(Route::ListPrefixes);
        let bindings = counts.get(Route::ListBindings);
        let other = counts.total - services - prefixes - bindings;
        let (label, expected, per_route_ok) = if pin {
            (
                format!("API calls for plan, {p} prefixes, ids pinned"),
                p + 1,
                services == 1 && prefixes == 0,
            )
        } else {
            (
                format!("API calls for plan, {p} prefixes, ids looked up by CIDR"),
                p + 2,
                services == 1 && prefixes == 1,
            )
        };
        let per_route_ok = per_route_ok && bindings == p as u64 && other == 0;
        let detail = format!(
            "services {services}, prefixes {prefixes}, bindings {bindings}, other {other}; per route {}",
            if per_route_ok { "as expected" } else { "WRONG" }
        );
        // A total right by accident (one route too many, another too few) still fails.
        report.count(&label, counts.total, expected as u64, per_route_ok, &detail);
    }
    Ok(())
}

async fn plan_time(report: &mut Report) -> anyhow::Result<()> {
    let p = HTTP_PREFIXES;
    let (seed, desired) = plan_scenario(p, false);
    let server = start(&seed, LATENCY).await?;
    let mut times = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let plan = plan_command(&server, &desired).await?;
        times.push(started.elapsed());
        ensure!(plan.summary().steps == 5 * p, "the plan lost its steps");
    }
    let max = *times.iter().max().expect("three runs");
    report.time(
        &format!(
            "plan wall time (resolve + plan + rehearse), {p} prefixes, 100 ms latency, concurrency {CONCURRENCY}, worst of 3"
        ),
        max,
        read_bound(p),
        1.25,
        &format!(" (median {})", secs(median(times))),
    );
    Ok(())
}

async fn apply_time(report: &mut Report) -> anyhow::Result<()> {
    let p = HTTP_PREFIXES;
    let steps_per_prefix = 4;
    let step_bound = LATENCY * (p.div_ceil(CONCURRENCY) * steps_per_prefix) as u32;
    let (mut totals, mut reads, mut steps) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..3 {
        let (seed, desired) = apply_scenario(p);
        let server = start(&seed, LATENCY).await?;
        let started = Instant::now();
        let plan = plan_command(&server, &desired).await?;
        let planned = started.elapsed();
        let summary = plan.summary();
        ensure!(
            summary.steps == steps_per_prefix * p && summary.create == 2 * p,
            "the apply plan should have 2 creates and 1 replace per prefix: {summary:?}"
        );
        server.emulator.reset_request_counts();
        let applying = Instant::now();
        let result = apply(
            &server.client,
            &plan,
            CONCURRENCY,
            &Stop::default(),
            &|_: Progress<'_>| {},
        )
        .await;
        let applied = applying.elapsed();
        totals.push(started.elapsed());
        reads.push(planned);
        steps.push(applied);

        let counts = result.counts();
        ensure!(
            counts.done == steps_per_prefix * p && counts.failed == 0,
            "the apply did not run every step: {counts:?}"
        );
        let calls = server.emulator.request_counts();
        ensure!(
            calls.get(Route::CreateBinding) == 3 * p as u64
                && calls.get(Route::DeleteBinding) == p as u64
                && calls.total == 4 * p as u64,
            "the apply made other calls than its steps: {calls:?}"
        );
        let again = plan_command(&server, &desired).await?;
        if again.summary().has_changes() {
            bail!(
                "after the apply a new plan still has work: {:?}",
                again.summary()
            );
        }
    }
    let label = format!(
        "{p} prefixes x {steps_per_prefix} steps, 100 ms latency, concurrency {CONCURRENCY}, worst of 3"
    );
    report.time(
        &format!("apply steps only, {label}"),
        *steps.iter().max().expect("three runs"),
        step_bound,
        1.25,
        &format!(" (median {})", secs(median(steps))),
    );
    report.time(
        &format!("apply reads (resolve + plan + rehearse), {label}"),
        *reads.iter().max().expect("three runs"),
        read_bound(p),
        1.25,
        &format!(" (median {})", secs(median(reads))),
    );
    report.time(
        &format!("apply total (reads + steps), {label}"),
        *totals.iter().max().expect("three runs"),
        step_bound + read_bound(p),
        1.25,
        &format!(
            " (median {}; a fresh plan afterwards is empty)",
            secs(median(totals))
        ),
    );
    Ok(())
}

async fn apply6_time(report: &mut Report) -> anyhow::Result<()> {
    let p = HTTP_PREFIXES;
    let steps_per_prefix = 6;
    // Services and prefixes together, then the bindings lists in waves of CONCURRENCY; then
    // the steps, prefixes in waves of CONCURRENCY, one step at a time within each.
    let rounds = 1 + p.div_ceil(CONCURRENCY) + p.div_ceil(CONCURRENCY) * steps_per_prefix;
    let bound = LATENCY * rounds as u32;
    let mut totals = Vec::new();
    for _ in 0..3 {
        let (seed, desired) = apply6_scenario(p);
        let server = start(&seed, LATENCY).await?;
        let started = Instant::now();
        let plan = plan_command(&server, &desired).await?;
        let summary = plan.summary();
        ensure!(
            summary.steps == steps_per_prefix * p && summary.create == 2 * p,
            "the apply6 plan should have 2 creates and 2 replaces per prefix: {summary:?}"
        );
        let result = apply(
            &server.client,
            &plan,
            CONCURRENCY,
            &Stop::default(),
            &|_: Progress<'_>| {},
        )
        .await;
        totals.push(started.elapsed());
        let counts = result.counts();
        ensure!(
            counts.done == steps_per_prefix * p && counts.failed == 0,
            "the apply did not run every step: {counts:?}"
        );
        let calls = server.emulator.request_counts();
        ensure!(
            calls.total == (2 + p + steps_per_prefix * p) as u64 && calls.rate_limited == 0,
            "the apply made other calls than its reads and steps: {calls:?}"
        );
        let again = plan_command(&server, &desired).await?;
        if again.summary().has_changes() {
            bail!(
                "after the apply a new plan still has work: {:?}",
                again.summary()
            );
        }
    }
    report.time(
        &format!(
            "apply total (reads + steps) with retries and pacing, {p} prefixes x {steps_per_prefix} steps, 100 ms latency, concurrency {CONCURRENCY}, worst of 3 (bound: {rounds} rounds)"
        ),
        *totals.iter().max().expect("three runs"),
        bound,
        1.05,
        &format!(" (median {})", secs(median(totals))),
    );
    Ok(())
}

async fn pacing(report: &mut Report) -> anyhow::Result<()> {
    const PREFIXES: usize = 50;
    let pacing = Pacing {
        budget: 36,
        window: Duration::from_secs(2),
    };
    let limit = (40, Duration::from_secs(2));
    let (seed, desired) = pacing_scenario(PREFIXES);
    let server = start_limited(&seed, Duration::ZERO, Some(limit), pacing).await?;
    let started = Instant::now();
    // `svcbind plan`, then `svcbind apply`: two runs, each with its own (empty) budget.
    let plan = plan_command(&server, &desired).await?;
    ensure!(
        plan.summary().create == PREFIXES,
        "the plan lost its creates"
    );
    let second = client(&server.base_url, &server.account_id, pacing)?;
    let plan = plan_with(&second, &server, &desired).await?;
    let result = apply(
        &second,
        &plan,
        CONCURRENCY,
        &Stop::default(),
        &|_: Progress<'_>| {},
    )
    .await;
    let elapsed = started.elapsed();
    let counts = result.counts();
    ensure!(
        counts.done == PREFIXES && counts.failed == 0,
        "the apply did not run every step: {counts:?}"
    );
    let calls = server.emulator.request_counts();
    let reads = (PREFIXES + 2) as u64;
    let expected = reads + reads + PREFIXES as u64;
    report.count(
        &format!(
            "API calls of a plan and an apply, {PREFIXES} prefixes, emulator limit 40 per 2 s, budget 36 per 2 s"
        ),
        calls.total,
        expected,
        calls.rate_limited == 0,
        &format!("{} answered 429", calls.rate_limited),
    );
    // Within one run the budget lets 36 requests go per window: N requests take
    // ⌊(N − 1) / 36⌋ windows.
    let windows = |n: u64| (n - 1) / u64::from(pacing.budget);
    let bound = pacing.window * (windows(reads) + windows(reads + PREFIXES as u64)) as u32;
    report.time(
        &format!(
            "plan + apply wall time under the budget, {PREFIXES} prefixes, no latency, against the budget's bound"
        ),
        elapsed,
        bound,
        1.5,
        "",
    );
    Ok(())
}

/// CPU time of the calling thread so far (Linux: `/proc/thread-self/schedstat`), which other
/// processes on a busy machine do not inflate the way they inflate wall time.
fn cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

/// Wall and CPU time of one call of `f`.
fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration, Option<Duration>) {
    let cpu = cpu_time();
    let started = Instant::now();
    let out = f();
    let wall = started.elapsed();
    let cpu = cpu.zip(cpu_time()).map(|(a, b)| b.saturating_sub(a));
    (out, wall, cpu)
}

/// Wall and CPU times of repeated runs.
#[derive(Default)]
struct Runs {
    wall: Vec<Duration>,
    cpu: Vec<Duration>,
}

impl Runs {
    fn push(&mut self, wall: Duration, cpu: Option<Duration>) {
        self.wall.push(wall);
        self.cpu.extend(cpu);
    }

    /// The figure judged: the median CPU time where it can be read, else the median wall time.
    fn figure(&self) -> (Duration, &'static str) {
        if self.cpu.len() == self.wall.len() {
            (median(self.cpu.clone()), "CPU, median")
        } else {
            (median(self.wall.clone()), "wall, median")
        }
    }
}

fn planner(report: &mut Report) -> anyhow::Result<()> {
    const PREFIXES: usize = 1000;
    const RUNS: usize = 7;
    let account = default_account_id();

    let baseline = Counting::reset_peak();
    let (input, build_time, _) = timed(|| planner_input(PREFIXES));
    let input_bytes = Counting::current() - baseline;
    let live: usize = input.iter().map(|s| s.live.len()).sum();
    let wanted: usize = input.iter().map(|s| s.desired.len()).sum();

    // The first run measures the heap: the planning alone, the input and the planning
    // together, and what the finished plan keeps.
    let before = Counting::reset_peak();
    let allocs_before = Counting::allocations();
    let (result, counted_wall, _) = timed(|| plan(account.clone(), &input));
    let result = result?;
    let allocations = Counting::allocations() - allocs_before;
    let planning_peak = Counting::peak() - before;
    let total_peak = Counting::peak() - baseline;
    let plan_bytes = Counting::current() - before;
    // The timed runs, without counting: each plan is dropped inside.
    let mut runs = Runs::default();
    for _ in 0..RUNS {
        let (wall, cpu) = Counting::uncounted(|| {
            let (again, wall, cpu) = timed(|| plan(account.clone(), &input));
            again.map(|_| (wall, cpu))
        })?;
        runs.push(wall, cpu);
    }

    let summary = result.summary();
    ensure!(
        summary.create == 32 * PREFIXES
            && summary.delete == 32 * PREFIXES
            && summary.replace == 64 * PREFIXES,
        "the planner input should give 32 creates, 32 deletes and 64 replaces per prefix: {summary:?}"
    );
    let impact_ranges: usize = result.prefixes.iter().map(|p| p.impact.len()).sum();
    // `plan` spreads large accounts over the cores, so the figure is the median wall time
    // (the calling thread's CPU time would miss the other threads' work).
    let figure = median(runs.wall.clone());
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, PREFIXES / svcbind::plan::PARALLEL_CHUNK);
    report.time(
        &format!(
            "planner + impact, {PREFIXES} prefixes x 256 bindings ({live} live, {wanted} desired; {} changes, {} steps, {impact_ranges} impact ranges)",
            summary.create + summary.delete + summary.replace,
            summary.steps
        ),
        figure,
        Duration::from_millis(200),
        1.0,
        &format!(
            " (wall, median of {RUNS} on {threads} thread(s); best {}, worst {}; the first run, heap counted: {} wall)",
            secs(*runs.wall.iter().min().expect("runs")),
            secs(*runs.wall.iter().max().expect("runs")),
            secs(counted_wall)
        ),
    );
    report.bytes(
        "planner peak heap, planning only (input already built)",
        planning_peak,
        200_000_000,
        &format!(
            " (the finished plan keeps {}; {allocations} allocations)",
            mb(plan_bytes)
        ),
    );
    report.bytes(
        "planner peak heap, input + planning",
        total_peak,
        200_000_000,
        &format!(
            " (input alone {}, built in {})",
            mb(input_bytes),
            secs(build_time)
        ),
    );
    drop(result);
    breakdown(&input);
    Ok(())
}

/// Where the planner's time goes: each phase of `plan_prefix` over every prefix (median CPU
/// time of 5 uncounted runs) and its allocations (one counted run).
fn breakdown(input: &[PrefixState]) {
    fn phase<T>(n: usize, f: impl Fn(usize) -> T) -> String {
        let before = Counting::allocations();
        drop((0..n).map(&f).collect::<Vec<T>>());
        let allocations = Counting::allocations() - before;
        let mut runs = Runs::default();
        for _ in 0..5 {
            let (wall, cpu) = Counting::uncounted(|| {
                let (out, wall, cpu) = timed(|| (0..n).map(&f).collect::<Vec<T>>());
                drop(out);
                (wall, cpu)
            });
            runs.push(wall, cpu);
        }
        format!("{} ({allocations} allocations)", secs(runs.figure().0))
    }
    let n = input.len();
    let changes: Vec<_> = input.iter().map(diff).collect();
    let steps: Vec<_> = input
        .iter()
        .zip(&changes)
        .map(|(s, c)| order_steps(s, c).map(|o| o.steps))
        .collect();
    let phases = [
        ("diff", phase(n, |i| diff(&input[i]))),
        ("order", phase(n, |i| order_steps(&input[i], &changes[i]))),
        ("impact", phase(n, |i| impact(&input[i]))),
        (
            "gaps",
            phase(n, |i| steps[i].as_ref().map(|s| gaps(&input[i], s))),
        ),
        (
            "fingerprint",
            phase(n, |i| live_fingerprint(&input[i].live)),
        ),
    ];
    let shown: Vec<String> = phases
        .iter()
        .map(|(name, figure)| format!("{name} {figure}"))
        .collect();
    println!(
        "planner breakdown (no target; median CPU time of 5): {}",
        shown.join(", ")
    );
}

/// Times `rehearse` (no target) at growing sizes; gives up on a size after a deadline, since a
/// rehearsal cannot be interrupted (the thread is left behind and the process exits).
fn rehearsal() -> anyhow::Result<()> {
    const DEADLINE: Duration = Duration::from_secs(20);
    let account = default_account_id();
    let services = Services::new(default_services());
    let mut previous: Option<(usize, Duration)> = None;
    for prefixes in [100, 200, 1000] {
        let input = planner_input(prefixes);
        let planned = plan(account.clone(), &input)?;
        let steps = planned.summary().steps;
        let (tx, rx) = mpsc::channel();
        let services = services.clone();
        // The main thread only waits meanwhile, so the peak is the rehearsal's.
        let before = Counting::reset_peak();
        std::thread::spawn(move || {
            let (outcome, wall, cpu) = timed(|| rehearse(&planned, &input, &services));
            let _ = tx.send((wall, cpu, outcome));
        });
        let label =
            format!("rehearse (no target), {prefixes} prefixes x 256 bindings, {steps} steps");
        match rx.recv_timeout(DEADLINE) {
            Ok((wall, cpu, outcome)) => {
                outcome.context("the rehearsal rejected the plan")?;
                let cpu = cpu.unwrap_or(wall);
                let heap = Counting::peak() - before;
                let growth = previous.map_or(String::new(), |(n, t)| {
                    format!(
                        "; {:.1}x the time of {n} prefixes for {:.1}x the size",
                        cpu.as_secs_f64() / t.as_secs_f64(),
                        prefixes as f64 / n as f64
                    )
                });
                println!(
                    "{label}: {} CPU (wall {}{growth}); peak heap {} beyond its input",
                    secs(cpu),
                    secs(wall),
                    mb(heap)
                );
                previous = Some((prefixes, cpu));
            }
            Err(_) => {
                println!("{label}: more than {} wall (given up)", secs(DEADLINE));
                break;
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------

fn main() -> ExitCode {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted = |name: &str| filters.is_empty() || filters.iter().any(|f| f == name);
    match run(&wanted) {
        Ok(report) if report.failed.is_empty() => ExitCode::SUCCESS,
        Ok(report) => {
            eprintln!("{} target(s) failed:", report.failed.len());
            for label in report.failed {
                eprintln!("  {label}");
            }
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(wanted: &dyn Fn(&str) -> bool) -> anyhow::Result<Report> {
    let started = Instant::now();
    let mut report = Report::default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    if wanted("calls") {
        runtime.block_on(calls(&mut report))?;
    }
    if wanted("plan") {
        runtime.block_on(plan_time(&mut report))?;
    }
    if wanted("apply") {
        runtime.block_on(apply_time(&mut report))?;
    }
    if wanted("apply6") {
        runtime.block_on(apply6_time(&mut report))?;
    }
    if wanted("pacing") {
        runtime.block_on(pacing(&mut report))?;
    }
    drop(runtime);
    if wanted("planner") {
        planner(&mut report)?;
    }
    if wanted("rehearse") {
        rehearsal()?;
    }
    println!("(whole run: {})", secs(started.elapsed()));
    Ok(report)
}
