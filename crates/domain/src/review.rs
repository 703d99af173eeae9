//! The review of comments: what staff decide about each one, and how they pick a set of them.
//!
//! A comment gets at most one [`Disposition`] (what became of it, with the reasoning the
//! adoption report prints) and at most one [`Moderation`] mark (why it is set aside). Tags are
//! free labels staff use to group comments. None of this ever changes the citizen's words.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::Lang;

/// What became of a comment: the four answers Chinese feedback reports (采纳情况) give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    Adopted,
    PartlyAdopted,
    NotAdopted,
    OutOfScope,
}

impl Disposition {
    pub const ALL: [Disposition; 4] =
        [Disposition::Adopted, Disposition::PartlyAdopted, Disposition::NotAdopted, Disposition::OutOfScope];

    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::Adopted => "adopted",
            Disposition::PartlyAdopted => "partly_adopted",
            Disposition::NotAdopted => "not_adopted",
            Disposition::OutOfScope => "out_of_scope",
        }
    }

    pub fn parse(s: &str) -> Option<Disposition> {
        Disposition::ALL.into_iter().find(|d| d.as_str() == s)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Disposition::Adopted, Lang::Zh) => "采纳",
            (Disposition::PartlyAdopted, Lang::Zh) => "部分采纳",
            (Disposition::NotAdopted, Lang::Zh) => "未采纳",
            (Disposition::OutOfScope, Lang::Zh) => "不属于本文件",
            (Disposition::Adopted, Lang::En) => "Adopted",
            (Disposition::PartlyAdopted, Lang::En) => "Partly adopted",
            (Disposition::NotAdopted, Lang::En) => "Not adopted",
            (Disposition::OutOfScope, Lang::En) => "Out of scope",
        }
    }
}

/// Why a comment is set aside. Spam and hidden comments are left out of the report (and
/// counted); abusive and duplicate ones stay in its figures, because they still said something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Moderation {
    Spam,
    Abusive,
    Duplicate,
    Hidden,
}

impl Moderation {
    pub const ALL: [Moderation; 4] = [Moderation::Spam, Moderation::Abusive, Moderation::Duplicate, Moderation::Hidden];

    pub fn as_str(self) -> &'static str {
        match self {
            Moderation::Spam => "spam",
            Moderation::Abusive => "abusive",
            Moderation::Duplicate => "duplicate",
            Moderation::Hidden => "hidden",
        }
    }

    pub fn parse(s: &str) -> Option<Moderation> {
        Moderation::ALL.into_iter().find(|m| m.as_str() == s)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Moderation::Spam, Lang::Zh) => "垃圾信息",
            (Moderation::Abusive, Lang::Zh) => "辱骂攻击",
            (Moderation::Duplicate, Lang::Zh) => "重复提交",
            (Moderation::Hidden, Lang::Zh) => "隐藏",
            (Moderation::Spam, Lang::En) => "Spam",
            (Moderation::Abusive, Lang::En) => "Abusive",
            (Moderation::Duplicate, Lang::En) => "Duplicate",
            (Moderation::Hidden, Lang::En) => "Hidden",
        }
    }

    /// Whether the report leaves such a comment out of its figures.
    pub fn excluded_from_report(self) -> bool {
        matches!(self, Moderation::Spam | Moderation::Hidden)
    }
}

/// Where a comment stands: waiting for a disposition, or given one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    Received,
    Disposed,
}

impl ReviewStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewStatus::Received => "received",
            ReviewStatus::Disposed => "disposed",
        }
    }
    pub fn parse(s: &str) -> Option<ReviewStatus> {
        match s {
            "received" => Some(ReviewStatus::Received),
            "disposed" => Some(ReviewStatus::Disposed),
            _ => None,
        }
    }
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (ReviewStatus::Received, Lang::Zh) => "待处理",
            (ReviewStatus::Disposed, Lang::Zh) => "已处理",
            (ReviewStatus::Received, Lang::En) => "Waiting",
            (ReviewStatus::Disposed, Lang::En) => "Disposed",
        }
    }
}

/// The moderation filter: comments with no mark, with any mark, or with one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModerationFilter {
    Unmarked,
    Any,
    Is(Moderation),
}

/// Which comments of one consultation a reviewer looks at (and a bulk action touches).
/// Every field narrows the set; the default is every comment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueFilter {
    pub status: Option<ReviewStatus>,
    pub article: Option<u32>,
    pub position: Option<String>,
    pub channel: Option<crate::comment::Channel>,
    /// Inclusive lower bound on the received time.
    pub from: Option<Timestamp>,
    /// Exclusive upper bound on the received time.
    pub until: Option<Timestamp>,
    pub disposition: Option<Disposition>,
    pub moderation: Option<ModerationFilter>,
    pub tag: Option<String>,
    /// Chinese full-text search over the opinions.
    pub text: Option<String>,
    /// Members of campaigns (copied texts), of one campaign, or of none.
    pub campaign: Option<CampaignFilter>,
    /// Comments carrying this signal (issue 13).
    pub signal: Option<crate::signals::Signal>,
    /// Comments with an open suggestion for an article, at or above a confidence (issue 14).
    pub suggested: Option<SuggestedFilter>,
    /// The members of one theme (issue 14).
    pub theme: Option<i64>,
}

/// The suggestion filter: comments with an open (neither accepted nor rejected) suggestion for
/// `article` whose confidence is at least `min_percent` hundredths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SuggestedFilter {
    pub article: u32,
    /// Hundredths, so that the filter stays `Eq` and reads back from a URL exactly.
    pub min_percent: u8,
}

impl SuggestedFilter {
    /// The default floor: suggestions below [`crate::suggestion::SHOW_THRESHOLD`] are not shown.
    pub const DEFAULT_PERCENT: u8 = 50;

    /// Reads a confidence written as `0.7` (or `0.70`, `1`, `0`); `None` outside 0..=1.
    pub fn parse_confidence(s: &str) -> Option<u8> {
        let v: f64 = s.trim().parse().ok()?;
        (v.is_finite() && (0.0..=1.0).contains(&v)).then(|| (v * 100.0).round() as u8)
    }

    pub fn min_confidence(&self) -> f64 {
        f64::from(self.min_percent) / 100.0
    }
}

/// The campaign filter: comments in any campaign, in none, or in one (by its id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CampaignFilter {
    Only,
    Excluded,
    Is(i64),
}

impl CampaignFilter {
    /// `only`, `none`, or a campaign's id, as in a query string.
    pub fn parse(s: &str) -> Option<CampaignFilter> {
        match s {
            "only" => Some(CampaignFilter::Only),
            "none" => Some(CampaignFilter::Excluded),
            n => n.parse::<i64>().ok().filter(|n| *n > 0).map(CampaignFilter::Is),
        }
    }
}

/// One change staff make to a comment, alone or to a whole filtered set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewAction {
    /// Replaces the articles the comment addresses.
    LinkArticles(Vec<u32>),
    AddTag(String),
    RemoveTag(String),
    /// `None` clears the mark.
    Moderate(Option<Moderation>, String),
    /// `None` clears the disposition (the comment goes back to waiting).
    Dispose(Option<Disposition>, String),
    /// A passage the report may quote; `None` takes it out of the report.
    Excerpt(Option<String>),
    /// Accepts the suggestion of this article (issue 14): the article is added to the
    /// comment's links, which are otherwise kept as they are. Comments without such a
    /// suggestion are left alone.
    AcceptSuggestion(u32),
    /// Rejects the open suggestion of this article; the comment's links are not touched.
    RejectSuggestion(u32),
}

impl ReviewAction {
    /// The audit log's name for the action.
    pub fn audit_action(&self) -> &'static str {
        match self {
            ReviewAction::LinkArticles(_) => "review.link_articles",
            ReviewAction::AddTag(_) => "review.add_tag",
            ReviewAction::RemoveTag(_) => "review.remove_tag",
            ReviewAction::Moderate(..) => "review.moderate",
            ReviewAction::Dispose(..) => "review.dispose",
            ReviewAction::Excerpt(_) => "review.excerpt",
            ReviewAction::AcceptSuggestion(_) => "suggestion.accept",
            ReviewAction::RejectSuggestion(_) => "suggestion.reject",
        }
    }

    /// Whether the action may be applied to a whole filtered set at once. An excerpt is chosen
    /// from one comment's words, so it is set one comment at a time.
    pub fn allowed_in_bulk(&self) -> bool {
        !matches!(self, ReviewAction::Excerpt(_))
    }

    /// Whether the action fits a comment whose opinion is `opinion`: an excerpt must be the
    /// citizen's own words, so the report never quotes what they did not write.
    pub fn fits(&self, opinion: &str) -> bool {
        match self {
            ReviewAction::Excerpt(Some(e)) => opinion.contains(e.trim()),
            _ => true,
        }
    }

    /// A one-line account of the action, for the audit log's record of a bulk action.
    pub fn describe(&self) -> String {
        match self {
            ReviewAction::LinkArticles(a) => format!("link {a:?}"),
            ReviewAction::AddTag(t) => format!("tag {t}"),
            ReviewAction::RemoveTag(t) => format!("untag {t}"),
            ReviewAction::Moderate(m, r) => format!("moderate {} reason={r}", m.map(|m| m.as_str()).unwrap_or("none")),
            ReviewAction::Dispose(d, r) => format!("dispose {} reason={r}", d.map(|d| d.as_str()).unwrap_or("none")),
            ReviewAction::Excerpt(e) => format!("excerpt {}", if e.is_some() { "set" } else { "cleared" }),
            ReviewAction::AcceptSuggestion(a) => format!("accept suggestion {a}"),
            ReviewAction::RejectSuggestion(a) => format!("reject suggestion {a}"),
        }
    }
}

/// Longest tag, reasoning and excerpt, in characters.
pub const MAX_TAG_CHARS: usize = 30;
pub const MAX_REASON_CHARS: usize = 2000;
pub const MAX_EXCERPT_CHARS: usize = 500;

/// Why an action cannot be applied, as a stable code (messages in [`action_message`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionError {
    UnknownArticle(u32),
    BadTag,
    ReasonRequired,
    ReasonTooLong,
    ExcerptTooLong,
    ExcerptNotInOpinion,
}

impl ReviewAction {
    /// Checks the action against the consultation's articles. An excerpt must be a passage of
    /// the opinion (checked by the caller, who has it) so the report never puts words in a
    /// citizen's mouth.
    pub fn check(&self, articles: &[u32]) -> Result<(), ActionError> {
        let reason_ok = |r: &str, required: bool| {
            if required && r.trim().is_empty() {
                Err(ActionError::ReasonRequired)
            } else if r.chars().count() > MAX_REASON_CHARS {
                Err(ActionError::ReasonTooLong)
            } else {
                Ok(())
            }
        };
        match self {
            ReviewAction::LinkArticles(list) => match list.iter().find(|n| !articles.contains(n)) {
                Some(n) => Err(ActionError::UnknownArticle(*n)),
                None => Ok(()),
            },
            ReviewAction::AddTag(t) | ReviewAction::RemoveTag(t) => {
                if valid_tag(t) {
                    Ok(())
                } else {
                    Err(ActionError::BadTag)
                }
            }
            ReviewAction::Moderate(m, r) => reason_ok(r, m.is_some()),
            ReviewAction::Dispose(d, r) => reason_ok(r, d.is_some()),
            ReviewAction::Excerpt(Some(e)) if e.chars().count() > MAX_EXCERPT_CHARS => Err(ActionError::ExcerptTooLong),
            ReviewAction::Excerpt(_) => Ok(()),
            ReviewAction::AcceptSuggestion(n) | ReviewAction::RejectSuggestion(n) if !articles.contains(n) => {
                Err(ActionError::UnknownArticle(*n))
            }
            ReviewAction::AcceptSuggestion(_) | ReviewAction::RejectSuggestion(_) => Ok(()),
        }
    }
}

/// A tag is a short label of letters, digits, CJK and a few joiners; nothing that could be
/// mistaken for markup or break a filter URL.
pub fn valid_tag(tag: &str) -> bool {
    let n = tag.chars().count();
    n > 0
        && n <= MAX_TAG_CHARS
        && tag.chars().all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '·' | '/' | '（' | '）'))
}

pub fn action_message(e: ActionError, lang: Lang) -> String {
    match (e, lang) {
        (ActionError::UnknownArticle(n), Lang::Zh) => format!("本文件没有第{n}条。"),
        (ActionError::UnknownArticle(n), Lang::En) => format!("The draft has no article {n}."),
        (ActionError::BadTag, Lang::Zh) => {
            format!("标签须为1至{MAX_TAG_CHARS}个字，只含文字、数字和 - _ · / （）。")
        }
        (ActionError::BadTag, Lang::En) => {
            format!("A tag has 1 to {MAX_TAG_CHARS} letters, digits or - _ · / （）.")
        }
        (ActionError::ReasonRequired, Lang::Zh) => "请填写理由，报告中将公开这段说明。".into(),
        (ActionError::ReasonRequired, Lang::En) => "Give the reasoning; the report prints it.".into(),
        (ActionError::ReasonTooLong, Lang::Zh) => format!("理由不能超过{MAX_REASON_CHARS}个字。"),
        (ActionError::ReasonTooLong, Lang::En) => format!("The reasoning is limited to {MAX_REASON_CHARS} characters."),
        (ActionError::ExcerptTooLong, Lang::Zh) => format!("摘录不能超过{MAX_EXCERPT_CHARS}个字。"),
        (ActionError::ExcerptTooLong, Lang::En) => format!("An excerpt is limited to {MAX_EXCERPT_CHARS} characters."),
        (ActionError::ExcerptNotInOpinion, Lang::Zh) => "摘录必须是意见原文中的一段。".into(),
        (ActionError::ExcerptNotInOpinion, Lang::En) => "An excerpt must be a passage of the opinion.".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestion_filters_and_actions() {
        assert_eq!(SuggestedFilter::parse_confidence("0.7"), Some(70));
        assert_eq!(SuggestedFilter::parse_confidence(" 1 "), Some(100));
        assert_eq!(SuggestedFilter::parse_confidence("0"), Some(0));
        for bad in ["1.01", "-0.1", "x", "", "NaN", "inf"] {
            assert_eq!(SuggestedFilter::parse_confidence(bad), None, "{bad}");
        }
        assert_eq!(SuggestedFilter { article: 5, min_percent: 55 }.min_confidence(), 0.55);
        let articles = [1, 2, 3];
        assert_eq!(ReviewAction::AcceptSuggestion(2).check(&articles), Ok(()));
        assert_eq!(ReviewAction::RejectSuggestion(9).check(&articles), Err(ActionError::UnknownArticle(9)));
        assert!(ReviewAction::AcceptSuggestion(2).allowed_in_bulk());
        assert_eq!(ReviewAction::AcceptSuggestion(2).audit_action(), "suggestion.accept");
        assert_eq!(ReviewAction::RejectSuggestion(2).describe(), "reject suggestion 2");
    }

    #[test]
    fn an_excerpt_is_the_comments_own_words_and_chosen_one_at_a_time() {
        let excerpt = ReviewAction::Excerpt(Some(" 加大补贴 ".into()));
        assert!(excerpt.fits("建议加大补贴力度"));
        assert!(!excerpt.fits("建议加强培训"));
        assert!(ReviewAction::Excerpt(None).fits("任何意见"));
        assert!(!excerpt.allowed_in_bulk() && !ReviewAction::Excerpt(None).allowed_in_bulk());
        assert!(ReviewAction::AddTag("培训".into()).allowed_in_bulk());
        assert!(ReviewAction::AddTag("培训".into()).fits(""));
    }

    #[test]
    fn dispositions_and_marks_round_trip_through_their_codes() {
        for d in Disposition::ALL {
            assert_eq!(Disposition::parse(d.as_str()), Some(d));
        }
        for m in Moderation::ALL {
            assert_eq!(Moderation::parse(m.as_str()), Some(m));
        }
        assert_eq!(Disposition::parse("ADOPTED"), None);
        assert_eq!(Disposition::OutOfScope.label(Lang::Zh), "不属于本文件");
        assert!(Moderation::Spam.excluded_from_report() && Moderation::Hidden.excluded_from_report());
        assert!(!Moderation::Duplicate.excluded_from_report());
    }

    #[test]
    fn actions_are_checked_against_the_draft() {
        let articles = [1, 2, 3];
        assert_eq!(ReviewAction::LinkArticles(vec![1, 3]).check(&articles), Ok(()));
        assert_eq!(ReviewAction::LinkArticles(vec![4]).check(&articles), Err(ActionError::UnknownArticle(4)));
        assert_eq!(ReviewAction::AddTag("就业".into()).check(&articles), Ok(()));
        assert_eq!(ReviewAction::AddTag("<b>".into()).check(&articles), Err(ActionError::BadTag));
        assert_eq!(ReviewAction::AddTag("".into()).check(&articles), Err(ActionError::BadTag));
        assert_eq!(
            ReviewAction::Dispose(Some(Disposition::Adopted), " ".into()).check(&articles),
            Err(ActionError::ReasonRequired)
        );
        assert_eq!(ReviewAction::Dispose(None, String::new()).check(&articles), Ok(()));
        assert_eq!(
            ReviewAction::Moderate(Some(Moderation::Spam), "x".repeat(MAX_REASON_CHARS + 1)).check(&articles),
            Err(ActionError::ReasonTooLong)
        );
        assert_eq!(
            ReviewAction::Excerpt(Some("字".repeat(MAX_EXCERPT_CHARS + 1))).check(&articles),
            Err(ActionError::ExcerptTooLong)
        );
    }
}
