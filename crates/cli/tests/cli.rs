//! The `vipt` command end to end: output, JSON keys, errors and exit statuses.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use vipt_pte::{closed_form, coincidences, pgoff_to_pte, swp_entry, Layout};

fn vipt(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vipt"))
        .args(args)
        .output()
        .expect("run vipt")
}

fn json(args: &[&str]) -> Value {
    let out = vipt(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

/// The exit status a `vipt explore --json` result must have: 1 for a
/// failure, 0 for none in a search that covered its claim, 3 otherwise.
fn explore_status(v: &Value) -> i32 {
    let proof = matches!(
        v["coverage"]["kind"].as_str().unwrap(),
        "complete" | "complete_within_bound"
    );
    if v["failing"].as_u64().unwrap() > 0 {
        1
    } else if proof {
        0
    } else {
        3
    }
}

/// Runs `vipt explore ... --json`: the object, whose verdict, coverage,
/// `exit_status` and the process's exit status must agree.
fn explore_json(args: &[&str]) -> Value {
    let out = vipt(args);
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stderr)));
    let status = explore_status(&v);
    assert_eq!(out.status.code(), Some(status), "{args:?}: {v}");
    assert_eq!(v["exit_status"], status, "{v}");
    let verdict = match status {
        0 => "pass",
        1 => "fail",
        _ => "inconclusive",
    };
    assert_eq!(v["verdict"], verdict, "{v}");
    v
}

fn assert_usage_error(args: &[&str], needle: &str) {
    let out = vipt(args);
    assert_eq!(out.status.code(), Some(2), "{args:?}");
    assert!(out.stdout.is_empty(), "{args:?} printed to stdout");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{args:?}: not one line: {err}");
    assert!(err.contains(needle), "{args:?}: {err:?} lacks {needle:?}");
}

#[test]
fn decode_json_for_each_kind() {
    let swap = swp_entry(Layout::Bits32, 3, 0x12345 << 4).unwrap().raw();
    let v = json(&["pte", "decode", &format!("{swap:#x}"), "--json"]);
    assert_eq!(v["kind"], "swap");
    assert_eq!(v["swap_type"], 3);
    assert_eq!(v["swap_offset"], 0x12345 << 4);
    assert_eq!(v["pfn"], Value::Null);
    assert_eq!(v["pgoff"], Value::Null);
    assert_eq!(
        (v["legacy_2005"].clone(), v["patched_2005"].clone()),
        (true.into(), false.into())
    );

    let file = pgoff_to_pte(Layout::Bits32, 0x42).unwrap().raw();
    let v = json(&["pte", "decode", &file.to_string(), "--json"]);
    assert_eq!(v["kind"], "file");
    assert_eq!(v["pgoff"], 0x42);
    assert_eq!(v["flags"], serde_json::json!(["FILE"]));
    assert_eq!(v["swap_type"], Value::Null);

    let v = json(&["pte", "decode", "0x12345b03", "--json"]);
    assert_eq!(v["kind"], "present");
    assert_eq!(v["pfn"], 0x12345);
    assert_eq!(
        v["flags"],
        serde_json::json!(["READ", "WRITE", "ACCESSED", "PRESENT", "USER"])
    );
    assert_eq!(v["patched_2005"], true);

    // Flush-only: a translation for flushing, "none" to generic code.
    let v = json(&["pte", "decode", "0x12345d03", "--json", "--pfn", "0x12345"]);
    assert_eq!(v["kind"], "flush");
    assert_eq!(v["pte_none"], true);
    assert_eq!(v["patched_2005"], true);
    let v = json(&["pte", "decode", "0x12345d03", "--json", "--pfn", "0x12346"]);
    assert_eq!(v["patched_2005"], false);

    let v = json(&["pte", "decode", "0", "--json"]);
    assert_eq!(v["kind"], "none");
    assert_eq!(v["legacy_2005"], false);
}

#[test]
fn decode_accepts_decimal_and_hex_alike() {
    assert_eq!(
        vipt(&["pte", "decode", "305418241"]).stdout,
        vipt(&["pte", "decode", "0x12345001"]).stdout
    );
    let v = json(&[
        "pte",
        "decode",
        "0xfff0000000000a03",
        "--layout",
        "64",
        "--json",
    ]);
    assert_eq!(v["pfn"], 0xfff0000000000u64);
}

#[test]
fn decode_text_names_the_coincidence() {
    let out = vipt(&["pte", "decode", "0x12345001"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("kind          swap"), "{text}");
    assert!(
        text.contains("takes this swap pte for a translation"),
        "{text}"
    );
}

#[test]
fn coincide_json_matches_the_library() {
    for (layout, pfn) in [
        (Layout::Bits32, 0x12345u64),
        (Layout::Bits32, 0),
        (Layout::Bits64, 0x000f_ffff_ffff_ffff),
    ] {
        let bits = layout.bits_per_long().to_string();
        let v = json(&[
            "pte",
            "coincide",
            "--pfn",
            &pfn.to_string(),
            "--layout",
            &bits,
            "--json",
        ]);
        let c = coincidences(layout, pfn, 0).unwrap();
        assert_eq!(v["swap"], c.swap);
        assert_eq!(v["file"], c.file);
        assert_eq!(v["patched_2005"], 0);
        let (s, f) = closed_form(layout, pfn).unwrap();
        assert_eq!(
            (
                v["closed_form"]["swap"].as_u64(),
                v["closed_form"]["file"].as_u64()
            ),
            (Some(s), Some(f))
        );
        assert_eq!(v["examples"]["swap"].as_array().unwrap().len(), 3);
    }
}

#[test]
fn coincide_has_a_default_pfn() {
    let v = json(&["pte", "coincide", "--json"]);
    assert_eq!(v["pfn"], 0x12345);
    assert_eq!(v["swap"], 512);
}

#[test]
fn bad_input_is_one_line_and_status_2() {
    assert_usage_error(&["pte", "decode", "0xzz"], "0xzz");
    assert_usage_error(&["pte", "decode", "-1"], "");
    assert_usage_error(
        &["pte", "decode", "0x100000000"],
        "does not fit a 32-bit pte",
    );
    assert_usage_error(
        &["pte", "decode", "1", "--layout", "48"],
        "layout must be 32 or 64",
    );
    assert_usage_error(&["pte", "decode", "1", "--pfn", "0x100000"], "pfn");
    assert_usage_error(&["pte", "coincide", "--pfn", "0x100000"], "pfn 0x100000");
    assert_usage_error(
        &["pte", "coincide", "--pfn", "99999999999999999999"],
        "below 2^64",
    );
    assert_usage_error(&["pte", "frobnicate"], "frobnicate");
    assert_usage_error(&["pte", "decode", "1", "--bogus"], "--bogus");
}

/// An unknown kernel profile is one line naming the valid ones; a
/// `--page-flush` against the kernel's own is run, and labelled mixed.
#[test]
fn kernel_profiles_on_the_command_line() {
    let names = "one of 2.6.14, 2.6.15, 3.x, 6.10";
    for cmd in ["explore", "replay"] {
        let mut a = vec![
            cmd,
            "--scenario",
            "reclaim",
            "--strategy",
            "modern",
            "--kernel",
            "2.6.16",
        ];
        if cmd == "replay" {
            a.push("a");
        }
        assert_usage_error(&a, names);
    }
    assert_usage_error(&["stress", "--kernel", "3.7", "--rounds", "1"], names);
    assert_usage_error(&["cost", "--kernel", "3.7"], names);
    let v = explore_json(&[
        "explore",
        "--scenario",
        "reclaim",
        "--strategy",
        "tmpalias",
        "--kernel",
        "3.x",
        "--json",
    ]);
    assert_eq!(
        v["params"].as_str().unwrap().split(' ').next(),
        Some("kernel=3.x"),
        "{v}"
    );
    let v = explore_json(&[
        "explore",
        "--scenario",
        "reclaim",
        "--strategy",
        "tmpalias",
        "--kernel",
        "3.x",
        "--page-flush",
        "on",
        "--json",
    ]);
    assert!(
        v["params"]
            .as_str()
            .unwrap()
            .starts_with("kernel=3.x (mixed)"),
        "{v}"
    );
}

#[test]
fn every_subcommand_has_help() {
    for args in [
        &["--help"][..],
        &["pte", "--help"],
        &["pte", "decode", "--help"],
        &["pte", "coincide", "--help"],
        &["report", "--help"],
        &["explore", "--help"],
        &["merge", "--help"],
        &["replay", "--help"],
        &["cost", "--help"],
        &["stress", "--help"],
    ] {
        let out = vipt(args);
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("Usage: vipt"), "{args:?}: {text}");
    }
}

/// The README's `vipt pte decode` example is what the command prints.
#[test]
fn readme_example_is_current() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let start = readme
        .find("$ vipt pte decode 0x12345001\n")
        .expect("README has the decode example");
    let block = &readme[start..];
    let body = &block[block.find('\n').unwrap() + 1..block.find("```").unwrap()];
    let out = vipt(&["pte", "decode", "0x12345001"]);
    assert_eq!(String::from_utf8(out.stdout).unwrap(), body);
}

#[test]
fn report_json_has_the_promised_shape() {
    let v = json(&[
        "report",
        "--json",
        "--bound",
        "1",
        "--budget",
        "100",
        "--samples",
        "200",
    ]);
    let qs = v["questions"].as_array().unwrap();
    assert_eq!(
        qs.iter()
            .map(|q| q["id"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        (1..=8).collect::<Vec<_>>()
    );
    let cells = v["cells"].as_array().unwrap();
    assert!(cells.len() >= 54);
    // At this budget searches run out: question 2 claims nothing for them.
    let q2 = &qs[1];
    let open = q2["table"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r[4] == "not shown (search incomplete)")
        .count();
    if open > 0 {
        let a = q2["answer"].as_str().unwrap();
        assert!(!a.contains("left no stale line"), "{a}");
        assert!(a.contains("Not settled"), "{a}");
    }
    // Nor does question 8 call move-in passing while its searches ran out.
    let move_in_open = cells
        .iter()
        .any(|c| c["scenario"] == "move-in" && c["verdict"] == "inconclusive");
    let a8 = qs[7]["answer"].as_str().unwrap();
    assert!(!move_in_open || !a8.contains("still passes"), "{a8}");
    // And question 7 counts the cells that settle nothing.
    let a7 = qs[6]["answer"].as_str().unwrap();
    assert!(a7.contains("Not settled: "), "{a7}");
    assert!(!a7.contains("every race passes"), "{a7}");
    // The verdict matrix: a header, then a row per scenario, kernel and
    // parameters, each cell's verdict in its strategy's column.
    let m = v["verdicts"].as_array().unwrap();
    assert_eq!(m[0][0], "scenario");
    assert_eq!(m[0][3], "legacy-2005");
    let shown: usize = m[1..]
        .iter()
        .map(|r| {
            r.as_array().unwrap()[3..]
                .iter()
                .filter(|x| !x.as_str().unwrap().is_empty())
                .count()
        })
        .sum();
    assert_eq!(shown, cells.len(), "every cell once in the matrix");
    let fails = m[1..]
        .iter()
        .flat_map(|r| r.as_array().unwrap()[3..].to_vec())
        .filter(|x| x.as_str().unwrap().starts_with("FAIL "))
        .count();
    assert_eq!(
        fails,
        cells.iter().filter(|c| c["verdict"] == "fail").count()
    );
    for c in cells {
        for k in [
            "scenario", "strategy", "verdict", "explored", "failing", "rate", "schedule",
        ] {
            assert!(c.get(k).is_some(), "{k} missing in {c}");
        }
        let verdict = c["verdict"].as_str().unwrap();
        assert!(["pass", "fail", "inconclusive"].contains(&verdict), "{c}");
        assert_eq!(verdict == "fail", c["failing"].as_u64().unwrap() > 0);
        assert_eq!(verdict == "fail", c["schedule"].is_string(), "{c}");
        // An oracle failure comes with the oracle's structured report.
        let oracle = c["failures"].as_array().unwrap().iter().any(|f| {
            let f = f.as_str().unwrap();
            ["stale", "earlier life", "lost write"]
                .iter()
                .any(|p| f.starts_with(p))
        });
        if oracle {
            let f = &c["first_violation"];
            assert!(f["pfn"].as_str().unwrap().starts_with("0x"), "{c}");
            assert!(!f["lives"].as_array().unwrap().is_empty(), "{c}");
        }
        // Every cell says what it covers; a pass rests on the unreduced
        // search one bound lower, and an inconclusive one ran out of budget.
        let cov = &c["coverage"];
        assert_eq!(cov["partial_bound"], 1, "{c}");
        match verdict {
            "pass" => {
                assert_eq!(cov["kind"], "complete_within_bound", "{c}");
                assert_eq!(cov["bound"], 0, "{c}");
                assert_eq!(
                    cov["text"],
                    "complete within bound 0; bound 1 partial (sleep sets)"
                );
            }
            "inconclusive" => {
                assert_eq!(cov["kind"], "incomplete", "{c}");
                assert!(cov["text"].as_str().unwrap().contains("incomplete"), "{c}");
            }
            _ => {}
        }
    }
    // 100 executions is too few for some cells: they say so.
    assert!(
        cells.iter().any(|c| c["verdict"] == "inconclusive"),
        "no cell ran out of its budget of 100"
    );
    // Question 5's verdicts come through even with a tiny budget.
    let fail = |s: &str, st: &str| {
        cells
            .iter()
            .any(|c| c["scenario"] == s && c["strategy"] == st && c["verdict"] == "fail")
    };
    assert!(fail("inequivalent", "patched-2005"));
    assert!(!fail("inequivalent", "tmpalias"));
    assert!(fail("swap-pte", "legacy-2005"));
}

#[test]
fn explore_replay_round_trip() {
    let v = explore_json(&[
        "explore",
        "--scenario",
        "swap-pte",
        "--strategy",
        "legacy-2005",
        "--json",
    ]);
    assert_eq!(v["verdict"], "fail");
    let sched = v["schedule"].as_str().unwrap().to_string();
    let dir = std::env::temp_dir().join(format!("vipt-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let svg = dir.join("t.svg");
    let r = json(&[
        "replay",
        "--scenario",
        "swap-pte",
        "--strategy",
        "legacy-2005",
        &sched,
        "--json",
        "--svg",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(r["verdict"], "fail");
    assert_eq!(r["schedule"], sched.as_str());
    let pic = std::fs::read_to_string(&svg).unwrap();
    assert!(pic.starts_with("<svg") && pic.trim_end().ends_with("</svg>"));
    // The same schedule on the patched strategy passes.
    let p = json(&[
        "replay",
        "--scenario",
        "swap-pte",
        "--strategy",
        "patched-2005",
        &sched,
        "--json",
    ]);
    assert_eq!(p["verdict"], "pass");
}

#[test]
fn explore_bad_input_is_a_usage_error() {
    assert_usage_error(
        &["explore", "--scenario", "nope", "--strategy", "modern"],
        "unknown scenario",
    );
    assert_usage_error(
        &["explore", "--scenario", "reclaim", "--strategy", "nope"],
        "unknown strategy",
    );
    assert_usage_error(
        &[
            "explore",
            "--scenario",
            "reclaim",
            "--strategy",
            "modern",
            "--lines",
            "3",
        ],
        "power of two",
    );
    assert_usage_error(
        &[
            "explore",
            "--scenario",
            "reclaim",
            "--strategy",
            "modern",
            "--mode",
            "dfs",
        ],
        "unknown mode",
    );
    assert_usage_error(
        &[
            "replay",
            "--scenario",
            "reclaim",
            "--strategy",
            "modern",
            "a1-",
        ],
        "bad schedule",
    );
    assert_usage_error(
        &[
            "replay",
            "--scenario",
            "reclaim",
            "--strategy",
            "modern",
            "z9",
        ],
        "cannot run",
    );
}

#[test]
fn cost_and_stress_run() {
    let c = json(&["cost", "--json"]);
    let pts = c["points"].as_array().unwrap();
    assert_eq!(pts.len(), 5 * 2 * 6 * 4);
    // 3.x's tmpalias flush_dcache_page purges every vma's TLB entry; 6.10's
    // (modern) purges only inside __flush_cache_page, for the vmas it
    // flushes: one colour, one user purge however many vmas. Neither reads
    // a pte.
    let at = |s: &str, n: u64| {
        pts.iter()
            .find(|p| {
                p["strategy"] == s && p["vmas"] == n && p["present"] == 1.0 && p["colours"] == 1
            })
            .unwrap()
    };
    assert!(at("tmpalias", 32)["tlb_purges"].as_u64().unwrap() >= 32);
    assert_eq!(
        at("modern", 32)["tlb_purges"],
        at("modern", 2)["tlb_purges"]
    );
    assert_eq!(at("tmpalias", 32)["translation_checks"], 0);
    assert_eq!(at("modern", 32)["translation_checks"], 0);
    let s = json(&["stress", "--rounds", "20", "--json"]);
    assert_eq!(s["ok"], true);
}

/// A fresh scratch directory for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vipt-cli-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs vipt with stdout a pipe whose read end is closed at once, after
/// reading `read` bytes from it. Returns the exit status and stderr, and
/// what was read.
fn closed_pipe(args: &[&str], read: usize) -> (Option<i32>, String, Vec<u8>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vipt"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run vipt");
    let mut head = vec![0; read];
    {
        let mut stdout = child.stdout.take().unwrap();
        stdout.read_exact(&mut head).unwrap();
        // Dropped here: the child's next write (or its first, when
        // nothing was read) gets EPIPE once the pipe buffer is full at
        // the latest, since the outputs used are larger than 64 KiB.
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        head,
    )
}

#[test]
fn a_closed_pipe_ends_quietly_with_status_0() {
    // `cost --json` (68 KB) and `report --json` (137 KB) are larger than a
    // pipe buffer, so EPIPE cannot be missed; the others are checked too.
    for args in [
        &["cost", "--json"][..],
        &["cost"],
        &[
            "report",
            "--json",
            "--bound",
            "0",
            "--budget",
            "1",
            "--samples",
            "1",
        ],
        &["pte", "coincide", "--examples", "1000"],
    ] {
        let (code, err, _) = closed_pipe(args, 0);
        assert_eq!(code, Some(0), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?}: {err}");
    }
}

#[test]
fn a_reader_that_stops_early_is_no_error() {
    // `vipt report --json | head -c 10`.
    let (code, err, head) = closed_pipe(
        &[
            "report",
            "--json",
            "--bound",
            "0",
            "--budget",
            "1",
            "--samples",
            "1",
        ],
        10,
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(err.is_empty(), "{err}");
    assert_eq!(head[0], b'{');
}

#[test]
fn a_write_error_is_one_line_and_status_2() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        return; // no /dev/full on this system
    };
    let out = Command::new(env!("CARGO_BIN_EXE_vipt"))
        .args(["cost", "--json"])
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("writing output"), "{err}");
    assert!(err.contains("No space left on device"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn report_out_is_checked_before_the_run() {
    let dir = scratch("out-check");
    let file = dir.join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    let under_file = file.join("sub");
    assert_usage_error(
        &[
            "report",
            "--bound",
            "0",
            "--budget",
            "1",
            "--samples",
            "1",
            "--out",
            under_file.to_str().unwrap(),
        ],
        "--out",
    );
    // An unusable directory is refused before the run even with the
    // default (long) budget: this returns at once.
    assert_usage_error(&["report", "--out", under_file.to_str().unwrap()], "sub");
    // A usable one is left without the probe file.
    let good = dir.join("new").join("report");
    let out = vipt(&[
        "report",
        "--bound",
        "0",
        "--budget",
        "1",
        "--samples",
        "1",
        "--out",
        good.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let mut names: Vec<String> = std::fs::read_dir(&good)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
    for n in ["cost.svg", "report.json", "report.txt"] {
        assert!(names.iter().any(|m| m == n), "{n} missing: {names:?}");
    }
    let txt = std::fs::read(good.join("report.txt")).unwrap();
    assert_eq!(txt, out.stdout);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn report_text_survives_files_that_cannot_be_written() {
    let dir = scratch("out-late");
    // The probe succeeds, but report.txt is a directory.
    std::fs::create_dir_all(dir.join("report.txt")).unwrap();
    let out = vipt(&[
        "report",
        "--bound",
        "0",
        "--budget",
        "1",
        "--samples",
        "1",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("## Question 1"), "{text}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("report.txt"), "{err}");
    // The other files are written all the same.
    assert!(dir.join("report.json").is_file());
    assert!(dir.join("cost.svg").is_file());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn missing_arguments_are_named() {
    assert_usage_error(
        &["explore"],
        "vipt explore: name a scenario: --scenario S (a built-in) or a scenario file",
    );
    assert_usage_error(
        &["explore", "--scenario", "cow"],
        "name a strategy: --strategy X, one of legacy-2005, patched-2005",
    );
    assert_usage_error(
        &["replay", "--scenario", "cow", "--strategy", "modern"],
        "missing required argument(s): <[FILE] SCHEDULE>",
    );
    assert_usage_error(&["pte", "decode"], "missing required argument(s): <VALUE>");
    assert_usage_error(&["pte"], "missing subcommand; one of decode, coincide");
    assert_usage_error(&[], "missing subcommand; one of pte, report");
}

#[test]
fn negative_values_are_quoted_whole() {
    assert_usage_error(&["pte", "decode", "1", "--layout", "-32"], "'-32'");
    assert_usage_error(&["pte", "decode", "-0x10"], "'-0x10'");
    assert_usage_error(&["pte", "coincide", "--pfn", "-12"], "'-12'");
    assert_usage_error(
        &[
            "explore",
            "--scenario",
            "cow",
            "--strategy",
            "modern",
            "--budget",
            "-50",
        ],
        "'-50'",
    );
    assert_usage_error(&["stress", "--rounds", "-3"], "'-3'");
}

#[test]
fn on_off_flags_take_every_spelling_in_any_case() {
    let params = |extra: &[&str]| {
        let mut args = vec![
            "explore",
            "--scenario",
            "swap-pte",
            "--strategy",
            "modern",
            "--budget",
            "1",
            "--json",
        ];
        args.extend_from_slice(extra);
        explore_json(&args)["params"].as_str().unwrap().to_string()
    };
    for on in ["on", "ON", "yes", "Yes", "true", "TRUE", "1"] {
        let p = params(&["--page-flush", on, "--move-in", on]);
        assert!(
            p.contains("page-flush=on") && p.contains("move-in=on"),
            "{on}: {p}"
        );
    }
    for off in ["off", "OFF", "no", "NO", "false", "False", "0"] {
        let p = params(&["--page-flush", off, "--move-in", off]);
        assert!(
            p.contains("page-flush=off") && p.contains("move-in=off"),
            "{off}: {p}"
        );
    }
    let s = json(&["stress", "--rounds", "1", "--page-flush", "No", "--json"]);
    assert_eq!(s["rounds"], 1);
    assert_usage_error(
        &[
            "explore",
            "--scenario",
            "swap-pte",
            "--strategy",
            "modern",
            "--page-flush",
            "maybe",
        ],
        "'maybe'",
    );
    assert_usage_error(&["stress", "--page-flush", "2"], "yes/no");
    for sub in ["explore", "replay", "stress"] {
        let help = String::from_utf8(vipt(&[sub, "--help"]).stdout).unwrap();
        assert!(
            help.contains("yes/no") && help.contains("1/0"),
            "{sub}: {help}"
        );
    }
}

#[test]
fn empty_or_malformed_schedules_are_bad_input() {
    let replay = |sched: &str| -> Vec<String> {
        [
            "replay",
            "--scenario",
            "swap-pte",
            "--strategy",
            "patched-2005",
            sched,
        ]
        .map(String::from)
        .to_vec()
    };
    let usage = |sched: &str, needle: &str| {
        let args = replay(sched);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_usage_error(&args, needle);
    };
    usage("", "empty");
    usage("   ", "empty");
    usage("a0", "bad schedule");
    usage("3a", "bad schedule");
    usage("aé", "'é'");
    usage("a99999999999999999999", "steps");
    // A complete run's schedule with a step more than the run takes.
    let full = json(&[
        "replay",
        "--scenario",
        "swap-pte",
        "--strategy",
        "patched-2005",
        "a",
        "--json",
    ]);
    let sched = full["schedule"].as_str().unwrap();
    usage(&format!("{sched}a"), "the run ended");
    // The complete schedule itself replays.
    let again = json(&[
        "replay",
        "--scenario",
        "swap-pte",
        "--strategy",
        "patched-2005",
        sched,
        "--json",
    ]);
    assert_eq!(again["schedule"], sched);
    assert_eq!(again["ending"], "finished");
}

#[test]
fn replay_svg_is_written_for_a_passing_run_too() {
    let dir = scratch("svg-pass");
    let svg = dir.join("pass.svg");
    let r = json(&[
        "replay",
        "--scenario",
        "swap-pte",
        "--strategy",
        "patched-2005",
        "a",
        "--json",
        "--svg",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(r["verdict"], "pass");
    let pic = std::fs::read_to_string(&svg).unwrap();
    assert!(pic.starts_with("<svg") && pic.trim_end().ends_with("</svg>"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn explore_svg_without_a_failure_says_it_wrote_nothing() {
    let dir = scratch("svg-none");
    let svg = dir.join("none.svg");
    let out = vipt(&[
        "explore",
        "--scenario",
        "swap-pte",
        "--strategy",
        "patched-2005",
        "--json",
        "--svg",
        svg.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verdict"], "pass");
    assert_eq!(v["coverage"]["kind"], "complete_within_bound");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("no failing schedule") && err.contains("was not written"),
        "{err}"
    );
    assert!(!svg.exists());
    // An unwritable --svg is refused before the search.
    assert_usage_error(
        &[
            "explore",
            "--scenario",
            "swap-pte",
            "--strategy",
            "legacy-2005",
            "--svg",
            dir.join("no/such/dir.svg").to_str().unwrap(),
        ],
        "--svg",
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn stress_verdict_text_json_and_status_agree() {
    // Whether a run meets an inversion depends on the threads; that the
    // verdict, the `ok` field and the status agree does not.
    for strategy in ["patched-ptl", "patched-2005"] {
        let out = vipt(&["stress", "--strategy", strategy, "--rounds", "20", "--json"]);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let clean = v["bugs"].as_array().unwrap().is_empty()
            && v["inversions"].as_array().unwrap().is_empty()
            && v["invariants"].is_null();
        assert_eq!(v["ok"], clean, "{v}");
        assert_eq!(out.status.code(), Some(if clean { 0 } else { 1 }), "{v}");

        let out = vipt(&["stress", "--strategy", strategy, "--rounds", "20"]);
        let text = String::from_utf8(out.stdout).unwrap();
        let count = |key: &str| -> u64 {
            let line = text.lines().find(|l| l.starts_with(key)).unwrap();
            line[key.len()..].trim().parse().unwrap()
        };
        let clean = count("model bugs:") == 0
            && count("lock-order inversions:") == 0
            && text.contains("invariants: hold");
        let last = text.lines().last().unwrap();
        assert_eq!(last, if clean { "ok" } else { "FAILED" }, "{text}");
        assert_eq!(out.status.code(), Some(if clean { 0 } else { 1 }), "{text}");
    }
}

#[test]
fn every_number_is_decimal_or_hex() {
    let v = json(&[
        "report",
        "--json",
        "--bound",
        "0x0",
        "--budget",
        "0x1",
        "--samples",
        "0X1",
        "--seed",
        "0x10",
    ]);
    assert_eq!(v["budget"]["bound"], 0);
    assert_eq!(v["budget"]["exhaustive"], 1);
    assert_eq!(v["budget"]["samples"], 1);
    assert_eq!(v["budget"]["seed"], 16);

    let v = explore_json(&[
        "explore",
        "--scenario",
        "swap-pte",
        "--strategy",
        "modern",
        "--budget",
        "0x10",
        "--vmas",
        "0x3",
        "--lines",
        "0X4",
        "--bound",
        "0x1",
        "--json",
    ]);
    let explored = v["explored"].as_u64().unwrap();
    assert!((1..=16).contains(&explored), "{v}");
    let p = v["params"].as_str().unwrap();
    assert!(p.contains("vmas=3") && p.contains("lines=4"), "{p}");
    let v = explore_json(&[
        "explore",
        "--scenario",
        "swap-pte",
        "--strategy",
        "modern",
        "--mode",
        "pct",
        "--depth",
        "0x2",
        "--seed",
        "0xff",
        "--budget",
        "0x8",
        "--json",
    ]);
    assert_eq!(v["seed"], 255);

    let s = json(&["stress", "--rounds", "0x3", "--json"]);
    assert_eq!(s["rounds"], 3);
    let c = json(&["pte", "coincide", "--examples", "0x5", "--json"]);
    assert_eq!(c["examples"]["swap"].as_array().unwrap().len(), 5);

    assert_usage_error(
        &[
            "explore",
            "--scenario",
            "swap-pte",
            "--strategy",
            "modern",
            "--mode",
            "pct",
            "--depth",
            "0x11",
        ],
        "--depth must be 1 to 16, not 17",
    );
    assert_usage_error(&["report", "--budget", "ten"], "'ten'");
    assert_usage_error(&["report", "--bound", "0x100000000"], "2^32");
}

#[test]
fn zero_budgets_are_refused() {
    let explore = |budget: &'static str| {
        [
            "explore",
            "--scenario",
            "swap-pte",
            "--strategy",
            "modern",
            "--budget",
            budget,
        ]
    };
    assert_usage_error(&explore("0"), "--budget must be at least 1");
    assert_usage_error(&explore("0x0"), "--budget must be at least 1");
    assert_usage_error(&["report", "--budget", "0"], "--budget must be at least 1");
    assert_usage_error(
        &["report", "--samples", "0"],
        "--samples must be at least 1",
    );
    assert_usage_error(&["report", "--bound", "9"], "--bound must be at most 8");
    assert_usage_error(
        &["stress", "--rounds", "0"],
        "--rounds must be 1 to 1000000",
    );
}

#[test]
fn no_argument_value_panics() {
    let max = "0xffffffffffffffff";
    let sc = [
        "--scenario",
        "swap-pte",
        "--strategy",
        "modern",
        "--budget",
        "1",
    ];
    let with = |rest: &[&'static str]| {
        let mut v = vec!["explore"];
        v.extend_from_slice(&sc);
        v.extend_from_slice(rest);
        v
    };
    let cases: Vec<Vec<&str>> = vec![
        with(&["--vmas", max]),
        with(&["--vmas", "0"]),
        with(&["--lines", "0"]),
        with(&["--lines", max]),
        with(&["--bound", "0xffffffff"]),
        with(&["--seed", max]),
        with(&["--mode", "pct", "--depth", "0xffffffff"]),
        with(&["--colour", ""]),
        with(&["--page-flush", ""]),
        vec!["stress", "--rounds", max],
        vec!["stress", "--strategy", ""],
        vec!["pte", "coincide", "--examples", max],
        vec!["pte", "coincide", "--pfn", max, "--layout", "64"],
        vec!["pte", "decode", max, "--layout", "64", "--pfn", max],
        vec!["pte", "decode", max, "--layout", max],
        vec![
            "replay",
            "--scenario",
            "swap-pte",
            "--strategy",
            "modern",
            "a16777216",
        ],
        vec![
            "replay",
            "--scenario",
            "swap-pte",
            "--strategy",
            "modern",
            "z",
        ],
        vec!["report", "--bound", "0xffffffff"],
        vec!["report", "--out", ""],
    ];
    for args in cases {
        let out = vipt(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        let code = out.status.code();
        // 3: an explore that found nothing in its budget of 1.
        let ok = if args[0] == "explore" {
            matches!(code, Some(0..=3))
        } else {
            matches!(code, Some(0..=2))
        };
        assert!(ok, "{args:?}: {code:?} {err}");
        if code == Some(2) {
            assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        }
    }
}

/// Issue 19's false passes: sleep sets with a preemption bound pruned these
/// failures, and the default search was the one with sleep sets. Under the
/// default settings both are found, and the verdict is a failure (status 1).
#[test]
fn the_default_explore_finds_the_failures_sleep_sets_missed() {
    for args in [
        &[
            "--scenario",
            "cow",
            "--strategy",
            "patched-2005",
            "--bound",
            "2",
        ][..],
        &[
            "--scenario",
            "cow",
            "--strategy",
            "patched-2005",
            "--kernel",
            "2.6.15",
            "--bound",
            "2",
        ],
    ] {
        let mut a = vec!["explore"];
        a.extend_from_slice(args);
        a.push("--json");
        let v = explore_json(&a);
        assert_eq!(v["verdict"], "fail", "{args:?}: {v}");
        assert!(v["failing"].as_u64().unwrap() > 0, "{v}");
        assert_eq!(v["pruned"], 0, "{v}");
        assert_eq!(v["coverage"]["kind"], "complete_within_bound", "{v}");
        assert_eq!(v["coverage"]["bound"], 2, "{v}");
        assert!(!v["mode"].as_str().unwrap().contains("sleep sets"), "{v}");
        // --no-reduction is the default, spelled out.
        a.push("--no-reduction");
        let w = explore_json(&a);
        assert_eq!(
            (&w["failing"], &w["explored"]),
            (&v["failing"], &v["explored"])
        );

        // The text says FAIL and what was covered; the status is 1.
        let mut t = vec!["explore"];
        t.extend_from_slice(args);
        let out = vipt(&t);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("\nverdict: FAIL\n"), "{text}");
        assert!(
            text.contains("\ncoverage: complete within bound 2; "),
            "{text}"
        );
    }
}

/// With sleep sets and a bound the search is partial: never "complete",
/// never "pass", and status 3 when it finds nothing. Without a bound it is
/// complete.
#[test]
fn sleep_sets_with_a_bound_are_partial() {
    let args = [
        "explore",
        "--scenario",
        "cow",
        "--strategy",
        "patched-2005",
        "--bound",
        "2",
        "--reduction",
    ];
    let out = vipt(&args);
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(
            "verdict: no failure found within bound 2 with sleep sets (may miss failures: not a proof for the bound)"
        ),
        "{text}"
    );
    assert!(
        text.contains("coverage: partial within bound 2 (sleep sets)"),
        "{text}"
    );
    assert!(!text.contains("complete"), "{text}");
    assert!(!text.contains("pass"), "{text}");
    let mut j = args.to_vec();
    j.push("--json");
    let v = explore_json(&j);
    assert_eq!(v["verdict"], "inconclusive");
    assert_eq!(v["coverage"]["kind"], "partial_within_bound");
    assert_eq!(v["coverage"]["bound"], 2);
    assert_eq!(v["complete"], true, "the search itself ran to its end");
    // Without a bound sleep sets judge steps by what they announced and what
    // they were seen to touch: complete, a pass, in no more executions than
    // the unreduced search, which passes too.
    let unbounded = [
        "explore",
        "--scenario",
        "swap-pte",
        "--strategy",
        "patched-2005",
        "--bound",
        "none",
        "--lines",
        "1",
        "--json",
    ];
    let mut reduced = unbounded.to_vec();
    reduced.push("--reduction");
    let v = explore_json(&reduced);
    assert_eq!(v["verdict"], "pass", "{v}");
    assert_eq!(v["exit_status"], 0);
    assert_eq!(v["coverage"]["kind"], "complete");
    assert!(v["coverage"]["bound"].is_null());
    assert!(v["mode"]
        .as_str()
        .unwrap()
        .contains("unbounded, sleep sets"));
    let full = explore_json(&unbounded);
    assert_eq!(full["verdict"], "pass", "{full}");
    assert_eq!(full["coverage"]["kind"], "complete");
    assert!(
        v["explored"].as_u64() < full["explored"].as_u64(),
        "{v} {full}"
    );
    // Both flags at once is bad input.
    let out = vipt(&[
        "explore",
        "--scenario",
        "cow",
        "--strategy",
        "modern",
        "--reduction",
        "--no-reduction",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_usage_error(
        &[
            "explore",
            "--scenario",
            "cow",
            "--strategy",
            "modern",
            "--bound",
            "never",
        ],
        "or none for no bound",
    );
}

/// A budget that runs out is no pass: the verdict says incomplete and the
/// status is 3; sampled searches make no coverage claim and exit 3 too.
#[test]
fn an_exhausted_budget_or_a_sample_is_not_a_pass() {
    let args = [
        "explore",
        "--scenario",
        "swap-pte",
        "--strategy",
        "patched-2005",
        "--budget",
        "5",
    ];
    let out = vipt(&args);
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("verdict: no failure found (incomplete: budget ran out after 5 executions)"),
        "{text}"
    );
    assert!(!text.contains("pass"), "{text}");
    let mut j = args.to_vec();
    j.push("--json");
    let v = explore_json(&j);
    assert_eq!(v["verdict"], "inconclusive");
    assert_eq!(v["complete"], false);
    assert_eq!(
        v["coverage"],
        serde_json::json!({
            "kind": "incomplete", "bound": null, "executions": 5,
            "text": "incomplete: budget ran out after 5 executions",
        })
    );
    for mode in ["random", "pct"] {
        let out = vipt(&[
            "explore",
            "--scenario",
            "swap-pte",
            "--strategy",
            "patched-2005",
            "--mode",
            mode,
            "--budget",
            "50",
        ]);
        assert_eq!(out.status.code(), Some(3), "{mode}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains("verdict: no failure found in 50 sampled executions (no coverage claim)"),
            "{text}"
        );
    }
    // A failure found by sampling is a failure: status 1.
    let v = explore_json(&[
        "explore",
        "--scenario",
        "swap-pte",
        "--strategy",
        "legacy-2005",
        "--mode",
        "random",
        "--budget",
        "200",
        "--json",
    ]);
    assert_eq!(v["verdict"], "fail", "{v}");
    assert_eq!(v["coverage"]["kind"], "sampled");
}

#[test]
fn explore_help_documents_the_exit_statuses() {
    let help = String::from_utf8(vipt(&["explore", "--help"]).stdout).unwrap();
    for needle in [
        "Exit status:",
        "0  no failure",
        "1  a failing schedule",
        "2  bad input",
        "3  no failure found, but",
        "--reduction",
        "--no-reduction",
        "none",
    ] {
        assert!(help.contains(needle), "{needle}: {help}");
    }
}

#[test]
fn an_earlier_life_violation_carries_its_frame_lives_colour_cpu_and_step() {
    let args = [
        "--scenario",
        "unmap-reuse",
        "--strategy",
        "modern",
        "--kernel",
        "2.6.14",
        "--move-in",
        "on",
        "--move-ins",
        "1",
    ];
    let mut e = vec!["explore"];
    e.extend(args);
    e.push("--json");
    let v = explore_json(&e);
    assert_eq!(v["verdict"], "fail", "{v}");
    let f = &v["first_violation"];
    assert_eq!(f["kind"], "earlier_life", "{f}");
    // The frame, both lives with their owners (the first file's page, then
    // the other file that reused the frame), the colour, CPU and step.
    let pfn = f["pfn"].as_str().unwrap();
    assert!(pfn.starts_with("0x"), "{f}");
    let pa = u64::from_str_radix(f["pa"].as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    assert_eq!(format!("{:#x}", pa >> 12), pfn);
    let lives = f["lives"].as_array().unwrap();
    assert_eq!(lives.len(), 2, "{f}");
    assert!(lives[0]["life"].as_u64() < lives[1]["life"].as_u64(), "{f}");
    assert!(
        lives[0]["owner"].as_str().unwrap().contains("file 1"),
        "{f}"
    );
    assert!(
        lives[1]["owner"].as_str().unwrap().contains("file 2"),
        "{f}"
    );
    assert_ne!(f["expected"], f["got"], "{f}");
    assert!(
        f["colour"].is_u64() && f["cpu"].is_u64() && f["step"].is_u64(),
        "{f}"
    );
    assert_eq!(f["agent"], "user");
    // Replaying the first failing schedule gives the same violation.
    let mut r = vec!["replay"];
    r.extend(args);
    let first = v["first"].as_str().unwrap().to_string();
    r.push(&first);
    r.push("--json");
    let rv = json(&r);
    assert_eq!(rv["verdict"], "fail");
    assert_eq!(&rv["violation"], f, "{rv}");
    // A passing replay has none.
    let p = json(&[
        "replay",
        "--scenario",
        "swap-pte",
        "--strategy",
        "patched-2005",
        "a",
        "--json",
    ]);
    assert!(p["violation"].is_null(), "{p}");
}

/// Runs `vipt explore ARGS --shard K/N` for every K, writing the shard
/// files into `dir`; returns their paths.
fn shard_files(dir: &std::path::Path, args: &[&str], n: usize) -> Vec<String> {
    (0..n)
        .map(|k| {
            let mut a = args.to_vec();
            let spec = format!("{k}/{n}");
            let threads = if k % 2 == 0 { "1" } else { "2" };
            a.extend(["--shard", &spec, "--threads", threads]);
            let out = vipt(&a);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{a:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let v: Value = serde_json::from_slice(&out.stdout).expect("a shard is JSON");
            assert_eq!(v["shard"], k);
            assert_eq!(v["of"], n);
            assert!(v["command"].as_str().unwrap().ends_with(&spec), "{v}");
            let path = dir.join(format!("shard-{k}.json"));
            std::fs::write(&path, &out.stdout).unwrap();
            path.to_string_lossy().into_owned()
        })
        .collect()
}

/// `vipt merge` of every shard prints what the unsharded `vipt explore`
/// prints, text and JSON, with its exit status: for a failing search, a
/// passing one and one whose budget ran out.
#[test]
fn merged_shards_are_the_unsharded_search() {
    let dir = scratch("merge");
    for (args, status) in [
        (
            &["explore", "--scenario", "cow", "--strategy", "patched-2005"][..],
            1,
        ),
        (
            &[
                "explore",
                "--scenario",
                "swap-pte",
                "--strategy",
                "tmpalias",
            ],
            0,
        ),
        (
            &[
                "explore",
                "--scenario",
                "truncate",
                "--strategy",
                "recheck",
                "--page-flush",
                "off",
                "--budget",
                "700",
            ],
            3,
        ),
        (
            &[
                "explore",
                "--scenario",
                "swap-pte",
                "--strategy",
                "legacy-2005",
                "--bound",
                "none",
                "--reduction",
                "--budget",
                "1000",
            ],
            1,
        ),
    ] {
        for n in [1, 3] {
            let files = shard_files(&dir, args, n);
            let one = vipt(args);
            assert_eq!(one.status.code(), Some(status), "{args:?}");
            let mut merge: Vec<&str> = vec!["merge"];
            merge.extend(files.iter().rev().map(String::as_str));
            let merged = vipt(&merge);
            assert_eq!(merged.status.code(), Some(status), "{args:?} in {n}");
            assert_eq!(
                String::from_utf8_lossy(&merged.stdout),
                String::from_utf8_lossy(&one.stdout),
                "{args:?} in {n}"
            );
            let mut json_args = args.to_vec();
            json_args.push("--json");
            merge.push("--json");
            let (a, b) = (explore_json(&json_args), explore_json(&merge));
            assert_eq!(a, b, "{args:?} in {n}");
        }
    }
}

#[test]
fn shards_that_are_not_one_search_are_refused() {
    let dir = scratch("merge-bad");
    let cow = ["explore", "--scenario", "cow", "--strategy", "patched-2005"];
    let files = shard_files(&dir, &cow, 2);
    let other = dir.join("other");
    std::fs::create_dir_all(&other).unwrap();
    let mut bounded = cow.to_vec();
    bounded.extend(["--bound", "1"]);
    let others = shard_files(&other, &bounded, 2);
    assert_usage_error(&["merge", &files[0]], "shard 1 of 2 is missing");
    assert_usage_error(&["merge", &files[0], &files[0], &files[1]], "given twice");
    assert_usage_error(&["merge", &files[0], &others[1]], "another search");
    let junk = dir.join("junk.json");
    std::fs::write(&junk, "{\"shard\": 0").unwrap();
    assert_usage_error(&["merge", junk.to_str().unwrap()], "not a shard file");
    assert_usage_error(
        &["merge", "/nonexistent/shard.json"],
        "/nonexistent/shard.json",
    );
    let mut random = cow.to_vec();
    random.extend(["--mode", "random", "--shard", "0/2"]);
    assert_usage_error(&random, "only an exhaustive search can be sharded");
    let mut past = cow.to_vec();
    past.extend(["--shard", "2/2"]);
    assert_usage_error(&past, "0 <= K < N");
    let mut zero = cow.to_vec();
    zero.extend(["--threads", "0"]);
    assert_usage_error(&zero, "--threads must be at least 1");
    // A shard file edited to another scenario: its flags are checked
    // against the first file's, and the program must split the same.
    let text = std::fs::read_to_string(&files[1]).unwrap();
    let edited = dir.join("edited.json");
    std::fs::write(&edited, text.replace("\"cow\"", "\"munmap\"")).unwrap();
    assert_usage_error(
        &["merge", &files[0], edited.to_str().unwrap()],
        "another search",
    );
}

/// The failing read is written under the timeline, with its CPU, address,
/// colour, value and the value it should have been, and the racer's column
/// says which racer runs; the JSON says when the check failed.
#[test]
fn a_failure_shows_its_failing_read_under_the_timeline() {
    let args = [
        "replay",
        "--scenario",
        "cow",
        "--strategy",
        "patched-2005",
        "b15c4a16b10a11",
    ];
    let out = vipt(&args);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("b CPU1 racer: do_wp_page (A's COW)"),
        "{text}"
    );
    let line = text
        .lines()
        .find(|l| l.starts_with("failing check"))
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(
        line,
        "failing check (final read): c CPU2 user access at va 0x4001b800 (pa 0x1800, colour 27) \
         got 0x1000000010100, expected 0xc0ffee: a stale read after the coherence point; \
         the write it should have seen: a CPU0 generic_file_buffered_write, its coherence point \
         at step 47"
    );
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let v: Value = serde_json::from_slice(&vipt(&json_args).stdout).unwrap();
    assert_eq!(v["violation"]["when"], "final read", "{v}");
    // A COW copy that reads stale source data fails during the run.
    let v = explore_json(&[
        "explore",
        "--scenario",
        "minifail",
        "--strategy",
        "patched-2005",
        "--json",
    ]);
    assert_eq!(v["first_violation"]["when"], "during the run", "{v}");
    assert_eq!(v["first_violation"]["kind"], "stale_cow_source", "{v}");
}

/// `vipt replay --ladder` prints the commit-message ladder: a column per
/// CPU with what it runs, each segment in its CPU's column, no step numbers,
/// lines of at most about 100 characters, and the failing read under it.
#[test]
fn replay_ladder_is_ready_to_paste() {
    let out = vipt(&[
        "replay",
        "--scenario",
        "cow",
        "--strategy",
        "patched-2005",
        "b15c4a16b10a11",
        "--ladder",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("CPU0") && lines[0].contains("CPU1") && lines[0].contains("CPU2"));
    assert!(
        lines[1].starts_with("writer: write()") && lines[1].contains("racer: do_wp_page (A's COW)")
    );
    assert!(lines[2].starts_with("---"));
    assert!(
        lines
            .iter()
            .all(|l| l.chars().count() <= 102 || l.starts_with("failing check")),
        "{text}"
    );
    // CPU1's COW fault comes first, in the second column; the writer's
    // write() in the first.
    let col = |needle: &str| {
        let l = lines
            .iter()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle}: {text}"));
        l.chars().take_while(|c| *c == ' ').count()
    };
    assert_eq!(col("set_pte_at: pte write"), 34);
    assert_eq!(col("generic_file_write: lock i_sem"), 0);
    assert_eq!(col("user load: user load×4"), 68);
    assert!(!text.contains("TreeLock") && !text.contains("»"), "{text}");
    assert!(
        lines
            .last()
            .unwrap()
            .starts_with("failing check (final read): c CPU2"),
        "{text}"
    );
}

/// The repository's scenario files.
fn scenario_file(name: &str) -> String {
    format!("{}/../../scenarios/{name}.vipt", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn a_scenario_file_explores_as_its_builtin_and_its_replay_runs_as_printed() {
    let file = scenario_file("cow");
    let args = ["--strategy", "patched-2005", "--bound", "1", "--json"];
    let mut from_file = explore_json(&[&["explore", &file][..], &args].concat());
    let mut builtin = explore_json(&[&["explore", "--scenario", "cow"][..], &args].concat());
    for v in [&mut from_file, &mut builtin] {
        v.as_object_mut().unwrap().remove("params");
    }
    assert_eq!(from_file["explored"], builtin["explored"]);
    assert_eq!(from_file["failing"], builtin["failing"]);
    assert_eq!(from_file["schedule"], builtin["schedule"]);
    // A failing file search prints a replay command naming the file.
    let out = vipt(&[
        "explore",
        &scenario_file("mremap-colour"),
        "--strategy",
        "patched-2005",
        "--bound",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    let replay = text
        .lines()
        .find_map(|l| l.strip_prefix("replay: vipt "))
        .expect("a replay line");
    assert!(
        replay.contains("mremap-colour.vipt --strategy patched-2005"),
        "{replay}"
    );
    let words: Vec<&str> = replay.split_whitespace().collect();
    let out = vipt(&words);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("verdict: fail"), "{text}");
    assert!(
        text.contains("forall (mine == 0xc0ffee) does not hold"),
        "{text}"
    );
    assert!(text.contains("racer: mremap(A) to a new colour"), "{text}");
}

#[test]
fn check_gives_a_line_per_file_and_the_worst_status() {
    let pass = scenario_file("madvise");
    let fail = scenario_file("same-line");
    let out = vipt(&["check", &pass, "--strategy", "patched-2005", "--bound", "1"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("PASS "), "{text}");
    assert!(text.contains("complete within bound 1"), "{text}");
    let out = vipt(&[
        "check",
        &pass,
        &fail,
        "--strategy",
        "patched-2005",
        "--bound",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("PASS ") && lines[1].starts_with("FAIL "),
        "{text}"
    );
    assert!(lines[2].contains("vipt replay"), "{text}");
    // A budget that runs out: incomplete, status 3.
    let out = vipt(&[
        "check",
        &pass,
        "--strategy",
        "patched-2005",
        "--budget",
        "5",
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8(out.stdout)
        .unwrap()
        .starts_with("INCOMPLETE "));
    // A file that does not parse: its line says where, status 2.
    let dir = std::env::temp_dir().join(format!("vipt-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.vipt");
    std::fs::write(&bad, "scenario bad;\nsetup { x = ; }\n").unwrap();
    let bad = bad.to_str().unwrap();
    let out = vipt(&[
        "check",
        &pass,
        bad,
        "--strategy",
        "patched-2005",
        "--bound",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(&format!("ERROR       {bad}:2:13: expected")),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn scenario_file_errors_are_one_line_with_the_place() {
    let dir = std::env::temp_dir().join(format!("vipt-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases: &[(&str, &str)] = &[
        (
            "scenario x;\ncpu 0 \"w\" { wirte(1); }\n",
            ":2:13: unknown operation `wirte`; one of new_file",
        ),
        (
            "scenario x;\nsetup { A = new_process(1); }\ncpu 0 as A \"w\" { }\n",
            ":3:10: `A` runs on CPU 1, not CPU 0",
        ),
        (
            "scenario x;\nsetup { f = new_file(2); A = new_process(0); on A { load(0x1000); } }\n",
            ":2:53: segmentation fault",
        ),
        (
            "scenario x;\ndefaults { colur = fixed; }\n",
            ":2:12: unknown setting \"colur\"; one of kernel, vmas",
        ),
        (
            "scenario x;\ncpu 1 \"w\" { }\n",
            "this is body 0 (a) but it is on CPU 1",
        ),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let path = dir.join(format!("e{i}.vipt"));
        std::fs::write(&path, text).unwrap();
        let p = path.to_str().unwrap();
        let out = vipt(&["explore", p, "--strategy", "recheck"]);
        assert_eq!(out.status.code(), Some(2), "{text}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(want), "{text}\nwanted {want:?} in {err:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn report_over_a_directory_of_scenario_files() {
    let dir = std::env::temp_dir().join(format!("vipt-report-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["madvise", "mremap-colour"] {
        std::fs::copy(scenario_file(name), dir.join(format!("{name}.vipt"))).unwrap();
    }
    std::fs::write(dir.join("notes.txt"), "not a scenario").unwrap();
    let d = dir.to_str().unwrap();
    let v = json(&["report", "--scenarios", d, "--bound", "1", "--json"]);
    let cells = v["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 2 * 4 * 5);
    let verdict = |sc: &str, k: &str, st: &str| {
        cells
            .iter()
            .find(|c| c["scenario"] == sc && c["kernel"] == k && c["strategy"] == st)
            .map(|c| c["verdict"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(verdict("madvise", "6.10", "modern"), "pass");
    assert_eq!(verdict("mremap-colour", "2.6.14", "patched-2005"), "fail");
    assert_eq!(verdict("mremap-colour", "2.6.14", "tmpalias"), "pass");
    // Each failing cell's replay command runs as printed and fails.
    let c = cells.iter().find(|c| c["verdict"] == "fail").unwrap();
    let cmd = c["replay"].as_str().unwrap();
    let words: Vec<&str> = cmd.split_whitespace().skip(1).collect();
    let out = vipt(&words);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("verdict: fail"),
        "{cmd}"
    );
    // The text: the matrix first, then the failing cells.
    let out = vipt(&["report", "--scenarios", d, "--bound", "1"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("2 files × 4 kernels × 5 strategies = 40 cells"),
        "{text}"
    );
    assert!(
        text.find("| ").is_none() && text.contains("mremap-colour  "),
        "{text}"
    );
    assert!(text.contains("## Failing cells"), "{text}");
    // An empty directory is bad input.
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    assert_usage_error(
        &["report", "--scenarios", empty.to_str().unwrap()],
        "no scenario files",
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The golden file `name` under tests/golden: equal to `got`, or written
/// with `VIPT_BLESS=1`.
fn golden(name: &str, got: &str) {
    let path = format!("{}/tests/golden/{name}", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("VIPT_BLESS").is_some() {
        std::fs::create_dir_all(std::path::Path::new(&path).parent().unwrap()).unwrap();
        std::fs::write(&path, got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e} (VIPT_BLESS=1 writes it)"));
    assert!(
        want == got,
        "{path} differs (VIPT_BLESS=1 rewrites it):\n--- want\n{want}\n--- got\n{got}"
    );
}

/// The failure text and the ladder, as a kernel developer reads them: a
/// failure during the run (minifail's COW copy of stale source data, at the
/// copy's kernel access) and one in the final read (cow), each marked where
/// it failed, in kernel words, with hex addresses and values.
#[test]
fn failure_text_and_ladder_golden() {
    for (scenario, schedule) in [("minifail", "b25c4"), ("cow", "b15c4a16b10a11")] {
        let base = [
            "replay",
            "--scenario",
            scenario,
            "--strategy",
            "patched-2005",
            schedule,
        ];
        let text = |extra: &[&str]| {
            let out = vipt(&[&base[..], extra].concat());
            assert_eq!(out.status.code(), Some(0), "{scenario}");
            String::from_utf8(out.stdout).unwrap()
        };
        golden(&format!("replay-{scenario}.txt"), &text(&[]));
        golden(&format!("ladder-{scenario}.txt"), &text(&["--ladder"]));
    }
}

/// Checks `v` is Chrome trace-event JSON as Perfetto reads it: an object
/// with a `traceEvents` array whose events have a name, a known phase, pid
/// and tid, non-negative times, metadata with its argument, and complete
/// events on each thread that nest (none overlaps another in part).
fn assert_trace_event_format(v: &Value) {
    let ev = v["traceEvents"].as_array().expect("traceEvents array");
    assert!(!ev.is_empty());
    let mut slices: std::collections::BTreeMap<u64, Vec<(u64, u64)>> = Default::default();
    for e in ev {
        assert!(e["name"].is_string(), "{e}");
        assert!(e["pid"].is_u64() && e["tid"].is_u64(), "{e}");
        let tid = e["tid"].as_u64().unwrap();
        match e["ph"].as_str() {
            Some("M") => assert!(
                e["args"]["name"].is_string() || e["args"]["sort_index"].is_u64(),
                "{e}"
            ),
            Some("X") => {
                let (ts, dur) = (e["ts"].as_u64(), e["dur"].as_u64());
                assert!(ts.is_some() && dur.is_some_and(|d| d > 0), "{e}");
                slices
                    .entry(tid)
                    .or_default()
                    .push((ts.unwrap(), ts.unwrap() + dur.unwrap()));
            }
            Some("i") => {
                assert!(e["ts"].is_u64(), "{e}");
                assert!(matches!(e["s"].as_str(), Some("t" | "p" | "g")), "{e}");
            }
            _ => panic!("phase: {e}"),
        }
    }
    for (tid, mut s) in slices {
        // Outer slices first at a start; each must fit in the open one.
        s.sort_by_key(|&(a, b)| (a, std::cmp::Reverse(b)));
        let mut open: Vec<(u64, u64)> = Vec::new();
        for (a, b) in s {
            while open.last().is_some_and(|&(_, e)| e <= a) {
                open.pop();
            }
            if let Some(&(_, e)) = open.last() {
                assert!(
                    b <= e,
                    "thread {tid}: [{a}, {b}) overlaps its parent, ending {e}"
                );
            }
            open.push((a, b));
        }
    }
}

/// `--trace` writes the run as trace-event JSON: a thread per CPU named by
/// its role, the operations nested in their functions, and the failing
/// check an instant event on the CPU and at the step that made it.
#[test]
fn replay_trace_is_trace_event_json_with_the_check_at_its_step() {
    let dir = scratch("trace");
    let path = dir.join("minifail.json");
    let out = vipt(&[
        "replay",
        "--scenario",
        "minifail",
        "--strategy",
        "patched-2005",
        "b25c4",
        "--trace",
        path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_trace_event_format(&v);
    let ev = v["traceEvents"].as_array().unwrap();
    let names: Vec<&str> = ev
        .iter()
        .filter(|e| e["name"] == "thread_name")
        .filter_map(|e| e["args"]["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "a CPU0 writer: none (no write())",
            "b CPU1 racer: COW, C's dirty line",
            "c CPU2 user: reads B"
        ]
    );
    let check: Vec<&Value> = ev.iter().filter(|e| e["cat"] == "oracle").collect();
    assert_eq!(check.len(), 1);
    assert_eq!(
        (check[0]["tid"].as_u64(), check[0]["ts"].as_u64()),
        (Some(1), Some(6))
    );
    // The operation at that step on that CPU: the COW copy's read of A's page.
    let op = ev
        .iter()
        .find(|e| e["cat"] == "operation" && e["ts"] == 6)
        .unwrap();
    assert_eq!(
        (op["tid"].as_u64(), op["name"].as_str()),
        (Some(1), Some("kernel access"))
    );
    assert_eq!(op["args"]["function"], "copy_user_page_asm");
    // Every step is an operation.
    let steps = ev.iter().filter(|e| e["cat"] == "operation").count();
    assert_eq!(steps, 29);
    // `explore --trace` writes the minimised schedule's trace: this one.
    let p2 = dir.join("explore.json");
    let trace = p2.to_str().unwrap();
    let out = vipt(&[
        "explore",
        "--scenario",
        "minifail",
        "--strategy",
        "patched-2005",
        "--trace",
        trace,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let w: Value = serde_json::from_str(&std::fs::read_to_string(&p2).unwrap()).unwrap();
    assert_trace_event_format(&w);
    let events = |v: &Value| v["traceEvents"].as_array().unwrap()[1..].to_vec();
    assert_eq!(events(&w), events(&v), "the same run, but for the title");
    let _ = std::fs::remove_dir_all(&dir);
}
