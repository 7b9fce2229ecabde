//! Executions per second of the explorer: the reclaim-race scenario (the
//! whole mm model: a world built per execution), and one small race written
//! three times, against vipt's engine, shuttle's random scheduler and loom,
//! side by side in one run. Also counts loom's executions for an exhaustive
//! search at the same preemption bound as vipt's.
//!
//! `cargo bench -p vipt-explore --bench explorer`; figures in
//! `crates/explore/BENCHMARKS.md`.

use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use vipt_explore::scenario::{Kind, Params, Scenario};
use vipt_explore::{explore, Config, Mode};

mod small;
use small::{Small, NEW};

// `../shared/bench/reclaim.pml`, the SPIN peer model, as an explorer program.
#[path = "../tests/peer/mod.rs"]
mod peer;

fn shuttle_small() {
    use shuttle::sync::atomic::AtomicU64 as A;
    use shuttle::sync::{Arc, Mutex};
    let v = Arc::new([A::new(1), A::new(1), A::new(1), A::new(0)]);
    let (tree, ptl) = (Arc::new(Mutex::new(())), Arc::new(Mutex::new(())));
    let (v0, v1, v2) = (v.clone(), v.clone(), v.clone());
    let w = shuttle::thread::spawn(move || {
        let _g = tree.lock().unwrap();
        v0[3].store(NEW, Ordering::SeqCst);
        let k = v0[3].swap(0, Ordering::SeqCst);
        v0[2].store(k, Ordering::SeqCst);
        if v0[0].load(Ordering::SeqCst) == 1 && v0[0].load(Ordering::SeqCst) == 1 {
            v0[1].store(0, Ordering::SeqCst);
        }
    });
    let r = shuttle::thread::spawn(move || {
        let _g = ptl.lock().unwrap();
        v1[1].store(0, Ordering::SeqCst);
        v1[0].store(0, Ordering::SeqCst);
    });
    let u = shuttle::thread::spawn(move || {
        for _ in 0..2 {
            if v2[1].load(Ordering::SeqCst) == 0 {
                let m = v2[2].load(Ordering::SeqCst);
                v2[1].store(m, Ordering::SeqCst);
            }
        }
    });
    for h in [w, r, u] {
        h.join().unwrap();
    }
}

fn loom_small() {
    use loom::sync::atomic::AtomicU64 as A;
    use loom::sync::{Arc, Mutex};
    let v = Arc::new([A::new(1), A::new(1), A::new(1), A::new(0)]);
    let (tree, ptl) = (Arc::new(Mutex::new(())), Arc::new(Mutex::new(())));
    let (v0, v1) = (v.clone(), v.clone());
    let w = loom::thread::spawn(move || {
        let _g = tree.lock().unwrap();
        v0[3].store(NEW, Ordering::SeqCst);
        let k = v0[3].swap(0, Ordering::SeqCst);
        v0[2].store(k, Ordering::SeqCst);
        if v0[0].load(Ordering::SeqCst) == 1 && v0[0].load(Ordering::SeqCst) == 1 {
            v0[1].store(0, Ordering::SeqCst);
        }
    });
    let r = loom::thread::spawn(move || {
        let _g = ptl.lock().unwrap();
        v1[1].store(0, Ordering::SeqCst);
        v1[0].store(0, Ordering::SeqCst);
    });
    // The user runs on the main thread (loom allows few threads).
    for _ in 0..2 {
        if v[1].load(Ordering::SeqCst) == 0 {
            let m = v[2].load(Ordering::SeqCst);
            v[1].store(m, Ordering::SeqCst);
        }
    }
    w.join().unwrap();
    r.join().unwrap();
}

fn loom_executions(bound: usize) -> u64 {
    static N: AtomicU64 = AtomicU64::new(0);
    N.store(0, Ordering::SeqCst);
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(bound);
    b.check(|| {
        N.fetch_add(1, Ordering::SeqCst);
        loom_small();
    });
    N.load(Ordering::SeqCst)
}

fn random(budget: u64) -> Config {
    Config {
        mode: Mode::Random,
        budget,
        threads: 1,
        seed: 1,
        ..Config::default()
    }
}

/// The per-execution time of the three explorers on the small race, in
/// interleaved rounds (vipt, shuttle, loom, again and again), so that a drift
/// of the machine's speed during the run (seen here: later benchmarks of one
/// run slowed by up to half) reaches all three alike. Prints the median
/// ratio and its range over the rounds.
fn interleaved_ratios() {
    use std::time::Instant;
    const ROUNDS: usize = 31;
    // Phases of a few milliseconds each (vipt: a search of the default
    // budget), so that a burst of load on the machine falls in few rounds.
    const VIPT: u64 = 10_000;
    const SHUTTLE: u64 = 1_000;
    let per = |t: Instant, n: u64| t.elapsed().as_secs_f64() / n as f64;
    let (mut shuttle, mut loom) = (Vec::new(), Vec::new());
    let mut times = [Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let r = explore(&Small, &random(VIPT), None).unwrap();
        let v = per(t, r.executions);
        let t = Instant::now();
        shuttle::check_random(shuttle_small, SHUTTLE as usize);
        let s = per(t, SHUTTLE);
        let t = Instant::now();
        let n = loom_executions(2);
        let l = per(t, n);
        shuttle.push(s / v);
        loom.push(l / v);
        for (t, x) in times.iter_mut().zip([v, s, l]) {
            t.push(x * 1e9);
        }
    }
    let summary = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[0], v[v.len() - 1])
    };
    let (sm, slo, shi) = summary(&mut shuttle);
    let (lm, llo, lhi) = summary(&mut loom);
    let [v, s, l] = times.map(|mut t| summary(&mut t).0);
    eprintln!(
        "small race, {ROUNDS} interleaved rounds, one worker each: vipt is {sm:.1}x shuttle \
         (range {slo:.1}-{shi:.1}) and {lm:.1}x loom (range {llo:.1}-{lhi:.1}) in executions/s; \
         median ns per execution: vipt {v:.0}, shuttle {s:.0}, loom {l:.0}"
    );
}

fn bench(c: &mut Criterion) {
    const N: u64 = 200;
    interleaved_ratios();
    for bound in [1u32, 2] {
        let ours = explore(
            &Small,
            &Config {
                mode: Mode::Exhaustive {
                    bound: Some(bound),
                    reduction: true,
                },
                budget: u64::MAX,
                threads: 1,
                ..Config::default()
            },
            None,
        )
        .unwrap();
        let full = explore(
            &Small,
            &Config {
                mode: Mode::Exhaustive {
                    bound: Some(bound),
                    reduction: false,
                },
                budget: u64::MAX,
                threads: 1,
                ..Config::default()
            },
            None,
        )
        .unwrap();
        eprintln!(
            "small race, preemption bound {bound}: vipt {} executions with sleep sets ({} without; failing {} / {}), loom {}",
            ours.executions, full.executions, ours.failing, full.failing, loom_executions(bound as usize)
        );
    }
    let mut g = c.benchmark_group("executions");
    g.sample_size(10);
    g.throughput(Throughput::Elements(N));
    g.bench_function("small race/vipt random", |b| {
        b.iter(|| explore(&Small, &random(N), None).unwrap())
    });
    // The same search on every core (the default), in searches of 50 000 per
    // core, so that starting the workers (about 0.3 ms a search: threads,
    // their coroutine stacks) is amortised as in a real search:
    // shuttle's `check_random` has no parallel mode, so this line is beside
    // the comparison, not in it.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let all = Config {
        threads: cores,
        ..random(50_000 * cores as u64)
    };
    g.throughput(Throughput::Elements(50_000 * cores as u64));
    g.bench_function("small race/vipt random, every core", |b| {
        b.iter(|| explore(&Small, &all, None).unwrap())
    });
    // loom before shuttle: shuttle leaves its panic hook installed. One
    // iteration is loom's whole exhaustive search at bound 2.
    g.throughput(Throughput::Elements(loom_executions(2)));
    g.bench_function("small race/loom exhaustive", |b| {
        b.iter(|| loom_executions(2))
    });
    g.throughput(Throughput::Elements(N));
    g.bench_function("small race/shuttle random", |b| {
        b.iter(|| shuttle::check_random(shuttle_small, N as usize))
    });
    let reclaim = Scenario::new(
        Kind::Reclaim,
        "patched-2005",
        Params {
            page_flush: false,
            ..Kind::Reclaim.defaults()
        },
    )
    .unwrap();
    g.bench_function("reclaim race/vipt random", |b| {
        b.iter(|| explore(&reclaim, &random(N), None).unwrap())
    });
    let exh = Config {
        mode: Mode::Exhaustive {
            bound: Some(3),
            reduction: true,
        },
        budget: N,
        threads: 1,
        ..Config::default()
    };
    g.bench_function("reclaim race/vipt exhaustive", |b| {
        b.iter(|| explore(&reclaim, &exh, None).unwrap())
    });
    g.finish();
    // The SPIN peer model, unbounded: sleep sets alone against sleep sets
    // with the state cache (one iteration is the whole search).
    let mut g = c.benchmark_group("reclaim.pml");
    g.sample_size(10);
    let pml = peer::PmlReclaim { lines: 2 };
    for cache in [false, true] {
        let cfg = Config {
            mode: Mode::Exhaustive {
                bound: None,
                reduction: true,
            },
            budget: 10_000_000,
            threads: 1,
            state_cache: cache,
            ..Config::default()
        };
        let name = if cache {
            "L=2 sleep sets + state cache"
        } else {
            "L=2 sleep sets"
        };
        g.bench_function(name, |b| b.iter(|| explore(&pml, &cfg, None).unwrap()));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
