//! The files yijian leaves on disk are its service user's alone (issue 11): exports (0600), the
//! SQLite database with its -wal and -shm files (0600), the data and search index directories
//! (0700).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;


use crate::harness::{Backend, DEMO_ID, ServerProcess, TestData, demo_file, run};
use crate::on_both_backends;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

/// Every file and directory under `dir`, with what the group and others may do with it.
fn open_to_others(dir: &Path, found: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let m = mode(&path);
        if m & 0o077 != 0 {
            found.push(format!("{} {m:o}", path.display()));
        }
        if path.is_dir() {
            open_to_others(&path, found);
        }
    }
}

/// `yijian export --output` writes 0600, over an existing file's looser mode too.
async fn cli_exports_are_private(backend: Backend) {
    let data = TestData::new(backend).await;
    let (ok, _, err) = run(&["consultation", "import", &demo_file()], Some(&data));
    assert!(ok, "{err}");
    let out = tempfile::tempdir().unwrap();
    for (format, name) in [("csv", "new.csv"), ("xlsx", "new.xlsx"), ("jsonl", "old.jsonl")] {
        let path = out.path().join(name);
        if name.starts_with("old") {
            std::fs::write(&path, "").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        let path_text = path.display().to_string();
        let args = ["export", "--consultation", DEMO_ID, "--format", format, "--output", &path_text];
        let (ok, _, err) = run(&args, Some(&data));
        assert!(ok, "{err}");
        assert_eq!(mode(&path), 0o600, "{name}");
    }
}
on_both_backends!(cli_exports_are_private);

/// The store and the index make their files private themselves, whatever the umask of the
/// process that opens them (this test process's is the usual 022).
#[tokio::test]
async fn the_database_and_the_index_are_private() {
    let data = TestData::new(Backend::Sqlite).await;
    let dir = data.path().join("fresh");
    let store = yijian_store::Store::open(&yijian_store::StoreOptions::new(&dir)).await.unwrap();
    let demo = yijian_domain::file::parse(&std::fs::read_to_string(demo_file()).unwrap()).unwrap();
    store.import_consultation(&demo, true, jiff::Timestamp::now()).await.unwrap();
    assert_eq!(mode(&dir), 0o700);
    for file in ["yijian.sqlite3", "yijian.sqlite3-wal", "yijian.sqlite3-shm"] {
        assert_eq!(mode(&dir.join(file)), 0o600, "{file}");
    }
    let index_dir = data.path().join("index/search");
    yijian_analysis::SearchIndex::open(&index_dir).unwrap();
    assert_eq!(mode(&index_dir), 0o700);
    store.close().await;
}

/// The server process creates nothing the group or others may read: its umask is 077.
#[tokio::test]
async fn the_server_creates_nothing_others_may_read() {
    let data = TestData::new(Backend::Sqlite).await;
    let server = ServerProcess::spawn(&data, &["--insecure-no-captcha", "--insecure-no-rate-limit"]);
    let res = reqwest::Client::new()
        .post(server.url(&format!("/api/v1/consultations/{DEMO_ID}/comments")))
        .json(&crate::harness::good_body())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    server.kill9();
    let mut found = vec![];
    open_to_others(data.path(), &mut found);
    assert!(found.is_empty(), "readable by others: {found:?}");
    assert!(data.path().join("search").is_dir(), "the index is there");
}
