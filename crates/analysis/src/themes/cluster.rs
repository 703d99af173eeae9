//! Grouping term vectors: exact average-link clustering for up to a few thousand texts, then nearest-centroid
//! placement (or a new theme) for the rest.

use rustc_hash::FxHashMap;

use super::stance::Polarity;

/// Average-link agglomerative clustering, stopped at `threshold`, never joining opposite polarities. Items are in
/// their canonical order; the answer gives, for each, the smallest index of its cluster.
///
/// Average link because a theme is "what its members say on the whole": single link chains one wording to the next
/// until two points meet, complete link splits a point as soon as two of its wordings share no word. The nearest-
/// neighbour chain finds the same merges as the textbook algorithm in O(n²) time over the full similarity matrix
/// (n² f32: 16 MB at 2,000), because average link is reducible; setting opposite polarities to −∞ keeps it so, as
/// the average of a −∞ with anything stays −∞.
pub(crate) fn average_link(vectors: &[&[(u32, f32)]], polarity: &[Polarity], threshold: f32) -> Vec<usize> {
    let n = vectors.len();
    let mut sim = vec![0f32; n * n];
    let mut postings: FxHashMap<u32, Vec<(usize, f32)>> = FxHashMap::default();
    for (i, v) in vectors.iter().enumerate() {
        for &(t, w) in v.iter() {
            postings.entry(t).or_default().push((i, w));
        }
    }
    for (i, v) in vectors.iter().enumerate() {
        let row = &mut sim[i * n..(i + 1) * n];
        for &(t, w) in v.iter() {
            for &(j, wj) in &postings[&t] {
                row[j] += w * wj;
            }
        }
        row[i] = f32::NEG_INFINITY;
        for (j, s) in row.iter_mut().enumerate() {
            if !polarity[i].compatible(polarity[j]) {
                *s = f32::NEG_INFINITY;
            }
        }
    }
    drop(postings);

    let mut active = vec![true; n];
    let mut settled = vec![false; n];
    let mut size = vec![1f32; n];
    let mut parent: Vec<usize> = (0..n).collect();
    let mut chain: Vec<usize> = Vec::new();
    let mut start = 0;
    loop {
        if chain.is_empty() {
            while start < n && (!active[start] || settled[start]) {
                start += 1;
            }
            if start == n {
                break;
            }
            chain.push(start);
        }
        let a = chain[chain.len() - 1];
        let previous = chain.len().checked_sub(2).map(|k| chain[k]);
        let row = &sim[a * n..(a + 1) * n];
        // The previous link wins ties, which is what keeps the chain from cycling; then the smallest index.
        let (mut best, mut best_sim) = match previous {
            Some(p) => (Some(p), row[p]),
            None => (None, f32::NEG_INFINITY),
        };
        for c in 0..n {
            if c != a && active[c] && !settled[c] && row[c] > best_sim {
                best = Some(c);
                best_sim = row[c];
            }
        }
        let Some(b) = best.filter(|_| best_sim >= threshold) else {
            // Nothing is close enough now, and merging others only averages their similarities to `a` (never above
            // the larger), so `a` is final.
            settled[a] = true;
            chain.pop();
            continue;
        };
        if Some(b) != previous {
            chain.push(b);
            continue;
        }
        chain.truncate(chain.len() - 2);
        let (keep, gone) = (a.min(b), a.max(b));
        let (sk, sg) = (size[keep], size[gone]);
        for c in 0..n {
            if !active[c] || c == keep || c == gone {
                continue;
            }
            let s = (sk * sim[keep * n + c] + sg * sim[gone * n + c]) / (sk + sg);
            sim[keep * n + c] = s;
            sim[c * n + keep] = s;
        }
        active[gone] = false;
        size[keep] = sk + sg;
        parent[gone] = keep;
    }
    (0..n)
        .map(|mut i| {
            while parent[i] != i {
                i = parent[i];
            }
            i
        })
        .collect()
}

/// Themes as the texts after the exact sample see them: the mean of each theme's vectors, cut to its heaviest terms,
/// in an inverted index, so that placing a text costs the postings of its own terms rather than a look at every
/// theme. The dot product of a unit vector with a theme's mean is its average similarity to the theme's members, so
/// the one threshold means the same here as in [`average_link`].
pub(crate) struct Centroids {
    postings: FxHashMap<u32, Vec<(u32, f32)>>,
    polarity: Vec<Polarity>,
    /// A theme that already holds both sides (staff merged them) takes only texts without a side.
    mixed: Vec<bool>,
    posting_cap: usize,
    scores: Vec<f32>,
    touched: Vec<u32>,
}

impl Centroids {
    pub(crate) fn new(posting_cap: usize) -> Centroids {
        Centroids {
            postings: FxHashMap::default(),
            polarity: Vec::new(),
            mixed: Vec::new(),
            posting_cap,
            scores: Vec::new(),
            touched: Vec::new(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.polarity.len()
    }

    /// Adds a theme by its mean vector (already cut); its index is the number of themes before it.
    pub(crate) fn add(&mut self, mean: &[(u32, f32)], polarity: Polarity, mixed: bool) -> u32 {
        let c = self.polarity.len() as u32;
        for &(t, w) in mean {
            let posting = self.postings.entry(t).or_default();
            // A term shared by thousands of themes says little about any of them, and scanning it for every text
            // would make placement quadratic; later themes are still found through their other terms.
            if posting.len() < self.posting_cap {
                posting.push((c, w));
            }
        }
        self.polarity.push(polarity);
        self.mixed.push(mixed);
        self.scores.push(0.0);
        c
    }

    /// The theme a text joins: the highest average similarity at or above `threshold` among themes whose side allows
    /// it (ties: the earliest theme).
    pub(crate) fn best(&mut self, vector: &[(u32, f32)], polarity: Polarity, threshold: f32) -> Option<u32> {
        for &(t, w) in vector {
            if let Some(posting) = self.postings.get(&t) {
                for &(c, wc) in posting {
                    if self.scores[c as usize] == 0.0 {
                        self.touched.push(c);
                    }
                    self.scores[c as usize] += w * wc;
                }
            }
        }
        let mut best: Option<(u32, f32)> = None;
        for &c in &self.touched {
            let s = self.scores[c as usize];
            let allowed = if self.mixed[c as usize] {
                polarity == Polarity::None
            } else {
                self.polarity[c as usize].compatible(polarity)
            };
            if allowed && s >= threshold && best.is_none_or(|(bc, bs)| s > bs || (s == bs && c < bc)) {
                best = Some((c, s));
            }
        }
        for &c in &self.touched {
            self.scores[c as usize] = 0.0;
        }
        self.touched.clear();
        best.map(|(c, _)| c)
    }

    pub(crate) fn joined(&mut self, theme: u32, polarity: Polarity) {
        let p = &mut self.polarity[theme as usize];
        *p = p.join(polarity);
    }
}
