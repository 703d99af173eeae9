//! The .docx text extractor (`yijian_mailread::extract::docx_text`): zip, relationships,
//! WordprocessingML, and the bound on inflated bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = yijian_mailread::extract::docx_text(data, 1 << 20, 10_000) {
        assert!(text.chars().count() <= 10_000);
    }
});
