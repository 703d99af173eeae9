//! Staff accounts from the command line, and the hash-chained audit log.

use yijian_domain::staff::Role;
use yijian_store::Audit;

use crate::harness::{Backend, TestData, run, run_with_stdin};
use crate::on_both_backends;

async fn staff_accounts_from_the_command_line(backend: Backend) {
    let data = TestData::new(backend).await;
    let (ok, out, err) =
        run_with_stdin(&["user", "add", "wang.li", "--role", "admin"], &data, "correct horse battery\n");
    assert!(ok && out.contains("added wang.li (admin)"), "{err}");
    let (ok, _, err) =
        run_with_stdin(&["user", "add", "wang.li", "--role", "reviewer"], &data, "another long password\n");
    assert!(!ok && err.contains("already exists"), "{err}");
    let (ok, _, err) =
        run_with_stdin(&["user", "add", "Zhang San", "--role", "reviewer"], &data, "another long password\n");
    assert!(!ok && err.contains("is not a user name"), "{err}");
    let (ok, _, err) = run_with_stdin(&["user", "add", "zhang", "--role", "reviewer"], &data, "short\n");
    assert!(!ok && err.contains("at least 12") && err.contains("nothing was changed"), "{err}");
    let (ok, _, err) = run_with_stdin(&["user", "add", "zhang", "--role", "root"], &data, "another long password\n");
    assert!(!ok && err.contains("root"), "{err}");
    let (ok, _, _) = run_with_stdin(&["user", "add", "zhang", "--role", "reviewer"], &data, "another long password\n");
    assert!(ok);

    let (ok, out, _) = run(&["user", "list"], Some(&data));
    assert!(ok);
    assert_eq!(out, "wang.li\tadmin\tenabled\nzhang\treviewer\tenabled\n");

    let store = data.store().await;
    let app = yijian_app::App::new(store.clone(), Default::default());
    // Who signs in with which password, and as what.
    let role = async |name: &str, password: &str| match app.sign_in(name, password, "", jiff::Timestamp::now()).await {
        Ok(yijian_app::staff::SignIn::Session { role, .. }) => Some(role),
        _ => None,
    };
    assert_eq!(role("zhang", "another long password").await, Some(Role::Reviewer));
    assert_eq!(role("zhang", "another long passworD").await, None);
    assert_eq!(role("nobody", "another long password").await, None);

    assert!(run(&["user", "disable", "zhang"], Some(&data)).0);
    assert_eq!(role("zhang", "another long password").await, None, "disabled");
    assert!(run(&["user", "enable", "zhang"], Some(&data)).0);
    assert!(run(&["user", "set-role", "zhang", "admin"], Some(&data)).0);
    assert_eq!(role("zhang", "another long password").await, Some(Role::Admin));
    let (ok, _, _) = run_with_stdin(&["user", "reset-password", "zhang"], &data, "a brand new passphrase\n");
    assert!(ok);
    assert_eq!(role("zhang", "a brand new passphrase").await, Some(Role::Admin));
    let (ok, _, err) = run(&["user", "disable", "nobody"], Some(&data));
    assert!(!ok && err.contains("no user named nobody"), "{err}");

    // Every change is in the audit log, attributed, and the chain holds.
    let actions: Vec<String> = store
        .audit_entries()
        .await
        .unwrap()
        .iter()
        .filter(|e| !e.action.starts_with("login"))
        .map(|e| format!("{} {} {}", e.actor, e.action, e.subject))
        .collect();
    assert_eq!(
        actions,
        [
            "cli:tester user.add wang.li",
            "cli:tester user.add zhang",
            "cli:tester user.disable zhang",
            "cli:tester user.enable zhang",
            "cli:tester user.set_role zhang",
            "cli:tester user.reset_password zhang",
        ]
    );
    let (ok, out, _) = run(&["audit", "verify"], Some(&data));
    assert!(ok && out.contains("intact: 12 entries"), "{out}");
    // No password or hash ever reaches the log.
    let (_, listing, _) = run(&["audit", "list"], Some(&data));
    assert!(!listing.contains("passphrase") && !listing.contains("argon2"), "{listing}");
    store.close().await;
}
on_both_backends!(staff_accounts_from_the_command_line);

async fn audit_log_tampering_is_evident(backend: Backend) {
    let data = TestData::new(backend).await;
    let store = data.store().await;
    for i in 0..5 {
        let entry = Audit::new("admin", "reveal.id_number", &format!("YJ-0000-000{i}"), "reason=复核身份");
        store.audit(jiff::Timestamp::now(), entry).await.unwrap();
    }
    assert_eq!(store.verify_audit_chain().await.unwrap(), Ok(5));
    // The database refuses edits and deletions …
    let err = sqlx::query("UPDATE audit_log SET detail = 'reason=none' WHERE seq = 3")
        .execute(store.pool())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
    assert!(sqlx::query("DELETE FROM audit_log WHERE seq = 5").execute(store.pool()).await.is_err());
    // … and when someone with database access drops the guard, the chain shows where.
    let drop = match backend {
        Backend::Sqlite => "DROP TRIGGER audit_log_no_update",
        Backend::Postgres => "DROP TRIGGER audit_log_append_only ON audit_log",
    };
    sqlx::query(drop).execute(store.pool()).await.unwrap();
    sqlx::query("UPDATE audit_log SET detail = 'reason=none' WHERE seq = 3").execute(store.pool()).await.unwrap();
    assert_eq!(store.verify_audit_chain().await.unwrap(), Err(3));
    let (ok, _, err) = run(&["audit", "verify"], Some(&data));
    assert!(!ok && err.contains("tampered with at entry 3"), "{err}");
    store.close().await;
}
on_both_backends!(audit_log_tampering_is_evident);

/// Appends from many tasks at once still form one unbroken chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_audit_appends_keep_the_chain() {
    for backend in Backend::ALL {
        if !backend.run_or_skip(&format!("it::staff::concurrent_audit_appends_keep_the_chain on {backend}")) {
            continue;
        }
        let data = TestData::new(backend).await;
        let store = data.store().await;
        let mut tasks = Vec::new();
        for i in 0..16 {
            let store = store.clone();
            let entry = Audit::new("t", "login", &format!("u{i}"), "");
            tasks.push(tokio::spawn(async move { store.audit(jiff::Timestamp::now(), entry).await.unwrap() }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(store.verify_audit_chain().await.unwrap(), Ok(16), "{backend:?}");
        store.close().await;
    }
}
