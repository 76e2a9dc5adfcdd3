//! `postern import ADDR (--maildir DIR | --mbox FILE) [--folder F]`:
//! progress on stderr, per folder counts on stdout, and every "From " line
//! of an mbox that was kept as text (no separator) named by line number.

use super::say;
use crate::cli::ImportArgs;
use crate::error::{CliError, Result};
use postern_directory::prelude::*;
use postern_store::import;
use postern_store::Store;
use std::io::Write;

/// How many malformed line numbers are listed (the count is always given).
const MALFORMED_SHOWN: usize = 20;

pub fn run(store: &Store, args: &ImportArgs, out: &mut dyn Write) -> Result<()> {
    let user = store
        .user_by_address(&args.address)?
        .ok_or_else(|| CliError::Invalid(format!("user {} does not exist", args.address)))?;
    let mut progress = |line: &str| eprintln!("import: {line}");
    let done = match (&args.maildir, &args.mbox) {
        (Some(dir), _) => super::block_on(import::maildir::import_maildir(
            store,
            user.id,
            dir,
            args.folder.as_deref(),
            &|name: &str| postern_imap::utf7::decode(name).unwrap_or_else(|| name.to_string()),
            &mut progress,
        ))??,
        (None, Some(file)) => {
            let f = std::fs::File::open(file).map_err(|e| CliError::io(file, e))?;
            let r = std::io::BufReader::with_capacity(256 * 1024, f);
            let folder = args.folder.as_deref().unwrap_or("INBOX");
            super::block_on(import::import_mbox(
                store,
                user.id,
                folder,
                r,
                file,
                &mut progress,
            ))??
        }
        (None, None) => {
            return Err(CliError::Invalid(
                "give --maildir DIR or --mbox FILE".into(),
            ))
        }
    };
    for (folder, n) in &done.folders {
        say(out, format_args!("{folder}: {n} messages"))?;
    }
    if !done.malformed.is_empty() {
        let shown: Vec<String> = done
            .malformed
            .iter()
            .take(MALFORMED_SHOWN)
            .map(u64::to_string)
            .collect();
        say(
            out,
            format_args!(
                "{} \"From \" lines were no separator and were kept as text (unquoted mboxo?): lines {}{}",
                done.malformed.len(),
                shown.join(", "),
                if done.malformed.len() > MALFORMED_SHOWN { ", …" } else { "" }
            ),
        )?;
    }
    say(
        out,
        format_args!("imported {} messages for {}", done.messages, args.address),
    )
}
