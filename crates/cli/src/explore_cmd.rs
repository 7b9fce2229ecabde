//! `vipt explore`, `replay`, `cost`, `stress` and `report`.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Mutex;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use vipt_explore::report::{self, Budget};
use vipt_explore::scenario::{Colour, Kind, Params, Scenario, ROLES};
use vipt_explore::{
    cost, engine::Ending, explore, minimise, run_one, timeline, Config, Mode, Replay, Schedule,
};
use vipt_mm::strategy::by_name;
use vipt_mm::stress;

use crate::UsageError;

/// A scenario with its parameters, as on the command line.
#[derive(Debug, Args)]
pub struct ScenarioArgs {
    /// The scenario: swap-pte, reclaim, cow, munmap, truncate, zap-refault,
    /// inequivalent, pte-lock, move-in.
    #[arg(long)]
    scenario: String,
    /// The flush_dcache_page strategy: legacy-2005, patched-2005, recheck,
    /// tmpalias, modern, patched-ptl.
    #[arg(long)]
    strategy: String,
    /// Vmas mapping the file (2 to 8).
    #[arg(long)]
    vmas: Option<usize>,
    /// Cache lines per page (a power of two, 1 to 512).
    #[arg(long)]
    lines: Option<u64>,
    /// B's placement: 2.6.14, pgoff-aware, map-fixed.
    #[arg(long)]
    colour: Option<String>,
    /// The 2.6.14 _PAGE_FLUSH semantics: on or off (3.x).
    #[arg(long)]
    page_flush: Option<String>,
    /// Speculative move-in: on or off.
    #[arg(long)]
    move_in: Option<String>,
}

fn on_off(s: &str, what: &str) -> Result<bool, UsageError> {
    match s {
        "on" | "true" | "1" => Ok(true),
        "off" | "false" | "0" => Ok(false),
        _ => Err(UsageError(format!("--{what} takes on or off, not {s:?}"))),
    }
}

impl ScenarioArgs {
    fn build(&self) -> Result<Scenario, UsageError> {
        let kind = Kind::parse(&self.scenario)?;
        let d = kind.defaults();
        let p = Params {
            vmas: self.vmas.unwrap_or(d.vmas),
            lines: self.lines.unwrap_or(d.lines),
            colour: self
                .colour
                .as_deref()
                .map(Colour::parse)
                .transpose()?
                .unwrap_or(d.colour),
            page_flush: self
                .page_flush
                .as_deref()
                .map(|s| on_off(s, "page-flush"))
                .transpose()?
                .unwrap_or(d.page_flush),
            move_in: self
                .move_in
                .as_deref()
                .map(|s| on_off(s, "move-in"))
                .transpose()?
                .unwrap_or(d.move_in),
        };
        let s = by_name(&self.strategy).ok_or_else(|| {
            UsageError(format!(
                "unknown strategy {:?}; one of {}",
                self.strategy,
                report::STRATEGIES.join(", ")
            ))
        })?;
        Ok(Scenario::with_strategy(kind, s, p)?)
    }
}

/// Arguments of `vipt explore`.
#[derive(Debug, Args)]
pub struct ExploreArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// exhaustive, random or pct.
    #[arg(long, default_value = "exhaustive")]
    mode: String,
    /// Executions at most.
    #[arg(long, default_value_t = 50_000)]
    budget: u64,
    /// Seed for random and PCT.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Preemption bound of the exhaustive mode.
    #[arg(long, default_value_t = 3)]
    bound: u32,
    /// Turn the sleep-set reduction off.
    #[arg(long)]
    no_reduction: bool,
    /// PCT depth.
    #[arg(long, default_value_t = 3)]
    depth: u32,
    /// Write the minimised failing schedule's swim-lane picture here.
    #[arg(long)]
    svg: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Arguments of `vipt replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// The schedule, e.g. a6b6c2a3.
    schedule: String,
    /// Write the swim-lane picture here.
    #[arg(long)]
    svg: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Arguments of `vipt cost`.
#[derive(Debug, Args)]
pub struct CostArgs {
    /// Write the plot (fdc issued against vmas, a quarter present, two
    /// colours) here.
    #[arg(long)]
    svg: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Arguments of `vipt stress`.
#[derive(Debug, Args)]
pub struct StressArgs {
    /// The strategy.
    #[arg(long, default_value = "patched-2005")]
    strategy: String,
    /// Rounds per thread.
    #[arg(long, default_value_t = 500)]
    rounds: u64,
    /// _PAGE_FLUSH semantics: on or off.
    #[arg(long, default_value = "on")]
    page_flush: String,
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
    /// Also write report.txt, report.json, cost.svg and one SVG timeline per
    /// failing cell here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Preemption bound of the exhaustive cells.
    #[arg(long, default_value_t = Budget::default().bound)]
    bound: u32,
    /// Executions per exhaustive cell.
    #[arg(long, default_value_t = Budget::default().exhaustive)]
    budget: u64,
    /// Executions per sampler in question 3.
    #[arg(long, default_value_t = Budget::default().samples)]
    samples: u64,
    /// Seed of the sampled runs.
    #[arg(long, default_value_t = Budget::default().seed)]
    seed: u64,
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
            bound: Some(a.bound),
            reduction: !a.no_reduction,
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
                "unknown mode {m:?}; exhaustive, random or pct"
            )))
        }
    })
}

fn replay_cmd(sc: &Scenario, schedule: &str) -> String {
    format!(
        "vipt replay --scenario {} --strategy {}{} {schedule}",
        sc.kind.name(),
        sc.strategy_name,
        report::param_flags(sc.params, sc.kind.defaults())
    )
}

/// `vipt explore`.
pub fn run_explore(a: ExploreArgs) -> Result<String, UsageError> {
    let sc = a.scenario.build()?;
    let mode = parse_mode(&a)?;
    if a.budget == 0 {
        return Err(UsageError("--budget must be at least 1".into()));
    }
    let cfg = Config {
        mode,
        budget: a.budget,
        seed: a.seed,
        ..Config::default()
    };
    let pb = bar(a.budget, "exploring");
    let pbm = Mutex::new(pb.clone());
    let progress = move |d: u64, _: u64| {
        if let Ok(p) = pbm.lock() {
            p.set_position(d);
        }
    };
    let r = explore(&sc, &cfg, Some(&progress))?;
    pb.finish_and_clear();
    let min = match &r.first {
        Some(f) => minimise(&sc, &f.schedule, 5_000, cfg.max_steps)?,
        None => None,
    };
    let (lo, hi) = r.interval();
    // The minimised failure's timeline.
    let steps = match &min {
        Some(m) => Some(std::mem::take(
            &mut run_one(&sc, &mut Replay::new(m.schedule.clone()), cfg.max_steps)?
                .0
                .steps,
        )),
        None => None,
    };
    if let (Some(path), Some(steps)) = (&a.svg, &steps) {
        let title = format!("{} / {} / {}", sc.kind.name(), sc.strategy_name, sc.params);
        std::fs::write(path, timeline::svg(steps, 3, &ROLES, &title))
            .map_err(|e| UsageError(format!("{}: {e}", path.display())))?;
    }
    if a.json {
        let v = json!({
            "scenario": sc.kind.name(), "strategy": sc.strategy_name, "params": sc.params.to_string(),
            "mode": r.mode.to_string(), "seed": r.seed,
            "verdict": if r.failing > 0 { "fail" } else { "pass" },
            "explored": r.executions, "pruned": r.pruned, "failing": r.failing,
            "distinct_failing": r.distinct_failing, "rate": r.rate(), "interval": [lo, hi],
            "complete": r.complete,
            "first": r.first.as_ref().map(|f| f.schedule.to_string()),
            "schedule": min.as_ref().map(|m| m.schedule.to_string()),
            "preemptions": min.as_ref().map(|m| m.preemptions),
            "failures": r.failure_kinds,
            "cost": r.counters.keys().map(|k| (k.to_string(), r.mean(k))).collect::<std::collections::BTreeMap<_, _>>(),
        });
        return Ok(format!("{v:#}\n"));
    }
    let mut s = String::new();
    let _ = writeln!(
        s,
        "scenario {} ({}), strategy {}",
        sc.kind.name(),
        sc.params,
        sc.strategy_name
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
        "executions: {} ({} pruned as redundant){}",
        r.executions,
        r.pruned,
        if r.complete {
            ", complete within the bound"
        } else {
            ""
        }
    );
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
            "minimised: {} ({} preemptions)",
            m.schedule, m.preemptions
        );
        let _ = writeln!(s, "replay: {}", replay_cmd(&sc, &m.schedule.to_string()));
    }
    if let Some(steps) = &steps {
        let _ = writeln!(s, "\ntimeline of the minimised schedule:");
        s += &timeline::text(steps, 3, &ROLES);
        s.push('\n');
    }
    let _ = writeln!(s, "mean cost per execution:");
    for k in r.counters.keys() {
        let _ = writeln!(s, "  {k:24} {:.1}", r.mean(k));
    }
    Ok(s)
}

/// `vipt replay`.
pub fn run_replay(a: ReplayArgs) -> Result<String, UsageError> {
    let sc = a.scenario.build()?;
    let sched: Schedule = a.schedule.parse()?;
    let mut rp = Replay::new(sched.clone());
    let (run, out) = run_one(&sc, &mut rp, Config::default().max_steps)?;
    if let Some(step) = rp.diverged {
        return Err(UsageError(format!(
            "the schedule names a CPU that cannot run at step {step} ({} in the schedule); it was made for another scenario or strategy",
            sched.0.get(step).map_or('?', |c| (b'a' + c) as char)
        )));
    }
    let out = out.ok_or_else(|| UsageError("the replay was abandoned".into()))?;
    let title = format!(
        "{} / {} / {}: {}",
        sc.kind.name(),
        sc.strategy_name,
        sc.params,
        Schedule::of_run(&run)
    );
    if let Some(path) = &a.svg {
        std::fs::write(path, timeline::svg(&run.steps, 3, &ROLES, &title))
            .map_err(|e| UsageError(format!("{}: {e}", path.display())))?;
    }
    let verdict = if out.failed() { "fail" } else { "pass" };
    if a.json {
        let v = json!({
            "scenario": sc.kind.name(), "strategy": sc.strategy_name, "schedule": Schedule::of_run(&run).to_string(),
            "verdict": verdict, "failures": out.failures, "observed": out.observed, "steps": run.steps.len(),
            "preemptions": run.preemptions(), "ending": format!("{:?}", run.ending),
            "timeline": timeline::segments(&run.steps).iter().map(|g| json!({"cpu": g.cpu, "first": g.first, "last": g.last, "function": g.what, "ops": g.ops})).collect::<Vec<_>>(),
        });
        return Ok(format!("{v:#}\n"));
    }
    let mut s = format!("{title}\n\n");
    s += &timeline::text(&run.steps, 3, &ROLES);
    let _ = writeln!(
        s,
        "\n{} steps, {} preemptions, ending {:?}",
        run.steps.len(),
        run.preemptions(),
        run.ending == Ending::Finished
    );
    let _ = writeln!(s, "verdict: {verdict}");
    for f in &out.failures {
        let _ = writeln!(s, "  {f}");
    }
    let _ = writeln!(s, "observed: {}", out.observed);
    Ok(s)
}

/// `vipt cost`.
pub fn run_cost(a: CostArgs) -> Result<String, UsageError> {
    let pts = cost::sweep(
        &report::STRATEGIES[..5],
        &cost::VMAS,
        &cost::PRESENT,
        &cost::COLOURS,
    )?;
    if let Some(p) = &a.svg {
        std::fs::write(p, cost::plot(&pts, 0.25, 2))
            .map_err(|e| UsageError(format!("{}: {e}", p.display())))?;
    }
    if a.json {
        let v: Vec<_> = pts
            .iter()
            .map(|p| json!({"strategy": p.strategy, "vmas": p.vmas, "colours": p.colours, "present": p.present, "fdc_issued": p.fdc_issued,
                "fdc_nullified": p.fdc_nullified, "tlb_inserts": p.tlb_inserts, "tlb_purges": p.tlb_purges,
                "tree_nodes": p.tree_nodes, "translation_checks": p.translation_checks, "lock_hold_steps": p.lock_hold_steps}))
            .collect();
        return Ok(format!("{:#}\n", json!({ "points": v })));
    }
    let t = cost::table(&pts);
    Ok(format!(
        "flush_dcache_page cost of one write(): 1 MiB 4-way cache, 32-byte lines (128 fdc per page flush)\n\n{}",
        report::table_text(&t)
    ))
}

/// `vipt stress`.
pub fn run_stress(a: StressArgs) -> Result<String, UsageError> {
    let s = by_name(&a.strategy)
        .ok_or_else(|| UsageError(format!("unknown strategy {:?}", a.strategy)))?;
    let r = stress::stress(s, a.rounds, on_off(&a.page_flush, "page-flush")?)?;
    if a.json {
        let v = json!({"strategy": r.strategy, "rounds": r.rounds, "seconds": r.elapsed.as_secs_f64(), "calls": r.calls,
            "stale_reads": r.stale_reads, "bugs": r.bugs, "inversions": r.inversions,
            "invariants": r.invariants.as_ref().err(), "ok": r.ok()});
        return Ok(format!("{v:#}\n"));
    }
    Ok(format!(
        "native stress, {} threads on one world, strategy {}, {} rounds each\n{} kernel path calls in {:.2?}\nstale reads after a completed flush: {}\nmodel bugs: {}\nlock-order inversions: {}\ninvariants: {}\n{}\n",
        5,
        r.strategy,
        r.rounds,
        r.calls,
        r.elapsed,
        r.stale_reads,
        r.bugs.len(),
        r.inversions.len(),
        match &r.invariants { Ok(()) => "hold".to_string(), Err(e) => format!("BROKEN: {e}") },
        if r.ok() { "ok" } else { "FAILED" }
    ))
}

/// `vipt report`.
pub fn run_report(a: ReportArgs) -> Result<String, UsageError> {
    let b = Budget {
        bound: a.bound,
        exhaustive: a.budget,
        samples: a.samples,
        seed: a.seed,
        ..Budget::default()
    };
    if b.exhaustive == 0 || b.samples == 0 || b.bound > 8 {
        return Err(UsageError(
            "--budget and --samples must be at least 1, --bound at most 8".into(),
        ));
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
    if let Some(dir) = &a.out {
        let err = |e: std::io::Error| UsageError(format!("{}: {e}", dir.display()));
        std::fs::create_dir_all(dir).map_err(err)?;
        std::fs::write(dir.join("report.txt"), r.text()).map_err(err)?;
        std::fs::write(dir.join("report.json"), format!("{:#}\n", r.json())).map_err(err)?;
        std::fs::write(dir.join("cost.svg"), cost::plot(&r.cost, 0.25, 2)).map_err(err)?;
        for c in r.cells.iter().filter(|c| c.schedule.is_some()) {
            let sc = Scenario::new(Kind::parse(c.scenario)?, &c.strategy, c.params)?;
            let sched: Schedule = c.schedule.as_deref().unwrap_or_default().parse()?;
            let (run, _) = run_one(&sc, &mut Replay::new(sched), Config::default().max_steps)?;
            let name = format!(
                "{}-{}{}.svg",
                c.scenario,
                c.strategy,
                report::param_flags(c.params, sc.kind.defaults())
                    .replace(" --", "-")
                    .replace(' ', "-")
            );
            let title = format!("{} / {} / {}", c.scenario, c.strategy, c.params);
            std::fs::write(dir.join(name), timeline::svg(&run.steps, 3, &ROLES, &title))
                .map_err(err)?;
        }
    }
    if a.json {
        return Ok(format!("{:#}\n", r.json()));
    }
    Ok(r.text())
}
