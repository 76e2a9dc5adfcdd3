//! clamd as the second engine (issue 17 item 3): the thin driver over
//! postern_av::clamd's INSTREAM protocol, TCP or a unix socket, the whole
//! exchange (connect, send, answer) within `av.clamd_timeout`.

use postern_av::clamd::{chunk_header, parse_reply, Address, Answer, CHUNK, INSTREAM, MAX_REPLY};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// clamd's answer for `raw`; a failure to connect, a timeout or a broken
/// exchange is an [`Answer::Error`].
pub(super) async fn scan(addr: &str, raw: &[u8], timeout: Duration) -> Answer {
    let addr = match Address::parse(addr) {
        Ok(a) => a,
        Err(e) => return Answer::Error(e),
    };
    match tokio::time::timeout(timeout, exchange(&addr, raw)).await {
        Err(_) => Answer::Error(format!("no answer within {timeout:?}")),
        Ok(Err(e)) => Answer::Error(e.to_string()),
        Ok(Ok(answer)) => answer,
    }
}

async fn exchange(addr: &Address, raw: &[u8]) -> std::io::Result<Answer> {
    match addr {
        Address::Tcp(hostport) => talk(tokio::net::TcpStream::connect(hostport).await?, raw).await,
        Address::Unix(path) => talk(tokio::net::UnixStream::connect(path).await?, raw).await,
    }
}

async fn talk<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, raw: &[u8]) -> std::io::Result<Answer> {
    // Over StreamMaxLength clamd answers and closes while we still write:
    // its answer is read even when writing failed.
    let sent = send(&mut s, raw).await;
    let mut reply = Vec::new();
    let mut buf = [0u8; 512];
    while !reply.contains(&0) && reply.len() <= MAX_REPLY {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => reply.extend_from_slice(&buf[..n]),
        }
    }
    match (reply.is_empty(), sent) {
        (false, _) => Ok(parse_reply(&reply)),
        (true, Err(e)) => Err(e),
        (true, Ok(())) => Ok(Answer::Error("clamd closed without an answer".into())),
    }
}

async fn send<S: AsyncWrite + Unpin>(s: &mut S, raw: &[u8]) -> std::io::Result<()> {
    s.write_all(INSTREAM).await?;
    for chunk in raw.chunks(CHUNK) {
        s.write_all(&chunk_header(chunk.len())).await?;
        s.write_all(chunk).await?;
    }
    s.write_all(&chunk_header(0)).await?;
    s.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A fake clamd that reads the whole stream and answers `reply`.
    async fn fake(reply: &'static [u8]) -> (String, tokio::task::JoinHandle<Vec<u8>>) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = format!("tcp://{}", l.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            while !got.ends_with(&[0, 0, 0, 0]) {
                let n = s.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            s.write_all(reply).await.unwrap();
            got
        });
        (addr, task)
    }

    #[tokio::test]
    async fn instream_framing_and_answer() {
        let (addr, task) = fake(b"stream: Test.Sig FOUND\0").await;
        let raw = vec![b'x'; CHUNK + 10];
        let a = scan(&addr, &raw, Duration::from_secs(5)).await;
        assert_eq!(a, Answer::Infected("Test.Sig".into()));
        let got = task.await.unwrap();
        assert!(got.starts_with(b"zINSTREAM\0\0\x01\0\0"));
        let second = 10 + 4 + CHUNK;
        assert_eq!(&got[second..second + 4], &[0, 0, 0, 10]);
        assert_eq!(got.len(), 10 + 4 + CHUNK + 4 + 10 + 4);
    }

    #[tokio::test]
    async fn refused_and_hanging_are_errors() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = format!("tcp://{}", l.local_addr().unwrap());
        drop(l);
        let a = scan(&addr, b"x", Duration::from_secs(5)).await;
        assert!(matches!(a, Answer::Error(_)), "{a:?}");
        // Accepts and never answers: the timeout ends it.
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = format!("tcp://{}", l.local_addr().unwrap());
        let a = scan(&addr, b"x", Duration::from_millis(200)).await;
        assert_eq!(a, Answer::Error("no answer within 200ms".into()));
        drop(l);
    }
}
