use super::*;
use postern_directory::SecretSpec;
use postern_sasl::client::{self, ScramClient};
use postern_sasl::{OsNonce, ScramHash};

const ALICE: &str = "alice@example.org";
const PASSWORD: &str = "Wonderland-7-Tea";

/// A client scripted as a function of the challenges it sees.
struct Scripted<F> {
    answer: F,
    challenges: Vec<Vec<u8>>,
}

impl<F: FnMut(&[u8]) -> Result<Vec<u8>, &'static str> + Send> SaslIo for Scripted<F> {
    type Abort = &'static str;

    async fn challenge(&mut self, challenge: Vec<u8>) -> Result<Vec<u8>, &'static str> {
        let answer = (self.answer)(&challenge);
        self.challenges.push(challenge);
        answer
    }

    fn blocking<R: Send + 'static>(
        &self,
        job: impl FnOnce() -> R + Send + 'static,
    ) -> impl std::future::Future<Output = Option<R>> + Send + 'static {
        let handle = tokio::task::spawn_blocking(job);
        async move { handle.await.ok() }
    }
}

fn script<F: FnMut(&[u8]) -> Result<Vec<u8>, &'static str> + Send>(answer: F) -> Scripted<F> {
    Scripted {
        answer,
        challenges: Vec::new(),
    }
}

fn store(spec: &SecretSpec) -> (tempfile::TempDir, Store) {
    let d = tempfile::tempdir().unwrap();
    let s = Store::open(d.path()).unwrap();
    s.domain_add("example.org").unwrap();
    s.user_add_with(ALICE, &Secret::new(PASSWORD.into()), "", 0, spec)
        .unwrap();
    (d, s)
}

fn exchange(store: &Store, m: Mechanism) -> ServerExchange {
    let config = server_config(store, "mx.test", "smtp", &Auth::default()).unwrap();
    ServerExchange::new(m, &config, &mut OsNonce)
}

async fn plain(store: &Store, authz: Option<&str>, user: &str, pw: &str) -> Outcome<&'static str> {
    let ir = client::plain(authz, user, pw);
    let mut io = script(|_| Err("no challenge expected"));
    authenticate(&mut io, store, exchange(store, Mechanism::Plain), Some(&ir)).await
}

#[tokio::test]
async fn plain_success_wrong_password_unknown_user_and_authzid() {
    let (_d, s) = store(&SecretSpec::default());
    assert!(
        matches!(plain(&s, None, ALICE, PASSWORD).await, Outcome::Success(u) if u.address == ALICE)
    );
    assert!(matches!(
        plain(&s, Some(ALICE), ALICE, PASSWORD).await,
        Outcome::Success(_)
    ));
    assert!(
        matches!(plain(&s, None, ALICE, "wrong").await, Outcome::Failed { authcid } if authcid == ALICE)
    );
    assert!(matches!(
        plain(&s, None, "nobody@example.org", PASSWORD).await,
        Outcome::Failed { .. }
    ));
    let other = plain(&s, Some("bob@example.org"), ALICE, PASSWORD).await;
    assert!(matches!(other, Outcome::Failed { .. }), "{other:?}");
}

async fn scram(store: &Store, user: &str, pw: &str) -> (Outcome<&'static str>, usize) {
    let mut c = ScramClient::new(ScramHash::Sha256, user, pw, None, "clientnonce").unwrap();
    let first = c.client_first();
    let mut io = script(move |ch| {
        if ch.starts_with(b"v=") {
            c.verify_server_final(ch)
                .map_err(|_| "bad server signature")?;
            Ok(Vec::new())
        } else {
            c.client_final(ch).map_err(|_| "bad server-first")
        }
    });
    let ex = exchange(store, Mechanism::ScramSha256);
    let outcome = authenticate(&mut io, store, ex, Some(&first)).await;
    (outcome, io.challenges.len())
}

#[tokio::test]
async fn scram_sha_256_with_final_data_as_a_challenge() {
    let (_d, s) = store(&SecretSpec::default());
    let (ok, challenges) = scram(&s, ALICE, PASSWORD).await;
    assert!(matches!(ok, Outcome::Success(_)), "{ok:?}");
    assert_eq!(
        challenges, 2,
        "server-first, then server-final as a challenge"
    );
    let (wrong, _) = scram(&s, ALICE, "Wrong-password-1").await;
    assert!(matches!(wrong, Outcome::Failed { .. }), "{wrong:?}");
    let (unknown, _) = scram(&s, "nobody@example.org", PASSWORD).await;
    assert!(matches!(unknown, Outcome::Failed { .. }), "{unknown:?}");
}

async fn cram(store: &Store) -> Outcome<&'static str> {
    let mut io = script(|ch| Ok(client::cram_md5(ALICE, PASSWORD, ch)));
    authenticate(&mut io, store, exchange(store, Mechanism::CramMd5), None).await
}

#[tokio::test]
async fn cram_md5_needs_its_secret() {
    let (_d, s) = store(&SecretSpec::default());
    assert!(matches!(cram(&s).await, Outcome::Failed { .. }));
    let spec = SecretSpec {
        mechanisms: vec![Mechanism::CramMd5],
        ..SecretSpec::default()
    };
    s.user_passwd_with(ALICE, &Secret::new(PASSWORD.into()), &spec)
        .unwrap();
    assert!(matches!(cram(&s).await, Outcome::Success(_)));
}

#[tokio::test]
async fn aborts_and_syntax_errors_are_not_failed_logins() {
    let (_d, s) = store(&SecretSpec::default());
    let mut io = script(|_| Err("cancelled"));
    let ex = exchange(&s, Mechanism::Login);
    assert!(matches!(
        authenticate(&mut io, &s, ex, None).await,
        Outcome::Aborted("cancelled")
    ));
    let mut io = script(|_| Err("unused"));
    let ex = exchange(&s, Mechanism::Plain);
    let bad = authenticate(&mut io, &s, ex, Some(b"no nul bytes")).await;
    assert!(matches!(bad, Outcome::Malformed(_)), "{bad:?}");
}

#[tokio::test]
async fn apop_checks_the_kept_password() {
    let stamp = "<1.2@mx.test>";
    let digest = client::apop(stamp, PASSWORD);
    let io = script(|_| Err("unused"));
    let (_d, s) = store(&SecretSpec::default());
    assert!(matches!(
        apop(&io, &s, stamp, ALICE, &digest).await,
        Outcome::Failed { .. }
    ));
    let spec = SecretSpec {
        apop: true,
        ..SecretSpec::default()
    };
    s.user_passwd_with(ALICE, &Secret::new(PASSWORD.into()), &spec)
        .unwrap();
    assert!(matches!(
        apop(&io, &s, stamp, ALICE, &digest).await,
        Outcome::Success(_)
    ));
    let wrong = client::apop(stamp, "Wrong-password-1");
    assert!(matches!(
        apop(&io, &s, stamp, ALICE, &wrong).await,
        Outcome::Failed { .. }
    ));
    assert!(matches!(
        apop(&io, &s, stamp, "nobody@example.org", &digest).await,
        Outcome::Failed { .. }
    ));
}

#[test]
fn plaintext_mechanisms_only_where_the_policy_allows() {
    use crate::policy::Gate;
    let mut auth = Auth::default();
    assert_eq!(
        offered(&auth, Gate::NoPlaintextAuth),
        [Mechanism::ScramSha256]
    );
    assert_eq!(
        offered(&auth, Gate::Open),
        [Mechanism::ScramSha256, Mechanism::Plain, Mechanism::Login]
    );
    assert!(offered(&auth, Gate::TlsOnly).is_empty());
    auth.mechanisms = vec!["cram-md5".into()];
    assert_eq!(offered(&auth, Gate::NoPlaintextAuth), [Mechanism::CramMd5]);
}
