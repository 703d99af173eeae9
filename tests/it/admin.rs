//! The staff side's door: anonymous visitors get nothing, roles are enforced, logins are
//! limited and audited.

use reqwest::StatusCode;
use reqwest::redirect::Policy;
use yijian_domain::staff::Role;
use yijian_web::WebOptions;

use crate::harness::{DEMO_ID, InProcess};

/// Every staff route and method. The guard answers before any handler, so the list includes
/// paths that do not exist yet: they too must leak nothing.
const STAFF_ROUTES: &[(&str, &str)] = &[
    ("GET", "/admin"),
    ("GET", "/admin/users"),
    ("POST", "/admin/logout"),
    ("GET", "/admin/consultations"),
    ("GET", "/admin/comments/YJ-0000-0000"),
    ("GET", "/api/v1/admin/consultations"),
    ("GET", "/api/v1/admin/users"),
    ("GET", "/api/v1/admin/comments"),
];

fn client() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(Policy::none()).build().unwrap()
}

async fn login(app: &InProcess, c: &reqwest::Client, name: &str, password: &str) -> reqwest::Response {
    let page = c.get(app.url("/admin/login")).send().await.unwrap().text().await.unwrap();
    let needle = "name=\"csrf\" value=\"";
    let start = page.find(needle).unwrap() + needle.len();
    let csrf = page[start..start + page[start..].find('"').unwrap()].to_string();
    c.post(app.url("/admin/login"))
        .form(&[("csrf", csrf.as_str()), ("username", name), ("password", password)])
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_visitors_get_nothing() {
    let app = InProcess::start(crate::harness::Backend::Sqlite, WebOptions::default()).await;
    let c = client();
    for (method, path) in STAFF_ROUTES {
        let req = match *method {
            "GET" => c.get(app.url(path)),
            _ => c.post(app.url(path)),
        };
        let res = req.header("cookie", "yj_session=forged").send().await.unwrap();
        let status = res.status();
        let location = res.headers().get("location").map(|v| v.to_str().unwrap().to_string());
        let body = res.text().await.unwrap();
        if path.starts_with("/api/") {
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
            assert!(body.contains("unauthenticated"), "{method} {path}: {body}");
        } else {
            assert_eq!(status, StatusCode::SEE_OTHER, "{method} {path}");
            assert_eq!(location.as_deref(), Some("/admin/login"), "{method} {path}");
        }
        assert!(!body.contains("辽宁") && !body.contains(DEMO_ID), "{method} {path} leaked data: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_lockout_and_logout() {
    let app = InProcess::start(crate::harness::Backend::Sqlite, WebOptions::default()).await;
    app.store().add_user("test", "admin1", Role::Admin, "admin password 1").await.unwrap();
    app.store().add_user("test", "rev1", Role::Reviewer, "reviewer password 1").await.unwrap();

    // A reviewer sees the consultations but not the accounts.
    let rev = client();
    let res = login(&app, &rev, "rev1", "reviewer password 1").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.starts_with("yj_session=") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let home = rev.get(app.url("/admin")).send().await.unwrap();
    assert_eq!(home.status(), 200);
    let home = home.text().await.unwrap();
    assert!(home.contains("辽宁省人力资源社会保障领域") && home.contains("rev1"));
    assert!(!home.contains("href=\"/admin/users\""));
    assert_eq!(rev.get(app.url("/admin/users")).send().await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(rev.get(app.url("/api/v1/admin/users")).send().await.unwrap().status(), StatusCode::FORBIDDEN);
    let api: serde_json::Value =
        rev.get(app.url("/api/v1/admin/consultations")).send().await.unwrap().json().await.unwrap();
    assert_eq!(api[0]["id"], DEMO_ID);

    // An admin sees the accounts too.
    let adm = client();
    assert_eq!(login(&app, &adm, "admin1", "admin password 1").await.status(), StatusCode::SEE_OTHER);
    let users = adm.get(app.url("/admin/users")).send().await.unwrap();
    assert_eq!(users.status(), 200);
    assert!(users.text().await.unwrap().contains("rev1"));

    // Each login is a new session: the old one still works until logged out, and logging out
    // ends only that one.
    let again = client();
    assert_eq!(login(&app, &again, "rev1", "reviewer password 1").await.status(), StatusCode::SEE_OTHER);
    let home = rev.get(app.url("/admin")).send().await.unwrap().text().await.unwrap();
    let needle = "name=\"csrf\" value=\"";
    let start = home.find(needle).unwrap() + needle.len();
    let csrf = home[start..start + home[start..].find('"').unwrap()].to_string();
    let out = rev.post(app.url("/admin/logout")).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(rev.get(app.url("/admin")).send().await.unwrap().status(), StatusCode::SEE_OTHER, "logged out");
    assert_eq!(again.get(app.url("/admin")).send().await.unwrap().status(), 200, "the other session lives");

    // Five wrong passwords lock the account, even against the right one afterwards.
    let bad = client();
    for _ in 0..4 {
        assert_eq!(login(&app, &bad, "admin1", "wrong password!").await.status(), StatusCode::UNAUTHORIZED);
    }
    let locked = login(&app, &bad, "admin1", "wrong password!").await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    let locked = login(&app, &bad, "admin1", "admin password 1").await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(locked.text().await.unwrap().contains("锁定"));
    // An unknown name is refused like a wrong password.
    assert_eq!(login(&app, &bad, "nobody", "whatever at all").await.status(), StatusCode::UNAUTHORIZED);

    let actions: Vec<String> = app.store().audit_entries().await.unwrap().iter().map(|e| e.action.clone()).collect();
    for expected in ["login", "logout", "login.failed", "login.lockout", "login.locked"] {
        assert!(actions.iter().any(|a| a == expected), "{expected} not audited: {actions:?}");
    }
    assert_eq!(app.store().verify_audit_chain().await.unwrap().map(|n| n > 10), Ok(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_needs_its_csrf_token() {
    let app = InProcess::start(crate::harness::Backend::Sqlite, WebOptions::default()).await;
    app.store().add_user("test", "admin1", Role::Admin, "admin password 1").await.unwrap();
    let res = client()
        .post(app.url("/admin/login"))
        .form(&[("username", "admin1"), ("password", "admin password 1")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.headers().get_all("set-cookie").iter().all(|c| !c.to_str().unwrap().starts_with("yj_session=")));
}

/// Bearer tokens from the command line open the admin API (not the pages), carry their
/// user's role, and stop working when revoked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_tokens_from_the_command_line() {
    let app = InProcess::start(crate::harness::Backend::Sqlite, WebOptions::default()).await;
    app.store().add_user("test", "rev1", Role::Reviewer, "reviewer password 1").await.unwrap();
    let data_args: Vec<String> = app.data.args();
    let args =
        |extra: &[&str]| -> Vec<String> { extra.iter().map(|s| s.to_string()).chain(data_args.clone()).collect() };
    let run = |a: Vec<String>| {
        let out = std::process::Command::new(crate::harness::BIN).args(&a).env("USER", "tester").output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, _, err) = run(args(&["token", "create", "--user", "nobody"]));
    assert!(!ok && err.contains("no user named nobody"), "{err}");
    let (ok, token, err) = run(args(&["token", "create", "--user", "rev1", "--expires", "30"]));
    assert!(ok, "{err}");
    let token = token.trim().to_string();
    assert!(token.starts_with("yjt_") && token.len() == 68, "{token}");

    let c = client();
    let res = c.get(app.url("/api/v1/admin/consultations")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        c.get(app.url("/api/v1/admin/users")).bearer_auth(&token).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        c.get(app.url("/admin")).bearer_auth(&token).send().await.unwrap().status(),
        StatusCode::SEE_OTHER,
        "pages need a session"
    );
    assert_eq!(
        c.get(app.url("/api/v1/admin/consultations")).bearer_auth("yjt_forged").send().await.unwrap().status(),
        401
    );

    let (ok, list, _) = run(args(&["token", "list"]));
    assert!(ok && list.contains("rev1") && list.contains("expires") && !list.contains(&token), "{list}");
    let id = list.split('\t').next().unwrap().to_string();
    let (ok, _, _) = run(args(&["token", "revoke", &id]));
    assert!(ok);
    assert_eq!(c.get(app.url("/api/v1/admin/consultations")).bearer_auth(&token).send().await.unwrap().status(), 401);
    let (ok, _, err) = run(args(&["token", "revoke", "deadbeef"]));
    assert!(!ok && err.contains("no token"), "{err}");
}
