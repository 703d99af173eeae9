//! The back office at scale (issue 4): the review queue, full-text search, exports and the
//! adoption report over a million comments. Not a test, and not run in CI; `bench/review.sh`
//! builds and runs it.
//!
//! ```text
//! cargo run --release -p yijian-web --example review_bench -- [--n 1000000] [--database postgres://…]
//!     [--rounds 40] [--in-flight 256] [--keep] [--explain] [--reuse DIR] [--skip PHASE,…]
//! ```
//!
//! 1. Opens a fresh store (SQLite in a temporary directory, or a new PostgreSQL database
//!    `yijian_bench_<random>` created next to the one `--database` names, dropped at the end)
//!    and imports the demo consultation, opened now for 30 days.
//! 2. Seeds `--n` synthetic comments (Chinese opinions of 20–500 characters, mostly short, about
//!    AI, employment, training, platforms, computing power and social insurance; one of the
//!    demo's 17 positions; 0–3 of its 20 articles; web, some API and manual entries; half of
//!    them with an ID and a phone number, sealed on write) through `Store::submit_comment` from
//!    `--in-flight` concurrent tasks, so the group-commit writer batches as under load. Then
//!    reviews them as staff would, with filtered bulk actions: about 30% disposed, 2% marked
//!    spam, a few duplicates, two tags.
//! 3. Rebuilds the search index from the store and times it.
//! 4. Times the queue (`Store::queue`, 50 a page, count included) for a mix of filters, deep
//!    keyset pages, and full-text searches (index, then the queue narrowed to the hits), about
//!    a thousand requests one after another, and prints p50/p95/p99/max per kind and overall.
//! 5. Times the CSV, XLSX and JSONL exports end to end, the adoption report and the dashboard.
//!
//! Targets: at a million comments a filtered queue page or a search answers with p99 < 100 ms,
//! a CSV export takes < 30 s and an XLSX export < 120 s.
//!
//! `--explain` prints, for each filter, the count and page statements `Store::queue` runs (from
//! `Store::explain_queue`, so never a stale copy), their plans (`EXPLAIN QUERY PLAN` on SQLite,
//! `EXPLAIN (ANALYZE, BUFFERS)` on PostgreSQL) and the time of each, run through the store's own
//! pool: on SQLite that is the SQLite sqlx bundles, not an older `sqlite3` command that may plan
//! differently. `--keep` keeps the data directory (and the PostgreSQL database) and prints the
//! command that measures it again; `--reuse DIR` runs the measurements again on such a directory
//! without seeding, reviewing or indexing (with `--database URL` naming the kept PostgreSQL
//! database, if any; a newer build migrates it first), and `--skip` leaves phases out (`queue`,
//! `export`, `csv`, `xlsx`, `jsonl`, `report`, `suggest`, `themes`, `dashboard`).
//!
//! `--opinions FILE` takes comment `i`'s opinion from line `i` of a JSONL file (its `text`, the
//! lines used in turn), such as `bench/campaigns/gen.py`'s corpora; `--seed-only` stops after the
//! seeding and keeps the work directory, whose `data` then serves `yijian campaigns detect`
//! (`bench/campaigns.sh` does so).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use yijian_analysis::SearchIndex;
use yijian_app::export::{ExportRequest, export_consultation};
use yijian_domain::comment::Channel;
use yijian_domain::consultation::Consultation;
use yijian_domain::review::{Disposition, Moderation, ModerationFilter, QueueFilter, ReviewAction, ReviewStatus};
use yijian_formats::Format;
use yijian_store::{Store, StoreOptions, Target};
use yijian_testkit::PgDatabase;
use yijian_testkit::synthetic::{CommentGenerator, Rng};

const PAGE: usize = 50;
/// What the web queue asks the index for (`yijian_web::review::SEARCH_CAP`).
const SEARCH_CAP: usize = 10_000;
const DEEP_PAGES: usize = 20;
const TARGET_QUERY_P99_MS: f64 = 100.0;
const TARGET_CSV_S: f64 = 30.0;
const TARGET_XLSX_S: f64 = 120.0;

// ------------------------------------------------------------------------------------------
// Arguments
// ------------------------------------------------------------------------------------------

struct Args {
    n: u64,
    database: Option<String>,
    rounds: usize,
    in_flight: usize,
    keep: bool,
    explain: bool,
    /// A work directory kept by an earlier run: no seeding, review or indexing.
    reuse: Option<PathBuf>,
    /// Phases left out: queue, export (or csv, xlsx, jsonl), report, dashboard.
    skip: Vec<String>,
    /// Opinions to seed instead of generated ones.
    opinions: Option<PathBuf>,
    /// Stop after seeding, keeping the work directory.
    seed_only: bool,
}

fn args() -> Args {
    let mut a = Args {
        n: 1_000_000,
        database: None,
        rounds: 40,
        in_flight: 256,
        keep: false,
        explain: false,
        reuse: None,
        skip: vec![],
        opinions: None,
        seed_only: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().unwrap_or_else(|| usage(&format!("{name} needs a value")));
        match arg.as_str() {
            "--n" => a.n = value("--n").replace('_', "").parse().unwrap_or_else(|_| usage("bad --n")),
            "--database" => a.database = Some(value("--database")),
            "--rounds" => a.rounds = value("--rounds").parse().unwrap_or_else(|_| usage("bad --rounds")),
            "--in-flight" => a.in_flight = value("--in-flight").parse().unwrap_or_else(|_| usage("bad --in-flight")),
            "--keep" => a.keep = true,
            "--explain" => a.explain = true,
            "--reuse" => a.reuse = Some(PathBuf::from(value("--reuse"))),
            "--skip" => a.skip = value("--skip").split(',').map(|s| s.trim().to_string()).collect(),
            "--opinions" => a.opinions = Some(PathBuf::from(value("--opinions"))),
            "--seed-only" => a.seed_only = true,
            "-h" | "--help" => usage(""),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    a.in_flight = a.in_flight.max(1);
    a
}

fn usage(problem: &str) -> ! {
    if !problem.is_empty() {
        eprintln!("review_bench: {problem}");
    }
    eprintln!(
        "usage: review_bench [--n 1000000] [--database postgres://USER@HOST:PORT/DB] [--rounds 40] \
         [--in-flight 256] [--keep] [--explain] [--reuse DIR] \
         [--skip queue,export,csv,xlsx,jsonl,report,suggest,themes,dashboard] [--opinions FILE.jsonl] [--seed-only]"
    );
    std::process::exit(2)
}

// ------------------------------------------------------------------------------------------
// Timing
// ------------------------------------------------------------------------------------------

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1000.0
}

/// Latencies by kind, in the order kinds were first seen.
#[derive(Default)]
struct Samples {
    order: Vec<String>,
    by_kind: BTreeMap<String, Vec<Duration>>,
}

impl Samples {
    fn add(&mut self, kind: &str, d: Duration) {
        if !self.by_kind.contains_key(kind) {
            self.order.push(kind.to_string());
        }
        self.by_kind.entry(kind.to_string()).or_default().push(d);
    }

    /// Prints one line per kind; returns the worst p99.
    fn print(&mut self, title: &str) -> f64 {
        println!("{title}");
        let mut worst: f64 = 0.0;
        for kind in &self.order {
            let v = self.by_kind.get_mut(kind).expect("kind recorded");
            v.sort();
            let p99 = percentile(v, 99.0);
            worst = worst.max(p99);
            println!(
                "  {} n={:<5} p50 {:>8.2} ms  p95 {:>8.2} ms  p99 {:>8.2} ms  max {:>8.2} ms",
                pad(kind, 40),
                v.len(),
                percentile(v, 50.0),
                percentile(v, 95.0),
                p99,
                percentile(v, 100.0)
            );
        }
        worst
    }

    fn all(&self) -> Vec<Duration> {
        let mut all: Vec<Duration> = self.by_kind.values().flatten().copied().collect();
        all.sort();
        all
    }
}

/// Left-aligns text with wide (CJK) characters counted as two columns.
fn pad(s: &str, width: usize) -> String {
    let w: usize = s.chars().map(|c| if (c as u32) >= 0x2E80 { 2 } else { 1 }).sum();
    let mut out = s.to_string();
    for _ in w..width {
        out.push(' ');
    }
    out
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

// ------------------------------------------------------------------------------------------
// Main
// ------------------------------------------------------------------------------------------

fn random_suffix() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let mut r = Rng::new(nanos as u64 ^ ((std::process::id() as u64) << 32));
    format!("{:08x}", r.next_u64() as u32)
}

/// A point `frac` of the way through the seeding.
fn at(t0: Timestamp, t1: Timestamp, frac: f64) -> Timestamp {
    let span = (t1.as_microsecond() - t0.as_microsecond()) as f64;
    Timestamp::from_microsecond(t0.as_microsecond() + (span * frac) as i64).expect("in range")
}

#[tokio::main]
async fn main() {
    let args = args();
    let suffix = random_suffix();
    if let Some(dir) = &args.reuse {
        if !dir.join("search").is_dir() {
            usage(&format!("--reuse {}: not a directory kept by --keep (no search index in it)", dir.display()));
        }
        if args.database.is_none() && !dir.join("data/yijian.sqlite3").is_file() {
            usage(&format!(
                "--reuse {}: no SQLite database in it; a PostgreSQL run also needs --database URL",
                dir.display()
            ));
        }
    }
    let work = args.reuse.clone().unwrap_or_else(|| std::env::temp_dir().join(format!("yijian-review-bench-{suffix}")));
    std::fs::create_dir_all(&work).expect("work directory");
    let keep = args.keep || args.reuse.is_some();

    // A fresh PostgreSQL database beside the one named (or, with --reuse, the one named), or
    // SQLite in the work directory.
    let fresh_pg = match (&args.database, &args.reuse) {
        (Some(url), None) => Some(
            PgDatabase::create_beside(url, &format!("yijian_bench_{suffix}")).await.unwrap_or_else(|e| panic!("{e}")),
        ),
        _ => None,
    };
    let database_url = fresh_pg.as_ref().map(|db| db.url.clone()).or_else(|| args.database.clone());
    let backend_name = if database_url.is_some() { "postgresql" } else { "sqlite" };
    println!(
        "== review_bench: {} comments on {backend_name}, work dir {} ({} cores)",
        if args.reuse.is_some() { "the kept".to_string() } else { args.n.to_string() },
        work.display(),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    let opts = StoreOptions { database_url: database_url.clone(), ..StoreOptions::new(work.join("data")) };
    let store = Store::open(&opts).await.expect("open the store");

    let mut file = yijian_domain::file::parse(include_str!("../../../demo/ln-hrss-ai-2025.md")).expect("demo parses");
    let cid = file.meta.id.clone();
    let index_dir = work.join("search");
    let (t0, t1, seed_secs, index_secs, index) = if args.reuse.is_none() {
        let now = Timestamp::now();
        file.meta.reschedule_from(now, 30);
        store.import_consultation(&file, true, now).await.expect("import the demo");
        let consultation = store.consultation(&cid).await.expect("read the consultation").expect("imported");

        // 1. Seeding.
        let (t0, t1, seed_secs) = seed(&store, &consultation, &file.meta.positions, &args).await;
        let stored = store.count_comments(&cid).await.expect("count");
        println!("seeded {stored} comments in {seed_secs:.1} s: {:.0} comments/s", stored as f64 / seed_secs);
        if args.seed_only {
            store.close().await;
            println!("kept {}", work.display());
            return;
        }

        // 2. Review, as staff would: filtered bulk actions.
        let started = Instant::now();
        let changes = review(&store, &cid, &file.meta.positions, t0, t1).await;
        println!("reviewed in {:.1} s: {changes}", started.elapsed().as_secs_f64());
        // A production PostgreSQL runs autovacuum, which gathers the planner's statistics and
        // clears the dead rows the review's updates left; a test server may have it off.
        if database_url.is_some() {
            let started = Instant::now();
            // Each alone, as the simple query it must be (VACUUM runs outside a transaction).
            for vacuum in
                ["VACUUM (ANALYZE) comments", "VACUUM (ANALYZE) comment_articles", "VACUUM (ANALYZE) comment_tags"]
            {
                if let Err(e) = sqlx::raw_sql(vacuum).execute(store.pool()).await {
                    eprintln!("{vacuum} failed: {e}");
                }
            }
            println!(
                "VACUUM (ANALYZE) in {:.1} s (standing in for autovacuum, which this server may have off)",
                started.elapsed().as_secs_f64()
            );
        }

        // 3. The search index.
        let index = SearchIndex::open(&index_dir).expect("open the index");
        let mut writer = index.writer().expect("index writer");
        let started = Instant::now();
        let indexed = yijian_app::indexing::rebuild(&store, &mut writer, |_| {}).await.expect("rebuild the index");
        let index_secs = started.elapsed().as_secs_f64();
        drop(writer);
        println!("indexed {indexed} comments in {index_secs:.1} s: {:.0} comments/s", indexed as f64 / index_secs);
        (t0, t1, seed_secs, index_secs, index)
    } else {
        // The intake period, from the oldest and the newest comment.
        let oldest = store.comments_page(&cid, 0, 1).await.expect("oldest");
        let newest = store.queue(&cid, &QueueFilter::default(), None, None, 1).await.expect("newest");
        let (Some(first), Some(last)) = (oldest.first(), newest.items.first()) else { panic!("no comments to reuse") };
        let index = SearchIndex::open(&index_dir).expect("open the index");
        (first.submitted_at, last.submitted_at, f64::NAN, f64::NAN, index)
    };
    let consultation = store.consultation(&cid).await.expect("read the consultation").expect("imported");
    let stored = store.count_comments(&cid).await.expect("count");

    // 4. The queue and search.
    let kinds = filter_kinds(&file.meta.positions, t0, t1);
    let mut samples = Samples::default();
    let mut search_parts = Samples::default();
    let mut queue_secs = 0.0;
    if !args.skip.iter().any(|s| s == "queue") {
        // One unmeasured round first: a running server's caches are warm.
        queue_round(&store, &index, &cid, &kinds, 0, true, &mut Samples::default(), &mut Samples::default()).await;
        let started = Instant::now();
        for round in 0..args.rounds {
            queue_round(&store, &index, &cid, &kinds, round, round % 8 == 0, &mut samples, &mut search_parts).await;
        }
        queue_secs = started.elapsed().as_secs_f64();
    }
    println!();
    let worst = samples.print(&format!("queue and search over {stored} comments, page {PAGE}, one request at a time:"));
    let all = samples.all();
    println!(
        "  {} n={:<5} p50 {:>8.2} ms  p95 {:>8.2} ms  p99 {:>8.2} ms  max {:>8.2} ms   ({queue_secs:.1} s)",
        pad("OVERALL", 40),
        all.len(),
        percentile(&all, 50.0),
        percentile(&all, 95.0),
        percentile(&all, 99.0),
        percentile(&all, 100.0)
    );
    search_parts.print("search, split (not in OVERALL):");
    let overall_p99 = percentile(&all, 99.0);

    // 5. Exports, the report, the dashboard.
    println!();
    let mut export_secs = BTreeMap::new();
    for format in [Format::Csv, Format::Xlsx, Format::Jsonl] {
        if args.skip.iter().any(|s| s == "export" || s == format.as_str()) {
            continue;
        }
        let path = work.join(format!("export.{}", format.extension()));
        let req = ExportRequest { format, include_personal_data: false, reason: None, actor: "bench".into() };
        let started = Instant::now();
        let rows = match export_consultation(&store, &consultation, &path, &req, jiff::Timestamp::now(), |_| {}).await {
            Ok(rows) => rows,
            Err(e) => {
                println!("export {:<5} FAILED: {e}", format.as_str());
                continue;
            }
        };
        let secs = started.elapsed().as_secs_f64();
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        println!(
            "export {:<5} {rows} rows in {secs:>6.1} s: {:>7.0} rows/s, {:.0} MB",
            format.as_str(),
            rows as f64 / secs,
            size as f64 / 1e6
        );
        export_secs.insert(format.as_str(), secs);
        let _ = std::fs::remove_file(&path);
    }
    let mut report_secs = f64::NAN;
    if !args.skip.iter().any(|s| s == "report") {
        let started = Instant::now();
        let report = yijian_app::report::build(&store, &consultation, "").await.expect("report");
        report_secs = started.elapsed().as_secs_f64();
        println!(
            "report build: {report_secs:.1} s ({} comments in the figures, {} spam left out)",
            report.comments, report.left_out_spam
        );
    }
    // Issue 14: article suggestions for every comment, and the themes, end to end through the
    // application layer (reads, the analysis, the writes), with the process's peak memory.
    let (mut suggest_secs, mut themes_secs) = (f64::NAN, f64::NAN);
    if !args.skip.iter().any(|s| s == "suggest") || !args.skip.iter().any(|s| s == "themes") {
        let app = yijian_app::App::new(store.clone(), yijian_app::AppOptions::default());
        if !args.skip.iter().any(|s| s == "suggest") {
            let o = app.suggest_articles(&consultation).await.expect("suggest articles");
            suggest_secs = o.seconds;
            println!(
                "articles suggest: {} comments, {} given a suggestion, in {:.1} s ({:.0} µs a comment), peak RSS {} MB",
                o.comments,
                o.suggested,
                o.seconds,
                o.seconds * 1e6 / o.comments.max(1) as f64,
                peak_rss_mb()
            );
        }
        if !args.skip.iter().any(|s| s == "themes") {
            let o = app.build_themes("bench", &consultation, Timestamp::now()).await.expect("build themes");
            themes_secs = o.seconds;
            println!(
                "themes build: {} comments, {} themes, in {:.1} s, peak RSS {} MB",
                o.comments,
                o.themes,
                o.seconds,
                peak_rss_mb()
            );
        }
    }
    let mut dashboard_ms = f64::NAN;
    if !args.skip.iter().any(|s| s == "dashboard") {
        let started = Instant::now();
        store.dashboard(&cid, 8 * 3600).await.expect("dashboard");
        dashboard_ms = ms(started.elapsed());
        println!("dashboard figures: {dashboard_ms:.0} ms");
    }

    if args.explain {
        println!();
        explain(&store, &index, &cid, &kinds).await;
    }

    println!();
    let verdict = |value: f64, ok: bool| match (value.is_nan(), ok) {
        (true, _) => "not run",
        (false, true) => "met",
        (false, false) => "MISSED",
    };
    let csv = export_secs.get("csv").copied().unwrap_or(f64::NAN);
    let xlsx = export_secs.get("xlsx").copied().unwrap_or(f64::NAN);
    let worst_or_nan = if all.is_empty() { f64::NAN } else { worst };
    println!(
        "target: queue/search p99 < {TARGET_QUERY_P99_MS} ms: overall {overall_p99:.1} ms, worst kind {worst:.1} ms: {}",
        verdict(worst_or_nan, worst < TARGET_QUERY_P99_MS)
    );
    println!("target: CSV export < {TARGET_CSV_S} s: {csv:.1} s: {}", verdict(csv, csv < TARGET_CSV_S));
    println!("target: XLSX export < {TARGET_XLSX_S} s: {xlsx:.1} s: {}", verdict(xlsx, xlsx < TARGET_XLSX_S));
    println!(
        "SUMMARY backend={backend_name} comments={stored} seed_per_s={:.0} index_s={index_secs:.1} \
         query_p50_ms={:.2} query_p99_ms={overall_p99:.2} worst_kind_p99_ms={worst:.2} csv_s={csv:.1} \
         xlsx_s={xlsx:.1} jsonl_s={:.1} report_s={report_secs:.1} dashboard_ms={dashboard_ms:.0} \
         suggest_s={suggest_secs:.1} themes_s={themes_secs:.1}",
        stored as f64 / seed_secs,
        percentile(&all, 50.0),
        export_secs.get("jsonl").copied().unwrap_or(f64::NAN),
    );

    drop(index);
    store.close().await;
    match fresh_pg {
        Some(db) if keep => println!("kept database {}", db.keep()),
        db => drop(db),
    }
    if keep {
        let database = database_url.map(|url| format!(" --database {url}")).unwrap_or_default();
        println!("kept {} (run again on it with --reuse {}{database})", work.display(), work.display());
    } else {
        let _ = std::fs::remove_dir_all(&work);
    }
}

/// Submits the comments from many tasks at once; returns when the first and last were
/// submitted, and the seconds it took.
async fn seed(store: &Store, c: &Consultation, positions: &[String], args: &Args) -> (Timestamp, Timestamp, f64) {
    let today = jiff::Zoned::now().date();
    let generator = Arc::new(CommentGenerator {
        consultation_id: c.meta.id.clone(),
        version: c.version,
        positions: positions.to_vec(),
        id_number: yijian_domain::validate::id_number("11010519491231002X", today).expect("valid ID number"),
        phone: yijian_domain::validate::phone("13800138000").expect("valid phone"),
    });
    let opinions: Arc<Vec<String>> = Arc::new(match &args.opinions {
        Some(path) => std::fs::read_to_string(path)
            .unwrap_or_else(|e| usage(&format!("--opinions {}: {e}", path.display())))
            .lines()
            .map(|line| {
                let v: serde_json::Value =
                    serde_json::from_str(line).unwrap_or_else(|e| usage(&format!("--opinions: {e}")));
                v["text"].as_str().unwrap_or_else(|| usage("--opinions: a line without `text`")).to_string()
            })
            .collect(),
        None => vec![],
    });
    let next = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let n = args.n;
    let t0 = Timestamp::now();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..args.in_flight {
        let (store, generator, next, done) = (store.clone(), generator.clone(), next.clone(), done.clone());
        let opinions = opinions.clone();
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let mut comment = generator.comment(i);
                if !opinions.is_empty() {
                    comment.opinion = opinions[i as usize % opinions.len()].clone();
                }
                store.submit_comment(&comment, jiff::Timestamp::now()).await.expect("submit a comment");
                done.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    let progress = {
        let done = done.clone();
        tokio::spawn(async move {
            let mut last = (0u64, Instant::now());
            loop {
                tokio::time::sleep(Duration::from_secs(15)).await;
                let d = done.load(Ordering::Relaxed);
                let now = Instant::now();
                let rate = (d - last.0) as f64 / now.duration_since(last.1).as_secs_f64();
                println!("  seeding: {d} of {n} ({rate:.0}/s now)");
                let _ = std::io::stdout().flush();
                last = (d, now);
            }
        })
    };
    while let Some(r) = tasks.join_next().await {
        r.expect("seeding task");
    }
    progress.abort();
    (t0, Timestamp::now(), started.elapsed().as_secs_f64())
}

/// Bulk actions over filters, as a review team works: each position's comments disposed over
/// 30% of the intake period (windows staggered by position, a disposition per quarter of the
/// window), 2% marked spam, some duplicates, two tags.
async fn review(store: &Store, cid: &str, positions: &[String], t0: Timestamp, t1: Timestamp) -> String {
    const REASONS: [&str; 4] = [
        "已在第五条中增加相关表述。",
        "部分吸收，已在实施细则中予以考虑。",
        "与国家现行政策不一致，暂不采纳。",
        "不属于本措施调整范围，已转有关部门研究。",
    ];
    let now = Timestamp::now();
    let mut disposed = 0u64;
    for (p, position) in positions.iter().enumerate() {
        let base = p as f64 / positions.len() as f64 * 0.7;
        for q in 0..4 {
            let d = Disposition::ALL[(p + q) % 4];
            let filter = QueueFilter {
                position: Some(position.clone()),
                from: Some(at(t0, t1, base + q as f64 * 0.075)),
                until: Some(at(t0, t1, base + (q + 1) as f64 * 0.075)),
                ..QueueFilter::default()
            };
            let action = ReviewAction::Dispose(Some(d), REASONS[d as usize].to_string());
            disposed += store
                .apply_review("reviewer", cid, Target::Filtered { filter: &filter, ids: None }, &action, now)
                .await
                .expect("dispose");
        }
    }
    let mark = |channel: Channel, from: f64, until: f64| QueueFilter {
        channel: Some(channel),
        from: Some(at(t0, t1, from)),
        until: Some(at(t0, t1, until)),
        ..QueueFilter::default()
    };
    let spam = store
        .apply_review(
            "reviewer",
            cid,
            Target::Filtered { filter: &mark(Channel::Api, 0.4, 0.6), ids: None },
            &ReviewAction::Moderate(Some(Moderation::Spam), "广告内容".into()),
            now,
        )
        .await
        .expect("spam");
    let duplicates = store
        .apply_review(
            "reviewer",
            cid,
            Target::Filtered { filter: &mark(Channel::Manual, 0.1, 0.3), ids: None },
            &ReviewAction::Moderate(Some(Moderation::Duplicate), "与网上提交重复".into()),
            now,
        )
        .await
        .expect("duplicates");
    let students =
        QueueFilter { position: Some("学生".into()), until: Some(at(t0, t1, 0.5)), ..QueueFilter::default() };
    let tag_jobs = store
        .apply_review(
            "reviewer",
            cid,
            Target::Filtered { filter: &students, ids: None },
            &ReviewAction::AddTag("就业".into()),
            now,
        )
        .await
        .expect("tag");
    let article5 = QueueFilter { article: Some(5), from: Some(at(t0, t1, 0.5)), ..QueueFilter::default() };
    let tag_training = store
        .apply_review(
            "reviewer",
            cid,
            Target::Filtered { filter: &article5, ids: None },
            &ReviewAction::AddTag("培训".into()),
            now,
        )
        .await
        .expect("tag");
    format!(
        "{disposed} disposed, {spam} spam, {duplicates} duplicates, {tag_jobs} tagged 就业, {tag_training} tagged 培训"
    )
}

/// The filters measured, by name.
fn filter_kinds(positions: &[String], t0: Timestamp, t1: Timestamp) -> Vec<(&'static str, QueueFilter)> {
    assert!(positions.iter().any(|p| p == "教师"), "the demo offers 教师");
    let d = QueueFilter::default;
    let teacher = || Some("教师".to_string());
    vec![
        ("none", d()),
        ("status=received", QueueFilter { status: Some(ReviewStatus::Received), ..d() }),
        ("article=3", QueueFilter { article: Some(3), ..d() }),
        ("position=教师", QueueFilter { position: teacher(), ..d() }),
        ("channel=manual", QueueFilter { channel: Some(Channel::Manual), ..d() }),
        ("disposition=adopted", QueueFilter { disposition: Some(Disposition::Adopted), ..d() }),
        ("moderation=spam", QueueFilter { moderation: Some(ModerationFilter::Is(Moderation::Spam)), ..d() }),
        (
            "date range (10% of intake)",
            QueueFilter { from: Some(at(t0, t1, 0.45)), until: Some(at(t0, t1, 0.55)), ..d() },
        ),
        ("article=3+position=教师", QueueFilter { article: Some(3), position: teacher(), ..d() }),
        ("tag=就业", QueueFilter { tag: Some("就业".into()), ..d() }),
        // Combinations a reviewer is likely to use as well.
        (
            "status=received+position=教师",
            QueueFilter { status: Some(ReviewStatus::Received), position: teacher(), ..d() },
        ),
        ("status=disposed", QueueFilter { status: Some(ReviewStatus::Disposed), ..d() }),
        ("moderation=none", QueueFilter { moderation: Some(ModerationFilter::Unmarked), ..d() }),
        (
            "disposition=adopted+article=3",
            QueueFilter { disposition: Some(Disposition::Adopted), article: Some(3), ..d() },
        ),
    ]
}

/// Common, multi-word, phrase, rare and absent searches.
const SEARCHES: [&str; 10] = [
    "人工智能",
    "就业",
    "高校毕业生",
    "职业技能 培训",
    "社保",
    "算力",
    "平台 劳动者",
    "“职业技能等级认定”",
    "鞍山",
    "量子纠缠",
];

/// Deep keyset walks are done for these filters.
const DEEP: [&str; 3] = ["none", "status=received", "position=教师"];

#[allow(clippy::too_many_arguments)]
async fn queue_round(
    store: &Store,
    index: &SearchIndex,
    cid: &str,
    kinds: &[(&'static str, QueueFilter)],
    round: usize,
    deep: bool,
    samples: &mut Samples,
    parts: &mut Samples,
) {
    for (name, filter) in kinds {
        let started = Instant::now();
        let page = store.queue(cid, filter, None, None, PAGE).await.expect("queue");
        samples.add(name, started.elapsed());
        if deep && DEEP.contains(name) {
            let mut before = page.next_before;
            for _ in 0..DEEP_PAGES {
                let Some(b) = before else { break };
                let started = Instant::now();
                let page = store.queue(cid, filter, None, Some(b), PAGE).await.expect("queue");
                samples.add(&format!("deep pages 2–21, {name}"), started.elapsed());
                before = page.next_before;
            }
        }
    }
    // Five of the ten searches each round, in turn; one with a status filter too.
    for k in 0..5 {
        let q = SEARCHES[(round * 5 + k) % SEARCHES.len()];
        let filter = QueueFilter { text: Some(q.to_string()), ..QueueFilter::default() };
        search(store, index, cid, q, &filter, "search", samples, parts).await;
    }
    let q = SEARCHES[round % 7];
    let filter =
        QueueFilter { text: Some(q.to_string()), status: Some(ReviewStatus::Received), ..QueueFilter::default() };
    search(store, index, cid, q, &filter, "search+status=received", samples, parts).await;
}

#[allow(clippy::too_many_arguments)]
async fn search(
    store: &Store,
    index: &SearchIndex,
    cid: &str,
    q: &str,
    filter: &QueueFilter,
    kind: &str,
    samples: &mut Samples,
    parts: &mut Samples,
) {
    let started = Instant::now();
    let (index, id, text) = (index.clone(), cid.to_string(), q.to_string());
    // As the web queue does it: the index off the async threads, then the queue narrowed to the hits.
    let hits = tokio::task::spawn_blocking(move || index.search(&id, &text, SEARCH_CAP))
        .await
        .expect("search thread")
        .expect("search");
    let searched = started.elapsed();
    store.queue(cid, filter, Some(&hits.ids), None, PAGE).await.expect("queue");
    let total = started.elapsed();
    samples.add(kind, total);
    parts.add(&format!("{kind}: index.search (cap {SEARCH_CAP})"), searched);
    parts.add(&format!("{kind}: queue over the hits"), total - searched);
    parts.add(&format!("  {kind} “{q}” ({} hits)", hits.total), total);
}

// ------------------------------------------------------------------------------------------
// Diagnosis
// ------------------------------------------------------------------------------------------

/// Prints each filter's count and page statements as `Store::queue` builds them, their plans,
/// and how long each takes, run through the store's own pool: on SQLite that is the SQLite sqlx
/// bundles, which may plan differently from an older `sqlite3` command.
async fn explain(store: &Store, index: &SearchIndex, cid: &str, kinds: &[(&'static str, QueueFilter)]) {
    let hits = index.search(cid, "人工智能", SEARCH_CAP).expect("search");
    let search_filter = QueueFilter::default();
    let received = QueueFilter { status: Some(ReviewStatus::Received), ..QueueFilter::default() };
    let mut all: Vec<(&str, &QueueFilter, Option<&[i64]>)> = kinds.iter().map(|(n, f)| (*n, f, None)).collect();
    all.push(("search 人工智能 (queue over 10,000 hits)", &search_filter, Some(&hits.ids)));
    all.push(("search 人工智能+status=received", &received, Some(&hits.ids)));
    for (name, f, ids) in all {
        println!("-- {name}");
        match store.explain_queue(cid, f, ids, PAGE).await {
            Ok(text) => print!("{text}"),
            Err(e) => println!("  EXPLAIN failed: {e}"),
        }
    }
}

/// The process's peak resident memory (VmHWM), in MB; 0 where /proc is not there.
fn peak_rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:").map(|v| v.trim().trim_end_matches(" kB").trim().to_string()))
        })
        .and_then(|kb| kb.parse::<u64>().ok())
        .map(|kb| kb / 1024)
        .unwrap_or(0)
}
