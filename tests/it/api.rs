//! The public API over a real socket, on both backends.

use reqwest::StatusCode;
use serde_json::{Value, json};
use yijian_domain::document::{Article, Chapter, Document};
use yijian_domain::pii::IdNumber;
use yijian_domain::receipt::Receipt;
use yijian_web::WebOptions;

use crate::harness::{Backend, DEMO_ID, InProcess, good_body};
use crate::on_both_backends;

async fn app(backend: Backend) -> InProcess {
    InProcess::start(backend, WebOptions::default()).await
}

/// A captcha answered correctly: the test holds the server's state, so it can read the answer.
async fn solved_captcha(app: &InProcess) -> (String, String) {
    let c = crate::harness::get_json(&app.client, &app.url("/api/v1/captcha")).await;
    let id = c["captcha_id"].as_str().unwrap().to_string();
    assert!(c["image"].as_str().unwrap().starts_with("data:image/png;base64,"));
    assert!(c["expires_at"].as_str().unwrap().ends_with("+08:00"));
    let answer = app.state.captchas.peek_answer(&id).unwrap();
    (id, answer)
}

async fn post(app: &InProcess, body: &Value, lang: Option<&str>) -> (StatusCode, Value) {
    let mut req = app.client.post(app.url(&format!("/api/v1/consultations/{DEMO_ID}/comments"))).json(body);
    if let Some(l) = lang {
        req = req.header("Accept-Language", l);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn with_captcha(mut body: Value, (id, answer): &(String, String)) -> Value {
    body["captcha_id"] = json!(id);
    body["captcha_answer"] = json!(answer.to_uppercase());
    body
}

async fn consultation_is_served_whole_and_verifiable(backend: Backend) {
    let app = app(backend).await;
    let list = crate::harness::get_json(&app.client, &app.url("/api/v1/consultations")).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], DEMO_ID);
    assert_eq!(list[0]["status"], "open");

    let c = crate::harness::get_json(&app.client, &app.url(&format!("/api/v1/consultations/{DEMO_ID}"))).await;
    assert_eq!(c["title"], "辽宁省人力资源社会保障领域支持和保障人工智能高质量发展的若干措施（征求意见稿）");
    assert_eq!(c["demo"], true);
    assert_eq!(c["time_zone"], "Asia/Shanghai");
    assert_eq!(c["positions"].as_array().unwrap().len(), 17);
    assert_eq!(c["version"], 1);
    assert_eq!(c["chapters"].as_array().unwrap().len(), 4);
    for key in [
        "issuer",
        "notice",
        "opens_at",
        "closes_at",
        "contact",
        "email_channel",
        "preamble",
        "content_sha256",
        "signature",
    ] {
        assert!(!c[key].is_null(), "{key} missing");
    }
    // The demo is open for 30 days from now, and the notice's deadline follows.
    let closes: jiff::Timestamp = c["closes_at"].as_str().unwrap().parse().unwrap();
    // It closes at midnight ending the 30th day: the deadline names that day.
    let zoned =
        (closes - jiff::SignedDuration::from_secs(1)).to_zoned(jiff::tz::TimeZone::get("Asia/Shanghai").unwrap());
    assert_eq!((closes - jiff::SignedDuration::from_secs(1)).to_zoned(zoned.time_zone().clone()).time().hour(), 23);
    let deadline = format!("{}年{}月{}日", zoned.year(), zoned.month(), zoned.day());
    assert!(c["notice"].as_str().unwrap().contains(&deadline), "{} lacks {deadline}", c["notice"]);
    assert!(!c["notice"].as_str().unwrap().contains("{deadline}"));

    // Anyone can rebuild the canonical text from the JSON, hash it and check the signature.
    let doc = Document {
        title: c["title"].as_str().unwrap().into(),
        preamble: c["preamble"].as_str().unwrap().split('\n').map(String::from).collect(),
        chapters: c["chapters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|ch| Chapter {
                number: ch["number"].as_u64().unwrap() as u32,
                title: ch["title"].as_str().unwrap().into(),
                articles: ch["articles"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| Article {
                        number: a["number"].as_u64().unwrap() as u32,
                        title: a["title"].as_str().unwrap().into(),
                        body: a["text"].as_str().unwrap().split('\n').map(String::from).collect(),
                    })
                    .collect(),
            })
            .collect(),
    };
    assert_eq!(doc.articles().count(), 20);
    let text = doc.canonical_text();
    assert_eq!(yijian_domain::document::sha256_hex(&text), c["content_sha256"].as_str().unwrap());
    let key = crate::harness::get_json(&app.client, &app.url("/api/v1/signing-key")).await;
    assert_eq!(key["algorithm"], "Ed25519");
    use base64::Engine;
    let pk: [u8; 32] = base64::engine::general_purpose::STANDARD
        .decode(key["public_key"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    assert!(yijian_crypto::verify_with(&pk, text.as_bytes(), c["signature"].as_str().unwrap()));
    assert!(!yijian_crypto::verify_with(
        &pk,
        text.replace("辽宁", "球探").as_bytes(),
        c["signature"].as_str().unwrap()
    ));

    let en: Value = app
        .client
        .get(app.url(&format!("/api/v1/consultations/{DEMO_ID}")))
        .header("Accept-Language", "en-GB,en;q=0.9")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // The notice speaks Chinese, so its deadline does too, whatever the reader's language.
    let notice = en["notice"].as_str().unwrap();
    assert!(notice.contains(&format!("请于{deadline}前")), "{notice}");
    assert!(!notice.contains(&format!("{} ", zoned.day())), "no English date inside the Chinese notice: {notice}");

    let res = app.client.get(app.url("/api/v1/consultations/nope")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], "consultation_not_found");
}
on_both_backends!(consultation_is_served_whole_and_verifiable);

async fn a_comment_is_stored_encrypted_and_tracked(backend: Backend) {
    let app = app(backend).await;
    let captcha = solved_captcha(&app).await;
    let (status, body) = post(&app, &with_captcha(good_body(), &captcha), None).await;
    assert_eq!(status, 201, "{body}");
    let receipt_text = body["receipt"].as_str().unwrap();
    assert!(Receipt::parse(receipt_text).is_some());
    assert_eq!(receipt_text.len(), 12);
    assert!(body["submitted_at"].as_str().unwrap().ends_with("+08:00"));

    // The receipt is found in any case, with or without dashes, and tells nothing personal.
    let receipt = Receipt::parse(receipt_text).unwrap();
    for form in [receipt_text.to_string(), receipt_text.to_lowercase(), receipt_text.replace('-', "")] {
        let res = app.client.get(app.url(&format!("/api/v1/receipts/{form}"))).send().await.unwrap();
        assert_eq!(res.status(), 200, "{form}");
        let r: Value = res.json().await.unwrap();
        assert_eq!(r["receipt"], receipt_text);
        assert_eq!(r["consultation_id"], DEMO_ID);
        assert_eq!(r["status"], "received");
        // No disposition before a published report carries one.
        assert_eq!((&r["disposition"], &r["reasoning"]), (&Value::Null, &Value::Null));
        let keys: Vec<_> = r.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys.len(), 6, "{keys:?}");
    }
    for bad in ["YJ-0000-0000", "nonsense", "YJ-UUUU-UUUU"] {
        let res = app.client.get(app.url(&format!("/api/v1/receipts/{bad}"))).send().await.unwrap();
        assert_eq!(res.status(), 404, "{bad}");
        assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], "receipt_not_found");
    }

    // What was stored: normalised, encrypted personal data that decrypts to the input.
    let stored = app.store().comment(&receipt).await.unwrap().unwrap();
    assert_eq!(stored.channel.as_str(), "api");
    assert_eq!(stored.version, 1);
    assert_eq!(stored.name.as_deref(), Some("张三"));
    assert_eq!(stored.id_number.as_ref().unwrap().expose(), "11010519491231002X");
    assert_eq!(stored.phone.as_ref().unwrap().e164(), "+8613800138000");
    assert_eq!(stored.articles, vec![5]);
    assert_eq!(stored.opinion, "建议第5条增加对中小企业的支持。");
    let shown = format!("{stored:?}");
    assert!(!shown.contains("11010519491231002X") && !shown.contains("13800138000"), "{shown}");

    // A second comment by the same person (ID typed differently) is found through the keyed hash.
    let mut second = with_captcha(good_body(), &solved_captcha(&app).await);
    second["id_number"] = json!(" １１０１０５１９４９１２３１００２x ");
    second["opinion"] = json!("第二条意见");
    let (status, _) = post(&app, &second, None).await;
    assert_eq!(status, 201);
    let id = IdNumber::from_normalised("11010519491231002X".into());
    assert_eq!(app.store().receipts_by_id_number(&id).await.unwrap().len(), 2);
    assert_eq!(app.store().count_comments(DEMO_ID).await.unwrap(), 2);
}
on_both_backends!(a_comment_is_stored_encrypted_and_tracked);

/// Issue 11, item 14: libphonenumber reads `(+86)13812345678`, and so does yijian.
async fn a_country_code_in_brackets_is_accepted(backend: Backend) {
    let app = app(backend).await;
    for phone in ["(+86)13812345678", "(+86) 13812345678", "（+86）13812345678", "（+86） 138 1234 5678"] {
        let captcha = solved_captcha(&app).await;
        let mut body = good_body();
        body["phone"] = json!(phone);
        let (status, body) = post(&app, &with_captcha(body, &captcha), None).await;
        assert_eq!(status, 201, "{phone}: {body}");
        let receipt = Receipt::parse(body["receipt"].as_str().unwrap()).unwrap();
        let stored = app.store().comment(&receipt).await.unwrap().unwrap();
        assert_eq!(stored.phone.as_ref().unwrap().e164(), "+8613812345678", "{phone}");
    }
}
on_both_backends!(a_country_code_in_brackets_is_accepted);

async fn every_wrong_field_is_reported_at_once(backend: Backend) {
    let app = app(backend).await;
    let bad = json!({
        "name": "<script>",
        "id_number": "110105194912310021",
        "position": "局长",
        "phone": "4008123123",
        "email": "a@b",
        "opinion": 42,
        "articles": [99],
        "captcha_id": solved_captcha(&app).await.0,
        "captcha_answer": "wrong",
    });
    let (status, body) = post(&app, &bad, None).await;
    assert_eq!(status, 422);
    let got: Vec<(String, String)> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap().to_string(), e["code"].as_str().unwrap().to_string()))
        .collect();
    let want = [
        ("name", "name_invalid_character"),
        ("id_number", "id_number_checksum"),
        ("position", "position_unknown"),
        ("phone", "phone_service_number"),
        ("email", "email_domain"),
        ("opinion", "invalid_type"),
        ("articles", "article_unknown"),
        ("captcha_answer", "captcha_wrong"),
    ];
    let want: Vec<(String, String)> = want.iter().map(|(f, c)| (f.to_string(), c.to_string())).collect();
    assert_eq!(got, want);
    // Messages are Chinese by default …
    let first = body["errors"][0]["message"].as_str().unwrap();
    assert!(first.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{first}");

    // … English when asked, and a missing body field is `required`.
    let (status, body) = post(&app, &json!({}), Some("en-US,en;q=0.9,zh;q=0.5")).await;
    assert_eq!(status, 422);
    let errors = body["errors"].as_array().unwrap();
    let fields: Vec<&str> = errors.iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["name", "id_number", "position", "phone", "email", "opinion", "captcha_id", "captcha_answer"]);
    assert!(errors.iter().all(|e| e["code"] == "required"));
    assert!(errors.iter().all(|e| e["message"].as_str().unwrap().is_ascii()), "{errors:?}");
    assert_eq!(app.store().count_comments(DEMO_ID).await.unwrap(), 0, "nothing stored");
}
on_both_backends!(every_wrong_field_is_reported_at_once);

async fn captchas_are_single_use(backend: Backend) {
    let app = app(backend).await;
    let captcha = solved_captcha(&app).await;
    let (status, _) = post(&app, &with_captcha(good_body(), &captcha), None).await;
    assert_eq!(status, 201);
    let (status, body) = post(&app, &with_captcha(good_body(), &captcha), None).await;
    assert_eq!(status, 422);
    assert_eq!(body["errors"][0]["field"], "captcha_answer");
    assert_eq!(body["errors"][0]["code"], "captcha_expired");

    // A refused submission (bad phone) uses its captcha up as well.
    let captcha = solved_captcha(&app).await;
    let mut bad = with_captcha(good_body(), &captcha);
    bad["phone"] = json!("123");
    assert_eq!(post(&app, &bad, None).await.0, 422);
    let (status, body) = post(&app, &with_captcha(good_body(), &captcha), None).await;
    assert_eq!(status, 422);
    assert_eq!(body["errors"][0]["code"], "captcha_expired");
    assert_eq!(app.store().count_comments(DEMO_ID).await.unwrap(), 1);
}
on_both_backends!(captchas_are_single_use);

async fn malformed_requests_get_specific_errors(backend: Backend) {
    let app = app(backend).await;
    let url = app.url(&format!("/api/v1/consultations/{DEMO_ID}/comments"));
    let send = |body: Vec<u8>| app.client.post(&url).header("content-type", "application/json").body(body).send();

    let res = send(b"{\"name\": ".to_vec()).await.unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], "malformed_json");
    let res = send(b"[1,2]".to_vec()).await.unwrap();
    assert_eq!(res.status(), 400);
    let res = send(vec![0xff, 0xfe, 0x00]).await.unwrap();
    assert_eq!(res.status(), 400);

    let mut big = good_body();
    big["opinion"] = json!("意".repeat(30_000));
    let res = send(serde_json::to_vec(&big).unwrap()).await.unwrap();
    assert_eq!(res.status(), 413);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], "payload_too_large");

    // An opinion one over the limit is a field error, not a size error.
    let captcha = solved_captcha(&app).await;
    let mut long = with_captcha(good_body(), &captcha);
    long["opinion"] = json!("意".repeat(5001));
    let (status, body) = post(&app, &long, None).await;
    assert_eq!(status, 422);
    assert_eq!(body["errors"][0]["code"], "opinion_too_long");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("5000"));
    let mut exact = with_captcha(good_body(), &solved_captcha(&app).await);
    exact["opinion"] = json!("意".repeat(5000));
    assert_eq!(post(&app, &exact, None).await.0, 201);

    let res = app.client.post(app.url("/api/v1/consultations/nope/comments")).json(&good_body()).send().await.unwrap();
    assert_eq!(res.status(), 404);
    let res = app.client.get(app.url("/api/v1/nowhere")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert_eq!(app.store().count_comments(DEMO_ID).await.unwrap(), 1);
}
on_both_backends!(malformed_requests_get_specific_errors);

/// A consultation that is closed or not yet open answers 409 before looking at the fields.
async fn closed_and_upcoming_consultations_refuse_comments(backend: Backend) {
    let app = app(backend).await;
    let text = std::fs::read_to_string(crate::harness::demo_file()).unwrap();
    let closed = yijian_domain::file::parse(&text.replacen(DEMO_ID, "closed-one", 1)).unwrap();
    let now = jiff::Timestamp::now();
    app.store().import_consultation(&closed, false, now).await.unwrap();
    let mut upcoming = yijian_domain::file::parse(&text.replacen(DEMO_ID, "later-one", 1)).unwrap();
    upcoming.meta.opens_at = now + jiff::SignedDuration::from_hours(48);
    upcoming.meta.closes_at = now + jiff::SignedDuration::from_hours(96);
    app.store().import_consultation(&upcoming, false, now).await.unwrap();

    for (id, code, lang, needle) in [
        ("closed-one", "consultation_closed", "zh", "2025年5月18日"),
        ("later-one", "consultation_not_open", "zh", "尚未开始"),
        ("closed-one", "consultation_closed", "en", "18 May 2025"),
    ] {
        let res = app
            .client
            .post(app.url(&format!("/api/v1/consultations/{id}/comments")))
            .header("Accept-Language", lang)
            .header("content-type", "application/json")
            .body("not even json")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 409, "{id}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], code);
        assert!(body["error"]["message"].as_str().unwrap().contains(needle), "{body}");
        assert!(body["error"]["closes_at"].is_string() && body["error"]["opens_at"].is_string());
    }
    let list = crate::harness::get_json(&app.client, &app.url("/api/v1/consultations")).await;
    let statuses: Vec<(&str, &str)> =
        list.as_array().unwrap().iter().map(|c| (c["id"].as_str().unwrap(), c["status"].as_str().unwrap())).collect();
    assert!(statuses.contains(&("closed-one", "closed")));
    assert!(statuses.contains(&("later-one", "upcoming")));
    assert!(statuses.contains(&(DEMO_ID, "open")));
}
on_both_backends!(closed_and_upcoming_consultations_refuse_comments);

#[tokio::test]
async fn insecure_mode_accepts_no_captcha_but_still_checks_a_given_one() {
    let app = InProcess::start(Backend::Sqlite, WebOptions { insecure_no_captcha: true, ..Default::default() }).await;
    assert_eq!(post(&app, &good_body(), None).await.0, 201);
    let mut b = good_body();
    b["captcha_id"] = json!("made-up");
    b["captcha_answer"] = json!("x");
    assert_eq!(post(&app, &b, None).await.0, 422);
}

/// The served document lists exactly the routes the router serves under `/api/v1`, both ways,
/// and each of them answers: the router's table ([`yijian_web::api_endpoints`]) is the one list
/// of those routes, and the document is generated beside it (`crates/web/src/openapi.rs`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_lists_exactly_the_routes_served() {
    let app = InProcess::start(Backend::Sqlite, WebOptions::default()).await;
    app.app()
        .add_user("test", "admin1", yijian_domain::staff::Role::Admin, "admin password 1", jiff::Timestamp::now())
        .await
        .unwrap();
    let (_, token) = app.app().create_token("test", "admin1", None, jiff::Timestamp::now()).await.unwrap();
    let res = app.client.get(app.url("/api/v1/openapi.json")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    let doc: Value = res.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "yijian public API");
    let methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
    let documented: std::collections::BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|m| methods.contains(&m.as_str()))
                .map(|m| (m.clone(), path.clone()))
        })
        .collect();
    let served: std::collections::BTreeSet<(String, String)> = yijian_web::api_endpoints()
        .into_iter()
        .map(|(method, path)| (method.as_str().to_lowercase(), path.to_string()))
        .collect();
    assert_eq!(served.len(), yijian_web::api_endpoints().len(), "a route listed twice");
    assert!(served.len() >= 29, "the public and staff API routes: {served:?}");
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let not_served: Vec<_> = documented.difference(&served).collect();
    assert!(undocumented.is_empty(), "served but not documented: {undocumented:?}");
    assert!(not_served.is_empty(), "documented but not served: {not_served:?}");

    for (method, path) in &documented {
        let op = &doc["paths"][path][method];
        if path.starts_with("/api/v1/admin/") {
            assert_eq!(op["security"][0]["bearerAuth"], json!([]), "{method} {path} names its auth");
        } else {
            assert!(op.get("security").is_none(), "{method} {path} needs no auth");
        }
        // And the documented endpoint answers: anything but the router's 404 fallback or 405.
        // Admin calls go with a token and an empty body, which the handlers refuse on their own
        // terms. Mail and attachment ids are numbers.
        let numeric = path.starts_with("/api/v1/admin/mail/") || path.starts_with("/api/v1/admin/attachments/");
        let url = app.url(
            &path
                .replace("{id}", if numeric { "1" } else { DEMO_ID })
                .replace("{receipt}", "YJ-0000-0000")
                .replace("{action}", "archive")
                .replace("{campaign}", "1")
                .replace("{theme}", "1"),
        );
        assert!(!url.contains('{'), "a path parameter the test does not fill: {path}");
        let req = match method.as_str() {
            "get" => app.client.get(url),
            _ => app.client.post(url).json(&json!({})),
        };
        let res = req.bearer_auth(&token).send().await.unwrap();
        assert_ne!(res.status(), 405, "{method} {path}");
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert_ne!(body["error"]["code"], "not_found", "{method} {path}");
    }

    // The fallback still answers an unknown API path, so the probe above can tell the difference.
    let res = app.client.get(app.url("/api/v1/no-such-thing")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], "not_found");
}

/// An opinion is stored exactly as given: markup stays text, line breaks and tabs stay.
#[tokio::test]
async fn opinions_are_stored_exactly_as_given() {
    let app = InProcess::start(Backend::Sqlite, WebOptions { insecure_no_captcha: true, ..Default::default() }).await;
    let opinion = "<script>alert(1)</script>\r\n\t第二行 **不是Markdown** &amp; 😀\u{200d}";
    let mut body = good_body();
    body["opinion"] = json!(opinion);
    body["email"] = json!("Zhang.San@例子.中国");
    let (status, res) = post(&app, &body, None).await;
    assert_eq!(status, 201, "{res}");
    let receipt = Receipt::parse(res["receipt"].as_str().unwrap()).unwrap();
    let stored = app.store().comment(&receipt).await.unwrap().unwrap();
    assert_eq!(stored.opinion, opinion);
    assert_eq!(stored.email.as_deref(), Some("Zhang.San@例子.中国"));

    for (bad, code) in
        [("a\u{0}b", "opinion_control_character"), ("a\u{1b}[31m", "opinion_control_character"), ("   \n ", "required")]
    {
        let mut body = good_body();
        body["opinion"] = json!(bad);
        let (status, res) = post(&app, &body, None).await;
        assert_eq!(status, 422);
        assert_eq!(res["errors"][0]["code"], code, "{bad:?}");
    }
}

/// Too many submissions from one address: 429 with Retry-After, on the API and on the page,
/// and the page keeps what was typed.
#[tokio::test]
async fn submissions_are_rate_limited_per_address() {
    let options = WebOptions {
        insecure_no_captcha: true,
        rate_limit: Some(yijian_web::limits::RateLimit { per_minute: 1, burst: 2 }),
        trusted_proxies: vec![],
        ..Default::default()
    };
    let app = InProcess::start(Backend::Sqlite, options).await;
    assert_eq!(post(&app, &good_body(), None).await.0, 201);
    assert_eq!(post(&app, &good_body(), None).await.0, 201);
    let res = app
        .client
        .post(app.url(&format!("/api/v1/consultations/{DEMO_ID}/comments")))
        .header("x-forwarded-for", "203.0.113.50")
        .json(&good_body())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429, "an untrusted X-Forwarded-For changes nothing");
    let wait: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], "rate_limited");

    let b = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let url = app.url(&format!("/c/{DEMO_ID}"));
    b.get(&url).send().await.unwrap().text().await.unwrap();
    let (csrf, _) = crate::pages::form_token(&b, &app, "").await;
    let res =
        b.post(&url).form(&[("csrf", csrf.as_str()), ("name", "王五"), ("opinion", "意见")]).send().await.unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    let page = res.text().await.unwrap();
    assert!(page.contains("提交过于频繁") && page.contains("value=\"王五\""), "friendly, and nothing lost");
    assert_eq!(app.store().count_comments(DEMO_ID).await.unwrap(), 2);
}
