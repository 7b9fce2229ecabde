//! Question 8 from the model: page lifetimes without scrubbing, the
//! speculative move-in agent, A's sibling thread, and the scenarios from
//! parisc's history, each pinned per kernel profile with that profile's own
//! `flush_dcache_page`. A failing cell is searched at bound 1 up to its first
//! failure; a passing one at bound 2 without reduction to the end (a proof
//! for the bound).

use vipt_explore::scenario::{Kind, Params, Scenario};
use vipt_explore::search::Coverage;
use vipt_explore::{explore, Config, Mode, Report};
use vipt_mm::Kernel;

fn params(k: Kind, kernel: Kernel) -> Params {
    Params {
        kernel,
        page_flush: kernel.flush_only_ptes(),
        ..k.defaults()
    }
}

fn search(k: Kind, strategy: &str, p: Params, bound: u32, stop: bool) -> Report {
    let sc = Scenario::new(k, strategy, p).unwrap();
    let cfg = Config {
        mode: Mode::Exhaustive {
            bound: Some(bound),
            reduction: false,
        },
        budget: 200_000,
        threads: 1,
        stop_on_failure: stop,
        ..Config::default()
    };
    explore(&sc, &cfg, None).unwrap()
}

/// Whether `k` on `p` with `strategy` fails; a pass must be a proof for
/// bound 2.
fn fails(k: Kind, strategy: &str, p: Params) -> (bool, Report) {
    let r = search(k, strategy, p, 1, true);
    if r.failing > 0 {
        return (true, r);
    }
    let r = search(k, strategy, p, 2, false);
    assert!(
        matches!(r.coverage, Coverage::CompleteWithinBound { .. }) && r.failing == 0,
        "{} ({p}) {strategy}: {} failing, {}",
        k.name(),
        r.failing,
        r.coverage.explain()
    );
    (false, r)
}

fn first_kind(r: &Report) -> String {
    r.failure_kinds.keys().next().cloned().unwrap_or_default()
}

/// Every history scenario on every profile, with the profile's own
/// `flush_dcache_page`: the windows are in the racers (the zap's flush
/// before its TLB purge, `try_to_unmap_one`'s flush before its
/// `ptep_clear_flush`, `copy_user_page` without a flush of the source's user
/// alias), so the strategy does not close them; 6.10 closes every one
/// (`flush_cache_range` and `__flush_cache_page` purge before they flush,
/// `copy_user_highpage` flushes the source first), 3.x closes the reclaim
/// window (its `flush_cache_page` purges first).
#[test]
fn history_scenarios_per_profile() {
    use Kernel::*;
    let expect: [(Kind, [bool; 4], &str); 5] = [
        (Kind::UnmapWindow, [true, true, true, false], "stale read"),
        (Kind::UnmapReuse, [true, true, true, false], "earlier life"),
        (
            Kind::ReclaimReuse,
            [true, true, false, false],
            "earlier life",
        ),
        (Kind::Minifail, [true, true, true, false], "stale COW copy"),
        (
            Kind::ForkWriter,
            [true, true, true, false],
            "stale COW copy",
        ),
    ];
    for (k, want, why) in expect {
        for (i, kernel) in [V2_6_14, V2_6_15, V3x, V6_10].into_iter().enumerate() {
            let (failed, r) = fails(k, kernel.flush_dcache_page(), params(k, kernel));
            assert_eq!(
                failed,
                want[i],
                "{} on {kernel}: {:?}",
                k.name(),
                r.failure_kinds
            );
            if failed {
                assert!(
                    first_kind(&r).starts_with(why),
                    "{} on {kernel}: {}",
                    k.name(),
                    first_kind(&r)
                );
            }
        }
    }
}

/// The reuse failures come from the lines that outlive the page: with
/// freed frames scrubbed (the ablation) they are gone.
#[test]
fn scrubbing_freed_frames_hides_the_reuse_failures() {
    for k in [Kind::UnmapReuse, Kind::ReclaimReuse] {
        let p = params(k, Kernel::V2_6_14);
        assert!(fails(k, "legacy-2005", p).0, "{}", k.name());
        let scrubbed = Params {
            scrub_freed: true,
            ..p
        };
        let (failed, r) = fails(k, "legacy-2005", scrubbed);
        assert!(!failed, "{} scrubbed: {:?}", k.name(), r.failure_kinds);
    }
    // Truncate on 3.x: B's line of the truncated page, loaded in the zap's
    // window, is there when the frame comes back as the same file page.
    let p = params(Kind::Truncate, Kernel::V3x);
    let (failed, _) = fails(Kind::Truncate, "patched-2005", p);
    assert!(failed);
    let (failed, _) = fails(
        Kind::Truncate,
        "patched-2005",
        Params {
            scrub_freed: true,
            ..p
        },
    );
    assert!(!failed);
}

/// The unmap window is opened by the move-in agent or by a real second
/// thread of A, and by nothing else: with neither, every schedule passes.
#[test]
fn the_unmap_window_needs_a_move_in_or_a_sibling() {
    let p = params(Kind::UnmapWindow, Kernel::V2_6_14);
    let neither = Params {
        move_in: false,
        move_ins: 0,
        ..p
    };
    assert!(!fails(Kind::UnmapWindow, "legacy-2005", neither).0);
    let sibling = Params {
        sibling: true,
        ..neither
    };
    assert!(fails(Kind::UnmapWindow, "legacy-2005", sibling).0);
    assert!(fails(Kind::UnmapWindow, "legacy-2005", p).0);
}

/// `--move-in on` now changes the explored space of a racer scenario: the
/// agent's burst is a scheduled step (before this issue, reclaim gave the
/// same executions with move-in on and off).
#[test]
fn move_in_changes_the_explored_space_of_a_racer_scenario() {
    let off = params(Kind::Reclaim, Kernel::V2_6_14);
    let on = Params {
        move_in: true,
        move_ins: 1,
        ..off
    };
    let a = search(Kind::Reclaim, "patched-2005", off, 1, false);
    let b = search(Kind::Reclaim, "patched-2005", on, 1, false);
    assert!(
        b.executions > a.executions,
        "{} vs {}",
        b.executions,
        a.executions
    );
    // Switched on without bursts, nothing is scheduled: the same space.
    let quiet = Params { move_ins: 0, ..on };
    let c = search(Kind::Reclaim, "patched-2005", quiet, 1, false);
    assert_eq!(c.executions, a.executions);
}

#[test]
fn move_in_bursts_need_the_switch_and_a_small_count() {
    let p = Params {
        move_ins: 1,
        ..Params::default()
    };
    assert!(Scenario::new(Kind::Reclaim, "legacy-2005", p).is_err());
    let p = Params {
        move_in: true,
        move_ins: 5,
        ..Params::default()
    };
    assert!(Scenario::new(Kind::Reclaim, "legacy-2005", p).is_err());
}

/// The roles a timeline names: the sibling and each burst after the three.
#[test]
fn roles_name_the_sibling_and_the_bursts() {
    let p = Params {
        move_in: true,
        move_ins: 2,
        sibling: true,
        ..Params::default()
    };
    let sc = Scenario::new(Kind::Munmap, "legacy-2005", p).unwrap();
    assert_eq!(sc.bodies(), 6);
    let roles = sc.roles();
    assert_eq!(roles[3], vipt_explore::scenario::SIBLING_ROLE);
    assert_eq!(roles[5], vipt_explore::scenario::MOVE_IN_ROLE);
}

/// A real second thread of A, loading the page in the window (no
/// speculation), with each profile's own `flush_dcache_page`: the zap's
/// window (`unmap-window`) is open on every profile, 6.10 included, since
/// the zap flushes (`tlb_start_vma`) before it clears the ptes, and a load
/// in between brings the line back through a fresh TLB entry; the reclaim
/// window (`reclaim-reuse`) is open until 6.10, whose `ptep_clear_flush`
/// flushes after the clear.
#[test]
fn a_sibling_thread_opens_the_zap_window_everywhere_and_reclaims_until_6_10() {
    use Kernel::*;
    for (k, want) in [
        (Kind::UnmapWindow, [true, true, true, true]),
        (Kind::ReclaimReuse, [true, true, true, false]),
    ] {
        for (i, kernel) in [V2_6_14, V2_6_15, V3x, V6_10].into_iter().enumerate() {
            let p = Params {
                move_in: false,
                move_ins: 0,
                sibling: true,
                ..params(k, kernel)
            };
            let (failed, r) = fails(k, kernel.flush_dcache_page(), p);
            assert_eq!(
                failed,
                want[i],
                "{} on {kernel}: {:?}",
                k.name(),
                r.failure_kinds
            );
        }
    }
}
