//! The export form and its downloads; the export itself is `yijian_app::export`.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use askama::Template;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use yijian_app::export::{ExportFailure, ExportRequest};
use yijian_domain::Lang;
use yijian_domain::consultation::Consultation;
use yijian_domain::staff::Role;
use yijian_formats::Format;
use yijian_store::SessionUser;

use crate::AppState;
use crate::error::{ErrorCode, WebError};
use crate::extract::{Form, Language, Staff, StaffConsultation, check_csrf};
use crate::forms::Fields;
use crate::texts::{Texts, texts};

#[derive(Template)]
#[template(path = "admin_export.html")]
struct ExportPage {
    t: &'static Texts,
    other_lang_href: String,
    id: String,
    title: String,
    csrf: String,
    is_admin: bool,
    error: Option<String>,
}

pub async fn export_form(
    State(state): State<AppState>,
    Staff(user): Staff,
    StaffConsultation(c): StaffConsultation,
    headers: HeaderMap,
) -> Response {
    export_page(&state, &user, &c, &headers, StatusCode::OK, None)
}

fn export_page(
    state: &AppState,
    user: &SessionUser,
    c: &Consultation,
    headers: &HeaderMap,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let lang = crate::extract::lang_of(headers);
    let csrf = crate::csrf::token_for(state, headers);
    let page = ExportPage {
        t: texts(lang),
        other_lang_href: format!("/admin/c/{}/export?lang=en", c.meta.id),
        id: c.meta.id.clone(),
        title: c.meta.title.clone(),
        csrf: csrf.clone(),
        is_admin: user.role == Role::Admin,
        error,
    };
    crate::csrf::with_cookie(crate::pages::html(status, crate::pages::render(&page), lang, false), &csrf)
}

/// Reads the request's format and personal-data choice; personal data needs an admin and a
/// reason.
fn request_from(f: &Fields, user: &SessionUser, lang: Lang) -> Result<ExportRequest, WebError> {
    let format: Format = f
        .get("format")
        .unwrap_or("csv")
        .parse()
        .map_err(|_| WebError::bad(lang, texts(lang).format_must_be_csv_xlsx.into()))?;
    let personal = matches!(f.get("include_personal_data"), Some("on" | "true" | "1" | "yes"));
    let reason = f.get("reason").map(String::from);
    yijian_app::export::staff_request(user, format, personal, reason).map_err(|e| match e {
        ExportFailure::Forbidden => WebError::forbidden(lang),
        _ => WebError::bad(lang, texts(lang).export_reason_required.into()),
    })
}

/// Bounds the exports running at once: an export reads every comment of a consultation and
/// fills a temporary file, so a few at a time is plenty. Each staff member runs one at a time,
/// and at most [`MAX_EXPORTS_AT_ONCE`] run in all. A slot is held until the download has been
/// sent (or abandoned).
#[derive(Debug)]
pub struct ExportSlots {
    running: Mutex<HashSet<String>>,
    all: Arc<Semaphore>,
}

/// Exports at once, for all staff together.
pub const MAX_EXPORTS_AT_ONCE: usize = 2;

/// How long to suggest waiting when every slot is taken.
const RETRY_AFTER_SECS: u64 = 10;

impl Default for ExportSlots {
    fn default() -> Self {
        ExportSlots { running: Mutex::default(), all: Arc::new(Semaphore::new(MAX_EXPORTS_AT_ONCE)) }
    }
}

/// One export's slot; dropping it frees the slot.
struct ExportSlot {
    slots: Arc<ExportSlots>,
    user: String,
    _permit: OwnedSemaphorePermit,
}

impl Drop for ExportSlot {
    fn drop(&mut self) {
        self.slots.running.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.user);
    }
}

impl ExportSlots {
    /// A slot for `user`'s export: 429 while they have one running, 503 while all are taken.
    fn take(self: &Arc<Self>, user: &str, lang: Lang) -> Result<ExportSlot, WebError> {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if running.contains(user) {
            return Err(WebError::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::ExportInProgress,
                lang,
                texts(lang).export_in_progress,
            )
            .retry_after(RETRY_AFTER_SECS));
        }
        let permit = self.all.clone().try_acquire_owned().map_err(|_| {
            WebError::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::ExportsBusy, lang, texts(lang).exports_busy)
                .retry_after(RETRY_AFTER_SECS)
        })?;
        running.insert(user.to_string());
        Ok(ExportSlot { slots: self.clone(), user: user.to_string(), _permit: permit })
    }
}

/// Runs the export into a temporary file and streams it back. The file has no name (it is
/// created unlinked, mode 0600), so nothing stays behind on disk whatever happens to the
/// download or the process.
async fn download(
    state: &AppState,
    user: &SessionUser,
    c: &Consultation,
    req: &ExportRequest,
    lang: Lang,
) -> Result<Response, WebError> {
    let slot = state.exports.take(&user.name, lang)?;
    let scratch = std::env::temp_dir();
    let file = tempfile::tempfile_in(&scratch).map_err(|e| WebError::internal(lang, e))?;
    let mut reader = file.try_clone().map_err(|e| WebError::internal(lang, e))?;
    state
        .app
        .export_to_file(c, file, scratch, req, Timestamp::now(), |_| {})
        .await
        .map_err(|e| WebError::internal(lang, e))?;
    // The writer and this handle share one file offset: back to the start to read.
    let len = {
        use std::io::Seek;
        reader.seek(std::io::SeekFrom::Start(0)).map_err(|e| WebError::internal(lang, e))?;
        reader.metadata().map(|m| m.len()).ok()
    };
    let file = tokio::fs::File::from_std(reader);
    // The slot goes with the stream: it is freed when the last byte is sent or the download
    // is abandoned.
    let stream = futures_util::stream::unfold((file, slot), |(mut file, slot)| async move {
        use tokio::io::AsyncReadExt;
        let mut buf = vec![0u8; 64 * 1024];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(axum::body::Bytes::from(buf)), (file, slot)))
            }
            Err(e) => Some((Err(e), (file, slot))),
        }
    });
    let mut res = Body::from_stream(stream).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(req.format.content_type()));
    let name = format!(
        "{}-comments{}.{}",
        c.meta.id,
        if req.include_personal_data { "-personal" } else { "" },
        req.format.extension()
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Some(len) = len {
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// `POST /admin/c/{id}/export`: the form's choice, downloaded; or the form again, with what is
/// wrong.
pub async fn export_post(
    State(state): State<AppState>,
    Staff(user): Staff,
    Language(lang): Language,
    StaffConsultation(c): StaffConsultation,
    headers: HeaderMap,
    Form(f): Form<{ 16 * 1024 }>,
) -> Result<Response, WebError> {
    let result = match check_csrf(&state, &headers, &f, lang).and_then(|()| request_from(&f, &user, lang)) {
        Ok(req) => download(&state, &user, &c, &req, lang).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(res) => Ok(res),
        // The form comes back with what is wrong, or why it must wait.
        Err(e) if e.status != StatusCode::INTERNAL_SERVER_ERROR => {
            Ok(export_page(&state, &user, &c, &headers, e.status, Some(e.message)))
        }
        Err(e) => Err(e),
    }
}

/// `GET /api/v1/admin/consultations/{id}/export?format=…` (masked), or `POST` with
/// `{"format", "include_personal_data": true, "reason"}`.
pub async fn api_export_get(
    State(state): State<AppState>,
    Staff(user): Staff,
    Language(lang): Language,
    StaffConsultation(c): StaffConsultation,
    RawQuery(query): RawQuery,
) -> Result<Response, WebError> {
    let f = Fields::from_urlencoded(query.unwrap_or_default().as_bytes());
    if f.has("include_personal_data") {
        return Err(WebError::bad(lang, texts(lang).use_post_with_a_reason.into()));
    }
    download(&state, &user, &c, &request_from(&f, &user, lang)?, lang).await
}

pub async fn api_export_post(
    State(state): State<AppState>,
    Staff(user): Staff,
    Language(lang): Language,
    StaffConsultation(c): StaffConsultation,
    Form(f): Form<{ 16 * 1024 }>,
) -> Result<Response, WebError> {
    download(&state, &user, &c, &request_from(&f, &user, lang)?, lang).await
}
