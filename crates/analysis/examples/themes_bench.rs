//! The themes engine on the labelled set (quality) and on 200,000 synthetic comments (speed). Not a test, and not
//! run in CI; bench/themes.sh runs it.
//!
//! ```text
//! cargo run --release -p yijian-analysis --example themes_bench -- LABELLED.jsonl DRAFT.md [--n 200000] [--param NAME=VALUE]... [--show]
//! ```
//!
//! Prints one JSON line for quality (adjusted Rand index per article and over all, themes that mix opposite
//! positions) and one for speed (comments, groups, themes, seconds of `build` over all groups, the largest group's
//! seconds, peak resident memory VmHWM, which includes the corpus). `--show` prints the labelled set's themes.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use yijian_analysis::themes::{ThemeDraft, ThemeInput, ThemeParams, build};

fn rss_mb(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

struct Labelled {
    id: i64,
    article: u32,
    text: String,
    theme: String,
    stance: String,
    weight: u32,
    opposes: Option<String>,
}

/// Hubert and Arabie's adjusted Rand index of two labellings of the same items.
fn adjusted_rand(a: &[usize], b: &[usize]) -> f64 {
    let n = a.len() as f64;
    let c2 = |x: f64| x * (x - 1.0) / 2.0;
    let mut pairs: HashMap<(usize, usize), f64> = HashMap::new();
    let mut ra: HashMap<usize, f64> = HashMap::new();
    let mut rb: HashMap<usize, f64> = HashMap::new();
    for (&x, &y) in a.iter().zip(b) {
        *pairs.entry((x, y)).or_default() += 1.0;
        *ra.entry(x).or_default() += 1.0;
        *rb.entry(y).or_default() += 1.0;
    }
    let index: f64 = pairs.values().map(|&v| c2(v)).sum();
    let sa: f64 = ra.values().map(|&v| c2(v)).sum();
    let sb: f64 = rb.values().map(|&v| c2(v)).sum();
    let expected = sa * sb / c2(n);
    let max = (sa + sb) / 2.0;
    if max == expected { 1.0 } else { (index - expected) / (max - expected) }
}

/// xorshift64*: the corpus must be the same on every run, and this needs no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn article_texts(draft_path: &str) -> BTreeMap<u32, String> {
    let file = std::fs::read_to_string(draft_path).expect("read the draft");
    let parsed = yijian_domain::file::parse(&file).expect("parse the draft");
    let mut out = BTreeMap::new();
    for chapter in &parsed.document.chapters {
        for article in &chapter.articles {
            out.insert(article.number, format!("{}{}", article.title, article.body.join("")));
        }
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut positional = Vec::new();
    let mut n_speed = 200_000usize;
    let mut params = ThemeParams::default();
    let mut show = false;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--n" => {
                n_speed = args[i + 1].parse().expect("--n N");
                i += 1;
            }
            "--show" => show = true,
            "--param" => {
                let (name, value) = args[i + 1].split_once('=').expect("--param NAME=VALUE");
                match name {
                    "threshold" => params.threshold = value.parse().unwrap(),
                    "draft_weight" => params.draft_weight = value.parse().unwrap(),
                    "exact_limit" => params.exact_limit = value.parse().unwrap(),
                    "centroid_terms" => params.centroid_terms = value.parse().unwrap(),
                    "posting_cap" => params.posting_cap = value.parse().unwrap(),
                    other => panic!("unknown parameter {other}"),
                }
                i += 1;
            }
            other => positional.push(other.to_owned()),
        }
        i += 1;
    }
    let [labelled_path, draft_path] = positional.as_slice() else {
        panic!("usage: themes_bench LABELLED.jsonl DRAFT.md [--n N] [--param NAME=VALUE]... [--show]");
    };
    let articles = article_texts(draft_path);
    let labelled: Vec<Labelled> = std::fs::read_to_string(labelled_path)
        .expect("read the labelled set")
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            Labelled {
                id: v["id"].as_i64().unwrap(),
                article: v["article"].as_u64().unwrap() as u32,
                text: v["text"].as_str().unwrap().to_owned(),
                theme: v["theme"].as_str().unwrap().to_owned(),
                stance: v["stance"].as_str().unwrap().to_owned(),
                weight: v["weight"].as_u64().unwrap() as u32,
                opposes: v["opposes"].as_str().map(str::to_owned),
            }
        })
        .collect();

    // Quality.
    let by_id: HashMap<i64, &Labelled> = labelled.iter().map(|l| (l.id, l)).collect();
    let mut per_article = BTreeMap::new();
    let (mut all_truth, mut all_found) = (Vec::new(), Vec::new());
    let (mut mixed_opposite, mut mixed_sides, mut themes_total) = (0, 0, 0);
    let mut label_ids: HashMap<String, usize> = HashMap::new();
    let mut theme_base = 0;
    let article_numbers: std::collections::BTreeSet<u32> = labelled.iter().map(|l| l.article).collect();
    for &article in &article_numbers {
        let inputs: Vec<ThemeInput<'_>> = labelled
            .iter()
            .filter(|l| l.article == article)
            .map(|l| ThemeInput { id: l.id, text: &l.text, weight: l.weight })
            .collect();
        let themes = build(&inputs, &articles[&article], &params);
        themes_total += themes.len();
        let mut found_of: HashMap<i64, usize> = HashMap::new();
        for (t, theme) in themes.iter().enumerate() {
            for &m in &theme.members {
                found_of.insert(m, theme_base + t);
            }
            let points: Vec<&Labelled> = theme.members.iter().map(|m| by_id[m]).collect();
            if points.iter().any(|p| points.iter().any(|q| p.opposes.as_deref() == Some(q.theme.as_str()))) {
                mixed_opposite += 1;
            }
            let against = points.iter().any(|p| p.stance == "against");
            if against && points.iter().any(|p| p.stance != "against") {
                mixed_sides += 1;
            }
            if show {
                print_theme(article, theme, &points);
            }
        }
        theme_base += themes.len();
        let (mut truth, mut found) = (Vec::new(), Vec::new());
        for input in &inputs {
            let next = label_ids.len();
            let label = *label_ids.entry(by_id[&input.id].theme.clone()).or_insert(next);
            truth.push(label);
            found.push(found_of[&input.id]);
        }
        per_article.insert(article, (adjusted_rand(&truth, &found), themes.len(), inputs.len()));
        all_truth.extend(truth);
        all_found.extend(found);
    }
    let overall = adjusted_rand(&all_truth, &all_found);
    let per: Vec<String> = per_article
        .iter()
        .map(|(a, (ari, k, n))| format!("\"{a}\": {{\"ari\": {ari:.3}, \"themes\": {k}, \"inputs\": {n}}}"))
        .collect();
    println!(
        "{{\"quality\": {{\"overall_ari\": {overall:.3}, \"themes\": {themes_total}, \"mixing_opposite_points\": {mixed_opposite}, \"mixing_against_with_for_or_suggest\": {mixed_sides}, \"articles\": {{{}}}, \"threshold\": {}, \"draft_weight\": {}}}}}",
        per.join(", "),
        params.threshold,
        params.draft_weight
    );
    if n_speed == 0 {
        return;
    }

    // Speed: 21 groups (20 articles and the draft as a whole), sizes skewed like a real consultation's (a few
    // articles draw most comments), texts recombined and perturbed from the labelled set, plus sentence soup.
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let clauses: Vec<Vec<String>> = {
        let mut by_point: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for l in &labelled {
            let parts = by_point.entry(&l.theme).or_default();
            parts.extend(l.text.split(['，', '。', '？', '！', '；']).filter(|s| !s.is_empty()).map(str::to_owned));
        }
        by_point.into_values().collect()
    };
    let draft_chars: Vec<char> = articles.values().flat_map(|t| t.chars()).collect();
    let fillers =
        ["我认为", "说实话", "总的来说", "个人看法", "另外", "同时", "关于这一点", "作为一线员工", "从实际出发"];
    let endings = ["。", "！", "，谢谢。", "。望采纳。", "？"];
    let shares: Vec<f64> = (0..21).map(|g| 1.0 / (g as f64 + 1.0).powf(0.9)).collect();
    let total_share: f64 = shares.iter().sum();
    let mut texts: Vec<Vec<(i64, String, u32)>> = vec![Vec::new(); 21];
    let mut id = 1_000_000i64;
    for (g, share) in shares.iter().enumerate() {
        let size = (n_speed as f64 * share / total_share).round() as usize;
        for _ in 0..size {
            let mut text = String::new();
            if rng.below(100) < 55 {
                // A point restated: clauses of one labelled point, recombined, with a filler.
                let point = &clauses[(g * 3 + rng.below(4)) % clauses.len()];
                if rng.below(3) == 0 {
                    text.push_str(fillers[rng.below(fillers.len())]);
                    text.push('，');
                }
                for k in 0..1 + rng.below(3) {
                    if k > 0 {
                        text.push('，');
                    }
                    text.push_str(&point[rng.below(point.len())]);
                }
            } else {
                // Soup: stretches of the draft and of unrelated points glued together.
                for k in 0..2 + rng.below(3) {
                    if k > 0 {
                        text.push('，');
                    }
                    if rng.below(2) == 0 {
                        let len = 6 + rng.below(12);
                        let start = rng.below(draft_chars.len() - len);
                        text.extend(&draft_chars[start..start + len]);
                    } else {
                        let point = &clauses[rng.below(clauses.len())];
                        text.push_str(&point[rng.below(point.len())]);
                    }
                }
            }
            text.push_str(endings[rng.below(endings.len())]);
            let weight = if rng.below(200) == 0 { 2 + rng.below(500) as u32 } else { 1 };
            texts[g].push((id, text, weight));
            id += 1;
        }
    }
    let rss_corpus = rss_mb("VmRSS:");
    let started = Instant::now();
    let (mut themes, mut largest, mut largest_seconds, mut comments) = (0usize, 0usize, 0f64, 0usize);
    for (g, group) in texts.iter().enumerate() {
        let inputs: Vec<ThemeInput<'_>> =
            group.iter().map(|(id, text, weight)| ThemeInput { id: *id, text, weight: *weight }).collect();
        let draft = articles.get(&(g as u32 + 1)).map_or_else(|| articles.values().cloned().collect(), Clone::clone);
        let t = Instant::now();
        let built = build(&inputs, &draft, &params);
        let seconds = t.elapsed().as_secs_f64();
        themes += built.len();
        comments += inputs.len();
        if inputs.len() > largest {
            largest = inputs.len();
            largest_seconds = seconds;
        }
    }
    println!(
        "{{\"speed\": {{\"comments\": {comments}, \"groups\": 21, \"largest_group\": {largest}, \"themes\": {themes}, \"seconds\": {:.2}, \"largest_group_seconds\": {largest_seconds:.2}, \"peak_rss_mb\": {:.0}, \"corpus_rss_mb\": {rss_corpus:.0}}}}}",
        started.elapsed().as_secs_f64(),
        rss_mb("VmHWM:")
    );
}

fn print_theme(article: u32, theme: &ThemeDraft, points: &[&Labelled]) {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for p in points {
        *counts.entry(p.theme.as_str()).or_default() += 1;
    }
    eprintln!(
        "第{article}条 [{}] ({:?}, {} comments, {} texts) key={:?}\n    truth={counts:?}\n    reps={:?}",
        theme.label, theme.stance, theme.comments, theme.distinct, theme.key_phrases, theme.representatives
    );
}
