//! `struct address_space`: a file's `i_mmap` index of linear vmas, the
//! nonlinear list, `i_mmap_lock`, `tree_lock` and the page cache.
//!
//! Vmas are linked and unlinked under both `i_mmap_lock` and
//! `flush_dcache_mmap_lock` (parisc: `tree_lock` for writing), so either lock
//! keeps the index stable for a walker.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};

use crate::any_tree::{AnyTree, TreeKind};
use crate::interval::{Interval, IntervalIndex, StabCount};
use crate::lock::{KLock, LockClass};
use crate::sched::{audit, Object};
use crate::vma::{VmFlags, Vma};

/// A `struct address_space`.
#[derive(Debug)]
pub struct AddressSpace {
    /// Model id (also the file's name in reports: `file <id>`).
    pub id: u32,
    /// The address a kernel would have allocated the structure at; 2.6.14's
    /// `get_shared_area` colours mappings by its bits.
    pub kaddr: u64,
    /// `i_mmap_lock`.
    pub i_mmap_lock: KLock,
    /// The inode's `i_sem`: `write()` and truncate hold it.
    pub i_sem: KLock,
    /// `mapping->truncate_count`: bumped by `unmap_mapping_range` under
    /// `i_mmap_lock`, so a fault that read it before its `nopage` sees that
    /// the page may have been truncated meanwhile and retries.
    pub truncate_count: std::sync::atomic::AtomicU64,
    /// `tree_lock` (parisc's `flush_dcache_mmap_lock`).
    pub tree_lock: KLock,
    /// Whether this is the swapper space.
    pub swapper: bool,
    pub(crate) i_mmap: Mutex<AnyTree<Arc<Vma>>>,
    pub(crate) nonlinear: Mutex<Vec<Arc<Vma>>>,
    /// The page cache: file page index → pfn.
    pub(crate) pages: Mutex<BTreeMap<u64, u64>>,
    /// File size in pages.
    pub(crate) size: AtomicU64,
    /// Page contents written back by `writepage` (the "disk"); pages never
    /// written back read as [`crate::world::file_contents`].
    pub(crate) backing: Mutex<std::collections::HashMap<u64, Vec<u8>>>,
}

impl AddressSpace {
    /// Tells the footprint auditor of an access to this address space's
    /// page cache, `i_mmap` or size ([`Object::Mapping`]).
    pub(crate) fn audit(&self, write: bool) {
        audit(Object::Mapping(self.id), write);
    }

    /// The page cache, audited.
    pub(crate) fn pages_lock(&self, write: bool) -> MutexGuard<'_, BTreeMap<u64, u64>> {
        self.audit(write);
        self.pages.lock()
    }

    /// The `i_mmap` index, audited.
    pub(crate) fn i_mmap_lock(&self, write: bool) -> MutexGuard<'_, AnyTree<Arc<Vma>>> {
        self.audit(write);
        self.i_mmap.lock()
    }

    /// The nonlinear list, audited.
    pub(crate) fn nonlinear_lock(&self, write: bool) -> MutexGuard<'_, Vec<Arc<Vma>>> {
        self.audit(write);
        self.nonlinear.lock()
    }

    pub(crate) fn new(id: u32, kaddr: u64, tree: TreeKind, bits: u32, pages: u64) -> Self {
        AddressSpace {
            id,
            kaddr,
            i_mmap_lock: KLock::new(LockClass::IMmapLock, format!("file {id} i_mmap_lock")),
            i_sem: KLock::new(LockClass::ISem, format!("file {id} i_sem")),
            truncate_count: std::sync::atomic::AtomicU64::new(0),
            tree_lock: KLock::new(LockClass::TreeLock, format!("file {id} tree_lock")),
            swapper: false,
            i_mmap: Mutex::new(AnyTree::new(tree, bits)),
            nonlinear: Mutex::new(Vec::new()),
            pages: Mutex::new(BTreeMap::new()),
            size: AtomicU64::new(pages),
            backing: Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// Unlinks every vma from the index and the nonlinear list (the world's
    /// teardown: a vma holds its file, so a linked vma keeps both alive).
    pub(crate) fn unlink_all(&self) {
        let old = {
            let mut t = self.i_mmap_lock(true);
            let kind = t.kind();
            std::mem::replace(&mut *t, AnyTree::new(kind, 64))
        };
        let nonlinear = std::mem::take(&mut *self.nonlinear_lock(true));
        drop((old, nonlinear));
    }

    /// `mapping_mapped`: the tree or the nonlinear list is non-empty.
    pub fn mapping_mapped(&self) -> bool {
        !self.i_mmap_lock(false).is_empty() || !self.nonlinear_lock(false).is_empty()
    }

    /// `mapping_writably_mapped`: a shared vma that may write maps the file
    /// (the kernel counts them in `i_mmap_writable`; 3.x counts `VM_SHARED`
    /// vmas, 6.10 those with `VM_MAYWRITE` too, the same set for every vma
    /// the model makes shared and writable).
    pub fn mapping_writably_mapped(&self) -> bool {
        let shared = |v: &Vma| {
            v.vm_flags()
                .contains(VmFlags::VM_SHARED | VmFlags::VM_MAYWRITE)
        };
        let (linear, _) = self.vmas_stabbing(0, u64::MAX >> 1);
        linear.iter().any(|v| shared(v)) || self.nonlinear_lock(false).iter().any(|v| shared(v))
    }

    /// File size in pages (`i_size >> PAGE_SHIFT`, rounded up).
    pub fn size_pages(&self) -> u64 {
        self.audit(false);
        self.size.load(Ordering::SeqCst)
    }

    /// Which index `i_mmap` uses.
    pub fn tree_kind(&self) -> TreeKind {
        self.i_mmap_lock(false).kind()
    }

    /// The vmas whose range covers file pages `[first, last]`, in the index's
    /// iteration order, and the index nodes read (`vma_prio_tree_foreach`). The
    /// caller holds `i_mmap_lock` or `flush_dcache_mmap_lock`, which is what
    /// makes a snapshot equal to a lazy walk.
    pub fn vmas_stabbing(&self, first: u64, last: u64) -> (Vec<Arc<Vma>>, u64) {
        let t = self.i_mmap_lock(false);
        let Ok(q) = Interval::new(first, last) else {
            return (Vec::new(), 0);
        };
        let mut it = t.stab(q);
        let v: Vec<Arc<Vma>> = it.by_ref().map(|(_, v)| v.clone()).collect();
        (v, it.visited())
    }

    /// Height of the `i_mmap` index.
    pub fn tree_height(&self) -> usize {
        self.i_mmap_lock(false).height()
    }

    /// Checks the `i_mmap` index's invariants.
    pub fn check_tree(&self) -> Result<(), String> {
        self.i_mmap_lock(false).check()
    }

    /// The pfn caching file page `index`, if any (`find_get_page` without the
    /// reference).
    pub fn cached_pfn(&self, index: u64) -> Option<u64> {
        self.pages_lock(false).get(&index).copied()
    }

    /// Number of cached pages (`nrpages`).
    pub fn nrpages(&self) -> usize {
        self.pages_lock(false).len()
    }

    /// The nonlinear vmas.
    pub fn nonlinear_vmas(&self) -> Vec<Arc<Vma>> {
        self.nonlinear_lock(false).clone()
    }
}
