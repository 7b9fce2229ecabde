//! The coherence oracle: the ground truth of every physical byte (the latest data
//! written to it, by anyone, through any alias) beside what the cache and memory
//! actually hold, and the reports of where they part.
//!
//! A VIPT cache is *expected* to be stale until the kernel flushes: a user alias
//! that still holds old data after `write()` wrote the page through the kernel alias
//! is how the hardware works, not a bug. So the caller declares coherence points
//! ("`flush_dcache_page(pfn)` has completed"); a stale read is a **violation** only
//! if it returns data other than the latest write although a coherence point for
//! that page came after the latest write to that line. Every stale read is
//! reported and counted; only violations say the kernel's flush logic failed.
//!
//! Granularity: the latest write is remembered per cache line, so a store to any
//! byte of a line after the coherence point suspends violations on that whole line
//! until the next point (conservative: it can miss a violation, never invent one).

use std::fmt;

use vipt_pte::PAGE_SHIFT;

use crate::mem::{read_be, PhysMem};
use crate::tracked::Tracked;
use crate::translate::{Agent, Who};

/// What an oracle report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    /// A load returned data other than the latest write.
    StaleRead {
        /// The latest data written to those bytes.
        expected: u64,
        /// What the load returned.
        got: u64,
        /// Access size in bytes.
        size: u32,
        /// It contradicts a declared coherence point.
        violation: bool,
        /// An instruction fetch rather than a data load.
        ifetch: bool,
    },
    /// Two valid copies of one physical line at non-equivalent virtual colours hold
    /// different data.
    DivergentCopies {
        /// The other copy's colour.
        other_colour: u64,
        /// The other copy's set.
        other_set: usize,
        /// The other copy's way.
        other_way: usize,
    },
}

/// One finding, with where, who, when and which copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// What was found.
    pub kind: ReportKind,
    /// The machine step at which it happened.
    pub step: u64,
    /// The CPU and agent whose access (or check) found it.
    pub who: Who,
    /// Physical address.
    pub pa: u64,
    /// Virtual address (for copies: the offset within the alias boundary).
    pub va: u64,
    /// Cache set of the copy read (or the first copy).
    pub set: usize,
    /// Way of that copy, or `None` if the data came from memory on a fill.
    pub way: Option<usize>,
    /// Colour of that copy.
    pub colour: u64,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let agent = match self.who.agent {
            Agent::User => "user",
            Agent::Kernel => "kernel",
        };
        write!(f, "step {}: CPU{} {agent} ", self.step, self.who.cpu)?;
        match self.kind {
            ReportKind::StaleRead {
                expected,
                got,
                size,
                violation,
                ifetch,
            } => write!(
                f,
                "{} of {size} bytes at va {:#x} (pa {:#x}, set {}, colour {}) returned {got:#x}, latest write {expected:#x}{}",
                if ifetch { "ifetch" } else { "load" },
                self.va,
                self.pa,
                self.set,
                self.colour,
                if violation { " — VIOLATES a coherence point" } else { "" }
            ),
            ReportKind::DivergentCopies {
                other_colour,
                other_set,
                ..
            } => write!(
                f,
                "pa {:#x} has differing copies at colour {} (set {}) and colour {other_colour} (set {other_set})",
                self.pa, self.colour, self.set
            ),
        }
    }
}

/// Ground truth and findings.
#[derive(Debug, Clone)]
pub struct Oracle {
    pub(crate) truth: PhysMem,
    last_write: Tracked<u64>,
    coherent_since: Tracked<u64>,
    line_shift: u32,
    reports: Vec<Report>,
    limit: usize,
    /// Loads (and fetches) that returned data other than the latest write.
    pub stale_reads: u64,
    /// Stale reads that contradict a declared coherence point.
    pub violations: u64,
    /// Pairs of differing non-equivalent copies found by checks.
    pub divergences: u64,
}

/// How many reports an oracle keeps (all are counted).
pub const REPORT_LIMIT: usize = 256;

impl Oracle {
    pub(crate) fn new(frames: u64, line_shift: u32) -> Oracle {
        let lines = ((frames << PAGE_SHIFT) >> line_shift) as usize;
        Oracle {
            truth: PhysMem::new(frames, line_shift),
            last_write: Tracked::new(lines, 0, 6),
            coherent_since: Tracked::new(frames as usize, 0, 4),
            line_shift,
            reports: Vec::new(),
            limit: REPORT_LIMIT,
            stale_reads: 0,
            violations: 0,
            divergences: 0,
        }
    }

    /// The latest data written to `size` bytes at `pa`.
    #[inline]
    pub fn truth(&self, pa: u64, size: u32) -> u64 {
        read_be(self.truth.raw(pa, size as usize))
    }

    /// The reports kept, oldest first (at most [`REPORT_LIMIT`]).
    pub fn reports(&self) -> &[Report] {
        &self.reports
    }

    /// The first report that is a violation.
    pub fn first_violation(&self) -> Option<&Report> {
        self.reports.iter().find(|r| {
            matches!(
                r.kind,
                ReportKind::StaleRead {
                    violation: true,
                    ..
                }
            )
        })
    }

    /// The step of the last coherence point declared for `pfn` (0: none).
    pub fn coherent_since(&self, pfn: u64) -> u64 {
        self.coherent_since.get(pfn as usize)
    }

    #[inline]
    pub(crate) fn record_store(&mut self, pa: u64, bytes: &[u8], step: u64) {
        self.truth.raw_mut(pa, bytes.len()).copy_from_slice(bytes);
        self.last_write.set((pa >> self.line_shift) as usize, step);
    }

    pub(crate) fn record_point(&mut self, pfn: u64, step: u64) {
        self.coherent_since.set(pfn as usize, step);
    }

    /// Checks a load's result; returns whether it was a violation. `place` gives
    /// the copy's (set, way, colour) and is called only for a stale load.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub(crate) fn check_load(
        &mut self,
        step: u64,
        who: Who,
        va: u64,
        pa: u64,
        size: u32,
        got: u64,
        place: impl FnOnce() -> (usize, Option<usize>, u64),
        ifetch: bool,
    ) -> bool {
        let expected = self.truth(pa, size);
        if expected == got {
            return false;
        }
        self.stale(step, who, va, pa, size, (expected, got), place(), ifetch)
    }

    #[allow(clippy::too_many_arguments)]
    #[cold]
    fn stale(
        &mut self,
        step: u64,
        who: Who,
        va: u64,
        pa: u64,
        size: u32,
        (expected, got): (u64, u64),
        place: (usize, Option<usize>, u64),
        ifetch: bool,
    ) -> bool {
        self.stale_reads += 1;
        let since = self.coherent_since.get((pa >> PAGE_SHIFT) as usize);
        let violation = since > self.last_write.get((pa >> self.line_shift) as usize);
        self.violations += u64::from(violation);
        self.push(Report {
            kind: ReportKind::StaleRead {
                expected,
                got,
                size,
                violation,
                ifetch,
            },
            step,
            who,
            pa,
            va,
            set: place.0,
            way: place.1,
            colour: place.2,
        });
        violation
    }

    pub(crate) fn push(&mut self, r: Report) {
        if self.reports.len() < self.limit {
            self.reports.push(r);
        }
    }

    pub(crate) fn checkpoint(&mut self) {
        self.truth.checkpoint();
        self.last_write.checkpoint();
        self.coherent_since.checkpoint();
    }

    pub(crate) fn rollback(&mut self, reports: usize, counts: (u64, u64, u64)) {
        self.truth.rollback();
        self.last_write.rollback();
        self.coherent_since.rollback();
        self.reports.truncate(reports);
        (self.stale_reads, self.violations, self.divergences) = counts;
    }

    pub(crate) fn counts(&self) -> (u64, u64, u64) {
        (self.stale_reads, self.violations, self.divergences)
    }
}
