//! The deterministic executor: simulated CPUs as stackful coroutines that
//! switch only at the mm layer's scheduling points.
//!
//! Every body runs on its own coroutine (pooled stacks). A body stops at each
//! [`Sched::point`] and announces the operation it is about to perform; the
//! executor asks a [`Chooser`] which announced operation runs next, resumes
//! that CPU, which performs it and runs on to its next point. A CPU whose lock
//! acquisition failed is blocked until some CPU releases that lock. Nothing
//! else switches, so a run is a pure function of its choices.

use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};

use corosensei::stack::DefaultStack;
use corosensei::{Coroutine, CoroutineResult, Yielder};
use vipt_mm::{Contended, LockId, Op, Sched};

use crate::schedule::MAX_CPUS;

/// The code one simulated CPU runs in an execution.
pub type Body = Box<dyn FnOnce() + 'static>;

/// Stack size for a simulated CPU: kernel paths are shallow, but the tree
/// iterators and formatting want headroom. Stacks are reused.
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

/// Decides, at every step, which enabled CPU runs.
pub trait Chooser {
    /// `enabled` lists every CPU that can take a step, in CPU order, with the
    /// operation it will perform; `prev` is the CPU that took the last step.
    /// Returns the CPU to run, or `None` to abandon the execution.
    fn choose(
        &mut self,
        step: usize,
        prev: Option<usize>,
        enabled: &[(usize, Op)],
    ) -> Option<usize>;
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
/// thread-local pointer while an execution runs on this thread.
///
/// Decisions are made where the step is announced: `point` asks the chooser
/// itself and, when the same CPU goes on, returns without switching; only a
/// different choice (or the end) suspends back to the executor.
struct Ctx {
    /// The CPU whose coroutine is running.
    cur: Cell<usize>,
    /// Number of CPUs.
    n: usize,
    /// Each CPU's yielder, set when its coroutine first runs.
    yielders: [Cell<*const Yielder<(), ()>>; MAX_CPUS],
    /// Each CPU's announced next operation.
    pending: [Cell<Option<Op>>; MAX_CPUS],
    /// The lock each blocked CPU waits for.
    blocked: [Cell<Option<LockId>>; MAX_CPUS],
    /// Which CPUs have not finished.
    live: [Cell<bool>; MAX_CPUS],
    /// Every CPU reached its first point: decisions may be made inline.
    running: Cell<bool>,
    /// The chooser (lifetime erased: valid for the whole of `execute`, and
    /// only ever called through this pointer, never re-entered).
    chooser: *mut (dyn Chooser + 'static),
    /// Steps after which the run ends.
    max_steps: usize,
    /// The record and the scratch the decisions use.
    record: RefCell<Record>,
    /// A decision made inside `point` for another CPU.
    next: Cell<Option<usize>>,
    /// An ending decided inside `point`.
    end: RefCell<Option<Ending>>,
}

/// The steps so far, the last CPU, and a reusable enabled list.
struct Record {
    steps: Vec<Step>,
    prev: Option<usize>,
    enabled: Vec<(usize, Op)>,
}

/// Chooses the next step and records it, or says how the run ends.
fn decide(ctx: &Ctx) -> Result<usize, Ending> {
    let mut r = ctx.record.borrow_mut();
    let r = &mut *r;
    r.enabled.clear();
    for i in 0..ctx.n {
        if ctx.live[i].get() && ctx.blocked[i].get().is_none() {
            let op = ctx.pending[i].get().expect("a live CPU announced its step");
            r.enabled.push((i, op));
        }
    }
    if r.enabled.is_empty() {
        let stuck: Vec<(usize, Op)> = (0..ctx.n)
            .filter(|&i| ctx.live[i].get())
            .filter_map(|i| ctx.pending[i].get().map(|op| (i, op)))
            .collect();
        return Err(if stuck.is_empty() {
            Ending::Finished
        } else {
            Ending::Deadlock(stuck)
        });
    }
    if r.steps.len() >= ctx.max_steps {
        return Err(Ending::StepLimit);
    }
    // SAFETY: see `Ctx::chooser`; one thread, and no chooser calls `point`.
    let chosen = unsafe { (*ctx.chooser).choose(r.steps.len(), r.prev, &r.enabled) };
    let c = chosen.ok_or(Ending::Abandoned)?;
    let op = r
        .enabled
        .iter()
        .find(|(i, _)| *i == c)
        .map(|&(_, op)| op)
        .ok_or(Ending::Abandoned)?;
    let preemption = r
        .prev
        .is_some_and(|p| p != c && r.enabled.iter().any(|(e, _)| *e == p));
    r.steps.push(Step {
        cpu: c,
        op,
        preemption,
    });
    r.prev = Some(c);
    Ok(c)
}

thread_local! {
    static CTX: Cell<*const Ctx> = const { Cell::new(std::ptr::null()) };
    static STACKS: RefCell<Vec<DefaultStack>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with the executor's context if this thread is inside an
/// execution, the calling code is on a simulated CPU's coroutine, and no
/// unwinding is in progress (a forced unwind must not suspend again).
fn with_ctx<R>(f: impl FnOnce(&Ctx) -> R) -> Option<R> {
    if std::thread::panicking() {
        return None;
    }
    let p = CTX.with(Cell::get);
    // SAFETY: CTX is non-null only between `CtxGuard::install` and the
    // guard's drop in `execute`, which owns the `Ctx` for that whole time.
    (!p.is_null()).then(|| f(unsafe { &*p }))
}

/// Suspends the running coroutine back to the executor.
fn suspend(ctx: &Ctx) {
    let y = ctx.yielders[ctx.cur.get()].get();
    assert!(!y.is_null(), "scheduling point outside a simulated CPU");
    // SAFETY: the yielder belongs to the coroutine that is running now (the
    // executor sets `cur` before every resume), and lives as long as it.
    unsafe { (*y).suspend(()) }
}

/// The explorer's scheduling hook. Outside an execution (world set-up and
/// the checks after it) it does nothing, so set-up runs straight through.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExploreSched;

impl Sched for ExploreSched {
    fn point(&self, _cpu: usize, op: &Op) {
        with_ctx(|ctx| {
            let cur = ctx.cur.get();
            ctx.pending[cur].set(Some(*op));
            if ctx.running.get() {
                match decide(ctx) {
                    // The same CPU goes on: no switch.
                    Ok(c) if c == cur => return,
                    Ok(c) => ctx.next.set(Some(c)),
                    Err(e) => *ctx.end.borrow_mut() = Some(e),
                }
            }
            suspend(ctx);
        });
    }

    fn contended(&self, _cpu: usize, lock: LockId) -> Contended {
        with_ctx(|ctx| {
            ctx.blocked[ctx.cur.get()].set(Some(lock));
            suspend(ctx);
            Contended::Retry
        })
        .unwrap_or(Contended::Block)
    }

    fn released(&self, _cpu: usize, lock: LockId) {
        with_ctx(|ctx| {
            for b in &ctx.blocked {
                if b.get() == Some(lock) {
                    b.set(None);
                }
            }
        });
    }
}

/// Installs a context as this thread's current one; clears it on drop.
struct CtxGuard;

impl CtxGuard {
    fn install(ctx: &Ctx) -> CtxGuard {
        CTX.with(|c| {
            assert!(c.get().is_null(), "executions do not nest");
            c.set(ctx);
        });
        CtxGuard
    }
}

impl Drop for CtxGuard {
    fn drop(&mut self) {
        CTX.with(|c| c.set(std::ptr::null()));
    }
}

fn take_stack() -> DefaultStack {
    STACKS
        .with(|s| s.borrow_mut().pop())
        .unwrap_or_else(|| DefaultStack::new(STACK_SIZE).expect("mmap a coroutine stack"))
}

fn give_stack(s: DefaultStack) {
    STACKS.with(|p| p.borrow_mut().push(s));
}

type Co = Coroutine<(), (), (), DefaultStack>;

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into())
}

/// Runs one execution of `bodies` under `chooser`, at most `max_steps`
/// steps. Bodies are started in CPU order, each up to its first scheduling
/// point (code before it must not touch shared state). More than
/// [`MAX_CPUS`] bodies end at once with [`Ending::Panic`].
pub fn execute(bodies: Vec<Body>, chooser: &mut dyn Chooser, max_steps: usize) -> Run {
    let n = bodies.len();
    if n > MAX_CPUS {
        return Run {
            steps: Vec::new(),
            ending: Ending::Panic(format!("{n} CPUs; at most {MAX_CPUS}")),
        };
    }
    // SAFETY: only the lifetime bound changes; `ctx` (which holds the
    // pointer) is dropped before `execute` returns, and the chooser is
    // used through this pointer alone until then.
    let chooser: *mut (dyn Chooser + 'static) = unsafe {
        std::mem::transmute::<*mut (dyn Chooser + '_), *mut (dyn Chooser + 'static)>(chooser)
    };
    let ctx = Ctx {
        cur: Cell::new(0),
        n,
        yielders: std::array::from_fn(|_| Cell::new(std::ptr::null())),
        pending: std::array::from_fn(|_| Cell::new(None)),
        blocked: std::array::from_fn(|_| Cell::new(None)),
        live: std::array::from_fn(|i| Cell::new(i < n)),
        running: Cell::new(false),
        chooser,
        max_steps,
        record: RefCell::new(Record {
            steps: Vec::with_capacity(64),
            prev: None,
            enabled: Vec::with_capacity(n),
        }),
        next: Cell::new(None),
        end: RefCell::new(None),
    };
    let guard = CtxGuard::install(&ctx);
    let ctxp: *const Ctx = &ctx;
    let mut cos: Vec<Option<Co>> = bodies
        .into_iter()
        .enumerate()
        .map(|(i, body)| {
            Some(Co::with_stack(
                take_stack(),
                move |y: &Yielder<(), ()>, ()| {
                    // SAFETY: `ctx` outlives every coroutine: each is finished or
                    // force-unwound below before `execute` returns.
                    unsafe { (&(*ctxp).yielders)[i].set(y) };
                    body();
                },
            ))
        })
        .collect();
    let mut ending = None;
    // Resumes CPU `i`; returns a panic message if its body panicked.
    let resume = |cos: &mut Vec<Option<Co>>, i: usize| -> Option<String> {
        ctx.cur.set(i);
        let co = cos[i].as_mut().expect("resume a live CPU");
        let r = match catch_unwind(AssertUnwindSafe(|| co.resume(()))) {
            Ok(CoroutineResult::Yield(())) => return None,
            Ok(CoroutineResult::Return(())) => None,
            Err(p) => Some(panic_message(&*p)),
        };
        ctx.live[i].set(false);
        give_stack(cos[i].take().expect("live").into_stack());
        r
    };
    for i in 0..n {
        if let Some(msg) = resume(&mut cos, i) {
            ending = Some(Ending::Panic(msg));
            break;
        }
    }
    ctx.running.set(true);
    let mut next = None;
    while ending.is_none() {
        let c = match next.take() {
            Some(c) => c,
            None => match decide(&ctx) {
                Ok(c) => c,
                Err(e) => {
                    ending = Some(e);
                    break;
                }
            },
        };
        if let Some(msg) = resume(&mut cos, c) {
            ending = Some(Ending::Panic(msg));
            break;
        }
        if let Some(e) = ctx.end.borrow_mut().take() {
            ending = Some(e);
            break;
        }
        next = ctx.next.take();
    }
    // Unwind the CPUs that did not finish (deadlock, limit, abandon, panic):
    // their stacks run destructors only, the hook does not suspend while
    // unwinding.
    for co in cos.iter_mut() {
        if let Some(mut c) = co.take() {
            c.force_unwind();
            give_stack(c.into_stack());
        }
    }
    drop(guard);
    let steps = std::mem::take(&mut ctx.record.borrow_mut().steps);
    Run {
        steps,
        ending: ending.unwrap_or(Ending::Finished),
    }
}
