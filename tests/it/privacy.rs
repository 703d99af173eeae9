//! ID numbers and phone numbers never reach the disk, the database or the logs in clear.

use std::path::Path;

use serde_json::json;

use crate::harness::{Backend, DEMO_ID, ServerProcess, TestData, good_body};
use crate::on_both_backends;

const ID: &str = "11010519491231002X";
const PHONE: &str = "13912345678";

/// Every form in which a leak could show up: as typed, normalised, and as hex of those bytes.
fn needles() -> Vec<Vec<u8>> {
    let mut texts =
        vec![ID.to_string(), ID.to_lowercase(), PHONE.to_string(), format!("+86{PHONE}"), "8613912345678".into()];
    for t in texts.clone() {
        texts.push(hex::encode(t.as_bytes()));
        texts.push(hex::encode_upper(t.as_bytes()));
    }
    texts.into_iter().map(String::into_bytes).collect()
}

fn find_leaks(name: &str, bytes: &[u8]) -> Vec<String> {
    needles()
        .iter()
        .filter(|n| bytes.windows(n.len()).any(|w| w == n.as_slice()))
        .map(|n| format!("{name}: {}", String::from_utf8_lossy(n)))
        .collect()
}

fn scan_dir(dir: &Path, leaks: &mut Vec<String>, files: &mut usize) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            scan_dir(&path, leaks, files);
        } else {
            *files += 1;
            leaks.extend(find_leaks(&path.display().to_string(), &std::fs::read(&path).unwrap()));
        }
    }
}

async fn personal_data_is_nowhere_in_clear(backend: Backend) {
    let data = TestData::new(backend).await;
    let server = ServerProcess::spawn(&data, &["--insecure-no-captcha", "--insecure-no-rate-limit"]);
    let client = reqwest::Client::new();
    let url = server.url(&format!("/api/v1/consultations/{DEMO_ID}/comments"));
    for phone in [PHONE, "+86 139-1234-5678"] {
        let mut body = good_body();
        body["id_number"] = json!(ID.to_lowercase());
        body["phone"] = json!(phone);
        // Written into the opinion too, as citizens do: masked there, sealed as written.
        body["opinion"] = json!(format!("我的身份证号{ID}，电话{PHONE}，请回复。"));
        let res = client.post(&url).json(&body).send().await.unwrap();
        assert_eq!(res.status(), 201);
        let text = res.text().await.unwrap();
        assert!(find_leaks("response", text.as_bytes()).is_empty(), "{text}");
    }
    // A refused submission must not echo them back either.
    let mut bad = good_body();
    bad["id_number"] = json!("110105194912310021");
    bad["phone"] = json!(format!("{PHONE}0"));
    let res = client.post(&url).json(&bad).send().await.unwrap();
    assert_eq!(res.status(), 422);
    let text = res.text().await.unwrap();
    assert!(!text.contains("110105194912310021") && !text.contains("139123456780"), "{text}");

    // And by mail, in the body: the mail's text is sealed like its raw bytes.
    let mail_dir = tempfile::tempdir().unwrap();
    let eml = mail_dir.path().join("numbers.eml");
    let title = "辽宁省人力资源社会保障领域支持和保障人工智能高质量发展的若干措施（征求意见稿）";
    let body = format!("我的意见：加强培训。身份证号{ID}，电话{PHONE}。");
    std::fs::write(
        &eml,
        yijian_mailgen::corpus::MailSpec::simple(title, "张三 <zhangsan@example.cn>", &body).to_bytes(),
    )
    .unwrap();
    let (ok, out, err) = crate::harness::run(&["mail", "import", &eml.display().to_string()], Some(&data));
    assert!(ok && out.contains("\"imported\":1"), "{out} {err}");

    let log = server.stderr();
    // Killed, not stopped: the WAL and any journal stay behind to be searched too.
    server.kill9();

    let mut leaks = find_leaks("server log", log.as_bytes());
    let mut files = 0;
    scan_dir(data.path(), &mut leaks, &mut files);
    assert!(files >= 1);
    if backend == Backend::Sqlite {
        assert!(data.path().join("yijian.sqlite3").exists());
    }
    if let Some(pg) = &data.pg {
        let dump = std::process::Command::new("pg_dump").args(["--no-owner", &pg.url]).output().expect("pg_dump runs");
        assert!(dump.status.success(), "{}", String::from_utf8_lossy(&dump.stderr));
        assert!(dump.stdout.len() > 1000 && String::from_utf8_lossy(&dump.stdout).contains("COPY public.comments"));
        leaks.extend(find_leaks("pg_dump", &dump.stdout));
    }
    assert!(leaks.is_empty(), "personal data in clear: {leaks:?}");

    // Yet it is all there for whoever holds the key.
    let store = data.store().await;
    let id = yijian_domain::pii::IdNumber::from_normalised(ID.into());
    let receipts = store.receipts_by_id_number(&id).await.unwrap();
    assert_eq!(receipts.len(), 2);
    let c = store.comment(&receipts[1]).await.unwrap().unwrap();
    assert_eq!(c.phone.unwrap().e164(), format!("+86{PHONE}"));
}
on_both_backends!(personal_data_is_nowhere_in_clear);

#[tokio::test]
async fn a_missing_or_wrong_key_stops_start_up() {
    let data = TestData::new(Backend::Sqlite).await;
    let server = ServerProcess::spawn(&data, &[]);
    drop(server);
    let key = data.path().join(yijian_crypto::MASTER_KEY_FILE);
    let saved = std::fs::read(&key).unwrap();

    std::fs::remove_file(&key).unwrap();
    let err = ServerProcess::try_spawn(&data, &[], &[]).err().expect("must not start without its key");
    assert!(err.contains("no master key") && err.contains("never makes a new key"), "{err}");
    assert!(!key.exists(), "a new key was made over existing data");

    let err = ServerProcess::try_spawn(&data, &[], &[(yijian_crypto::MASTER_KEY_ENV, &"00".repeat(32))])
        .err()
        .expect("wrong key");
    assert!(err.contains("does not open"), "{err}");
    let err = ServerProcess::try_spawn(&data, &[], &[(yijian_crypto::MASTER_KEY_ENV, "short")]).err().expect("bad key");
    assert!(err.contains("64 hexadecimal"), "{err}");

    // The right key, from the environment, works.
    let hex_key = String::from_utf8(saved).unwrap();
    let server = ServerProcess::try_spawn(&data, &[], &[(yijian_crypto::MASTER_KEY_ENV, hex_key.trim())]);
    assert!(server.is_ok(), "{:?}", server.err());
}
