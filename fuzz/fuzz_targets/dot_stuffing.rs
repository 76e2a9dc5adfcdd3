//! Every stored body the server sends as a dot-terminated stream must arrive
//! whole and end exactly at its own terminator: POP3 RETR's stuffer
//! (`postern_pop3::dot::Stuffer`) and the SMTP client's DATA encoder
//! (`postern_smtp::client::wire::BodyEncoder`), each read back by the SMTP
//! server's own DATA decoder. BDAT output has only CR LF line ends. The
//! first byte is the split point (the encoders are fed in two pieces). POP3
//! serves a NUL octet as 0x80.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postern_pop3::dot::Stuffer;
use postern_smtp::client::wire::BodyEncoder;
use postern_smtp::dot::DotDecoder;

fn content(b: &[u8]) -> Vec<u8> {
    b.iter().copied().filter(|&c| c != b'\r' && c != b'\n').collect()
}

/// What POP3 serves for stored content: a NUL octet goes out as 0x80 (issue 13 item 3).
fn without_nul(b: &[u8]) -> Vec<u8> {
    b.iter().map(|&c| if c == 0 { 0x80 } else { c }).collect()
}

fn decodes_to_whole(wire: &[u8], input: &[u8]) {
    let mut dec = DotDecoder::default();
    let mut out = Vec::new();
    let used = dec.feed(wire, &mut out);
    assert!(dec.is_done() && used == wire.len(), "the terminator is exactly at the end");
    assert_eq!(content(&out), content(input), "no content lost or added");
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, body)) = data.split_first() else {
        return;
    };
    let (a, b) = body.split_at((split as usize).min(body.len()));

    let mut pop3 = Vec::new();
    let mut s = Stuffer::whole();
    s.feed(a, &mut pop3);
    s.feed(b, &mut pop3);
    s.finish(&mut pop3);
    decodes_to_whole(&pop3, &without_nul(body));

    let mut data_wire = Vec::new();
    let mut e = BodyEncoder::data();
    e.encode(a, &mut data_wire);
    e.encode(b, &mut data_wire);
    e.finish(&mut data_wire);
    decodes_to_whole(&data_wire, body);

    let mut bdat = Vec::new();
    let mut e = BodyEncoder::bdat();
    e.encode(a, &mut bdat);
    e.encode(b, &mut bdat);
    e.finish(&mut bdat);
    assert_eq!(content(&bdat), content(body));
    for (i, &c) in bdat.iter().enumerate() {
        match c {
            b'\r' => assert_eq!(bdat.get(i + 1), Some(&b'\n'), "bare CR in BDAT output"),
            b'\n' => assert!(i > 0 && bdat[i - 1] == b'\r', "bare LF in BDAT output"),
            _ => {}
        }
    }
});
