//! Every mail of the generated corpus read and checked field by field; hostile variants of
//! each; mbox round trips; the zip bomb refused within bounded memory.

use std::io::{BufReader, Cursor};
use std::time::{Duration, Instant};

use yijian_mailgen::corpus::{self, Case, Charset, MailSpec, TransferEncoding};
use yijian_mailread::extract;
use yijian_mailread::mbox::{MboxReader, is_mbox};
use yijian_mailread::parse::{Limits, ParsedMail, Rejection, parse};

fn kind(rejection: &Rejection) -> &'static str {
    match rejection {
        Rejection::Malformed(_) => "malformed",
        Rejection::NoText => "no-text",
    }
}

/// The differences between what reading `case` gave and what it should have.
fn check(case: &Case, limits: &Limits) -> Vec<String> {
    let e = &case.expect;
    let mut wrong = Vec::new();
    let mail = match (parse(&case.raw, limits), e.rejected) {
        (Err(r), Some(expected)) => {
            if kind(&r) != expected {
                wrong.push(format!("rejected as {} ({r}), expected {expected}", kind(&r)));
            }
            return wrong;
        }
        (Err(r), None) => return vec![format!("rejected: {r}")],
        (Ok(_), Some(expected)) => return vec![format!("accepted, expected {expected}")],
        (Ok(mail), None) => mail,
    };
    let mut same = |what: &str, got: &dyn std::fmt::Debug, want: &dyn std::fmt::Debug| {
        let (got, want) = (format!("{got:?}"), format!("{want:?}"));
        if got != want {
            wrong.push(format!("{what}: got {got}, want {want}"));
        }
    };
    let contains = |got: &Option<String>, want: &Option<String>| match (got, want) {
        (Some(g), Some(w)) => g.contains(w.as_str()),
        (g, w) => g.is_none() && w.is_none(),
    };
    same("subject", &mail.subject, &e.subject);
    if let Some(text) = &e.text {
        same("text", &mail.text, text);
    }
    if let Some(comment) = &e.comment_text {
        same("comment_text", &mail.comment_text(), comment);
    }
    same("from_name", &mail.from_name, &e.from_name);
    same("from_address", &mail.from_address, &e.from_address);
    same("author_name", &mail.author_name, &e.author_name);
    same("author_address", &mail.author_address, &e.author_address);
    same("forwarded", &mail.forwarded, &e.forwarded);
    same("message_id", &mail.message_id, &e.message_id);
    same("date", &mail.date.map(|d| d.to_string()), &e.date);
    same("auto_reply_block", &mail.auto_reply_block, &e.auto_reply_block);
    same("attachment count", &mail.attachments.len(), &e.attachments.len());
    for (got, want) in mail.attachments.iter().zip(&e.attachments) {
        let name = &want.filename;
        same(&format!("{name}: filename"), &got.filename, &want.filename);
        same(&format!("{name}: content_type"), &got.content_type, &want.content_type);
        same(&format!("{name}: size"), &got.size, &want.size);
        same(&format!("{name}: text"), &got.text, &want.text);
        same(&format!("{name}: kept"), &got.bytes.is_some(), &want.omitted.is_none());
        if !contains(&got.omitted, &want.omitted) {
            same(&format!("{name}: omitted"), &got.omitted, &want.omitted);
        }
        if !contains(&got.note, &want.note) {
            same(&format!("{name}: note"), &got.note, &want.note);
        }
    }
    for part in &e.text_contains {
        if !mail.text.contains(part.as_str()) {
            wrong.push(format!("text lacks {part:?}: {:?}", mail.text));
        }
    }
    for part in &e.text_excludes {
        if mail.text.contains(part.as_str()) {
            wrong.push(format!("text has {part:?}: {:?}", mail.text));
        }
    }
    for part in &e.full_text_contains {
        if !mail.full_text.contains(part.as_str()) {
            wrong.push(format!("full_text lacks {part:?}: {:?}", mail.full_text));
        }
    }
    wrong
}

#[test]
fn every_corpus_mail_reads_as_expected() {
    let limits = Limits::default();
    let cases = corpus::corpus();
    let mut failures = Vec::new();
    for case in &cases {
        for problem in check(case, &limits) {
            failures.push(format!("{}: {problem}", case.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(cases.len() >= 50);
}

#[test]
fn the_corpus_covers_what_the_reader_must_handle() {
    let names: Vec<&str> = corpus::corpus().iter().map(|c| c.name).collect();
    for needed in [
        "gbk-x-gbk",
        "gbk-cp936",
        "gbk-gb_2312-80",
        "gbk-eucgb2312_cn",
        "gbk-gb2312",
        "gbk-gbk",
        "gb18030-four-byte",
        "big5-x-big5",
        "undeclared-gbk",
        "html-only",
        "multipart-alternative",
        "subject-split-inside-character-b",
        "subject-and-name-split-inside-character-q",
        "reply-qq-mail",
        "reply-outlook-chinese",
        "reply-gmail-english",
        "forward-inline-gmail",
        "forward-message-rfc822",
        "docx-only-no-body",
        "pdf-attachment",
        "txt-attachment-gbk-rfc2231-continuations",
        "image-only-kept-not-opened",
        "oversized-attachment",
        "too-many-attachments",
        "zip-bomb-docx",
        "malformed-multipart-without-boundary",
        "malformed-not-headers",
        "no-usable-text",
        "auto-submitted",
        "list-mail",
        "no-reply-sender",
        "null-return-path",
        "no-message-id",
        "duplicate-message-id-a",
        "duplicate-message-id-b",
    ] {
        assert!(names.contains(&needed), "corpus lacks {needed}");
    }
}

#[test]
fn references_and_duplicate_message_ids() {
    let cases = corpus::corpus();
    let find = |name: &str| {
        let case = cases.iter().find(|c| c.name == name).expect(name);
        parse(&case.raw, &Limits::default()).expect(name)
    };
    assert_eq!(find("references").references, ["first@example.cn", "ack-1@hrss.example.gov.cn"]);
    let a = find("duplicate-message-id-a");
    let b = find("duplicate-message-id-b");
    assert_eq!(a.message_id.as_deref(), Some("resent-2025-05-13@example.cn"));
    assert_eq!(a.message_id, b.message_id);
    assert_ne!(a.text, b.text);
    assert_eq!(find("no-message-id").message_id, None);
}

#[test]
fn a_comment_sent_as_a_word_file_is_searchable() {
    let cases = corpus::corpus();
    let case = cases.iter().find(|c| c.name == "docx-only-no-body").unwrap();
    let mail = parse(&case.raw, &Limits::default()).unwrap();
    assert_eq!(mail.text, "");
    assert!(mail.comment_text().contains("第八条建议\t明确社保责任"));
    assert!(mail.comment_text().starts_with("〔附件：意见.docx〕\n"));
}

#[test]
fn rejections_explain_themselves_in_chinese_then_english() {
    assert_eq!(Rejection::NoText.to_string(), "邮件没有可读的文字 (no usable text)");
    let malformed = parse(b"garbage", &Limits::default()).unwrap_err();
    assert!(matches!(malformed, Rejection::Malformed(_)));
    assert!(malformed.reason().ends_with("(malformed message)"), "{malformed}");
    assert!(!malformed.reason().contains('\n'));
}

#[test]
fn an_attachment_budget_is_shared_by_the_whole_mail() {
    let txt = "第一条意见。".repeat(10);
    let spec = MailSpec::simple("s", "a@example.cn", "正文")
        .attach(corpus::AttachmentSpec::new("a.txt", "text/plain", txt.as_bytes().to_vec()))
        .attach(corpus::AttachmentSpec::new("b.txt", "text/plain", txt.as_bytes().to_vec()));
    let limits = Limits { max_extracted_chars: 80, ..Limits::default() };
    let mail = parse(&spec.to_bytes(), &limits).unwrap();
    assert_eq!(mail.attachments[0].text.as_deref(), Some(txt.as_str()));
    assert_eq!(mail.attachments[0].note, None);
    assert_eq!(mail.attachments[1].text.as_ref().map(|t| t.chars().count()), Some(20));
    assert!(mail.attachments[1].note.as_deref().unwrap().contains("只收录了前 20 字"));
}

/// Truncated and garbled variants of a mail.
fn variants(raw: &[u8], seed: u64) -> Vec<Vec<u8>> {
    let mut rng = corpus::Rng::new(seed);
    let mut out = Vec::new();
    let len = raw.len();
    let header_end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(len / 2);
    for cut in
        [0, 1, header_end, header_end + 2, header_end + 5, len / 3, len / 2, len - len / 5, len.saturating_sub(1)]
    {
        out.push(raw[..cut.min(len)].to_vec());
    }
    for _ in 0..4 {
        let mut garbled = raw.to_vec();
        for _ in 0..1 + len / 200 {
            if garbled.is_empty() {
                break;
            }
            let at = rng.below(garbled.len());
            garbled[at] = rng.next_u64() as u8;
        }
        out.push(garbled);
    }
    // Line ends lost, doubled or turned into bare CR; NUL bytes; halves swapped.
    out.push(raw.iter().copied().filter(|b| *b != b'\n').collect());
    out.push(raw.iter().flat_map(|b| if *b == b'\n' { vec![b'\n', b'\n'] } else { vec![*b] }).collect());
    out.push(raw.iter().map(|b| if *b == b'\n' { b'\r' } else { *b }).collect());
    out.push(raw.iter().flat_map(|b| [*b, 0]).take(4096).collect());
    out.push([&raw[len / 2..], &raw[..len / 2]].concat());
    // Every "--" line repeated, confusing multipart delimiters.
    let mut doubled = Vec::new();
    for line in raw.split_inclusive(|b| *b == b'\n') {
        doubled.extend_from_slice(line);
        if line.starts_with(b"--") {
            doubled.extend_from_slice(line);
        }
    }
    out.push(doubled);
    out
}

#[test]
fn hostile_variants_of_every_mail_never_panic() {
    // Small limits keep the large cases quick; the paths taken are the same.
    let limits = Limits { max_unpacked_bytes: 1024 * 1024, ..Limits::default() };
    let mut total = 0;
    let mut per_variant = [0usize; 32];
    let cases = corpus::corpus();
    let readable = cases.iter().filter(|c| c.expect.rejected.is_none()).count();
    for (i, case) in cases.iter().enumerate() {
        for (v, variant) in variants(&case.raw, i as u64).into_iter().enumerate() {
            total += 1;
            match parse(&variant, &limits) {
                Ok(mail) => {
                    per_variant[v] += 1;
                    assert!(!mail.comment_text().trim().is_empty(), "{}", case.name);
                }
                Err(rejection) => assert!(!rejection.reason().is_empty()),
            }
        }
    }
    assert!(total > 800, "{total}");
    // Damage that leaves the mail readable must not lose it: a missing last byte, delimiter
    // lines repeated, and (for nearly all) a few random bytes changed.
    assert_eq!(per_variant[8], readable, "{per_variant:?}");
    assert_eq!(per_variant[18], readable, "{per_variant:?}");
    for garbled in &per_variant[9..13] {
        assert!(garbled * 5 >= readable * 4, "{per_variant:?}");
    }
    // Nothing of a mail that starts with a NUL byte is a header.
    assert_eq!(per_variant[16], 0, "{per_variant:?}");
}

#[test]
fn extractors_survive_hostile_files() {
    let cases = [corpus::docx(&["第一段", "第二段"]), corpus::pdf(&["第一行", "second line"]), corpus::zip_bomb_docx()];
    let mut rng = corpus::Rng::new(99);
    // Every damaged file gives text within the budget or a reason that says nothing was taken.
    let judge = |what: &str, result: Result<String, String>| match result {
        Ok(text) => assert!(text.chars().count() <= 1000, "{what}: {} chars", text.chars().count()),
        Err(reason) => assert!(reason.ends_with("未提取文字"), "{what}: {reason}"),
    };
    for file in &cases {
        for cut in [0, 10, file.len() / 3, file.len() / 2, file.len() - 1] {
            judge("docx", extract::docx_text(&file[..cut], 1 << 20, 1000));
            judge("pdf", extract::pdf_text(&file[..cut], 1000));
            assert!(extract::txt_text(&file[..cut], 1000).chars().count() <= 1000);
        }
        assert!(extract::docx_text(&file[..10], 1 << 20, 1000).is_err());
        assert!(extract::pdf_text(&file[..10], 1000).is_err());
        for _ in 0..20 {
            let mut garbled = file.clone();
            for _ in 0..8 {
                let at = rng.below(garbled.len());
                garbled[at] = rng.next_u64() as u8;
            }
            judge("garbled docx", extract::docx_text(&garbled, 1 << 20, 1000));
            judge("garbled pdf", extract::pdf_text(&garbled, 1000));
        }
    }
    assert_eq!(extract::pdf_text(&corpus::pdf(&["第一行", "second line"]), 1000).as_deref(), Ok("第一行\nsecond line"));
    assert_eq!(extract::pdf_text(&corpus::pdf(&["第一行"]), 2).as_deref(), Ok("第一"));
    let scan = corpus::pdf(&[]);
    assert!(extract::pdf_text(&scan, 1000).unwrap_err().contains("无文字层"));
}

#[test]
fn zip_bombs_are_refused_quickly_in_bounded_memory() {
    // Peak memory is per process, and the other tests here run alongside in threads: measure
    // in a child process that runs only `zip_bomb_child`.
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "zip_bomb_child", "--test-threads=1", "--nocapture"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The peak resident memory of this process so far (Linux), in bytes.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[test]
#[ignore = "run by zip_bombs_are_refused_quickly_in_bounded_memory in a process of its own"]
fn zip_bomb_child() {
    let lying = corpus::zip_bomb_docx();
    let honest = corpus::zip_bomb_docx_declared();
    let limit = Limits::default().max_unpacked_bytes;
    let before = peak_rss();
    let started = Instant::now();
    let lying_result = extract::docx_text(&lying, limit, 100_000);
    let honest_result = extract::docx_text(&honest, limit, 100_000);
    // Declared small but inflating past the limit: what zip's own size check or ours stops.
    let unbounded_result = extract::docx_text(&honest, corpus::ZIP_BOMB_INFLATED * 2, 100_000);
    let elapsed = started.elapsed();
    let after = peak_rss();

    assert!(lying_result.as_ref().unwrap_err().contains("未提取文字"), "{lying_result:?}");
    assert_eq!(honest_result.unwrap_err(), "Word 文件解压后超过 50 MB，未提取文字");
    // With a limit above the bomb's size it is read through, streaming, to its one word.
    assert_eq!(unbounded_result.as_deref(), Ok("bomb"));
    assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");
    if let (Some(before), Some(after)) = (before, after) {
        let grown = after.saturating_sub(before);
        assert!(grown < 16 * 1024 * 1024, "peak memory grew by {grown} bytes");
    }
}

#[test]
fn mbox_round_trip_keeps_every_mail_byte_for_byte() {
    let mut mails: Vec<Vec<u8>> = corpus::corpus().into_iter().map(|c| c.raw).collect();
    mails.retain(|m| m.len() < 1024 * 1024);
    let tricky = MailSpec::simple(
        "From lines",
        "a@example.cn",
        "From the start, I support it.\n>From a quote\n>>From deeper\nFrom: not a header\n\nFrom a@b Tue May 13 10:00:00 2025\n",
    )
    .charset(Charset::Utf8, TransferEncoding::EightBit)
    .to_bytes();
    mails.push(tricky.clone());
    let archive = corpus::mbox(mails.clone());
    assert!(is_mbox(&archive));
    assert!(!is_mbox(&tricky));
    let read: Vec<Vec<u8>> =
        MboxReader::new(BufReader::new(Cursor::new(&archive))).collect::<std::io::Result<_>>().unwrap();
    assert_eq!(read.len(), mails.len());
    for (got, want) in read.iter().zip(&mails) {
        assert_eq!(got, want, "{}", String::from_utf8_lossy(want));
    }
    let mail = parse(read.last().unwrap(), &Limits::default()).unwrap();
    assert_eq!(
        mail.full_text,
        "From the start, I support it.\n>From a quote\n>>From deeper\nFrom: not a header\n\nFrom a@b Tue May 13 10:00:00 2025"
    );
}

#[test]
fn bulk_mails_stream_through_mbox_and_all_read() {
    let n = 2_000;
    let archive = corpus::mbox(corpus::bulk(n, &format!("《{}》意见", corpus::TITLE), 7));
    let started = Instant::now();
    let mut ids = std::collections::HashSet::new();
    let mut with_attachment_text = 0;
    for raw in MboxReader::new(BufReader::with_capacity(64 * 1024, Cursor::new(&archive))) {
        let mail: ParsedMail = parse(&raw.unwrap(), &Limits::default()).unwrap();
        assert!(mail.text.chars().count() >= 20, "{:?}", mail.text);
        assert!(mail.date.is_some());
        assert!(mail.subject.contains(corpus::TITLE));
        if mail.attachments.iter().any(|a| a.text.is_some()) {
            with_attachment_text += 1;
        }
        assert!(ids.insert(mail.message_id.unwrap()));
    }
    let elapsed = started.elapsed();
    assert_eq!(ids.len(), n);
    assert!((100..400).contains(&with_attachment_text), "{with_attachment_text}");
    eprintln!("read {n} mails from an mbox in {elapsed:?}");
}
