//! `postern queue list|show ID|retry ID|--all|delete ID|hold ID|release ID`.
//! The changes work while the server runs: it looks at the queue every second,
//! and at once after `retry` and `release`, which signal it (SIGUSR1).
//! Each message is a line
//! `ID  AGE  SIZE  <SENDER>  [held]` (`[held]` only when held), then one line
//! per recipient `    ADDRESS  STATUS  attempts=N  next=IN  last_error=...`
//! (`last_error` only when there is one; `next=now` when due). `show` ends
//! with `body: N octets` (the body as the store finds it by id) or `body: missing`.

use super::say;
use crate::cli::QueueCmd;
use crate::error::{CliError, Result};
use crate::serve::pidfile;
use postern_config::Size;
use postern_store::outbound::{QueueEntry, QueuedRecipient};
use postern_store::{BlobId, QueueSelect, QueueStore, Store};
use std::io::Write;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

pub fn run(store: &Store, data: &Path, cmd: QueueCmd, out: &mut dyn Write) -> Result<()> {
    // Through the store's async interface, as the server's queue reads it.
    super::block_on(commands(store, data, cmd, out))?
}

async fn commands(
    store: &dyn QueueStore,
    data: &Path,
    cmd: QueueCmd,
    out: &mut dyn Write,
) -> Result<()> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    match cmd {
        QueueCmd::List => list(store, now, out).await,
        QueueCmd::Show { id } => show(store, &id, now, out).await,
        QueueCmd::Retry { id: None, .. } => {
            let n = store.queue_retry(QueueSelect::All).await?;
            nudge(data);
            say(out, format_args!("{n} recipients will be tried now"))
        }
        QueueCmd::Retry { id: Some(id), .. } => {
            let n = store
                .queue_retry(QueueSelect::One(queue_id(&id)?.as_str()))
                .await?;
            nudge(data);
            say(out, format_args!("{id}: {n} recipients will be tried now"))
        }
        QueueCmd::Delete { id } => {
            store.queue_delete(queue_id(&id)?.as_str()).await?;
            say(out, format_args!("{id} deleted"))
        }
        QueueCmd::Hold { id } => {
            store.queue_hold(queue_id(&id)?.as_str(), true).await?;
            say(out, format_args!("{id} held"))
        }
        QueueCmd::Release { id } => {
            store.queue_hold(queue_id(&id)?.as_str(), false).await?;
            nudge(data);
            say(out, format_args!("{id} released"))
        }
    }
}

/// Tells a running server to look at the queue now. No server is fine: the
/// change is in the store, and a server looks at the queue when it starts.
fn nudge(data: &Path) {
    let _ = pidfile::signal_server(data, libc::SIGUSR1);
}

fn queue_id(id: &str) -> Result<BlobId> {
    BlobId::parse(id)
        .ok_or_else(|| CliError::Invalid(format!("`{id}` is not a queue id (hexadecimal)")))
}

async fn list(store: &dyn QueueStore, now: i64, out: &mut dyn Write) -> Result<()> {
    let entries = store.queue_list().await?;
    if entries.is_empty() {
        return say(out, "queue is empty");
    }
    entries
        .iter()
        .try_for_each(|e| entry_lines(e, now).iter().try_for_each(|l| say(out, l)))
}

/// The entry, then its body as the store finds it by id: its size, or
/// `missing` (a body is never shown by path: it may not be a file).
async fn show(store: &dyn QueueStore, id: &str, now: i64, out: &mut dyn Write) -> Result<()> {
    let blob = queue_id(id)?;
    let entry = store
        .queue_get(blob.as_str())
        .await?
        .ok_or_else(|| CliError::Invalid(format!("queue entry {id} does not exist")))?;
    entry_lines(&entry, now)
        .iter()
        .try_for_each(|l| say(out, l))?;
    match store.open_body(&blob).await? {
        Some(body) => say(out, format_args!("body: {} octets", body.len())),
        None => say(out, "body: missing"),
    }
}

fn entry_lines(e: &QueueEntry, now: i64) -> Vec<String> {
    let held = if e.held { "  [held]" } else { "" };
    let head = format!(
        "{}  {}  {}  <{}>{held}",
        e.id,
        span(now - e.created),
        Size(e.size),
        e.sender
    );
    std::iter::once(head)
        .chain(e.recipients.iter().map(|r| recipient_line(r, now)))
        .collect()
}

fn recipient_line(r: &QueuedRecipient, now: i64) -> String {
    let next = if r.status == "delivered" || r.status == "bounced" {
        "-".to_string()
    } else if r.next_attempt <= now {
        "now".to_string()
    } else {
        span(r.next_attempt - now)
    };
    let mut line = format!(
        "    {}  {}  attempts={}  next={next}",
        r.address, r.status, r.attempts
    );
    if let Some(err) = &r.last_error {
        let one_line: String = err
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        line.push_str(&format!("  last_error={one_line}"));
    }
    line
}

/// A duration in its largest whole unit: 45s, 12m, 3h, 2d.
fn span(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipient(next_attempt: i64, last_error: Option<&str>) -> QueuedRecipient {
        QueuedRecipient {
            address: "r@x.org".into(),
            status: "queued".into(),
            attempts: 2,
            next_attempt,
            last_error: last_error.map(String::from),
        }
    }

    #[test]
    fn spans() {
        assert_eq!(span(-5), "0s");
        assert_eq!(span(59), "59s");
        assert_eq!(span(60), "1m");
        assert_eq!(span(3599), "59m");
        assert_eq!(span(7200), "2h");
        assert_eq!(span(86400 * 3 + 5), "3d");
    }

    #[test]
    fn entry_format() {
        let e = QueueEntry {
            id: "0190abc".into(),
            sender: String::new(),
            created: 1000,
            size: 2048,
            held: true,
            recipients: vec![
                recipient(1000, None),
                recipient(1300, Some("451 try\r\nlater")),
            ],
        };
        let lines = entry_lines(&e, 1120);
        assert_eq!(lines[0], "0190abc  2m  2K  <>  [held]");
        assert_eq!(lines[1], "    r@x.org  queued  attempts=2  next=now");
        assert_eq!(
            lines[2],
            "    r@x.org  queued  attempts=2  next=3m  last_error=451 try  later"
        );
        let e = QueueEntry {
            held: false,
            sender: "a@b.c".into(),
            recipients: vec![],
            ..e
        };
        assert_eq!(entry_lines(&e, 1000), ["0190abc  0s  2K  <a@b.c>"]);
    }
}
