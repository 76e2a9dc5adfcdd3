//! `postern backup`: a consistent copy of a running store (SPEC M9).
//!
//! Order matters, because a body can be deleted by an expunge at any time:
//! 1. every body file now in `blobs/` is hard-linked into the backup (or
//!    copied across filesystems, or linked from the previous backup when
//!    incremental) — the link keeps the bytes even if the store deletes its
//!    name a moment later;
//! 2. the database is copied through SQLite's online backup (snapshot.rs):
//!    this instant is the backup's instant;
//! 3. bodies the snapshot references that step 1 missed (committed in
//!    between) are placed now, and those it no longer references are dropped;
//! 4. settings and keys are copied, every file hashed into the manifest,
//!    and the directory renamed from `.partial-ID` to `ID` — a backup
//!    without its manifest is never mistaken for a finished one.
//!
//! One backup at a time writes into a DEST (dest_lock.rs); a run that died
//! leaves its `.partial-ID`, which the next backup into that DEST removes.
//!
//! Each backup is a directory of its own under DEST, complete by itself;
//! an incremental one hard-links what the previous one already holds
//! instead of copying it again (bodies never change once committed).

mod dest_lock;
pub mod files;
pub mod manifest;
pub mod restore;
pub mod restore_user;
mod snapshot;
pub mod verify;

use crate::{Store, StoreError};
use files::{link_or_copy, manifest_path, Placed};
use manifest::{hash_file, Entry, Manifest, FORMAT};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

/// How often (in files) the long phases report progress.
pub const PROGRESS_EVERY: usize = 1000;

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Link what the previous backup in DEST holds rather than copy it.
    pub incremental: bool,
    /// Unix seconds: the backup's name (injectable for tests).
    pub now: i64,
}

/// What a backup did.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub id: String,
    pub dir: PathBuf,
    pub files: usize,
    /// Files taken from the previous backup (incremental).
    pub reused: usize,
    /// Files new in this backup, and their bytes.
    pub new_files: usize,
    pub new_bytes: u64,
    /// Bodies hard-linked from the store, and copied (another filesystem).
    pub linked: usize,
    pub copied: usize,
    pub previous: Option<String>,
}

/// Where a body in the backup came from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum From {
    Previous,
    Store(Placed),
}

impl Store {
    /// Writes a backup of this store into a new directory under `dest`.
    pub fn backup(
        &self,
        dest: &Path,
        opts: &Options,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Summary, StoreError> {
        std::fs::create_dir_all(dest).map_err(|e| StoreError::io(dest, e))?;
        let _held = dest_lock::lock(dest, progress)?;
        dest_lock::sweep_partials(dest, progress)?;
        let previous = match opts.incremental {
            true => latest(dest)?
                .map(|id| Manifest::load(&dest.join(&id)))
                .transpose()?,
            false => None,
        };
        if opts.incremental && previous.is_none() {
            progress("no previous backup in DEST: this one is full");
        }
        let id = new_id(dest, opts.now);
        let work = dest.join(format!("{}{id}", dest_lock::PARTIAL));
        // create_dir, not _all: a directory already there is an error, never
        // shared (DEST's lock makes that impossible; this keeps it so).
        std::fs::create_dir(&work).map_err(|e| StoreError::io(&work, e))?;
        let prev = previous.as_ref().map(|m| (dest.join(&m.id), m));
        let mut placed = self.link_bodies_now(&work, prev.clone(), progress)?;
        let ids = self.snapshot_db(&work.join("db").join("postern.db"))?;
        progress(&format!(
            "database snapshot taken: {} bodies referenced",
            ids.len()
        ));
        self.settle_bodies(&work, prev.clone(), &ids, &mut placed)?;
        let settings = files::settings_files(self.root(), dest)?;
        for rel in &settings {
            let (from, to) = (self.root().join(rel), work.join(rel));
            files::copy_synced(&from, &to).map_err(|e| StoreError::io(&from, e))?;
        }
        progress(&format!("settings and keys: {} files", settings.len()));
        let manifest = self.hash_all(&id, &work, prev, &placed, &settings, opts, progress)?;
        manifest.save(&work)?;
        let dir = dest.join(&id);
        std::fs::rename(&work, &dir).map_err(|e| StoreError::io(&dir, e))?;
        crate::blob::sync_dir(dest)?;
        Ok(summarise(&manifest, dir, &placed))
    }

    /// Step 1: links every body file the store holds now.
    fn link_bodies_now(
        &self,
        work: &Path,
        prev: Option<(PathBuf, &Manifest)>,
        progress: &mut dyn FnMut(&str),
    ) -> Result<BTreeMap<String, From>, StoreError> {
        let mut placed = BTreeMap::new();
        let blobs = self.root().join("blobs");
        let prev_files = prev.as_ref().map(|(_, m)| m.by_path()).unwrap_or_default();
        for shard in read_dir_names(&blobs)? {
            for name in read_dir_names(&blobs.join(&shard))? {
                let rel = format!("blobs/{shard}/{name}");
                let to = work.join(&rel);
                let from = match (&prev, prev_files.get(rel.as_str())) {
                    (Some((dir, _)), Some(_)) => link_or_copy(&dir.join(&rel), &to)
                        .ok()
                        .map(|_| From::Previous),
                    _ => None,
                };
                let from = match from {
                    Some(f) => Some(f),
                    None => link_or_copy(&blobs.join(&shard).join(&name), &to)
                        .ok()
                        .map(From::Store),
                };
                if let Some(f) = from {
                    placed.insert(rel, f);
                    if placed.len() % PROGRESS_EVERY == 0 {
                        progress(&format!("bodies: {} placed", placed.len()));
                    }
                }
            }
        }
        progress(&format!("bodies: {} placed", placed.len()));
        Ok(placed)
    }

    /// Step 3: the bodies of the snapshot, exactly.
    fn settle_bodies(
        &self,
        work: &Path,
        prev: Option<(PathBuf, &Manifest)>,
        ids: &[String],
        placed: &mut BTreeMap<String, From>,
    ) -> Result<(), StoreError> {
        let wanted: HashSet<String> = ids.iter().map(|id| blob_rel(id)).collect();
        let extra: Vec<String> = placed
            .keys()
            .filter(|k| !wanted.contains(*k))
            .cloned()
            .collect();
        for rel in extra {
            let _ = std::fs::remove_file(work.join(&rel));
            placed.remove(&rel);
        }
        let prev_files = prev.as_ref().map(|(_, m)| m.by_path()).unwrap_or_default();
        for id in ids {
            let rel = blob_rel(id);
            if placed.contains_key(&rel) {
                continue;
            }
            let to = work.join(&rel);
            let from = if let (Some((dir, _)), Some(_)) = (&prev, prev_files.get(rel.as_str())) {
                link_or_copy(&dir.join(&rel), &to)
                    .ok()
                    .map(|_| From::Previous)
            } else {
                None
            };
            // Committed after step 1: in blobs/ by now, or still in the spool.
            let from = from
                .or_else(|| {
                    link_or_copy(&self.root().join(&rel), &to)
                        .ok()
                        .map(From::Store)
                })
                .or_else(|| {
                    let spool = self.root().join("queue").join("incoming");
                    let id = crate::BlobId::parse(id)?;
                    crate::spool::paths(&spool, &id)
                        .iter()
                        .find_map(|p| link_or_copy(p, &to).ok())
                        .map(From::Store)
                });
            match from {
                Some(f) => placed.insert(rel, f),
                None => {
                    return Err(StoreError::Invalid(format!(
                        "body {id} was deleted while the backup was taken; run the backup again"
                    )))
                }
            };
        }
        Ok(())
    }

    /// Step 4: the manifest, with every file's checksum (a reused body's
    /// from the previous manifest: the very same bytes, hard-linked).
    #[allow(clippy::too_many_arguments)]
    fn hash_all(
        &self,
        id: &str,
        work: &Path,
        prev: Option<(PathBuf, &Manifest)>,
        placed: &BTreeMap<String, From>,
        settings: &[PathBuf],
        opts: &Options,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Manifest, StoreError> {
        let prev_files = prev.as_ref().map(|(_, m)| m.by_path()).unwrap_or_default();
        let mut entries = Vec::new();
        let mut fresh = vec!["db/postern.db".to_string()];
        fresh.extend(settings.iter().map(|p| manifest_path(p)));
        for (n, (rel, from)) in placed.iter().enumerate() {
            match (from, prev_files.get(rel.as_str())) {
                (From::Previous, Some(e)) => entries.push(Entry {
                    reused: true,
                    ..(*e).clone()
                }),
                _ => fresh.push(rel.clone()),
            }
            if (n + 1) % PROGRESS_EVERY == 0 {
                progress(&format!("checksums: {}/{}", n + 1, placed.len()));
            }
        }
        for rel in fresh {
            let (size, sha256) = hash_file(&work.join(&rel))?;
            entries.push(Entry {
                path: rel,
                size,
                sha256,
                reused: false,
            });
        }
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(Manifest {
            format: FORMAT,
            id: id.to_string(),
            created: opts.now,
            encrypted: self.read_keys().is_some(),
            previous: prev.map(|(_, m)| m.id.clone()),
            files: entries,
        })
    }
}

fn summarise(m: &Manifest, dir: PathBuf, placed: &BTreeMap<String, From>) -> Summary {
    let new: Vec<&Entry> = m.files.iter().filter(|e| !e.reused).collect();
    Summary {
        id: m.id.clone(),
        dir,
        files: m.files.len(),
        reused: m.files.len() - new.len(),
        new_files: new.len(),
        new_bytes: new.iter().map(|e| e.size).sum(),
        linked: placed
            .values()
            .filter(|f| **f == From::Store(Placed::Linked))
            .count(),
        copied: placed
            .values()
            .filter(|f| **f == From::Store(Placed::Copied))
            .count(),
        previous: m.previous.clone(),
    }
}

/// `blobs/XX/ID`, as blob.rs shards (the id's last two hex digits).
fn blob_rel(id: &str) -> String {
    let shard = &id[id.len().saturating_sub(2)..];
    format!("blobs/{shard}/{id}")
}

fn read_dir_names(dir: &Path) -> Result<Vec<String>, StoreError> {
    match std::fs::read_dir(dir) {
        Ok(entries) => Ok(entries
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(StoreError::io(dir, e)),
    }
}

/// The finished backups in `dest` (directories with a manifest), oldest first.
pub fn list(dest: &Path) -> Result<Vec<String>, StoreError> {
    let mut ids: Vec<String> = read_dir_names(dest)?
        .into_iter()
        .filter(|n| !n.starts_with('.') && dest.join(n).join(manifest::MANIFEST).is_file())
        .collect();
    ids.sort();
    Ok(ids)
}

/// The newest finished backup in `dest`.
pub fn latest(dest: &Path) -> Result<Option<String>, StoreError> {
    Ok(list(dest)?.pop())
}

/// Deletes the oldest backups so that `keep` remain (each is complete by
/// itself: hard links keep what a newer one shares). Returns those deleted.
pub fn prune(dest: &Path, keep: usize) -> Result<Vec<String>, StoreError> {
    let ids = list(dest)?;
    let doomed = ids.len().saturating_sub(keep);
    for id in &ids[..doomed] {
        let dir = dest.join(id);
        std::fs::remove_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
    }
    Ok(ids[..doomed].to_vec())
}

/// A name from the clock (UTC, sortable), made unique within `dest`.
fn new_id(dest: &Path, now: i64) -> String {
    let t =
        time::OffsetDateTime::from_unix_timestamp(now).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let fmt = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let base = t.format(&fmt).unwrap_or_else(|_| now.to_string());
    let mut id = base.clone();
    let mut n = 1;
    while dest.join(&id).exists() || dest.join(format!(".partial-{id}")).exists() {
        n += 1;
        id = format!("{base}-{n}");
    }
    id
}

#[cfg(test)]
mod tests;
