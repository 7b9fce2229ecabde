//! Event counters and the cost model that turns them into simulated cycles.
//!
//! The weights are modelling assumptions, not measurements of any one PA-RISC
//! part; they are ordered the way the seed thread argues about costs: an `fdc`
//! is a cheap, non-interlocking instruction, a nullified one is an interruption
//! (trap entry, a page-table walk in shadow registers, return), a TLB miss is a
//! walk, a purge is a broadcast, and a write-back or a fill is a memory
//! transaction. Every weight is a public field: set your own.

/// What the hardware did, counted. `#[repr(C)]`: the C API hands it out as is.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Data loads.
    pub loads: u64,
    /// Data stores.
    pub stores: u64,
    /// Instruction fetches.
    pub ifetches: u64,
    /// Data accesses that hit the cache.
    pub cache_hits: u64,
    /// Data accesses that missed and filled a line from memory.
    pub cache_misses: u64,
    /// Instruction fetches that missed the instruction cache.
    pub icache_misses: u64,
    /// `fdc` instructions issued.
    pub fdc_issued: u64,
    /// `fdc` that found a translation and executed.
    pub fdc_effective: u64,
    /// `fdc` nullified for want of a translation.
    pub fdc_nullified: u64,
    /// `pdc` issued.
    pub pdc_issued: u64,
    /// `pdc` nullified.
    pub pdc_nullified: u64,
    /// `fic` issued.
    pub fic_issued: u64,
    /// `fic` nullified.
    pub fic_nullified: u64,
    /// Dirty lines written back to memory (by flushes or evictions).
    pub lines_written_back: u64,
    /// Valid lines evicted to make room.
    pub lines_evicted: u64,
    /// TLB lookups that hit.
    pub tlb_hits: u64,
    /// TLB lookups that missed (each a page-table walk or a manufactured entry).
    pub tlb_misses: u64,
    /// TLB entries inserted.
    pub tlb_inserts: u64,
    /// TLB purges issued (`pdtlb`), local or broadcast.
    pub tlb_purges: u64,
    /// tmpalias translations manufactured.
    pub tmpalias_inserts: u64,
    /// Whole-cache flushes (`flush_cache_all`, every line).
    pub whole_cache_flushes: u64,
    /// Lines brought in by speculative move-in.
    pub move_ins: u64,
    /// Page-table walks by the miss handlers.
    pub page_walks: u64,
}

impl Counters {
    /// The difference `self - earlier`, field by field.
    pub fn since(&self, earlier: &Counters) -> Counters {
        let mut d = *self;
        for (a, b) in d.fields_mut().into_iter().zip(earlier.fields()) {
            *a -= b;
        }
        d
    }

    /// The counters as (name, value) pairs, in declaration order.
    pub fn named(&self) -> [(&'static str, u64); 23] {
        let v = self.fields();
        let n = Self::NAMES;
        std::array::from_fn(|i| (n[i], v[i]))
    }

    const NAMES: [&'static str; 23] = [
        "loads",
        "stores",
        "ifetches",
        "cache_hits",
        "cache_misses",
        "icache_misses",
        "fdc_issued",
        "fdc_effective",
        "fdc_nullified",
        "pdc_issued",
        "pdc_nullified",
        "fic_issued",
        "fic_nullified",
        "lines_written_back",
        "lines_evicted",
        "tlb_hits",
        "tlb_misses",
        "tlb_inserts",
        "tlb_purges",
        "tmpalias_inserts",
        "whole_cache_flushes",
        "move_ins",
        "page_walks",
    ];

    fn fields(&self) -> [u64; 23] {
        [
            self.loads,
            self.stores,
            self.ifetches,
            self.cache_hits,
            self.cache_misses,
            self.icache_misses,
            self.fdc_issued,
            self.fdc_effective,
            self.fdc_nullified,
            self.pdc_issued,
            self.pdc_nullified,
            self.fic_issued,
            self.fic_nullified,
            self.lines_written_back,
            self.lines_evicted,
            self.tlb_hits,
            self.tlb_misses,
            self.tlb_inserts,
            self.tlb_purges,
            self.tmpalias_inserts,
            self.whole_cache_flushes,
            self.move_ins,
            self.page_walks,
        ]
    }

    fn fields_mut(&mut self) -> [&mut u64; 23] {
        [
            &mut self.loads,
            &mut self.stores,
            &mut self.ifetches,
            &mut self.cache_hits,
            &mut self.cache_misses,
            &mut self.icache_misses,
            &mut self.fdc_issued,
            &mut self.fdc_effective,
            &mut self.fdc_nullified,
            &mut self.pdc_issued,
            &mut self.pdc_nullified,
            &mut self.fic_issued,
            &mut self.fic_nullified,
            &mut self.lines_written_back,
            &mut self.lines_evicted,
            &mut self.tlb_hits,
            &mut self.tlb_misses,
            &mut self.tlb_inserts,
            &mut self.tlb_purges,
            &mut self.tmpalias_inserts,
            &mut self.whole_cache_flushes,
            &mut self.move_ins,
            &mut self.page_walks,
        ]
    }
}

/// Cycle weights per event. `#[repr(C)]`: the C API takes it as is.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CostModel {
    /// A data access that hits: 1.
    pub cache_hit: u64,
    /// A line filled from memory: 40.
    pub cache_miss: u64,
    /// A dirty line written back: 40.
    pub write_back: u64,
    /// Any cache-control instruction issued (`fdc`, `pdc`, `fic`): 1.
    pub flush_insn: u64,
    /// A nullified instruction: the interruption it costs, 60.
    pub nullified: u64,
    /// A TLB miss handled (walk or manufacture): 30.
    pub tlb_miss: u64,
    /// A TLB insert: 4.
    pub tlb_insert: u64,
    /// A TLB purge (`pdtlb`, broadcast on SMP): 25.
    pub tlb_purge: u64,
    /// Extra for a manufactured tmpalias translation: 2.
    pub tmpalias_insert: u64,
    /// Per line of the cache, for a whole-cache flush (`fdce` loop): 1.
    pub whole_flush_per_line: u64,
}

impl Default for CostModel {
    fn default() -> Self {
        CostModel {
            cache_hit: 1,
            cache_miss: 40,
            write_back: 40,
            flush_insn: 1,
            nullified: 60,
            tlb_miss: 30,
            tlb_insert: 4,
            tlb_purge: 25,
            tmpalias_insert: 2,
            whole_flush_per_line: 1,
        }
    }
}

impl CostModel {
    /// The cost of `c` as (event, cycles) terms; `cache_lines` is the data cache's
    /// line count, for whole-cache flushes.
    pub fn breakdown(&self, c: &Counters, cache_lines: u64) -> Vec<(&'static str, u64)> {
        vec![
            ("cache hits", c.cache_hits * self.cache_hit),
            (
                "cache misses",
                (c.cache_misses + c.move_ins) * self.cache_miss,
            ),
            ("write-backs", c.lines_written_back * self.write_back),
            (
                "flush instructions",
                (c.fdc_issued + c.pdc_issued + c.fic_issued) * self.flush_insn,
            ),
            (
                "nullifications",
                (c.fdc_nullified + c.pdc_nullified + c.fic_nullified) * self.nullified,
            ),
            ("TLB misses", c.tlb_misses * self.tlb_miss),
            ("TLB inserts", c.tlb_inserts * self.tlb_insert),
            ("TLB purges", c.tlb_purges * self.tlb_purge),
            (
                "tmpalias inserts",
                c.tmpalias_inserts * self.tmpalias_insert,
            ),
            (
                "whole-cache flushes",
                c.whole_cache_flushes * cache_lines * self.whole_flush_per_line,
            ),
        ]
    }

    /// The total simulated cycles of `c`.
    pub fn cycles(&self, c: &Counters, cache_lines: u64) -> u64 {
        self.breakdown(c, cache_lines).iter().map(|(_, v)| v).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_and_cycles() {
        let a = Counters {
            fdc_issued: 128,
            fdc_nullified: 128,
            tlb_misses: 128,
            ..Counters::default()
        };
        let b = Counters {
            fdc_issued: 256,
            fdc_nullified: 128,
            fdc_effective: 128,
            tlb_misses: 129,
            tlb_inserts: 1,
            ..a
        };
        let d = b.since(&a);
        assert_eq!((d.fdc_issued, d.fdc_nullified, d.tlb_misses), (128, 0, 1));
        let m = CostModel::default();
        // 128 nullified fdc cost an interruption each: far more than a working flush.
        assert!(m.cycles(&a, 0) > 10 * m.cycles(&d, 0));
        assert_eq!(a.named()[8], ("fdc_nullified", 128));
    }
}
