//! The deterministic executor: simulated CPUs as stackful coroutines that
//! switch only at the mm layer's scheduling points.
//!
//! Every simulated CPU is a coroutine of the thread's pool, kept from one
//! execution to the next, that runs one body per execution. A body stops at each
//! [`Sched::point`] and announces the operation it is about to perform; the
//! executor asks a [`Chooser`] which announced operation runs next, resumes
//! that CPU, which performs it and runs on to its next point. A CPU whose lock
//! acquisition failed is blocked until some CPU releases that lock. Nothing
//! else switches, so a run is a pure function of its choices.

use std::cell::{Cell, UnsafeCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::NonNull;

use corosensei::stack::DefaultStack;
use corosensei::{Coroutine, CoroutineResult, Yielder};
use vipt_mm::{Contended, Footprint, LockId, Op, OpKind, Sched};

use crate::schedule::MAX_CPUS;

/// Stack size for a simulated CPU: kernel paths are shallow, but the tree
/// iterators and formatting want headroom. Each stays with its coroutine.
const STACK_SIZE: usize = 256 << 10;

/// One step of an execution: which CPU performed which operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// The CPU (its index among the bodies).
    pub cpu: usize,
    /// The operation it performed.
    pub op: Op,
    /// The CPU that ran before could have gone on (a preemption).
    pub preemption: bool,
}

/// The CPUs that can take a step, in CPU order, and the operation each
/// will perform (borrowed from the executor: nothing is copied or listed
/// per step; the set is a bit set).
#[derive(Debug, Clone, Copy)]
pub struct Enabled<'a> {
    bits: u32,
    ops: &'a [*const Op; MAX_CPUS],
}

/// The CPUs of a bit set, in increasing order.
#[derive(Debug, Clone, Copy)]
pub struct Cpus(u32);

impl Iterator for Cpus {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        if self.0 == 0 {
            return None;
        }
        let c = self.0.trailing_zeros() as usize;
        self.0 &= self.0 - 1;
        Some(c)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        // Up to eight CPUs from a table (the baseline x86-64 has no popcnt,
        // and the enabled set's length is asked at every step).
        const POP8: [u8; 256] = {
            let mut t = [0; 256];
            let mut i = 0;
            while i < 256 {
                t[i] = (i as u32).count_ones() as u8;
                i += 1;
            }
            t
        };
        let n = match POP8.get(self.0 as usize) {
            Some(&n) => n as usize,
            None => self.0.count_ones() as usize,
        };
        (n, Some(n))
    }
}

impl ExactSizeIterator for Cpus {}

impl<'a> Enabled<'a> {
    /// The CPUs of `bits` (below [`MAX_CPUS`]), CPU `c` announcing
    /// `*ops[c]`.
    ///
    /// # Safety
    /// For every CPU in `bits`, `ops[c]` points to an operation that stays
    /// valid and unchanged for `'a`.
    unsafe fn new(bits: u32, ops: &'a [*const Op; MAX_CPUS]) -> Enabled<'a> {
        debug_assert!(bits >> MAX_CPUS == 0);
        Enabled { bits, ops }
    }

    /// How many CPUs can run.
    pub fn len(&self) -> usize {
        self.cpus().len()
    }

    /// No CPU can run.
    pub fn is_empty(&self) -> bool {
        self.bits == 0
    }

    /// The CPUs that can run, in order.
    pub fn cpus(&self) -> Cpus {
        Cpus(self.bits)
    }

    /// The `k`-th CPU that can run (`k` < `len`), in order.
    pub fn nth(&self, k: usize) -> Option<usize> {
        // The first eight CPUs from a table (asked at every random step).
        const NONE: u8 = u8::MAX;
        const NTH8: [[u8; 8]; 256] = {
            let mut t = [[NONE; 8]; 256];
            let mut bits = 0;
            while bits < 256 {
                let (mut c, mut k) = (0, 0);
                while c < 8 {
                    if bits & (1 << c) != 0 {
                        t[bits][k] = c as u8;
                        k += 1;
                    }
                    c += 1;
                }
                bits += 1;
            }
            t
        };
        if let (Some(row), true) = (NTH8.get(self.bits as usize), k < 8) {
            return (row[k] != NONE).then_some(row[k] as usize);
        }
        let mut b = self.bits;
        let mut k = k;
        while k > 0 && b != 0 {
            b &= b - 1;
            k -= 1;
        }
        (b != 0).then(|| b.trailing_zeros() as usize)
    }

    /// Whether `cpu` can run.
    pub fn contains(&self, cpu: usize) -> bool {
        cpu < MAX_CPUS && self.bits & (1 << cpu) != 0
    }

    /// The operation `cpu` will perform, if it can run.
    pub fn op(&self, cpu: usize) -> Option<&'a Op> {
        // SAFETY: `new`'s contract, for a CPU in the set.
        self.contains(cpu).then(|| unsafe { &*self.ops[cpu] })
    }

    /// Each CPU that can run with its operation.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &'a Op)> + 'a {
        let ops = self.ops;
        // SAFETY: `new`'s contract: every CPU of the set.
        self.cpus().map(move |c| (c, unsafe { &*ops[c] }))
    }

    /// An owned copy.
    pub fn to_vec(&self) -> Vec<(usize, Op)> {
        self.iter().map(|(c, op)| (c, *op)).collect()
    }
}

/// Decides, at every step, which enabled CPU runs.
pub trait Chooser {
    /// `enabled` lists every CPU that can take a step, in CPU order, with the
    /// operation it will perform; `prev` is the CPU that took the last step.
    /// Returns the CPU to run, or `None` to abandon the execution.
    fn choose(&mut self, step: usize, prev: Option<usize>, enabled: Enabled<'_>) -> Option<usize>;

    /// Whether `choose` looks at the enabled CPUs' operations (the default).
    /// A chooser that does not (random, PCT, a replay) lets the executor
    /// start each CPU only when it is first chosen, which spares two
    /// coroutine switches per CPU and execution; until a CPU has started,
    /// its operation reads as a placeholder (a read of nothing). The runs are
    /// the same for the same choices, but for a CPU that would finish without
    /// reaching a scheduling point: it can be chosen once, a choice that
    /// then takes no step.
    fn reads_ops(&self) -> bool {
        true
    }

    /// Whether the chooser wants to see the execution's state at each
    /// choice ([`Chooser::choose_viewing`]; the state cache does). No by
    /// default.
    fn views_state(&self) -> bool {
        false
    }

    /// Whether the chooser wants to know what each step touched beyond its
    /// announced footprint: the model's audited accesses
    /// (`vipt_mm::set_access_audit`), read with `touched` during and after
    /// the execution. Sleep sets do: two steps commute only if neither
    /// touched, by announcement or in fact, what the other touched. No by
    /// default.
    fn wants_touched(&self) -> bool {
        false
    }

    /// [`Chooser::choose`] with a view of the state the choice is made in;
    /// called instead of it when [`Chooser::views_state`] says so and the
    /// runner has a view to give.
    fn choose_viewing(
        &mut self,
        step: usize,
        prev: Option<usize>,
        enabled: Enabled<'_>,
        view: &dyn StateView,
    ) -> Option<usize> {
        let _ = view;
        self.choose(step, prev, enabled)
    }
}

/// The state of an execution between two steps, as a chooser may look at
/// it: the program's words for it ([`crate::Program::fingerprint`] and
/// [`crate::Program::observe`]).
pub trait StateView {
    /// Appends the words of the state to `out`; false when it cannot be
    /// read now (nothing is cached then).
    fn fingerprint(&self, out: &mut Vec<u64>) -> bool;

    /// Appends the words of what `op`, which `cpu` is about to perform,
    /// will read.
    fn observe(&self, cpu: usize, op: &Op, out: &mut Vec<u64>);
}

/// A borrowed chooser (a `&mut dyn Chooser`, say) chooses as it would.
impl<C: Chooser + ?Sized> Chooser for &mut C {
    fn choose(&mut self, step: usize, prev: Option<usize>, enabled: Enabled<'_>) -> Option<usize> {
        (**self).choose(step, prev, enabled)
    }

    fn reads_ops(&self) -> bool {
        (**self).reads_ops()
    }

    fn views_state(&self) -> bool {
        (**self).views_state()
    }

    fn wants_touched(&self) -> bool {
        (**self).wants_touched()
    }

    fn choose_viewing(
        &mut self,
        step: usize,
        prev: Option<usize>,
        enabled: Enabled<'_>,
        view: &dyn StateView,
    ) -> Option<usize> {
        (**self).choose_viewing(step, prev, enabled, view)
    }
}

/// Why an execution ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// Every CPU finished.
    Finished,
    /// Every live CPU was blocked on a lock: each CPU with the acquisition
    /// it waits in.
    Deadlock(Vec<(usize, Op)>),
    /// A body panicked (a model bug or a failed assertion), with the message.
    Panic(String),
    /// The step limit was reached (livelock or a runaway body).
    StepLimit,
    /// The chooser gave up (a redundant or diverging execution).
    Abandoned,
}

/// What one execution did.
#[derive(Debug, Clone)]
pub struct Run {
    /// Every step in order.
    pub steps: Vec<Step>,
    /// How it ended.
    pub ending: Ending,
}

impl Run {
    /// The CPU of every step (the schedule).
    pub fn choices(&self) -> Vec<usize> {
        self.steps.iter().map(|s| s.cpu).collect()
    }

    /// Preemptions: switches away from a CPU that could have gone on.
    pub fn preemptions(&self) -> usize {
        self.steps.iter().filter(|s| s.preemption).count()
    }
}

/// The executor's state that the scheduling hook reaches through a
/// thread-local pointer while an execution runs on this thread. One is kept
/// per thread and reset for each execution (it is a few KiB of arrays).
///
/// Decisions are made where the step is announced: `point` asks the chooser
/// itself and, when the same CPU goes on, returns without switching; only a
/// different choice (or the end) suspends back to the executor.
///
/// The step path (announce, decide, record) reaches `pending`, `held` and
/// `steps` through `UnsafeCell`s rather than `RefCell`s (the borrow flags
/// were a tenth of a step). That is sound because they are only reached on
/// this thread, by `point`, `contended` and `decide` and by the executor
/// between two resumes; none of these runs inside another (a chooser that
/// reached a scheduling point would: `DECIDING` refuses it), and no
/// reference into them outlives the call that made it.
struct Ctx {
    /// The CPU whose coroutine is running.
    cur: Cell<usize>,
    /// Number of CPUs.
    n: Cell<usize>,
    /// Each CPU's yielder, set when its coroutine starts the CPU's body.
    yielders: [Cell<*const Yielder<usize, Yielded>>; MAX_CPUS],
    /// Each live CPU's announced next operation (every started CPU has
    /// one; a CPU not started yet, the placeholder). It is the operation its
    /// `point` call borrowed, which lives as long as that call, and the call
    /// is suspended (or deciding) as long as the CPU is runnable; a blocked
    /// CPU's points to its lock acquisition, kept in `held` because its
    /// `point` has returned.
    pending: UnsafeCell<[*const Op; MAX_CPUS]>,
    /// Each blocked CPU's acquisition.
    held: UnsafeCell<[Op; MAX_CPUS]>,
    /// The lock each blocked CPU waits for.
    blocked: [Cell<Option<LockId>>; MAX_CPUS],
    /// Bit i: CPU i has not finished.
    live: Cell<u32>,
    /// Bit i: CPU i has not finished and is not blocked.
    runnable: Cell<u32>,
    /// The execution's state ([`RUNNING`], [`FIRST`], [`DECIDING`],
    /// [`ABORTING`]): one byte, so that a point tests all four at once.
    flags: Cell<u8>,
    /// The chooser (type and lifetime erased: set for the whole of one
    /// `execute`, cleared before it returns, only ever called through this
    /// pointer, by `decide`, and never re-entered).
    chooser: Cell<*mut ()>,
    /// `decide` for the chooser's type (the chooser is inlined into it, not
    /// called through a vtable at every step).
    decide: Cell<fn(&Ctx) -> Option<usize>>,
    /// The body every CPU runs (lifetime erased like the chooser's).
    body: Cell<Option<BodyPtr>>,
    /// Steps after which the run ends.
    max_steps: Cell<usize>,
    /// The steps so far.
    steps: UnsafeCell<Vec<Step>>,
    /// The CPU of the last step.
    prev: Cell<Option<usize>>,
    /// The same as a bit (0 before the first step), kept beside it: deriving
    /// it in `decide` cost seven instructions a step (4% of a small
    /// execution).
    prev_bit: Cell<u32>,
    /// The ending `decide` set when it chose no CPU.
    end: Cell<Option<Ending>>,
    /// The message of the body that panicked.
    panic: Cell<Option<String>>,
    /// The thread's simulated CPUs, kept from one execution to the next
    /// (each waits for its next body; see [`Co`]). Only `Cores` reaches
    /// them, on the executor's side (no body does).
    cos: UnsafeCell<Vec<Co>>,
}

/// `Ctx::flags`: decisions may be made inline (every CPU reached its first
/// point, or CPUs start when first chosen).
const RUNNING: u8 = 1;
/// `Ctx::flags`: the CPU now running was started by the last step, which
/// waits for its operation (the CPU's first announcement).
const FIRST: u8 = 2;
/// `Ctx::flags`: the chooser is running (it must not reach a scheduling
/// point).
const DECIDING: u8 = 4;
/// `Ctx::flags`: the execution has ended; a CPU resumed now unwinds its
/// body.
const ABORTING: u8 = 8;

/// An execution's body, its lifetime erased (see `Ctx::body`).
type BodyPtr = NonNull<dyn Fn(usize) + 'static>;

/// An announced operation's placeholder before the CPU's first point.
const NO_OP: Op = Op::new(OpKind::PteRead, "", Footprint::NONE);

impl Ctx {
    fn new() -> Ctx {
        Ctx {
            cur: Cell::new(0),
            n: Cell::new(0),
            yielders: std::array::from_fn(|_| Cell::new(std::ptr::null())),
            pending: UnsafeCell::new([&NO_OP; MAX_CPUS]),
            held: UnsafeCell::new([NO_OP; MAX_CPUS]),
            blocked: std::array::from_fn(|_| Cell::new(None)),
            live: Cell::new(0),
            runnable: Cell::new(0),
            flags: Cell::new(0),
            chooser: Cell::new(std::ptr::null_mut()),
            decide: Cell::new(no_chooser),
            body: Cell::new(None),
            max_steps: Cell::new(0),
            steps: UnsafeCell::new(Vec::new()),
            prev: Cell::new(None),
            prev_bit: Cell::new(0),
            end: Cell::new(None),
            panic: Cell::new(None),
            cos: UnsafeCell::new(Vec::new()),
        }
    }

    /// Ready for an execution of `n` CPUs.
    fn reset<C: Chooser>(&self, n: usize, chooser: &mut C, body: BodyPtr, max: usize) {
        self.cur.set(0);
        self.n.set(n);
        // SAFETY: no execution is running on this thread (see `Ctx`).
        let pending = unsafe { &mut *self.pending.get() };
        for ((y, b), p) in self.yielders[..n]
            .iter()
            .zip(&self.blocked[..n])
            .zip(&mut pending[..n])
        {
            y.set(std::ptr::null());
            b.set(None);
            *p = &NO_OP;
        }
        // n ≤ MAX_CPUS < 32 (`execute` checks).
        let all = (1u32 << n) - 1;
        self.live.set(all);
        self.runnable.set(all);
        self.flags.set(0);
        self.chooser.set((chooser as *mut C).cast());
        self.decide.set(decide::<C>);
        self.body.set(Some(body));
        self.max_steps.set(max);
        // SAFETY: no execution is running on this thread (see `Ctx`).
        unsafe { *self.steps.get() = take_steps() };
        self.set_prev(None);
        self.end.set(None);
        self.panic.set(None);
    }

    /// The ending `decide` set when it chose no CPU.
    fn decided(&self) -> Ending {
        self.end.take().unwrap_or(Ending::Abandoned)
    }

    /// The ending for the body that panicked.
    #[cold]
    fn panicked(&self) -> Ending {
        Ending::Panic(self.panic.take().unwrap_or_else(|| "panic".into()))
    }

    /// Whether `flag` is set.
    fn flag(&self, flag: u8) -> bool {
        self.flags.get() & flag != 0
    }

    /// Sets or clears `flag`; whether it was set.
    fn set_flag(&self, flag: u8, on: bool) -> bool {
        let f = self.flags.get();
        self.flags.set(if on { f | flag } else { f & !flag });
        f & flag != 0
    }

    /// The CPU of the last step is `prev`.
    fn set_prev(&self, prev: Option<usize>) {
        self.prev.set(prev);
        self.prev_bit.set(prev.map_or(0, |p| 1 << p));
    }

    /// The number of steps so far.
    fn len(&self) -> usize {
        // SAFETY: see `Ctx`; a shared read between two steps.
        unsafe { (*self.steps.get()).len() }
    }

    /// CPU `i` finished (or panicked).
    fn finished(&self, i: usize) {
        self.live.set(self.live.get() & !(1 << i));
        self.runnable.set(self.runnable.get() & !(1 << i));
    }

    /// The execution ends so (no CPU is chosen).
    #[cold]
    fn ending(&self, e: Ending) -> Option<usize> {
        self.end.set(Some(e));
        None
    }

    /// How an execution ends that has no runnable CPU (finished, or
    /// deadlocked with each live CPU's acquisition) or has reached its step
    /// limit.
    #[cold]
    fn stuck(&self) -> Ending {
        if self.runnable.get() != 0 {
            return Ending::StepLimit;
        }
        let live = self.live.get();
        if live == 0 {
            return Ending::Finished;
        }
        // SAFETY: see `Ctx`; a shared read between two steps.
        let pending = unsafe { &*self.pending.get() };
        Ending::Deadlock(
            (0..self.n.get())
                .filter(|&i| live & (1 << i) != 0)
                // SAFETY: a live CPU's announcement is valid (see `pending`).
                .map(|i| (i, unsafe { *pending[i] }))
                .collect(),
        )
    }
}

/// Chooses the next step with the chooser of type `C` and records it, or
/// (`None`) sets how the run ends in `ctx.end`.
fn decide<C: Chooser>(ctx: &Ctx) -> Option<usize> {
    let runnable = ctx.runnable.get();
    // SAFETY: see `Ctx`: decide is never re-entered (`DECIDING` refuses a
    // scheduling point inside the chooser), and these references end with it.
    let (steps, pending) = unsafe { (&mut *ctx.steps.get(), &*ctx.pending.get()) };
    let len = steps.len();
    if runnable == 0 || len >= ctx.max_steps.get() || len == steps.capacity() {
        // Out of line, so that the common path calls nothing but the
        // (inlined) chooser and saves no registers.
        return decide_slow::<C>(ctx);
    }
    let prev = ctx.prev.get();
    // SAFETY: `reset` set `chooser` from a `&mut C` together with
    // `decide::<C>`, and `execute` holds that borrow until it clears both; one
    // thread, and no chooser reaches `point`, so this is the only reference
    // to the chooser while it lives.
    let chooser = unsafe { &mut *ctx.chooser.get().cast::<C>() };
    ctx.set_flag(DECIDING, true);
    // SAFETY: every runnable CPU's announcement is valid while it decides
    // (see `pending`); `runnable` has no bit at or above `n` ≤ MAX_CPUS.
    let enabled = unsafe { Enabled::new(runnable, pending) };
    let chosen = chooser.choose(len, prev, enabled);
    ctx.set_flag(DECIDING, false);
    let c = match chosen {
        Some(c) if enabled.contains(c) => c,
        _ => return ctx.ending(Ending::Abandoned),
    };
    // The CPU that ran last could have gone on.
    let preemption = ctx.prev_bit.get() & runnable & !(1 << c) != 0;
    // SAFETY: there is room for one more step (checked above), written
    // whole before the length covers it; `c` is runnable, so its
    // announcement is valid. Field by field: a `push` of the step built whole
    // went through a copy on the stack (the operation is 72 bytes).
    unsafe {
        let dst = steps.as_mut_ptr().add(len);
        std::ptr::addr_of_mut!((*dst).op).copy_from_nonoverlapping(pending[c], 1);
        std::ptr::addr_of_mut!((*dst).cpu).write(c);
        std::ptr::addr_of_mut!((*dst).preemption).write(preemption);
        steps.set_len(len + 1);
    }
    ctx.set_prev(Some(c));
    Some(c)
}

/// `decide` at the end of a run, or with a full step record.
#[cold]
#[inline(never)]
fn decide_slow<C: Chooser>(ctx: &Ctx) -> Option<usize> {
    if ctx.runnable.get() == 0 || ctx.len() >= ctx.max_steps.get() {
        return ctx.ending(ctx.stuck());
    }
    // SAFETY: see `decide`; this reference ends before it is called.
    unsafe { (*ctx.steps.get()).reserve(ctx.len().max(64)) };
    decide::<C>(ctx)
}

/// `Ctx::decide` outside an execution: there is no chooser.
fn no_chooser(ctx: &Ctx) -> Option<usize> {
    ctx.ending(Ending::Abandoned)
}

thread_local! {
    static CTX: Cell<*const Ctx> = const { Cell::new(std::ptr::null()) };
    static SPARE_CTX: Cell<Option<Box<Ctx>>> = const { Cell::new(None) };
    /// Coroutines are being dropped in the middle of their bodies (an
    /// unwinding `execute`): their forced unwinds must pass through the
    /// bodies' catch, not end the bodies.
    static TEARING: Cell<bool> = const { Cell::new(false) };
    /// A step record to reuse (see `take_steps`).
    static STEPS: Cell<Vec<Step>> = const { Cell::new(Vec::new()) };
}

/// A step record: the thread's spare one, if it has one (a `Run` leaves its
/// record there when dropped: searches drop millions of runs, one after
/// another, and a fresh record of this size is not a cheap allocation).
fn take_steps() -> Vec<Step> {
    let v = STEPS.with(Cell::take);
    if v.capacity() == 0 {
        Vec::with_capacity(64)
    } else {
        v
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let mut steps = std::mem::take(&mut self.steps);
        if steps.capacity() > 0 {
            steps.clear();
            // `try_with`: a run dropped while the thread exits is freed; so
            // is the spare this one replaces.
            let _ = STEPS.try_with(|p| p.set(steps));
        }
    }
}

/// Whether this thread is inside an execution (executions do not nest: a
/// simulated CPU cannot start an explorer run of its own).
pub fn in_execution() -> bool {
    CTX.with(|c| !c.get().is_null())
}

thread_local! {
    /// Accesses the running step's footprint did not cover, while
    /// [`audit_footprints`] runs: a description and how often.
    static UNCOVERED: std::cell::RefCell<std::collections::BTreeMap<String, u64>> =
        const { std::cell::RefCell::new(std::collections::BTreeMap::new()) };
    /// Whether [`audit_footprints`] is running.
    static AUDITING: Cell<bool> = const { Cell::new(false) };
    /// Whether the execution collects what each step touched beyond its
    /// announcement ([`Chooser::wants_touched`]).
    static COLLECTING: Cell<bool> = const { Cell::new(false) };
    /// While collecting: each audited access a step made that its announced
    /// footprint did not cover, as (step, footprint), in step order, each
    /// once per step. Kept after the execution until the next one starts.
    static TOUCHED: std::cell::RefCell<Vec<(u32, Footprint)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// What step `step` of this thread's last (or running) collecting execution
/// touched beyond its announced footprint, appended to `out`
/// ([`Chooser::wants_touched`]).
pub(crate) fn touched(step: usize, out: &mut Vec<Footprint>) {
    TOUCHED.with(|t| {
        let t = t.borrow();
        let from = t.partition_point(|(s, _)| (*s as usize) < step);
        out.extend(
            t[from..]
                .iter()
                .take_while(|(s, _)| *s as usize == step)
                .map(|(_, f)| *f),
        );
    });
}

/// Collection of touched accesses for one execution: installs the auditor
/// and clears the record; the drop puts back the auditor it replaced.
struct Collecting(Option<vipt_mm::AccessAudit>);

impl Collecting {
    fn start() -> Collecting {
        TOUCHED.with(|t| t.borrow_mut().clear());
        COLLECTING.with(|c| c.set(true));
        Collecting(vipt_mm::set_access_audit(Some(audit_access)))
    }
}

impl Drop for Collecting {
    fn drop(&mut self) {
        COLLECTING.with(|c| c.set(false));
        vipt_mm::set_access_audit(self.0);
    }
}

/// The auditor: an access on a simulated CPU, during an execution, that
/// its running step's announced footprint does not cover is collected for
/// the step (when collecting) and counted (when auditing).
fn audit_access(obj: vipt_mm::Object, write: bool) {
    let Some(ctx) = current() else { return };
    if !ctx.flag(RUNNING) {
        return;
    }
    let cur = ctx.cur.get();
    // SAFETY: see `Ctx`: a CPU's step runs between the executor's choices;
    // nothing else refers into `steps` while it does, and this reference
    // ends here.
    let (op, step) = unsafe {
        let steps = &*ctx.steps.get();
        match steps.last().filter(|s| s.cpu == cur) {
            Some(s) => (Some(s.op), steps.len() - 1),
            None => (None, 0),
        }
    };
    if op.is_some_and(|op| op.fp.iter().any(|f| f.covers(obj, write))) {
        return;
    }
    if op.is_some() && COLLECTING.with(Cell::get) {
        // Code before a CPU's first point runs before the first choice, the
        // same in every execution: it is no step's.
        let fp = Footprint { obj, write };
        TOUCHED.with(|t| {
            let mut t = t.borrow_mut();
            let step = step as u32;
            let seen = t
                .iter()
                .rev()
                .take_while(|(s, _)| *s == step)
                .any(|(_, f)| f.covers(obj, write));
            if !seen {
                t.push((step, fp));
            }
        });
    }
    if !AUDITING.with(Cell::get) {
        return;
    }
    record_uncovered(op, obj, write);
}

/// Counts an uncovered access for [`audit_footprints`].
fn record_uncovered(op: Option<Op>, obj: vipt_mm::Object, write: bool) {
    // Lock ids differ from world to world, and frames from scenario to
    // scenario: name objects by kind only.
    let name = |o: vipt_mm::Object| {
        use vipt_mm::Object as O;
        match o {
            O::None => "nothing",
            O::Pte { .. } => "pte",
            O::Lock(_) => "lock",
            O::Memory => "memory",
            O::Line(_) => "a line group",
            O::Tlb(_) => "TLB",
            O::Page(_) => "struct page",
            O::Mapping(_) => "mapping",
            O::Vmas(_) => "vmas",
            O::Translations => "translations",
            O::Allocator => "the allocator",
        }
    };
    let what = op.map_or_else(
        || "before its first step".to_string(),
        |op| {
            let fp: Vec<String> = op
                .fp
                .iter()
                .filter(|f| f.obj != vipt_mm::Object::None)
                .map(|f| {
                    format!(
                        "{} {}",
                        if f.write { "writes" } else { "reads" },
                        name(f.obj)
                    )
                })
                .collect();
            format!("{} ({})", op.what, fp.join(", "))
        },
    );
    let obj = name(obj);
    let line = format!(
        "{what} then {} {obj}",
        if write { "writes" } else { "reads" }
    );
    UNCOVERED.with(|u| *u.borrow_mut().entry(line).or_default() += 1);
}

/// Runs `f` with the footprint auditor on this thread: every access the
/// model audits (`vipt_mm::set_access_audit`) that the running step's
/// announced footprint does not cover is counted. Returns `f`'s result and
/// the uncovered accesses: the step's operation (function, kind and
/// footprint) and the access, with how many times it was seen.
pub fn audit_footprints<R>(f: impl FnOnce() -> R) -> (R, std::collections::BTreeMap<String, u64>) {
    let before = vipt_mm::set_access_audit(Some(audit_access));
    UNCOVERED.with(|u| u.borrow_mut().clear());
    let was = AUDITING.with(|a| a.replace(true));
    let r = f();
    AUDITING.with(|a| a.set(was));
    vipt_mm::set_access_audit(before);
    (r, UNCOVERED.with(|u| std::mem::take(&mut *u.borrow_mut())))
}

/// The executor's context, if this thread is inside an execution, the
/// calling code is on a simulated CPU's coroutine, and no unwinding is in
/// progress (an aborted body must not suspend again). The reference must
/// not outlive the hook's call that took it.
#[inline(always)]
fn current<'a>() -> Option<&'a Ctx> {
    if std::thread::panicking() {
        return None;
    }
    let p = CTX.with(Cell::get);
    // SAFETY: CTX is non-null only between `CtxGuard::install` and the
    // guard's drop in `execute`, which owns the `Ctx` for that whole time;
    // a hook's call on a simulated CPU ends within it.
    (!p.is_null()).then(|| unsafe { &*p })
}

/// Suspends the running coroutine back to the executor with `to`; unwinds
/// its body if it is resumed only to be aborted.
#[inline(always)]
fn suspend(ctx: &Ctx, to: Yielded) {
    let y = ctx.yielders[ctx.cur.get()].get();
    assert!(!y.is_null(), "scheduling point outside a simulated CPU");
    // SAFETY: the yielder belongs to the coroutine that is running now (the
    // executor sets `cur` before every resume), and lives as long as it.
    unsafe { (*y).suspend(to) };
    if ctx.flag(ABORTING) {
        abort();
    }
}

/// Unwinds the running body: its execution has ended without it. The
/// payload is [`Abort`], which the CPU's coroutine catches, and
/// `resume_unwind` runs no panic hook.
#[cold]
fn abort() -> ! {
    std::panic::resume_unwind(Box::new(Abort))
}

/// The explorer's scheduling hook. Outside an execution (world set-up and
/// the checks after it) it does nothing, so set-up runs straight through.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExploreSched;

impl Sched for ExploreSched {
    // Inlined into the body: a CPU resumed here goes on in its body without
    // a return first (after a switch, the first return of the resumed side
    // is mispredicted).
    #[inline(always)]
    fn point(&self, _cpu: usize, op: &Op) {
        let Some(ctx) = current() else {
            return;
        };
        let cur = ctx.cur.get();
        // SAFETY: see `Ctx`; nothing else refers into `pending` now. `op`
        // outlives every use: the caller's frame stays until the CPU is
        // chosen (or blocks, and `contended` re-points it to `held`).
        unsafe { (*ctx.pending.get())[cur] = op };
        let to = if ctx.flags.get() == RUNNING {
            match (ctx.decide.get())(ctx) {
                // The same CPU goes on: no switch.
                Some(c) if c == cur => return,
                Some(c) => Yielded::Next(c as u8),
                None => Yielded::End,
            }
        } else {
            assert!(!ctx.flag(DECIDING), "a chooser reached a scheduling point");
            if ctx.flag(ABORTING) {
                // The body caught its abort and went on.
                abort();
            }
            if ctx.set_flag(FIRST, false) {
                // This CPU was chosen before it announced anything (it
                // started then): this is the operation of that step.
                // SAFETY: see `Ctx`; nothing else refers into `steps` now.
                if let Some(s) = unsafe { (*ctx.steps.get()).last_mut() } {
                    s.op = *op;
                }
                return;
            }
            // Started before the first decision.
            Yielded::Pause
        };
        suspend(ctx, to);
    }

    fn contended(&self, _cpu: usize, lock: LockId) -> Contended {
        current().map_or(Contended::Block, |ctx| {
            let cur = ctx.cur.get();
            // SAFETY: see `Ctx`; between steps, nothing else refers into
            // `steps`, `held` or `pending`. The last step is this CPU's
            // acquisition (it is running): keep a copy, its `point` is gone.
            unsafe {
                let pending = &mut *ctx.pending.get();
                let op = match (*ctx.steps.get()).last() {
                    Some(s) if s.cpu == cur => s.op,
                    // Blocked before its first step: its first announcement.
                    _ => *pending[cur],
                };
                let held = (ctx.held.get() as *mut Op).add(cur);
                held.write(op);
                pending[cur] = held;
            }
            ctx.blocked[cur].set(Some(lock));
            ctx.runnable.set(ctx.runnable.get() & !(1 << cur));
            suspend(ctx, Yielded::Pause);
            Contended::Retry
        })
    }

    fn released(&self, _cpu: usize, lock: LockId) {
        let Some(ctx) = current() else {
            return;
        };
        let live = ctx.live.get();
        for (i, b) in ctx.blocked[..ctx.n.get()].iter().enumerate() {
            if b.get() == Some(lock) {
                b.set(None);
                ctx.runnable.set(ctx.runnable.get() | (live & (1 << i)));
            }
        }
    }
}

/// Installs this thread's context as the current one for one execution;
/// clears it, and keeps the context for the next execution, on drop.
struct CtxGuard(Option<Box<Ctx>>);

impl CtxGuard {
    fn install() -> CtxGuard {
        let ctx = SPARE_CTX
            .with(Cell::take)
            .unwrap_or_else(|| Box::new(Ctx::new()));
        CTX.with(|c| {
            assert!(c.get().is_null(), "executions do not nest");
            c.set(&*ctx);
        });
        CtxGuard(Some(ctx))
    }

    fn ctx(&self) -> &Ctx {
        self.0.as_ref().expect("installed")
    }
}

impl Drop for CtxGuard {
    fn drop(&mut self) {
        CTX.with(|c| c.set(std::ptr::null()));
        if let Some(ctx) = self.0.take() {
            ctx.chooser.set(std::ptr::null_mut());
            ctx.decide.set(no_chooser);
            ctx.body.set(None);
            let _ = SPARE_CTX.try_with(|s| s.set(Some(ctx)));
        }
    }
}

/// What a simulated CPU's coroutine hands the executor when it suspends
/// (two bytes: it travels in a register, not through memory).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Yielded {
    /// It chose this other CPU at its scheduling point.
    Next(u8),
    /// It stopped at its first scheduling point (the executor starts every
    /// CPU before it decides), or blocked: the executor decides.
    Pause,
    /// It ended the run at its scheduling point (`Ctx::end` says how).
    End,
    /// Its body returned, or was aborted.
    Done,
    /// Its body panicked (`Ctx::panic` has the message).
    Panicked,
}

/// The payload that unwinds the body of a CPU that had not finished when its
/// execution ended (deadlock, step limit, abandoned, another CPU's panic).
struct Abort;

/// A simulated CPU: a coroutine that runs one body after another, kept in
/// the thread's pool between executions. Resumed with a CPU index while it
/// waits, it runs the current execution's body as that CPU and suspends with
/// [`Yielded::Done`] when the body is over; resumed at a scheduling point, it
/// goes on (the input is ignored). It returns only when dropped (a forced
/// unwind): starting and ending a coroutine per CPU and execution (stack
/// set-up, the first switch's trampoline, the pool's bookkeeping) was about
/// a twentieth of a small execution's instructions.
type Co = Coroutine<usize, Yielded, (), DefaultStack>;

fn new_co() -> Co {
    let stack = DefaultStack::new(STACK_SIZE).expect("mmap a coroutine stack");
    Co::with_stack(stack, |y: &Yielder<usize, Yielded>, mut cpu: usize| loop {
        let p = CTX.with(Cell::get);
        assert!(!p.is_null(), "a simulated CPU started outside an execution");
        // SAFETY: only `execute` resumes a waiting CPU, with its context
        // installed; the context outlives the body, which ends (returns,
        // unwinds or is torn down) before `execute` returns.
        let ctx = unsafe { &*p };
        ctx.yielders[cpu].set(y);
        let body = ctx.body.get().expect("an execution's body");
        // SAFETY: `execute` set the body for this execution and keeps it
        // alive (and clears it) around every resume of this coroutine.
        let r = catch_unwind(AssertUnwindSafe(|| unsafe { body.as_ref() }(cpu)));
        let to = match r {
            Ok(()) => Yielded::Done,
            Err(p) if p.is::<Abort>() => Yielded::Done,
            // corosensei's forced unwind: let it reach the coroutine's root.
            Err(p) if TEARING.with(Cell::get) => std::panic::resume_unwind(p),
            Err(p) => {
                ctx.panic.set(Some(panic_message(&*p)));
                Yielded::Panicked
            }
        };
        cpu = y.suspend(to);
    })
}

/// The message of a panic's payload.
fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into())
}

/// One execution's CPUs (the context's pool), and which of them are inside
/// their body. If they are dropped with a body still running (`execute` is
/// unwinding), every coroutine is torn down: those bodies borrow what is
/// being unwound.
struct Cores<'a> {
    ctx: &'a Ctx,
    busy: u32,
}

impl<'a> Cores<'a> {
    fn take(ctx: &'a Ctx, n: usize) -> Cores<'a> {
        let mut cores = Cores { ctx, busy: 0 };
        let cos = cores.cos();
        while cos.len() < n {
            cos.push(new_co());
        }
        cores
    }

    /// The pool.
    fn cos(&mut self) -> &mut Vec<Co> {
        // SAFETY: only `Cores` reaches the pool (see `Ctx::cos`), there is
        // one `Cores` per execution and executions do not nest, and this
        // borrow of `self` keeps the reference unique.
        unsafe { &mut *self.ctx.cos.get() }
    }

    /// Starts CPU `i`'s body; as `resume`.
    fn start(&mut self, i: usize) -> Yielded {
        assert!(self.busy & (1 << i) == 0, "CPU {i} started twice");
        self.busy |= 1 << i;
        self.go(i)
    }

    /// Resumes CPU `i` until it suspends again, or its body is over.
    #[inline(always)]
    fn resume(&mut self, i: usize) -> Yielded {
        // A waiting coroutine would take this for a new body.
        assert!(
            self.busy & (1 << i) != 0,
            "CPU {i} resumed outside its body"
        );
        self.go(i)
    }

    #[inline(always)]
    fn go(&mut self, i: usize) -> Yielded {
        self.ctx.cur.set(i);
        match self.cos()[i].resume(i) {
            CoroutineResult::Yield(y @ (Yielded::Done | Yielded::Panicked)) => {
                self.busy &= !(1 << i);
                self.ctx.finished(i);
                // Under a fuzzer's AddressSanitizer, a stack that saw
                // unwinding keeps the unwound frames' poison (ASan does not
                // know coroutine stacks), and the next body on it would trip
                // over it: a fresh coroutine instead.
                if cfg!(fuzzing) && (y == Yielded::Panicked || self.ctx.flag(ABORTING)) {
                    self.cos()[i] = new_co();
                }
                y
            }
            CoroutineResult::Yield(y) => y,
            CoroutineResult::Return(()) => unreachable!("a CPU's coroutine returned"),
        }
    }

    /// Unwinds the body of every CPU still inside one.
    fn abort_all(&mut self) {
        self.ctx.set_flag(ABORTING, true);
        for i in Cpus(self.busy) {
            let done = self.resume(i);
            debug_assert!(
                matches!(done, Yielded::Done | Yielded::Panicked),
                "an aborted CPU suspended again"
            );
        }
    }
}

impl Drop for Cores<'_> {
    fn drop(&mut self) {
        if self.busy != 0 {
            let cos = std::mem::take(self.cos());
            TEARING.with(|t| t.set(true));
            drop(cos);
            TEARING.with(|t| t.set(false));
        }
    }
}

/// Starts the CPUs of `cpus` in order, each up to its first point (where
/// it suspends: no decision is made inline meanwhile); the ending if one
/// panicked.
fn start(cores: &mut Cores<'_>, cpus: u32) -> Option<Ending> {
    let running = cores.ctx.set_flag(RUNNING, false);
    let ending = Cpus(cpus).find_map(|i| match cores.start(i) {
        Yielded::Panicked => Some(cores.ctx.panicked()),
        _ => None,
    });
    cores.ctx.set_flag(RUNNING, running);
    ending
}

/// Runs one execution of `n` simulated CPUs, CPU `i` running `body(i)`,
/// under `chooser`, at most `max_steps` steps. CPUs are started in order,
/// each up to its first scheduling point, before the first choice, or (a
/// chooser that does not read operations) each when it is first chosen;
/// code before a CPU's first point must not touch shared state. More than
/// [`MAX_CPUS`] CPUs end at once with [`Ending::Panic`].
///
/// The body is borrowed, not boxed per CPU: every CPU's coroutine refers to
/// it while its body runs, and each body has returned or been unwound before
/// this returns. The coroutines themselves live on for the next execution.
pub fn execute<C: Chooser>(
    n: usize,
    body: &(dyn Fn(usize) + '_),
    chooser: &mut C,
    max_steps: usize,
) -> Run {
    if n > MAX_CPUS {
        return Run {
            steps: Vec::new(),
            ending: Ending::Panic(format!("{n} CPUs; at most {MAX_CPUS}")),
        };
    }
    // SAFETY: only the lifetime bound changes; the guard clears the pointer
    // before `execute` returns, and every body has ended by then (`Cores`).
    let body =
        unsafe { std::mem::transmute::<NonNull<dyn Fn(usize) + '_>, BodyPtr>(NonNull::from(body)) };
    let guard = CtxGuard::install();
    let ctx = guard.ctx();
    let collecting = chooser.wants_touched().then(Collecting::start);
    // CPUs not started yet (all of them when the chooser does not look at
    // their operations: each starts when first chosen).
    let all = (1u32 << n) - 1;
    let mut unstarted = if chooser.reads_ops() { 0 } else { all };
    ctx.reset(n, chooser, body, max_steps);
    let mut cores = Cores::take(ctx, n);
    let mut ending = start(&mut cores, all & !unstarted);
    ctx.set_flag(RUNNING, true);
    'run: while ending.is_none() {
        if unstarted != 0 && unstarted != all && ctx.runnable.get() & !unstarted == 0 {
            // Only CPUs that never ran can go on: start them before the
            // choice, so that one that ends without any point ends the run
            // as it would have had every CPU started first (a chooser is not
            // asked after the last step).
            ending = start(&mut cores, std::mem::take(&mut unstarted));
            if ending.is_some() {
                break;
            }
        }
        let Some(mut c) = decide::<C>(ctx) else {
            ending = Some(ctx.decided());
            break;
        };
        // Run `c`, and each CPU chosen inline by the one before, until one
        // blocks, finishes or ends the run.
        loop {
            let to = if unstarted & (1 << c) != 0 {
                unstarted &= !(1 << c);
                ctx.set_flag(FIRST, true);
                let to = cores.start(c);
                if ctx.set_flag(FIRST, false) {
                    // It finished (or panicked) without an operation: no
                    // step.
                    // SAFETY: between steps, nothing else refers into `steps`.
                    let steps = unsafe { &mut *ctx.steps.get() };
                    steps.pop();
                    ctx.set_prev(steps.last().map(|s| s.cpu));
                }
                to
            } else {
                cores.resume(c)
            };
            match to {
                Yielded::Next(n) => c = n as usize,
                // Blocked, or finished: decide.
                Yielded::Pause | Yielded::Done => continue 'run,
                Yielded::End => {
                    ending = Some(ctx.decided());
                    break 'run;
                }
                Yielded::Panicked => {
                    ending = Some(ctx.panicked());
                    break 'run;
                }
            }
        }
    }
    // Unwind the CPUs that did not finish (deadlock, limit, abandon, panic):
    // their stacks run destructors only, the hook does not suspend while
    // unwinding.
    cores.abort_all();
    drop(cores);
    // SAFETY: every body is over; nothing else refers into `steps`.
    let steps = std::mem::take(unsafe { &mut *ctx.steps.get() });
    drop(collecting);
    drop(guard);
    Run {
        steps,
        ending: ending.unwrap_or(Ending::Finished),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the lowest CPU that can run; panics at step `panic_at`, gives
    /// up at step `stop_at`.
    struct Scripted {
        panic_at: Option<usize>,
        stop_at: Option<usize>,
        lazy: bool,
    }

    impl Chooser for Scripted {
        fn choose(&mut self, step: usize, _: Option<usize>, e: Enabled<'_>) -> Option<usize> {
            assert!(self.panic_at != Some(step), "chooser panics at step {step}");
            (self.stop_at != Some(step)).then(|| e.nth(0)).flatten()
        }

        fn reads_ops(&self) -> bool {
            !self.lazy
        }
    }

    const STEP: Op = Op::new(OpKind::PteRead, "step", Footprint::NONE);

    /// Each of two CPUs takes three steps.
    fn three_each(cpu: usize) {
        for _ in 0..3 {
            ExploreSched.point(cpu, &STEP);
        }
    }

    fn plain(lazy: bool) -> Scripted {
        Scripted {
            panic_at: None,
            stop_at: None,
            lazy,
        }
    }

    /// After every kind of early end, the thread's pooled CPUs run the next
    /// execution in full: an abandoned run (the bodies unwound), a body that
    /// catches its unwinding and goes on (unwound again at its next point),
    /// a chooser that panics inside a CPU's point (a panic ending) and one
    /// that panics in the executor (the execution unwinds and the CPUs are
    /// torn down).
    #[test]
    fn pooled_cpus_survive_every_early_end() {
        let full = |lazy| {
            let r = execute(2, &three_each, &mut plain(lazy), 100);
            assert_eq!(r.ending, Ending::Finished);
            assert_eq!(r.choices(), [0, 0, 0, 1, 1, 1]);
        };
        for lazy in [false, true] {
            full(lazy);
            let mut stop = Scripted {
                stop_at: Some(2),
                ..plain(lazy)
            };
            let r = execute(2, &three_each, &mut stop, 100);
            assert_eq!(r.ending, Ending::Abandoned);
            assert_eq!(r.steps.len(), 2);
            full(lazy);

            let caught = Cell::new(0);
            let stubborn = |cpu: usize| {
                for _ in 0..3 {
                    let r = catch_unwind(AssertUnwindSafe(|| ExploreSched.point(cpu, &STEP)));
                    caught.set(caught.get() + usize::from(r.is_err()));
                }
            };
            let mut stop = Scripted {
                stop_at: Some(1),
                ..plain(lazy)
            };
            let r = execute(2, &stubborn, &mut stop, 100);
            assert_eq!(r.ending, Ending::Abandoned);
            // CPU 0 (and, started first, CPU 1) caught each of its aborts.
            assert_eq!(caught.get(), if lazy { 2 } else { 5 });
            full(lazy);

            let mut inline = Scripted {
                panic_at: Some(1),
                ..plain(lazy)
            };
            let r = execute(2, &three_each, &mut inline, 100);
            assert!(
                matches!(&r.ending, Ending::Panic(m) if m.contains("chooser panics at step 1")),
                "{:?}",
                r.ending
            );
            full(lazy);

            let mut outer = Scripted {
                panic_at: Some(0),
                ..plain(lazy)
            };
            let r = catch_unwind(AssertUnwindSafe(|| {
                execute(2, &three_each, &mut outer, 100)
            }));
            assert!(r.is_err(), "the first choice is made by the executor");
            full(lazy);
        }
    }

    /// The enabled set's count, order, `nth` and membership against a naive
    /// scan of the bits, for every set of the first 12 CPUs and a few wider.
    #[test]
    fn enabled_set_matches_a_scan_of_its_bits() {
        let ops = [&NO_OP as *const Op; MAX_CPUS];
        let wide = [1u32 << 25, (1 << 26) - 1, 0x2aa_aaaa, 0x155_5555];
        for bits in (0u32..1 << 12).chain(wide) {
            // SAFETY: every pointer is to the static placeholder.
            let e = unsafe { Enabled::new(bits, &ops) };
            let naive: Vec<usize> = (0..MAX_CPUS).filter(|&c| bits & (1 << c) != 0).collect();
            assert_eq!(e.len(), naive.len(), "{bits:#x}");
            assert_eq!(e.is_empty(), naive.is_empty());
            assert_eq!(e.cpus().collect::<Vec<_>>(), naive);
            assert_eq!(e.cpus().len(), naive.len());
            for k in 0..=naive.len() {
                assert_eq!(e.nth(k), naive.get(k).copied(), "{bits:#x} nth {k}");
            }
            for c in 0..MAX_CPUS + 2 {
                assert_eq!(e.contains(c), naive.contains(&c));
                assert_eq!(e.op(c).is_some(), naive.contains(&c));
            }
            assert_eq!(e.iter().map(|(c, _)| c).collect::<Vec<_>>(), naive);
        }
    }
}
