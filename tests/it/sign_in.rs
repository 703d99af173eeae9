//! The staff side's defences: CSRF on the staff API and JSON-only bodies; sign-in counted
//! before the password is hashed (parallel guesses, unknown names, floods, the account page's
//! password check); two-step login (changes need the password and code, codes once, the CLI
//! reset, compulsory for admins); sessions and cookies (https names and flags, HSTS, password
//! changes end other sessions, idle timeout, purge).

use std::net::IpAddr;

use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use serde_json::{Value, json};
use yijian_domain::staff::Role;
use yijian_store::SessionUser;
use yijian_web::WebOptions;

use crate::harness::{Backend, DEMO_ID, InProcess, run};
use crate::on_both_backends;

const ADMIN_PW: &str = "admin password 1";
const REV_PW: &str = "reviewer password 1";

fn client() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(Policy::none()).build().unwrap()
}

fn field(page: &str, needle: &str) -> String {
    let start = page.find(needle).unwrap_or_else(|| panic!("{needle} not in page")) + needle.len();
    page[start..start + page[start..].find(['"', '<']).unwrap()].to_string()
}

fn csrf_of(page: &str) -> String {
    field(page, "name=\"csrf\" value=\"")
}

/// Behind a trusted proxy (the test itself) so that each request may name its own address.
fn behind_proxy() -> WebOptions {
    WebOptions { trusted_proxies: vec!["127.0.0.1".parse().unwrap()], ..Default::default() }
}

async fn start(backend: Backend, options: WebOptions) -> InProcess {
    let app = InProcess::start(backend, options).await;
    let now = Timestamp::now();
    app.app().add_user("test", "admin1", Role::Admin, ADMIN_PW, now).await.unwrap();
    app.app().add_user("test", "rev1", Role::Reviewer, REV_PW, now).await.unwrap();
    app
}

/// A login with the form's CSRF token, from `from` (X-Forwarded-For) when given.
async fn login_from(
    app: &InProcess,
    c: &reqwest::Client,
    from: Option<&str>,
    name: &str,
    password: &str,
    code: &str,
) -> reqwest::Response {
    let page = c.get(app.url("/admin/login")).send().await.unwrap().text().await.unwrap();
    let mut req = c.post(app.url("/admin/login")).form(&[
        ("csrf", csrf_of(&page).as_str()),
        ("username", name),
        ("password", password),
        ("totp", code),
    ]);
    if let Some(ip) = from {
        req = req.header("x-forwarded-for", ip);
    }
    req.send().await.unwrap()
}

async fn login(app: &InProcess, c: &reqwest::Client, name: &str, password: &str) -> reqwest::Response {
    login_from(app, c, None, name, password, "").await
}

/// A CSRF token and its cookie, fetched once, for many logins sent at once without a session.
async fn login_csrf(app: &InProcess) -> String {
    let c = client();
    let page = c.get(app.url("/admin/login")).send().await.unwrap().text().await.unwrap();
    csrf_of(&page)
}

async fn raw_login(app: &InProcess, csrf: &str, from: &str, name: &str, password: &str) -> StatusCode {
    app.client
        .post(app.url("/admin/login"))
        .header("cookie", format!("yj_csrf={csrf}"))
        .header("x-forwarded-for", from)
        .form(&[("csrf", csrf), ("username", name), ("password", password)])
        .send()
        .await
        .unwrap()
        .status()
}

async fn audit_of(app: &InProcess) -> Vec<yijian_store::AuditEntry> {
    app.store().audit_entries().await.unwrap()
}

// ------------------------------------------------------------------------------------------
// 3. CSRF on the staff API, and JSON bodies only
// ------------------------------------------------------------------------------------------

async fn the_staff_api_on_a_session_cookie_needs_the_csrf_header(backend: Backend) {
    let app = start(backend, WebOptions::default()).await;
    let extend = app.url(&format!("/api/v1/admin/consultations/{DEMO_ID}/extend"));
    let body = |date: &str| json!({"closes_at": date, "reason": "应社会各界要求延长"});
    let adm = client();
    let res = login(&app, &adm, "admin1", ADMIN_PW).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let session = set_cookies(&res).into_iter().find(|(k, _, _)| k == "yj_session").unwrap().1;

    // No header: 403 with a clear code, and nothing changes.
    let res = adm.post(&extend).json(&body("2099-01-01")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["error"]["code"], "csrf", "{err}");
    assert!(err["error"]["message"].as_str().unwrap().contains("X-CSRF-Token"), "{err}");
    let closes = app.store().schedule(DEMO_ID).await.unwrap().unwrap().closes_at;
    assert!(closes < "2098-01-01T00:00:00Z".parse().unwrap(), "nothing was extended");

    // A token pair minted outside this session (as a stranger could plant one, cookie and
    // header alike) does not pass: the token is bound to the session.
    let stranger = login_csrf(&app).await;
    let planted = app
        .client
        .post(&extend)
        .header("cookie", format!("yj_session={session}; yj_csrf={stranger}"))
        .header("x-csrf-token", &stranger)
        .json(&body("2099-01-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(planted.status(), StatusCode::FORBIDDEN);

    // The session's own token, from GET /api/v1/admin/session: it passes.
    let session: Value = adm.get(app.url("/api/v1/admin/session")).send().await.unwrap().json().await.unwrap();
    assert_eq!((session["user"].as_str(), session["role"].as_str()), (Some("admin1"), Some("admin")));
    let token = session["csrf_token"].as_str().unwrap().to_string();
    let res = adm.post(&extend).header("x-csrf-token", &token).json(&body("2099-01-01")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap());
    // A page's token is the same one, and GET needs none.
    let home = adm.get(app.url("/admin")).send().await.unwrap().text().await.unwrap();
    assert_eq!(csrf_of(&home), token);
    assert_eq!(adm.get(app.url("/api/v1/admin/consultations")).send().await.unwrap().status(), 200);

    // A bearer token needs no CSRF token.
    let (_, bearer) = app.app().create_token("test", "admin1", None, Timestamp::now()).await.unwrap();
    let res = app.client.post(&extend).bearer_auth(&bearer).json(&body("2099-06-01")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // Any body but JSON: 415, before the handler, with bearer and cookie alike.
    let form = app.client.post(&extend).bearer_auth(&bearer).form(&[("closes_at", "2100-01-01")]);
    let plain = app
        .client
        .post(&extend)
        .bearer_auth(&bearer)
        .header("content-type", "text/plain")
        .body(body("2100-01-01").to_string());
    let untyped = app.client.post(&extend).bearer_auth(&bearer).body(body("2100-01-01").to_string());
    let cookie_plain = adm
        .post(&extend)
        .header("x-csrf-token", &token)
        .header("content-type", "text/plain")
        .body(body("2100-01-01").to_string());
    for req in [form, plain, untyped, cookie_plain] {
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let err: Value = res.json().await.unwrap();
        assert_eq!(err["error"]["code"], "unsupported_media_type", "{err}");
    }
    let closes = app.store().schedule(DEMO_ID).await.unwrap().unwrap().closes_at;
    assert!(closes < "2099-12-31T00:00:00Z".parse().unwrap(), "no refused body changed anything");
    // The public submission too.
    let res = app
        .client
        .post(app.url(&format!("/api/v1/consultations/{DEMO_ID}/comments")))
        .header("content-type", "text/plain")
        .body(crate::harness::good_body().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // An operation whose body may be left out takes an empty body without a type.
    let res = app
        .client
        .post(app.url("/api/v1/admin/drafts/no-such-draft/publish"))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap();
    assert_ne!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}
on_both_backends!(the_staff_api_on_a_session_cookie_needs_the_csrf_header);

// ------------------------------------------------------------------------------------------
// 4. Sign-in
// ------------------------------------------------------------------------------------------

/// 100 guesses at once get no more tries than a slow guesser: at most five are checked, and
/// once the fifth has locked the account, the right password sent among more guesses at once
/// does not sign in.
async fn a_burst_of_guesses_gets_five_tries(backend: Backend) {
    let app = start(backend, behind_proxy()).await;
    let csrf = login_csrf(&app).await;
    let before = audit_of(&app).await.len();
    // Each from its own address, so that only the count per name holds them back.
    let guesses = (0..100).map(|i| {
        let (app, csrf) = (&app, &csrf);
        async move { raw_login(app, csrf, &format!("198.51.100.{}", i + 1), "admin1", &format!("guess {i:03}")).await }
    });
    let answers = futures_util::future::join_all(guesses).await;
    let checked: Vec<_> = audit_of(&app).await.into_iter().skip(before).filter(|e| e.subject == "admin1").collect();
    let failed = checked.iter().filter(|e| e.action == "login.failed").count();
    let lockouts = checked.iter().filter(|e| e.action == "login.lockout").count();
    assert_eq!((failed, lockouts), (4, 1), "five checked: {:?}", checked.iter().map(|e| &e.action).collect::<Vec<_>>());
    assert_eq!(answers.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count(), 4, "{answers:?}");
    assert!(
        answers.iter().all(|s| [StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS].contains(s)),
        "{answers:?}"
    );

    // The right password, hidden among guesses sent at once: locked out, every one.
    let burst = (0..20).map(|i| {
        let (app, csrf) = (&app, &csrf);
        let password = if i == 10 { ADMIN_PW.to_string() } else { format!("another guess {i}") };
        async move { raw_login(app, csrf, &format!("203.0.113.{}", i + 1), "admin1", &password).await }
    });
    let answers = futures_util::future::join_all(burst).await;
    assert!(answers.iter().all(|s| *s == StatusCode::TOO_MANY_REQUESTS), "{answers:?}");
    let res = login_from(&app, &client(), Some("192.0.2.200"), "admin1", ADMIN_PW, "").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS, "even the right password, until the lock ends");
    assert_eq!(app.store().session_count().await.unwrap(), 0);
    // The lock ends: the right password signs in again (through the use case, whose clock the
    // test may move).
    let later = Timestamp::now() + SignedDuration::from_mins(16);
    let signed = app.app().sign_in("admin1", ADMIN_PW, "", later).await.unwrap();
    assert!(matches!(signed, yijian_app::staff::SignIn::Session { .. }), "{signed:?}");
}
on_both_backends!(a_burst_of_guesses_gets_five_tries);

/// An unknown name is answered, counted and locked like a real one, and what a stranger typed
/// reaches the audit log short and on one line.
async fn unknown_names_answer_like_real_ones(backend: Backend) {
    let app = start(backend, behind_proxy()).await;
    let (real, unknown) = (client(), client());
    for i in 0..6 {
        let a = login_from(&app, &real, Some("192.0.2.1"), "admin1", "wrong password!", "").await;
        let b = login_from(&app, &unknown, Some("192.0.2.2"), "zzz", "wrong password!", "").await;
        assert_eq!(a.status(), b.status(), "attempt {}", i + 1);
        let expected = if i < 4 { StatusCode::UNAUTHORIZED } else { StatusCode::TOO_MANY_REQUESTS };
        assert_eq!(a.status(), expected, "attempt {}", i + 1);
        let (a, b) = (a.text().await.unwrap(), b.text().await.unwrap());
        // The two locks start a few milliseconds apart, so the minute each ends at may differ
        // when a minute turns between them: compare the messages with their digits set aside.
        let message = |page: &str| {
            page.split("role=\"alert\"")
                .nth(1)
                .map(|m| m[..m.find("</").unwrap()].replace(|c: char| c.is_ascii_digit(), "#"))
        };
        assert_eq!(message(&a), message(&b), "attempt {}", i + 1);
    }
    // The right password of the real one is refused too, until the lock ends.
    let res = login_from(&app, &client(), Some("192.0.2.3"), "admin1", ADMIN_PW, "").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);

    let typed = format!("evil\u{1b}[31m\n{}", "n".repeat(10_000));
    let res = login_from(&app, &client(), Some("192.0.2.4"), &typed, "whatever at all", "").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let entry = audit_of(&app).await.pop().unwrap();
    assert_eq!((entry.actor.as_str(), entry.action.as_str()), ("anonymous", "login.failed"));
    assert!(entry.subject.chars().count() <= 65, "{}", entry.subject.len());
    assert!(entry.subject.starts_with("evil\\u{1b}[31m\\u{a}n") && !entry.subject.contains(char::is_control));
}
on_both_backends!(unknown_names_answer_like_real_ones);

/// Hundreds of failed logins with random 15 KB names from one address: the audit log grows by
/// the address's allowance at most, nothing fails on the server, and a real login from
/// elsewhere goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_failed_logins_neither_stops_a_real_one_nor_swells_the_log() {
    let app = start(Backend::Sqlite, behind_proxy()).await;
    let csrf = login_csrf(&app).await;
    let before = audit_of(&app).await.len();
    let mut answers = vec![];
    for batch in 0..6 {
        let flood = (0..50).map(|i| {
            let (app, csrf) = (&app, &csrf);
            let name: String = hex::encode(yijian_crypto::random_bytes::<16>()).repeat(15 * 1024 / 32);
            async move {
                let _ = (batch, i);
                raw_login(app, csrf, "203.0.113.66", &name, "a wrong password").await
            }
        });
        answers.extend(futures_util::future::join_all(flood).await);
    }
    assert_eq!(answers.len(), 300);
    assert!(
        answers.iter().all(|s| [
            StatusCode::UNAUTHORIZED,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::SERVICE_UNAVAILABLE
        ]
        .contains(s)),
        "{answers:?}"
    );
    let grown = audit_of(&app).await.len() - before;
    let allowance = yijian_domain::staff::LOGIN_POLICY.max_failures_per_address as usize;
    assert!(grown <= allowance, "{grown} entries for 300 failed logins");
    assert!(audit_of(&app).await.iter().all(|e| e.subject.chars().count() <= 65));
    let res = login_from(&app, &client(), Some("192.0.2.10"), "admin1", ADMIN_PW, "").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "a real login still works");
}

/// The current password asked again on the account page counts towards the lockout, and each
/// wrong one is audited.
async fn the_account_page_password_check_counts_and_is_audited(backend: Backend) {
    let app = start(backend, WebOptions::default()).await;
    let c = client();
    assert_eq!(login(&app, &c, "rev1", REV_PW).await.status(), StatusCode::SEE_OTHER);
    let mut statuses = vec![];
    for i in 0..6 {
        let page = c.get(app.url("/admin/account")).send().await.unwrap().text().await.unwrap();
        let res = c
            .post(app.url("/admin/account"))
            .form(&[
                ("csrf", csrf_of(&page)),
                ("action", "password".into()),
                ("current", format!("guess number {i}")),
                ("new", "a new long password".into()),
                ("confirm", "a new long password".into()),
            ])
            .send()
            .await
            .unwrap();
        statuses.push(res.status());
    }
    assert_eq!(statuses[..4], [StatusCode::UNPROCESSABLE_ENTITY; 4]);
    assert_eq!(statuses[4..], [StatusCode::TOO_MANY_REQUESTS; 2], "the fifth wrong one locks");
    assert_eq!(login(&app, &client(), "rev1", REV_PW).await.status(), StatusCode::TOO_MANY_REQUESTS);
    let entries: Vec<_> = audit_of(&app).await.into_iter().filter(|e| e.subject == "rev1").collect();
    let wrong = entries.iter().filter(|e| e.action == "login.failed" && e.detail.contains("asked again")).count();
    assert_eq!(wrong, 4);
    assert!(entries.iter().any(|e| e.action == "login.lockout" && e.detail.contains("asked again")));
    assert!(entries.iter().all(|e| e.action != "user.reset_password"), "the password did not change");
}
on_both_backends!(the_account_page_password_check_counts_and_is_audited);

// ------------------------------------------------------------------------------------------
// 5. Two-step login
// ------------------------------------------------------------------------------------------

fn step_now() -> u64 {
    Timestamp::now().as_second() as u64
}

/// Posts the account form with the page's CSRF token; the page before, and the answer.
async fn account_post(app: &InProcess, c: &reqwest::Client, form: &[(&str, &str)]) -> (String, StatusCode, String) {
    let page = c.get(app.url("/admin/account")).send().await.unwrap().text().await.unwrap();
    let csrf = csrf_of(&page);
    let mut form: Vec<(&str, &str)> = form.to_vec();
    form.push(("csrf", &csrf));
    let res = c.post(app.url("/admin/account")).form(&form).send().await.unwrap();
    let status = res.status();
    (page, status, res.text().await.unwrap())
}

/// Turning two-step login on, replacing or removing it needs the current password (and the
/// current code when it is on); a code's step is accepted once.
async fn two_step_changes_need_the_password_and_codes_count_once(backend: Backend) {
    let app = start(backend, WebOptions::default()).await;
    let c = client();
    assert_eq!(login(&app, &c, "rev1", REV_PW).await.status(), StatusCode::SEE_OTHER);
    // Steps t and t+1 are both accepted for a whole step from now, whenever the clock turns.
    let t = step_now();
    let page = c.get(app.url("/admin/account")).send().await.unwrap().text().await.unwrap();
    let a_b32 = field(&page, "id=\"totp-secret\">");
    let a = yijian_crypto::totp::from_base32(&a_b32).unwrap();
    let code = |s: &[u8], at: u64| yijian_crypto::totp::code_at(s, at);

    // On: without the password, refused.
    let on = |current: &'static str, secret: String, new_code: String| {
        vec![("action", "totp_on".to_string()), ("current", current.into()), ("secret", secret), ("code", new_code)]
    };
    let send = |form: Vec<(&'static str, String)>| {
        let (app, c) = (&app, &c);
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            account_post(app, c, &form).await
        }
    };
    let (_, status, _) = send(on("", a_b32.clone(), code(&a, t))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!app.app().totp_enabled("rev1").await.unwrap());
    let (_, status, body) = send(on(REV_PW, a_b32.clone(), code(&a, t))).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Replace: the password alone is not enough, nor is a code of the wrong secret.
    let page = c.get(app.url("/admin/account")).send().await.unwrap().text().await.unwrap();
    let b_b32 = field(&page, "id=\"totp-secret\">");
    let b = yijian_crypto::totp::from_base32(&b_b32).unwrap();
    let mut replace = on(REV_PW, b_b32.clone(), code(&b, t));
    let (_, status, _) = send(replace.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "no current code");
    replace.push(("current_code", code(&a, t)));
    let (_, status, _) = send(replace.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "the enrolment's code, again");
    assert_eq!(app.store().totp_secret("rev1").await.unwrap().unwrap(), a, "unchanged");
    replace.pop();
    replace.push(("current_code", code(&a, t + 30)));
    let (_, status, body) = send(replace).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(app.store().totp_secret("rev1").await.unwrap().unwrap(), b, "replaced");

    // Sign-in with a code; the same code again fails.
    let first = login_from(&app, &client(), None, "rev1", REV_PW, &code(&b, t + 30)).await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let replayed = login_from(&app, &client(), None, "rev1", REV_PW, &code(&b, t + 30)).await;
    assert_eq!(replayed.status(), StatusCode::UNAUTHORIZED, "a replayed code");

    // Off: the password alone is not enough.
    let off = vec![("action", "totp_off".to_string()), ("current", REV_PW.to_string())];
    let (_, status, _) = send(off).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(app.app().totp_enabled("rev1").await.unwrap());
    let actions: Vec<String> = audit_of(&app).await.into_iter().map(|e| e.action).collect();
    assert!(actions.contains(&"totp.enable".into()) && actions.contains(&"totp.replace".into()), "{actions:?}");
}
on_both_backends!(two_step_changes_need_the_password_and_codes_count_once);

/// `yijian user reset-totp NAME` turns a user's two-step login off, audited with the operator.
async fn two_step_login_is_reset_from_the_command_line(backend: Backend) {
    let app = start(backend, WebOptions::default()).await;
    let rev = SessionUser { name: "rev1".into(), role: Role::Reviewer };
    let secret = yijian_crypto::totp::new_secret();
    let new_code = yijian_crypto::totp::code_at(&secret, step_now());
    let on = yijian_app::staff::TotpChange::On { secret: &secret, new_code: &new_code };
    let done = app.app().change_totp(&rev, REV_PW, "", on, None, Timestamp::now()).await.unwrap();
    assert_eq!(done, yijian_app::staff::TotpOutcome::Done);
    assert!(app.app().totp_enabled("rev1").await.unwrap());

    let (ok, out, err) = run(&["user", "reset-totp", "rev1"], Some(&app.data));
    assert!(ok && out.contains("rev1"), "{out}{err}");
    assert!(!app.app().totp_enabled("rev1").await.unwrap());
    let last = audit_of(&app).await.pop().unwrap();
    assert_eq!(
        (last.actor.as_str(), last.action.as_str(), last.subject.as_str()),
        ("cli:tester", "totp.reset", "rev1")
    );
    assert_eq!(login(&app, &client(), "rev1", REV_PW).await.status(), StatusCode::SEE_OTHER, "the password alone");
    let (ok, _, err) = run(&["user", "reset-totp", "nobody"], Some(&app.data));
    assert!(!ok && err.contains("no user named nobody"), "{err}");
}
on_both_backends!(two_step_login_is_reset_from_the_command_line);

/// With two-step login compulsory for admins, an admin without it can only set it up: pages
/// lead to the account page, the API answers 403 totp_required. Reviewers are not held.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_without_two_step_login_can_only_set_it_up_where_it_is_compulsory() {
    let app = start(Backend::Sqlite, WebOptions { require_admin_totp: true, ..Default::default() }).await;
    let adm = client();
    assert_eq!(login(&app, &adm, "admin1", ADMIN_PW).await.status(), StatusCode::SEE_OTHER);
    for path in ["/admin", "/admin/users", &format!("/admin/c/{DEMO_ID}")] {
        let res = adm.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(res.headers()["location"], "/admin/account", "{path}");
    }
    let account = adm.get(app.url("/admin/account")).send().await.unwrap();
    assert_eq!(account.status(), 200);
    assert!(account.text().await.unwrap().contains("id=\"totp-required\""));
    let res = adm.get(app.url("/api/v1/admin/consultations")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], "totp_required");
    let (_, bearer) = app.app().create_token("test", "admin1", None, Timestamp::now()).await.unwrap();
    let res = app.client.get(app.url("/api/v1/admin/consultations")).bearer_auth(&bearer).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "a token of such an admin too");

    let rev = client();
    assert_eq!(login(&app, &rev, "rev1", REV_PW).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(rev.get(app.url("/admin")).send().await.unwrap().status(), 200, "reviewers are not held");

    // Once set up, the admin goes everywhere.
    let page = adm.get(app.url("/admin/account")).send().await.unwrap().text().await.unwrap();
    let secret_b32 = field(&page, "id=\"totp-secret\">");
    let secret = yijian_crypto::totp::from_base32(&secret_b32).unwrap();
    let code = yijian_crypto::totp::code_at(&secret, step_now());
    let form = [("action", "totp_on"), ("current", ADMIN_PW), ("secret", &secret_b32), ("code", &code)];
    let (_, status, body) = account_post(&app, &adm, &form).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(adm.get(app.url("/admin")).send().await.unwrap().status(), 200);
    assert_eq!(
        app.client.get(app.url("/api/v1/admin/consultations")).bearer_auth(&bearer).send().await.unwrap().status(),
        200
    );
}

// ------------------------------------------------------------------------------------------
// 6. Sessions and cookies
// ------------------------------------------------------------------------------------------

/// `name=value` of each Set-Cookie, with the whole header.
fn set_cookies(res: &reqwest::Response) -> Vec<(String, String, String)> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| {
            let v = v.to_str().unwrap().to_string();
            let pair = v.split(';').next().unwrap();
            let (k, val) = pair.split_once('=').unwrap();
            (k.to_string(), val.to_string(), v)
        })
        .collect()
}

/// On an https site: both cookies carry the `__Host-` prefix and Secure (Path=/, no Domain),
/// HSTS is sent, and a plain-named cookie (as one planted over plain HTTP) is not taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_site_names_its_cookies_host_only_and_secure_and_sends_hsts() {
    let options = WebOptions { secure_cookies: true, hsts: true, ..Default::default() };
    let app = start(Backend::Sqlite, options).await;
    let c = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
    let page = c.get(app.url("/admin/login")).send().await.unwrap();
    assert_eq!(page.headers()["strict-transport-security"], "max-age=31536000; includeSubDomains");
    let cookies = set_cookies(&page);
    let (name, csrf, header) = cookies.iter().find(|(k, _, _)| k.contains("csrf")).unwrap().clone();
    assert_eq!(name, "__Host-yj_csrf");
    assert!(header.contains("; Secure") && header.contains("Path=/") && !header.contains("Domain"), "{header}");
    let form = [("csrf", csrf.as_str()), ("username", "admin1"), ("password", ADMIN_PW)];
    // The token under a plain name is not believed.
    let res =
        c.post(app.url("/admin/login")).header("cookie", format!("yj_csrf={csrf}")).form(&form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = c
        .post(app.url("/admin/login"))
        .header("cookie", format!("__Host-yj_csrf={csrf}"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (name, session, header) = set_cookies(&res).into_iter().find(|(k, _, _)| k.contains("session")).unwrap();
    assert_eq!(name, "__Host-yj_session");
    assert!(header.contains("; Secure") && header.contains("HttpOnly") && header.contains("Path=/"), "{header}");
    let home = c.get(app.url("/admin")).header("cookie", format!("__Host-yj_session={session}")).send().await.unwrap();
    assert_eq!(home.status(), 200);
    let plain = c.get(app.url("/admin")).header("cookie", format!("yj_session={session}")).send().await.unwrap();
    assert_eq!(plain.status(), StatusCode::SEE_OTHER, "a plain-named session cookie is ignored");

    // A plain-http server (the default) sends neither.
    let plain_app = InProcess::start(Backend::Sqlite, WebOptions::default()).await;
    let page = c.get(plain_app.url("/admin/login")).send().await.unwrap();
    assert!(page.headers().get("strict-transport-security").is_none());
    let cookies = set_cookies(&page);
    assert!(cookies.iter().all(|(k, _, h)| !k.starts_with("__Host-") && !h.contains("Secure")), "{cookies:?}");
}

/// A password change ends the user's other sessions (the current one stays); a reset from the
/// command line ends them all.
async fn a_password_change_ends_the_other_sessions(backend: Backend) {
    let app = start(backend, WebOptions::default()).await;
    let (here, there) = (client(), client());
    assert_eq!(login(&app, &here, "rev1", REV_PW).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(login(&app, &there, "rev1", REV_PW).await.status(), StatusCode::SEE_OTHER);
    let form = [
        ("action", "password"),
        ("current", REV_PW),
        ("new", "a new long password"),
        ("confirm", "a new long password"),
    ];
    let (_, status, body) = account_post(&app, &here, &form).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(here.get(app.url("/admin")).send().await.unwrap().status(), 200, "this session stays");
    assert_eq!(there.get(app.url("/admin")).send().await.unwrap().status(), StatusCode::SEE_OTHER, "the other ended");
    let last = audit_of(&app).await.pop().unwrap();
    assert_eq!((last.action.as_str(), last.detail.as_str()), ("user.reset_password", "sessions_ended=1"));

    let (ok, _, err) =
        crate::harness::run_with_stdin(&["user", "reset-password", "rev1"], &app.data, "yet another password\n");
    assert!(ok, "{err}");
    assert_eq!(here.get(app.url("/admin")).send().await.unwrap().status(), StatusCode::SEE_OTHER, "all ended");
}
on_both_backends!(a_password_change_ends_the_other_sessions);

/// A session unused for the idle timeout ends before its eight hours; ended sessions are
/// purged (by a sign-in, and by the purge `serve` runs). Time moves through the use cases'
/// `now`.
async fn idle_sessions_end_and_ended_ones_are_purged(backend: Backend) {
    let app = start(backend, WebOptions::default()).await;
    let c = client();
    let res = login(&app, &c, "rev1", REV_PW).await;
    let token = set_cookies(&res).into_iter().find(|(k, _, _)| k == "yj_session").unwrap().1;
    let now = Timestamp::now();
    let mins = SignedDuration::from_mins;
    let live = |at: Timestamp| {
        let (app, token) = (&app, &token);
        async move { app.app().session_user(token, at).await.unwrap().is_some() }
    };
    assert!(live(now + mins(29)).await, "used within 30 minutes");
    assert!(live(now + mins(58)).await, "each use starts the idle time again");
    assert!(!live(now + mins(89)).await, "31 minutes unused");

    assert_eq!(login(&app, &client(), "rev1", REV_PW).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(login(&app, &client(), "admin1", ADMIN_PW).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.store().session_count().await.unwrap(), 3);
    // 45 minutes on, the two new ones have gone unused for longer than 30 minutes; the first
    // was last used at +58.
    assert_eq!(app.app().purge_sessions(now + mins(45)).await.unwrap(), 2);
    assert_eq!(app.store().session_count().await.unwrap(), 1);
    // A sign-in nine hours on purges the one that has ended by then.
    let later = now + SignedDuration::from_hours(9);
    let signed = app.app().sign_in("rev1", REV_PW, "", later).await.unwrap();
    assert!(matches!(signed, yijian_app::staff::SignIn::Session { .. }));
    assert_eq!(app.store().session_count().await.unwrap(), 1, "only the new one");
}
on_both_backends!(idle_sessions_end_and_ended_ones_are_purged);

/// The address throttle keys an IPv6 client by its /64.
#[test]
fn an_ipv6_client_is_counted_by_its_slash_64() {
    let a: IpAddr = "2001:db8::1".parse().unwrap();
    let b: IpAddr = "2001:db8::ffff:2".parse().unwrap();
    assert_eq!(yijian_app::sign_in_guard::client_key(a), yijian_app::sign_in_guard::client_key(b));
}
