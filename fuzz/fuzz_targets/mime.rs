//! The MIME reader (`yijian_mailread::parse`): headers, encoded words, charsets, multipart
//! structure, forwarded mail, HTML, attachments and their text; read whole and read cut short
//! as a large mail is.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yijian_mailread::parse::{Limits, parse, parse_beginning};

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_message_bytes: 1 << 20, ..Limits::default() };
    if let Ok(mail) = parse(data, &limits) {
        let _ = mail.comment_text();
        let _ = mail.omissions();
    }
    let _ = yijian_mailread::parse::message_id_of(data);
    // The same bytes as the first half of a message twice as large.
    let half = data.len() / 2;
    let cut = Limits { max_message_bytes: half.max(1), ..limits };
    if let Ok(mail) = parse_beginning(&data[..half], data.len(), &cut) {
        let _ = mail.omissions();
    }
});
