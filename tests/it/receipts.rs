//! Looking a comment up by its tracking number: limited per client (an IPv6 /64 is one), and
//! telling a disposition only as a published adoption report carried it.

use jiff::Timestamp;
use serde_json::Value;
use yijian_domain::review::{Disposition, ReviewAction};
use yijian_domain::staff::Role;
use yijian_store::{SessionUser, Target};
use yijian_web::WebOptions;
use yijian_web::limits::RateLimit;

use crate::harness::{Backend, DEMO_ID, InProcess, ServerProcess, TestData, submit_good_comment};
use crate::on_both_backends;

async fn lookup(app: &InProcess, receipt: &str, from: &str) -> reqwest::Response {
    app.client
        .get(app.url(&format!("/api/v1/receipts/{receipt}")))
        .header("x-forwarded-for", from)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn receipt_lookups_are_rate_limited_per_client() {
    let options = WebOptions {
        insecure_no_captcha: true,
        lookup_limit: Some(RateLimit { per_minute: 1, burst: 2 }),
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        ..WebOptions::default()
    };
    let app = InProcess::start(Backend::Sqlite, options).await;
    let receipt = submit_good_comment(&app).await;
    assert_eq!(lookup(&app, &receipt, "2001:db8:1:2::1").await.status(), 200);
    assert_eq!(lookup(&app, "YJ-0000-0000", "2001:db8:1:2::1").await.status(), 404, "a miss counts too");
    // Another address in the same /64 is the same client.
    let res = lookup(&app, &receipt, "2001:db8:1:2:ffff::9").await;
    assert_eq!(res.status(), 429);
    let wait: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    // The page shares the limit, and says so in the reader's language.
    let res = app
        .client
        .get(app.url(&format!("/receipt?receipt={receipt}")))
        .header("x-forwarded-for", "2001:db8:1:2::77")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    assert!(res.text().await.unwrap().contains("查询过于频繁"));
    // Another /64, and an IPv4 client, are not held back.
    assert_eq!(lookup(&app, &receipt, "2001:db8:1:3::1").await.status(), 200);
    assert_eq!(lookup(&app, &receipt, "203.0.113.7").await.status(), 200);
    // The empty look-up form is no look-up.
    let res = app.client.get(app.url("/receipt")).header("x-forwarded-for", "2001:db8:1:2::1").send().await.unwrap();
    assert_eq!(res.status(), 200);
}

/// The real server limits look-ups by default, and `--insecure-no-rate-limit` lifts it.
#[tokio::test]
async fn the_insecure_flag_lifts_the_lookup_limit() {
    let count_limited = async |server: &ServerProcess| {
        let client = reqwest::Client::new();
        let mut limited = 0;
        for _ in 0..40 {
            let res = client.get(server.url("/api/v1/receipts/YJ-0000-0000")).send().await.unwrap();
            limited += (res.status() == 429) as u32;
        }
        limited
    };
    let data = TestData::new(Backend::Sqlite).await;
    let server = ServerProcess::spawn(&data, &[]);
    assert!(count_limited(&server).await > 0, "40 look-ups at once are limited by default");
    drop(server);
    let server = ServerProcess::spawn(&data, &["--insecure-no-rate-limit"]);
    assert_eq!(count_limited(&server).await, 0);
}

async fn lookups_tell_the_published_disposition(backend: Backend) {
    let app = InProcess::start(backend, WebOptions { insecure_no_captcha: true, ..WebOptions::default() }).await;
    let receipt = submit_good_comment(&app).await;
    let r = yijian_domain::receipt::Receipt::parse(&receipt).unwrap();
    let admin = SessionUser { name: "admin1".into(), role: Role::Admin };
    let now = Timestamp::now();
    let c = app.app().consultation(DEMO_ID).await.unwrap().unwrap();
    let api = async || -> Value {
        app.client.get(app.url(&format!("/api/v1/receipts/{receipt}"))).send().await.unwrap().json().await.unwrap()
    };
    let page = async || -> String {
        app.client.get(app.url(&format!("/receipt?receipt={receipt}"))).send().await.unwrap().text().await.unwrap()
    };
    let dispose = |d: Disposition, why: &str| ReviewAction::Dispose(Some(d), why.into());

    // Disposed, but no report yet: nothing told.
    app.app()
        .review(&admin, &c, Target::One(r), &dispose(Disposition::Adopted, "已采纳并修改第五条。"), now)
        .await
        .unwrap();
    let res = api().await;
    assert_eq!(
        (res["status"].as_str(), &res["disposition"], &res["reasoning"]),
        (Some("received"), &Value::Null, &Value::Null)
    );
    let text = page().await;
    assert!(!text.contains("已采纳并修改第五条"), "the reasoning shows before the report");

    // Published: told as the report has it.
    app.app().publish_report(&admin, &c, "", now).await.unwrap();
    let res = api().await;
    assert_eq!(res["status"], "disposed");
    assert_eq!(res["disposition"], "adopted");
    assert_eq!(res["reasoning"], "已采纳并修改第五条。");
    assert!(page().await.contains("已采纳并修改第五条"));

    // Edited afterwards: still as published, until a new report is.
    app.app()
        .review(&admin, &c, Target::One(r), &dispose(Disposition::NotAdopted, "经研究不予采纳。"), now)
        .await
        .unwrap();
    let res = api().await;
    assert_eq!(
        (res["disposition"].as_str(), res["reasoning"].as_str()),
        (Some("adopted"), Some("已采纳并修改第五条。"))
    );
    let text = page().await;
    assert!(text.contains("已采纳并修改第五条") && !text.contains("经研究不予采纳"), "the live edit leaked");
    app.app().publish_report(&admin, &c, "", now).await.unwrap();
    let res = api().await;
    assert_eq!(
        (res["disposition"].as_str(), res["reasoning"].as_str()),
        (Some("not_adopted"), Some("经研究不予采纳。"))
    );

    // Marked spam after publication: the next report leaves it out, and so does the look-up.
    let spam = ReviewAction::Moderate(Some(yijian_domain::review::Moderation::Spam), String::new());
    app.app().review(&admin, &c, Target::One(r), &spam, now).await.unwrap();
    app.app().publish_report(&admin, &c, "", now).await.unwrap();
    assert_eq!(api().await["disposition"], Value::Null);
}
on_both_backends!(lookups_tell_the_published_disposition);
