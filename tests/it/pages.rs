//! The public pages over HTTP: the draft, the form's round trip, receipts, headers.
//! (Browser-driven tests of the same flows live in `browser.rs` once Chromium is installed.)

use reqwest::StatusCode;
use yijian_web::WebOptions;

use crate::harness::{Backend, DEMO_ID, InProcess};

/// A client that keeps cookies, as a browser does.
fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).build().unwrap()
}

fn hidden(page: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    let start = page.find(&needle).unwrap_or_else(|| panic!("no {name} in page")) + needle.len();
    page[start..start + page[start..].find('"').unwrap()].to_string()
}

fn captcha_id(page: &str) -> String {
    let needle = "id=\"captcha_id\" name=\"captcha_id\" value=\"";
    let start = page.find(needle).unwrap() + needle.len();
    page[start..start + page[start..].find('"').unwrap()].to_string()
}

/// What app.js fetches when the form is first used: the form's `csrf` field (token and form
/// id) and a captcha id, with the CSRF cookie set on `b`.
pub(crate) async fn form_token(b: &reqwest::Client, app: &InProcess, query: &str) -> (String, String) {
    let res = b.get(app.url(&format!("/c/{DEMO_ID}/form-token{query}"))).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let v: serde_json::Value = res.json().await.unwrap();
    (v["csrf"].as_str().unwrap().to_string(), v["captcha_id"].as_str().unwrap().to_string())
}

/// The form as app.js sends it: the cached page's fields with a fetched token and captcha.
async fn fresh_form(b: &reqwest::Client, app: &InProcess, id_number: &str) -> Vec<(String, String)> {
    let (csrf, cid) = form_token(b, app, "").await;
    filled(csrf, cid, app, id_number)
}

/// The form of a page that carries its own captcha and token (one that came back).
fn form(page: &str, app: &InProcess, id_number: &str) -> Vec<(String, String)> {
    filled(hidden(page, "csrf"), captcha_id(page), app, id_number)
}

fn filled(csrf: String, cid: String, app: &InProcess, id_number: &str) -> Vec<(String, String)> {
    let answer = app.state.captchas.peek_answer(&cid).unwrap();
    vec![
        ("csrf".into(), csrf),
        ("name".into(), "李四".into()),
        ("id_number".into(), id_number.into()),
        ("position".into(), "教师".into()),
        ("phone".into(), "13912345678".into()),
        ("email".into(), "lisi@example.com".into()),
        ("opinion".into(), "建议<b>加强</b>培训。".into()),
        ("articles".into(), "5".into()),
        ("articles".into(), "13".into()),
        ("captcha_id".into(), cid),
        ("captcha_answer".into(), answer),
        ("consent".into(), "yes".into()),
    ]
}

#[tokio::test]
async fn consultation_page_shows_notice_draft_and_form() {
    let app = InProcess::start(Backend::Sqlite, WebOptions::default()).await;
    let res = browser().get(app.url(&format!("/c/{DEMO_ID}?article=5"))).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let csp = res.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline") && !csp.contains('*'), "{csp}");
    // The same page for everyone, cached: no cookie, no token, no captcha.
    assert_eq!(res.headers()["cache-control"], "public, max-age=10, must-revalidate");
    assert!(res.headers().get("set-cookie").is_none());
    let page = res.text().await.unwrap();
    assert_eq!(hidden(&page, "csrf"), "", "no CSRF token or form id in the cached page");
    assert_eq!(captcha_id(&page), "");
    assert!(!page.contains("data:image/png"), "no captcha image");
    assert!(page.contains("id=\"captcha-later\"") && page.contains("data-deferred"));
    assert!(page.contains("<html lang=\"zh-CN\">"));
    assert!(page.contains("演示"), "demo banner");
    for n in 1..=20 {
        assert!(page.contains(&format!("id=\"article-{n}\"")), "anchor of article {n}");
        assert!(page.contains(&format!("?article={n}#form-title")), "comment link of article {n}");
    }
    assert!(page.contains("一、服务保障人工智能产业培育壮大"));
    assert!(page.contains("<strong>1. 全力保障人工智能产业用工需求。</strong>"));
    // The seven fields in the reference's order, then the optional articles and consent.
    let order = [
        "name=\"name\"",
        "name=\"id_number\"",
        "name=\"position\"",
        "name=\"phone\"",
        "name=\"email\"",
        "name=\"opinion\"",
        "name=\"articles\"",
        "name=\"captcha_answer\"",
        "name=\"consent\"",
    ];
    let positions: Vec<usize> = order.iter().map(|n| page.find(n).unwrap_or_else(|| panic!("{n}"))).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    assert_eq!(page.matches("<option value=").count(), 18, "the placeholder and 17 positions");
    assert!(page.contains("<option value=\"\">请选择</option>"));
    assert!(page.contains("value=\"5\" checked"), "the article link preselects it");
    assert!(page.contains("mailto:consultation-demo@example.org?subject=%E3%80%8A"), "mailto with the subject");
    assert!(page.contains("href=\"/privacy\""));
    // The checksum shown is that of /text.txt.
    let text = app.client.get(app.url(&format!("/c/{DEMO_ID}/text.txt"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(&yijian_domain::document::sha256_hex(&text)));
    assert!(!page.contains("style=") && !page.contains("<script>"), "no inline style or script");
    // Weight: the page with its CSS and script, under 100 KB.
    let css = app.client.get(app.url("/static/app.css")).send().await.unwrap().text().await.unwrap();
    let js = app.client.get(app.url("/static/app.js")).send().await.unwrap().text().await.unwrap();
    let weight = page.len() + css.len() + js.len();
    assert!(weight < 100_000, "page weight {weight} bytes");
}

#[tokio::test]
async fn form_errors_keep_entries_and_success_shows_receipt_once() {
    let app = InProcess::start(Backend::Sqlite, WebOptions::default()).await;
    let b = browser();
    let url = app.url(&format!("/c/{DEMO_ID}"));
    b.get(&url).send().await.unwrap().text().await.unwrap();

    // A wrong ID number: the page comes back with a summary, the message, and the entries.
    let res = b.post(&url).form(&fresh_form(&b, &app, "110105194912310021").await).send().await.unwrap();
    assert_eq!(res.headers()["cache-control"], "no-store", "a page with the citizen's entries");
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(page.contains("id=\"error-summary\"") && page.contains("href=\"#id_number\""));
    assert!(page.contains("身份证号码校验位") || page.contains("校验"), "specific message");
    assert!(page.contains("value=\"李四\"") && page.contains("value=\"lisi@example.com\""));
    assert!(page.contains("建议&#60;b&#62;加强&#60;/b&#62;培训。"), "opinion kept, escaped");
    assert!(page.contains("value=\"13\" checked"));
    assert!(page.contains("<option value=\"教师\" selected>教师</option>"));
    assert!(
        page.contains("name=\"captcha_answer\" required autocomplete=\"off\" inputmode=\"text\" aria-invalid")
            || !page.contains("value=\"\" name=\"captcha_answer\"")
    );
    assert_eq!(app.store().count_comments(DEMO_ID).await.unwrap(), 0, "nothing stored");

    // Corrected and sent twice (a double tap): one comment, the same receipt both times.
    let fields = form(&page, &app, "11010519491231002X");
    let first = b.post(&url).form(&fields).send().await.unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["cache-control"], "no-store", "the receipt page");
    let first = first.text().await.unwrap();
    let second = b.post(&url).form(&fields).send().await.unwrap().text().await.unwrap();
    let receipt = |p: &str| hidden_receipt(p);
    assert_eq!(receipt(&first), receipt(&second));
    assert_eq!(app.store().count_comments(DEMO_ID).await.unwrap(), 1);
    // The receipt page masks the ID and phone and shows the opinion as text.
    assert!(first.contains("110105********002X") && !first.contains("11010519491231002X"));
    assert!(first.contains("139****5678") && !first.contains("13912345678"));
    assert!(first.contains("建议&#60;b&#62;加强&#60;/b&#62;培训。"));
    let r = Receipt::parse(&receipt(&first)).unwrap();
    assert_eq!(app.store().comment(&r).await.unwrap().unwrap().channel.as_str(), "web");

    // The lookup page shows the status only.
    let look = b
        .get(app.url(&format!("/receipt?receipt={}", receipt(&first).to_lowercase())))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(look.contains("已收到，待处理"));
    assert!(!look.contains("李四") && !look.contains("建议"));
    let bad = b.get(app.url("/receipt?receipt=YJ-12%2A4")).send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = b.get(app.url("/receipt?receipt=YJ-0000-0000")).send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

use yijian_domain::receipt::Receipt;

fn hidden_receipt(page: &str) -> String {
    let start = page.find("id=\"receipt\">").unwrap() + "id=\"receipt\">".len();
    page[start..start + 12].to_string()
}

#[tokio::test]
async fn forged_or_missing_csrf_stores_nothing_and_keeps_entries() {
    let app = InProcess::start(Backend::Sqlite, WebOptions::default()).await;
    let url = app.url(&format!("/c/{DEMO_ID}"));
    let b = browser();
    let mut fields = fresh_form(&b, &app, "11010519491231002X").await;
    fields[0].1 = format!("{}0.bad|{}", "0".repeat(31), "a".repeat(32));
    let res = b.post(&url).form(&fields).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let page = res.text().await.unwrap();
    assert!(page.contains("页面已过期") && page.contains("value=\"李四\""));
    // Another site posting with no cookie at all.
    let res = app.client.post(&url).form(&form(&page, &app, "11010519491231002X")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.store().count_comments(DEMO_ID).await.unwrap(), 0);
}

#[tokio::test]
async fn missing_consent_and_audio_captcha() {
    let app = InProcess::start(Backend::Sqlite, WebOptions::default()).await;
    let b = browser();
    let url = app.url(&format!("/c/{DEMO_ID}"));
    let page = b.get(format!("{url}?captcha=audio")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("name=\"captcha_kind\" value=\"audio\""), "the form asks for a recording");
    let res = b.get(app.url(&format!("/c/{DEMO_ID}/form-token?captcha=audio"))).send().await.unwrap();
    let token: serde_json::Value = res.json().await.unwrap();
    assert!(token["html"].as_str().unwrap().contains("<audio id=\"captcha-audio\""), "a recording, not an image");
    let cid = token["captcha_id"].as_str().unwrap().to_string();
    assert_eq!(token["audio"], format!("/captcha/{cid}/audio.wav"));
    let mut fields = filled(token["csrf"].as_str().unwrap().to_string(), cid, &app, "11010519491231002X");
    fields.retain(|(k, _)| k != "consent");
    let res = b.post(&url).form(&fields).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("href=\"#consent\""));
    assert_eq!(app.store().count_comments(DEMO_ID).await.unwrap(), 0);
}

/// Issue 11, item 15: the English interface said "请于2 January 2027前…" inside the notice.
#[tokio::test]
async fn the_chinese_notice_keeps_its_chinese_deadline_in_the_english_interface() {
    let app = InProcess::start(Backend::Sqlite, WebOptions::default()).await;
    let c = app.store().consultation(DEMO_ID).await.unwrap().unwrap();
    let local = (c.meta.closes_at - jiff::SignedDuration::from_secs(1)).to_zoned(c.meta.tz());
    let chinese = format!("请于{}年{}月{}日前", local.year(), local.month(), local.day());
    let english_date = local.date().strftime("%-d %B %Y").to_string();
    let page = browser().get(app.url(&format!("/c/{DEMO_ID}?lang=en"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("<html lang=\"en\">"));
    assert!(page.contains(&chinese), "{chinese} not in the English page");
    assert!(!page.contains(&format!("请于{english_date}")), "an English date inside the Chinese notice");
    let zh = browser().get(app.url(&format!("/c/{DEMO_ID}"))).send().await.unwrap().text().await.unwrap();
    assert!(zh.contains(&chinese));
}

#[tokio::test]
async fn english_index_closed_and_missing_pages() {
    let app = InProcess::start(Backend::Sqlite, WebOptions::default()).await;
    let text = std::fs::read_to_string(crate::harness::demo_file()).unwrap();
    let closed = yijian_domain::file::parse(&text.replacen(DEMO_ID, "closed-one", 1)).unwrap();
    app.store().import_consultation(&closed, false, jiff::Timestamp::now()).await.unwrap();
    let b = browser();
    let res = b.get(app.url("/?lang=en")).send().await.unwrap();
    assert!(res.headers()["set-cookie"].to_str().unwrap().starts_with("lang=en"));
    let index = res.text().await.unwrap();
    assert!(index.contains("<html lang=\"en\">") && index.contains("Open for comments"));
    assert!(index.find(DEMO_ID).unwrap() < index.find("closed-one").unwrap(), "open before closed");
    // The cookie remembers English.
    let closed_page = b.get(app.url("/c/closed-one")).send().await.unwrap().text().await.unwrap();
    assert!(closed_page.contains("closed on 18 May 2025"));
    assert!(!closed_page.contains("<form id=\"comment-form\""));
    assert!(!closed_page.contains("Comment on this article"));
    // An upcoming consultation shows its text and when it opens, and no form.
    let mut later = yijian_domain::file::parse(&text.replacen(DEMO_ID, "later-one", 1)).unwrap();
    let now = jiff::Timestamp::now();
    later.meta.opens_at = now + jiff::SignedDuration::from_hours(24 * 10);
    later.meta.closes_at = now + jiff::SignedDuration::from_hours(24 * 20);
    app.store().import_consultation(&later, false, now).await.unwrap();
    // Imported behind the server's back (as the CLI does): the list shows it within a second,
    // at once once the server is told.
    app.state.forget("later-one");
    let later_page = b.get(app.url("/c/later-one")).send().await.unwrap().text().await.unwrap();
    assert!(later_page.contains("This consultation opens on") && later_page.contains("id=\"article-20\""));
    assert!(!later_page.contains("<form id=\"comment-form\""));
    let index = b.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    let (open, upcoming, closed) =
        (index.find(DEMO_ID).unwrap(), index.find("later-one").unwrap(), index.find("closed-one").unwrap());
    assert!(open < upcoming && upcoming < closed, "open, then upcoming, then closed");
    assert!(index.contains("days left"));
    let res = b.get(app.url("/c/nope")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert!(res.text().await.unwrap().contains("Page not found"));
    let res = b.get(app.url("/privacy")).send().await.unwrap();
    assert!(res.text().await.unwrap().contains("sensitive personal information"));
    let css = b.get(app.url("/static/app.css")).send().await.unwrap();
    assert!(css.headers()["content-type"].to_str().unwrap().starts_with("text/css"));
}

// ------------------------------------------------------------------------------------------
// Public pages from the response cache (issue 12)
// ------------------------------------------------------------------------------------------

use std::io::Read;

fn gunzip(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(b).read_to_end(&mut out).expect("valid gzip");
    out
}

fn unbrotli(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::Decompressor::new(b, 4096).read_to_end(&mut out).expect("valid brotli");
    out
}

async fn get(app: &InProcess, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = app.client.get(app.url(path));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

fn header(res: &reqwest::Response, name: &str) -> String {
    res.headers().get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

fn admin() -> yijian_store::SessionUser {
    yijian_store::SessionUser { name: "admin1".into(), role: yijian_domain::staff::Role::Admin }
}

/// Every cached path: 304 on If-None-Match and on If-Modified-Since, gzip and brotli negotiated
/// (q-values honoured) with bodies that decode to the identity bytes, public and revalidated.
#[tokio::test]
async fn public_paths_are_compressed_and_revalidated() {
    let app = InProcess::start(Backend::Sqlite, WebOptions::default()).await;
    let c = app.app().consultation(DEMO_ID).await.unwrap().unwrap();
    app.app().publish_report(&admin(), &c, "感谢各界。", jiff::Timestamp::now()).await.unwrap();
    let paths = [
        format!("/c/{DEMO_ID}"),
        format!("/c/{DEMO_ID}?article=5&captcha=audio&lang=en"),
        "/".to_string(),
        "/?lang=en".to_string(),
        format!("/c/{DEMO_ID}/text.txt"),
        format!("/c/{DEMO_ID}/report"),
        format!("/api/v1/consultations/{DEMO_ID}/report"),
        "/privacy".to_string(),
        "/static/app.css".to_string(),
        "/static/app.js".to_string(),
    ];
    let mut identity = Vec::new();
    for path in &paths {
        let res = get(&app, path, &[]).await;
        assert_eq!(res.status(), 200, "{path}");
        assert!(header(&res, "content-encoding").is_empty(), "{path}: no Accept-Encoding, no coding");
        let cc = header(&res, "cache-control");
        assert!(cc.contains("public") || (path.contains("lang=") && cc.contains("private")), "{path}: {cc}");
        assert!(cc.contains("max-age="), "{path}: {cc}");
        assert!(header(&res, "vary").contains("Accept-Encoding"), "{path}");
        if !path.starts_with("/static") && !path.contains("text.txt") && !path.starts_with("/api") {
            assert!(header(&res, "vary").contains("Accept-Language"), "{path}: the language varies");
        }
        let etag = header(&res, "etag");
        assert!(etag.starts_with('"') && etag.len() == 34, "{path}: a strong ETag, {etag}");
        let body = res.bytes().await.unwrap().to_vec();
        assert!(body.len() > 500, "{path}");

        let res = get(&app, path, &[("if-none-match", &etag)]).await;
        assert_eq!(res.status(), 304, "{path}: If-None-Match");
        assert_eq!(header(&res, "etag"), etag);
        assert!(res.bytes().await.unwrap().is_empty(), "{path}: a 304 has no body");
        let res = get(&app, path, &[("if-none-match", "\"0123456789abcdef0123456789abcdef\"")]).await;
        assert_eq!(res.status(), 200, "{path}: another tag");

        let res = get(&app, path, &[("accept-encoding", "gzip, deflate")]).await;
        assert_eq!(header(&res, "content-encoding"), "gzip", "{path}");
        let gz_tag = header(&res, "etag");
        assert_ne!(gz_tag, etag, "{path}: each encoding is its own representation");
        assert_eq!(gunzip(&res.bytes().await.unwrap()), body, "{path}: gzip");
        let res = get(&app, path, &[("accept-encoding", "gzip, deflate, br")]).await;
        assert_eq!(header(&res, "content-encoding"), "br", "{path}: brotli preferred");
        assert_eq!(unbrotli(&res.bytes().await.unwrap()), body, "{path}: brotli");
        let res = get(&app, path, &[("accept-encoding", "br;q=0.4, gzip;q=0.9")]).await;
        assert_eq!(header(&res, "content-encoding"), "gzip", "{path}: the higher q");
        let res = get(&app, path, &[("accept-encoding", "br;q=0, gzip;q=0")]).await;
        assert!(header(&res, "content-encoding").is_empty(), "{path}: q=0 refuses");
        assert_eq!(res.bytes().await.unwrap().to_vec(), body);
        let res = get(&app, path, &[("accept-encoding", "gzip"), ("if-none-match", &gz_tag)]).await;
        assert_eq!(res.status(), 304, "{path}: the gzip tag revalidates");
        identity.push((path, body));
    }
    // Last-Modified is given once the second its entry was made has passed.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    for (path, body) in &identity {
        let res = get(&app, path, &[]).await;
        let modified = header(&res, "last-modified");
        assert!(modified.ends_with(" GMT"), "{path}: Last-Modified {modified:?}");
        assert_eq!(&res.bytes().await.unwrap().to_vec(), body, "{path}: the same bytes from memory");
        let res = get(&app, path, &[("if-modified-since", &modified)]).await;
        assert_eq!(res.status(), 304, "{path}: If-Modified-Since");
        let res = get(&app, path, &[("if-modified-since", "Thu, 01 Jan 2015 00:00:00 GMT")]).await;
        assert_eq!(res.status(), 200, "{path}: modified since 2015");
    }
}

/// Page views draw no captcha: the store's count is unchanged after 100 views in either kind.
#[tokio::test]
async fn page_views_draw_no_captcha() {
    let app = InProcess::start(Backend::Sqlite, WebOptions::default()).await;
    let before = app.state.captchas.outstanding();
    for n in 0..100 {
        let path = if n % 2 == 0 { format!("/c/{DEMO_ID}") } else { format!("/c/{DEMO_ID}?captcha=audio") };
        let page = get(&app, &path, &[]).await.text().await.unwrap();
        assert!(!page.contains("data:image/png") && !page.contains("/audio.wav"), "no captcha in the page");
    }
    assert_eq!(app.state.captchas.outstanding(), before);
    // The form token draws one.
    form_token(&browser(), &app, "").await;
    assert_eq!(app.state.captchas.outstanding(), before + 1);
}

/// Without JavaScript: the first POST stores nothing and answers the form (not cached) with
/// everything typed, a calm word and a captcha; the second stores one comment.
#[tokio::test]
async fn without_javascript_a_comment_takes_two_steps() {
    let app = InProcess::start(Backend::Sqlite, WebOptions::default()).await;
    let b = browser();
    let url = app.url(&format!("/c/{DEMO_ID}?article=5"));
    let page = b.get(&url).send().await.unwrap().text().await.unwrap();
    let mut fields: Vec<(String, String)> = form_fields_without_js(&page);
    let res = b.post(app.url(&format!("/c/{DEMO_ID}"))).form(&fields).send().await.unwrap();
    assert_eq!(res.status(), 200, "not an error");
    assert_eq!(header(&res, "cache-control"), "no-store");
    assert!(header(&res, "set-cookie").contains("yj_csrf="), "a CSRF cookie");
    let step = res.text().await.unwrap();
    assert!(step.contains("id=\"captcha-step\"") && step.contains("还差一步"), "the calm word");
    assert!(!step.contains("id=\"error-summary\""), "no error");
    assert!(step.contains("value=\"李四\"") && step.contains("value=\"lisi@example.com\""));
    assert!(step.contains("建议增加夜校。") && step.contains("value=\"5\" checked"), "everything typed");
    assert!(step.contains("data:image/png;base64,"), "a captcha to answer");
    assert_eq!(app.store().count_comments(DEMO_ID).await.unwrap(), 0, "nothing stored yet");

    let cid = captcha_id(&step);
    fields.retain(|(k, _)| !["csrf", "captcha_id", "captcha_answer", "captcha_kind"].contains(&k.as_str()));
    fields.push(("csrf".into(), hidden(&step, "csrf")));
    fields.push(("captcha_kind".into(), hidden(&step, "captcha_kind")));
    fields.push(("captcha_id".into(), cid.clone()));
    fields.push(("captcha_answer".into(), app.state.captchas.peek_answer(&cid).unwrap()));
    let res = b.post(app.url(&format!("/c/{DEMO_ID}"))).form(&fields).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let receipt = res.text().await.unwrap();
    assert!(receipt.contains("id=\"receipt\">YJ-"), "a receipt");
    // The same form again (a double tap): still one comment.
    b.post(app.url(&format!("/c/{DEMO_ID}"))).form(&fields).send().await.unwrap();
    assert_eq!(app.store().count_comments(DEMO_ID).await.unwrap(), 1);
}

/// The cached page's form as a browser without JavaScript sends it: every field it has (the
/// empty token and captcha id among them), filled in.
fn form_fields_without_js(page: &str) -> Vec<(String, String)> {
    let form = &page[page.find("id=\"comment-form\"").unwrap()..];
    assert!(form.contains("id=\"captcha_answer\"") && form.contains(" disabled>"), "the answer waits for a captcha");
    vec![
        ("csrf".into(), hidden(form, "csrf")),
        ("name".into(), "李四".into()),
        ("id_number".into(), "11010519491231002X".into()),
        ("position".into(), "教师".into()),
        ("phone".into(), "13912345678".into()),
        ("email".into(), "lisi@example.com".into()),
        ("opinion".into(), "建议增加夜校。".into()),
        ("articles".into(), "5".into()),
        ("captcha_kind".into(), hidden(form, "captcha_kind")),
        ("captcha_id".into(), hidden(form, "captcha_id")),
        ("consent".into(), "yes".into()),
    ]
}

/// A schedule change shows at once: a new ETag, the new deadline and its reason.
#[tokio::test]
async fn a_schedule_change_shows_at_once() {
    let app = InProcess::start(Backend::Sqlite, WebOptions::default()).await;
    let path = format!("/c/{DEMO_ID}");
    let res = get(&app, &path, &[]).await;
    let before = header(&res, "etag");
    let page = res.text().await.unwrap();
    assert!(!page.contains("id=\"schedule-changes\""));
    let c = app.app().consultation(DEMO_ID).await.unwrap().unwrap();
    let later = c.meta.closes_at + jiff::SignedDuration::from_hours(24 * 10);
    let reason = yijian_domain::staff::AuditReason::parse("应社会各界要求延期").unwrap();
    app.app().extend_deadline(&admin(), DEMO_ID, later, &reason, jiff::Timestamp::now()).await.unwrap();
    let res = get(&app, &path, &[("if-none-match", &before)]).await;
    assert_eq!(res.status(), 200, "the old copy is no longer current");
    assert_ne!(header(&res, "etag"), before);
    let page = res.text().await.unwrap();
    assert!(page.contains("id=\"schedule-changes\"") && page.contains("应社会各界要求延期"));
}

/// Staff pages, the form token and pages with a citizen's input are never cached.
#[tokio::test]
async fn pages_with_input_and_staff_pages_are_not_stored() {
    let app = InProcess::start(Backend::Sqlite, WebOptions::default()).await;
    for path in ["/admin/login", "/admin", "/receipt?receipt=YJ-0000-0000", &format!("/c/{DEMO_ID}/form-token")] {
        let res = get(&app, path, &[("accept-encoding", "gzip, br")]).await;
        assert_eq!(header(&res, "cache-control"), "no-store", "{path}");
        assert!(res.headers().get("etag").is_none(), "{path}");
    }
    let res = app.client.post(app.url(&format!("/c/{DEMO_ID}"))).form(&[("name", "王五")]).send().await.unwrap();
    assert_eq!(header(&res, "cache-control"), "no-store", "the form coming back");
    assert!(res.text().await.unwrap().contains("value=\"王五\""));
}

/// Two servers on the same data give the same ETag for the same page.
#[tokio::test]
async fn the_etag_is_the_same_on_every_node() {
    let data = crate::harness::TestData::new(Backend::Sqlite).await;
    let one = crate::harness::ServerProcess::spawn(&data, &[]);
    let two = crate::harness::ServerProcess::spawn(&data, &[]);
    let c = reqwest::Client::new();
    for path in [format!("/c/{DEMO_ID}"), format!("/c/{DEMO_ID}/text.txt"), "/".into(), "/static/app.js".into()] {
        let a = c.get(one.url(&path)).header("accept-encoding", "br").send().await.unwrap();
        let b = c.get(two.url(&path)).header("accept-encoding", "br").send().await.unwrap();
        assert_eq!((a.status(), b.status()), (StatusCode::OK, StatusCode::OK), "{path}");
        assert_eq!(header(&a, "etag"), header(&b, "etag"), "{path}");
        assert!(!header(&a, "etag").is_empty());
    }
}
