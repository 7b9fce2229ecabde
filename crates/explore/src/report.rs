//! `vipt report`: every question of the seed thread answered in one run.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde_json::{json, Value};
use vipt_mm::Kernel;
use vipt_pte::{coincidences, Layout};

use crate::cost;
use crate::scenario::{Colour, Kind, Params, Scenario};
use crate::search::{explore, minimal, Config, Coverage, Mode, Report, Verdict};

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

/// The scenarios the report explores with every strategy on every kernel
/// profile but those of [`OWN_ONLY`]: the races of question 2, pte-lock
/// (question 6) and move-in (question 8). The others (swap-pte,
/// inequivalent) run every strategy on 2.6.14 and, on the later profiles,
/// the kernel's own `flush_dcache_page`.
pub const PROFILED: [Kind; 7] = [
    Kind::Reclaim,
    Kind::Cow,
    Kind::Munmap,
    Kind::Truncate,
    Kind::ZapRefault,
    Kind::PteLock,
    Kind::MoveIn,
];

/// Scenario `k`'s defaults on `kernel`, with that kernel's own `_PAGE_FLUSH`
/// handling (never a mixed model). On 2.6.14 these are `k.defaults()`.
pub fn on_kernel(k: Kind, kernel: Kernel) -> Params {
    Params {
        kernel,
        page_flush: kernel.flush_only_ptes(),
        ..k.defaults()
    }
}

/// The window scenarios of question 8 with A's sibling thread loading the
/// page instead of the move-in agent (no speculation); `None` for the
/// others (minifail has neither, fork-writer has its sibling by default).
pub fn with_sibling(k: Kind, kernel: Kernel) -> Option<Params> {
    matches!(k, Kind::UnmapWindow | Kind::UnmapReuse | Kind::ReclaimReuse).then(|| Params {
        move_in: false,
        move_ins: 0,
        sibling: true,
        ..on_kernel(k, kernel)
    })
}

/// The profile of question 4's cost sweep.
pub const COST_KERNEL: Kernel = Kernel::V2_6_14;

/// The profiles with flush-only ptes (`flush` true) or without.
fn kernels_with_flush_only(flush: bool) -> Vec<Kernel> {
    Kernel::ALL
        .into_iter()
        .filter(|k| k.flush_only_ptes() == flush)
        .collect()
}

/// "2.6.14, 2.6.15".
fn kernel_list(ks: &[Kernel]) -> String {
    ks.iter().map(|k| k.name()).collect::<Vec<_>>().join(", ")
}

/// "a, b" or "none".
fn list_or_none(v: &[String]) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

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
            exhaustive: 200_000,
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
    /// Whether no schedule with fewer preemptions fails (every one was run).
    pub minimal: bool,
    /// What went wrong in that schedule (the one [`Cell::replay`] runs).
    pub failures: Vec<String>,
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

    /// The failing schedule with its preemptions, marked when it is not
    /// shown minimal: `a22b8c4 (3)` or `a22b8c4 (3, fewest found)`; empty
    /// when nothing failed.
    pub fn schedule_label(&self) -> String {
        match (&self.schedule, self.preemptions) {
            (Some(s), Some(p)) if self.minimal => format!("{s} ({p})"),
            (Some(s), Some(p)) => format!("{s} ({p}, fewest found)"),
            _ => String::new(),
        }
    }

    /// The command that replays the failing schedule.
    pub fn replay(&self) -> Option<String> {
        self.schedule.as_ref().map(|s| {
            format!(
                "vipt replay {} {s}",
                scenario_flags(self.kind(), &self.strategy, self.params)
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
            "kernel": self.params.kernel.name(),
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
            "minimal": self.minimal,
            "replay": self.replay(),
            "failures": self.report.failure_kinds.keys().collect::<Vec<_>>(),
            "first_violation": self.report.first.as_ref().and_then(|f| f.detail.clone()),
            "cost": self.report.counters.keys().map(|k| (k.to_string(), self.report.mean(k))).collect::<BTreeMap<_, _>>(),
        })
    }
}

/// `s` in at most `n` characters, cut at a word boundary with "…".
fn cut_words(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let head: String = s.chars().take(n - 1).collect();
    let at = head.rfind(' ').filter(|&i| i > n / 2).unwrap_or(head.len());
    format!("{}…", head[..at].trim_end_matches([',', ';', ':']))
}

/// The flags that name a scenario on `vipt explore` and `vipt replay`:
/// `--scenario S --strategy X` and [`param_flags`] against the scenario's
/// defaults.
pub fn scenario_flags(kind: Kind, strategy: &str, p: Params) -> String {
    format!(
        "--scenario {} --strategy {strategy}{}",
        kind.name(),
        param_flags(p, kind.defaults())
    )
}

/// Command-line flags for the parameters that differ from the defaults.
///
/// `--kernel K` alone gives K's own `_PAGE_FLUSH` handling (the CLI's
/// default), so `--page-flush` follows only where `p` is a mixed model, or
/// differs from `d` on `d`'s kernel.
pub fn param_flags(p: Params, d: Params) -> String {
    let mut s = String::new();
    let page_flush = if p.kernel != d.kernel {
        s += &format!(" --kernel {}", p.kernel);
        p.kernel.flush_only_ptes()
    } else {
        d.page_flush
    };
    if p.vmas != d.vmas {
        s += &format!(" --vmas {}", p.vmas);
    }
    if p.lines != d.lines {
        s += &format!(" --lines {}", p.lines);
    }
    if p.colour != d.colour {
        s += &format!(" --colour {}", p.colour);
    }
    if p.page_flush != page_flush {
        s += &format!(" --page-flush {}", if p.page_flush { "on" } else { "off" });
    }
    let on_off = |b: bool| if b { "on" } else { "off" };
    if p.move_in != d.move_in {
        s += &format!(" --move-in {}", on_off(p.move_in));
    }
    // The bursts `vipt explore` gives by default (`ScenarioArgs::build`):
    // none without move-in, the scenario's own with it, at least one where
    // move-in is an option rather than the scenario's racer.
    let move_ins = match (p.move_in, d.move_in) {
        (false, _) => 0,
        (true, true) => d.move_ins,
        (true, false) => d.move_ins.max(1),
    };
    if p.move_ins != move_ins {
        s += &format!(" --move-ins {}", p.move_ins);
    }
    if p.move_in_flush_only != d.move_in_flush_only {
        s += &format!(" --move-in-flush-only {}", on_off(p.move_in_flush_only));
    }
    if p.sibling != d.sibling {
        s += &format!(" --sibling {}", on_off(p.sibling));
    }
    if p.scrub_freed != d.scrub_freed {
        s += &format!(" --scrub-freed {}", on_off(p.scrub_freed));
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
        if self.id == 4 {
            s += "The plot of this sweep is cost.svg, shown above this table in report.html (`vipt report --out DIR`; `vipt cost --svg FILE` draws it alone).\n\n";
        }
        s += &table_text(&self.table);
        s
    }
}

/// A table of the report that answers no one question: each kernel with its
/// own `flush_dcache_page`.
#[derive(Debug, Clone)]
pub struct Section {
    /// The heading.
    pub title: String,
    /// What the table shows, from the numbers.
    pub answer: String,
    /// The table: a header row, then rows.
    pub table: Vec<Vec<String>>,
}

impl Section {
    /// The section as JSON.
    pub fn json(&self) -> Value {
        json!({"title": self.title, "answer": self.answer, "table": self.table})
    }

    /// The section as text.
    pub fn text(&self) -> String {
        format!("## {}\n\n{}\n\n", self.title, self.answer) + &table_text(&self.table)
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
    /// Each kernel with its own `flush_dcache_page`, on every scenario.
    pub own_flush: Section,
    /// Every explored cell.
    pub cells: Vec<Cell>,
    /// The cost sweep of question 4.
    pub cost: Vec<cost::CostPoint>,
    /// The budget it ran with.
    pub budget: Budget,
}

impl FullReport {
    /// Every cell at a glance: a row per scenario, kernel and parameters
    /// (as `vipt explore` flags beyond the kernel's own), a column per
    /// strategy; `pass`, `FAIL failing/explored`, `incomplete`, or empty
    /// where the report ran no such cell. The header row first.
    pub fn verdict_matrix(&self) -> Vec<Vec<String>> {
        let mut head = vec!["scenario".to_string(), "kernel".into(), "parameters".into()];
        head.extend(STRATEGIES.iter().map(|s| s.to_string()));
        let mut rows: Vec<(String, String, String)> = Vec::new();
        for c in &self.cells {
            let key = (
                c.scenario.to_string(),
                c.params.kernel.to_string(),
                cell_params(c),
            );
            if !rows.contains(&key) {
                rows.push(key);
            }
        }
        // A scenario's rows together, its profiles in the plan's order.
        let first = |sc: &str| rows.iter().position(|r| r.0 == sc).unwrap_or(0);
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by_key(|&i| (first(&rows[i].0), i));
        let rows: Vec<(String, String, String)> =
            order.into_iter().map(|i| rows[i].clone()).collect();
        let mut t = vec![head];
        for (scenario, kernel, params) in rows {
            let mut row = vec![scenario.clone(), kernel.clone(), params.clone()];
            for st in STRATEGIES {
                let cell = self.cells.iter().find(|c| {
                    c.scenario == scenario
                        && c.strategy == st
                        && c.params.kernel.to_string() == kernel
                        && cell_params(c) == params
                });
                row.push(match cell {
                    None => String::new(),
                    Some(c) => match c.verdict_of() {
                        Verdict::Fail => {
                            format!("FAIL {}/{}", c.report.failing, c.report.executions)
                        }
                        Verdict::Pass => "pass".into(),
                        Verdict::Inconclusive => "incomplete".into(),
                    },
                });
            }
            t.push(row);
        }
        t
    }

    /// `{"questions": [...], "cells": [...]}`.
    pub fn json(&self) -> Value {
        json!({
            "verdicts": self.verdict_matrix(),
            "questions": self.questions.iter().map(Question::json).collect::<Vec<_>>(),
            "own_flush_dcache_page": self.own_flush.json(),
            "cells": self.cells.iter().map(Cell::json).collect::<Vec<_>>(),
            "budget": {
                "bound": self.budget.bound, "exhaustive": self.budget.exhaustive,
                "samples": self.budget.samples, "pct_depth": self.budget.pct_depth, "seed": self.budget.seed,
            },
        })
    }

    /// What the report's searches were: the coverage of an exhaustive cell,
    /// the budgets and the seed.
    pub fn header_text(&self) -> String {
        format!(
            "Exhaustive cells: {}, at most {} executions per search. Sampled rates: {} executions per sampler (seed {}).",
            coverage_header(self.budget.bound),
            self.budget.exhaustive,
            self.budget.samples,
            self.budget.seed
        )
    }

    /// The cells that fail, pass, and settle nothing (incomplete or partial).
    pub fn verdict_counts(&self) -> (usize, usize, usize) {
        let fails = self.cells.iter().filter(|c| c.report.failing > 0).count();
        let passes = self
            .cells
            .iter()
            .filter(|c| c.verdict_of() == Verdict::Pass)
            .count();
        (fails, passes, self.cells.len() - fails - passes)
    }

    /// The report as one HTML page (`report.html`): `timelines[i]` names
    /// the SVG file of cell `i`'s timeline, where one was written beside it.
    pub fn html(&self, timelines: &[Option<String>]) -> String {
        crate::report_html::page(self, timelines)
    }

    /// Every question as text.
    pub fn text(&self) -> String {
        let mut s =
            String::from("# vipt report: the seed thread's questions, answered by the model\n\n");
        s += &self.header_text();
        s += "\n\n";
        let short: Vec<String> = self
            .cells
            .iter()
            .filter(|c| c.report.failing == 0 && c.verdict_of() != Verdict::Pass)
            .map(|c| {
                format!(
                    "{} / {} / {} ({})",
                    c.scenario,
                    c.params.kernel,
                    c.strategy,
                    cell_params(c)
                )
            })
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
        let m = self.verdict_matrix();
        let (fails, passes, incomplete) = self.verdict_counts();
        s += &format!(
            "## Verdicts at a glance\n\n{} cells: {fails} FAIL (a failing schedule, failing/explored), {passes} pass ({}), {incomplete} incomplete (a budget ran out, or only the partial search ran). The questions below draw on these cells.\n\n",
            self.cells.len(),
            coverage_header(self.budget.bound),
        );
        s += &table_text(&m);
        s.push('\n');
        for q in &self.questions {
            s += &q.text();
            s.push('\n');
        }
        s += &self.own_flush.text();
        s.push('\n');
        s += "## Every failing cell, with the command that replays its minimal schedule\n\n";
        let mut t = vec![[
            "scenario",
            "kernel",
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
                c.params.kernel.to_string(),
                c.strategy.clone(),
                cell_params(c),
                format!("{}/{}", c.report.failing, c.report.executions),
                // The failure of the schedule the replay command runs.
                c.failures
                    .first()
                    .map(|k| cut_words(k.lines().next().unwrap_or(""), 60))
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
pub(crate) fn coverage_header(bound: u32) -> String {
    if bound == 0 {
        "bound 0 partial (sleep sets)".into()
    } else {
        format!(
            "complete within bound {}; bound {bound} partial (sleep sets)",
            bound - 1
        )
    }
}

/// The cell's parameters that differ from its scenario's defaults on its
/// kernel (the kernel has a column of its own).
/// A cell's parameters beyond its kernel's defaults, as `vipt explore`
/// flags.
pub(crate) fn cell_params(c: &Cell) -> String {
    let f = param_flags(c.params, on_kernel(c.kind(), c.params.kernel));
    if f.is_empty() {
        "defaults".into()
    } else {
        f.trim().to_string()
    }
}

/// patched-2005's failure rate over recheck's ("∞" when only recheck never
/// failed; NaN when neither did, which says nothing of the two).
fn ratio_text(ratio: f64) -> String {
    if ratio.is_finite() {
        format!("{ratio:.2}×")
    } else if ratio.is_nan() {
        "- (neither failed)".into()
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
    let (schedule, preemptions, minimal, failures) =
        match minimal(&sc, &report, b.minimise, max_steps)? {
            Some(m) => (
                Some(m.schedule.to_string()),
                Some(m.preemptions),
                m.proven,
                m.failures,
            ),
            None => (None, None, false, Vec::new()),
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
        minimal,
        failures,
    })
}

/// The later profiles whose cells run only the kernel's own
/// `flush_dcache_page` on every scenario (and patched-ptl on pte-lock, for
/// question 6). 2.6.15 keeps 2.6.14's flush-only ptes and user-address
/// flushes and differs in its generic mm's locking and Hugh's
/// `translation_exists`; running every strategy on it too would make the
/// report more than twice as long as the one with only 2.6.14 and 3.x.
pub const OWN_ONLY: [Kernel; 1] = [Kernel::V2_6_15];

/// The cells the report explores: every scenario × strategy on 2.6.14; on
/// each later profile, the [`PROFILED`] scenarios × every strategy (of
/// patched-ptl only pte-lock, question 6's scenario) unless the profile is
/// one of [`OWN_ONLY`], and every other scenario with the profile's own
/// `flush_dcache_page`; the colourings of question 5 on 2.6.14. Each
/// profile runs with its own `_PAGE_FLUSH` handling ([`on_kernel`]).
pub fn cell_plan() -> Vec<(Kind, &'static str, Params)> {
    let mut v = Vec::new();
    for k in Kind::ALL {
        for s in STRATEGIES {
            v.push((k, s, k.defaults()));
        }
    }
    for kernel in Kernel::ALL
        .into_iter()
        .filter(|&k| k != Params::default().kernel)
    {
        for k in Kind::ALL {
            let own = kernel.flush_dcache_page();
            let every = PROFILED.contains(&k) && !OWN_ONLY.contains(&kernel);
            // patched-ptl is question 6's variant: its other cells only
            // repeat the inversion every execution of it reports.
            for s in STRATEGIES.into_iter().filter(|&s| {
                (every && s != "patched-ptl")
                    || s == own
                    || (s == "patched-ptl" && k == Kind::PteLock)
            }) {
                v.push((k, s, on_kernel(k, kernel)));
            }
        }
    }
    // The history scenarios (question 8): each profile with its own
    // flush_dcache_page, and the scrub ablation of unmap-reuse on 2.6.14.
    for k in Kind::HISTORY {
        for kernel in Kernel::ALL {
            v.push((k, kernel.flush_dcache_page(), on_kernel(k, kernel)));
            if let Some(p) = with_sibling(k, kernel) {
                v.push((k, kernel.flush_dcache_page(), p));
            }
        }
    }
    v.push((
        Kind::UnmapReuse,
        Kernel::V2_6_14.flush_dcache_page(),
        Params {
            scrub_freed: true,
            ..Kind::UnmapReuse.defaults()
        },
    ));
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
    let cost_pts = cost::sweep_on(
        COST_KERNEL,
        &STRATEGIES[..5],
        &cost::VMAS,
        &cost::PRESENT,
        &cost::COLOURS,
    )?;
    progress("cost sweep", 1, 1);
    let mut r = FullReport {
        questions: Vec::new(),
        own_flush: Section {
            title: String::new(),
            answer: String::new(),
            table: Vec::new(),
        },
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
    r.own_flush = own_flush(&r);
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
    let c32 = coincidences(Layout::Bits32, 0x12345, 0).map_err(|e| e.to_string())?;
    let verdict = |s: &str| r.cell(Kind::SwapPte, s, p).map(|c| (c.verdict_of(), c));
    let legacy = match verdict("legacy-2005") {
        Some((Verdict::Fail, c)) if c.report.mean("fdc_nullified") > 0.0 => format!(
            "flushes through the swap pte, the flush is nullified ({:.0} fdc nullified per execution) and B reads stale data in {} of {} schedules",
            c.report.mean("fdc_nullified"),
            c.report.failing,
            c.report.executions
        ),
        Some((Verdict::Fail, c)) => format!(
            "leaves B stale in {} of {} schedules",
            c.report.failing, c.report.executions
        ),
        Some((Verdict::Pass, _)) => "does not fail".into(),
        _ => "found no failure, but its search did not cover the bound".into(),
    };
    let patched = match verdict("patched-2005") {
        Some((Verdict::Pass, c)) => format!(
            "accepts none of those ptes and passes all {} schedules",
            c.report.executions
        ),
        Some((Verdict::Fail, c)) => format!(
            "fails in {} of {} schedules",
            c.report.failing, c.report.executions
        ),
        _ => "found no failure, but its search did not cover the bound".into(),
    };
    Ok(Question {
        id: 1,
        title: "coincidental swap/file ptes".into(),
        answer: format!(
            "For pfn 0x12345 the pre-patch test takes {} swap and {} file entries for a translation of the pfn, Hugh's patched test {}. In the swap-pte scenario on {} (A's COW copy swapped to slot 16 × pfn), legacy-2005 {legacy}; patched-2005 {patched}.",
            c32.swap, c32.file, c32.patched_2005, p.kernel
        ),
        table,
    })
}

/// A header row: `first`, then the strategies.
fn header(first: &[&str], strategies: &[&str]) -> Vec<String> {
    first
        .iter()
        .chain(strategies.iter())
        .map(|s| s.to_string())
        .collect()
}

fn verdict_row(r: &FullReport, k: Kind, p: Params, strategies: &[&str]) -> Vec<String> {
    strategies
        .iter()
        .map(|s| r.cell(k, s, p).map_or("-".into(), Cell::label))
        .collect()
}

/// Whether `strategy` failed scenario `k` on `kernel`.
fn fails(r: &FullReport, k: Kind, kernel: Kernel, strategy: &str) -> bool {
    r.cell(k, strategy, on_kernel(k, kernel))
        .is_some_and(|c| c.report.failing > 0)
}

/// Whether `strategy` passed scenario `k` on `kernel` (no failure, and the
/// search covered the bound).
fn passes(r: &FullReport, k: Kind, kernel: Kernel, strategy: &str) -> bool {
    r.cell(k, strategy, on_kernel(k, kernel))
        .is_some_and(|c| c.verdict_of() == Verdict::Pass)
}

/// Whether `strategy`'s cells of scenario `k` on `kernels` all passed, at
/// least one of them having run (a profile of [`OWN_ONLY`] has no cell for
/// most strategies).
fn all_pass(r: &FullReport, k: Kind, kernels: &[Kernel], strategy: &str) -> bool {
    let cells: Vec<&Cell> = kernels
        .iter()
        .filter_map(|&kn| r.cell(k, strategy, on_kernel(k, kn)))
        .collect();
    !cells.is_empty() && cells.iter().all(|c| c.verdict_of() == Verdict::Pass)
}

/// "on" for a kernel with flush-only ptes, "off" for one without.
fn page_flush_text(kernel: Kernel) -> &'static str {
    if kernel.flush_only_ptes() {
        "on"
    } else {
        "off"
    }
}

/// What the racers of the later profiles do besides losing the flush-only
/// pte: the model's hooks, as `arch::Parisc` implements them.
const HOOKS_DIFFER: &str = "The comparison is of kernels, not of the one bit: 2.6.15 keeps 2.6.14's flush-only ptes and user-address flushes (it adds split pte locks, per-table zap locking and Hugh's translation_exists), but 3.x and 6.10 differ from 2.6.14 in their racers' hooks too: 3.x's flush_cache_page purges the TLB entry and flushes by pfn through tmpalias, 6.10's ptep_clear_flush flushes the old pfn after clearing the pte, and both switch the COW pte with flush, ptep_clear_flush, set_pte_at.";

fn question2(r: &FullReport) -> Question {
    let mut table = vec![header(
        &[
            "racer",
            "kernel",
            "_PAGE_FLUSH",
            "patched-2005",
            "\"the racer already did the flush\"",
            "minimal failing schedule (preemptions)",
        ],
        &[],
    )];
    let mut false_for = Vec::new();
    let mut holds_everywhere = Vec::new();
    let mut open = Vec::new();
    let mut preemptions = BTreeSet::new();
    let (with, without) = (
        kernels_with_flush_only(true),
        kernels_with_flush_only(false),
    );
    let mut only_without = Vec::new();
    let mut even_with = Vec::new();
    for k in RACES {
        let mut false_on = Vec::new();
        let mut all_pass = true;
        for kernel in Kernel::ALL {
            let Some(c) = r.cell(k, "patched-2005", on_kernel(k, kernel)) else {
                all_pass = false;
                continue;
            };
            let theory = match c.verdict_of() {
                Verdict::Fail => {
                    false_on.push(kernel);
                    preemptions.extend(c.preemptions);
                    "FALSE"
                }
                Verdict::Pass => "true",
                Verdict::Inconclusive => {
                    open.push(format!("{} ({kernel})", k.name()));
                    "not shown (search incomplete)"
                }
            };
            all_pass &= c.verdict_of() == Verdict::Pass;
            table.push(vec![
                k.racer().into(),
                kernel.name().into(),
                page_flush_text(kernel).into(),
                c.label(),
                theory.into(),
                c.schedule_label(),
            ]);
        }
        if !false_on.is_empty() {
            false_for.push(format!("{} ({})", k.name(), kernel_list(&false_on)));
            if false_on.iter().all(|kn| !kn.flush_only_ptes())
                && with.iter().all(|&kn| passes(r, k, kn, "patched-2005"))
            {
                only_without.push(format!("{} ({})", k.name(), kernel_list(&false_on)));
            } else if false_on.iter().any(|kn| kn.flush_only_ptes()) {
                even_with.push(k.name().to_string());
            }
        }
        if all_pass {
            holds_everywhere.push(k.name().to_string());
        }
    }
    // Honest at any budget: no claim for cells whose search ran out.
    let mut answer = if false_for.is_empty() && !open.is_empty() && open.len() == table.len() - 1 {
        "Nothing is settled: patched-2005 failed no racer, but every search ran out of budget before it covered the bound.".to_string()
    } else if false_for.is_empty() && !open.is_empty() {
        "patched-2005 failed no racer where its search finished; the rest are not settled."
            .to_string()
    } else if false_for.is_empty() {
        "patched-2005 left no stale line for any racer on any profile within the bound.".to_string()
    } else {
        format!(
            "The theory is false for: {}. It holds on every profile for: {}.",
            false_for.join(", "),
            list_or_none(&holds_everywhere)
        )
    };
    if !open.is_empty() {
        answer += &format!(" Not settled (a budget ran out): {}.", open.join(", "));
    }
    if !preemptions.is_empty() {
        let p: Vec<String> = preemptions.iter().map(|p| p.to_string()).collect();
        answer += &format!(
            " The minimal failing schedules have {} preemption(s).",
            p.join(" or ")
        );
    }
    answer += &format!(
        " False on a profile without flush-only ptes ({}) while true on both with them ({}): {}. False even with flush-only ptes: {}. Question 7 compares the profiles for every strategy; they differ in more than _PAGE_FLUSH.",
        kernel_list(&without),
        kernel_list(&with),
        list_or_none(&only_without),
        list_or_none(&even_with)
    );
    // The racers' own flushes, with something in the window between the
    // flush and the TLB purge (question 8's history scenarios).
    let mut undone = Vec::new();
    for k in [Kind::UnmapWindow, Kind::ReclaimReuse] {
        let mut by = Vec::new();
        for kernel in Kernel::ALL {
            let strategy = kernel.flush_dcache_page();
            if fails(r, k, kernel, strategy) {
                by.push(format!("{kernel} (move-in)"));
            }
            let sib = with_sibling(k, kernel)
                .and_then(|p| r.cell(k, strategy, p))
                .is_some_and(|c| c.report.failing > 0);
            if sib {
                by.push(format!("{kernel} (sibling)"));
            }
        }
        if !by.is_empty() {
            undone.push(format!("{} on {}", k.name(), by.join(", ")));
        }
    }
    if !undone.is_empty() {
        answer += &format!(
            " The rows above have nothing between a racer's own flush and its TLB purge; with a move-in burst or A's sibling thread there, the racer's flush does not last and each kernel's own strategy leaves stale or earlier-life data: {} (question 8).",
            undone.join("; ")
        );
    }
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
    let mut table = vec![header(
        &[
            "scenario",
            "kernel",
            "sampler",
            "patched-2005 stale-read rate [95% CI]",
            "recheck",
            "patched / recheck",
        ],
        &[],
    )];
    // Sampled where the exhaustive search shows patched-2005 failing.
    let pairs: Vec<(Kind, Kernel)> = [Kind::ZapRefault, Kind::Reclaim]
        .into_iter()
        .flat_map(|k| Kernel::ALL.into_iter().map(move |kn| (k, kn)))
        .filter(|&(k, kn)| fails(r, k, kn, "patched-2005"))
        .collect();
    let mut ratios = Vec::new();
    let samplers = [Mode::Random, Mode::Pct { depth: b.pct_depth }];
    let total = pairs.len() * samplers.len();
    let mut n = 0;
    for &(k, kernel) in &pairs {
        let p = on_kernel(k, kernel);
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
            let ratio = if rr.failing == 0 && pr.failing == 0 {
                f64::NAN
            } else if rr.failing == 0 {
                f64::INFINITY
            } else {
                pr.rate() / rr.rate()
            };
            ratios.push((k, kernel, mode, ratio, pr.failing));
            table.push(vec![
                k.name().into(),
                kernel.name().into(),
                mode.to_string(),
                rate_text(&pr),
                rate_text(&rr),
                ratio_text(ratio),
            ]);
            n += 1;
            progress("sampling patched-2005 vs recheck", n, total);
        }
    }
    let enumerated: Vec<String> = pairs
        .iter()
        .filter_map(|&(k, kernel)| {
            r.cell(k, "recheck", on_kernel(k, kernel)).map(|c| {
                format!(
                    "{} on {kernel}: recheck fails in {} of {} schedules ({}{})",
                    k.name(),
                    c.report.failing,
                    c.report.executions,
                    c.coverage(),
                    c.schedule
                        .as_ref()
                        .map_or(String::new(), |_| format!("; {}", c.schedule_label()))
                )
            })
        })
        .collect();
    let lows: Vec<String> = ratios
        .iter()
        .map(|(k, kn, mode, ratio, _)| format!("{} {kn} {mode}: {}", k.name(), ratio_text(*ratio)))
        .collect();
    let best = ratios
        .iter()
        .map(|x| x.3)
        .filter(|x| x.is_finite())
        .fold(0.0f64, f64::max);
    let never = ratios.iter().all(|x| !x.3.is_finite());
    let sampled_none = ratios.iter().filter(|x| x.4 == 0).count();
    // The exhaustive comparison leads: it is the one that can settle it.
    let exhaustive: Vec<(String, u64, u64, Option<&Cell>)> = pairs
        .iter()
        .filter_map(|&(k, kernel)| {
            let pc = r.cell(k, "patched-2005", on_kernel(k, kernel))?;
            let rc = r.cell(k, "recheck", on_kernel(k, kernel));
            Some((
                format!("{} on {kernel}", k.name()),
                pc.report.failing,
                pc.report.executions,
                rc,
            ))
        })
        .collect();
    let recheck_none = exhaustive
        .iter()
        .all(|(_, _, _, rc)| rc.is_some_and(|c| c.verdict_of() == Verdict::Pass));
    let patched_list = exhaustive
        .iter()
        .map(|(w, f, e, _)| format!("{w}: {f} of {e}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut answer = if pairs.is_empty() {
        "patched-2005 failed no exhaustive zap-refault or reclaim cell on any profile, so there is nothing to compare.".to_string()
    } else if recheck_none {
        format!(
            "Not orders of magnitude but all against none, within the bound: where patched-2005 fails exhaustively ({patched_list} schedules), recheck fails in none of the same searches ({})."
            ,
            coverage_header(b.bound)
        )
    } else {
        format!(
            "Where patched-2005 fails exhaustively ({patched_list} schedules), recheck is not shown to pass everywhere: see the counts below."
        )
    };
    if never && sampled_none == ratios.len() && !ratios.is_empty() {
        answer += &format!(
            " Sampling settles nothing here: in all {} samplers ({} executions each, same seeds for both) neither strategy failed, so patched-2005's failing schedules are rarer than the samplers can see.",
            ratios.len(),
            b.samples
        );
    } else {
        let sampled = if never {
            "recheck never failed".to_string()
        } else {
            format!("patched-2005 fails up to {best:.1}× as often as recheck")
        };
        answer += &format!(
            " Sampled on the same schedules (same seeds), {sampled} ({}).",
            lows.join("; ")
        );
        if sampled_none > 0 {
            answer +=
                &format!(" In {sampled_none} of these samplers patched-2005 did not fail either.");
        }
    }
    if !enumerated.is_empty() {
        answer += &format!(" Exhaustively: {}.", enumerated.join("; "));
    }
    Ok(Question {
        id: 3,
        title: "recheck: \"several orders of magnitude\"?".into(),
        answer,
        table,
    })
}

fn question4(r: &FullReport) -> Question {
    let kernel = COST_KERNEL;
    let mut table = cost::table(
        r.cost
            .iter()
            .filter(|p| [1, 4, 32].contains(&p.vmas) && [0.25, 1.0].contains(&p.present)),
    );
    for (i, row) in table.iter_mut().enumerate() {
        row.insert(
            0,
            if i == 0 {
                "kernel".into()
            } else {
                kernel.to_string()
            },
        );
    }
    let lpp = vipt_pte::PAGE_SIZE / vipt_cache::HwConfig::default().geometry.line_size;
    let get = |s: &str, n: usize, f: f64, k: usize| {
        r.cost
            .iter()
            .find(|p| p.strategy == s && p.vmas == n && p.present == f && p.colours == k)
    };
    let flushes = |p: &cost::CostPoint| p.fdc_issued / lpp;
    let reads = |p: &cost::CostPoint| {
        if p.translation_checks == 0 {
            "reads no pte".to_string()
        } else {
            format!("makes {} translation checks", p.translation_checks)
        }
    };
    let answer = match (
        get("patched-2005", 32, 0.25, 1),
        get("tmpalias", 32, 0.25, 1),
        get("modern", 32, 0.25, 1),
        get("patched-2005", 32, 0.25, 2),
        get("tmpalias", 32, 0.25, 2),
        get("modern", 32, 0.25, 2),
    ) {
        (Some(p), Some(t), Some(m), Some(p2), Some(t2), Some(m2)) => {
            let per = |x: &cost::CostPoint| {
                // The kernel alias is one page flush; the rest are user colours.
                let user = flushes(x).saturating_sub(1);
                if user as usize == x.vmas {
                    "one user page flush per vma".to_string()
                } else {
                    format!("{user} user page flush(es)")
                }
            };
            // The finding first: what tmpalias and modern cost against
            // patched-2005, congruent and with two colours.
            let times = |a: u64, b: u64| {
                if a == b {
                    "the same fdc as patched-2005".to_string()
                } else if b == 0 {
                    format!("{a} fdc against patched-2005's none")
                } else {
                    format!("{:.1}× patched-2005's fdc", a as f64 / b as f64)
                }
            };
            let both = |a: u64, b: u64, of: u64| {
                if a == b {
                    format!("tmpalias and modern both issue {}", times(a, of))
                } else {
                    format!(
                        "tmpalias issues {} and modern {}",
                        times(a, of),
                        times(b, of)
                    )
                }
            };
            let lead = format!(
                "For 32 vmas of a page with congruent mappings, {}; with the vmas alternating between two colours, {}, where patched-2005 flushes one colour only and is wrong (question 5). ",
                both(t.fdc_issued, m.fdc_issued, p.fdc_issued),
                both(t2.fdc_issued, m2.fdc_issued, p2.fdc_issued),
            );
            lead + &format!(
                "On {kernel} ({lpp} fdc per page flush), with 32 congruent vmas of which a quarter have a present pte: patched-2005 issues {} fdc, reads {} index node(s) and makes {} translation checks ({} steps under tree_lock); tmpalias issues {} fdc with {} TLB purges and {}; modern {} fdc with {} TLB purges and {}. With the vmas alternating between two colours, patched-2005 stays at {} fdc (and is wrong, question 5), tmpalias issues {} ({}, {} TLB purges, {} steps under tree_lock) and modern {} ({}, {} TLB purges): both flush whenever a vma's colour differs from the last address flushed{}. `vipt cost` prints the whole sweep and plots it.",
                p.fdc_issued, p.tree_nodes, p.translation_checks, p.lock_hold_steps,
                t.fdc_issued, t.tlb_purges, reads(t),
                m.fdc_issued, m.tlb_purges, reads(m),
                p2.fdc_issued,
                t2.fdc_issued, per(t2), t2.tlb_purges, t2.lock_hold_steps,
                m2.fdc_issued, per(m2), m2.tlb_purges,
                if flushes(t2).max(flushes(m2)) > 1 + 2 {
                    ", so with the colours interleaved in i_mmap the cost follows the number of vmas, not of colours"
                } else {
                    ""
                },
            )
        }
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
    let mut table = vec![header(&["colouring"], strategies)];
    // Per colouring: the strategies that fail, pass, and settle nothing.
    let mut by: BTreeMap<String, [Vec<&str>; 3]> = BTreeMap::new();
    for c in [Colour::Linux2614, Colour::MapFixed, Colour::PgoffAware] {
        let p = Params {
            colour: c,
            ..Kind::Inequivalent.defaults()
        };
        let e = by.entry(c.to_string()).or_default();
        for s in strategies {
            match r.cell(Kind::Inequivalent, s, p).map(|x| x.verdict_of()) {
                Some(Verdict::Fail) => e[0].push(*s),
                Some(Verdict::Pass) => e[1].push(*s),
                Some(Verdict::Inconclusive) => e[2].push(*s),
                None => {}
            }
        }
        table.push(
            std::iter::once(format!("{c}"))
                .chain(verdict_row(r, Kind::Inequivalent, p, strategies))
                .collect(),
        );
    }
    let reports = r
        .cell(Kind::Inequivalent, "modern", Kind::Inequivalent.defaults())
        .map_or(0.0, |c| c.report.mean("alias_reports"));
    // "a, b leave B's line stale; c passes; d not settled (a budget ran
    // out)": only the parts that have strategies.
    let outcome = |c: Colour, stale: &str| {
        let [f, pa, u] = by.get(&c.to_string()).cloned().unwrap_or_default();
        let mut parts = Vec::new();
        if !f.is_empty() {
            parts.push(format!("{} {stale}", f.join(", ")));
        }
        if !pa.is_empty() {
            parts.push(format!("{} pass", pa.join(", ")));
        }
        if !u.is_empty() {
            parts.push(format!(
                "{} not settled (the search ran out of budget: no claim)",
                u.join(", ")
            ));
        }
        if parts.is_empty() {
            "no strategy ran".to_string()
        } else {
            parts.join("; ")
        }
    };
    let pgoff = by
        .get(&Colour::PgoffAware.to_string())
        .cloned()
        .unwrap_or_default();
    let congruent = if pgoff[0].is_empty() && pgoff[2].is_empty() && !pgoff[1].is_empty() {
        format!(
            "The pgoff-aware colouring makes the mappings congruent and {} pass.",
            pgoff[1].join(", ")
        )
    } else {
        format!(
            "With the pgoff-aware colouring: {}.",
            outcome(Colour::PgoffAware, "still fail")
        )
    };
    Question {
        id: 5,
        title: "congruence".into(),
        answer: format!(
            "On {}, with B's page at pgoff 1 coloured as pgoff 0 (2.6.14's colouring): {}. Placed by MAP_FIXED one page off: {}. modern reports INEQUIVALENT ALIASES ({reports:.1} reports per execution). {congruent} The kernel's-own table below has this scenario on every profile.",
            Kind::Inequivalent.defaults().kernel,
            outcome(Colour::Linux2614, "leave B's line stale"),
            outcome(Colour::MapFixed, "fail"),
        ),
        table,
    }
}

fn question6(r: &FullReport) -> Question {
    let mut table = vec![header(
        &[
            "kernel",
            "_PAGE_FLUSH",
            "patched-ptl verdict",
            "inversions",
            "deadlocks",
            "minimal schedule",
        ],
        &[],
    )];
    let mut dl = 0;
    let mut every = true;
    let mut inversions = Vec::new();
    for kernel in Kernel::ALL {
        if let Some(c) = r.cell(
            Kind::PteLock,
            "patched-ptl",
            on_kernel(Kind::PteLock, kernel),
        ) {
            let count = |pre: &str| {
                c.report
                    .failure_kinds
                    .iter()
                    .filter(|(k, _)| k.starts_with(pre))
                    .map(|(_, v)| v)
                    .sum::<u64>()
            };
            let inv = count("lock order");
            every &= inv == c.report.executions;
            inversions.push(format!("{inv} of {} on {kernel}", c.report.executions));
            dl += count("deadlock");
            table.push(vec![
                kernel.name().into(),
                page_flush_text(kernel).into(),
                format!(
                    "{} {}/{}",
                    c.verdict(),
                    c.report.failing,
                    c.report.executions
                ),
                inv.to_string(),
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
    let open: Vec<String> = Kernel::ALL
        .into_iter()
        .filter(|&k| {
            r.cell(Kind::PteLock, "patched-ptl", on_kernel(Kind::PteLock, k))
                .is_some_and(|c| !c.report.complete)
        })
        .map(|k| k.name().to_string())
        .collect();
    let inv = if inv.is_empty() {
        "none".to_string()
    } else {
        inv
    };
    let mut answer = if inversions.is_empty() {
        "No pte-lock cell ran, so nothing is shown.".to_string()
    } else {
        format!(
            "The lock-order checker reports the inversion in {} ({}), without needing the deadlock; on 2.6.14: {inv}. Executions that actually deadlock within the bound, all profiles: {dl}.",
            if every { "every explored execution on every profile" } else { "these executions" },
            inversions.join(", ")
        )
    };
    if !open.is_empty() {
        answer += &format!(
            " The counts are of the executions explored: on {} the search ran out of budget.",
            open.join(", ")
        );
    }
    Question {
        id: 6,
        title: "the pte lock inside translation_exists".into(),
        answer,
        table,
    }
}

/// The scenarios of question 7: the races and pte-lock (reclaim with a
/// dirty pte).
const Q7: [Kind; 6] = [
    Kind::Reclaim,
    Kind::Cow,
    Kind::Munmap,
    Kind::Truncate,
    Kind::ZapRefault,
    Kind::PteLock,
];

fn question7(r: &FullReport) -> Question {
    let strategies = &STRATEGIES[..5];
    let breakers = &STRATEGIES[..3];
    let mut table = vec![header(&["scenario", "kernel", "_PAGE_FLUSH"], strategies)];
    for k in Q7 {
        for kernel in Kernel::ALL {
            table.push(
                [
                    k.name().to_string(),
                    kernel.to_string(),
                    page_flush_text(kernel).into(),
                ]
                .into_iter()
                .chain(verdict_row(r, k, on_kernel(k, kernel), strategies))
                .collect(),
            );
        }
    }
    let (with, without) = (
        kernels_with_flush_only(true),
        kernels_with_flush_only(false),
    );
    // Closed on both flush-only kernels for every break-after-one strategy,
    // open on a kernel without flush-only ptes for one of them.
    let mut opened = Vec::new();
    let mut opened_for: BTreeSet<&str> = BTreeSet::new();
    let mut open_with = Vec::new();
    for k in Q7 {
        let closed = breakers.iter().all(|s| all_pass(r, k, &with, s));
        let on: Vec<Kernel> = without
            .iter()
            .copied()
            .filter(|&kn| breakers.iter().any(|s| fails(r, k, kn, s)))
            .collect();
        if closed && !on.is_empty() {
            opened.push(format!("{} ({})", k.name(), kernel_list(&on)));
            for &kn in &on {
                opened_for.extend(breakers.iter().filter(|s| fails(r, k, kn, s)));
            }
        }
        let failing_with: Vec<Kernel> = with
            .iter()
            .copied()
            .filter(|&kn| breakers.iter().any(|s| fails(r, k, kn, s)))
            .collect();
        if !failing_with.is_empty() {
            open_with.push(format!("{} ({})", k.name(), kernel_list(&failing_with)));
        }
    }
    let spared: Vec<&str> = breakers
        .iter()
        .copied()
        .filter(|s| !opened_for.contains(s))
        .collect();
    // Races a profile closes for every strategy that fail on another one.
    let mut closes = Vec::new();
    for kernel in Kernel::ALL {
        let v: Vec<String> = Q7
            .into_iter()
            .filter(|&k| strategies.iter().all(|s| passes(r, k, kernel, s)))
            .filter(|&k| {
                Kernel::ALL
                    .into_iter()
                    .any(|o| o != kernel && strategies.iter().any(|s| fails(r, k, o, s)))
            })
            .map(|k| k.name().to_string())
            .collect();
        if !v.is_empty() {
            closes.push(format!("{kernel}: {}", v.join(", ")));
        }
    }
    let walkers: Vec<String> = Q7
        .into_iter()
        .flat_map(|k| Kernel::ALL.into_iter().map(move |kn| (k, kn)))
        .flat_map(|(k, kn)| {
            ["tmpalias", "modern"]
                .into_iter()
                .filter(move |s| fails(r, k, kn, s))
                .map(move |s| format!("{s} on {} ({kn})", k.name()))
        })
        .collect();
    // Profiles on which not every strategy ran.
    let partial: Vec<String> = Kernel::ALL
        .into_iter()
        .filter_map(|kn| {
            let ran: Vec<&str> = strategies
                .iter()
                .copied()
                .filter(|s| Q7.iter().any(|&k| r.cell(k, s, on_kernel(k, kn)).is_some()))
                .collect();
            (ran.len() < strategies.len()).then(|| {
                format!(
                    "On {kn} the report runs only {} (the kernel's own flush_dcache_page), so it enters these comparisons for that strategy alone.",
                    if ran.is_empty() { "none".to_string() } else { ran.join(", ") }
                )
            })
        })
        .collect();
    // Cells whose search ran out settle nothing: say how many.
    let (mut ran, mut unsettled) = (0, 0);
    for k in Q7 {
        for kn in Kernel::ALL {
            for s in strategies.iter() {
                if let Some(c) = r.cell(k, s, on_kernel(k, kn)) {
                    ran += 1;
                    unsettled += usize::from(c.verdict_of() == Verdict::Inconclusive);
                }
            }
        }
    }
    let unsettled_text = if unsettled == 0 {
        String::new()
    } else {
        format!(
            " Not settled: {unsettled} of these {ran} cells ran out of budget with no failure; the lists count only searches that failed or finished."
        )
    };
    let opened_text = if opened.is_empty() {
        "none".to_string()
    } else {
        format!(
            "{}, for {}{}",
            opened.join(", "),
            opened_for.iter().copied().collect::<Vec<_>>().join(" and "),
            if spared.is_empty() {
                String::new()
            } else {
                format!(" ({} passes them)", spared.join(", "))
            }
        )
    };
    Question {
        id: 7,
        title: format!(
            "_PAGE_FLUSH: kernels with flush-only ptes ({}) and without ({})",
            kernel_list(&with),
            kernel_list(&without)
        ),
        answer: format!(
            "Races that the break-after-one strategies survive on the kernels with flush-only ptes and fail on a kernel without them: {opened_text}. Failing for a break-after-one strategy even with flush-only ptes: {}. Races a profile closes for every strategy, while some strategy fails them on another profile: {}. tmpalias and modern fail: {}.{unsettled_text} {}{HOOKS_DIFFER}",
            list_or_none(&open_with),
            if closes.is_empty() { "none".to_string() } else { closes.join("; ") },
            if walkers.is_empty() && unsettled == 0 {
                "nowhere (every race passes on every profile they ran on)".to_string()
            } else if walkers.is_empty() {
                "in none of the searches that finished".to_string()
            } else {
                walkers.join(", ")
            },
            partial.iter().map(|p| format!("{p} ")).collect::<String>()
        ),
        table,
    }
}

fn question8(r: &FullReport) -> Question {
    let strategies = &STRATEGIES[..5];
    let mut table = vec![header(
        &["scenario", "kernel", "_PAGE_FLUSH", "in the window"],
        strategies,
    )];
    let mut row = |k: Kind, kernel: Kernel, p: Params| {
        let who = match (
            p.move_ins > 0 || k == Kind::MoveIn,
            p.sibling,
            p.scrub_freed,
        ) {
            (true, _, true) => "move-in, freed frames scrubbed",
            (true, _, false) => "move-in",
            (false, true, _) => "sibling",
            (false, false, _) => "-",
        };
        table.push(
            [
                k.name().to_string(),
                kernel.to_string(),
                page_flush_text(kernel).into(),
                who.into(),
            ]
            .into_iter()
            .chain(verdict_row(r, k, p, strategies))
            .collect::<Vec<_>>(),
        );
    };
    for kernel in Kernel::ALL {
        row(Kind::MoveIn, kernel, on_kernel(Kind::MoveIn, kernel));
    }
    let mut open = Vec::new();
    let mut by_sibling = Vec::new();
    let list = |on: Vec<&str>| {
        if on.is_empty() {
            "no profile".to_string()
        } else {
            on.join(", ")
        }
    };
    for k in Kind::HISTORY {
        let (mut on, mut sib) = (Vec::new(), Vec::new());
        for kernel in Kernel::ALL {
            row(k, kernel, on_kernel(k, kernel));
            if fails(r, k, kernel, kernel.flush_dcache_page()) {
                on.push(kernel.name());
            }
            if let Some(p) = with_sibling(k, kernel) {
                row(k, kernel, p);
                let c = r.cell(k, kernel.flush_dcache_page(), p);
                if c.is_some_and(|c| c.report.failing > 0) {
                    sib.push(kernel.name());
                }
            }
        }
        open.push(format!("{} fails on {}", k.name(), list(on)));
        if with_sibling(k, Kernel::V2_6_14).is_some() {
            by_sibling.push(format!("{} on {}", k.name(), list(sib)));
        }
    }
    let scrubbed = Params {
        scrub_freed: true,
        ..Kind::UnmapReuse.defaults()
    };
    row(Kind::UnmapReuse, Kernel::V2_6_14, scrubbed);
    let scrub_passes = r
        .cell(
            Kind::UnmapReuse,
            Kernel::V2_6_14.flush_dcache_page(),
            scrubbed,
        )
        .is_some_and(|c| c.verdict_of() == Verdict::Pass);
    let six_closes = Kind::HISTORY
        .iter()
        .all(|&k| passes(r, k, Kernel::V6_10, Kernel::V6_10.flush_dcache_page()));
    let move_in_pass = Kernel::ALL
        .iter()
        .all(|&k| strategies.iter().all(|s| !fails(r, Kind::MoveIn, k, s)));
    // Every move-in cell that ran covered its bound.
    let move_in_settled = Kernel::ALL.iter().all(|&k| {
        strategies.iter().all(|s| {
            r.cell(Kind::MoveIn, s, on_kernel(Kind::MoveIn, k))
                .is_none_or(|c| c.verdict_of() == Verdict::Pass)
        })
    });
    Question {
        id: 8,
        title: "speculative move-in, sibling threads and page lives".into(),
        answer: format!(
            "The `move-in` scenario (move-ins only where no pte changes) {}. The windows are in the racers: with the hardware agent's move-in burst scheduled anywhere (fork-writer: A's sibling storing) and freed frames keeping their lines, each profile with its own flush_dcache_page: {}. {}A real second thread of A loading the page in the window, no speculation, fails {}: a load after the purge takes a fresh TLB entry while the pte is still there, and the zap flushes before it clears the ptes on every profile, while 6.10's ptep_clear_flush (reclaim) flushes after the clear. {}",
            if !move_in_pass {
                "fails somewhere (see the table)"
            } else if move_in_settled {
                "still passes for every strategy on every profile"
            } else {
                "fails for no strategy, but not every search finished, so it is not settled"
            },
            open.join("; "),
            if six_closes {
                "Against speculation 6.10 closes them: its flush_cache_range and __flush_cache_page purge the TLB entry before flushing, so nothing can be moved in after the flush, and copy_user_highpage flushes the source's user alias before copying (the minifail fix). "
            } else {
                ""
            },
            by_sibling.join("; "),
            if scrub_passes {
                "With freed frames scrubbed (the ablation) unmap-reuse passes on 2.6.14: its failure is the line that outlived the page."
            } else {
                "With freed frames scrubbed unmap-reuse still does not pass on 2.6.14."
            }
        ),
        table,
    }
}

/// Each kernel with the `flush_dcache_page` it shipped, on every scenario.
fn own_flush(r: &FullReport) -> Section {
    let cols: Vec<String> = Kernel::ALL
        .iter()
        .map(|k| format!("{k} + {}", k.flush_dcache_page()))
        .collect();
    let mut table = vec![std::iter::once("scenario".to_string())
        .chain(cols.iter().cloned())
        .collect::<Vec<_>>()];
    for k in Kind::ALL {
        table.push(
            std::iter::once(k.name().to_string())
                .chain(Kernel::ALL.iter().map(|&kn| {
                    r.cell(k, kn.flush_dcache_page(), on_kernel(k, kn))
                        .map_or("-".into(), Cell::label)
                }))
                .collect(),
        );
    }
    let per: Vec<String> = Kernel::ALL
        .iter()
        .map(|&kn| {
            let f: Vec<String> = Kind::ALL
                .into_iter()
                .filter(|&k| fails(r, k, kn, kn.flush_dcache_page()))
                .map(|k| k.name().to_string())
                .collect();
            let open: Vec<String> = Kind::ALL
                .into_iter()
                .filter(|&k| {
                    r.cell(k, kn.flush_dcache_page(), on_kernel(k, kn))
                        .is_none_or(|c| c.verdict_of() == Verdict::Inconclusive)
                })
                .map(|k| k.name().to_string())
                .collect();
            format!(
                "{kn} with {} fails {}{}",
                kn.flush_dcache_page(),
                if f.is_empty() {
                    "no scenario".to_string()
                } else {
                    f.join(", ")
                },
                if open.is_empty() {
                    String::new()
                } else {
                    format!(" (not settled: {})", open.join(", "))
                }
            )
        })
        .collect();
    Section {
        title: "Each kernel with its own flush_dcache_page".into(),
        answer: format!(
            "Every scenario on each profile with the flush_dcache_page that kernel shipped (its own _PAGE_FLUSH handling, never mixed): {}.",
            per.join("; ")
        ),
        table,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_cut_between_words() {
        assert_eq!(cut_words("short", 60), "short");
        let m = "stale read: the user read old data after write() and flush_dcache_page completed";
        let c = cut_words(m, 60);
        assert!(c.chars().count() <= 60, "{c}");
        assert_eq!(c, "stale read: the user read old data after write() and…");
        assert_eq!(
            cut_words(&"x".repeat(80), 10),
            format!("{}…", "x".repeat(9))
        );
    }

    #[test]
    fn replay_flags_name_the_kernel_and_page_flush_only_when_mixed() {
        let d = Kind::Reclaim.defaults();
        assert_eq!(param_flags(d, d), "");
        // --kernel alone gives the kernel's own _PAGE_FLUSH handling.
        assert_eq!(
            param_flags(on_kernel(Kind::Reclaim, Kernel::V3x), d),
            " --kernel 3.x"
        );
        assert_eq!(
            param_flags(on_kernel(Kind::Reclaim, Kernel::V2_6_15), d),
            " --kernel 2.6.15"
        );
        // A mixed model says so.
        let mixed = Params {
            page_flush: true,
            ..on_kernel(Kind::Reclaim, Kernel::V6_10)
        };
        assert_eq!(param_flags(mixed, d), " --kernel 6.10 --page-flush on");
        let mixed = Params {
            page_flush: false,
            ..d
        };
        assert_eq!(param_flags(mixed, d), " --page-flush off");
        assert_eq!(
            on_kernel(Kind::MoveIn, Kernel::V2_6_14),
            Kind::MoveIn.defaults()
        );
    }

    #[test]
    fn the_plan_runs_every_profile_with_its_own_page_flush() {
        let plan = cell_plan();
        assert!(plan.iter().all(|(_, _, p)| !p.is_mixed()), "a mixed cell");
        let has = |k: Kind, s: &'static str, p: Params| plan.contains(&(k, s, p));
        for kernel in Kernel::ALL {
            for k in PROFILED {
                for s in &STRATEGIES[..5] {
                    assert_eq!(
                        has(k, s, on_kernel(k, kernel)),
                        !OWN_ONLY.contains(&kernel) || *s == kernel.flush_dcache_page(),
                        "{k:?} {s} {kernel}"
                    );
                }
            }
            assert!(has(
                Kind::PteLock,
                "patched-ptl",
                on_kernel(Kind::PteLock, kernel)
            ));
            for k in Kind::ALL {
                let s = kernel.flush_dcache_page();
                assert!(has(k, s, on_kernel(k, kernel)), "{k:?} {s} {kernel}");
            }
        }
        // No cell twice.
        let mut seen = Vec::new();
        for c in &plan {
            assert!(!seen.contains(c), "{c:?} twice");
            seen.push(*c);
        }
    }

    /// With a budget of one execution per search nothing is settled, but
    /// every table that compares profiles names the profile of each row.
    #[test]
    fn every_profile_row_names_its_kernel() {
        let b = Budget {
            bound: 0,
            exhaustive: 1,
            samples: 1,
            minimise: 1,
            threads: 2,
            ..Budget::default()
        };
        let r = run(&b, &|_, _, _| {}).unwrap();
        let names: Vec<&str> = Kernel::ALL.iter().map(|k| k.name()).collect();
        for (id, col) in [(2, 1), (3, 1), (4, 0), (6, 0), (7, 1), (8, 1)] {
            let q = &r.questions[id - 1];
            assert_eq!(q.table[0][col], "kernel", "question {id}: {:?}", q.table[0]);
            for row in &q.table[1..] {
                assert!(names.contains(&row[col].as_str()), "question {id}: {row:?}");
            }
        }
        // Questions 2 and 7 have every profile for every race.
        assert_eq!(
            r.questions[1].table.len(),
            1 + RACES.len() * Kernel::ALL.len()
        );
        assert_eq!(r.questions[6].table.len(), 1 + Q7.len() * Kernel::ALL.len());
        // The kernel's-own table: a column per profile, a row per scenario,
        // no cell missing.
        assert_eq!(r.own_flush.table.len(), 1 + Kind::ALL.len());
        assert_eq!(r.own_flush.table[0].len(), 1 + Kernel::ALL.len());
        assert!(r.own_flush.table.iter().flatten().all(|x| x != "-"));
        let text = r.text();
        assert!(text.contains("## Each kernel with its own flush_dcache_page"));
        assert!(text.contains("scenario      kernel  strategy"), "{text}");
        // Every replay of a later profile names it.
        for c in r.cells.iter().filter(|c| c.report.failing > 0) {
            let replay = c.replay().unwrap();
            assert_eq!(
                replay.contains("--kernel"),
                c.params.kernel != Kernel::V2_6_14,
                "{replay}"
            );
            assert!(!replay.contains("--page-flush"), "{replay}");
        }
        let j = r.json();
        assert!(j["own_flush_dcache_page"]["table"].is_array());
        assert!(j["cells"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| names.contains(&c["kernel"].as_str().unwrap())));
    }
}
