//! Errors for values that do not fit a layout's encoding.

use std::fmt;

/// Why a value cannot be encoded in (or accepted by) a pte layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PteError {
    /// The layout name is not 32 or 64.
    BadLayout(u64),
    /// A pte value does not fit the layout's `unsigned long`.
    ValueTooWide {
        /// The value.
        value: u64,
        /// The layout's `BITS_PER_LONG`.
        bits: u32,
    },
    /// A page-frame number does not fit beside the flag bits.
    PfnTooLarge {
        /// The pfn.
        pfn: u64,
        /// How many pfn bits the layout has.
        bits: u32,
    },
    /// A protection has bits outside the 12 flag bits.
    ProtNotFlags(u64),
    /// A swap type at or above `MAX_SWAPFILES` (32).
    SwapTypeTooLarge(u64),
    /// A swap offset wider than the layout's swap pte holds.
    SwapOffsetTooLarge {
        /// The offset.
        offset: u64,
        /// How many offset bits the layout has.
        bits: u32,
    },
    /// Swap entry (0, 0) encodes as the zero pte, which is `pte_none`.
    SwapEntryIsNone,
    /// A file page offset wider than `PTE_FILE_MAX_BITS`.
    PgoffTooLarge {
        /// The page offset.
        pgoff: u64,
        /// `PTE_FILE_MAX_BITS` of the layout.
        bits: u32,
    },
    /// A virtual address beyond the layout's address bits.
    AddressTooLarge {
        /// The address.
        addr: u64,
        /// The layout's user address bits.
        bits: u32,
    },
    /// A page-table page address that a directory entry cannot hold.
    BadTableAddress(u64),
}

impl fmt::Display for PteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            PteError::BadLayout(l) => write!(f, "layout must be 32 or 64, not {l}"),
            PteError::ValueTooWide { value, bits } => {
                write!(f, "pte value {value:#x} does not fit a {bits}-bit pte")
            }
            PteError::PfnTooLarge { pfn, bits } => {
                write!(f, "pfn {pfn:#x} does not fit in {bits} bits")
            }
            PteError::ProtNotFlags(p) => {
                write!(f, "protection {p:#x} has bits outside the flag mask 0xfff")
            }
            PteError::SwapTypeTooLarge(t) => {
                write!(f, "swap type {t} is not below MAX_SWAPFILES (32)")
            }
            PteError::SwapOffsetTooLarge { offset, bits } => {
                write!(f, "swap offset {offset:#x} does not fit in {bits} bits")
            }
            PteError::SwapEntryIsNone => {
                write!(f, "swap entry (type 0, offset 0) encodes as the none pte")
            }
            PteError::PgoffTooLarge { pgoff, bits } => {
                write!(
                    f,
                    "file pgoff {pgoff:#x} does not fit PTE_FILE_MAX_BITS = {bits}"
                )
            }
            PteError::AddressTooLarge { addr, bits } => {
                write!(
                    f,
                    "address {addr:#x} is beyond the layout's {bits} address bits"
                )
            }
            PteError::BadTableAddress(pa) => write!(
                f,
                "page-table address {pa:#x} is not page aligned or too high for a directory entry"
            ),
        }
    }
}

impl std::error::Error for PteError {}
