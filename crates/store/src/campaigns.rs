//! Campaigns: saving what the detection found (keeping each campaign's id across re-runs, see
//! [`yijian_domain::campaign::keep_ids`]), reading campaigns for the queue, the API, exports and
//! the report, and what staff decided about a campaign as a whole.
//!
//! Membership is a narrow table of its own, `campaign_members` (migration 0017): placing half a
//! million comments writes half a million small rows instead of rewriting as many wide comment
//! rows. The queue takes it as an arm like tags and signals. Writes go in chunks, each a short
//! transaction, so the intake's writer never waits long behind a million-comment re-run.

use std::collections::HashMap;

use jiff::Timestamp;
use sqlx::Row;
use yijian_domain::campaign::{Campaign, CampaignDecision, keep_ids};
use yijian_domain::review::{Disposition, Moderation};

use crate::audit::Audit;
use crate::{Store, StoreError, from_micros, micros};

/// Members changed per transaction.
const CHUNK: usize = 2_000;

/// A group of comments the detection found: its members (ids, ascending) and the member that
/// stands for it.
#[derive(Debug, Clone)]
pub struct FoundGroup {
    pub members: Vec<i64>,
    /// `None` keeps an existing campaign's representative (its first member, for a new one).
    pub representative: Option<i64>,
}

/// What saving a detection changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SavedCampaigns {
    /// Campaigns with at least two members now.
    pub campaigns: u64,
    /// Comments in them.
    pub in_campaigns: u64,
    /// Comments that joined a campaign (new or existing) in this save, by campaign: the ones a
    /// campaign's decision may be given to.
    pub joined: Vec<(i64, Vec<i64>)>,
}

/// A campaign with the opening of its representative's text, for lists.
#[derive(Debug, Clone)]
pub struct CampaignSummary {
    pub campaign: Campaign,
    pub representative_receipt: String,
    pub opening: String,
}

const CAMPAIGN_COLUMNS: &str = "id, consultation_id, representative, size, first_at, last_at, disposition, \
    disposition_reason, moderation, moderation_reason, tags, inherit, decided_by, decided_at";

fn campaign_from_row(row: &sqlx::any::AnyRow) -> Result<Campaign, StoreError> {
    let disposition: Option<String> = row.try_get(6)?;
    let moderation: Option<String> = row.try_get(8)?;
    let tags: String = row.try_get(10)?;
    Ok(Campaign {
        id: row.try_get(0)?,
        consultation_id: row.try_get(1)?,
        representative: row.try_get(2)?,
        size: row.try_get::<i64, _>(3)?.max(0) as u64,
        first_at: from_micros(row.try_get(4)?)?,
        last_at: from_micros(row.try_get(5)?)?,
        decision: CampaignDecision {
            disposition: disposition.as_deref().and_then(Disposition::parse),
            disposition_reason: row.try_get(7)?,
            moderation: moderation.as_deref().and_then(Moderation::parse),
            moderation_reason: row.try_get(9)?,
            tags: serde_json::from_str(&tags).map_err(|e| StoreError::Corrupt(format!("campaign tags: {e}")))?,
            inherit: row.try_get::<i64, _>(11)? != 0,
            decided_by: row.try_get(12)?,
            decided_at: row.try_get::<Option<i64>, _>(13)?.map(from_micros).transpose()?,
        },
    })
}

/// What to write to a campaign's row: counted afresh, or members added to what it holds.
enum Figures {
    Counted { id: i64, size: i64, first: Option<i64>, last: Option<i64> },
    Added { id: i64, added: i64, first: i64, last: i64 },
}

impl Store {
    /// The given comments of a consultation: the campaign each is in now, and when it arrived.
    async fn members_now(
        &self,
        consultation_id: &str,
        ids: &[i64],
    ) -> Result<HashMap<i64, (Option<i64>, i64)>, StoreError> {
        let mut out = HashMap::with_capacity(ids.len());
        for part in ids.chunks(CHUNK) {
            // Ids come from the database (the detection's index), never from a request.
            let list: Vec<String> = part.iter().map(i64::to_string).collect();
            let sql = format!(
                "SELECT c.id, m.campaign_id, c.submitted_at FROM comments c \
                 LEFT JOIN campaign_members m ON m.comment_id = c.id WHERE c.consultation_id = $1 AND c.id IN ({})",
                list.join(",")
            );
            let rows: Vec<(i64, Option<i64>, i64)> =
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(consultation_id).fetch_all(&self.pool).await?;
            out.extend(rows.into_iter().map(|(id, k, at)| (id, (k, at))));
        }
        Ok(out)
    }

    /// Campaigns' sizes and spans as their members now stand (size 0, span unchanged, for one
    /// with none). Read outside any write: only the detection moves members, and it is the
    /// caller.
    async fn count_campaigns(&self, consultation_id: &str, ids: &[i64]) -> Result<Vec<Figures>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for part in ids.chunks(CHUNK) {
            let list: Vec<String> = part.iter().map(i64::to_string).collect();
            let sql = format!(
                "SELECT campaign_id, COUNT(*), MIN(submitted_at), MAX(submitted_at) FROM campaign_members \
                 WHERE consultation_id = $1 AND campaign_id IN ({}) GROUP BY campaign_id",
                list.join(",")
            );
            let rows: Vec<(i64, i64, Option<i64>, Option<i64>)> =
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(consultation_id).fetch_all(&self.pool).await?;
            let found: HashMap<i64, (i64, Option<i64>, Option<i64>)> =
                rows.into_iter().map(|(k, n, lo, hi)| (k, (n, lo, hi))).collect();
            out.extend(part.iter().map(|id| {
                let (size, first, last) = found.get(id).copied().unwrap_or((0, None, None));
                Figures::Counted { id: *id, size, first, last }
            }));
        }
        Ok(out)
    }

    /// Up to `limit` of a consultation's comments with ids above `after`, in id order: (id,
    /// opinion as staff read it, arrival). What the detection reads.
    pub async fn campaign_texts(
        &self,
        consultation_id: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, opinion FROM comments WHERE consultation_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(consultation_id)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The campaign each comment of a consultation is in now.
    pub async fn campaign_members(&self, consultation_id: &str) -> Result<HashMap<i64, i64>, StoreError> {
        let rows: Vec<(i64, i64)> =
            sqlx::query_as("SELECT comment_id, campaign_id FROM campaign_members WHERE consultation_id = $1")
                .bind(consultation_id)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().collect())
    }

    /// How far the detection has placed a consultation's comments (a comment id; 0 if never).
    pub async fn campaign_progress(&self, consultation_id: &str) -> Result<i64, StoreError> {
        let v: Option<i64> = sqlx::query_scalar("SELECT through_id FROM campaign_progress WHERE consultation_id = $1")
            .bind(consultation_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(v.unwrap_or(0))
    }

    /// Saves the groups the detection found as the consultation's campaigns, as of comment
    /// `through_id`. With `complete`, the groups are all there are (a full run): comments in no
    /// group leave their campaign, and campaigns no group matched are emptied (their rows and
    /// decisions stay, with size 0). Without it (the incremental pass), only the groups given
    /// are written.
    pub async fn save_campaigns(
        &self,
        actor: &str,
        consultation_id: &str,
        groups: &[FoundGroup],
        complete: bool,
        through_id: i64,
        now: Timestamp,
    ) -> Result<SavedCampaigns, StoreError> {
        // A full run regroups every member; the incremental pass reads only the comments it
        // places (their campaign and arrival), so a pass costs what it places, however many
        // comments are already in campaigns.
        let started = std::time::Instant::now();
        let listed: Vec<i64> = groups.iter().flat_map(|g| g.members.iter().copied()).collect();
        let arrivals: HashMap<i64, (Option<i64>, i64)> =
            if complete { HashMap::new() } else { self.members_now(consultation_id, &listed).await? };
        let current: HashMap<i64, i64> = if complete {
            self.campaign_members(consultation_id).await?
        } else {
            arrivals.iter().filter_map(|(m, (k, _))| k.map(|k| (*m, k))).collect()
        };
        let member_lists: Vec<Vec<i64>> = groups.iter().map(|g| g.members.clone()).collect();
        let kept = keep_ids(&current, &member_lists);
        let mut ids = Vec::with_capacity(groups.len());
        // Campaign rows first: new ones get their ids.
        {
            let mut tx = self.begin_write().await?;
            for (g, keep) in groups.iter().zip(&kept) {
                let id = match keep {
                    Some(id) => *id,
                    None => {
                        sqlx::query_scalar::<_, i64>(
                            "INSERT INTO campaigns (consultation_id, representative, size, first_at, last_at) \
                             VALUES ($1, $2, 0, $3, $3) RETURNING id",
                        )
                        .bind(consultation_id)
                        .bind(g.representative.or(g.members.first().copied()).unwrap_or(0))
                        .bind(micros(now))
                        .fetch_one(&mut *tx)
                        .await?
                    }
                };
                ids.push(id);
            }
            tx.commit().await?;
        }
        // Then the members, chunk by chunk: only those whose campaign changes.
        let mut wanted: HashMap<i64, i64> = HashMap::new();
        let mut joined: HashMap<i64, Vec<i64>> = HashMap::new();
        for (g, id) in groups.iter().zip(&ids) {
            for m in &g.members {
                wanted.insert(*m, *id);
                if current.get(m) != Some(id) {
                    joined.entry(*id).or_default().push(*m);
                }
            }
        }
        let read = started.elapsed();
        let mut by_campaign: Vec<(Option<i64>, i64)> =
            joined.iter().flat_map(|(c, ms)| ms.iter().map(move |m| (Some(*c), *m))).collect();
        let leaving: Vec<i64> =
            if complete { current.keys().filter(|m| !wanted.contains_key(m)).copied().collect() } else { vec![] };
        by_campaign.extend(leaving.iter().map(|m| (None, *m)));
        let left = leaving.len();
        // In comment id order, so that each transaction touches few pages of the table and
        // its indexes: in campaign order, every chunk wrote members all over them, and a first
        // run spent seconds writing the same pages to the log again and again.
        by_campaign.sort_unstable_by_key(|(_, m)| *m);
        for chunk in by_campaign.chunks(CHUNK) {
            let mut tx = self.begin_write().await?;
            // Integers from the detection and the database, never from a request: written in.
            let joining: Vec<String> = chunk.iter().filter_map(|(c, m)| c.map(|c| format!("({m},{c})"))).collect();
            if !joining.is_empty() {
                // The arrival is copied from the comment, which never changes it. A VALUES
                // list's columns are column1, column2 on both databases.
                let sql = format!(
                    "INSERT INTO campaign_members (comment_id, consultation_id, campaign_id, submitted_at) \
                     SELECT c.id, c.consultation_id, v.column2, c.submitted_at FROM (VALUES {}) AS v \
                     JOIN comments c ON c.id = v.column1 WHERE c.consultation_id = $1 \
                     ON CONFLICT (comment_id) DO UPDATE SET campaign_id = excluded.campaign_id",
                    joining.join(",")
                );
                sqlx::query(sqlx::AssertSqlSafe(sql)).bind(consultation_id).execute(&mut *tx).await?;
            }
            let leaving: Vec<String> = chunk.iter().filter(|(c, _)| c.is_none()).map(|(_, m)| m.to_string()).collect();
            if !leaving.is_empty() {
                let sql = format!(
                    "DELETE FROM campaign_members WHERE consultation_id = $1 AND comment_id IN ({})",
                    leaving.join(",")
                );
                sqlx::query(sqlx::AssertSqlSafe(sql)).bind(consultation_id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        }
        let moved = started.elapsed();
        // Sizes, spans and representatives. A full run, or a campaign that lost members to
        // another, is counted from its members as they now are; a campaign that only gained
        // members adds them up from the arrivals already read.
        // Only campaigns whose members changed are counted again: a re-run that moves nobody
        // reads no member (counting half a million took a second and a half).
        let mut recount: Vec<i64> =
            joined.values().flatten().chain(&leaving).filter_map(|m| current.get(m)).copied().collect();
        let mut figures: Vec<Figures> = vec![];
        if complete {
            recount.extend(joined.keys());
        } else {
            for (id, members) in &joined {
                let times = members.iter().filter_map(|m| arrivals.get(m).map(|(_, at)| *at));
                let (first, last) = times.fold((i64::MAX, i64::MIN), |(lo, hi), t| (lo.min(t), hi.max(t)));
                if first <= last {
                    figures.push(Figures::Added { id: *id, added: members.len() as i64, first, last });
                }
            }
        }
        recount.sort_unstable();
        recount.dedup();
        figures.extend(self.count_campaigns(consultation_id, &recount).await?);
        let representative: HashMap<i64, i64> =
            ids.iter().zip(groups).filter_map(|(id, g)| g.representative.map(|r| (*id, r))).collect();
        // The others keep their figures; the detection may still name a new representative.
        let unchanged: Vec<(i64, i64)> = representative
            .iter()
            .filter(|(id, _)| recount.binary_search(id).is_err() && !joined.contains_key(id))
            .map(|(id, r)| (*id, *r))
            .collect();
        for part in unchanged.chunks(CHUNK) {
            let mut tx = self.begin_write().await?;
            for (id, r) in part {
                sqlx::query("UPDATE campaigns SET representative = $1 WHERE id = $2 AND representative <> $1")
                    .bind(*r)
                    .bind(*id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        }
        for part in figures.chunks(CHUNK) {
            let mut tx = self.begin_write().await?;
            for f in part {
                let (sql, id, size, first, last) = match *f {
                    Figures::Counted { id, size, first, last } => (
                        "UPDATE campaigns SET size = $1, first_at = COALESCE($2, first_at), \
                         last_at = COALESCE($3, last_at), representative = COALESCE($4, representative) WHERE id = $5",
                        id,
                        size,
                        first,
                        last,
                    ),
                    // Every reference to a column on the right reads the row as it was: a
                    // campaign that had no members takes the new span whole.
                    Figures::Added { id, added, first, last } => (
                        "UPDATE campaigns SET size = size + $1, \
                         first_at = CASE WHEN size = 0 OR first_at > $2 THEN $2 ELSE first_at END, \
                         last_at = CASE WHEN size = 0 OR last_at < $3 THEN $3 ELSE last_at END, \
                         representative = COALESCE($4, representative) WHERE id = $5",
                        id,
                        added,
                        Some(first),
                        Some(last),
                    ),
                };
                sqlx::query(sql)
                    .bind(size)
                    .bind(first)
                    .bind(last)
                    .bind(representative.get(&id).copied())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        }
        // The record: one entry for the run (detection is not a staff decision: members are
        // found, not judged).
        let (campaigns, in_campaigns): (i64, Option<i64>) = sqlx::query_as(
            "SELECT COUNT(*), CAST(SUM(size) AS BIGINT) FROM campaigns WHERE consultation_id = $1 AND size >= 2",
        )
        .bind(consultation_id)
        .fetch_one(&self.pool)
        .await?;
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO campaign_progress (consultation_id, through_id) VALUES ($1, $2) \
             ON CONFLICT (consultation_id) DO UPDATE SET through_id = excluded.through_id",
        )
        .bind(consultation_id)
        .bind(through_id)
        .execute(&mut *tx)
        .await?;
        let joined_count: usize = joined.values().map(Vec::len).sum();
        // A run that moved no comment changes nothing worth a record.
        if joined_count + left > 0 {
            let detail = serde_json::json!({
                "complete": complete,
                "through": through_id,
                "campaigns": campaigns,
                "in_campaigns": in_campaigns.unwrap_or(0),
                "joined": joined_count,
                "left": left,
            });
            self.audit_in(&mut tx, now, Audit::new(actor, "campaigns.detect", consultation_id, detail.to_string()))
                .await?;
        }
        tx.commit().await?;
        tracing::debug!(
            consultation_id,
            read_seconds = read.as_secs_f64(),
            moved_seconds = (moved - read).as_secs_f64(),
            counted_seconds = (started.elapsed() - moved).as_secs_f64(),
            "campaigns saved"
        );
        let mut joined: Vec<(i64, Vec<i64>)> = joined.into_iter().collect();
        joined.sort_unstable();
        Ok(SavedCampaigns { campaigns: campaigns as u64, in_campaigns: in_campaigns.unwrap_or(0) as u64, joined })
    }

    /// The campaign a comment is in, by the comment's id.
    pub async fn campaign_of(&self, comment_id: i64) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar::<_, i64>("SELECT campaign_id FROM campaign_members WHERE comment_id = $1")
            .bind(comment_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// A consultation's campaigns of two or more members, largest first, `limit` of them from
    /// `offset`, and how many there are.
    pub async fn campaigns(
        &self,
        consultation_id: &str,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<CampaignSummary>, i64), StoreError> {
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM campaigns WHERE consultation_id = $1 AND size >= 2")
            .bind(consultation_id)
            .fetch_one(&self.pool)
            .await?;
        let (opening, _) = self.backend.opening("c.opinion", 120);
        let cols: Vec<String> = CAMPAIGN_COLUMNS.split(", ").map(|c| format!("k.{c}")).collect();
        let sql = format!(
            "SELECT {}, c.receipt, {opening} FROM campaigns k JOIN comments c ON c.id = k.representative \
             WHERE k.consultation_id = $1 AND k.size >= 2 ORDER BY k.size DESC, k.id LIMIT $2 OFFSET $3",
            cols.join(", ")
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(consultation_id)
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?;
        let list = rows
            .iter()
            .map(|r| {
                Ok(CampaignSummary {
                    campaign: campaign_from_row(r)?,
                    representative_receipt: r.try_get(14)?,
                    opening: r.try_get(15)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok((list, total))
    }

    /// One campaign of a consultation.
    pub async fn campaign(&self, consultation_id: &str, id: i64) -> Result<Option<Campaign>, StoreError> {
        let sql = format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE consultation_id = $1 AND id = $2");
        let row =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(consultation_id).bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(campaign_from_row).transpose()
    }

    /// When each member of a campaign arrived.
    pub async fn campaign_arrivals(&self, consultation_id: &str, id: i64) -> Result<Vec<Timestamp>, StoreError> {
        let rows: Vec<i64> = sqlx::query_scalar(
            "SELECT submitted_at FROM campaign_members WHERE consultation_id = $1 AND campaign_id = $2 \
             ORDER BY submitted_at",
        )
        .bind(consultation_id)
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(from_micros).collect()
    }

    /// Every campaign of a consultation with two or more members: its size, and what staff
    /// decided about it. For exports and the report.
    pub async fn campaign_sizes(&self, consultation_id: &str) -> Result<HashMap<i64, Campaign>, StoreError> {
        let sql = format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE consultation_id = $1 AND size >= 2");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(consultation_id).fetch_all(&self.pool).await?;
        rows.iter().map(|r| campaign_from_row(r).map(|c| (c.id, c))).collect()
    }

    /// Records what staff decided about a campaign as a whole (the members are changed by the
    /// review action itself, each audited), and whether members that join later get it too.
    pub async fn record_campaign_decision(
        &self,
        actor: &str,
        consultation_id: &str,
        id: i64,
        decision: &CampaignDecision,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE campaigns SET disposition = $1, disposition_reason = $2, moderation = $3, moderation_reason = $4, \
             tags = $5, inherit = $6, decided_by = $7, decided_at = $8 WHERE consultation_id = $9 AND id = $10",
        )
        .bind(decision.disposition.map(|d| d.as_str()))
        .bind(decision.disposition_reason.as_deref())
        .bind(decision.moderation.map(|m| m.as_str()))
        .bind(decision.moderation_reason.as_deref())
        .bind(serde_json::to_string(&decision.tags).expect("strings"))
        .bind(decision.inherit as i64)
        .bind(actor)
        .bind(micros(now))
        .bind(consultation_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let detail = serde_json::json!({
            "campaign": id,
            "disposition": decision.disposition.map(|d| d.as_str()),
            "disposition_reason": decision.disposition_reason,
            "moderation": decision.moderation.map(|m| m.as_str()),
            "tags": decision.tags,
            "inherit": decision.inherit,
        });
        self.audit_in(&mut tx, now, Audit::new(actor, "campaign.decide", consultation_id, detail.to_string())).await?;
        tx.commit().await?;
        Ok(())
    }
}

impl Store {
    /// The opinions (as staff read them) of the given comments of a consultation, by id.
    pub async fn opinions(&self, consultation_id: &str, ids: &[i64]) -> Result<HashMap<i64, String>, StoreError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        // Ids come from the database (a queue page), never from a request: written in.
        let list: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
        let sql = format!("SELECT id, opinion FROM comments WHERE consultation_id = $1 AND id IN ({})", list.join(","));
        let rows: Vec<(i64, String)> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(consultation_id).fetch_all(&self.pool).await?;
        Ok(rows.into_iter().collect())
    }
}

impl Store {
    /// The short texts (at most `max_chars` characters) that two or more comments of a
    /// consultation share word for word, most frequent first: (text, comments). Short answers
    /// such as 同意 are grouped as what they are, never as a campaign.
    pub async fn repeated_short_texts(
        &self,
        consultation_id: &str,
        max_chars: usize,
        limit: i64,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let (_, length) = self.backend.opening("opinion", 1);
        let sql = format!(
            "SELECT opinion, COUNT(*) FROM comments WHERE consultation_id = $1 AND {length} <= {max_chars} \
             GROUP BY opinion HAVING COUNT(*) >= 2 ORDER BY COUNT(*) DESC, opinion LIMIT $2"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(consultation_id).bind(limit).fetch_all(&self.pool).await?)
    }
}

#[cfg(test)]
mod tests {
    use sqlx::Executor;
    use sqlx::migrate::Migrator;

    use crate::Backend;
    use crate::operations::migrator;

    /// Migration 0017 moves each comment's campaign into `campaign_members`: an installation
    /// that had found campaigns keeps every member, with its arrival, and nothing else moves.
    #[tokio::test]
    async fn moving_membership_to_its_own_table_keeps_every_member() {
        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("db.sqlite").display());
        let pool = sqlx::AnyPool::connect(&url).await.unwrap();
        pool.execute("PRAGMA foreign_keys = ON").await.unwrap();
        let full = migrator(Backend::Sqlite);
        let before = Migrator::with_migrations(full.iter().filter(|m| m.version < 17).cloned().collect());
        before.run(&pool).await.unwrap();
        pool.execute(
            "INSERT INTO consultations (id, title, opens_at, closes_at, current_version, meta_json, created_at, updated_at) \
             VALUES ('c', 't', 0, 1, 1, '{}', 0, 0); \
             INSERT INTO comments (id, receipt, consultation_id, version, channel, submitted_at, opinion) VALUES \
             (1, 'r1', 'c', 1, 'web', 100, 'a'), (2, 'r2', 'c', 1, 'web', 200, 'a'), (3, 'r3', 'c', 1, 'web', 300, 'b'); \
             INSERT INTO campaigns (id, consultation_id, representative, size, first_at, last_at) \
             VALUES (7, 'c', 1, 2, 100, 200); \
             UPDATE comments SET campaign_id = 7 WHERE id IN (1, 2);",
        )
        .await
        .unwrap();
        full.run(&pool).await.unwrap();
        let members: Vec<(i64, String, i64, i64)> = sqlx::query_as(
            "SELECT comment_id, consultation_id, campaign_id, submitted_at FROM campaign_members ORDER BY comment_id",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        assert_eq!(members, vec![(1, "c".into(), 7, 100), (2, "c".into(), 7, 200)]);
        let comments: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM comments").fetch_one(&pool).await.unwrap();
        assert_eq!(comments, 3, "no comment is lost when the column goes");
        let old = pool.execute("SELECT campaign_id FROM comments").await;
        assert!(old.is_err(), "the column is gone, so nothing can read a stale copy of it");
    }
}
