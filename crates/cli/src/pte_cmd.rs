//! `vipt pte decode` and `vipt pte coincide`.

use std::fmt::Write as _;

use clap::{Args, Subcommand};
use serde_json::{json, Value};
use vipt_pte::{
    classify, closed_form, coincidences, flag_names, legacy_2005, patched_2005, pte_none, pte_pfn,
    Layout, Pte, PteKind,
};

use crate::args::{parse_number, parse_usize};
use crate::UsageError;

/// The pfn `vipt pte coincide` counts for when none is given.
pub const DEFAULT_PFN: u64 = 0x12345;

/// `vipt pte ...`.
#[derive(Debug, Subcommand)]
pub enum PteCommand {
    /// Decode a pte value: kind, flags, swap or file fields, and what both
    /// translation_exists versions answer for a pfn.
    Decode(DecodeArgs),
    /// Question 1: how many swap and file ptes the pre-patch translation_exists
    /// takes for a translation of a pfn, with examples.
    Coincide(CoincideArgs),
}

/// Arguments of `vipt pte decode`.
#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// The pte value (decimal or 0x-hex).
    #[arg(value_parser = parse_number, allow_hyphen_values = true)]
    value: u64,
    /// The kernel's layout: 32 (2-level) or 64 (3-level).
    #[arg(long, value_name = "32|64", default_value = "32", value_parser = parse_layout, allow_hyphen_values = true)]
    layout: Layout,
    /// The target pfn for translation_exists, decimal or 0x-hex (default:
    /// the pte's own pte_pfn).
    #[arg(long, value_name = "N", value_parser = parse_number, allow_hyphen_values = true)]
    pfn: Option<u64>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Arguments of `vipt pte coincide`.
#[derive(Debug, Args)]
pub struct CoincideArgs {
    /// The target pfn (decimal or 0x-hex).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_PFN, value_parser = parse_number, allow_hyphen_values = true)]
    pfn: u64,
    /// The kernel's layout: 32 (2-level) or 64 (3-level).
    #[arg(long, value_name = "32|64", default_value = "32", value_parser = parse_layout, allow_hyphen_values = true)]
    layout: Layout,
    /// How many example ptes of each kind to show (decimal or 0x-hex).
    #[arg(long, value_name = "K", default_value_t = 3, value_parser = parse_usize, allow_hyphen_values = true)]
    examples: usize,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

fn parse_layout(s: &str) -> Result<Layout, String> {
    let n = parse_number(s)?;
    Layout::from_bits(n).map_err(|e| e.to_string())
}

/// Runs a `vipt pte` subcommand and returns what it prints.
pub fn run(cmd: PteCommand) -> Result<String, UsageError> {
    match cmd {
        PteCommand::Decode(a) => decode(&a),
        PteCommand::Coincide(a) => coincide(&a),
    }
}

fn layout_name(l: Layout) -> String {
    format!("{}-bit", l.bits_per_long())
}

fn decode(a: &DecodeArgs) -> Result<String, UsageError> {
    let pte = a.layout.pte(a.value)?;
    let pfn = a.pfn.unwrap_or(pte_pfn(pte));
    if pfn >> a.layout.pfn_bits() != 0 {
        return Err(UsageError(format!(
            "pfn {pfn:#x} does not fit the {} layout's {} pfn bits",
            layout_name(a.layout),
            a.layout.pfn_bits()
        )));
    }
    let kind = classify(pte);
    let (pfn_field, flags) = match kind {
        PteKind::Present { pfn, flags } | PteKind::FlushOnly { pfn, flags } => {
            (Some(pfn), flag_names(flags, false))
        }
        PteKind::File { .. } => (None, flag_names(pte.flags(), true)),
        PteKind::None | PteKind::Swap { .. } => (None, Vec::new()),
    };
    let (swap_type, swap_offset) = match kind {
        PteKind::Swap { ty, offset } => (Some(ty), Some(offset)),
        _ => (None, None),
    };
    let pgoff = match kind {
        PteKind::File { pgoff } => Some(pgoff),
        _ => None,
    };
    let legacy = legacy_2005(pte, pfn);
    let patched = patched_2005(pte, pfn);
    if a.json {
        let v = json!({
            "value": pte.raw(),
            "layout": a.layout.bits_per_long(),
            "kind": kind.name(),
            "pfn": pfn_field,
            "pte_pfn": pte_pfn(pte),
            "pte_none": pte_none(pte),
            "flags": flags,
            "swap_type": swap_type,
            "swap_offset": swap_offset,
            "pgoff": pgoff,
            "target_pfn": pfn,
            "legacy_2005": legacy,
            "patched_2005": patched,
        });
        return Ok(format!("{v}\n"));
    }
    let yes = |b: bool| if b { "yes" } else { "no" };
    let mut s = String::new();
    let _ = writeln!(s, "pte {:#x} ({} layout)", pte.raw(), layout_name(a.layout));
    let _ = writeln!(s, "  kind          {}", kind.name());
    match kind {
        PteKind::Present { pfn, .. } | PteKind::FlushOnly { pfn, .. } => {
            let _ = writeln!(s, "  pfn           {pfn:#x}");
            let _ = writeln!(s, "  flags         {}", flags.join("|"));
        }
        PteKind::Swap { ty, offset } => {
            let _ = writeln!(s, "  swap type     {ty}");
            let _ = writeln!(s, "  swap offset   {offset:#x}");
        }
        PteKind::File { pgoff } => {
            let _ = writeln!(s, "  pgoff         {pgoff:#x}");
        }
        PteKind::None => {}
    }
    let _ = writeln!(
        s,
        "  pte_none      {}{}",
        yes(pte_none(pte)),
        if matches!(kind, PteKind::FlushOnly { .. }) {
            " (a flush-only pte is none to generic code)"
        } else {
            ""
        }
    );
    let _ = writeln!(s, "  translation_exists for pfn {pfn:#x}:");
    let _ = writeln!(s, "    legacy_2005   {}", yes(legacy));
    let _ = writeln!(s, "    patched_2005  {}", yes(patched));
    if legacy && !patched {
        let _ = writeln!(
            s,
            "  the pre-patch test takes this {} pte for a translation of pfn {pfn:#x}",
            kind.name()
        );
    }
    Ok(s)
}

fn example_json(pte: Pte) -> Value {
    match classify(pte) {
        PteKind::Swap { ty, offset } => json!({"pte": pte.raw(), "type": ty, "offset": offset}),
        PteKind::File { pgoff } => json!({"pte": pte.raw(), "pgoff": pgoff}),
        _ => json!({"pte": pte.raw()}),
    }
}

fn coincide(a: &CoincideArgs) -> Result<String, UsageError> {
    let c = coincidences(a.layout, a.pfn, a.examples)?;
    let (swap_cf, file_cf) = closed_form(a.layout, a.pfn)?;
    if a.json {
        let v = json!({
            "pfn": c.pfn,
            "layout": a.layout.bits_per_long(),
            "swap": c.swap,
            "file": c.file,
            "patched_2005": c.patched_2005,
            "closed_form": {"swap": swap_cf, "file": file_cf},
            "examples": {
                "swap": c.swap_examples.iter().map(|p| example_json(*p)).collect::<Vec<_>>(),
                "file": c.file_examples.iter().map(|p| example_json(*p)).collect::<Vec<_>>(),
            },
        });
        return Ok(format!("{v}\n"));
    }
    let mut s = String::new();
    let _ = writeln!(
        s,
        "pfn {:#x}, {} layout: non-present ptes whose pte_pfn is {:#x}",
        c.pfn,
        layout_name(a.layout),
        c.pfn
    );
    let _ = writeln!(
        s,
        "  swap entries accepted by legacy_2005   {:>4}  (closed form {swap_cf})",
        c.swap
    );
    let _ = writeln!(
        s,
        "  file entries accepted by legacy_2005   {:>4}  (closed form {file_cf})",
        c.file
    );
    let _ = writeln!(
        s,
        "  swap or file accepted by patched_2005  {:>4}",
        c.patched_2005
    );
    if !c.swap_examples.is_empty() || !c.file_examples.is_empty() {
        let _ = writeln!(
            s,
            "examples (flush_dcache_page would flush through these and stop):"
        );
        for p in c.swap_examples.iter().chain(&c.file_examples) {
            let _ = writeln!(s, "  {:#012x}  {}", p.raw(), classify(*p));
        }
    }
    Ok(s)
}
