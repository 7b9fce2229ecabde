//! The model in native mode for C: a world that real threads share, its
//! files, processes and CPUs, and the kernel paths that race with
//! `flush_dcache_page` (`write()`, reclaim, truncate, mmap/munmap, user loads
//! and stores with their faults).
//!
//! A `struct vipt_cpu` is one simulated CPU; a C thread uses its own, and a
//! call on a CPU holds it for the call's length (two threads sharing one CPU
//! take turns; a call on a CPU from inside a call on it, such as a strategy
//! callback using its caller's CPU, is `-EDEADLK`). The world itself is shared: its locks are the model's kernel
//! locks over `parking_lot` raw locks, so kernel paths on different CPUs run
//! concurrently as they would on SMP. Races are explored deterministically by
//! `vipt_explore`; native mode finds deadlocks, model `BUG`s and broken
//! invariants under real concurrency.
//!
//! Ranges: a file page `index` is 0 to `VIPT_FILE_MAX_PAGES` − 1 (`-EINVAL`
//! beyond); a `pfn` is 0 to the world's `frames` − 1 and a CPU `id` 0 to its
//! `cpus` − 1 (`-ERANGE` beyond); user addresses are those of the world's
//! 32-bit layout (below 2^32; mappings below `TASK_SIZE`, 0xf0000000); a
//! `value` is any 64-bit value. A user access that no vma allows is SIGSEGV,
//! `-EADDRNOTAVAIL`.

use std::ffi::c_int;
use std::sync::Arc;

use parking_lot::Mutex;
use vipt_cache::HwConfig;
use vipt_mm::filemap::sys_write;
use vipt_mm::mmap::{do_mmap, do_munmap, do_truncate};
use vipt_mm::rmap::{shrink_page, Reclaim};
use vipt_mm::{
    AddressSpace, Colouring, Cpu, MapFlags, MmError, MmStruct, Native, Prot, World, WorldConfig,
};

use crate::error::{
    errno, guard, in_range, need_out, out_of_range, read_in, write_out, Error, Result,
};
use crate::handle::{from_ptr, to_ptr, HandleKind, HandleTable};
use crate::hw::VIPT_MAX_FRAMES;
use crate::model::{strategy_of, VIPT_COLOUR_2614, VIPT_COLOUR_PGOFF_AWARE};

/// A world: memory, cache, TLBs, the mm and a strategy. Opaque: a handle.
pub struct vipt_world {
    _private: [u8; 0],
}

/// A file (its `address_space`) of a world. Opaque: a handle.
pub struct vipt_file {
    _private: [u8; 0],
}

/// A process's `mm_struct`. Opaque: a handle.
pub struct vipt_mm_struct {
    _private: [u8; 0],
}

/// A simulated CPU of a world. Opaque: a handle.
pub struct vipt_cpu {
    _private: [u8; 0],
}

/// `prot`: readable.
pub const VIPT_PROT_READ: u32 = 1;
/// `prot`: writable.
pub const VIPT_PROT_WRITE: u32 = 2;
/// `prot`: executable.
pub const VIPT_PROT_EXEC: u32 = 4;
/// `flags`: shared mapping.
pub const VIPT_MAP_SHARED: u32 = 0x01;
/// `flags`: private (copy-on-write) mapping.
pub const VIPT_MAP_PRIVATE: u32 = 0x02;
/// `flags`: at exactly `addr` (no colouring).
pub const VIPT_MAP_FIXED: u32 = 0x04;
/// `flags`: anonymous memory (`file` NULL).
pub const VIPT_MAP_ANONYMOUS: u32 = 0x10;

/// `vipt_shrink_page` result: the page was freed.
pub const VIPT_RECLAIM_FREED: c_int = 0;
/// `vipt_shrink_page` result: the page stays (referenced, locked or busy).
pub const VIPT_RECLAIM_KEPT: c_int = 1;
/// `vipt_shrink_page` result: the file page is not in the page cache.
pub const VIPT_RECLAIM_NOT_CACHED: c_int = 2;

/// The most pages a file has (`vipt_file_new`, and a `write()` past the end
/// grows it at most to this): 2^20.
pub const VIPT_FILE_MAX_PAGES: u64 = 1 << 20;
/// The most CPUs a world has.
pub const VIPT_WORLD_MAX_CPUS: u32 = 32;

/// How a world is built; start from `vipt_world_params_default`. A field out
/// of range is `-EINVAL`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct vipt_world_params {
    /// Physical memory in 4 KiB frames: 8 to `VIPT_MAX_FRAMES` (2^20).
    pub frames: u64,
    /// Simulated CPUs: 1 to `VIPT_WORLD_MAX_CPUS` (32).
    pub cpus: u32,
    /// The 2.6.14 `_PAGE_FLUSH` semantics (false: 3.x).
    pub page_flush: bool,
    /// Split pte locks (2.6.15 on) instead of `page_table_lock`.
    pub split_ptlock: bool,
    /// `VIPT_COLOUR_2614` or `VIPT_COLOUR_PGOFF_AWARE` (0 or 1).
    pub colour: u32,
}

/// A world's findings so far.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct vipt_world_status {
    /// User loads that returned stale data (expected of a VIPT cache until
    /// the kernel flushes).
    pub stale_loads: u64,
    /// Stale reads after a completed `flush_dcache_page`: coherence
    /// violations, what a strategy must prevent.
    pub violations: u64,
    /// Kernel `BUG`s the model found.
    pub bugs: u64,
    /// Lock-order inversions the checker found.
    pub inversions: u64,
    /// The kernel invariants (index structure, mapcounts) hold.
    pub invariants_ok: bool,
}

static WORLDS: HandleTable<Arc<World>> = HandleTable::new(HandleKind::World);
static FILES: HandleTable<Arc<AddressSpace>> = HandleTable::new(HandleKind::File);
static MMS: HandleTable<Arc<MmStruct>> = HandleTable::new(HandleKind::Mm);
static CPUS: HandleTable<CpuSlot> = HandleTable::new(HandleKind::Cpu);

/// A CPU handle's object: the CPU, and the thread inside a call on it.
struct CpuSlot {
    cpu: Mutex<Cpu>,
    /// The id of the thread holding `cpu` (0: none).
    owner: std::sync::atomic::AtomicU64,
}

impl CpuSlot {
    fn new(cpu: Cpu) -> CpuSlot {
        CpuSlot {
            cpu: Mutex::new(cpu),
            owner: std::sync::atomic::AtomicU64::new(0),
        }
    }
}

/// A number for the calling thread, never 0.
fn thread_number() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    thread_local! {
        static ME: u64 = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    ME.with(|m| *m)
}

fn world(w: *const vipt_world) -> Result<Arc<World>> {
    WORLDS.get(from_ptr(w)).map(|w| (*w).clone())
}

fn file(f: *const vipt_file) -> Result<Arc<AddressSpace>> {
    FILES.get(from_ptr(f)).map(|f| (*f).clone())
}

/// `-EINVAL` unless `index` is a page a file can have.
fn check_index(index: u64) -> Result<()> {
    if index < VIPT_FILE_MAX_PAGES {
        Ok(())
    } else {
        Err(out_of_range(
            "index",
            index,
            "0 to 1048575 (VIPT_FILE_MAX_PAGES - 1)",
        ))
    }
}

/// `-ERANGE` unless the world has frame `pfn`.
fn check_pfn(w: &World, pfn: u64) -> Result<()> {
    let n = w.config.hw.frames;
    if pfn < n {
        Ok(())
    } else {
        Err(Error::new(
            errno::ERANGE,
            format!(
                "pfn {pfn:#x} is out of range: 0 to {:#x} (the world's frames - 1)",
                n - 1
            ),
        ))
    }
}

/// Runs `f` on CPU `c`, held for the call.
///
/// A call on a CPU from inside another call on it on the same thread (a
/// strategy callback using its caller's CPU handle) would wait for itself:
/// it is refused with `-EDEADLK` instead.
fn on_cpu<R>(c: *const vipt_cpu, f: impl FnOnce(&mut Cpu) -> Result<R>) -> Result<R> {
    use std::sync::atomic::Ordering;
    let slot = CPUS.get(from_ptr(c))?;
    let me = thread_number();
    if slot.owner.load(Ordering::Acquire) == me {
        return Err(Error::new(
            errno::EDEADLK,
            "this thread is already inside a call on this CPU (a strategy callback using its caller's CPU?)",
        ));
    }
    let mut g = slot.cpu.lock();
    slot.owner.store(me, Ordering::Release);
    // Cleared even if `f` panics (the guard turns that into -EIO).
    struct Clear<'a>(&'a std::sync::atomic::AtomicU64);
    impl Drop for Clear<'_> {
        fn drop(&mut self) {
            self.0.store(0, std::sync::atomic::Ordering::Release);
        }
    }
    let _clear = Clear(&slot.owner);
    f(&mut g)
}

/// A built-in scenario's world after its set-up, for native use: handles
/// to the world, the file, and the three CPUs of its roles, each to be
/// freed by the caller.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct vipt_scenario_world {
    /// The world, with the scenario's strategy.
    pub world: *mut vipt_world,
    /// The file; its page 1 is the target.
    pub file: *mut vipt_file,
    /// CPU 0, the writer (a kernel thread: `vipt_sys_write` on the file).
    pub writer: *mut vipt_cpu,
    /// CPU 1, in process A: the racer's victim, first in `i_mmap`.
    pub racer: *mut vipt_cpu,
    /// CPU 2, in process B: the user.
    pub user: *mut vipt_cpu,
    /// A's address of the target page.
    pub racer_va: u64,
    /// B's address of the target page.
    pub user_va: u64,
    /// The target page's frame.
    pub pfn: u64,
}

/// Sets scenario `sc` up natively (no explorer): its world, processes and
/// mappings, as an execution starts; the handles into `out`.
#[no_mangle]
pub extern "C" fn vipt_scenario_world(
    sc: *const crate::model::vipt_scenario,
    out: *mut vipt_scenario_world,
) -> c_int {
    guard("vipt_scenario_world", || {
        let sc = crate::model::scenario_of(sc)?;
        need_out(out)?;
        let vipt_explore::target::Target::Builtin(sc) = &*sc else {
            return Err(Error::new(
                errno::EINVAL,
                "a scenario file runs only under the explorer (vipt_explore, vipt_replay)",
            ));
        };
        let n = sc.native().map_err(|e| Error::new(errno::EINVAL, e))?;
        // Each insert fails only when its table is out of handle numbers;
        // then the handles taken so far are given back.
        let world = WORLDS.insert(n.world)?;
        let file = FILES.insert(n.file).inspect_err(|_| {
            let _ = WORLDS.remove(world);
        })?;
        let mut cpus = Vec::with_capacity(3);
        for cpu in [n.writer, n.racer, n.user] {
            match CPUS.insert(CpuSlot::new(cpu)) {
                Ok(h) => cpus.push(h),
                Err(e) => {
                    for h in cpus {
                        let _ = CPUS.remove(h);
                    }
                    let _ = FILES.remove(file);
                    let _ = WORLDS.remove(world);
                    return Err(e);
                }
            }
        }
        let [writer, racer, user] = [cpus[0], cpus[1], cpus[2]];
        let v = vipt_scenario_world {
            world: to_ptr(world),
            file: to_ptr(file),
            writer: to_ptr(writer),
            racer: to_ptr(racer),
            user: to_ptr(user),
            racer_va: n.racer_va,
            user_va: n.user_va,
            pfn: n.pfn,
        };
        write_out(out, "out", v)?;
        Ok(0)
    })
}

fn default_params() -> vipt_world_params {
    vipt_world_params {
        frames: 64,
        cpus: 4,
        page_flush: true,
        split_ptlock: false,
        colour: VIPT_COLOUR_2614,
    }
}

/// The defaults: 64 frames, 4 CPUs, 2.6.14 ptes and colouring,
/// `page_table_lock`.
#[no_mangle]
pub extern "C" fn vipt_world_params_default(out: *mut vipt_world_params) -> c_int {
    guard("vipt_world_params_default", || {
        write_out(out, "out", default_params())?;
        Ok(0)
    })
}

/// A world of `params` (NULL: the defaults) whose `flush_dcache_page` is
/// strategy `s`, for native use by real threads.
#[no_mangle]
pub extern "C" fn vipt_world_new(
    params: *const vipt_world_params,
    s: *const crate::model::vipt_strategy,
    out: *mut *mut vipt_world,
) -> c_int {
    guard("vipt_world_new", || {
        let p = if params.is_null() {
            default_params()
        } else {
            read_in(params, "params")?
        };
        let colouring = match p.colour {
            VIPT_COLOUR_2614 => Colouring::Linux2614,
            VIPT_COLOUR_PGOFF_AWARE => Colouring::PgoffAware,
            c => {
                return Err(out_of_range(
                    "colour",
                    c,
                    "0 (VIPT_COLOUR_2614) or 1 (VIPT_COLOUR_PGOFF_AWARE)",
                ))
            }
        };
        in_range("frames", p.frames, 8, VIPT_MAX_FRAMES)?;
        in_range("cpus", p.cpus, 1, VIPT_WORLD_MAX_CPUS)?;
        let strategy = strategy_of(s)?;
        need_out(out)?;
        let cfg = WorldConfig {
            hw: HwConfig {
                frames: p.frames,
                cpus: p.cpus as usize,
                honour_flush_pte: p.page_flush,
                ..HwConfig::default()
            },
            split_ptlock: p.split_ptlock,
            colouring,
            ..WorldConfig::default()
        };
        let w = World::with(cfg, strategy, Arc::new(Native))?;
        write_out(out, "out", to_ptr(WORLDS.insert(w)?))?;
        Ok(0)
    })
}

/// Frees a world handle; the world lives on while its files, mms and CPUs do.
#[no_mangle]
pub extern "C" fn vipt_world_free(w: *mut vipt_world) -> c_int {
    guard("vipt_world_free", || {
        WORLDS.remove(from_ptr(w))?;
        Ok(0)
    })
}

/// What the world has found so far into `out`.
#[no_mangle]
pub extern "C" fn vipt_world_status(w: *const vipt_world, out: *mut vipt_world_status) -> c_int {
    guard("vipt_world_status", || {
        let w = world(w)?;
        let (stale, violations) = w.oracle_counts();
        let s = vipt_world_status {
            stale_loads: stale,
            violations,
            bugs: w.bugs().len() as u64,
            inversions: w.lockdep.reports().len() as u64,
            invariants_ok: w.check_invariants().is_ok(),
        };
        write_out(out, "out", s)?;
        Ok(0)
    })
}

/// A new file of `pages` pages (1 to `VIPT_FILE_MAX_PAGES`) in world `w`.
#[no_mangle]
pub extern "C" fn vipt_file_new(
    w: *const vipt_world,
    pages: u64,
    out: *mut *mut vipt_file,
) -> c_int {
    guard("vipt_file_new", || {
        let w = world(w)?;
        in_range("pages", pages, 1, VIPT_FILE_MAX_PAGES)?;
        need_out(out)?;
        write_out(out, "out", to_ptr(FILES.insert(w.new_file(pages))?))?;
        Ok(0)
    })
}

/// Frees a file handle.
#[no_mangle]
pub extern "C" fn vipt_file_free(f: *mut vipt_file) -> c_int {
    guard("vipt_file_free", || {
        FILES.remove(from_ptr(f))?;
        Ok(0)
    })
}

/// A new process address space (`mm_struct`) in world `w`.
#[no_mangle]
pub extern "C" fn vipt_mm_new(w: *const vipt_world, out: *mut *mut vipt_mm_struct) -> c_int {
    guard("vipt_mm_new", || {
        let w = world(w)?;
        need_out(out)?;
        write_out(out, "out", to_ptr(MMS.insert(w.new_mm())?))?;
        Ok(0)
    })
}

/// Frees an mm handle (CPUs using it keep it).
#[no_mangle]
pub extern "C" fn vipt_mm_free(mm: *mut vipt_mm_struct) -> c_int {
    guard("vipt_mm_free", || {
        MMS.remove(from_ptr(mm))?;
        Ok(0)
    })
}

/// Simulated CPU `id` (0 to the world's `cpus` − 1; `-ERANGE` otherwise) of
/// world `w`, running no process yet.
#[no_mangle]
pub extern "C" fn vipt_cpu_new(w: *const vipt_world, id: u32, out: *mut *mut vipt_cpu) -> c_int {
    guard("vipt_cpu_new", || {
        let w = world(w)?;
        need_out(out)?;
        let n = w.config.hw.cpus;
        if id as usize >= n {
            return Err(Error::new(
                errno::ERANGE,
                format!(
                    "id {id} is out of range: 0 to {} (the world's cpus - 1)",
                    n - 1
                ),
            ));
        }
        let c = Cpu::new(&w, id as usize)?;
        write_out(out, "out", to_ptr(CPUS.insert(CpuSlot::new(c))?))?;
        Ok(0)
    })
}

/// Frees a CPU handle.
#[no_mangle]
pub extern "C" fn vipt_cpu_free(c: *mut vipt_cpu) -> c_int {
    guard("vipt_cpu_free", || {
        CPUS.remove(from_ptr(c))?;
        Ok(0)
    })
}

/// Makes CPU `c` run in process `mm` (NULL: a kernel thread).
#[no_mangle]
pub extern "C" fn vipt_cpu_use_mm(c: *const vipt_cpu, mm: *const vipt_mm_struct) -> c_int {
    guard("vipt_cpu_use_mm", || {
        let mm = if mm.is_null() {
            None
        } else {
            Some((*MMS.get(from_ptr(mm))?).clone())
        };
        on_cpu(c, |cpu| {
            if let Some(m) = &mm {
                if !Arc::ptr_eq(cpu.world(), &world_of_mm(cpu.world(), m)?) {
                    return Err(Error::new(errno::EINVAL, "the mm is another world's"));
                }
            }
            cpu.use_mm(mm);
            Ok(0)
        })
    })
}

/// The world `m` belongs to, if it is `w` (checked by its space id).
fn world_of_mm(w: &Arc<World>, m: &Arc<MmStruct>) -> Result<Arc<World>> {
    match w.mm(m.context) {
        Some(x) if Arc::ptr_eq(&x, m) => Ok(w.clone()),
        _ => Err(Error::new(errno::EINVAL, "the mm is another world's")),
    }
}

fn same_world(cpu: &Cpu, f: &AddressSpace) -> Result<()> {
    if cpu.world().files().iter().any(|x| std::ptr::eq(&**x, f)) {
        Ok(())
    } else {
        Err(Error::new(errno::EINVAL, "the file is another world's"))
    }
}

/// The top of user space in a world (its layout's `TASK_SIZE`).
fn task_size(w: &World) -> u64 {
    vipt_mm::mmap::task_size(w.config.layout)
}

/// `mmap(addr, len, prot, flags, file, pgoff)` in CPU `c`'s process; the
/// mapped address into `out`. `len`: 1 to `TASK_SIZE` (0xf0000000), rounded up
/// to pages. `addr`: with `VIPT_MAP_FIXED` page aligned with `addr + len` at
/// most `TASK_SIZE`, else a hint below `TASK_SIZE` (0: the default base).
/// `prot`: `VIPT_PROT_*` bits; `flags`: `VIPT_MAP_*` bits, exactly one of
/// `VIPT_MAP_SHARED` and `VIPT_MAP_PRIVATE`, `VIPT_MAP_ANONYMOUS` exactly when
/// `f` is NULL. `pgoff`: the first file page, with `pgoff` + the pages of `len`
/// at most `VIPT_FILE_MAX_PAGES` (the 32-bit layout's file offsets). `-EINVAL`
/// for any of these out of range; `-ENOMEM` when no free range is left.
#[no_mangle]
pub extern "C" fn vipt_mmap(
    c: *const vipt_cpu,
    f: *const vipt_file,
    addr: u64,
    len: u64,
    prot: u32,
    flags: u32,
    pgoff: u64,
    out: *mut u64,
) -> c_int {
    guard("vipt_mmap", || {
        let f = if f.is_null() { None } else { Some(file(f)?) };
        if len == 0 {
            return Err(out_of_range("len", 0, "1 to 0xf0000000 (TASK_SIZE)"));
        }
        let prot = Prot::from_bits(prot)
            .ok_or_else(|| Error::new(errno::EINVAL, format!("prot {prot:#x}")))?;
        let flags = MapFlags::from_bits(flags)
            .ok_or_else(|| Error::new(errno::EINVAL, format!("flags {flags:#x}")))?;
        need_out(out)?;
        let va = on_cpu(c, |cpu| {
            if let Some(f) = &f {
                same_world(cpu, f)?;
            }
            let top = task_size(cpu.world());
            if !flags.contains(MapFlags::MAP_FIXED) && addr >= top {
                // do_mmap takes a hint as it is; keep its arithmetic in range.
                return Err(out_of_range(
                    "addr",
                    format!("{addr:#x}"),
                    &format!("a hint below {top:#x} (TASK_SIZE) without VIPT_MAP_FIXED"),
                ));
            }
            Ok(do_mmap(cpu, f.as_ref(), addr, len, prot, flags, pgoff)?)
        })?;
        write_out(out, "out", va)?;
        Ok(0)
    })
}

/// `munmap(addr, len)` in CPU `c`'s process: `addr` page aligned, `len` 1 up
/// (rounded up to pages), `addr + len` at most `TASK_SIZE` (0xf0000000);
/// `-EINVAL` otherwise.
#[no_mangle]
pub extern "C" fn vipt_munmap(c: *const vipt_cpu, addr: u64, len: u64) -> c_int {
    guard("vipt_munmap", || {
        on_cpu(c, |cpu| Ok(do_munmap(cpu, addr, len)?))?;
        Ok(0)
    })
}

/// A user access's error: SIGSEGV is `-EADDRNOTAVAIL`, with the address.
fn user_error(e: MmError) -> Error {
    match e {
        MmError::Segv { va, write } => Error::new(
            errno::EADDRNOTAVAIL,
            format!(
                "SIGSEGV: a user {} at {va:#x}, which no vma allows",
                if write { "store" } else { "load" }
            ),
        ),
        e => e.into(),
    }
}

fn check_size(size: u32) -> Result<()> {
    if matches!(size, 1 | 2 | 4 | 8) {
        Ok(())
    } else {
        Err(out_of_range("size", size, "1, 2, 4 or 8"))
    }
}

/// `-EINVAL` unless `size` is an access size and `va` a multiple of it.
fn check_user_access(va: u64, size: u32) -> Result<()> {
    check_size(size)?;
    if va % u64::from(size) != 0 {
        return Err(Error::new(
            errno::EINVAL,
            format!("va {va:#x} is not a multiple of size {size}"),
        ));
    }
    Ok(())
}

/// A user load of `size` bytes (1, 2, 4, 8; big-endian) at `va` (any address,
/// a multiple of `size`) in CPU `c`'s process, taking faults;
/// `-EADDRNOTAVAIL` where the process would get SIGSEGV.
#[no_mangle]
pub extern "C" fn vipt_user_load(c: *const vipt_cpu, va: u64, size: u32, out: *mut u64) -> c_int {
    guard("vipt_user_load", || {
        check_user_access(va, size)?;
        need_out(out)?;
        let v = on_cpu(c, |cpu| cpu.user_load(va, size).map_err(user_error))?;
        write_out(out, "out", v)?;
        Ok(0)
    })
}

/// A user store of the low `size` bytes of `value` at `va` (as for
/// `vipt_user_load`), taking faults (copy-on-write included);
/// `-EADDRNOTAVAIL` where the process would get SIGSEGV.
#[no_mangle]
pub extern "C" fn vipt_user_store(c: *const vipt_cpu, va: u64, size: u32, value: u64) -> c_int {
    guard("vipt_user_store", || {
        check_user_access(va, size)?;
        on_cpu(c, |cpu| cpu.user_store(va, size, value).map_err(user_error))?;
        Ok(0)
    })
}

/// `write()` of `value` at the start of every line of file page `index` (0 to
/// `VIPT_FILE_MAX_PAGES` − 1; a write past the end grows the file to `index` +
/// 1 pages): the kernel-alias stores, `flush_dcache_page` (the world's
/// strategy), the coherence point. `value`: any value.
#[no_mangle]
pub extern "C" fn vipt_sys_write(
    c: *const vipt_cpu,
    f: *const vipt_file,
    index: u64,
    value: u64,
) -> c_int {
    guard("vipt_sys_write", || {
        check_index(index)?;
        let f = file(f)?;
        on_cpu(c, |cpu| {
            same_world(cpu, &f)?;
            Ok(sys_write(cpu, &f, index, value)?)
        })?;
        Ok(0)
    })
}

/// kswapd on file page `index` (0 to `VIPT_FILE_MAX_PAGES` − 1):
/// `shrink_page` (`try_to_unmap` every pte, write back, free) unless
/// `ignore_young` is false and a pte is young; returns a `VIPT_RECLAIM_*`.
#[no_mangle]
pub extern "C" fn vipt_shrink_page(
    c: *const vipt_cpu,
    f: *const vipt_file,
    index: u64,
    ignore_young: bool,
) -> c_int {
    guard("vipt_shrink_page", || {
        check_index(index)?;
        let f = file(f)?;
        on_cpu(c, |cpu| {
            same_world(cpu, &f)?;
            let Some(pfn) = f.cached_pfn(index) else {
                return Ok(VIPT_RECLAIM_NOT_CACHED);
            };
            match shrink_page(cpu, pfn, ignore_young) {
                Ok(Reclaim::Freed) => Ok(VIPT_RECLAIM_FREED),
                Ok(_) => Ok(VIPT_RECLAIM_KEPT),
                // Freed by another CPU between the look-up and the lock.
                Err(MmError::Invalid(_)) => Ok(VIPT_RECLAIM_NOT_CACHED),
                Err(e) => Err(e.into()),
            }
        })
    })
}

/// `do_truncate(file, pages)` (`i_sem`, then `vmtruncate`): unmap and drop the file's pages from `pages`
/// (0 to `VIPT_FILE_MAX_PAGES`) on.
#[no_mangle]
pub extern "C" fn vipt_truncate(c: *const vipt_cpu, f: *const vipt_file, pages: u64) -> c_int {
    guard("vipt_truncate", || {
        in_range("pages", pages, 0, VIPT_FILE_MAX_PAGES)?;
        let f = file(f)?;
        on_cpu(c, |cpu| {
            same_world(cpu, &f)?;
            Ok(do_truncate(cpu, &f, pages)?)
        })?;
        Ok(0)
    })
}

/// The page frame caching file page `index` (0 to `VIPT_FILE_MAX_PAGES` − 1)
/// into `out`; `-ENOENT` if the page is not in the page cache.
#[no_mangle]
pub extern "C" fn vipt_file_page(f: *const vipt_file, index: u64, out: *mut u64) -> c_int {
    guard("vipt_file_page", || {
        check_index(index)?;
        let f = file(f)?;
        let pfn = f
            .cached_pfn(index)
            .ok_or_else(|| Error::new(errno::ENOENT, format!("page {index} is not cached")))?;
        write_out(out, "out", pfn)?;
        Ok(0)
    })
}

/// The physical address of `offset` in page `pfn` of the world CPU `cpu` is
/// in, for an access of `size`.
fn kernel_pa(cpu: &Cpu, pfn: u64, offset: u64, size: u32) -> Result<u64> {
    check_size(size)?;
    if offset % u64::from(size) != 0 || offset > vipt_pte::PAGE_SIZE - u64::from(size) {
        return Err(Error::new(
            errno::EINVAL,
            format!(
                "offset {offset:#x} is out of range: a multiple of size {size} from 0 to {:#x}",
                vipt_pte::PAGE_SIZE - u64::from(size)
            ),
        ));
    }
    check_pfn(cpu.world(), pfn)?;
    // pfn < frames <= 2^20 and offset < PAGE_SIZE: no overflow.
    Ok(pfn * vipt_pte::PAGE_SIZE + offset)
}

/// A kernel load through the kernel's alias (`page_address(page) + offset`):
/// `pfn` 0 to the world's `frames` − 1 (`-ERANGE` otherwise), `size` 1, 2, 4
/// or 8, `offset` a multiple of `size` with the access inside the page.
#[no_mangle]
pub extern "C" fn vipt_kernel_load(
    c: *const vipt_cpu,
    pfn: u64,
    offset: u64,
    size: u32,
    out: *mut u64,
) -> c_int {
    guard("vipt_kernel_load", || {
        need_out(out)?;
        let v = on_cpu(c, |cpu| {
            let pa = kernel_pa(cpu, pfn, offset, size)?;
            Ok(cpu.kernel_load(pa, size, "kernel_load")?)
        })?;
        write_out(out, "out", v)?;
        Ok(0)
    })
}

/// A kernel store of the low `size` bytes of `value` through the kernel's
/// alias (arguments as for `vipt_kernel_load`): the write `flush_dcache_page`
/// exists for.
#[no_mangle]
pub extern "C" fn vipt_kernel_store(
    c: *const vipt_cpu,
    pfn: u64,
    offset: u64,
    size: u32,
    value: u64,
) -> c_int {
    guard("vipt_kernel_store", || {
        on_cpu(c, |cpu| {
            let pa = kernel_pa(cpu, pfn, offset, size)?;
            Ok(cpu.kernel_store(pa, size, value, "kernel_store")?)
        })?;
        Ok(0)
    })
}

/// `flush_dcache_page(pfn_to_page(pfn))` with the world's strategy; `pfn` 0
/// to the world's `frames` − 1 (`-ERANGE` otherwise).
#[no_mangle]
pub extern "C" fn vipt_flush_dcache_page(c: *const vipt_cpu, pfn: u64) -> c_int {
    guard("vipt_flush_dcache_page", || {
        on_cpu(c, |cpu| {
            check_pfn(cpu.world(), pfn)?;
            let s = cpu.world().strategy();
            Ok(s.flush_dcache_page(cpu, pfn)?)
        })?;
        Ok(0)
    })
}

/// Declares that the kernel's writes to page `pfn` are complete and flushed:
/// from here on a user load of older data is a violation. Returns the
/// violations found among the cached copies at this point. `pfn` 0 to the
/// world's `frames` − 1 (`-ERANGE` otherwise).
#[no_mangle]
pub extern "C" fn vipt_coherence_point(c: *const vipt_cpu, pfn: u64) -> c_int {
    guard("vipt_coherence_point", || {
        let n = on_cpu(c, |cpu| {
            check_pfn(cpu.world(), pfn)?;
            Ok(cpu.coherence_point(pfn, "coherence_point")?)
        })?;
        c_int::try_from(n)
            .map_err(|_| Error::new(errno::EOVERFLOW, format!("{n} violations exceed INT_MAX")))
    })
}

/// Runs `f` with CPU `c` and the mm it runs in.
fn on_mm<R>(
    c: *const vipt_cpu,
    f: impl FnOnce(&mut Cpu, &MmStruct) -> std::result::Result<R, MmError>,
) -> Result<R> {
    on_cpu(c, |cpu| {
        let mm = current_mm(cpu)?;
        Ok(f(cpu, &mm)?)
    })
}

/// The mm CPU `cpu` runs in; `-EINVAL` for a kernel thread.
fn current_mm(cpu: &Cpu) -> Result<Arc<MmStruct>> {
    cpu.mm()
        .cloned()
        .ok_or_else(|| Error::new(errno::EINVAL, "the CPU runs no process (vipt_cpu_use_mm)"))
}

/// `*pte_offset_map(pmd, va)` in the CPU's mm into `out` (0 if no table);
/// `va` below 2^32 (the world's 32-bit layout; `-EINVAL` beyond), as for every
/// `vipt_mm_*` pte call.
#[no_mangle]
pub extern "C" fn vipt_mm_ptep_get(c: *const vipt_cpu, va: u64, out: *mut u64) -> c_int {
    guard("vipt_mm_ptep_get", || {
        need_out(out)?;
        let p = on_mm(c, |cpu, mm| cpu.pte_read(mm, va, "ptep_get"))?;
        write_out(out, "out", p.raw())?;
        Ok(0)
    })
}

/// `set_pte_at(mm, va, ptep, pte)`: a plain store (rmap and mapcounts are
/// the caller's business, as in the kernel; the world's invariant check
/// reports a present pte that its page's mapcount does not count). `pte` must
/// fit the layout's 32-bit pte word (`-ERANGE` otherwise); `va` as for `vipt_mm_ptep_get` (below 2^32, `-EINVAL` beyond).
#[no_mangle]
pub extern "C" fn vipt_mm_set_pte_at(c: *const vipt_cpu, va: u64, pte: u64) -> c_int {
    guard("vipt_mm_set_pte_at", || {
        on_cpu(c, |cpu| {
            let pte = cpu.world().config.layout.pte(pte)?;
            let mm = current_mm(cpu)?;
            Ok(cpu.set_pte_at(&mm, va, pte, "set_pte_at")?)
        })?;
        Ok(0)
    })
}

/// `ptep_get_and_clear`, the world's arch hook (2.6.14: keeps the pfn and
/// sets `_PAGE_FLUSH`); the old pte into `out`; `va` as for
/// `vipt_mm_ptep_get` (below 2^32, `-EINVAL` beyond).
#[no_mangle]
pub extern "C" fn vipt_mm_ptep_get_and_clear(c: *const vipt_cpu, va: u64, out: *mut u64) -> c_int {
    guard("vipt_mm_ptep_get_and_clear", || {
        need_out(out)?;
        let p = on_mm(c, |cpu, mm| {
            let arch = cpu.arch();
            arch.ptep_get_and_clear(cpu, mm, va)
        })?;
        write_out(out, "out", p.raw())?;
        Ok(0)
    })
}

/// `ptep_set_wrprotect`; `va` as for `vipt_mm_ptep_get` (below 2^32, `-EINVAL` beyond).
#[no_mangle]
pub extern "C" fn vipt_mm_ptep_set_wrprotect(c: *const vipt_cpu, va: u64) -> c_int {
    guard("vipt_mm_ptep_set_wrprotect", || {
        on_mm(c, |cpu, mm| {
            cpu.ptep_set_wrprotect(mm, va, "ptep_set_wrprotect")
        })?;
        Ok(0)
    })
}

/// `ptep_test_and_clear_young`: 1 if the pte was young; `va` as for `vipt_mm_ptep_get` (below 2^32, `-EINVAL` beyond).
#[no_mangle]
pub extern "C" fn vipt_mm_ptep_test_and_clear_young(c: *const vipt_cpu, va: u64) -> c_int {
    guard("vipt_mm_ptep_test_and_clear_young", || {
        let y = on_mm(c, |cpu, mm| {
            cpu.ptep_test_and_clear_young(mm, va, "ptep_test_and_clear_young")
        })?;
        Ok(c_int::from(y))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_are_the_models() {
        assert_eq!(VIPT_PROT_READ, Prot::PROT_READ.bits());
        assert_eq!(VIPT_PROT_WRITE, Prot::PROT_WRITE.bits());
        assert_eq!(VIPT_PROT_EXEC, Prot::PROT_EXEC.bits());
        assert_eq!(VIPT_MAP_SHARED, MapFlags::MAP_SHARED.bits());
        assert_eq!(VIPT_MAP_PRIVATE, MapFlags::MAP_PRIVATE.bits());
        assert_eq!(VIPT_MAP_FIXED, MapFlags::MAP_FIXED.bits());
        assert_eq!(VIPT_MAP_ANONYMOUS, MapFlags::MAP_ANONYMOUS.bits());
    }
}
