//! The radix priority search tree of `lib/prio_tree.c` (2.6.7 – 3.6), with the
//! `vm_set` duplicate lists of `mm/prio_tree.c`, generic over the payload.
//!
//! McCreight's priority search tree in its radix flavour. Every node holds a
//! closed interval `[radix, heap]`. The invariants:
//!
//! - **heap order**: a node's heap index is ≥ each child's (insertion breaks ties
//!   towards the smaller radix index, removal does not keep that preference);
//! - **radix placement**: the node at depth `d < index_bits` is reached by the
//!   bits of its radix index from bit `index_bits - 1` down; below that the path
//!   continues in *overflow levels* keyed by the size `heap - radix`, from bit
//!   `BITS_PER_LONG - 1` down, so the height is at most
//!   `index_bits + BITS_PER_LONG`;
//! - `index_bits` is the smallest width that holds the largest heap index; it
//!   grows by [`prio_tree_expand`](PrioTree) (the old maxima are chained down the
//!   left spine, since every old index has the new high bits 0) and is reset to 1
//!   only when the tree empties;
//! - an empty child link points at the node itself, and the root's parent is the
//!   root, as in the kernel;
//! - intervals are unique among tree nodes: a second item with an equal interval
//!   joins a `vm_set` list. The tree node's `head` points at the list head, whose
//!   `head` points back; further items are members on the head's circular list
//!   and have neither parent nor head. A query yields the tree node, then its
//!   head, then the members.
//!
//! Insertion walks down and *replaces* any node whose heap index is smaller (or
//! equal with a larger radix index), carrying the displaced node further down.
//! Removal walks from the node to a leaf, always taking the child with the
//! larger heap index, unlinks the leaf and promotes every node of the path one
//! level up. A stabbing query is a pruned pre-order walk: left only if the query
//! start is ≤ the left child's heap index, right only if additionally the right
//! subtree's smallest possible radix index is ≤ the query's last index. Results
//! come out in that pre-order, not sorted.
//!
//! The kernel's iterator keeps no stack and recomputes its mask and value when it
//! climbs through parent links; this one keeps the per-level state on a small
//! explicit stack, which visits exactly the same nodes in the same order.

use crate::interval::{Interval, IntervalIndex, ItemId, StabCount, TreeError};

/// "No node" for the `head` and list links.
const NIL: u32 = u32::MAX;

#[derive(Debug, Clone)]
struct Slot<T> {
    item: Option<T>,
    radix: u64,
    heap: u64,
    /// Tree parent; the node itself at the root; `NIL` when not a tree node
    /// (the kernel's `vm_set.parent`, which shares the word).
    parent: u32,
    /// Left child; the node itself when empty.
    left: u32,
    /// Right child; the node itself when empty.
    right: u32,
    /// `vm_set.head`: on a tree node its list head, on a list head the tree node.
    head: u32,
    /// `vm_set.list` links (circular; self when empty).
    prev: u32,
    next: u32,
}

/// A radix priority search tree with `vm_set` lists.
#[derive(Debug, Clone)]
pub struct PrioTree<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    root: u32,
    index_bits: u32,
    bits_per_long: u32,
    len: usize,
}

fn maxindex(bits: u32) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

impl<T> PrioTree<T> {
    /// An empty tree for a machine with `bits_per_long`-bit indices (32 or 64;
    /// anything else is clamped into that range).
    pub fn new(bits_per_long: u32) -> Self {
        PrioTree {
            slots: Vec::new(),
            free: Vec::new(),
            root: NIL,
            index_bits: 1,
            bits_per_long: bits_per_long.clamp(32, 64),
            len: 0,
        }
    }

    /// The current `index_bits`.
    pub fn index_bits(&self) -> u32 {
        self.index_bits
    }

    /// `BITS_PER_LONG` of this tree.
    pub fn bits_per_long(&self) -> u32 {
        self.bits_per_long
    }

    /// Number of distinct intervals (tree nodes).
    pub fn nodes(&self) -> usize {
        let mut n = 0;
        self.walk(|_, _| n += 1);
        n
    }

    fn s(&self, i: u32) -> &Slot<T> {
        &self.slots[i as usize]
    }

    fn sm(&mut self, i: u32) -> &mut Slot<T> {
        &mut self.slots[i as usize]
    }

    fn left_empty(&self, i: u32) -> bool {
        self.s(i).left == i
    }

    fn right_empty(&self, i: u32) -> bool {
        self.s(i).right == i
    }

    fn is_root(&self, i: u32) -> bool {
        self.s(i).parent == i
    }

    /// `INIT_PRIO_TREE_NODE`.
    fn init_node(&mut self, i: u32) {
        let s = self.sm(i);
        (s.parent, s.left, s.right) = (i, i, i);
    }

    fn alloc(&mut self, iv: Interval, item: T) -> Result<u32, TreeError> {
        let slot = Slot {
            item: Some(item),
            radix: iv.start,
            heap: iv.last,
            parent: NIL,
            left: NIL,
            right: NIL,
            head: NIL,
            prev: NIL,
            next: NIL,
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = slot;
                i
            }
            None => {
                let i = u32::try_from(self.slots.len())
                    .ok()
                    .filter(|&i| i != NIL)
                    .ok_or(TreeError::Full)?;
                self.slots.push(slot);
                i
            }
        };
        let s = self.sm(i);
        (s.prev, s.next) = (i, i);
        self.init_node(i);
        Ok(i)
    }

    fn live(&self, id: ItemId) -> Result<u32, TreeError> {
        match self.slots.get(id.0 as usize) {
            Some(s) if s.item.is_some() => Ok(id.0),
            _ => Err(TreeError::NoSuchItem(id)),
        }
    }

    fn check_interval(&self, iv: Interval) -> Result<(), TreeError> {
        Interval::new(iv.start, iv.last)?;
        if iv.last > maxindex(self.bits_per_long) {
            return Err(TreeError::TooLarge {
                last: iv.last,
                bits: self.bits_per_long,
            });
        }
        Ok(())
    }

    // ---- lib/prio_tree.c ---------------------------------------------------

    /// `prio_tree_replace`: `node` takes `old`'s place; returns `old`.
    fn raw_replace(&mut self, old: u32, node: u32) -> u32 {
        self.init_node(node);
        if self.is_root(old) {
            debug_assert_eq!(self.root, old);
            self.sm(node).parent = node;
            self.root = node;
        } else {
            let p = self.s(old).parent;
            self.sm(node).parent = p;
            if self.s(p).left == old {
                self.sm(p).left = node;
            } else {
                self.sm(p).right = node;
            }
        }
        if !self.left_empty(old) {
            let l = self.s(old).left;
            self.sm(node).left = l;
            self.sm(l).parent = node;
        }
        if !self.right_empty(old) {
            let r = self.s(old).right;
            self.sm(node).right = r;
            self.sm(r).parent = node;
        }
        old
    }

    /// `prio_tree_expand`: grows `index_bits` until `max_heap` fits, chaining the
    /// displaced maxima down the left spine below `node`, the new root.
    fn expand(&mut self, node: u32, max_heap: u64) -> u32 {
        let (mut first, mut last) = (NIL, NIL);
        if max_heap > maxindex(self.index_bits) {
            self.index_bits += 1;
        }
        while max_heap > maxindex(self.index_bits) {
            self.index_bits += 1;
            if self.root == NIL {
                continue;
            }
            let top = self.root;
            self.raw_remove(top);
            self.init_node(top);
            if first == NIL {
                first = top;
            } else {
                self.sm(last).left = top;
                self.sm(top).parent = last;
            }
            last = top;
        }
        self.init_node(node);
        if first != NIL {
            self.sm(node).left = first;
            self.sm(first).parent = node;
        } else {
            last = node;
        }
        if self.root != NIL {
            let r = self.root;
            self.sm(last).left = r;
            self.sm(r).parent = last;
        }
        self.root = node;
        node
    }

    /// `prio_tree_insert`: links `node`, or returns the tree node that already
    /// holds an equal interval.
    fn raw_insert(&mut self, mut node: u32) -> u32 {
        let res = node;
        let (mut radix, mut heap) = (self.s(node).radix, self.s(node).heap);
        if self.root == NIL || heap > maxindex(self.index_bits) {
            return self.expand(node, heap);
        }
        let mut cur = self.root;
        let mut mask = 1u64 << (self.index_bits - 1);
        let mut size_flag = false;
        while mask != 0 {
            let (mut r, mut h) = (self.s(cur).radix, self.s(cur).heap);
            if r == radix && h == heap {
                return cur;
            }
            if h < heap || (h == heap && r > radix) {
                let incoming = node;
                node = self.raw_replace(cur, node);
                cur = incoming;
                std::mem::swap(&mut r, &mut radix);
                std::mem::swap(&mut h, &mut heap);
            }
            let index = if size_flag { heap - radix } else { radix };
            if index & mask != 0 {
                if self.right_empty(cur) {
                    self.init_node(node);
                    self.sm(cur).right = node;
                    self.sm(node).parent = cur;
                    return res;
                }
                cur = self.s(cur).right;
            } else {
                if self.left_empty(cur) {
                    self.init_node(node);
                    self.sm(cur).left = node;
                    self.sm(node).parent = cur;
                    return res;
                }
                cur = self.s(cur).left;
            }
            mask >>= 1;
            if mask == 0 && !size_flag {
                mask = 1u64 << (self.bits_per_long - 1);
                size_flag = true;
            }
        }
        // Two nodes with equal radix index and equal size are equal intervals,
        // which the loop returns above; running out of bits is a broken tree.
        unreachable!("prio tree: no place for [{radix}, {heap}]")
    }

    /// `prio_tree_remove`: unlinks the max-heap leaf below `node` and promotes the
    /// path.
    fn raw_remove(&mut self, node: u32) {
        let mut cur = node;
        while !self.left_empty(cur) || !self.right_empty(cur) {
            if self.left_empty(cur) {
                cur = self.s(cur).right;
                continue;
            }
            if self.right_empty(cur) {
                cur = self.s(cur).left;
                continue;
            }
            let (l, r) = (self.s(cur).left, self.s(cur).right);
            cur = if self.s(l).heap >= self.s(r).heap {
                l
            } else {
                r
            };
        }
        if self.is_root(cur) {
            debug_assert_eq!(self.root, cur);
            self.root = NIL;
            self.index_bits = 1;
            return;
        }
        let p = self.s(cur).parent;
        if self.s(p).right == cur {
            self.sm(p).right = p;
        } else {
            self.sm(p).left = p;
        }
        while cur != node {
            let p = self.s(cur).parent;
            cur = self.raw_replace(p, cur);
        }
    }

    // ---- mm/prio_tree.c: the vm_set lists ------------------------------------

    fn list_empty(&self, i: u32) -> bool {
        self.s(i).next == i
    }

    /// `list_add(new, at)`: `new` right after `at`.
    fn list_add(&mut self, new: u32, at: u32) {
        let next = self.s(at).next;
        self.sm(new).prev = at;
        self.sm(new).next = next;
        self.sm(next).prev = new;
        self.sm(at).next = new;
    }

    fn list_del_init(&mut self, i: u32) {
        let (p, n) = (self.s(i).prev, self.s(i).next);
        self.sm(p).next = n;
        self.sm(n).prev = p;
        self.sm(i).prev = i;
        self.sm(i).next = i;
    }

    /// `vma_prio_tree_add(new, old)`: puts `new` (with `old`'s interval) on
    /// `old`'s `vm_set` list.
    fn set_add(&mut self, new: u32, old: u32) {
        self.sm(new).head = NIL;
        self.sm(new).parent = NIL;
        self.sm(new).prev = new;
        self.sm(new).next = new;
        if self.s(old).parent == NIL {
            // `old` is a member or a list head: right after it.
            self.list_add(new, old);
        } else if self.s(old).head != NIL {
            // A tree node with a list: at the tail of its head's list.
            let head = self.s(old).head;
            let tail = self.s(head).prev;
            self.list_add(new, tail);
        } else {
            // A tree node alone: `new` becomes its list head.
            self.sm(new).head = old;
            self.sm(old).head = new;
        }
    }

    /// `vma_prio_tree_remove`.
    fn set_remove(&mut self, v: u32) {
        let head = self.s(v).head;
        if head == NIL {
            if self.s(v).parent == NIL {
                self.list_del_init(v);
            } else {
                self.raw_remove(v);
            }
            return;
        }
        debug_assert_eq!(self.s(head).head, v, "vm_set head links disagree");
        if self.s(v).parent != NIL {
            // A tree node with a list: its head takes its place in the tree.
            let new_head = if self.list_empty(head) {
                NIL
            } else {
                let n = self.s(head).next;
                self.list_del_init(head);
                n
            };
            self.raw_replace(v, head);
            self.sm(head).head = new_head;
            if new_head != NIL {
                self.sm(new_head).head = head;
            }
        } else {
            // A list head: the first member becomes the head.
            let node = head;
            if self.list_empty(v) {
                self.sm(node).head = NIL;
            } else {
                let new_head = self.s(v).next;
                self.list_del_init(v);
                self.sm(node).head = new_head;
                self.sm(new_head).head = node;
            }
        }
    }

    /// Inserts `item` on the `vm_set` list right after the live item `after`,
    /// with the same interval: `dup_mmap`'s `vma_prio_tree_add(tmp, mpnt)`, which
    /// keeps a child's vma next to its parent's.
    pub fn insert_after(&mut self, after: ItemId, item: T) -> Result<ItemId, TreeError> {
        let old = self.live(after)?;
        let iv = Interval {
            start: self.s(old).radix,
            last: self.s(old).heap,
        };
        let new = self.alloc(iv, item)?;
        self.set_add(new, old);
        self.len += 1;
        Ok(ItemId(new))
    }

    /// Calls `f(node, depth)` for every tree node in pre-order (root depth 0).
    fn walk(&self, mut f: impl FnMut(u32, usize)) {
        if self.root == NIL {
            return;
        }
        let mut stack = vec![(self.root, 0usize)];
        while let Some((n, d)) = stack.pop() {
            f(n, d);
            if !self.right_empty(n) {
                stack.push((self.s(n).right, d + 1));
            }
            if !self.left_empty(n) {
                stack.push((self.s(n).left, d + 1));
            }
        }
    }

    fn check_tree(&self) -> Result<usize, String> {
        if self.root == NIL {
            return if self.index_bits == 1 {
                Ok(0)
            } else {
                Err(format!("empty tree with index_bits {}", self.index_bits))
            };
        }
        if !self.is_root(self.root) {
            return Err("the root's parent is not the root".into());
        }
        let (ib, bpl) = (self.index_bits, self.bits_per_long);
        let mut err = None;
        let mut count = 0;
        // (node, path bits as (level, bit)) via an explicit stack.
        let mut stack: Vec<(u32, Vec<bool>)> = vec![(self.root, Vec::new())];
        let mut seen = std::collections::HashSet::new();
        while let Some((n, path)) = stack.pop() {
            count += 1;
            let s = self.s(n);
            if s.item.is_none() || !seen.insert((s.radix, s.heap)) {
                err.get_or_insert(format!("node {n}: free slot or duplicate interval"));
            }
            if s.heap > maxindex(ib) {
                err.get_or_insert(format!("node {n}: heap {} beyond index_bits {ib}", s.heap));
            }
            if path.len() > (ib + bpl) as usize {
                err.get_or_insert(format!(
                    "node {n}: depth {} beyond {}",
                    path.len(),
                    ib + bpl
                ));
            }
            for (d, &bit) in path.iter().enumerate() {
                let d = d as u32;
                let want = if d < ib {
                    s.radix >> (ib - 1 - d) & 1 == 1
                } else if d - ib < bpl {
                    (s.heap - s.radix) >> (bpl - 1 - (d - ib)) & 1 == 1
                } else {
                    !bit
                };
                if want != bit {
                    err.get_or_insert(format!(
                        "node {n} [{}, {}]: misplaced at level {d}",
                        s.radix, s.heap
                    ));
                }
            }
            for (child, bit) in [(s.left, false), (s.right, true)] {
                if child == n {
                    continue;
                }
                let c = self.s(child);
                if c.parent != n {
                    err.get_or_insert(format!("node {child}: parent link is not {n}"));
                }
                if c.heap > s.heap {
                    err.get_or_insert(format!("node {child}: heap above its parent {n}"));
                }
                let mut p = path.clone();
                p.push(bit);
                stack.push((child, p));
            }
            if let Some(e) = err {
                return Err(e);
            }
        }
        Ok(count)
    }

    fn check_lists(&self, tree_nodes: usize) -> Result<(), String> {
        let mut on_lists = 0usize;
        let mut tree = 0usize;
        for (i, s) in self.slots.iter().enumerate() {
            let i = i as u32;
            if s.item.is_none() {
                continue;
            }
            if s.parent != NIL {
                tree += 1;
                if s.head != NIL {
                    let h = self.s(s.head);
                    if h.parent != NIL || h.head != i || h.item.is_none() {
                        return Err(format!("tree node {i}: its list head does not point back"));
                    }
                    // Walk the head's list: every member has no parent, no head,
                    // and the same interval.
                    let mut m = h.next;
                    on_lists += 1;
                    while m != s.head {
                        let ms = self.s(m);
                        if ms.item.is_none() || ms.parent != NIL || ms.head != NIL {
                            return Err(format!("member {m} of {i}'s list has a wrong role"));
                        }
                        if (ms.radix, ms.heap) != (s.radix, s.heap) || self.s(ms.next).prev != m {
                            return Err(format!("member {m} of {i}'s list: bad interval or link"));
                        }
                        on_lists += 1;
                        m = ms.next;
                    }
                    if (h.radix, h.heap) != (s.radix, s.heap) {
                        return Err(format!("head of {i}'s list has another interval"));
                    }
                }
            }
        }
        if tree != tree_nodes {
            return Err(format!(
                "{tree} slots claim a parent, {tree_nodes} reachable"
            ));
        }
        if tree + on_lists != self.len {
            return Err(format!(
                "{tree} tree nodes + {on_lists} listed, length {}",
                self.len
            ));
        }
        Ok(())
    }
}

/// What a pending stack entry asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// The node passed its parent's tests: report it if it overlaps.
    Visit,
    /// Read the left child's index and descend if it may hold a match.
    Left,
    /// Test the right subtree's smallest radix, then as for the left child.
    Right,
}

/// [`PrioTree`]'s stabbing query (`prio_tree_first`/`prio_tree_next` plus
/// `vma_prio_tree_next`'s list steps). Lazy like the kernel's: a caller that
/// stops after the first match (as `flush_dcache_page` does) has read only the
/// nodes the kernel would have read.
pub struct PrioStab<'a, T> {
    tree: &'a PrioTree<T>,
    q: Interval,
    /// Pending work: (step, node, mask, size_level, value) of that node's level.
    stack: Vec<(Step, u32, u64, u32, u64)>,
    /// The next list item to yield after a tree node with a `vm_set` list.
    list: u32,
    /// The tree node whose list is being yielded.
    list_owner: u32,
    visited: u64,
}

impl<'a, T> PrioStab<'a, T> {
    fn new(tree: &'a PrioTree<T>, q: Interval) -> Self {
        let mut it = PrioStab {
            tree,
            q,
            stack: Vec::new(),
            list: NIL,
            list_owner: NIL,
            visited: 0,
        };
        if tree.root != NIL {
            it.visited += 1;
            if q.start <= tree.s(tree.root).heap {
                let mask = 1u64 << (tree.index_bits - 1);
                it.stack.push((Step::Visit, tree.root, mask, 0, 0));
            }
        }
        it
    }

    /// The level state of a child of a node at `(mask, size_level)`.
    fn descend(&self, mask: u64, size_level: u32) -> (u64, u32) {
        let m = mask >> 1;
        if m != 0 {
            (m, if size_level > 0 { size_level + 1 } else { 0 })
        } else if size_level > 0 {
            (u64::MAX, size_level + 1)
        } else {
            (1u64 << (self.tree.bits_per_long - 1), 1)
        }
    }

    fn item(&self, i: u32) -> (ItemId, &'a T) {
        let t = self.tree.s(i).item.as_ref();
        (ItemId(i), t.expect("prio tree: a linked slot is live"))
    }
}

impl<'a, T> Iterator for PrioStab<'a, T> {
    type Item = (ItemId, &'a T);

    fn next(&mut self) -> Option<Self::Item> {
        let t = self.tree;
        if self.list != NIL {
            let cur = self.list;
            let head = t.s(self.list_owner).head;
            let next = t.s(cur).next;
            self.list = if next == head { NIL } else { next };
            return Some(self.item(cur));
        }
        while let Some((step, n, mask, size_level, value)) = self.stack.pop() {
            let s = t.s(n);
            match step {
                Step::Visit => {
                    self.stack.push((Step::Right, n, mask, size_level, value));
                    self.stack.push((Step::Left, n, mask, size_level, value));
                    if self.q.last >= s.radix && self.q.start <= s.heap {
                        if s.head != NIL {
                            self.list = s.head;
                            self.list_owner = n;
                        }
                        return Some(self.item(n));
                    }
                }
                Step::Left => {
                    if t.left_empty(n) {
                        continue;
                    }
                    self.visited += 1;
                    if self.q.start <= t.s(s.left).heap {
                        let (cm, cl) = self.descend(mask, size_level);
                        self.stack.push((Step::Visit, s.left, cm, cl, value));
                    }
                }
                Step::Right => {
                    if t.right_empty(n) {
                        continue;
                    }
                    let v = if size_level > 0 { value } else { value | mask };
                    if self.q.last < v {
                        continue;
                    }
                    self.visited += 1;
                    if self.q.start <= t.s(s.right).heap {
                        let (cm, cl) = self.descend(mask, size_level);
                        self.stack.push((Step::Visit, s.right, cm, cl, v));
                    }
                }
            }
        }
        None
    }
}

impl<T> StabCount for PrioStab<'_, T> {
    fn visited(&self) -> u64 {
        self.visited
    }
}

impl<T> IntervalIndex<T> for PrioTree<T> {
    type Stab<'a>
        = PrioStab<'a, T>
    where
        T: 'a;

    /// `vma_prio_tree_insert`.
    fn insert(&mut self, iv: Interval, item: T) -> Result<ItemId, TreeError> {
        self.check_interval(iv)?;
        let node = self.alloc(iv, item)?;
        let at = self.raw_insert(node);
        if at != node {
            self.set_add(node, at);
        }
        self.len += 1;
        Ok(ItemId(node))
    }

    fn remove(&mut self, id: ItemId) -> Result<(Interval, T), TreeError> {
        let i = self.live(id)?;
        self.set_remove(i);
        let s = self.sm(i);
        let iv = Interval {
            start: s.radix,
            last: s.heap,
        };
        let item = s.item.take().expect("checked live");
        (s.parent, s.left, s.right, s.head) = (NIL, NIL, NIL, NIL);
        self.free.push(i);
        self.len -= 1;
        Ok((iv, item))
    }

    fn get(&self, id: ItemId) -> Option<(Interval, &T)> {
        let s = self.slots.get(id.0 as usize)?;
        let t = s.item.as_ref()?;
        Some((
            Interval {
                start: s.radix,
                last: s.heap,
            },
            t,
        ))
    }

    fn len(&self) -> usize {
        self.len
    }

    fn stab(&self, q: Interval) -> PrioStab<'_, T> {
        PrioStab::new(self, q)
    }

    fn height(&self) -> usize {
        let mut h = 0;
        self.walk(|_, d| h = h.max(d + 1));
        h
    }

    fn check(&self) -> Result<(), String> {
        let n = self.check_tree()?;
        self.check_lists(n)
    }
}
