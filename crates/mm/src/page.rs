//! `struct page`: one per physical frame of the machine.
//!
//! `flags` holds the page bits by their kernel names (`PG_arch_1` is parisc's
//! `PG_dcache_dirty`); `PG_locked` is also a model lock ([`Page::lock`]) so that
//! `lock_page` blocks, is scheduled and is order-checked like the other kernel
//! locks. `_mapcount` starts at -1 as in the kernel (`page_mapcount` adds 1).

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::lock::{KLock, LockClass};
use crate::mapping::AddressSpace;
use crate::sched::{audit, Object};
use crate::vma::AnonVma;

/// Page flag bit numbers (2.6.14 `page-flags.h` names).
pub mod pg {
    /// Page is locked (`lock_page`).
    pub const PG_LOCKED: u32 = 0;
    /// Up to date with its backing store.
    pub const PG_UPTODATE: u32 = 3;
    /// Dirty: must be written back.
    pub const PG_DIRTY: u32 = 4;
    /// Architecture bit: parisc's `PG_dcache_dirty` (the kernel alias holds data
    /// not yet flushed; `update_mmu_cache` flushes it).
    pub const PG_ARCH_1: u32 = 9;
    /// parisc's name for `PG_arch_1`.
    pub const PG_DCACHE_DIRTY: u32 = PG_ARCH_1;
    /// Reserved (the zero page).
    pub const PG_RESERVED: u32 = 10;
    /// In the swap cache; `private` holds the swap entry.
    pub const PG_SWAPCACHE: u32 = 15;
}

/// What `page->mapping` points at.
#[derive(Debug, Clone, Default)]
pub enum PageMapping {
    /// Nothing: a free or kernel page.
    #[default]
    None,
    /// A file's page cache (or the swapper space for a swap-cache page).
    File(Arc<AddressSpace>),
    /// An anonymous page (`PAGE_MAPPING_ANON`) and its `anon_vma`.
    Anon(Arc<AnonVma>),
}

/// A `struct page`.
#[derive(Debug)]
pub struct Page {
    /// The frame (`page_to_pfn`).
    pub pfn: u64,
    flags: AtomicU64,
    mapping: Mutex<PageMapping>,
    index: AtomicU64,
    mapcount: AtomicI64,
    count: AtomicI64,
    private: AtomicU64,
    /// The `PG_locked` bit as a model lock.
    pub lock: KLock,
}

impl Page {
    pub(crate) fn new(pfn: u64) -> Page {
        Page {
            pfn,
            flags: AtomicU64::new(0),
            mapping: Mutex::new(PageMapping::None),
            index: AtomicU64::new(0),
            mapcount: AtomicI64::new(-1),
            count: AtomicI64::new(0),
            private: AtomicU64::new(0),
            lock: KLock::new(LockClass::PgLocked, format!("page {pfn:#x} PG_locked")),
        }
    }

    /// `test_bit(bit, &page->flags)`.
    pub fn test_bit(&self, bit: u32) -> bool {
        audit(Object::Page(self.pfn), false);
        self.flags.load(Ordering::SeqCst) >> bit & 1 == 1
    }

    /// `set_bit`; returns the old value (`test_and_set_bit`).
    pub(crate) fn set_bit(&self, bit: u32) -> bool {
        audit(Object::Page(self.pfn), true);
        self.flags.fetch_or(1 << bit, Ordering::SeqCst) >> bit & 1 == 1
    }

    /// `clear_bit`; returns the old value (`test_and_clear_bit`).
    pub(crate) fn clear_bit(&self, bit: u32) -> bool {
        audit(Object::Page(self.pfn), true);
        self.flags.fetch_and(!(1 << bit), Ordering::SeqCst) >> bit & 1 == 1
    }

    /// All flag bits.
    pub fn flags(&self) -> u64 {
        audit(Object::Page(self.pfn), false);
        self.flags.load(Ordering::SeqCst)
    }

    /// `page->mapping`.
    pub fn mapping(&self) -> PageMapping {
        audit(Object::Page(self.pfn), false);
        self.mapping.lock().clone()
    }

    pub(crate) fn set_mapping(&self, m: PageMapping) {
        audit(Object::Page(self.pfn), true);
        *self.mapping.lock() = m;
    }

    /// `PageAnon`.
    pub fn is_anon(&self) -> bool {
        audit(Object::Page(self.pfn), false);
        matches!(*self.mapping.lock(), PageMapping::Anon(_))
    }

    /// `page->index`: the offset in the file (in pages), or the swap entry value
    /// for a swap-cache page's index in the swapper space.
    pub fn index(&self) -> u64 {
        audit(Object::Page(self.pfn), false);
        self.index.load(Ordering::SeqCst)
    }

    pub(crate) fn set_index(&self, i: u64) {
        audit(Object::Page(self.pfn), true);
        self.index.store(i, Ordering::SeqCst)
    }

    /// `page_mapcount`: how many ptes map the page.
    pub fn mapcount(&self) -> i64 {
        audit(Object::Page(self.pfn), false);
        self.mapcount.load(Ordering::SeqCst) + 1
    }

    /// `page_mapped`.
    pub fn mapped(&self) -> bool {
        self.mapcount() > 0
    }

    pub(crate) fn inc_mapcount(&self) -> bool {
        audit(Object::Page(self.pfn), true);
        self.mapcount.fetch_add(1, Ordering::SeqCst) == -1
    }

    pub(crate) fn dec_mapcount(&self) -> bool {
        audit(Object::Page(self.pfn), true);
        self.mapcount.fetch_sub(1, Ordering::SeqCst) == 0
    }

    /// `page_count`: references.
    pub fn count(&self) -> i64 {
        audit(Object::Page(self.pfn), false);
        self.count.load(Ordering::SeqCst)
    }

    pub(crate) fn get(&self) {
        audit(Object::Page(self.pfn), true);
        self.count.fetch_add(1, Ordering::SeqCst);
    }

    /// Drops a reference; true if it was the last.
    pub(crate) fn put(&self) -> bool {
        audit(Object::Page(self.pfn), true);
        self.count.fetch_sub(1, Ordering::SeqCst) == 1
    }

    /// `page_private`: the swap entry of a swap-cache page.
    pub fn private(&self) -> u64 {
        audit(Object::Page(self.pfn), false);
        self.private.load(Ordering::SeqCst)
    }

    pub(crate) fn set_private(&self, v: u64) {
        audit(Object::Page(self.pfn), true);
        self.private.store(v, Ordering::SeqCst)
    }

    pub(crate) fn reset(&self) {
        audit(Object::Page(self.pfn), true);
        self.flags.store(0, Ordering::SeqCst);
        self.set_mapping(PageMapping::None);
        self.index.store(0, Ordering::SeqCst);
        self.mapcount.store(-1, Ordering::SeqCst);
        self.private.store(0, Ordering::SeqCst);
    }
}
