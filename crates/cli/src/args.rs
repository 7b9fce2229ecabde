//! The value parsers every subcommand shares, and the checks of output paths
//! made before a long run.

use std::fs::OpenOptions;
use std::path::Path;

use crate::UsageError;

/// Parses a number in decimal or 0x-hex (`0x` or `0X`, `_` separators
/// allowed) that fits in `bits` bits.
fn parse_bits(s: &str, bits: u32) -> Result<u64, String> {
    let t = s.trim().replace('_', "");
    let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
            u64::from_str_radix(hex, 16).ok()
        }
        Some(_) => None,
        None if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) => t.parse::<u64>().ok(),
        None => None,
    };
    parsed
        .filter(|&n| bits >= 64 || n >> bits == 0)
        .ok_or_else(|| format!("'{s}' is not a decimal or 0x-hex number below 2^{bits}"))
}

/// Parses a number in decimal or 0x-hex.
pub fn parse_number(s: &str) -> Result<u64, String> {
    parse_bits(s, 64)
}

/// [`parse_number`] for a 32-bit option.
pub fn parse_u32(s: &str) -> Result<u32, String> {
    parse_bits(s, 32).map(|n| n as u32)
}

/// [`parse_number`] for a count held in a `usize`.
pub fn parse_usize(s: &str) -> Result<usize, String> {
    let bits = usize::BITS.min(64);
    parse_bits(s, bits).map(|n| n as usize)
}

/// A preemption bound as given on the command line: a number, or `none`
/// for an unbounded search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoundArg(pub Option<u32>);

impl std::fmt::Display for BoundArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(b) => write!(f, "{b}"),
            None => f.write_str("none"),
        }
    }
}

/// Parses a preemption bound: [`parse_u32`], or `none` (any case) for no
/// bound.
pub fn parse_bound(s: &str) -> Result<BoundArg, String> {
    if s.trim().eq_ignore_ascii_case("none") {
        return Ok(BoundArg(None));
    }
    parse_u32(s)
        .map(|b| BoundArg(Some(b)))
        .map_err(|e| format!("{e}, or none for no bound"))
}

/// The spellings an on/off flag accepts.
pub const ON_OFF: &str = "on/off, yes/no, true/false or 1/0 (any case)";

/// Parses an on/off flag: on/off, yes/no, true/false, 1/0, in any case.
pub fn parse_on_off(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "on" | "yes" | "true" | "1" => Ok(true),
        "off" | "no" | "false" | "0" => Ok(false),
        _ => Err(format!("'{s}' is not on or off; use {ON_OFF}")),
    }
}

/// Checks that `dir` can be created and written, leaving it created: a
/// probe file is made and removed again.
pub fn probe_dir(dir: &Path) -> Result<(), UsageError> {
    let err = |e: std::io::Error| UsageError(format!("--out {}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(err)?;
    let probe = dir.join(format!(".vipt-probe-{}", std::process::id()));
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map_err(err)?;
    std::fs::remove_file(&probe).map_err(err)
}

/// Checks that the file `path` can be written, without changing it: an
/// existing file is opened for appending, a new one is made and removed.
pub fn probe_file(flag: &str, path: &Path) -> Result<(), UsageError> {
    let err = |e: std::io::Error| UsageError(format!("{flag} {}: {e}", path.display()));
    if path.is_dir() {
        return Err(UsageError(format!(
            "{flag} {}: is a directory",
            path.display()
        )));
    }
    if path.exists() {
        OpenOptions::new().append(true).open(path).map_err(err)?;
        return Ok(());
    }
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(err)?;
    std::fs::remove_file(path).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_decimal_or_hex() {
        assert_eq!(parse_number("16"), Ok(16));
        assert_eq!(parse_number("0x10"), Ok(16));
        assert_eq!(parse_number("0X1_0"), Ok(16));
        assert_eq!(parse_number("0xffffffffffffffff"), Ok(u64::MAX));
        for bad in [
            "",
            "0x",
            "-1",
            "+1",
            "0x+1",
            "1.5",
            "ten",
            "0x1g",
            "18446744073709551616",
        ] {
            assert!(parse_number(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_u32("0xffffffff"), Ok(u32::MAX));
        let e = parse_u32("0x100000000").unwrap_err();
        assert!(e.contains("'0x100000000'") && e.contains("2^32"), "{e}");
        assert_eq!(parse_usize("0x20"), Ok(32));
    }

    #[test]
    fn bounds_are_numbers_or_none() {
        assert_eq!(parse_bound("3"), Ok(BoundArg(Some(3))));
        assert_eq!(parse_bound("0x2"), Ok(BoundArg(Some(2))));
        assert_eq!(parse_bound("none"), Ok(BoundArg(None)));
        assert_eq!(parse_bound("NONE"), Ok(BoundArg(None)));
        let e = parse_bound("-1").unwrap_err();
        assert!(e.contains("'-1'") && e.contains("none"), "{e}");
        assert_eq!(BoundArg(None).to_string(), "none");
        assert_eq!(BoundArg(Some(3)).to_string(), "3");
    }

    #[test]
    fn on_off_spellings() {
        for s in ["on", "ON", "Yes", "TRUE", "1", " on "] {
            assert_eq!(parse_on_off(s), Ok(true), "{s}");
        }
        for s in ["off", "Off", "NO", "false", "0"] {
            assert_eq!(parse_on_off(s), Ok(false), "{s}");
        }
        for s in ["", "2", "maybe", "onn"] {
            assert!(parse_on_off(s).is_err(), "{s}");
        }
    }
}
