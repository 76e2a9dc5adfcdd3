//! Which leaf holds an infection the scan found only in the raw message
//! (location part 0: the signature matched the message's bytes as a whole,
//! e.g. EICAR in a plain text part). `av.action = "replace"` needs a part
//! to replace; this looks at each leaf, decoded, on its own.

use crate::decode;
use crate::engine::Engine;
use crate::limits::Limits;
use crate::report::Verdict;
use postern_spam::mime;

impl Engine {
    /// The first leaf (numbered as in [`crate::ScanReport`]) found infected
    /// when scanned alone, or None when only the whole message matches.
    pub fn infected_leaf(&self, raw: &[u8], limits: &Limits) -> Option<usize> {
        let mut leaves = Vec::new();
        mime::walk(raw, |p| {
            if let Some(body) = p.body {
                leaves.push((p.encoding(), body));
            }
        });
        leaves.into_iter().enumerate().find_map(|(i, (enc, body))| {
            let data = match enc.as_str() {
                "base64" => decode::base64(body),
                "quoted-printable" => decode::quoted_printable(body),
                _ => body.to_vec(),
            };
            let found = self.scan_file(&data, limits).verdict;
            matches!(found, Verdict::Infected { .. }).then_some(i + 1)
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::{Engine, Limits, EICAR};

    #[test]
    fn the_text_part_holding_eicar() {
        let mut raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nhello\r\n--b\r\nContent-Type: text/plain\r\n\r\n".to_vec();
        raw.extend_from_slice(EICAR);
        raw.extend_from_slice(b"\r\n--b--\r\n");
        let e = Engine::builtin();
        assert_eq!(e.infected_leaf(&raw, &Limits::default()), Some(2));
        assert_eq!(
            e.infected_leaf(b"Subject: x\r\n\r\nclean\r\n", &Limits::default()),
            None
        );
    }
}
