//! What the nodes of one installation share through the database, so that whichever node
//! answers a request sees what the others did: used captchas, per-client rate limits, leases on
//! work only one node may do (polling the mailbox), and signals every node acts on once
//! (rebuilding its search index).
//!
//! Used captchas are one call for both backends with two homes. PostgreSQL is what several
//! nodes share, so a use is a row there (an UNLOGGED table: no WAL, no fsync per submission).
//! SQLite is one node's own file, and the intake's throughput there rests on group commit: a
//! separately committed write per submission would add an fsync to every one, and recording the
//! use inside the comment writer's transaction would not cover a refused submission (whose
//! captcha must be used up too). So a SQLite store keeps its used captchas in memory, where the
//! single node that can open the file sees them all; a restart forgets them, which lets a
//! captcha solved before it be used once more within its ten minutes.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use jiff::Timestamp;
use sqlx::Row;
use yijian_domain::receipt::Receipt;

use crate::{Backend, Store, StoreError, from_micros, micros};

/// Expired rows are deleted on one call in this many (a cheap indexed range delete).
const PRUNE_EVERY: u64 = 1024;

/// The in-memory record of used captchas (SQLite), and the pruning counter.
#[derive(Default)]
pub(crate) struct SharedState {
    used: Mutex<HashMap<String, i64>>,
    /// The size the used set was last pruned at: it is pruned again when it has doubled.
    pruned_at: AtomicU64,
    calls: AtomicU64,
}

impl Store {
    fn prune_due(&self) -> bool {
        self.shared.calls.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1
    }

    /// Records that the captcha named `nonce` is used; `false` if it was already used (by this
    /// node or, on PostgreSQL, any other). `expires_at` is when the record may be forgotten.
    pub async fn spend_captcha(&self, nonce: &str, expires_at: Timestamp, now: Timestamp) -> Result<bool, StoreError> {
        match self.backend {
            Backend::Sqlite => {
                let mut used = self.shared.used.lock().expect("used captchas poisoned");
                let floor = self.shared.pruned_at.load(Ordering::Relaxed).max(1024);
                if used.len() as u64 >= 2 * floor {
                    let now = micros(now);
                    used.retain(|_, exp| *exp > now);
                    self.shared.pruned_at.store(used.len() as u64, Ordering::Relaxed);
                }
                Ok(used.insert(nonce.to_string(), micros(expires_at)).is_none())
            }
            Backend::Postgres => {
                if self.prune_due() {
                    sqlx::query("DELETE FROM captcha_uses WHERE expires_at <= $1")
                        .bind(micros(now))
                        .execute(&self.pool)
                        .await?;
                }
                let n =
                    sqlx::query("INSERT INTO captcha_uses (nonce, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                        .bind(nonce)
                        .bind(micros(expires_at))
                        .execute(&self.pool)
                        .await?;
                Ok(n.rows_affected() == 1)
            }
        }
    }

    /// Whether the captcha named `nonce` has been used.
    pub async fn captcha_spent(&self, nonce: &str) -> Result<bool, StoreError> {
        match self.backend {
            Backend::Sqlite => Ok(self.shared.used.lock().expect("used captchas poisoned").contains_key(nonce)),
            Backend::Postgres => Ok(sqlx::query("SELECT 1 FROM captcha_uses WHERE nonce = $1")
                .bind(nonce)
                .fetch_optional(&self.pool)
                .await?
                .is_some()),
        }
    }

    /// `Err(first)` when this node holds `limit` used captchas in memory that may not be
    /// forgotten yet, the first of which may be at `first`; always `Ok` on PostgreSQL, whose
    /// record is in the database.
    pub fn memory_captcha_room(&self, limit: usize, now: Timestamp) -> Result<(), Timestamp> {
        if self.backend != Backend::Sqlite {
            return Ok(());
        }
        let mut used = self.shared.used.lock().expect("used captchas poisoned");
        if used.len() < limit {
            return Ok(());
        }
        let now_us = micros(now);
        used.retain(|_, exp| *exp > now_us);
        self.shared.pruned_at.store(used.len() as u64, Ordering::Relaxed);
        match used.values().min() {
            Some(first) if used.len() >= limit => Err(from_micros(*first).unwrap_or(now)),
            _ => Ok(()),
        }
    }

    /// One request of `bucket` (a kind of request and a client) under a limit of one every
    /// `interval` with bursts of `burst`, counted in the database so that every node sees the
    /// same count: `Ok(Err(wait))` when the client must wait. PostgreSQL only (a SQLite
    /// installation is one node, which counts in its own memory).
    ///
    /// GCRA in one statement: the bucket's "theoretical arrival time" moves one interval on
    /// per request allowed, from no earlier than now; a request is allowed while that time
    /// stays within `burst` intervals of now. The second subquery reads the row as it was
    /// before the statement, which is the time a refused request must wait on.
    pub async fn rate_check(
        &self,
        bucket: &str,
        now: Timestamp,
        interval: Duration,
        burst: u32,
    ) -> Result<Result<(), Duration>, StoreError> {
        if self.prune_due() {
            sqlx::query("DELETE FROM rate_limits WHERE tat <= $1").bind(micros(now)).execute(&self.pool).await?;
        }
        let now = micros(now);
        let t = i64::try_from(interval.as_micros()).unwrap_or(i64::MAX / 4).max(1);
        let tolerance = t.saturating_mul(i64::from(burst.max(1)));
        let row = sqlx::query(
            "WITH up AS (INSERT INTO rate_limits (bucket, tat) VALUES ($1, $2 + $3) \
               ON CONFLICT (bucket) DO UPDATE SET tat = GREATEST(rate_limits.tat, $2) + $3 \
               WHERE GREATEST(rate_limits.tat, $2) + $3 - $2 <= $4 RETURNING tat) \
             SELECT (SELECT tat FROM up), (SELECT tat FROM rate_limits WHERE bucket = $1)",
        )
        .bind(bucket)
        .bind(now)
        .bind(t)
        .bind(tolerance)
        .fetch_one(&self.pool)
        .await?;
        if row.try_get::<Option<i64>, _>(0)?.is_some() {
            return Ok(Ok(()));
        }
        let tat = row.try_get::<Option<i64>, _>(1)?.unwrap_or(now);
        let wait = (tat + t - tolerance - now).max(1);
        Ok(Err(Duration::from_micros(wait as u64)))
    }

    /// Takes or renews the lease `name` for `holder` until `until`: `true` if `holder` now
    /// holds it (it was free, expired, or already its own).
    pub async fn hold_lease(
        &self,
        name: &str,
        holder: &str,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let n = sqlx::query(
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE leases.holder = excluded.holder OR leases.expires_at <= $4",
        )
        .bind(name)
        .bind(holder)
        .bind(micros(until))
        .bind(micros(now))
        .execute(&self.pool)
        .await?;
        Ok(n.rows_affected() == 1)
    }

    /// Gives the lease up, if `holder` holds it, so another node need not wait for it to expire.
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Who holds the lease `name` and until when, if anyone has.
    pub async fn lease(&self, name: &str) -> Result<Option<(String, Timestamp)>, StoreError> {
        let row = sqlx::query("SELECT holder, expires_at FROM leases WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((r.try_get(0)?, from_micros(r.try_get(1)?)?))).transpose()
    }

    /// Raises the signal `name`: every node that last saw a lower generation acts on it once.
    pub async fn raise_signal(&self, name: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO node_signals (name, generation) VALUES ($1, 1) \
             ON CONFLICT (name) DO UPDATE SET generation = node_signals.generation + 1",
        )
        .bind(name)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The signal's generation: 0 if never raised.
    pub async fn signal_generation(&self, name: &str) -> Result<i64, StoreError> {
        let g: Option<i64> = sqlx::query_scalar("SELECT generation FROM node_signals WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(g.unwrap_or(0))
    }

    /// The receipt and time of the comment a web form (by its id) already produced, if any.
    pub async fn comment_by_form_id(&self, form_id: &str) -> Result<Option<(Receipt, Timestamp)>, StoreError> {
        let row = sqlx::query("SELECT receipt, submitted_at FROM comments WHERE form_id = $1")
            .bind(form_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            let compact: String = r.try_get(0)?;
            let receipt = Receipt::parse(&compact).ok_or_else(|| StoreError::Corrupt(format!("receipt {compact}")))?;
            Ok((receipt, from_micros(r.try_get(1)?)?))
        })
        .transpose()
    }
}
