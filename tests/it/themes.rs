//! Themes end to end (issue 14): built from the command line (a campaign counted once, opposite
//! positions kept apart), named, confirmed, decided (a comment's own decision winning), split,
//! moved, merged, kept across a re-run that places only new comments, shown in the report
//! under their article, exported as `theme`, and every step audited. On SQLite and PostgreSQL.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::{Value, json};
use yijian_web::WebOptions;

use crate::campaigns::{get, post};
use crate::harness::{DEMO_ID, InProcess};
use crate::on_both_backends;
use crate::review::{python, staff, submit};

/// Raising the post-doctoral grants: one point, in different words.
const RAISE: [&str; 4] = [
    "建议提高博士后日常经费资助标准，现在的资助额度偏低，难以吸引优秀博士来辽宁做博士后研究。",
    "希望把博士后的日常经费资助再提高一些，资助标准提高了才能留住年轻科研人才。",
    "博士后资助标准应当提高，建议参照南方省份，把日常经费资助提高到每人每年十五万元。",
    "建议加大对博士后的资助力度，提高博士后日常经费资助标准，让博士后安心做科研。",
];

/// Against raising them: the opposite position on the same thing.
const AGAINST: [&str; 3] = [
    "反对继续提高博士后资助标准，目前的资助已经过高，容易造成人才之间的攀比，不合理。",
    "不同意再提高博士后的资助，资助标准过高会挤占其他人才项目的经费，不应这样做。",
    "担心博士后资助提高过多，造成与普通科研人员的收入差距过大，不赞成提高资助标准。",
];

const WHOLE: [&str; 3] = [
    "总体支持这份征求意见稿，希望尽快出台并抓好落实。",
    "我们单位认真学习了这份文件，总体赞成，希望尽快印发实施。",
    "支持出台这些措施，建议尽快发布正式文件并做好政策宣传。",
];

fn receipts(theme: &Value) -> HashSet<String> {
    theme["members"].as_array().unwrap().iter().map(|m| m["receipt"].as_str().unwrap().to_string()).collect()
}

/// Exports in `format` and reads every comment's `theme` back as JSON values by receipt: from
/// the JSONL, and from the spreadsheets through Python's csv module and openpyxl (an empty cell
/// read as null).
fn exported_themes(app: &InProcess, format: &str) -> Vec<(String, Value)> {
    let out = app.data.path().join(format!("themes.{format}"));
    let o = std::process::Command::new(crate::harness::BIN)
        .args(["export", "--consultation", DEMO_ID, "--format", format, "--output"])
        .arg(&out)
        .args(app.data.args())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let p = out.display().to_string();
    let rows = match format {
        "jsonl" => {
            let text = std::fs::read_to_string(&out).unwrap();
            return text
                .lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap())
                .map(|l| {
                    assert!(l.as_object().unwrap().contains_key("theme"), "every record has the key: {l}");
                    (l["receipt"].as_str().unwrap().to_owned(), l["theme"].clone())
                })
                .collect();
        }
        "csv" => python(&format!(
            "import csv, json\nrows = list(csv.reader(open({p:?}, encoding='utf-8-sig')))\n\
             print(json.dumps([[int(c) if c.isdigit() else (c or None) for c in r] for r in rows], ensure_ascii=False))"
        )),
        _ => python(&format!(
            "import openpyxl, json\nws = openpyxl.load_workbook({p:?}).worksheets[0]\n\
             print(json.dumps([[c.value for c in r] for r in ws.iter_rows()], ensure_ascii=False))"
        )),
    };
    let rows: Vec<Vec<Value>> = serde_json::from_str(&rows).unwrap();
    let col = rows[0].iter().position(|h| h == "主题").unwrap_or_else(|| panic!("no 主题 column: {:?}", rows[0]));
    rows[1..].iter().map(|r| (r[0].as_str().unwrap().to_owned(), r[col].clone())).collect()
}

async fn build(app: &InProcess) -> Value {
    app.command_json(&["themes", "build", "--consultation", DEMO_ID])
}

on_both_backends!(themes_built_kept_decided_and_reported);
async fn themes_built_kept_decided_and_reported(backend: crate::harness::Backend) {
    let app = InProcess::start(backend, WebOptions { insecure_no_captcha: true, ..Default::default() }).await;
    let t = staff(&app).await;
    let mut raise = vec![];
    for text in RAISE {
        raise.push(submit(&app, json!({"opinion": text, "articles": [7]})).await);
    }
    // A campaign of three copies of one of them: one text, three comments.
    let letter = "尊敬的省人社厅：建议提高博士后日常经费资助标准，资助额度偏低，难以吸引优秀博士来辽宁做博士后研究。";
    let mut copies = vec![];
    for who in ["张伟", "王芳", "李娜"] {
        copies.push(submit(&app, json!({"opinion": format!("{letter}此致敬礼！{who}"), "articles": [7]})).await);
    }
    let mut against = vec![];
    for text in AGAINST {
        against.push(submit(&app, json!({"opinion": text, "articles": [7]})).await);
    }
    let mut whole = vec![];
    for text in WHOLE {
        whole.push(submit(&app, json!({"opinion": text, "articles": []})).await);
    }
    let c = app.app().consultation(DEMO_ID).await.unwrap().unwrap();
    app.app().detect_campaigns("tester", &c, jiff::Timestamp::now()).await.unwrap();

    // Before any build, every export says so: a null theme (an empty cell).
    for format in ["jsonl", "csv", "xlsx"] {
        let themes = exported_themes(&app, format);
        assert_eq!(themes.len(), 13, "{format}");
        assert!(themes.iter().all(|(_, t)| t.is_null()), "{format}: {themes:?}");
    }

    let out = build(&app).await;
    assert_eq!(out["comments"].as_u64(), Some(13), "{out}");
    assert!(out["themes"].as_u64().unwrap() >= 3, "{out}");
    assert!(out["seconds"].is_f64());

    let base = format!("/api/v1/admin/consultations/{DEMO_ID}/themes");
    let (s, list) = get(&app, &t.reviewer, &base).await;
    assert_eq!(s, 200, "{list}");
    let items = list["items"].as_array().unwrap().clone();
    let mut of_seven = vec![];
    for th in &items {
        let (s, one) = get(&app, &t.reviewer, &format!("{base}/{}", th["id"])).await;
        assert_eq!(s, 200, "{one}");
        let members = receipts(&one);
        let for_side = members.iter().any(|r| raise.contains(r) || copies.contains(r));
        let against_side = members.iter().any(|r| against.contains(r));
        assert!(!(for_side && against_side), "a theme mixes for and against: {one}");
        if th["article"] == 7 {
            of_seven.push(one);
        } else {
            assert_eq!(th["article"], Value::Null, "{th}");
            assert!(members.iter().all(|r| whole.contains(r)), "the draft as a whole: {one}");
        }
    }
    // The campaign's copies are one text in one theme, with the comments they make.
    let holder = of_seven.iter().find(|t| receipts(t).contains(&copies[0])).expect("the campaign is in a theme");
    assert!(copies.iter().all(|r| receipts(holder).contains(r)), "{holder}");
    assert!(holder["distinct_texts"].as_u64().unwrap() + 2 <= holder["comments"].as_u64().unwrap(), "{holder}");
    let k = holder["id"].as_i64().unwrap();
    let theme = format!("{base}/{k}");

    // Named, confirmed and decided; a member's own decision wins over the theme's.
    let own = receipts(holder).into_iter().find(|r| raise.contains(r)).unwrap_or_else(|| copies[0].clone());
    let (s, v) = post(
        &app,
        &t.reviewer,
        &format!("/api/v1/admin/comments/{own}/review"),
        json!({"action": "dispose", "disposition": "not_adopted", "reason": "单独答复。"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = post(&app, &t.reviewer, &theme, json!({"action": "rename", "label": "提高博士后资助"})).await;
    assert_eq!((s, v["changed"].as_u64()), (StatusCode::OK, Some(1)), "{v}");
    let (s, v) = post(&app, &t.reviewer, &theme, json!({"action": "confirm"})).await;
    assert_eq!((s, v["changed"].as_u64()), (StatusCode::OK, Some(1)), "{v}");
    let size = holder["comments"].as_u64().unwrap();
    let (s, v) = post(
        &app,
        &t.reviewer,
        &theme,
        json!({"action": "dispose", "disposition": "partly_adopted", "reason": "资助标准将在实施细则中研究提高。"}),
    )
    .await;
    assert_eq!((s, v["changed"].as_u64()), (StatusCode::OK, Some(size - 1)), "{v}");
    let (_, one) = get(&app, &t.reviewer, &format!("/api/v1/admin/comments/{own}")).await;
    assert_eq!(one["disposition"], "not_adopted", "the comment's own decision stays");
    let (_, one) = get(&app, &t.reviewer, &format!("/api/v1/admin/comments/{}", copies[1])).await;
    assert_eq!(one["disposition"], "partly_adopted");

    // Refused: a bad name, an unknown theme, an unknown action, a theme of another article.
    let (s, v) = post(&app, &t.reviewer, &theme, json!({"action": "rename", "label": " "})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, _) = post(&app, &t.reviewer, &format!("{base}/999999"), json!({"action": "confirm"})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(get(&app, &t.reviewer, &format!("{base}/abc")).await.0, StatusCode::NOT_FOUND);
    let (s, v) = post(&app, &t.reviewer, &theme, json!({"action": "explode"})).await;
    assert_eq!((s, v["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("malformed_json")), "{v}");
    let other_article = items.iter().find(|th| th["article"].is_null()).unwrap()["id"].as_i64().unwrap();
    let (s, v) = post(&app, &t.reviewer, &theme, json!({"action": "merge", "into": other_article})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

    // Split one comment out, move it back, and merge the emptied theme away.
    let (s, v) =
        post(&app, &t.reviewer, &theme, json!({"action": "split", "receipts": [own.clone()], "label": "单独一点"}))
            .await;
    assert_eq!((s, v["changed"].as_u64()), (StatusCode::OK, Some(1)), "{v}");
    let split = v["theme"].as_i64().unwrap();
    assert_ne!(split, k);
    let (_, one) = get(&app, &t.reviewer, &format!("{base}/{split}")).await;
    assert_eq!(receipts(&one), HashSet::from([own.clone()]));
    let (s, v) = post(&app, &t.reviewer, &theme, json!({"action": "move", "receipts": [own.clone()]})).await;
    assert_eq!((s, v["changed"].as_u64()), (StatusCode::OK, Some(1)), "{v}");
    let (s, v) = post(&app, &t.reviewer, &format!("{base}/{split}"), json!({"action": "merge", "into": k})).await;
    assert_eq!((s, v["theme"].as_i64()), (StatusCode::OK, Some(k)), "{v}");
    let (s, v) = post(&app, &t.reviewer, &theme, json!({"action": "move", "receipts": ["YJ-0000-0000"]})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

    // A re-run keeps everything and places only the new comment, which gets the theme's decision.
    let late = submit(
        &app,
        json!({"opinion": "强烈建议提高博士后日常经费资助标准，资助标准偏低留不住博士后人才。", "articles": [7]}),
    )
    .await;
    // This time from the API, as the themes page's button does.
    let (s, again) = post(&app, &t.reviewer, &base, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(again["comments"].as_u64(), Some(14), "{again}");
    let (_, after) = get(&app, &t.reviewer, &theme).await;
    assert_eq!(after["label"], "提高博士后资助");
    assert_eq!(after["named_by_staff"], true);
    assert_eq!(after["confirmed"], true);
    let placed = receipts(&after);
    assert!(receipts(holder).iter().all(|r| placed.contains(r)), "nobody left the theme: {after}");
    assert!(placed.contains(&late), "the new comment joins the theme of its point: {after}");
    let (_, one) = get(&app, &t.reviewer, &format!("/api/v1/admin/comments/{late}")).await;
    assert_eq!(one["disposition"], "partly_adopted", "a later member gets the theme's decision");
    let (_, q) =
        get(&app, &t.reviewer, &format!("/api/v1/admin/consultations/{DEMO_ID}/comments?theme={k}&limit=100")).await;
    assert_eq!(q["total"].as_u64(), Some(placed.len() as u64), "the queue's theme filter: {q}");

    // The report: under article 7, the confirmed theme once, with its count and answer.
    let (s, report) = get(&app, &t.reviewer, &format!("/api/v1/admin/consultations/{DEMO_ID}/report")).await;
    assert_eq!(s, 200, "{report}");
    let lines = report["articles"][6]["themes"].as_array().unwrap();
    assert_eq!(lines.len(), 1, "only confirmed themes: {lines:?}");
    assert_eq!(lines[0]["label"], "提高博士后资助");
    assert_eq!(lines[0]["comments"].as_u64(), Some(placed.len() as u64));
    assert_eq!(lines[0]["disposition"], "partly_adopted");
    assert_eq!(lines[0]["reasoning"], "资助标准将在实施细则中研究提高。", "the answer given to the theme");
    let (s, v) = post(&app, &t.admin, &format!("/api/v1/admin/consultations/{DEMO_ID}/report"), json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let html = app.client.get(app.url(&format!("/c/{DEMO_ID}/report"))).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("主要意见") && html.contains("提高博士后资助："), "{html}");
    assert!(html.contains("资助标准将在实施细则中研究提高。"), "the theme's reasoning in the published report");

    // Exports carry the theme of every comment, in all three formats.
    for format in ["jsonl", "csv", "xlsx"] {
        let themes = exported_themes(&app, format);
        assert_eq!(themes.len(), 14, "{format}");
        for r in &copies {
            assert_eq!(themes.iter().find(|(x, _)| x == r).unwrap().1, json!(k), "{format}");
        }
        assert!(themes.iter().all(|(_, t)| t.is_i64()), "{format}: every comment is in a theme after a build");
    }

    let log = app.store().audit_entries().await.unwrap();
    for action in
        ["theme.rename", "theme.confirm", "theme.decide", "theme.split", "theme.move", "theme.merge", "themes.build"]
    {
        assert!(log.iter().any(|e| e.action == action), "{action} is not in the audit log");
    }

    // A campaign's decision wins over its theme's, whichever came first: the copies take the
    // campaign's answer, and a later decision on the theme leaves them with it while the
    // theme's other members follow the theme.
    let (_, one) = get(&app, &t.reviewer, &format!("/api/v1/admin/comments/{}", copies[0])).await;
    let campaign = one["campaign"].as_i64().expect("the copies are a campaign");
    let (s, v) = post(
        &app,
        &t.reviewer,
        &format!("/api/v1/admin/consultations/{DEMO_ID}/campaigns/{campaign}"),
        json!({"action": "dispose", "disposition": "adopted", "reason": "采纳。", "inherit": false}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = post(
        &app,
        &t.reviewer,
        &theme,
        json!({"action": "dispose", "disposition": "not_adopted", "reason": "经研究暂不调整。"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    for r in &copies {
        let (_, one) = get(&app, &t.reviewer, &format!("/api/v1/admin/comments/{r}")).await;
        assert_eq!(one["disposition"], "adopted", "the campaign's decision stays over the theme's: {one}");
    }
    let (_, one) = get(&app, &t.reviewer, &format!("/api/v1/admin/comments/{late}")).await;
    assert_eq!(one["disposition"], "not_adopted", "a member outside the campaign follows the theme");

    // The pages.
    let (session, _) = crate::review::login_session(&app, "rev1", "reviewer password 1").await;
    let page = session.get(app.url(&format!("/admin/c/{DEMO_ID}/themes?lang=zh"))).send().await.unwrap();
    let page = page.text().await.unwrap();
    assert!(
        page.contains("提高博士后资助") && page.contains("整体意见") && page.contains("id=\"themes-build\""),
        "{page}"
    );
    let page = session.get(app.url(&format!("/admin/c/{DEMO_ID}/themes/{k}?lang=zh"))).send().await.unwrap();
    let page = page.text().await.unwrap();
    assert!(page.contains("id=\"theme-split\"") && page.contains(&copies[0]), "{page}");
}

/// The themes a comment is in, as (theme id, article) pairs, from the themes API.
async fn themes_of(app: &InProcess, token: &str, receipt: &str) -> Vec<(i64, Value)> {
    let base = format!("/api/v1/admin/consultations/{DEMO_ID}/themes");
    let (_, list) = get(app, token, &base).await;
    let mut out = vec![];
    for th in list["items"].as_array().unwrap() {
        let (_, one) = get(app, token, &format!("{base}/{}", th["id"])).await;
        if receipts(&one).contains(receipt) {
            out.push((th["id"].as_i64().unwrap(), th["article"].clone()));
        }
    }
    out
}

fn theme_in_export(app: &InProcess, receipt: &str) -> Value {
    exported_themes(app, "jsonl").into_iter().find(|(r, _)| r == receipt).unwrap().1
}

on_both_backends!(themes_follow_every_article_a_comment_speaks_to);
async fn themes_follow_every_article_a_comment_speaks_to(backend: crate::harness::Backend) {
    let app = InProcess::start(backend, WebOptions { insecure_no_captcha: true, ..Default::default() }).await;
    let t = staff(&app).await;
    for text in RAISE {
        submit(&app, json!({"opinion": text, "articles": [7]})).await;
    }
    for text in [
        "建议加大顶尖科技人才引进力度，对引进的人工智能领军人才给予安家补贴和科研启动经费。",
        "引进顶尖人才要配套住房和子女入学保障，否则人才引进来也留不住。",
    ] {
        submit(&app, json!({"opinion": text, "articles": [6]})).await;
    }
    let both = submit(
        &app,
        json!({"opinion": "建议引进顶尖科技人才的同时提高博士后日常经费资助标准，两项政策要配套实施。", "articles": [7, 6]}),
    )
    .await;
    let mut whole = vec![];
    for text in WHOLE {
        whole.push(submit(&app, json!({"opinion": text, "articles": []})).await);
    }
    let named =
        submit(&app, json!({"opinion": "第七条的博士后日常经费资助标准偏低，建议提高资助额度。", "articles": []}))
            .await;
    build(&app).await;

    // A comment on articles 6 and 7 is among the main points of each; exports name the lower.
    let of_both = themes_of(&app, &t.reviewer, &both).await;
    let articles: HashSet<Value> = of_both.iter().map(|(_, a)| a.clone()).collect();
    assert_eq!(articles, HashSet::from([json!(6), json!(7)]), "{of_both:?}");
    let six = of_both.iter().find(|(_, a)| *a == 6).unwrap().0;
    let seven = of_both.iter().find(|(_, a)| *a == 7).unwrap().0;
    assert_eq!(theme_in_export(&app, &both), json!(six));
    let (_, q) =
        get(&app, &t.reviewer, &format!("/api/v1/admin/consultations/{DEMO_ID}/comments?theme={seven}&limit=100"))
            .await;
    let listed: Vec<&str> = q["items"].as_array().unwrap().iter().map(|c| c["receipt"].as_str().unwrap()).collect();
    assert!(listed.contains(&both.as_str()), "the queue's theme filter finds it under article 7 too: {q}");

    // Linked to an article, a comment on the draft as a whole leaves the whole draft's theme at
    // once (its count with it) and is placed under the article by the next build.
    let review = |r: &str| format!("/api/v1/admin/comments/{r}/review");
    let was = themes_of(&app, &t.reviewer, &whole[0]).await;
    assert_eq!(was.len(), 1, "{was:?}");
    assert_eq!(was[0].1, Value::Null);
    let base = format!("/api/v1/admin/consultations/{DEMO_ID}/themes");
    let count = |v: &Value| v["comments"].as_u64().unwrap();
    let before = count(&get(&app, &t.reviewer, &format!("{base}/{}", was[0].0)).await.1);
    let (s, v) = post(&app, &t.reviewer, &review(&whole[0]), json!({"action": "link", "articles": [7]})).await;
    assert_eq!(s, 200, "{v}");
    assert!(themes_of(&app, &t.reviewer, &whole[0]).await.is_empty());
    assert_eq!(count(&get(&app, &t.reviewer, &format!("{base}/{}", was[0].0)).await.1), before - 1);
    assert_eq!(theme_in_export(&app, &whole[0]), Value::Null);
    // An accepted suggestion does the same.
    let suggested = app.command_json(&["articles", "suggest", "--consultation", DEMO_ID]);
    assert!(suggested["suggested"].as_u64().unwrap() >= 1, "{suggested}");
    assert_eq!(themes_of(&app, &t.reviewer, &named).await.len(), 1);
    let (s, v) = post(&app, &t.reviewer, &review(&named), json!({"action": "accept_suggestion", "article": 7})).await;
    assert_eq!(s, 200, "{v}");
    assert!(themes_of(&app, &t.reviewer, &named).await.is_empty(), "the whole draft's theme let it go");
    // Unlinked from article 6, the comment on both leaves only article 6's theme.
    let (s, v) = post(&app, &t.reviewer, &review(&both), json!({"action": "link", "articles": [7]})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(themes_of(&app, &t.reviewer, &both).await, vec![(seven, json!(7))]);
    assert_eq!(theme_in_export(&app, &both), json!(seven));

    build(&app).await;
    for r in [&whole[0], &named] {
        let now = themes_of(&app, &t.reviewer, r).await;
        assert_eq!(now.len(), 1, "{r}: {now:?}");
        assert_eq!(now[0].1, json!(7), "{r}: placed under its article by the re-run");
    }
    assert_eq!(themes_of(&app, &t.reviewer, &both).await, vec![(seven, json!(7))], "a re-run leaves it where it is");

    // The report counts it under both articles once their themes are confirmed.
    let (s, v) = post(&app, &t.reviewer, &review(&both), json!({"action": "link", "articles": [6, 7]})).await;
    assert_eq!(s, 200, "{v}");
    build(&app).await;
    let of_both = themes_of(&app, &t.reviewer, &both).await;
    assert_eq!(of_both.len(), 2, "back under article 6 as well: {of_both:?}");
    for (k, _) in &of_both {
        let (s, v) = post(&app, &t.reviewer, &format!("{base}/{k}"), json!({"action": "confirm"})).await;
        assert_eq!(s, 200, "{v}");
    }
    let (_, report) = get(&app, &t.reviewer, &format!("/api/v1/admin/consultations/{DEMO_ID}/report")).await;
    for (index, (k, _)) in [5, 6].into_iter().zip(&of_both) {
        let lines = report["articles"][index]["themes"].as_array().unwrap();
        let (_, theme) = get(&app, &t.reviewer, &format!("{base}/{k}")).await;
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(lines[0]["comments"].as_u64(), Some(count(&theme)), "{lines:?}");
    }

    // The comment's page links the themes it is in, one per article.
    let (session, _) = crate::review::login_session(&app, "rev1", "reviewer password 1").await;
    let page = session.get(app.url(&format!("/admin/comments/{both}?lang=zh"))).send().await.unwrap();
    let page = page.text().await.unwrap();
    assert!(page.contains("id=\"comment-themes\""), "{page}");
    for (k, _) in &of_both {
        assert!(page.contains(&format!("href=\"/admin/c/{DEMO_ID}/themes/{k}\"")), "{page}");
    }
}
