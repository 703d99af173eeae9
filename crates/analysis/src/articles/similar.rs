//! Implicit references: BM25 between the comment and each article's lead and body, over jieba words, turned into a
//! confidence.
//!
//! BM25 rather than a small embedding model: twenty articles of a few hundred characters each are exactly what a
//! lexical model does well on, it needs nothing shipped or downloaded, costs microseconds, and its reasons are words
//! staff can see. The draft is the only corpus: a word found in every article (人工智能, 人才) has an IDF near zero
//! and decides nothing.

use std::sync::LazyLock;

use jieba_rs::TokenizeMode;
use rustc_hash::{FxHashMap, FxHashSet};
use yijian_domain::document::Document;

use crate::search::tokenizer::{JIEBA, is_word_char};

/// BM25's usual saturation and length normalisation.
const K1: f64 = 1.2;
const B: f64 = 0.75;
/// Only the start of a very long comment is compared: its subject is stated early, and the cost stays bounded.
const MAX_CHARS: usize = 20_000;

/// Turning scores into a confidence, fitted on bench/articles/labelled.jsonl (see its README): a softmax over the
/// articles' scores with this temperature says how clearly one article stands out, and `1 - exp(-score / EVIDENCE)`
/// how much of the comment's wording is the article's at all.
pub(super) const TEMPERATURE: f64 = 1.0;
pub(super) const EVIDENCE: f64 = 6.0;

/// Words that carry no subject in a comment on a draft: function words, the words of every opinion (建议, 希望),
/// and of every article of a policy draft (加强, 支持, 政策). Removed on both sides so that they neither score nor
/// lengthen.
const STOP_WORDS: &[&str] = &[
    "的",
    "了",
    "和",
    "与",
    "及",
    "等",
    "是",
    "在",
    "对",
    "为",
    "将",
    "把",
    "被",
    "让",
    "要",
    "也",
    "都",
    "就",
    "还",
    "更",
    "很",
    "非常",
    "我",
    "我们",
    "你",
    "他",
    "她",
    "它",
    "这",
    "那",
    "这个",
    "那个",
    "这些",
    "一个",
    "一些",
    "有",
    "没有",
    "不",
    "能",
    "会",
    "可",
    "可以",
    "能够",
    "应",
    "应该",
    "应当",
    "需要",
    "建议",
    "希望",
    "认为",
    "觉得",
    "意见",
    "措施",
    "政策",
    "工作",
    "进一步",
    "加强",
    "支持",
    "推进",
    "推动",
    "提高",
    "提升",
    "完善",
    "相关",
    "有关",
    "各级",
    "开展",
    "给予",
    "按规定",
    "规定",
    "实施",
    "条",
    "第",
    "第五",
    "中",
    "上",
    "下",
    "人工智能",
    "人工",
    "智能",
    "ai",
    "领域",
    "辽宁",
    "辽宁省",
    "我省",
    "省",
    "加大",
    "力度",
    "问题",
    "方面",
    "情况",
    "目前",
    "现在",
    "如果",
    "但是",
    "因为",
    "所以",
    "而且",
    "或者",
    "以及",
    "其中",
    "通过",
    "进行",
    "实现",
    "一",
    "二",
    "三",
    "啊",
    "吧",
    "呢",
    "吗",
    "好",
    "很多",
    "更多",
    "其他",
    // What is said of the draft as a whole: its publication, its form, general approval, the period it covers.
    "文件",
    "发布",
    "出台",
    "尽快",
    "早日",
    "征求",
    "意见稿",
    "征求意见",
    "政府",
    "内容",
    "全面",
    "总体",
    "整体",
    "赞同",
    "同意",
    "方向",
    "未来",
    "落地",
    "见效",
    "到位",
    "执行",
    "正式",
    "点赞",
    "感谢",
    "谢谢",
    "采纳",
    "参考",
    "个人",
    "请问",
    "什么",
    "时候",
    "针对性",
    "坚持",
    "下去",
    "老百姓",
    "声音",
    "一直",
    "关系",
    "发表",
    "发挥",
    "作用",
    "十五五",
    "期间",
    "时期",
    "机遇",
    "加快",
    "大型",
    "活动",
    "作为",
    "关键",
    "正确",
    "进度",
];

pub(super) struct Bm25 {
    vocab: FxHashMap<Box<str>, u32>,
    /// Per word: (article index, its BM25 weight in that article).
    postings: Vec<Vec<(u32, f64)>>,
    numbers: Vec<u32>,
}

/// Both sides are cut in search mode (a compound and its parts): a comment's 技工学校 then meets the article's 技工院校
/// in 技工. Default mode on the comment's side (as the search index queries) lost more such meetings than it saved
/// double counts: implicit top-1 0.91 against 0.94 on the labelled set.
fn words(text: &str) -> Vec<String> {
    let folded: String = text
        .chars()
        .take(MAX_CHARS)
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            c if c.is_whitespace() || c.is_control() => ' ',
            c => c,
        })
        .collect();
    JIEBA
        .tokenize(&folded, TokenizeMode::Search, false)
        .into_iter()
        // Amounts and counts (10万, 40岁) say nothing of the subject, and a bare number is more likely a reference.
        .filter(|w| w.word.chars().any(is_word_char) && !w.word.chars().all(|c| c.is_ascii_digit()))
        .map(|w| if w.word.chars().all(lower_already) { w.word.to_owned() } else { w.word.to_lowercase() })
        .filter(|w| !STOP.contains(w.as_str()))
        .collect()
}

/// [`STOP_WORDS`] as a set: every word of every comment is looked up, and a scan of the list's
/// strings was a quarter of a suggestion's time.
static STOP: LazyLock<FxHashSet<&'static str>> = LazyLock::new(|| STOP_WORDS.iter().copied().collect());

/// Characters that lowercasing leaves as they are, known without Unicode's case tables (which
/// `to_lowercase` consults for every ideograph).
fn lower_already(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || ('\u{4e00}'..='\u{9fff}').contains(&c)
}

impl Bm25 {
    pub(super) fn new(doc: &Document) -> Bm25 {
        let mut vocab: FxHashMap<Box<str>, u32> = FxHashMap::default();
        let mut counts: Vec<FxHashMap<u32, u32>> = Vec::new();
        let mut lengths: Vec<f64> = Vec::new();
        let mut numbers = Vec::new();
        for a in doc.articles() {
            // The lead states the subject in a dozen characters: counted twice so that it weighs against the body.
            let text = format!("{}\n{}\n{}", a.title, a.title, a.text());
            let ws = words(&text);
            let mut tf: FxHashMap<u32, u32> = FxHashMap::default();
            for w in &ws {
                let next = vocab.len() as u32;
                let id = *vocab.entry(w.as_str().into()).or_insert(next);
                *tf.entry(id).or_default() += 1;
            }
            lengths.push(ws.len() as f64);
            counts.push(tf);
            numbers.push(a.number);
        }
        let n = counts.len() as f64;
        let avg = if lengths.is_empty() { 1.0 } else { (lengths.iter().sum::<f64>() / n).max(1.0) };
        let mut df = vec![0u32; vocab.len()];
        for tf in &counts {
            for id in tf.keys() {
                df[*id as usize] += 1;
            }
        }
        let mut postings: Vec<Vec<(u32, f64)>> = vec![Vec::new(); vocab.len()];
        for (d, tf) in counts.iter().enumerate() {
            let norm = K1 * (1.0 - B + B * lengths[d] / avg);
            let mut ids: Vec<_> = tf.iter().collect();
            ids.sort_unstable();
            for (id, f) in ids {
                let df = f64::from(df[*id as usize]);
                let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
                let f = f64::from(*f);
                postings[*id as usize].push((d as u32, idf * f * (K1 + 1.0) / (f + norm)));
            }
        }
        Bm25 { vocab, postings, numbers }
    }

    /// Every article with a confidence above `floor`, best first (ties by article number), at most `keep`.
    pub(super) fn suggest(&self, text: &str, floor: f64, keep: usize) -> Vec<(u32, f64)> {
        if self.numbers.is_empty() {
            return Vec::new();
        }
        // Each word of the comment counts once: saying 博士后 five times does not make it five times as much about it.
        let mut seen: Vec<u32> = Vec::new();
        for w in words(text) {
            if let Some(&id) = self.vocab.get(w.as_str()) {
                seen.push(id);
            }
        }
        seen.sort_unstable();
        seen.dedup();
        if seen.is_empty() {
            return Vec::new();
        }
        let mut scores = vec![0.0f64; self.numbers.len()];
        for id in seen {
            for &(d, w) in &self.postings[id as usize] {
                scores[d as usize] += w;
            }
        }
        let max = scores.iter().copied().fold(0.0, f64::max);
        if max <= 0.0 {
            return Vec::new();
        }
        let z: f64 = scores.iter().map(|s| ((s - max) / TEMPERATURE).exp()).sum();
        let mut out: Vec<(u32, f64)> = scores
            .iter()
            .enumerate()
            .map(|(d, &s)| {
                let share = ((s - max) / TEMPERATURE).exp() / z;
                let evidence = 1.0 - (-s / EVIDENCE).exp();
                (self.numbers[d], evidence * share.sqrt())
            })
            .filter(|&(_, c)| c >= floor)
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out.truncate(keep);
        out
    }
}
