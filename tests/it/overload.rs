//! Overload: when more comments arrive than the database takes in, those beyond a small queue
//! are answered at once with 503 and Retry-After, and every 201 is a stored comment.
//!
//! The database is made slow on purpose by holding its write lock from outside (SQLite:
//! `BEGIN IMMEDIATE`; PostgreSQL: a table lock), so that the intake queue of a server
//! configured with a tiny one (`intake_queue = 2`, one comment per commit) fills for certain.

use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::Connection;

use crate::harness::{Backend, DEMO_ID, ServerProcess, TestData, good_body};
use crate::on_both_backends;

/// A connection that holds the database's write lock until it is dropped or released.
enum WriteLock {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl WriteLock {
    async fn take(data: &TestData) -> WriteLock {
        match &data.pg {
            None => {
                let url = format!("sqlite://{}", data.path().join("yijian.sqlite3").display());
                let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
                sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut c).await.unwrap();
                WriteLock::Sqlite(c)
            }
            Some(pg) => {
                let mut c = sqlx::PgConnection::connect(&pg.url).await.unwrap();
                sqlx::raw_sql("BEGIN; LOCK TABLE comments IN SHARE ROW EXCLUSIVE MODE").execute(&mut c).await.unwrap();
                WriteLock::Postgres(c)
            }
        }
    }

    async fn release(self) {
        match self {
            WriteLock::Sqlite(mut c) => sqlx::raw_sql("ROLLBACK").execute(&mut c).await.map(|_| ()).unwrap(),
            WriteLock::Postgres(mut c) => sqlx::raw_sql("ROLLBACK").execute(&mut c).await.map(|_| ()).unwrap(),
        }
    }
}

async fn a_full_intake_queue_answers_503_at_once_and_loses_no_201(backend: Backend) {
    let data = TestData::new(backend).await;
    let server = ServerProcess::try_spawn(
        &data,
        &["--insecure-no-captcha", "--insecure-no-rate-limit"],
        &[("YIJIAN_INTAKE_QUEUE", "2"), ("YIJIAN_GROUP_COMMIT_MAX", "1"), ("YIJIAN_METRICS_LISTEN", "127.0.0.1:0")],
    )
    .unwrap_or_else(|e| panic!("server did not start: {e}"));
    let client = reqwest::Client::new();
    let url = server.url(&format!("/api/v1/consultations/{DEMO_ID}/comments"));

    let lock = WriteLock::take(&data).await;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..24 {
        let (client, url) = (client.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let mut body = good_body();
            body["opinion"] = serde_json::json!(format!("高峰时段的第{i}条意见"));
            let res = client.post(url).json(&body).send().await.unwrap();
            let status = res.status().as_u16();
            let retry_after = res.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
            let body: Value = res.json().await.unwrap();
            (status, retry_after, body, started.elapsed())
        }));
    }

    // While the database is held, the queue is full: the refused are answered now, not when
    // the lock goes.
    let mut refused = 0;
    // Generous: only a server that waited for the database would never answer them.
    let deadline = Instant::now() + Duration::from_secs(60);
    while refused < 16 && Instant::now() < deadline {
        refused = tasks.iter().filter(|t| t.is_finished()).count();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused >= 16, "only {refused} of 24 answered while the database was held");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let held_for = started.elapsed();
    lock.release().await;

    let mut receipts = Vec::new();
    let mut busy = 0;
    let mut refused_while_held = 0;
    for t in tasks {
        let (status, retry_after, body, took) = t.await.unwrap();
        match status {
            201 => receipts.push(body["receipt"].as_str().unwrap().to_string()),
            503 => {
                busy += 1;
                assert_eq!(retry_after.as_deref(), Some("2"), "{body}");
                assert_eq!(body["error"]["code"], "busy", "{body}");
                let message = body["error"]["message"].as_str().unwrap();
                assert!(message.contains("请2秒后再次提交") && message.contains("尚未保存"), "{message}");
                refused_while_held += usize::from(took < held_for);
            }
            other => panic!("only 201 and 503 are answers to a flood, got {other}: {body}"),
        }
    }
    assert!(busy >= 16, "{busy} refused");
    assert!(refused_while_held >= 16, "{refused_while_held} refusals came before the database answered");
    // Each refusal is counted where operators look.
    let metrics = server.metrics_base.clone().expect("metrics address");
    let text = client.get(format!("{metrics}/metrics")).send().await.unwrap().text().await.unwrap();
    let counted = format!("yijian_overload_refused_total{{route=\"/api/v1/consultations/{{id}}/comments\"}} {busy}");
    assert!(text.contains(&counted), "{counted} not in\n{text}");
    assert!(!receipts.is_empty(), "what was queued is stored once the database answers");

    // Every 201 is stored, and nothing else.
    let store = data.store().await;
    assert_eq!(store.count_comments(DEMO_ID).await.unwrap(), receipts.len() as i64);
    for r in &receipts {
        let receipt = yijian_domain::receipt::Receipt::parse(r).unwrap();
        assert!(store.receipt(&receipt).await.unwrap().is_some(), "{r} acknowledged but not stored");
    }

    // The queue empties: the same server takes comments again.
    let res = client.post(&url).json(&good_body()).send().await.unwrap();
    assert_eq!(res.status(), 201);
}
on_both_backends!(a_full_intake_queue_answers_503_at_once_and_loses_no_201);

#[tokio::test]
async fn the_queue_setting_is_checked() {
    let data = TestData::new(Backend::Sqlite).await;
    let err = ServerProcess::try_spawn(&data, &[], &[("YIJIAN_INTAKE_QUEUE", "0")]).err().expect("refused");
    assert!(err.contains("intake_queue must be between 1 and 1000000"), "{err}");
}

/// The web form under the same flood: the page comes back at once with 503, Retry-After,
/// everything typed, and a message saying nothing was stored and when to try again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_form_comes_back_with_what_was_typed_when_the_queue_is_full() {
    let data = TestData::new(Backend::Sqlite).await;
    let server = ServerProcess::try_spawn(
        &data,
        &["--insecure-no-captcha", "--insecure-no-rate-limit"],
        &[("YIJIAN_INTAKE_QUEUE", "1"), ("YIJIAN_GROUP_COMMIT_MAX", "1")],
    )
    .unwrap_or_else(|e| panic!("server did not start: {e}"));
    let browser = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let token: Value =
        browser.get(server.url(&format!("/c/{DEMO_ID}/form-token"))).send().await.unwrap().json().await.unwrap();
    let csrf = token["csrf"].as_str().unwrap().to_string();

    let lock = WriteLock::take(&data).await;
    // Comments one after another until one is refused: then the writer holds one, the queue is
    // full, and stays so while the database is held.
    let api = server.url(&format!("/api/v1/consultations/{DEMO_ID}/comments"));
    let mut held = Vec::new();
    loop {
        let (client, api) = (reqwest::Client::new(), api.clone());
        held.push(tokio::spawn(
            async move { client.post(api).json(&good_body()).send().await.unwrap().status().as_u16() },
        ));
        tokio::time::sleep(Duration::from_millis(300)).await;
        let refused = held.iter().any(|h| h.is_finished());
        if refused {
            break;
        }
        assert!(held.len() < 20, "the queue never filled");
    }

    let opinion = "洪峰时刻写下的意见：建议延长征求意见期限。";
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "王五"),
        ("id_number", "11010519491231002X"),
        ("position", "教师"),
        ("phone", "13912345678"),
        ("email", "wangwu@example.com"),
        ("opinion", opinion),
        ("articles", "5"),
        ("consent", "yes"),
    ];
    // Answered while the database is still held: the refusal does not wait for it.
    let res = browser.post(server.url(&format!("/c/{DEMO_ID}"))).form(&form).send().await.unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "2");
    assert_eq!(res.headers()["cache-control"], "no-store");
    let page = res.text().await.unwrap();
    assert!(page.contains("您的意见尚未保存") && page.contains("请2秒后再次提交"), "the page says what happened");
    assert!(page.contains(opinion) && page.contains("王五") && page.contains("wangwu@example.com"), "typed kept");

    lock.release().await;
    let mut stored = 0;
    for h in held {
        match h.await.unwrap() {
            201 => stored += 1,
            503 => {}
            other => panic!("{other}"),
        }
    }
    let store = data.store().await;
    assert_eq!(store.count_comments(DEMO_ID).await.unwrap(), stored, "the refused form stored nothing");
}
