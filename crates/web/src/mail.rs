//! The mail trays: mail no subject routed (staff assign it to a consultation, and it gets its
//! receipt then), mail that could not become a comment (kept with its raw bytes and the
//! reason), and the source of every comment that came by mail. A mail's text is shown with the
//! ID and phone numbers in it masked. Opening a raw message or an attachment is for admins, with
//! a reason, and audited: both hold whatever the citizen wrote, unmasked.

use askama::Template;
use axum::Json;
use axum::extract::{Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use serde_json::json;
use yijian_app::trays::{AssignError, MailView};
use yijian_domain::Lang;
use yijian_domain::staff::{AuditReason, Permission};
use yijian_store::SessionUser;
use yijian_store::{AttachmentInfo, MailSummary};

use crate::AppState;
use crate::error::{ErrorCode, WebError};
use crate::extract::{Admin, CsrfForm, Form, Language, OpenMailOriginals, Staff};
use crate::forms::Fields;
use crate::texts::{Texts, texts};

pub use crate::extract::MailId;
pub use yijian_app::MailSettings;

const TRAYS: [&str; 3] = ["unrouted", "rejected", "comment"];
const TRAY_PAGE: i64 = 100;

fn tray_label(state: &str, lang: Lang) -> &'static str {
    let t = texts(lang);
    match state {
        "unrouted" => t.tray_unrouted,
        "rejected" => t.tray_rejected,
        _ => t.tray_comment,
    }
}

fn mail_json(m: &MailSummary) -> serde_json::Value {
    json!({
        "id": m.id,
        "state": m.state,
        "reason": m.reason,
        "message_id": m.message_id,
        "source": m.source,
        "received_at": m.received_at.to_string(),
        "imported_at": m.imported_at.to_string(),
        "subject": m.subject,
        "from_name": m.from_name,
        "from_address": m.from_address,
        "raw_size": m.raw_size,
        "consultation_id": m.consultation_id,
        "comment_id": m.comment_id,
        "reply_state": m.reply_state,
        "assigned_by": m.assigned_by,
    })
}

fn attachment_json(a: &AttachmentInfo) -> serde_json::Value {
    json!({
        "id": a.id,
        "filename": a.filename,
        "content_type": a.content_type,
        "size": a.size,
        "stored": a.stored,
        "omitted": a.omitted,
        "has_text": a.has_text,
        "note": a.note,
    })
}

fn not_found(lang: Lang) -> WebError {
    WebError::new(StatusCode::NOT_FOUND, ErrorCode::MailNotFound, lang, texts(lang).no_such_mail)
}

fn tray_of(q: &std::collections::HashMap<String, String>, lang: Lang) -> Result<&'static str, WebError> {
    match q.get("state").map(String::as_str) {
        None | Some("") => Ok("unrouted"),
        Some(s) => TRAYS
            .into_iter()
            .find(|t| *t == s)
            .ok_or_else(|| WebError::bad(lang, texts(lang).state_must_be_unrouted_rejected.into())),
    }
}

fn before_of(q: &std::collections::HashMap<String, String>, lang: Lang) -> Result<Option<i64>, WebError> {
    q.get("before")
        .filter(|b| !b.is_empty())
        .map(|b| b.parse::<i64>().map_err(|_| WebError::bad(lang, texts(lang).before_must_be_a_mail.into())))
        .transpose()
}

/// One page of a tray, as the query asks, with the count of every tray.
async fn load_tray(
    state: &AppState,
    user: &SessionUser,
    q: &std::collections::HashMap<String, String>,
    lang: Lang,
) -> Result<(&'static str, Vec<MailSummary>, Vec<(String, i64)>), WebError> {
    let tray = tray_of(q, lang)?;
    let before = before_of(q, lang)?;
    let (mails, counts) =
        state.app.mail_tray(user, tray, TRAY_PAGE, before).await.map_err(|e| WebError::app(lang, e))?;
    Ok((tray, mails, counts))
}

/// The consultations a mail may be assigned to, as (id, title).
async fn assignable(state: &AppState, lang: Lang) -> Result<Vec<(String, String)>, WebError> {
    Ok(state
        .app
        .mail_targets()
        .await
        .map_err(|e| WebError::app(lang, e))?
        .into_iter()
        .map(|t| (t.id, t.meta.title))
        .collect())
}

async fn load_mail(state: &AppState, user: &SessionUser, id: i64, lang: Lang) -> Result<MailView, WebError> {
    state.app.mail(user, id).await.map_err(|e| WebError::app(lang, e))?.ok_or_else(|| not_found(lang))
}

#[derive(Template)]
#[template(path = "admin_mail.html")]
struct TrayPage {
    t: &'static Texts,
    other_lang_href: String,
    tray: &'static str,
    tabs: Vec<(&'static str, &'static str, i64)>,
    mails: Vec<MailRow>,
    consultations: Vec<(String, String)>,
    csrf: String,
    next: Option<i64>,
}

struct MailRow {
    id: i64,
    received_at: String,
    from: String,
    subject: String,
    reason: String,
}

/// `GET /admin/mail?state=unrouted|rejected|comment`
pub async fn tray(
    State(state): State<AppState>,
    Staff(user): Staff,
    Query(q): Query<std::collections::HashMap<String, String>>,
    Language(lang): Language,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let (tray, mails, counts) = load_tray(&state, &user, &q, lang).await?;
    let consultations = assignable(&state, lang).await?;
    let csrf = crate::csrf::token_for(&state, &headers);
    let page = TrayPage {
        t: texts(lang),
        other_lang_href: format!("/admin/mail?state={tray}&lang=en"),
        tray,
        tabs: TRAYS
            .iter()
            .map(|s| {
                let n = counts.iter().find(|(k, _)| k == s).map(|(_, n)| *n).unwrap_or(0);
                (*s, tray_label(s, lang), n)
            })
            .collect(),
        next: (mails.len() as i64 == TRAY_PAGE).then(|| mails.last().map(|m| m.id)).flatten(),
        mails: mails
            .iter()
            .map(|m| MailRow {
                id: m.id,
                received_at: m.received_at.to_string(),
                from: from_of(m),
                subject: m.subject.clone(),
                reason: m.reason.clone().unwrap_or_default(),
            })
            .collect(),
        consultations,
        csrf: csrf.clone(),
    };
    Ok(crate::csrf::with_cookie(crate::pages::html(StatusCode::OK, crate::pages::render(&page), lang, false), &csrf))
}

fn from_of(m: &MailSummary) -> String {
    match (&m.from_name, &m.from_address) {
        (Some(n), Some(a)) => format!("{n} <{a}>"),
        (None, Some(a)) => a.clone(),
        (Some(n), None) => n.clone(),
        (None, None) => "—".into(),
    }
}

#[derive(Template)]
#[template(path = "admin_mail_one.html")]
struct MailPage {
    t: &'static Texts,
    other_lang_href: String,
    id: i64,
    subject: String,
    rows: Vec<(&'static str, String)>,
    attachments: Vec<AttachmentRow>,
    full_text: String,
    /// Whether the user may open the raw message and the attachments (with a reason).
    can_open: bool,
    unrouted: bool,
    receipt: Option<String>,
    consultations: Vec<(String, String)>,
    csrf: String,
    message: Option<String>,
}

pub(crate) struct AttachmentRow {
    pub id: i64,
    pub filename: String,
    pub description: String,
    pub stored: bool,
}

pub(crate) fn attachment_rows(list: &[AttachmentInfo], lang: Lang) -> Vec<AttachmentRow> {
    list.iter()
        .map(|a| {
            let mut parts = vec![a.content_type.clone(), human_size(a.size)];
            if let Some(o) = &a.omitted {
                parts.push(o.clone());
            }
            if a.has_text {
                parts.push(texts(lang).text_included_in_the_comment.to_string());
            } else if let Some(n) = &a.note {
                parts.push(n.clone());
            }
            AttachmentRow { id: a.id, filename: a.filename.clone(), description: parts.join(" · "), stored: a.stored }
        })
        .collect()
}

fn human_size(bytes: i64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    } else if bytes >= 1024 {
        format!("{} KB", bytes / 1024)
    } else {
        format!("{bytes} B")
    }
}

/// `GET /admin/mail/{id}`
pub async fn one(
    State(state): State<AppState>,
    Staff(user): Staff,
    MailId(id): MailId,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    mail_page(&state, &user, &headers, id, StatusCode::OK, None).await
}

async fn mail_page(
    state: &AppState,
    user: &SessionUser,
    headers: &HeaderMap,
    id: i64,
    status: StatusCode,
    message: Option<String>,
) -> Result<Response, WebError> {
    let lang = crate::extract::lang_of(headers);
    let MailView { summary: m, attachments, full_text, receipt } = load_mail(state, user, id, lang).await?;
    let full_text = full_text.unwrap_or_default();
    let none = || "—".to_string();
    let rows = vec![
        (texts(lang).state, tray_label(&m.state, lang).to_string()),
        (texts(lang).rejection_reason, m.reason.clone().unwrap_or_else(none)),
        (texts(lang).from, from_of(&m)),
        (texts(lang).received_at, m.received_at.to_string()),
        (texts(lang).imported, m.imported_at.to_string()),
        ("Message-ID", m.message_id.clone().unwrap_or_else(none)),
        (texts(lang).source, m.source.clone()),
        (texts(lang).raw_size, human_size(m.raw_size)),
        (texts(lang).consultation, m.consultation_id.clone().unwrap_or_else(none)),
        (texts(lang).automatic_reply, m.reply_state.clone().unwrap_or_else(none)),
        (texts(lang).assigned_by, m.assigned_by.clone().unwrap_or_else(none)),
    ];
    let consultations = if m.state == "unrouted" { assignable(state, lang).await? } else { vec![] };
    let csrf = crate::csrf::token_for(state, headers);
    let page = MailPage {
        t: texts(lang),
        other_lang_href: format!("/admin/mail/{id}?lang=en"),
        id,
        subject: if m.subject.is_empty() { texts(lang).no_subject.to_string() } else { m.subject.clone() },
        rows,
        attachments: attachment_rows(&attachments, lang),
        full_text,
        can_open: user.role.may(Permission::OpenMailOriginals),
        unrouted: m.state == "unrouted",
        receipt: receipt.map(|r| r.to_string()),
        consultations,
        csrf: csrf.clone(),
        message,
    };
    Ok(crate::csrf::with_cookie(crate::pages::html(status, crate::pages::render(&page), lang, false), &csrf))
}

/// Assigns an unrouted mail; the comment and its receipt are made now, and the reply sent.
async fn assign(state: &AppState, user: &SessionUser, id: i64, f: &Fields, lang: Lang) -> Result<String, WebError> {
    let consultation = f.get("consultation").map(str::trim).unwrap_or("");
    if consultation.is_empty() {
        return Err(WebError::bad(lang, texts(lang).choose_a_consultation.into()));
    }
    match state.app.assign_mail(user, id, consultation, Timestamp::now()).await {
        Ok(receipt) => Ok(receipt.to_string()),
        Err(AssignError::NoConsultation) => Err(WebError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::ConsultationNotFound,
            lang,
            texts(lang).no_such_consultation_or_it,
        )),
        Err(AssignError::NotUnrouted) => {
            Err(WebError::new(StatusCode::CONFLICT, ErrorCode::MailNotUnrouted, lang, texts(lang).this_mail_is_not_in))
        }
        Err(AssignError::Failed(e)) => Err(WebError::app(lang, e)),
    }
}

/// `POST /admin/mail/{id}/assign` (form: csrf, consultation)
pub async fn assign_post(
    State(state): State<AppState>,
    Staff(user): Staff,
    MailId(id): MailId,
    Language(lang): Language,
    headers: HeaderMap,
    CsrfForm(f): CsrfForm<{ 16 * 1024 }>,
) -> Result<Response, WebError> {
    match assign(&state, &user, id, &f, lang).await {
        Ok(receipt) => Ok(Redirect::to(&format!("/admin/comments/{receipt}?done=1")).into_response()),
        // The mail comes back with what was wrong.
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY || e.status == StatusCode::CONFLICT => {
            mail_page(&state, &user, &headers, id, e.status, Some(e.message)).await
        }
        Err(e) => Err(e),
    }
}

/// The reason given for opening an original; 422 without one of 4 characters or more.
fn open_reason(raw: &str, lang: Lang) -> Result<AuditReason, WebError> {
    AuditReason::parse(raw).ok_or_else(|| WebError::bad(lang, texts(lang).open_reason_required.into()))
}

/// The message as it arrived, as a download, for an admin with a reason. Audited before the
/// bytes are handed out: no entry, no bytes.
async fn raw_download(
    state: &AppState,
    user: &SessionUser,
    id: i64,
    reason: &AuditReason,
    lang: Lang,
) -> Result<Response, WebError> {
    let raw = state.app.mail_raw(user, id, reason, Timestamp::now()).await.map_err(|e| WebError::app(lang, e))?;
    let raw = raw.ok_or_else(|| not_found(lang))?;
    Ok(download(raw, "message/rfc822", &format!("mail-{id}.eml")))
}

/// An attachment, always as a download, for an admin with a reason. Audited likewise.
async fn attachment_download(
    state: &AppState,
    user: &SessionUser,
    id: i64,
    reason: &AuditReason,
    lang: Lang,
) -> Result<Response, WebError> {
    let Some((info, bytes)) =
        state.app.attachment(user, id, reason, Timestamp::now()).await.map_err(|e| WebError::app(lang, e))?
    else {
        return Err(WebError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::AttachmentNotFound,
            lang,
            texts(lang).no_such_attachment_or_it,
        ));
    };
    // Served as bytes to save, never rendered: an attachment is whatever its sender made it.
    Ok(download(bytes, "application/octet-stream", &info.filename))
}

/// `POST /admin/mail/{id}/raw` (form: csrf, reason): the raw message. Admins only.
pub async fn raw_post(
    State(state): State<AppState>,
    Admin(user, _): Admin<OpenMailOriginals>,
    MailId(id): MailId,
    Language(lang): Language,
    CsrfForm(f): CsrfForm<{ 16 * 1024 }>,
) -> Result<Response, WebError> {
    raw_download(&state, &user, id, &open_reason(f.raw("reason"), lang)?, lang).await
}

/// `POST /admin/attachments/{id}` (form: csrf, reason): an attachment. Admins only.
pub async fn attachment_post(
    State(state): State<AppState>,
    Admin(user, _): Admin<OpenMailOriginals>,
    MailId(id): MailId,
    Language(lang): Language,
    CsrfForm(f): CsrfForm<{ 16 * 1024 }>,
) -> Result<Response, WebError> {
    attachment_download(&state, &user, id, &open_reason(f.raw("reason"), lang)?, lang).await
}

/// `GET /api/v1/admin/mail/{id}/raw?reason=…`: the raw message. Admins only.
pub async fn api_raw(
    State(state): State<AppState>,
    Admin(user, _): Admin<OpenMailOriginals>,
    MailId(id): MailId,
    Language(lang): Language,
    RawQuery(query): RawQuery,
) -> Result<Response, WebError> {
    let q = Fields::from_urlencoded(query.unwrap_or_default().as_bytes());
    raw_download(&state, &user, id, &open_reason(q.raw("reason"), lang)?, lang).await
}

/// `GET /api/v1/admin/attachments/{id}?reason=…`: an attachment. Admins only.
pub async fn api_attachment(
    State(state): State<AppState>,
    Admin(user, _): Admin<OpenMailOriginals>,
    MailId(id): MailId,
    Language(lang): Language,
    RawQuery(query): RawQuery,
) -> Result<Response, WebError> {
    let q = Fields::from_urlencoded(query.unwrap_or_default().as_bytes());
    attachment_download(&state, &user, id, &open_reason(q.raw("reason"), lang)?, lang).await
}

fn download(bytes: Vec<u8>, content_type: &'static str, filename: &str) -> Response {
    let ascii: String =
        filename.chars().map(|c| if c.is_ascii_alphanumeric() || ".-_".contains(c) { c } else { '_' }).collect();
    let encoded: String = filename
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b".-_".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }
        })
        .collect();
    let mut res = (StatusCode::OK, bytes).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox; default-src 'none'"));
    res
}

/// `GET /api/v1/admin/mail?state=…&before=…`
pub async fn api_tray(
    State(state): State<AppState>,
    Staff(user): Staff,
    Query(q): Query<std::collections::HashMap<String, String>>,
    Language(lang): Language,
) -> Result<Response, WebError> {
    let (tray, mails, counts) = load_tray(&state, &user, &q, lang).await?;
    Ok(Json(json!({
        "state": tray,
        "counts": counts.into_iter().collect::<std::collections::BTreeMap<_, _>>(),
        "mails": mails.iter().map(mail_json).collect::<Vec<_>>(),
        "next_before": (mails.len() as i64 == TRAY_PAGE).then(|| mails.last().map(|m| m.id)).flatten(),
    }))
    .into_response())
}

/// `GET /api/v1/admin/mail/{id}`
pub async fn api_one(
    State(state): State<AppState>,
    Staff(user): Staff,
    MailId(id): MailId,
    Language(lang): Language,
) -> Result<Response, WebError> {
    let MailView { summary: m, attachments, full_text, receipt } = load_mail(&state, &user, id, lang).await?;
    let mut v = mail_json(&m);
    v["attachments"] = attachments.iter().map(attachment_json).collect();
    v["full_text"] = json!(full_text);
    v["receipt"] = json!(receipt.map(|r| r.to_string()));
    Ok(Json(v).into_response())
}

/// `POST /api/v1/admin/mail/{id}/assign` `{"consultation": "…"}`
pub async fn api_assign(
    State(state): State<AppState>,
    Staff(user): Staff,
    MailId(id): MailId,
    Language(lang): Language,
    Form(f): Form<{ 16 * 1024 }>,
) -> Result<Response, WebError> {
    let receipt = assign(&state, &user, id, &f, lang).await?;
    Ok((StatusCode::CREATED, Json(json!({"mail_id": id, "receipt": receipt}))).into_response())
}
