//! Question 4: what `flush_dcache_page` costs each strategy as the number of
//! vmas mapping the file grows and as fewer of them have a present pte.
//!
//! Deterministic, no racer: one `write()` into a page mapped shared by `n`
//! processes at congruent addresses, of which a fraction touched the page
//! (present pte) and the rest did not (none pte). The real PA-RISC geometry
//! is used (32-byte lines: 128 `fdc` per page flush).

use std::sync::Arc;

use vipt_cache::HwConfig;
use vipt_mm::filemap::sys_write;
use vipt_mm::mmap::do_mmap;
use vipt_mm::strategy::by_name;
use vipt_mm::{Cpu, Kernel, MapFlags, Prot, Recorder, World, WorldConfig};
use vipt_pte::PAGE_SIZE;

use crate::scenario::tree_lock_hold;

/// One point of the sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct CostPoint {
    /// The strategy.
    pub strategy: String,
    /// Vmas mapping the file.
    pub vmas: usize,
    /// Fraction of them with a present pte.
    pub present: f64,
    /// Colours the vmas' addresses fall into (1: all congruent; 2: every
    /// second vma placed by `MAP_FIXED` one page off).
    pub colours: usize,
    /// `fdc` issued by the write (kernel alias, user and tmpalias flushes).
    pub fdc_issued: u64,
    /// Of those, nullified.
    pub fdc_nullified: u64,
    /// TLB inserts (including tmpalias and flush-only ones).
    pub tlb_inserts: u64,
    /// TLB purges.
    pub tlb_purges: u64,
    /// i_mmap index nodes read.
    pub tree_nodes: u64,
    /// `translation_exists` calls.
    pub translation_checks: u64,
    /// Model steps the writer took while holding `tree_lock`
    /// (`flush_dcache_mmap_lock`): the lock hold time.
    pub lock_hold_steps: u64,
}

/// Whether vma `i` of `n` has a present pte at fraction `f` (spread evenly).
pub fn is_present(i: usize, f: f64) -> bool {
    ((i + 1) as f64 * f).floor() > (i as f64 * f).floor()
}

/// Measures one point on 2.6.14's profile.
pub fn measure(
    strategy: &str,
    vmas: usize,
    present: f64,
    colours: usize,
) -> Result<CostPoint, String> {
    measure_on(Kernel::V2_6_14, strategy, vmas, present, colours)
}

/// Measures one point on `kernel`'s profile (its `i_mmap` index and pte
/// locks; the strategy is the whole `flush_dcache_page`).
pub fn measure_on(
    kernel: Kernel,
    strategy: &str,
    vmas: usize,
    present: f64,
    colours: usize,
) -> Result<CostPoint, String> {
    if !(1..=256).contains(&vmas) || !(0.0..=1.0).contains(&present) || !(1..=2).contains(&colours)
    {
        return Err(format!(
            "vmas 1..=256, fraction 0..=1 and colours 1 or 2, not {vmas}, {present} and {colours}"
        ));
    }
    let s = by_name(strategy).ok_or_else(|| format!("unknown strategy {strategy:?}"))?;
    let rec = Arc::new(Recorder::new());
    let base = WorldConfig::for_kernel(kernel);
    let cfg = WorldConfig {
        hw: HwConfig {
            frames: 64 + 2 * vmas as u64,
            cpus: 2,
            ..base.hw
        },
        ..base
    };
    let w = World::with(cfg, s, rec.clone()).map_err(|e| e.to_string())?;
    let e = |e: vipt_mm::MmError| e.to_string();
    let f = w.new_file(1);
    let rw = Prot::PROT_READ.union(Prot::PROT_WRITE);
    let mut first = 0;
    for i in 0..vmas {
        let mut c = Cpu::new(&w, 1).map_err(e)?;
        c.use_mm(Some(w.new_mm()));
        let va = if colours == 2 && i % 2 == 1 {
            let fixed = first + (64 << 20) + PAGE_SIZE;
            let flags = MapFlags::MAP_SHARED | MapFlags::MAP_FIXED;
            do_mmap(&mut c, Some(&f), fixed, PAGE_SIZE, rw, flags, 0).map_err(e)?
        } else {
            do_mmap(&mut c, Some(&f), 0, PAGE_SIZE, rw, MapFlags::MAP_SHARED, 0).map_err(e)?
        };
        if i == 0 {
            first = va;
        }
        if is_present(i, present) {
            c.user_load(va, 8).map_err(e)?;
        }
    }
    if f.cached_pfn(0).is_none() {
        // No vma touched it: bring it into the page cache.
        let mut k = Cpu::new(&w, 0).map_err(e)?;
        vipt_mm::filemap::find_or_read_page(&mut k, &f, 0).map_err(e)?;
    }
    let before = (w.read_hw(|m| *m.counters()), w.stats.named());
    rec.clear();
    let mut k = Cpu::new(&w, 0).map_err(e)?;
    sys_write(&mut k, &f, 0, 0x5eed).map_err(e)?;
    let c = w.read_hw(|m| *m.counters());
    let stat = |name: &str| {
        let now = w
            .stats
            .named()
            .into_iter()
            .find(|(n, _)| *n == name)
            .map_or(0, |x| x.1);
        let was = before.1.iter().find(|(n, _)| *n == name).map_or(0, |x| x.1);
        now - was
    };
    // Only the writer runs after `clear`.
    let hold = tree_lock_hold(rec.ops().into_iter().map(|(c, op)| (c, op.kind)), 0);
    Ok(CostPoint {
        strategy: strategy.to_string(),
        vmas,
        present,
        colours,
        fdc_issued: c.fdc_issued - before.0.fdc_issued,
        fdc_nullified: c.fdc_nullified - before.0.fdc_nullified,
        tlb_inserts: c.tlb_inserts - before.0.tlb_inserts,
        tlb_purges: c.tlb_purges - before.0.tlb_purges,
        tree_nodes: stat("tree_nodes_visited"),
        translation_checks: stat("translation_checks"),
        lock_hold_steps: hold,
    })
}

/// The default sweep's vma counts.
pub const VMAS: [usize; 6] = [1, 2, 4, 8, 16, 32];
/// The default sweep's fractions of vmas with a present pte.
pub const PRESENT: [f64; 4] = [0.0, 0.25, 0.5, 1.0];

/// The default sweep's colour counts.
pub const COLOURS: [usize; 2] = [1, 2];

/// The whole sweep for the given strategies on 2.6.14's profile.
pub fn sweep(
    strategies: &[&str],
    vmas: &[usize],
    present: &[f64],
    colours: &[usize],
) -> Result<Vec<CostPoint>, String> {
    sweep_on(Kernel::V2_6_14, strategies, vmas, present, colours)
}

/// The whole sweep for the given strategies on `kernel`'s profile.
pub fn sweep_on(
    kernel: Kernel,
    strategies: &[&str],
    vmas: &[usize],
    present: &[f64],
    colours: &[usize],
) -> Result<Vec<CostPoint>, String> {
    let mut v = Vec::new();
    for s in strategies {
        for &k in colours {
            for &n in vmas {
                for &p in present {
                    v.push(measure_on(kernel, s, n, p, k)?);
                }
            }
        }
    }
    Ok(v)
}

/// The points as a table: a header row, then a row per point.
pub fn table<'a>(points: impl IntoIterator<Item = &'a CostPoint>) -> Vec<Vec<String>> {
    let header = [
        "strategy",
        "vmas",
        "colours",
        "present",
        "fdc issued",
        "nullified",
        "TLB inserts",
        "TLB purges",
        "tree nodes",
        "translation checks",
        "tree_lock hold (steps)",
    ];
    let mut t = vec![header.map(String::from).to_vec()];
    for p in points {
        t.push(vec![
            p.strategy.clone(),
            p.vmas.to_string(),
            p.colours.to_string(),
            format!("{:.0}%", p.present * 100.0),
            p.fdc_issued.to_string(),
            p.fdc_nullified.to_string(),
            p.tlb_inserts.to_string(),
            p.tlb_purges.to_string(),
            p.tree_nodes.to_string(),
            p.translation_checks.to_string(),
            p.lock_hold_steps.to_string(),
        ]);
    }
    t
}

/// Round tick values from 0 to at least `max`: whole steps of 1, 2 or 5
/// times a power of ten, at most eight of them.
fn ticks(max: f64) -> Vec<f64> {
    let max = max.max(1.0);
    let raw = max / 5.0;
    let p = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|s| max / s <= 8.0)
        .unwrap_or(10.0 * p)
        // Counts: whole steps.
        .max(1.0);
    let n = (max / step).ceil() as usize;
    (0..=n).map(|k| k as f64 * step).collect()
}

/// An SVG line plot of `fdc` issued against the number of vmas, one line
/// per strategy, at one fraction of present ptes and one colour count. Each
/// strategy has its own colour, dash and marker; one whose points are all
/// another's is drawn under it and named in the legend as the same.
pub fn plot(points: &[CostPoint], present: f64, colours: usize) -> String {
    let pts: Vec<&CostPoint> = points
        .iter()
        .filter(|p| p.present == present && p.colours == colours)
        .collect();
    let mut strategies: Vec<&str> = pts.iter().map(|p| p.strategy.as_str()).collect();
    strategies.dedup();
    let series = |st: &str| -> Vec<(usize, u64)> {
        pts.iter()
            .filter(|p| p.strategy == st)
            .map(|p| (p.vmas, p.fdc_issued))
            .collect()
    };
    let max_x = pts.iter().map(|p| p.vmas).max().unwrap_or(1) as f64;
    let max_data = pts.iter().map(|p| p.fdc_issued).max().unwrap_or(1).max(1) as f64;
    let yt = ticks(max_data);
    let max_y = *yt.last().unwrap_or(&1.0);
    let title = format!(
        "fdc issued per write() against vmas mapping the file ({:.0}% with a present pte, {colours} colour(s))",
        present * 100.0
    );
    let legend_w = 250.0;
    let w = (20.0 + title.chars().count() as f64 * 14.0 * 0.55).max(700.0);
    let (h, l, t, b) = (400.0, 70.0, 50.0, 60.0);
    let plot_r = w - legend_w;
    let x = |v: usize| l + (v as f64).log2().max(0.0) / max_x.log2().max(1.0) * (plot_r - l);
    let y = |v: f64| t + (h - t - b) * (1.0 - v / max_y);
    let palette = [
        "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02",
    ];
    let dashes = ["", "8 4", "2 3", "12 3 3 3", "4 4", "1 2"];
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="24" font-size="14">{title}</text>
"#
    );
    for &v in &yt {
        s += &format!(
            r##"<line x1="{l}" y1="{0:.1}" x2="{plot_r}" y2="{0:.1}" stroke="#e5e5e5"/><text x="{1}" y="{2:.1}" text-anchor="end">{v}</text>"##,
            y(v),
            l - 6.0,
            y(v) + 4.0
        );
        s.push('\n');
    }
    s += &format!(
        r#"<line x1="{l}" y1="{0}" x2="{plot_r}" y2="{0}" stroke="black"/><line x1="{l}" y1="{t}" x2="{l}" y2="{0}" stroke="black"/>
<text x="{1}" y="{2}" text-anchor="middle">vmas mapping the file (log scale)</text>
<text x="16" y="{3}" transform="rotate(-90 16 {3})" text-anchor="middle">fdc issued</text>
"#,
        h - b,
        (l + plot_r) / 2.0,
        h - 18.0,
        (t + h - b) / 2.0
    );
    for &n in &VMAS {
        if n as f64 <= max_x {
            s += &format!(
                r#"<text x="{}" y="{}" text-anchor="middle">{n}</text>"#,
                x(n),
                h - b + 16.0
            );
            s.push('\n');
        }
    }
    let marker = |i: usize, px: f64, py: f64, c: &str| -> String {
        match i % 5 {
            0 => format!(r#"<circle cx="{px:.1}" cy="{py:.1}" r="4" fill="{c}"/>"#),
            1 => format!(
                r#"<rect x="{:.1}" y="{:.1}" width="7" height="7" fill="none" stroke="{c}" stroke-width="1.5"/>"#,
                px - 3.5,
                py - 3.5
            ),
            2 => format!(
                r#"<path d="M{px:.1} {:.1} L{:.1} {:.1} L{:.1} {:.1} Z" fill="{c}"/>"#,
                py - 5.0,
                px + 5.0,
                py + 4.0,
                px - 5.0,
                py + 4.0
            ),
            3 => format!(
                r#"<path d="M{:.1} {:.1} L{:.1} {:.1} M{:.1} {:.1} L{:.1} {:.1}" stroke="{c}" stroke-width="2"/>"#,
                px - 4.0,
                py - 4.0,
                px + 4.0,
                py + 4.0,
                px - 4.0,
                py + 4.0,
                px + 4.0,
                py - 4.0
            ),
            _ => format!(
                r#"<path d="M{px:.1} {:.1} L{:.1} {py:.1} L{px:.1} {:.1} L{:.1} {py:.1} Z" fill="none" stroke="{c}" stroke-width="1.5"/>"#,
                py - 5.0,
                px + 5.0,
                py + 5.0,
                px - 5.0
            ),
        }
    };
    // Earlier strategies drawn thicker, so one a later one covers shows.
    for (i, st) in strategies.iter().enumerate() {
        let c = palette[i % palette.len()];
        let pts_i = series(st);
        let line: Vec<String> = pts_i
            .iter()
            .map(|&(v, f)| format!("{:.1},{:.1}", x(v), y(f as f64)))
            .collect();
        let width = 2.0 + 1.5 * (strategies.len() - 1 - i) as f64;
        s += &format!(
            r#"<polyline fill="none" stroke="{c}" stroke-width="{width}" stroke-opacity="0.85" stroke-dasharray="{}" points="{}"/>"#,
            dashes[i % dashes.len()],
            line.join(" ")
        );
        for &(v, f) in &pts_i {
            s += &marker(i, x(v), y(f as f64), c);
        }
        s.push('\n');
    }
    for (i, st) in strategies.iter().enumerate() {
        let c = palette[i % palette.len()];
        let same: Vec<&str> = strategies[..i]
            .iter()
            .copied()
            .filter(|o| series(o) == series(st))
            .collect();
        let name = match same.first() {
            Some(o) => format!("{st} (= {o})"),
            None => st.to_string(),
        };
        let ly = t + 22.0 * i as f64 + 10.0;
        let lx = plot_r + 20.0;
        s += &format!(
            r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{c}" stroke-width="2" stroke-dasharray="{}"/>{}<text x="{}" y="{}" fill="{c}">{name}</text>"#,
            lx + 30.0,
            dashes[i % dashes.len()],
            marker(i, lx + 15.0, ly, c),
            lx + 38.0,
            ly + 4.0
        );
        s.push('\n');
    }
    s + "</svg>\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(strategy: &str, vmas: usize, fdc: u64) -> CostPoint {
        CostPoint {
            strategy: strategy.into(),
            vmas,
            present: 0.25,
            colours: 2,
            fdc_issued: fdc,
            fdc_nullified: 0,
            tlb_inserts: 0,
            tlb_purges: 0,
            tree_nodes: 0,
            translation_checks: 0,
            lock_hold_steps: 0,
        }
    }

    #[test]
    fn ticks_are_round_and_cover_the_maximum() {
        assert_eq!(
            ticks(4224.0),
            vec![0.0, 1000.0, 2000.0, 3000.0, 4000.0, 5000.0]
        );
        assert_eq!(ticks(7.0), vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
        assert_eq!(ticks(0.0), vec![0.0, 1.0]);
        for m in [3.0, 17.0, 256.0, 999.0, 12_345.0] {
            let t = ticks(m);
            assert!(
                t.len() >= 3 && t.len() <= 9 && *t.last().unwrap() >= m,
                "{m}: {t:?}"
            );
        }
    }

    /// A strategy whose points are another's is named as the same in the
    /// legend (both lines are drawn, the first thicker); a different one is
    /// not; the y axis has round ticks; the picture is as wide as its title.
    #[test]
    fn identical_series_are_named_and_the_axis_has_ticks() {
        let pts: Vec<CostPoint> = [("a", 1), ("b", 1), ("c", 3)]
            .iter()
            .flat_map(|&(s, k)| VMAS.iter().map(move |&v| point(s, v, k * v as u64 * 100)))
            .collect();
        let svg = plot(&pts, 0.25, 2);
        assert!(svg.contains(">b (= a)</text>"), "{svg}");
        assert!(svg.contains(">c</text>") && !svg.contains("c (="));
        assert_eq!(svg.matches("<polyline").count(), 3);
        assert!(svg.matches(r#"text-anchor="end">"#).count() >= 4);
        let w: f64 = svg
            .split("width=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        let title = svg
            .split("font-size=\"14\">")
            .nth(1)
            .unwrap()
            .split('<')
            .next()
            .unwrap();
        assert!(w >= title.chars().count() as f64 * 14.0 * 0.55);
    }
}
