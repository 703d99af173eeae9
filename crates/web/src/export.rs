//! The export form and its downloads; the export itself is `yijian_app::export`.

use askama::Template;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use yijian_app::export::{ExportFailure, ExportRequest};
use yijian_domain::Lang;
use yijian_domain::consultation::Consultation;
use yijian_domain::staff::Role;
use yijian_formats::Format;
use yijian_store::SessionUser;

use crate::AppState;
use crate::error::WebError;
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

/// Runs the export into a temporary file and streams it back. The file is unlinked as soon as
/// it is open, so nothing stays behind on disk whatever happens to the download.
async fn download(state: &AppState, c: &Consultation, req: &ExportRequest, lang: Lang) -> Result<Response, WebError> {
    let path = std::env::temp_dir().join(format!(
        "yijian-export-{}.{}",
        hex::encode(yijian_crypto::random_bytes::<12>()),
        req.format.extension()
    ));
    let result = state.app.export(c, &path, req, Timestamp::now(), |_| {}).await;
    let opened = match result {
        Ok(_) => tokio::fs::File::open(&path).await,
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            return Err(WebError::internal(lang, e));
        }
    };
    let _ = std::fs::remove_file(&path);
    let file = opened.map_err(|e| WebError::internal(lang, e))?;
    let len = file.metadata().await.map(|m| m.len()).ok();
    let stream = futures_util::stream::unfold(file, |mut file| async move {
        use tokio::io::AsyncReadExt;
        let mut buf = vec![0u8; 64 * 1024];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(axum::body::Bytes::from(buf)), file))
            }
            Err(e) => Some((Err(e), file)),
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
    match check_csrf(&state, &headers, &f, lang).and_then(|()| request_from(&f, &user, lang)) {
        Ok(req) => download(&state, &c, &req, lang).await,
        Err(e) => Ok(export_page(&state, &user, &c, &headers, e.status, Some(e.message))),
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
    download(&state, &c, &request_from(&f, &user, lang)?, lang).await
}

pub async fn api_export_post(
    State(state): State<AppState>,
    Staff(user): Staff,
    Language(lang): Language,
    StaffConsultation(c): StaffConsultation,
    Form(f): Form<{ 16 * 1024 }>,
) -> Result<Response, WebError> {
    download(&state, &c, &request_from(&f, &user, lang)?, lang).await
}
