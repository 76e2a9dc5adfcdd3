//! `postern --data NEWDIR restore SRC`: a data directory rebuilt from a
//! backup. The database snapshot carries every mailbox with its UIDs,
//! UIDVALIDITY, flags and GUIDs (the POP3 UIDLs), the queue and the
//! directory; the files beside it carry the settings and keys. The backup
//! is verified first, and a target that holds anything is refused, so a
//! restore never mixes two installations. Bodies are hard-linked from the
//! backup when it is on the same filesystem, everything else is copied.

use super::files::{link_or_copy, Placed};
use super::manifest::Manifest;
use super::verify::verify;
use crate::StoreError;
use std::path::{Path, PathBuf};

/// The backup `src` names: itself when it holds a manifest, else the newest in it.
pub fn resolve(src: &Path) -> Result<PathBuf, StoreError> {
    if src.join(super::manifest::MANIFEST).is_file() {
        return Ok(src.to_path_buf());
    }
    match super::latest(src)? {
        Some(id) => Ok(src.join(id)),
        None => Err(StoreError::NotFound(format!(
            "a backup in {}",
            src.display()
        ))),
    }
}

/// True when `dir` is missing or an empty directory.
fn is_empty_target(dir: &Path) -> Result<bool, StoreError> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(StoreError::io(dir, e)),
    }
}

/// Restores the backup `src` names into `target`; returns its manifest.
pub fn restore(
    src: &Path,
    target: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<Manifest, StoreError> {
    if !is_empty_target(target)? {
        return Err(StoreError::Invalid(format!(
            "{} is not empty: restore only into a new or empty directory",
            target.display()
        )));
    }
    let dir = resolve(src)?;
    let report = verify(&dir, progress)?;
    if let Some(p) = report.problems.first() {
        return Err(StoreError::Invalid(format!(
            "the backup is damaged ({} problems, first: {p}); nothing restored",
            report.problems.len()
        )));
    }
    let m = Manifest::load(&dir)?;
    let mut linked = 0;
    let mut dirs = std::collections::BTreeSet::new();
    for (n, e) in m.files.iter().enumerate() {
        let (from, to) = (dir.join(&e.path), target.join(&e.path));
        let io = |err| StoreError::io(&from, err);
        if e.path.starts_with("blobs/") {
            // Bodies are never changed in place (new files are renamed over
            // them, even by `encryption enable`): a link is a safe copy.
            if link_or_copy(&from, &to).map_err(io)? == Placed::Linked {
                linked += 1;
            }
            dirs.insert(to.parent().map(Path::to_path_buf).unwrap_or_default());
        } else {
            super::files::copy_synced(&from, &to).map_err(io)?;
        }
        if (n + 1) % super::PROGRESS_EVERY == 0 {
            progress(&format!("restored {}/{} files", n + 1, m.files.len()));
        }
    }
    for d in &dirs {
        crate::blob::sync_dir(d)?;
    }
    progress(&format!(
        "restored {} files from {} ({linked} bodies hard-linked)",
        m.files.len(),
        m.id
    ));
    Ok(m)
}
