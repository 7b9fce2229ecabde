//! # vipt-pte: the Linux 2.6.14 PA-RISC pte
//!
//! Models `include/asm-parisc/pgtable.h` of 2.6.14, from the facts in the project's
//! `spec/01-pte.md`: the flag bits (PA-RISC big-endian bit numbering), the 32-bit
//! (2-level) and 64-bit (3-level) page-table layouts, swap and nonlinear-file ptes,
//! the two `translation_exists` tests around the October 2005 seed patch, and the
//! SMP pte operations around `pa_dbit_lock`.
//!
//! Invariant kept throughout: a value this crate *builds* always fits the layout it
//! was built for (a [`PteError`] otherwise); a value it *reads* is read exactly as
//! the kernel reads it, whatever its bits.
//!
//! ```
//! use vipt_pte::{classify, legacy_2005, patched_2005, swp_entry, Layout, PteKind};
//!
//! // A swap entry whose offset happens to carry the target pfn in its high bits...
//! let pte = swp_entry(Layout::Bits32, 1, 0x4560).unwrap();
//! assert_eq!(classify(pte), PteKind::Swap { ty: 1, offset: 0x4560 });
//! // ...is a translation of pfn 0x456 to the pre-patch test, and not to Hugh's.
//! assert!(legacy_2005(pte, 0x456));
//! assert!(!patched_2005(pte, 0x456));
//! ```

mod atomic;
mod coincide;
mod error;
pub mod flags;
pub mod layout;
mod pte;
mod translation;

pub use atomic::{AtomicPte, DbitLock, DirtyFault, PaDbitLock, TrapLocking};
pub use coincide::{closed_form, coincidences, Coincidences};
pub use error::PteError;
pub use flags::{flag_names, PteFlags};
pub use layout::{Layout, PxdEntry, PAGE_OFFSET, PAGE_SHIFT, PAGE_SIZE};
pub use pte::*;
pub use translation::{legacy_2005, legacy_2005_reads, patched_2005, TranslationTest};
