//! The machine against a naive reference: a map from (physical line, colour) to a
//! copy, plus a map from lines to memory — no sets, no ways, no capacity.
//!
//! - With a cache too large to evict anything, every load, every `fdc` outcome and
//!   every stale-read verdict must be identical.
//! - With a tiny cache that evicts all the time, the reference says an access is
//!   coherent when its line has only ever been used through one colour; there the
//!   machine's loads must equal the reference's (and the latest write).

use std::collections::{HashMap, HashSet};

use proptest::prelude::*;
use vipt_cache::*;
use vipt_pte::{pfn_pte, Layout, PteFlags};

const USER: SpaceId = SpaceId(1);
const PAGES: u64 = 2;
const ALIASES: u64 = 3;
const LINE: u64 = 32;
/// Offsets used within a page: a few lines, so lines are shared between ops.
const OFFSETS: u64 = 4 * LINE;

#[derive(Debug, Clone)]
enum Op {
    Load {
        alias: u64,
        page: u64,
        off: u64,
    },
    Store {
        alias: u64,
        page: u64,
        off: u64,
        value: u64,
    },
    Fdc {
        alias: u64,
        page: u64,
        off: u64,
    },
    FlushAll,
}

fn op() -> impl Strategy<Value = Op> {
    let at = (
        0..ALIASES + 1,
        0..PAGES,
        (0..OFFSETS / 8).prop_map(|o| o * 8),
    );
    prop_oneof![
        4 => at.clone().prop_map(|(alias, page, off)| Op::Load { alias, page, off }),
        4 => (at.clone(), any::<u64>())
            .prop_map(|((alias, page, off), value)| Op::Store { alias, page, off, value }),
        2 => at.prop_map(|(alias, page, off)| Op::Fdc { alias, page, off }),
        1 => Just(Op::FlushAll),
    ]
}

/// Alias `a < ALIASES` of page `p` is a user address of its own colour; alias
/// `ALIASES` is the kernel's direct map. An equivalent twin of alias 0 sits 4 MiB up.
fn address(alias: u64, page: u64) -> (SpaceId, u64) {
    if alias == ALIASES {
        return (KERNEL_SPACE, Machine::kernel_va((page + 1) << 12));
    }
    (USER, 0x4000_0000 + ((alias * PAGES + page + 8) << 12))
}

#[derive(Default)]
struct Naive {
    mem: HashMap<u64, [u8; LINE as usize]>,
    copies: HashMap<(u64, u64), ([u8; LINE as usize], bool)>,
    truth: HashMap<u64, u64>,
}

impl Naive {
    fn line(&mut self, pa: u64, colour: u64) -> &mut ([u8; LINE as usize], bool) {
        let l = pa & !(LINE - 1);
        let mem = *self.mem.entry(l).or_insert([0; LINE as usize]);
        self.copies.entry((l, colour)).or_insert((mem, false))
    }

    fn load(&mut self, pa: u64, colour: u64) -> u64 {
        let o = (pa % LINE) as usize;
        let data = self.line(pa, colour).0;
        u64::from_be_bytes(data[o..o + 8].try_into().unwrap())
    }

    fn store(&mut self, pa: u64, colour: u64, v: u64) {
        let o = (pa % LINE) as usize;
        let c = self.line(pa, colour);
        c.0[o..o + 8].copy_from_slice(&v.to_be_bytes());
        c.1 = true;
        self.truth.insert(pa, v);
    }

    /// Returns the machine's `Flush` for the same instruction.
    fn fdc(&mut self, pa: u64, colour: u64) -> Flush {
        let l = pa & !(LINE - 1);
        match self.copies.remove(&(l, colour)) {
            None => Flush::Done {
                hit: false,
                wrote_back: false,
            },
            Some((data, dirty)) => {
                if dirty {
                    self.mem.insert(l, data);
                }
                Flush::Done {
                    hit: true,
                    wrote_back: dirty,
                }
            }
        }
    }

    fn flush_all(&mut self) {
        let mut all: Vec<_> = self.copies.drain().collect();
        all.sort_by_key(|((l, c), _)| (*l, *c));
        for ((l, _), (data, dirty)) in all {
            if dirty {
                self.mem.insert(l, data);
            }
        }
    }
}

fn setup(geometry: Geometry) -> (Machine, MapWalker) {
    let m = Machine::new(HwConfig {
        geometry,
        icache: geometry,
        frames: PAGES + 1,
        ..HwConfig::default()
    })
    .unwrap();
    let mut pt = MapWalker::new();
    for alias in 0..ALIASES {
        for page in 0..PAGES {
            let (space, va) = address(alias, page);
            let pte = pfn_pte(Layout::Bits32, page + 1, PteFlags::PAGE_SHARED).unwrap();
            pt.set(space, va, pte);
        }
    }
    (m, pt)
}

/// Runs `ops` on both; `exact` demands identical results everywhere, otherwise
/// only on single-colour lines. Returns how many loads were compared.
fn run(ops: &[Op], geometry: Geometry, exact: bool) -> Result<u64, TestCaseError> {
    let (mut m, mut pt) = setup(geometry);
    let mut naive = Naive::default();
    let mut colours_used: HashMap<u64, HashSet<u64>> = HashMap::new();
    let who = Who::kernel(0);
    let mut compared = 0;
    for op in ops {
        match *op {
            Op::Load { alias, page, off }
            | Op::Store {
                alias, page, off, ..
            }
            | Op::Fdc { alias, page, off } => {
                let (space, va) = address(alias, page);
                let va = va + off;
                let pa = ((page + 1) << 12) + off;
                let colour = m.shape().colour_of(va);
                let used = colours_used.entry(pa & !(LINE - 1)).or_default();
                if !matches!(op, Op::Fdc { .. }) {
                    used.insert(colour);
                }
                let single = used.len() <= 1;
                match *op {
                    Op::Load { .. } => {
                        let stale_before = m.oracle().stale_reads;
                        let got = m.load(who, space, va, 8, &mut pt).unwrap();
                        let want = naive.load(pa, colour);
                        let truth = naive.truth.get(&pa).copied().unwrap_or(0);
                        if exact {
                            prop_assert_eq!(got, want, "load {:?}", op);
                            prop_assert_eq!(
                                m.oracle().stale_reads - stale_before,
                                u64::from(want != truth)
                            );
                            compared += 1;
                        } else if single {
                            prop_assert_eq!(got, want, "single-colour load {:?}", op);
                            prop_assert_eq!(got, truth);
                            compared += 1;
                        }
                    }
                    Op::Store { value, .. } => {
                        m.store(who, space, va, 8, value, &mut pt).unwrap();
                        naive.store(pa, colour, value);
                    }
                    _ => {
                        let got = m.fdc(who, space, va, &mut pt).unwrap();
                        let want = naive.fdc(pa, colour);
                        if exact {
                            prop_assert_eq!(got, want, "fdc {:?}", op);
                        }
                    }
                }
            }
            Op::FlushAll => {
                m.flush_cache_all(who).unwrap();
                naive.flush_all();
            }
        }
    }
    if exact {
        prop_assert_eq!(m.counters().lines_evicted, 0);
        for (l, data) in &naive.mem {
            prop_assert_eq!(m.mem().bytes(*l, LINE as usize).unwrap(), &data[..]);
        }
    }
    Ok(compared)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn identical_to_the_reference_without_evictions(ops in prop::collection::vec(op(), 1..120)) {
        run(&ops, Geometry::PA_RISC, true)?;
    }

    #[test]
    fn coherent_accesses_agree_under_evictions(ops in prop::collection::vec(op(), 1..200)) {
        let tiny = Geometry { size: 128, line_size: LINE, ways: 2, alias_boundary: SHM_COLOUR };
        run(&ops, tiny, false)?;
    }
}

/// The comparison is not vacuous: a tiny cache evicts, and many loads are compared.
#[test]
fn the_eviction_run_evicts_and_compares() {
    let ops: Vec<Op> = (0..400u64)
        .map(|i| {
            let (page, off) = (i % PAGES, (i * 40) % OFFSETS / 8 * 8);
            if i % 3 == 0 {
                Op::Store {
                    alias: 0,
                    page,
                    off,
                    value: i,
                }
            } else {
                Op::Load {
                    alias: 0,
                    page,
                    off,
                }
            }
        })
        .collect();
    let tiny = Geometry {
        size: 128,
        line_size: LINE,
        ways: 2,
        alias_boundary: SHM_COLOUR,
    };
    let compared = run(&ops, tiny, false).unwrap();
    assert!(compared > 200, "{compared}");
    let (mut m, mut pt) = setup(tiny);
    for op in &ops {
        if let Op::Store {
            page, off, value, ..
        } = *op
        {
            let (s, va) = address(0, page);
            m.store(Who::kernel(0), s, va + off, 8, value, &mut pt)
                .unwrap();
        }
    }
    assert!(m.counters().lines_evicted > 10);
}
