//! The machine's side of the footprint audit: each data-cache or memory
//! access, and each TLB insertion that pushes out another entry, is told to
//! this thread's auditor if one is installed ([`set_hw_audit`]), so an
//! explorer can check that the step performing it announced a footprint
//! covering it.
//!
//! Lines are named by *line group* ([`Shape::line_group`]): the cache sets
//! whose index agrees in the low `log2(groups)` bits, together with the
//! physical lines that can be cached in them. A fill, an eviction's
//! write-back and a refill at another colour all stay inside one group, so
//! accesses in different groups commute. The per-frame state of the oracle
//! (the frame's life, its born contents, its last coherence point) is read
//! by every access to a line of the frame and is written only by operations
//! that touch every group ([`HwAccess::AllLines`]).

use std::cell::Cell;

use crate::geometry::Shape;

/// What a machine operation touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HwAccess {
    /// One line group of the data cache and memory.
    Line(u32),
    /// Every line group, the instruction cache and the oracle's per-frame
    /// state.
    AllLines,
    /// A CPU's TLB beyond the entry of the page it was asked about (an
    /// insertion that evicts another entry).
    Tlb(usize),
}

/// A machine auditor: told of each access (what, whether it may change it).
pub type HwAudit = fn(HwAccess, bool);

thread_local! {
    static AUDIT: Cell<Option<HwAudit>> = const { Cell::new(None) };
}

/// Installs `f` as this thread's machine auditor, or removes it (`None`);
/// returns the one it replaces.
pub fn set_hw_audit(f: Option<HwAudit>) -> Option<HwAudit> {
    AUDIT.with(|a| a.replace(f))
}

/// Tells the auditor, if any.
#[inline]
pub(crate) fn audit(a: HwAccess, write: bool) {
    if let Some(f) = AUDIT.with(Cell::get) {
        f(a, write);
    }
}

impl Shape {
    /// How many line groups the data cache has: `min(lines per page, sets)`.
    /// A physical line can be cached only in sets of its own group (the set
    /// index's low bits are its offset in the page), and a set only holds
    /// lines of its group.
    pub fn line_groups(&self) -> u32 {
        (self.lines_per_page() as usize).min(self.sets) as u32
    }

    /// The line group of a virtual or physical address (they agree: both
    /// keep the offset in the page).
    #[inline]
    pub fn line_group(&self, addr: u64) -> u32 {
        ((addr >> self.line_shift) & u64::from(self.line_groups() - 1)) as u32
    }

    /// The line group of set `set`.
    #[inline]
    pub(crate) fn set_group(&self, set: usize) -> u32 {
        (set as u32) & (self.line_groups() - 1)
    }
}
