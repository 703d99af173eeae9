//! Several nodes on one PostgreSQL database, as real `yijian serve` processes on loopback with
//! the same master key and nothing else shared: whichever node answers, a citizen's captcha,
//! form and receipt and a staff member's session and search work; a client's rate limit counts
//! on both; one node polls the mailbox, and the other takes over when it dies; and a node
//! killed under load loses no comment it acknowledged.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use yijian_domain::staff::Role;
use yijian_mailgen::servers::Dovecot;
use yijian_testkit::{eventually, holds_for};

use crate::harness::{Backend, DEMO_ID, ServerProcess, TestData, good_body, on_backend};

/// Two nodes: each its own `--data` (key by environment, search index, audit anchor), one
/// PostgreSQL database. The second starts once the first has loaded the demo.
struct Nodes {
    data: TestData,
    /// The second node's own data directory.
    _b_data: TestData,
    key: String,
    a: ServerProcess,
    b: ServerProcess,
}

async fn two_nodes(extra: &[&str]) -> Nodes {
    let data = TestData::new(Backend::Postgres).await;
    let key = hex::encode(yijian_crypto::random_bytes::<32>());
    let env = [(yijian_crypto::MASTER_KEY_ENV, key.as_str())];
    let a = ServerProcess::try_spawn(&data, extra, &env).unwrap_or_else(|e| panic!("node A: {e}"));
    let b_data = TestData { dir: tempfile::tempdir().unwrap(), pg: None };
    let url = data.pg.as_ref().unwrap().url.clone();
    let mut b_args = vec!["--database", url.as_str()];
    b_args.extend(extra);
    let b = ServerProcess::try_spawn(&b_data, &b_args, &env).unwrap_or_else(|e| panic!("node B: {e}"));
    Nodes { data, _b_data: b_data, key, a, b }
}

impl Nodes {
    /// The application over the shared database, as a third party holding the key (to add
    /// staff, read a captcha's answer as the person would from the image).
    async fn app(&self) -> yijian_app::App {
        let options = yijian_store::StoreOptions { master_key: Some(self.key.clone()), ..self.data.options() };
        yijian_app::App::new(yijian_store::Store::open(&options).await.unwrap(), Default::default())
    }
}

async fn captcha(client: &reqwest::Client, node: &ServerProcess, app: &yijian_app::App) -> (String, String) {
    let res = client.get(node.url("/api/v1/captcha")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let id = res.json::<Value>().await.unwrap()["captcha_id"].as_str().unwrap().to_string();
    let answer = app.captchas().peek_answer(&id).expect("a token the shared key opens");
    (id, answer)
}

async fn post_comment(client: &reqwest::Client, node: &ServerProcess, body: &Value) -> reqwest::Response {
    client.post(node.url(&format!("/api/v1/consultations/{DEMO_ID}/comments"))).json(body).send().await.unwrap()
}

fn with_captcha((id, answer): &(String, String)) -> Value {
    let mut body = good_body();
    body["captcha_id"] = json!(id);
    body["captcha_answer"] = json!(answer);
    body
}

fn hidden(page: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    let start = page.find(&needle).unwrap_or_else(|| panic!("no {name} in page")) + needle.len();
    page[start..start + page[start..].find('"').unwrap()].to_string()
}

async fn either_node_serves_citizens_and_staff(_: Backend) {
    let nodes = two_nodes(&[]).await;
    let (a, b) = (&nodes.a, &nodes.b);
    let app = nodes.app().await;
    let client = reqwest::Client::new();

    // A captcha issued by A is accepted once by B, and then by nobody.
    let solved = captcha(&client, a, &app).await;
    let res = post_comment(&client, b, &with_captcha(&solved)).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let receipt = res.json::<Value>().await.unwrap()["receipt"].as_str().unwrap().to_string();
    for node in [a, b] {
        let res = post_comment(&client, node, &with_captcha(&solved)).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = res.text().await.unwrap();
        assert!(body.contains("captcha_expired"), "{body}");
    }
    // A wrong answer is wrong on the other node too, and uses the captcha up.
    let (id, answer) = captcha(&client, b, &app).await;
    let res = post_comment(&client, a, &with_captcha(&(id.clone(), format!("{answer}x")))).await;
    assert!(res.text().await.unwrap().contains("captcha_wrong"));
    assert!(
        post_comment(&client, b, &with_captcha(&(id, answer))).await.text().await.unwrap().contains("captcha_expired")
    );
    // A recording issued by one node is spoken by the other, the same.
    let audio: Value = client.get(a.url("/api/v1/captcha?kind=audio")).send().await.unwrap().json().await.unwrap();
    let path = audio["audio"].as_str().unwrap();
    let from_b = client.get(b.url(path)).send().await.unwrap();
    assert_eq!(from_b.status(), 200);
    let from_b = from_b.bytes().await.unwrap();
    assert_eq!(&from_b[..4], b"RIFF");
    assert_eq!(from_b, client.get(a.url(path)).send().await.unwrap().bytes().await.unwrap(), "said the same way");

    // The tracking number B gave is found on A.
    let found: Value =
        client.get(a.url(&format!("/api/v1/receipts/{receipt}"))).send().await.unwrap().json().await.unwrap();
    assert_eq!(found["consultation_id"], DEMO_ID, "{found}");

    // A web form sent to A and again to B stores one comment, and B answers with A's receipt.
    let browser = reqwest::Client::builder().cookie_store(true).build().unwrap();
    // What app.js fetches from A when the form is first used: the token and a captcha.
    let token: Value =
        browser.get(a.url(&format!("/c/{DEMO_ID}/form-token"))).send().await.unwrap().json().await.unwrap();
    let cid = token["captcha_id"].as_str().unwrap().to_string();
    let mut form = vec![
        ("csrf".to_string(), token["csrf"].as_str().unwrap().to_string()),
        ("captcha_id".into(), cid.clone()),
        ("captcha_answer".into(), app.captchas().peek_answer(&cid).unwrap()),
        ("consent".into(), "yes".into()),
    ];
    for (k, v) in good_body().as_object().unwrap() {
        if let Some(v) = v.as_str() {
            form.push((k.clone(), v.into()));
        }
    }
    let first = browser.post(a.url(&format!("/c/{DEMO_ID}"))).form(&form).send().await.unwrap();
    assert_eq!(first.status(), 200);
    let first = first.text().await.unwrap();
    let again = browser.post(b.url(&format!("/c/{DEMO_ID}"))).form(&form).send().await.unwrap();
    assert_eq!(again.status(), 200, "the CSRF token made by A passes on B");
    let again = again.text().await.unwrap();
    let yj = |page: &str| page[page.find("YJ-").expect("a receipt")..][..12].to_string();
    assert_eq!(yj(&first), yj(&again), "the first receipt, not a second comment");
    let from_forms: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM comments WHERE form_id IS NOT NULL")
        .fetch_one(app.store().pool())
        .await
        .unwrap();
    assert_eq!(from_forms, 1);

    // A staff session made on A works on B.
    let now = jiff::Timestamp::now();
    app.add_user("test", "rev1", Role::Reviewer, "reviewer password 1", now).await.unwrap();
    let staff =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let login = staff.get(a.url("/admin/login")).send().await.unwrap().text().await.unwrap();
    let res = staff
        .post(a.url("/admin/login"))
        .form(&[("csrf", hidden(&login, "csrf").as_str()), ("username", "rev1"), ("password", "reviewer password 1")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let home = staff.get(b.url("/admin")).send().await.unwrap();
    assert_eq!(home.status(), 200, "signed in on B with A's session");
    assert!(home.text().await.unwrap().contains("rev1"));

    // A comment taken by A is found by B's search index.
    let (_, token) = app.create_token("test", "rev1", None, now).await.unwrap();
    let mut body = good_body();
    body["opinion"] = json!("建议加强对养老服务机器人的安全评估。");
    let (id, answer) = captcha(&client, a, &app).await;
    body["captcha_id"] = json!(id);
    body["captcha_answer"] = json!(answer);
    assert_eq!(post_comment(&client, a, &body).await.status(), StatusCode::CREATED);
    let q: String = form_urlencoded::byte_serialize("养老".as_bytes()).collect();
    let path = format!("/api/v1/admin/consultations/{DEMO_ID}/comments?q={q}");
    eventually(Duration::from_secs(20), || async {
        let v: Value = client.get(b.url(&path)).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        if v["total"] == 1 { Ok(()) } else { Err(format!("B finds {}", v["total"])) }
    })
    .await;
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn either_node_serves_citizens_and_staff_postgres() {
    on_backend(
        "nodes::either_node_serves_citizens_and_staff",
        Backend::Postgres,
        either_node_serves_citizens_and_staff,
    )
    .await;
}

/// The captcha issuance limit (default: a burst of 20) counts a client's requests to both.
async fn a_clients_limit_counts_on_both_nodes(_: Backend) {
    let nodes = two_nodes(&[]).await;
    let client = reqwest::Client::new();
    let mut given = 0;
    for i in 0..30 {
        let node = if i % 2 == 0 { &nodes.a } else { &nodes.b };
        let res = client.get(node.url("/api/v1/captcha")).send().await.unwrap();
        match res.status() {
            StatusCode::OK => given += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(res.headers().contains_key("retry-after"));
            }
            other => panic!("{other}"),
        }
    }
    assert_eq!(given, 20, "the burst is per client overall, not per node");
    for node in [&nodes.a, &nodes.b] {
        assert_eq!(client.get(node.url("/api/v1/captcha")).send().await.unwrap().status(), 429);
    }
    // A comment posted to either node counts against the same submission limit (a burst of
    // 10): twelve posts, alternating, and the last two are refused.
    let mut statuses = Vec::new();
    for i in 0..12 {
        let node = if i % 2 == 0 { &nodes.a } else { &nodes.b };
        statuses.push(post_comment(&client, node, &good_body()).await.status().as_u16());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 2, "{statuses:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clients_limit_counts_on_both_nodes_postgres() {
    on_backend("nodes::a_clients_limit_counts_on_both_nodes", Backend::Postgres, a_clients_limit_counts_on_both_nodes)
        .await;
}

fn mail(id: &str, body: &str) -> Vec<u8> {
    let title = "辽宁省人力资源社会保障领域支持和保障人工智能高质量发展的若干措施（征求意见稿）";
    let mut spec =
        yijian_mailgen::corpus::MailSpec::simple(&format!("《{title}》"), "张三 <zhangsan@example.cn>", body);
    spec.message_id = Some(format!("{id}@example.cn"));
    spec.date = Some(jiff::Timestamp::now().strftime("%a, %d %b %Y %H:%M:%S +0000").to_string());
    spec.to_bytes()
}

/// One mailbox, two nodes polling it every second: one holds the lease and polls, the other
/// does not, until the holder is killed; then it takes over.
async fn one_node_polls_the_mailbox(_: Backend) {
    let dovecot = Dovecot::start().expect("dovecot starts (Debian package dovecot-imapd)");
    let files = tempfile::tempdir().unwrap();
    let config = files.path().join("yijian.toml");
    std::fs::write(
        &config,
        format!(
            "[mail]\npoll_seconds = 1\n[mail.imap]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"plain\"\nusername = \"{}\"\npassword = \"{}\"\n",
            dovecot.port, dovecot.user, dovecot.password
        ),
    )
    .unwrap();
    let config = config.display().to_string();
    let nodes = two_nodes(&["--config", &config]).await;
    let app = nodes.app().await;
    let polls = |node: &ServerProcess| node.stderr().contains("this node polls the mailbox");
    eventually(Duration::from_secs(15), || std::future::ready(polls(&nodes.a) || polls(&nodes.b))).await;
    // A started first, so A holds the lease; B keeps out of it.
    assert!(polls(&nodes.a), "{}", nodes.a.stderr());
    holds_for(Duration::from_secs(4), || {
        std::future::ready(if polls(&nodes.b) { Err(nodes.b.stderr()) } else { Ok(()) })
    })
    .await;
    let (holder, _) = app.store().lease(yijian_app::mail::POLL_LEASE).await.unwrap().expect("a lease");
    let count = |id: &'static str| {
        let pool = app.store().pool().clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM comments WHERE message_id = $1")
                .bind(format!("{id}@example.cn"))
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    dovecot.deliver("INBOX", &mail("node-1", "两个节点时收到的邮件")).unwrap();
    eventually(Duration::from_secs(20), || async { if count("node-1").await == 1 { Ok(()) } else { Err("not yet") } })
        .await;
    // The pass logs what it fetched after it committed it: the line may come a moment later.
    eventually(Duration::from_secs(10), || {
        std::future::ready(if nodes.a.stderr().contains("mail fetched") { Ok(()) } else { Err("A has not logged it") })
    })
    .await;
    assert!(!nodes.b.stderr().contains("mail fetched"), "B did not");

    // The holder dies; once its lease runs out, B polls.
    let Nodes { a, b, data: _data, _b_data, .. } = nodes;
    a.kill9();
    dovecot.deliver("INBOX", &mail("node-2", "第一个节点停机后收到的邮件")).unwrap();
    eventually(Duration::from_secs(30), || async { if count("node-2").await == 1 { Ok(()) } else { Err(b.stderr()) } })
        .await;
    assert!(polls(&b), "{}", b.stderr());
    let (new_holder, _) = app.store().lease(yijian_app::mail::POLL_LEASE).await.unwrap().expect("a lease");
    assert_ne!(holder, new_holder);
    assert_eq!(count("node-1").await, 1, "nothing fetched twice");
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_node_polls_the_mailbox_postgres() {
    on_backend("nodes::one_node_polls_the_mailbox", Backend::Postgres, one_node_polls_the_mailbox).await;
}

/// Comments posted to both nodes at once; one is killed with SIGKILL in the middle. Every
/// comment either node answered 201 is in the database, and the other node keeps serving.
async fn losing_a_node_loses_nothing_acknowledged(_: Backend) {
    let nodes = two_nodes(&["--insecure-no-captcha", "--insecure-no-rate-limit"]).await;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    // Without a captcha required, one supplied is still checked, whichever node issued it.
    let app = nodes.app().await;
    let (id, answer) = captcha(&client, &nodes.a, &app).await;
    let res = post_comment(&client, &nodes.b, &with_captcha(&(id, format!("{answer}x")))).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("captcha_wrong"));
    app.close().await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut posters = Vec::new();
    for i in 0..16 {
        let url = if i % 2 == 0 { nodes.a.url("") } else { nodes.b.url("") };
        let (client, stop) = (client.clone(), stop.clone());
        posters.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            let mut failed = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let res = client
                    .post(format!("{url}/api/v1/consultations/{DEMO_ID}/comments"))
                    .json(&good_body())
                    .send()
                    .await;
                match res {
                    Ok(r) if r.status() == StatusCode::CREATED => match r.json::<Value>().await {
                        Ok(v) => acknowledged.push(v["receipt"].as_str().unwrap().to_string()),
                        // The answer was cut off: not acknowledged.
                        Err(_) => failed += 1,
                    },
                    Ok(r) => panic!("{}", r.status()),
                    Err(_) => {
                        failed += 1;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
            (acknowledged, failed)
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let Nodes { a, b, data, key, .. } = nodes;
    a.kill9();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut acknowledged = Vec::new();
    let mut failed = 0;
    for p in posters {
        let (a, f) = p.await.unwrap();
        acknowledged.extend(a);
        failed += f;
    }
    assert!(failed > 0, "requests to the killed node failed");
    assert!(acknowledged.len() > 50, "{} acknowledged", acknowledged.len());
    let options = yijian_store::StoreOptions { master_key: Some(key), ..data.options() };
    let store = yijian_store::Store::open(&options).await.unwrap();
    for r in &acknowledged {
        let receipt = yijian_domain::receipt::Receipt::parse(r).unwrap();
        assert!(store.receipt(&receipt).await.unwrap().is_some(), "{r} was acknowledged but is missing");
    }
    // The other node still takes comments and finds the receipts the dead one gave.
    assert_eq!(post_comment(&client, &b, &good_body()).await.status(), StatusCode::CREATED);
    let res = client.get(b.url(&format!("/api/v1/receipts/{}", acknowledged[0]))).send().await.unwrap();
    assert_eq!(res.status(), 200);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_a_node_loses_nothing_acknowledged_postgres() {
    on_backend(
        "nodes::losing_a_node_loses_nothing_acknowledged",
        Backend::Postgres,
        losing_a_node_loses_nothing_acknowledged,
    )
    .await;
}
