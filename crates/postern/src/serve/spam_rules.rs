//! The custom spam rules of the running server (issue 16 item 5): compiled
//! from the store at start, and again when they change. `postern spam rule
//! add|del` bumps a generation counter in the store; the server reads that
//! one row every [`REFRESH`], so a change reaches it within a second or two.
//! A stored rule that no longer compiles is left out, with a line on stderr.

use crate::cmd::spam_rule::load;
use postern_spam::rules::Rule;
use postern_store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often the rules' generation is read.
pub const REFRESH: Duration = Duration::from_secs(1);

type Rules = Arc<Vec<Rule>>;

/// The rules as stored now, and the generation they were read at.
pub fn initial(store: &Store) -> Result<(Rules, u64), String> {
    let generation = store.spam_rules_generation().map_err(|e| e.to_string())?;
    Ok((compiled(store)?, generation))
}

fn compiled(store: &Store) -> Result<Rules, String> {
    let (rules, bad) = load(store).map_err(|e| e.to_string())?;
    for e in bad {
        eprintln!("postern: {e}; the rule is left out");
    }
    Ok(Arc::new(rules))
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
            let generation = s.spam_rules_generation().map_err(|e| e.to_string())?;
            if generation == seen {
                return Ok(None);
            }
            Ok::<_, String>(Some((compiled(&s)?, generation)))
        })
        .await;
        match read {
            Ok(Ok(Some((rules, generation)))) => {
                seen = generation;
                let _ = tx.send(rules);
            }
            Ok(Ok(None)) => {}
            Ok(Err(e)) => eprintln!("postern: cannot reload the spam rules: {e}"),
            Err(e) => eprintln!("postern: cannot reload the spam rules: {e}"),
        }
    }
}
