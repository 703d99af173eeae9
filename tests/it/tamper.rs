//! Someone with write access to the database, but not to the master key or the data directory,
//! tampers with what the server relies on: the audit log (edited, deleted, cut from the end,
//! emptied, re-chained) and a consultation's metadata (its mailbox, title, version or deadline).
//! `yijian audit verify` catches the first; loading the consultation refuses the second.

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use yijian_domain::document::sha256_hex;
use yijian_domain::staff::{AuditReason, Role};
use yijian_store::{Audit, Store};
use yijian_web::WebOptions;

use crate::harness::{Backend, DEMO_ID, InProcess, TestData, run};
use crate::on_both_backends;

async fn exec(store: &Store, sql: &str) -> Result<u64, sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).execute(store.pool()).await.map(|r| r.rows_affected())
}

/// What a database administrator does first: take the append-only guards off.
async fn drop_guards(store: &Store, backend: Backend) {
    let statements: &[&str] = match backend {
        Backend::Sqlite => &["DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete"],
        Backend::Postgres => {
            &["DROP TRIGGER audit_log_append_only ON audit_log", "DROP TRIGGER audit_log_no_truncate ON audit_log"]
        }
    };
    for s in statements {
        exec(store, s).await.unwrap();
    }
}

/// A data directory whose log holds six entries, written (and anchored) by the store.
async fn logged(backend: Backend) -> TestData {
    let data = TestData::new(backend).await;
    let store = data.store().await;
    let now = Timestamp::now();
    for i in 1..=6 {
        store.audit(now, Audit::new("cli:ops", "test.entry", &format!("s{i}"), format!("detail {i}"))).await.unwrap();
    }
    store.close().await;
    let (ok, out, err) = run(&["audit", "verify"], Some(&data));
    assert!(ok, "an untouched log verifies: {out}{err}");
    assert!(out.contains("6 entries") && out.contains("anchored in"), "{out}");
    data
}

/// Runs `audit verify`, which must fail, and returns what it said.
fn verify_fails(data: &TestData, case: &str) -> String {
    let (ok, out, err) = run(&["audit", "verify"], Some(data));
    assert!(!ok, "{case}: verify passed: {out}{err}");
    assert!(err.contains("tampered"), "{case}: {err}");
    err
}

/// The link an attacker without the key can compute: the old, unkeyed SHA-256 chain.
fn unkeyed_link(seq: i64, at: i64, fields: [&str; 4], prev: &str) -> String {
    let mut s = format!("yijian-audit-v1\n{seq}\n{at}\n");
    for field in fields.into_iter().chain([prev]) {
        s.push_str(&format!("{}:{field}\n", field.len()));
    }
    sha256_hex(&s)
}

/// Rewrites the whole log from `from` on as an unkeyed chain, with entry `from` altered.
async fn rechain(store: &Store, from: i64) {
    let entries = store.audit_entries().await.unwrap();
    let mut prev = entries.iter().find(|e| e.seq == from - 1).map(|e| e.hash.clone()).unwrap_or("0".repeat(64));
    for e in entries.iter().filter(|e| e.seq >= from) {
        let detail = if e.seq == from { "nothing happened" } else { e.detail.as_str() };
        let at = e.at.as_microsecond();
        let hash = unkeyed_link(e.seq, at, [&e.actor, &e.action, &e.subject, detail], &prev);
        sqlx::query("UPDATE audit_log SET detail = $1, prev_hash = $2, hash = $3 WHERE seq = $4")
            .bind(detail)
            .bind(&prev)
            .bind(&hash)
            .bind(e.seq)
            .execute(store.pool())
            .await
            .unwrap();
        prev = hash;
    }
}

async fn tampered_audit_logs_fail_verify(backend: Backend) {
    // Edited.
    let data = logged(backend).await;
    let store = data.store().await;
    drop_guards(&store, backend).await;
    exec(&store, "UPDATE audit_log SET detail = 'nothing happened' WHERE seq = 3").await.unwrap();
    store.close().await;
    let err = verify_fails(&data, "edited");
    assert!(err.contains("entry 3"), "{err}");

    // Deleted from the middle.
    let data = logged(backend).await;
    let store = data.store().await;
    drop_guards(&store, backend).await;
    exec(&store, "DELETE FROM audit_log WHERE seq = 2").await.unwrap();
    store.close().await;
    let err = verify_fails(&data, "deleted");
    assert!(err.contains("entry 2"), "{err}");

    // Cut from the end: what is left is a valid chain, but the anchor names entry 6.
    let data = logged(backend).await;
    let store = data.store().await;
    drop_guards(&store, backend).await;
    exec(&store, "DELETE FROM audit_log WHERE seq > 4").await.unwrap();
    assert_eq!(store.verify_audit_chain().await.unwrap(), Ok(4), "the chain alone cannot tell");
    store.close().await;
    let err = verify_fails(&data, "truncated");
    assert!(err.contains("cut from the end") && err.contains("entry 6"), "{err}");

    // Emptied. On PostgreSQL TRUNCATE passes row triggers, so the table refuses it outright.
    let data = logged(backend).await;
    let store = data.store().await;
    if backend == Backend::Postgres {
        let err = exec(&store, "TRUNCATE audit_log").await.unwrap_err().to_string();
        assert!(err.contains("append-only"), "{err}");
        assert_eq!(store.audit_entries().await.unwrap().len(), 6, "TRUNCATE refused");
    }
    drop_guards(&store, backend).await;
    match backend {
        Backend::Sqlite => exec(&store, "DELETE FROM audit_log").await.unwrap(),
        Backend::Postgres => exec(&store, "TRUNCATE audit_log").await.unwrap(),
    };
    store.close().await;
    let err = verify_fails(&data, "emptied");
    assert!(err.contains("cut from the end"), "{err}");

    // Re-chained without the key: entry 4 altered and every link from it recomputed.
    let data = logged(backend).await;
    let store = data.store().await;
    drop_guards(&store, backend).await;
    rechain(&store, 4).await;
    store.close().await;
    let err = verify_fails(&data, "re-chained");
    assert!(err.contains("entry 4") && err.contains("re-chained"), "{err}");

    // Re-chained from the start, with the record of where the keyed chain begins removed so
    // the whole log passes for one written before the chain was keyed: the anchor still
    // names the keyed head.
    let data = logged(backend).await;
    let store = data.store().await;
    drop_guards(&store, backend).await;
    rechain(&store, 1).await;
    exec(&store, "DELETE FROM settings WHERE key = 'audit_keyed_from'").await.unwrap();
    store.close().await;
    let err = verify_fails(&data, "re-chained from the start");
    assert!(err.contains("entry 6 is not the one"), "{err}");

    // A forged anchor is not believed either.
    let data = logged(backend).await;
    let anchor = data.path().join(yijian_store::anchor::ANCHOR_FILE);
    let text = std::fs::read_to_string(&anchor).unwrap().replace("seq 6", "seq 5");
    std::fs::write(&anchor, text).unwrap();
    let err = verify_fails(&data, "forged anchor");
    assert!(err.contains("MAC"), "{err}");
}
on_both_backends!(tampered_audit_logs_fail_verify);

/// An extra anchor (another volume) is kept beside the one in the data directory, and checked.
#[tokio::test]
async fn an_extra_anchor_is_written_and_checked() {
    let data = TestData::new(Backend::Sqlite).await;
    let extra = data.path().join("elsewhere").join("anchor");
    std::fs::create_dir_all(extra.parent().unwrap()).unwrap();
    let opts = yijian_store::StoreOptions { audit_anchor: Some(extra.clone()), ..data.options() };
    let store = Store::open(&opts).await.unwrap();
    store.audit(Timestamp::now(), Audit::new("cli:ops", "test.entry", "s", "")).await.unwrap();
    let verdict = store.verify_audit().await.unwrap();
    assert_eq!(verdict.problems, Vec::<String>::new());
    assert_eq!(verdict.anchors.len(), 2, "{verdict:?}");
    // The data directory's anchor lost (a restore); the extra one still catches a cut.
    std::fs::remove_file(data.path().join(yijian_store::anchor::ANCHOR_FILE)).unwrap();
    exec(&store, "DROP TRIGGER audit_log_no_delete").await.unwrap();
    exec(&store, "DELETE FROM audit_log").await.unwrap();
    let verdict = store.verify_audit().await.unwrap();
    assert!(verdict.problems.iter().any(|p| p.contains("cut from the end")), "{verdict:?}");
    assert_eq!(verdict.missing_anchors.len(), 1);
    store.close().await;
}

async fn audit_list_escapes_control_characters(backend: Backend) {
    let data = TestData::new(backend).await;
    let store = data.store().await;
    let hostile = "\u{1b}[31mroot\u{1b}[0m\rcli:admin";
    store.audit(Timestamp::now(), Audit::new(hostile, "login.failed", hostile, "a\tb")).await.unwrap();
    store.close().await;
    let (ok, out, err) = run(&["audit", "list"], Some(&data));
    assert!(ok, "{err}");
    assert!(!out.contains('\u{1b}') && !out.contains('\r'), "raw control characters printed: {out:?}");
    assert!(out.contains("\\x1b[31mroot\\x1b[0m\\rcli:admin"), "{out}");
    let line = out.lines().find(|l| l.contains("login.failed")).unwrap();
    assert_eq!(line.split('\t').count(), 6, "a tab in a field does not shift the columns: {line:?}");
}
on_both_backends!(audit_list_escapes_control_characters);

// ------------------------------------------------------------------------------------------
// The consultation's metadata
// ------------------------------------------------------------------------------------------

async fn status_of(app: &InProcess, path: &str) -> (u16, String) {
    let res = app.client.get(app.url(path)).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn forged_metadata_is_refused(backend: Backend) {
    let app = InProcess::start(backend, WebOptions::default()).await;
    let c = app.app().consultation(DEMO_ID).await.unwrap().unwrap();
    let mailbox = c.meta.email_channel.address.clone();
    let page = format!("/c/{DEMO_ID}");
    let (status, body) = status_of(&app, &page).await;
    assert_eq!(status, 200);
    assert!(body.contains(&mailbox), "the page shows the mailbox");

    // The mailbox citizens are told to write to, replaced in the row.
    let sql = format!("UPDATE consultations SET meta_json = replace(meta_json, '{mailbox}', 'evil@attacker.example')");
    assert_eq!(exec(app.store(), &sql).await.unwrap(), 1);
    app.state.forget(DEMO_ID);
    let (status, body) = status_of(&app, &page).await;
    assert_eq!(status, 500, "{body}");
    assert!(!body.contains("evil@attacker.example"), "the forged address was served");
    let (status, body) = status_of(&app, &format!("/api/v1/consultations/{DEMO_ID}")).await;
    assert_eq!(status, 500);
    assert!(!body.contains("evil@attacker.example"));
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"]["code"], "integrity_check_failed");
    let err = app.store().consultation(DEMO_ID).await.unwrap_err().to_string();
    assert!(err.contains("metadata"), "{err}");

    // Put back, it is served again; then the title.
    let sql = format!("UPDATE consultations SET meta_json = replace(meta_json, 'evil@attacker.example', '{mailbox}')");
    exec(app.store(), &sql).await.unwrap();
    app.state.forget(DEMO_ID);
    assert_eq!(status_of(&app, &page).await.0, 200);
    exec(app.store(), "UPDATE consultations SET title = '伪造的标题'").await.unwrap();
    app.state.forget(DEMO_ID);
    let (status, body) = status_of(&app, &page).await;
    assert_eq!(status, 500);
    assert!(!body.contains("伪造的标题"));
    let (_, index) = status_of(&app, "/").await;
    assert!(!index.contains("伪造的标题"), "the index does not list a forged title");
}
on_both_backends!(forged_metadata_is_refused);

async fn rollbacks_are_refused_and_lawful_changes_re_signed(backend: Backend) {
    let app = InProcess::start(backend, WebOptions::default()).await;
    let store = app.store();
    let now = Timestamp::now();
    let admin = yijian_store::SessionUser { name: "admin1".into(), role: Role::Admin };
    type Row = (String, String, String, i64, i64, i64);
    let snapshot = async || -> Row {
        sqlx::query_as(
            "SELECT meta_json, meta_signature, title, opens_at, closes_at, current_version FROM consultations",
        )
        .fetch_one(store.pool())
        .await
        .unwrap()
    };
    let put_back = async |r: &Row| {
        sqlx::query(
            "UPDATE consultations SET meta_json = $1, meta_signature = $2, title = $3, opens_at = $4, closes_at = $5, \
             current_version = $6",
        )
        .bind(&r.0)
        .bind(&r.1)
        .bind(&r.2)
        .bind(r.3)
        .bind(r.4)
        .bind(r.5)
        .execute(store.pool())
        .await
        .unwrap();
        app.state.forget(DEMO_ID);
    };
    let v1 = snapshot().await;

    // A lawful extension is signed anew, and verifies.
    let c = app.app().consultation(DEMO_ID).await.unwrap().unwrap();
    let later = c.meta.closes_at + SignedDuration::from_hours(24 * 10);
    let reason = AuditReason::parse("上级要求延期").unwrap();
    app.app().extend_deadline(&admin, DEMO_ID, later, &reason, now).await.unwrap();
    app.state.forget(DEMO_ID);
    let c = app.app().consultation(DEMO_ID).await.unwrap().expect("an extended consultation still verifies");
    assert_eq!(c.meta.closes_at, later);
    assert_eq!(status_of(&app, &format!("/c/{DEMO_ID}")).await.0, 200);
    let signed = store.audit_entries().await.unwrap().into_iter().filter(|e| e.action == "consultation.signed");
    assert_eq!(signed.count(), 2, "signed at import and again at the extension");

    // The extension undone by putting the earlier signed row back: refused.
    let extended = snapshot().await;
    put_back(&v1).await;
    let err = store.consultation(DEMO_ID).await.unwrap_err().to_string();
    assert!(err.contains("not the last signed"), "{err}");
    assert_eq!(status_of(&app, &format!("/c/{DEMO_ID}")).await.0, 500);
    put_back(&extended).await;
    assert!(store.consultation(DEMO_ID).await.is_ok());

    // A new version of the text, then the current version rolled back to the first, with the
    // first version's own (valid) signature.
    let mut file = yijian_domain::file::parse(&std::fs::read_to_string(crate::harness::demo_file()).unwrap()).unwrap();
    file.meta = c.meta.clone();
    file.document.preamble.push("第二版新增的说明。".into());
    let outcome = app.app().import_consultation(&file, true, now).await.unwrap();
    assert_eq!(outcome, yijian_store::ImportOutcome::NewVersion { version: 2 });
    app.state.forget(DEMO_ID);
    assert_eq!(app.app().consultation(DEMO_ID).await.unwrap().unwrap().version, 2);
    put_back(&extended).await;
    let err = store.consultation(DEMO_ID).await.unwrap_err().to_string();
    assert!(err.contains("not the last signed"), "{err}");
    let (status, body) = status_of(&app, &format!("/api/v1/consultations/{DEMO_ID}")).await;
    assert_eq!(status, 500, "{body}");
}
on_both_backends!(rollbacks_are_refused_and_lawful_changes_re_signed);

/// A consultation published before metadata was signed is signed once at start-up, when
/// nothing suggests its row was edited; one whose columns disagree with its metadata is not.
#[tokio::test]
async fn unsigned_metadata_is_signed_at_start_up_only_when_safe() {
    let data = TestData::new(Backend::Sqlite).await;
    let store = data.store().await;
    let mut file = yijian_domain::file::parse(&std::fs::read_to_string(crate::harness::demo_file()).unwrap()).unwrap();
    let now = Timestamp::now();
    file.meta.reschedule_from(now, 30);
    store.import_consultation(&file, true, now).await.unwrap();
    let mut other = file.clone();
    other.meta.id = "edited-by-hand".into();
    store.import_consultation(&other, false, now).await.unwrap();
    // As a database from before: no signature and no record of one (the record is made
    // unrecognisable, as the audit log cannot lose entries without breaking its chain).
    exec(&store, "UPDATE consultations SET meta_signature = NULL").await.unwrap();
    exec(&store, "DROP TRIGGER audit_log_no_update").await.unwrap();
    exec(&store, "UPDATE audit_log SET action = 'consultation.signed-before' WHERE action = 'consultation.signed'")
        .await
        .unwrap();
    exec(&store, "UPDATE consultations SET title = '改过的标题' WHERE id = 'edited-by-hand'").await.unwrap();
    assert!(store.consultation(DEMO_ID).await.is_err(), "unsigned is refused");
    let (signed, refused) = store.sign_unsigned_metadata(now).await.unwrap();
    assert_eq!((signed, refused), (vec![DEMO_ID.to_string()], vec!["edited-by-hand".to_string()]));
    assert!(store.consultation(DEMO_ID).await.unwrap().is_some());
    assert!(store.consultation("edited-by-hand").await.is_err());
    // Importing its file again is the operator vouching for it.
    store.import_consultation(&other, false, now).await.unwrap();
    let c = store.consultation("edited-by-hand").await.unwrap().unwrap();
    assert_eq!(c.meta.title, other.meta.title, "the file's title, not the one edited by hand");
    store.close().await;
}
