//! `postern export ADDR --maildir DIR`: every folder of a user as a
//! Maildir++ tree Dovecot (and `postern import`) reads: INBOX in DIR,
//! `Sub/Folder` in `DIR/.Sub.Folder`; each message one file in `cur/`
//! named `DATE.P<uid>Q<guid>.postern:2,FLAGS` with its mtime set to the
//! INTERNALDATE, keywords in each folder's `dovecot-keywords`. Lines end
//! with LF, as Maildir files do (the mbox export does the same).

use crate::import::flags::maildir_info;
use crate::import::maildir::NameCodec;
use crate::mailbox::MessageInfo;
use crate::{Store, StoreError, UserId};
use std::io::Write;
use std::path::{Path, PathBuf};
use tokio::io::{AsyncBufReadExt, BufReader};

/// The directory of folder `name` in the tree at `root`, its name written
/// by `encode` (the CLI passes IMAP's modified UTF-7, as Dovecot writes).
pub fn folder_dir(root: &Path, name: &str, encode: NameCodec<'_>) -> PathBuf {
    match name {
        "INBOX" => root.to_path_buf(),
        _ => root.join(format!(".{}", encode(name).replace('/', "."))),
    }
}

/// Writes all of `user`'s folders under `root`; (folder, messages) in order.
pub async fn export_maildir(
    store: &Store,
    user: UserId,
    root: &Path,
    encode: NameCodec<'_>,
) -> Result<Vec<(String, usize)>, StoreError> {
    let mut done = Vec::new();
    for f in store.folders(user)? {
        let dir = folder_dir(root, &f.name, encode);
        for sub in ["cur", "new", "tmp"] {
            let d = dir.join(sub);
            std::fs::create_dir_all(&d).map_err(|e| StoreError::io(&d, e))?;
        }
        let messages = store.messages(f.id)?;
        let mut keywords = Vec::new();
        for m in &messages {
            let name = format!(
                "{}.P{}Q{}.postern{}",
                m.internal_date,
                m.uid,
                m.guid,
                maildir_info(&m.flags, &mut keywords)
            );
            write_one(store, m, &dir.join("cur").join(name)).await?;
        }
        if !keywords.is_empty() {
            let text: String = keywords
                .iter()
                .enumerate()
                .map(|(i, k)| format!("{i} {k}\n"))
                .collect();
            let path = dir.join("dovecot-keywords");
            std::fs::write(&path, text).map_err(|e| StoreError::io(&path, e))?;
        }
        done.push((f.name, messages.len()));
    }
    Ok(done)
}

/// One message, line by line, CRLF made LF; its mtime the INTERNALDATE.
async fn write_one(store: &Store, m: &MessageInfo, path: &Path) -> Result<(), StoreError> {
    use crate::MailStore;
    let Some(body) = MailStore::open_body(store, &m.blob).await? else {
        return Err(StoreError::NotFound(format!("the body of UID {}", m.uid)));
    };
    let io = |e| StoreError::io(path, e);
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).map_err(io)?);
    let mut reader = BufReader::with_capacity(64 * 1024, body);
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await.map_err(io)? == 0 {
            break;
        }
        let l = line
            .strip_suffix(b"\n")
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
        match l {
            Some(l) => {
                out.write_all(l).map_err(io)?;
                out.write_all(b"\n").map_err(io)?;
            }
            None => out.write_all(&line).map_err(io)?,
        }
    }
    let file = out.into_inner().map_err(|e| io(e.into_error()))?;
    let when =
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(m.internal_date.max(0) as u64);
    file.set_modified(when).map_err(io)?;
    Ok(())
}
