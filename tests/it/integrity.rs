//! A published text is immutable, and a text altered behind the server's back is never served.

use serde_json::Value;
use yijian_web::WebOptions;

use crate::harness::{Backend, DEMO_ID, InProcess, good_body};
use crate::on_both_backends;

async fn exec(app: &InProcess, sql: &'static str) -> Result<u64, sqlx::Error> {
    sqlx::query(sql).execute(app.store().pool()).await.map(|r| r.rows_affected())
}

async fn altered_text_is_refused_not_served(backend: Backend) {
    let app = InProcess::start(backend, WebOptions { insecure_no_captcha: true, ..Default::default() }).await;
    let url = app.url(&format!("/api/v1/consultations/{DEMO_ID}"));
    assert_eq!(app.client.get(&url).send().await.unwrap().status(), 200);

    // The database itself refuses to change a published text …
    let err =
        exec(&app, "UPDATE consultation_versions SET canonical_text = replace(canonical_text, '辽宁', '球探')").await;
    assert!(err.unwrap_err().to_string().contains("immutable"));

    // … so an attacker with database access drops the guard first.
    let drop = match backend {
        Backend::Sqlite => "DROP TRIGGER consultation_versions_immutable",
        Backend::Postgres => "DROP TRIGGER consultation_versions_immutable ON consultation_versions",
    };
    exec(&app, drop).await.unwrap();
    assert_eq!(
        exec(&app, "UPDATE consultation_versions SET canonical_text = replace(canonical_text, '辽宁', '球探')")
            .await
            .unwrap(),
        1
    );
    // The server caches a verified text for a moment; drop it so the next request reads the
    // altered row.
    app.state.forget(DEMO_ID);

    let res = app.client.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 500);
    let text = res.text().await.unwrap();
    assert!(!text.contains("球探"), "the altered text leaked: {text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["error"]["code"], "integrity_check_failed");

    // Comments on an altered text are refused too, and nothing is stored.
    let res = app.client.post(format!("{url}/comments")).json(&good_body()).send().await.unwrap();
    assert_eq!(res.status(), 500);
    assert_eq!(app.store().count_comments(DEMO_ID).await.unwrap(), 0);

    // Recomputing the checksum does not help: the signature needs the key outside the database.
    let fix_hash = match backend {
        Backend::Sqlite => "UPDATE consultation_versions SET content_sha256 = 'x'",
        Backend::Postgres => {
            "UPDATE consultation_versions SET content_sha256 = encode(sha256(convert_to(canonical_text, 'UTF8')), 'hex')"
        }
    };
    exec(&app, fix_hash).await.unwrap();
    let err = app.store().consultation(DEMO_ID).await.unwrap_err().to_string();
    assert!(err.contains("integrity"), "{err}");
    if backend == Backend::Postgres {
        assert!(err.contains("signature"), "{err}");
    }
}
on_both_backends!(altered_text_is_refused_not_served);

#[tokio::test]
async fn signature_swap_is_detected() {
    let app = InProcess::start(Backend::Sqlite, WebOptions::default()).await;
    exec(&app, "DROP TRIGGER consultation_versions_immutable").await.unwrap();
    exec(&app, "UPDATE consultation_versions SET signature = 'AAAA'").await.unwrap();
    let err = app.store().consultation(DEMO_ID).await.unwrap_err().to_string();
    assert!(err.contains("signature"), "{err}");
}
