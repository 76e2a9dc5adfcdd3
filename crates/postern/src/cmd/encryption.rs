//! `postern encryption enable|disable|status` (SPEC X9). Conversions refuse
//! to run while a server serves the directory: the server holds the
//! database open and writes bodies, so the store is converted stopped, and
//! a conversion killed half-way is finished by running it again (the server
//! refuses to start until then).

use super::say;
use crate::cli::EncryptionCmd;
use crate::error::{CliError, Result};
use crate::serve::pidfile;
use postern_store::crypt::manage;
use std::io::Write;
use std::path::Path;

/// How many bodies between two progress lines.
const PROGRESS_EVERY: usize = 500;

pub fn run(data: &Path, cmd: EncryptionCmd, out: &mut dyn Write) -> Result<()> {
    if let EncryptionCmd::Status = cmd {
        for line in manage::status(data)? {
            say(out, line)?;
        }
        return Ok(());
    }
    if let Ok(pid) = pidfile::running_pid(data) {
        return Err(CliError::Invalid(format!(
            "the server (pid {pid}) is running on {}: stop it first, then convert",
            data.display()
        )));
    }
    let mut failed = None;
    let mut progress = |done: usize, total: usize| {
        if failed.is_none() && (done.is_multiple_of(PROGRESS_EVERY) || done == total) {
            if let Err(e) = say(out, format_args!("bodies: {done}/{total}")) {
                failed = Some(e);
            }
        }
    };
    let (result, what) = match cmd {
        EncryptionCmd::Enable => (manage::enable(data, &mut progress), "on"),
        _ => (manage::disable(data, &mut progress), "off"),
    };
    result?;
    if let Some(e) = failed {
        return Err(e);
    }
    say(out, format_args!("encryption: {what}"))
}
