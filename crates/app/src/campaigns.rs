//! Campaigns: finding copies and near-copies of one text among a consultation's comments, and
//! what staff decide about a campaign as a whole.
//!
//! Detection runs in two ways, both off the intake's write path. `yijian campaigns detect` (and
//! the first pass after a server starts) reads every comment and finds the groups afresh
//! ([`App::detect_campaigns`]); a re-run gives the same groups, and each keeps its id and what
//! staff decided. Inside `serve`, a background pass ([`App::spawn_campaign_pass`]) then places
//! each new comment against an in-memory index of the consultation's texts, so a new copy joins
//! its campaign within seconds. Where several nodes share the database, one node (the holder of
//! the `campaigns` lease) runs the pass.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
pub use yijian_analysis::campaigns::Span;
use yijian_analysis::campaigns::{Detector, Index, Params, Placement, diff, normalise};
use yijian_domain::campaign::{Campaign, CampaignDecision};
use yijian_domain::consultation::Consultation;
use yijian_domain::review::{CampaignFilter, QueueFilter, ReviewAction};
use yijian_domain::staff::Permission;
use yijian_domain::theme::DecisionSource;
use yijian_store::{CampaignSummary, FoundGroup, SessionUser, Target};

use crate::{App, Error};

/// Comments read per statement by the background pass.
const READ_BATCH: i64 = 20_000;
/// Comments read per statement by a full detection: each page is placed while the next is read,
/// and the placing waits for the first texts of a page to be digested, so fewer, larger pages
/// (about 50 MB of text at most) keep it waiting less.
const DETECT_PAGE: i64 = 100_000;
pub(crate) const LEASE: &str = "campaigns";
/// Who the audit log names for what the detection does on its own.
pub const DETECTION_ACTOR: &str = "campaign-detection";

/// What a full detection found.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct DetectOutcome {
    pub comments: u64,
    pub campaigns: u64,
    pub in_campaigns: u64,
    pub seconds: f64,
}

/// A consultation's in-memory index, as far as the background pass has placed comments.
struct Placed {
    index: Index,
    through: i64,
}

/// The background pass's indexes, one per consultation it has seen.
#[derive(Default)]
pub(crate) struct Indexes {
    by_consultation: tokio::sync::Mutex<HashMap<String, Placed>>,
}

/// The texts a comment may quote from the draft without that making two comments alike: its
/// article titles and paragraphs.
fn draft_texts(c: &Consultation) -> Vec<String> {
    c.document.articles().flat_map(|a| std::iter::once(a.title.clone()).chain(a.body.iter().cloned())).collect()
}

fn detector(c: &Consultation) -> Detector {
    let draft = draft_texts(c);
    let refs: Vec<&str> = draft.iter().map(String::as_str).collect();
    Detector::new(Params::default(), &refs)
}

fn groups_of(index: &Index) -> Vec<FoundGroup> {
    index
        .detection()
        .campaigns
        .into_iter()
        .map(|g| FoundGroup { members: g.members, representative: Some(g.representative) })
        .collect()
}

impl App {
    /// Finds every campaign of a consultation afresh and saves them (each keeping its id and
    /// decision where it still exists); members new to a campaign that staff decided with
    /// "later members too" are given the decision.
    pub async fn detect_campaigns(
        &self,
        actor: &str,
        c: &Consultation,
        now: Timestamp,
    ) -> Result<DetectOutcome, Error> {
        let started = Instant::now();
        let mut index = Index::new(&detector(c));
        let (mut comments, mut through) = (0u64, 0i64);
        // Page by page, in id order, each page placed while the next is read: neither all the
        // texts at once in memory (half a gigabyte at a million comments) nor the reading and
        // the detection one after the other.
        let mut page = self.store.campaign_texts(&c.meta.id, 0, DETECT_PAGE).await?;
        while let Some(&(last, _)) = page.last() {
            comments += page.len() as u64;
            through = last;
            let placing = tokio::task::spawn_blocking(move || {
                let refs: Vec<(i64, &str)> = page.iter().map(|(id, t)| (*id, t.as_str())).collect();
                index.extend(&refs);
                index
            });
            let next = self.store.campaign_texts(&c.meta.id, last, DETECT_PAGE).await;
            index = placing.await.map_err(|e| Error::Storage(format!("campaign detection failed: {e}")))?;
            page = next?;
        }
        let placed_in = started.elapsed();
        let groups = groups_of(&index);
        let saved = self.store.save_campaigns(actor, &c.meta.id, &groups, true, through, now).await?;
        self.inherit(&c.meta.id, &saved.joined, now).await?;
        tracing::debug!(
            consultation = %c.meta.id,
            comments,
            read_and_placed_seconds = placed_in.as_secs_f64(),
            saved_seconds = (started.elapsed() - placed_in).as_secs_f64(),
            "campaigns detected in full"
        );
        self.campaign_indexes.by_consultation.lock().await.insert(c.meta.id.clone(), Placed { index, through });
        Ok(DetectOutcome {
            comments,
            campaigns: saved.campaigns,
            in_campaigns: saved.in_campaigns,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// Places the comments that arrived since the last pass, for every consultation. The first
    /// pass over a consultation (or one after another process ran a full detection) detects in
    /// full. Returns how many comments were placed.
    pub async fn campaign_pass(&self, now: Timestamp) -> Result<u64, Error> {
        let mut placed = 0;
        for summary in self.store.list_consultations().await? {
            let Some(c) = self.consultation(&summary.id).await? else { continue };
            let progress = self.store.campaign_progress(&c.meta.id).await?;
            let newest = self.store.campaign_texts(&c.meta.id, progress, 1).await?;
            let mut indexes = self.campaign_indexes.by_consultation.lock().await;
            let ours = indexes.get(&c.meta.id).map(|p| p.through);
            if ours != Some(progress) {
                // Never seen here, or detected by another process since: start afresh.
                drop(indexes);
                if progress > 0 || !newest.is_empty() {
                    placed += self.detect_campaigns(DETECTION_ACTOR, &c, now).await?.comments;
                }
                continue;
            }
            if newest.is_empty() {
                continue;
            }
            let Some(mut state) = indexes.remove(&c.meta.id) else { continue };
            drop(indexes);
            let from = state.through;
            let mut changed: HashMap<i64, FoundGroup> = HashMap::new();
            // A join that pulled lone comments in with it may have given its campaign a new
            // root, which names no saved campaign: then the groups are taken whole from the index.
            let mut regroup = false;
            loop {
                let batch = self.store.campaign_texts(&c.meta.id, state.through, READ_BATCH).await?;
                let Some(&(last, _)) = batch.last() else { break };
                placed += batch.len() as u64;
                let (index, placements) = crate::below_intake(move || {
                    let mut index = state.index;
                    let placements: Vec<(i64, Placement)> =
                        batch.iter().map(|(id, text)| (*id, index.insert(*id, text))).collect();
                    (index, placements)
                })
                .await
                .map_err(|e| Error::Storage(format!("campaign detection failed: {e}")))?;
                state = Placed { index, through: last };
                for (id, p) in placements {
                    match p {
                        Placement::Joined { root, pulled } => {
                            regroup |= !pulled.is_empty();
                            let g = changed
                                .entry(root)
                                .or_insert_with(|| FoundGroup { members: vec![root], representative: None });
                            g.members.push(id);
                            g.members.extend(pulled);
                        }
                        Placement::Formed { members } => {
                            let root = members.iter().copied().min().unwrap_or(id);
                            let g = changed
                                .entry(root)
                                .or_insert_with(|| FoundGroup { members: vec![], representative: Some(root) });
                            g.members.extend(members);
                        }
                        // Campaigns merged: their saved ids are gone, so the groups are taken whole.
                        Placement::Merged { .. } => regroup = true,
                        Placement::Short | Placement::Alone => {}
                    }
                }
            }
            let through = state.through;
            let groups = if regroup {
                // Only a group holding a comment this pass placed can have changed: the index's
                // groups never lose a member, and only a comment placed in one adds to it or
                // merges it. Those groups are saved with all their members, so that the saved
                // campaigns holding most of each keep their ids and the others are emptied; the
                // rest are left as they are, and a pass costs what it changed, not the whole
                // consultation (saving every group made each pass over a flood of numbered
                // near-copies, which merge often, take seconds).
                groups_of(&state.index).into_iter().filter(|g| g.members.last().is_some_and(|&m| m > from)).collect()
            } else {
                let mut groups: Vec<FoundGroup> = changed.into_values().collect();
                for g in &mut groups {
                    g.members.sort_unstable();
                    g.members.dedup();
                }
                groups.sort_by_key(|g| g.members[0]);
                groups
            };
            self.campaign_indexes.by_consultation.lock().await.insert(c.meta.id.clone(), state);
            let saved = self.store.save_campaigns(DETECTION_ACTOR, &c.meta.id, &groups, false, through, now).await?;
            tracing::debug!(consultation = %c.meta.id, regroup, groups = groups.len(), "campaign pass saved");
            self.inherit(&c.meta.id, &saved.joined, now).await?;
        }
        Ok(placed)
    }

    /// Gives members new to a campaign the decision staff gave it, where they asked for later
    /// members to get it. Each change is audited with the comment, under the name of whoever
    /// decided the campaign.
    async fn inherit(&self, consultation_id: &str, joined: &[(i64, Vec<i64>)], now: Timestamp) -> Result<(), Error> {
        for (campaign, members) in joined {
            let Some(k) = self.store.campaign(consultation_id, *campaign).await? else { continue };
            if !k.decision.inherit || k.decision.is_empty() {
                continue;
            }
            let actor = format!("{} (campaign {})", k.decision.decided_by.as_deref().unwrap_or(DETECTION_ACTOR), k.id);
            let filter = QueueFilter { campaign: Some(CampaignFilter::Is(k.id)), ..QueueFilter::default() };
            for action in decision_actions(&k.decision) {
                let target = Target::Filtered { filter: &filter, ids: Some(members) };
                self.store
                    .apply_review_as(&actor, consultation_id, target, &action, now, DecisionSource::Campaign)
                    .await?;
            }
        }
        Ok(())
    }

    /// Runs [`App::campaign_pass`] every `every` until the process ends, on the node that holds
    /// the `campaigns` lease.
    pub fn spawn_campaign_pass(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        self.spawn_leased(LEASE, every, |app, now, held| {
            Box::pin(async move {
                if held {
                    app.campaign_pass(now).await
                } else {
                    // Another node places comments; ours would go stale.
                    app.campaign_indexes.by_consultation.lock().await.clear();
                    Ok(0)
                }
            })
        })
    }

    /// A consultation's campaigns, largest first.
    pub async fn campaigns(
        &self,
        user: &SessionUser,
        consultation_id: &str,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<CampaignSummary>, i64), Error> {
        self.require(user, Permission::Review)?;
        Ok(self.store.campaigns(consultation_id, offset, limit).await?)
    }

    /// One campaign, with the arrival times of its members.
    pub async fn campaign(
        &self,
        user: &SessionUser,
        consultation_id: &str,
        id: i64,
    ) -> Result<(Campaign, Vec<Timestamp>), Error> {
        self.require(user, Permission::Review)?;
        let k = self.store.campaign(consultation_id, id).await?.ok_or(Error::NotFound("campaign"))?;
        let arrivals = self.store.campaign_arrivals(consultation_id, id).await?;
        Ok((k, arrivals))
    }

    /// Staff decide about a campaign as a whole: the action is applied to every member (each
    /// change audited), and recorded on the campaign, for members that join later when
    /// `inherit` is set. Returns how many members changed.
    pub async fn decide_campaign(
        &self,
        user: &SessionUser,
        consultation_id: &str,
        id: i64,
        action: &ReviewAction,
        inherit: bool,
        now: Timestamp,
    ) -> Result<u64, Error> {
        self.require(user, Permission::Review)?;
        let k = self.store.campaign(consultation_id, id).await?.ok_or(Error::NotFound("campaign"))?;
        if !action.allowed_in_bulk() {
            return Err(Error::Invalid("excerpt_in_bulk"));
        }
        let filter = QueueFilter { campaign: Some(CampaignFilter::Is(id)), ..QueueFilter::default() };
        // A member's own decision wins over the campaign's (issue 14).
        let target = Target::Filtered { filter: &filter, ids: None };
        let changed = self
            .store
            .apply_review_as(&user.name, consultation_id, target, action, now, DecisionSource::Campaign)
            .await?;
        let mut decision = k.decision;
        match action {
            ReviewAction::Dispose(d, reason) => {
                decision.disposition = *d;
                decision.disposition_reason = d.map(|_| reason.trim().to_string());
            }
            ReviewAction::Moderate(m, reason) => {
                decision.moderation = *m;
                decision.moderation_reason = m.map(|_| reason.trim().to_string());
            }
            ReviewAction::AddTag(t) if !decision.tags.contains(t) => decision.tags.push(t.clone()),
            ReviewAction::RemoveTag(t) => decision.tags.retain(|x| x != t),
            _ => {}
        }
        decision.inherit = inherit;
        self.store.record_campaign_decision(&user.name, consultation_id, id, &decision, now).await?;
        Ok(changed)
    }
}

/// The review actions that give a comment a campaign's decision.
fn decision_actions(d: &CampaignDecision) -> Vec<ReviewAction> {
    let mut out = vec![];
    if let Some(disposition) = d.disposition {
        out.push(ReviewAction::Dispose(Some(disposition), d.disposition_reason.clone().unwrap_or_default()));
    }
    if let Some(m) = d.moderation {
        out.push(ReviewAction::Moderate(Some(m), d.moderation_reason.clone().unwrap_or_default()));
    }
    out.extend(d.tags.iter().cloned().map(ReviewAction::AddTag));
    out
}

/// Shared by the app's clones.
pub(crate) fn new_indexes() -> Arc<Indexes> {
    Arc::new(Indexes::default())
}

/// A member of a campaign as the campaign page lists it: what its text changes in the
/// representative's.
#[derive(Debug, Clone)]
pub struct CampaignMember {
    pub item: yijian_store::QueueItem,
    pub diff: Vec<Span>,
}

/// One page of a campaign's members.
#[derive(Debug, Clone)]
pub struct MemberPage {
    pub representative_text: String,
    pub members: Vec<CampaignMember>,
    pub next_before: Option<i64>,
}

impl App {
    /// A page of a campaign's members, newest first, each with its difference from the
    /// representative's text.
    pub async fn campaign_members(
        &self,
        user: &SessionUser,
        consultation_id: &str,
        k: &Campaign,
        before: Option<i64>,
        limit: usize,
    ) -> Result<MemberPage, Error> {
        self.require(user, Permission::Review)?;
        let filter = QueueFilter { campaign: Some(CampaignFilter::Is(k.id)), ..QueueFilter::default() };
        let page = self.store.queue(consultation_id, &filter, None, before, limit).await?;
        let mut ids: Vec<i64> = page.items.iter().map(|i| i.id).collect();
        ids.push(k.representative);
        let texts = self.store.opinions(consultation_id, &ids).await?;
        let representative_text = texts.get(&k.representative).cloned().unwrap_or_default();
        let members = page
            .items
            .into_iter()
            .map(|item| {
                let text = texts.get(&item.id).map(String::as_str).unwrap_or("");
                CampaignMember { diff: diff(&representative_text, text), item }
            })
            .collect();
        Ok(MemberPage { representative_text, members, next_before: page.next_before })
    }
}

/// A short answer many people gave, word for word once normalised (同意, 同意。, 同 意): never a
/// campaign, shown as what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShortAnswer {
    /// The most frequent way it was written.
    pub text: String,
    pub comments: u64,
}

impl App {
    /// The short answers two or more comments of a consultation share, most frequent first.
    pub async fn short_answers(
        &self,
        user: &SessionUser,
        consultation_id: &str,
        limit: usize,
    ) -> Result<Vec<ShortAnswer>, Error> {
        self.require(user, Permission::Review)?;
        let short = Params::default().short_len;
        // Raw texts a little longer than the normalised limit (punctuation and spaces go).
        let rows = self.store.repeated_short_texts(consultation_id, short * 2, 1_000).await?;
        let mut groups: Vec<(String, ShortAnswer)> = vec![];
        for (text, n) in rows {
            let key = normalise(&text);
            if key.is_empty() || key.chars().count() >= short {
                continue;
            }
            match groups.iter_mut().find(|(k, _)| *k == key) {
                // Rows come most frequent first: the first spelling stays.
                Some((_, g)) => g.comments += n as u64,
                None => groups.push((key, ShortAnswer { text, comments: n as u64 })),
            }
        }
        let mut out: Vec<ShortAnswer> = groups.into_iter().map(|(_, g)| g).collect();
        out.sort_by(|a, b| b.comments.cmp(&a.comments).then(a.text.cmp(&b.text)));
        out.truncate(limit);
        Ok(out)
    }
}
