//! Exports of a consultation's comments as CSV, XLSX or JSONL, for the web and the command
//! line alike.
//!
//! Personal data (the ID and phone fields, and numbers written into the opinion) is masked
//! unless the caller asks for it with a reason; either way the export
//! is written to the audit log before the first row is. Rows are read page by page and handed
//! to a blocking thread that writes the file, so a million comments use neither a long read
//! transaction nor an async worker thread.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use yijian_domain::Lang;
use yijian_domain::consultation::{Consultation, rfc3339_in};
use yijian_domain::messages::{article_label, channel_label};
use yijian_domain::signals::Signal;
use yijian_domain::staff::{AuditReason, Permission};
use yijian_domain::suggestion::{ArticleSuggestion, format_cell};
use yijian_formats::{ArticleCount, Cell, Column, ExportWriter, Format};
use yijian_store::{Audit, SessionUser, Store, StoredComment};

/// The columns, in the order people read them. `message_id` is empty except for mail.
pub const COLUMNS: [Column; 27] = [
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
    Column { key: "campaign", title: "雷同意见组" },
    Column { key: "campaign_size", title: "组内意见数" },
    // Issue 13: the comment's signals, by their codes (`id_reused`, …).
    Column { key: "signals", title: "信号" },
    // Issue 14: open article suggestions, beside the confirmed `articles`: a list of
    // {"article", "confidence", "kind"} in JSONL, `5 (explicit, 1.00); 7 (similar, 0.62)` in
    // spreadsheets.
    Column { key: "suggested_articles", title: "建议条款" },
    // Issue 14: the theme the comment is in (its id), confirmed or not; on several articles, the lowest one's.
    Column { key: "theme", title: "主题" },
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
    #[error("personal data is exported only with a reason of at least 4 characters (--reason)")]
    ReasonRequired,
    #[error("only an administrator may export personal data")]
    Forbidden,
    #[error("the audit log could not be written, so nothing was exported: {0}")]
    Audit(yijian_store::StoreError),
    #[error(transparent)]
    Store(#[from] yijian_store::StoreError),
    #[error(transparent)]
    Write(#[from] yijian_formats::ExportError),
    #[error("the export thread stopped: {0}")]
    Thread(String),
}

/// The signals of one page's comments, by comment id.
type PageSignals = std::collections::HashMap<i64, Vec<Signal>>;
/// The open article suggestions of one page's comments, by comment id.
type PageSuggestions = std::collections::HashMap<i64, Vec<ArticleSuggestion>>;

/// Comments read per statement.
const PAGE: i64 = 5_000;

/// Pages decoded but not yet written.
const PAGES_AHEAD: usize = 2;

/// Fills `cells` with one comment's row, in [`COLUMNS`]' order.
fn fill_row(
    cells: &mut Vec<Cell>,
    tz: &jiff::tz::TimeZone,
    s: StoredComment,
    personal: bool,
    campaign_sizes: &HashMap<i64, u64>,
    signals: &[Signal],
    suggested: &[ArticleSuggestion],
) {
    // A campaign the detection has since emptied is no campaign.
    let campaign = s.campaign.and_then(|k| campaign_sizes.get(&k).map(|n| (k, *n)));
    let id_number = s.id_number.as_ref().map(|i| if personal { i.expose().to_string() } else { i.to_string() });
    let phone = s.phone.as_ref().map(|p| if personal { p.stored_form() } else { p.to_string() });
    // The opinion column holds the masked text; the text as written is sealed beside it.
    let opinion = match s.full_opinion {
        Some(full) if personal => full.into_exposed(),
        _ => s.opinion,
    };
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
        Cell::Text(opinion),
        Cell::Text(if s.disposition.is_some() { "已处理" } else { "待处理" }.to_string()),
        s.disposition.map(|d| d.label(Lang::Zh).to_string()).into(),
        s.disposition_reason.into(),
        s.moderation.map(|m| m.label(Lang::Zh).to_string()).into(),
        s.moderation_reason.into(),
        Cell::List(s.tags),
        s.excerpt.into(),
        s.note.into(),
        campaign.map(|(k, _)| Cell::Int(k)).unwrap_or(Cell::Null),
        campaign.map(|(_, n)| Cell::Int(n as i64)).unwrap_or(Cell::Null),
        Cell::List(signals.iter().map(|x| x.as_str().to_string()).collect()),
        Cell::Structured {
            json: serde_json::to_string(suggested).expect("numbers and names"),
            text: format_cell(suggested),
        },
        s.theme.map(Cell::Int).unwrap_or(Cell::Null),
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
    now: Timestamp,
    progress: impl FnMut(u64),
) -> Result<u64, ExportFailure> {
    export_consultation_to(store, c, ExportTarget::Path(path.to_path_buf()), req, now, progress).await
}

/// Where an export is written.
#[derive(Debug)]
pub enum ExportTarget {
    /// A file at this path: created readable by its owner only (0600), or truncated.
    Path(PathBuf),
    /// A file the caller opened, such as an unnamed temporary file that vanishes with the
    /// process; an XLSX export streams its rows through files in `scratch` meanwhile.
    File { file: std::fs::File, scratch: PathBuf },
}

/// [`export_consultation`] to a file at a path or one already open.
pub async fn export_consultation_to(
    store: &Store,
    c: &Consultation,
    target: ExportTarget,
    req: &ExportRequest,
    now: Timestamp,
    mut progress: impl FnMut(u64),
) -> Result<u64, ExportFailure> {
    let reason = req.reason.as_deref().map(str::trim).unwrap_or("");
    if req.include_personal_data && AuditReason::parse(reason).is_none() {
        return Err(ExportFailure::ReasonRequired);
    }
    let detail = format!(
        "format={}; personal_data={}; reason={reason}",
        req.format.as_str(),
        if req.include_personal_data { "included" } else { "masked" }
    );
    let action = if req.include_personal_data { "export.personal_data" } else { "export" };
    store.audit(now, Audit::new(&req.actor, action, &c.meta.id, detail)).await.map_err(ExportFailure::Audit)?;

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
    let campaign_sizes: HashMap<i64, u64> =
        store.campaign_sizes(&c.meta.id).await?.into_iter().map(|(k, c)| (k, c.size)).collect();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(Vec<StoredComment>, PageSignals, PageSuggestions)>(PAGES_AHEAD);
    let format = req.format;
    let personal = req.include_personal_data;
    // The time zone once, not per row.
    let tz = c.meta.tz();
    let writer = tokio::task::spawn_blocking(move || -> Result<(), yijian_formats::ExportError> {
        let mut w = match target {
            ExportTarget::Path(path) => ExportWriter::create(format, &path, &COLUMNS)?,
            ExportTarget::File { file, scratch } => ExportWriter::to_file(format, file, &scratch, &COLUMNS)?,
        };
        let mut cells = Vec::with_capacity(COLUMNS.len());
        while let Some((page, signals, suggested)) = rx.blocking_recv() {
            for s in page {
                let these = signals.get(&s.id).map(Vec::as_slice).unwrap_or_default();
                let suggested = suggested.get(&s.id).map(Vec::as_slice).unwrap_or_default();
                fill_row(&mut cells, &tz, s, personal, &campaign_sizes, these, suggested);
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
        let signals = match (page.first(), page.last()) {
            (Some(first), Some(last)) => match store.signals_between(&c.meta.id, first.id, last.id).await {
                Ok(s) => s,
                Err(e) => break Err(e),
            },
            _ => PageSignals::new(),
        };
        let ids: Vec<i64> = page.iter().map(|s| s.id).collect();
        let suggested = match store.open_suggestions(&c.meta.id, &ids).await {
            Ok(s) => s,
            Err(e) => break Err(e),
        };
        if tx.send((page, signals, suggested)).await.is_err() {
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

impl crate::App {
    /// Writes every comment of `c` to `path` (see [`export_consultation`]).
    pub async fn export(
        &self,
        c: &Consultation,
        path: &Path,
        req: &ExportRequest,
        now: Timestamp,
        progress: impl FnMut(u64),
    ) -> Result<u64, ExportFailure> {
        export_consultation(&self.store, c, path, req, now, progress).await
    }

    /// Writes every comment of `c` to a file already open (see [`export_consultation_to`]).
    pub async fn export_to_file(
        &self,
        c: &Consultation,
        file: std::fs::File,
        scratch: PathBuf,
        req: &ExportRequest,
        now: Timestamp,
        progress: impl FnMut(u64),
    ) -> Result<u64, ExportFailure> {
        export_consultation_to(&self.store, c, ExportTarget::File { file, scratch }, req, now, progress).await
    }

    /// How many comments a consultation has, for a progress bar.
    pub async fn count_comments(&self, consultation: &str) -> Result<i64, crate::Error> {
        Ok(self.store.count_comments(consultation).await?)
    }
}

/// An export asked for by a staff user: personal data needs the power to reveal it.
pub fn staff_request(
    user: &SessionUser,
    format: Format,
    include_personal_data: bool,
    reason: Option<String>,
) -> Result<ExportRequest, ExportFailure> {
    let permission = if include_personal_data { Permission::RevealPersonalData } else { Permission::ExportMasked };
    if !user.role.may(permission) {
        return Err(ExportFailure::Forbidden);
    }
    if include_personal_data && reason.as_deref().and_then(AuditReason::parse).is_none() {
        return Err(ExportFailure::ReasonRequired);
    }
    Ok(ExportRequest { format, include_personal_data, reason, actor: user.name.clone() })
}
