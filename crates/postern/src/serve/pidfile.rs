//! DIR/postern.pid: which process serves this data directory, so that
//! `postern reload` can signal it. Removed when the server stops cleanly; a
//! stale file (after a crash) is overwritten at the next start.

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
