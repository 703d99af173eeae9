//! The bounds on what one mail may make us read: a mail larger than the limit keeps its text
//! and records what was left out; a PDF stops inflating at its budget.

use yijian_mailgen::corpus::{AttachmentSpec, MailSpec};
use yijian_mailread::extract::{PDF_MAX_INFLATED, pdf_text, pdf_text_within};
use yijian_mailread::parse::{Limits, parse, parse_beginning};

const MB: usize = 1024 * 1024;
const OPINION: &str = "建议第三条的补贴申请时限延长到六个月。";

/// A 41 MB mail: a line of opinion, then a 30 MB attachment (base64 makes it 41 MB).
fn large_mail() -> Vec<u8> {
    let attachment: Vec<u8> = (0..30 * MB).map(|i| (i * 7 % 251) as u8).collect();
    MailSpec::simple("《某办法》意见", "张三 <zhangsan@example.cn>", OPINION)
        .attach(AttachmentSpec::new("材料.zip", "application/zip", attachment))
        .to_bytes()
}

#[test]
fn a_41_mb_mail_with_a_30_mb_attachment_keeps_its_text_and_names_the_attachment_left_out() {
    let raw = large_mail();
    assert!(raw.len() > 40 * MB, "{}", raw.len());
    let limits = Limits::default();
    assert_eq!(limits.max_message_bytes, 30 * MB);
    let check = |mail: yijian_mailread::parse::ParsedMail| {
        assert_eq!(mail.text, OPINION);
        assert_eq!(mail.cut_from, Some(raw.len()));
        let [attachment] = mail.attachments.as_slice() else { panic!("{:?}", mail.attachments) };
        assert_eq!(attachment.filename, "材料.zip");
        assert!(attachment.bytes.is_none());
        // Estimated from the part read: within 1% of the real 30 MB.
        assert!(attachment.size.abs_diff(30 * MB) < 30 * MB / 100, "{}", attachment.size);
        let omissions = mail.omissions().expect("the omission is recorded");
        assert!(
            omissions.contains("附件“材料.zip”（30.0 MB）未收录")
                || omissions.contains("附件“材料.zip”（29.9 MB）未收录"),
            "{omissions}"
        );
        assert!(omissions.contains("只读到附件的前"), "{omissions}");
        assert_eq!(mail.comment_text(), OPINION);
    };
    // Read whole from a file...
    check(parse(&raw, &limits).unwrap());
    // ...or only its first 30 MB, as IMAP fetches it, knowing the whole size.
    check(parse_beginning(&raw[..30 * MB], raw.len(), &limits).unwrap());
}

#[test]
fn attachments_before_the_cut_are_kept() {
    let small = AttachmentSpec::new("意见.txt", "text/plain", "第二条意见".as_bytes().to_vec());
    let big = AttachmentSpec::new("scan.bin", "application/octet-stream", vec![7; 3 * MB]);
    let raw = MailSpec::simple("s", "a@example.cn", OPINION).attach(small).attach(big).to_bytes();
    let limits = Limits { max_message_bytes: MB, ..Limits::default() };
    let mail = parse(&raw, &limits).unwrap();
    assert_eq!(mail.attachments[0].text.as_deref(), Some("第二条意见"));
    assert!(mail.attachments[1].omitted.is_some());
    assert!(mail.comment_text().contains("第二条意见"));
}

/// A PDF of `pages` pages that all draw the same content stream, which inflates to `inflated`
/// bytes of spaces (no text).
fn repeated_bomb(pages: usize, inflated: usize) -> Vec<u8> {
    use lopdf::{Document, Object, Stream, dictionary};
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let mut content = Stream::new(dictionary! {}, vec![b' '; inflated]);
    content.compress().unwrap();
    let content_id = doc.add_object(content);
    let kids: Vec<Object> = (0..pages)
        .map(|_| {
            doc.add_object(dictionary! {
                "Type" => "Page",
                "Parent" => pages_id,
                "Contents" => content_id,
                "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
            })
            .into()
        })
        .collect();
    doc.objects
        .insert(pages_id, Object::Dictionary(dictionary! {"Type" => "Pages", "Kids" => kids, "Count" => pages as i64}));
    let catalog = doc.add_object(dictionary! {"Type" => "Catalog", "Pages" => pages_id});
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

#[test]
fn a_pdf_repeating_a_bomb_stream_stops_at_its_inflation_budget() {
    // 2,000 pages × 8 MB would be 16 GB to inflate; the file is a few hundred KB.
    let pdf = repeated_bomb(2_000, 8 * MB);
    assert!(pdf.len() < 2 * MB, "{}", pdf.len());
    let (result, charged) = pdf_text_within(&pdf, 1000, PDF_MAX_INFLATED);
    assert!(charged <= PDF_MAX_INFLATED, "{charged}");
    assert!(charged >= PDF_MAX_INFLATED - 8 * MB, "the pages that fit were read: {charged}");
    let reason = result.unwrap_err();
    assert!(reason.contains("解压后超过 64 MB"), "{reason}");
    assert_eq!(pdf_text(&pdf, 1000).unwrap_err(), reason);
    // A smaller budget stops sooner.
    let (_, charged) = pdf_text_within(&pdf, 1000, 10 * MB);
    assert_eq!(charged, 8 * MB);
}
