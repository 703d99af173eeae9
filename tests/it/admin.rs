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
    ("GET", "/admin/account"),
    ("POST", "/admin/account"),
    ("POST", "/admin/logout"),
    ("GET", "/admin/consultations"),
    ("GET", "/admin/comments/YJ-0000-0000"),
    ("POST", "/admin/comments/YJ-0000-0000/reveal"),
    ("GET", "/api/v1/admin/comments/YJ-0000-0000"),
    ("GET", "/api/v1/admin/consultations"),
    ("GET", "/api/v1/admin/users"),
    ("GET", "/api/v1/admin/comments"),
    ("POST", "/admin/comments/YJ-0000-0000/review"),
    ("GET", "/admin/lookup?receipt=YJ-0000-0000"),
    ("GET", "/admin/c/ln-hrss-ai-2025"),
    ("POST", "/admin/c/ln-hrss-ai-2025/bulk"),
    ("GET", "/admin/c/ln-hrss-ai-2025/manual"),
    ("POST", "/admin/c/ln-hrss-ai-2025/manual"),
    ("GET", "/admin/c/ln-hrss-ai-2025/dashboard"),
    ("GET", "/admin/c/ln-hrss-ai-2025/export"),
    ("POST", "/admin/c/ln-hrss-ai-2025/export"),
    ("GET", "/admin/c/ln-hrss-ai-2025/report"),
    ("POST", "/admin/c/ln-hrss-ai-2025/report"),
    ("GET", "/admin/c/ln-hrss-ai-2025/manage"),
    ("POST", "/admin/c/ln-hrss-ai-2025/manage"),
    ("POST", "/admin/c/ln-hrss-ai-2025/upload"),
    ("POST", "/admin/consultations"),
    ("GET", "/admin/consultations/new"),
    ("GET", "/admin/drafts/x"),
    ("POST", "/admin/drafts/x"),
    ("POST", "/api/v1/admin/comments/YJ-0000-0000/review"),
    ("GET", "/api/v1/admin/consultations/ln-hrss-ai-2025/comments"),
    ("POST", "/api/v1/admin/consultations/ln-hrss-ai-2025/comments"),
    ("POST", "/api/v1/admin/consultations/ln-hrss-ai-2025/review"),
    ("GET", "/api/v1/admin/consultations/ln-hrss-ai-2025/dashboard"),
    ("GET", "/api/v1/admin/consultations/ln-hrss-ai-2025/export"),
    ("POST", "/api/v1/admin/consultations/ln-hrss-ai-2025/export"),
    ("GET", "/api/v1/admin/consultations/ln-hrss-ai-2025/report"),
    ("POST", "/api/v1/admin/consultations/ln-hrss-ai-2025/report"),
    ("POST", "/api/v1/admin/consultations/ln-hrss-ai-2025/extend"),
    ("POST", "/api/v1/admin/consultations/ln-hrss-ai-2025/close"),
    ("POST", "/api/v1/admin/consultations/ln-hrss-ai-2025/archive"),
    ("POST", "/api/v1/admin/consultations/ln-hrss-ai-2025/version"),
    ("POST", "/api/v1/admin/consultations"),
    ("GET", "/api/v1/admin/drafts"),
    ("POST", "/api/v1/admin/drafts/x/publish"),
    ("GET", "/admin/mail"),
    ("GET", "/admin/mail/1"),
    ("POST", "/admin/mail/1/raw"),
    ("POST", "/admin/mail/1/assign"),
    ("POST", "/admin/attachments/1"),
    ("GET", "/api/v1/admin/mail"),
    ("GET", "/api/v1/admin/mail/1"),
    ("GET", "/api/v1/admin/mail/1/raw"),
    ("POST", "/api/v1/admin/mail/1/assign"),
    ("GET", "/api/v1/admin/attachments/1"),
];

/// What a reviewer may not do: each answers 403 and changes nothing.
const ADMIN_ONLY: &[(&str, &str)] = &[
    ("GET", "/admin/users"),
    ("GET", "/api/v1/admin/users"),
    ("GET", "/admin/c/ln-hrss-ai-2025/manage"),
    ("POST", "/admin/c/ln-hrss-ai-2025/manage"),
    ("POST", "/admin/c/ln-hrss-ai-2025/upload"),
    ("POST", "/admin/consultations"),
    ("GET", "/admin/consultations/new"),
    ("GET", "/admin/drafts/x"),
    ("POST", "/admin/drafts/x"),
    ("POST", "/api/v1/admin/consultations/ln-hrss-ai-2025/report"),
    ("POST", "/api/v1/admin/consultations/ln-hrss-ai-2025/extend"),
    ("POST", "/api/v1/admin/consultations/ln-hrss-ai-2025/close"),
    ("POST", "/api/v1/admin/consultations/ln-hrss-ai-2025/archive"),
    ("POST", "/api/v1/admin/consultations/ln-hrss-ai-2025/version"),
    ("POST", "/api/v1/admin/consultations"),
    ("GET", "/api/v1/admin/drafts"),
    ("POST", "/api/v1/admin/drafts/x/publish"),
    ("POST", "/admin/mail/1/raw"),
    ("POST", "/admin/attachments/1"),
    ("GET", "/api/v1/admin/mail/1/raw?reason=%E4%B8%80%E4%B8%AA%E8%B6%B3%E5%A4%9F%E9%95%BF%E7%9A%84%E7%90%86%E7%94%B1"),
    (
        "GET",
        "/api/v1/admin/attachments/1?reason=%E4%B8%80%E4%B8%AA%E8%B6%B3%E5%A4%9F%E9%95%BF%E7%9A%84%E7%90%86%E7%94%B1",
    ),
];

/// A reviewer's token and session meet 403 on every admin-only route, whatever the body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviewers_meet_403_on_admin_routes() {
    let app = InProcess::start(crate::harness::Backend::Sqlite, WebOptions::default()).await;
    app.app().add_user("test", "rev1", Role::Reviewer, "reviewer password 1", jiff::Timestamp::now()).await.unwrap();
    let (_, token) = app.app().create_token("test", "rev1", None, jiff::Timestamp::now()).await.unwrap();
    let rev = client();
    login(&app, &rev, "rev1", "reviewer password 1").await;
    let home = rev.get(app.url("/admin")).send().await.unwrap().text().await.unwrap();
    let csrf = field(&home, "name=\"csrf\" value=\"");
    for (method, path) in ADMIN_ONLY {
        let res = if path.starts_with("/api/") {
            let req = if *method == "GET" { app.client.get(app.url(path)) } else { app.client.post(app.url(path)) };
            req.bearer_auth(&token)
                .json(&serde_json::json!({"reason": "一个足够长的理由", "closes_at": "2100-01-01"}))
                .send()
                .await
                .unwrap()
        } else if *method == "GET" {
            rev.get(app.url(path)).send().await.unwrap()
        } else {
            rev.post(app.url(path))
                .form(&[("csrf", csrf.as_str()), ("action", "close"), ("reason", "一个足够长的理由")])
                .send()
                .await
                .unwrap()
        };
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{method} {path}");
    }
    let c = app.store().consultation(DEMO_ID).await.unwrap().unwrap();
    assert!(c.meta.closes_at > jiff::Timestamp::now(), "nothing was closed");
}

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
    app.app().add_user("test", "admin1", Role::Admin, "admin password 1", jiff::Timestamp::now()).await.unwrap();
    app.app().add_user("test", "rev1", Role::Reviewer, "reviewer password 1", jiff::Timestamp::now()).await.unwrap();

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
    app.app().add_user("test", "admin1", Role::Admin, "admin password 1", jiff::Timestamp::now()).await.unwrap();
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
    app.app().add_user("test", "rev1", Role::Reviewer, "reviewer password 1", jiff::Timestamp::now()).await.unwrap();
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

fn field(page: &str, needle: &str) -> String {
    let start = page.find(needle).unwrap_or_else(|| panic!("{needle} not in page")) + needle.len();
    page[start..start + page[start..].find(['"', '<']).unwrap()].to_string()
}

/// Staff change their own password and turn two-step login on and off in the UI.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_password_and_two_step_login() {
    let app = InProcess::start(crate::harness::Backend::Sqlite, WebOptions::default()).await;
    app.app().add_user("test", "rev1", Role::Reviewer, "reviewer password 1", jiff::Timestamp::now()).await.unwrap();
    let c = client();
    assert_eq!(login(&app, &c, "rev1", "reviewer password 1").await.status(), StatusCode::SEE_OTHER);
    let post = |form: Vec<(&'static str, String)>| {
        let c = c.clone();
        let url = app.url("/admin/account");
        async move {
            let page = c.get(&url).send().await.unwrap().text().await.unwrap();
            let mut form = form;
            form.push(("csrf", field(&page, "name=\"csrf\" value=\"")));
            let res = c.post(&url).form(&form).send().await.unwrap();
            (res.status(), res.text().await.unwrap(), page)
        }
    };
    let pw = |current: &str, new: &str, confirm: &str| {
        vec![
            ("action", "password".to_string()),
            ("current", current.into()),
            ("new", new.into()),
            ("confirm", confirm.into()),
        ]
    };
    let (status, body, _) = post(pw("wrong one here", "a new long password", "a new long password")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("当前密码不正确"));
    let (status, _, _) = post(pw("reviewer password 1", "a new long password", "a different one!!")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _, _) = post(pw("reviewer password 1", "short", "short")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, body, _) = post(pw("reviewer password 1", "a new long password", "a new long password")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(login(&app, &client(), "rev1", "reviewer password 1").await.status(), StatusCode::UNAUTHORIZED);

    // Two-step login: a wrong first code leaves it off; the right one turns it on.
    let (status, _, page) =
        post(vec![("action", "totp_on".into()), ("secret", "AAAA".into()), ("code", "000000".into())]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let secret_b32 = field(&page, "id=\"totp-secret\">");
    let secret = yijian_crypto::totp::from_base32(&secret_b32).unwrap();
    // Codes of a step fixed now: this one and the next are accepted for a whole step.
    let t = jiff::Timestamp::now().as_second() as u64;
    let (status, body, _) = post(vec![
        ("action", "totp_on".into()),
        ("current", "a new long password".into()),
        ("secret", secret_b32.clone()),
        ("code", yijian_crypto::totp::code_at(&secret, t)),
    ])
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("两步验证已开启"));
    assert!(app.store().totp_secret("rev1").await.unwrap().is_some());
    assert_eq!(
        login(&app, &client(), "rev1", "a new long password").await.status(),
        StatusCode::UNAUTHORIZED,
        "no code"
    );
    let with_code = client();
    let page = with_code.get(app.url("/admin/login")).send().await.unwrap().text().await.unwrap();
    let res = with_code
        .post(app.url("/admin/login"))
        .form(&[
            ("csrf", field(&page, "name=\"csrf\" value=\"")),
            ("username", "rev1".into()),
            ("password", "a new long password".into()),
            // The enrolment's code is spent; the next step's is not.
            ("totp", yijian_crypto::totp::code_at(&secret, t + 30)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    // Off takes the password and a code not yet spent: the step after next, thirty seconds on
    // (the use case takes the time).
    let rev = yijian_store::SessionUser { name: "rev1".into(), role: Role::Reviewer };
    let later = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(30);
    let code = yijian_crypto::totp::code_at(&secret, t + 60);
    let off = yijian_app::staff::TotpChange::Off;
    let done = app.app().change_totp(&rev, "a new long password", &code, off, None, later).await.unwrap();
    assert_eq!(done, yijian_app::staff::TotpOutcome::Done);
    assert_eq!(login(&app, &client(), "rev1", "a new long password").await.status(), StatusCode::SEE_OTHER);
    let actions: Vec<String> = app.store().audit_entries().await.unwrap().iter().map(|e| e.action.clone()).collect();
    for a in ["user.reset_password", "totp.enable", "totp.disable"] {
        assert!(actions.iter().any(|x| x == a), "{a}: {actions:?}");
    }
}

/// A comment's page shows personal data masked, with the person's other comments; only an
/// admin who gives a reason sees the full numbers, and the reveal is audited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comment_page_masks_and_reveal_needs_admin_and_reason() {
    let app = InProcess::start(
        crate::harness::Backend::Sqlite,
        WebOptions { insecure_no_captcha: true, ..Default::default() },
    )
    .await;
    app.app().add_user("test", "admin1", Role::Admin, "admin password 1", jiff::Timestamp::now()).await.unwrap();
    app.app().add_user("test", "rev1", Role::Reviewer, "reviewer password 1", jiff::Timestamp::now()).await.unwrap();
    let receipts = [crate::harness::submit_good_comment(&app).await, crate::harness::submit_good_comment(&app).await];
    let url = app.url(&format!("/admin/comments/{}", receipts[0]));

    let rev = client();
    login(&app, &rev, "rev1", "reviewer password 1").await;
    let page = rev.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("110105********002X") && page.contains("138****8000"), "masked");
    assert!(!page.contains("11010519491231002X") && !page.contains("13800138000"));
    assert!(page.contains(&receipts[1]), "the same person's other comment");
    assert!(!page.contains("/reveal"), "no reveal form for a reviewer");
    // Even with a valid CSRF token (from the reviewer's own home page) the reveal is refused.
    let home = rev.get(app.url("/admin")).send().await.unwrap().text().await.unwrap();
    let csrf = field(&home, "name=\"csrf\" value=\"");
    let res = rev
        .post(format!("{url}/reveal"))
        .form(&[("csrf", csrf.as_str()), ("reason", "核实身份信息")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let api = crate::harness::get_json(&rev, &app.url(&format!("/api/v1/admin/comments/{}", receipts[0]))).await;
    assert_eq!(api["id_number"], "110105********002X");

    let adm = client();
    login(&app, &adm, "admin1", "admin password 1").await;
    let page = adm.get(&url).send().await.unwrap().text().await.unwrap();
    let csrf = field(&page, "name=\"csrf\" value=\"");
    let res = adm.post(format!("{url}/reveal")).form(&[("csrf", csrf.as_str()), ("reason", "")]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "a reason is required");
    assert!(!res.text().await.unwrap().contains("11010519491231002X"));
    let res = adm
        .post(format!("{url}/reveal"))
        .form(&[("csrf", csrf.as_str()), ("reason", "核实身份：信访复核")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let page = res.text().await.unwrap();
    assert!(page.contains("11010519491231002X") && page.contains("+8613800138000"), "revealed");

    let entries = app.store().audit_entries().await.unwrap();
    let reveal = entries.iter().find(|e| e.action == "reveal.personal_data").expect("the reveal is audited");
    assert_eq!(reveal.actor, "admin1");
    assert!(reveal.detail.contains("信访复核"));
    assert!(entries.iter().all(|e| !e.detail.contains("11010519491231002X")), "the log holds no ID number");
    assert_eq!(
        entries.iter().filter(|e| e.action == "reveal.personal_data").count(),
        1,
        "refused attempts reveal nothing"
    );
}

/// A staff path that does not exist is a 404 in the caller's shape, but only once the caller
/// has shown who they are: a stranger learns nothing of what exists behind the door.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_staff_paths_are_404_after_authentication() {
    let app = InProcess::start(crate::harness::Backend::Sqlite, WebOptions::default()).await;
    app.app().add_user("test", "rev1", Role::Reviewer, "reviewer password 1", jiff::Timestamp::now()).await.unwrap();
    let (_, token) = app.app().create_token("test", "rev1", None, jiff::Timestamp::now()).await.unwrap();
    let anonymous = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
    for path in ["/api/v1/admin/no-such-thing", "/api/v1/admin/consultations/x/y/z", "/api/v1/admin/users/extra"] {
        let res = anonymous.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{path} without a token");
        let res = anonymous.get(app.url(path)).bearer_auth(&token).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("application/json"), "{path}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_found", "{path}: {body}");
    }
    let res = anonymous.get(app.url("/admin/no-such-page")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "a stranger is sent to log in");
    assert_eq!(res.headers()["location"], "/admin/login");
    let (session, _) = crate::review::login_session(&app, "rev1", "reviewer password 1").await;
    for path in ["/admin/no-such-page", "/admin/c/ln-hrss-ai-2025/nothing-here", "/admin/mail/1/raw/extra"] {
        let res = session.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/html"), "{path}");
        let page = res.text().await.unwrap();
        assert!(!page.contains("ln-hrss-ai-2025\">"), "{path} is not the consultation list");
    }
    // A bearer token opens the JSON API only: on a page path it is no session.
    let res = anonymous.get(app.url("/admin/no-such-page")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}
