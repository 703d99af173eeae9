//! The adoption report (采纳情况): built from the comments' dispositions, previewed by staff,
//! published by an admin. A published report is a snapshot, and each publication is kept.

use jiff::Timestamp;
use yijian_domain::consultation::Consultation;
use yijian_domain::report::{AdoptionReport, CampaignAnswer, ReportBuilder, ReportInput, ThemeLine};
use yijian_domain::staff::Permission;
use yijian_store::{SessionUser, Store, StoreError};

use crate::{App, Error};

/// Longest preface an admin may write, in characters.
pub const MAX_PREFACE_CHARS: usize = 10_000;

/// Builds the report from every comment of the consultation as it stands now.
pub async fn build(store: &Store, c: &Consultation, preface: &str) -> Result<AdoptionReport, StoreError> {
    let mut b = ReportBuilder::new(c, preface);
    let campaigns = store.campaign_sizes(&c.meta.id).await?;
    for (id, k) in &campaigns {
        b.campaign_answer(
            *id,
            CampaignAnswer { disposition: k.decision.disposition, reasoning: k.decision.disposition_reason.clone() },
        );
    }
    // The main points: the themes staff confirmed (issue 14).
    for t in store.themes(&c.meta.id).await?.into_iter().filter(|t| t.confirmed && t.comments > 0) {
        b.theme_line(
            t.article,
            ThemeLine {
                label: t.label,
                comments: t.comments,
                distinct_texts: t.distinct_texts,
                disposition: t.disposition,
                reasoning: t.disposition_reason,
                representatives: t.representatives.into_iter().take(2).collect(),
            },
        );
    }
    // Disputed comments count only once staff reject the dispute (issue 13).
    let disputed = store.not_counted_for_disputes(&c.meta.id).await?;
    let mut after = 0;
    loop {
        let page = store.comments_page(&c.meta.id, after, 2000).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for s in page.into_iter().filter(|s| !disputed.contains(&s.id)) {
            b.add(&ReportInput {
                articles: s.articles,
                channel: Some(s.channel),
                position: s.position,
                disposition: s.disposition,
                reasoning: s.disposition_reason,
                moderation: s.moderation,
                excerpt: s.excerpt,
                // A campaign the detection has since emptied is no campaign.
                campaign: s.campaign.filter(|k| campaigns.contains_key(k)),
            });
        }
    }
    Ok(b.finish())
}

impl App {
    /// The report as it would read if published now.
    pub async fn preview_report(&self, c: &Consultation, preface: &str) -> Result<AdoptionReport, Error> {
        Ok(build(&self.store, c, preface).await?)
    }

    /// Publishes a new revision of the report (admins only); returns its revision number.
    pub async fn publish_report(
        &self,
        user: &SessionUser,
        c: &Consultation,
        preface: &str,
        now: Timestamp,
    ) -> Result<i64, Error> {
        self.require(user, Permission::PublishReport)?;
        if preface.chars().count() > MAX_PREFACE_CHARS {
            return Err(Error::Invalid("preface_too_long"));
        }
        let report = build(&self.store, c, preface).await?;
        Ok(self.store.publish_report(&user.name, &report, now).await?)
    }

    /// The newest published report: (revision, published at, report).
    pub async fn published_report(&self, id: &str) -> Result<Option<(i64, Timestamp, AdoptionReport)>, Error> {
        Ok(self.store.latest_report(id).await?)
    }
}
