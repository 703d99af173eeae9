//! Article suggestions end to end (issue 14): made in the background pass and in full from the
//! command line, shown on the comment and in the queue, filtered on, accepted and rejected one
//! by one and in bulk (audited, the citizen's own links untouched), kept across a re-run, and
//! exported as `suggested_articles`. On SQLite and PostgreSQL.

use reqwest::StatusCode;
use serde_json::{Value, json};
use yijian_web::WebOptions;

use crate::campaigns::{get, post};
use crate::harness::{DEMO_ID, InProcess};
use crate::on_both_backends;
use crate::review::{login_session, python, staff, submit};

async fn comment(app: &InProcess, token: &str, receipt: &str) -> Value {
    let (s, v) = get(app, token, &format!("/api/v1/admin/comments/{receipt}")).await;
    assert_eq!(s, 200, "{v}");
    v
}

async fn queue_total(app: &InProcess, token: &str, query: &str) -> u64 {
    let (s, v) = get(app, token, &format!("/api/v1/admin/consultations/{DEMO_ID}/comments?{query}")).await;
    assert_eq!(s, 200, "{query}: {v}");
    v["total"].as_u64().unwrap()
}

/// The articles of a comment's open suggestions of one kind.
fn open_of_kind(c: &Value, kind: &str) -> Vec<u64> {
    c["suggested_articles"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == kind)
        .map(|s| s["article"].as_u64().unwrap())
        .collect()
}

/// Open suggestions at or above the threshold at which they are shown.
fn shown(c: &Value) -> Vec<u64> {
    c["suggested_articles"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["confidence"].as_f64().unwrap() >= 0.5)
        .map(|s| s["article"].as_u64().unwrap())
        .collect()
}

fn export(app: &InProcess, format: &str) -> std::path::PathBuf {
    let out = app.data.path().join(format!("s.{format}"));
    let o = std::process::Command::new(crate::harness::BIN)
        .args(["export", "--consultation", DEMO_ID, "--format", format, "--output"])
        .arg(&out)
        .args(app.data.args())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

on_both_backends!(suggestions_made_filtered_confirmed_and_exported);
async fn suggestions_made_filtered_confirmed_and_exported(backend: crate::harness::Backend) {
    let app = InProcess::start(backend, WebOptions { insecure_no_captcha: true, ..Default::default() }).await;
    let t = staff(&app).await;
    let opinion = |text: &str, articles: Value| json!({"opinion": text, "articles": articles});
    let named =
        submit(&app, opinion("关于第五条，建议明确专家服务企业的补贴标准和考核办法，避免流于形式。", json!([]))).await;
    let range = submit(
        &app,
        opinion("第十三至十五条关于技能人才的规定很好，建议技工院校毕业生同等享受高校毕业生的待遇。", json!([])),
    )
    .await;
    // The citizen ticked article 3 and also names 3 and 5: only 5 is suggested.
    let linked =
        submit(&app, opinion("第三条和第五条都涉及创业和专家服务，建议统一由一个部门牵头负责。", json!([3]))).await;
    let postdoc = submit(
        &app,
        opinion("希望提高博士后的日常经费资助标准，出站后留在本省企业工作的博士后给予安家补贴。", json!([])),
    )
    .await;
    let general = submit(&app, opinion("总体支持这份文件，希望尽快出台并抓好落实。", json!([]))).await;
    let law = submit(
        &app,
        opinion("根据《劳动法》第五条的规定，用人单位应当保障劳动者的合法权益，请在执行中予以注意。", json!([])),
    )
    .await;

    // The background pass looks at each comment once.
    assert_eq!(app.app().suggestion_pass().await.unwrap(), 6);
    assert_eq!(app.app().suggestion_pass().await.unwrap(), 0, "nothing new");
    let c = comment(&app, &t.reviewer, &named).await;
    assert_eq!(c["suggested_articles"][0], json!({"article": 5, "confidence": 1.0, "kind": "explicit"}), "{c}");
    assert_eq!(c["articles"], json!([]), "a suggestion is no link");
    assert_eq!(open_of_kind(&comment(&app, &t.reviewer, &range).await, "explicit"), [13, 14, 15]);
    let c = comment(&app, &t.reviewer, &linked).await;
    assert_eq!(open_of_kind(&c, "explicit"), [5], "the citizen's own link is not suggested again: {c}");
    assert!(!shown(&c).contains(&3));
    let c = comment(&app, &t.reviewer, &postdoc).await;
    let best = c["suggested_articles"]
        .as_array()
        .unwrap()
        .iter()
        .max_by(|a, b| a["confidence"].as_f64().partial_cmp(&b["confidence"].as_f64()).unwrap())
        .unwrap_or_else(|| panic!("博士后 speaks to the article on post-doctoral researchers: {c}"));
    assert_eq!((best["article"].as_u64(), best["kind"].as_str()), (Some(7), Some("similar")), "{c}");
    assert!(shown(&comment(&app, &t.reviewer, &general).await).is_empty(), "the draft as a whole: none");
    assert!(
        open_of_kind(&comment(&app, &t.reviewer, &law).await, "explicit").is_empty(),
        "another law's article 5 is not this draft's"
    );

    // The queue's filter, alone and with others; bad values are refused, not ignored.
    assert_eq!(queue_total(&app, &t.reviewer, "suggested=5").await, 2);
    assert_eq!(queue_total(&app, &t.reviewer, "suggested=14").await, 1);
    assert_eq!(queue_total(&app, &t.reviewer, "suggested=5&article=3").await, 1);
    assert_eq!(queue_total(&app, &t.reviewer, "suggested=5&confidence=1").await, 2);
    let (_, v) = get(&app, &t.reviewer, &format!("/api/v1/admin/consultations/{DEMO_ID}/comments?suggested=14")).await;
    assert_eq!(v["items"][0]["receipt"], json!(range));
    assert!(v["items"][0]["suggested_articles"].as_array().unwrap().iter().any(|s| s["article"] == 14), "{v}");
    for bad in ["suggested=x", "suggested=0", "suggested=5&confidence=2", "suggested=5&confidence=x", "confidence=0.5"]
    {
        let (s, v) = get(&app, &t.reviewer, &format!("/api/v1/admin/consultations/{DEMO_ID}/comments?{bad}")).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {v}");
    }

    // Accepted: an ordinary link beside the citizen's. Rejected: no link, no longer open.
    let review = |r: &str| format!("/api/v1/admin/comments/{r}/review");
    let (s, v) = post(&app, &t.reviewer, &review(&linked), json!({"action": "accept_suggestion", "article": 5})).await;
    assert_eq!((s, v["changed"].as_u64()), (StatusCode::OK, Some(1)), "{v}");
    let c = comment(&app, &t.reviewer, &linked).await;
    assert_eq!(c["articles"], json!([3, 5]));
    assert!(c["suggestions"].as_array().unwrap().iter().any(|s| s["article"] == 5 && s["state"] == "accepted"));
    let (s, v) = post(&app, &t.reviewer, &review(&named), json!({"action": "reject_suggestion", "article": 5})).await;
    assert_eq!((s, v["changed"].as_u64()), (StatusCode::OK, Some(1)), "{v}");
    let c = comment(&app, &t.reviewer, &named).await;
    assert_eq!((c["articles"].clone(), open_of_kind(&c, "explicit")), (json!([]), vec![]));
    assert_eq!(queue_total(&app, &t.reviewer, "suggested=5").await, 0);
    assert_eq!(queue_total(&app, &t.reviewer, "article=5").await, 1);
    // A comment without that suggestion is left alone; an article the draft lacks is refused.
    let (s, v) = post(&app, &t.reviewer, &review(&general), json!({"action": "accept_suggestion", "article": 9})).await;
    assert_eq!((s, v["changed"].as_u64()), (StatusCode::OK, Some(0)), "{v}");
    let (s, v) = post(&app, &t.reviewer, &review(&named), json!({"action": "accept_suggestion", "article": 99})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = post(&app, &t.reviewer, &review(&named), json!({"action": "accept_suggestion"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

    // In bulk: every suggestion of a filter above a confidence.
    let (s, v) = post(
        &app,
        &t.reviewer,
        &format!("/api/v1/admin/consultations/{DEMO_ID}/review"),
        json!({"filter": {"suggested": "14", "confidence": "0.9"}, "action": "accept_suggestion", "article": 14}),
    )
    .await;
    assert_eq!((s, v["changed"].as_u64()), (StatusCode::OK, Some(1)), "{v}");
    assert_eq!(comment(&app, &t.reviewer, &range).await["articles"], json!([14]));

    let log = app.store().audit_entries().await.unwrap();
    let accepted: Vec<_> = log.iter().filter(|e| e.action == "suggestion.accept").collect();
    assert_eq!(accepted.len(), 2);
    assert!(accepted.iter().any(|e| e.detail.contains("\"from\":[3]") && e.detail.contains("\"to\":[3,5]")));
    assert_eq!(log.iter().filter(|e| e.action == "suggestion.reject").count(), 1);
    assert!(log.iter().any(|e| e.action == "review.bulk" && e.detail.contains("accept suggestion 14")));

    // The command line: everything afresh, in one JSON line; staff's decisions stay.
    let last = app.command_json(&["articles", "suggest", "--consultation", DEMO_ID]);
    assert_eq!(last["comments"].as_u64(), Some(6), "{last}");
    assert!(last["suggested"].as_u64().unwrap() >= 4, "{last}");
    assert!(last["seconds"].is_f64());
    let c = comment(&app, &t.reviewer, &named).await;
    assert!(open_of_kind(&c, "explicit").is_empty(), "a rejected suggestion is not made again: {c}");
    assert!(c["suggestions"].as_array().unwrap().iter().any(|s| s["article"] == 5 && s["state"] == "rejected"));
    assert_eq!(open_of_kind(&comment(&app, &t.reviewer, &range).await, "explicit"), [13, 15]);
    let o = std::process::Command::new(crate::harness::BIN)
        .args(["articles", "suggest", "--consultation", "nope"])
        .args(app.data.args())
        .output()
        .unwrap();
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("no consultation"));

    // Exports: a list of objects in JSONL, `13 (explicit, 1.00); …` in CSV and XLSX.
    let jsonl = export(&app, "jsonl");
    let lines: Vec<Value> =
        std::fs::read_to_string(&jsonl).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let line = |r: &str| lines.iter().find(|l| l["receipt"] == r).unwrap().clone();
    let l = line(&range);
    assert_eq!(l["articles"].as_array().unwrap().len(), 1, "{l}");
    let explicit: Vec<&Value> =
        l["suggested_articles"].as_array().unwrap().iter().filter(|s| s["kind"] == "explicit").collect();
    assert_eq!(
        explicit,
        [
            &json!({"article": 13, "confidence": 1.0, "kind": "explicit"}),
            &json!({"article": 15, "confidence": 1.0, "kind": "explicit"})
        ]
    );
    assert!(line(&named)["suggested_articles"].as_array().unwrap().iter().all(|s| s["kind"] != "explicit"));
    let csv = export(&app, "csv");
    let rows = python(&format!(
        "import csv, json\nrows = list(csv.reader(open({p:?}, encoding='utf-8-sig')))\nprint(json.dumps(rows, ensure_ascii=False))",
        p = csv.display().to_string()
    ));
    let rows: Vec<Vec<String>> = serde_json::from_str(&rows).unwrap();
    let col = rows[0].iter().position(|h| h == "建议条款").unwrap();
    let row = rows.iter().find(|r| r[0] == range).unwrap();
    assert!(row[col].starts_with("13 (explicit, 1.00); 15 (explicit, 1.00)"), "{}", row[col]);
    let xlsx = export(&app, "xlsx");
    let x = python(&format!(
        "import openpyxl, json\nws = openpyxl.load_workbook({p:?}).worksheets[0]\n\
         print(json.dumps([[c.value for c in r] for r in ws.iter_rows()], ensure_ascii=False))",
        p = xlsx.display().to_string()
    ));
    let rows: Vec<Vec<Value>> = serde_json::from_str(&x).unwrap();
    let col = rows[0].iter().position(|h| h == "建议条款").unwrap();
    let row = rows.iter().find(|r| r[0] == json!(range)).unwrap();
    assert!(row[col].as_str().unwrap().starts_with("13 (explicit, 1.00); 15 (explicit, 1.00)"), "{:?}", row[col]);

    // The pages: the comment's suggestions with their buttons; the queue's filter and its bulk form.
    let (session, _) = login_session(&app, "rev1", "reviewer password 1").await;
    let page = session.get(app.url(&format!("/admin/comments/{range}?lang=zh"))).send().await.unwrap();
    let page = page.text().await.unwrap();
    assert!(page.contains("条款建议") && page.contains("id=\"suggestion-13\""), "{page}");
    assert!(page.contains("value=\"accept_suggestion\""));
    let page = session.get(app.url(&format!("/admin/c/{DEMO_ID}?suggested=13"))).send().await.unwrap();
    let page = page.text().await.unwrap();
    assert!(page.contains("id=\"bulk-suggestions\"") && page.contains(&range), "{page}");
}

/// Inside `yijian serve`, a new comment has its suggestions within seconds, without anyone
/// running a command.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_suggests_as_comments_arrive() {
    let backend = crate::harness::Backend::Sqlite;
    if !backend.run_or_skip("suggestions::the_server_suggests_as_comments_arrive") {
        return;
    }
    let data = crate::harness::TestData::new(backend).await;
    let server = crate::harness::ServerProcess::try_spawn(
        &data,
        &["--insecure-no-captcha", "--insecure-no-rate-limit"],
        &[("YIJIAN_SUGGESTION_PASS_SECONDS", "1")],
    )
    .unwrap();
    let client = reqwest::Client::new();
    let mut body = crate::harness::good_body();
    body["opinion"] = json!("第十八条提到的智能便民应用，建议增加适老化设计和语音办理功能。");
    body["articles"] = json!([]);
    let res =
        client.post(server.url(&format!("/api/v1/consultations/{DEMO_ID}/comments"))).json(&body).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let receipt = res.json::<Value>().await.unwrap()["receipt"].as_str().unwrap().to_string();
    let store = data.store().await;
    let id = store.comment(&yijian_domain::receipt::Receipt::parse(&receipt).unwrap()).await.unwrap().unwrap().id;
    yijian_testkit::eventually(std::time::Duration::from_secs(60), || async {
        match store.comment_suggestions(DEMO_ID, id).await.unwrap() {
            l if l.is_empty() => Err("no suggestion yet".to_string()),
            _ => Ok(()),
        }
    })
    .await;
    let list = store.comment_suggestions(DEMO_ID, id).await.unwrap();
    assert!(list.iter().any(|s| s.suggestion.article == 18), "{list:?}");
    drop(server);
}
