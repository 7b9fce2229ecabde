//! The classic VIPT demonstrations, each its own test, on the default geometry.

use vipt_cache::*;
use vipt_pte::{pfn_pte, Layout, Pte, PteFlags};

const USER: SpaceId = SpaceId(1);
/// A user address of colour 3; the kernel alias of pfn 5 has colour 5.
const UVA: u64 = 0x4000_3000;
const PFN: u64 = 5;

fn shared(pfn: u64) -> Pte {
    pfn_pte(Layout::Bits32, pfn, PteFlags::PAGE_SHARED).unwrap()
}

fn setup(config: HwConfig) -> (Machine, MapWalker) {
    let mut m = Machine::new(config).unwrap();
    m.fill_page(PFN, 0x11).unwrap();
    let mut pt = MapWalker::new();
    pt.set(USER, UVA, shared(PFN));
    (m, pt)
}

fn kva() -> u64 {
    Machine::kernel_va(PFN << 12)
}

const K: Who = Who::kernel(0);
const U: Who = Who::user(1);

/// The user has read the page; the kernel then writes it through its own alias.
fn user_reads_then_kernel_writes(m: &mut Machine, pt: &mut MapWalker) {
    assert_eq!(m.load(U, USER, UVA, 8, pt).unwrap(), 0x1111_1111_1111_1111);
    for off in (0..4096).step_by(8) {
        m.store(K, KERNEL_SPACE, kva() + off, 8, 0x2222_2222_2222_2222, pt)
            .unwrap();
    }
}

#[test]
fn demo1_kernel_write_is_stale_through_a_non_equivalent_user_alias() {
    let (mut m, mut pt) = setup(HwConfig::default());
    assert_ne!(m.shape().colour_of(UVA), m.shape().colour_of(kva()));
    user_reads_then_kernel_writes(&mut m, &mut pt);
    // Before any flush: the user sees the old data. Stale, but expected.
    assert_eq!(
        m.load(U, USER, UVA, 8, &mut pt).unwrap(),
        0x1111_1111_1111_1111
    );
    assert_eq!((m.oracle().stale_reads, m.oracle().violations), (1, 0));
    let r = m.oracle().reports()[0];
    assert_eq!((r.who, r.pa, r.va), (U, PFN << 12, UVA));
    assert!(matches!(
        r.kind,
        ReportKind::StaleRead {
            violation: false,
            expected: 0x2222_2222_2222_2222,
            ..
        }
    ));
    // Flush the kernel alias (write back) and the user alias (drop the stale copy).
    let k = m.flush_page(K, KERNEL_SPACE, kva(), &mut pt).unwrap();
    assert_eq!((k.issued, k.nullified, k.written_back), (128, 0, 128));
    let u = m.flush_page(K, USER, UVA, &mut pt).unwrap();
    assert_eq!((u.nullified, u.hit, u.written_back), (0, 1, 0));
    m.coherence_point(K, PFN).unwrap();
    assert_eq!(
        m.load(U, USER, UVA, 8, &mut pt).unwrap(),
        0x2222_2222_2222_2222
    );
    assert_eq!(m.oracle().violations, 0);
}

#[test]
fn demo1b_flushing_only_the_kernel_alias_leaves_a_violation() {
    let (mut m, mut pt) = setup(HwConfig::default());
    user_reads_then_kernel_writes(&mut m, &mut pt);
    m.flush_page(K, KERNEL_SPACE, kva(), &mut pt).unwrap();
    m.coherence_point(K, PFN).unwrap();
    assert_eq!(
        m.load(U, USER, UVA, 8, &mut pt).unwrap(),
        0x1111_1111_1111_1111
    );
    assert_eq!(m.oracle().violations, 1);
    let v = m.oracle().first_violation().unwrap();
    assert!(v.to_string().contains("VIOLATES"), "{v}");
}

#[test]
fn demo2_equivalent_aliases_never_diverge() {
    let (mut m, mut pt) = setup(HwConfig::default());
    let twins = [UVA, UVA + SHM_COLOUR, UVA + 5 * SHM_COLOUR];
    for &va in &twins {
        pt.set(USER, va, shared(PFN));
    }
    let other = SpaceId(2);
    pt.set(other, UVA + 9 * SHM_COLOUR, shared(PFN));
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for i in 0..2000u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let off = (x % 512) * 8;
        let (space, va) = match i % 4 {
            3 => (other, UVA + 9 * SHM_COLOUR),
            n => (USER, twins[n as usize]),
        };
        if x & 1 == 0 {
            m.store(Who::user((i % 2) as usize), space, va + off, 8, x, &mut pt)
                .unwrap();
        } else {
            m.load(Who::user((i % 2) as usize), space, va + off, 8, &mut pt)
                .unwrap();
        }
    }
    assert_eq!(m.oracle().stale_reads, 0);
    assert_eq!(m.check_copies(K, PFN).unwrap(), 0);
    // One copy per line, whatever alias it came through.
    for line in 0..128u64 {
        assert!(m.copies((PFN << 12) + line * 32).len() <= 1);
    }
}

#[test]
fn demo3_a_flush_without_translation_is_nullified_and_the_stale_line_survives() {
    let (mut m, mut pt) = setup(HwConfig::default());
    user_reads_then_kernel_writes(&mut m, &mut pt);
    // The pte goes away (zapped to zero) and the TLB entry with it.
    pt.set(USER, UVA, Pte::NONE);
    m.tlb_purge_all_cpus(USER, UVA);
    let before = *m.counters();
    let s = m.flush_page(K, USER, UVA, &mut pt).unwrap();
    assert_eq!((s.issued, s.nullified), (128, 128));
    let d = m.counters().since(&before);
    assert_eq!(
        (d.fdc_issued, d.fdc_nullified, d.fdc_effective),
        (128, 128, 0)
    );
    assert_eq!(
        d.page_walks, 128,
        "every nullified fdc is a miss and a walk"
    );
    assert_eq!(
        m.cached(UVA, PFN << 12),
        Some(false),
        "the stale user line survives"
    );
}

#[test]
fn demo3b_a_flush_only_translation_makes_the_flush_work() {
    let (mut m, mut pt) = setup(HwConfig::default());
    user_reads_then_kernel_writes(&mut m, &mut pt);
    // ptep_get_and_clear: PRESENT cleared, FLUSH set, pfn kept.
    let cell = vipt_pte::AtomicPte::new(shared(PFN));
    cell.ptep_get_and_clear(&vipt_pte::PaDbitLock::new());
    pt.set(USER, UVA, cell.load());
    m.tlb_purge_all_cpus(USER, UVA);
    let s = m.flush_page(K, USER, UVA, &mut pt).unwrap();
    assert_eq!((s.nullified, s.hit), (0, 1));
    assert_eq!(m.cached(UVA, PFN << 12), None);
    // A data access through the flush-only pte still faults.
    assert!(m.load(U, USER, UVA, 8, &mut pt).unwrap_err().is_fault());
}

#[test]
fn demo3c_without_flush_pte_semantics_the_same_flush_is_nullified() {
    let config = HwConfig {
        honour_flush_pte: false,
        ..HwConfig::default()
    };
    let (mut m, mut pt) = setup(config);
    user_reads_then_kernel_writes(&mut m, &mut pt);
    pt.set(
        USER,
        UVA,
        Pte::from_raw((shared(PFN).raw() & !0x200) | 0x400),
    );
    m.tlb_purge_all_cpus(USER, UVA);
    let s = m.flush_page(K, USER, UVA, &mut pt).unwrap();
    assert_eq!(s.nullified, 128);
    assert!(m.cached(UVA, PFN << 12).is_some());
}

#[test]
fn demo4_tmpalias_flush_at_the_user_colour_needs_no_user_pte() {
    for (colour_of, cleans) in [(UVA, true), (UVA + 0x1000, false)] {
        let (mut m, mut pt) = setup(HwConfig::default());
        user_reads_then_kernel_writes(&mut m, &mut pt);
        pt.set(USER, UVA, Pte::NONE);
        m.tlb_purge_all_cpus(USER, UVA);
        m.flush_page(K, KERNEL_SPACE, kva(), &mut pt).unwrap();
        let before = *m.counters();
        let s = m.tmpalias_flush_page(0, PFN, colour_of).unwrap();
        assert_eq!(s.nullified, 0);
        assert_eq!(s.hit, u64::from(cleans), "colour of {colour_of:#x}");
        let d = m.counters().since(&before);
        assert_eq!((d.tmpalias_inserts, d.page_walks), (1, 0));
        assert_eq!(m.cached(UVA, PFN << 12).is_none(), cleans);
        // The user maps the page again and reads.
        pt.set(USER, UVA, shared(PFN));
        m.coherence_point(K, PFN).unwrap();
        let got = m.load(U, USER, UVA, 8, &mut pt).unwrap();
        assert_eq!(got == 0x2222_2222_2222_2222, cleans);
        assert_eq!(m.oracle().violations, u64::from(!cleans));
    }
}

#[test]
fn demo4b_in_2_6_14_a_tmpalias_flush_that_misses_the_tlb_is_nullified() {
    let config = HwConfig {
        tmpalias_nonaccess: false,
        ..HwConfig::default()
    };
    let (mut m, _) = setup(config);
    let alias = m.tmpalias_map(0, TmpaliasHalf::To, PFN, UVA).unwrap();
    assert_eq!(alias, TMPALIAS_MAP_START + 0x3000);
    // Another purge of the window entry before the flush: the non-access miss
    // handler of 2.6.14 does not know the window.
    m.tlb_purge(0, KERNEL_SPACE, alias).unwrap();
    assert_eq!(
        m.fdc(K, KERNEL_SPACE, alias, &mut NoWalker).unwrap(),
        Flush::Nullified
    );
    let config = HwConfig::default();
    let (mut m, _) = setup(config);
    let alias = m.tmpalias_map(0, TmpaliasHalf::To, PFN, UVA).unwrap();
    m.tlb_purge(0, KERNEL_SPACE, alias).unwrap();
    assert!(matches!(
        m.fdc(K, KERNEL_SPACE, alias, &mut NoWalker).unwrap(),
        Flush::Done { .. }
    ));
}

#[test]
fn demo5_speculative_move_in_refills_a_line_flushed_while_its_tlb_entry_stayed() {
    let config = HwConfig {
        speculative_move_in: true,
        ..HwConfig::default()
    };
    let (mut m, mut pt) = setup(config);
    user_reads_then_kernel_writes(&mut m, &mut pt);
    // Wrong order: user alias first (its TLB entry stays), kernel alias after.
    m.flush_page(K, USER, UVA, &mut pt).unwrap();
    assert_eq!(m.cached(UVA, PFN << 12), None);
    assert!(
        m.move_in(1, USER, UVA).unwrap(),
        "the line comes back through CPU1's entry"
    );
    m.flush_page(K, KERNEL_SPACE, kva(), &mut pt).unwrap();
    m.coherence_point(K, PFN).unwrap();
    assert_eq!(
        m.load(U, USER, UVA, 8, &mut pt).unwrap(),
        0x1111_1111_1111_1111
    );
    assert_eq!(m.oracle().violations, 1);
    assert_eq!(m.counters().move_ins, 1);
}

#[test]
fn demo5b_purging_the_tlb_first_closes_the_move_in() {
    let config = HwConfig {
        speculative_move_in: true,
        ..HwConfig::default()
    };
    let (mut m, mut pt) = setup(config);
    user_reads_then_kernel_writes(&mut m, &mut pt);
    m.tlb_purge_all_cpus(USER, UVA);
    // The 2024 order: purge, flush the user colour (tmpalias), flush the kernel alias.
    m.tmpalias_flush_page(0, PFN, UVA).unwrap();
    assert!(matches!(
        m.move_in(1, USER, UVA),
        Err(CacheError::NoMoveIn(_))
    ));
    m.flush_page(K, KERNEL_SPACE, kva(), &mut pt).unwrap();
    m.coherence_point(K, PFN).unwrap();
    assert_eq!(
        m.load(U, USER, UVA, 8, &mut pt).unwrap(),
        0x2222_2222_2222_2222
    );
    assert_eq!(m.oracle().violations, 0);
}
