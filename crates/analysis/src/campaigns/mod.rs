//! Campaign detection: comments that are copies or near-copies of one text, found so that staff can see a campaign
//! as one thing (issue 13).
//!
//! Pure: no I/O, no clock. The caller hands in a consultation's comments as `(id, text)` and the draft's article
//! texts; ids are expected to grow with arrival, as the store assigns them.
//!
//! # How
//!
//! 1. A text is [`normalise`]d. One shorter than [`Params::short_len`] characters is a short answer (同意, 支持):
//!    identical ones are grouped as such and are never part of a campaign. Longer ones with the same normalised
//!    form are exact copies.
//! 2. Its character [`Params::shingle`]-grams are hashed; those that also occur in the draft are dropped, so that
//!    quoting the draft makes no two comments alike.
//! 3. Candidates come from MinHash LSH: a one-permutation MinHash of [`Params::bands`] × [`Params::rows`] bins,
//!    banded; each band's bucket holds its most recent [`Params::bucket_scan`] texts, and the
//!    [`Params::max_verify`] candidates sharing the most bands are verified. A lone text is put in all its buckets; a
//!    campaign's core member only in those holding fewer than [`Params::per_campaign`] core members of it; a
//!    non-core member in none. So a big campaign does not crowd its buckets, and a copy still meets its core.
//! 4. Verification is the exact Jaccard similarity of the two shingle *sets*, so reordered sentences cost nothing.
//!    Below [`Params::same`], a likeness must also be shaped like a copy's: spread over several sentences of the text
//!    placed, not one sentence shared by comments of their own, and not a template letter's shared frame around
//!    sentences of the sender's own (`Index::shared_like_a_copy`).
//! 5. Grouping guards against chaining. A campaign is born only of two texts at least [`Params::core`] alike (or of
//!    exact copies); they are its core. A text joins a campaign if it is at least [`Params::link`] like one of its
//!    core members, and is itself core only if that likeness reaches [`Params::core`]. Non-core members recruit no
//!    one (except near-exact copies of themselves, [`Params::same`]), so every member is one weak step from a core
//!    of close copies: a drift A~B~C~… away from the template cannot pull in a comment that merely shares a
//!    sentence with the last link. When a campaign forms, or a core member joins, the earlier lone comments like it
//!    are pulled in with it. A text at least `core` like core members of two campaigns shows they are one (their
//!    cores formed apart, before either was found by the other's copies): they are merged, under the older root.
//!
//! Comments are taken in ascending id order, one at a time, by the same code in [`Detector::detect`] and
//! [`Index::insert`]; hence a full run gives the same groups whatever the input order, and an index fed the comments
//! as they arrive agrees with a full run over them. A campaign is named by its root, its smallest member id, which
//! does not change as later members join: that is what keeps campaign ids stable across re-runs.
//!
//! The representative is the core member with the most verified likenesses within its campaign (counting its exact
//! copies): the most typical text, the template when it was sent unchanged.

mod buckets;
mod diff;
mod text;

pub use diff::{Span, diff};
pub use text::normalise;

use buckets::Buckets;
use rustc_hash::{FxHashMap, FxHashSet};

/// Thresholds and sizes. The defaults were chosen on the benchmark corpus (bench/campaigns/README.md).
#[derive(Clone, Debug)]
pub struct Params {
    /// A normalised text shorter than this many characters is a short answer, never a campaign.
    pub short_len: usize,
    /// Shingle length in characters.
    pub shingle: usize,
    /// LSH bands.
    pub bands: usize,
    /// MinHash values per band.
    pub rows: usize,
    /// How many of a bucket's most recent texts are candidates. Bounds the work per comment when a bucket is a big
    /// campaign's (whose recent members serve as well as its old ones) or a common phrase's.
    pub bucket_scan: usize,
    /// How many candidates, those sharing the most bands first, are verified.
    pub max_verify: usize,
    /// How many core members of one campaign a bucket holds. A text that joins a campaign whose core members already
    /// fill a bucket of its own is not added there (nor is a non-core member anywhere): a later copy finds the
    /// campaign through the members that are there, and the buckets of a big campaign stay short.
    pub per_campaign: usize,
    /// Jaccard similarity that makes two texts a campaign's core.
    pub core: f64,
    /// Jaccard similarity with a core member that makes a text a member.
    pub link: f64,
    /// Jaccard similarity with a non-core member that makes a text a member: near-exact copies only.
    pub same: f64,
    /// A text with fewer shingles of its own (not in the draft) is only ever grouped with its exact copies.
    pub min_shingles: usize,
    /// Shingles that a text less than `core` like a campaign's member must share with it outside the one sentence
    /// (of the text placed) sharing the most: the likeness must span several sentences. A heavily edited copy keeps
    /// all but one of its template's sentences; a comment of its own that quotes one sentence of a template, or
    /// happens to contain it, shares that sentence only.
    pub spread: usize,
    /// Sentences of a text's own between sentences it shares with another text that make the two not alike (below
    /// `same`): a template letter's frame. See `Index::shared_like_a_copy`.
    pub enclosed: usize,
    /// Shingles a sentence needs to count as one in the `spread` and `enclosed` rules.
    pub min_sentence: usize,
    /// Shared shingles in one sentence that make a copied passage on their own, so that `spread` is not asked: a
    /// template of one long sentence (Chinese strings its clauses with commas) has no second sentence to share, and
    /// sixty characters the same, word for word, are copied, not met by chance.
    pub long_passage: usize,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            short_len: 20,
            shingle: 3,
            bands: 20,
            rows: 2,
            bucket_scan: 16,
            max_verify: 32,
            per_campaign: 4,
            core: 0.7,
            link: 0.27,
            same: 0.9,
            min_shingles: 8,
            spread: 6,
            enclosed: 2,
            min_sentence: 4,
            long_passage: 60,
        }
    }
}

/// Comments found to be one thing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// Ascending. The first is the group's root, which names it.
    pub members: Vec<i64>,
    /// The most typical member.
    pub representative: i64,
}

impl Group {
    /// The smallest member id, which names the group.
    pub fn root(&self) -> i64 {
        self.members[0]
    }
}

/// The result of a detection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Detection {
    /// Groups of at least two near-copies, ordered by root.
    pub campaigns: Vec<Group>,
    /// Groups of at least two identical short answers, ordered by root. Not campaigns: many people write 同意 on
    /// their own.
    pub short_answers: Vec<Group>,
}

/// Where [`Index::insert`] put a comment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placement {
    /// It joined the campaign named `root` (its root after the insert). `pulled` are earlier comments that had been
    /// alone and joined the campaign with it, ascending.
    Joined { root: i64, pulled: Vec<i64> },
    /// It formed a new campaign with earlier comments that had been alone: all its members, ascending.
    Formed { members: Vec<i64> },
    /// A short answer: never a campaign.
    Short,
    /// In no campaign, for now.
    Alone,
    /// It showed two or more campaigns to be one, and joined them: the merged campaign's root and all its members,
    /// ascending. The other campaigns' roots no longer name a campaign.
    Merged { root: i64, members: Vec<i64> },
}

/// The consultation-wide part of detection: parameters and the draft's shingles.
#[derive(Clone, Debug)]
pub struct Detector {
    params: Params,
    draft: FxHashSet<u64>,
}

/// One comment's text, digested.
struct Prepared {
    hash: u64,
    short: bool,
    /// Sorted, deduplicated stored shingles.
    shingles: Vec<u16>,
    /// The sentence each of `shingles` is in (the first, if several), counted from 1 and capped at 254; 0 for one
    /// across two sentences.
    sentences: Vec<u8>,
    keys: Vec<u32>,
}

impl Detector {
    /// `draft` are the consultation's article texts: what is quoted from them makes no two comments alike.
    pub fn new(params: Params, draft: &[&str]) -> Detector {
        let mut set = FxHashSet::default();
        for article in draft {
            let chars: Vec<char> = normalise(article).chars().collect();
            if chars.len() >= params.shingle {
                text::for_each_shingle(&chars, params.shingle, |h| {
                    set.insert(h);
                });
            }
        }
        Detector { params, draft: set }
    }

    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Full detection over a consultation's comments, in any order.
    pub fn detect(&self, comments: &[(i64, &str)]) -> Detection {
        Index::build(self, comments).detection()
    }

    fn prepare(&self, text: &str, scratch: &mut Scratch) -> Prepared {
        let p = &self.params;
        let Scratch { norm, ends, chars, starts, full, marked } = scratch;
        ends.clear();
        text::normalise_marking(text, norm, |at| ends.push(at));
        let hash = text::text_hash(norm);
        chars.clear();
        // Where each sentence starts, in characters.
        starts.clear();
        let mut next_end = ends.iter().peekable();
        for (at, c) in norm.char_indices() {
            let mut ended = false;
            while next_end.next_if(|&&e| e <= at).is_some() {
                ended = true;
            }
            if ended && !chars.is_empty() {
                starts.push(chars.len());
            }
            chars.push(c);
        }
        if chars.len() < p.short_len {
            return Prepared { hash, short: true, shingles: Vec::new(), sentences: Vec::new(), keys: Vec::new() };
        }
        full.clear();
        marked.clear();
        // A shingle within one sentence is marked with that sentence, counted from 1 (sentences past the 254th count
        // as that one); one across a sentence's end with 0: it belongs to neither.
        let (mut at, mut sentence) = (0, 0usize);
        text::for_each_shingle(chars, p.shingle, |h| {
            while starts.get(sentence).is_some_and(|&s| s <= at) {
                sentence += 1;
            }
            let across = starts.get(sentence).is_some_and(|&s| s < at + p.shingle);
            at += 1;
            if !self.draft.contains(&h) {
                full.push(h);
                let mark = if across { 0 } else { (sentence + 1).min(254) as u32 };
                marked.push(u32::from(text::stored(h)) << 8 | mark);
            }
        });
        // Sorted by shingle; a shingle met in several sentences keeps the first.
        marked.sort_unstable();
        marked.dedup_by_key(|m| *m >> 8);
        let shingles: Vec<u16> = marked.iter().map(|&m| (m >> 8) as u16).collect();
        let sentences: Vec<u8> = marked.iter().map(|&m| m as u8).collect();
        let mut keys = Vec::with_capacity(p.bands);
        if shingles.len() >= p.min_shingles {
            text::band_keys(full, p.bands, p.rows, &mut keys);
        }
        Prepared { hash, short: false, shingles, sentences, keys }
    }
}

/// Buffers reused from one text to the next while digesting.
#[derive(Default)]
struct Scratch {
    norm: String,
    /// Where sentences end in `norm`, in bytes.
    ends: Vec<usize>,
    chars: Vec<char>,
    /// Where sentences after the first start in `chars`.
    starts: Vec<usize>,
    full: Vec<u64>,
    /// Stored shingle << 8 | its sentence.
    marked: Vec<u32>,
}

const NONE: u32 = u32::MAX;

/// A distinct normalised text; its exact copies are counted, not stored again. What a candidate's verification
/// reads, kept small (16 bytes) so that a million of them mostly stay in the cache; the rest is in [`Copies`].
struct Class {
    group: u32,
    core: bool,
    /// Too few shingles of its own: grouped only with exact copies.
    inert: bool,
    start: u32,
    len: u32,
}

/// A class's comments and typicality.
struct Copies {
    /// First and last comment with this text (indexes into `Index::ids`), chained by `Index::next_same`.
    first: u32,
    last: u32,
    count: u32,
    /// Verified likenesses within its campaign, weighted by the other side's copies: typicality.
    score: u32,
}

struct GroupState {
    root: i64,
    classes: Vec<u32>,
}

/// Campaign detection kept up to date one comment at a time. Holds hashes, not texts: about 0.4 KB a comment of a
/// hundred characters with the default parameters.
pub struct Index {
    det: Detector,
    /// Per comment.
    ids: Vec<i64>,
    next_same: Vec<u32>,
    classes: Vec<Class>,
    copies: Vec<Copies>,
    /// Every class's stored shingles, back to back.
    arena: Vec<u16>,
    /// The sentence of each shingle in `arena`, as in [`Prepared::sentences`]: read only to tell whether a close
    /// candidate has a sentence of its own (`Index::has_own_sentence`).
    arena_sentences: Vec<u8>,
    by_hash: FxHashMap<u64, u32>,
    /// Band key → the bucket's most recent classes.
    buckets: Buckets,
    /// Merged-away groups are left empty.
    groups: Vec<GroupState>,
    short: FxHashMap<u64, usize>,
    short_groups: Vec<Vec<i64>>,
    /// Scratch: the bands each candidate shares with the text being verified, by class, in an open-addressed table of
    /// twice as many slots as a text can meet entries (`bands × bucket_scan`), all `(NONE, 0)` between texts; and
    /// which slots the current text filled. Small enough (8 KB by default) to stay in the L1 cache: counting in it
    /// costs a load an entry, where sorting the entries met (as before) took a fifth of the engine's time on a flood of
    /// near-copies, whose every bucket is full.
    tally: Vec<(u32, u32)>,
    filled: Vec<u32>,
    /// Scratch: the buffers [`Index::insert`] digests a text in, kept from one comment to the next (the background pass
    /// inserts every new comment one by one).
    scratch: Scratch,
    /// Scratch: the shingles of the text being verified, by their 16-bit stored value: 0 for one not in the text, or
    /// its sentence + 1 (so 1 for one across two sentences). A candidate is then verified by one load per shingle of
    /// its own, with no branch, not by a merge; 64 KB, which mostly stays in the L2 cache.
    mark: Box<[u8; 1 << 16]>,
}

impl Index {
    /// An empty index.
    pub fn new(detector: &Detector) -> Index {
        Index {
            det: detector.clone(),
            ids: Vec::new(),
            next_same: Vec::new(),
            classes: Vec::new(),
            copies: Vec::new(),
            arena: Vec::new(),
            arena_sentences: Vec::new(),
            by_hash: FxHashMap::default(),
            buckets: Buckets::new(detector.params.bucket_scan),
            groups: Vec::new(),
            short: FxHashMap::default(),
            short_groups: Vec::new(),
            tally: vec![(NONE, 0); (2 * detector.params.bands * detector.params.bucket_scan).next_power_of_two()],
            filled: Vec::new(),
            scratch: Scratch::default(),
            mark: vec![0; 1 << 16].into_boxed_slice().try_into().expect("64 KB"),
        }
    }

    /// An index of existing comments, in any order: the same groups as [`Detector::detect`].
    pub fn build(detector: &Detector, comments: &[(i64, &str)]) -> Index {
        let mut sorted: Vec<(i64, &str)> = comments.to_vec();
        sorted.sort_unstable();
        let mut index = Index::new(detector);
        index.extend(&sorted);
        index
    }

    /// Places comments whose ids grow, and are above those placed before: the same groups as
    /// placing them one by one with [`Index::insert`], or all at once with [`Index::build`]. A
    /// caller reading a consultation page by page from a database places each page with this,
    /// and so never holds all the texts at once.
    pub fn extend(&mut self, sorted: &[(i64, &str)]) {
        // Digesting a text (normalisation, shingles, MinHash) needs nothing from the others, so worker threads digest
        // chunks (worker w takes chunks w, w + workers, …) while this thread places the digested ones, sequentially
        // and in id order, as `insert` does. The channels are bounded: a few chunks in flight, not the whole corpus.
        const CHUNK: usize = 2048;
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
        let chunks: Vec<&[(i64, &str)]> = sorted.chunks(CHUNK).collect();
        let detector = self.det.clone();
        let detector = &detector;
        if workers == 1 || chunks.len() <= 1 {
            let mut scratch = Scratch::default();
            for &(id, text) in sorted {
                let p = detector.prepare(text, &mut scratch);
                self.place(id, p);
            }
            return;
        }
        std::thread::scope(|s| {
            let receivers: Vec<_> = (0..workers)
                .map(|w| {
                    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Prepared>>(2);
                    let chunks = &chunks;
                    s.spawn(move || {
                        let mut scratch = Scratch::default();
                        for chunk in chunks.iter().skip(w).step_by(workers) {
                            let prepared = chunk.iter().map(|(_, t)| detector.prepare(t, &mut scratch)).collect();
                            if tx.send(prepared).is_err() {
                                return;
                            }
                        }
                    });
                    rx
                })
                .collect();
            for (k, chunk) in chunks.iter().enumerate() {
                let prepared = receivers[k % workers].recv().expect("a digesting thread panicked");
                for (&(id, _), p) in chunk.iter().zip(prepared) {
                    self.place(id, p);
                }
            }
        });
    }

    /// Places one new comment. Ids are expected to grow; a smaller one is placed all the same, but the groups may
    /// then differ from a full detection's.
    pub fn insert(&mut self, id: i64, text: &str) -> Placement {
        let p = self.det.prepare(text, &mut self.scratch);
        self.place(id, p)
    }

    /// Comments placed so far.
    pub fn len(&self) -> usize {
        self.ids.len() + self.short_groups.iter().map(Vec::len).sum::<usize>()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The campaigns and short-answer groups as they stand.
    pub fn detection(&self) -> Detection {
        let mut campaigns: Vec<Group> = self
            .groups
            .iter()
            .filter(|g| !g.classes.is_empty())
            .map(|g| {
                let mut members: Vec<i64> = g.classes.iter().flat_map(|&c| self.comments_of(c)).collect();
                members.sort_unstable();
                let rep = g
                    .classes
                    .iter()
                    .copied()
                    .filter(|&c| self.classes[c as usize].core)
                    .max_by_key(|&c| {
                        let k = &self.copies[c as usize];
                        (k.score + k.count, std::cmp::Reverse(self.ids[k.first as usize]))
                    })
                    .unwrap_or(g.classes[0]);
                Group { members, representative: self.ids[self.copies[rep as usize].first as usize] }
            })
            .collect();
        campaigns.sort_unstable_by_key(Group::root);
        let mut short_answers: Vec<Group> = self
            .short_groups
            .iter()
            .filter(|g| g.len() >= 2)
            .map(|g| {
                let mut members = g.clone();
                members.sort_unstable();
                Group { representative: members[0], members }
            })
            .collect();
        short_answers.sort_unstable_by_key(Group::root);
        Detection { campaigns, short_answers }
    }

    fn comments_of(&self, class: u32) -> impl Iterator<Item = i64> + '_ {
        let mut at = self.copies[class as usize].first;
        std::iter::from_fn(move || {
            if at == NONE {
                return None;
            }
            let id = self.ids[at as usize];
            at = self.next_same[at as usize];
            Some(id)
        })
    }

    fn place(&mut self, id: i64, p: Prepared) -> Placement {
        if p.short {
            match self.short.get(&p.hash) {
                Some(&g) => self.short_groups[g].push(id),
                None => {
                    self.short.insert(p.hash, self.short_groups.len());
                    self.short_groups.push(vec![id]);
                }
            }
            return Placement::Short;
        }
        let at = self.ids.len() as u32;
        self.ids.push(id);
        self.next_same.push(NONE);
        if let Some(&c) = self.by_hash.get(&p.hash) {
            let n = &mut self.copies[c as usize];
            self.next_same[n.last as usize] = at;
            n.last = at;
            n.count += 1;
            n.score += 1;
            let k = &self.classes[c as usize];
            if k.group != NONE {
                let g = &mut self.groups[k.group as usize];
                g.root = g.root.min(id);
                return Placement::Joined { root: g.root, pulled: Vec::new() };
            }
            // The second exact copy of a lone text: a campaign of its own, which takes in the lone texts like it.
            let verified = if k.inert { Vec::new() } else { self.verify(&p, c) };
            let g = self.new_group(c);
            let pulled = self.pull(g, c, &verified);
            let mut members: Vec<i64> = self.comments_of(c).chain(pulled).collect();
            members.sort_unstable();
            self.groups[g as usize].root = members[0];
            return Placement::Formed { members };
        }

        let c = self.classes.len() as u32;
        let inert = p.keys.is_empty();
        let verified = if inert { Vec::new() } else { self.verify(&p, NONE) };
        self.by_hash.insert(p.hash, c);
        let start = self.arena.len() as u32;
        self.arena.extend_from_slice(&p.shingles);
        self.arena_sentences.extend_from_slice(&p.sentences);
        self.copies.push(Copies { first: at, last: at, count: 1, score: 0 });
        self.classes.push(Class { group: NONE, core: false, inert, start, len: p.shingles.len() as u32 });
        let placement = self.decide(c, id, &verified);
        if self.file(c, &p.keys) == 0 {
            // In no bucket, it is never a candidate, and its shingles are never read again.
            self.arena.truncate(start as usize);
            self.arena_sentences.truncate(start as usize);
            self.classes[c as usize].len = 0;
        }
        placement
    }

    /// Adds the new class `c` to its buckets, once placed: a lone text to all of them, as a campaign may yet form
    /// around it; a core member to those not yet holding [`Params::per_campaign`] core members of its campaign among
    /// the entries a scan reaches; a non-core member to none, as it recruits only near-exact copies of itself, which
    /// are as like the campaign's core.
    /// Returns in how many buckets it was put.
    fn file(&mut self, c: u32, keys: &[u32]) -> usize {
        let (group, core) = (self.classes[c as usize].group, self.classes[c as usize].core);
        if group != NONE && !core {
            return 0;
        }
        let par = &self.det.params;
        let mut filed = 0;
        for &key in keys {
            if group != NONE {
                let held = self
                    .buckets
                    .get(key)
                    .iter()
                    .take_while(|&&y| y != NONE)
                    .filter(|&&y| {
                        let k = &self.classes[y as usize];
                        k.group == group && k.core
                    })
                    .count();
                if held >= par.per_campaign {
                    continue;
                }
            }
            self.buckets.push(key, c);
            filed += 1;
        }
        filed
    }

    /// Joins, forms or leaves alone the new class `c` given its verified likenesses.
    fn decide(&mut self, c: u32, id: i64, verified: &[(u32, f64)]) -> Placement {
        let par = &self.det.params;
        let (core_t, same_t) = (par.core, par.same);
        // The campaign with the closest core member; ties go to the older campaign.
        let mut best: Option<(f64, i64, u32)> = None;
        for &(y, j) in verified {
            let k = &self.classes[y as usize];
            if k.group != NONE && (k.core || j >= same_t) {
                let root = self.groups[k.group as usize].root;
                let better = match best {
                    None => true,
                    Some((bj, broot, _)) => j > bj || (j == bj && root < broot),
                };
                if better {
                    best = Some((j, root, k.group));
                }
            }
        }
        if let Some((j, _, mut g)) = best {
            let via_core = verified
                .iter()
                .any(|&(y, jy)| jy == j && self.classes[y as usize].group == g && self.classes[y as usize].core);
            let core = via_core && j >= core_t;
            // A text at least `core` like core members of two campaigns shows they are one, whose cores formed apart
            // (copies arriving before either had grown): they are merged into the one with the oldest root.
            let mut others: Vec<u32> = Vec::new();
            if core {
                for &(y, jy) in verified {
                    let k = &self.classes[y as usize];
                    if jy >= core_t && k.core && k.group != NONE && k.group != g && !others.contains(&k.group) {
                        others.push(k.group);
                    }
                }
            }
            if !others.is_empty() {
                others.push(g);
                g = others.iter().copied().min_by_key(|&x| self.groups[x as usize].root).expect("not empty");
                for &x in &others {
                    if x != g {
                        self.merge(g, x);
                    }
                }
            }
            self.enter(c, g, core, verified);
            let pulled = if core { self.pull(g, c, verified) } else { Vec::new() };
            let gs = &mut self.groups[g as usize];
            gs.root = gs.root.min(id).min(pulled.first().copied().unwrap_or(i64::MAX));
            let root = gs.root;
            if !others.is_empty() {
                let mut members: Vec<i64> =
                    self.groups[g as usize].classes.iter().flat_map(|&x| self.comments_of(x)).collect();
                members.sort_unstable();
                return Placement::Merged { root, members };
            }
            return Placement::Joined { root, pulled };
        }
        if verified.iter().any(|&(y, j)| j >= core_t && self.classes[y as usize].group == NONE) {
            let g = self.new_group(c);
            let pulled = self.pull(g, c, verified);
            let mut members: Vec<i64> = std::iter::once(id).chain(pulled).collect();
            members.sort_unstable();
            self.groups[g as usize].root = members[0];
            return Placement::Formed { members };
        }
        Placement::Alone
    }

    /// Moves every member of campaign `gone` into `keep`; `gone` is left empty.
    fn merge(&mut self, keep: u32, gone: u32) {
        let moved = std::mem::take(&mut self.groups[gone as usize].classes);
        for &x in &moved {
            self.classes[x as usize].group = keep;
        }
        let root = self.groups[gone as usize].root;
        let gs = &mut self.groups[keep as usize];
        gs.root = gs.root.min(root);
        gs.classes.extend(moved);
    }

    fn new_group(&mut self, c: u32) -> u32 {
        let g = self.groups.len() as u32;
        let root = self.ids[self.copies[c as usize].first as usize];
        self.groups.push(GroupState { root, classes: vec![c] });
        let k = &mut self.classes[c as usize];
        k.group = g;
        k.core = true;
        g
    }

    /// Puts `c` in `g` and counts its likenesses with the members there.
    fn enter(&mut self, c: u32, g: u32, core: bool, verified: &[(u32, f64)]) {
        let k = &mut self.classes[c as usize];
        k.group = g;
        k.core = core;
        self.groups[g as usize].classes.push(c);
        let weight = self.copies[c as usize].count;
        let mut gained = 0;
        for &(y, _) in verified {
            if self.classes[y as usize].group == g && y != c {
                let ny = &mut self.copies[y as usize];
                ny.score += weight;
                gained += ny.count;
            }
        }
        self.copies[c as usize].score += gained;
    }

    /// Takes the lone classes like core member `c` into `g`: comments that came before their campaign had a core.
    /// Returns their comments, ascending.
    fn pull(&mut self, g: u32, c: u32, verified: &[(u32, f64)]) -> Vec<i64> {
        let core_t = self.det.params.core;
        let lone: Vec<(u32, f64)> = verified
            .iter()
            .copied()
            .filter(|&(y, _)| {
                let k = &self.classes[y as usize];
                y != c && k.group == NONE
            })
            .collect();
        let mut out = Vec::new();
        for &(y, j) in &lone {
            let (cy, cc) = (self.copies[y as usize].count, self.copies[c as usize].count);
            let k = &mut self.classes[y as usize];
            k.group = g;
            k.core = j >= core_t;
            self.copies[y as usize].score += cc;
            self.copies[c as usize].score += cy;
            self.groups[g as usize].classes.push(y);
            out.extend(self.comments_of(y));
        }
        out.sort_unstable();
        out
    }

    /// Candidates from the LSH buckets, most shared bands first, verified by exact Jaccard similarity: those at
    /// least `link` alike, by class. `skip` is the text's own class when it has one.
    fn verify(&mut self, p: &Prepared, skip: u32) -> Vec<(u32, f64)> {
        let par = &self.det.params;
        std::hint::black_box(self.buckets.warm(&p.keys));
        // Shared bands per candidate, counted in the small `tally` table, not in one indexed by class, which at a
        // million comments would cost a cache miss per entry.
        let mask = self.tally.len() - 1;
        self.filled.clear();
        for &key in &p.keys {
            for &y in self.buckets.get(key).iter().take_while(|&&y| y != NONE).filter(|&&y| y != skip) {
                // Fibonacci hashing: classes are consecutive numbers, whose low bits alone would cluster.
                let mut i = (y.wrapping_mul(0x9E37_79B9) >> 16) as usize & mask;
                loop {
                    let slot = &mut self.tally[i];
                    if slot.0 == y {
                        slot.1 += 1;
                        break;
                    }
                    if slot.0 == NONE {
                        *slot = (y, 1);
                        self.filled.push(i as u32);
                        break;
                    }
                    i = (i + 1) & mask;
                }
            }
        }
        // Most shared bands first, then the oldest class, as one integer key: (u32::MAX - shared) << 32 | class.
        let mut candidates: Vec<u64> = Vec::with_capacity(self.filled.len());
        for &i in &self.filled {
            let (y, n) = std::mem::replace(&mut self.tally[i as usize], (NONE, 0));
            candidates.push(u64::from(u32::MAX - n) << 32 | u64::from(y));
        }
        candidates.sort_unstable();
        // The candidates' shingles are scattered over a big arena: touching the first of each now, in a loop whose
        // loads do not wait on one another, has their cache misses overlap (a prefetch without `unsafe`), where the
        // verification below would meet them one after another.
        let warm = candidates
            .iter()
            .take(par.max_verify)
            .map(|&c| {
                let k = &self.classes[c as u32 as usize];
                self.arena.get(k.start as usize).copied().unwrap_or(0)
            })
            .fold(0u16, |a, b| a ^ b);
        std::hint::black_box(warm);
        // The shingles of each of the text's sentences.
        let mut own: Vec<u16> = vec![0];
        for (&s, &sentence) in p.shingles.iter().zip(&p.sentences) {
            self.mark[usize::from(s)] = sentence + 1;
            let sentence = usize::from(sentence);
            if own.len() <= sentence {
                own.resize(sentence + 1, 0);
            }
            own[sentence] += 1;
        }
        // Once a core member of a campaign is found at least `core` alike, that campaign's other members would only
        // add to its typicality counts: they are skipped, which is what keeps a copy of a big campaign cheap.
        let (link, core, same) = (par.link, par.core, par.same);
        // Indexed by mark: [0] counts the candidate's shingles not in the text, [1] those across two of its sentences.
        let mut per = [0u16; 256];
        let mut settled: Vec<u32> = Vec::new();
        let mut out: Vec<(u32, f64)> = Vec::new();
        let mut verified = 0;
        // Candidates sharing a single band are mostly texts that happen to share common words, more of them the
        // more comments there are: a few are verified, and at most one per campaign.
        let mut single = 0;
        let mut tried: Vec<u32> = Vec::new();
        for c in candidates {
            let (shared, y) = (u32::MAX - (c >> 32) as u32, c as u32);
            if verified == par.max_verify {
                break;
            }
            let k = &self.classes[y as usize];
            if k.group != NONE && settled.contains(&k.group) {
                continue;
            }
            if shared <= 1 {
                if single == par.max_verify / 3 || (k.group != NONE && tried.contains(&k.group)) {
                    continue;
                }
                single += 1;
                if k.group != NONE {
                    tried.push(k.group);
                }
            }
            verified += 1;
            let theirs = &self.arena[k.start as usize..(k.start + k.len) as usize];
            // The shared shingles, counted by the sentence of the text they are in: one pass gives the likeness and
            // what `shared_like_a_copy` needs.
            per[..=own.len()].fill(0);
            for &s in theirs {
                per[usize::from(self.mark[usize::from(s)])] += 1;
            }
            // By the text's sentence, [0] being across two.
            let per = &per[1..=own.len()];
            let common = per.iter().map(|&n| usize::from(n)).sum::<usize>();
            let j = common as f64 / (p.shingles.len() + theirs.len() - common) as f64;
            if j >= link && j < same && !self.shared_like_a_copy(per, common, &own, j < core, y) {
                continue;
            }
            if j >= link {
                if k.group != NONE && k.core && j >= core {
                    settled.push(k.group);
                }
                out.push((y, j));
            }
        }
        for &s in &p.shingles {
            self.mark[usize::from(s)] = 0;
        }
        out.sort_unstable_by_key(|&(y, _)| y);
        out
    }

    /// Whether what a candidate shares with the text being verified (`per`: the shared shingles in each of the text's
    /// sentences, `common` in all; `sizes`: the shingles of each sentence) is shaped like what a copy shares with its
    /// template, rather than what comments of their own share. Asked below `same` only:
    /// - at least [`Params::spread`] shared shingles outside the text's sentence sharing the most: a copy keeps most of
    ///   its template's sentences (a heavy one all but one), where a comment quoting one sentence of a template, or
    ///   happening to hold the same sentence as another comment, shares that one only;
    /// - fewer than [`Params::enclosed`] sentences of the text's own (less than a quarter shared, at least
    ///   [`Params::min_sentence`] shingles) between its first and last sentences sharing at least half, and none when
    ///   those are the text's first and last: a template letter's frame (the same greeting, introduction and closing)
    ///   holds paragraphs of the sender's own, where a copy's additions (greeting, signature, a sentence added) are
    ///   around its template or a sentence within it. At least `core` alike (not `weak`), such a frame is a letter's
    ///   only if the candidate `y` has a sentence of its own too: two letters whose own paragraphs are short, one of
    ///   them the same, are more than `core` alike through the frame alone (at a million comments thousands of such
    ///   pairs met, bench/campaigns/README.md), where a copy with a sentence added keeps every sentence of its
    ///   template.
    fn shared_like_a_copy(&self, per: &[u16], common: usize, sizes: &[u16], weak: bool, y: u32) -> bool {
        let par = &self.det.params;
        // Shingles across two sentences (marked 0) count in `common` only.
        let (per, sizes) = (&per[1..], &sizes[1..]);
        let most = usize::from(per.iter().copied().max().unwrap_or(0));
        if common - most < par.spread && most < par.long_passage {
            return false;
        }
        let shared = |k: usize| per[k] * 2 >= sizes[k] && usize::from(per[k]) >= par.min_sentence;
        let (Some(first), Some(last)) = ((0..sizes.len()).find(|&k| shared(k)), (0..sizes.len()).rfind(|&k| shared(k)))
        else {
            return true;
        };
        let substantial = |k: usize| usize::from(sizes[k]) >= par.min_sentence;
        let enclosed = (first + 1..last).filter(|&k| per[k] * 4 < sizes[k] && substantial(k)).count();
        // Shared sentences at both ends of the text, around one of its own, are a letter's frame too.
        let framed = (0..sizes.len()).find(|&k| substantial(k)) == Some(first)
            && (0..sizes.len()).rfind(|&k| substantial(k)) == Some(last);
        if enclosed >= par.enclosed {
            return false;
        }
        !(framed && enclosed >= 1 && (weak || self.has_own_sentence(y)))
    }

    /// Whether class `y` has a sentence (of at least [`Params::min_sentence`] shingles) less than a quarter of which
    /// is in the text being verified (whose shingles are marked in `mark`).
    fn has_own_sentence(&self, y: u32) -> bool {
        let k = &self.classes[y as usize];
        let range = k.start as usize..(k.start + k.len) as usize;
        let (mut size, mut shared) = ([0u16; 256], [0u16; 256]);
        for (&s, &sentence) in self.arena[range.clone()].iter().zip(&self.arena_sentences[range]) {
            size[usize::from(sentence)] += 1;
            shared[usize::from(sentence)] += u16::from(self.mark[usize::from(s)] != 0);
        }
        // Sentence 0 holds the shingles across two sentences: part of none.
        (1..256).any(|k| usize::from(size[k]) >= self.det.params.min_sentence && shared[k] * 4 < size[k])
    }
}

#[cfg(test)]
mod tests;
