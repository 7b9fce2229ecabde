//! The whole model for C: strategies (built-in, or a C function), the built-in
//! scenarios bound to a strategy, explorer runs and replays, and their results.
//!
//! A C strategy registered with `vipt_strategy_register` runs wherever a
//! built-in one does: the explorer calls it on its simulated CPUs (from
//! several threads at once, so it must be thread-safe), and
//! every kernel operation it calls (`kcpu.rs`) is a scheduling point.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::Arc;

use vipt_explore::litmus::Litmus;
use vipt_explore::scenario::{Colour, Kind, Params, Scenario};
use vipt_explore::target::Target;
use vipt_explore::{explore, run_one, timeline, Config, Mode, Replay, Report, Schedule};
use vipt_mm::strategy::{by_name, STRATEGIES as MM_STRATEGIES};
use vipt_mm::FlushStrategy;

use crate::error::{
    errno, guard, in_range, need_out, out_of_range, read_in, write_cstr, write_out, Error, Result,
};
use crate::handle::{from_ptr, to_ptr, HandleKind, HandleTable};
use crate::kcpu::{vipt_flush_dcache_page_fn, CStrategy};

/// A `flush_dcache_page` strategy. Opaque: a handle.
pub struct vipt_strategy {
    _private: [u8; 0],
}

/// A built-in scenario bound to a strategy. Opaque: a handle.
pub struct vipt_scenario {
    _private: [u8; 0],
}

/// What an explorer run or a replay found. Opaque: a handle.
pub struct vipt_result {
    _private: [u8; 0],
}

/// `colour`: 2.6.14 `get_shared_area` (ignores `vm_pgoff`).
pub const VIPT_COLOUR_2614: u32 = 0;
/// `colour`: the later colouring that adds `vm_pgoff`.
pub const VIPT_COLOUR_PGOFF_AWARE: u32 = 1;
/// `colour`: B placed by `MAP_FIXED` one page off A's colour.
pub const VIPT_COLOUR_MAP_FIXED: u32 = 2;

/// `mode`: exhaustive depth-first search within a preemption bound.
pub const VIPT_MODE_EXHAUSTIVE: u32 = 0;
/// `mode`: uniformly random schedules.
pub const VIPT_MODE_RANDOM: u32 = 1;
/// `mode`: PCT with depth `depth`.
pub const VIPT_MODE_PCT: u32 = 2;

/// The deepest PCT run (`depth`), as `vipt explore --depth` allows.
pub const VIPT_PCT_MAX_DEPTH: u32 = 16;
/// The most worker threads of a run (`threads`).
pub const VIPT_MAX_THREADS: u32 = 64;
/// The longest execution (`max_steps`), and the longest replayed schedule, in
/// steps: 2^22.
pub const VIPT_MAX_STEPS: u64 = 1 << 22;

/// Kernel profile `2.6.14` (`vipt_scenario_params.kernel`).
pub const VIPT_KERNEL_2_6_14: u32 = 0;
/// Kernel profile `2.6.15`.
pub const VIPT_KERNEL_2_6_15: u32 = 1;
/// Kernel profile `3.x` (≈2.6.39–3.6).
pub const VIPT_KERNEL_3X: u32 = 2;
/// Kernel profile `6.10`.
pub const VIPT_KERNEL_6_10: u32 = 3;
/// `vipt_scenario_params.page_flush`: the kernel's own `_PAGE_FLUSH` handling.
pub const VIPT_PAGE_FLUSH_KERNEL: i32 = -1;

/// A scenario's parameters; start from `vipt_scenario_defaults`. A field out
/// of range is `-EINVAL`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct vipt_scenario_params {
    /// The kernel profile, generic mm and parisc hooks: `VIPT_KERNEL_2_6_14`,
    /// `VIPT_KERNEL_2_6_15`, `VIPT_KERNEL_3X` or `VIPT_KERNEL_6_10` (0 to 3).
    pub kernel: u32,
    /// Vmas mapping the file, 2 to 8.
    pub vmas: u32,
    /// Cache lines per page: a power of two, 1 to `VIPT_MAX_LINES_PER_PAGE`
    /// (512, 8-byte lines).
    pub lines: u64,
    /// `VIPT_COLOUR_2614`, `VIPT_COLOUR_PGOFF_AWARE` or `VIPT_COLOUR_MAP_FIXED`
    /// (0 to 2).
    pub colour: u32,
    /// Whether an `fdc` through a flush-only (`_PAGE_FLUSH`) pte is honoured:
    /// `VIPT_PAGE_FLUSH_KERNEL` (-1, the default) for the kernel's own (on in
    /// 2.6.14 and 2.6.15, off in 3.x and 6.10); 1 or 0 to force it, which
    /// against the kernel's makes a mixed model.
    pub page_flush: i32,
    /// Speculative move-in through any TLB entry.
    pub move_in: bool,
    /// Move-in bursts the hardware agent inserts per execution where the
    /// explorer chooses, 0 to 4 (0: none; more than 0 needs `move_in`).
    pub move_ins: u32,
    /// The bursts also go through flush-only TLB entries.
    pub move_in_flush_only: bool,
    /// A sibling thread of A (CPU 3) loads and stores the page during the
    /// race.
    pub sibling: bool,
    /// Ablation: freed frames lose their cached lines (no kernel does this).
    pub scrub_freed: bool,
}

/// An explorer run's parameters; start from `vipt_explore_config_default`. A
/// field out of range is `-EINVAL`; a field of another mode is not looked at.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct vipt_explore_config {
    /// `VIPT_MODE_EXHAUSTIVE`, `VIPT_MODE_RANDOM` or `VIPT_MODE_PCT` (0 to 2).
    pub mode: u32,
    /// Exhaustive: the preemption bound, 0 to `INT32_MAX`, or -1 for none.
    pub bound: i32,
    /// Exhaustive: sleep-set reduction (off by default). With a bound it may
    /// miss failures, so the result's coverage is then
    /// `VIPT_COVERAGE_PARTIAL_WITHIN_BOUND`, never a pass. Without a bound
    /// it is sound for the built-in scenarios and scenario files (their
    /// conflicts include every access the audit saw outside a step's
    /// announced footprint) and the coverage is `VIPT_COVERAGE_COMPLETE`.
    pub reduction: bool,
    /// PCT: the depth, 1 to `VIPT_PCT_MAX_DEPTH` (16).
    pub depth: u32,
    /// At most this many executions: at least 1.
    pub budget: u64,
    /// Random and PCT: the seed, any value.
    pub seed: u64,
    /// Worker threads (every mode), 0 (one per core) to `VIPT_MAX_THREADS`
    /// (64).
    pub threads: u32,
    /// Steps after which an execution counts as a livelock: 1 to
    /// `VIPT_MAX_STEPS` (2^22).
    pub max_steps: u64,
}

/// A result's counts.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct vipt_result_counts {
    /// Executions judged.
    pub executions: u64,
    /// Executions abandoned as redundant by the reduction.
    pub pruned: u64,
    /// Failing executions.
    pub failing: u64,
    /// Distinct schedules among them.
    pub distinct_failing: u64,
    /// The search ran to its end (did not run out of budget). With sleep
    /// sets and a preemption bound that is no proof: read `coverage`.
    pub complete: bool,
    /// The longest execution, in steps.
    pub max_steps: u64,
    /// Preemptions of the first failing schedule (0 when none failed).
    pub first_preemptions: u64,
    /// What the search covered: `VIPT_COVERAGE_*`.
    pub coverage: u32,
    /// The preemption bound of a bounded coverage (-1 otherwise).
    pub coverage_bound: i32,
    /// The budget that ran out (`VIPT_COVERAGE_INCOMPLETE`), the executions
    /// sampled (`VIPT_COVERAGE_SAMPLED`) or up to the first failure
    /// (`VIPT_COVERAGE_STOPPED`); 0 otherwise.
    pub coverage_executions: u64,
    /// `VIPT_VERDICT_PASS` (no failure, and the coverage is a proof: complete,
    /// or complete within its bound), `VIPT_VERDICT_FAIL`, or
    /// `VIPT_VERDICT_INCONCLUSIVE` (no failure found, but the search was
    /// incomplete, partial or sampled: no pass).
    pub verdict: u32,
    /// The fewest preemptions of a failing schedule found (0 when none
    /// failed); the schedule is `vipt_result_least_schedule`'s.
    pub least_preemptions: u64,
    /// Whether that schedule is minimal: the search was exhaustive without
    /// sleep sets and covered its claim, so every schedule with fewer
    /// preemptions was run and passed.
    pub least_minimal: bool,
}

/// Coverage: every schedule was explored (no preemption bound).
pub const VIPT_COVERAGE_COMPLETE: u32 = 0;
/// Coverage: every schedule with at most `coverage_bound` preemptions (no
/// sleep sets).
pub const VIPT_COVERAGE_COMPLETE_WITHIN_BOUND: u32 = 1;
/// Coverage: the search within `coverage_bound` preemptions finished with
/// sleep sets, which can prune a failure's only schedules within the bound
/// (Coons, Musuvathi, McKinley, OOPSLA 2013): not a proof. With
/// `coverage_bound` -1: the unbounded search with sleep sets finished over
/// a program that does not promise its footprints exact, so that is no
/// proof either (no built-in scenario or scenario file: their unbounded
/// searches with sleep sets are complete).
pub const VIPT_COVERAGE_PARTIAL_WITHIN_BOUND: u32 = 2;
/// Coverage: the exhaustive search's budget ran out.
pub const VIPT_COVERAGE_INCOMPLETE: u32 = 3;
/// Coverage: the search stopped at its first failure.
pub const VIPT_COVERAGE_STOPPED: u32 = 4;
/// Coverage: random or PCT samples (and a replay), no coverage claim.
pub const VIPT_COVERAGE_SAMPLED: u32 = 5;

/// Verdict: no failure, and the coverage is a proof for what it claims.
pub const VIPT_VERDICT_PASS: u32 = 0;
/// Verdict: a failing execution was found.
pub const VIPT_VERDICT_FAIL: u32 = 1;
/// Verdict: no failure found, but the search was incomplete, partial or
/// sampled: no pass.
pub const VIPT_VERDICT_INCONCLUSIVE: u32 = 2;

/// A report's coverage and verdict in the C encoding: (coverage, bound,
/// executions, verdict).
fn coverage_of(rep: &Report) -> (u32, i32, u64, u32) {
    use vipt_explore::search::{Coverage, Verdict};
    let bound = |b: u32| i32::try_from(b).unwrap_or(i32::MAX);
    let (c, b, n) = match rep.coverage {
        Coverage::Complete => (VIPT_COVERAGE_COMPLETE, -1, 0),
        // Unbounded sleep sets over footprints not promised exact: partial,
        // bound -1.
        Coverage::Partial => (VIPT_COVERAGE_PARTIAL_WITHIN_BOUND, -1, 0),
        Coverage::CompleteWithinBound { bound: b } => {
            (VIPT_COVERAGE_COMPLETE_WITHIN_BOUND, bound(b), 0)
        }
        Coverage::PartialWithinBound { bound: b } => {
            (VIPT_COVERAGE_PARTIAL_WITHIN_BOUND, bound(b), 0)
        }
        Coverage::Incomplete { budget } => (VIPT_COVERAGE_INCOMPLETE, -1, budget),
        Coverage::Stopped { executions } => (VIPT_COVERAGE_STOPPED, -1, executions),
        Coverage::Sampled { executions } => (VIPT_COVERAGE_SAMPLED, -1, executions),
    };
    let v = match rep.verdict() {
        Verdict::Pass => VIPT_VERDICT_PASS,
        Verdict::Fail => VIPT_VERDICT_FAIL,
        Verdict::Inconclusive => VIPT_VERDICT_INCONCLUSIVE,
    };
    (c, b, n, v)
}

struct ResultData {
    report: Report,
    /// A replay's timeline.
    timeline: Option<String>,
}

static STRATEGIES: HandleTable<Arc<dyn FlushStrategy>> = HandleTable::new(HandleKind::Strategy);
static SCENARIOS: HandleTable<Target> = HandleTable::new(HandleKind::Scenario);
static RESULTS: HandleTable<ResultData> = HandleTable::new(HandleKind::Result);

/// Every built-in strategy's name: `vipt_mm::strategy::STRATEGIES` and
/// `patched-ptl`, the variant of question 6 that `by_name` also knows.
fn builtin_names() -> Vec<&'static str> {
    MM_STRATEGIES
        .iter()
        .copied()
        .chain(["patched-ptl"])
        .collect()
}

/// Reads a C string argument.
pub(crate) fn read_str<'a>(s: *const c_char, name: &str) -> Result<&'a str> {
    if s.is_null() {
        return Err(Error::new(errno::EFAULT, format!("{name} is NULL")));
    }
    // SAFETY: non-NULL and, by the contract of every entry point taking a
    // string, a NUL-terminated string that outlives the call.
    let c = unsafe { CStr::from_ptr(s) };
    c.to_str()
        .map_err(|_| Error::new(errno::EINVAL, format!("{name} is not UTF-8")))
}

fn invalid(e: String) -> Error {
    Error::new(errno::EINVAL, e)
}

// ---- strategies ------------------------------------------------------------------

/// A built-in strategy by name (`legacy-2005`, `patched-2005`, `recheck`,
/// `tmpalias`, `modern`, `patched-ptl`).
#[no_mangle]
pub extern "C" fn vipt_strategy_builtin(
    name: *const c_char,
    out: *mut *mut vipt_strategy,
) -> c_int {
    guard("vipt_strategy_builtin", || {
        let n = read_str(name, "name")?;
        let s = by_name(n)
            .ok_or_else(|| Error::new(errno::ENOENT, format!("no built-in strategy {n:?}")))?;
        need_out(out)?;
        write_out(out, "out", to_ptr(STRATEGIES.insert(s)?))?;
        Ok(0)
    })
}

/// Registers the C function `f` as a strategy named `name`. The model calls
/// `f(cpu, page, arg)` wherever it calls `flush_dcache_page`, possibly from
/// several threads at once. `name` must be non-empty UTF-8 and not a built-in
/// strategy's name (`legacy-2005`, `patched-2005`, `recheck`, `tmpalias`,
/// `modern`, `patched-ptl`): `-EINVAL` otherwise.
#[no_mangle]
pub extern "C" fn vipt_strategy_register(
    name: *const c_char,
    f: vipt_flush_dcache_page_fn,
    arg: *mut c_void,
    out: *mut *mut vipt_strategy,
) -> c_int {
    guard("vipt_strategy_register", || {
        let n = read_str(name, "name")?;
        if n.is_empty() {
            return Err(Error::new(errno::EINVAL, "name is empty"));
        }
        if by_name(n).is_some() {
            return Err(Error::new(
                errno::EINVAL,
                format!(
                    "name {n:?} is a built-in strategy's ({}): choose another",
                    builtin_names().join(", ")
                ),
            ));
        }
        let f = f.ok_or_else(|| Error::new(errno::EFAULT, "f is NULL"))?;
        need_out(out)?;
        let s: Arc<dyn FlushStrategy> = Arc::new(CStrategy {
            name: n.to_string(),
            f,
            arg: arg as usize,
        });
        write_out(out, "out", to_ptr(STRATEGIES.insert(s)?))?;
        Ok(0)
    })
}

/// The strategy behind a handle.
pub(crate) fn strategy_of(s: *const vipt_strategy) -> Result<Arc<dyn FlushStrategy>> {
    STRATEGIES.get(from_ptr(s)).map(|s| (*s).clone())
}

/// Frees a strategy handle (scenarios made with it keep working).
#[no_mangle]
pub extern "C" fn vipt_strategy_free(s: *mut vipt_strategy) -> c_int {
    guard("vipt_strategy_free", || {
        STRATEGIES.remove(from_ptr(s))?;
        Ok(0)
    })
}

// ---- scenarios -------------------------------------------------------------------

fn params_out(p: &Params) -> vipt_scenario_params {
    vipt_scenario_params {
        kernel: p.kernel as u32,
        vmas: p.vmas as u32,
        lines: p.lines,
        colour: match p.colour {
            Colour::Linux2614 => VIPT_COLOUR_2614,
            Colour::PgoffAware => VIPT_COLOUR_PGOFF_AWARE,
            Colour::MapFixed => VIPT_COLOUR_MAP_FIXED,
        },
        page_flush: if p.is_mixed() {
            i32::from(p.page_flush)
        } else {
            VIPT_PAGE_FLUSH_KERNEL
        },
        move_in: p.move_in,
        move_ins: p.move_ins,
        move_in_flush_only: p.move_in_flush_only,
        sibling: p.sibling,
        scrub_freed: p.scrub_freed,
    }
}

fn params_in(p: &vipt_scenario_params) -> Result<Params> {
    in_range("vmas", p.vmas, 2, 8)?;
    if !p.lines.is_power_of_two() || p.lines > u64::from(crate::hw::VIPT_MAX_LINES_PER_PAGE) {
        return Err(out_of_range("lines", p.lines, "a power of two, 1 to 512"));
    }
    in_range("kernel", p.kernel, 0, 3)?;
    let kernel = vipt_mm::Kernel::ALL[p.kernel as usize];
    let page_flush = match p.page_flush {
        VIPT_PAGE_FLUSH_KERNEL => kernel.flush_only_ptes(),
        0 => false,
        1 => true,
        v => {
            return Err(out_of_range(
                "page_flush",
                v,
                "-1 (VIPT_PAGE_FLUSH_KERNEL), 0 or 1",
            ))
        }
    };
    Ok(Params {
        kernel,
        vmas: p.vmas as usize,
        lines: p.lines,
        colour: match p.colour {
            VIPT_COLOUR_2614 => Colour::Linux2614,
            VIPT_COLOUR_PGOFF_AWARE => Colour::PgoffAware,
            VIPT_COLOUR_MAP_FIXED => Colour::MapFixed,
            c => {
                return Err(out_of_range(
                    "colour",
                    c,
                    "0 to 2 (VIPT_COLOUR_2614, VIPT_COLOUR_PGOFF_AWARE, VIPT_COLOUR_MAP_FIXED)",
                ))
            }
        },
        page_flush,
        move_in: p.move_in,
        move_ins: {
            in_range("move_ins", p.move_ins, 0, 4)?;
            if p.move_ins > 0 && !p.move_in {
                return Err(invalid(
                    "move_ins needs speculative move-in (move_in true)".into(),
                ));
            }
            p.move_ins
        },
        move_in_flush_only: p.move_in_flush_only,
        sibling: p.sibling,
        scrub_freed: p.scrub_freed,
    })
}

/// The number of built-in race scenarios (`Kind::ALL`; see
/// `vipt_scenario_count_all` for the history ones after them).
#[no_mangle]
pub extern "C" fn vipt_scenario_count() -> c_int {
    Kind::ALL.len() as c_int
}

/// The number of built-in scenarios with the history ones (`unmap-window`,
/// `unmap-reuse`, `reclaim-reuse`, `minifail`, `fork-writer`), which come
/// after the `vipt_scenario_count()` race scenarios in `vipt_scenario_name`.
#[no_mangle]
pub extern "C" fn vipt_scenario_count_all() -> c_int {
    Kind::every().count() as c_int
}

/// The name of built-in scenario `i` (0 ≤ i < `vipt_scenario_count()`;
/// `-ERANGE` otherwise) into `buf` (`len` 0 writes nothing, and `buf` may then
/// be NULL); returns the name's full length without the NUL.
#[no_mangle]
pub extern "C" fn vipt_scenario_name(i: usize, buf: *mut c_char, len: usize) -> c_int {
    guard("vipt_scenario_name", || {
        let all: Vec<Kind> = Kind::every().collect();
        let k = all.get(i).ok_or_else(|| {
            Error::new(
                errno::ERANGE,
                format!("i {i} is out of range: 0 to {}", all.len() - 1),
            )
        })?;
        write_cstr(buf, len, k.name())
    })
}

/// Scenario `name`'s default parameters into `out`.
#[no_mangle]
pub extern "C" fn vipt_scenario_defaults(
    name: *const c_char,
    out: *mut vipt_scenario_params,
) -> c_int {
    guard("vipt_scenario_defaults", || {
        let k = Kind::parse(read_str(name, "name")?).map_err(invalid)?;
        write_out(out, "out", params_out(&k.defaults()))?;
        Ok(0)
    })
}

/// Scenario `name` with `params` (NULL: its defaults) and strategy `s`.
#[no_mangle]
pub extern "C" fn vipt_scenario_new(
    name: *const c_char,
    params: *const vipt_scenario_params,
    s: *const vipt_strategy,
    out: *mut *mut vipt_scenario,
) -> c_int {
    guard("vipt_scenario_new", || {
        let k = Kind::parse(read_str(name, "name")?).map_err(invalid)?;
        let p = if params.is_null() {
            k.defaults()
        } else {
            params_in(&read_in(params, "params")?)?
        };
        let strategy = strategy_of(s)?;
        need_out(out)?;
        let sc = Scenario::with_strategy(k, strategy, p).map_err(invalid)?;
        write_out(out, "out", to_ptr(SCENARIOS.insert(Target::Builtin(sc))?))?;
        Ok(0)
    })
}

/// Scenario `name` with `params` (NULL: its defaults), strategy `s` and the
/// arch hooks `a` (a snapshot of them now: `vipt_arch_set_hook` later does
/// not change the scenario). `-EINVAL` if `a` is for another kernel than
/// `params->kernel`.
#[no_mangle]
pub extern "C" fn vipt_scenario_new_arch(
    name: *const c_char,
    params: *const vipt_scenario_params,
    s: *const vipt_strategy,
    a: *const crate::carch::vipt_arch,
    out: *mut *mut vipt_scenario,
) -> c_int {
    guard("vipt_scenario_new_arch", || {
        let k = Kind::parse(read_str(name, "name")?).map_err(invalid)?;
        let p = if params.is_null() {
            k.defaults()
        } else {
            params_in(&read_in(params, "params")?)?
        };
        let strategy = strategy_of(s)?;
        let (arch, _) = crate::carch::arch_of(a)?;
        need_out(out)?;
        let sc = Scenario::with_strategy(k, strategy, p)
            .and_then(|sc| sc.with_arch(arch))
            .map_err(invalid)?;
        write_out(out, "out", to_ptr(SCENARIOS.insert(Target::Builtin(sc))?))?;
        Ok(0)
    })
}

/// A scenario file (`docs/scenarios.md`): `source` is the file's text when
/// it holds a newline or a `;` (every file does), else a path to read.
/// `params` NULL takes the file's defaults; `s` NULL the strategy the file
/// names (`strategy = X;`), `-EINVAL` if it names none. A file that does not
/// parse, or whose set-up cannot run, is `-EINVAL` with the message
/// `file:line:column: …` (`vipt_last_error`); nothing is made then.
#[no_mangle]
pub extern "C" fn vipt_scenario_load(
    source: *const c_char,
    params: *const vipt_scenario_params,
    s: *const vipt_strategy,
    out: *mut *mut vipt_scenario,
) -> c_int {
    guard("vipt_scenario_load", || load(source, params, s, None, out))
}

/// `vipt_scenario_load` with the arch hooks `a` (a snapshot of them now, as
/// `vipt_scenario_new_arch` takes them): a file run with a patched hook.
/// `-EINVAL` if `a` is for another kernel than the parameters'.
#[no_mangle]
pub extern "C" fn vipt_scenario_load_arch(
    source: *const c_char,
    params: *const vipt_scenario_params,
    s: *const vipt_strategy,
    a: *const crate::carch::vipt_arch,
    out: *mut *mut vipt_scenario,
) -> c_int {
    guard("vipt_scenario_load_arch", || {
        let (arch, _) = crate::carch::arch_of(a)?;
        load(source, params, s, Some(arch), out)
    })
}

fn load(
    source: *const c_char,
    params: *const vipt_scenario_params,
    s: *const vipt_strategy,
    arch: Option<Arc<dyn vipt_mm::Arch>>,
    out: *mut *mut vipt_scenario,
) -> Result<c_int> {
    let src = read_str(source, "source")?;
    let litmus = if src.contains('\n') || src.contains(';') {
        Litmus::parse("<text>", src)
    } else {
        Litmus::load(std::path::Path::new(src))
    }
    .map_err(|e| invalid(e.to_string()))?;
    let p = if params.is_null() {
        litmus.defaults
    } else {
        params_in(&read_in(params, "params")?)?
    };
    let strategy = if s.is_null() {
        let name = litmus.strategy.as_deref().ok_or_else(|| {
            invalid(format!(
                "{}: the file names no strategy (`strategy = X;` in its defaults): pass one",
                litmus.file
            ))
        })?;
        by_name(name).ok_or_else(|| invalid(format!("unknown strategy {name:?}")))?
    } else {
        strategy_of(s)?
    };
    if let Some(a) = &arch {
        if a.kernel() != p.kernel {
            return Err(invalid(format!(
                "arch {} is for kernel {}, the scenario runs {}",
                a.name(),
                a.kernel(),
                p.kernel
            )));
        }
    }
    need_out(out)?;
    let sc = litmus
        .bind_with(strategy, p, arch)
        .map_err(|e| invalid(e.to_string()))?;
    write_out(out, "out", to_ptr(SCENARIOS.insert(Target::File(sc))?))?;
    Ok(0)
}

/// The scenario behind a handle.
pub(crate) fn scenario_of(sc: *const vipt_scenario) -> Result<Arc<Target>> {
    SCENARIOS.get(from_ptr(sc))
}

/// Frees a scenario handle.
#[no_mangle]
pub extern "C" fn vipt_scenario_free(sc: *mut vipt_scenario) -> c_int {
    guard("vipt_scenario_free", || {
        SCENARIOS.remove(from_ptr(sc))?;
        Ok(0)
    })
}

// ---- explorer runs ----------------------------------------------------------------

/// The defaults of `vipt explore` (the command's own defaults): exhaustive,
/// preemption bound 2 without sleep sets (so a pass is a proof for the bound;
/// every built-in scenario finishes within the budget), PCT depth 3, 50 000
/// executions, seed 0, every core, 20 000 steps an execution.
#[no_mangle]
pub extern "C" fn vipt_explore_config_default(out: *mut vipt_explore_config) -> c_int {
    guard("vipt_explore_config_default", || {
        write_out(out, "out", explore_defaults())?;
        Ok(0)
    })
}

/// `vipt explore`'s defaults (`crates/cli/src/explore_cmd.rs`: `--bound 3
/// --depth 3 --budget 50000 --seed 0`, the rest `Config::default()`).
fn explore_defaults() -> vipt_explore_config {
    let c = Config::default();
    vipt_explore_config {
        mode: VIPT_MODE_EXHAUSTIVE,
        bound: 2,
        reduction: false,
        depth: 3,
        budget: 50_000,
        seed: 0,
        threads: 0,
        max_steps: c.max_steps as u64,
    }
}

fn config_in(c: &vipt_explore_config) -> Result<Config> {
    let mode =
        match c.mode {
            VIPT_MODE_EXHAUSTIVE => Mode::Exhaustive {
                bound: match c.bound {
                    -1 => None,
                    b => Some(u32::try_from(b).map_err(|_| {
                        out_of_range("bound", b, "-1 (no bound) or 0 to 2147483647")
                    })?),
                },
                reduction: c.reduction,
            },
            VIPT_MODE_RANDOM => Mode::Random,
            VIPT_MODE_PCT => {
                in_range("depth", c.depth, 1, VIPT_PCT_MAX_DEPTH)?;
                Mode::Pct { depth: c.depth }
            }
            m => {
                return Err(out_of_range(
                    "mode",
                    m,
                    "0 to 2 (VIPT_MODE_EXHAUSTIVE, VIPT_MODE_RANDOM, VIPT_MODE_PCT)",
                ))
            }
        };
    if c.budget == 0 {
        return Err(out_of_range("budget", 0, "at least 1"));
    }
    in_range("threads", c.threads, 0, VIPT_MAX_THREADS)?;
    in_range("max_steps", c.max_steps, 1, VIPT_MAX_STEPS)?;
    let d = Config::default();
    Ok(Config {
        mode,
        budget: c.budget,
        seed: c.seed,
        threads: if c.threads == 0 {
            d.threads
        } else {
            c.threads as usize
        },
        // At most VIPT_MAX_STEPS, so it fits.
        max_steps: c.max_steps as usize,
        stop_on_failure: false,
        ..d
    })
}

/// Explores scenario `sc` as `config` says; the result into `out`.
#[no_mangle]
pub extern "C" fn vipt_explore(
    sc: *const vipt_scenario,
    config: *const vipt_explore_config,
    out: *mut *mut vipt_result,
) -> c_int {
    guard("vipt_explore", || {
        not_nested()?;
        let sc = SCENARIOS.get(from_ptr(sc))?;
        let config = config_in(&read_in(config, "config")?)?;
        need_out(out)?;
        let report = explore(&*sc, &config, None).map_err(invalid)?;
        let h = RESULTS.insert(ResultData {
            report,
            timeline: None,
        })?;
        write_out(out, "out", to_ptr(h))?;
        Ok(0)
    })
}

/// The steps of a schedule string (`a7b3c2` is 12), counted without building
/// it: `None` past `VIPT_MAX_STEPS` or for a malformed run length, which the
/// parser then reports.
fn schedule_steps(s: &str) -> Option<u64> {
    let mut total: u64 = 0;
    for run in s.trim().split(|c: char| c.is_ascii_lowercase()).skip(1) {
        let n = if run.is_empty() {
            1
        } else {
            run.parse::<u64>().ok()?
        };
        total = total.checked_add(n)?;
        if total > VIPT_MAX_STEPS {
            return None;
        }
    }
    Some(total)
}

/// Runs scenario `sc` once along `schedule` (as `vipt replay` prints them,
/// e.g. `a7b3c2`: CPU letters each with an optional run length, at most
/// `VIPT_MAX_STEPS` steps in all; `-EINVAL` otherwise); the result, with its
/// timeline, into `out`.
#[no_mangle]
pub extern "C" fn vipt_replay(
    sc: *const vipt_scenario,
    schedule: *const c_char,
    out: *mut *mut vipt_result,
) -> c_int {
    guard("vipt_replay", || {
        not_nested()?;
        let sc = SCENARIOS.get(from_ptr(sc))?;
        let text = read_str(schedule, "schedule")?;
        let well_formed = text
            .trim()
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if well_formed && schedule_steps(text).is_none() {
            return Err(out_of_range(
                "schedule",
                format!("of more than {VIPT_MAX_STEPS} steps"),
                "at most VIPT_MAX_STEPS steps",
            ));
        }
        let sched: Schedule = text
            .parse()
            .map_err(|e: vipt_explore::schedule::BadSchedule| invalid(e.to_string()))?;
        need_out(out)?;
        let max = Config::default().max_steps;
        let (run, outcome) = run_one(&*sc, &mut Replay::new(sched), max).map_err(invalid)?;
        let outcome =
            outcome.ok_or_else(|| invalid("the schedule does not fit the scenario".into()))?;
        let report = Report::single(&run, &outcome);
        let h = RESULTS.insert(ResultData {
            report,
            timeline: Some(timeline::text(&run.steps, sc.bodies(), &sc.roles(), None)),
        })?;
        write_out(out, "out", to_ptr(h))?;
        Ok(0)
    })
}

/// Refuses an explorer run from inside an execution (a strategy callback).
fn not_nested() -> Result<()> {
    if vipt_explore::engine::in_execution() {
        Err(Error::new(
            errno::EBUSY,
            "an explorer run cannot start inside an execution (a strategy callback)",
        ))
    } else {
        Ok(())
    }
}

fn result(r: *const vipt_result) -> Result<Arc<ResultData>> {
    RESULTS.get(from_ptr(r))
}

/// A result's counts into `out`.
#[no_mangle]
pub extern "C" fn vipt_result_counts(r: *const vipt_result, out: *mut vipt_result_counts) -> c_int {
    guard("vipt_result_counts", || {
        let d = result(r)?;
        let rep = &d.report;
        let (coverage, coverage_bound, coverage_executions, verdict) = coverage_of(rep);
        write_out(
            out,
            "out",
            vipt_result_counts {
                executions: rep.executions,
                pruned: rep.pruned,
                failing: rep.failing,
                distinct_failing: rep.distinct_failing,
                complete: rep.complete,
                max_steps: rep.max_steps as u64,
                first_preemptions: rep.first.as_ref().map_or(0, |f| f.preemptions as u64),
                coverage,
                coverage_bound,
                coverage_executions,
                verdict,
                least_preemptions: rep.least.as_ref().map_or(0, |f| f.preemptions as u64),
                least_minimal: rep.least_is_minimal(),
            },
        )?;
        Ok(0)
    })
}

/// The first failing schedule into `buf` (`len` 0 writes nothing, and `buf`
/// may then be NULL); returns its full length without the NUL, or `-ENOENT`
/// when nothing failed.
#[no_mangle]
pub extern "C" fn vipt_result_schedule(
    r: *const vipt_result,
    buf: *mut c_char,
    len: usize,
) -> c_int {
    failing_schedule("vipt_result_schedule", r, buf, len, |rep| {
        rep.first.as_ref()
    })
}

/// The schedule of the failure `pick` chooses into `buf`, for `call`.
fn failing_schedule(
    call: &'static str,
    r: *const vipt_result,
    buf: *mut c_char,
    len: usize,
    pick: fn(&vipt_explore::Report) -> Option<&vipt_explore::Failure>,
) -> c_int {
    guard(call, || {
        let d = result(r)?;
        let f = pick(&d.report).ok_or_else(|| Error::new(errno::ENOENT, "no execution failed"))?;
        write_cstr(buf, len, &f.schedule.to_string())
    })
}

/// The failing schedule with the fewest preemptions (the first of those)
/// into `buf` (`len` 0 writes nothing, and `buf` may then be NULL); returns
/// its full length without the NUL, or `-ENOENT` when nothing failed.
/// `vipt_result_counts` says whether it is minimal (`least_minimal`).
#[no_mangle]
pub extern "C" fn vipt_result_least_schedule(
    r: *const vipt_result,
    buf: *mut c_char,
    len: usize,
) -> c_int {
    failing_schedule("vipt_result_least_schedule", r, buf, len, |rep| {
        rep.least.as_ref()
    })
}

/// Message `i` (0 up) of the first failing execution into `buf` (`len` 0
/// writes nothing, and `buf` may then be NULL); returns its full length without
/// the NUL, or `-ENOENT` past the last (or when nothing failed).
#[no_mangle]
pub extern "C" fn vipt_result_failure(
    r: *const vipt_result,
    i: usize,
    buf: *mut c_char,
    len: usize,
) -> c_int {
    guard("vipt_result_failure", || {
        let d = result(r)?;
        let m = d
            .report
            .first
            .as_ref()
            .and_then(|f| f.failures.get(i))
            .ok_or_else(|| Error::new(errno::ENOENT, format!("no failure message {i}")))?;
        write_cstr(buf, len, m)
    })
}

/// Cost counter `name` (a name `vipt_result_counter_name` gives) summed over
/// the executions into `out`; `-ENOENT` for a counter the run did not keep.
#[no_mangle]
pub extern "C" fn vipt_result_counter(
    r: *const vipt_result,
    name: *const c_char,
    out: *mut u64,
) -> c_int {
    guard("vipt_result_counter", || {
        let d = result(r)?;
        let n = read_str(name, "name")?;
        let v = *d
            .report
            .counters
            .get(n)
            .ok_or_else(|| Error::new(errno::ENOENT, format!("no counter {n:?}")))?;
        write_out(out, "out", v)?;
        Ok(0)
    })
}

/// The name of cost counter `i` (0 up, in name order) into `buf` (`len` 0
/// writes nothing, and `buf` may then be NULL); returns its full length without
/// the NUL, or `-ENOENT` past the last.
#[no_mangle]
pub extern "C" fn vipt_result_counter_name(
    r: *const vipt_result,
    i: usize,
    buf: *mut c_char,
    len: usize,
) -> c_int {
    guard("vipt_result_counter_name", || {
        let d = result(r)?;
        let n = d
            .report
            .counters
            .keys()
            .nth(i)
            .ok_or_else(|| Error::new(errno::ENOENT, format!("no counter {i}")))?;
        write_cstr(buf, len, n)
    })
}

/// A replay's timeline (one column per CPU) into `buf` (`len` 0 writes
/// nothing, and `buf` may then be NULL); returns its full length without the
/// NUL, or `-ENOENT` for an explorer run's result.
#[no_mangle]
pub extern "C" fn vipt_result_timeline(
    r: *const vipt_result,
    buf: *mut c_char,
    len: usize,
) -> c_int {
    guard("vipt_result_timeline", || {
        let d = result(r)?;
        let t = d
            .timeline
            .as_ref()
            .ok_or_else(|| Error::new(errno::ENOENT, "only a replay has a timeline"))?;
        write_cstr(buf, len, t)
    })
}

/// Frees a result handle.
#[no_mangle]
pub extern "C" fn vipt_result_free(r: *mut vipt_result) -> c_int {
    guard("vipt_result_free", || {
        RESULTS.remove(from_ptr(r))?;
        Ok(0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names refused for a C strategy are exactly the built-in ones.
    #[test]
    fn builtin_names_are_the_models() {
        let names = builtin_names();
        assert_eq!(names, vipt_explore::report::STRATEGIES);
        for n in &names {
            assert!(by_name(n).is_some(), "{n}");
        }
    }

    #[test]
    fn a_c_strategy_cannot_take_a_builtin_name() {
        unsafe extern "C" fn noop(
            _: *mut crate::kcpu::vipt_kcpu,
            _: *mut crate::kcpu::vipt_page,
            _: *mut c_void,
        ) -> c_int {
            0
        }
        let mut s = std::ptr::null_mut();
        for n in [c"modern", c"patched-ptl"] {
            assert_eq!(
                vipt_strategy_register(n.as_ptr(), Some(noop), std::ptr::null_mut(), &mut s),
                -errno::EINVAL
            );
        }
        assert!(s.is_null());
    }

    /// The C defaults are the CLI's, and they pass the checks.
    #[test]
    fn defaults_are_the_clis() {
        let d = explore_defaults();
        assert_eq!((d.bound, d.depth, d.budget, d.seed), (2, 3, 50_000, 0));
        let c = config_in(&d).unwrap();
        assert_eq!(c.max_steps, Config::default().max_steps);
        assert_eq!(
            c.mode,
            Mode::Exhaustive {
                bound: Some(2),
                reduction: false
            }
        );
        let pct = vipt_explore_config {
            mode: VIPT_MODE_PCT,
            depth: VIPT_PCT_MAX_DEPTH,
            ..d
        };
        assert!(config_in(&pct).is_ok());
        for bad in [
            vipt_explore_config { depth: 17, ..pct },
            vipt_explore_config { depth: 0, ..pct },
            vipt_explore_config { budget: 0, ..d },
            vipt_explore_config { threads: 65, ..d },
            vipt_explore_config { max_steps: 0, ..d },
            vipt_explore_config {
                max_steps: VIPT_MAX_STEPS + 1,
                ..d
            },
            vipt_explore_config {
                bound: i32::MIN,
                ..d
            },
        ] {
            assert_eq!(config_in(&bad).unwrap_err().errno, errno::EINVAL, "{bad:?}");
        }
        // A field of another mode is not looked at.
        assert!(config_in(&vipt_explore_config { depth: 0, ..d }).is_ok());
    }

    #[test]
    fn schedule_steps_are_counted_without_building() {
        assert_eq!(schedule_steps("a7b3c2"), Some(12));
        assert_eq!(schedule_steps("abc"), Some(3));
        assert_eq!(schedule_steps(""), Some(0));
        assert_eq!(schedule_steps("a4194304"), Some(VIPT_MAX_STEPS));
        assert_eq!(schedule_steps("a4194304b"), None);
        assert_eq!(schedule_steps("a18446744073709551615b2"), None);
        assert_eq!(schedule_steps("a99999999999999999999"), None);
    }
}
