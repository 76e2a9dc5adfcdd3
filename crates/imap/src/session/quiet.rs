//! Whether the selected mailbox may have changed since this session last
//! read its changes (issue 18 item 2: every command ended with a read of
//! the store's changes, a trip to the blocking pool and a SQLite read
//! transaction, most of them finding nothing).
//!
//! The store broadcasts a [`Change`] after every commit that touches a
//! mailbox, before the command that made it is answered. The receiver is
//! taken before SELECT's snapshot, so a change committed after the snapshot
//! is always seen here; one committed by another process (the CLI) does
//! not broadcast, and is read at most [`MAX_QUIET`] later.

use postern_store::{Change, MailboxId};
use std::time::{Duration, Instant};
use tokio::sync::broadcast::{self, error::TryRecvError};

/// The longest the changes are not read while commands come in.
pub(super) const MAX_QUIET: Duration = Duration::from_secs(1);

pub(super) struct Watch {
    rx: broadcast::Receiver<Change>,
    read_at: Instant,
}

impl Watch {
    pub fn new(rx: broadcast::Receiver<Change>) -> Watch {
        Watch {
            rx,
            read_at: Instant::now(),
        }
    }

    /// True when `mailbox` may have changed since the last true answer: a
    /// change to it was broadcast, some were missed (lagged), or
    /// [`MAX_QUIET`] passed.
    pub fn may_have_changed(&mut self, mailbox: MailboxId) -> bool {
        let mut changed = self.read_at.elapsed() >= MAX_QUIET;
        loop {
            match self.rx.try_recv() {
                Ok(c) => changed |= c.mailbox == mailbox,
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Lagged(_)) => changed = true,
                Err(TryRecvError::Closed) => {
                    changed = true;
                    break;
                }
            }
        }
        if changed {
            self.read_at = Instant::now();
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use postern_store::UserId;

    #[test]
    fn only_a_change_to_this_mailbox_or_a_lag_or_the_quiet_limit_counts() {
        let (tx, rx) = broadcast::channel(2);
        let mut w = Watch::new(rx);
        let (mine, other) = (MailboxId(1), MailboxId(2));
        assert!(!w.may_have_changed(mine), "nothing broadcast");
        let change = |m| Change {
            user: UserId(1),
            mailbox: m,
        };
        tx.send(change(other)).unwrap();
        assert!(!w.may_have_changed(mine), "another mailbox");
        tx.send(change(mine)).unwrap();
        assert!(w.may_have_changed(mine));
        assert!(!w.may_have_changed(mine), "read once");
        for _ in 0..3 {
            tx.send(change(other)).unwrap();
        }
        assert!(w.may_have_changed(mine), "lagged: may have missed one");
        w.read_at -= MAX_QUIET;
        assert!(w.may_have_changed(mine), "quiet for too long");
        assert!(!w.may_have_changed(mine));
    }
}
