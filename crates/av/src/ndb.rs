//! One `.ndb` line: `MalwareName:TargetType:Offset:HexSignature[:min_flevel[:max_flevel]]`.
//!
//! Target types are checked (0–14) and then ignored: every signature runs on
//! every scanned object, decoded and extracted (this engine has no PE, OLE
//! or HTML normaliser to narrow the target). Functionality levels are
//! checked to be numbers and ignored. Offsets: `*`, `n`, `n,m`, `EOF-n`,
//! `EOF-n,m`; the executable-relative ones (`EP+n`, `Sx+n`, `SL+n`, `SE…`,
//! `VI`, `$…`) are not supported and the line is skipped and counted.

use crate::hexsig::{HexError, Pattern};

/// ClamAV's highest target type (14: Mach-O universal binary… and friends).
pub const MAX_TARGET_TYPE: u32 = 14;

/// Where a match must start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Offset {
    Any,
    /// From `at` to `at + shift`, counted from the start.
    Start {
        at: usize,
        shift: usize,
    },
    /// From `len - back` to that plus `shift`.
    End {
        back: usize,
        shift: usize,
    },
}

impl Offset {
    pub fn parse(s: &str) -> Result<Offset, HexError> {
        if s == "*" {
            return Ok(Offset::Any);
        }
        let (base, shift) = match s.split_once(',') {
            Some((b, m)) => (b, num(m)?),
            None => (s, 0),
        };
        if let Some(back) = base.strip_prefix("EOF-") {
            return Ok(Offset::End {
                back: num(back)?,
                shift,
            });
        }
        if base.bytes().all(|c| c.is_ascii_digit()) && !base.is_empty() {
            return Ok(Offset::Start {
                at: num(base)?,
                shift,
            });
        }
        const EXE: [&str; 6] = ["EP", "S", "SL", "SE", "VI", "$"];
        if EXE.iter().any(|p| base.starts_with(p)) {
            return Err(HexError::Unsupported("executable-relative offsets"));
        }
        Err(HexError::Malformed(format!("bad offset '{s}'")))
    }

    /// Whether a match may start at `start` in an object of `len` bytes.
    pub fn allows(self, start: usize, len: usize) -> bool {
        let within = |base: usize, shift: usize| start >= base && start - base <= shift;
        match self {
            Offset::Any => true,
            Offset::Start { at, shift } => within(at, shift),
            Offset::End { back, shift } => len >= back && within(len - back, shift),
        }
    }
}

fn num(s: &str) -> Result<usize, HexError> {
    s.parse()
        .map_err(|_| HexError::Malformed(format!("bad number '{s}'")))
}

/// A parsed body signature.
#[derive(Clone, Debug)]
pub struct BodySig {
    pub name: String,
    pub offset: Offset,
    pub pattern: Pattern,
}

pub fn parse_line(line: &str) -> Result<BodySig, HexError> {
    let f: Vec<&str> = line.split(':').collect();
    if !(4..=6).contains(&f.len()) {
        return Err(HexError::Malformed(format!(
            "{} fields, want Name:Target:Offset:Hex[:min_flevel[:max_flevel]]",
            f.len()
        )));
    }
    if f[0].is_empty() {
        return Err(HexError::Malformed("empty name".into()));
    }
    match f[1].parse::<u32>() {
        Ok(t) if t <= MAX_TARGET_TYPE => {}
        _ => return Err(HexError::Malformed(format!("bad target type '{}'", f[1]))),
    }
    for level in &f[4..] {
        if !level.is_empty() {
            num(level)?;
        }
    }
    Ok(BodySig {
        name: f[0].to_string(),
        offset: Offset::parse(f[2])?,
        pattern: Pattern::parse(f[3])?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_fields() {
        let s = parse_line("Test.Sig:0:*:41424344:51:255").unwrap();
        assert_eq!(s.name, "Test.Sig");
        assert_eq!(s.offset, Offset::Any);
        assert_eq!(s.pattern.anchor, b"ABCD");
        assert!(parse_line("X:1:EOF-10:41424344").is_ok());
        assert!(parse_line("X:0:*").is_err());
        assert!(parse_line(":0:*:4142").is_err());
        assert!(parse_line("X:99:*:4142").is_err());
        assert!(parse_line("X:0:*:4142:abc").is_err());
        assert!(matches!(
            parse_line("X:1:EP+10:4142"),
            Err(HexError::Unsupported(_))
        ));
    }

    #[test]
    fn offsets() {
        let o = Offset::parse("10").unwrap();
        assert!(o.allows(10, 100) && !o.allows(11, 100) && !o.allows(9, 100));
        let o = Offset::parse("10,5").unwrap();
        assert!(o.allows(15, 100) && !o.allows(16, 100));
        let o = Offset::parse("EOF-4").unwrap();
        assert!(o.allows(96, 100) && !o.allows(95, 100) && !o.allows(0, 3));
        let o = Offset::parse("EOF-4,2").unwrap();
        assert!(o.allows(98, 100) && !o.allows(99, 100));
        assert!(Offset::parse("x").is_err());
        assert!(matches!(
            Offset::parse("SL+4"),
            Err(HexError::Unsupported(_))
        ));
    }
}
