//! The kernel locks as model locks: each has a lock class (for the order
//! checker) and a raw `parking_lot` lock underneath, so that real threads block
//! on it in native mode, and C code can lock and unlock in separate calls.
//!
//! Model locks are only taken and released through a [`crate::Cpu`], which
//! passes the scheduling hook and the order checker first.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};

use parking_lot::lock_api::{RawMutex as _, RawRwLock as _};

/// The lock classes of 2.6.14's mm, outermost first (the documented order of
/// `mm/rmap.c` and `mm/filemap.c`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LockClass {
    /// `inode->i_sem`.
    ISem,
    /// `mm->mmap_sem` (rw semaphore).
    MmapSem,
    /// The `PG_locked` page bit lock (`lock_page`).
    PgLocked,
    /// `mapping->i_mmap_lock`.
    IMmapLock,
    /// `anon_vma->lock`.
    AnonVmaLock,
    /// `mm->page_table_lock`.
    PageTableLock,
    /// A split pte lock (2.6.15's per page-table page lock).
    PteLock,
    /// `swap_lock`.
    SwapLock,
    /// `mapping->tree_lock` (rwlock, taken with interrupts off; parisc's
    /// `flush_dcache_mmap_lock`).
    TreeLock,
    /// parisc's global `pa_dbit_lock`.
    PaDbitLock,
}

impl LockClass {
    /// Every class, outermost first.
    pub const ALL: [LockClass; 10] = [
        LockClass::ISem,
        LockClass::MmapSem,
        LockClass::PgLocked,
        LockClass::IMmapLock,
        LockClass::AnonVmaLock,
        LockClass::PageTableLock,
        LockClass::PteLock,
        LockClass::SwapLock,
        LockClass::TreeLock,
        LockClass::PaDbitLock,
    ];

    /// The kernel's name for locks of this class.
    pub const fn name(self) -> &'static str {
        match self {
            LockClass::ISem => "i_sem",
            LockClass::MmapSem => "mmap_sem",
            LockClass::PgLocked => "PG_locked",
            LockClass::IMmapLock => "i_mmap_lock",
            LockClass::AnonVmaLock => "anon_vma->lock",
            LockClass::PageTableLock => "page_table_lock",
            LockClass::PteLock => "pte lock",
            LockClass::SwapLock => "swap_lock",
            LockClass::TreeLock => "tree_lock",
            LockClass::PaDbitLock => "pa_dbit_lock",
        }
    }

    /// Whether locks of this class are reader/writer locks.
    pub const fn is_rw(self) -> bool {
        matches!(self, LockClass::MmapSem | LockClass::TreeLock)
    }
}

impl fmt::Display for LockClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A lock instance's identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LockId(pub u32);

static NEXT_ID: AtomicU32 = AtomicU32::new(1);

enum Raw {
    Mutex(parking_lot::RawMutex),
    Rw(parking_lot::RawRwLock),
}

/// A model kernel lock.
pub struct KLock {
    id: LockId,
    class: LockClass,
    name: String,
    raw: Raw,
}

impl fmt::Debug for KLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KLock({} #{})", self.name, self.id.0)
    }
}

impl KLock {
    /// A new unlocked lock of `class`; `name` says which instance
    /// (`"mm 3 page_table_lock"`).
    pub fn new(class: LockClass, name: impl Into<String>) -> KLock {
        let raw = if class.is_rw() {
            Raw::Rw(parking_lot::RawRwLock::INIT)
        } else {
            Raw::Mutex(parking_lot::RawMutex::INIT)
        };
        KLock {
            id: LockId(NEXT_ID.fetch_add(1, Ordering::Relaxed)),
            class,
            name: name.into(),
            raw,
        }
    }

    /// Its identity.
    pub fn id(&self) -> LockId {
        self.id
    }

    /// Its class.
    pub fn class(&self) -> LockClass {
        self.class
    }

    /// Its instance name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether someone holds it (in any mode).
    pub fn is_locked(&self) -> bool {
        crate::sched::audit(crate::sched::Object::Lock(self.id), false);
        match &self.raw {
            Raw::Mutex(m) => m.is_locked(),
            Raw::Rw(r) => r.is_locked(),
        }
    }

    pub(crate) fn try_acquire(&self, shared: bool) -> bool {
        crate::sched::audit(crate::sched::Object::Lock(self.id), true);
        match &self.raw {
            Raw::Mutex(m) => m.try_lock(),
            Raw::Rw(r) if shared => r.try_lock_shared(),
            Raw::Rw(r) => r.try_lock_exclusive(),
        }
    }

    pub(crate) fn acquire_blocking(&self, shared: bool) {
        crate::sched::audit(crate::sched::Object::Lock(self.id), true);
        match &self.raw {
            Raw::Mutex(m) => m.lock(),
            Raw::Rw(r) if shared => r.lock_shared(),
            Raw::Rw(r) => r.lock_exclusive(),
        }
    }

    /// Releases a hold taken with `try_acquire`/`acquire_blocking` in the same
    /// mode. Only [`crate::Cpu`] calls this, for a lock its held-lock stack
    /// records, which is what makes the raw unlock sound.
    pub(crate) fn release(&self, shared: bool) {
        crate::sched::audit(crate::sched::Object::Lock(self.id), true);
        match &self.raw {
            // SAFETY: the caller (Cpu::unlock) found this lock on its held-lock
            // stack, so this context holds it in this mode.
            Raw::Mutex(m) => unsafe { m.unlock() },
            // SAFETY: as above, held shared by this context.
            Raw::Rw(r) if shared => unsafe { r.unlock_shared() },
            // SAFETY: as above, held exclusively by this context.
            Raw::Rw(r) => unsafe { r.unlock_exclusive() },
        }
    }
}
