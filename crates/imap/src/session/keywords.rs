//! The keywords a session has announced in FLAGS for its selected mailbox.
//!
//! RFC 3501 §7.2.6 / RFC 9051 §7.3.5: FLAGS lists the flags a client may
//! see in the mailbox; a keyword is announced (untagged FLAGS, and
//! PERMANENTFLAGS with it) before the first response that shows it to this
//! session, whichever session created it. The set never shrinks while the
//! mailbox is selected (a superset is allowed), so a FLAGS line never leaves
//! out a keyword a message still carries in the client's view.
//!
//! The invariant kept by every path that writes a message's flags into the
//! session's view (`Selected::msgs`): its keywords are in this set, and the
//! announcement is queued before any line that shows them.

/// The system flags, always in FLAGS (RFC 3501 §2.3.2).
pub(super) const SYSTEM_FLAGS: &str = "\\Answered \\Flagged \\Deleted \\Seen \\Draft";

/// Keywords announced to the client, in the order first seen; compared
/// case-insensitively (RFC 3501 §2.3.2), sent in the case first seen.
#[derive(Default, Debug)]
pub(super) struct Announced {
    names: Vec<Box<str>>,
}

/// The keywords (flags without a backslash) of a flags string.
fn keywords(flags: &str) -> impl Iterator<Item = &str> {
    flags
        .split(' ')
        .filter(|f| !f.is_empty() && !f.starts_with('\\'))
}

impl Announced {
    /// Adds the keywords of `flags`; true if one was new.
    pub fn learn(&mut self, flags: &str) -> bool {
        let mut new = false;
        for k in keywords(flags) {
            if !self.contains(k) {
                self.names.push(k.into());
                new = true;
            }
        }
        new
    }

    pub fn contains(&self, keyword: &str) -> bool {
        self.names.iter().any(|n| n.eq_ignore_ascii_case(keyword))
    }

    /// Learns the keywords of `flags`, which are about to be shown, and
    /// pushes the FLAGS and PERMANENTFLAGS lines to `out` first if one was
    /// new: call it before pushing a line that shows `flags`.
    pub fn before_showing(&mut self, flags: &str, read_only: bool, out: &mut Vec<String>) {
        if self.learn(flags) {
            out.extend(self.lines(read_only));
        }
    }

    /// The FLAGS and PERMANENTFLAGS lines: the system flags plus every
    /// keyword announced; PERMANENTFLAGS is empty when read-only (RFC 3501
    /// §6.3.2) and otherwise allows new keywords (`\*`).
    pub fn lines(&self, read_only: bool) -> [String; 2] {
        let mut all = SYSTEM_FLAGS.to_string();
        for k in &self.names {
            all.push(' ');
            all.push_str(k);
        }
        let permanent = if read_only {
            "()".to_string()
        } else {
            format!("({all} \\*)")
        };
        [
            format!("FLAGS ({all})"),
            format!("OK [PERMANENTFLAGS {permanent}] Flags allowed"),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_keywords_once_whatever_their_case() {
        let mut a = Announced::default();
        assert!(a.learn("\\Seen $Label1"));
        assert!(!a.learn("$label1 \\Deleted"));
        assert!(!a.learn(""));
        assert!(a.learn("$Label1 Work"));
        assert_eq!(
            a.lines(false)[0],
            "FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label1 Work)"
        );
    }

    #[test]
    fn announces_before_the_line_that_shows_a_new_keyword() {
        let mut a = Announced::default();
        let mut out = vec!["1 EXPUNGE".to_string()];
        a.before_showing("\\Seen", false, &mut out);
        assert_eq!(out.len(), 1, "nothing new, nothing announced");
        a.before_showing("$A \\Seen", false, &mut out);
        a.before_showing("$A $B", false, &mut out);
        assert_eq!(out.len(), 5);
        assert!(out[1].starts_with("FLAGS (") && out[1].ends_with(" $A)"));
        assert!(out[3].ends_with(" $A $B)"), "each announcement a superset");
        assert!(out[4].contains("$A $B \\*)"), "{}", out[4]);
    }

    #[test]
    fn read_only_allows_no_permanent_flags() {
        let mut a = Announced::default();
        a.learn("$A");
        assert_eq!(a.lines(true)[1], "OK [PERMANENTFLAGS ()] Flags allowed");
    }
}
