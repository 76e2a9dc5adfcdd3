//! The outbound client's `ReplyReader` on arbitrary server bytes, pushed in
//! pieces whose sizes come from the first byte. Checked:
//! - no panic; once an error is returned the input is abandoned, as the
//!   client abandons the connection;
//! - the buffer stays bounded: after `next_reply` says "need more", fewer
//!   than MAX_REPLY_LINE octets wait (so a server cannot make us buffer
//!   more than one line plus one read);
//! - every reply has a code of 200 to 599, at most MAX_REPLY_LINES lines,
//!   no control character in its text but the line separator and tab, and
//!   an enhanced code whose class is the code's first digit;
//! - `Capabilities::from_ehlo` takes any reply;
//! - pushed whole, the same replies come out (or an error, as well).
#![no_main]

use libfuzzer_sys::fuzz_target;
use postern_smtp::client::{
    Capabilities, Reply, ReplyError, ReplyReader, MAX_REPLY_LINE, MAX_REPLY_LINES,
};

fn check(reply: &Reply) {
    assert!((200..600).contains(&reply.code), "code {}", reply.code);
    assert!(reply.lines().count() <= MAX_REPLY_LINES);
    assert!(
        !reply
            .text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t'),
        "{:?}",
        reply.text
    );
    if let Some(e) = &reply.enhanced {
        assert_eq!(
            e.as_bytes()[0],
            b'0' + (reply.code / 100) as u8,
            "{e} in a {} reply",
            reply.code
        );
    }
    let _ = Capabilities::from_ehlo(reply);
    let _ = reply.to_string();
}

/// All replies, pushing `step` octets at a time.
fn read(data: &[u8], step: usize) -> Result<Vec<Reply>, ReplyError> {
    let mut reader = ReplyReader::default();
    let mut out = Vec::new();
    for piece in data.chunks(step.max(1)) {
        reader.push(piece);
        while let Some(reply) = reader.next_reply()? {
            check(&reply);
            out.push(reply);
        }
        assert!(
            reader.buffered() < MAX_REPLY_LINE,
            "{} octets buffered",
            reader.buffered()
        );
    }
    Ok(out)
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let pieces = read(rest, first as usize + 1);
    let whole = read(rest, rest.len());
    match (pieces, whole) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "replies differ when pushed in pieces"),
        (Err(_), Err(_)) => {}
        (a, b) => panic!("pushed in pieces: {a:?}, pushed whole: {b:?}"),
    }
});
