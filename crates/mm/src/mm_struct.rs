//! `struct mm_struct`: the space id, the page tables, `mmap_sem`,
//! `page_table_lock` and the vma list.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};
use vipt_cache::SpaceId;
use vipt_pte::Layout;

use crate::lock::{KLock, LockClass};
use crate::pgtable::{PageTables, PteTable};
use crate::sched::{audit, Object};
use crate::vma::Vma;

/// A `struct mm_struct`.
#[derive(Debug)]
pub struct MmStruct {
    /// The space id (`mm->context`), loaded into `%sr3` when the mm runs.
    pub context: SpaceId,
    /// The page tables (`mm->pgd`).
    pub pgd: PageTables,
    /// `mm->mmap_sem`.
    pub mmap_sem: KLock,
    /// `mm->page_table_lock`.
    pub page_table_lock: KLock,
    /// Whether pte locks are split per page-table page (2.6.15 on).
    pub split_ptlock: bool,
    pub(crate) vmas: Mutex<BTreeMap<u64, Arc<Vma>>>,
}

impl MmStruct {
    /// The vma list, audited ([`Object::Vmas`]).
    pub(crate) fn vmas_lock(&self, write: bool) -> MutexGuard<'_, BTreeMap<u64, Arc<Vma>>> {
        audit(Object::Vmas(self.context.0), write);
        self.vmas.lock()
    }

    pub(crate) fn new(context: SpaceId, layout: Layout, split_ptlock: bool) -> MmStruct {
        let n = context.0;
        MmStruct {
            context,
            pgd: PageTables::new(layout, n),
            mmap_sem: KLock::new(LockClass::MmapSem, format!("mm {n} mmap_sem")),
            page_table_lock: KLock::new(
                LockClass::PageTableLock,
                format!("mm {n} page_table_lock"),
            ),
            split_ptlock,
            vmas: Mutex::new(BTreeMap::new()),
        }
    }

    /// `find_vma` restricted to a vma containing `addr`.
    pub fn find_vma(&self, addr: u64) -> Option<Arc<Vma>> {
        let v = self.vmas_lock(false);
        let (_, vma) = v.range(..=addr).next_back()?;
        vma.contains(addr).then(|| vma.clone())
    }

    /// Every vma, in address order.
    pub fn vmas(&self) -> Vec<Arc<Vma>> {
        self.vmas_lock(false).values().cloned().collect()
    }

    /// The lock guarding the pte of `addr`: the split pte lock of its table, or
    /// `page_table_lock` (`pte_lockptr`).
    pub fn pte_lockptr<'a>(&'a self, table: &'a PteTable) -> &'a KLock {
        if self.split_ptlock {
            &table.ptl
        } else {
            &self.page_table_lock
        }
    }
}
