//! The submission validation (`yijian_domain::comment::validate_submission` and the field
//! checks of `validate.rs`). A JSON object is validated whole; anything else is given to each
//! field check as text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yijian_domain::comment::{IntakeRules, validate_submission};
use yijian_domain::validate;

fuzz_target!(|data: &[u8]| {
    let today = jiff::civil::date(2025, 5, 13);
    if let Ok(serde_json::Value::Object(body)) = serde_json::from_slice::<serde_json::Value>(data) {
        let rules = IntakeRules {
            positions: vec!["公务员".into(), "教师".into(), "其他".into()],
            articles: (1..=20).collect(),
            max_opinion_chars: 5000,
        };
        let _ = validate_submission(&body, &rules, today);
        return;
    }
    let text = String::from_utf8_lossy(data);
    let _ = validate::name(&text);
    let _ = validate::id_number(&text, today);
    let _ = validate::phone(&text);
    let _ = validate::email(&text);
    let _ = validate::opinion(&text, 5000);
});
