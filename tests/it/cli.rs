//! The command line: importing consultation files, listing, help, configuration.

use crate::harness::{Backend, DEMO_ID, TestData, demo_file, run};
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
    std::fs::read_to_string(demo_file())
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
    let (ok, out, err) = run(&["consultation", "import", &demo_file()], Some(&data));
    assert!(ok && out.contains("created"), "{err}");
    let original = std::fs::read_to_string(demo_file()).unwrap();
    let changed = original.replacen("全力保障人工智能产业用工需求。", "全力保障人工智能产业用工需要。", 1);
    let (ok, _, err) = run(&["consultation", "import", &write(&data, "late.md", &changed)], Some(&data));
    assert!(!ok);
    assert!(err.contains("has closed") && err.contains("Nothing was imported"), "{err}");
    let (ok, out, _) = run(&["consultation", "list"], Some(&data));
    assert!(ok && out.contains("closed") && out.contains("v1"), "{out}");
}
on_both_backends!(closed_consultations_keep_their_text);

on_both_backends!(import_versions_and_refusals);

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

/// The command line works on the data of a running server, and the server sees the result.
#[tokio::test]
async fn import_while_serving() {
    let data = TestData::new(Backend::Sqlite).await;
    let server = crate::harness::ServerProcess::spawn(&data, &["--insecure-no-captcha", "--insecure-no-rate-limit"]);
    let client = ::reqwest::Client::new();
    let url = server.url(&format!("/api/v1/consultations/{DEMO_ID}/comments"));
    let writer = {
        let (client, url) = (client.clone(), url.clone());
        tokio::spawn(async move {
            for _ in 0..50 {
                let res = client.post(&url).json(&crate::harness::good_body()).send().await.unwrap();
                assert_eq!(res.status(), 201);
            }
        })
    };
    let other = open_demo_text().replacen(DEMO_ID, "second-one", 1);
    let (ok, out, err) = run(&["consultation", "import", &write(&data, "second.md", &other)], Some(&data));
    assert!(ok && out.contains("created second-one"), "{err}");
    writer.await.unwrap();
    let list: serde_json::Value =
        client.get(server.url("/api/v1/consultations")).send().await.unwrap().json().await.unwrap();
    let ids: Vec<&str> = list.as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"second-one") && ids.contains(&DEMO_ID), "{ids:?}");
    let (ok, out, _) = run(&["consultation", "list"], Some(&data));
    assert!(ok && out.contains("second-one"), "{out}");
}

/// Flags override YIJIAN_* variables, which override the file.
#[test]
fn configuration_layers_reach_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("yijian.toml");
    let data = dir.path().join("data");
    std::fs::write(&cfg, format!("listen = \"127.0.0.1:1\"\ndemo = false\ndata = \"{}\"\n", data.display())).unwrap();
    let start = |env: &[(&str, &str)], extra: &[&str]| {
        let mut cmd = std::process::Command::new(crate::harness::BIN);
        cmd.args(["serve", "--config", cfg.to_str().unwrap()]).args(extra);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::null()).spawn().unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
        let _ = child.kill();
        let _ = child.wait();
        line
    };
    let port = |line: &str| -> u16 {
        let addr = line.trim().strip_prefix("yijian listening on http://").unwrap_or_else(|| panic!("{line}"));
        addr.rsplit_once(':').unwrap().1.parse().unwrap()
    };
    // The file says port 1; the variable asks for any free port and wins.
    let line = start(&[("YIJIAN_LISTEN", "127.0.0.1:0")], &[]);
    assert_ne!(port(&line), 1, "{line}");
    assert!(data.join("yijian.sqlite3").exists(), "the file's data directory was used");
    // A broken variable is overridden by the flag.
    let line = start(&[("YIJIAN_LISTEN", "nonsense")], &["--listen", "127.0.0.1:0"]);
    assert_ne!(port(&line), 1, "{line}");
    // And alone it is a clear error.
    let out = std::process::Command::new(crate::harness::BIN)
        .args(["serve", "--config", cfg.to_str().unwrap()])
        .env("YIJIAN_LISTEN", "nonsense")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("listen address `nonsense`"));
}

/// Every setting, the mail accounts' too, can come from a YIJIAN_* variable named after its
/// path; other YIJIAN_* variables are not settings and stop nothing.
#[test]
fn nested_mail_settings_come_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // A port nobody listens on: the pass fails, and its message names the account it was given.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let fetch = |env: &[(&str, String)]| {
        let mut cmd = std::process::Command::new(crate::harness::BIN);
        cmd.args(["mail", "fetch", "--data", data.to_str().unwrap()])
            .env_remove(yijian_crypto::MASTER_KEY_ENV)
            .env("YIJIAN_SOMETHING_ELSE", "1");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let account = [
        ("YIJIAN_MAIL__IMAP__HOST", "127.0.0.1".to_string()),
        ("YIJIAN_MAIL__IMAP__PORT", closed.to_string()),
        ("YIJIAN_MAIL__IMAP__SECURITY", "plain".to_string()),
        ("YIJIAN_MAIL__IMAP__USERNAME", "comments".to_string()),
        ("YIJIAN_MAIL__IMAP__MAILBOX", "Opinions".to_string()),
    ];
    let (ok, err) = fetch(&account);
    assert!(!ok && err.contains("fetching mail from comments@127.0.0.1/Opinions"), "{err}");
    // A nested setting the account checks is refused by name, as in the file.
    let mut remote = account.to_vec();
    remote[0].1 = "imap.example.org".into();
    let (ok, err) = fetch(&remote);
    assert!(!ok && err.contains("mail.imap") && err.contains("loopback"), "{err}");
    // Without the variables there is no account at all.
    let (ok, err) = fetch(&[]);
    assert!(!ok && err.contains("no [mail.imap] account"), "{err}");
}

/// Every command closes the store, on its error paths too: SQLite then checkpoints and
/// removes its write-ahead log, which a process that just exits leaves behind.
#[test]
fn commands_close_the_store_even_when_they_fail() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let out = format!("{d}/out.csv");
    for (args, succeeds) in [
        (vec!["token", "revoke", "nope"], false),
        (vec!["user", "disable", "nobody"], false),
        (vec!["export", "--consultation", "nope", "--format", "csv", "--output", &out], false),
        (vec!["search", "reindex"], true),
        (vec!["audit", "verify"], true),
    ] {
        let mut args = args;
        args.extend(["--data", &d]);
        let (ok, _, err) = run(&args, None);
        assert_eq!(ok, succeeds, "{args:?}: {err}");
        assert!(!dir.path().join("yijian.sqlite3-wal").exists(), "{args:?} left the store open");
    }
}
