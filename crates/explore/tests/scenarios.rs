//! The expected verdict of every scenario for every strategy: which fail
//! (with a failing schedule, minimised, that replays to the failure) and
//! which pass every schedule within the bound. Each cell is the report's:
//! the reduced search at bound 3 plus the unreduced one at bound 2.

use vipt_explore::report::{run_cell, Budget, Cell};
use vipt_explore::scenario::{Colour, Kind, Params, Scenario};
use vipt_explore::{run_one, Config, Replay, Schedule};

const FIVE: [&str; 5] = [
    "legacy-2005",
    "patched-2005",
    "recheck",
    "tmpalias",
    "modern",
];

fn budget() -> Budget {
    Budget {
        threads: 1,
        ..Budget::default()
    }
}

fn cell(k: Kind, s: &str, p: Params) -> Cell {
    run_cell(k, s, p, &budget()).unwrap()
}

/// Runs every strategy and checks the failing set; failures must replay.
fn expect(k: Kind, p: Params, failing: &[&str]) {
    for s in FIVE {
        let c = cell(k, s, p);
        let fails = c.report.failing > 0;
        assert_eq!(
            fails,
            failing.contains(&s),
            "{} ({p}) with {s}: {} failing of {}, {:?}",
            k.name(),
            c.report.failing,
            c.report.executions,
            c.report.failure_kinds
        );
        if fails {
            let sched: Schedule = c.schedule.as_deref().unwrap().parse().unwrap();
            let sc = Scenario::new(k, s, p).unwrap();
            let (run, out) = run_one(
                &sc,
                &mut Replay::new(sched.clone()),
                Config::default().max_steps,
            )
            .unwrap();
            assert!(
                out.unwrap().failed(),
                "{} {s}: the minimised schedule {sched} replays to a pass",
                k.name()
            );
            assert_eq!(Schedule::of_run(&run), sched);
            assert_eq!(run.preemptions(), c.preemptions.unwrap());
        } else {
            assert_eq!(
                c.verdict(),
                "pass",
                "{} {s}: a pass must rest on a complete search ({})",
                k.name(),
                c.coverage()
            );
            assert_eq!(
                c.coverage(),
                "complete within bound 2; bound 3 partial (sleep sets)"
            );
        }
    }
}

fn off(k: Kind) -> Params {
    Params {
        page_flush: false,
        ..k.defaults()
    }
}

#[test]
fn swap_pte_breaks_only_the_pre_patch_test() {
    expect(Kind::SwapPte, Kind::SwapPte.defaults(), &["legacy-2005"]);
}

#[test]
fn inequivalent_aliases_break_every_break_after_one_strategy() {
    let broken = ["legacy-2005", "patched-2005", "recheck"];
    expect(Kind::Inequivalent, Kind::Inequivalent.defaults(), &broken);
    let fixed = Params {
        colour: Colour::MapFixed,
        ..Kind::Inequivalent.defaults()
    };
    expect(Kind::Inequivalent, fixed, &broken);
    let aware = Params {
        colour: Colour::PgoffAware,
        ..Kind::Inequivalent.defaults()
    };
    expect(Kind::Inequivalent, aware, &[]);
    let m = cell(Kind::Inequivalent, "modern", Kind::Inequivalent.defaults());
    assert!(
        m.report.mean("alias_reports") >= 1.0,
        "modern reports the aliases"
    );
}

#[test]
fn reclaim_race_opens_without_page_flush() {
    expect(Kind::Reclaim, Kind::Reclaim.defaults(), &[]);
    expect(
        Kind::Reclaim,
        off(Kind::Reclaim),
        &["legacy-2005", "patched-2005"],
    );
}

#[test]
fn cow_race_breaks_the_racer_already_flushed_theory_even_with_page_flush() {
    expect(
        Kind::Cow,
        Kind::Cow.defaults(),
        &["legacy-2005", "patched-2005"],
    );
}

#[test]
fn munmap_race_opens_without_page_flush() {
    expect(Kind::Munmap, Kind::Munmap.defaults(), &[]);
    expect(
        Kind::Munmap,
        off(Kind::Munmap),
        &["legacy-2005", "patched-2005"],
    );
}

#[test]
fn truncate_race_defeats_even_recheck_without_page_flush() {
    expect(Kind::Truncate, Kind::Truncate.defaults(), &[]);
    expect(
        Kind::Truncate,
        off(Kind::Truncate),
        &["legacy-2005", "patched-2005", "recheck"],
    );
}

#[test]
fn zap_and_refault_race_opens_without_page_flush() {
    expect(Kind::ZapRefault, Kind::ZapRefault.defaults(), &[]);
    expect(
        Kind::ZapRefault,
        off(Kind::ZapRefault),
        &["legacy-2005", "patched-2005"],
    );
}

#[test]
fn speculative_move_in_leaves_nothing_stale_here() {
    expect(Kind::MoveIn, Kind::MoveIn.defaults(), &[]);
}

#[test]
fn the_pte_lock_inside_the_flush_is_an_inversion_and_a_deadlock() {
    expect(Kind::PteLock, Kind::PteLock.defaults(), &[]);
    let c = cell(Kind::PteLock, "patched-ptl", Kind::PteLock.defaults());
    let kinds: Vec<&String> = c.report.failure_kinds.keys().collect();
    assert!(
        kinds
            .iter()
            .any(|k| k.starts_with("lock order") && k.contains("translation_exists")),
        "{kinds:?}"
    );
    assert!(kinds.iter().any(|k| k.starts_with("deadlock")), "{kinds:?}");
}

#[test]
fn a_cell_says_what_it_covers() {
    let p = Kind::SwapPte.defaults();
    let c = cell(Kind::SwapPte, "patched-2005", p);
    assert_eq!(c.verdict(), "pass");
    assert_eq!(c.label(), format!("pass {}", c.report.executions));
    let j = c.coverage_json();
    assert_eq!(
        (&j["kind"], &j["bound"], &j["partial_bound"]),
        (&"complete_within_bound".into(), &2.into(), &3.into())
    );
    // A budget that runs out: incomplete, never a pass.
    let small = Budget {
        exhaustive: 5,
        ..budget()
    };
    let c = run_cell(Kind::SwapPte, "patched-2005", p, &small).unwrap();
    assert_eq!(c.verdict(), "inconclusive");
    assert_eq!(c.coverage_json()["kind"], "incomplete");
    assert_eq!(
        c.coverage(),
        "incomplete within bound 2 (budget ran out after 5 executions); bound 3 incomplete (sleep sets; budget ran out after 5 executions)"
    );
    assert_eq!(
        c.label(),
        format!("no failure in {} (incomplete)", c.report.executions)
    );
    // At bound 0 there is only the search with sleep sets: partial.
    let zero = Budget {
        bound: 0,
        ..budget()
    };
    let c = run_cell(Kind::SwapPte, "patched-2005", p, &zero).unwrap();
    assert_eq!(c.verdict(), "inconclusive");
    assert_eq!(c.coverage(), "bound 0 partial (sleep sets)");
    assert_eq!(c.coverage_json()["kind"], "partial_within_bound");
    assert!(c.label().ends_with("(partial)"), "{}", c.label());
    // A failure is a failure whatever the coverage.
    let c = run_cell(Kind::SwapPte, "legacy-2005", p, &small).unwrap();
    if c.report.failing > 0 {
        assert_eq!(c.verdict(), "fail");
    }
}
