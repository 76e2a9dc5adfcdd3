//! Opening the SQLite database and its schema.

use crate::StoreError;
use rusqlite::Connection;
use std::path::Path;
use std::time::Duration;

/// How long a writer waits for another (the server, a CLI command) to finish.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// WAL pages after which a commit checkpoints (SQLite's default: 1000,
/// ~4 MB). Small APPENDed bodies are written into the database (inline.rs),
/// so the WAL fills several times faster than with rows alone; a page
/// rewritten many times between two checkpoints is copied to the database
/// once, so fewer, larger checkpoints copy less (issue 18: +4.5 % imaptest
/// commands/s at 10,000 against 1,000). The WAL stays within ~40 MB.
pub(crate) const WAL_AUTOCHECKPOINT: u32 = 10_000;

pub(crate) fn open(
    path: &Path,
    keys: Option<&crate::crypt::AtRestKeys>,
) -> Result<Connection, StoreError> {
    let mut conn = Connection::open(path)?;
    crate::crypt::key_if_encrypted(&conn, path, keys)?;
    // Every write transaction takes the write lock at BEGIN: a deferred one
    // that read first fails at once with "database is locked" when another
    // connection (the committer, the CLI) commits in between — busy_timeout
    // cannot help an upgrade. Seen as lost queue results → duplicate sends.
    conn.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
    conn.busy_timeout(BUSY_TIMEOUT)?;
    crate::readers::keep_statements(&conn)?;
    // WAL: readers never block the writer. FULL: each commit is fsync'd (RFC 5321 §6.1:
    // a 250 means the message is safe).
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // It answers with the value set, so a query, not an execute.
    conn.query_row(
        &format!("PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT}"),
        [],
        |_| Ok(()),
    )?;
    migrate(&conn)?;
    Ok(conn)
}

fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version < 1 {
        conn.execute_batch(SCHEMA_V1)?;
    }
    if version < 2 {
        conn.execute_batch(SCHEMA_V2)?;
    }
    if version < 3 {
        conn.execute_batch(SCHEMA_V3)?;
    }
    if version < 4 {
        conn.execute_batch(SCHEMA_V4)?;
    }
    if version < 5 {
        conn.execute_batch(SCHEMA_V5)?;
    }
    if version < 6 {
        conn.execute_batch(SCHEMA_V6)?;
    }
    if version < 7 {
        conn.execute_batch(SCHEMA_V7)?;
    }
    if version < 8 {
        conn.execute_batch(SCHEMA_V8)?;
    }
    if version < 9 {
        conn.execute_batch(SCHEMA_V9)?;
    }
    if version < 10 {
        conn.execute_batch(SCHEMA_V10)?;
    }
    if version < 11 {
        conn.execute_batch(SCHEMA_V11)?;
    }
    if version < 12 {
        conn.execute_batch(SCHEMA_V12)?;
    }
    if version < 13 {
        conn.execute_batch(SCHEMA_V13)?;
    }
    if version < 14 {
        conn.execute_batch(crate::dmarc_reports::SCHEMA_V14)?;
    }
    if version < 15 {
        conn.execute_batch(crate::archive::SCHEMA_V15)?;
    }
    if version < 16 {
        conn.execute_batch(SCHEMA_V16)?;
    }
    if version < 17 {
        conn.execute_batch(crate::fetch_accounts::SCHEMA_V17)?;
    }
    if version < 18 {
        conn.execute_batch(crate::attachment_rules::SCHEMA_V18)?;
    }
    if version < 19 {
        conn.execute_batch(crate::quarantine::SCHEMA_V19)?;
    }
    if version < 20 {
        conn.execute_batch(crate::contacts::SCHEMA_V20)?;
    }
    if version < 21 {
        conn.execute_batch(SCHEMA_V21)?;
    }
    if version < 22 {
        conn.execute_batch(crate::inline::SCHEMA_V22)?;
    }
    Ok(())
}

const SCHEMA_V1: &str = r#"
BEGIN;
CREATE TABLE IF NOT EXISTS domains (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    address TEXT NOT NULL UNIQUE COLLATE NOCASE,
    domain_id INTEGER NOT NULL REFERENCES domains(id),
    name TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    quota INTEGER NOT NULL DEFAULT 0,
    used INTEGER NOT NULL DEFAULT 0,
    enabled INTEGER NOT NULL DEFAULT 1,
    created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS aliases (
    id INTEGER PRIMARY KEY,
    address TEXT NOT NULL COLLATE NOCASE,
    domain_id INTEGER NOT NULL REFERENCES domains(id),
    target TEXT NOT NULL COLLATE NOCASE,
    UNIQUE (address, target)
);
CREATE TABLE IF NOT EXISTS groups (
    id INTEGER PRIMARY KEY,
    address TEXT NOT NULL UNIQUE COLLATE NOCASE,
    domain_id INTEGER NOT NULL REFERENCES domains(id)
);
CREATE TABLE IF NOT EXISTS group_members (
    group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    member TEXT NOT NULL COLLATE NOCASE,
    PRIMARY KEY (group_id, member)
);
CREATE TABLE IF NOT EXISTS mailboxes (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    special_use TEXT,
    uidvalidity INTEGER NOT NULL,
    uidnext INTEGER NOT NULL DEFAULT 1,
    highestmodseq INTEGER NOT NULL DEFAULT 1,
    subscribed INTEGER NOT NULL DEFAULT 1,
    UNIQUE (user_id, name)
);
CREATE TABLE IF NOT EXISTS blobs (
    id TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    refs INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY,
    mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    uid INTEGER NOT NULL,
    guid TEXT NOT NULL,
    blob_id TEXT NOT NULL REFERENCES blobs(id),
    size INTEGER NOT NULL,
    internaldate INTEGER NOT NULL,
    flags TEXT NOT NULL DEFAULT '',
    modseq INTEGER NOT NULL,
    UNIQUE (mailbox_id, uid)
);
CREATE INDEX IF NOT EXISTS messages_guid ON messages(guid);
CREATE TABLE IF NOT EXISTS expunged (
    mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    uid INTEGER NOT NULL,
    modseq INTEGER NOT NULL,
    PRIMARY KEY (mailbox_id, uid)
);
CREATE TABLE IF NOT EXISTS queue_messages (
    id TEXT PRIMARY KEY,
    blob_id TEXT NOT NULL REFERENCES blobs(id),
    sender TEXT NOT NULL,
    created INTEGER NOT NULL,
    size INTEGER NOT NULL,
    env_id TEXT,
    ret TEXT,
    smtputf8 INTEGER NOT NULL DEFAULT 0,
    held INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS queue_recipients (
    id INTEGER PRIMARY KEY,
    queue_id TEXT NOT NULL REFERENCES queue_messages(id) ON DELETE CASCADE,
    address TEXT NOT NULL,
    orcpt TEXT,
    notify INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS queue_recipients_due ON queue_recipients(status, next_attempt);
PRAGMA user_version = 1;
COMMIT;
"#;

/// v2: CONDSTORE/QRESYNC read "changed since MODSEQ" per mailbox; the folder
/// UIDVALIDITY high-water mark (folders.rs) gets its table here too.
const SCHEMA_V2: &str = r#"
BEGIN;
CREATE INDEX IF NOT EXISTS messages_modseq ON messages(mailbox_id, modseq);
CREATE INDEX IF NOT EXISTS expunged_modseq ON expunged(mailbox_id, modseq);
CREATE TABLE IF NOT EXISTS folder_uidvalidity (
    user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    last INTEGER NOT NULL
);
PRAGMA user_version = 2;
COMMIT;
"#;

/// v3: the outbound queue's per-recipient state (issue 5): the destination
/// domain (deliveries are grouped by it), when it was last tried, which host
/// answered, and whether a delay warning went out.
const SCHEMA_V3: &str = r#"
BEGIN;
ALTER TABLE queue_recipients ADD COLUMN domain TEXT NOT NULL DEFAULT '';
UPDATE queue_recipients SET domain = lower(substr(address, instr(address, '@') + 1));
ALTER TABLE queue_recipients ADD COLUMN last_attempt INTEGER;
ALTER TABLE queue_recipients ADD COLUMN remote_mta TEXT;
ALTER TABLE queue_recipients ADD COLUMN warned INTEGER NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS queue_recipients_message ON queue_recipients(queue_id);
PRAGMA user_version = 3;
COMMIT;
"#;

/// v4 (issue 3, IMAP): \Recent as each folder's first recent UID (RFC 3501
/// §2.3.2: messages from it on are recent for the next session to claim
/// them; existing messages are not), and subscriptions kept by name, apart
/// from the folders (RFC 3501 §6.3.6: a subscription outlives its folder,
/// and a name may be subscribed before it exists).
const SCHEMA_V4: &str = r#"
BEGIN;
ALTER TABLE mailboxes ADD COLUMN recent_from INTEGER NOT NULL DEFAULT 1;
UPDATE mailboxes SET recent_from = uidnext;
CREATE TABLE IF NOT EXISTS subscriptions (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    PRIMARY KEY (user_id, name)
);
INSERT OR IGNORE INTO subscriptions (user_id, name)
    SELECT user_id, name FROM mailboxes WHERE subscribed = 1;
PRAGMA user_version = 4;
COMMIT;
"#;

/// v5 (issue 6, SASL): per-user secrets of the challenge-response
/// mechanisms (mech_secrets.rs), each sealed with DIR/keys/server.key.
/// `mechanism` is the SASL name, or APOP.
const SCHEMA_V5: &str = r#"
BEGIN;
CREATE TABLE IF NOT EXISTS user_mech_secrets (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    mechanism TEXT NOT NULL,
    sealed BLOB NOT NULL,
    PRIMARY KEY (user_id, mechanism)
);
PRAGMA user_version = 5;
COMMIT;
"#;

/// v6 (issue 6, X1/X7): IP address groups, one row per entry in its
/// canonical spelling (a group exists while it has entries), and the
/// addresses the brute-force guard blocked (ipgroups.rs). Times are Unix seconds.
const SCHEMA_V6: &str = r#"
BEGIN;
CREATE TABLE IF NOT EXISTS ip_groups (
    name TEXT NOT NULL COLLATE NOCASE,
    entry TEXT NOT NULL,
    PRIMARY KEY (name, entry)
);
CREATE TABLE IF NOT EXISTS login_blocks (
    ip TEXT PRIMARY KEY,
    since INTEGER NOT NULL,
    until INTEGER NOT NULL,
    failures INTEGER NOT NULL,
    reason TEXT NOT NULL
);
PRAGMA user_version = 6;
COMMIT;
"#;

/// v7 (issue 6, X8 and X3): delegations — `owner` lets `delegate` send as the
/// owner's own address (delegation.rs); both are users and the row goes with
/// either — and the optional per-domain and per-user maximum message size in
/// bytes (size_limits.rs; NULL: the next level up applies).
const SCHEMA_V7: &str = r#"
BEGIN;
CREATE TABLE IF NOT EXISTS delegations (
    owner_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    delegate_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (owner_id, delegate_id),
    CHECK (owner_id <> delegate_id)
);
CREATE INDEX IF NOT EXISTS delegations_delegate ON delegations(delegate_id);
ALTER TABLE domains ADD COLUMN max_message_size INTEGER;
ALTER TABLE users ADD COLUMN max_message_size INTEGER;
PRAGMA user_version = 7;
COMMIT;
"#;

/// v8 (issue 15, P8): DKIM keys per domain and selector (dkim_keys.rs) —
/// the algorithm, the public key as published, the private key sealed with
/// DIR/keys/server.key; they go with their domain — and, per queued message,
/// the header fields sent before its body file (`prepend`: the DKIM
/// signatures made for the copy that leaves; local copies go without them);
/// and where each domain's DMARC reports go (`dmarc_rua`, dmarc_rua.rs).
const SCHEMA_V8: &str = r#"
BEGIN;
CREATE TABLE IF NOT EXISTS dkim_keys (
    domain_id INTEGER NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
    selector TEXT NOT NULL COLLATE NOCASE,
    algorithm TEXT NOT NULL,
    public_key BLOB NOT NULL,
    sealed BLOB NOT NULL,
    created INTEGER NOT NULL,
    PRIMARY KEY (domain_id, selector)
);
ALTER TABLE queue_messages ADD COLUMN prepend BLOB;
ALTER TABLE domains ADD COLUMN dmarc_rua TEXT;
PRAGMA user_version = 8;
COMMIT;
"#;

/// v9 (issue 16 item 6, SPEC P7): the learning spam classifier's model
/// (spam_model.rs): per token (its 64-bit hash, as a signed integer) how many
/// trained spam and ham messages held it, and the messages trained per class.
const SCHEMA_V9: &str = r#"
BEGIN;
CREATE TABLE IF NOT EXISTS spam_tokens (
    hash INTEGER PRIMARY KEY,
    spam INTEGER NOT NULL DEFAULT 0,
    ham INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS spam_trained (
    class TEXT PRIMARY KEY CHECK (class IN ('spam', 'ham')),
    messages INTEGER NOT NULL
);
INSERT OR IGNORE INTO spam_trained (class, messages) VALUES ('spam', 0), ('ham', 0);
PRAGMA user_version = 9;
COMMIT;
"#;

/// Greylisting's triplets and auto-whitelisted networks (greylist.rs), and
/// the antispam counters (counters.rs). Issue 16 items 3 and 8.
const SCHEMA_V10: &str = r#"
BEGIN;
CREATE TABLE IF NOT EXISTS greylist_triplets (
    network TEXT NOT NULL,
    sender TEXT NOT NULL,
    recipient TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    PRIMARY KEY (network, sender, recipient)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS greylist_triplets_first_seen ON greylist_triplets (first_seen);
CREATE TABLE IF NOT EXISTS greylist_networks (
    network TEXT PRIMARY KEY,
    until INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS greylist_networks_until ON greylist_networks (until);
CREATE TABLE IF NOT EXISTS spam_counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
PRAGMA user_version = 10;
COMMIT;
"#;

/// v11 (issue 16 item 5, SPEC P3): custom spam rules (spam_rules.rs), run in
/// `position` order, as the admin wrote them; `spam_rules_generation` counts
/// every change, so the running server polls one row to know when to reload.
const SCHEMA_V11: &str = r#"
BEGIN;
CREATE TABLE IF NOT EXISTS spam_rules (
    name TEXT PRIMARY KEY COLLATE NOCASE,
    position INTEGER NOT NULL UNIQUE,
    target TEXT NOT NULL,
    condition TEXT NOT NULL CHECK (condition IN ('contains', 'equals', 'matches', 'empty', 'missing')),
    argument TEXT NOT NULL DEFAULT '',
    action TEXT NOT NULL CHECK (action IN ('score', 'reject', 'accept')),
    score REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS spam_rules_generation (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    generation INTEGER NOT NULL
);
INSERT OR IGNORE INTO spam_rules_generation (id, generation) VALUES (0, 0);
PRAGMA user_version = 11;
COMMIT;
"#;

/// v12 (issue 16 item 1, SPEC P1): sender white- and blacklists
/// (sender_lists.rs): an address or `@domain`, server-wide (user_id 0) or
/// one user's; a user's entries go with the user.
const SCHEMA_V12: &str = r#"
BEGIN;
CREATE TABLE IF NOT EXISTS sender_lists (
    list TEXT NOT NULL CHECK (list IN ('white', 'black')),
    user_id INTEGER NOT NULL DEFAULT 0,
    pattern TEXT NOT NULL COLLATE NOCASE,
    PRIMARY KEY (list, user_id, pattern)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sender_lists_pattern ON sender_lists (pattern);
CREATE TRIGGER IF NOT EXISTS sender_lists_user_gone AFTER DELETE ON users
BEGIN
    DELETE FROM sender_lists WHERE user_id = OLD.id;
END;
PRAGMA user_version = 12;
COMMIT;
"#;

/// Web administration (issue 19, admin_access.rs): a role per user, the
/// server-side sessions of the admin API and its API tokens. Session ids and
/// tokens are stored as SHA-256 digests only.
const SCHEMA_V13: &str = r#"
BEGIN;
CREATE TABLE IF NOT EXISTS admin_roles (
    user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'domain-admin', 'auditor')),
    domains TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS admin_sessions (
    digest BLOB PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    password_tag BLOB NOT NULL,
    expires INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS api_tokens (
    id INTEGER PRIMARY KEY,
    digest BLOB NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created INTEGER NOT NULL,
    expires INTEGER,
    last_used INTEGER
);
PRAGMA user_version = 13;
COMMIT;
"#;

/// Webmail sign-in sessions (issue 20 item 2; postern-directory's webmail_sessions.rs).
const SCHEMA_V16: &str = r#"
BEGIN;
CREATE TABLE IF NOT EXISTS webmail_sessions (
    digest BLOB PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    password_tag BLOB NOT NULL,
    expires INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS webmail_sessions_expires ON webmail_sessions(expires);
PRAGMA user_version = 16;
COMMIT;
"#;

/// A mailbox's message list in one index (changes.rs `snapshot`, SELECT):
/// every column the list reads, in UID order, so a SELECT reads the few
/// pages of its own mailbox's entries instead of one table page per
/// message (rows of mailboxes filled together interleave in the table). On
/// an encrypted store each page read is a decryption and an HMAC (issue 14).
const SCHEMA_V21: &str = r#"
BEGIN;
CREATE INDEX IF NOT EXISTS messages_list ON messages(mailbox_id, uid, modseq, flags, size, internaldate, guid, blob_id);
PRAGMA user_version = 21;
COMMIT;
"#;

#[cfg(test)]
mod tests {
    use super::*;

    /// The newest schema version: what every migration test ends at.
    const LATEST: i64 = 22;

    #[test]
    fn v6_database_gains_delegations_and_size_limits() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("db.sqlite");
        {
            let conn = Connection::open(&path).unwrap();
            for v in [
                SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, SCHEMA_V4, SCHEMA_V5, SCHEMA_V6,
            ] {
                conn.execute_batch(v).unwrap();
            }
            conn.execute_batch(
                "INSERT INTO domains (name, created) VALUES ('example.org', 0);
                 INSERT INTO users (address, domain_id, password_hash, created)
                     VALUES ('a@example.org', 1, 'x', 0);",
            )
            .unwrap();
        }
        let conn = open(&path, None).unwrap();
        migrate(&conn).unwrap(); // a second run changes nothing
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, LATEST);
        let limits: (Option<i64>, Option<i64>) = conn
            .query_row(
                "SELECT u.max_message_size, d.max_message_size FROM users u JOIN domains d ON d.id = u.domain_id",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(limits, (None, None));
        let n: i64 = conn
            .query_row("SELECT COUNT(*) FROM delegations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
    }

    #[test]
    fn v7_database_gains_dkim_keys_and_queue_prepend() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("db.sqlite");
        {
            let conn = Connection::open(&path).unwrap();
            for v in [
                SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, SCHEMA_V4, SCHEMA_V5, SCHEMA_V6, SCHEMA_V7,
            ] {
                conn.execute_batch(v).unwrap();
            }
            conn.execute_batch(
                "INSERT INTO domains (name, created) VALUES ('example.org', 0);
                 INSERT INTO blobs (id, size, refs) VALUES ('ab12', 5, 1);
                 INSERT INTO queue_messages (id, blob_id, sender, created, size) VALUES ('ab12', 'ab12', 's@x', 0, 5);",
            )
            .unwrap();
        }
        let conn = open(&path, None).unwrap();
        migrate(&conn).unwrap(); // a second run changes nothing
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, LATEST);
        let prepend: Option<Vec<u8>> = conn
            .query_row("SELECT prepend FROM queue_messages", [], |r| r.get(0))
            .unwrap();
        assert_eq!(prepend, None, "queued before v8: sent as it is");
        let rua: Option<String> = conn
            .query_row("SELECT dmarc_rua FROM domains", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rua, None);
        let n: i64 = conn
            .query_row("SELECT COUNT(*) FROM dkim_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
    }

    #[test]
    fn v8_database_gains_the_spam_model() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("db.sqlite");
        {
            let conn = Connection::open(&path).unwrap();
            for v in [
                SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, SCHEMA_V4, SCHEMA_V5, SCHEMA_V6, SCHEMA_V7,
                SCHEMA_V8,
            ] {
                conn.execute_batch(v).unwrap();
            }
        }
        let conn = open(&path, None).unwrap();
        migrate(&conn).unwrap(); // a second run changes nothing
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, LATEST);
        let trained: i64 = conn
            .query_row("SELECT SUM(messages) FROM spam_trained", [], |r| r.get(0))
            .unwrap();
        assert_eq!(trained, 0);
    }

    #[test]
    fn v9_database_gains_greylisting_and_counters() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("db.sqlite");
        {
            let conn = Connection::open(&path).unwrap();
            for v in [
                SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, SCHEMA_V4, SCHEMA_V5, SCHEMA_V6, SCHEMA_V7,
                SCHEMA_V8, SCHEMA_V9,
            ] {
                conn.execute_batch(v).unwrap();
            }
        }
        let conn = open(&path, None).unwrap();
        migrate(&conn).unwrap(); // a second run changes nothing
        for table in ["greylist_triplets", "greylist_networks", "spam_counters"] {
            let n: i64 = conn
                .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
                .unwrap();
            assert_eq!(n, 0, "{table}");
        }
    }
}
