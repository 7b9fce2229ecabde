//! A lock-order checker in the spirit of lockdep: it learns "class A is taken
//! before class B" from every acquisition made while holding A, starts with the
//! documented 2.6.14 order already learned, and reports an inversion the first
//! time an acquisition would close a cycle — with both acquisition chains,
//! without needing the deadlock to happen.
//!
//! Classes are `(LockClass, subclass)`: taking two locks of one class nested
//! (fork's two page-table locks) needs a distinct subclass, as
//! `spin_lock_nested` does; otherwise it is reported as possible recursive
//! locking.

use std::collections::VecDeque;

// A fast hash: every world builds its graph (the documented 2.6.14 order)
// anew, and SipHash was a tenth of a scenario's set-up. Nothing iterates
// the maps, so their order does not reach any output.
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::fmt;

use parking_lot::Mutex;

use crate::lock::LockClass;

/// A lock class with its nesting subclass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClassKey {
    /// The class.
    pub class: LockClass,
    /// The nesting subclass (0 normally).
    pub subclass: u8,
}

impl fmt::Display for ClassKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.subclass == 0 {
            write!(f, "{}", self.class)
        } else {
            write!(f, "{}/{}", self.class, self.subclass)
        }
    }
}

/// How an order edge became known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// From the documented lock order (the comment at the top of 2.6.14
    /// `mm/rmap.c`).
    Documented,
    /// Seen at run time.
    Observed {
        /// The CPU.
        cpu: usize,
        /// The kernel function that took the inner lock.
        what: &'static str,
        /// The locks held at that moment, outermost first, then the new one
        /// (instance names).
        chain: Vec<String>,
    },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Documented => write!(f, "documented 2.6.14 order"),
            Origin::Observed { cpu, what, chain } => {
                write!(f, "CPU{cpu} in {what}: {}", chain.join(" -> "))
            }
        }
    }
}

/// An order edge `before -> after` and how it was learned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    /// The outer class.
    pub before: ClassKey,
    /// The inner class.
    pub after: ClassKey,
    /// How it is known.
    pub origin: Origin,
}

/// A reported inversion (or recursive acquisition).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inversion {
    /// The class being acquired.
    pub acquiring: ClassKey,
    /// The held class it conflicts with.
    pub held: ClassKey,
    /// The acquisition that found it: CPU, function, held locks then the new one.
    pub now: Origin,
    /// The established order it contradicts: the path of edges from
    /// `acquiring` to `held` (empty for recursive locking of one class).
    pub before: Vec<Edge>,
}

impl fmt::Display for Inversion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.before.is_empty() {
            writeln!(f, "possible recursive locking of {}", self.acquiring)?;
        } else {
            writeln!(
                f,
                "lock order inversion: {} acquired while holding {}",
                self.acquiring, self.held
            )?;
        }
        writeln!(f, "  this chain:  {}", self.now)?;
        for e in &self.before {
            writeln!(
                f,
                "  established: {} -> {} ({})",
                e.before, e.after, e.origin
            )?;
        }
        Ok(())
    }
}

#[derive(Debug, Default)]
struct Graph {
    edges: HashMap<ClassKey, Vec<(ClassKey, Origin)>>,
    reported: HashSet<(ClassKey, ClassKey)>,
    reports: Vec<Inversion>,
    /// `path`'s queue and parents, kept between searches: every
    /// acquisition under a held lock searches, and the search allocated
    /// (and cloned every visited edge's origin) each time.
    queue: VecDeque<ClassKey>,
    parent: HashMap<ClassKey, (ClassKey, usize)>,
}

impl Graph {
    fn has_edge(&self, a: ClassKey, b: ClassKey) -> bool {
        self.edges
            .get(&a)
            .is_some_and(|v| v.iter().any(|(x, _)| *x == b))
    }

    /// Adds the edge `a → b` unless it is known; `origin` is made only for
    /// a new edge (an observed one copies the chain's lock names).
    fn add(&mut self, a: ClassKey, b: ClassKey, origin: impl FnOnce() -> Origin) {
        if !self.has_edge(a, b) {
            self.edges.entry(a).or_default().push((b, origin()));
        }
    }

    /// A path of edges from `from` to `to`, breadth first (shortest).
    fn path(&mut self, from: ClassKey, to: ClassKey) -> Option<Vec<Edge>> {
        let Graph {
            edges,
            queue,
            parent,
            ..
        } = self;
        queue.clear();
        parent.clear();
        queue.push_back(from);
        // Each class reached, with the class it was reached from and the
        // index of that edge (`from` is its own parent).
        parent.insert(from, (from, usize::MAX));
        while let Some(c) = queue.pop_front() {
            if c == to {
                let mut path = Vec::new();
                let mut at = to;
                while at != from {
                    let (p, i) = parent[&at];
                    path.push(Edge {
                        before: p,
                        after: at,
                        origin: edges[&p][i].1.clone(),
                    });
                    at = p;
                }
                path.reverse();
                return Some(path);
            }
            for (i, (n, _)) in edges.get(&c).into_iter().flatten().enumerate() {
                if !parent.contains_key(n) {
                    parent.insert(*n, (c, i));
                    queue.push_back(*n);
                }
            }
        }
        None
    }
}

/// The checker, shared by every CPU of a world.
#[derive(Debug, Default)]
pub struct LockDep {
    g: Mutex<Graph>,
}

impl LockDep {
    /// A checker that knows nothing yet.
    pub fn empty() -> Self {
        Self::default()
    }

    /// A checker with the documented 2.6.14 order preloaded:
    /// `i_sem → mmap_sem → PG_locked → i_mmap_lock → anon_vma->lock →
    /// page_table_lock / pte lock → swap_lock → tree_lock`, and `pa_dbit_lock`
    /// inside the page-table locks.
    pub fn with_2614_order() -> Self {
        use LockClass::*;
        let d = Self::default();
        let order = [
            ISem,
            MmapSem,
            PgLocked,
            IMmapLock,
            AnonVmaLock,
            PageTableLock,
            SwapLock,
            TreeLock,
        ];
        let k = |class| ClassKey { class, subclass: 0 };
        {
            let mut g = d.g.lock();
            for w in order.windows(2) {
                g.add(k(w[0]), k(w[1]), || Origin::Documented);
            }
            g.add(k(AnonVmaLock), k(PteLock), || Origin::Documented);
            g.add(k(PteLock), k(SwapLock), || Origin::Documented);
            g.add(k(PageTableLock), k(PaDbitLock), || Origin::Documented);
            g.add(k(PteLock), k(PaDbitLock), || Origin::Documented);
        }
        d
    }

    /// Records the acquisition of `new` by `cpu` in `what` while holding `held`
    /// (outermost first, with instance names); returns the inversions found, each
    /// reported once per class pair.
    pub fn acquire(
        &self,
        cpu: usize,
        what: &'static str,
        held: &[(ClassKey, &str)],
        new: (ClassKey, &str),
    ) -> Vec<Inversion> {
        let mut g = self.g.lock();
        let mut found = Vec::new();
        // The names are copied only for an edge or a report, not at every
        // acquisition.
        let now = || {
            let mut chain: Vec<String> = held.iter().map(|(_, n)| n.to_string()).collect();
            chain.push(new.1.to_string());
            Origin::Observed { cpu, what, chain }
        };
        for (h, _) in held {
            if *h == new.0 {
                if g.reported.insert((*h, new.0)) {
                    found.push(Inversion {
                        acquiring: new.0,
                        held: *h,
                        now: now(),
                        before: Vec::new(),
                    });
                }
                continue;
            }
            if let Some(path) = g.path(new.0, *h) {
                if g.reported.insert((*h, new.0)) {
                    found.push(Inversion {
                        acquiring: new.0,
                        held: *h,
                        now: now(),
                        before: path,
                    });
                }
                continue;
            }
            g.add(*h, new.0, now);
        }
        g.reports.extend(found.iter().cloned());
        found
    }

    /// Every inversion reported so far.
    pub fn reports(&self) -> Vec<Inversion> {
        self.g.lock().reports.clone()
    }

    /// Whether the checker knows `before` is taken outside `after` (directly or
    /// through other classes).
    pub fn knows_order(&self, before: ClassKey, after: ClassKey) -> bool {
        self.g.lock().path(before, after).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use LockClass::*;

    fn k(class: LockClass) -> ClassKey {
        ClassKey { class, subclass: 0 }
    }

    #[test]
    fn the_documented_order_is_preloaded_and_transitive() {
        let d = LockDep::with_2614_order();
        assert!(d.knows_order(k(MmapSem), k(TreeLock)));
        assert!(d.knows_order(k(PteLock), k(TreeLock)));
        assert!(!d.knows_order(k(TreeLock), k(PageTableLock)));
    }

    #[test]
    fn an_inversion_is_reported_once_with_both_chains() {
        let d = LockDep::with_2614_order();
        let held = [(k(TreeLock), "mapping 1 tree_lock")];
        let r = d.acquire(0, "flush_dcache_page", &held, (k(PteLock), "mm 2 pte lock"));
        assert_eq!(r.len(), 1);
        let text = r[0].to_string();
        assert!(
            text.contains("mapping 1 tree_lock -> mm 2 pte lock"),
            "{text}"
        );
        assert!(text.contains("documented"), "{text}");
        let again = d.acquire(1, "flush_dcache_page", &held, (k(PteLock), "mm 3 pte lock"));
        assert!(again.is_empty(), "reported once");
        assert_eq!(d.reports().len(), 1);
    }

    #[test]
    fn learned_order_is_used_against_later_acquisitions() {
        let d = LockDep::empty();
        let a = [(k(SwapLock), "swap_lock")];
        assert!(d.acquire(0, "f", &a, (k(AnonVmaLock), "av")).is_empty());
        let b = [(k(AnonVmaLock), "av")];
        let r = d.acquire(1, "g", &b, (k(SwapLock), "swap_lock"));
        assert_eq!(r.len(), 1);
        assert!(matches!(
            &r[0].before[0].origin,
            Origin::Observed { what: "f", .. }
        ));
    }

    #[test]
    fn nesting_one_class_needs_a_subclass() {
        let d = LockDep::with_2614_order();
        let held = [(k(PageTableLock), "mm 1 ptl")];
        let r = d.acquire(0, "f", &held, (k(PageTableLock), "mm 2 ptl"));
        assert_eq!(r.len(), 1);
        assert!(r[0].to_string().contains("recursive"));
        let nested = ClassKey {
            class: PageTableLock,
            subclass: 1,
        };
        assert!(d.acquire(0, "f", &held, (nested, "mm 2 ptl")).is_empty());
    }
}
