//! The append-only, hash-chained audit log, and the transactions that carry its entries.
//!
//! Every change that is audited writes its entry in the same transaction as the change
//! ([`Store::begin_write`], [`append`]): if the entry cannot be written, nothing changes, and a
//! crash between the two leaves neither. Acts that change nothing but must be on record (a
//! reveal of personal data, a download of a raw mail) use [`Store::audit`], before they act.

use jiff::Timestamp;
use sqlx::{Any, AnyConnection, Row, Transaction};
use yijian_domain::document::sha256_hex;

use crate::{Backend, Store, StoreError, from_micros, micros};

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

/// An entry still to be appended: who did what to what, and the particulars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audit {
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub detail: String,
}

impl Audit {
    pub fn new(actor: &str, action: &str, subject: &str, detail: impl Into<String>) -> Audit {
        Audit { actor: actor.into(), action: action.into(), subject: subject.into(), detail: detail.into() }
    }
}

/// The hash of the first entry's predecessor.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What each entry's hash covers, unambiguously: every field, length-prefixed.
fn entry_hash(seq: i64, at: i64, actor: &str, action: &str, subject: &str, detail: &str, prev: &str) -> String {
    let mut s = format!("yijian-audit-v1\n{seq}\n{at}\n");
    for field in [actor, action, subject, detail, prev] {
        s.push_str(&format!("{}:{field}\n", field.len()));
    }
    sha256_hex(&s)
}

/// Rows per multi-row insert of audit entries (8 columns each).
const AUDIT_CHUNK: usize = 64;

/// Appends entries inside the caller's write transaction, chained onto the log's head.
///
/// Appends are serialised until the transaction ends: on SQLite by the write lock that
/// [`Store::begin_write`] takes at once, on PostgreSQL by a transaction-scoped advisory lock, so
/// two nodes sharing one database never both chain onto the same head.
pub(crate) async fn append(
    conn: &mut AnyConnection,
    backend: Backend,
    at: Timestamp,
    entries: &[Audit],
) -> Result<Vec<AuditEntry>, StoreError> {
    if entries.is_empty() {
        return Ok(vec![]);
    }
    if let Some(lock) = backend.transaction_lock("yijian_audit_log") {
        sqlx::query(sqlx::AssertSqlSafe(lock)).execute(&mut *conn).await?;
    }
    let last: Option<(i64, String)> =
        sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetch_optional(&mut *conn).await?;
    let (mut seq, mut prev) = last.unwrap_or((0, GENESIS.to_string()));
    let mut written = Vec::with_capacity(entries.len());
    for e in entries {
        seq += 1;
        let hash = entry_hash(seq, micros(at), &e.actor, &e.action, &e.subject, &e.detail, &prev);
        written.push(AuditEntry {
            seq,
            at,
            actor: e.actor.clone(),
            action: e.action.clone(),
            subject: e.subject.clone(),
            detail: e.detail.clone(),
            prev_hash: std::mem::replace(&mut prev, hash.clone()),
            hash,
        });
    }
    for chunk in written.chunks(AUDIT_CHUNK) {
        let mut sql =
            String::from("INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, hash) VALUES ");
        for i in 0..chunk.len() {
            let b = i * 8;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!(
                "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6,
                b + 7,
                b + 8
            ));
        }
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for e in chunk {
            q = q
                .bind(e.seq)
                .bind(micros(e.at))
                .bind(e.actor.clone())
                .bind(e.action.clone())
                .bind(e.subject.clone())
                .bind(e.detail.clone())
                .bind(e.prev_hash.clone())
                .bind(e.hash.clone());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(written)
}

impl Store {
    /// A transaction that will write. On SQLite it takes the write lock at once: a deferred
    /// transaction that read first would fail to upgrade if the comment writer committed
    /// meanwhile (busy_timeout does not cover that case).
    pub(crate) async fn begin_write(&self) -> Result<Transaction<'static, Any>, StoreError> {
        Ok(match self.backend.begin_write() {
            Some(begin) => self.pool.begin_with(begin).await?,
            None => self.pool.begin().await?,
        })
    }

    /// Appends entries inside a write transaction (see [`append`]).
    pub(crate) async fn audit_in(
        &self,
        tx: &mut Transaction<'static, Any>,
        at: Timestamp,
        entry: Audit,
    ) -> Result<AuditEntry, StoreError> {
        let mut written = append(tx, self.backend, at, std::slice::from_ref(&entry)).await?;
        Ok(written.pop().expect("one entry appended"))
    }

    /// Records an act that changes no data but must be on record before it happens (a reveal
    /// of personal data, a download of a raw mail, an export): if the entry cannot be written,
    /// the caller must not act.
    pub async fn audit(&self, at: Timestamp, entry: Audit) -> Result<AuditEntry, StoreError> {
        let mut tx = self.begin_write().await?;
        let written = self.audit_in(&mut tx, at, entry).await?;
        tx.commit().await?;
        Ok(written)
    }

    /// The whole log, oldest first.
    pub async fn audit_entries(&self) -> Result<Vec<AuditEntry>, StoreError> {
        let rows =
            sqlx::query("SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM audit_log ORDER BY seq")
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter()
            .map(|r| {
                Ok(AuditEntry {
                    seq: r.try_get(0)?,
                    at: from_micros(r.try_get(1)?)?,
                    actor: r.try_get(2)?,
                    action: r.try_get(3)?,
                    subject: r.try_get(4)?,
                    detail: r.try_get(5)?,
                    prev_hash: r.try_get(6)?,
                    hash: r.try_get(7)?,
                })
            })
            .collect()
    }

    /// Checks the chain; `Err(seq)` names the first entry that was altered, removed or inserted.
    pub async fn verify_audit_chain(&self) -> Result<Result<usize, i64>, StoreError> {
        let entries = self.audit_entries().await?;
        let mut prev = GENESIS.to_string();
        for (i, e) in entries.iter().enumerate() {
            let expected = entry_hash(e.seq, micros(e.at), &e.actor, &e.action, &e.subject, &e.detail, &prev);
            if e.seq != i as i64 + 1 || e.prev_hash != prev || e.hash != expected {
                return Ok(Err(e.seq));
            }
            prev = e.hash.clone();
        }
        Ok(Ok(entries.len()))
    }
}
