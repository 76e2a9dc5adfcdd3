//! The attachment filter (SPEC V4, issue 17 item 6), sans-I/O: ordered
//! rules, each a file-name glob or a MIME type and block or allow, matched
//! against the parts a scan listed ([`PartInfo`]): each part's declared
//! name and type, and the name of every member of an archive inside it.
//! For each name the first matching rule wins; a part is blocked when any
//! of its names is. Names are matched ignoring case and Windows' trailing
//! dots and blanks, so `*.exe` catches `invoice.pdf.exe` and `INVOICE.EXE.`.

use crate::report::PartInfo;

/// Longest glob accepted (matching is O(name × glob) in the worst case).
pub const MAX_GLOB: usize = 255;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A glob on file names (`*` any run, `?` one character), lowercased.
    Name(String),
    /// A MIME type, `type/subtype` or `type/*`, lowercased.
    Type(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Block,
    Allow,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub target: Target,
    pub action: Action,
}

impl Rule {
    /// From the stored text: kind `name`|`type`, action `block`|`allow`.
    pub fn parse(kind: &str, pattern: &str, action: &str) -> Result<Rule, String> {
        let p = pattern.trim().to_ascii_lowercase();
        if p.is_empty() || p.len() > MAX_GLOB {
            return Err(format!("pattern must be 1 to {MAX_GLOB} characters"));
        }
        let target = match kind {
            "name" => Target::Name(p),
            "type" if valid_type(&p) => Target::Type(p),
            "type" => {
                return Err(format!(
                    "{pattern}: not a MIME type (type/subtype or type/*)"
                ))
            }
            k => return Err(format!("{k}: a rule matches a name or a type")),
        };
        let action = match action {
            "block" => Action::Block,
            "allow" => Action::Allow,
            a => return Err(format!("{a}: a rule blocks or allows")),
        };
        Ok(Rule { target, action })
    }

    /// The kind, pattern and action as stored and listed.
    pub fn describe(&self) -> (&'static str, &str, &'static str) {
        let (kind, p) = match &self.target {
            Target::Name(g) => ("name", g.as_str()),
            Target::Type(t) => ("type", t.as_str()),
        };
        let a = match self.action {
            Action::Block => "block",
            Action::Allow => "allow",
        };
        (kind, p, a)
    }

    fn matches(&self, name: Option<&str>, ctype: Option<&str>) -> bool {
        match (&self.target, name, ctype) {
            (Target::Name(g), Some(n), _) => glob(g.as_bytes(), normalized(n).as_bytes()),
            (Target::Type(t), _, Some(c)) => type_matches(t, c),
            _ => false,
        }
    }
}

fn valid_type(t: &str) -> bool {
    t.split_once('/').is_some_and(|(a, b)| {
        let token = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_graphic() && c != b'/');
        token(a) && token(b)
    })
}

fn type_matches(rule: &str, ctype: &str) -> bool {
    let c = ctype.trim().to_ascii_lowercase();
    match rule.strip_suffix("/*") {
        Some(main) => c.split_once('/').is_some_and(|(m, _)| m == main),
        None => c == rule,
    }
}

/// A file name lowercased, without the dots and blanks Windows ignores at
/// its end, and without any directory part (`dir/x.exe` is `x.exe`).
fn normalized(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    base.trim_end_matches(['.', ' ']).to_lowercase()
}

/// `*` and `?` glob, linear backtracking on the last star.
fn glob(pat: &[u8], s: &[u8]) -> bool {
    let (mut p, mut i) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        if p < pat.len() && (pat[p] == b'?' || pat[p] == s[i]) {
            p += 1;
            i += 1;
        } else if p < pat.len() && pat[p] == b'*' {
            star = Some((p, i));
            p += 1;
        } else if let Some((sp, si)) = star {
            p = sp + 1;
            i = si + 1;
            star = Some((sp, si + 1));
        } else {
            return false;
        }
    }
    pat[p..].iter().all(|&c| c == b'*')
}

/// A part the filter blocks, and the name (or type) that matched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blocked {
    pub part: usize,
    pub name: String,
}

/// The first rule matching `name`/`ctype`, if it blocks.
fn blocks(rules: &[Rule], name: Option<&str>, ctype: Option<&str>) -> bool {
    rules
        .iter()
        .find(|r| r.matches(name, ctype))
        .is_some_and(|r| r.action == Action::Block)
}

/// The parts the rules block, each once, in order.
pub fn check(rules: &[Rule], parts: &[PartInfo]) -> Vec<Blocked> {
    if rules.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for p in parts {
        let name = p.filename.as_deref();
        let hit = if blocks(rules, name, Some(&p.content_type)) {
            Some(name.unwrap_or(&p.content_type).to_string())
        } else {
            p.inside
                .iter()
                .filter_map(|path| path.last())
                .find(|n| blocks(rules, Some(n), None))
                .cloned()
        };
        if let Some(name) = hit {
            out.push(Blocked {
                part: p.index,
                name,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(kind: &str, p: &str, a: &str) -> Rule {
        Rule::parse(kind, p, a).unwrap()
    }

    fn part(index: usize, name: Option<&str>, ct: &str, inside: &[&str]) -> PartInfo {
        PartInfo {
            index,
            filename: name.map(String::from),
            content_type: ct.into(),
            inside: inside
                .iter()
                .map(|n| vec!["a.zip".to_string(), n.to_string()])
                .collect(),
        }
    }

    #[test]
    fn globs() {
        assert!(glob(b"*.exe", b"invoice.pdf.exe"));
        assert!(glob(b"*.pdf.exe", b"invoice.pdf.exe"));
        assert!(!glob(b"*.exe", b"invoice.exe.pdf"));
        assert!(glob(b"a?c*", b"abcdef"));
        assert!(glob(b"*", b""));
        assert!(!glob(b"?", b""));
        assert!(glob(b"*a*a*a*b", b"aaaaaaaaaaaaaaaaaaaaaab"));
        assert!(!glob(b"*a*a*a*b", b"aaaaaaaaaaaaaaaaaaaaaaa"));
    }

    #[test]
    fn names_ignore_case_trailing_dots_and_directories() {
        let rules = [r("name", "*.EXE", "block")];
        for n in ["INVOICE.PDF.EXE", "x.exe. ", "dir\\sub/x.exe"] {
            assert_eq!(
                check(&rules, &[part(1, Some(n), "application/pdf", &[])]).len(),
                1,
                "{n}"
            );
        }
        assert!(check(&rules, &[part(1, Some("x.exe.txt"), "text/plain", &[])]).is_empty());
    }

    #[test]
    fn first_matching_rule_wins() {
        let rules = [r("name", "safe.exe", "allow"), r("name", "*.exe", "block")];
        assert!(check(&rules, &[part(1, Some("SAFE.exe"), "x/y", &[])]).is_empty());
        assert_eq!(
            check(&rules, &[part(2, Some("evil.exe"), "x/y", &[])]),
            [Blocked {
                part: 2,
                name: "evil.exe".into()
            }]
        );
    }

    #[test]
    fn types_and_archive_members() {
        let rules = [
            r("type", "application/x-msdownload", "block"),
            r("type", "image/*", "allow"),
            r("name", "*.js", "block"),
        ];
        let parts = [
            part(1, None, "text/plain", &[]),
            part(2, None, "application/x-msdownload", &[]),
            part(3, Some("pic.js"), "image/png", &[]),
            part(
                4,
                Some("a.zip"),
                "application/zip",
                &["readme.txt", "run.JS"],
            ),
        ];
        let b = check(&rules, &parts);
        assert_eq!(
            b,
            [
                Blocked {
                    part: 2,
                    name: "application/x-msdownload".into()
                },
                Blocked {
                    part: 4,
                    name: "run.JS".into()
                },
            ]
        );
    }

    #[test]
    fn parse_refuses_bad_rules() {
        assert!(Rule::parse("type", "exe", "block").is_err());
        assert!(Rule::parse("name", "", "block").is_err());
        assert!(Rule::parse("name", &"x".repeat(MAX_GLOB + 1), "block").is_err());
        assert!(Rule::parse("name", &"x".repeat(MAX_GLOB), "block").is_ok());
        assert!(Rule::parse("size", "x", "block").is_err());
        assert!(Rule::parse("name", "x", "drop").is_err());
        assert_eq!(
            r("type", "Image/*", "allow").describe(),
            ("type", "image/*", "allow")
        );
    }
}
