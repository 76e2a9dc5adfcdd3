//! `postern alias add|del|list`. Lines of `alias list`: `ADDRESS -> T1, T2`.

use super::say;
use crate::cli::AliasCmd;
use crate::error::Result;
use postern_directory::prelude::*;
use postern_store::Store;
use std::io::Write;

pub fn run(store: &Store, cmd: AliasCmd, out: &mut dyn Write) -> Result<()> {
    match cmd {
        AliasCmd::Add { address, targets } => {
            store.alias_add(&address, &targets)?;
            let all = store
                .alias_list()?
                .into_iter()
                .find(|(a, _)| *a == address)
                .map_or(targets, |(_, ts)| ts);
            say(out, format_args!("alias {}", line(&address, &all)))
        }
        AliasCmd::Del { address, targets } => {
            store.alias_del(&address, &targets)?;
            say(out, format_args!("alias {address} deleted"))
        }
        AliasCmd::List => store
            .alias_list()?
            .iter()
            .try_for_each(|(a, ts)| say(out, line(a, ts))),
    }
}

fn line(address: &str, targets: &[String]) -> String {
    format!("{address} -> {}", targets.join(", "))
}

#[cfg(test)]
mod tests {
    #[test]
    fn format() {
        assert_eq!(
            super::line("@b.c", &["x@y.z".into(), "w@y.z".into()]),
            "@b.c -> x@y.z, w@y.z"
        );
    }
}
