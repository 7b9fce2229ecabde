//! The storage of a set-associative cache: per slot a tag (physical line and
//! colour), an LRU stamp and a dirty bit, and the line's bytes. Policy — what a
//! load, store or flush does — lives in the machine; this only finds, ages and
//! replaces slots.

use crate::geometry::Shape;
use crate::tracked::Tracked;

/// An invalid slot's tag.
pub(crate) const INVALID: u64 = u64::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slot {
    pub key: u64,
    pub stamp: u64,
    pub dirty: bool,
}

/// Tags, LRU stamps and dirty bits live in separate arrays so that the way
/// search reads only the tags (8 bytes a way).
#[derive(Debug, Clone)]
pub(crate) struct SetAssoc {
    pub shape: Shape,
    keys: Tracked<u64>,
    stamps: Tracked<u64>,
    dirty: Tracked<bool>,
    /// The life of the frame each line was filled in (see `Oracle`).
    lives: Tracked<u32>,
    data: Tracked<u8>,
    pub clock: u64,
    /// The slot touched last: it holds the newest stamp, so touching it again
    /// changes no LRU order and is skipped.
    last: usize,
}

impl SetAssoc {
    pub fn new(shape: Shape) -> SetAssoc {
        SetAssoc {
            shape,
            keys: Tracked::new(shape.lines(), INVALID, 0),
            stamps: Tracked::new(shape.lines(), 0, 0),
            dirty: Tracked::new(shape.lines(), false, 0),
            lives: Tracked::new(shape.lines(), 0, 0),
            data: Tracked::new(shape.lines() * shape.line_size, 0, shape.line_shift),
            clock: 0,
            last: usize::MAX,
        }
    }

    /// The slot in `set` holding `key`, if any.
    #[inline]
    pub fn find(&self, set: usize, key: u64) -> Option<usize> {
        let base = set * self.shape.ways;
        self.keys
            .slice(base, self.shape.ways)
            .iter()
            .position(|&k| k == key)
            .map(|w| base + w)
    }

    /// Marks a slot most recently used.
    #[inline]
    pub fn touch(&mut self, slot: usize) {
        if slot == self.last {
            return;
        }
        self.last = slot;
        self.clock += 1;
        self.stamps.set(slot, self.clock);
    }

    /// The slot to replace in `set`: an invalid one, else the least recently used.
    pub fn victim(&self, set: usize) -> usize {
        let base = set * self.shape.ways;
        (base..base + self.shape.ways)
            .min_by_key(|&i| (self.keys.get(i) != INVALID, self.stamps.get(i)))
            .unwrap_or(base)
    }

    #[inline]
    pub fn slot(&self, slot: usize) -> Slot {
        Slot {
            key: self.keys.get(slot),
            stamp: self.stamps.get(slot),
            dirty: self.dirty.get(slot),
        }
    }

    #[inline]
    pub fn set_slot(&mut self, slot: usize, s: Slot) {
        if slot == self.last {
            self.last = usize::MAX;
        }
        self.keys.set(slot, s.key);
        self.stamps.set(slot, s.stamp);
        self.dirty.set(slot, s.dirty);
    }

    #[inline]
    pub fn key(&self, slot: usize) -> u64 {
        self.keys.get(slot)
    }

    #[inline]
    pub fn is_dirty(&self, slot: usize) -> bool {
        self.dirty.get(slot)
    }

    #[inline]
    pub fn mark_dirty(&mut self, slot: usize) {
        if !self.dirty.get(slot) {
            self.dirty.set(slot, true);
        }
    }

    #[inline]
    pub fn line(&self, slot: usize) -> &[u8] {
        self.data
            .slice(slot * self.shape.line_size, self.shape.line_size)
    }

    #[inline]
    pub fn line_mut(&mut self, slot: usize) -> &mut [u8] {
        self.data
            .slice_mut(slot * self.shape.line_size, self.shape.line_size)
    }

    /// Every slot index with a valid tag.
    pub fn valid_slots(&self) -> impl Iterator<Item = usize> + '_ {
        self.keys
            .all()
            .iter()
            .enumerate()
            .filter(|(_, &k)| k != INVALID)
            .map(|(i, _)| i)
    }

    /// The life of the frame the line in `slot` was filled in.
    #[inline]
    pub fn life(&self, slot: usize) -> u32 {
        self.lives.get(slot)
    }

    /// Puts a clean copy of `data` in `slot` under `key` (a fill from memory
    /// during life `life` of the frame).
    pub fn install(&mut self, slot: usize, key: u64, data: &[u8], life: u32) {
        self.line_mut(slot).copy_from_slice(data);
        if self.lives.get(slot) != life {
            self.lives.set(slot, life);
        }
        self.set_slot(
            slot,
            Slot {
                key,
                stamp: 0,
                dirty: false,
            },
        );
    }

    pub fn invalidate(&mut self, slot: usize) {
        self.set_slot(
            slot,
            Slot {
                key: INVALID,
                stamp: 0,
                dirty: false,
            },
        );
    }

    pub fn checkpoint(&mut self) {
        self.keys.checkpoint();
        self.stamps.checkpoint();
        self.dirty.checkpoint();
        self.lives.checkpoint();
        self.data.checkpoint();
    }

    pub fn rollback(&mut self) {
        self.last = usize::MAX;
        self.keys.rollback();
        self.stamps.rollback();
        self.dirty.rollback();
        self.lives.rollback();
        self.data.rollback();
    }
}
