//! Errors of the hardware model. A bad argument is refused before anything
//! changes; a fault is the hardware's answer to an access with no usable
//! translation, and it changes nothing either.

use std::fmt;

use crate::translate::SpaceId;

/// Why a hardware operation did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheError {
    /// The geometry cannot be built.
    BadGeometry(String),
    /// An access size other than 1, 2, 4 or 8.
    BadSize(u32),
    /// An access not naturally aligned (PA-RISC faults on those).
    Unaligned {
        /// The address.
        va: u64,
        /// The size.
        size: u32,
    },
    /// No such CPU.
    NoSuchCpu(usize),
    /// A physical address or frame beyond memory.
    NoSuchFrame(u64),
    /// Speculative move-in is switched off, or there is no TLB entry to move in through.
    NoMoveIn(String),
    /// A data access found no present translation (the mm handles the fault).
    PageFault {
        /// The space.
        space: SpaceId,
        /// The address.
        va: u64,
        /// A store.
        write: bool,
    },
    /// A present translation without the access right (for example a write to a
    /// COW page).
    Protection {
        /// The space.
        space: SpaceId,
        /// The address.
        va: u64,
        /// A store.
        write: bool,
    },
}

impl CacheError {
    /// Whether this is a fault the kernel handles, rather than a bad argument.
    pub fn is_fault(&self) -> bool {
        matches!(
            self,
            CacheError::PageFault { .. } | CacheError::Protection { .. }
        )
    }
}

impl fmt::Display for CacheError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CacheError::BadGeometry(why) => write!(f, "bad cache geometry: {why}"),
            CacheError::BadSize(s) => write!(f, "access size {s} is not 1, 2, 4 or 8"),
            CacheError::Unaligned { va, size } => {
                write!(f, "{size}-byte access at {va:#x} is not naturally aligned")
            }
            CacheError::NoSuchCpu(c) => write!(f, "no CPU {c}"),
            CacheError::NoSuchFrame(pa) => write!(f, "physical address {pa:#x} is beyond memory"),
            CacheError::NoMoveIn(why) => write!(f, "no speculative move-in: {why}"),
            CacheError::PageFault { space, va, write } => write!(
                f,
                "page fault: {} at {va:#x} in space {}",
                if *write { "store" } else { "load" },
                space.0
            ),
            CacheError::Protection { space, va, write } => write!(
                f,
                "protection fault: {} at {va:#x} in space {}",
                if *write { "store" } else { "load" },
                space.0
            ),
        }
    }
}

impl std::error::Error for CacheError {}
