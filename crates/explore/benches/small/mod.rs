//! The small race of the explorer benchmark, against vipt's engine: a
//! writer (kernel store, kernel flush, check the victim's pte, flush through
//! it, all under a lock), a racer (flush, clear the pte, under another lock)
//! and a user reading its alias twice. Shared by `benches/explorer.rs` and
//! `examples/small_race.rs` (the profiling driver).

use std::cell::Cell;
use std::rc::Rc;

use vipt_explore::{Body, ExploreSched, Outcome, Program, Run};
use vipt_mm::{Footprint, LockClass, LockId, Object, Op, OpKind, Sched};

/// The small race: a writer (kernel store, kernel flush, check the victim's
/// pte, flush through it, all under a lock), a racer (flush, clear the pte,
/// under another lock) and a user reading its alias twice.
/// The value the writer stores.
pub const NEW: u64 = 7;

/// The small race.
pub struct Small;

/// Its state: the four variables.
pub struct SmallState {
    v: Rc<[Cell<u64>; 4]>,
}

// Variables: 0 = pte present, 1 = user's cached line (0: not cached),
// 2 = memory, 3 = kernel's dirty line (0: clean).
fn access(t: usize, var: usize, write: bool) {
    let fp = if write {
        Footprint::write(Object::Page(var as u64))
    } else {
        Footprint::read(Object::Page(var as u64))
    };
    ExploreSched.point(
        t,
        &Op::new(
            if write {
                OpKind::PteWrite
            } else {
                OpKind::PteRead
            },
            "small",
            fp,
        ),
    );
}

fn lock(t: usize, id: u32, owner: &Cell<bool>) {
    let op = Op::new(
        OpKind::Lock {
            class: LockClass::TreeLock,
            shared: false,
        },
        "lock",
        Footprint::write(Object::Lock(LockId(id))),
    );
    ExploreSched.point(t, &op);
    while owner.get() {
        ExploreSched.contended(t, LockId(id));
    }
    owner.set(true);
}

fn unlock(t: usize, id: u32, owner: &Cell<bool>) {
    let op = Op::new(
        OpKind::Unlock {
            class: LockClass::TreeLock,
        },
        "unlock",
        Footprint::write(Object::Lock(LockId(id))),
    );
    ExploreSched.point(t, &op);
    owner.set(false);
    ExploreSched.released(t, LockId(id));
}

impl Program for Small {
    type State = SmallState;

    fn setup(&self) -> Result<(SmallState, Vec<Body>), String> {
        let v: Rc<[Cell<u64>; 4]> =
            Rc::new([Cell::new(1), Cell::new(1), Cell::new(1), Cell::new(0)]);
        let locks: Rc<[Cell<bool>; 2]> = Rc::new([Cell::new(false), Cell::new(false)]);
        let (v0, l0) = (v.clone(), locks.clone());
        let writer: Body = Box::new(move || {
            lock(0, 1, &l0[0]);
            access(0, 3, true);
            v0[3].set(NEW);
            access(0, 3, true);
            access(0, 2, true);
            v0[2].set(v0[3].replace(0));
            access(0, 0, false);
            if v0[0].get() == 1 {
                access(0, 0, false);
                access(0, 1, true);
                if v0[0].get() == 1 {
                    v0[1].set(0);
                }
            }
            unlock(0, 1, &l0[0]);
        });
        let (v1, l1) = (v.clone(), locks.clone());
        let racer: Body = Box::new(move || {
            lock(1, 2, &l1[1]);
            access(1, 1, true);
            v1[1].set(0);
            access(1, 0, true);
            v1[0].set(0);
            unlock(1, 2, &l1[1]);
        });
        let v2 = v.clone();
        let user: Body = Box::new(move || {
            for _ in 0..2 {
                access(2, 1, true);
                if v2[1].get() == 0 {
                    access(2, 2, false);
                    v2[1].set(v2[2].get());
                }
            }
        });
        Ok((SmallState { v }, vec![writer, racer, user]))
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
