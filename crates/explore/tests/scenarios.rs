//! The expected verdict of every scenario for every strategy: which fail
//! (with a failing schedule, minimised, that replays to the failure) and
//! which pass every schedule within the bound. Each cell is the report's:
//! the reduced search at bound 3 plus the unreduced one at bound 2.

use vipt_explore::report::{run_cell, Budget, Cell};
use vipt_explore::scenario::{Colour, Kind, Params, Scenario};
use vipt_explore::{run_one, Config, Replay, Schedule};
use vipt_mm::Kernel;

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
            // No failure: a proof for bound 2 (the unreduced search finished);
            // the reduced bound-3 search is partial, or ran out of budget and
            // then the verdict says inconclusive, never pass.
            let cov = c.coverage();
            assert!(
                cov.starts_with("complete within bound 2; bound 3 "),
                "{} {s}: {cov}",
                k.name()
            );
            let expected = if cov.contains("budget ran out") {
                "inconclusive"
            } else {
                "pass"
            };
            assert_eq!(c.verdict(), expected, "{} {s}: {cov}", k.name());
        }
    }
}

/// `k`'s defaults on `kernel`'s profile.
fn on(k: Kind, kernel: Kernel) -> Params {
    Params {
        kernel,
        page_flush: kernel.flush_only_ptes(),
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

/// Every strategy passes reclaim on the kernels with flush-only ptes (the
/// racer's flush-only pte still lets the writer's flush through). On 3.x the
/// pte is really cleared, so the 2005 strategies' flush through A's address
/// after the clear is nullified; recheck goes on to B, tmpalias needs no pte.
/// 6.10's `ptep_clear_flush` flushes the old pfn after the clear, which
/// closes the window for every strategy.
#[test]
fn reclaim_race_opens_on_3x_and_6_10s_ptep_clear_flush_closes_it() {
    expect(Kind::Reclaim, on(Kind::Reclaim, Kernel::V2_6_14), &[]);
    expect(Kind::Reclaim, on(Kind::Reclaim, Kernel::V2_6_15), &[]);
    expect(
        Kind::Reclaim,
        on(Kind::Reclaim, Kernel::V3x),
        &["legacy-2005", "patched-2005"],
    );
    expect(Kind::Reclaim, on(Kind::Reclaim, Kernel::V6_10), &[]);
}

/// COW: the racer's flush runs before the copy reaches the new pte, so "the
/// racer already did the flush" is false for the 2005 strategies up to 3.x;
/// 6.10's `copy_user_highpage` flushes the source first and its
/// `ptep_clear_flush` flushes the old pfn, and nothing fails.
#[test]
fn cow_race_breaks_the_racer_already_flushed_theory_until_6_10() {
    expect(
        Kind::Cow,
        Kind::Cow.defaults(),
        &["legacy-2005", "patched-2005"],
    );
    expect(
        Kind::Cow,
        on(Kind::Cow, Kernel::V3x),
        &["legacy-2005", "patched-2005"],
    );
    expect(Kind::Cow, on(Kind::Cow, Kernel::V6_10), &[]);
}

/// munmap: closed while ptes are flush-only; open for the 2005 strategies
/// on 3.x and 6.10 (the zap's flush runs before the clear, the writer's
/// after it is nullified).
#[test]
fn munmap_race_opens_without_flush_only_ptes() {
    expect(Kind::Munmap, on(Kind::Munmap, Kernel::V2_6_14), &[]);
    let two = ["legacy-2005", "patched-2005"];
    expect(Kind::Munmap, on(Kind::Munmap, Kernel::V3x), &two);
    expect(Kind::Munmap, on(Kind::Munmap, Kernel::V6_10), &two);
}

/// Truncate: `write()` and `do_truncate` both hold `i_sem`, so no write runs
/// between `unmap_mapping_range` and `truncate_inode_pages`, and nothing
/// fails on any profile. (Without `i_sem` the model reported legacy,
/// patched and even recheck failing on the mixed "3.x" model.)
#[test]
fn truncate_race_is_closed_by_i_sem_but_a_kept_line_reopens_it() {
    // i_sem keeps write() out of the truncate. What is left: B loads its
    // page in the zap's window (after the cache flush, before the pte is
    // cleared), the truncated page is freed with B's clean line, write()
    // reads the same file page back into the same frame, and B faults it
    // in: a strategy that flushes only through present user translations
    // misses B's colour. 2.6.14/2.6.15's flush-only pte for B still points
    // at the frame and lets the flush through; tmpalias and modern flush by
    // pfn whatever the pte says.
    for kernel in [Kernel::V2_6_14, Kernel::V2_6_15] {
        expect(Kind::Truncate, on(Kind::Truncate, kernel), &[]);
    }
    let three = ["legacy-2005", "patched-2005", "recheck"];
    for kernel in [Kernel::V3x, Kernel::V6_10] {
        expect(Kind::Truncate, on(Kind::Truncate, kernel), &three);
    }
}

/// Zap and refault: as munmap.
#[test]
fn zap_and_refault_race_opens_without_flush_only_ptes() {
    expect(Kind::ZapRefault, on(Kind::ZapRefault, Kernel::V2_6_14), &[]);
    let two = ["legacy-2005", "patched-2005"];
    expect(Kind::ZapRefault, on(Kind::ZapRefault, Kernel::V3x), &two);
    expect(Kind::ZapRefault, on(Kind::ZapRefault, Kernel::V6_10), &two);
}

/// Each kernel's own `flush_dcache_page` on its own kernel: 2.6.14's fails
/// the swap pte, COW and inequivalent aliases, 2.6.15's COW and aliases,
/// the tmpalias era's and 6.10's nothing.
#[test]
fn each_kernel_with_its_own_flush_dcache_page() {
    for kernel in Kernel::ALL {
        let s = kernel.flush_dcache_page();
        for k in Kind::ALL {
            let c = cell(k, s, on(k, kernel));
            let expected = match kernel {
                Kernel::V2_6_14 => matches!(k, Kind::SwapPte | Kind::Cow | Kind::Inequivalent),
                Kernel::V2_6_15 => matches!(k, Kind::Cow | Kind::Inequivalent),
                Kernel::V3x | Kernel::V6_10 => false,
            };
            assert_eq!(
                c.report.failing > 0,
                expected,
                "{} on {kernel} with {s}: {} failing",
                k.name(),
                c.report.failing
            );
        }
    }
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
