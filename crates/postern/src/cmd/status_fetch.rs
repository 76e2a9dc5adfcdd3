//! `postern status` asking the running server: `GET /metrics` on its admin
//! listener, as a scraper on this machine does (loopback is in
//! `access.metrics.allow` by default, so no credentials are sent). The
//! certificate is not verified: nothing secret is sent, and the answer is
//! only shown.

use crate::serve::{listening, pidfile};
use postern_config::ADMIN_LISTENER;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long the whole exchange may take before the data directory is read instead.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// The most of an answer read (the metrics are a few kilobytes).
const MAX_ANSWER: u64 = 1 << 20;

/// The running server's pid and its metrics text, or why not.
pub fn fetch(data: &Path) -> Result<(i32, String), String> {
    let pid = pidfile::running_pid(data)?;
    let addr = listening::address_of(data, ADMIN_LISTENER)
        .ok_or_else(|| format!("the server (pid {pid}) has no admin listener"))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    // The timer needs the runtime: made inside it.
    let answer = rt.block_on(async { tokio::time::timeout(FETCH_TIMEOUT, get(addr)).await });
    match answer {
        Ok(Ok(text)) => Ok((pid, text)),
        Ok(Err(e)) => Err(format!(
            "the server (pid {pid}) did not answer on {addr}: {e}"
        )),
        Err(_) => Err(format!(
            "the server (pid {pid}) did not answer on {addr} in time"
        )),
    }
}

async fn get(addr: SocketAddr) -> Result<String, String> {
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let client = postern_net::tls_client::TlsClient::new(None).map_err(|e| e.to_string())?;
    let (mut tls, _) = client
        .connect(tcp, "localhost", false)
        .await
        .map_err(|e| e.to_string())?;
    let request = "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    tls.write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    // A server that closes without close_notify still sent the whole answer.
    let _ = (&mut tls).take(MAX_ANSWER).read_to_end(&mut raw).await;
    body_of(&raw)
}

/// The body of an HTTP/1.1 200 answer with a Content-Length.
fn body_of(raw: &[u8]) -> Result<String, String> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or("an incomplete HTTP answer")?;
    let status = head.lines().next().unwrap_or("");
    if status.split(' ').nth(1) != Some("200") {
        return Err(format!("`{status}`"));
    }
    Ok(body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_200_has_a_body() {
        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\na 1\n";
        assert_eq!(body_of(ok).unwrap(), "a 1\n");
        let no = b"HTTP/1.1 401 Unauthorized\r\n\r\n{}";
        assert!(body_of(no).unwrap_err().contains("401"));
        assert!(body_of(b"HTTP/1.1 200").is_err());
    }
}
