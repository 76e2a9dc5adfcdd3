//! The commented `postern.toml` that `postern init` writes: every key shown
//! with its default, so an admin can read what the server does.

/// Renders the initial config for `hostname`.
pub fn render_template(hostname: &str) -> String {
    TEMPLATE.replace("{HOSTNAME}", hostname)
}

const TEMPLATE: &str = r#"# Postern configuration. Edit by hand or with `postern config set KEY VALUE`
# (comments are kept). Changes are picked up by a running server within a second;
# listener addresses take effect at the next start.
# Durations are written "30s", "5m", "1h", "2d" and are at most 100 years.

[server]
# The name this server uses in its greetings and Received headers.
hostname = "{HOSTNAME}"

[listeners]
# Each service listens on "ADDRESS:PORT", on a list of them, or is "off".
# `postern serve --listen NAME=ADDR:PORT` overrides these for one run.
smtp = "0.0.0.0:25"          # MX: mail from the Internet; STARTTLS offered, no AUTH
submission = "0.0.0.0:587"   # mail clients sending: STARTTLS, then AUTH
smtps = "0.0.0.0:465"        # mail clients sending over implicit TLS (RFC 8314)
imap = "0.0.0.0:143"         # IMAP with STARTTLS
imaps = "0.0.0.0:993"        # IMAP over implicit TLS
pop3 = "0.0.0.0:110"         # POP3 with STLS
pop3s = "0.0.0.0:995"        # POP3 over implicit TLS
admin = "0.0.0.0:4040"       # web administration: HTTPS, the API under /api/v1 (loopback clients only unless [access.admin] allow says otherwise)
https = "0.0.0.0:443"        # webmail over HTTPS
http = "0.0.0.0:80"          # plain HTTP: only a redirect to https (clients in [access.http] exempt get webmail)

[tls]
# Certificate chain and key in PEM, relative to the data directory. `postern init`
# generates a self-signed pair unique to this installation; replace with your own.
cert = "tls/cert.pem"
key = "tls/key.pem"
# ACME (RFC 8555): certificates for acme_hosts (default: server.hostname), obtained
# when missing and renewed acme_renew_before their end, without a restart. The CA
# validates with acme_challenge: "tls-alpn-01" on port 443 (the https or admin
# listener), or "http-01" on port 80 (the http listener).
acme_directory = ""              # e.g. "https://acme-v02.api.letsencrypt.org/directory"
acme_contact = []                # e.g. ["mailto:postmaster@example.org"]
acme_hosts = []
acme_ca_file = ""                # a PEM root for a private ACME server's HTTPS
acme_renew_before = "30d"
acme_challenge = "tls-alpn-01"   # or "http-01"

[smtp]
# Largest message accepted (SIZE, RFC 1870); larger ones get 552 5.3.4.
max_message_size = "50M"
# Recipients per message; more get 452 4.5.3.
max_recipients = 100
# Protocol discipline on port 25 (the smtp listener only; refusals are
# 554/5.x and a line in security.log). Pause before the greeting: a client
# that talks before it is an early talker and refused ("0s": greet at once).
greeting_delay = "1s"
# IP group greeted at once, without that pause (`postern ipgroup add NAME …`;
# "" = none): e.g. your own relays or partners who hang up on slow greetings.
greeting_delay_exempt = ""
# Refuse clients that pipeline commands after HELO (pipelining needs EHLO).
forbid_unauth_pipelining = true
# Refuse clients that send the message before the 354 that invites it.
forbid_early_body = true
# Time allowed for a command, and for each block of message data (RFC 5321 §4.5.3.2).
command_timeout = "5m"
data_timeout = "10m"
# Protocol errors tolerated in one session before it is closed with 421.
max_errors = 20
# Authenticated users may send (envelope and From:) only as their own address,
# aliases that deliver to them and groups they belong to; others get 553 5.7.1.
sender_identity = true
# Messages accepted per hour from one client address and from one authenticated
# user (0: no limit); over it MAIL gets 452 4.7.0.
max_messages_per_hour_ip = 0
max_messages_per_hour_user = 0
# Unknown recipients in one session before it is closed with 421 (0: no limit).
max_unknown_recipients = 20
# Refuse HELO/EHLO names that are not fully qualified or an address literal.
helo_checks = false
# Unauthenticated mail from outside whose MAIL FROM or From: is in a local
# domain: "reject" (550 5.7.1), "mark" (X-Postern-Warning header) or "accept".
local_sender = "reject"
# Relay control: only authenticated users relay to other domains, plus the
# clients in this IP group (`postern ipgroup add NAME …`; "" = none), which
# may also use local senders unauthenticated.
trusted_group = ""
# POP3/IMAP-before-SMTP: after a successful POP3 or IMAP login, the same client
# address may relay for this long ("off", or e.g. "10m").
pop_before_smtp = "off"
# Mail for "postmaster" and postmaster@ every local domain is always accepted
# (RFC 5321 §4.5.1): an alias or user postmaster@DOMAIN gets it, else this
# address ("": the first user created).
postmaster = ""
# Space kept free on the data directory's disk: the smaller of disk_reserve and
# disk_reserve_percent of the disk (0 turns either off). MAIL whose SIZE= does
# not fit above it, or any MAIL once it is reached, gets 452 4.3.1, and a
# message that reaches it while arriving is refused: SMTP stops before the disk is full.
disk_reserve = "1G"
disk_reserve_percent = 5

[imap]
# A connection that has not logged in within this time is closed (* BYE); the
# 30-minute autologout applies only after login.
login_timeout = "60s"
# IMAP sessions one user may have open from one client address at once; a
# login past it gets NO [LIMIT] (0: no limit).
max_per_user_ip = 10

[dns]
# The one resolver of every lookup (delivery, SPF, DKIM, DMARC): answers are
# cached for their TTL; timeouts and SERVFAIL count as temporary errors.
# Absent = delivery.resolver (its old name, still accepted), else the system's.
#resolver = "127.0.0.1:53"

[delivery]
# Mail for other domains: MX lookup (RFC 5321 §5.1), retries, bounces.
# The DNS server is dns.resolver (this section's `resolver` is its alias).
# Send everything through a smarthost (smtp://, smtps://, smtp+starttls://, with user:password@ for AUTH).
#relay = "smtp+starttls://user:password@smarthost.example.net:587"
# Only these domains go through the relay (empty: all).
relay_domains = []
# Allow MX hosts on loopback or private networks (a forged MX could otherwise reach the LAN).
allow_private = false
# Local address to send from.
#source_address = "192.0.2.25"
# Port of MX hosts.
port = 25
# Waits between attempts; the last repeats until give_up.
retry = ["5m", "10m", "20m", "40m", "1h"]
give_up = "5d"
# Tell senders their mail is delayed after this long ("off": never).
delay_warning = "off"
# Connections at once: in total, to one domain; messages per connection.
max_connections = 40
max_per_domain = 8
max_messages_per_connection = 100
# A connection with no more mail waits this long for the next delivery to the
# same server (same relay or MX host and port, same TLS and AUTH) before QUIT
# ("0s": QUIT at once; at most 5m). The per-connection message limit above
# counts across reuse; idle connections count against max_connections.
connection_cache_time = "2s"
# TLS to MX hosts: "none", "may" (STARTTLS when offered, unverified allowed), "verify".
tls = "may"
# Domains whose servers must present a verified certificate.
tls_verify_domains = []
# The relay is checked like any MX host: for mail that needs verification (tls =
# "verify", or a domain above) it must offer TLS and its certificate must verify
# for the host in `relay`, else the mail waits. false: never verify the relay
# (self-signed, or naming another host); a private CA is better put in ca_file.
tls_verify_relay = true
# Extra CA certificates (PEM) trusted when verifying servers.
#ca_file = "tls/outbound-ca.pem"
connect_timeout = "30s"

[auth]
# SASL mechanisms for SMTP AUTH, IMAP AUTHENTICATE and POP3 AUTH, from:
# PLAIN, LOGIN (the password crosses the wire: offered only over TLS),
# SCRAM-SHA-256, SCRAM-SHA-1 (RFC 5802/7677), CRAM-MD5 (RFC 2195),
# DIGEST-MD5 (RFC 2831), NTLM (NTLMv2 only). Challenge-response mechanisms need
# a per-user secret, made when the password is set: SCRAM-SHA-256's always,
# the others' only while they are enabled here (kept encrypted with
# DIR/keys/server.key). After enabling one, set each user's password again
# (`postern user passwd`); `postern user list` shows who has which.
mechanisms = ["PLAIN", "LOGIN", "SCRAM-SHA-256"]
# POP3 APOP (RFC 1939 §7): a timestamp in the greeting. Needs each user's
# password kept (encrypted), like the mechanisms above.
apop = false
# PBKDF2 iterations of new SCRAM keys (RFC 7677 §4: at least 4096).
scram_iterations = 4096
# Password policy for `postern user add` and `postern user passwd`:
# shortest length in characters,
password_min_length = 10
# how many of lower case, upper case, digit and other characters to mix (0-4),
password_classes = 3
# and whether the user's local part or domain name (any case) is refused in it.
password_forbid_names = true
# Authentication of inbound mail (port 25; not for authenticated users or
# clients in smtp.trusted_group). Results go into an Authentication-Results
# header and the mail.log line of each message.
# SPF (RFC 7208) of the HELO name and MAIL FROM:
spf = true
# DKIM (RFC 6376; ed25519 RFC 8463; rsa-sha1 is not a pass, RFC 8301), every
# signature; signatures with l= never pass (unsigned content could be appended):
dkim = true
# ARC chains (RFC 8617):
arc = true
# ARC-seal mail from outside that a local alias or forward sends on to another
# domain, with the forwarding domain's RSA DKIM key (RFC 8617 §5.1):
arc_seal = true
# DMARC (RFC 7489), organisational domains from the Public Suffix List:
dmarc = true
# Apply the sender domain's DMARC policy: p=reject is 550 5.7.1 at the end of
# DATA, p=quarantine delivers into the recipient's Junk folder (false: only record).
dmarc_enforce = true
# DMARC policy lookup failed (temperror): "accept" or "defer" (451 4.7.5).
dmarc_temperror = "accept"
# Per From: domain, the action on a DMARC failure instead of its published
# policy: "none", "quarantine" or "reject".
dmarc_overrides = {}
# Sealers (ARC-Seal d=) whose valid ARC chain, saying DMARC passed when they
# received the message, overrides a DMARC failure (mailing lists, forwarders).
arc_trusted_sealers = []
# authserv-id of our Authentication-Results header ("" = server.hostname);
# incoming headers that claim it are removed (RFC 8601 §5).
authserv_id = ""
# Time allowed for the lookups of one message; what is not done by then is a temperror.
check_timeout = "20s"
# DMARC aggregate reports (RFC 7489 §7.2) of the mail we checked, sent as a
# gzip'd XML attachment to the rua= of each sender domain's DMARC record (an
# address on another domain only when it publishes the §7.1 authorisation).
# `postern dmarc report [--now]` sends what is due by hand.
dmarc_reports = false
# Reporting period (1h to 7d); each period's report is sent after it ends.
dmarc_report_interval = "24h"
# report_metadata org_name ("" = server.hostname).
dmarc_report_org = ""
# From: of the reports ("" = postmaster@server.hostname).
dmarc_report_from = ""

[security]
# Brute-force guard: failed logins are counted per client address across SMTP,
# IMAP and POP3. This many within login_window block the address on every
# listener for block_for (login_failures = 0: never block). Several addresses
# failing against one account are reported in security.log.
# `postern security blocked` lists blocked addresses; `postern security unblock IP`
# lifts a block at once, also while the server runs.
login_failures = 10
login_window = "60s"
block_for = "5m"
# Directory harvesting: unknown recipients asked for by one client address,
# across sessions and listeners. From half of unknown_recipients within
# unknown_recipients_window each refusal is slowed by a second; at the limit
# the address is blocked everywhere for block_for (0: never block).
unknown_recipients = 50
unknown_recipients_window = "1h"
# Addresses in this IP group (see `postern ipgroup`) are never blocked nor
# slowed ("": none).
exempt = ""
# Security policy for connections without TLS (SMTP incl. port 25, IMAP, POP3):
#   "none"        passwords in the clear (PLAIN, LOGIN, IMAP LOGIN, POP3 USER/PASS)
#                 are accepted and offered without TLS too;
#   "secure-auth" no password in the clear without TLS (SMTP 530 5.7.0, IMAP
#                 LOGINDISABLED, POP3 -ERR [AUTH]); challenge-response mechanisms
#                 (SCRAM, CRAM-MD5, ...) and APOP still work before STARTTLS/STLS;
#   "encrypted"   nothing but the TLS upgrade and harmless commands (EHLO, NOOP,
#                 CAPABILITY, CAPA, QUIT, ...) without TLS; mail from servers
#                 that cannot do STARTTLS is then refused on port 25.
# Refusals are written to security.log (event=policy-refused).
policy = "secure-auth"
# Clients in this IP group are held to policy "none" ("": nobody; loopback is
# not trusted by default), e.g. `postern ipgroup add lan 192.168.0.0/16`.
policy_exempt = ""

# Per-listener access, one table per listener (smtp, submission, smtps, imap,
# imaps, pop3, pop3s); absent keys mean no restriction. `allow` names an IP
# group (`postern ipgroup add NAME 192.0.2.0/24 ...`) whose clients alone may
# connect; others are refused right after connecting (a group that does not
# exist lets nobody in). max_connections and max_per_ip cap the connections at
# once on that listener and from one client address (0: no limit). Every
# listener has max_per_ip = 50 unless set otherwise (an IPv6 client counts as
# its /64), so no single address can hold hundreds of connections.
#[access.imap]
#allow = "office"
#max_connections = 200
#max_per_ip = 50
# [access.http] also takes `exempt`: an IP group whose clients get webmail over
# plain HTTP instead of the redirect to https (a login there still follows
# security.policy: no password in the clear unless it is "none").
#[access.http]
#exempt = "lan"

[spam]
# Spam score in points: the learning classifier (`postern spam train`), a few
# header tests and GTUBE (`postern spam check FILE` shows them). From tag_score
# a message is spam: it gets X-Spam-Flag: YES, X-Spam-Score and X-Spam-Status
# (the tests that fired), subject_tag goes before its Subject ("": none) and it
# is delivered into each recipient's Junk folder; from reject_score it is
# refused with 550 5.7.1 at the end of DATA (reject_action = "reject") or
# accepted and thrown away ("discard"). Mail from outside also gets points from
# its authentication: SPF fail +2.0, SPF softfail +0.5, DMARC fail +3.0. Incoming
# X-Spam-* fields are removed. The score and tests are in each mail.log line.
# The classifier alone gives at most about 13 points, so at the default
# reject_score it only ever tags (Junk): a refusal needs GTUBE or the classifier
# together with failed authentication and header tests.
enabled = true
# Also score authenticated submissions and trusted clients.
scan_authenticated = false
tag_score = 5.0
reject_score = 20.0
subject_tag = "**SPAM**"
reject_action = "reject"
# Custom rules (`postern spam rule add|list|del`) run first, in order: their
# points add up, and a rule's `reject` refuses the message (as reject_score
# does) or its `accept` makes it ham with no other test.
# Learning: a message an IMAP client copies, moves or appends into the Junk
# folder is learned as spam, one copied or moved out of it (but into Trash) as
# ham, when learn_from_junk is true. With auto_learn, mail scored at the end of
# DATA is learned too when its score without the classifier's own points is at
# least auto_learn_spam (spam) or at most auto_learn_ham (ham): the classifier
# never teaches itself, only the rules, header and authentication tests do.
learn_from_junk = true
auto_learn = false
auto_learn_spam = 12.0
auto_learn_ham = -2.0

# DNS lists (RFC 5782). Each [[spam.dnsbl]] is asked about the client's
# address (1.0.0.127.ZONE for 127.0.0.1) as it connects; a listing (an A record
# in 127.0.0.0/8, or one of `returns` when given) does what `action` says:
# "block" refuses with 554 5.7.1 naming the list (when = "connect": instead of
# the greeting; "rcpt", the default: at each RCPT, so whitelisted senders still
# get through), "score" adds `score` points to the spam score, "log" only logs.
# Each [[spam.uribl]] is asked about the registered domains of the first 20
# http(s) links of a message's text parts (DOMAIN.ZONE) at the end of DATA; a
# block there is 554 5.7.1 too. At most 20 lists of each kind. A list that does
# not answer within dnsbl_timeout counts as not listing (and is logged).
# Listings are in security.log and in the mail.log line (dnsbl=, uribl=).
dnsbl_timeout = "5s"
# IP groups (`postern ipgroup add NAME ...`): clients in ip_whitelist are never
# refused by a DNS list nor scored; clients in ip_blacklist are refused with
# 554 5.7.1 instead of the greeting. "" for none. Sender addresses and domains
# are white- and blacklisted with `postern spam whitelist|blacklist`.
ip_whitelist = ""
ip_blacklist = ""
# (Lists go last in [spam]: keys after a [[...]] belong to that list.)
#[[spam.dnsbl]]
#zone = "zen.spamhaus.org"
#action = "block"
#when = "rcpt"
#returns = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
#[[spam.uribl]]
#zone = "multi.uribl.com"
#action = "score"
#score = 3.0

[greylist]
# Greylisting on port 25 (RFC 6647): the first attempt of each (client network,
# sender, recipient) is refused at RCPT with "451 4.7.1 Greylisted, try again in
# N seconds"; a real MTA retries, and a retry after `delay` and within `window`
# of the first attempt is accepted. The client's network (its /24, or /64 for
# IPv6) is then let through at once for `auto_whitelist` (renewed while it keeps
# sending). Authenticated users, smtp.trusted_group and exempt_group are never
# greylisted. State is kept in the database (survives restarts); deferrals are
# counted in `postern spam stats`. Off by default: it delays new senders' mail.
enabled = false
delay = "5m"
window = "4h"
auto_whitelist = "36d"
exempt_group = ""

[archive]
# The journal archive for auditors: a copy of every message received on port
# 25, sent by submission or delivered locally, with its envelope (sender, every
# recipient, Bcc included, time, direction in|out|local, client IP) prepended as
# X-Postern-Archive-* header fields. Kept apart from the mailboxes, so users
# cannot delete it; foldered by `period` ("month", "week" or "day", UTC); read
# over IMAP, read-only, by users with the auditor role (`postern user set ADDR
# --role auditor`) as Archive/2026-12 etc.; searched with `postern archive
# search`. Entries older than `retention` are purged daily.
enabled = false
period = "month"
retention = "7y"

[av]
# Whether incoming and submitted mail is scanned at the end of DATA/BDAT.
enabled = true
# What an infected message gets: "reject" (554 5.7.1 Virus found: NAME),
# "discard" (250, then thrown away) or "replace" (delivered with each infected
# part, an archive holding it included, replaced by a text warning).
action = "reject"
# Also keep each infected message, as received, in the quarantine (encrypted
# at rest if the store is): `postern av quarantine list|release ID|delete ID`.
quarantine = false
# An address told of each infected message ("" for none), and what the notice
# carries: "original" (the message as received, attached), "filtered" (with the
# infected parts replaced) or "none".
notify_admin = ""
forward = "none"
# The integrated antivirus engine: signatures in ClamAV's formats (.cvd, .cld,
# .hdb, .hsb, .ndb, .fp, .sfp) in DIR/av; the EICAR test file is detected with
# none. `postern av update --from DIR_OR_URL` installs new ones (refused whole
# if any line is malformed), `postern av status` shows them, `postern av scan
# PATH...` scans files. Every MIME part is decoded and zip, gzip and tar
# archives unpacked, within these limits: archives nested deeper than
# max_depth, more than max_files members, more than max_scan_bytes decoded, or
# a member expanding more than max_ratio times its compressed size (above
# 1 MiB) make the message unscannable, as do encrypted or corrupt archives.
max_depth = 5
max_files = 1000
max_scan_bytes = "100M"
max_ratio = 100
# An unscannable message is delivered with a warning ("deliver") or treated as
# a virus ("infected").
unscannable = "deliver"
# Where updates come from: a directory, or the http(s) URL of a mirror
# directory holding main.cvd and daily.cvd; "" for none. The server fetches
# from it every update_interval (at least 10m).
mirror = ""
update_interval = "4h"
# clamd as a second engine, asked over INSTREAM: "tcp://127.0.0.1:3310" or
# "unix:/run/clamav/clamd.ctl"; "" for none. With both, a message is infected
# if either says so; over clamd's StreamMaxLength it is unscannable.
clamd = ""
# How long connecting to clamd and its answer may take.
clamd_timeout = "30s"
# When an engine fails (clamd down, hanging, answering an error): "tempfail"
# (451 4.7.1, the sender tries again) or "deliver" (with an
# X-Postern-Virus-Scan warning).
engine_failure = "tempfail"

[attachment]
# The attachment filter: ordered rules in the database, by file name (globs,
# ignoring case; names inside zip, gzip and tar archives too) or MIME type:
#   postern attachment rule add (--name "*.exe" | --type application/x-msdownload) (--block | --allow)
#   postern attachment rule list | del N
# The first rule matching a name wins. A blocked attachment is replaced by a
# text part ("replace") or the message refused with 554 5.7.1 ("reject").
action = "replace"
# Tell an authenticated sender what was blocked (never others: backscatter).
warn_sender = false
# An address told of each blocked attachment, and what the notice carries
# ("original", "filtered" or "none", as av.forward).
notify_admin = ""
forward = "none"

[backup]
# Backups the server takes by itself, as `postern backup DEST --incremental
# --keep N` does: "daily HH:MM" (UTC) or an interval ("6h", "1d", at least
# 60s); "" for none. dest is relative to the data directory ("" = backups/);
# put it on another disk for a real backup (bodies are then copied, not linked).
schedule = ""
dest = ""
keep = 7
incremental = true

[fetch]
# POP3 download: remote mailboxes fetched into local users (`postern fetch
# add|list|del|run`), each every `interval` unless added with --interval.
interval = "10m"

[log]
# mail.log and security.log in DIR/logs: key=value text, or JSON lines when true.
json = false
"#;

#[cfg(test)]
mod tests {
    #[test]
    fn template_parses_to_defaults() {
        let c = crate::Config::parse(&super::render_template("mx.example.org")).unwrap();
        assert_eq!(c.server.hostname, "mx.example.org");
        assert_eq!(c.smtp.max_recipients, 100);
        let d = crate::Smtp::default();
        assert_eq!(c.smtp.greeting_delay, d.greeting_delay);
        assert_eq!(c.smtp.greeting_delay_exempt, d.greeting_delay_exempt);
        assert_eq!(c.greylist, crate::Greylist::default());
        assert_eq!(c.backup, crate::Backup::default());
        assert_eq!(c.archive, crate::Archive::default());
        assert!(c.smtp.forbid_unauth_pipelining && c.smtp.forbid_early_body);
        assert_eq!(
            (
                c.smtp.disk_reserve,
                c.smtp.disk_reserve_percent,
                c.smtp.postmaster.clone()
            ),
            (d.disk_reserve, d.disk_reserve_percent, d.postmaster)
        );
        let d = crate::Auth::default();
        assert_eq!(c.auth.mechanisms, d.mechanisms);
        assert_eq!(
            (
                c.auth.apop,
                c.auth.scram_iterations,
                c.auth.password_min_length
            ),
            (d.apop, d.scram_iterations, d.password_min_length)
        );
        assert_eq!(c.auth.password_classes, d.password_classes);
        assert_eq!(c.auth.password_forbid_names, d.password_forbid_names);
        assert_eq!(
            (c.auth.spf, c.auth.dkim, c.auth.dmarc, c.auth.arc),
            (d.spf, d.dkim, d.dmarc, d.arc)
        );
        assert_eq!(c.auth.dmarc_enforce, d.dmarc_enforce);
        assert_eq!(c.auth.dmarc_temperror, d.dmarc_temperror);
        assert_eq!(c.auth.check_timeout.0, d.check_timeout.0);
        assert_eq!(
            (
                c.auth.arc_seal,
                c.auth.dmarc_reports,
                c.auth.dmarc_report_interval.0
            ),
            (d.arc_seal, d.dmarc_reports, d.dmarc_report_interval.0)
        );
        assert_eq!(c.dns_resolver().unwrap(), None);
        assert_eq!(c.security, crate::Security::default());
        assert_eq!(c.imap, crate::Imap::default());
        assert_eq!(c.spam, crate::Spam::default());
        assert_eq!(c.av, crate::Av::default());
        assert!(c.access.0.is_empty());
        for (name, _) in crate::SERVICES {
            assert!(
                !c.listeners.get(name).addrs().unwrap().is_empty(),
                "{name} shown"
            );
        }
    }
}
