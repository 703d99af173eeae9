//! Benchmark (issue 5): mails per second imported from an mbox of 10,000 mails, the way
//! `yijian mail import` does it (streamed mbox, parse, route, store 200 per transaction).
//!
//! Usage: `bench/mail.sh [--n 10000] [--database postgres://…]`. Without `--database` the
//! store is SQLite in a temporary directory. Not part of CI.

use std::io::{BufReader, Write};
use std::time::Instant;

use yijian_mail::intake::{Incoming, Intake, Outcome};
use yijian_mail::mbox::MboxReader;
use yijian_store::{Store, StoreOptions};

const SUBJECT: &str = "关于《辽宁省人力资源社会保障领域支持和保障人工智能高质量发展的若干措施（征求意见稿）》的意见";

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let mut n = 10_000usize;
    let mut database = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--n" => n = args.next().and_then(|v| v.parse().ok()).expect("--n NUMBER"),
            "--database" => database = args.next(),
            other => panic!("unknown argument {other} (use --n N, --database URL)"),
        }
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let mbox_path = dir.path().join("bench.mbox");
    let started = Instant::now();
    let mut file = std::io::BufWriter::new(std::fs::File::create(&mbox_path).unwrap());
    file.write_all(&yijian_mailgen::corpus::mbox(yijian_mailgen::corpus::bulk(n, SUBJECT, 42))).unwrap();
    file.flush().unwrap();
    drop(file);
    let size = std::fs::metadata(&mbox_path).unwrap().len();
    println!(
        "== mbox_bench: {n} mails, {:.1} MB mbox written in {:.1} s",
        size as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );

    let mut opts = StoreOptions::new(dir.path().join("data"));
    opts.database_url = database.clone();
    let store = Store::open(&opts).await.expect("store opens");
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo/ln-hrss-ai-2025.md");
    let file = yijian_domain::file::parse(&std::fs::read_to_string(demo).unwrap()).unwrap();
    store.import_consultation(&file, true, jiff::Timestamp::now()).await.unwrap();
    let backend = if database.is_some() { "postgres" } else { "sqlite" };

    let intake = Intake::new(store.clone(), Default::default()).await.unwrap();
    let reader = MboxReader::new(BufReader::with_capacity(1 << 20, std::fs::File::open(&mbox_path).unwrap()));
    let started = Instant::now();
    let (mut comments, mut other, mut batch) = (0usize, 0usize, Vec::with_capacity(200));
    let mut count = |imported: Vec<yijian_mail::intake::Imported>| {
        for i in imported {
            match i.outcome {
                Outcome::Comment { .. } => comments += 1,
                _ => other += 1,
            }
        }
    };
    for (i, raw) in reader.enumerate() {
        batch.push(Incoming { raw: raw.unwrap(), source: format!("bench.mbox#{}", i + 1), arrival: None, size: None });
        if batch.len() == 200 {
            count(intake.import(std::mem::take(&mut batch), jiff::Timestamp::now()).await.unwrap());
        }
    }
    if !batch.is_empty() {
        count(intake.import(batch, jiff::Timestamp::now()).await.unwrap());
    }
    let secs = started.elapsed().as_secs_f64();
    println!("imported {} mails ({comments} comments, {other} other) in {secs:.1} s on {backend}", comments + other);
    println!(
        "SUMMARY backend={backend} mails={} mails_per_s={:.0}",
        comments + other,
        (comments + other) as f64 / secs
    );
    store.close().await;
}
