//! Per-CPU timelines of an execution: text (one column per CPU), the ladder
//! of kernel commit messages, an SVG swim-lane picture (one lane per CPU,
//! time to the right), and Chrome trace-event JSON for Perfetto.

use std::fmt::Write;

use vipt_mm::OpKind;

use crate::engine::Step;

/// A run of consecutive steps of one CPU in one kernel function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// The CPU.
    pub cpu: usize,
    /// First step.
    pub first: usize,
    /// Last step.
    pub last: usize,
    /// The function.
    pub what: &'static str,
    /// The operations, as "Kind" or "Kind×n".
    pub ops: String,
    /// The segment starts with a preemption.
    pub preempted: bool,
}

/// An operation as a kernel developer reads it: locks by their kernel names
/// (`lock tree_lock`, `read-lock tree_lock`, `unlock PG_locked`), the rest
/// as the instruction or access it is (`pte read`, `fdc`, `pdtlb`, …).
pub(crate) fn kind_name(k: OpKind) -> String {
    let s = match k {
        OpKind::Lock { class, shared } => {
            return format!("{}lock {}", if shared { "read-" } else { "" }, class.name());
        }
        OpKind::Unlock { class } => return format!("unlock {}", class.name()),
        OpKind::PteRead => "pte read",
        OpKind::PteWrite => "pte write",
        OpKind::UserLoad => "user load",
        OpKind::UserStore => "user store",
        OpKind::KernelAccess => "kernel access",
        OpKind::Fdc => "fdc",
        OpKind::FlushAll => "flush_cache_all",
        OpKind::TlbPurge => "pdtlb",
        OpKind::TmpaliasMap => "tmpalias map",
        OpKind::Page => "struct page",
        OpKind::Structure => "i_mmap/page cache",
        OpKind::CoherencePoint => "coherence point",
        OpKind::MoveIn => "move-in",
    };
    s.to_string()
}

/// Groups steps into segments.
pub fn segments(steps: &[Step]) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    let mut kinds: Vec<(String, usize)> = Vec::new();
    let flush = |seg: &mut Segment, kinds: &mut Vec<(String, usize)>| {
        seg.ops = kinds
            .iter()
            .map(|(k, n)| {
                if *n > 1 {
                    format!("{k}×{n}")
                } else {
                    k.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        kinds.clear();
    };
    for (i, s) in steps.iter().enumerate() {
        let k = kind_name(s.op.kind);
        match out.last_mut() {
            Some(seg) if seg.cpu == s.cpu && seg.what == s.op.what => {
                seg.last = i;
            }
            last => {
                if let Some(seg) = last {
                    flush(seg, &mut kinds);
                }
                out.push(Segment {
                    cpu: s.cpu,
                    first: i,
                    last: i,
                    what: s.op.what,
                    ops: String::new(),
                    preempted: s.preemption,
                });
            }
        }
        match kinds.last_mut() {
            Some((pk, n)) if *pk == k => *n += 1,
            _ => kinds.push((k, 1)),
        }
    }
    if let Some(seg) = out.last_mut() {
        flush(seg, &mut kinds);
    }
    out
}

/// The marker row of a failing check: after the segment holding its step,
/// or after the last for the final read. `at` is the segment's index.
fn check_row(check: Option<Check<'_>>, segs: &[Segment], at: usize) -> Option<(usize, String)> {
    let c = check?;
    let last = segs.len().checked_sub(1)?;
    let here = match c.step {
        Some(i) => segs[at].first <= i && i <= segs[at].last,
        None => at == last,
    };
    here.then(|| {
        let label = match c.step {
            Some(i) => format!("✗ failing check at step {i}"),
            None => "✗ failing check (final read)".to_string(),
        };
        (c.cpu, label)
    })
}

/// The text timeline: a row per segment, in its CPU's column, and the
/// failing check's row in its CPU's column where it failed.
pub fn text(steps: &[Step], cpus: usize, names: &[&str], check: Option<Check<'_>>) -> String {
    const COL: usize = 44;
    let mut s = String::new();
    let _ = write!(s, "{:>9}  ", "step");
    for c in 0..cpus {
        let name = names.get(c).copied().unwrap_or("");
        let h = format!("{} CPU{c} {name}", (b'a' + c as u8) as char);
        let _ = write!(s, "{h:<COL$}");
    }
    s.push('\n');
    let segs = segments(steps);
    for (at, seg) in segs.iter().enumerate() {
        let range = if seg.first == seg.last {
            format!("{}", seg.first)
        } else {
            format!("{}-{}", seg.first, seg.last)
        };
        let mark = if seg.preempted { "»" } else { " " };
        let mut cell = format!("{mark}{}: {}", seg.what, seg.ops);
        if cell.chars().count() > COL * (cpus - seg.cpu) - 1 {
            cell = cell
                .chars()
                .take(COL * (cpus - seg.cpu) - 2)
                .collect::<String>()
                + "…";
        }
        let _ = writeln!(
            s,
            "{range:>9}  {:indent$}{cell}",
            "",
            indent = COL * seg.cpu
        );
        if let Some((cpu, label)) = check_row(check, &segs, at) {
            let _ = writeln!(
                s,
                "{:>9}  {:indent$} {label}",
                "",
                "",
                indent = COL * cpu.min(cpus.saturating_sub(1))
            );
        }
    }
    s.push_str("(» marks a preemption)\n");
    s
}

/// The ladder kernel commit messages draw a race with: a column per CPU,
/// headed by the CPU and what it runs, a row per segment (function and
/// operations) in its CPU's column, in step order; each column
/// `width` characters (at least 16), cells cut with "…", and the failing
/// check's row (`<<< stale read`) in its CPU's column where it failed. No
/// step numbers or Rust names: ready to paste.
pub fn ladder(
    steps: &[Step],
    cpus: usize,
    names: &[&str],
    width: usize,
    check: Option<Check<'_>>,
) -> String {
    let w = width.max(16);
    let fit = |t: &str| {
        if t.chars().count() <= w - 2 {
            t.to_string()
        } else {
            t.chars().take(w - 3).collect::<String>() + "…"
        }
    };
    let row = |cells: &[String]| {
        let mut line = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                line += c;
            } else {
                let pad = w.saturating_sub(c.chars().count());
                line += c;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        line.trim_end().to_string()
    };
    let mut s = String::new();
    let heads: Vec<String> = (0..cpus).map(|c| format!("CPU{c}")).collect();
    let _ = writeln!(s, "{}", row(&heads));
    let roles: Vec<String> = (0..cpus)
        .map(|c| fit(names.get(c).copied().unwrap_or("")))
        .collect();
    let _ = writeln!(s, "{}", row(&roles));
    let dashes: Vec<String> = (0..cpus).map(|_| "-".repeat(w - 2)).collect();
    let _ = writeln!(s, "{}", row(&dashes));
    let segs = segments(steps);
    for (at, seg) in segs.iter().enumerate() {
        let whole = format!("{}: {}", seg.what, seg.ops);
        // Too long for the column: the function, then its operations.
        let lines = if whole.chars().count() <= w - 2 {
            vec![whole]
        } else {
            vec![format!("{}:", seg.what), format!("  {}", seg.ops)]
        };
        for l in lines {
            let mut cells = vec![String::new(); seg.cpu + 1];
            cells[seg.cpu] = fit(&l);
            let _ = writeln!(s, "{}", row(&cells));
        }
        if let Some((cpu, _)) = check_row(check, &segs, at) {
            let cpu = cpu.min(cpus.saturating_sub(1));
            let mut cells = vec![String::new(); cpu + 1];
            cells[cpu] = fit(if check.is_some_and(|c| c.step.is_none()) {
                "<<< final read: stale"
            } else {
                "<<< stale read"
            });
            let _ = writeln!(s, "{}", row(&cells));
        }
    }
    s
}

fn colour(k: OpKind) -> &'static str {
    match k {
        OpKind::PteRead => "#9ecae1",
        OpKind::PteWrite => "#de2d26",
        OpKind::Lock { .. } => "#636363",
        OpKind::Unlock { .. } => "#bdbdbd",
        OpKind::UserLoad | OpKind::UserStore => "#31a354",
        OpKind::KernelAccess => "#756bb1",
        OpKind::Fdc | OpKind::FlushAll => "#fd8d3c",
        OpKind::TlbPurge => "#e6550d",
        OpKind::TmpaliasMap => "#fdd0a2",
        OpKind::Page | OpKind::Structure => "#c7e9c0",
        OpKind::CoherencePoint => "#000000",
        OpKind::MoveIn => "#f768a1",
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The failing check to mark on a timeline: the CPU that made it, the step
/// it failed at (none for the final read after every CPU finished), and the
/// words.
#[derive(Debug, Clone, Copy)]
pub struct Check<'a> {
    /// The CPU (its lane).
    pub cpu: usize,
    /// The step (an index of the run's steps) during which it failed; `None`
    /// for the final read, marked at the end of the lane.
    pub step: Option<usize>,
    /// What failed, one line.
    pub text: &'a str,
}

/// Approximate advance of a monospace character at `size` px.
fn char_w(size: f64) -> f64 {
    size * 0.61
}

/// The swim-lane picture: a lane per CPU headed by what it runs, a bar per
/// step coloured by its kind, each segment's function written above its
/// first step (slanted, so neighbours do not overlap), a red line at each
/// preemption, a step axis, a legend of every kind, and the failing check
/// marked and written under it.
pub fn svg(
    steps: &[Step],
    cpus: usize,
    names: &[&str],
    title: &str,
    check: Option<Check<'_>>,
) -> String {
    let w = 14.0;
    let heads: Vec<String> = (0..cpus)
        .map(|c| {
            format!(
                "{} CPU{c} {}",
                (b'a' + c as u8) as char,
                names.get(c).copied().unwrap_or("")
            )
        })
        .collect();
    let left = 20.0
        + heads
            .iter()
            .map(|h| h.chars().count() as f64 * char_w(11.0))
            .fold(0.0, f64::max);
    let segs = segments(steps);
    // Labels slant at 60°: their height is their length times sin 60°.
    let longest = segs
        .iter()
        .map(|g| g.what.chars().count())
        .max()
        .unwrap_or(0)
        .min(40) as f64;
    let label_h = longest * char_w(10.0) * 0.87 + 8.0;
    let lane = label_h + 34.0;
    let top = 40.0;
    let n = steps.len().max(1) as f64;
    let chart_right = left + w * n + 30.0;
    let legend: [(&str, OpKind); 12] = [
        ("pte read", OpKind::PteRead),
        ("pte write", OpKind::PteWrite),
        (
            "lock",
            OpKind::Lock {
                class: vipt_mm::LockClass::PteLock,
                shared: false,
            },
        ),
        (
            "unlock",
            OpKind::Unlock {
                class: vipt_mm::LockClass::PteLock,
            },
        ),
        ("user access", OpKind::UserLoad),
        ("kernel access", OpKind::KernelAccess),
        ("fdc / flush", OpKind::Fdc),
        ("TLB purge", OpKind::TlbPurge),
        ("tmpalias map", OpKind::TmpaliasMap),
        ("struct page / structure", OpKind::Page),
        ("coherence point", OpKind::CoherencePoint),
        ("move-in", OpKind::MoveIn),
    ];
    let title_w = 20.0 + title.chars().count() as f64 * char_w(14.0);
    let check_w = check.map_or(0.0, |c| 30.0 + c.text.chars().count() as f64 * char_w(11.0));
    // A label slanted from the last step reaches half its length right.
    let label_right = left + w * n + 10.0 + longest * char_w(10.0) * 0.5;
    let width = chart_right
        .max(label_right)
        .max(title_w)
        .max(check_w)
        .max(640.0)
        .ceil();
    // The legend, wrapped to the width.
    let mut items = Vec::new();
    let (mut lx, mut lrow) = (10.0, 0usize);
    for (name, k) in legend {
        let adv = 16.0 + name.chars().count() as f64 * char_w(11.0) + 18.0;
        if lx + adv > width - 10.0 && lx > 10.0 {
            lx = 10.0;
            lrow += 1;
        }
        items.push((lx, lrow, name, k));
        lx += adv;
    }
    let axis_y = top + lane * cpus as f64 + 4.0;
    let legend_y = axis_y + 30.0;
    let notes_y = legend_y + 20.0 * (lrow + 1) as f64 + 8.0;
    let height = (notes_y + if check.is_some() { 40.0 } else { 20.0 }).ceil();
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="monospace" font-size="11">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="10" y="22" font-size="14">{}</text>"#,
        esc(title)
    );
    let bar_y = |c: usize| top + c as f64 * lane + label_h;
    for (c, h) in heads.iter().enumerate() {
        let y = bar_y(c);
        let _ = writeln!(
            s,
            r##"<line x1="{left}" y1="{}" x2="{}" y2="{}" stroke="#ddd"/><text x="10" y="{}">{}</text>"##,
            y + 10.0,
            chart_right - 10.0,
            y + 10.0,
            y + 14.0,
            esc(h)
        );
    }
    for (i, st) in steps.iter().enumerate() {
        let x = left + i as f64 * w;
        let _ = writeln!(
            s,
            r#"<rect x="{x}" y="{}" width="{}" height="20" fill="{}"><title>{i}: {}</title></rect>"#,
            bar_y(st.cpu),
            w - 2.0,
            colour(st.op.kind),
            esc(&st.op.to_string())
        );
        if st.preemption {
            let _ = writeln!(
                s,
                r#"<line x1="{x}" y1="{top}" x2="{x}" y2="{}" stroke="red" stroke-width="2"/>"#,
                axis_y
            );
        }
    }
    for g in &segs {
        let x = left + g.first as f64 * w + 4.0;
        let y = bar_y(g.cpu) - 4.0;
        let what: String = g.what.chars().take(40).collect();
        let _ = writeln!(
            s,
            r#"<text x="{x}" y="{y}" font-size="10" transform="rotate(-60 {x} {y})"><title>{}: {}</title>{}</text>"#,
            esc(g.what),
            esc(&g.ops),
            esc(&what)
        );
    }
    // The step axis: a tick every 5 steps.
    let _ = writeln!(
        s,
        r##"<line x1="{left}" y1="{axis_y}" x2="{}" y2="{axis_y}" stroke="#999"/>"##,
        left + w * n
    );
    for i in (0..steps.len().max(1)).step_by(5) {
        let x = left + i as f64 * w;
        let _ = writeln!(
            s,
            r##"<line x1="{x}" y1="{axis_y}" x2="{x}" y2="{}" stroke="#999"/><text x="{x}" y="{}" font-size="9" fill="#555">{i}</text>"##,
            axis_y + 4.0,
            axis_y + 14.0
        );
    }
    let _ = writeln!(
        s,
        r##"<text x="{}" y="{}" font-size="9" fill="#555">step</text>"##,
        left + w * n + 6.0,
        axis_y + 14.0
    );
    for (x, row, name, k) in items {
        let y = legend_y + row as f64 * 20.0;
        let _ = writeln!(
            s,
            r#"<rect x="{x}" y="{y}" width="12" height="12" fill="{}"/><text x="{}" y="{}">{}</text>"#,
            colour(k),
            x + 16.0,
            y + 10.0,
            esc(name)
        );
    }
    let _ = writeln!(
        s,
        r#"<line x1="10" y1="{}" x2="24" y2="{}" stroke="red" stroke-width="2"/><text x="30" y="{}">preemption</text>"#,
        notes_y - 4.0,
        notes_y - 4.0,
        notes_y
    );
    if let Some(c) = check {
        if c.cpu < cpus {
            // Its step's bar outlined with the mark under it, or the mark
            // past the last bar for the final read.
            let y = bar_y(c.cpu);
            match c.step {
                Some(i) => {
                    let x = left + w * i.min(steps.len()) as f64;
                    let _ = writeln!(
                        s,
                        r#"<rect x="{}" y="{}" width="{w}" height="24" fill="none" stroke="red" stroke-width="2"/><text x="{}" y="{}" font-size="16" fill="red">✗</text>"#,
                        x - 1.0,
                        y - 2.0,
                        x + 1.0,
                        y + 36.0
                    );
                }
                None => {
                    let _ = writeln!(
                        s,
                        r#"<text x="{}" y="{}" font-size="16" fill="red">✗</text>"#,
                        left + w * n + 4.0,
                        y + 16.0
                    );
                }
            }
        }
        let _ = writeln!(
            s,
            r#"<text x="10" y="{}" fill="red">✗ {}</text>"#,
            notes_y + 22.0,
            esc(c.text)
        );
    }
    s.push_str("</svg>\n");
    s
}

/// The run as Chrome trace-event JSON, the format Perfetto
/// (ui.perfetto.dev) and `chrome://tracing` open: a thread per CPU named by
/// what it runs, a slice per segment (its kernel function) holding a slice
/// per step (its operation), an instant event at each preemption, and the
/// failing check as an instant event at its step (after the last step for
/// the final read). Trace time is the step number: one step is one
/// microsecond.
pub fn trace_json(
    steps: &[Step],
    cpus: usize,
    names: &[&str],
    title: &str,
    check: Option<Check<'_>>,
) -> serde_json::Value {
    use serde_json::json;
    let mut ev = vec![
        json!({"ph": "M", "name": "process_name", "pid": 1, "tid": 0, "args": {"name": title}}),
    ];
    for c in 0..cpus {
        let name = format!(
            "{} CPU{c} {}",
            (b'a' + c as u8) as char,
            names.get(c).copied().unwrap_or("")
        );
        ev.push(json!({"ph": "M", "name": "thread_name", "pid": 1, "tid": c, "args": {"name": name.trim_end()}}));
        ev.push(json!({"ph": "M", "name": "thread_sort_index", "pid": 1, "tid": c, "args": {"sort_index": c}}));
    }
    for seg in segments(steps) {
        ev.push(json!({
            "ph": "X", "cat": "function", "name": seg.what, "pid": 1, "tid": seg.cpu,
            "ts": seg.first, "dur": seg.last - seg.first + 1,
            "args": {"steps": format!("{}-{}", seg.first, seg.last), "operations": seg.ops},
        }));
        for (i, st) in steps.iter().enumerate().take(seg.last + 1).skip(seg.first) {
            ev.push(json!({
                "ph": "X", "cat": "operation", "name": kind_name(st.op.kind), "pid": 1,
                "tid": st.cpu, "ts": i, "dur": 1, "args": {"step": i, "function": st.op.what},
            }));
            if st.preemption {
                ev.push(json!({"ph": "i", "s": "t", "cat": "schedule", "name": "preemption", "pid": 1, "tid": st.cpu, "ts": i}));
            }
        }
    }
    if let Some(c) = check {
        let (ts, name) = match c.step {
            Some(i) => (i, "failing check"),
            None => (steps.len(), "failing check (final read)"),
        };
        ev.push(json!({"ph": "i", "s": "t", "cat": "oracle", "name": name, "pid": 1, "tid": c.cpu, "ts": ts, "args": {"check": c.text}}));
    }
    json!({"traceEvents": ev, "displayTimeUnit": "ns", "otherData": {"title": title, "time": "1 us of trace time is one step of the schedule"}})
}

#[cfg(test)]
mod tests {
    use super::*;
    use vipt_mm::{Footprint, Op};

    fn step(cpu: usize, kind: OpKind, what: &'static str, preemption: bool) -> Step {
        Step {
            cpu,
            op: Op::new(kind, what, Footprint::NONE),
            preemption,
        }
    }

    #[test]
    fn segments_group_runs_of_one_function_on_one_cpu() {
        let steps = [
            step(0, OpKind::Fdc, "f", false),
            step(0, OpKind::Fdc, "f", false),
            step(0, OpKind::PteRead, "f", false),
            step(1, OpKind::PteWrite, "g", true),
            step(0, OpKind::Fdc, "f", false),
        ];
        let s = segments(&steps);
        assert_eq!(s.len(), 3);
        assert_eq!(
            (s[0].first, s[0].last, s[0].ops.as_str()),
            (0, 2, "fdc×2, pte read")
        );
        assert!(s[1].preempted && s[1].cpu == 1);
        assert_eq!(s[2].first, 4);
        let t = text(&steps, 2, &["w", "r"], None);
        assert!(t.lines().nth(2).unwrap().contains("»g: pte write"));
        let pic = svg(&steps, 2, &["w", "r"], "t", None);
        // A bar per step, a slanted label per segment, a red line per
        // preemption and the legend's.
        assert_eq!(pic.matches("</title></rect>").count(), steps.len());
        assert_eq!(pic.matches("rotate(-60").count(), s.len());
        assert_eq!(pic.matches(r#"stroke="red""#).count(), 2);
        assert!(!pic.contains('✗'));
        assert!(pic.trim_end().ends_with("</svg>"));
    }

    /// Every label starts inside the picture, however long the title,
    /// the roles or the check; the check is marked in its CPU's lane and
    /// written under the legend; the legend names the lock colours.
    #[test]
    fn the_picture_holds_its_labels_and_marks_the_check() {
        let steps: Vec<Step> = (0..40)
            .map(|i| step(i % 3, OpKind::Fdc, "flush_kernel_dcache_page", i % 5 == 0))
            .collect();
        let title = "a title that is a good deal longer than forty steps of bars would be wide";
        let text = "failing check (final read): c CPU2 user access at va 0x4001b800 (pa 0x1800, colour 27) got 0x1, expected 0x2";
        let check = Check {
            cpu: 2,
            step: None,
            text,
        };
        let pic = svg(
            &steps,
            3,
            &["writer: write()", "racer: do_wp_page (A's COW)", "user"],
            title,
            Some(check),
        );
        let num = |s: &str, key: &str| -> f64 {
            let i = s.find(key).unwrap() + key.len();
            s[i..].split('"').next().unwrap().parse().unwrap()
        };
        let width = num(&pic, "width=\"");
        for t in pic.split("<text ").skip(1) {
            let x = num(t, "x=\"");
            assert!(x < width - 20.0, "{x} of {width}: {t}");
        }
        // Long texts fit: the picture is at least as wide as they are.
        assert!(width >= title.len() as f64 * char_w(14.0));
        assert!(width >= text.len() as f64 * char_w(11.0));
        assert_eq!(pic.matches('✗').count(), 2);
        assert!(pic.contains(">lock</text>") && pic.contains(">unlock</text>"));
        assert!(pic.contains(">step</text>"));
    }

    /// Timelines speak the kernel's names, never the enums' Debug text.
    #[test]
    fn operations_have_kernel_names() {
        use vipt_mm::LockClass;
        let lock = |class, shared| kind_name(OpKind::Lock { class, shared });
        assert_eq!(lock(LockClass::TreeLock, true), "read-lock tree_lock");
        assert_eq!(lock(LockClass::PgLocked, false), "lock PG_locked");
        assert_eq!(
            kind_name(OpKind::Unlock {
                class: LockClass::ISem
            }),
            "unlock i_sem"
        );
        for k in [
            OpKind::PteRead,
            OpKind::PteWrite,
            OpKind::UserLoad,
            OpKind::UserStore,
            OpKind::KernelAccess,
            OpKind::Fdc,
            OpKind::FlushAll,
            OpKind::TlbPurge,
            OpKind::TmpaliasMap,
            OpKind::Page,
            OpKind::Structure,
            OpKind::CoherencePoint,
            OpKind::MoveIn,
        ] {
            let n = kind_name(k);
            assert_ne!(n, format!("{k:?}"), "{n}");
            assert!(!n.chars().any(|c| c.is_ascii_uppercase()), "{n}");
        }
    }
}
