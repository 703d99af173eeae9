//! Writes the seed corpora of the fuzz targets (`fuzz/`) from the test data: the demo
//! consultation file, the mail corpus, its .docx and .pdf attachments, mbox archives of it,
//! subjects, and submissions. `scripts/fuzz` runs it; the seeds are not committed.
//!
//! Usage: `cargo run -p yijian-mailgen --example fuzz_seeds -- DIR [DEMO_FILE]`; writes
//! `DIR/<target>/<name>` for each target.

use std::fs;
use std::path::{Path, PathBuf};

use yijian_mailgen::corpus::{self, MailSpec};

fn put(dir: &Path, target: &str, name: &str, bytes: &[u8]) {
    let dir = dir.join(target);
    fs::create_dir_all(&dir).expect("create the seed directory");
    // Seeds stay small: libFuzzer's inputs are capped at a few hundred KB by scripts/fuzz.
    if bytes.len() <= 256 * 1024 {
        fs::write(dir.join(name), bytes).expect("write a seed");
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().expect("usage: fuzz_seeds DIR [DEMO_FILE]"));
    let demo = args.next().unwrap_or_else(|| "demo/ln-hrss-ai-2025.md".to_owned());

    // The consultation file parser.
    let demo_text = fs::read(&demo).expect("read the demo consultation file");
    put(&dir, "consultation_file", "demo.md", &demo_text);
    let demo_text = String::from_utf8_lossy(&demo_text);
    if let Some((front, _)) = demo_text.split_once("\n+++\n\n") {
        put(&dir, "consultation_file", "front-matter-only.md", format!("{front}\n+++\n").as_bytes());
    }

    // The mail reader, the router and the attachment extractors.
    let cases = corpus::corpus();
    for case in &cases {
        put(&dir, "mime", &format!("{}.eml", case.name), &case.raw);
        let subject = String::from_utf8_lossy(&case.raw)
            .lines()
            .find_map(|l| l.strip_prefix("Subject: ").map(str::to_owned))
            .unwrap_or_default();
        put(&dir, "route", &format!("{}.txt", case.name), subject.as_bytes());
    }
    for subject in [
        format!("《{}》", corpus::TITLE),
        format!("Re: 回复：关于《{}》的几点意见", corpus::TITLE),
        "转发：若干措施意见".to_owned(),
        "ＲＥ：人工智能高质量发展 征求意见稿".to_owned(),
    ] {
        put(&dir, "route", &format!("subject-{}.txt", subject.len()), subject.as_bytes());
    }
    let mails: Vec<Vec<u8>> = cases.iter().take(12).map(|c| c.raw.clone()).collect();
    put(&dir, "mbox", "corpus.mbox", &corpus::mbox(mails));
    put(&dir, "mbox", "bulk.mbox", &corpus::mbox(corpus::bulk(5, "《若干措施》意见", 7)));
    put(&dir, "mbox", "escaped.mbox", b"From a@b Tue May 13 10:00:00 2025\nSubject: x\n\n>From here\n>>From there\n\nFrom b@c Tue May 13 10:00:01 2025\r\nSubject: y\r\n\r\nbody\r\n");
    put(&dir, "docx", "opinion.docx", &corpus::docx(&["第一条意见", "第二条\t意见"]));
    put(&dir, "docx", "zip-bomb-declared.docx", &corpus::zip_bomb_docx_declared());
    put(&dir, "pdf", "opinion.pdf", &corpus::pdf(&["对第三条的意见", "建议延长期限"]));
    let with_attachments = MailSpec::simple("《若干措施》", "张三 <zhangsan@example.cn>", corpus::OPINIONS[0])
        .attach(corpus::AttachmentSpec::new(
            "意见.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            corpus::docx(&["附件里的意见"]),
        ))
        .attach(corpus::AttachmentSpec::new("意见.pdf", "application/pdf", corpus::pdf(&["PDF 里的意见"])));
    put(&dir, "mime", "with-docx-and-pdf.eml", &with_attachments.to_bytes());

    // The submission validation: whole JSON bodies, and single field values.
    let body = r#"{"name":"张三","id_number":"11010519491231002X","position":"公务员","phone":"138 0013 8000","email":"zhangsan@example.com","opinion":"建议第5条增加对中小企业的支持。","articles":[5]}"#;
    put(&dir, "submission", "good.json", body.as_bytes());
    put(
        &dir,
        "submission",
        "bad-types.json",
        br#"{"name":1,"id_number":null,"phone":["x"],"articles":"5","opinion":""}"#,
    );
    for (n, value) in [
        "(+86)13812345678",
        "（+86） 138 1234 5678",
        "024-22951510转8001",
        "010 6512 3456 ext. 8001",
        "+1 (415) 555-2671",
        "11010519491231002X",
        "110105491231002",
        "张三·阿不都",
        "zhangsan@example.com",
        "用户@例子.中国",
    ]
    .iter()
    .enumerate()
    {
        put(&dir, "submission", &format!("field-{n}.txt"), value.as_bytes());
    }
    eprintln!("seeds written under {}", dir.display());
}
