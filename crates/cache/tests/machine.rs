//! The machine's other behaviours: faults, errors that change nothing, pdc, the
//! instruction cache, range flushes, tmpalias copy and clear, rollback.

use vipt_cache::*;
use vipt_pte::{pfn_pte, pte_dirty, Layout, PteFlags};

const USER: SpaceId = SpaceId(1);
const UVA: u64 = 0x4000_3000;
const K: Who = Who::kernel(0);
const U: Who = Who::user(1);

fn machine(config: HwConfig) -> (Machine, MapWalker) {
    let mut m = Machine::new(config).unwrap();
    for pfn in 0..8 {
        m.fill_page(pfn, pfn as u8).unwrap();
    }
    let mut pt = MapWalker::new();
    pt.set(
        USER,
        UVA,
        pfn_pte(Layout::Bits32, 5, PteFlags::PAGE_SHARED).unwrap(),
    );
    (m, pt)
}

/// Everything observable about a machine, for before/after comparisons.
fn observe(m: &Machine) -> String {
    let mut s = format!(
        "{:?} {} {:?} {:?}",
        m.counters(),
        m.step(),
        m.oracle().reports(),
        (0..m.config().cpus)
            .map(|c| m.tlb(c).unwrap().entries().len())
            .collect::<Vec<_>>()
    );
    s += &format!("{:?}", m.cached_lines());
    s += &format!("{:?}", m.mem().bytes(0, m.mem().size() as usize).unwrap());
    s
}

#[test]
fn dirty_trap_sets_the_pte_dirty_bit() {
    let (mut m, mut pt) = machine(HwConfig::default());
    m.load(U, USER, UVA, 4, &mut pt).unwrap();
    assert!(!pte_dirty(pt.get(USER, UVA)));
    m.store(U, USER, UVA, 4, 7, &mut pt).unwrap();
    assert!(pte_dirty(pt.get(USER, UVA)));
    assert!(m.tlb(1).unwrap().entries()[0].dirty);
}

#[test]
fn faults_and_bad_arguments_change_nothing() {
    let (mut m, mut pt) = machine(HwConfig::default());
    m.load(U, USER, UVA, 8, &mut pt).unwrap();
    pt.set(
        USER,
        0x5000_0000,
        pfn_pte(Layout::Bits32, 6, PteFlags::PAGE_READONLY).unwrap(),
    );
    let before = observe(&m);
    let errors = [
        m.load(U, USER, UVA + 1, 8, &mut pt).unwrap_err(),
        m.load(U, USER, UVA, 3, &mut pt).unwrap_err(),
        m.load(Who::user(9), USER, UVA, 8, &mut pt).unwrap_err(),
        m.fdc(Who::user(9), USER, UVA, &mut pt).unwrap_err(),
        m.tmpalias_flush_page(0, 999, UVA).unwrap_err(),
        m.move_in(0, USER, UVA).unwrap_err(),
        m.coherence_point(K, 1 << 30).unwrap_err(),
    ];
    assert_eq!(observe(&m), before);
    assert!(errors.iter().all(|e| !e.is_fault()), "{errors:?}");
    // Faults: no pte; write to a read-only page. TLB lookups are counted, data is not touched.
    let e = m.load(U, USER, 0x6000_0000, 8, &mut pt).unwrap_err();
    assert_eq!(
        e,
        CacheError::PageFault {
            space: USER,
            va: 0x6000_0000,
            write: false
        }
    );
    let e = m.store(U, USER, 0x5000_0000, 8, 1, &mut pt).unwrap_err();
    assert!(
        matches!(e, CacheError::Protection { write: true, .. }),
        "{e}"
    );
    assert_eq!(m.counters().stores, 0);
    assert_eq!(m.oracle().truth(6 << 12, 8), 0x0606_0606_0606_0606);
}

#[test]
fn pdc_discards_dirty_data() {
    let (mut m, mut pt) = machine(HwConfig::default());
    m.store(U, USER, UVA, 8, 0xabcd, &mut pt).unwrap();
    assert_eq!(
        m.pdc(K, USER, UVA, &mut pt).unwrap(),
        Flush::Done {
            hit: true,
            wrote_back: false
        }
    );
    assert_eq!(m.mem().load(5 << 12, 8).unwrap(), 0x0505_0505_0505_0505);
    // The truth remembers the store, so the next load is stale.
    m.load(U, USER, UVA, 8, &mut pt).unwrap();
    assert_eq!(m.oracle().stale_reads, 1);
}

#[test]
fn code_written_through_the_dcache_needs_fdc_and_fic() {
    let (mut m, mut pt) = machine(HwConfig::default());
    assert_eq!(m.ifetch(U, USER, UVA, &mut pt).unwrap(), 0x0505_0505);
    m.store(U, USER, UVA, 4, 0x0800_0240, &mut pt).unwrap();
    // Still the old instruction: the icache line is there and memory is old.
    assert_eq!(m.ifetch(U, USER, UVA, &mut pt).unwrap(), 0x0505_0505);
    m.fdc(U, USER, UVA, &mut pt).unwrap();
    assert_eq!(
        m.ifetch(U, USER, UVA, &mut pt).unwrap(),
        0x0505_0505,
        "fic still missing"
    );
    m.fic(U, USER, UVA, &mut pt).unwrap();
    assert_eq!(m.ifetch(U, USER, UVA, &mut pt).unwrap(), 0x0800_0240);
    assert_eq!(m.oracle().stale_reads, 2);
    assert_eq!(m.counters().fic_issued, 1);
}

#[test]
fn range_flush_above_the_threshold_flushes_everything() {
    let (mut m, mut pt) = machine(HwConfig::default());
    m.store(U, USER, UVA, 8, 1, &mut pt).unwrap();
    let small = m.flush_range(K, USER, UVA, UVA + 64, &mut pt).unwrap();
    assert_eq!((small.issued, small.whole_cache), (2, false));
    m.store(U, USER, UVA, 8, 2, &mut pt).unwrap();
    m.store(K, KERNEL_SPACE, Machine::kernel_va(0x7000), 8, 3, &mut pt)
        .unwrap();
    let big = m
        .flush_range(K, USER, 0x4000_0000, 0x4100_0000, &mut pt)
        .unwrap();
    assert!(big.whole_cache);
    assert_eq!(m.counters().whole_cache_flushes, 1);
    assert_eq!(
        m.mem().load(0x7000, 8).unwrap(),
        3,
        "every dirty line went back"
    );
    assert_eq!(m.mem().load(0x5000, 8).unwrap(), 2);
    assert!(m.copies(0x5000).is_empty());
}

#[test]
fn eviction_writes_back() {
    let g = Geometry {
        size: 128,
        line_size: 32,
        ways: 2,
        alias_boundary: SHM_COLOUR,
    };
    let (mut m, mut pt) = machine(HwConfig {
        geometry: g,
        icache: g,
        ..HwConfig::default()
    });
    // Same set (set = va bits 5..6), three different lines: the first is evicted.
    for (i, pfn) in [1u64, 2, 3].iter().enumerate() {
        let kva = Machine::kernel_va(pfn << 12);
        m.store(K, KERNEL_SPACE, kva, 8, 100 + i as u64, &mut pt)
            .unwrap();
    }
    assert_eq!(m.counters().lines_evicted, 1);
    assert_eq!(m.mem().load(1 << 12, 8).unwrap(), 100);
    let kva = Machine::kernel_va(1 << 12);
    assert_eq!(m.load(K, KERNEL_SPACE, kva, 8, &mut pt).unwrap(), 100);
    assert_eq!(m.oracle().stale_reads, 0);
}

#[test]
fn tmpalias_clear_and_copy_work_at_the_user_colour() {
    let (mut m, mut pt) = machine(HwConfig::default());
    m.tmpalias_clear_page(0, 5, UVA).unwrap();
    // Visible through the user mapping at once, with no flush: same colour.
    assert_eq!(m.load(U, USER, UVA + 8, 8, &mut pt).unwrap(), 0);
    m.store(U, USER, UVA, 8, 0x1234, &mut pt).unwrap();
    // copy_user_page from pfn 5 (user's dirty data) to pfn 6.
    m.tmpalias_copy_page(0, 6, 5, UVA).unwrap();
    pt.set(
        USER,
        UVA,
        pfn_pte(Layout::Bits32, 6, PteFlags::PAGE_SHARED).unwrap(),
    );
    m.tlb_purge_all_cpus(USER, UVA);
    assert_eq!(m.load(U, USER, UVA, 8, &mut pt).unwrap(), 0x1234);
    assert_eq!(m.oracle().stale_reads, 0);
}

#[test]
fn rollback_returns_to_the_checkpoint_exactly() {
    let config = HwConfig {
        speculative_move_in: true,
        ..HwConfig::explore(4).unwrap()
    };
    let (mut m, mut pt) = machine(config);
    m.load(U, USER, UVA, 8, &mut pt).unwrap();
    m.checkpoint();
    let at_checkpoint = observe(&m);
    for round in 0..3u64 {
        m.store(
            K,
            KERNEL_SPACE,
            Machine::kernel_va(0x5000),
            8,
            round,
            &mut pt,
        )
        .unwrap();
        m.store(U, USER, UVA + 1024, 8, round, &mut pt).unwrap();
        m.flush_page(K, USER, UVA, &mut pt).unwrap();
        m.move_in(1, USER, UVA).unwrap();
        m.tmpalias_flush_page(0, 5, UVA).unwrap();
        m.coherence_point(K, 5).unwrap();
        m.load(U, USER, UVA, 8, &mut pt).unwrap();
        assert_ne!(observe(&m), at_checkpoint);
        assert!(m.rollback());
        assert_eq!(observe(&m), at_checkpoint, "round {round}");
    }
    // A clone is an independent snapshot too.
    let snap = m.clone();
    m.store(U, USER, UVA, 8, 9, &mut pt).unwrap();
    assert_eq!(observe(&snap), at_checkpoint);
}

#[test]
fn differing_non_equivalent_copies_are_reported_with_both_places() {
    let (mut m, mut pt) = machine(HwConfig::default());
    let kva = Machine::kernel_va(5 << 12);
    // The user caches the line at colour 3, the kernel dirties it at colour 5.
    m.load(U, USER, UVA, 8, &mut pt).unwrap();
    m.store(K, KERNEL_SPACE, kva, 8, 0xfeed, &mut pt).unwrap();
    let n = m.coherence_point(K, 5).unwrap();
    assert_eq!(n, 1);
    assert_eq!(m.oracle().divergences, 1);
    let r = m.oracle().reports().last().copied().unwrap();
    let ReportKind::DivergentCopies { other_colour, .. } = r.kind else {
        panic!("{r:?}");
    };
    let mut colours = [r.colour, other_colour];
    colours.sort();
    assert_eq!(colours, [3, 5]);
    assert_eq!((r.pa, r.who, r.step), (5 << 12, K, m.step()));
    assert!(r.to_string().contains("differing copies"), "{r}");
    // Once the kernel alias is flushed only one copy is left: nothing to report.
    m.flush_page(K, KERNEL_SPACE, kva, &mut pt).unwrap();
    assert_eq!(m.check_copies(K, 5).unwrap(), 0);
}
