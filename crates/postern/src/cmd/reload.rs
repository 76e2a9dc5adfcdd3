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
    let path = data.join(pidfile::FILE_NAME);
    let pid: i32 = std::fs::read_to_string(&path)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .filter(|p| *p > 1)
        .ok_or_else(|| {
            CliError::Invalid(format!(
                "no server runs on {} (no {})",
                data.display(),
                path.display()
            ))
        })?;
    if !is_postern(pid) {
        return Err(CliError::Invalid(format!(
            "no server runs on {} (pid {pid} in {} is gone)",
            data.display(),
            path.display()
        )));
    }
    // SAFETY: kill(2) with a valid signal number has no memory effects.
    if unsafe { libc::kill(pid, libc::SIGHUP) } != 0 {
        return Err(CliError::Invalid(format!(
            "cannot signal pid {pid}: {}",
            std::io::Error::last_os_error()
        )));
    }
    say(
        out,
        format_args!("configuration checked; server (pid {pid}) reloads it now"),
    )
}

/// The pid belongs to a running postern (not a recycled pid of another program).
fn is_postern(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
        .map(|c| {
            c.split('\0')
                .next()
                .is_some_and(|exe| exe.ends_with("postern"))
        })
        .unwrap_or(false)
}
