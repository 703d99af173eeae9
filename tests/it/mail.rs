//! The email channel end to end: `yijian mail import` and `yijian mail fetch` against a real
//! Dovecot and a real SMTP server on loopback, the trays in the back office, and confirmation
//! mail for web comments.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use sqlx::Row;
use yijian_mailgen::corpus::{self, MailSpec};
use yijian_mailgen::servers::{Dovecot, SmtpSink};
use yijian_store::Store;
use yijian_testkit::{eventually, holds_for};

use crate::harness::{Backend, DEMO_ID, InProcess, TestData, demo_file, run};
use crate::on_both_backends;

const TITLE: &str = "辽宁省人力资源社会保障领域支持和保障人工智能高质量发展的若干措施（征求意见稿）";

/// A mail on the demo consultation, dated inside its real window (12–18 May 2025, Beijing).
fn mail(id: &str, subject: &str, date: &str, body: &str) -> Vec<u8> {
    let mut spec = MailSpec::simple(subject, "张三 <zhangsan@example.cn>", body);
    spec.message_id = Some(format!("{id}@example.cn"));
    spec.date = Some(date.to_string());
    spec.to_bytes()
}

const ON_TIME: &str = "Tue, 13 May 2025 10:00:00 +0800";

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.display().to_string()
}

fn import_json(args: &[&str], data: &TestData) -> Value {
    let (ok, out, err) = run(args, Some(data));
    assert!(ok, "mail import failed: {err}");
    let last = out.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("not one JSON line ({e}): {out}"))
}

async fn email_comments(store: &Store) -> Vec<(String, Option<String>, Option<String>, Option<String>, String)> {
    sqlx::query(
        "SELECT receipt, message_id, timing, name, opinion FROM comments WHERE channel = 'email' ORDER BY message_id",
    )
    .fetch_all(store.pool())
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
    .collect()
}

async fn mail_import(backend: Backend) {
    let data = TestData::new(backend).await;
    let (ok, _, err) = run(&["consultation", "import", &demo_file()], Some(&data));
    assert!(ok, "{err}");
    let files = tempfile::tempdir().unwrap();
    let dir = files.path();
    let on_time = write(
        dir,
        "a.eml",
        &mail("a", &format!("回复：《{TITLE}》的意见"), ON_TIME, "建议第三条加强职业技能培训。\n\n-- \n张三\n"),
    );
    let archive = corpus::mbox([
        mail(
            "b-late",
            "辽宁省人力资源社会保障领域支持和保障人工智能高质量发展的若干措施",
            "Sun, 1 Jun 2025 09:00:00 +0800",
            "截止后才看到，补充一条意见。",
        ),
        mail(
            "c-early",
            "关于人工智能高质量发展的若干措施的建议 辽宁省人力资源社会保障领域支持和保障人工智能高质量发展的若干措施",
            "Thu, 1 May 2025 09:00:00 +0800",
            "提前提出的意见。",
        ),
        mail("d-unrouted", "一封与征求意见无关的邮件", ON_TIME, "你好"),
        // The same Message-ID as a.eml: one mail, imported once.
        mail("a", &format!("回复：《{TITLE}》的意见"), ON_TIME, "建议第三条加强职业技能培训。"),
    ]);
    let archive = write(dir, "archive.mbox", &archive);
    let mut word =
        MailSpec::simple(TITLE, "王五 <wangwu@example.cn>", "意见见附件。").attach(corpus::AttachmentSpec::new(
            "意见.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            corpus::docx(&["建议设立人工智能就业服务专窗。"]),
        ));
    word.message_id = Some("e-word@example.cn".into());
    word.date = Some(ON_TIME.into());
    let word = write(dir, "word.eml", &word.to_bytes());
    let rejected_case =
        corpus::corpus().into_iter().find(|c| c.expect.rejected.is_some()).expect("the corpus has a mail to reject");
    let bad = write(dir, "bad.eml", &rejected_case.raw);
    let missing = dir.join("missing.eml").display().to_string();

    let summary = import_json(&["mail", "import", &on_time, &archive, &word, &bad, &missing], &data);
    assert_eq!(summary["imported"], 4, "{summary}");
    assert_eq!(summary["duplicates"], 1, "{summary}");
    assert_eq!(summary["unrouted"], 1, "{summary}");
    let rejected = summary["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 2, "{summary}");
    assert!(
        rejected.iter().any(|r| r["file"] == bad.as_str() && !r["reason"].as_str().unwrap().is_empty()),
        "{summary}"
    );
    assert!(rejected.iter().any(|r| r["file"] == missing.as_str()), "{summary}");

    let store = data.store().await;
    let comments = email_comments(&store).await;
    assert_eq!(comments.len(), 4);
    let by_id = |id: &str| comments.iter().find(|c| c.1.as_deref() == Some(id)).unwrap().clone();
    let a = by_id("a@example.cn");
    assert_eq!(a.2, None, "inside the window: no flag");
    assert_eq!(a.3.as_deref(), Some("张三"));
    assert!(a.4.contains("加强职业技能培训") && !a.4.contains("-- "), "signature trimmed: {}", a.4);
    assert_eq!(by_id("b-late@example.cn").2.as_deref(), Some("late"));
    assert_eq!(by_id("c-early@example.cn").2.as_deref(), Some("early"));
    // The queue shows the flag, for staff to decide.
    let page = store.queue(DEMO_ID, &Default::default(), None, None, 50).await.unwrap();
    let flags: Vec<_> = page.items.iter().filter_map(|i| i.timing.clone()).collect();
    assert_eq!(flags.len(), 2, "{flags:?}");
    assert!(flags.contains(&"late".to_string()) && flags.contains(&"early".to_string()));
    // A comment sent as a Word file: its text is the comment's, and the file is kept.
    let e = by_id("e-word@example.cn");
    assert!(e.4.contains("建议设立人工智能就业服务专窗") && e.4.contains("意见.docx"), "{}", e.4);
    let word_mail = store
        .mail_tray("comment", 10, None)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.message_id.as_deref() == Some("e-word@example.cn"))
        .unwrap();
    let attachments = store.mail_attachments(word_mail.id).await.unwrap();
    assert_eq!(attachments.len(), 1);
    assert!(attachments[0].stored && attachments[0].has_text, "{attachments:?}");
    let (_, bytes) = store.attachment_content(attachments[0].id).await.unwrap().unwrap();
    assert!(bytes.starts_with(b"PK"), "the .docx kept whole");
    // Every mail is kept, whatever became of it: 4 comments, 1 unrouted, 1 rejected.
    let states: Vec<(String, i64)> = store.mail_counts().await.unwrap();
    assert_eq!(states, vec![("comment".into(), 4), ("rejected".into(), 1), ("unrouted".into(), 1)]);
    // The raw message is sealed at rest: its text is not in the database file.
    let raw_enc: Vec<u8> = sqlx::query_scalar("SELECT raw_enc FROM mails WHERE message_id = 'a@example.cn'")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert!(!raw_enc.windows(8).any(|w| w == b"Subject:"), "raw mail stored in clear");
    let first = store
        .mail_tray("comment", 10, None)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.message_id.as_deref() == Some("a@example.cn"))
        .unwrap();
    let raw = store.mail_raw(first.id).await.unwrap().unwrap();
    assert_eq!(raw, std::fs::read(&on_time).unwrap(), "the raw message comes back byte for byte");

    // Importing everything again adds nothing.
    let again = import_json(&["mail", "import", &on_time, &archive, &word, &bad], &data);
    assert_eq!((again["imported"].clone(), again["duplicates"].clone()), (json!(0), json!(7)), "{again}");
    assert_eq!(again["unrouted"], 0);
    assert_eq!(email_comments(&store).await.len(), 4);

    // The export carries the Message-ID and the sender.
    let out = dir.join("export.csv");
    let (ok, _, err) =
        run(&["export", "--consultation", DEMO_ID, "--format", "csv", "--output", out.to_str().unwrap()], Some(&data));
    assert!(ok, "{err}");
    let csv = std::fs::read_to_string(&out).unwrap();
    assert!(csv.contains("a@example.cn") && csv.contains("zhangsan@example.cn"), "{csv}");
    store.close().await;
}
on_both_backends!(mail_import);

/// Every mail of the corpus goes in; none is lost, and the ones that must not be answered are
/// not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_corpus_is_kept() {
    let data = TestData::new(Backend::Sqlite).await;
    let (ok, _, err) = run(&["consultation", "import", &demo_file()], Some(&data));
    assert!(ok, "{err}");
    let files = tempfile::tempdir().unwrap();
    let cases = corpus::corpus();
    let paths: Vec<String> =
        cases.iter().enumerate().map(|(i, c)| write(files.path(), &format!("{i:03}-{}.eml", c.name), &c.raw)).collect();
    let mut args = vec!["mail", "import"];
    args.extend(paths.iter().map(String::as_str));
    let summary = import_json(&args, &data);
    let total = summary["imported"].as_u64().unwrap()
        + summary["duplicates"].as_u64().unwrap()
        + summary["unrouted"].as_u64().unwrap()
        + summary["rejected"].as_array().unwrap().len() as u64;
    assert_eq!(total as usize, cases.len(), "{summary}");
    let expected_rejected = cases.iter().filter(|c| c.expect.rejected.is_some()).count();
    assert_eq!(summary["rejected"].as_array().unwrap().len(), expected_rejected, "{summary}");
    let store = data.store().await;
    let kept: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mails").fetch_one(store.pool()).await.unwrap();
    assert_eq!(kept as u64, total - summary["duplicates"].as_u64().unwrap());
    store.close().await;
}

fn mail_config(dir: &Path, dovecot: &Dovecot, smtp: Option<&SmtpSink>, extra_imap: &str) -> String {
    let mut text = format!(
        "public_url = \"https://yijian.example.org\"\n[mail]\npoll_seconds = 0\n[mail.imap]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"plain\"\nusername = \"{}\"\npassword = \"{}\"\n{extra_imap}",
        dovecot.port, dovecot.user, dovecot.password
    );
    if let Some(s) = smtp {
        text.push_str(&format!(
            "[mail.smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"plain\"\nfrom = \"意见征集 <yijian@example.org>\"\n",
            s.port
        ));
    }
    let path = dir.join("yijian.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_from_imap_replies_and_never_takes_a_mail_twice() {
    let dovecot = Dovecot::start().expect("dovecot starts (Debian package dovecot-imapd)");
    let sink = SmtpSink::start().expect("the SMTP sink starts (Debian package python3-aiosmtpd)");
    let data = TestData::new(Backend::Sqlite).await;
    let (ok, _, err) = run(&["consultation", "import", &demo_file()], Some(&data));
    assert!(ok, "{err}");
    let files = tempfile::tempdir().unwrap();
    let config = mail_config(files.path(), &dovecot, Some(&sink), "move_to = \"yijian-done\"\n");

    dovecot.deliver("INBOX", &mail("imap-1", &format!("《{TITLE}》"), ON_TIME, "第一封")).unwrap();
    dovecot.deliver("INBOX", &mail("imap-2", "一封无关的邮件", ON_TIME, "第二封")).unwrap();
    let mut auto = MailSpec::simple(&format!("自动回复：{TITLE}"), "张三 <zhangsan@example.cn>", "我正在休假。");
    auto.message_id = Some("imap-3@example.cn".into());
    auto.date = Some(ON_TIME.into());
    auto.extra_headers.push(("Auto-Submitted".into(), "auto-replied".into()));
    dovecot.deliver("INBOX", &auto.to_bytes()).unwrap();

    let (ok, out, err) = run(&["mail", "fetch", "--config", &config], Some(&data));
    assert!(ok, "{err}");
    let tally: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!((tally["imported"].clone(), tally["unrouted"].clone()), (json!(2), json!(1)), "{tally}");
    assert_eq!(tally["replies"], 1, "only the routed, human mail is answered: {tally}");
    // Moved, never deleted.
    assert_eq!(dovecot.count("INBOX").unwrap(), 0);
    assert_eq!(dovecot.count("yijian-done").unwrap(), 3);

    let replies = sink.messages(1);
    assert_eq!(replies.len(), 1);
    let reply = String::from_utf8_lossy(&replies[0]).to_string();
    let store = data.store().await;
    let receipt: String = sqlx::query_scalar("SELECT receipt FROM comments WHERE message_id = 'imap-1@example.cn'")
        .fetch_one(store.pool())
        .await
        .unwrap();
    let receipt = yijian_domain::receipt::Receipt::parse(&receipt).unwrap().to_string();
    assert!(reply.contains("Auto-Submitted: auto-replied"), "{reply}");
    assert!(reply.contains("In-Reply-To: <imap-1@example.cn>"), "{reply}");
    let body = decoded_body(&replies[0]);
    assert!(body.contains(&receipt), "the reply names the receipt {receipt}: {body}");
    assert!(body.contains("https://yijian.example.org/receipt"), "{body}");

    // A second pass finds nothing new; a new mail is taken alone.
    let (ok, out, err) = run(&["mail", "fetch", "--config", &config], Some(&data));
    assert!(ok, "{err}");
    let tally: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!((tally["imported"].clone(), tally["duplicates"].clone()), (json!(0), json!(0)), "{tally}");
    dovecot.deliver("INBOX", &mail("imap-4", &format!("《{TITLE}》"), ON_TIME, "第四封")).unwrap();
    let (ok, out, err) = run(&["mail", "fetch", "--config", &config], Some(&data));
    assert!(ok, "{err}");
    let tally: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(tally["imported"], 1, "{tally}");
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mails").fetch_one(store.pool()).await.unwrap();
    assert_eq!(n, 4);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_without_moving_leaves_mail_unread_and_bad_accounts_are_clear_errors() {
    let dovecot = Dovecot::start().expect("dovecot starts");
    let data = TestData::new(Backend::Sqlite).await;
    let (ok, _, err) = run(&["consultation", "import", &demo_file()], Some(&data));
    assert!(ok, "{err}");
    let files = tempfile::tempdir().unwrap();
    let config = mail_config(files.path(), &dovecot, None, "");
    dovecot.deliver("INBOX", &mail("keep-1", &format!("《{TITLE}》"), ON_TIME, "留在收件箱")).unwrap();
    let (ok, out, err) = run(&["mail", "fetch", "--config", &config], Some(&data));
    assert!(ok, "{err}");
    assert!(out.contains("\"imported\":1"), "{out}");
    assert_eq!(dovecot.count("INBOX").unwrap(), 1, "never deleted");
    let flags = dovecot.flags("INBOX").unwrap();
    assert!(flags.iter().all(|(_, f)| !f.iter().any(|f| f == "\\Seen" || f == "\\Deleted")), "{flags:?}");

    // A wrong password fails clearly and never echoes the password.
    let bad = std::fs::read_to_string(&config).unwrap().replace(&dovecot.password, "not-the-password-42");
    std::fs::write(&config, bad).unwrap();
    let (ok, _, err) = run(&["mail", "fetch", "--config", &config], Some(&data));
    assert!(!ok);
    assert!(!err.contains("not-the-password-42"), "{err}");
    assert!(err.to_lowercase().contains("login") || err.contains("登录"), "{err}");
    // Plain IMAP to a host that is not loopback is refused before any connection.
    let remote = files.path().join("remote.toml");
    std::fs::write(&remote, "[mail.imap]\nhost = \"imap.example.org\"\nsecurity = \"plain\"\nusername = \"u\"\n")
        .unwrap();
    let (ok, _, err) = run(&["mail", "fetch", "--config", remote.to_str().unwrap()], Some(&data));
    assert!(!ok && err.contains("loopback"), "{err}");
    // No account at all.
    let (ok, _, err) = run(&["mail", "fetch"], Some(&data));
    assert!(!ok && err.contains("[mail.imap]"), "{err}");
}

fn decoded_body(raw: &[u8]) -> String {
    let parsed = yijian_mail::parse::parse(raw, &Default::default()).expect("our own reply parses");
    parsed.full_text
}

async fn trays(backend: Backend) {
    let app = InProcess::start(backend, Default::default()).await;
    let staff = crate::review::staff(&app).await;
    let intake = yijian_mail::intake::Intake::new(app.store().clone(), Default::default()).await.unwrap();
    let hostile = "<script>alert(1)</script>无关";
    let mut unrouted = MailSpec::simple(hostile, "李四 <lisi@example.cn>", "请转给人社厅。我的意见是加强培训。");
    unrouted.message_id = Some("tray-1@example.cn".into());
    let rejected_case = corpus::corpus().into_iter().find(|c| c.expect.rejected.is_some()).unwrap();
    let done = intake
        .import(
            vec![
                yijian_mail::intake::Incoming {
                    raw: unrouted.to_bytes(),
                    source: "test".into(),
                    arrival: None,
                    size: None,
                },
                yijian_mail::intake::Incoming {
                    raw: rejected_case.raw.clone(),
                    source: "bad".into(),
                    arrival: None,
                    size: None,
                },
            ],
            jiff::Timestamp::now(),
        )
        .await
        .unwrap();
    let yijian_mail::intake::Outcome::Unrouted { mail_id } = done[0].outcome else { panic!("{:?}", done[0].outcome) };
    let yijian_mail::intake::Outcome::Rejected { mail_id: bad_id, .. } = done[1].outcome else { panic!() };

    let get = |path: String, token: &str| app.client.get(app.url(&path)).bearer_auth(token.to_string()).send();
    let tray: Value =
        get("/api/v1/admin/mail?state=unrouted".into(), &staff.reviewer).await.unwrap().json().await.unwrap();
    assert_eq!(tray["mails"][0]["id"], mail_id);
    assert_eq!(tray["counts"]["rejected"], 1);
    let res = get("/api/v1/admin/mail?state=spam".into(), &staff.reviewer).await.unwrap();
    assert_eq!(res.status(), 422);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], "invalid");
    // Hostile ids are a JSON 404, not axum's plain-text rejection.
    for path in ["/api/v1/admin/mail/abc", "/api/v1/admin/mail/99999999999999999999", "/api/v1/admin/attachments/-x"] {
        let res = get(path.into(), &staff.admin).await.unwrap();
        assert_eq!(res.status(), 404, "{path}");
        assert!(res.json::<Value>().await.unwrap()["error"]["code"].is_string(), "{path}");
    }
    let res = get("/api/v1/admin/mail/424242".into(), &staff.reviewer).await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], "mail_not_found");

    // The tray page shows the hostile subject inert, and its assign form works with its token.
    let (session, csrf) = crate::review::login_session(&app, "rev1", "reviewer password 1").await;
    let page = session.get(app.url("/admin/mail")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("alert(1)") && !page.contains("<script>alert"), "{page}");
    assert!(page.contains(&format!("/admin/mail/{mail_id}/assign")), "{page}");
    let page = session.get(app.url(&format!("/admin/mail/{bad_id}"))).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains("/raw") && page.contains("无法受理"), "the raw message is for admins: {page}");
    let res = session
        .post(app.url(&format!("/admin/mail/{mail_id}/assign")))
        .form(&[("csrf", "wrong"), ("consultation", DEMO_ID)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "no token, no assignment");
    let _ = csrf;

    // Opening the raw message is for admins, with a reason, and audited.
    let res =
        get(format!("/api/v1/admin/mail/{bad_id}/raw?reason=%E6%A0%B8%E5%AF%B9%E5%8E%9F%E4%BB%B6"), &staff.reviewer)
            .await
            .unwrap();
    assert_eq!(res.status(), 403);
    let res = get(format!("/api/v1/admin/mail/{bad_id}/raw?reason=%E6%A0%B8%E5%AF%B9%E5%8E%9F%E4%BB%B6"), &staff.admin)
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "message/rfc822");
    assert_eq!(res.bytes().await.unwrap().to_vec(), rejected_case.raw);
    let audit = app.store().audit_entries().await.unwrap();
    assert!(audit.iter().any(|e| e.action == "mail.raw_opened" && e.subject == format!("mail:{bad_id}")));

    // Assigning makes the comment and its receipt, once.
    let assign = |token: &str, body: Value| {
        app.client
            .post(app.url(&format!("/api/v1/admin/mail/{mail_id}/assign")))
            .bearer_auth(token.to_string())
            .json(&body)
            .send()
    };
    assert_eq!(assign(&staff.reviewer, json!({})).await.unwrap().status(), 422);
    assert_eq!(assign(&staff.reviewer, json!({"consultation": "nope"})).await.unwrap().status(), 404);
    let res = assign(&staff.reviewer, json!({"consultation": DEMO_ID})).await.unwrap();
    assert_eq!(res.status(), 201);
    let receipt = res.json::<Value>().await.unwrap()["receipt"].as_str().unwrap().to_string();
    assert_eq!(assign(&staff.reviewer, json!({"consultation": DEMO_ID})).await.unwrap().status(), 409);
    let public: Value =
        app.client.get(app.url(&format!("/api/v1/receipts/{receipt}"))).send().await.unwrap().json().await.unwrap();
    assert_eq!(public["consultation_id"], DEMO_ID, "{public}");
    let comment: Value =
        get(format!("/api/v1/admin/comments/{receipt}"), &staff.reviewer).await.unwrap().json().await.unwrap();
    assert_eq!(comment["channel"], "email");
    assert_eq!(comment["message_id"], "tray-1@example.cn");
    assert!(comment["opinion"].as_str().unwrap().contains("加强培训"));
    let audit = app.store().audit_entries().await.unwrap();
    assert!(audit.iter().any(|e| e.action == "mail.assigned" && e.detail.contains(&receipt)));
}
on_both_backends!(trays);

/// A consultation that asks for it confirms web comments by mail, at most five a day to one
/// address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_comments_are_confirmed_by_mail_within_the_allowance() {
    let sink = SmtpSink::start().expect("the SMTP sink starts");
    let account = yijian_mail::smtp::SmtpAccount {
        host: "127.0.0.1".into(),
        port: Some(sink.port),
        security: yijian_mail::imap::Security::Plain,
        username: None,
        password: None,
        from: "意见征集 <yijian@example.org>".into(),
        ca_file: None,
    };
    let app = InProcess::start_with(
        Backend::Sqlite,
        yijian_web::WebOptions { insecure_no_captcha: true, ..Default::default() },
        |state| {
            let replier =
                yijian_mail::reply::Replier::new(&account, state.app.store().clone(), Default::default()).unwrap();
            state.with_mail(yijian_web::mail::MailSettings {
                limits: Default::default(),
                replier: Some(std::sync::Arc::new(replier)),
            })
        },
    )
    .await;
    // Turn confirmations on: the same text with a changed [email_channel].
    let mut file = yijian_domain::file::parse(&std::fs::read_to_string(demo_file()).unwrap()).unwrap();
    let now = jiff::Timestamp::now();
    file.meta.reschedule_from(now, 30);
    file.meta.email_channel.confirm_web_comments = true;
    app.store().import_consultation(&file, true, now).await.unwrap();
    app.state.forget(DEMO_ID);
    let mut receipts = Vec::new();
    for _ in 0..7 {
        receipts.push(crate::review::submit(&app, json!({})).await);
    }
    let sent = sink.messages(5);
    let kinds: Vec<String> =
        sqlx::query_scalar("SELECT kind FROM mail_replies").fetch_all(app.store().pool()).await.unwrap();
    assert_eq!(kinds, vec!["confirmation"; 5], "the allowance records five, and no more");
    assert_eq!(sent.len(), 5, "five confirmations, then the allowance is spent");
    // Nothing more arrives: the two over the allowance are not merely late.
    holds_for(Duration::from_secs(2), || {
        let n = sink.messages(0).len();
        std::future::ready(if n == 5 { Ok(()) } else { Err(format!("{n} confirmations sent")) })
    })
    .await;
    let bodies: Vec<String> = sent.iter().map(|m| decoded_body(m)).collect();
    // Each names its own comment's receipt (which five of the seven won the race is not fixed).
    let named: std::collections::BTreeSet<&String> =
        receipts.iter().filter(|r| bodies.iter().any(|b| b.contains(r.as_str()))).collect();
    assert_eq!(named.len(), 5, "{bodies:?}");
    assert!(String::from_utf8_lossy(&sent[0]).contains("Auto-Submitted: auto-generated"));
}

/// `serve` polls the mailbox on its interval; the comment shows in the back office.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_polls_the_mailbox() {
    let dovecot = Dovecot::start().expect("dovecot starts");
    let data = TestData::new(Backend::Sqlite).await;
    let files = tempfile::tempdir().unwrap();
    let config = mail_config(files.path(), &dovecot, None, "");
    let text = std::fs::read_to_string(&config).unwrap().replace("poll_seconds = 0", "poll_seconds = 1");
    std::fs::write(&config, text).unwrap();
    let server = crate::harness::ServerProcess::spawn(&data, &["--config", &config]);
    // The demo consultation is open now, so a mail sent now is on time.
    dovecot
        .deliver(
            "INBOX",
            &mail(
                "poll-1",
                &format!("《{TITLE}》"),
                &jiff::Timestamp::now().strftime("%a, %d %b %Y %H:%M:%S +0000").to_string(),
                "服务运行时收到的邮件",
            ),
        )
        .unwrap();
    let client = reqwest::Client::new();
    let receipt: String = eventually(Duration::from_secs(30), || async {
        let store = data.store().await;
        let found = sqlx::query_scalar("SELECT receipt FROM comments WHERE message_id = 'poll-1@example.cn'")
            .fetch_optional(store.pool())
            .await
            .unwrap();
        store.close().await;
        found.ok_or_else(|| format!("not fetched yet: {}", server.stderr()))
    })
    .await;
    let receipt = yijian_domain::receipt::Receipt::parse(&receipt).unwrap();
    let public: Value =
        client.get(server.url(&format!("/api/v1/receipts/{receipt}"))).send().await.unwrap().json().await.unwrap();
    assert_eq!(public["consultation_id"], DEMO_ID, "{public}");
    // The pass logs its tally after it has stored the mail (and after its moves and replies),
    // so the line may follow the comment by a moment.
    eventually(Duration::from_secs(15), || {
        let log = server.stderr();
        std::future::ready(if log.contains("mail fetched") { Ok(()) } else { Err(format!("no tally logged: {log}")) })
    })
    .await;
    assert!(server.stderr().contains("imported=1"), "{}", server.stderr());
}

/// `mail import` replies only when asked, and only with an SMTP server configured.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_replies_only_with_reply() {
    let sink = SmtpSink::start().expect("the SMTP sink starts");
    let data = TestData::new(Backend::Sqlite).await;
    let (ok, _, err) = run(&["consultation", "import", &demo_file()], Some(&data));
    assert!(ok, "{err}");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("yijian.toml");
    std::fs::write(
        &config,
        format!(
            "[mail.smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"plain\"\nfrom = \"意见征集 <yijian@example.org>\"\n",
            sink.port
        ),
    )
    .unwrap();
    let config = config.display().to_string();
    let quiet = write(dir.path(), "quiet.eml", &mail("quiet", TITLE, ON_TIME, "不要回复的导入"));
    let loud = write(dir.path(), "loud.eml", &mail("loud", TITLE, ON_TIME, "请回复的导入"));

    let summary = import_json(&["mail", "import", &quiet, "--config", &config], &data);
    assert_eq!((summary["imported"].clone(), summary["replies"].clone()), (json!(1), json!(0)), "{summary}");
    let summary = import_json(&["mail", "import", &loud, "--reply", "--config", &config], &data);
    assert_eq!((summary["imported"].clone(), summary["replies"].clone()), (json!(1), json!(1)), "{summary}");
    let sent = sink.messages(1);
    assert_eq!(sent.len(), 1);
    assert!(String::from_utf8_lossy(&sent[0]).contains("In-Reply-To: <loud@example.cn>"));
    // --reply without a server is a clear error, before anything is imported.
    let again = write(dir.path(), "again.eml", &mail("again", TITLE, ON_TIME, "第三封"));
    let (ok, _, err) = run(&["mail", "import", &again, "--reply"], Some(&data));
    assert!(!ok && err.contains("[mail.smtp]"), "{err}");
    let store = data.store().await;
    assert_eq!(email_comments(&store).await.len(), 2);
    store.close().await;
}

fn smtp_only_config(dir: &Path, sink: &SmtpSink) -> String {
    let config = dir.join("yijian.toml");
    std::fs::write(
        &config,
        format!(
            "[mail.smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"plain\"\nfrom = \"意见征集 <yijian@example.org>\"\n",
            sink.port
        ),
    )
    .unwrap();
    config.display().to_string()
}

/// Issue 11, item 9: the automatic reply went to an unverified Reply-To with the sender's own
/// subject, so anyone could have the official address mail a third party a text of their
/// choosing. It goes to From, under a fixed subject, and repeats none of the sender's words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reply_goes_to_from_under_a_fixed_subject_with_none_of_the_senders_words() {
    let sink = SmtpSink::start().expect("the SMTP sink starts");
    let data = TestData::new(Backend::Sqlite).await;
    let (ok, _, err) = run(&["consultation", "import", &demo_file()], Some(&data));
    assert!(ok, "{err}");
    let dir = tempfile::tempdir().unwrap();
    let config = smtp_only_config(dir.path(), &sink);
    let hostile = format!("关于《{TITLE}》：您的社保账户已冻结，请致电4001234567");
    let mut spec = MailSpec::simple(&hostile, "张三 <zhangsan@example.cn>", "冻结的账户请拨打4001234567解冻。");
    spec.message_id = Some("hostile@example.cn".into());
    spec.date = Some(ON_TIME.into());
    let spec = spec.header("Reply-To", "Victim <victim@x.example>");
    let file = write(dir.path(), "hostile.eml", &spec.to_bytes());

    let summary = import_json(&["mail", "import", &file, "--reply", "--config", &config], &data);
    assert_eq!((summary["imported"].clone(), summary["replies"].clone()), (json!(1), json!(1)), "{summary}");
    let received = sink.received(1);
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].rcpt_to, ["zhangsan@example.cn"], "to From, never to Reply-To");
    let raw = String::from_utf8_lossy(&received[0].raw).to_string();
    assert!(!raw.contains("victim"), "{raw}");

    let store = data.store().await;
    let receipt: String = sqlx::query_scalar("SELECT receipt FROM comments WHERE message_id = 'hostile@example.cn'")
        .fetch_one(store.pool())
        .await
        .unwrap();
    store.close().await;
    let receipt = yijian_domain::receipt::Receipt::parse(&receipt).unwrap().to_string();
    let reply = yijian_mail::parse::parse(&received[0].raw, &Default::default()).expect("our own reply parses");
    assert_eq!(reply.subject, format!("意见已收到：《{TITLE}》（受理编号 {receipt}）"));
    for words in ["冻结", "4001234567", "请致电", "解冻"] {
        assert!(!reply.subject.contains(words) && !reply.full_text.contains(words), "{words}: {reply:?}");
    }
    assert!(reply.full_text.contains(&receipt));
}

/// Issue 11, item 13: a 41 MB mail with a 30 MB attachment was rejected whole, the citizen's
/// text with it. Fetched over IMAP only as far as the limit, it becomes a comment with its
/// text, and the attachment left out is named with its size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_41_mb_mail_fetched_over_imap_keeps_its_text_and_records_the_attachment_left_out() {
    let dovecot = Dovecot::start().expect("dovecot starts (Debian package dovecot-imapd)");
    let data = TestData::new(Backend::Sqlite).await;
    let (ok, _, err) = run(&["consultation", "import", &demo_file()], Some(&data));
    assert!(ok, "{err}");
    let files = tempfile::tempdir().unwrap();
    let config = mail_config(files.path(), &dovecot, None, "");
    let attachment: Vec<u8> = (0..30 * 1024 * 1024).map(|i: usize| (i * 7 % 251) as u8).collect();
    let mut spec = MailSpec::simple(&format!("《{TITLE}》"), "张三 <zhangsan@example.cn>", "大附件之前的意见。")
        .attach(corpus::AttachmentSpec::new("材料.zip", "application/zip", attachment));
    spec.message_id = Some("large@example.cn".into());
    spec.date = Some(ON_TIME.into());
    let raw = spec.to_bytes();
    assert!(raw.len() > 40 * 1024 * 1024);
    dovecot.deliver("INBOX", &raw).unwrap();
    dovecot.deliver("INBOX", &mail("after-large", &format!("《{TITLE}》"), ON_TIME, "之后的一封")).unwrap();

    let (ok, out, err) = run(&["mail", "fetch", "--config", &config], Some(&data));
    assert!(ok, "{err}");
    let tally: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!((tally["imported"].clone(), tally["rejected"].clone()), (json!(2), json!([])), "{tally}");
    let store = data.store().await;
    let row = sqlx::query("SELECT opinion, note FROM comments WHERE message_id = 'large@example.cn'")
        .fetch_one(store.pool())
        .await
        .unwrap();
    let (opinion, note): (String, Option<String>) = (row.get(0), row.get(1));
    assert_eq!(opinion, "大附件之前的意见。");
    let note = note.expect("the comment names what was left out");
    assert!(
        note.contains("附件“材料.zip”（30.0 MB）未收录") || note.contains("附件“材料.zip”（29.9 MB）未收录"),
        "{note}"
    );
    // Only the first 30 MB were fetched and kept.
    let kept: i64 = sqlx::query_scalar("SELECT MAX(raw_size) FROM mails").fetch_one(store.pool()).await.unwrap();
    assert!(kept <= 30 * 1024 * 1024, "{kept}");
    store.close().await;
}
