//! `vipt report`: every question of the seed thread answered in one run.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde_json::{json, Value};
use vipt_pte::{coincidences, Layout};

use crate::cost;
use crate::scenario::{Colour, Kind, Params, Scenario};
use crate::search::{explore, minimise, Config, Coverage, Mode, Report, Verdict};

/// The strategies the report runs: the five of the spec and the question-6
/// variant.
pub const STRATEGIES: [&str; 6] = [
    "legacy-2005",
    "patched-2005",
    "recheck",
    "tmpalias",
    "modern",
    "patched-ptl",
];

/// The racing scenarios of question 2.
pub const RACES: [Kind; 5] = [
    Kind::Reclaim,
    Kind::Cow,
    Kind::Munmap,
    Kind::Truncate,
    Kind::ZapRefault,
];

/// How much work the report does.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Preemption bound of the exhaustive cells.
    pub bound: u32,
    /// Executions per exhaustive cell.
    pub exhaustive: u64,
    /// Executions per sampled (random, PCT) measurement.
    pub samples: u64,
    /// PCT depth.
    pub pct_depth: u32,
    /// Executions per bound when minimising.
    pub minimise: u64,
    /// Seed of the sampled runs.
    pub seed: u64,
    /// Worker threads.
    pub threads: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            bound: 3,
            exhaustive: 50_000,
            samples: 20_000,
            pct_depth: 3,
            minimise: 5_000,
            seed: 2005,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// One scenario × strategy × parameters, explored exhaustively.
#[derive(Debug, Clone)]
pub struct Cell {
    /// Scenario name.
    pub scenario: &'static str,
    /// Strategy name.
    pub strategy: String,
    /// The parameters.
    pub params: Params,
    /// The search: both searches' counts summed, the coverage the stronger
    /// claim ([`Report::absorb`]).
    pub report: Report,
    /// What the unreduced search one bound lower covered (none at bound 0,
    /// where there is no such search).
    pub full: Option<Coverage>,
    /// What the search with sleep sets at the bound covered.
    pub reduced: Coverage,
    /// A failing schedule with the fewest preemptions found.
    pub schedule: Option<String>,
    /// Its preemptions.
    pub preemptions: Option<usize>,
}

impl Cell {
    /// "fail" when a search failed; "pass" when none did and both searches
    /// ran to their end, so that the unreduced one proves the bound below
    /// the cell's; otherwise "inconclusive" (a budget ran out, or at bound 0
    /// there is only the partial search).
    pub fn verdict(&self) -> &'static str {
        self.verdict_of().name()
    }

    fn verdict_of(&self) -> Verdict {
        if self.report.failing > 0 {
            Verdict::Fail
        } else if self.full.is_some_and(|c| c.is_proof())
            && matches!(self.reduced, Coverage::PartialWithinBound { .. })
        {
            Verdict::Pass
        } else {
            Verdict::Inconclusive
        }
    }

    /// What the cell covers, in words: "complete within bound 2; bound 3
    /// partial (sleep sets)", with "incomplete" for a search whose budget
    /// ran out.
    pub fn coverage(&self) -> String {
        let reduced = match self.reduced {
            Coverage::PartialWithinBound { bound } => format!("bound {bound} partial (sleep sets)"),
            Coverage::Incomplete { budget } => format!(
                "bound {} incomplete (sleep sets; budget ran out after {budget} executions)",
                self.bound()
            ),
            c => format!("bound {}: {c}", self.bound()),
        };
        match self.full {
            None => reduced,
            Some(c @ Coverage::CompleteWithinBound { .. }) => format!("{c}; {reduced}"),
            Some(Coverage::Incomplete { budget }) => format!(
                "incomplete within bound {} (budget ran out after {budget} executions); {reduced}",
                self.bound().saturating_sub(1)
            ),
            Some(c) => format!("{c}; {reduced}"),
        }
    }

    /// The bound of the reduced search.
    fn bound(&self) -> u32 {
        match self.report.mode {
            Mode::Exhaustive { bound: Some(b), .. } => b,
            _ => 0,
        }
    }

    /// `{"kind", "bound", "partial_bound", "text"}`: `kind` and `bound` the
    /// claim a pass rests on (`complete_within_bound` and the bound of the
    /// unreduced search; `partial_within_bound` at bound 0; `incomplete`
    /// when a budget ran out), `partial_bound` the bound of the search with
    /// sleep sets, `text` as [`Cell::coverage`].
    pub fn coverage_json(&self) -> Value {
        let incomplete = matches!(self.reduced, Coverage::Incomplete { .. })
            || matches!(self.full, Some(Coverage::Incomplete { .. }));
        let (kind, bound) = match (self.full, incomplete) {
            (_, true) => ("incomplete", None),
            (Some(c), false) => (c.kind(), c.bound()),
            (None, false) => (self.reduced.kind(), self.reduced.bound()),
        };
        json!({
            "kind": kind,
            "bound": bound,
            "partial_bound": self.bound(),
            "text": self.coverage(),
        })
    }

    /// The cell in a verdict table: "FAIL f/n", "pass n" for a cell that
    /// covers what the report's header says, or "no failure in n
    /// (incomplete)" / "(partial)".
    pub fn label(&self) -> String {
        match self.verdict_of() {
            Verdict::Fail => format!("FAIL {}/{}", self.report.failing, self.report.executions),
            Verdict::Pass => format!("pass {}", self.report.executions),
            Verdict::Inconclusive => format!(
                "no failure in {} ({})",
                self.report.executions,
                if self.full.is_none()
                    && matches!(self.reduced, Coverage::PartialWithinBound { .. })
                {
                    "partial"
                } else {
                    "incomplete"
                }
            ),
        }
    }

    /// The command that replays the failing schedule.
    pub fn replay(&self) -> Option<String> {
        self.schedule.as_ref().map(|s| {
            format!(
                "vipt replay --scenario {} --strategy {}{} {s}",
                self.scenario,
                self.strategy,
                param_flags(self.params, self.kind().defaults())
            )
        })
    }

    fn kind(&self) -> Kind {
        Kind::parse(self.scenario).expect("a built-in scenario")
    }

    /// The cell as JSON.
    pub fn json(&self) -> Value {
        let (lo, hi) = self.report.interval();
        json!({
            "scenario": self.scenario,
            "strategy": self.strategy,
            "params": self.params.to_string(),
            "verdict": self.verdict(),
            "explored": self.report.executions,
            "failing": self.report.failing,
            "rate": self.report.rate(),
            "interval": [lo, hi],
            "complete": self.report.complete,
            "coverage": self.coverage_json(),
            "mode": self.report.mode.to_string(),
            "schedule": self.schedule,
            "preemptions": self.preemptions,
            "replay": self.replay(),
            "failures": self.report.failure_kinds.keys().collect::<Vec<_>>(),
            "cost": self.report.counters.keys().map(|k| (k.to_string(), self.report.mean(k))).collect::<BTreeMap<_, _>>(),
        })
    }
}

/// Command-line flags for the parameters that differ from the defaults.
pub fn param_flags(p: Params, d: Params) -> String {
    let mut s = String::new();
    if p.kernel != d.kernel {
        s += &format!(" --kernel {}", p.kernel);
    }
    if p.vmas != d.vmas {
        s += &format!(" --vmas {}", p.vmas);
    }
    if p.lines != d.lines {
        s += &format!(" --lines {}", p.lines);
    }
    if p.colour != d.colour {
        s += &format!(" --colour {}", p.colour);
    }
    if p.page_flush != d.page_flush {
        s += &format!(" --page-flush {}", if p.page_flush { "on" } else { "off" });
    }
    if p.move_in != d.move_in {
        s += &format!(" --move-in {}", if p.move_in { "on" } else { "off" });
    }
    s
}

/// A question with its answer and table.
#[derive(Debug, Clone)]
pub struct Question {
    /// 1 to 8.
    pub id: u32,
    /// The question, short.
    pub title: String,
    /// The answer in a sentence or two, from the numbers.
    pub answer: String,
    /// The table: a header row, then rows.
    pub table: Vec<Vec<String>>,
}

impl Question {
    /// The question as JSON.
    pub fn json(&self) -> Value {
        json!({"id": self.id, "title": self.title, "answer": self.answer, "table": self.table})
    }

    /// The question as text.
    pub fn text(&self) -> String {
        let mut s = format!(
            "## Question {}: {}\n\n{}\n\n",
            self.id, self.title, self.answer
        );
        s += &table_text(&self.table);
        s
    }
}

/// A table as aligned text.
pub fn table_text(t: &[Vec<String>]) -> String {
    let cols = t.iter().map(Vec::len).max().unwrap_or(0);
    let width: Vec<usize> = (0..cols)
        .map(|c| {
            t.iter()
                .filter_map(|r| r.get(c))
                .map(|x| x.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut s = String::new();
    for (i, r) in t.iter().enumerate() {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(c, x)| format!("{x:<w$}", w = width[c]))
            .collect();
        s += line.join("  ").trim_end();
        s.push('\n');
        if i == 0 {
            s += &width
                .iter()
                .map(|w| "-".repeat(*w))
                .collect::<Vec<_>>()
                .join("  ");
            s.push('\n');
        }
    }
    s
}

/// The whole report.
#[derive(Debug, Clone)]
pub struct FullReport {
    /// The answers.
    pub questions: Vec<Question>,
    /// Every explored cell.
    pub cells: Vec<Cell>,
    /// The cost sweep of question 4.
    pub cost: Vec<cost::CostPoint>,
    /// The budget it ran with.
    pub budget: Budget,
}

impl FullReport {
    /// `{"questions": [...], "cells": [...]}`.
    pub fn json(&self) -> Value {
        json!({
            "questions": self.questions.iter().map(Question::json).collect::<Vec<_>>(),
            "cells": self.cells.iter().map(Cell::json).collect::<Vec<_>>(),
            "budget": {
                "bound": self.budget.bound, "exhaustive": self.budget.exhaustive,
                "samples": self.budget.samples, "pct_depth": self.budget.pct_depth, "seed": self.budget.seed,
            },
        })
    }

    /// Every question as text.
    pub fn text(&self) -> String {
        let mut s =
            String::from("# vipt report: the seed thread's questions, answered by the model\n\n");
        s += &format!(
            "Exhaustive cells: {}, at most {} executions per search. Sampled rates: {} executions per sampler (seed {}).\n\n",
            coverage_header(self.budget.bound),
            self.budget.exhaustive,
            self.budget.samples,
            self.budget.seed
        );
        let short: Vec<String> = self
            .cells
            .iter()
            .filter(|c| c.report.failing == 0 && c.verdict_of() != Verdict::Pass)
            .map(|c| format!("{} / {} ({})", c.scenario, c.strategy, report_params(c)))
            .collect();
        if !short.is_empty() {
            s += &format!(
                "Cells that found no failure but do not cover that ({}): {}.\n\n",
                if self.budget.bound == 0 {
                    "at bound 0 only the search with sleep sets runs"
                } else {
                    "a budget ran out"
                },
                short.join(", ")
            );
        }
        for q in &self.questions {
            s += &q.text();
            s.push('\n');
        }
        s += "## Every failing cell, with the command that replays its minimal schedule\n\n";
        let mut t = vec![[
            "scenario",
            "strategy",
            "params",
            "failing/explored",
            "first failure",
            "replay",
        ]
        .map(String::from)
        .to_vec()];
        for c in self.cells.iter().filter(|c| c.report.failing > 0) {
            t.push(vec![
                c.scenario.to_string(),
                c.strategy.clone(),
                report_params(c),
                format!("{}/{}", c.report.failing, c.report.executions),
                c.report
                    .failure_kinds
                    .keys()
                    .next()
                    .map(|k| k.lines().next().unwrap_or("").chars().take(60).collect())
                    .unwrap_or_default(),
                c.replay().unwrap_or_default(),
            ]);
        }
        s += &table_text(&t);
        s
    }

    /// The cell for a scenario, strategy and parameters.
    pub fn cell(&self, k: Kind, strategy: &str, p: Params) -> Option<&Cell> {
        self.cells
            .iter()
            .find(|c| c.scenario == k.name() && c.strategy == strategy && c.params == p)
    }
}

/// What every cell covers when its searches finish: "complete within bound
/// 2; bound 3 partial (sleep sets)".
fn coverage_header(bound: u32) -> String {
    if bound == 0 {
        "bound 0 partial (sleep sets)".into()
    } else {
        format!(
            "complete within bound {}; bound {bound} partial (sleep sets)",
            bound - 1
        )
    }
}

/// The cell's parameters that differ from its scenario's defaults.
fn report_params(c: &Cell) -> String {
    let f = param_flags(c.params, c.kind().defaults());
    if f.is_empty() {
        "defaults".into()
    } else {
        f.trim().to_string()
    }
}

/// patched-2005's failure rate over recheck's ("∞" when recheck never failed).
fn ratio_text(ratio: f64) -> String {
    if ratio.is_finite() {
        format!("{ratio:.2}×")
    } else {
        "∞ (recheck never failed)".into()
    }
}

fn pct(x: f64) -> String {
    format!("{:.2}%", 100.0 * x)
}

fn rate_text(r: &Report) -> String {
    let (lo, hi) = r.interval();
    format!(
        "{}/{} = {} [{}, {}]",
        r.failing,
        r.executions,
        pct(r.rate()),
        pct(lo),
        pct(hi)
    )
}

/// Explores one cell and minimises its failure.
///
/// Sleep sets combined with a preemption bound can miss a failure whose
/// only representatives within the bound were pruned (Coons, Musuvathi and
/// McKinley, OOPSLA 2013), so a cell is two searches: every schedule with at
/// most `bound − 1` preemptions without reduction (so a pass there is a
/// proof for that bound), and the reduced search at `bound`. The verdict is
/// "fail" if either fails; the counts are summed.
pub fn run_cell(k: Kind, strategy: &str, p: Params, b: &Budget) -> Result<Cell, String> {
    let sc = Scenario::new(k, strategy, p)?;
    let search = |bound: u32, reduction: bool| {
        let cfg = Config {
            mode: Mode::Exhaustive {
                bound: Some(bound),
                reduction,
            },
            budget: b.exhaustive,
            threads: 1,
            ..Config::default()
        };
        explore(&sc, &cfg, None)
    };
    let mut report = search(b.bound, true)?;
    let reduced = report.coverage;
    let mut full_coverage = None;
    if b.bound > 0 {
        let full = search(b.bound - 1, false)?;
        full_coverage = Some(full.coverage);
        report.absorb(full);
    }
    let max_steps = Config::default().max_steps;
    let (schedule, preemptions) = match &report.first {
        Some(f) => match minimise(&sc, &f.schedule, b.minimise, max_steps)? {
            Some(m) => (Some(m.schedule.to_string()), Some(m.preemptions)),
            None => (Some(f.schedule.to_string()), Some(f.preemptions)),
        },
        None => (None, None),
    };
    Ok(Cell {
        scenario: k.name(),
        strategy: strategy.to_string(),
        params: p,
        report,
        full: full_coverage,
        reduced,
        schedule,
        preemptions,
    })
}

/// The cells the report explores.
pub fn cell_plan() -> Vec<(Kind, &'static str, Params)> {
    let mut v = Vec::new();
    for k in Kind::ALL {
        for s in STRATEGIES {
            v.push((k, s, k.defaults()));
        }
    }
    // 3.x: no _PAGE_FLUSH (questions 2, 3, 7, 8).
    for k in RACES.into_iter().chain([Kind::MoveIn, Kind::PteLock]) {
        for s in STRATEGIES {
            v.push((
                k,
                s,
                Params {
                    kernel: vipt_mm::Kernel::V3x,
                    page_flush: false,
                    ..k.defaults()
                },
            ));
        }
    }
    // Colourings (question 5).
    for c in [Colour::MapFixed, Colour::PgoffAware] {
        for s in STRATEGIES {
            v.push((
                Kind::Inequivalent,
                s,
                Params {
                    colour: c,
                    ..Kind::Inequivalent.defaults()
                },
            ));
        }
    }
    v
}

/// Runs the report. `progress` hears (what, done, total).
pub fn run(
    b: &Budget,
    progress: &(dyn Fn(&str, usize, usize) + Sync),
) -> Result<FullReport, String> {
    let plan = cell_plan();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let cells: Mutex<Vec<Option<Cell>>> = Mutex::new(vec![None; plan.len()]);
    let err: Mutex<Option<String>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..b.threads.max(1) {
            s.spawn(|| {
                crate::search::as_worker(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(k, st, p)) = plan.get(i) else {
                        break;
                    };
                    match run_cell(k, st, p, b) {
                        Ok(c) => cells.lock().expect("cells")[i] = Some(c),
                        Err(e) => {
                            *err.lock().expect("err") = Some(e);
                            break;
                        }
                    }
                    let d = done.fetch_add(1, Ordering::Relaxed) + 1;
                    progress("exploring scenario × strategy cells", d, plan.len());
                })
            });
        }
    });
    if let Some(e) = err.into_inner().expect("err") {
        return Err(e);
    }
    let cells: Vec<Cell> = cells
        .into_inner()
        .expect("cells")
        .into_iter()
        .flatten()
        .collect();
    let cost_pts = cost::sweep(
        &STRATEGIES[..5],
        &cost::VMAS,
        &cost::PRESENT,
        &cost::COLOURS,
    )?;
    progress("cost sweep", 1, 1);
    let mut r = FullReport {
        questions: Vec::new(),
        cells,
        cost: cost_pts,
        budget: *b,
    };
    let q3 = question3(&r, b, progress)?;
    r.questions = vec![
        question1(&r)?,
        question2(&r),
        q3,
        question4(&r),
        question5(&r),
        question6(&r),
        question7(&r),
        question8(&r),
    ];
    Ok(r)
}

fn question1(r: &FullReport) -> Result<Question, String> {
    let mut table = vec![vec![
        "layout".into(),
        "pfn".into(),
        "swap ptes accepted".into(),
        "file ptes accepted".into(),
        "accepted after the patch".into(),
    ]];
    for (layout, name) in [(Layout::Bits32, "32-bit"), (Layout::Bits64, "64-bit")] {
        let c = coincidences(layout, 0x12345, 0).map_err(|e| e.to_string())?;
        table.push(vec![
            name.into(),
            "0x12345".into(),
            c.swap.to_string(),
            c.file.to_string(),
            c.patched_2005.to_string(),
        ]);
    }
    let p = Kind::SwapPte.defaults();
    let row = |s: &str| -> Vec<String> {
        r.cell(Kind::SwapPte, s, p).map_or(vec![], |c| {
            vec![
                format!("swap-pte scenario, {s}"),
                "".into(),
                c.verdict().into(),
                rate_text(&c.report),
                c.replay().unwrap_or_default(),
            ]
        })
    };
    table.push(vec![
        "scenario".into(),
        "".into(),
        "verdict".into(),
        "failing/explored".into(),
        "replay".into(),
    ]);
    table.push(row("legacy-2005"));
    table.push(row("patched-2005"));
    let legacy = r.cell(Kind::SwapPte, "legacy-2005", p).map(|c| c.verdict()) == Some("fail");
    let patched = r
        .cell(Kind::SwapPte, "patched-2005", p)
        .map(|c| c.verdict());
    Ok(Question {
        id: 1,
        title: "coincidental swap/file ptes".into(),
        answer: format!(
            "The pre-patch test takes the counted swap and file entries for a translation of the pfn. In the swap-pte scenario (A's COW copy swapped to slot 16 × pfn), legacy-2005 {} and patched-2005 {}.",
            if legacy { "flushes through the swap pte, the flush is nullified, and B reads stale data" } else { "does NOT fail (unexpected)" },
            match patched {
                Some("pass") => "skips it and flushes B: no stale read",
                Some("fail") => "fails (unexpected)",
                _ => "found no failure, but its search did not cover the bound",
            }
        ),
        table,
    })
}

/// A header row: `first`, then the strategies.
fn header(first: &str, strategies: &[&str]) -> Vec<String> {
    std::iter::once(first)
        .chain(strategies.iter().copied())
        .map(String::from)
        .collect()
}

fn verdict_row(r: &FullReport, k: Kind, p: Params, strategies: &[&str]) -> Vec<String> {
    strategies
        .iter()
        .map(|s| r.cell(k, s, p).map_or("-".into(), Cell::label))
        .collect()
}

fn question2(r: &FullReport) -> Question {
    let mut table = vec![vec![
        "racer".into(),
        "_PAGE_FLUSH".into(),
        "patched-2005".into(),
        "\"the racer already did the flush\"".into(),
        "minimal failing schedule (preemptions)".into(),
    ]];
    let mut false_for = Vec::new();
    for k in RACES {
        for pf in [true, false] {
            let p = Params {
                kernel: if pf {
                    vipt_mm::Kernel::V2_6_14
                } else {
                    vipt_mm::Kernel::V3x
                },
                page_flush: pf,
                ..k.defaults()
            };
            let Some(c) = r.cell(k, "patched-2005", p) else {
                continue;
            };
            let holds = c.report.failing == 0;
            if !holds {
                false_for.push(format!(
                    "{} ({})",
                    k.name(),
                    if pf { "2.6.14" } else { "3.x" }
                ));
            }
            table.push(vec![
                k.racer().into(),
                if pf { "on (2.6.14)" } else { "off (3.x)" }.into(),
                verdict_row(r, k, p, &["patched-2005"])[0].clone(),
                if holds { "true".into() } else { "FALSE".into() },
                c.schedule.as_ref().map_or(String::new(), |s| {
                    format!("{s} ({})", c.preemptions.unwrap_or(0))
                }),
            ]);
        }
    }
    let mut answer = if false_for.is_empty() {
        "patched-2005 left no stale line for any racer within the bound.".to_string()
    } else {
        format!(
            "The theory is false for: {}. Elsewhere no schedule within the bound leaves a stale line. With _PAGE_FLUSH the racer's cleared pte still lets the flush through, so the theory holds in 2.6.14 only because of the flush-only pte.",
            false_for.join(", ")
        )
    };
    answer += " Replay any schedule with the command in the cells (JSON) or `vipt replay`.";
    Question {
        id: 2,
        title: "races: is \"the racer already did the flush\" true?".into(),
        answer,
        table,
    }
}

fn question3(
    r: &FullReport,
    b: &Budget,
    progress: &(dyn Fn(&str, usize, usize) + Sync),
) -> Result<Question, String> {
    let mut table = vec![vec![
        "scenario".into(),
        "sampler".into(),
        "patched-2005 stale-read rate [95% CI]".into(),
        "recheck".into(),
        "patched / recheck".into(),
    ]];
    let mut ratios = Vec::new();
    let samplers = [Mode::Random, Mode::Pct { depth: b.pct_depth }];
    let total = 2 * samplers.len();
    let mut n = 0;
    for k in [Kind::ZapRefault, Kind::Reclaim] {
        let p = Params {
            kernel: vipt_mm::Kernel::V3x,
            page_flush: false,
            ..k.defaults()
        };
        for mode in samplers {
            let cfg = Config {
                mode,
                budget: b.samples,
                seed: b.seed,
                threads: b.threads,
                ..Config::default()
            };
            let pr = explore(&Scenario::new(k, "patched-2005", p)?, &cfg, None)?;
            let rr = explore(&Scenario::new(k, "recheck", p)?, &cfg, None)?;
            let ratio = if rr.failing == 0 {
                f64::INFINITY
            } else {
                pr.rate() / rr.rate()
            };
            ratios.push((k, mode, ratio));
            table.push(vec![
                format!("{} (3.x)", k.name()),
                mode.to_string(),
                rate_text(&pr),
                rate_text(&rr),
                ratio_text(ratio),
            ]);
            n += 1;
            progress("sampling patched-2005 vs recheck", n, total);
        }
    }
    let zr = r.cell(
        Kind::ZapRefault,
        "recheck",
        Params {
            kernel: vipt_mm::Kernel::V3x,
            page_flush: false,
            ..Kind::ZapRefault.defaults()
        },
    );
    let enumerated = zr.map_or(String::new(), |c| {
        format!(
            " Exhaustively ({}), recheck fails in {} of {} zap-refault schedules; the minimal one is {}.",
            c.coverage(),
            c.report.failing,
            c.report.executions,
            c.schedule.clone().unwrap_or_else(|| "none".into())
        )
    });
    let lows: Vec<String> = ratios
        .iter()
        .map(|(k, mode, ratio)| format!("{} {mode}: {}", k.name(), ratio_text(*ratio)))
        .collect();
    let best = ratios
        .iter()
        .map(|x| x.2)
        .filter(|x| x.is_finite())
        .fold(0.0f64, f64::max);
    let never = ratios.iter().all(|x| !x.2.is_finite());
    Ok(Question {
        id: 3,
        title: "recheck: \"several orders of magnitude\"?".into(),
        answer: if never {
            format!(
                "On the same sampled schedules (same seeds) recheck never failed where patched-2005 did ({}); the right-before, wrong-during, right-after window needs the pte back before the re-read, and in these racers the racer's own flush of that colour then comes after the kernel alias was written back, so the line it leaves is fresh.{enumerated}",
                lows.join("; ")
            )
        } else {
            format!(
                "On the same sampled schedules (same seeds) patched-2005 fails up to {best:.1}× as often as recheck ({}).{enumerated}",
                lows.join("; ")
            )
        },
        table,
    })
}

fn question4(r: &FullReport) -> Question {
    let table = cost::table(
        r.cost
            .iter()
            .filter(|p| [1, 4, 32].contains(&p.vmas) && [0.25, 1.0].contains(&p.present)),
    );
    let get = |s: &str, n: usize, f: f64, k: usize| {
        r.cost
            .iter()
            .find(|p| p.strategy == s && p.vmas == n && p.present == f && p.colours == k)
    };
    let answer = match (
        get("patched-2005", 32, 0.25, 1),
        get("tmpalias", 32, 0.25, 1),
        get("modern", 32, 0.25, 1),
        get("patched-2005", 32, 0.25, 2),
        get("tmpalias", 32, 0.25, 2),
    ) {
        (Some(p), Some(t), Some(m), Some(p2), Some(t2)) => format!(
            "With 32 congruent vmas of which a quarter have a present pte, patched-2005 issues {} fdc and reads {} tree node(s) with {} translation checks ({} steps under tree_lock); tmpalias issues {} fdc with {} TLB insert(s) and reads no pte; modern {} fdc and {} TLB purges. The walk is cheap (identical intervals share one prio-tree node); the fdc loop is the cost, paid once per colour by tmpalias and modern and once in all by the break-after-one strategies. With two colours tmpalias issues {} fdc to patched-2005's {}: the extra colour is the price of being right (question 5). `vipt cost` prints the whole sweep and plots it.",
            p.fdc_issued, p.tree_nodes, p.translation_checks, p.lock_hold_steps, t.fdc_issued, t.tlb_inserts, m.fdc_issued, m.tlb_purges, t2.fdc_issued, p2.fdc_issued
        ),
        _ => "sweep incomplete".into(),
    };
    Question {
        id: 4,
        title: "tmpalias cost".into(),
        answer,
        table,
    }
}

fn question5(r: &FullReport) -> Question {
    let strategies = &STRATEGIES[..5];
    let mut table = vec![header("colouring", strategies)];
    for c in [Colour::Linux2614, Colour::MapFixed, Colour::PgoffAware] {
        let p = Params {
            colour: c,
            ..Kind::Inequivalent.defaults()
        };
        table.push(
            std::iter::once(format!("{c}"))
                .chain(verdict_row(r, Kind::Inequivalent, p, strategies))
                .collect(),
        );
    }
    let reports = r
        .cell(Kind::Inequivalent, "modern", Kind::Inequivalent.defaults())
        .map_or(0.0, |c| c.report.mean("alias_reports"));
    Question {
        id: 5,
        title: "congruence".into(),
        answer: format!(
            "With B's page at pgoff 1 coloured as pgoff 0 (2.6.14) or placed by MAP_FIXED one page off, every break-after-one-flush strategy leaves B's line stale; tmpalias and modern flush every colour and do not. modern reports INEQUIVALENT ALIASES ({reports:.1} reports per execution). The pgoff-aware colouring makes the mappings congruent and every strategy passes."
        ),
        table,
    }
}

fn question6(r: &FullReport) -> Question {
    let mut table = vec![vec![
        "_PAGE_FLUSH".into(),
        "patched-ptl verdict".into(),
        "inversions".into(),
        "deadlocks".into(),
        "minimal schedule".into(),
    ]];
    let mut dl = 0;
    for pf in [true, false] {
        let p = Params {
            kernel: if pf {
                vipt_mm::Kernel::V2_6_14
            } else {
                vipt_mm::Kernel::V3x
            },
            page_flush: pf,
            ..Kind::PteLock.defaults()
        };
        if let Some(c) = r.cell(Kind::PteLock, "patched-ptl", p) {
            let count = |pre: &str| {
                c.report
                    .failure_kinds
                    .iter()
                    .filter(|(k, _)| k.starts_with(pre))
                    .map(|(_, v)| v)
                    .sum::<u64>()
            };
            dl += count("deadlock");
            table.push(vec![
                if pf { "on" } else { "off" }.into(),
                format!(
                    "{} {}/{}",
                    c.verdict(),
                    c.report.failing,
                    c.report.executions
                ),
                count("lock order").to_string(),
                count("deadlock").to_string(),
                c.schedule.clone().unwrap_or_default(),
            ]);
        }
    }
    let inv = r
        .cell(Kind::PteLock, "patched-ptl", Kind::PteLock.defaults())
        .and_then(|c| {
            c.report
                .failure_kinds
                .keys()
                .find(|k| k.starts_with("lock order"))
                .cloned()
        })
        .unwrap_or_default();
    Question {
        id: 6,
        title: "the pte lock inside translation_exists".into(),
        answer: format!(
            "The lock-order checker reports the inversion in every execution that takes the pte lock under tree_lock, without needing the deadlock: {inv}. Executions that actually deadlock within the bound: {dl}."
        ),
        table,
    }
}

fn question7(r: &FullReport) -> Question {
    let strategies = &STRATEGIES[..5];
    let mut table = vec![header("racer, _PAGE_FLUSH", strategies)];
    let mut opened = Vec::new();
    for k in RACES {
        let mut on = Vec::new();
        for pf in [true, false] {
            let p = Params {
                kernel: if pf {
                    vipt_mm::Kernel::V2_6_14
                } else {
                    vipt_mm::Kernel::V3x
                },
                page_flush: pf,
                ..k.defaults()
            };
            let row = verdict_row(r, k, p, strategies);
            if pf {
                on = row.clone();
            } else if row.iter().any(|x| x.starts_with("FAIL"))
                && on.iter().all(|x| x.starts_with("pass"))
            {
                opened.push(k.name());
            }
            table.push(
                std::iter::once(format!("{} {}", k.name(), if pf { "on" } else { "off" }))
                    .chain(row)
                    .collect(),
            );
        }
    }
    Question {
        id: 7,
        title: "_PAGE_FLUSH".into(),
        answer: format!(
            "Races that the flush-only pte closes and its removal (3.x) opens for the break-after-one strategies: {}. tmpalias and modern do not depend on the user pte and pass either way.",
            if opened.is_empty() { "none".into() } else { opened.join(", ") }
        ),
        table,
    }
}

fn question8(r: &FullReport) -> Question {
    let strategies = &STRATEGIES[..5];
    let mut table = vec![header("move-in, _PAGE_FLUSH", strategies)];
    let mut failing = Vec::new();
    for pf in [true, false] {
        let p = Params {
            kernel: if pf {
                vipt_mm::Kernel::V2_6_14
            } else {
                vipt_mm::Kernel::V3x
            },
            page_flush: pf,
            ..Kind::MoveIn.defaults()
        };
        let row = verdict_row(r, Kind::MoveIn, p, strategies);
        for (s, v) in strategies.iter().zip(&row) {
            if v.starts_with("FAIL") {
                failing.push(format!("{s} ({})", if pf { "2.6.14" } else { "3.x" }));
            }
        }
        table.push(
            std::iter::once(format!("speculative, {}", if pf { "on" } else { "off" }))
                .chain(row)
                .collect(),
        );
    }
    Question {
        id: 8,
        title: "speculative move-in".into(),
        answer: if failing.is_empty() {
            "With lines moved in speculatively through A's TLB entry at any step, no strategy leaves stale data in this scenario: the kernel alias is written back before any user-colour flush, so a line moved in after it is fresh, and one moved in before it is removed by the user-colour flush. modern's TLB purge is not needed for this race here; it removes A's entry early and the search is smaller.".into()
        } else {
            format!("Stale data with speculative move-in: {}. modern (TLB purge first) closes it where it passes.", failing.join(", "))
        },
        table,
    }
}
