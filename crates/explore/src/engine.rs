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
/// Fixed-size arrays: no allocation per execution.
struct Ctx {
    /// The CPU whose coroutine is running.
    cur: Cell<usize>,
    /// Each CPU's yielder, set when its coroutine first runs.
    yielders: [Cell<*const Yielder<(), ()>>; MAX_CPUS],
    /// Each CPU's announced next operation.
    pending: [Cell<Option<Op>>; MAX_CPUS],
    /// The lock each blocked CPU waits for.
    blocked: [Cell<Option<LockId>>; MAX_CPUS],
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
            ctx.pending[ctx.cur.get()].set(Some(*op));
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
    let ctx = Ctx {
        cur: Cell::new(0),
        yielders: std::array::from_fn(|_| Cell::new(std::ptr::null())),
        pending: std::array::from_fn(|_| Cell::new(None)),
        blocked: std::array::from_fn(|_| Cell::new(None)),
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
    let mut steps = Vec::with_capacity(64);
    let mut ending = None;
    // Resumes CPU `i`; returns a panic message if its body panicked.
    let resume = |cos: &mut Vec<Option<Co>>, i: usize| -> Option<String> {
        ctx.cur.set(i);
        let co = cos[i].as_mut().expect("resume a live CPU");
        match catch_unwind(AssertUnwindSafe(|| co.resume(()))) {
            Ok(CoroutineResult::Yield(())) => None,
            Ok(CoroutineResult::Return(())) => {
                give_stack(cos[i].take().expect("live").into_stack());
                None
            }
            Err(p) => {
                give_stack(cos[i].take().expect("live").into_stack());
                Some(panic_message(&*p))
            }
        }
    };
    for i in 0..n {
        if let Some(msg) = resume(&mut cos, i) {
            ending = Some(Ending::Panic(msg));
            break;
        }
    }
    let mut prev = None;
    let mut enabled = Vec::with_capacity(n);
    while ending.is_none() {
        enabled.clear();
        for (i, co) in cos.iter().enumerate() {
            if co.is_some() && ctx.blocked[i].get().is_none() {
                enabled.push((
                    i,
                    ctx.pending[i].get().expect("a live CPU announced its step"),
                ));
            }
        }
        if enabled.is_empty() {
            let stuck: Vec<(usize, Op)> = (0..n)
                .filter(|&i| cos[i].is_some())
                .filter_map(|i| ctx.pending[i].get().map(|op| (i, op)))
                .collect();
            ending = Some(if stuck.is_empty() {
                Ending::Finished
            } else {
                Ending::Deadlock(stuck)
            });
            break;
        }
        if steps.len() >= max_steps {
            ending = Some(Ending::StepLimit);
            break;
        }
        let Some(c) = chooser.choose(steps.len(), prev, &enabled) else {
            ending = Some(Ending::Abandoned);
            break;
        };
        let Some(&(_, op)) = enabled.iter().find(|(i, _)| *i == c) else {
            ending = Some(Ending::Abandoned);
            break;
        };
        let preemption = prev.is_some_and(|p| p != c && enabled.iter().any(|(e, _)| *e == p));
        steps.push(Step {
            cpu: c,
            op,
            preemption,
        });
        prev = Some(c);
        if let Some(msg) = resume(&mut cos, c) {
            ending = Some(Ending::Panic(msg));
        }
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
    Run {
        steps,
        ending: ending.unwrap_or(Ending::Finished),
    }
}
