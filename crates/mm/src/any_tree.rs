//! Runtime choice of the `i_mmap` index: one address space can use the 2.6.14
//! prio tree, another the 3.7 interval tree, behind one iterator type.

use crate::interval::{Interval, IntervalIndex, ItemId, StabCount, TreeError};
use crate::interval_tree::{IntervalStab, IntervalTree};
use crate::prio_tree::{PrioStab, PrioTree};

/// Which index an address space uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TreeKind {
    /// The radix priority search tree (2.6.7 – 3.6).
    #[default]
    Prio,
    /// The augmented interval tree (3.7 on).
    Interval,
}

impl TreeKind {
    /// The name used on the command line and in reports.
    pub const fn name(self) -> &'static str {
        match self {
            TreeKind::Prio => "prio",
            TreeKind::Interval => "interval",
        }
    }
}

/// Either index.
#[derive(Debug, Clone)]
pub enum AnyTree<T> {
    /// A prio tree.
    Prio(PrioTree<T>),
    /// An interval tree.
    Interval(IntervalTree<T>),
}

impl<T> AnyTree<T> {
    /// An empty index of `kind` for `bits_per_long`-bit indices.
    pub fn new(kind: TreeKind, bits_per_long: u32) -> Self {
        match kind {
            TreeKind::Prio => AnyTree::Prio(PrioTree::new(bits_per_long)),
            TreeKind::Interval => AnyTree::Interval(IntervalTree::new()),
        }
    }

    /// Which index this is.
    pub fn kind(&self) -> TreeKind {
        match self {
            AnyTree::Prio(_) => TreeKind::Prio,
            AnyTree::Interval(_) => TreeKind::Interval,
        }
    }

    /// Inserts `item` next to `after` with the same interval (fork's
    /// `vma_prio_tree_add`); the interval tree simply inserts it.
    pub fn insert_after(&mut self, after: ItemId, item: T) -> Result<ItemId, TreeError> {
        match self {
            AnyTree::Prio(t) => t.insert_after(after, item),
            AnyTree::Interval(t) => {
                let (iv, _) = t.get(after).ok_or(TreeError::NoSuchItem(after))?;
                t.insert(iv, item)
            }
        }
    }
}

/// Either tree's query.
pub enum AnyStab<'a, T> {
    /// The prio tree's.
    Prio(PrioStab<'a, T>),
    /// The interval tree's.
    Interval(IntervalStab<'a, T>),
}

impl<'a, T> Iterator for AnyStab<'a, T> {
    type Item = (ItemId, &'a T);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            AnyStab::Prio(s) => s.next(),
            AnyStab::Interval(s) => s.next(),
        }
    }
}

impl<T> StabCount for AnyStab<'_, T> {
    fn visited(&self) -> u64 {
        match self {
            AnyStab::Prio(s) => s.visited(),
            AnyStab::Interval(s) => s.visited(),
        }
    }
}

macro_rules! both {
    ($self:ident, $t:ident => $e:expr) => {
        match $self {
            AnyTree::Prio($t) => $e,
            AnyTree::Interval($t) => $e,
        }
    };
}

impl<T> IntervalIndex<T> for AnyTree<T> {
    type Stab<'a>
        = AnyStab<'a, T>
    where
        T: 'a;

    fn insert(&mut self, iv: Interval, item: T) -> Result<ItemId, TreeError> {
        both!(self, t => t.insert(iv, item))
    }

    fn remove(&mut self, id: ItemId) -> Result<(Interval, T), TreeError> {
        both!(self, t => t.remove(id))
    }

    fn get(&self, id: ItemId) -> Option<(Interval, &T)> {
        both!(self, t => t.get(id))
    }

    fn len(&self) -> usize {
        both!(self, t => t.len())
    }

    fn stab(&self, q: Interval) -> AnyStab<'_, T> {
        match self {
            AnyTree::Prio(t) => AnyStab::Prio(t.stab(q)),
            AnyTree::Interval(t) => AnyStab::Interval(t.stab(q)),
        }
    }

    fn height(&self) -> usize {
        both!(self, t => t.height())
    }

    fn check(&self) -> Result<(), String> {
        both!(self, t => t.check())
    }
}
