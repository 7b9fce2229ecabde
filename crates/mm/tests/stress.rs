//! Native mode: real threads run reclaim, COW, write() and user reads against
//! one world (`vipt_mm::stress`); a bounded run must finish without deadlock,
//! failed kernel path, model bug or broken invariant.

use vipt_mm::strategy::by_name;
use vipt_mm::stress::stress;

const ROUNDS: u64 = 150;

#[test]
fn reclaim_cow_write_and_readers_on_threads() {
    for kernel in vipt_mm::Kernel::ALL {
        let strategy = kernel.flush_dcache_page();
        let r = stress(by_name(strategy).unwrap(), ROUNDS, kernel, None)
            .unwrap_or_else(|e| panic!("{kernel} {strategy}: kernel path failed: {e}"));
        r.invariants
            .as_ref()
            .unwrap_or_else(|e| panic!("{kernel} {strategy}: {e}"));
        assert!(r.bugs.is_empty(), "{kernel}: {:?}", r.bugs);
    }
}
