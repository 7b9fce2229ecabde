//! The kernel paths and the strategies, one behaviour per test.

use std::sync::Arc;

use vipt_cache::HwConfig;
use vipt_mm::fault::access_process_vm;
use vipt_mm::filemap::sys_write;
use vipt_mm::mmap::{do_mmap, do_munmap, do_truncate, fork};
use vipt_mm::rmap::{shrink_page, Reclaim};
use vipt_mm::strategy::{by_name, STRATEGIES};
use vipt_mm::{AddressSpace, Cpu, MapFlags, MmError, Prot, World, WorldConfig};
use vipt_pte::{classify, pte_pfn, PteKind, PAGE_SIZE};

const RW: Prot = Prot::PROT_READ.union(Prot::PROT_WRITE);
const SHARED: MapFlags = MapFlags::MAP_SHARED;

fn world(strategy: &str) -> Arc<World> {
    let cfg = WorldConfig {
        hw: HwConfig {
            frames: 64,
            cpus: 3,
            ..HwConfig::default()
        },
        ..WorldConfig::default()
    };
    World::with(cfg, by_name(strategy).unwrap(), Arc::new(vipt_mm::Native)).unwrap()
}

/// A CPU running a fresh mm.
fn process(w: &Arc<World>, cpu: usize) -> Cpu {
    let mut c = Cpu::new(w, cpu).unwrap();
    c.use_mm(Some(w.new_mm()));
    c
}

fn map(c: &mut Cpu, f: &Arc<AddressSpace>, addr: Option<u64>, flags: MapFlags, pgoff: u64) -> u64 {
    let flags = if addr.is_some() {
        flags | MapFlags::MAP_FIXED
    } else {
        flags
    };
    do_mmap(c, Some(f), addr.unwrap_or(0), PAGE_SIZE, RW, flags, pgoff).unwrap()
}

/// Reads the first word of every cache line of the page at `va`.
fn read_lines(c: &mut Cpu, va: u64) -> Vec<u64> {
    let line = c.world().config.hw.geometry.line_size;
    (0..PAGE_SIZE / line)
        .map(|i| c.user_load(va + i * line, 8).unwrap())
        .collect()
}

#[test]
fn every_strategy_keeps_congruent_mappings_coherent_after_write() {
    for s in STRATEGIES {
        let w = world(s);
        let f = w.new_file(4);
        let (mut a, mut b) = (process(&w, 0), process(&w, 1));
        let va = map(&mut a, &f, None, SHARED, 0);
        let vb = map(&mut b, &f, None, SHARED, 0);
        let before = read_lines(&mut a, va);
        read_lines(&mut b, vb);
        let mut k = Cpu::new(&w, 2).unwrap();
        sys_write(&mut k, &f, 0, 0xfeed).unwrap();
        assert_ne!(before[0], 0xfeed);
        assert!(
            read_lines(&mut a, va).iter().all(|&x| x == 0xfeed),
            "{s}: A stale"
        );
        assert!(
            read_lines(&mut b, vb).iter().all(|&x| x == 0xfeed),
            "{s}: B stale"
        );
        assert_eq!(w.oracle_counts(), (0, 0), "{s}");
        w.check_invariants().unwrap();
    }
}

/// Builds the coincidental swap pte: A's private mapping of the file is first
/// in `i_mmap`; A's COW copy of page 0 is swapped out to the slot whose entry
/// has the page-cache page's pfn in its "pfn" bits. B maps the file shared and
/// has the page cached. Returns (world, B's cpu, B's address, file).
fn coincidental_swap_pte(strategy: &str) -> (Arc<World>, Cpu, u64, Arc<AddressSpace>, Cpu) {
    let w = world(strategy);
    let f = w.new_file(1);
    let mut a = process(&w, 0);
    let va = map(&mut a, &f, None, MapFlags::MAP_PRIVATE, 0);
    a.user_load(va, 8).unwrap();
    let mut b = process(&w, 1);
    let vb = map(&mut b, &f, None, SHARED, 0);
    let target = f.cached_pfn(0).unwrap();
    // COW: A gets its own anonymous copy.
    a.user_store(va, 8, 0xa).unwrap();
    let amm = a.mm().unwrap().clone();
    let copy = pte_pfn(amm.pgd.pte_offset(va).unwrap().unwrap().1.load());
    assert_ne!(copy, target);
    // Reclaim the copy into slot 16 * target: its swap pte reads as pfn `target`.
    w.set_next_swap_slot(16 * target).unwrap();
    let mut k = Cpu::new(&w, 2).unwrap();
    assert_eq!(shrink_page(&mut k, copy, true).unwrap(), Reclaim::Freed);
    let pte = amm.pgd.pte_offset(va).unwrap().unwrap().1.load();
    assert!(matches!(classify(pte), PteKind::Swap { .. }), "{pte:?}");
    assert_eq!(
        pte_pfn(pte),
        target,
        "the swap pte's pfn bits equal the page's pfn"
    );
    // B caches the page now (A's COW flushed that colour on its way).
    read_lines(&mut b, vb);
    (w, b, vb, f, k)
}

#[test]
fn legacy_2005_flushes_through_a_coincidental_swap_pte_and_leaves_a_stale_alias() {
    let (w, mut b, vb, f, mut k) = coincidental_swap_pte("legacy-2005");
    let nullified = w.read_hw(|m| m.counters().fdc_nullified);
    sys_write(&mut k, &f, 0, 0xbeef).unwrap();
    assert!(
        w.read_hw(|m| m.counters().fdc_nullified) > nullified,
        "the flush went nowhere"
    );
    let got = read_lines(&mut b, vb);
    assert!(
        got.iter().any(|&x| x != 0xbeef),
        "B must read stale data: {got:x?}"
    );
    assert!(w.oracle_counts().1 > 0, "the oracle calls it a violation");
}

#[test]
fn patched_2005_skips_the_swap_pte_and_flushes_the_real_mapping() {
    let (w, mut b, vb, f, mut k) = coincidental_swap_pte("patched-2005");
    sys_write(&mut k, &f, 0, 0xbeef).unwrap();
    assert!(read_lines(&mut b, vb).iter().all(|&x| x == 0xbeef));
    assert_eq!(w.oracle_counts().1, 0);
}

/// Two shared mappings of page 0 at inequivalent addresses (B's by MAP_FIXED
/// one page off A's colour), both cached, then write().
fn inequivalent(strategy: &str) -> (Arc<World>, bool) {
    let w = world(strategy);
    let f = w.new_file(2);
    let (mut a, mut b) = (process(&w, 0), process(&w, 1));
    let va = map(&mut a, &f, None, SHARED, 0);
    let vb = map(&mut b, &f, Some(va + 0x40_0000 + PAGE_SIZE), SHARED, 0);
    read_lines(&mut a, va);
    read_lines(&mut b, vb);
    let mut k = Cpu::new(&w, 2).unwrap();
    sys_write(&mut k, &f, 0, 0x5eed).unwrap();
    let ok_a = read_lines(&mut a, va).iter().all(|&x| x == 0x5eed);
    let ok_b = read_lines(&mut b, vb).iter().all(|&x| x == 0x5eed);
    assert_eq!(ok_a && ok_b, w.oracle_counts().1 == 0);
    (w, ok_a && ok_b)
}

#[test]
fn inequivalent_aliases_break_every_break_after_one_strategy() {
    for s in ["legacy-2005", "patched-2005", "recheck"] {
        let (_, coherent) = inequivalent(s);
        assert!(!coherent, "{s} should leave a stale line");
    }
    for s in ["tmpalias", "modern"] {
        let (w, coherent) = inequivalent(s);
        assert!(coherent, "{s} should flush both colours");
        // Both texts print INEQUIVALENT ALIASES for the second colour (3.x
        // for any vma, 6.10 among shared ones; both are shared here).
        assert_eq!(w.alias_reports().len(), 1, "{s}");
    }
}

#[test]
fn pgoff_ignoring_colouring_makes_inequivalent_aliases_and_pgoff_aware_does_not() {
    for (colouring, expect_stale) in [
        (vipt_mm::Colouring::Linux2614, true),
        (vipt_mm::Colouring::PgoffAware, false),
    ] {
        let cfg = WorldConfig {
            colouring,
            hw: HwConfig {
                frames: 64,
                cpus: 3,
                ..HwConfig::default()
            },
            ..WorldConfig::default()
        };
        let w = World::with(
            cfg,
            by_name("patched-2005").unwrap(),
            Arc::new(vipt_mm::Native),
        )
        .unwrap();
        let f = w.new_file(4);
        let (mut a, mut b) = (process(&w, 0), process(&w, 1));
        // A maps pages 0..2 from pgoff 0, B maps page 1 alone (pgoff 1).
        let va = do_mmap(&mut a, Some(&f), 0, 2 * PAGE_SIZE, RW, SHARED, 0).unwrap();
        let vb = map(&mut b, &f, None, SHARED, 1);
        read_lines(&mut a, va + PAGE_SIZE);
        read_lines(&mut b, vb);
        let mut k = Cpu::new(&w, 2).unwrap();
        sys_write(&mut k, &f, 1, 0x77).unwrap();
        let stale = read_lines(&mut a, va + PAGE_SIZE)
            .iter()
            .chain(read_lines(&mut b, vb).iter())
            .any(|&x| x != 0x77);
        assert_eq!(stale, expect_stale, "{colouring:?}");
    }
}

#[test]
fn taking_the_pte_lock_inside_translation_exists_is_an_inversion_against_try_to_unmap_one() {
    let cfg = WorldConfig {
        preload_lock_order: false,
        hw: HwConfig {
            frames: 64,
            cpus: 3,
            ..HwConfig::default()
        },
        ..WorldConfig::default()
    };
    let w = World::with(
        cfg,
        by_name("patched-ptl").unwrap(),
        Arc::new(vipt_mm::Native),
    )
    .unwrap();
    let f = w.new_file(1);
    let mut a = process(&w, 0);
    let va = map(&mut a, &f, None, SHARED, 0);
    a.user_store(va, 8, 1).unwrap();
    let pfn = f.cached_pfn(0).unwrap();
    // kswapd: try_to_unmap_one takes the pte lock, then tree_lock (set_page_dirty).
    let mut k = Cpu::new(&w, 2).unwrap();
    assert_eq!(shrink_page(&mut k, pfn, true).unwrap(), Reclaim::Freed);
    assert!(w.lockdep.reports().is_empty());
    a.user_load(va, 8).unwrap();
    // write(): flush_dcache_page takes tree_lock, then the pte lock.
    sys_write(&mut k, &f, 0, 2).unwrap();
    let r = w.lockdep.reports();
    assert_eq!(r.len(), 1, "{r:#?}");
    let text = r[0].to_string();
    assert!(text.contains("lock order inversion"), "{text}");
    assert!(text.contains("translation_exists"), "{text}");
    assert!(text.contains("try_to_unmap_one"), "{text}");
    assert!(text.contains("__set_page_dirty_nobuffers"), "{text}");
}

#[test]
fn bad_mmap_arguments_are_refused_and_leave_the_mm_unchanged() {
    let w = world("patched-2005");
    let f = w.new_file(4);
    let mut a = process(&w, 0);
    let va = map(&mut a, &f, None, SHARED, 0);
    let before = a.mm().unwrap().vmas().len();
    let cases: [(u64, u64, MapFlags); 5] = [
        (0, 0, SHARED),                                             // zero length
        (va + 1, PAGE_SIZE, SHARED | MapFlags::MAP_FIXED),          // unaligned
        (va, PAGE_SIZE, SHARED | MapFlags::MAP_FIXED),              // overlap
        (0xEFFF_F000, 2 * PAGE_SIZE, SHARED | MapFlags::MAP_FIXED), // beyond 32 bits' TASK_SIZE
        (0, PAGE_SIZE, SHARED | MapFlags::MAP_PRIVATE),             // both
    ];
    for (addr, len, flags) in cases {
        let r = do_mmap(&mut a, Some(&f), addr, len, RW, flags, 0);
        assert!(
            matches!(r, Err(MmError::Invalid(_))),
            "{addr:#x} {len:#x} {flags:?}: {r:?}"
        );
    }
    assert!(do_munmap(&mut a, va + 1, PAGE_SIZE).is_err());
    assert_eq!(a.mm().unwrap().vmas().len(), before);
    assert!(a.held().is_empty(), "no lock left held");
    assert_eq!(f.vmas_stabbing(0, 0).0.len(), 1);
}

#[test]
fn munmap_zaps_and_truncate_unmaps_and_refault_maps_the_same_page_again() {
    let w = world("patched-2005");
    let f = w.new_file(4);
    let mut a = process(&w, 0);
    let va = do_mmap(&mut a, Some(&f), 0, 3 * PAGE_SIZE, RW, SHARED, 0).unwrap();
    for p in 0..3 {
        a.user_store(va + p * PAGE_SIZE, 8, p).unwrap();
    }
    let mm = a.mm().unwrap().clone();
    let cell = |addr: u64| mm.pgd.pte_offset(addr).unwrap().unwrap().1.load();
    let p0 = pte_pfn(cell(va));
    // munmap the middle page: the vma splits, the pte keeps its pfn with FLUSH.
    do_munmap(&mut a, va + PAGE_SIZE, PAGE_SIZE).unwrap();
    assert_eq!(mm.vmas().len(), 2);
    assert!(matches!(
        classify(cell(va + PAGE_SIZE)),
        PteKind::FlushOnly { .. }
    ));
    assert!(a.user_load(va + PAGE_SIZE, 8).is_err());
    // truncate to one page: page 2's pte goes, page 0's stays.
    let mut k = Cpu::new(&w, 2).unwrap();
    do_truncate(&mut k, &f, 1).unwrap();
    assert_eq!(f.nrpages(), 1);
    assert!(!vipt_pte::pte_present(cell(va + 2 * PAGE_SIZE)));
    assert!(matches!(
        a.user_load(va + 2 * PAGE_SIZE, 8),
        Err(MmError::Segv { .. })
    ));
    // Zap page 0 via unmap_mapping_range, then refault: the same pfn comes back.
    vipt_mm::mmap::unmap_mapping_range(&mut k, &f, 0).unwrap();
    assert!(!vipt_pte::pte_present(cell(va)));
    assert_eq!(a.user_load(va, 8).unwrap(), 0);
    assert_eq!(pte_pfn(cell(va)), p0);
    w.check_invariants().unwrap();
}

#[test]
fn fork_shares_then_cow_copies_and_access_process_vm_sees_the_child() {
    let w = world("patched-2005");
    let mut a = process(&w, 0);
    let va = do_mmap(
        &mut a,
        None,
        0,
        PAGE_SIZE,
        RW,
        MapFlags::MAP_PRIVATE | MapFlags::MAP_ANONYMOUS,
        0,
    )
    .unwrap();
    a.user_store(va, 8, 41).unwrap();
    let child = fork(&mut a).unwrap();
    let mut c = Cpu::new(&w, 1).unwrap();
    c.use_mm(Some(child.clone()));
    assert_eq!(c.user_load(va, 8).unwrap(), 41);
    let shared_pfn = pte_pfn(child.pgd.pte_offset(va).unwrap().unwrap().1.load());
    assert_eq!(w.page(shared_pfn).unwrap().mapcount(), 2);
    c.user_store(va, 8, 42).unwrap(); // COW in the child
    assert_eq!(a.user_load(va, 8).unwrap(), 41);
    assert_eq!(c.user_load(va, 8).unwrap(), 42);
    let mut k = Cpu::new(&w, 2).unwrap();
    assert_eq!(access_process_vm(&mut k, &child, va, None).unwrap(), 42);
    access_process_vm(&mut k, &child, va + 8, Some(7)).unwrap();
    assert_eq!(c.user_load(va + 8, 8).unwrap(), 7);
    assert_eq!(w.oracle_counts().1, 0);
    w.check_invariants().unwrap();
}

#[test]
fn an_anonymous_page_goes_to_swap_and_comes_back() {
    let w = world("patched-2005");
    let mut a = process(&w, 0);
    let va = do_mmap(
        &mut a,
        None,
        0,
        PAGE_SIZE,
        RW,
        MapFlags::MAP_PRIVATE | MapFlags::MAP_ANONYMOUS,
        0,
    )
    .unwrap();
    a.user_store(va, 8, 0x1234).unwrap();
    let mm = a.mm().unwrap().clone();
    let pfn = pte_pfn(mm.pgd.pte_offset(va).unwrap().unwrap().1.load());
    let free = w.free_frames();
    let mut k = Cpu::new(&w, 2).unwrap();
    assert_eq!(shrink_page(&mut k, pfn, true).unwrap(), Reclaim::Freed);
    assert_eq!(w.free_frames(), free + 1);
    assert!(matches!(
        classify(mm.pgd.pte_offset(va).unwrap().unwrap().1.load()),
        PteKind::Swap { .. }
    ));
    assert_eq!(a.user_load(va, 8).unwrap(), 0x1234);
    w.check_invariants().unwrap();
}

/// Checks that `order` occurs in `v` in that order (each after the last).
fn in_order(v: &[&str], order: &[&str]) {
    let mut from = 0;
    for what in order {
        match v[from..].iter().position(|x| x == what) {
            Some(i) => from += i + 1,
            None => panic!("{what} not after step {from} in {v:?}"),
        }
    }
}

fn recorded_world(kernel: vipt_mm::Kernel) -> (Arc<World>, Arc<vipt_mm::sched::Recorder>) {
    let rec = Arc::new(vipt_mm::sched::Recorder::new());
    let d = WorldConfig::for_kernel(kernel);
    let cfg = WorldConfig {
        hw: HwConfig {
            frames: 64,
            cpus: 3,
            ..d.hw
        },
        ..d
    };
    let s = by_name(kernel.flush_dcache_page()).unwrap();
    (World::with(cfg, s, rec.clone()).unwrap(), rec)
}

/// `try_to_unmap_one` in each profile's order: the racer's
/// `flush_cache_page`, `ptep_clear_flush`, then `set_page_dirty` and the
/// rmap. 2.6.14: the pre-patch translation test and a user-address flush,
/// then the flush-only clear and its purge. 3.x: purge, tmpalias flush, a
/// real clear (under `pa_dbit_lock`), purge. 6.10: purge and tmpalias, the
/// clear, then `__flush_cache_page` on the old pfn (purge, tmpalias).
#[test]
fn try_to_unmap_one_flushes_then_clears_then_purges_then_dirties() {
    use vipt_mm::Kernel;
    for (kernel, order) in [
        (
            Kernel::V2_6_14,
            &[
                "try_to_unmap_one",
                "page_check_address",
                "translation_exists",
                "flush_user_dcache_page",
                "ptep_get_and_clear",
                "flush_tlb_page",
                "__set_page_dirty_nobuffers",
                "page_remove_rmap",
            ][..],
        ),
        (
            Kernel::V3x,
            &[
                "try_to_unmap_one",
                "page_check_address",
                "flush_tlb_page",
                "flush_dcache_page_asm",
                "ptep_get_and_clear",
                "flush_tlb_page",
                "__set_page_dirty_nobuffers",
                "page_remove_rmap",
            ][..],
        ),
        (
            Kernel::V6_10,
            &[
                "try_to_unmap_one",
                "page_check_address",
                "flush_tlb_page",
                "flush_dcache_page_asm",
                "ptep_get_and_clear",
                "flush_tlb_page",
                "flush_dcache_page_asm",
                "__set_page_dirty_nobuffers",
                "page_remove_rmap",
            ][..],
        ),
    ] {
        let (w, rec) = recorded_world(kernel);
        let f = w.new_file(1);
        let mut a = process(&w, 0);
        let va = map(&mut a, &f, None, SHARED, 0);
        a.user_store(va, 8, 1).unwrap();
        let mut k = Cpu::new(&w, 2).unwrap();
        rec.clear();
        shrink_page(&mut k, f.cached_pfn(0).unwrap(), true).unwrap();
        let s = rec.functions(2);
        in_order(&s, order);
        if kernel == Kernel::V2_6_14 {
            // No tmpalias in 2.6.14's racer; the clear leaves a flush-only pte.
            assert!(!s.contains(&"flush_dcache_page_asm"), "{s:?}");
        } else {
            assert!(!s.contains(&"translation_exists"), "{kernel}: {s:?}");
        }
        w.check_invariants().unwrap();
    }
}

/// `do_wp_page` in each profile's order. 2.6.14: the copy through the
/// kernel aliases with no flush of the source's user alias, then, under the
/// pte lock, the old page's rmap removed *before* the racer's flush, then
/// `ptep_establish` (store, purge) and the new rmap. 6.10: the source flushed
/// through tmpalias first (the "minifail" fix), the copy, then
/// `flush_cache_page`, `ptep_clear_flush`, the new rmap, `set_pte_at`, and
/// the old rmap last.
#[test]
fn do_wp_page_copies_then_rechecks_then_flushes_the_old_pfn_then_installs() {
    use vipt_mm::Kernel;
    for (kernel, order) in [
        (
            Kernel::V2_6_14,
            &[
                "do_wp_page",
                "copy_user_page_asm",
                "flush_kernel_dcache_page",
                "do_wp_page",
                "page_remove_rmap",
                "translation_exists",
                "flush_user_dcache_page",
                "set_pte_at",
                "flush_tlb_page",
                "update_mmu_cache",
                "page_add_anon_rmap",
            ][..],
        ),
        (
            Kernel::V6_10,
            &[
                "do_wp_page",
                "flush_tlb_page",
                "flush_dcache_page_asm",
                "copy_page_asm",
                "do_wp_page",
                "flush_dcache_page_asm",
                "ptep_get_and_clear",
                "flush_dcache_page_asm",
                "page_add_anon_rmap",
                "set_ptes",
                "update_mmu_cache",
                "page_remove_rmap",
            ][..],
        ),
    ] {
        let (w, rec) = recorded_world(kernel);
        let f = w.new_file(1);
        let mut a = process(&w, 0);
        let va = map(&mut a, &f, None, MapFlags::MAP_PRIVATE, 0);
        a.user_load(va, 8).unwrap();
        rec.clear();
        a.user_store(va, 8, 9).unwrap();
        let s = rec.functions(0);
        in_order(&s, order);
        if kernel == Kernel::V2_6_14 {
            // The source's user alias is not flushed before the copy.
            let copy = s.iter().position(|x| *x == "copy_user_page_asm").unwrap();
            assert!(!s[..copy].contains(&"flush_user_dcache_page"), "{s:?}");
        }
        assert_eq!(a.user_load(va, 8).unwrap(), 9);
        w.check_invariants().unwrap();
    }
}

/// A world's machine comes from its thread's pool of dropped worlds'
/// machines, rolled back to their fresh state: a world built after another
/// starts exactly as on a new machine, unless the earlier world lent its
/// machine out (`with_hw`), which may have left a checkpoint of its own.
#[test]
fn a_new_world_on_a_reused_machine_starts_fresh() {
    let cfg = WorldConfig {
        hw: HwConfig {
            frames: 16,
            cpus: 3,
            ..HwConfig::explore(4).unwrap()
        },
        ..WorldConfig::default()
    };
    let new_world = || {
        World::with(
            cfg,
            by_name("patched-2005").unwrap(),
            Arc::new(vipt_mm::Native),
        )
        .unwrap()
    };
    let state = |w: &World| w.read_hw(|m| format!("{m:?}"));
    let fresh = {
        let mut m = vipt_cache::Machine::new(cfg.hw).unwrap();
        m.checkpoint();
        format!("{m:?}")
    };
    // Use a world: map a file page in two processes, write it, flush.
    let w = new_world();
    assert_eq!(state(&w), fresh, "the thread's first world");
    {
        let f = w.new_file(2);
        let (mut a, mut b) = (process(&w, 0), process(&w, 1));
        let va = map(&mut a, &f, None, SHARED, 0);
        let vb = map(&mut b, &f, None, SHARED, 0);
        a.user_store(va + 64, 8, 0xfeed).unwrap();
        read_lines(&mut b, vb);
        let mut k = Cpu::new(&w, 2).unwrap();
        sys_write(&mut k, &f, 0, 0x77).unwrap();
    }
    assert_ne!(state(&w), fresh, "the world changed its machine");
    drop(w);
    let w = new_world();
    assert_eq!(state(&w), fresh, "a reused machine is rolled back");
    // A machine lent out with a checkpoint of the borrower's is not reused.
    w.with_hw(|m| {
        m.init_page(5, &[9; 4096]).unwrap();
        m.checkpoint();
    });
    drop(w);
    let w = new_world();
    assert_eq!(state(&w), fresh, "a lent machine is not reused");
}

/// A patch to one hook is seen from inside the base profile's other hooks:
/// 6.10's `ptep_clear_flush` (in `try_to_unmap_one`) reaches the patched
/// `__flush_cache_page` through the world's arch, and a patch for another
/// kernel is refused.
#[test]
fn a_patched_hook_is_called_by_the_base_profiles_hooks() {
    use std::sync::atomic::{AtomicU32, Ordering};
    use vipt_mm::arch::{profile, Arch};
    use vipt_mm::{Kernel, MmError, Vma};

    struct Counting {
        base: Arc<dyn Arch>,
        calls: AtomicU32,
    }
    impl Arch for Counting {
        fn name(&self) -> &str {
            "counting"
        }
        fn base(&self) -> &dyn Arch {
            &*self.base
        }
        fn __flush_cache_page(
            &self,
            cpu: &mut Cpu,
            vma: &Arc<Vma>,
            addr: u64,
            pfn: u64,
        ) -> Result<(), MmError> {
            self.calls.fetch_add(1, Ordering::Relaxed);
            self.base.__flush_cache_page(cpu, vma, addr, pfn)
        }
    }

    let (w, _) = recorded_world(Kernel::V6_10);
    let patch = Arc::new(Counting {
        base: profile(Kernel::V6_10),
        calls: AtomicU32::new(0),
    });
    w.set_arch(patch.clone()).unwrap();
    assert_eq!(w.arch().name(), "counting");
    assert_eq!(w.arch().kernel(), Kernel::V6_10);
    let f = w.new_file(1);
    let mut a = process(&w, 0);
    let va = map(&mut a, &f, None, SHARED, 0);
    a.user_store(va, 8, 1).unwrap();
    let mut k = Cpu::new(&w, 2).unwrap();
    shrink_page(&mut k, f.cached_pfn(0).unwrap(), true).unwrap();
    // flush_cache_page and ptep_clear_flush each call __flush_cache_page.
    assert_eq!(patch.calls.load(Ordering::Relaxed), 2);

    let e = w.set_arch(profile(Kernel::V2_6_14)).unwrap_err();
    assert!(e.to_string().contains("the world runs 6.10"), "{e}");
    assert_eq!(w.arch().name(), "counting");
}

/// The cost of one `write()`'s `flush_dcache_page` with each kernel's own
/// strategy, pinned to the kernel texts, for 2, 5 and 8 congruent shared
/// vmas with present ptes (128 lines a page): TLB purges (the machine counts
/// each `pdtlb`, and the tmpalias window's purge when it is loaded), `fdc`s
/// and translation checks.
///
/// - 2.6.14 / 2.6.15: the kernel alias, then the first vma whose pte
///   passes the test, through its user address; no purge.
/// - 3.x: the kernel alias and its `pdtlb`, a `flush_tlb_page` for every vma,
///   one tmpalias flush for the one colour: n + 2 purges.
/// - 6.10: `pdtlb` and a tmpalias flush for the kernel alias, then one
///   `__flush_cache_page` (purge, tmpalias) for the one colour: 4 purges
///   whatever the number of vmas.
#[test]
fn flush_dcache_page_costs_are_the_kernel_texts() {
    use vipt_mm::Kernel;
    for kernel in Kernel::ALL {
        for n in [2u64, 5, 8] {
            let d = WorldConfig::for_kernel(kernel);
            let cfg = WorldConfig {
                hw: HwConfig {
                    frames: 64,
                    cpus: 3,
                    ..d.hw
                },
                ..d
            };
            let s = by_name(kernel.flush_dcache_page()).unwrap();
            let w = World::with(cfg, s, Arc::new(vipt_mm::Native)).unwrap();
            let f = w.new_file(1);
            let mut users: Vec<Cpu> = Vec::new();
            for _ in 0..n {
                let mut c = process(&w, 0);
                let va = map(&mut c, &f, None, SHARED, 0);
                c.user_load(va, 8).unwrap();
                users.push(c);
            }
            let mut k = Cpu::new(&w, 2).unwrap();
            let before = w.read_hw(|m| *m.counters());
            let checks = w
                .stats
                .translation_checks
                .load(std::sync::atomic::Ordering::Relaxed);
            let pfn = f.cached_pfn(0).unwrap();
            vipt_mm::filemap::flush_dcache_page(&mut k, pfn).unwrap();
            let after = w.read_hw(|m| *m.counters());
            let checks = w
                .stats
                .translation_checks
                .load(std::sync::atomic::Ordering::Relaxed)
                - checks;
            let purges = after.tlb_purges - before.tlb_purges;
            let fdc = after.fdc_issued - before.fdc_issued;
            let (want_purges, want_checks) = match kernel {
                Kernel::V2_6_14 | Kernel::V2_6_15 => (0, 1),
                Kernel::V3x => (n + 2, 0),
                Kernel::V6_10 => (4, 0),
            };
            assert_eq!(
                (purges, fdc, checks),
                (want_purges, 256, want_checks),
                "{kernel} {} with {n} vmas",
                kernel.flush_dcache_page()
            );
            // write() runs it once after its copy, and from 3.x once before
            // too (the file has shared writable mappings).
            let before = w.read_hw(|m| m.counters().fdc_issued);
            sys_write(&mut k, &f, 0, 0x5eed).unwrap();
            let per_write = w.read_hw(|m| m.counters().fdc_issued) - before;
            let flushes = if kernel.mm_shape().write_flushes_first {
                2
            } else {
                1
            };
            assert_eq!(per_write, flushes * 256, "{kernel} write() with {n} vmas");
        }
    }
}

/// 2.6.14's munmap holds `page_table_lock` from `tlb_start_vma`'s
/// `flush_cache_range` through the pte clears, `tlb_end_vma`'s purges and
/// the page frees; 2.6.15 on flush the cache unlocked and lock only the pte
/// table around the clears.
#[test]
fn the_zap_locks_as_its_kernel_does() {
    use vipt_mm::sched::OpKind;
    use vipt_mm::{Kernel, LockClass};
    for kernel in [Kernel::V2_6_14, Kernel::V2_6_15] {
        let (w, rec) = recorded_world(kernel);
        let f = w.new_file(1);
        let mut a = process(&w, 0);
        let va = map(&mut a, &f, None, SHARED, 0);
        a.user_store(va, 8, 1).unwrap();
        rec.clear();
        do_munmap(&mut a, va, PAGE_SIZE).unwrap();
        let ops: Vec<_> = rec
            .ops()
            .into_iter()
            .filter(|(c, _)| *c == 0)
            .map(|(_, o)| o)
            .collect();
        let lock = |cl: LockClass| {
            ops.iter()
                .position(|o| matches!(o.kind, OpKind::Lock { class, .. } if class == cl))
        };
        let unlock = |cl: LockClass| {
            ops.iter()
                .rposition(|o| matches!(o.kind, OpKind::Unlock { class } if class == cl))
        };
        let first = |what: &str| ops.iter().position(|o| o.what == what).unwrap();
        let last = |what: &str| ops.iter().rposition(|o| o.what == what).unwrap();
        let flush = first("flush_user_dcache_range");
        let clear = first("ptep_get_and_clear");
        let purge = last("flush_tlb_range");
        let free = last("put_page");
        if kernel == Kernel::V2_6_14 {
            let (l, u) = (
                lock(LockClass::PageTableLock).unwrap(),
                unlock(LockClass::PageTableLock).unwrap(),
            );
            assert!(
                l < flush && flush < clear && clear < purge && purge < free && free < u,
                "{ops:?}"
            );
            assert_eq!(lock(LockClass::PteLock), None);
        } else {
            let (l, u) = (
                lock(LockClass::PteLock).unwrap(),
                unlock(LockClass::PteLock).unwrap(),
            );
            assert!(
                flush < l && l < clear && clear < u && u < purge && purge < free,
                "{ops:?}"
            );
        }
    }
}

/// `zap_pte_range` `pte_clear`s a swap pte (after `free_swap_and_cache`): it
/// never goes through `ptep_get_and_clear`, which would leave a swap pte
/// with `_PAGE_FLUSH` set, the coincidence Hugh's `translation_exists`
/// excluded. And 2.6.14's `clear_user_page` zeroes through tmpalias at the
/// user colour after discarding the kernel alias's lines.
#[test]
fn a_swap_pte_is_cleared_not_flush_marked_and_zeroed_pages_go_through_tmpalias() {
    use vipt_mm::Kernel;
    let (w, rec) = recorded_world(Kernel::V2_6_14);
    let mut a = process(&w, 0);
    let va = do_mmap(
        &mut a,
        None,
        0,
        PAGE_SIZE,
        RW,
        MapFlags::MAP_PRIVATE | MapFlags::MAP_ANONYMOUS,
        0,
    )
    .unwrap();
    rec.clear();
    a.user_store(va, 8, 7).unwrap();
    let zeroing = rec.functions(0);
    in_order(
        &zeroing,
        &[
            "purge_kernel_dcache_page",
            "clear_user_page_asm",
            "set_pte_at",
        ],
    );
    // 2.6.14 purges no kernel TLB entry there (3.x does).
    assert!(!zeroing.contains(&"pdtlb_kernel"), "{zeroing:?}");
    let mm = a.mm().unwrap().clone();
    let pfn = pte_pfn(mm.pgd.pte_offset(va).unwrap().unwrap().1.load());
    let mut k = Cpu::new(&w, 2).unwrap();
    assert_eq!(shrink_page(&mut k, pfn, true).unwrap(), Reclaim::Freed);
    assert!(matches!(
        classify(mm.pgd.pte_offset(va).unwrap().unwrap().1.load()),
        PteKind::Swap { .. }
    ));
    rec.clear();
    do_munmap(&mut a, va, PAGE_SIZE).unwrap();
    let s = rec.functions(0);
    in_order(&s, &["swap_free", "pte_clear"]);
    assert!(!s.contains(&"ptep_get_and_clear"), "{s:?}");
    w.check_invariants().unwrap();
}

/// `write()` and truncate take the inode's `i_sem`, which lockdep sees
/// (outermost: no inversion with the locks below it); `vmtruncate` without it
/// is a kernel BUG.
#[test]
fn write_and_truncate_hold_i_sem() {
    use vipt_mm::mmap::vmtruncate;
    use vipt_mm::sched::OpKind;
    use vipt_mm::{Kernel, LockClass};
    let (w, rec) = recorded_world(Kernel::V2_6_14);
    let f = w.new_file(2);
    let mut a = process(&w, 0);
    let va = map(&mut a, &f, None, SHARED, 1);
    a.user_load(va, 8).unwrap();
    let mut k = Cpu::new(&w, 2).unwrap();
    rec.clear();
    sys_write(&mut k, &f, 1, 3).unwrap();
    do_truncate(&mut k, &f, 1).unwrap();
    let isem: Vec<_> = rec
        .ops()
        .into_iter()
        .filter(|(c, o)| {
            *c == 2
                && matches!(
                    o.kind,
                    OpKind::Lock {
                        class: LockClass::ISem,
                        ..
                    }
                )
        })
        .map(|(_, o)| o.what)
        .collect();
    assert_eq!(isem, ["generic_file_write", "do_truncate"]);
    assert!(k.inversions().is_empty(), "{:?}", k.inversions());
    let e = vmtruncate(&mut k, &f, 0).unwrap_err();
    assert!(e.to_string().contains("without its i_sem held"), "{e}");
}

/// `swap_lock` is a model lock: `get_swap_page`, `swap_duplicate` (under
/// the pte lock in `try_to_unmap_one`) and `swap_free` take it, and the
/// lock-order checker sees it below the pte lock with no inversion.
#[test]
fn swap_lock_is_taken_and_seen_by_lockdep() {
    use vipt_mm::sched::OpKind;
    use vipt_mm::{Kernel, LockClass};
    let (w, rec) = recorded_world(Kernel::V2_6_14);
    let mut a = process(&w, 0);
    let anon = MapFlags::MAP_PRIVATE | MapFlags::MAP_ANONYMOUS;
    let va = do_mmap(&mut a, None, 0, PAGE_SIZE, RW, anon, 0).unwrap();
    a.user_store(va, 8, 7).unwrap();
    let mm = a.mm().unwrap().clone();
    let pfn = pte_pfn(mm.pgd.pte_offset(va).unwrap().unwrap().1.load());
    let mut k = Cpu::new(&w, 2).unwrap();
    rec.clear();
    assert_eq!(shrink_page(&mut k, pfn, true).unwrap(), Reclaim::Freed);
    let takes: Vec<_> = rec
        .ops()
        .into_iter()
        .filter(|(_, o)| {
            matches!(
                o.kind,
                OpKind::Lock {
                    class: LockClass::SwapLock,
                    ..
                }
            )
        })
        .map(|(_, o)| o.what)
        .collect();
    assert_eq!(
        takes,
        ["get_swap_page", "swap_duplicate", "swap_free"],
        "{takes:?}"
    );
    assert!(k.inversions().is_empty(), "{:?}", k.inversions());
    assert!(w.lockdep.reports().is_empty());
}

/// `exit_mmap`: 2.6.14 does it all under `page_table_lock` — `flush_cache_mm`,
/// the ptes cleared without `tlb_start_vma`'s range flush (the whole mm
/// goes), `tlb_finish_mmu`'s `flush_tlb_mm`, the page frees — and unlinks
/// the vmas after; 2.6.15 flushes the cache unlocked, locks per pte table,
/// and unlinks the vmas before the TLB flush and the frees.
#[test]
fn exit_mmap_flushes_the_mm_then_zaps_the_whole_mm() {
    use vipt_mm::mmap::exit_mmap;
    use vipt_mm::sched::OpKind;
    use vipt_mm::{Kernel, LockClass};
    for kernel in [Kernel::V2_6_14, Kernel::V2_6_15] {
        let (w, rec) = recorded_world(kernel);
        let f = w.new_file(1);
        let mut a = process(&w, 0);
        let va = map(&mut a, &f, None, SHARED, 0);
        a.user_store(va, 8, 1).unwrap();
        rec.clear();
        exit_mmap(&mut a).unwrap();
        let ops: Vec<_> = rec
            .ops()
            .into_iter()
            .filter(|(c, _)| *c == 0)
            .map(|(_, o)| o)
            .collect();
        let pos = |what: &str| ops.iter().position(|o| o.what == what).unwrap();
        let (flush, clear, tlb, free) = (
            pos("flush_cache_mm"),
            pos("ptep_get_and_clear"),
            pos("flush_tlb_mm"),
            pos("put_page"),
        );
        let unlink = ops
            .iter()
            .position(|o| o.what == "vma_prio_tree_remove")
            .unwrap();
        assert!(!ops
            .iter()
            .any(|o| o.what == "flush_user_dcache_range" || o.what == "flush_tlb_range"));
        let lock = ops.iter().position(|o| {
            matches!(
                o.kind,
                OpKind::Lock {
                    class: LockClass::PageTableLock,
                    ..
                }
            )
        });
        if kernel == Kernel::V2_6_14 {
            let l = lock.unwrap();
            let u = ops
                .iter()
                .rposition(|o| {
                    matches!(
                        o.kind,
                        OpKind::Unlock {
                            class: LockClass::PageTableLock
                        }
                    )
                })
                .unwrap();
            assert!(
                l < flush && flush < clear && clear < tlb && tlb < free && free < u && u < unlink,
                "{ops:?}"
            );
        } else {
            assert_eq!(lock, None, "{ops:?}");
            assert!(
                flush < clear && clear < unlink && unlink < tlb && tlb < free,
                "{ops:?}"
            );
        }
        assert!(w.mms().is_empty());
    }
}

#[test]
fn mprotect_write_protects_then_restores_a_shared_mapping() {
    use vipt_mm::mprotect::sys_mprotect;
    let w = world("patched-2005");
    let f = w.new_file(2);
    let mut a = process(&w, 0);
    let va = map(&mut a, &f, None, SHARED, 0);
    a.user_store(va, 8, 5).unwrap();
    let mm = a.mm().unwrap().clone();
    let pte = |va| mm.pgd.pte_offset(va).unwrap().unwrap().1.load();
    assert!(vipt_pte::pte_write(pte(va)));
    sys_mprotect(&mut a, va, PAGE_SIZE, Prot::PROT_READ).unwrap();
    // The pte keeps its page and loses write; a store faults, a load works.
    assert!(!vipt_pte::pte_write(pte(va)) && vipt_pte::pte_present(pte(va)));
    assert!(matches!(a.user_store(va, 8, 6), Err(MmError::Segv { .. })));
    assert_eq!(a.user_load(va, 8).unwrap(), 5);
    sys_mprotect(&mut a, va, PAGE_SIZE, RW).unwrap();
    a.user_store(va, 8, 7).unwrap();
    assert_eq!(a.user_load(va, 8).unwrap(), 7);
    // A hole, or a length past the vma, is refused with nothing changed.
    assert!(sys_mprotect(&mut a, va, 2 * PAGE_SIZE, Prot::PROT_READ).is_err());
    assert!(vipt_pte::pte_write(pte(va)));
    assert_eq!(w.oracle_counts().1, 0);
    w.check_invariants().unwrap();
}

#[test]
fn mremap_moves_a_shared_page_to_another_colour_and_rmap_follows() {
    use vipt_mm::mprotect::sys_mremap;
    let w = world("patched-2005");
    let f = w.new_file(2);
    let mut a = process(&w, 0);
    let va = do_mmap(&mut a, Some(&f), 0, 2 * PAGE_SIZE, RW, SHARED, 0).unwrap();
    a.user_store(va + PAGE_SIZE, 8, 9).unwrap();
    let pfn = f.cached_pfn(1).unwrap();
    // Page 1 alone, to a fixed address one page off its colour.
    let to = va + (64 << 20);
    let got = sys_mremap(&mut a, va + PAGE_SIZE, PAGE_SIZE, Some(to)).unwrap();
    assert_eq!(got, to);
    assert_eq!(a.user_load(to, 8).unwrap(), 9);
    assert!(matches!(
        a.user_load(va + PAGE_SIZE, 8),
        Err(MmError::Segv { .. })
    ));
    let mm = a.mm().unwrap().clone();
    assert_eq!(
        pte_pfn(mm.pgd.pte_offset(to).unwrap().unwrap().1.load()),
        pfn
    );
    let vma = mm.find_vma(to).unwrap();
    assert_eq!((vma.vm_pgoff, vma.vm_end - vma.vm_start), (1, PAGE_SIZE));
    // Page 0 stays where it was; the page is still mapped once.
    assert!(a.user_load(va, 8).is_ok());
    assert_eq!(w.page(pfn).unwrap().mapcount(), 1);
    // rmap finds the page at its new address: kswapd can free it.
    let mut k = Cpu::new(&w, 1).unwrap();
    assert_eq!(shrink_page(&mut k, pfn, true).unwrap(), Reclaim::Freed);
    assert_eq!(a.user_load(to, 8).unwrap(), 9);
    assert_eq!(w.oracle_counts().1, 0);
    w.check_invariants().unwrap();
}
