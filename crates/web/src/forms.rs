//! What staff send: form bodies, query strings and JSON objects, read into one shape, and the
//! queue filters and review actions made from it. The pages and the JSON API share these
//! readers, so a filter means the same thing in a URL, a form and an API call.

use std::collections::HashMap;

use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::Value;
use yijian_domain::Lang;

use crate::texts::texts;
use yijian_domain::comment::Channel;
use yijian_domain::review::{
    CampaignFilter, Disposition, Moderation, ModerationFilter, QueueFilter, ReviewAction, ReviewStatus, SuggestedFilter,
};

/// Keys with their values in order; a key may repeat (checkboxes).
#[derive(Debug, Clone, Default)]
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    pub fn from_urlencoded(bytes: &[u8]) -> Fields {
        Fields(form_urlencoded::parse(bytes).into_owned().collect())
    }

    /// A JSON object of strings, numbers and arrays of them.
    pub fn from_json(v: &Value) -> Option<Fields> {
        let mut out = vec![];
        for (k, v) in v.as_object()? {
            match v {
                Value::String(s) => out.push((k.clone(), s.clone())),
                Value::Number(n) => out.push((k.clone(), n.to_string())),
                Value::Bool(b) => out.push((k.clone(), b.to_string())),
                Value::Null => {}
                Value::Array(items) => {
                    for i in items {
                        match i {
                            Value::String(s) => out.push((k.clone(), s.clone())),
                            Value::Number(n) => out.push((k.clone(), n.to_string())),
                            _ => return None,
                        }
                    }
                    if items.is_empty() {
                        out.push((k.clone(), String::new()));
                    }
                }
                Value::Object(_) => return None,
            }
        }
        Some(Fields(out))
    }

    /// The first non-blank value, trimmed.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, v)| k == key && !v.trim().is_empty()).map(|(_, v)| v.trim())
    }

    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, v)| k == key && !v.trim().is_empty()).map(|(_, v)| v.trim()).collect()
    }

    /// The last value of a key as sent, untrimmed (passwords); empty if there is none.
    pub fn raw(&self, key: &str) -> &str {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).unwrap_or("")
    }

    pub fn has(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }

    pub fn map(&self) -> HashMap<&str, &str> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }
}

fn local_day_start(d: Date, tz: &jiff::tz::TimeZone) -> Option<Timestamp> {
    d.to_zoned(tz.clone()).ok().map(|z| z.timestamp())
}

/// The filter keys: `status`, `article`, `position`, `channel`, `from`, `until` (dates,
/// inclusive, in the consultation's time zone), `disposition`, `moderation` (`none`, `any` or
/// a mark), `tag`, `q`, `signal` (issue 13), `suggested` with `confidence`, `theme` (issue 14). Unknown values are an error naming the key, never silently ignored:
/// a bulk action on a misread filter would touch the wrong comments.
pub fn queue_filter(f: &Fields, tz: &jiff::tz::TimeZone, lang: Lang) -> Result<QueueFilter, String> {
    let bad = |key: &str, v: &str| texts(lang).bad_filter_value.replace("{key}", key).replace("{value}", v);
    let mut q = QueueFilter::default();
    if let Some(v) = f.get("status") {
        q.status = Some(ReviewStatus::parse(v).ok_or_else(|| bad("status", v))?);
    }
    if let Some(v) = f.get("article") {
        q.article = Some(v.parse().map_err(|_| bad("article", v))?);
    }
    q.position = f.get("position").map(String::from);
    if let Some(v) = f.get("channel") {
        q.channel = Some(Channel::parse(v).ok_or_else(|| bad("channel", v))?);
    }
    if let Some(v) = f.get("from") {
        let d: Date = v.parse().map_err(|_| bad("from", v))?;
        q.from = Some(local_day_start(d, tz).ok_or_else(|| bad("from", v))?);
    }
    if let Some(v) = f.get("until") {
        let d: Date = v.parse().map_err(|_| bad("until", v))?;
        let next = d.tomorrow().map_err(|_| bad("until", v))?;
        q.until = Some(local_day_start(next, tz).ok_or_else(|| bad("until", v))?);
    }
    if let Some(v) = f.get("disposition") {
        q.disposition = Some(Disposition::parse(v).ok_or_else(|| bad("disposition", v))?);
    }
    if let Some(v) = f.get("moderation") {
        q.moderation = Some(match v {
            "none" => ModerationFilter::Unmarked,
            "any" => ModerationFilter::Any,
            m => ModerationFilter::Is(Moderation::parse(m).ok_or_else(|| bad("moderation", v))?),
        });
    }
    q.tag = f.get("tag").map(String::from);
    q.text = f.get("q").map(|s| s.chars().take(200).collect());
    if let Some(v) = f.get("campaign") {
        q.campaign = Some(CampaignFilter::parse(v).ok_or_else(|| bad("campaign", v))?);
    }
    if let Some(v) = f.get("signal") {
        q.signal = Some(yijian_domain::signals::Signal::parse(v).ok_or_else(|| bad("signal", v))?);
    }
    if let Some(v) = f.get("theme") {
        q.theme = Some(v.parse::<i64>().ok().filter(|k| *k > 0).ok_or_else(|| bad("theme", v))?);
    }
    // Issue 14: `suggested` (an article number) and `confidence` (0..1, default 0.5).
    match (f.get("suggested"), f.get("confidence")) {
        (Some(v), c) => {
            let article = v.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| bad("suggested", v))?;
            let min_percent = match c {
                Some(c) => SuggestedFilter::parse_confidence(c).ok_or_else(|| bad("confidence", c))?,
                None => SuggestedFilter::DEFAULT_PERCENT,
            };
            q.suggested = Some(SuggestedFilter { article, min_percent });
        }
        (None, Some(c)) => return Err(bad("confidence", c)),
        (None, None) => {}
    }
    Ok(q)
}

/// The filter back as query-string pairs, for links (next page, export, bulk form).
pub fn filter_pairs(f: &Fields) -> Vec<(&'static str, String)> {
    [
        "status",
        "article",
        "position",
        "channel",
        "from",
        "until",
        "disposition",
        "moderation",
        "tag",
        "q",
        "campaign",
        "signal",
        "suggested",
        "confidence",
        "theme",
    ]
    .into_iter()
    .filter_map(|k| f.get(k).map(|v| (k, v.to_string())))
    .collect()
}

pub fn query_string(pairs: &[(&str, String)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// The action keys: `action` = `link` (with `articles`), `tag` / `untag` (with `tag_name`),
/// `moderate` (with `mark`: a mark or `none`, and `reason`), `dispose` (with `disposition`: a
/// disposition or `none`, and `reason`), `excerpt` (with `excerpt`, blank to remove),
/// `accept_suggestion` / `reject_suggestion` (with `article`; issue 14).
pub fn review_action(f: &Fields, lang: Lang) -> Result<ReviewAction, String> {
    let reason = f.get("reason").unwrap_or("").to_string();
    // `article` (for the suggestion verbs) is an article number whatever the verb: a value no
    // article can have is refused, not ignored, as the OpenAPI document promises.
    let article = match f.get("article") {
        Some(a) => Some(
            a.parse::<i32>()
                .ok()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| texts(lang).bad_article_number.replace("{article}", a))?,
        ),
        None => None,
    };
    match f.get("action").unwrap_or("") {
        "link" => {
            let mut list = vec![];
            for a in f.all("articles") {
                list.push(a.parse::<u32>().map_err(|_| texts(lang).bad_article_number.replace("{article}", a))?);
            }
            Ok(ReviewAction::LinkArticles(list))
        }
        "tag" => Ok(ReviewAction::AddTag(f.get("tag_name").unwrap_or("").to_string())),
        "untag" => Ok(ReviewAction::RemoveTag(f.get("tag_name").unwrap_or("").to_string())),
        "moderate" => match f.get("mark").unwrap_or("") {
            "none" => Ok(ReviewAction::Moderate(None, reason)),
            m => Moderation::parse(m)
                .map(|m| ReviewAction::Moderate(Some(m), reason))
                .ok_or_else(|| texts(lang).choose_a_mark.to_string()),
        },
        "dispose" => match f.get("disposition").unwrap_or("") {
            "none" => Ok(ReviewAction::Dispose(None, reason)),
            d => Disposition::parse(d)
                .map(|d| ReviewAction::Dispose(Some(d), reason))
                .ok_or_else(|| texts(lang).choose_a_disposition.to_string()),
        },
        "excerpt" => Ok(ReviewAction::Excerpt(f.get("excerpt").map(String::from))),
        "accept_suggestion" | "reject_suggestion" => {
            let n = article.ok_or_else(|| texts(lang).bad_article_number.replace("{article}", ""))?;
            Ok(if f.get("action") == Some("accept_suggestion") {
                ReviewAction::AcceptSuggestion(n)
            } else {
                ReviewAction::RejectSuggestion(n)
            })
        }
        other => Err(texts(lang).unknown_action_named.replace("{action}", other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_read_from_forms_and_json_alike_and_refuse_bad_values() {
        let tz = jiff::tz::TimeZone::get("Asia/Shanghai").unwrap();
        let form = Fields::from_urlencoded(
            "status=received&article=3&from=2025-05-12&until=2025-05-12&moderation=none&q=%E5%B0%B1%E4%B8%9A"
                .as_bytes(),
        );
        let q = queue_filter(&form, &tz, Lang::Zh).unwrap();
        assert_eq!(q.status, Some(ReviewStatus::Received));
        assert_eq!(q.article, Some(3));
        assert_eq!(q.moderation, Some(ModerationFilter::Unmarked));
        assert_eq!(q.text.as_deref(), Some("就业"));
        assert_eq!(q.from.unwrap().to_string(), "2025-05-11T16:00:00Z");
        assert_eq!(q.until.unwrap().to_string(), "2025-05-12T16:00:00Z");
        let json = Fields::from_json(&serde_json::json!({"status": "received", "article": 3})).unwrap();
        assert_eq!(queue_filter(&json, &tz, Lang::Zh).unwrap().article, Some(3));
        for bad in ["status=x", "article=one", "from=2025-13-01", "disposition=yes", "moderation=rude", "channel=fax"] {
            let e = queue_filter(&Fields::from_urlencoded(bad.as_bytes()), &tz, Lang::En).unwrap_err();
            assert!(e.contains("filter"), "{bad}: {e}");
        }
    }

    #[test]
    fn actions_read_from_fields() {
        let f = Fields::from_urlencoded(b"action=link&articles=1&articles=4");
        assert_eq!(review_action(&f, Lang::Zh).unwrap(), ReviewAction::LinkArticles(vec![1, 4]));
        let f = Fields::from_urlencoded("action=dispose&disposition=adopted&reason=%E5%A5%BD".as_bytes());
        assert_eq!(
            review_action(&f, Lang::Zh).unwrap(),
            ReviewAction::Dispose(Some(Disposition::Adopted), "好".into())
        );
        let f = Fields::from_urlencoded(b"action=moderate&mark=none");
        assert_eq!(review_action(&f, Lang::Zh).unwrap(), ReviewAction::Moderate(None, String::new()));
        assert!(review_action(&Fields::from_urlencoded(b"action=drop"), Lang::Zh).is_err());
        assert!(review_action(&Fields::from_urlencoded(b"action=dispose&disposition=maybe"), Lang::Zh).is_err());
        assert!(review_action(&Fields::from_urlencoded(b"action=link&articles=x"), Lang::Zh).is_err());
    }
}
