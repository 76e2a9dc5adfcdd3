//! The DNS records a local domain publishes (issue 15, item 10; SPEC A9):
//! MX, SPF, each DKIM key, DMARC, and the client-autoconfiguration SRV
//! records of RFC 6186 (with RFC 8314's `_submissions`) for the services
//! that are on — in zone-file form, and compared with what DNS answers.
//! Pure: the CLI gathers the facts and asks DNS.

use crate::keys::{self, Algorithm};
use std::net::IpAddr;

/// TTL of the printed records: an hour, so a change spreads soon.
pub const TTL: u32 = 3600;
/// Our MX preference (RFC 5321 §5.1: lower is tried first; one host, any value).
pub const MX_PREFERENCE: u16 = 10;

/// Everything the records of a domain are made from.
#[derive(Clone, Debug, Default)]
pub struct DomainFacts {
    pub domain: String,
    /// `server.hostname`: the MX and the SRV targets.
    pub hostname: String,
    /// (selector, algorithm, public key) of each DKIM key.
    pub dkim: Vec<(String, Algorithm, Vec<u8>)>,
    /// Where aggregate DMARC reports go (RFC 7489 §6.3 `rua`), if set.
    pub dmarc_rua: Option<String>,
    /// (listener name, port) of every service that is on.
    pub services: Vec<(String, u16)>,
    /// `delivery.source_address`: mail leaves from it, so SPF names it.
    pub source_address: Option<IpAddr>,
    /// `delivery.relay`'s host: mail leaves through it, SPF must allow it.
    pub relay: Option<String>,
}

/// One record's data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Data {
    Mx {
        preference: u16,
        exchange: String,
    },
    Txt(String),
    Srv {
        priority: u16,
        weight: u16,
        port: u16,
        target: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Owner name, lowercase, without the final dot.
    pub name: String,
    pub data: Data,
    /// A zone-file comment printed above the record.
    pub comment: Option<String>,
}

/// RFC 6186 §3 and RFC 8314 §5.1: the SRV label of each listener, and its
/// priority — implicit TLS first (RFC 8314 §5.1), STARTTLS after.
const SRV_SERVICES: &[(&str, &str, u16)] = &[
    ("submission", "_submission._tcp", 10),
    ("smtps", "_submissions._tcp", 0),
    ("imap", "_imap._tcp", 10),
    ("imaps", "_imaps._tcp", 0),
    ("pop3", "_pop3._tcp", 20),
    ("pop3s", "_pop3s._tcp", 10),
];

impl Record {
    fn new(name: String, data: Data) -> Record {
        Record {
            name: name.trim_end_matches('.').to_ascii_lowercase(),
            data,
            comment: None,
        }
    }

    fn with_comment(mut self, comment: impl Into<String>) -> Record {
        self.comment = Some(comment.into());
        self
    }

    pub fn type_name(&self) -> &'static str {
        match self.data {
            Data::Mx { .. } => "MX",
            Data::Txt(_) => "TXT",
            Data::Srv { .. } => "SRV",
        }
    }

    /// The record's data as a zone file writes it.
    pub fn rdata(&self) -> String {
        match &self.data {
            Data::Mx {
                preference,
                exchange,
            } => format!("{preference} {exchange}."),
            Data::Txt(text) => keys::zone_strings(text),
            Data::Srv {
                priority,
                weight,
                port,
                target,
            } => format!("{priority} {weight} {port} {target}."),
        }
    }

    /// `NAME. TTL IN TYPE RDATA` (RFC 1035 §5.1).
    pub fn zone_line(&self) -> String {
        format!(
            "{}. {TTL} IN {} {}",
            self.name,
            self.type_name(),
            self.rdata()
        )
    }
}

/// Every record `facts.domain` needs, in the order printed.
pub fn domain_records(facts: &DomainFacts) -> Vec<Record> {
    let d = facts.domain.trim_end_matches('.').to_ascii_lowercase();
    let host = facts.hostname.trim_end_matches('.').to_ascii_lowercase();
    let mut out = vec![Record::new(
        d.clone(),
        Data::Mx {
            preference: MX_PREFERENCE,
            exchange: host.clone(),
        },
    )
    .with_comment("mail for the domain comes here (RFC 5321 §5.1)")];
    out.push(spf(&d, facts));
    for (selector, algorithm, public) in &facts.dkim {
        let text = keys::txt_record(*algorithm, public);
        out.push(
            Record::new(keys::record_name(selector, &d), Data::Txt(text))
                .with_comment(format!("DKIM key {selector} ({})", algorithm.name())),
        );
    }
    out.extend(dmarc(&d, facts));
    for (listener, port) in &facts.services {
        if let Some((_, label, priority)) = SRV_SERVICES.iter().find(|s| s.0 == listener) {
            let data = Data::Srv {
                priority: *priority,
                weight: 1,
                port: *port,
                target: host.clone(),
            };
            out.push(
                Record::new(format!("{label}.{d}"), data)
                    .with_comment(format!("{listener}: mail clients find it (RFC 6186)")),
            );
        }
    }
    out
}

/// RFC 7208: the MX host may send for the domain, and the source address
/// when one is set; nothing else (`-all`). A relay must be added by hand.
fn spf(domain: &str, facts: &DomainFacts) -> Record {
    let mut text = String::from("v=spf1 mx");
    match facts.source_address {
        Some(IpAddr::V4(ip)) => text.push_str(&format!(" ip4:{ip}")),
        Some(IpAddr::V6(ip)) => text.push_str(&format!(" ip6:{ip}")),
        None => {}
    }
    text.push_str(" -all");
    let comment = match &facts.relay {
        Some(relay) => format!(
            "SPF (RFC 7208): mail leaves through delivery.relay {relay}: add its SPF mechanism (include:…) before -all"
        ),
        None => "SPF (RFC 7208): only the MX host sends for the domain".into(),
    };
    Record::new(domain.to_string(), Data::Txt(text)).with_comment(comment)
}

/// RFC 7489 §6.3: quarantine what fails once mail is signed, watch only
/// (`p=none`) while the domain has no DKIM key; reports to `rua` if set,
/// with the authorisation record a report address in another domain
/// needs (§7.1).
fn dmarc(domain: &str, facts: &DomainFacts) -> Vec<Record> {
    let policy = if facts.dkim.is_empty() {
        "none"
    } else {
        "quarantine"
    };
    let mut text = format!("v=DMARC1; p={policy}");
    if let Some(rua) = &facts.dmarc_rua {
        text.push_str(&format!("; rua=mailto:{rua}"));
    }
    let comment = match policy {
        "none" => "DMARC (RFC 7489): watch only until the domain signs (postern dkim generate)",
        _ => "DMARC (RFC 7489): mail that fails SPF and DKIM alignment is quarantined",
    };
    let mut out =
        vec![Record::new(format!("_dmarc.{domain}"), Data::Txt(text)).with_comment(comment)];
    let rua_domain = facts
        .dmarc_rua
        .as_deref()
        .and_then(|a| a.rsplit_once('@'))
        .map(|(_, d)| d.trim_end_matches('.').to_ascii_lowercase());
    if let Some(rd) = rua_domain.filter(|rd| rd != domain) {
        out.push(
            Record::new(
                format!("{domain}._report._dmarc.{rd}"),
                Data::Txt("v=DMARC1".into()),
            )
            .with_comment(format!(
                "in {rd}'s zone: it accepts {domain}'s DMARC reports (RFC 7489 §7.1)"
            )),
        );
    }
    out
}

/// What DNS answered for one record's name and type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// NXDOMAIN, or no records of the type.
    Nothing,
    Mx(Vec<(u16, String)>),
    /// Each TXT record's strings joined.
    Txt(Vec<String>),
    Srv(Vec<(u16, u16, u16, String)>),
    /// The lookup failed (timeout, SERVFAIL).
    Failed(String),
}

/// How a published record compares with the expected one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Check {
    Ok,
    Missing,
    /// Something else is published: what was found.
    Differs(String),
    /// DNS did not answer.
    Failed(String),
}

impl Check {
    pub fn label(&self) -> &'static str {
        match self {
            Check::Ok => "ok",
            Check::Missing => "missing",
            Check::Differs(_) => "differs",
            Check::Failed(_) => "failed",
        }
    }
}

/// Compares `expected` with the answer to its name and type. TXT records of
/// a kind (`v=spf1`, `v=DMARC1`, `v=DKIM1`) are picked out among others and
/// compared without white space; MX and SRV need our host (and port).
pub fn check(expected: &Record, answer: &Answer) -> Check {
    match (&expected.data, answer) {
        (_, Answer::Failed(e)) => Check::Failed(e.clone()),
        (_, Answer::Nothing) => Check::Missing,
        (Data::Mx { exchange, .. }, Answer::Mx(found)) => {
            match found.iter().any(|(_, h)| same_host(h, exchange)) {
                true => Check::Ok,
                false if found.is_empty() => Check::Missing,
                false => Check::Differs(
                    found
                        .iter()
                        .map(|(p, h)| format!("{p} {h}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
            }
        }
        (Data::Txt(text), Answer::Txt(found)) => {
            let kind = text
                .split(';')
                .next()
                .unwrap_or("")
                .split(' ')
                .next()
                .unwrap_or("");
            let kind = squeeze(kind).to_ascii_lowercase();
            let same_kind: Vec<&String> = found
                .iter()
                .filter(|t| squeeze(t).to_ascii_lowercase().starts_with(&kind))
                .collect();
            if same_kind.iter().any(|t| squeeze(t) == squeeze(text)) {
                Check::Ok
            } else if same_kind.is_empty() {
                Check::Missing
            } else {
                Check::Differs(
                    same_kind
                        .iter()
                        .map(|t| format!("\"{t}\""))
                        .collect::<Vec<_>>()
                        .join(" "),
                )
            }
        }
        (Data::Srv { port, target, .. }, Answer::Srv(found)) => {
            match found
                .iter()
                .any(|(_, _, p, t)| p == port && same_host(t, target))
            {
                true => Check::Ok,
                false if found.is_empty() => Check::Missing,
                false => Check::Differs(
                    found
                        .iter()
                        .map(|(pr, w, p, t)| format!("{pr} {w} {p} {t}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
            }
        }
        (_, other) => Check::Differs(format!("{other:?}")),
    }
}

fn same_host(a: &str, b: &str) -> bool {
    a.trim_end_matches('.')
        .eq_ignore_ascii_case(b.trim_end_matches('.'))
}

/// Text without white space: `v=spf1 mx  -all` equals `v=spf1 mx -all`
/// (and base64 in `p=` may be split anywhere).
fn squeeze(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

#[cfg(test)]
mod tests;
