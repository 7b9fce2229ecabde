//! `vm_area_struct` and `anon_vma`.
//!
//! A vma's bounds, offset and flags never change once it is linked; splitting
//! (a partial `munmap`) unlinks it and links new ones, under the same locks the
//! kernel's `vma_adjust` takes, so a walker holding `flush_dcache_mmap_lock`
//! sees either the old vma or the new ones.

use std::sync::{Arc, Weak};

use bitflags::bitflags;
use parking_lot::Mutex;
use vipt_cache::SpaceId;
use vipt_pte::PAGE_SHIFT;

use crate::interval::ItemId;
use crate::lock::{KLock, LockClass};
use crate::mapping::AddressSpace;
use crate::mm_struct::MmStruct;

bitflags! {
    /// `vm_flags` (2.6.14 values).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct VmFlags: u64 {
        /// Readable.
        const VM_READ = 0x1;
        /// Writable.
        const VM_WRITE = 0x2;
        /// Executable.
        const VM_EXEC = 0x4;
        /// Shared mapping: writes reach the file.
        const VM_SHARED = 0x8;
        /// May become readable.
        const VM_MAYREAD = 0x10;
        /// May become writable.
        const VM_MAYWRITE = 0x20;
        /// May become executable.
        const VM_MAYEXEC = 0x40;
        /// May be shared (`MAP_SHARED` was asked for).
        const VM_MAYSHARE = 0x80;
        /// Locked in memory: reclaim leaves it.
        const VM_LOCKED = 0x2000;
        /// Reserved: reclaim leaves it.
        const VM_RESERVED = 0x80000;
        /// Nonlinear (`remap_file_pages`): on `i_mmap_nonlinear`, not in the tree.
        const VM_NONLINEAR = 0x800000;
    }
}

/// A `vm_area_struct`.
#[derive(Debug)]
pub struct Vma {
    /// The owning mm (`vm_mm`).
    pub vm_mm: Weak<MmStruct>,
    /// The owning mm's space id (`vm_mm->context`).
    pub space: SpaceId,
    /// First address.
    pub vm_start: u64,
    /// One past the last address.
    pub vm_end: u64,
    /// File offset of `vm_start`, in pages.
    pub vm_pgoff: u64,
    /// Flags (`vm_flags`), which `mprotect` changes under `mmap_sem`:
    /// read them with [`Vma::vm_flags`].
    pub(crate) flags: std::sync::atomic::AtomicU64,
    /// The mapped file's address space (`vm_file->f_mapping`).
    pub vm_file: Option<Arc<AddressSpace>>,
    /// The anon_vma of private mappings (allocated at first anonymous fault in
    /// the kernel; here with the vma).
    pub anon_vma: Option<Arc<AnonVma>>,
    /// Where the vma sits in its file's `i_mmap` (the prio-tree node).
    pub(crate) tree_id: Mutex<Option<ItemId>>,
}

impl Vma {
    /// `vm_flags`.
    pub fn vm_flags(&self) -> VmFlags {
        VmFlags::from_bits_retain(self.flags.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Sets `vm_flags` (`mprotect_fixup`, under `mmap_sem` for writing).
    pub(crate) fn set_vm_flags(&self, f: VmFlags) {
        self.flags
            .store(f.bits(), std::sync::atomic::Ordering::Relaxed);
    }

    /// Pages covered.
    pub fn pages(&self) -> u64 {
        (self.vm_end - self.vm_start) >> PAGE_SHIFT
    }

    /// The user address of file page `pgoff` in this vma
    /// (`vm_start + ((pgoff - vm_pgoff) << PAGE_SHIFT)`), if inside it.
    pub fn address_of(&self, pgoff: u64) -> Option<u64> {
        let off = pgoff.checked_sub(self.vm_pgoff)?;
        (off < self.pages()).then(|| self.vm_start + (off << PAGE_SHIFT))
    }

    /// The file page at `addr` (`linear_page_index`).
    pub fn pgoff_of(&self, addr: u64) -> u64 {
        self.vm_pgoff + ((addr - self.vm_start) >> PAGE_SHIFT)
    }

    /// Whether `addr` is inside.
    pub fn contains(&self, addr: u64) -> bool {
        (self.vm_start..self.vm_end).contains(&addr)
    }

    /// A private writable mapping: writes break COW.
    pub fn is_cow(&self) -> bool {
        !self.vm_flags().contains(VmFlags::VM_SHARED)
            && self.vm_flags().contains(VmFlags::VM_MAYWRITE)
    }

    /// The owning mm, while it lives.
    pub fn mm(&self) -> Option<Arc<MmStruct>> {
        self.vm_mm.upgrade()
    }
}

/// An `anon_vma`: the vmas that may map a private anonymous page, for reverse
/// mapping, under `anon_vma->lock`.
#[derive(Debug)]
pub struct AnonVma {
    /// `anon_vma->lock`.
    pub lock: KLock,
    pub(crate) vmas: Mutex<Vec<Weak<Vma>>>,
}

impl AnonVma {
    pub(crate) fn new(name: &str) -> Arc<AnonVma> {
        Arc::new(AnonVma {
            lock: KLock::new(LockClass::AnonVmaLock, format!("{name} anon_vma->lock")),
            vmas: Mutex::new(Vec::new()),
        })
    }

    /// The live vmas on the list.
    pub fn vmas(&self) -> Vec<Arc<Vma>> {
        crate::sched::audit(crate::sched::Object::Lock(self.lock.id()), false);
        self.vmas.lock().iter().filter_map(Weak::upgrade).collect()
    }
}
