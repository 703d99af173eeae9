//! A consultation: who asks, about which draft, between which instants, through which channels.

use jiff::{Timestamp, tz::TimeZone};
use serde::{Deserialize, Serialize};

use crate::document::Document;
use crate::{Lang, document};

pub const DEFAULT_TIME_ZONE: &str = "Asia/Shanghai";
pub const DEFAULT_MAX_OPINION_CHARS: usize = 5000;

/// Everything about a consultation except its draft text: this part may change (a deadline
/// extended, a contact replaced) without a new version of the text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsultationMeta {
    /// A stable slug: lower-case ASCII letters, digits and hyphens.
    pub id: String,
    pub title: String,
    pub issuer: String,
    pub issued_on: Option<jiff::civil::Date>,
    pub opens_at: Timestamp,
    pub closes_at: Timestamp,
    pub time_zone: String,
    pub max_opinion_chars: usize,
    pub positions: Vec<String>,
    /// The notice, paragraphs separated by blank lines. `{deadline}` and `{subject_phrase}` are
    /// filled in when it is rendered, so the deadline sentence always follows the dates.
    pub notice: String,
    pub contact: Contact,
    pub email_channel: EmailChannel,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Contact {
    pub person: String,
    #[serde(default)]
    pub department: String,
    pub phone: String,
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct EmailChannel {
    pub address: String,
    /// The phrase a mail's subject must contain for the mail to reach this consultation.
    pub subject_phrase: String,
    /// More phrases that route a mail here (short names the public uses).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phrases: Vec<String>,
    /// The automatic reply to a routed mail; `{receipt}`, `{title}`, `{issuer}`,
    /// `{received_at}` and `{receipt_url}` are filled in. `None` takes [`DEFAULT_REPLY_TEMPLATE`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_template: Option<String>,
    /// Send a confirmation mail with the receipt to the address a web or API comment gives.
    #[serde(default)]
    pub confirm_web_comments: bool,
}

/// The reply a routed mail gets when the consultation names no template of its own.
pub const DEFAULT_REPLY_TEMPLATE: &str = "您好：

我们已收到您对《{title}》提出的意见，受理编号为 {receipt}（收到时间：{received_at}）。
请保存此编号，凭它可以查询意见的处理情况：{receipt_url}

本邮件由系统自动发送，请勿直接回复。

{issuer}
";

impl EmailChannel {
    /// Fills in a reply template. Unknown `{…}` stay as written, so a typo shows in the mail
    /// rather than failing the reply.
    pub fn render_reply(&self, values: &[(&str, &str)]) -> String {
        let mut text = self.reply_template.clone().unwrap_or_else(|| DEFAULT_REPLY_TEMPLATE.to_string());
        for (key, value) in values {
            text = text.replace(&format!("{{{key}}}"), value);
        }
        text
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Upcoming,
    Open,
    Closed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Upcoming => "upcoming",
            Status::Open => "open",
            Status::Closed => "closed",
        }
    }
}

impl Status {
    /// Open from `opens_at` (inclusive) to `closes_at` (exclusive).
    pub fn at(opens_at: Timestamp, closes_at: Timestamp, now: Timestamp) -> Status {
        if now < opens_at {
            Status::Upcoming
        } else if now < closes_at {
            Status::Open
        } else {
            Status::Closed
        }
    }
}

/// Where a published consultation stands in its life: the window it takes comments in, and
/// whether it has been taken off the public list. Its transitions are the rules below; the
/// store only records what they allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub opens_at: Timestamp,
    pub closes_at: Timestamp,
    pub archived_at: Option<Timestamp>,
}

/// Why a change of schedule is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("the consultation is archived")]
    Archived,
    #[error("the new deadline must be later than the current one")]
    NotLater,
    #[error("the consultation is already closed")]
    AlreadyClosed,
    #[error("the consultation is still open; close it before archiving")]
    StillOpen,
}

impl Schedule {
    pub fn status(&self, now: Timestamp) -> Status {
        Status::at(self.opens_at, self.closes_at, now)
    }

    /// A deadline may only move later, and into the future; never once archived.
    pub fn extend(&self, new_closes_at: Timestamp, now: Timestamp) -> Result<Schedule, ScheduleError> {
        self.not_archived()?;
        if new_closes_at <= self.closes_at || new_closes_at <= now {
            return Err(ScheduleError::NotLater);
        }
        Ok(Schedule { closes_at: new_closes_at, ..*self })
    }

    /// Closing early is for a consultation that has not closed yet: it closes now.
    pub fn close_early(&self, now: Timestamp) -> Result<Schedule, ScheduleError> {
        self.not_archived()?;
        if self.closes_at <= now {
            return Err(ScheduleError::AlreadyClosed);
        }
        Ok(Schedule { closes_at: now, ..*self })
    }

    /// Only a closed consultation is archived, and only once.
    pub fn archive(&self, now: Timestamp) -> Result<Schedule, ScheduleError> {
        self.not_archived()?;
        if self.closes_at > now {
            return Err(ScheduleError::StillOpen);
        }
        Ok(Schedule { archived_at: Some(now), ..*self })
    }

    /// A file imported over a published consultation may change it until it is archived.
    pub fn not_archived(&self) -> Result<(), ScheduleError> {
        match self.archived_at {
            Some(_) => Err(ScheduleError::Archived),
            None => Ok(()),
        }
    }
}

impl ConsultationMeta {
    /// Open from `opens_at` (inclusive) to `closes_at` (exclusive).
    pub fn status(&self, now: Timestamp) -> Status {
        Status::at(self.opens_at, self.closes_at, now)
    }

    pub fn tz(&self) -> TimeZone {
        TimeZone::get(&self.time_zone).unwrap_or(TimeZone::UTC)
    }

    /// RFC 3339 with the consultation's own offset, e.g. `2025-05-19T00:00:00+08:00`.
    pub fn rfc3339(&self, t: Timestamp) -> String {
        rfc3339_in(t, &self.tz())
    }

    /// The deadline as people say it: a close at midnight is "by the end of the day before".
    pub fn deadline_text(&self, lang: Lang) -> String {
        let local = self.closes_at.to_zoned(self.tz());
        let at_midnight = local.time() == jiff::civil::Time::midnight();
        let (date, time) = if at_midnight {
            (local.date().yesterday().unwrap_or(local.date()), None)
        } else {
            (local.date(), Some(local.time()))
        };
        match (lang, time) {
            (Lang::Zh, None) => format!("{}年{}月{}日", date.year(), date.month(), date.day()),
            (Lang::Zh, Some(t)) => {
                format!("{}年{}月{}日{:02}:{:02}", date.year(), date.month(), date.day(), t.hour(), t.minute())
            }
            (Lang::En, None) => date.strftime("%-d %B %Y").to_string(),
            (Lang::En, Some(t)) => format!("{} {:02}:{:02}", date.strftime("%-d %B %Y"), t.hour(), t.minute()),
        }
    }

    /// The language the consultation is written in: Chinese when its title or notice holds a
    /// Han character, English otherwise. Its own texts (the notice) speak this language,
    /// whatever language the reader chose for the interface around them.
    pub fn language(&self) -> Lang {
        let han = |s: &str| s.chars().any(|c| matches!(c, '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}'));
        if han(&self.title) || han(&self.notice) { Lang::Zh } else { Lang::En }
    }

    /// The notice with its placeholders filled in. The deadline is written in the notice's own
    /// language ([`Self::language`]): "请于2 January 2027前" in a Chinese notice read through the
    /// English interface was the bug this avoids.
    pub fn rendered_notice(&self) -> String {
        self.notice
            .replace("{deadline}", &self.deadline_text(self.language()))
            .replace("{subject_phrase}", &self.email_channel.subject_phrase)
    }

    /// Moves the schedule so the consultation opens at `now` and runs for `days`: the demo
    /// uses this so that a new user can try the whole flow at once.
    /// It closes at the end of the last day, local time, as a notice's deadline would.
    pub fn reschedule_from(&mut self, now: Timestamp, days: i64) {
        self.opens_at = now;
        let tz = self.tz();
        let last_day_end = now
            .to_zoned(tz.clone())
            .date()
            .checked_add(jiff::Span::new().days(days + 1))
            .and_then(|d| d.to_zoned(tz))
            .map(|z| z.timestamp());
        self.closes_at = last_day_end.unwrap_or(now + jiff::SignedDuration::from_hours(24 * days));
    }
}

pub fn rfc3339_in(t: Timestamp, tz: &TimeZone) -> String {
    t.to_zoned(tz.clone()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// A consultation as the server holds it: its current metadata and its verified draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consultation {
    pub meta: ConsultationMeta,
    pub demo: bool,
    pub version: u32,
    pub document: Document,
    pub content_sha256: String,
    /// Base64 Ed25519 signature over the canonical text.
    pub signature: String,
}

impl Consultation {
    pub fn canonical_text(&self) -> String {
        self.document.canonical_text()
    }
}

/// The bytes the metadata signature of a published consultation covers: what citizens rely on
/// beside the draft's text (the id and version, title, issuer, dates, time zone, the contact,
/// the mailbox address and subject phrase of the email channel) and whether it was archived.
/// Each field is named and length-prefixed, so no two records share a string; the first line
/// names the format, so a later one can add fields without making old signatures ambiguous.
pub fn signed_metadata(meta: &ConsultationMeta, version: u32, archived_at: Option<Timestamp>) -> String {
    let date = |t: Timestamp| t.to_string();
    let fields: [(&str, String); 15] = [
        ("id", meta.id.clone()),
        ("version", version.to_string()),
        ("title", meta.title.clone()),
        ("issuer", meta.issuer.clone()),
        ("issued_on", meta.issued_on.map(|d| d.to_string()).unwrap_or_default()),
        ("opens_at", date(meta.opens_at)),
        ("closes_at", date(meta.closes_at)),
        ("time_zone", meta.time_zone.clone()),
        ("contact_person", meta.contact.person.clone()),
        ("contact_department", meta.contact.department.clone()),
        ("contact_phone", meta.contact.phone.clone()),
        ("contact_email", meta.contact.email.clone()),
        ("mailbox", meta.email_channel.address.clone()),
        ("subject_phrase", meta.email_channel.subject_phrase.clone()),
        ("archived_at", archived_at.map(date).unwrap_or_default()),
    ];
    let mut s = String::from("yijian-consultation-metadata v1\n");
    for (name, value) in fields {
        s.push_str(&format!("{name} {}:{value}\n", value.len()));
    }
    s
}

/// Checks that a slug is usable in URLs and file names.
pub fn valid_slug(id: &str) -> bool {
    (2..=64).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
        && !id.ends_with('-')
}

/// Re-exported so callers can hash without reaching into `document`.
pub use document::sha256_hex;

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn schedule(opens: &str, closes: &str) -> Schedule {
        Schedule { opens_at: at(opens), closes_at: at(closes), archived_at: None }
    }

    #[test]
    fn a_deadline_moves_only_later_and_into_the_future() {
        let s = schedule("2025-05-12T00:00:00Z", "2025-05-19T00:00:00Z");
        let now = at("2025-05-15T00:00:00Z");
        assert_eq!(s.extend(at("2025-05-26T00:00:00Z"), now).unwrap().closes_at, at("2025-05-26T00:00:00Z"));
        assert_eq!(s.extend(at("2025-05-19T00:00:00Z"), now), Err(ScheduleError::NotLater), "the same deadline");
        assert_eq!(s.extend(at("2025-05-18T00:00:00Z"), now), Err(ScheduleError::NotLater), "earlier");
        let late = at("2025-06-01T00:00:00Z");
        assert_eq!(s.extend(at("2025-05-26T00:00:00Z"), late), Err(ScheduleError::NotLater), "in the past");
        let archived = Schedule { archived_at: Some(late), ..s };
        assert_eq!(archived.extend(at("2026-01-01T00:00:00Z"), late), Err(ScheduleError::Archived));
    }

    #[test]
    fn only_an_unclosed_consultation_closes_early_and_only_a_closed_one_is_archived() {
        let s = schedule("2025-05-12T00:00:00Z", "2025-05-19T00:00:00Z");
        let during = at("2025-05-15T00:00:00Z");
        let closed = s.close_early(during).unwrap();
        assert_eq!(closed.closes_at, during);
        assert_eq!(closed.status(during), Status::Closed);
        assert_eq!(closed.close_early(during), Err(ScheduleError::AlreadyClosed));
        assert_eq!(s.archive(during), Err(ScheduleError::StillOpen));
        let archived = closed.archive(during).unwrap();
        assert_eq!(archived.archived_at, Some(during));
        assert_eq!(archived.archive(during), Err(ScheduleError::Archived));
        assert_eq!(archived.close_early(during), Err(ScheduleError::Archived));
        assert_eq!(archived.not_archived(), Err(ScheduleError::Archived));
        // An upcoming consultation may be closed before it opens.
        assert!(s.close_early(at("2025-05-01T00:00:00Z")).is_ok());
    }

    #[test]
    fn status_bounds() {
        let (o, c) = (at("2025-05-12T00:00:00Z"), at("2025-05-19T00:00:00Z"));
        assert_eq!(Status::at(o, c, at("2025-05-11T23:59:59Z")), Status::Upcoming);
        assert_eq!(Status::at(o, c, o), Status::Open, "opening is inclusive");
        assert_eq!(Status::at(o, c, c), Status::Closed, "closing is exclusive");
    }

    fn meta(opens: &str, closes: &str) -> ConsultationMeta {
        ConsultationMeta {
            id: "x".into(),
            title: "t".into(),
            issuer: "i".into(),
            issued_on: None,
            opens_at: opens.parse().unwrap(),
            closes_at: closes.parse().unwrap(),
            time_zone: DEFAULT_TIME_ZONE.into(),
            max_opinion_chars: 5000,
            positions: vec![],
            notice: "请于{deadline}前反馈。（请在邮件主题上注明《{subject_phrase}》）".into(),
            contact: Contact::default(),
            email_channel: EmailChannel {
                address: "a@example.org".into(),
                subject_phrase: "某办法".into(),
                ..Default::default()
            },
        }
    }

    #[test]
    fn status_edges() {
        let m = meta("2025-05-11T16:00:00Z", "2025-05-18T16:00:00Z");
        let cases = [
            ("2025-05-11T15:59:59Z", Status::Upcoming),
            ("2025-05-11T16:00:00Z", Status::Open),
            ("2025-05-18T15:59:59Z", Status::Open),
            ("2025-05-18T16:00:00Z", Status::Closed),
        ];
        for (now, want) in cases {
            assert_eq!(m.status(now.parse().unwrap()), want, "{now}");
        }
    }

    #[test]
    fn deadline_sentence_follows_dates() {
        let m = meta("2025-05-11T16:00:00Z", "2025-05-18T16:00:00Z");
        assert_eq!(m.deadline_text(Lang::Zh), "2025年5月18日");
        assert_eq!(m.deadline_text(Lang::En), "18 May 2025");
        assert_eq!(m.rendered_notice(), "请于2025年5月18日前反馈。（请在邮件主题上注明《某办法》）");
        let m = meta("2025-05-11T16:00:00Z", "2025-05-18T09:30:00Z");
        assert_eq!(m.deadline_text(Lang::Zh), "2025年5月18日17:30");
        assert_eq!(m.rfc3339(m.closes_at), "2025-05-18T17:30:00+08:00");
    }

    #[test]
    fn a_notice_speaks_its_own_language() {
        let mut m = meta("2025-05-11T16:00:00Z", "2025-05-18T16:00:00Z");
        assert_eq!(m.language(), Lang::Zh);
        m.title = "Rules on something".into();
        m.notice = "Send your comments by {deadline}.".into();
        assert_eq!(m.language(), Lang::En);
        assert_eq!(m.rendered_notice(), "Send your comments by 18 May 2025.");
    }

    #[test]
    fn demo_schedule_ends_at_the_end_of_the_last_day() {
        let mut m = meta("2025-05-11T16:00:00Z", "2025-05-18T16:00:00Z");
        // 2026-11-28 07:03 in Beijing.
        m.reschedule_from("2026-11-27T23:03:00Z".parse().unwrap(), 30);
        assert_eq!(m.opens_at.to_string(), "2026-11-27T23:03:00Z");
        assert_eq!(m.rfc3339(m.closes_at), "2026-12-29T00:00:00+08:00");
        assert_eq!(m.deadline_text(Lang::Zh), "2026年12月28日");
    }

    #[test]
    fn signed_metadata_names_every_field_citizens_rely_on() {
        let m = meta("2025-05-01T00:00:00Z", "2025-06-01T00:00:00Z");
        let base = signed_metadata(&m, 1, None);
        assert!(base.starts_with("yijian-consultation-metadata v1\n"));
        let mut changed = Vec::new();
        let mut c = m.clone();
        c.email_channel.address = "evil@example.com".into();
        changed.push(signed_metadata(&c, 1, None));
        let mut c = m.clone();
        c.email_channel.subject_phrase = "别的".into();
        changed.push(signed_metadata(&c, 1, None));
        let mut c = m.clone();
        c.title.push('！');
        changed.push(signed_metadata(&c, 1, None));
        let mut c = m.clone();
        c.issuer = "某某".into();
        changed.push(signed_metadata(&c, 1, None));
        let mut c = m.clone();
        c.closes_at = at("2025-06-02T00:00:00Z");
        changed.push(signed_metadata(&c, 1, None));
        changed.push(signed_metadata(&m, 2, None));
        changed.push(signed_metadata(&m, 1, Some(at("2025-07-01T00:00:00Z"))));
        for other in &changed {
            assert_ne!(&base, other);
        }
        // Length prefixes: moving text from one field to the next is another record.
        let (mut a, mut b) = (m.clone(), m.clone());
        a.title = "ab".into();
        a.issuer = "c".into();
        b.title = "a".into();
        b.issuer = "bc".into();
        assert_ne!(signed_metadata(&a, 1, None), signed_metadata(&b, 1, None));
    }

    #[test]
    fn slugs() {
        for ok in ["ln-hrss-ai-2025", "ab", "a1"] {
            assert!(valid_slug(ok), "{ok}");
        }
        for bad in ["", "a", "-ab", "ab-", "AB", "a b", "a/b", "中文"] {
            assert!(!valid_slug(bad), "{bad}");
        }
    }
}
