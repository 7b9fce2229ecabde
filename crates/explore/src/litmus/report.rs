//! `vipt report --scenarios DIR`: every scenario file of a directory on
//! every kernel profile and built-in strategy, as a verdict matrix with the
//! failing cells' minimal schedules and replay commands.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use vipt_mm::Kernel;

use super::{Litmus, LitmusError};
use crate::report::{table_text, STRATEGIES};
use crate::scenario::Params;
use crate::search::{minimal, Config, Mode, Report, Verdict};
use crate::target::Target;

/// One file on one profile with one strategy.
#[derive(Debug, Clone)]
pub struct FileCell {
    /// The file as given.
    pub file: String,
    /// Its scenario name.
    pub name: String,
    /// The profile.
    pub kernel: Kernel,
    /// The strategy.
    pub strategy: String,
    /// The search's report.
    pub report: Report,
    /// The minimal failing schedule, its preemptions, whether proven
    /// minimal, and the replay command.
    pub minimal: Option<(String, usize, bool, String)>,
}

impl FileCell {
    /// `pass`, `FAIL failing/explored` or `incomplete`.
    pub fn verdict_text(&self) -> String {
        match self.report.verdict() {
            Verdict::Fail => format!("FAIL {}/{}", self.report.failing, self.report.executions),
            Verdict::Pass => "pass".into(),
            Verdict::Inconclusive => "incomplete".into(),
        }
    }
}

/// The failure to quote for a search: the most frequent kind, the
/// model's own checks before a file's `exists`/`forall` where they tie,
/// with how many other kinds there were.
pub fn main_failure(kinds: &std::collections::BTreeMap<String, u64>) -> String {
    let own = |k: &str| k.starts_with("exists ") || k.starts_with("forall ");
    let best = kinds
        .iter()
        .max_by(|a, b| {
            a.1.cmp(b.1)
                .then(own(b.0).cmp(&own(a.0)))
                .then(b.0.cmp(a.0))
        })
        .map_or(String::new(), |(k, _)| k.clone());
    match kinds.len() {
        0 | 1 => best,
        n => format!("{best} (and {} other kinds)", n - 1),
    }
}

/// The `.vipt` files of `dir`, sorted by name.
pub fn files_in(dir: &Path) -> Result<Vec<PathBuf>, LitmusError> {
    let err = |msg: String| LitmusError {
        file: dir.display().to_string(),
        pos: None,
        msg,
    };
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| err(e.to_string()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "vipt"))
        .collect();
    v.sort();
    if v.is_empty() {
        return Err(err("no scenario files (*.vipt) here".into()));
    }
    Ok(v)
}

/// Explores every file on every profile with every built-in strategy,
/// exhaustively within `bound` (no sleep sets) and `budget` executions a
/// cell; `progress(done, total)` after each cell. Every file is read and
/// checked before the first search.
pub fn run_files(
    files: &[PathBuf],
    bound: u32,
    budget: u64,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Vec<FileCell>, LitmusError> {
    let parsed = files
        .iter()
        .map(|p| Litmus::load(p))
        .collect::<Result<Vec<_>, _>>()?;
    // Every binding first, so a file that cannot run is refused up front.
    let mut plan = Vec::new();
    for l in &parsed {
        for kernel in Kernel::ALL {
            for st in STRATEGIES.iter().take(5) {
                let p = Params {
                    kernel,
                    page_flush: kernel.flush_only_ptes(),
                    ..l.defaults
                };
                plan.push((l, kernel, *st, l.bind(st, p)?));
            }
        }
    }
    let cfg = Config {
        mode: Mode::Exhaustive {
            bound: Some(bound),
            reduction: false,
        },
        budget,
        ..Config::default()
    };
    let total = plan.len();
    let mut cells = Vec::with_capacity(total);
    for (i, (l, kernel, st, sc)) in plan.into_iter().enumerate() {
        let t = Target::File(sc);
        let err = |msg: String| LitmusError {
            file: l.file.clone(),
            pos: None,
            msg,
        };
        let report = crate::search::explore(&t, &cfg, None).map_err(err)?;
        let minimal = minimal(&t, &report, 5_000, cfg.max_steps)
            .map_err(err)?
            .map(|m| {
                let s = m.schedule.to_string();
                let cmd = format!("vipt replay {} {s}", t.flags());
                (s, m.preemptions, m.proven, cmd)
            });
        cells.push(FileCell {
            file: l.file.clone(),
            name: l.name().to_string(),
            kernel,
            strategy: st.to_string(),
            report,
            minimal,
        });
        progress(i + 1, total);
    }
    Ok(cells)
}

/// The verdict matrix: a row per file and profile, a column per strategy.
pub fn matrix(cells: &[FileCell]) -> Vec<Vec<String>> {
    let mut head = vec!["scenario".to_string(), "file".into(), "kernel".into()];
    head.extend(STRATEGIES.iter().take(5).map(|s| s.to_string()));
    let mut t = vec![head];
    let mut rows: Vec<(String, Kernel)> = Vec::new();
    for c in cells {
        if !rows.contains(&(c.file.clone(), c.kernel)) {
            rows.push((c.file.clone(), c.kernel));
        }
    }
    for (file, kernel) in rows {
        let mine: Vec<&FileCell> = cells
            .iter()
            .filter(|c| c.file == file && c.kernel == kernel)
            .collect();
        let mut row = vec![
            mine.first().map_or(String::new(), |c| c.name.clone()),
            file.clone(),
            kernel.to_string(),
        ];
        for st in STRATEGIES.iter().take(5) {
            row.push(
                mine.iter()
                    .find(|c| c.strategy == *st)
                    .map_or(String::new(), |c| c.verdict_text()),
            );
        }
        t.push(row);
    }
    t
}

/// The report as text: what was searched, the matrix, the failing cells.
pub fn text(cells: &[FileCell], bound: u32, budget: u64) -> String {
    let files = {
        let mut f: Vec<&str> = cells.iter().map(|c| c.file.as_str()).collect();
        f.dedup();
        f.len()
    };
    let incomplete = cells
        .iter()
        .filter(|c| c.report.verdict() == Verdict::Inconclusive)
        .count();
    let failing: Vec<&FileCell> = cells.iter().filter(|c| c.minimal.is_some()).collect();
    let mut s = format!(
        "# Scenario files\n\n{files} files × {} kernels × 5 strategies = {} cells, each explored exhaustively within preemption bound {bound} (no sleep sets; at most {budget} executions a cell). A pass is a proof within the bound; {} cells ran out of budget (incomplete) and prove nothing; {} cells fail.\n\n",
        Kernel::ALL.len(),
        cells.len(),
        incomplete,
        failing.len()
    );
    s += &table_text(&matrix(cells));
    if !failing.is_empty() {
        s += "\n## Failing cells\n\n";
        for c in failing {
            let Some((_, pre, proven, cmd)) = &c.minimal else {
                continue;
            };
            let what = main_failure(&c.report.failure_kinds);
            s += &format!(
                "- {} / {} / {}: {} — {what}\n  {} ({pre} preemptions): `{cmd}`\n",
                c.name,
                c.kernel,
                c.strategy,
                c.verdict_text(),
                if *proven {
                    "minimal"
                } else {
                    "fewest preemptions found"
                }
            );
        }
    }
    s
}

/// The report as JSON: `{"verdicts": matrix, "cells": [...]}`.
pub fn json(cells: &[FileCell], bound: u32, budget: u64) -> Value {
    json!({
        "bound": bound,
        "budget": budget,
        "verdicts": matrix(cells),
        "cells": cells.iter().map(|c| json!({
            "scenario": c.name,
            "file": c.file,
            "kernel": c.kernel.to_string(),
            "strategy": c.strategy,
            "verdict": c.report.verdict().name(),
            "coverage": c.report.coverage.json(),
            "explored": c.report.executions,
            "failing": c.report.failing,
            "failures": c.report.failure_kinds,
            "schedule": c.minimal.as_ref().map(|m| m.0.clone()),
            "preemptions": c.minimal.as_ref().map(|m| m.1),
            "minimal": c.minimal.as_ref().map(|m| m.2),
            "replay": c.minimal.as_ref().map(|m| m.3.clone()),
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quoted_failure_is_the_most_frequent_and_the_models_on_a_tie() {
        let mut k = std::collections::BTreeMap::new();
        assert_eq!(main_failure(&k), "");
        k.insert("forall (x == 1) does not hold: x=0x2".to_string(), 3);
        assert_eq!(main_failure(&k), "forall (x == 1) does not hold: x=0x2");
        k.insert("stale read: …".to_string(), 3);
        assert_eq!(main_failure(&k), "stale read: … (and 1 other kinds)");
        k.insert("lock order: …".to_string(), 5);
        assert_eq!(main_failure(&k), "lock order: … (and 2 other kinds)");
    }
}
