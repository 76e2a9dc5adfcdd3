//! Export of a folder as mbox (mboxrd: "From " lines quoted with '>', so the
//! export reads back unchanged) — the first piece of M9.

use crate::api::MailStore;
use crate::mailbox::MessageInfo;
use crate::{StoreError, UserId};
use std::io::Write;
use tokio::io::{AsyncBufReadExt, BufReader};

/// Writes a user's folder as mbox to `out`, oldest message first; how many
/// messages. Through [`MailStore`], so any backend exports the same.
pub async fn export_mbox(
    store: &dyn MailStore,
    user: UserId,
    folder: &str,
    out: &mut dyn Write,
) -> Result<usize, StoreError> {
    export_mbox_with(store, user, folder, out, false).await
}

/// [`export_mbox`], with each message's flags as Status, X-Status and
/// X-Keywords headers when `with_flags` (what `import --mbox` reads back).
pub async fn export_mbox_with(
    store: &dyn MailStore,
    user: UserId,
    folder: &str,
    out: &mut dyn Write,
    with_flags: bool,
) -> Result<usize, StoreError> {
    let mailbox = store
        .mailbox(user, folder)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("folder {folder}")))?;
    let messages = store.messages(mailbox).await?;
    for m in &messages {
        export_one(store, m, out, with_flags).await?;
    }
    out.flush()
        .map_err(|e| StoreError::io(std::path::Path::new("<stdout>"), e))?;
    Ok(messages.len())
}

/// One message, line by line (memory stays bounded).
async fn export_one(
    store: &dyn MailStore,
    m: &MessageInfo,
    out: &mut dyn Write,
    with_flags: bool,
) -> Result<(), StoreError> {
    let Some(body) = store.open_body(&m.blob).await? else {
        return Err(StoreError::NotFound(format!("the body of UID {}", m.uid)));
    };
    let mut reader = BufReader::with_capacity(64 * 1024, body);
    let path = std::path::PathBuf::from(m.blob.as_str());
    let io = |e| StoreError::io(&path, e);
    let mut line = Vec::new();
    let mut first = true;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await.map_err(io)? == 0 {
            break;
        }
        if first {
            let sender = return_path(&line).unwrap_or_else(|| "MAILER-DAEMON".into());
            writeln!(out, "From {} {}", sender, asctime(m.internal_date)).map_err(io)?;
            if with_flags {
                let headers = crate::import::flags::mbox_headers(&m.flags);
                out.write_all(headers.as_bytes()).map_err(io)?;
            }
            first = false;
        }
        let body = line.strip_suffix(b"\n").unwrap_or(&line);
        let body = body.strip_suffix(b"\r").unwrap_or(body);
        if is_from_line(body) {
            out.write_all(b">").map_err(io)?;
        }
        out.write_all(body).map_err(io)?;
        out.write_all(b"\n").map_err(io)?;
    }
    out.write_all(b"\n").map_err(io)
}

/// mboxrd: a line of zero or more '>' then "From " gets one more '>'.
fn is_from_line(line: &[u8]) -> bool {
    let rest = &line[line.iter().take_while(|&&c| c == b'>').count()..];
    rest.starts_with(b"From ")
}

/// The address of a leading `Return-Path: <addr>` header, if the message has one.
fn return_path(first_line: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(first_line).ok()?;
    let rest = s.strip_prefix("Return-Path:")?.trim();
    let addr = rest.trim_start_matches('<').trim_end_matches('>');
    Some(if addr.is_empty() {
        "MAILER-DAEMON".into()
    } else {
        addr.replace(char::is_whitespace, "")
    })
}

/// The asctime() date of an mbox "From " line.
fn asctime(unix: i64) -> String {
    let t =
        time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let fmt = time::macros::format_description!("[weekday repr:short] [month repr:short] [day padding:space] [hour]:[minute]:[second] [year]");
    t.format(&fmt).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_quoting() {
        assert!(is_from_line(b"From me"));
        assert!(is_from_line(b">>From me"));
        assert!(!is_from_line(b"From: me"));
        assert!(!is_from_line(b" From me"));
    }

    #[test]
    fn dates_and_senders() {
        assert_eq!(asctime(0), "Thu Jan  1 00:00:00 1970");
        assert_eq!(return_path(b"Return-Path: <a@b.c>\r\n").unwrap(), "a@b.c");
        assert_eq!(
            return_path(b"Return-Path: <>\r\n").unwrap(),
            "MAILER-DAEMON"
        );
        assert!(return_path(b"Subject: x\r\n").is_none());
    }
}
