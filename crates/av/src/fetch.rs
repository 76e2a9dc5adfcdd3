//! Where `av update` gets databases: a directory (every database file in
//! it), one file, or an `http://` URL — of one database file, or of a
//! mirror directory, from which [`MIRROR_FILES`] are fetched (a missing one
//! is skipped). A minimal HTTP/1.1 GET (RFC 9112) over std's TCP: one
//! request per connection, Content-Length, chunked or close-delimited
//! bodies, each capped at [`MAX_DOWNLOAD`]. `https://` is refused for now
//! (no TLS client in this layer yet): use a directory or plain http.

use crate::database::{self, LoadError};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::Duration;

/// The files a ClamAV mirror directory serves that this engine reads.
pub const MIRROR_FILES: [&str; 2] = ["main.cvd", "daily.cvd"];
/// Largest file downloaded (main.cvd is about 170 MB).
pub const MAX_DOWNLOAD: u64 = 512 << 20;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const IO_TIMEOUT: Duration = Duration::from_secs(60);

type Files = Vec<(String, Vec<u8>)>;

fn err(file: &str, reason: impl Into<String>) -> LoadError {
    LoadError::File {
        file: file.to_string(),
        reason: reason.into(),
    }
}

pub fn fetch(source: &str) -> Result<Files, LoadError> {
    if source.starts_with("https://") {
        return Err(err(
            source,
            "https mirrors are not supported yet: use http:// or a directory",
        ));
    }
    if let Some(rest) = source.strip_prefix("http://") {
        return fetch_http(source, rest);
    }
    let path = Path::new(source);
    let io = |e| LoadError::Io {
        path: source.to_string(),
        source: e,
    };
    if path.is_file() {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        return Ok(vec![(name, std::fs::read(path).map_err(io)?)]);
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(path).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if database::is_database(&name) && !name.starts_with('.') && entry.path().is_file() {
            let bytes = std::fs::read(entry.path()).map_err(io)?;
            out.push((name, bytes));
        }
    }
    out.sort();
    nonempty(source, out)
}

fn nonempty(source: &str, files: Files) -> Result<Files, LoadError> {
    if files.is_empty() {
        return Err(err(source, "no database files there"));
    }
    Ok(files)
}

fn fetch_http(url: &str, rest: &str) -> Result<Files, LoadError> {
    let (hostport, path) = rest.split_once('/').map_or((rest, ""), |(h, p)| (h, p));
    let last = path.rsplit('/').next().unwrap_or("");
    if database::is_database(last) {
        let body =
            get(url, hostport, &format!("/{path}"))?.ok_or_else(|| err(url, "404 Not Found"))?;
        return Ok(vec![(last.to_string(), body)]);
    }
    let base = path.trim_end_matches('/');
    let mut out = Vec::new();
    for name in MIRROR_FILES {
        let p = if base.is_empty() {
            format!("/{name}")
        } else {
            format!("/{base}/{name}")
        };
        if let Some(body) = get(url, hostport, &p)? {
            out.push((name.to_string(), body));
        }
    }
    nonempty(url, out)
}

/// GET `path`; None on 404.
fn get(url: &str, hostport: &str, path: &str) -> Result<Option<Vec<u8>>, LoadError> {
    let fail = |e: std::io::Error| err(url, e.to_string());
    let with_port = if hostport.contains(':') {
        hostport.to_string()
    } else {
        format!("{hostport}:80")
    };
    let addr = with_port
        .to_socket_addrs()
        .map_err(fail)?
        .next()
        .ok_or_else(|| err(url, "no address"))?;
    let mut s = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT).map_err(fail)?;
    s.set_read_timeout(Some(IO_TIMEOUT)).map_err(fail)?;
    s.set_write_timeout(Some(IO_TIMEOUT)).map_err(fail)?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: {hostport}\r\nUser-Agent: postern\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).map_err(fail)?;
    let mut r = BufReader::new(s);
    let status = line(&mut r).map_err(fail)?;
    let code = status.split_whitespace().nth(1).unwrap_or("");
    let (mut length, mut chunked) = (None, false);
    loop {
        let h = line(&mut r).map_err(fail)?;
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':').unwrap_or((&h, ""));
        match k.trim().to_ascii_lowercase().as_str() {
            "content-length" => length = v.trim().parse::<u64>().ok(),
            "transfer-encoding" => chunked = v.to_ascii_lowercase().contains("chunked"),
            _ => {}
        }
    }
    match code {
        "200" => {}
        "404" => return Ok(None),
        _ => {
            return Err(err(
                &format!("{url} ({path})"),
                format!("HTTP {}", status.trim()),
            ))
        }
    }
    let body = if chunked {
        dechunk(&mut r)
    } else {
        capped(&mut r, length)
    }
    .map_err(fail)?;
    Ok(Some(body))
}

fn line(r: &mut impl BufRead) -> std::io::Result<String> {
    let mut buf = Vec::new();
    r.take(8192).read_until(b'\n', &mut buf)?;
    Ok(String::from_utf8_lossy(&buf).trim_end().to_string())
}

fn too_big() -> std::io::Error {
    std::io::Error::other(format!("larger than {MAX_DOWNLOAD} bytes"))
}

fn capped(r: &mut impl Read, length: Option<u64>) -> std::io::Result<Vec<u8>> {
    if length.is_some_and(|n| n > MAX_DOWNLOAD) {
        return Err(too_big());
    }
    let mut out = Vec::new();
    r.take(length.unwrap_or(MAX_DOWNLOAD + 1))
        .read_to_end(&mut out)?;
    if out.len() as u64 > MAX_DOWNLOAD {
        return Err(too_big());
    }
    if length.is_some_and(|n| n != out.len() as u64) {
        return Err(std::io::Error::other(
            "connection closed before the end of the body",
        ));
    }
    Ok(out)
}

/// RFC 9112 §7.1: chunk-size line, data, CRLF; a zero size ends it.
fn dechunk(r: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let size_line = line(r)?;
        let hex = size_line.split(';').next().unwrap_or("").trim();
        let n =
            u64::from_str_radix(hex, 16).map_err(|_| std::io::Error::other("bad chunk size"))?;
        if n == 0 {
            return Ok(out);
        }
        if out.len() as u64 + n > MAX_DOWNLOAD {
            return Err(too_big());
        }
        let start = out.len();
        r.take(n).read_to_end(&mut out)?;
        if (out.len() - start) as u64 != n {
            return Err(std::io::Error::other("truncated chunk"));
        }
        line(r)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// Serves each request from `answer(path)` once per connection.
    fn serve(conns: usize, answer: fn(&str) -> Vec<u8>) -> String {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for s in l.incoming().take(conns) {
                let mut s = s.unwrap();
                let mut r = BufReader::new(s.try_clone().unwrap());
                let req = line(&mut r).unwrap();
                while !line(&mut r).unwrap().is_empty() {}
                let path = req.split_whitespace().nth(1).unwrap().to_string();
                s.write_all(&answer(&path)).unwrap();
            }
        });
        format!("127.0.0.1:{port}")
    }

    #[test]
    fn mirror_directory_over_http() {
        let host = serve(2, |path| match path {
            "/db/main.cvd" => b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nmain".to_vec(),
            "/db/daily.cvd" => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec(),
            _ => b"HTTP/1.1 500 No\r\n\r\n".to_vec(),
        });
        let files = fetch(&format!("http://{host}/db/")).unwrap();
        assert_eq!(files, vec![("main.cvd".to_string(), b"main".to_vec())]);
    }

    #[test]
    fn chunked_single_file_and_errors() {
        let host = serve(1, |_| {
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x\r\nde\r\n0\r\n\r\n".to_vec()
        });
        let files = fetch(&format!("http://{host}/x/local.hdb")).unwrap();
        assert_eq!(files, vec![("local.hdb".to_string(), b"abcde".to_vec())]);
        let host = serve(1, |_| {
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort".to_vec()
        });
        assert!(fetch(&format!("http://{host}/a.hdb")).is_err());
        let host = serve(1, |_| {
            format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
                MAX_DOWNLOAD + 1
            )
            .into_bytes()
        });
        assert!(fetch(&format!("http://{host}/a.hdb"))
            .unwrap_err()
            .to_string()
            .contains("larger than"));
        assert!(fetch("https://db.example/").is_err());
    }
}
