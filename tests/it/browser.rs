//! The public pages in a real browser: headless Chromium driven through chromedriver.
//!
//! `scripts/test` installs Debian's `chromium` and `chromium-driver`, and axe-core from npm
//! into `tests/browser/node_modules`. Captchas are the real image flow; the test reads the
//! answer from the server's state, as only a test can.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use yijian_testkit::eventually;
use yijian_web::WebOptions;

use crate::harness::{Backend, DEMO_ID, InProcess};

const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";
const SPACE: &str = "\u{E00D}";
const DOWN: &str = "\u{E015}";

struct Browser {
    client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn start(width: u32) -> Browser {
        let driver_bin = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .expect("chromedriver is needed for the browser tests: run scripts/test, which installs Debian's chromium-driver");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new(driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().unwrap();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({"args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", format!("--user-data-dir={}", profile.path().display()),
                format!("--window-size={width},900"), "--lang=zh-CN",
            ]}),
        );
        let url = format!("http://127.0.0.1:{port}");
        // chromedriver takes a moment to listen.
        let client = eventually(Duration::from_secs(20), || {
            let (caps, url) = (caps.clone(), url.clone());
            async move {
                let connector = hyper_util::client::legacy::connect::HttpConnector::new();
                ClientBuilder::new(connector)
                    .capabilities(caps)
                    .connect(&url)
                    .await
                    .map_err(|e| format!("cannot start Chromium through chromedriver: {e}"))
            }
        })
        .await;
        Browser { client, driver, _profile: profile }
    }

    async fn stop(mut self) {
        let _ = self.client.close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }

    async fn value(&self, css: &str) -> String {
        self.client.find(Locator::Css(css)).await.unwrap().prop("value").await.unwrap().unwrap_or_default()
    }

    async fn fill(&self, css: &str, text: &str) {
        let e = self.client.find(Locator::Css(css)).await.unwrap();
        e.clear().await.unwrap();
        e.send_keys(text).await.unwrap();
    }

    async fn active_id(&self) -> String {
        self.client
            .execute("return document.activeElement && document.activeElement.id", vec![])
            .await
            .unwrap()
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    /// axe-core's serious and critical violations on the current page.
    async fn axe(&self) -> Vec<String> {
        let axe = std::fs::read_to_string(
            crate::harness::project_dir().join("tests/browser/node_modules/axe-core/axe.min.js"),
        )
        .expect("axe-core is needed: run scripts/test, which runs npm ci in tests/browser");
        self.client.execute(&axe, vec![]).await.unwrap();
        let result = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']})
                    .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.html).slice(0, 3)}))));",
                vec![],
            )
            .await
            .unwrap();
        result
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
            .map(|v| v.to_string())
            .collect()
    }

    async fn no_horizontal_scroll(&self) -> (i64, i64) {
        let v = self
            .client
            .execute("return [document.documentElement.scrollWidth, window.innerWidth]", vec![])
            .await
            .unwrap();
        (v[0].as_i64().unwrap(), v[1].as_i64().unwrap())
    }
}

/// The captcha's answer, once app.js has fetched the captcha (the cached page has none; the
/// script asks for one when the form is first used).
async fn answer_captcha(b: &Browser, app: &InProcess) -> String {
    let id = eventually(Duration::from_secs(10), || async {
        let id = b.value("#captcha_id").await;
        if id.is_empty() { Err("app.js has not filled the captcha in".to_string()) } else { Ok(id) }
    })
    .await;
    let enabled = b.client.execute("return !document.getElementById('captcha_answer').disabled", vec![]).await.unwrap();
    assert_eq!(enabled, json!(true), "the answer field is enabled with its captcha");
    app.state.captchas.peek_answer(&id).expect("the page's captcha is known to the server")
}

/// Read the draft, follow an article's link, submit with a wrong ID number, see the message
/// and the kept entries, correct it, land on the receipt page, look the receipt up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_comments_in_a_browser() {
    let app = InProcess::start(Backend::Sqlite, WebOptions::default()).await;
    let b = Browser::start(1024).await;
    // Headless Chromium asks for English; this citizen chooses Chinese (remembered by cookie).
    b.client.goto(&app.url(&format!("/c/{DEMO_ID}?lang=zh"))).await.unwrap();
    let heading = b.client.find(Locator::Css("#article-5 strong")).await.unwrap().text().await.unwrap();
    assert!(heading.starts_with("5. 引导人工智能专家服务企业发展"), "{heading}");
    b.client.find(Locator::Css("#article-5 a.comment-link")).await.unwrap().click().await.unwrap();
    assert!(b.client.current_url().await.unwrap().as_str().contains("article=5"));
    assert!(b.client.find(Locator::Css("input[name=articles][value='5']")).await.unwrap().is_selected().await.unwrap());

    b.fill("#name", "赵六").await;
    b.fill("#id_number", "110105194912310021").await;
    b.client.find(Locator::Css("#position")).await.unwrap().select_by_value("律师").await.unwrap();
    b.fill("#phone", "024-2295 1510").await;
    b.fill("#email", "zhaoliu@example.com").await;
    b.fill("#opinion", "第五条建议明确专家服务的考核方式。").await;
    // The live character count (script) follows the text.
    let count = b.client.find(Locator::Css("#opinion-count")).await.unwrap().text().await.unwrap();
    assert!(count.contains("17 / 5000"), "{count}");
    let answer = answer_captcha(&b, &app).await;
    b.fill("#captcha_answer", &answer).await;
    b.client.find(Locator::Css("#consent")).await.unwrap().click().await.unwrap();
    b.client.find(Locator::Css("#comment-form button[type=submit]")).await.unwrap().click().await.unwrap();

    // Back with an error summary that has the focus, the message beside the field, entries kept.
    let summary = b.client.wait().for_element(Locator::Css("#error-summary")).await.unwrap();
    assert!(summary.text().await.unwrap().contains("身份证"));
    // app.js moves the focus there once the page has loaded.
    eventually(Duration::from_secs(5), || async {
        let focused = b.active_id().await;
        if focused == "error-summary" { Ok(()) } else { Err(format!("the focus is on #{focused}")) }
    })
    .await;
    let err = b.client.find(Locator::Css("#id_number-error")).await.unwrap().text().await.unwrap();
    assert!(err.contains("校验"), "{err}");
    assert_eq!(
        b.client.find(Locator::Css("#id_number")).await.unwrap().attr("aria-invalid").await.unwrap().as_deref(),
        Some("true")
    );
    assert_eq!(b.value("#name").await, "赵六");
    assert_eq!(b.value("#position").await, "律师");
    assert_eq!(b.value("#opinion").await, "第五条建议明确专家服务的考核方式。");
    assert_eq!(b.value("#captcha_answer").await, "", "the captcha is not kept");
    assert!(b.client.find(Locator::Css("#consent")).await.unwrap().is_selected().await.unwrap());
    assert_eq!(app.store().count_comments(DEMO_ID).await.unwrap(), 0);

    b.fill("#id_number", "11010519491231002X").await;
    let answer = answer_captcha(&b, &app).await;
    b.fill("#captcha_answer", &answer).await;
    b.client.find(Locator::Css("#comment-form button[type=submit]")).await.unwrap().click().await.unwrap();
    let receipt = b.client.wait().for_element(Locator::Css("#receipt")).await.unwrap().text().await.unwrap();
    assert!(receipt.starts_with("YJ-") && receipt.len() == 12, "{receipt}");
    let body = b.client.find(Locator::Css("main")).await.unwrap().text().await.unwrap();
    assert!(body.contains("110105********002X") && !body.contains("11010519491231002X"));
    assert!(body.contains("024-****1510") && !body.contains("22951510"), "{body}");
    assert_eq!(app.store().count_comments(DEMO_ID).await.unwrap(), 1);

    b.client.goto(&app.url("/receipt")).await.unwrap();
    b.fill("#receipt-input", &receipt.to_lowercase().replace('-', "")).await;
    b.client.find(Locator::Css("main form button")).await.unwrap().click().await.unwrap();
    let status = b.client.wait().for_element(Locator::Css("[role=status]")).await.unwrap().text().await.unwrap();
    assert!(status.contains(&receipt) && status.contains("已收到"), "{status}");
    assert!(!status.contains("赵六"));
    b.stop().await;
}

/// The same comment with the keyboard alone: Tab through the page, type, Space, Enter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_comments_with_the_keyboard_only() {
    let app = InProcess::start(Backend::Sqlite, WebOptions::default()).await;
    let b = Browser::start(1024).await;
    b.client.goto(&app.url(&format!("/c/{DEMO_ID}"))).await.unwrap();
    let body = b.client.find(Locator::Css("body")).await.unwrap();
    // Tab until the name field has the focus; every stop on the way must be visible.
    let mut steps = 0;
    while b.active_id().await != "name" {
        body.send_keys(TAB).await.unwrap();
        steps += 1;
        assert!(steps < 120, "the form is not reachable by Tab");
    }
    let answer = answer_captcha(&b, &app).await;
    let typed: [(&str, &str); 6] = [
        ("name", "钱七"),
        ("id_number", "11010519491231002X"),
        ("position", ""),
        ("phone", "13800138000"),
        ("email", "qianqi@example.com"),
        ("opinion", "建议增加夜校培训。"),
    ];
    for (field, text) in typed {
        assert_eq!(b.active_id().await, field);
        let active = b.client.active_element().await.unwrap();
        if field == "position" {
            active.send_keys(DOWN).await.unwrap(); // 请选择 → 公务员
        } else {
            active.send_keys(text).await.unwrap();
        }
        active.send_keys(TAB).await.unwrap();
    }
    // Through the twenty article boxes to the captcha.
    let mut steps = 0;
    while b.active_id().await != "captcha_answer" {
        b.client.active_element().await.unwrap().send_keys(TAB).await.unwrap();
        steps += 1;
        assert!(steps < 40, "the captcha is not reachable by Tab");
    }
    let active = b.client.active_element().await.unwrap();
    active.send_keys(&answer).await.unwrap();
    active.send_keys(TAB).await.unwrap();
    assert_eq!(b.active_id().await, "consent");
    b.client.active_element().await.unwrap().send_keys(SPACE).await.unwrap();
    b.client.active_element().await.unwrap().send_keys(TAB).await.unwrap();
    b.client.active_element().await.unwrap().send_keys(TAB).await.unwrap();
    let tag = b.client.execute("return document.activeElement.tagName", vec![]).await.unwrap();
    assert_eq!(tag, json!("BUTTON"));
    b.client.active_element().await.unwrap().send_keys(ENTER).await.unwrap();
    let receipt = b.client.wait().for_element(Locator::Css("#receipt")).await.unwrap().text().await.unwrap();
    assert!(receipt.starts_with("YJ-"), "{receipt}");
    let stored =
        app.store().comment(&yijian_domain::receipt::Receipt::parse(&receipt).unwrap()).await.unwrap().unwrap();
    assert_eq!(stored.position.as_deref(), Some("公务员"));
    assert_eq!(stored.channel.as_str(), "web");
    b.stop().await;
}

/// axe-core finds no serious or critical violation on any public page, and at 360 px nothing
/// scrolls sideways.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_pages_pass_axe_and_fit_a_phone() {
    let app = InProcess::start(Backend::Sqlite, WebOptions::default()).await;
    let b = Browser::start(360).await;
    let mut report = Vec::new();
    for path in [
        "/",
        "/?lang=en",
        &format!("/c/{DEMO_ID}"),
        &format!("/c/{DEMO_ID}?captcha=audio"),
        &format!("/c/{DEMO_ID}?captcha=audio&lang=en"),
        "/receipt",
        "/receipt?receipt=YJ-0000-0000",
        "/privacy",
        "/c/nope",
        &format!("/c/{DEMO_ID}/dispute"),
        &format!("/c/{DEMO_ID}/dispute?captcha=audio&lang=en"),
    ] {
        b.client.goto(&app.url(path)).await.unwrap();
        for v in b.axe().await {
            report.push(format!("{path}: {v}"));
        }
        let (scroll, inner) = b.no_horizontal_scroll().await;
        assert!(scroll <= inner, "{path} scrolls sideways at 360 px: {scroll} > {inner}");
    }
    // Sent at once, before the script has its token: the step that asks for the captcha.
    b.client.goto(&app.url(&format!("/c/{DEMO_ID}"))).await.unwrap();
    b.client.find(Locator::Css("#comment-form button[type=submit]")).await.unwrap().click().await.unwrap();
    b.client.wait().for_element(Locator::Css("#captcha-step")).await.unwrap();
    b.client.wait().for_element(Locator::Css("#captcha-image")).await.unwrap();
    for v in b.axe().await {
        report.push(format!("the captcha step: {v}"));
    }
    // The page with errors.
    b.client.find(Locator::Css("#comment-form button[type=submit]")).await.unwrap().click().await.unwrap();
    b.client.wait().for_element(Locator::Css("#error-summary")).await.unwrap();
    for v in b.axe().await {
        report.push(format!("form with errors: {v}"));
    }
    let (scroll, inner) = b.no_horizontal_scroll().await;
    assert!(scroll <= inner, "the form with errors scrolls sideways: {scroll} > {inner}");
    let shot = b.client.screenshot().await.unwrap();
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("consultation-360px.png");
    std::fs::write(&path, shot).unwrap();
    assert!(report.is_empty(), "accessibility violations:\n{}", report.join("\n"));
    b.stop().await;
}

/// The answer to the dispute page's captcha.
async fn dispute_captcha(b: &Browser, app: &InProcess) -> String {
    let id = b.value("input[name=captcha_id]").await;
    app.state.captchas.peek_answer(&id).expect("the page's captcha is known to the server")
}

/// "Not written by me" in a browser: reached from the consultation page, a wrong ID number
/// comes back with its message and focus on the summary, then the request is answered with a
/// reference and no word of what was found; both pages pass axe.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_disputes_comments_in_a_browser() {
    let app = InProcess::start(Backend::Sqlite, WebOptions::default()).await;
    let b = Browser::start(1024).await;
    let mut report = Vec::new();
    b.client.goto(&app.url(&format!("/c/{DEMO_ID}"))).await.unwrap();
    b.client.find(Locator::Css("#dispute-link")).await.unwrap().click().await.unwrap();
    b.client.wait().for_element(Locator::Css("#dispute-form")).await.unwrap();
    b.fill("#id_number", "110105194912310021").await;
    b.fill("#phone", "13912345678").await;
    let a = dispute_captcha(&b, &app).await;
    b.fill("#captcha_answer", &a).await;
    b.client.find(Locator::Css("#dispute-submit")).await.unwrap().click().await.unwrap();
    b.client.wait().for_element(Locator::Css("#error-summary")).await.unwrap();
    assert_eq!(b.active_id().await, "error-summary", "the summary takes the focus");
    assert_eq!(b.value("#phone").await, "13912345678", "what was typed is kept");
    assert_eq!(b.value("#id_number").await, "", "but never the ID number");
    for v in b.axe().await {
        report.push(format!("dispute form with errors: {v}"));
    }
    b.fill("#id_number", "11010519491231002X").await;
    let a = dispute_captcha(&b, &app).await;
    b.fill("#captcha_answer", &a).await;
    b.client.find(Locator::Css("#dispute-submit")).await.unwrap().click().await.unwrap();
    b.client.wait().for_element(Locator::Css("#dispute-received")).await.unwrap();
    let text = b.client.find(Locator::Css("#dispute-received")).await.unwrap().text().await.unwrap();
    // In the browser's language (headless Chromium may ask for English).
    assert!(text.contains("编号为") || text.contains("reference"), "{text}");
    assert!(!text.contains("11010519491231002X"), "{text}");
    for v in b.axe().await {
        report.push(format!("dispute received: {v}"));
    }
    assert!(report.is_empty(), "accessibility violations:\n{}", report.join("\n"));
    b.stop().await;
}

/// Hostile text as citizens and staff might type it: it must show as text everywhere.
pub(crate) const XSS_CORPUS: &[&str] = &[
    "<script>window.__xss=1</script>",
    "\"><img src=x onerror=\"window.__xss=1\">",
    "'><svg onload=window.__xss=1>",
    "</textarea><script>window.__xss=1</script>",
    "<a href=\"javascript:window.__xss=1\">点我</a>",
    "{{7*7}} {% raw %} ${7*7}",
    "<iframe srcdoc=\"<script>parent.__xss=1</script>\"></iframe>",
    "<style>body{display:none}</style>",
];

async fn submit_api(app: &InProcess, opinion: &str, articles: &[u32]) -> String {
    let mut body = crate::harness::good_body();
    body["opinion"] = json!(opinion);
    body["articles"] = json!(articles);
    let v: serde_json::Value = app
        .client
        .post(app.url(&format!("/api/v1/consultations/{DEMO_ID}/comments")))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["receipt"].as_str().expect("accepted").to_string()
}

impl Browser {
    /// Clicks the element, looked up again if a navigation made the one found stale.
    async fn click(&self, css: &str) {
        for _ in 0..20 {
            let element = self.client.find(Locator::Css(css)).await.unwrap();
            match element.click().await {
                Ok(_) => return,
                Err(e) if format!("{e:?}").contains("StaleElementReference") => {
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await
                }
                Err(e) => panic!("clicking {css}: {e}"),
            }
        }
        panic!("{css} went stale twenty times")
    }
    /// The element's text. An element found just as a navigation replaces the page is stale
    /// by the time its text is asked for: it is looked up again on the page that replaced it.
    async fn text(&self, css: &str) -> String {
        for _ in 0..20 {
            let element = self.client.wait().for_element(Locator::Css(css)).await.unwrap();
            match element.text().await {
                Ok(text) => return text,
                Err(e) if format!("{e:?}").contains("StaleElementReference") => {
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await
                }
                Err(e) => panic!("the text of {css}: {e}"),
            }
        }
        panic!("{css} went stale twenty times")
    }
    /// Waits for a navigation to land on a URL containing `part`.
    async fn wait_url(&self, part: &str) -> String {
        self.wait_url_where(part, |url| url.as_str().contains(part)).await
    }
    /// Waits for a navigation to land on a URL `done` accepts (a bare substring can match the
    /// page we are still on: "/admin" is in "/admin/login").
    async fn wait_url_where(&self, what: &str, done: impl Fn(&url::Url) -> bool) -> String {
        eventually(Duration::from_secs(10), || async {
            let url = self.client.current_url().await.unwrap();
            if done(&url) { Ok(url.to_string()) } else { Err(format!("never reached {what}: still at {url}")) }
        })
        .await
    }
    async fn body(&self) -> String {
        self.text("body").await
    }
    /// No payload ran: no flag set, no injected element in the document.
    async fn inert(&self) -> bool {
        let v = self
            .client
            .execute(
                "return window.__xss === undefined && document.querySelectorAll('main script, main img[src=x], main svg[onload], main iframe, main style').length === 0",
                vec![],
            )
            .await
            .unwrap();
        v.as_bool().unwrap()
    }
}

/// A reviewer's day in a real browser: log in, search and filter, classify one comment,
/// dispose a filtered set in bulk, publish the report; a citizen then reads it. Hostile
/// opinions and reasonings stay inert on every page along the way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_review_and_publish_in_a_browser() {
    let app = InProcess::start(Backend::Sqlite, WebOptions { insecure_no_captcha: true, ..Default::default() }).await;
    app.app()
        .add_user("test", "admin1", yijian_domain::staff::Role::Admin, "admin password 1", jiff::Timestamp::now())
        .await
        .unwrap();
    let training = submit_api(&app, "建议加强人工智能就业培训，扩大补贴范围。", &[3]).await;
    submit_api(&app, "支持高校毕业生就业，建议增加见习岗位。", &[3, 5]).await;
    for x in XSS_CORPUS {
        submit_api(&app, &format!("意见{x}结束"), &[7]).await;
    }
    let b = Browser::start(1280).await;
    b.client.goto(&app.url("/?lang=zh")).await.unwrap();

    b.client.goto(&app.url("/admin/c/ln-hrss-ai-2025")).await.unwrap();
    assert!(b.client.current_url().await.unwrap().as_str().ends_with("/admin/login"), "the guard sends us to log in");
    b.fill("#username", "admin1").await;
    b.fill("#password", "admin password 1").await;
    b.click("form button[type=submit]").await;
    b.wait_url_where("the back office", |u| u.path().starts_with("/admin") && u.path() != "/admin/login").await;
    b.client.goto(&app.url("/admin/c/ln-hrss-ai-2025")).await.unwrap();
    assert!(b.text("#total").await.contains(&(2 + XSS_CORPUS.len()).to_string()));
    assert!(b.inert().await, "the queue renders hostile opinions as text");
    assert!(b.body().await.contains("<script>window.__xss=1</script>"), "shown, as text");

    // Search (the index catches up in the background), then a filter on top of it.
    eventually(Duration::from_secs(30), || async {
        b.fill("#f-q", "培训").await;
        b.click("#apply-filter").await;
        b.wait_url("q=%E5%9F%B9%E8%AE%AD").await;
        let total = b.text("#total").await;
        if total.contains("共 1 条") {
            Ok(())
        } else {
            Err(format!("search finds the comment about training: {total}"))
        }
    })
    .await;
    b.click(&format!("a[href='/admin/comments/{training}']")).await;

    // Classify it on its own page.
    b.client.find(Locator::Css("#c-disposition")).await.unwrap().select_by_value("adopted").await.unwrap();
    b.fill("#c-reason", "已在第三条中增加职业技能培训的表述。").await;
    b.click("#act-dispose button[type=submit]").await;
    b.wait_url("done=1").await;
    assert!(b.text("main").await.contains("已保存"));
    assert!(b.body().await.contains("采纳"));

    // Bulk: the still-waiting comments on article 7 (the hostile ones), with a hostile reason.
    b.client.goto(&app.url("/admin/c/ln-hrss-ai-2025?article=7&status=received")).await.unwrap();
    assert!(b.text("#total").await.contains(&XSS_CORPUS.len().to_string()));
    b.client.find(Locator::Css("#b-disposition")).await.unwrap().select_by_value("not_adopted").await.unwrap();
    b.fill("#b-reason", "与上位法不一致。<script>window.__xss=1</script>").await;
    b.click("#bulk-dispose button[type=submit]").await;
    b.wait_url("done=").await;
    let main = b.text("main").await;
    assert!(main.contains(&format!("已处理 {} 条意见", XSS_CORPUS.len())), "{}", &main[..main.len().min(600)]);
    assert!(b.inert().await);

    // The dashboard draws its charts.
    b.client.goto(&app.url("/admin/c/ln-hrss-ai-2025/dashboard")).await.unwrap();
    let charts = b.client.find_all(Locator::Css("figure.chart svg[role=img]")).await.unwrap();
    assert_eq!(charts.len(), 6);

    // Publish the report.
    b.client.goto(&app.url("/admin/c/ln-hrss-ai-2025/report")).await.unwrap();
    b.fill("#preface", "感谢社会各界提出的宝贵意见。").await;
    b.click("#publish-report button[type=submit]").await;
    b.wait_url_where("the public report", |u| u.path() == "/c/ln-hrss-ai-2025/report").await;

    // A citizen, with no session, reads it.
    b.client.delete_all_cookies().await.unwrap();
    b.client.goto(&app.url("/c/ln-hrss-ai-2025/report")).await.unwrap();
    let report = b.text("main").await;
    for expected in [
        "感谢社会各界提出的宝贵意见",
        "已在第三条中增加职业技能培训的表述",
        "与上位法不一致。<script>window.__xss=1</script>",
    ] {
        assert!(report.contains(expected), "{expected} not in the report");
    }
    assert!(!report.contains("扩大补贴范围"), "no opinion text unless chosen as an excerpt");
    assert!(b.inert().await, "the hostile reasoning is text in the public report");
    let violations = b.axe().await;
    assert!(violations.is_empty(), "axe on the report: {violations:?}");
    b.client.goto(&app.url("/admin")).await.unwrap();
    assert!(b.client.current_url().await.unwrap().as_str().ends_with("/admin/login"), "logged out for the citizen");
    b.stop().await;
}

/// A reviewer sees a campaign as one row, reads what its members changed, decides it once for
/// every member (and later ones), and filters the queue by it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_decide_a_campaign_in_a_browser() {
    let app = InProcess::start(Backend::Sqlite, WebOptions { insecure_no_captcha: true, ..Default::default() }).await;
    app.app()
        .add_user("test", "rev1", yijian_domain::staff::Role::Reviewer, "reviewer password 1", jiff::Timestamp::now())
        .await
        .unwrap();
    let letter = "我们强烈建议在全省推广人工智能职业技能培训券制度，由培训机构按实际培训时长结算，\
                  劳动者可以自主选择培训项目和机构，培训合格后再按就业情况给予一次性奖励，切实提高培训质量。";
    for who in ["张伟", "王芳", "李娜", "刘洋", "陈静"] {
        submit_api(&app, &format!("{who}：{letter}联系人{who}"), &[4]).await;
    }
    let own = submit_api(&app, "支持高校毕业生就业，建议增加见习岗位。", &[5]).await;
    let c = app.app().consultation(DEMO_ID).await.unwrap().unwrap();
    let found = app.app().detect_campaigns("tester", &c, jiff::Timestamp::now()).await.unwrap();
    assert_eq!((found.campaigns, found.in_campaigns), (1, 5));

    let b = Browser::start(1280).await;
    b.client.goto(&app.url("/?lang=zh")).await.unwrap();
    b.client.goto(&app.url("/admin/login")).await.unwrap();
    b.fill("#username", "rev1").await;
    b.fill("#password", "reviewer password 1").await;
    b.click("form button[type=submit]").await;
    b.wait_url_where("the back office", |u| u.path().starts_with("/admin") && u.path() != "/admin/login").await;

    b.client.goto(&app.url(&format!("/admin/c/{DEMO_ID}/campaigns"))).await.unwrap();
    let counts = b.text("#campaign-counts").await;
    assert!(counts.contains("共 6 条意见，其中 5 条属于 1 个雷同意见组"), "{counts}");
    let rows = b.client.find_all(Locator::Css("table.campaigns tbody tr")).await.unwrap();
    assert_eq!(rows.len(), 1, "one row for five comments");
    b.click("table.campaigns tbody tr td a").await;
    b.wait_url("/campaigns/").await;
    assert_eq!(b.text("#campaign-size").await.trim(), "5");
    let added = b.client.find_all(Locator::Css("ol.members p.diff ins")).await.unwrap();
    assert!(!added.is_empty(), "what each member added is marked");
    let violations = b.axe().await;
    assert!(violations.is_empty(), "axe on the campaign page: {violations:?}");

    b.client.find(Locator::Css("#k-disposition")).await.unwrap().select_by_value("adopted").await.unwrap();
    b.fill("#k-reason", "已增加培训券制度的规定。").await;
    b.click("#campaign-dispose input[name=inherit]").await;
    b.click("#campaign-dispose button[type=submit]").await;
    b.wait_url("done=5").await;
    assert!(b.text("#campaign-state").await.contains("采纳"));

    // The queue: the campaign's members, and the comments outside any campaign.
    b.client.goto(&app.url(&format!("/admin/c/{DEMO_ID}?campaign=only&disposition=adopted"))).await.unwrap();
    assert!(b.text("#total").await.contains("共 5 条"));
    b.client.goto(&app.url(&format!("/admin/c/{DEMO_ID}"))).await.unwrap();
    b.client.find(Locator::Css("#f-campaign")).await.unwrap().select_by_value("none").await.unwrap();
    b.click("#apply-filter").await;
    b.wait_url("campaign=none").await;
    assert!(b.text("#total").await.contains("共 1 条"));
    assert!(b.body().await.contains(&own));
    b.stop().await;
}

/// Issue 14 in a browser: a suggested article accepted on the comment page, another turned
/// down, and the rest of a filter accepted at once from the queue; themes built from their page, renamed and confirmed;
/// the new pages pass the axe scan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_confirm_suggestions_and_themes_in_a_browser() {
    let app = InProcess::start(Backend::Sqlite, WebOptions { insecure_no_captcha: true, ..Default::default() }).await;
    app.app()
        .add_user("test", "rev1", yijian_domain::staff::Role::Reviewer, "reviewer password 1", jiff::Timestamp::now())
        .await
        .unwrap();
    let first = submit_api(&app, "关于第五条，建议明确专家服务企业的补贴标准和考核办法，避免流于形式。", &[]).await;
    let second = submit_api(&app, "第五条提到的专家服务企业，希望增加对中小微企业的倾斜，简化申请手续。", &[]).await;
    submit_api(&app, "总体支持这份文件，希望尽快出台并抓好落实。", &[]).await;
    let third = submit_api(&app, "第十二条的培训补贴，建议按季度拨付，别让培训机构垫资太久。", &[]).await;
    assert_eq!(app.app().suggestion_pass().await.unwrap(), 4);

    let b = Browser::start(1280).await;
    b.client.goto(&app.url("/?lang=zh")).await.unwrap();
    b.client.goto(&app.url("/admin/login")).await.unwrap();
    b.fill("#username", "rev1").await;
    b.fill("#password", "reviewer password 1").await;
    b.click("form button[type=submit]").await;
    b.wait_url_where("the back office", |u| u.path().starts_with("/admin") && u.path() != "/admin/login").await;

    // One suggestion accepted on its comment's page.
    b.client.goto(&app.url(&format!("/admin/comments/{first}"))).await.unwrap();
    assert!(b.text("#suggestion-5").await.contains("明确提及"));
    let violations = b.axe().await;
    assert!(violations.is_empty(), "axe on the comment page: {violations:?}");
    b.click("#suggestion-5 button[value=accept_suggestion]").await;
    b.wait_url("done=1").await;
    assert!(b.text("#suggestion-5").await.contains("已采纳"));

    // One suggestion turned down: it stays on record as not taken, and no link is made.
    b.client.goto(&app.url(&format!("/admin/comments/{third}"))).await.unwrap();
    assert!(b.text("#suggestion-12").await.contains("明确提及"));
    b.click("#suggestion-12 button[value=reject_suggestion]").await;
    b.wait_url("done=1").await;
    assert!(b.text("#suggestion-12").await.contains("未采纳"));
    let receipt = yijian_domain::receipt::Receipt::parse(&third).unwrap();
    assert!(app.store().comment(&receipt).await.unwrap().unwrap().articles.is_empty());

    // The rest of the filter at once, from the queue.
    b.client.goto(&app.url(&format!("/admin/c/{DEMO_ID}?suggested=5"))).await.unwrap();
    assert!(b.text("#total").await.contains("共 1 条"));
    assert!(b.body().await.contains(&second));
    b.click("#bulk-suggestions button[value=accept_suggestion]").await;
    b.wait_url("done=1").await;
    b.client.goto(&app.url(&format!("/admin/c/{DEMO_ID}?article=5"))).await.unwrap();
    assert!(b.text("#total").await.contains("共 2 条"));

    // Themes: built from the page, then one renamed and confirmed.
    b.client.goto(&app.url(&format!("/admin/c/{DEMO_ID}/themes"))).await.unwrap();
    b.click("#themes-build button[type=submit]").await;
    b.wait_url("built=").await;
    let violations = b.axe().await;
    assert!(violations.is_empty(), "axe on the themes page: {violations:?}");
    b.click("table.themes tbody tr td a").await;
    b.wait_url("/themes/").await;
    let violations = b.axe().await;
    assert!(violations.is_empty(), "axe on a theme's page: {violations:?}");
    b.fill("#t-label", "专家服务企业").await;
    b.click("#theme-rename button[type=submit]").await;
    b.wait_url("done=1").await;
    assert_eq!(b.text("#theme-label").await.trim(), "专家服务企业");
    b.click("#theme-confirm button[type=submit]").await;
    b.wait_url("done=1").await;
    assert_eq!(b.text("#theme-confirmed").await.trim(), "是");
    b.stop().await;
}
