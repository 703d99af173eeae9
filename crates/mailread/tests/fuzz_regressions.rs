//! Hostile inputs for the readers the fuzz targets of `fuzz/` exercise (nesting, bombs,
//! truncation, broken encodings, and any input a fuzz run finds a crash, hang or runaway
//! allocation with), replayed through the same calls as the target, each checked for what the
//! reader must still promise. An input lives in `tests/fuzz_regressions/TARGET/`, named after
//! what it is.

use std::path::Path;

use yijian_mailread::extract::{PDF_MAX_INFLATED, docx_text, pdf_text_within};
use yijian_mailread::mbox::MboxReader;
use yijian_mailread::parse::{Limits, parse, parse_beginning};
use yijian_mailread::route::{Route, RouteTarget, normalise_subject, route};

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
fn mime() {
    for (name, data) in inputs("mime") {
        eprintln!("{name}");
        let limits = Limits { max_message_bytes: 1 << 20, ..Limits::default() };
        if let Ok(mail) = parse(&data, &limits) {
            // All of it was read: nothing is said to be cut off.
            let _ = mail.comment_text();
            assert!(!mail.omissions().unwrap_or_default().contains("超过读取上限"), "{name}");
        }
        // Only the first half read: whatever is taken says that the rest was not.
        let half = data.len() / 2;
        let cut = Limits { max_message_bytes: half.max(1), ..limits };
        if let Ok(mail) = parse_beginning(&data[..half], data.len(), &cut) {
            let _ = mail.comment_text();
            let omitted = mail.omissions().unwrap_or_default();
            assert!(omitted.contains("超过读取上限"), "{name}: a cut message not said to be cut: {omitted:?}");
        }
    }
}

#[test]
fn mbox() {
    for (name, data) in inputs("mbox") {
        eprintln!("{name}");
        let mut reader = MboxReader::new(data.as_slice()).max_message_bytes(512);
        while let Some(message) = reader.next_sized() {
            let (raw, size) = message.unwrap();
            assert!(raw.len() <= 513 && size >= raw.len(), "{name}");
        }
    }
}

#[test]
fn docx() {
    for (name, data) in inputs("docx") {
        eprintln!("{name}");
        match docx_text(&data, 1 << 20, 10_000) {
            Ok(text) => assert!(text.chars().count() <= 10_000, "{name}"),
            // Said to the staff member in Chinese, never an empty or a raw library message.
            Err(why) => assert!(why.starts_with("Word 文件"), "{name}: {why}"),
        }
    }
}

#[test]
fn pdf() {
    for (name, data) in inputs("pdf") {
        eprintln!("{name}");
        let (text, charged) = pdf_text_within(&data, 10_000, 8 << 20);
        assert!(charged <= PDF_MAX_INFLATED, "{name}");
        match text {
            Ok(text) => assert!(text.chars().count() <= 10_000, "{name}"),
            Err(why) => assert!(why.starts_with("PDF"), "{name}: {why}"),
        }
    }
}

#[test]
fn route_subjects() {
    for (name, data) in inputs("route") {
        eprintln!("{name}");
        let text = String::from_utf8_lossy(&data);
        let mut lines = text.split('\n');
        let subject = lines.next().unwrap_or_default();
        let targets =
            vec![RouteTarget { consultation_id: "other".into(), phrases: lines.map(str::to_owned).collect() }];
        let once = normalise_subject(subject);
        assert_eq!(normalise_subject(&once), once, "{name}: normalising twice changes it");
        if let Route::To(id) = route(subject, &targets) {
            assert_eq!(id, "other", "{name}");
        }
    }
}
