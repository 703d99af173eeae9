//! Streaming the messages out of an mbox archive (mboxo and mboxrd).
//!
//! An archive can be many gigabytes, so it is read line by line and only the message being
//! assembled is held in memory.

use std::io::{self, BufRead};

/// The messages of an mbox, one raw message at a time.
///
/// The `From ` separator line is dropped, and `>From ` lines (any number of `>`) lose one `>`,
/// which undoes mboxrd's escaping (and mboxo's, for the lines it escaped). A separator is a
/// line that looks like one — `From sender date` with a time and a year — so an unescaped
/// `From here on…` in a body written by a careless program stays in the body. The blank line
/// that writers put between messages is not part of a message.
pub struct MboxReader<R: BufRead> {
    reader: R,
    line: Vec<u8>,
    /// The separator of the next message was read at the end of the previous one.
    next_started: bool,
    done: bool,
    max_message_bytes: usize,
}

impl<R: BufRead> MboxReader<R> {
    /// Reads messages from `reader`.
    pub fn new(reader: R) -> Self {
        MboxReader {
            reader,
            line: Vec::with_capacity(1024),
            next_started: false,
            done: false,
            max_message_bytes: usize::MAX,
        }
    }

    /// Keeps at most `max + 1` bytes of any one message: enough for
    /// [`parse_beginning`](crate::parse::parse_beginning) with the same limit to read what fits
    /// and record what did not, and a bound on memory that does not depend on what is in the
    /// archive.
    pub fn max_message_bytes(mut self, max: usize) -> Self {
        self.max_message_bytes = max.saturating_add(1);
        self
    }

    /// The next message (at most the bytes kept, see [`Self::max_message_bytes`]) with the
    /// size the whole message has in the archive.
    pub fn next_sized(&mut self) -> Option<io::Result<(Vec<u8>, usize)>> {
        if self.done {
            return None;
        }
        let mut message = Vec::new();
        let mut size = 0usize;
        let mut started = std::mem::take(&mut self.next_started);
        loop {
            self.line.clear();
            match self.reader.read_until(b'\n', &mut self.line) {
                Ok(0) => {
                    self.done = true;
                    return started.then(|| Ok(finish(message, size)));
                }
                Ok(_) => {}
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
            if is_separator(&self.line) {
                if started {
                    self.next_started = true;
                    return Some(Ok(finish(message, size)));
                }
                started = true;
                continue;
            }
            if !started {
                // Blank lines before the first separator are nothing; anything else is a
                // message whose separator is missing, kept rather than lost.
                if self.line.trim_ascii().is_empty() {
                    continue;
                }
                started = true;
            }
            let line = self.line.as_slice();
            let quotes = line.iter().take_while(|b| **b == b'>').count();
            let line = if quotes > 0 && line[quotes..].starts_with(b"From ") { &line[1..] } else { line };
            let room = self.max_message_bytes.saturating_sub(message.len());
            message.extend_from_slice(&line[..line.len().min(room)]);
            size += line.len();
        }
    }
}

impl<R: BufRead> Iterator for MboxReader<R> {
    type Item = io::Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_sized().map(|m| m.map(|(message, _)| message))
    }
}

/// Drops the blank line that separates a message from the next separator (from the size too).
fn finish(mut message: Vec<u8>, mut size: usize) -> (Vec<u8>, usize) {
    let blank = if message.ends_with(b"\r\n\r\n") {
        2
    } else if message.ends_with(b"\n\n") {
        1
    } else {
        0
    };
    message.truncate(message.len() - blank);
    size -= blank;
    (message, size)
}

/// `From sender Tue May 13 10:00:00 2025` (possibly with a zone or more after the year).
fn is_separator(line: &[u8]) -> bool {
    let Some(rest) = line.strip_prefix(b"From ") else {
        return false;
    };
    let rest = String::from_utf8_lossy(rest);
    let tokens: Vec<&str> = rest.split_ascii_whitespace().collect();
    let has_time = tokens.iter().any(|t| {
        let mut parts = t.split(':');
        matches!((parts.next(), parts.next()), (Some(h), Some(m))
            if (1..=2).contains(&h.len()) && h.bytes().all(|b| b.is_ascii_digit())
                && m.len() >= 2 && m.bytes().take(2).all(|b| b.is_ascii_digit()))
    });
    let has_year = tokens.iter().any(|t| t.len() == 4 && t.bytes().all(|b| b.is_ascii_digit()));
    tokens.len() >= 3 && has_time && has_year
}

/// Whether a file starting with `first_bytes` is an mbox (it starts with a `From ` line) rather
/// than a single message (which starts with a header field).
pub fn is_mbox(first_bytes: &[u8]) -> bool {
    first_bytes.starts_with(b"From ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(mbox: &[u8]) -> Vec<Vec<u8>> {
        MboxReader::new(mbox).collect::<io::Result<Vec<_>>>().unwrap()
    }

    #[test]
    fn splits_unescapes_and_drops_separators() {
        let mbox = b"From a@example.cn Tue May 13 10:00:00 2025\n\
            Subject: one\n\n>From the start\n>>From two\nFrom here on, unescaped\n\n\
            From b@example.cn Tue May 13 10:01:00 2025 +0800\n\
            Subject: two\n\nbody\n";
        let got = messages(mbox);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0], b"Subject: one\n\nFrom the start\n>From two\nFrom here on, unescaped\n");
        assert_eq!(got[1], b"Subject: two\n\nbody\n");
    }

    #[test]
    fn crlf_and_missing_first_separator() {
        let got = messages(
            b"\r\nSubject: x\r\n\r\nbody\r\n\r\nFrom MAILER-DAEMON Fri Jul  8 12:08:34 2011\r\nSubject: y\r\n\r\nz\r\n",
        );
        assert_eq!(got, [b"Subject: x\r\n\r\nbody\r\n".to_vec(), b"Subject: y\r\n\r\nz\r\n".to_vec()]);
        assert!(messages(b"").is_empty());
        assert!(messages(b"\n\n").is_empty());
    }

    #[test]
    fn a_message_over_the_cap_is_cut_one_byte_past_it() {
        let body = "x".repeat(10_000);
        let mbox = format!(
            "From a@b Tue May 13 10:00:00 2025\nSubject: big\n\n{body}\n\nFrom a@b Tue May 13 10:01:00 2025\nSubject: small\n\nok\n"
        );
        let got: Vec<Vec<u8>> =
            MboxReader::new(mbox.as_bytes()).max_message_bytes(100).collect::<io::Result<_>>().unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].len(), 101);
        assert!(got[0].starts_with(b"Subject: big\n\nxxx"));
        assert_eq!(got[1], b"Subject: small\n\nok\n");
    }

    #[test]
    fn mbox_or_eml() {
        assert!(is_mbox(b"From x@y Tue May 13 10:00:00 2025\n"));
        assert!(!is_mbox(b"From: x@y\n"));
        assert!(!is_mbox(b"Received: from x\n"));
    }
}
