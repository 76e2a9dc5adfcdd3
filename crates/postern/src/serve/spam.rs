//! The spam classifier of the running server (issue 16 item 4): loaded from
//! the store at start, and loaded again when the model changes (`postern spam
//! train` from the CLI reaches the server within [`REFRESH`]). A change is
//! noticed by the messages trained per class, which every training adds to.

use crate::cmd::spam::load;
use postern_spam::Classifier;
use postern_store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often the model's trained-message counts are read.
pub const REFRESH: Duration = Duration::from_secs(1);

/// The model as stored now, and the counts it was loaded at.
pub fn initial(store: &Store) -> Result<(Classifier, (u64, u64)), String> {
    let (spam, ham) = store.spam_trained().map_err(|e| e.to_string())?;
    let c = load(store).map_err(|e| e.to_string())?;
    Ok((c, (spam, ham)))
}

/// Reloads the model into `tx` whenever its trained-message counts change.
pub async fn watch_model(
    store: Store,
    tx: watch::Sender<Arc<Classifier>>,
    mut seen: (u64, u64),
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(REFRESH) => {}
            _ = stop.changed() => return,
        }
        let s = store.clone();
        let read = tokio::task::spawn_blocking(move || {
            // Two rows, not the token table: this runs every second.
            let (spam, ham) = s.spam_trained().map_err(|e| e.to_string())?;
            if (spam, ham) == seen {
                return Ok(None);
            }
            let c = load(&s).map_err(|e| e.to_string())?;
            Ok::<_, String>(Some((c, (spam, ham))))
        })
        .await;
        match read {
            Ok(Ok(Some((c, counts)))) => {
                seen = counts;
                let _ = tx.send(Arc::new(c));
            }
            Ok(Ok(None)) => {}
            Ok(Err(e)) => eprintln!("postern: cannot reload the spam model: {e}"),
            Err(e) => eprintln!("postern: cannot reload the spam model: {e}"),
        }
    }
}
