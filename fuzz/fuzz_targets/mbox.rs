//! The mbox reader (`yijian_mailread::mbox`): separators, `>From ` unescaping, and the bound
//! on the bytes kept of one message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yijian_mailread::mbox::{MboxReader, is_mbox};

fuzz_target!(|data: &[u8]| {
    let _ = is_mbox(data);
    let mut reader = MboxReader::new(data).max_message_bytes(512);
    let mut total = 0;
    while let Some(message) = reader.next_sized() {
        let (raw, size) = message.expect("reading from memory cannot fail");
        assert!(raw.len() <= 513, "kept {} bytes of a message, the limit is 512 + 1", raw.len());
        assert!(size >= raw.len());
        total += size;
    }
    assert!(total <= data.len(), "{total} bytes of messages in {} bytes", data.len());
});
