//! The interface every `i_mmap` index offers: closed intervals of file pages with
//! a payload, and stabbing queries that return every interval overlapping a
//! query interval.
//!
//! Two implementations sit behind it: the radix priority search tree of
//! 2.6.7–3.6 ([`crate::prio_tree::PrioTree`]) and the augmented balanced tree
//! that replaced it in 3.7 ([`crate::interval_tree::IntervalTree`]). A naive
//! list ([`NaiveIntervals`]) is the reference they are tested against.

use std::fmt;

/// A closed interval `[start, last]` of indices (for a vma: `[vm_pgoff,
/// vm_pgoff + npages - 1]`; the prio tree calls them radix and heap index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Interval {
    /// First index (`radix_index`, `vm_pgoff`).
    pub start: u64,
    /// Last index, inclusive (`heap_index`).
    pub last: u64,
}

impl Interval {
    /// `[start, last]`; an error if `start > last`.
    pub fn new(start: u64, last: u64) -> Result<Interval, TreeError> {
        if start > last {
            return Err(TreeError::Reversed { start, last });
        }
        Ok(Interval { start, last })
    }

    /// Whether the two closed intervals share an index.
    pub const fn overlaps(&self, other: &Interval) -> bool {
        self.start <= other.last && other.start <= self.last
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}, {}]", self.start, self.last)
    }
}

/// A stored interval's name, valid until it is removed (then it may be reused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ItemId(pub u32);

/// Why an index refused an operation; the index is unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TreeError {
    /// `start > last`.
    Reversed {
        /// The start.
        start: u64,
        /// The last index.
        last: u64,
    },
    /// The last index does not fit in `BITS_PER_LONG` bits.
    TooLarge {
        /// The last index.
        last: u64,
        /// The tree's `BITS_PER_LONG`.
        bits: u32,
    },
    /// No live item with that id.
    NoSuchItem(ItemId),
    /// More than `u32::MAX - 1` items.
    Full,
}

impl fmt::Display for TreeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TreeError::Reversed { start, last } => {
                write!(f, "interval start {start} is after its last index {last}")
            }
            TreeError::TooLarge { last, bits } => {
                write!(f, "index {last} does not fit in {bits} bits")
            }
            TreeError::NoSuchItem(id) => write!(f, "no interval with id {}", id.0),
            TreeError::Full => write!(f, "the tree is full"),
        }
    }
}

impl std::error::Error for TreeError {}

/// Work done by one stabbing query, for the cost model and the benchmarks.
pub trait StabCount {
    /// Tree nodes whose indices the query read so far (`get_index` calls).
    fn visited(&self) -> u64;
}

/// An index of intervals with stabbing queries.
pub trait IntervalIndex<T> {
    /// The stabbing iterator.
    type Stab<'a>: Iterator<Item = (ItemId, &'a T)> + StabCount
    where
        Self: 'a,
        T: 'a;

    /// Stores `item` under `iv`; duplicates (equal intervals) are allowed.
    fn insert(&mut self, iv: Interval, item: T) -> Result<ItemId, TreeError>;
    /// Removes an item, returning it.
    fn remove(&mut self, id: ItemId) -> Result<(Interval, T), TreeError>;
    /// A live item and its interval.
    fn get(&self, id: ItemId) -> Option<(Interval, &T)>;
    /// Number of items.
    fn len(&self) -> usize;
    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Every item whose interval overlaps `q` (the kernel's
    /// `vma_prio_tree_foreach(vma, iter, root, begin, end)`).
    fn stab(&self, q: Interval) -> Self::Stab<'_>;
    /// Levels from the root to the deepest node (0 when empty).
    fn height(&self) -> usize;
    /// Checks every structural invariant; the first broken one as text.
    fn check(&self) -> Result<(), String>;
}

/// The reference: a list scanned in full by every query (results in insertion
/// order of the slots).
#[derive(Debug, Clone)]
pub struct NaiveIntervals<T> {
    slots: Vec<Option<(Interval, T)>>,
    free: Vec<u32>,
    len: usize,
}

impl<T> Default for NaiveIntervals<T> {
    fn default() -> Self {
        NaiveIntervals {
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }
}

impl<T> NaiveIntervals<T> {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }
}

/// [`NaiveIntervals`]' query: a full scan.
pub struct NaiveStab<'a, T> {
    slots: std::iter::Enumerate<std::slice::Iter<'a, Option<(Interval, T)>>>,
    q: Interval,
    visited: u64,
}

impl<'a, T> Iterator for NaiveStab<'a, T> {
    type Item = (ItemId, &'a T);

    fn next(&mut self) -> Option<Self::Item> {
        for (i, s) in self.slots.by_ref() {
            if let Some((iv, t)) = s {
                self.visited += 1;
                if iv.overlaps(&self.q) {
                    return Some((ItemId(i as u32), t));
                }
            }
        }
        None
    }
}

impl<T> StabCount for NaiveStab<'_, T> {
    fn visited(&self) -> u64 {
        self.visited
    }
}

impl<T> IntervalIndex<T> for NaiveIntervals<T> {
    type Stab<'a>
        = NaiveStab<'a, T>
    where
        T: 'a;

    fn insert(&mut self, iv: Interval, item: T) -> Result<ItemId, TreeError> {
        Interval::new(iv.start, iv.last)?;
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some((iv, item));
                i
            }
            None => {
                let i = u32::try_from(self.slots.len()).map_err(|_| TreeError::Full)?;
                self.slots.push(Some((iv, item)));
                i
            }
        };
        self.len += 1;
        Ok(ItemId(i))
    }

    fn remove(&mut self, id: ItemId) -> Result<(Interval, T), TreeError> {
        let s = self
            .slots
            .get_mut(id.0 as usize)
            .and_then(Option::take)
            .ok_or(TreeError::NoSuchItem(id))?;
        self.free.push(id.0);
        self.len -= 1;
        Ok(s)
    }

    fn get(&self, id: ItemId) -> Option<(Interval, &T)> {
        let (iv, t) = self.slots.get(id.0 as usize)?.as_ref()?;
        Some((*iv, t))
    }

    fn len(&self) -> usize {
        self.len
    }

    fn stab(&self, q: Interval) -> NaiveStab<'_, T> {
        NaiveStab {
            slots: self.slots.iter().enumerate(),
            q,
            visited: 0,
        }
    }

    fn height(&self) -> usize {
        self.len
    }

    fn check(&self) -> Result<(), String> {
        let live = self.slots.iter().filter(|s| s.is_some()).count();
        if live != self.len {
            return Err(format!("{live} live slots, length {}", self.len));
        }
        Ok(())
    }
}
