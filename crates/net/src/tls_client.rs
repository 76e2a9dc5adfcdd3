//! TLS as a client, for outbound SMTP. Opportunistic by default (RFC 7435):
//! a certificate that does not verify still encrypts, and the caller learns
//! whether it verified (for the log and for policies that require it).
//! Trust anchors: the system's store plus an optional PEM file of extra CAs.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{Resumption, WebPkiServerVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{}: {reason}", path.display())]
    CaFile { path: PathBuf, reason: String },
    #[error("`{0}` is not a valid TLS server name")]
    Name(String),
    /// The handshake failed; with verification required this includes an
    /// unverifiable certificate ("invalid peer certificate: UnknownIssuer").
    #[error("TLS handshake: {0}")]
    Handshake(std::io::Error),
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// What a handshake established, for the log and for policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsInfo {
    /// "TLSv1.3"
    pub version: String,
    /// "TLS13_AES_256_GCM_SHA384"
    pub cipher: String,
    /// The chain led to a trust anchor and named the server.
    pub verified: bool,
}

/// Client TLS settings shared by every outbound connection.
#[derive(Debug)]
pub struct TlsClient {
    /// None when there is no trust anchor at all: then nothing verifies.
    webpki: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
}

impl TlsClient {
    /// Trust anchors: the system's (an empty or missing store is not an
    /// error: opportunistic TLS works without it) plus the PEM certificates
    /// in `extra_ca`, which must hold at least one.
    pub fn new(extra_ca: Option<&Path>) -> Result<TlsClient, TlsError> {
        let mut roots = RootCertStore::empty();
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        if let Some(path) = extra_ca {
            for cert in load_pem_certs(path)? {
                roots.add(cert).map_err(|e| ca_error(path, e.to_string()))?;
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let webpki = match roots.is_empty() {
            true => None,
            false => Some(
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .map_err(|e| TlsError::Config(rustls::Error::General(e.to_string())))?,
            ),
        };
        Ok(TlsClient { webpki, provider })
    }

    /// Handshakes over `stream` for `server_name` (a host name, with or
    /// without the DNS root dot, or an IP address). With `require_verified`
    /// an unverifiable certificate fails the handshake; without, the
    /// connection proceeds and [`TlsInfo::verified`] tells.
    pub async fn connect<S>(
        &self,
        stream: S,
        server_name: &str,
        require_verified: bool,
    ) -> Result<(TlsStream<S>, TlsInfo), TlsError>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let trimmed = server_name.strip_suffix('.').unwrap_or(server_name);
        let name = ServerName::try_from(trimmed.to_string())
            .map_err(|_| TlsError::Name(server_name.into()))?;
        // A fresh config per connection keeps the verdict this connection's own.
        let verdict = Arc::new(AtomicBool::new(false));
        let config = self.config(verdict.clone(), require_verified)?;
        let stream = TlsConnector::from(config)
            .connect(name, stream)
            .await
            .map_err(TlsError::Handshake)?;
        let info = describe(&stream, verdict.load(Ordering::SeqCst));
        Ok((stream, info))
    }

    fn config(
        &self,
        verdict: Arc<AtomicBool>,
        require: bool,
    ) -> Result<Arc<rustls::ClientConfig>, TlsError> {
        let verifier = Arc::new(Recording {
            inner: self.webpki.clone(),
            provider: self.provider.clone(),
            verdict,
            require,
        });
        let mut config = rustls::ClientConfig::builder_with_provider(self.provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        // A resumed session skips certificate verification, so it would
        // report "unverified" for a server that verified the first time.
        config.resumption = Resumption::disabled();
        Ok(Arc::new(config))
    }
}

fn describe<S>(stream: &TlsStream<S>, verified: bool) -> TlsInfo {
    let (_, conn) = stream.get_ref();
    TlsInfo {
        version: conn
            .protocol_version()
            .and_then(|v| v.as_str())
            .unwrap_or("TLS")
            .replace('_', "."),
        cipher: conn
            .negotiated_cipher_suite()
            .map(|c| format!("{:?}", c.suite()))
            .unwrap_or_default(),
        verified,
    }
}

fn ca_error(path: &Path, reason: String) -> TlsError {
    TlsError::CaFile {
        path: path.to_path_buf(),
        reason,
    }
}

fn load_pem_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = std::fs::read(path).map_err(|e| ca_error(path, e.to_string()))?;
    let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|e| ca_error(path, e.to_string()))?;
    if certs.is_empty() {
        return Err(ca_error(path, "no PEM certificate in it".into()));
    }
    Ok(certs)
}

/// Checks the chain with webpki, records the verdict, and lets an
/// unverified server through unless verification is required (RFC 7435).
/// Handshake signatures are always checked: the peer must own the key of
/// the certificate it shows, verified or not.
#[derive(Debug)]
struct Recording {
    inner: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
    verdict: Arc<AtomicBool>,
    require: bool,
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let checked = match &self.inner {
            Some(v) => v.verify_server_cert(end_entity, intermediates, server_name, ocsp, now),
            None => Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            )),
        };
        match checked {
            Ok(v) => {
                self.verdict.store(true, Ordering::SeqCst);
                Ok(v)
            }
            Err(e) if self.require => Err(e),
            Err(_) => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    /// A TLS server (crate::tls, self-signed for `name`) that greets and closes.
    async fn server(dir: &Path, name: &str) -> std::net::SocketAddr {
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        crate::tls::generate_self_signed(name, &cert, &key).unwrap();
        let acceptor = crate::tls::acceptor(&cert, &key).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let a = acceptor.clone();
                tokio::spawn(async move {
                    if let Ok(mut s) = a.accept(tcp).await {
                        let _ = s.write_all(b"hello").await;
                        let _ = s.shutdown().await;
                    }
                });
            }
        });
        addr
    }

    async fn hello(mut s: TlsStream<TcpStream>) -> Vec<u8> {
        let mut got = Vec::new();
        let _ = s.read_to_end(&mut got).await;
        got
    }

    #[tokio::test]
    async fn opportunistic_proceeds_unverified() {
        let dir = tempfile::tempdir().unwrap();
        let addr = server(dir.path(), "mx.test.example").await;
        let client = TlsClient::new(None).unwrap();
        let tcp = TcpStream::connect(addr).await.unwrap();
        let (s, info) = client.connect(tcp, "mx.test.example", false).await.unwrap();
        assert!(!info.verified, "a self-signed certificate does not verify");
        assert!(info.version.starts_with("TLSv1."), "{info:?}");
        assert!(!info.cipher.is_empty(), "{info:?}");
        assert_eq!(hello(s).await, b"hello", "the stream carries data");
    }

    #[tokio::test]
    async fn required_verification_fails_without_the_ca() {
        let dir = tempfile::tempdir().unwrap();
        let addr = server(dir.path(), "mx.test.example").await;
        let client = TlsClient::new(None).unwrap();
        let tcp = TcpStream::connect(addr).await.unwrap();
        let err = client
            .connect(tcp, "mx.test.example", true)
            .await
            .unwrap_err();
        assert!(matches!(err, TlsError::Handshake(_)), "{err}");
        assert!(err.to_string().contains("certificate"), "{err}");
    }

    #[tokio::test]
    async fn extra_ca_verifies_the_right_name_only() {
        let dir = tempfile::tempdir().unwrap();
        let addr = server(dir.path(), "mx.test.example").await;
        let trusting = TlsClient::new(Some(&dir.path().join("cert.pem"))).unwrap();
        let tcp = || TcpStream::connect(addr);
        let (s, info) = trusting
            .connect(tcp().await.unwrap(), "mx.test.example", true)
            .await
            .unwrap();
        assert!(info.verified);
        assert_eq!(hello(s).await, b"hello");
        // The name as DNS gives it, with the root dot.
        let (_, info) = trusting
            .connect(tcp().await.unwrap(), "mx.test.example.", true)
            .await
            .unwrap();
        assert!(info.verified);
        let (_, info) = trusting
            .connect(tcp().await.unwrap(), "other.example", false)
            .await
            .unwrap();
        assert!(!info.verified, "the name must match");
        assert!(trusting
            .connect(tcp().await.unwrap(), "other.example", true)
            .await
            .is_err());
    }

    #[tokio::test]
    async fn verdicts_are_per_connection() {
        let dir = tempfile::tempdir().unwrap();
        let addr = server(dir.path(), "mx.test.example").await;
        let trusting = TlsClient::new(Some(&dir.path().join("cert.pem"))).unwrap();
        let tcp = || TcpStream::connect(addr);
        let (a, b) = tokio::join!(
            async {
                trusting
                    .connect(tcp().await.unwrap(), "mx.test.example", false)
                    .await
            },
            async {
                trusting
                    .connect(tcp().await.unwrap(), "wrong.example", false)
                    .await
            },
        );
        assert!(a.unwrap().1.verified);
        assert!(!b.unwrap().1.verified);
    }

    #[tokio::test]
    async fn ip_address_names() {
        let dir = tempfile::tempdir().unwrap();
        let addr = server(dir.path(), "127.0.0.1").await;
        let trusting = TlsClient::new(Some(&dir.path().join("cert.pem"))).unwrap();
        let tcp = TcpStream::connect(addr).await.unwrap();
        let (_, info) = trusting.connect(tcp, "127.0.0.1", true).await.unwrap();
        assert!(info.verified);
    }

    #[tokio::test]
    async fn bad_names_are_refused_before_the_handshake() {
        let dir = tempfile::tempdir().unwrap();
        let addr = server(dir.path(), "mx.test.example").await;
        let client = TlsClient::new(None).unwrap();
        let tcp = TcpStream::connect(addr).await.unwrap();
        let err = client.connect(tcp, "bad name!", false).await.unwrap_err();
        assert!(matches!(err, TlsError::Name(_)), "{err}");
    }

    #[test]
    fn bad_ca_files_are_explained() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "nothing").unwrap();
        let err = TlsClient::new(Some(&empty)).unwrap_err();
        assert!(err.to_string().contains("empty.pem"), "{err}");
        let err = TlsClient::new(Some(&dir.path().join("missing.pem"))).unwrap_err();
        assert!(err.to_string().contains("missing.pem"), "{err}");
    }
}
