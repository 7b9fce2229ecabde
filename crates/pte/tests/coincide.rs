//! Question 1 of spec/04: counted by brute force over every 32-bit swap and file
//! entry, checked against the library's enumeration and the closed form.

use proptest::prelude::*;
use vipt_pte::*;

/// Every swap entry of the 32-bit layout (2^29 of them) and every file entry
/// (2^21), each asked of both tests for its own pfn and for another one.
#[test]
fn brute_force_32_matches_closed_form_for_every_pfn() {
    let l = Layout::Bits32;
    let pfns = 1usize << l.pfn_bits();
    let mut swap = vec![0u32; pfns];
    let mut file = vec![0u32; pfns];
    let mut patched = 0u64;
    for ty in 0..32u64 {
        for offset in 0..(1u64 << l.swap_offset_bits()) {
            let Ok(pte) = swp_entry(l, ty, offset) else {
                continue;
            };
            let pfn = pte_pfn(pte);
            swap[pfn as usize] += u32::from(legacy_2005(pte, pfn));
            assert!(!legacy_2005(pte, pfn ^ 1));
            patched += u64::from(patched_2005(pte, pfn));
        }
    }
    for pgoff in 0..(1u64 << l.pte_file_max_bits()) {
        let pte = pgoff_to_pte(l, pgoff).unwrap();
        let pfn = pte_pfn(pte);
        file[pfn as usize] += u32::from(legacy_2005(pte, pfn));
        patched += u64::from(patched_2005(pte, pfn));
    }
    assert_eq!(patched, 0);
    for pfn in 0..pfns {
        let (s, f) = closed_form(l, pfn as u64).unwrap();
        assert_eq!(
            (u64::from(swap[pfn]), u64::from(file[pfn])),
            (s, f),
            "pfn {pfn:#x}"
        );
    }
    // The enumeration the command uses agrees on a spread of pfns.
    for pfn in (0..pfns).step_by(4093).chain([pfns - 1]) {
        let c = coincidences(l, pfn as u64, 0).unwrap();
        assert_eq!(
            (c.swap, c.file),
            (u64::from(swap[pfn]), u64::from(file[pfn]))
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// 64-bit: the enumeration agrees with the closed form anywhere in the pfn range,
    /// and every example it gives really is accepted by legacy and refused by patched.
    #[test]
    fn enumeration_64_matches_closed_form(pfn in any::<u64>()) {
        let l = Layout::Bits64;
        let pfn = pfn >> (64 - l.pfn_bits());
        let c = coincidences(l, pfn, 4).unwrap();
        prop_assert_eq!((c.swap, c.file), closed_form(l, pfn).unwrap());
        prop_assert_eq!(c.patched_2005, 0);
        for pte in c.swap_examples.iter().chain(&c.file_examples) {
            prop_assert!(legacy_2005(*pte, pfn) && !patched_2005(*pte, pfn));
            prop_assert!(l.pte(pte.raw()).is_ok());
        }
    }
}
