//! The command line: importing consultation files, listing, help, configuration.

use crate::harness::{Backend, DEMO_FILE, DEMO_ID, TestData, run};
use crate::on_both_backends;

fn write(data: &TestData, name: &str, text: &str) -> String {
    let p = data.path().join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// The demo file moved into the future so that it is open for changes.
fn open_demo_text() -> String {
    let now = jiff::Timestamp::now();
    let tz = jiff::tz::TimeZone::get("Asia/Shanghai").unwrap();
    let today = now.to_zoned(tz).date();
    std::fs::read_to_string(DEMO_FILE)
        .unwrap()
        .replacen("opens_at = \"2025-05-12\"", &format!("opens_at = \"{}\"", today.yesterday().unwrap()), 1)
        .replacen(
            "closes_at = \"2025-05-18\"",
            &format!("closes_at = \"{}\"", today.saturating_add(jiff::Span::new().days(10))),
            1,
        )
}

async fn import_versions_and_refusals(backend: Backend) {
    let data = TestData::new(backend).await;
    let text = open_demo_text();
    let file = write(&data, "c.md", &text);

    let (ok, out, err) = run(&["consultation", "import", &file], Some(&data));
    assert!(ok, "{err}");
    assert!(out.contains(&format!("created {DEMO_ID} version 1")), "{out}");

    let (ok, out, _) = run(&["consultation", "import", &file], Some(&data));
    assert!(ok && out.contains("unchanged (version 1)"), "{out}");

    // A new deadline alone is not a new text.
    let later = text.replacen("max_opinion_chars = 5000", "max_opinion_chars = 3000", 1);
    assert_ne!(later, text);
    let (ok, out, _) = run(&["consultation", "import", &write(&data, "c2.md", &later)], Some(&data));
    assert!(ok && out.contains("settings updated"), "{out}");

    // A changed article is a new version.
    let changed = later.replacen("全力保障人工智能产业用工需求。", "全力保障人工智能产业用工需要。", 1);
    let (ok, out, _) = run(&["consultation", "import", &write(&data, "c3.md", &changed)], Some(&data));
    assert!(ok && out.contains("new version 2"), "{out}");

    let (ok, out, _) = run(&["consultation", "list"], Some(&data));
    assert!(ok);
    assert!(out.contains(DEMO_ID) && out.contains("open") && out.contains("v2"), "{out}");

    // A broken file names its line and imports nothing.
    let broken = changed.replacen("## 二、", "## 五、", 1).replacen("需要。", "需求。", 1);
    let (ok, _, err) = run(&["consultation", "import", &write(&data, "bad.md", &broken)], Some(&data));
    assert!(!ok);
    let line = broken.lines().position(|l| l.starts_with("## 五、")).unwrap() + 1;
    assert!(err.contains(&format!("bad.md:{line}:")) && err.contains("nothing was imported"), "{err}");
    let store = data.store().await;
    assert_eq!(store.consultation(DEMO_ID).await.unwrap().unwrap().version, 2);
    store.close().await;
}

async fn closed_consultations_keep_their_text(backend: Backend) {
    let data = TestData::new(backend).await;
    let (ok, out, err) = run(&["consultation", "import", DEMO_FILE], Some(&data));
    assert!(ok && out.contains("created"), "{err}");
    let original = std::fs::read_to_string(DEMO_FILE).unwrap();
    let changed = original.replacen("全力保障人工智能产业用工需求。", "全力保障人工智能产业用工需要。", 1);
    let (ok, _, err) = run(&["consultation", "import", &write(&data, "late.md", &changed)], Some(&data));
    assert!(!ok);
    assert!(err.contains("has closed") && err.contains("Nothing was imported"), "{err}");
    let (ok, out, _) = run(&["consultation", "list"], Some(&data));
    assert!(ok && out.contains("closed") && out.contains("v1"), "{out}");
}
on_both_backends!(closed_consultations_keep_their_text);

#[tokio::test]
async fn import_versions_and_refusals_sqlite() {
    import_versions_and_refusals(Backend::Sqlite).await
}

#[tokio::test]
async fn import_versions_and_refusals_postgres() {
    import_versions_and_refusals(Backend::Postgres).await
}

#[test]
fn every_command_has_help() {
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["consultation", "--help"],
        vec!["consultation", "import", "--help"],
        vec!["consultation", "list", "--help"],
    ] {
        let (ok, out, _) = run(&args, None);
        assert!(ok, "{args:?}");
        assert!(out.contains("Usage:"), "{args:?}: {out}");
    }
    let (ok, out, _) = run(&["serve", "--help"], None);
    assert!(ok && out.contains("--insecure-no-captcha") && out.contains("--no-demo") && out.contains("--database"));
}

#[test]
fn bad_command_lines_and_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let missing = format!("{d}/missing.md");
    let (ok, _, err) = run(&["consultation", "import", &missing, "--data", &d], None);
    assert!(!ok && err.contains("cannot read") && err.contains("missing.md"), "{err}");

    let binary = format!("{d}/bin.md");
    std::fs::write(&binary, [0xff, 0xfe, 0x00]).unwrap();
    let (ok, _, err) = run(&["consultation", "import", &binary, "--data", &d], None);
    assert!(!ok && err.contains("not UTF-8"), "{err}");

    let (ok, _, err) = run(&["consultation", "list", "--data", &d, "--database", "mysql://x"], None);
    assert!(!ok && err.contains("postgres://"), "{err}");

    let cfg = format!("{d}/bad.toml");
    std::fs::write(&cfg, "lisen = 1\n").unwrap();
    let (ok, _, err) = run(&["serve", "--config", &cfg], None);
    assert!(!ok && err.contains("lisen"), "{err}");

    let (ok, _, err) = run(&["serve", "--listen", "nonsense", "--data", &d, "--no-demo"], None);
    assert!(!ok && err.contains("listen address"), "{err}");
    let (ok, _, _) = run(&["frobnicate"], None);
    assert!(!ok);
}

#[test]
fn serve_without_demo_starts_empty() {
    let data = tokio::runtime::Runtime::new().unwrap().block_on(TestData::new(Backend::Sqlite));
    let server = crate::harness::ServerProcess::spawn(&data, &["--no-demo"]);
    let body = reqwest::blocking_get(&server.url("/api/v1/consultations"));
    assert_eq!(body, "[]");
}

mod reqwest {
    /// A tiny blocking GET for the one synchronous test (reqwest's blocking client is not built).
    pub fn blocking_get(url: &str) -> String {
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(async { ::reqwest::get(url).await.unwrap().text().await.unwrap() })
    }
}
