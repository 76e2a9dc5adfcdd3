//! The path a client's bytes take before any command runs, without a
//! socket: the framer (lines, literals and their limits, APPEND's streamed
//! message literal), then the parsers the session tries in turn — imap-codec,
//! the SEARCH RETURN and extended LIST pre-parsers, APPEND's head (with
//! RFC 6855 UTF8 data) — and the SEARCH compiler. For the fuzz target
//! `fuzz/fuzz_targets/imap_command.rs` and the corpus test below: whatever
//! the input, this must return, never panic, and hold no more than the
//! framer's limits in memory.

use super::{append, esearch, list_ext, utf8};
use crate::frame::{self, Frame};
use crate::{MAX_LITERAL, MAX_LITERAL_UNAUTH};
use imap_codec::decode::Decoder;
use imap_codec::imap_types::command::{Command, CommandBody};
use imap_codec::CommandCodec;
use postern_net::{Conn, MaybeTls};

/// Feeds `data` as one client's whole input, once as before login and once
/// as after (larger literals, APPEND streamed); the commands framed.
pub fn feed_client_bytes(data: &[u8]) -> usize {
    thread_local! {
        static RT: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime");
    }
    RT.with(|rt| rt.block_on(async { frames(data, false).await + frames(data, true).await }))
}

async fn frames(data: &[u8], logged_in: bool) -> usize {
    let stream = tokio::io::join(std::io::Cursor::new(data.to_vec()), tokio::io::sink());
    let mut conn = Conn::new(MaybeTls::Plain(stream));
    let (limit, streamed) = match logged_in {
        false => (MAX_LITERAL_UNAUTH, None),
        true => (
            MAX_LITERAL,
            Some(append::is_message_literal as frame::StreamedLiteral),
        ),
    };
    let mut count = 0;
    loop {
        let Ok(f) = frame::read_command(&mut conn, limit, streamed).await else {
            return count;
        };
        count += 1;
        match f {
            Frame::Eof => return count - 1,
            Frame::Command(bytes) => parse(&bytes),
            Frame::Streamed { head, len, .. } => {
                let _ = append::parse_head(&head, false);
                let _ = append::parse_head(&head, true);
                if !skip(&mut conn, len).await {
                    return count;
                }
                if let Ok(postern_net::Line::Text(rest)) = conn.read_line(crate::MAX_LINE).await {
                    let _ = utf8::after_utf8_literal(&rest);
                }
            }
            Frame::LineTooLong { .. } | Frame::LiteralTooBig { .. } => {}
        }
    }
}

/// The parsers `Session::command` tries, in its order.
fn parse(bytes: &[u8]) {
    let _ = frame::tag_of(bytes);
    if let Ok((_, cmd)) = CommandCodec::default().decode(bytes) {
        compile(&cmd);
        return;
    }
    if let Some(Ok((_, rest))) = esearch::parse(bytes) {
        if let Ok((_, cmd)) = CommandCodec::default().decode(&rest) {
            compile(&cmd);
        }
        return;
    }
    let _ = list_ext::parse(bytes);
}

fn compile(cmd: &Command<'_>) {
    if let CommandBody::Search { criteria, .. } = &cmd.body {
        let _ = crate::search::compile(criteria.as_ref(), 10, 20);
    }
}

/// Drops up to `n` octets of a streamed literal; false at the end of input.
async fn skip<S>(conn: &mut Conn<S>, mut n: u64) -> bool
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    while n > 0 {
        if conn.buffered().is_empty() && !matches!(conn.fill().await, Ok(true)) {
            return false;
        }
        let take = (n as usize).min(conn.buffered().len());
        conn.consume(take);
        n -= take as u64;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tricky inputs the fuzz target starts from; each must come back.
    #[test]
    fn tricky_inputs_neither_panic_nor_hang() {
        let deep = format!("a SEARCH {}ALL{}\r\n", "(".repeat(5000), ")".repeat(5000));
        let not = format!("a SEARCH {}ALL\r\n", "NOT ".repeat(5000));
        let or = format!("a SEARCH {}ALL\r\n", "OR ALL ".repeat(3000));
        let long = format!("a NOOP {}\r\n", "x".repeat(crate::MAX_LINE + 10));
        let mut cases: Vec<Vec<u8>> = [
            "a LOGIN {4294967295}\r\n",
            "a LOGIN {4294967295+}\r\nabc",
            "a APPEND INBOX {4294967295}\r\n",
            "a APPEND INBOX {99999999999999999999999}\r\n",
            "a APPEND INBOX UTF8 (~{5+}\r\nhello)\r\n",
            "a APPEND INBOX UTF8 (~{5+}\r\nhello\r\n",
            "a APPEND INBOX utf8 (~{0}\r\n",
            "a APPEND {5}\r\nDraft (\\Seen) {3}\r\nabc {2+}\r\nde\r\n",
            "a LOGIN \"unterminated\r\n",
            "a SELECT \"Gr\u{fc}\u{df}e\r\n",
            "a SEARCH $\r\n",
            "a UID SEARCH RETURN (SAVE MIN) $ UNSEEN\r\n",
            "a SEARCH RETURN (",
            "a LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (\"*\" {2}\r\n%%)",
            "a LIST \"\" \"&Jjo!\"\r\n",
            "a ENABLE UTF8=ACCEPT UTF8=ONLY CONDSTORE QRESYNC\r\n",
            "a FETCH 1:* (BODY[1.2.3.4.5.6.7.8.9.HEADER.FIELDS (a b c)]<0.4294967295>)\r\n",
            "a UID FETCH 4294967295:4294967296 FLAGS\r\n",
            "{5}\r\n",
            "}\r\n{\r\n{{}}\r\n",
            "",
            "\r\n\r\n\r\n",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        for s in [deep, not, or, long] {
            cases.push(s.into_bytes());
        }
        cases.push(b"a LOGIN a\0b c\r\n\0\0\0\r\n".to_vec());
        cases.push(b"a SELECT \"\xff\xfe\x80\"\r\na CREATE \xc3\x28\r\n".to_vec());
        cases.push(b"a APPEND INBOX ~{4}\r\n\0\x01\x02\x03\r\n".to_vec());
        cases.push((0..=255u8).collect());
        for c in &cases {
            feed_client_bytes(c);
        }
        assert_eq!(feed_client_bytes(b"a NOOP\r\nb NOOP\r\n"), 4);
        assert_eq!(
            feed_client_bytes(b"a LOGIN {3}\r\nbob pw\r\n"),
            2,
            "one command, framed once in each state"
        );
    }
}
