//! ID and phone numbers that citizens write into their own text (issue 11): in a mail's body, in
//! an attached document, in an opinion typed into the form, the API or a manual entry. Staff
//! read them masked everywhere (the mail, the comment, search, masked exports, the report);
//! the originals (raw mail, attachments) are for an admin with a reason, audited; an admin's
//! audited reveal and the personal-data export show the text as written.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Row;
use yijian_mailgen::corpus::{self, AttachmentSpec, MailSpec};
use yijian_testkit::eventually;
use yijian_web::WebOptions;

use crate::harness::{Backend, DEMO_ID, InProcess, TestData, demo_file};
use crate::on_both_backends;
use crate::review::{login_session, staff};

const TITLE: &str = "辽宁省人力资源社会保障领域支持和保障人工智能高质量发展的若干措施（征求意见稿）";

/// What the citizen wrote, and how staff must see it.
const ID_SPACED: &str = "110105 19491231 002X";
const ID_MASKED: &str = "110105********002X";
const PHONE_SPACED: &str = "138 0013 8000";
const PHONE_MASKED: &str = "138****8000";
const ATTACHED_PHONE: &str = "139-1234-5678";
const ATTACHED_PHONE_MASKED: &str = "139****5678";
/// 18 digits whose check digit is wrong: not an ID number, so it stays as written.
const NOT_AN_ID: &str = "210102198506151231";

/// No form of the full numbers may show.
fn assert_masked(what: &str, text: &str) {
    for full in [
        "11010519491231002X",
        "11010519491231002x",
        "19491231",
        "13800138000",
        "0013 8000",
        "0013-8000",
        "13912345678",
        "1234-5678",
    ] {
        assert!(!text.contains(full), "{what} shows {full}: {text}");
    }
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn get(app: &InProcess, token: &str, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).bearer_auth(token).send().await.unwrap()
}

async fn get_text(app: &InProcess, token: &str, path: &str) -> (StatusCode, String) {
    let res = get(app, token, path).await;
    (res.status(), res.text().await.unwrap())
}

async fn post(app: &InProcess, token: &str, path: &str, body: Value) -> (StatusCode, String) {
    let res = app.client.post(app.url(path)).bearer_auth(token).json(&body).send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

/// The CSRF token of a staff page.
fn csrf_of(page: &str) -> String {
    page.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string()
}

async fn numbers_written_into_text_are_masked_for_staff(backend: Backend) {
    let app = InProcess::start(backend, WebOptions { insecure_no_captcha: true, ..Default::default() }).await;
    let t = staff(&app).await;

    // A mail whose body and attached document carry the citizen's numbers, as notices ask.
    let body = format!(
        "建议加强职业技能培训。\n我的身份证号：{ID_SPACED}，电话 {PHONE_SPACED}。\n编号 {NOT_AN_ID} 不是身份证号。\n"
    );
    let mut spec = MailSpec::simple(&format!("{TITLE} 13912345678"), "张三 <zhangsan@example.cn>", &body).attach(
        AttachmentSpec::new(
            "意见.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            corpus::docx(&[&format!("附件里的意见：联系电话 {ATTACHED_PHONE}。")]),
        ),
    );
    spec.message_id = Some("numbers@example.cn".into());
    let raw = spec.to_bytes();
    let intake = yijian_mail::intake::Intake::new(app.store().clone(), Default::default()).await.unwrap();
    let done = intake
        .import(
            vec![yijian_mail::intake::Incoming { raw: raw.clone(), source: "test".into(), arrival: None, size: None }],
            jiff::Timestamp::now(),
        )
        .await
        .unwrap();
    let yijian_mail::intake::Outcome::Comment { mail_id, receipt, .. } = done[0].outcome.clone() else {
        panic!("{:?}", done[0].outcome)
    };
    let receipt = receipt.to_string();

    // The same numbers, with dashes, through the API and a manual entry.
    let mut api_body = crate::harness::good_body();
    api_body["opinion"] = json!("请回电138-0013-8000，身份证110105-19491231-002x。");
    let (s, v) = post(&app, &t.reviewer, &format!("/api/v1/consultations/{DEMO_ID}/comments"), api_body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let api_receipt = serde_json::from_str::<Value>(&v).unwrap()["receipt"].as_str().unwrap().to_string();
    let (s, v) = post(
        &app,
        &t.reviewer,
        &format!("/api/v1/admin/consultations/{DEMO_ID}/comments"),
        json!({"opinion": "来信人请回电 138 0013 8000，身份证 11010519491231002X。"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    // And through the web form, where the receipt page masks them too.
    let citizen = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let form_url = app.url(&format!("/c/{DEMO_ID}"));
    citizen.get(&form_url).send().await.unwrap().text().await.unwrap();
    let (csrf, captcha_id) = crate::pages::form_token(&citizen, &app, "").await;
    let answer = app.state.captchas.peek_answer(&captcha_id).unwrap();
    let web_opinion = format!("网上留言：手机 {ATTACHED_PHONE}，身份证 110105-19491231-002X。");
    let fields = [
        ("csrf", csrf),
        ("name", "李四".into()),
        ("id_number", "11010519491231002X".into()),
        ("position", "教师".into()),
        ("phone", "13912345678".into()),
        ("email", "lisi@example.com".into()),
        ("opinion", web_opinion.clone()),
        ("captcha_id", captcha_id),
        ("captcha_answer", answer),
        ("consent", "yes".into()),
    ];
    let res = citizen.post(&form_url).form(&fields).send().await.unwrap();
    let status = res.status();
    let page = res.text().await.unwrap();
    assert_eq!(status, 200, "{page}");
    assert_masked("the receipt page", &page);
    assert!(page.contains(ATTACHED_PHONE_MASKED) && page.contains(ID_MASKED), "{page}");
    let start = page.find("id=\"receipt\">").unwrap() + "id=\"receipt\">".len();
    let web_receipt = page[start..start + 12].to_string();

    // The mail, as a reviewer reads it: text and subject masked, attachments listed.
    let (s, mail) = get_text(&app, &t.reviewer, &format!("/api/v1/admin/mail/{mail_id}")).await;
    assert_eq!(s, 200);
    assert_masked("the mail (API)", &mail);
    let mail: Value = serde_json::from_str(&mail).unwrap();
    let text = mail["full_text"].as_str().unwrap();
    assert!(text.contains(ID_MASKED) && text.contains(PHONE_MASKED) && text.contains(NOT_AN_ID), "{text}");
    assert!(mail["subject"].as_str().unwrap().ends_with(ATTACHED_PHONE_MASKED), "{mail}");
    // The comments, as a reviewer reads them.
    for (r, want) in [
        (&receipt, vec![ID_MASKED, PHONE_MASKED, ATTACHED_PHONE_MASKED, NOT_AN_ID]),
        (&api_receipt, vec!["138****8000，身份证110105********002X。"]),
        (&web_receipt, vec!["手机 139****5678，身份证 110105********002X。"]),
    ] {
        let (s, c) = get_text(&app, &t.reviewer, &format!("/api/v1/admin/comments/{r}")).await;
        assert_eq!(s, 200);
        assert_masked("a comment (API)", &c);
        let opinion = serde_json::from_str::<Value>(&c).unwrap()["opinion"].as_str().unwrap().to_string();
        for w in want {
            assert!(opinion.contains(w), "{w} in {opinion}");
        }
    }
    let (session, session_csrf) = login_session(&app, "rev1", "reviewer password 1").await;
    for path in [
        format!("/admin/mail/{mail_id}"),
        "/admin/mail?state=comment".to_string(),
        format!("/admin/comments/{receipt}"),
        format!("/admin/comments/{api_receipt}"),
        format!("/admin/c/{DEMO_ID}"),
    ] {
        let res = session.get(app.url(&path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let page = res.text().await.unwrap();
        assert_masked(&path, &page);
        // Nothing offers a reviewer the originals.
        assert!(!page.contains("/raw\"") && !page.contains("/admin/attachments/"), "{path}: {page}");
    }
    let page = session.get(app.url(&format!("/admin/mail/{mail_id}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(ID_MASKED) && page.contains(PHONE_MASKED), "{page}");

    // Search: the index holds the masked text, so the full numbers find nothing.
    let queue = format!("/api/v1/admin/consultations/{DEMO_ID}/comments");
    let hits = eventually(Duration::from_secs(20), || async {
        let (_, v) = get_text(&app, &t.reviewer, &format!("{queue}?q={}", urlencode("回电"))).await;
        let v: Value = serde_json::from_str(&v).unwrap();
        if v["total"] == 2 { Ok(v) } else { Err(format!("{} hits", v["total"])) }
    })
    .await;
    assert_masked("search results", &hits.to_string());
    let (_, hits) = get_text(&app, &t.reviewer, &format!("{queue}?q={}", urlencode("职业技能培训"))).await;
    assert!(hits.contains(&receipt), "{hits}");
    assert_masked("search results", &hits);
    for q in ["13800138000", "11010519491231002X", "13912345678"] {
        let (_, v) = get_text(&app, &t.reviewer, &format!("{queue}?q={q}")).await;
        assert_eq!(serde_json::from_str::<Value>(&v).unwrap()["total"], 0, "{q} is searchable: {v}");
    }
    // The queue's openings.
    let (_, all) = get_text(&app, &t.reviewer, &queue).await;
    assert_masked("the queue", &all);

    // Masked exports.
    for format in ["csv", "jsonl", "xlsx"] {
        let res =
            get(&app, &t.reviewer, &format!("/api/v1/admin/consultations/{DEMO_ID}/export?format={format}")).await;
        assert_eq!(res.status(), 200, "{format}");
        let bytes = res.bytes().await.unwrap();
        if format == "xlsx" {
            let xml = unzip_text(&bytes);
            assert_masked("the masked XLSX", &xml);
            assert!(xml.contains(ID_MASKED), "the XLSX has the opinions");
        } else {
            let text = String::from_utf8(bytes.to_vec()).unwrap();
            assert_masked(&format!("the masked {format}"), &text);
            assert!(text.contains(ID_MASKED) && text.contains(ATTACHED_PHONE_MASKED), "{text}");
        }
    }

    // An excerpt is a passage of what the reviewer sees; the report quotes it.
    let review = format!("/api/v1/admin/comments/{receipt}/review");
    let (s, _) = post(&app, &t.reviewer, &review, json!({"action": "excerpt", "excerpt": "电话 138 0013 8000"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "the full number is no passage of the masked opinion");
    let (s, v) =
        post(&app, &t.reviewer, &review, json!({"action": "dispose", "disposition": "adopted", "reason": "采纳。"}))
            .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = post(&app, &t.reviewer, &review, json!({"action": "excerpt", "excerpt": "电话 138****8000"})).await;
    assert_eq!(s, 200, "{v}");
    let (s, report) = get_text(&app, &t.reviewer, &format!("/api/v1/admin/consultations/{DEMO_ID}/report")).await;
    assert_eq!(s, 200);
    assert!(report.contains("电话 138****8000"), "{report}");
    assert_masked("the report", &report);

    // The originals: never for a reviewer, for an admin only with a reason, audited first.
    let raw_path = format!("/api/v1/admin/mail/{mail_id}/raw");
    let attachments = mail["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 1, "{mail}");
    let attachment_path = format!("/api/v1/admin/attachments/{}", attachments[0]["id"]);
    for path in [&raw_path, &attachment_path] {
        let res = get(&app, &t.reviewer, &format!("{path}?reason={}", urlencode("核对来信原件"))).await;
        assert_eq!(res.status(), 403, "{path}");
        assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], "forbidden");
        for query in ["", "?reason=", "?reason=%20ab%20"] {
            let res = get(&app, &t.admin, &format!("{path}{query}")).await;
            assert_eq!(res.status(), 422, "{path}{query}");
            assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], "invalid");
        }
    }
    let opened = |e: &&yijian_store::AuditEntry| e.action.starts_with("mail.") && e.action.ends_with("_opened");
    assert_eq!(app.store().audit_entries().await.unwrap().iter().filter(opened).count(), 0, "refused, not opened");
    let res = get(&app, &t.admin, &format!("{raw_path}?reason={}", urlencode("核对来信原件"))).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.bytes().await.unwrap().to_vec(), raw);
    let res = get(&app, &t.admin, &format!("{attachment_path}?reason={}", urlencode("核对附件"))).await;
    assert_eq!(res.status(), 200);
    assert!(res.bytes().await.unwrap().starts_with(b"PK"));
    let audit = app.store().audit_entries().await.unwrap();
    assert!(
        audit.iter().any(|e| e.action == "mail.raw_opened"
            && e.actor == "admin1"
            && e.subject == format!("mail:{mail_id}")
            && e.detail.contains("reason=核对来信原件")),
        "{audit:?}"
    );
    assert!(
        audit.iter().any(|e| e.action == "mail.attachment_opened" && e.detail.contains("reason=核对附件")),
        "{audit:?}"
    );
    // The pages: a reviewer's form post is refused; an admin's page has the form, and it works.
    let res = session
        .post(app.url(&format!("/admin/mail/{mail_id}/raw")))
        .form(&[("csrf", session_csrf.as_str()), ("reason", "核对来信原件")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let (admin, _) = login_session(&app, "admin1", "admin password 1").await;
    let page = admin.get(app.url(&format!("/admin/mail/{mail_id}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(&format!("action=\"/admin/mail/{mail_id}/raw\"")), "{page}");
    assert!(page.contains(&format!("formaction=\"/admin/attachments/{}\"", attachments[0]["id"])), "{page}");
    assert_masked("the admin's mail page", &page);
    let csrf = csrf_of(&page);
    let res = admin
        .post(app.url(&format!("/admin/mail/{mail_id}/raw")))
        .form(&[("csrf", csrf.as_str()), ("reason", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let res = admin
        .post(app.url(&format!("/admin/attachments/{}", attachments[0]["id"])))
        .form(&[("csrf", csrf.as_str()), ("reason", "页面上核对附件")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.bytes().await.unwrap().starts_with(b"PK"));
    let audit = app.store().audit_entries().await.unwrap();
    assert!(audit.iter().any(|e| e.detail.contains("reason=页面上核对附件")), "{audit:?}");

    // An admin's audited reveal shows the opinion as written.
    let page = admin.get(app.url(&format!("/admin/comments/{receipt}"))).send().await.unwrap().text().await.unwrap();
    assert_masked("the admin's comment page before a reveal", &page);
    for (r, want) in [
        (&receipt, vec![ID_SPACED, PHONE_SPACED, ATTACHED_PHONE]),
        (&api_receipt, vec!["138-0013-8000", "110105-19491231-002x", "11010519491231002X"]),
        (&web_receipt, vec![web_opinion.as_str()]),
    ] {
        let res = admin
            .post(app.url(&format!("/admin/comments/{r}/reveal")))
            .form(&[("csrf", csrf.as_str()), ("reason", "核实来信人身份")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let page = res.text().await.unwrap();
        for w in want {
            assert!(page.contains(w), "{w} not revealed: {page}");
        }
    }
    // And so does the personal-data export.
    let (s, export) = post(
        &app,
        &t.admin,
        &format!("/api/v1/admin/consultations/{DEMO_ID}/export"),
        json!({"format": "jsonl", "include_personal_data": true, "reason": "移交纪检核查"}),
    )
    .await;
    assert_eq!(s, 200);
    for w in [ID_SPACED, PHONE_SPACED, ATTACHED_PHONE, "138-0013-8000", "110105-19491231-002x"] {
        assert!(export.contains(w), "{w} not in the personal-data export");
    }
}
on_both_backends!(numbers_written_into_text_are_masked_for_staff);

/// The text of every XML part of an XLSX file.
fn unzip_text(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.xlsx");
    std::fs::write(&path, bytes).unwrap();
    let out = std::process::Command::new("unzip").arg("-p").arg(&path).output().expect("unzip runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Rows stored before masking existed (migration 0009 lists them) are masked and sealed once
/// when the store opens, and the search index is asked to forget the old words; opening again
/// changes nothing.
async fn rows_stored_before_masking_are_masked_once(backend: Backend) {
    let data = TestData::new(backend).await;
    let store = data.store().await;
    let demo = yijian_domain::file::parse(&std::fs::read_to_string(demo_file()).unwrap()).unwrap();
    store.import_consultation(&demo, true, jiff::Timestamp::now()).await.unwrap();
    let comment = |opinion: &str| yijian_domain::comment::NewComment {
        consultation_id: DEMO_ID.into(),
        version: 1,
        channel: yijian_domain::comment::Channel::Api,
        name: None,
        id_number: None,
        position: None,
        phone: None,
        email: None,
        opinion: opinion.into(),
        articles: vec![],
        sender: None,
        note: None,
    };
    let (with_numbers, _) = store.submit_comment(&comment("占位"), jiff::Timestamp::now()).await.unwrap();
    let (without, _) = store.submit_comment(&comment("没有号码的意见。"), jiff::Timestamp::now()).await.unwrap();
    let intake = yijian_mail::intake::Intake::new(store.clone(), Default::default()).await.unwrap();
    let mut spec = MailSpec::simple("无关的邮件", "李四 <lisi@example.cn>", "你好");
    spec.message_id = Some("old@example.cn".into());
    let done = intake
        .import(
            vec![yijian_mail::intake::Incoming { raw: spec.to_bytes(), source: "t".into(), arrival: None, size: None }],
            jiff::Timestamp::now(),
        )
        .await
        .unwrap();
    let yijian_mail::intake::Outcome::Unrouted { mail_id } = done[0].outcome else { panic!("{:?}", done[0].outcome) };
    // Made to look as an older version left them: numbers in clear, mail text unsealed, and
    // the backlog the migration records.
    let old_opinion = format!("我的电话 {PHONE_SPACED}，身份证 {ID_SPACED}。");
    let old_text = "旧邮件正文：电话13912345678";
    let pool = store.pool().clone();
    sqlx::query("UPDATE comments SET opinion = $1, excerpt = $2, opinion_enc = NULL WHERE receipt = $3")
        .bind(&old_opinion)
        .bind(format!("我的电话 {PHONE_SPACED}"))
        .bind(with_numbers.compact().to_string())
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE mails SET full_text = $1, full_text_enc = NULL WHERE id = $2")
        .bind(old_text)
        .bind(mail_id)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO masking_backlog (through_id, done_id) SELECT MAX(id), 0 FROM comments")
        .execute(&pool)
        .await
        .unwrap();
    store.take_search_reindex_request().await.unwrap();
    store.close().await;

    let row = |store: yijian_store::Store, receipt: yijian_domain::receipt::Receipt| async move {
        let r = sqlx::query("SELECT opinion, excerpt, opinion_enc FROM comments WHERE receipt = $1")
            .bind(receipt.compact().to_string())
            .fetch_one(store.pool())
            .await
            .unwrap();
        (r.get::<String, _>(0), r.get::<Option<String>, _>(1), r.get::<Option<Vec<u8>>, _>(2))
    };
    let store = data.store().await;
    let (opinion, excerpt, sealed) = row(store.clone(), with_numbers).await;
    assert_eq!(opinion, format!("我的电话 {PHONE_MASKED}，身份证 {ID_MASKED}。"));
    assert_eq!(excerpt.as_deref(), Some("我的电话 138****8000"));
    assert!(sealed.is_some());
    let c = store.comment(&with_numbers).await.unwrap().unwrap();
    assert_eq!(c.opinion, opinion);
    assert_eq!(c.full_opinion.as_ref().map(|f| f.expose()), Some(old_opinion.as_str()));
    assert_eq!(format!("{:?}", c.full_opinion.unwrap()), format!("FullText({opinion:?})"), "prints masked");
    let (opinion, _, sealed) = row(store.clone(), without).await;
    assert_eq!((opinion.as_str(), sealed), ("没有号码的意见。", None), "nothing to mask, nothing sealed");
    let mail_row = sqlx::query("SELECT full_text, full_text_enc FROM mails WHERE id = $1")
        .bind(mail_id)
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(mail_row.get::<Option<String>, _>(0), None, "the mail's text is no longer in clear");
    assert!(mail_row.get::<Option<Vec<u8>>, _>(1).is_some());
    assert_eq!(store.mail_full_text(mail_id).await.unwrap().unwrap().expose(), old_text);
    let backlog: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM masking_backlog").fetch_one(store.pool()).await.unwrap();
    assert_eq!(backlog, 0);
    assert!(store.take_search_reindex_request().await.unwrap(), "the index is rebuilt from the masked text");
    let before = row(store.clone(), with_numbers).await;
    store.close().await;

    // Once only.
    let store = data.store().await;
    assert_eq!(store.mask_stored_personal_data().await.unwrap(), Default::default());
    assert_eq!(row(store.clone(), with_numbers).await, before);
    assert!(!store.take_search_reindex_request().await.unwrap());
    store.close().await;
}
on_both_backends!(rows_stored_before_masking_are_masked_once);

/// Masking and sealing on the way in keep the intake's answer unchanged: a comment without
/// numbers is stored as written, with nothing sealed.
#[test]
fn masking_is_idempotent_on_masked_text() {
    let text = format!("电话 {PHONE_MASKED}，身份证 {ID_MASKED}");
    assert_eq!(yijian_domain::pii::mask_sensitive(&text), text);
}
