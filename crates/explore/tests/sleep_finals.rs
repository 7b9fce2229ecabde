//! Sleep sets over the mm model reach every final state the full search
//! reaches. Without a bound, sleep sets run at least one schedule of every
//! Mazurkiewicz trace, and every schedule of a trace ends in the same state;
//! so if two steps the reduction took as independent did not commute, some
//! final state would be missing from the reduced search. The independence
//! is the announced footprints together with what each step was seen to
//! touch (the model's audited accesses, `vipt_mm::set_access_audit`), which
//! is why the reduced unbounded search of a scenario is called complete.
//!
//! The built-in scenarios whose unreduced unbounded search is small
//! (`swap-pte`, `inequivalent`, `minifail`: a few hundred executions at one
//! line per page), and any of their cells that finishes within [`BUDGET`],
//! with four strategies, on 2.6.14 and 6.10, at 1 and
//! 2 lines per page: the set of final states (every cached line with colour,
//! dirtiness and bytes, memory, the oracle's counts and reports but their
//! step numbers, the failures and the observed values) must be the same,
//! and the reduced search must say it is complete.

use std::collections::BTreeSet;
use std::sync::Mutex;

use vipt_explore::scenario::{Kind, Params, Scenario};
use vipt_explore::search::Coverage;
use vipt_explore::{explore, Config, Mode, Outcome, Program, Run};
use vipt_mm::Kernel;

/// The unreduced searches compared: those that finish within this many.
const BUDGET: u64 = 5_000;

/// A scenario that keeps the final state of every execution.
struct Finals<'a> {
    sc: &'a Scenario,
    seen: Mutex<BTreeSet<Vec<String>>>,
}

impl Program for Finals<'_> {
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

    fn exact_footprints(&self) -> bool {
        self.sc.exact_footprints()
    }

    fn check(&self, st: Self::State, run: &Run) -> Outcome {
        let mut sig = st.world().read_hw(|m| {
            let mut lines: Vec<String> = m
                .cached_lines()
                .into_iter()
                .map(|(pa, colour, dirty, bytes)| format!("{pa:#x}@{colour}:{dirty}:{bytes:?}"))
                .collect();
            lines.sort();
            let o = m.oracle();
            let frames = m.config().frames as usize;
            let mem = m.mem().bytes(0, frames << 12).unwrap();
            // Memory as its non-zero 8-byte words, by physical address.
            let words = mem
                .chunks(8)
                .enumerate()
                .filter(|(_, w)| w.iter().any(|&b| b != 0));
            let mem: Vec<String> = words
                .map(|(i, w)| {
                    format!(
                        "{:#x}={:#x}",
                        i * 8,
                        u64::from_be_bytes(w.try_into().unwrap())
                    )
                })
                .collect();
            lines.push(format!(
                "{} {} {}",
                o.stale_reads,
                o.violations,
                mem.join(" ")
            ));
            lines.extend(o.reports().iter().map(|r| {
                let mut r = *r;
                r.step = 0;
                r.to_string()
            }));
            lines
        });
        sig.push(format!("{:?}", run.ending));
        let out = self.sc.check(st, run);
        sig.extend(out.failures.iter().cloned());
        sig.push(out.observed.clone());
        self.seen.lock().unwrap().insert(sig);
        out
    }
}

fn finals(
    sc: &Scenario,
    bound: Option<u32>,
    reduction: bool,
    budget: u64,
) -> (vipt_explore::Report, BTreeSet<Vec<String>>) {
    let f = Finals {
        sc,
        seen: Mutex::new(BTreeSet::new()),
    };
    let cfg = Config {
        mode: Mode::Exhaustive { bound, reduction },
        budget,
        threads: 1,
        ..Config::default()
    };
    let r = explore(&f, &cfg, None).unwrap();
    (r, f.seen.into_inner().unwrap())
}

#[test]
fn sleep_sets_reach_every_final_state() {
    let (mut compared, mut states) = (0, 0);
    for kind in [Kind::SwapPte, Kind::Inequivalent, Kind::Minifail] {
        for strategy in ["legacy-2005", "patched-2005", "tmpalias", "modern"] {
            for kernel in [Kernel::V2_6_14, Kernel::V6_10] {
                for lines in [1] {
                    let p = Params {
                        kernel,
                        lines,
                        page_flush: kernel.flush_only_ptes(),
                        ..kind.defaults()
                    };
                    let sc = Scenario::new(kind, strategy, p).unwrap();
                    let (full, want) = finals(&sc, None, false, BUDGET);
                    if full.coverage != Coverage::Complete {
                        continue;
                    }
                    let what = format!("{}/{strategy}/{p}", kind.name());
                    let (reduced, got) = finals(&sc, None, true, BUDGET);
                    assert_eq!(reduced.coverage, Coverage::Complete, "{what}");
                    assert!(reduced.executions <= full.executions, "{what}");
                    let missing: Vec<_> = want.difference(&got).collect();
                    assert!(
                        missing.is_empty(),
                        "{what}: sleep sets missed {} of {} final states, the first:\n{}",
                        missing.len(),
                        want.len(),
                        missing[0].join("\n")
                    );
                    assert_eq!(got, want, "{what}: states no full run reaches");
                    compared += 1;
                    states += want.len();
                }
            }
        }
    }
    eprintln!("{compared} cells compared, {states} final states");
    assert!(compared >= 12, "only {compared} cells finished unreduced");
}

/// Where the unreduced unbounded search is too large, the reduced unbounded
/// one still has to reach every final state the unreduced search reaches
/// within a preemption bound: a complete search covers every trace, the
/// bounded ones among them. `reclaim-reuse` and `move-in` are the built-in
/// races whose reduced unbounded search finishes at one line per page and
/// whose steps touch frames, locks and the allocator beyond their
/// announcements (reclaim frees and reallocates, the refault allocates):
/// sleep sets that judged independence by announcements alone miss final
/// states here (checked by making `engine::touched` report nothing).
#[test]
fn sleep_sets_reach_every_bounded_final_state() {
    const REDUCED_BUDGET: u64 = 20_000;
    let (mut compared, mut states) = (0, 0);
    for kind in [Kind::ReclaimReuse, Kind::MoveIn] {
        for strategy in ["legacy-2005", "patched-2005", "tmpalias", "modern"] {
            for kernel in [Kernel::V2_6_14, Kernel::V6_10] {
                let p = Params {
                    kernel,
                    lines: 1,
                    page_flush: kernel.flush_only_ptes(),
                    ..kind.defaults()
                };
                let sc = Scenario::new(kind, strategy, p).unwrap();
                let what = format!("{}/{strategy}/{p}", kind.name());
                let (reduced, got) = finals(&sc, None, true, REDUCED_BUDGET);
                if reduced.coverage != Coverage::Complete {
                    continue;
                }
                let (full, want) = finals(&sc, Some(2), false, REDUCED_BUDGET);
                assert_eq!(
                    full.coverage,
                    Coverage::CompleteWithinBound { bound: 2 },
                    "{what}"
                );
                let missing: Vec<_> = want.difference(&got).collect();
                assert!(
                    missing.is_empty(),
                    "{what}: sleep sets missed {} of the {} final states bound 2 reaches, the first:\n{}",
                    missing.len(),
                    want.len(),
                    missing[0].join("\n")
                );
                compared += 1;
                states += want.len();
            }
        }
    }
    eprintln!("{compared} cells compared, {states} bounded final states");
    assert!(compared >= 8, "only {compared} reduced searches finished");
}
