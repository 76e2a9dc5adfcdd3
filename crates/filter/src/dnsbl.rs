//! DNS lists (RFC 5782, SPEC P1, issue 16 item 1): the client's address
//! asked of each `[[spam.dnsbl]]` zone (§2.1: reversed octets or nibbles),
//! a link's registered domain of each `[[spam.uribl]]` zone (§2.2). A name
//! answering an A record in 127.0.0.0/8 (§2.3; one of `returns` when the
//! list says which) is listed. Every zone is asked at once, through the
//! server's one resolver, within one deadline: a zone that does not answer
//! in time, or fails, lists nothing and is reported as such.

use crate::dns::Lookups;
use postern_config::{Dnsbl, ListAction, ListWhen, Uribl};
use postern_spam::Test;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

/// A zone that lists what was asked.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    pub zone: String,
    /// What was asked: the client address or the link's domain.
    pub item: String,
    pub action: ListAction,
    pub score: f64,
    /// None for a URIBL.
    pub when: Option<ListWhen>,
    /// The A record that made it a listing (RFC 5782 §2.3: the reason code).
    pub answer: Ipv4Addr,
    /// For a `block`: the list's TXT record, made safe for a reply (§2.1).
    pub reason: Option<String>,
}

/// What the lists said.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Listing {
    pub hits: Vec<Hit>,
    /// Zones (with what was asked) that did not answer in time or failed:
    /// counted as not listing.
    pub unanswered: Vec<(String, String)>,
}

/// One zone's question.
#[derive(Clone)]
struct Ask {
    zone: String,
    item: String,
    action: ListAction,
    score: f64,
    when: Option<ListWhen>,
    returns: Vec<Ipv4Addr>,
}

/// The name to ask for `ip` in `zone` (RFC 5782 §2.1, §2.4): IPv4 octets
/// reversed, IPv6 as 32 nibbles reversed, then the zone.
pub fn query_name(ip: IpAddr, zone: &str) -> String {
    let zone = zone.trim_end_matches('.');
    let mut name = String::with_capacity(80 + zone.len());
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            for o in v4.octets().iter().rev() {
                let _ = write!(name, "{o}.");
            }
        }
        IpAddr::V6(v6) => {
            for b in v6.octets().iter().rev() {
                let _ = write!(name, "{:x}.{:x}.", b & 0xf, b >> 4);
            }
        }
    }
    name.push_str(zone);
    name
}

/// The first answer that is a listing: in 127.0.0.0/8 (RFC 5782 §2.3;
/// anything else is an error of the list, not a listing) and, when the
/// list names its codes, one of them.
pub fn listing_answer(answers: &[Ipv4Addr], returns: &[Ipv4Addr]) -> Option<Ipv4Addr> {
    answers
        .iter()
        .copied()
        .find(|a| a.octets()[0] == 127 && (returns.is_empty() || returns.contains(a)))
}

/// Asks every DNSBL about the client `ip`.
pub async fn check_client(
    lookups: &Lookups,
    ip: IpAddr,
    lists: &[Dnsbl],
    timeout: Duration,
) -> Listing {
    let asks = lists.iter().map(|l| Ask {
        item: ip.to_canonical().to_string(),
        zone: l.zone.trim_end_matches('.').to_ascii_lowercase(),
        action: l.action,
        score: l.score,
        when: Some(l.when),
        returns: l.returns.clone(),
    });
    ask_all(lookups, asks.collect(), timeout, |a| {
        query_name(ip, &a.zone)
    })
    .await
}

/// Asks every URIBL about each of `domains`.
pub async fn check_domains(
    lookups: &Lookups,
    domains: &[String],
    lists: &[Uribl],
    timeout: Duration,
) -> Listing {
    let asks = lists.iter().flat_map(|l| {
        domains.iter().map(move |d| Ask {
            item: d.clone(),
            zone: l.zone.trim_end_matches('.').to_ascii_lowercase(),
            action: l.action,
            score: l.score,
            when: None,
            returns: l.returns.clone(),
        })
    });
    ask_all(lookups, asks.collect(), timeout, |a| {
        format!("{}.{}", a.item, a.zone)
    })
    .await
}

/// All questions at once, each within the one deadline.
async fn ask_all(
    lookups: &Lookups,
    asks: Vec<Ask>,
    timeout: Duration,
    name: impl Fn(&Ask) -> String,
) -> Listing {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut set = tokio::task::JoinSet::new();
    for (i, ask) in asks.iter().enumerate() {
        let (lookups, name) = (lookups.clone(), name(ask));
        let (returns, block) = (ask.returns.clone(), ask.action == ListAction::Block);
        set.spawn(async move { (i, ask_one(&lookups, &name, &returns, block, deadline).await) });
    }
    let mut answers = vec![Err(String::from("timed out")); asks.len()];
    while let Some(done) = set.join_next().await {
        if let Ok((i, got)) = done {
            answers[i] = got;
        }
    }
    let mut out = Listing::default();
    for (ask, got) in asks.into_iter().zip(answers) {
        match got {
            Ok(Some((answer, reason))) => out.hits.push(Hit {
                zone: ask.zone,
                item: ask.item,
                action: ask.action,
                score: ask.score,
                when: ask.when,
                answer,
                reason,
            }),
            Ok(None) => {}
            Err(why) => out.unanswered.push((ask.zone, why)),
        }
    }
    out
}

/// One name before `deadline`: its listing answer, and for a block the TXT
/// reason if that comes in time too (a late reason leaves the listing).
async fn ask_one(
    lookups: &Lookups,
    name: &str,
    returns: &[Ipv4Addr],
    block: bool,
    deadline: tokio::time::Instant,
) -> Result<Option<(Ipv4Addr, Option<String>)>, String> {
    let a = tokio::time::timeout_at(deadline, lookups.list_a(name)).await;
    let a = a.map_err(|_| String::from("timed out"))??;
    let Some(answer) = listing_answer(&a, returns) else {
        return Ok(None);
    };
    let reason = match block {
        true => tokio::time::timeout_at(deadline, lookups.list_txt(name))
            .await
            .ok()
            .flatten(),
        false => None,
    };
    Ok(Some((answer, reason)))
}

/// A list's TXT text as it may go into an SMTP reply: printable ASCII only
/// (no CR/LF to inject reply lines), white space collapsed, at most
/// [`MAX_REASON`] characters.
pub fn safe_reason(text: &str) -> Option<String> {
    let printable: String = text
        .chars()
        .map(|c| if c.is_ascii_graphic() { c } else { ' ' })
        .collect();
    let words: Vec<&str> = printable.split_whitespace().collect();
    let mut out = words.join(" ");
    out.truncate(MAX_REASON);
    (!out.is_empty()).then_some(out)
}

/// Longest TXT reason put into a reply.
pub const MAX_REASON: usize = 200;

impl Lookups {
    /// The first TXT record of `name`, made safe; None when there is none
    /// or the DNS fails (the listing stands without it).
    async fn list_txt(&self, name: &str) -> Option<String> {
        use mail_auth::common::resolver::ToFqdn;
        let found = self.auth.0.txt_lookup(name.to_fqdn().as_ref()).await.ok()?;
        let txt = found.iter().next()?;
        let bytes: Vec<u8> = txt
            .txt_data()
            .iter()
            .flat_map(|s| s.iter().copied())
            .collect();
        safe_reason(&String::from_utf8_lossy(&bytes))
    }

    /// The A records of `name`: empty when it does not exist (not listed),
    /// Err when the DNS failed (SERVFAIL, no answer).
    pub(crate) async fn list_a(&self, name: &str) -> Result<Vec<Ipv4Addr>, String> {
        use mail_auth::common::resolver::ToFqdn;
        if let Some(known) = self.zone_a(name) {
            return Ok(known.to_vec());
        }
        match self.auth.0.ipv4_lookup(name.to_fqdn().as_ref()).await {
            Ok(found) => Ok(found.iter().map(|a| a.0).collect()),
            // NXDOMAIN, or a name without A records: not listed.
            Err(e) if e.is_nx_domain() || no_error(&e) => Ok(vec![]),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// hickory reports SERVFAIL as "no records" too: only NOERROR is an answer.
fn no_error(e: &mail_auth::hickory_resolver::proto::ProtoError) -> bool {
    use mail_auth::hickory_resolver::proto::op::ResponseCode;
    use mail_auth::hickory_resolver::proto::ProtoErrorKind;
    matches!(e.kind(), ProtoErrorKind::NoRecordsFound(n) if n.response_code == ResponseCode::NoError)
}

impl Listing {
    /// The spam tests of the `score` listings: `DNSBL_zone` / `URIBL_zone`,
    /// once per zone.
    pub fn tests(&self, prefix: &str) -> Vec<Test> {
        let mut tests: Vec<Test> = Vec::new();
        for h in self.hits.iter().filter(|h| h.action == ListAction::Score) {
            let name = format!("{prefix}_{}", h.zone);
            if !tests.iter().any(|t| t.name == name) {
                tests.push(Test {
                    name,
                    points: h.score,
                });
            }
        }
        tests
    }

    /// The zones that listed, comma-separated, each once (mail.log `dnsbl=`).
    pub fn zones(&self) -> String {
        let mut zones: Vec<&str> = Vec::new();
        for h in &self.hits {
            if !zones.contains(&h.zone.as_str()) {
                zones.push(&h.zone);
            }
        }
        zones.join(",")
    }

    /// The first `block` listing (for DNSBLs: of `when`).
    pub fn block(&self, when: Option<ListWhen>) -> Option<&Hit> {
        self.hits
            .iter()
            .find(|h| h.action == ListAction::Block && (when.is_none() || h.when == when))
    }
}

#[cfg(test)]
mod tests;
