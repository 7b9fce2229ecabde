//! The hardware: physical memory, one data cache and one instruction cache shared
//! by all CPUs (SMP PA-RISC keeps equivalent aliases coherent between CPUs and
//! broadcasts flushes), a TLB and tmpalias window registers per CPU, the coherence
//! oracle and the event counters.
//!
//! Every operation checks its arguments before it changes anything, advances the
//! machine's step by one, and counts what it did.

use vipt_pte::{
    pte_dirty, pte_present, pte_read, pte_write, Pte, PteFlags, PAGE_OFFSET, PAGE_SHIFT, PAGE_SIZE,
};

use crate::audit::{audit, HwAccess};
use crate::cost::Counters;
use crate::error::CacheError;
use crate::geometry::{Geometry, Shape, SHM_COLOUR, TMPALIAS_MAP_SIZE, TMPALIAS_MAP_START};
use crate::mem::{check_access, read_be, write_be, PhysMem};
use crate::oracle::{Oracle, Owner, Report, ReportKind};
use crate::setassoc::{SetAssoc, INVALID};
use crate::tlb::{Tlb, TlbEntry};
use crate::translate::{Access, NoWalker, SpaceId, Walker, Who, KERNEL_SPACE};

/// How the machine is built and which behaviours are switched on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HwConfig {
    /// The data cache.
    pub geometry: Geometry,
    /// The instruction cache (same alias boundary expected).
    pub icache: Geometry,
    /// Physical memory in 4 KiB frames.
    pub frames: u64,
    /// Number of CPUs.
    pub cpus: usize,
    /// Entries per CPU TLB (1 to 4096; 160 by default, the PA-8500's unified TLB).
    pub tlb_entries: usize,
    /// The 2.6.14 non-access miss handler inserts flush-only translations for
    /// `_PAGE_FLUSH` ptes; off models 3.x, where that pte state is gone (the mm
    /// layer then also makes `ptep_get_and_clear` store a zero pte).
    pub honour_flush_pte: bool,
    /// The non-access miss handler knows the tmpalias window (James Bottomley's
    /// later change; in 2.6.14 only the data miss path did, so an `fdc` through
    /// tmpalias that missed the TLB was nullified).
    pub tmpalias_nonaccess: bool,
    /// Lines may be moved in speculatively through any TLB entry (PA8800/PA8900);
    /// [`Machine::move_in`] is the event.
    pub speculative_move_in: bool,
    /// Range flushes larger than this flush the whole cache
    /// (`parisc_cache_flush_threshold`, 0.5 MiB by default).
    pub flush_threshold: u64,
}

impl Default for HwConfig {
    fn default() -> Self {
        HwConfig {
            geometry: Geometry::PA_RISC,
            icache: Geometry {
                size: 512 << 10,
                ..Geometry::PA_RISC
            },
            frames: 256,
            cpus: 2,
            tlb_entries: 160,
            honour_flush_pte: true,
            tmpalias_nonaccess: true,
            speculative_move_in: false,
            flush_threshold: 512 << 10,
        }
    }
}

impl HwConfig {
    /// A small machine for exploration: the [`Geometry::explore`] cache for both
    /// caches, 16 frames, 2 CPUs, 8-entry TLBs.
    pub fn explore(lines_per_page: u64) -> Result<HwConfig, CacheError> {
        let g = Geometry::explore(lines_per_page)?;
        Ok(HwConfig {
            geometry: g,
            icache: g,
            frames: 16,
            cpus: 2,
            tlb_entries: 8,
            ..HwConfig::default()
        })
    }
}

/// Which half of the tmpalias window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TmpaliasHalf {
    /// The "to" half (`%r26` in the kernel's copy/clear routines).
    To,
    /// The "from" half (`%r23`).
    From,
}

/// The tmpalias address congruent with user address `uva` in `half`.
pub fn tmpalias_address(half: TmpaliasHalf, uva: u64) -> u64 {
    let base = match half {
        TmpaliasHalf::To => TMPALIAS_MAP_START,
        TmpaliasHalf::From => TMPALIAS_MAP_START + SHM_COLOUR,
    };
    base + (uva & (SHM_COLOUR - 1) & !(PAGE_SIZE - 1))
}

fn in_tmpalias(va: u64) -> Option<TmpaliasHalf> {
    if !(TMPALIAS_MAP_START..TMPALIAS_MAP_START + TMPALIAS_MAP_SIZE).contains(&va) {
        return None;
    }
    Some(if va & SHM_COLOUR == 0 {
        TmpaliasHalf::To
    } else {
        TmpaliasHalf::From
    })
}

/// What one cache-control instruction did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flush {
    /// It executed: `hit` if the line was cached there, `wrote_back` if it was dirty
    /// and (for `fdc`) written back.
    Done {
        /// The line was in the cache at that colour.
        hit: bool,
        /// Dirty data went back to memory.
        wrote_back: bool,
    },
    /// No translation: the handler nullified it. Nothing happened.
    Nullified,
}

/// What a multi-line flush did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlushSummary {
    /// Instructions issued.
    pub issued: u64,
    /// Of which nullified.
    pub nullified: u64,
    /// Lines that were cached and got flushed.
    pub hit: u64,
    /// Lines written back.
    pub written_back: u64,
    /// The range was above the threshold: the whole cache was flushed instead.
    pub whole_cache: bool,
}

impl FlushSummary {
    /// Accounts one more instruction's outcome.
    pub fn add(&mut self, f: Flush) {
        self.issued += 1;
        match f {
            Flush::Nullified => self.nullified += 1,
            Flush::Done { hit, wrote_back } => {
                self.hit += u64::from(hit);
                self.written_back += u64::from(wrote_back);
            }
        }
    }
}

#[derive(Debug, Clone)]
struct CpuState {
    tlb: Tlb,
    window: [Option<u64>; 2],
}

/// The parts restored wholesale at rollback (the large arrays are tracked).
#[derive(Debug, Clone)]
struct Small {
    cpus: Vec<CpuState>,
    counters: Counters,
    step: u64,
    dclock: u64,
    iclock: u64,
    reports: (usize, usize),
    oracle_counts: (u64, u64, u64),
}

/// The machine.
#[derive(Debug, Clone)]
pub struct Machine {
    config: HwConfig,
    shape: Shape,
    mem: PhysMem,
    dcache: SetAssoc,
    icache: SetAssoc,
    cpus: Vec<CpuState>,
    oracle: Oracle,
    counters: Counters,
    step: u64,
    base: Option<Box<Small>>,
}

impl Machine {
    /// Builds a machine with zeroed memory and empty caches and TLBs.
    pub fn new(config: HwConfig) -> Result<Machine, CacheError> {
        let shape = config.geometry.shape()?;
        let ishape = config.icache.shape()?;
        if config.cpus == 0 || config.cpus > 64 {
            return Err(CacheError::BadGeometry(format!(
                "1 to 64 CPUs, not {}",
                config.cpus
            )));
        }
        if config.frames == 0 || config.frames > 1 << 20 {
            return Err(CacheError::BadGeometry(format!(
                "1 to 2^20 frames, not {}",
                config.frames
            )));
        }
        let cpu = CpuState {
            tlb: Tlb::new(config.tlb_entries),
            window: [None, None],
        };
        Ok(Machine {
            config,
            shape,
            mem: PhysMem::new(config.frames, shape.line_shift),
            dcache: SetAssoc::new(shape),
            icache: SetAssoc::new(ishape),
            cpus: vec![cpu; config.cpus],
            oracle: Oracle::new(config.frames, shape.line_shift),
            counters: Counters::default(),
            step: 0,
            base: None,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &HwConfig {
        &self.config
    }

    /// The data cache's address arithmetic.
    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    /// The event counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The coherence oracle.
    pub fn oracle(&self) -> &Oracle {
        &self.oracle
    }

    /// Physical memory as it is (not what the caches hold).
    pub fn mem(&self) -> &PhysMem {
        &self.mem
    }

    /// Steps taken so far.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// A CPU's TLB.
    pub fn tlb(&self, cpu: usize) -> Result<&Tlb, CacheError> {
        self.cpus
            .get(cpu)
            .map(|c| &c.tlb)
            .ok_or(CacheError::NoSuchCpu(cpu))
    }

    /// The kernel's direct-map address of physical address `pa` (`__va`).
    pub fn kernel_va(pa: u64) -> u64 {
        PAGE_OFFSET + pa
    }

    fn check_cpu(&self, cpu: usize) -> Result<(), CacheError> {
        if cpu < self.cpus.len() {
            Ok(())
        } else {
            Err(CacheError::NoSuchCpu(cpu))
        }
    }

    fn check_pfn(&self, pfn: u64) -> Result<(), CacheError> {
        if pfn < self.config.frames {
            Ok(())
        } else {
            Err(CacheError::NoSuchFrame(pfn << PAGE_SHIFT))
        }
    }

    /// DMA of a whole frame into memory (a page read from disk or swap): sets
    /// its contents in memory and as the ground truth. The I/O is coherent
    /// only at the colour of the kernel's direct-map address, the coherence
    /// index the driver put in the I/O page directory (`sba_io_pdir_entry`
    /// loads it with `lci` from the kernel virtual address,
    /// `drivers/parisc/sba_iommu.c`): lines of the frame at that colour, in
    /// both caches, are invalidated; lines at other colours (a user alias of
    /// an earlier life) stay as they are.
    pub fn init_page(&mut self, pfn: u64, data: &[u8]) -> Result<(), CacheError> {
        self.check_pfn(pfn)?;
        if data.len() as u64 != PAGE_SIZE {
            return Err(CacheError::BadSize(data.len() as u32));
        }
        audit(HwAccess::AllLines, true);
        self.mem.write_bytes(pfn << PAGE_SHIFT, data)?;
        self.oracle.truth.write_bytes(pfn << PAGE_SHIFT, data)?;
        self.oracle.record_born(pfn, data)?;
        let kva = Machine::kernel_va(pfn << PAGE_SHIFT);
        for cache in [&mut self.dcache, &mut self.icache] {
            let sh = cache.shape;
            let mut off = 0;
            while off < PAGE_SIZE {
                let (va, pa) = (kva + off, (pfn << PAGE_SHIFT) + off);
                if let Some(slot) = cache.find(sh.set_of(va), sh.key(pa, va)) {
                    cache.invalidate(slot);
                }
                off += sh.line_size as u64;
            }
        }
        Ok(())
    }

    /// Starts a new life of frame `pfn` (the page allocator handed it to
    /// `owner`); returns its number. Lines still cached from earlier lives
    /// stay, and the oracle reports what they do to the new owner
    /// ([`ReportKind::EarlierLife`], [`ReportKind::EarlierWriteBack`]).
    pub fn begin_life(&mut self, pfn: u64, owner: Owner) -> Result<u32, CacheError> {
        self.check_pfn(pfn)?;
        audit(HwAccess::AllLines, true);
        Ok(self.oracle.begin_life(pfn, owner, self.step))
    }

    /// A device reads frame `pfn` from memory (pageout's `writepage`; the
    /// I/O sees memory, and the kernel-colour lines it snoops have been
    /// flushed by the kernel before). Returns the bytes read. Whether data
    /// was lost is judged only when the page is freed with that copy as its
    /// last ([`Machine::check_written`]): a page mapped and stored to again
    /// after its pageout is written again, and loses nothing.
    pub fn device_read(&mut self, who: Who, pfn: u64) -> Result<Vec<u8>, CacheError> {
        self.check_cpu(who.cpu)?;
        self.check_pfn(pfn)?;
        self.step += 1;
        audit(HwAccess::AllLines, false);
        Ok(self
            .mem
            .bytes(pfn << PAGE_SHIFT, PAGE_SIZE as usize)?
            .to_vec())
    }

    /// The page of frame `pfn` leaves memory with `written` as its only copy
    /// (what pageout wrote to disk or swap): where that lacks data the CPUs
    /// stored, a [`ReportKind::LostWrite`] is filed (one per line), naming a
    /// dirty cached copy if there is one. Returns how many lines lost data.
    pub fn check_written(
        &mut self,
        who: Who,
        pfn: u64,
        written: &[u8],
    ) -> Result<usize, CacheError> {
        self.check_cpu(who.cpu)?;
        self.check_pfn(pfn)?;
        if written.len() as u64 != PAGE_SIZE {
            return Err(CacheError::BadSize(written.len() as u32));
        }
        audit(HwAccess::AllLines, false);
        let base = pfn << PAGE_SHIFT;
        let n = self.shape.line_size;
        let life = self.oracle.life(pfn);
        let mut lost = 0;
        for (i, line) in written.chunks(n).enumerate() {
            let pa = base + (i * n) as u64;
            let Some((at, expected, got)) = first_difference(self.oracle.truth.raw(pa, n), line)
            else {
                continue;
            };
            lost += 1;
            let dirty = self
                .dcache
                .valid_slots()
                .find(|&s| self.shape.key_pa(self.dcache.key(s)) == pa && self.dcache.is_dirty(s));
            let colour = dirty.map_or(0, |s| self.shape.key_colour(self.dcache.key(s)));
            self.oracle.violation(Report {
                kind: ReportKind::LostWrite {
                    expected,
                    got,
                    life,
                },
                step: self.step,
                who,
                pa: pa + at as u64,
                va: Machine::kernel_va(pa + at as u64),
                set: dirty.map_or(0, |s| s / self.shape.ways),
                way: dirty.map(|s| s % self.shape.ways),
                colour,
            });
        }
        Ok(lost)
    }

    /// Drops every cached copy of frame `pfn` from both caches, dirty or not,
    /// without writing anything back; returns how many lines went. Not a
    /// kernel operation: an ablation switch of the mm model
    /// (`WorldConfig::scrub_freed`) calls it when a frame is freed, to show
    /// which failures come from lines that outlive a page.
    pub fn discard_page(&mut self, pfn: u64) -> Result<usize, CacheError> {
        self.check_pfn(pfn)?;
        audit(HwAccess::AllLines, true);
        let mut n = 0;
        for cache in [&mut self.dcache, &mut self.icache] {
            let shape = cache.shape;
            let slots: Vec<usize> = cache
                .valid_slots()
                .filter(|&s| shape.key_pa(cache.key(s)) >> PAGE_SHIFT == pfn)
                .collect();
            for s in slots {
                cache.invalidate(s);
                n += 1;
            }
        }
        Ok(n)
    }

    /// Fills a frame with one byte value (see [`Machine::init_page`]).
    pub fn fill_page(&mut self, pfn: u64, byte: u8) -> Result<(), CacheError> {
        self.init_page(pfn, &[byte; PAGE_SIZE as usize])
    }

    // ---- translation -------------------------------------------------------

    fn insert(&mut self, cpu: usize, e: TlbEntry) {
        self.counters.tlb_inserts += 1;
        if e.tmpalias {
            self.counters.tmpalias_inserts += 1;
        }
        if self.cpus[cpu].tlb.insert(e) {
            // Which entry goes depends on the TLB's whole contents, which
            // purges on other CPUs change.
            audit(HwAccess::Tlb(cpu), true);
        }
    }

    #[inline]
    fn lookup(&mut self, cpu: usize, space: SpaceId, vpn: u64) -> Option<TlbEntry> {
        let e = self.cpus[cpu].tlb.lookup(space, vpn);
        if e.is_some() {
            self.counters.tlb_hits += 1;
        } else {
            self.counters.tlb_misses += 1;
        }
        e
    }

    /// The tmpalias miss handler: manufactures the entry from the window register.
    fn manufacture(&mut self, cpu: usize, va: u64, half: TmpaliasHalf) -> Option<u64> {
        let pfn = self.cpus[cpu].window[half as usize]?;
        let mut e = TlbEntry::new(KERNEL_SPACE, va >> PAGE_SHIFT, pfn);
        (e.writable, e.dirty, e.tmpalias) = (true, true, true);
        self.insert(cpu, e);
        Some(pfn)
    }

    /// Kernel-space translation: the tmpalias window through the TLB (an entry
    /// missing from it is manufactured from the window register if `manufacture`),
    /// else the direct map. `None`: no translation.
    fn kernel_pa(&mut self, cpu: usize, va: u64, manufacture: bool) -> Option<u64> {
        let Some(half) = in_tmpalias(va) else {
            return (va >= PAGE_OFFSET && va - PAGE_OFFSET < self.mem.size())
                .then(|| va - PAGE_OFFSET);
        };
        let pfn = match self.lookup(cpu, KERNEL_SPACE, va >> PAGE_SHIFT) {
            Some(e) => e.pfn,
            None if manufacture => self.manufacture(cpu, va, half)?,
            None => return None,
        };
        Some((pfn << PAGE_SHIFT) | (va & (PAGE_SIZE - 1)))
    }

    fn entry_from_pte(space: SpaceId, va: u64, pte: Pte) -> TlbEntry {
        let mut e = TlbEntry::new(space, va >> PAGE_SHIFT, vipt_pte::pte_pfn(pte));
        e.writable = pte_write(pte);
        e.dirty = pte_dirty(pte);
        e
    }

    /// Data translation: TLB, then the data miss handler, then the dirty-bit trap.
    /// The common case — a user access through the CPU's most recently used TLB
    /// entry — is inlined; everything else is out of line.
    #[inline]
    fn data_pa<W: Walker + ?Sized>(
        &mut self,
        who: Who,
        space: SpaceId,
        va: u64,
        write: bool,
        w: &mut W,
    ) -> Result<u64, CacheError> {
        if space != KERNEL_SPACE {
            if let Some(pfn) = self.cpus[who.cpu]
                .tlb
                .mru_data_hit(space, va >> PAGE_SHIFT, write)
            {
                self.counters.tlb_hits += 1;
                return Ok((pfn << PAGE_SHIFT) | (va & (PAGE_SIZE - 1)));
            }
        }
        self.data_pa_slow(who, space, va, write, w)
    }

    #[inline(never)]
    fn data_pa_slow<W: Walker + ?Sized>(
        &mut self,
        who: Who,
        space: SpaceId,
        va: u64,
        write: bool,
        w: &mut W,
    ) -> Result<u64, CacheError> {
        let fault = CacheError::PageFault { space, va, write };
        let off = va & (PAGE_SIZE - 1);
        if space == KERNEL_SPACE {
            // The data miss path always knew the tmpalias window.
            return self.kernel_pa(who.cpu, va, true).ok_or(fault);
        }
        let vpn = va >> PAGE_SHIFT;
        let mut entry = match self.lookup(who.cpu, space, vpn) {
            Some(e) if !e.flush_only => e,
            _ => {
                self.counters.page_walks += 1;
                let pte = w.walk(space, va, Access::Data).filter(|p| pte_present(*p));
                let pte = pte.ok_or(fault.clone())?;
                if !(if write { pte_write(pte) } else { pte_read(pte) }) {
                    return Err(CacheError::Protection { space, va, write });
                }
                self.check_pfn(vipt_pte::pte_pfn(pte))?;
                let e = Self::entry_from_pte(space, va, pte);
                self.insert(who.cpu, e);
                e
            }
        };
        if write && !entry.writable {
            return Err(CacheError::Protection { space, va, write });
        }
        if write && !entry.dirty {
            // The dirty-bit trap: the handler re-reads the pte and sets DIRTY.
            self.counters.page_walks += 1;
            let pte = w
                .walk(space, va, Access::DirtyTrap)
                .filter(|p| pte_present(*p));
            let pte = pte.ok_or(fault)?;
            if !pte_write(pte) {
                return Err(CacheError::Protection { space, va, write });
            }
            self.check_pfn(vipt_pte::pte_pfn(pte))?;
            entry =
                Self::entry_from_pte(space, va, Pte::from_raw(pte.raw() | PteFlags::DIRTY.bits()));
            self.insert(who.cpu, entry);
        }
        Ok((entry.pfn << PAGE_SHIFT) | off)
    }

    /// Non-access translation (`fdc`, `pdc`, `fic`): `None` means nullified.
    fn nonaccess_pa<W: Walker + ?Sized>(
        &mut self,
        cpu: usize,
        space: SpaceId,
        va: u64,
        w: &mut W,
    ) -> Result<Option<u64>, CacheError> {
        let off = va & (PAGE_SIZE - 1);
        if space == KERNEL_SPACE {
            return Ok(self.kernel_pa(cpu, va, self.config.tmpalias_nonaccess));
        }
        if let Some(e) = self.lookup(cpu, space, va >> PAGE_SHIFT) {
            return Ok(Some((e.pfn << PAGE_SHIFT) | off));
        }
        self.counters.page_walks += 1;
        let Some(pte) = w.walk(space, va, Access::NonAccess) else {
            return Ok(None);
        };
        let mut e = Self::entry_from_pte(space, va, pte);
        // Not present: a flush-only translation if the pte has _PAGE_FLUSH and the
        // handler honours it (2.6.14), else the instruction is nullified.
        e.flush_only = !pte_present(pte);
        let flush_pte = self.config.honour_flush_pte && pte.raw() & PteFlags::FLUSH.bits() != 0;
        if e.flush_only && !flush_pte {
            return Ok(None);
        }
        self.check_pfn(e.pfn)?;
        self.insert(cpu, e);
        Ok(Some((e.pfn << PAGE_SHIFT) | off))
    }

    // ---- the data cache ----------------------------------------------------

    /// Writes `slot` back if dirty. Not audited here: every caller (a fill
    /// in `dline`, `control`, `flush_cache_all`) has told the auditor of the
    /// slot's set already.
    fn write_back(&mut self, slot: usize) {
        let key = self.dcache.key(slot);
        if key != INVALID && self.dcache.is_dirty(slot) {
            let pa = self.shape.key_pa(key);
            let n = self.shape.line_size;
            self.mem
                .raw_mut(pa, n)
                .copy_from_slice(self.dcache.line(slot));
            self.counters.lines_written_back += 1;
            let (line_life, life) = (self.dcache.life(slot), self.oracle.life(pa >> PAGE_SHIFT));
            if line_life < life {
                self.earlier_write_back(slot, pa, (line_life, life));
            }
        }
    }

    #[cold]
    fn earlier_write_back(&mut self, slot: usize, pa: u64, (line_life, life): (u32, u32)) {
        let n = self.shape.line_size;
        let truth = self.oracle.truth.raw(pa, n);
        let Some((at, expected, got)) = first_difference(truth, self.dcache.line(slot)) else {
            return;
        };
        let colour = self.shape.key_colour(self.dcache.key(slot));
        self.oracle.violation(Report {
            kind: ReportKind::EarlierWriteBack {
                expected,
                got,
                line_life,
                life,
            },
            step: self.step,
            who: Who::kernel(0),
            pa: pa + at as u64,
            va: (colour << PAGE_SHIFT) | ((pa + at as u64) & (PAGE_SIZE - 1)),
            set: slot / self.shape.ways,
            way: Some(slot % self.shape.ways),
            colour,
        });
    }

    /// The slot holding `pa` at `va`'s colour, filling it from memory on a miss;
    /// returns `(slot, hit)`.
    #[inline]
    fn dline(&mut self, va: u64, pa: u64) -> (usize, bool) {
        let set = self.shape.set_of(va);
        // The set's LRU order changes even on a hit.
        audit(HwAccess::Line(self.shape.set_group(set)), true);
        let key = self.shape.key(pa, va);
        if let Some(slot) = self.dcache.find(set, key) {
            self.dcache.touch(slot);
            return (slot, true);
        }
        (self.fill(set, key, pa), false)
    }

    /// Brings `pa`'s line into `set` under `key`, evicting the LRU way.
    #[inline(never)]
    fn fill(&mut self, set: usize, key: u64, pa: u64) -> usize {
        let slot = self.dcache.victim(set);
        if self.dcache.key(slot) != INVALID {
            self.write_back(slot);
            self.counters.lines_evicted += 1;
        }
        let n = self.shape.line_size;
        let life = self.oracle.life(pa >> PAGE_SHIFT);
        self.dcache
            .install(slot, key, self.mem.raw(pa & !(n as u64 - 1), n), life);
        self.dcache.touch(slot);
        slot
    }

    /// A data load of `size` bytes through `space:va`.
    pub fn load<W: Walker + ?Sized>(
        &mut self,
        who: Who,
        space: SpaceId,
        va: u64,
        size: u32,
        w: &mut W,
    ) -> Result<u64, CacheError> {
        self.load_as(who, space, va, size, w, false)
    }

    /// A data load that by the kernel's contract must return the latest data
    /// (the source of a COW copy): a stale result is a violation whatever the
    /// coherence points say.
    pub fn load_required<W: Walker + ?Sized>(
        &mut self,
        who: Who,
        space: SpaceId,
        va: u64,
        size: u32,
        w: &mut W,
    ) -> Result<u64, CacheError> {
        self.load_as(who, space, va, size, w, true)
    }

    #[inline]
    fn load_as<W: Walker + ?Sized>(
        &mut self,
        who: Who,
        space: SpaceId,
        va: u64,
        size: u32,
        w: &mut W,
        required: bool,
    ) -> Result<u64, CacheError> {
        check_access(va, size)?;
        self.check_cpu(who.cpu)?;
        let pa = self.data_pa(who, space, va, false, w)?;
        self.step += 1;
        self.counters.loads += 1;
        let (slot, hit) = self.dline(va, pa);
        if hit {
            self.counters.cache_hits += 1;
        } else {
            self.counters.cache_misses += 1;
        }
        let off = (pa as usize) & (self.shape.line_size - 1);
        let got = read_be(&self.dcache.line(slot)[off..off + size as usize]);
        let (sh, dcache) = (self.shape, &self.dcache);
        let place = || {
            let life = dcache.life(slot);
            (sh.set_of(va), Some(slot % sh.ways), sh.colour_of(va), life)
        };
        self.oracle
            .check_load(self.step, who, va, pa, size, got, place, (false, required));
        Ok(got)
    }

    /// A data store of the low `size` bytes of `value` through `space:va`.
    pub fn store<W: Walker + ?Sized>(
        &mut self,
        who: Who,
        space: SpaceId,
        va: u64,
        size: u32,
        value: u64,
        w: &mut W,
    ) -> Result<(), CacheError> {
        check_access(va, size)?;
        self.check_cpu(who.cpu)?;
        let pa = self.data_pa(who, space, va, true, w)?;
        self.step += 1;
        self.counters.stores += 1;
        let (slot, hit) = self.dline(va, pa);
        if hit {
            self.counters.cache_hits += 1;
        } else {
            self.counters.cache_misses += 1;
        }
        let off = (pa as usize) & (self.shape.line_size - 1);
        let range = off..off + size as usize;
        write_be(&mut self.dcache.line_mut(slot)[range.clone()], value);
        self.dcache.mark_dirty(slot);
        self.oracle
            .record_store(pa, &self.dcache.line(slot)[range], self.step);
        Ok(())
    }

    /// An instruction fetch of 4 bytes through `space:va`. The instruction cache
    /// fills from memory, never from the data cache: code written through the data
    /// cache is seen only after `fdc` and `fic`.
    pub fn ifetch<W: Walker + ?Sized>(
        &mut self,
        who: Who,
        space: SpaceId,
        va: u64,
        w: &mut W,
    ) -> Result<u32, CacheError> {
        check_access(va, 4)?;
        self.check_cpu(who.cpu)?;
        let pa = self.data_pa(who, space, va, false, w)?;
        self.step += 1;
        self.counters.ifetches += 1;
        audit(HwAccess::AllLines, true);
        let ishape = self.icache.shape;
        let (set, key) = (ishape.set_of(va), ishape.key(pa, va));
        let slot = match self.icache.find(set, key) {
            Some(s) => s,
            None => {
                self.counters.icache_misses += 1;
                let slot = self.icache.victim(set);
                let n = ishape.line_size;
                let life = self.oracle.life(pa >> PAGE_SHIFT);
                self.icache
                    .install(slot, key, self.mem.raw(pa & !(n as u64 - 1), n), life);
                slot
            }
        };
        self.icache.touch(slot);
        let off = (pa as usize) & (ishape.line_size - 1);
        let got = read_be(&self.icache.line(slot)[off..off + 4]);
        let icache = &self.icache;
        let place = || {
            (
                set,
                Some(slot % ishape.ways),
                ishape.colour_of(va),
                icache.life(slot),
            )
        };
        self.oracle
            .check_load(self.step, who, va, pa, 4, got, place, (true, false));
        Ok(got as u32)
    }

    // ---- cache control -----------------------------------------------------

    fn control<W: Walker + ?Sized>(
        &mut self,
        who: Who,
        space: SpaceId,
        va: u64,
        w: &mut W,
        op: Op,
    ) -> Result<Flush, CacheError> {
        self.check_cpu(who.cpu)?;
        let pa = self.nonaccess_pa(who.cpu, space, va, w)?;
        self.step += 1;
        match op {
            Op::Fdc => self.counters.fdc_issued += 1,
            Op::Pdc => self.counters.pdc_issued += 1,
            Op::Fic => self.counters.fic_issued += 1,
        }
        let Some(pa) = pa else {
            match op {
                Op::Fdc => self.counters.fdc_nullified += 1,
                Op::Pdc => self.counters.pdc_nullified += 1,
                Op::Fic => self.counters.fic_nullified += 1,
            }
            return Ok(Flush::Nullified);
        };
        if op == Op::Fdc {
            self.counters.fdc_effective += 1;
        }
        if op == Op::Fic {
            audit(HwAccess::AllLines, true);
        } else {
            audit(HwAccess::Line(self.shape.line_group(va)), true);
        }
        let cache = if op == Op::Fic {
            &mut self.icache
        } else {
            &mut self.dcache
        };
        let (set, key) = (cache.shape.set_of(va), cache.shape.key(pa, va));
        let Some(slot) = cache.find(set, key) else {
            return Ok(Flush::Done {
                hit: false,
                wrote_back: false,
            });
        };
        let wrote_back = op == Op::Fdc && cache.is_dirty(slot);
        if wrote_back {
            self.write_back(slot);
            self.dcache.invalidate(slot);
        } else {
            cache.invalidate(slot);
        }
        Ok(Flush::Done {
            hit: true,
            wrote_back,
        })
    }

    /// `fdc`: write back (if dirty) and invalidate the line of `space:va` — the copy
    /// at `va`'s colour only. Nullified without a translation.
    pub fn fdc<W: Walker + ?Sized>(
        &mut self,
        who: Who,
        space: SpaceId,
        va: u64,
        w: &mut W,
    ) -> Result<Flush, CacheError> {
        self.control(who, space, va, w, Op::Fdc)
    }

    /// `pdc`: invalidate the line without writing it back (dirty data is lost).
    pub fn pdc<W: Walker + ?Sized>(
        &mut self,
        who: Who,
        space: SpaceId,
        va: u64,
        w: &mut W,
    ) -> Result<Flush, CacheError> {
        self.control(who, space, va, w, Op::Pdc)
    }

    /// `fic`: invalidate the instruction-cache line.
    pub fn fic<W: Walker + ?Sized>(
        &mut self,
        who: Who,
        space: SpaceId,
        va: u64,
        w: &mut W,
    ) -> Result<Flush, CacheError> {
        self.control(who, space, va, w, Op::Fic)
    }

    /// `fdc` over every line of the page of `va`.
    pub fn flush_page<W: Walker + ?Sized>(
        &mut self,
        who: Who,
        space: SpaceId,
        va: u64,
        w: &mut W,
    ) -> Result<FlushSummary, CacheError> {
        let start = va & !(PAGE_SIZE - 1);
        self.flush_lines(who, space, start, start + PAGE_SIZE, w)
    }

    fn flush_lines<W: Walker + ?Sized>(
        &mut self,
        who: Who,
        space: SpaceId,
        start: u64,
        end: u64,
        w: &mut W,
    ) -> Result<FlushSummary, CacheError> {
        self.check_cpu(who.cpu)?;
        let mut sum = FlushSummary::default();
        let line = self.shape.line_size as u64;
        let mut a = start & !(line - 1);
        while a < end {
            sum.add(self.fdc(who, space, a, w)?);
            a += line;
        }
        Ok(sum)
    }

    /// Flushes `start..end` of a space line by line, or the whole cache if the
    /// range is larger than the threshold (as parisc's `flush_user_dcache_range`
    /// callers do).
    pub fn flush_range<W: Walker + ?Sized>(
        &mut self,
        who: Who,
        space: SpaceId,
        start: u64,
        end: u64,
        w: &mut W,
    ) -> Result<FlushSummary, CacheError> {
        self.check_cpu(who.cpu)?;
        if end.saturating_sub(start) > self.config.flush_threshold {
            self.flush_cache_all(who)?;
            return Ok(FlushSummary {
                whole_cache: true,
                ..FlushSummary::default()
            });
        }
        self.flush_lines(who, space, start, end, w)
    }

    /// `flush_cache_all` (`fdce`/`fice` over every set and way, on every CPU):
    /// writes back every dirty line and empties both caches.
    pub fn flush_cache_all(&mut self, who: Who) -> Result<(), CacheError> {
        self.check_cpu(who.cpu)?;
        self.step += 1;
        self.counters.whole_cache_flushes += 1;
        audit(HwAccess::AllLines, true);
        let valid: Vec<usize> = self.dcache.valid_slots().collect();
        for slot in valid {
            self.write_back(slot);
            self.dcache.invalidate(slot);
        }
        let ivalid: Vec<usize> = self.icache.valid_slots().collect();
        for slot in ivalid {
            self.icache.invalidate(slot);
        }
        Ok(())
    }

    // ---- TLB ---------------------------------------------------------------

    /// `pdtlb,l`: purges one CPU's entry for the page of `space:va`.
    pub fn tlb_purge(&mut self, cpu: usize, space: SpaceId, va: u64) -> Result<bool, CacheError> {
        self.check_cpu(cpu)?;
        self.step += 1;
        self.counters.tlb_purges += 1;
        Ok(self.cpus[cpu].tlb.purge(space, va >> PAGE_SHIFT))
    }

    /// `pdtlb` broadcast (`flush_tlb_page` on SMP): purges the page on every CPU;
    /// returns how many entries went.
    pub fn tlb_purge_all_cpus(&mut self, space: SpaceId, va: u64) -> usize {
        self.step += 1;
        self.counters.tlb_purges += 1;
        self.cpus
            .iter_mut()
            .filter_map(|c| c.tlb.purge(space, va >> PAGE_SHIFT).then_some(()))
            .count()
    }

    /// Purges a CPU's whole TLB; returns how many entries went.
    pub fn tlb_purge_all(&mut self, cpu: usize) -> Result<usize, CacheError> {
        self.check_cpu(cpu)?;
        self.step += 1;
        self.counters.tlb_purges += 1;
        Ok(self.cpus[cpu].tlb.purge_all())
    }

    // ---- tmpalias ----------------------------------------------------------

    /// Loads `pfn` into `cpu`'s tmpalias window half at the colour of user address
    /// `uva`: purges any old entry for that alias address and manufactures the
    /// CPU-local translation. Returns the alias address.
    pub fn tmpalias_map(
        &mut self,
        cpu: usize,
        half: TmpaliasHalf,
        pfn: u64,
        uva: u64,
    ) -> Result<u64, CacheError> {
        self.check_cpu(cpu)?;
        self.check_pfn(pfn)?;
        self.step += 1;
        let alias = tmpalias_address(half, uva);
        self.cpus[cpu].window[half as usize] = Some(pfn);
        self.counters.tlb_purges += 1;
        self.cpus[cpu].tlb.purge(KERNEL_SPACE, alias >> PAGE_SHIFT);
        self.manufacture(cpu, alias, half);
        Ok(alias)
    }

    /// Flushes physical page `pfn` at the colour of user address `uva` through the
    /// tmpalias window: no user pte, no vma walk, no race with user page tables.
    pub fn tmpalias_flush_page(
        &mut self,
        cpu: usize,
        pfn: u64,
        uva: u64,
    ) -> Result<FlushSummary, CacheError> {
        let alias = self.tmpalias_map(cpu, TmpaliasHalf::To, pfn, uva)?;
        self.flush_lines(
            Who::kernel(cpu),
            KERNEL_SPACE,
            alias,
            alias + PAGE_SIZE,
            &mut NoWalker,
        )
    }

    /// `clear_user_page` through tmpalias: zeroes `pfn` at the colour of `uva`, so
    /// the zeros land in the lines the user mapping will use.
    pub fn tmpalias_clear_page(
        &mut self,
        cpu: usize,
        pfn: u64,
        uva: u64,
    ) -> Result<(), CacheError> {
        let to = self.tmpalias_map(cpu, TmpaliasHalf::To, pfn, uva)?;
        for off in (0..PAGE_SIZE).step_by(8) {
            self.store(
                Who::kernel(cpu),
                KERNEL_SPACE,
                to + off,
                8,
                0,
                &mut NoWalker,
            )?;
        }
        Ok(())
    }

    /// `copy_user_page` through tmpalias: reads `src` and writes `dst`, both at the
    /// colour of `uva`.
    pub fn tmpalias_copy_page(
        &mut self,
        cpu: usize,
        dst: u64,
        src: u64,
        uva: u64,
    ) -> Result<(), CacheError> {
        self.check_pfn(dst)?;
        let from = self.tmpalias_map(cpu, TmpaliasHalf::From, src, uva)?;
        let to = self.tmpalias_map(cpu, TmpaliasHalf::To, dst, uva)?;
        for off in (0..PAGE_SIZE).step_by(8) {
            let k = Who::kernel(cpu);
            let v = self.load_required(k, KERNEL_SPACE, from + off, 8, &mut NoWalker)?;
            self.store(k, KERNEL_SPACE, to + off, 8, v, &mut NoWalker)?;
        }
        Ok(())
    }

    // ---- speculative move-in -----------------------------------------------

    /// The event "the cache moved in the line of `space:va` through `cpu`'s TLB
    /// entry" (PA8800/PA8900). Needs the switch on and an entry for the page, even a
    /// flush-only one. Returns whether a line came in (false if already cached).
    pub fn move_in(&mut self, cpu: usize, space: SpaceId, va: u64) -> Result<bool, CacheError> {
        self.check_cpu(cpu)?;
        self.check_move_in()?;
        let Some(e) = self.cpus[cpu].tlb.peek(space, va >> PAGE_SHIFT) else {
            return Err(CacheError::NoMoveIn(format!(
                "CPU{cpu} has no TLB entry for {va:#x} in space {}",
                space.0
            )));
        };
        let pa = (e.pfn << PAGE_SHIFT) | (va & (PAGE_SIZE - 1));
        self.step += 1;
        Ok(self.move_in_line(va, pa))
    }

    fn check_move_in(&self) -> Result<(), CacheError> {
        if self.config.speculative_move_in {
            Ok(())
        } else {
            Err(CacheError::NoMoveIn(
                "speculative move-in is switched off".into(),
            ))
        }
    }

    /// Moves `pa`'s line in at `va`'s colour unless it is cached there;
    /// returns whether it came in.
    fn move_in_line(&mut self, va: u64, pa: u64) -> bool {
        let (set, key) = (self.shape.set_of(va), self.shape.key(pa, va));
        if self.dcache.find(set, key).is_some() {
            return false;
        }
        self.dline(va, pa);
        self.counters.move_ins += 1;
        true
    }

    /// A burst of speculative move-ins: every line of every page for which any
    /// CPU holds a valid TLB entry (user entries; flush-only ones too if
    /// `flush_only`; never the tmpalias window's) that is not already cached
    /// at that colour, brought in from memory. Needs the switch on. Returns
    /// how many lines came in.
    ///
    /// A simplification of the hardware, which moves lines in one at a time:
    /// one burst brings in everything a set of single move-ins at that moment
    /// could. The extra lines can only add stale copies, except that in a
    /// full set they change which line is evicted.
    pub fn move_in_burst(&mut self, flush_only: bool) -> Result<u64, CacheError> {
        self.check_move_in()?;
        self.step += 1;
        let mut pages: Vec<(u64, u64)> = Vec::new();
        for c in &self.cpus {
            for e in c.tlb.entries() {
                if e.space != KERNEL_SPACE && !e.tmpalias && (flush_only || !e.flush_only) {
                    pages.push((e.vpn << PAGE_SHIFT, e.pfn << PAGE_SHIFT));
                }
            }
        }
        pages.sort_unstable();
        pages.dedup();
        let n = self.shape.line_size as u64;
        let mut moved = 0;
        for (va, pa) in pages {
            if pa >> PAGE_SHIFT >= self.config.frames {
                continue;
            }
            for off in (0..PAGE_SIZE).step_by(n as usize) {
                moved += u64::from(self.move_in_line(va + off, pa + off));
            }
        }
        Ok(moved)
    }

    /// The pages a move-in could come through on `cpu`: every TLB entry.
    pub fn move_in_candidates(&self, cpu: usize) -> Result<Vec<(SpaceId, u64)>, CacheError> {
        Ok(self
            .tlb(cpu)?
            .entries()
            .iter()
            .map(|e| (e.space, e.vpn << PAGE_SHIFT))
            .collect())
    }

    // ---- the oracle --------------------------------------------------------

    /// Declares that `flush_dcache_page(pfn)` has completed: from now on a load of
    /// that page returning data older than its latest write is a violation. Also
    /// checks the page's cached copies; returns how many divergent pairs it found.
    pub fn coherence_point(&mut self, who: Who, pfn: u64) -> Result<usize, CacheError> {
        self.check_cpu(who.cpu)?;
        self.check_pfn(pfn)?;
        self.step += 1;
        audit(HwAccess::AllLines, true);
        self.oracle.record_point(pfn, self.step);
        Ok(self.check_copies_at(who, pfn))
    }

    /// Reports every pair of valid, non-equivalent cached copies of a line of `pfn`
    /// that differ; returns how many pairs.
    pub fn check_copies(&mut self, who: Who, pfn: u64) -> Result<usize, CacheError> {
        self.check_cpu(who.cpu)?;
        self.check_pfn(pfn)?;
        Ok(self.check_copies_at(who, pfn))
    }

    fn check_copies_at(&mut self, who: Who, pfn: u64) -> usize {
        audit(HwAccess::AllLines, false);
        let sh = self.shape;
        let mut copies: Vec<(u64, u64, usize)> = self
            .dcache
            .valid_slots()
            .filter_map(|slot| {
                let key = self.dcache.slot(slot).key;
                let pa = sh.key_pa(key);
                (pa >> PAGE_SHIFT == pfn).then_some((pa, sh.key_colour(key), slot))
            })
            .collect();
        copies.sort_unstable();
        let mut found = 0;
        for (i, a) in copies.iter().enumerate() {
            for b in copies[i + 1..].iter().take_while(|b| b.0 == a.0) {
                if self.dcache.line(a.2) != self.dcache.line(b.2) {
                    found += 1;
                    self.oracle.divergences += 1;
                    self.oracle.push(Report {
                        kind: ReportKind::DivergentCopies {
                            other_colour: b.1,
                            other_set: b.2 / sh.ways,
                            other_way: b.2 % sh.ways,
                        },
                        step: self.step,
                        who,
                        pa: a.0,
                        va: (a.1 << PAGE_SHIFT) | (a.0 & (PAGE_SIZE - 1)),
                        set: a.2 / sh.ways,
                        way: Some(a.2 % sh.ways),
                        colour: a.1,
                    });
                }
            }
        }
        found
    }

    /// Whether `pa`'s line is cached at `va`'s colour, and if so whether dirty.
    pub fn cached(&self, va: u64, pa: u64) -> Option<bool> {
        let slot = self
            .dcache
            .find(self.shape.set_of(va), self.shape.key(pa, va))?;
        Some(self.dcache.slot(slot).dirty)
    }

    /// Every cached copy of `pa`'s line: (colour, dirty, the bytes).
    pub fn copies(&self, pa: u64) -> Vec<(u64, bool, Vec<u8>)> {
        let line = pa & !(self.shape.line_size as u64 - 1);
        self.cached_lines()
            .into_iter()
            .filter(|c| c.0 == line)
            .map(|(_, colour, dirty, data)| (colour, dirty, data))
            .collect()
    }

    /// Every valid data-cache line as (physical line address, colour, dirty, the
    /// bytes), sorted.
    pub fn cached_lines(&self) -> Vec<(u64, u64, bool, Vec<u8>)> {
        let mut v: Vec<_> = self
            .dcache
            .valid_slots()
            .map(|slot| {
                let s = self.dcache.slot(slot);
                (
                    self.shape.key_pa(s.key),
                    self.shape.key_colour(s.key),
                    s.dirty,
                    self.dcache.line(slot).to_vec(),
                )
            })
            .collect();
        v.sort();
        v
    }

    // ---- snapshot ----------------------------------------------------------

    /// Makes the current state the one [`Machine::rollback`] returns to. Costs a
    /// copy of the whole state once; rollbacks then cost what was touched since.
    pub fn checkpoint(&mut self) {
        self.mem.checkpoint();
        self.dcache.checkpoint();
        self.icache.checkpoint();
        self.oracle.checkpoint();
        self.base = Some(Box::new(self.small()));
    }

    fn small(&self) -> Small {
        Small {
            cpus: self.cpus.clone(),
            counters: self.counters,
            step: self.step,
            dclock: self.dcache.clock,
            iclock: self.icache.clock,
            reports: (self.oracle.reports().len(), self.oracle.lives().len()),
            oracle_counts: self.oracle.counts(),
        }
    }

    /// Returns to the state of the last checkpoint; false if there was none.
    pub fn rollback(&mut self) -> bool {
        let Some(base) = self.base.as_deref() else {
            return false;
        };
        self.mem.rollback();
        self.dcache.rollback();
        self.icache.rollback();
        self.oracle.rollback(base.reports, base.oracle_counts);
        for (c, b) in self.cpus.iter_mut().zip(&base.cpus) {
            c.tlb.restore_from(&b.tlb);
            c.window = b.window;
        }
        self.counters = base.counters;
        self.step = base.step;
        self.dcache.clock = base.dclock;
        self.icache.clock = base.iclock;
        true
    }
}

/// The first 8-byte word where `got` differs from `expected` (two lines of
/// the same length): its offset and both values.
fn first_difference(expected: &[u8], got: &[u8]) -> Option<(usize, u64, u64)> {
    (0..expected.len().min(got.len()))
        .step_by(8)
        .find(|&o| expected[o..o + 8] != got[o..o + 8])
        .map(|o| (o, read_be(&expected[o..o + 8]), read_be(&got[o..o + 8])))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Fdc,
    Pdc,
    Fic,
}
