//! `postern av update|status` (issue 17 item 7) and the entry to `av scan`
//! (item 8, `av_scan.rs`). The engine is loaded from DATA/av each time; a
//! running server will hold a `postern_av::Handle` and swap the set when
//! the directory changes (the SMTP stage is later work).

use super::say;
use crate::cli::AvCmd;
use crate::error::{CliError, Result};
use postern_av::store::{av_dir, install};
use postern_av::{DbInfo, Engine, Limits};
use postern_config::Config;
use std::io::Write;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

pub fn run(data: &Path, config: &Config, cmd: AvCmd, out: &mut dyn Write) -> Result<()> {
    match cmd {
        AvCmd::Scan { paths } => super::av_scan::run(&load(data)?, config, &paths, out),
        AvCmd::Update { from } => update(data, config, from, out),
        AvCmd::Status => status(data, out),
        AvCmd::Quarantine(cmd) => {
            super::av_quarantine::run(&super::open_store(data)?, config, cmd, out)
        }
    }
}

/// The limits `[av]` sets.
pub fn limits(config: &Config) -> Limits {
    Limits {
        max_depth: config.av.max_depth,
        max_files: config.av.max_files,
        max_scan_bytes: config.av.max_scan_bytes.0,
        max_ratio: config.av.max_ratio,
    }
}

fn load(data: &Path) -> Result<Engine> {
    Engine::load(&av_dir(data)).map_err(|e| CliError::Invalid(format!("signatures: {e}")))
}

fn update(data: &Path, config: &Config, from: Option<String>, out: &mut dyn Write) -> Result<()> {
    let source = from
        .or_else(|| Some(config.av.mirror.clone()).filter(|m| !m.is_empty()))
        .ok_or_else(|| {
            CliError::Invalid("no source: give --from DIR_OR_URL or set av.mirror".into())
        })?;
    let files = postern_av::fetch::fetch(&source).map_err(|e| CliError::Invalid(e.to_string()))?;
    let names: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
    let engine = install(&av_dir(data), files).map_err(|e| {
        CliError::Invalid(format!(
            "refused, the installed signatures are unchanged: {e}"
        ))
    })?;
    for info in engine
        .databases()
        .iter()
        .filter(|i| names.contains(&i.file))
    {
        say(out, format_args!("installed {}", describe(info, None)))?;
    }
    say(out, format_args!("signatures: {}", engine.signatures()))
}

fn status(data: &Path, out: &mut dyn Write) -> Result<()> {
    let dir = av_dir(data);
    let engine = load(data)?;
    say(
        out,
        format_args!("engine: postern {}", env!("CARGO_PKG_VERSION")),
    )?;
    say(out, format_args!("builtin: {}", postern_av::EICAR_NAME))?;
    for info in engine.databases() {
        let mtime = std::fs::metadata(dir.join(&info.file))
            .and_then(|m| m.modified())
            .ok();
        say(out, describe(info, mtime))?;
    }
    let (hash, body, allow) = engine.counts();
    say(
        out,
        format_args!(
            "signatures: {} (hash {hash}, body {body}, allow-list {allow})",
            engine.signatures()
        ),
    )
}

/// `FILE: [version V,] N signatures[, K skipped], built|modified DATE, age AGE`
/// (built: a container's header; modified: a plain file's mtime).
fn describe(info: &DbInfo, mtime: Option<SystemTime>) -> String {
    let mut s = format!("{}:", info.file);
    if let Some(v) = info.version {
        s += &format!(" version {v},");
    }
    s += &format!(" {} signatures", info.signatures);
    if info.skipped > 0 {
        s += &format!(", {} skipped (unsupported)", info.skipped);
    }
    let modified = || Some(mtime?.duration_since(UNIX_EPOCH).ok()?.as_secs());
    match (info.built, modified()) {
        (Some(t), _) => s += &format!(", built {}, age {}", rfc3339(t), age(t)),
        (None, Some(t)) => s += &format!(", modified {}, age {}", rfc3339(t), age(t)),
        (None, None) => {}
    }
    s
}

fn rfc3339(secs: u64) -> String {
    let fmt = time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::from_unix_timestamp(secs as i64)
        .ok()
        .and_then(|t| t.format(&fmt).ok())
        .unwrap_or_else(|| secs.to_string())
}

/// `3d 4h`, `2h 5m`, `7m`: since `secs`, from now.
fn age(secs: u64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let a = now.saturating_sub(secs) / 60;
    let (d, h, m) = (a / 1440, a / 60 % 24, a % 60);
    match (d, h) {
        (0, 0) => format!("{m}m"),
        (0, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}
