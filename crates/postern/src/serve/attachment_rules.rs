//! The attachment filter's rules in the running server (issue 17 item 6):
//! read at start, and again when `postern attachment rule add|del` bumps
//! their generation in the store, which is polled every [`REFRESH`] (as
//! the spam rules are, serve/spam_rules.rs).

use crate::cmd::attachment_rule::load;
use postern_av::attachment::Rule;
use postern_store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often the rules' generation is read.
pub const REFRESH: Duration = Duration::from_secs(1);

type Rules = Arc<Vec<Rule>>;

/// The rules as stored now, and the generation they were read at.
pub fn initial(store: &Store) -> Result<(Rules, u64), String> {
    let generation = store
        .attachment_rules_generation()
        .map_err(|e| e.to_string())?;
    Ok((
        Arc::new(load(store).map_err(|e| e.to_string())?),
        generation,
    ))
}

/// Reloads the rules into `tx` whenever their generation changes.
pub async fn watch_rules(
    store: Store,
    tx: watch::Sender<Rules>,
    mut seen: u64,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(REFRESH) => {}
            _ = stop.changed() => return,
        }
        let s = store.clone();
        let read = tokio::task::spawn_blocking(move || {
            let generation = s.attachment_rules_generation().map_err(|e| e.to_string())?;
            if generation == seen {
                return Ok(None);
            }
            let rules = load(&s).map_err(|e| e.to_string())?;
            Ok::<_, String>(Some((Arc::new(rules), generation)))
        })
        .await;
        match read {
            Ok(Ok(Some((rules, generation)))) => {
                seen = generation;
                let _ = tx.send(rules);
            }
            Ok(Ok(None)) => {}
            Ok(Err(e)) => eprintln!("postern: cannot reload the attachment rules: {e}"),
            Err(e) => eprintln!("postern: cannot reload the attachment rules: {e}"),
        }
    }
}
