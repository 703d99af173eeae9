//! The review side end to end over HTTP: the queue with its filters and Chinese search, single
//! and bulk actions, manual entry, the adoption report (page, JSON, .docx read back by
//! python-docx), the receipt's outcome, consultation management and exports read back by
//! openpyxl. Every database test runs on SQLite and PostgreSQL.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use yijian_domain::staff::Role;
use yijian_testkit::eventually;
use yijian_web::WebOptions;

use crate::harness::{Backend, DEMO_ID, InProcess, good_body};
use crate::on_both_backends;

pub(crate) struct Staff {
    pub admin: String,
    pub reviewer: String,
}

/// An admin and a reviewer with bearer tokens.
pub(crate) async fn staff(app: &InProcess) -> Staff {
    let s = app.app();
    s.add_user("test", "admin1", Role::Admin, "admin password 1", jiff::Timestamp::now()).await.unwrap();
    s.add_user("test", "rev1", Role::Reviewer, "reviewer password 1", jiff::Timestamp::now()).await.unwrap();
    let (_, admin) = s.create_token("test", "admin1", None, jiff::Timestamp::now()).await.unwrap();
    let (_, reviewer) = s.create_token("test", "rev1", None, jiff::Timestamp::now()).await.unwrap();
    Staff { admin, reviewer }
}

pub(crate) async fn submit(app: &InProcess, overrides: Value) -> String {
    let mut body = good_body();
    for (k, v) in overrides.as_object().unwrap() {
        body[k] = v.clone();
    }
    let res = app
        .client
        .post(app.url(&format!("/api/v1/consultations/{DEMO_ID}/comments")))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json::<Value>().await.unwrap()["receipt"].as_str().unwrap().to_string()
}

async fn get(app: &InProcess, token: &str, path: &str) -> (StatusCode, Value) {
    let res = app.client.get(app.url(path)).bearer_auth(token).send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn post(app: &InProcess, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let res = app.client.post(app.url(path)).bearer_auth(token).json(&body).send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn queue_path(query: &str) -> String {
    format!("/api/v1/admin/consultations/{DEMO_ID}/comments?{query}")
}

/// Waits until the background indexer has caught up with `n` matches for `q`.
async fn await_search(app: &InProcess, token: &str, q: &str, n: u64) -> Value {
    let path = queue_path(&format!("q={}", urlencode(q)));
    eventually(Duration::from_secs(10), || async {
        let (_, v) = get(app, token, &path).await;
        if v["total"] == n { Ok(v) } else { Err(format!("{} matches for {q}, not {n}", v["total"])) }
    })
    .await
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn review(backend: Backend) {
    let app = InProcess::start(backend, WebOptions { insecure_no_captcha: true, ..Default::default() }).await;
    let t = staff(&app).await;
    let training = submit(
        &app,
        json!({"opinion": "建议加强人工智能就业培训，扩大补贴范围。", "articles": [3], "position": "教师"}),
    )
    .await;
    let graduates = submit(
        &app,
        json!({"opinion": "支持高校毕业生就业，建议增加见习岗位。", "articles": [3, 5], "position": "学生"}),
    )
    .await;
    let spam =
        submit(&app, json!({"opinion": "点击链接领取大奖 http://spam.example", "articles": [], "position": "其他"}))
            .await;

    // Filters, alone and together, and the count.
    let (s, all) = get(&app, &t.reviewer, &queue_path("")).await;
    assert_eq!(s, 200);
    assert_eq!(all["total"], 3);
    assert_eq!(all["items"][0]["receipt"], spam, "newest first");
    assert_eq!(all["items"][0]["id_number"], Value::Null, "the queue carries no ID numbers");
    assert_eq!(get(&app, &t.reviewer, &queue_path("article=3")).await.1["total"], 2);
    assert_eq!(get(&app, &t.reviewer, &queue_path("article=5&position=%E5%AD%A6%E7%94%9F")).await.1["total"], 1);
    assert_eq!(get(&app, &t.reviewer, &queue_path("channel=api&status=received")).await.1["total"], 3);
    assert_eq!(get(&app, &t.reviewer, &queue_path("channel=manual")).await.1["total"], 0);
    let today = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::get("Asia/Shanghai").unwrap()).date();
    assert_eq!(get(&app, &t.reviewer, &queue_path(&format!("from={today}&until={today}"))).await.1["total"], 3);
    assert_eq!(
        get(&app, &t.reviewer, &queue_path(&format!("until={}", today.yesterday().unwrap()))).await.1["total"],
        0
    );
    let (s, bad) = get(&app, &t.reviewer, &queue_path("status=maybe")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad["error"]["message"].as_str().unwrap().contains("status"));
    // Paging by cursor.
    let (_, p1) = get(&app, &t.reviewer, &queue_path("limit=2")).await;
    assert_eq!(p1["items"].as_array().unwrap().len(), 2);
    let cursor = p1["next_before"].as_i64().unwrap();
    let (_, p2) = get(&app, &t.reviewer, &queue_path(&format!("limit=2&before={cursor}"))).await;
    assert_eq!(p2["items"].as_array().unwrap().len(), 1);
    assert_eq!(p2["items"][0]["receipt"], training);
    assert_eq!(p2["next_before"], Value::Null);

    // Chinese full-text search, indexed in the background.
    let hits = await_search(&app, &t.reviewer, "就业", 2).await;
    assert_eq!(hits["items"][0]["receipt"], graduates);
    assert_eq!(await_search(&app, &t.reviewer, "培训", 1).await["items"][0]["receipt"], training);
    assert_eq!(
        get(&app, &t.reviewer, &queue_path("q=%E5%B0%B1%E4%B8%9A&position=%E6%95%99%E5%B8%88")).await.1["total"],
        1
    );
    assert_eq!(get(&app, &t.reviewer, &queue_path("q=%22%28AND")).await.0, 200, "hostile queries are harmless");

    // One comment: articles, tag, mark, disposition, excerpt; refused actions change nothing.
    let one = |r: &str| format!("/api/v1/admin/comments/{r}/review");
    let (s, _) =
        post(&app, &t.reviewer, &one(&spam), json!({"action": "moderate", "mark": "spam", "reason": "广告"})).await;
    assert_eq!(s, 200);
    let (s, v) = post(&app, &t.reviewer, &one(&training), json!({"action": "link", "articles": [3, 99]})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v["error"]["message"].as_str().unwrap().contains("99"));
    assert_eq!(post(&app, &t.reviewer, &one(&training), json!({"action": "link", "articles": [3, 4]})).await.0, 200);
    assert_eq!(post(&app, &t.reviewer, &one(&training), json!({"action": "tag", "tag_name": "培训"})).await.0, 200);
    assert_eq!(post(&app, &t.reviewer, &one(&training), json!({"action": "tag", "tag_name": "培训"})).await.0, 200);
    assert_eq!(post(&app, &t.reviewer, &one(&training), json!({"action": "tag", "tag_name": "<b>"})).await.0, 422);
    let (s, _) = post(&app, &t.reviewer, &one(&training), json!({"action": "dispose", "disposition": "adopted"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "a disposition needs its reasoning");
    let (s, _) = post(&app, &t.reviewer, &one(&training), json!({"action": "excerpt", "excerpt": "不是原文"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "an excerpt must come from the opinion");
    assert_eq!(
        post(&app, &t.reviewer, &one(&training), json!({"action": "excerpt", "excerpt": "加强人工智能就业培训"}))
            .await
            .0,
        200
    );
    assert_eq!(get(&app, &t.reviewer, &queue_path("article=4")).await.1["total"], 1, "the new link is indexed");
    assert_eq!(
        get(&app, &t.reviewer, &queue_path("tag=%E5%9F%B9%E8%AE%AD")).await.1["items"][0]["tags"],
        json!(["培训"])
    );
    assert_eq!(get(&app, &t.reviewer, &queue_path("moderation=spam")).await.1["total"], 1);
    assert_eq!(get(&app, &t.reviewer, &queue_path("moderation=none")).await.1["total"], 2);

    // Bulk: every unmarked comment on article 3 gets the same disposition and reasoning.
    let (s, v) = post(
        &app,
        &t.reviewer,
        &format!("/api/v1/admin/consultations/{DEMO_ID}/review"),
        json!({"filter": {"article": "3", "moderation": "none"}, "action": "dispose", "disposition": "partly_adopted", "reason": "已在第三条中增加职业技能培训的表述。"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["changed"], 2);
    assert_eq!(get(&app, &t.reviewer, &queue_path("status=disposed")).await.1["total"], 2);
    assert_eq!(get(&app, &t.reviewer, &queue_path("disposition=partly_adopted")).await.1["total"], 2);
    let audit = app.store().audit_entries().await.unwrap();
    let bulk = audit.iter().find(|e| e.action == "review.bulk").expect("bulk actions are audited");
    assert!(bulk.detail.contains("changed=2") && bulk.actor == "rev1", "{bulk:?}");
    let c = app.store().comment(&yijian_domain::receipt::Receipt::parse(&training).unwrap()).await.unwrap().unwrap();
    assert_eq!(c.reviewed_by.as_deref(), Some("rev1"));
    assert_eq!(c.opinion, "建议加强人工智能就业培训，扩大补贴范围。", "the citizen's words never change");

    // Manual entry: only the opinion is required, the rest is checked when given.
    let manual = format!("/api/v1/admin/consultations/{DEMO_ID}/comments");
    let (s, v) = post(&app, &t.reviewer, &manual, json!({"opinion": "", "phone": "12345"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = v["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["phone", "opinion"]);
    let (s, v) = post(
        &app,
        &t.reviewer,
        &manual,
        json!({"opinion": "来信：建议第7条明确补贴标准。", "articles": [7], "note": "来信，邮戳5月14日"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let letter = v["receipt"].as_str().unwrap().to_string();
    let stored = app.store().comment(&yijian_domain::receipt::Receipt::parse(&letter).unwrap()).await.unwrap().unwrap();
    assert_eq!(stored.channel, yijian_domain::comment::Channel::Manual);
    assert_eq!(stored.sender.as_deref(), Some("rev1"));
    assert_eq!(get(&app, &t.reviewer, &queue_path("channel=manual")).await.1["total"], 1);

    // The receipt tells nothing of the outcome before the report.
    let lookup = |r: String| {
        let c = app.client.clone();
        let url = app.url(&format!("/receipt?receipt={r}"));
        async move { c.get(url).send().await.unwrap().text().await.unwrap() }
    };
    assert!(!lookup(training.clone()).await.contains("部分采纳"));

    // The report: a reviewer previews but cannot publish; an admin publishes.
    let report = format!("/api/v1/admin/consultations/{DEMO_ID}/report");
    let (s, preview) = get(&app, &t.reviewer, &report).await;
    assert_eq!(s, 200);
    assert_eq!(preview["comments"], 3, "spam is left out");
    assert_eq!(preview["left_out_spam"], 1);
    assert_eq!(post(&app, &t.reviewer, &report, json!({})).await.0, StatusCode::FORBIDDEN);
    assert_eq!(app.client.get(app.url(&format!("/c/{DEMO_ID}/report"))).send().await.unwrap().status(), 404);
    let (s, v) = post(&app, &t.admin, &report, json!({"preface": "感谢社会各界提出的宝贵意见。"})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let page = app.client.get(app.url(&format!("/c/{DEMO_ID}/report"))).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    for expected in [
        "感谢社会各界提出的宝贵意见",
        "第3条",
        "部分采纳（2 条）",
        "已在第三条中增加职业技能培训的表述",
        "加强人工智能就业培训",
        "另有 1 条垃圾信息",
    ] {
        assert!(page.contains(expected), "{expected} missing from the report");
    }
    for absent in ["扩大补贴范围", "张三", "110105", "13800138000", "spam.example", "zhangsan"] {
        assert!(!page.contains(absent), "{absent} must not be in the public report");
    }
    let public: Value = app
        .client
        .get(app.url(&format!("/api/v1/consultations/{DEMO_ID}/report")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(public["report"]["articles"][2]["counts"]["partly_adopted"], 2);
    assert_eq!(public["report"]["articles"][6]["comments"], 1);
    let outcome = lookup(training.clone()).await;
    assert!(outcome.contains("部分采纳") && outcome.contains("已在第三条中增加"), "the receipt shows its outcome");
    assert!(!lookup(spam.clone()).await.contains("id=\"outcome\""));
    let consultation = app.client.get(app.url(&format!("/c/{DEMO_ID}"))).send().await.unwrap().text().await.unwrap();
    assert!(consultation.contains(&format!("href=\"/c/{DEMO_ID}/report\"")));

    // The .docx opens in a real reader with the same content.
    let docx = app.client.get(app.url(&format!("/c/{DEMO_ID}/report.docx"))).send().await.unwrap();
    assert_eq!(docx.status(), 200);
    let bytes = docx.bytes().await.unwrap();
    let path = app.data.path().join("report.docx");
    std::fs::write(&path, &bytes).unwrap();
    let text = python(&format!(
        "import docx\nd = docx.Document({path:?})\nprint('\\n'.join(p.text for p in d.paragraphs))\nprint('\\n'.join(c.text for t in d.tables for r in t.rows for c in r.cells))",
        path = path.display().to_string()
    ));
    assert!(
        text.contains("部分采纳")
            && text.contains("已在第三条中增加职业技能培训的表述")
            && text.contains("感谢社会各界"),
        "{text}"
    );
    assert!(!text.contains("张三"));
}
on_both_backends!(review);

/// Runs a Python snippet (openpyxl, python-docx) and returns what it printed.
pub(crate) fn python(code: &str) -> String {
    let out = std::process::Command::new("python3").arg("-c").arg(code).output().expect("python3 runs");
    assert!(out.status.success(), "python failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

async fn consultation_management(backend: Backend) {
    let app = InProcess::start(backend, WebOptions::default()).await;
    let t = staff(&app).await;
    let source = std::fs::read_to_string(crate::harness::demo_file())
        .unwrap()
        .replace("id = \"ln-hrss-ai-2025\"", "id = \"new-rule\"")
        .replace("opens_at = \"2025-05-12\"", "opens_at = \"2020-01-01\"")
        .replace("closes_at = \"2025-05-18\"", "closes_at = \"2099-12-31\"");
    let create = "/api/v1/admin/consultations";
    assert_eq!(post(&app, &t.reviewer, create, json!({"source": source})).await.0, StatusCode::FORBIDDEN);
    let (s, v) = post(&app, &t.admin, create, json!({"source": "+++\nid = \"x\"\n+++\n"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v["error"]["message"].as_str().unwrap().contains("行"), "the error names its line: {v}");
    let (s, v) = post(&app, &t.admin, create, json!({"source": source})).await;
    assert_eq!((s, v["state"].as_str()), (StatusCode::CREATED, Some("draft")));
    // A draft is not public.
    assert_eq!(app.client.get(app.url("/c/new-rule")).send().await.unwrap().status(), 404);
    let (_, drafts) = get(&app, &t.admin, "/api/v1/admin/drafts").await;
    assert_eq!(drafts[0]["id"], "new-rule");
    assert_eq!(post(&app, &t.admin, "/api/v1/admin/drafts/new-rule/publish", json!({})).await.0, 200);
    assert_eq!(app.client.get(app.url("/c/new-rule")).send().await.unwrap().status(), 200);
    // Saving a draft over a published id is refused.
    assert_eq!(post(&app, &t.admin, create, json!({"source": source})).await.0, StatusCode::CONFLICT);

    // Extend: recorded and shown publicly with its reason.
    let act = |a: &str| format!("/api/v1/admin/consultations/new-rule/{a}");
    assert_eq!(
        post(&app, &t.admin, &act("extend"), json!({"closes_at": "2099-01-01", "reason": "应社会各界要求延长"}))
            .await
            .0,
        422,
        "earlier"
    );
    assert_eq!(
        post(&app, &t.admin, &act("extend"), json!({"closes_at": "2100-01-31", "reason": ""})).await.0,
        422,
        "no reason"
    );
    assert_eq!(
        post(&app, &t.reviewer, &act("extend"), json!({"closes_at": "2100-01-31", "reason": "应社会各界要求延长"}))
            .await
            .0,
        403
    );
    let (s, v) =
        post(&app, &t.admin, &act("extend"), json!({"closes_at": "2100-01-31", "reason": "应社会各界要求延长"})).await;
    assert_eq!(s, 200, "{v}");
    let page = app.client.get(app.url("/c/new-rule")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("应社会各界要求延长") && page.contains("2100-02-01 00:00"), "public record of the extension");
    // A changed text is a new version; archive needs a closed consultation.
    let changed = source.replace("全力保障人工智能产业用工需求。", "全力保障人工智能产业用工需求（修订）。");
    let (s, v) = post(&app, &t.admin, &act("version"), json!({"source": changed})).await;
    assert_eq!(s, 200, "{v}");
    assert!(v["message"].as_str().unwrap().contains('2'));
    assert_eq!(post(&app, &t.admin, &act("archive"), json!({})).await.0, StatusCode::CONFLICT);
    assert_eq!(post(&app, &t.admin, &act("close"), json!({"reason": "政策已提前出台"})).await.0, 200);
    assert_eq!(post(&app, &t.admin, &act("close"), json!({"reason": "政策已提前出台"})).await.0, StatusCode::CONFLICT);
    let page = app.client.get(app.url("/c/new-rule")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("政策已提前出台") && !page.contains("id=\"comment-form\""));
    let mut body = good_body();
    body["articles"] = json!([]);
    let res = app.client.post(app.url("/api/v1/consultations/new-rule/comments")).json(&body).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT, "closed early means closed");
    assert_eq!(post(&app, &t.admin, &act("archive"), json!({})).await.0, 200);
    let index = app.client.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(!index.contains("/c/new-rule") && index.contains(&format!("/c/{DEMO_ID}")), "archived leaves the list");
    assert_eq!(app.client.get(app.url("/c/new-rule")).send().await.unwrap().status(), 200, "but stays online");
    let actions: Vec<String> = app.store().audit_entries().await.unwrap().into_iter().map(|e| e.action).collect();
    for a in [
        "consultation.draft_saved",
        "consultation.published",
        "consultation.extended",
        "consultation.imported",
        "consultation.closed_early",
        "consultation.archived",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} not audited");
    }
}
on_both_backends!(consultation_management);

/// Exports from the command line and the web, read back by openpyxl and Python's csv module.
async fn exports(backend: Backend) {
    let app = InProcess::start(backend, WebOptions { insecure_no_captcha: true, ..Default::default() }).await;
    let t = staff(&app).await;
    let long = "长".repeat(40_000);
    let formula =
        submit(&app, json!({"opinion": "=HYPERLINK(\"http://x.example\",\"点我\")", "articles": [1, 2]})).await;
    // Longer than any form allows (a mail with a Word file will be): through the store itself.
    let letter = yijian_domain::comment::NewComment {
        consultation_id: DEMO_ID.into(),
        version: 1,
        channel: yijian_domain::comment::Channel::Manual,
        name: None,
        id_number: None,
        position: None,
        phone: None,
        email: None,
        opinion: long.clone(),
        articles: vec![],
        sender: Some("rev1".into()),
        note: None,
    };
    app.store().submit_comment(&letter, jiff::Timestamp::now()).await.unwrap();
    let dir = app.data.path().to_path_buf();
    let out = |name: &str| dir.join(name).display().to_string();
    let data_args = app.data.args();
    let cli = |extra: &[&str]| {
        let o = std::process::Command::new(crate::harness::BIN)
            .args(extra)
            .args(&data_args)
            .env("USER", "operator")
            .output()
            .unwrap();
        (o.status.success(), String::from_utf8_lossy(&o.stderr).into_owned())
    };
    let (ok, err) = cli(&["export", "--consultation", DEMO_ID, "--format", "csv", "--output", &out("c.csv")]);
    assert!(ok, "{err}");
    assert!(err.contains("masked"), "{err}");
    let (ok, err) = cli(&[
        "export",
        "--consultation",
        DEMO_ID,
        "--format",
        "xlsx",
        "--output",
        &out("c.xlsx"),
        "--include-personal-data",
    ]);
    assert!(!ok && err.contains("--reason"), "personal data needs a reason: {err}");
    let (ok, err) = cli(&["export", "--consultation", "nope", "--format", "csv", "--output", &out("n.csv")]);
    assert!(!ok && err.contains("no consultation"), "{err}");
    let (ok, err) = cli(&[
        "export",
        "--consultation",
        DEMO_ID,
        "--format",
        "xlsx",
        "--output",
        &out("p.xlsx"),
        "--include-personal-data",
        "--reason",
        "信访复核需要",
    ]);
    assert!(ok, "{err}");
    let (ok, err) = cli(&["export", "--consultation", DEMO_ID, "--format", "jsonl", "--output", &out("c.jsonl")]);
    assert!(ok, "{err}");

    let csv = std::fs::read(out("c.csv")).unwrap();
    assert!(csv.starts_with(b"\xEF\xBB\xBF"), "a UTF-8 BOM for Excel and WPS");
    let csv_rows = python(&format!(
        "import csv, json\nrows = list(csv.reader(open({p:?}, encoding='utf-8-sig')))\nprint(json.dumps(rows, ensure_ascii=False))",
        p = out("c.csv")
    ));
    let rows: Vec<Vec<String>> = serde_json::from_str(&csv_rows).unwrap();
    assert_eq!(rows.len(), 3, "a header and one row per comment");
    assert_eq!(rows[0][0], "受理编号");
    let col = |name: &str| rows[0].iter().position(|h| h == name).unwrap();
    let first = rows.iter().find(|r| r[0] == formula).unwrap();
    assert_eq!(rows[2][col("意见")].chars().count(), 40_000, "CSV keeps long text whole");
    assert!(first[col("意见")].starts_with("'="), "formula neutralised: {}", first[col("意见")]);
    assert_eq!(first[col("身份证号")], "110105********002X");
    assert_eq!(first[col("联系电话")], "138****8000");
    assert_eq!(first[col("涉及条款")], "第1条；第2条");

    let xlsx = python(&format!(
        "import openpyxl, json\nwb = openpyxl.load_workbook({p:?})\nws = wb.worksheets[0]\nrows = [[c.value for c in r] for r in ws.iter_rows()]\n\
         print(json.dumps({{'sheets': wb.sheetnames, 'freeze': ws.freeze_panes, 'filter': ws.auto_filter.ref, 'rows': rows, \
         'types': [c.data_type for c in ws[2]], 'articles': [[c.value for c in r] for r in wb.worksheets[1].iter_rows()]}}, ensure_ascii=False))",
        p = out("p.xlsx")
    ));
    let x: Value = serde_json::from_str(&xlsx).unwrap();
    assert_eq!(x["sheets"], json!(["意见", "条款"]));
    assert_eq!(x["freeze"], "A2");
    assert!(x["filter"].as_str().unwrap().starts_with("A1:"));
    let rows = x["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    let header: Vec<&str> = rows[0].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    let id_col = header.iter().position(|h| *h == "身份证号").unwrap();
    assert_eq!(rows[1][id_col], "11010519491231002X", "personal data when asked for with a reason");
    assert!(x["types"].as_array().unwrap().iter().all(|t| t != "f"), "no cell is a formula");
    let articles = x["articles"].as_array().unwrap();
    assert_eq!(articles.len(), 21, "a header and the 20 articles");
    assert_eq!(articles[1][1], 1);
    let opinion_col = header.iter().position(|h| *h == "意见").unwrap();
    let cut = rows[2][opinion_col].as_str().unwrap();
    assert!(cut.chars().count() <= 32_767 && cut.contains("截断"), "cut with a visible marker in XLSX");

    let jsonl = std::fs::read_to_string(out("c.jsonl")).unwrap();
    let lines: Vec<Value> = jsonl.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["opinion"], "=HYPERLINK(\"http://x.example\",\"点我\")", "JSONL keeps data exact");
    assert_eq!(lines[0]["articles"], json!(["第1条", "第2条"]));
    assert_eq!(lines[1]["opinion"].as_str().unwrap().chars().count(), 40_000, "JSONL keeps long text whole");

    // Audited: who, what, the reason; never the numbers.
    let entries = app.store().audit_entries().await.unwrap();
    let personal = entries.iter().find(|e| e.action == "export.personal_data").expect("audited");
    assert_eq!(personal.actor, "cli:operator");
    assert!(personal.detail.contains("信访复核需要"));
    assert_eq!(entries.iter().filter(|e| e.action == "export").count(), 2);

    // The web: a reviewer gets masked files, not personal data; an admin needs a reason.
    let get_export = |token: String, q: &'static str| {
        let c = app.client.clone();
        let url = app.url(&format!("/api/v1/admin/consultations/{DEMO_ID}/export?{q}"));
        async move { c.get(url).bearer_auth(token).send().await.unwrap() }
    };
    let res = get_export(t.reviewer.clone(), "format=csv").await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-disposition"].to_str().unwrap().contains(".csv"));
    let body = res.text().await.unwrap();
    assert!(body.contains("110105********002X") && !body.contains("11010519491231002X"));
    assert_eq!(get_export(t.reviewer.clone(), "format=pdf").await.status(), 422);
    let path = format!("/api/v1/admin/consultations/{DEMO_ID}/export");
    let (s, _) =
        post(&app, &t.reviewer, &path, json!({"format": "csv", "include_personal_data": true, "reason": "核查"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = post(&app, &t.admin, &path, json!({"format": "csv", "include_personal_data": true})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let res = app
        .client
        .post(app.url(&path))
        .bearer_auth(&t.admin)
        .json(&json!({"format": "jsonl", "include_personal_data": true, "reason": "信访复核需要"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("11010519491231002X"));
}
on_both_backends!(exports);

/// The XSS corpus submitted as opinions, notes, reasonings and excerpts comes back escaped in
/// every staff page and the public report; names with markup are refused at the door.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_text_renders_inert_in_staff_pages() {
    let app = InProcess::start(Backend::Sqlite, WebOptions { insecure_no_captcha: true, ..Default::default() }).await;
    let t = staff(&app).await;
    let mut receipts = vec![];
    for x in crate::browser::XSS_CORPUS {
        receipts.push(submit(&app, json!({"opinion": format!("意见{x}"), "articles": [2]})).await);
        let (s, _) = post(
            &app,
            &t.reviewer,
            &format!("/api/v1/admin/consultations/{DEMO_ID}/comments"),
            json!({"opinion": "来信", "note": x}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED);
        let (s, v) = post(
            &app,
            &t.reviewer,
            &format!("/api/v1/admin/consultations/{DEMO_ID}/comments"),
            json!({"opinion": "来信", "name": x}),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "a name with markup is refused: {v}");
    }
    for (r, x) in receipts.iter().zip(crate::browser::XSS_CORPUS) {
        let path = format!("/api/v1/admin/comments/{r}/review");
        assert_eq!(
            post(&app, &t.reviewer, &path, json!({"action": "dispose", "disposition": "not_adopted", "reason": x}))
                .await
                .0,
            200
        );
        assert_eq!(post(&app, &t.reviewer, &path, json!({"action": "excerpt", "excerpt": x})).await.0, 200);
    }
    assert_eq!(
        post(
            &app,
            &t.admin,
            &format!("/api/v1/admin/consultations/{DEMO_ID}/report"),
            json!({"preface": "<b>前言</b>"})
        )
        .await
        .0,
        201
    );
    let session =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = session.get(app.url("/admin/login")).send().await.unwrap().text().await.unwrap();
    let csrf = page.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let res = session
        .post(app.url("/admin/login"))
        .form(&[("csrf", csrf.as_str()), ("username", "rev1"), ("password", "reviewer password 1")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let mut pages = vec![
        format!("/admin/c/{DEMO_ID}"),
        format!("/admin/c/{DEMO_ID}?article=2"),
        format!("/admin/c/{DEMO_ID}/dashboard"),
        format!("/admin/c/{DEMO_ID}/report"),
        format!("/c/{DEMO_ID}/report"),
    ];
    pages.extend(receipts.iter().map(|r| format!("/admin/comments/{r}")));
    for p in &pages {
        let body = session.get(app.url(p)).send().await.unwrap().text().await.unwrap();
        for x in crate::browser::XSS_CORPUS.iter().filter(|x| x.contains('<')) {
            assert!(!body.contains(x), "{p} shows {x} unescaped");
        }
        assert!(!body.contains("<b>前言</b>"), "{p}");
        assert!(!body.contains("window.__xss=1</script>"), "{p}");
    }
    let report = session.get(app.url(&format!("/c/{DEMO_ID}/report"))).send().await.unwrap().text().await.unwrap();
    assert!(report.contains("&#60;script&#62;window.__xss=1&#60;/script&#62;"), "the reasoning is shown as text");
}

pub(crate) async fn login_session(app: &InProcess, name: &str, password: &str) -> (reqwest::Client, String) {
    let session =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = session.get(app.url("/admin/login")).send().await.unwrap().text().await.unwrap();
    let csrf = page.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let res = session
        .post(app.url("/admin/login"))
        .form(&[("csrf", csrf.as_str()), ("username", name), ("password", password)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // The token of the signed-in session (a token is bound to the session).
    let home = session.get(app.url("/admin")).send().await.unwrap().text().await.unwrap();
    let csrf = home.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    (session, csrf)
}

/// The pages' own forms: a consultation made from the form, published, extended; a letter
/// typed in; a bulk action; a web export — each with its CSRF token, each refused without.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_forms_work_and_need_their_token() {
    let app = InProcess::start(Backend::Sqlite, WebOptions { insecure_no_captcha: true, ..Default::default() }).await;
    staff(&app).await;
    let (admin, csrf) = login_session(&app, "admin1", "admin password 1").await;
    let form = |extra: &[(&'static str, &'static str)]| {
        let mut f: Vec<(&str, String)> = vec![("csrf", csrf.clone())];
        f.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        f
    };
    let new = [
        ("id", "form-made"),
        ("title", "关于测试表单的通知（征求意见稿）"),
        ("issuer", "测试厅"),
        ("opens_at", "2020-01-01"),
        ("closes_at", "2099-12-31"),
        ("positions", "教师\r\n学生"),
        ("notice", "请于{deadline}前反馈。"),
        ("contact_person", "联系人"),
        ("contact_phone", "024-0000-0000"),
        ("contact_email", "a@example.org"),
        ("mail_address", "a@example.org"),
        ("subject_phrase", "测试表单"),
        ("body", "序言。\r\n\r\n## 一、总则\r\n\r\n1. **第一条。**内容。\r\n\r\n2. **第二条。**内容。"),
    ];
    let res = admin.post(app.url("/admin/consultations")).form(&form(&new)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/admin/drafts/form-made");
    let draft = admin.get(app.url("/admin/drafts/form-made")).send().await.unwrap().text().await.unwrap();
    assert!(draft.contains("1 章，2 条"), "the draft parses: {draft}");
    let res = admin.post(app.url("/admin/consultations")).form(&[("id", "x")]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "no token, no draft");
    // Upload: multipart, the same parser.
    let upload = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .part("file", reqwest::multipart::Part::bytes(b"+++\nid = \"bad\"\n+++\n".to_vec()).file_name("bad.md"));
    let res = admin.post(app.url("/admin/consultations")).multipart(upload).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("第 "), "the error names its line");
    let res =
        admin.post(app.url("/admin/drafts/form-made")).form(&form(&[("action", "publish")])).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.client.get(app.url("/c/form-made")).send().await.unwrap().status(), 200);
    let res = admin
        .post(app.url("/admin/c/form-made/manage"))
        .form(&form(&[("action", "extend"), ("closes_at", "2100-06-30"), ("reason", "延长以便更多人参与")]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("延长以便更多人参与"));

    // A letter typed in from the form.
    let res = admin
        .post(app.url(&format!("/admin/c/{DEMO_ID}/manual")))
        .form(&form(&[("opinion", "来信建议"), ("phone", "not a phone"), ("articles", "2")]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(page.contains("来信建议") && page.contains("checked"), "entries kept");
    let res = admin
        .post(app.url(&format!("/admin/c/{DEMO_ID}/manual")))
        .form(&form(&[("opinion", "来信建议"), ("note", "来信"), ("articles", "2")]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    assert!(res.text().await.unwrap().contains("manual-receipt"));

    // Bulk from the queue page's form, then the web export.
    let res = admin
        .post(app.url(&format!("/admin/c/{DEMO_ID}/bulk")))
        .form(&form(&[("filter.channel", "manual"), ("action", "tag"), ("tag_name", "来信")]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(res.headers()["location"].to_str().unwrap().contains("done=1"));
    let res = admin
        .post(app.url(&format!("/admin/c/{DEMO_ID}/bulk")))
        .form(&[("action", "tag"), ("tag_name", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let queue = admin
        .get(app.url(&format!("/admin/c/{DEMO_ID}?tag=%E6%9D%A5%E4%BF%A1")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(queue.contains("共 1 条") && queue.contains("来信建议"));
    let res = admin
        .post(app.url(&format!("/admin/c/{DEMO_ID}/export")))
        .form(&form(&[("format", "csv")]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("来信建议"));
    let res = admin
        .post(app.url(&format!("/admin/c/{DEMO_ID}/export")))
        .form(&form(&[("format", "csv"), ("include_personal_data", "on")]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "personal data needs a reason");
}

/// `yijian search reindex` rebuilds the index from the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_reindex_from_the_command_line() {
    let data = crate::harness::TestData::new(Backend::Sqlite).await;
    let (ok, _, err) = crate::harness::run(&["consultation", "import", &crate::harness::demo_file()], Some(&data));
    assert!(ok, "{err}");
    {
        let store = data.store().await;
        let c = store.consultation(DEMO_ID).await.unwrap().unwrap();
        for text in ["建议加强人工智能就业培训", "支持高校毕业生就业"] {
            let comment = yijian_domain::comment::NewComment {
                consultation_id: DEMO_ID.into(),
                version: c.version,
                channel: yijian_domain::comment::Channel::Manual,
                name: None,
                id_number: None,
                position: None,
                phone: None,
                email: None,
                opinion: text.into(),
                articles: vec![],
                sender: Some("t".into()),
                note: None,
            };
            store.submit_comment(&comment, jiff::Timestamp::now()).await.unwrap();
        }
        store.close().await;
    }
    let (ok, _, err) = crate::harness::run(&["search", "reindex"], Some(&data));
    assert!(ok && err.contains("indexed 2 comments"), "{err}");
    let index = yijian_analysis::SearchIndex::open(&data.path().join("search")).unwrap();
    assert_eq!(index.search(DEMO_ID, "就业", 10).unwrap().total, 2);
    assert_eq!(index.search(DEMO_ID, "培训", 10).unwrap().total, 1);
}

/// Staff open a comment by its tracking number, typed any way citizens write it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_look_a_comment_up_by_its_tracking_number() {
    let app = InProcess::start(Backend::Sqlite, WebOptions { insecure_no_captcha: true, ..Default::default() }).await;
    staff(&app).await;
    let receipt = submit(&app, json!({})).await;
    let (rev, _) = login_session(&app, "rev1", "reviewer password 1").await;
    let typed = receipt.to_lowercase().replace('-', "");
    let res = rev.get(app.url(&format!("/admin/lookup?receipt={typed}"))).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], format!("/admin/comments/{receipt}"));
    let res = rev.get(app.url("/admin/lookup?receipt=YJ-1234")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("YJ-XXXX-XXXX"));
    let home = rev.get(app.url("/admin")).send().await.unwrap().text().await.unwrap();
    assert!(home.contains("action=\"/admin/lookup\""));
}
