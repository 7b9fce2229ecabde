//! The explorer against brute force on small programs: a naive generator
//! enumerates every interleaving of tiny thread programs over shared
//! variables and one lock; the explorer (with and without reduction, bounded
//! and not, random) must find the same outcomes, never lose a failing one,
//! and replay what it reports.

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;

use proptest::prelude::*;
use vipt_explore::{
    explore, run_one, Chooser, Config, Enabled, ExploreSched, Mode, Outcome, Program, Replay, Run,
};
use vipt_mm::{Footprint, LockClass, LockId, Object, Op, OpKind, Sched};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum T {
    /// reg = var
    Read(usize),
    /// var = k (+ reg)
    Write(usize, u64, bool),
    Lock,
    Unlock,
}

const LOCK: LockId = LockId(u32::MAX);

#[derive(Debug, Clone)]
struct Toy {
    threads: Vec<Vec<T>>,
    vars: usize,
    /// Fails when var 0 ends with this value.
    bad: u64,
}

struct State {
    vars: RefCell<Vec<u64>>,
    regs: RefCell<Vec<u64>>,
    owner: Cell<Option<usize>>,
}

fn observed(vars: &[u64], regs: &[u64]) -> String {
    format!("{vars:?} {regs:?}")
}

impl Program for Toy {
    type State = State;

    fn setup(&self) -> Result<State, String> {
        Ok(State {
            vars: RefCell::new(vec![0u64; self.vars]),
            regs: RefCell::new(vec![0u64; self.threads.len()]),
            owner: Cell::new(None),
        })
    }

    fn cpus(&self, _: &State) -> usize {
        self.threads.len()
    }

    fn run(&self, st: &State, t: usize) {
        let (vars, regs, owner) = (&st.vars, &st.regs, &st.owner);
        let s = ExploreSched;
        for &op in &self.threads[t] {
            match op {
                T::Read(v) => {
                    s.point(
                        t,
                        &Op::new(
                            OpKind::PteRead,
                            "read",
                            Footprint::read(Object::Page(v as u64)),
                        ),
                    );
                    let x = vars.borrow()[v];
                    regs.borrow_mut()[t] = x;
                }
                T::Write(v, k, add) => {
                    s.point(
                        t,
                        &Op::new(
                            OpKind::PteWrite,
                            "write",
                            Footprint::write(Object::Page(v as u64)),
                        ),
                    );
                    let r = if add { regs.borrow()[t] } else { 0 };
                    vars.borrow_mut()[v] = k + r;
                }
                T::Lock => {
                    let kind = OpKind::Lock {
                        class: LockClass::PteLock,
                        shared: false,
                    };
                    s.point(
                        t,
                        &Op::new(kind, "lock", Footprint::write(Object::Lock(LOCK))),
                    );
                    while owner.get().is_some() {
                        s.contended(t, LOCK);
                    }
                    owner.set(Some(t));
                }
                T::Unlock => {
                    let kind = OpKind::Unlock {
                        class: LockClass::PteLock,
                    };
                    s.point(
                        t,
                        &Op::new(kind, "unlock", Footprint::write(Object::Lock(LOCK))),
                    );
                    owner.set(None);
                    s.released(t, LOCK);
                }
            }
        }
    }

    /// The variables, the registers and the lock's owner: with each
    /// thread's operations so far (its position), the whole state.
    fn fingerprint(&self, st: &State, out: &mut Vec<u64>) -> bool {
        let (Ok(vars), Ok(regs)) = (st.vars.try_borrow(), st.regs.try_borrow()) else {
            return false;
        };
        out.extend(vars.iter().chain(regs.iter()));
        out.push(st.owner.get().map_or(u64::MAX, |o| o as u64));
        true
    }

    fn check(&self, state: State, run: &Run) -> Outcome {
        if matches!(run.ending, vipt_explore::Ending::Deadlock(_)) {
            return Outcome {
                observed: "deadlock".into(),
                ..Outcome::default()
            };
        }
        let (v, r) = (state.vars.borrow(), state.regs.borrow());
        Outcome {
            failures: if v[0] == self.bad {
                vec![format!("var0 = {}", self.bad)]
            } else {
                vec![]
            },
            observed: observed(&v, &r),
            ..Outcome::default()
        }
    }
}

/// Every final state of every interleaving, by naive recursion.
fn brute(p: &Toy) -> BTreeSet<String> {
    fn go(
        p: &Toy,
        pc: &mut Vec<usize>,
        vars: &mut Vec<u64>,
        regs: &mut Vec<u64>,
        owner: Option<usize>,
        out: &mut BTreeSet<String>,
    ) {
        let mut any = false;
        let mut live = false;
        for t in 0..p.threads.len() {
            let Some(&op) = p.threads[t].get(pc[t]) else {
                continue;
            };
            live = true;
            let (sv, sr, so) = (vars.clone(), regs.clone(), owner);
            let mut owner2 = owner;
            match op {
                T::Read(v) => regs[t] = vars[v],
                T::Write(v, k, add) => vars[v] = k + if add { regs[t] } else { 0 },
                T::Lock => {
                    if owner.is_some() {
                        continue;
                    }
                    owner2 = Some(t);
                }
                T::Unlock => owner2 = None,
            }
            any = true;
            pc[t] += 1;
            go(p, pc, vars, regs, owner2, out);
            pc[t] -= 1;
            *vars = sv;
            *regs = sr;
            let _ = so;
        }
        if !any {
            out.insert(if live {
                "deadlock".into()
            } else {
                observed(vars, regs)
            });
        }
    }
    let mut out = BTreeSet::new();
    go(
        p,
        &mut vec![0; p.threads.len()],
        &mut vec![0; p.vars],
        &mut vec![0; p.threads.len()],
        None,
        &mut out,
    );
    out
}

fn outcomes(p: &Toy, mode: Mode) -> (BTreeSet<String>, vipt_explore::Report) {
    outcomes_cached(p, mode, false)
}

fn outcomes_cached(
    p: &Toy,
    mode: Mode,
    state_cache: bool,
) -> (BTreeSet<String>, vipt_explore::Report) {
    let budget = if matches!(mode, Mode::Exhaustive { .. }) {
        1_000_000
    } else {
        2_000
    };
    let cfg = Config {
        mode,
        budget,
        threads: 2,
        state_cache,
        ..Config::default()
    };
    let r = explore(p, &cfg, None).unwrap();
    (r.outcomes.keys().cloned().collect(), r)
}

const EXH: Mode = Mode::Exhaustive {
    bound: None,
    reduction: true,
};
const EXH_FULL: Mode = Mode::Exhaustive {
    bound: None,
    reduction: false,
};

/// A thread: plain ops and locked sections (so lock use is balanced).
fn thread() -> impl Strategy<Value = Vec<T>> {
    let plain = prop_oneof![
        (0..2usize).prop_map(T::Read),
        (0..2usize, 0..3u64, any::<bool>()).prop_map(|(v, k, a)| T::Write(v, k, a)),
    ];
    let block = prop_oneof![
        3 => plain.clone().prop_map(|o| vec![o]),
        1 => proptest::collection::vec(plain, 1..3).prop_map(|mut v| {
            v.insert(0, T::Lock);
            v.push(T::Unlock);
            v
        }),
    ];
    proptest::collection::vec(block, 1..3).prop_map(|b| b.concat())
}

fn program() -> impl Strategy<Value = Toy> {
    (proptest::collection::vec(thread(), 2..4), 0..4u64).prop_map(|(threads, bad)| Toy {
        threads,
        vars: 2,
        bad,
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn exhaustive_finds_exactly_the_brute_force_outcomes(p in program()) {
        let want = brute(&p);
        let (got, r) = outcomes(&p, EXH);
        prop_assert!(r.complete);
        prop_assert_eq!(&got, &want);
        let (full, rf) = outcomes(&p, EXH_FULL);
        if rf.complete {
            prop_assert_eq!(&full, &want);
        } else {
            // Some programs have more schedules than the budget: what the
            // full search saw is still possible.
            prop_assert!(full.is_subset(&want));
        }
        // Reduction explores no more than the full search.
        prop_assert!(r.executions <= rf.executions);
    }

    #[test]
    fn reduction_and_bounds_never_invent_outcomes_and_keep_failures(p in program()) {
        let want = brute(&p);
        let fails = want.iter().any(|o| o.starts_with(&format!("[{},", p.bad)));
        let (_, r) = outcomes(&p, EXH);
        prop_assert_eq!(r.failing > 0, fails, "reduction lost or invented a failure");
        for b in 0..3 {
            let (got, _) = outcomes(&p, Mode::Exhaustive { bound: Some(b), reduction: true });
            prop_assert!(got.is_subset(&want));
        }
        let (got, _) = outcomes(&p, Mode::Random);
        prop_assert!(got.is_subset(&want));
        let (got, _) = outcomes(&p, Mode::Pct { depth: 2 });
        prop_assert!(got.is_subset(&want));
    }

    /// The state cache changes which runs are made, never what they can
    /// reach: for every bound and with sleep sets on and off, the cached
    /// search finds the outcomes and the failure the search without it
    /// finds, with its coverage, in no more executions.
    #[test]
    fn the_state_cache_keeps_every_outcome_and_failure(p in program()) {
        for bound in [None, Some(0), Some(1), Some(2)] {
            for reduction in [false, true] {
                let mode = Mode::Exhaustive { bound, reduction };
                let (want, rw) = outcomes(&p, mode);
                let (got, rg) = outcomes_cached(&p, mode, true);
                prop_assert_eq!(rw.complete, rg.complete);
                if !rw.complete {
                    continue;
                }
                prop_assert_eq!(&got, &want, "{}", mode);
                prop_assert_eq!(rg.failing > 0, rw.failing > 0, "{}", mode);
                prop_assert_eq!(rg.coverage, rw.coverage);
                prop_assert!(rg.executions <= rw.executions, "{}", mode);
            }
        }
    }

    #[test]
    fn every_failing_schedule_replays_to_the_same_outcome(p in program()) {
        let cfg = Config { mode: Mode::Random, budget: 200, seed: 7, threads: 1, ..Config::default() };
        let r = explore(&p, &cfg, None).unwrap();
        if let Some(f) = r.first {
            let (run, out) = run_one(&p, &mut Replay::new(f.schedule.clone()), 1000).unwrap();
            let out = out.unwrap();
            prop_assert!(out.failed());
            prop_assert_eq!(vipt_explore::Schedule::of_run(&run), f.schedule);
        }
    }
}

/// A chooser as `C`, but saying it reads the operations: the executor
/// starts every CPU up to its first point before the first choice.
struct Eager<C>(C);

impl<C: Chooser> Chooser for Eager<C> {
    fn choose(&mut self, step: usize, prev: Option<usize>, enabled: Enabled<'_>) -> Option<usize> {
        self.0.choose(step, prev, enabled)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A replay (which does not read operations, so each CPU starts when
    /// first chosen) runs exactly as the same replay with every CPU started
    /// first: the same steps, operations, preemptions, ending and outcome,
    /// also with a CPU that ends without any scheduling point.
    #[test]
    fn starting_cpus_when_first_chosen_changes_no_run(
        p in program(),
        idle in any::<bool>(),
        choices in proptest::collection::vec(0..4u8, 0..24),
    ) {
        let mut p = p;
        if idle {
            p.threads.insert(1, Vec::new());
        }
        let n = p.threads.len() as u8;
        let sched = vipt_explore::Schedule(choices.into_iter().filter(|&c| c < n).collect());
        let mut lazy = Replay::new(sched.clone());
        prop_assert!(!lazy.reads_ops());
        let (run_l, out_l) = run_one(&p, &mut lazy, 1000).unwrap();
        let mut eager = Eager(Replay::new(sched));
        let (run_e, out_e) = run_one(&p, &mut eager, 1000).unwrap();
        prop_assert_eq!(&run_l.steps, &run_e.steps);
        prop_assert_eq!(&run_l.ending, &run_e.ending);
        prop_assert_eq!(out_l, out_e);
        prop_assert_eq!(lazy.diverged, eager.0.diverged);
    }
}

/// The classic lost update, as a fixed corpus entry: both threads read x,
/// then write x + 1. Unlocked it can end at 1; locked it cannot.
#[test]
fn lost_update_is_found_and_the_lock_removes_it() {
    let inc = vec![T::Read(0), T::Write(0, 1, true)];
    let racy = Toy {
        threads: vec![inc.clone(), inc.clone()],
        vars: 1,
        bad: 1,
    };
    let (got, r) = outcomes(&racy, EXH);
    assert_eq!(got, brute(&racy));
    assert!(r.failing > 0);
    // Bound 0 (no preemption) cannot lose the update; bound 1 can.
    let (_, r0) = outcomes(
        &racy,
        Mode::Exhaustive {
            bound: Some(0),
            reduction: true,
        },
    );
    assert_eq!(r0.failing, 0);
    let (_, r1) = outcomes(
        &racy,
        Mode::Exhaustive {
            bound: Some(1),
            reduction: true,
        },
    );
    assert!(r1.failing > 0);
    let m = vipt_explore::minimise(&racy, &r.first.unwrap().schedule, 1000, 1000)
        .unwrap()
        .unwrap();
    assert_eq!(m.preemptions, 1);
    let locked: Vec<T> = [vec![T::Lock], inc, vec![T::Unlock]].concat();
    let safe = Toy {
        threads: vec![locked.clone(), locked],
        vars: 1,
        bad: 1,
    };
    let (got, r) = outcomes(&safe, EXH);
    assert_eq!(got, brute(&safe));
    assert_eq!(r.failing, 0);
}

/// Opposite lock orders deadlock in some interleaving; the explorer names it.
#[test]
fn a_deadlock_is_an_ending_the_explorer_reports() {
    // One lock only in the toy, so the deadlock is two threads each waiting
    // for a lock held by a finished thread: lock without unlock.
    let p = Toy {
        threads: vec![vec![T::Lock], vec![T::Lock]],
        vars: 1,
        bad: 99,
    };
    let (got, r) = outcomes(&p, EXH);
    assert_eq!(got, brute(&p));
    assert!(got.contains("deadlock"));
    assert!(
        r.failure_kinds.keys().any(|k| k.starts_with("deadlock")),
        "{:?}",
        r.failure_kinds
    );
}

/// Sleep sets prune: two threads writing different variables commute.
#[test]
fn independent_steps_are_explored_once() {
    let p = Toy {
        threads: vec![
            vec![T::Write(0, 1, false); 3],
            vec![T::Write(1, 1, false); 3],
        ],
        vars: 2,
        bad: 99,
    };
    let (_, full) = outcomes(&p, EXH_FULL);
    let (_, red) = outcomes(&p, EXH);
    assert_eq!(full.executions, 20, "C(6,3) interleavings");
    assert_eq!(red.executions, 1, "one Mazurkiewicz trace");
}

/// Random and PCT results depend on the seed, not on the number of workers.
#[test]
fn sampled_results_do_not_depend_on_threads() {
    let inc = vec![T::Read(0), T::Write(0, 1, true)];
    let p = Toy {
        threads: vec![inc.clone(), inc.clone(), inc],
        vars: 1,
        bad: 1,
    };
    for mode in [Mode::Random, Mode::Pct { depth: 2 }] {
        let run = |threads| {
            let cfg = Config {
                mode,
                budget: 500,
                seed: 42,
                threads,
                ..Config::default()
            };
            explore(&p, &cfg, None).unwrap()
        };
        let (a, b) = (run(1), run(2));
        assert_eq!((a.failing, &a.outcomes), (b.failing, &b.outcomes), "{mode}");
        assert_eq!(a.first.map(|f| f.schedule), b.first.map(|f| f.schedule));
    }
}

/// A panicking body ends the execution with a failure naming the panic, and
/// the other CPUs are unwound.
#[test]
fn a_panicking_cpu_is_a_failure() {
    struct Boom;
    impl Program for Boom {
        type State = ();
        fn setup(&self) -> Result<(), String> {
            Ok(())
        }
        fn cpus(&self, _: &()) -> usize {
            2
        }
        fn run(&self, _: &(), cpu: usize) {
            if cpu == 0 {
                ExploreSched.point(0, &Op::new(OpKind::PteRead, "a", Footprint::NONE));
                panic!("BUG_ON in the model");
            }
            for _ in 0..3 {
                ExploreSched.point(1, &Op::new(OpKind::PteRead, "b", Footprint::NONE));
            }
        }
        fn check(&self, _: (), _: &Run) -> Outcome {
            Outcome::default()
        }
    }
    let r = explore(
        &Boom,
        &Config {
            budget: 100,
            ..Config::default()
        },
        None,
    )
    .unwrap();
    assert!(r.failing > 0);
    assert!(
        r.failure_kinds
            .keys()
            .any(|k| k.contains("BUG_ON in the model")),
        "{:?}",
        r.failure_kinds
    );
}

/// Every final state of the interleavings with at most `bound` preemptions
/// (switches away from a thread that could go on), for lock-free programs.
fn brute_bounded(p: &Toy, bound: u32) -> BTreeSet<String> {
    #[allow(clippy::too_many_arguments)]
    fn go(
        p: &Toy,
        pc: &mut Vec<usize>,
        vars: &mut Vec<u64>,
        regs: &mut Vec<u64>,
        prev: Option<usize>,
        left: u32,
        out: &mut BTreeSet<String>,
    ) {
        let live = |pc: &Vec<usize>, t: usize| pc[t] < p.threads[t].len();
        let prev_live = prev.is_some_and(|q| live(pc, q));
        let mut any = false;
        for t in 0..p.threads.len() {
            if !live(pc, t) {
                continue;
            }
            let cost = u32::from(prev_live && prev != Some(t));
            if cost > left {
                continue;
            }
            any = true;
            let (sv, sr) = (vars.clone(), regs.clone());
            match p.threads[t][pc[t]] {
                T::Read(v) => regs[t] = vars[v],
                T::Write(v, k, add) => vars[v] = k + if add { regs[t] } else { 0 },
                T::Lock | T::Unlock => unreachable!("lock-free programs only"),
            }
            pc[t] += 1;
            go(p, pc, vars, regs, Some(t), left - cost, out);
            pc[t] -= 1;
            *vars = sv;
            *regs = sr;
        }
        if !any {
            out.insert(observed(vars, regs));
        }
    }
    let mut out = BTreeSet::new();
    let n = p.threads.len();
    go(
        p,
        &mut vec![0; n],
        &mut vec![0; p.vars],
        &mut vec![0; n],
        None,
        bound,
        &mut out,
    );
    out
}

fn lock_free_program() -> impl Strategy<Value = Toy> {
    let op = prop_oneof![
        (0..2usize).prop_map(T::Read),
        (0..2usize, 0..3u64, any::<bool>()).prop_map(|(v, k, a)| T::Write(v, k, a)),
    ];
    (
        proptest::collection::vec(proptest::collection::vec(op, 1..4), 2..4),
        0..4u64,
    )
        .prop_map(|(threads, bad)| Toy {
            threads,
            vars: 2,
            bad,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// The bound is counted as the brute force counts it: the unreduced
    /// bounded search reaches exactly the outcomes of the interleavings
    /// with at most that many preemptions.
    #[test]
    fn bounded_search_matches_bounded_brute_force(p in lock_free_program(), bound in 0..3u32) {
        let (got, r) = outcomes(&p, Mode::Exhaustive { bound: Some(bound), reduction: false });
        prop_assert!(r.complete);
        prop_assert_eq!(got, brute_bounded(&p, bound));
    }
}

/// A case proptest found: three threads with two locked sections each,
/// more schedules than the full search's budget of a million (which once
/// failed the property above); 5 200 with sleep sets, every outcome found.
#[test]
fn sleep_sets_keep_outcomes_across_lock_handoffs() {
    use T::*;
    let p = Toy {
        threads: vec![
            vec![
                Lock,
                Read(1),
                Write(0, 0, false),
                Unlock,
                Lock,
                Read(0),
                Unlock,
            ],
            vec![
                Lock,
                Write(0, 1, false),
                Read(0),
                Unlock,
                Lock,
                Read(0),
                Unlock,
            ],
            vec![Lock, Read(0), Write(0, 1, false), Unlock, Read(0)],
        ],
        vars: 2,
        bad: 0,
    };
    let want = brute(&p);
    let (got, r) = outcomes(&p, EXH);
    assert!(r.complete);
    assert_eq!(got, want, "with sleep sets");
}

/// The fields of a search's report that must not depend on how it was
/// split: counts, outcomes, failures (first and least, by index and
/// schedule), coverage.
fn same_search(a: &vipt_explore::Report, b: &vipt_explore::Report) -> Result<(), String> {
    let key = |r: &vipt_explore::Report| {
        let f = |f: &Option<vipt_explore::Failure>| {
            f.as_ref()
                .map(|f| (f.index, f.schedule.to_string(), f.preemptions))
        };
        format!(
            "executions {} pruned {} failing {} distinct {} complete {} coverage {} first {:?} least {:?} outcomes {:?} kinds {:?} counters {:?} max_steps {}",
            r.executions,
            r.pruned,
            r.failing,
            r.distinct_failing,
            r.complete,
            r.coverage,
            f(&r.first),
            f(&r.least),
            r.outcomes,
            r.failure_kinds,
            r.counters,
            r.max_steps
        )
    };
    let (ka, kb) = (key(a), key(b));
    if ka == kb {
        Ok(())
    } else {
        Err(format!("\n  one thread: {ka}\n  split:      {kb}"))
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The exhaustive search on 2 or 3 workers, and in 1, 2 or 3 shards put
    /// back together, gives the one-threaded search's report, with and
    /// without sleep sets, bounded or not, with budgets that run out
    /// inside a part and with the stop at the first failure.
    #[test]
    fn parallel_and_sharded_searches_equal_one_thread(
        p in program(),
        bound in prop_oneof![Just(None), (0..3u32).prop_map(Some)],
        reduction in any::<bool>(),
        budget in prop_oneof![Just(1_000_000u64), 1..60u64],
        stop_on_failure in any::<bool>(),
        split in 1..12usize,
    ) {
        let cfg = |threads| Config {
            mode: Mode::Exhaustive { bound, reduction },
            budget,
            threads,
            split,
            stop_on_failure,
            ..Config::default()
        };
        let one = explore(&p, &cfg(1), None).unwrap();
        for threads in [2, 3] {
            let par = explore(&p, &cfg(threads), None).unwrap();
            prop_assert!(same_search(&one, &par).is_ok(), "{} threads: {}", threads, same_search(&one, &par).unwrap_err());
        }
        for n in [1, 2, 3] {
            let shards: Vec<_> = (0..n)
                .map(|k| vipt_explore::explore_shard(&p, &cfg(2), k, n, None).unwrap())
                .collect();
            // Through JSON, as vipt merge reads them.
            let shards: Vec<_> = shards
                .iter()
                .map(|s| vipt_explore::Shard::from_json(&s.json(), cfg(1).mode, 0).unwrap())
                .collect();
            let merged = vipt_explore::merge_shards(&p, &cfg(1), &shards).unwrap();
            prop_assert!(same_search(&one, &merged).is_ok(), "{} shards: {}", n, same_search(&one, &merged).unwrap_err());
        }
    }
}

#[test]
fn shards_of_different_searches_or_missing_ones_are_refused() {
    let p = Toy {
        threads: vec![vec![T::Read(0), T::Write(0, 1, true)]; 3],
        vars: 2,
        bad: 1,
    };
    let cfg = Config {
        mode: Mode::Exhaustive {
            bound: Some(2),
            reduction: false,
        },
        budget: 10_000,
        threads: 1,
        ..Config::default()
    };
    let s0 = vipt_explore::explore_shard(&p, &cfg, 0, 2, None).unwrap();
    let s1 = vipt_explore::explore_shard(&p, &cfg, 1, 2, None).unwrap();
    let err = |shards: &[vipt_explore::Shard], c: &Config| {
        vipt_explore::merge_shards(&p, c, shards).unwrap_err()
    };
    assert!(err(std::slice::from_ref(&s0), &cfg).contains("shard 1 of 2 is missing"));
    assert!(err(&[s0.clone(), s0.clone()], &cfg).contains("given twice"));
    let other = Config {
        budget: 9_999,
        ..cfg
    };
    assert!(err(&[s0.clone(), s1.clone()], &other).contains("is not of the search"));
    assert!(vipt_explore::explore_shard(&p, &cfg, 2, 2, None).is_err());
    let random = Config {
        mode: Mode::Random,
        ..cfg
    };
    assert!(vipt_explore::explore_shard(&p, &random, 0, 2, None)
        .unwrap_err()
        .contains("only an exhaustive search"));
    let merged = vipt_explore::merge_shards(&p, &cfg, &[s1, s0]).unwrap();
    let one = explore(&p, &cfg, None).unwrap();
    same_search(&one, &merged).unwrap();
    assert!(one.failing > 0 && one.coverage.is_proof());
}

/// Where interleavings meet in one state, the cache ends the runs that get
/// there again: two threads writing their own variable twice reach each
/// mix of positions by many paths.
#[test]
fn the_state_cache_ends_runs_in_states_already_explored() {
    let p = Toy {
        threads: vec![
            vec![T::Write(0, 1, false), T::Write(0, 1, false), T::Read(1)],
            vec![T::Write(1, 2, false), T::Write(1, 2, false), T::Read(0)],
        ],
        vars: 2,
        bad: 7,
    };
    let (want, plain) = outcomes(&p, EXH_FULL);
    let (got, cached) = outcomes_cached(&p, EXH_FULL, true);
    assert_eq!(got, want);
    assert!(plain.complete && cached.complete);
    assert!(
        cached.pruned > 0 && cached.executions < plain.executions,
        "cached {} + {} pruned, plain {}",
        cached.executions,
        cached.pruned,
        plain.executions
    );
}
