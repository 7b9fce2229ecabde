//! Search: exhaustive depth-first with a preemption bound (sleep sets on
//! request), uniform random, and PCT; the per-run report with what it
//! covers ([`Coverage`]); counterexample minimisation.
//!
//! The default exhaustive search ([`Config::default`]) has no sleep sets:
//! combined with a preemption bound they can prune the only schedules of a
//! failure that fit the bound (Coons, Musuvathi and McKinley, "Bounded
//! partial-order reduction", OOPSLA 2013), so a bounded search with
//! reduction is [`Coverage::PartialWithinBound`], never a proof. Without a
//! bound sleep sets are sound and a finished search is
//! [`Coverage::Complete`].

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use vipt_mm::{Footprint, Op};

use crate::engine::{execute, Chooser, Enabled, Ending, Run, StateView};
use crate::schedule::{default_choice, Schedule, MAX_CPUS};

/// Called with `true` first and `false` last on every worker thread a search
/// or the report spawns (none is spawned for one thread); set by an embedder
/// that must know, such as the C library telling ThreadSanitizer which threads
/// run only library code.
static WORKER_HOOK: std::sync::OnceLock<fn(bool)> = std::sync::OnceLock::new();

/// Sets the function every spawned worker thread calls first (with `true`)
/// and last (with `false`); the first call wins and returns true, later ones
/// change nothing and return false.
pub fn set_worker_hook(f: fn(bool)) -> bool {
    WORKER_HOOK.set(f).is_ok()
}

/// Runs `work` as a worker thread's whole life, between the hook's calls.
pub(crate) fn as_worker<R>(work: impl FnOnce() -> R) -> R {
    struct Finish(Option<fn(bool)>);
    impl Drop for Finish {
        fn drop(&mut self) {
            if let Some(f) = self.0 {
                f(false);
            }
        }
    }
    let hook = WORKER_HOOK.get().copied();
    if let Some(f) = hook {
        f(true);
    }
    let _finish = Finish(hook);
    work()
}

/// A program the explorer can run: it builds a fresh state for every
/// execution, runs its CPUs on that state, and judges each execution
/// afterwards.
///
/// The CPUs share the state by reference (`run` borrows it): no CPU needs an
/// `Rc` of its own or a boxed closure, so an execution of a small program
/// allocates nothing the program does not.
pub trait Program: Sync {
    /// One execution's state: what the CPUs share and what `check` needs (a
    /// world, the user's CPU, …). A CPU's own mutable state sits in a `Cell`
    /// or `RefCell` here.
    type State;

    /// Builds one execution's state. Set-up runs outside the explorer's
    /// control.
    fn setup(&self) -> Result<Self::State, String>;

    /// How many CPUs run on `state` (at most [`MAX_CPUS`]).
    fn cpus(&self, state: &Self::State) -> usize;

    /// What CPU `cpu` (`0..cpus`) runs, on its own coroutine. Code before
    /// its first scheduling point must not touch shared state.
    fn run(&self, state: &Self::State, cpu: usize);

    /// Judges a finished (or deadlocked, or panicked) execution.
    fn check(&self, state: Self::State, run: &Run) -> Outcome;

    /// The state between two steps, for the state cache
    /// ([`Config::state_cache`]): words appended to `out` that, with the
    /// operations each CPU has performed and what [`Program::observe`] said
    /// of each, fix everything the rest of the execution and its check can
    /// depend on: the shared state, whatever records the check reads (an
    /// oracle's history, lockdep's order graph), and each CPU's local state
    /// not already fixed by its operations so far. Two states with the same
    /// words must behave the same from there on; words that differ cost
    /// only a lost cache hit. Called while the CPUs are suspended at their
    /// scheduling points, so a `RefCell` one holds across a point is
    /// borrowed: return false then, and for any state that cannot be
    /// written down (nothing is cached there). The default, false
    /// everywhere, turns the cache off.
    fn fingerprint(&self, state: &Self::State, out: &mut Vec<u64>) -> bool {
        let _ = (state, out);
        false
    }

    /// What `op`, which CPU `cpu` is about to perform, will read, as words
    /// appended to `out`: with the CPU's earlier operations and
    /// observations they fix its local state after the step (for a kernel
    /// path, the values of the objects of the operation's footprint). The
    /// default, nothing, is right for a program whose CPUs keep every value
    /// they read in the state [`Program::fingerprint`] writes down.
    fn observe(&self, state: &Self::State, cpu: usize, op: &Op, out: &mut Vec<u64>) {
        let _ = (state, cpu, op, out);
    }

    /// Whether every access a step makes to shared state is covered by the
    /// footprint its operation announced or is one the model audits
    /// (`vipt_mm::set_access_audit`: sleep sets add what each step was seen
    /// to touch to its announcement), so that two steps whose footprints so
    /// extended do not conflict commute. Sleep sets rest on it: without it
    /// an unbounded search with them is [`Coverage::Partial`], not complete.
    /// True by default; a program that touches shared state neither way
    /// says false.
    fn exact_footprints(&self) -> bool {
        true
    }
}

/// A program's state as a chooser sees it between steps.
struct View<'a, P: Program> {
    program: &'a P,
    state: &'a P::State,
}

impl<P: Program> StateView for View<'_, P> {
    fn fingerprint(&self, out: &mut Vec<u64>) -> bool {
        self.program.fingerprint(self.state, out)
    }

    fn observe(&self, cpu: usize, op: &Op, out: &mut Vec<u64>) {
        self.program.observe(self.state, cpu, op, out);
    }
}

/// A chooser that is shown the state at every choice.
struct Viewing<'a, C: ?Sized> {
    inner: &'a mut C,
    view: &'a dyn StateView,
}

impl<C: Chooser + ?Sized> Chooser for Viewing<'_, C> {
    fn choose(&mut self, step: usize, prev: Option<usize>, enabled: Enabled<'_>) -> Option<usize> {
        self.inner.choose_viewing(step, prev, enabled, self.view)
    }

    fn reads_ops(&self) -> bool {
        self.inner.reads_ops()
    }

    fn wants_touched(&self) -> bool {
        self.inner.wants_touched()
    }
}

/// The verdict on one execution.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// What went wrong; empty when the execution passes.
    pub failures: Vec<String>,
    /// The observable result, for comparing outcome sets (empty: none).
    pub observed: String,
    /// Cost counters to sum over executions.
    pub counters: Vec<(&'static str, u64)>,
    /// The first failure in structured form for JSON (the scenarios: the
    /// oracle's first violation with its frame, lives, colour, CPU and
    /// step), or `None`.
    pub detail: Option<serde_json::Value>,
}

impl Outcome {
    /// Whether the execution failed.
    pub fn failed(&self) -> bool {
        !self.failures.is_empty()
    }
}

/// How schedules are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Every schedule with at most `bound` preemptions (none: unbounded),
    /// depth first; `reduction` skips schedules that only reorder
    /// independent steps (sleep sets over the operations' footprints).
    ///
    /// Sleep sets are sound only without a bound: with one, they can miss a
    /// failure (the search's [`Coverage`] is then
    /// [`PartialWithinBound`](Coverage::PartialWithinBound)).
    Exhaustive {
        /// The preemption bound.
        bound: Option<u32>,
        /// Sleep-set reduction (off by default).
        reduction: bool,
    },
    /// Every step picks uniformly among the CPUs that can run.
    Random,
    /// Probabilistic concurrency testing with bug depth `depth`.
    Pct {
        /// The depth d (d − 1 priority change points).
        depth: u32,
    },
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mode::Exhaustive { bound, reduction } => {
                write!(f, "exhaustive")?;
                match bound {
                    Some(b) => write!(f, ", preemption bound {b}")?,
                    None => write!(f, ", unbounded")?,
                }
                if *reduction {
                    write!(f, ", sleep sets")?;
                }
                Ok(())
            }
            Mode::Random => write!(f, "uniform random"),
            Mode::Pct { depth } => write!(f, "PCT depth {depth}"),
        }
    }
}

/// A search's parameters.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// How schedules are chosen.
    pub mode: Mode,
    /// At most this many executions.
    pub budget: u64,
    /// The seed of random and PCT runs (execution i uses a seed derived from
    /// this and i, so results do not depend on the number of threads).
    pub seed: u64,
    /// Worker threads. The counts and failures found do not depend on it.
    pub threads: usize,
    /// Subtrees the exhaustive search is split into for more than one
    /// thread and for shards (at least this many where the search has
    /// them; 64 by default). The counts do not depend on it either; shards
    /// of one search must agree on it.
    pub split: usize,
    /// Steps after which an execution counts as a livelock.
    pub max_steps: usize,
    /// Stop at the first failing execution.
    pub stop_on_failure: bool,
    /// The exhaustive search keeps the states it has been in (the
    /// program's [`Program::fingerprint`], each CPU's operations and
    /// observations, the CPU that ran last) and ends a run that reaches
    /// one it has explored from with as many preemptions left and no more
    /// CPUs asleep: the run is counted as pruned. Verdicts and coverage are
    /// those of the search without it; the counts are of the runs made.
    /// The cached search runs on one thread, whatever `threads` says (its
    /// counts then depend on nothing but the program), and cannot be
    /// sharded. Off by default; a program without a fingerprint is searched
    /// as without it.
    pub state_cache: bool,
}

impl Default for Config {
    /// Exhaustive, preemption bound 2, no sleep sets (sound for its bound: a
    /// finished search is [`Coverage::CompleteWithinBound`]), 10 000
    /// executions, seed 0, every core, split into 64 subtrees, 20 000
    /// steps.
    fn default() -> Self {
        Config {
            mode: Mode::Exhaustive {
                bound: Some(2),
                reduction: false,
            },
            budget: 10_000,
            seed: 0,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            split: 64,
            max_steps: 20_000,
            stop_on_failure: false,
            state_cache: false,
        }
    }
}

/// One failing execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Its index in the search (random and PCT: the seed index).
    pub index: u64,
    /// Its schedule.
    pub schedule: Schedule,
    /// Its preemptions.
    pub preemptions: usize,
    /// What went wrong.
    pub failures: Vec<String>,
    /// The execution's [`Outcome::detail`].
    pub detail: Option<serde_json::Value>,
}

/// What a search covered: the claim its "no failure found" supports.
///
/// Displayed in words (`complete within bound 2`, `incomplete: budget ran
/// out after 50000 executions`, …); [`Coverage::explain`] says what that
/// means, [`Coverage::kind`] names it for JSON and C.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    /// Every schedule was explored (no preemption bound; with or without
    /// sleep sets, which are sound here for a program whose footprints are
    /// exact: [`Program::exact_footprints`]).
    Complete,
    /// The unbounded search with sleep sets finished, but the program's
    /// announced footprints are not known to cover every access
    /// ([`Program::exact_footprints`]): sleep sets may have taken two steps
    /// that do not commute for independent, so it is not a proof.
    Partial,
    /// Every schedule with at most `bound` preemptions was explored (no
    /// sleep sets).
    CompleteWithinBound {
        /// The preemption bound.
        bound: u32,
    },
    /// The search within `bound` preemptions finished, but with sleep sets,
    /// which can prune the only schedules of a failure that fit the bound:
    /// not a proof for the bound.
    PartialWithinBound {
        /// The preemption bound.
        bound: u32,
    },
    /// An exhaustive search that stopped when its budget of `budget`
    /// executions (judged and pruned) ran out.
    Incomplete {
        /// The budget that ran out.
        budget: u64,
    },
    /// An exhaustive search that stopped at its first failure
    /// ([`Config::stop_on_failure`]) after `executions` executions.
    Stopped {
        /// Executions (judged and pruned) up to the failure.
        executions: u64,
    },
    /// Random or PCT: `executions` sampled schedules, no coverage claim.
    Sampled {
        /// Executions judged.
        executions: u64,
    },
}

impl Coverage {
    /// Whether a search that found no failure proves that none exists
    /// within what it covers: [`Complete`](Coverage::Complete) and
    /// [`CompleteWithinBound`](Coverage::CompleteWithinBound).
    pub fn is_proof(&self) -> bool {
        matches!(
            self,
            Coverage::Complete | Coverage::CompleteWithinBound { .. }
        )
    }

    /// The kind's name for JSON and C: `complete`, `complete_within_bound`,
    /// `partial_within_bound`, `incomplete`, `stopped`, `sampled`.
    pub fn kind(&self) -> &'static str {
        match self {
            Coverage::Complete => "complete",
            Coverage::Partial => "partial",
            Coverage::CompleteWithinBound { .. } => "complete_within_bound",
            Coverage::PartialWithinBound { .. } => "partial_within_bound",
            Coverage::Incomplete { .. } => "incomplete",
            Coverage::Stopped { .. } => "stopped",
            Coverage::Sampled { .. } => "sampled",
        }
    }

    /// The preemption bound of a bounded claim.
    pub fn bound(&self) -> Option<u32> {
        match self {
            Coverage::CompleteWithinBound { bound } | Coverage::PartialWithinBound { bound } => {
                Some(*bound)
            }
            _ => None,
        }
    }

    /// The executions the claim names: the budget that ran out, the
    /// executions up to the stop, or those sampled.
    pub fn executions(&self) -> Option<u64> {
        match self {
            Coverage::Incomplete { budget } => Some(*budget),
            Coverage::Stopped { executions } | Coverage::Sampled { executions } => {
                Some(*executions)
            }
            _ => None,
        }
    }

    /// What the claim means, in a sentence without a full stop.
    pub fn explain(&self) -> String {
        match self {
            Coverage::Complete => {
                "every schedule was explored, or one that differs from it only in the order of independent steps".into()
            }
            Coverage::CompleteWithinBound { bound } => format!(
                "every schedule with at most {bound} preemption{} was explored, none with more",
                if *bound == 1 { "" } else { "s" }
            ),
            Coverage::PartialWithinBound { .. } => {
                "sleep sets combined with a preemption bound may miss failures: not a proof for the bound".into()
            }
            Coverage::Partial => {
                "sleep sets rest on the steps' footprints, which the program does not promise cover every access it makes: not a proof".into()
            }
            Coverage::Incomplete { .. } => {
                "the exhaustive search did not finish: schedules were left unexplored".into()
            }
            Coverage::Stopped { .. } => {
                "the search stopped at its first failure: schedules were left unexplored".into()
            }
            Coverage::Sampled { .. } => {
                "sampled schedules do not prove that no failure exists".into()
            }
        }
    }

    /// `{"kind": …, "bound": …, "executions": …, "text": …}`: `bound` and
    /// `executions` as [`bound`](Coverage::bound) and
    /// [`executions`](Coverage::executions) (null where they do not apply),
    /// `text` the words.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "kind": self.kind(),
            "bound": self.bound(),
            "executions": self.executions(),
            "text": self.to_string(),
        })
    }

    /// Of two claims about searches of the same program, the stronger (the
    /// one a pass can rest on): a proof before anything else, an unbounded
    /// proof before a bounded one, a higher bound before a lower one; then
    /// partial, stopped, incomplete, sampled.
    pub fn stronger(self, o: Coverage) -> Coverage {
        fn rank(c: &Coverage) -> (u8, u32) {
            match c {
                Coverage::Complete => (6, 0),
                Coverage::CompleteWithinBound { bound } => (5, *bound),
                Coverage::PartialWithinBound { bound } => (4, *bound),
                Coverage::Partial => (4, u32::MAX),
                Coverage::Stopped { .. } => (3, 0),
                Coverage::Incomplete { .. } => (2, 0),
                Coverage::Sampled { .. } => (1, 0),
            }
        }
        if rank(&o) > rank(&self) {
            o
        } else {
            self
        }
    }
}

impl fmt::Display for Coverage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Coverage::Complete => write!(f, "complete"),
            Coverage::Partial => {
                write!(f, "partial (sleep sets over footprints not promised exact)")
            }
            Coverage::CompleteWithinBound { bound } => write!(f, "complete within bound {bound}"),
            Coverage::PartialWithinBound { bound } => {
                write!(f, "partial within bound {bound} (sleep sets)")
            }
            Coverage::Incomplete { budget } => {
                write!(f, "incomplete: budget ran out after {budget} executions")
            }
            Coverage::Stopped { executions } => write!(
                f,
                "stopped at the first failure after {executions} executions"
            ),
            Coverage::Sampled { executions } => {
                write!(f, "sampled: {executions} executions (no coverage claim)")
            }
        }
    }
}

/// What a search found.
#[derive(Debug, Clone)]
pub struct Report {
    /// The mode.
    pub mode: Mode,
    /// The seed (random and PCT).
    pub seed: u64,
    /// Executions judged.
    pub executions: u64,
    /// Executions abandoned as redundant by the reduction (exhaustive).
    pub pruned: u64,
    /// Failing executions.
    pub failing: u64,
    /// Distinct schedules among the failing executions.
    pub distinct_failing: u64,
    /// Whether the exhaustive search ran to its end: neither its budget ran
    /// out nor it stopped at a failure. With sleep sets and a bound that is
    /// no proof; what the search covers is [`coverage`](Report::coverage).
    pub complete: bool,
    /// What the search covered, as the search itself judged it.
    pub coverage: Coverage,
    /// The first failing execution (lowest index).
    pub first: Option<Failure>,
    /// The failing execution with the fewest preemptions (the lowest index
    /// among those). When the search was unreduced and its coverage is a
    /// proof, no schedule with fewer preemptions fails.
    pub least: Option<Failure>,
    /// Observed outcomes with their counts.
    pub outcomes: BTreeMap<String, u64>,
    /// Failure messages with their counts.
    pub failure_kinds: BTreeMap<String, u64>,
    /// Cost counters summed over executions.
    pub counters: BTreeMap<&'static str, u64>,
    /// The longest execution, in steps.
    pub max_steps: usize,
}

impl Report {
    pub(crate) fn new(mode: Mode, seed: u64) -> Report {
        Report {
            mode,
            seed,
            executions: 0,
            pruned: 0,
            failing: 0,
            distinct_failing: 0,
            complete: false,
            coverage: Coverage::Sampled { executions: 0 },
            first: None,
            least: None,
            outcomes: BTreeMap::new(),
            failure_kinds: BTreeMap::new(),
            counters: BTreeMap::new(),
            max_steps: 0,
        }
    }

    /// The report of one judged execution (a replay).
    pub fn single(run: &Run, out: &Outcome) -> Report {
        let mut r = Report::new(
            Mode::Exhaustive {
                bound: None,
                reduction: false,
            },
            0,
        );
        r.record(0, run, out, &mut Distinct::default());
        r.coverage = Coverage::Sampled { executions: 1 };
        r
    }

    /// Whether a failure was found, and if none, whether that is a proof
    /// for what the search covered.
    pub fn verdict(&self) -> Verdict {
        if self.failing > 0 {
            Verdict::Fail
        } else if self.coverage.is_proof() {
            Verdict::Pass
        } else {
            Verdict::Inconclusive
        }
    }

    /// Failing executions over executions.
    pub fn rate(&self) -> f64 {
        if self.executions == 0 {
            0.0
        } else {
            self.failing as f64 / self.executions as f64
        }
    }

    /// The 95% Wilson score interval of the failure rate.
    pub fn interval(&self) -> (f64, f64) {
        wilson(self.failing, self.executions)
    }

    /// The mean of a cost counter per execution.
    pub fn mean(&self, counter: &str) -> f64 {
        let v = self.counters.get(counter).copied().unwrap_or(0);
        if self.executions == 0 {
            0.0
        } else {
            v as f64 / self.executions as f64
        }
    }

    /// Counts run `index` of an exhaustive search: judged (`out`) or pruned
    /// (`None`); whether the search stops here (it failed and
    /// [`Config::stop_on_failure`]).
    pub(crate) fn judge(
        &mut self,
        index: u64,
        run: &Run,
        out: Option<Outcome>,
        distinct: &mut Distinct,
        config: &Config,
    ) -> bool {
        match out {
            Some(out) => {
                self.record(index, run, &out, distinct);
                out.failed() && config.stop_on_failure
            }
            None => {
                self.pruned += 1;
                false
            }
        }
    }

    pub(crate) fn record(&mut self, index: u64, run: &Run, out: &Outcome, distinct: &mut Distinct) {
        self.executions += 1;
        self.max_steps = self.max_steps.max(run.steps.len());
        if !out.observed.is_empty() {
            *self.outcomes.entry(out.observed.clone()).or_default() += 1;
        }
        for &(k, v) in &out.counters {
            *self.counters.entry(k).or_default() += v;
        }
        if out.failed() {
            // Searches record millions of failures of a few kinds: allocate
            // only for what has not been seen.
            self.failing += 1;
            for f in &out.failures {
                match self.failure_kinds.get_mut(f) {
                    Some(n) => *n += 1,
                    None => {
                        self.failure_kinds.insert(f.clone(), 1);
                    }
                }
            }
            let preemptions = run.preemptions();
            let first = self.first.as_ref().is_none_or(|f| index < f.index);
            let least = self
                .least
                .as_ref()
                .is_none_or(|f| (preemptions, index) < (f.preemptions, f.index));
            if first || least {
                let f = Failure {
                    index,
                    schedule: Schedule::of_run(run),
                    preemptions,
                    failures: out.failures.clone(),
                    detail: out.detail.clone(),
                };
                match (first, least) {
                    (true, true) => {
                        self.least = Some(f.clone());
                        self.first = Some(f);
                    }
                    (true, false) => self.first = Some(f),
                    _ => self.least = Some(f),
                }
            }
            if distinct.insert(run) {
                self.distinct_failing += 1;
            }
        }
    }

    /// Adds another search's counts to this one (the first failure kept is
    /// the one with fewer preemptions; distinct schedules are summed). Both
    /// searches must be of the same program; the coverage is the
    /// [stronger](Coverage::stronger) of the two, and `complete` holds if
    /// both ran to their end.
    pub fn absorb(&mut self, o: Report) {
        self.coverage = self.coverage.stronger(o.coverage);
        self.complete &= o.complete;
        let first = o.first.clone();
        self.distinct_failing += o.distinct_failing;
        self.merge(Report { first: None, ..o });
        if let Some(f) = first {
            if self
                .first
                .as_ref()
                .is_none_or(|g| f.preemptions < g.preemptions)
            {
                self.first = Some(f);
            }
        }
    }

    pub(crate) fn merge(&mut self, o: Report) {
        self.executions += o.executions;
        self.pruned += o.pruned;
        self.failing += o.failing;
        self.max_steps = self.max_steps.max(o.max_steps);
        for (k, v) in o.outcomes {
            *self.outcomes.entry(k).or_default() += v;
        }
        for (k, v) in o.failure_kinds {
            *self.failure_kinds.entry(k).or_default() += v;
        }
        for (k, v) in o.counters {
            *self.counters.entry(k).or_default() += v;
        }
        if let Some(f) = o.first {
            if self.first.as_ref().is_none_or(|g| f.index < g.index) {
                self.first = Some(f);
            }
        }
        if let Some(f) = o.least {
            if self
                .least
                .as_ref()
                .is_none_or(|g| (f.preemptions, f.index) < (g.preemptions, g.index))
            {
                self.least = Some(f);
            }
        }
    }

    /// Whether [`least`](Report::least) is minimal as it stands: the search
    /// was exhaustive without sleep sets and covered its claim, so every
    /// schedule with fewer preemptions was run and passed.
    pub fn least_is_minimal(&self) -> bool {
        self.least.is_some()
            && self.coverage.is_proof()
            && matches!(
                self.mode,
                Mode::Exhaustive {
                    reduction: false,
                    ..
                }
            )
    }

    /// Shifts every execution index by `by` (a part of a search placed after
    /// `by` earlier runs).
    pub(crate) fn shift(&mut self, by: u64) {
        for f in self.first.iter_mut().chain(self.least.iter_mut()) {
            f.index += by;
        }
    }
}

/// A search's verdict: [`Report::verdict`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A failing execution was found.
    Fail,
    /// None was found, and the search covered what its
    /// [`Coverage`] claims ([`Coverage::is_proof`]).
    Pass,
    /// None was found, but the search was incomplete, partial or sampled.
    Inconclusive,
}

impl Verdict {
    /// `fail`, `pass` or `inconclusive`.
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Fail => "fail",
            Verdict::Pass => "pass",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The 95% Wilson score interval for `k` successes in `n` trials.
pub fn wilson(k: u64, n: u64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let z = 1.959_963_984_540_054_f64;
    let (n, p) = (n as f64, k as f64 / n as f64);
    let d = 1.0 + z * z / n;
    let c = (p + z * z / (2.0 * n)) / d;
    let h = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / d;
    ((c - h).max(0.0), (c + h).min(1.0))
}

/// The step of the run of `schedule` during which its first oracle
/// violation happened (an index of the run's steps), or `None` when its
/// first violation is in the final read after the run, or there is none.
/// `steps` is the run's length. Found by bisection over prefixes, each a
/// replay stopped by the step limit after `k` steps that asks whether a
/// violation was already seen during the run: about log2(steps) runs.
pub fn violation_step<P: Program>(
    program: &P,
    schedule: &crate::Schedule,
    steps: usize,
) -> Result<Option<usize>, String> {
    let during = |k: usize| -> Result<bool, String> {
        let (_, out) = run_one(program, &mut crate::Replay::new(schedule.clone()), k)?;
        Ok(out
            .and_then(|o| o.detail)
            .is_some_and(|d| d["when"] == "during the run"))
    };
    if steps == 0 || !during(steps)? {
        return Ok(None);
    }
    // The least k with a violation among the first k steps.
    let (mut lo, mut hi) = (1, steps);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if during(mid)? {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Ok(Some(lo - 1))
}

/// Runs one execution of `program` under `chooser` and judges it; the
/// executor's own findings (deadlock, panic, step limit) become failures.
pub fn run_one<P: Program, C: Chooser>(
    program: &P,
    chooser: &mut C,
    max_steps: usize,
) -> Result<(Run, Option<Outcome>), String> {
    let state = program.setup()?;
    let n = program.cpus(&state);
    if n > MAX_CPUS {
        return Err(format!("{n} CPUs; at most {MAX_CPUS}"));
    }
    let body = |cpu| program.run(&state, cpu);
    let run = if chooser.views_state() {
        let view = View {
            program,
            state: &state,
        };
        let mut viewing = Viewing {
            inner: chooser,
            view: &view,
        };
        execute(n, &body, &mut viewing, max_steps)
    } else {
        execute(n, &body, chooser, max_steps)
    };
    if run.ending == Ending::Abandoned {
        return Ok((run, None));
    }
    let mut out = program.check(state, &run);
    match &run.ending {
        Ending::Deadlock(w) => {
            // Kind and function only: lock ids differ from world to world, so
            // the same deadlock reads the same in every execution.
            let who: Vec<String> = w
                .iter()
                .map(|(c, op)| {
                    format!(
                        "CPU{c} in {}: {}",
                        op.what,
                        crate::timeline::kind_name(op.kind)
                    )
                })
                .collect();
            out.failures.push(format!("deadlock: {}", who.join("; ")));
        }
        Ending::Panic(m) => out.failures.push(format!("panic: {m}")),
        Ending::StepLimit => out.failures.push(format!("no end after {max_steps} steps")),
        Ending::Finished | Ending::Abandoned => {}
    }
    Ok((run, Some(out)))
}

/// A search node of the exhaustive mode: the CPUs that could run, the one
/// chosen, those already explored from here, and those asleep.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    enabled: Vec<(usize, Op)>,
    prev: Option<usize>,
    preemptions: u32,
    sleep: Vec<usize>,
    /// With sleep sets: what each sleeping CPU's step touched beyond its
    /// announcement when it was explored (beside `sleep`), and the same
    /// for each CPU explored from here (beside `tried`).
    sleep_touched: Vec<Vec<Footprint>>,
    tried_touched: Vec<Vec<Footprint>>,
    tried: Vec<usize>,
    chosen: usize,
    /// With the state cache: each CPU's history (a hash of its operations
    /// and observations) in this node's state, and what the chosen CPU's
    /// operation observes here (computed when it is chosen).
    history: Vec<u64>,
    observed: Option<u64>,
}

/// A hash of `words` under `seed` (SipHash-1-3, the standard library's).
fn words_hash(seed: u64, words: &[u64]) -> u64 {
    use std::hash::{Hash as _, Hasher as _};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    seed.hash(&mut h);
    words.hash(&mut h);
    h.finish()
}

/// The states an exhaustive search has explored from: by a 128-bit key, the
/// preemption counts and sleep sets they were entered with (the fewest
/// preemptions that no visit with fewer asleep covers).
#[derive(Debug, Default)]
pub(crate) struct StateCache {
    seen: rustc_hash::FxHashMap<u128, Vec<(u32, Vec<usize>)>>,
    words: Vec<u64>,
}

impl StateCache {
    /// Whether the state `key`, entered with `preemptions` and `sleep`, is
    /// covered by a visit; records it if not.
    fn visit(&mut self, key: u128, preemptions: u32, sleep: &[usize]) -> bool {
        let visits = self.seen.entry(key).or_default();
        // An earlier visit explored every choice not asleep then, with at
        // least as many preemptions left: it covers this one when this one
        // has every CPU asleep that it had.
        if visits
            .iter()
            .any(|(p, s)| *p <= preemptions && s.iter().all(|c| sleep.contains(c)))
        {
            return true;
        }
        visits.retain(|(p, s)| !(preemptions <= *p && sleep.iter().all(|c| s.contains(c))));
        visits.push((preemptions, sleep.to_vec()));
        false
    }
}

fn op_of(enabled: &[(usize, Op)], c: usize) -> Option<&Op> {
    enabled.iter().find(|(e, _)| *e == c).map(|(_, op)| op)
}

/// Whether operation `a`, which also touched `at`, and operation `b`, which
/// also touched `bt`, conflict: some object one of them touched, by
/// announcement or in fact, the other touched too, and one wrote it.
fn conflict(a: &Op, at: &[Footprint], b: &Op, bt: &[Footprint]) -> bool {
    a.fp.iter()
        .chain(at)
        .any(|f| b.fp.iter().chain(bt).any(|g| f.conflicts(g)))
}

/// Whether running `c` after `prev` is a preemption.
fn preempts(prev: Option<usize>, enabled: &[(usize, Op)], c: usize) -> u32 {
    u32::from(matches!(prev, Some(p) if p != c && op_of(enabled, p).is_some()))
}

/// Depth-first search over schedules, replaying the path to the newest node.
///
/// A part of the search ([`crate::split`]) starts from a prefix of nodes it
/// never backtracks into (`floor`); the split itself stops every run at a
/// depth (`cut`) and keeps the path to it (`cut_prefix`).
#[derive(Debug)]
pub(crate) struct Dfs {
    pub(crate) stack: Vec<Node>,
    bound: Option<u32>,
    reduction: bool,
    diverged: Option<usize>,
    floor: usize,
    cut: Option<usize>,
    pub(crate) cut_prefix: Option<Vec<Node>>,
    pub(crate) cache: Option<StateCache>,
}

impl Dfs {
    /// The whole search.
    pub(crate) fn new(bound: Option<u32>, reduction: bool) -> Dfs {
        Dfs {
            stack: Vec::new(),
            bound,
            reduction,
            diverged: None,
            floor: 0,
            cut: None,
            cut_prefix: None,
            cache: None,
        }
    }

    /// The same search with the state cache ([`Config::state_cache`]) on
    /// or off.
    pub(crate) fn caching(mut self, on: bool) -> Dfs {
        self.cache = on.then(StateCache::default);
        self
    }

    /// The subtree below `prefix`, exactly as the whole search explores it.
    pub(crate) fn below(prefix: Vec<Node>, bound: Option<u32>, reduction: bool) -> Dfs {
        Dfs {
            floor: prefix.len(),
            stack: prefix,
            ..Dfs::new(bound, reduction)
        }
    }

    /// The search cut at depth `depth`: a run that gets there is abandoned
    /// and its path kept.
    pub(crate) fn cut_at(depth: usize, bound: Option<u32>, reduction: bool) -> Dfs {
        Dfs {
            cut: Some(depth),
            ..Dfs::new(bound, reduction)
        }
    }

    /// The next CPU to explore at `node`: the running one first (no
    /// preemption), then in CPU order; skipping explored, asleep and
    /// over-bound choices.
    fn next(&self, node: &Node) -> Option<usize> {
        let first = node.prev.filter(|&p| op_of(&node.enabled, p).is_some());
        first
            .into_iter()
            .chain(node.enabled.iter().map(|(c, _)| *c))
            .find(|&c| {
                !node.tried.contains(&c)
                    && !node.sleep.contains(&c)
                    && self.bound.is_none_or(|b| {
                        node.preemptions + preempts(node.prev, &node.enabled, c) <= b
                    })
            })
    }

    /// Moves to the next unexplored branch; false when the search (or the
    /// part above its floor) is over.
    pub(crate) fn backtrack(&mut self) -> bool {
        while self.stack.len() > self.floor {
            let mut top = self.stack.pop().expect("above the floor");
            top.tried.push(top.chosen);
            if self.reduction {
                // The last execution ran this node's chosen step (it reached
                // this node, the deepest): what that step touched.
                let mut t = Vec::new();
                crate::engine::touched(self.stack.len(), &mut t);
                top.tried_touched.push(t);
            }
            if let Some(c) = self.next(&top) {
                top.chosen = c;
                top.observed = None;
                self.stack.push(top);
                return true;
            }
        }
        false
    }
}

impl Dfs {
    /// What the chosen CPU's operation at `node` observes, computed once.
    fn observe(node: &mut Node, view: &dyn StateView, words: &mut Vec<u64>) {
        if node.observed.is_none() {
            words.clear();
            if let Some(op) = op_of(&node.enabled, node.chosen) {
                view.observe(node.chosen, op, words);
            }
            node.observed = Some(words_hash(2, words));
        }
    }

    /// The CPUs' histories in the state after `p`'s step.
    fn histories_after(p: &Node) -> Vec<u64> {
        let mut h = p.history.clone();
        let c = p.chosen;
        if h.len() <= c {
            h.resize(c + 1, 0);
        }
        let op = op_of(&p.enabled, c).expect("chosen was enabled");
        use std::hash::{Hash as _, Hasher as _};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (3u64, h[c], p.observed.unwrap_or(0), op).hash(&mut hasher);
        h[c] = hasher.finish();
        h
    }

    fn choose_with(
        &mut self,
        step: usize,
        prev: Option<usize>,
        enabled: Enabled<'_>,
        view: Option<&dyn StateView>,
    ) -> Option<usize> {
        if let Some(n) = self.stack.get(step) {
            // Lock ids differ between worlds; kinds and functions must not.
            let same = n.enabled.len() == enabled.len()
                && n.enabled
                    .iter()
                    .zip(enabled.iter())
                    .all(|((a, x), (b, y))| *a == b && x.kind == y.kind && x.what == y.what);
            if !same {
                self.diverged = Some(step);
                return None;
            }
            let c = n.chosen;
            if let (Some(view), Some(cache)) = (view, self.cache.as_mut()) {
                Dfs::observe(&mut self.stack[step], view, &mut cache.words);
            }
            return Some(c);
        }
        if self.cut == Some(step) {
            self.cut_prefix = Some(self.stack.clone());
            return None;
        }
        let (sleep, sleep_touched, preemptions) = match self.stack.last() {
            None => (Vec::new(), Vec::new(), 0),
            Some(p) => {
                let ran = op_of(&p.enabled, p.chosen).expect("chosen was enabled");
                let (mut sleep, mut sleep_touched) = (Vec::new(), Vec::new());
                if self.reduction {
                    let mut ran_touched = Vec::new();
                    crate::engine::touched(step - 1, &mut ran_touched);
                    let asleep = p.sleep.iter().zip(&p.sleep_touched);
                    for (&q, qt) in asleep.chain(p.tried.iter().zip(&p.tried_touched)) {
                        let stays = q != p.chosen
                            && enabled.contains(q)
                            && op_of(&p.enabled, q)
                                .is_some_and(|o| !conflict(o, qt, ran, &ran_touched));
                        if stays {
                            sleep.push(q);
                            sleep_touched.push(qt.clone());
                        }
                    }
                }
                (
                    sleep,
                    sleep_touched,
                    p.preemptions + preempts(p.prev, &p.enabled, p.chosen),
                )
            }
        };
        let history = match (&self.cache, self.stack.last()) {
            (Some(_), Some(p)) => Dfs::histories_after(p),
            _ => Vec::new(),
        };
        if let (Some(view), Some(cache)) = (view, self.cache.as_mut()) {
            cache.words.clear();
            if view.fingerprint(&mut cache.words) {
                let n = cache.words.len() as u64;
                cache.words.push(n);
                cache.words.push(prev.map_or(u64::MAX, |p| p as u64));
                // A CPU that has not run has history 0, whether or not the
                // vector reaches it.
                let len = history.iter().rposition(|&h| h != 0).map_or(0, |i| i + 1);
                cache.words.extend(&history[..len]);
                let key = u128::from(words_hash(0, &cache.words)) << 64
                    | u128::from(words_hash(1, &cache.words));
                if cache.visit(key, preemptions, &sleep) {
                    return None;
                }
            }
        }
        let mut node = Node {
            enabled: enabled.to_vec(),
            prev,
            preemptions,
            sleep,
            sleep_touched,
            tried_touched: Vec::new(),
            tried: Vec::new(),
            chosen: 0,
            history,
            observed: None,
        };
        let c = self.next(&node)?;
        node.chosen = c;
        if let (Some(view), Some(cache)) = (view, self.cache.as_mut()) {
            Dfs::observe(&mut node, view, &mut cache.words);
        }
        self.stack.push(node);
        Some(c)
    }
}

impl Chooser for Dfs {
    fn choose(&mut self, step: usize, prev: Option<usize>, enabled: Enabled<'_>) -> Option<usize> {
        self.choose_with(step, prev, enabled, None)
    }

    fn views_state(&self) -> bool {
        self.cache.is_some()
    }

    fn wants_touched(&self) -> bool {
        self.reduction
    }

    fn choose_viewing(
        &mut self,
        step: usize,
        prev: Option<usize>,
        enabled: Enabled<'_>,
        view: &dyn StateView,
    ) -> Option<usize> {
        self.choose_with(step, prev, enabled, Some(view))
    }
}

/// Uniformly random choices.
struct RandomChooser(fastrand::Rng);

impl Chooser for RandomChooser {
    fn choose(&mut self, _: usize, _: Option<usize>, enabled: Enabled<'_>) -> Option<usize> {
        // Multiply-shift of 32 random bits onto the k CPUs: each is chosen
        // with probability k⁻¹ within 2⁻³² (no division, no rejection loop).
        let k = (u64::from(self.0.u32(..)) * enabled.len() as u64) >> 32;
        enabled.nth(k as usize)
    }

    fn reads_ops(&self) -> bool {
        false
    }
}

/// PCT (Burckhardt et al. 2010): random distinct initial priorities of at
/// least `depth`, `depth − 1` change points uniform over the expected
/// length; the highest-priority CPU that can run runs, and the CPU that runs
/// at change point i drops to priority i.
struct PctChooser {
    prio: [u32; MAX_CPUS],
    change: Vec<usize>,
}

impl PctChooser {
    fn new(rng: &mut fastrand::Rng, depth: u32, length: usize) -> PctChooser {
        let mut order: Vec<u32> = (0..MAX_CPUS as u32).collect();
        rng.shuffle(&mut order);
        let mut prio = [0; MAX_CPUS];
        for (i, p) in order.into_iter().enumerate() {
            prio[i] = depth + p;
        }
        let change = (1..depth).map(|_| rng.usize(0..length.max(1))).collect();
        PctChooser { prio, change }
    }
}

impl Chooser for PctChooser {
    fn choose(&mut self, step: usize, _: Option<usize>, enabled: Enabled<'_>) -> Option<usize> {
        let best = |p: &[u32; MAX_CPUS]| enabled.cpus().max_by_key(|&c| p[c]);
        let mut c = best(&self.prio)?;
        for (i, &k) in self.change.iter().enumerate() {
            if k == step {
                self.prio[c] = i as u32 + 1;
                c = best(&self.prio)?;
            }
        }
        Some(c)
    }

    fn reads_ops(&self) -> bool {
        false
    }
}

/// The default schedule: no preemption at all.
struct Default0;

impl Chooser for Default0 {
    fn choose(&mut self, _: usize, prev: Option<usize>, enabled: Enabled<'_>) -> Option<usize> {
        Some(default_choice(prev, enabled))
    }

    fn reads_ops(&self) -> bool {
        false
    }
}

/// The seed of execution `i` (splitmix64 of the search seed and `i`).
pub fn seed_of(seed: u64, i: u64) -> u64 {
    let mut z = seed ^ i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Progress callback: (executions done, budget).
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Sync);

/// Searches `program`'s schedules as `config` says.
pub fn explore<P: Program>(
    program: &P,
    config: &Config,
    progress: Option<Progress<'_>>,
) -> Result<Report, String> {
    match config.mode {
        Mode::Exhaustive { bound, reduction } => {
            exhaustive(program, config, bound, reduction, progress)
        }
        Mode::Random | Mode::Pct { .. } => sampled(program, config, progress),
    }
}

fn exhaustive<P: Program>(
    program: &P,
    config: &Config,
    bound: Option<u32>,
    reduction: bool,
    progress: Option<Progress<'_>>,
) -> Result<Report, String> {
    // The cached search runs on one thread, with one cache for the whole
    // tree: a cache per subtree of the split would keep few states worth
    // keeping, and one shared between workers would make the counts depend
    // on their timing.
    if config.threads > 1 && !config.state_cache {
        return crate::split::parallel(program, config, bound, reduction, progress);
    }
    let tick = |done: u64| {
        if let Some(p) = progress {
            p(done, config.budget);
        }
    };
    let part = search_part(
        program,
        config,
        Dfs::new(bound, reduction).caching(config.state_cache),
        config.budget,
        &tick,
    )?;
    let runs = part.runs();
    Ok(conclude(
        part.report,
        part.end,
        runs,
        config,
        bound,
        reduction,
        program.exact_footprints(),
    ))
}

/// How a part of an exhaustive search ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// Every schedule of the part was run.
    Finished,
    /// The cap of runs was reached with schedules left.
    Capped,
    /// It stopped at its first failure ([`Config::stop_on_failure`]).
    Stopped,
}

/// A part of an exhaustive search (the whole search, or the subtree below
/// a prefix): its report with execution indices from 0, and how it ended.
#[derive(Debug, Clone)]
pub(crate) struct Part {
    pub(crate) report: Report,
    pub(crate) end: End,
}

impl Part {
    /// Runs made: judged and pruned.
    pub(crate) fn runs(&self) -> u64 {
        self.report.executions + self.report.pruned
    }
}

/// Runs `dfs`'s schedules, at most `cap` of them (judged or pruned), in
/// depth-first order; `tick` hears the runs made every 256.
pub(crate) fn search_part<P: Program>(
    program: &P,
    config: &Config,
    mut dfs: Dfs,
    cap: u64,
    tick: &dyn Fn(u64),
) -> Result<Part, String> {
    let mut report = Report::new(config.mode, config.seed);
    let mut distinct = Distinct::default();
    let mut index = 0;
    loop {
        if index >= cap {
            return Ok(Part {
                report,
                end: End::Capped,
            });
        }
        let (run, out) = run_one(program, &mut dfs, config.max_steps)?;
        if let Some(step) = dfs.diverged {
            return Err(format!(
                "the program is not deterministic: execution {index} diverged at step {step}"
            ));
        }
        index += 1;
        if report.judge(index - 1, &run, out, &mut distinct, config) {
            return Ok(Part {
                report,
                end: End::Stopped,
            });
        }
        if index % 256 == 0 {
            tick(index);
        }
        if !dfs.backtrack() {
            return Ok(Part {
                report,
                end: End::Finished,
            });
        }
    }
}

/// The coverage of an exhaustive search of `runs` runs that ended so.
pub(crate) fn conclude(
    mut report: Report,
    end: End,
    runs: u64,
    config: &Config,
    bound: Option<u32>,
    reduction: bool,
    exact: bool,
) -> Report {
    report.complete = end == End::Finished;
    report.coverage = match end {
        End::Stopped => Coverage::Stopped { executions: runs },
        End::Capped => Coverage::Incomplete {
            budget: config.budget,
        },
        End::Finished => match bound {
            None if reduction && !exact => Coverage::Partial,
            None => Coverage::Complete,
            Some(bound) if reduction => Coverage::PartialWithinBound { bound },
            Some(bound) => Coverage::CompleteWithinBound { bound },
        },
    };
    report
}

fn sampled<P: Program>(
    program: &P,
    config: &Config,
    progress: Option<Progress<'_>>,
) -> Result<Report, String> {
    // PCT needs the expected length: one run without preemptions.
    let length = match config.mode {
        Mode::Pct { .. } => run_one(program, &mut Default0, config.max_steps)?
            .0
            .steps
            .len(),
        _ => 0,
    };
    let threads = config.threads.clamp(1, config.budget.max(1) as usize);
    let done = AtomicU64::new(0);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let error = Mutex::new(None);
    // One worker: execution i for i ≡ w (mod threads).
    let work = |w: usize| -> (Report, Distinct) {
        let mut part = Report::new(config.mode, config.seed);
        let mut distinct = Distinct::default();
        let mut i = w as u64;
        // Executions not yet added to `done`: a shared counter bumped per
        // execution bounced its cache line between the workers (two workers
        // ran hardly faster than one).
        let mut unpublished = 0;
        while i < config.budget && !stop.load(Ordering::Relaxed) {
            let mut rng = fastrand::Rng::with_seed(seed_of(config.seed, i));
            let r = match config.mode {
                Mode::Pct { depth } => {
                    let mut c = PctChooser::new(&mut rng, depth, length);
                    run_one(program, &mut c, config.max_steps)
                }
                _ => run_one(program, &mut RandomChooser(rng), config.max_steps),
            };
            match r {
                Ok((run, Some(out))) => {
                    part.record(i, &run, &out, &mut distinct);
                    if out.failed() && config.stop_on_failure {
                        stop.store(true, Ordering::Relaxed);
                    }
                }
                Ok((_, None)) => part.pruned += 1,
                Err(e) => {
                    *error.lock().expect("error slot") = Some(e);
                    stop.store(true, Ordering::Relaxed);
                }
            }
            unpublished += 1;
            if unpublished == 256 {
                let d = done.fetch_add(unpublished, Ordering::Relaxed) + unpublished;
                unpublished = 0;
                if let Some(p) = progress {
                    p(d, config.budget);
                }
            }
            i += threads as u64;
        }
        done.fetch_add(unpublished, Ordering::Relaxed);
        (part, distinct)
    };
    // One thread runs on the caller's thread: no spawn, and its pooled
    // coroutine stacks and step records live on for the next search.
    let parts: Vec<(Report, Distinct)> = if threads == 1 {
        vec![work(0)]
    } else {
        std::thread::scope(|s| {
            let workers: Vec<_> = (0..threads)
                .map(|w| s.spawn(move || as_worker(|| work(w))))
                .collect();
            workers
                .into_iter()
                .map(|h| h.join().expect("worker panicked"))
                .collect()
        })
    };
    if let Some(e) = error.into_inner().expect("error slot") {
        return Err(e);
    }
    let mut parts = parts.into_iter();
    // One worker's part is the report (no merge, no rehash of its set).
    let (mut report, mut distinct) = parts.next().expect("at least one worker");
    for (part, d) in parts {
        report.merge(part);
        distinct.set.extend(d.set);
    }
    report.distinct_failing = distinct.set.len() as u64;
    report.complete = false;
    report.coverage = Coverage::Sampled {
        executions: report.executions,
    };
    Ok(report)
}

/// The distinct failing schedules seen, under a fast hash: a failing
/// execution whose schedule was seen before allocates nothing.
#[derive(Debug, Default)]
pub(crate) struct Distinct {
    set: HashSet<Schedule, rustc_hash::FxBuildHasher>,
    buf: Vec<u8>,
}

impl Distinct {
    /// Remembers `run`'s schedule; whether it was new.
    fn insert(&mut self, run: &Run) -> bool {
        self.buf.clear();
        self.buf.extend(Schedule::choices_of(run));
        if self.set.contains(self.buf.as_slice()) {
            return false;
        }
        self.set.insert(Schedule(self.buf.clone()))
    }
}

/// A failing schedule with the fewest preemptions found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Minimised {
    /// The schedule.
    pub schedule: Schedule,
    /// Its preemptions.
    pub preemptions: usize,
    /// What went wrong in it.
    pub failures: Vec<String>,
    /// Whether no schedule with fewer preemptions fails: every one of them
    /// was run (an unreduced search that covered every bound below), so
    /// the schedule is minimal, not only the smallest found.
    pub proven: bool,
}

impl Minimised {
    /// "minimal" or "fewest found" (the word for its claim).
    pub fn claim(&self) -> &'static str {
        if self.proven {
            "minimal"
        } else {
            "fewest preemptions found"
        }
    }
}

/// The failing schedule with the fewest preemptions of a search's report,
/// and whether it is minimal. When the search itself was unreduced and
/// covered its claim ([`Coverage::is_proof`]), its least-preemption failure
/// ([`Report::least`]) is minimal as it stands: every schedule with fewer
/// preemptions was within the bound and was run. Otherwise
/// [`minimise`] searches below it with `budget` executions per bound.
pub fn minimal<P: Program>(
    program: &P,
    report: &Report,
    budget: u64,
    max_steps: usize,
) -> Result<Option<Minimised>, String> {
    let Some(least) = &report.least else {
        return Ok(None);
    };
    let as_is = |proven| Minimised {
        schedule: least.schedule.clone(),
        preemptions: least.preemptions,
        failures: least.failures.clone(),
        proven,
    };
    if report.least_is_minimal() {
        return Ok(Some(as_is(true)));
    }
    Ok(minimise(program, &least.schedule, budget, max_steps)?.or_else(|| Some(as_is(false))))
}

/// Looks for a failing schedule with fewer preemptions than `failing`: an
/// exhaustive search at bound 0, 1, … below the failing schedule's count,
/// with sleep sets (cheap, to find one) and then without (to prove there is
/// none), `budget` executions per search. Returns the first failing
/// schedule found at the lowest bound, or `failing` itself (replayed) when
/// nothing smaller fails; [`Minimised::proven`] when every unreduced search
/// below it finished. `None` when `failing` does not fail.
pub fn minimise<P: Program>(
    program: &P,
    failing: &Schedule,
    budget: u64,
    max_steps: usize,
) -> Result<Option<Minimised>, String> {
    let mut replay = crate::schedule::Replay::new(failing.clone());
    let (run, out) = run_one(program, &mut replay, max_steps)?;
    let Some(out) = out.filter(Outcome::failed) else {
        return Ok(None);
    };
    let have = run.preemptions();
    // Whether every unreduced search below the current bound finished
    // without a failure.
    let mut proven = true;
    for b in 0..have as u32 {
        for reduction in [true, false] {
            let config = Config {
                mode: Mode::Exhaustive {
                    bound: Some(b),
                    reduction,
                },
                budget,
                max_steps,
                stop_on_failure: true,
                threads: 1,
                ..Config::default()
            };
            let r = explore(program, &config, None)?;
            if let Some(f) = r.first {
                return Ok(Some(Minimised {
                    schedule: f.schedule,
                    preemptions: f.preemptions,
                    failures: f.failures,
                    proven,
                }));
            }
            if !reduction && !r.coverage.is_proof() {
                proven = false;
            }
        }
    }
    Ok(Some(Minimised {
        schedule: Schedule::of_run(&run),
        preemptions: have,
        failures: out.failures,
        proven,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_interval() {
        let (lo, hi) = wilson(50, 100);
        assert!(
            (lo - 0.4038).abs() < 1e-3 && (hi - 0.5962).abs() < 1e-3,
            "{lo} {hi}"
        );
        assert_eq!(wilson(0, 10).0, 0.0);
        assert!(wilson(10, 10).1 > 0.999_999);
        assert!(wilson(0, 10).1 > 0.2, "zero failures in 10 is not a proof");
        assert_eq!(wilson(0, 0), (0.0, 1.0));
    }

    #[test]
    fn the_default_exhaustive_search_has_no_sleep_sets() {
        assert_eq!(
            Config::default().mode,
            Mode::Exhaustive {
                bound: Some(2),
                reduction: false
            }
        );
    }

    #[test]
    fn coverage_says_what_it_covers_in_words() {
        let cases = [
            (Coverage::Complete, "complete", true),
            (
                Coverage::CompleteWithinBound { bound: 2 },
                "complete within bound 2",
                true,
            ),
            (
                Coverage::PartialWithinBound { bound: 3 },
                "partial within bound 3 (sleep sets)",
                false,
            ),
            (
                Coverage::Incomplete { budget: 50_000 },
                "incomplete: budget ran out after 50000 executions",
                false,
            ),
            (
                Coverage::Stopped { executions: 7 },
                "stopped at the first failure after 7 executions",
                false,
            ),
            (
                Coverage::Sampled { executions: 20 },
                "sampled: 20 executions (no coverage claim)",
                false,
            ),
        ];
        for (c, text, proof) in cases {
            assert_eq!(c.to_string(), text);
            assert_eq!(c.is_proof(), proof, "{c}");
            assert!(!c.explain().contains('{') && !c.explain().is_empty());
            assert_eq!(c.json()["kind"], c.kind());
            assert_eq!(c.json()["text"], text);
        }
        assert_eq!(
            Coverage::CompleteWithinBound { bound: 2 }.json()["bound"],
            2
        );
        assert!(Coverage::Complete.json()["bound"].is_null());
        assert_eq!(Coverage::Incomplete { budget: 5 }.json()["executions"], 5);
    }

    #[test]
    fn the_stronger_claim_is_the_proof() {
        let within2 = Coverage::CompleteWithinBound { bound: 2 };
        let partial3 = Coverage::PartialWithinBound { bound: 3 };
        let out = Coverage::Incomplete { budget: 10 };
        assert_eq!(partial3.stronger(within2), within2);
        assert_eq!(within2.stronger(partial3), within2);
        assert_eq!(out.stronger(partial3), partial3);
        assert_eq!(out.stronger(out), out);
        assert_eq!(
            within2.stronger(Coverage::CompleteWithinBound { bound: 1 }),
            within2
        );
        assert_eq!(within2.stronger(Coverage::Complete), Coverage::Complete);
    }

    #[test]
    fn seeds_differ_per_execution() {
        assert_ne!(seed_of(1, 0), seed_of(1, 1));
        assert_ne!(seed_of(1, 0), seed_of(2, 0));
    }
}
