//! Campaign detection at scale, on a corpus from bench/campaigns/gen.py. Not a test, and not run in CI.
//!
//! ```text
//! cargo run --release -p yijian-analysis --example campaigns_bench -- CORPUS.jsonl [--draft DRAFT.txt] [--groups OUT.json] [--param NAME=VALUE]...
//! ```
//!
//! Reads the JSONL corpus (`id`, `text`; the ground truth is ignored here) and the draft's articles (one a line),
//! runs `Detector::detect` with the default parameters and prints one JSON line: comments, campaigns, in_campaigns,
//! short-answer groups, seconds (of `detect` alone), the peak resident memory of the process (VmHWM, which
//! includes the corpus as read) and the resident memory before `detect` (the corpus: the texts back to back in one
//! string). `--groups` writes the groups for bench/campaigns/evaluate.py.

use std::io::{BufRead, BufReader, Write};
use std::time::Instant;

use yijian_analysis::campaigns::{Detector, Params};

/// `VmHWM` (peak) or `VmRSS` (now) of this process, in MB.
fn rss_mb(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut input = None;
    let mut draft_path = None;
    let mut groups_path = None;
    let mut params = Vec::new();
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--draft" => {
                draft_path = args.get(i + 1).cloned();
                i += 1;
            }
            "--param" => {
                params.push(args.get(i + 1).cloned().expect("--param NAME=VALUE"));
                i += 1;
            }
            "--groups" => {
                groups_path = args.get(i + 1).cloned();
                i += 1;
            }
            other => input = Some(other.to_owned()),
        }
        i += 1;
    }
    let input = input.expect("usage: campaigns_bench CORPUS.jsonl [--draft FILE] [--groups FILE]");
    let file = std::fs::File::open(&input).expect("open the corpus");
    let mut ids = Vec::new();
    let mut texts = String::new();
    let mut ends = Vec::new();
    for line in BufReader::new(file).lines() {
        let line = line.expect("read the corpus");
        let v: serde_json::Value = serde_json::from_str(&line).expect("a JSON line");
        ids.push(v["id"].as_i64().expect("an id"));
        texts.push_str(v["text"].as_str().expect("a text"));
        ends.push(texts.len());
    }
    let comments: Vec<(i64, &str)> = ids
        .iter()
        .zip(ends.iter())
        .enumerate()
        .map(|(k, (&id, &end))| {
            let start = if k == 0 { 0 } else { ends[k - 1] };
            (id, &texts[start..end])
        })
        .collect();
    let draft_text = draft_path.map(|p| std::fs::read_to_string(p).expect("read the draft")).unwrap_or_default();
    let draft: Vec<&str> = draft_text.lines().filter(|l| !l.trim().is_empty()).collect();

    let mut p = Params::default();
    for kv in &params {
        let (k, v) = kv.split_once('=').expect("--param NAME=VALUE");
        let f: f64 = v.parse().expect("a number");
        match k {
            "short_len" => p.short_len = f as usize,
            "shingle" => p.shingle = f as usize,
            "bands" => p.bands = f as usize,
            "rows" => p.rows = f as usize,
            "bucket_scan" => p.bucket_scan = f as usize,
            "max_verify" => p.max_verify = f as usize,
            "per_campaign" => p.per_campaign = f as usize,
            "core" => p.core = f,
            "link" => p.link = f,
            "same" => p.same = f,
            "min_shingles" => p.min_shingles = f as usize,
            "spread" => p.spread = f as usize,
            "enclosed" => p.enclosed = f as usize,
            "min_sentence" => p.min_sentence = f as usize,
            other => panic!("no parameter {other}"),
        }
    }
    let detector = Detector::new(p, &draft);
    let corpus_rss = rss_mb("VmRSS:");
    let started = Instant::now();
    let detection = detector.detect(&comments);
    let seconds = started.elapsed().as_secs_f64();

    let in_campaigns: usize = detection.campaigns.iter().map(|g| g.members.len()).sum();
    println!(
        "{}",
        serde_json::json!({
            "comments": comments.len(),
            "campaigns": detection.campaigns.len(),
            "in_campaigns": in_campaigns,
            "short_answer_groups": detection.short_answers.len(),
            "seconds": (seconds * 1000.0).round() / 1000.0,
            "peak_rss_mb": rss_mb("VmHWM:").round(),
            "corpus_rss_mb": corpus_rss.round(),
        })
    );
    if let Some(path) = groups_path {
        let groups = serde_json::json!({
            "campaigns": detection.campaigns.iter().map(|g| serde_json::json!({"members": g.members, "representative": g.representative})).collect::<Vec<_>>(),
            "short_answers": detection.short_answers.iter().map(|g| &g.members).collect::<Vec<_>>(),
        });
        let mut f = std::fs::File::create(path).expect("create the groups file");
        writeln!(f, "{groups}").expect("write the groups");
    }
}
