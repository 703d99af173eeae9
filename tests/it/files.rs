//! The files yijian leaves on disk are its service user's alone (issue 11): exports (0600), the
//! SQLite database with its -wal and -shm files (0600), the data and search index directories
//! (0700); and web exports are bounded, one at a time per staff member and a few in all.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use yijian_domain::staff::Role;
use yijian_testkit::eventually;
use yijian_web::WebOptions;

use crate::harness::{Backend, DEMO_ID, InProcess, ServerProcess, TestData, demo_file, run};
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

/// A raw HTTP/1.1 GET that reads the answer's head and then stops reading, holding the
/// download open: the socket's receive buffer is kept small so that the server cannot send
/// the whole body ahead.
async fn start_download(base: &str, path: &str, token: &str) -> (tokio::net::TcpStream, String) {
    let addr: std::net::SocketAddr = base.trim_start_matches("http://").parse().unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    (stream, String::from_utf8(head).unwrap())
}

async fn exports_are_bounded(backend: Backend) {
    let app = InProcess::start(backend, WebOptions { insecure_no_captcha: true, ..Default::default() }).await;
    let t = crate::review::staff(&app).await;
    let a = app.app();
    a.add_user("test", "rev2", Role::Reviewer, "reviewer password 2", jiff::Timestamp::now()).await.unwrap();
    let (_, rev2) = a.create_token("test", "rev2", None, jiff::Timestamp::now()).await.unwrap();
    // Enough text that a download cannot be sent ahead into the sockets' buffers.
    let big = yijian_domain::comment::NewComment {
        consultation_id: DEMO_ID.into(),
        version: 1,
        channel: yijian_domain::comment::Channel::Api,
        name: None,
        id_number: None,
        position: None,
        phone: None,
        email: None,
        opinion: "意见".repeat(400_000),
        articles: vec![],
        sender: None,
        note: None,
    };
    for _ in 0..12 {
        app.store().submit_comment(&big, jiff::Timestamp::now()).await.unwrap();
    }
    let path = format!("/api/v1/admin/consultations/{DEMO_ID}/export?format=csv");
    let (first, head) = start_download(&app.base, &path, &t.reviewer).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");

    // The same reviewer again, while the first is running: 429, with when to try again.
    let res = app.client.get(app.url(&path)).bearer_auth(&t.reviewer).send().await.unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], "export_in_progress");
    // Another staff member may: two at once in all.
    let (second, head) = start_download(&app.base, &path, &t.admin).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    // A third is told the server is busy.
    let res = app.client.get(app.url(&path)).bearer_auth(&rev2).send().await.unwrap();
    assert_eq!(res.status(), 503);
    assert!(res.headers().contains_key("retry-after"));
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], "exports_busy");

    // An abandoned download frees its slot; a finished one too.
    drop(first);
    let res = eventually(Duration::from_secs(20), || async {
        let res = app.client.get(app.url(&path)).bearer_auth(&t.reviewer).send().await.unwrap();
        if res.status() == 200 { Ok(res) } else { Err(format!("{}", res.status())) }
    })
    .await;
    assert!(res.bytes().await.unwrap().len() > 12 * 2_400_000);
    drop(second);
    eventually(Duration::from_secs(20), || async {
        let res = app.client.get(app.url(&path)).bearer_auth(&rev2).send().await.unwrap();
        let status = res.status();
        let _ = res.bytes().await;
        if status == 200 { Ok(()) } else { Err(format!("{status}")) }
    })
    .await;
}
on_both_backends!(exports_are_bounded);
