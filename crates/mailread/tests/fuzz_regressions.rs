//! Every input the fuzz targets of `fuzz/` found a crash, hang or runaway allocation with,
//! replayed through the same calls as the target, so the fix stays fixed. An input lives in
//! `tests/fuzz_regressions/TARGET/`, named after what it found.

use std::path::Path;

use yijian_mailread::extract::{PDF_MAX_INFLATED, docx_text, pdf_text_within};
use yijian_mailread::mbox::MboxReader;
use yijian_mailread::parse::{Limits, parse, parse_beginning};
use yijian_mailread::route::{RouteTarget, normalise_subject, route};

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions").join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().is_some_and(|n| !n.to_string_lossy().starts_with('.')))
        .collect();
    files.sort();
    files.into_iter().map(|p| (p.display().to_string(), std::fs::read(&p).unwrap())).collect()
}

#[test]
fn mime() {
    for (name, data) in inputs("mime") {
        eprintln!("{name}");
        let limits = Limits { max_message_bytes: 1 << 20, ..Limits::default() };
        if let Ok(mail) = parse(&data, &limits) {
            let _ = mail.comment_text();
            let _ = mail.omissions();
        }
        let half = data.len() / 2;
        let cut = Limits { max_message_bytes: half.max(1), ..limits };
        let _ = parse_beginning(&data[..half], data.len(), &cut);
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
        let _ = docx_text(&data, 1 << 20, 10_000);
    }
}

#[test]
fn pdf() {
    for (name, data) in inputs("pdf") {
        eprintln!("{name}");
        let (_, charged) = pdf_text_within(&data, 10_000, 8 << 20);
        assert!(charged <= PDF_MAX_INFLATED, "{name}");
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
        let _ = normalise_subject(subject);
        let _ = route(subject, &targets);
    }
}
