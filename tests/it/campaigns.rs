//! Campaigns end to end: detection (full, from the command line, and as comments arrive), the
//! campaign list and page, the queue's campaign filters, a decision given to a whole campaign and
//! inherited by later members, the export columns, and the honest counts of the report and the
//! dashboard. On SQLite and PostgreSQL.

use reqwest::StatusCode;
use serde_json::{Value, json};
use yijian_web::WebOptions;

use crate::harness::{DEMO_ID, InProcess};
use crate::on_both_backends;
use crate::review::{staff, submit};

/// A letter sent many times, each copy lightly personalised.
const TEMPLATE_A: &str = "关于人工智能就业服务的意见：我们认为应当加快建立覆盖城乡的人工智能就业服务平台，\
为受到自动化影响的劳动者提供免费的转岗培训和职业指导。同时建议政府对参加培训的中小企业职工给予生活补贴，\
培训期间的社会保险由财政予以补助，并且每年公开培训的人数和就业的结果，接受社会监督。";

/// Another, whose copies reorder its sentences.
const TEMPLATE_B: [&str; 4] = [
    "平台企业使用算法安排劳动者工作时，应当公开派单和计酬的主要规则。",
    "劳动者对算法决定有异议的，企业应当在七日内给予人工答复并说明理由。",
    "人力资源社会保障部门应当每年对平台用工情况开展专项检查并向社会公布结果。",
    "对于因算法调整导致收入明显下降的骑手和司机，应当建立过渡期保障办法。",
];

fn copy_a(who: &str, city: &str) -> String {
    format!("尊敬的省人社厅：我是{city}的{who}。{TEMPLATE_A}此致敬礼！{who}")
}

fn copy_b(order: [usize; 4]) -> String {
    order.iter().map(|&k| TEMPLATE_B[k]).collect::<Vec<_>>().join("")
}

/// A staff API GET with a bearer token: the status and the JSON (null if none).
pub(crate) async fn get(app: &InProcess, token: &str, path: &str) -> (StatusCode, Value) {
    let res = app.client.get(app.url(path)).bearer_auth(token).send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// A staff API POST of a JSON body with a bearer token: the status and the JSON (null if none).
pub(crate) async fn post(app: &InProcess, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let res = app.client.post(app.url(path)).bearer_auth(token).json(&body).send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn campaign_of(app: &InProcess, token: &str, receipt: &str) -> Value {
    let (s, v) = get(app, token, &format!("/api/v1/admin/comments/{receipt}")).await;
    assert_eq!(s, 200, "{v}");
    v
}

async fn queue_total(app: &InProcess, token: &str, query: &str) -> u64 {
    let (s, v) = get(app, token, &format!("/api/v1/admin/consultations/{DEMO_ID}/comments?{query}")).await;
    assert_eq!(s, 200, "{query}: {v}");
    v["total"].as_u64().unwrap()
}

on_both_backends!(campaigns_found_shown_decided_and_counted);
async fn campaigns_found_shown_decided_and_counted(backend: crate::harness::Backend) {
    let app = InProcess::start(backend, WebOptions { insecure_no_captcha: true, ..Default::default() }).await;
    let t = staff(&app).await;
    let mut a = vec![];
    for (who, city) in
        [("张伟", "沈阳"), ("王芳", "大连"), ("李娜", "鞍山"), ("刘洋", "抚顺"), ("陈静", "本溪"), ("杨磊", "丹东")]
    {
        a.push(submit(&app, json!({"opinion": copy_a(who, city), "articles": [3]})).await);
    }
    let mut b = vec![];
    for order in [[0, 1, 2, 3], [1, 0, 3, 2], [3, 2, 1, 0], [2, 3, 0, 1]] {
        b.push(submit(&app, json!({"opinion": copy_b(order), "articles": []})).await);
    }
    // Short answers many people write on their own, and individual comments that quote the
    // same article of the draft: none of them a campaign.
    let mut others = vec![];
    for _ in 0..4 {
        others.push(submit(&app, json!({"opinion": "同意。", "articles": []})).await);
    }
    let c = app.app().consultation(DEMO_ID).await.unwrap().unwrap();
    let quote = c.document.articles().nth(2).unwrap().text();
    let quote: String = quote.chars().take(60).collect();
    for own in [
        "我是一名高校教师，我们学院去年有三位同事转去企业做人工智能训练师，希望培训补贴能覆盖高校教师。",
        "建议把农村地区的留守妇女纳入培训对象，她们很多人在做电商客服，很容易被智能客服替代。",
    ] {
        others.push(submit(&app, json!({"opinion": format!("关于“{quote}”这一条：{own}"), "articles": [3]})).await);
    }

    let outcome = app.app().detect_campaigns("tester", &c, jiff::Timestamp::now()).await.unwrap();
    assert_eq!((outcome.comments, outcome.campaigns, outcome.in_campaigns), (16, 2, 10), "{outcome:?}");
    let ka = campaign_of(&app, &t.reviewer, &a[0]).await["campaign"].as_i64().expect("a copy is in a campaign");
    let kb = campaign_of(&app, &t.reviewer, &b[0]).await["campaign"].as_i64().expect("a reordered copy too");
    assert_ne!(ka, kb);
    for r in &a {
        assert_eq!(campaign_of(&app, &t.reviewer, r).await["campaign"], json!(ka));
    }
    for r in &others {
        assert_eq!(campaign_of(&app, &t.reviewer, r).await["campaign"], Value::Null, "{r} is no campaign");
    }

    // The list: one row per campaign, largest first.
    let base = format!("/api/v1/admin/consultations/{DEMO_ID}/campaigns");
    let (s, list) = get(&app, &t.reviewer, &base).await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list["total"], 2);
    assert_eq!(list["short_answers"], json!([{"text": "同意。", "comments": 4}]), "grouped as what they are");
    assert_eq!(list["items"][0]["id"], json!(ka));
    assert_eq!(list["items"][0]["size"], 6);
    assert_eq!(list["items"][1]["size"], 4);
    assert!(list["items"][0]["representative"]["opening"].as_str().unwrap().contains("人工智能就业服务平台"));
    // One campaign: its text, arrivals, and what each member changed.
    let (s, one) = get(&app, &t.reviewer, &format!("{base}/{ka}?limit=4")).await;
    assert_eq!(s, 200, "{one}");
    assert!(one["representative"]["text"].as_str().unwrap().contains(TEMPLATE_A));
    let bars: u64 = one["arrivals"].as_array().unwrap().iter().map(|b| b["comments"].as_u64().unwrap()).sum();
    assert_eq!(bars, 6);
    let members = one["members"].as_array().unwrap();
    assert_eq!(members.len(), 4);
    assert!(one["next_before"].is_i64(), "a second page: {one}");
    let differs = members.iter().any(|m| m["diff"].as_array().unwrap().iter().any(|s| s.get("added").is_some()));
    assert!(differs, "a personalised copy shows what it added: {one}");
    assert_eq!(get(&app, &t.reviewer, &format!("{base}/999999")).await.0, 404);
    assert_eq!(get(&app, &t.reviewer, &format!("{base}/abc")).await.0, 404);

    // The queue's filters.
    assert_eq!(queue_total(&app, &t.reviewer, "campaign=only").await, 10);
    assert_eq!(queue_total(&app, &t.reviewer, "campaign=none").await, 6);
    assert_eq!(queue_total(&app, &t.reviewer, &format!("campaign={ka}")).await, 6);
    assert_eq!(queue_total(&app, &t.reviewer, &format!("campaign={kb}&article=3")).await, 0);
    let (s, v) = get(&app, &t.reviewer, &format!("/api/v1/admin/consultations/{DEMO_ID}/comments?campaign=x")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

    // A decision on the whole campaign, given to later members too.
    let (s, v) = post(
        &app,
        &t.reviewer,
        &format!("{base}/{ka}"),
        json!({"action": "dispose", "disposition": "partly_adopted", "reason": "培训补贴的建议已部分吸收。", "inherit": true}),
    )
    .await;
    assert_eq!((s, v["changed"].as_u64()), (StatusCode::OK, Some(6)), "{v}");
    let (s, v) = post(&app, &t.reviewer, &format!("{base}/{kb}"), json!({"action": "tag", "tag_name": "算法"})).await;
    assert_eq!((s, v["changed"].as_u64()), (StatusCode::OK, Some(4)), "{v}");
    let (s, v) =
        post(&app, &t.reviewer, &format!("{base}/{kb}"), json!({"action": "excerpt", "excerpt": "平台企业"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "an excerpt is one comment's: {v}");
    assert_eq!(queue_total(&app, &t.reviewer, "disposition=partly_adopted").await, 6);
    // A later copy joins its campaign in the background pass and inherits the decision; a
    // later copy of the other campaign, which did not ask for that, does not.
    let late_a = submit(&app, json!({"opinion": copy_a("赵敏", "营口"), "articles": [3]})).await;
    let late_b = submit(&app, json!({"opinion": copy_b([0, 2, 1, 3]), "articles": []})).await;
    assert_eq!(app.app().campaign_pass(jiff::Timestamp::now()).await.unwrap(), 2);
    let v = campaign_of(&app, &t.reviewer, &late_a).await;
    assert_eq!((v["campaign"].as_i64(), v["disposition"].as_str()), (Some(ka), Some("partly_adopted")), "{v}");
    let v = campaign_of(&app, &t.reviewer, &late_b).await;
    assert_eq!(v["campaign"].as_i64(), Some(kb), "{v}");
    assert_eq!(v["tags"], json!([]), "not inherited without asking: {v}");
    // A full re-run gives the same groups, keeps their ids and what staff decided.
    let again = app.app().detect_campaigns("tester", &c, jiff::Timestamp::now()).await.unwrap();
    assert_eq!((again.campaigns, again.in_campaigns), (2, 12));
    let (_, list) = get(&app, &t.reviewer, &base).await;
    assert_eq!(list["items"][0]["id"], json!(ka));
    assert_eq!(list["items"][0]["size"], 7);
    assert_eq!(list["items"][0]["decision"]["disposition"], "partly_adopted");
    assert_eq!(list["items"][0]["decision"]["later_members_inherit"], true);
    assert_eq!(list["items"][1]["decision"]["tags"], json!(["算法"]));

    // The report and the dashboard count both ways, and show a campaign once.
    let (s, report) = get(&app, &t.reviewer, &format!("/api/v1/admin/consultations/{DEMO_ID}/report")).await;
    assert_eq!(s, 200, "{report}");
    assert_eq!((report["comments"].as_u64(), report["in_campaigns"].as_u64()), (Some(18), Some(12)), "{report}");
    assert_eq!(report["campaign_count"], 2);
    let a3 = &report["articles"][2];
    assert_eq!((a3["comments"].as_u64(), a3["in_campaigns"].as_u64()), (Some(9), Some(7)), "{a3}");
    assert_eq!(
        a3["campaigns"],
        json!([{"campaign": ka, "comments": 7, "disposition": "partly_adopted", "reasoning": "培训补贴的建议已部分吸收。"}])
    );
    let (s, v) = post(&app, &t.admin, &format!("/api/v1/admin/consultations/{DEMO_ID}/report"), json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let html = app.client.get(app.url(&format!("/c/{DEMO_ID}/report"))).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("共 18 条意见，其中 12 条属于 2 个雷同意见组"), "the overall line on the page");
    assert!(html.contains(&format!("雷同意见组 #{ka}：7 条")), "the campaign once, with its count");
    let (_, d) = get(&app, &t.reviewer, &format!("/api/v1/admin/consultations/{DEMO_ID}/dashboard")).await;
    assert_eq!(
        (d["comments"].as_i64(), d["in_campaigns"].as_i64(), d["campaigns"].as_i64()),
        (Some(18), Some(12), Some(2))
    );
    assert_eq!(d["campaigns_by_article"], json!([{"article": 3, "in_campaigns": 7, "campaigns": 1}]));

    // Exports carry the campaign and its size.
    let dir = app.data.path().to_path_buf();
    let out = dir.join("k.jsonl");
    let o = std::process::Command::new(crate::harness::BIN)
        .args(["export", "--consultation", DEMO_ID, "--format", "jsonl", "--output"])
        .arg(&out)
        .args(app.data.args())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let lines: Vec<Value> =
        std::fs::read_to_string(&out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 18);
    let line = |r: &str| lines.iter().find(|l| l["receipt"] == r).unwrap().clone();
    assert_eq!((line(&a[0])["campaign"].as_i64(), line(&a[0])["campaign_size"].as_i64()), (Some(ka), Some(7)));
    assert_eq!(
        (line(&others[0])["campaign"].clone(), line(&others[0])["campaign_size"].clone()),
        (Value::Null, Value::Null)
    );
    let csv = dir.join("k.csv");
    let o = std::process::Command::new(crate::harness::BIN)
        .args(["export", "--consultation", DEMO_ID, "--format", "csv", "--output"])
        .arg(&csv)
        .args(app.data.args())
        .output()
        .unwrap();
    assert!(o.status.success());
    let rows = crate::review::python(&format!(
        "import csv, json\nrows = list(csv.reader(open({p:?}, encoding='utf-8-sig')))\nprint(json.dumps(rows, ensure_ascii=False))",
        p = csv.display().to_string()
    ));
    let rows: Vec<Vec<String>> = serde_json::from_str(&rows).unwrap();
    let (kc, sc) = (
        rows[0].iter().position(|h| h == "雷同意见组").unwrap(),
        rows[0].iter().position(|h| h == "组内意见数").unwrap(),
    );
    let row = rows.iter().find(|r| r[0] == b[0]).unwrap();
    assert_eq!((row[kc].as_str(), row[sc].as_str()), (kb.to_string().as_str(), "5"));

    let xlsx = dir.join("k.xlsx");
    let o = std::process::Command::new(crate::harness::BIN)
        .args(["export", "--consultation", DEMO_ID, "--format", "xlsx", "--output"])
        .arg(&xlsx)
        .args(app.data.args())
        .output()
        .unwrap();
    assert!(o.status.success());
    let x = crate::review::python(&format!(
        "import openpyxl, json\nws = openpyxl.load_workbook({p:?}).worksheets[0]\n\
         print(json.dumps([[c.value for c in r] for r in ws.iter_rows()], ensure_ascii=False))",
        p = xlsx.display().to_string()
    ));
    let rows: Vec<Vec<Value>> = serde_json::from_str(&x).unwrap();
    let (kc, sc) = (
        rows[0].iter().position(|h| h == "雷同意见组").unwrap(),
        rows[0].iter().position(|h| h == "组内意见数").unwrap(),
    );
    let row = rows.iter().find(|r| r[0] == json!(a[1])).unwrap();
    assert_eq!((row[kc].as_i64(), row[sc].as_i64()), (Some(ka), Some(7)), "numbers in the spreadsheet");
    let row = rows.iter().find(|r| r[0] == json!(others[1])).unwrap();
    assert_eq!((&row[kc], &row[sc]), (&Value::Null, &Value::Null));

    // The command line gives the same groups and says so in one JSON line.
    let last = app.command_json(&["campaigns", "detect", "--consultation", DEMO_ID]);
    assert_eq!(
        (last["comments"].as_u64(), last["campaigns"].as_u64(), last["in_campaigns"].as_u64()),
        (Some(18), Some(2), Some(12)),
        "{last}"
    );
    assert!(last["seconds"].is_f64());
    let o = std::process::Command::new(crate::harness::BIN)
        .args(["campaigns", "detect", "--consultation", "nope"])
        .args(app.data.args())
        .output()
        .unwrap();
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("no consultation"));
    let (_, list) = get(&app, &t.reviewer, &base).await;
    assert_eq!((list["items"][0]["id"].as_i64(), list["items"][1]["id"].as_i64()), (Some(ka), Some(kb)));

    // Every decision is on record.
    let log = app.store().audit_entries().await.unwrap();
    assert!(log.iter().any(|e| e.action == "campaign.decide" && e.detail.contains("partly_adopted")));
    assert!(log.iter().any(|e| e.action == "campaigns.detect"));
}

/// Inside `yijian serve`, new copies join their campaign in the background, within the minute,
/// off the intake's path: the comments are acknowledged first and placed a moment later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_places_new_copies_as_they_arrive() {
    let backend = crate::harness::Backend::Sqlite;
    if !backend.run_or_skip("campaigns::the_server_places_new_copies_as_they_arrive") {
        return;
    }
    let data = crate::harness::TestData::new(backend).await;
    let server = crate::harness::ServerProcess::try_spawn(
        &data,
        &["--insecure-no-captcha", "--insecure-no-rate-limit"],
        &[("YIJIAN_CAMPAIGN_PASS_SECONDS", "1")],
    )
    .unwrap();
    let client = reqwest::Client::new();
    let post = |opinion: String| {
        let (client, url) = (client.clone(), server.url(&format!("/api/v1/consultations/{DEMO_ID}/comments")));
        async move {
            let mut body = crate::harness::good_body();
            body["opinion"] = json!(opinion);
            let res = client.post(url).json(&body).send().await.unwrap();
            assert_eq!(res.status(), 201);
            let v: Value = res.json().await.unwrap();
            yijian_domain::receipt::Receipt::parse(v["receipt"].as_str().unwrap()).unwrap()
        }
    };
    let first = post(copy_a("张伟", "沈阳")).await;
    let second = post(copy_a("王芳", "大连")).await;
    let own = post("建议把农村地区的留守妇女纳入培训对象，她们很多人在做电商客服。".into()).await;
    let store = data.store().await;
    let campaign = yijian_testkit::eventually(std::time::Duration::from_secs(60), || async {
        let a = store.comment(&first).await.unwrap().unwrap().campaign;
        let b = store.comment(&second).await.unwrap().unwrap().campaign;
        match (a, b) {
            (Some(a), Some(b)) if a == b => Ok(a),
            other => Err(format!("not placed yet: {other:?}")),
        }
    })
    .await;
    let third = post(copy_a("李娜", "鞍山")).await;
    yijian_testkit::eventually(std::time::Duration::from_secs(60), || async {
        match store.comment(&third).await.unwrap().unwrap().campaign {
            Some(k) if k == campaign => Ok(()),
            other => Err(format!("the third copy is not in campaign {campaign}: {other:?}")),
        }
    })
    .await;
    assert_eq!(store.comment(&own).await.unwrap().unwrap().campaign, None);
    // The pass adds the third copy to the campaign's figures without counting its members
    // again: its size and span are those of its three members, and the first copy stands for it.
    let members = [&first, &second, &third];
    let mut stored = vec![];
    for r in members {
        stored.push(store.comment(r).await.unwrap().unwrap());
    }
    let k = store.campaign(DEMO_ID, campaign).await.unwrap().unwrap();
    assert_eq!(k.size, 3);
    assert_eq!(k.representative, stored[0].id);
    assert_eq!(k.first_at, stored.iter().map(|c| c.submitted_at).min().unwrap());
    assert_eq!(k.last_at, stored.iter().map(|c| c.submitted_at).max().unwrap());
    drop(server);
}

on_both_backends!(a_members_own_decision_wins_over_its_campaigns);
/// A decision given to a campaign leaves alone a member whose own decision staff gave it (issue
/// 14: a single comment's decision wins over its campaign's); a later decision on that comment
/// is its own again.
async fn a_members_own_decision_wins_over_its_campaigns(backend: crate::harness::Backend) {
    let app = InProcess::start(backend, WebOptions { insecure_no_captcha: true, ..Default::default() }).await;
    let t = staff(&app).await;
    let mut a = vec![];
    for (who, city) in [("张伟", "沈阳"), ("王芳", "大连"), ("李娜", "鞍山")] {
        a.push(submit(&app, json!({"opinion": copy_a(who, city), "articles": [3]})).await);
    }
    let (s, v) = post(
        &app,
        &t.reviewer,
        &format!("/api/v1/admin/comments/{}/review", a[0]),
        json!({"action": "dispose", "disposition": "adopted", "reason": "这一条单独采纳。"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let c = app.app().consultation(DEMO_ID).await.unwrap().unwrap();
    app.app().detect_campaigns("tester", &c, jiff::Timestamp::now()).await.unwrap();
    let k = campaign_of(&app, &t.reviewer, &a[0]).await["campaign"].as_i64().unwrap();
    let base = format!("/api/v1/admin/consultations/{DEMO_ID}/campaigns/{k}");
    let decide = json!({"action": "dispose", "disposition": "not_adopted", "reason": "不予采纳。"});
    let (s, v) = post(&app, &t.reviewer, &base, decide).await;
    assert_eq!((s, v["changed"].as_u64()), (StatusCode::OK, Some(2)), "the member's own decision stays: {v}");
    assert_eq!(campaign_of(&app, &t.reviewer, &a[0]).await["disposition"], "adopted");
    assert_eq!(campaign_of(&app, &t.reviewer, &a[1]).await["disposition"], "not_adopted");
    // A campaign's decision replaces its own earlier one.
    let again = json!({"action": "dispose", "disposition": "partly_adopted", "reason": "部分采纳。"});
    let (_, v) = post(&app, &t.reviewer, &base, again).await;
    assert_eq!(v["changed"].as_u64(), Some(2), "{v}");
    assert_eq!(campaign_of(&app, &t.reviewer, &a[2]).await["disposition"], "partly_adopted");
    assert_eq!(campaign_of(&app, &t.reviewer, &a[0]).await["disposition"], "adopted");
}

on_both_backends!(passes_after_each_batch_save_what_a_full_run_finds);
/// The background pass, run after each batch of near-copies (a template with a number, as a
/// crowd's script sends them: campaigns form and gain members as the batches arrive),
/// leaves the campaigns a full run then finds unchanged: the same members under the same ids,
/// and each campaign's size the count of its members.
async fn passes_after_each_batch_save_what_a_full_run_finds(backend: crate::harness::Backend) {
    let app = InProcess::start(backend, WebOptions { insecure_no_captcha: true, ..Default::default() }).await;
    let t = staff(&app).await;
    let mut receipts = vec![];
    for batch in 0..6 {
        for k in 0..10 {
            // Numbered as bench/intake.lua numbers them.
            let n = 1000 + batch * 37 + k * 7;
            let opinion = format!("关于第5条的意见第{n}号：建议加大对中小企业的支持力度，细化补贴标准。");
            receipts.push(submit(&app, json!({"opinion": opinion, "articles": []})).await);
        }
        app.app().campaign_pass(jiff::Timestamp::now()).await.unwrap();
    }
    async fn snapshot(app: &InProcess, token: &str, receipts: &[String]) -> (Vec<Value>, Vec<(i64, u64)>) {
        let mut of = vec![];
        for r in receipts {
            of.push(campaign_of(app, token, r).await["campaign"].clone());
        }
        let (s, list) = get(app, token, &format!("/api/v1/admin/consultations/{DEMO_ID}/campaigns?limit=100")).await;
        assert_eq!(s, 200, "{list}");
        let mut sizes: Vec<(i64, u64)> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| (k["id"].as_i64().unwrap(), k["size"].as_u64().unwrap()))
            .collect();
        sizes.sort_unstable();
        (of, sizes)
    }
    let (of, sizes) = snapshot(&app, &t.reviewer, &receipts).await;
    assert!(!sizes.is_empty(), "the copies form campaigns");
    for (k, size) in &sizes {
        assert_eq!(queue_total(&app, &t.reviewer, &format!("campaign={k}")).await, *size, "campaign {k}'s size");
    }
    let listed: u64 = sizes.iter().map(|(_, n)| n).sum();
    assert_eq!(queue_total(&app, &t.reviewer, "campaign=only").await, listed);
    let c = app.app().consultation(DEMO_ID).await.unwrap().unwrap();
    let full = app.app().detect_campaigns("tester", &c, jiff::Timestamp::now()).await.unwrap();
    assert_eq!(full.in_campaigns, listed, "{full:?}");
    let (of_after, sizes_after) = snapshot(&app, &t.reviewer, &receipts).await;
    assert_eq!(sizes_after, sizes, "a full run finds the campaigns the passes saved");
    assert_eq!(of_after, of, "each comment in the same campaign");
}

on_both_backends!(a_pass_that_merges_two_campaigns_saves_what_a_full_run_finds);
/// Two campaigns that a later comment shows to be one (numbered near-copies as two threads of
/// bench/intake.lua send them: 224 twice, 244 twice, then 2224 joins the first and 2244 is like
/// both) are merged by the background pass into one campaign holding all six, the one a full
/// run then finds, and the campaign merged away is emptied.
async fn a_pass_that_merges_two_campaigns_saves_what_a_full_run_finds(backend: crate::harness::Backend) {
    let app = InProcess::start(backend, WebOptions { insecure_no_captcha: true, ..Default::default() }).await;
    let t = staff(&app).await;
    let mut receipts = vec![];
    for batch in [&[224, 224][..], &[244, 244], &[2224], &[2244]] {
        for n in batch {
            let opinion = format!("关于第5条的意见第{n}号：建议加大对中小企业的支持力度，细化补贴标准。");
            receipts.push(submit(&app, json!({"opinion": opinion, "articles": []})).await);
        }
        app.app().campaign_pass(jiff::Timestamp::now()).await.unwrap();
        if receipts.len() == 4 {
            let (first, second) = (
                campaign_of(&app, &t.reviewer, &receipts[0]).await,
                campaign_of(&app, &t.reviewer, &receipts[2]).await,
            );
            assert!(first["campaign"].is_i64() && second["campaign"].is_i64(), "{first} {second}");
            assert_ne!(first["campaign"], second["campaign"], "two campaigns before the merge");
        }
    }
    let mut of = vec![];
    for r in &receipts {
        of.push(campaign_of(&app, &t.reviewer, r).await["campaign"].clone());
    }
    assert!(of[0].is_i64() && of.iter().all(|k| *k == of[0]), "all six in one campaign: {of:?}");
    let k = of[0].as_i64().unwrap();
    assert_eq!(queue_total(&app, &t.reviewer, &format!("campaign={k}")).await, 6);
    let (s, list) = get(&app, &t.reviewer, &format!("/api/v1/admin/consultations/{DEMO_ID}/campaigns?limit=100")).await;
    assert_eq!(s, 200, "{list}");
    let sizes: Vec<(i64, u64)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k["id"].as_i64().unwrap(), k["size"].as_u64().unwrap()))
        .collect();
    assert_eq!(sizes, vec![(k, 6)], "the campaign merged away is no longer listed");
    let c = app.app().consultation(DEMO_ID).await.unwrap().unwrap();
    let full = app.app().detect_campaigns("tester", &c, jiff::Timestamp::now()).await.unwrap();
    assert_eq!((full.campaigns, full.in_campaigns), (1, 6), "{full:?}");
    for r in &receipts {
        assert_eq!(campaign_of(&app, &t.reviewer, r).await["campaign"], of[0], "a full run keeps the merged campaign");
    }
}
