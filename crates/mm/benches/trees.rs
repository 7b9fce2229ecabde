//! i_mmap index benchmarks: insert, remove and a stabbing query at 10^2 … 10^6
//! intervals, prio tree vs interval tree vs a naive scan, side by side. Also
//! prints each tree's height and the nodes a query reads.
//!
//! `cargo bench -p vipt-mm --bench trees`; figures in `crates/mm/BENCHMARKS.md`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::hint::black_box;
use vipt_mm::{Interval, IntervalIndex, IntervalTree, ItemId, NaiveIntervals, PrioTree, StabCount};

/// Vma-like intervals: starts spread over 2^24 pages, lengths up to 256 pages,
/// from a fixed LCG (the benchmark is the same in every run).
fn intervals(n: usize) -> Vec<Interval> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let s = (x >> 24) & ((1 << 24) - 1);
            Interval {
                start: s,
                last: s + ((x >> 8) & 255),
            }
        })
        .collect()
}

fn build<I: IntervalIndex<u32>>(mut t: I, ivs: &[Interval]) -> I {
    for (i, &iv) in ivs.iter().enumerate() {
        t.insert(iv, i as u32).unwrap();
    }
    t
}

fn query<I: IntervalIndex<u32>>(t: &I, qs: &[Interval]) -> (usize, u64) {
    let (mut m, mut v) = (0, 0);
    for &q in qs {
        let mut s = t.stab(q);
        m += s.by_ref().count();
        v += s.visited();
    }
    (m, v)
}

/// Inserts every interval of `extra`, then removes them all again.
fn churn<I: IntervalIndex<u32>>(t: &mut I, extra: &[Interval]) {
    let mut ids = [ItemId(0); 64];
    for (i, &iv) in extra.iter().enumerate() {
        ids[i] = t.insert(iv, i as u32).unwrap();
    }
    for &id in &ids[..extra.len()] {
        black_box(t.remove(id).unwrap());
    }
}

fn bench(c: &mut Criterion) {
    // 64 intervals for the insert+remove batch, shifted by a few pages so
    // they do not land on the duplicate lists of intervals already present.
    let extra: Vec<Interval> = intervals(128)[64..]
        .iter()
        .map(|iv| Interval {
            start: iv.start + 7,
            last: iv.last + 7,
        })
        .collect();
    let qs: Vec<Interval> = intervals(64)
        .iter()
        .map(|iv| Interval {
            start: iv.start,
            last: iv.start,
        })
        .collect();
    for exp in 2..=6u32 {
        let n = 10usize.pow(exp);
        let ivs = intervals(n);
        let p = build(PrioTree::new(64), &ivs);
        let t = build(IntervalTree::new(), &ivs);
        let (mp, vp) = query(&p, &qs);
        let (mt, vt) = query(&t, &qs);
        assert_eq!(mp, mt);
        eprintln!(
            "n={n}: height prio {} interval {}; nodes read per point query: prio {:.1}, interval {:.1}; matches per query {:.2}",
            p.height(), t.height(), vp as f64 / qs.len() as f64, vt as f64 / qs.len() as f64, mp as f64 / qs.len() as f64
        );
        let mut g = c.benchmark_group(format!("trees/{n}"));
        g.sample_size(10);
        g.bench_function(BenchmarkId::new("query", "prio"), |b| {
            b.iter(|| black_box(query(&p, &qs)))
        });
        g.bench_function(BenchmarkId::new("query", "interval"), |b| {
            b.iter(|| black_box(query(&t, &qs)))
        });
        if n <= 10_000 {
            let naive = build(NaiveIntervals::new(), &ivs);
            g.bench_function(BenchmarkId::new("query", "naive"), |b| {
                b.iter(|| black_box(query(&naive, &qs)))
            });
        }
        // A batch of 64 inserts then 64 removes on the full index, which
        // comes back to n intervals each iteration: no clone in the timing.
        let mut p = p;
        let mut t = t;
        g.bench_function(BenchmarkId::new("insert+remove", "prio"), |b| {
            b.iter(|| churn(&mut p, &extra))
        });
        g.bench_function(BenchmarkId::new("insert+remove", "interval"), |b| {
            b.iter(|| churn(&mut t, &extra))
        });
        let mut naive = build(NaiveIntervals::new(), &ivs);
        g.bench_function(BenchmarkId::new("insert+remove", "naive"), |b| {
            b.iter(|| churn(&mut naive, &extra))
        });
        assert_eq!((p.len(), t.len(), naive.len()), (n, n, n));
        p.check().unwrap();
        t.check().unwrap();
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
