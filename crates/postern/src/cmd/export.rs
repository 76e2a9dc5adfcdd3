//! `postern export ADDRESS [--folder NAME]`: a folder as mbox on stdout.

use crate::cli::ExportArgs;
use crate::error::{CliError, Result};
use postern_store::Store;
use std::io::Write;

pub fn run(store: &Store, args: &ExportArgs, out: &mut dyn Write) -> Result<()> {
    let user = store
        .user_by_address(&args.address)?
        .ok_or_else(|| CliError::Invalid(format!("user {} does not exist", args.address)))?;
    // Bodies through the store's async interface, by id.
    let exported = postern_store::export::export_mbox(store, user.id, &args.folder, out);
    super::block_on(exported)??;
    Ok(())
}
