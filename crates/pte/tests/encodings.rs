//! Round-trips of every encoding: exhaustive where the value set is at most 2^24
//! (or cheap enough to walk, like the 2^29 swap entries of the 32-bit layout),
//! property tests beyond.

use proptest::prelude::*;
use vipt_pte::*;

#[test]
fn swap_entries_round_trip_exhaustively_32() {
    let l = Layout::Bits32;
    let mut seen = 0u64;
    for ty in 0..32u64 {
        for offset in 0..(1u64 << l.swap_offset_bits()) {
            let Ok(pte) = swp_entry(l, ty, offset) else {
                assert_eq!((ty, offset), (0, 0));
                continue;
            };
            assert!(l.pte(pte.raw()).is_ok());
            assert_eq!((swp_type(pte), swp_offset(pte)), (ty, offset));
            let flags = pte.raw() & 0x620;
            assert_eq!(flags, 0, "swap pte {pte:?} has FILE, PRESENT or FLUSH");
            seen += 1;
        }
    }
    assert_eq!(seen, (32 << 24) - 1);
}

#[test]
fn file_entries_round_trip_exhaustively_32() {
    let l = Layout::Bits32;
    for pgoff in 0..(1u64 << l.pte_file_max_bits()) {
        let pte = pgoff_to_pte(l, pgoff).unwrap();
        assert!(l.pte(pte.raw()).is_ok());
        assert_eq!(pte_to_pgoff(pte), pgoff);
        assert_eq!(classify(pte), PteKind::File { pgoff });
        assert!(!pte_none(pte) && !pte_present(pte) && pte_file(pte));
    }
    assert!(pgoff_to_pte(l, 1 << 21).is_err());
}

#[test]
fn pfn_pte_round_trips_exhaustively_32() {
    let l = Layout::Bits32;
    let prots = [
        PteFlags::PAGE_SHARED,
        PteFlags::PAGE_NONE,
        PteFlags::KERNEL,
        PteFlags::empty(),
    ];
    for pfn in 0..(1u64 << l.pfn_bits()) {
        let prot = prots[(pfn % 4) as usize];
        let pte = pfn_pte(l, pfn, prot).unwrap();
        assert_eq!(pte_pfn(pte), pfn);
        assert_eq!(pte.flags(), prot);
    }
    // Every flag combination with the largest pfn.
    for bits in 0..0x1000u64 {
        let prot = pgprot(bits).unwrap();
        let pte = pfn_pte(l, 0xfffff, prot).unwrap();
        assert_eq!((pte_pfn(pte), pte.flags().bits()), (0xfffff, bits));
    }
}

/// Every 32-bit value with the low 24 bits walked exhaustively (pfn bits 12..24
/// and all flags), and classification is consistent with the accessors.
#[test]
fn classify_is_consistent_on_low_values() {
    for raw in 0..(1u64 << 24) {
        check_classify(Pte::from_raw(raw), Layout::Bits32);
    }
}

fn check_classify(pte: Pte, layout: Layout) {
    match classify(pte) {
        PteKind::None => assert_eq!(pte.raw(), 0),
        PteKind::Present { pfn, flags } => {
            assert!(pte_present(pte));
            assert_eq!(pfn, pte_pfn(pte));
            assert_eq!(flags.bits(), pte.raw() & 0xfff);
        }
        PteKind::FlushOnly { pfn, .. } => {
            assert!(!pte_present(pte) && pte_none(pte));
            assert_eq!(pfn, pte_pfn(pte));
        }
        PteKind::Swap { ty, offset } => {
            assert!(!pte_none(pte) && !pte_present(pte) && !pte_file(pte));
            assert_eq!(swp_entry(layout, ty, offset), Ok(pte));
        }
        PteKind::File { pgoff } => {
            assert!(pte_file(pte) && !pte_present(pte) && !pte_none(pte));
            assert_eq!(pgoff, pte_to_pgoff(pte));
        }
    }
}

fn layout() -> impl Strategy<Value = Layout> {
    prop_oneof![Just(Layout::Bits32), Just(Layout::Bits64)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    #[test]
    fn swap_round_trip(l in layout(), ty in 0u64..32, off in any::<u64>()) {
        let off = off >> (64 - l.swap_offset_bits());
        prop_assume!(ty != 0 || off != 0);
        let pte = swp_entry(l, ty, off).unwrap();
        prop_assert!(l.pte(pte.raw()).is_ok());
        prop_assert_eq!(classify(pte), PteKind::Swap { ty, offset: off });
    }

    #[test]
    fn swap_rejects_what_does_not_fit(l in layout(), ty in 32u64.., off in any::<u64>()) {
        prop_assert_eq!(swp_entry(l, ty, 1), Err(PteError::SwapTypeTooLarge(ty)));
        let wide = off | (1 << l.swap_offset_bits());
        let too_large = matches!(swp_entry(l, 1, wide), Err(PteError::SwapOffsetTooLarge { .. }));
        prop_assert!(too_large);
    }

    #[test]
    fn file_round_trip(l in layout(), pgoff in any::<u64>()) {
        let fits = pgoff >> (64 - l.pte_file_max_bits());
        let pte = pgoff_to_pte(l, fits).unwrap();
        prop_assert_eq!(classify(pte), PteKind::File { pgoff: fits });
        prop_assert!(l.pte(pte.raw()).is_ok());
        if pgoff >> l.pte_file_max_bits() != 0 {
            prop_assert!(pgoff_to_pte(l, pgoff).is_err());
        }
    }

    #[test]
    fn pfn_round_trip(l in layout(), pfn in any::<u64>(), prot in 0u64..0x1000) {
        let fits = pfn >> (64 - l.pfn_bits());
        let pte = pfn_pte(l, fits, pgprot(prot).unwrap()).unwrap();
        prop_assert_eq!(pte_pfn(pte), fits);
        prop_assert_eq!(pte.raw() & 0xfff, prot);
        prop_assert!(l.pte(pte.raw()).is_ok());
        if pfn >> l.pfn_bits() != 0 {
            prop_assert!(pfn_pte(l, pfn, PteFlags::empty()).is_err());
        }
    }

    #[test]
    fn classify_any_64(raw in any::<u64>()) {
        check_classify(Pte::from_raw(raw), Layout::Bits64);
    }

    #[test]
    fn patched_never_accepts_swap_or_file(raw in any::<u64>(), pfn in any::<u64>()) {
        let pte = Pte::from_raw(raw);
        if matches!(classify(pte), PteKind::Swap { .. } | PteKind::File { .. } | PteKind::None) {
            prop_assert!(!patched_2005(pte, pfn));
            prop_assert!(!patched_2005(pte, pte_pfn(pte)));
        }
        // Legacy accepts exactly the non-zero ptes of the right pfn.
        prop_assert_eq!(legacy_2005(pte, pte_pfn(pte)), raw != 0);
        prop_assert!(!legacy_2005(pte, pte_pfn(pte) ^ (1 + (pfn & 0xff))));
    }
}
