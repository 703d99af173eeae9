//! An acknowledged comment is on disk: kill -9 the server right after its 201s and find every
//! acknowledged comment after a restart.

use std::time::Duration;

use serde_json::Value;
use yijian_testkit::eventually;

use crate::harness::{Backend, DEMO_ID, ServerProcess, TestData, good_body};
use crate::on_both_backends;

async fn acknowledged_comments_survive_kill_9(backend: Backend) {
    let data = TestData::new(backend).await;
    let server = ServerProcess::spawn(&data, &["--insecure-no-captcha", "--insecure-no-rate-limit"]);
    let client = reqwest::Client::new();
    let url = server.url(&format!("/api/v1/consultations/{DEMO_ID}/comments"));

    // Many at once, so that they share group commits.
    let mut tasks = Vec::new();
    for i in 0..64 {
        let (client, url) = (client.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let mut body = good_body();
            body["opinion"] = serde_json::json!(format!("第{i}条意见"));
            let res = client.post(url).json(&body).send().await.unwrap();
            assert_eq!(res.status(), 201);
            res.json::<Value>().await.unwrap()["receipt"].as_str().unwrap().to_string()
        }));
    }
    let mut receipts = Vec::new();
    for t in tasks {
        receipts.push(t.await.unwrap());
    }
    server.kill9();

    // 64 look-ups from one address at once: above the look-up limit, which is not under test.
    let server = ServerProcess::spawn(&data, &["--insecure-no-rate-limit"]);
    for r in &receipts {
        let res = client.get(server.url(&format!("/api/v1/receipts/{r}"))).send().await.unwrap();
        assert_eq!(res.status(), 200, "acknowledged comment {r} lost");
    }
    let store_count = {
        let store = data.store().await;
        store.count_comments(DEMO_ID).await.unwrap()
    };
    assert_eq!(store_count, 64);
    // The restart did not load a second demo over the first.
    let list: Value = client.get(server.url("/api/v1/consultations")).send().await.unwrap().json().await.unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
}
on_both_backends!(acknowledged_comments_survive_kill_9);

/// SIGTERM stops a server that has taken comments: the background tasks holding the store
/// (the search indexer, the mail poll) must not keep it waiting for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_server_after_it_took_comments() {
    let data = TestData::new(Backend::Sqlite).await;
    let mut server = ServerProcess::spawn(&data, &["--insecure-no-captcha", "--insecure-no-rate-limit"]);
    let client = reqwest::Client::new();
    for _ in 0..3 {
        let res = client
            .post(server.url(&format!("/api/v1/consultations/{DEMO_ID}/comments")))
            .json(&good_body())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
    }
    let pid = server.child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = eventually(Duration::from_secs(15), || {
        let exited = server.child.try_wait().unwrap();
        std::future::ready(exited.ok_or_else(|| format!("still running after SIGTERM: {}", server.stderr())))
    })
    .await;
    assert!(status.success(), "{status}: {}", server.stderr());
    // Everything acknowledged is on disk.
    let store = data.store().await;
    assert_eq!(store.count_comments(DEMO_ID).await.unwrap(), 3);
    store.close().await;
}
