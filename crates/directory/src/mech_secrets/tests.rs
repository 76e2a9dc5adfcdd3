use super::*;
use crate::prelude::*;
use postern_sasl::{cram_md5_secret, digest_md5_secret, nt_hash};
use postern_store::Secret;

const ALICE: &str = "alice@example.org";
const PASSWORD: &str = "Wonderland-7-Tea";

fn store() -> (tempfile::TempDir, Store) {
    let d = tempfile::tempdir().unwrap();
    let s = Store::open(d.path()).unwrap();
    s.domain_add("example.org").unwrap();
    (d, s)
}

fn pw(p: &str) -> Secret<String> {
    Secret::new(p.to_string())
}

fn all() -> SecretSpec {
    SecretSpec {
        mechanisms: Mechanism::ALL.to_vec(),
        apop: true,
        scram_iterations: 4096,
        realm: "mx.test".into(),
    }
}

fn names(s: &Store) -> Vec<String> {
    s.user_mechanisms()
        .unwrap()
        .into_values()
        .next()
        .unwrap_or_default()
}

#[test]
fn default_makes_scram_sha_256_only() {
    let (_d, s) = store();
    s.user_add(ALICE, &pw(PASSWORD), "", 0).unwrap();
    assert_eq!(names(&s), ["SCRAM-SHA-256"]);
    let u = s.sasl_user(ALICE).unwrap().unwrap();
    let keys = u.secrets.scram_sha256.unwrap();
    let again = ScramKeys::derive(keys.hash, PASSWORD, &keys.salt, keys.iterations).unwrap();
    assert_eq!(keys.stored_key.expose(), again.stored_key.expose());
    assert!(u.secrets.cram_md5.is_none() && u.apop.is_none());
}

#[test]
fn enabled_mechanisms_round_trip() {
    let (_d, s) = store();
    s.user_add_with(ALICE, &pw(PASSWORD), "", 0, &all())
        .unwrap();
    assert_eq!(
        names(&s),
        [
            "SCRAM-SHA-256",
            "SCRAM-SHA-1",
            "DIGEST-MD5",
            "CRAM-MD5",
            "NTLM",
            "APOP"
        ]
    );
    let u = s.sasl_user("ALICE@example.org").unwrap().unwrap();
    assert_eq!(u.info.address, ALICE);
    let sec = &u.secrets;
    assert_eq!(
        sec.cram_md5.as_ref().unwrap().expose(),
        cram_md5_secret(PASSWORD).expose()
    );
    let digest = digest_md5_secret(ALICE, "mx.test", PASSWORD);
    assert_eq!(sec.digest_md5.as_ref().unwrap().expose(), digest.expose());
    assert_eq!(
        sec.nt_hash.as_ref().unwrap().expose(),
        nt_hash(PASSWORD).expose()
    );
    assert!(sec.scram_sha1.is_some());
    assert_eq!(u.apop.unwrap().expose(), PASSWORD);
}

#[test]
fn passwd_replaces_and_drops_disabled_mechanisms() {
    let (_d, s) = store();
    s.user_add_with(ALICE, &pw(PASSWORD), "", 0, &all())
        .unwrap();
    s.user_passwd(ALICE, &pw("Another-8-Tea")).unwrap();
    assert_eq!(names(&s), ["SCRAM-SHA-256"]);
    let spec = SecretSpec {
        mechanisms: vec![Mechanism::CramMd5],
        ..SecretSpec::default()
    };
    s.user_passwd_with(ALICE, &pw("Third-9-Tea"), &spec)
        .unwrap();
    assert_eq!(names(&s), ["SCRAM-SHA-256", "CRAM-MD5"]);
    let u = s.sasl_user(ALICE).unwrap().unwrap();
    let cram = u.secrets.cram_md5.unwrap();
    assert_eq!(cram.expose(), cram_md5_secret("Third-9-Tea").expose());
    assert!(matches!(
        s.user_passwd_with("nobody@example.org", &pw("x"), &spec),
        Err(StoreError::NotFound(_))
    ));
}

#[test]
fn nothing_plaintext_on_disk() {
    let (d, s) = store();
    s.user_add_with(ALICE, &pw(PASSWORD), "", 0, &all())
        .unwrap();
    drop(s);
    let nt = nt_hash(PASSWORD).expose().to_vec();
    let cram = cram_md5_secret(PASSWORD).expose().to_vec();
    for entry in std::fs::read_dir(d.path().join("db")).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let find = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
        assert!(!find(PASSWORD.as_bytes()), "the password is on disk");
        assert!(
            !find(&nt) && !find(&cram),
            "a secret is on disk in the clear"
        );
        // The RFC 5803 form with its iteration count: the mechanism name
        // alone is stored as a column, and the random sealed bytes after it
        // may happen to begin with '$'.
        assert!(
            !find(b"SCRAM-SHA-256$4096:"),
            "SCRAM keys are on disk in the clear"
        );
    }
}

#[test]
fn unknown_disabled_and_unopenable_users() {
    let (d, s) = store();
    assert!(s.sasl_user(ALICE).unwrap().is_none());
    s.user_add_with(ALICE, &pw(PASSWORD), "", 0, &all())
        .unwrap();
    s.db_write()
        .execute("UPDATE users SET enabled = 0", [])
        .unwrap();
    assert!(s.sasl_user(ALICE).unwrap().is_none());
    s.db_write()
        .execute("UPDATE users SET enabled = 1", [])
        .unwrap();
    // Another key file: nothing opens, the user has no secrets (PLAIN still works).
    drop(s);
    std::fs::remove_file(postern_store::key_path(d.path())).unwrap();
    let s = Store::open(d.path()).unwrap();
    let u = s.sasl_user(ALICE).unwrap().unwrap();
    assert!(u.secrets.scram_sha256.is_none() && u.apop.is_none());
    assert!(s.authenticate(ALICE, &pw(PASSWORD)).unwrap().is_some());
}

#[test]
fn a_row_moved_to_another_user_does_not_open() {
    let (_d, s) = store();
    let a = s
        .user_add_with(ALICE, &pw(PASSWORD), "", 0, &all())
        .unwrap();
    let b = s
        .user_add("bob@example.org", &pw("Builder-4-Can"), "", 0)
        .unwrap();
    s.db_write()
        .execute(
            "UPDATE user_mech_secrets SET user_id = ?2 WHERE user_id = ?1 AND mechanism = 'NTLM'",
            [a.0, b.0],
        )
        .unwrap();
    let bob = s.sasl_user("bob@example.org").unwrap().unwrap();
    assert!(bob.secrets.nt_hash.is_none());
}

#[test]
fn deleting_the_user_deletes_the_secrets() {
    let (_d, s) = store();
    s.user_add_with(ALICE, &pw(PASSWORD), "", 0, &all())
        .unwrap();
    s.user_del(ALICE).unwrap();
    let n: i64 = s
        .db_write()
        .query_row("SELECT COUNT(*) FROM user_mech_secrets", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0);
}

#[test]
fn server_secret_is_stable() {
    let (d, s) = store();
    let first = s.sasl_server_secret().unwrap();
    drop(s);
    let s = Store::open(d.path()).unwrap();
    assert_eq!(s.sasl_server_secret().unwrap(), first);
}
