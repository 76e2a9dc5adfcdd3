//! Sending the reports that are due: each policy domain's rows of a period
//! become one report, queued to each `mailto:` rua (at most
//! [`MAX_DESTINATIONS`]) that passes the §7.1 check and whose `!size` the
//! message fits; then the rows are deleted, sent or not (a report that
//! cannot go now would only grow). DKIM-signed like any mail that leaves.

use crate::message::{self, Envelope};
use crate::xml::{self, Metadata};
use hickory_resolver::TokioResolver;
use postern_store::{Delivery, MailStore, RemoteRecipient, Store, StoreError, StoredDmarcRow};
use std::collections::BTreeMap;

/// rua URIs used per report (RFC 7489 §6.4 allows a list; we send to the first few).
pub const MAX_DESTINATIONS: usize = 5;

/// What the run is told.
pub struct Settings<'a> {
    pub hostname: &'a str,
    /// report_metadata org_name.
    pub org: &'a str,
    /// From: and envelope sender of the reports.
    pub from: &'a str,
    pub now: i64,
    /// `[archive]`: sent reports are archived like any mail (SPEC M8).
    pub archive: &'a postern_config::Archive,
    /// Also the period still running (`postern dmarc report --now`).
    pub all: bool,
}

/// One destination's fate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub policy_domain: String,
    pub to: String,
    pub rows: usize,
    pub messages: u64,
    /// The queue id when queued, else why not.
    pub result: Result<String, String>,
}

/// Sends every report that is due; one outcome per destination.
pub async fn send_due(
    directory: &Store,
    store: &dyn MailStore,
    resolver: &TokioResolver,
    s: &Settings<'_>,
) -> Result<Vec<Outcome>, StoreError> {
    let before = if s.all { i64::MAX } else { s.now };
    let d = directory.clone();
    let rows = tokio::task::spawn_blocking(move || d.dmarc_rows_due(before))
        .await
        .map_err(|e| StoreError::Invalid(e.to_string()))??;
    let mut groups: BTreeMap<(i64, String), Vec<StoredDmarcRow>> = BTreeMap::new();
    for r in rows {
        let key = (r.period_start, r.row.policy_domain.clone());
        groups.entry(key).or_default().push(r);
    }
    let mut out = Vec::new();
    for ((start, domain), rows) in groups {
        out.extend(report(directory, store, resolver, s, start, &domain, &rows).await);
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let d = directory.clone();
        tokio::task::spawn_blocking(move || d.dmarc_rows_delete(&ids))
            .await
            .map_err(|e| StoreError::Invalid(e.to_string()))??;
    }
    Ok(out)
}

/// The `mailto:` addresses of the stored rua lines ("URI SIZE"), with their
/// size limits (0: none); other schemes are not ours to use.
pub fn destinations(rua: &str) -> Vec<(String, u64)> {
    rua.lines()
        .filter_map(|line| {
            let (uri, size) = line.rsplit_once(' ').unwrap_or((line, "0"));
            let rest = uri
                .get(..7)?
                .eq_ignore_ascii_case("mailto:")
                .then(|| &uri[7..])?;
            let address = rest.split('?').next().unwrap_or("").trim();
            let (local, domain) = address.rsplit_once('@')?;
            (!local.is_empty() && !domain.is_empty())
                .then(|| (address.to_string(), size.parse().unwrap_or(0)))
        })
        .take(MAX_DESTINATIONS)
        .collect()
}

async fn report(
    directory: &Store,
    store: &dyn MailStore,
    resolver: &TokioResolver,
    s: &Settings<'_>,
    start: i64,
    domain: &str,
    rows: &[StoredDmarcRow],
) -> Vec<Outcome> {
    let end = rows
        .iter()
        .map(|r| r.period_end)
        .max()
        .unwrap_or(start)
        .min(s.now.max(start));
    let report_id = format!("{start}.{domain}");
    let meta = Metadata {
        org: s.org,
        email: s.from,
        report_id: &report_id,
        begin: start,
        end,
    };
    let xml = xml::report(&meta, rows);
    let messages = rows.iter().map(|r| r.count).sum();
    let rua = rows.last().map(|r| r.row.rua.as_str()).unwrap_or("");
    let mut out = Vec::new();
    for (to, limit) in destinations(rua) {
        let e = Envelope {
            receiver: s.hostname,
            from: s.from,
            to: &to,
            policy_domain: domain,
            report_id: &report_id,
            begin: start,
            end,
            now: s.now,
        };
        let result = deliver(directory, store, resolver, &e, &xml, limit, s.archive).await;
        out.push(Outcome {
            policy_domain: domain.to_string(),
            to,
            rows: rows.len(),
            messages,
            result,
        });
    }
    out
}

/// One report message to one destination: checked, built, signed, queued.
async fn deliver(
    directory: &Store,
    store: &dyn MailStore,
    resolver: &TokioResolver,
    e: &Envelope<'_>,
    xml: &str,
    limit: u64,
    archive: &postern_config::Archive,
) -> Result<String, String> {
    let rua_domain = e.to.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
    crate::external::check(resolver, e.policy_domain, rua_domain)
        .await
        .map_err(|r| r.to_string())?;
    let gz = message::gzip(xml).map_err(|x| x.to_string())?;
    let bytes = message::render(e, &gz);
    // RFC 7489 §7.2.1.1 (`!size`): a report larger than the limit is not sent.
    if limit > 0 && bytes.len() as u64 > limit {
        return Err(format!(
            "{} octets is more than the {limit} rua allows",
            bytes.len()
        ));
    }
    let prepend = sign(directory, e.from, bytes.clone()).await?;
    let mut blob = store.create_blob().await.map_err(|x| x.to_string())?;
    blob.write(&bytes).await.map_err(|x| x.to_string())?;
    let blob = blob.finish().await.map_err(|x| x.to_string())?;
    let delivery = Delivery {
        blob,
        sender: e.from.to_string(),
        local: vec![],
        remote: vec![RemoteRecipient {
            address: e.to.to_string(),
            orcpt: None,
            notify: 0,
        }],
        env_id: None,
        ret: None,
        smtputf8: false,
        internal_date: e.now,
        prepend,
        junk: false,
    };
    let journal = postern_store::archive::envelope_for(
        archive,
        postern_store::archive::Direction::Out,
        e.from,
        vec![e.to.to_string()],
        String::new(),
        e.now,
    );
    let done = store
        .commit_archived(delivery, journal)
        .await
        .map_err(|x| x.to_string())?;
    Ok(done.id.to_string())
}

/// Signed by the From: domain (or a parent) when it has keys, like a DSN.
async fn sign(directory: &Store, from: &str, bytes: Vec<u8>) -> Result<Vec<u8>, String> {
    let origin = postern_dkim::Origin {
        from: Some(from.to_string()),
        from_checked: true,
        forwarded_by: None,
    };
    let d = directory.clone();
    let signed = tokio::task::spawn_blocking(move || {
        postern_dkim::outbound::sign_message(&d, &origin, &mut &bytes[..])
    })
    .await
    .map_err(|x| x.to_string())?;
    signed.map(|s| s.fields).map_err(|x| x.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_mailto_destinations_and_at_most_max() {
        let rua = "mailto:a@example.net 0\nhttps://x.example/r 0\nmailto:b@example.net?subject=x 10485760\nmailto:nobody 0";
        assert_eq!(
            destinations(rua),
            [
                ("a@example.net".to_string(), 0),
                ("b@example.net".to_string(), 10_485_760)
            ]
        );
        let many: Vec<String> = (0..MAX_DESTINATIONS + 2)
            .map(|i| format!("mailto:r{i}@example.net 0"))
            .collect();
        assert_eq!(destinations(&many.join("\n")).len(), MAX_DESTINATIONS);
    }
}
