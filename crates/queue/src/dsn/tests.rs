//! The notification parsed back with mail-parser and checked field by field.

use super::*;
use mail_parser::{Message, MessageParser, MessagePart, MimeHeaders};
use std::io::Read;

const NOW: i64 = 1_795_468_445; // Mon, 23 Nov 2026 21:14:05 +0000
const ARRIVAL: i64 = 1_795_248_000; // Sat, 21 Nov 2026 08:00:00 +0000
const UNTIL: i64 = 1_795_900_445; // Sat, 28 Nov 2026 21:14:05 +0000
const LIMIT: usize = 64 * 1024;
const ORIGINAL: &[u8] = b"From: Alice <alice@example.com>\r\nTo: bob@example.org\r\n\
    Subject: Lunch\r\nMessage-ID: <1@example.com>\r\n\r\nShall we?\r\n-- \r\nAlice\r\n";
const ORIGINAL_HEADERS: &[u8] = b"From: Alice <alice@example.com>\r\nTo: bob@example.org\r\n\
    Subject: Lunch\r\nMessage-ID: <1@example.com>\r\n";

fn failed(address: &str) -> DsnRecipient {
    DsnRecipient {
        address: address.to_string(),
        orcpt: None,
        action: Action::Failed,
        status: "5.1.1".to_string(),
        remote_mta: Some("mx.example.org".to_string()),
        diagnostic: Some("550 5.1.1 <bob@example.org>: no such user".to_string()),
        last_attempt: Some(NOW),
        will_retry_until: None,
    }
}

fn request<'a>(recipients: Vec<DsnRecipient>) -> DsnRequest<'a> {
    DsnRequest {
        reporting_mta: "mail.postern.test",
        recipient: "alice@example.com",
        env_id: None,
        arrival: ARRIVAL,
        now: NOW,
        return_full: false,
        recipients,
    }
}

fn dsn(req: &DsnRequest, original: &[u8], limit: usize) -> Vec<u8> {
    build(req, &mut &original[..], limit).expect("builds")
}

fn parse(bytes: &[u8]) -> Message<'_> {
    MessageParser::default().parse(bytes).expect("parses")
}

/// The report's three parts, in order.
fn parts<'a>(msg: &'a Message<'a>) -> Vec<&'a MessagePart<'a>> {
    let ids = msg.parts[0].sub_parts().expect("multipart");
    ids.iter().map(|&id| &msg.parts[id as usize]).collect()
}

fn content_type(part: &MessagePart) -> String {
    let ct = part.content_type().expect("content type");
    format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or(""))
}

/// A part's raw content, as the sender's mail reader would take it out.
fn raw<'a>(msg: &'a Message, part: &MessagePart) -> &'a [u8] {
    &msg.raw_message()[part.offset_body as usize..part.offset_end as usize]
}

type Group = Vec<(String, String)>;

/// The delivery-status body as groups of (name, unfolded value).
fn groups(msg: &Message) -> Vec<Group> {
    let body = std::str::from_utf8(raw(msg, parts(msg)[1])).expect("7-bit report");
    let unfold = |g: &str| g.replace("\r\n ", " ").replace("\r\n\t", "\t");
    let field = |l: &str| {
        let (name, value) = l.split_once(':').expect("name: value");
        (name.to_string(), value.trim().to_string())
    };
    let lines = |g: String| {
        g.split("\r\n")
            .filter(|l| !l.is_empty())
            .map(field)
            .collect::<Group>()
    };
    body.split("\r\n\r\n")
        .filter(|g| !g.trim().is_empty())
        .map(|g| lines(unfold(g)))
        .collect()
}

fn fields(pairs: &[(&str, &str)]) -> Group {
    pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

fn header<'a>(msg: &'a Message<'a>, name: &'a str) -> &'a str {
    msg.header_raw(name)
        .unwrap_or_else(|| panic!("{name}"))
        .trim()
}

fn text(msg: &Message) -> String {
    parts(msg)[0].text_contents().expect("text").to_string()
}

#[test]
fn one_failed_recipient_field_by_field() {
    let out = dsn(&request(vec![failed("bob@example.org")]), ORIGINAL, LIMIT);
    let msg = parse(&out);
    assert_eq!(
        header(&msg, "From"),
        "\"Mail Delivery System\" <MAILER-DAEMON@mail.postern.test>"
    );
    assert_eq!(header(&msg, "To"), "<alice@example.com>");
    assert_eq!(msg.subject(), Some("Undelivered Mail Returned to Sender"));
    assert_eq!(header(&msg, "Date"), "Mon, 23 Nov 2026 21:14:05 +0000");
    assert!(msg
        .message_id()
        .is_some_and(|id| id.ends_with("@mail.postern.test")));
    assert_eq!(header(&msg, "MIME-Version"), "1.0");
    assert_eq!(header(&msg, "Auto-Submitted"), "auto-replied");
    let ct = msg.content_type().expect("content type");
    assert_eq!((ct.ctype(), ct.subtype()), ("multipart", Some("report")));
    assert_eq!(ct.attribute("report-type"), Some("delivery-status"));
    let types: Vec<_> = parts(&msg).into_iter().map(content_type).collect();
    assert_eq!(
        types,
        [
            "text/plain",
            "message/delivery-status",
            "text/rfc822-headers"
        ]
    );
    let expected = [
        fields(&[
            ("Reporting-MTA", "dns; mail.postern.test"),
            ("Arrival-Date", "Sat, 21 Nov 2026 08:00:00 +0000"),
        ]),
        fields(&[
            ("Final-Recipient", "rfc822;bob@example.org"),
            ("Action", "failed"),
            ("Status", "5.1.1"),
            ("Remote-MTA", "dns; mx.example.org"),
            (
                "Diagnostic-Code",
                "smtp; 550 5.1.1 <bob@example.org>: no such user",
            ),
            ("Last-Attempt-Date", "Mon, 23 Nov 2026 21:14:05 +0000"),
        ]),
    ];
    assert_eq!(groups(&msg), expected);
    let text = text(&msg);
    assert!(text.contains("could not be delivered"), "{text}");
    assert!(text.contains("<bob@example.org>"), "{text}");
    assert!(
        text.contains("mx.example.org said: 550 5.1.1 <bob@example.org>: no such user"),
        "{text}"
    );
}

#[test]
fn three_recipients_with_mixed_actions() {
    let delayed = DsnRecipient {
        action: Action::Delayed,
        status: "4.4.1".into(),
        remote_mta: None,
        diagnostic: Some("connect to mx.example.net: connection refused".into()),
        will_retry_until: Some(UNTIL),
        ..failed("carol@example.net")
    };
    let relayed = DsnRecipient {
        action: Action::Relayed,
        status: "2.0.0".into(),
        remote_mta: Some("mx.example.com".into()),
        diagnostic: Some("250 2.0.0 queued as 4F2".into()),
        will_retry_until: Some(UNTIL), // not for relayed: ignored
        ..failed("dave@example.com")
    };
    let out = dsn(
        &request(vec![failed("bob@example.org"), delayed, relayed]),
        ORIGINAL,
        LIMIT,
    );
    let msg = parse(&out);
    assert_eq!(msg.subject(), Some("Undelivered Mail Returned to Sender"));
    let groups = groups(&msg);
    assert_eq!(groups.len(), 4);
    assert_eq!(
        groups[1][0],
        ("Final-Recipient".into(), "rfc822;bob@example.org".into())
    );
    let carol = fields(&[
        ("Final-Recipient", "rfc822;carol@example.net"),
        ("Action", "delayed"),
        ("Status", "4.4.1"),
        (
            "Diagnostic-Code",
            "X-Postern; connect to mx.example.net: connection refused",
        ),
        ("Last-Attempt-Date", "Mon, 23 Nov 2026 21:14:05 +0000"),
        ("Will-Retry-Until", "Sat, 28 Nov 2026 21:14:05 +0000"),
    ]);
    assert_eq!(groups[2], carol);
    let dave = fields(&[
        ("Final-Recipient", "rfc822;dave@example.com"),
        ("Action", "relayed"),
        ("Status", "2.0.0"),
        ("Remote-MTA", "dns; mx.example.com"),
        ("Diagnostic-Code", "smtp; 250 2.0.0 queued as 4F2"),
        ("Last-Attempt-Date", "Mon, 23 Nov 2026 21:14:05 +0000"),
    ]);
    assert_eq!(groups[3], dave);
    let text = text(&msg).replace("\r\n    ", " ");
    assert!(text.contains("could not be delivered"), "{text}");
    assert!(
        text.contains("will keep trying until Sat, 28 Nov 2026 21:14:05 +0000"),
        "{text}"
    );
    assert!(text.contains("passed on"), "{text}");
}

#[test]
fn subject_and_wording_follow_the_gravest_action() {
    let delayed = DsnRecipient {
        action: Action::Delayed,
        status: "4.2.2".into(),
        ..failed("b@x.test")
    };
    let msg_bytes = dsn(&request(vec![delayed]), ORIGINAL, LIMIT);
    let msg = parse(&msg_bytes);
    assert_eq!(msg.subject(), Some("Delayed Mail (still being retried)"));
    assert!(text(&msg).contains("will keep trying"));
    assert!(!text(&msg).contains("could not be delivered"));
    let delivered = DsnRecipient {
        action: Action::Delivered,
        status: "2.0.0".into(),
        ..failed("b@x.test")
    };
    let msg_bytes = dsn(&request(vec![delivered]), ORIGINAL, LIMIT);
    let msg = parse(&msg_bytes);
    assert_eq!(msg.subject(), Some("Successful Mail Delivery Report"));
    assert!(text(&msg).contains("was delivered"));
}

#[test]
fn envelope_id_only_when_given() {
    let mut req = request(vec![failed("bob@example.org")]);
    req.env_id = Some("QQ314159");
    let out = dsn(&req, ORIGINAL, LIMIT);
    let first = &groups(&parse(&out))[0];
    assert_eq!(first[0], ("Original-Envelope-Id".into(), "QQ314159".into()));
    assert_eq!(first[1].0, "Reporting-MTA");
    req.env_id = None;
    let out = dsn(&req, ORIGINAL, LIMIT);
    assert!(groups(&parse(&out))[0]
        .iter()
        .all(|(n, _)| n != "Original-Envelope-Id"));
}

#[test]
fn original_recipient_only_when_given() {
    let mut with = failed("bob@example.org");
    with.orcpt = Some("rfc822;Bob@Example.ORG".into());
    let out = dsn(
        &request(vec![with, failed("carol@example.org")]),
        ORIGINAL,
        LIMIT,
    );
    let groups = groups(&parse(&out));
    assert_eq!(
        groups[1][0],
        ("Original-Recipient".into(), "rfc822;Bob@Example.ORG".into())
    );
    assert_eq!(
        groups[1][1],
        ("Final-Recipient".into(), "rfc822;bob@example.org".into())
    );
    assert_eq!(
        groups[2][0],
        ("Final-Recipient".into(), "rfc822;carol@example.org".into())
    );
    assert!(groups[2].iter().all(|(n, _)| n != "Original-Recipient"));
}

#[test]
fn non_ascii_addresses_go_as_utf8_xtext() {
    let mut r = failed("jörg+x@bücher.example");
    r.orcpt = Some("utf-8;jörg+x@bücher.example".into());
    let mut r2 = failed("plain@example.org");
    r2.orcpt = Some("rfc822;ünï@example.org".into());
    let mut req = request(vec![r, r2]);
    req.recipient = "ålice@example.com";
    let out = dsn(&req, ORIGINAL, LIMIT);
    let msg = parse(&out);
    assert!(raw(&msg, parts(&msg)[1]).is_ascii());
    let groups = groups(&msg);
    // RFC 6533 §3: "+" is no QCHAR in the full encoding, kept when converting unitext.
    assert_eq!(groups[1][0].1, "utf-8;j\\x{F6}rg+x@b\\x{FC}cher.example");
    assert_eq!(
        groups[1][1].1,
        "utf-8;j\\x{F6}rg\\x{2B}x@b\\x{FC}cher.example"
    );
    assert_eq!(groups[2][0].1, "utf-8;\\x{FC}n\\x{EF}@example.org");
    assert_eq!(header(&msg, "To"), "<ålice@example.com>"); // RFC 6532: as is
    let text = text(&msg); // quoted-printable UTF-8, decoded back
    assert!(text.contains("<jörg+x@bücher.example>"), "{text}");
    let part = raw(&msg, parts(&msg)[0]);
    assert!(part.is_ascii() && part.split(|&b| b == b'\n').all(|l| l.len() <= 77));
}

#[test]
fn ret_full_small_message_is_returned_whole() {
    let mut req = request(vec![failed("bob@example.org")]);
    req.return_full = true;
    let out = dsn(&req, ORIGINAL, LIMIT);
    let msg = parse(&out);
    let part = parts(&msg)[2];
    assert_eq!(content_type(part), "message/rfc822");
    assert_eq!(raw(&msg, part), ORIGINAL);
    let inner = part.message().expect("nested message");
    assert_eq!(inner.subject(), Some("Lunch"));
    assert_eq!(
        inner.body_text(0).as_deref(),
        Some("Shall we?\r\n-- \r\nAlice\r\n")
    );
    assert!(
        msg.header_raw("Content-Transfer-Encoding").is_none(),
        "7-bit stays 7-bit"
    );
}

#[test]
fn ret_full_over_the_limit_returns_headers_only() {
    let mut req = request(vec![failed("bob@example.org")]);
    req.return_full = true;
    let out = dsn(&req, ORIGINAL, ORIGINAL.len() - 1);
    let msg = parse(&out);
    let part = parts(&msg)[2];
    assert_eq!(content_type(part), "text/rfc822-headers");
    assert_eq!(raw(&msg, part), ORIGINAL_HEADERS);
    // Exactly the limit still fits.
    let out = dsn(&req, ORIGINAL, ORIGINAL.len());
    assert_eq!(content_type(parts(&parse(&out))[2]), "message/rfc822");
}

#[test]
fn ret_hdrs_returns_headers_only() {
    let out = dsn(&request(vec![failed("bob@example.org")]), ORIGINAL, LIMIT);
    let msg = parse(&out);
    assert_eq!(raw(&msg, parts(&msg)[2]), ORIGINAL_HEADERS);
    assert!(!out.windows(9).any(|w| w == b"Shall we?"));
}

#[test]
fn bare_lf_original_is_returned_with_crlf() {
    let lf = String::from_utf8(ORIGINAL.to_vec())
        .expect("utf-8")
        .replace("\r\n", "\n");
    let mut req = request(vec![failed("bob@example.org")]);
    req.return_full = true;
    let out = dsn(&req, lf.as_bytes(), LIMIT);
    let msg = parse(&out);
    assert_eq!(raw(&msg, parts(&msg)[2]), ORIGINAL);
    req.return_full = false;
    let out = dsn(&req, lf.as_bytes(), LIMIT);
    assert_eq!(raw(&parse(&out), parts(&parse(&out))[2]), ORIGINAL_HEADERS);
    assert_eq!(
        original::to_crlf(b"a\rb\r\nc\n\rd\r"),
        b"a\r\nb\r\nc\r\n\r\nd\r\n"
    );
}

/// Every line of `out`, CRLF-ended, no bare CR or LF anywhere.
fn lines(out: &[u8]) -> Vec<&[u8]> {
    let text = out.strip_suffix(b"\n").expect("ends in CRLF");
    let lines: Vec<&[u8]> = text
        .split(|&b| b == b'\n')
        .map(|l| {
            l.strip_suffix(b"\r")
                .unwrap_or_else(|| panic!("CRLF: {:?}", String::from_utf8_lossy(l)))
        })
        .collect();
    assert!(lines.iter().all(|l| !l.contains(&b'\r')), "bare CR");
    lines
}

#[test]
fn injected_line_breaks_forge_no_header() {
    let mut r = failed("bob@example.org\r\nBcc: evil@x");
    r.diagnostic = Some("550 no such user\r\nBcc: evil@x\n\rX-Evil: 1\0".into());
    r.orcpt = Some("rfc822;bob@example.org\nBcc: evil@x".into());
    r.remote_mta = Some("mx.example.org\r\nBcc: evil@x".into());
    r.status = "5.1.1\r\nBcc: evil@x".into();
    let mut req = request(vec![r]);
    req.env_id = Some("id\r\nBcc: evil@x");
    req.recipient = "alice@example.com>\r\nBcc: evil@x";
    req.reporting_mta = "mail.postern.test\r\nBcc: evil@x";
    let out = dsn(&req, ORIGINAL, LIMIT);
    for line in lines(&out) {
        assert!(!line.starts_with(b"Bcc") && !line.starts_with(b"X-Evil") && !line.contains(&0));
    }
    let msg = parse(&out);
    assert!(msg.header_raw("Bcc").is_none());
    let groups = groups(&msg);
    assert!(groups
        .iter()
        .flatten()
        .all(|(n, _)| n != "Bcc" && n != "X-Evil"));
    let diag = groups[1]
        .iter()
        .find(|(n, _)| n == "Diagnostic-Code")
        .expect("diagnostic");
    assert_eq!(diag.1, "smtp; 550 no such user Bcc: evil@x X-Evil: 1");
    assert_eq!(
        groups[1]
            .iter()
            .find(|(n, _)| n == "Status")
            .expect("status")
            .1,
        "5.0.0"
    );
}

#[test]
fn long_diagnostics_are_folded() {
    let words: Vec<String> = (0..600).map(|i| format!("w{i}")).collect();
    let spaced = format!("550 5.7.1 {}", words.join(" "));
    let spaced = spaced[..2000].trim_end().to_string();
    let solid = format!("550 {}", "x".repeat(1996));
    for (diag, foldable) in [(spaced, true), (solid, false)] {
        let mut r = failed("bob@example.org");
        r.diagnostic = Some(diag.clone());
        let out = dsn(&request(vec![r]), ORIGINAL, LIMIT);
        assert!(lines(&out).iter().all(|l| l.len() <= 998));
        let msg = parse(&out);
        let report = raw(&msg, parts(&msg)[1]);
        if foldable {
            assert!(lines(report).iter().all(|l| l.len() <= 78));
            let groups = groups(&msg);
            let code = &groups[1]
                .iter()
                .find(|(n, _)| n == "Diagnostic-Code")
                .expect("diagnostic")
                .1;
            assert_eq!(code, &format!("smtp; {diag}"));
        }
    }
}

#[test]
fn boundary_is_absent_from_the_content() {
    let sneaky = b"Subject: =_postern_dsn_\r\n\r\n--=_postern_dsn_0\r\n";
    let mut req = request(vec![failed("bob@example.org")]);
    req.return_full = true;
    let out = dsn(&req, sneaky, LIMIT);
    let msg = parse(&out);
    let boundary = msg
        .content_type()
        .and_then(|ct| ct.attribute("boundary"))
        .expect("boundary")
        .to_string();
    let hits = out
        .windows(boundary.len())
        .filter(|w| *w == boundary.as_bytes())
        .count();
    assert_eq!(
        hits,
        1 + 4,
        "the Content-Type, three delimiters and the close"
    );
    assert_eq!(raw(&msg, parts(&msg)[2]), sneaky);
    // A candidate found in the content is passed over.
    let parts = [b"abc --taken-- def".to_vec(), b"x".to_vec()];
    let mut candidates = ["taken", "", "free"].into_iter().map(String::from);
    assert_eq!(
        pick_boundary(&parts, || candidates.next().unwrap_or_default()),
        "free"
    );
}

/// Counts what is read of the original.
struct Counting<'a> {
    inner: &'a [u8],
    read: usize,
}

impl Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n;
        Ok(n)
    }
}

#[test]
fn reads_no_more_of_the_original_than_needed() {
    let mut big = ORIGINAL_HEADERS.to_vec();
    big.extend_from_slice(b"\r\n");
    big.extend(std::iter::repeat_n(b"0123456789abcdef\r\n", 100_000).flatten());
    let mut req = request(vec![failed("bob@example.org")]);
    let mut src = Counting {
        inner: &big,
        read: 0,
    };
    build(&req, &mut src, LIMIT).expect("builds");
    assert!(src.read <= 8 * 1024, "headers only: read {}", src.read);
    req.return_full = true;
    let mut src = Counting {
        inner: &big,
        read: 0,
    };
    let out = build(&req, &mut src, LIMIT).expect("builds");
    assert_eq!(src.read, LIMIT + 1);
    assert_eq!(raw(&parse(&out), parts(&parse(&out))[2]), ORIGINAL_HEADERS);
}

#[test]
fn header_block_is_bounded_to_whole_fields() {
    let mut huge = Vec::new();
    for i in 0..5000 {
        huge.extend_from_slice(format!("X-Filler-{i}: some value\r\n\tcontinued\r\n").as_bytes());
    }
    let req = request(vec![failed("bob@example.org")]);
    let mut src = Counting {
        inner: &huge,
        read: 0,
    };
    let out = build(&req, &mut src, usize::MAX).expect("builds");
    assert!(src.read <= MAX_HEADER_BLOCK + 1);
    let msg = parse(&out);
    let block = raw(&msg, parts(&msg)[2]);
    assert!(block.len() <= MAX_HEADER_BLOCK && block.len() > MAX_HEADER_BLOCK - 100);
    assert!(
        block.ends_with(b"\tcontinued\r\n"),
        "cut before a field, never inside one"
    );
    // And within a small limit, too.
    let out = dsn(&req, ORIGINAL, 40);
    assert_eq!(
        raw(&parse(&out), parts(&parse(&out))[2]),
        b"From: Alice <alice@example.com>\r\n"
    );
}

#[test]
fn eight_bit_and_binary_originals() {
    let mut req = request(vec![failed("bob@example.org")]);
    req.return_full = true;
    let utf8 = "Subject: Grüße\r\n\r\nHallo\r\n".as_bytes();
    let out = dsn(&req, utf8, LIMIT);
    let msg = parse(&out);
    assert_eq!(header(&msg, "Content-Transfer-Encoding"), "8bit");
    assert_eq!(raw(&msg, parts(&msg)[2]), utf8);
    // NUL, or a line over 998 octets, cannot go as message/rfc822 (RFC 2046 §5.2.1).
    let long = format!("Subject: {}\r\nX: a\0b\r\n\r\nbody\r\n", "y".repeat(1200));
    let out = dsn(&req, long.as_bytes(), LIMIT);
    assert!(lines(&out)
        .iter()
        .all(|l| l.len() <= 998 && !l.contains(&0)));
    let msg = parse(&out);
    let part = parts(&msg)[2];
    assert_eq!(content_type(part), "text/rfc822-headers");
    assert_eq!(
        part.contents(),
        &long.as_bytes()[..long.len() - 8],
        "quoted-printable, decoded back"
    );
}

#[test]
fn status_and_dates() {
    use fields::{date, status_code};
    assert_eq!(status_code("5.7.26", Action::Failed), "5.7.26");
    assert_eq!(status_code("550", Action::Failed), "5.0.0");
    assert_eq!(status_code("3.1.1", Action::Delayed), "4.0.0");
    assert_eq!(status_code("2.0.0.0", Action::Relayed), "2.0.0");
    assert_eq!(status_code("4.1234.1", Action::Delayed), "4.0.0");
    assert_eq!(date(NOW), "Mon, 23 Nov 2026 21:14:05 +0000");
    assert_eq!(date(-1), "Thu, 01 Jan 1970 00:00:00 +0000");
    assert_eq!(date(i64::MAX), "Fri, 31 Dec 9999 23:59:59 +0000");
}

#[test]
fn refuses_what_cannot_be_a_notification() {
    let err = build(&request(vec![]), &mut &ORIGINAL[..], LIMIT).expect_err("no recipients");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    let mut req = request(vec![failed("bob@example.org")]);
    req.recipient = " \r\n";
    assert!(
        build(&req, &mut &ORIGINAL[..], LIMIT).is_err(),
        "null sender"
    );
    struct Broken;
    impl Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk on fire"))
        }
    }
    assert!(build(&request(vec![failed("b@x")]), &mut Broken, LIMIT).is_err());
}

#[test]
fn random_inputs_never_panic_and_always_parse() {
    use rand::Rng;
    let mut rng = rand::rng();
    let alphabet: Vec<char> = "a@. \r\n\t\0:;<>\"\\+=é€😀x5".chars().collect();
    let mut junk = |n: usize| -> String {
        (0..n)
            .map(|_| alphabet[rng.random_range(0..alphabet.len())])
            .collect()
    };
    for round in 0..200 {
        let mut r = failed(&junk(round % 40));
        r.orcpt = Some(junk(round % 30));
        r.diagnostic = Some(junk(round * 7 % 1500));
        r.remote_mta = Some(junk(round % 20));
        r.status = junk(round % 8);
        let (recipient, env_id, host) = (
            format!("a{}", junk(round % 25)),
            junk(round % 25),
            junk(round % 20),
        );
        let original = junk(round * 13 % 3000);
        let mut req = request(vec![
            r.clone(),
            DsnRecipient {
                action: Action::Delayed,
                ..r
            },
        ]);
        (
            req.recipient,
            req.env_id,
            req.reporting_mta,
            req.return_full,
        ) = (&recipient, Some(env_id.as_str()), &host, round % 2 == 0);
        let out = dsn(&req, original.as_bytes(), round * 11 % 2500);
        assert!(lines(&out)
            .iter()
            .all(|l| l.len() <= 998 && !l.contains(&0)));
        let msg = parse(&out);
        assert_eq!(parts(&msg).len(), 3);
        assert_eq!(groups(&msg).len(), 3);
    }
}

#[test]
fn python_email_parser_accepts_it() {
    let mut r = failed("jörg@bücher.example");
    r.diagnostic = Some(format!("550 {}", "long words ".repeat(150)));
    let mut req = request(vec![r, failed("bob@example.org")]);
    req.return_full = true;
    req.env_id = Some("QQ314159");
    let out = dsn(&req, ORIGINAL, LIMIT);
    let script = r#"
import email, email.policy, sys
m = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.default)
assert m.get_content_type() == "multipart/report", m.get_content_type()
assert m.get_param("report-type") == "delivery-status"
parts = m.get_payload()
assert [p.get_content_type() for p in parts] == ["text/plain", "message/delivery-status", "message/rfc822"]
groups = parts[1].get_payload()
assert len(groups) == 3, len(groups)
assert groups[0]["Original-Envelope-Id"] == "QQ314159"
assert groups[1]["Final-Recipient"] == "utf-8;j\\x{F6}rg@b\\x{FC}cher.example", groups[1]["Final-Recipient"]
assert groups[2]["Action"] == "failed"
assert parts[2].get_payload()[0]["Subject"] == "Lunch"
for part in m.walk():
    assert not part.defects, part.defects
print("ok")
"#;
    let child = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        eprintln!("python3 not found: skipped");
        return;
    };
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&out)
        .expect("write");
    let done = child.wait_with_output().expect("python3 runs");
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
}
