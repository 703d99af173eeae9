//! The whole of [`parse`] on mails built by hand for one rule each; the generated corpus is
//! read in `tests/corpus.rs`.

use super::*;

fn mail(headers: &str, body: &str) -> Vec<u8> {
    let mut raw = String::from("From: 张三 <zs@example.cn>\r\nSubject: s\r\nDate: Tue, 13 May 2025 10:00:00 +0800\r\n");
    raw.push_str(headers);
    raw.push_str("\r\n");
    raw.push_str(body);
    raw.into_bytes()
}

fn ok(raw: &[u8]) -> ParsedMail {
    parse(raw, &Limits::default()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn empty_text_alternative_falls_back_to_html() {
    let raw = mail(
        "Content-Type: multipart/alternative; boundary=b\r\n",
        "--b\r\nContent-Type: text/plain\r\n\r\n \r\n--b\r\nContent-Type: text/html\r\n\r\n<p>同意</p>\r\n--b--\r\n",
    );
    assert_eq!(ok(&raw).text, "同意");
}

#[test]
fn attachments_in_an_unchosen_alternative_are_still_kept() {
    let raw = mail(
        "Content-Type: multipart/alternative; boundary=b\r\n",
        "--b\r\nContent-Type: text/plain\r\n\r\n正文\r\n--b\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n\
         --c\r\nContent-Type: text/html\r\n\r\n<p>正文</p>\r\n--c\r\nContent-Type: image/png\r\n\
         Content-Disposition: attachment; filename=\"a.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw==\r\n--c--\r\n--b--\r\n",
    );
    let parsed = ok(&raw);
    assert_eq!(parsed.text, "正文");
    assert_eq!(parsed.attachments.len(), 1);
    assert_eq!(parsed.attachments[0].filename, "a.png");
    assert_eq!(parsed.attachments[0].size, 4);
}

#[test]
fn filenames_are_sanitised_or_numbered() {
    let raw = mail(
        "Content-Type: multipart/mixed; boundary=b\r\n",
        "--b\r\nContent-Type: text/plain\r\n\r\n正文\r\n\
         --b\r\nContent-Type: application/octet-stream; name=\"..\\\\..\\\\evil\u{1}.exe\"\r\n\r\nxx\r\n\
         --b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"../../etc/pass\twd\"\r\n\r\nyy\r\n\
         --b\r\nContent-Type: application/zip\r\n\r\nzz\r\n--b--\r\n",
    );
    let names: Vec<String> = ok(&raw).attachments.into_iter().map(|a| a.filename).collect();
    assert_eq!(names, ["evil.exe", "pass wd", "attachment-3"]);
}

#[test]
fn deep_nesting_does_not_exhaust_the_stack() {
    let depth = 5_000;
    let mut body = String::new();
    for i in 0..depth {
        body.push_str(&format!("--b{i}\r\nContent-Type: multipart/mixed; boundary=b{}\r\n\r\n", i + 1));
    }
    body.push_str("--bend\r\n");
    let raw = mail("Content-Type: multipart/mixed; boundary=b0\r\n", &body);
    // Too deep to be mail: read to MAX_DEPTH levels and no further, so no stack is exhausted.
    // What lies below the last level read is kept whole as one attachment, not opened.
    let deep = ok(&raw);
    assert_eq!(deep.text, "");
    assert_eq!(deep.attachments.len(), 1, "{:?}", deep.attachments);

    let mut inner = String::from("From: x@example.cn\r\nSubject: inner\r\n\r\n最里面\r\n");
    for _ in 0..50 {
        inner = format!("From: x@example.cn\r\nSubject: s\r\nContent-Type: message/rfc822\r\n\r\n{inner}");
    }
    let parsed = ok(inner.as_bytes());
    assert!(parsed.forwarded);
    assert_eq!(parsed.attachments.len(), 1, "the innermost levels are kept, not opened");
}

#[test]
fn base64_forwarded_message_is_opened() {
    let inner =
        "From: 李四 <ls@example.cn>\r\nSubject: 原信\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n原信内容\r\n";
    let encoded = crate::parse::tests::b64(inner.as_bytes());
    let raw = mail(
        "Content-Type: multipart/mixed; boundary=b\r\n",
        &format!(
            "--b\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n{encoded}\r\n--b--\r\n"
        ),
    );
    let parsed = ok(&raw);
    assert_eq!(parsed.text, "原信内容");
    let with_device_line = mail(
        "Content-Type: multipart/mixed; boundary=b\r\n",
        &format!(
            "--b\r\nContent-Type: text/plain\r\n\r\n\r\n发自我的iPhone\r\n--b\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n{encoded}\r\n--b--\r\n"
        ),
    );
    assert_eq!(ok(&with_device_line).text, "原信内容");
    assert_eq!(parsed.author_address.as_deref(), Some("ls@example.cn"));
    assert_eq!(parsed.from_address.as_deref(), Some("zs@example.cn"));
}

fn b64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn two_forwarded_authors_are_not_attributed() {
    let part = |who: &str| {
        format!("--b\r\nContent-Type: message/rfc822\r\n\r\nFrom: {who}\r\nSubject: x\r\n\r\n{who} 的意见\r\n")
    };
    let raw = mail(
        "Content-Type: multipart/mixed; boundary=b\r\n",
        &format!("{}{}--b--\r\n", part("a@example.cn"), part("b@example.cn")),
    );
    let parsed = ok(&raw);
    assert!(parsed.forwarded);
    assert_eq!(parsed.author_address.as_deref(), Some("zs@example.cn"));
    assert_eq!(parsed.text, "a@example.cn 的意见\n\nb@example.cn 的意见");
}

#[test]
fn auto_reply_rules() {
    let block = |headers: &str| ok(&mail(headers, "正文\r\n")).auto_reply_block;
    assert_eq!(block(""), None);
    assert_eq!(block("Auto-Submitted: no (a person)\r\n"), None);
    assert_eq!(block("Auto-Submitted: auto-generated\r\n"), Some("auto-submitted"));
    assert_eq!(block("Precedence: junk\r\n"), Some("precedence"));
    assert_eq!(block("Precedence: first-class\r\n"), None);
    assert_eq!(block("List-Post: <mailto:l@example.cn>\r\n"), Some("list"));
    assert_eq!(block("X-Auto-Response-Suppress: DR, RN\r\n"), None);
    assert_eq!(block("X-Auto-Response-Suppress: All\r\n"), Some("auto-response-suppress"));
    assert_eq!(block("X-Loop: office@example.cn\r\n"), Some("loop"));
    // Replies go to From alone, so what Reply-To says does not matter.
    assert_eq!(block("Reply-To: MAILER-DAEMON@example.cn\r\n"), None);
    assert_eq!(block("Return-Path: <>\r\n"), Some("null-return-path"));
    assert_eq!(block("Return-Path: <zs@example.cn>\r\n"), None);
    for address in [
        "noreply",
        "no_reply",
        "donotreply",
        "do-not-reply",
        "bounces+x",
        "notifications",
        "postmaster",
        "owner-list",
        "list-request",
    ] {
        let raw = format!("From: {address}@example.cn\r\nSubject: s\r\n\r\n正文\r\n");
        assert_eq!(ok(raw.as_bytes()).auto_reply_block, Some("no-reply-address"), "{address}");
    }
}

#[test]
fn message_ids_and_references() {
    let parsed = ok(&mail(
        "Message-ID:   <abc@example.cn>  \r\nReply-To: 家 <Home@Example.com>\r\nReferences: <r1@x> <abc@example.cn>\r\nIn-Reply-To: <r2@x>\r\n",
        "正文\r\n",
    ));
    assert_eq!(parsed.message_id.as_deref(), Some("abc@example.cn"));
    assert_eq!(parsed.references, ["r1@x", "r2@x"]);
    assert_eq!(parsed.from_name.as_deref(), Some("张三"));
    assert_eq!(ok(&mail("Message-ID: <>\r\n", "x\r\n")).message_id, None);
    assert_eq!(message_id_of(b"Message-ID: <q@x>\r\n\r\n\x00garbage"), Some("q@x".to_owned()));
    assert_eq!(message_id_of(b"garbage"), None);
}

#[test]
fn dates_in_the_forms_seen() {
    let date = |value: &str| parse_date(value.as_bytes()).map(|t| t.to_string());
    assert_eq!(date("Tue, 13 May 2025 10:00:00 +0800 (CST)").as_deref(), Some("2025-05-13T02:00:00Z"));
    assert_eq!(date("Tue, 13 May 2025 10:00:00 GMT+08:00").as_deref(), Some("2025-05-13T02:00:00Z"));
    assert_eq!(date("Wed, 13 May 2025 10:00:00 +0800").as_deref(), Some("2025-05-13T02:00:00Z"));
    assert_eq!(date("13 May 2025 02:00 GMT").as_deref(), Some("2025-05-13T02:00:00Z"));
    assert_eq!(date("2025-05-13T10:00:00+08:00").as_deref(), Some("2025-05-13T02:00:00Z"));
    assert_eq!(date("明天"), None);
}

#[test]
fn whitespace_only_mail_is_no_text_and_oversize_is_read_in_part() {
    assert_eq!(parse(&mail("", " \r\n\t\r\n"), &Limits::default()), Err(Rejection::NoText));
    let raw = mail("", "正文写在前面。\r\n后面的字超过了上限。\r\n");
    let limits = Limits { max_message_bytes: raw.len() - 12, ..Limits::default() };
    let parsed = parse(&raw, &limits).unwrap();
    assert!(parsed.text.starts_with("正文写在前面。"), "{}", parsed.text);
    assert_eq!(parsed.cut_from, Some(raw.len()));
    assert!(parsed.omissions().unwrap().contains("超过读取上限"));
    assert!(matches!(parse(b"  \r\n", &Limits::default()), Err(Rejection::Malformed(_))));
}

#[test]
fn human_sizes() {
    assert_eq!(human_size(10 * 1024 * 1024), "10 MB");
    assert_eq!(human_size(1536 * 1024), "1.5 MB");
    assert_eq!(human_size(12_006), "12 KB");
    assert_eq!(human_size(512), "512 字节");
}

#[test]
fn flowed_text_is_joined_but_signature_kept_apart() {
    assert_eq!(unflow("a \nb\n-- \nsig", false), "a b\n-- \nsig");
    assert_eq!(unflow(" >x \ny", true), ">xy");
}

#[test]
fn html_replies_from_gmail_qq_mail_and_outlook_are_trimmed() {
    let gmail = mail(
        "Content-Type: text/html; charset=utf-8\r\n",
        "<div dir=\"ltr\">同意第三条。</div><br><div class=\"gmail_quote\"><div dir=\"ltr\" class=\"gmail_attr\">\
         On Mon, May 12, 2025 at 9:00 AM 省人社厅 &lt;zqyj@example.gov.cn&gt; wrote:<br></div>\
         <blockquote class=\"gmail_quote\"><div>现就若干措施征求意见。</div></blockquote></div>\r\n",
    );
    let parsed = ok(&gmail);
    assert_eq!(parsed.text, "同意第三条。");
    assert!(parsed.full_text.contains("> 现就若干措施征求意见。"));
    let qq = mail(
        "Content-Type: text/html; charset=utf-8\r\n",
        "<div>建议删除第九条。</div><div><br></div><div style=\"font-size: 12px\">------------------&nbsp;原始邮件&nbsp;------------------</div>\
         <div><b>发件人:</b>&nbsp;\"省人社厅\"&lt;zqyj@example.gov.cn&gt;;</div><div><b>发送时间:</b>&nbsp;2025年5月12日(星期一) 上午9:00</div>\
         <div><br></div>现就若干措施征求意见。\r\n",
    );
    assert_eq!(ok(&qq).text, "建议删除第九条。");
    let outlook = mail(
        "Content-Type: text/html; charset=utf-8\r\n",
        "<p class=MsoNormal>同意。<o:p></o:p></p><div style='border:none;border-top:solid #E1E1E1 1.0pt'>\
         <p class=MsoNormal><b>发件人:</b> 省人社厅 &lt;zqyj@example.gov.cn&gt; <br><b>发送时间:</b> 2025年5月12日 9:00<br>\
         <b>主题:</b> 征求意见</p></div><p>现就若干措施征求意见。</p>\r\n",
    );
    assert_eq!(ok(&outlook).text, "同意。");
}
