//! Storage-only throughput: many tasks submitting comments straight to the store, no HTTP.
//! `cargo run --release -p yijian-store --example group_commit -- [tasks] [seconds] [postgres-URL]`

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use yijian_domain::comment::{Channel, NewComment};
use yijian_store::{Store, StoreOptions};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let tasks: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(64);
    let seconds: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(5);
    let dir = std::env::temp_dir().join(format!("yijian-gc-{}", std::process::id()));
    let opts = StoreOptions { database_url: args.get(3).cloned(), ..StoreOptions::new(&dir) };
    let store = Store::open(&opts).await.expect("store");
    let file = yijian_domain::file::parse(include_str!("../../../demo/ln-hrss-ai-2025.md")).unwrap();
    let now = jiff::Timestamp::now();
    store.import_consultation(&file, false, now).await.unwrap();
    let id = yijian_domain::validate::id_number("11010519491231002X", jiff::civil::date(2025, 1, 1)).unwrap();
    let phone = yijian_domain::validate::phone("13800138000").unwrap();
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let mut handles = Vec::new();
    for t in 0..tasks {
        let (store, done, id, phone) = (store.clone(), done.clone(), id.clone(), phone.clone());
        let consultation_id = file.meta.id.clone();
        handles.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                let c = NewComment {
                    consultation_id: consultation_id.clone(),
                    version: 1,
                    channel: Channel::Api,
                    name: Some("张三".into()),
                    id_number: Some(id.clone()),
                    position: Some("公务员".into()),
                    phone: Some(phone.clone()),
                    email: Some("a@example.com".into()),
                    opinion: format!("意见 {t} {n}：建议加大对中小企业的支持力度，细化补贴标准。"),
                    articles: vec![5, 12],
                    sender: None,
                    note: None,
                };
                store.submit_comment(&c, jiff::Timestamp::now()).await.unwrap();
                n += 1;
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    let n = done.load(Ordering::Relaxed);
    println!("RESULT stored={n} seconds={secs:.2} per_s={:.0}", n as f64 / secs);
    let _ = std::fs::remove_dir_all(&dir);
}
