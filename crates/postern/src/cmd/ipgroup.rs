//! `postern ipgroup add|del|list` (SPEC X1). Entries are checked and written
//! in their canonical form (`10.0.0.0/255.0.0.0` becomes `10.0.0.0/8`); a
//! running server sees changes within a second. Lines of `ipgroup list`:
//! `NAME: E1, E2`.

use super::say;
use crate::cli::IpgroupCmd;
use crate::error::{CliError, Result};
use postern_directory::prelude::*;
use postern_net::ipgroup::{check_name, Entry};
use postern_store::Store;
use std::io::Write;

pub fn run(store: &Store, cmd: IpgroupCmd, out: &mut dyn Write) -> Result<()> {
    match cmd {
        IpgroupCmd::Add { name, entries } => {
            let entries = canonical(&name, &entries)?;
            let (name, all) = store.ipgroup_add(&name, &entries)?;
            say(out, format_args!("ipgroup {}", line(&name, &all)))
        }
        IpgroupCmd::Del { name, entries } => {
            let entries = canonical(&name, &entries)?;
            let (name, left) = store.ipgroup_del(&name, &entries)?;
            if left.is_empty() {
                say(out, format_args!("ipgroup {name} deleted"))
            } else {
                say(out, format_args!("ipgroup {}", line(&name, &left)))
            }
        }
        IpgroupCmd::List => store
            .ipgroup_list()?
            .iter()
            .try_for_each(|(name, entries)| say(out, line(name, entries))),
    }
}

/// Checks the name and every entry, naming the first that is wrong.
fn canonical(name: &str, entries: &[String]) -> Result<Vec<String>> {
    check_name(name).map_err(|e| CliError::Invalid(e.to_string()))?;
    entries
        .iter()
        .map(|e| {
            e.parse::<Entry>()
                .map(|e| e.to_string())
                .map_err(|err| CliError::Invalid(format!("ipgroup {name}: {err}")))
        })
        .collect()
}

fn line(name: &str, entries: &[String]) -> String {
    format!("{name}: {}", entries.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_canonical_or_refused() {
        let got = canonical("lan", &["10.0.0.0/255.0.0.0".into(), "! ::1".into()]).unwrap();
        assert_eq!(got, ["10.0.0.0/8", "!::1"]);
        let e = canonical("lan", &["10.0.0.1/8".into()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("did you mean 10.0.0.0/8"), "{e}");
        assert!(canonical("my lan", &[]).is_err());
        assert_eq!(line("lan", &["::1".into()]), "lan: ::1");
    }
}
