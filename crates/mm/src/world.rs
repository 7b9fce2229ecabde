//! A world: one machine, its `struct page`s, the mms, the files, the swap
//! device, the flush strategy, the scheduling hook and the lock-order checker.
//! Kernel paths run against it through [`crate::Cpu`]s.

use std::cell::RefCell;
use std::collections::HashMap;
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use vipt_cache::{Access, HwConfig, Machine, Owner, SpaceId, Walker};
use vipt_pte::{DbitLock, Layout, Pte, PAGE_SIZE};

use crate::any_tree::TreeKind;
use crate::arch::Arch;
use crate::error::MmError;
use crate::kernel::Kernel;
use crate::lock::{KLock, LockClass};
use crate::lockdep::LockDep;
use crate::mapping::AddressSpace;
use crate::mm_struct::MmStruct;
use crate::page::Page;
use crate::sched::{Native, Sched};
use crate::strategy::{FlushStrategy, Patched2005};

/// How `arch_get_unmapped_area` colours shared and file mappings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Colouring {
    /// 2.6.14 `get_shared_area`: `vm_start ≡ (mapping << 4) & 0x3FF000`
    /// (mod 4 MiB); `pgoff` ignored.
    #[default]
    Linux2614,
    /// Later kernels: `pgoff` added in, so every page of every mapping of a file
    /// is congruent.
    PgoffAware,
}

/// Everything that decides how a world behaves.
#[derive(Debug, Clone, Copy)]
pub struct WorldConfig {
    /// The kernel profile: its generic mm shape and its parisc hooks (the
    /// world's arch is [`crate::arch::profile`] of it unless replaced with
    /// [`World::set_arch`]). [`WorldConfig::for_kernel`] sets the fields
    /// below that follow from it; setting them otherwise makes a mixed model.
    pub kernel: Kernel,
    /// The hardware.
    pub hw: HwConfig,
    /// The pte layout (32- or 64-bit kernel).
    pub layout: Layout,
    /// Placement of shared mappings.
    pub colouring: Colouring,
    /// The `i_mmap` index of new files.
    pub tree: TreeKind,
    /// Split pte locks (2.6.15) instead of `page_table_lock`.
    pub split_ptlock: bool,
    /// Swap slots on the swap device.
    pub swap_slots: u64,
    /// Start the lock-order checker with the documented 2.6.14 order (else it
    /// learns everything from what runs).
    pub preload_lock_order: bool,
    /// Ablation, off by default: drop every cached line of a frame, dirty or
    /// not, when the page allocator takes it back. No kernel does that; it
    /// exists so a test can show which failures come from lines that outlive
    /// a page ([`Machine::discard_page`]).
    pub scrub_freed: bool,
}

impl WorldConfig {
    /// The configuration of `kernel`: split pte locks, the `i_mmap` index
    /// and flush-only ptes as that kernel has them, the rest default.
    pub fn for_kernel(kernel: Kernel) -> WorldConfig {
        let shape = kernel.mm_shape();
        let d = WorldConfig::default();
        WorldConfig {
            kernel,
            hw: HwConfig {
                honour_flush_pte: kernel.flush_only_ptes(),
                ..d.hw
            },
            tree: shape.tree,
            split_ptlock: shape.split_ptlock,
            ..d
        }
    }

    /// Whether the fields that follow from the kernel are that kernel's.
    pub fn is_mixed(&self) -> bool {
        let k = WorldConfig::for_kernel(self.kernel);
        k.hw.honour_flush_pte != self.hw.honour_flush_pte
            || k.tree != self.tree
            || k.split_ptlock != self.split_ptlock
    }
}

impl Default for WorldConfig {
    /// 2.6.14's configuration.
    fn default() -> Self {
        WorldConfig {
            kernel: Kernel::V2_6_14,
            hw: HwConfig::default(),
            layout: Layout::Bits32,
            colouring: Colouring::Linux2614,
            tree: TreeKind::Prio,
            split_ptlock: false,
            swap_slots: 4096,
            preload_lock_order: true,
            scrub_freed: false,
        }
    }
}

/// A "INEQUIVALENT ALIASES" report of the `modern` strategy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasReport {
    /// The first address flushed.
    pub first: u64,
    /// The inequivalent one.
    pub second: u64,
    /// The file.
    pub file: u32,
}

/// Work counted by the mm layer for the cost model (the cache's own counters
/// count instructions, TLB and cache events).
#[derive(Debug, Default)]
pub struct MmStats {
    /// i_mmap index nodes read by `flush_dcache_page` walks.
    pub tree_nodes_visited: AtomicU64,
    /// Vmas returned by those walks.
    pub vmas_walked: AtomicU64,
    /// `translation_exists` calls.
    pub translation_checks: AtomicU64,
    /// Page flushes through a user address.
    pub user_flushes: AtomicU64,
    /// Page flushes through the tmpalias window.
    pub tmpalias_flushes: AtomicU64,
    /// `flush_dcache_page` calls.
    pub flush_dcache_page_calls: AtomicU64,
    /// Of those, deferred with `PG_dcache_dirty`.
    pub deferred: AtomicU64,
}

impl MmStats {
    /// The counters as (name, value).
    pub fn named(&self) -> Vec<(&'static str, u64)> {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        vec![
            ("tree_nodes_visited", g(&self.tree_nodes_visited)),
            ("vmas_walked", g(&self.vmas_walked)),
            ("translation_checks", g(&self.translation_checks)),
            ("user_flushes", g(&self.user_flushes)),
            ("tmpalias_flushes", g(&self.tmpalias_flushes)),
            ("flush_dcache_page_calls", g(&self.flush_dcache_page_calls)),
            ("deferred", g(&self.deferred)),
        ]
    }
}

#[derive(Debug, Default)]
pub(crate) struct Swap {
    /// Slot offset → (use count, contents written by `swap_writepage`).
    pub(crate) slots: HashMap<u64, (u32, Option<Vec<u8>>)>,
    /// The slot the next `get_swap_page` takes, if free (scenarios choose it).
    pub(crate) next: Option<u64>,
}

/// A world.
pub struct World {
    /// The configuration it was built with.
    pub config: WorldConfig,
    /// The machine: taken from this thread's pool of machines of dropped
    /// worlds (rolled back to their fresh state) or new, and given back to
    /// the pool of the thread that drops the world (see [`fresh_machine`]).
    pub(crate) hw: Mutex<ManuallyDrop<Machine>>,
    /// [`World::with_hw`] gave out the machine mutably: it may have a
    /// checkpoint of its own now, so it is not pooled.
    hw_lent: AtomicBool,
    /// The data cache's address arithmetic (for line-group footprints).
    shape: vipt_cache::Shape,
    pub(crate) sched: Arc<dyn Sched>,
    /// The lock-order checker.
    pub lockdep: LockDep,
    pub(crate) pages: Vec<Page>,
    pub(crate) free: Mutex<Vec<u64>>,
    pub(crate) mms: RwLock<HashMap<u32, Arc<MmStruct>>>,
    pub(crate) files: Mutex<Vec<Arc<AddressSpace>>>,
    strategy: RwLock<Arc<dyn FlushStrategy>>,
    arch: RwLock<Arc<dyn Arch>>,
    /// parisc's `pa_dbit_lock`.
    pub pa_dbit_lock: KLock,
    /// The swapper space (`swapper_space`).
    pub swapper_space: Arc<AddressSpace>,
    pub(crate) swap: Mutex<Swap>,
    /// `swap_lock`: guards the swap map (`get_swap_page`, `swap_free`,
    /// `swap_duplicate`).
    pub swap_lock: KLock,
    pub(crate) alias_reports: Mutex<Vec<AliasReport>>,
    pub(crate) bugs: Mutex<Vec<String>>,
    /// The mm layer's cost counters.
    pub stats: MmStats,
    next_space: AtomicU32,
}

impl Drop for World {
    /// Breaks the file ↔ vma reference cycles of mappings that were never
    /// unmapped (scenario worlds are dropped, not exited), so a world's
    /// memory goes with it.
    fn drop(&mut self) {
        for f in self.files.get_mut().iter() {
            f.unlink_all();
        }
        self.swapper_space.unlink_all();
        // SAFETY: the machine is taken once, here, and `hw` is not used
        // again: the world is being dropped.
        let m = unsafe { ManuallyDrop::take(self.hw.get_mut()) };
        if !*self.hw_lent.get_mut() {
            give_machine(m);
        }
    }
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World")
            .field("config", &self.config)
            .field("strategy", &self.strategy.read().name())
            .field("arch", &self.arch.read().name())
            .finish_non_exhaustive()
    }
}

/// Machines kept per thread for the next world of the same configuration.
const MACHINE_POOL: usize = 8;

thread_local! {
    /// Machines of dropped worlds, each with a checkpoint of its fresh state.
    static MACHINES: RefCell<Vec<Machine>> = const { RefCell::new(Vec::new()) };
}

/// A machine of `config` in its fresh state: one of this thread's pool,
/// rolled back to the checkpoint taken when it was new, or a new one with
/// that checkpoint. The explorer builds a world for every execution; a new
/// machine's zeroed memory, caches and oracle were a third of a reclaim
/// execution's time, while a rollback copies back only what the last world
/// changed.
fn fresh_machine(config: HwConfig) -> Result<Machine, vipt_cache::CacheError> {
    let pooled = MACHINES.with(|p| {
        let mut p = p.borrow_mut();
        let i = p.iter().position(|m| *m.config() == config)?;
        Some(p.swap_remove(i))
    });
    match pooled {
        Some(mut m) => {
            m.rollback();
            Ok(m)
        }
        None => {
            let mut m = Machine::new(config)?;
            m.checkpoint();
            Ok(m)
        }
    }
}

/// Keeps a dropped world's machine for the next world on this thread (its
/// checkpoint is still the fresh state: the world never lent it out).
fn give_machine(m: Machine) {
    // `try_with`: a world dropped while the thread exits frees its machine.
    let _ = MACHINES.try_with(|p| {
        let mut p = p.borrow_mut();
        if p.len() < MACHINE_POOL {
            p.push(m);
        }
    });
}

/// Reserved frame: the zero page.
pub const ZERO_PFN: u64 = 0;

impl World {
    /// A native world with the `patched-2005` strategy.
    pub fn new(config: WorldConfig) -> Result<Arc<World>, MmError> {
        World::with(config, Arc::new(Patched2005), Arc::new(Native))
    }

    /// A world with a strategy and a scheduling hook.
    pub fn with(
        config: WorldConfig,
        strategy: Arc<dyn FlushStrategy>,
        sched: Arc<dyn Sched>,
    ) -> Result<Arc<World>, MmError> {
        if config.hw.frames < 2 {
            return Err(MmError::Invalid("a world needs at least 2 frames".into()));
        }
        let hw = fresh_machine(config.hw)?;
        let pages = (0..config.hw.frames).map(Page::new).collect::<Vec<_>>();
        pages[ZERO_PFN as usize].set_bit(crate::page::pg::PG_RESERVED);
        let bits = config.layout.bits_per_long();
        let mut swapper = AddressSpace::new(0, 0x1030_0000, config.tree, bits, u64::MAX);
        swapper.swapper = true;
        let shape = *hw.shape();
        Ok(Arc::new(World {
            config,
            shape,
            hw: Mutex::new(ManuallyDrop::new(hw)),
            hw_lent: AtomicBool::new(false),
            sched,
            lockdep: if config.preload_lock_order {
                LockDep::with_2614_order()
            } else {
                LockDep::empty()
            },
            // Hand out low frames first.
            free: Mutex::new((1..config.hw.frames).rev().collect()),
            pages,
            mms: RwLock::new(HashMap::new()),
            files: Mutex::new(Vec::new()),
            strategy: RwLock::new(strategy),
            arch: RwLock::new(crate::arch::profile(config.kernel)),
            pa_dbit_lock: KLock::new(LockClass::PaDbitLock, "pa_dbit_lock"),
            swapper_space: Arc::new(swapper),
            swap: Mutex::new(Swap::default()),
            swap_lock: KLock::new(LockClass::SwapLock, "swap_lock"),
            alias_reports: Mutex::new(Vec::new()),
            bugs: Mutex::new(Vec::new()),
            stats: MmStats::default(),
            next_space: AtomicU32::new(1),
        }))
    }

    /// The flush strategy in use.
    pub fn strategy(&self) -> Arc<dyn FlushStrategy> {
        self.strategy.read().clone()
    }

    /// Chooses the flush strategy.
    pub fn set_strategy(&self, s: Arc<dyn FlushStrategy>) {
        *self.strategy.write() = s;
    }

    /// The arch hooks in use.
    pub fn arch(&self) -> Arc<dyn Arch> {
        self.arch.read().clone()
    }

    /// Replaces the arch hooks (a patched profile). Refused if the arch's
    /// kernel is not the one the world was made for: the generic mm is that
    /// kernel's.
    pub fn set_arch(&self, a: Arc<dyn Arch>) -> Result<(), MmError> {
        if a.kernel() != self.config.kernel {
            return Err(MmError::Invalid(format!(
                "arch {} is for kernel {}, the world runs {}",
                a.name(),
                a.kernel(),
                self.config.kernel
            )));
        }
        *self.arch.write() = a;
        Ok(())
    }

    /// The `struct page` of `pfn` (`pfn_to_page`).
    pub fn page(&self, pfn: u64) -> Result<&Page, MmError> {
        self.pages
            .get(pfn as usize)
            .ok_or_else(|| MmError::Invalid(format!("pfn {pfn:#x} beyond memory")))
    }

    /// Runs `f` on the machine (one step; never call the hook inside). The
    /// world's machine is then not reused after the world (`f` may have
    /// taken a checkpoint of its own); [`World::read_hw`] reads without that.
    pub fn with_hw<R>(&self, f: impl FnOnce(&mut Machine) -> R) -> R {
        self.hw_lent.store(true, Ordering::Relaxed);
        f(&mut self.hw.lock())
    }

    /// The data cache's line group of a virtual or physical address
    /// (`Shape::line_group`): what a one-line access's footprint names.
    pub fn line_group(&self, addr: u64) -> u32 {
        self.shape.line_group(addr)
    }

    /// Runs `f` on the machine, reading only (one step).
    pub fn read_hw<R>(&self, f: impl FnOnce(&Machine) -> R) -> R {
        f(&self.hw.lock())
    }

    /// A new file of `pages` pages. Its `kaddr` (and so its 2.6.14 colour) comes
    /// from a model slab; [`World::new_file_at`] chooses it.
    pub fn new_file(&self, pages: u64) -> Arc<AddressSpace> {
        let n = self.files.lock().len() as u64;
        // Successive files land 0x1a40 bytes apart in the model's inode slab:
        // their colours ((kaddr << 4) & 0x3FF000) differ.
        self.new_file_at(pages, 0x1040_0000 + (n + 1) * 0x1a40)
    }

    /// A new file whose `address_space` is at kernel address `kaddr`.
    pub fn new_file_at(&self, pages: u64, kaddr: u64) -> Arc<AddressSpace> {
        let mut files = self.files.lock();
        let id = files.len() as u32 + 1;
        let bits = self.config.layout.bits_per_long();
        let f = Arc::new(AddressSpace::new(id, kaddr, self.config.tree, bits, pages));
        files.push(f.clone());
        f
    }

    /// Every file.
    pub fn files(&self) -> Vec<Arc<AddressSpace>> {
        self.files.lock().clone()
    }

    /// A new, empty mm with a fresh space id.
    pub fn new_mm(&self) -> Arc<MmStruct> {
        let id = self.next_space.fetch_add(1, Ordering::Relaxed);
        let mm = Arc::new(MmStruct::new(
            SpaceId(id),
            self.config.layout,
            self.config.split_ptlock,
        ));
        self.mms.write().insert(id, mm.clone());
        mm
    }

    /// The mm of a space id.
    pub fn mm(&self, space: SpaceId) -> Option<Arc<MmStruct>> {
        self.mms.read().get(&space.0).cloned()
    }

    /// Every mm.
    pub fn mms(&self) -> Vec<Arc<MmStruct>> {
        let mut v: Vec<_> = self.mms.read().values().cloned().collect();
        v.sort_by_key(|m| m.context.0);
        v
    }

    pub(crate) fn drop_mm(&self, space: SpaceId) {
        self.mms.write().remove(&space.0);
    }

    /// Takes a frame from the free list (last freed, first reused) for
    /// `owner`, starting its next life; lines cached from its earlier lives
    /// stay where they are.
    pub(crate) fn alloc_frame(&self, owner: Owner) -> Result<u64, MmError> {
        crate::sched::audit(crate::sched::Object::Allocator, true);
        let pfn = self
            .free
            .lock()
            .pop()
            .ok_or_else(|| MmError::NoMemory("no free frame".into()))?;
        let p = &self.pages[pfn as usize];
        p.reset();
        p.get();
        self.hw.lock().begin_life(pfn, owner)?;
        Ok(pfn)
    }

    /// Gives a frame back when its last reference goes. Its cached lines stay
    /// (clean ones until evicted or flushed, dirty ones until written back),
    /// as on the hardware, unless the `scrub_freed` ablation is on.
    pub(crate) fn free_frame(&self, pfn: u64) {
        if pfn == ZERO_PFN {
            return;
        }
        self.pages[pfn as usize].reset();
        if self.config.scrub_freed {
            let _ = self.hw.lock().discard_page(pfn);
        }
        crate::sched::audit(crate::sched::Object::Allocator, true);
        self.free.lock().push(pfn);
    }

    /// Makes the next `get_swap_page` take slot `offset` (if free): scenarios
    /// use it to build a swap pte with a chosen value.
    pub fn set_next_swap_slot(&self, offset: u64) -> Result<(), MmError> {
        if offset == 0 || offset > self.config.swap_slots {
            return Err(MmError::Invalid(format!(
                "swap slot {offset} outside 1..={}",
                self.config.swap_slots
            )));
        }
        self.swap.lock().next = Some(offset);
        Ok(())
    }

    /// Number of free frames.
    pub fn free_frames(&self) -> usize {
        crate::sched::audit(crate::sched::Object::Allocator, false);
        self.free.lock().len()
    }

    /// Every "INEQUIVALENT ALIASES" report so far.
    pub fn alias_reports(&self) -> Vec<AliasReport> {
        self.alias_reports.lock().clone()
    }

    /// Every kernel invariant failure so far.
    pub fn bugs(&self) -> Vec<String> {
        self.bugs.lock().clone()
    }

    /// Records a failed kernel invariant (`BUG()`) and returns it as an error.
    pub fn bug(&self, msg: String) -> MmError {
        self.bugs.lock().push(msg.clone());
        MmError::Bug(msg)
    }

    /// Stale reads and coherence violations the oracle has seen.
    pub fn oracle_counts(&self) -> (u64, u64) {
        let hw = self.hw.lock();
        (hw.oracle().stale_reads, hw.oracle().violations)
    }

    /// Checks kernel invariants across the world: every index's structure, and
    /// that every present user pte maps a page whose mapcount counts it.
    pub fn check_invariants(&self) -> Result<(), String> {
        for f in self.files() {
            f.check_tree().map_err(|e| format!("file {}: {e}", f.id))?;
        }
        let mut maps: HashMap<u64, i64> = HashMap::new();
        for mm in self.mms() {
            for vma in mm.vmas() {
                for (_, pte) in mm.pgd.scan(vma.vm_start, vma.vm_end) {
                    if vipt_pte::pte_present(pte) {
                        *maps.entry(vipt_pte::pte_pfn(pte)).or_default() += 1;
                    }
                }
            }
        }
        for (pfn, n) in maps {
            let p = self.page(pfn).map_err(|e| e.to_string())?;
            if pfn != ZERO_PFN && p.mapcount() != n {
                return Err(format!(
                    "page {pfn:#x}: {n} present ptes, mapcount {}",
                    p.mapcount()
                ));
            }
        }
        if let Some(b) = self.bugs.lock().first() {
            return Err(b.clone());
        }
        Ok(())
    }
}

impl DbitLock for KLock {
    /// The lock is held only inside one model step (the pte operation), so it
    /// never blocks an explored CPU across a scheduling point.
    fn with_lock<R>(&self, f: impl FnOnce() -> R) -> R {
        self.acquire_blocking(false);
        let r = f();
        self.release(false);
        r
    }
}

/// The TLB miss handlers' view of the page tables: the machine calls it inside
/// a step.
pub(crate) struct MmWalker<'a> {
    pub(crate) world: &'a World,
}

impl Walker for MmWalker<'_> {
    fn walk(&mut self, space: SpaceId, va: u64, access: Access) -> Option<Pte> {
        let mm = self.world.mm(space)?;
        let (_, cell) = mm.pgd.pte_offset(va).ok()??;
        // A walk may set the accessed or dirty bit: a write of the pte.
        crate::sched::audit(
            crate::sched::Object::Pte {
                space: space.0,
                va: va & !(vipt_pte::PAGE_SIZE - 1),
            },
            !matches!(access, Access::NonAccess),
        );
        Some(match access {
            Access::Data | Access::Ifetch => cell.tlb_miss_mark_accessed().unwrap_or(cell.load()),
            Access::DirtyTrap => match cell.dirty_trap(&self.world.pa_dbit_lock) {
                Ok(p) => p,
                Err(f) => f.0,
            },
            Access::NonAccess => cell.load(),
        })
    }
}

/// Bytes of the initial contents of page `index` of file `file`: every 8-byte
/// word says where it is (`file << 48 | index << 16 | word`).
pub fn file_contents(file: u32, index: u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(PAGE_SIZE as usize);
    for w in 0..PAGE_SIZE / 8 {
        let x = (u64::from(file) << 48) | ((index & 0xffff_ffff) << 16) | w;
        v.extend_from_slice(&x.to_be_bytes());
    }
    v
}
