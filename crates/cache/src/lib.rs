//! # vipt-cache: the hardware of the model
//!
//! A PA-RISC-like virtually indexed, physically tagged data cache with its TLBs, as
//! the Linux 2.6.14 parisc kernel met it (`entry.S`, `pacache.S`, `cache.c`), from
//! the facts in the project's `spec/02-cache.md`:
//!
//! - physical memory of real bytes, big-endian, in 4 KiB frames ([`PhysMem`]);
//! - a set-associative write-back, write-allocate data cache with LRU replacement
//!   whose geometry is a value ([`Geometry`]); equivalent aliases (equal modulo the
//!   alias boundary) share lines, non-equivalent aliases hold separate copies; an
//!   instruction cache that fills from memory only;
//! - `fdc`, `pdc`, `fic`, page, range and whole-cache flushes;
//! - per-CPU TLBs and the miss handlers' rules: a present pte is inserted; for a
//!   non-access instruction a `_PAGE_FLUSH` pte gives a flush-only translation;
//!   anything else **nullifies** the instruction, silently ([`Flush::Nullified`]);
//! - the per-CPU tmpalias window, whose translations are manufactured, never walked;
//! - speculative move-in as an explicit event;
//! - the coherence oracle ([`Oracle`]) and the cost counters ([`Counters`],
//!   [`CostModel`]).
//!
//! The invariant the machine keeps: every byte's latest written value is known
//! (the oracle's truth), and each load's result is compared with it; a stale load
//! is a violation only against a declared coherence point.
//!
//! ```
//! use vipt_cache::*;
//! use vipt_pte::{pfn_pte, Layout, PteFlags};
//!
//! let mut m = Machine::new(HwConfig::default()).unwrap();
//! let mut pt = MapWalker::new();
//! let (user, uva, pfn) = (SpaceId(1), 0x4000_3000u64, 5u64);
//! pt.set(user, uva, pfn_pte(Layout::Bits32, pfn, PteFlags::PAGE_SHARED).unwrap());
//! // The user reads the page, then the kernel writes it through its own alias.
//! m.load(Who::user(1), user, uva, 8, &mut pt).unwrap();
//! let kva = Machine::kernel_va(pfn << 12);
//! m.store(Who::kernel(0), KERNEL_SPACE, kva, 8, 42, &mut pt).unwrap();
//! // flush_dcache_page: the kernel alias, then the user alias; then it is coherent.
//! m.flush_page(Who::kernel(0), KERNEL_SPACE, kva, &mut pt).unwrap();
//! m.flush_page(Who::kernel(0), user, uva, &mut pt).unwrap();
//! m.coherence_point(Who::kernel(0), pfn).unwrap();
//! assert_eq!(m.load(Who::user(1), user, uva, 8, &mut pt).unwrap(), 42);
//! assert_eq!(m.oracle().violations, 0);
//! ```
//!
//! ## Speed
//!
//! `cargo bench -p vipt-cache` measures, side by side in one run, resetting an
//! exploration-sized machine by [`Machine::rollback`] against cloning it, and
//! replaying a recorded trace of user loads and stores through the default
//! geometry. See `BENCHMARKS` below for the figures of the last run.
#![doc = include_str!("../BENCHMARKS.md")]

mod audit;
mod cost;
mod error;
mod geometry;
mod machine;
mod mem;
mod oracle;
mod setassoc;
mod tlb;
mod tracked;
mod translate;

pub use audit::{set_hw_audit, HwAccess, HwAudit};
pub use cost::{CostModel, Counters};
pub use error::CacheError;
pub use geometry::{Geometry, Shape, SHM_COLOUR, TMPALIAS_MAP_SIZE, TMPALIAS_MAP_START};
pub use machine::{tmpalias_address, Flush, FlushSummary, HwConfig, Machine, TmpaliasHalf};
pub use mem::PhysMem;
pub use oracle::{Life, Oracle, Owner, Report, ReportKind, REPORT_LIMIT};
pub use tlb::{Tlb, TlbEntry};
pub use translate::{Access, Agent, MapWalker, NoWalker, SpaceId, Walker, Who, KERNEL_SPACE};
