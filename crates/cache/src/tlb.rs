//! A per-CPU TLB: small, fully associative, least-recently-used replacement,
//! keyed by (space id, virtual page). Entries carry what the handler inserted: the
//! pfn, whether the translation is for flushing only (from a `_PAGE_FLUSH` pte or
//! none at all), and the write and dirty rights for stores. PA-RISC has separate
//! instruction and data TLBs; one TLB per CPU serves both here.

use crate::translate::SpaceId;

/// Size of the lookup hint table.
const HINTS: usize = 256;

/// One TLB entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlbEntry {
    /// The space id.
    pub space: SpaceId,
    /// The virtual page number.
    pub vpn: u64,
    /// The physical frame.
    pub pfn: u64,
    /// Inserted from a flush-only pte: usable by `fdc`/`pdc`/`fic` only.
    pub flush_only: bool,
    /// Stores allowed (the pte's `WRITE`).
    pub writable: bool,
    /// The dirty bit is set: stores do not trap.
    pub dirty: bool,
    /// Manufactured for the tmpalias window, not from a page table.
    pub tmpalias: bool,
    stamp: u64,
}

impl TlbEntry {
    /// An entry for `(space, vpn) -> pfn`.
    pub fn new(space: SpaceId, vpn: u64, pfn: u64) -> TlbEntry {
        TlbEntry {
            space,
            vpn,
            pfn,
            flush_only: false,
            writable: false,
            dirty: false,
            tmpalias: false,
            stamp: 0,
        }
    }
}

/// A CPU's TLB with its hit and miss counts.
#[derive(Debug, Clone)]
pub struct Tlb {
    entries: Vec<TlbEntry>,
    capacity: usize,
    clock: u64,
    mru: usize,
    /// A direct-mapped hint from a hash of (space, vpn) to the slot that held it
    /// last; always verified, so a stale hint costs only a scan.
    hint: Vec<u16>,
    /// Lookups that found an entry.
    pub hits: u64,
    /// Lookups that did not.
    pub misses: u64,
}

impl Tlb {
    /// An empty TLB of `capacity` entries (1 to 4096).
    pub fn new(capacity: usize) -> Tlb {
        let capacity = capacity.clamp(1, 4096);
        Tlb {
            entries: Vec::with_capacity(capacity),
            capacity,
            clock: 0,
            mru: 0,
            hint: vec![0; HINTS],
            hits: 0,
            misses: 0,
        }
    }

    #[inline]
    fn hint_of(space: SpaceId, vpn: u64) -> usize {
        ((vpn ^ (u64::from(space.0) << 7)).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as usize
            & (HINTS - 1)
    }

    #[inline]
    fn holds(&self, i: usize, space: SpaceId, vpn: u64) -> bool {
        matches!(self.entries.get(i), Some(e) if e.space == space && e.vpn == vpn)
    }

    #[inline]
    fn find(&self, space: SpaceId, vpn: u64) -> Option<usize> {
        if self.holds(self.mru, space, vpn) {
            return Some(self.mru);
        }
        let h = self.hint[Self::hint_of(space, vpn)] as usize;
        if self.holds(h, space, vpn) {
            return Some(h);
        }
        self.entries
            .iter()
            .position(|e| e.space == space && e.vpn == vpn)
    }

    /// The fast path of a data access: if the most recently used entry (or the
    /// one the hint names) maps `(space, vpn)` for data and allows the access,
    /// counts a hit and returns its pfn. Exact: a hit on the MRU entry changes no
    /// LRU order, and a hint hit ages the entry as `lookup` does.
    #[inline]
    pub(crate) fn mru_data_hit(&mut self, space: SpaceId, vpn: u64, write: bool) -> Option<u64> {
        let usable = |e: &TlbEntry| {
            e.space == space && e.vpn == vpn && !e.flush_only && (!write || (e.writable && e.dirty))
        };
        if self.entries.get(self.mru).is_some_and(usable) {
            self.hits += 1;
            return Some(self.entries[self.mru].pfn);
        }
        // Then the slot the hint names: a hit there ages it exactly as `lookup`.
        let i = self.hint[Self::hint_of(space, vpn)] as usize;
        if self.entries.get(i).is_some_and(usable) {
            return Some(self.hit(i).pfn);
        }
        None
    }

    /// The entry for `(space, vpn)`, counted as a hit or a miss.
    #[inline]
    pub fn lookup(&mut self, space: SpaceId, vpn: u64) -> Option<TlbEntry> {
        // The most recently used entry already has the newest stamp: a hit on it
        // changes no order, so it is counted and nothing else.
        if self.holds(self.mru, space, vpn) {
            self.hits += 1;
            return Some(self.entries[self.mru]);
        }
        self.lookup_slow(space, vpn)
    }

    fn lookup_slow(&mut self, space: SpaceId, vpn: u64) -> Option<TlbEntry> {
        let hint = Self::hint_of(space, vpn);
        let found = self.find(space, vpn);
        match found {
            Some(i) => {
                self.hint[hint] = i as u16;
                Some(self.hit(i))
            }
            None => {
                self.misses += 1;
                None
            }
        }
    }

    /// Counts a hit on entry `i` and makes it the most recently used.
    #[inline]
    fn hit(&mut self, i: usize) -> TlbEntry {
        self.hits += 1;
        self.clock += 1;
        self.entries[i].stamp = self.clock;
        self.mru = i;
        self.entries[i]
    }

    /// The entry for `(space, vpn)` without counting or ageing it.
    pub fn peek(&self, space: SpaceId, vpn: u64) -> Option<TlbEntry> {
        self.find(space, vpn).map(|i| self.entries[i])
    }

    /// Inserts (or replaces) the entry for its `(space, vpn)`, evicting the least
    /// recently used entry when full; returns whether one was evicted.
    pub fn insert(&mut self, mut entry: TlbEntry) -> bool {
        self.clock += 1;
        entry.stamp = self.clock;
        let hint = Self::hint_of(entry.space, entry.vpn);
        let (i, evicted) = match self.find(entry.space, entry.vpn) {
            Some(i) => (i, false),
            None if self.entries.len() < self.capacity => {
                self.entries.push(entry);
                self.mru = self.entries.len() - 1;
                self.hint[hint] = self.mru as u16;
                return false;
            }
            None => (
                (0..self.entries.len())
                    .min_by_key(|&i| self.entries[i].stamp)
                    .unwrap_or(0),
                true,
            ),
        };
        self.entries[i] = entry;
        self.mru = i;
        self.hint[hint] = i as u16;
        evicted
    }

    /// Purges the entry for `(space, vpn)` (`pdtlb`); returns whether there was one.
    pub fn purge(&mut self, space: SpaceId, vpn: u64) -> bool {
        match self
            .entries
            .iter()
            .position(|e| e.space == space && e.vpn == vpn)
        {
            Some(i) => {
                self.entries.swap_remove(i);
                self.mru = 0;
                true
            }
            None => false,
        }
    }

    /// Purges everything; returns how many entries there were.
    pub fn purge_all(&mut self) -> usize {
        let n = self.entries.len();
        self.entries.clear();
        self.mru = 0;
        n
    }

    /// Becomes a copy of `other` without allocating.
    pub(crate) fn restore_from(&mut self, other: &Tlb) {
        self.entries.clone_from(&other.entries);
        self.hint.copy_from_slice(&other.hint);
        (self.capacity, self.clock, self.mru) = (other.capacity, other.clock, other.mru);
        (self.hits, self.misses) = (other.hits, other.misses);
    }

    /// The entries, in no particular order.
    pub fn entries(&self) -> &[TlbEntry] {
        &self.entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lru_replacement_and_purge() {
        let mut t = Tlb::new(2);
        let s = SpaceId(1);
        t.insert(TlbEntry::new(s, 1, 10));
        t.insert(TlbEntry::new(s, 2, 20));
        assert_eq!(t.lookup(s, 1).unwrap().pfn, 10); // 1 is now most recent
        t.insert(TlbEntry::new(s, 3, 30)); // evicts 2
        assert!(t.peek(s, 2).is_none());
        assert_eq!(t.lookup(s, 3).unwrap().pfn, 30);
        assert!(t.lookup(SpaceId(2), 3).is_none());
        assert_eq!((t.hits, t.misses), (2, 1));
        assert!(t.purge(s, 1));
        assert!(!t.purge(s, 1));
        assert_eq!(t.purge_all(), 1);
    }
}
