//! The kernel side of a strategy written in C: the CPU a `flush_dcache_page`
//! callback runs on, and the kernel operations it may call on it.
//!
//! A C strategy is a function `int f(struct vipt_kcpu *cpu, struct vipt_page
//! *page, void *arg)` registered with `vipt_strategy_register`. When the model
//! calls the strategy, a [`KCpu`] context is set up for the call and `cpu` names
//! it. Every kernel operation here (`vipt_page_mapping`, `vipt_translation_exists`,
//! `vipt___flush_cache_page`, …) is one of `vipt_mm::strategy`'s helpers, so a C
//! strategy performs exactly the model operations, scheduling points and cost
//! counts of the Rust strategy it mirrors, and is explored the same way.
//!
//! Invariants that keep C from reaching undefined behaviour:
//! - `cpu`, mapping and vma handles are numbers, looked up in a per-thread table
//!   of live callback contexts. They are valid only during the callback that
//!   produced them; afterwards, or on another thread, they are `-EBADF`.
//! - The C function runs on a stack of its own (a coroutine nested in the
//!   CPU's), and every operation it calls is handed back to the CPU's stack
//!   and run there: a scheduling point, a model `BUG` or the explorer ending the
//!   execution happens in Rust frames only, and the C frames are never unwound.
//!   Another CPU's callback using a context whose operation is running gets
//!   `-EBUSY`, so the `Cpu` is never borrowed twice.
//! - A panic inside an operation (a model `BUG`, or the explorer ending the
//!   execution while this CPU is suspended in it) is caught on the CPU's stack
//!   and kept in the context; that call and every later one return
//!   `-ECANCELED`, and when the C function returns the panic is resumed on the
//!   Rust side. A model error (`-EINVAL`, …) also cancels the rest of the call
//!   and becomes the strategy's error, as `?` would in Rust.
//! - A callback that ignores `-ECANCELED` (`while (!translation_exists(…));`
//!   reads it as "no") is not waited for: after [`VIPT_CANCELLED_CALLS`] cancelled
//!   calls its stack is dropped without unwinding (it holds only C frames and
//!   this module's trivially droppable ones), and the execution ends with its
//!   failure. A callback that makes more than [`VIPT_MAX_KERNEL_CALLS`] calls in one
//!   `flush_dcache_page` is a runaway loop, a kernel BUG of that execution.
//!   Only a loop that calls nothing at all can hang; no library can stop that.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::ffi::{c_char, c_int, c_void};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use corosensei::stack::{DefaultStack, Stack};
use corosensei::{Coroutine, CoroutineResult, Yielder};

use vipt_mm::strategy as ks;
use vipt_mm::{AddressSpace, Cpu, FlushStrategy, MmError, MmStruct, Vma, World};

use crate::error::{errno, guard, need_out, write_out, Error, Result};
use crate::handle::{from_ptr, to_ptr};
use crate::world::vipt_mm_struct;

/// The CPU a strategy callback runs on. Opaque: a handle valid for that call.
pub struct vipt_kcpu {
    _private: [u8; 0],
}

/// A `struct page`. Opaque: it stands for a page frame number (see
/// `vipt_page_pfn`, `vipt_pfn_to_page`).
pub struct vipt_page {
    _private: [u8; 0],
}

/// A `struct address_space`. Opaque: a handle valid during the callback that
/// received it.
pub struct vipt_mapping {
    _private: [u8; 0],
}

/// A `struct vm_area_struct`. Opaque: a handle valid during the callback that
/// received it; its fields are copied into `struct vipt_vm_area`.
pub struct vipt_vma {
    _private: [u8; 0],
}

/// A vma's `struct file`, as `vma->vm_file` gives it. Opaque: it only names
/// the file in messages (`pr_err`'s `%pD` in `vipt_kernel.h`); a handle valid
/// during the callback that received it.
pub struct vipt_kfile {
    _private: [u8; 0],
}

/// `PG_locked`.
pub const VIPT_PG_LOCKED: u32 = 0;
/// `PG_dirty`.
pub const VIPT_PG_DIRTY: u32 = 4;
/// `PG_arch_1`, parisc's `PG_dcache_dirty`: the kernel alias still needs a
/// flush before the page is mapped into user space.
pub const VIPT_PG_DCACHE_DIRTY: u32 = 9;
/// `PG_swapcache`.
pub const VIPT_PG_SWAPCACHE: u32 = 15;

/// `vm_flags`: shared mapping (2.6.14 value).
pub const VIPT_VM_SHARED: u64 = 0x8;
/// `vm_flags`: may be shared.
pub const VIPT_VM_MAYSHARE: u64 = 0x80;
/// `vm_flags`: executable.
pub const VIPT_VM_EXEC: u64 = 0x4;
/// `vm_flags`: nonlinear.
pub const VIPT_VM_NONLINEAR: u64 = 0x80_0000;

/// A vma's fields, as kernel code reads them (`vma->vm_start`, …).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct vipt_vm_area {
    /// The vma, for the calls that take one.
    pub vma: *mut vipt_vma,
    /// First address.
    pub vm_start: u64,
    /// One past the last address.
    pub vm_end: u64,
    /// File offset of `vm_start`, in pages.
    pub vm_pgoff: u64,
    /// `VIPT_VM_*` flags.
    pub vm_flags: u64,
    /// The space id of the vma's mm.
    pub vm_space: u32,
    /// The vma's mm (`vma->vm_mm`), for the page-table walk and its locks; a
    /// handle valid during this callback (NULL if the mm is gone).
    pub vm_mm: *mut vipt_mm_struct,
    /// The vma's file (`vma->vm_file`), NULL for an anonymous vma; for
    /// messages only (`vipt_report_inequivalent_aliases_file`).
    pub vm_file: *mut vipt_kfile,
}

impl vipt_vm_area {
    /// No vma: every field zero or NULL.
    pub(crate) const fn zero() -> Self {
        vipt_vm_area {
            vma: std::ptr::null_mut(),
            vm_start: 0,
            vm_end: 0,
            vm_pgoff: 0,
            vm_flags: 0,
            vm_space: 0,
            vm_mm: std::ptr::null_mut(),
            vm_file: std::ptr::null_mut(),
        }
    }
}

/// `vma_prio_tree_foreach`'s iterator: set up by `vipt_prio_tree_iter_init`,
/// advanced by `vipt_vma_prio_tree_next`, which leaves each vma in `vma`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct vipt_prio_tree_iter {
    /// The mapping whose `i_mmap` is walked.
    pub mapping: *mut vipt_mapping,
    /// First file page of the stabbing query.
    pub r_index: u64,
    /// Last file page of the stabbing query.
    pub h_index: u64,
    /// Internal: the walk's handle (0 before the first step).
    pub walk: u64,
    /// Internal: vmas returned so far.
    pub pos: u64,
    /// The current vma.
    pub vma: vipt_vm_area,
}

/// `struct vipt_lock_ref` kind: the pte lock of `addr` in mm `obj`
/// (`pte_lockptr(mm, pmd)`: the split pte lock, or `page_table_lock`).
pub const VIPT_LOCK_PTE: u32 = 0;
/// `struct vipt_lock_ref` kind: `mapping->i_mmap_lock` of mapping `obj`.
pub const VIPT_LOCK_I_MMAP: u32 = 1;
/// `struct vipt_lock_ref` kind: `mm->mmap_sem` of mm `obj`, for writing.
pub const VIPT_LOCK_MMAP_SEM: u32 = 2;

/// Names a model lock for `vipt_spin_lock` / `vipt_spin_unlock`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct vipt_lock_ref {
    /// `VIPT_LOCK_*`.
    pub kind: u32,
    /// The mm or mapping handle the lock belongs to.
    pub obj: *mut c_void,
    /// For `VIPT_LOCK_PTE`: an address the pte table covers.
    pub addr: u64,
}

/// A strategy callback: flush the user aliases of `page` on `cpu`. Returns 0 or
/// a negative errno; `arg` is the pointer given at registration.
pub type vipt_flush_dcache_page_fn = Option<
    unsafe extern "C" fn(cpu: *mut vipt_kcpu, page: *mut vipt_page, arg: *mut c_void) -> c_int,
>;

/// An object a callback was handed.
enum Obj {
    Mapping(Arc<AddressSpace>),
    Vma(Arc<Vma>),
    Mm(Arc<MmStruct>),
    /// A prio-tree walk: the vmas found when it started.
    Walk(Vec<Arc<Vma>>),
}

/// Object handles: the context's id above, the object's index + 1 below.
const OBJ_BITS: u32 = 20;

/// One strategy call's context.
pub(crate) struct KCpu {
    id: u64,
    /// The CPU's world (for reporting a failed strategy).
    world: Arc<World>,
    /// The model CPU, borrowed mutably by the trampoline for the whole call
    /// and used only through this pointer until the C function returns.
    cpu: *mut Cpu,
    /// The C function is running on its stack (not waiting for an operation
    /// to run on the CPU's): only then may it ask for one.
    inside: Cell<bool>,
    /// The C stack's way back to the CPU's stack, set when it starts.
    yielder: Cell<*const Yielder<Answer, Ask>>,
    /// Operations called, and calls refused as cancelled, in this callback.
    calls: Cell<u64>,
    cancelled_calls: Cell<u64>,
    objects: RefCell<Vec<Obj>>,
    /// A panic caught inside an operation, resumed after the C function returns.
    panic: RefCell<Option<Box<dyn Any + Send>>>,
    /// The first model error, the strategy's result.
    error: RefCell<Option<MmError>>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// The contexts of the callbacks running (or suspended) on this thread.
    static ACTIVE: RefCell<Vec<(u64, *const KCpu)>> = const { RefCell::new(Vec::new()) };
}

/// Registers a context for its lifetime.
struct Registered<'a>(&'a KCpu);

impl<'a> Registered<'a> {
    fn new(k: &'a KCpu) -> Registered<'a> {
        ACTIVE.with(|a| a.borrow_mut().push((k.id, k as *const KCpu)));
        Registered(k)
    }
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        let id = self.0.id;
        let _ = ACTIVE.try_with(|a| a.borrow_mut().retain(|(i, _)| *i != id));
    }
}

/// Runs `f` with the live context named `id` on this thread.
fn with_active<R>(id: u64, f: impl FnOnce(&KCpu) -> Result<R>) -> Result<R> {
    let p = ACTIVE
        .with(|a| a.borrow().iter().find(|(i, _)| *i == id).map(|(_, p)| *p))
        .ok_or_else(|| {
            Error::new(
                errno::EBADF,
                format!(
                    "cpu {id:#x} is NULL, not a running strategy callback's, or another thread's"
                ),
            )
        })?;
    // SAFETY: a context is in ACTIVE only while `Registered` borrows it, and it
    // is removed before the context is dropped; entries are only read on their
    // own thread. The context's stack frame is alive (running or suspended).
    // Only shared access is made: every field is a Cell or RefCell.
    f(unsafe { &*p })
}

/// An operation's failure: a bad argument (the model is untouched, the call
/// can go on) or a model error (which ends the callback's work).
pub(crate) enum KErr {
    /// A bad argument.
    Arg(Error),
    /// A model error.
    Mm(MmError),
}

impl From<Error> for KErr {
    fn from(e: Error) -> KErr {
        KErr::Arg(e)
    }
}

impl From<MmError> for KErr {
    fn from(e: MmError) -> KErr {
        KErr::Mm(e)
    }
}

/// The errno of a model error.
pub(crate) fn mm_errno(e: &MmError) -> c_int {
    match e {
        MmError::Invalid(_) | MmError::Pte(_) | MmError::Tree(_) => errno::EINVAL,
        MmError::NoMemory(_) => errno::ENOMEM,
        MmError::Segv { .. } => errno::EADDRNOTAVAIL,
        MmError::Hw(_) => errno::EINVAL,
        MmError::Bug(_) => errno::EIO,
    }
}

impl From<MmError> for Error {
    fn from(e: MmError) -> Error {
        Error::new(mm_errno(&e), e.to_string())
    }
}

pub(crate) type KResult<T> = std::result::Result<T, KErr>;

/// Calls a strategy callback may make after it was cancelled (each returning
/// `-ECANCELED`) before its C frames are discarded without returning.
pub const VIPT_CANCELLED_CALLS: u64 = 256;

/// Kernel operations one strategy callback may call in one
/// `flush_dcache_page`; the next is a runaway-loop kernel BUG.
pub const VIPT_MAX_KERNEL_CALLS: u64 = 1 << 18;

/// What a callback's C stack asks of the CPU's stack.
enum Ask {
    /// Run this operation there (it may reach a scheduling point, or unwind).
    Run(*mut (dyn FnMut() + 'static)),
    /// The callback ignored `-ECANCELED` too often: drop its stack.
    Abandon,
}

/// The CPU's stack's answer.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// Start the C function, or the operation ran.
    Go,
    /// The operation unwound (the execution ended, or the model panicked).
    Cancelled,
}

impl KCpu {
    /// Whether the callback's work was cancelled (a panic or a model error).
    fn cancelled(&self) -> bool {
        self.panic.borrow().is_some() || self.error.borrow().is_some()
    }

    /// From the C stack: hands `ask` to the CPU's stack and waits for the
    /// answer. The caller must be this context's C function (`inside`).
    fn ask(&self, ask: Ask) -> Answer {
        let y = self.yielder.get();
        debug_assert!(self.inside.get() && !y.is_null());
        // SAFETY: `inside` is true only while this context's coroutine runs,
        // and its yielder (set at its start) lives as long as the coroutine.
        unsafe { (*y).suspend(ask) }
    }
}

/// One kernel operation of a callback: finds the context, refuses a cancelled
/// or busy one, runs `f` on its CPU's stack and keeps a panic or model error.
///
/// `f` may capture only what needs no drop (references, pointers, numbers):
/// if the callback is abandoned while `f` waits, it is forgotten.
pub(crate) fn kcall(
    name: &str,
    cpu: *mut vipt_kcpu,
    f: impl FnOnce(&KCpu, &mut Cpu) -> KResult<c_int>,
) -> c_int {
    guard(name, || {
        with_active(from_ptr(cpu), |k| {
            if !k.inside.get() {
                return Err(Error::new(
                    errno::EBUSY,
                    "cpu is in use by another simulated CPU's operation",
                ));
            }
            if k.cancelled() {
                let n = k.cancelled_calls.get() + 1;
                k.cancelled_calls.set(n);
                if n > VIPT_CANCELLED_CALLS {
                    k.ask(Ask::Abandon);
                    unreachable!("an abandoned callback was resumed");
                }
                return Err(Error::new(
                    errno::ECANCELED,
                    "this callback's CPU has failed or its execution ended: return",
                ));
            }
            let n = k.calls.get() + 1;
            k.calls.set(n);
            if n > VIPT_MAX_KERNEL_CALLS {
                *k.error.borrow_mut() = Some(MmError::Bug(format!(
                    "{name}: more than {VIPT_MAX_KERNEL_CALLS} kernel calls in one flush_dcache_page (a runaway loop)"
                )));
                return Err(Error::new(errno::ECANCELED, "runaway loop: return"));
            }
            let mut f = Some(f);
            let mut out: Option<KResult<c_int>> = None;
            let answer = {
                let mut job = || {
                    if let Some(f) = f.take() {
                        // SAFETY: `k.cpu` comes from the trampoline's `&mut
                        // Cpu`, which it does not use while a job runs; jobs
                        // run one at a time, on the CPU's stack.
                        let model = unsafe { &mut *k.cpu };
                        out = Some(f(k, model));
                    }
                };
                let job: &mut dyn FnMut() = &mut job;
                // SAFETY: only the lifetime is erased. The CPU's stack runs
                // the job before it answers, and this frame waits for that
                // answer, so the job outlives every use of the pointer.
                let job: *mut (dyn FnMut() + 'static) = unsafe { std::mem::transmute(job) };
                k.ask(Ask::Run(job))
            };
            if answer == Answer::Cancelled {
                return Err(Error::new(
                    errno::ECANCELED,
                    "the execution ended in this operation (or the model panicked): return",
                ));
            }
            match out.expect("the job ran") {
                Ok(v) => Ok(v),
                Err(KErr::Arg(e)) => Err(e),
                Err(KErr::Mm(e)) => {
                    let err = Error::from(e.clone());
                    *k.error.borrow_mut() = Some(e);
                    Err(err)
                }
            }
        })
    })
}

/// Stacks for callbacks' C code, kept per thread for the next callback.
mod stacks {
    use std::cell::RefCell;

    use corosensei::stack::DefaultStack;

    /// A callback's stack: room for kernel-style C under AddressSanitizer.
    pub(super) const SIZE: usize = 256 * 1024;

    thread_local! {
        static SPARE: RefCell<Vec<DefaultStack>> = const { RefCell::new(Vec::new()) };
    }

    pub(super) fn take() -> std::io::Result<DefaultStack> {
        match SPARE.with(|s| s.borrow_mut().pop()) {
            Some(s) => Ok(s),
            None => DefaultStack::new(SIZE),
        }
    }

    pub(super) fn give(stack: DefaultStack) {
        let _ = SPARE.try_with(|s| {
            let mut s = s.borrow_mut();
            if s.len() < 4 {
                s.push(stack);
            }
        });
    }
}

impl KCpu {
    fn add(&self, o: Obj) -> Result<u64> {
        let mut v = self.objects.borrow_mut();
        if v.len() + 1 >= 1 << OBJ_BITS {
            return Err(Error::new(
                errno::ENOMEM,
                "too many objects in one callback",
            ));
        }
        v.push(o);
        Ok((self.id << OBJ_BITS) | v.len() as u64)
    }

    fn obj<R>(&self, handle: u64, kind: &str, f: impl FnOnce(&Obj) -> Option<R>) -> Result<R> {
        let bad = || {
            Error::new(
                errno::EBADF,
                format!("{kind} handle {handle:#x} is NULL, stale or not this callback's"),
            )
        };
        if handle >> OBJ_BITS != self.id {
            return Err(bad());
        }
        let i = (handle & ((1 << OBJ_BITS) - 1))
            .checked_sub(1)
            .ok_or_else(bad)? as usize;
        self.objects.borrow().get(i).and_then(f).ok_or_else(bad)
    }

    /// A vma handed to C: its fields, and handles for it and its mm.
    pub(crate) fn vm_area(&self, vma: Arc<Vma>) -> Result<vipt_vm_area> {
        let mut a = vipt_vm_area {
            vma: std::ptr::null_mut(),
            vm_start: vma.vm_start,
            vm_end: vma.vm_end,
            vm_pgoff: vma.vm_pgoff,
            vm_flags: vma.vm_flags().bits(),
            vm_space: vma.space.0,
            vm_mm: std::ptr::null_mut(),
            vm_file: std::ptr::null_mut(),
        };
        if let Some(mm) = vma.mm() {
            a.vm_mm = to_ptr(self.add(Obj::Mm(mm))?);
        }
        let has_file = vma.vm_file.is_some();
        a.vma = to_ptr(self.add(Obj::Vma(vma))?);
        // The file is named through its vma: the one handle serves both.
        if has_file {
            a.vm_file = a.vma.cast();
        }
        Ok(a)
    }

    /// An mm handed to C.
    pub(crate) fn mm_handle(&self, mm: Arc<MmStruct>) -> Result<*mut vipt_mm_struct> {
        Ok(to_ptr(self.add(Obj::Mm(mm))?))
    }

    fn mapping(&self, m: *const vipt_mapping) -> Result<Arc<AddressSpace>> {
        self.obj(from_ptr(m), "mapping", |o| match o {
            Obj::Mapping(m) => Some(m.clone()),
            _ => None,
        })
    }

    pub(crate) fn mm(&self, m: *const vipt_mm_struct) -> Result<Arc<MmStruct>> {
        self.obj(from_ptr(m), "mm", |o| match o {
            Obj::Mm(m) => Some(m.clone()),
            _ => None,
        })
    }

    pub(crate) fn vma(&self, v: *const vipt_vma) -> Result<Arc<Vma>> {
        self.obj(from_ptr(v), "vma", |o| match o {
            Obj::Vma(v) => Some(v.clone()),
            _ => None,
        })
    }
}

/// The pfn a page handle stands for.
pub(crate) fn pfn_of(page: *const vipt_page) -> Result<u64> {
    from_ptr(page)
        .checked_sub(1)
        .ok_or_else(|| Error::new(errno::EBADF, "page is NULL"))
}

/// A C function registered as a strategy.
pub(crate) struct CStrategy {
    pub name: String,
    pub f: unsafe extern "C" fn(*mut vipt_kcpu, *mut vipt_page, *mut c_void) -> c_int,
    /// The registration's `arg`, passed back untouched.
    pub arg: usize,
}

impl FlushStrategy for CStrategy {
    fn name(&self) -> &str {
        &self.name
    }

    fn flush_dcache_page(&self, cpu: &mut Cpu, pfn: u64) -> std::result::Result<(), MmError> {
        let (f, arg) = (self.f, self.arg);
        run_c(
            cpu,
            &format!("strategy {}", self.name),
            |_| Ok(()),
            // SAFETY: `f` was non-NULL at registration and the registrant
            // promised a function of this type, safe to call from any
            // thread; the handles are numbers, never dereferenced.
            |k, _| unsafe { f(k, to_ptr(pfn + 1), arg as *mut c_void) },
        )
        .map(|_| ())
    }
}

/// Runs a C callback for the model: a [`KCpu`] context on `cpu` is set up,
/// `prepare` makes the objects the callback is handed (on this stack), and
/// `invoke` calls the C function on a stack of its own, every kernel
/// operation it asks for being run back here. Returns the callback's
/// non-negative return code. The kernel's hooks cannot fail: a callback that
/// returns a negative errno, whose operation failed, or that ignored
/// `-ECANCELED` is a kernel BUG naming `who`; a panic inside one of its
/// operations is resumed here after the C function returns.
pub(crate) fn run_c<T>(
    cpu: &mut Cpu,
    who: &str,
    prepare: impl FnOnce(&KCpu) -> Result<T>,
    invoke: impl FnOnce(*mut vipt_kcpu, &T) -> c_int,
) -> std::result::Result<c_int, MmError> {
    let k = KCpu {
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        world: cpu.world().clone(),
        cpu,
        inside: Cell::new(false),
        yielder: Cell::new(std::ptr::null()),
        calls: Cell::new(0),
        cancelled_calls: Cell::new(0),
        objects: RefCell::new(Vec::new()),
        panic: RefCell::new(None),
        error: RefCell::new(None),
    };
    let world = k.world.clone();
    let args = prepare(&k).map_err(|e| MmError::Invalid(format!("{who}: {}", e.message)))?;
    let stack =
        stacks::take().map_err(|e| MmError::NoMemory(format!("no stack for {who}: {e}")))?;
    let reg = Registered::new(&k);
    let (kref, aref) = (&k, &args);
    let body = move |y: &Yielder<Answer, Ask>, _: Answer| {
        kref.yielder.set(y);
        invoke(to_ptr(kref.id), aref)
    };
    // SAFETY: the coroutine borrows `k` and `args` and is finished (returned
    // or reset) before either is dropped, below in this function.
    let mut co = unsafe { Coroutine::with_stack_unchecked(stack, body) };
    let mut answer = Answer::Go;
    // The guard count of the C stack's own kernel operations.
    let mut inner_depth = 0;
    let rc = loop {
        k.inside.set(true);
        let outer_depth = crate::error::swap_guard_depth(inner_depth);
        let outside = crate::sanitizer::Outside::new();
        let r = co.resume(answer);
        drop(outside);
        inner_depth = crate::error::swap_guard_depth(outer_depth);
        k.inside.set(false);
        match r {
            CoroutineResult::Return(rc) => break Some(rc),
            CoroutineResult::Yield(Ask::Run(job)) => {
                // SAFETY: the C stack's frame that made the job waits for
                // this answer, so the job is alive (see `kcall`).
                let job = unsafe { &mut *job };
                answer = match catch_unwind(AssertUnwindSafe(job)) {
                    Ok(()) => Answer::Go,
                    Err(p) => {
                        *k.panic.borrow_mut() = Some(p);
                        Answer::Cancelled
                    }
                };
            }
            CoroutineResult::Yield(Ask::Abandon) => {
                // SAFETY: the C stack holds C frames and `kcall`'s, none
                // with anything to drop (a waiting job captures only
                // references and numbers; see `kcall`), so discarding it
                // is the `longjmp` force_reset asks for.
                unsafe { co.force_reset() };
                break None;
            }
        }
    };
    drop(reg);
    let stack: DefaultStack = co.into_stack();
    if rc.is_none() {
        let lo = stack.limit().get();
        crate::sanitizer::asan_unpoison(lo as *mut u8, stack.base().get() - lo);
    }
    stacks::give(stack);
    if let Some(p) = k.panic.take() {
        resume_unwind(p);
    }
    let abandoned = if rc.is_none() {
        format!("; it ignored -ECANCELED {VIPT_CANCELLED_CALLS} times and was stopped")
    } else {
        String::new()
    };
    if let Some(e) = k.error.take() {
        return Err(world.bug(format!("{who}: {e}{abandoned}")));
    }
    match rc {
        Some(rc) if rc < 0 => Err(world.bug(format!("{who} returned {rc}"))),
        Some(rc) => Ok(rc),
        None => Err(world.bug(format!("{who}{abandoned}"))),
    }
}

// ---- pages and mappings ------------------------------------------------------

/// The page handle of page frame `pfn` (`pfn_to_page`).
#[no_mangle]
pub extern "C" fn vipt_pfn_to_page(pfn: u64) -> *mut vipt_page {
    to_ptr(pfn.wrapping_add(1))
}

/// `page_to_pfn(page)`: writes the page frame number to `out`.
#[no_mangle]
pub extern "C" fn vipt_page_pfn(page: *const vipt_page, out: *mut u64) -> c_int {
    guard("vipt_page_pfn", || {
        write_out(out, "out", pfn_of(page)?)?;
        Ok(0)
    })
}

/// `page_mapping(page)`: writes the page's mapping to `out`, or NULL for an
/// anonymous page.
#[no_mangle]
pub extern "C" fn vipt_page_mapping(
    cpu: *mut vipt_kcpu,
    page: *const vipt_page,
    out: *mut *mut vipt_mapping,
) -> c_int {
    kcall("vipt_page_mapping", cpu, |k, c| {
        let pfn = pfn_of(page)?;
        need_out(out)?;
        let h = match ks::page_mapping(c, pfn)? {
            Some(m) => k.add(Obj::Mapping(m))?,
            None => 0,
        };
        write_out(out, "out", to_ptr(h))?;
        Ok(0)
    })
}

/// `mapping_mapped(mapping)`: 1 if any vma maps the file, else 0.
#[no_mangle]
pub extern "C" fn vipt_mapping_mapped(cpu: *mut vipt_kcpu, mapping: *const vipt_mapping) -> c_int {
    kcall("vipt_mapping_mapped", cpu, |k, c| {
        let m = k.mapping(mapping)?;
        Ok(c_int::from(ks::mapping_mapped(c, &m)))
    })
}

/// `set_bit(bit, &page->flags)` (`bit` a `PG_*` number below 32; parisc's
/// `PG_dcache_dirty` is `VIPT_PG_DCACHE_DIRTY`).
#[no_mangle]
pub extern "C" fn vipt_page_set_bit(
    cpu: *mut vipt_kcpu,
    page: *const vipt_page,
    bit: u32,
) -> c_int {
    kcall("vipt_page_set_bit", cpu, |_, c| {
        ks::page_set_bit(c, pfn_of(page)?, bit, "set_bit")?;
        Ok(0)
    })
}

/// `test_bit(bit, &page->flags)`: 1 if set, else 0.
#[no_mangle]
pub extern "C" fn vipt_page_test_bit(
    cpu: *mut vipt_kcpu,
    page: *const vipt_page,
    bit: u32,
) -> c_int {
    kcall("vipt_page_test_bit", cpu, |_, c| {
        Ok(c_int::from(ks::page_test_bit(
            c,
            pfn_of(page)?,
            bit,
            "test_bit",
        )?))
    })
}

/// `page->index`: writes the page's file offset, in pages, to `out`.
#[no_mangle]
pub extern "C" fn vipt_page_index(
    cpu: *mut vipt_kcpu,
    page: *const vipt_page,
    out: *mut u64,
) -> c_int {
    kcall("vipt_page_index", cpu, |_, c| {
        let pfn = pfn_of(page)?;
        need_out(out)?;
        let i = ks::page_index(c, pfn)?;
        write_out(out, "out", i)?;
        Ok(0)
    })
}

/// `flush_kernel_dcache_page(page_address(page))`: flush the kernel alias.
#[no_mangle]
pub extern "C" fn vipt_flush_kernel_dcache_page(
    cpu: *mut vipt_kcpu,
    page: *const vipt_page,
) -> c_int {
    kcall("vipt_flush_kernel_dcache_page", cpu, |_, c| {
        c.flush_kernel_dcache_page(pfn_of(page)?, "flush_kernel_dcache_page")?;
        Ok(0)
    })
}

/// `flush_dcache_mmap_lock(mapping)`: `write_lock_irq(&mapping->tree_lock)`.
#[no_mangle]
pub extern "C" fn vipt_flush_dcache_mmap_lock(
    cpu: *mut vipt_kcpu,
    mapping: *const vipt_mapping,
) -> c_int {
    kcall("vipt_flush_dcache_mmap_lock", cpu, |k, c| {
        let m = k.mapping(mapping)?;
        ks::flush_dcache_mmap_lock(c, &m);
        Ok(0)
    })
}

/// `flush_dcache_mmap_unlock(mapping)`.
#[no_mangle]
pub extern "C" fn vipt_flush_dcache_mmap_unlock(
    cpu: *mut vipt_kcpu,
    mapping: *const vipt_mapping,
) -> c_int {
    kcall("vipt_flush_dcache_mmap_unlock", cpu, |k, c| {
        let m = k.mapping(mapping)?;
        ks::flush_dcache_mmap_unlock(c, &m)?;
        Ok(0)
    })
}

// ---- the i_mmap walk -----------------------------------------------------------

/// Sets `iter` up for a stabbing query of `mapping`'s `i_mmap` over file pages
/// `[r_index, h_index]`. Touches nothing of the model.
#[no_mangle]
pub extern "C" fn vipt_prio_tree_iter_init(
    iter: *mut vipt_prio_tree_iter,
    mapping: *mut vipt_mapping,
    r_index: u64,
    h_index: u64,
) -> c_int {
    guard("vipt_prio_tree_iter_init", || {
        if r_index > h_index {
            return Err(Error::new(
                errno::EINVAL,
                format!("r_index {r_index} > h_index {h_index}"),
            ));
        }
        let it = vipt_prio_tree_iter {
            mapping,
            r_index,
            h_index,
            walk: 0,
            pos: 0,
            vma: vipt_vm_area::zero(),
        };
        write_out(iter, "iter", it)?;
        Ok(0)
    })
}

/// `vma_prio_tree_next`: the next vma of the walk into `iter->vma`; returns 1
/// when there is one, 0 at the end. The first call reads the index. Every call
/// needs `flush_dcache_mmap_lock` or `i_mmap_lock` held by this CPU, as the
/// kernel's `lockdep_assert_held` would have it: without, the call is a model
/// error (a kernel BUG of the execution, naming the function and the locks).
#[no_mangle]
pub extern "C" fn vipt_vma_prio_tree_next(
    cpu: *mut vipt_kcpu,
    iter: *mut vipt_prio_tree_iter,
) -> c_int {
    kcall("vipt_vma_prio_tree_next", cpu, |k, c| {
        let mut it = crate::error::read_in(iter, "iter")?;
        let m = k.mapping(it.mapping)?;
        // Every step of the walk needs the lock, as the kernel's does.
        ks::assert_i_mmap_held(c, &m, "vma_prio_tree_foreach")?;
        if it.walk == 0 {
            if it.r_index > it.h_index {
                return Err(Error::new(errno::EINVAL, "iter was not initialised").into());
            }
            let vmas = if it.r_index == it.h_index {
                ks::vmas_mapping(c, &m, it.r_index)?
            } else {
                ks::vmas_overlapping(c, &m, it.r_index, it.h_index)?
            };
            it.walk = k.add(Obj::Walk(vmas))?;
            it.pos = 0;
        }
        let next = k.obj(it.walk, "walk", |o| match o {
            Obj::Walk(v) => Some(v.get(it.pos as usize).cloned()),
            _ => None,
        })?;
        let Some(vma) = next else {
            write_out(iter, "iter", it)?;
            return Ok(0);
        };
        it.pos += 1;
        it.vma = k.vm_area(vma)?;
        write_out(iter, "iter", it)?;
        Ok(1)
    })
}

// ---- ptes and flushes ------------------------------------------------------------

/// Hugh's `translation_exists(vma, addr, pfn)`: 1 if the pte of `addr` is
/// present or flush-only and maps `pfn` (one read), else 0.
#[no_mangle]
pub extern "C" fn vipt_translation_exists(
    cpu: *mut vipt_kcpu,
    vma: *const vipt_vma,
    addr: u64,
    pfn: u64,
) -> c_int {
    kcall("vipt_translation_exists", cpu, |k, c| {
        let v = k.vma(vma)?;
        Ok(c_int::from(ks::translation_exists(c, &v, addr, pfn)?))
    })
}

/// The pre-patch `translation_exists(vma, addr)` with its caller's pfn check:
/// 1 if the pte is non-zero and a second read of it has pfn `pfn`, else 0.
#[no_mangle]
pub extern "C" fn vipt_translation_exists_legacy(
    cpu: *mut vipt_kcpu,
    vma: *const vipt_vma,
    addr: u64,
    pfn: u64,
) -> c_int {
    kcall("vipt_translation_exists_legacy", cpu, |k, c| {
        let v = k.vma(vma)?;
        Ok(c_int::from(ks::translation_exists_legacy(
            c, &v, addr, pfn,
        )?))
    })
}

/// 2.6.14's own `translation_exists(vma, addr)`, which returns a `pte_t *`:
/// one read of the pte of `addr` into `out`; returns 1 where the kernel
/// returns the pointer (the pte is not `pte_none`, or is flush-only), 0
/// where it returns NULL (no translation, or the vma's mm is gone). Counted
/// in `translation_checks`.
#[no_mangle]
pub extern "C" fn vipt_translation_exists_ptep(
    cpu: *mut vipt_kcpu,
    vma: *const vipt_vma,
    addr: u64,
    out: *mut u64,
) -> c_int {
    kcall("vipt_translation_exists_ptep", cpu, |k, c| {
        let v = k.vma(vma)?;
        need_out(out)?;
        let pte = ks::translation_exists_ptep(c, &v, addr)?;
        let raw = pte.map_or(0, |p| p.raw());
        write_out(out, "out", raw)?;
        let none = vipt_pte::pte_none(vipt_pte::Pte::from_raw(raw))
            && raw & vipt_pte::PteFlags::FLUSH.bits() == 0;
        Ok(c_int::from(pte.is_some() && !none))
    })
}

/// A read of the pte `vipt_translation_exists_ptep` found, through the
/// pointer it stands for (2.6.14's caller's `pte_pfn(*pte)`): writes the pte
/// of `addr` as it is now to `out`.
#[no_mangle]
pub extern "C" fn vipt_translation_exists_reread(
    cpu: *mut vipt_kcpu,
    vma: *const vipt_vma,
    addr: u64,
    out: *mut u64,
) -> c_int {
    kcall("vipt_translation_exists_reread", cpu, |k, c| {
        let v = k.vma(vma)?;
        need_out(out)?;
        let pte = ks::translation_exists_reread(c, &v, addr)?;
        write_out(out, "out", pte.raw())?;
        Ok(0)
    })
}

/// Reads the pte of `addr` in the vma's mm into `out` (0 if its table is
/// missing): the `pgd_offset` / `pmd_offset` / `pte_offset_map` walk and one
/// load of the pte.
#[no_mangle]
pub extern "C" fn vipt_pte_lookup(
    cpu: *mut vipt_kcpu,
    vma: *const vipt_vma,
    addr: u64,
    out: *mut u64,
) -> c_int {
    kcall("vipt_pte_lookup", cpu, |k, c| {
        let mm = k.vma(vma)?.mm();
        read_pte(c, mm.as_deref(), addr, out)
    })
}

/// One read of the pte of `addr` in `mm` into `out` (0 with no mm or no
/// table): `*pte_offset_map(pmd, addr)`.
fn read_pte(c: &Cpu, mm: Option<&MmStruct>, addr: u64, out: *mut u64) -> KResult<c_int> {
    need_out(out)?;
    let pte = match mm {
        Some(mm) => c.pte_read(mm, addr, "pte_offset_map")?.raw(),
        None => 0,
    };
    write_out(out, "out", pte)?;
    Ok(0)
}

/// `__flush_cache_page(vma, addr)`: flush the page through the user address
/// (nullified where the address has no translation).
#[no_mangle]
pub extern "C" fn vipt___flush_cache_page(
    cpu: *mut vipt_kcpu,
    vma: *const vipt_vma,
    addr: u64,
) -> c_int {
    kcall("vipt___flush_cache_page", cpu, |k, c| {
        let v = k.vma(vma)?;
        ks::__flush_cache_page(c, &v, addr)?;
        Ok(0)
    })
}

/// `flush_dcache_page_asm(page_to_phys(page), addr)`: flush the page through
/// this CPU's tmpalias window at `addr`'s colour.
#[no_mangle]
pub extern "C" fn vipt_flush_dcache_page_asm(
    cpu: *mut vipt_kcpu,
    page: *const vipt_page,
    addr: u64,
) -> c_int {
    kcall("vipt_flush_dcache_page_asm", cpu, |_, c| {
        ks::flush_dcache_page_asm(c, pfn_of(page)?, addr)?;
        Ok(0)
    })
}

/// `pdtlb_kernel(page_address(page))`: purge the kernel alias's translation
/// on every CPU (3.x and 6.10 `flush_kernel_dcache_page_addr`).
#[no_mangle]
pub extern "C" fn vipt_pdtlb_kernel(cpu: *mut vipt_kcpu, page: *const vipt_page) -> c_int {
    kcall("vipt_pdtlb_kernel", cpu, |_, c| {
        let kva = vipt_cache::Machine::kernel_va(pfn_of(page)? << vipt_pte::PAGE_SHIFT);
        c.flush_tlb_page(vipt_cache::KERNEL_SPACE, kva, "pdtlb_kernel");
        Ok(0)
    })
}

/// `flush_dcache_page_asm(__pa(kaddr), kaddr)`: the page flushed through this
/// CPU's tmpalias window at the colour of its kernel address (6.10
/// `flush_kernel_dcache_page_addr`, after `pdtlb_kernel`).
#[no_mangle]
pub extern "C" fn vipt_flush_dcache_page_asm_kernel(
    cpu: *mut vipt_kcpu,
    page: *const vipt_page,
) -> c_int {
    kcall("vipt_flush_dcache_page_asm_kernel", cpu, |_, c| {
        let pfn = pfn_of(page)?;
        let kva = vipt_cache::Machine::kernel_va(pfn << vipt_pte::PAGE_SHIFT);
        ks::flush_dcache_page_asm(c, pfn, kva)?;
        Ok(0)
    })
}

/// `flush_tlb_page(vma, addr)`: purge the user translation of `addr`.
#[no_mangle]
pub extern "C" fn vipt_flush_tlb_page(
    cpu: *mut vipt_kcpu,
    vma: *const vipt_vma,
    addr: u64,
) -> c_int {
    kcall("vipt_flush_tlb_page", cpu, |k, c| {
        let v = k.vma(vma)?;
        c.flush_tlb_page(v.space, addr, "flush_tlb_page");
        Ok(0)
    })
}

/// Reports "INEQUIVALENT ALIASES": the shared `vma` maps the page at `second`,
/// not congruent with `first`.
#[no_mangle]
pub extern "C" fn vipt_report_inequivalent_aliases(
    cpu: *mut vipt_kcpu,
    vma: *const vipt_vma,
    first: u64,
    second: u64,
) -> c_int {
    kcall("vipt_report_inequivalent_aliases", cpu, |k, c| {
        let v = k.vma(vma)?;
        ks::report_inequivalent_aliases(c, &v, first, second);
        Ok(0)
    })
}

/// Reports "INEQUIVALENT ALIASES" for the file `file` (a vma's `vm_file`),
/// as 6.10's `pr_err(… %pD, vma->vm_file)`: the file's shared mapping maps
/// the page at `second`, not congruent with `first`.
#[no_mangle]
pub extern "C" fn vipt_report_inequivalent_aliases_file(
    cpu: *mut vipt_kcpu,
    file: *const vipt_kfile,
    first: u64,
    second: u64,
) -> c_int {
    kcall("vipt_report_inequivalent_aliases_file", cpu, |k, c| {
        // A vm_file is named by its vma's handle (vipt_vm_area's vm_file).
        let v = k.vma(file.cast())?;
        if v.vm_file.is_none() {
            return Err(Error::new(errno::EBADF, "file handle names no file").into());
        }
        ks::report_inequivalent_aliases(c, &v, first, second);
        Ok(0)
    })
}

// ---- the page-table walk -------------------------------------------------------

/// `!pgd_none(*pgd_offset(mm, addr))`: 1 if the top-level entry of `addr` is
/// present. Lockless, like the kernel's walk (tables live as long as the mm).
#[no_mangle]
pub extern "C" fn vipt_pgd_present(
    cpu: *mut vipt_kcpu,
    mm: *const vipt_mm_struct,
    addr: u64,
) -> c_int {
    kcall("vipt_pgd_present", cpu, |k, _| {
        Ok(c_int::from(k.mm(mm)?.pgd.pgd_present(addr)?))
    })
}

/// `!pmd_none(*pmd_offset(pgd, addr))`: 1 if the pte table of `addr` exists.
#[no_mangle]
pub extern "C" fn vipt_pmd_present(
    cpu: *mut vipt_kcpu,
    mm: *const vipt_mm_struct,
    addr: u64,
) -> c_int {
    kcall("vipt_pmd_present", cpu, |k, _| {
        Ok(c_int::from(k.mm(mm)?.pgd.pmd_present(addr)?))
    })
}

/// `*pte_offset_map(pmd, addr)`: one read of the pte of `addr` in `mm` into
/// `out` (0 where its table is missing).
#[no_mangle]
pub extern "C" fn vipt_pte_offset_map(
    cpu: *mut vipt_kcpu,
    mm: *const vipt_mm_struct,
    addr: u64,
    out: *mut u64,
) -> c_int {
    kcall("vipt_pte_offset_map", cpu, |k, c| {
        let mm = k.mm(mm)?;
        read_pte(c, Some(&mm), addr, out)
    })
}

// ---- kernel locks ----------------------------------------------------------------

/// Function names given by C, kept for the model's `&'static str` (each
/// distinct name once; past the cap, the generic name).
fn intern(name: *const c_char, default: &'static str) -> Result<&'static str> {
    use std::collections::HashSet;
    static NAMES: parking_lot::Mutex<Option<HashSet<&'static str>>> =
        parking_lot::const_mutex(None);
    if name.is_null() {
        return Ok(default);
    }
    // SAFETY: non-NULL and, by the contract, a NUL-terminated string.
    let s = unsafe { std::ffi::CStr::from_ptr(name) }
        .to_str()
        .map_err(|_| Error::new(errno::EINVAL, "what is not UTF-8"))?;
    if s.is_empty() || s.len() > 64 {
        return Err(Error::new(errno::EINVAL, "what must be 1 to 64 bytes"));
    }
    let mut g = NAMES.lock();
    let set = g.get_or_insert_with(HashSet::new);
    if let Some(n) = set.get(s) {
        return Ok(n);
    }
    if set.len() >= 1024 {
        return Ok(default);
    }
    let leaked: &'static str = Box::leak(s.to_string().into_boxed_str());
    set.insert(leaked);
    Ok(leaked)
}

fn with_lock<R>(
    k: &KCpu,
    c: &mut Cpu,
    l: *const vipt_lock_ref,
    f: impl FnOnce(&mut Cpu, &vipt_mm::KLock) -> std::result::Result<R, MmError>,
) -> KResult<R> {
    let l = crate::error::read_in(l, "lock")?;
    Ok(match l.kind {
        VIPT_LOCK_PTE => {
            let mm = k.mm(l.obj.cast())?;
            on_pte_lock(c, &mm, l.addr, f)?
        }
        VIPT_LOCK_I_MMAP => f(c, &k.mapping(l.obj.cast())?.i_mmap_lock)?,
        VIPT_LOCK_MMAP_SEM => f(c, &k.mm(l.obj.cast())?.mmap_sem)?,
        other => {
            return Err(Error::new(
                errno::EINVAL,
                format!("lock kind {other} is not a VIPT_LOCK_*"),
            )
            .into())
        }
    })
}

/// `spin_lock(lock)` (`down_write` for `mmap_sem`) on the model lock `lock`
/// names, checked by the lock-order checker; `what` names the caller for
/// timelines and reports (NULL: "spin_lock"). Blocks, or in the explorer
/// waits, while another CPU holds it.
#[no_mangle]
pub extern "C" fn vipt_spin_lock(
    cpu: *mut vipt_kcpu,
    lock: *const vipt_lock_ref,
    what: *const c_char,
) -> c_int {
    kcall("vipt_spin_lock", cpu, |k, c| {
        let what = intern(what, "spin_lock")?;
        with_lock(k, c, lock, |c, l| {
            c.spin_lock(l, what);
            Ok(())
        })?;
        Ok(0)
    })
}

/// `spin_unlock(lock)`. Releasing a lock this CPU does not hold is a kernel
/// BUG of the execution (`-EIO`), and cancels the rest of the callback.
#[no_mangle]
pub extern "C" fn vipt_spin_unlock(
    cpu: *mut vipt_kcpu,
    lock: *const vipt_lock_ref,
    what: *const c_char,
) -> c_int {
    kcall("vipt_spin_unlock", cpu, |k, c| {
        let what = intern(what, "spin_unlock")?;
        with_lock(k, c, lock, |c, l| c.spin_unlock(l, what))?;
        Ok(0)
    })
}

/// `spin_lock(pte_lockptr(vma->vm_mm, addr))`: the pte lock of `addr`.
#[no_mangle]
pub extern "C" fn vipt_pte_lock(cpu: *mut vipt_kcpu, vma: *const vipt_vma, addr: u64) -> c_int {
    kcall("vipt_pte_lock", cpu, |k, c| {
        let mm = vma_mm(&*k.vma(vma)?)?;
        on_pte_lock(c, &mm, addr, |c, l| {
            c.spin_lock(l, "translation_exists");
            Ok(())
        })?;
        Ok(0)
    })
}

/// `spin_unlock(pte_lockptr(vma->vm_mm, addr))`.
#[no_mangle]
pub extern "C" fn vipt_pte_unlock(cpu: *mut vipt_kcpu, vma: *const vipt_vma, addr: u64) -> c_int {
    kcall("vipt_pte_unlock", cpu, |k, c| {
        let mm = vma_mm(&*k.vma(vma)?)?;
        on_pte_lock(c, &mm, addr, |c, l| c.spin_unlock(l, "translation_exists"))?;
        Ok(0)
    })
}

/// The mm of a vma that is still linked to one.
fn vma_mm(v: &Vma) -> std::result::Result<Arc<MmStruct>, MmError> {
    v.mm()
        .ok_or_else(|| MmError::Invalid("the vma's mm is gone".into()))
}

/// Runs `f` on the pte lock of `addr` in `mm` (`pte_lockptr(mm, pmd)`).
fn on_pte_lock<R>(
    c: &mut Cpu,
    mm: &MmStruct,
    addr: u64,
    f: impl FnOnce(&mut Cpu, &vipt_mm::KLock) -> std::result::Result<R, MmError>,
) -> std::result::Result<R, MmError> {
    let lock = c.pte_lockptr(mm, addr)?;
    f(c, lock)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vipt_mm::page::pg;
    use vipt_mm::VmFlags;

    /// The C constants are literals (cbindgen needs them so): they must be
    /// the model's values.
    #[test]
    fn constants_are_the_models() {
        assert_eq!(VIPT_VM_SHARED, VmFlags::VM_SHARED.bits());
        assert_eq!(VIPT_VM_MAYSHARE, VmFlags::VM_MAYSHARE.bits());
        assert_eq!(VIPT_VM_EXEC, VmFlags::VM_EXEC.bits());
        assert_eq!(VIPT_VM_NONLINEAR, VmFlags::VM_NONLINEAR.bits());
        assert_eq!(VIPT_PG_LOCKED, pg::PG_LOCKED);
        assert_eq!(VIPT_PG_DIRTY, pg::PG_DIRTY);
        assert_eq!(VIPT_PG_DCACHE_DIRTY, pg::PG_DCACHE_DIRTY);
        assert_eq!(VIPT_PG_SWAPCACHE, pg::PG_SWAPCACHE);
    }

    /// Object handles carry their context: another context's, a wrong kind
    /// and index 0 are refused.
    #[test]
    fn object_handles_belong_to_their_context() {
        let w = World::new(vipt_mm::WorldConfig::default()).unwrap();
        let mut cpu = Cpu::new(&w, 0).unwrap();
        let k = KCpu {
            id: 7,
            world: w.clone(),
            cpu: &mut cpu,
            inside: Cell::new(false),
            yielder: Cell::new(std::ptr::null()),
            calls: Cell::new(0),
            cancelled_calls: Cell::new(0),
            objects: RefCell::new(Vec::new()),
            panic: RefCell::new(None),
            error: RefCell::new(None),
        };
        let m = k.add(Obj::Mapping(w.new_file(1))).unwrap();
        let walk = k.add(Obj::Walk(Vec::new())).unwrap();
        assert!(k.mapping(to_ptr(m)).is_ok());
        assert_eq!(k.mapping(to_ptr(walk)).unwrap_err().errno, errno::EBADF);
        assert_eq!(k.vma(to_ptr(m)).unwrap_err().errno, errno::EBADF);
        assert_eq!(
            k.mapping(to_ptr(7 << OBJ_BITS)).unwrap_err().errno,
            errno::EBADF
        );
        assert_eq!(
            k.mapping(to_ptr(m + (1 << OBJ_BITS))).unwrap_err().errno,
            errno::EBADF
        );
        assert_eq!(k.mapping(to_ptr(walk + 1)).unwrap_err().errno, errno::EBADF);
    }
}
