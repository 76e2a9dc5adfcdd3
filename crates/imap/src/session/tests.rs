//! Session tests over in-memory streams.

#[test]
fn codec_parses_list() {
    use imap_codec::decode::Decoder;
    for c in [
        &b"a LIST \"\" *\r\n"[..],
        b"a LIST \"\" \"*\"\r\n",
        b"a LIST \"\" %\r\n",
    ] {
        let r = imap_codec::CommandCodec::default().decode(c);
        assert!(r.is_ok(), "{:?} {:?}", String::from_utf8_lossy(c), r);
    }
}

use super::{Context, Session};
use postern_net::MaybeTls;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn context(dir: &std::path::Path) -> (Arc<Context>, tokio::sync::watch::Sender<bool>) {
    context_with(dir, postern_config::Config::default())
}

fn context_with(
    dir: &std::path::Path,
    config: postern_config::Config,
) -> (Arc<Context>, tokio::sync::watch::Sender<bool>) {
    let store = postern_store::Store::open(dir).unwrap();
    let logs = postern_logs::Logs::open(dir, false).unwrap();
    let (_cfg_tx, cfg) = tokio::sync::watch::channel(Arc::new(config));
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    (
        Arc::new(Context::new(store, logs, cfg, None, stop)),
        stop_tx,
    )
}

async fn read_some(client: &mut tokio::io::DuplexStream) -> String {
    let mut buf = vec![0u8; 4096];
    let n = client.read(&mut buf).await.unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// RFC 3501 §5.4: an idle client is logged out after 30 minutes, not before
/// (the login timeout, which applies first, raised out of the way).
#[tokio::test(start_paused = true)]
async fn idle_client_is_logged_out_after_thirty_minutes() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = postern_config::Config::default();
    config.imap.login_timeout.0 = crate::IDLE_TIMEOUT * 2;
    let (ctx, _stop) = context_with(dir.path(), config);
    let (mut client, server) = tokio::io::duplex(1 << 16);
    let peer = "127.0.0.1:1".parse().unwrap();
    let task = tokio::spawn(Session::new(ctx, MaybeTls::Plain(server), peer).run());
    assert!(read_some(&mut client)
        .await
        .starts_with("* OK [CAPABILITY IMAP4rev1"));
    tokio::time::sleep(crate::IDLE_TIMEOUT - std::time::Duration::from_secs(1)).await;
    client.write_all(b"a NOOP\r\n").await.unwrap();
    assert_eq!(read_some(&mut client).await, "a OK NOOP completed\r\n");
    tokio::time::sleep(crate::IDLE_TIMEOUT + std::time::Duration::from_secs(1)).await;
    assert!(read_some(&mut client).await.starts_with("* BYE Autologout"));
    task.await.unwrap();
}

/// Before login `imap.login_timeout` (a minute by default) applies, not the
/// 30-minute autologout: a connection cannot be held for free.
#[tokio::test(start_paused = true)]
async fn connection_without_login_is_closed_after_the_login_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let (ctx, _stop) = context(dir.path());
    let limit = postern_config::Imap::default().login_timeout.0;
    assert_eq!(limit, std::time::Duration::from_secs(60));
    let (mut client, server) = tokio::io::duplex(1 << 16);
    let peer = "127.0.0.1:1".parse().unwrap();
    let task = tokio::spawn(Session::new(ctx, MaybeTls::Plain(server), peer).run());
    read_some(&mut client).await;
    tokio::time::sleep(limit - std::time::Duration::from_secs(1)).await;
    client.write_all(b"a NOOP\r\n").await.unwrap();
    assert_eq!(read_some(&mut client).await, "a OK NOOP completed\r\n");
    tokio::time::sleep(limit + std::time::Duration::from_secs(1)).await;
    assert_eq!(
        read_some(&mut client).await,
        "* BYE Autologout; no login in time\r\n"
    );
    task.await.unwrap();
}

#[tokio::test]
async fn shutdown_says_bye() {
    let dir = tempfile::tempdir().unwrap();
    let (ctx, stop) = context(dir.path());
    let (mut client, server) = tokio::io::duplex(1 << 16);
    let task = tokio::spawn(
        Session::new(ctx, MaybeTls::Plain(server), "127.0.0.1:1".parse().unwrap()).run(),
    );
    read_some(&mut client).await;
    stop.send(true).unwrap();
    assert!(read_some(&mut client)
        .await
        .starts_with("* BYE Server shutting down"));
    task.await.unwrap();
}
