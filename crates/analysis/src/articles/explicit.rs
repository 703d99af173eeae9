//! Explicit references: the comment names an article (第五条, 措施五, （五）, 5.), a list or range of them, a chapter
//! (第二章, 第二部分, 二、 as a heading, its title), or quotes an article's lead.
//!
//! Written by hand rather than with regular expressions: the forms share one grammar (a marker, numbers joined by
//! list and range words, a unit), the context rules (another law's clause, a commenter's own numbering) look around
//! the match, and a single pass over the characters stays linear on hostile input.

use rustc_hash::FxHashMap;
use yijian_domain::document::Document;

use crate::search::tokenizer::is_word_char;

/// Whole ranges longer than this are more likely a typo or a year than a reference to so many articles.
const MAX_RANGE: u32 = 60;
/// Share of a lead's (or a chapter title's) character 3-grams that must appear in the comment for it to count as
/// quoted: a missing or inserted character costs two or three 3-grams, so a lead of ten characters survives one.
const QUOTE_CONTAINMENT: f64 = 0.75;
/// Leads shorter than this (in 3-grams) are too generic to be recognised by their words alone.
const MIN_QUOTE_GRAMS: usize = 4;
/// Only the first 64 3-grams of a lead are kept: one bit each in a mask per lead.
const MAX_QUOTE_GRAMS: usize = 64;

/// A number written after 第 or 措施 is not an article when one of these follows it: 五险一金, 第十五届, 第5号.
const NOT_A_UNIT: &[char] = &[
    '险', '金', '年', '月', '日', '号', '个', '万', '千', '百', '亿', '元', '岁', '人', '家', '次', '届', '期', '%',
    '倍', '名', '批', '天', '位', '代', '季', '轮', '方', '时', '份', '类', '级', '种', '股', '大', '小', '米', 'g',
    'G',
];

/// Names of other instruments whose clause a comment may cite (劳动合同法第三十条); `本办法第五条` is still this draft.
const OTHER_LAW_SUFFIXES: &[&str] = &[
    "法", "条例", "规定", "办法", "细则", "规则", "决定", "通知", "解释", "意见", "纲要", "规划", "法规", "法律",
    "规章", "公约", "章程", "标准", "令", "文件", "宪法",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    /// 条, 项 with 措施, 措施 N.
    Article,
    /// 点 and 项: also how commenters number their own points (第一点，…第二点，…).
    Point,
    /// 章, 部分.
    Chapter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Article(u32),
    Chapter(usize),
}

/// What the parser needs of the draft.
pub(super) struct Outline {
    articles: Vec<u32>,
    /// Chapter number and its articles.
    chapters: Vec<(u32, Vec<u32>)>,
    /// The draft's title, folded, for telling 《本措施》第五条 from 《劳动法》第五条.
    title: Vec<char>,
    quotes: Quotes,
}

impl Outline {
    pub(super) fn new(doc: &Document) -> Outline {
        let mut articles: Vec<u32> = doc.article_numbers();
        articles.sort_unstable();
        articles.dedup();
        let chapters = doc.chapters.iter().map(|c| (c.number, c.articles.iter().map(|a| a.number).collect())).collect();
        let mut quotes = Quotes::default();
        for a in doc.articles() {
            quotes.add(Target::Article(a.number), &a.title);
        }
        for (i, c) in doc.chapters.iter().enumerate() {
            quotes.add(Target::Chapter(i), &c.title);
        }
        Outline { articles, chapters, title: compact(&fold(&doc.title)), quotes }
    }

    fn has_article(&self, n: u32) -> bool {
        self.articles.binary_search(&n).is_ok()
    }

    fn chapter_articles(&self, number: u32) -> &[u32] {
        self.chapters.iter().find(|(n, _)| *n == number).map(|(_, a)| a.as_slice()).unwrap_or(&[])
    }

    /// The articles the folded text names, sorted and without repeats.
    pub(super) fn references(&self, t: &[char]) -> Vec<u32> {
        let mut found: Vec<u32> = Vec::new();
        // Points written like a commenter's own numbering, kept aside until we know whether they start at 一.
        let mut points: Vec<(u32, u32)> = Vec::new();
        // Line-start markers (5. / 5、) and parenthesised ones ((5) / （五）), with every inline arabic marker to
        // recognise a commenter's own list.
        let mut line_markers: Vec<u32> = Vec::new();
        let mut inline_markers: Vec<u32> = Vec::new();
        let mut paren_markers: Vec<u32> = Vec::new();
        // 二、 written as a heading names the draft's chapter two, unless the commenter heads their own points 一、二、.
        let mut cn_markers: Vec<u32> = Vec::new();
        let mut cn_line_markers: Vec<u32> = Vec::new();

        let n = t.len();
        let mut i = 0;
        let mut line_start = true;
        while i < n {
            let c = t[i];
            if c == '第' {
                if let Some((items, end, own_point)) = group(t, i + 1, true) {
                    // 第二章第七条: the chapter only says where article 7 is.
                    let located = items.iter().all(|it| it.unit == Unit::Chapter) && {
                        let mut k = skip_ws(t, end);
                        if matches!(t.get(k), Some('的' | '中')) {
                            k = skip_ws(t, k + 1);
                        }
                        t.get(k) == Some(&'第')
                    };
                    if !located && !other_law_before(&self.title, t, i) {
                        for it in items {
                            match it.unit {
                                Unit::Article => push_range(&mut found, it.lo, it.hi),
                                Unit::Point if own_point => points.push((it.lo, it.hi)),
                                Unit::Point => push_range(&mut found, it.lo, it.hi),
                                Unit::Chapter => {
                                    for ch in it.lo..=it.hi {
                                        found.extend_from_slice(self.chapter_articles(ch));
                                    }
                                }
                            }
                        }
                    }
                    i = end;
                    line_start = false;
                    continue;
                }
            } else if c == '措' && t.get(i + 1) == Some(&'施') {
                let j = skip_ws(t, i + 2);
                if t.get(j) != Some(&'第')
                    && let Some((items, end, _)) = group(t, j, false)
                {
                    for it in items {
                        push_range(&mut found, it.lo, it.hi);
                    }
                    i = end;
                    line_start = false;
                    continue;
                }
            } else if c == '(' {
                let j = skip_ws(t, i + 1);
                if let Some((v, k)) = read_num(t, j) {
                    let k = skip_ws(t, k);
                    if t.get(k) == Some(&')') {
                        paren_markers.push(v);
                        i = k + 1;
                        line_start = false;
                        continue;
                    }
                }
            } else if is_cn_digit(c)
                && (i == 0 || !is_cn_digit(t[i - 1]) && t[i - 1] != '第')
                && let Some((v, k)) = read_num(t, i)
                && t.get(k) == Some(&'、')
                // 一、二、三线城市: a list of numbers, not a heading.
                && read_num(t, skip_ws(t, k + 1)).is_none()
            {
                cn_markers.push(v);
                if line_start {
                    cn_line_markers.push(v);
                }
                i = k + 1;
                line_start = false;
                continue;
            } else if c.is_ascii_digit() {
                let prev = if i > 0 { t[i - 1] } else { ' ' };
                let mut k = i;
                while k < n && t[k].is_ascii_digit() {
                    k += 1;
                }
                if !prev.is_ascii_alphanumeric() && prev != '.' && prev != '(' {
                    let marker = match t.get(k) {
                        // 5、6月份: a list of numbers, not a marker.
                        Some('、') => !t.get(k + 1).is_some_and(|c| c.is_ascii_digit()),
                        Some(')') => true,
                        Some('.') => !t.get(k + 1).is_some_and(|c| c.is_ascii_digit()),
                        _ => false,
                    };
                    if marker && k - i <= 3 {
                        let v: u32 = t[i..k].iter().collect::<String>().parse().unwrap_or(u32::MAX);
                        inline_markers.push(v);
                        if line_start {
                            line_markers.push(v);
                        }
                    }
                }
                i = k;
                line_start = false;
                continue;
            }
            if c == '\n' || c == '；' || c == ';' {
                line_start = true;
            } else if !c.is_whitespace() {
                line_start = false;
            }
            i += 1;
        }

        if !is_own_list(&points.iter().map(|p| p.0).collect::<Vec<_>>()) {
            for (lo, hi) in points {
                push_range(&mut found, lo, hi);
            }
        }
        if !is_own_list(&inline_markers) {
            found.extend(line_markers);
        }
        if !is_own_list(&paren_markers) {
            found.extend(paren_markers);
        }
        if !is_own_list(&cn_markers) {
            for ch in cn_line_markers {
                found.extend_from_slice(self.chapter_articles(ch));
            }
        }
        for target in self.quotes.quoted(t) {
            match target {
                Target::Article(a) => found.push(a),
                Target::Chapter(i) => found.extend_from_slice(&self.chapters[i].1),
            }
        }
        found.retain(|&a| self.has_article(a));
        found.sort_unstable();
        found.dedup();
        found
    }
}

fn push_range(found: &mut Vec<u32>, lo: u32, hi: u32) {
    found.extend(lo..=hi);
}

/// A commenter numbering their own points writes 1, 2, … in order: a run starting at one and going on to two.
fn is_own_list(values: &[u32]) -> bool {
    values.len() >= 2 && values[0] == 1 && values[1] == 2
}

#[derive(Debug, Clone, Copy)]
struct Item {
    lo: u32,
    hi: u32,
    unit: Unit,
}

/// Numbers after a marker: `五`, `五、六`, `五、第六`, `五和第六`, `五至七`, `5-7`, `（五）`, each possibly followed by
/// its unit (`第五条至第七条`). With `need_unit`, items take the unit written after them and items with none are
/// dropped; without, every item is an article (措施五). Returns the items, where the group ends, and whether it ends
/// like a commenter's own point (第一点，).
fn group(t: &[char], start: usize, need_unit: bool) -> Option<(Vec<Item>, usize, bool)> {
    let mut raw: Vec<(u32, u32, Option<Unit>)> = Vec::new();
    let mut unassigned = 0;
    let mut j = start;
    let mut own_point = false;
    let mut range_next = false;
    loop {
        let k = skip_ws(t, j);
        let (k, paren) = if t.get(k) == Some(&'(') { (skip_ws(t, k + 1), true) } else { (k, false) };
        let Some((v, mut k)) = read_num(t, k) else { break };
        if paren {
            k = skip_ws(t, k);
            if t.get(k) != Some(&')') {
                break;
            }
            k += 1;
        }
        let after = skip_ws(t, k);
        if t.get(after).is_some_and(|c| NOT_A_UNIT.contains(c)) {
            // 第十五届, 五险一金, 第5号: not a reference; the whole group is dropped.
            if raw.is_empty() {
                return None;
            }
            break;
        }
        match (range_next, raw.last_mut()) {
            (true, Some(last)) if v > last.0 && v - last.0 <= MAX_RANGE => last.1 = v,
            _ => {
                raw.push((v, v, None));
            }
        }
        j = after;
        if let Some((unit, len)) = unit_at(t, j) {
            for r in raw.iter_mut().skip(unassigned) {
                r.2 = Some(unit);
            }
            unassigned = raw.len();
            j += len;
            if unit == Unit::Point || unit == Unit::Article {
                let next = skip_ws(t, j);
                if starts_with(t, next, "建议")
                    || starts_with(t, next, "意见")
                    || starts_with(t, next, "看法")
                    || starts_with(t, next, "想法")
                {
                    // 我的第二条意见, 第一点建议：…, 第二条建议是…: the commenter's own points; 第十四点建议删除 is not.
                    if own_before(t, start) || matches!(t.get(next + 2), Some('是' | '：' | ':')) {
                        return Some((Vec::new(), j, false));
                    }
                }
                if unit == Unit::Point && matches!(t.get(next), Some('，' | ',' | '：' | ':' | '是')) {
                    own_point = true;
                }
            }
        }
        let k = skip_ws(t, j);
        let Some((is_range, len)) = connector_at(t, k) else { break };
        let mut m = skip_ws(t, k + len);
        if t.get(m) == Some(&'第') {
            m += 1;
        }
        let m2 = skip_ws(t, m);
        let m2 = if t.get(m2) == Some(&'(') { m2 + 1 } else { m2 };
        if read_num(t, skip_ws(t, m2)).is_none() {
            break;
        }
        range_next = is_range;
        j = m;
    }
    if raw.is_empty() {
        return None;
    }
    // A group without its unit names nothing, but it is consumed whole all the same: scanning it again from each of its
    // 第 would make a long hostile list quadratic.
    let items: Vec<Item> = raw
        .into_iter()
        .filter_map(|(lo, hi, unit)| match (unit, need_unit) {
            (Some(u), _) => Some(Item { lo, hi, unit: u }),
            (None, false) => Some(Item { lo, hi, unit: Unit::Article }),
            (None, true) => None,
        })
        .collect();
    Some((items, j, own_point))
}

/// 我的第一条, 我们的第二点: the commenter's own list.
fn own_before(t: &[char], start: usize) -> bool {
    // `start` is just after 第.
    let before = start.saturating_sub(1);
    before >= 1 && matches!(t[before - 1], '的' | '我')
}

fn unit_at(t: &[char], j: usize) -> Option<(Unit, usize)> {
    match t.get(j)? {
        '条' => Some((Unit::Article, 1)),
        '项' => Some((if starts_with(t, skip_ws(t, j + 1), "措施") { Unit::Article } else { Unit::Point }, 1)),
        '点' => Some((Unit::Point, 1)),
        '章' => Some((Unit::Chapter, 1)),
        '部' if t.get(j + 1) == Some(&'分') => Some((Unit::Chapter, 2)),
        _ => None,
    }
}

/// A list word (false) or a range word (true), and its length.
fn connector_at(t: &[char], k: usize) -> Option<(bool, usize)> {
    if starts_with(t, k, "以及") {
        return Some((false, 2));
    }
    match t.get(k)? {
        // Not the comma: 第一，第二条 is an ordinal adverb and then an article; 第五条，第六条 is found item by item.
        '、' | '和' | '及' | '与' | '或' | '/' | '&' => Some((false, 1)),
        '至' | '到' | '~' | '〜' | '-' | '−' | '–' => Some((true, 1)),
        '—' => Some((true, if t.get(k + 1) == Some(&'—') { 2 } else { 1 })),
        _ => None,
    }
}

fn starts_with(t: &[char], at: usize, s: &str) -> bool {
    (at..).zip(s.chars()).all(|(k, c)| t.get(k) == Some(&c))
}

fn skip_ws(t: &[char], mut j: usize) -> usize {
    while j < t.len() && t[j].is_whitespace() {
        j += 1;
    }
    j
}

fn is_cn_digit(c: char) -> bool {
    matches!(c, '零' | '〇' | '一' | '二' | '三' | '四' | '五' | '六' | '七' | '八' | '九' | '十')
}

/// An arabic or Chinese number at `j`, and where it ends. Long digit runs (years, phone numbers) come back as a
/// number no draft has, so they are consumed but never match.
fn read_num(t: &[char], j: usize) -> Option<(u32, usize)> {
    let c = *t.get(j)?;
    let mut k = j;
    if c.is_ascii_digit() {
        while k < t.len() && t[k].is_ascii_digit() {
            k += 1;
        }
        // 5G, 3D, 5.5: not a clause number.
        if t.get(k)
            .is_some_and(|c| c.is_ascii_alphabetic() || *c == '.' && t.get(k + 1).is_some_and(char::is_ascii_digit))
        {
            return None;
        }
        if k - j > 3 {
            return Some((u32::MAX, k));
        }
        return Some((t[j..k].iter().fold(0, |n, d| n * 10 + d.to_digit(10).unwrap_or(0)), k));
    }
    if !is_cn_digit(c) {
        return None;
    }
    while k < t.len() && is_cn_digit(t[k]) {
        k += 1;
    }
    Some((parse_cn(&t[j..k])?, k))
}

/// 一…九, 十, 十一…十九, 二十…九十九. Anything else (十五五, 一二) is not a clause number.
fn parse_cn(s: &[char]) -> Option<u32> {
    let d = |c: char| -> Option<u32> {
        Some(match c {
            '一' => 1,
            '二' => 2,
            '三' => 3,
            '四' => 4,
            '五' => 5,
            '六' => 6,
            '七' => 7,
            '八' => 8,
            '九' => 9,
            _ => return None,
        })
    };
    match s {
        [a] if *a == '十' => Some(10),
        [a] => d(*a),
        ['十', b] => Some(10 + d(*b)?),
        [a, '十'] => Some(10 * d(*a)?),
        [a, '十', b] => Some(10 * d(*a)? + d(*b)?),
        _ => None,
    }
}

/// 《劳动法》第五条, 劳动合同法第三十条, 国务院令第5号: the number belongs to another instrument. `i` is the 第.
fn other_law_before(title: &[char], t: &[char], i: usize) -> bool {
    let mut k = i;
    while k > 0 && t[k - 1].is_whitespace() {
        k -= 1;
    }
    // 劳动法的第五条, 《劳动法》中第五条.
    if k > 0 && matches!(t[k - 1], '的' | '中' | '里') {
        k -= 1;
        while k > 0 && t[k - 1].is_whitespace() {
            k -= 1;
        }
    }
    if k == 0 {
        return false;
    }
    let close = t[k - 1];
    let open = match close {
        '》' => Some('《'),
        '>' => Some('<'),
        '”' => Some('“'),
        '"' => Some('"'),
        '」' => Some('「'),
        _ => None,
    };
    if let Some(open) = open {
        let lo = k.saturating_sub(80);
        let Some(o) = (lo..k - 1).rev().find(|&p| t[p] == open) else { return false };
        let name = compact(&t[o + 1..k - 1]);
        return !names_this_draft(title, &name);
    }
    // The longest name that ends here: 本办法 is this draft although 法 ends it too.
    let Some(len) = OTHER_LAW_SUFFIXES
        .iter()
        .map(|s| (s, s.chars().count()))
        .filter(|&(s, len)| k >= len && starts_with(t, k - len, s))
        .map(|(_, len)| len)
        .max()
    else {
        return false;
    };
    let before = if k > len { t[k - len - 1] } else { ' ' };
    // 本办法, 该规定, 此意见, 上述规定: this draft.
    !matches!(before, '本' | '该' | '此' | '述')
}

/// A quoted name is this draft when it says so (本措施) or is mostly made of the draft's title (《若干措施》).
fn names_this_draft(title: &[char], name: &[char]) -> bool {
    if name.is_empty() || name.contains(&'本') || name.contains(&'该') {
        return true;
    }
    if name.len() < 3 {
        return title.windows(name.len()).any(|w| w == name);
    }
    let grams = name.len() - 2;
    let hits = name.windows(3).filter(|g| title.windows(3).any(|w| w == *g)).count();
    hits as f64 >= QUOTE_CONTAINMENT * grams as f64
}

/// Full-width ASCII to half-width, the ideographic space and control characters to a space, other dashes and tildes
/// to their ASCII forms, carriage returns to line feeds; one character for one.
pub(super) fn fold(text: &str) -> Vec<char> {
    text.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            '\r' => '\n',
            '\u{2212}' => '-',
            c if c.is_control() && c != '\n' => ' ',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// Only letters, digits and ideographs: quotes, punctuation and spaces do not decide whether a lead was quoted.
fn compact(t: &[char]) -> Vec<char> {
    t.iter().copied().filter(|&c| is_word_char(c)).collect()
}

fn gram_key(g: &[char]) -> u64 {
    (u64::from(g[0]) << 42) | (u64::from(g[1]) << 21) | u64::from(g[2])
}

/// The leads and chapter titles as sets of character 3-grams, looked up from the comment's 3-grams.
#[derive(Default)]
struct Quotes {
    /// 3-gram → (target, bit of that gram in the target's mask).
    grams: FxHashMap<u64, Vec<(u16, u8)>>,
    targets: Vec<(Target, u32)>,
}

impl Quotes {
    fn add(&mut self, target: Target, text: &str) {
        let t = compact(&fold(text));
        if t.len() < 2 + MIN_QUOTE_GRAMS || self.targets.len() >= usize::from(u16::MAX) {
            return;
        }
        let idx = self.targets.len() as u16;
        let mut seen: Vec<u64> = Vec::new();
        for g in t.windows(3) {
            let key = gram_key(g);
            if seen.contains(&key) || seen.len() == MAX_QUOTE_GRAMS {
                continue;
            }
            let bit = seen.len() as u8;
            seen.push(key);
            self.grams.entry(key).or_default().push((idx, bit));
        }
        self.targets.push((target, seen.len() as u32));
    }

    fn quoted(&self, t: &[char]) -> Vec<Target> {
        if self.targets.is_empty() {
            return Vec::new();
        }
        let c = compact(t);
        let mut masks = vec![0u64; self.targets.len()];
        for g in c.windows(3) {
            if let Some(hits) = self.grams.get(&gram_key(g)) {
                for &(idx, bit) in hits {
                    masks[usize::from(idx)] |= 1 << bit;
                }
            }
        }
        masks
            .iter()
            .zip(&self.targets)
            .filter(|(m, (_, n))| f64::from(m.count_ones()) >= QUOTE_CONTAINMENT * f64::from(*n))
            .map(|(_, (target, _))| *target)
            .collect()
    }
}
