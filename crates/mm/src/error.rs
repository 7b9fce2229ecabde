//! Errors of the mm model. A refused operation leaves the model unchanged.

use std::fmt;

use vipt_cache::CacheError;
use vipt_pte::PteError;

use crate::interval::TreeError;

/// Why an mm operation did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MmError {
    /// A bad argument (`-EINVAL`): unaligned, zero length, overlap, beyond the
    /// layout's address bits, no such object.
    Invalid(String),
    /// No free frame or swap slot (`-ENOMEM`).
    NoMemory(String),
    /// A user access to an address no vma maps, or without the right (`SIGSEGV`).
    Segv {
        /// The address.
        va: u64,
        /// A store.
        write: bool,
    },
    /// The hardware model refused an argument.
    Hw(CacheError),
    /// An encoding refused a value.
    Pte(PteError),
    /// The i_mmap index refused an operation.
    Tree(TreeError),
    /// A kernel invariant (`BUG_ON`) failed: the model found its own state wrong.
    Bug(String),
}

impl fmt::Display for MmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MmError::Invalid(s) => write!(f, "invalid argument: {s}"),
            MmError::NoMemory(s) => write!(f, "out of memory: {s}"),
            MmError::Segv { va, write } => write!(
                f,
                "segmentation fault: {} at {va:#x}",
                if *write { "store" } else { "load" }
            ),
            MmError::Hw(e) => write!(f, "{e}"),
            MmError::Pte(e) => write!(f, "{e}"),
            MmError::Tree(e) => write!(f, "{e}"),
            MmError::Bug(s) => write!(f, "kernel BUG: {s}"),
        }
    }
}

impl std::error::Error for MmError {}

impl From<CacheError> for MmError {
    fn from(e: CacheError) -> Self {
        MmError::Hw(e)
    }
}

impl From<PteError> for MmError {
    fn from(e: PteError) -> Self {
        MmError::Pte(e)
    }
}

impl From<TreeError> for MmError {
    fn from(e: TreeError) -> Self {
        MmError::Tree(e)
    }
}

/// Shorthand for an `Invalid` error.
pub(crate) fn invalid<T>(msg: impl Into<String>) -> Result<T, MmError> {
    Err(MmError::Invalid(msg.into()))
}
