//! Comments: the group-commit writer, receipts, and reading comments back.

use std::sync::Arc;

use jiff::Timestamp;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Connection, Row};
use tokio::sync::{mpsc, oneshot};
use yijian_domain::comment::{Channel, NewComment};
use yijian_domain::pii::{FullText, IdNumber, PhoneNumber, mask_sensitive};
use yijian_domain::receipt::Receipt;
use yijian_domain::review::{Disposition, Moderation, ReviewStatus};

use crate::{Backend, Store, StoreError, from_micros, micros};

/// A comment as it will be written: personal data already sealed to its receipt.
pub(crate) struct SealedComment {
    pub(crate) receipt: Receipt,
    pub(crate) submitted_at: Timestamp,
    pub(crate) consultation_id: String,
    pub(crate) version: u32,
    pub(crate) channel: Channel,
    pub(crate) name: Option<String>,
    pub(crate) position: Option<String>,
    pub(crate) email: Option<String>,
    pub(crate) id_number_enc: Option<Vec<u8>>,
    pub(crate) id_number_index: Option<Vec<u8>>,
    pub(crate) phone_enc: Option<Vec<u8>>,
    /// With its ID and phone numbers masked.
    pub(crate) opinion: String,
    /// The opinion as written, sealed; only when masking changed it.
    pub(crate) opinion_enc: Option<Vec<u8>>,
    pub(crate) articles: String,
    pub(crate) sender: Option<String>,
    pub(crate) note: Option<String>,
    /// The web form's id: unique, so a form resubmitted to any node stores one comment.
    pub(crate) form_id: Option<String>,
    /// Keyed hash of the client's network (issue 13's bursts): web and API comments only.
    pub(crate) client_net_index: Option<Vec<u8>>,
    /// Keyed hash of the ID number's region and birth date (issue 13's generated runs).
    pub(crate) id_prefix_index: Option<Vec<u8>>,
}

pub(crate) struct WriteJob {
    comment: SealedComment,
    reply: oneshot::Sender<Result<(), WriteError>>,
}

enum WriteError {
    /// The receipt is taken (40 random bits: rare, but possible). The caller draws another.
    ReceiptTaken,
    /// The web form was stored before (on this node or another): its comment's receipt.
    FormTaken(Receipt, Timestamp),
    Database(String),
}

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("the comment could not be stored: {0}")]
    Storage(String),
    #[error("the store is shutting down")]
    ShuttingDown,
    /// The writer's queue is full: more comments are arriving than the database takes in.
    /// Nothing was stored; the caller should try again shortly.
    #[error("too many comments are waiting to be stored")]
    Busy,
}

/// What anyone holding a receipt may learn: nothing personal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptInfo {
    pub receipt: Receipt,
    pub consultation_id: String,
    pub submitted_at: Timestamp,
    /// `received`, or `disposed` once a published report carries its disposition.
    pub status: String,
    /// What became of the comment, with the reasoning: told only once a published adoption
    /// report carries it, and as that report had it.
    pub disposition: Option<(Disposition, String)>,
}

/// A stored comment, personal data decrypted into masking newtypes, with its review.
#[derive(Debug, Clone)]
pub struct StoredComment {
    /// The row id: orders comments by arrival and keys the search index.
    pub id: i64,
    pub receipt: Receipt,
    pub consultation_id: String,
    pub version: u32,
    pub channel: Channel,
    pub submitted_at: Timestamp,
    pub status: String,
    pub name: Option<String>,
    pub position: Option<String>,
    pub email: Option<String>,
    pub id_number: Option<IdNumber>,
    pub phone: Option<PhoneNumber>,
    /// The opinion with any ID and phone numbers in it masked: what staff read, search, export
    /// and quote.
    pub opinion: String,
    /// The opinion as written, when it held numbers that masking hid.
    pub full_opinion: Option<FullText>,
    pub articles: Vec<u32>,
    pub sender: Option<String>,
    pub note: Option<String>,
    pub disposition: Option<Disposition>,
    pub disposition_reason: Option<String>,
    pub moderation: Option<Moderation>,
    pub moderation_reason: Option<String>,
    pub tags: Vec<String>,
    pub excerpt: Option<String>,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<Timestamp>,
    /// A mail's Message-ID (without angle brackets).
    pub message_id: Option<String>,
    /// `early` or `late`: a mail that arrived outside the consultation's window.
    pub timing: Option<String>,
    /// The campaign (copies of one text) the comment is in, if any.
    pub campaign: Option<i64>,
    /// The theme (issue 14) the comment is shown under, if any: of the themes it is in (one per
    /// article it is linked to), the lowest article's.
    pub theme: Option<i64>,
}

/// The columns [`Store::comment_from_row`] reads, in its order.
pub(crate) const COMMENT_COLUMNS: &str = "id, receipt, consultation_id, version, channel, submitted_at, status, name, \
    position, email, id_number_enc, phone_enc, opinion, articles, sender, note, disposition, disposition_reason, \
    moderation, moderation_reason, tags, excerpt, reviewed_by, reviewed_at, message_id, timing, opinion_enc, \
    (SELECT m.campaign_id FROM campaign_members m WHERE m.comment_id = comments.id) AS campaign_id, \
    (SELECT tm.theme_id FROM theme_members tm WHERE tm.comment_id = comments.id \
    ORDER BY CASE WHEN tm.scope = 0 THEN 1 ELSE 0 END, tm.scope LIMIT 1) AS theme_id";

pub(crate) fn aad(column: &str, receipt: &Receipt) -> Vec<u8> {
    format!("comments.{column}:{}", receipt.compact()).into_bytes()
}

pub(crate) const ID_INDEX_PURPOSE: &str = "id_number";
/// Keyed hashes for signals, each under its own derived key (see migration 0014).
pub(crate) const ID_PREFIX_PURPOSE: &str = "id_number_prefix";
pub(crate) const CLIENT_NET_PURPOSE: &str = "client_net";

impl Store {
    pub(crate) fn seal(&self, c: &NewComment, receipt: Receipt, submitted_at: Timestamp) -> SealedComment {
        // Numbers written into the opinion, whatever the channel, are masked in the text every
        // reader gets, and the text as written is sealed beside it.
        let (opinion, opinion_enc) = match mask_sensitive(&c.opinion) {
            std::borrow::Cow::Borrowed(_) => (c.opinion.clone(), None),
            std::borrow::Cow::Owned(masked) => {
                (masked, Some(self.keys.seal(c.opinion.as_bytes(), &aad("opinion", &receipt))))
            }
        };
        SealedComment {
            receipt,
            submitted_at,
            consultation_id: c.consultation_id.clone(),
            version: c.version,
            channel: c.channel,
            name: c.name.clone(),
            position: c.position.clone(),
            email: c.email.clone(),
            id_number_enc: c
                .id_number
                .as_ref()
                .map(|id| self.keys.seal(id.expose().as_bytes(), &aad("id_number", &receipt))),
            id_number_index: c
                .id_number
                .as_ref()
                .map(|id| self.keys.blind_index(ID_INDEX_PURPOSE, id.expose()).to_vec()),
            phone_enc: c.phone.as_ref().map(|p| self.keys.seal(p.stored_form().as_bytes(), &aad("phone", &receipt))),
            opinion,
            opinion_enc,
            articles: serde_json::to_string(&c.articles).expect("numbers serialise"),
            sender: c.sender.clone(),
            note: c.note.clone(),
            form_id: None,
            client_net_index: None,
            // For runs of generated-looking ID numbers (issue 13), the least personal data
            // that works (PIPL art. 6): a keyed hash of the region and birth date, which tells
            // nothing the ID number's own keyed hash does not already let its key holder test.
            // The sequence codes are never stored apart: the signal pass unseals the ID numbers
            // of only those comments whose prefix enough others share, reads their codes in
            // memory, and keeps nothing but the signal.
            id_prefix_index: c
                .id_number
                .as_ref()
                .map(|id| self.keys.blind_index(ID_PREFIX_PURPOSE, yijian_domain::signals::id_prefix(id)).to_vec()),
        }
    }

    /// Stores a comment and returns its receipt once the commit that holds it is durable.
    pub async fn submit_comment(
        &self,
        comment: &NewComment,
        submitted_at: Timestamp,
    ) -> Result<(Receipt, Timestamp), SubmitError> {
        self.submit_comment_once(comment, None, submitted_at).await
    }

    /// [`Store::submit_comment`] for a web form with its id: if a comment from that form is
    /// already stored (the form was sent twice, perhaps to two nodes), nothing new is stored and
    /// the first comment's receipt and time are returned.
    pub async fn submit_comment_once(
        &self,
        comment: &NewComment,
        form_id: Option<&str>,
        submitted_at: Timestamp,
    ) -> Result<(Receipt, Timestamp), SubmitError> {
        self.submit_comment_from(comment, form_id, None, submitted_at).await
    }

    /// [`Store::submit_comment_once`] with the network the comment came from
    /// (`signals::client_network`), kept only as a keyed hash, and only for the retention
    /// period (see [`Store::clear_client_networks`]).
    pub async fn submit_comment_from(
        &self,
        comment: &NewComment,
        form_id: Option<&str>,
        client_network: Option<&str>,
        submitted_at: Timestamp,
    ) -> Result<(Receipt, Timestamp), SubmitError> {
        let client_net_index = client_network.map(|n| self.keys.blind_index(CLIENT_NET_PURPOSE, n).to_vec());
        loop {
            let receipt = Receipt::from_random(u64::from_le_bytes(yijian_crypto::random_bytes::<8>()));
            let (reply, answer) = oneshot::channel();
            let mut sealed = self.seal(comment, receipt, submitted_at);
            sealed.form_id = form_id.map(str::to_string);
            sealed.client_net_index = client_net_index.clone();
            let job = WriteJob { comment: sealed, reply };
            // Never wait for room: under a flood a queued comment would wait for seconds while
            // its citizen (or their browser) gives up. A prompt refusal they can retry is kinder,
            // and keeps the wait of those taken bounded by the queue's length.
            self.writer.try_send(job).map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => SubmitError::Busy,
                mpsc::error::TrySendError::Closed(_) => SubmitError::ShuttingDown,
            })?;
            match answer.await.map_err(|_| SubmitError::ShuttingDown)? {
                Ok(()) => return Ok((receipt, submitted_at)),
                Err(WriteError::FormTaken(first, at)) => return Ok((first, at)),
                Err(WriteError::ReceiptTaken) => continue,
                Err(WriteError::Database(e)) => return Err(SubmitError::Storage(e)),
            }
        }
    }

    /// Whether the writer's queue has room for another comment now: lets a caller refuse a
    /// submission before spending work on it. [`Store::submit_comment`] still decides.
    pub fn intake_has_room(&self) -> bool {
        self.writer.capacity() > 0
    }

    /// Comments waiting for the writer (not counting the batch being committed).
    pub fn intake_queue_depth(&self) -> usize {
        self.writer.max_capacity() - self.writer.capacity()
    }

    /// What a receipt look-up tells. The status and the disposition are those the last
    /// published report carried (copied when it was published), never the live values staff
    /// are still working on or edited afterwards.
    pub async fn receipt(&self, receipt: &Receipt) -> Result<Option<ReceiptInfo>, StoreError> {
        let row = sqlx::query(
            "SELECT consultation_id, submitted_at, published_disposition, published_reason \
             FROM comments WHERE receipt = $1",
        )
        .bind(receipt.compact())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            let disposition = row
                .try_get::<Option<String>, _>(2)?
                .and_then(|d| Disposition::parse(&d))
                .map(|d| Ok::<_, StoreError>((d, row.try_get::<Option<String>, _>(3)?.unwrap_or_default())))
                .transpose()?;
            let status = match disposition {
                Some(_) => ReviewStatus::Disposed,
                None => ReviewStatus::Received,
            };
            Ok(ReceiptInfo {
                receipt: *receipt,
                consultation_id: row.try_get(0)?,
                submitted_at: from_micros(row.try_get(1)?)?,
                status: status.as_str().to_string(),
                disposition,
            })
        })
        .transpose()
    }

    /// Reads a whole comment, decrypting its personal data (which stays masked when printed).
    pub async fn comment(&self, receipt: &Receipt) -> Result<Option<StoredComment>, StoreError> {
        let row =
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COMMENT_COLUMNS} FROM comments WHERE receipt = $1")))
                .bind(receipt.compact())
                .fetch_optional(&self.pool)
                .await?;
        row.map(|row| self.comment_from_row(&row)).transpose()
    }

    /// Maps a row selected with [`COMMENT_COLUMNS`], opening the sealed columns.
    pub(crate) fn comment_from_row(&self, row: &sqlx::any::AnyRow) -> Result<StoredComment, StoreError> {
        let receipt_text: String = row.try_get(1)?;
        let receipt =
            Receipt::parse(&receipt_text).ok_or_else(|| StoreError::Corrupt(format!("receipt {receipt_text}")))?;
        let open = |column: &str, envelope: Option<Vec<u8>>| -> Result<Option<String>, StoreError> {
            envelope
                .map(|e| {
                    let plain = self
                        .keys
                        .open(&e, &aad(column, &receipt))
                        .map_err(|err| StoreError::Corrupt(format!("{column} of {receipt}: {err}")))?;
                    String::from_utf8(plain.to_vec())
                        .map_err(|_| StoreError::Corrupt(format!("{column} of {receipt}: not UTF-8")))
                })
                .transpose()
        };
        let channel: String = row.try_get(4)?;
        let articles: String = row.try_get(13)?;
        let tags: String = row.try_get(20)?;
        let disposition: Option<String> = row.try_get(16)?;
        let moderation: Option<String> = row.try_get(18)?;
        Ok(StoredComment {
            id: row.try_get(0)?,
            receipt,
            consultation_id: row.try_get(2)?,
            version: row.try_get::<i64, _>(3)? as u32,
            channel: Channel::parse(&channel).ok_or_else(|| StoreError::Corrupt(format!("channel {channel}")))?,
            submitted_at: from_micros(row.try_get(5)?)?,
            status: row.try_get(6)?,
            name: row.try_get(7)?,
            position: row.try_get(8)?,
            email: row.try_get(9)?,
            id_number: open("id_number", row.try_get(10)?)?.map(IdNumber::from_normalised),
            phone: open("phone", row.try_get(11)?)?.map(|s| PhoneNumber::from_stored(&s)),
            opinion: row.try_get(12)?,
            full_opinion: open("opinion", row.try_get(26)?)?.map(FullText::new),
            articles: serde_json::from_str(&articles).map_err(|e| StoreError::Corrupt(format!("articles: {e}")))?,
            sender: row.try_get(14)?,
            note: row.try_get(15)?,
            disposition: disposition.as_deref().and_then(Disposition::parse),
            disposition_reason: row.try_get(17)?,
            moderation: moderation.as_deref().and_then(Moderation::parse),
            moderation_reason: row.try_get(19)?,
            tags: serde_json::from_str(&tags).map_err(|e| StoreError::Corrupt(format!("tags: {e}")))?,
            excerpt: row.try_get(21)?,
            reviewed_by: row.try_get(22)?,
            reviewed_at: row.try_get::<Option<i64>, _>(23)?.map(from_micros).transpose()?,
            message_id: row.try_get(24)?,
            timing: row.try_get(25)?,
            campaign: row.try_get(27)?,
            theme: row.try_get(28)?,
        })
    }

    /// Receipts of every comment by the person with this (normalised) ID number, found through
    /// the keyed hash without decrypting anything.
    pub async fn receipts_by_id_number(&self, id: &IdNumber) -> Result<Vec<Receipt>, StoreError> {
        let index = self.keys.blind_index(ID_INDEX_PURPOSE, id.expose()).to_vec();
        let rows: Vec<String> =
            sqlx::query_scalar("SELECT receipt FROM comments WHERE id_number_index = $1 ORDER BY id")
                .bind(index)
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(|r| Receipt::parse(r).ok_or_else(|| StoreError::Corrupt(format!("receipt {r}")))).collect()
    }

    pub async fn count_all_comments(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM comments").fetch_one(&self.pool).await?)
    }

    pub async fn count_comments(&self, consultation_id: &str) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM comments WHERE consultation_id = $1")
            .bind(consultation_id)
            .fetch_one(&self.pool)
            .await?)
    }
}

pub(crate) fn spawn_writer(
    pool: AnyPool,
    backend: Backend,
    gate: Option<crate::WriteGate>,
    max_batch: usize,
    max_queue: usize,
    stop: tokio::sync::watch::Receiver<bool>,
    counts: std::sync::Arc<crate::operations::WriterCounts>,
) -> mpsc::Sender<WriteJob> {
    let (tx, rx) = mpsc::channel::<WriteJob>(max_queue);
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    // SQLite has one writer whatever we do: one committer. PostgreSQL commits transactions
    // side by side and flushes their WAL together, so while one batch waits for its flush the
    // next is already being inserted on another connection: most of a commit is waiting.
    let committers = match backend {
        Backend::Sqlite => 1,
        Backend::Postgres => POSTGRES_COMMITTERS,
    };
    for _ in 0..committers {
        let (pool, rx, stop, counts, gate) = (pool.clone(), rx.clone(), stop.clone(), counts.clone(), gate.clone());
        tokio::spawn(writer_loop(pool, backend, gate, rx, max_batch, stop, counts));
    }
    tx
}

/// Group-committing tasks on PostgreSQL, each with a connection of its own (of the pool's 16).
const POSTGRES_COMMITTERS: usize = 4;

/// Takes whatever has queued up while the previous commit ran and commits it as one
/// transaction: under load, many comments share one fsync. Each committer keeps one connection
/// of its own, so its page cache and prepared statements stay warm. Committers take turns at
/// the queue; a comment is in exactly one batch.
async fn writer_loop(
    pool: AnyPool,
    backend: Backend,
    gate: Option<crate::WriteGate>,
    rx: Arc<tokio::sync::Mutex<mpsc::Receiver<WriteJob>>>,
    max_batch: usize,
    mut stop: tokio::sync::watch::Receiver<bool>,
    counts: std::sync::Arc<crate::operations::WriterCounts>,
) {
    let mut batch: Vec<WriteJob> = Vec::with_capacity(max_batch);
    let mut conn: Option<PoolConnection<Any>> = None;
    let mut stopping = false;
    loop {
        let received = {
            let mut rx = rx.lock().await;
            tokio::select! {
                n = rx.recv_many(&mut batch, max_batch) => n,
                // On close: take no new jobs, commit those already queued, then end (and so
                // return the connection the pool's close waits for).
                _ = stop.changed(), if !stopping => {
                    stopping = true;
                    rx.close();
                    continue;
                }
            }
        };
        if received == 0 {
            break;
        }
        if conn.is_none() {
            match pool.acquire().await {
                Ok(c) => conn = Some(c),
                Err(e) => {
                    tracing::error!(error = %e, "the comment writer cannot reach the database");
                    for job in batch.drain(..) {
                        let _ = job.reply.send(Err(WriteError::Database(e.to_string())));
                    }
                    continue;
                }
            }
        }
        let c = conn.as_mut().expect("connection acquired above");
        let started = std::time::Instant::now();
        let committed = match crate::audit::take_turn(gate.as_ref()).await {
            Ok(_turn) => commit_batch(c, backend, &batch).await,
            Err(e) => Err(sqlx::Error::Protocol(e.to_string())),
        };
        tracing::trace!(size = batch.len(), elapsed = ?started.elapsed(), "group commit");
        counts.batch(batch.len());
        match committed {
            Ok(results) => {
                for (job, result) in batch.drain(..).zip(results) {
                    let _ = job.reply.send(result);
                }
            }
            Err(e) => {
                // One bad row must not sink its neighbours: retry each on its own. The
                // connection may be what failed, so the retries take a fresh one.
                tracing::warn!(error = %e, size = batch.len(), "group commit failed; retrying comments one by one");
                conn = None;
                for job in batch.drain(..) {
                    let turn = crate::audit::take_turn(gate.as_ref()).await;
                    let result = match (turn, pool.acquire().await) {
                        (Err(e), _) => Err(WriteError::Database(e.to_string())),
                        (Ok(_turn), Ok(mut c)) => match commit_batch(&mut c, backend, std::slice::from_ref(&job)).await
                        {
                            Ok(mut r) => r.pop().unwrap_or(Err(WriteError::Database("empty result".into()))),
                            Err(e) => Err(WriteError::Database(e.to_string())),
                        },
                        (Ok(_), Err(e)) => Err(WriteError::Database(e.to_string())),
                    };
                    let _ = job.reply.send(result);
                }
            }
        }
    }
}

/// Chunk sizes for multi-row inserts. A few fixed shapes keep the prepared-statement cache
/// warm; 64 rows × 19 columns stays far below SQLite's 32,766 bound parameters.
const CHUNKS: [usize; 4] = [64, 16, 4, 1];
const COLUMNS: usize = 19;

/// See [`Backend::insert_parameter`] for why the parameters differ.
fn insert_sql(backend: Backend, rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO comments (receipt, consultation_id, version, channel, submitted_at, name, position, email, \
         id_number_enc, id_number_index, phone_enc, opinion, opinion_enc, articles, sender, note, form_id, \
         client_net_index, id_prefix_index) VALUES ",
    );
    sql.push_str(&backend.values(rows, COLUMNS));
    // Either unique key may conflict: the receipt (drawn again) or the web form's id (sent
    // twice): `commit_batch` tells which.
    sql.push_str(" ON CONFLICT DO NOTHING");
    sql
}

/// Commits the batch as one transaction. A chunk that inserts fewer rows than it holds met a
/// taken receipt or a web form already stored: the whole transaction is abandoned, and the writer retries each comment on
/// its own, which tells exactly which one needs a new receipt. (Savepoints would localise the
/// retry, but on SQLite every savepoint writes a sub-journal: a steep price for an event that
/// 40 random bits make vanishingly rare.)
async fn commit_batch(
    conn: &mut AnyConnection,
    backend: Backend,
    jobs: &[WriteJob],
) -> Result<Vec<Result<(), WriteError>>, sqlx::Error> {
    let mut tx = conn.begin().await?;
    let mut rest = jobs;
    while !rest.is_empty() {
        let size = CHUNKS.into_iter().find(|&n| n <= rest.len()).unwrap_or(1);
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        let inserted = insert_chunk(&mut tx, backend, chunk).await?;
        if inserted < size as u64 {
            if jobs.len() == 1 {
                if let Some(form_id) = &jobs[0].comment.form_id {
                    let first = sqlx::query("SELECT receipt, submitted_at FROM comments WHERE form_id = $1")
                        .bind(form_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                    if let Some(row) = first {
                        let compact: String = row.try_get(0)?;
                        let receipt = Receipt::parse(&compact)
                            .ok_or_else(|| sqlx::Error::Protocol(format!("stored receipt {compact}")))?;
                        let at = Timestamp::from_microsecond(row.try_get(1)?)
                            .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
                        return Ok(vec![Err(WriteError::FormTaken(receipt, at))]);
                    }
                }
                return Ok(vec![Err(WriteError::ReceiptTaken)]);
            }
            return Err(sqlx::Error::Protocol("a receipt in the batch was already taken".into()));
        }
    }
    tx.commit().await?;
    Ok(jobs.iter().map(|_| Ok(())).collect())
}

async fn insert_chunk(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: Backend,
    chunk: &[WriteJob],
) -> Result<u64, sqlx::Error> {
    let mut query = sqlx::query(sqlx::AssertSqlSafe(insert_sql(backend, chunk.len())));
    for job in chunk {
        let c = &job.comment;
        query = query
            .bind(c.receipt.compact().to_string())
            .bind(c.consultation_id.clone())
            .bind(c.version as i64)
            .bind(c.channel.as_str())
            .bind(micros(c.submitted_at))
            .bind(c.name.clone())
            .bind(c.position.clone())
            .bind(c.email.clone())
            .bind(c.id_number_enc.clone())
            .bind(c.id_number_index.clone())
            .bind(c.phone_enc.clone())
            .bind(c.opinion.clone())
            .bind(c.opinion_enc.clone())
            .bind(c.articles.clone())
            .bind(c.sender.clone())
            .bind(c.note.clone())
            .bind(c.form_id.clone())
            .bind(c.client_net_index.clone())
            .bind(c.id_prefix_index.clone());
    }
    Ok(query.execute(&mut **tx).await?.rows_affected())
}
