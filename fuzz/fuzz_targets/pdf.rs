//! The .pdf text extractor (`yijian_mailread::extract::pdf_text`): lopdf's parser, fonts and
//! content streams, under the whole-file inflation budget.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (text, charged) = yijian_mailread::extract::pdf_text_within(data, 10_000, 8 << 20);
    assert!(charged <= 8 << 20);
    if let Ok(text) = text {
        assert!(text.chars().count() <= 10_000);
    }
});
