//! `postern reload`: checks postern.toml, then asks the running server (its
//! pid is in DIR/postern.pid) to re-read it now (SIGHUP). Sessions are not
//! dropped; listener addresses still need a restart.

use super::say;
use crate::error::{CliError, Result};
use crate::serve::pidfile;
use std::io::Write;
use std::path::Path;

pub fn run(data: &Path, out: &mut dyn Write) -> Result<()> {
    postern_config::Config::load(data)?
        .validate()
        .map_err(CliError::Invalid)?;
    let pid = pidfile::signal_server(data, libc::SIGHUP).map_err(CliError::Invalid)?;
    say(
        out,
        format_args!("configuration checked; server (pid {pid}) reloads it now"),
    )
}
