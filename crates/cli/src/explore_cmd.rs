//! `vipt explore`, `replay`, `cost`, `stress` and `report`.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Mutex;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use vipt_explore::litmus::Litmus;
use vipt_explore::report::{self, Budget};
use vipt_explore::scenario::{Colour, Kind, Params, Scenario};
use vipt_explore::search::{Coverage, Verdict};
use vipt_explore::target::Target;
use vipt_explore::{
    cost, engine::Ending, explore, explore_shard, merge_shards, minimal, run_one, timeline, Config,
    Mode, Replay, Report, Schedule, Shard,
};
use vipt_mm::strategy::by_name;
use vipt_mm::stress;
use vipt_mm::Kernel;

use crate::args::{
    parse_bound, parse_number, parse_on_off, parse_u32, parse_usize, probe_dir, probe_file,
    BoundArg,
};
use crate::{Output, UsageError};

/// A scenario with its parameters, as on the command line.
#[derive(Debug, Args, Default)]
pub struct ScenarioArgs {
    /// A built-in scenario: the races swap-pte, reclaim, cow, munmap,
    /// truncate, zap-refault, inequivalent, pte-lock, move-in; the parisc
    /// history unmap-window, unmap-reuse, reclaim-reuse, minifail,
    /// fork-writer. Or name a scenario file instead (docs/scenarios.md).
    #[arg(long, value_name = "S")]
    scenario: Option<String>,
    /// The flush_dcache_page strategy: legacy-2005, patched-2005, recheck,
    /// tmpalias, modern, patched-ptl (a scenario file may name its own).
    #[arg(long, value_name = "X")]
    strategy: Option<String>,
    /// Vmas mapping the file (2 to 8).
    #[arg(long, value_name = "N", value_parser = parse_usize, allow_hyphen_values = true)]
    vmas: Option<usize>,
    /// Cache lines per page (a power of two, 1 to 512).
    #[arg(long, value_name = "N", value_parser = parse_number, allow_hyphen_values = true)]
    lines: Option<u64>,
    /// B's placement: 2.6.14, pgoff-aware, map-fixed.
    #[arg(long, value_name = "C")]
    colour: Option<String>,
    /// The kernel profile, generic mm and parisc hooks together: 2.6.14,
    /// 2.6.15, 3.x, 6.10.
    #[arg(long, value_name = "K")]
    kernel: Option<String>,
    /// Override: whether an fdc through a flush-only (_PAGE_FLUSH) pte is
    /// honoured. The kernel decides by default (on in 2.6.14 and 2.6.15, off
    /// in 3.x and 6.10); set against it, the model is a mixed one and says
    /// so. Also yes/no, true/false, 1/0, in any case.
    #[arg(long, value_name = "on|off", value_parser = parse_on_off)]
    page_flush: Option<bool>,
    /// Speculative move-in: on or off. Also yes/no, true/false, 1/0, in any
    /// case.
    #[arg(long, value_name = "on|off", value_parser = parse_on_off)]
    move_in: Option<bool>,
    /// Move-in bursts the hardware agent inserts per execution, each where
    /// the explorer chooses (0 to 4; 1 by default with --move-in on, except
    /// in move-in, whose racer moves lines in itself).
    #[arg(long, value_name = "N", value_parser = parse_number, allow_hyphen_values = true)]
    move_ins: Option<u64>,
    /// The move-in bursts also go through flush-only (_PAGE_FLUSH) TLB
    /// entries: on or off (off by default).
    #[arg(long, value_name = "on|off", value_parser = parse_on_off)]
    move_in_flush_only: Option<bool>,
    /// A sibling thread of A (CPU 3, A's mm) loads the page and stores to it
    /// during the race: on or off (on by default in fork-writer only).
    #[arg(long, value_name = "on|off", value_parser = parse_on_off)]
    sibling: Option<bool>,
    /// Ablation: freed frames lose their cached lines, which no kernel does
    /// (off by default); shows which failures come from lines that outlive a
    /// page.
    #[arg(long, value_name = "on|off", value_parser = parse_on_off)]
    scrub_freed: Option<bool>,
}

/// The scenario named `s`.
fn scenario_kind(s: &str) -> Result<Kind, UsageError> {
    Kind::every().find(|k| k.name() == s).ok_or_else(|| {
        let names: Vec<_> = Kind::every().map(|k| k.name()).collect();
        UsageError(format!(
            "unknown scenario '{s}'; one of {}",
            names.join(", ")
        ))
    })
}

/// The strategy named `s`.
fn strategy(s: &str) -> Result<std::sync::Arc<dyn vipt_mm::strategy::FlushStrategy>, UsageError> {
    by_name(s).ok_or_else(|| {
        UsageError(format!(
            "unknown strategy '{s}'; one of {}",
            report::STRATEGIES.join(", ")
        ))
    })
}

impl ScenarioArgs {
    /// The parameters: the scenario's defaults `d` with the flags given.
    fn params(&self, d: Params) -> Result<Params, UsageError> {
        let colour = match self.colour.as_deref() {
            None => d.colour,
            Some(c) => Colour::parse(c).map_err(|_| {
                UsageError(format!(
                    "unknown colouring '{c}'; one of {}",
                    Colour::NAMES.join(", ")
                ))
            })?,
        };
        let kernel = match self.kernel.as_deref() {
            None => d.kernel,
            Some(k) => Kernel::parse(k).map_err(|_| {
                UsageError(format!(
                    "unknown kernel '{k}'; one of {}",
                    Kernel::NAMES.join(", ")
                ))
            })?,
        };
        let move_in = self.move_in.unwrap_or(d.move_in);
        // The scenario's own bursts where move-in is its default; at least
        // one where move-in is switched on (`report::param_flags` writes the
        // same rule back). Scenario::with_strategy checks the count.
        let move_ins = match self.move_ins {
            Some(n) => u32::try_from(n).unwrap_or(u32::MAX),
            None if move_in && d.move_in => d.move_ins,
            None if move_in => d.move_ins.max(1),
            None => 0,
        };
        // The kernel's own _PAGE_FLUSH handling, or the scenario's where
        // the kernel is its own.
        let page_flush = match (self.page_flush, self.kernel.is_some()) {
            (Some(f), _) => f,
            (None, true) => kernel.flush_only_ptes(),
            (None, false) => d.page_flush,
        };
        Ok(Params {
            kernel,
            vmas: self.vmas.unwrap_or(d.vmas),
            lines: self.lines.unwrap_or(d.lines),
            colour,
            page_flush,
            move_in,
            move_ins,
            move_in_flush_only: self.move_in_flush_only.unwrap_or(d.move_in_flush_only),
            sibling: self.sibling.unwrap_or(d.sibling),
            scrub_freed: self.scrub_freed.unwrap_or(d.scrub_freed),
        })
    }

    /// The scenario: the built-in `--scenario`, or the file `file`.
    fn build(&self, file: Option<&std::path::Path>) -> Result<Target, UsageError> {
        match (file, &self.scenario) {
            (Some(_), Some(s)) => Err(UsageError(format!(
                "give a scenario file or --scenario {s}, not both"
            ))),
            (None, None) => Err(UsageError(
                "name a scenario: --scenario S (a built-in) or a scenario file".into(),
            )),
            (None, Some(name)) => {
                let kind = scenario_kind(name)?;
                let p = self.params(kind.defaults())?;
                let name = self.strategy.as_deref().ok_or_else(|| {
                    UsageError(format!(
                        "name a strategy: --strategy X, one of {}",
                        report::STRATEGIES.join(", ")
                    ))
                })?;
                let s = strategy(name)?;
                Ok(Target::Builtin(Scenario::with_strategy(kind, s, p)?))
            }
            (Some(path), None) => {
                let l = Litmus::load(path).map_err(|e| UsageError(e.to_string()))?;
                let p = self.params(l.defaults)?;
                let name = self
                    .strategy
                    .as_deref()
                    .or(l.strategy.as_deref())
                    .ok_or_else(|| {
                        UsageError(format!(
                            "{}: name a strategy: --strategy X (one of {}), or `strategy = X;` in its defaults",
                            path.display(),
                            report::STRATEGIES.join(", ")
                        ))
                    })?;
                let s = strategy(name)?;
                Ok(Target::File(
                    l.bind_with(s, p, None)
                        .map_err(|e| UsageError(e.to_string()))?,
                ))
            }
        }
    }
}

/// Arguments of `vipt explore`.
#[derive(Debug, Args)]
pub struct ExploreArgs {
    /// A scenario file (docs/scenarios.md), instead of --scenario.
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// exhaustive, random or pct.
    #[arg(long, value_name = "M", default_value = "exhaustive")]
    mode: String,
    /// Executions at most (at least 1).
    #[arg(long, value_name = "N", default_value_t = 50_000, value_parser = parse_number, allow_hyphen_values = true)]
    budget: u64,
    /// Seed for random and PCT.
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = parse_number, allow_hyphen_values = true)]
    seed: u64,
    /// Preemption bound of the exhaustive mode, or none: every schedule.
    #[arg(long, value_name = "N|none", default_value_t = BoundArg(Some(2)), value_parser = parse_bound, allow_hyphen_values = true)]
    bound: BoundArg,
    /// Sleep-set reduction in the exhaustive mode (off by default). With
    /// --bound none the search stays complete: two steps are taken to
    /// commute only when neither touched, by its announced footprint or in
    /// fact (the model's audited accesses), what the other touched. With a
    /// bound it may miss failures, and the verdict says the search was
    /// partial (exit status 3 if nothing was found).
    #[arg(long, conflicts_with = "no_reduction")]
    reduction: bool,
    /// No sleep-set reduction: the default, accepted for compatibility.
    #[arg(long)]
    no_reduction: bool,
    /// PCT depth (1 to 16).
    #[arg(long, value_name = "D", default_value_t = 3, value_parser = parse_u32, allow_hyphen_values = true)]
    depth: u32,
    /// Write the minimised failing schedule's swim-lane picture here (when
    /// no failure is found, nothing is written and stderr says so).
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
    /// Write the minimised failing schedule as Chrome trace-event JSON here,
    /// to open in Perfetto (ui.perfetto.dev) or chrome://tracing.
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
    /// Worker threads of the exhaustive search (at least 1; every core by
    /// default). The counts and the failures found do not depend on it.
    #[arg(long, value_name = "N", value_parser = parse_usize, allow_hyphen_values = true)]
    threads: Option<usize>,
    /// Explore only shard K of N (0 ≤ K < N) of the exhaustive search and
    /// print that shard's result as JSON, for `vipt merge`: a deterministic
    /// 1/N of the search, so a batch system (a Slurm job array) can run the
    /// shards on different machines.
    #[arg(long, value_name = "K/N", value_parser = parse_shard, conflicts_with_all = ["svg", "trace", "json"])]
    shard: Option<(usize, usize)>,
}

/// Parses `K/N`, shard K of N: 0 ≤ K < N.
fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let bad = || format!("'{s}' is not K/N with 0 <= K < N, e.g. 0/4 (shards are numbered from 0)");
    let (k, n) = s.split_once('/').ok_or_else(bad)?;
    let k = parse_usize(k).map_err(|_| bad())?;
    let n = parse_usize(n).map_err(|_| bad())?;
    if k >= n {
        return Err(bad());
    }
    Ok((k, n))
}

/// Arguments of `vipt merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shard files `vipt explore --shard K/N` wrote, every K of one N
    /// once, of one search.
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
    /// Write the minimised failing schedule's swim-lane picture here.
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
    /// Write it as Chrome trace-event JSON here (Perfetto).
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// Print one JSON object, as `vipt explore --json` does.
    #[arg(long)]
    json: bool,
}

/// Arguments of `vipt replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// A scenario file (instead of --scenario), then the schedule: the CPU
    /// of every step, run-length coded, e.g. a6b6c2a3.
    #[arg(value_name = "[FILE] SCHEDULE", num_args = 1..=2, required = true)]
    words: Vec<String>,
    /// Write the run's swim-lane picture here (whether it fails or passes).
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
    /// Write the run as Chrome trace-event JSON here, to open in Perfetto
    /// (ui.perfetto.dev) or chrome://tracing.
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long, conflicts_with = "ladder")]
    json: bool,
    /// Print only the CPU0/CPU1/CPU2 ladder kernel commit messages use, and
    /// the failing read under it: ready to paste.
    #[arg(long)]
    ladder: bool,
}

/// Arguments of `vipt check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The scenario files.
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
    /// The strategy, for every file (by default each file's own).
    #[arg(long, value_name = "X")]
    strategy: Option<String>,
    /// The kernel profile, for every file (by default each file's own).
    #[arg(long, value_name = "K")]
    kernel: Option<String>,
    /// Preemption bound, or none: every schedule.
    #[arg(long, value_name = "N|none", default_value_t = BoundArg(Some(2)), value_parser = parse_bound, allow_hyphen_values = true)]
    bound: BoundArg,
    /// Executions per file at most (at least 1).
    #[arg(long, value_name = "N", default_value_t = 50_000, value_parser = parse_number, allow_hyphen_values = true)]
    budget: u64,
    /// Worker threads (at least 1; every core by default).
    #[arg(long, value_name = "N", value_parser = parse_usize, allow_hyphen_values = true)]
    threads: Option<usize>,
}

/// Arguments of `vipt cost`.
#[derive(Debug, Args)]
pub struct CostArgs {
    /// The kernel profile (its i_mmap index and pte locks): 2.6.14, 2.6.15,
    /// 3.x, 6.10.
    #[arg(long, value_name = "K", default_value = "2.6.14")]
    kernel: String,
    /// Write the plot (fdc issued against vmas, a quarter present, two
    /// colours) here.
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Arguments of `vipt stress`.
#[derive(Debug, Args)]
pub struct StressArgs {
    /// The strategy.
    #[arg(long, value_name = "X", default_value = "patched-2005")]
    strategy: String,
    /// Rounds per thread (1 to 1000000).
    #[arg(long, value_name = "N", default_value_t = 500, value_parser = parse_number, allow_hyphen_values = true)]
    rounds: u64,
    /// The kernel profile: 2.6.14, 2.6.15, 3.x, 6.10.
    #[arg(long, value_name = "K", default_value = "2.6.14")]
    kernel: String,
    /// Override: whether an fdc through a flush-only (_PAGE_FLUSH) pte is
    /// honoured (the kernel decides by default; set against it, a mixed
    /// model). Also yes/no, true/false, 1/0, in any case.
    #[arg(long, value_name = "on|off", value_parser = parse_on_off)]
    page_flush: Option<bool>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Arguments of `vipt report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Print one JSON object: {"questions": [...], "cells": [...]}.
    #[arg(long)]
    json: bool,
    /// Also write report.txt, report.json, report.html (the page: verdicts,
    /// questions, plots and timelines), cost.svg and one SVG timeline per
    /// failing cell here (checked before the run; created if need be).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Preemption bound of the exhaustive cells (at most 8).
    #[arg(long, value_name = "N", default_value_t = Budget::default().bound, value_parser = parse_u32, allow_hyphen_values = true)]
    bound: u32,
    /// Executions per exhaustive cell (at least 1).
    #[arg(long, value_name = "N", default_value_t = Budget::default().exhaustive, value_parser = parse_number, allow_hyphen_values = true)]
    budget: u64,
    /// Executions per sampler in question 3 (at least 1).
    #[arg(long, value_name = "N", default_value_t = Budget::default().samples, value_parser = parse_number, allow_hyphen_values = true)]
    samples: u64,
    /// Seed of the sampled runs.
    #[arg(long, value_name = "N", default_value_t = Budget::default().seed, value_parser = parse_number, allow_hyphen_values = true)]
    seed: u64,
    /// Instead of the built-in questions: every scenario file (*.vipt) of
    /// this directory on every kernel profile and strategy, as a verdict
    /// matrix with the failing cells' replay commands.
    #[arg(long, value_name = "DIR")]
    scenarios: Option<PathBuf>,
}

fn bar(total: u64, msg: &str) -> ProgressBar {
    let b = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template("{msg:40} [{bar:30}] {pos}/{len} {elapsed}") {
        b.set_style(style.progress_chars("=> "));
    }
    b.set_message(msg.to_string());
    b
}

fn parse_mode(a: &ExploreArgs) -> Result<Mode, UsageError> {
    Ok(match a.mode.as_str() {
        "exhaustive" => Mode::Exhaustive {
            bound: a.bound.0,
            reduction: a.reduction,
        },
        "random" => Mode::Random,
        "pct" => {
            if a.depth == 0 || a.depth > 16 {
                return Err(UsageError(format!(
                    "--depth must be 1 to 16, not {}",
                    a.depth
                )));
            }
            Mode::Pct { depth: a.depth }
        }
        m => {
            return Err(UsageError(format!(
                "unknown mode '{m}'; exhaustive, random or pct"
            )))
        }
    })
}

fn replay_cmd(sc: &Target, schedule: &str) -> String {
    format!("vipt replay {} {schedule}", sc.flags())
}

/// A search as `vipt explore` was asked for it: the scenario, its
/// configuration, and the flags that give both again (kept in shard files,
/// so `vipt merge` rebuilds the search the shards came from).
struct Search {
    sc: Target,
    cfg: Config,
    flags: Vec<String>,
}

impl ExploreArgs {
    fn search(&self) -> Result<Search, UsageError> {
        let sc = self.scenario.build(self.file.as_deref())?;
        let mode = parse_mode(self)?;
        if self.budget == 0 {
            return Err(UsageError("--budget must be at least 1".into()));
        }
        let mut cfg = Config {
            mode,
            budget: self.budget,
            seed: self.seed,
            ..Config::default()
        };
        match self.threads {
            Some(0) => return Err(UsageError("--threads must be at least 1".into())),
            Some(n) => cfg.threads = n,
            None => {}
        }
        // The flags in canonical form: shards of one search, however its
        // flags were spelled, carry the same ones.
        let mut flags: Vec<String> = sc.flags().split_whitespace().map(str::to_string).collect();
        flags.extend(["--mode".into(), self.mode.clone()]);
        flags.extend(["--budget".into(), self.budget.to_string()]);
        flags.extend(["--seed".into(), self.seed.to_string()]);
        flags.extend(["--bound".into(), self.bound.to_string()]);
        if self.reduction {
            flags.push("--reduction".into());
        }
        if let Mode::Pct { depth } = mode {
            flags.extend(["--depth".into(), depth.to_string()]);
        }
        Ok(Search { sc, cfg, flags })
    }
}

/// A progress bar for a search of `budget` executions, and the callback
/// the search moves it with.
fn search_bar(budget: u64) -> (ProgressBar, impl Fn(u64, u64) + Sync) {
    let pb = bar(budget, "exploring");
    let pbm = Mutex::new(pb.clone());
    let progress = move |d: u64, _: u64| {
        if let Ok(p) = pbm.lock() {
            p.set_position(d);
        }
    };
    (pb, progress)
}

/// `vipt explore`.
pub fn run_explore(a: ExploreArgs) -> Result<Output, UsageError> {
    let search = a.search()?;
    if let Some(path) = &a.svg {
        probe_file("--svg", path)?;
    }
    if let Some(path) = &a.trace {
        probe_file("--trace", path)?;
    }
    let (pb, progress) = search_bar(a.budget);
    if let Some((k, n)) = a.shard {
        let shard = explore_shard(&search.sc, &search.cfg, k, n, Some(&progress))?;
        pb.finish_and_clear();
        let mut v = shard.json();
        v["vipt"] = json!(env!("CARGO_PKG_VERSION"));
        v["command"] = json!(format!(
            "vipt explore {} --shard {k}/{n}",
            search.flags.join(" ")
        ));
        v["flags"] = json!(search.flags);
        return Ok(Output::text(format!("{v:#}\n")));
    }
    let r = explore(&search.sc, &search.cfg, Some(&progress))?;
    pb.finish_and_clear();
    explore_output(&search, &r, a.svg.as_ref(), a.trace.as_ref(), a.json)
}

/// `vipt merge`: the shards' search as `vipt explore` prints it.
pub fn run_merge(a: MergeArgs) -> Result<Output, UsageError> {
    if let Some(path) = &a.svg {
        probe_file("--svg", path)?;
    }
    if let Some(path) = &a.trace {
        probe_file("--trace", path)?;
    }
    let at = |path: &PathBuf, e: String| UsageError(format!("{}: {e}", path.display()));
    // Every file read, with the flags of the search it is a shard of.
    let mut files = Vec::new();
    for path in &a.files {
        let text = std::fs::read_to_string(path).map_err(|e| at(path, e.to_string()))?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| at(path, format!("not a shard file (JSON: {e})")))?;
        let flags: Vec<String> = v["flags"]
            .as_array()
            .and_then(|f| f.iter().map(|x| x.as_str().map(str::to_string)).collect())
            .ok_or_else(|| at(path, "not a shard file: no 'flags' list of strings".into()))?;
        files.push((path, flags, v));
    }
    let Some((p0, f0, _)) = files.first() else {
        return Err(UsageError("no shard files given".into()));
    };
    for (path, flags, _) in &files[1..] {
        if flags != f0 {
            return Err(at(
                path,
                format!(
                    "a shard of another search: `{}` here, `{}` in {}",
                    flags.join(" "),
                    f0.join(" "),
                    p0.display()
                ),
            ));
        }
    }
    let args = <MergeFlags as clap::Parser>::try_parse_from(
        std::iter::once("vipt explore".to_string()).chain(f0.iter().cloned()),
    )
    .map_err(|e| {
        let e = e.render().to_string();
        at(
            p0,
            format!(
                "its flags do not parse here: {}",
                e.lines().next().unwrap_or("").trim_start_matches("error: ")
            ),
        )
    })?;
    let search = args.explore.search().map_err(|e| at(p0, e.0))?;
    let shards = files
        .iter()
        .map(|(path, _, v)| {
            Shard::from_json(v, search.cfg.mode, search.cfg.seed).map_err(|e| at(path, e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let r = merge_shards(&search.sc, &search.cfg, &shards)?;
    explore_output(&search, &r, a.svg.as_ref(), a.trace.as_ref(), a.json)
}

/// `vipt explore`'s flags, as a shard file keeps them.
#[derive(Debug, clap::Parser)]
struct MergeFlags {
    #[command(flatten)]
    explore: ExploreArgs,
}

/// What `vipt explore` and `vipt merge` print for the search's report `r`.
fn explore_output(
    search: &Search,
    r: &Report,
    svg: Option<&PathBuf>,
    trace: Option<&PathBuf>,
    json_out: bool,
) -> Result<Output, UsageError> {
    let (sc, cfg) = (&search.sc, &search.cfg);
    let mode = cfg.mode;
    let min = minimal(sc, r, 5_000, cfg.max_steps)?;
    let (lo, hi) = r.interval();
    // The minimised failure's timeline.
    let (steps, detail) = match &min {
        Some(m) => {
            let (mut run, out) = run_one(sc, &mut Replay::new(m.schedule.clone()), cfg.max_steps)?;
            (
                Some(std::mem::take(&mut run.steps)),
                out.and_then(|o| o.detail),
            )
        }
        None => (None, None),
    };
    let (check, at) = match (&min, &steps) {
        (Some(m), Some(steps)) => located_check(sc, &m.schedule, steps, &detail, cfg.max_steps)?,
        _ => (None, None),
    };
    let marked = mark(&check, at);
    let status = explore_status(r.verdict());
    let mut output = Output {
        status,
        ..Output::text(String::new())
    };
    let title = format!("{} / {} / {}", sc.name(), sc.strategy_name(), sc.params());
    for (path, trace) in svg
        .map(|p| (p, false))
        .into_iter()
        .chain(trace.map(|p| (p, true)))
    {
        match &steps {
            Some(steps) => {
                let (n, roles) = (sc.bodies(), sc.roles());
                let text = if trace {
                    format!(
                        "{:#}\n",
                        timeline::trace_json(steps, n, &roles, &title, marked)
                    )
                } else {
                    timeline::svg(steps, n, &roles, &title, marked)
                };
                output.files.push((path.clone(), text));
            }
            None => output.notes.push(format!(
                "no failing schedule found, so there is no timeline to draw; {} was not written",
                path.display()
            )),
        }
    }
    if json_out {
        let v = json!({
            "scenario": sc.name(), "strategy": sc.strategy_name(), "params": sc.params().to_string(),
            "mode": r.mode.to_string(), "seed": r.seed,
            "verdict": r.verdict().name(), "coverage": r.coverage.json(), "exit_status": status,
            "explored": r.executions, "pruned": r.pruned, "failing": r.failing,
            "distinct_failing": r.distinct_failing, "rate": r.rate(), "interval": [lo, hi],
            "complete": r.complete,
            "first": r.first.as_ref().map(|f| f.schedule.to_string()),
            "first_violation": r.first.as_ref().and_then(|f| f.detail.clone()),
            "schedule": min.as_ref().map(|m| m.schedule.to_string()),
            "preemptions": min.as_ref().map(|m| m.preemptions),
            "minimal": min.as_ref().map(|m| m.proven),
            "failures": r.failure_kinds,
            "cost": r.counters.keys().map(|k| (k.to_string(), r.mean(k))).collect::<std::collections::BTreeMap<_, _>>(),
        });
        output.stdout = format!("{v:#}\n");
        return Ok(output);
    }
    let mut s = String::new();
    let _ = writeln!(
        s,
        "scenario {} ({}), strategy {}",
        sc.title(),
        sc.params(),
        sc.strategy_name()
    );
    let _ = writeln!(
        s,
        "mode: {}{}",
        r.mode,
        if matches!(mode, Mode::Exhaustive { .. }) {
            String::new()
        } else {
            format!(", seed {}", r.seed)
        }
    );
    let _ = writeln!(
        s,
        "executions: {} ({} pruned as redundant)",
        r.executions, r.pruned
    );
    let _ = writeln!(s, "coverage: {}; {}", r.coverage, r.coverage.explain());
    let _ = writeln!(
        s,
        "failing: {} ({} distinct schedules), rate {:.4} [95% CI {:.4}, {:.4}]",
        r.failing,
        r.distinct_failing,
        r.rate(),
        lo,
        hi
    );
    for (k, n) in &r.failure_kinds {
        let _ = writeln!(s, "  {n} × {k}");
    }
    let _ = writeln!(s, "verdict: {}", verdict_text(&r.coverage, r.verdict()));
    if let Some(f) = &r.first {
        let _ = writeln!(
            s,
            "first failing schedule: {} ({} preemptions)",
            f.schedule, f.preemptions
        );
    }
    if let Some(m) = &min {
        let _ = writeln!(
            s,
            "{}: {} ({} preemptions{})",
            m.claim(),
            m.schedule,
            m.preemptions,
            if m.proven {
                "; no schedule with fewer fails"
            } else {
                "; a search below it did not finish, so it may not be minimal"
            }
        );
        let _ = writeln!(s, "replay: {}", replay_cmd(sc, &m.schedule.to_string()));
    }
    if let Some(steps) = &steps {
        let _ = writeln!(s, "\ntimeline of that schedule:");
        s += &timeline::text(steps, sc.bodies(), &sc.roles(), marked);
        if let Some(c) = &check {
            let _ = writeln!(s, "{c}");
        }
        s.push('\n');
    }
    let _ = writeln!(s, "mean cost per execution:");
    for k in r.counters.keys() {
        let _ = writeln!(s, "  {k:24} {:.1}", r.mean(k));
    }
    output.stdout = s;
    Ok(output)
}

/// The oracle's first violation as the line under a timeline: which CPU
/// read what where, and what it should have read.
fn failing_check(d: &serde_json::Value) -> Option<String> {
    let s = |k: &str| d[k].as_str().unwrap_or("?");
    let cpu = d["cpu"].as_u64()?;
    let letter = char::from(b'a' + u8::try_from(cpu).ok().filter(|&c| c < 26)?);
    let kind = match s("kind") {
        "stale_read" => "a stale read after the coherence point",
        "stale_cow_source" => "a COW copy read stale source data",
        "earlier_life" => "data of the frame's earlier life",
        "earlier_write_back" => "an earlier life's write-back over the new owner's data",
        "lost_write" => "a lost write (the page was freed without it)",
        k => k,
    };
    Some(format!(
        "failing check ({}): {letter} CPU{cpu} {} access at va {} (pa {}, colour {}) got {}, expected {}: {kind}",
        s("when"),
        s("agent"),
        s("va"),
        s("pa"),
        d["colour"],
        s("got"),
        s("expected"),
    ))
}

/// `vipt explore`'s exit status: 1 for a failure, 0 for none in a search
/// that covered its claim (complete, or complete within its bound), 3 for
/// none in one that was incomplete, partial or sampled.
pub fn explore_status(v: Verdict) -> u8 {
    match v {
        Verdict::Fail => 1,
        Verdict::Pass => 0,
        Verdict::Inconclusive => 3,
    }
}

/// The verdict line: "FAIL", "pass (complete within bound 3)", or "no
/// failure found (incomplete: …)"; never a bare pass for a search that does
/// not prove it.
fn verdict_text(c: &Coverage, v: Verdict) -> String {
    match (v, c) {
        (Verdict::Fail, _) => "FAIL".into(),
        (Verdict::Pass, _) => format!("pass ({c})"),
        (Verdict::Inconclusive, Coverage::PartialWithinBound { bound }) => format!(
            "no failure found within bound {bound} with sleep sets (may miss failures: not a proof for the bound)"
        ),
        (Verdict::Inconclusive, Coverage::Partial) => "no failure found with sleep sets over footprints the program does not promise exact (may miss failures: not a proof)".into(),
        (Verdict::Inconclusive, Coverage::Sampled { executions }) => {
            format!("no failure found in {executions} sampled executions (no coverage claim)")
        }
        (Verdict::Inconclusive, _) => format!("no failure found ({c})"),
    }
}

/// How a run ended, in words.
fn ending_name(e: &Ending) -> &'static str {
    match e {
        Ending::Finished => "finished",
        Ending::Deadlock(_) => "deadlock",
        Ending::Panic(_) => "panic",
        Ending::StepLimit => "step limit",
        Ending::Abandoned => "abandoned",
    }
}

/// Parses a replay's schedule: empty or malformed is bad input, and so is
/// one longer than any run may be (refused before it is expanded).
fn parse_schedule(s: &str, max_steps: usize) -> Result<Schedule, UsageError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(UsageError(
            "bad schedule: empty; give the CPU of every step, run-length coded, e.g. a6b6c2a3"
                .into(),
        ));
    }
    let mut steps: u64 = 0;
    let mut chars = t.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if !c.is_ascii_lowercase() {
            return Err(UsageError(format!(
                "bad schedule '{s}': expected a CPU letter a-z at offset {i}, found '{c}'"
            )));
        }
        let mut run: Option<u64> = None;
        while let Some(&(_, d)) = chars.peek() {
            let Some(d) = d.to_digit(10) else { break };
            run = Some(
                run.unwrap_or(0)
                    .saturating_mul(10)
                    .saturating_add(u64::from(d)),
            );
            chars.next();
        }
        if run == Some(0) {
            return Err(UsageError(format!(
                "bad schedule '{s}': a run of 0 steps after offset {i}"
            )));
        }
        steps = steps.saturating_add(run.unwrap_or(1));
    }
    if steps > max_steps as u64 {
        return Err(UsageError(format!(
            "bad schedule '{s}': more than {max_steps} steps, the most a run may take"
        )));
    }
    Ok(t.parse::<Schedule>()?)
}

/// `vipt replay`.
pub fn run_replay(a: ReplayArgs) -> Result<Output, UsageError> {
    let (file, schedule) = match a.words.as_slice() {
        [f, s] => (Some(std::path::Path::new(f)), s),
        [s] => (None, s),
        _ => return Err(UsageError("give [FILE] SCHEDULE".into())),
    };
    let sc = a.scenario.build(file)?;
    let max_steps = Config::default().max_steps;
    let sched = parse_schedule(schedule, max_steps)?;
    if let Some(path) = &a.svg {
        probe_file("--svg", path)?;
    }
    if let Some(path) = &a.trace {
        probe_file("--trace", path)?;
    }
    let mut rp = Replay::new(sched.clone());
    let (run, out) = run_one(&sc, &mut rp, max_steps)?;
    if let Some(step) = rp.diverged {
        return Err(UsageError(format!(
            "the schedule names a CPU that cannot run at step {step} ({} in the schedule); it was made for another scenario or strategy",
            sched.0.get(step).map_or('?', |c| (b'a' + c) as char)
        )));
    }
    if sched.len() > run.steps.len() {
        return Err(UsageError(format!(
            "the schedule has {} steps but the run ended ({}) after {}; it was made for another scenario or strategy",
            sched.len(),
            ending_name(&run.ending),
            run.steps.len()
        )));
    }
    let out = out.ok_or_else(|| UsageError("the replay was abandoned".into()))?;
    let title = format!(
        "{} / {} / {}: {}",
        sc.name(),
        sc.strategy_name(),
        sc.params(),
        Schedule::of_run(&run)
    );
    let mut output = Output::text(String::new());
    let (check, at) = located_check(&sc, &sched, &run.steps, &out.detail, max_steps)?;
    let marked = mark(&check, at);
    // The run's timeline exists whether it failed or not.
    if let Some(path) = &a.svg {
        let pic = timeline::svg(&run.steps, sc.bodies(), &sc.roles(), &title, marked);
        output.files.push((path.clone(), pic));
    }
    if let Some(path) = &a.trace {
        let t = timeline::trace_json(&run.steps, sc.bodies(), &sc.roles(), &title, marked);
        output.files.push((path.clone(), format!("{t:#}\n")));
    }
    let verdict = if out.failed() { "fail" } else { "pass" };
    if a.json {
        let v = json!({
            "scenario": sc.name(), "strategy": sc.strategy_name(), "schedule": Schedule::of_run(&run).to_string(),
            "verdict": verdict, "failures": out.failures, "observed": out.observed, "violation": out.detail, "steps": run.steps.len(),
            "preemptions": run.preemptions(), "ending": ending_name(&run.ending),
            "timeline": timeline::segments(&run.steps).iter().map(|g| json!({"cpu": g.cpu, "first": g.first, "last": g.last, "function": g.what, "ops": g.ops})).collect::<Vec<_>>(),
        });
        output.stdout = format!("{v:#}\n");
        return Ok(output);
    }
    if a.ladder {
        // About 100 columns in all, however many CPUs.
        let width = (102 / sc.bodies().max(1)).max(24);
        let mut s = timeline::ladder(&run.steps, sc.bodies(), &sc.roles(), width, marked);
        if let Some(c) = &check {
            let _ = writeln!(s, "\n{c}");
        }
        output.stdout = s;
        return Ok(output);
    }
    let mut s = format!("{title}\n\n");
    s += &timeline::text(&run.steps, sc.bodies(), &sc.roles(), marked);
    if let Some(c) = &check {
        let _ = writeln!(s, "{c}");
    }
    let _ = writeln!(
        s,
        "\n{} steps, {} preemptions, ending: {}",
        run.steps.len(),
        run.preemptions(),
        ending_name(&run.ending)
    );
    let _ = writeln!(s, "verdict: {verdict}");
    for f in &out.failures {
        let _ = writeln!(s, "  {f}");
    }
    let _ = writeln!(s, "observed: {}", out.observed);
    output.stdout = s;
    Ok(output)
}

/// `vipt check`: one line per file, the worst status of all.
pub fn run_check(a: CheckArgs) -> Result<Output, UsageError> {
    if a.budget == 0 {
        return Err(UsageError("--budget must be at least 1".into()));
    }
    let mut cfg = Config {
        mode: Mode::Exhaustive {
            bound: a.bound.0,
            reduction: false,
        },
        budget: a.budget,
        ..Config::default()
    };
    match a.threads {
        Some(0) => return Err(UsageError("--threads must be at least 1".into())),
        Some(n) => cfg.threads = n,
        None => {}
    }
    let args = ScenarioArgs {
        scenario: None,
        strategy: a.strategy.clone(),
        kernel: a.kernel.clone(),
        ..ScenarioArgs::default()
    };
    let (mut failed, mut incomplete, mut bad) = (false, false, false);
    let mut s = String::new();
    for path in &a.files {
        let sc = match args.build(Some(path)) {
            Ok(sc) => sc,
            Err(e) => {
                bad = true;
                let p = path.display().to_string();
                if e.0.starts_with(&p) {
                    let _ = writeln!(s, "ERROR       {}", e.0);
                } else {
                    let _ = writeln!(s, "ERROR       {p}: {}", e.0);
                }
                continue;
            }
        };
        let r = explore(&sc, &cfg, None)?;
        let verdict = r.verdict();
        let head = format!(
            "{} / {} / {}",
            path.display(),
            sc.strategy_name(),
            sc.params().kernel
        );
        match verdict {
            Verdict::Fail => {
                failed = true;
                let min = minimal(&sc, &r, 5_000, cfg.max_steps)?;
                let what = vipt_explore::litmus::report::main_failure(&r.failure_kinds);
                let _ = writeln!(
                    s,
                    "FAIL        {head}: {} of {} executions ({}); {what}",
                    r.failing, r.executions, r.coverage
                );
                if let Some(m) = min {
                    let _ = writeln!(
                        s,
                        "            {}: {}",
                        m.claim(),
                        replay_cmd(&sc, &m.schedule.to_string())
                    );
                }
            }
            Verdict::Pass => {
                let _ = writeln!(
                    s,
                    "PASS        {head}: {} executions ({})",
                    r.executions, r.coverage
                );
            }
            Verdict::Inconclusive => {
                incomplete = true;
                let _ = writeln!(
                    s,
                    "INCOMPLETE  {head}: no failure in {} executions ({})",
                    r.executions, r.coverage
                );
            }
        }
    }
    Ok(Output {
        status: if bad {
            2
        } else if failed {
            1
        } else if incomplete {
            3
        } else {
            0
        },
        ..Output::text(s)
    })
}

/// `vipt cost`.
pub fn run_cost(a: CostArgs) -> Result<Output, UsageError> {
    if let Some(path) = &a.svg {
        probe_file("--svg", path)?;
    }
    let kernel = Kernel::parse(&a.kernel).map_err(|_| {
        UsageError(format!(
            "unknown kernel '{}'; one of {}",
            a.kernel,
            Kernel::NAMES.join(", ")
        ))
    })?;
    let pts = cost::sweep_on(
        kernel,
        &report::STRATEGIES[..5],
        &cost::VMAS,
        &cost::PRESENT,
        &cost::COLOURS,
    )?;
    let mut output = Output::text(String::new());
    if let Some(p) = &a.svg {
        output.files.push((p.clone(), cost::plot(&pts, 0.25, 2)));
    }
    if a.json {
        let v: Vec<_> = pts
            .iter()
            .map(|p| json!({"strategy": p.strategy, "vmas": p.vmas, "colours": p.colours, "present": p.present, "fdc_issued": p.fdc_issued,
                "fdc_nullified": p.fdc_nullified, "tlb_inserts": p.tlb_inserts, "tlb_purges": p.tlb_purges,
                "tree_nodes": p.tree_nodes, "translation_checks": p.translation_checks, "lock_hold_steps": p.lock_hold_steps}))
            .collect();
        output.stdout = format!("{:#}\n", json!({ "points": v }));
        return Ok(output);
    }
    let t = cost::table(&pts);
    output.stdout = format!(
        "flush_dcache_page cost of one write(): 1 MiB 4-way cache, 32-byte lines (128 fdc per page flush)\n\n{}",
        report::table_text(&t)
    );
    Ok(output)
}

/// Whether a stress run is ok: a model BUG, a lock-order inversion or a
/// broken invariant is a failure (stale reads are the strategy's verdict,
/// reported but not a failure of the run).
pub fn stress_ok(r: &stress::StressReport) -> bool {
    r.bugs.is_empty() && r.inversions.is_empty() && r.invariants.is_ok()
}

/// `vipt stress`: exit status 1 when the run is not ok.
pub fn run_stress(a: StressArgs) -> Result<Output, UsageError> {
    let s = strategy(&a.strategy)?;
    if !(1..=1_000_000).contains(&a.rounds) {
        return Err(UsageError(format!(
            "--rounds must be 1 to 1000000, not {}",
            a.rounds
        )));
    }
    let kernel = Kernel::parse(&a.kernel).map_err(|_| {
        UsageError(format!(
            "unknown kernel '{}'; one of {}",
            a.kernel,
            Kernel::NAMES.join(", ")
        ))
    })?;
    let r = stress::stress(s, a.rounds, kernel, a.page_flush)?;
    let ok = stress_ok(&r);
    let stdout = if a.json {
        let v = json!({"strategy": r.strategy, "rounds": r.rounds, "seconds": r.elapsed.as_secs_f64(), "calls": r.calls,
            "stale_reads": r.stale_reads, "bugs": r.bugs, "inversions": r.inversions,
            "invariants": r.invariants.as_ref().err(), "ok": ok});
        format!("{v:#}\n")
    } else {
        stress_text(&r, ok)
    };
    Ok(Output {
        status: u8::from(!ok),
        ..Output::text(stdout)
    })
}

fn stress_text(r: &stress::StressReport, ok: bool) -> String {
    let mut s = format!(
        "native stress, {} threads on one world, strategy {}, {} rounds each\n{} kernel path calls in {:.3} s\nstale reads after a completed flush: {}\nmodel bugs: {}\n",
        5,
        r.strategy,
        r.rounds,
        r.calls,
        r.elapsed.as_secs_f64(),
        r.stale_reads,
        r.bugs.len(),
    );
    let indented = |s: &mut String, what: &str| {
        for line in what.trim_end().lines() {
            let _ = writeln!(s, "  {line}");
        }
    };
    for b in &r.bugs {
        indented(&mut s, b);
    }
    let _ = writeln!(s, "lock-order inversions: {}", r.inversions.len());
    for i in &r.inversions {
        indented(&mut s, i);
    }
    let _ = writeln!(
        s,
        "invariants: {}",
        match &r.invariants {
            Ok(()) => "hold".to_string(),
            Err(e) => format!("BROKEN: {e}"),
        }
    );
    let _ = writeln!(s, "{}", if ok { "ok" } else { "FAILED" });
    s
}

/// `vipt report`.
pub fn run_report(a: ReportArgs) -> Result<Output, UsageError> {
    let b = Budget {
        bound: a.bound,
        exhaustive: a.budget,
        samples: a.samples,
        seed: a.seed,
        ..Budget::default()
    };
    if b.exhaustive == 0 {
        return Err(UsageError("--budget must be at least 1".into()));
    }
    if b.samples == 0 {
        return Err(UsageError("--samples must be at least 1".into()));
    }
    if b.bound > 8 {
        return Err(UsageError(format!(
            "--bound must be at most 8, not {}",
            b.bound
        )));
    }
    // Before the long run: the directory must take files.
    if let Some(dir) = &a.out {
        probe_dir(dir)?;
    }
    if let Some(dir) = &a.scenarios {
        return file_report(dir, &a, &b);
    }
    let pb = Mutex::new(None::<(String, ProgressBar)>);
    let progress = |what: &str, done: usize, total: usize| {
        if let Ok(mut g) = pb.lock() {
            if g.as_ref().is_none_or(|(w, _)| w != what) {
                if let Some((_, p)) = g.take() {
                    p.finish_and_clear();
                }
                *g = Some((what.to_string(), bar(total as u64, what)));
            }
            if let Some((_, p)) = g.as_ref() {
                p.set_position(done as u64);
            }
        }
    };
    let r = report::run(&b, &progress)?;
    if let Ok(mut g) = pb.lock() {
        if let Some((_, p)) = g.take() {
            p.finish_and_clear();
        }
    }
    let text = r.text();
    let mut output = Output::text(if a.json {
        format!("{:#}\n", r.json())
    } else {
        text.clone()
    });
    if let Some(dir) = &a.out {
        output.files.push((dir.join("report.txt"), text));
        output
            .files
            .push((dir.join("report.json"), format!("{:#}\n", r.json())));
        output
            .files
            .push((dir.join("cost.svg"), cost::plot(&r.cost, 0.25, 2)));
        let mut timelines = vec![None; r.cells.len()];
        for (i, c) in r
            .cells
            .iter()
            .enumerate()
            .filter(|(_, c)| c.schedule.is_some())
        {
            match cell_timeline(c) {
                Ok((name, svg)) => {
                    output.files.push((dir.join(&name), svg));
                    timelines[i] = Some(name);
                }
                // The text is printed all the same; the status says 2.
                Err(UsageError(e)) => output
                    .errors
                    .push(format!("timeline of {} / {}: {e}", c.scenario, c.strategy)),
            }
        }
        output
            .files
            .push((dir.join("report.html"), r.html(&timelines)));
    }
    Ok(output)
}

/// `vipt report --scenarios DIR`.
fn file_report(dir: &std::path::Path, a: &ReportArgs, b: &Budget) -> Result<Output, UsageError> {
    use vipt_explore::litmus::report as files;
    let paths = files::files_in(dir).map_err(|e| UsageError(e.to_string()))?;
    let pb = bar(0, "scenario files");
    let pbm = Mutex::new(pb.clone());
    let progress = |done: usize, total: usize| {
        if let Ok(p) = pbm.lock() {
            p.set_length(total as u64);
            p.set_position(done as u64);
        }
    };
    let cells = files::run_files(&paths, b.bound, b.exhaustive, &progress)
        .map_err(|e| UsageError(e.to_string()))?;
    pb.finish_and_clear();
    let text = files::text(&cells, b.bound, b.exhaustive);
    let js = format!("{:#}\n", files::json(&cells, b.bound, b.exhaustive));
    let mut output = Output::text(if a.json { js.clone() } else { text.clone() });
    if let Some(out) = &a.out {
        output.files.push((out.join("report.txt"), text));
        output.files.push((out.join("report.json"), js));
    }
    Ok(output)
}

/// A failing cell's timeline file: its name and the SVG.
fn cell_timeline(c: &report::Cell) -> Result<(String, String), UsageError> {
    let sc = Scenario::new(scenario_kind(c.scenario)?, &c.strategy, c.params)?;
    let sched: Schedule = c.schedule.as_deref().unwrap_or_default().parse()?;
    let max_steps = Config::default().max_steps;
    let (run, out) = run_one(&sc, &mut Replay::new(sched.clone()), max_steps)?;
    let detail = out.and_then(|o| o.detail);
    let (check, at) = located_check(&sc, &sched, &run.steps, &detail, max_steps)?;
    let marked = mark(&check, at);
    let name = format!(
        "{}-{}{}.svg",
        c.scenario,
        c.strategy,
        report::param_flags(c.params, sc.kind.defaults())
            .replace(" --", "-")
            .replace(' ', "-")
    );
    let title = format!("{} / {} / {}", c.scenario, c.strategy, c.params);
    Ok((
        name,
        timeline::svg(&run.steps, sc.bodies(), &sc.roles(), &title, marked),
    ))
}

/// The failing check of a run of `schedule` (its `steps`): its words, with
/// the write it should have seen where the timeline shows it, and where a
/// timeline marks it (its CPU, and the step it failed at for a violation
/// during the run, found by replaying prefixes of the schedule; none for the
/// final read).
type Located = (Option<String>, Option<(usize, Option<usize>)>);

fn located_check<P: vipt_explore::Program>(
    program: &P,
    schedule: &Schedule,
    steps: &[vipt_explore::Step],
    detail: &Option<serde_json::Value>,
    max_steps: usize,
) -> Result<Located, UsageError> {
    let Some(d) = detail.as_ref() else {
        return Ok((None, None));
    };
    let mut text = failing_check(d);
    let Some(cpu) = d["cpu"].as_u64().and_then(|c| usize::try_from(c).ok()) else {
        return Ok((text, None));
    };
    let step = if d["when"] == "during the run" {
        vipt_explore::violation_step(program, schedule, steps.len().min(max_steps))?
    } else {
        None
    };
    if let (Some(t), Some(w)) = (&mut text, should_have_seen(steps, d, step)) {
        *t += &w;
    }
    Ok((text, Some((cpu, step))))
}

/// For a stale read: the write it should have seen, as the timeline shows
/// it, the last coherence point (a `write()` done with its
/// `flush_dcache_page`) before the failing step (or before the end, for the
/// final read).
fn should_have_seen(
    steps: &[vipt_explore::Step],
    d: &serde_json::Value,
    step: Option<usize>,
) -> Option<String> {
    if d["kind"] != "stale_read" {
        return None;
    }
    let end = step.unwrap_or(steps.len()).min(steps.len());
    let (i, st) = steps[..end]
        .iter()
        .enumerate()
        .rev()
        .find(|(_, s)| matches!(s.op.kind, vipt_mm::OpKind::CoherencePoint))?;
    Some(format!(
        "; the write it should have seen: {} CPU{} {}, its coherence point at step {i}",
        char::from(b'a' + u8::try_from(st.cpu).ok().filter(|&c| c < 26)?),
        st.cpu,
        st.op.what
    ))
}

/// The timeline's mark of a located check.
fn mark(text: &Option<String>, at: Option<(usize, Option<usize>)>) -> Option<timeline::Check<'_>> {
    let (cpu, step) = at?;
    Some(timeline::Check {
        cpu,
        step,
        text: text.as_deref()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean() -> stress::StressReport {
        stress::StressReport {
            strategy: "patched-2005".into(),
            rounds: 1,
            elapsed: std::time::Duration::from_millis(1),
            calls: 5,
            stale_reads: 0,
            bugs: Vec::new(),
            inversions: Vec::new(),
            invariants: Ok(()),
        }
    }

    #[test]
    fn stress_with_an_inversion_is_not_ok() {
        assert!(stress_ok(&clean()));
        let mut r = clean();
        r.inversions
            .push("i_mmap_lock taken after the pte lock".into());
        assert!(!stress_ok(&r));
        let text = stress_text(&r, stress_ok(&r));
        assert!(text.contains("lock-order inversions: 1"), "{text}");
        assert!(text.trim_end().ends_with("FAILED"), "{text}");
        assert!(!text.lines().any(|l| l == "ok"), "{text}");
    }

    #[test]
    fn stress_with_a_bug_or_broken_invariant_is_not_ok() {
        let mut r = clean();
        r.bugs.push("BUG: bad page".into());
        assert!(!stress_ok(&r));
        let mut r = clean();
        r.invariants = Err("mapcount 2, 1 ptes".into());
        assert!(!stress_ok(&r));
        // Stale reads are the strategy's verdict, not the run's.
        let mut r = clean();
        r.stale_reads = 3;
        assert!(stress_ok(&r));
    }

    /// The flags a printed replay command and a shard file carry give the
    /// scenario back: every parameter, against every scenario's defaults.
    #[test]
    fn param_flags_give_the_params_back() {
        use vipt_explore::scenario::Colour;
        let mut tried = 0;
        for kind in Kind::every() {
            let d = kind.defaults();
            for kernel in [Kernel::V2_6_14, Kernel::V6_10] {
                for bits in 0u32..64 {
                    let b = |i: u32| bits >> i & 1 == 1;
                    let move_in = b(0) ^ d.move_in;
                    let p = Params {
                        kernel,
                        vmas: if b(1) { 3 } else { d.vmas },
                        lines: if b(2) { 4 } else { d.lines },
                        colour: if b(3) { Colour::MapFixed } else { d.colour },
                        page_flush: b(4) ^ kernel.flush_only_ptes(),
                        move_in,
                        move_ins: match (move_in, b(5)) {
                            (false, _) => 0,
                            (true, false) => 2,
                            (true, true) if d.move_in => d.move_ins,
                            (true, true) => 1,
                        },
                        move_in_flush_only: move_in && b(1),
                        sibling: b(2) ^ d.sibling,
                        scrub_freed: b(3),
                    };
                    let Ok(sc) = Scenario::new(kind, "patched-2005", p) else {
                        continue;
                    };
                    let flags = report::scenario_flags(kind, "patched-2005", sc.params);
                    let argv = std::iter::once("vipt explore".to_string())
                        .chain(flags.split_whitespace().map(str::to_string));
                    let a = <MergeFlags as clap::Parser>::try_parse_from(argv)
                        .unwrap_or_else(|e| panic!("{flags}: {e}"));
                    let back = a.explore.scenario.build(None).unwrap();
                    assert_eq!(back.params(), p, "{} {flags}", kind.name());
                    tried += 1;
                }
            }
        }
        assert!(tried > 500, "{tried}");
    }

    #[test]
    fn shards_are_k_of_n() {
        assert_eq!(parse_shard("0/1"), Ok((0, 1)));
        assert_eq!(parse_shard("3/4"), Ok((3, 4)));
        assert_eq!(parse_shard("0x1/0x2"), Ok((1, 2)));
        for bad in ["", "1", "4/4", "1/0", "-1/2", "a/b", "1/2/3", "/2"] {
            let e = parse_shard(bad).unwrap_err();
            assert!(e.contains("0 <= K < N"), "{bad}: {e}");
        }
    }

    #[test]
    fn schedules_must_be_well_formed() {
        let max = Config::default().max_steps;
        assert_eq!(parse_schedule("a2b", max).unwrap().len(), 3);
        for bad in [
            "",
            "  ",
            "a0",
            "2a",
            "a-1",
            "A1",
            "a1 b2",
            "é",
            "a99999999999999999999999",
        ] {
            assert!(parse_schedule(bad, max).is_err(), "{bad:?}");
        }
        assert!(parse_schedule("a20000", max).is_ok());
        assert!(parse_schedule("a20000b", max).is_err());
    }
}
