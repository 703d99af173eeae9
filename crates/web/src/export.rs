//! Exports of a consultation's comments as CSV, XLSX or JSONL, from the web and (through
//! [`export_consultation`]) from the command line.
//!
//! Personal data is masked unless the caller asks for it with a reason; either way the export
//! is written to the audit log before the first row is. Rows are read page by page and handed
//! to a blocking thread that writes the file, so a million comments use neither a long read
//! transaction nor an async worker thread.

use std::path::{Path, PathBuf};

use askama::Template;
use axum::body::Body;
use axum::extract::{Path as UrlPath, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use yijian_domain::Lang;
use yijian_domain::consultation::{Consultation, rfc3339_in};
use yijian_domain::staff::Role;
use yijian_formats::{ArticleCount, Cell, Column, ExportWriter, Format};
use yijian_store::{SessionUser, Store, StoredComment};

use crate::AppState;
use crate::forms::{Fields, say};
use crate::review::{Failure, article_label, channel_label, expired, read_fields, staff_consultation};
use crate::texts::{Texts, texts};

/// The columns, in the order people read them. `message_id` is empty except for mail.
pub const COLUMNS: [Column; 22] = [
    Column { key: "receipt", title: "受理编号" },
    Column { key: "consultation_id", title: "征求意见编号" },
    Column { key: "version", title: "文本版本" },
    Column { key: "channel", title: "渠道" },
    Column { key: "submitted_at", title: "收到时间" },
    Column { key: "name", title: "姓名" },
    Column { key: "id_number", title: "身份证号" },
    Column { key: "position", title: "职位" },
    Column { key: "phone", title: "联系电话" },
    Column { key: "email", title: "邮箱" },
    Column { key: "sender", title: "发件人/录入人" },
    Column { key: "message_id", title: "Message-ID" },
    Column { key: "articles", title: "涉及条款" },
    Column { key: "opinion", title: "意见" },
    Column { key: "status", title: "处理状态" },
    Column { key: "disposition", title: "处理结果" },
    Column { key: "disposition_reason", title: "处理理由" },
    Column { key: "moderation", title: "标记" },
    Column { key: "moderation_reason", title: "标记理由" },
    Column { key: "tags", title: "标签" },
    Column { key: "excerpt", title: "报告摘录" },
    Column { key: "note", title: "备注" },
];

/// What an export needs besides the consultation.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    pub format: Format,
    /// Full ID and phone numbers instead of masked ones.
    pub include_personal_data: bool,
    /// Why; required with personal data, written to the audit log.
    pub reason: Option<String>,
    /// Who asks: a staff user, or the operator at the command line.
    pub actor: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportFailure {
    #[error("personal data is exported only with a reason (--reason)")]
    ReasonRequired,
    #[error("the audit log could not be written, so nothing was exported: {0}")]
    Audit(yijian_store::StoreError),
    #[error(transparent)]
    Store(#[from] yijian_store::StoreError),
    #[error(transparent)]
    Write(#[from] yijian_formats::ExportError),
    #[error("the export thread stopped: {0}")]
    Thread(String),
}

/// Comments read per statement.
const PAGE: i64 = 5_000;

/// Pages decoded but not yet written.
const PAGES_AHEAD: usize = 2;

/// Fills `cells` with one comment's row, in [`COLUMNS`]' order.
fn fill_row(cells: &mut Vec<Cell>, tz: &jiff::tz::TimeZone, s: StoredComment, personal: bool) {
    let id_number = s.id_number.as_ref().map(|i| if personal { i.expose().to_string() } else { i.to_string() });
    let phone = s.phone.as_ref().map(|p| if personal { p.stored_form() } else { p.to_string() });
    cells.clear();
    cells.extend([
        Cell::Text(s.receipt.to_string()),
        Cell::Text(s.consultation_id),
        Cell::Int(s.version as i64),
        Cell::Text(channel_label(s.channel.as_str(), Lang::Zh).to_string()),
        Cell::Text(rfc3339_in(s.submitted_at, tz)),
        s.name.into(),
        id_number.into(),
        s.position.into(),
        phone.into(),
        s.email.into(),
        s.sender.into(),
        s.message_id.into(),
        Cell::List(s.articles.iter().map(|n| article_label(*n, Lang::Zh)).collect()),
        Cell::Text(s.opinion),
        Cell::Text(if s.disposition.is_some() { "已处理" } else { "待处理" }.to_string()),
        s.disposition.map(|d| d.label(Lang::Zh).to_string()).into(),
        s.disposition_reason.into(),
        s.moderation.map(|m| m.label(Lang::Zh).to_string()).into(),
        s.moderation_reason.into(),
        Cell::List(s.tags),
        s.excerpt.into(),
        s.note.into(),
    ]);
}

/// Writes every comment of `c` to `path`; `progress` hears the rows read so far. Returns the
/// number of rows.
///
/// The export is audited before anything is read. Then three stages overlap, a few pages
/// apart: the database reads a page, a blocking thread decodes and decrypts the one before
/// ([`Store::comment_pages`]), and another blocking thread turns the one before that into rows
/// and writes them.
pub async fn export_consultation(
    store: &Store,
    c: &Consultation,
    path: &Path,
    req: &ExportRequest,
    mut progress: impl FnMut(u64),
) -> Result<u64, ExportFailure> {
    let reason = req.reason.as_deref().map(str::trim).unwrap_or("");
    if req.include_personal_data && reason.is_empty() {
        return Err(ExportFailure::ReasonRequired);
    }
    let detail = format!(
        "format={}; personal_data={}; reason={reason}",
        req.format.as_str(),
        if req.include_personal_data { "included" } else { "masked" }
    );
    let action = if req.include_personal_data { "export.personal_data" } else { "export" };
    store.audit(&req.actor, action, &c.meta.id, &detail).await.map_err(ExportFailure::Audit)?;

    let articles: Vec<ArticleCount> = {
        let counts = store.article_counts(&c.meta.id).await?;
        c.document
            .articles()
            .map(|a| ArticleCount {
                label: format!("{} {}", article_label(a.number, Lang::Zh), a.title),
                comments: counts.iter().find(|(n, _)| *n == a.number).map(|(_, k)| *k as u64).unwrap_or(0),
            })
            .collect()
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<StoredComment>>(PAGES_AHEAD);
    let format = req.format;
    let out: PathBuf = path.to_path_buf();
    let personal = req.include_personal_data;
    // The time zone once, not per row.
    let tz = c.meta.tz();
    let writer = tokio::task::spawn_blocking(move || -> Result<(), yijian_formats::ExportError> {
        let mut w = ExportWriter::create(format, &out, &COLUMNS)?;
        let mut cells = Vec::with_capacity(COLUMNS.len());
        while let Some(page) = rx.blocking_recv() {
            for s in page {
                fill_row(&mut cells, &tz, s, personal);
                w.row(&cells)?;
            }
        }
        w.finish(&articles)
    });
    let mut pages = store.comment_pages(&c.meta.id, PAGE);
    let mut read = 0u64;
    let result = loop {
        let page = match pages.recv().await {
            Some(Ok(page)) => page,
            Some(Err(e)) => break Err(e),
            None => break Ok(()),
        };
        let n = page.len() as u64;
        if tx.send(page).await.is_err() {
            break Ok(()); // The writer failed; its error comes out of the join below.
        }
        read += n;
        progress(read);
    };
    drop((tx, pages));
    let written = writer.await.map_err(|e| ExportFailure::Thread(e.to_string()));
    // A failed read leaves a short file, which the caller deletes; the writer has let go of it.
    result?;
    written??;
    Ok(read)
}

// ------------------------------------------------------------------------------------------
// The web side
// ------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "admin_export.html")]
struct ExportPage {
    t: &'static Texts,
    other_lang_href: String,
    zh: bool,
    id: String,
    title: String,
    csrf: String,
    is_admin: bool,
    error: Option<String>,
}

pub async fn export_form(
    State(state): State<AppState>,
    axum::Extension(user): axum::Extension<SessionUser>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    let lang = crate::error::lang_of(&headers);
    match staff_consultation(&state, &id, lang).await {
        Ok(c) => export_page(&state, &user, &c, &headers, StatusCode::OK, None),
        Err(e) => e.page(lang),
    }
}

fn export_page(
    state: &AppState,
    user: &SessionUser,
    c: &Consultation,
    headers: &HeaderMap,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let lang = crate::error::lang_of(headers);
    let csrf = crate::pages::csrf_for(state, headers);
    let page = ExportPage {
        t: texts(lang),
        other_lang_href: format!("/admin/c/{}/export?lang=en", c.meta.id),
        zh: lang == Lang::Zh,
        id: c.meta.id.clone(),
        title: c.meta.title.clone(),
        csrf: csrf.clone(),
        is_admin: user.role == Role::Admin,
        error,
    };
    crate::pages::with_csrf_cookie(crate::pages::html(status, crate::pages::render(&page), lang, false), &csrf)
}

/// Reads the request's format and personal-data choice; personal data needs an admin and a
/// reason.
fn request_from(f: &Fields, user: &SessionUser, lang: Lang) -> Result<ExportRequest, Failure> {
    let format: Format = f.get("format").unwrap_or("csv").parse().map_err(|_| {
        Failure::bad(lang, say(lang, "导出格式须为 csv、xlsx 或 jsonl。", "format must be csv, xlsx or jsonl."))
    })?;
    let personal = matches!(f.get("include_personal_data"), Some("on" | "true" | "1" | "yes"));
    if personal && user.role != Role::Admin {
        return Err(Failure::forbidden(lang));
    }
    let reason = f.get("reason").map(String::from);
    if personal && reason.as_deref().is_none_or(|r| r.chars().count() < 4) {
        return Err(Failure::bad(
            lang,
            say(
                lang,
                "导出完整个人信息须写明理由（至少4个字），理由将记入审计日志。",
                "Give a reason (4 characters or more) to export personal data; it goes to the audit log.",
            ),
        ));
    }
    Ok(ExportRequest { format, include_personal_data: personal, reason, actor: user.name.clone() })
}

/// Runs the export into a temporary file and streams it back. The file is unlinked as soon as
/// it is open, so nothing stays behind on disk whatever happens to the download.
async fn download(state: &AppState, c: &Consultation, req: &ExportRequest, lang: Lang) -> Result<Response, Failure> {
    let path = std::env::temp_dir().join(format!(
        "yijian-export-{}.{}",
        hex::encode(yijian_crypto::random_bytes::<12>()),
        req.format.extension()
    ));
    let result = export_consultation(&state.store, c, &path, req, |_| {}).await;
    let opened = match result {
        Ok(_) => tokio::fs::File::open(&path).await,
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            return Err(Failure::internal(lang, e));
        }
    };
    let _ = std::fs::remove_file(&path);
    let file = opened.map_err(|e| Failure::internal(lang, e))?;
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

/// `POST /admin/c/{id}/export`: the form's choice, downloaded.
pub async fn export_post(
    State(state): State<AppState>,
    axum::Extension(user): axum::Extension<SessionUser>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let lang = crate::error::lang_of(&headers);
    let c = match staff_consultation(&state, &id, lang).await {
        Ok(c) => c,
        Err(e) => return e.page(lang),
    };
    let f = match read_fields(&headers, body, 16 * 1024, lang).await {
        Ok(f) => f,
        Err(e) => return e.page(lang),
    };
    if !crate::pages::csrf_matches(&state, &headers, f.get("csrf").unwrap_or("")) {
        return export_page(&state, &user, &c, &headers, StatusCode::FORBIDDEN, Some(expired(lang).message));
    }
    let req = match request_from(&f, &user, lang) {
        Ok(r) => r,
        Err(e) => return export_page(&state, &user, &c, &headers, e.status, Some(e.message)),
    };
    download(&state, &c, &req, lang).await.unwrap_or_else(|e| e.page(lang))
}

/// `GET /api/v1/admin/consultations/{id}/export?format=…` (masked), or `POST` with
/// `{"format", "include_personal_data": true, "reason"}`.
pub async fn api_export_get(
    State(state): State<AppState>,
    axum::Extension(user): axum::Extension<SessionUser>,
    UrlPath(id): UrlPath<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let lang = crate::error::lang_of(&headers);
    let f = Fields::from_urlencoded(query.unwrap_or_default().as_bytes());
    let result = async {
        if f.has("include_personal_data") {
            return Err(Failure::bad(
                lang,
                say(lang, "导出个人信息请用 POST 并写明理由。", "Use POST with a reason to export personal data."),
            ));
        }
        let c = staff_consultation(&state, &id, lang).await?;
        let req = request_from(&f, &user, lang)?;
        download(&state, &c, &req, lang).await
    }
    .await;
    result.unwrap_or_else(|e| e.json())
}

pub async fn api_export_post(
    State(state): State<AppState>,
    axum::Extension(user): axum::Extension<SessionUser>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let lang = crate::error::lang_of(&headers);
    let result = async {
        let c = staff_consultation(&state, &id, lang).await?;
        let f = read_fields(&headers, body, 16 * 1024, lang).await?;
        let req = request_from(&f, &user, lang)?;
        download(&state, &c, &req, lang).await
    }
    .await;
    result.unwrap_or_else(|e| e.json())
}
