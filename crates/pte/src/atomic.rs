//! A pte cell with the 2.6.14 parisc SMP pte operations.
//!
//! Which operation is atomic with respect to which, as the kernel has it:
//!
//! - `ptep_get_and_clear` takes the global `pa_dbit_lock`, reads the pte, clears
//!   `_PAGE_PRESENT` and sets `_PAGE_FLUSH` keeping the pfn, stores it, and returns
//!   the old value: the "cleared" pte still lets the cache be flushed through it.
//! - The dirty-bit trap handler takes the same lock for user addresses and sets
//!   `DIRTY` (with `ACCESSED`) before it inserts the TLB entry; the lock is what keeps
//!   its read-modify-write from resurrecting a pte that `ptep_get_and_clear`
//!   cleared in between.
//! - `ptep_test_and_clear_young`/`_dirty` are atomic bit operations, not under the
//!   lock; `ptep_set_wrprotect` is a compare-and-swap loop.
//! - `set_pte_at` and `pte_clear` are plain stores; the TLB-miss handler sets
//!   `ACCESSED` with a plain load and store and no lock.
//!
//! The lock is passed in ([`DbitLock`]) so the mm crate can route it through its own
//! lock classes and scheduling points; [`PaDbitLock`] is the plain native one.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::flags::PteFlags;
use crate::pte::{pte_dirty, pte_present, pte_young, Pte};

/// The global `pa_dbit_lock`, as the pte operations need it.
pub trait DbitLock {
    /// Runs `f` with the lock held.
    fn with_lock<R>(&self, f: impl FnOnce() -> R) -> R;
}

/// A native `pa_dbit_lock` (a `parking_lot` mutex).
#[derive(Debug, Default)]
pub struct PaDbitLock(parking_lot::Mutex<()>);

impl PaDbitLock {
    /// A new, unlocked lock.
    pub const fn new() -> Self {
        PaDbitLock(parking_lot::const_mutex(()))
    }
}

impl DbitLock for PaDbitLock {
    fn with_lock<R>(&self, f: impl FnOnce() -> R) -> R {
        let _guard = self.0.lock();
        f()
    }
}

/// How the dirty-bit trap's update is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrapLocking {
    /// As 2.6.14 intends for user addresses: the whole read-modify-write under
    /// `pa_dbit_lock`.
    Locked,
    /// Deliberately broken: no lock. Exists to show that the lost-update test can
    /// fail; never the kernel's behaviour.
    Unlocked,
}

/// The dirty-bit trap found no present pte: the kernel would go to the fault path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirtyFault(pub Pte);

/// A pte in a page table, shared between CPUs.
#[derive(Debug, Default)]
pub struct AtomicPte(AtomicU64);

impl AtomicPte {
    /// A cell holding `pte`.
    pub const fn new(pte: Pte) -> Self {
        AtomicPte(AtomicU64::new(pte.raw()))
    }

    /// Reads the pte (`*ptep`).
    pub fn load(&self) -> Pte {
        Pte::from_raw(self.0.load(Ordering::SeqCst))
    }

    /// `set_pte_at`: a plain store, no lock.
    pub fn set_pte_at(&self, pte: Pte) {
        self.0.store(pte.raw(), Ordering::SeqCst);
    }

    /// `pte_clear`: stores the zero pte.
    pub fn pte_clear(&self) {
        self.set_pte_at(Pte::NONE);
    }

    /// `ptep_get_and_clear` (SMP): under `pa_dbit_lock`, clear `PRESENT`, set
    /// `FLUSH`, keep the pfn; returns the old value.
    pub fn ptep_get_and_clear<L: DbitLock>(&self, lock: &L) -> Pte {
        lock.with_lock(|| {
            let old = self.load();
            let cleared = (old.raw() & !PteFlags::PRESENT.bits()) | PteFlags::FLUSH.bits();
            self.set_pte_at(Pte::from_raw(cleared));
            old
        })
    }

    /// `ptep_get_and_clear` as 3.x has it (no `_PAGE_FLUSH`): under
    /// `pa_dbit_lock`, store the zero pte; returns the old value.
    pub fn ptep_get_and_clear_3x<L: DbitLock>(&self, lock: &L) -> Pte {
        lock.with_lock(|| {
            let old = self.load();
            self.set_pte_at(Pte::NONE);
            old
        })
    }

    /// `ptep_test_and_clear_young`: false if the bit is clear, else an atomic
    /// test-and-clear of `ACCESSED`.
    pub fn ptep_test_and_clear_young(&self) -> bool {
        self.test_and_clear(PteFlags::ACCESSED, pte_young)
    }

    /// `ptep_test_and_clear_dirty`: false if the bit is clear, else an atomic
    /// test-and-clear of `DIRTY`.
    pub fn ptep_test_and_clear_dirty(&self) -> bool {
        self.test_and_clear(PteFlags::DIRTY, pte_dirty)
    }

    fn test_and_clear(&self, flag: PteFlags, test: fn(Pte) -> bool) -> bool {
        if !test(self.load()) {
            return false;
        }
        self.0.fetch_and(!flag.bits(), Ordering::SeqCst) & flag.bits() != 0
    }

    /// `ptep_set_wrprotect`: a compare-and-swap loop clearing `WRITE`.
    pub fn ptep_set_wrprotect(&self) {
        let mut old = self.0.load(Ordering::SeqCst);
        while let Err(now) = self.0.compare_exchange(
            old,
            old & !PteFlags::WRITE.bits(),
            Ordering::SeqCst,
            Ordering::SeqCst,
        ) {
            old = now;
        }
    }

    /// `cmpxchg` on the pte word: stores `new` if the pte is `old`; returns the
    /// value found.
    pub fn cmpxchg(&self, old: Pte, new: Pte) -> Result<Pte, Pte> {
        self.0
            .compare_exchange(old.raw(), new.raw(), Ordering::SeqCst, Ordering::SeqCst)
            .map(Pte::from_raw)
            .map_err(Pte::from_raw)
    }

    /// The dirty-bit trap for a user address: under `pa_dbit_lock`, a present pte
    /// gets `DIRTY | ACCESSED`; returns the new pte (which the handler inserts into
    /// the TLB), or the fault if the pte is not present.
    pub fn dirty_trap<L: DbitLock>(&self, lock: &L) -> Result<Pte, DirtyFault> {
        self.dirty_trap_with(lock, TrapLocking::Locked, || {})
    }

    /// The dirty-bit trap with its locking chosen and a `window` run between its
    /// read and its write of the pte, where another CPU may act. The kernel's window
    /// is a few instructions; tests widen it to make a race observable quickly.
    pub fn dirty_trap_with<L: DbitLock>(
        &self,
        lock: &L,
        locking: TrapLocking,
        mut window: impl FnMut(),
    ) -> Result<Pte, DirtyFault> {
        let mut update = || {
            let old = self.load();
            if !pte_present(old) {
                return Err(DirtyFault(old));
            }
            window();
            let new = Pte::from_raw(old.raw() | (PteFlags::DIRTY | PteFlags::ACCESSED).bits());
            self.set_pte_at(new);
            Ok(new)
        };
        match locking {
            TrapLocking::Locked => lock.with_lock(update),
            TrapLocking::Unlocked => update(),
        }
    }

    /// The TLB-miss handler's accessed-bit update: plain load, plain store of the
    /// value with `ACCESSED`, no lock, only for a present pte. Returns the pte it
    /// inserts, or `None` (the fault path) for a non-present pte.
    pub fn tlb_miss_mark_accessed(&self) -> Option<Pte> {
        let old = self.load();
        if !pte_present(old) {
            return None;
        }
        let new = Pte::from_raw(old.raw() | PteFlags::ACCESSED.bits());
        if new != old {
            self.set_pte_at(new);
        }
        Some(new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Layout;
    use crate::pte::{pfn_pte, pte_pfn, pte_write};

    fn shared(pfn: u64) -> Pte {
        pfn_pte(Layout::Bits32, pfn, PteFlags::PAGE_SHARED).unwrap()
    }

    #[test]
    fn get_and_clear_keeps_pfn_and_sets_flush() {
        let lock = PaDbitLock::new();
        let cell = AtomicPte::new(shared(42));
        let old = cell.ptep_get_and_clear(&lock);
        assert_eq!(old, shared(42));
        let now = cell.load();
        assert!(!pte_present(now));
        assert_eq!(pte_pfn(now), 42);
        assert!(now.flags().contains(PteFlags::FLUSH));
    }

    #[test]
    fn get_and_clear_3x_leaves_nothing() {
        let lock = PaDbitLock::new();
        let cell = AtomicPte::new(shared(42));
        assert_eq!(cell.ptep_get_and_clear_3x(&lock), shared(42));
        assert_eq!(cell.load(), Pte::NONE);
    }

    #[test]
    fn young_dirty_wrprotect() {
        let cell = AtomicPte::new(shared(1));
        assert!(cell.ptep_test_and_clear_young());
        assert!(!cell.ptep_test_and_clear_young());
        assert!(!cell.ptep_test_and_clear_dirty());
        let lock = PaDbitLock::new();
        assert!(pte_dirty(cell.dirty_trap(&lock).unwrap()));
        assert!(cell.ptep_test_and_clear_dirty());
        cell.ptep_set_wrprotect();
        assert!(!pte_write(cell.load()));
        assert_eq!(cell.cmpxchg(Pte::NONE, shared(2)), Err(cell.load()));
    }

    #[test]
    fn trap_on_cleared_pte_faults() {
        let lock = PaDbitLock::new();
        let cell = AtomicPte::new(shared(3));
        cell.ptep_get_and_clear(&lock);
        assert!(cell.dirty_trap(&lock).is_err());
        assert!(cell.tlb_miss_mark_accessed().is_none());
        cell.set_pte_at(pte_mkold_shared(3));
        assert!(pte_young(cell.tlb_miss_mark_accessed().unwrap()));
    }

    fn pte_mkold_shared(pfn: u64) -> Pte {
        crate::pte::pte_mkold(shared(pfn))
    }
}
