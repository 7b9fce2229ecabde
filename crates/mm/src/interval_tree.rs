//! The interval tree that replaced the prio tree for `i_mmap` in Linux 3.7
//! (Michel Lespinasse's augmented rbtree, `include/linux/interval_tree_generic.h`),
//! as an augmented AVL tree.
//!
//! Nodes are ordered by `(start, id)`, every node carries the largest `last` of
//! its subtree (`__subtree_last`), and the AVL balance keeps the height below
//! 1.44 log2(n + 2). Equal intervals are separate nodes — no side lists. A
//! stabbing query is an in-order walk that skips a left subtree whose largest
//! `last` is below the query start and stops at the first node starting after
//! the query's last index, so results come out sorted by start, in
//! O(log n + matches).
//!
//! The kernel uses a red-black tree; AVL gives the same interface and bounds
//! with a simpler, recursive delete. Invariants checked by [`IntervalIndex::check`]:
//! search order, the subtree maxima, stored heights and the AVL balance.

use crate::interval::{Interval, IntervalIndex, ItemId, StabCount, TreeError};

const NIL: u32 = u32::MAX;

#[derive(Debug, Clone)]
struct Node<T> {
    item: Option<T>,
    iv: Interval,
    left: u32,
    right: u32,
    height: u32,
    subtree_last: u64,
}

/// An augmented balanced interval tree.
#[derive(Debug, Clone)]
pub struct IntervalTree<T> {
    nodes: Vec<Node<T>>,
    free: Vec<u32>,
    root: u32,
    len: usize,
}

impl<T> Default for IntervalTree<T> {
    fn default() -> Self {
        IntervalTree {
            nodes: Vec::new(),
            free: Vec::new(),
            root: NIL,
            len: 0,
        }
    }
}

impl<T> IntervalTree<T> {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    fn n(&self, i: u32) -> &Node<T> {
        &self.nodes[i as usize]
    }

    fn h(&self, i: u32) -> u32 {
        if i == NIL {
            0
        } else {
            self.n(i).height
        }
    }

    fn sl(&self, i: u32) -> Option<u64> {
        (i != NIL).then(|| self.n(i).subtree_last)
    }

    /// Recomputes height and subtree maximum from the children.
    fn update(&mut self, i: u32) {
        let (l, r) = (self.n(i).left, self.n(i).right);
        let h = 1 + self.h(l).max(self.h(r));
        let mut m = self.n(i).iv.last;
        for c in [l, r] {
            if let Some(x) = self.sl(c) {
                m = m.max(x);
            }
        }
        let node = &mut self.nodes[i as usize];
        node.height = h;
        node.subtree_last = m;
    }

    fn rotate_right(&mut self, i: u32) -> u32 {
        let l = self.n(i).left;
        self.nodes[i as usize].left = self.n(l).right;
        self.nodes[l as usize].right = i;
        self.update(i);
        self.update(l);
        l
    }

    fn rotate_left(&mut self, i: u32) -> u32 {
        let r = self.n(i).right;
        self.nodes[i as usize].right = self.n(r).left;
        self.nodes[r as usize].left = i;
        self.update(i);
        self.update(r);
        r
    }

    fn balance(&mut self, i: u32) -> u32 {
        self.update(i);
        let (l, r) = (self.n(i).left, self.n(i).right);
        if self.h(l) > self.h(r) + 1 {
            if self.h(self.n(l).left) < self.h(self.n(l).right) {
                let nl = self.rotate_left(l);
                self.nodes[i as usize].left = nl;
            }
            return self.rotate_right(i);
        }
        if self.h(r) > self.h(l) + 1 {
            if self.h(self.n(r).right) < self.h(self.n(r).left) {
                let nr = self.rotate_right(r);
                self.nodes[i as usize].right = nr;
            }
            return self.rotate_left(i);
        }
        i
    }

    fn key(&self, i: u32) -> (u64, u32) {
        (self.n(i).iv.start, i)
    }

    fn insert_at(&mut self, at: u32, new: u32) -> u32 {
        if at == NIL {
            return new;
        }
        if self.key(new) < self.key(at) {
            let l = self.insert_at(self.n(at).left, new);
            self.nodes[at as usize].left = l;
        } else {
            let r = self.insert_at(self.n(at).right, new);
            self.nodes[at as usize].right = r;
        }
        self.balance(at)
    }

    /// Removes the minimum of the subtree at `at`; returns (new subtree, min).
    fn take_min(&mut self, at: u32) -> (u32, u32) {
        let l = self.n(at).left;
        if l == NIL {
            return (self.n(at).right, at);
        }
        let (nl, min) = self.take_min(l);
        self.nodes[at as usize].left = nl;
        (self.balance(at), min)
    }

    fn remove_at(&mut self, at: u32, key: (u64, u32)) -> u32 {
        debug_assert!(at != NIL, "interval tree: removing a missing key");
        match key.cmp(&self.key(at)) {
            std::cmp::Ordering::Less => {
                let l = self.remove_at(self.n(at).left, key);
                self.nodes[at as usize].left = l;
            }
            std::cmp::Ordering::Greater => {
                let r = self.remove_at(self.n(at).right, key);
                self.nodes[at as usize].right = r;
            }
            std::cmp::Ordering::Equal => {
                let (l, r) = (self.n(at).left, self.n(at).right);
                if r == NIL {
                    return l;
                }
                let (nr, min) = self.take_min(r);
                self.nodes[min as usize].left = l;
                self.nodes[min as usize].right = nr;
                return self.balance(min);
            }
        }
        self.balance(at)
    }

    fn check_at(
        &self,
        i: u32,
        lo: Option<(u64, u32)>,
        hi: Option<(u64, u32)>,
    ) -> Result<(u32, u64, usize), String> {
        let node = self.n(i);
        if node.item.is_none() {
            return Err(format!("node {i} is free"));
        }
        let k = self.key(i);
        if lo.is_some_and(|lo| k < lo) || hi.is_some_and(|hi| k > hi) {
            return Err(format!("node {i} {} out of search order", node.iv));
        }
        let mut h = (0, 0);
        let mut m = node.iv.last;
        let mut count = 1;
        if node.left != NIL {
            let (lh, lm, c) = self.check_at(node.left, lo, Some(k))?;
            (h.0, m, count) = (lh, m.max(lm), count + c);
        }
        if node.right != NIL {
            let (rh, rm, c) = self.check_at(node.right, Some(k), hi)?;
            (h.1, m, count) = (rh, m.max(rm), count + c);
        }
        if h.0.abs_diff(h.1) > 1 {
            return Err(format!("node {i} out of balance: {} vs {}", h.0, h.1));
        }
        if node.height != 1 + h.0.max(h.1) || node.subtree_last != m {
            return Err(format!("node {i}: stale height or subtree_last"));
        }
        Ok((node.height, m, count))
    }
}

/// [`IntervalTree`]'s stabbing query: a pruned in-order walk.
pub struct IntervalStab<'a, T> {
    tree: &'a IntervalTree<T>,
    q: Interval,
    /// Nodes whose left subtree is done or pruned, to report and then go right.
    stack: Vec<u32>,
    visited: u64,
}

impl<'a, T> IntervalStab<'a, T> {
    /// Pushes `i` and its left spine, skipping left subtrees that end too early.
    fn push_left(&mut self, mut i: u32) {
        while i != NIL {
            self.visited += 1;
            let n = self.tree.n(i);
            if n.subtree_last < self.q.start {
                return;
            }
            self.stack.push(i);
            i = n.left;
        }
    }
}

impl<'a, T> Iterator for IntervalStab<'a, T> {
    type Item = (ItemId, &'a T);

    fn next(&mut self) -> Option<Self::Item> {
        while let Some(i) = self.stack.pop() {
            let n = self.tree.n(i);
            if n.iv.start > self.q.last {
                // Everything after this node in order starts later still.
                self.stack.clear();
                return None;
            }
            self.push_left(n.right);
            if n.iv.last >= self.q.start {
                let t = n
                    .item
                    .as_ref()
                    .expect("interval tree: a linked node is live");
                return Some((ItemId(i), t));
            }
        }
        None
    }
}

impl<T> StabCount for IntervalStab<'_, T> {
    fn visited(&self) -> u64 {
        self.visited
    }
}

impl<T> IntervalIndex<T> for IntervalTree<T> {
    type Stab<'a>
        = IntervalStab<'a, T>
    where
        T: 'a;

    fn insert(&mut self, iv: Interval, item: T) -> Result<ItemId, TreeError> {
        Interval::new(iv.start, iv.last)?;
        let node = Node {
            item: Some(item),
            iv,
            left: NIL,
            right: NIL,
            height: 1,
            subtree_last: iv.last,
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.nodes[i as usize] = node;
                i
            }
            None => {
                let i = u32::try_from(self.nodes.len())
                    .ok()
                    .filter(|&i| i != NIL)
                    .ok_or(TreeError::Full)?;
                self.nodes.push(node);
                i
            }
        };
        self.root = self.insert_at(self.root, i);
        self.len += 1;
        Ok(ItemId(i))
    }

    fn remove(&mut self, id: ItemId) -> Result<(Interval, T), TreeError> {
        match self.nodes.get(id.0 as usize) {
            Some(n) if n.item.is_some() => {}
            _ => return Err(TreeError::NoSuchItem(id)),
        }
        self.root = self.remove_at(self.root, self.key(id.0));
        let n = &mut self.nodes[id.0 as usize];
        let item = n.item.take().expect("checked live");
        (n.left, n.right) = (NIL, NIL);
        self.free.push(id.0);
        self.len -= 1;
        Ok((n.iv, item))
    }

    fn get(&self, id: ItemId) -> Option<(Interval, &T)> {
        let n = self.nodes.get(id.0 as usize)?;
        Some((n.iv, n.item.as_ref()?))
    }

    fn len(&self) -> usize {
        self.len
    }

    fn stab(&self, q: Interval) -> IntervalStab<'_, T> {
        let mut it = IntervalStab {
            tree: self,
            q,
            stack: Vec::new(),
            visited: 0,
        };
        it.push_left(self.root);
        it
    }

    fn height(&self) -> usize {
        self.h(self.root) as usize
    }

    fn check(&self) -> Result<(), String> {
        if self.root == NIL {
            return if self.len == 0 {
                Ok(())
            } else {
                Err(format!("empty tree with length {}", self.len))
            };
        }
        let (_, _, count) = self.check_at(self.root, None, None)?;
        if count != self.len {
            return Err(format!("{count} nodes reachable, length {}", self.len));
        }
        Ok(())
    }
}
