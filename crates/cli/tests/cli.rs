//! The `vipt` command end to end: output, JSON keys, errors and exit statuses.

use std::process::{Command, Output};

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

#[test]
fn every_subcommand_has_help() {
    for args in [
        &["--help"][..],
        &["pte", "--help"],
        &["pte", "decode", "--help"],
        &["pte", "coincide", "--help"],
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
        "300",
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
    for c in cells {
        for k in [
            "scenario", "strategy", "verdict", "explored", "failing", "rate", "schedule",
        ] {
            assert!(c.get(k).is_some(), "{k} missing in {c}");
        }
        let verdict = c["verdict"].as_str().unwrap();
        assert!(verdict == "pass" || verdict == "fail");
        assert_eq!(verdict == "fail", c["failing"].as_u64().unwrap() > 0);
        assert_eq!(verdict == "fail", c["schedule"].is_string(), "{c}");
    }
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
    let v = json(&[
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
    // modern purges the TLB once per vma, tmpalias never walks a pte.
    let at = |s: &str, n: u64| {
        pts.iter()
            .find(|p| {
                p["strategy"] == s && p["vmas"] == n && p["present"] == 1.0 && p["colours"] == 1
            })
            .unwrap()
    };
    assert!(at("modern", 32)["tlb_purges"].as_u64().unwrap() >= 32);
    assert_eq!(at("tmpalias", 32)["translation_checks"], 0);
    let s = json(&["stress", "--rounds", "20", "--json"]);
    assert_eq!(s["ok"], true);
}
