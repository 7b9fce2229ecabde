//! The state cache on `reclaim.pml`'s race (the SPIN peer model, written as
//! an explorer program in `peer/mod.rs`): the cached search reaches the
//! outcomes and both violations the search without it reaches, in fewer
//! runs, and covers the two-line race unbounded.

mod peer;

use std::collections::BTreeSet;

use peer::PmlReclaim;
use vipt_explore::search::Coverage;
use vipt_explore::{explore, Config, Mode, Report};

fn search(lines: usize, reduction: bool, state_cache: bool, budget: u64) -> Report {
    let cfg = Config {
        mode: Mode::Exhaustive {
            bound: None,
            reduction,
        },
        budget,
        threads: 2,
        state_cache,
        ..Config::default()
    };
    explore(&PmlReclaim { lines }, &cfg, None).unwrap()
}

fn outcomes(r: &Report) -> BTreeSet<String> {
    r.outcomes.keys().cloned().collect()
}

const BOTH: [&str; 2] = ["stale load after the coherence point", "stale final read"];

#[test]
fn one_line_cached_and_not_reach_the_same_outcomes() {
    // Sleep sets are sound without a bound: the outcomes of every schedule.
    let plain = search(1, true, false, 1_000_000);
    assert_eq!(plain.coverage, Coverage::Complete);
    // Without sleep sets the uncached search does not finish in 2·10^5 runs;
    // the cached one does, with and without them.
    assert_eq!(
        search(1, false, false, 200_000).coverage,
        Coverage::Incomplete { budget: 200_000 }
    );
    for reduction in [true, false] {
        let cached = search(1, reduction, true, 1_000_000);
        assert_eq!(cached.coverage, Coverage::Complete);
        assert_eq!(outcomes(&cached), outcomes(&plain), "reduction {reduction}");
        for k in BOTH {
            assert!(
                cached.failure_kinds.contains_key(k),
                "{k}: {:?}",
                cached.failure_kinds
            );
        }
        assert!(
            !reduction || cached.executions + cached.pruned < (plain.executions + plain.pruned) / 4,
            "cached {} + {}, plain {} + {}",
            cached.executions,
            cached.pruned,
            plain.executions,
            plain.pruned
        );
    }
}

#[test]
fn two_lines_are_covered_unbounded_with_the_cache() {
    let r = search(2, true, true, 2_000_000);
    assert_eq!(
        r.coverage,
        Coverage::Complete,
        "{} + {}",
        r.executions,
        r.pruned
    );
    for k in BOTH {
        assert!(
            r.failure_kinds.contains_key(k),
            "{k}: {:?}",
            r.failure_kinds
        );
    }
    eprintln!(
        "L=2 cached: {} executions + {} pruned",
        r.executions, r.pruned
    );
}
