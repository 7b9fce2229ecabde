//! What the hardware asks of the page tables, and who is asking.
//!
//! On a TLB miss the handlers walk the page table of the space concerned. The cache
//! does not own page tables: the caller supplies a [`Walker`] (the mm layer's walk)
//! which answers with the pte it finds. The handler then applies the 2.6.14 rules:
//! a present pte is inserted; for a *non-access* instruction (`fdc`, `pdc`, `fic`)
//! a pte with `_PAGE_FLUSH` is inserted as a flush-only translation; anything else
//! nullifies the instruction — silently — or, for a data access, faults.

use std::collections::HashMap;

use vipt_pte::{Pte, PteFlags, PAGE_SHIFT};

/// A space id (`mm->context`); 0 is the kernel's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct SpaceId(pub u32);

/// The kernel's space.
pub const KERNEL_SPACE: SpaceId = SpaceId(0);

/// Why the handler walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// Data TLB miss for a load or store: the miss handler also sets `ACCESSED`.
    Data,
    /// A store through a TLB entry without its dirty bit: the dirty-bit trap, which
    /// sets `DIRTY` (and `ACCESSED`) under `pa_dbit_lock`.
    DirtyTrap,
    /// Non-access TLB miss (`fdc`, `pdc`, `fic`).
    NonAccess,
    /// Instruction TLB miss.
    Ifetch,
}

/// The mm layer's page-table walk, as the TLB miss handlers see it.
pub trait Walker {
    /// The pte mapping `va` in `space`, after the handler's own update for
    /// `access` (accessed bit, dirty bit); `None` when pgd or pmd has no table.
    fn walk(&mut self, space: SpaceId, va: u64, access: Access) -> Option<Pte>;
}

/// A walker for kernel-only work: every user address is unmapped.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoWalker;

impl Walker for NoWalker {
    fn walk(&mut self, _: SpaceId, _: u64, _: Access) -> Option<Pte> {
        None
    }
}

/// A page table as a map from (space, virtual page) to pte, for tests, examples
/// and the C API until the mm layer brings real page tables. It updates the
/// accessed and dirty bits as the handlers do.
#[derive(Debug, Clone, Default)]
pub struct MapWalker {
    ptes: HashMap<(SpaceId, u64), Pte>,
}

impl MapWalker {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the pte for the page of `va` (`set_pte_at`).
    pub fn set(&mut self, space: SpaceId, va: u64, pte: Pte) {
        self.ptes.insert((space, va >> PAGE_SHIFT), pte);
    }

    /// The pte for the page of `va` (the zero pte if none).
    pub fn get(&self, space: SpaceId, va: u64) -> Pte {
        self.ptes
            .get(&(space, va >> PAGE_SHIFT))
            .copied()
            .unwrap_or(Pte::NONE)
    }
}

impl Walker for MapWalker {
    fn walk(&mut self, space: SpaceId, va: u64, access: Access) -> Option<Pte> {
        let pte = self.ptes.get_mut(&(space, va >> PAGE_SHIFT))?;
        if vipt_pte::pte_present(*pte) {
            let add = match access {
                Access::Data | Access::Ifetch => PteFlags::ACCESSED,
                Access::DirtyTrap => PteFlags::ACCESSED | PteFlags::DIRTY,
                Access::NonAccess => PteFlags::empty(),
            };
            *pte = Pte::from_raw(pte.raw() | add.bits());
        }
        Some(*pte)
    }
}

/// Who performs an access: a CPU, on behalf of user code or the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Who {
    /// The CPU.
    pub cpu: usize,
    /// User or kernel.
    pub agent: Agent,
}

impl Who {
    /// User code on `cpu`.
    pub const fn user(cpu: usize) -> Who {
        Who {
            cpu,
            agent: Agent::User,
        }
    }

    /// The kernel on `cpu`.
    pub const fn kernel(cpu: usize) -> Who {
        Who {
            cpu,
            agent: Agent::Kernel,
        }
    }
}

/// On whose behalf.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Agent {
    /// A user-mode access.
    User,
    /// A kernel-mode access.
    Kernel,
}
