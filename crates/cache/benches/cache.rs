#![allow(missing_docs)]
//! Benchmarks of the hardware model (figures go in `BENCHMARKS.md`):
//!
//! - `reset`: an exploration-sized machine returned to its checkpoint after a
//!   typical explorer execution, by `rollback` and, side by side, by a full clone;
//! - `trace`: a recorded trace of user loads and stores replayed through the
//!   default PA-RISC-like geometry, in accesses per second.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use vipt_cache::*;
use vipt_pte::{pfn_pte, Layout, Pte, PteFlags};

const USER: SpaceId = SpaceId(1);
const UVA: u64 = 0x4000_3000;

fn explore_machine() -> (Machine, MapWalker) {
    let config = HwConfig {
        speculative_move_in: true,
        ..HwConfig::explore(4).unwrap()
    };
    let mut m = Machine::new(config).unwrap();
    let mut pt = MapWalker::new();
    for pfn in 0..4 {
        m.fill_page(pfn, pfn as u8).unwrap();
        let pte = pfn_pte(Layout::Bits32, pfn, PteFlags::PAGE_SHARED).unwrap();
        pt.set(USER, UVA + (pfn << 12), pte);
    }
    m.load(Who::user(1), USER, UVA, 8, &mut pt).unwrap();
    m.checkpoint();
    (m, pt)
}

/// One explorer-like execution: write() through the kernel alias, a
/// flush_dcache_page by user address, a coherence point, a user read.
fn execution(m: &mut Machine, pt: &mut MapWalker) {
    let k = Who::kernel(0);
    let kva = Machine::kernel_va(0);
    for off in [0u64, 1024, 2048, 3072] {
        m.store(k, KERNEL_SPACE, kva + off, 8, off, pt).unwrap();
    }
    m.flush_page(k, KERNEL_SPACE, kva, pt).unwrap();
    m.flush_page(k, USER, UVA, pt).unwrap();
    m.coherence_point(k, 0).unwrap();
    black_box(m.load(Who::user(1), USER, UVA, 8, pt).unwrap());
}

fn reset(c: &mut Criterion) {
    let mut g = c.benchmark_group("reset");
    let (mut m, mut pt) = explore_machine();
    g.bench_function("rollback after an execution", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                execution(&mut m, &mut pt);
                let t = Instant::now();
                black_box(m.rollback());
                total += t.elapsed();
            }
            total
        })
    });
    g.bench_function("full clone of the machine", |b| {
        b.iter(|| black_box(m.clone()))
    });
    g.bench_function("execution + rollback", |b| {
        b.iter(|| {
            execution(&mut m, &mut pt);
            m.rollback()
        })
    });
    g.finish();
}

/// A recorded trace of `n` 8-byte user accesses over 128 pages, 80 % loads,
/// each packed in 4 bytes (offset from `UVA`, bit 0 set for a store; stored
/// values derive from the position). `random_percent` of them go anywhere in
/// 512 KiB; the rest sweep on through a 64 KiB working set, as copy, clear and
/// flush loops and user scans do.
fn record_trace(n: usize, random_percent: u64) -> Vec<u32> {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut sweep = 0u64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let off = if x % 100 >= random_percent {
                sweep = (sweep + 8) % (64 << 10);
                sweep
            } else {
                ((x >> 8) % (512 << 10)) / 8 * 8
            };
            off as u32 | u32::from(x % 5 == 0)
        })
        .collect()
}

/// A page table as a flat array, as the mm layer's tables are.
struct ArrayWalker(Vec<Pte>);

impl Walker for ArrayWalker {
    fn walk(&mut self, space: SpaceId, va: u64, access: Access) -> Option<Pte> {
        let i = (va.wrapping_sub(UVA) >> 12) as usize;
        let pte = self.0.get_mut(i).filter(|_| space == USER)?;
        if access == Access::DirtyTrap {
            *pte = Pte::from_raw(pte.raw() | PteFlags::DIRTY.bits());
        }
        Some(*pte)
    }
}

fn trace(c: &mut Criterion) {
    let mut m = Machine::new(HwConfig::default()).unwrap();
    let mut pt = ArrayWalker(
        (0..128u64)
            .map(|page| pfn_pte(Layout::Bits32, page, PteFlags::PAGE_SHARED).unwrap())
            .collect(),
    );
    let mut g = c.benchmark_group("trace");
    for (name, random) in [
        ("local (sweeps, 5% random)", 5),
        ("uniform random over 512 KiB", 100),
    ] {
        let t = record_trace(1 << 20, random);
        g.throughput(Throughput::Elements(t.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                let who = Who::user(0);
                for (i, &r) in t.iter().enumerate() {
                    let va = UVA + u64::from(r & !7);
                    if r & 1 != 0 {
                        m.store(who, USER, va, 8, i as u64, &mut pt).unwrap();
                    } else {
                        black_box(m.load(who, USER, va, 8, &mut pt).unwrap());
                    }
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, reset, trace);
criterion_main!(benches);
