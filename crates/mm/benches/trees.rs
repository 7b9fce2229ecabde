//! i_mmap index benchmarks: insert, remove and a stabbing query at 10^2 … 10^6
//! intervals, prio tree vs interval tree vs a naive scan, side by side. Also
//! prints each tree's height and the nodes a query reads.
//!
//! `cargo bench -p vipt-mm --bench trees`; figures in `crates/mm/BENCHMARKS.md`.

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion};
use std::hint::black_box;
use vipt_mm::{Interval, IntervalIndex, IntervalTree, NaiveIntervals, PrioTree, StabCount};

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

fn bench(c: &mut Criterion) {
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
        // Insert one interval and remove it again, on the full tree.
        let extra = Interval {
            start: 12345,
            last: 12400,
        };
        g.bench_function(BenchmarkId::new("insert+remove", "prio"), |b| {
            b.iter_batched_ref(
                || p.clone(),
                |p| {
                    let id = p.insert(extra, 0).unwrap();
                    p.remove(id).unwrap();
                },
                BatchSize::LargeInput,
            )
        });
        g.bench_function(BenchmarkId::new("insert+remove", "interval"), |b| {
            b.iter_batched_ref(
                || t.clone(),
                |t| {
                    let id = t.insert(extra, 0).unwrap();
                    t.remove(id).unwrap();
                },
                BatchSize::LargeInput,
            )
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
