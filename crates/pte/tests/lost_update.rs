//! Concurrent pte updates: `ptep_get_and_clear` on one CPU against the dirty-bit
//! trap on another. With the trap under `pa_dbit_lock` no update is lost: the pte
//! left behind is exactly the cleared form of what `ptep_get_and_clear` returned.
//! With the deliberately unlocked trap the same check must be able to fail — the
//! trap stores its stale read back and resurrects a present pte.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Barrier;
use std::thread;

use vipt_pte::*;

const ROUNDS: usize = 4000;

fn present() -> Pte {
    pte_mkclean(pfn_pte(Layout::Bits32, 0x1234, PteFlags::PAGE_SHARED).unwrap())
}

/// Runs `rounds` rounds of the race; returns how many lost an update.
fn race(locking: TrapLocking, rounds: usize, stop_at_first: bool) -> usize {
    let lock = PaDbitLock::new();
    let cell = AtomicPte::new(present());
    let start = Barrier::new(3);
    let done = Barrier::new(3);
    let stop = AtomicBool::new(false);
    let mut lost = 0;
    thread::scope(|s| {
        s.spawn(|| {
            for _ in 0..rounds {
                start.wait();
                if !stop.load(Ordering::SeqCst) {
                    // Widen the window between the trap's read and its write.
                    let _ = cell.dirty_trap_with(&lock, locking, || {
                        for _ in 0..200 {
                            std::hint::spin_loop();
                        }
                    });
                }
                done.wait();
            }
        });
        let clearer = s.spawn(|| {
            let mut returned = Vec::with_capacity(rounds);
            for _ in 0..rounds {
                start.wait();
                returned.push(if stop.load(Ordering::SeqCst) {
                    None
                } else {
                    Some(cell.ptep_get_and_clear(&lock))
                });
                done.wait();
            }
            returned
        });
        // The main thread checks each round after both are done, then resets.
        let mut olds = Vec::new();
        for _ in 0..rounds {
            start.wait();
            done.wait();
            olds.push(cell.load());
            cell.set_pte_at(present());
        }
        let returned = clearer.join().unwrap();
        for (after, old) in olds.into_iter().zip(returned) {
            let Some(old) = old else { continue };
            let expected = Pte::from_raw((old.raw() & !0x200) | 0x400);
            if after != expected {
                lost += 1;
                if stop_at_first {
                    stop.store(true, Ordering::SeqCst);
                }
            }
        }
    });
    lost
}

#[test]
fn locked_trap_loses_no_update() {
    assert_eq!(race(TrapLocking::Locked, ROUNDS, false), 0);
}

#[test]
fn unlocked_trap_can_lose_an_update() {
    // Up to 20 batches: the window is wide, so the first batch nearly always shows it.
    let lost: usize = (0..20)
        .map(|_| race(TrapLocking::Unlocked, ROUNDS / 4, true))
        .find(|&n| n > 0)
        .unwrap_or(0);
    assert!(
        lost > 0,
        "the unlocked trap never lost an update: the test cannot fail"
    );
}
