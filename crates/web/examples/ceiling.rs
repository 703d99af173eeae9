//! The machine's ceilings for the benchmarks, measured in the same run as yijian:
//! - the intake's: a bare axum handler that reads and parses the same JSON body as the real
//!   intake, and answers 201 without validating or storing (`bench/intake.sh`);
//! - the page's: a bare axum handler that serves fixed bytes for `GET /c/{id}`, gzipped once at
//!   start when the request accepts gzip (`bench/page.sh` gives it yijian's own page).
//!
//!   ceiling [ADDR] [PAGE-FILE]

use std::io::Write;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

async fn accept(body: Bytes) -> (StatusCode, axum::Json<serde_json::Value>) {
    match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(v) if v.is_object() => (StatusCode::CREATED, axum::Json(serde_json::json!({"receipt": "YJ-0000-0000"}))),
        _ => (StatusCode::BAD_REQUEST, axum::Json(serde_json::json!({}))),
    }
}

/// The page as given, and gzipped.
struct Page {
    identity: Bytes,
    gzip: Bytes,
}

async fn serve_page(State(page): State<Arc<Page>>, headers: HeaderMap) -> Response {
    let gzip = headers.get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(',').any(|c| c.trim().starts_with("gzip") && !c.contains("q=0,") && !c.ends_with("q=0"))
    });
    let mut res = if gzip { page.gzip.clone() } else { page.identity.clone() }.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    if gzip {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    res
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:18081".into());
    let body = args.next().map(|file| std::fs::read(&file).expect("the page file")).unwrap_or_default();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&body).expect("gzip in memory");
    let page = Arc::new(Page { identity: Bytes::from(body), gzip: Bytes::from(gz.finish().expect("gzip in memory")) });
    let app = Router::new()
        .route("/api/v1/consultations/{id}/comments", post(accept))
        .route("/c/{id}", get(serve_page))
        .with_state(page);
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    println!("ceiling listening on http://{}", listener.local_addr().unwrap());
    axum::serve(listener, app).await.unwrap();
}
