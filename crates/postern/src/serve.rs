//! `postern serve`: load config, open the store, bind every listener, serve.
//! (Owned by the SMTP/serve work; the CLI only calls `run`.)

use std::path::Path;

/// Runs the server until SIGINT/SIGTERM. `overrides` are `--listen NAME=ADDR:PORT|off`
/// pairs already split at '='. Creates the data directory, config and a
/// self-signed certificate when missing. Errors are printed by the caller.
pub fn run(data_dir: &Path, overrides: &[(String, String)]) -> Result<(), String> {
    let _ = (data_dir, overrides);
    Err("serve is not built yet".into())
}
