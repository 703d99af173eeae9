//! The adoption report (采纳情况): how the public's comments were handled, article by article.
//!
//! Counting rules, which the report states in its own words:
//! - a comment counts under every article it addresses; the overall figures count it once;
//! - spam and hidden comments are left out, and how many were left out is stated;
//! - no opinion text appears except the excerpts staff chose, and nothing personal at all.
//!
//! The builder takes comments one at a time, so a million of them need no more memory than
//! the distinct reasonings they carry.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::comment::Channel;
use crate::consultation::Consultation;
use crate::review::{Disposition, Moderation};

/// How many comments got each answer; `undecided` have none yet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub adopted: u64,
    pub partly_adopted: u64,
    pub not_adopted: u64,
    pub out_of_scope: u64,
    pub undecided: u64,
}

impl Counts {
    fn add(&mut self, d: Option<Disposition>) {
        match d {
            Some(Disposition::Adopted) => self.adopted += 1,
            Some(Disposition::PartlyAdopted) => self.partly_adopted += 1,
            Some(Disposition::NotAdopted) => self.not_adopted += 1,
            Some(Disposition::OutOfScope) => self.out_of_scope += 1,
            None => self.undecided += 1,
        }
    }
    pub fn get(&self, d: Disposition) -> u64 {
        match d {
            Disposition::Adopted => self.adopted,
            Disposition::PartlyAdopted => self.partly_adopted,
            Disposition::NotAdopted => self.not_adopted,
            Disposition::OutOfScope => self.out_of_scope,
        }
    }
    pub fn total(&self) -> u64 {
        self.adopted + self.partly_adopted + self.not_adopted + self.out_of_scope + self.undecided
    }
}

/// One reasoning as staff wrote it, and how many comments it answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reasoning {
    pub disposition: Disposition,
    pub text: String,
    pub comments: u64,
}

/// The part of the report about one article, or (number 0) about comments on the draft as a
/// whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    pub article: u32,
    pub title: String,
    pub comments: u64,
    pub counts: Counts,
    pub reasonings: Vec<Reasoning>,
    pub excerpts: Vec<String>,
    /// Of `comments`, how many are members of campaigns (copies of one text), and the
    /// campaigns themselves, largest first: a campaign is one text sent many times, shown once
    /// with its count rather than as that many separate voices.
    #[serde(default)]
    pub in_campaigns: u64,
    #[serde(default)]
    pub campaigns: Vec<CampaignLine>,
    /// The main points (主要意见) made about it: the themes staff confirmed, largest first, each
    /// with the answer staff gave it (issue 14).
    #[serde(default)]
    pub themes: Vec<ThemeLine>,
}

/// A confirmed theme as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThemeLine {
    pub label: String,
    /// Its comments (a campaign's members each counted) and its distinct texts.
    pub comments: u64,
    pub distinct_texts: u64,
    pub disposition: Option<Disposition>,
    pub reasoning: Option<String>,
    /// A sentence or two from its comments.
    pub representatives: Vec<String>,
}

/// A campaign as the report shows it: once, with how many comments it holds and the answer
/// staff gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignLine {
    pub campaign: i64,
    pub comments: u64,
    pub disposition: Option<Disposition>,
    pub reasoning: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdoptionReport {
    pub consultation_id: String,
    pub title: String,
    pub issuer: String,
    pub version: u32,
    pub opens_at: Timestamp,
    pub closes_at: Timestamp,
    pub time_zone: String,
    /// Comments in the figures, each counted once.
    pub comments: u64,
    /// Of `comments`, how many are members of campaigns, and in how many campaigns.
    #[serde(default)]
    pub in_campaigns: u64,
    #[serde(default)]
    pub campaign_count: u64,
    pub counts: Counts,
    pub left_out_spam: u64,
    pub left_out_hidden: u64,
    /// Article sections in the draft's order; articles nobody addressed have zero comments.
    pub articles: Vec<Section>,
    /// Comments that address no particular article.
    pub general: Section,
    pub by_channel: Vec<(String, u64)>,
    pub by_position: Vec<(String, u64)>,
    /// An introduction staff write, printed before the figures.
    pub preface: String,
}

/// What the report needs to know of one comment.
#[derive(Debug, Clone, Default)]
pub struct ReportInput {
    pub articles: Vec<u32>,
    pub channel: Option<Channel>,
    pub position: Option<String>,
    pub disposition: Option<Disposition>,
    pub reasoning: Option<String>,
    pub moderation: Option<Moderation>,
    pub excerpt: Option<String>,
    /// The campaign the comment is a member of.
    pub campaign: Option<i64>,
}

/// What staff decided about a campaign, as the report states it.
#[derive(Debug, Clone, Default)]
pub struct CampaignAnswer {
    pub disposition: Option<Disposition>,
    pub reasoning: Option<String>,
}

struct SectionAcc {
    title: String,
    comments: u64,
    counts: Counts,
    reasonings: BTreeMap<(Disposition, String), u64>,
    excerpts: Vec<String>,
    in_campaigns: u64,
    campaigns: BTreeMap<i64, u64>,
}

impl SectionAcc {
    fn new(title: String) -> Self {
        SectionAcc {
            title,
            comments: 0,
            counts: Counts::default(),
            reasonings: BTreeMap::new(),
            excerpts: vec![],
            in_campaigns: 0,
            campaigns: BTreeMap::new(),
        }
    }
    fn add(&mut self, c: &ReportInput) {
        self.comments += 1;
        if let Some(k) = c.campaign {
            self.in_campaigns += 1;
            *self.campaigns.entry(k).or_default() += 1;
        }
        self.counts.add(c.disposition);
        if let (Some(d), Some(r)) = (c.disposition, c.reasoning.as_deref()) {
            let r = r.trim();
            if !r.is_empty() {
                *self.reasonings.entry((d, r.to_string())).or_default() += 1;
            }
        }
        if let Some(e) = c.excerpt.as_deref().map(str::trim).filter(|e| !e.is_empty())
            && self.excerpts.len() < MAX_EXCERPTS_PER_SECTION
            && !self.excerpts.iter().any(|x| x == e)
        {
            self.excerpts.push(e.to_string());
        }
    }
    fn finish(self, article: u32, answers: &BTreeMap<i64, CampaignAnswer>) -> Section {
        let campaigns = campaign_lines(self.campaigns, answers);
        let mut reasonings: Vec<Reasoning> = self
            .reasonings
            .into_iter()
            .map(|((disposition, text), comments)| Reasoning { disposition, text, comments })
            .collect();
        reasonings.sort_by(|a, b| a.disposition.cmp(&b.disposition).then(b.comments.cmp(&a.comments)));
        Section {
            article,
            title: self.title,
            comments: self.comments,
            counts: self.counts,
            reasonings,
            excerpts: self.excerpts,
            in_campaigns: self.in_campaigns,
            campaigns,
            themes: vec![],
        }
    }
}

fn campaign_lines(counts: BTreeMap<i64, u64>, answers: &BTreeMap<i64, CampaignAnswer>) -> Vec<CampaignLine> {
    let mut lines: Vec<CampaignLine> = counts
        .into_iter()
        .map(|(campaign, comments)| {
            let answer = answers.get(&campaign).cloned().unwrap_or_default();
            CampaignLine { campaign, comments, disposition: answer.disposition, reasoning: answer.reasoning }
        })
        .collect();
    lines.sort_by(|a, b| b.comments.cmp(&a.comments).then(a.campaign.cmp(&b.campaign)));
    lines
}

/// A report quotes at most this many excerpts under one heading, so that a bulk choice cannot
/// turn it into a dump of opinions.
pub const MAX_EXCERPTS_PER_SECTION: usize = 20;

pub struct ReportBuilder {
    base: AdoptionReport,
    articles: Vec<(u32, SectionAcc)>,
    general: SectionAcc,
    by_channel: BTreeMap<String, u64>,
    by_position: BTreeMap<String, u64>,
    campaigns: BTreeMap<i64, u64>,
    answers: BTreeMap<i64, CampaignAnswer>,
    /// Each campaign's members' answers, for a campaign staff did not answer as a whole.
    member_counts: BTreeMap<i64, Counts>,
    /// Confirmed themes by article (`None`: the draft as a whole).
    themes: BTreeMap<Option<u32>, Vec<ThemeLine>>,
}

impl ReportBuilder {
    pub fn new(c: &Consultation, preface: &str) -> ReportBuilder {
        let empty = Section {
            article: 0,
            title: String::new(),
            comments: 0,
            counts: Counts::default(),
            reasonings: vec![],
            excerpts: vec![],
            in_campaigns: 0,
            campaigns: vec![],
            themes: vec![],
        };
        ReportBuilder {
            base: AdoptionReport {
                consultation_id: c.meta.id.clone(),
                title: c.meta.title.clone(),
                issuer: c.meta.issuer.clone(),
                version: c.version,
                opens_at: c.meta.opens_at,
                closes_at: c.meta.closes_at,
                time_zone: c.meta.time_zone.clone(),
                comments: 0,
                in_campaigns: 0,
                campaign_count: 0,
                counts: Counts::default(),
                left_out_spam: 0,
                left_out_hidden: 0,
                articles: vec![],
                general: empty,
                by_channel: vec![],
                by_position: vec![],
                preface: preface.trim().to_string(),
            },
            articles: c.document.articles().map(|a| (a.number, SectionAcc::new(a.title.clone()))).collect(),
            general: SectionAcc::new(String::new()),
            by_channel: BTreeMap::new(),
            by_position: BTreeMap::new(),
            campaigns: BTreeMap::new(),
            answers: BTreeMap::new(),
            member_counts: BTreeMap::new(),
            themes: BTreeMap::new(),
        }
    }

    /// What staff decided about a campaign, stated beside it; a campaign without one is shown
    /// with the answer most of its members got.
    pub fn campaign_answer(&mut self, campaign: i64, answer: CampaignAnswer) {
        self.answers.insert(campaign, answer);
    }

    /// A confirmed theme, under its article (`None`: the draft as a whole).
    pub fn theme_line(&mut self, article: Option<u32>, line: ThemeLine) {
        self.themes.entry(article).or_default().push(line);
    }

    pub fn add(&mut self, c: &ReportInput) {
        match c.moderation {
            Some(Moderation::Spam) => {
                self.base.left_out_spam += 1;
                return;
            }
            Some(Moderation::Hidden) => {
                self.base.left_out_hidden += 1;
                return;
            }
            _ => {}
        }
        self.base.comments += 1;
        self.base.counts.add(c.disposition);
        if let Some(k) = c.campaign {
            self.base.in_campaigns += 1;
            *self.campaigns.entry(k).or_default() += 1;
            self.member_counts.entry(k).or_default().add(c.disposition);
        }
        let mut addressed = false;
        for n in &c.articles {
            if let Some((_, acc)) = self.articles.iter_mut().find(|(number, _)| number == n) {
                acc.add(c);
                addressed = true;
            }
        }
        if !addressed {
            self.general.add(c);
        }
        let channel = c.channel.map(|ch| ch.as_str()).unwrap_or("unknown").to_string();
        *self.by_channel.entry(channel).or_default() += 1;
        let position = c.position.clone().filter(|p| !p.is_empty()).unwrap_or_else(|| "未填写".to_string());
        *self.by_position.entry(position).or_default() += 1;
    }

    pub fn finish(self) -> AdoptionReport {
        let mut report = self.base;
        let mut answers = self.answers;
        for (k, counts) in &self.member_counts {
            if answers.get(k).is_none_or(|a| a.disposition.is_none()) {
                // The answer most members got, if any got one.
                let most = Disposition::ALL.into_iter().max_by_key(|d| (counts.get(*d), std::cmp::Reverse(*d)));
                let disposition = most.filter(|d| counts.get(*d) > 0);
                answers.insert(*k, CampaignAnswer { disposition, reasoning: None });
            }
        }
        report.articles = self.articles.into_iter().map(|(n, acc)| acc.finish(n, &answers)).collect();
        report.general = self.general.finish(0, &answers);
        let mut themes = self.themes;
        for lines in themes.values_mut() {
            lines.sort_by(|a, b| b.comments.cmp(&a.comments).then(a.label.cmp(&b.label)));
        }
        for s in &mut report.articles {
            s.themes = themes.remove(&Some(s.article)).unwrap_or_default();
        }
        report.general.themes = themes.remove(&None).unwrap_or_default();
        report.campaign_count = self.campaigns.len() as u64;
        let mut by_channel: Vec<_> = self.by_channel.into_iter().collect();
        by_channel.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        report.by_channel = by_channel;
        let mut by_position: Vec<_> = self.by_position.into_iter().collect();
        by_position.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        report.by_position = by_position;
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file;

    fn consultation() -> Consultation {
        let src = include_str!("../../../demo/ln-hrss-ai-2025.md");
        let f = file::parse(src).expect("demo parses");
        Consultation {
            meta: f.meta,
            demo: true,
            version: 1,
            content_sha256: String::new(),
            signature: String::new(),
            document: f.document,
        }
    }

    fn input(articles: &[u32], d: Option<Disposition>, reason: &str, m: Option<Moderation>) -> ReportInput {
        ReportInput {
            articles: articles.to_vec(),
            channel: Some(Channel::Web),
            position: Some("教师".into()),
            disposition: d,
            reasoning: Some(reason.into()),
            moderation: m,
            excerpt: None,
            campaign: None,
        }
    }

    #[test]
    fn campaigns_are_counted_both_ways_and_shown_once() {
        let mut b = ReportBuilder::new(&consultation(), "");
        for _ in 0..5 {
            let mut c = input(&[2], Some(Disposition::NotAdopted), "与上位法不一致。", None);
            c.campaign = Some(40);
            b.add(&c);
        }
        for _ in 0..3 {
            let mut c = input(&[2, 3], None, "", None);
            c.campaign = Some(41);
            b.add(&c);
        }
        b.add(&input(&[2], Some(Disposition::Adopted), "已采纳。", None));
        b.campaign_answer(
            41,
            CampaignAnswer { disposition: Some(Disposition::PartlyAdopted), reasoning: Some("部分采纳。".into()) },
        );
        let r = b.finish();
        assert_eq!((r.comments, r.in_campaigns, r.campaign_count), (9, 8, 2));
        let a2 = &r.articles[1];
        assert_eq!((a2.comments, a2.in_campaigns), (9, 8));
        assert_eq!(
            a2.campaigns,
            vec![
                CampaignLine { campaign: 40, comments: 5, disposition: Some(Disposition::NotAdopted), reasoning: None },
                CampaignLine {
                    campaign: 41,
                    comments: 3,
                    disposition: Some(Disposition::PartlyAdopted),
                    reasoning: Some("部分采纳。".into())
                },
            ]
        );
        let a3 = &r.articles[2];
        assert_eq!((a3.comments, a3.in_campaigns, a3.campaigns.len()), (3, 3, 1));
        // An old published report, without these fields, still reads.
        let mut json: serde_json::Value = serde_json::to_value(&r).unwrap();
        json.as_object_mut().unwrap().remove("in_campaigns");
        json["articles"][1].as_object_mut().unwrap().remove("campaigns");
        let back: AdoptionReport = serde_json::from_value(json).unwrap();
        assert_eq!(back.in_campaigns, 0);
        assert!(back.articles[1].campaigns.is_empty());
    }

    #[test]
    fn a_comment_counts_under_each_article_and_once_overall() {
        let mut b = ReportBuilder::new(&consultation(), "");
        b.add(&input(&[1, 2], Some(Disposition::Adopted), "已在第一条中增加相关表述。", None));
        b.add(&input(&[1], Some(Disposition::Adopted), "已在第一条中增加相关表述。", None));
        b.add(&input(&[2], Some(Disposition::NotAdopted), "与上位法不一致。", None));
        b.add(&input(&[], None, "", None));
        let r = b.finish();
        assert_eq!(r.comments, 4);
        assert_eq!(r.counts.adopted, 2);
        assert_eq!(r.counts.undecided, 1);
        assert_eq!(r.articles.len(), 20);
        let a1 = &r.articles[0];
        assert_eq!((a1.article, a1.comments, a1.counts.adopted), (1, 2, 2));
        assert_eq!(
            a1.reasonings,
            vec![Reasoning {
                disposition: Disposition::Adopted,
                text: "已在第一条中增加相关表述。".into(),
                comments: 2
            }]
        );
        let a2 = &r.articles[1];
        assert_eq!((a2.comments, a2.counts.adopted, a2.counts.not_adopted), (2, 1, 1));
        assert_eq!(r.articles[2].comments, 0);
        assert_eq!(r.general.comments, 1);
        assert_eq!(r.by_channel, vec![("web".to_string(), 4)]);
        assert_eq!(r.by_position, vec![("教师".to_string(), 4)]);
    }

    #[test]
    fn spam_and_hidden_are_left_out_and_counted() {
        let mut b = ReportBuilder::new(&consultation(), "");
        b.add(&input(&[1], Some(Disposition::Adopted), "理由", Some(Moderation::Spam)));
        b.add(&input(&[1], None, "", Some(Moderation::Hidden)));
        b.add(&input(&[1], None, "", Some(Moderation::Hidden)));
        b.add(&input(&[1], Some(Disposition::NotAdopted), "理由", Some(Moderation::Duplicate)));
        let r = b.finish();
        assert_eq!((r.left_out_spam, r.left_out_hidden, r.comments), (1, 2, 1));
        assert_eq!(r.articles[0].counts.not_adopted, 1);
    }

    #[test]
    fn only_chosen_excerpts_appear_and_never_too_many() {
        let mut b = ReportBuilder::new(&consultation(), "");
        for i in 0..30 {
            let mut c = input(&[3], None, "", None);
            c.excerpt = Some(format!("摘录{i}"));
            b.add(&c);
        }
        b.add(&input(&[3], None, "", None));
        let r = b.finish();
        assert_eq!(r.articles[2].excerpts.len(), MAX_EXCERPTS_PER_SECTION);
        assert_eq!(r.articles[2].excerpts[0], "摘录0");
        let json = serde_json::to_string(&r).unwrap();
        let back: AdoptionReport = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
    }
}
