//! The append-only, keyed hash chain of the audit log, and the transactions that carry its
//! entries.
//!
//! Every change that is audited writes its entry in the same transaction as the change
//! ([`Store::begin_write`], [`append`]): if the entry cannot be written, nothing changes, and a
//! crash between the two leaves neither. Acts that change nothing but must be on record (a
//! reveal of personal data, a download of a raw mail) use [`Store::audit`], before they act.
//!
//! Each entry's link (`hash`) is an HMAC-SHA256, under a key derived from the master key, of
//! every field and the previous entry's link: whoever can write the database but does not hold
//! the key can neither edit an entry nor re-chain the log after removing one. The head is also
//! anchored outside the database after each commit (see [`crate::anchor`]), which catches
//! entries cut from the end.
//!
//! Databases written before the chain was keyed hold entries linked by plain SHA-256. They stay
//! as they are and still verify: the first keyed entry links to the last unkeyed one (its
//! `prev_hash` is that entry's SHA-256), so the keyed chain covers the whole old log, and where
//! the keyed chain begins is recorded once, under the key, in the `settings` row
//! [`KEYED_FROM`]. An unkeyed entry at or after that point, or a keyed chain that begins
//! anywhere else, is a forgery.

use std::path::PathBuf;
use std::sync::Arc;

use jiff::Timestamp;
use sqlx::{Any, AnyConnection, AnyPool, Row, Transaction};
use tokio::sync::OwnedMutexGuard;
use yijian_crypto::Keys;
use yijian_domain::document::sha256_hex;

use crate::anchor::{self, Anchors, Head};
use crate::{Backend, Store, StoreError, WriteGate, from_micros, micros};

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

/// How a keyed link starts, so a keyed entry and an unkeyed one can never be taken for each
/// other.
const KEYED: &str = "hmac:";

/// The `settings` row that records, under the audit key, the first keyed entry.
pub(crate) const KEYED_FROM: &str = "audit_keyed_from";

/// What each entry's link covers, unambiguously: every field, length-prefixed.
fn entry_message(tag: &str, seq: i64, at: i64, fields: [&str; 5]) -> String {
    let mut s = format!("{tag}\n{seq}\n{at}\n");
    for field in fields {
        s.push_str(&format!("{}:{field}\n", field.len()));
    }
    s
}

/// The link of an entry written before the chain was keyed: plain SHA-256.
fn unkeyed_link(seq: i64, at: i64, actor: &str, action: &str, subject: &str, detail: &str, prev: &str) -> String {
    sha256_hex(&entry_message("yijian-audit-v1", seq, at, [actor, action, subject, detail, prev]))
}

/// The link of a keyed entry: an HMAC under the audit chain's key.
fn keyed_link(keys: &Keys, e: &AuditEntry) -> String {
    let m = entry_message(
        "yijian-audit-v2",
        e.seq,
        micros(e.at),
        [&e.actor, &e.action, &e.subject, &e.detail, &e.prev_hash],
    );
    format!("{KEYED}{}", keys.audit_mac(m.as_bytes()))
}

/// Whether one entry's own link is right, given its `prev_hash` as stored: a keyed entry can be
/// trusted alone this way (the store does, for the record of a consultation's signed version).
pub(crate) fn entry_ok(keys: &Keys, e: &AuditEntry) -> bool {
    match e.hash.strip_prefix(KEYED) {
        Some(mac) => {
            let m = entry_message(
                "yijian-audit-v2",
                e.seq,
                micros(e.at),
                [&e.actor, &e.action, &e.subject, &e.detail, &e.prev_hash],
            );
            keys.audit_mac_ok(m.as_bytes(), mac)
        }
        None => false,
    }
}

fn keyed_from_message(seq: i64) -> String {
    format!("yijian-audit-keyed-from\n{seq}\n")
}

/// Where the keyed chain begins, as recorded: `Ok(None)` when no record exists, `Err` when the
/// record is not MACed under this installation's key.
async fn keyed_from(conn: &mut AnyConnection, keys: &Keys) -> Result<Result<Option<i64>, ()>, StoreError> {
    let value: Option<Vec<u8>> = sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
        .bind(KEYED_FROM)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(value) = value else { return Ok(Ok(None)) };
    let text = String::from_utf8_lossy(&value);
    let parsed = text.split_once(':').and_then(|(seq, mac)| {
        let seq: i64 = seq.parse().ok()?;
        keys.audit_mac_ok(keyed_from_message(seq).as_bytes(), mac).then_some(seq)
    });
    Ok(parsed.map(Some).ok_or(()))
}

/// At start-up, once per database: records where the keyed chain begins (after the last
/// unkeyed entry, or at 1 for a new log). When the record is missing but keyed entries exist,
/// someone removed it: nothing is recorded, and `audit verify` reports it.
pub(crate) async fn ensure_keyed_start(pool: &AnyPool, backend: Backend, keys: &Keys) -> Result<(), StoreError> {
    let mut tx = match backend.begin_write() {
        Some(begin) => pool.begin_with(begin).await?,
        None => pool.begin().await?,
    };
    if let Some(lock) = backend.transaction_lock("yijian_audit_log") {
        sqlx::query(sqlx::AssertSqlSafe(lock)).execute(&mut *tx).await?;
    }
    if !matches!(keyed_from(&mut tx, keys).await?, Ok(None)) {
        return Ok(());
    }
    let keyed: Option<i64> = sqlx::query_scalar("SELECT seq FROM audit_log WHERE hash LIKE 'hmac:%' LIMIT 1")
        .fetch_optional(&mut *tx)
        .await?;
    if keyed.is_some() {
        tracing::error!("the record of where the keyed audit chain begins is missing; run `yijian audit verify`");
        return Ok(());
    }
    let head: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM audit_log").fetch_one(&mut *tx).await?;
    let start = head + 1;
    let value = format!("{start}:{}", keys.audit_mac(keyed_from_message(start).as_bytes()));
    sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
        .bind(KEYED_FROM)
        .bind(value.into_bytes())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// A write transaction that may append audit entries. Committing it writes the new head to the
/// anchor files, after the commit.
pub(crate) struct WriteTx {
    tx: Transaction<'static, Any>,
    head: Option<Head>,
    anchors: Arc<Anchors>,
    /// This process's turn to write (SQLite), held until the transaction ends.
    turn: Option<OwnedMutexGuard<()>>,
}

/// Longest a write waits for its turn: as long as SQLite's busy_timeout, after which it fails
/// as a busy database did before there was a gate.
const TURN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Waits for this process's turn to write (see [`WriteGate`]); `None` where there is no gate.
pub(crate) async fn take_turn(gate: Option<&WriteGate>) -> Result<Option<OwnedMutexGuard<()>>, StoreError> {
    let Some(gate) = gate else { return Ok(None) };
    match tokio::time::timeout(TURN_TIMEOUT, gate.clone().lock_owned()).await {
        Ok(turn) => Ok(Some(turn)),
        Err(_) => Err(StoreError::WriterStuck(TURN_TIMEOUT)),
    }
}

impl std::ops::Deref for WriteTx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

impl WriteTx {
    /// Commits, then anchors the audit head it wrote (if any) outside the database.
    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        let WriteTx { tx, head, anchors, turn } = self;
        tx.commit().await?;
        drop(turn);
        if let Some(head) = head {
            let seq = head.seq;
            anchors.note(head);
            anchors.sync(seq).await;
        }
        Ok(())
    }

    /// Commits, leaving the anchor to the next commit that writes it: for the chunks of a bulk
    /// action, whose closing entry anchors them all with one write.
    pub(crate) async fn commit_anchor_later(self) -> Result<(), sqlx::Error> {
        let WriteTx { tx, head, anchors, turn } = self;
        tx.commit().await?;
        drop(turn);
        if let Some(head) = head {
            anchors.note(head);
        }
        Ok(())
    }

    /// Appends entries, chained onto the log's head (see [`append`]).
    pub(crate) async fn append(
        &mut self,
        keys: &Keys,
        backend: Backend,
        at: Timestamp,
        entries: &[Audit],
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let written = append(&mut self.tx, keys, backend, at, entries).await?;
        if let Some(last) = written.last() {
            let keyed_from = match keyed_from(&mut self.tx, keys).await? {
                Ok(Some(k)) => k,
                _ => 1,
            };
            self.head = Some(Head { keyed_from, seq: last.seq, hash: last.hash.clone() });
        }
        Ok(written)
    }
}

/// Rows per multi-row insert of audit entries (8 columns each).
const AUDIT_CHUNK: usize = 64;

/// Appends entries inside the caller's write transaction, chained onto the log's head.
///
/// Appends are serialised until the transaction ends: on SQLite by the write lock that
/// [`Store::begin_write`] takes at once, on PostgreSQL by a transaction-scoped advisory lock, so
/// two nodes sharing one database never both chain onto the same head.
async fn append(
    conn: &mut AnyConnection,
    keys: &Keys,
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
        let mut entry = AuditEntry {
            seq,
            at,
            actor: e.actor.clone(),
            action: e.action.clone(),
            subject: e.subject.clone(),
            detail: e.detail.clone(),
            prev_hash: prev.clone(),
            hash: String::new(),
        };
        entry.hash = keyed_link(keys, &entry);
        prev = entry.hash.clone();
        written.push(entry);
    }
    for chunk in written.chunks(AUDIT_CHUNK) {
        let sql = format!(
            "INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, hash) VALUES {}",
            backend.values(chunk.len(), 8)
        );
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
    /// On SQLite it first waits for this process's turn (see [`WriteGate`]), held until the
    /// transaction commits or is dropped.
    pub(crate) async fn begin_write(&self) -> Result<WriteTx, StoreError> {
        let turn = take_turn(self.write_gate.as_ref()).await?;
        let tx = match self.backend.begin_write() {
            Some(begin) => self.pool.begin_with(begin).await?,
            None => self.pool.begin().await?,
        };
        Ok(WriteTx { tx, head: None, anchors: self.anchors.clone(), turn })
    }

    /// Appends entries inside a write transaction (see [`append`]).
    pub(crate) async fn audit_in(
        &self,
        tx: &mut WriteTx,
        at: Timestamp,
        entry: Audit,
    ) -> Result<AuditEntry, StoreError> {
        let mut written = tx.append(&self.keys, self.backend, at, std::slice::from_ref(&entry)).await?;
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
        rows.into_iter().map(|r| entry_of(&r)).collect()
    }

    /// Checks the chain; `Err(seq)` names the first entry that was altered, removed, inserted or
    /// re-chained (0 when the record of where the keyed chain begins is missing or forged, or
    /// entries were cut from before it).
    pub async fn verify_audit_chain(&self) -> Result<Result<usize, i64>, StoreError> {
        Ok(self.check_chain().await?.map(|(n, _)| n).map_err(|(seq, _)| seq))
    }

    /// The chain check, with the reason for a failure and the last entry when it passes.
    async fn check_chain(&self) -> Result<Result<(usize, Option<AuditEntry>), (i64, String)>, StoreError> {
        let entries = self.audit_entries().await?;
        let mut conn = self.pool.acquire().await?;
        let start = match keyed_from(&mut conn, &self.keys).await? {
            Ok(Some(k)) => k,
            Ok(None) => {
                return Ok(Err((0, "the record of where the keyed chain begins was removed".into())));
            }
            Err(()) => return Ok(Err((0, "the record of where the keyed chain begins was forged".into()))),
        };
        let mut prev = GENESIS.to_string();
        for (i, e) in entries.iter().enumerate() {
            if e.seq != i as i64 + 1 {
                return Ok(Err((i as i64 + 1, format!("entry {} is missing (the next is {})", i + 1, e.seq))));
            }
            let link_ok = if e.seq < start {
                e.hash == unkeyed_link(e.seq, micros(e.at), &e.actor, &e.action, &e.subject, &e.detail, &prev)
            } else {
                e.hash.starts_with(KEYED) && entry_ok(&self.keys, e)
            };
            if e.prev_hash != prev || !link_ok {
                let why = if e.prev_hash != prev {
                    "does not link to the entry before it (an entry was removed, inserted or altered)"
                } else if e.seq >= start && !e.hash.starts_with(KEYED) {
                    "is not keyed although the keyed chain began before it (re-chained)"
                } else {
                    "does not match its link (altered, or re-chained without the key)"
                };
                return Ok(Err((e.seq, format!("entry {} {why}", e.seq))));
            }
            prev = e.hash.clone();
        }
        // The keyed chain began after the entries that were in the log at the upgrade: fewer than
        // that means entries were cut.
        if (entries.len() as i64) < start - 1 {
            return Ok(Err((
                entries.len() as i64 + 1,
                format!("the log ends at entry {} but held {} before the chain was keyed", entries.len(), start - 1),
            )));
        }
        let n = entries.len();
        Ok(Ok((n, entries.into_iter().last())))
    }

    /// Checks the chain and, against it, every anchor this node keeps outside the database.
    pub async fn verify_audit(&self) -> Result<AuditVerdict, StoreError> {
        // What this process still owes the anchor is written first, so it is checked too.
        self.anchors.flush().await;
        let mut verdict = AuditVerdict::default();
        let head = match self.check_chain().await? {
            Ok((n, head)) => {
                verdict.entries = n;
                head
            }
            Err((seq, why)) => {
                verdict.first_bad = (seq > 0).then_some(seq);
                verdict.problems.push(why);
                None
            }
        };
        let mut conn = self.pool.acquire().await?;
        let start = keyed_from(&mut conn, &self.keys).await?.ok().flatten();
        for path in self.anchors.paths() {
            let anchored = match anchor::read(&self.keys, path) {
                Ok(Some(a)) => a,
                Ok(None) => {
                    verdict.missing_anchors.push(path.clone());
                    continue;
                }
                Err(e) => {
                    verdict.problems.push(e.to_string());
                    continue;
                }
            };
            verdict.anchors.push(path.clone());
            let row = sqlx::query(
                "SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM audit_log WHERE seq = $1",
            )
            .bind(anchored.seq)
            .fetch_optional(&mut *conn)
            .await?;
            let last = head.as_ref().map(|h| h.seq).unwrap_or(0);
            match row.map(|r| entry_of(&r)).transpose()? {
                None => verdict.problems.push(format!(
                    "entries were cut from the end: the log ends at entry {last}, but {} records entry {} as written",
                    path.display(),
                    anchored.seq
                )),
                Some(e) if e.hash != anchored.hash => verdict.problems.push(format!(
                    "entry {} is not the one {} records (the log was rewritten)",
                    anchored.seq,
                    path.display()
                )),
                Some(_) => {}
            }
            if let Some(start) = start
                && start != anchored.keyed_from
            {
                verdict.problems.push(format!(
                    "the keyed chain begins at entry {start}, but {} records entry {}",
                    path.display(),
                    anchored.keyed_from
                ));
            }
        }
        Ok(verdict)
    }
}

fn entry_of(r: &sqlx::any::AnyRow) -> Result<AuditEntry, StoreError> {
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
}

/// What `audit verify` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditVerdict {
    /// Entries in the log.
    pub entries: usize,
    /// Every way the log fails its checks; none when it is intact.
    pub problems: Vec<String>,
    /// The first entry of the chain that fails, if one does.
    pub first_bad: Option<i64>,
    /// The anchors it was checked against.
    pub anchors: Vec<PathBuf>,
    /// Anchor files this node should keep but does not have (it never wrote an audit entry, or
    /// the file was removed): the log cannot be checked against them.
    pub missing_anchors: Vec<PathBuf>,
}
