//! The position a comment takes, from a lexicon.
//!
//! A lexicon rather than a model: it is explainable to staff ("it says 反对"), deterministic, costs microseconds, and
//! the one thing it must guarantee — that a theme never holds both sides of one question — needs only the polarity of
//! a text, not its nuance. Its blind spots (irony, a "but" that reverses the sentence) cost a comment its best theme,
//! never a mixed theme: the clustering refuses to join opposite polarities whatever the words.

use std::sync::LazyLock;

/// What a comment says about the thing it discusses.
///
/// `For` and `Suggest` are on the same side: a suggestion to raise a subsidy and support for the subsidy are both
/// opposed to "the subsidy is already too high". So the rule kept by [`super::build`] and [`super::place`] is: no theme
/// holds both an `Against` member and a `For` or `Suggest` member. `Neutral` joins either side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stance {
    /// Supports what the draft proposes (支持, 赞成, 点赞, 很好…).
    For,
    /// Opposes it or finds fault (反对, 不同意, 不应, 取消, 担心, 过高, 不合理…).
    Against,
    /// Proposes a change without taking a side for or against (建议, 希望, 能否…).
    Suggest,
    /// None of these.
    Neutral,
}

impl Stance {
    /// For exports and the API: `for`, `against`, `suggest`, `neutral`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stance::For => "for",
            Stance::Against => "against",
            Stance::Suggest => "suggest",
            Stance::Neutral => "neutral",
        }
    }

    pub(crate) fn polarity(self) -> Polarity {
        match self {
            Stance::For | Stance::Suggest => Polarity::Positive,
            Stance::Against => Polarity::Negative,
            Stance::Neutral => Polarity::None,
        }
    }
}

/// The side a comment or a theme is on; only `Positive` and `Negative` exclude each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Polarity {
    None,
    Positive,
    Negative,
}

impl Polarity {
    pub(crate) fn compatible(self, other: Polarity) -> bool {
        !matches!((self, other), (Polarity::Positive, Polarity::Negative) | (Polarity::Negative, Polarity::Positive))
    }

    pub(crate) fn join(self, other: Polarity) -> Polarity {
        if self == Polarity::None { other } else { self }
    }
}

/// Opposition and fault-finding. Checked first: a for-word inside one of these (合理 in 不合理, 必要 in 没有必要)
/// does not count.
const AGAINST: &[&str] = &[
    "反对",
    "不同意",
    "不赞成",
    "不赞同",
    "不支持",
    "不认同",
    "不认可",
    "不应",
    "不宜",
    "不该",
    "不妥",
    "欠妥",
    "不合理",
    "不公平",
    "不公正",
    "有失公",
    "不科学",
    "不可取",
    "不现实",
    "没有必要",
    "没必要",
    "不必要",
    "无必要",
    "不必",
    "不建议",
    "不平衡",
    "取消",
    "删除",
    "删去",
    "删掉",
    "担心",
    "担忧",
    "过高",
    "过于",
    "过宽",
    "过松",
    "过多",
    "过大",
    "偏高",
    "太高",
    "太宽",
    "浪费",
    "值得商榷",
    "弊大于利",
    "不利于",
    "质疑",
    "叫停",
    "收回",
];

/// Support.
const FOR: &[&str] = &[
    "支持",
    "赞成",
    "赞同",
    "同意",
    "拥护",
    "点赞",
    "认可",
    "肯定",
    "欢迎",
    "很好",
    "好政策",
    "好做法",
    "好举措",
    "合理",
    "必要",
    "及时雨",
    "叫好",
    "受益",
    "认同",
];

/// A proposal.
const SUGGEST: &[&str] = &[
    "建议",
    "希望",
    "可以考虑",
    "不妨",
    "应当",
    "应该",
    "能否",
    "能不能",
    "可否",
    "最好",
    "恳请",
    "请求",
    "请考虑",
    "呼吁",
    "盼望",
    "期望",
];

/// Words that turn a for-word into its opposite when they come just before it (不支持 is listed, 不认可 too, but 没
/// 认可, 未同意, 难以认同 are caught here).
const NEGATORS: &[char] = &['不', '没', '未', '无', '非', '难'];
const NEGATORS2: &[[char; 2]] = &[['难', '以'], ['无', '法'], ['不', '能'], ['不', '太'], ['并', '非']];

/// The stance of one text (full-width forms already folded or not: the lexicon is all ideographs).
pub fn stance(text: &str) -> Stance {
    let chars: Vec<char> = text.chars().collect();
    let mut covered = vec![false; chars.len()];
    let mut against = 0usize;
    let mut for_ = 0usize;
    for_each_match(&chars, &AGAINST_LEX, |start, end| {
        // 不担心, 并不过高: the fault is denied, which is no stance either way.
        if start > 0 && matches!(chars[start - 1], '不' | '没' | '无') && chars[start] != '不' {
            if chars[start..end].starts_with(&['反', '对']) {
                for_ += 1;
            }
        } else {
            against += 1;
        }
        covered[start..end].iter_mut().for_each(|c| *c = true);
    });
    for_each_match(&chars, &FOR_LEX, |start, end| {
        if covered[start..end].iter().any(|&c| c) {
            return;
        }
        let negated = (start > 0 && NEGATORS.contains(&chars[start - 1]))
            || (start > 1 && NEGATORS2.iter().any(|n| chars[start - 2..start] == n[..]));
        if negated {
            against += 1;
        } else {
            for_ += 1;
        }
    });
    // A text that names a fault is against, even beside a word of support ("支持…，但担心…"): putting it with the
    // supporters is the mistake that must not happen; keeping it apart only costs it the better theme.
    if against > 0 && against >= for_ {
        return Stance::Against;
    }
    if for_ > 0 {
        return Stance::For;
    }
    let mut suggest = false;
    for_each_match(&chars, &SUGGEST_LEX, |_, _| suggest = true);
    if suggest { Stance::Suggest } else { Stance::Neutral }
}

/// The stance words: they say which side a text is on, not what it is about, so they are not content words.
pub(crate) const LEXICON: [&[&str]; 3] = [AGAINST, FOR, SUGGEST];

/// A lexicon by first character, so a text is read once rather than once a word.
struct Lexicon(rustc_hash::FxHashMap<char, Vec<Vec<char>>>);

impl Lexicon {
    fn new(words: &[&str]) -> Lexicon {
        let mut map: rustc_hash::FxHashMap<char, Vec<Vec<char>>> = Default::default();
        for word in words {
            let w: Vec<char> = word.chars().collect();
            map.entry(w[0]).or_default().push(w);
        }
        Lexicon(map)
    }
}

static AGAINST_LEX: LazyLock<Lexicon> = LazyLock::new(|| Lexicon::new(AGAINST));
static FOR_LEX: LazyLock<Lexicon> = LazyLock::new(|| Lexicon::new(FOR));
static SUGGEST_LEX: LazyLock<Lexicon> = LazyLock::new(|| Lexicon::new(SUGGEST));

/// Every occurrence of every word (overlaps included), as character ranges.
fn for_each_match(chars: &[char], lexicon: &Lexicon, mut f: impl FnMut(usize, usize)) {
    for start in 0..chars.len() {
        let Some(words) = lexicon.0.get(&chars[start]) else { continue };
        for w in words {
            if chars[start..].starts_with(w) {
                f(start, start + w.len());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexicon_and_negation() {
        let cases = [
            ("支持延长试点期限", Stance::For),
            ("反对延长试点期限", Stance::Against),
            ("不支持延长", Stance::Against),
            ("难以认同这种做法", Stance::Against),
            ("这个标准不合理", Stance::Against),
            ("没有必要提高补贴", Stance::Against),
            ("这项改革非常必要", Stance::For),
            ("我不反对这一条", Stance::For),
            ("并不担心财政压力，建议提高补贴", Stance::Suggest),
            ("建议提高补贴标准", Stance::Suggest),
            ("补贴标准已经过高", Stance::Against),
            ("支持，但担心执行走样", Stance::Against),
            ("第七条规定了博士后的年龄", Stance::Neutral),
            ("", Stance::Neutral),
        ];
        for (text, expected) in cases {
            assert_eq!(stance(text), expected, "{text}");
        }
    }

    #[test]
    fn opposite_polarities_exclude_each_other_only() {
        assert!(!Polarity::Positive.compatible(Polarity::Negative));
        assert!(Polarity::None.compatible(Polarity::Negative));
        assert!(Stance::Suggest.polarity().compatible(Stance::For.polarity()));
        assert!(!Stance::Suggest.polarity().compatible(Stance::Against.polarity()));
    }
}
