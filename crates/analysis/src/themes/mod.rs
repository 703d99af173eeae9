//! Themes: the main points (主要意见) the public makes about one article, or about the draft as a whole.
//!
//! Pure and deterministic. The caller groups comments by article and calls [`build`] once a group, a campaign coming
//! in as one input weighted by its size; after staff have worked on the themes, [`place`] puts new comments into them
//! without moving anything staff saw.
//!
//! How ([`build`]):
//! 1. **Read.** jieba (the search index's dictionary, HMM off so a word is cut the same way everywhere) cuts each text
//!    into content words, dropping function words, stance words and the words every comment uses; Han words of three
//!    or more characters also give their two-character pieces at half weight. Terms are weighted TF-IDF within the
//!    group, and a term of the draft (the article's own text) weighs [`ThemeParams::draft_weight`] as much: every
//!    comment on the post-doctoral article says 博士后, which tells its points apart no more than 的 does.
//! 2. **Stance** ([`stance()`]) from a lexicon with negation. `Against` never shares a theme with `For` or `Suggest`.
//! 3. **Cluster.** Texts in a canonical order (by text, then id) so that input order cannot matter. Up to
//!    [`ThemeParams::exact_limit`] of them (the heaviest, then a hash of the text: a fair sample whatever the order) are
//!    clustered exactly by average link, stopped at [`ThemeParams::threshold`]. Every other text, in that same order,
//!    joins the theme whose mean it is most similar to (that similarity is its average similarity to the theme's
//!    members, so the one threshold means the same), or starts a theme of its own that later texts can join.
//! 4. **Describe.** Key phrases by c-TF-IDF (adjacent word pairs preferred), a label of the best two, the two or
//!    three sentences nearest the theme's centre, and the theme's stance.
//!
//! A text that fits nothing is a theme of one. There is no "其他" bucket: it would have to hold both sides of
//! questions (or be two buckets), it would hide a single well-argued point among noise, and staff can merge
//! small themes in one action while they cannot tell a bucket's points apart without reading it. Texts with no
//! content word at all ("同意！", "反对") do form one theme per stance, labelled 笼统支持 / 笼统反对 / 笼统建议 / 其他.

mod cluster;
mod describe;
mod features;
mod stance;
#[cfg(test)]
mod tests;

use std::hash::{Hash, Hasher};

use rustc_hash::{FxHashMap, FxHashSet, FxHasher};

use cluster::{Centroids, average_link};
use describe::{Member, describe};
use features::{Reading, Vocabulary, normalise, truncate};
use stance::Polarity;
pub use stance::{Stance, stance};

/// One text of a group: a comment, or a campaign's representative weighted by the campaign's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThemeInput<'a> {
    /// The comment's id (a campaign's representative's).
    pub id: i64,
    pub text: &'a str,
    /// 1, or the campaign's size. 0 is read as 1.
    pub weight: u32,
}

/// A theme as the engine proposes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ThemeDraft {
    /// The best one or two key phrases, "博士后 · 年龄" style, at most 24 characters.
    pub label: String,
    /// Up to five, best first (fewer only when the members have fewer content words).
    pub key_phrases: Vec<String>,
    /// Up to three sentences from members' texts, the most typical first, from different members where there are
    /// several; each at most 120 characters (a longer sentence is cut after a comma), control characters removed.
    pub representatives: Vec<String>,
    pub stance: Stance,
    /// Input ids, ascending.
    pub members: Vec<i64>,
    /// The members' weights summed.
    pub comments: u64,
    /// `members.len()`.
    pub distinct: usize,
}

/// Parameters of [`build`] and [`place`]. The defaults were tuned on bench/themes/labelled.jsonl (see its README).
#[derive(Debug, Clone, PartialEq)]
pub struct ThemeParams {
    /// The average cosine similarity (TF-IDF) at which a text joins a theme, or two themes join. Two wordings of one
    /// point share few words (年龄放宽到40岁 / 四十岁的年龄线), so it is low; raising it splits points into their
    /// wordings, lowering it joins the different points on one article that share its subject.
    pub threshold: f32,
    /// The weight of a term of the draft relative to other terms of the same rarity: low enough that "the comments
    /// all mention 博士后" does not join them, not zero because the article's terms still say which part of it a
    /// comment is about (年龄 versus 奖励).
    pub draft_weight: f32,
    /// How many texts (the heaviest first) are clustered exactly. The exact step needs n² floats of memory (16 MB at
    /// 2,000) and n² time; the rest are placed against its themes in time linear in their number.
    pub exact_limit: usize,
    /// Only a text's first characters are read (for its words, stance and representatives): a consultation caps an
    /// opinion at a few thousand characters, and a pasted book must not cost more than that.
    pub max_chars: usize,
    /// The number of heaviest terms of a theme's mean kept to place texts against it.
    pub centroid_terms: usize,
    /// At most this many themes are found through one term (see `Centroids::add`).
    pub posting_cap: usize,
}

impl Default for ThemeParams {
    fn default() -> Self {
        ThemeParams {
            threshold: 0.10,
            draft_weight: 0.8,
            exact_limit: 2000,
            max_chars: 5000,
            centroid_terms: 64,
            posting_cap: 2000,
        }
    }
}

/// A theme staff have (or may have) worked on: its caller's id and its members as they stand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingTheme<'a> {
    pub id: i64,
    pub members: Vec<ThemeInput<'a>>,
}

/// What [`place`] decided.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Placement {
    /// (input id, theme id), by input id.
    pub joined: Vec<(i64, i64)>,
    /// Themes of the inputs that fit no existing theme, as [`build`] makes them from those inputs alone.
    pub new_themes: Vec<ThemeDraft>,
}

/// The group's texts, read: in canonical order, with their stances and weights.
struct Group<'a> {
    inputs: Vec<ThemeInput<'a>>,
    readings: Vec<Reading>,
    stances: Vec<Stance>,
    vocabulary: Vocabulary,
}

fn read_group<'a>(
    inputs: impl IntoIterator<Item = ThemeInput<'a>>,
    extra: &[&str],
    draft: &str,
    params: &ThemeParams,
) -> (Group<'a>, Vec<Reading>) {
    let mut inputs: Vec<ThemeInput<'a>> = inputs.into_iter().collect();
    inputs.sort_by(|a, b| a.text.cmp(b.text).then(a.id.cmp(&b.id)));
    let mut vocabulary = Vocabulary::new();
    // The draft is read at full length: it is ours, and its words are what must weigh less.
    let draft_terms = vocabulary.draft_terms(draft, usize::MAX);
    let mut readings: Vec<Reading> = inputs.iter().map(|i| vocabulary.read(i.text, params.max_chars, true)).collect();
    let mut extra: Vec<Reading> = extra.iter().map(|t| vocabulary.read(t, params.max_chars, true)).collect();
    vocabulary.weigh(readings.len() + extra.len(), &draft_terms, params.draft_weight);
    for r in readings.iter_mut().chain(extra.iter_mut()) {
        vocabulary.vectorise(r);
    }
    let stances = inputs.iter().map(|i| stance(prefix(i.text, params.max_chars))).collect();
    (Group { inputs, readings, stances, vocabulary }, extra)
}

fn prefix(text: &str, chars: usize) -> &str {
    text.char_indices().nth(chars).map_or(text, |(i, _)| &text[..i])
}

/// Themes of one group, largest first (by comments; ties by smallest member id). Deterministic: the same inputs (in
/// any order) give the same themes.
pub fn build(inputs: &[ThemeInput<'_>], draft: &str, params: &ThemeParams) -> Vec<ThemeDraft> {
    if inputs.is_empty() {
        return Vec::new();
    }
    let (mut group, _) = read_group(inputs.iter().copied(), &[], draft, params);
    let theme_of = cluster_group(&group, params);
    drafts(&mut group, &theme_of, params)
}

/// For each text (canonical position), its theme's key: equal keys, same theme.
fn cluster_group(group: &Group<'_>, params: &ThemeParams) -> Vec<usize> {
    let n = group.inputs.len();
    let mut theme_of: Vec<usize> = (0..n).collect();
    // Copies of one text, and texts without a content word of one stance, are one theme from the start; only the
    // first of each goes on to be clustered.
    let mut first_of_text: FxHashMap<&str, usize> = FxHashMap::default();
    let mut first_empty: FxHashMap<Stance, usize> = FxHashMap::default();
    let mut unique: Vec<usize> = Vec::new();
    for (k, theme) in theme_of.iter_mut().enumerate() {
        if !group.readings[k].has_content {
            *theme = *first_empty.entry(group.stances[k]).or_insert(k);
        } else if let Some(&first) = first_of_text.get(group.inputs[k].text) {
            *theme = first;
        } else {
            first_of_text.insert(group.inputs[k].text, k);
            unique.push(k);
        }
    }
    // The texts clustered exactly: the heaviest, then by a hash of the text, a sample that does not depend on the
    // input order nor favour texts that sort early.
    let mut text_weight: FxHashMap<usize, u64> = FxHashMap::default();
    for (input, &theme) in group.inputs.iter().zip(&theme_of) {
        *text_weight.entry(theme).or_default() += u64::from(input.weight.max(1));
    }
    let mut priority = unique.clone();
    priority.sort_by_key(|&k| {
        let mut h = FxHasher::default();
        group.inputs[k].text.hash(&mut h);
        (std::cmp::Reverse(text_weight[&k]), h.finish(), k)
    });
    let exact = &priority[..priority.len().min(params.exact_limit.max(1))];
    let vectors: Vec<&[(u32, f32)]> = exact.iter().map(|&k| group.readings[k].vector.as_slice()).collect();
    let polarity: Vec<Polarity> = exact.iter().map(|&k| group.stances[k].polarity()).collect();
    let roots = average_link(&vectors, &polarity, params.threshold);
    for (i, &k) in exact.iter().enumerate() {
        theme_of[k] = exact[roots[i]];
    }
    if priority.len() > exact.len() {
        // The exact themes as centroids, then every other text joins one or starts its own.
        let mut centroids = Centroids::new(params.posting_cap);
        let mut key_of_centroid: Vec<usize> = Vec::new();
        let mut members: FxHashMap<usize, Vec<usize>> = FxHashMap::default();
        for (i, &k) in exact.iter().enumerate() {
            members.entry(exact[roots[i]]).or_default().push(k);
        }
        let mut keys: Vec<usize> = members.keys().copied().collect();
        keys.sort_unstable();
        for key in keys {
            let ms = &members[&key];
            let mut mean = features::sum(ms.iter().map(|&k| group.readings[k].vector.as_slice()));
            let size = ms.len() as f32;
            mean.iter_mut().for_each(|(_, w)| *w /= size);
            let polarity = ms.iter().fold(Polarity::None, |p, &k| p.join(group.stances[k].polarity()));
            centroids.add(&truncate(mean, params.centroid_terms), polarity, false);
            key_of_centroid.push(key);
        }
        for &k in &priority[exact.len()..] {
            let vector = &group.readings[k].vector;
            let polarity = group.stances[k].polarity();
            match centroids.best(vector, polarity, params.threshold) {
                Some(c) => {
                    theme_of[k] = key_of_centroid[c as usize];
                    centroids.joined(c, polarity);
                }
                None => {
                    let c = centroids.add(&truncate(vector.clone(), params.centroid_terms), polarity, false);
                    debug_assert_eq!(c as usize, key_of_centroid.len());
                    key_of_centroid.push(k);
                }
            }
        }
    }
    // Copies follow their first text.
    for k in 0..n {
        let first = theme_of[k];
        if first != k {
            theme_of[k] = theme_of[first];
        }
    }
    theme_of
}

fn drafts(group: &mut Group<'_>, theme_of: &[usize], params: &ThemeParams) -> Vec<ThemeDraft> {
    let mut by_theme: FxHashMap<usize, Vec<usize>> = FxHashMap::default();
    for (k, &t) in theme_of.iter().enumerate() {
        by_theme.entry(t).or_default().push(k);
    }
    group.vocabulary.keep_unique_terms();
    let mut themes: Vec<Vec<usize>> = by_theme.into_values().collect();
    themes.sort_unstable_by_key(|ms| ms[0]);
    let mut out = Vec::with_capacity(themes.len());
    for ms in themes {
        let members: Vec<Member<'_>> = ms
            .iter()
            .map(|&k| Member {
                text: group.inputs[k].text,
                reading: &group.readings[k],
                stance: group.stances[k],
                weight: group.inputs[k].weight.max(1),
                rank: k,
            })
            .collect();
        let d = describe(&members, &mut group.vocabulary, params.max_chars);
        let mut ids: Vec<i64> = ms.iter().map(|&k| group.inputs[k].id).collect();
        ids.sort_unstable();
        out.push(ThemeDraft {
            label: d.label,
            key_phrases: d.key_phrases,
            representatives: d.representatives,
            stance: d.stance,
            distinct: ids.len(),
            comments: ms.iter().map(|&k| u64::from(group.inputs[k].weight.max(1))).sum(),
            members: ids,
        });
    }
    out.sort_by(|a, b| b.comments.cmp(&a.comments).then(a.members[0].cmp(&b.members[0])));
    out
}

/// Places new inputs into existing themes without changing any existing membership: each new input joins the theme
/// it is most similar to on average (at or above the threshold, and never a theme of the opposite side; a theme staff
/// made of both sides takes only inputs without a side), an exact copy of a member joins that member's theme, and
/// the inputs that fit none become new themes, built from them alone.
pub fn place(existing: &[ExistingTheme<'_>], new: &[ThemeInput<'_>], draft: &str, params: &ThemeParams) -> Placement {
    if new.is_empty() {
        return Placement::default();
    }
    // Existing members are read beside the new inputs so the weights reflect the whole group; their order is made
    // canonical too (themes by id, members by text and id).
    let mut themes: Vec<&ExistingTheme<'_>> = existing.iter().filter(|t| !t.members.is_empty()).collect();
    themes.sort_by_key(|t| t.id);
    let mut old_members: Vec<Vec<&ThemeInput<'_>>> = themes
        .iter()
        .map(|t| {
            let mut ms: Vec<&ThemeInput<'_>> = t.members.iter().collect();
            ms.sort_by(|a, b| a.text.cmp(b.text).then(a.id.cmp(&b.id)));
            ms
        })
        .collect();
    let old_texts: Vec<&str> = old_members.iter().flatten().map(|m| m.text).collect();
    let (group, old_readings) = read_group(new.iter().copied(), &old_texts, draft, params);

    let mut copy_of: FxHashMap<&str, i64> = FxHashMap::default();
    let mut centroids = Centroids::new(params.posting_cap);
    let mut next = 0;
    for (theme, ms) in themes.iter().zip(old_members.iter_mut()) {
        let readings = &old_readings[next..next + ms.len()];
        next += ms.len();
        for m in ms.iter() {
            copy_of.entry(m.text).or_insert(theme.id);
        }
        let mut mean = features::sum(readings.iter().map(|r| r.vector.as_slice()));
        let size = ms.len() as f32;
        mean.iter_mut().for_each(|(_, w)| *w /= size);
        let (mut positive, mut negative) = (false, false);
        for m in ms.iter() {
            match stance(prefix(m.text, params.max_chars)).polarity() {
                Polarity::Positive => positive = true,
                Polarity::Negative => negative = true,
                Polarity::None => {}
            }
        }
        let polarity = match (positive, negative) {
            (true, false) => Polarity::Positive,
            (false, true) => Polarity::Negative,
            _ => Polarity::None,
        };
        centroids.add(&truncate(mean, params.centroid_terms.max(128)), polarity, positive && negative);
    }
    debug_assert_eq!(centroids.len(), themes.len());

    let mut joined = Vec::new();
    let mut leftovers: Vec<ThemeInput<'_>> = Vec::new();
    let mut seen: FxHashSet<i64> = FxHashSet::default();
    for (k, input) in group.inputs.iter().enumerate() {
        if !seen.insert(input.id) {
            continue;
        }
        let theme = copy_of.get(input.text).copied().or_else(|| {
            let mut v = group.readings[k].vector.clone();
            normalise(&mut v);
            // Placements do not change the centroids, so each new input is placed on its own and order cannot
            // matter.
            centroids.best(&v, group.stances[k].polarity(), params.threshold).map(|c| themes[c as usize].id)
        });
        match theme {
            Some(t) => joined.push((input.id, t)),
            None => leftovers.push(*input),
        }
    }
    joined.sort_unstable();
    Placement { joined, new_themes: build(&leftovers, draft, params) }
}
