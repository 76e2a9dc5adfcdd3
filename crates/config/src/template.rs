//! The commented `postern.toml` that `postern init` writes: every key shown
//! with its default, so an admin can read what the server does.

/// Renders the initial config for `hostname`.
pub fn render_template(hostname: &str) -> String {
    TEMPLATE.replace("{HOSTNAME}", hostname)
}

const TEMPLATE: &str = r#"# Postern configuration. Edit by hand or with `postern config set KEY VALUE`
# (comments are kept). Changes are picked up by a running server within a second;
# listener addresses take effect at the next start.

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

[tls]
# Certificate chain and key in PEM, relative to the data directory. `postern init`
# generates a self-signed pair unique to this installation; replace with your own.
cert = "tls/cert.pem"
key = "tls/key.pem"

[smtp]
# Largest message accepted (SIZE, RFC 1870); larger ones get 552 5.3.4.
max_message_size = "50M"
# Recipients per message; more get 452 4.5.3.
max_recipients = 100
# Pause before the greeting; clients that talk before it are dropped.
greeting_delay = "0s"
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

[delivery]
# Mail for other domains: MX lookup (RFC 5321 §5.1), retries, bounces.
# DNS server for MX/A/AAAA lookups; absent = the system's resolver.
#resolver = "127.0.0.1:53"
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
# Addresses in this IP group (see `postern ipgroup`) are never blocked ("": none).
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
# once on that listener and from one client address (0: no limit).
#[access.imap]
#allow = "office"
#max_connections = 200
#max_per_ip = 20

[spam]
# Spam score in points: the learning classifier (`postern spam train`), a few
# header tests and GTUBE (`postern spam check FILE` shows them). From tag_score
# a message is spam: subject_tag goes before its Subject ("": none); from
# reject_score it is refused.
tag_score = 5.0
reject_score = 12.0
subject_tag = "**SPAM**"

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
        assert_eq!(c.security, crate::Security::default());
        assert_eq!(c.spam, crate::Spam::default());
        assert!(c.access.0.is_empty());
        for (name, _) in crate::SERVICES {
            assert!(
                !c.listeners.get(name).addrs().unwrap().is_empty(),
                "{name} shown"
            );
        }
    }
}
