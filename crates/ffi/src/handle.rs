//! Handles that C holds: never pointers to Rust memory, but generation-checked
//! slot numbers dressed as opaque pointers. A NULL, freed or forged handle is found
//! out by a table look-up and answered with `-EBADF`; nothing is ever dereferenced.
//!
//! A handle's bits: the table's kind tag (8 bits, never 0), the slot's
//! generation (24 bits) and the slot index + 1 (32 bits). Every look-up checks
//! the tag first, so a handle of one kind passed as another (a world handle as
//! a file handle) is `-EBADF` even where the slot numbers coincide. A slot whose
//! generation is used up is retired rather than reused, so a freed handle never
//! comes back to life.

use std::sync::Arc;

use parking_lot::Mutex;

use crate::error::{errno, Error, Result};

/// The kinds of handle, one per table; the value is the handle's top byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum HandleKind {
    PteCell = 1,
    Hw = 2,
    Strategy = 3,
    Scenario = 4,
    Result = 5,
    World = 6,
    File = 7,
    Mm = 8,
    Cpu = 9,
    Arch = 10,
}

impl HandleKind {
    const ALL: [HandleKind; 10] = [
        HandleKind::PteCell,
        HandleKind::Hw,
        HandleKind::Strategy,
        HandleKind::Scenario,
        HandleKind::Result,
        HandleKind::World,
        HandleKind::File,
        HandleKind::Mm,
        HandleKind::Cpu,
        HandleKind::Arch,
    ];

    fn name(self) -> &'static str {
        match self {
            HandleKind::PteCell => "pte cell",
            HandleKind::Hw => "hw",
            HandleKind::Strategy => "strategy",
            HandleKind::Scenario => "scenario",
            HandleKind::Result => "result",
            HandleKind::World => "world",
            HandleKind::File => "file",
            HandleKind::Mm => "mm",
            HandleKind::Cpu => "cpu",
            HandleKind::Arch => "arch",
        }
    }

    fn of_tag(tag: u64) -> Option<HandleKind> {
        HandleKind::ALL.into_iter().find(|k| *k as u64 == tag)
    }
}

const TAG_SHIFT: u32 = 56;
const GENERATION_SHIFT: u32 = 32;
/// The last generation a slot may have; a slot freed at it is retired.
const MAX_GENERATION: u32 = (1 << (TAG_SHIFT - GENERATION_SHIFT)) - 1;

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
    kind: HandleKind,
    inner: Mutex<Slots<T>>,
}

impl<T> HandleTable<T> {
    pub const fn new(kind: HandleKind) -> Self {
        HandleTable {
            kind,
            inner: parking_lot::const_mutex(Slots {
                slots: Vec::new(),
                free: Vec::new(),
            }),
        }
    }

    /// Stores `value` and returns its handle (never 0); `-ENOMEM` when the
    /// table has no slot number left.
    pub fn insert(&self, value: T) -> Result<u64> {
        let mut s = self.inner.lock();
        let index = match s.free.pop() {
            Some(i) => i,
            None => {
                let i = u32::try_from(s.slots.len())
                    .ok()
                    .filter(|&i| i < u32::MAX)
                    .ok_or_else(|| {
                        Error::new(
                            errno::ENOMEM,
                            format!("no {} handle left (2^32 - 1 in use)", self.kind.name()),
                        )
                    })?;
                s.slots.push(Slot {
                    generation: 0,
                    value: None,
                });
                i
            }
        };
        let slot = &mut s.slots[index as usize];
        // A free slot's generation is below MAX_GENERATION (see `remove`).
        slot.generation += 1;
        slot.value = Some(Arc::new(value));
        Ok(((self.kind as u64) << TAG_SHIFT)
            | (u64::from(slot.generation) << GENERATION_SHIFT)
            | (u64::from(index) + 1))
    }

    /// The slot index and generation of a handle of this table's kind.
    fn locate(&self, handle: u64) -> Result<(usize, u32)> {
        let tag = handle >> TAG_SHIFT;
        if tag != self.kind as u64 {
            if let Some(k) = HandleKind::of_tag(tag) {
                return Err(Error::new(
                    errno::EBADF,
                    format!(
                        "{} handle {handle:#x} is a {} handle",
                        self.kind.name(),
                        k.name()
                    ),
                ));
            }
            return Err(self.stale(handle));
        }
        let index = (handle & 0xffff_ffff)
            .checked_sub(1)
            .ok_or_else(|| self.stale(handle))?;
        let generation = ((handle >> GENERATION_SHIFT) as u32) & MAX_GENERATION;
        Ok((index as usize, generation))
    }

    fn stale(&self, handle: u64) -> Error {
        Error::new(
            errno::EBADF,
            format!(
                "{} handle {handle:#x} is NULL, freed or not one",
                self.kind.name()
            ),
        )
    }

    /// The object behind a handle.
    pub fn get(&self, handle: u64) -> Result<Arc<T>> {
        let (index, generation) = self.locate(handle)?;
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
        let (index, generation) = self.locate(handle)?;
        let mut s = self.inner.lock();
        let slot = match s.slots.get_mut(index) {
            Some(slot) if slot.generation == generation && slot.value.is_some() => slot,
            _ => return Err(self.stale(handle)),
        };
        slot.value = None;
        if slot.generation < MAX_GENERATION {
            s.free.push(index as u32);
        }
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

// Handles are 64-bit values carried in pointers.
const _: () = assert!(usize::BITS == 64, "libvipt's handles need 64-bit pointers");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_and_forged_handles_are_refused() {
        let t = HandleTable::new(HandleKind::Hw);
        let a = t.insert(1u32).unwrap();
        assert_eq!(a >> TAG_SHIFT, HandleKind::Hw as u64);
        assert_eq!(*t.get(a).unwrap(), 1);
        t.remove(a).unwrap();
        assert_eq!(t.get(a).unwrap_err().errno, errno::EBADF);
        assert!(t.remove(a).is_err());
        let b = t.insert(2u32).unwrap();
        // Same slot, new generation: the old handle stays dead.
        assert_eq!(b & 0xffff_ffff, a & 0xffff_ffff);
        assert!(t.get(a).is_err());
        assert_eq!(*t.get(b).unwrap(), 2);
        for forged in [0, 1, 1 << 40, u64::MAX, b + 1, b & 0xff_ffff_ffff_ffff] {
            assert!(t.get(forged).is_err(), "{forged:#x}");
        }
    }

    /// The same slot numbers in two tables: each refuses the other's handle.
    #[test]
    fn a_handle_of_another_kind_is_refused() {
        let worlds = HandleTable::new(HandleKind::World);
        let files = HandleTable::new(HandleKind::File);
        let w = worlds.insert("world").unwrap();
        let f = files.insert("file").unwrap();
        assert_eq!(w & 0xff_ffff_ffff_ffff, f & 0xff_ffff_ffff_ffff);
        let e = files.get(w).unwrap_err();
        assert_eq!(e.errno, errno::EBADF);
        assert!(e.message.contains("is a world handle"), "{}", e.message);
        assert_eq!(worlds.remove(f).unwrap_err().errno, errno::EBADF);
        assert_eq!(*files.get(f).unwrap(), "file");
        assert_eq!(*worlds.get(w).unwrap(), "world");
    }

    /// A slot whose generation is used up is retired, not reused.
    #[test]
    fn a_used_up_slot_is_retired() {
        let t = HandleTable::new(HandleKind::Cpu);
        let a = t.insert(0u8).unwrap();
        t.inner.lock().slots[0].generation = MAX_GENERATION;
        let last = (a & !(u64::from(MAX_GENERATION) << GENERATION_SHIFT))
            | (u64::from(MAX_GENERATION) << GENERATION_SHIFT);
        t.remove(last).unwrap();
        let b = t.insert(1u8).unwrap();
        assert_eq!(b & 0xffff_ffff, 2, "a new slot");
        assert!(t.get(last).is_err() && t.get(a).is_err());
    }
}
