//! Article suggestions (issue 14): quality on the labelled set and CPU time per comment.
//!
//!     cargo run --release -p yijian-analysis --example articles_bench [-- --draft FILE --set FILE --calls N --misses]
//!
//! Defaults: demo/ln-hrss-ai-2025.md, bench/articles/labelled.jsonl, 100,000 calls. `--misses` prints every comment
//! the engine got wrong. See bench/articles/README.md.

use std::time::Instant;

use yijian_analysis::articles::ArticleIndex;
use yijian_domain::suggestion::{ArticleSuggestion, SHOW_THRESHOLD, SuggestionKind};

struct Row {
    id: String,
    text: String,
    explicit: Vec<u32>,
    implicit: Vec<u32>,
    kind: String,
}

fn numbers(v: &serde_json::Value) -> Vec<u32> {
    v.as_array().map(|a| a.iter().filter_map(|x| x.as_u64()).map(|x| x as u32).collect()).unwrap_or_default()
}

fn cpu_seconds() -> f64 {
    // CPU time of this process, not wall time: the machine is shared.
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks: f64 = fields.get(11).and_then(|u| u.parse::<f64>().ok()).unwrap_or(0.0)
        + fields.get(12).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
    ticks / 100.0
}

fn main() {
    let mut draft = "demo/ln-hrss-ai-2025.md".to_string();
    let mut set = "bench/articles/labelled.jsonl".to_string();
    let mut calls: usize = 100_000;
    let mut misses = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--draft" => draft = args.next().expect("--draft FILE"),
            "--set" => set = args.next().expect("--set FILE"),
            "--calls" => calls = args.next().and_then(|n| n.parse().ok()).expect("--calls N"),
            "--misses" => misses = true,
            other => panic!("unknown argument {other}"),
        }
    }
    let file = yijian_domain::file::parse(&std::fs::read_to_string(&draft).expect("draft")).expect("consultation file");
    let rows: Vec<Row> = std::fs::read_to_string(&set)
        .expect("labelled set")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json line");
            Row {
                id: v["id"].as_str().unwrap_or("").to_string(),
                text: v["text"].as_str().unwrap_or("").to_string(),
                explicit: numbers(&v["explicit"]),
                implicit: numbers(&v["implicit"]),
                kind: v["kind"].as_str().unwrap_or("").to_string(),
            }
        })
        .collect();

    let t0 = cpu_seconds();
    let index = ArticleIndex::new(&file.document);
    let build = cpu_seconds() - t0;
    let t0 = cpu_seconds();
    for _ in 0..20 {
        std::hint::black_box(ArticleIndex::new(&file.document));
    }
    let rebuild = (cpu_seconds() - t0) / 20.0;

    let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
    let (mut imp_n, mut imp_top1, mut imp_any, mut imp_shown) = (0usize, 0usize, 0usize, 0usize);
    let (mut multi_n, mut multi_found, mut multi_labels) = (0usize, 0usize, 0usize);
    let (mut none_n, mut none_quiet, mut none_empty) = (0usize, 0usize, 0usize);
    let mut shown_similar = 0usize;
    let mut shown_similar_right = 0usize;
    for r in &rows {
        let s = index.suggest(&r.text);
        let got: Vec<u32> = s.iter().filter(|x| x.kind == SuggestionKind::Explicit).map(|x| x.article).collect();
        let (t, p, n) = (
            got.iter().filter(|a| r.explicit.contains(a)).count(),
            got.iter().filter(|a| !r.explicit.contains(a)).count(),
            r.explicit.iter().filter(|a| !got.contains(a)).count(),
        );
        tp += t;
        fp += p;
        fn_ += n;
        let mut similar: Vec<&ArticleSuggestion> = s.iter().filter(|x| x.kind == SuggestionKind::Similar).collect();
        similar.sort_by(|a, b| b.confidence.total_cmp(&a.confidence).then(a.article.cmp(&b.article)));
        for x in similar.iter().filter(|x| x.confidence >= SHOW_THRESHOLD) {
            shown_similar += 1;
            if r.implicit.contains(&x.article) || r.explicit.contains(&x.article) {
                shown_similar_right += 1;
            }
        }
        let mut wrong = p > 0 || n > 0;
        match r.kind.as_str() {
            "implicit" => {
                imp_n += 1;
                if similar.first().is_some_and(|x| r.implicit.contains(&x.article)) {
                    imp_top1 += 1;
                    if similar[0].confidence >= SHOW_THRESHOLD {
                        imp_shown += 1;
                    }
                } else {
                    wrong = true;
                }
                if similar.iter().any(|x| r.implicit.contains(&x.article)) {
                    imp_any += 1;
                }
            }
            "multi" => {
                multi_n += 1;
                multi_labels += r.implicit.len();
                multi_found += r.implicit.iter().filter(|a| similar.iter().any(|x| x.article == **a)).count();
            }
            "none" => {
                none_n += 1;
                if s.iter().all(|x| x.confidence < SHOW_THRESHOLD) {
                    none_quiet += 1;
                } else {
                    wrong = true;
                }
                if s.is_empty() {
                    none_empty += 1;
                }
            }
            _ => {}
        }
        if misses && wrong {
            let got = yijian_domain::suggestion::format_cell(&s);
            println!(
                "MISS {} [{}] explicit={:?} implicit={:?} got={got} :: {}",
                r.id, r.kind, r.explicit, r.implicit, r.text
            );
        }
    }

    let start = cpu_seconds();
    let wall = Instant::now();
    let mut sink = 0usize;
    for i in 0..calls {
        sink += index.suggest(&rows[i % rows.len()].text).len();
    }
    let cpu = cpu_seconds() - start;
    let wall = wall.elapsed().as_secs_f64();

    // The longest opinion the demo accepts (max_opinion_chars = 5000): the labelled texts glued together.
    let long: String = rows.iter().map(|r| r.text.as_str()).collect::<String>().chars().take(5000).collect();
    let start = cpu_seconds();
    for _ in 0..200 {
        sink += index.suggest(&long).len();
    }
    let long_cpu = (cpu_seconds() - start) / 200.0;

    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    println!("labelled set: {} comments ({} implicit, {} multi, {} none)", rows.len(), imp_n, multi_n, none_n);
    println!("explicit precision: {:.4} ({tp} right, {fp} wrong)", ratio(tp, tp + fp));
    println!("explicit recall:    {:.4} ({fn_} missed)", ratio(tp, tp + fn_));
    println!(
        "implicit top-1:     {:.4} ({imp_top1}/{imp_n}); labelled article among the suggestions: {:.4}",
        ratio(imp_top1, imp_n),
        ratio(imp_any, imp_n)
    );
    println!("implicit: right article first and shown (>= {SHOW_THRESHOLD}): {:.4}", ratio(imp_shown, imp_n));
    println!(
        "multi: unnamed articles found among the suggestions: {:.4} ({multi_found}/{multi_labels})",
        ratio(multi_found, multi_labels)
    );
    println!(
        "none: no suggestion >= {SHOW_THRESHOLD}: {:.4} ({none_quiet}/{none_n}); no suggestion at all: {:.4}",
        ratio(none_quiet, none_n),
        ratio(none_empty, none_n)
    );
    println!(
        "similar suggestions shown (>= {SHOW_THRESHOLD}) that are right: {:.4} ({shown_similar_right}/{shown_similar})",
        ratio(shown_similar_right, shown_similar)
    );
    println!("ArticleIndex::new: {:.1} ms CPU (including jieba's dictionary, loaded once per process)", build * 1e3);
    println!("ArticleIndex::new again (dictionary loaded): {:.2} ms CPU", rebuild * 1e3);
    println!("suggest on a 5,000-character comment: {:.0} µs CPU", long_cpu * 1e6);
    println!(
        "suggest: {calls} calls, {:.1} µs CPU per comment ({:.1} µs wall), single thread [{sink}]",
        cpu / calls as f64 * 1e6,
        wall / calls as f64 * 1e6
    );
}
