//! The built-in scenarios written as files (`scenarios/*.vipt`) against
//! their Rust originals: the same schedules explored, the same failures,
//! the same cost counters, for every scenario on every strategy and
//! profile, and for the parameters each file reads (vmas, colour, sibling,
//! move-in bursts, lines).

use vipt_explore::litmus::{Litmus, BUILTIN};
use vipt_explore::scenario::{Colour, Kind, Params, Scenario};
use vipt_explore::{explore, Config, Mode, Report};
use vipt_mm::Kernel;

fn search(bound: u32, budget: u64) -> Config {
    Config {
        mode: Mode::Exhaustive {
            bound: Some(bound),
            reduction: false,
        },
        budget,
        threads: 1,
        ..Config::default()
    }
}

/// Everything a report says but the outcome texts (the file's final-state
/// line is worded differently).
fn summary(r: &Report) -> String {
    format!(
        "executions {} pruned {} failing {} distinct {} complete {} coverage {} first {:?} least {:?} kinds {:?} counters {:?}",
        r.executions,
        r.pruned,
        r.failing,
        r.distinct_failing,
        r.complete,
        r.coverage,
        r.first.as_ref().map(|f| f.schedule.to_string()),
        r.least.as_ref().map(|f| (f.schedule.to_string(), f.preemptions)),
        r.failure_kinds,
        r.counters,
    )
}

fn same(kind: Kind, strategy: &str, p: Params, cfg: &Config) {
    let rust = Scenario::new(kind, strategy, p).unwrap();
    let file = Litmus::builtin(kind.name())
        .unwrap()
        .bind(strategy, p)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(file.bodies(), rust.bodies(), "{} {p}", kind.name());
    assert_eq!(file.roles(), rust.roles(), "{} {p}", kind.name());
    let a = explore(&rust, cfg, None).unwrap();
    let b = explore(&file, cfg, None).unwrap();
    assert_eq!(
        summary(&b),
        summary(&a),
        "{} / {strategy} / {p}: the file explores differently",
        kind.name()
    );
}

#[test]
fn every_builtin_has_a_file_with_its_name_and_defaults() {
    let names: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
    let kinds: Vec<&str> = Kind::every().map(Kind::name).collect();
    assert_eq!(names, kinds);
    for kind in Kind::every() {
        let l = Litmus::builtin(kind.name()).unwrap();
        assert_eq!(l.name(), kind.name());
        assert_eq!(l.defaults, kind.defaults(), "{}", kind.name());
    }
}

#[test]
fn every_file_explores_as_its_builtin_on_every_strategy_and_profile() {
    let cfg = search(1, 400);
    for kind in Kind::every() {
        for kernel in Kernel::ALL {
            for strategy in [
                "legacy-2005",
                "patched-2005",
                "recheck",
                "tmpalias",
                "modern",
            ] {
                let p = Params {
                    kernel,
                    page_flush: kernel.flush_only_ptes(),
                    ..kind.defaults()
                };
                same(kind, strategy, p, &cfg);
            }
        }
    }
}

#[test]
fn every_file_explores_as_its_builtin_with_other_parameters() {
    let cfg = search(1, 300);
    for kind in Kind::every() {
        let d = kind.defaults();
        let agent = Params {
            move_in: true,
            move_ins: 1,
            ..d
        };
        for p in [
            Params { vmas: 3, ..d },
            Params { lines: 1, ..d },
            Params { lines: 4, ..d },
            Params {
                colour: Colour::MapFixed,
                ..d
            },
            Params {
                colour: Colour::PgoffAware,
                ..d
            },
            Params {
                sibling: !d.sibling,
                ..d
            },
            agent,
            Params {
                move_in_flush_only: true,
                ..agent
            },
            Params {
                scrub_freed: true,
                ..d
            },
            Params {
                page_flush: !d.page_flush,
                ..d
            },
        ] {
            same(kind, "patched-2005", p, &cfg);
        }
    }
    same(Kind::PteLock, "patched-ptl", Kind::PteLock.defaults(), &cfg);
}

#[test]
fn the_files_find_the_builtins_failures_at_bound_2() {
    // Deeper than above, where the built-ins fail: the same failing
    // schedules, found in the same order.
    let cfg = search(2, 3_000);
    for (kind, strategy) in [
        (Kind::Reclaim, "legacy-2005"),
        (Kind::Cow, "patched-2005"),
        (Kind::Truncate, "recheck"),
        (Kind::UnmapReuse, "modern"),
    ] {
        same(kind, strategy, kind.defaults(), &cfg);
    }
}
