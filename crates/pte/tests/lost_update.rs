//! Concurrent pte updates: `ptep_get_and_clear` on one CPU against the dirty-bit
//! trap on another. With the trap under `pa_dbit_lock` no update is lost: the pte
//! left behind is exactly the cleared form of what `ptep_get_and_clear` returned.
//! With the deliberately unlocked trap the same check must be able to fail — the
//! trap stores its stale read back and resurrects a present pte.
//!
//! The interleavings are forced, not hoped for: the trap's `window` (between its
//! read and its write of the pte) is where the other CPU's `ptep_get_and_clear`
//! is placed, and a lock that knows whether it is held decides whether the clearer
//! may run there or must wait until the trap has released it. Every placement of
//! the clearer (before the trap, inside its window, after it) is checked, so each
//! test fails only when the pte operations are wrong. A real-thread run of the
//! locked trap stays as a smoke test: it can only fail if an update is lost.

use std::cell::Cell;
use std::sync::Barrier;
use std::thread;

use vipt_pte::*;

fn present() -> Pte {
    pte_mkclean(pfn_pte(Layout::Bits32, 0x1234, PteFlags::PAGE_SHARED).unwrap())
}

/// The cleared form of `old`: what `ptep_get_and_clear` leaves behind.
fn cleared(old: Pte) -> Pte {
    Pte::from_raw((old.raw() & !PteFlags::PRESENT.bits()) | PteFlags::FLUSH.bits())
}

/// A `pa_dbit_lock` for one thread that knows whether it is held.
#[derive(Default)]
struct SeenLock(Cell<bool>);

impl DbitLock for SeenLock {
    fn with_lock<R>(&self, f: impl FnOnce() -> R) -> R {
        assert!(!self.0.get(), "pa_dbit_lock taken twice (self-deadlock)");
        self.0.set(true);
        let r = f();
        self.0.set(false);
        r
    }
}

/// Where the other CPU's `ptep_get_and_clear` is placed against the trap.
#[derive(Debug, Clone, Copy)]
enum Place {
    Before,
    InWindow,
    After,
}

/// Runs the trap and the clearer in the forced order; returns the pte returned by
/// `ptep_get_and_clear`, the pte left in the cell, and whether the clearer had to
/// wait for the lock (it could not enter the window).
fn forced(locking: TrapLocking, place: Place) -> (Pte, Pte, bool) {
    let lock = SeenLock::default();
    let cell = AtomicPte::new(present());
    let taken = Cell::new(None);
    let mut waited = false;
    if let Place::Before = place {
        taken.set(Some(cell.ptep_get_and_clear(&lock)));
    }
    let _ = cell.dirty_trap_with(&lock, locking, || {
        if let Place::InWindow = place {
            if lock.0.get() {
                // The trap holds the lock: the clearer spins until it is released.
                waited = true;
            } else {
                taken.set(Some(cell.ptep_get_and_clear(&lock)));
            }
        }
    });
    if matches!(place, Place::After) || waited {
        taken.set(Some(cell.ptep_get_and_clear(&lock)));
    }
    (taken.get().expect("the clearer ran"), cell.load(), waited)
}

#[test]
fn locked_trap_loses_no_update_in_any_placement() {
    for place in [Place::Before, Place::InWindow, Place::After] {
        let (old, after, waited) = forced(TrapLocking::Locked, place);
        assert_eq!(after, cleared(old), "{place:?}: update lost");
        assert_eq!(waited, matches!(place, Place::InWindow), "{place:?}");
    }
}

#[test]
fn unlocked_trap_loses_the_update_in_its_window() {
    for place in [Place::Before, Place::After] {
        let (old, after, _) = forced(TrapLocking::Unlocked, place);
        assert_eq!(after, cleared(old), "{place:?}");
    }
    // Inside the window the unlocked trap writes its stale read back: the pte the
    // clearer took away is present again, with the trap's dirty bit.
    let (old, after, waited) = forced(TrapLocking::Unlocked, Place::InWindow);
    assert!(!waited);
    assert_eq!(old, present());
    assert_ne!(after, cleared(old), "the unlocked trap lost no update");
    assert!(pte_present(after) && pte_dirty(after), "{:#x}", after.raw());
}

/// Real threads, the locked trap only: each round's pte must be the cleared form
/// of what `ptep_get_and_clear` returned, whichever thread won. Can fail only if
/// the lock does not serialise the two operations.
#[test]
fn locked_trap_loses_no_update_on_threads() {
    const ROUNDS: usize = 2000;
    let lock = PaDbitLock::new();
    let cell = AtomicPte::new(present());
    let start = Barrier::new(3);
    let done = Barrier::new(3);
    thread::scope(|s| {
        s.spawn(|| {
            for _ in 0..ROUNDS {
                start.wait();
                let _ = cell.dirty_trap_with(&lock, TrapLocking::Locked, || {
                    for _ in 0..200 {
                        std::hint::spin_loop();
                    }
                });
                done.wait();
            }
        });
        let clearer = s.spawn(|| {
            (0..ROUNDS)
                .map(|_| {
                    start.wait();
                    let old = cell.ptep_get_and_clear(&lock);
                    done.wait();
                    old
                })
                .collect::<Vec<_>>()
        });
        let mut after = Vec::with_capacity(ROUNDS);
        for _ in 0..ROUNDS {
            start.wait();
            done.wait();
            after.push(cell.load());
            cell.set_pte_at(present());
        }
        for (round, (old, after)) in clearer.join().unwrap().into_iter().zip(after).enumerate() {
            assert_eq!(after, cleared(old), "round {round}: update lost");
        }
    });
}
