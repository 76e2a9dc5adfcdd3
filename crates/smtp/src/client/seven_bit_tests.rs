use super::*;

fn parse(raw: &[u8]) -> mail_parser::Message<'_> {
    mail_parser::MessageParser::default().parse(raw).unwrap()
}

#[test]
fn seven_bit_is_kept_octet_for_octet() {
    let raw = b"Subject: x\r\n\r\nplain\r\n";
    assert_eq!(to_seven_bit(raw).unwrap(), raw);
}

#[test]
fn a_plain_message_becomes_quoted_printable() {
    let raw = "From: a@x.test\r\nSubject: hi\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße\r\n"
        .as_bytes();
    let out = to_seven_bit(raw).unwrap();
    assert!(out.is_ascii());
    let text = String::from_utf8(out.clone()).unwrap();
    assert_eq!(
        text.matches("Content-Transfer-Encoding").count(),
        1,
        "{text}"
    );
    assert!(text.contains("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nGr=C3=BC=C3=9Fe\r\n"), "{text}");
    assert_eq!(parse(&out).body_text(0).unwrap(), "Grüße\r\n");
}

#[test]
fn multipart_parts_are_converted_one_by_one() {
    let raw = concat!(
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n",
        "preamble é\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
        "Käse\r\n--b1\r\nContent-Type: text/plain\r\n\r\nascii only\r\n--b1\r\n",
        "Content-Type: application/octet-stream\r\n\r\n",
    )
    .as_bytes()
    .iter()
    .copied()
    .chain([0xff, 0x00, 0x80])
    .chain(b"\r\n--b1--\r\nepilogue\r\n".iter().copied())
    .collect::<Vec<u8>>();
    let out = to_seven_bit(&raw).unwrap();
    assert!(out.is_ascii(), "{}", String::from_utf8_lossy(&out));
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(
        text.contains("\r\n--b1\r\nContent-Type: text/plain\r\n\r\nascii only\r\n--b1\r\n"),
        "{text}"
    );
    assert!(
        text.contains("Content-Transfer-Encoding: 7bit\r\n\r\npreamble ?\r\n--b1\r\n")
            || text.contains("boundary=\"b1\"\r\nContent-Transfer-Encoding: 7bit"),
        "{text}"
    );
    let m = parse(&out);
    assert_eq!(m.body_text(0).unwrap(), "Käse");
    assert_eq!(m.body_text(1).unwrap(), "ascii only");
    assert_eq!(m.attachment(0).unwrap().contents(), [0xff, 0x00, 0x80]);
}

#[test]
fn a_last_part_without_closing_delimiter_is_converted_not_dropped() {
    let raw = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nÉté\r\n".as_bytes();
    let out = String::from_utf8(to_seven_bit(raw).unwrap()).unwrap();
    assert!(
        out.ends_with(
            "--b\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=C3=89t=C3=A9\r\n"
        ),
        "{out}"
    );
}

#[test]
fn nested_message_rfc822_is_walked() {
    let raw = "Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\nÜber\r\n".as_bytes();
    let out = String::from_utf8(to_seven_bit(raw).unwrap()).unwrap();
    let want = "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: 7bit\r\n\r\n\
                Subject: inner\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=C3=9Cber\r\n";
    assert_eq!(out, want);
}

#[test]
fn what_cannot_be_converted_is_refused() {
    assert_eq!(
        to_seven_bit("Subject: Grüße\r\n\r\nx\r\n".as_bytes()),
        Err(Unconvertible::EightBitHeader)
    );
    assert_eq!(
        to_seven_bit("Content-Transfer-Encoding: base64\r\n\r\n\u{e9}\r\n".as_bytes()),
        Err(Unconvertible::BadlyEncoded("base64".into()))
    );
    let mut deep = String::new();
    for i in 0..=MAX_DEPTH {
        deep.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n"
        ));
    }
    deep.push_str("\r\né\r\n");
    assert_eq!(to_seven_bit(deep.as_bytes()), Err(Unconvertible::TooDeep));
}

/// Hostile shapes: pieces of MIME put together at random never panic, and
/// whatever is converted is 7-bit.
#[test]
fn random_structures_never_panic_and_convert_to_seven_bit() {
    const PIECES: [&[u8]; 12] = [
        b"--b\r\n",
        b"--b--\r\n",
        b"\r\n",
        b"\n",
        b"Content-Type: multipart/mixed; boundary=b\r\n",
        b"Content-Type: message/rfc822\r\n",
        b"Content-Transfer-Encoding: base64\r\n",
        b"Content-Type: text/plain\r\n",
        "é".as_bytes(),
        b"\xff\x00",
        b"x",
        b" folded\r\n",
    ];
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..20_000 {
        let len = (next() % 24) as usize;
        let raw: Vec<u8> = (0..len)
            .flat_map(|_| {
                PIECES[(next() % PIECES.len() as u64) as usize]
                    .iter()
                    .copied()
            })
            .collect();
        if let Ok(out) = to_seven_bit(&raw) {
            assert!(
                out.is_ascii(),
                "{:?} -> {:?}",
                String::from_utf8_lossy(&raw),
                String::from_utf8_lossy(&out)
            );
        }
    }
}

#[test]
fn adjacent_delimiters_make_an_empty_part() {
    let raw = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n--b\r\n\r\né\r\n--b--\r\n"
        .as_bytes();
    let out = String::from_utf8(to_seven_bit(raw).unwrap()).unwrap();
    assert!(
        out.contains(
            "--b\r\n--b\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=C3=A9\r\n--b--"
        ),
        "{out}"
    );
}
