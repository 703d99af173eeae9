//! The HTTP face of yijian.
//!
//! [`router`] builds the whole application on an [`AppState`]; the binary binds it to a socket.
//! The public JSON API lives under `/api/v1` (see `openapi.json` beside this file).

mod admin;
mod api;
pub mod captcha;
mod error;
pub mod export;
mod forms;
pub mod indexing;
pub mod limits;
pub mod mail;
mod manage;
mod pages;
pub mod report;
mod review;
mod texts;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use yijian_domain::comment::IntakeRules;
use yijian_domain::consultation::Consultation;
use yijian_store::{Store, StoreError};

pub use error::ApiError;

/// Settings of the web layer.
#[derive(Debug, Clone, Default)]
pub struct WebOptions {
    /// Accept submissions without a captcha. For tests and benchmarks only.
    pub insecure_no_captcha: bool,
    /// Submissions per client address; `None` turns the limit off (benchmarks only).
    pub rate_limit: Option<limits::RateLimit>,
    /// Proxies whose X-Forwarded-For is believed.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Mark session cookies `Secure` (when served over TLS, directly or behind a proxy).
    pub secure_cookies: bool,
}

/// Shared by every request.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub options: WebOptions,
    pub captchas: Arc<captcha::Captchas>,
    cache: Arc<Mutex<ConsultationCache>>,
    /// Rendered drafts by (id, version, checksum, language, open).
    drafts: Arc<Mutex<DraftCache>>,
    /// What each web form id produced, so a resubmitted form stores nothing new.
    forms: Arc<Mutex<pages::FormMemory>>,
    limiter: Option<Arc<limits::Limiter>>,
    /// The full-text index of opinions, if one is open.
    pub search: Option<yijian_analysis::SearchIndex>,
    /// The email channel's limits and replier.
    pub mail: mail::MailSettings,
}

type DraftCache = HashMap<(String, u32, String, yijian_domain::Lang, bool), Arc<String>>;

/// Verified consultations by id, with the instant each was loaded.
type ConsultationCache = HashMap<String, (Instant, Arc<LiveConsultation>)>;

/// A verified consultation with what the intake derives from it, computed once per load
/// rather than once per comment.
pub struct LiveConsultation {
    pub consultation: Consultation,
    pub rules: IntakeRules,
    pub tz: jiff::tz::TimeZone,
}

impl std::ops::Deref for LiveConsultation {
    type Target = Consultation;
    fn deref(&self) -> &Consultation {
        &self.consultation
    }
}

impl LiveConsultation {
    fn new(consultation: Consultation) -> Self {
        let rules = IntakeRules {
            positions: consultation.meta.positions.clone(),
            articles: consultation.document.article_numbers(),
            max_opinion_chars: consultation.meta.max_opinion_chars,
        };
        let tz = consultation.meta.tz();
        LiveConsultation { consultation, rules, tz }
    }
}

/// How long the intake may use a consultation it loaded and verified, before loading it again
/// (and so seeing a deadline changed by another process, or a text altered behind its back).
const CACHE_TTL: Duration = Duration::from_secs(1);

impl AppState {
    pub fn new(store: Store, options: WebOptions) -> Self {
        let limiter = options.rate_limit.map(|l| Arc::new(limits::Limiter::new(l)));
        AppState {
            store,
            options,
            captchas: Arc::default(),
            cache: Arc::default(),
            drafts: Arc::default(),
            forms: Arc::default(),
            limiter,
            search: None,
            mail: mail::MailSettings::default(),
        }
    }

    /// Reads mail with these limits, and sends automatic mail through `replier`.
    pub fn with_mail(mut self, settings: mail::MailSettings) -> Self {
        self.mail = settings;
        self
    }

    /// Confirms a web or API comment by mail where its consultation asks for it and SMTP is
    /// configured. Runs in the background: the citizen's receipt never waits for a mail server.
    pub fn confirm_comment(
        &self,
        consultation: &Consultation,
        email: Option<&str>,
        receipt: yijian_domain::receipt::Receipt,
        at: jiff::Timestamp,
    ) {
        let (Some(replier), Some(email)) = (self.mail.replier.clone(), email) else { return };
        if !consultation.meta.email_channel.confirm_web_comments || email.trim().is_empty() {
            return;
        }
        let meta = consultation.meta.clone();
        let email = email.to_string();
        tokio::spawn(async move {
            replier.confirm_web_comment(&email, &receipt, at, &meta).await;
        });
    }

    /// Searches opinions through this index.
    pub fn with_search(mut self, index: yijian_analysis::SearchIndex) -> Self {
        self.search = Some(index);
        self
    }

    /// Drops a cached consultation, so that a change made here shows at once.
    pub fn forget(&self, id: &str) {
        self.cache.lock().expect("cache poisoned").remove(id);
    }

    /// `Err(wait)` when this client has submitted too often.
    pub fn check_rate(&self, peer: std::net::SocketAddr, headers: &axum::http::HeaderMap) -> Result<(), Duration> {
        match &self.limiter {
            None => Ok(()),
            Some(l) => l.check(limits::client_ip(peer, headers, &self.options.trusted_proxies)),
        }
    }

    /// A verified consultation, from a cache of at most [`CACHE_TTL`] age.
    pub async fn consultation(&self, id: &str) -> Result<Option<Arc<LiveConsultation>>, StoreError> {
        if let Some((at, c)) = self.cache.lock().expect("cache poisoned").get(id)
            && at.elapsed() < CACHE_TTL
        {
            return Ok(Some(c.clone()));
        }
        let loaded = self.store.consultation(id).await;
        let mut cache = self.cache.lock().expect("cache poisoned");
        match loaded {
            Ok(Some(c)) => {
                let c = Arc::new(LiveConsultation::new(c));
                cache.insert(id.to_string(), (Instant::now(), c.clone()));
                Ok(Some(c))
            }
            other => {
                cache.remove(id);
                other.map(|o| o.map(|c| Arc::new(LiveConsultation::new(c))))
            }
        }
    }
}

pub fn router(state: AppState) -> Router {
    use axum::routing::get;
    Router::new()
        .route("/", get(pages::index))
        .route("/c/{id}", get(pages::consultation).post(pages::submit))
        .route("/c/{id}/text.txt", get(pages::canonical_text))
        .route("/c/{id}/report", get(report::public_page))
        .route("/c/{id}/report.docx", get(report::public_docx))
        .route("/api/v1/consultations/{id}/report", get(report::public_json))
        .route("/receipt", get(pages::lookup))
        .route("/privacy", get(pages::privacy))
        .route("/static/app.css", get(pages::css))
        .route("/static/app.js", get(pages::js))
        .nest("/api/v1", api::routes())
        .merge(staff_routes(state.clone()))
        .fallback(fallback)
        .layer(middleware::from_fn(security_headers))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// Everything behind a staff login; the guard runs before any handler.
fn staff_routes(state: AppState) -> Router<AppState> {
    use axum::routing::{get, post};
    Router::new()
        .route("/admin", get(admin::home))
        .route("/admin/login", get(admin::login_form).post(admin::login))
        .route("/admin/logout", post(admin::logout))
        .route("/admin/users", get(admin::users))
        .route("/admin/account", get(admin::account).post(admin::account_update))
        .route("/admin/comments/{receipt}", get(admin::comment))
        .route("/admin/comments/{receipt}/reveal", post(admin::reveal))
        .route("/admin/comments/{receipt}/review", post(review::review_one))
        .route("/admin/lookup", get(admin::lookup))
        .route("/admin/c/{id}", get(review::queue_page))
        .route("/admin/c/{id}/bulk", post(review::bulk))
        .route("/admin/c/{id}/manual", get(review::manual_form).post(review::manual_submit))
        .route("/admin/c/{id}/dashboard", get(review::dashboard))
        .route("/admin/c/{id}/export", get(export::export_form).post(export::export_post))
        .route("/admin/c/{id}/report", get(report::preview).post(report::publish))
        .route("/admin/c/{id}/manage", get(manage::manage).post(manage::manage_post))
        .route("/admin/c/{id}/upload", post(manage::upload_version))
        .route("/admin/consultations", post(manage::create))
        .route("/admin/consultations/new", get(manage::new_form))
        .route("/admin/drafts/{id}", get(manage::draft).post(manage::draft_post))
        .route("/admin/mail", get(mail::tray))
        .route("/admin/mail/{id}", get(mail::one))
        .route("/admin/mail/{id}/raw", get(mail::raw))
        .route("/admin/mail/{id}/assign", post(mail::assign_post))
        .route("/admin/attachments/{id}", get(mail::attachment))
        .route("/api/v1/admin/mail", get(mail::api_tray))
        .route("/api/v1/admin/mail/{id}", get(mail::api_one))
        .route("/api/v1/admin/mail/{id}/raw", get(mail::raw))
        .route("/api/v1/admin/mail/{id}/assign", post(mail::api_assign))
        .route("/api/v1/admin/attachments/{id}", get(mail::attachment))
        .route("/api/v1/admin/comments/{receipt}", get(admin::api_comment))
        .route("/api/v1/admin/comments/{receipt}/review", post(review::api_review_one))
        .route("/api/v1/admin/consultations/{id}/comments", get(review::api_queue).post(review::api_manual))
        .route("/api/v1/admin/consultations/{id}/review", post(review::api_bulk))
        .route("/api/v1/admin/consultations/{id}/dashboard", get(review::api_dashboard))
        .route("/api/v1/admin/consultations/{id}/export", get(export::api_export_get).post(export::api_export_post))
        .route("/api/v1/admin/consultations/{id}/report", get(report::api_preview).post(report::api_publish))
        .route("/api/v1/admin/consultations/{id}/{action}", post(manage::api_action))
        .route("/api/v1/admin/drafts", get(manage::api_drafts))
        .route("/api/v1/admin/drafts/{id}/publish", post(manage::api_publish_draft))
        .route("/admin/{*rest}", get(admin::home))
        .route("/api/v1/admin/consultations", get(admin::api_consultations).post(manage::api_create))
        .route("/api/v1/admin/users", get(admin::api_users))
        .route("/api/v1/admin/{*rest}", get(admin::api_consultations))
        .route_layer(middleware::from_fn_with_state(state, admin::require_staff))
}

/// JSON for API paths, a page for everything else.
async fn fallback(uri: axum::http::Uri, headers: axum::http::HeaderMap) -> Response {
    use axum::response::IntoResponse;
    if uri.path().starts_with("/api/") {
        api::not_found(headers).await.into_response()
    } else {
        pages::not_found_page(headers).await
    }
}

async fn security_headers(req: axum::extract::Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    res
}

/// Serves the application on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state).into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}
