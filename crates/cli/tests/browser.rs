//! `vipt report --out DIR`'s page and pictures, rendered in a real headless
//! browser (Debian's chromium): the DOM the browser builds from report.html
//! has the verdict matrix first, then a section per question with its
//! finding before its table (question 4's cost plot between them), and every
//! failing cell with a timeline that exists; and the page, the cost plot
//! and a timeline render to PNG pictures that are not blank.
//!
//! `.ci/run` installs chromium and sets `VIPT_REQUIRE_BROWSER=1`, so there a
//! missing browser fails the test; elsewhere it is skipped with a message.
//! `VIPT_CHROMIUM` names another binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn vipt() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vipt"))
}

/// The browser, or `None` (and the test skipped) where there is none and
/// none is required.
fn chromium() -> Option<PathBuf> {
    let named = std::env::var_os("VIPT_CHROMIUM").map(PathBuf::from);
    let found = named.or_else(|| {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("VIPT_REQUIRE_BROWSER").is_none(),
            "VIPT_REQUIRE_BROWSER is set but there is no chromium (apt-get install chromium)"
        );
        eprintln!("skipped: no chromium (apt-get install chromium, or set VIPT_CHROMIUM)");
    }
    found
}

/// Runs the browser headless on `url` with `args`, with a profile of its
/// own under `dir`, and returns its stdout.
fn browse(chromium: &Path, dir: &Path, args: &[&str], url: &str) -> String {
    let profile = dir.join(format!("profile-{}", args.join("").len()));
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--allow-file-access-from-files",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium {args:?} {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A screenshot of `url` at `w`×`h`: its size, and the share of its pixels
/// that are not white.
fn screenshot(chromium: &Path, dir: &Path, url: &str, name: &str, w: u32, h: u32) -> f64 {
    let png = dir.join(name);
    browse(
        chromium,
        dir,
        &[
            &format!("--screenshot={}", png.display()),
            &format!("--window-size={w},{h}"),
        ],
        url,
    );
    let decoder = png::Decoder::new(std::fs::File::open(&png).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (w, h), "{name}");
    let px = info.color_type.samples();
    let pixels = &buf[..info.buffer_size()];
    let inked = pixels
        .chunks(px)
        .filter(|p| p.iter().take(3).any(|&c| c < 0xf0))
        .count();
    inked as f64 / (w as f64 * h as f64)
}

#[test]
fn report_page_and_pictures_render_in_a_browser() {
    let Some(chromium) = chromium() else { return };
    let dir = std::env::temp_dir().join(format!("vipt-browser-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let out_dir = dir.join("report");
    let out = vipt()
        .args([
            "report",
            "--bound",
            "1",
            "--budget",
            "100",
            "--samples",
            "100",
            "--out",
        ])
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let url = |f: &str| format!("file://{}", out_dir.join(f).display());

    // The DOM as the browser parsed it.
    let dom = browse(&chromium, &dir, &["--dump-dom"], &url("report.html"));
    let at = |needle: &str| {
        dom.find(needle)
            .unwrap_or_else(|| panic!("{needle} not in the page"))
    };
    let mut order = vec![at(r#"<section id="verdicts">"#)];
    for q in 1..=8 {
        order.push(at(&format!(r#"<section id="q{q}">"#)));
    }
    order.push(at(r#"<section id="own">"#));
    order.push(at(r#"<section id="failing">"#));
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "sections out of order"
    );
    // Each question: heading, finding, then its table; question 4's plot
    // comes between the finding and the table.
    for q in 1..=8 {
        let start = at(&format!(r#"<section id="q{q}">"#));
        let sec = &dom[start..start + dom[start..].find("</section>").unwrap()];
        let (h, f, t) = (
            sec.find("<h2>").unwrap(),
            sec.find(r#"<p class="finding">"#).unwrap(),
            sec.find("<table>").unwrap(),
        );
        assert!(h < f && f < t, "question {q}: heading, finding, table");
        if q == 4 {
            let img = sec.find(r#"<img src="cost.svg""#).expect("the cost plot");
            assert!(f < img && img < t, "question 4: the plot before its table");
        }
    }
    // Every failing cell of report.json has its row, and each timeline the
    // page shows is a file beside it.
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("report.json")).unwrap())
            .unwrap();
    let failing = json["cells"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["verdict"] == "fail")
        .count();
    assert!(failing > 0, "the report found no failure to show");
    let sec = &dom[at(r#"<section id="failing">"#)..];
    assert_eq!(
        sec.matches("<tr>").count(),
        failing + 1,
        "a row per failing cell"
    );
    let timelines: Vec<&str> = sec
        .split(r#"<img src=""#)
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
        .collect();
    assert_eq!(timelines.len(), failing);
    for t in &timelines {
        assert!(out_dir.join(t).is_file(), "{t}");
    }
    // The verdict matrix colours its entries.
    assert!(dom.contains(r#"<td class="fail">FAIL"#) && dom.contains(r#"<td class="pass">pass"#));

    // Rendered: the page, the cost plot and a timeline are pictures, not
    // blank pages (at least 1% of their pixels inked; a blank one has none).
    let page = screenshot(&chromium, &dir, &url("report.html"), "page.png", 1400, 2400);
    let cost = screenshot(&chromium, &dir, &url("cost.svg"), "cost.png", 900, 600);
    let line = screenshot(
        &chromium,
        &dir,
        &url(timelines[0]),
        "timeline.png",
        1600,
        900,
    );
    for (what, inked) in [("page", page), ("cost plot", cost), ("timeline", line)] {
        eprintln!("{what}: {:.1}% of the pixels inked", inked * 100.0);
        assert!(inked > 0.01, "{what}: {:.1}% inked", inked * 100.0);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
