//! Native mode under load (`vipt stress`, and the mm stress test). Real threads run the kernel paths against one
//! world with `parking_lot` locks: two readers with shared mappings, a COW
//! writer, `write()`, and kswapd reclaiming. It finds deadlocks, model bugs
//! and broken invariants under real concurrency; races are found by the
//! explorer, which controls the interleaving.

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use vipt_cache::HwConfig;
use vipt_pte::PAGE_SIZE;

use crate::filemap::sys_write;
use crate::mmap::do_mmap;
use crate::rmap::shrink_page;
use crate::{Cpu, FlushStrategy, MapFlags, MmError, Native, Prot, World, WorldConfig};

/// What a stress run saw.
#[derive(Debug, Clone)]
pub struct StressReport {
    /// The strategy.
    pub strategy: String,
    /// Rounds per thread.
    pub rounds: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// Kernel path calls made (all threads).
    pub calls: u64,
    /// Loads the coherence oracle called stale after a completed flush.
    pub stale_reads: u64,
    /// Model `BUG`s.
    pub bugs: Vec<String>,
    /// Lock-order inversions.
    pub inversions: Vec<String>,
    /// The invariant check at the end.
    pub invariants: Result<(), String>,
}

impl StressReport {
    /// Whether nothing went wrong (stale reads are reported, not failures:
    /// they are the strategy's, not the model's).
    pub fn ok(&self) -> bool {
        self.bugs.is_empty() && self.invariants.is_ok()
    }
}

/// Runs the native stress workload for `rounds` rounds per thread on
/// `kernel`'s profile; `page_flush` overrides its `_PAGE_FLUSH` handling (a
/// mixed model).
pub fn stress(
    strategy: Arc<dyn FlushStrategy>,
    rounds: u64,
    kernel: crate::Kernel,
    page_flush: Option<bool>,
) -> Result<StressReport, String> {
    if rounds == 0 || rounds > 1_000_000 {
        return Err(format!("rounds must be 1 to 1000000, not {rounds}"));
    }
    let name = strategy.name().to_string();
    let base = WorldConfig::for_kernel(kernel);
    let cfg = WorldConfig {
        hw: HwConfig {
            frames: 128,
            cpus: 5,
            honour_flush_pte: page_flush.unwrap_or(base.hw.honour_flush_pte),
            ..base.hw
        },
        ..base
    };
    let w = World::with(cfg, strategy, Arc::new(Native)).map_err(|e| e.to_string())?;
    let f = w.new_file(4);
    let rw = Prot::PROT_READ | Prot::PROT_WRITE;
    let start = Instant::now();
    type Job = Box<dyn FnOnce(&mut Cpu) -> Result<u64, MmError> + Send>;
    let mut jobs: Vec<Job> = Vec::new();
    for _ in 0..2 {
        let f = f.clone();
        jobs.push(Box::new(move |c| {
            let va = do_mmap(c, Some(&f), 0, 4 * PAGE_SIZE, rw, MapFlags::MAP_SHARED, 0)?;
            for i in 0..rounds * 4 {
                c.user_load(va + (i % 4) * PAGE_SIZE, 8)?;
            }
            Ok(rounds * 4)
        }));
    }
    {
        let f = f.clone();
        jobs.push(Box::new(move |c| {
            let va = do_mmap(c, Some(&f), 0, 4 * PAGE_SIZE, rw, MapFlags::MAP_PRIVATE, 0)?;
            for i in 0..rounds {
                c.user_load(va + (i % 4) * PAGE_SIZE, 8)?;
                c.user_store(va + (i % 4) * PAGE_SIZE, 8, i)?;
            }
            Ok(2 * rounds)
        }));
    }
    {
        let f = f.clone();
        jobs.push(Box::new(move |c| {
            for i in 0..rounds {
                sys_write(c, &f, i % 4, i)?;
            }
            Ok(rounds)
        }));
    }
    {
        let f = f.clone();
        jobs.push(Box::new(move |c| {
            let mut n = 0;
            for i in 0..rounds {
                if let Some(pfn) = f.cached_pfn(i % 4) {
                    n += 1;
                    match shrink_page(c, pfn, i % 3 == 0) {
                        // The page went between the lookup and the lock.
                        Ok(_) | Err(MmError::Invalid(_)) => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            Ok(n)
        }));
    }
    let handles: Vec<_> = jobs
        .into_iter()
        .enumerate()
        .map(|(cpu, job)| {
            let w = w.clone();
            thread::spawn(move || -> Result<u64, String> {
                let mut c = Cpu::new(&w, cpu).map_err(|e| e.to_string())?;
                if cpu < 3 {
                    c.use_mm(Some(w.new_mm()));
                }
                job(&mut c).map_err(|e| format!("CPU{cpu}: {e}"))
            })
        })
        .collect();
    let mut calls = 0;
    for h in handles {
        calls += h
            .join()
            .map_err(|_| "a stress thread panicked".to_string())??;
    }
    Ok(StressReport {
        strategy: name,
        rounds,
        elapsed: start.elapsed(),
        calls,
        stale_reads: w.oracle_counts().1,
        bugs: w.bugs(),
        inversions: w.lockdep.reports().iter().map(|i| i.to_string()).collect(),
        invariants: w.check_invariants(),
    })
}
