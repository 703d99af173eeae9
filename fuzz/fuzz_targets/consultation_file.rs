//! The consultation file parser (`yijian_domain::file::parse`): TOML front matter and the
//! Markdown body staff write by hand. Whatever it accepts must also render.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(file) = yijian_domain::file::parse(text) {
        let _ = file.meta.rendered_notice();
        let _ = file.meta.deadline_text(yijian_domain::Lang::En);
        let _ = file.document.canonical_text();
    }
});
