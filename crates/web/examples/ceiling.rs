//! The machine's ceiling for the intake benchmark: a bare axum handler that reads and parses
//! the same JSON body as the real intake, and answers 201 without validating or storing.
//! `bench/intake.sh` runs it beside `yijian serve` and prints the ratio.

use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::post;

async fn accept(body: Bytes) -> (StatusCode, axum::Json<serde_json::Value>) {
    match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(v) if v.is_object() => (StatusCode::CREATED, axum::Json(serde_json::json!({"receipt": "YJ-0000-0000"}))),
        _ => (StatusCode::BAD_REQUEST, axum::Json(serde_json::json!({}))),
    }
}

#[tokio::main]
async fn main() {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:18081".into());
    let app = Router::new().route("/api/v1/consultations/{id}/comments", post(accept));
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    println!("ceiling listening on http://{}", listener.local_addr().unwrap());
    axum::serve(listener, app).await.unwrap();
}
