//! # vipt-mm: the Linux 2.6.14 mm as the flush logic sees it
//!
//! Page tables of [`AtomicPte`](vipt_pte::AtomicPte) cells, vmas, `address_space`
//! with its `i_mmap` index (the radix priority search tree, or the 3.7 interval
//! tree), `struct page`, the kernel locks with a lock-order checker, the kernel
//! paths that race with `flush_dcache_page`, and the flush strategies.
//!
//! Every model operation a kernel path performs goes through a [`Cpu`] and
//! first passes the world's scheduling hook ([`Sched`]) with its footprint. In
//! the native mode the hook does nothing and real threads run kernel paths
//! concurrently; the explorer plugs its scheduler into the same hook.

pub mod any_tree;
pub mod arch;
pub mod cpu;
pub mod error;
pub mod fault;
pub mod filemap;
pub mod interval;
pub mod interval_tree;
pub mod kernel;
pub mod lock;
pub mod lockdep;
pub mod mapping;
pub mod mm_struct;
pub mod mmap;
pub mod mprotect;
pub mod page;
pub mod pgtable;
pub mod prio_tree;
pub mod rmap;
pub mod sched;
pub mod strategy;
pub mod stress;
pub mod vma;
pub mod world;

pub use any_tree::{AnyStab, AnyTree, TreeKind};
pub use arch::{Arch, Parisc};
pub use cpu::Cpu;
pub use error::MmError;
pub use interval::{Interval, IntervalIndex, ItemId, NaiveIntervals, StabCount, TreeError};
pub use interval_tree::IntervalTree;
pub use kernel::{CowSwitch, Kernel, MmShape, ZapLock};
pub use lock::{KLock, LockClass, LockId};
pub use lockdep::{Inversion, LockDep};
pub use mapping::AddressSpace;
pub use mm_struct::MmStruct;
pub use mmap::{MapFlags, Prot};
pub use page::Page;
pub use prio_tree::PrioTree;
pub use sched::{
    set_access_audit, AccessAudit, Contended, Footprint, Native, Object, Op, OpKind, Recorder,
    Sched,
};
pub use strategy::FlushStrategy;
pub use vma::{VmFlags, Vma};
pub use world::{Colouring, World, WorldConfig};
