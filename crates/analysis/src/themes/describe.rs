//! What staff read of a theme: its key phrases, its label, its most typical sentences, its stance.

use rustc_hash::FxHashMap;

use super::features::{GAP, Reading, Vocabulary, dot, normalise};
use super::stance::Stance;

/// At most this many members (the nearest the theme's centre) are read for the label, and a tenth of it for the
/// representatives: beyond that a large theme's words are already settled, and the cost stays bounded.
const DESCRIBE_MEMBERS: usize = 300;
const LABEL_CHARS: usize = 24;
const SENTENCE_CHARS: usize = 120;

pub(crate) struct Description {
    pub(crate) label: String,
    pub(crate) key_phrases: Vec<String>,
    pub(crate) representatives: Vec<String>,
    pub(crate) stance: Stance,
}

/// One member as the describer needs it.
pub(crate) struct Member<'a> {
    pub(crate) text: &'a str,
    pub(crate) reading: &'a Reading,
    pub(crate) stance: Stance,
    pub(crate) weight: u32,
    /// Its place in the canonical order, for ties.
    pub(crate) rank: usize,
}

pub(crate) fn describe(members: &[Member<'_>], vocabulary: &mut Vocabulary, max_chars: usize) -> Description {
    let mut centre = super::features::sum(members.iter().map(|m| m.reading.vector.as_slice()));
    normalise(&mut centre);
    let mut nearest: Vec<(f32, usize)> =
        members.iter().enumerate().map(|(k, m)| (dot(&m.reading.vector, &centre), k)).collect();
    nearest.sort_by(|a, b| b.0.total_cmp(&a.0).then(members[a.1].rank.cmp(&members[b.1].rank)));
    nearest.truncate(DESCRIBE_MEMBERS);
    let key_phrases = key_phrases(members, &nearest, vocabulary);
    let label = label(&key_phrases, members);
    let representatives = representatives(members, &nearest, &centre, vocabulary, max_chars);
    Description { label, key_phrases, representatives, stance: theme_stance(members) }
}

/// c-TF-IDF: a term scores by the share of the theme's members that use it times its weight in the group (rare in the
/// group, not from the draft). Two adjacent words used by at least two members are preferred to either word alone:
/// "培训补贴" says more than "补贴".
fn key_phrases(members: &[Member<'_>], nearest: &[(f32, usize)], vocabulary: &Vocabulary) -> Vec<String> {
    let m = nearest.len() as f32;
    let mut words: FxHashMap<u32, u32> = FxHashMap::default();
    let mut pairs: FxHashMap<(u32, u32), u32> = FxHashMap::default();
    for &(_, k) in nearest {
        let seq = &members[k].reading.words;
        let mut seen_words: Vec<u32> = seq.iter().copied().filter(|&w| w != GAP).collect();
        seen_words.sort_unstable();
        seen_words.dedup();
        for w in seen_words {
            *words.entry(w).or_default() += 1;
        }
        let mut seen_pairs: Vec<(u32, u32)> =
            seq.windows(2).filter(|p| p[0] != GAP && p[1] != GAP && p[0] != p[1]).map(|p| (p[0], p[1])).collect();
        seen_pairs.sort_unstable();
        seen_pairs.dedup();
        for p in seen_pairs {
            *pairs.entry(p).or_default() += 1;
        }
    }
    let min_pair = if nearest.len() > 1 { 2 } else { 1 };
    let mut candidates: Vec<(f32, String)> = Vec::new();
    for (&w, &count) in &words {
        let text = &vocabulary.words[w as usize];
        candidates.push((count as f32 / m * vocabulary.weight(w), text.to_string()));
    }
    for (&(a, b), &count) in &pairs {
        if count < min_pair {
            continue;
        }
        let text = format!("{}{}", vocabulary.words[a as usize], vocabulary.words[b as usize]);
        if text.chars().count() > 10 {
            continue;
        }
        let weight = (vocabulary.weight(a) + vocabulary.weight(b)) / 2.0;
        candidates.push((count as f32 / m * weight * 1.3, text));
    }
    candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let top = candidates.first().map_or(0.0, |c| c.0);
    let mut chosen: Vec<String> = Vec::new();
    for (score, text) in candidates {
        if chosen.len() >= 5 || (chosen.len() >= 2 && score < top * 0.35) {
            break;
        }
        if chosen.iter().any(|c| c.contains(text.as_str()) || text.contains(c.as_str())) {
            continue;
        }
        chosen.push(text);
    }
    chosen
}

/// The two best key phrases, or a plain word for a theme of texts with no content words ("同意！").
fn label(key_phrases: &[String], members: &[Member<'_>]) -> String {
    if key_phrases.is_empty() {
        return match theme_stance(members) {
            Stance::For => "笼统支持",
            Stance::Against => "笼统反对",
            Stance::Suggest => "笼统建议",
            Stance::Neutral => "其他",
        }
        .to_owned();
    }
    let mut label = key_phrases[0].clone();
    if let Some(second) = key_phrases.get(1)
        && label.chars().count() + 3 + second.chars().count() <= LABEL_CHARS
    {
        label.push_str(" · ");
        label.push_str(second);
    }
    label.chars().take(LABEL_CHARS).collect()
}

/// The sentences nearest the theme's centre, from different members where the theme has several.
fn representatives(
    members: &[Member<'_>],
    nearest: &[(f32, usize)],
    centre: &[(u32, f32)],
    vocabulary: &mut Vocabulary,
    max_chars: usize,
) -> Vec<String> {
    let mut scored: Vec<(f32, usize, usize, String)> = Vec::new();
    for &(_, k) in nearest.iter().take(DESCRIBE_MEMBERS / 10) {
        let member = &members[k];
        let end = member.text.char_indices().nth(max_chars).map_or(member.text.len(), |(i, _)| i);
        for (s, sentence) in sentences(&member.text[..end]).into_iter().enumerate() {
            let mut reading = vocabulary.read(&sentence, max_chars, false);
            vocabulary.vectorise(&mut reading);
            scored.push((dot(&reading.vector, centre), member.rank, s, sentence));
        }
    }
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut chosen: Vec<String> = Vec::new();
    let mut from: Vec<usize> = Vec::new();
    for pass in 0..2 {
        for (_, rank, _, sentence) in &scored {
            if chosen.len() >= 3 {
                break;
            }
            if chosen.contains(sentence) || (pass == 0 && from.contains(rank)) {
                continue;
            }
            chosen.push(sentence.clone());
            from.push(*rank);
        }
    }
    chosen
}

/// A text's sentences with their closing punctuation, control characters removed (they would break the page that
/// shows them), each at most [`SENTENCE_CHARS`] characters: a longer one is cut after its last comma within the
/// limit, or at the limit.
pub(crate) fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut flush = |current: &mut String| {
        let s = current.trim();
        if s.chars().any(|c| c.is_alphanumeric()) {
            let chars: Vec<char> = s.chars().collect();
            let s: String = if chars.len() > SENTENCE_CHARS {
                let cut = chars[..SENTENCE_CHARS]
                    .iter()
                    .rposition(|&c| matches!(c, '，' | ',' | '、'))
                    .filter(|&p| p >= SENTENCE_CHARS / 3)
                    .map_or(SENTENCE_CHARS, |p| p + 1);
                chars[..cut].iter().collect()
            } else {
                s.to_owned()
            };
            out.push(s);
        }
        current.clear();
    };
    for c in text.chars() {
        if c.is_control() {
            if c == '\n' {
                flush(&mut current);
            }
            continue;
        }
        current.push(c);
        if matches!(c, '。' | '！' | '？' | '!' | '?' | '；' | ';') {
            flush(&mut current);
        }
    }
    flush(&mut current);
    out
}

/// `Against` if any member is against (the clustering keeps such themes free of supporters); otherwise the heavier
/// of `For` and `Suggest` (by comments); `Neutral` if no member takes a side.
pub(crate) fn theme_stance(members: &[Member<'_>]) -> Stance {
    let (mut for_, mut suggest) = (0u64, 0u64);
    for m in members {
        match m.stance {
            Stance::Against => return Stance::Against,
            Stance::For => for_ += u64::from(m.weight),
            Stance::Suggest => suggest += u64::from(m.weight),
            Stance::Neutral => {}
        }
    }
    if for_ == 0 && suggest == 0 {
        Stance::Neutral
    } else if for_ >= suggest {
        Stance::For
    } else {
        Stance::Suggest
    }
}
