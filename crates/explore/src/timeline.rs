//! Per-CPU timelines of an execution: text (one column per CPU) and an SVG
//! swim-lane picture (one lane per CPU, time to the right).

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
fn kind_name(k: OpKind) -> String {
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

/// The text timeline: a row per segment, in its CPU's column.
pub fn text(steps: &[Step], cpus: usize, names: &[&str]) -> String {
    const COL: usize = 44;
    let mut s = String::new();
    let _ = write!(s, "{:>9}  ", "step");
    for c in 0..cpus {
        let name = names.get(c).copied().unwrap_or("");
        let h = format!("{} CPU{c} {name}", (b'a' + c as u8) as char);
        let _ = write!(s, "{h:<COL$}");
    }
    s.push('\n');
    for seg in segments(steps) {
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
    }
    s.push_str("(» marks a preemption)\n");
    s
}

/// The ladder kernel commit messages draw a race with: a column per CPU,
/// headed by the CPU and what it runs, a row per segment (function and
/// operations) in its CPU's column, in step order; each column
/// `width` characters (at least 16), cells cut with "…". No step numbers or
/// Rust names: ready to paste.
pub fn ladder(steps: &[Step], cpus: usize, names: &[&str], width: usize) -> String {
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
    for seg in segments(steps) {
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

/// The SVG swim-lane picture: a lane per CPU, a box per step coloured by
/// the kind of operation, each function's name above its run.
pub fn svg(steps: &[Step], cpus: usize, names: &[&str], title: &str) -> String {
    let (w, lane, left, top) = (14usize, 70usize, 150usize, 50usize);
    let width = left + w * steps.len().max(1) + 20;
    let height = top + lane * cpus + 90;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="monospace" font-size="11">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="10" y="20" font-size="14">{}</text>"#,
        esc(title)
    );
    for c in 0..cpus {
        let y = top + c * lane;
        let name = names.get(c).copied().unwrap_or("");
        let _ = writeln!(
            s,
            r##"<line x1="{left}" y1="{}" x2="{}" y2="{}" stroke="#ddd"/><text x="10" y="{}">{} CPU{c} {}</text>"##,
            y + 40,
            width - 10,
            y + 40,
            y + 44,
            (b'a' + c as u8) as char,
            esc(name)
        );
    }
    for (i, st) in steps.iter().enumerate() {
        let x = left + i * w;
        let y = top + st.cpu * lane + 30;
        let _ = writeln!(
            s,
            r#"<rect x="{x}" y="{y}" width="{}" height="20" fill="{}"><title>{i}: {}</title></rect>"#,
            w - 2,
            colour(st.op.kind),
            esc(&st.op.to_string())
        );
        if st.preemption {
            let _ = writeln!(
                s,
                r#"<line x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="red" stroke-width="2"/>"#,
                top,
                top + lane * cpus
            );
        }
    }
    for seg in segments(steps) {
        let x = left + seg.first * w;
        let y = top + seg.cpu * lane + 25 - (seg.first % 2) * 10;
        let _ = writeln!(
            s,
            r#"<text x="{x}" y="{y}" font-size="9">{}</text>"#,
            esc(seg.what)
        );
    }
    let legend = [
        ("pte read", OpKind::PteRead),
        ("pte write", OpKind::PteWrite),
        ("fdc", OpKind::Fdc),
        ("TLB purge", OpKind::TlbPurge),
        ("user access", OpKind::UserLoad),
        ("kernel access", OpKind::KernelAccess),
        ("coherence point", OpKind::CoherencePoint),
        ("page/structure", OpKind::Page),
        ("move-in", OpKind::MoveIn),
    ];
    let ly = top + lane * cpus + 30;
    for (i, (n, k)) in legend.iter().enumerate() {
        let x = 10 + i * 110;
        let _ = writeln!(
            s,
            r#"<rect x="{x}" y="{ly}" width="12" height="12" fill="{}"/><text x="{}" y="{}">{n}</text>"#,
            colour(*k),
            x + 16,
            ly + 10
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="10" y="{}">red line: preemption</text>"#,
        ly + 35
    );
    s.push_str("</svg>\n");
    s
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
        let t = text(&steps, 2, &["w", "r"]);
        assert!(t.lines().nth(2).unwrap().contains("»g: pte write"));
        let pic = svg(&steps, 2, &["w", "r"], "t");
        assert_eq!(pic.matches("<title>").count(), steps.len());
        assert_eq!(pic.matches(r#"stroke="red""#).count(), 1);
        assert!(pic.trim_end().ends_with("</svg>"));
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
