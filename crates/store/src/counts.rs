//! A mailbox's counts — messages, unseen, \Deleted, octets — for IMAP STATUS
//! (RFC 9051 §6.3.11, RFC 8438 SIZE) and the webmail's folder list: one
//! aggregate over the covering list index (`messages_list`, schema v21), so
//! no message row is built and no table page is read.

use crate::{MailboxId, Store, StoreError};

/// What STATUS reports of a mailbox besides its UIDs, MODSEQ and \Recent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MailboxCounts {
    pub messages: u64,
    /// Messages without `\Seen`.
    pub unseen: u64,
    /// Messages with `\Deleted`.
    pub deleted: u64,
    /// The octets of all messages.
    pub size: u64,
}

/// Flags are stored as one space-separated string (mailbox.rs); a flag is
/// set when ` flag ` is found in ` flags `, as `split(' ')` would find it.
const COUNTS: &str = "SELECT COUNT(*), COALESCE(SUM(size), 0), \
     COALESCE(SUM(instr(' ' || flags || ' ', ' \\Seen ') = 0), 0), \
     COALESCE(SUM(instr(' ' || flags || ' ', ' \\Deleted ') > 0), 0) \
     FROM messages WHERE mailbox_id = ?1";

impl Store {
    /// The counts of `mailbox` (zero for one that does not exist).
    pub fn mailbox_counts(&self, mailbox: MailboxId) -> Result<MailboxCounts, StoreError> {
        let conn = self.reader()?;
        let mut st = conn.prepare_cached(COUNTS)?;
        Ok(st.query_row([mailbox.0], |r| {
            Ok(MailboxCounts {
                messages: r.get::<_, i64>(0)? as u64,
                size: r.get::<_, i64>(1)? as u64,
                unseen: r.get::<_, i64>(2)? as u64,
                deleted: r.get::<_, i64>(3)? as u64,
            })
        })?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mailbox::MessageInfo;
    use crate::tests_readers::setup;
    use crate::FlagOp;

    fn has(m: &MessageInfo, f: &str) -> bool {
        m.flags.split(' ').any(|x| x == f)
    }

    /// What the counts must equal: the same sums over the message list.
    fn from_list(msgs: &[MessageInfo]) -> MailboxCounts {
        MailboxCounts {
            messages: msgs.len() as u64,
            unseen: msgs.iter().filter(|m| !has(m, "\\Seen")).count() as u64,
            deleted: msgs.iter().filter(|m| has(m, "\\Deleted")).count() as u64,
            size: msgs.iter().map(|m| m.size).sum(),
        }
    }

    #[tokio::test]
    async fn counts_agree_with_the_message_list_whatever_the_flags() {
        let (_dir, store, user, inbox) = setup();
        assert_eq!(
            store.mailbox_counts(inbox).unwrap(),
            MailboxCounts::default()
        );
        for n in 1..=6 {
            let msg = format!("Subject: {n}\r\n\r\n{}\r\n", "x".repeat(n * 10));
            crate::tests_imap::deliver(&store, user, msg.as_bytes()).await;
        }
        // Flags that contain or resemble the counted ones must not count.
        let sets: [(&[u32], &[&str]); 4] = [
            (&[1, 2], &["\\Seen"]),
            (&[2, 3], &["\\Deleted"]),
            (&[4], &["\\Seenish", "$Deleted"]),
            (&[5], &["\\Seen", "\\Deleted", "$Junk"]),
        ];
        for (uids, flags) in sets {
            let flags: Vec<String> = flags.iter().map(|f| f.to_string()).collect();
            store
                .store_flags(inbox, uids, FlagOp::Add, &flags, None)
                .unwrap();
        }
        let counts = store.mailbox_counts(inbox).unwrap();
        assert_eq!(counts, from_list(&store.messages(inbox).unwrap()));
        assert_eq!((counts.messages, counts.unseen, counts.deleted), (6, 3, 3));
    }

    #[test]
    fn counts_read_only_the_covering_list_index() {
        let (_dir, store, _user, _inbox) = setup();
        let conn = store.conn();
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {COUNTS}"))
            .unwrap()
            .query_map([1], |r| r.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            plan.iter()
                .any(|p| p.contains("COVERING INDEX messages_list")),
            "{plan:?}"
        );
    }
}
