//! Hostile inputs for the parsers the fuzz targets of `fuzz/` exercise (wrong types, deep
//! nesting, broken encodings, and any input a fuzz run finds a crash or hang with), replayed
//! through the same calls as the target, each checked for a specific answer. An input lives in
//! `tests/fuzz_regressions/TARGET/`, named after what it is.

use std::path::Path;

use yijian_domain::comment::{IntakeRules, validate_submission};
use yijian_domain::validate;

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions").join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().is_some_and(|n| !n.to_string_lossy().starts_with('.')))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} holds no inputs: the test would check nothing", dir.display());
    files.into_iter().map(|p| (p.display().to_string(), std::fs::read(&p).unwrap())).collect()
}

#[test]
fn consultation_file() {
    for (name, data) in inputs("consultation_file") {
        eprintln!("{name}");
        let text = String::from_utf8_lossy(&data);
        match yijian_domain::file::parse(&text) {
            // Whatever it accepts renders.
            Ok(file) => {
                let _ = file.meta.rendered_notice();
                let _ = file.document.canonical_text();
            }
            // A refusal says what is wrong, and where.
            Err(e) => assert!(!e.message.trim().is_empty(), "{name}: a refusal without a message"),
        }
    }
}

#[test]
fn submission() {
    let today = jiff::civil::date(2025, 5, 13);
    for (name, data) in inputs("submission") {
        eprintln!("{name}");
        if let Ok(serde_json::Value::Object(body)) = serde_json::from_slice::<serde_json::Value>(&data) {
            let rules = IntakeRules {
                positions: vec!["公务员".into(), "教师".into(), "其他".into()],
                articles: (1..=20).collect(),
                max_opinion_chars: 5000,
            };
            // These bodies are all hostile: each is refused, field by field.
            let errors = validate_submission(&body, &rules, today).expect_err(&name);
            assert!(!errors.is_empty(), "{name}");
            continue;
        }
        let text = String::from_utf8_lossy(&data);
        let _ = validate::name(&text);
        let _ = validate::id_number(&text, today);
        let _ = validate::phone(&text);
        let _ = validate::email(&text);
        // An opinion is never taken longer than the limit.
        if let Ok(opinion) = validate::opinion(&text, 5000) {
            assert!(opinion.chars().count() <= 5000, "{name}");
        }
    }
}
