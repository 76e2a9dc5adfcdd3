//! `postern av quarantine list|release ID|delete ID` (issue 17 item 4):
//! infected messages the SMTP stage kept aside (`av.quarantine = true`).
//! Release hands the message as received to the normal delivery path
//! (the store's commit: local INBOXes and the outbound queue) for its
//! original recipients, then deletes the entry.

use super::{block_on, say};
use crate::cli::AvQuarantineCmd;
use crate::error::Result;
use postern_config::{Archive, Config};
use postern_store::archive::{envelope_for, Direction};
use postern_store::quarantine::QuarantineEntry;
use postern_store::{Delivery, Store};
use std::io::Write;

pub fn run(
    store: &Store,
    config: &Config,
    cmd: AvQuarantineCmd,
    out: &mut dyn Write,
) -> Result<()> {
    match cmd {
        AvQuarantineCmd::List => {
            for e in store.quarantine_list()? {
                say(out, line(&e))?;
            }
            Ok(())
        }
        AvQuarantineCmd::Release { id } => {
            let id_s = release(store, &config.archive, id)?;
            say(out, format_args!("released {id}: queued as {id_s}"))
        }
        AvQuarantineCmd::Delete { id } => {
            store.quarantine_delete(id)?;
            say(out, format_args!("deleted {id}"))
        }
    }
}

/// `ID DATE SIZE SENDER RECIPIENTS REASON`, tab-separated.
fn line(e: &QuarantineEntry) -> String {
    let date = time::OffsetDateTime::from_unix_timestamp(e.envelope.received)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    let sender = match e.envelope.sender.as_str() {
        "" => "<>",
        s => s,
    };
    format!(
        "{}\t{date}\t{}\t{sender}\t{}\t{}",
        e.id,
        e.size,
        e.envelope.recipients.join(","),
        e.envelope.reason
    )
}

/// Commits a copy of the body for the original recipients (remote ones
/// get the DKIM signatures made when it came in), then deletes
/// the entry (a crash between the two leaves it listed: released twice at
/// worst, never lost). With archiving on, the released copy is archived as
/// mail the server delivers itself (`local`, no client), since the
/// quarantined message never reached the archive (SPEC M8).
fn release(store: &Store, archive: &Archive, id: i64) -> Result<String> {
    let (e, body) = store.quarantine_get(id)?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let journal = envelope_for(
        archive,
        Direction::Local,
        &e.envelope.sender,
        e.envelope.recipients.clone(),
        String::new(),
        now,
    );
    let committed = block_on(async {
        let mut w = store.create_blob().await?;
        w.write(&body).await?;
        let blob = w.finish().await?;
        store
            .commit_archived(
                Delivery {
                    blob,
                    sender: e.envelope.sender.clone(),
                    local: e.envelope.local.clone(),
                    remote: e.envelope.remote.clone(),
                    env_id: None,
                    ret: None,
                    smtputf8: e.envelope.smtputf8,
                    internal_date: e.envelope.received,
                    prepend: e.envelope.prepend.clone(),
                    junk: false,
                },
                journal,
            )
            .await
    })??;
    store.quarantine_delete(id)?;
    Ok(committed.id.to_string())
}
