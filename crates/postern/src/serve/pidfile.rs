//! DIR/postern.pid: which process serves this data directory, so that
//! `postern reload` (SIGHUP) and the queue commands (SIGUSR1: look at the
//! queue now) can signal it. Written only after the server's handlers for
//! both signals are installed, since their default action ends a process.
//! Removed when the server stops cleanly; a stale file (after a crash) is
//! overwritten at the next start.

use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "postern.pid";

pub struct PidFile(PathBuf);

impl PidFile {
    pub fn create(data_dir: &Path) -> Result<PidFile, String> {
        let path = data_dir.join(FILE_NAME);
        let tmp = data_dir.join(format!(".{FILE_NAME}.tmp"));
        std::fs::write(&tmp, format!("{}\n", std::process::id()))
            .and_then(|_| std::fs::rename(&tmp, &path))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(PidFile(path))
    }
}

/// The pid of the server running on `data_dir`, or why there is none: no
/// pid file, or its process is gone (not a recycled pid of another program).
pub fn running_pid(data_dir: &Path) -> Result<i32, String> {
    let path = data_dir.join(FILE_NAME);
    let pid: i32 = std::fs::read_to_string(&path)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .filter(|p| *p > 1)
        .ok_or_else(|| {
            format!(
                "no server runs on {} (no {})",
                data_dir.display(),
                path.display()
            )
        })?;
    match is_postern(pid) {
        true => Ok(pid),
        false => Err(format!(
            "no server runs on {} (pid {pid} in {} is gone)",
            data_dir.display(),
            path.display()
        )),
    }
}

/// Sends `signal` to the server running on `data_dir`.
pub fn signal_server(data_dir: &Path, signal: i32) -> Result<i32, String> {
    let pid = running_pid(data_dir)?;
    // SAFETY: kill(2) with a valid signal number has no memory effects.
    match unsafe { libc::kill(pid, signal) } {
        0 => Ok(pid),
        _ => Err(format!(
            "cannot signal pid {pid}: {}",
            std::io::Error::last_os_error()
        )),
    }
}

/// The pid belongs to a running postern.
fn is_postern(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
        .map(|c| {
            c.split('\0')
                .next()
                .is_some_and(|exe| exe.ends_with("postern"))
        })
        .unwrap_or(false)
}

impl Drop for PidFile {
    fn drop(&mut self) {
        // Only our own: a newer server may have replaced it.
        if std::fs::read_to_string(&self.0)
            .is_ok_and(|s| s.trim() == std::process::id().to_string())
        {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}
