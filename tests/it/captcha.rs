//! Captchas under load and for people who cannot see: the per-client issuance limit (an IPv6
//! /64 is one client), the store's bound that never drops another client's valid captcha, the
//! audio alternative end to end, and the end of the text question a script could answer.

use reqwest::StatusCode;
use serde_json::{Value, json};
use yijian_app::captcha::{Bounds, Captchas};
use yijian_web::WebOptions;
use yijian_web::limits::RateLimit;

use crate::harness::{Backend, DEMO_ID, InProcess, ServerProcess, TestData, good_body};
use crate::on_both_backends;

/// Requests come through a trusted proxy on loopback, so each test can speak for many clients
/// with X-Forwarded-For.
fn behind_proxy(captcha_rate_limit: Option<RateLimit>) -> WebOptions {
    WebOptions { captcha_rate_limit, trusted_proxies: vec!["127.0.0.1".parse().unwrap()], ..Default::default() }
}

async fn new_captcha(app: &InProcess, client: &str) -> reqwest::Response {
    app.client.get(app.url("/api/v1/captcha")).header("x-forwarded-for", client).send().await.unwrap()
}

/// A captcha for `client`, and its answer as the server knows it.
async fn solved(app: &InProcess, client: &str) -> (String, String) {
    let res = new_captcha(app, client).await;
    assert_eq!(res.status(), 200, "a captcha for {client}");
    let id = res.json::<Value>().await.unwrap()["captcha_id"].as_str().unwrap().to_string();
    let answer = app.state.captchas.peek_answer(&id).unwrap();
    (id, answer)
}

async fn submit(app: &InProcess, client: &str, (id, answer): &(String, String)) -> (StatusCode, Value) {
    let mut body = good_body();
    body["captcha_id"] = json!(id);
    body["captcha_answer"] = json!(answer);
    let res = app
        .client
        .post(app.url(&format!("/api/v1/consultations/{DEMO_ID}/comments")))
        .header("x-forwarded-for", client)
        .json(&body)
        .send()
        .await
        .unwrap();
    (res.status(), res.json().await.unwrap())
}

/// Asks for captchas as `client` until refused; returns how many it got and the refusal.
async fn flood(app: &InProcess, client: &str, up_to: usize) -> (usize, Option<reqwest::Response>) {
    for given in 0..up_to {
        let res = new_captcha(app, client).await;
        if res.status() != 200 {
            return (given, Some(res));
        }
    }
    (up_to, None)
}

async fn captcha_issuance_is_limited_per_client(backend: Backend) {
    let app = InProcess::start(backend, behind_proxy(Some(RateLimit { per_minute: 1, burst: 5 }))).await;
    let other = solved(&app, "198.51.100.7").await;

    // One client floods: five, then 429 with Retry-After, on the API …
    let (given, refused) = flood(&app, "203.0.113.9", 50).await;
    assert_eq!(given, 5);
    let refused = refused.unwrap();
    assert_eq!(refused.status(), 429);
    let wait: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(refused.json::<Value>().await.unwrap()["error"]["code"], "rate_limited");
    // The page is served all the same (it draws no captcha); the form token is refused with
    // 429, Retry-After and a Chinese message …
    let page = app.client.get(app.url(&format!("/c/{DEMO_ID}"))).header("x-forwarded-for", "203.0.113.9");
    let res = page.send().await.unwrap();
    assert_eq!(res.status(), 200, "the draft is always served");
    assert!(res.text().await.unwrap().contains("id=\"article-20\""));
    let token = app.client.get(app.url(&format!("/c/{DEMO_ID}/form-token"))).header("x-forwarded-for", "203.0.113.9");
    let res = token.send().await.unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"]["code"], "rate_limited");
    assert!(v["error"]["message"].as_str().unwrap().contains("请求验证码过于频繁"), "{v}");
    // … and so is the step a form sent without JavaScript takes, with everything typed kept.
    let res = app
        .client
        .post(app.url(&format!("/c/{DEMO_ID}")))
        .header("x-forwarded-for", "203.0.113.9")
        .form(&[("name", "王五"), ("opinion", "意见")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    let page = res.text().await.unwrap();
    assert!(page.contains("id=\"captcha-unavailable\"") && page.contains("请求验证码过于频繁"));
    assert!(page.contains("value=\"王五\"") && page.contains("id=\"article-20\""), "nothing lost");

    // An IPv6 /64 is one client: a neighbour in it shares the limit, the next /64 does not.
    assert_eq!(flood(&app, "2001:db8:1:2::1", 50).await.0, 5);
    assert_eq!(new_captcha(&app, "2001:db8:1:2:ffff:ffff:ffff:ffff").await.status(), 429);
    assert_eq!(new_captcha(&app, "2001:db8:1:3::1").await.status(), 200);

    // The other client's captcha, issued before the flood, still works.
    let (status, body) = submit(&app, "198.51.100.7", &other).await;
    assert_eq!(status, 201, "{body}");
}
on_both_backends!(captcha_issuance_is_limited_per_client);

async fn a_flood_never_invalidates_another_clients_captcha(backend: Backend) {
    // No issuance limit here: the store's own bound is what is tested.
    let app = InProcess::start_with(backend, behind_proxy(None), |s| {
        s.with_captchas(Captchas::bounded(Bounds { total: 20, per_client: 5 }))
    })
    .await;
    let early = solved(&app, "198.51.100.7").await;
    // One client asks for ten times the whole store: it only ever loses its own oldest.
    let (given, _) = flood(&app, "203.0.113.9", 200).await;
    assert_eq!(given, 200);
    assert_eq!(app.state.captchas.outstanding(), 6, "the other's one and the flooder's share");
    assert_eq!(submit(&app, "198.51.100.7", &early).await.0, 201);

    // Many clients fill the store with valid captchas: new ones are refused (503, Retry-After),
    // and none of those given is dropped.
    let kept = solved(&app, "198.51.100.8").await;
    let mut n = 0;
    let refused = loop {
        n += 1;
        let res = new_captcha(&app, &format!("192.0.2.{n}")).await;
        if res.status() != 200 {
            break res;
        }
        assert!(n < 100, "the store never filled");
    };
    assert_eq!(refused.status(), 503);
    let wait: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=600).contains(&wait), "{wait}");
    assert_eq!(refused.json::<Value>().await.unwrap()["error"]["code"], "captcha_unavailable");
    let page = app.client.get(app.url(&format!("/c/{DEMO_ID}"))).header("x-forwarded-for", "192.0.2.200");
    assert_eq!(page.send().await.unwrap().status(), 200, "the draft is always served");
    let token = app.client.get(app.url(&format!("/c/{DEMO_ID}/form-token"))).header("x-forwarded-for", "192.0.2.200");
    let res = token.send().await.unwrap();
    assert_eq!(res.status(), 503);
    assert!(res.headers().contains_key("retry-after"));
    assert_eq!(submit(&app, "198.51.100.8", &kept).await.0, 201, "a valid captcha survived the full store");
}
on_both_backends!(a_flood_never_invalidates_another_clients_captcha);

/// A person who cannot see the image: the page offers a recording (no JavaScript needed), the
/// recording is a WAV file, and the digits heard pass the form.
async fn the_audio_captcha_works_end_to_end(backend: Backend) {
    let app = InProcess::start(backend, WebOptions::default()).await;
    let b = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let url = app.url(&format!("/c/{DEMO_ID}"));
    let res = b.get(format!("{url}?captcha=audio")).send().await.unwrap();
    let csp = res.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("media-src 'self'"), "{csp}");
    let page = res.text().await.unwrap();
    assert!(page.contains("name=\"captcha_kind\" value=\"audio\""));
    // The page asks for a recording; app.js fetches it with the form's token when the form is used.
    let token: Value = b.get(format!("{url}/form-token?captcha=audio")).send().await.unwrap().json().await.unwrap();
    let fragment = token["html"].as_str().unwrap();
    let start =
        fragment.find("<audio id=\"captcha-audio\" controls preload=\"none\" src=\"").expect("an audio element");
    let src = fragment[start..].split('"').nth(5).unwrap().to_string();
    assert!(src.starts_with("/captcha/") && src.ends_with("/audio.wav"), "{src}");
    assert!(fragment.contains(&format!("href=\"{src}\" download")), "and a plain link to the file");
    assert!(!fragment.contains("data:image/png"), "no image");
    let cid = token["captcha_id"].as_str().unwrap().to_string();
    assert!(src.contains(&cid));

    let wav = b.get(app.url(&src)).send().await.unwrap();
    assert_eq!(wav.status(), 200);
    assert_eq!(wav.headers()["content-type"], "audio/wav");
    let wav = wav.bytes().await.unwrap();
    assert_eq!((&wav[..4], &wav[8..12]), (&b"RIFF"[..], &b"WAVE"[..]));
    let secs = (wav.len() - 44) as f64 / (2.0 * 11_025.0);
    assert!((3.0..12.0).contains(&secs), "{secs} s of sound");

    // The test reads the digits from the server, as a listener would hear them.
    let answer = app.state.captchas.peek_answer(&cid).unwrap();
    assert_eq!(answer.len(), yijian_app::captcha::AUDIO_DIGITS);
    let mut fields = vec![
        ("csrf".to_string(), token["csrf"].as_str().unwrap().to_string()),
        ("captcha_kind".into(), hidden(&page, "captcha_kind")),
        ("captcha_id".into(), cid.clone()),
        ("captcha_answer".into(), "00000".into()),
        ("consent".into(), "yes".into()),
    ];
    for (k, v) in good_body().as_object().unwrap() {
        if let Some(v) = v.as_str() {
            fields.push((k.clone(), v.into()));
        }
    }
    // A wrong answer brings the form back with a new recording, not an image.
    if answer == "00000" {
        fields[3].1 = "11111".into();
    }
    let res = b.post(&url).form(&fields).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(page.contains("<audio id=\"captcha-audio\""), "the kind chosen is kept");
    assert_eq!(b.get(app.url(&src)).send().await.unwrap().status(), 404, "a used captcha has no sound");
    let cid = hidden(&page, "captcha_id");
    fields[0].1 = hidden(&page, "csrf");
    fields[2].1 = cid.clone();
    fields[3].1 = app.state.captchas.peek_answer(&cid).unwrap();
    let res = b.post(&url).form(&fields).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("YJ-"), "a receipt");
    assert_eq!(app.store().count_comments(DEMO_ID).await.unwrap(), 1);

    // The API offers the sound too.
    let c: Value = app.client.get(app.url("/api/v1/captcha?kind=audio")).send().await.unwrap().json().await.unwrap();
    let id = c["captcha_id"].as_str().unwrap();
    assert_eq!(c["audio"], format!("/captcha/{id}/audio.wav"));
    assert!(c.get("image").is_none());
    assert_eq!(app.client.get(app.url("/api/v1/captcha?kind=riddle")).send().await.unwrap().status(), 422);
    assert_eq!(app.client.get(app.url("/captcha/nope/audio.wav")).send().await.unwrap().status(), 404);
}
on_both_backends!(the_audio_captcha_works_end_to_end);

fn hidden(page: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    let start = page.find(&needle).unwrap_or_else(|| panic!("no {name} in page")) + needle.len();
    page[start..start + page[start..].find('"').unwrap()].to_string()
}

/// The old text question ("What is 3 plus 4?") answered by a one-line script is gone: its
/// address now gives the recording, and no page states its answer in words.
#[tokio::test]
async fn no_captcha_can_be_read_off_a_page() {
    let app = InProcess::start(Backend::Sqlite, WebOptions::default()).await;
    for path in ["?captcha=text&lang=en", "?captcha=text", "?lang=en", ""] {
        let page = app.client.get(app.url(&format!("/c/{DEMO_ID}{path}"))).send().await.unwrap().text().await.unwrap();
        assert!(!page.contains("What is") && !page.contains("等于几"), "{path}: a question in words");
        let token = format!("/c/{DEMO_ID}/form-token{path}");
        let token: Value = app.client.get(app.url(&token)).send().await.unwrap().json().await.unwrap();
        let fragment = token["html"].as_str().unwrap();
        assert!(!fragment.contains("What is") && !fragment.contains("等于几"), "{path}: a question in words");
        let answer = app.state.captchas.peek_answer(token["captcha_id"].as_str().unwrap()).unwrap();
        assert!(!fragment.contains(&format!(">{answer}<")) && !fragment.contains(&format!("\"{answer}\"")), "{path}");
        if path.contains("text") {
            assert!(page.contains("name=\"captcha_kind\" value=\"audio\""), "{path}: the recording instead");
            assert!(fragment.contains("<audio id=\"captcha-audio\""), "{path}: the recording instead");
        }
    }
}

/// `--insecure-no-rate-limit` lifts the captcha limit (for load tests); without it the real
/// server limits captchas per client.
#[tokio::test]
async fn the_insecure_flag_lifts_the_captcha_limit() {
    let data = TestData::new(Backend::Sqlite).await;
    let client = reqwest::Client::new();
    let limited = ServerProcess::spawn(&data, &[]);
    let mut statuses = Vec::new();
    for _ in 0..40 {
        statuses.push(client.get(limited.url("/api/v1/captcha")).send().await.unwrap().status().as_u16());
    }
    assert!(statuses.contains(&429), "the default limit holds: {statuses:?}");
    drop(limited);
    let free = ServerProcess::spawn(&data, &["--insecure-no-rate-limit"]);
    for _ in 0..40 {
        assert_eq!(client.get(free.url("/api/v1/captcha")).send().await.unwrap().status(), 200);
    }
    assert!(free.stderr().contains("captchas"), "the warning names captchas");
}
