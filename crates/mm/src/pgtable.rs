//! An mm's page tables: the layout's levels (pgd → pte on 32-bit, pgd → pmd →
//! pte on 64-bit) of [`AtomicPte`] cells, allocated on first use and never freed
//! while the mm lives (2.6.14 frees page tables only in `free_pgtables` after
//! unmapping; the model keeps them, so a walk that found a table can keep using
//! it — which is also what the kernel's lockless `translation_exists` relies on
//! for the pgd and pmd levels).
//!
//! Each pte table carries its own lock for the optional split pte locks.

use std::sync::OnceLock;

use vipt_pte::layout::PTRS_PER_PTE;
use vipt_pte::{AtomicPte, Layout, Pte};

use crate::error::MmError;
use crate::lock::{KLock, LockClass};

/// One pte page: `PTRS_PER_PTE` cells and its split pte lock.
#[derive(Debug)]
pub struct PteTable {
    ptes: Box<[AtomicPte]>,
    /// The split pte lock of this page-table page.
    pub ptl: KLock,
}

type PmdTable = Slots<Box<PteTable>>;

#[derive(Debug)]
enum Top {
    /// pgd entries point at pte tables (the pmd is folded).
    Two(Slots<Box<PteTable>>),
    /// pgd entries point at pmd tables.
    Three(Slots<PmdTable>),
}

/// Slots per chunk of a [`Slots`] table.
const CHUNK: usize = 32;

/// A table of lazily filled slots, itself allocated in chunks of [`CHUNK`]
/// on first use: an mm touches a few of its 1024 pgd entries, and every
/// explorer execution makes and drops several mms (a flat table's
/// initialisation and drop were 7% of a reclaim execution's instructions).
#[derive(Debug)]
struct Slots<T> {
    chunks: Box<[OnceLock<Chunk<T>>]>,
}

/// [`CHUNK`] slots of a [`Slots`] table.
type Chunk<T> = Box<[OnceLock<T>]>;

impl<T> Slots<T> {
    /// `n` empty slots.
    fn new(n: u64) -> Slots<T> {
        Slots {
            chunks: (0..(n as usize).div_ceil(CHUNK))
                .map(|_| OnceLock::new())
                .collect(),
        }
    }

    /// Slot `i`'s value, if it is filled.
    fn get(&self, i: usize) -> Option<&T> {
        self.chunks[i / CHUNK].get()?[i % CHUNK].get()
    }

    /// Slot `i`'s value, filled with `f` if it is empty.
    fn get_or_init(&self, i: usize, f: impl FnOnce() -> T) -> &T {
        let chunk =
            self.chunks[i / CHUNK].get_or_init(|| (0..CHUNK).map(|_| OnceLock::new()).collect());
        chunk[i % CHUNK].get_or_init(f)
    }
}

/// An mm's page tables.
#[derive(Debug)]
pub struct PageTables {
    layout: Layout,
    space: u32,
    top: Top,
}

impl PageTables {
    /// Empty page tables of `layout` for space `space`.
    pub fn new(layout: Layout, space: u32) -> PageTables {
        let top = match layout.levels() {
            2 => Top::Two(Slots::new(layout.ptrs_per_pgd())),
            _ => Top::Three(Slots::new(layout.ptrs_per_pgd())),
        };
        PageTables { layout, space, top }
    }

    /// The layout.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    fn new_table(&self, addr: u64) -> Box<PteTable> {
        let base = addr & !((PTRS_PER_PTE << vipt_pte::PAGE_SHIFT) - 1);
        Box::new(PteTable {
            ptes: (0..PTRS_PER_PTE)
                .map(|_| AtomicPte::new(Pte::NONE))
                .collect(),
            ptl: KLock::new(
                LockClass::PteLock,
                format!("mm {} pte lock {base:#x}", self.space),
            ),
        })
    }

    /// The pte table covering `addr`, allocating missing levels if `alloc`
    /// (`pte_alloc_map`); `None` if a level is missing (`pgd_none`/`pmd_none`).
    pub fn table(&self, addr: u64, alloc: bool) -> Result<Option<&PteTable>, MmError> {
        let l = self.layout;
        let g = l.pgd_index(addr)?;
        let (slots, i) = match &self.top {
            Top::Two(pgd) => (pgd, g),
            Top::Three(pgd) => {
                let pmd = if alloc {
                    pgd.get_or_init(g, || Slots::new(l.ptrs_per_pmd()))
                } else {
                    match pgd.get(g) {
                        Some(p) => p,
                        None => return Ok(None),
                    }
                };
                (pmd, l.pmd_index(addr)?)
            }
        };
        Ok(if alloc {
            Some(slots.get_or_init(i, || self.new_table(addr)))
        } else {
            slots.get(i).map(|b| &**b)
        })
    }

    /// `!pgd_none(*pgd_offset(mm, addr))`: the top-level entry of `addr` is
    /// present (a pmd table on 3 levels, the pte table on 2).
    pub fn pgd_present(&self, addr: u64) -> Result<bool, MmError> {
        let g = self.layout.pgd_index(addr)?;
        Ok(match &self.top {
            Top::Two(pgd) => pgd.get(g).is_some(),
            Top::Three(pgd) => pgd.get(g).is_some(),
        })
    }

    /// `!pmd_none(*pmd_offset(pgd, addr))`: the pte table of `addr` exists
    /// (on 2 levels the pmd is folded into the pgd).
    pub fn pmd_present(&self, addr: u64) -> Result<bool, MmError> {
        Ok(self.table(addr, false)?.is_some())
    }

    /// The pte cell of `addr` (`pte_offset_map`), if its table exists.
    pub fn pte_offset(&self, addr: u64) -> Result<Option<(&PteTable, &AtomicPte)>, MmError> {
        let i = self.layout.pte_index(addr)?;
        Ok(self.table(addr, false)?.map(|t| (t, &t.ptes[i])))
    }

    /// The pte cell of `addr`, allocating its table (`pte_alloc_map`).
    pub fn pte_alloc(&self, addr: u64) -> Result<(&PteTable, &AtomicPte), MmError> {
        let i = self.layout.pte_index(addr)?;
        let t = self.table(addr, true)?.expect("allocated");
        Ok((t, &t.ptes[i]))
    }

    /// Every non-zero pte in `start..end` as (address, pte), in address order.
    pub fn scan(&self, start: u64, end: u64) -> Vec<(u64, Pte)> {
        let mut v = Vec::new();
        let mut a = start & !(vipt_pte::PAGE_SIZE - 1);
        while a < end {
            match self.pte_offset(a) {
                Ok(Some((_, c))) => {
                    crate::sched::audit(
                        crate::sched::Object::Pte {
                            space: self.space,
                            va: a,
                        },
                        false,
                    );
                    let p = c.load();
                    if p != Pte::NONE {
                        v.push((a, p));
                    }
                    a += vipt_pte::PAGE_SIZE;
                }
                // Skip a whole missing table.
                Ok(None) => {
                    let span = PTRS_PER_PTE << vipt_pte::PAGE_SHIFT;
                    a = (a & !(span - 1)) + span;
                }
                Err(_) => break,
            }
        }
        v
    }
}
