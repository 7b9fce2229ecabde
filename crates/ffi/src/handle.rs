//! Handles that C holds: never pointers to Rust memory, but generation-checked
//! slot numbers dressed as opaque pointers. A NULL, freed or forged handle is found
//! out by a table look-up and answered with `-EBADF`; nothing is ever dereferenced.

use std::sync::Arc;

use parking_lot::Mutex;

use crate::error::{errno, Error, Result};

struct Slot<T> {
    generation: u32,
    value: Option<Arc<T>>,
}

struct Slots<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
}

/// A table of live objects of one kind, indexed by handle.
pub(crate) struct HandleTable<T> {
    kind: &'static str,
    inner: Mutex<Slots<T>>,
}

impl<T> HandleTable<T> {
    pub const fn new(kind: &'static str) -> Self {
        HandleTable {
            kind,
            inner: parking_lot::const_mutex(Slots {
                slots: Vec::new(),
                free: Vec::new(),
            }),
        }
    }

    /// Stores `value` and returns its handle (never 0).
    pub fn insert(&self, value: T) -> u64 {
        let mut s = self.inner.lock();
        let index = match s.free.pop() {
            Some(i) => i,
            None => {
                s.slots.push(Slot {
                    generation: 0,
                    value: None,
                });
                (s.slots.len() - 1) as u32
            }
        };
        let slot = &mut s.slots[index as usize];
        slot.generation = slot.generation.wrapping_add(1);
        slot.value = Some(Arc::new(value));
        (u64::from(slot.generation) << 32) | u64::from(index + 1)
    }

    fn locate(&self, handle: u64) -> Option<(usize, u32)> {
        let index = (handle & 0xffff_ffff).checked_sub(1)? as usize;
        Some((index, (handle >> 32) as u32))
    }

    fn stale(&self, handle: u64) -> Error {
        Error::new(
            errno::EBADF,
            format!("{} handle {handle:#x} is NULL, freed or not one", self.kind),
        )
    }

    /// The object behind a handle.
    pub fn get(&self, handle: u64) -> Result<Arc<T>> {
        let (index, generation) = self.locate(handle).ok_or_else(|| self.stale(handle))?;
        let s = self.inner.lock();
        match s.slots.get(index) {
            Some(slot) if slot.generation == generation => {
                slot.value.clone().ok_or_else(|| self.stale(handle))
            }
            _ => Err(self.stale(handle)),
        }
    }

    /// Frees a handle; a second free of the same handle is an error.
    pub fn remove(&self, handle: u64) -> Result<()> {
        let (index, generation) = self.locate(handle).ok_or_else(|| self.stale(handle))?;
        let mut s = self.inner.lock();
        let slot = match s.slots.get_mut(index) {
            Some(slot) if slot.generation == generation && slot.value.is_some() => slot,
            _ => return Err(self.stale(handle)),
        };
        slot.value = None;
        s.free.push(index as u32);
        Ok(())
    }
}

/// A handle as the opaque pointer C sees; it carries no provenance and is never
/// dereferenced.
pub(crate) fn to_ptr<P>(handle: u64) -> *mut P {
    std::ptr::without_provenance_mut(handle as usize)
}

/// The handle inside an opaque pointer.
pub(crate) fn from_ptr<P>(ptr: *const P) -> u64 {
    ptr.addr() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_and_forged_handles_are_refused() {
        let t = HandleTable::new("thing");
        let a = t.insert(1u32);
        assert_eq!(*t.get(a).unwrap(), 1);
        t.remove(a).unwrap();
        assert_eq!(t.get(a).unwrap_err().errno, errno::EBADF);
        assert!(t.remove(a).is_err());
        let b = t.insert(2u32);
        // Same slot, new generation: the old handle stays dead.
        assert_eq!(b & 0xffff_ffff, a & 0xffff_ffff);
        assert!(t.get(a).is_err());
        assert_eq!(*t.get(b).unwrap(), 2);
        for forged in [0, 1 << 40, u64::MAX, b + 1] {
            assert!(t.get(forged).is_err(), "{forged:#x}");
        }
    }
}
