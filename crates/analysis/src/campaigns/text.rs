//! Normalisation, shingles and their sketches: everything computed from one text alone.

use unicode_normalization::UnicodeNormalization;

/// The form in which two texts that are exact copies become equal.
///
/// NFKC folds full-width letters, digits and punctuation to their ASCII forms and compatibility ideographs to the
/// unified ones; letters are then lowercased; whatever is not a letter or a digit (whitespace, Chinese and ASCII
/// punctuation, symbols, emoji) is dropped, since campaign senders and their tools change exactly those freely.
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    normalise_into(text, &mut out);
    out
}

/// [`normalise`] into `out`, which is cleared first.
pub(crate) fn normalise_into(text: &str, out: &mut String) {
    normalise_marking(text, out, |_| {});
}

/// [`normalise_into`], calling `end` with the length of `out` (in bytes) after each sentence-ending mark of the text
/// ([`ends_sentence`]): the marks themselves are dropped like other punctuation, but where they were tells which
/// sentence each shingle comes from.
pub(crate) fn normalise_marking(text: &str, out: &mut String, mut end: impl FnMut(usize)) {
    out.clear();
    // Most comments are ideographs, ASCII and the common Chinese punctuation, whose NFKC forms are known one character
    // at a time (identity, full-width to ASCII, or punctuation that is dropped either way) and which compose with
    // nothing: those skip the NFKC machinery, the costliest part of digesting a text. Anything else (combining marks,
    // compatibility ideographs, kana, …) takes the general path. `fast_path_agrees_with_nfkc` checks the table.
    if text.chars().all(plain) {
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            let c = narrow(c);
            if c.is_ascii() {
                if c.is_ascii_alphanumeric() {
                    out.push(c.to_ascii_lowercase());
                } else if ends_sentence(c, chars.peek().copied().map(narrow)) {
                    end(out.len());
                }
            } else if ('\u{4e00}'..='\u{9fff}').contains(&c) {
                out.push(c);
            } else if ends_sentence(if c == '…' { '.' } else { c }, chars.peek().copied().map(narrow)) {
                // NFKC makes an ellipsis three full stops.
                end(out.len());
            }
        }
        return;
    }
    normalise_general_marking(text, out, end);
}

/// A full-width form as NFKC maps it: its ASCII character.
fn narrow(c: char) -> char {
    match c {
        '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
        _ => c,
    }
}

/// [`normalise_marking`] through NFKC, for any text.
pub(crate) fn normalise_general_marking(text: &str, out: &mut String, mut end: impl FnMut(usize)) {
    let mut chars = text.nfkc().peekable();
    while let Some(c) = chars.next() {
        // The CJK block first: `is_alphanumeric` takes a slow table lookup for every ideograph.
        if ('\u{4e00}'..='\u{9fff}').contains(&c) {
            out.push(c);
        } else if c.is_alphanumeric() {
            if c.is_uppercase() {
                out.extend(c.to_lowercase());
            } else {
                out.push(c);
            }
        } else if ends_sentence(c, chars.peek().copied()) {
            end(out.len());
        }
    }
}

/// Whether `c` (as NFKC leaves it), followed by `next`, ends a sentence: 。！？； (full-width ones are ASCII by then),
/// a line break, and a full stop not followed by a letter or digit (which would be a decimal point or part of an
/// address). Not commas: a long sentence's clauses are one sentence, so a quoted sentence stays one.
pub(crate) fn ends_sentence(c: char, next: Option<char>) -> bool {
    match c {
        '。' | '!' | '?' | ';' | '\n' => true,
        '.' => !next.is_some_and(|n| n.is_ascii_alphanumeric()),
        _ => false,
    }
}

/// Common Chinese punctuation outside the full-width block: NFKC keeps each one, or maps it to ASCII punctuation.
pub(crate) const PLAIN_PUNCTUATION: &str = "\u{3000}、。〃〈〉《》「」『』【】〔〕〖〗〘〙〚〛〜〝〞〟‘’“”…—–·•′″※";

/// Characters whose normal form [`normalise_into`] knows without NFKC.
pub(crate) fn plain(c: char) -> bool {
    c.is_ascii()
        || ('\u{4e00}'..='\u{9fff}').contains(&c)
        || ('\u{ff01}'..='\u{ff5e}').contains(&c)
        || PLAIN_PUNCTUATION.contains(c)
}

/// splitmix64's finaliser: shingle and key hashes must be well spread for the bin choice and the band keys.
pub(crate) fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A 64-bit hash of the whole normalised text: exact copies share it.
pub(crate) fn text_hash(norm: &str) -> u64 {
    let mut h = 0x243f_6a88_85a3_08d3u64;
    for c in norm.chars() {
        h = mix(h ^ u64::from(c));
    }
    h
}

/// Calls `f` with the 64-bit hash of every character `k`-gram of `chars` (one shingle for a text shorter than `k`).
pub(crate) fn for_each_shingle(chars: &[char], k: usize, mut f: impl FnMut(u64)) {
    let k = k.max(1);
    if chars.is_empty() {
        return;
    }
    let windows = chars.len().saturating_sub(k) + 1;
    for i in 0..windows {
        let mut h = k as u64;
        for &c in &chars[i..(i + k).min(chars.len())] {
            h = (h ^ u64::from(c)).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(23);
        }
        f(mix(h));
    }
}

/// A shingle as stored for verification. Sixteen bits are plenty: two texts of a hundred shingles each share a
/// spurious 16-bit value 0.15 times on average, which moves their Jaccard similarity by about a thousandth, and it
/// halves the memory of a million comments' shingle sets against 32 bits.
pub(crate) fn stored(h: u64) -> u16 {
    (h >> 48) as u16
}

/// One-permutation MinHash (Li, Owen and Zhang 2012) with rotation densification (Shrivastava and Li 2014): each
/// shingle is hashed once into one of `bins` bins, which keeps the minimum; an empty bin borrows from the next
/// non-empty one to its right. Costs one pass over the shingles instead of one per permutation, and two texts' bins
/// agree with probability equal to their Jaccard similarity, as with `bins` independent permutations.
pub(crate) fn band_keys(shingles: &[u64], bands: usize, rows: usize, keys: &mut Vec<u32>) {
    keys.clear();
    let bins = bands * rows;
    let mut mins = vec![u32::MAX; bins];
    let mut filled = vec![false; bins];
    for &h in shingles {
        let bin = (((h & 0xffff_ffff) * bins as u64) >> 32) as usize;
        let v = (h >> 32) as u32;
        if v <= mins[bin] {
            mins[bin] = v;
            filled[bin] = true;
        }
    }
    if filled.iter().any(|&f| f) {
        let snapshot = mins.clone();
        for i in 0..bins {
            if !filled[i] {
                let mut d = 1;
                while !filled[(i + d) % bins] {
                    d += 1;
                }
                mins[i] = mix(u64::from(snapshot[(i + d) % bins]) ^ (d as u64).wrapping_mul(0x9e37_79b9)) as u32;
            }
        }
    }
    for b in 0..bands {
        let mut h = (b as u64 + 1).wrapping_mul(0xd6e8_feb8_6659_fd93);
        for &v in &mins[b * rows..(b + 1) * rows] {
            h = mix(h ^ u64::from(v));
        }
        keys.push(h as u32);
    }
}
