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
//!
//! Ranges: `cpu` is 0 to the machine's `cpus` − 1 and `pfn` 0 to its `frames` −
//! 1 (`-ERANGE` otherwise); `space` is any value (0 is the kernel's), `va`,
//! `uva` and `pte` any 64-bit value unless a call says otherwise; an access
//! `size` is 1, 2, 4 or 8 with `va` a multiple of it (`-EINVAL` otherwise).

use std::ffi::{c_char, c_int};
use std::sync::Arc;

use parking_lot::Mutex;
use vipt_cache::{
    CacheError, CostModel, Counters, Flush, FlushSummary, Geometry, HwConfig, Machine, MapWalker,
    ReportKind, SpaceId, Who,
};
use vipt_pte::Pte;

use crate::error::{
    errno, guard, in_range, need_out, out_of_range, read_in, write_cstr, write_out, Error, Result,
};
use crate::handle::{from_ptr, to_ptr, HandleKind, HandleTable};

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
/// Report kind: a load returned data of an earlier life of the frame.
pub const VIPT_REPORT_EARLIER_LIFE: u32 = 2;
/// Report kind: a dirty line of an earlier life was written back over the
/// current life's data.
pub const VIPT_REPORT_EARLIER_WRITEBACK: u32 = 3;
/// Report kind: a page was freed with pageout's copy as its last, and that
/// copy lacked data the CPUs stored (lost).
pub const VIPT_REPORT_LOST_WRITE: u32 = 4;
/// The largest cache `size` the C API builds: 64 MiB.
pub const VIPT_CACHE_MAX_SIZE: u64 = 64 << 20;
/// The most physical frames a machine or world has: 2^20 (4 GiB).
pub const VIPT_MAX_FRAMES: u64 = 1 << 20;
/// The most CPUs a machine has.
pub const VIPT_HW_MAX_CPUS: u32 = 64;
/// The most entries a CPU's TLB has.
pub const VIPT_TLB_MAX_ENTRIES: u32 = 4096;
/// The most cache lines per page (8-byte lines).
pub const VIPT_MAX_LINES_PER_PAGE: u32 = 512;
/// The largest weight of a `struct vipt_cost_model` field: 2^32 − 1 cycles.
pub const VIPT_COST_MAX_WEIGHT: u64 = 0xffff_ffff;

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

/// A cache geometry. `vipt_hw_new` refuses (`-EINVAL`) a field outside its
/// range or a shape that does not fit together.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct vipt_geometry {
    /// Total bytes: 1 to `VIPT_CACHE_MAX_SIZE` (64 MiB), a multiple of `ways`
    /// whose way size (`size / ways`) is a power of two from `line_size` to
    /// `alias_boundary`.
    pub size: u64,
    /// Bytes per line: a power of two, 8 to 4096.
    pub line_size: u64,
    /// Lines per set: at least 1 (and at most `size / line_size`).
    pub ways: u32,
    /// The alias boundary in bytes: a power of two, 4096 to 4 MiB
    /// (`VIPT_SHM_COLOUR`).
    pub alias_boundary: u64,
}

/// How a machine is built; start from `vipt_hw_config_default` or
/// `vipt_hw_config_explore`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct vipt_hw_config {
    /// The data cache (ranges in `struct vipt_geometry`).
    pub geometry: vipt_geometry,
    /// The instruction cache (the same ranges).
    pub icache: vipt_geometry,
    /// Physical memory in 4 KiB frames: 1 to `VIPT_MAX_FRAMES` (2^20).
    pub frames: u64,
    /// CPUs: 1 to `VIPT_HW_MAX_CPUS` (64).
    pub cpus: u32,
    /// Entries per CPU TLB: 1 to `VIPT_TLB_MAX_ENTRIES` (4096).
    pub tlb_entries: u32,
    /// Insert flush-only translations for `_PAGE_FLUSH` ptes (2.6.14).
    pub honour_flush_pte: bool,
    /// The non-access miss handler knows the tmpalias window.
    pub tmpalias_nonaccess: bool,
    /// Allow speculative move-in events.
    pub speculative_move_in: bool,
    /// Range flushes above this many bytes flush the whole cache: any value.
    pub flush_threshold: u64,
}

/// A geometry from C, each field checked against its documented range and the
/// whole by the model's own shape check.
fn geometry_in(name: &str, g: &vipt_geometry) -> Result<Geometry> {
    in_range(&format!("{name}.size"), g.size, 1, VIPT_CACHE_MAX_SIZE)?;
    if !g.line_size.is_power_of_two() || !(8..=4096).contains(&g.line_size) {
        return Err(out_of_range(
            &format!("{name}.line_size"),
            g.line_size,
            "a power of two, 8 to 4096",
        ));
    }
    if g.ways == 0 {
        return Err(out_of_range(&format!("{name}.ways"), 0, "at least 1"));
    }
    if !g.alias_boundary.is_power_of_two() || !(4096..=VIPT_SHM_COLOUR).contains(&g.alias_boundary)
    {
        return Err(out_of_range(
            &format!("{name}.alias_boundary"),
            g.alias_boundary,
            "a power of two, 4096 to 4194304 (4 MiB)",
        ));
    }
    let geometry = Geometry {
        size: g.size,
        line_size: g.line_size,
        ways: g.ways,
        alias_boundary: g.alias_boundary,
    };
    geometry
        .shape()
        .map_err(|e| Error::new(errno::EINVAL, format!("{name}: {e}")))?;
    Ok(geometry)
}

/// A machine's configuration from C, every field checked before anything is
/// built.
fn config_in(c: &vipt_hw_config) -> Result<HwConfig> {
    let geometry = geometry_in("geometry", &c.geometry)?;
    let icache = geometry_in("icache", &c.icache)?;
    in_range("frames", c.frames, 1, VIPT_MAX_FRAMES)?;
    in_range("cpus", c.cpus, 1, VIPT_HW_MAX_CPUS)?;
    in_range("tlb_entries", c.tlb_entries, 1, VIPT_TLB_MAX_ENTRIES)?;
    Ok(HwConfig {
        geometry,
        icache,
        frames: c.frames,
        cpus: c.cpus as usize,
        tlb_entries: c.tlb_entries as usize,
        honour_flush_pte: c.honour_flush_pte,
        tmpalias_nonaccess: c.tmpalias_nonaccess,
        speculative_move_in: c.speculative_move_in,
        flush_threshold: c.flush_threshold,
    })
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
    /// `VIPT_REPORT_STALE_READ`, `VIPT_REPORT_DIVERGENT_COPIES`,
    /// `VIPT_REPORT_EARLIER_LIFE`, `VIPT_REPORT_EARLIER_WRITEBACK` or
    /// `VIPT_REPORT_LOST_WRITE`.
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
    /// Stale read, earlier life, write-back, lost write: the latest data
    /// (the current life's).
    pub expected: u64,
    /// Stale read, earlier life: what the load returned; write-back: what
    /// went to memory; lost write: what memory had.
    pub got: u64,
    /// Stale read, earlier life: the access size.
    pub size: u32,
    /// The report says the kernel failed: a stale read against a coherence
    /// point or a required read, and every life kind.
    pub violation: bool,
    /// Stale read: an instruction fetch.
    pub ifetch: bool,
    /// Divergent copies: the other copy's colour.
    pub other_colour: u64,
    /// Divergent copies: the other copy's set.
    pub other_set: u64,
    /// The frame (`pa >> PAGE_SHIFT`).
    pub pfn: u64,
    /// Earlier life, write-back, lost write: the frame's current life.
    pub life: u32,
    /// Earlier life, write-back: the life the line was filled in.
    pub line_life: u32,
    /// Stale read: a kernel load that must be up to date (a COW copy's source).
    pub required: bool,
}

/// A machine. Opaque: a handle, never a pointer to memory.
pub struct vipt_hw {
    _private: [u8; 0],
}

struct Hw {
    machine: Machine,
    pt: MapWalker,
}

static HWS: HandleTable<Mutex<Hw>> = HandleTable::new(HandleKind::Hw);

fn hw(h: *const vipt_hw) -> Result<Arc<Mutex<Hw>>> {
    HWS.get(from_ptr(h))
}

/// `-ERANGE` unless the machine has CPU `cpu`.
fn check_cpu(m: &Machine, cpu: u32) -> Result<usize> {
    let n = m.config().cpus;
    let c = cpu as usize;
    if c < n {
        Ok(c)
    } else {
        Err(Error::new(
            errno::ERANGE,
            format!(
                "cpu {cpu} is out of range: 0 to {} (this machine's cpus - 1)",
                n - 1
            ),
        ))
    }
}

/// `-ERANGE` unless the machine has frame `pfn`.
fn check_pfn(m: &Machine, pfn: u64) -> Result<()> {
    let n = m.config().frames;
    if pfn < n {
        Ok(())
    } else {
        Err(Error::new(
            errno::ERANGE,
            format!(
                "pfn {pfn:#x} is out of range: 0 to {:#x} (this machine's frames - 1)",
                n - 1
            ),
        ))
    }
}

fn who(m: &Machine, cpu: u32, agent: u32) -> Result<Who> {
    let agent = match agent {
        VIPT_AGENT_USER => vipt_cache::Agent::User,
        VIPT_AGENT_KERNEL => vipt_cache::Agent::Kernel,
        _ => {
            return Err(out_of_range(
                "agent",
                agent,
                "0 (VIPT_AGENT_USER) or 1 (VIPT_AGENT_KERNEL)",
            ))
        }
    };
    let cpu = check_cpu(m, cpu)?;
    Ok(match agent {
        vipt_cache::Agent::User => Who::user(cpu),
        vipt_cache::Agent::Kernel => Who::kernel(cpu),
    })
}

/// `-EINVAL` unless `size` is 1, 2, 4 or 8 and `va` a multiple of it.
fn check_access(va: u64, size: u32) -> Result<()> {
    if !matches!(size, 1 | 2 | 4 | 8) {
        return Err(out_of_range("size", size, "1, 2, 4 or 8"));
    }
    if va % u64::from(size) != 0 {
        return Err(Error::new(
            errno::EINVAL,
            format!("va {va:#x} is not a multiple of size {size}"),
        ));
    }
    Ok(())
}

/// The documented PA-RISC-like default configuration.
#[no_mangle]
pub extern "C" fn vipt_hw_config_default(out: *mut vipt_hw_config) -> c_int {
    guard("vipt_hw_config_default", || {
        write_out(out, "out", config_out(&HwConfig::default()))?;
        Ok(0)
    })
}

/// A small configuration for exploration, `lines_per_page` lines a page (a
/// power of two, 1 to `VIPT_MAX_LINES_PER_PAGE` = 512; `-EINVAL` otherwise).
#[no_mangle]
pub extern "C" fn vipt_hw_config_explore(lines_per_page: u32, out: *mut vipt_hw_config) -> c_int {
    guard("vipt_hw_config_explore", || {
        if !lines_per_page.is_power_of_two() || lines_per_page > VIPT_MAX_LINES_PER_PAGE {
            return Err(out_of_range(
                "lines_per_page",
                lines_per_page,
                "a power of two, 1 to 512",
            ));
        }
        let c = HwConfig::explore(u64::from(lines_per_page))?;
        write_out(out, "out", config_out(&c))?;
        Ok(0)
    })
}

/// Builds a machine; `-EINVAL` for a field outside its range (see `struct
/// vipt_hw_config`) or a geometry that cannot be built.
#[no_mangle]
pub extern "C" fn vipt_hw_new(config: *const vipt_hw_config, out: *mut *mut vipt_hw) -> c_int {
    guard("vipt_hw_new", || {
        need_out(out)?;
        let config = config_in(&read_in(config, "config")?)?;
        let machine = Machine::new(config)?;
        let h = HWS.insert(Mutex::new(Hw {
            machine,
            pt: MapWalker::new(),
        }))?;
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

/// Sets the pte mapping the page of `va` in `space` in the machine's page table
/// (`space`, `va` and `pte`: any values).
#[no_mangle]
pub extern "C" fn vipt_hw_set_pte(h: *mut vipt_hw, space: u32, va: u64, pte: u64) -> c_int {
    guard("vipt_hw_set_pte", || {
        hw(h)?.lock().pt.set(SpaceId(space), va, Pte::from_raw(pte));
        Ok(0)
    })
}

/// Reads the pte mapping the page of `va` in `space` (0 if none; `space` and
/// `va`: any values).
#[no_mangle]
pub extern "C" fn vipt_hw_get_pte(h: *const vipt_hw, space: u32, va: u64, out: *mut u64) -> c_int {
    guard("vipt_hw_get_pte", || {
        let v = hw(h)?.lock().pt.get(SpaceId(space), va).raw();
        write_out(out, "out", v)?;
        Ok(0)
    })
}

/// Fills frame `pfn` (0 to the machine's `frames` − 1, `-ERANGE` otherwise)
/// with `byte` (any value) in memory and as the ground truth, uncached.
#[no_mangle]
pub extern "C" fn vipt_hw_fill_page(h: *mut vipt_hw, pfn: u64, byte: u8) -> c_int {
    guard("vipt_hw_fill_page", || {
        let hw = hw(h)?;
        let mut g = hw.lock();
        check_pfn(&g.machine, pfn)?;
        g.machine.fill_page(pfn, byte)?;
        Ok(0)
    })
}

/// A data load of `size` (1, 2, 4, 8) bytes through `space:va` by `cpu` as
/// `agent`: `cpu` 0 to the machine's `cpus` − 1 (`-ERANGE` otherwise), `agent` `VIPT_AGENT_USER` or `VIPT_AGENT_KERNEL`,
/// `space` any value, `va` any multiple of `size` (`-EINVAL` otherwise).
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
        check_access(va, size)?;
        let hw = hw(h)?;
        let mut g = hw.lock();
        let Hw { machine, pt } = &mut *g;
        let w = who(machine, cpu, agent)?;
        let v = machine.load(w, SpaceId(space), va, size, pt)?;
        write_out(out, "out", v)?;
        Ok(0)
    })
}

/// A data store of the low `size` bytes of `value` (any value) through
/// `space:va` (the other arguments as for `vipt_hw_load`).
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
        check_access(va, size)?;
        let hw = hw(h)?;
        let mut g = hw.lock();
        let Hw { machine, pt } = &mut *g;
        let w = who(machine, cpu, agent)?;
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
    let w = Who::kernel(check_cpu(machine, cpu)?);
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
/// `cpu` 0 to the machine's `cpus` − 1 (`-ERANGE` otherwise); `space` and `va` any values.
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

/// `pdc` (invalidate without write-back); `out` may be NULL; arguments as for
/// `vipt_hw_fdc`.
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

/// `fic` (instruction cache); `out` may be NULL; arguments as for
/// `vipt_hw_fdc`.
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

/// The highest `va` whose page `vipt_hw_flush_page` flushes: the last page of
/// the address space has no end address, so it cannot be.
pub const VIPT_FLUSH_PAGE_MAX_VA: u64 = u64::MAX - 4096;

/// `fdc` over every line of the page of `va` (0 to `VIPT_FLUSH_PAGE_MAX_VA`,
/// any address below the last page; `-EINVAL` otherwise); `out` may be NULL.
/// `cpu` 0 to the machine's `cpus` − 1 (`-ERANGE` otherwise); `space` any value.
#[no_mangle]
pub extern "C" fn vipt_hw_flush_page(
    h: *mut vipt_hw,
    cpu: u32,
    space: u32,
    va: u64,
    out: *mut vipt_flush_summary,
) -> c_int {
    guard("vipt_hw_flush_page", || {
        if va > VIPT_FLUSH_PAGE_MAX_VA {
            return Err(out_of_range(
                "va",
                format!("{va:#x}"),
                "0 to 0xffffffffffffefff (the last page has no end address)",
            ));
        }
        let hw = hw(h)?;
        let mut g = hw.lock();
        let Hw { machine, pt } = &mut *g;
        let w = Who::kernel(check_cpu(machine, cpu)?);
        let s = machine.flush_page(w, SpaceId(space), va, pt)?;
        if !out.is_null() {
            write_out(out, "out", summary_out(s))?;
        }
        Ok(0)
    })
}

/// Flushes physical page `pfn` at the colour of user address `uva` through
/// `cpu`'s tmpalias window; `out` may be NULL. `cpu` 0 to the machine's `cpus` − 1 (`-ERANGE` otherwise),
/// `pfn` 0 to its `frames` − 1 (`-ERANGE` otherwise), `uva` any value.
#[no_mangle]
pub extern "C" fn vipt_hw_tmpalias_flush_page(
    h: *mut vipt_hw,
    cpu: u32,
    pfn: u64,
    uva: u64,
    out: *mut vipt_flush_summary,
) -> c_int {
    guard("vipt_hw_tmpalias_flush_page", || {
        let hw = hw(h)?;
        let mut g = hw.lock();
        let c = check_cpu(&g.machine, cpu)?;
        check_pfn(&g.machine, pfn)?;
        let s = g.machine.tmpalias_flush_page(c, pfn, uva)?;
        if !out.is_null() {
            write_out(out, "out", summary_out(s))?;
        }
        Ok(0)
    })
}

/// `flush_cache_all`: writes back every dirty line and empties both caches;
/// `cpu` 0 to the machine's `cpus` − 1 (`-ERANGE` otherwise).
#[no_mangle]
pub extern "C" fn vipt_hw_flush_cache_all(h: *mut vipt_hw, cpu: u32) -> c_int {
    guard("vipt_hw_flush_cache_all", || {
        let hw = hw(h)?;
        let mut g = hw.lock();
        let w = Who::kernel(check_cpu(&g.machine, cpu)?);
        g.machine.flush_cache_all(w)?;
        Ok(0)
    })
}

/// Purges the page of `space:va` (any values) from every CPU's TLB (broadcast
/// `pdtlb`); returns how many entries went.
#[no_mangle]
pub extern "C" fn vipt_hw_tlb_purge(h: *mut vipt_hw, space: u32, va: u64) -> c_int {
    guard("vipt_hw_tlb_purge", || {
        let n = hw(h)?.lock().machine.tlb_purge_all_cpus(SpaceId(space), va);
        count(n)
    })
}

/// Speculative move-in of the line of `space:va` through `cpu`'s TLB entry: 1 if
/// a line came in, 0 if it was cached already; `-EINVAL` if switched off or
/// there is no TLB entry. `cpu` 0 to the machine's `cpus` − 1 (`-ERANGE` otherwise); `space` and `va`
/// any values.
#[no_mangle]
pub extern "C" fn vipt_hw_move_in(h: *mut vipt_hw, cpu: u32, space: u32, va: u64) -> c_int {
    guard("vipt_hw_move_in", || {
        let hw = hw(h)?;
        let mut g = hw.lock();
        let c = check_cpu(&g.machine, cpu)?;
        let moved = g.machine.move_in(c, SpaceId(space), va)?;
        Ok(c_int::from(moved))
    })
}

/// Declares `flush_dcache_page(pfn)` complete; returns how many pairs of differing
/// non-equivalent copies of the page are cached. `cpu` 0 to the machine's `cpus` − 1 (`-ERANGE` otherwise),
/// `pfn` 0 to its `frames` − 1 (`-ERANGE` otherwise).
#[no_mangle]
pub extern "C" fn vipt_hw_coherence_point(h: *mut vipt_hw, cpu: u32, pfn: u64) -> c_int {
    guard("vipt_hw_coherence_point", || {
        let hw = hw(h)?;
        let mut g = hw.lock();
        let w = Who::kernel(check_cpu(&g.machine, cpu)?);
        check_pfn(&g.machine, pfn)?;
        let n = g.machine.coherence_point(w, pfn)?;
        count(n)
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

/// A count as a non-negative result; `-EOVERFLOW` beyond `INT_MAX`.
fn count(n: usize) -> Result<c_int> {
    c_int::try_from(n)
        .map_err(|_| Error::new(errno::EOVERFLOW, format!("the count {n} exceeds INT_MAX")))
}

/// Cycle weights per event, for `vipt_hw_cycles`; start from
/// `vipt_cost_model_default`. Every weight is 0 to `VIPT_COST_MAX_WEIGHT`
/// (2^32 − 1) cycles.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct vipt_cost_model {
    /// A data access that hits: 1.
    pub cache_hit: u64,
    /// A line filled from memory (also a speculative move-in): 40.
    pub cache_miss: u64,
    /// A dirty line written back: 40.
    pub write_back: u64,
    /// Any cache-control instruction issued (`fdc`, `pdc`, `fic`): 1.
    pub flush_insn: u64,
    /// A nullified instruction: the interruption it costs, 60.
    pub nullified: u64,
    /// A TLB miss handled (walk or manufacture): 30.
    pub tlb_miss: u64,
    /// A TLB insert: 4.
    pub tlb_insert: u64,
    /// A TLB purge (`pdtlb`, broadcast on SMP): 25.
    pub tlb_purge: u64,
    /// Extra for a manufactured tmpalias translation: 2.
    pub tmpalias_insert: u64,
    /// Per line of the cache, for a whole-cache flush (`fdce` loop): 1.
    pub whole_flush_per_line: u64,
}

impl From<CostModel> for vipt_cost_model {
    fn from(m: CostModel) -> vipt_cost_model {
        vipt_cost_model {
            cache_hit: m.cache_hit,
            cache_miss: m.cache_miss,
            write_back: m.write_back,
            flush_insn: m.flush_insn,
            nullified: m.nullified,
            tlb_miss: m.tlb_miss,
            tlb_insert: m.tlb_insert,
            tlb_purge: m.tlb_purge,
            tmpalias_insert: m.tmpalias_insert,
            whole_flush_per_line: m.whole_flush_per_line,
        }
    }
}

impl vipt_cost_model {
    /// The weights with their C names.
    fn weights(&self) -> [(&'static str, u64); 10] {
        [
            ("cache_hit", self.cache_hit),
            ("cache_miss", self.cache_miss),
            ("write_back", self.write_back),
            ("flush_insn", self.flush_insn),
            ("nullified", self.nullified),
            ("tlb_miss", self.tlb_miss),
            ("tlb_insert", self.tlb_insert),
            ("tlb_purge", self.tlb_purge),
            ("tmpalias_insert", self.tmpalias_insert),
            ("whole_flush_per_line", self.whole_flush_per_line),
        ]
    }

    /// `CostModel::cycles` with every step checked: each weight in its range
    /// (`-EINVAL`), the total within 64 bits (`-EOVERFLOW`).
    fn cycles(&self, c: &Counters, cache_lines: u64) -> Result<u64> {
        for (name, w) in self.weights() {
            in_range(name, w, 0, VIPT_COST_MAX_WEIGHT)?;
        }
        let overflow = || {
            Error::new(
                errno::EOVERFLOW,
                "the cycle total does not fit in 64 bits (counters too large for these weights)",
            )
        };
        let sum = |xs: &[u64]| xs.iter().try_fold(0u64, |a, &x| a.checked_add(x));
        let terms = [
            (Some(c.cache_hits), self.cache_hit),
            (c.cache_misses.checked_add(c.move_ins), self.cache_miss),
            (Some(c.lines_written_back), self.write_back),
            (
                sum(&[c.fdc_issued, c.pdc_issued, c.fic_issued]),
                self.flush_insn,
            ),
            (
                sum(&[c.fdc_nullified, c.pdc_nullified, c.fic_nullified]),
                self.nullified,
            ),
            (Some(c.tlb_misses), self.tlb_miss),
            (Some(c.tlb_inserts), self.tlb_insert),
            (Some(c.tlb_purges), self.tlb_purge),
            (Some(c.tmpalias_inserts), self.tmpalias_insert),
            (
                c.whole_cache_flushes.checked_mul(cache_lines),
                self.whole_flush_per_line,
            ),
        ];
        terms.iter().try_fold(0u64, |total, &(n, w)| {
            n.and_then(|n| n.checked_mul(w))
                .and_then(|t| total.checked_add(t))
                .ok_or_else(overflow)
        })
    }
}

/// The counters priced in simulated cycles by `model` (each weight 0 to
/// `VIPT_COST_MAX_WEIGHT`, `-EINVAL` otherwise), or by the documented default
/// model when `model` is NULL; `-EOVERFLOW` if the total does not fit in 64
/// bits.
#[no_mangle]
pub extern "C" fn vipt_hw_cycles(
    h: *const vipt_hw,
    model: *const vipt_cost_model,
    out: *mut u64,
) -> c_int {
    guard("vipt_hw_cycles", || {
        need_out(out)?;
        let m = if model.is_null() {
            vipt_cost_model::from(CostModel::default())
        } else {
            read_in(model, "model")?
        };
        let hw = hw(h)?;
        let g = hw.lock();
        let lines = g.machine.shape().lines() as u64;
        let cycles = m.cycles(g.machine.counters(), lines)?;
        write_out(out, "out", cycles)?;
        Ok(0)
    })
}

/// The documented default cost model.
#[no_mangle]
pub extern "C" fn vipt_cost_model_default(out: *mut vipt_cost_model) -> c_int {
    guard("vipt_cost_model_default", || {
        write_out(out, "out", vipt_cost_model::from(CostModel::default()))?;
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

/// Oracle report `index` of machine `m`; `-ERANGE` past the last.
fn report_at(m: &Machine, index: u64) -> Result<&vipt_cache::Report> {
    let reports = m.oracle().reports();
    usize::try_from(index)
        .ok()
        .and_then(|i| reports.get(i))
        .ok_or_else(|| {
            Error::new(
                errno::ERANGE,
                format!(
                    "index {index} is out of range: {} (the machine has {} reports)",
                    if reports.is_empty() {
                        "none".to_string()
                    } else {
                        format!("0 to {}", reports.len() - 1)
                    },
                    reports.len()
                ),
            )
        })
}

/// Report number `index` (oldest first: 0 to the `reports` count of
/// `vipt_hw_oracle` − 1); `-ERANGE` past the last.
#[no_mangle]
pub extern "C" fn vipt_hw_report(h: *const vipt_hw, index: u64, out: *mut vipt_report) -> c_int {
    guard("vipt_hw_report", || {
        need_out(out)?;
        let hw = hw(h)?;
        let g = hw.lock();
        let r = *report_at(&g.machine, index)?;
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
            pfn: r.pfn(),
            violation: r.is_violation(),
            ..vipt_report::default()
        };
        match r.kind {
            ReportKind::StaleRead {
                expected,
                got,
                size,
                ifetch,
                required,
                ..
            } => {
                v.kind = VIPT_REPORT_STALE_READ;
                (v.expected, v.got, v.size, v.ifetch, v.required) =
                    (expected, got, size, ifetch, required);
            }
            ReportKind::EarlierLife {
                expected,
                got,
                size,
                line_life,
                life,
            } => {
                v.kind = VIPT_REPORT_EARLIER_LIFE;
                (v.expected, v.got, v.size, v.line_life, v.life) =
                    (expected, got, size, line_life, life);
            }
            ReportKind::EarlierWriteBack {
                expected,
                got,
                line_life,
                life,
            } => {
                v.kind = VIPT_REPORT_EARLIER_WRITEBACK;
                (v.expected, v.got, v.line_life, v.life) = (expected, got, line_life, life);
            }
            ReportKind::LostWrite {
                expected,
                got,
                life,
            } => {
                v.kind = VIPT_REPORT_LOST_WRITE;
                (v.expected, v.got, v.life) = (expected, got, life);
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

/// Writes report number `index` (as for `vipt_hw_report`; `-ERANGE` past the
/// last) as one line of text into `buf` (NUL-terminated, cut to `len`; `len`
/// 0 writes nothing and `buf` may then be NULL); returns the full length of the
/// text without the NUL.
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
        let r = report_at(&g.machine, index)?;
        write_cstr(buf, len, &g.machine.oracle().describe(r))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn counters(n: u64) -> Counters {
        Counters {
            cache_hits: n,
            cache_misses: n,
            move_ins: n,
            lines_written_back: n,
            fdc_issued: n,
            pdc_issued: n,
            fic_issued: n,
            fdc_nullified: n,
            tlb_misses: n,
            tlb_inserts: n,
            tlb_purges: n,
            tmpalias_inserts: n,
            whole_cache_flushes: n,
            ..Counters::default()
        }
    }

    /// The checked price is the model's own where nothing overflows.
    #[test]
    fn checked_cycles_are_the_models() {
        let d = CostModel::default();
        let m = vipt_cost_model::from(d);
        for n in [0, 1, 7, 1000, 1 << 20] {
            let c = counters(n);
            assert_eq!(m.cycles(&c, 32768).unwrap(), d.cycles(&c, 32768), "{n}");
        }
    }

    #[test]
    fn cycles_refuse_big_weights_and_overflow() {
        let mut m = vipt_cost_model::from(CostModel::default());
        m.tlb_purge = VIPT_COST_MAX_WEIGHT + 1;
        let e = m.cycles(&counters(1), 1).unwrap_err();
        assert_eq!(e.errno, errno::EINVAL);
        assert!(e.message.contains("tlb_purge 4294967296"), "{}", e.message);
        m.tlb_purge = VIPT_COST_MAX_WEIGHT;
        // Every term fits, their sum does not.
        let e = m.cycles(&counters(1 << 32), 1).unwrap_err();
        assert_eq!(e.errno, errno::EOVERFLOW);
        // A sum of counters that overflows before any weight.
        let c = Counters {
            fdc_issued: u64::MAX,
            pdc_issued: 1,
            ..Counters::default()
        };
        assert_eq!(m.cycles(&c, 1).unwrap_err().errno, errno::EOVERFLOW);
        let c = Counters {
            whole_cache_flushes: u64::MAX,
            ..Counters::default()
        };
        assert_eq!(m.cycles(&c, 2).unwrap_err().errno, errno::EOVERFLOW);
    }

    /// The C struct has the model's layout and defaults, field for field.
    #[test]
    fn cost_model_mirrors_the_models() {
        assert_eq!(
            std::mem::size_of::<vipt_cost_model>(),
            std::mem::size_of::<CostModel>()
        );
        let d = CostModel::default();
        let m = vipt_cost_model::from(d);
        assert_eq!(
            m.weights().map(|(_, w)| w),
            [
                d.cache_hit,
                d.cache_miss,
                d.write_back,
                d.flush_insn,
                d.nullified,
                d.tlb_miss,
                d.tlb_insert,
                d.tlb_purge,
                d.tmpalias_insert,
                d.whole_flush_per_line
            ]
        );
    }

    /// The documented limits are the model's: the defaults pass, the edges of
    /// every range pass, one past them does not, and nothing out of range
    /// reaches `Machine::new`.
    #[test]
    fn config_limits() {
        let d = config_out(&HwConfig::default());
        assert!(config_in(&d).is_ok());
        let e = config_out(&HwConfig::explore(512).unwrap());
        assert!(config_in(&e).is_ok());
        assert!(HwConfig::explore(1024).is_err());
        for (field, ok, bad) in [
            (0, VIPT_MAX_FRAMES, VIPT_MAX_FRAMES + 1),
            (
                1,
                u64::from(VIPT_HW_MAX_CPUS),
                u64::from(VIPT_HW_MAX_CPUS) + 1,
            ),
            (
                2,
                u64::from(VIPT_TLB_MAX_ENTRIES),
                u64::from(VIPT_TLB_MAX_ENTRIES) + 1,
            ),
        ] {
            let set = |v: u64| {
                let mut c = d;
                match field {
                    0 => c.frames = v,
                    1 => c.cpus = v as u32,
                    _ => c.tlb_entries = v as u32,
                }
                c
            };
            let c = config_in(&set(ok)).unwrap();
            assert!(Machine::new(HwConfig { frames: 16, ..c }).is_ok());
            assert_eq!(config_in(&set(bad)).unwrap_err().errno, errno::EINVAL);
            assert_eq!(config_in(&set(0)).unwrap_err().errno, errno::EINVAL);
        }
        let mut c = d;
        c.geometry.size = VIPT_CACHE_MAX_SIZE;
        c.geometry.ways = 16;
        assert!(config_in(&c).is_ok());
        c.geometry.size = VIPT_CACHE_MAX_SIZE * 2;
        c.geometry.ways = 32;
        let e = config_in(&c).unwrap_err();
        assert!(e.message.contains("geometry.size"), "{}", e.message);
    }
}
