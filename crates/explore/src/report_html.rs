//! `vipt report --out DIR`'s `report.html`: the report as one page a
//! maintainer reads in a minute. The verdict matrix first, coloured; then a
//! section per question, its finding first and its table after (question 4
//! with the cost plot before its table); the kernels' own flushes; and every
//! failing cell with its replay command and its timeline. The pictures are
//! the files `--out` writes beside the page (`cost.svg`, one SVG per failing
//! cell), referenced by name, so the directory is the whole report.

use std::fmt::Write;

use crate::report::{Cell, FullReport, Question, Section};

/// HTML text: `&`, `<`, `>` and quotes escaped.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// The class of a verdict-matrix entry, for its colour.
fn verdict_class(entry: &str) -> &'static str {
    if entry.starts_with("FAIL") || entry == "fail" {
        "fail"
    } else if entry == "pass" {
        "pass"
    } else if entry.is_empty() {
        "none"
    } else {
        "incomplete"
    }
}

/// The class of a question table's entry that opens with a verdict
/// ("pass", "FAIL 3/10", "fail"), for its colour; none for the rest.
fn verdict_word(_: usize, _: usize, x: &str) -> Option<&'static str> {
    let k = verdict_class(x.split_whitespace().next().unwrap_or(""));
    matches!(k, "pass" | "fail").then_some(k)
}

/// A table: its first row the header. `classes` gives an entry's class
/// (row and column of the body, from 0), or none.
fn table(
    t: &[Vec<String>],
    classes: &dyn Fn(usize, usize, &str) -> Option<&'static str>,
) -> String {
    let mut s = String::from("<table>\n");
    if let Some((head, rows)) = t.split_first() {
        s += "<thead><tr>";
        for h in head {
            let _ = write!(s, "<th>{}</th>", esc(h));
        }
        s += "</tr></thead>\n<tbody>\n";
        for (r, row) in rows.iter().enumerate() {
            s += "<tr>";
            for (c, x) in row.iter().enumerate() {
                match classes(r, c, x) {
                    Some(k) => {
                        let _ = write!(s, r#"<td class="{k}">{}</td>"#, esc(x));
                    }
                    None => {
                        let _ = write!(s, "<td>{}</td>", esc(x));
                    }
                }
            }
            s += "</tr>\n";
        }
        s += "</tbody>\n";
    }
    s + "</table>\n"
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;max-width:110em;color:#222}\
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ccc}\
p.finding{font-size:1.05em;max-width:60em;line-height:1.45}\
table{border-collapse:collapse;font-size:.85em;margin:.6em 0}\
th,td{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}\
th{background:#f0f0f0}td.pass{background:#dff0d8}td.fail{background:#f2dede;font-weight:bold}\
td.incomplete{background:#fcf8e3}td.none{background:#fafafa}\
code{font-size:.9em;background:#f6f6f6;padding:0 .2em}\
img{max-width:100%;border:1px solid #ddd;margin:.5em 0}nav a{margin-right:1em}\
.counts span{margin-right:1.5em}";

/// The section of a question: its finding, then (for question 4) the cost
/// plot, then its table.
fn question(q: &Question) -> String {
    let mut s = format!(
        "<section id=\"q{}\">\n<h2>Question {}: {}</h2>\n<p class=\"finding\">{}</p>\n",
        q.id,
        q.id,
        esc(&q.title),
        esc(&q.answer)
    );
    if q.id == 4 {
        s += "<img src=\"cost.svg\" alt=\"fdc issued against vmas, per strategy\">\n";
    }
    s += &table(&q.table, &verdict_word);
    s + "</section>\n"
}

fn section(id: &str, sec: &Section) -> String {
    format!(
        "<section id=\"{id}\">\n<h2>{}</h2>\n<p class=\"finding\">{}</p>\n{}</section>\n",
        esc(&sec.title),
        esc(&sec.answer),
        table(&sec.table, &verdict_word)
    )
}

/// A failing cell's row: what failed and where, the replay command, and its
/// timeline (the file `timeline` names, if it was written).
fn failing_cell(c: &Cell, timeline: Option<&str>) -> String {
    let mut s = format!(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"fail\">{}/{}</td><td>{}</td><td><code>{}</code></td><td>",
        esc(c.scenario),
        esc(&c.params.kernel.to_string()),
        esc(&c.strategy),
        esc(&crate::report::cell_params(c)),
        c.report.failing,
        c.report.executions,
        esc(c.failures.first().and_then(|k| k.lines().next()).unwrap_or("")),
        esc(&c.replay().unwrap_or_default()),
    );
    if let Some(t) = timeline {
        let _ = write!(
            s,
            "<details><summary>timeline</summary><img src=\"{}\" alt=\"timeline of {} / {}\" loading=\"lazy\"></details>",
            esc(t),
            esc(c.scenario),
            esc(&c.strategy)
        );
    }
    s + "</td></tr>\n"
}

/// The page. `timelines[i]` is the file name of cell `i`'s timeline, where
/// one was written.
pub fn page(r: &FullReport, timelines: &[Option<String>]) -> String {
    let mut s =
        String::from("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = writeln!(
        s,
        "<title>vipt report</title>\n<style>{STYLE}</style>\n</head>\n<body>"
    );
    s += "<h1>vipt report: the seed thread's questions, answered by the model</h1>\n";
    let _ = writeln!(s, "<p>{}</p>", esc(&r.header_text()));
    let (fails, passes, incomplete) = r.verdict_counts();
    let _ = writeln!(
        s,
        "<p class=\"counts\"><span id=\"cells\">{} cells</span><span id=\"fails\">{fails} FAIL</span><span id=\"passes\">{passes} pass</span><span id=\"incomplete\">{incomplete} incomplete</span></p>",
        r.cells.len()
    );
    s += "<nav><a href=\"#verdicts\">verdicts</a>";
    for q in &r.questions {
        let _ = write!(s, "<a href=\"#q{}\">Q{}</a>", q.id, q.id);
    }
    s += "<a href=\"#own\">kernels' own</a><a href=\"#failing\">failing cells</a></nav>\n";
    s += "<section id=\"verdicts\">\n<h2>Verdicts at a glance</h2>\n";
    let _ = writeln!(
        s,
        "<p class=\"finding\">A row per scenario, kernel and parameters; a column per strategy: pass ({}), FAIL failing/explored, or incomplete (a budget ran out, or only the partial search ran: no claim).</p>",
        esc(&crate::report::coverage_header(r.budget.bound))
    );
    s += &table(&r.verdict_matrix(), &|_, c, x| {
        (c >= 3).then(|| verdict_class(x))
    });
    s += "</section>\n";
    for q in &r.questions {
        s += &question(q);
    }
    s += &section("own", &r.own_flush);
    s += "<section id=\"failing\">\n<h2>Every failing cell, with the command that replays its minimal schedule</h2>\n<table>\n<thead><tr><th>scenario</th><th>kernel</th><th>strategy</th><th>params</th><th>failing/explored</th><th>failure</th><th>replay</th><th>timeline</th></tr></thead>\n<tbody>\n";
    for (i, c) in r.cells.iter().enumerate() {
        if c.report.failing > 0 {
            s += &failing_cell(c, timelines.get(i).and_then(|t| t.as_deref()));
        }
    }
    s += "</tbody>\n</table>\n</section>\n";
    s + "</body>\n</html>\n"
}
