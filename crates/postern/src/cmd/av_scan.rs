//! `postern av scan PATH...` (issue 17 item 8): like clamscan, one line per
//! file, `PATH: OK`, `PATH: NAME FOUND` or `PATH: UNSCANNABLE REASON`, in
//! the order given (directories in name order). Files are read in batches
//! and scanned on every core. Exit 1 (with a count on stderr) when anything
//! was found; an unscannable file counts as found when
//! `av.unscannable = "infected"`.

use super::say;
use crate::error::{CliError, Result};
use postern_av::{Engine, Limits, ScanReport, Unscannable, Verdict};
use postern_config::{Config, UnscannableAction};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Files read, then scanned together, then printed.
const BATCH: usize = 256;

pub fn run(engine: &Engine, config: &Config, paths: &[PathBuf], out: &mut dyn Write) -> Result<()> {
    let limits = super::av::limits(config);
    let strict = config.av.unscannable == UnscannableAction::Infected;
    let mut files = Vec::new();
    for p in paths {
        collect(p, &mut files)?;
    }
    let (mut found, mut errors) = (0, 0);
    for batch in files.chunks(BATCH) {
        for (path, result) in batch.iter().zip(scan_batch(engine, &limits, batch)) {
            let line = match result {
                Err(e) => {
                    errors += 1;
                    format!("{}: ERROR {e}", path.display())
                }
                Ok(r) => {
                    let (text, hit) = verdict(&r.verdict, strict);
                    found += hit as usize;
                    format!("{}: {text}", path.display())
                }
            };
            say(out, line)?;
        }
    }
    let n = files.len();
    match (found, errors) {
        (0, 0) => Ok(()),
        (_, 0) => Err(CliError::Invalid(format!("{found} of {n} files infected"))),
        _ => Err(CliError::Invalid(format!(
            "{found} of {n} files infected, {errors} not read"
        ))),
    }
}

fn verdict(v: &Verdict, strict: bool) -> (String, bool) {
    match v {
        Verdict::Clean => ("OK".into(), false),
        Verdict::Infected { name, .. } => (format!("{name} FOUND"), true),
        Verdict::Unscannable { reason, .. } => (format!("UNSCANNABLE {reason}"), strict),
    }
}

/// Files under `path`, directories walked in name order.
fn collect(path: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    let meta = std::fs::metadata(path).map_err(|e| CliError::io(path, e))?;
    if !meta.is_dir() {
        files.push(path.to_path_buf());
        return Ok(());
    }
    // Symbolic links inside a directory are not followed (a link to a
    // parent would never end); the paths given are.
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| CliError::io(path, e))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| !t.is_symlink()))
        .map(|e| e.path())
        .collect();
    entries.sort();
    for e in entries {
        collect(&e, files)?;
    }
    Ok(())
}

fn scan_batch(
    engine: &Engine,
    limits: &Limits,
    batch: &[PathBuf],
) -> Vec<Result<ScanReport, String>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(batch.len().max(1));
    let per = batch.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = batch
            .chunks(per.max(1))
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|p| scan_one(engine, limits, p))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a scan thread panicked"))
            .collect()
    })
}

fn scan_one(engine: &Engine, limits: &Limits, path: &Path) -> Result<ScanReport, String> {
    let len = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
    if len > limits.max_scan_bytes {
        return Ok(ScanReport {
            verdict: Verdict::Unscannable {
                reason: Unscannable::TooManyBytes,
                at: Default::default(),
            },
            parts: Vec::new(),
            bytes_scanned: 0,
        });
    }
    let data = std::fs::read(path).map_err(|e| e.to_string())?;
    let message = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("eml"));
    Ok(if message {
        engine.scan_message(&data, limits)
    } else {
        engine.scan_file(&data, limits)
    })
}
