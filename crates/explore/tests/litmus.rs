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

/// Every cell the goldens cover: scenario, strategy, parameters, bound,
/// budget.
fn golden_cells() -> Vec<(Kind, &'static str, Params, u32, u64)> {
    let mut v = Vec::new();
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
                v.push((kind, strategy, p, 1, 400));
            }
        }
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
            v.push((kind, "patched-2005", p, 1, 300));
        }
    }
    v.push((
        Kind::PteLock,
        "patched-ptl",
        Kind::PteLock.defaults(),
        1,
        300,
    ));
    for (kind, strategy) in [
        (Kind::Reclaim, "legacy-2005"),
        (Kind::Cow, "patched-2005"),
        (Kind::Truncate, "recheck"),
        (Kind::UnmapReuse, "modern"),
    ] {
        v.push((kind, strategy, kind.defaults(), 2, 3_000));
    }
    v
}

fn golden_line(kind: Kind, strategy: &str, p: Params, bound: u32, r: &Report) -> String {
    format!(
        "{} | {strategy} | {p} | bound {bound} | {}",
        kind.name(),
        summary(r)
    )
}

/// Writes `tests/golden/builtins.txt` from the scenarios as they are now
/// (run with `--ignored`). The Rust originals wrote the checked-in one;
/// regenerate it only for a model change that moves counts on purpose.
#[test]
#[ignore]
fn write_the_builtin_goldens() {
    let mut out = String::new();
    for (kind, strategy, p, bound, budget) in golden_cells() {
        let sc = Scenario::new(kind, strategy, p).unwrap();
        let r = explore(&sc, &search(bound, budget), None).unwrap();
        out += &golden_line(kind, strategy, p, bound, &r);
        out.push('\n');
    }
    std::fs::write(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/builtins.txt"),
        out,
    )
    .unwrap();
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

/// The goldens the Rust originals of the built-in scenarios wrote
/// (`write_the_builtin_goldens` at commit e452aaf, before they were
/// replaced by `scenarios/*.vipt`): every cell must still explore exactly
/// so. A model change that moves a count regenerates them on purpose and
/// says which moved in its commit.
#[test]
fn the_builtin_files_explore_as_the_rust_originals_did() {
    let golden = include_str!("golden/builtins.txt");
    let want: Vec<&str> = golden.lines().collect();
    let cells = golden_cells();
    assert_eq!(want.len(), cells.len());
    for ((kind, strategy, p, bound, budget), want) in cells.into_iter().zip(want) {
        let file = Litmus::builtin(kind.name())
            .unwrap()
            .bind(strategy, p)
            .unwrap_or_else(|e| panic!("{e}"));
        let rust = Scenario::new(kind, strategy, p).unwrap();
        assert_eq!(file.bodies(), rust.bodies(), "{} {p}", kind.name());
        assert_eq!(file.roles(), rust.roles(), "{} {p}", kind.name());
        let r = explore(&file, &search(bound, budget), None).unwrap();
        assert_eq!(golden_line(kind, strategy, p, bound, &r), want);
    }
}

/// The scenarios written only as files: each one's verdict per strategy
/// and profile, within preemption bound 1 (complete there).
#[test]
fn the_file_only_scenarios_give_their_verdicts() {
    use vipt_explore::search::Verdict;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scenarios");
    let cases: &[(&str, &str, Kernel, Verdict)] = &[
        // Two write()s, i_sem-ordered, against reclaim: as reclaim alone.
        (
            "two-writers",
            "patched-2005",
            Kernel::V2_6_14,
            Verdict::Pass,
        ),
        // access_process_vm's copy_to_user_page flushes A's alias before
        // its store and the kernel alias after: B's load in between keeps a
        // stale line at the user colour, on every profile.
        (
            "ptrace-poke",
            "patched-2005",
            Kernel::V2_6_14,
            Verdict::Fail,
        ),
        ("ptrace-poke", "modern", Kernel::V6_10, Verdict::Fail),
        // exit_mmap's flush_cache_mm writes A's store back before the zap.
        ("exit-race", "patched-2005", Kernel::V2_6_14, Verdict::Pass),
        ("exit-race", "modern", Kernel::V6_10, Verdict::Pass),
        ("madvise", "patched-2005", Kernel::V2_6_14, Verdict::Pass),
        ("madvise", "modern", Kernel::V6_10, Verdict::Pass),
        // Two dirty aliases of a line: write() loses to A's write-back
        // until write() flushes first when the file is mapped writable.
        ("same-line", "patched-2005", Kernel::V2_6_14, Verdict::Fail),
        ("same-line", "patched-2005", Kernel::V2_6_15, Verdict::Fail),
        ("same-line", "patched-2005", Kernel::V3x, Verdict::Pass),
        ("same-line", "modern", Kernel::V6_10, Verdict::Pass),
        ("mprotect", "patched-2005", Kernel::V2_6_14, Verdict::Pass),
        // fork's dup_mmap against write(), then the child's COW copy.
        ("fork-cow", "patched-2005", Kernel::V2_6_14, Verdict::Pass),
        ("fork-cow", "modern", Kernel::V6_10, Verdict::Pass),
        ("mprotect", "modern", Kernel::V6_10, Verdict::Pass),
        // An mremap to another colour: the 2005 strategies flush one
        // mapping and stop ("all user shared mappings should be
        // equivalently mapped"); tmpalias and modern flush every colour.
        (
            "mremap-colour",
            "legacy-2005",
            Kernel::V2_6_14,
            Verdict::Fail,
        ),
        (
            "mremap-colour",
            "patched-2005",
            Kernel::V2_6_14,
            Verdict::Fail,
        ),
        ("mremap-colour", "recheck", Kernel::V6_10, Verdict::Fail),
        ("mremap-colour", "tmpalias", Kernel::V3x, Verdict::Pass),
        ("mremap-colour", "modern", Kernel::V6_10, Verdict::Pass),
        // zap-refault with the refault made by A's second thread on its own
        // CPU while the flush is away (Hugh's "something else faulted it
        // back in").
        ("refault-other", "patched-2005", Kernel::V3x, Verdict::Pass),
        ("refault-other", "recheck", Kernel::V6_10, Verdict::Pass),
    ];
    for &(name, strategy, kernel, want) in cases {
        let path = std::path::Path::new(dir).join(format!("{name}.vipt"));
        let l = Litmus::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let p = Params {
            kernel,
            page_flush: kernel.flush_only_ptes(),
            ..l.defaults
        };
        let sc = l.bind(strategy, p).unwrap_or_else(|e| panic!("{e}"));
        let r = explore(&sc, &search(1, 20_000), None).unwrap();
        assert!(r.complete, "{name} {strategy} {kernel}: {}", r.coverage);
        assert_eq!(
            r.verdict(),
            want,
            "{name} / {strategy} / {kernel}: {:?}",
            r.failure_kinds
        );
    }
}

#[test]
fn a_file_sets_the_caches_ways_size_and_tlb_entries() {
    use vipt_explore::Program as _;
    let text = Litmus::builtin("reclaim").unwrap().text.replace(
        "\nsetup {",
        "\ndefaults { ways = 4; cache_lines = 64; tlb_entries = 3; }\nsetup {",
    );
    let l = Litmus::parse("hw.vipt", &text).unwrap();
    let sc = l.bind("patched-2005", l.defaults).unwrap();
    let st = sc.setup().unwrap();
    let hw = st.world().config.hw;
    assert_eq!((hw.geometry.ways, hw.tlb_entries), (4, 3));
    assert_eq!(hw.geometry.size, 64 * hw.geometry.line_size);
    // Out of range, or a geometry that does not hold: refused with the place.
    for (bad, want) in [
        ("ways = 0;", "must be non-zero"),
        ("tlb_entries = 0;", "tlb_entries must be 1 to 4096"),
        ("cache_lines = 3;", "bad cache geometry"),
        ("ways = lots;", "ways must be a number"),
    ] {
        let t = format!("scenario x;\ndefaults {{ {bad} }}\n");
        let e = Litmus::parse("bad.vipt", &t).unwrap_err();
        assert_eq!(e.pos.map(|p| p.line), Some(2), "{e}");
        assert!(e.msg.contains(want), "{bad}: {e}");
    }
}
