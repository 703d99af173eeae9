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

fn form(page: &str, app: &InProcess, id_number: &str) -> Vec<(String, String)> {
    let cid = captcha_id(page);
    let answer = app.state.captchas.peek_answer(&cid).unwrap();
    vec![
        ("csrf".into(), hidden(page, "csrf")),
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
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert!(res.headers()["set-cookie"].to_str().unwrap().contains("HttpOnly; SameSite=Strict"));
    let page = res.text().await.unwrap();
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
    assert!(page.contains("data:image/png;base64,"));
    assert!(page.contains("mailto:consultation-demo@example.org?subject=%E3%80%8A"), "mailto with the subject");
    assert!(page.contains("href=\"/privacy\""));
    // The checksum shown is that of /text.txt.
    let text = app.client.get(app.url(&format!("/c/{DEMO_ID}/text.txt"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(&yijian_domain::document::sha256_hex(&text)));
    assert!(!page.contains("style=") && !page.contains("<script>"), "no inline style or script");
    // Weight: the page with its CSS and script, the captcha image aside, under 100 KB.
    let captcha = page.find("data:image/png;base64,").map(|i| page[i..].find('"').unwrap()).unwrap_or(0);
    let css = app.client.get(app.url("/static/app.css")).send().await.unwrap().text().await.unwrap();
    let js = app.client.get(app.url("/static/app.js")).send().await.unwrap().text().await.unwrap();
    let weight = page.len() - captcha + css.len() + js.len();
    assert!(weight < 100_000, "page weight {weight} bytes");
}

#[tokio::test]
async fn form_errors_keep_entries_and_success_shows_receipt_once() {
    let app = InProcess::start(Backend::Sqlite, WebOptions::default()).await;
    let b = browser();
    let url = app.url(&format!("/c/{DEMO_ID}"));
    let page = b.get(&url).send().await.unwrap().text().await.unwrap();

    // A wrong ID number: the page comes back with a summary, the message, and the entries.
    let res = b.post(&url).form(&form(&page, &app, "110105194912310021")).send().await.unwrap();
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
    let page = b.get(&url).send().await.unwrap().text().await.unwrap();
    let mut fields = form(&page, &app, "11010519491231002X");
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
    assert!(page.contains("<audio id=\"captcha-audio\""), "a recording instead of the image");
    let mut fields = form(&page, &app, "11010519491231002X");
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
