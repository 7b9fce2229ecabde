//! The exhaustive search in parts: on every core of one machine, and in
//! shards on many.
//!
//! The depth-first search is split at a depth into *pieces*, in the order
//! the whole search meets them: runs that ended above that depth (already
//! judged by the split) and the subtrees below each path that reached it.
//! A subtree is explored exactly as the whole search would explore it: the
//! path's nodes keep the choices already tried at each level, so the sleep
//! sets (with `--reduction`) and the preemption counts below it are the
//! whole search's. Workers take pieces in order; the parts are then put
//! back together in that order, with the budget and the stop at the first
//! failure applied as the one search applies them (a part that ran past
//! where the one search would have stopped is run again with the exact
//! cap). So the counts, the first failure and the coverage do not depend on
//! the number of threads or shards: tests compare them with the
//! one-threaded search.
//!
//! The split depends only on the program and the search's configuration
//! (not on threads), so each shard computes it alone and `--shard K/N`
//! explores the pieces whose index is K modulo N.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use serde_json::{json, Value};

use crate::schedule::Schedule;
use crate::search::{
    as_worker, conclude, run_one, search_part, Config, Dfs, Distinct, End, Failure, Mode, Node,
    Part, Program, Progress, Report,
};

/// The most pieces a split keeps: a quarter of the budget, between twice
/// the target ([`Config::split`]) and 4 096 or the target (a split runs
/// each piece once to its depth).
fn max_pieces(config: &Config) -> usize {
    let target = config.split.max(1) as u64;
    (config.budget / 4).clamp(2 * target, 4096.max(2 * target)) as usize
}

/// One piece of the split search.
#[derive(Debug, Clone)]
pub(crate) enum Piece {
    /// A run that ended above the split depth, judged (or pruned).
    Done(Box<Part>),
    /// The subtree below this path.
    Below(Vec<Node>),
}

/// Splits the search at the smallest doubling depth where at least
/// [`Config::split`] subtrees hang (or where none does), keeping the
/// shallower split when the deeper one has more than [`max_pieces`]
/// pieces.
pub(crate) fn split<P: Program>(
    program: &P,
    config: &Config,
    bound: Option<u32>,
    reduction: bool,
) -> Result<Vec<Piece>, String> {
    let limit = max_pieces(config);
    let target = config.split.max(1);
    let mut depth = 1;
    let mut shallower: Option<Vec<Piece>> = None;
    loop {
        let mut dfs = Dfs::cut_at(depth, bound, reduction);
        let mut pieces = Vec::new();
        let mut below = 0;
        let mut over = false;
        loop {
            let (run, out) = run_one(program, &mut dfs, config.max_steps)?;
            if let Some(prefix) = dfs.cut_prefix.take() {
                pieces.push(Piece::Below(prefix));
                below += 1;
            } else {
                let mut report = Report::new(config.mode, config.seed);
                let end = if report.judge(0, &run, out, &mut Distinct::default(), config) {
                    End::Stopped
                } else {
                    End::Finished
                };
                pieces.push(Piece::Done(Box::new(Part { report, end })));
            }
            if pieces.len() > limit {
                over = true;
                break;
            }
            if !dfs.backtrack() {
                break;
            }
        }
        match shallower {
            Some(s) if over => return Ok(s),
            _ if below == 0 || below >= target || over => return Ok(pieces),
            _ => {}
        }
        shallower = Some(pieces);
        depth *= 2;
    }
}

/// The runs the pieces before `i` are known to make at least (those done,
/// and the parts finished so far).
fn known_before(results: &[Option<Part>], i: usize) -> u64 {
    results[..i].iter().flatten().map(Part::runs).sum()
}

/// Explores the subtrees among `pieces` for which `mine` holds, on
/// `config.threads` workers; a piece's part is `None` where it was not
/// needed (the budget was known to be spent before it, or an earlier piece
/// failed and the search stops at the first failure) or not `mine`.
fn run_pieces<P: Program>(
    program: &P,
    config: &Config,
    bound: Option<u32>,
    reduction: bool,
    pieces: &[Piece],
    mine: &(dyn Fn(usize) -> bool + Sync),
    progress: Option<Progress<'_>>,
) -> Result<Vec<Option<Part>>, String> {
    let results: Mutex<Vec<Option<Part>>> = Mutex::new(
        pieces
            .iter()
            .enumerate()
            .map(|(i, p)| match p {
                Piece::Done(part) if mine(i) => Some((**part).clone()),
                _ => None,
            })
            .collect(),
    );
    let next = AtomicUsize::new(0);
    let done = AtomicU64::new(0);
    let failed = AtomicBool::new(false);
    let error = Mutex::new(None);
    let work = || loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(piece) = pieces.get(i) else { break };
        let Piece::Below(prefix) = piece else {
            continue;
        };
        if !mine(i) || failed.load(Ordering::Relaxed) {
            continue;
        }
        let (before, stop) = {
            let r = results.lock().expect("results");
            let stop =
                config.stop_on_failure && r[..i].iter().flatten().any(|p| p.report.failing > 0);
            (known_before(&r, i), stop)
        };
        if before >= config.budget || stop {
            continue;
        }
        let base = done.load(Ordering::Relaxed);
        let tick = |n: u64| {
            if let Some(p) = progress {
                p(base + n, config.budget);
            }
        };
        let dfs = Dfs::below(prefix.clone(), bound, reduction);
        match search_part(program, config, dfs, config.budget - before, &tick) {
            Ok(part) => {
                done.fetch_add(part.runs(), Ordering::Relaxed);
                results.lock().expect("results")[i] = Some(part);
            }
            Err(e) => {
                error.lock().expect("error").get_or_insert(e);
                failed.store(true, Ordering::Relaxed);
            }
        }
    };
    let threads = config.threads.max(1);
    if threads == 1 {
        work();
    } else {
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| as_worker(work));
            }
        });
    }
    if let Some(e) = error.into_inner().expect("error") {
        return Err(e);
    }
    Ok(results.into_inner().expect("results"))
}

/// Puts the parts back together in the pieces' order, as the one search
/// would have run them: the budget counts runs in that order, a part that
/// ran past it (or is missing) is run again below its path with the exact
/// cap, and with [`Config::stop_on_failure`] nothing after the first
/// failing part counts. `pieces` is asked for only when a part must be run
/// again.
fn join<P: Program>(
    program: &P,
    config: &Config,
    bound: Option<u32>,
    reduction: bool,
    mut results: Vec<Option<Part>>,
    pieces: &mut dyn FnMut() -> Result<Vec<Piece>, String>,
) -> Result<Report, String> {
    let mut total = Report::new(config.mode, config.seed);
    let mut used = 0;
    let mut end = End::Finished;
    let mut split: Option<Vec<Piece>> = None;
    for i in 0..results.len() {
        if used >= config.budget {
            end = End::Capped;
            break;
        }
        let left = config.budget - used;
        let part = match results[i].take() {
            Some(p) if p.runs() < left && p.end != End::Capped => p,
            Some(p) if p.runs() == left => p,
            _ => {
                if split.is_none() {
                    split = Some(pieces()?);
                }
                let list = split.as_ref().expect("just made");
                match &list[i] {
                    Piece::Done(p) => (**p).clone(),
                    Piece::Below(prefix) => {
                        let dfs = Dfs::below(prefix.clone(), bound, reduction);
                        search_part(program, config, dfs, left, &|_| {})?
                    }
                }
            }
        };
        let runs = part.runs();
        let mut report = part.report;
        report.shift(used);
        total.distinct_failing += report.distinct_failing;
        total.merge(report);
        used += runs;
        match part.end {
            End::Finished => {}
            e => {
                end = e;
                break;
            }
        }
    }
    Ok(conclude(
        total,
        end,
        used,
        config,
        bound,
        reduction,
        program.exact_footprints(),
    ))
}

/// The exhaustive search on `config.threads` workers: the same report as
/// on one.
pub(crate) fn parallel<P: Program>(
    program: &P,
    config: &Config,
    bound: Option<u32>,
    reduction: bool,
    progress: Option<Progress<'_>>,
) -> Result<Report, String> {
    let pieces = split(program, config, bound, reduction)?;
    let results = run_pieces(
        program,
        config,
        bound,
        reduction,
        &pieces,
        &|_| true,
        progress,
    )?;
    join(program, config, bound, reduction, results, &mut || {
        Ok(pieces.clone())
    })
}

fn exhaustive_mode(config: &Config) -> Result<(Option<u32>, bool), String> {
    match config.mode {
        Mode::Exhaustive { bound, reduction } => Ok((bound, reduction)),
        m => Err(format!("only an exhaustive search can be sharded, not {m}")),
    }
}

/// The result of one shard of an exhaustive search: the parts of the
/// pieces it owns.
#[derive(Debug, Clone)]
pub struct Shard {
    /// Which shard (0 to `count` − 1).
    pub index: usize,
    /// Of how many.
    pub count: usize,
    /// The search's mode, budget and seed, as written (shards of different
    /// searches are not merged).
    pub search: String,
    /// Pieces in the split (the same for every shard of one search).
    pub pieces: usize,
    parts: Vec<(usize, Part)>,
}

/// Explores shard `index` of `count` of `program`'s exhaustive search:
/// the pieces of the split whose position is `index` modulo `count`, on
/// `config.threads` workers. [`merge_shards`] puts the shards together.
pub fn explore_shard<P: Program>(
    program: &P,
    config: &Config,
    index: usize,
    count: usize,
    progress: Option<Progress<'_>>,
) -> Result<Shard, String> {
    if count == 0 || index >= count {
        return Err(format!(
            "shard {index} of {count}: the shard must be 0 to N-1 of N ≥ 1"
        ));
    }
    let (bound, reduction) = exhaustive_mode(config)?;
    if config.state_cache {
        return Err(
            "a search with the state cache runs on one machine: it cannot be sharded".into(),
        );
    }
    let pieces = split(program, config, bound, reduction)?;
    let mine = |i: usize| i % count == index;
    let results = run_pieces(program, config, bound, reduction, &pieces, &mine, progress)?;
    Ok(Shard {
        index,
        count,
        search: search_id(config),
        pieces: pieces.len(),
        parts: results
            .into_iter()
            .enumerate()
            .filter_map(|(i, p)| p.map(|p| (i, p)))
            .collect(),
    })
}

fn search_id(config: &Config) -> String {
    format!(
        "{}, budget {}, {} steps, split {}{}",
        config.mode,
        config.budget,
        config.max_steps,
        config.split,
        if config.state_cache {
            ", state cache"
        } else {
            ""
        }
    )
}

/// Puts the shards of one exhaustive search together: the report the
/// search gives on one machine (counts, first and least failures,
/// coverage). Every shard `0..N` must be there once, all of the same
/// search; a part a shard could not know it did not need is run again
/// here (rarely: only where the budget ran out inside it).
pub fn merge_shards<P: Program>(
    program: &P,
    config: &Config,
    shards: &[Shard],
) -> Result<Report, String> {
    let (bound, reduction) = exhaustive_mode(config)?;
    let Some(first) = shards.first() else {
        return Err("no shards to merge".into());
    };
    let id = search_id(config);
    let mut seen = vec![false; first.count];
    for s in shards {
        if s.count != first.count || s.pieces != first.pieces || s.search != id {
            return Err(format!(
                "shard {} of {} ({}; {} pieces) is not of the search of shard {} of {} ({id}; {} pieces)",
                s.index, s.count, s.search, s.pieces, first.index, first.count, first.pieces
            ));
        }
        if std::mem::replace(&mut seen[s.index], true) {
            return Err(format!("shard {} of {} is given twice", s.index, s.count));
        }
    }
    if let Some(m) = seen.iter().position(|&s| !s) {
        return Err(format!("shard {m} of {} is missing", first.count));
    }
    let mut results: Vec<Option<Part>> = vec![None; first.pieces];
    for s in shards {
        for (i, p) in &s.parts {
            let slot = results
                .get_mut(*i)
                .ok_or_else(|| format!("shard {} names piece {i} of {}", s.index, s.pieces))?;
            *slot = Some(p.clone());
        }
    }
    let pieces = first.pieces;
    join(program, config, bound, reduction, results, &mut || {
        let p = split(program, config, bound, reduction)?;
        if p.len() != pieces {
            return Err(format!(
                "the program splits into {} pieces here, {pieces} in the shards: not the same program",
                p.len()
            ));
        }
        Ok(p)
    })
}

impl Shard {
    /// The shard as JSON, for `vipt explore --shard` and `vipt merge`.
    pub fn json(&self) -> Value {
        json!({
            "shard": self.index,
            "of": self.count,
            "search": self.search,
            "pieces": self.pieces,
            "parts": self.parts.iter().map(|(i, p)| json!({
                "piece": i,
                "end": match p.end {
                    End::Finished => "finished",
                    End::Capped => "capped",
                    End::Stopped => "stopped",
                },
                "report": report_json(&p.report),
            })).collect::<Vec<_>>(),
        })
    }

    /// Reads [`Shard::json`]'s output back.
    pub fn from_json(v: &Value, mode: Mode, seed: u64) -> Result<Shard, String> {
        let num = |v: &Value, k: &str| {
            v[k].as_u64()
                .ok_or_else(|| format!("shard file: '{k}' is not a number"))
        };
        let mut parts = Vec::new();
        for p in v["parts"]
            .as_array()
            .ok_or("shard file: 'parts' is not a list")?
        {
            let end = match p["end"].as_str() {
                Some("finished") => End::Finished,
                Some("capped") => End::Capped,
                Some("stopped") => End::Stopped,
                _ => {
                    return Err(
                        "shard file: a part's 'end' is not finished, capped or stopped".into(),
                    )
                }
            };
            parts.push((
                num(p, "piece")? as usize,
                Part {
                    report: report_from_json(&p["report"], mode, seed)?,
                    end,
                },
            ));
        }
        Ok(Shard {
            index: num(v, "shard")? as usize,
            count: num(v, "of")? as usize,
            search: v["search"]
                .as_str()
                .ok_or("shard file: 'search' is not a string")?
                .to_string(),
            pieces: num(v, "pieces")? as usize,
            parts,
        })
    }
}

fn failure_json(f: &Failure) -> Value {
    json!({
        "index": f.index,
        "schedule": f.schedule.to_string(),
        "preemptions": f.preemptions,
        "failures": f.failures,
        "detail": f.detail,
    })
}

fn failure_from_json(v: &Value) -> Result<Option<Failure>, String> {
    if v.is_null() {
        return Ok(None);
    }
    let bad = |k: &str| format!("shard file: a failure's '{k}' is missing or malformed");
    Ok(Some(Failure {
        index: v["index"].as_u64().ok_or_else(|| bad("index"))?,
        schedule: v["schedule"]
            .as_str()
            .ok_or_else(|| bad("schedule"))?
            .parse::<Schedule>()
            .map_err(|_| bad("schedule"))?,
        preemptions: v["preemptions"]
            .as_u64()
            .ok_or_else(|| bad("preemptions"))? as usize,
        failures: v["failures"]
            .as_array()
            .ok_or_else(|| bad("failures"))?
            .iter()
            .map(|f| {
                f.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| bad("failures"))
            })
            .collect::<Result<_, _>>()?,
        detail: Some(v["detail"].clone()).filter(|d| !d.is_null()),
    }))
}

fn report_json(r: &Report) -> Value {
    json!({
        "executions": r.executions,
        "pruned": r.pruned,
        "failing": r.failing,
        "distinct_failing": r.distinct_failing,
        "max_steps": r.max_steps,
        "first": r.first.as_ref().map(failure_json),
        "least": r.least.as_ref().map(failure_json),
        "outcomes": r.outcomes,
        "failure_kinds": r.failure_kinds,
        "counters": r.counters,
    })
}

/// A counter's name as the `&'static str` reports use: the names come from
/// the program, a handful per search, so each distinct one is kept once.
fn intern(name: &str) -> &'static str {
    static NAMES: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let mut names = NAMES.lock().expect("names");
    if let Some(n) = names.iter().find(|n| **n == name) {
        return n;
    }
    let n: &'static str = Box::leak(name.to_string().into_boxed_str());
    names.push(n);
    n
}

fn report_from_json(v: &Value, mode: Mode, seed: u64) -> Result<Report, String> {
    let num = |k: &str| {
        v[k].as_u64()
            .ok_or_else(|| format!("shard file: a report's '{k}' is not a number"))
    };
    let map = |k: &str| -> Result<Vec<(String, u64)>, String> {
        v[k].as_object()
            .ok_or_else(|| format!("shard file: a report's '{k}' is not an object"))?
            .iter()
            .map(|(n, c)| {
                c.as_u64()
                    .map(|c| (n.clone(), c))
                    .ok_or_else(|| format!("shard file: a count in '{k}' is not a number"))
            })
            .collect()
    };
    let mut r = Report::new(mode, seed);
    r.executions = num("executions")?;
    r.pruned = num("pruned")?;
    r.failing = num("failing")?;
    r.distinct_failing = num("distinct_failing")?;
    r.max_steps = num("max_steps")? as usize;
    r.first = failure_from_json(&v["first"])?;
    r.least = failure_from_json(&v["least"])?;
    r.outcomes = map("outcomes")?.into_iter().collect();
    r.failure_kinds = map("failure_kinds")?.into_iter().collect();
    r.counters = map("counters")?
        .into_iter()
        .map(|(k, c)| (intern(&k), c))
        .collect();
    Ok(r)
}
