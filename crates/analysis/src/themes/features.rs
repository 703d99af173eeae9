//! Words and weighted term vectors of a group's texts.

use rustc_hash::{FxHashMap, FxHashSet};

use crate::search::tokenizer::{JIEBA, fold_width, is_han};

/// Marks a place in a word sequence where something was dropped, so that the words on either side are not read as a
/// phrase.
pub(crate) const GAP: u32 = u32::MAX;

/// Words that say nothing about what a comment is about: function words, the stance words (a comment's side is
/// judged apart, and "支持" shared by two comments on different subjects must not make them similar), and the words
/// every comment on a draft uses.
const STOP_WORDS: &[&str] = &[
    "的",
    "了",
    "是",
    "在",
    "和",
    "与",
    "及",
    "以及",
    "或",
    "或者",
    "对",
    "对于",
    "把",
    "被",
    "让",
    "给",
    "要",
    "也",
    "都",
    "就",
    "还",
    "很",
    "更",
    "再",
    "又",
    "才",
    "这",
    "那",
    "这个",
    "那个",
    "这样",
    "这种",
    "这项",
    "这些",
    "此",
    "该",
    "其",
    "我",
    "我们",
    "你",
    "你们",
    "他",
    "他们",
    "她",
    "它",
    "大家",
    "自己",
    "认为",
    "觉得",
    "感觉",
    "表示",
    "建议",
    "希望",
    "支持",
    "赞成",
    "赞同",
    "同意",
    "拥护",
    "点赞",
    "认可",
    "反对",
    "不同意",
    "不赞成",
    "不赞同",
    "应当",
    "应该",
    "可以",
    "能否",
    "能不能",
    "能",
    "会",
    "不",
    "没有",
    "没",
    "非常",
    "十分",
    "特别",
    "比较",
    "目前",
    "现在",
    "已经",
    "一些",
    "一下",
    "一个",
    "进一步",
    "相关",
    "有关",
    "方面",
    "问题",
    "情况",
    "工作",
    "意见",
    "措施",
    "政策",
    "规定",
    "条款",
    "内容",
    "一条",
    "这条",
    "本条",
    "第",
    "条",
    "款",
    "项",
    "但",
    "但是",
    "而",
    "而且",
    "并",
    "并且",
    "如果",
    "因为",
    "所以",
    "为了",
    "通过",
    "如何",
    "什么",
    "怎么",
    "为什么",
    "是否",
    "有",
    "没",
    "要求",
    "做法",
    "实施",
    "落实",
    "加强",
    "提出",
    "真正",
    "其中",
    "很多",
    "不少",
    "可能",
    "需要",
    "最好",
    "请",
    "恳请",
    "呼吁",
    "尽快",
    "已",
    "将",
    "由",
    "从",
    "向",
    "等",
    "中",
    "上",
    "下",
    "里",
    "后",
    "前",
    "时",
    "个",
    "们",
    "啊",
    "吧",
    "呢",
    "吗",
    "哦",
    "么",
];

/// The vocabulary of one run: word ids, document frequencies, and the weights those give.
#[derive(Default)]
pub(crate) struct Vocabulary {
    ids: FxHashMap<Box<str>, u32>,
    pub(crate) words: Vec<Box<str>>,
    df: Vec<u32>,
    weight: Vec<f32>,
    stop: FxHashSet<&'static str>,
    folded: String,
    /// Set once the run's texts are weighed: later readings (sentences for representatives) keep all their terms.
    keep_unique: bool,
}

/// One text, read: its word sequence (with [`GAP`]s), and later its unit term vector.
pub(crate) struct Reading {
    pub(crate) words: Vec<u32>,
    /// Term id and its raw count (inner bigrams count half).
    counts: Vec<(u32, f32)>,
    /// Sorted by term id, unit length.
    pub(crate) vector: Vec<(u32, f32)>,
    /// Whether the text has any content word (its vector may still be empty when none is shared with another text).
    pub(crate) has_content: bool,
}

impl Vocabulary {
    pub(crate) fn new() -> Vocabulary {
        let stop = STOP_WORDS.iter().chain(super::stance::LEXICON.iter().flat_map(|l| l.iter())).copied().collect();
        Vocabulary { stop, ..Default::default() }
    }

    /// From now on vectors keep terms used by one text only (for reading sentences of texts already weighed).
    pub(crate) fn keep_unique_terms(&mut self) {
        self.keep_unique = true;
    }

    fn id(&mut self, word: &str) -> u32 {
        if let Some(&id) = self.ids.get(word) {
            return id;
        }
        let id = u32::try_from(self.words.len()).unwrap_or(GAP - 1).min(GAP - 1);
        self.ids.insert(word.into(), id);
        self.words.push(word.into());
        self.df.push(0);
        id
    }

    /// Cuts a text into content words. A Han word of three or more characters also yields its two-character pieces
    /// (at half weight): 通过率 and 通过比例, 补贴额度 and 补贴标准 then share something even when jieba cuts them
    /// differently, which is most of what tells two wordings of one point apart from two points.
    pub(crate) fn read(&mut self, text: &str, max_chars: usize, count_df: bool) -> Reading {
        let mut folded = std::mem::take(&mut self.folded);
        let end = text.char_indices().nth(max_chars).map_or(text.len(), |(i, _)| i);
        fold_width(&text[..end], &mut folded);
        let mut words = Vec::new();
        let mut counts: FxHashMap<u32, f32> = FxHashMap::default();
        let mut lower = String::new();
        for token in JIEBA.cut(&folded, false) {
            let w = token.word;
            let han = w.chars().filter(|&c| is_han(c)).count();
            let word_like = w.chars().any(|c| c.is_ascii_alphanumeric() || is_han(c));
            if !word_like {
                if words.last() != Some(&GAP) {
                    words.push(GAP);
                }
                continue;
            }
            lower.clear();
            lower.extend(w.chars().flat_map(char::to_lowercase));
            let keep = !self.stop.contains(lower.as_str())
                && !lower.starts_with('第')
                && (han >= 2 || (han == 0 && lower.chars().count() >= 2));
            if !keep {
                if words.last() != Some(&GAP) {
                    words.push(GAP);
                }
                continue;
            }
            let id = self.id(&lower);
            words.push(id);
            *counts.entry(id).or_default() += 1.0;
            if han >= 3 && han == lower.chars().count() {
                let chars: Vec<char> = lower.chars().collect();
                for pair in chars.windows(2) {
                    let piece: String = pair.iter().collect();
                    if !self.stop.contains(piece.as_str()) {
                        let pid = self.id(&piece);
                        *counts.entry(pid).or_default() += 0.5;
                    }
                }
            }
        }
        self.folded = folded;
        let mut counts: Vec<(u32, f32)> = counts.into_iter().collect();
        counts.sort_unstable_by_key(|&(t, _)| t);
        if count_df {
            for &(t, _) in &counts {
                self.df[t as usize] += 1;
            }
        }
        let has_content = !counts.is_empty();
        Reading { words, counts, vector: Vec::new(), has_content }
    }

    /// Fixes the term weights once every text of the run is read: inverse document frequency, lowered for the words
    /// of the draft (every comment on an article repeats its subject; what tells its points apart is the rest).
    pub(crate) fn weigh(&mut self, documents: usize, draft: &FxHashSet<u32>, draft_weight: f32) {
        let n = documents as f32;
        self.weight = self
            .df
            .iter()
            .enumerate()
            .map(|(t, &df)| {
                let idf = (1.0 + n / (df.max(1) as f32)).ln();
                if draft.contains(&(t as u32)) { idf * draft_weight } else { idf }
            })
            .collect();
    }

    pub(crate) fn weight(&self, term: u32) -> f32 {
        self.weight.get(term as usize).copied().unwrap_or(0.0)
    }

    /// The terms of the draft, ids created for them as needed (they do not count as documents).
    pub(crate) fn draft_terms(&mut self, draft: &str, max_chars: usize) -> FxHashSet<u32> {
        let reading = self.read(draft, max_chars, false);
        reading.counts.iter().map(|&(t, _)| t).collect()
    }

    /// Sublinear term frequency times weight, to unit length.
    pub(crate) fn vectorise(&self, reading: &mut Reading) {
        let mut v: Vec<(u32, f32)> = reading
            .counts
            .iter()
            // A term no other text of the run uses can make no two texts similar, but it would lower every similarity
            // of the text that has it (through the norm): short comments full of their own words would never join.
            .filter(|&&(t, _)| self.df.get(t as usize).is_some_and(|&df| df >= 2) || self.keep_unique)
            .map(|&(t, c)| {
                let tf = if c > 1.0 { 1.0 + c.ln() } else { c };
                (t, tf * self.weight(t))
            })
            .filter(|&(_, w)| w > 0.0)
            .collect();
        normalise(&mut v);
        reading.vector = v;
        reading.counts = Vec::new();
    }
}

pub(crate) fn normalise(v: &mut [(u32, f32)]) {
    let norm = v.iter().map(|&(_, w)| w * w).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|(_, w)| *w /= norm);
    }
}

/// Dot product of two vectors sorted by term.
pub(crate) fn dot(a: &[(u32, f32)], b: &[(u32, f32)]) -> f32 {
    let (mut i, mut j, mut s) = (0, 0, 0.0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                s += a[i].1 * b[j].1;
                i += 1;
                j += 1;
            }
        }
    }
    s
}

/// Sum of vectors sorted by term, itself sorted by term.
pub(crate) fn sum<'a>(vectors: impl Iterator<Item = &'a [(u32, f32)]>) -> Vec<(u32, f32)> {
    let mut acc: FxHashMap<u32, f32> = FxHashMap::default();
    for v in vectors {
        for &(t, w) in v {
            *acc.entry(t).or_default() += w;
        }
    }
    let mut out: Vec<(u32, f32)> = acc.into_iter().collect();
    out.sort_unstable_by_key(|&(t, _)| t);
    out
}

/// The `k` heaviest terms (ties by term id), sorted by term again.
pub(crate) fn truncate(mut v: Vec<(u32, f32)>, k: usize) -> Vec<(u32, f32)> {
    if v.len() > k {
        v.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        v.truncate(k);
        v.sort_unstable_by_key(|&(t, _)| t);
    }
    v
}
