//! The cache geometry, as a value, and the address arithmetic it implies.
//!
//! The set is taken from virtual address bits between the line offset and the way
//! size; the *colour* — the page-granular virtual bits below the alias boundary —
//! is kept beside the physical line number as the line's tag. So two virtual
//! addresses of one physical line share a cache line exactly when they are equal
//! modulo the alias boundary (equivalent aliases), and non-equivalent aliases
//! always hold separate copies, whatever the geometry. This models a cache whose
//! index is hashed from all virtual bits below the alias boundary, as PA-RISC's
//! are; the architecture promises coherence only at 4 MiB (`SHM_COLOUR`).

use std::fmt;

use vipt_pte::{PAGE_OFFSET, PAGE_SHIFT, PAGE_SIZE};

use crate::error::CacheError;

/// `SHM_COLOUR`: the PA-RISC alias (congruence) boundary, 4 MiB.
pub const SHM_COLOUR: u64 = 0x0040_0000;
/// `TMPALIAS_MAP_START`: the per-CPU tmpalias window, 16 MiB below `PAGE_OFFSET`.
pub const TMPALIAS_MAP_START: u64 = PAGE_OFFSET - 0x0100_0000;
/// The window is 8 MiB: two 4 MiB halves, "to" and "from", chosen by bit 22.
pub const TMPALIAS_MAP_SIZE: u64 = 2 * SHM_COLOUR;

/// A data or instruction cache's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Geometry {
    /// Total bytes.
    pub size: u64,
    /// Bytes per line (8 to 4096).
    pub line_size: u64,
    /// Lines per set.
    pub ways: u32,
    /// Addresses equal modulo this share lines (`SHM_COLOUR` on PA-RISC).
    pub alias_boundary: u64,
}

impl Default for Geometry {
    fn default() -> Self {
        Geometry::PA_RISC
    }
}

impl fmt::Display for Geometry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} KiB, {}-byte lines, {}-way, alias boundary {} KiB",
            self.size / 1024,
            self.line_size,
            self.ways,
            self.alias_boundary / 1024
        )
    }
}

impl Geometry {
    /// The documented PA-RISC-like default: a 1 MiB, 4-way data cache with 32-byte
    /// lines and the architectural 4 MiB alias boundary.
    ///
    /// 32-byte lines are what the seed thread counts (128 `fdc` per page); 1 MiB
    /// 4-way is the size class of the on-chip data caches of the PA-8500 to PA-8700
    /// generation that 2.6-era SMP boxes ran, which is enough for page-sized
    /// experiments never to be disturbed by capacity evictions they did not ask for.
    pub const PA_RISC: Geometry = Geometry {
        size: 1 << 20,
        line_size: 32,
        ways: 4,
        alias_boundary: SHM_COLOUR,
    };

    /// A small geometry for exploration: `lines_per_page` lines per page (so a page
    /// flush is that many `fdc`s), 2 ways, 8 sets, the 4 MiB alias boundary.
    pub fn explore(lines_per_page: u64) -> Result<Geometry, CacheError> {
        if lines_per_page == 0 || !lines_per_page.is_power_of_two() || lines_per_page > 512 {
            return Err(CacheError::BadGeometry(format!(
                "lines per page must be a power of two from 1 to 512, not {lines_per_page}"
            )));
        }
        let g = Geometry {
            size: 16 * (PAGE_SIZE / lines_per_page),
            line_size: PAGE_SIZE / lines_per_page,
            ways: 2,
            alias_boundary: SHM_COLOUR,
        };
        g.shape()?;
        Ok(g)
    }

    /// Checks the geometry and derives the address arithmetic.
    pub fn shape(&self) -> Result<Shape, CacheError> {
        let bad = |why: String| Err(CacheError::BadGeometry(format!("{self}: {why}")));
        if !self.line_size.is_power_of_two() || !(8..=PAGE_SIZE).contains(&self.line_size) {
            return bad("line size must be a power of two from 8 to 4096".into());
        }
        if self.ways == 0 || self.size == 0 {
            return bad("size and ways must be non-zero".into());
        }
        let way_size = self.size / u64::from(self.ways);
        if way_size * u64::from(self.ways) != self.size
            || !way_size.is_power_of_two()
            || way_size < self.line_size
        {
            return bad("size / ways must be a power of two of at least one line".into());
        }
        if !self.alias_boundary.is_power_of_two()
            || !(PAGE_SIZE..=SHM_COLOUR).contains(&self.alias_boundary)
        {
            return bad("alias boundary must be a power of two from 4 KiB to 4 MiB".into());
        }
        if way_size > self.alias_boundary {
            return bad(
                "a way larger than the alias boundary would split equivalent aliases".into(),
            );
        }
        if self.size > 1 << 30 {
            return bad("at most 1 GiB".into());
        }
        let sets = way_size / self.line_size;
        Ok(Shape {
            line_shift: self.line_size.trailing_zeros(),
            line_size: self.line_size as usize,
            sets: sets as usize,
            ways: self.ways as usize,
            colour_bits: (self.alias_boundary / PAGE_SIZE).trailing_zeros(),
            alias_mask: self.alias_boundary - 1,
        })
    }
}

/// A checked geometry's address arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// log2 of the line size.
    pub line_shift: u32,
    /// Bytes per line.
    pub line_size: usize,
    /// Number of sets.
    pub sets: usize,
    /// Lines per set.
    pub ways: usize,
    /// How many colour bits the alias boundary gives (10 for 4 MiB).
    pub colour_bits: u32,
    /// `alias_boundary - 1`.
    pub alias_mask: u64,
}

impl Shape {
    /// The set a virtual address selects.
    #[inline]
    pub fn set_of(&self, va: u64) -> usize {
        ((va & self.alias_mask) >> self.line_shift) as usize & (self.sets - 1)
    }

    /// The colour of a virtual address: its page-granular bits below the boundary.
    #[inline]
    pub fn colour_of(&self, va: u64) -> u64 {
        (va & self.alias_mask) >> PAGE_SHIFT
    }

    /// The tag of the copy of physical address `pa` seen through `va`.
    #[inline]
    pub fn key(&self, pa: u64, va: u64) -> u64 {
        ((pa >> self.line_shift) << self.colour_bits) | self.colour_of(va)
    }

    /// The physical address of a tag's line.
    #[inline]
    pub fn key_pa(&self, key: u64) -> u64 {
        (key >> self.colour_bits) << self.line_shift
    }

    /// The colour in a tag.
    #[inline]
    pub fn key_colour(&self, key: u64) -> u64 {
        key & ((1 << self.colour_bits) - 1)
    }

    /// Lines per page.
    pub fn lines_per_page(&self) -> u64 {
        PAGE_SIZE >> self.line_shift
    }

    /// Total lines.
    pub fn lines(&self) -> usize {
        self.sets * self.ways
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_geometry() {
        let s = Geometry::PA_RISC.shape().unwrap();
        assert_eq!((s.sets, s.ways, s.line_size), (8192, 4, 32));
        assert_eq!(s.lines_per_page(), 128);
        assert_eq!(s.colour_bits, 10);
        assert_eq!(TMPALIAS_MAP_START, 0x0F00_0000);
    }

    #[test]
    fn equivalence_is_congruence_modulo_the_boundary() {
        let s = Geometry::PA_RISC.shape().unwrap();
        let pa = 0x0012_3040;
        let (a, b, c) = (
            0x4000_3040u64,
            0x4000_3040 + SHM_COLOUR * 7,
            0x4000_3040 + 0x1000,
        );
        assert_eq!(s.key(pa, a), s.key(pa, b));
        assert_eq!(s.set_of(a), s.set_of(b));
        assert_ne!(s.key(pa, a), s.key(pa, c));
        assert_eq!(s.key_pa(s.key(pa, a)), pa & !31);
    }

    #[test]
    fn bad_geometries_are_refused() {
        let g = Geometry::PA_RISC;
        for bad in [
            Geometry { line_size: 24, ..g },
            Geometry { line_size: 4, ..g },
            Geometry { ways: 0, ..g },
            Geometry { ways: 3, ..g },
            Geometry {
                alias_boundary: 8 << 20,
                ..g
            },
            Geometry {
                size: 16 << 20,
                ways: 1,
                ..g
            },
            Geometry { size: 16, ..g },
        ] {
            assert!(bad.shape().is_err(), "{bad:?}");
        }
        assert!(Geometry::explore(3).is_err());
        assert_eq!(Geometry::explore(4).unwrap().line_size, 1024);
    }
}
