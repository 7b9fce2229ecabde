//! The small race of the explorer benchmark, against vipt's engine: a
//! writer (kernel store, kernel flush, check the victim's pte, flush through
//! it, all under a lock), a racer (flush, clear the pte, under another lock)
//! and a user reading its alias twice. Shared by `benches/explorer.rs` and
//! `examples/small_race.rs` (the profiling driver).

use std::cell::Cell;

use vipt_explore::{ExploreSched, Outcome, Program, Run};
use vipt_mm::{Footprint, LockClass, LockId, Object, Op, OpKind, Sched};

/// The value the writer stores.
pub const NEW: u64 = 7;

/// The small race.
pub struct Small;

/// Its state: the four variables and the two locks' owners, shared by the
/// three CPUs.
pub struct SmallState {
    v: [Cell<u64>; 4],
    locks: [Cell<bool>; 2],
}

// Variables: 0 = pte present, 1 = user's cached line (0: not cached),
// 2 = memory, 3 = kernel's dirty line (0: clean).
const fn access_op(var: u64, write: bool) -> Op {
    if write {
        Op::new(
            OpKind::PteWrite,
            "small",
            Footprint::write(Object::Page(var)),
        )
    } else {
        Op::new(OpKind::PteRead, "small", Footprint::read(Object::Page(var)))
    }
}

/// The operations are constants (a point borrows its operation; these are
/// not built on the stack at every step): reads, then writes, of each
/// variable.
static ACCESS: [[Op; 4]; 2] = [
    [
        access_op(0, false),
        access_op(1, false),
        access_op(2, false),
        access_op(3, false),
    ],
    [
        access_op(0, true),
        access_op(1, true),
        access_op(2, true),
        access_op(3, true),
    ],
];

const fn lock_op(id: u32, lock: bool) -> Op {
    let fp = Footprint::write(Object::Lock(LockId(id)));
    if lock {
        let kind = OpKind::Lock {
            class: LockClass::TreeLock,
            shared: false,
        };
        Op::new(kind, "lock", fp)
    } else {
        let kind = OpKind::Unlock {
            class: LockClass::TreeLock,
        };
        Op::new(kind, "unlock", fp)
    }
}

/// Taking and releasing locks 1 and 2.
static LOCKS: [[Op; 2]; 2] = [
    [lock_op(1, true), lock_op(2, true)],
    [lock_op(1, false), lock_op(2, false)],
];

// The CPU's body reaches its points without returning in between: the
// helpers are inlined (a return right after a switch is mispredicted).
#[inline(always)]
fn access(t: usize, var: usize, write: bool) {
    ExploreSched.point(t, &ACCESS[write as usize][var]);
}

#[inline(always)]
fn lock(t: usize, id: u32, owner: &Cell<bool>) {
    ExploreSched.point(t, &LOCKS[0][id as usize - 1]);
    while owner.get() {
        ExploreSched.contended(t, LockId(id));
    }
    owner.set(true);
}

#[inline(always)]
fn unlock(t: usize, id: u32, owner: &Cell<bool>) {
    ExploreSched.point(t, &LOCKS[1][id as usize - 1]);
    owner.set(false);
    ExploreSched.released(t, LockId(id));
}

impl Program for Small {
    type State = SmallState;

    fn setup(&self) -> Result<SmallState, String> {
        Ok(SmallState {
            v: [Cell::new(1), Cell::new(1), Cell::new(1), Cell::new(0)],
            locks: [Cell::new(false), Cell::new(false)],
        })
    }

    fn cpus(&self, _: &SmallState) -> usize {
        3
    }

    fn run(&self, s: &SmallState, cpu: usize) {
        let v = &s.v;
        match cpu {
            // The writer.
            0 => {
                lock(0, 1, &s.locks[0]);
                access(0, 3, true);
                v[3].set(NEW);
                access(0, 3, true);
                access(0, 2, true);
                v[2].set(v[3].replace(0));
                access(0, 0, false);
                if v[0].get() == 1 {
                    access(0, 0, false);
                    access(0, 1, true);
                    if v[0].get() == 1 {
                        v[1].set(0);
                    }
                }
                unlock(0, 1, &s.locks[0]);
            }
            // The racer.
            1 => {
                lock(1, 2, &s.locks[1]);
                access(1, 1, true);
                v[1].set(0);
                access(1, 0, true);
                v[0].set(0);
                unlock(1, 2, &s.locks[1]);
            }
            // The user.
            _ => {
                for _ in 0..2 {
                    access(2, 1, true);
                    if v[1].get() == 0 {
                        access(2, 2, false);
                        v[1].set(v[2].get());
                    }
                }
            }
        }
    }

    fn check(&self, s: SmallState, _: &Run) -> Outcome {
        let line = s.v[1].get();
        Outcome {
            failures: if line != 0 && line != NEW {
                vec!["stale".into()]
            } else {
                vec![]
            },
            ..Outcome::default()
        }
    }
}
