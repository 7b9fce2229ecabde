//! The `Cpu` context: which CPU, its current mm, the locks it holds and its
//! interrupt state. Every model operation of a kernel path goes through one of
//! its methods, which first passes the world's scheduling hook with the
//! operation and its footprint, then performs it as one atomic step.

use std::sync::Arc;

use vipt_cache::{
    CacheError, Flush, FlushSummary, Machine, SpaceId, TmpaliasHalf, Who, KERNEL_SPACE,
};
use vipt_pte::{Pte, PAGE_SHIFT, PAGE_SIZE};

use crate::error::MmError;
use crate::lock::KLock;
use crate::lockdep::{ClassKey, Inversion};
use crate::mm_struct::MmStruct;
use crate::sched::{Contended, Footprint, Object, Op, OpKind};
use crate::world::{MmWalker, World};

/// A lock this CPU holds.
#[derive(Debug, Clone)]
pub struct Held {
    /// The lock.
    pub id: crate::lock::LockId,
    /// Its class and subclass.
    pub key: ClassKey,
    /// Its instance name and the function that took it.
    pub name: String,
    /// Held for reading.
    pub shared: bool,
}

/// An execution context.
pub struct Cpu {
    id: usize,
    world: Arc<World>,
    mm: Option<Arc<MmStruct>>,
    held: Vec<Held>,
    irqs_off: u32,
    inversions: Vec<Inversion>,
}

impl std::fmt::Debug for Cpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cpu")
            .field("id", &self.id)
            .field("mm", &self.mm.as_ref().map(|m| m.context.0))
            .field("held", &self.held)
            .finish()
    }
}

impl Cpu {
    /// CPU `id` of `world`, running no mm.
    pub fn new(world: &Arc<World>, id: usize) -> Result<Cpu, MmError> {
        if id >= world.config.hw.cpus {
            return Err(MmError::Hw(CacheError::NoSuchCpu(id)));
        }
        Ok(Cpu {
            id,
            world: world.clone(),
            mm: None,
            held: Vec::new(),
            irqs_off: 0,
            inversions: Vec::new(),
        })
    }

    /// The world's arch hooks ([`World::arch`]): generic paths and hooks
    /// reach every hook through this.
    pub fn arch(&self) -> Arc<dyn crate::arch::Arch> {
        self.world.arch()
    }

    /// `down(&sem)`: a sleeping semaphore taken exclusively (`i_sem`).
    pub fn down(&mut self, l: &KLock, what: &'static str) {
        self.acquire(l, false, 0, what);
    }

    /// The CPU number.
    pub fn id(&self) -> usize {
        self.id
    }

    /// The world.
    pub fn world(&self) -> &Arc<World> {
        &self.world
    }

    /// Switches to `mm` (`switch_mm`: loads its space into `%sr3`).
    pub fn use_mm(&mut self, mm: Option<Arc<MmStruct>>) {
        self.mm = mm;
    }

    /// The current mm.
    pub fn mm(&self) -> Option<&Arc<MmStruct>> {
        self.mm.as_ref()
    }

    pub(crate) fn current_mm(&self) -> Result<Arc<MmStruct>, MmError> {
        self.mm
            .clone()
            .ok_or_else(|| MmError::Invalid(format!("CPU{} runs no mm", self.id)))
    }

    /// The locks held, outermost first.
    pub fn held(&self) -> &[Held] {
        &self.held
    }

    /// Whether interrupts are off.
    pub fn irqs_disabled(&self) -> bool {
        self.irqs_off > 0
    }

    /// Lock-order inversions this CPU's acquisitions found.
    pub fn inversions(&self) -> &[Inversion] {
        &self.inversions
    }

    /// Passes the scheduling hook.
    pub fn point(&self, op: Op) {
        self.world.sched.point(self.id, &op);
    }

    // ---- locks ---------------------------------------------------------------

    /// Tells the order checker that `what` takes `l` now, on top of the held
    /// locks; returns the class key and the name the held-lock stack records.
    fn check_order(&mut self, l: &KLock, subclass: u8, what: &'static str) -> (ClassKey, String) {
        let key = ClassKey {
            class: l.class(),
            subclass,
        };
        let chain: Vec<(ClassKey, &str)> =
            self.held.iter().map(|h| (h.key, h.name.as_str())).collect();
        let name = format!("{} ({what})", l.name());
        let inv = self
            .world
            .lockdep
            .acquire(self.id, what, &chain, (key, &name));
        self.inversions.extend(inv);
        (key, name)
    }

    fn acquire(&mut self, l: &KLock, shared: bool, subclass: u8, what: &'static str) {
        let (key, name) = self.check_order(l, subclass, what);
        let kind = OpKind::Lock {
            class: l.class(),
            shared,
        };
        self.point(Op::new(kind, what, Footprint::write(Object::Lock(l.id()))));
        while !l.try_acquire(shared) {
            match self.world.sched.contended(self.id, l.id()) {
                Contended::Block => {
                    l.acquire_blocking(shared);
                    break;
                }
                Contended::Retry => {}
            }
        }
        self.held.push(Held {
            id: l.id(),
            key,
            name,
            shared,
        });
    }

    fn release(&mut self, l: &KLock, what: &'static str) -> Result<(), MmError> {
        let Some(i) = self.held.iter().rposition(|h| h.id == l.id()) else {
            let msg = format!("CPU{} releases {} it does not hold", self.id, l.name());
            return Err(self.world.bug(msg));
        };
        let h = self.held.remove(i);
        self.point(Op::new(
            OpKind::Unlock { class: l.class() },
            what,
            Footprint::write(Object::Lock(l.id())),
        ));
        l.release(h.shared);
        self.world.sched.released(self.id, l.id());
        Ok(())
    }

    /// `spin_lock`.
    pub fn spin_lock(&mut self, l: &KLock, what: &'static str) {
        self.acquire(l, false, 0, what);
    }

    /// `spin_lock_nested` with a lockdep subclass.
    pub fn spin_lock_nested(&mut self, l: &KLock, subclass: u8, what: &'static str) {
        self.acquire(l, false, subclass, what);
    }

    /// `spin_unlock` (and `up_read`/`up_write`/`read_unlock`/`unlock_page` for the
    /// other kinds: the mode is remembered from the acquisition).
    pub fn spin_unlock(&mut self, l: &KLock, what: &'static str) -> Result<(), MmError> {
        self.release(l, what)
    }

    /// `down_read` / `read_lock`.
    pub fn down_read(&mut self, l: &KLock, what: &'static str) {
        self.acquire(l, true, 0, what);
    }

    /// `down_write` / `write_lock`.
    pub fn down_write(&mut self, l: &KLock, what: &'static str) {
        self.acquire(l, false, 0, what);
    }

    /// `write_lock_irq`: interrupts off, then the lock for writing.
    pub fn write_lock_irq(&mut self, l: &KLock, what: &'static str) {
        self.irqs_off += 1;
        self.acquire(l, false, 0, what);
    }

    /// `read_lock_irq`.
    pub fn read_lock_irq(&mut self, l: &KLock, what: &'static str) {
        self.irqs_off += 1;
        self.acquire(l, true, 0, what);
    }

    /// `write_unlock_irq` / `read_unlock_irq`.
    pub fn unlock_irq(&mut self, l: &KLock, what: &'static str) -> Result<(), MmError> {
        self.release(l, what)?;
        self.irqs_off = self.irqs_off.saturating_sub(1);
        Ok(())
    }

    /// Runs `f` between `take` and `drop` of `l`, dropping it whether `f`
    /// succeeds or not.
    fn scoped<R>(
        &mut self,
        l: &KLock,
        what: &'static str,
        take: fn(&mut Cpu, &KLock, &'static str),
        drop: fn(&mut Cpu, &KLock, &'static str) -> Result<(), MmError>,
        f: impl FnOnce(&mut Cpu) -> Result<R, MmError>,
    ) -> Result<R, MmError> {
        take(self, l, what);
        let r = f(self);
        drop(self, l, what)?;
        r
    }

    /// Runs `f` with `l` held (`spin_lock` … `spin_unlock`), releasing it
    /// whether `f` succeeds or not.
    pub fn locked<R>(
        &mut self,
        l: &KLock,
        what: &'static str,
        f: impl FnOnce(&mut Cpu) -> Result<R, MmError>,
    ) -> Result<R, MmError> {
        self.scoped(l, what, Cpu::spin_lock, Cpu::spin_unlock, f)
    }

    /// Runs `f` with `l` held for reading (`down_read` … `up_read`).
    pub fn read_locked<R>(
        &mut self,
        l: &KLock,
        what: &'static str,
        f: impl FnOnce(&mut Cpu) -> Result<R, MmError>,
    ) -> Result<R, MmError> {
        self.scoped(l, what, Cpu::down_read, Cpu::spin_unlock, f)
    }

    /// Runs `f` inside `write_lock_irq(l)` … `write_unlock_irq(l)`.
    pub fn write_locked_irq<R>(
        &mut self,
        l: &KLock,
        what: &'static str,
        f: impl FnOnce(&mut Cpu) -> Result<R, MmError>,
    ) -> Result<R, MmError> {
        self.scoped(l, what, Cpu::write_lock_irq, Cpu::unlock_irq, f)
    }

    // ---- ptes ------------------------------------------------------------------

    fn pte_fp(mm: &MmStruct, addr: u64, write: bool) -> Footprint {
        let obj = Object::Pte {
            space: mm.context.0,
            va: addr & !(PAGE_SIZE - 1),
        };
        Footprint { obj, write }
    }

    /// Reads the pte of `addr` in `mm` (the zero pte if its table is missing).
    pub fn pte_read(&self, mm: &MmStruct, addr: u64, what: &'static str) -> Result<Pte, MmError> {
        self.point(Op::new(
            OpKind::PteRead,
            what,
            Self::pte_fp(mm, addr, false),
        ));
        Ok(match mm.pgd.pte_offset(addr)? {
            Some((_, c)) => c.load(),
            None => Pte::NONE,
        })
    }

    /// `set_pte_at` (a plain store), allocating the table if needed.
    pub fn set_pte_at(
        &self,
        mm: &MmStruct,
        addr: u64,
        pte: Pte,
        what: &'static str,
    ) -> Result<(), MmError> {
        self.point(Op::new(
            OpKind::PteWrite,
            what,
            Self::pte_fp(mm, addr, true),
        ));
        mm.pgd.pte_alloc(addr)?.1.set_pte_at(pte);
        Ok(())
    }

    /// parisc 2.6.14's `ptep_get_and_clear`: under `pa_dbit_lock`, read the
    /// pte and leave a flush-only one (pfn kept, `_PAGE_PRESENT` cleared,
    /// `_PAGE_FLUSH` set); one step.
    pub fn ptep_get_and_clear_flush_only(
        &mut self,
        mm: &MmStruct,
        addr: u64,
        what: &'static str,
    ) -> Result<Pte, MmError> {
        self.pte_exchange(mm, addr, true, what, |c, l| c.ptep_get_and_clear(l))
    }

    /// A pte read and cleared to zero in one step, under `pa_dbit_lock`
    /// when `dbit_lock` (3.x), else as a plain exchange (6.10).
    pub fn ptep_get_and_zero(
        &mut self,
        mm: &MmStruct,
        addr: u64,
        dbit_lock: bool,
        what: &'static str,
    ) -> Result<Pte, MmError> {
        self.pte_exchange(mm, addr, dbit_lock, what, |c, l| c.ptep_get_and_clear_3x(l))
    }

    /// One step that rewrites `addr`'s pte with `f` and returns the old one
    /// (`Pte::NONE` if its table is missing); `dbit_lock`: the lock-order
    /// checker sees `pa_dbit_lock` taken.
    fn pte_exchange(
        &mut self,
        mm: &MmStruct,
        addr: u64,
        dbit_lock: bool,
        what: &'static str,
        f: impl FnOnce(&vipt_pte::AtomicPte, &KLock) -> Pte,
    ) -> Result<Pte, MmError> {
        self.point(Op::new(
            OpKind::PteWrite,
            what,
            Self::pte_fp(mm, addr, true),
        ));
        let Some((_, cell)) = mm.pgd.pte_offset(addr)? else {
            return Ok(Pte::NONE);
        };
        let world = self.world.clone();
        if dbit_lock {
            self.check_order(&world.pa_dbit_lock, 0, what);
        }
        Ok(f(cell, &world.pa_dbit_lock))
    }

    /// `ptep_set_wrprotect` (compare-and-swap loop).
    pub fn ptep_set_wrprotect(
        &self,
        mm: &MmStruct,
        addr: u64,
        what: &'static str,
    ) -> Result<(), MmError> {
        self.point(Op::new(
            OpKind::PteWrite,
            what,
            Self::pte_fp(mm, addr, true),
        ));
        if let Some((_, c)) = mm.pgd.pte_offset(addr)? {
            c.ptep_set_wrprotect();
        }
        Ok(())
    }

    /// `ptep_test_and_clear_young`.
    pub fn ptep_test_and_clear_young(
        &self,
        mm: &MmStruct,
        addr: u64,
        what: &'static str,
    ) -> Result<bool, MmError> {
        self.point(Op::new(
            OpKind::PteWrite,
            what,
            Self::pte_fp(mm, addr, true),
        ));
        Ok(match mm.pgd.pte_offset(addr)? {
            Some((_, c)) => c.ptep_test_and_clear_young(),
            None => false,
        })
    }

    /// The lock guarding `addr`'s pte in `mm` (allocating its table).
    pub fn pte_lockptr<'m>(&self, mm: &'m MmStruct, addr: u64) -> Result<&'m KLock, MmError> {
        let (t, _) = mm.pgd.pte_alloc(addr)?;
        Ok(mm.pte_lockptr(t))
    }

    // ---- hardware --------------------------------------------------------------

    fn hw<R>(&self, f: impl FnOnce(&mut Machine, &mut MmWalker<'_>) -> R) -> R {
        let mut w = MmWalker { world: &self.world };
        f(&mut self.world.hw.lock(), &mut w)
    }

    /// A whole-page or whole-cache operation: every line group.
    const MEM: Footprint = Footprint::write(Object::Memory);

    /// An access to the line of `addr` (virtual or physical): it may fill,
    /// evict and write back, but only inside the line's group
    /// (`Shape::line_group`; `vipt_cache::HwAccess`).
    fn line_fp(&self, addr: u64) -> Footprint {
        Footprint::write(Object::Line(self.world.line_group(addr)))
    }

    /// The translation of `space:va`: its pte, and the TLB entries for it
    /// that accesses insert and purges remove.
    fn xlate_fp(space: SpaceId, va: u64) -> Footprint {
        Footprint::write(Object::Pte {
            space: space.0,
            va: va & !(PAGE_SIZE - 1),
        })
    }

    fn lines(&self) -> u64 {
        self.world.config.hw.geometry.line_size
    }

    /// One user load or store attempt through `space` (no fault handling).
    pub(crate) fn user_access(
        &self,
        space: SpaceId,
        va: u64,
        size: u32,
        store: Option<u64>,
        what: &'static str,
    ) -> Result<u64, CacheError> {
        let kind = if store.is_some() {
            OpKind::UserStore
        } else {
            OpKind::UserLoad
        };
        // A TLB miss sets the accessed bit and inserts an entry: a write.
        self.point(Op::two(
            kind,
            what,
            self.line_fp(va),
            Self::xlate_fp(space, va),
        ));
        let who = Who::user(self.id);
        self.hw(|m, w| match store {
            Some(v) => m.store(who, space, va, size, v, w).map(|_| v),
            None => m.load(who, space, va, size, w),
        })
    }

    /// A kernel load through the direct map (`*(u64 *)__va(pa)`).
    pub fn kernel_load(&self, pa: u64, size: u32, what: &'static str) -> Result<u64, MmError> {
        let va = Machine::kernel_va(pa);
        self.point(Op::new(OpKind::KernelAccess, what, self.line_fp(va)));
        let who = Who::kernel(self.id);
        Ok(self.hw(|m, w| m.load(who, KERNEL_SPACE, va, size, w))?)
    }

    /// A kernel store through the direct map.
    pub fn kernel_store(
        &self,
        pa: u64,
        size: u32,
        v: u64,
        what: &'static str,
    ) -> Result<(), MmError> {
        let va = Machine::kernel_va(pa);
        self.point(Op::new(OpKind::KernelAccess, what, self.line_fp(va)));
        let who = Who::kernel(self.id);
        Ok(self.hw(|m, w| m.store(who, KERNEL_SPACE, va, size, v, w))?)
    }

    /// One `fdc` through `space:va`.
    pub fn fdc(&self, space: SpaceId, va: u64, what: &'static str) -> Result<Flush, MmError> {
        // A user-address fdc walks (and may insert) the translation.
        let xlate = if space == KERNEL_SPACE {
            Footprint::NONE
        } else {
            Self::xlate_fp(space, va)
        };
        self.point(Op::two(OpKind::Fdc, what, self.line_fp(va), xlate));
        let who = if space == KERNEL_SPACE {
            Who::kernel(self.id)
        } else {
            Who::user(self.id)
        };
        Ok(self.hw(|m, w| m.fdc(who, space, va, w))?)
    }

    /// `fdc` over every line of the page at `va` in `space`, one step per line
    /// (`flush_user_dcache_page` for a user space, `flush_kernel_dcache_page`
    /// for the kernel's).
    pub fn flush_page_lines(
        &self,
        space: SpaceId,
        va: u64,
        what: &'static str,
    ) -> Result<FlushSummary, MmError> {
        let start = va & !(PAGE_SIZE - 1);
        let mut sum = FlushSummary::default();
        let mut a = start;
        while a < start + PAGE_SIZE {
            sum.add(self.fdc(space, a, what)?);
            a += self.lines();
        }
        Ok(sum)
    }

    /// `flush_kernel_dcache_page(page_address(page))`.
    pub fn flush_kernel_dcache_page(
        &self,
        pfn: u64,
        what: &'static str,
    ) -> Result<FlushSummary, MmError> {
        self.flush_page_lines(KERNEL_SPACE, Machine::kernel_va(pfn << PAGE_SHIFT), what)
    }

    /// Flushes `pfn` at the colour of user address `uva` through this CPU's
    /// tmpalias window (`flush_dcache_page_asm(phys, vaddr)`): one step to load
    /// the window, one per line.
    pub fn tmpalias_flush(
        &self,
        pfn: u64,
        uva: u64,
        what: &'static str,
    ) -> Result<FlushSummary, MmError> {
        self.point(Op::new(
            OpKind::TmpaliasMap,
            what,
            Footprint::write(Object::Tlb(self.id)),
        ));
        let alias = self.hw(|m, _| m.tmpalias_map(self.id, TmpaliasHalf::To, pfn, uva))?;
        self.flush_page_lines(KERNEL_SPACE, alias, what)
    }

    /// `flush_tlb_page`: purges the page on every CPU (SMP broadcast).
    pub fn flush_tlb_page(&self, space: SpaceId, va: u64, what: &'static str) {
        self.point(Op::two(
            OpKind::TlbPurge,
            what,
            Self::xlate_fp(space, va),
            Footprint::write(Object::Tlb(usize::MAX)),
        ));
        self.hw(|m, _| m.tlb_purge_all_cpus(space, va));
    }

    /// `flush_tlb_all`: purges every CPU's whole TLB (one step).
    pub fn flush_tlb_all(&self, what: &'static str) -> Result<(), MmError> {
        // Every entry of every CPU: every translation.
        self.point(Op::new(
            OpKind::TlbPurge,
            what,
            Footprint::write(Object::Translations),
        ));
        self.hw(|m, _| {
            for c in 0..m.config().cpus {
                m.tlb_purge_all(c)?;
            }
            Ok::<(), CacheError>(())
        })?;
        Ok(())
    }

    /// `flush_kernel_icache_page(page_address(page))`: `fic` over every line
    /// of the kernel alias, one step per line.
    pub fn flush_kernel_icache_page(&self, pfn: u64, what: &'static str) -> Result<(), MmError> {
        let start = Machine::kernel_va(pfn << PAGE_SHIFT);
        let line = self.world.config.hw.icache.line_size;
        let mut a = start;
        while a < start + PAGE_SIZE {
            self.point(Op::new(OpKind::Fdc, what, Self::MEM));
            self.hw(|m, w| m.fic(Who::kernel(self.id), KERNEL_SPACE, a, w))?;
            a += line;
        }
        Ok(())
    }

    /// `purge_kernel_dcache_page(page_address(page))`: `pdc` (discard
    /// without write-back) over every line of the kernel alias.
    pub fn purge_kernel_dcache_page(&self, pfn: u64, what: &'static str) -> Result<(), MmError> {
        let start = Machine::kernel_va(pfn << PAGE_SHIFT);
        let mut a = start;
        while a < start + PAGE_SIZE {
            self.point(Op::new(OpKind::Fdc, what, self.line_fp(a)));
            self.hw(|m, w| m.pdc(Who::kernel(self.id), KERNEL_SPACE, a, w))?;
            a += self.lines();
        }
        Ok(())
    }

    /// `clear_user_page_asm(page, vaddr)`: zeroes `pfn` through this CPU's
    /// tmpalias window at the colour of user address `uva` (one step to
    /// load the window, one for the stores).
    pub fn tmpalias_clear(&self, pfn: u64, uva: u64, what: &'static str) -> Result<(), MmError> {
        self.point(Op::new(
            OpKind::TmpaliasMap,
            what,
            Footprint::write(Object::Tlb(self.id)),
        ));
        self.point(Op::two(
            OpKind::KernelAccess,
            what,
            Footprint::write(Object::Page(pfn)),
            Self::MEM,
        ));
        Ok(self.hw(|m, _| m.tmpalias_clear_page(self.id, pfn, uva))?)
    }

    /// `flush_cache_all`.
    pub fn flush_cache_all(&self, what: &'static str) -> Result<(), MmError> {
        self.point(Op::new(OpKind::FlushAll, what, Self::MEM));
        Ok(self.hw(|m, _| m.flush_cache_all(Who::kernel(self.id)))?)
    }

    /// The oracle's coherence point: `flush_dcache_page(pfn)` has completed.
    pub fn coherence_point(&self, pfn: u64, what: &'static str) -> Result<usize, MmError> {
        // The oracle judges loads against this point: ordered with every
        // cache access.
        self.point(Op::new(OpKind::CoherencePoint, what, Self::MEM));
        Ok(self.hw(|m, _| m.coherence_point(Who::kernel(self.id), pfn))?)
    }

    /// A burst of speculative move-ins through every valid TLB entry of every
    /// CPU (flush-only ones too if `flush_only`): see
    /// `Machine::move_in_burst`. Returns how many lines came in.
    pub fn move_in_burst(&self, flush_only: bool, what: &'static str) -> Result<u64, MmError> {
        self.point(Op::two(
            OpKind::MoveIn,
            what,
            Self::MEM,
            Footprint::read(Object::Translations),
        ));
        Ok(self.hw(|m, _| m.move_in_burst(flush_only))?)
    }

    /// A speculative move-in of the line of `space:va` through this CPU's TLB.
    pub fn move_in(&self, space: SpaceId, va: u64, what: &'static str) -> Result<bool, MmError> {
        self.point(Op::two(
            OpKind::MoveIn,
            what,
            self.line_fp(va),
            Self::xlate_fp(space, va),
        ));
        Ok(self.hw(|m, _| m.move_in(self.id, space, va))?)
    }

    /// Writes a frame's contents in memory with nothing cached (a read from
    /// disk or swap: DMA into a frame the allocator handed out clean).
    pub fn init_page(&self, pfn: u64, data: &[u8], what: &'static str) -> Result<(), MmError> {
        self.point(Op::two(
            OpKind::Page,
            what,
            Footprint::write(Object::Page(pfn)),
            Self::MEM,
        ));
        Ok(self.hw(|m, _| m.init_page(pfn, data))?)
    }

    /// `copy_page` through the kernel's direct map, as one step.
    pub fn copy_page_kernel(&self, dst: u64, src: u64, what: &'static str) -> Result<(), MmError> {
        let (d, s) = (dst << PAGE_SHIFT, src << PAGE_SHIFT);
        self.point(Op::two(
            OpKind::KernelAccess,
            what,
            Footprint::write(Object::Page(dst)),
            Self::MEM,
        ));
        let who = Who::kernel(self.id);
        self.hw(|m, w| {
            for off in (0..PAGE_SIZE).step_by(8) {
                // The copy's source must be read up to date (COW).
                let v = m.load_required(who, KERNEL_SPACE, Machine::kernel_va(s + off), 8, w)?;
                m.store(who, KERNEL_SPACE, Machine::kernel_va(d + off), 8, v, w)?;
            }
            Ok::<(), CacheError>(())
        })?;
        Ok(())
    }

    /// `clear_page` through the kernel's direct map, as one step.
    pub fn clear_page_kernel(&self, pfn: u64, what: &'static str) -> Result<(), MmError> {
        self.point(Op::two(
            OpKind::KernelAccess,
            what,
            Footprint::write(Object::Page(pfn)),
            Self::MEM,
        ));
        let who = Who::kernel(self.id);
        let base = pfn << PAGE_SHIFT;
        self.hw(|m, w| {
            for off in (0..PAGE_SIZE).step_by(8) {
                m.store(who, KERNEL_SPACE, Machine::kernel_va(base + off), 8, 0, w)?;
            }
            Ok::<(), CacheError>(())
        })?;
        Ok(())
    }

    /// Reads a frame as a device would (`pageout` after the kernel flushed it):
    /// memory, not the cache.
    pub fn read_memory(&self, pfn: u64, what: &'static str) -> Result<Vec<u8>, MmError> {
        self.point(Op::two(
            OpKind::Page,
            what,
            Footprint::read(Object::Page(pfn)),
            Footprint::read(Object::Memory),
        ));
        let who = Who::kernel(self.id);
        Ok(self.hw(|m, _| m.device_read(who, pfn))?)
    }

    /// The page of `pfn` is being freed with `written` (what pageout wrote)
    /// as its only copy: data the CPUs stored that it lacks is reported lost
    /// (`ReportKind::LostWrite`). An oracle check, not a step.
    pub fn check_written(&self, pfn: u64, written: &[u8]) -> Result<usize, MmError> {
        let who = Who::kernel(self.id);
        Ok(self.hw(|m, _| m.check_written(who, pfn, written))?)
    }

    /// A step touching `struct page` fields.
    pub(crate) fn page_op(&self, pfn: u64, write: bool, what: &'static str) {
        let fp = Footprint {
            obj: Object::Page(pfn),
            write,
        };
        self.point(Op::new(OpKind::Page, what, fp));
    }

    /// A step touching an address space's index or page cache, or an mm's vmas.
    pub(crate) fn structure_op(&self, obj: Object, write: bool, what: &'static str) {
        self.point(Op::new(OpKind::Structure, what, Footprint { obj, write }));
    }
}
