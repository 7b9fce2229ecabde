//! The whole model for C: strategies (built-in, or a C function), the built-in
//! scenarios bound to a strategy, explorer runs and replays, and their results.
//!
//! A C strategy registered with `vipt_strategy_register` runs wherever a
//! built-in one does: the explorer calls it on its simulated CPUs (from
//! several threads for random and PCT runs, so it must be thread-safe), and
//! every kernel operation it calls (`kcpu.rs`) is a scheduling point.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::Arc;

use vipt_explore::scenario::{Colour, Kind, Params, Scenario, ROLES};
use vipt_explore::{explore, run_one, timeline, Config, Mode, Replay, Report, Schedule};
use vipt_mm::strategy::by_name;
use vipt_mm::FlushStrategy;

use crate::error::{errno, guard, need_out, read_in, write_cstr, write_out, Error, Result};
use crate::handle::{from_ptr, to_ptr, HandleTable};
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

/// A scenario's parameters; start from `vipt_scenario_defaults`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct vipt_scenario_params {
    /// Vmas mapping the file, 2 to 8.
    pub vmas: u32,
    /// Cache lines per page (a power of two, 1 to 128).
    pub lines: u64,
    /// `VIPT_COLOUR_*`.
    pub colour: u32,
    /// The 2.6.14 `_PAGE_FLUSH` semantics (false: 3.x).
    pub page_flush: bool,
    /// Speculative move-in through any TLB entry.
    pub move_in: bool,
}

/// An explorer run's parameters; start from `vipt_explore_config_default`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct vipt_explore_config {
    /// `VIPT_MODE_*`.
    pub mode: u32,
    /// Exhaustive: the preemption bound, or -1 for none.
    pub bound: i32,
    /// Exhaustive: sleep-set reduction.
    pub reduction: bool,
    /// PCT: the depth (at least 1).
    pub depth: u32,
    /// At most this many executions.
    pub budget: u64,
    /// Random and PCT: the seed.
    pub seed: u64,
    /// Random and PCT: worker threads (0: one per core).
    pub threads: u32,
    /// Steps after which an execution counts as a livelock.
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
    /// The exhaustive search covered every schedule within its bound.
    pub complete: bool,
    /// The longest execution, in steps.
    pub max_steps: u64,
    /// Preemptions of the first failing schedule (0 when none failed).
    pub first_preemptions: u64,
}

struct ResultData {
    report: Report,
    /// A replay's timeline.
    timeline: Option<String>,
}

static STRATEGIES: HandleTable<Arc<dyn FlushStrategy>> = HandleTable::new("strategy");
static SCENARIOS: HandleTable<Scenario> = HandleTable::new("scenario");
static RESULTS: HandleTable<ResultData> = HandleTable::new("result");

/// Reads a C string argument.
fn read_str<'a>(s: *const c_char, name: &str) -> Result<&'a str> {
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
        write_out(out, "out", to_ptr(STRATEGIES.insert(s)))?;
        Ok(0)
    })
}

/// Registers the C function `f` as a strategy named `name`. The model calls
/// `f(cpu, page, arg)` wherever it calls `flush_dcache_page`, possibly from
/// several threads at once.
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
        let f = f.ok_or_else(|| Error::new(errno::EFAULT, "f is NULL"))?;
        need_out(out)?;
        let s: Arc<dyn FlushStrategy> = Arc::new(CStrategy {
            name: n.to_string(),
            f,
            arg: arg as usize,
        });
        write_out(out, "out", to_ptr(STRATEGIES.insert(s)))?;
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
        vmas: p.vmas as u32,
        lines: p.lines,
        colour: match p.colour {
            Colour::Linux2614 => VIPT_COLOUR_2614,
            Colour::PgoffAware => VIPT_COLOUR_PGOFF_AWARE,
            Colour::MapFixed => VIPT_COLOUR_MAP_FIXED,
        },
        page_flush: p.page_flush,
        move_in: p.move_in,
    }
}

fn params_in(p: &vipt_scenario_params) -> Result<Params> {
    Ok(Params {
        vmas: p.vmas as usize,
        lines: p.lines,
        colour: match p.colour {
            VIPT_COLOUR_2614 => Colour::Linux2614,
            VIPT_COLOUR_PGOFF_AWARE => Colour::PgoffAware,
            VIPT_COLOUR_MAP_FIXED => Colour::MapFixed,
            c => return Err(invalid(format!("colour {c} is not a VIPT_COLOUR_*"))),
        },
        page_flush: p.page_flush,
        move_in: p.move_in,
    })
}

/// The number of built-in scenarios.
#[no_mangle]
pub extern "C" fn vipt_scenario_count() -> c_int {
    Kind::ALL.len() as c_int
}

/// The name of built-in scenario `i` (0 ≤ i < `vipt_scenario_count()`) into
/// `buf`; returns the name's full length.
#[no_mangle]
pub extern "C" fn vipt_scenario_name(i: usize, buf: *mut c_char, len: usize) -> c_int {
    guard("vipt_scenario_name", || {
        let k = Kind::ALL
            .get(i)
            .ok_or_else(|| Error::new(errno::ERANGE, format!("no scenario {i}")))?;
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
        write_out(out, "out", to_ptr(SCENARIOS.insert(sc)))?;
        Ok(0)
    })
}

/// The scenario behind a handle.
pub(crate) fn scenario_of(sc: *const vipt_scenario) -> Result<Arc<Scenario>> {
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

/// The defaults of `vipt explore`: exhaustive, preemption bound 2, sleep sets,
/// 10 000 executions, seed 0, every core.
#[no_mangle]
pub extern "C" fn vipt_explore_config_default(out: *mut vipt_explore_config) -> c_int {
    guard("vipt_explore_config_default", || {
        let c = Config::default();
        write_out(
            out,
            "out",
            vipt_explore_config {
                mode: VIPT_MODE_EXHAUSTIVE,
                bound: 2,
                reduction: true,
                depth: 2,
                budget: c.budget,
                seed: c.seed,
                threads: 0,
                max_steps: c.max_steps as u64,
            },
        )?;
        Ok(0)
    })
}

fn config_in(c: &vipt_explore_config) -> Result<Config> {
    let mode = match c.mode {
        VIPT_MODE_EXHAUSTIVE => Mode::Exhaustive {
            bound: match c.bound {
                -1 => None,
                b if b >= 0 => Some(b as u32),
                b => return Err(invalid(format!("bound {b}: -1 or at least 0"))),
            },
            reduction: c.reduction,
        },
        VIPT_MODE_RANDOM => Mode::Random,
        VIPT_MODE_PCT if c.depth >= 1 => Mode::Pct { depth: c.depth },
        VIPT_MODE_PCT => return Err(invalid("PCT depth must be at least 1".into())),
        m => return Err(invalid(format!("mode {m} is not a VIPT_MODE_*"))),
    };
    if c.max_steps == 0 {
        return Err(invalid("max_steps is 0".into()));
    }
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
        max_steps: usize::try_from(c.max_steps).unwrap_or(usize::MAX),
        stop_on_failure: false,
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
        });
        write_out(out, "out", to_ptr(h))?;
        Ok(0)
    })
}

/// Runs scenario `sc` once along `schedule` (as `vipt replay` prints them,
/// e.g. `a7b3c2`); the result, with its timeline, into `out`.
#[no_mangle]
pub extern "C" fn vipt_replay(
    sc: *const vipt_scenario,
    schedule: *const c_char,
    out: *mut *mut vipt_result,
) -> c_int {
    guard("vipt_replay", || {
        not_nested()?;
        let sc = SCENARIOS.get(from_ptr(sc))?;
        let sched: Schedule = read_str(schedule, "schedule")?
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
            timeline: Some(timeline::text(&run.steps, 3, &ROLES)),
        });
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
            },
        )?;
        Ok(0)
    })
}

/// The first failing schedule into `buf`; returns its full length, or
/// `-ENOENT` when nothing failed.
#[no_mangle]
pub extern "C" fn vipt_result_schedule(
    r: *const vipt_result,
    buf: *mut c_char,
    len: usize,
) -> c_int {
    guard("vipt_result_schedule", || {
        let d = result(r)?;
        let f = d
            .report
            .first
            .as_ref()
            .ok_or_else(|| Error::new(errno::ENOENT, "no execution failed"))?;
        write_cstr(buf, len, &f.schedule.to_string())
    })
}

/// Message `i` of the first failing execution into `buf`; returns its full
/// length, or `-ENOENT` past the last (or when nothing failed).
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

/// Cost counter `name` summed over the executions into `out`; `-ENOENT` for
/// a counter the run did not keep.
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

/// The name of cost counter `i` (in name order) into `buf`; returns its full
/// length, or `-ENOENT` past the last.
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

/// A replay's timeline (one column per CPU) into `buf`; returns its full
/// length, or `-ENOENT` for an explorer run's result.
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
