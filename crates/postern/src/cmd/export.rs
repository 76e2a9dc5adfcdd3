//! `postern export ADDRESS [--folder NAME] [--flags]`: a folder as mbox on
//! stdout; `--maildir DIR`: every folder as a Maildir++ tree.

use super::say;
use crate::cli::ExportArgs;
use crate::error::{CliError, Result};
use postern_directory::prelude::*;
use postern_store::Store;
use std::io::Write;

pub fn run(store: &Store, args: &ExportArgs, out: &mut dyn Write) -> Result<()> {
    let user = store
        .user_by_address(&args.address)?
        .ok_or_else(|| CliError::Invalid(format!("user {} does not exist", args.address)))?;
    if let Some(dir) = &args.maildir {
        // Folder names on disk in modified UTF-7, as Dovecot writes them.
        let encode = |name: &str| postern_imap::utf7::encode(name);
        let job = postern_store::export_maildir::export_maildir(store, user.id, dir, &encode);
        for (folder, n) in super::block_on(job)?? {
            say(out, format_args!("{folder}: {n} messages"))?;
        }
        return Ok(());
    }
    // Bodies through the store's async interface, by id.
    let exported =
        postern_store::export::export_mbox_with(store, user.id, &args.folder, out, args.flags);
    super::block_on(exported)??;
    Ok(())
}
