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
//!
//! ## The lives of a frame
//!
//! A frame the allocator hands out again starts a new **life** ([`Owner`] says
//! whose: a page-cache page read from disk, a zeroed or copied anonymous page, a
//! swap-in). Cache lines are not dropped when a frame is freed, because the
//! hardware does not drop them: each line remembers the life it was filled in.
//! Three reports are about lives, and each is a violation whatever the coherence
//! points say, because the kernel owes every new owner a page with nothing of
//! the old one in it:
//!
//! - [`ReportKind::EarlierLife`]: a load hit a line filled in an earlier life
//!   and returned data other than the current life's;
//! - [`ReportKind::EarlierWriteBack`]: a dirty line of an earlier life was
//!   written back over the current life's data;
//! - [`ReportKind::LostWrite`]: a page left memory (freed after pageout's
//!   `writepage`) and the copy the device had read lacked data the CPUs had
//!   stored: that data is lost.
//!
//! A load from an earlier life's line is judged as an ordinary stale read when
//! the data it returns equals what DMA began the current life with (the same
//! file page read back: nothing tells the two lives apart, and reading the
//! new life's pre-`write()` data before the coherence point is legitimate).
//!
//! A load that by the kernel's contract must see the latest data (the source of
//! a COW copy) is checked the same way: stale is a violation
//! ([`ReportKind::StaleRead`] with `required`).

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
        /// A kernel load that must see the latest data (a COW copy's source):
        /// stale is a violation whatever the coherence points say.
        required: bool,
    },
    /// A load hit a line filled in an earlier life of the frame and returned
    /// data other than the current life's (always a violation).
    EarlierLife {
        /// The current life's data.
        expected: u64,
        /// What the load returned.
        got: u64,
        /// Access size in bytes.
        size: u32,
        /// The life the line was filled in.
        line_life: u32,
        /// The frame's current life.
        life: u32,
    },
    /// A dirty line filled in an earlier life was written back (evicted or
    /// flushed) over the current life's data (always a violation). `way` is
    /// the slot it left.
    EarlierWriteBack {
        /// The first 8 bytes of the current life's data at the line.
        expected: u64,
        /// The first 8 bytes written back.
        got: u64,
        /// The life the line was filled in.
        line_life: u32,
        /// The frame's current life.
        life: u32,
    },
    /// A page was freed with pageout's copy as its last, and that copy lacks
    /// data the CPUs had stored (always a violation): the first 8 bytes that
    /// differ.
    LostWrite {
        /// What the CPUs stored last.
        expected: u64,
        /// What memory, and so the device, had.
        got: u64,
        /// The frame's current life.
        life: u32,
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

impl Report {
    /// Whether the report says the kernel's flush logic failed (a stale read
    /// against a coherence point or a required read, or any of the life
    /// kinds), not just that an alias was stale as VIPT caches are.
    pub fn is_violation(&self) -> bool {
        match self.kind {
            ReportKind::StaleRead { violation, .. } => violation,
            ReportKind::DivergentCopies { .. } => false,
            ReportKind::EarlierLife { .. }
            | ReportKind::EarlierWriteBack { .. }
            | ReportKind::LostWrite { .. } => true,
        }
    }

    /// The frame the report is about.
    pub fn pfn(&self) -> u64 {
        self.pa >> PAGE_SHIFT
    }
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
                required,
            } => write!(
                f,
                "{} of {size} bytes at va {:#x} (pa {:#x}, set {}, colour {}) returned {got:#x}, latest write {expected:#x}{}",
                if ifetch { "ifetch" } else { "load" },
                self.va,
                self.pa,
                self.set,
                self.colour,
                if required {
                    " — VIOLATION: a COW copy's source must be read up to date"
                } else if violation {
                    " — VIOLATES a coherence point"
                } else {
                    ""
                }
            ),
            ReportKind::EarlierLife {
                expected,
                got,
                size,
                line_life,
                life,
            } => write!(
                f,
                "load of {size} bytes at va {:#x} (pa {:#x}, frame {:#x}, set {}, colour {}) returned {got:#x} from a line of life {line_life}; the frame is in life {life}, which holds {expected:#x} — VIOLATION: data of an earlier life",
                self.va,
                self.pa,
                self.pa >> PAGE_SHIFT,
                self.set,
                self.colour,
            ),
            ReportKind::EarlierWriteBack {
                expected,
                got,
                line_life,
                life,
            } => write!(
                f,
                "write-back of a dirty line of life {line_life} (pa {:#x}, frame {:#x}, set {}, colour {}) put {got:#x} over life {life}'s {expected:#x} — VIOLATION: an earlier life's data over the new owner's",
                self.pa,
                self.pa >> PAGE_SHIFT,
                self.set,
                self.colour,
            ),
            ReportKind::LostWrite {
                expected,
                got,
                life,
            } => write!(
                f,
                "frame {:#x} (life {life}) was freed with pageout's copy holding {got:#x} at pa {:#x} where the CPUs stored {expected:#x} ({}) — VIOLATION: data lost",
                self.pa >> PAGE_SHIFT,
                self.pa,
                if self.way.is_some() {
                    format!("a dirty line at colour {} was not written back", self.colour)
                } else {
                    "no cached copy holds it any more".to_string()
                },
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

/// Who a life of a frame belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owner {
    /// The frame's contents when the machine was made.
    Boot,
    /// A page-cache page read from disk (`readpage`): file id and page index.
    PageCache {
        /// The file (`address_space`) id.
        file: u32,
        /// The page index in the file.
        index: u64,
    },
    /// A page read back from swap (`swap_readpage`).
    SwapIn {
        /// The swap slot.
        slot: u64,
    },
    /// An anonymous page zeroed for a user address (`clear_user_page`).
    Zeroed,
    /// An anonymous COW copy of another frame (`copy_user_page`).
    CowCopy {
        /// The frame copied.
        from: u64,
    },
    /// Any other kernel allocation.
    Kernel,
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Owner::Boot => f.write_str("boot contents"),
            Owner::PageCache { file, index } => {
                write!(f, "page cache of file {file}, index {index:#x}")
            }
            Owner::SwapIn { slot } => write!(f, "swap-in of slot {slot:#x}"),
            Owner::Zeroed => f.write_str("anonymous, zeroed"),
            Owner::CowCopy { from } => write!(f, "anonymous, COW copy of frame {from:#x}"),
            Owner::Kernel => f.write_str("kernel"),
        }
    }
}

/// One life of a frame: which, whose, from which step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Life {
    /// The frame.
    pub pfn: u64,
    /// The life's number (0: the boot contents; each allocation adds one).
    pub life: u32,
    /// Whose it is.
    pub owner: Owner,
    /// The machine step at which it began.
    pub step: u64,
}

/// Ground truth and findings.
#[derive(Debug, Clone)]
pub struct Oracle {
    pub(crate) truth: PhysMem,
    last_write: Tracked<u64>,
    coherent_since: Tracked<u64>,
    frame_life: Tracked<u32>,
    /// Each frame's contents as DMA began its current life, where DMA did.
    pub(crate) born: PhysMem,
    born_valid: Tracked<bool>,
    lives: Vec<Life>,
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
            frame_life: Tracked::new(frames as usize, 0, 4),
            born: PhysMem::new(frames, line_shift),
            born_valid: Tracked::new(frames as usize, false, 4),
            lives: Vec::new(),
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
        self.reports.iter().find(|r| r.is_violation())
    }

    /// The current life of frame `pfn` (0 until it is first handed out).
    pub fn life(&self, pfn: u64) -> u32 {
        self.frame_life.get(pfn as usize)
    }

    /// Every life begun since the machine was made (not the boot ones),
    /// oldest first.
    pub fn lives(&self) -> &[Life] {
        &self.lives
    }

    /// Who life `life` of frame `pfn` belonged to.
    pub fn owner(&self, pfn: u64, life: u32) -> Owner {
        self.lives
            .iter()
            .rev()
            .find(|l| l.pfn == pfn && l.life == life)
            .map_or(Owner::Boot, |l| l.owner)
    }

    /// A report with the owners of the lives it names, for people: the
    /// report's own text, then "life N: owner" for each life involved.
    pub fn describe(&self, r: &Report) -> String {
        let pfn = r.pa >> PAGE_SHIFT;
        let lives = match r.kind {
            ReportKind::EarlierLife {
                line_life, life, ..
            }
            | ReportKind::EarlierWriteBack {
                line_life, life, ..
            } => vec![line_life, life],
            ReportKind::LostWrite { life, .. } => vec![life],
            _ => Vec::new(),
        };
        let mut s = r.to_string();
        for l in lives {
            s.push_str(&format!("; life {l}: {}", self.owner(pfn, l)));
        }
        s
    }

    pub(crate) fn begin_life(&mut self, pfn: u64, owner: Owner, step: u64) -> u32 {
        let life = self.frame_life.get(pfn as usize) + 1;
        self.frame_life.set(pfn as usize, life);
        self.born_valid.set(pfn as usize, false);
        self.lives.push(Life {
            pfn,
            life,
            owner,
            step,
        });
        life
    }

    /// DMA gave frame `pfn` its current life's first contents (`data`).
    pub(crate) fn record_born(&mut self, pfn: u64, data: &[u8]) -> Result<(), crate::CacheError> {
        self.born.write_bytes(pfn << PAGE_SHIFT, data)?;
        self.born_valid.set(pfn as usize, true);
        Ok(())
    }

    /// A violation of one of the life kinds (or a required read): counted as a
    /// stale read where it is one, and as a violation.
    pub(crate) fn violation(&mut self, r: Report) {
        if matches!(r.kind, ReportKind::EarlierLife { .. }) {
            self.stale_reads += 1;
        }
        self.violations += 1;
        self.push(r);
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
    /// the copy's (set, way, colour, the life its line was filled in) and is
    /// called only for a stale load; `required` makes any stale result a
    /// violation (see [`ReportKind::StaleRead`]).
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
        place: impl FnOnce() -> (usize, Option<usize>, u64, u32),
        (ifetch, required): (bool, bool),
    ) -> bool {
        let expected = self.truth(pa, size);
        if expected == got {
            return false;
        }
        let (set, way, colour, line_life) = place();
        let pfn = (pa >> PAGE_SHIFT) as usize;
        let life = self.frame_life.get(pfn);
        // Data of an earlier life, unless it equals what DMA began this life
        // with (then it is indistinguishable from this life's own old data,
        // and judged as any stale read).
        let as_born = self.born_valid.get(pfn) && read_be(self.born.raw(pa, size as usize)) == got;
        if line_life < life && !as_born {
            self.violation(Report {
                kind: ReportKind::EarlierLife {
                    expected,
                    got,
                    size,
                    line_life,
                    life,
                },
                step,
                who,
                pa,
                va,
                set,
                way,
                colour,
            });
            return true;
        }
        self.stale(
            step,
            who,
            va,
            pa,
            size,
            (expected, got),
            (set, way, colour),
            (ifetch, required),
        )
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
        (ifetch, required): (bool, bool),
    ) -> bool {
        self.stale_reads += 1;
        let since = self.coherent_since.get((pa >> PAGE_SHIFT) as usize);
        let violation = required || since > self.last_write.get((pa >> self.line_shift) as usize);
        self.violations += u64::from(violation);
        self.push(Report {
            kind: ReportKind::StaleRead {
                expected,
                got,
                size,
                violation,
                ifetch,
                required,
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
        self.frame_life.checkpoint();
        self.born.checkpoint();
        self.born_valid.checkpoint();
    }

    pub(crate) fn rollback(&mut self, (reports, lives): (usize, usize), counts: (u64, u64, u64)) {
        self.truth.rollback();
        self.last_write.rollback();
        self.coherent_since.rollback();
        self.frame_life.rollback();
        self.born.rollback();
        self.born_valid.rollback();
        self.lives.truncate(lives);
        self.reports.truncate(reports);
        (self.stale_reads, self.violations, self.divergences) = counts;
    }

    pub(crate) fn counts(&self) -> (u64, u64, u64) {
        (self.stale_reads, self.violations, self.divergences)
    }
}
