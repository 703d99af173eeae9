//! The HTTP face of yijian: public pages, the staff back office, and the JSON API under
//! `/api/v1`, described by the OpenAPI document generated in `openapi.rs`.
//!
//! [`router`] builds the whole application on an [`AppState`]; the binary binds it to a socket.
//! Handlers turn requests into calls of the use cases in `yijian-app` and their results into
//! pages or JSON; they never reach the store. What they share comes through the extractors of
//! `extract` (language, staff member, permission, consultation, CSRF-checked form), and every
//! failure is one `WebError`, answered as JSON under `/api/` and as a page elsewhere.

mod admin;
mod api;
pub mod cache;
mod campaigns;
mod csrf;
mod disputes;
mod error;
pub mod export;
mod extract;
mod forms;
pub mod limits;
pub mod mail;
mod manage;
pub mod metrics;
pub mod openapi;
mod pages;
pub mod report;
mod review;
mod server;
mod texts;
mod themes;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::handler::Handler;
use axum::http::{HeaderValue, Method, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{MethodFilter, MethodRouter};
use yijian_app::App;
pub use yijian_app::{LiveConsultation, MailSettings, captcha};

pub use error::{ErrorCode, WebError};
pub use metrics::Metrics;
pub use server::{ConnectionLimits, raise_open_files_limit};

/// Settings of the web layer.
#[derive(Debug, Clone, Default)]
pub struct WebOptions {
    /// Accept submissions without a captcha. For tests and benchmarks only.
    pub insecure_no_captcha: bool,
    /// Submissions per client (an IPv4 address, an IPv6 /64); `None` turns the limit off
    /// (benchmarks only).
    pub rate_limit: Option<limits::RateLimit>,
    /// Receipt look-ups (page and API) per client address; `None` turns the limit off.
    pub lookup_limit: Option<limits::RateLimit>,
    /// Captchas issued per client, images and sounds together; `None` turns the limit off.
    pub captcha_rate_limit: Option<limits::RateLimit>,
    /// Timeouts and the most connections held at once.
    pub connections: ConnectionLimits,
    /// Proxies whose X-Forwarded-For is believed.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Mark the session and CSRF cookies `Secure` and name them with the `__Host-` prefix
    /// (when served over TLS, directly or behind a proxy).
    pub secure_cookies: bool,
    /// Send `Strict-Transport-Security` (the site is served over HTTPS).
    pub hsts: bool,
    /// An admin without two-step login may only set it up.
    pub require_admin_totp: bool,
    /// How long an unused staff session lives; `None`: the sign-in policy's default.
    pub session_idle: Option<jiff::SignedDuration>,
}

/// Shared by every request. One `Arc`: axum clones the state for every extractor of every
/// request, and cloning a dozen `Arc`s (and dropping them) was a tenth of the intake's CPU.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] holds.
#[derive(Clone)]
pub struct Shared {
    /// The use cases.
    pub app: App,
    pub options: WebOptions,
    /// The app's captchas (the same ones), for tests that read an answer.
    pub captchas: Arc<captcha::Captchas>,
    /// Rendered drafts by (id, version, checksum, language, open).
    drafts: Arc<Mutex<DraftCache>>,
    /// What each web form id produced, so a resubmitted form stores nothing new.
    forms: Arc<Mutex<pages::FormMemory>>,
    limiter: Option<Arc<limits::Limiter>>,
    /// The exports running, bounded per staff member and in all.
    exports: Arc<export::ExportSlots>,
    /// Receipt look-ups: guessing tracking numbers is held to a trickle.
    lookup_limiter: Option<Arc<limits::Limiter>>,
    captcha_limiter: Option<Arc<limits::Limiter>>,
    /// Public responses, rendered and compressed once per fingerprint of what they show.
    pub responses: Arc<cache::ResponseCache>,
    /// Short-lived reads the public pages' fingerprints are made from (see `Recent`).
    recent: Arc<Recent>,
    /// Requests counted and timed, and what `/metrics` reads; `overload_refused` counts a 503
    /// given under overload.
    pub metrics: Arc<metrics::Metrics>,
}

/// What the public pages read on every request to know whether their cached bytes still show
/// the truth, each kept for [`yijian_app::consultations::CACHE_TTL`] (as the app keeps
/// consultations), so a page view costs no query: the list of consultations, each
/// consultation's latest published report, and the fingerprint of a loaded consultation
/// (computed once per load).
#[derive(Default)]
struct Recent {
    listing: Mutex<Option<(Instant, Arc<Vec<yijian_store::ConsultationSummary>>)>>,
    reports: Mutex<HashMap<String, ReadAt>>,
    prints: Mutex<HashMap<String, Print>>,
}

/// A report as read, and when.
type ReadAt = (Instant, Option<Arc<PublishedReport>>);
/// A consultation's fingerprint, and the load it was made from.
type Print = (std::sync::Weak<LiveConsultation>, Arc<str>);

/// A published report: its revision, when it was published, and the report.
pub type PublishedReport = (i64, jiff::Timestamp, yijian_domain::report::AdoptionReport);

type DraftCache = HashMap<(String, u32, String, yijian_domain::Lang, bool), Arc<String>>;

impl AppState {
    pub fn new(store: yijian_store::Store, options: WebOptions) -> Self {
        let app = App::new(
            store,
            yijian_app::AppOptions {
                insecure_no_captcha: options.insecure_no_captcha,
                session_idle: options.session_idle,
            },
        );
        AppState::with_app(app, options)
    }

    pub fn with_app(app: App, options: WebOptions) -> Self {
        let limiter = options.rate_limit.map(|l| Arc::new(limits::Limiter::for_app(&app, "submit", l)));
        let lookup_limiter = options.lookup_limit.map(|l| Arc::new(limits::Limiter::for_app(&app, "lookup", l)));
        let captcha_limiter =
            options.captcha_rate_limit.map(|l| Arc::new(limits::Limiter::for_app(&app, "captcha", l)));
        AppState(Arc::new(Shared {
            captchas: app.captchas().clone(),
            app,
            options,
            drafts: Arc::default(),
            forms: Arc::default(),
            limiter,
            exports: Arc::default(),
            lookup_limiter,
            captcha_limiter,
            responses: Arc::default(),
            recent: Arc::default(),
            metrics: Arc::default(),
        }))
    }

    /// Remembers used captchas within these bounds (tests give it small ones).
    pub fn with_captcha_bounds(mut self, bounds: captcha::Bounds) -> Self {
        let shared = Arc::make_mut(&mut self.0);
        shared.app = shared.app.clone().with_captcha_bounds(bounds);
        shared.captchas = shared.app.captchas().clone();
        self
    }

    /// Reads mail with these limits, and sends automatic mail through its replier.
    pub fn with_mail(mut self, settings: MailSettings) -> Self {
        let shared = Arc::make_mut(&mut self.0);
        shared.app = shared.app.clone().with_mail(settings);
        self
    }

    /// Searches opinions through this index.
    pub fn with_search(mut self, index: yijian_analysis::SearchIndex) -> Self {
        let shared = Arc::make_mut(&mut self.0);
        shared.app = shared.app.clone().with_search(index);
        self
    }

    /// Drops a cached consultation, so that a change made here shows at once.
    pub fn forget(&self, id: &str) {
        self.app.forget(id);
        self.recent.reports.lock().expect("recent reads poisoned").remove(id);
        *self.recent.listing.lock().expect("recent reads poisoned") = None;
    }

    /// The consultations listed publicly, read at most once per `CACHE_TTL`.
    pub(crate) async fn listing(&self) -> Result<Arc<Vec<yijian_store::ConsultationSummary>>, yijian_app::Error> {
        if let Some((at, list)) = &*self.recent.listing.lock().expect("recent reads poisoned")
            && at.elapsed() < yijian_app::consultations::CACHE_TTL
        {
            return Ok(list.clone());
        }
        let list = Arc::new(self.app.consultations().await?);
        *self.recent.listing.lock().expect("recent reads poisoned") = Some((Instant::now(), list.clone()));
        Ok(list)
    }

    /// A consultation's latest published report, read at most once per `CACHE_TTL`.
    pub(crate) async fn published_report(&self, id: &str) -> Result<Option<Arc<PublishedReport>>, yijian_app::Error> {
        if let Some((at, r)) = self.recent.reports.lock().expect("recent reads poisoned").get(id)
            && at.elapsed() < yijian_app::consultations::CACHE_TTL
        {
            return Ok(r.clone());
        }
        let r = self.app.published_report(id).await?.map(Arc::new);
        let mut reports = self.recent.reports.lock().expect("recent reads poisoned");
        if reports.len() > 1024 {
            reports.clear();
        }
        reports.insert(id.to_string(), (Instant::now(), r.clone()));
        Ok(r)
    }

    /// A fingerprint of a loaded consultation: its text (version, checksum, signature) and all
    /// of its metadata. Computed once per load, which the app's cache makes at most once per
    /// `CACHE_TTL`.
    pub(crate) fn fingerprint(&self, c: &Arc<LiveConsultation>) -> Arc<str> {
        let mut prints = self.recent.prints.lock().expect("recent reads poisoned");
        if let Some((weak, print)) = prints.get(&c.meta.id)
            && std::ptr::eq(weak.as_ptr(), Arc::as_ptr(c))
        {
            return print.clone();
        }
        let print: Arc<str> = cache::Fingerprint::new("consultation")
            .with(&c.meta.id)
            .with(c.version.to_string())
            .with(&c.content_sha256)
            .with(&c.signature)
            .with(if c.demo { "demo" } else { "" })
            .with(serde_json::to_vec(&c.meta).unwrap_or_default())
            .key()
            .into();
        if prints.len() > 1024 {
            prints.clear();
        }
        prints.insert(c.meta.id.clone(), (Arc::downgrade(c), print.clone()));
        print
    }

    /// The client's address (see [`limits::client_ip`]).
    pub fn client_ip(&self, peer: std::net::SocketAddr, headers: &axum::http::HeaderMap) -> std::net::IpAddr {
        limits::client_ip(peer, headers, &self.options.trusted_proxies)
    }

    /// `Err(wait)` when this client has submitted too often.
    pub async fn check_rate(
        &self,
        peer: std::net::SocketAddr,
        headers: &axum::http::HeaderMap,
    ) -> Result<(), Duration> {
        match &self.limiter {
            None => Ok(()),
            Some(l) => l.check(self.client_ip(peer, headers)).await,
        }
    }

    /// `Err(wait)` when this client has asked for too many captchas.
    pub async fn check_captcha_rate(&self, client: std::net::IpAddr) -> Result<(), Duration> {
        match &self.captcha_limiter {
            None => Ok(()),
            Some(l) => l.check(client).await,
        }
    }

    /// `Err(wait)` when this client has looked receipts up too often. An IPv6 /64 is one
    /// client: a single host is commonly given a whole /64, so counting its addresses apart
    /// would let it guess tracking numbers 2^64 times faster.
    pub async fn check_lookup_rate(
        &self,
        peer: std::net::SocketAddr,
        headers: &axum::http::HeaderMap,
    ) -> Result<(), Duration> {
        match &self.lookup_limiter {
            None => Ok(()),
            Some(l) => l.check(per_64(limits::client_ip(peer, headers, &self.options.trusted_proxies))).await,
        }
    }
}

/// An address with an IPv6 address's last 64 bits cleared (its /64); IPv4 as it is.
fn per_64(ip: std::net::IpAddr) -> std::net::IpAddr {
    match ip {
        std::net::IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
            std::net::IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into())
        }
        other => other,
    }
}

pub fn router(state: AppState) -> Router {
    use axum::routing::get;
    Router::new()
        .route("/", get(pages::index))
        .route("/c/{id}", get(pages::consultation).post(pages::submit))
        .route("/c/{id}/text.txt", get(pages::canonical_text))
        .route("/c/{id}/form-token", get(pages::form_token))
        .route("/c/{id}/report", get(report::public_page))
        .route("/c/{id}/report.docx", get(report::public_docx))
        .route("/c/{id}/dispute", get(disputes::form).post(disputes::submit))
        .route("/receipt", get(pages::lookup))
        .route("/captcha/{id}/audio.wav", get(pages::captcha_audio))
        .route("/privacy", get(pages::privacy))
        .route("/static/app.css", get(pages::css))
        .route("/static/app.js", get(pages::js))
        .route("/healthz", get(metrics::healthz))
        .route("/readyz", get(metrics::readyz))
        .route("/metrics", get(metrics::metrics_with_token))
        .merge(api_router(false))
        .merge(staff_routes(state.clone()))
        .fallback(fallback)
        .layer(middleware::from_fn(error::shape_errors))
        .layer(middleware::from_fn_with_state(state.clone(), csrf::cookie_names))
        .layer(middleware::from_fn_with_state(state.clone(), security_headers))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .layer(middleware::from_fn_with_state(state.clone(), metrics::track))
        .with_state(state)
}

/// What the `metrics_listen` address serves: the metrics without a token, and the health
/// checks, for a scraper or a probe on a private network.
pub fn metrics_router(state: AppState) -> Router {
    use axum::routing::get;
    Router::new()
        .route("/metrics", get(metrics::metrics_open))
        .route("/healthz", get(metrics::healthz))
        .route("/readyz", get(metrics::readyz))
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
        .route("/admin/c/{id}/campaigns", get(campaigns::list_page))
        .route("/admin/c/{id}/campaigns/{campaign}", get(campaigns::one_page).post(campaigns::decide_post))
        .route("/admin/c/{id}/themes", get(themes::list_page).post(themes::build_post))
        .route("/admin/c/{id}/themes/{theme}", get(themes::one_page).post(themes::act_post))
        .route("/admin/c/{id}/disputes", get(disputes::list))
        .route("/admin/c/{id}/disputes/{dispute}/reveal", post(disputes::reveal))
        .route("/admin/comments/{receipt}/dispute", post(disputes::decide))
        .route("/admin/c/{id}/export", get(export::export_form).post(export::export_post))
        .route("/admin/c/{id}/report", get(report::preview).post(report::publish))
        .route("/admin/c/{id}/manage", get(manage::manage).post(manage::manage_post))
        .route("/admin/c/{id}/upload", post(manage::upload_version))
        .route("/admin/consultations", post(manage::create))
        .route("/admin/consultations/new", get(manage::new_form))
        .route("/admin/drafts/{id}", get(manage::draft).post(manage::draft_post))
        .route("/admin/mail", get(mail::tray))
        .route("/admin/mail/{id}", get(mail::one))
        .route("/admin/mail/{id}/raw", post(mail::raw_post))
        .route("/admin/mail/{id}/assign", post(mail::assign_post))
        .route("/admin/attachments/{id}", post(mail::attachment_post))
        .merge(api_router(true))
        .route_layer(middleware::from_fn_with_state(state, admin::require_staff))
}

/// A route under `/api/v1`: its method, its path, whether it is behind the staff login, what
/// body it takes, and its handler.
struct ApiRoute {
    method: Method,
    path: &'static str,
    staff: bool,
    body: api::BodyKind,
    handler: MethodRouter<AppState>,
}

/// A route; a POST takes a JSON body, a GET none.
fn at<H: Handler<T, AppState>, T: 'static>(method: Method, path: &'static str, handler: H) -> ApiRoute {
    let filter = MethodFilter::try_from(method.clone()).expect("a method axum routes");
    let body = if method == Method::GET { api::BodyKind::None } else { api::BodyKind::Json };
    ApiRoute {
        method,
        path,
        staff: path.starts_with("/api/v1/admin/"),
        body,
        handler: axum::routing::on(filter, handler),
    }
}

impl ApiRoute {
    /// The JSON body may be left out (an empty body, without a Content-Type).
    fn optional_body(mut self) -> ApiRoute {
        self.body = api::BodyKind::OptionalJson;
        self
    }
}

/// Every route under `/api/v1`, and the only place they are listed: the router serves these, and
/// a test checks that the OpenAPI document (`openapi.rs`) lists exactly these.
fn api_routes() -> Vec<ApiRoute> {
    use Method as M;
    vec![
        at(M::GET, "/api/v1/consultations", api::list_consultations),
        at(M::GET, "/api/v1/consultations/{id}", api::get_consultation),
        at(M::POST, "/api/v1/consultations/{id}/comments", api::submit_comment),
        at(M::GET, "/api/v1/consultations/{id}/report", report::public_json),
        at(M::GET, "/api/v1/receipts/{receipt}", api::get_receipt),
        at(M::GET, "/api/v1/captcha", api::new_captcha),
        at(M::GET, "/api/v1/signing-key", api::signing_key),
        at(M::GET, "/api/v1/openapi.json", openapi::serve),
        at(M::GET, "/api/v1/admin/mail", mail::api_tray),
        at(M::GET, "/api/v1/admin/mail/{id}", mail::api_one),
        at(M::GET, "/api/v1/admin/mail/{id}/raw", mail::api_raw),
        at(M::POST, "/api/v1/admin/mail/{id}/assign", mail::api_assign),
        at(M::GET, "/api/v1/admin/attachments/{id}", mail::api_attachment),
        at(M::GET, "/api/v1/admin/comments/{receipt}", admin::api_comment),
        at(M::POST, "/api/v1/admin/comments/{receipt}/review", review::api_review_one),
        at(M::GET, "/api/v1/admin/consultations/{id}/comments", review::api_queue),
        at(M::POST, "/api/v1/admin/consultations/{id}/comments", review::api_manual),
        at(M::POST, "/api/v1/admin/consultations/{id}/review", review::api_bulk),
        at(M::GET, "/api/v1/admin/consultations/{id}/dashboard", review::api_dashboard),
        at(M::GET, "/api/v1/admin/consultations/{id}/campaigns", campaigns::api_list),
        at(M::GET, "/api/v1/admin/consultations/{id}/campaigns/{campaign}", campaigns::api_one),
        at(M::POST, "/api/v1/admin/consultations/{id}/campaigns/{campaign}", campaigns::api_decide),
        at(M::GET, "/api/v1/admin/consultations/{id}/themes", themes::api_list),
        at(M::POST, "/api/v1/admin/consultations/{id}/themes", themes::api_build).optional_body(),
        at(M::GET, "/api/v1/admin/consultations/{id}/themes/{theme}", themes::api_one),
        at(M::POST, "/api/v1/admin/consultations/{id}/themes/{theme}", themes::api_act),
        at(M::GET, "/api/v1/admin/consultations/{id}/disputes", disputes::api_list),
        at(M::POST, "/api/v1/admin/comments/{receipt}/dispute", disputes::api_decide),
        at(M::GET, "/api/v1/admin/consultations/{id}/export", export::api_export_get),
        at(M::POST, "/api/v1/admin/consultations/{id}/export", export::api_export_post).optional_body(),
        at(M::GET, "/api/v1/admin/consultations/{id}/report", report::api_preview),
        at(M::POST, "/api/v1/admin/consultations/{id}/report", report::api_publish).optional_body(),
        at(M::POST, "/api/v1/admin/consultations/{id}/{action}", manage::api_action),
        at(M::GET, "/api/v1/admin/drafts", manage::api_drafts),
        at(M::POST, "/api/v1/admin/drafts/{id}/publish", manage::api_publish_draft).optional_body(),
        at(M::GET, "/api/v1/admin/consultations", admin::api_consultations),
        at(M::POST, "/api/v1/admin/consultations", manage::api_create),
        at(M::GET, "/api/v1/admin/users", admin::api_users),
        at(M::GET, "/api/v1/admin/session", admin::api_session),
    ]
}

/// The public (`staff == false`) or the staff routes of [`api_routes`].
fn api_router(staff: bool) -> Router<AppState> {
    api_routes().into_iter().filter(|r| r.staff == staff).fold(Router::new(), |router, r| {
        let handler = match r.body {
            api::BodyKind::None => r.handler,
            body => r.handler.route_layer(middleware::from_fn_with_state(body, api::require_json)),
        };
        router.route(r.path, handler)
    })
}

/// The (method, path) of every route under `/api/v1`, as the router serves them.
pub fn api_endpoints() -> Vec<(Method, &'static str)> {
    api_routes().into_iter().map(|r| (r.method, r.path)).collect()
}

/// JSON for API paths, a page for everything else. An unknown path in the staff area is
/// answered only after authentication, so it tells a stranger nothing of what exists there.
async fn fallback(
    axum::extract::State(state): axum::extract::State<AppState>,
    extract::Language(lang): extract::Language,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> Response {
    use axum::response::IntoResponse;
    let path = uri.path();
    let staff = path == "/admin" || path.starts_with("/admin/") || path.starts_with("/api/v1/admin/");
    if staff && let Err(refused) = admin::authenticate(&state, path, &headers).await {
        return refused;
    }
    let t = texts::texts(lang);
    WebError::new(axum::http::StatusCode::NOT_FOUND, error::ErrorCode::NotFound, lang, t.no_such_address)
        .on_page(t.not_found, t.not_found_body)
        .into_response()
}

async fn security_headers(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: Next,
) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    if state.options.hsts {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    res
}

/// Serves the application on `listener` until `shutdown` completes, with the timeouts and the
/// connection limit of `state.options.connections` (see `server`).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = state.options.connections;
    server::serve(listener, router(state), limits, shutdown).await
}

/// Serves [`metrics_router`] on `listener` until `shutdown` completes.
pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = state.options.connections;
    server::serve(listener, metrics_router(state), limits, shutdown).await
}

#[cfg(test)]
mod tests {
    use super::per_64;

    #[test]
    fn an_ipv6_64_is_one_client() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        assert_eq!(per_64(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(per_64(ip("2001:db8:1:2::1")), per_64(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")));
        assert_ne!(per_64(ip("2001:db8:1:2::1")), per_64(ip("2001:db8:1:3::1")));
        assert_eq!(per_64(ip("203.0.113.9")), ip("203.0.113.9"));
        assert_eq!(per_64(ip("::ffff:203.0.113.9")), ip("::ffff:203.0.113.9"), "IPv4-mapped: one address each");
    }
}
