//! The scheduling hook: every model operation a kernel path performs is first
//! announced here, with what it touches, so an explorer can decide which CPU
//! runs next. Native mode ([`Native`]) does nothing and lets real threads race.
//!
//! The rule that keeps one body of kernel code valid in both modes: no Rust
//! lock that guards model data is ever held across [`Sched::point`]. Inner
//! locks are taken and dropped inside one step; only the model locks
//! ([`crate::lock::KLock`]) are held across steps, and the hook sees them.

use std::cell::Cell;
use std::fmt;

use crate::lock::{LockClass, LockId};

/// What an operation touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Object {
    /// Nothing shared.
    None,
    /// A pte cell: the mm's space id and the page-aligned user address.
    Pte {
        /// The mm's space id.
        space: u32,
        /// The page's user address.
        va: u64,
    },
    /// A model lock.
    Lock(LockId),
    /// Every line group of the data cache and physical memory at once, with
    /// the instruction cache and the oracle's per-frame state (the frame's
    /// life, its coherence point): what a whole-page or whole-cache operation
    /// touches. Conflicts with every [`Object::Line`] access one side writes.
    Memory,
    /// One line group of the data cache and memory
    /// (`vipt_cache::Shape::line_group`): the sets whose index agrees in its
    /// low bits and the physical lines that can live in them. A fill, the
    /// write-back of the line it evicts and a refill at another colour all
    /// stay inside one group, so accesses to different groups commute. An
    /// access to a line also reads its frame's per-frame oracle state, which
    /// only [`Object::Memory`] writers change.
    Line(u32),
    /// One CPU's TLB beyond single pages' entries (the tmpalias window, an
    /// eviction); `usize::MAX` names every CPU's (a broadcast).
    Tlb(usize),
    /// A `struct page` (flags, mapcount, mapping) by pfn.
    Page(u64),
    /// An address space's `i_mmap` index and page cache, by mapping id.
    Mapping(u32),
    /// An mm's vma list, by space id.
    Vmas(u32),
    /// Every translation at once: every pte cell and every CPU's TLB (what a
    /// speculative move-in burst reads). Conflicts with any [`Object::Pte`]
    /// or [`Object::Tlb`] access one side writes.
    Translations,
    /// The frame allocator's free list (which frame `alloc_page` returns
    /// next). Only the audit names it: no step announces it, and the
    /// struct page of the frame taken or given back is its own
    /// [`Object::Page`].
    Allocator,
}

impl Object {
    /// Whether an access to `self` and one to `other` touch the same thing.
    fn overlaps(self, other: Object) -> bool {
        use Object::{Line, Memory, Pte, Tlb, Translations};
        self == other
            || matches!(
                (self, other),
                (Translations, Pte { .. } | Tlb(_))
                    | (Pte { .. } | Tlb(_), Translations)
                    | (Memory, Line(_))
                    | (Line(_), Memory)
                    | (Tlb(usize::MAX), Tlb(_))
                    | (Tlb(_), Tlb(usize::MAX))
            )
    }
}

/// One object with the kind of access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Footprint {
    /// The object.
    pub obj: Object,
    /// Whether the operation may change it.
    pub write: bool,
}

impl Footprint {
    /// Reads `obj`.
    pub const fn read(obj: Object) -> Footprint {
        Footprint { obj, write: false }
    }
    /// Writes `obj`.
    pub const fn write(obj: Object) -> Footprint {
        Footprint { obj, write: true }
    }
    /// Touches nothing.
    pub const NONE: Footprint = Footprint {
        obj: Object::None,
        write: false,
    };

    /// Whether this footprint allows an access to `obj` (a write only if it
    /// writes): the same object, or every translation for a pte or a TLB.
    pub fn covers(&self, obj: Object, write: bool) -> bool {
        let same = self.obj == obj
            || matches!(
                (self.obj, obj),
                (Object::Translations, Object::Pte { .. } | Object::Tlb(_))
                    | (Object::Memory, Object::Line(_))
                    | (Object::Tlb(usize::MAX), Object::Tlb(_))
            );
        same && (self.write || !write)
    }

    /// Whether two footprints conflict (same object, at least one writes).
    pub fn conflicts(&self, other: &Footprint) -> bool {
        self.obj != Object::None && self.obj.overlaps(other.obj) && (self.write || other.write)
    }
}

/// The kinds of model operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpKind {
    /// Read a pte.
    PteRead,
    /// Write a pte (`set_pte_at`, `pte_clear`, `ptep_get_and_clear`, …).
    PteWrite,
    /// Acquire a model lock (shared if a read lock).
    Lock {
        /// The lock's class.
        class: LockClass,
        /// A read (shared) acquisition.
        shared: bool,
    },
    /// Release a model lock.
    Unlock {
        /// The lock's class.
        class: LockClass,
    },
    /// A user load through the CPU's mm.
    UserLoad,
    /// A user store.
    UserStore,
    /// A kernel load or store through the direct map.
    KernelAccess,
    /// One `fdc` (user, kernel or tmpalias address).
    Fdc,
    /// A whole-cache flush.
    FlushAll,
    /// A TLB purge.
    TlbPurge,
    /// Load the tmpalias window.
    TmpaliasMap,
    /// Read or change `struct page` fields.
    Page,
    /// Read or change an address space's index or page cache, or an mm's vmas.
    Structure,
    /// The oracle's "flush_dcache_page has completed".
    CoherencePoint,
    /// A speculative move-in.
    MoveIn,
}

/// A model operation as the hook sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Op {
    /// What kind.
    pub kind: OpKind,
    /// The kernel function performing it (for timelines).
    pub what: &'static str,
    /// What it touches (up to two objects).
    pub fp: [Footprint; 2],
}

impl Op {
    /// An operation with one footprint.
    pub const fn new(kind: OpKind, what: &'static str, fp: Footprint) -> Op {
        Op {
            kind,
            what,
            fp: [fp, Footprint::NONE],
        }
    }

    /// An operation with two footprints.
    pub const fn two(kind: OpKind, what: &'static str, a: Footprint, b: Footprint) -> Op {
        Op {
            kind,
            what,
            fp: [a, b],
        }
    }

    /// Whether the two operations conflict (do not commute).
    pub fn conflicts(&self, other: &Op) -> bool {
        self.fp
            .iter()
            .any(|a| other.fp.iter().any(|b| a.conflicts(b)))
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {:?}", self.what, self.kind)?;
        for fp in self.fp.iter().filter(|fp| fp.obj != Object::None) {
            write!(f, " {}{:?}", if fp.write { "w:" } else { "r:" }, fp.obj)?;
        }
        Ok(())
    }
}

/// What to do when a lock acquisition finds the lock taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contended {
    /// Block on the real lock (native mode).
    Block,
    /// Try again: the scheduler ran others and says the lock may be free now.
    Retry,
}

/// The scheduling hook.
pub trait Sched: Send + Sync {
    /// Called by `cpu` before every model operation.
    fn point(&self, cpu: usize, op: &Op);

    /// Called when `cpu`'s acquisition of `lock` found it held.
    fn contended(&self, cpu: usize, lock: LockId) -> Contended;

    /// Called after `cpu` released `lock` (an explorer wakes its waiters).
    fn released(&self, _cpu: usize, _lock: LockId) {}
}

/// Native mode: no scheduling, real blocking.
#[derive(Debug, Clone, Copy, Default)]
pub struct Native;

impl Sched for Native {
    fn point(&self, _: usize, _: &Op) {}

    fn contended(&self, _: usize, _: LockId) -> Contended {
        Contended::Block
    }
}

/// A hook that records every operation (for tests and timelines), natively.
#[derive(Debug, Default)]
pub struct Recorder {
    ops: parking_lot::Mutex<Vec<(usize, Op)>>,
}

impl Recorder {
    /// An empty record.
    pub fn new() -> Self {
        Self::default()
    }

    /// The operations so far, as (cpu, op).
    pub fn ops(&self) -> Vec<(usize, Op)> {
        self.ops.lock().clone()
    }

    /// The kernel functions `cpu` performed, in order, with consecutive
    /// repeats collapsed.
    pub fn functions(&self, cpu: usize) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = Vec::new();
        for (_, op) in self.ops.lock().iter().filter(|(c, _)| *c == cpu) {
            if v.last() != Some(&op.what) {
                v.push(op.what);
            }
        }
        v
    }

    /// Forgets everything recorded.
    pub fn clear(&self) {
        self.ops.lock().clear();
    }
}

impl Sched for Recorder {
    fn point(&self, cpu: usize, op: &Op) {
        self.ops.lock().push((cpu, *op));
    }

    fn contended(&self, _: usize, _: LockId) -> Contended {
        Contended::Block
    }
}

/// A footprint auditor: told of each audited access (object, write).
pub type AccessAudit = fn(Object, bool);

thread_local! {
    /// The footprint auditor of this thread ([`set_access_audit`]).
    static AUDIT: Cell<Option<AccessAudit>> = const { Cell::new(None) };
}

/// Installs `f` as this thread's footprint auditor, or removes it (`None`);
/// returns the one it replaces. The model calls it at each access to shared
/// state it audits (`struct page` fields, an address space's page cache and
/// `i_mmap`, an mm's vmas, the machine's line groups and TLB evictions) with
/// the object and whether the access may change it, so an explorer can check
/// that the running step's announced footprint covers it: partial-order
/// reduction and the state cache both rest on that.
pub fn set_access_audit(f: Option<AccessAudit>) -> Option<AccessAudit> {
    vipt_cache::set_hw_audit(f.map(|_| hw_audit as vipt_cache::HwAudit));
    AUDIT.with(|a| a.replace(f))
}

/// The machine's accesses, as objects.
fn hw_audit(a: vipt_cache::HwAccess, write: bool) {
    use vipt_cache::HwAccess;
    let obj = match a {
        HwAccess::Line(g) => Object::Line(g),
        HwAccess::AllLines => Object::Memory,
        HwAccess::Tlb(cpu) => Object::Tlb(cpu),
    };
    audit(obj, write);
}

/// Tells the auditor, if any, of an access to `obj`.
#[inline]
pub(crate) fn audit(obj: Object, write: bool) {
    if let Some(f) = AUDIT.with(Cell::get) {
        f(obj, write);
    }
}
