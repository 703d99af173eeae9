//! Audits inside their transactions: when the audit entry cannot be written, the change it
//! records does not happen either. Each audited operation is run against a database whose
//! audit log refuses every insert, and must fail and leave everything as it was.

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use yijian_app::intake::Submission;
use yijian_app::staff::SignIn;
use yijian_app::{App, AppOptions};
use yijian_domain::comment::Channel;
use yijian_domain::file::ConsultationFile;
use yijian_domain::receipt::Receipt;
use yijian_domain::review::{Disposition, QueueFilter, ReviewAction};
use yijian_domain::staff::{AuditReason, Role};
use yijian_mail::intake::{Incoming, Intake};
use yijian_mailgen::corpus::MailSpec;
use yijian_store::{SessionUser, Store, Target};

use crate::harness::{Backend, DEMO_ID, TestData, demo_file, good_body};
use crate::on_both_backends;

/// Makes every insert into the audit log fail, as a full disk or a broken permission would.
async fn refuse_audits(store: &Store, backend: Backend) {
    let statements: &[&str] = match backend {
        Backend::Sqlite => {
            &["CREATE TRIGGER audit_refused BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit refused'); END"]
        }
        Backend::Postgres => &[
            "CREATE FUNCTION audit_refused() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'audit refused'; END $$",
            "CREATE TRIGGER audit_refused BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_refused()",
        ],
    };
    for s in statements {
        sqlx::query(*s).execute(store.pool()).await.unwrap();
    }
}

async fn allow_audits(store: &Store, backend: Backend) {
    let s = match backend {
        Backend::Sqlite => "DROP TRIGGER audit_refused",
        Backend::Postgres => "DROP TRIGGER audit_refused ON audit_log",
    };
    sqlx::query(s).execute(store.pool()).await.unwrap();
}

async fn count(store: &Store, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(store.pool()).await.unwrap()
}

fn file_with(id: &str, opens: Timestamp, closes: Timestamp) -> (ConsultationFile, String) {
    let source = std::fs::read_to_string(demo_file())
        .unwrap()
        .replace("id = \"ln-hrss-ai-2025\"", &format!("id = \"{id}\""))
        .replace("demo = true", "demo = false");
    let mut file = yijian_domain::file::parse(&source).unwrap();
    file.meta.opens_at = opens;
    file.meta.closes_at = closes;
    (file, source)
}

async fn audits_commit_with_their_changes(backend: Backend) {
    let data = TestData::new(backend).await;
    let store = data.store().await;
    let app = App::new(store.clone(), AppOptions { insecure_no_captcha: true, ..Default::default() });
    // Whole microseconds, as the store keeps instants.
    let now = Timestamp::from_microsecond(Timestamp::now().as_microsecond()).unwrap();
    let day = SignedDuration::from_hours(24);

    // What the operations below act on, made while the audit log still takes entries.
    let (mut demo, _) = file_with(DEMO_ID, now - day, now + 30 * day);
    demo.meta.id = DEMO_ID.into();
    app.import_consultation(&demo, true, now).await.unwrap();
    let (closed, _) = file_with("closed-rule", now - 10 * day, now - day);
    app.import_consultation(&closed, false, now - 10 * day).await.unwrap();
    let (draft, draft_source) = file_with("draft-rule", now + day, now + 20 * day);
    app.add_user("test", "admin1", Role::Admin, "admin password 1", now).await.unwrap();
    app.add_user("test", "rev1", Role::Reviewer, "reviewer password 1", now).await.unwrap();
    let admin = SessionUser { name: "admin1".into(), role: Role::Admin };
    app.save_draft(&admin, &draft, &draft_source, now).await.unwrap();
    let (token_id, _) = app.create_token("test", "rev1", None, now).await.unwrap();
    let SignIn::Session { token: session, .. } = app.sign_in("rev1", "reviewer password 1", "", now).await.unwrap()
    else {
        panic!("rev1 signs in");
    };
    let c = app.consultation(DEMO_ID).await.unwrap().unwrap();
    let Value::Object(fields) = good_body() else { unreachable!() };
    let sub = Submission { fields: &fields, channel: Channel::Api, consent: None, form_id: None, client: None };
    let receipt = app.submit_comment(&c, sub, now).await.unwrap().receipt;
    let mut spec = MailSpec::simple("一封与征求意见无关的邮件", "张三 <zhangsan@example.cn>", "你好");
    spec.message_id = Some("unrouted@example.cn".into());
    let intake = Intake::new(store.clone(), Default::default()).await.unwrap();
    let stored = intake
        .import(vec![Incoming { raw: spec.to_bytes(), source: "test".into(), arrival: None, size: None }], now)
        .await
        .unwrap();
    let mail_id = match stored[0].outcome {
        yijian_mail::intake::Outcome::Unrouted { mail_id } => mail_id,
        ref other => panic!("the mail should be unrouted: {other:?}"),
    };
    let entries = store.audit_entries().await.unwrap().len();
    let sessions = count(&store, "SELECT COUNT(*) FROM sessions").await;

    refuse_audits(&store, backend).await;
    let reason = AuditReason::parse("上级要求延期").unwrap();

    // Accounts, tokens, two-step login.
    assert!(app.add_user("test", "newbie", Role::Reviewer, "newbie password 1", now).await.is_err());
    assert!(!app.list_users().await.unwrap().iter().any(|u| u.name == "newbie"), "user.add");
    assert!(app.set_user_disabled("test", "rev1", true, now).await.is_err());
    assert!(!app.list_users().await.unwrap().iter().find(|u| u.name == "rev1").unwrap().disabled, "user.disable");
    assert!(app.set_user_role("test", "rev1", Role::Admin, now).await.is_err());
    let role = app.list_users().await.unwrap().into_iter().find(|u| u.name == "rev1").unwrap().role;
    assert_eq!(role, Role::Reviewer, "set_role");
    assert!(app.reset_password("test", "rev1", "a brand new password", now).await.is_err());
    let rev = SessionUser { name: "rev1".into(), role: Role::Reviewer };
    let check = app.check_password(&rev, "reviewer password 1", None, None, now).await.unwrap();
    assert_eq!(check, yijian_app::staff::PasswordCheck::Right, "user.reset_password");
    assert_eq!(count(&store, "SELECT COUNT(*) FROM sessions").await, sessions, "no session ended");
    assert!(app.create_token("test", "rev1", Some(3), now).await.is_err());
    assert_eq!(app.list_tokens().await.unwrap().len(), 1, "token.create");
    assert!(app.revoke_token("test", &token_id, now).await.is_err());
    assert!(!app.list_tokens().await.unwrap()[0].revoked, "token.revoke");
    let secret = [7u8; 20];
    let code = yijian_crypto::totp::code_at(&secret, now.as_second() as u64);
    let on = yijian_app::staff::TotpChange::On { secret: &secret, new_code: &code };
    assert!(app.change_totp(&rev, "reviewer password 1", "", on, None, now).await.is_err());
    assert!(!app.totp_enabled("rev1").await.unwrap(), "totp.enable");

    // Sign-in: neither a session nor a failure count without its entry.
    assert!(app.sign_in("rev1", "reviewer password 1", "", now).await.is_err());
    assert_eq!(count(&store, "SELECT COUNT(*) FROM sessions").await, sessions, "login");
    // A wrong password without its entry is an error; its attempt is counted all the same,
    // before the password is checked, so a refused audit gives a guesser no free tries.
    let attempts = count(&store, "SELECT CAST(COALESCE(SUM(failures), 0) AS BIGINT) FROM login_attempts").await;
    assert!(app.sign_in("rev1", "wrong password!!", "", now).await.is_err());
    let after = count(&store, "SELECT CAST(COALESCE(SUM(failures), 0) AS BIGINT) FROM login_attempts").await;
    assert_eq!(after, attempts + 1, "counted before the check");
    assert!(app.sign_out(&session, now).await.is_err());
    assert!(app.session_user(&session, now).await.unwrap().is_some(), "logout");

    // The lifecycle of a consultation.
    let (other, other_source) = file_with("other-draft", now + day, now + 20 * day);
    assert!(app.save_draft(&admin, &other, &other_source, now).await.is_err());
    assert!(app.draft(&admin, "other-draft").await.unwrap().is_none(), "consultation.draft_saved");
    assert!(app.delete_draft(&admin, "draft-rule", now).await.is_err());
    assert!(app.draft(&admin, "draft-rule").await.unwrap().is_some(), "consultation.draft_deleted");
    assert!(app.publish_draft(&admin, &draft, now).await.is_err());
    assert!(app.consultation("draft-rule").await.unwrap().is_none(), "consultation.published");
    assert!(app.draft(&admin, "draft-rule").await.unwrap().is_some(), "the draft stays a draft");
    let mut moved = demo.clone();
    moved.meta.closes_at = now + 40 * day;
    assert!(app.import_by(&admin, &moved, now).await.is_err());
    let schedule = store.schedule(DEMO_ID).await.unwrap().unwrap();
    assert_eq!(schedule.closes_at, demo.meta.closes_at, "consultation.imported");
    assert!(app.extend_deadline(&admin, DEMO_ID, now + 60 * day, &reason, now).await.is_err());
    assert!(app.close_early(&admin, DEMO_ID, &reason, now).await.is_err());
    assert!(app.archive(&admin, "closed-rule", now).await.is_err());
    let schedule = store.schedule(DEMO_ID).await.unwrap().unwrap();
    assert_eq!(schedule.closes_at, demo.meta.closes_at, "consultation.extended / closed_early");
    assert!(!app.is_archived("closed-rule").await.unwrap(), "consultation.archived");
    assert!(app.schedule_events(DEMO_ID).await.unwrap().is_empty(), "no public record without its entry");
    app.forget(DEMO_ID);
    assert!(app.publish_report(&admin, &c, "", now).await.is_err());
    assert!(app.published_report(DEMO_ID).await.unwrap().is_none(), "report.published");

    // Review actions, single and bulk, and the acts that must be on record before they happen.
    let dispose = ReviewAction::Dispose(Some(Disposition::Adopted), "已采纳并修改第五条。".into());
    assert!(app.review(&admin, &c, Target::One(receipt), &dispose, now).await.is_err());
    let filter = QueueFilter::default();
    let bulk = Target::Filtered { filter: &filter, ids: None };
    assert!(app.review(&admin, &c, bulk, &ReviewAction::AddTag("培训".into()), now).await.is_err());
    let comment = app.comment(&admin, &receipt).await.unwrap().unwrap();
    assert_eq!((comment.disposition, comment.tags.len()), (None, 0), "review.dispose / review.add_tag");
    assert!(app.reveal(&admin, &receipt, &reason, now).await.is_err(), "no entry, no reveal");
    assert!(app.mail_raw(&admin, mail_id, &reason, now).await.is_err(), "no entry, no raw mail");
    assert!(app.assign_mail(&admin, mail_id, DEMO_ID, now).await.is_err());
    assert_eq!(app.mail(&admin, mail_id).await.unwrap().unwrap().summary.state, "unrouted", "mail.assigned");
    let path = data.path().join("export.csv");
    let req = yijian_app::export::ExportRequest {
        format: yijian_formats::Format::Csv,
        include_personal_data: false,
        reason: None,
        actor: "admin1".into(),
    };
    assert!(matches!(app.export(&c, &path, &req, now, |_| {}).await, Err(yijian_app::export::ExportFailure::Audit(_))));
    assert!(!path.exists(), "no entry, no export");

    // Nothing was written, and the chain is whole.
    allow_audits(&store, backend).await;
    assert_eq!(store.audit_entries().await.unwrap().len(), entries);
    assert_eq!(store.verify_audit_chain().await.unwrap(), Ok(entries));

    // With the log writable again, each change comes with its entry.
    app.review(&admin, &c, Target::One(receipt), &dispose, now).await.unwrap();
    let last = store.audit_entries().await.unwrap().pop().unwrap();
    assert_eq!((last.action.as_str(), last.actor.as_str()), ("review.dispose", "admin1"));
    assert_eq!(last.subject, receipt.to_string(), "the comment's tracking number");
    let detail: Value = serde_json::from_str(&last.detail).unwrap();
    assert_eq!(detail["from"]["disposition"], Value::Null, "what it was");
    assert_eq!(detail["to"]["disposition"], "adopted", "what it became");
    app.extend_deadline(&admin, DEMO_ID, now + 60 * day, &reason, now).await.unwrap();
    let last = store.audit_entries().await.unwrap().pop().unwrap();
    assert_eq!(last.action, "consultation.extended");
    assert_eq!(app.schedule_events(DEMO_ID).await.unwrap().len(), 1);
    assert!(Receipt::parse(&receipt.to_string()).is_some());
    store.close().await;
}
on_both_backends!(audits_commit_with_their_changes);
