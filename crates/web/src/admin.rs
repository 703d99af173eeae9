//! The staff side's front door: login, logout, sessions, and who may see what.
//!
//! Every `/admin` page and `/api/v1/admin` endpoint sits behind [`require_staff`]: an anonymous
//! visitor is sent to `/admin/login` (pages) or answered 401 (API) before any handler runs, so
//! no byte of data leaves. Admin-only routes also check the role and answer 403.

use askama::Template;
use axum::Json;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use serde_json::json;
use yijian_app::staff::{PasswordCheck, SignIn, TotpChange, TotpOutcome};
use yijian_domain::Lang;
use yijian_domain::staff::{AuditReason, Role};
use yijian_store::SessionUser;

use crate::AppState;
use crate::error::{ErrorCode, WebError};
use crate::extract::{Admin, ClientAddr, CsrfForm, Form, Language, ManageUsers, RevealPersonalData, Staff, check_csrf};
use crate::texts::{Texts, texts};

/// The session cookie's name as the handlers know it (on a secure site it travels as
/// `__Host-yj_session`: see [`crate::csrf::cookie_names`]).
pub(crate) const SESSION_COOKIE: &str = "yj_session";

fn session_token(headers: &HeaderMap) -> Option<&str> {
    crate::extract::cookie(headers, SESSION_COOKIE)
}

/// How a request showed who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// A bearer token, which a browser never adds by itself: no CSRF token needed.
    Bearer,
    /// The session cookie, which a browser sends whoever made the request.
    Session,
}

/// Pages an admin without two-step login may still use when it is compulsory: setting it up,
/// and leaving.
const ENROLMENT_PATHS: &[&str] = &["/admin/account", "/admin/logout"];

/// Lets a request through only with a live staff session (or, for the API, a bearer token),
/// which it attaches for the handlers. A change through the API on a session cookie must carry
/// the CSRF token in its `X-CSRF-Token` header; where two-step login is compulsory for admins,
/// an admin without it is sent to set it up.
pub async fn require_staff(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if req.uri().path() == "/admin/login" {
        return next.run(req).await;
    }
    let path = req.uri().path().to_string();
    let (user, via) = match authenticate(&state, &path, req.headers()).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    let api = path.starts_with("/api/");
    let changes = !matches!(*req.method(), Method::GET | Method::HEAD);
    if api && changes && via == Via::Session {
        let token = req.headers().get(crate::csrf::HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !crate::csrf::matches(&state, req.headers(), token) {
            let lang = crate::extract::lang_of(req.headers());
            return WebError::new(StatusCode::FORBIDDEN, ErrorCode::Csrf, lang, texts(lang).csrf_header_needed)
                .into_response();
        }
    }
    if state.options.require_admin_totp
        && user.role == Role::Admin
        && !ENROLMENT_PATHS.contains(&path.as_str())
        && !state.app.totp_enabled(&user.name).await.unwrap_or(false)
    {
        if api {
            let lang = crate::extract::lang_of(req.headers());
            return WebError::new(
                StatusCode::FORBIDDEN,
                ErrorCode::TotpRequired,
                lang,
                texts(lang).admins_need_two_step,
            )
            .into_response();
        }
        return Redirect::to("/admin/account").into_response();
    }
    req.extensions_mut().insert(user);
    next.run(req).await
}

/// The staff user a request carries and how, or the answer that sends it to log in: 401 under
/// `/api/`, a redirect to the login page elsewhere.
pub async fn authenticate(state: &AppState, path: &str, headers: &HeaderMap) -> Result<(SessionUser, Via), Response> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let now = Timestamp::now();
    // Bearer tokens open the JSON API only; pages need a session (and its CSRF protection).
    let user = match (bearer, session_token(headers)) {
        (Some(token), _) if path.starts_with("/api/") => {
            state.app.token_user(token, now).await.ok().flatten().map(|u| (u, Via::Bearer))
        }
        (_, Some(token)) => state.app.session_user(token, now).await.ok().flatten().map(|u| (u, Via::Session)),
        _ => None,
    };
    match user {
        Some(found) => Ok(found),
        None if path.starts_with("/api/") => Err((
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            Json(json!({"error": {"code": ErrorCode::Unauthenticated.as_str(), "message": texts(Lang::En).log_in_first}})),
        )
            .into_response()),
        None => Err(Redirect::to("/admin/login").into_response()),
    }
}

/// `GET /api/v1/admin/session`: who is signed in, and the CSRF token a script sends in the
/// `X-CSRF-Token` header with each change it makes on the session cookie (its cookie is set too).
pub async fn api_session(State(state): State<AppState>, Staff(user): Staff, headers: HeaderMap) -> Response {
    let csrf = crate::csrf::token_for(&state, &headers);
    let body = Json(json!({"user": user.name, "role": user.role.as_str(), "csrf_token": csrf}));
    crate::csrf::with_cookie(body.into_response(), &csrf)
}

fn forbidden_page(lang: Lang) -> Response {
    crate::extract::page_for_admins(lang).render(false)
}

#[derive(Template)]
#[template(path = "admin_login.html")]
struct LoginPage {
    t: &'static Texts,
    other_lang_href: String,
    heading: &'static str,
    username_label: &'static str,
    password_label: &'static str,
    totp_label: &'static str,
    username: String,
    csrf: String,
    error: Option<String>,
}

fn login_page(
    state: &AppState,
    lang: Lang,
    status: StatusCode,
    username: String,
    error: Option<String>,
    headers: &HeaderMap,
) -> Response {
    let csrf = crate::csrf::token_for(state, headers);
    let page = LoginPage {
        t: texts(lang),
        other_lang_href: "/admin/login?lang=en".into(),
        heading: texts(lang).staff_login,
        username_label: texts(lang).user_name,
        password_label: texts(lang).password,
        totp_label: texts(lang).one_time_code_if_two,
        username,
        csrf: csrf.clone(),
        error,
    };
    crate::csrf::with_cookie(crate::pages::html(status, crate::pages::render(&page), lang, false), &csrf)
}

pub async fn login_form(State(state): State<AppState>, Language(lang): Language, headers: HeaderMap) -> Response {
    login_page(&state, lang, StatusCode::OK, String::new(), None, &headers)
}

/// The time a lock ends, as the login page says it.
fn lock_end(until: Timestamp) -> String {
    until
        .to_zoned(jiff::tz::TimeZone::get("Asia/Shanghai").unwrap_or(jiff::tz::TimeZone::UTC))
        .strftime("%H:%M")
        .to_string()
}

pub async fn login(
    State(state): State<AppState>,
    Language(lang): Language,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    form: Result<Form<{ 16 * 1024 }>, WebError>,
) -> Response {
    let f = match form {
        Ok(Form(f)) => f,
        Err(e) => return login_page(&state, lang, e.status, String::new(), None, &headers),
    };
    // The password and the code as typed.
    let (username, password, code) = (f.raw("username").trim().to_string(), f.raw("password"), f.raw("totp"));
    if check_csrf(&state, &headers, &f, lang).is_err() {
        let msg = texts(lang).the_page_had_expired_please;
        return login_page(&state, lang, StatusCode::FORBIDDEN, username, Some(msg.into()), &headers);
    }
    // A name too long to be one is not shown again.
    let shown = if username.chars().count() <= 64 { username.clone() } else { String::new() };
    match state.app.sign_in_from(client, &username, password, code, Timestamp::now()).await {
        Ok(SignIn::Session { token, .. }) => {
            let cookie = format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict");
            let mut res = Redirect::to("/admin").into_response();
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                res.headers_mut().append(header::SET_COOKIE, v);
            }
            res
        }
        Ok(SignIn::Refused) => {
            let msg = texts(lang).wrong_user_name_password_or;
            login_page(&state, lang, StatusCode::UNAUTHORIZED, shown, Some(msg.into()), &headers)
        }
        Ok(SignIn::Locked { until }) => {
            let msg = texts(lang).account_locked.replace("{at}", &lock_end(until));
            login_page(&state, lang, StatusCode::TOO_MANY_REQUESTS, shown, Some(msg), &headers)
        }
        Ok(SignIn::Throttled { wait }) => {
            let secs = u64::try_from(wait.as_secs()).unwrap_or(60).max(1);
            let msg = texts(lang).too_many_failed_logins_from.replace("{min}", &secs.div_ceil(60).to_string());
            let mut res = login_page(&state, lang, StatusCode::TOO_MANY_REQUESTS, shown, Some(msg), &headers);
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
            res
        }
        Ok(SignIn::Busy) => {
            let msg = texts(lang).sign_in_busy;
            let mut res = login_page(&state, lang, StatusCode::SERVICE_UNAVAILABLE, shown, Some(msg.into()), &headers);
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            res
        }
        Err(e) => {
            tracing::error!(error = %e, "login failed");
            login_page(&state, lang, StatusCode::INTERNAL_SERVER_ERROR, shown, None, &headers)
        }
    }
}

pub async fn logout(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let bytes = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let csrf =
        form_urlencoded::parse(&bytes).find(|(k, _)| k == "csrf").map(|(_, v)| v.into_owned()).unwrap_or_default();
    if !crate::csrf::matches(&state, &headers, &csrf) {
        return (StatusCode::FORBIDDEN, texts(Lang::En).csrf_token_wrong).into_response();
    }
    if let Some(token) = session_token(&headers) {
        let _ = state.app.sign_out(token, Timestamp::now()).await;
    }
    let mut res = Redirect::to("/admin/login").into_response();
    let clear = format!("{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
    if let Ok(v) = HeaderValue::from_str(&clear) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

#[derive(Template)]
#[template(path = "admin_home.html")]
struct HomePage {
    t: &'static Texts,
    other_lang_href: String,
    heading: &'static str,
    user: String,
    role: &'static str,
    consultations: Vec<(String, String, String)>,
    is_admin: bool,
    users_label: &'static str,
    logout_label: &'static str,
    csrf: String,
}

async fn consultations_with_counts(state: &AppState) -> Vec<(String, String, i64)> {
    let all = state.app.consultations_with_counts().await.unwrap_or_default();
    all.into_iter().map(|(c, n)| (c.id, c.title, n)).collect()
}

pub async fn home(
    State(state): State<AppState>,
    Staff(user): Staff,
    Language(lang): Language,
    headers: HeaderMap,
) -> Response {
    let csrf = crate::csrf::token_for(&state, &headers);
    let page = HomePage {
        t: texts(lang),
        other_lang_href: "/admin?lang=en".into(),
        heading: texts(lang).back_office,
        user: user.name.clone(),
        role: user.role.as_str(),
        consultations: consultations_with_counts(&state)
            .await
            .into_iter()
            .map(|(id, title, n)| (id, title, texts(lang).n_comments.replace("{n}", &n.to_string())))
            .collect(),
        is_admin: user.role == Role::Admin,
        users_label: texts(lang).staff_accounts,
        logout_label: texts(lang).log_out,
        csrf: csrf.clone(),
    };
    crate::csrf::with_cookie(crate::pages::html(StatusCode::OK, crate::pages::render(&page), lang, false), &csrf)
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    t: &'static Texts,
    other_lang_href: String,
    heading: &'static str,
    name_label: &'static str,
    role_label: &'static str,
    state_label: &'static str,
    users: Vec<(String, &'static str, &'static str)>,
}

pub async fn users(
    State(state): State<AppState>,
    Admin(user, _): Admin<ManageUsers>,
    Language(lang): Language,
) -> Response {
    let page = UsersPage {
        t: texts(lang),
        other_lang_href: "/admin/users?lang=en".into(),
        heading: texts(lang).staff_accounts,
        name_label: texts(lang).name,
        role_label: texts(lang).role,
        state_label: texts(lang).state,
        users: state
            .app
            .users(&user)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|u| (u.name, u.role.as_str(), if u.disabled { "disabled" } else { "enabled" }))
            .collect(),
    };
    crate::pages::html(StatusCode::OK, crate::pages::render(&page), lang, false)
}

pub async fn api_consultations(State(state): State<AppState>) -> Response {
    let list: Vec<_> = consultations_with_counts(&state)
        .await
        .into_iter()
        .map(|(id, title, n)| json!({"id": id, "title": title, "comments": n}))
        .collect();
    Json(list).into_response()
}

pub async fn api_users(State(state): State<AppState>, Admin(user, _): Admin<ManageUsers>) -> Response {
    let list: Vec<_> = state
        .app
        .users(&user)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|u| json!({"name": u.name, "role": u.role.as_str(), "disabled": u.disabled}))
        .collect();
    Json(list).into_response()
}

// ------------------------------------------------------------------------------------------
// One's own account: password and two-step login
// ------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "admin_account.html")]
struct AccountPage {
    t: &'static Texts,
    other_lang_href: String,
    user: String,
    csrf: String,
    message: Option<String>,
    /// Two-step login is compulsory for this admin, who has not set it up yet.
    must_enrol: bool,
    totp_on: bool,
    new_secret: String,
    otpauth: String,
}

async fn account_page(
    state: &AppState,
    user: &SessionUser,
    headers: &HeaderMap,
    status: StatusCode,
    message: Option<String>,
) -> Response {
    let lang = crate::extract::lang_of(headers);
    let csrf = crate::csrf::token_for(state, headers);
    let totp_on = state.app.totp_enabled(&user.name).await.unwrap_or(false);
    let secret = yijian_crypto::totp::new_secret();
    let page = AccountPage {
        t: texts(lang),
        other_lang_href: "/admin/account?lang=en".into(),
        user: user.name.clone(),
        csrf: csrf.clone(),
        message,
        must_enrol: state.options.require_admin_totp && user.role == Role::Admin && !totp_on,
        totp_on,
        new_secret: yijian_crypto::totp::base32(&secret),
        otpauth: yijian_crypto::totp::otpauth_uri("yijian", &user.name, &secret),
    };
    crate::csrf::with_cookie(crate::pages::html(status, crate::pages::render(&page), lang, false), &csrf)
}

pub async fn account(State(state): State<AppState>, Staff(user): Staff, headers: HeaderMap) -> Response {
    account_page(&state, &user, &headers, StatusCode::OK, None).await
}

/// Why the current password (and code) did not open a change.
fn not_verified(check: PasswordCheck, lang: Lang, wrong: &str) -> (StatusCode, String) {
    match check {
        PasswordCheck::Locked { until } => {
            (StatusCode::TOO_MANY_REQUESTS, texts(lang).account_locked.replace("{at}", &lock_end(until)))
        }
        PasswordCheck::TryLater => (StatusCode::TOO_MANY_REQUESTS, texts(lang).sign_in_busy.into()),
        PasswordCheck::Right | PasswordCheck::Wrong => (StatusCode::UNPROCESSABLE_ENTITY, wrong.into()),
    }
}

/// A change of one's two-step login, and what to say of it.
#[allow(clippy::too_many_arguments)]
async fn change_totp(
    state: &AppState,
    user: &SessionUser,
    current: &str,
    code: &str,
    change: TotpChange<'_>,
    client: Option<std::net::IpAddr>,
    lang: Lang,
    done: &str,
) -> (StatusCode, String) {
    let t = texts(lang);
    match state.app.change_totp(user, current, code, change, client, Timestamp::now()).await {
        Ok(TotpOutcome::Done) => (StatusCode::OK, done.to_string()),
        Ok(TotpOutcome::WrongNewCode) => (StatusCode::UNPROCESSABLE_ENTITY, t.wrong_code_two_step_login.into()),
        Ok(TotpOutcome::NotVerified(check)) => not_verified(check, lang, t.the_current_password_or_code),
        Err(e) => {
            tracing::error!(error = %e, "changing two-step login failed");
            (StatusCode::INTERNAL_SERVER_ERROR, t.error_body.to_string())
        }
    }
}

/// Changes one's own password (the current one is asked for; one's other sessions end), or
/// turns two-step login on, replaces its secret, or turns it off: each of these needs the
/// current password, and the current code while it is on; a new secret's first code proves the
/// app holds it. A wrong current password counts towards the lockout, like a failed sign-in.
pub async fn account_update(
    State(state): State<AppState>,
    Staff(user): Staff,
    Language(lang): Language,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    form: Result<CsrfForm<{ 16 * 1024 }>, WebError>,
) -> Response {
    let Ok(CsrfForm(form)) = form else {
        return account_page(
            &state,
            &user,
            &headers,
            StatusCode::FORBIDDEN,
            Some(texts(lang).the_page_had_expired_try.into()),
        )
        .await;
    };
    // Passwords as typed, spaces and all.
    let get = |k: &str| form.raw(k).to_string();
    let now = Timestamp::now();
    let t = texts(lang);
    let failed = |e: yijian_app::Error| {
        tracing::error!(error = %e, "changing an account failed");
        (StatusCode::INTERNAL_SERVER_ERROR, t.error_body.to_string())
    };
    let (status, msg) = match get("action").as_str() {
        "password" => {
            if get("new") != get("confirm") {
                (StatusCode::UNPROCESSABLE_ENTITY, t.the_two_new_passwords_differ.into())
            } else if let Some(problem) = yijian_domain::staff::password_problem(&get("new")) {
                (StatusCode::UNPROCESSABLE_ENTITY, problem)
            } else {
                match state.app.check_password(&user, &get("current"), None, client, now).await {
                    Ok(PasswordCheck::Right) => {
                        match state.app.change_password(&user, session_token(&headers), &get("new"), now).await {
                            Ok(()) => (StatusCode::OK, t.password_changed.into()),
                            Err(e) => failed(e),
                        }
                    }
                    Ok(check) => not_verified(check, lang, t.the_current_password_is_wrong),
                    Err(e) => failed(e),
                }
            }
        }
        "totp_on" => match yijian_crypto::totp::from_base32(&get("secret")) {
            Some(secret) => {
                let new_code = get("code");
                let done = if state.app.totp_enabled(&user.name).await.unwrap_or(false) {
                    t.two_step_login_key_replaced
                } else {
                    t.two_step_login_is_on
                };
                let change = TotpChange::On { secret: &secret, new_code: &new_code };
                change_totp(&state, &user, &get("current"), &get("current_code"), change, client, lang, done).await
            }
            None => (StatusCode::UNPROCESSABLE_ENTITY, t.wrong_code_two_step_login.into()),
        },
        "totp_off" => {
            let done = t.two_step_login_is_off;
            change_totp(&state, &user, &get("current"), &get("current_code"), TotpChange::Off, client, lang, done).await
        }
        _ => (StatusCode::BAD_REQUEST, t.unknown_action.into()),
    };
    account_page(&state, &user, &headers, status, Some(msg)).await
}

// ------------------------------------------------------------------------------------------
// One comment, masked; revealing its personal data takes an admin and a reason
// ------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "admin_comment.html")]
struct CommentPage {
    t: &'static Texts,
    other_lang_href: String,
    receipt: String,
    rows: Vec<(&'static str, String)>,
    others: Vec<String>,
    can_reveal: bool,
    csrf: String,
    message: Option<String>,
    consultation_id: String,
    articles: Vec<(u32, String, bool)>,
    tags: Vec<String>,
    disposition: String,
    disposition_reason: String,
    moderation: String,
    moderation_reason: String,
    excerpt: String,
    dispositions: Vec<(String, String)>,
    moderations: Vec<(String, String)>,
    mail_id: Option<i64>,
    /// The campaign the comment is in.
    campaign: Option<i64>,
    attachments: Vec<crate::mail::AttachmentRow>,
    /// Whether the user may open the attachments (with a reason).
    can_open: bool,
    /// Issue 13: the comment is disputed, and the decisions staff may give.
    disputed: bool,
    dispute_decisions: Vec<(String, String)>,
    /// Issue 14: its article suggestions, open ones with accept and reject.
    suggestions: Vec<SuggestionRow>,
    /// Issue 14: the themes it is in, one per article (id, what the link says).
    themes: Vec<(i64, String)>,
}

/// One article suggestion as the comment page shows it.
pub(crate) struct SuggestionRow {
    pub article: u32,
    pub label: String,
    pub kind: &'static str,
    pub confidence: String,
    pub state: &'static str,
    pub open: bool,
    /// Below the threshold at which suggestions are shown elsewhere.
    pub low: bool,
}

fn suggestion_rows(
    list: &[yijian_store::StoredSuggestion],
    titles: &[(u32, String)],
    lang: Lang,
) -> Vec<SuggestionRow> {
    use yijian_domain::suggestion::{SHOW_THRESHOLD, SuggestionKind};
    use yijian_store::SuggestionState;
    let t = texts(lang);
    list.iter()
        .map(|s| {
            let a = s.suggestion.article;
            SuggestionRow {
                article: a,
                label: titles
                    .iter()
                    .find(|(n, _)| *n == a)
                    .map(|(_, l)| l.clone())
                    .unwrap_or_else(|| crate::review::article_label(a, lang)),
                kind: match s.suggestion.kind {
                    SuggestionKind::Explicit => t.suggestion_explicit,
                    SuggestionKind::Similar => t.suggestion_similar,
                },
                confidence: format!("{:.2}", s.suggestion.confidence),
                state: match s.state {
                    SuggestionState::Open => "",
                    SuggestionState::Accepted => t.suggestion_accepted,
                    SuggestionState::Rejected => t.suggestion_rejected,
                },
                open: s.state == SuggestionState::Open,
                low: s.suggestion.confidence < SHOW_THRESHOLD,
            }
        })
        .collect()
}

pub(crate) async fn comment_page(
    state: &AppState,
    user: &SessionUser,
    headers: &HeaderMap,
    receipt: &str,
    reveal_for: Option<&AuditReason>,
    status: StatusCode,
    message: Option<String>,
) -> Response {
    let lang = crate::extract::lang_of(headers);
    let reveal = reveal_for.is_some();
    let Some(r) = yijian_domain::receipt::Receipt::parse(receipt) else {
        return crate::pages::message(StatusCode::NOT_FOUND, lang, texts(lang).not_found, texts(lang).not_found_body);
    };
    let found = match reveal_for {
        // The reveal is audited before the comment is read: no entry, no reveal.
        Some(reason) => state.app.reveal(user, &r, reason, Timestamp::now()).await,
        None => state.app.comment(user, &r).await,
    };
    let c = match found {
        Ok(Some(c)) => c,
        Ok(None) => {
            return crate::pages::message(
                StatusCode::NOT_FOUND,
                lang,
                texts(lang).not_found,
                texts(lang).not_found_body,
            );
        }
        Err(yijian_app::Error::Forbidden) => return forbidden_page(lang),
        Err(e) => {
            tracing::error!(error = %e, "reading a comment failed");
            return crate::pages::message(
                StatusCode::INTERNAL_SERVER_ERROR,
                lang,
                texts(lang).error,
                texts(lang).error_body,
            );
        }
    };
    let others = match &c.id_number {
        Some(id) => state
            .app
            .receipts_by_id_number(user, id)
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|o| *o != r)
            .map(|o| o.to_string())
            .collect(),
        None => vec![],
    };
    let label = |f: &str| yijian_domain::messages::field_label(f, lang);
    let (id_shown, phone_shown) = if reveal {
        (c.id_number.as_ref().map(|i| i.expose().to_string()), c.phone.as_ref().map(|p| p.stored_form()))
    } else {
        (c.id_number.as_ref().map(|i| i.to_string()), c.phone.as_ref().map(|p| p.to_string()))
    };
    let none = || "—".to_string();
    let rows = vec![
        (texts(lang).consultation, format!("{} ({} {})", c.consultation_id, texts(lang).text_version, c.version)),
        (texts(lang).channel, c.channel.as_str().to_string()),
        (texts(lang).received_at, c.submitted_at.to_string()),
        (texts(lang).status, c.status.clone()),
        (label("name"), c.name.clone().unwrap_or_else(none)),
        (label("id_number"), id_shown.unwrap_or_else(none)),
        (label("position"), c.position.clone().unwrap_or_else(none)),
        (label("phone"), phone_shown.unwrap_or_else(none)),
        (label("email"), c.email.clone().unwrap_or_else(none)),
        (
            label("articles"),
            c.articles.iter().map(|n| crate::review::article_label(*n, lang)).collect::<Vec<_>>().join("、"),
        ),
        (texts(lang).sender_entered_by, c.sender.clone().unwrap_or_else(none)),
        (label("note"), c.note.clone().unwrap_or_else(none)),
        (texts(lang).disposition, c.disposition.map(|d| d.label(lang).to_string()).unwrap_or_else(none)),
        (texts(lang).reasoning, c.disposition_reason.clone().unwrap_or_else(none)),
        (
            texts(lang).moderation,
            c.moderation
                .map(|m| format!("{}（{}）", m.label(lang), c.moderation_reason.clone().unwrap_or_default()))
                .unwrap_or_else(none),
        ),
        (texts(lang).tags, if c.tags.is_empty() { none() } else { c.tags.join("、") }),
        (texts(lang).report_excerpt, c.excerpt.clone().unwrap_or_else(none)),
        (
            texts(lang).last_reviewed,
            match (&c.reviewed_by, c.reviewed_at) {
                (Some(by), Some(at)) => format!("{by} · {at}"),
                _ => none(),
            },
        ),
        // Numbers the citizen wrote into the opinion are masked in it; a reveal shows it as
        // written.
        (
            label("opinion"),
            match (&c.full_opinion, reveal) {
                (Some(full), true) => full.expose().to_string(),
                _ => c.opinion.clone(),
            },
        ),
    ];
    let mut rows = rows;
    let (mail, attachments) = match c.channel {
        yijian_domain::comment::Channel::Email => match state.app.mail_of_comment(user, c.id).await.ok().flatten() {
            Some((m, a)) => (Some(m), a),
            None => (None, vec![]),
        },
        _ => (None, vec![]),
    };
    if let Some(m) = &mail {
        let at = rows.len() - 1;
        rows.insert(at, ("Message-ID", c.message_id.clone().unwrap_or_else(none)));
        rows.insert(at + 1, (texts(lang).mail_subject, m.subject.clone()));
        rows.insert(at + 2, (texts(lang).automatic_reply, m.reply_state.clone().unwrap_or_else(none)));
    }
    if let Some(timing) = c.timing.as_deref().and_then(yijian_store::Timing::parse) {
        rows.insert(
            2,
            (
                texts(lang).timing,
                texts(lang).timing_decide.replace("{timing}", crate::review::timing_label(timing, lang)),
            ),
        );
    }
    // Issue 13: its signals and where it stands with disputes, after the status.
    let signals = state.app.comment_signals(user, &c).await.unwrap_or_default();
    let dispute = state.app.dispute_state(user, &c).await.unwrap_or(yijian_domain::dispute::DisputeState::None);
    rows.insert(
        4,
        (
            texts(lang).signals_label,
            if signals.is_empty() {
                none()
            } else {
                signals.iter().map(|s| s.label(lang)).collect::<Vec<_>>().join("、")
            },
        ),
    );
    let disputed = dispute != yijian_domain::dispute::DisputeState::None;
    if disputed {
        let shown = match dispute {
            yijian_domain::dispute::DisputeState::Decided(d) => d.label(lang).to_string(),
            _ => texts(lang).dispute_pending.to_string(),
        };
        rows.insert(5, (texts(lang).dispute_state_label, shown));
    }
    let draft_articles: Vec<(u32, String)> = match state.app.consultation(&c.consultation_id).await {
        Ok(Some(live)) => live
            .document
            .articles()
            .map(|a| (a.number, format!("{} {}", crate::review::article_label(a.number, lang), a.title)))
            .collect(),
        _ => vec![],
    };
    let suggestions = state.app.comment_suggestions(user, &c).await.unwrap_or_default();
    let suggestions = suggestion_rows(&suggestions, &draft_articles, lang);
    let themes = state.app.comment_themes(user, &c).await.unwrap_or_default();
    let themes = themes
        .into_iter()
        .map(|(k, article, label)| {
            let scope = match article {
                Some(n) => crate::review::article_label(n, lang),
                None => texts(lang).theme_whole_draft.to_string(),
            };
            (k, format!("{scope}：{label}"))
        })
        .collect();

    let csrf = crate::csrf::token_for(state, headers);
    let page = CommentPage {
        t: texts(lang),
        other_lang_href: format!("/admin/comments/{r}?lang=en"),
        receipt: r.to_string(),
        rows,
        others,
        can_reveal: user.role == Role::Admin && !reveal,
        csrf: csrf.clone(),
        message,
        consultation_id: c.consultation_id.clone(),
        articles: draft_articles.into_iter().map(|(n, l)| (n, l, c.articles.contains(&n))).collect(),
        tags: c.tags.clone(),
        disposition: c.disposition.map(|d| d.as_str().to_string()).unwrap_or_default(),
        disposition_reason: c.disposition_reason.clone().unwrap_or_default(),
        moderation: c.moderation.map(|m| m.as_str().to_string()).unwrap_or_default(),
        moderation_reason: c.moderation_reason.clone().unwrap_or_default(),
        excerpt: c.excerpt.clone().unwrap_or_default(),
        dispositions: yijian_domain::review::Disposition::ALL
            .map(|d| (d.as_str().to_string(), d.label(lang).to_string()))
            .to_vec(),
        moderations: yijian_domain::review::Moderation::ALL
            .map(|m| (m.as_str().to_string(), m.label(lang).to_string()))
            .to_vec(),
        mail_id: mail.as_ref().map(|m| m.id),
        campaign: c.campaign,
        attachments: crate::mail::attachment_rows(&attachments, lang),
        can_open: user.role.may(yijian_domain::staff::Permission::OpenMailOriginals),
        disputed,
        dispute_decisions: yijian_domain::dispute::DisputeDecision::ALL
            .map(|d| (d.as_str().to_string(), d.label(lang).to_string()))
            .to_vec(),
        suggestions,
        themes,
    };
    crate::csrf::with_cookie(crate::pages::html(status, crate::pages::render(&page), lang, false), &csrf)
}

pub async fn comment(
    State(state): State<AppState>,
    Staff(user): Staff,
    Language(lang): Language,
    axum::extract::Path(receipt): axum::extract::Path<String>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
    headers: HeaderMap,
) -> Response {
    let done = query.as_deref().is_some_and(|q| q.split('&').any(|p| p == "done=1"));
    let message = done.then(|| texts(lang).saved.to_string());
    comment_page(&state, &user, &headers, &receipt, None, StatusCode::OK, message).await
}

/// Shows one comment's ID and phone numbers in full: admins only, with a reason, audited.
pub async fn reveal(
    State(state): State<AppState>,
    Admin(user, _): Admin<RevealPersonalData>,
    Language(lang): Language,
    axum::extract::Path(receipt): axum::extract::Path<String>,
    headers: HeaderMap,
    form: Result<CsrfForm<{ 16 * 1024 }>, WebError>,
) -> Response {
    let Ok(CsrfForm(form)) = form else {
        return comment_page(
            &state,
            &user,
            &headers,
            &receipt,
            None,
            StatusCode::FORBIDDEN,
            Some(texts(lang).the_page_had_expired.into()),
        )
        .await;
    };
    let Some(reason) = AuditReason::parse(form.raw("reason")) else {
        let msg = texts(lang).reveal_reason_required;
        return comment_page(
            &state,
            &user,
            &headers,
            &receipt,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(msg.into()),
        )
        .await;
    };
    comment_page(&state, &user, &headers, &receipt, Some(&reason), StatusCode::OK, None).await
}

pub async fn api_comment(
    State(state): State<AppState>,
    Staff(user): Staff,
    axum::extract::Path(receipt): axum::extract::Path<String>,
) -> Response {
    let found = match yijian_domain::receipt::Receipt::parse(&receipt) {
        Some(r) => state.app.comment(&user, &r).await.ok().flatten(),
        None => None,
    };
    let Some(c) = found else {
        let message = texts(Lang::En).no_comment_has_this_number;
        return WebError::new(StatusCode::NOT_FOUND, ErrorCode::CommentNotFound, Lang::En, message).into_response();
    };
    let signals = state.app.comment_signals(&user, &c).await.unwrap_or_default();
    let dispute = state.app.dispute_state(&user, &c).await.unwrap_or(yijian_domain::dispute::DisputeState::None);
    let suggestions = state.app.comment_suggestions(&user, &c).await.unwrap_or_default();
    let open: Vec<_> =
        suggestions.iter().filter(|s| s.state == yijian_store::SuggestionState::Open).map(|s| s.suggestion).collect();
    Json(json!({
        "signals": signals.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "suggested_articles": open,
        "suggestions": suggestions,
        "dispute": crate::disputes::dispute_state_code(dispute),
        "receipt": c.receipt.to_string(),
        "consultation_id": c.consultation_id,
        "version": c.version,
        "channel": c.channel.as_str(),
        "submitted_at": c.submitted_at.to_string(),
        "status": c.status,
        "name": c.name,
        "id_number": c.id_number.map(|i| i.to_string()),
        "position": c.position,
        "phone": c.phone.map(|p| p.to_string()),
        "email": c.email,
        "articles": c.articles,
        "opinion": c.opinion,
        "sender": c.sender,
        "message_id": c.message_id,
        "timing": c.timing,
        "disposition": c.disposition.map(|d| d.as_str()),
        "disposition_reason": c.disposition_reason,
        "moderation": c.moderation.map(|m| m.as_str()),
        "tags": c.tags,
        "campaign": c.campaign,
    }))
    .into_response()
}

/// `GET /admin/lookup?receipt=…`: straight to a comment by its tracking number, in any case,
/// with or without dashes.
pub async fn lookup(
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
    Language(lang): Language,
) -> Response {
    match q.get("receipt").and_then(|r| yijian_domain::receipt::Receipt::parse(r)) {
        Some(r) => Redirect::to(&format!("/admin/comments/{r}")).into_response(),
        None => crate::pages::message(
            StatusCode::UNPROCESSABLE_ENTITY,
            lang,
            texts(lang).not_found,
            texts(lang).a_tracking_number_looks_like,
        ),
    }
}
