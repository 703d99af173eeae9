//! Issue 13's signals and "not written by me", end to end on both backends: the signal pass
//! finds what the rules say, the queue filters by it, the comment JSON and exports carry it;
//! the client network is kept only as a keyed hash and only for the retention; a dispute is
//! answered alike whether or not comments exist, sealed at rest, keeps the comments it names
//! out of the report's counts until staff decide, and is audited at every step.

use std::collections::BTreeSet;

use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use serde_json::{Value, json};
use yijian_app::signals::SignalSettings;
use yijian_domain::comment::{Channel, NewComment};
use yijian_domain::signals::SignalRules;
use yijian_domain::staff::{AuditReason, Role};
use yijian_store::SessionUser;
use yijian_web::WebOptions;

use crate::harness::{Backend, DEMO_ID, InProcess};
use crate::on_both_backends;
use crate::review::{staff, submit};

/// A valid ID number with this region and birth date (14 digits) and sequence code.
fn id_number(prefix: &str, sequence: u16) -> String {
    let body = format!("{prefix}{sequence:03}");
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body.bytes().zip(WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{body}{check}")
}

async fn get(app: &InProcess, token: &str, path: &str) -> (StatusCode, Value) {
    let res = app.client.get(app.url(path)).bearer_auth(token).send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// The receipts the queue gives for a filter, as a set.
async fn filtered(app: &InProcess, token: &str, query: &str) -> BTreeSet<String> {
    let (status, v) = get(app, token, &format!("/api/v1/admin/consultations/{DEMO_ID}/comments?{query}")).await;
    assert_eq!(status, StatusCode::OK, "{query}: {v}");
    v["items"].as_array().unwrap().iter().map(|i| i["receipt"].as_str().unwrap().to_string()).collect()
}

fn set(items: &[&String]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// A letter typed in by staff: no client address.
fn letter(id: Option<&str>) -> NewComment {
    NewComment {
        consultation_id: DEMO_ID.into(),
        version: 1,
        channel: Channel::Manual,
        name: Some("王五".into()),
        id_number: id.map(|i| yijian_domain::validate::id_number(i, jiff::civil::date(2025, 1, 1)).unwrap()),
        position: None,
        phone: None,
        email: None,
        opinion: "来信意见".into(),
        articles: vec![],
        sender: Some("rev1".into()),
        note: None,
    }
}

async fn signals_found_filtered_and_exported(backend: Backend) {
    let app = InProcess::start(backend, WebOptions { insecure_no_captcha: true, ..Default::default() }).await;
    let t = staff(&app).await;
    let reused = id_number("11010519800101", 500);
    let a = submit(&app, json!({"id_number": reused, "name": "张三"})).await;
    let b = submit(&app, json!({"id_number": reused, "name": "李四"})).await;
    let c = submit(&app, json!({"id_number": reused, "name": " 张三 "})).await;
    let throwaway =
        submit(&app, json!({"id_number": id_number("11010519800101", 900), "email": "x@mailinator.com"})).await;
    let run: Vec<String> = {
        let mut v = vec![];
        for seq in [11, 12, 14] {
            v.push(submit(&app, json!({"id_number": id_number("32010219900505", seq)})).await);
        }
        v
    };
    // Same region and birth date, but far apart: no run.
    let apart = submit(&app, json!({"id_number": id_number("32010219900505", 300)})).await;
    let (letter_receipt, _) = app.store().submit_comment(&letter(None), Timestamp::now()).await.unwrap();
    let letter_receipt = letter_receipt.to_string();
    // Every API comment came from 127.0.0.1: eight from one /24 within minutes.
    let api: Vec<&String> = [&a, &b, &c, &throwaway, &run[0], &run[1], &run[2], &apart].into();
    let settings = SignalSettings {
        rules: SignalRules { burst_min_comments: api.len(), burst_window_seconds: 600, ..SignalRules::default() },
        ..SignalSettings::default()
    };
    let outcome = yijian_app::signals::run_pass(app.store(), &settings, Timestamp::now()).await.unwrap();
    assert_eq!(outcome.comments, 9);

    let by = |q: &'static str| filtered(&app, &t.reviewer, q);
    assert_eq!(by("signal=id_reused").await, set(&[&a, &b, &c]));
    assert_eq!(by("signal=id_names_differ").await, set(&[&a, &b, &c]));
    assert_eq!(by("signal=disposable_email").await, set(&[&throwaway]));
    assert_eq!(by("signal=id_generated_run").await, set(&[&run[0], &run[1], &run[2]]));
    assert_eq!(by("signal=address_burst").await, set(&api));
    assert!(by("signal=disputed").await.is_empty());
    // With other filters: the signal narrows them.
    assert_eq!(by("signal=address_burst&channel=manual").await, BTreeSet::new());
    assert_eq!(by("signal=id_reused&status=received&article=5").await, set(&[&a, &b, &c]));
    assert_eq!(by("signal=id_generated_run&signal=id_generated_run&tag=none").await, BTreeSet::new());
    assert_eq!(filtered(&app, &t.reviewer, "").await.len(), 9);
    let (status, _) =
        get(&app, &t.reviewer, &format!("/api/v1/admin/consultations/{DEMO_ID}/comments?signal=bogus")).await;
    assert!(status.is_client_error(), "an unknown signal is refused, not ignored: {status}");

    // The comment JSON shows them; the letter has none.
    let (_, v) = get(&app, &t.reviewer, &format!("/api/v1/admin/comments/{a}")).await;
    assert_eq!(v["signals"], json!(["id_reused", "id_names_differ", "address_burst"]), "{v}");
    assert_eq!(v["dispute"], Value::Null);
    let (_, v) = get(&app, &t.reviewer, &format!("/api/v1/admin/comments/{letter_receipt}")).await;
    assert_eq!(v["signals"], json!([]));

    // A second pass finds nothing new and changes nothing.
    let again = yijian_app::signals::run_pass(app.store(), &settings, Timestamp::now()).await.unwrap();
    assert_eq!(again.comments, 0);
    assert_eq!(by("signal=id_reused").await.len(), 3);

    // Exports carry them: JSONL as a list under `signals`, CSV as a column.
    let live = app.app().consultation(DEMO_ID).await.unwrap().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let export = |format: yijian_formats::Format, name: &'static str| {
        let (store, live, path) = (app.store().clone(), live.clone(), dir.path().join(name));
        async move {
            let req = yijian_app::export::ExportRequest {
                format,
                include_personal_data: false,
                reason: None,
                actor: "tester".into(),
            };
            yijian_app::export::export_consultation(&store, &live, &path, &req, Timestamp::now(), |_| {})
                .await
                .unwrap();
            std::fs::read_to_string(path).unwrap()
        }
    };
    let jsonl = export(yijian_formats::Format::Jsonl, "c.jsonl").await;
    let rows: Vec<Value> = jsonl.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 9);
    let row = |r: &str| rows.iter().find(|x| x["receipt"] == r).unwrap_or_else(|| panic!("{r} exported")).clone();
    assert_eq!(row(&throwaway)["signals"], json!(["address_burst", "disposable_email"]));
    assert_eq!(row(&run[1])["signals"], json!(["address_burst", "id_generated_run"]));
    assert_eq!(row(&letter_receipt)["signals"], json!([]));
    let csv = export(yijian_formats::Format::Csv, "c.csv").await;
    let header = csv.lines().next().unwrap();
    assert!(header.contains("信号"), "{header}");
    assert!(csv.contains("address_burst；disposable_email"), "the list in one cell");
}
on_both_backends!(signals_found_filtered_and_exported);

async fn client_network_kept_as_keyed_hash_for_the_retention(backend: Backend) {
    let app = InProcess::start(backend, WebOptions { insecure_no_captcha: true, ..Default::default() }).await;
    let web = submit(&app, json!({})).await;
    let r = yijian_domain::receipt::Receipt::parse(&web).unwrap();
    let kept = app.store().client_network_kept(&r).await.unwrap().expect("the network's hash is kept");
    // The keyed hash of the /24, under a key derived from the master key: not the address.
    assert_eq!(kept, app.app().mac("client_net", "127.0.0.0/24").to_vec());
    assert_eq!(kept.len(), 32);
    assert!(!kept.windows(3).any(|w| w == b"127"), "nothing of the address in clear");
    let column: Option<Vec<u8>> = sqlx::query_scalar("SELECT client_net_index FROM comments WHERE receipt = $1")
        .bind(r.compact())
        .fetch_one(app.store().pool())
        .await
        .unwrap();
    assert_eq!(column.as_deref(), Some(&kept[..]));
    // A letter has no address.
    let (letter_receipt, _) = app.store().submit_comment(&letter(None), Timestamp::now()).await.unwrap();
    assert_eq!(app.store().client_network_kept(&letter_receipt).await.unwrap(), None);

    let settings = SignalSettings::default();
    assert_eq!(settings.address_retention, SignedDuration::from_hours(24 * 30));
    // Within the retention it stays …
    let tomorrow = Timestamp::now() + SignedDuration::from_hours(24);
    let o = yijian_app::signals::run_pass(app.store(), &settings, tomorrow).await.unwrap();
    assert_eq!(o.networks_cleared, 0);
    assert!(app.store().client_network_kept(&r).await.unwrap().is_some());
    // … and a pass after it clears it.
    let later = Timestamp::now() + SignedDuration::from_hours(24 * 31);
    let o = yijian_app::signals::run_pass(app.store(), &settings, later).await.unwrap();
    assert_eq!(o.networks_cleared, 1);
    assert_eq!(app.store().client_network_kept(&r).await.unwrap(), None);
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM comments WHERE client_net_index IS NOT NULL")
        .fetch_one(app.store().pool())
        .await
        .unwrap();
    assert_eq!(left, 0);
}
on_both_backends!(client_network_kept_as_keyed_hash_for_the_retention);

/// A cookie-keeping client, as a browser.
fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).build().unwrap()
}

fn hidden(page: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    let start = page.find(&needle).unwrap_or_else(|| panic!("no {name} in page")) + needle.len();
    page[start..start + page[start..].find('"').unwrap()].to_string()
}

/// Sends the dispute form as a browser does: GET it, answer its captcha, POST it.
async fn dispute(app: &InProcess, fields: &[(&str, &str)], lang: &str) -> (StatusCode, String) {
    let b = browser();
    let form = b.get(app.url(&format!("/c/{DEMO_ID}/dispute{lang}"))).send().await.unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    let page = form.text().await.unwrap();
    let captcha = hidden(&page, "captcha_id");
    let answer = app.state.captchas.peek_answer(&captcha).unwrap();
    let mut body: Vec<(&str, String)> =
        vec![("csrf", hidden(&page, "csrf")), ("captcha_id", captcha), ("captcha_answer", answer)];
    body.extend(fields.iter().map(|(k, v)| (*k, v.to_string())));
    let res = b.post(app.url(&format!("/c/{DEMO_ID}/dispute{lang}"))).form(&body).send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

/// The answer with its reference (16 hex digits after the words before it) taken out.
fn without_reference(page: &str, before: &str) -> (String, String) {
    let at = page.find(before).unwrap_or_else(|| panic!("no reference in {page}")) + before.len();
    let reference = page[at..at + 16].to_string();
    assert!(reference.bytes().all(|c| c.is_ascii_hexdigit()), "{reference}");
    (page.replace(&reference, "REFERENCE"), reference)
}

async fn dispute_flow(backend: Backend) {
    let app = InProcess::start(backend, WebOptions::default()).await;
    let t = staff(&app).await;
    let mine = id_number("11010519491231", 2);
    let stranger = id_number("44030119700101", 123);
    // Two comments under `mine` (which its holder did not write), one under another number.
    let (x, _) = app.store().submit_comment(&letter(Some(&mine)), Timestamp::now()).await.unwrap();
    let (y, _) = app.store().submit_comment(&letter(Some(&mine)), Timestamp::now()).await.unwrap();
    let (other, _) =
        app.store().submit_comment(&letter(Some(&id_number("11010519491231", 40))), Timestamp::now()).await.unwrap();
    let live = app.app().consultation(DEMO_ID).await.unwrap().unwrap();
    let counted = || async { app.app().preview_report(&live, "").await.unwrap().comments };
    assert_eq!(counted().await, 3);

    // The public page is linked from the consultation page.
    let page = app.client.get(app.url(&format!("/c/{DEMO_ID}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(&format!("href=\"/c/{DEMO_ID}/dispute\"")), "linked from the consultation page");

    // A wrong field comes back with its message, and nothing is stored.
    let (status, page) = dispute(&app, &[("id_number", "110105194912310021"), ("phone", "")], "").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("id=\"error-summary\""), "{page}");

    // The same answer whether comments exist or not: status, words, no count; only the
    // reference differs.
    let before = "编号为 ";
    let (s1, found) = dispute(&app, &[("id_number", &mine), ("phone", "13912345678")], "").await;
    let (s2, none) = dispute(&app, &[("id_number", &stranger), ("email", "a.b@example.com")], "").await;
    assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK));
    let (found, r1) = without_reference(&found, before);
    let (none, r2) = without_reference(&none, before);
    assert_ne!(r1, r2);
    assert_eq!(found, none, "the answer tells nothing of what was found");
    assert!(!found.contains(&mine) && !found.contains("13912345678"));
    // In English when asked.
    let (s3, en) = dispute(&app, &[("id_number", &stranger), ("phone", "13912345678")], "?lang=en").await;
    assert_eq!(s3, StatusCode::OK);
    assert!(en.contains("We have received your statement, reference "), "{en}");

    // Sealed at rest: nothing of the request in clear in its row.
    let rows = sqlx::query("SELECT reference, id_number_enc, phone_enc, email_enc, id_number_index FROM disputes")
        .fetch_all(app.store().pool())
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    for row in &rows {
        use sqlx::Row;
        for column in 1..=4 {
            let bytes: Option<Vec<u8>> = row.try_get(column).unwrap();
            let text = String::from_utf8_lossy(bytes.as_deref().unwrap_or_default()).into_owned();
            for secret in [&mine, &stranger, "13912345678", "a.b@example.com", "1101051949"] {
                assert!(!text.contains(secret), "column {column} holds {secret} in clear");
            }
        }
    }

    // Staff: the disputed comments have their signal and their own queue; the report leaves
    // them out until decided.
    assert_eq!(filtered(&app, &t.reviewer, "signal=disputed").await, set(&[&x.to_string(), &y.to_string()]));
    assert_eq!(counted().await, 1, "the two disputed comments are out of the counts");
    let (_, v) = get(&app, &t.reviewer, &format!("/api/v1/admin/comments/{x}")).await;
    assert_eq!(v["dispute"], "pending");
    assert!(v["signals"].as_array().unwrap().contains(&json!("disputed")));
    let (_, v) = get(&app, &t.reviewer, &format!("/api/v1/admin/comments/{other}")).await;
    assert_eq!(v["dispute"], Value::Null);

    // The requests, contacts masked.
    let (status, list) = get(&app, &t.reviewer, &format!("/api/v1/admin/consultations/{DEMO_ID}/disputes")).await;
    assert_eq!(status, StatusCode::OK);
    let list = list["disputes"].as_array().unwrap().clone();
    assert_eq!(list.len(), 3);
    let with_comments = list.iter().find(|d| d["reference"] == r1).unwrap();
    assert_eq!(with_comments["comments"].as_array().unwrap().len(), 2);
    assert_eq!(list.iter().find(|d| d["reference"] == r2).unwrap()["comments"], json!([]));
    let text = serde_json::to_string(&list).unwrap();
    for secret in [&mine, &stranger, "13912345678", "a.b@example.com"] {
        assert!(!text.contains(secret), "{secret} shown unmasked");
    }

    // Revealing a contact is for those who may reveal, with a reason, and audited first.
    let reviewer = SessionUser { name: "rev1".into(), role: Role::Reviewer };
    let admin = SessionUser { name: "admin1".into(), role: Role::Admin };
    let reason = AuditReason::parse("核实本人声明").unwrap();
    let id = with_comments["id"].as_i64().unwrap();
    assert!(matches!(
        app.app().reveal_dispute(&reviewer, DEMO_ID, id, &reason, Timestamp::now()).await,
        Err(yijian_app::Error::Forbidden)
    ));
    let shown = app.app().reveal_dispute(&admin, DEMO_ID, id, &reason, Timestamp::now()).await.unwrap();
    assert_eq!(shown.id_number.expose(), mine);
    assert_eq!(shown.phone.unwrap().stored_form(), "+8613912345678");

    // Decisions: one upheld (stays out), one rejected (counts again); each needs a reason.
    let decide = |r: String, body: Value| {
        let (client, url, token) =
            (app.client.clone(), app.url(&format!("/api/v1/admin/comments/{r}/dispute")), t.reviewer.clone());
        async move {
            let res = client.post(url).bearer_auth(token).json(&body).send().await.unwrap();
            (res.status(), res.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, _) = decide(x.to_string(), json!({"decision": "upheld", "reason": " "})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = decide(x.to_string(), json!({"decision": "maybe", "reason": "核实"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = decide(other.to_string(), json!({"decision": "upheld", "reason": "核实"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not disputed");
    let (status, v) = decide(x.to_string(), json!({"decision": "upheld", "reason": "经电话核实非本人"})).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(counted().await, 1);
    let (status, _) = decide(y.to_string(), json!({"decision": "rejected", "reason": "本人确认曾提交"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(counted().await, 2, "a rejected dispute counts again");
    let (_, v) = get(&app, &t.reviewer, &format!("/api/v1/admin/comments/{y}")).await;
    assert_eq!(v["dispute"], "rejected");

    // Every step on record: three requests, the reveal, two decisions.
    let entries = app.store().audit_entries().await.unwrap();
    let of = |action: &str| entries.iter().filter(|e| e.action == action).collect::<Vec<_>>();
    let received = of("dispute.received");
    assert_eq!(received.len(), 3);
    assert!(received.iter().all(|e| e.actor == "public" && !e.detail.contains(&mine) && !e.detail.contains(&stranger)));
    assert_eq!(of("reveal.dispute_contact").len(), 1);
    assert_eq!(of("reveal.dispute_contact")[0].subject, r1);
    let decided = of("dispute.decide");
    assert_eq!(decided.len(), 2);
    assert_eq!(decided[0].subject, x.to_string());
    assert!(decided[0].detail.contains("upheld") && decided[1].detail.contains("rejected"));
    assert_eq!(app.store().verify_audit_chain().await.unwrap(), Ok(entries.len()));
}
on_both_backends!(dispute_flow);

/// The pass reads only what new comments can change (the earlier members of a group are
/// flagged already or not at all); run after every comment it must find exactly what one pass
/// over all of them finds: a reuse reaching its threshold, names that come to differ, a run
/// that a new number completes (flagging the numbers before it) and a number seen again, a
/// burst that a fifth comment makes, and a letter without a name or an address.
async fn a_pass_after_every_comment_finds_what_one_pass_finds(backend: Backend) {
    let reused = id_number("11010519800101", 500);
    let prefix = "32010219900505";
    let steps: Vec<Value> = vec![
        json!({"id_number": reused, "name": "张三"}),
        json!({"id_number": reused, "name": "张 三"}),
        json!({"id_number": id_number(prefix, 11)}),
        json!({"id_number": id_number(prefix, 14)}),
        json!({"id_number": reused, "name": "李四"}),
        json!({"id_number": id_number(prefix, 12)}),
        json!({"id_number": id_number(prefix, 12)}),
        json!({"id_number": id_number(prefix, 300)}),
        json!({"letter": reused}),
        json!({"id_number": reused, "name": "ＺＨＡＮＧ"}),
    ];
    let settings = SignalSettings {
        rules: SignalRules { burst_min_comments: 5, burst_window_seconds: 600, ..SignalRules::default() },
        ..SignalSettings::default()
    };
    // The signals of each step's comment, passing after every step or once at the end.
    let mut runs: Vec<Vec<Vec<String>>> = vec![];
    for every_step in [true, false] {
        let app = InProcess::start(backend, WebOptions { insecure_no_captcha: true, ..Default::default() }).await;
        let mut receipts = vec![];
        for step in &steps {
            let receipt = match step.get("letter") {
                Some(id) => {
                    let mut l = letter(id.as_str());
                    l.name = None;
                    app.store().submit_comment(&l, Timestamp::now()).await.unwrap().0.to_string()
                }
                None => submit(&app, step.clone()).await,
            };
            receipts.push(receipt);
            if every_step {
                yijian_app::signals::run_pass(app.store(), &settings, Timestamp::now()).await.unwrap();
            }
        }
        yijian_app::signals::run_pass(app.store(), &settings, Timestamp::now()).await.unwrap();
        let mut found = vec![];
        for r in &receipts {
            let receipt = yijian_domain::receipt::Receipt::parse(r).unwrap();
            let c = app.store().comment(&receipt).await.unwrap().unwrap();
            let signals = app.store().comment_signals(DEMO_ID, c.id).await.unwrap();
            found.push(signals.iter().map(|s| s.as_str().to_string()).collect());
        }
        runs.push(found);
    }
    let has = |step: usize, signal: &str| runs[1][step].iter().any(|s| s == signal);
    // What one pass finds, as the rules say.
    for step in [0, 1, 4, 8, 9] {
        assert!(has(step, "id_reused") && has(step, "id_names_differ"), "step {step}: {:?}", runs[1][step]);
    }
    for step in [2, 3, 5, 6] {
        assert!(has(step, "id_generated_run"), "step {step}: {:?}", runs[1][step]);
    }
    assert!(!has(7, "id_generated_run") && !has(7, "id_reused"));
    assert!(!has(8, "address_burst"), "a letter has no address");
    assert!((0..8).chain([9]).all(|s| has(s, "address_burst")));
    assert_eq!(runs[0], runs[1], "a pass after every comment finds what one pass finds");
}
on_both_backends!(a_pass_after_every_comment_finds_what_one_pass_finds);
