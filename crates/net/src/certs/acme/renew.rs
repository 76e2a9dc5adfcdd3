//! When to order: at start when the host has no certificate of its own, and
//! [`RENEW_BEFORE`] its expiry; checked every [`CHECK_EVERY`] and whenever the
//! config changes. A failed order (the challenge refused, the CA away) keeps
//! whatever is served and is tried again at the next check.

use super::{obtain, Responders, Settings};
use crate::certs::CertDir;
use crate::clock::Clock;
use postern_config::Config;
use postern_logs::Logs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The default of `tls.acme_renew_before` (Let's Encrypt's advice for 90-day certificates).
pub const RENEW_BEFORE: i64 = 30 * 86_400;
/// How often the expiry is looked at.
pub const CHECK_EVERY: Duration = Duration::from_secs(12 * 3600);

/// True when a certificate ending at `not_after` (None: there is none) must be renewed at `now`.
pub fn due(not_after: Option<i64>, now: i64, renew_before: i64) -> bool {
    not_after.is_none_or(|end| end - now <= renew_before)
}

/// The expiry of the certificate installed for `host`, if any.
fn installed_until(dir: &CertDir, host: &str) -> Option<i64> {
    let list = dir.list().ok()?;
    list.into_iter()
        .filter(|c| c.name != "default" && c.hosts.iter().any(|h| h == host))
        .map(|c| c.not_after)
        .max()
}

/// The ACME settings of `config` and its renewal margin in seconds (None: ACME is off).
pub fn settings(config: &Config, data_dir: &Path) -> Option<(Settings, i64)> {
    let t = &config.tls;
    if t.acme_directory.is_empty() {
        return None;
    }
    let at = |p: &str| match Path::new(p) {
        p if p.is_absolute() => p.to_path_buf(),
        p => data_dir.join(p),
    };
    let hosts = match t.acme_hosts.is_empty() {
        true => vec![config.server.hostname.to_ascii_lowercase()],
        false => t
            .acme_hosts
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect(),
    };
    let contact = t
        .acme_contact
        .iter()
        .map(|c| match c.starts_with("mailto:") {
            true => c.clone(),
            false => format!("mailto:{c}"),
        });
    let s = Settings {
        directory: t.acme_directory.clone(),
        contact: contact.collect(),
        hosts,
        ca_file: (!t.acme_ca_file.is_empty()).then(|| at(&t.acme_ca_file)),
        account_file: data_dir
            .join(ACCOUNT_DIR)
            .join(account_file_name(&t.acme_directory)),
        challenge: t.acme_challenge,
    };
    Some((s, t.acme_renew_before.0.as_secs() as i64))
}

/// Where ACME accounts (key and URL) are kept, under the data directory.
pub const ACCOUNT_DIR: &str = "tls/acme";

/// One account per directory URL: an account exists only at its CA.
fn account_file_name(directory: &str) -> String {
    let safe: String = directory
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("account-{safe}.json")
}

/// Checks and orders until `stop`; the settings are re-read from `config`
/// each time, and a config change checks at once.
pub async fn renew_every(
    mut config: watch::Receiver<Arc<Config>>,
    data_dir: PathBuf,
    responders: Responders,
    dir: CertDir,
    clock: Arc<dyn Clock>,
    logs: Logs,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let current = settings(&config.borrow_and_update(), &data_dir);
        if let Some((s, renew_before)) = current {
            let until = installed_until(&dir, &s.hosts[0]);
            if due(until, clock.now(), renew_before) {
                let hosts = s.hosts.join(",");
                match obtain(&s, &responders, &dir).await {
                    Ok(name) => logs.mail(&[
                        ("event", "acme-obtained"),
                        ("name", &name),
                        ("hosts", &hosts),
                    ]),
                    Err(e) => {
                        let reason = e.to_string();
                        logs.mail(&[
                            ("event", "acme-failed"),
                            ("hosts", &hosts),
                            ("reason", &reason),
                        ]);
                    }
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(CHECK_EVERY) => {}
            r = config.changed() => if r.is_err() { return },
            _ = stop.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::SniResolver;

    #[test]
    fn renewed_thirty_days_before_the_end_and_when_missing() {
        let day = 86_400;
        let end = 1_000 * day;
        assert!(due(None, 0, RENEW_BEFORE));
        assert!(!due(Some(end), end - 31 * day, RENEW_BEFORE));
        assert!(due(Some(end), end - 30 * day, RENEW_BEFORE));
        assert!(due(Some(end), end + day, RENEW_BEFORE));
    }

    /// An installed certificate for mx.a.test ending at `end` (Unix seconds).
    fn installed(d: &Path, end: i64) -> CertDir {
        let (c, k) = (d.join("tls/cert.pem"), d.join("tls/key.pem"));
        crate::tls::generate_self_signed("mx.a.test", &c, &k).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let mut p = rcgen::CertificateParams::new(vec!["mx.a.test".to_string()]).unwrap();
        p.not_before = time::OffsetDateTime::from_unix_timestamp(end - 90 * 86_400).unwrap();
        p.not_after = time::OffsetDateTime::from_unix_timestamp(end).unwrap();
        let cert = p.self_signed(&key).unwrap();
        let checked = crate::certs::Checked {
            certs: vec![cert.der().clone()],
            key: rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
            hosts: vec!["mx.a.test".into()],
        };
        let dir = CertDir::new(d, c, k);
        dir.install(&checked).unwrap();
        dir
    }

    #[test]
    fn the_servers_clock_crossing_thirty_days_before_the_end_makes_it_due() {
        let d = tempfile::tempdir().unwrap();
        let end = 2_000_000_000;
        let dir = installed(d.path(), end);
        let clock = crate::clock::ManualClock::at(end - 30 * 86_400 - 1);
        let due_at = |clock: &crate::clock::ManualClock| {
            due(
                installed_until(&dir, "mx.a.test"),
                clock.now(),
                RENEW_BEFORE,
            )
        };
        assert_eq!(installed_until(&dir, "mx.a.test"), Some(end));
        assert!(!due_at(&clock), "a second more than 30 days left");
        clock.advance(1);
        assert!(due_at(&clock), "30 days left: renew");
        assert!(due(
            installed_until(&dir, "other.a.test"),
            clock.now(),
            RENEW_BEFORE
        ));
    }

    #[test]
    fn settings_come_from_the_config() {
        let d = std::path::Path::new("/data");
        assert!(settings(&Config::default(), d).is_none());
        let c = Config::parse(
            "[server]\nhostname = \"MX.a.test\"\n[tls]\nacme_directory = \"https://ca.test/dir\"\nacme_contact = [\"pm@a.test\"]\nacme_ca_file = \"ca.pem\"\n",
        )
        .unwrap();
        let (s, before) = settings(&c, d).unwrap();
        assert_eq!(s.hosts, vec!["mx.a.test".to_string()]);
        assert_eq!(s.contact, vec!["mailto:pm@a.test".to_string()]);
        assert_eq!(s.ca_file.unwrap(), d.join("ca.pem"));
        assert_eq!(before, RENEW_BEFORE);
        assert_eq!(
            s.account_file,
            d.join("tls/acme/account-https___ca.test_dir.json")
        );
        assert_eq!(s.challenge, postern_config::AcmeChallenge::TlsAlpn01);
        let http =
            "[tls]\nacme_directory = \"https://ca.test/dir\"\nacme_challenge = \"http-01\"\n";
        let (s, _) = settings(&Config::parse(http).unwrap(), d).unwrap();
        assert_eq!(s.challenge, postern_config::AcmeChallenge::Http01);
        let e = Config::parse("[tls]\nacme_challenge = \"dns-01\"\n").unwrap_err();
        assert!(e.to_string().contains("tls-alpn-01"), "{e}");
    }

    #[tokio::test]
    async fn a_failing_order_keeps_the_served_certificate_and_is_logged() {
        let d = tempfile::tempdir().unwrap();
        let (c, k) = (d.path().join("tls/cert.pem"), d.path().join("tls/key.pem"));
        crate::tls::generate_self_signed("mx.a.test", &c, &k).unwrap();
        let dir = CertDir::new(d.path(), c.clone(), k.clone());
        let (table, _) = dir.load().unwrap();
        let resolver = Arc::new(SniResolver::new(table));
        let before = resolver.table().lookup(Some("mx.a.test")).cert.clone();
        // Nothing listens on the discard port: the directory cannot be read.
        let config = Config::parse(
            "[server]\nhostname = \"mx.a.test\"\n[tls]\nacme_directory = \"https://127.0.0.1:9/dir\"\n",
        )
        .unwrap();
        let (_tx, rx) = watch::channel(Arc::new(config));
        let (stop_tx, stop) = watch::channel(false);
        let logs = Logs::open(d.path(), false).unwrap();
        let clock = Arc::new(crate::clock::ManualClock::at(1_000));
        let dir = CertDir::new(d.path(), c, k);
        let data = d.path().to_path_buf();
        let responders = Responders {
            tls: resolver.clone(),
            http: Default::default(),
        };
        let task = tokio::spawn(renew_every(rx, data, responders, dir, clock, logs, stop));
        let log = d.path().join("logs/mail.log");
        for _ in 0..200 {
            if std::fs::read_to_string(&log)
                .unwrap_or_default()
                .contains("event=acme-failed")
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(std::fs::read_to_string(&log)
            .unwrap()
            .contains("event=acme-failed"));
        assert_eq!(resolver.table().lookup(Some("mx.a.test")).cert, before);
        assert!(!d.path().join("tls/hosts/mx.a.test").exists());
        stop_tx.send(true).unwrap();
        task.await.unwrap();
    }
    /// The loop itself asks the injected clock: a certificate with 31 days
    /// left is kept at the first check; once the clock has moved past the
    /// 30-day mark, the next check orders (here from a CA that is not
    /// there, so the attempt shows as `acme-failed`).
    #[tokio::test(start_paused = true)]
    async fn the_loop_orders_once_the_injected_clock_crosses_the_margin() {
        let d = tempfile::tempdir().unwrap();
        let end = 2_000_000_000;
        let dir = installed(d.path(), end);
        let (table, _) = dir.load().unwrap();
        let responders = Responders {
            tls: Arc::new(SniResolver::new(table)),
            http: Default::default(),
        };
        let config = Config::parse(
            "[server]\nhostname = \"mx.a.test\"\n[tls]\nacme_directory = \"https://127.0.0.1:9/dir\"\n",
        )
        .unwrap();
        let (_tx, rx) = watch::channel(Arc::new(config));
        let (stop_tx, stop) = watch::channel(false);
        let logs = Logs::open(d.path(), false).unwrap();
        let clock = crate::clock::ManualClock::at(end - 31 * 86_400);
        let task = tokio::spawn(renew_every(
            rx,
            d.path().to_path_buf(),
            responders,
            dir,
            Arc::new(clock.clone()),
            logs,
            stop,
        ));
        let log = d.path().join("logs/mail.log");
        let attempted = || {
            std::fs::read_to_string(&log)
                .unwrap_or_default()
                .contains("event=acme-failed")
        };
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert!(!attempted(), "31 days left: not due");
        clock.advance(86_400);
        tokio::time::sleep(CHECK_EVERY).await;
        for _ in 0..200 {
            if attempted() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(attempted(), "30 days left on the server's clock: ordered");
        stop_tx.send(true).unwrap();
        task.await.unwrap();
    }
}
