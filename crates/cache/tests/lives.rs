//! The lives of a frame: lines that outlive a page, what DMA does to them, and
//! the oracle's reports about earlier lives, lost writes and COW sources.
//! Each test also runs the same steps with the line dropped first (the
//! scrubbing the mm model used to do), to show the report comes from the
//! kept line and nothing else.

use vipt_cache::*;
use vipt_pte::{pfn_pte, Layout, PteFlags, PAGE_SHIFT};

const USER: SpaceId = SpaceId(1);
/// A user address whose colour differs from the kernel alias of frame 5.
const UVA: u64 = 0x4000_3000;
const PFN: u64 = 5;
const U: Who = Who::user(1);
const K: Who = Who::kernel(0);

fn machine() -> (Machine, MapWalker) {
    let mut m = Machine::new(HwConfig::default()).unwrap();
    m.fill_page(PFN, 0x11).unwrap();
    let mut pt = MapWalker::new();
    pt.set(
        USER,
        UVA,
        pfn_pte(Layout::Bits32, PFN, PteFlags::PAGE_SHARED).unwrap(),
    );
    (m, pt)
}

fn kinds(m: &Machine) -> Vec<ReportKind> {
    m.oracle().reports().iter().map(|r| r.kind).collect()
}

#[test]
fn a_clean_line_of_an_earlier_life_is_read_by_the_next_owner() {
    for scrub in [false, true] {
        let (mut m, mut pt) = machine();
        // Life 1: the user reads the page through its colour.
        assert_eq!(
            m.begin_life(PFN, Owner::PageCache { file: 1, index: 0 })
                .unwrap(),
            1
        );
        assert_eq!(
            m.load(U, USER, UVA, 8, &mut pt).unwrap(),
            0x1111_1111_1111_1111
        );
        // Freed; reused for another file, read from disk by DMA.
        if scrub {
            m.discard_page(PFN).unwrap();
        }
        assert_eq!(
            m.begin_life(PFN, Owner::PageCache { file: 2, index: 0 })
                .unwrap(),
            2
        );
        m.init_page(PFN, &[0x22; 4096]).unwrap();
        // The new owner maps it at the same colour and reads.
        let got = m.load(U, USER, UVA, 8, &mut pt).unwrap();
        if scrub {
            assert_eq!(got, 0x2222_2222_2222_2222);
            assert_eq!(m.oracle().violations, 0);
            continue;
        }
        assert_eq!(
            got, 0x1111_1111_1111_1111,
            "the life-1 line survived the DMA"
        );
        assert_eq!(m.oracle().violations, 1);
        let r = m.oracle().first_violation().copied().unwrap();
        assert_eq!(
            r.kind,
            ReportKind::EarlierLife {
                expected: 0x2222_2222_2222_2222,
                got: 0x1111_1111_1111_1111,
                size: 8,
                line_life: 1,
                life: 2,
            }
        );
        assert_eq!(
            (r.pfn(), r.who, r.colour),
            (PFN, U, (UVA >> PAGE_SHIFT) & 0x3ff)
        );
        let text = m.oracle().describe(&r);
        assert!(text.contains("frame 0x5"), "{text}");
        assert!(
            text.contains("life 1: page cache of file 1, index 0x0"),
            "{text}"
        );
        assert!(
            text.contains("life 2: page cache of file 2, index 0x0"),
            "{text}"
        );
    }
}

#[test]
fn dma_invalidates_only_the_kernel_colour() {
    let (mut m, mut pt) = machine();
    let kva = Machine::kernel_va(PFN << PAGE_SHIFT);
    m.load(K, KERNEL_SPACE, kva, 8, &mut NoWalker).unwrap();
    m.load(U, USER, UVA, 8, &mut pt).unwrap();
    assert_eq!(m.copies(PFN << PAGE_SHIFT).len(), 2);
    m.init_page(PFN, &[0x33; 4096]).unwrap();
    let left = m.copies(PFN << PAGE_SHIFT);
    assert_eq!(left.len(), 1, "the kernel-colour copy was snooped");
    assert_eq!(left[0].0, (UVA >> PAGE_SHIFT) & 0x3ff);
    // The kernel alias reads the DMA's data.
    assert_eq!(
        m.load(K, KERNEL_SPACE, kva, 8, &mut NoWalker).unwrap(),
        0x3333_3333_3333_3333
    );
}

#[test]
fn a_dirty_line_of_an_earlier_life_is_written_back_over_the_new_owner() {
    for scrub in [false, true] {
        let (mut m, mut pt) = machine();
        m.begin_life(PFN, Owner::Zeroed).unwrap();
        m.store(U, USER, UVA, 8, 0xdead, &mut pt).unwrap();
        if scrub {
            m.discard_page(PFN).unwrap();
        }
        m.begin_life(PFN, Owner::PageCache { file: 2, index: 0 })
            .unwrap();
        m.init_page(PFN, &[0x22; 4096]).unwrap();
        // Something flushes the old line (here: through the old address).
        m.fdc(U, USER, UVA, &mut pt).unwrap();
        let wb: Vec<_> = kinds(&m)
            .into_iter()
            .filter(|k| matches!(k, ReportKind::EarlierWriteBack { .. }))
            .collect();
        if scrub {
            assert!(wb.is_empty());
            continue;
        }
        assert_eq!(
            wb,
            vec![ReportKind::EarlierWriteBack {
                expected: 0x2222_2222_2222_2222,
                got: 0xdead,
                line_life: 1,
                life: 2,
            }]
        );
        assert_eq!(m.oracle().violations, 1);
        // Memory now holds the old life's word: the kernel alias reads it.
        let kva = Machine::kernel_va(PFN << PAGE_SHIFT);
        assert_eq!(
            m.load(K, KERNEL_SPACE, kva, 8, &mut NoWalker).unwrap(),
            0xdead
        );
    }
}

#[test]
fn a_write_back_that_matches_the_new_data_is_no_report() {
    let (mut m, mut pt) = machine();
    m.begin_life(PFN, Owner::Zeroed).unwrap();
    // The whole line, so nothing of the old bytes is left in it.
    for off in (0..m.shape().line_size as u64).step_by(8) {
        m.store(U, USER, UVA + off, 8, 0x2222_2222_2222_2222, &mut pt)
            .unwrap();
    }
    m.begin_life(PFN, Owner::Kernel).unwrap();
    m.init_page(PFN, &[0x22; 4096]).unwrap();
    m.fdc(U, USER, UVA, &mut pt).unwrap();
    assert_eq!(m.oracle().violations, 0);
}

#[test]
fn a_page_freed_with_its_pageout_copy_loses_what_a_dirty_user_line_holds() {
    let (mut m, mut pt) = machine();
    m.begin_life(PFN, Owner::PageCache { file: 1, index: 3 })
        .unwrap();
    m.store(U, USER, UVA + 8, 8, 0xbeef, &mut pt).unwrap();
    let data = m.device_read(K, PFN).unwrap();
    assert_eq!(data[8], 0x11, "memory still has the old bytes");
    assert_eq!(m.oracle().violations, 0, "reading alone loses nothing");
    assert_eq!(m.check_written(K, PFN, &data).unwrap(), 1);
    let r = m.oracle().first_violation().copied().unwrap();
    assert_eq!(
        r.kind,
        ReportKind::LostWrite {
            expected: 0xbeef,
            got: 0x1111_1111_1111_1111,
            life: 1,
        }
    );
    assert_eq!(r.pa, (PFN << PAGE_SHIFT) + 8);
    assert_eq!(
        r.colour,
        (UVA >> PAGE_SHIFT) & 0x3ff,
        "names the dirty copy"
    );
    // Written back first, nothing is lost.
    let (mut m, mut pt) = machine();
    m.store(U, USER, UVA + 8, 8, 0xbeef, &mut pt).unwrap();
    m.fdc(U, USER, UVA, &mut pt).unwrap();
    let data = m.device_read(K, PFN).unwrap();
    assert_eq!(m.check_written(K, PFN, &data).unwrap(), 0);
    assert_eq!(m.oracle().violations, 0);
}

#[test]
fn a_stale_cow_source_is_a_violation_without_a_coherence_point() {
    let (mut m, mut pt) = machine();
    m.store(U, USER, UVA, 8, 0xc1, &mut pt).unwrap();
    let kva = Machine::kernel_va(PFN << PAGE_SHIFT);
    // An ordinary kernel load: stale, as VIPT caches are, not a violation.
    m.load(K, KERNEL_SPACE, kva, 8, &mut NoWalker).unwrap();
    assert_eq!((m.oracle().stale_reads, m.oracle().violations), (1, 0));
    // The same load as a COW copy's source: a violation.
    m.load_required(K, KERNEL_SPACE, kva, 8, &mut NoWalker)
        .unwrap();
    assert_eq!((m.oracle().stale_reads, m.oracle().violations), (2, 1));
    let r = m.oracle().first_violation().unwrap();
    assert!(matches!(
        r.kind,
        ReportKind::StaleRead {
            required: true,
            violation: true,
            ..
        }
    ));
}

#[test]
fn rollback_forgets_lives_and_their_reports() {
    let (mut m, mut pt) = machine();
    m.load(U, USER, UVA, 8, &mut pt).unwrap();
    m.checkpoint();
    m.begin_life(PFN, Owner::Zeroed).unwrap();
    m.init_page(PFN, &[0x22; 4096]).unwrap();
    m.load(U, USER, UVA, 8, &mut pt).unwrap();
    assert_eq!(m.oracle().violations, 1);
    assert!(m.rollback());
    assert_eq!(m.oracle().life(PFN), 0);
    assert!(m.oracle().lives().is_empty());
    assert_eq!(m.oracle().violations, 0);
    assert!(m.oracle().reports().is_empty());
}

#[test]
fn a_move_in_burst_fills_every_line_of_every_valid_user_entry() {
    let mut m = Machine::new(HwConfig {
        speculative_move_in: true,
        ..HwConfig::default()
    })
    .unwrap();
    let mut pt = MapWalker::new();
    pt.set(
        USER,
        UVA,
        pfn_pte(Layout::Bits32, PFN, PteFlags::PAGE_SHARED).unwrap(),
    );
    m.load(U, USER, UVA, 8, &mut pt).unwrap();
    let lines = 4096 / m.shape().line_size as u64;
    assert_eq!(m.move_in_burst(false).unwrap(), lines - 1);
    assert_eq!(m.move_in_burst(false).unwrap(), 0, "all there already");
    m.tlb_purge(1, USER, UVA).unwrap();
    m.flush_cache_all(K).unwrap();
    assert_eq!(m.move_in_burst(false).unwrap(), 0, "no entry, no move-in");
    let off = Machine::new(HwConfig::default())
        .unwrap()
        .move_in_burst(false);
    assert!(off.is_err());
}
