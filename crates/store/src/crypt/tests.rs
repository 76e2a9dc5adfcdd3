use super::convert::{convert_bodies, count_encrypted};
use super::reader::DecryptReader;
use super::stream::{self, Sealer, CHUNK, HEADER_LEN, SEALED_CHUNK};
use super::*;
use std::io::{Cursor, Read, Seek, SeekFrom};

fn keys() -> AtRestKeys {
    AtRestKeys::from_data_key(&Secret::new([7u8; 32]))
}

fn seal(k: &AtRestKeys, plain: &[u8], pieces: usize) -> Vec<u8> {
    let mut s = Sealer::new(k.blobs.expose());
    let mut out = s.header().to_vec();
    for part in plain.chunks(pieces.max(1)) {
        s.update(part, &mut out).unwrap();
    }
    s.finish(&mut out).unwrap();
    out
}

fn open_all(k: &AtRestKeys, file: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut r = DecryptReader::new(Cursor::new(file), k.blobs.expose(), file.len() as u64)?;
    let mut out = Vec::new();
    r.read_to_end(&mut out)?;
    Ok(out)
}

fn sample(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 % 251) as u8).collect()
}

#[test]
fn round_trip_at_every_chunk_edge() {
    let k = keys();
    for n in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + 17] {
        let plain = sample(n);
        for pieces in [1000, CHUNK, 7 * CHUNK] {
            let file = seal(&k, &plain, pieces);
            assert_eq!(stream::plain_len(file.len() as u64), Some(n as u64), "{n}");
            assert_eq!(
                open_all(&k, &file).unwrap(),
                plain,
                "{n} in pieces of {pieces}"
            );
        }
        // A full last chunk stays the last: no empty chunk after it.
        let chunks = (n as u64).div_ceil(CHUNK as u64).max(1);
        assert_eq!(
            seal(&k, &plain, 1000).len() as u64,
            HEADER_LEN + n as u64 + chunks * 16
        );
    }
}

#[test]
fn seek_reads_from_any_position() {
    let k = keys();
    let plain = sample(3 * CHUNK + 500);
    let file = seal(&k, &plain, 4096);
    let mut r =
        DecryptReader::new(Cursor::new(&file), k.blobs.expose(), file.len() as u64).unwrap();
    for at in [
        0,
        5,
        CHUNK - 3,
        CHUNK,
        2 * CHUNK + 9,
        plain.len() - 1,
        plain.len(),
    ] {
        r.seek(SeekFrom::Start(at as u64)).unwrap();
        let mut got = vec![0u8; 10.min(plain.len() - at)];
        r.read_exact(&mut got).unwrap();
        assert_eq!(got, plain[at..at + got.len()], "at {at}");
    }
    assert_eq!(r.seek(SeekFrom::End(-4)).unwrap(), plain.len() as u64 - 4);
    let mut tail = Vec::new();
    r.read_to_end(&mut tail).unwrap();
    assert_eq!(tail, plain[plain.len() - 4..]);
}

#[test]
fn truncation_tampering_and_reordering_are_detected() {
    let k = keys();
    let plain = sample(3 * CHUNK);
    let file = seal(&k, &plain, CHUNK);
    // Truncated at a chunk boundary: the new last chunk was not sealed as last.
    let cut = &file[..(HEADER_LEN + 2 * SEALED_CHUNK) as usize];
    assert!(open_all(&k, cut).is_err());
    // Truncated inside a tag: no well-formed file has that length.
    assert!(open_all(&k, &file[..file.len() - 3]).is_err());
    // One bit flipped in the body, in the header.
    for at in [HEADER_LEN as usize + 100, 10] {
        let mut t = file.clone();
        t[at] ^= 1;
        assert!(open_all(&k, &t).is_err(), "flip at {at}");
    }
    // Two chunks swapped.
    let (h, c) = (HEADER_LEN as usize, SEALED_CHUNK as usize);
    let mut swapped = file[..h].to_vec();
    swapped.extend_from_slice(&file[h + c..h + 2 * c]);
    swapped.extend_from_slice(&file[h..h + c]);
    swapped.extend_from_slice(&file[h + 2 * c..]);
    assert!(open_all(&k, &swapped).is_err());
    // Another key.
    let other = AtRestKeys::from_data_key(&Secret::new([8u8; 32]));
    assert!(open_all(&other, &file).is_err());
    // An empty body's one chunk is still checked.
    let empty = seal(&k, b"", 1);
    assert_eq!(open_all(&k, &empty).unwrap(), b"");
    let mut t = empty.clone();
    t[HEADER_LEN as usize] ^= 1;
    assert!(open_all(&k, &t).is_err());
}

#[test]
fn two_files_of_the_same_body_differ() {
    let k = keys();
    assert_ne!(seal(&k, b"same", 1), seal(&k, b"same", 1));
}

#[test]
fn wrong_passphrase_does_not_unwrap() {
    let (file, key) = KeyFile::create(b"correct horse", Mode::On).unwrap();
    assert_eq!(
        file.unwrap_key(b"correct horse").unwrap().expose(),
        key.expose()
    );
    let e = file.unwrap_key(b"wrong horse").err().unwrap().to_string();
    assert!(e.contains("wrong passphrase"), "{e}");
    let d = tempfile::tempdir().unwrap();
    file.save(d.path()).unwrap();
    let back = KeyFile::load(d.path()).unwrap().unwrap();
    assert_eq!(
        back.unwrap_key(b"correct horse").unwrap().expose(),
        key.expose()
    );
    assert!(!std::fs::read_to_string(keyfile::path(d.path()))
        .unwrap()
        .contains(&keyfile::hex_encode(key.expose())));
}

const MARK: &[u8] = b"Subject: marker-8c1d2f\r\n\r\nbody marker-8c1d2f\r\n";

fn grep(root: &std::path::Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if std::fs::read(&p)
                .unwrap()
                .windows(needle.len())
                .any(|w| w == needle)
            {
                hits.push(p.display().to_string());
            }
        }
    }
    hits
}

/// A store opened with keys writes bodies and rows encrypted, reads them
/// back, and converts both ways.
#[tokio::test]
async fn encrypted_store_round_trip_and_conversion() {
    let d = tempfile::tempdir().unwrap();
    let k = Arc::new(keys());
    let store = crate::Store::open_with_keys(d.path(), Some((k.clone(), Mode::On))).unwrap();
    let mut w = store.create_blob().await.unwrap();
    w.write(MARK).await.unwrap();
    assert_eq!(w.contents().await.unwrap(), MARK);
    let big = sample(2 * CHUNK + 5);
    w.write(&big).await.unwrap();
    let mut want = MARK.to_vec();
    want.extend_from_slice(&big);
    assert_eq!(w.contents().await.unwrap(), want);
    w.rewrite(&[b"X-Added: 1\r\n", MARK]).await.unwrap();
    let blob = w.finish().await.unwrap();
    let mut r = blob.reader().unwrap();
    let mut got = Vec::new();
    r.read_to_end(&mut got).unwrap();
    assert_eq!(got, [&b"X-Added: 1\r\n"[..], MARK].concat());
    assert_eq!(blob.size(), got.len() as u64);
    let path = blob.path.clone();
    drop(blob);
    assert!(!path.exists());
    store.conn().execute("CREATE TABLE t (v TEXT)", []).unwrap();
    store
        .conn()
        .execute("INSERT INTO t VALUES ('marker-8c1d2f')", [])
        .unwrap();
    drop(store);
    assert!(grep(d.path(), b"marker-8c1d2f").is_empty());
    assert!(!db_is_plaintext(&d.path().join("db/postern.db")));

    // Decrypt, then encrypt again: the rows survive both ways.
    convert_db(d.path(), &k, false).unwrap();
    assert!(db_is_plaintext(&d.path().join("db/postern.db")));
    assert!(!grep(d.path(), b"marker-8c1d2f").is_empty());
    convert_db(d.path(), &k, true).unwrap();
    let db = d.path().join("db/postern.db");
    assert_eq!(
        super::db_key::hmac_of(&db, &k),
        NEW_HMAC,
        "converted with the new HMAC"
    );
    let store = crate::Store::open_with_keys(d.path(), Some((k.clone(), Mode::On))).unwrap();
    let v: String = store
        .conn()
        .query_row("SELECT v FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, "marker-8c1d2f");
    drop(store);
    assert!(grep(d.path(), b"marker-8c1d2f").is_empty());
}

#[test]
fn bodies_convert_both_ways_and_leftover_temporaries_go() {
    let d = tempfile::tempdir().unwrap();
    let shard = d.path().join("blobs/ab");
    std::fs::create_dir_all(&shard).unwrap();
    for i in 0..5 {
        std::fs::write(
            shard.join(format!("00{i}ab")),
            [MARK, &sample(i * CHUNK)].concat(),
        )
        .unwrap();
    }
    std::fs::write(shard.join(".000ab.crypt-tmp"), MARK).unwrap();
    // `status` counts beside a running conversion: it removes nothing.
    assert_eq!(count_encrypted(d.path()).unwrap(), (0, 5));
    assert!(shard.join(".000ab.crypt-tmp").exists());
    let k = keys();
    let mut seen = Vec::new();
    convert_bodies(d.path(), &k, true, &mut |n, m| seen.push((n, m))).unwrap();
    assert_eq!(seen.last(), Some(&(5, 5)));
    assert_eq!(count_encrypted(d.path()).unwrap(), (5, 5));
    assert!(
        grep(d.path(), b"marker-8c1d2f").is_empty(),
        "temporary removed too"
    );
    convert_bodies(d.path(), &k, false, &mut |_, _| {}).unwrap();
    assert_eq!(count_encrypted(d.path()).unwrap(), (0, 5));
    for i in 0..5 {
        let got = std::fs::read(shard.join(format!("00{i}ab"))).unwrap();
        assert_eq!(got, [MARK, &sample(i * CHUNK)].concat());
    }
}

/// A plaintext body that begins exactly like an encrypted one (the magic,
/// a nonce prefix, a zero: an IMAP APPEND may store any octets) reads as
/// itself in a plaintext store, is encrypted by `encryption enable`'s
/// conversion instead of being skipped as "already encrypted", and comes
/// back byte for byte after `disable`. Before, the store judged each file by
/// its first octets: the read failed and the body stayed plaintext on disk.
#[tokio::test]
async fn plaintext_body_beginning_with_the_magic_is_not_misread() {
    use crate::BodyFiles;
    let d = tempfile::tempdir().unwrap();
    let body = [&stream::MAGIC[..], &[0u8; 8], MARK].concat();
    let store = crate::Store::open_with_keys(d.path(), None).unwrap();
    let mut w = store.create_blob().await.unwrap();
    w.write(&body).await.unwrap();
    let blob = w.finish().await.unwrap();
    let id = blob.id().clone();
    blob.keep(&d.path().join("blobs"));
    assert_eq!(BodyFiles::read(&store, &id).unwrap().unwrap(), body);
    drop(store);

    let k = Arc::new(keys());
    convert_bodies(d.path(), &k, true, &mut |_, _| {}).unwrap();
    assert!(
        grep(&d.path().join("blobs"), b"marker-8c1d2f").is_empty(),
        "the body was encrypted"
    );
    let store = crate::Store::open_with_keys(d.path(), Some((k.clone(), Mode::On))).unwrap();
    assert_eq!(BodyFiles::read(&store, &id).unwrap().unwrap(), body);
    drop(store);

    convert_bodies(d.path(), &k, false, &mut |_, _| {}).unwrap();
    let store = crate::Store::open_with_keys(d.path(), None).unwrap();
    assert_eq!(BodyFiles::read(&store, &id).unwrap().unwrap(), body);
}

/// With encryption on, every body is encrypted: a file swapped for a
/// plaintext one is refused, not served as the message.
#[tokio::test]
async fn encrypted_store_refuses_a_plaintext_body() {
    use crate::BodyFiles;
    let d = tempfile::tempdir().unwrap();
    let k = Arc::new(keys());
    let store = crate::Store::open_with_keys(d.path(), Some((k.clone(), Mode::On))).unwrap();
    let mut w = store.create_blob().await.unwrap();
    w.write(MARK).await.unwrap();
    let blob = w.finish().await.unwrap();
    let id = blob.id().clone();
    blob.keep(&d.path().join("blobs"));
    assert_eq!(BodyFiles::read(&store, &id).unwrap().unwrap(), MARK);
    std::fs::write(store.blob_path(&id), b"Subject: forged\r\n\r\nforged\r\n").unwrap();
    assert!(BodyFiles::read(&store, &id).is_err());
}

/// A connection keyed with `hmac` reads the database at `path`.
fn reads_with(path: &std::path::Path, k: &AtRestKeys, hmac: &str) -> bool {
    let c = rusqlite::Connection::open(path).unwrap();
    let sql = format!(
        "PRAGMA key = \"x'{}'\"; PRAGMA cipher_hmac_algorithm = {hmac};",
        keyfile::hex_encode(k.db.expose())
    );
    c.execute_batch(&sql).unwrap();
    c.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
        .is_ok()
}

/// A database created encrypted authenticates its pages with HMAC-SHA256
/// (the cheaper MAC: the page HMAC was most of an encrypted IMAP load's
/// extra CPU); one encrypted by an earlier version, with SQLCipher's
/// default HMAC-SHA512, still opens, through the shared connection and
/// the readers alike.
#[test]
fn new_databases_use_hmac_sha256_and_old_sha512_ones_still_open() {
    let k = Arc::new(keys());
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("db/postern.db");
    let store = crate::Store::open_with_keys(d.path(), Some((k.clone(), Mode::On))).unwrap();
    drop(store);
    assert!(reads_with(&db, &k, "HMAC_SHA256"));
    assert!(!reads_with(&db, &k, "HMAC_SHA512"));

    let old = tempfile::tempdir().unwrap();
    let db = old.path().join("db/postern.db");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        let sql = format!(
            "PRAGMA key = \"x'{}'\"; PRAGMA journal_mode = WAL;",
            keyfile::hex_encode(k.db.expose())
        );
        c.execute_batch(&sql).unwrap();
        c.execute_batch("CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('old');")
            .unwrap();
    }
    assert!(reads_with(&db, &k, "HMAC_SHA512"), "SQLCipher's default");
    assert_eq!(super::db_key::hmac_of(&db, &k), OLD_HMAC);
    let store = crate::Store::open_with_keys(old.path(), Some((k.clone(), Mode::On))).unwrap();
    let v: String = store
        .conn()
        .query_row("SELECT v FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, "old");
    let r = store.reader().unwrap();
    let v: String = r.query_row("SELECT v FROM t", [], |r| r.get(0)).unwrap();
    assert_eq!(v, "old");
}

/// On an encrypted store a body kept inline is encrypted with the database,
/// and the file a spill gives it is sealed: never plaintext on disk.
#[tokio::test]
async fn an_inline_body_and_its_spilled_file_stay_encrypted() {
    use crate::api::BodyFiles;
    let d = tempfile::tempdir().unwrap();
    let k = Arc::new(keys());
    let store = crate::Store::open_with_keys(d.path(), Some((k.clone(), Mode::On))).unwrap();
    let a = crate::tests::add_user(&store, "alice@example.org", 0);
    let inbox = store.mailbox(a, "INBOX").unwrap().unwrap();
    let mut w = store.create_blob().await.unwrap();
    w.write(MARK).await.unwrap();
    let blob = w.finish_inline().await.unwrap();
    let id = blob.id().clone();
    store.append(inbox, blob, &[], 1).unwrap();
    // Checkpointed, so nothing is only in the WAL.
    store
        .conn()
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    assert!(grep(d.path(), b"marker-8c1d2f").is_empty());
    assert_eq!(store.spill_inline(crate::ids::now() + 1, 10).unwrap(), 1);
    assert!(store.blob_path(&id).is_file());
    assert!(grep(d.path(), b"marker-8c1d2f").is_empty());
    assert_eq!(BodyFiles::read(&store, &id).unwrap().unwrap(), MARK);
}
