//! What the authentication stages found, as data: the Authentication-Results
//! header (header.rs) and the mail.log fields are made from it.

/// A method's result (RFC 8601 §2.7 names; SPF's as RFC 7208 §2.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthResult {
    None,
    Pass,
    Fail,
    SoftFail,
    Neutral,
    /// Verified but not accepted by local policy (rsa-sha1, RFC 8301; l=).
    Policy,
    TempError,
    PermError,
}

impl AuthResult {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthResult::None => "none",
            AuthResult::Pass => "pass",
            AuthResult::Fail => "fail",
            AuthResult::SoftFail => "softfail",
            AuthResult::Neutral => "neutral",
            AuthResult::Policy => "policy",
            AuthResult::TempError => "temperror",
            AuthResult::PermError => "permerror",
        }
    }
}

/// SPF of both identities (RFC 7208 §2.3, §2.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpfOutcome {
    pub helo: AuthResult,
    pub helo_name: String,
    pub mail_from: AuthResult,
    /// MAIL FROM, or postmaster@HELO for the null sender (RFC 7208 §2.4).
    pub mail_from_identity: String,
    /// The domain MAIL FROM's result is about (what DMARC aligns).
    pub mail_from_domain: String,
}

/// One DKIM-Signature's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DkimOutcome {
    pub result: AuthResult,
    /// d= and s= (empty when the signature could not be parsed).
    pub domain: String,
    pub selector: String,
    /// Why it did not pass, for the header's comment and the log.
    pub reason: Option<String>,
}

/// The ARC chain (RFC 8617 §5.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArcOutcome {
    pub result: AuthResult,
    /// d= of the newest ARC-Seal.
    pub sealer: Option<String>,
    /// The newest ARC-Authentication-Results say dmarc=pass.
    pub sealer_saw_dmarc_pass: bool,
}

/// DMARC (RFC 7489) and what it led to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DmarcOutcome {
    pub result: AuthResult,
    /// The RFC5322.From domain.
    pub from_domain: String,
    /// The published policy that applies (p= or sp=), "none" without one.
    pub policy: &'static str,
    /// What was done on a failure: none, quarantine, reject, or why not ("arc", "pct", "off").
    pub disposition: String,
}

/// The DMARC record that applied and the alignment found, for the aggregate
/// report (RFC 7489 §7.2, Appendix C policy_published and policy_evaluated).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Published {
    /// The domain whose record it is: the From: domain or its organisational domain.
    pub domain: String,
    /// 'r' or 's'.
    pub adkim: char,
    pub aspf: char,
    pub p: &'static str,
    pub sp: &'static str,
    pub pct: u8,
    /// rua URIs and their `!size` limits in octets (0: none).
    pub rua: Vec<(String, u64)>,
    /// DKIM and SPF aligned and passing (§3.1).
    pub dkim_aligned: bool,
    pub spf_aligned: bool,
}

/// Everything the authentication stages found about one message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Results {
    pub spf: Option<SpfOutcome>,
    pub dkim: Vec<DkimOutcome>,
    /// Signatures beyond the limit, not verified.
    pub dkim_skipped: usize,
    pub arc: Option<ArcOutcome>,
    pub dmarc: Option<DmarcOutcome>,
    /// The record behind `dmarc`, when one was found.
    pub dmarc_published: Option<Published>,
}

impl Results {
    /// The mail.log fields: spf=, dkim=, dmarc=, arc= (absent checks say "off").
    pub fn log_fields(&self) -> Vec<(&'static str, String)> {
        let spf = self
            .spf
            .as_ref()
            .map_or("off".into(), |s| s.mail_from.as_str().to_string());
        let dkim = if self.dkim.is_empty() {
            "none".to_string()
        } else {
            let all: Vec<String> = self
                .dkim
                .iter()
                .map(|d| match d.domain.as_str() {
                    "" => d.result.as_str().to_string(),
                    domain => format!("{}:{domain}", d.result.as_str()),
                })
                .collect();
            all.join(",")
        };
        let dmarc = self.dmarc.as_ref().map_or("off".into(), |d| {
            format!("{}:{}", d.result.as_str(), d.disposition)
        });
        let arc = self
            .arc
            .as_ref()
            .map_or("off".into(), |a| a.result.as_str().to_string());
        vec![("spf", spf), ("dkim", dkim), ("dmarc", dmarc), ("arc", arc)]
    }
}
