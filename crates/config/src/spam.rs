//! `[spam]`: the spam score's thresholds (SPEC P2, P7). A message scoring at
//! least `tag_score` is spam (tagged, and `postern spam check` says `spam`);
//! at least `reject_score` it is refused. Other `spam.*` keys (the filter
//! stages) join this section.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Spam {
    /// Points from which a message is spam.
    pub tag_score: f64,
    /// Points from which a message is refused.
    pub reject_score: f64,
    /// Put before the Subject of a message tagged as spam ("": leave it).
    pub subject_tag: String,
    /// Whether mail is scored at all.
    pub enabled: bool,
    /// Whether authenticated submissions and trusted clients are scored too.
    pub scan_authenticated: bool,
    /// What happens from `reject_score`: refused with 550 5.7.1, or
    /// accepted and thrown away.
    pub reject_action: RejectAction,
    /// Whether a message an IMAP client copies, moves or appends into the
    /// `\Junk` folder is learned as spam (and out of it as ham).
    pub learn_from_junk: bool,
    /// Whether mail scored at the end of DATA is learned on its own when its
    /// score without the classifier's points reaches `auto_learn_spam` (or
    /// falls to `auto_learn_ham`).
    pub auto_learn: bool,
    pub auto_learn_spam: f64,
    pub auto_learn_ham: f64,
    /// DNS blacklists of client addresses (dnsbl.rs).
    pub dnsbl: Vec<crate::dnsbl::Dnsbl>,
    /// DNS lists of domains, asked for the links in a message (dnsbl.rs).
    pub uribl: Vec<crate::dnsbl::Uribl>,
    /// How long the DNS lists are waited for; past it a list counts as not listing.
    pub dnsbl_timeout: crate::Duration,
    /// IP group never refused by a DNS list, not scored ("": none).
    pub ip_whitelist: String,
    /// IP group refused with 554 5.7.1 instead of the greeting ("": none).
    pub ip_blacklist: String,
}

/// `spam.reject_action`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RejectAction {
    /// 550 5.7.1 at the end of DATA: the sender learns of it, no bounce later.
    #[default]
    Reject,
    /// 250, then nothing is stored.
    Discard,
}

impl Default for Spam {
    fn default() -> Self {
        Spam {
            tag_score: 5.0,
            reject_score: 20.0,
            subject_tag: "**SPAM**".into(),
            enabled: true,
            scan_authenticated: false,
            reject_action: RejectAction::Reject,
            learn_from_junk: true,
            auto_learn: false,
            auto_learn_spam: 12.0,
            auto_learn_ham: -2.0,
            dnsbl: Vec::new(),
            uribl: Vec::new(),
            dnsbl_timeout: crate::Duration(crate::dnsbl::DEFAULT_DNSBL_TIMEOUT),
            ip_whitelist: String::new(),
            ip_blacklist: String::new(),
        }
    }
}

impl Spam {
    pub fn validate(&self) -> Result<(), String> {
        if !self.tag_score.is_finite() || !self.reject_score.is_finite() {
            return Err("spam.tag_score, spam.reject_score: must be numbers".into());
        }
        if self.reject_score < self.tag_score {
            return Err(format!(
                "spam.reject_score ({}) must not be below spam.tag_score ({})",
                self.reject_score, self.tag_score
            ));
        }
        if !self.auto_learn_spam.is_finite()
            || !self.auto_learn_ham.is_finite()
            || self.auto_learn_ham >= self.auto_learn_spam
        {
            return Err(format!(
                "spam.auto_learn_ham ({}) must be a number below spam.auto_learn_spam ({})",
                self.auto_learn_ham, self.auto_learn_spam
            ));
        }
        crate::dnsbl::validate(&self.dnsbl, &self.uribl, self.dnsbl_timeout.0)
    }
}

#[cfg(test)]
mod tests {
    use crate::Config;

    #[test]
    fn thresholds_parse_and_are_ordered() {
        let c = Config::parse("[spam]\ntag_score = 4.5\nreject_score = 9\n").unwrap();
        assert_eq!((c.spam.tag_score, c.spam.reject_score), (4.5, 9.0));
        assert_eq!(c.spam.subject_tag, "**SPAM**");
        let e = Config::parse("[spam]\ntag_score = 10\nreject_score = 9.9\n").unwrap_err();
        assert!(e.contains("spam.reject_score"), "{e}");
        assert!(Config::parse("[spam]\ntag_scor = 1\n").is_err());
        assert!(c.spam.enabled && !c.spam.scan_authenticated);
        let d = Config::parse("[spam]\nreject_action = \"discard\"\n").unwrap();
        assert_eq!(d.spam.reject_action, super::RejectAction::Discard);
        assert!(Config::parse("[spam]\nreject_action = \"bounce\"\n").is_err());
    }

    #[test]
    fn learning_settings() {
        let c = Config::parse("").unwrap();
        assert!(c.spam.learn_from_junk && !c.spam.auto_learn);
        assert_eq!(
            (c.spam.auto_learn_spam, c.spam.auto_learn_ham),
            (12.0, -2.0)
        );
        let e = Config::parse("[spam]\nauto_learn_spam = 1\nauto_learn_ham = 1\n").unwrap_err();
        assert!(e.contains("spam.auto_learn_ham"), "{e}");
    }
}
