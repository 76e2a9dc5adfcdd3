//! Search evaluation against a small mailbox held in memory.

use super::*;
use imap_codec::decode::Decoder;
use imap_codec::imap_types::command::CommandBody;
use imap_codec::imap_types::core::Vec1;
use imap_codec::CommandCodec;
use postern_store::BlobId;
use std::cell::Cell;

/// (uid, flags, internal date, raw message)
const MAILBOX: [(u32, &str, i64, &str); 4] = [
    (
        3,
        "\\Seen",
        1_704_067_200, // 2024-01-01 00:00 UTC
        "From: Alice Example <alice@example.org>\r\nTo: bob@example.org\r\nSubject: Quarterly REPORT\r\nDate: Mon, 1 Jan 2024 09:00:00 +0100\r\nX-Priority: 1\r\n\r\nThe numbers are in.\r\n",
    ),
    (
        5,
        "\\Answered \\Flagged $Work",
        1_704_153_600, // 2024-01-02
        "From: =?utf-8?q?Bj=C3=B6rn?= <bjorn@example.net>\r\nTo: alice@example.org\r\nCc: carol@example.com\r\nSubject: =?utf-8?q?Sm=C3=B6rg=C3=A5sbord?=\r\nDate: Tue, 2 Jan 2024 23:59:00 -0800\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nSGVqIHDDpSBkaWcsIGJvbmpvdXIh\r\n",
    ),
    (
        9,
        "\\Deleted \\Draft",
        1_704_240_000, // 2024-01-03
        "From: carol@example.com\r\nBcc: secret@example.org\r\nSubject: draft\r\n\r\nnothing to see\r\n",
    ),
    (
        10,
        "",
        1_704_326_400, // 2024-01-04
        "Subject: no date, no from\r\n\r\nplain body with the word REPORT\r\n",
    ),
];

fn mailbox() -> Vec<MessageInfo> {
    MAILBOX
        .iter()
        .enumerate()
        .map(|(i, (uid, flags, date, raw))| MessageInfo {
            uid: *uid,
            guid: format!("g{uid}"),
            blob: BlobId::parse(&format!("{:04x}", i)).unwrap(),
            size: raw.len() as u64,
            internal_date: *date,
            flags: flags.to_string(),
            modseq: *uid as u64 * 10,
        })
        .collect()
}

fn raw_of(m: &MessageInfo) -> Option<Vec<u8>> {
    MAILBOX
        .iter()
        .find(|x| x.0 == m.uid)
        .map(|x| x.3.as_bytes().to_vec())
}

fn criteria(text: &str) -> Vec<SearchKey<'static>> {
    let line = format!("a SEARCH {text}\r\n");
    let (rest, cmd) = CommandCodec::default()
        .decode(line.as_bytes())
        .unwrap_or_else(|e| panic!("{text}: {e:?}"));
    assert!(rest.is_empty());
    match cmd.body {
        CommandBody::Search { criteria, .. } => criteria
            .into_inner()
            .into_iter()
            .map(imap_codec::imap_types::IntoStatic::into_static)
            .collect(),
        other => panic!("{other:?}"),
    }
}

/// The UIDs matching `text`.
fn search(text: &str) -> Vec<u32> {
    let msgs = mailbox();
    let key = compile(&criteria(text), msgs.len() as u32, 10).unwrap();
    run(&key, &msgs, &raw_of)
        .into_iter()
        .map(|i| msgs[i].uid)
        .collect()
}

#[test]
fn flags_and_keywords() {
    assert_eq!(search("ALL"), vec![3, 5, 9, 10]);
    assert_eq!(search("SEEN"), vec![3]);
    assert_eq!(search("UNSEEN"), vec![5, 9, 10]);
    assert_eq!(search("ANSWERED"), vec![5]);
    assert_eq!(search("UNANSWERED"), vec![3, 9, 10]);
    assert_eq!(search("FLAGGED"), vec![5]);
    assert_eq!(search("UNFLAGGED"), vec![3, 9, 10]);
    assert_eq!(search("DELETED"), vec![9]);
    assert_eq!(search("UNDELETED"), vec![3, 5, 10]);
    assert_eq!(search("DRAFT"), vec![9]);
    assert_eq!(search("UNDRAFT"), vec![3, 5, 10]);
    assert_eq!(
        search("KEYWORD $work"),
        vec![5],
        "keywords are case-insensitive"
    );
    assert_eq!(search("UNKEYWORD $Work"), vec![3, 9, 10]);
    assert_eq!(search("RECENT"), Vec::<u32>::new());
    assert_eq!(search("NEW"), Vec::<u32>::new());
    assert_eq!(search("OLD"), vec![3, 5, 9, 10]);
}

#[test]
fn sets_sizes_and_dates() {
    assert_eq!(search("2:3"), vec![5, 9]);
    assert_eq!(search("*"), vec![10]);
    assert_eq!(search("3:*"), vec![9, 10]);
    assert_eq!(search("7:*"), vec![10], "beyond the end: * still counts");
    assert_eq!(search("1,4"), vec![3, 10]);
    assert_eq!(search("UID 4:9"), vec![5, 9]);
    assert_eq!(search("UID *"), vec![10]);
    assert_eq!(search("UID 11:*"), vec![10]);
    assert_eq!(search("UID 1,2,4"), Vec::<u32>::new());
    let sizes: Vec<u64> = mailbox().iter().map(|m| m.size).collect();
    let mid = sizes[0];
    let expect_larger: Vec<u32> = mailbox()
        .iter()
        .filter(|m| m.size > mid)
        .map(|m| m.uid)
        .collect();
    assert_eq!(search(&format!("LARGER {mid}")), expect_larger);
    assert!(!search(&format!("SMALLER {mid}")).contains(&3));
    assert_eq!(search("BEFORE 2-Jan-2024"), vec![3]);
    assert_eq!(search("ON 2-Jan-2024"), vec![5]);
    assert_eq!(search("SINCE 3-Jan-2024"), vec![9, 10]);
    // Date: fields as written, zone disregarded; no Date: never matches.
    assert_eq!(search("SENTON 2-Jan-2024"), vec![5]);
    assert_eq!(search("SENTBEFORE 2-Jan-2024"), vec![3]);
    assert_eq!(search("SENTSINCE 1-Jan-2024"), vec![3, 5]);
}

#[test]
fn text_keys_decode_and_ignore_case() {
    assert_eq!(search("FROM alice"), vec![3]);
    assert_eq!(
        search("CHARSET UTF-8 FROM {6}\r\nbjörn"),
        vec![5],
        "RFC 2047 decoded"
    );
    assert_eq!(search("FROM BJORN@EXAMPLE.NET"), vec![5]);
    assert_eq!(search("TO alice@example.org"), vec![5]);
    assert_eq!(search("CC carol"), vec![5]);
    assert_eq!(search("BCC secret"), vec![9]);
    assert_eq!(search("SUBJECT report"), vec![3]);
    assert_eq!(
        search("SUBJECT {9}\r\nSMÖRGÅS"),
        vec![5],
        "Unicode case folding"
    );
    assert_eq!(search("HEADER X-Priority 1"), vec![3]);
    assert_eq!(
        search("HEADER x-priority \"\""),
        vec![3],
        "empty: field present"
    );
    assert_eq!(search("HEADER Date \"\""), vec![3, 5]);
    assert_eq!(search("BODY \"bonjour\""), vec![5], "base64 decoded");
    assert_eq!(search("BODY report"), vec![10], "body only");
    assert_eq!(search("TEXT report"), vec![3, 10], "header or body");
    assert_eq!(
        search("TEXT x-priority"),
        vec![3],
        "field names count as header text"
    );
    assert_eq!(search("BODY {5}\r\nNUMBE"), vec![3], "literal needle");
}

#[test]
fn combinations() {
    assert_eq!(search("NOT SEEN"), vec![5, 9, 10]);
    assert_eq!(search("OR SEEN FLAGGED"), vec![3, 5]);
    assert_eq!(search("SEEN FLAGGED"), Vec::<u32>::new());
    assert_eq!(search("(OR DELETED SEEN) SUBJECT draft"), vec![9]);
    assert_eq!(search("NOT (OR 1 2) NOT DELETED"), vec![10]);
    assert_eq!(search("OR (FROM carol TEXT nothing) UID 3"), vec![3, 9]);
    assert_eq!(
        search("UNSEEN NOT OR BODY bonjour HEADER bcc secret"),
        vec![10]
    );
    assert_eq!(search("MODSEQ 90"), vec![9, 10]);
}

#[test]
fn bodies_are_read_only_when_needed_and_once() {
    let msgs = mailbox();
    let reads = Cell::new(0);
    let read = |m: &MessageInfo| {
        reads.set(reads.get() + 1);
        raw_of(m)
    };
    let key = compile(&criteria("SUBJECT x BODY y TEXT z SEEN"), 4, 10).unwrap();
    run(&key, &msgs, &read);
    assert_eq!(reads.get(), 1, "only the one \\Seen message, once");
    let key = compile(&criteria("FLAGGED"), 4, 10).unwrap();
    run(&key, &msgs, &read);
    assert_eq!(reads.get(), 1);
    let key = compile(&criteria("OR DRAFT BODY y"), 4, 10).unwrap();
    run(&key, &msgs, &read);
    assert_eq!(reads.get(), 4, "the draft matched without reading");
}

fn nested_not(depth: usize) -> SearchKey<'static> {
    let mut k = SearchKey::All;
    for _ in 1..depth {
        k = SearchKey::Not(Box::new(k));
    }
    k
}

#[test]
fn nesting_is_limited() {
    assert!(compile(&[nested_not(MAX_SEARCH_DEPTH)], 1, 1).is_ok());
    assert_eq!(
        compile(&[nested_not(MAX_SEARCH_DEPTH + 1)], 1, 1),
        Err(TooDeep)
    );
    let group = |depth: usize| {
        let mut k = SearchKey::All;
        for _ in 1..depth {
            k = SearchKey::And(Vec1::from(k));
        }
        k
    };
    assert!(compile(&[group(MAX_SEARCH_DEPTH)], 1, 1).is_ok());
    assert_eq!(compile(&[group(MAX_SEARCH_DEPTH + 1)], 1, 1), Err(TooDeep));
    // imap-codec refuses well before: 9 levels parse, 10 do not.
    let text = |n: usize| format!("a SEARCH {}ALL\r\n", "NOT ".repeat(n - 1));
    assert!(CommandCodec::default().decode(text(9).as_bytes()).is_ok());
    assert!(CommandCodec::default().decode(text(10).as_bytes()).is_err());
    let parens = format!("a SEARCH {}ALL{}\r\n", "(".repeat(40), ")".repeat(40));
    assert!(CommandCodec::default().decode(parens.as_bytes()).is_err());
}

#[test]
fn cost_follows_messages_times_keys() {
    // 2,000 ranges in a set and 20,000 messages: binary searches, not a scan per range.
    let msgs: Vec<MessageInfo> = (1..=20_000u32)
        .map(|uid| MessageInfo {
            uid,
            guid: String::new(),
            blob: BlobId::parse("abcd").unwrap(),
            size: 100,
            internal_date: 0,
            flags: String::new(),
            modseq: 1,
        })
        .collect();
    let set = (1..2000)
        .map(|i| format!("{}:{}", i * 10, i * 10 + 2))
        .collect::<Vec<_>>()
        .join(",");
    let t = std::time::Instant::now();
    let key = compile(
        &criteria(&format!("UID {set} NOT {set} OR SEEN {set}")),
        20_000,
        20_000,
    )
    .unwrap();
    assert!(run(&key, &msgs, &|_| None).is_empty());
    let key = compile(&criteria(&format!("UID {set}")), 20_000, 20_000).unwrap();
    assert_eq!(run(&key, &msgs, &|_| None).len(), 1999 * 3);
    assert!(
        t.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        t.elapsed()
    );
}
