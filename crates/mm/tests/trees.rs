//! The i_mmap indices against a naive scan, with every structural invariant
//! checked after every operation.

use proptest::prelude::*;
use std::collections::BTreeSet;
use vipt_mm::{
    AnyTree, Interval, IntervalIndex, IntervalTree, ItemId, NaiveIntervals, PrioTree, StabCount,
    TreeKind,
};

#[derive(Debug, Clone)]
enum Op {
    /// Insert an interval `[s, s + len]`.
    Insert(u64, u64),
    /// Remove the n-th live item (modulo the count).
    Remove(usize),
    /// Insert after the n-th live item, with its interval (fork).
    InsertAfter(usize),
}

fn ops(max_start: u64, max_len: u64) -> impl Strategy<Value = Vec<Op>> {
    let op = prop_oneof![
        5 => (0..max_start, 0..max_len).prop_map(|(s, l)| Op::Insert(s, l)),
        3 => any::<usize>().prop_map(Op::Remove),
        1 => any::<usize>().prop_map(Op::InsertAfter),
    ];
    prop::collection::vec(op, 1..120)
}

fn stab_set<I: IntervalIndex<u32>>(t: &I, q: Interval) -> BTreeSet<u32> {
    let v: Vec<u32> = t.stab(q).map(|(_, &x)| x).collect();
    let set: BTreeSet<u32> = v.iter().copied().collect();
    assert_eq!(set.len(), v.len(), "an item was reported twice");
    set
}

/// Applies `ops` to `tree` and to the naive list side by side, comparing every
/// query over a grid after every operation.
fn run<I: IntervalIndex<u32>>(mut tree: I, ops: &[Op], grid: u64) -> Result<(), TestCaseError> {
    let mut naive = NaiveIntervals::new();
    // payload -> (tree id, naive id)
    let mut live: Vec<(u32, ItemId, ItemId)> = Vec::new();
    let mut next = 0u32;
    let after =
        |tree: &mut I, naive: &mut NaiveIntervals<u32>, at: (u32, ItemId, ItemId), p: u32| {
            let (iv, _) = naive.get(at.2).unwrap();
            let tid = tree.insert(iv, p).unwrap();
            (tid, naive.insert(iv, p).unwrap())
        };
    for op in ops {
        match *op {
            Op::Insert(s, l) => {
                let iv = Interval::new(s, s + l).unwrap();
                let tid = tree.insert(iv, next).unwrap();
                let nid = naive.insert(iv, next).unwrap();
                live.push((next, tid, nid));
                next += 1;
            }
            Op::Remove(n) if !live.is_empty() => {
                let (p, tid, nid) = live.swap_remove(n % live.len());
                let (iv, got) = tree.remove(tid).unwrap();
                prop_assert_eq!(got, p);
                prop_assert_eq!(naive.remove(nid).unwrap().0, iv);
                prop_assert!(tree.remove(tid).is_err(), "removed twice");
            }
            Op::InsertAfter(n) if !live.is_empty() => {
                let at = live[n % live.len()];
                let (tid, nid) = after(&mut tree, &mut naive, at, next);
                live.push((next, tid, nid));
                next += 1;
            }
            _ => {}
        }
        if let Err(e) = tree.check() {
            return Err(TestCaseError::fail(format!("after {op:?}: {e}")));
        }
        prop_assert_eq!(tree.len(), naive.len());
        for a in 0..grid {
            for b in a..grid {
                let q = Interval::new(a, b).unwrap();
                prop_assert_eq!(stab_set(&tree, q), stab_set(&naive, q), "query {}", q);
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn prio_tree_equals_naive_scan(ops in ops(12, 6)) {
        run(PrioTree::new(64), &ops, 20)?;
    }

    #[test]
    fn prio_tree_32bit_equals_naive_scan(ops in ops(12, 6)) {
        run(PrioTree::new(32), &ops, 20)?;
    }

    #[test]
    fn prio_tree_wide_indices(ops in ops(1 << 20, 1 << 12)) {
        run(PrioTree::new(64), &ops, 0)?;
    }

    #[test]
    fn interval_tree_equals_naive_scan(ops in ops(12, 6)) {
        run(IntervalTree::new(), &ops, 20)?;
    }

    #[test]
    fn any_tree_forwards(ops in ops(8, 4), prio in any::<bool>()) {
        let kind = if prio { TreeKind::Prio } else { TreeKind::Interval };
        run(AnyTree::new(kind, 64), &ops, 12)?;
    }

    /// Random wide queries against the naive scan.
    #[test]
    fn wide_queries(ivs in prop::collection::vec((0u64..1 << 40, 0u64..1 << 30), 1..200),
                    qs in prop::collection::vec((0u64..1 << 40, 0u64..1 << 32), 1..20)) {
        let mut p = PrioTree::new(64);
        let mut i = IntervalTree::new();
        let mut n = NaiveIntervals::new();
        for (k, &(s, l)) in ivs.iter().enumerate() {
            let iv = Interval::new(s, s + l).unwrap();
            p.insert(iv, k as u32).unwrap();
            i.insert(iv, k as u32).unwrap();
            n.insert(iv, k as u32).unwrap();
        }
        p.check().map_err(TestCaseError::fail)?;
        i.check().map_err(TestCaseError::fail)?;
        for &(s, l) in &qs {
            let q = Interval::new(s, s + l).unwrap();
            let want = stab_set(&n, q);
            prop_assert_eq!(stab_set(&p, q), want.clone());
            prop_assert_eq!(stab_set(&i, q), want);
        }
    }
}

#[test]
fn vm_set_lists_yield_tree_node_then_head_then_members() {
    let mut t = PrioTree::new(64);
    let iv = Interval::new(3, 7).unwrap();
    let a = t.insert(iv, 'a').unwrap();
    let b = t.insert(iv, 'b').unwrap();
    let c = t.insert(iv, 'c').unwrap();
    t.insert_after(b, 'd').unwrap(); // right after the head
    t.insert(Interval::new(0, 1).unwrap(), 'x').unwrap();
    t.check().unwrap();
    assert_eq!(t.nodes(), 2, "equal intervals share one tree node");
    let got: String = t
        .stab(Interval::new(5, 5).unwrap())
        .map(|(_, &c)| c)
        .collect();
    assert_eq!(got, "abdc");
    // Removing the tree node promotes the list head into its place.
    t.remove(a).unwrap();
    t.check().unwrap();
    let got: String = t
        .stab(Interval::new(5, 5).unwrap())
        .map(|(_, &c)| c)
        .collect();
    assert_eq!(got, "bdc");
    t.remove(c).unwrap();
    t.remove(b).unwrap();
    t.check().unwrap();
    let got: String = t
        .stab(Interval::new(0, 9).unwrap())
        .map(|(_, &c)| c)
        .collect();
    assert_eq!(got, "dx");
}

#[test]
fn interval_tree_results_are_sorted_by_start() {
    let mut t = IntervalTree::new();
    for k in (0..200u64).rev() {
        t.insert(Interval::new(k, k + 50).unwrap(), k).unwrap();
    }
    let starts: Vec<u64> = t
        .stab(Interval::new(100, 120).unwrap())
        .map(|(_, &k)| k)
        .collect();
    assert_eq!(starts, (50..=120).collect::<Vec<_>>());
    assert!(t.height() <= 11, "AVL height {} for 200 nodes", t.height());
}

#[test]
fn index_bits_grow_with_the_largest_heap_index_and_reset_when_empty() {
    let mut t = PrioTree::new(64);
    assert_eq!(t.index_bits(), 1);
    let a = t.insert(Interval::new(0, 5).unwrap(), ()).unwrap();
    assert_eq!(t.index_bits(), 3);
    let b = t.insert(Interval::new(2, 1000).unwrap(), ()).unwrap();
    assert_eq!(t.index_bits(), 10);
    t.check().unwrap();
    t.remove(b).unwrap();
    assert_eq!(
        t.index_bits(),
        10,
        "index_bits never shrinks while non-empty"
    );
    t.remove(a).unwrap();
    assert_eq!(t.index_bits(), 1);
}

#[test]
fn one_start_many_ends_makes_a_skewed_overflow_chain() {
    // 1000 vmas from page 0 with different ends: all radix bits are 0, so the
    // tree descends into the size-keyed overflow levels.
    for bits in [32, 64] {
        let mut t = PrioTree::new(bits);
        for k in 0..1000u64 {
            t.insert(Interval::new(0, k).unwrap(), k).unwrap();
            t.check().unwrap();
        }
        // The chain fills every radix level and every overflow level: height
        // index_bits + BITS_PER_LONG + 1, which is spec/03-mm.md's 75 on 64-bit.
        assert_eq!(t.index_bits(), 10);
        assert_eq!(t.height(), 10 + bits as usize + 1, "BITS_PER_LONG {bits}");
        let mut it = t.stab(Interval::new(999, 999).unwrap());
        assert!(it.next().is_some());
        let mut i = IntervalTree::new();
        for k in 0..1000u64 {
            i.insert(Interval::new(0, k).unwrap(), k).unwrap();
        }
        assert!(i.height() <= 15);
    }
}

#[test]
fn a_query_that_stops_early_reads_fewer_nodes() {
    let mut t = PrioTree::new(64);
    for k in 0..500u64 {
        t.insert(Interval::new(k % 50, k % 50 + k / 50).unwrap(), k)
            .unwrap();
    }
    let q = Interval::new(20, 20).unwrap();
    let mut it = t.stab(q);
    it.next().unwrap();
    let first = it.visited();
    let all = it.count();
    let mut full = t.stab(q);
    full.by_ref().for_each(drop);
    assert!(first < full.visited(), "{first} vs {}", full.visited());
    assert!(all > 10);
}

#[test]
fn bad_intervals_are_refused_and_leave_the_tree_unchanged() {
    let mut t = PrioTree::new(32);
    t.insert(Interval::new(1, 2).unwrap(), 0).unwrap();
    assert!(Interval::new(5, 4).is_err());
    let r = t.insert(Interval { start: 5, last: 4 }, 1);
    assert!(r.is_err());
    let r = t.insert(
        Interval {
            start: 0,
            last: 1 << 32,
        },
        1,
    );
    assert!(r.unwrap_err().to_string().contains("32 bits"));
    assert_eq!(t.len(), 1);
    t.check().unwrap();
    assert!(t.remove(ItemId(7)).is_err());
}

#[test]
fn queries_read_height_plus_matches_nodes() {
    // O(height + matches): the pruning keeps a narrow query from reading the
    // tree. 4096 intervals spread over 2^20 pages, each short.
    let mut p = PrioTree::new(64);
    let mut i = IntervalTree::new();
    let mut x = 12345u64;
    for k in 0..4096u32 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let s = (x >> 20) & ((1 << 20) - 1);
        let iv = Interval::new(s, s + (x & 63)).unwrap();
        p.insert(iv, k).unwrap();
        i.insert(iv, k).unwrap();
    }
    for q in (0..1 << 20).step_by(4099) {
        let q = Interval::new(q, q).unwrap();
        for (name, visited, matches, height) in [
            {
                let mut s = p.stab(q);
                let m = s.by_ref().count();
                ("prio", s.visited(), m, p.height())
            },
            {
                let mut s = i.stab(q);
                let m = s.by_ref().count();
                ("interval", s.visited(), m, i.height())
            },
        ] {
            let bound = 3 * (height + matches) as u64;
            assert!(
                visited <= bound,
                "{name}: {visited} nodes read for {matches} matches, height {height}"
            );
        }
    }
}
