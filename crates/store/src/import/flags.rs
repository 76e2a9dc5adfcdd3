//! Flags as other servers keep them outside IMAP:
//! - mbox headers `Status: RO` (R = \Seen), `X-Status: AFTD` (\Answered,
//!   \Flagged, \Draft, \Deleted), `X-Keywords: a, b` (Dovecot, mutt);
//! - Maildir info `:2,DFPRST` (cr.yp.to/proto/maildir.html; P "passed" has
//!   no IMAP flag) and lowercase letters a–z naming the keywords listed in
//!   Dovecot's `dovecot-keywords` file ("0 $Work" per line).

/// The system flags by Maildir letter, in the letters' ASCII order (the
/// order Maildir requires in a file name).
const MAILDIR_LETTERS: [(char, &str); 5] = [
    ('D', "\\Draft"),
    ('F', "\\Flagged"),
    ('R', "\\Answered"),
    ('S', "\\Seen"),
    ('T', "\\Deleted"),
];
/// How many keywords a Maildir file name can carry (letters a–z).
pub const MAILDIR_KEYWORDS: usize = 26;

#[derive(Debug, Default, Clone)]
pub struct MboxFlags {
    status: String,
    x_status: String,
    keywords: Vec<String>,
}

impl MboxFlags {
    /// Takes the header line when it is one of ours (true: drop it from the message).
    pub fn header(&mut self, line: &[u8]) -> bool {
        let Ok(s) = std::str::from_utf8(line) else {
            return false;
        };
        let Some((name, value)) = s.split_once(':') else {
            return false;
        };
        let value = value.trim();
        match name.to_ascii_lowercase().as_str() {
            "status" => self.status = value.into(),
            "x-status" => self.x_status = value.into(),
            "x-keywords" => self.keywords.extend(
                value
                    .split([',', ' '])
                    .filter(|k| !k.is_empty())
                    .map(String::from),
            ),
            _ => return false,
        }
        true
    }

    pub fn to_flags(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.status.contains('R') {
            out.push("\\Seen".to_string());
        }
        for (c, f) in [
            ('A', "\\Answered"),
            ('F', "\\Flagged"),
            ('T', "\\Draft"),
            ('D', "\\Deleted"),
        ] {
            if self.x_status.contains(c) {
                out.push(f.into());
            }
        }
        out.extend(self.keywords.iter().cloned());
        out
    }
}

/// The headers `export --flags` writes for a message's flags (empty when none).
pub fn mbox_headers(flags: &str) -> String {
    let has = |f: &str| flags.split_whitespace().any(|g| g.eq_ignore_ascii_case(f));
    let mut out = String::new();
    out.push_str(if has("\\Seen") {
        "Status: RO\n"
    } else {
        "Status: O\n"
    });
    let x: String = [
        ('A', "\\Answered"),
        ('F', "\\Flagged"),
        ('T', "\\Draft"),
        ('D', "\\Deleted"),
    ]
    .iter()
    .filter(|(_, f)| has(f))
    .map(|(c, _)| *c)
    .collect();
    if !x.is_empty() {
        out.push_str(&format!("X-Status: {x}\n"));
    }
    let kw: Vec<&str> = flags
        .split_whitespace()
        .filter(|f| !f.starts_with('\\'))
        .collect();
    if !kw.is_empty() {
        out.push_str(&format!("X-Keywords: {}\n", kw.join(", ")));
    }
    out
}

/// Flags of a Maildir file name (`…:2,FRSab`), keywords looked up in `keywords`.
pub fn maildir_flags(name: &str, keywords: &[String]) -> Vec<String> {
    let Some((_, info)) = name.rsplit_once(":2,") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for c in info.chars() {
        if let Some((_, f)) = MAILDIR_LETTERS.iter().find(|(l, _)| *l == c) {
            out.push(f.to_string());
        } else if c.is_ascii_lowercase() {
            if let Some(k) = keywords.get((c as u8 - b'a') as usize) {
                out.push(k.clone());
            }
        }
    }
    out
}

/// The info part for `flags` (canonical, space-separated): system letters
/// then keyword letters, `keywords` growing as new ones are met.
pub fn maildir_info(flags: &str, keywords: &mut Vec<String>) -> String {
    let mut letters: Vec<char> = Vec::new();
    for f in flags.split_whitespace() {
        if let Some((c, _)) = MAILDIR_LETTERS
            .iter()
            .find(|(_, s)| s.eq_ignore_ascii_case(f))
        {
            letters.push(*c);
        } else if !f.starts_with('\\') {
            let i = match keywords.iter().position(|k| k == f) {
                Some(i) => i,
                None if keywords.len() < MAILDIR_KEYWORDS => {
                    keywords.push(f.to_string());
                    keywords.len() - 1
                }
                None => continue,
            };
            letters.push((b'a' + i as u8) as char);
        }
    }
    letters.sort_unstable();
    format!(":2,{}", letters.into_iter().collect::<String>())
}

/// `dovecot-keywords`: "INDEX NAME" per line.
pub fn parse_dovecot_keywords(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        let Some((i, name)) = line.split_once(' ') else {
            continue;
        };
        let Ok(i) = i.parse::<usize>() else { continue };
        if i < MAILDIR_KEYWORDS {
            if out.len() <= i {
                out.resize(i + 1, String::new());
            }
            out[i] = name.trim().to_string();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maildir_names_both_ways() {
        let kw = parse_dovecot_keywords("0 $Work\n1 Later\n");
        assert_eq!(
            maildir_flags("1700000000.M1P2.host,S=10,W=12:2,FRSb", &kw),
            ["\\Flagged", "\\Answered", "\\Seen", "Later"]
        );
        assert!(maildir_flags("1700000000.M1P2.host", &kw).is_empty());
        let mut kw2 = Vec::new();
        assert_eq!(maildir_info("$Work \\Seen \\Flagged", &mut kw2), ":2,FSa");
        assert_eq!(kw2, ["$Work"]);
    }

    #[test]
    fn keyword_letters_run_out_at_26() {
        let mut kw: Vec<String> = (0..MAILDIR_KEYWORDS).map(|i| format!("k{i}")).collect();
        assert_eq!(maildir_info("one-too-many", &mut kw), ":2,");
        assert_eq!(kw.len(), MAILDIR_KEYWORDS);
    }

    #[test]
    fn mbox_headers_round_trip() {
        let h = mbox_headers("$Work \\Answered \\Seen");
        assert_eq!(h, "Status: RO\nX-Status: A\nX-Keywords: $Work\n");
        let mut f = MboxFlags::default();
        for line in h.lines() {
            assert!(f.header(line.as_bytes()));
        }
        assert_eq!(f.to_flags(), ["\\Seen", "\\Answered", "$Work"]);
    }
}
