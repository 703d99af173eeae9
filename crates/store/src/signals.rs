//! What the signal pass (`app::signals`) reads and writes: the keyed hashes each comment was
//! stored with, the comments that share one, and the `comment_signals` rows (issue 13).
//!
//! Nothing here decides: the rules are `yijian_domain::signals`. Signal rows are only ever
//! added (the same row twice is one row), so two nodes running the pass at once agree.

use std::collections::HashMap;

use jiff::Timestamp;
use sqlx::Row;
use yijian_domain::pii::IdNumber;
use yijian_domain::receipt::Receipt;
use yijian_domain::signals::{Signal, id_sequence};

use crate::comments::aad;
use crate::{Store, StoreError, micros};

/// A comment the pass has not looked at yet, with what the rules need of it.
#[derive(Debug, Clone)]
pub struct SignalCandidate {
    pub id: i64,
    pub consultation_id: String,
    pub name: Option<String>,
    /// Arrival, in whole seconds.
    pub at_seconds: i64,
    pub email: Option<String>,
    pub id_number_index: Option<Vec<u8>>,
    pub id_prefix_index: Option<Vec<u8>>,
    pub client_net_index: Option<Vec<u8>>,
}

/// The name of the pass's row in `signal_progress`.
const PASS: &str = "signals";

fn signals_of(values: impl IntoIterator<Item = String>) -> Vec<Signal> {
    // A signal this version does not know (written by a newer one) is left out, not an error.
    let mut v: Vec<Signal> = values.into_iter().filter_map(|s| Signal::parse(&s)).collect();
    v.sort();
    v.dedup();
    v
}

impl Store {
    /// The highest comment id the pass has looked at.
    pub async fn signal_high_water(&self) -> Result<i64, StoreError> {
        let v: Option<i64> = sqlx::query_scalar("SELECT high_water FROM signal_progress WHERE name = $1")
            .bind(PASS)
            .fetch_optional(&self.pool)
            .await?;
        Ok(v.unwrap_or(0))
    }

    /// Up to `limit` comments above `after`, in id order.
    pub async fn signal_candidates(&self, after: i64, limit: i64) -> Result<Vec<SignalCandidate>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, consultation_id, name, submitted_at, email, id_number_index, id_prefix_index, \
             client_net_index FROM comments WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SignalCandidate {
                    id: r.try_get(0)?,
                    consultation_id: r.try_get(1)?,
                    name: r.try_get(2)?,
                    at_seconds: r.try_get::<i64, _>(3)?.div_euclid(1_000_000),
                    email: r.try_get(4)?,
                    id_number_index: r.try_get(5)?,
                    id_prefix_index: r.try_get(6)?,
                    client_net_index: r.try_get(7)?,
                })
            })
            .collect()
    }

    /// Up to `limit` of the comments of a consultation made with one ID number (by its keyed
    /// hash), with ids in `after..=through`, in id order: (id, name). With `named`, only those
    /// that give a name.
    pub async fn id_group_page(
        &self,
        consultation_id: &str,
        index: &[u8],
        (after, through): (i64, i64),
        named: bool,
        limit: i64,
    ) -> Result<Vec<(i64, Option<String>)>, StoreError> {
        let named = if named { " AND name IS NOT NULL AND name <> ''" } else { "" };
        let sql = format!(
            "SELECT id, name FROM comments WHERE id_number_index = $1 AND consultation_id = $2 AND id > $3 \
             AND id <= $4{named} ORDER BY id LIMIT $5"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(index.to_vec())
            .bind(consultation_id)
            .bind(after)
            .bind(through)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Whether a comment has a signal.
    pub async fn has_signal(&self, consultation_id: &str, signal: Signal, comment_id: i64) -> Result<bool, StoreError> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT comment_id FROM comment_signals WHERE consultation_id = $1 AND signal = $2 AND comment_id = $3",
        )
        .bind(consultation_id)
        .bind(signal.as_str())
        .bind(comment_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }

    /// The latest `limit` comments of a consultation from one client network (by its keyed
    /// hash) whose network is still kept, with ids up to `through`, that arrived in the seconds
    /// `from..=to`: (id, arrival in seconds), latest first.
    pub async fn latest_by_client_net(
        &self,
        consultation_id: &str,
        index: &[u8],
        (from, to): (i64, i64),
        through: i64,
        limit: i64,
    ) -> Result<Vec<(i64, i64)>, StoreError> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT id, submitted_at FROM comments WHERE consultation_id = $1 AND client_net_index = $2 \
             AND submitted_at >= $3 AND submitted_at < $4 AND id <= $5 ORDER BY submitted_at DESC, id DESC LIMIT $6",
        )
        .bind(consultation_id)
        .bind(index.to_vec())
        .bind(from.saturating_mul(1_000_000))
        .bind(to.saturating_add(1).saturating_mul(1_000_000))
        .bind(through)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(id, at)| (id, at.div_euclid(1_000_000))).collect())
    }

    /// The distinct ID numbers (by keyed hash) of a consultation's comments that share one
    /// region and birth date (by the keyed hash of the prefix), each with the first comment
    /// that gave it: (index, first comment id).
    pub async fn ids_by_prefix(
        &self,
        consultation_id: &str,
        prefix_index: &[u8],
    ) -> Result<Vec<(Vec<u8>, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id_number_index, MIN(id) FROM comments WHERE consultation_id = $1 AND id_prefix_index = $2 \
             AND id_number_index IS NOT NULL GROUP BY id_number_index",
        )
        .bind(consultation_id)
        .bind(prefix_index.to_vec())
        .fetch_all(&self.pool)
        .await?)
    }

    /// The sequence codes of the ID numbers of the given comments: (id, code). Their ID numbers
    /// are unsealed here, in memory, and only the code leaves.
    pub async fn sequence_codes(&self, consultation_id: &str, ids: &[i64]) -> Result<Vec<(i64, u16)>, StoreError> {
        let mut codes = Vec::with_capacity(ids.len());
        for part in ids.chunks(2_000) {
            // Ids come from the database, never from a request: written in.
            let list: Vec<String> = part.iter().map(i64::to_string).collect();
            let sql = format!(
                "SELECT id, receipt, id_number_enc FROM comments WHERE consultation_id = $1 AND id IN ({})",
                list.join(",")
            );
            let rows: Vec<(i64, String, Option<Vec<u8>>)> =
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(consultation_id).fetch_all(&self.pool).await?;
            for (id, receipt, envelope) in rows {
                let Some(envelope) = envelope else { continue };
                let receipt =
                    Receipt::parse(&receipt).ok_or_else(|| StoreError::Corrupt(format!("receipt {receipt}")))?;
                let plain = self
                    .keys
                    .open(&envelope, &aad("id_number", &receipt))
                    .map_err(|e| StoreError::Corrupt(format!("id_number of {receipt}: {e}")))?;
                let id_number = IdNumber::from_normalised(String::from_utf8_lossy(&plain).into_owned());
                if let Some(code) = id_sequence(&id_number) {
                    codes.push((id, code));
                }
            }
        }
        Ok(codes)
    }

    /// Adds signals (consultation, signal, comment id) and moves the pass's mark to
    /// `high_water` (never back), in one transaction.
    pub async fn record_signals(&self, found: &[(String, Signal, i64)], high_water: i64) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        for chunk in found.chunks(300) {
            let sql = format!(
                "INSERT INTO comment_signals (consultation_id, signal, comment_id) VALUES {} ON CONFLICT DO NOTHING",
                self.backend.values(chunk.len(), 3)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (cid, signal, id) in chunk {
                q = q.bind(cid.as_str()).bind(signal.as_str()).bind(*id);
            }
            q.execute(&mut *tx).await?;
        }
        sqlx::query(
            "INSERT INTO signal_progress (name, high_water) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET \
             high_water = CASE WHEN excluded.high_water > signal_progress.high_water THEN excluded.high_water \
             ELSE signal_progress.high_water END",
        )
        .bind(PASS)
        .bind(high_water)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Forgets the client networks of comments that arrived before `before` (the retention
    /// period's start); returns how many were cleared. Signals already found stay.
    pub async fn clear_client_networks(&self, before: Timestamp) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let cleared = sqlx::query(
            "UPDATE comments SET client_net_index = NULL WHERE client_net_index IS NOT NULL AND submitted_at < $1",
        )
        .bind(micros(before))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(cleared)
    }

    /// A comment's signals.
    pub async fn comment_signals(&self, consultation_id: &str, comment_id: i64) -> Result<Vec<Signal>, StoreError> {
        let rows: Vec<String> =
            sqlx::query_scalar("SELECT signal FROM comment_signals WHERE comment_id = $1 AND consultation_id = $2")
                .bind(comment_id)
                .bind(consultation_id)
                .fetch_all(&self.pool)
                .await?;
        Ok(signals_of(rows))
    }

    /// The signals of a consultation's comments with ids from `first` to `last`, by comment id
    /// (comments without any are left out): what one page of an export needs.
    pub async fn signals_between(
        &self,
        consultation_id: &str,
        first: i64,
        last: i64,
    ) -> Result<HashMap<i64, Vec<Signal>>, StoreError> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT comment_id, signal FROM comment_signals WHERE comment_id >= $1 AND comment_id <= $2 \
             AND consultation_id = $3",
        )
        .bind(first)
        .bind(last)
        .bind(consultation_id)
        .fetch_all(&self.pool)
        .await?;
        let mut by_comment: HashMap<i64, Vec<String>> = HashMap::new();
        for (id, s) in rows {
            by_comment.entry(id).or_default().push(s);
        }
        Ok(by_comment.into_iter().map(|(id, v)| (id, signals_of(v))).filter(|(_, v)| !v.is_empty()).collect())
    }

    /// Whether a comment still has its client network kept (for tests of the retention).
    #[doc(hidden)]
    pub async fn client_network_kept(&self, receipt: &Receipt) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(sqlx::query_scalar("SELECT client_net_index FROM comments WHERE receipt = $1")
            .bind(receipt.compact())
            .fetch_optional(&self.pool)
            .await?
            .flatten())
    }
}
