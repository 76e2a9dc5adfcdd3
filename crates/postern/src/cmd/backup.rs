//! `postern backup DEST [--incremental] [--keep N]`, `postern backup verify
//! DEST` and `postern --data NEWDIR restore SRC [--user ADDR [--folder F]]`.
//! Progress goes to stderr, the result to stdout.

use super::say;
use crate::cli::{BackupArgs, RestoreArgs};
use crate::error::{CliError, Result};
use postern_store::backup::{self, restore, verify, Options};
use postern_store::Store;
use std::io::Write;
use std::path::Path;

fn progress(what: &'static str) -> impl FnMut(&str) {
    move |line: &str| eprintln!("{what}: {line}")
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

pub fn run(store: &Store, args: &BackupArgs, out: &mut dyn Write) -> Result<()> {
    let Some(dest) = &args.dest else {
        return Err(CliError::Invalid(
            "give DEST: `postern --data DIR backup DEST`, or `backup verify DEST`".into(),
        ));
    };
    let opts = Options {
        incremental: args.incremental,
        now: now(),
    };
    let s = store.backup(dest, &opts, &mut progress("backup"))?;
    let from_previous = match &s.previous {
        Some(p) => format!(", {} from {p}", s.reused),
        None => String::new(),
    };
    say(
        out,
        format_args!(
            "backup {} written to {}: {} files, {} new ({} bytes){from_previous}; bodies {} linked, {} copied",
            s.id,
            s.dir.display(),
            s.files,
            s.new_files,
            s.new_bytes,
            s.linked,
            s.copied
        ),
    )?;
    if let Some(keep) = args.keep {
        for gone in backup::prune(dest, keep)? {
            say(out, format_args!("deleted old backup {gone}"))?;
        }
    }
    Ok(())
}

pub fn verify(dest: &Path, out: &mut dyn Write) -> Result<()> {
    let report = verify::verify(dest, &mut progress("verify"))?;
    for p in &report.problems {
        say(out, p)?;
    }
    for (id, n) in &report.checked {
        let bad = report.problems.iter().filter(|p| &p.backup == id).count();
        match bad {
            0 => say(out, format_args!("{id}: {n} files, all checksums match"))?,
            _ => say(out, format_args!("{id}: {n} files, {bad} problems"))?,
        }
    }
    match report.problems.len() {
        0 => Ok(()),
        n => Err(CliError::Invalid(format!("{n} problems found"))),
    }
}

pub fn restore(data: &Path, args: &RestoreArgs, out: &mut dyn Write) -> Result<()> {
    if let Some(user) = &args.user {
        return restore_user(data, args, user, out);
    }
    let m = restore::restore(&args.src, data, &mut progress("restore"))?;
    say(
        out,
        format_args!(
            "restored backup {} ({} files) into {}",
            m.id,
            m.files.len(),
            data.display()
        ),
    )
}

fn restore_user(data: &Path, args: &RestoreArgs, user: &str, out: &mut dyn Write) -> Result<()> {
    let store = super::open_store(data)?;
    let dir = restore::resolve(&args.src)?;
    let mut said = progress("restore");
    let job = postern_store::backup::restore_user::restore_user(
        &store,
        &dir,
        user,
        args.folder.as_deref(),
        &mut said,
    );
    let r = super::block_on(job)??;
    for (folder, n) in &r.folders {
        say(out, format_args!("{folder}: {n} messages"))?;
    }
    say(
        out,
        format_args!("restored {} messages of {user} from {}", r.messages, r.id),
    )
}
