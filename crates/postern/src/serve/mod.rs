//! `postern serve`: load config, open the store, bind every listener, serve
//! until SIGINT/SIGTERM, then stop accepting and let sessions finish.

mod accept;
pub(crate) mod archive;
mod attachment_rules;
mod av;
mod backup;
mod counters;
pub(crate) mod dmarc_reports;
pub(crate) mod listening;
pub mod pidfile;
pub(crate) mod prepare;
mod reload;
mod services;
mod spam;
mod spam_rules;

use postern_config::{Config, Listen};
use postern_smtp::Context;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// How long sessions and deliveries in flight get to finish after a
/// shutdown signal (one deadline for all of them).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// How long past that deadline we wait for the scheduler to log the runs it
/// abandoned and return (it stops them itself at the deadline).
const SCHEDULER_SLACK: Duration = Duration::from_secs(1);

/// Runs the server until SIGINT/SIGTERM. `overrides` are `--listen NAME=ADDR:PORT|off`
/// pairs already split at '='. Creates the data directory, config and a
/// self-signed certificate when missing. Errors are printed by the caller.
pub fn run(data_dir: &Path, overrides: &[(String, String)]) -> Result<(), String> {
    // The key first: a wrong passphrase must stop us before anything is touched.
    let keys = unlock(data_dir)?;
    prepare::ensure_data_dir(data_dir)?;
    let mut config = Config::load(data_dir).map_err(|e| e.to_string())?;
    for (name, value) in overrides {
        config
            .listeners
            .0
            .insert(name.clone(), Listen::One(value.clone()));
    }
    config.validate()?;
    return_large_allocations();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start runtime: {e}"))?;
    runtime.block_on(serve(data_dir, keys, config, overrides.to_vec()))
}

type Keys = Option<(
    Arc<postern_store::crypt::AtRestKeys>,
    postern_store::crypt::Mode,
)>;

/// The store's keys when it is encrypted (SPEC X9); refuses a store whose
/// conversion was interrupted, and a wrong passphrase or key file.
fn unlock(data_dir: &Path) -> Result<Keys, String> {
    use postern_store::crypt::{self, KeyFile, Mode};
    let refuse = |e: postern_store::StoreError| format!("cannot open the encrypted store: {e}");
    match KeyFile::load(data_dir).map_err(refuse)?.map(|f| f.mode) {
        Some(Mode::Enabling) => Err("an `encryption enable` was interrupted: run it again to \
             finish before serving"
            .into()),
        Some(Mode::Disabling) => Err("an `encryption disable` was interrupted: run it again to \
             finish before serving"
            .into()),
        _ => crypt::unlock(data_dir).map_err(refuse),
    }
}

async fn serve(
    data_dir: &Path,
    keys: Keys,
    config: Config,
    overrides: Vec<(String, String)>,
) -> Result<(), String> {
    let store = postern_store::Store::open_with_keys(data_dir, keys).map_err(|e| e.to_string())?;
    let (placed, removed) = store.recover().map_err(|e| format!("recovery: {e}"))?;
    let wake_queue = store.queue_wakeup();
    if placed + removed > 0 {
        eprintln!("postern: recovery placed {placed} committed bodies and removed {removed} unacknowledged ones");
    }
    let clock: Arc<dyn postern_net::clock::Clock> = Arc::new(postern_net::clock::SystemClock);
    let logs = postern_logs::Logs::open(data_dir, config.log.json)
        .map_err(|e| {
            format!(
                "cannot open logs in {}: {e}",
                data_dir.join("logs").display()
            )
        })?
        .with_limit_context(Arc::new(postern_net::security::LogLimitContext(
            clock.clone(),
        )));
    let (tls, cert_watch) = prepare::tls(data_dir, &config)?;
    // Each protocol's acceptor takes only its own ALPN ID (ALPACA).
    let alpn = |p| tls.as_ref().map(|t| postern_net::tls::with_alpn(t, p));
    use postern_net::cross_protocol::MailProtocol;
    let (config_tx, config_rx) = tokio::sync::watch::channel(Arc::new(config.clone()));
    let security = postern_net::security::Security::new(
        store.clone(),
        logs.clone(),
        config_rx.clone(),
        clock.clone(),
    )
    .await
    .map_err(|e| format!("cannot read IP groups and blocks: {e}"))?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let acme_http01 = cert_watch.http01.clone();
    cert_watch.spawn(
        data_dir,
        config_rx.clone(),
        clock.clone(),
        logs.clone(),
        stop_rx.clone(),
    );
    let pop3 = Arc::new(postern_pop3::Context {
        store: Arc::new(store.clone()),
        directory: store.clone(),
        logs: logs.clone(),
        config: config_rx.clone(),
        tls: alpn(MailProtocol::Pop3),
        shutdown: stop_rx.clone(),
        idle_timeout: postern_pop3::IDLE_TIMEOUT,
        locks: postern_pop3::Locks::default(),
    });
    let imap = Arc::new(postern_imap::Context::new(
        store.clone(),
        logs.clone(),
        config_rx.clone(),
        alpn(MailProtocol::Imap),
        stop_rx.clone(),
    ));
    // One resolver (and one DNS cache) for delivery and message authentication.
    let resolver = postern_net::dns::SharedResolver::default();
    let outbound = postern_queue::Outbound::new(
        store.clone(),
        logs.clone(),
        config_rx.clone(),
        Arc::new(postern_queue::clock::SystemClock),
        data_dir.to_path_buf(),
    )
    .with_resolver(resolver.clone());
    let (model, trained) =
        spam::initial(&store).map_err(|e| format!("cannot read the spam model: {e}"))?;
    let (spam_tx, spam_rx) = tokio::sync::watch::channel(Arc::new(model));
    tokio::spawn(spam::watch_model(
        store.clone(),
        spam_tx,
        trained,
        stop_rx.clone(),
    ));
    let counter_store = store.clone();
    let tally = Arc::new(postern_store::counters::Tally::default());
    tokio::spawn(counters::flush_every(
        store.clone(),
        tally.clone(),
        stop_rx.clone(),
    ));
    let (rules, generation) =
        spam_rules::initial(&store).map_err(|e| format!("cannot read the spam rules: {e}"))?;
    let (rules_tx, rules_rx) = tokio::sync::watch::channel(rules);
    tokio::spawn(spam_rules::watch_rules(
        store.clone(),
        rules_tx,
        generation,
        stop_rx.clone(),
    ));
    let (admin_store, admin_config) = (store.clone(), config_rx.clone());
    let webmail_store = store.clone();
    tokio::spawn(dmarc_reports::send_every(
        store.clone(),
        resolver.clone(),
        logs.clone(),
        config_rx.clone(),
        Arc::new(postern_net::clock::SystemClock),
        stop_rx.clone(),
    ));
    tokio::spawn(backup::backup_on_schedule(
        store.clone(),
        data_dir.to_path_buf(),
        logs.clone(),
        config_rx.clone(),
        Arc::new(postern_net::clock::SystemClock),
        stop_rx.clone(),
    ));
    tokio::spawn(archive::purge_every(
        store.clone(),
        logs.clone(),
        config_rx.clone(),
        Arc::new(postern_net::clock::SystemClock),
        archive::PURGE_EVERY,
        stop_rx.clone(),
    ));
    let (attachment_rules, generation) = attachment_rules::initial(&store)
        .map_err(|e| format!("cannot read the attachment rules: {e}"))?;
    let (attachments_tx, attachments_rx) = tokio::sync::watch::channel(attachment_rules);
    tokio::spawn(attachment_rules::watch_rules(
        store.clone(),
        attachments_tx,
        generation,
        stop_rx.clone(),
    ));
    let av = av::initial(data_dir, &logs);
    tokio::spawn(av::watch_dir(av.clone(), logs.clone(), stop_rx.clone()));
    tokio::spawn(av::update_every(
        av.clone(),
        logs.clone(),
        config_rx.clone(),
        stop_rx.clone(),
    ));
    let smtp = Arc::new(Context {
        store: Arc::new(store.clone()),
        directory: store,
        logs: logs.clone(),
        config: config_rx,
        tls: alpn(MailProtocol::Smtp),
        shutdown: stop_rx.clone(),
        limits: Default::default(),
        resolver,
        spam: spam_rx,
        clock: clock.clone(),
        counters: tally.clone(),
        spam_rules: rules_rx,
        av,
        attachment_rules: attachments_rx,
    });
    let webmail = Arc::new(postern_webmail::Webmail {
        store: webmail_store.clone(),
        mail: Arc::new(webmail_store),
        config: admin_config.clone(),
        clock: clock.clone(),
        logs: logs.clone(),
        shutdown: stop_rx.clone(),
        https_port: Default::default(),
        smtp: smtp.clone(),
        secret_spec: crate::cmd::user::spec,
        acme_http01,
    });
    let admin = Arc::new(postern_http::Admin {
        store: admin_store,
        data_dir: data_dir.to_path_buf(),
        config: admin_config,
        clock: clock.clone(),
        started: std::time::Instant::now(),
        listeners: Default::default(),
        secret_spec: crate::cmd::user::spec,
        shutdown: stop_rx.clone(),
    });
    let shared = services::Shared {
        smtp,
        pop3,
        imap,
        admin: admin.clone(),
        webmail: webmail.clone(),
    };
    let listeners = accept::bind_all(&config, |name| services::service(name, &shared)).await?;
    // Signal handlers first: a SIGTERM right after `ready` must stop us cleanly.
    let signals = Signals::install().map_err(|e| format!("cannot install signal handlers: {e}"))?;
    let hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    let usr1 = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1())
        .map_err(|e| format!("cannot install the SIGUSR1 handler: {e}"))?;
    tokio::spawn(queue_nudges(usr1, wake_queue, logs.clone()));
    let config_state = reload::modified(&postern_config::path_in(data_dir));
    let _pid = pidfile::PidFile::create(data_dir)?;
    let _listening = listening::ListeningFile::create(data_dir, &accept::addresses(&listeners))?;
    accept::announce(&listeners);
    let _ = admin.listeners.set(accept::addresses(&listeners));
    if let Some(b) = listeners
        .iter()
        .find(|b| b.name == postern_config::HTTPS_LISTENER)
    {
        let _ = webmail
            .https_port
            .set(b.listener.local_addr().map_or(443, |a| a.port()));
    }
    let sessions = accept::Sessions::default();
    for bound in listeners {
        let tls = match bound.name {
            postern_config::ADMIN_LISTENER | postern_config::HTTPS_LISTENER => {
                tls.as_ref().map(postern_http::tls_acceptor)
            }
            name => alpn(services::protocol(name)),
        };
        tokio::spawn(accept::accept_loop(
            bound,
            tls,
            stop_rx.clone(),
            sessions.clone(),
            security.clone(),
        ));
    }
    tokio::spawn(security.refresh_every(stop_rx.clone()));
    // POP3 download (issue 21 item 5) through the SMTP context's local delivery.
    let fetcher = crate::fetch::Fetcher {
        store: shared.smtp.directory.clone(),
        smtp: shared.smtp.clone(),
        config: shared.smtp.config.clone(),
        clock: clock.clone(),
        logs: logs.clone(),
        shutdown: stop_rx.clone(),
    };
    let fetching = tokio::spawn(crate::fetch::schedule::run(Arc::new(fetcher)));
    // After recovery (above) and once listening: queued mail starts moving.
    let (drain_tx, drain_rx) = tokio::sync::watch::channel(None);
    let outbound = tokio::spawn(outbound.run(drain_rx));
    tokio::spawn(reload::watch_config(
        data_dir.to_path_buf(),
        overrides,
        config_tx,
        hup,
        config_state,
    ));
    signals.wait().await;
    eprintln!("postern: shutting down");
    let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
    let _ = stop_tx.send(true);
    let _ = drain_tx.send(Some(deadline));
    // Deliveries in flight record their results before the runtime goes.
    let scheduler = tokio::time::timeout_at(deadline + SCHEDULER_SLACK, outbound);
    // A POP3 download in flight records the message in hand (fetch/schedule.rs).
    let fetching = tokio::time::timeout_at(deadline, fetching);
    let _ = tokio::join!(sessions.wait_idle(deadline), scheduler, fetching);
    counters::flush(&counter_store, &tally).await;
    logs.flush_suppressed(true);
    Ok(())
}

/// SIGUSR1 (sent by `postern queue retry|release`): the scheduler looks at
/// the queue now instead of at its next once-a-second look.
async fn queue_nudges(
    mut usr1: tokio::signal::unix::Signal,
    wake: std::sync::Arc<tokio::sync::Notify>,
    logs: postern_logs::Logs,
) {
    while usr1.recv().await.is_some() {
        logs.mail(&[("event", "queue-run-requested")]);
        wake.notify_one();
    }
}

/// Argon2 takes a 19 MiB block per login; glibc keeps freed blocks of that
/// size in its arenas, so ten concurrent logins left ~380 MiB resident for
/// good (issue 3 benchmark). Blocks of 1 MiB and more are mapped and unmapped
/// instead, which gives the memory back after each login.
fn return_large_allocations() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes an allocator tunable; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

/// SIGTERM and SIGINT, installed before the server says it is ready.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> std::io::Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    async fn wait(mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
    }
}
