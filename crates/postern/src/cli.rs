//! The command line (clap derive). These forms are a contract: scripts and the
//! end-to-end tests call them exactly as written here.

use clap::{ArgGroup, Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "postern",
    version,
    about = "Postern: a secure, all-in-one mail server"
)]
pub struct Cli {
    /// The data directory (config, database, message bodies, TLS files).
    #[arg(long, global = true, env = "POSTERN_DATA", value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// The key of an encrypted store: a private file (mode 0600) holding its
    /// passphrase. Else `POSTERN_PASSPHRASE_FILE`, else one line on stdin.
    #[arg(long, global = true, value_name = "PATH")]
    pub key_file: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the data directory, postern.toml, the store, a first domain and a self-signed certificate.
    Init(InitArgs),
    /// Run the server until SIGINT/SIGTERM.
    Serve(ServeArgs),
    /// Check postern.toml and make the running server apply it now (SIGHUP), keeping sessions.
    Reload,
    /// Local domains.
    #[command(subcommand)]
    Domain(DomainCmd),
    /// Mail accounts.
    #[command(subcommand)]
    User(UserCmd),
    /// Aliases (ADDRESS `@domain` is that domain's catch-all).
    #[command(subcommand)]
    Alias(AliasCmd),
    /// Groups (distribution lists).
    #[command(subcommand)]
    Group(GroupCmd),
    /// Write a user's folder to stdout as mbox (mboxrd), or all their folders as a Maildir++ tree.
    Export(ExportArgs),
    /// Back up the store while it serves into a new directory under DEST
    /// (or `backup verify DEST`: re-check every checksum).
    Backup(BackupArgs),
    /// Rebuild a data directory from a backup (DEST or one backup in it),
    /// or with --user restore one mailbox into this store as a new folder.
    Restore(RestoreArgs),
    /// Bring in a user's mail from a Maildir (Maildir++ or Dovecot's fs layout) or an mbox file.
    Import(ImportArgs),
    /// Read or change one key of postern.toml (comments are kept).
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Inspect the outbound queue.
    #[command(subcommand)]
    Queue(QueueCmd),
    /// IP address groups: hosts, networks and ranges, for `allow` and `exempt` rules.
    #[command(subcommand)]
    Ipgroup(IpgroupCmd),
    /// Addresses blocked by the brute-force guard.
    #[command(subcommand)]
    Security(SecurityCmd),
    /// DKIM keys: mail for other domains is signed with its domain's keys.
    #[command(subcommand)]
    Dkim(DkimCmd),
    /// Print, in zone-file form, every DNS record a local domain needs: MX,
    /// SPF, each DKIM key, DMARC, and the SRV records of RFC 6186 for the
    /// services that are on.
    Dns(DnsArgs),
    /// The learning spam classifier: train it, score messages, show its counts.
    #[command(subcommand)]
    Spam(SpamCmd),
    /// Encryption at rest: bodies, queue and database (the server must be stopped).
    #[command(subcommand)]
    Encryption(EncryptionCmd),
    /// API tokens for the admin API (`Authorization: Bearer TOKEN`).
    #[command(subcommand)]
    Token(TokenCmd),
    /// DMARC aggregate reports (RFC 7489 §7.2) of the mail this server checked.
    #[command(subcommand)]
    Dmarc(DmarcCmd),
    /// The integrated antivirus engine: scan files, install signatures, show them.
    #[command(subcommand)]
    Av(AvCmd),
    /// Connections, messages, queue, failed logins, blocks and command
    /// latency: from the running server (its `GET /metrics`), else from the
    /// data directory.
    Status,
    /// TLS certificates per host name (SNI): signing requests, imports, the list.
    #[command(subcommand)]
    Tls(TlsCmd),
    /// The journal archive for auditors (archive.enabled): search it, show an entry, purge by retention.
    #[command(subcommand)]
    Archive(ArchiveCmd),
    /// POP3 download: remote mailboxes the server fetches into local users.
    #[command(subcommand)]
    Fetch(crate::cmd::fetch::FetchCmd),
    /// The attachment filter: ordered rules by file name or MIME type.
    #[command(subcommand)]
    Attachment(AttachmentCmd),
}

#[derive(Debug, Subcommand)]
pub enum TlsCmd {
    /// Write a new key and a certificate signing request for the host
    /// names to DIR/tls/requests/ (HOST.key, HOST.csr) and print the request.
    Csr {
        #[arg(long, required = true, value_name = "HOST")]
        host: Vec<String>,
        /// An RSA key of 2048 or 4096 bits instead of ECDSA P-256.
        #[arg(long, value_name = "BITS")]
        rsa: Option<usize>,
    },
    /// Check that KEY belongs to CERT and that CERT's chain is complete (the
    /// host's certificate first, then the intermediates), then serve it to
    /// clients asking for its host names; the running server picks it up.
    Import {
        cert: PathBuf,
        key: PathBuf,
        /// Serve it for these names only (default: every DNS name it holds).
        #[arg(long, value_name = "HOST")]
        host: Vec<String>,
        /// Make it the default certificate (tls.cert, tls.key), for clients
        /// that ask for no name or an unknown one.
        #[arg(long)]
        default: bool,
    },
    /// The default certificate and each imported one: NAME, HOSTS,
    /// NOT-AFTER, SUBJECT, ISSUER (tab-separated).
    List,
}

#[derive(Debug, Subcommand)]
pub enum ArchiveCmd {
    /// Entries matching every filter given, oldest first: ID, TIME,
    /// DIRECTION, FROM, RECIPIENTS, SUBJECT, separated by tabs.
    Search {
        /// Substring of the envelope sender (MAIL FROM), any case.
        #[arg(long, value_name = "ADDR")]
        from: Option<String>,
        /// Substring of any envelope recipient (Bcc included), any case.
        #[arg(long, value_name = "ADDR")]
        to: Option<String>,
        /// Received at or after (YYYY-MM-DD UTC, RFC 3339, or Unix seconds).
        #[arg(long, value_name = "DATE")]
        since: Option<String>,
        /// Received before (same forms).
        #[arg(long, value_name = "DATE")]
        before: Option<String>,
        /// Substring of the archived message as stored, any case.
        #[arg(long, value_name = "STR")]
        text: Option<String>,
    },
    /// Print an entry's archived copy: its X-Postern-Archive-* envelope
    /// fields, then the message as received.
    Show { id: i64 },
    /// Remove the entries older than archive.retention, as of TIME (default:
    /// now; the server does this every hour).
    Purge {
        #[arg(long, value_name = "TIME")]
        now: Option<String>,
    },
}

/// `postern attachment` (issue 17 item 6).
#[derive(Debug, Subcommand)]
pub enum AttachmentCmd {
    #[command(subcommand)]
    Rule(AttachmentRuleCmd),
}

/// `postern attachment rule`: the first rule matching a name wins.
#[derive(Debug, Subcommand)]
pub enum AttachmentRuleCmd {
    /// Add a rule after the others.
    Add(AttachmentRuleArgs),
    /// The rules in order, numbered, each as `attachment rule add` takes it.
    List,
    /// Delete the rule numbered N in `attachment rule list`.
    Del { n: usize },
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("target").required(true).args(["name", "type"])))]
#[command(group(ArgGroup::new("action").required(true).args(["block", "allow"])))]
pub struct AttachmentRuleArgs {
    /// A file-name glob (`*`, `?`), ignoring case: `*.exe` also matches
    /// `invoice.pdf.exe`, and names inside zip, gzip and tar archives.
    #[arg(long, value_name = "GLOB")]
    pub name: Option<String>,
    /// A MIME type, `type/subtype` or `type/*`.
    #[arg(long = "type", value_name = "MIME")]
    pub r#type: Option<String>,
    #[arg(long)]
    pub block: bool,
    #[arg(long)]
    pub allow: bool,
}

#[derive(Debug, Subcommand)]
pub enum EncryptionCmd {
    /// Encrypt the store (or finish an interrupted conversion); a new
    /// store key is wrapped under the passphrase.
    Enable,
    /// Decrypt the store back to plaintext (or finish an interrupted run).
    Disable,
    /// Off, on, or converting (how far); the cipher and KDF parameters.
    Status,
}

#[derive(Debug, Subcommand)]
pub enum TokenCmd {
    /// Make a token for USER (who needs a role: `user set --role`); it is
    /// printed once and stored only as its SHA-256.
    Create {
        #[arg(long)]
        user: String,
        /// Lifetime, e.g. 90d or 12h (default: no expiry).
        #[arg(long, value_name = "DURATION")]
        expires: Option<String>,
    },
    /// List tokens: ID, USER, CREATED, EXPIRES, LAST-USED (to the minute), separated by tabs.
    List,
    /// Revoke a token by its ID.
    Revoke { id: i64 },
}

#[derive(Debug, Subcommand)]
pub enum DmarcCmd {
    /// Send the reports of reporting periods that have ended (`--now`: also
    /// the running period's), as the server does when auth.dmarc_reports is on.
    Report {
        #[arg(long)]
        now: bool,
    },
}

#[derive(Debug, Args)]
pub struct DnsArgs {
    pub domain: String,
    /// Look each record up (through delivery.resolver, or the system's
    /// resolver) and say which are missing or differ; exit 1 if any is.
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The name this server uses in greetings and its certificate.
    #[arg(long, value_name = "HOST")]
    pub hostname: String,
    /// The first local domain.
    #[arg(long, value_name = "DOMAIN")]
    pub domain: String,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Override a listener for this run: NAME=ADDR:PORT or NAME=off (repeatable).
    #[arg(long = "listen", value_name = "NAME=ADDR:PORT|NAME=off")]
    pub listen: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum DomainCmd {
    /// Add a local domain.
    Add { domain: String },
    /// Remove a domain that has no users, aliases or groups left.
    Del { domain: String },
    /// Change a domain's settings.
    #[command(group = ArgGroup::new("setting").required(true).multiple(true))]
    Set {
        domain: String,
        /// Largest message its users send or receive, e.g. 10M or 512K
        /// (`none` clears it); never above smtp.max_message_size.
        #[arg(long, value_name = "SIZE|none", group = "setting")]
        max_message_size: Option<String>,
        /// Where its DMARC aggregate reports go (the record's `rua`): a local
        /// address (`none` clears it). `postern dns DOMAIN` shows the record.
        #[arg(long, value_name = "ADDRESS|none", group = "setting")]
        dmarc_rua: Option<String>,
    },
    /// List local domains, one per line (`NAME`, then a tab and
    /// `max-message-size=SIZE` when the domain has one).
    List,
}

/// Where a password comes from; stdin is the only source (never the command line).
#[derive(Debug, Args)]
pub struct PasswordSource {
    /// Read the password from the first line of stdin.
    #[arg(long, required = true)]
    pub password_stdin: bool,
}

#[derive(Debug, Subcommand)]
pub enum UserCmd {
    /// Create an account with INBOX and the special-use folders.
    Add {
        address: String,
        #[command(flatten)]
        password: PasswordSource,
        /// Display name.
        #[arg(long, value_name = "FULL NAME", default_value = "")]
        name: String,
        /// Mailbox quota, e.g. 500M or 2G; 0 or absent is unlimited.
        #[arg(long, value_name = "SIZE")]
        quota: Option<String>,
    },
    /// Change an account's password.
    Passwd {
        address: String,
        #[command(flatten)]
        password: PasswordSource,
    },
    /// Delete an account with all its mail.
    Del { address: String },
    /// Change an account's settings.
    #[command(group = ArgGroup::new("setting").required(true).multiple(true))]
    Set {
        address: String,
        /// Largest message the user sends or receives, e.g. 10M or 512K
        /// (`none` clears it: the domain's applies); never above smtp.max_message_size.
        #[arg(long, value_name = "SIZE|none", group = "setting")]
        max_message_size: Option<String>,
        /// Administrative role in the admin API: admin (everything),
        /// domain-admin:DOMAIN[,DOMAIN] (those domains' users, aliases and
        /// groups), auditor (read-only), or none.
        #[arg(long, value_name = "ROLE", group = "setting")]
        role: Option<String>,
    },
    /// List accounts: ADDRESS, NAME, QUOTA, USED, MECHANISMS separated by tabs,
    /// then `max-message-size=SIZE` when the user has a limit of their own.
    List,
    /// Let DELEGATE send as OWNER's own address (envelope sender and From:).
    Delegate { owner: String, delegate: String },
    /// Withdraw a delegation.
    Undelegate { owner: String, delegate: String },
    /// List delegations (all, or OWNER's): `OWNER -> DELEGATE`, one per line.
    Delegations { owner: Option<String> },
}

#[derive(Debug, Subcommand)]
pub enum AliasCmd {
    /// Add targets to an alias.
    Add {
        address: String,
        #[arg(required = true)]
        targets: Vec<String>,
    },
    /// Remove an alias, or only the targets named.
    Del {
        address: String,
        targets: Vec<String>,
    },
    /// List aliases: `ADDRESS -> T1, T2`.
    List,
}

#[derive(Debug, Subcommand)]
pub enum GroupCmd {
    /// Create a group, or add members to an existing one.
    Add {
        address: String,
        /// A member address (repeatable).
        #[arg(long = "member", value_name = "ADDRESS")]
        members: Vec<String>,
    },
    /// Delete a group.
    Del { address: String },
    /// List groups: `ADDRESS: M1, M2`.
    List,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The user whose folder is exported.
    pub address: String,
    /// The folder to export.
    #[arg(long, value_name = "NAME", default_value = "INBOX")]
    pub folder: String,
    /// Write every folder as a Maildir++ tree in DIR (flags in file names,
    /// keywords in dovecot-keywords, dates as file times) instead of mbox.
    #[arg(long, value_name = "DIR")]
    pub maildir: Option<PathBuf>,
    /// mbox only: add Status, X-Status and X-Keywords headers with each
    /// message's flags (what `import --mbox` reads back).
    #[arg(long)]
    pub flags: bool,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BackupArgs {
    #[command(subcommand)]
    pub cmd: Option<BackupCmd>,
    /// Where backups go: each is a directory of its own in DEST.
    pub dest: Option<PathBuf>,
    /// Hard-link what the previous backup in DEST holds instead of copying it.
    #[arg(long)]
    pub incremental: bool,
    /// Afterwards delete the oldest backups in DEST so that N remain.
    #[arg(long, value_name = "N")]
    pub keep: Option<usize>,
}

#[derive(Debug, Subcommand)]
pub enum BackupCmd {
    /// Re-read every file of the backups in DEST (or of one backup) and
    /// compare with the manifest; exit 1 when anything is wrong.
    Verify { dest: PathBuf },
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A backup directory, or a DEST (its newest backup is taken).
    pub src: PathBuf,
    /// Restore only this user's mailboxes, into the store at --data, as new folders.
    #[arg(long, value_name = "ADDRESS")]
    pub user: Option<String>,
    /// With --user: the folder to restore (default: all), under `Restored/ID/`.
    #[arg(long, value_name = "NAME", requires = "user")]
    pub folder: Option<String>,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("source").required(true).args(["maildir", "mbox"])))]
pub struct ImportArgs {
    /// The user whose mailboxes receive the mail.
    pub address: String,
    /// A Maildir: its subfolders (`.Sub.Folder` or Dovecot's `Sub/Folder`) become folders.
    #[arg(long, value_name = "DIR")]
    pub maildir: Option<PathBuf>,
    /// An mbox file (mboxrd or mboxo).
    #[arg(long, value_name = "FILE")]
    pub mbox: Option<PathBuf>,
    /// The folder to import into (Maildir: the root's; subfolders go beneath it).
    #[arg(long, value_name = "NAME")]
    pub folder: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCmd {
    /// Print a key's value (from the file, or the default the server uses).
    Get { key: String },
    /// Set a key (a TOML value; bare words are strings) and save the file.
    Set { key: String, value: String },
}

#[derive(Debug, Subcommand)]
pub enum QueueCmd {
    /// List queued messages with their recipients.
    List,
    /// Show one queued message and where its body is.
    Show { id: String },
    /// Try a message (or with --all every message) again now.
    Retry {
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<String>,
        #[arg(long)]
        all: bool,
    },
    /// Remove a message from the queue without delivering or bouncing it.
    Delete { id: String },
    /// Stop attempts for a message until it is released.
    Hold { id: String },
    /// Let a held message be tried again, at once.
    Release { id: String },
}

#[derive(Debug, Subcommand)]
pub enum IpgroupCmd {
    /// Create a group, or add entries to it. An ENTRY is an address
    /// (192.0.2.7, 2001:db8::7), a network (192.0.2.0/24, 192.0.2.0/255.255.255.0,
    /// 2001:db8::/32) or a range (192.0.2.10-192.0.2.20); a leading `!` excludes it.
    Add {
        name: String,
        #[arg(required = true)]
        entries: Vec<String>,
    },
    /// Remove entries from a group, or the whole group when none are named.
    Del { name: String, entries: Vec<String> },
    /// List groups: `NAME: E1, E2`.
    List,
}

#[derive(Debug, Subcommand)]
pub enum SecurityCmd {
    /// List blocked addresses: IP, SINCE, UNTIL, FAILURES, REASON separated by tabs.
    Blocked,
    /// Lift the block of an address (and forget its failed logins).
    Unblock { ip: String },
    /// Block an address (an IPv6 one: its /64) on every listener, now.
    Block {
        ip: String,
        /// How long, e.g. 10m, 2h, 1d (default: `security.block_for`).
        #[arg(long = "for", value_name = "DURATION")]
        duration: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum DkimCmd {
    /// Make a key for a local domain and print the TXT record to publish
    /// (zone-file form). An RSA and an Ed25519 key may sign side by side.
    Generate {
        domain: String,
        /// The selector (`s=`, the record's `SELECTOR._domainkey` name);
        /// default: the algorithm and this month, e.g. rsa202612.
        #[arg(long, value_name = "SELECTOR")]
        selector: Option<String>,
        /// rsa (2048 bits) or ed25519 (RFC 8463).
        #[arg(long, value_name = "rsa|ed25519", default_value = "rsa")]
        algorithm: String,
    },
    /// List keys: DOMAIN, SELECTOR, ALGORITHM, CREATED separated by tabs.
    List,
    /// Delete a key: mail is no longer signed with it (keep its record
    /// published a few days, for mail still on its way).
    Del { domain: String, selector: String },
}

/// A PATH is a message file, an mbox (a file starting with `From `), a
/// Maildir (a directory with `cur` or `new`) or a directory of any of these.
#[derive(Debug, Subcommand)]
pub enum SpamCmd {
    /// Learn messages as spam or as ham; the model is kept in the store.
    Train {
        #[command(flatten)]
        class: TrainClass,
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Score messages: one line each, PATH, SCORE, `spam` or `ham` (at
    /// spam.tag_score, or as a custom rule's reject or accept says) and the
    /// tests that fired, separated by tabs.
    Check {
        /// No tests that need the network (DNS).
        #[arg(long)]
        offline: bool,
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Messages trained per class and tokens known.
    Stats,
    /// Custom rules, run in order before the classifier.
    #[command(subcommand)]
    Rule(SpamRuleCmd),
    /// Senders whose mail is never refused by a DNS list nor scored as spam
    /// (only when SPF and DMARC did not fail: the envelope sender can be forged).
    Whitelist {
        #[command(subcommand)]
        cmd: SenderListCmd,
    },
    /// Senders whose mail is refused: server-wide with 554 5.7.1 at MAIL
    /// FROM, for one user with 550 5.7.1 at that user's RCPT.
    Blacklist {
        #[command(subcommand)]
        cmd: SenderListCmd,
    },
}

/// An ENTRY is an address (someone@example.org) or a domain (@example.org).
#[derive(Debug, Subcommand)]
pub enum SenderListCmd {
    /// Add an entry.
    Add {
        entry: String,
        /// The user's own list instead of the server-wide one.
        #[arg(long)]
        user: Option<String>,
    },
    /// List the entries, one a line.
    List {
        #[arg(long)]
        user: Option<String>,
    },
    /// Remove an entry.
    Del {
        entry: String,
        #[arg(long)]
        user: Option<String>,
    },
}

/// `postern spam rule`: tests on a header field or the body text (issue 16 item 5).
#[derive(Debug, Subcommand)]
pub enum SpamRuleCmd {
    /// Add a rule after the others.
    Add(SpamRuleArgs),
    /// The rules in order, one per line, each as `spam rule add` takes it.
    List,
    /// Delete a rule.
    Del { name: String },
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("target").required(true).args(["header", "body"])))]
#[command(group(ArgGroup::new("condition").required(true)
    .args(["contains", "equals", "matches", "empty", "missing"])))]
#[command(group(ArgGroup::new("action").required(true).args(["score", "reject", "accept"])))]
pub struct SpamRuleArgs {
    /// Letters, digits, `_` and `-`; the test is named RULE_NAME.
    pub name: String,
    /// Every instance of this header field, unfolded and RFC 2047-decoded.
    #[arg(long, value_name = "FIELD")]
    pub header: Option<String>,
    /// The decoded text parts of the message (HTML as text).
    #[arg(long)]
    pub body: bool,
    /// Contains this text, ignoring case.
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
    pub contains: Option<String>,
    /// Is this text (surrounding white space aside), ignoring case.
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
    pub equals: Option<String>,
    /// Matches this regular expression (Rust regex syntax, `(?i)` to ignore case).
    #[arg(long, value_name = "REGEX", allow_hyphen_values = true)]
    pub matches: Option<String>,
    /// Present but empty (the body: no text).
    #[arg(long)]
    pub empty: bool,
    /// Absent (the body: no text part).
    #[arg(long)]
    pub missing: bool,
    /// Add N points (negative: take them away).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub score: Option<f64>,
    /// Refuse the message (550 5.7.1).
    #[arg(long)]
    pub reject: bool,
    /// Accept it as ham: no other test scores it.
    #[arg(long)]
    pub accept: bool,
}

/// Signatures live in DIR/av (ClamAV formats); with none, EICAR is still detected.
#[derive(Debug, Subcommand)]
pub enum AvCmd {
    /// Scan files (a `.eml` as a message, anything else as a file) and
    /// directories (recursively): one line each, `PATH: OK`,
    /// `PATH: NAME FOUND` or `PATH: UNSCANNABLE REASON`; exit 1 when
    /// something was found.
    Scan {
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Install signature databases into DIR/av, all or nothing: a set that
    /// does not load (a malformed line) is refused and the old one kept.
    Update {
        /// A directory, one database file, or an http URL of a mirror
        /// directory (main.cvd, daily.cvd); default: av.mirror.
        #[arg(long, value_name = "DIR_OR_URL")]
        from: Option<String>,
    },
    /// The engine, each database file (version, build date, signatures,
    /// age) and the totals.
    Status,
    /// Infected messages kept aside (`av.quarantine = true`).
    #[command(subcommand)]
    Quarantine(AvQuarantineCmd),
}

/// `postern av quarantine` (issue 17 item 4).
#[derive(Debug, Subcommand)]
pub enum AvQuarantineCmd {
    /// One line each: ID, date (UTC), size, sender, recipients, virus.
    List,
    /// Deliver the message to its original recipients, then drop it from
    /// the quarantine.
    Release { id: i64 },
    /// Delete the message.
    Delete { id: i64 },
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct TrainClass {
    /// The messages are spam.
    #[arg(long)]
    pub spam: bool,
    /// The messages are ham (not spam).
    #[arg(long)]
    pub ham: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn password_flag_required() {
        assert!(Cli::try_parse_from(["postern", "user", "add", "a@b.c"]).is_err());
        assert!(
            Cli::try_parse_from(["postern", "user", "add", "a@b.c", "--password-stdin"]).is_ok()
        );
    }

    #[test]
    fn group_members_repeat_or_none() {
        let cli = Cli::try_parse_from([
            "postern", "group", "add", "g@b.c", "--member", "x@b.c", "--member", "y@b.c",
        ])
        .unwrap();
        match cli.command {
            Command::Group(GroupCmd::Add { members, .. }) => {
                assert_eq!(members, ["x@b.c", "y@b.c"])
            }
            other => panic!("{other:?}"),
        }
        assert!(Cli::try_parse_from(["postern", "group", "add", "g@b.c"]).is_ok());
    }

    #[test]
    fn ipgroup_entries_may_start_with_bang() {
        let cli = Cli::try_parse_from([
            "postern",
            "ipgroup",
            "add",
            "lan",
            "10.0.0.0/8",
            "!10.0.0.5",
        ])
        .unwrap();
        match cli.command {
            Command::Ipgroup(IpgroupCmd::Add { entries, .. }) => {
                assert_eq!(entries, ["10.0.0.0/8", "!10.0.0.5"])
            }
            other => panic!("{other:?}"),
        }
        assert!(Cli::try_parse_from(["postern", "ipgroup", "add", "lan"]).is_err());
        assert!(Cli::try_parse_from(["postern", "ipgroup", "del", "lan"]).is_ok());
    }

    #[test]
    fn spam_train_needs_one_class() {
        let parse = |args: &[&str]| Cli::try_parse_from([&["postern", "spam"], args].concat());
        assert!(parse(&["train", "--spam", "a"]).is_ok());
        assert!(parse(&["train", "--ham", "a", "b"]).is_ok());
        assert!(parse(&["train", "a"]).is_err());
        assert!(parse(&["train", "--spam", "--ham", "a"]).is_err());
        assert!(parse(&["train", "--spam"]).is_err());
        assert!(parse(&["check", "--offline", "a"]).is_ok());
    }

    #[test]
    fn spam_rule_add_needs_one_of_each() {
        let parse = |args: &[&str]| {
            Cli::try_parse_from([&["postern", "spam", "rule", "add", "r"], args].concat())
        };
        assert!(parse(&["--header", "Subject", "--contains", "x", "--score", "-2.5"]).is_ok());
        assert!(parse(&["--body", "--matches", "-x", "--reject"]).is_ok());
        assert!(parse(&["--body", "--header", "S", "--empty", "--accept"]).is_err());
        assert!(parse(&["--body", "--empty", "--missing", "--accept"]).is_err());
        assert!(parse(&["--body", "--empty", "--accept", "--reject"]).is_err());
        assert!(parse(&["--body", "--empty"]).is_err());
    }

    #[test]
    fn data_is_global() {
        let cli = Cli::try_parse_from(["postern", "domain", "list", "--data", "/x"]).unwrap();
        assert_eq!(cli.data.unwrap(), PathBuf::from("/x"));
    }
}
