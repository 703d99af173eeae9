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
//! `export`, `csv`, `xlsx`, `jsonl`, `report`, `dashboard`).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use yijian_analysis::SearchIndex;
use yijian_app::export::{ExportRequest, export_consultation};
use yijian_domain::comment::{Channel, NewComment};
use yijian_domain::consultation::Consultation;
use yijian_domain::pii::{IdNumber, PhoneNumber};
use yijian_domain::review::{Disposition, Moderation, ModerationFilter, QueueFilter, ReviewAction, ReviewStatus};
use yijian_formats::Format;
use yijian_store::{Store, StoreOptions, Target};

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
         [--skip queue,export,csv,xlsx,jsonl,report,dashboard]"
    );
    std::process::exit(2)
}

// ------------------------------------------------------------------------------------------
// Synthetic comments
// ------------------------------------------------------------------------------------------

/// splitmix64: deterministic per comment, no dependency.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        let mut r = Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B);
        r.next();
        r
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Skewed towards the start of the list, Zipf-like.
    fn skewed<'a>(&mut self, items: &[&'a str]) -> &'a str {
        let u = self.unit();
        items[((u * u) * items.len() as f64) as usize]
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const OPENERS: &[&str] = &[
    "建议",
    "我认为",
    "希望",
    "关于征求意见稿，",
    "作为一名普通劳动者，",
    "作为高校教师，",
    "作为企业人力资源负责人，",
    "作为一名应届高校毕业生，",
    "从基层实践看，",
    "强烈建议",
    "个人意见：",
    "另外，",
    "针对第三条，",
    "第十二条中",
];

const TOPICS: &[&[&str]] = &[
    &[
        "加强人工智能就业培训",
        "推动人工智能与实体经济深度融合",
        "防范人工智能替代岗位带来的结构性失业",
        "人工智能企业的用工需求应当及时发布",
        "建立人工智能伦理审查机制",
        "对算法歧视进行有效监管",
        "保障劳动者在算法管理下的知情权",
        "鼓励企业用人工智能提升生产效率而不是简单裁员",
        "人工智能训练师等新职业的评价标准应当尽快出台",
        "人工智能生成内容应当显著标识",
    ],
    &[
        "支持高校毕业生到人工智能企业就业",
        "扩大高校毕业生基层就业项目规模",
        "完善就业见习补贴政策",
        "对吸纳高校毕业生的中小企业给予社保补贴",
        "加强就业困难人员帮扶",
        "稳定就业岗位是民生之本",
        "促进青年群体高质量充分就业",
        "就业服务要下沉到社区和乡村",
        "打击招聘中的性别歧视和年龄歧视",
        "受人工智能替代影响的劳动者应当得到转岗培训",
    ],
    &[
        "大力发展职业技能培训",
        "推行终身职业技能培训制度",
        "职业技能等级认定要与薪酬待遇挂钩",
        "培训补贴发放流程应当简化",
        "鼓励企业开展新型学徒制培训",
        "职业院校课程应当跟上人工智能产业变化",
        "加强数字技能培训，提升劳动者数字素养",
        "培训机构的质量需要第三方评估",
        "技能人才的职业发展通道需要打通",
    ],
    &[
        "规范平台企业用工行为",
        "保障外卖骑手和网约车司机的劳动权益",
        "平台抽成比例应当公开并设置上限",
        "新就业形态劳动者应当纳入工伤保险",
        "平台算法不得强制压缩配送时间",
        "建立平台劳动者的申诉渠道",
        "灵活就业人员的劳动报酬应当按时足额支付",
    ],
    &[
        "加快全省算力网络建设",
        "算力资源应当向中小企业和高校开放",
        "合理布局数据中心，降低算力成本",
        "算力基础设施建设要兼顾绿色低碳",
        "推动算力、算法、数据协同发展",
        "公共算力平台的使用费用应当透明",
    ],
    &[
        "完善灵活就业人员社保缴费政策",
        "放开灵活就业人员在就业地参加社会保险的户籍限制",
        "社保关系转移接续要更加便捷",
        "降低社保缴费基数下限，减轻低收入群体负担",
        "职业伤害保障试点应当尽快扩大",
        "人工智能领域高层次人才的社保待遇应当落实",
    ],
];

const CLOSINGS: &[&str] = &[
    "以上意见供参考。",
    "请予以采纳。",
    "谢谢！",
    "望有关部门重视。",
    "具体可参考沈阳、大连的试点经验。",
    "此致敬礼。",
];

/// Place names, each in a few comments in ten thousand: the rare search terms.
const RARE: &[&str] =
    &["鞍山", "抚顺", "本溪", "丹东", "锦州", "营口", "阜新", "辽阳", "铁岭", "朝阳", "盘锦", "葫芦岛"];

const SURNAMES: &[&str] = &["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡"];
const GIVEN: &[&str] =
    &["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明"];

fn opinion(rng: &mut Rng) -> String {
    // 20..=500 characters, most of them short: many one-liners and a few long letters.
    let u = rng.unit();
    let target = 20 + (480.0 * u * u * u) as usize;
    let mut text = String::new();
    let mut chars = 0;
    let main_topic = rng.below(TOPICS.len());
    while chars < target {
        let mut sentence = String::new();
        if rng.below(3) == 0 {
            sentence.push_str(rng.skewed(OPENERS));
        }
        let topic = if rng.below(4) == 0 { rng.below(TOPICS.len()) } else { main_topic };
        sentence.push_str(rng.skewed(TOPICS[topic]));
        if rng.below(1_000) == 0 {
            sentence.push_str("，比如");
            sentence.push_str(rng.pick(RARE));
        }
        sentence.push_str(if rng.below(3) == 0 { "；" } else { "。" });
        if rng.below(6) == 0 {
            sentence.push_str(rng.pick(CLOSINGS));
        }
        chars += sentence.chars().count();
        text.push_str(&sentence);
    }
    text.chars().take(target).collect()
}

struct Generator {
    consultation_id: String,
    version: u32,
    positions: Vec<String>,
    id_number: IdNumber,
    phone: PhoneNumber,
}

impl Generator {
    fn comment(&self, i: u64) -> NewComment {
        let mut rng = Rng::new(i);
        let channel = match rng.below(100) {
            0..85 => Channel::Web,
            85..95 => Channel::Api,
            _ => Channel::Manual,
        };
        let manual = channel == Channel::Manual;
        // Half the online comments carry an ID and a phone number, a fifth of the typed-in letters.
        let personal = rng.below(if manual { 5 } else { 2 }) == 0;
        let mut articles: Vec<u32> = (0..rng.below(4)).map(|_| 1 + rng.below(20) as u32).collect();
        articles.sort_unstable();
        articles.dedup();
        let name = format!(
            "{}{}{}",
            rng.pick(SURNAMES),
            rng.pick(GIVEN),
            if rng.below(2) == 0 { rng.pick(GIVEN) } else { "" }
        );
        NewComment {
            consultation_id: self.consultation_id.clone(),
            version: self.version,
            channel,
            name: Some(name),
            id_number: personal.then(|| self.id_number.clone()),
            position: Some(self.positions[rng.below(self.positions.len())].clone()),
            phone: personal.then(|| self.phone.clone()),
            email: (!manual).then(|| format!("user{i}@example.com")),
            opinion: opinion(&mut rng),
            articles,
            sender: manual.then(|| "录入员甲".to_string()),
            note: manual.then(|| "来信录入".to_string()),
        }
    }
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
// PostgreSQL
// ------------------------------------------------------------------------------------------

/// The parts of `postgres://USER@HOST:PORT/DB` psql needs, and the URL with another database.
struct PgTarget {
    user: String,
    host: String,
    port: String,
    prefix: String,
}

fn pg_target(url: &str) -> PgTarget {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let (authority, _db) = rest.split_once('/').unwrap_or((rest, ""));
    let (userinfo, hostport) = authority.rsplit_once('@').unwrap_or(("postgres", authority));
    let user = userinfo.split(':').next().unwrap_or("postgres").to_string();
    let (host, port) = hostport.split_once(':').unwrap_or((hostport, "5432"));
    let scheme = url.split_once("://").map(|(s, _)| s).unwrap_or("postgres");
    PgTarget { user, host: host.to_string(), port: port.to_string(), prefix: format!("{scheme}://{authority}") }
}

fn psql(pg: &PgTarget, db: &str, sql: &str) -> Result<String, String> {
    let out = std::process::Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", &pg.host, "-p", &pg.port, "-U", &pg.user, "-d", db])
        .args(["-c", sql])
        .output()
        .map_err(|e| format!("psql: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

// ------------------------------------------------------------------------------------------
// Main
// ------------------------------------------------------------------------------------------

fn random_suffix() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let mut r = Rng::new(nanos as u64 ^ ((std::process::id() as u64) << 32));
    format!("{:08x}", r.next() as u32)
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
    let pg = args.database.as_deref().map(pg_target);
    let pg_db = format!("yijian_bench_{suffix}");
    let database_url = match (&pg, &args.reuse) {
        (Some(_), Some(_)) => args.database.clone(),
        (Some(pg), None) => {
            psql(pg, "test", &format!("CREATE DATABASE {pg_db}"))
                .or_else(|_| psql(pg, "postgres", &format!("CREATE DATABASE {pg_db}")))
                .unwrap_or_else(|e| panic!("cannot create database {pg_db}: {e}"));
            Some(format!("{}/{pg_db}", pg.prefix))
        }
        (None, _) => None,
    };
    let pg_db = match (&args.reuse, &args.database) {
        (Some(_), Some(url)) => url.rsplit('/').next().unwrap_or_default().to_string(),
        _ => pg_db,
    };
    let backend_name = if pg.is_some() { "postgresql" } else { "sqlite" };
    println!(
        "== review_bench: {} comments on {backend_name}, work dir {} ({} cores)",
        if args.reuse.is_some() { "the kept".to_string() } else { args.n.to_string() },
        work.display(),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    let opts = StoreOptions { database_url, ..StoreOptions::new(work.join("data")) };
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

        // 2. Review, as staff would: filtered bulk actions.
        let started = Instant::now();
        let changes = review(&store, &cid, &file.meta.positions, t0, t1).await;
        println!("reviewed in {:.1} s: {changes}", started.elapsed().as_secs_f64());
        // A production PostgreSQL runs autovacuum, which gathers the planner's statistics and
        // clears the dead rows the review's updates left; a test server may have it off.
        if let Some(pg) = &pg {
            let started = Instant::now();
            for table in ["comments", "comment_articles", "comment_tags"] {
                if let Err(e) = psql(pg, &pg_db, &format!("VACUUM (ANALYZE) {table}")) {
                    eprintln!("VACUUM (ANALYZE) {table} failed: {e}");
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
         xlsx_s={xlsx:.1} jsonl_s={:.1} report_s={report_secs:.1} dashboard_ms={dashboard_ms:.0}",
        stored as f64 / seed_secs,
        percentile(&all, 50.0),
        export_secs.get("jsonl").copied().unwrap_or(f64::NAN),
    );

    drop(index);
    store.close().await;
    if let Some(pg) = &pg {
        if keep {
            println!("kept database {}/{pg_db}", pg.prefix);
        } else if let Err(e) = psql(pg, "test", &format!("DROP DATABASE {pg_db} WITH (FORCE)"))
            .or_else(|_| psql(pg, "postgres", &format!("DROP DATABASE {pg_db} WITH (FORCE)")))
        {
            eprintln!("could not drop database {pg_db}: {e}");
        }
    }
    if keep {
        let database = pg.as_ref().map(|pg| format!(" --database {}/{pg_db}", pg.prefix)).unwrap_or_default();
        println!("kept {} (run again on it with --reuse {}{database})", work.display(), work.display());
    } else {
        let _ = std::fs::remove_dir_all(&work);
    }
}

/// Submits the comments from many tasks at once; returns when the first and last were
/// submitted, and the seconds it took.
async fn seed(store: &Store, c: &Consultation, positions: &[String], args: &Args) -> (Timestamp, Timestamp, f64) {
    let today = jiff::Zoned::now().date();
    let generator = Arc::new(Generator {
        consultation_id: c.meta.id.clone(),
        version: c.version,
        positions: positions.to_vec(),
        id_number: yijian_domain::validate::id_number("11010519491231002X", today).expect("valid ID number"),
        phone: yijian_domain::validate::phone("13800138000").expect("valid phone"),
    });
    let next = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let n = args.n;
    let t0 = Timestamp::now();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..args.in_flight {
        let (store, generator, next, done) = (store.clone(), generator.clone(), next.clone(), done.clone());
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let comment = generator.comment(i);
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
