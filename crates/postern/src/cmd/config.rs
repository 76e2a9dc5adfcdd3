//! `postern config get KEY` and `postern config set KEY VALUE`: one key of
//! postern.toml, edited in place with its comments kept.

use super::say;
use crate::cli::ConfigCmd;
use crate::error::Result;
use postern_config::edit;
use std::io::Write;
use std::path::Path;

pub fn run(data: &Path, cmd: ConfigCmd, out: &mut dyn Write) -> Result<()> {
    match cmd {
        ConfigCmd::Get { key } => say(out, edit::get(data, &key)?),
        ConfigCmd::Set { key, value } => {
            edit::set(data, &key, &value)?;
            say(out, format_args!("{key} = {}", edit::get(data, &key)?))
        }
    }
}
