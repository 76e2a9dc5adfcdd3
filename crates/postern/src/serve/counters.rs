//! The antispam counters' flush (issue 16 item 8): sessions count into one
//! in-memory tally; this writes it to the store every `FLUSH_EVERY` and once
//! more when the server stops. A crash loses at most the last few seconds
//! of counts.

use postern_store::counters::{Tally, FLUSH_EVERY};
use postern_store::Store;
use std::sync::Arc;
use tokio::sync::watch;

/// Flushes `tally` periodically until `stop`, and then a last time.
pub async fn flush_every(store: Store, tally: Arc<Tally>, mut stop: watch::Receiver<bool>) {
    loop {
        let stopping = tokio::select! {
            _ = tokio::time::sleep(FLUSH_EVERY) => false,
            _ = stop.changed() => true,
        };
        if stopping {
            return;
        }
        flush(&store, &tally).await;
    }
}

/// Writes the tally off the async workers; a failure keeps the counts for next time.
pub async fn flush(store: &Store, tally: &Arc<Tally>) {
    let (s, t) = (store.clone(), tally.clone());
    match tokio::task::spawn_blocking(move || t.flush(&s)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("postern: cannot write the spam counters: {e}"),
        Err(e) => eprintln!("postern: cannot write the spam counters: {e}"),
    }
}
