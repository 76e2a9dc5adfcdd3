//! The messages named by `postern spam` PATH arguments: a message file, an
//! mbox (mboxrd: a file starting with `From `), a Maildir (`new` and `cur`,
//! never `tmp`: a message there is still being written) or a directory of
//! any of these, walked to [`MAX_DIR_DEPTH`] levels.

use crate::error::{CliError, Result};
use std::path::{Path, PathBuf};

/// Directory levels followed below a PATH.
pub const MAX_DIR_DEPTH: usize = 8;

/// Calls `visit` with a name (the file, `FILE#N` for the Nth message of an
/// mbox holding more than one) and the bytes of each message, in a stable order.
pub fn each_message(
    path: &Path,
    visit: &mut dyn FnMut(String, Vec<u8>) -> Result<()>,
) -> Result<()> {
    let meta = std::fs::metadata(path).map_err(|e| CliError::io(path, e))?;
    if meta.is_dir() {
        for file in files(path, 0)? {
            file_messages(&file, visit)?;
        }
        Ok(())
    } else {
        file_messages(path, visit)
    }
}

/// The files under a directory, sorted; a Maildir's `new` and `cur` only.
fn files(dir: &Path, depth: usize) -> Result<Vec<PathBuf>> {
    let maildir = dir.join("cur").is_dir() || dir.join("new").is_dir();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| CliError::io(dir, e))?
        .map(|e| e.map(|e| e.path()).map_err(|e| CliError::io(dir, e)))
        .collect::<Result<_>>()?;
    entries.sort();
    let mut out = Vec::new();
    for p in entries {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') || (maildir && name == "tmp") {
            continue;
        }
        if p.is_dir() {
            if depth < MAX_DIR_DEPTH {
                out.extend(files(&p, depth + 1)?);
            }
        } else if !maildir {
            out.push(p);
        }
    }
    Ok(out)
}

fn file_messages(path: &Path, visit: &mut dyn FnMut(String, Vec<u8>) -> Result<()>) -> Result<()> {
    let raw = std::fs::read(path).map_err(|e| CliError::io(path, e))?;
    let name = path.display().to_string();
    if !raw.starts_with(b"From ") {
        return visit(name, raw);
    }
    let messages = split_mbox(&raw);
    if messages.len() == 1 {
        // One message with its envelope line: named as the file.
        return visit(name, messages.into_iter().next().unwrap_or_default());
    }
    for (n, message) in messages.into_iter().enumerate() {
        visit(format!("{name}#{}", n + 1), message)?;
    }
    Ok(())
}

/// Splits an mbox at its `From ` lines and undoes mboxrd quoting (a line
/// `>From ` with one or more `>` loses one).
pub fn split_mbox(raw: &[u8]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    for line in raw.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b"From ") {
            out.push(Vec::new());
            continue;
        }
        let Some(current) = out.last_mut() else {
            continue;
        };
        let quotes = line.iter().take_while(|&&b| b == b'>').count();
        if quotes > 0 && line[quotes..].starts_with(b"From ") {
            current.extend_from_slice(&line[1..]);
        } else {
            current.extend_from_slice(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mbox_split_and_unquoted() {
        let raw = b"From a@b Mon Dec  7 00:00:00 2026\nSubject: one\n\n>From here\n>>From there\n\nFrom c@d Mon Dec  7 00:00:01 2026\nSubject: two\n\nbody\n";
        let got = split_mbox(raw);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0], b"Subject: one\n\nFrom here\n>From there\n\n");
        assert_eq!(got[1], b"Subject: two\n\nbody\n");
    }

    #[test]
    fn maildir_tmp_skipped_and_depth_bounded() {
        let d = tempfile::tempdir().unwrap();
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir(d.path().join(sub)).unwrap();
            std::fs::write(d.path().join(sub).join("m"), "Subject: x\n\n").unwrap();
        }
        let mut names = Vec::new();
        each_message(d.path(), &mut |n, _| {
            names.push(n);
            Ok(())
        })
        .unwrap();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(names.iter().all(|n| !n.ends_with("/tmp/m")), "{names:?}");

        let mut deep = d.path().join("deep");
        for _ in 0..MAX_DIR_DEPTH + 2 {
            deep = deep.join("d");
        }
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(deep.join("m"), "Subject: x\n\n").unwrap();
        let mut n = 0;
        each_message(&d.path().join("deep"), &mut |_, _| {
            n += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(n, 0, "past MAX_DIR_DEPTH nothing is read");
    }
}
