//! How long loading and validating a 10,000-binding desired-state file takes (SPEC §9: under
//! 100 ms). Run with `cargo bench --bench validate`; prints the median and the maximum of many
//! runs and their ratio to the bound, and exits 1 when the median is over it.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use svcbind::config::{Mode, parse};

const BOUND: Duration = Duration::from_millis(100);
/// Runs measured; `SVCBIND_BENCH_RUNS` sets fewer (or more), e.g. to run under a profiler.
const RUNS: usize = 50;

/// 40 prefixes (32 IPv4 /16, 8 IPv6 /48) × 250 bindings: the prefix-wide binding, 124 ranges
/// each with a smaller range of another service inside, and one more range; and an ignore
/// range per prefix. Every rule has work to do and the file has no problem.
fn file() -> String {
    let mut out =
        String::from("version: 1\naccount_id: 023e105f4ecef8ad9ca31a8372d0c353\nprefixes:\n");
    for p in 0..40u32 {
        let v6 = p >= 32;
        let (prefix, outer, inner, ignore) = if v6 {
            let base = format!("2001:db8:{p:x}");
            (
                format!("{base}::/48"),
                Box::new(move |j: u32| format!("2001:db8:{p:x}:{j:x}::/64"))
                    as Box<dyn Fn(u32) -> String>,
                Box::new(move |j: u32| format!("2001:db8:{p:x}:{j:x}:8000::/72"))
                    as Box<dyn Fn(u32) -> String>,
                format!("{base}:ff00::/56"),
            )
        } else {
            (
                format!("10.{p}.0.0/16"),
                Box::new(move |j: u32| format!("10.{p}.{j}.0/24")) as Box<dyn Fn(u32) -> String>,
                Box::new(move |j: u32| format!("10.{p}.{j}.64/26")) as Box<dyn Fn(u32) -> String>,
                format!("10.{p}.255.0/24"),
            )
        };
        let _ = writeln!(
            out,
            "  - cidr: {prefix}\n    ignore: [{ignore}]\n    bindings:"
        );
        let _ = writeln!(out, "      - {{ cidr: {prefix}, service: Magic Transit }}");
        for j in 0..124 {
            let _ = writeln!(out, "      - {{ cidr: {}, service: CDN }}", outer(j));
            let _ = writeln!(out, "      - {{ cidr: {}, service: Spectrum }}", inner(j));
        }
        let _ = writeln!(out, "      - {{ cidr: {}, service: Spectrum }}", outer(200));
    }
    out
}

fn main() {
    let source = file();
    let check = parse(&source, "bench.yaml", Mode::Desired).expect("the generated file is valid");
    assert_eq!(check.state.binding_count(), 10_000);
    assert!(check.warnings.is_empty(), "{:?}", check.warnings);

    let runs = std::env::var("SVCBIND_BENCH_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or(RUNS);
    for _ in 0..3.min(runs) {
        std::hint::black_box(parse(&source, "bench.yaml", Mode::Desired).is_ok());
    }
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let loaded = parse(std::hint::black_box(&source), "bench.yaml", Mode::Desired);
            let elapsed = start.elapsed();
            std::hint::black_box(loaded.is_ok());
            elapsed
        })
        .collect();
    times.sort();
    let (min, median, max) = (times[0], times[runs / 2], times[runs - 1]);
    let ratio = median.as_secs_f64() / BOUND.as_secs_f64();
    println!(
        "validate: 10,000 bindings, {} KiB, {runs} runs: median {:.1} ms, max {:.1} ms, min {:.1} ms; median is {:.2}x the {} ms bound",
        source.len() / 1024,
        median.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3,
        min.as_secs_f64() * 1e3,
        ratio,
        BOUND.as_millis()
    );
    if median > BOUND {
        eprintln!("over the bound");
        std::process::exit(1);
    }
}
