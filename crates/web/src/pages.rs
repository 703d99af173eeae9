//! The public pages: server-rendered HTML that works without JavaScript.
//!
//! Chinese by default; English with `?lang=en` (remembered in a cookie) or when the browser
//! prefers it. The draft's HTML is rendered once per text version and kept; only the form's
//! small per-visitor parts (CSRF token, form id, captcha) are made per request.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use askama::Template;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Map, Value};
use yijian_app::intake::{Refused, Submission};
use yijian_domain::comment::Channel;
use yijian_domain::consultation::{ConsultationMeta, Status};
use yijian_domain::document::chinese_numeral;
use yijian_domain::receipt::Receipt;
use yijian_domain::{FieldCode, FieldError, Lang, messages};

use crate::extract::{PageLanguage, PublicConsultation};
use crate::texts::{Texts, texts};
use crate::{AppState, LiveConsultation, cache};

const LANG_COOKIE: &str = "lang";
/// How long a form id remembers its receipt, so a resubmitted page shows it again.
const FORM_MEMORY: Duration = Duration::from_secs(3600);

/// What a successful submission showed, kept per form id.
#[derive(Clone)]
pub struct Done {
    receipt: Receipt,
    submitted_at: Timestamp,
    submitted: Vec<(String, String)>,
}

/// This node's memory of forms in flight and done, so a double tap waits for the first
/// sending's outcome instead of racing it. What makes a form store one comment across nodes is
/// its id stored with the comment (unique), which any node finds (`Submission::form_id`).
pub type FormMemory = std::collections::HashMap<String, (Instant, Arc<tokio::sync::OnceCell<Done>>)>;

// ------------------------------------------------------------------------------------------
// Language, cookies, headers
// ------------------------------------------------------------------------------------------

/// What a public page's query may carry besides `lang` (see [`PageLanguage`]).
#[derive(Deserialize, Default)]
pub struct PageQuery {
    article: Option<u32>,
    captcha: Option<String>,
    receipt: Option<String>,
}

/// A strict Content-Security-Policy with no inline script or style.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
     media-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// What every page carries beside its body and the cache's headers.
fn page_headers() -> Vec<(HeaderName, HeaderValue)> {
    vec![
        (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)),
        (HeaderName::from_static("x-frame-options"), HeaderValue::from_static("DENY")),
    ]
}

/// A page made per request: HTML, never cached (some carry personal data or one-time tokens;
/// the security layer marks them `no-store`).
pub(crate) fn html(status: StatusCode, body: String, lang: Lang, remember: bool) -> Response {
    let mut res = (status, body).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    for (k, v) in page_headers() {
        h.insert(k, v);
    }
    if remember {
        remember_language(&mut res, lang);
    }
    res
}

/// Sets the cookie that keeps a language chosen in the query.
fn remember_language(res: &mut Response, lang: Lang) {
    let v =
        format!("{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax", if lang == Lang::En { "en" } else { "zh" });
    if let Ok(v) = HeaderValue::from_str(&v) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// A public page from the response cache: made by `make` the first time its key is asked for,
/// then served (compressed, or 304) from memory. A page whose query chose the language sets
/// the cookie that remembers it, and is then for this browser only.
pub(crate) async fn cached_page<F, Fut>(
    state: &AppState,
    key: &str,
    req: &HeaderMap,
    lang: Lang,
    remember: bool,
    make: F,
) -> Response
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<String, Response>>,
{
    let made = state
        .responses
        .get_or_make(key, || async { make().await.map(|body| (body.into_bytes(), cache::PAGE, page_headers())) })
        .await;
    match made {
        Ok(entry) => {
            let mut res = entry.respond(req);
            if remember {
                remember_language(&mut res, lang);
                res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(cache::PAGE_SETTING_COOKIE));
            }
            res
        }
        Err(refused) => refused,
    }
}

/// A fixed public file (or the canonical text) from the response cache.
async fn cached_bytes(
    state: &AppState,
    key: &str,
    req: &HeaderMap,
    kind: cache::Kind,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: impl FnOnce() -> Vec<u8>,
) -> Response {
    let made =
        state.responses.get_or_make(key, || async { Ok::<_, std::convert::Infallible>((body(), kind, headers)) });
    match made.await {
        Ok(entry) => entry.respond(req),
        Err(never) => match never {},
    }
}

fn lang_code(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "en",
        Lang::Zh => "zh",
    }
}

pub(crate) fn render<T: Template>(t: &T) -> String {
    t.render().unwrap_or_else(|e| {
        tracing::error!(error = %e, "template failed");
        "<!DOCTYPE html><title>error</title><p>error</p>".into()
    })
}

pub(crate) fn lang_query(lang: Lang) -> (&'static str, &'static str) {
    match lang {
        Lang::En => ("?lang=en", "&lang=en"),
        Lang::Zh => ("", ""),
    }
}

pub(crate) fn other_lang_href(path: &str, lang: Lang) -> String {
    format!("{path}?lang={}", if lang == Lang::En { "zh" } else { "en" })
}

fn status_label(t: &Texts, s: Status) -> &'static str {
    match s {
        Status::Open => t.open,
        Status::Upcoming => t.upcoming,
        Status::Closed => t.closed,
    }
}

fn day(meta: &ConsultationMeta, ts: Timestamp, lang: Lang) -> String {
    let d = ts.to_zoned(meta.tz()).date();
    match lang {
        Lang::Zh => format!("{}年{}月{}日", d.year(), d.month(), d.day()),
        Lang::En => d.strftime("%-d %B %Y").to_string(),
    }
}

/// "Open until 18 May 2025, 12 days left" and the like.
fn open_when(meta: &ConsultationMeta, now: Timestamp, lang: Lang) -> String {
    let t = texts(lang);
    match meta.status(now) {
        Status::Open => {
            let days = days_left(meta, now);
            t.open_until
                .replace("{from}", &day(meta, meta.opens_at, lang))
                .replace("{date}", &meta.deadline_text(lang))
                .replace("{days}", &days.to_string())
        }
        Status::Upcoming => t.opens_on.replace("{date}", &day(meta, meta.opens_at, lang)),
        Status::Closed => t.closed_on.replace("{date}", &meta.deadline_text(lang)),
    }
}

/// Whole days until the deadline, the last one counted.
fn days_left(meta: &ConsultationMeta, now: Timestamp) -> i64 {
    let left = (meta.closes_at.as_second() - now.as_second()).max(0);
    (left + 86_399) / 86_400
}

/// What of [`open_when`] changes with the time alone, for a page's cache key: the days left while
/// open. The rest of its text follows from the consultation, the status and the language, which
/// the key holds already; formatting it (dates in the consultation's time zone) on every view cost
/// the cached page about 2 % of its CPU.
fn open_when_key(meta: &ConsultationMeta, now: Timestamp) -> i64 {
    match meta.status(now) {
        Status::Open => days_left(meta, now),
        Status::Upcoming | Status::Closed => -1,
    }
}

// ------------------------------------------------------------------------------------------
// Static files and the canonical text
// ------------------------------------------------------------------------------------------

pub async fn css(State(state): State<AppState>, headers: HeaderMap) -> Response {
    cached_bytes(&state, "static:app.css", &headers, cache::CSS, vec![], || {
        include_bytes!("../static/app.css").to_vec()
    })
    .await
}

pub async fn js(State(state): State<AppState>, headers: HeaderMap) -> Response {
    cached_bytes(&state, "static:app.js", &headers, cache::JS, vec![], || include_bytes!("../static/app.js").to_vec())
        .await
}

/// The exact bytes whose SHA-256 the page shows, so anyone can check a copy; one per version.
pub async fn canonical_text(
    State(state): State<AppState>,
    PublicConsultation(c): PublicConsultation,
    headers: HeaderMap,
) -> Response {
    let key =
        cache::Fingerprint::new("text.txt").with(&c.meta.id).with(c.version.to_string()).with(&c.content_sha256).key();
    let extra: Vec<_> = HeaderValue::from_str(&c.content_sha256)
        .ok()
        .map(|v| (HeaderName::from_static("x-content-sha256"), v))
        .into_iter()
        .collect();
    cached_bytes(&state, &key, &headers, cache::TEXT, extra, || c.canonical_text().into_bytes()).await
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    t: &'static Texts,
    other_lang_href: String,
    heading: &'a str,
    body: &'a str,
}

pub(crate) fn message(status: StatusCode, lang: Lang, heading: &str, body: &str) -> Response {
    let page = MessagePage { t: texts(lang), other_lang_href: other_lang_href("/", lang), heading, body };
    html(status, render(&page), lang, false)
}

// ------------------------------------------------------------------------------------------
// The list of consultations
// ------------------------------------------------------------------------------------------

struct IndexItem {
    id: String,
    title: String,
    issuer: String,
    demo: bool,
    status_label: &'static str,
    when: String,
}

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage {
    t: &'static Texts,
    other_lang_href: String,
    lang_query: &'static str,
    items: Vec<IndexItem>,
}

pub async fn index(
    State(state): State<AppState>,
    PageLanguage { lang, remember }: PageLanguage,
    headers: HeaderMap,
) -> Response {
    let t = texts(lang);
    let Ok(list) = state.listing().await else {
        return message(StatusCode::INTERNAL_SERVER_ERROR, lang, t.error, t.error_body);
    };
    let now = Timestamp::now();
    let mut items = Vec::new();
    for s in list.iter().filter(|s| !s.archived) {
        // Loading verifies each text: a tampered one is left out of the list, not shown.
        let Ok(Some(c)) = state.app.consultation(&s.id).await else { continue };
        let status = c.meta.status(now);
        let rank = match status {
            Status::Open => 0,
            Status::Upcoming => 1,
            Status::Closed => 2,
        };
        items.push((
            rank,
            c.meta.closes_at,
            IndexItem {
                id: c.meta.id.clone(),
                title: c.document.title.clone(),
                issuer: c.meta.issuer.clone(),
                demo: c.demo,
                status_label: status_label(t, status),
                when: open_when(&c.meta, now, lang),
            },
        ));
    }
    // Open first (soonest deadline first), then upcoming, then closed (latest first).
    items.sort_by(|a, b| a.0.cmp(&b.0).then(if a.0 == 2 { b.1.cmp(&a.1) } else { a.1.cmp(&b.1) }));
    let items: Vec<IndexItem> = items.into_iter().map(|(_, _, i)| i).collect();
    // The key is everything the list shows.
    let key = items
        .iter()
        .fold(cache::Fingerprint::new("index").with(lang_code(lang)), |f, i| {
            f.with(&i.id).with(&i.title).with(&i.issuer).with([u8::from(i.demo)]).with(i.status_label).with(&i.when)
        })
        .key();
    cached_page(&state, &key, &headers, lang, remember, || async move {
        let page = IndexPage { t, other_lang_href: other_lang_href("/", lang), lang_query: lang_query(lang).0, items };
        Ok(render(&page))
    })
    .await
}

// ------------------------------------------------------------------------------------------
// The consultation page and its form
// ------------------------------------------------------------------------------------------

struct DraftChapter {
    heading: String,
    articles: Vec<DraftArticle>,
}

struct DraftArticle {
    number: u32,
    title: String,
    first: Option<String>,
    rest: Vec<String>,
}

#[derive(Template)]
#[template(path = "draft.html")]
struct DraftHtml<'a> {
    id: &'a str,
    title: &'a str,
    preamble: &'a [String],
    chapters: Vec<DraftChapter>,
    open: bool,
    lang_amp: &'static str,
    comment_on: &'static str,
}

/// The draft as HTML, rendered once per (consultation, version, language, open or not).
fn draft_html(state: &AppState, c: &LiveConsultation, lang: Lang, open: bool) -> Arc<String> {
    let key = (c.meta.id.clone(), c.version, c.content_sha256.clone(), lang, open);
    if let Some(h) = state.drafts.lock().expect("draft cache poisoned").get(&key) {
        return h.clone();
    }
    let chapters = c
        .document
        .chapters
        .iter()
        .map(|ch| DraftChapter {
            heading: format!("{}、{}", chinese_numeral(ch.number), ch.title),
            articles: ch
                .articles
                .iter()
                .map(|a| DraftArticle {
                    number: a.number,
                    title: a.title.clone(),
                    first: a.body.first().cloned(),
                    rest: a.body.iter().skip(1).cloned().collect(),
                })
                .collect(),
        })
        .collect();
    let page = DraftHtml {
        id: &c.meta.id,
        title: &c.document.title,
        preamble: &c.document.preamble,
        chapters,
        open,
        lang_amp: lang_query(lang).1,
        comment_on: texts(lang).comment_on_article,
    };
    let rendered = Arc::new(render(&page));
    let mut cache = state.drafts.lock().expect("draft cache poisoned");
    if cache.len() > 256 {
        cache.clear();
    }
    cache.insert(key, rendered.clone());
    rendered
}

struct FieldView {
    name: &'static str,
    label: &'static str,
    input_type: &'static str,
    autocomplete: &'static str,
    hint: Option<&'static str>,
    value: String,
    error: Option<String>,
}

struct PositionOption {
    name: String,
    selected: bool,
}

struct ArticleChoice {
    number: u32,
    label: String,
    checked: bool,
}

struct SummaryError {
    anchor: &'static str,
    label: &'static str,
    message: String,
}

#[derive(Template)]
#[template(path = "consultation.html")]
struct ConsultationPage {
    /// Deadline extensions and early closes, each with its reason: shown publicly.
    schedule_changes: Vec<String>,
    /// Whether an adoption report is published.
    has_report: bool,
    t: &'static Texts,
    other_lang_href: String,
    lang_query: &'static str,
    lang_amp: &'static str,
    id: String,
    title: String,
    issuer: String,
    demo: bool,
    status_label: &'static str,
    when: String,
    notice: Vec<String>,
    contact_person: String,
    contact_department: String,
    contact_phone: String,
    contact_email: String,
    email_address: String,
    subject_line: String,
    mailto: String,
    draft_html: Arc<String>,
    version: u32,
    sha256: String,
    signature: String,
    open: bool,
    closed_text: String,
    csrf: String,
    errors: Vec<SummaryError>,
    fields: Vec<FieldView>,
    positions: Vec<PositionOption>,
    max_chars: usize,
    article_choices: Vec<ArticleChoice>,
    articles_error: Option<String>,
    captcha_id: String,
    captcha_image: String,
    /// The sound's address, for an audio captcha.
    captcha_audio: Option<String>,
    /// Why no captcha was given (too many asked for), with when to try again.
    captcha_unavailable: Option<String>,
    /// The status and Retry-After seconds a page without its captcha is answered with.
    captcha_refused: Option<(StatusCode, u64)>,
    captcha_error: Option<String>,
    consent_checked: bool,
    consent_error: Option<String>,
    /// The cached page: no captcha, no CSRF token, no form id; app.js fetches them from
    /// `token_url` when the form is first used, and without it the first POST is answered
    /// with them (the "one more step" page).
    deferred: bool,
    token_url: String,
    /// `image` or `audio`: the kind the form asks for, sent back with it.
    captcha_kind: &'static str,
    /// This page is the no-JavaScript step: the captcha to answer before the comment is stored.
    captcha_step: bool,
}

/// The small template of the captcha's place in the form, also sent alone to app.js.
#[derive(Template)]
#[template(path = "captcha_fragment.html")]
struct CaptchaFragment {
    t: &'static Texts,
    id: String,
    lang_query: &'static str,
    lang_amp: &'static str,
    deferred: bool,
    captcha_image: String,
    captcha_audio: Option<String>,
    captcha_unavailable: Option<String>,
}

/// What the visitor typed, to put back into a form that came back with errors.
#[derive(Default)]
struct Entered {
    values: std::collections::HashMap<&'static str, String>,
    articles: Vec<u32>,
    consent: bool,
    form_id: Option<String>,
}

fn percent(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>().replace('+', "%20")
}

/// Which captcha a form shows: the image, or the same kind of challenge spoken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum CaptchaKind {
    #[default]
    Image,
    Audio,
}

impl CaptchaKind {
    /// `?captcha=audio`; `text`, which once asked a question in words, now gives the sound.
    pub(crate) fn asked(q: Option<&str>) -> CaptchaKind {
        match q {
            Some("audio" | "text") => CaptchaKind::Audio,
            _ => CaptchaKind::Image,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            CaptchaKind::Image => "image",
            CaptchaKind::Audio => "audio",
        }
    }
}

/// The captcha of a form, or why there is none.
#[derive(Default)]
pub(crate) struct CaptchaView {
    pub(crate) id: String,
    pub(crate) image: String,
    pub(crate) audio: Option<String>,
    pub(crate) unavailable: Option<String>,
    pub(crate) refused: Option<(StatusCode, u64)>,
}

/// Issues a captcha for `client`, within its limit and the store's bounds.
pub(crate) async fn draw_captcha(
    state: &AppState,
    client: std::net::IpAddr,
    kind: CaptchaKind,
    lang: Lang,
) -> CaptchaView {
    use yijian_app::captcha::Unavailable;
    let t = texts(lang);
    let refused = |message: &str, status: StatusCode, secs: u64| CaptchaView {
        unavailable: Some(message.replace("{secs}", &secs.to_string())),
        refused: Some((status, secs)),
        ..CaptchaView::default()
    };
    if let Err(wait) = state.check_captcha_rate(client).await {
        return refused(t.captcha_rate_limited, StatusCode::TOO_MANY_REQUESTS, crate::limits::retry_after_secs(wait));
    }
    let audio = |state: &AppState| match state.captchas.issue_audio(lang, Timestamp::now()) {
        Ok(ch) => {
            CaptchaView { audio: Some(format!("/captcha/{}/audio.wav", ch.id)), id: ch.id, ..CaptchaView::default() }
        }
        Err(Unavailable::Full { retry_after }) => {
            refused(t.captcha_busy, StatusCode::SERVICE_UNAVAILABLE, retry_after.as_secs().max(1).unsigned_abs())
        }
        Err(Unavailable::Failed) => refused(t.captcha_busy, StatusCode::SERVICE_UNAVAILABLE, 1),
    };
    if kind == CaptchaKind::Audio {
        return audio(state);
    }
    match state.captchas.issue(Timestamp::now()).await {
        Ok(ch) => CaptchaView { id: ch.id, image: ch.image_data_url, ..CaptchaView::default() },
        Err(Unavailable::Full { retry_after }) => {
            refused(t.captcha_busy, StatusCode::SERVICE_UNAVAILABLE, retry_after.as_secs().max(1).unsigned_abs())
        }
        // The image could not be drawn: the sound is the other way in.
        Err(Unavailable::Failed) => audio(state),
    }
}

/// Whom the form is for and which captcha it shows.
#[derive(Clone, Copy)]
struct Visitor {
    client: std::net::IpAddr,
    captcha: CaptchaKind,
}

/// The per-visitor parts of the form: none (the cached page), or a captcha, CSRF token and form
/// id made for this visitor.
#[derive(Clone, Copy)]
enum FormParts<'a> {
    Deferred(CaptchaKind),
    Live {
        visitor: Visitor,
        csrf: &'a str,
        /// The no-JavaScript step: the form came without them, and is asked to answer the captcha.
        step: bool,
    },
}

async fn consultation_page(
    state: &AppState,
    c: &LiveConsultation,
    lang: Lang,
    entered: &Entered,
    errors: &[FieldError],
    parts: FormParts<'_>,
    has_report: bool,
) -> ConsultationPage {
    let t = texts(lang);
    let m = &c.meta;
    let now = Timestamp::now();
    let status = m.status(now);
    let open = status == Status::Open;
    let error_for = |field: &str| errors.iter().find(|e| e.field == field).map(|e| messages::field_message(e, lang));
    let (captcha, kind, csrf, deferred, step) = match parts {
        FormParts::Deferred(kind) => (CaptchaView::default(), kind, None, true, false),
        FormParts::Live { visitor, csrf, step } => {
            let captcha = if open {
                draw_captcha(state, visitor.client, visitor.captcha, lang).await
            } else {
                CaptchaView::default()
            };
            (captcha, visitor.captcha, Some(csrf), false, step)
        }
    };
    let spec: [(&'static str, &'static str, &'static str, &'static str, Option<&'static str>); 6] = [
        ("name", t.f_name, "text", "name", None),
        ("id_number", t.f_id_number, "text", "off", Some(t.h_id_number)),
        ("position", t.f_position, "text", "off", None),
        ("phone", t.f_phone, "tel", "tel", Some(t.h_phone)),
        ("email", t.f_email, "email", "email", None),
        ("opinion", t.f_opinion, "text", "off", None),
    ];
    let fields = spec
        .iter()
        .map(|(name, label, input_type, autocomplete, hint)| FieldView {
            name,
            label,
            input_type,
            autocomplete,
            hint: *hint,
            value: entered.values.get(name).cloned().unwrap_or_default(),
            error: error_for(name),
        })
        .collect();
    let chosen_position = entered.values.get("position").cloned().unwrap_or_default();
    let summary_order =
        ["name", "id_number", "position", "phone", "email", "opinion", "articles", "captcha_answer", "consent"];
    let mut summary: Vec<SummaryError> = Vec::new();
    for field in summary_order {
        if let Some(e) =
            errors.iter().find(|e| e.field == field || (field == "captcha_answer" && e.field == "captcha_id"))
        {
            summary.push(SummaryError {
                anchor: field,
                label: messages::field_label(field, lang),
                message: messages::field_message(e, lang),
            });
        }
    }
    if let Some(e) = errors.iter().find(|e| e.field == "form") {
        summary.insert(
            0,
            SummaryError { anchor: "form-title", label: t.form_title, message: messages::field_message(e, lang) },
        );
    }
    let subject_line = format!("《{}》", m.email_channel.subject_phrase);
    let schedule_changes = state
        .app
        .schedule_events(&m.id)
        .await
        .unwrap_or_default()
        .iter()
        .filter(|e| e.kind != "archived")
        .map(|e| crate::manage::event_line(e, &c.tz, lang))
        .collect();
    ConsultationPage {
        schedule_changes,
        has_report,
        t,
        other_lang_href: other_lang_href(&format!("/c/{}", m.id), lang),
        lang_query: lang_query(lang).0,
        lang_amp: lang_query(lang).1,
        id: m.id.clone(),
        title: c.document.title.clone(),
        issuer: m.issuer.clone(),
        demo: c.demo,
        status_label: status_label(t, status),
        when: open_when(m, now, lang),
        notice: m.rendered_notice().split('\n').map(str::trim).filter(|p| !p.is_empty()).map(String::from).collect(),
        contact_person: m.contact.person.clone(),
        contact_department: m.contact.department.clone(),
        contact_phone: m.contact.phone.clone(),
        contact_email: m.contact.email.clone(),
        email_address: m.email_channel.address.clone(),
        mailto: format!("mailto:{}?subject={}", m.email_channel.address, percent(&subject_line)),
        subject_line,
        draft_html: draft_html(state, c, lang, open),
        version: c.version,
        sha256: c.content_sha256.clone(),
        signature: c.signature.clone(),
        open,
        closed_text: match status {
            Status::Upcoming => t.not_yet_open.replace("{date}", &day(m, m.opens_at, lang)),
            _ => t.is_closed.replace("{date}", &m.deadline_text(lang)),
        },
        csrf: csrf
            .map(|csrf| format!("{csrf}|{}", entered.form_id.clone().unwrap_or_else(new_form_id)))
            .unwrap_or_default(),
        errors: summary,
        fields,
        positions: m
            .positions
            .iter()
            .map(|p| PositionOption { name: p.clone(), selected: *p == chosen_position })
            .collect(),
        max_chars: m.max_opinion_chars,
        article_choices: c
            .document
            .articles()
            .map(|a| ArticleChoice {
                number: a.number,
                label: t.article_n.replace("{n}", &a.number.to_string()),
                checked: entered.articles.contains(&a.number),
            })
            .collect(),
        articles_error: error_for("articles"),
        captcha_id: captcha.id,
        captcha_image: captcha.image,
        captcha_audio: captcha.audio,
        captcha_unavailable: captcha.unavailable,
        captcha_refused: captcha.refused,
        captcha_error: errors
            .iter()
            .find(|e| e.field == "captcha_answer" || e.field == "captcha_id")
            .map(|e| messages::field_message(e, lang)),
        consent_checked: entered.consent,
        consent_error: error_for("consent"),
        deferred,
        token_url: format!("/c/{}/form-token?{}", m.id, if lang == Lang::En { "lang=en&" } else { "" }),
        captcha_kind: kind.name(),
        captcha_step: step,
    }
}

fn new_form_id() -> String {
    hex::encode(yijian_crypto::random_bytes::<16>())
}

/// A page whose captcha was refused says so with its status (429 for this client's limit, 503
/// for a full store) and Retry-After; the rest of the page is there as ever.
fn page_response(page: &ConsultationPage, status: StatusCode, lang: Lang, remember: bool) -> Response {
    let Some((refused, secs)) = page.captcha_refused else {
        return html(status, render(page), lang, remember);
    };
    let status = if status.is_success() { refused } else { status };
    let mut res = html(status, render(page), lang, remember);
    res.headers_mut().insert(header::RETRY_AFTER, secs.into());
    res
}

/// `GET /c/{id}`: the notice, the draft and the form, the same for every visitor and so served
/// from the response cache. The key is a fingerprint of all the page shows: the text and
/// metadata (a schedule change shows at once), the status and days left, whether a report is
/// published, the language, and the query's variants (an article preselected, the audio
/// captcha). No captcha is drawn here: see [`form_token`] and [`submit`].
pub async fn consultation(
    State(state): State<AppState>,
    PageLanguage { lang, remember }: PageLanguage,
    PublicConsultation(c): PublicConsultation,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let t = texts(lang);
    let now = Timestamp::now();
    // Only the draft's articles are variants worth a key; any other number preselects nothing.
    let article = q.article.filter(|n| c.rules.articles.contains(n));
    let kind = CaptchaKind::asked(q.captcha.as_deref());
    let has_report = match state.published_report(&c.meta.id).await {
        Ok(r) => r.is_some(),
        Err(e) => {
            tracing::error!(error = %e, "reading the published report failed");
            return message(StatusCode::INTERNAL_SERVER_ERROR, lang, t.error, t.error_body);
        }
    };
    let status = c.meta.status(now);
    let key = cache::Fingerprint::new("consultation page")
        .with(&*state.fingerprint(&c))
        .with(lang_code(lang))
        .with(status_label(t, status))
        .with(open_when_key(&c.meta, now).to_le_bytes())
        .with(article.map(|n| n.to_string()).unwrap_or_default())
        .with(kind.name())
        .with([u8::from(has_report)])
        .key();
    let for_make = state.clone();
    cached_page(&state, &key, &headers, lang, remember, || async move {
        let entered = Entered { articles: article.into_iter().collect(), ..Entered::default() };
        let parts = FormParts::Deferred(kind);
        let page = consultation_page(&for_make, &c, lang, &entered, &[], parts, has_report).await;
        Ok(render(&page))
    })
    .await
}

/// `GET /c/{id}/form-token`: what the form needs to be sent, fetched by app.js when the form is
/// first used (or another captcha is asked for): a CSRF token with its cookie and a new form
/// id (together, the form's `csrf` field), and a captcha (`?captcha=audio`: the spoken one) with
/// the HTML of its place in the form. Over the captcha issuance limit: 429 with Retry-After
/// (a full store: 503), and a message in the page's language; never cached.
pub async fn form_token(
    State(state): State<AppState>,
    PageLanguage { lang, .. }: PageLanguage,
    PublicConsultation(c): PublicConsultation,
    Query(q): Query<PageQuery>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let t = texts(lang);
    let json = |status: StatusCode, v: Value| {
        let mut res = (status, axum::Json(v)).into_response();
        res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        res
    };
    let m = &c.meta;
    if m.status(Timestamp::now()) != Status::Open {
        let closed = t.is_closed.replace("{date}", &m.deadline_text(lang));
        return json(StatusCode::CONFLICT, serde_json::json!({"error": {"code": "not_open", "message": closed}}));
    }
    let kind = CaptchaKind::asked(q.captcha.as_deref());
    let captcha = draw_captcha(&state, state.client_ip(peer, &headers), kind, lang).await;
    if let Some((status, secs)) = captcha.refused {
        let code = if status == StatusCode::TOO_MANY_REQUESTS { "rate_limited" } else { "captcha_unavailable" };
        let message = captcha.unavailable.unwrap_or_default();
        let mut res = json(status, serde_json::json!({"error": {"code": code, "message": message}}));
        res.headers_mut().insert(header::RETRY_AFTER, secs.into());
        return res;
    }
    let csrf = crate::csrf::token_for(&state, &headers);
    let fragment = CaptchaFragment {
        t,
        id: m.id.clone(),
        lang_query: lang_query(lang).0,
        lang_amp: lang_query(lang).1,
        deferred: false,
        captcha_image: captcha.image,
        captcha_audio: captcha.audio.clone(),
        captcha_unavailable: None,
    };
    let body = serde_json::json!({
        "csrf": format!("{csrf}|{}", new_form_id()),
        "captcha_id": captcha.id,
        "captcha_kind": if captcha.audio.is_some() { "audio" } else { "image" },
        "audio": captcha.audio,
        "html": render(&fragment),
    });
    crate::csrf::with_cookie(json(StatusCode::OK, body), &csrf)
}

/// The sound of an audio captcha, made anew (the same each time) on every request.
pub async fn captcha_audio(
    State(state): State<AppState>,
    Path(id): Path<String>,
    PageLanguage { lang, .. }: PageLanguage,
) -> Response {
    let t = texts(lang);
    let wav = state.captchas.audio(&id, Timestamp::now()).await;
    let Some(wav) = wav else {
        return message(StatusCode::NOT_FOUND, lang, t.not_found, t.captcha_audio_gone);
    };
    let mut res = wav.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("audio/wav"));
    // Kept by this browser only, so that playing it again does not fetch it again.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=600"));
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("inline; filename=\"captcha.wav\""));
    res
}

/// The form's POST. Errors come back on the same page with every entry kept (but the captcha);
/// success shows the receipt to this browser only. The form id makes a double tap or a
/// resubmitted page store one comment, not two.
pub async fn submit(
    State(state): State<AppState>,
    PageLanguage { lang, remember }: PageLanguage,
    PublicConsultation(c): PublicConsultation,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let t = texts(lang);
    let Ok(bytes) = axum::body::to_bytes(body, crate::api::MAX_BODY).await else {
        return message(StatusCode::PAYLOAD_TOO_LARGE, lang, t.too_large, t.too_large_body);
    };
    let mut entered = Entered::default();
    let mut fields = Map::new();
    let mut articles = Vec::new();
    let mut csrf_field = String::new();
    let mut captcha_kind = CaptchaKind::Image;
    for (k, v) in form_urlencoded::parse(&bytes) {
        let v = v.into_owned();
        match k.as_ref() {
            "articles" => match v.parse::<u32>() {
                Ok(n) => {
                    entered.articles.push(n);
                    articles.push(Value::from(n));
                }
                Err(_) => articles.push(Value::String(v)),
            },
            "consent" => entered.consent = v == "yes",
            "csrf" => csrf_field = v,
            // The form comes back with the kind of captcha the person chose.
            "captcha_kind" => captcha_kind = CaptchaKind::asked(Some(&v)),
            "captcha_id" | "captcha_answer" => {
                fields.insert(k.into_owned(), Value::String(v));
            }
            key => {
                if let Some(name) =
                    ["name", "id_number", "position", "phone", "email", "opinion"].into_iter().find(|n| *n == key)
                {
                    entered.values.insert(name, v.clone());
                    fields.insert(name.to_string(), Value::String(v));
                }
            }
        }
    }
    fields.insert("articles".into(), Value::Array(articles));
    let (csrf_token, form_id) =
        csrf_field.split_once('|').map(|(a, b)| (a.to_string(), b.to_string())).unwrap_or_default();
    entered.form_id = (form_id.len() == 32 && form_id.bytes().all(|b| b.is_ascii_hexdigit())).then(|| form_id.clone());
    let csrf_ok = crate::csrf::matches(&state, &headers, &csrf_token);
    let fresh_csrf = crate::csrf::token_for(&state, &headers);

    let visitor = Visitor { client: state.client_ip(peer, &headers), captcha: captcha_kind };
    let back_to = |errors: Vec<FieldError>, entered: Entered, status: StatusCode, step: bool| {
        let state = state.clone();
        let c = c.clone();
        let fresh = fresh_csrf.clone();
        async move {
            let has_report = matches!(state.published_report(&c.meta.id).await, Ok(Some(_)));
            let parts = FormParts::Live { visitor, csrf: &fresh, step };
            let page = consultation_page(&state, &c, lang, &entered, &errors, parts, has_report).await;
            crate::csrf::with_cookie(page_response(&page, status, lang, remember), &fresh)
        }
    };
    let back = |errors: Vec<FieldError>, entered: Entered, status: StatusCode| back_to(errors, entered, status, false);
    if c.meta.status(Timestamp::now()) != Status::Open {
        return back(vec![], entered, StatusCode::CONFLICT).await;
    }
    if csrf_field.is_empty() && fields.get("captcha_id").and_then(Value::as_str).unwrap_or("").is_empty() {
        // The cached page's form sent without JavaScript, which would have fetched its token
        // and captcha: nothing is checked or stored yet. It comes back with everything typed,
        // a captcha to answer, its token and a form id; the next POST stores the comment.
        // Only this step draws a captcha, so the captcha limit is what bounds it.
        return back_to(vec![], entered, StatusCode::OK, true).await;
    }
    if let Err(wait) = state.check_rate(peer, &headers).await {
        // Too many: the form comes back with everything typed, and says how long to wait.
        let secs = crate::limits::retry_after_secs(wait);
        let mut res = back(
            vec![FieldError::new("form", FieldCode::RateLimited).with_limit(secs as usize)],
            entered,
            StatusCode::TOO_MANY_REQUESTS,
        )
        .await;
        res.headers_mut().insert(header::RETRY_AFTER, secs.into());
        return res;
    }
    if !csrf_ok || entered.form_id.is_none() {
        // An expired or forged form: nothing is stored, and what was typed comes back.
        return back(vec![FieldError::new("form", FieldCode::FormExpired)], entered, StatusCode::FORBIDDEN).await;
    }
    let form_id = entered.form_id.clone().expect("checked above");
    let cell = {
        let mut memory = state.forms.lock().expect("form memory poisoned");
        memory.retain(|_, (at, _)| at.elapsed() < FORM_MEMORY);
        memory.entry(form_id.clone()).or_insert_with(|| (Instant::now(), Arc::default())).1.clone()
    };
    let outcome: Result<&Done, Vec<FieldError>> = cell
        .get_or_try_init(|| async {
            let sub = Submission {
                fields: &fields,
                channel: Channel::Web,
                consent: Some(entered.consent),
                form_id: Some(&form_id),
                client: Some(visitor.client),
            };
            match state.app.submit_comment(&c, sub, Timestamp::now()).await {
                Ok(accepted) => {
                    let valid = &accepted.submission;
                    let submitted = vec![
                        (messages::field_label("name", lang).to_string(), valid.name.clone()),
                        (messages::field_label("id_number", lang).to_string(), valid.id_number.to_string()),
                        (messages::field_label("position", lang).to_string(), valid.position.clone()),
                        (messages::field_label("phone", lang).to_string(), valid.phone.to_string()),
                        (messages::field_label("email", lang).to_string(), valid.email.clone()),
                        (
                            messages::field_label("articles", lang).to_string(),
                            if valid.articles.is_empty() {
                                "—".into()
                            } else {
                                valid
                                    .articles
                                    .iter()
                                    .map(|n| t.article_n.replace("{n}", &n.to_string()))
                                    .collect::<Vec<_>>()
                                    .join("、")
                            },
                        ),
                        // Masked like the ID and phone fields above: the page may be seen over
                        // the citizen's shoulder, or come back from a shared computer's cache.
                        (
                            messages::field_label("opinion", lang).to_string(),
                            yijian_domain::pii::mask_sensitive(&valid.opinion).into_owned(),
                        ),
                    ];
                    Ok(Done { receipt: accepted.receipt, submitted_at: accepted.submitted_at, submitted })
                }
                Err(Refused::Invalid(errors)) => Err(errors),
                // The deadline passed while the form was being checked.
                Err(Refused::NotOpen(_)) => Err(vec![FieldError::new("form", FieldCode::StorageFailed)]),
                Err(Refused::Storage(_)) => Err(vec![FieldError::new("form", FieldCode::StorageFailed)]),
                Err(Refused::Busy) => {
                    state.metrics.overload_refused("/c/{id}");
                    Err(vec![FieldError::new("form", FieldCode::Busy).with_limit(yijian_app::BUSY_RETRY_SECS as usize)])
                }
            }
        })
        .await;
    match outcome {
        Ok(done) => {
            let page = ReceiptPage {
                t,
                other_lang_href: other_lang_href("/receipt", lang),
                receipt: done.receipt.to_string(),
                submitted_at: done.submitted_at.to_zoned(c.tz.clone()).strftime("%Y-%m-%d %H:%M:%S %:z").to_string(),
                consultation_title: c.document.title.clone(),
                submitted: done.submitted.clone(),
            };
            html(StatusCode::OK, render(&page), lang, remember)
        }
        Err(errors) => {
            // A new form id: the failed one may not be reused once its captcha is spent.
            entered.form_id = None;
            if errors.iter().any(|e| e.code == FieldCode::Busy) {
                // Nothing stored: the form comes back with everything typed, saying when to
                // try again, promptly (a page, not a wait).
                let mut res = back(errors, entered, StatusCode::SERVICE_UNAVAILABLE).await;
                res.headers_mut().insert(header::RETRY_AFTER, yijian_app::BUSY_RETRY_SECS.into());
                return res;
            }
            back(errors, entered, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptPage {
    t: &'static Texts,
    other_lang_href: String,
    receipt: String,
    submitted_at: String,
    consultation_title: String,
    submitted: Vec<(String, String)>,
}

// ------------------------------------------------------------------------------------------
// Receipt lookup and the privacy notice
// ------------------------------------------------------------------------------------------

struct Found {
    receipt: String,
    status: String,
    /// The disposition and its reasoning, once the report is published.
    outcome: Option<(String, String)>,
    submitted_at: String,
    consultation: String,
}

#[derive(Template)]
#[template(path = "lookup.html")]
struct LookupPage {
    t: &'static Texts,
    other_lang_href: String,
    query: String,
    error: Option<&'static str>,
    found: Option<Found>,
}

/// Looks a tracking number up: its status only, never the comment or anything personal.
pub async fn lookup(
    State(state): State<AppState>,
    Query(q): Query<PageQuery>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    PageLanguage { lang, remember }: PageLanguage,
) -> Response {
    let t = texts(lang);
    let query = q.receipt.clone().unwrap_or_default();
    if !query.trim().is_empty()
        && let Err(wait) = state.check_lookup_rate(peer, &headers).await
    {
        let secs = crate::limits::retry_after_secs(wait);
        let mut res = message(
            StatusCode::TOO_MANY_REQUESTS,
            lang,
            t.error,
            &t.lookups_limited.replace("{secs}", &secs.to_string()),
        );
        res.headers_mut().insert(header::RETRY_AFTER, secs.into());
        return res;
    }
    let mut page = LookupPage {
        t,
        other_lang_href: other_lang_href("/receipt", lang),
        query: query.clone(),
        error: None,
        found: None,
    };
    let mut status = StatusCode::OK;
    if !query.trim().is_empty() {
        match Receipt::parse(&query) {
            None => {
                page.error = Some(t.receipt_malformed);
                status = StatusCode::UNPROCESSABLE_ENTITY;
            }
            Some(r) => match state.app.receipt(&r).await {
                Ok(Some(info)) => {
                    let (title, tz) = match state.app.consultation(&info.consultation_id).await {
                        Ok(Some(c)) => (c.document.title.clone(), c.tz.clone()),
                        _ => (info.consultation_id.clone(), jiff::tz::TimeZone::UTC),
                    };
                    page.found = Some(Found {
                        receipt: r.to_string(),
                        status: match &info.disposition {
                            Some(_) => texts(lang).answered_in_the_published_report.to_string(),
                            None => t.status_received.to_string(),
                        },
                        outcome: info
                            .disposition
                            .as_ref()
                            .map(|(d, reason)| (d.label(lang).to_string(), reason.clone())),
                        submitted_at: info.submitted_at.to_zoned(tz).strftime("%Y-%m-%d %H:%M").to_string(),
                        consultation: title,
                    });
                }
                Ok(None) => {
                    page.error = Some(t.receipt_unknown);
                    status = StatusCode::NOT_FOUND;
                }
                Err(e) => {
                    tracing::error!(error = %e, "receipt lookup failed");
                    return message(StatusCode::INTERNAL_SERVER_ERROR, lang, t.error, t.error_body);
                }
            },
        }
    }
    html(status, render(&page), lang, remember)
}

#[derive(Template)]
#[template(path = "privacy.html")]
struct PrivacyPage {
    t: &'static Texts,
    other_lang_href: String,
    sections: Vec<(&'static str, &'static str)>,
}

pub async fn privacy(
    State(state): State<AppState>,
    PageLanguage { lang, remember }: PageLanguage,
    headers: HeaderMap,
) -> Response {
    let key = cache::Fingerprint::new("privacy").with(lang_code(lang)).key();
    cached_page(&state, &key, &headers, lang, remember, || async move {
        let t = texts(lang);
        let page = PrivacyPage {
            t,
            other_lang_href: other_lang_href("/privacy", lang),
            sections: t.privacy_sections.to_vec(),
        };
        Ok(render(&page))
    })
    .await
}
