//! Unit tests of the message model against hand-written messages: ENVELOPE,
//! BODY/BODYSTRUCTURE as imap-codec writes them, and section numbering.

use super::binary::{Cte, Decoder};
use super::bodystructure::body_structure;
use super::envelope::{addresses, envelope};
use super::section::{binary_part, body_section};
use super::{parse, Kind, MAX_MIME_DEPTH};
use imap_codec::decode::Decoder as _;
use imap_codec::encode::Encoder;
use imap_codec::imap_types::command::CommandBody;
use imap_codec::imap_types::core::Vec1;
use imap_codec::imap_types::envelope::Envelope;
use imap_codec::imap_types::fetch::{
    MacroOrMessageDataItemNames, MessageDataItem, MessageDataItemName, Section,
};
use imap_codec::imap_types::response::{Data, Response};
use imap_codec::{CommandCodec, ResponseCodec};
use std::num::NonZeroU32;

fn crlf(s: &str) -> Vec<u8> {
    s.replace('\n', "\r\n").into_bytes()
}

/// A data item as it goes on the wire, without the `* 1 FETCH (…)` around it.
fn wire(item: MessageDataItem<'_>) -> String {
    let r = Response::Data(Data::Fetch {
        seq: NonZeroU32::MIN,
        items: Vec1::from(item),
    });
    let out = String::from_utf8(ResponseCodec::default().encode(&r).dump()).unwrap();
    out.strip_prefix("* 1 FETCH (")
        .unwrap()
        .strip_suffix(")\r\n")
        .unwrap()
        .to_string()
}

fn bodystructure(raw: &[u8]) -> String {
    let s = wire(MessageDataItem::BodyStructure(body_structure(
        &parse(raw),
        raw,
        true,
    )));
    s.strip_prefix("BODYSTRUCTURE ").unwrap().to_string()
}

fn body(raw: &[u8]) -> String {
    let s = wire(MessageDataItem::Body(body_structure(
        &parse(raw),
        raw,
        false,
    )));
    s.strip_prefix("BODY ").unwrap().to_string()
}

fn env_of(e: Envelope<'_>) -> String {
    wire(MessageDataItem::Envelope(e))
        .strip_prefix("ENVELOPE ")
        .unwrap()
        .to_string()
}

fn env(raw: &[u8]) -> String {
    let tree = parse(raw);
    env_of(envelope(&raw[tree.header.clone()]))
}

/// The section of `BODY[spec]` as imap-codec parses it.
fn spec(spec: &str) -> Option<Section<'static>> {
    let line = format!("a FETCH 1 (BODY.PEEK[{spec}])\r\n");
    let (_, cmd) = CommandCodec::default().decode(line.as_bytes()).unwrap();
    let CommandBody::Fetch {
        macro_or_item_names: MacroOrMessageDataItemNames::MessageDataItemNames(mut v),
        ..
    } = cmd.body
    else {
        panic!("not a fetch");
    };
    let Some(MessageDataItemName::BodyExt { section, .. }) = v.pop() else {
        panic!("not BODY[]")
    };
    section.map(|s| match s {
        Section::Part(p) => Section::Part(p),
        Section::Header(p) => Section::Header(p),
        Section::Text(p) => Section::Text(p),
        Section::Mime(p) => Section::Mime(p),
        _ => panic!("use body_section directly for HEADER.FIELDS"),
    })
}

/// `BODY[spec]` as text, None for NIL.
fn section(raw: &[u8], s: &str) -> Option<String> {
    let tree = parse(raw);
    let sec = spec(s);
    body_section(raw, &tree, sec.as_ref()).map(|b| String::from_utf8_lossy(&b).into_owned())
}

fn part_spec(p: &[NonZeroU32]) -> imap_codec::imap_types::fetch::Part {
    imap_codec::imap_types::fetch::Part(Vec1::try_from(p.to_vec()).unwrap())
}

fn path(p: &[u32]) -> Vec<NonZeroU32> {
    p.iter().map(|&n| NonZeroU32::new(n).unwrap()).collect()
}

const PLAIN: &str = "From: \"Joe Q. Public\" <john.q.public@example.com>
To: Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>
Cc: <boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>
Date: Tue, 1 Jul 2003 10:52:37 +0200
Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= and
 folded
Message-ID: <5678.21-Nov-1997@example.com>
In-Reply-To: <1234@local.machine.example>

Hi.
Line 2
";

#[test]
fn plain_text_message() {
    let raw = crlf(PLAIN);
    let joe = "((\"Joe Q. Public\" NIL \"john.q.public\" \"example.com\"))";
    assert_eq!(
        env(&raw),
        format!(
            "(\"Tue, 1 Jul 2003 10:52:37 +0200\" \"=?UTF-8?Q?Gr=C3=BC=C3=9Fe?= and folded\" {joe} {joe} {joe} \
             ((\"Mary Smith\" NIL \"mary\" \"x.test\")(NIL NIL \"jdoe\" \"example.org\")(\"Who?\" NIL \"one\" \"y.test\")) \
             ((NIL NIL \"boss\" \"nil.test\")(\"Giant; \\\"Big\\\" Box\" NIL \"sysservices\" \"example.net\")) NIL \
             \"<1234@local.machine.example>\" \"<5678.21-Nov-1997@example.com>\")"
        )
    );
    assert_eq!(
        bodystructure(&raw),
        "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 13 2 NIL NIL NIL NIL)"
    );
    assert_eq!(
        body(&raw),
        "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 13 2)"
    );
    // A message that is not multipart has a part 1: its body; 1.MIME is its header.
    assert_eq!(section(&raw, "1").as_deref(), Some("Hi.\r\nLine 2\r\n"));
    assert_eq!(section(&raw, "TEXT"), section(&raw, "1"));
    assert!(section(&raw, "1.MIME").unwrap().starts_with("From: "));
    assert!(section(&raw, "HEADER")
        .unwrap()
        .ends_with("example>\r\n\r\n"));
    assert_eq!(section(&raw, "2"), None);
    assert_eq!(section(&raw, "1.1"), None);
    assert_eq!(
        section(&raw, "1.HEADER"),
        None,
        "part 1 is not a message/rfc822"
    );
    assert_eq!(section(&raw, "").map(|s| s.len()), Some(raw.len()));
}

const ALTERNATIVE: &str = "From: a@b.test
Subject: alt
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary=\"XX\"

preamble
--XX
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

caf=C3=A9
--XX
Content-Type: text/html; charset=utf-8

<p>caf&eacute;</p>
--XX--
epilogue
";

#[test]
fn multipart_alternative() {
    let raw = crlf(ALTERNATIVE);
    assert_eq!(
        bodystructure(&raw),
        "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"QUOTED-PRINTABLE\" 9 1 NIL NIL NIL NIL)\
         (\"TEXT\" \"HTML\" (\"CHARSET\" \"utf-8\") NIL NIL \"7BIT\" 18 1 NIL NIL NIL NIL) \
         \"ALTERNATIVE\" (\"BOUNDARY\" \"XX\") NIL NIL NIL)"
    );
    assert_eq!(
        body(&raw),
        "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"QUOTED-PRINTABLE\" 9 1)\
         (\"TEXT\" \"HTML\" (\"CHARSET\" \"utf-8\") NIL NIL \"7BIT\" 18 1) \"ALTERNATIVE\")"
    );
    assert_eq!(section(&raw, "1").as_deref(), Some("caf=C3=A9"));
    assert_eq!(
        section(&raw, "1.MIME").as_deref(),
        Some("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
    );
    assert_eq!(section(&raw, "2").as_deref(), Some("<p>caf&eacute;</p>"));
    assert!(section(&raw, "TEXT")
        .unwrap()
        .starts_with("preamble\r\n--XX"));
    let tree = parse(&raw);
    let (content, cte) = binary_part(&raw, &tree, &path(&[1])).unwrap();
    assert_eq!(
        super::binary::decode(Cte::parse(cte).unwrap(), content),
        "café".as_bytes()
    );
}

const MIXED: &str = "From: a@b.test
To: c@d.test
Subject: files
Content-Type: multipart/mixed; boundary=frontier

--frontier
Content-Type: text/plain

See attached.
--frontier
Content-Type: application/octet-stream; name=\"data.bin\"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename=\"data.bin\"
Content-Language: en, de
Content-Location: http://example.test/
 data.bin
Content-ID: <part2@b.test>
Content-Description: Some data

AAECAwQF/w==
--frontier--
";

#[test]
fn multipart_mixed_with_base64_attachment() {
    let raw = crlf(MIXED);
    assert_eq!(
        bodystructure(&raw),
        "((\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 13 1 NIL NIL NIL NIL)\
         (\"APPLICATION\" \"OCTET-STREAM\" (\"NAME\" \"data.bin\") \"<part2@b.test>\" \"Some data\" \"BASE64\" 12 \
         NIL (\"ATTACHMENT\" (\"FILENAME\" \"data.bin\")) (\"en\" \"de\") \"http://example.test/data.bin\") \
         \"MIXED\" (\"BOUNDARY\" \"frontier\") NIL NIL NIL)"
    );
    assert_eq!(section(&raw, "2").as_deref(), Some("AAECAwQF/w=="));
    let tree = parse(&raw);
    let (content, cte) = binary_part(&raw, &tree, &path(&[2])).unwrap();
    let cte = Cte::parse(cte).unwrap();
    assert_eq!(super::binary::decode(cte, content), [0, 1, 2, 3, 4, 5, 255]);
    assert_eq!(Decoder::measure(cte, content), (7, true));
    assert_eq!(binary_part(&raw, &tree, &path(&[3])), None);
    assert_eq!(
        binary_part(&raw, &tree, &[]).map(|(c, _)| c.len()),
        Some(raw.len())
    );
}

const NESTED: &str = "From: outer@x.test
Subject: fwd
Content-Type: multipart/mixed; boundary=out

--out
Content-Type: text/plain

Look.
--out
Content-Type: message/rfc822

From: inner@y.test
Subject: inner
Content-Type: multipart/alternative; boundary=in

--in
Content-Type: text/plain

inner text
--in
Content-Type: text/html

<b>inner</b>
--in--
--out
Content-Type: multipart/mixed; boundary=deep

--deep
Content-Type: image/gif

GIF
--deep--
--out--
";

#[test]
fn nested_message_rfc822_numbering() {
    let raw = crlf(NESTED);
    let inner_msg = "From: inner@y.test\r\nSubject: inner\r\nContent-Type: multipart/alternative; boundary=in\r\n\r\n\
                     --in\r\nContent-Type: text/plain\r\n\r\ninner text\r\n--in\r\nContent-Type: text/html\r\n\r\n\
                     <b>inner</b>\r\n--in--";
    assert_eq!(section(&raw, "1").as_deref(), Some("Look."));
    assert_eq!(section(&raw, "2").as_deref(), Some(inner_msg));
    assert_eq!(
        section(&raw, "2.MIME").as_deref(),
        Some("Content-Type: message/rfc822\r\n\r\n")
    );
    assert!(section(&raw, "2.HEADER")
        .unwrap()
        .starts_with("From: inner@y.test\r\n"));
    assert!(section(&raw, "2.TEXT").unwrap().starts_with("--in\r\n"));
    assert_eq!(section(&raw, "2.1").as_deref(), Some("inner text"));
    assert_eq!(
        section(&raw, "2.1.MIME").as_deref(),
        Some("Content-Type: text/plain\r\n\r\n")
    );
    assert_eq!(section(&raw, "2.2").as_deref(), Some("<b>inner</b>"));
    assert_eq!(section(&raw, "2.3"), None);
    assert_eq!(section(&raw, "3.1").as_deref(), Some("GIF"));
    assert_eq!(
        section(&raw, "3.1.MIME").as_deref(),
        Some("Content-Type: image/gif\r\n\r\n")
    );
    assert_eq!(section(&raw, "3.HEADER"), None);
    let lines = super::count_lines(inner_msg.as_bytes());
    let bs = bodystructure(&raw);
    let inner_env =
        "(NIL \"inner\" ((NIL NIL \"inner\" \"y.test\")) ((NIL NIL \"inner\" \"y.test\")) \
                     ((NIL NIL \"inner\" \"y.test\")) NIL NIL NIL NIL NIL)";
    let want = format!(
        "((\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 5 1 NIL NIL NIL NIL)\
         (\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" {} {inner_env} \
         ((\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 10 1 NIL NIL NIL NIL)(\"TEXT\" \"HTML\" NIL NIL NIL \"7BIT\" 12 1 NIL NIL NIL NIL) \
         \"ALTERNATIVE\" (\"BOUNDARY\" \"in\") NIL NIL NIL) {lines} NIL NIL NIL NIL)\
         ((\"IMAGE\" \"GIF\" NIL NIL NIL \"7BIT\" 3 NIL NIL NIL NIL) \"MIXED\" (\"BOUNDARY\" \"deep\") NIL NIL NIL) \
         \"MIXED\" (\"BOUNDARY\" \"out\") NIL NIL NIL)",
        inner_msg.len()
    );
    assert_eq!(bs, want);
    // BODY: no extension data at any depth.
    let b = body(&raw);
    assert!(
        !b.contains("BOUNDARY")
            && b.contains(&format!("\"7BIT\" {} {inner_env} ((", inner_msg.len())),
        "{b}"
    );
}

#[test]
fn group_and_odd_addresses() {
    let list = |s: &str| {
        let mut e = envelope(b"");
        e.to = addresses(s.as_bytes());
        let w = env_of(e);
        // The To member is the sixth field of the envelope.
        w.strip_prefix("(NIL NIL NIL NIL NIL ")
            .unwrap()
            .strip_suffix(" NIL NIL NIL NIL)")
            .unwrap()
            .to_string()
    };
    assert_eq!(
        list("A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;, Mary <mary@x.test>"),
        "((NIL NIL \"A Group\" NIL)(\"Ed Jones\" NIL \"c\" \"a.test\")(NIL NIL \"joe\" \"where.test\")\
         (\"John\" NIL \"jdoe\" \"one.test\")(NIL NIL NIL NIL)(\"Mary\" NIL \"mary\" \"x.test\"))"
    );
    assert_eq!(
        list("undisclosed-recipients:;"),
        "((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL))"
    );
    assert_eq!(
        list("<@a.test,@b.test:joe@c.test>"),
        "((NIL \"@a.test,@b.test\" \"joe\" \"c.test\"))"
    );
    assert_eq!(
        list("joe@x.test (Joe Bloggs)"),
        "((\"Joe Bloggs\" NIL \"joe\" \"x.test\"))"
    );
    assert_eq!(
        list("\"john doe\"@x.test"),
        "((NIL NIL \"john doe\" \"x.test\"))"
    );
    assert_eq!(
        list("postmaster"),
        "((NIL NIL \"postmaster\" \"MISSING_DOMAIN\"))"
    );
    assert_eq!(list("<>"), "NIL");
    assert_eq!(list(""), "NIL");
    // 8-bit names go as literals; encoded words stay encoded.
    assert_eq!(
        list("Jörg <j@x.test>"),
        "(({5}\r\nJörg NIL \"j\" \"x.test\"))"
    );
    assert_eq!(
        list("=?utf-8?q?J=C3=B6rg?= <j@x.test>"),
        "((\"=?utf-8?q?J=C3=B6rg?=\" NIL \"j\" \"x.test\"))"
    );
    // Unterminated group and comment do not lose the address.
    assert_eq!(
        list("G: a@b.test"),
        "((NIL NIL \"G\" NIL)(NIL NIL \"a\" \"b.test\")(NIL NIL NIL NIL))"
    );
    assert_eq!(
        list("a@b.test (unclosed"),
        "((\"unclosed\" NIL \"a\" \"b.test\"))"
    );
}

#[test]
fn missing_headers() {
    // No header at all.
    let raw = crlf("\nJust a body\n");
    assert_eq!(env(&raw), "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
    assert_eq!(section(&raw, "HEADER").as_deref(), Some("\r\n"));
    assert_eq!(section(&raw, "TEXT").as_deref(), Some("Just a body\r\n"));
    // No body and no blank line.
    let raw = crlf("Subject: only\nSender:\n");
    assert_eq!(section(&raw, "TEXT").as_deref(), Some(""));
    assert_eq!(env(&raw), "(NIL \"only\" NIL NIL NIL NIL NIL NIL NIL NIL)");
    assert_eq!(
        bodystructure(&raw),
        "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 0 0 NIL NIL NIL NIL)"
    );
    // An empty Sender and a missing Reply-To are the From.
    let raw = crlf("From: a@b.test\nSender:\nSubject:\n\n");
    assert_eq!(
        env(&raw),
        "(NIL \"\" ((NIL NIL \"a\" \"b.test\")) ((NIL NIL \"a\" \"b.test\")) ((NIL NIL \"a\" \"b.test\")) NIL NIL NIL NIL NIL)"
    );
    // The empty message (a body file that is gone).
    assert_eq!(env(b""), "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
    assert_eq!(
        bodystructure(b""),
        "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 0 0 NIL NIL NIL NIL)"
    );
}

#[test]
fn eight_bit_header_values_are_literals() {
    let raw = "Subject: Grüße\r\nFrom: \"Ünïcode\" <u@x.test>\r\n\r\n".as_bytes();
    let e = env(raw);
    assert!(
        e.starts_with("(NIL {7}\r\nGrüße (({9}\r\nÜnïcode NIL \"u\" \"x.test\"))"),
        "{e}"
    );
}

#[test]
fn malformed_mime() {
    let text_plain = "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\"";
    // Multipart without a boundary, or whose boundary never comes: plain text.
    for ct in [
        "multipart/mixed",
        "multipart/mixed; boundary=nope",
        "garbage",
        "text",
    ] {
        let raw = crlf(&format!("Content-Type: {ct}\n\n--x\nhello\n--x--\n"));
        assert!(
            bodystructure(&raw).starts_with(text_plain),
            "{ct}: {}",
            bodystructure(&raw)
        );
        assert!(matches!(parse(&raw).kind, Kind::Leaf));
    }
    // No close delimiter; a part with no header; a boundary that is a prefix of another line.
    let raw = crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\n\nno header\n--b-not\n--bx\n--b\nContent-Type: text/plain\n\nlast");
    let tree = parse(&raw);
    let Kind::Multipart(parts) = &tree.kind else {
        panic!("{:?}", tree.kind)
    };
    assert_eq!(parts.len(), 2);
    assert_eq!(
        section(&raw, "1").as_deref(),
        Some("no header\r\n--b-not\r\n--bx")
    );
    assert_eq!(section(&raw, "1.MIME").as_deref(), Some("\r\n"));
    assert_eq!(section(&raw, "2").as_deref(), Some("last"));
    assert!(
        bodystructure(&raw).starts_with(&format!("({text_plain} 24 3 ")),
        "{}",
        bodystructure(&raw)
    );
    // Transport padding after a boundary; empty parts.
    let raw = crlf("Content-Type: multipart/mixed; boundary=b\n\n--b  \n\n--b\n--b-- \n");
    assert_eq!(section(&raw, "1").as_deref(), Some(""));
    assert_eq!(section(&raw, "2").as_deref(), Some(""));
    // An encoded message/rfc822 cannot be looked into: opaque.
    let raw = crlf(
        "Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nU3ViamVjdDogeA0KDQp4\n",
    );
    assert_eq!(
        bodystructure(&raw),
        "(\"APPLICATION\" \"OCTET-STREAM\" NIL NIL NIL \"BASE64\" 22 NIL NIL NIL NIL)"
    );
    // multipart/digest parts default to message/rfc822.
    let raw = crlf(
        "Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: in digest\n\nhi\n--d--\n",
    );
    assert!(bodystructure(&raw).starts_with("((\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\""));
    assert_eq!(section(&raw, "1.1").as_deref(), Some("hi"));
    // Unknown transfer encoding is reported as written.
    let raw = crlf("Content-Transfer-Encoding: x-uuencode (old)\n\nbegin\n");
    let tree = parse(&raw);
    assert_eq!(tree.mime.encoding, "X-UUENCODE");
    assert_eq!(Cte::parse(&tree.mime.encoding), None);
}

/// `levels` multiparts, each holding the next, the innermost a text part.
fn nested_multiparts(levels: usize) -> Vec<u8> {
    let mut msg = b"Content-Type: text/plain\r\n\r\ncore".to_vec();
    for l in (0..levels).rev() {
        let mut outer =
            format!("Content-Type: multipart/mixed; boundary=b{l}\r\n\r\n--b{l}\r\n").into_bytes();
        outer.extend_from_slice(&msg);
        outer.extend_from_slice(format!("\r\n--b{l}--\r\n").as_bytes());
        msg = outer;
    }
    msg
}

#[test]
fn nesting_deeper_than_the_limit_is_opaque() {
    // Within the limit: every level is parsed.
    let raw = nested_multiparts(MAX_MIME_DEPTH);
    let bs = bodystructure(&raw);
    assert_eq!(bs.matches("\"MIXED\"").count(), MAX_MIME_DEPTH);
    assert!(bs.contains("\"TEXT\" \"PLAIN\""));
    let ones = vec!["1"; MAX_MIME_DEPTH].join(".");
    assert_eq!(section(&raw, &ones).as_deref(), Some("core"));
    // Beyond it: the container at the limit is an opaque application/octet-stream.
    let raw = nested_multiparts(MAX_MIME_DEPTH + 8);
    let bs = bodystructure(&raw);
    assert_eq!(bs.matches("\"MIXED\"").count(), MAX_MIME_DEPTH);
    assert!(!bs.contains("\"TEXT\""), "{bs}");
    assert_eq!(bs.matches("\"APPLICATION\" \"OCTET-STREAM\"").count(), 1);
    let opaque = section(&raw, &ones).unwrap();
    assert!(
        opaque.starts_with(&format!("--b{MAX_MIME_DEPTH}\r\n")),
        "{opaque}"
    );
    assert_eq!(section(&raw, &format!("{ones}.1")), None);
    // Deeply nested message/rfc822 parts are bounded the same way, and a
    // huge nesting costs no stack.
    let mut msg = b"Subject: core\r\n\r\nx".to_vec();
    for _ in 0..10_000 {
        let mut outer = b"Content-Type: message/rfc822\r\n\r\n".to_vec();
        outer.extend_from_slice(&msg);
        msg = outer;
    }
    let bs = bodystructure(&msg);
    assert_eq!(bs.matches("\"MESSAGE\" \"RFC822\"").count(), MAX_MIME_DEPTH);
    assert_eq!(bs.matches("\"APPLICATION\" \"OCTET-STREAM\"").count(), 1);
}

#[test]
fn header_fields_subset() {
    use super::section::header_fields;
    use imap_codec::imap_types::core::AString;
    let h = b"From: a@x\r\nSubject: hi\r\n there\r\nTo: b@y\r\n\r\nbody";
    let subj = [AString::try_from("SUBJECT").unwrap()];
    assert_eq!(
        header_fields(h, &subj, false),
        b"Subject: hi\r\n there\r\n\r\n"
    );
    assert_eq!(
        header_fields(h, &subj, true),
        b"From: a@x\r\nTo: b@y\r\n\r\n"
    );
    // The last field of a header with no body and no line end.
    assert_eq!(
        header_fields(b"Subject: x", &subj, false),
        b"Subject: x\r\n\r\n"
    );
    assert_eq!(super::header_end(h), h.len() - 4);
    assert_eq!(super::header_end(b"no header end"), 13);
    assert_eq!(super::header_end(b"A: b\n\nlf only"), 6);
}

/// Mangled messages (cut, flipped, spliced with MIME syntax) never panic,
/// and every section found lies within the message.
#[test]
fn mangled_messages_are_survived() {
    let seeds: Vec<Vec<u8>> = [PLAIN, ALTERNATIVE, MIXED, NESTED]
        .iter()
        .map(|m| crlf(m))
        .collect();
    let splices: [&[u8]; 8] = [
        b"\r\n--",
        b"--out--",
        b"\r\n\r\n",
        b"Content-Type: message/rfc822\r\n\r\n",
        b"Content-Type: multipart/mixed; boundary=in\r\n",
        b"=?",
        b"\"(<@:;,",
        b"\xff\x00\n",
    ];
    let mut state = 0x2545_f491_u64;
    let mut rand = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n.max(1) as u64) as usize
    };
    for round in 0..3000 {
        let mut m = seeds[round % seeds.len()].clone();
        for _ in 0..1 + rand(4) {
            let at = rand(m.len() + 1);
            match rand(3) {
                0 => m.truncate(at),
                1 if at < m.len() => m[at] ^= 1 << rand(8),
                _ => {
                    let s = splices[rand(splices.len())];
                    m.splice(at..at, s.iter().copied());
                }
            }
        }
        let tree = parse(&m);
        let _ = body_structure(&tree, &m, true);
        let _ = body_structure(&tree, &m, false);
        let _ = envelope(&m[tree.header.clone()]);
        for p in [
            &[1][..],
            &[2],
            &[1, 1],
            &[2, 1],
            &[2, 2],
            &[3, 1],
            &[2, 1, 1],
        ] {
            let p = path(p);
            if let Some((content, cte)) = binary_part(&m, &tree, &p) {
                if let Some(cte) = Cte::parse(cte) {
                    let (len, _) = Decoder::measure(cte, content);
                    assert!(len <= content.len() as u64);
                }
            }
            for spec in [Section::Part(part_spec(&p)), Section::Mime(part_spec(&p))] {
                let _ = body_section(&m, &tree, Some(&spec));
            }
            let _ = body_section(&m, &tree, Some(&Section::Header(Some(part_spec(&p)))));
            let _ = body_section(&m, &tree, Some(&Section::Text(Some(part_spec(&p)))));
        }
    }
}
