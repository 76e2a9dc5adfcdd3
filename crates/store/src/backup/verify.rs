//! `postern backup verify DEST`: every file of a backup read again and its
//! SHA-256 compared with the manifest; what differs, is missing, or is
//! there without being in the manifest, said by name.

use super::manifest::{hash_file, Manifest, MANIFEST};
use crate::StoreError;
use std::collections::HashSet;
use std::path::Path;

/// One thing wrong with a backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub backup: String,
    pub path: String,
    pub what: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}: {}", self.backup, self.path, self.what)
    }
}

/// What a verification found: files checked per backup, and the problems.
#[derive(Debug, Default)]
pub struct Report {
    pub checked: Vec<(String, usize)>,
    pub problems: Vec<Problem>,
}

/// Verifies `path`: one backup (it holds a manifest), or every backup in a DEST.
pub fn verify(path: &Path, progress: &mut dyn FnMut(&str)) -> Result<Report, StoreError> {
    let ids = if path.join(MANIFEST).is_file() {
        vec![path.to_path_buf()]
    } else {
        let ids = super::list(path)?;
        if ids.is_empty() {
            return Err(StoreError::NotFound(format!(
                "a backup in {}",
                path.display()
            )));
        }
        ids.into_iter().map(|id| path.join(id)).collect()
    };
    let mut report = Report::default();
    for dir in ids {
        let n = verify_one(&dir, &mut report.problems, progress)?;
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned());
        report.checked.push((name.unwrap_or_default(), n));
    }
    Ok(report)
}

fn verify_one(
    dir: &Path,
    problems: &mut Vec<Problem>,
    progress: &mut dyn FnMut(&str),
) -> Result<usize, StoreError> {
    let m = Manifest::load(dir)?;
    let problem = |path: &str, what: String| Problem {
        backup: m.id.clone(),
        path: path.to_string(),
        what,
    };
    for (n, e) in m.files.iter().enumerate() {
        match hash_file(&dir.join(&e.path)) {
            Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                problems.push(problem(&e.path, "missing".into()))
            }
            Err(err) => problems.push(problem(&e.path, format!("unreadable: {err}"))),
            Ok((size, _)) if size != e.size => problems.push(problem(
                &e.path,
                format!("size {size}, the manifest says {}", e.size),
            )),
            Ok((_, sum)) if sum != e.sha256 => problems.push(problem(
                &e.path,
                format!("checksum {sum}, the manifest says {}", e.sha256),
            )),
            Ok(_) => {}
        }
        if (n + 1) % super::PROGRESS_EVERY == 0 {
            progress(&format!("{}: {}/{} checked", m.id, n + 1, m.files.len()));
        }
    }
    let listed: HashSet<&str> = m.files.iter().map(|e| e.path.as_str()).collect();
    for rel in all_files(dir)? {
        if rel != MANIFEST && !listed.contains(rel.as_str()) {
            problems.push(problem(&rel, "not in the manifest".into()));
        }
    }
    Ok(m.files.len())
}

/// Every file under `dir`, relative and `/`-separated.
fn all_files(dir: &Path) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::new();
    let mut stack = vec![std::path::PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let here = dir.join(&rel);
        for entry in std::fs::read_dir(&here).map_err(|e| StoreError::io(&here, e))? {
            let entry = entry.map_err(|e| StoreError::io(&here, e))?;
            let child = rel.join(entry.file_name());
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(child),
                _ => out.push(super::files::manifest_path(&child)),
            }
        }
    }
    Ok(out)
}
