//! The subject router (`yijian_mailread::route`): normalisation, reply prefixes, and the
//! choice between consultations. The first line is the subject; any further lines are the
//! phrases of a second consultation beside the demo's.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yijian_mailread::route::{Route, RouteTarget, normalise, normalise_subject, route};

const TITLE: &str = "辽宁省人力资源社会保障领域支持和保障人工智能高质量发展的若干措施（征求意见稿）";

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let subject = lines.next().unwrap_or_default();
    let phrases: Vec<String> = lines.map(str::to_owned).collect();
    let targets = vec![
        RouteTarget { consultation_id: "demo".into(), phrases: vec![TITLE.into(), "若干措施".into()] },
        RouteTarget { consultation_id: "other".into(), phrases },
    ];
    let _ = normalise(subject);
    let _ = normalise_subject(subject);
    if let Route::To(id) = route(subject, &targets) {
        assert!(id == "demo" || id == "other");
    }
});
