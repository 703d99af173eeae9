//! Consultation management for admins: create one from an uploaded consultation file or from a
//! form, edit it while it is a draft, publish it, and then extend its deadline, close it early
//! or archive it. Every schedule change is recorded and shown on the public page; a published
//! text changes only as a new signed version.

use askama::Template;
use axum::Json;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use serde_json::json;
use yijian_domain::Lang;
use yijian_domain::file::{ConsultationFile, parse};
use yijian_domain::staff::AuditReason;
use yijian_store::{ImportOutcome, ManageError, SessionUser};

use crate::AppState;
use crate::error::{ErrorCode, WebError};
use crate::extract::{Admin, CsrfForm, Form, Language, check_csrf_token, read_fields};
use crate::forms::Fields;
use crate::texts::{Texts, texts};

/// Largest consultation file accepted.
const MAX_FILE: usize = 2 * 1024 * 1024;

fn manage_error(e: yijian_app::Error, lang: Lang) -> WebError {
    let t = texts(lang);
    let (status, code, message, id) = match &e {
        yijian_app::Error::Manage(m) => match m {
            ManageError::NotFound(id) => {
                (StatusCode::NOT_FOUND, ErrorCode::ConsultationNotFound, t.manage_not_found, id.as_str())
            }
            ManageError::AlreadyPublished(id) => {
                (StatusCode::CONFLICT, ErrorCode::AlreadyPublished, t.manage_already_published, id.as_str())
            }
            ManageError::NotLater => (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::NotLater, t.manage_not_later, ""),
            ManageError::AlreadyClosed(id) => {
                (StatusCode::CONFLICT, ErrorCode::AlreadyClosed, t.manage_already_closed, id.as_str())
            }
            ManageError::StillOpen(id) => {
                (StatusCode::CONFLICT, ErrorCode::StillOpen, t.manage_still_open, id.as_str())
            }
            ManageError::Archived(id) => (StatusCode::CONFLICT, ErrorCode::Archived, t.manage_archived, id.as_str()),
            ManageError::Store(_) => return WebError::internal(lang, m),
        },
        yijian_app::Error::Store(yijian_store::StoreError::ClosedConsultation(id)) => {
            (StatusCode::CONFLICT, ErrorCode::Closed, t.manage_text_closed, id.as_str())
        }
        _ => return WebError::app(lang, e),
    };
    WebError::new(status, code, lang, message.replace("{id}", id))
}

fn parse_source(source: &str, lang: Lang) -> Result<ConsultationFile, WebError> {
    parse(source).map_err(|e| {
        WebError::bad(
            lang,
            texts(lang).file_line_error.replace("{line}", &e.line.to_string()).replace("{message}", &e.message),
        )
    })
}

/// Builds a consultation file from the "new consultation" form, so that a form and an upload
/// go through the same parser and the same checks.
pub fn source_from_form(f: &Fields) -> String {
    let get = |k: &str| f.get(k).unwrap_or("").to_string();
    let positions: Vec<String> =
        f.0.iter()
            .find(|(k, _)| k == "positions")
            .map(|(_, v)| v.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect())
            .unwrap_or_default();
    let mut table = toml::Table::new();
    for k in ["id", "title", "issuer", "opens_at", "closes_at"] {
        table.insert(k.into(), toml::Value::String(get(k)));
    }
    table.insert("positions".into(), toml::Value::Array(positions.into_iter().map(toml::Value::String).collect()));
    table.insert(
        "notice".into(),
        toml::Value::String(
            f.0.iter().find(|(k, _)| k == "notice").map(|(_, v)| v.replace("\r\n", "\n")).unwrap_or_default(),
        ),
    );
    let mut contact = toml::Table::new();
    for (k, field) in [
        ("person", "contact_person"),
        ("department", "contact_department"),
        ("phone", "contact_phone"),
        ("email", "contact_email"),
    ] {
        contact.insert(k.into(), toml::Value::String(get(field)));
    }
    table.insert("contact".into(), toml::Value::Table(contact));
    let mut mail = toml::Table::new();
    mail.insert("address".into(), toml::Value::String(get("mail_address")));
    mail.insert("subject_phrase".into(), toml::Value::String(get("subject_phrase")));
    table.insert("email_channel".into(), toml::Value::Table(mail));
    let front = toml::to_string(&table).unwrap_or_default();
    let body = f.0.iter().find(|(k, _)| k == "body").map(|(_, v)| v.replace("\r\n", "\n")).unwrap_or_default();
    format!("+++\n{front}+++\n\n{}\n", body.trim())
}

/// Reads an upload (multipart with a `file` part, or a form with `source`) or the form's
/// fields: the consultation file's text, plus the CSRF token.
async fn read_source(state: &AppState, req: Request, lang: Lang) -> Result<(String, String), WebError> {
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let too_big = || {
        WebError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PayloadTooLarge,
            lang,
            texts(lang).the_file_is_limited_to,
        )
    };
    if is_multipart {
        let mut mp = Multipart::from_request(req, state).await.map_err(|e| WebError::bad(lang, e.to_string()))?;
        let (mut source, mut csrf) = (String::new(), String::new());
        while let Some(field) = mp.next_field().await.map_err(|_| too_big())? {
            let name = field.name().unwrap_or("").to_string();
            let bytes = field.bytes().await.map_err(|_| too_big())?;
            if bytes.len() > MAX_FILE {
                return Err(too_big());
            }
            match name.as_str() {
                "file" | "source" => {
                    source = String::from_utf8(bytes.to_vec())
                        .map_err(|_| WebError::bad(lang, texts(lang).the_file_must_be_utf.into()))?
                }
                "csrf" => csrf = String::from_utf8_lossy(&bytes).into_owned(),
                _ => {}
            }
        }
        Ok((source, csrf))
    } else {
        let (parts, body) = req.into_parts();
        let f = read_fields(&parts.headers, body, MAX_FILE, lang).await?;
        let csrf = f.get("csrf").unwrap_or("").to_string();
        let source = match f.0.iter().find(|(k, _)| k == "source") {
            Some((_, s)) => s.replace("\r\n", "\n"),
            None => source_from_form(&f),
        };
        Ok((source, csrf))
    }
}

// ------------------------------------------------------------------------------------------
// Pages
// ------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "admin_new.html")]
struct NewPage {
    t: &'static Texts,
    other_lang_href: String,
    csrf: String,
    error: Option<String>,
    drafts: Vec<(String, String)>,
}

pub async fn new_form(State(state): State<AppState>, Admin(user, _): Admin, headers: HeaderMap) -> Response {
    new_page(&state, &user, &headers, StatusCode::OK, None).await
}

async fn new_page(
    state: &AppState,
    user: &SessionUser,
    headers: &HeaderMap,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let lang = crate::extract::lang_of(headers);
    let csrf = crate::csrf::token_for(state, headers);
    let drafts = state
        .app
        .drafts(user)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|d| (d.id, d.updated_at.to_string()))
        .collect();
    let page = NewPage {
        t: texts(lang),
        other_lang_href: "/admin/consultations/new?lang=en".into(),
        csrf: csrf.clone(),
        error,
        drafts,
    };
    crate::csrf::with_cookie(crate::pages::html(status, crate::pages::render(&page), lang, false), &csrf)
}

/// `POST /admin/consultations`: an uploaded file or the form becomes a draft.
pub async fn create(
    State(state): State<AppState>,
    Admin(user, _): Admin,
    Language(lang): Language,
    req: Request,
) -> Result<Response, WebError> {
    let headers = req.headers().clone();
    let result = async {
        let (source, csrf) = read_source(&state, req, lang).await?;
        check_csrf_token(&state, &headers, &csrf, lang)?;
        let file = parse_source(&source, lang)?;
        state.app.save_draft(&user, &file, &source, Timestamp::now()).await.map_err(|e| manage_error(e, lang))?;
        Ok::<_, WebError>(file.meta.id)
    }
    .await;
    match result {
        Ok(id) => Ok(Redirect::to(&format!("/admin/drafts/{id}")).into_response()),
        Err(e) if e.status == StatusCode::NOT_FOUND || e.status == StatusCode::INTERNAL_SERVER_ERROR => Err(e),
        Err(e) => Ok(new_page(&state, &user, &headers, e.status, Some(e.message)).await),
    }
}

#[derive(Template)]
#[template(path = "admin_draft.html")]
struct DraftPage {
    t: &'static Texts,
    other_lang_href: String,
    id: String,
    csrf: String,
    source: String,
    summary: Vec<String>,
    error: Option<String>,
}

async fn draft_page(
    state: &AppState,
    user: &SessionUser,
    headers: &HeaderMap,
    id: &str,
    status: StatusCode,
    source: Option<String>,
    error: Option<String>,
) -> Result<Response, WebError> {
    let lang = crate::extract::lang_of(headers);
    let source = match source {
        Some(s) => s,
        None => match state.app.draft(user, id).await {
            Ok(Some(d)) => d.source,
            Ok(None) => return Err(draft_not_found(lang)),
            Err(e) => return Err(WebError::internal(lang, e)),
        },
    };
    let (summary, parse_error) = match parse(&source) {
        Ok(f) => (
            vec![
                f.meta.title.clone(),
                f.meta.issuer.clone(),
                texts(lang)
                    .chapters_and_articles
                    .replace("{chapters}", &f.document.chapters.len().to_string())
                    .replace("{articles}", &f.document.articles().count().to_string()),
                format!("{} — {}", f.meta.rfc3339(f.meta.opens_at), f.meta.rfc3339(f.meta.closes_at)),
            ],
            None,
        ),
        Err(e) => (
            vec![],
            Some(texts(lang).line_error.replace("{line}", &e.line.to_string()).replace("{message}", &e.message)),
        ),
    };
    let csrf = crate::csrf::token_for(state, headers);
    let page = DraftPage {
        t: texts(lang),
        other_lang_href: format!("/admin/drafts/{id}?lang=en"),
        id: id.to_string(),
        csrf: csrf.clone(),
        source,
        summary,
        error: error.or(parse_error),
    };
    Ok(crate::csrf::with_cookie(crate::pages::html(status, crate::pages::render(&page), lang, false), &csrf))
}

fn draft_not_found(lang: Lang) -> WebError {
    WebError::new(StatusCode::NOT_FOUND, ErrorCode::DraftNotFound, lang, texts(lang).no_such_draft)
}

pub async fn draft(
    State(state): State<AppState>,
    Admin(user, _): Admin,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    draft_page(&state, &user, &headers, &id, StatusCode::OK, None, None).await
}

/// `POST /admin/drafts/{id}`: `action` = `save` (with `source`), `publish` or `delete`.
pub async fn draft_post(
    State(state): State<AppState>,
    Admin(user, _): Admin,
    Language(lang): Language,
    Path(id): Path<String>,
    headers: HeaderMap,
    CsrfForm(f): CsrfForm<MAX_FILE>,
) -> Result<Response, WebError> {
    let source = f.0.iter().find(|(k, _)| k == "source").map(|(_, v)| v.replace("\r\n", "\n"));
    match f.get("action").unwrap_or("") {
        "save" => {
            let source = source.unwrap_or_default();
            let result = async {
                let file = parse_source(&source, lang)?;
                if file.meta.id != id {
                    return Err(WebError::bad(lang, texts(lang).a_draft_s_id_cannot.into()));
                }
                state.app.save_draft(&user, &file, &source, Timestamp::now()).await.map_err(|e| manage_error(e, lang))
            }
            .await;
            match result {
                Ok(()) => Ok(Redirect::to(&format!("/admin/drafts/{id}")).into_response()),
                Err(e) => draft_page(&state, &user, &headers, &id, e.status, Some(source), Some(e.message)).await,
            }
        }
        "publish" => match publish_draft(&state, &user, &id, lang).await {
            Ok(_) => Ok(Redirect::to(&format!("/admin/c/{id}/manage")).into_response()),
            Err(e) => draft_page(&state, &user, &headers, &id, e.status, None, Some(e.message)).await,
        },
        "delete" => match state.app.delete_draft(&user, &id, Timestamp::now()).await {
            Ok(_) => Ok(Redirect::to("/admin/consultations/new").into_response()),
            Err(e) => Err(WebError::app(lang, e)),
        },
        _ => Err(WebError::bad(lang, texts(lang).unknown_action.into())),
    }
}

async fn publish_draft(state: &AppState, user: &SessionUser, id: &str, lang: Lang) -> Result<ImportOutcome, WebError> {
    let d =
        state.app.draft(user, id).await.map_err(|e| WebError::app(lang, e))?.ok_or_else(|| draft_not_found(lang))?;
    let file = parse_source(&d.source, lang)?;
    state.app.publish_draft(user, &file, Timestamp::now()).await.map_err(|e| manage_error(e, lang))
}

#[derive(Template)]
#[template(path = "admin_manage.html")]
struct ManagePage {
    t: &'static Texts,
    other_lang_href: String,
    id: String,
    title: String,
    csrf: String,
    facts: Vec<(String, String)>,
    events: Vec<String>,
    archived: bool,
    open: bool,
    message: Option<String>,
    error: Option<String>,
}

pub(crate) fn event_line(e: &yijian_store::ScheduleEvent, tz: &jiff::tz::TimeZone, lang: Lang) -> String {
    let fmt = |t: Timestamp| t.to_zoned(tz.clone()).strftime("%Y-%m-%d %H:%M").to_string();
    let when = fmt(e.at);
    let change = match (e.old_closes_at, e.new_closes_at) {
        (Some(o), Some(n)) => texts(lang).deadline_moved.replace("{from}", &fmt(o)).replace("{to}", &fmt(n)),
        _ => String::new(),
    };
    let kind = match e.kind.as_str() {
        "extended" => texts(lang).deadline_extended.to_string(),
        "closed_early" => texts(lang).closed_early.to_string(),
        "rescheduled" => texts(lang).schedule_changed.to_string(),
        "archived" => texts(lang).archived.to_string(),
        other => other.to_string(),
    };
    let reason =
        if e.reason.is_empty() { String::new() } else { texts(lang).event_reason.replace("{reason}", &e.reason) };
    if change.is_empty() { format!("{when} {kind}{reason}") } else { format!("{when} {kind}：{change}{reason}") }
}

async fn manage_page(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
    status: StatusCode,
    message: Option<String>,
    error: Option<String>,
) -> Response {
    let lang = crate::extract::lang_of(headers);
    let result = async {
        let c = crate::extract::staff_consultation(state, id, lang).await?;
        let events = state.app.schedule_events(id).await.map_err(|e| WebError::app(lang, e))?;
        let archived = state.app.is_archived(id).await.map_err(|e| WebError::app(lang, e))?;
        let now = Timestamp::now();
        let csrf = crate::csrf::token_for(state, headers);
        let page = ManagePage {
            t: texts(lang),
            other_lang_href: format!("/admin/c/{id}/manage?lang=en"),
            id: id.to_string(),
            title: c.meta.title.clone(),
            csrf: csrf.clone(),
            facts: vec![
                (
                    texts(lang).status.to_string(),
                    format!(
                        "{}{}",
                        c.meta.status(now).as_str(),
                        if archived { texts(lang).archived_suffix.to_string() } else { String::new() }
                    ),
                ),
                (texts(lang).opens.to_string(), c.meta.rfc3339(c.meta.opens_at)),
                (texts(lang).closes.to_string(), c.meta.rfc3339(c.meta.closes_at)),
                (texts(lang).version.to_string(), c.version.to_string()),
            ],
            events: events.iter().map(|e| event_line(e, &c.tz, lang)).collect(),
            archived,
            open: now < c.meta.closes_at,
            message,
            error,
        };
        Ok::<_, WebError>(crate::csrf::with_cookie(
            crate::pages::html(status, crate::pages::render(&page), lang, false),
            &csrf,
        ))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

pub async fn manage(State(state): State<AppState>, _: Admin, Path(id): Path<String>, headers: HeaderMap) -> Response {
    manage_page(&state, &headers, &id, StatusCode::OK, None, None).await
}

/// The deadline a form or API call names: a date (the end of that day, local time) or an
/// RFC 3339 instant.
fn new_deadline(value: &str, tz: &jiff::tz::TimeZone, lang: Lang) -> Result<Timestamp, WebError> {
    let bad = || WebError::bad(lang, texts(lang).give_a_valid_new_deadline.into());
    if let Ok(t) = value.parse::<Timestamp>() {
        return Ok(t);
    }
    let d: jiff::civil::Date = value.parse().map_err(|_| bad())?;
    let next = d.tomorrow().map_err(|_| bad())?;
    next.to_zoned(tz.clone()).map(|z| z.timestamp()).map_err(|_| bad())
}

fn reason_of(f: &Fields, lang: Lang) -> Result<AuditReason, WebError> {
    AuditReason::parse(f.get("reason").unwrap_or(""))
        .ok_or_else(|| WebError::bad(lang, texts(lang).schedule_reason_required.into()))
}

/// Runs one schedule action for the page and the API alike.
async fn schedule_action(
    state: &AppState,
    user: &SessionUser,
    id: &str,
    action: &str,
    f: &Fields,
    lang: Lang,
) -> Result<String, WebError> {
    let c = crate::extract::staff_consultation(state, id, lang).await?;
    let now = Timestamp::now();
    let done = match action {
        "extend" => {
            let t = new_deadline(f.get("closes_at").unwrap_or(""), &c.tz, lang)?;
            let reason = reason_of(f, lang)?;
            state.app.extend_deadline(user, id, t, &reason, now).await.map_err(|e| manage_error(e, lang))?;
            texts(lang).the_deadline_is_extended_and.to_string()
        }
        "close" => {
            let reason = reason_of(f, lang)?;
            state.app.close_early(user, id, &reason, now).await.map_err(|e| manage_error(e, lang))?;
            texts(lang).the_consultation_is_closed.to_string()
        }
        "archive" => {
            state.app.archive(user, id, now).await.map_err(|e| manage_error(e, lang))?;
            texts(lang).archived_done.to_string()
        }
        _ => return Err(WebError::bad(lang, texts(lang).unknown_action.into())),
    };
    Ok(done)
}

/// `POST /admin/c/{id}/manage`: `action` = `extend` | `close` | `archive`.
pub async fn manage_post(
    State(state): State<AppState>,
    Admin(user, _): Admin,
    Language(lang): Language,
    Path(id): Path<String>,
    headers: HeaderMap,
    CsrfForm(f): CsrfForm,
) -> Response {
    let done = schedule_action(&state, &user, &id, f.get("action").unwrap_or(""), &f, lang).await;
    after_change(&state, &headers, &id, done).await
}

/// The manage page again, saying what was done or what was wrong.
async fn after_change(state: &AppState, headers: &HeaderMap, id: &str, done: Result<String, WebError>) -> Response {
    match done {
        Ok(msg) => manage_page(state, headers, id, StatusCode::OK, Some(msg), None).await,
        Err(e) if matches!(e.status, StatusCode::UNPROCESSABLE_ENTITY | StatusCode::CONFLICT) => {
            manage_page(state, headers, id, e.status, None, Some(e.message)).await
        }
        Err(e) => e.into_response(),
    }
}

/// `POST /admin/c/{id}/upload`: a new file over a published consultation.
pub async fn upload_version(
    State(state): State<AppState>,
    Admin(user, _): Admin,
    Language(lang): Language,
    Path(id): Path<String>,
    req: Request,
) -> Response {
    let headers = req.headers().clone();
    let done = async {
        let (source, csrf) = read_source(&state, req, lang).await?;
        check_csrf_token(&state, &headers, &csrf, lang)?;
        import_over(&state, &user, &id, &source, lang).await
    }
    .await;
    after_change(&state, &headers, &id, done).await
}

async fn import_over(
    state: &AppState,
    user: &SessionUser,
    id: &str,
    source: &str,
    lang: Lang,
) -> Result<String, WebError> {
    let file = parse_source(source, lang)?;
    if file.meta.id != id {
        return Err(WebError::bad(lang, texts(lang).the_file_s_id_is.into()));
    }
    let outcome = state.app.import_by(user, &file, Timestamp::now()).await.map_err(|e| manage_error(e, lang))?;
    Ok(match outcome {
        ImportOutcome::NewVersion { version } => texts(lang).new_version.replace("{version}", &version.to_string()),
        ImportOutcome::MetadataUpdated { .. } => texts(lang).same_text_the_settings_are.to_string(),
        ImportOutcome::Unchanged { .. } => texts(lang).nothing_changed.to_string(),
        ImportOutcome::Created { .. } => texts(lang).created.to_string(),
    })
}

// ------------------------------------------------------------------------------------------
// The JSON API
// ------------------------------------------------------------------------------------------

/// `POST /api/v1/admin/consultations`: body `{"source": "<consultation file>"}`; makes a
/// draft (or, with `"publish": true`, publishes it at once).
pub async fn api_create(
    State(state): State<AppState>,
    Admin(user, _): Admin,
    Language(lang): Language,
    Form(f): Form<MAX_FILE>,
) -> Result<Response, WebError> {
    let source = f.0.iter().find(|(k, _)| k == "source").map(|(_, v)| v.clone()).unwrap_or_default();
    let file = parse_source(&source, lang)?;
    state.app.save_draft(&user, &file, &source, Timestamp::now()).await.map_err(|e| manage_error(e, lang))?;
    let published = f.get("publish") == Some("true");
    if published {
        publish_draft(&state, &user, &file.meta.id, lang).await?;
    }
    let body = json!({"id": file.meta.id, "state": if published { "published" } else { "draft" }});
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

pub async fn api_drafts(
    State(state): State<AppState>,
    Admin(user, _): Admin,
    Language(lang): Language,
) -> Result<Json<serde_json::Value>, WebError> {
    let list = state.app.drafts(&user).await.map_err(|e| WebError::app(lang, e))?;
    Ok(Json(json!(
        list.iter()
            .map(|d| json!({"id": d.id, "created_by": d.created_by, "updated_at": d.updated_at.to_string()}))
            .collect::<Vec<_>>()
    )))
}

pub async fn api_publish_draft(
    State(state): State<AppState>,
    Admin(user, _): Admin,
    Language(lang): Language,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, WebError> {
    let outcome = publish_draft(&state, &user, &id, lang).await?;
    Ok(Json(json!({"id": id, "outcome": format!("{outcome:?}")})))
}

/// `POST /api/v1/admin/consultations/{id}/{extend|close|archive}` with `{"closes_at", "reason"}`;
/// `…/version` with `{"source"}` uploads a new file.
pub async fn api_action(
    State(state): State<AppState>,
    Admin(user, _): Admin,
    Language(lang): Language,
    Path((id, action)): Path<(String, String)>,
    Form(f): Form<MAX_FILE>,
) -> Result<Json<serde_json::Value>, WebError> {
    let msg = if action == "version" {
        let source = f.0.iter().find(|(k, _)| k == "source").map(|(_, v)| v.clone()).unwrap_or_default();
        import_over(&state, &user, &id, &source, lang).await?
    } else {
        schedule_action(&state, &user, &id, &action, &f, lang).await?
    };
    Ok(Json(json!({"id": id, "message": msg})))
}
