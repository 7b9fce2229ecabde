//! Issue 19's "no false passes", first step: the default exhaustive search
//! is the unreduced one, so within its bound it finds every failure; the
//! sleep-set search, which is opt-in, finds nothing the unreduced one does
//! not (it only leaves schedules out).
//!
//! Every built-in scenario × strategy, with `_PAGE_FLUSH` on and off, at
//! preemption bound [`BOUND`]: the default `Config` (its reduction setting,
//! at that bound) must be the unreduced search, which then covers the bound
//! and finds every failing schedule within it; the search with sleep sets
//! judges a subset of those failing schedules.

use std::collections::BTreeSet;
use std::sync::Mutex;

use vipt_explore::report::STRATEGIES;
use vipt_explore::scenario::{Kind, Params, Scenario};
use vipt_explore::search::Coverage;
use vipt_explore::{explore, Config, Ending, Mode, Outcome, Program, Report, Run, Schedule};
use vipt_mm::Kernel;

/// The preemption bound of every search here. The minimal failing
/// schedules of the races have 2 preemptions, and the false passes of issue
/// 19 (`cow`/`patched-2005` on 2.6.14 and on 2.6.15, which replaced
/// `reclaim`/`patched-2005` on 3.x once `write()` there flushed before its
/// copy) are at bound 2.
const BOUND: u32 = 2;

/// Enough for the unreduced search of every cell at [`BOUND`] to finish.
const BUDGET: u64 = 200_000;

/// A scenario that remembers the schedule of every failing execution.
struct Recording<'a> {
    sc: &'a Scenario,
    failing: Mutex<BTreeSet<String>>,
}

impl Program for Recording<'_> {
    type State = <Scenario as Program>::State;

    fn setup(&self) -> Result<Self::State, String> {
        self.sc.setup()
    }

    fn cpus(&self, state: &Self::State) -> usize {
        self.sc.cpus(state)
    }

    fn run(&self, state: &Self::State, cpu: usize) {
        self.sc.run(state, cpu)
    }

    fn check(&self, state: Self::State, run: &Run) -> Outcome {
        let out = self.sc.check(state, run);
        // The executor's own findings (deadlock, panic, step limit) are
        // failures too; they are added after `check`.
        if out.failed() || !matches!(run.ending, Ending::Finished) {
            self.failing
                .lock()
                .unwrap()
                .insert(Schedule::of_run(run).to_string());
        }
        out
    }
}

/// The default configuration at `bound`: its mode's reduction setting kept.
fn default_at(bound: u32) -> Config {
    let d = Config::default();
    let Mode::Exhaustive { reduction, .. } = d.mode else {
        panic!("the default mode is exhaustive: {}", d.mode);
    };
    Config {
        mode: Mode::Exhaustive {
            bound: Some(bound),
            reduction,
        },
        budget: BUDGET,
        threads: 1,
        ..d
    }
}

fn search(sc: &Scenario, cfg: &Config) -> (Report, BTreeSet<String>) {
    let rec = Recording {
        sc,
        failing: Mutex::new(BTreeSet::new()),
    };
    let r = explore(&rec, cfg, None).unwrap();
    (r, rec.failing.into_inner().unwrap())
}

fn check_kind(k: Kind) {
    let full_mode = Mode::Exhaustive {
        bound: Some(BOUND),
        reduction: false,
    };
    // The default is the unreduced search.
    assert_eq!(default_at(BOUND).mode, full_mode);
    assert_eq!(
        Config::default().mode,
        Mode::Exhaustive {
            bound: Some(2),
            reduction: false
        }
    );
    for s in STRATEGIES {
        for page_flush in [true, false] {
            let p = Params {
                page_flush,
                ..k.defaults()
            };
            let sc = Scenario::new(k, s, p).unwrap();
            let what = format!("{} / {s} / {p}", k.name());
            // The default configuration is the unreduced one (asserted
            // above), so its search is the unreduced search: run once.
            let (full, full_failing) = search(&sc, &default_at(BOUND));
            let (reduced, reduced_failing) = search(
                &sc,
                &Config {
                    mode: Mode::Exhaustive {
                        bound: Some(BOUND),
                        reduction: true,
                    },
                    ..default_at(BOUND)
                },
            );
            // The default covers its bound, and judges every failing
            // schedule within it.
            assert_eq!(
                full.coverage,
                Coverage::CompleteWithinBound { bound: BOUND },
                "{what}: {} executions",
                full.executions
            );
            assert_eq!(full.pruned, 0, "{what}");
            assert_eq!(full.failing, full_failing.len() as u64, "{what}");
            // Sleep sets under the bound: partial, and never a failure the
            // unreduced search does not find.
            assert_eq!(
                reduced.coverage,
                Coverage::PartialWithinBound { bound: BOUND },
                "{what}"
            );
            assert!(
                reduced_failing.is_subset(&full_failing),
                "{what}: sleep sets found {:?} that the full search did not",
                reduced_failing
                    .difference(&full_failing)
                    .collect::<Vec<_>>()
            );
            assert!(
                reduced
                    .failure_kinds
                    .keys()
                    .all(|f| full.failure_kinds.contains_key(f)),
                "{what}: {:?} against {:?}",
                reduced.failure_kinds,
                full.failure_kinds
            );
            assert!(reduced.failing == 0 || full.failing > 0, "{what}");
        }
    }
}

#[test]
fn swap_pte() {
    check_kind(Kind::SwapPte);
}

#[test]
fn reclaim() {
    check_kind(Kind::Reclaim);
}

#[test]
fn cow() {
    check_kind(Kind::Cow);
}

#[test]
fn munmap() {
    check_kind(Kind::Munmap);
}

#[test]
fn truncate() {
    check_kind(Kind::Truncate);
}

#[test]
fn zap_refault() {
    check_kind(Kind::ZapRefault);
}

#[test]
fn inequivalent() {
    check_kind(Kind::Inequivalent);
}

#[test]
fn pte_lock() {
    check_kind(Kind::PteLock);
}

#[test]
fn move_in() {
    check_kind(Kind::MoveIn);
}

/// The false passes of issue 19 are real at this bound: the search with
/// sleep sets misses them, the default does not.
#[test]
fn the_false_passes_of_sleep_sets_are_caught_by_default() {
    for (k, s, kernel) in [
        (Kind::Cow, "patched-2005", Kernel::V2_6_14),
        // 2.6.15 with its own flush_dcache_page. (Reclaim on 3.x was the
        // witness until write() flushed before its copy there: its failures
        // now need 3 preemptions.)
        (Kind::Cow, "patched-2005", Kernel::V2_6_15),
    ] {
        let p = Params {
            kernel,
            page_flush: kernel.flush_only_ptes(),
            ..k.defaults()
        };
        let sc = Scenario::new(k, s, p).unwrap();
        let (default, _) = search(&sc, &default_at(BOUND));
        assert!(default.failing > 0, "{} / {s}", k.name());
        assert_eq!(
            default.coverage,
            Coverage::CompleteWithinBound { bound: BOUND }
        );
        let (reduced, _) = search(
            &sc,
            &Config {
                mode: Mode::Exhaustive {
                    bound: Some(BOUND),
                    reduction: true,
                },
                ..default_at(BOUND)
            },
        );
        assert_eq!(
            reduced.failing,
            0,
            "{} / {s}: sleep sets now find it; pick another witness",
            k.name()
        );
    }
}
