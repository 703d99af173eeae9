//! Operations endpoints: `/healthz`, `/readyz` and `/metrics` (Prometheus text format 0.0.4).
//!
//! Requests are counted by the route that matched (its template, `/c/{id}`, never the path
//! itself, so no receipt, id or token reaches a label), method and status, with a latency
//! histogram per route. What other parts count (the comment writer's batches and queue, the
//! mail poll's passes, the search index's lag) is read from the application at scrape time.
//!
//! `/metrics` on the main address answers a bearer token of a staff member who may read the
//! metrics (admins); where `metrics_listen` is set, the same text is served on that address
//! without a token, for a scraper on a private network.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::AppState;

/// The route label of a request no route matched (404s, probes of random paths).
const UNMATCHED: &str = "unmatched";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteOnly {
    route: String,
}

type Latency = Family<RouteLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 0.5 ms to about 16 s, doubling.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// The node's metrics: kept here for HTTP, read from the application for the rest.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Latency,
    overload: Family<RouteOnly, Counter>,
    /// What the application said at the last scrape, for the collector to encode.
    gathered: Arc<Mutex<Gathered>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("yijian");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, matched route and status",
            requests.clone(),
        );
        let latency: Latency = Family::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time from a request's arrival to its response's headers, by method and matched route",
            latency.clone(),
        );
        let overload = Family::<RouteOnly, Counter>::default();
        registry.register(
            "overload_refused",
            "Requests refused with 503 because the node was overloaded, by matched route",
            overload.clone(),
        );
        let gathered = Arc::new(Mutex::new(Gathered::default()));
        registry.register_collector(Box::new(Collected(gathered.clone())));
        Metrics { registry, requests, latency, overload, gathered }
    }

    /// Counts a request refused because the node is overloaded. `route` is the matched route
    /// template (`/api/v1/consultations/{id}/comments`), never a raw path.
    pub fn overload_refused(&self, route: &str) {
        self.overload.get_or_create(&RouteOnly { route: route.to_string() }).inc();
    }

    fn observe(&self, method: &str, route: &str, status: StatusCode, seconds: f64) {
        let (method, route) = (method.to_string(), route.to_string());
        self.latency.get_or_create(&RouteLabels { method: method.clone(), route: route.clone() }).observe(seconds);
        self.requests.get_or_create(&RequestLabels { method, route, status: status.as_u16() }).inc();
    }

    /// The whole text, after reading what the application counts.
    pub async fn render(&self, state: &AppState) -> String {
        let app = &state.app;
        let lag = match app.search_index_lag().await {
            Ok(lag) => lag,
            Err(e) => {
                tracing::warn!(error = %e, "metrics: the search index's lag could not be read");
                None
            }
        };
        let fresh = Gathered {
            writer: Some(app.writer_stats()),
            mail_passes: app.mail_passes(),
            index_lag: lag,
            captchas_pooled: state.captchas.pooled(),
        };
        // Two scrapes at once may encode each other's reading: both are current.
        *self.gathered.lock().unwrap_or_else(|p| p.into_inner()) = fresh;
        let mut text = String::new();
        if let Err(e) = prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry) {
            tracing::error!(error = %e, "metrics could not be encoded");
        }
        text
    }
}

/// Numbers read from the application at scrape time.
#[derive(Debug, Default)]
struct Gathered {
    writer: Option<yijian_store::WriterStats>,
    mail_passes: (u64, u64),
    index_lag: Option<i64>,
    captchas_pooled: usize,
}

#[derive(Debug)]
struct Collected(Arc<Mutex<Gathered>>);

impl Collector for Collected {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(w) = &g.writer {
            let mut buckets: Vec<(f64, u64)> =
                yijian_store::BATCH_SIZE_BOUNDS.iter().zip(&w.buckets).map(|(&b, &n)| (b as f64, n)).collect();
            buckets.push((f64::INFINITY, w.buckets.last().copied().unwrap_or(0)));
            let m = encoder.encode_descriptor(
                "intake_batch_size",
                "Comments committed together in one group commit",
                None,
                MetricType::Histogram,
            )?;
            let mut m = m;
            m.encode_histogram::<NoLabelSet>(w.comments as f64, w.batches(), &buckets, None)?;
            let queued = ConstGauge::new(i64::try_from(w.queued).unwrap_or(i64::MAX));
            let m = encoder.encode_descriptor(
                "intake_queue_depth",
                "Comments waiting for the group-commit writer",
                None,
                queued.metric_type(),
            )?;
            queued.encode(m)?;
        }
        let (ok, failed) = g.mail_passes;
        let mut family = encoder.encode_descriptor(
            "mail_passes",
            "Passes of the mail poll over the IMAP mailbox, by outcome",
            None,
            MetricType::Counter,
        )?;
        for (outcome, n) in [("ok", ok), ("failed", failed)] {
            ConstCounter::new(n).encode(family.encode_family(&[("outcome", outcome)])?)?;
        }
        let pooled = ConstGauge::new(i64::try_from(g.captchas_pooled).unwrap_or(i64::MAX));
        let m = encoder.encode_descriptor(
            "captcha_pool_images",
            "Captcha images drawn ahead and not yet given out",
            None,
            pooled.metric_type(),
        )?;
        pooled.encode(m)?;
        if let Some(lag) = g.index_lag {
            let lag = ConstGauge::new(lag);
            let m = encoder.encode_descriptor(
                "search_index_lag",
                "Comments stored but not yet in this node's search index",
                None,
                lag.metric_type(),
            )?;
            lag.encode(m)?;
        }
        Ok(())
    }
}

/// Counts every request by the route that matched, and times it. Put outermost, so that the
/// status counted is the one sent.
pub(crate) async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    // Any token is a method to HTTP: only the known ones become labels, so a stranger cannot
    // make series without end.
    let method = match *req.method() {
        Method::GET | Method::HEAD | Method::POST | Method::PUT | Method::DELETE | Method::PATCH | Method::OPTIONS => {
            req.method().as_str()
        }
        _ => "OTHER",
    }
    .to_string();
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string());
    let res = next.run(req).await;
    state.metrics.observe(
        &method,
        route.as_deref().unwrap_or(UNMATCHED),
        res.status(),
        started.elapsed().as_secs_f64(),
    );
    res
}

/// Operations answers are plain text for operators and never cached.
fn plain(status: StatusCode, body: String) -> Response {
    let mut res = (status, body).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// `GET /healthz`: the process is up and serving.
pub(crate) async fn healthz() -> Response {
    plain(StatusCode::OK, "ok\n".into())
}

/// `GET /readyz`: 200 when the database answers and every migration is applied, else 503
/// with the reason (a load balancer then sends traffic elsewhere).
pub(crate) async fn readyz(State(state): State<AppState>) -> Response {
    match state.app.readiness().await {
        Ok(()) => plain(StatusCode::OK, "ready\n".into()),
        Err(why) => plain(StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {why}\n")),
    }
}

fn exposition(text: String) -> Response {
    let mut res = plain(StatusCode::OK, text);
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(prometheus_client::encoding::prometheus_text::CONTENT_TYPE),
    );
    res
}

/// `GET /metrics` on the main address: for a bearer token whose staff member may read the
/// metrics. No session cookie: a scraper has none, and a browser has no business here.
pub(crate) async fn metrics_with_token(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        let mut res = plain(
            StatusCode::UNAUTHORIZED,
            "/metrics needs an admin's bearer token (Authorization: Bearer …; `yijian token create --user NAME`), \
             or a scrape of the metrics_listen address\n"
                .into(),
        );
        res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return res;
    };
    match state.app.metrics_reader(token, jiff::Timestamp::now()).await {
        Ok(_) => exposition(state.metrics.render(&state).await),
        Err(yijian_app::Error::Forbidden) => {
            plain(StatusCode::FORBIDDEN, "this token's staff member may not read the metrics (admins may)\n".into())
        }
        Err(yijian_app::Error::NotFound(_)) => {
            let mut res = plain(StatusCode::UNAUTHORIZED, "the bearer token is unknown, revoked or expired\n".into());
            res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            res
        }
        Err(e) => {
            tracing::error!(error = %e, "metrics: the token could not be checked");
            plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "the token could not be checked: the database does not answer\n".into(),
            )
        }
    }
}

/// `GET /metrics` on the `metrics_listen` address: no token; the address is the protection.
pub(crate) async fn metrics_open(State(state): State<AppState>) -> Response {
    exposition(state.metrics.render(&state).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_labelled_by_their_route_and_overload_refusals_counted() {
        let m = Metrics::new();
        m.observe("POST", "/api/v1/consultations/{id}/comments", StatusCode::CREATED, 0.003);
        m.overload_refused("/api/v1/consultations/{id}/comments");
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &m.registry).unwrap();
        assert!(
            text.contains(
                r#"yijian_http_requests_total{method="POST",route="/api/v1/consultations/{id}/comments",status="201"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"yijian_overload_refused_total{route="/api/v1/consultations/{id}/comments"} 1"#),
            "{text}"
        );
        assert!(text.contains("yijian_http_request_duration_seconds_bucket"), "{text}");
        assert!(text.contains(r#"yijian_mail_passes_total{outcome="ok"} 0"#), "{text}");
    }
}
