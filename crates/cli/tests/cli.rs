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
