//! "Not written by me" (issue 13): the public page where a person says comments were made
//! with their ID number without them, and the staff pages and API where each is decided.
//!
//! The public answer is the same page whatever was found (same status, same words, no count);
//! only the request's reference differs. The captcha is drawn and checked exactly as the
//! comment form's, and the page is rate-limited with the comment form's limit.

use std::net::SocketAddr;

use askama::Template;
use axum::Json;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use yijian_app::disputes::DisputeRefused;
use yijian_domain::dispute::{DisputeDecision, DisputeState};
use yijian_domain::receipt::Receipt;
use yijian_domain::staff::{AuditReason, Permission};
use yijian_domain::{FieldCode, FieldError, Lang, messages};
use yijian_store::{DisputeRecord, mask_email};

use crate::error::ErrorCode;
use crate::extract::{CsrfForm, Language, PageLanguage, PublicConsultation, Staff, StaffConsultation};
use crate::pages::{CaptchaKind, draw_captcha, html, lang_query, message, other_lang_href, render};
use crate::texts::{Texts, texts};
use crate::{AppState, WebError};

struct FieldView {
    name: &'static str,
    label: &'static str,
    input_type: &'static str,
    autocomplete: &'static str,
    value: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "dispute.html")]
struct DisputePage {
    t: &'static Texts,
    other_lang_href: String,
    lang_query: &'static str,
    lang_amp: &'static str,
    id: String,
    title: String,
    /// The answer's words, once the request is taken.
    received: Option<String>,
    errors: Vec<(&'static str, String)>,
    fields: Vec<FieldView>,
    csrf: String,
    captcha_id: String,
    captcha_kind: &'static str,
    captcha_image: String,
    captcha_audio: Option<String>,
    captcha_unavailable: Option<String>,
    captcha_error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct DisputeQuery {
    captcha: Option<String>,
}

/// Renders the form (with a fresh captcha and CSRF token) or the answer.
#[allow(clippy::too_many_arguments)]
async fn page(
    state: &AppState,
    c: &crate::LiveConsultation,
    lang: Lang,
    client: std::net::IpAddr,
    kind: CaptchaKind,
    entered: &Map<String, Value>,
    errors: &[FieldError],
    received: Option<String>,
    headers: &HeaderMap,
    status: StatusCode,
) -> Response {
    let t = texts(lang);
    let error_for = |field: &str| errors.iter().find(|e| e.field == field).map(|e| messages::field_message(e, lang));
    let (captcha, csrf) = if received.is_some() {
        (crate::pages::CaptchaView::default(), String::new())
    } else {
        (draw_captcha(state, client, kind, lang).await, crate::csrf::token_for(state, headers))
    };
    let spec: [(&'static str, &'static str, &'static str); 3] =
        [("id_number", "text", "off"), ("phone", "tel", "tel"), ("email", "email", "email")];
    let fields = spec
        .iter()
        .map(|&(name, input_type, autocomplete)| FieldView {
            name,
            label: messages::field_label(name, lang),
            input_type,
            autocomplete,
            // The ID number is never written back into a page.
            value: if name == "id_number" {
                String::new()
            } else {
                entered.get(name).and_then(Value::as_str).unwrap_or("").to_string()
            },
            error: error_for(name),
        })
        .collect();
    let summary = errors
        .iter()
        .map(|e| {
            let anchor = match e.field {
                f if f.starts_with("captcha") => "captcha_answer",
                "form" => "dispute-title",
                f => f,
            };
            let text = messages::field_message(e, lang);
            match e.field {
                "form" => (anchor, text),
                f => (anchor, format!("{}{}{text}", messages::field_label(f, lang), t.colon)),
            }
        })
        .collect();
    let p = DisputePage {
        t,
        other_lang_href: other_lang_href(&format!("/c/{}/dispute", c.meta.id), lang),
        lang_query: lang_query(lang).0,
        lang_amp: lang_query(lang).1,
        id: c.meta.id.clone(),
        title: c.document.title.clone(),
        received,
        errors: summary,
        fields,
        csrf: csrf.clone(),
        captcha_id: captcha.id,
        captcha_kind: kind.name(),
        captcha_image: captcha.image,
        captcha_audio: captcha.audio,
        captcha_unavailable: captcha.unavailable,
        captcha_error: errors
            .iter()
            .find(|e| e.field == "captcha_answer" || e.field == "captcha_id")
            .map(|e| messages::field_message(e, lang)),
    };
    let res = html(status, render(&p), lang, false);
    if csrf.is_empty() { res } else { crate::csrf::with_cookie(res, &csrf) }
}

/// `GET /c/{id}/dispute`: the form.
pub async fn form(
    State(state): State<AppState>,
    PageLanguage { lang, .. }: PageLanguage,
    PublicConsultation(c): PublicConsultation,
    Query(q): Query<DisputeQuery>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let client = state.client_ip(peer, &headers);
    let kind = CaptchaKind::asked(q.captcha.as_deref());
    page(&state, &c, lang, client, kind, &Map::new(), &[], None, &headers, StatusCode::OK).await
}

/// `POST /c/{id}/dispute`: takes the request. Whatever it finds, the answer is the same page.
pub async fn submit(
    State(state): State<AppState>,
    PageLanguage { lang, .. }: PageLanguage,
    PublicConsultation(c): PublicConsultation,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let t = texts(lang);
    let Ok(bytes) = axum::body::to_bytes(body, 16 * 1024).await else {
        return message(StatusCode::PAYLOAD_TOO_LARGE, lang, t.too_large, t.too_large_body);
    };
    let client = state.client_ip(peer, &headers);
    let mut fields = Map::new();
    let mut csrf = String::new();
    let mut kind = CaptchaKind::Image;
    for (k, v) in form_urlencoded::parse(&bytes) {
        match k.as_ref() {
            "csrf" => csrf = v.into_owned(),
            "captcha_kind" => kind = CaptchaKind::asked(Some(&v)),
            "id_number" | "phone" | "email" | "captcha_id" | "captcha_answer" => {
                fields.insert(k.into_owned(), Value::String(v.into_owned()));
            }
            _ => {}
        }
    }
    let back = |errors: Vec<FieldError>, status: StatusCode| {
        let (state, c, headers, fields) = (state.clone(), c.clone(), headers.clone(), fields.clone());
        async move { page(&state, &c, lang, client, kind, &fields, &errors, None, &headers, status).await }
    };
    if let Err(wait) = state.check_rate(peer, &headers).await {
        let secs = crate::limits::retry_after_secs(wait);
        let errors = vec![FieldError::new("form", FieldCode::RateLimited).with_limit(secs as usize)];
        let mut res = back(errors, StatusCode::TOO_MANY_REQUESTS).await;
        res.headers_mut().insert(header::RETRY_AFTER, secs.into());
        return res;
    }
    if !crate::csrf::matches(&state, &headers, &csrf) {
        return back(vec![FieldError::new("form", FieldCode::FormExpired)], StatusCode::FORBIDDEN).await;
    }
    match state.app.submit_dispute(&c, &fields, Timestamp::now()).await {
        Ok(reference) => {
            let body = t.dispute_received_body.replace("{reference}", &reference);
            page(&state, &c, lang, client, kind, &Map::new(), &[], Some(body), &headers, StatusCode::OK).await
        }
        Err(DisputeRefused::Invalid(errors)) => back(errors, StatusCode::UNPROCESSABLE_ENTITY).await,
        Err(DisputeRefused::Storage(_)) => {
            back(vec![FieldError::new("form", FieldCode::StorageFailed)], StatusCode::INTERNAL_SERVER_ERROR).await
        }
    }
}

// ------------------------------------------------------------------------------------------
// Staff
// ------------------------------------------------------------------------------------------

struct DisputeView {
    id: i64,
    reference: String,
    received_at: String,
    id_number: String,
    phone: String,
    email: String,
    revealed: bool,
    /// (receipt, where it stands, whether staff may still decide it)
    comments: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "admin_disputes.html")]
struct DisputesPage {
    t: &'static Texts,
    other_lang_href: String,
    id: String,
    title: String,
    csrf: String,
    message: Option<String>,
    disputes: Vec<DisputeView>,
    can_reveal: bool,
    decisions: Vec<(String, String)>,
    id_label: &'static str,
    contact_label: String,
}

fn state_label(s: DisputeState, lang: Lang) -> String {
    match s {
        DisputeState::None => "—".into(),
        DisputeState::Pending => texts(lang).dispute_pending.into(),
        DisputeState::Decided(d) => d.label(lang).into(),
    }
}

fn view(d: DisputeRecord, revealed: bool, tz: &jiff::tz::TimeZone, lang: Lang) -> DisputeView {
    let none = || "—".to_string();
    DisputeView {
        id: d.id,
        reference: d.reference,
        received_at: d.received_at.to_zoned(tz.clone()).strftime("%Y-%m-%d %H:%M").to_string(),
        id_number: if revealed { d.id_number.expose().to_string() } else { d.id_number.to_string() },
        phone: d.phone.map(|p| if revealed { p.stored_form() } else { p.to_string() }).unwrap_or_else(none),
        email: d.email.map(|e| if revealed { e } else { mask_email(&e) }).unwrap_or_else(none),
        revealed,
        comments: d.comments.into_iter().map(|(r, s)| (r.to_string(), state_label(s, lang))).collect(),
    }
}

#[derive(Deserialize, Default)]
pub struct DisputesQuery {
    done: Option<String>,
}

#[allow(clippy::too_many_arguments)]
async fn disputes_page(
    state: &AppState,
    user: &yijian_store::SessionUser,
    c: &crate::LiveConsultation,
    lang: Lang,
    headers: &HeaderMap,
    revealed: Option<DisputeRecord>,
    message: Option<String>,
    status: StatusCode,
) -> Result<Response, WebError> {
    let list = state.app.disputes(user, &c.meta.id).await.map_err(|e| WebError::app(lang, e))?;
    let shown = revealed.as_ref().map(|r| r.id);
    let disputes: Vec<DisputeView> = list
        .into_iter()
        .map(|d| {
            let open = Some(d.id) == shown;
            view(if open { revealed.clone().expect("shown") } else { d }, open, &c.tz, lang)
        })
        .collect();
    let csrf = crate::csrf::token_for(state, headers);
    let p = DisputesPage {
        t: texts(lang),
        other_lang_href: other_lang_href(&format!("/admin/c/{}/disputes", c.meta.id), lang),
        id: c.meta.id.clone(),
        title: c.document.title.clone(),
        csrf: csrf.clone(),
        message,
        disputes,
        can_reveal: user.role.may(Permission::RevealPersonalData),
        decisions: DisputeDecision::ALL.map(|d| (d.as_str().to_string(), d.label(lang).to_string())).to_vec(),
        id_label: messages::field_label("id_number", lang),
        contact_label: format!("{} / {}", messages::field_label("phone", lang), messages::field_label("email", lang)),
    };
    Ok(crate::csrf::with_cookie(html(status, render(&p), lang, false), &csrf))
}

/// `GET /admin/c/{id}/disputes`: the requests, contacts masked, and the comments each names.
pub async fn list(
    State(state): State<AppState>,
    Staff(user): Staff,
    Language(lang): Language,
    StaffConsultation(c): StaffConsultation,
    Query(q): Query<DisputesQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let message = q.done.map(|_| texts(lang).dispute_decided.to_string());
    disputes_page(&state, &user, &c, lang, &headers, None, message, StatusCode::OK).await
}

/// `POST /admin/c/{id}/disputes/{dispute}/reveal`: one request's contact in full, with a
/// reason, audited before it is shown.
pub async fn reveal(
    State(state): State<AppState>,
    Staff(user): Staff,
    Language(lang): Language,
    StaffConsultation(c): StaffConsultation,
    Path((_, dispute)): Path<(String, i64)>,
    headers: HeaderMap,
    form: Result<CsrfForm, WebError>,
) -> Result<Response, WebError> {
    let CsrfForm(f) = form?;
    let Some(reason) = AuditReason::parse(f.raw("reason")) else {
        let msg = texts(lang).reveal_reason_required.to_string();
        return disputes_page(&state, &user, &c, lang, &headers, None, Some(msg), StatusCode::UNPROCESSABLE_ENTITY)
            .await;
    };
    let d = state
        .app
        .reveal_dispute(&user, &c.meta.id, dispute, &reason, Timestamp::now())
        .await
        .map_err(|e| WebError::app(lang, e))?;
    disputes_page(&state, &user, &c, lang, &headers, Some(d), None, StatusCode::OK).await
}

/// `POST /admin/comments/{receipt}/dispute`: staff's decision on a disputed comment.
pub async fn decide(
    State(state): State<AppState>,
    Staff(user): Staff,
    Language(lang): Language,
    Path(receipt): Path<String>,
    headers: HeaderMap,
    form: Result<CsrfForm, WebError>,
) -> Result<Response, WebError> {
    let CsrfForm(f) = form?;
    let back = f.get("back").filter(|b| b.starts_with("/admin/")).map(String::from);
    match decide_one(&state, &user, &receipt, f.get("decision"), f.raw("reason"), lang).await {
        Ok(r) => Ok(Redirect::to(&back.unwrap_or_else(|| format!("/admin/comments/{r}?done=1"))).into_response()),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY || e.status == StatusCode::NOT_FOUND => {
            Ok(crate::admin::comment_page(&state, &user, &headers, &receipt, None, e.status, Some(e.message)).await)
        }
        Err(e) => Err(e),
    }
}

async fn decide_one(
    state: &AppState,
    user: &yijian_store::SessionUser,
    receipt: &str,
    decision: Option<&str>,
    reason: &str,
    lang: Lang,
) -> Result<Receipt, WebError> {
    let no_comment = || {
        WebError::new(StatusCode::NOT_FOUND, ErrorCode::CommentNotFound, lang, texts(lang).no_comment_has_this_number)
    };
    let r = Receipt::parse(receipt).ok_or_else(no_comment)?;
    let comment = state.app.comment(user, &r).await.map_err(|e| WebError::app(lang, e))?;
    let comment = comment.ok_or_else(no_comment)?;
    let live = state.app.consultation(&comment.consultation_id).await.map_err(|e| WebError::app(lang, e))?;
    let live = live.ok_or_else(|| WebError::consultation_not_found(lang))?;
    let unprocessable = |m: &str| WebError::new(StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::Invalid, lang, m);
    let decision =
        decision.and_then(DisputeDecision::parse).ok_or_else(|| unprocessable(texts(lang).dispute_decision))?;
    match state.app.decide_dispute(user, &live, &r, decision, reason, Timestamp::now()).await {
        Ok(()) => Ok(r),
        Err(yijian_app::Error::Invalid(_)) => Err(unprocessable(texts(lang).dispute_reason_required)),
        Err(yijian_app::Error::NotFound(_)) => Err(WebError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::CommentNotFound,
            lang,
            texts(lang).dispute_not_disputed,
        )),
        Err(e) => Err(WebError::app(lang, e)),
    }
}

/// `GET /api/v1/admin/consultations/{id}/disputes`: the requests, contacts masked.
pub async fn api_list(
    State(state): State<AppState>,
    Staff(user): Staff,
    Language(lang): Language,
    StaffConsultation(c): StaffConsultation,
) -> Result<Json<Value>, WebError> {
    let list = state.app.disputes(&user, &c.meta.id).await.map_err(|e| WebError::app(lang, e))?;
    let items: Vec<Value> = list
        .into_iter()
        .map(|d| {
            json!({
                "id": d.id,
                "reference": d.reference,
                "received_at": d.received_at.to_string(),
                "id_number": d.id_number.to_string(),
                "phone": d.phone.map(|p| p.to_string()),
                "email": d.email.map(|e| mask_email(&e)),
                "comments": d.comments.iter().map(|(r, s)| json!({
                    "receipt": r.to_string(),
                    "state": dispute_state_code(*s),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(Json(json!({ "disputes": items })))
}

/// `POST /api/v1/admin/comments/{receipt}/dispute`: `{"decision": "upheld"|"rejected", "reason": …}`.
pub async fn api_decide(
    State(state): State<AppState>,
    Staff(user): Staff,
    Language(lang): Language,
    Path(receipt): Path<String>,
    crate::extract::Form(f): crate::extract::Form,
) -> Result<Json<Value>, WebError> {
    let decision = f.get("decision");
    let r = decide_one(&state, &user, &receipt, decision, f.raw("reason"), lang).await?;
    Ok(Json(json!({ "receipt": r.to_string(), "decision": decision })))
}

/// A comment's dispute state as the API writes it.
pub fn dispute_state_code(s: DisputeState) -> Option<&'static str> {
    match s {
        DisputeState::None => None,
        DisputeState::Pending => Some("pending"),
        DisputeState::Decided(d) => Some(d.as_str()),
    }
}
