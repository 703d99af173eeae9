//! Which consultation a mail's subject names.
//!
//! Citizens type the title as they like: full-width or half-width letters, with or without
//! 《》, with spaces, after `Re:` or `转发：`, with or without the `（征求意见稿）` suffix, and
//! often inside a sentence ("关于《…若干措施》的几点意见"). So both the subject and each
//! consultation's phrases are reduced to their letters and digits (NFKC folds the widths), the
//! suffix is dropped from the phrases, and a consultation matches when one of its phrases is
//! contained in the subject. Where several consultations match, the longest phrase wins: a
//! title that contains another consultation's shorter title is the more specific one.

use unicode_normalization::UnicodeNormalization;

/// A consultation as routing sees it: its id and the phrases that name it (its title and the
/// `subject_phrase` of its `[email_channel]`, and any extra phrases).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteTarget {
    pub consultation_id: String,
    pub phrases: Vec<String>,
}

/// What routing decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// The subject names this consultation.
    To(String),
    /// It names none: the mail goes to the unrouted tray.
    Unrouted,
    /// Two consultations match with phrases of the same length: staff decide.
    Ambiguous(Vec<String>),
}

/// The suffix every draft's title carries and citizens often leave out.
const DRAFT_SUFFIX: &str = "征求意见稿";

/// Reply and forward prefixes, after normalisation (letters only, lower case).
const PREFIXES: [&str; 8] = ["re", "fwd", "fw", "回复", "答复", "转发", "回覆", "轉發"];

/// Letters and digits only, widths folded by NFKC, Latin lower-cased.
pub fn normalise(text: &str) -> String {
    text.nfkc().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// A subject reduced for matching: normalised, reply/forward prefixes removed.
pub fn normalise_subject(subject: &str) -> String {
    // Prefixes are stripped on the raw text, where "Re:" is still recognisable as a prefix
    // (after normalisation "re" could be the start of a word such as "regulation").
    let mut rest = subject.nfkc().collect::<String>();
    loop {
        let trimmed = rest.trim_start();
        let lower = trimmed.to_lowercase();
        let stripped = PREFIXES.iter().find_map(|p| {
            let after = lower.strip_prefix(p)?;
            let after = after.trim_start();
            // `Re[2]:` as some clients write it.
            let after = after.strip_prefix('[').map_or(after, |a| a.trim_start_matches(|c: char| c.is_ascii_digit()));
            let after = after.strip_prefix(']').unwrap_or(after);
            after.strip_prefix(':').or_else(|| after.strip_prefix('：'))
        });
        match stripped {
            // Byte offsets into `lower` match `trimmed` only where lower-casing kept lengths,
            // which holds for these ASCII and CJK prefixes.
            Some(after) if lower.len() == trimmed.len() => rest = trimmed[trimmed.len() - after.len()..].to_string(),
            _ => break,
        }
    }
    normalise(&rest)
}

/// A phrase reduced for matching: normalised, the draft suffix dropped.
pub fn normalise_phrase(phrase: &str) -> String {
    let n = normalise(phrase);
    n.strip_suffix(DRAFT_SUFFIX).map(str::to_string).unwrap_or(n)
}

/// Finds the consultation `subject` names.
pub fn route(subject: &str, targets: &[RouteTarget]) -> Route {
    let subject = normalise_subject(subject);
    let mut best: Option<(usize, Vec<&str>)> = None;
    for target in targets {
        let longest = target
            .phrases
            .iter()
            .map(|p| normalise_phrase(p))
            // A phrase of one or two characters would match far too much ("意见").
            .filter(|p| p.chars().count() >= 3 && subject.contains(p.as_str()))
            .map(|p| p.chars().count())
            .max();
        let Some(len) = longest else { continue };
        match &mut best {
            Some((best_len, ids)) if len == *best_len => {
                if !ids.contains(&target.consultation_id.as_str()) {
                    ids.push(&target.consultation_id);
                }
            }
            Some((best_len, _)) if len < *best_len => {}
            _ => best = Some((len, vec![&target.consultation_id])),
        }
    }
    match best {
        None => Route::Unrouted,
        Some((_, ids)) if ids.len() == 1 => Route::To(ids[0].to_string()),
        Some((_, ids)) => Route::Ambiguous(ids.into_iter().map(String::from).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TITLE: &str = "辽宁省人力资源社会保障领域支持和保障人工智能高质量发展的若干措施（征求意见稿）";

    fn targets() -> Vec<RouteTarget> {
        vec![
            RouteTarget { consultation_id: "ai".into(), phrases: vec![TITLE.into(), TITLE.into()] },
            RouteTarget {
                consultation_id: "short".into(), phrases: vec!["人工智能高质量发展的若干措施".into()]
            },
            RouteTarget {
                consultation_id: "wage".into(), phrases: vec!["最低工资标准调整方案（征求意见稿）".into()]
            },
        ]
    }

    #[test]
    fn subjects_as_citizens_write_them() {
        let t = targets();
        let to = |id: &str| Route::To(id.to_string());
        let cases: &[(&str, Route)] = &[
            (TITLE, to("ai")),
            ("《辽宁省人力资源社会保障领域支持和保障人工智能高质量发展的若干措施》", to("ai")),
            ("Re: 回复：《辽宁省人力资源社会保障领域支持和保障人工智能高质量发展的若干措施（征求意见稿）》", to("ai")),
            ("转发: 关于 辽宁省 人力资源社会保障领域支持和保障人工智能 高质量发展的若干措施 的意见", to("ai")),
            ("FW：辽宁省人力资源社会保障领域支持和保障人工智能高质量发展的若干措施(征求意见稿)意见", to("ai")),
            // Full-width Latin and digits fold too.
            ("ＲＥ：《最低工资标准调整方案》", to("wage")),
            ("对最低工资标准调整方案的建议", to("wage")),
            // Only the shorter phrase: the consultation it names.
            ("关于人工智能高质量发展的若干措施", to("short")),
            ("一封无关的邮件", Route::Unrouted),
            ("", Route::Unrouted),
            ("意见", Route::Unrouted),
        ];
        for (subject, want) in cases {
            assert_eq!(&route(subject, &t), want, "{subject}");
        }
    }

    #[test]
    fn the_longest_phrase_wins_and_ties_are_left_to_staff() {
        let t = targets();
        // The full title contains the shorter consultation's phrase: the longer one wins.
        assert_eq!(route(TITLE, &t), Route::To("ai".into()));
        let tie = vec![
            RouteTarget { consultation_id: "a".into(), phrases: vec!["养老服务条例".into()] },
            RouteTarget {
                consultation_id: "b".into(), phrases: vec!["养老服务条例（征求意见稿）".into()]
            },
        ];
        assert_eq!(route("养老服务条例意见", &tie), Route::Ambiguous(vec!["a".into(), "b".into()]));
    }

    #[test]
    fn normalisation() {
        assert_eq!(normalise("《Ａｂｃ １２３》（征求意见稿）"), "abc123征求意见稿");
        assert_eq!(normalise_phrase("《Ａｂｃ １２３》（征求意见稿）"), "abc123");
        assert_eq!(normalise_subject("Re: Fwd: 回复：re[2]: Regulation"), "regulation");
        assert_eq!(normalise_subject("Regulation"), "regulation");
    }
}
