//! Indexing throughput and search latency of the comment index at scale. Not a test, and not run in CI.
//!
//! ```text
//! cargo run --release -p yijian-analysis --example search_bench -- [--n 1000000] [--queries 2000] [--dir PATH]
//! ```
//!
//! Builds an index of `--n` synthetic opinions (`yijian_testkit::synthetic`: Chinese text sampled from a vocabulary
//! about AI, employment and social security, 20–500 characters, spread over three consultations) in a temporary
//! directory, or in `--dir` if given (which is then kept), committing every 100,000 comments as a rebuild would. Then runs `--queries` searches with
//! limit 50 over a mix of common, rare, multi-word, phrase and no-hit queries and prints latency percentiles. The
//! target is a p99 under 100 ms at a million comments.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use yijian_analysis::{IndexedComment, SearchIndex};
use yijian_testkit::synthetic::{RARE, Rng, TOPICS, opinion};

const CONSULTATIONS: [&str; 3] = ["2025-ai-employment", "2025-vocational-skills", "2025-platform-workers"];
const BATCH: usize = 10_000;
const COMMIT_EVERY: usize = 100_000;
const LIMIT: usize = 50;

/// Never generated.
const ABSENT: &[&str] = &["量子纠缠", "火星殖民", "恐龙化石", "马拉松", "围棋", "区块链挖矿", "长颈鹿", "芭蕾舞"];

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
        &["骑手", "学徒制", "伦理", "数据中心", "年龄歧视", "工伤保险", "转岗培训", "新职业", "网约车", "见习"];
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
    let mut rng = Rng::new(0x5EED);

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
    let essay: String = opinion(&mut Rng::new(7)).chars().cycle().take(10_000).collect();
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
