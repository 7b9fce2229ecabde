//! Arrays that remember which chunks changed since the last checkpoint, so that a
//! rollback copies back only those. This is what makes resetting a world between
//! explorer executions cost O(what the execution touched), not O(memory).

/// A fixed-length array of `T` with change tracking in chunks of `1 << shift`.
#[derive(Debug, Clone)]
pub(crate) struct Tracked<T: Copy> {
    cur: Vec<T>,
    base: Vec<T>,
    shift: u32,
    bits: Vec<u64>,
    list: Vec<u32>,
    armed: bool,
}

impl<T: Copy> Tracked<T> {
    /// `len` copies of `fill`, tracked in chunks of `1 << shift` elements.
    pub fn new(len: usize, fill: T, shift: u32) -> Self {
        let chunks = (len >> shift) + 1;
        Tracked {
            cur: vec![fill; len],
            base: Vec::new(),
            shift,
            bits: vec![0; chunks.div_ceil(64)],
            list: Vec::new(),
            armed: false,
        }
    }

    #[inline]
    fn touch_chunk(&mut self, chunk: usize) {
        let (w, b) = (chunk / 64, chunk % 64);
        if self.bits[w] & (1 << b) == 0 {
            self.bits[w] |= 1 << b;
            self.list.push(chunk as u32);
        }
    }

    /// Marks the chunks of `start..end` as changed (only after a checkpoint).
    #[inline]
    fn touch(&mut self, start: usize, end: usize) {
        if self.armed && start < end {
            for c in (start >> self.shift)..=((end - 1) >> self.shift) {
                self.touch_chunk(c);
            }
        }
    }

    #[inline]
    pub fn get(&self, i: usize) -> T {
        self.cur[i]
    }

    #[inline]
    pub fn set(&mut self, i: usize, v: T) {
        self.touch(i, i + 1);
        self.cur[i] = v;
    }

    #[inline]
    pub fn slice(&self, start: usize, len: usize) -> &[T] {
        &self.cur[start..start + len]
    }

    #[inline]
    pub fn slice_mut(&mut self, start: usize, len: usize) -> &mut [T] {
        self.touch(start, start + len);
        &mut self.cur[start..start + len]
    }

    /// Everything, for whole-array walks that do not change it.
    pub fn all(&self) -> &[T] {
        &self.cur
    }

    /// Makes the current contents the state `rollback` returns to.
    pub fn checkpoint(&mut self) {
        self.base.clone_from(&self.cur);
        for c in self.list.drain(..) {
            self.bits[c as usize / 64] = 0;
        }
        self.armed = true;
    }

    /// Restores the contents at the last checkpoint; returns whether there was one.
    pub fn rollback(&mut self) -> bool {
        if !self.armed {
            return false;
        }
        let chunk = 1usize << self.shift;
        for c in self.list.drain(..) {
            let start = (c as usize) << self.shift;
            let end = (start + chunk).min(self.cur.len());
            self.cur[start..end].copy_from_slice(&self.base[start..end]);
            self.bits[c as usize / 64] = 0;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollback_restores_only_what_changed() {
        let mut t = Tracked::new(100, 0u8, 3);
        t.set(5, 1);
        t.checkpoint();
        t.set(6, 2);
        t.slice_mut(90, 10).fill(9);
        assert_eq!(t.list.len(), 3);
        assert!(t.rollback());
        assert_eq!(t.get(5), 1);
        assert_eq!(t.get(6), 0);
        assert!(t.slice(90, 10).iter().all(|&b| b == 0));
        // Rolling back twice is the same state.
        t.set(0, 7);
        t.rollback();
        assert_eq!(t.all(), {
            let mut v = vec![0u8; 100];
            v[5] = 1;
            v
        });
    }
}
