//! The hardware model for C: a machine (memory, VIPT data cache, instruction
//! cache, per-CPU TLBs and tmpalias windows, coherence oracle, counters) with a
//! simple page table of its own — a map from (space, page) to pte, set with
//! `vipt_hw_set_pte` — that the TLB miss handlers walk until the mm layer's real
//! page tables arrive.
//!
//! Faults are errors with their own errno: `-ENXIO` for a data access with no
//! present translation (a page fault), `-EACCES` for one without the right (a
//! protection fault). A nullified flush is not an error: it is reported in
//! `struct vipt_flush`.

use std::ffi::{c_char, c_int};
use std::sync::Arc;

use parking_lot::Mutex;
use vipt_cache::{
    CacheError, CostModel, Counters, Flush, FlushSummary, Geometry, HwConfig, Machine, MapWalker,
    ReportKind, SpaceId, Who,
};
use vipt_pte::Pte;

use crate::error::{errno, guard, need_out, read_in, write_cstr, write_out, Error, Result};
use crate::handle::{from_ptr, to_ptr, HandleTable};

/// `agent` value for a user-mode access.
pub const VIPT_AGENT_USER: u32 = 0;
/// `agent` value for a kernel-mode access.
pub const VIPT_AGENT_KERNEL: u32 = 1;
/// The kernel's space id.
pub const VIPT_KERNEL_SPACE: u32 = 0;
/// `__PAGE_OFFSET`: the kernel's direct map of physical memory starts here.
pub const VIPT_PAGE_OFFSET: u64 = 0x1000_0000;
/// The PA-RISC alias boundary, 4 MiB.
pub const VIPT_SHM_COLOUR: u64 = 0x0040_0000;
/// Report kind: a load returned data other than the latest write.
pub const VIPT_REPORT_STALE_READ: u32 = 0;
/// Report kind: two non-equivalent cached copies of a line differ.
pub const VIPT_REPORT_DIVERGENT_COPIES: u32 = 1;

impl From<CacheError> for Error {
    fn from(e: CacheError) -> Error {
        let errno = match e {
            CacheError::PageFault { .. } => errno::ENXIO,
            CacheError::Protection { .. } => errno::EACCES,
            CacheError::NoSuchCpu(_) | CacheError::NoSuchFrame(_) => errno::ERANGE,
            _ => errno::EINVAL,
        };
        Error::new(errno, e.to_string())
    }
}

/// A cache geometry.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct vipt_geometry {
    /// Total bytes.
    pub size: u64,
    /// Bytes per line.
    pub line_size: u64,
    /// Lines per set.
    pub ways: u32,
    /// The alias boundary in bytes.
    pub alias_boundary: u64,
}

/// How a machine is built; start from `vipt_hw_config_default` or
/// `vipt_hw_config_explore`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct vipt_hw_config {
    /// The data cache.
    pub geometry: vipt_geometry,
    /// The instruction cache.
    pub icache: vipt_geometry,
    /// Physical memory in 4 KiB frames.
    pub frames: u64,
    /// CPUs.
    pub cpus: u32,
    /// Entries per CPU TLB.
    pub tlb_entries: u32,
    /// Insert flush-only translations for `_PAGE_FLUSH` ptes (2.6.14).
    pub honour_flush_pte: bool,
    /// The non-access miss handler knows the tmpalias window.
    pub tmpalias_nonaccess: bool,
    /// Allow speculative move-in events.
    pub speculative_move_in: bool,
    /// Range flushes above this many bytes flush the whole cache.
    pub flush_threshold: u64,
}

fn geometry_in(g: &vipt_geometry) -> Geometry {
    Geometry {
        size: g.size,
        line_size: g.line_size,
        ways: g.ways,
        alias_boundary: g.alias_boundary,
    }
}

fn geometry_out(g: &Geometry) -> vipt_geometry {
    vipt_geometry {
        size: g.size,
        line_size: g.line_size,
        ways: g.ways,
        alias_boundary: g.alias_boundary,
    }
}

fn config_out(c: &HwConfig) -> vipt_hw_config {
    vipt_hw_config {
        geometry: geometry_out(&c.geometry),
        icache: geometry_out(&c.icache),
        frames: c.frames,
        cpus: c.cpus as u32,
        tlb_entries: c.tlb_entries as u32,
        honour_flush_pte: c.honour_flush_pte,
        tmpalias_nonaccess: c.tmpalias_nonaccess,
        speculative_move_in: c.speculative_move_in,
        flush_threshold: c.flush_threshold,
    }
}

/// What one `fdc`, `pdc` or `fic` did.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct vipt_flush {
    /// No translation: the handler nullified the instruction.
    pub nullified: bool,
    /// The line was cached at that colour.
    pub hit: bool,
    /// It was dirty and went back to memory.
    pub wrote_back: bool,
}

/// What a multi-line flush did.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct vipt_flush_summary {
    /// Instructions issued.
    pub issued: u64,
    /// Of which nullified.
    pub nullified: u64,
    /// Lines that were cached and got flushed.
    pub hit: u64,
    /// Lines written back.
    pub written_back: u64,
    /// The whole cache was flushed instead.
    pub whole_cache: bool,
}

fn summary_out(s: FlushSummary) -> vipt_flush_summary {
    vipt_flush_summary {
        issued: s.issued,
        nullified: s.nullified,
        hit: s.hit,
        written_back: s.written_back,
        whole_cache: s.whole_cache,
    }
}

/// The oracle's counts.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct vipt_oracle_counts {
    /// Loads that returned data other than the latest write.
    pub stale_reads: u64,
    /// Stale reads that contradict a declared coherence point.
    pub violations: u64,
    /// Differing non-equivalent copies found by checks.
    pub divergences: u64,
    /// Reports kept (read them with `vipt_hw_report`).
    pub reports: u64,
}

/// One oracle report. Fields that do not apply to `kind` are 0.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct vipt_report {
    /// `VIPT_REPORT_STALE_READ` or `VIPT_REPORT_DIVERGENT_COPIES`.
    pub kind: u32,
    /// The machine step.
    pub step: u64,
    /// The CPU.
    pub cpu: u32,
    /// `VIPT_AGENT_USER` or `VIPT_AGENT_KERNEL`.
    pub agent: u32,
    /// Physical address.
    pub pa: u64,
    /// Virtual address.
    pub va: u64,
    /// Cache set of the copy.
    pub set: u64,
    /// Way of the copy, or -1 if the data came from memory.
    pub way: i64,
    /// Colour of the copy.
    pub colour: u64,
    /// Stale read: the latest write.
    pub expected: u64,
    /// Stale read: what the load returned.
    pub got: u64,
    /// Stale read: the access size.
    pub size: u32,
    /// Stale read: contradicts a coherence point.
    pub violation: bool,
    /// Stale read: an instruction fetch.
    pub ifetch: bool,
    /// Divergent copies: the other copy's colour.
    pub other_colour: u64,
    /// Divergent copies: the other copy's set.
    pub other_set: u64,
}

/// A machine. Opaque: a handle, never a pointer to memory.
pub struct vipt_hw {
    _private: [u8; 0],
}

struct Hw {
    machine: Machine,
    pt: MapWalker,
}

static HWS: HandleTable<Mutex<Hw>> = HandleTable::new("hw");

fn hw(h: *const vipt_hw) -> Result<Arc<Mutex<Hw>>> {
    HWS.get(from_ptr(h))
}

fn who(cpu: u32, agent: u32) -> Result<Who> {
    match agent {
        VIPT_AGENT_USER => Ok(Who::user(cpu as usize)),
        VIPT_AGENT_KERNEL => Ok(Who::kernel(cpu as usize)),
        _ => Err(Error::new(
            errno::EINVAL,
            format!("agent must be 0 (user) or 1 (kernel), not {agent}"),
        )),
    }
}

/// The documented PA-RISC-like default configuration.
#[no_mangle]
pub extern "C" fn vipt_hw_config_default(out: *mut vipt_hw_config) -> c_int {
    guard("vipt_hw_config_default", || {
        write_out(out, "out", config_out(&HwConfig::default()))?;
        Ok(0)
    })
}

/// A small configuration for exploration, `lines_per_page` lines a page.
#[no_mangle]
pub extern "C" fn vipt_hw_config_explore(lines_per_page: u32, out: *mut vipt_hw_config) -> c_int {
    guard("vipt_hw_config_explore", || {
        let c = HwConfig::explore(u64::from(lines_per_page))?;
        write_out(out, "out", config_out(&c))?;
        Ok(0)
    })
}

/// Builds a machine; `-EINVAL` for a geometry that cannot be built.
#[no_mangle]
pub extern "C" fn vipt_hw_new(config: *const vipt_hw_config, out: *mut *mut vipt_hw) -> c_int {
    guard("vipt_hw_new", || {
        need_out(out)?;
        let c = read_in(config, "config")?;
        let config = HwConfig {
            geometry: geometry_in(&c.geometry),
            icache: geometry_in(&c.icache),
            frames: c.frames,
            cpus: c.cpus as usize,
            tlb_entries: c.tlb_entries as usize,
            honour_flush_pte: c.honour_flush_pte,
            tmpalias_nonaccess: c.tmpalias_nonaccess,
            speculative_move_in: c.speculative_move_in,
            flush_threshold: c.flush_threshold,
        };
        let machine = Machine::new(config)?;
        let h = HWS.insert(Mutex::new(Hw {
            machine,
            pt: MapWalker::new(),
        }));
        write_out(out, "out", to_ptr(h))?;
        Ok(0)
    })
}

/// Frees a machine; `-EBADF` if it is NULL or already freed.
#[no_mangle]
pub extern "C" fn vipt_hw_free(h: *mut vipt_hw) -> c_int {
    guard("vipt_hw_free", || {
        HWS.remove(from_ptr(h))?;
        Ok(0)
    })
}

/// Sets the pte mapping the page of `va` in `space` in the machine's page table.
#[no_mangle]
pub extern "C" fn vipt_hw_set_pte(h: *mut vipt_hw, space: u32, va: u64, pte: u64) -> c_int {
    guard("vipt_hw_set_pte", || {
        hw(h)?.lock().pt.set(SpaceId(space), va, Pte::from_raw(pte));
        Ok(0)
    })
}

/// Reads the pte mapping the page of `va` in `space` (0 if none).
#[no_mangle]
pub extern "C" fn vipt_hw_get_pte(h: *const vipt_hw, space: u32, va: u64, out: *mut u64) -> c_int {
    guard("vipt_hw_get_pte", || {
        let v = hw(h)?.lock().pt.get(SpaceId(space), va).raw();
        write_out(out, "out", v)?;
        Ok(0)
    })
}

/// Fills frame `pfn` with `byte` in memory and as the ground truth, uncached.
#[no_mangle]
pub extern "C" fn vipt_hw_fill_page(h: *mut vipt_hw, pfn: u64, byte: u8) -> c_int {
    guard("vipt_hw_fill_page", || {
        hw(h)?.lock().machine.fill_page(pfn, byte)?;
        Ok(0)
    })
}

/// A data load of `size` (1, 2, 4, 8) bytes through `space:va` by `cpu` as `agent`.
#[no_mangle]
pub extern "C" fn vipt_hw_load(
    h: *mut vipt_hw,
    cpu: u32,
    agent: u32,
    space: u32,
    va: u64,
    size: u32,
    out: *mut u64,
) -> c_int {
    guard("vipt_hw_load", || {
        need_out(out)?;
        let w = who(cpu, agent)?;
        let hw = hw(h)?;
        let mut g = hw.lock();
        let Hw { machine, pt } = &mut *g;
        let v = machine.load(w, SpaceId(space), va, size, pt)?;
        write_out(out, "out", v)?;
        Ok(0)
    })
}

/// A data store of the low `size` bytes of `value` through `space:va`.
#[no_mangle]
pub extern "C" fn vipt_hw_store(
    h: *mut vipt_hw,
    cpu: u32,
    agent: u32,
    space: u32,
    va: u64,
    size: u32,
    value: u64,
) -> c_int {
    guard("vipt_hw_store", || {
        let w = who(cpu, agent)?;
        let hw = hw(h)?;
        let mut g = hw.lock();
        let Hw { machine, pt } = &mut *g;
        machine.store(w, SpaceId(space), va, size, value, pt)?;
        Ok(0)
    })
}

fn control(
    h: *mut vipt_hw,
    cpu: u32,
    space: u32,
    va: u64,
    out: *mut vipt_flush,
    which: u8,
) -> Result<c_int> {
    let hw = hw(h)?;
    let mut g = hw.lock();
    let Hw { machine, pt } = &mut *g;
    let w = Who::kernel(cpu as usize);
    let f = match which {
        0 => machine.fdc(w, SpaceId(space), va, pt)?,
        1 => machine.pdc(w, SpaceId(space), va, pt)?,
        _ => machine.fic(w, SpaceId(space), va, pt)?,
    };
    let v = match f {
        Flush::Nullified => vipt_flush {
            nullified: true,
            ..vipt_flush::default()
        },
        Flush::Done { hit, wrote_back } => vipt_flush {
            nullified: false,
            hit,
            wrote_back,
        },
    };
    if !out.is_null() {
        write_out(out, "out", v)?;
    }
    Ok(0)
}

/// `fdc` through `space:va` on `cpu`; what it did goes to `out` (which may be NULL).
#[no_mangle]
pub extern "C" fn vipt_hw_fdc(
    h: *mut vipt_hw,
    cpu: u32,
    space: u32,
    va: u64,
    out: *mut vipt_flush,
) -> c_int {
    guard("vipt_hw_fdc", || control(h, cpu, space, va, out, 0))
}

/// `pdc` (invalidate without write-back); `out` may be NULL.
#[no_mangle]
pub extern "C" fn vipt_hw_pdc(
    h: *mut vipt_hw,
    cpu: u32,
    space: u32,
    va: u64,
    out: *mut vipt_flush,
) -> c_int {
    guard("vipt_hw_pdc", || control(h, cpu, space, va, out, 1))
}

/// `fic` (instruction cache); `out` may be NULL.
#[no_mangle]
pub extern "C" fn vipt_hw_fic(
    h: *mut vipt_hw,
    cpu: u32,
    space: u32,
    va: u64,
    out: *mut vipt_flush,
) -> c_int {
    guard("vipt_hw_fic", || control(h, cpu, space, va, out, 2))
}

/// `fdc` over every line of the page of `va`; `out` may be NULL.
#[no_mangle]
pub extern "C" fn vipt_hw_flush_page(
    h: *mut vipt_hw,
    cpu: u32,
    space: u32,
    va: u64,
    out: *mut vipt_flush_summary,
) -> c_int {
    guard("vipt_hw_flush_page", || {
        let hw = hw(h)?;
        let mut g = hw.lock();
        let Hw { machine, pt } = &mut *g;
        let s = machine.flush_page(Who::kernel(cpu as usize), SpaceId(space), va, pt)?;
        if !out.is_null() {
            write_out(out, "out", summary_out(s))?;
        }
        Ok(0)
    })
}

/// Flushes physical page `pfn` at the colour of user address `uva` through
/// `cpu`'s tmpalias window; `out` may be NULL.
#[no_mangle]
pub extern "C" fn vipt_hw_tmpalias_flush_page(
    h: *mut vipt_hw,
    cpu: u32,
    pfn: u64,
    uva: u64,
    out: *mut vipt_flush_summary,
) -> c_int {
    guard("vipt_hw_tmpalias_flush_page", || {
        let s = hw(h)?
            .lock()
            .machine
            .tmpalias_flush_page(cpu as usize, pfn, uva)?;
        if !out.is_null() {
            write_out(out, "out", summary_out(s))?;
        }
        Ok(0)
    })
}

/// `flush_cache_all`: writes back every dirty line and empties both caches.
#[no_mangle]
pub extern "C" fn vipt_hw_flush_cache_all(h: *mut vipt_hw, cpu: u32) -> c_int {
    guard("vipt_hw_flush_cache_all", || {
        hw(h)?
            .lock()
            .machine
            .flush_cache_all(Who::kernel(cpu as usize))?;
        Ok(0)
    })
}

/// Purges the page of `space:va` from every CPU's TLB (broadcast `pdtlb`);
/// returns how many entries went.
#[no_mangle]
pub extern "C" fn vipt_hw_tlb_purge(h: *mut vipt_hw, space: u32, va: u64) -> c_int {
    guard("vipt_hw_tlb_purge", || {
        Ok(hw(h)?.lock().machine.tlb_purge_all_cpus(SpaceId(space), va) as c_int)
    })
}

/// Speculative move-in of the line of `space:va` through `cpu`'s TLB entry: 1 if
/// a line came in, 0 if it was cached already; `-EINVAL` if switched off or
/// there is no TLB entry.
#[no_mangle]
pub extern "C" fn vipt_hw_move_in(h: *mut vipt_hw, cpu: u32, space: u32, va: u64) -> c_int {
    guard("vipt_hw_move_in", || {
        let moved = hw(h)?
            .lock()
            .machine
            .move_in(cpu as usize, SpaceId(space), va)?;
        Ok(c_int::from(moved))
    })
}

/// Declares `flush_dcache_page(pfn)` complete; returns how many pairs of differing
/// non-equivalent copies of the page are cached.
#[no_mangle]
pub extern "C" fn vipt_hw_coherence_point(h: *mut vipt_hw, cpu: u32, pfn: u64) -> c_int {
    guard("vipt_hw_coherence_point", || {
        let n = hw(h)?
            .lock()
            .machine
            .coherence_point(Who::kernel(cpu as usize), pfn)?;
        Ok(n as c_int)
    })
}

/// The event counters.
#[no_mangle]
pub extern "C" fn vipt_hw_counters(h: *const vipt_hw, out: *mut Counters) -> c_int {
    guard("vipt_hw_counters", || {
        let c = *hw(h)?.lock().machine.counters();
        write_out(out, "out", c)?;
        Ok(0)
    })
}

/// The counters priced in simulated cycles by `model`, or by the documented
/// default model when `model` is NULL.
#[no_mangle]
pub extern "C" fn vipt_hw_cycles(
    h: *const vipt_hw,
    model: *const CostModel,
    out: *mut u64,
) -> c_int {
    guard("vipt_hw_cycles", || {
        let m = if model.is_null() {
            CostModel::default()
        } else {
            read_in(model, "model")?
        };
        let hw = hw(h)?;
        let g = hw.lock();
        let lines = g.machine.shape().lines() as u64;
        write_out(out, "out", m.cycles(g.machine.counters(), lines))?;
        Ok(0)
    })
}

/// The documented default cost model.
#[no_mangle]
pub extern "C" fn vipt_cost_model_default(out: *mut CostModel) -> c_int {
    guard("vipt_cost_model_default", || {
        write_out(out, "out", CostModel::default())?;
        Ok(0)
    })
}

/// The oracle's counts.
#[no_mangle]
pub extern "C" fn vipt_hw_oracle(h: *const vipt_hw, out: *mut vipt_oracle_counts) -> c_int {
    guard("vipt_hw_oracle", || {
        let hw = hw(h)?;
        let g = hw.lock();
        let o = g.machine.oracle();
        let v = vipt_oracle_counts {
            stale_reads: o.stale_reads,
            violations: o.violations,
            divergences: o.divergences,
            reports: o.reports().len() as u64,
        };
        write_out(out, "out", v)?;
        Ok(0)
    })
}

/// Report number `index` (oldest first); `-ERANGE` past the last.
#[no_mangle]
pub extern "C" fn vipt_hw_report(h: *const vipt_hw, index: u64, out: *mut vipt_report) -> c_int {
    guard("vipt_hw_report", || {
        let hw = hw(h)?;
        let g = hw.lock();
        let r = *g
            .machine
            .oracle()
            .reports()
            .get(index as usize)
            .ok_or_else(|| Error::new(errno::ERANGE, format!("no report {index}")))?;
        let mut v = vipt_report {
            step: r.step,
            cpu: r.who.cpu as u32,
            agent: match r.who.agent {
                vipt_cache::Agent::User => VIPT_AGENT_USER,
                vipt_cache::Agent::Kernel => VIPT_AGENT_KERNEL,
            },
            pa: r.pa,
            va: r.va,
            set: r.set as u64,
            way: r.way.map_or(-1, |w| w as i64),
            colour: r.colour,
            ..vipt_report::default()
        };
        match r.kind {
            ReportKind::StaleRead {
                expected,
                got,
                size,
                violation,
                ifetch,
            } => {
                v.kind = VIPT_REPORT_STALE_READ;
                (v.expected, v.got, v.size, v.violation, v.ifetch) =
                    (expected, got, size, violation, ifetch);
            }
            ReportKind::DivergentCopies {
                other_colour,
                other_set,
                ..
            } => {
                v.kind = VIPT_REPORT_DIVERGENT_COPIES;
                (v.other_colour, v.other_set) = (other_colour, other_set as u64);
            }
        }
        write_out(out, "out", v)?;
        Ok(0)
    })
}

/// Writes report number `index` as one line of text into `buf` (NUL-terminated,
/// cut to `len`); returns the full length of the text.
#[no_mangle]
pub extern "C" fn vipt_hw_report_text(
    h: *const vipt_hw,
    index: u64,
    buf: *mut c_char,
    len: usize,
) -> c_int {
    guard("vipt_hw_report_text", || {
        let hw = hw(h)?;
        let g = hw.lock();
        let r = g
            .machine
            .oracle()
            .reports()
            .get(index as usize)
            .ok_or_else(|| Error::new(errno::ERANGE, format!("no report {index}")))?;
        write_cstr(buf, len, &r.to_string())
    })
}

/// Makes the current state the one `vipt_hw_rollback` returns to.
#[no_mangle]
pub extern "C" fn vipt_hw_checkpoint(h: *mut vipt_hw) -> c_int {
    guard("vipt_hw_checkpoint", || {
        hw(h)?.lock().machine.checkpoint();
        Ok(0)
    })
}

/// Returns to the last checkpoint; `-EINVAL` if there is none. The page table set
/// with `vipt_hw_set_pte` is not part of the machine and stays as it is.
#[no_mangle]
pub extern "C" fn vipt_hw_rollback(h: *mut vipt_hw) -> c_int {
    guard("vipt_hw_rollback", || {
        if hw(h)?.lock().machine.rollback() {
            Ok(0)
        } else {
            Err(Error::new(errno::EINVAL, "no checkpoint to roll back to"))
        }
    })
}
