//! Reading a Maildir tree: which directories are folders and what they are
//! called, in both layouts Dovecot writes:
//! - Maildir++ (its default): the root is INBOX, `.Sub.Folder` beside `cur/`
//!   is folder `Sub/Folder`;
//! - `LAYOUT=fs`: `Sub/Folder/{cur,new,tmp}` nested as directories
//!   (`INBOX/` at the top, when present, is INBOX).
//!
//! Then each folder's messages (`cur/` and `new/`; mail in `new/` is unseen)
//! with their flags and dates (the file's mtime, which Dovecot sets to the
//! received date; else the leading timestamp of the file name).

use super::flags::{maildir_flags, parse_dovecot_keywords};
use super::{folder, read_line, uidlist, Batch, Imported, PROGRESS_EVERY};
use crate::{Store, StoreError, UserId};
use std::path::{Path, PathBuf};

/// A folder found in the tree: its name in the store and its directory.
#[derive(Debug, PartialEq, Eq)]
pub struct Found {
    pub name: String,
    pub dir: PathBuf,
}

fn is_maildir(dir: &Path) -> bool {
    dir.join("cur").is_dir()
}

fn sub_dirs(dir: &Path) -> Result<Vec<String>, StoreError> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| StoreError::io(dir, e))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| !matches!(n.as_str(), "cur" | "new" | "tmp"))
        .collect();
    out.sort();
    Ok(out)
}

/// How folder names are written on disk: Dovecot writes them in IMAP's
/// modified UTF-7 (RFC 3501 §5.1.3); the CLI passes the IMAP crate's codec.
pub type NameCodec<'a> = &'a dyn Fn(&str) -> String;

/// Every folder under `root`; the root's own mail goes to `base` (INBOX by
/// default), the others to their names (under `base` when one is given),
/// as `decode` reads them.
pub fn folders(
    root: &Path,
    base: Option<&str>,
    decode: NameCodec<'_>,
) -> Result<Vec<Found>, StoreError> {
    let name = |rel: &str| match base {
        Some(b) => format!("{b}/{}", decode(rel)),
        None => decode(rel),
    };
    let mut out = Vec::new();
    if is_maildir(root) {
        out.push(Found {
            name: base.unwrap_or("INBOX").to_string(),
            dir: root.to_path_buf(),
        });
    }
    for sub in sub_dirs(root)? {
        let dir = root.join(&sub);
        if let Some(dotted) = sub.strip_prefix('.') {
            if is_maildir(&dir) && !dotted.is_empty() {
                out.push(Found {
                    name: name(&dotted.replace('.', "/")),
                    dir,
                });
            }
        } else if sub == "INBOX" && base.is_none() && is_maildir(&dir) {
            out.push(Found {
                name: "INBOX".into(),
                dir,
            });
        } else {
            fs_layout(&dir, &sub, &name, &mut out)?;
        }
    }
    Ok(out)
}

/// Dovecot's fs layout below the root: nested directories.
fn fs_layout(
    dir: &Path,
    rel: &str,
    name: &dyn Fn(&str) -> String,
    out: &mut Vec<Found>,
) -> Result<(), StoreError> {
    if is_maildir(dir) {
        out.push(Found {
            name: name(rel),
            dir: dir.to_path_buf(),
        });
    }
    for sub in sub_dirs(dir)? {
        if !sub.starts_with('.') {
            fs_layout(&dir.join(&sub), &format!("{rel}/{sub}"), name, out)?;
        }
    }
    Ok(())
}

/// One folder's message files (with whether each is in `new/`), in
/// Dovecot's UID order (uidlist.rs); files it does not list follow, by name
/// (Dovecot's names start with the delivery time), `cur/` before `new/`.
fn message_files(dir: &Path) -> Result<Vec<(PathBuf, bool)>, StoreError> {
    let uids = std::fs::read_to_string(dir.join("dovecot-uidlist"))
        .map(|t| uidlist::parse(&t))
        .unwrap_or_default();
    let mut out = Vec::new();
    for (sub, is_new) in [("cur", false), ("new", true)] {
        let d = dir.join(sub);
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        out.extend(
            entries
                .filter_map(|e| e.ok())
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .map(|e| (e.path(), is_new)),
        );
    }
    let uid = |p: &Path| {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        uids.get(uidlist::base_name(name)).copied()
    };
    // None sorts first: unlisted files go last.
    out.sort_by_cached_key(|(p, is_new)| (uid(p).is_none(), uid(p), *is_new, p.clone()));
    Ok(out)
}

/// INTERNALDATE: the mtime, else the name's leading Unix seconds.
fn internal_date(path: &Path, name: &str) -> i64 {
    let mtime = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64);
    mtime
        .or_else(|| name.split('.').next()?.parse().ok())
        .unwrap_or(0)
}

/// Imports every folder of the Maildir at `root`.
pub async fn import_maildir(
    store: &Store,
    user: UserId,
    root: &Path,
    base: Option<&str>,
    decode: NameCodec<'_>,
    progress: &mut dyn FnMut(&str),
) -> Result<Imported, StoreError> {
    let found = folders(root, base, decode)?;
    if found.is_empty() {
        return Err(StoreError::NotFound(format!(
            "a Maildir (a cur/ directory) in {}",
            root.display()
        )));
    }
    let mut done = Imported::default();
    for f in found {
        let n = import_folder(store, user, &f, progress).await?;
        progress(&format!("{}: {n} messages", f.name));
        done.messages += n;
        done.folders.push((f.name, n));
    }
    Ok(done)
}

async fn import_folder(
    store: &Store,
    user: UserId,
    f: &Found,
    progress: &mut dyn FnMut(&str),
) -> Result<usize, StoreError> {
    let keywords = std::fs::read_to_string(f.dir.join("dovecot-keywords"))
        .map(|t| parse_dovecot_keywords(&t))
        .unwrap_or_default();
    let mut batch = Batch::new(store, folder(store, user, &f.name)?);
    let mut line = Vec::new();
    for (path, is_new) in message_files(&f.dir)? {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let mut flags = maildir_flags(name, &keywords);
        if is_new {
            flags.retain(|f| f != "\\Seen");
        }
        let date = internal_date(&path, name);
        let file = std::fs::File::open(&path).map_err(|e| StoreError::io(&path, e))?;
        let mut r = std::io::BufReader::with_capacity(64 * 1024, file);
        let mut w = super::Chunked::new(store.create_blob().await?);
        while read_line(&mut r, &mut line, &path)? {
            w.write(&crlf(&line)).await?;
        }
        batch.add(w.done().await?, flags, date).await?;
        if batch.count.is_multiple_of(PROGRESS_EVERY) {
            progress(&format!("{}: {} messages", f.name, batch.count));
        }
    }
    batch.flush()?;
    Ok(batch.count)
}

/// A line with its end made CRLF (Maildir files usually end lines with LF).
pub fn crlf(line: &[u8]) -> Vec<u8> {
    match line.strip_suffix(b"\n") {
        Some(l) => {
            let l = l.strip_suffix(b"\r").unwrap_or(l);
            let mut v = Vec::with_capacity(l.len() + 2);
            v.extend_from_slice(l);
            v.extend_from_slice(b"\r\n");
            v
        }
        None => line.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mk(root: &Path, rel: &str) {
        for s in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(root.join(rel).join(s)).unwrap();
        }
    }

    #[test]
    fn both_layouts_are_found() {
        let d = tempfile::tempdir().unwrap();
        let pp = d.path().join("pp");
        mk(&pp, "");
        mk(&pp, ".Sent");
        mk(&pp, ".Work.2026");
        let names = |v: Vec<Found>| v.into_iter().map(|f| f.name).collect::<Vec<_>>();
        let same = |s: &str| s.to_string();
        assert_eq!(
            names(folders(&pp, None, &same).unwrap()),
            ["INBOX", "Sent", "Work/2026"]
        );
        assert_eq!(
            names(folders(&pp, Some("Old"), &|s: &str| s.to_uppercase()).unwrap()),
            ["Old", "Old/SENT", "Old/WORK/2026"]
        );
        let fs = d.path().join("fs");
        mk(&fs, "INBOX");
        mk(&fs, "Work/2026");
        mk(&fs, "Work");
        assert_eq!(
            names(folders(&fs, None, &same).unwrap()),
            ["INBOX", "Work", "Work/2026"]
        );
    }

    #[test]
    fn dovecot_uids_order_the_files() {
        let d = tempfile::tempdir().unwrap();
        mk(d.path(), "");
        let put = |rel: &str| std::fs::write(d.path().join(rel), b"x\n").unwrap();
        // By name alone: cur/ first, and M146220 before M99999.
        put("new/1796625892.M99999P1.h,S=2");
        put("cur/1796625892.M146220P1.h,S=2:2,S");
        put("cur/1796625892.M100000P1.h,S=2:2,F");
        put("cur/1796625893.M1P1.h,S=2:2,S");
        std::fs::write(
            d.path().join("dovecot-uidlist"),
            "3 V1 N4 G0\n1 :1796625892.M99999P1.h,S=2\n2 W2 :1796625892.M100000P1.h,S=2\n3 :1796625892.M146220P1.h,S=2\n",
        )
        .unwrap();
        let names: Vec<String> = message_files(d.path())
            .unwrap()
            .into_iter()
            .map(|(p, new)| {
                format!(
                    "{}{}",
                    p.file_name().unwrap().to_str().unwrap(),
                    if new { " new" } else { "" }
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                "1796625892.M99999P1.h,S=2 new",
                "1796625892.M100000P1.h,S=2:2,F",
                "1796625892.M146220P1.h,S=2:2,S",
                "1796625893.M1P1.h,S=2:2,S",
            ]
        );
    }

    #[test]
    fn line_ends() {
        assert_eq!(crlf(b"a\n"), b"a\r\n");
        assert_eq!(crlf(b"a\r\n"), b"a\r\n");
        assert_eq!(crlf(b"a"), b"a");
    }
}
