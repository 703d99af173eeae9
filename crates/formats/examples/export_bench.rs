//! How long the writing part of a large comment export takes, per format.
//!
//! Writes 1,000,000 rows shaped like real comments (16 columns, opinions of 50–800 Chinese
//! characters) to CSV, JSONL and XLSX in a temporary directory, and prints seconds, rows per
//! second and file size. Not a test: it takes minutes and a few GB of disk.
//!
//! ```text
//! cargo run --release -p yijian-formats --example export_bench [ROWS] [csv|jsonl|xlsx ...]
//! ```
//!
//! `EXPORT_BENCH_DIR` chooses where the files go (default: the system temp directory); they are
//! deleted afterwards unless `EXPORT_BENCH_KEEP` is set.

use std::time::Instant;

use yijian_formats::{ArticleCount, Cell, Column, ExportWriter, Format};

const COLUMNS: &[Column] = &[
    Column { key: "receipt", title: "受理编号" },
    Column { key: "consultation", title: "征求意见事项" },
    Column { key: "version", title: "文本版本" },
    Column { key: "channel", title: "提交渠道" },
    Column { key: "submitted_at", title: "提交时间" },
    Column { key: "name", title: "姓名" },
    Column { key: "position", title: "职业" },
    Column { key: "email", title: "电子邮箱" },
    Column { key: "id_number", title: "身份证号" },
    Column { key: "phone", title: "手机号码" },
    Column { key: "articles", title: "涉及条款" },
    Column { key: "opinion", title: "意见内容" },
    Column { key: "status", title: "状态" },
    Column { key: "moderation", title: "审核" },
    Column { key: "disposition", title: "处理意见" },
    Column { key: "reasoning", title: "理由" },
];

const SENTENCES: &[&str] = &[
    "建议将第十二条中的“七个工作日”修改为“五个工作日”，以提高行政效率。",
    "本条规定的处罚幅度过大，与《中华人民共和国行政处罚法》的相关规定不够衔接。",
    "养犬登记应当允许通过网上办理，减少群众往返跑腿。",
    "对于老年人和残疾人，建议保留线下窗口办理渠道。",
    "第三款“情节严重”的表述不够明确，建议列举具体情形。",
    "社区在日常管理中承担了大量工作，建议明确相应的经费保障。",
    "我作为一名基层网格员，经常遇到此类纠纷，希望条例能给出清晰的处理程序。",
    "建议增加关于信息公开的条款，定期公布执法情况。",
];

const POSITIONS: &[&str] = &[
    "社区工作者（网格员）",
    "律师",
    "教师",
    "医生",
    "企业职工",
    "个体工商户",
    "退休人员",
    "学生",
    "公务员",
    "农民",
    "自由职业者",
    "其他",
];

const SURNAMES: &[&str] = &["张", "王", "李", "赵", "刘", "陈", "杨", "黄", "周", "吴"];
const GIVEN: &[&str] = &["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰"];
const STATUS: &[&str] = &["已受理", "已分类", "已答复"];
const MODERATION: &[&str] = &["通过", "通过", "通过", "待审", "不予公开"];
const DISPOSITION: &[&str] = &["采纳", "部分采纳", "不予采纳", "未处理"];
const CHANNELS: &[&str] = &["网站", "网站", "移动端", "信函", "电子邮件"];

/// xorshift64*: deterministic data without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Phrases for opinions: the hand-written sentences plus thousands of random ones, so the text
/// compresses about as poorly as real, varied comments rather than like eight repeated lines.
fn phrases(rng: &mut Rng) -> Vec<String> {
    let mut phrases: Vec<String> = SENTENCES.iter().map(|s| (*s).to_owned()).collect();
    for _ in 0..4096 {
        let len = 6 + rng.below(24);
        let mut phrase: String = (0..len).filter_map(|_| char::from_u32(0x4E00 + rng.below(3000) as u32)).collect();
        phrase.push(if rng.below(3) == 0 { '。' } else { '，' });
        phrases.push(phrase);
    }
    phrases
}

/// Chinese text of exactly `chars` characters, drawn from the phrases.
fn prose(rng: &mut Rng, phrases: &[String], chars: usize) -> String {
    let mut out = String::with_capacity(chars * 3);
    let mut count = 0;
    while count < chars {
        for c in phrases[rng.below(phrases.len())].chars() {
            if count == chars {
                break;
            }
            out.push(c);
            count += 1;
        }
    }
    out
}

fn row(rng: &mut Rng, phrases: &[String], i: u64) -> Vec<Cell> {
    let articles: Vec<String> = (0..rng.below(4)).map(|_| format!("第{}条", rng.below(40) + 1)).collect();
    let opinion_len = 50 + rng.below(751);
    let disposition = rng.pick(DISPOSITION);
    vec![
        Cell::Text(format!("YJ-2025-{i:07}")),
        Cell::Text("《某市养犬管理条例（征求意见稿）》".to_owned()),
        Cell::Int(1 + (i % 3) as i64),
        Cell::Text(rng.pick(CHANNELS).to_owned()),
        Cell::Text(format!(
            "2025-05-{:02}T{:02}:{:02}:{:02}+08:00",
            1 + i % 30,
            rng.below(24),
            rng.below(60),
            rng.below(60)
        )),
        Cell::Text(format!("{}{}{}", rng.pick(SURNAMES), rng.pick(GIVEN), rng.pick(GIVEN))),
        Cell::Text(rng.pick(POSITIONS).to_owned()),
        Cell::Text(format!("user{}@example.com", rng.next() % 1_000_000)),
        Cell::Text(format!("{:06}********{:04}", 110_000 + rng.below(800_000), rng.below(10_000))),
        Cell::Text(format!("138****{:04}", rng.below(10_000))),
        Cell::List(articles),
        Cell::Text(prose(rng, phrases, opinion_len)),
        Cell::Text(rng.pick(STATUS).to_owned()),
        Cell::Text(rng.pick(MODERATION).to_owned()),
        Cell::Text(disposition.to_owned()),
        if disposition == "未处理" {
            Cell::Null
        } else {
            let len = 20 + rng.below(180);
            Cell::Text(prose(rng, phrases, len))
        },
    ]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let rows: u64 = args.next().map(|n| n.parse()).transpose()?.unwrap_or(1_000_000);
    let formats: Vec<Format> = args.map(|f| f.parse()).collect::<Result<_, _>>()?;
    let formats = if formats.is_empty() { vec![Format::Csv, Format::Jsonl, Format::Xlsx] } else { formats };
    let dir = match std::env::var_os("EXPORT_BENCH_DIR") {
        Some(dir) => tempfile::tempdir_in(dir)?,
        None => tempfile::tempdir()?,
    };
    let articles: Vec<ArticleCount> =
        (1..=40).map(|n| ArticleCount { label: format!("第{n}条"), comments: rows / 20 + n }).collect();

    let phrases = phrases(&mut Rng(0x2545_F491_4F6C_DD1D));
    println!("{rows} rows, {} columns, in {}", COLUMNS.len(), dir.path().display());
    // What making the rows costs by itself, included in each format's time below.
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let started = Instant::now();
    let bytes: usize = (0..rows)
        .map(|i| {
            row(&mut rng, &phrases, i).iter().map(|c| if let Cell::Text(t) = c { t.len() } else { 8 }).sum::<usize>()
        })
        .sum();
    println!("rows only: {:7.1} s, {:.0} MB of text", started.elapsed().as_secs_f64(), bytes as f64 / 1e6);
    for format in formats {
        let path = dir.path().join(format!("export.{}", format.extension()));
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let started = Instant::now();
        let mut writer = ExportWriter::create(format, &path, COLUMNS)?;
        for i in 0..rows {
            writer.row(&row(&mut rng, &phrases, i))?;
        }
        let written = started.elapsed().as_secs_f64();
        writer.finish(&articles)?;
        let seconds = started.elapsed().as_secs_f64();
        let size = std::fs::metadata(&path)?.len();
        println!(
            "{format:>5}: {seconds:7.1} s ({written:.1} s rows, {:.1} s finish), {:9.0} rows/s, {:7.1} MB",
            seconds - written,
            rows as f64 / seconds,
            size as f64 / 1e6
        );
        if std::env::var_os("EXPORT_BENCH_KEEP").is_none() {
            std::fs::remove_file(&path)?;
        }
    }
    if std::env::var_os("EXPORT_BENCH_KEEP").is_some() {
        println!("kept in {}", dir.keep().display());
    }
    Ok(())
}
