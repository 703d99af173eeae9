//! Indexing throughput and search latency of the comment index at scale. Not a test, and not run in CI.
//!
//! ```text
//! cargo run --release -p yijian-analysis --example search_bench -- [--n 1000000] [--queries 2000] [--dir PATH]
//! ```
//!
//! Builds an index of `--n` synthetic opinions (Chinese text sampled from a vocabulary about AI, employment and social
//! security, 20–500 characters, spread over three consultations) in a temporary directory, or in `--dir` if given
//! (which is then kept), committing every 100,000 comments as a rebuild would. Then runs `--queries` searches with
//! limit 50 over a mix of common, rare, multi-word, phrase and no-hit queries and prints latency percentiles. The
//! target is a p99 under 100 ms at a million comments.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use yijian_analysis::{IndexedComment, SearchIndex};

const CONSULTATIONS: [&str; 3] = ["2025-ai-employment", "2025-vocational-skills", "2025-platform-workers"];
const BATCH: usize = 10_000;
const COMMIT_EVERY: usize = 100_000;
const LIMIT: usize = 50;

/// Openers and connectives: frequent in every opinion, as in real comments.
const OPENERS: &[&str] = &[
    "建议",
    "我认为",
    "希望",
    "对于第三条，",
    "关于征求意见稿，",
    "作为一名普通劳动者，",
    "作为高校教师，",
    "作为企业人力资源负责人，",
    "从基层实践看，",
    "强烈建议",
    "个人意见：",
    "另外，",
];

/// Clauses by topic, the first of each list more common than the last.
const TOPICS: &[&[&str]] = &[
    &[
        "加强人工智能就业培训",
        "推动人工智能与实体经济深度融合",
        "防范人工智能替代岗位带来的结构性失业",
        "明确生成式人工智能服务提供者的责任",
        "建立人工智能伦理审查机制",
        "对算法歧视进行有效监管",
        "保障劳动者在算法管理下的知情权",
        "鼓励企业用人工智能提升生产效率而不是简单裁员",
        "大模型训练数据的来源应当公开透明",
        "人工智能生成内容应当显著标识",
    ],
    &[
        "支持高校毕业生就业",
        "扩大高校毕业生基层就业项目规模",
        "完善就业见习补贴政策",
        "对吸纳高校毕业生的中小企业给予社保补贴",
        "加强就业困难人员帮扶",
        "稳定就业岗位是民生之本",
        "促进青年群体高质量充分就业",
        "就业服务要下沉到社区和乡村",
        "打击招聘中的性别歧视和年龄歧视",
        "延长失业保险金领取期限",
    ],
    &[
        "大力发展职业技能培训",
        "推行终身职业技能培训制度",
        "职业技能等级认定要与薪酬待遇挂钩",
        "培训补贴发放流程应当简化",
        "鼓励企业开展新型学徒制培训",
        "职业院校课程应当跟上产业变化",
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
        "平台经济健康发展离不开劳动者权益保护",
    ],
    &[
        "加快全国一体化算力网络建设",
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
        "养老保险全国统筹要加快推进",
        "医疗保险异地就医直接结算范围应当扩大",
        "职业伤害保障试点应当尽快扩大到全国",
    ],
];

/// Closing remarks, again common to many opinions.
const CLOSINGS: &[&str] =
    &["以上意见供参考。", "请予以采纳。", "谢谢！", "望有关部门重视。", "具体可参考地方试点经验。", "此致敬礼。"];

/// Words that occur in few comments: place names, each in a few comments in ten thousand.
const RARE: &[&str] = &[
    "黔东南",
    "喀什",
    "鄂尔多斯",
    "潍坊",
    "景德镇",
    "遵义",
    "雄安新区",
    "横琴",
    "克拉玛依",
    "日喀则",
    "义乌",
    "德州",
    "攀枝花",
    "鹤岗",
    "齐齐哈尔",
    "防城港",
    "张家界",
    "三沙",
    "阿勒泰",
    "嘉峪关",
];

/// Never generated.
const ABSENT: &[&str] = &["量子纠缠", "火星殖民", "恐龙化石", "马拉松", "围棋", "区块链挖矿", "长颈鹿", "芭蕾舞"];

/// splitmix64: deterministic, good enough, no dependency.
struct Rng(u64);

impl Rng {
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

fn opinion(rng: &mut Rng) -> String {
    // Lengths 20..=500, most of them short: like real comments, a few long letters among many one-liners.
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
        // Mostly on one topic, sometimes straying.
        let topic = if rng.below(4) == 0 { rng.below(TOPICS.len()) } else { main_topic };
        sentence.push_str(rng.skewed(TOPICS[topic]));
        if rng.below(2_000) == 0 {
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
    text.chars().take(target.max(20)).collect()
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Common,
    Rare,
    MultiWord,
    Phrase,
    NoHit,
}

const KINDS: [Kind; 5] = [Kind::Common, Kind::Rare, Kind::MultiWord, Kind::Phrase, Kind::NoHit];

fn query(rng: &mut Rng) -> (Kind, String) {
    const COMMON: &[&str] =
        &["就业", "人工智能", "培训", "建议", "平台", "社保", "算力", "毕业生", "职业技能", "劳动者", "保险", "AI"];
    const MEDIUM: &[&str] =
        &["骑手", "学徒制", "伦理", "数据中心", "年龄歧视", "工伤保险", "异地就医", "大模型", "网约车", "见习"];
    match rng.below(20) {
        0..=6 => (Kind::Common, rng.pick(COMMON).to_owned()),
        7..=9 => (Kind::Rare, rng.pick(RARE).to_owned()),
        10..=14 => {
            let n = 2 + rng.below(2);
            let words: Vec<&str> =
                (0..n).map(|_| if rng.below(2) == 0 { rng.pick(COMMON) } else { rng.pick(MEDIUM) }).collect();
            (Kind::MultiWord, words.join(" "))
        }
        15..=16 => {
            let topic = TOPICS[rng.below(TOPICS.len())];
            let clause: String = rng.pick(topic).chars().take(6).collect();
            (Kind::Phrase, format!("\"{clause}\""))
        }
        _ => {
            let absent = rng.pick(ABSENT);
            if rng.below(2) == 0 {
                (Kind::NoHit, absent.to_owned())
            } else {
                (Kind::NoHit, format!("{} {absent}", rng.pick(COMMON)))
            }
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1000.0
}

fn report(label: &str, latencies: &mut [Duration]) {
    latencies.sort();
    println!(
        "  {label:<10} n={:<5} p50 {:>7.2} ms  p95 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms",
        latencies.len(),
        percentile(latencies, 50.0),
        percentile(latencies, 95.0),
        percentile(latencies, 99.0),
        latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
    );
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(Result::ok).filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum())
        .unwrap_or(0)
}

struct Args {
    n: usize,
    queries: usize,
    dir: Option<PathBuf>,
}

fn args() -> Args {
    let mut parsed = Args { n: 1_000_000, queries: 2_000, dir: None };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--n" => parsed.n = value().replace('_', "").parse().expect("--n takes a number"),
            "--queries" => parsed.queries = value().parse().expect("--queries takes a number"),
            "--dir" => parsed.dir = Some(PathBuf::from(value())),
            other => panic!("unknown argument {other}; use --n N, --queries Q, --dir PATH"),
        }
    }
    parsed
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = args();
    let temp;
    let dir = match &args.dir {
        Some(dir) => dir.clone(),
        None => {
            temp = tempfile::tempdir()?;
            temp.path().to_path_buf()
        }
    };
    let mut rng = Rng(0x5EED);

    let index = SearchIndex::open(&dir)?;
    let resume = index.high_water();
    if resume > 0 {
        println!("{}: resuming an index that already holds ids up to {resume}", dir.display());
    }
    // Generated up front (a few hundred MB at a million) so that the clock measures indexing alone.
    let generating = Instant::now();
    let comments: Vec<IndexedComment> = ((resume + 1)..=(resume + args.n as i64))
        .map(|id| {
            let consultation = CONSULTATIONS[match rng.below(10) {
                0..=4 => 0,
                5..=7 => 1,
                _ => 2,
            }];
            IndexedComment { id, consultation_id: consultation.to_owned(), text: opinion(&mut rng) }
        })
        .collect();
    let chars: usize = comments.iter().map(|c| c.text.chars().count()).sum();
    println!(
        "generated {} comments ({:.0} characters on average) in {:.1} s",
        comments.len(),
        chars as f64 / comments.len().max(1) as f64,
        generating.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let mut writer = index.writer()?;
    for (i, batch) in comments.chunks(BATCH).enumerate() {
        writer.add(batch)?;
        let added = (i * BATCH + batch.len()).min(comments.len());
        if added.is_multiple_of(COMMIT_EVERY) || added == comments.len() {
            writer.commit(batch.last().map_or(resume, |c| c.id))?;
            eprint!("\r  indexed {added} / {}", comments.len());
        }
    }
    drop(writer);
    let elapsed = started.elapsed();
    eprintln!();
    drop(comments);
    println!(
        "indexed {} comments in {:.1} s, {:.0} docs/s (batches of {BATCH}, a commit every {COMMIT_EVERY})",
        args.n,
        elapsed.as_secs_f64(),
        args.n as f64 / elapsed.as_secs_f64(),
    );
    let segments = tantivy::Index::open_in_dir(&dir)?.searchable_segment_ids()?.len();
    println!(
        "index on disk: {:.1} MiB in {segments} segments ({:.0} bytes per comment); high water {}",
        dir_size(&dir) as f64 / (1024.0 * 1024.0),
        dir_size(&dir) as f64 / (resume as f64 + args.n as f64).max(1.0),
        index.high_water()
    );

    // Reopen, as the server would after a rebuild.
    drop(index);
    let index = SearchIndex::open(&dir)?;
    let mut queries: Vec<(Kind, String, &str)> = (0..args.queries)
        .map(|_| {
            let (kind, q) = query(&mut rng);
            (kind, q, CONSULTATIONS[rng.below(CONSULTATIONS.len())])
        })
        .collect();
    // A stress case outside the mix: what a pasted essay costs.
    let essay: String = opinion(&mut Rng(7)).chars().cycle().take(10_000).collect();
    for (_, q, c) in queries.iter().take(100) {
        index.search(c, q, LIMIT)?;
    }
    let mut all = Vec::with_capacity(queries.len());
    let mut by_kind: Vec<Vec<Duration>> = vec![Vec::new(); KINDS.len()];
    let mut totals = vec![0usize; KINDS.len()];
    let search_started = Instant::now();
    for (kind, q, c) in queries.drain(..) {
        let t = Instant::now();
        let hits = index.search(c, &q, LIMIT)?;
        let took = t.elapsed();
        assert!(hits.ids.len() <= LIMIT && hits.ids.is_sorted_by(|a, b| a > b));
        let k = KINDS.iter().position(|x| *x == kind).unwrap_or(0);
        if kind == Kind::NoHit {
            assert_eq!(hits.total, 0, "{q}");
        }
        totals[k] += hits.total;
        by_kind[k].push(took);
        all.push(took);
    }
    let search_elapsed = search_started.elapsed();
    println!(
        "{} searches (limit {LIMIT}, after 100 warm-up) in {:.2} s, one at a time:",
        all.len(),
        search_elapsed.as_secs_f64()
    );
    report("all", &mut all);
    for (k, kind) in KINDS.iter().enumerate() {
        let n = by_kind[k].len().max(1);
        report(&format!("{kind:?}"), &mut by_kind[k]);
        println!("  {:<10} average total matches {:.0}", "", totals[k] as f64 / n as f64);
    }
    let t = Instant::now();
    let hits = index.search(CONSULTATIONS[0], &essay, LIMIT)?;
    println!("a 10,000-character query: {:.2} ms ({} matches)", t.elapsed().as_secs_f64() * 1000.0, hits.total);
    Ok(())
}
