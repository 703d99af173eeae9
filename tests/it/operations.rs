//! Operating a node: `/healthz`, `/readyz`, `/metrics` (read by Python's prometheus_client
//! parser), drain on SIGTERM with the real binary, and `yijian backup` / `restore`.

use std::io::{Read, Write};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use yijian_domain::receipt::Receipt;
use yijian_domain::staff::Role;
use yijian_web::WebOptions;

use crate::harness::{Backend, DEMO_ID, InProcess, ServerProcess, TestData, good_body, run, submit_good_comment};
use crate::on_both_backends;

fn insecure() -> WebOptions {
    WebOptions { insecure_no_captcha: true, ..WebOptions::default() }
}

async fn health_and_readiness_answer_and_readiness_knows_a_missing_migration(backend: Backend) {
    let app = InProcess::start(backend, insecure()).await;
    for (path, body) in [("/healthz", "ok\n"), ("/readyz", "ready\n")] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(res.headers()["cache-control"], "no-store", "{path}");
        assert_eq!(res.text().await.unwrap(), body, "{path}");
    }
    // A database whose last migration is not applied (a node started against a database another
    // node's older binary made, say) is not ready, and says which migration.
    sqlx::query("DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)")
        .execute(app.store().pool())
        .await
        .unwrap();
    let res = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), 503);
    let text = res.text().await.unwrap();
    assert!(text.starts_with("not ready: migrations not applied: 00"), "{text}");
    // Health is only whether the process serves.
    assert_eq!(app.client.get(app.url("/healthz")).send().await.unwrap().status(), 200);
    // Neither is part of the API's document.
    let doc: Value = app.client.get(app.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(doc["paths"].get("/healthz").is_none() && doc["paths"].get("/readyz").is_none());
}
on_both_backends!(health_and_readiness_answer_and_readiness_knows_a_missing_migration);

/// The families Python's prometheus_client reads from `text`: name → (type, samples as
/// [name, labels, value]).
fn parse_with_prometheus_client(text: &str) -> serde_json::Map<String, Value> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics.txt");
    std::fs::write(&path, text).unwrap();
    let script = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = {}
for f in text_string_to_metric_families(open(sys.argv[1], encoding="utf-8").read()):
    out[f.name] = {"type": f.type, "samples": [[s.name, s.labels, s.value] for s in f.samples]}
print(json.dumps(out))
"#;
    let out = Command::new("python3").arg("-c").arg(script).arg(&path).output().expect("python3 runs");
    assert!(
        out.status.success(),
        "prometheus_client could not parse the metrics (python3 -m pip install -r tests/python-requirements.txt): {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Value>(&out.stdout).unwrap().as_object().unwrap().clone()
}

fn sample(families: &serde_json::Map<String, Value>, family: &str, name: &str, labels: &Value) -> Option<f64> {
    families.get(family)?["samples"].as_array()?.iter().find_map(|s| {
        let matches = s[0] == name && labels.as_object()?.iter().all(|(k, v)| &s[1][k] == v);
        matches.then(|| s[2].as_f64()).flatten()
    })
}

async fn metrics_need_an_admin_token_and_parse_as_prometheus_text(backend: Backend) {
    let app = InProcess::start(backend, insecure()).await;
    let now = jiff::Timestamp::now();
    app.app().add_user("test", "ops-admin", Role::Admin, "admin password 1", now).await.unwrap();
    app.app().add_user("test", "ops-reviewer", Role::Reviewer, "reviewer password 1", now).await.unwrap();
    let (_, admin) = app.app().create_token("test", "ops-admin", None, now).await.unwrap();
    let (_, reviewer) = app.app().create_token("test", "ops-reviewer", None, now).await.unwrap();

    let receipt = submit_good_comment(&app).await;
    // A path with a receipt in it: counted under its route, never under the receipt.
    let res = app.client.get(app.url(&format!("/api/v1/receipts/{receipt}"))).send().await.unwrap();
    assert_eq!(res.status(), 200);

    let metrics = app.url("/metrics");
    let res = app.client.get(&metrics).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    let res = app.client.get(&metrics).bearer_auth("not-a-token").send().await.unwrap();
    assert_eq!(res.status(), 401);
    let res = app.client.get(&metrics).bearer_auth(&reviewer).send().await.unwrap();
    assert_eq!(res.status(), 403, "a reviewer's token does not read the metrics");

    let res = app.client.get(&metrics).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    assert_eq!(res.headers()["cache-control"], "no-store");
    let text = res.text().await.unwrap();
    assert!(!text.contains(&receipt), "no receipt in any label:\n{text}");
    let families = parse_with_prometheus_client(&text);
    for (family, kind) in [
        ("yijian_http_requests", "counter"),
        ("yijian_http_request_duration_seconds", "histogram"),
        ("yijian_intake_batch_size", "histogram"),
        ("yijian_intake_queue_depth", "gauge"),
        ("yijian_mail_passes", "counter"),
        ("yijian_search_index_lag", "gauge"),
        ("yijian_captcha_pool_images", "gauge"),
    ] {
        assert_eq!(families.get(family).map(|f| f["type"].clone()), Some(Value::from(kind)), "{family}: {text}");
    }
    let posted = serde_json::json!({"method": "POST", "route": "/api/v1/consultations/{id}/comments", "status": "201"});
    assert_eq!(sample(&families, "yijian_http_requests", "yijian_http_requests_total", &posted), Some(1.0), "{text}");
    let looked_up = serde_json::json!({"method": "GET", "route": "/api/v1/receipts/{receipt}", "status": "200"});
    assert_eq!(sample(&families, "yijian_http_requests", "yijian_http_requests_total", &looked_up), Some(1.0));
    let refused = serde_json::json!({"route": "/metrics", "status": "403"});
    assert_eq!(sample(&families, "yijian_http_requests", "yijian_http_requests_total", &refused), Some(1.0));
    let timed = serde_json::json!({"method": "POST", "route": "/api/v1/consultations/{id}/comments"});
    let name = "yijian_http_request_duration_seconds_count";
    assert_eq!(sample(&families, "yijian_http_request_duration_seconds", name, &timed), Some(1.0));
    // The comment was one group commit of one comment (the demo's import stores no comment).
    let batches = sample(&families, "yijian_intake_batch_size", "yijian_intake_batch_size_count", &no_labels());
    assert_eq!(batches, Some(1.0), "{text}");
    let one = serde_json::json!({"le": "1"});
    assert_eq!(sample(&families, "yijian_intake_batch_size", "yijian_intake_batch_size_bucket", &one), Some(1.0));
    assert_eq!(sample(&families, "yijian_intake_batch_size", "yijian_intake_batch_size_sum", &no_labels()), Some(1.0));
    assert_eq!(sample(&families, "yijian_intake_queue_depth", "yijian_intake_queue_depth", &no_labels()), Some(0.0));
    let failed = serde_json::json!({"outcome": "failed"});
    assert_eq!(sample(&families, "yijian_mail_passes", "yijian_mail_passes_total", &failed), Some(0.0));

    // The indexer catches up: the lag falls to nothing.
    yijian_testkit::eventually(Duration::from_secs(20), || async {
        let text = app.client.get(&metrics).bearer_auth(&admin).send().await.unwrap().text().await.unwrap();
        let families = parse_with_prometheus_client(&text);
        match sample(&families, "yijian_search_index_lag", "yijian_search_index_lag", &no_labels()) {
            Some(0.0) => Ok(()),
            other => Err(format!("lag {other:?}")),
        }
    })
    .await;

    // Captchas drawn ahead (`serve` keeps `captcha_pool` of them): the gauge shows them.
    let pool = app.state.captchas.spawn_pool(4);
    yijian_testkit::eventually(Duration::from_secs(20), || async {
        let text = app.client.get(&metrics).bearer_auth(&admin).send().await.unwrap().text().await.unwrap();
        let families = parse_with_prometheus_client(&text);
        match sample(&families, "yijian_captcha_pool_images", "yijian_captcha_pool_images", &no_labels()) {
            Some(4.0) => Ok(()),
            other => Err(format!("pooled {other:?}")),
        }
    })
    .await;
    pool.abort();

    // The one function the overload refusals call.
    app.state.metrics.overload_refused("/api/v1/consultations/{id}/comments");
    let text = app.client.get(&metrics).bearer_auth(&admin).send().await.unwrap().text().await.unwrap();
    let families = parse_with_prometheus_client(&text);
    let route = serde_json::json!({"route": "/api/v1/consultations/{id}/comments"});
    assert_eq!(sample(&families, "yijian_overload_refused", "yijian_overload_refused_total", &route), Some(1.0));
}
on_both_backends!(metrics_need_an_admin_token_and_parse_as_prometheus_text);

/// No labels asked for: matches any sample of the name.
fn no_labels() -> Value {
    serde_json::json!({})
}

/// `metrics_listen`: the real binary serves the metrics there without a token, and only to
/// a token on its main address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_listen_serves_the_metrics_without_a_token() {
    let data = TestData::new(Backend::Sqlite).await;
    let server = ServerProcess::try_spawn(
        &data,
        &["--insecure-no-captcha", "--insecure-no-rate-limit"],
        &[("YIJIAN_METRICS_LISTEN", "127.0.0.1:0")],
    )
    .unwrap_or_else(|e| panic!("server did not start: {e}"));
    let client = reqwest::Client::new();
    let res = client
        .post(server.url(&format!("/api/v1/consultations/{DEMO_ID}/comments")))
        .json(&good_body())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let base = server.metrics_base.clone().expect("the server printed its metrics address");
    assert_ne!(base, server.base);
    let text = client.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    let families = parse_with_prometheus_client(&text);
    let posted = serde_json::json!({"route": "/api/v1/consultations/{id}/comments", "status": "201"});
    assert_eq!(sample(&families, "yijian_http_requests", "yijian_http_requests_total", &posted), Some(1.0), "{text}");
    assert_eq!(client.get(format!("{base}/readyz")).send().await.unwrap().status(), 200);
    assert_eq!(client.get(server.url("/metrics")).send().await.unwrap().status(), 401);
    // Only the operations endpoints are there.
    assert_eq!(client.get(format!("{base}/")).send().await.unwrap().status(), 404);
}

/// Posts comments one after another on `workers` connections until the server stops answering
/// (or `stop` is set); returns the receipts answered 201, each with when it was answered.
fn stream_comments(
    base: &str,
    workers: usize,
    stop: Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<Vec<(String, Instant)>>> {
    let url = format!("{base}/api/v1/consultations/{DEMO_ID}/comments");
    (0..workers)
        .map(|w| {
            let (url, stop) = (url.clone(), stop.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
                let mut acknowledged = Vec::new();
                let started = Instant::now();
                for i in 0.. {
                    if stop.load(Ordering::Relaxed) || started.elapsed() > Duration::from_secs(60) {
                        break;
                    }
                    let mut body = good_body();
                    body["opinion"] = serde_json::json!(format!("工作者{w}的第{i}条意见"));
                    let Ok(res) = client.post(&url).json(&body).send().await else { break };
                    if res.status() != 201 {
                        break;
                    }
                    let Ok(v) = res.json::<Value>().await else { break };
                    acknowledged.push((v["receipt"].as_str().unwrap().to_string(), Instant::now()));
                }
                acknowledged
            })
        })
        .collect()
}

async fn sigterm_drains_and_every_acknowledged_comment_is_stored(backend: Backend) {
    let data = TestData::new(backend).await;
    let mut server = ServerProcess::spawn(&data, &["--insecure-no-captcha", "--insecure-no-rate-limit"]);
    let address = server.base.strip_prefix("http://").unwrap().to_string();

    // A request under way when the signal comes: its headers and half its body are sent now,
    // the rest after the signal. It is finished, and answered 201.
    let body = serde_json::to_vec(&good_body()).unwrap();
    let mut slow = std::net::TcpStream::connect(&address).unwrap();
    write!(
        slow,
        "POST /api/v1/consultations/{DEMO_ID}/comments HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    slow.write_all(&body[..body.len() / 2]).unwrap();
    // A client that never finishes its headers: the drain's deadline cuts it.
    let mut stuck = std::net::TcpStream::connect(&address).unwrap();
    stuck.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let workers = stream_comments(&server.base, 4, stop.clone());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let pid = server.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let signalled = Instant::now();

    tokio::time::sleep(Duration::from_millis(300)).await;
    slow.write_all(&body[body.len() / 2..]).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut answer = Vec::new();
    let _ = slow.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).into_owned();
    assert!(answer.starts_with("HTTP/1.1 201"), "the request under way was not finished: {answer:?}");
    let slow_receipt = answer.split("\"receipt\":\"").nth(1).and_then(|r| r.split('"').next()).unwrap().to_string();

    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(signalled.elapsed() < Duration::from_secs(10), "still running 10 s after SIGTERM: {}", server.stderr());
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let took = signalled.elapsed();
    assert!(status.success(), "{status}: {}", server.stderr());
    assert!(took < Duration::from_secs(10), "{took:?}");
    // The client that never finished its headers held the drain to its deadline, and was cut.
    assert!(server.stderr().contains("drain deadline reached"), "{}", server.stderr());
    stop.store(true, Ordering::Relaxed);
    drop(stuck);

    let mut receipts = vec![slow_receipt];
    for w in workers {
        receipts.extend(w.await.unwrap().into_iter().map(|(r, _)| r));
    }
    assert!(receipts.len() > 4, "the stream hardly ran: {} comments", receipts.len());
    let store = data.store().await;
    for r in &receipts {
        let receipt = Receipt::parse(r).unwrap();
        assert!(store.receipt(&receipt).await.unwrap().is_some(), "acknowledged comment {r} lost in the drain");
    }
    assert_eq!(store.count_all_comments().await.unwrap() as usize, receipts.len(), "nothing stored twice or unasked");
    // The background passes' leases are given up, so another node need not wait for them.
    for lease in ["campaigns", "suggestions"] {
        assert_eq!(store.lease(lease).await.unwrap(), None, "{lease} still held after the node stopped");
    }
    store.close().await;
}
on_both_backends!(sigterm_drains_and_every_acknowledged_comment_is_stored);

/// A running SQLite installation backed up while it takes comments, restored into a new
/// directory: every comment acknowledged before the backup began is there, and the audit log
/// verifies. Bad targets and bad files are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_of_a_running_installation_restores_every_acknowledged_comment() {
    let data = TestData::new(Backend::Sqlite).await;
    let server = ServerProcess::spawn(&data, &["--insecure-no-captcha", "--insecure-no-rate-limit"]);
    // An audited change, so the anchor has a head to carry.
    let (ok, _, err) = crate::harness::run_with_stdin(
        &["user", "add", "backup-admin", "--role", "admin"],
        &data,
        "admin password 1\n",
    );
    assert!(ok, "{err}");
    let stop = Arc::new(AtomicBool::new(false));
    let workers = stream_comments(&server.base, 3, stop.clone());
    tokio::time::sleep(Duration::from_millis(1000)).await;

    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("yijian.backup");
    let began = Instant::now();
    let args: Vec<String> = ["backup", "--output", file.to_str().unwrap(), "--data", data.path().to_str().unwrap()]
        .map(String::from)
        .into();
    let (ok, stdout, stderr) =
        tokio::task::spawn_blocking(move || run(&args.iter().map(String::as_str).collect::<Vec<_>>(), None))
            .await
            .unwrap();
    assert!(ok, "{stderr}");
    assert!(stdout.contains("MASTER KEY IS NOT IN THIS BACKUP"), "{stdout}");
    assert!(stdout.contains(&data.path().join("master.key").display().to_string()), "{stdout}");
    // The stream goes on a moment after the backup, then stops.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let mut before = Vec::new();
    let mut all = 0;
    for w in workers {
        for (r, at) in w.await.unwrap() {
            all += 1;
            if at < began {
                before.push(r);
            }
        }
    }
    assert!(!before.is_empty(), "no comment was acknowledged before the backup");
    drop(server);

    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    let backup = std::fs::read(&file).unwrap();
    assert!(
        !backup.windows(64).any(|w| w == std::fs::read(data.path().join("master.key")).unwrap().trim_ascii()),
        "the key is not in the backup"
    );

    // Restored into a new directory, the key copied by the operator.
    let restored = TestData { dir: tempfile::tempdir().unwrap(), pg: None };
    let target = restored.path().join("data");
    let (ok, stdout, stderr) = run(&["restore", file.to_str().unwrap(), "--data", target.to_str().unwrap()], None);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("master.key"), "{stdout}");
    std::fs::copy(data.path().join("master.key"), target.join("master.key")).unwrap();
    let target_args = ["--data", target.to_str().unwrap()];
    let (ok, stdout, stderr) = run(&["audit", "verify", target_args[0], target_args[1]], None);
    assert!(ok, "audit verify after restore: {stdout}{stderr}");
    assert!(stdout.contains("audit log intact") && stdout.contains("anchored"), "{stdout}");
    let (ok, stdout, stderr) = run(&["audit", "list", target_args[0], target_args[1]], None);
    assert!(ok && stdout.contains("backup.made") && stdout.contains("yijian.backup"), "{stdout}{stderr}");
    let export = restored.path().join("comments.jsonl");
    let (ok, _, stderr) = run(
        &[
            "export",
            "--consultation",
            DEMO_ID,
            "--format",
            "jsonl",
            "--output",
            export.to_str().unwrap(),
            target_args[0],
            target_args[1],
        ],
        None,
    );
    assert!(ok, "{stderr}");
    let exported = std::fs::read_to_string(&export).unwrap();
    let found: std::collections::HashSet<String> = exported
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["receipt"].as_str().unwrap().to_string())
        .collect();
    for r in &before {
        assert!(found.contains(r), "{r}, acknowledged before the backup began, is not in the restored data");
    }
    assert!(found.len() >= before.len() && found.len() <= all, "{} restored of {all} taken", found.len());

    // Into a directory that is not empty: refused, and nothing there changes.
    let (ok, _, stderr) = run(&["restore", file.to_str().unwrap(), "--data", target.to_str().unwrap()], None);
    assert!(!ok && stderr.contains("is not empty"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&export).unwrap(), exported);

    // A truncated file and a file of rubbish: refused, with nothing left behind.
    for (name, bytes) in [("truncated", backup[..backup.len() / 2].to_vec()), ("rubbish", b"not a backup\n".to_vec())] {
        let bad = out.path().join(name);
        std::fs::write(&bad, bytes).unwrap();
        let dir = restored.path().join(format!("from-{name}"));
        let (ok, _, stderr) = run(&["restore", bad.to_str().unwrap(), "--data", dir.to_str().unwrap()], None);
        assert!(!ok && stderr.contains("is not a usable yijian backup"), "{name}: {stderr}");
        assert!(!dir.exists(), "{name}: a refused restore leaves nothing");
    }
    // A damaged byte inside the database: refused by its checksum.
    let mut damaged = backup.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0xff;
    let bad = out.path().join("damaged");
    std::fs::write(&bad, damaged).unwrap();
    let dir = restored.path().join("from-damaged");
    let (ok, _, stderr) = run(&["restore", bad.to_str().unwrap(), "--data", dir.to_str().unwrap()], None);
    assert!(!ok && stderr.contains("damaged"), "{stderr}");
}

/// With PostgreSQL, `backup` refuses and points to pg_dump and the deploy notes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_on_postgresql_points_to_pg_dump() {
    if !Backend::Postgres.run_or_skip("operations::backup_on_postgresql_points_to_pg_dump") {
        return;
    }
    let data = TestData::new(Backend::Postgres).await;
    let file = data.path().join("x.backup");
    let (ok, _, stderr) = run(&["backup", "--output", file.to_str().unwrap()], Some(&data));
    assert!(!ok && stderr.contains("pg_dump") && stderr.contains("deploy/README.md"), "{stderr}");
    assert!(!file.exists());
}
