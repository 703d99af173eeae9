//! The API keeps the promises of its OpenAPI document: schemathesis (pinned in
//! `tests/python-requirements.txt`; `scripts/test` installs it) generates requests from
//! `/api/v1/openapi.json`, valid and invalid, sends them to a test server with an admin token,
//! and checks every answer against the document: status codes, content types, headers and
//! bodies, that invalid requests are refused and that nothing answers 5xx. Every check is on
//! but `positive_data_acceptance`, since a schema cannot state a resident ID's checksum, so a
//! schema-valid ID may rightly be refused. No configuration file of ours turns anything off.
//!
//! Alone: `cargo test --test it api_schema::` (SCHEMATHESIS_EXAMPLES=N for a longer run).
//! A failure prints schemathesis's own report: the operation, the check, the request as a curl
//! command, and the answer.

use std::process::Command;

use jiff::Timestamp;
use yijian_domain::staff::Role;
use yijian_web::WebOptions;

use crate::harness::{Backend, InProcess};

/// Cases per operation and phase: with the coverage phase's own cases this keeps the run to
/// about two minutes on two cores.
const EXAMPLES: &str = "15";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_keeps_its_documents_promises() {
    let version = Command::new("schemathesis").arg("--version").output();
    let Some(version) = version.ok().filter(|o| o.status.success()) else {
        panic!("schemathesis is not installed: python3 -m pip install -r tests/python-requirements.txt");
    };
    eprintln!("{}", String::from_utf8_lossy(&version.stdout).trim());

    let app = InProcess::start(Backend::Sqlite, WebOptions::default()).await;
    let now = Timestamp::now();
    app.app().add_user("test", "schema-admin", Role::Admin, "schema admin password", now).await.unwrap();
    let (_, token) = app.app().create_token("test", "schema-admin", None, now).await.unwrap();
    let examples = std::env::var("SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| EXAMPLES.into());
    let report = app.data.path().join("schemathesis");
    let url = app.url("/api/v1/openapi.json");
    let auth = format!("Authorization: Bearer {token}");
    let args = [
        "run",
        url.as_str(),
        "--checks",
        "all",
        "--exclude-checks",
        "positive_data_acceptance",
        "--header",
        auth.as_str(),
        "--max-examples",
        examples.as_str(),
        "--seed",
        "20261203",
        "--workers",
        "2",
        "--request-timeout",
        "30",
        "--continue-on-failure",
        "--output-truncate",
        "false",
        "--report",
        "ndjson",
        "--report-dir",
        report.to_str().unwrap(),
    ]
    .map(String::from);
    // From the test's own temporary directory, so no schemathesis.toml anywhere up the
    // checkout can change the run.
    let out = tokio::task::spawn_blocking({
        let dir = app.data.path().to_path_buf();
        // Through tests/run_schemathesis.py, which works round a CPython 3.11 bug (said there).
        let launcher = crate::harness::project_dir().join("tests/run_schemathesis.py");
        move || Command::new("python3").arg(launcher).args(args).current_dir(dir).env("NO_COLOR", "1").output().unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "schemathesis found failures (exit {:?}):\n{stdout}\n{stderr}", out.status.code());
    // Its summary says how many cases ran; a run that tested nothing would pass too.
    assert!(stdout.contains("passed") && !stdout.contains("No operations"), "{stdout}");
}
