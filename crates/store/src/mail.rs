//! Mail as it reaches yijian: every message is kept (sealed), whatever becomes of it.
//!
//! A batch of mails is stored in one transaction: the mail row (unique on its message key, so a
//! mail imported twice adds nothing), its attachments, and, for a routed mail, its comment. A
//! comment that came by mail is therefore never without its source, and a mail is never marked
//! taken without its comment.

use jiff::Timestamp;
use sqlx::{Acquire, Row};
use yijian_domain::comment::NewComment;
use yijian_domain::pii::FullText;
use yijian_domain::receipt::Receipt;

use crate::audit::Audit;
use crate::comments::SealedComment;
use crate::{Store, StoreError, from_micros, micros};

/// Whether a mail arrived before the consultation opened or after it closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    Early,
    Late,
}

impl Timing {
    pub fn as_str(self) -> &'static str {
        match self {
            Timing::Early => "early",
            Timing::Late => "late",
        }
    }
    pub fn parse(s: &str) -> Option<Timing> {
        match s {
            "early" => Some(Timing::Early),
            "late" => Some(Timing::Late),
            _ => None,
        }
    }
    /// 早于开始 / 晚于截止, as staff read it.
    pub fn label(self) -> &'static str {
        match self {
            Timing::Early => "开始前收到",
            Timing::Late => "截止后收到",
        }
    }
}

/// An attachment to store with its mail.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub filename: String,
    pub content_type: String,
    pub size: u64,
    /// `None` when the attachment was left out (over a limit); `omitted` says why.
    pub content: Option<Vec<u8>>,
    pub omitted: Option<String>,
    pub has_text: bool,
    pub note: Option<String>,
}

/// What a mail becomes.
// Most mail becomes a comment, so the large variant is the common one: boxing it would add an
// allocation to nearly every mail to save space on the rare others.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum MailOutcome {
    /// A comment on the consultation its subject names. `comment.channel` is `Email`; its
    /// `submitted_at` is the mail's received time.
    Comment { comment: NewComment, timing: Option<Timing> },
    /// No subject matched (or two matched equally, which `note` says): it waits in the
    /// unrouted tray.
    Unrouted { note: Option<String> },
    /// It cannot become a comment; the reason is kept with the raw bytes.
    Rejected { reason: String },
}

/// A mail to store.
#[derive(Debug, Clone)]
pub struct NewMail {
    /// The Message-ID, or `sha256:…` of the raw bytes when the mail has none.
    pub message_key: String,
    pub message_id: Option<String>,
    /// Where it came from: `imap:MAILBOX` or the file's name.
    pub source: String,
    pub received_at: Timestamp,
    pub subject: String,
    pub from_name: Option<String>,
    pub from_address: Option<String>,
    pub raw: Vec<u8>,
    /// The whole readable text, before quotes and signatures were trimmed.
    pub full_text: Option<String>,
    pub attachments: Vec<NewAttachment>,
    pub outcome: MailOutcome,
}

/// What storing a mail did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailStored {
    Comment {
        mail_id: i64,
        comment_id: i64,
        receipt: Receipt,
    },
    Unrouted {
        mail_id: i64,
    },
    Rejected {
        mail_id: i64,
    },
    /// A mail with this message key was already stored; nothing was added.
    Duplicate,
}

/// One mail in a tray (no raw bytes, no text).
#[derive(Debug, Clone)]
pub struct MailSummary {
    pub id: i64,
    pub message_id: Option<String>,
    pub state: String,
    pub reason: Option<String>,
    pub source: String,
    pub received_at: Timestamp,
    pub imported_at: Timestamp,
    pub subject: String,
    pub from_name: Option<String>,
    pub from_address: Option<String>,
    pub raw_size: i64,
    pub consultation_id: Option<String>,
    pub comment_id: Option<i64>,
    pub reply_state: Option<String>,
    pub assigned_by: Option<String>,
}

/// An attachment's description (its bytes are read separately, and audited).
#[derive(Debug, Clone)]
pub struct AttachmentInfo {
    pub id: i64,
    pub mail_id: i64,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub stored: bool,
    pub omitted: Option<String>,
    pub has_text: bool,
    pub note: Option<String>,
}

/// Where an IMAP fetch left off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredCursor {
    pub uid_validity: u32,
    pub last_uid: u32,
}

fn raw_aad(message_key: &str) -> Vec<u8> {
    format!("mails.raw:{message_key}").into_bytes()
}

pub(crate) fn full_text_aad(message_key: &str) -> Vec<u8> {
    format!("mails.full_text:{message_key}").into_bytes()
}

fn attachment_aad(message_key: &str, position: i64) -> Vec<u8> {
    format!("mail_attachments.content:{message_key}:{position}").into_bytes()
}

const SUMMARY_COLUMNS: &str = "id, message_id, state, reason, source, received_at, imported_at, subject, from_name, \
     from_address, raw_size, consultation_id, comment_id, reply_state, assigned_by";

fn summary_from_row(row: &sqlx::any::AnyRow) -> Result<MailSummary, StoreError> {
    Ok(MailSummary {
        id: row.try_get(0)?,
        message_id: row.try_get(1)?,
        state: row.try_get(2)?,
        reason: row.try_get(3)?,
        source: row.try_get(4)?,
        received_at: from_micros(row.try_get(5)?)?,
        imported_at: from_micros(row.try_get(6)?)?,
        subject: row.try_get(7)?,
        from_name: row.try_get(8)?,
        from_address: row.try_get(9)?,
        raw_size: row.try_get(10)?,
        consultation_id: row.try_get(11)?,
        comment_id: row.try_get(12)?,
        reply_state: row.try_get(13)?,
        assigned_by: row.try_get(14)?,
    })
}

/// Inserts a comment inside the caller's transaction, drawing a new receipt on the (rare)
/// clash. The group-commit writer is for the web's many small writes; mail arrives in batches
/// that must commit together with their mail rows.
async fn insert_comment(
    store: &Store,
    conn: &mut sqlx::AnyConnection,
    comment: &NewComment,
    received_at: Timestamp,
    message_id: Option<&str>,
    timing: Option<Timing>,
) -> Result<(i64, Receipt), StoreError> {
    loop {
        let receipt = Receipt::from_random(u64::from_le_bytes(yijian_crypto::random_bytes::<8>()));
        let c: SealedComment = store.seal(comment, receipt, received_at);
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO comments (receipt, consultation_id, version, channel, submitted_at, name, position, email, \
             id_number_enc, id_number_index, phone_enc, opinion, opinion_enc, articles, sender, note, message_id, \
             timing, id_prefix_index) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
             $17, $18, $19) \
             ON CONFLICT (receipt) DO NOTHING RETURNING id",
        )
        .bind(c.receipt.compact().to_string())
        .bind(c.consultation_id)
        .bind(c.version as i64)
        .bind(c.channel.as_str())
        .bind(micros(c.submitted_at))
        .bind(c.name)
        .bind(c.position)
        .bind(c.email)
        .bind(c.id_number_enc)
        .bind(c.id_number_index)
        .bind(c.phone_enc)
        .bind(c.opinion)
        .bind(c.opinion_enc)
        .bind(c.articles)
        .bind(c.sender)
        .bind(c.note)
        .bind(message_id.map(str::to_string))
        .bind(timing.map(|t| t.as_str()))
        .bind(c.id_prefix_index)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(id) = id {
            return Ok((id, receipt));
        }
    }
}

/// A consultation as the mail intake needs it.
#[derive(Debug, Clone)]
pub struct MailTarget {
    pub id: String,
    pub version: u32,
    pub meta: yijian_domain::consultation::ConsultationMeta,
}

impl Store {
    /// Every consultation a mail may be routed to: all but the archived ones. (A closed one
    /// still takes mail, flagged late for staff to decide.)
    pub async fn mail_targets(&self) -> Result<Vec<MailTarget>, StoreError> {
        let rows: Vec<(String, i64, String)> = sqlx::query_as(
            "SELECT id, current_version, meta_json FROM consultations WHERE archived_at IS NULL ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(id, version, meta)| {
                let meta =
                    serde_json::from_str(&meta).map_err(|e| StoreError::Corrupt(format!("meta of {id}: {e}")))?;
                Ok(MailTarget { id, version: version as u32, meta })
            })
            .collect()
    }

    /// Stores a batch of mails in one transaction and says what became of each.
    pub async fn store_mails(&self, mails: &[NewMail], now: Timestamp) -> Result<Vec<MailStored>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        let mut results = Vec::with_capacity(mails.len());

        for mail in mails {
            let (state, reason, consultation) = match &mail.outcome {
                MailOutcome::Comment { comment, .. } => ("comment", None, Some(comment.consultation_id.clone())),
                MailOutcome::Unrouted { note } => ("unrouted", note.clone(), None),
                MailOutcome::Rejected { reason } => ("rejected", Some(reason.clone()), None),
            };
            let mail_id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO mails (message_key, message_id, state, reason, source, received_at, imported_at, subject, \
                 from_name, from_address, raw_enc, raw_size, full_text_enc, consultation_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
                 ON CONFLICT (message_key) DO NOTHING RETURNING id",
            )
            .bind(mail.message_key.clone())
            .bind(mail.message_id.clone())
            .bind(state)
            .bind(reason)
            .bind(mail.source.clone())
            .bind(micros(mail.received_at))
            .bind(micros(now))
            .bind(mail.subject.clone())
            .bind(mail.from_name.clone())
            .bind(mail.from_address.clone())
            .bind(self.keys.seal(&mail.raw, &raw_aad(&mail.message_key)))
            .bind(mail.raw.len() as i64)
            .bind(mail.full_text.as_ref().map(|t| self.keys.seal(t.as_bytes(), &full_text_aad(&mail.message_key))))
            .bind(consultation)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(mail_id) = mail_id else {
                results.push(MailStored::Duplicate);
                continue;
            };
            for (position, a) in mail.attachments.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO mail_attachments (mail_id, position, filename, content_type, size, content_enc, \
                     omitted, has_text, note) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(mail_id)
                .bind(position as i64)
                .bind(a.filename.clone())
                .bind(a.content_type.clone())
                .bind(a.size as i64)
                .bind(
                    a.content.as_ref().map(|c| self.keys.seal(c, &attachment_aad(&mail.message_key, position as i64))),
                )
                .bind(a.omitted.clone())
                .bind(a.has_text as i64)
                .bind(a.note.clone())
                .execute(&mut *tx)
                .await?;
            }
            results.push(match &mail.outcome {
                MailOutcome::Comment { comment, timing } => {
                    let (comment_id, receipt) =
                        insert_comment(self, &mut tx, comment, mail.received_at, mail.message_id.as_deref(), *timing)
                            .await?;
                    sqlx::query("UPDATE mails SET comment_id = $1 WHERE id = $2")
                        .bind(comment_id)
                        .bind(mail_id)
                        .execute(&mut *tx)
                        .await?;
                    MailStored::Comment { mail_id, comment_id, receipt }
                }
                MailOutcome::Unrouted { .. } => MailStored::Unrouted { mail_id },
                MailOutcome::Rejected { .. } => MailStored::Rejected { mail_id },
            });
        }
        tx.commit().await?;
        Ok(results)
    }

    /// Staff assign an unrouted mail to a consultation: it becomes a comment and gets its
    /// receipt now. Refused (`Ok(None)`) when the mail is not (or no longer) unrouted.
    #[allow(clippy::too_many_arguments)] // the mail's particulars, who assigns it, and when
    pub async fn assign_mail(
        &self,
        mail_id: i64,
        comment: &NewComment,
        received_at: Timestamp,
        message_id: Option<&str>,
        timing: Option<Timing>,
        by: &str,
        now: Timestamp,
    ) -> Result<Option<(i64, Receipt)>, StoreError> {
        let mut tx = self.begin_write().await?;
        // Claim the mail first, so two staff assigning it at once make one comment.
        let claimed = sqlx::query(
            "UPDATE mails SET state = 'comment', consultation_id = $1, assigned_by = $2, assigned_at = $3 \
             WHERE id = $4 AND state = 'unrouted'",
        )
        .bind(comment.consultation_id.clone())
        .bind(by)
        .bind(micros(now))
        .bind(mail_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed == 0 {
            return Ok(None);
        }
        let (comment_id, receipt) = insert_comment(self, &mut tx, comment, received_at, message_id, timing).await?;
        sqlx::query("UPDATE mails SET comment_id = $1 WHERE id = $2")
            .bind(comment_id)
            .bind(mail_id)
            .execute(&mut *tx)
            .await?;
        let detail = format!("consultation={} receipt={receipt}", comment.consultation_id);
        self.audit_in(&mut tx, now, Audit::new(by, "mail.assigned", &format!("mail:{mail_id}"), detail)).await?;
        tx.commit().await?;
        Ok(Some((comment_id, receipt)))
    }

    /// The mails in a tray (`unrouted`, `rejected` or `comment`), newest first.
    pub async fn mail_tray(
        &self,
        state: &str,
        limit: i64,
        before: Option<i64>,
    ) -> Result<Vec<MailSummary>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SUMMARY_COLUMNS} FROM mails WHERE state = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
        )))
        .bind(state)
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(summary_from_row).collect()
    }

    /// How many mails each tray holds.
    pub async fn mail_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query("SELECT state, COUNT(*) FROM mails GROUP BY state ORDER BY state")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }

    pub async fn mail_summary(&self, mail_id: i64) -> Result<Option<MailSummary>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {SUMMARY_COLUMNS} FROM mails WHERE id = $1")))
            .bind(mail_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(summary_from_row).transpose()
    }

    /// The mail a comment came from.
    pub async fn mail_of_comment(&self, comment_id: i64) -> Result<Option<MailSummary>, StoreError> {
        let row =
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {SUMMARY_COLUMNS} FROM mails WHERE comment_id = $1")))
                .bind(comment_id)
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(summary_from_row).transpose()
    }

    /// The raw bytes of a mail, decrypted. Callers audit the access.
    pub async fn mail_raw(&self, mail_id: i64) -> Result<Option<Vec<u8>>, StoreError> {
        let row = sqlx::query("SELECT message_key, raw_enc FROM mails WHERE id = $1")
            .bind(mail_id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let key: String = row.try_get(0)?;
        let envelope: Vec<u8> = row.try_get(1)?;
        let plain = self
            .keys
            .open(&envelope, &raw_aad(&key))
            .map_err(|e| StoreError::Corrupt(format!("raw message of mail {mail_id}: {e}")))?;
        Ok(Some(plain.to_vec()))
    }

    /// The whole text of a mail before trimming, if it was readable, as written: numbers in
    /// it unmasked (it prints masked). Opened from its envelope; a mail stored before the text
    /// was sealed, and not yet sealed by [`Store::mask_stored_personal_data`], has it in clear.
    pub async fn mail_full_text(&self, mail_id: i64) -> Result<Option<FullText>, StoreError> {
        let row = sqlx::query("SELECT message_key, full_text_enc, full_text FROM mails WHERE id = $1")
            .bind(mail_id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let key: String = row.try_get(0)?;
        let text = match row.try_get::<Option<Vec<u8>>, _>(1)? {
            Some(envelope) => {
                let plain = self
                    .keys
                    .open(&envelope, &full_text_aad(&key))
                    .map_err(|e| StoreError::Corrupt(format!("text of mail {mail_id}: {e}")))?;
                Some(
                    String::from_utf8(plain.to_vec())
                        .map_err(|_| StoreError::Corrupt(format!("text of mail {mail_id}: not UTF-8")))?,
                )
            }
            None => row.try_get::<Option<String>, _>(2)?,
        };
        Ok(text.map(FullText::new))
    }

    pub async fn mail_attachments(&self, mail_id: i64) -> Result<Vec<AttachmentInfo>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, mail_id, filename, content_type, size, content_enc IS NOT NULL, omitted, has_text, note \
             FROM mail_attachments WHERE mail_id = $1 ORDER BY position",
        )
        .bind(mail_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AttachmentInfo {
                    id: r.try_get(0)?,
                    mail_id: r.try_get(1)?,
                    filename: r.try_get(2)?,
                    content_type: r.try_get(3)?,
                    size: r.try_get(4)?,
                    stored: bool_of(r, 5)?,
                    omitted: r.try_get(6)?,
                    has_text: bool_of(r, 7)?,
                    note: r.try_get(8)?,
                })
            })
            .collect()
    }

    /// An attachment's bytes, decrypted. Callers audit the access.
    pub async fn attachment_content(
        &self,
        attachment_id: i64,
    ) -> Result<Option<(AttachmentInfo, Vec<u8>)>, StoreError> {
        let row = sqlx::query(
            "SELECT a.mail_id, a.position, m.message_key, a.content_enc FROM mail_attachments a \
             JOIN mails m ON m.id = a.mail_id WHERE a.id = $1",
        )
        .bind(attachment_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let mail_id: i64 = row.try_get(0)?;
        let position: i64 = row.try_get(1)?;
        let key: String = row.try_get(2)?;
        let Some(envelope) = row.try_get::<Option<Vec<u8>>, _>(3)? else { return Ok(None) };
        let plain = self
            .keys
            .open(&envelope, &attachment_aad(&key, position))
            .map_err(|e| StoreError::Corrupt(format!("attachment {attachment_id}: {e}")))?;
        let info = self.mail_attachments(mail_id).await?.into_iter().find(|a| a.id == attachment_id);
        Ok(info.map(|i| (i, plain.to_vec())))
    }

    pub async fn receipt_of_comment(&self, comment_id: i64) -> Result<Option<Receipt>, StoreError> {
        let r: Option<String> = sqlx::query_scalar("SELECT receipt FROM comments WHERE id = $1")
            .bind(comment_id)
            .fetch_optional(&self.pool)
            .await?;
        r.map(|r| Receipt::parse(&r).ok_or_else(|| StoreError::Corrupt(format!("receipt {r}")))).transpose()
    }

    pub async fn set_reply_state(&self, mail_id: i64, state: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE mails SET reply_state = $1 WHERE id = $2")
            .bind(state)
            .bind(mail_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn imap_cursor(&self, mailbox: &str) -> Result<Option<StoredCursor>, StoreError> {
        let row = sqlx::query("SELECT uid_validity, last_uid FROM imap_cursors WHERE mailbox = $1")
            .bind(mailbox)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(StoredCursor { uid_validity: r.try_get::<i64, _>(0)? as u32, last_uid: r.try_get::<i64, _>(1)? as u32 })
        })
        .transpose()
    }

    /// Records where the fetch left off; only ever after the mails up to it are stored.
    pub async fn set_imap_cursor(&self, mailbox: &str, cursor: StoredCursor, now: Timestamp) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO imap_cursors (mailbox, uid_validity, last_uid, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (mailbox) DO UPDATE SET uid_validity = excluded.uid_validity, last_uid = excluded.last_uid, \
             updated_at = excluded.updated_at",
        )
        .bind(mailbox)
        .bind(cursor.uid_validity as i64)
        .bind(cursor.last_uid as i64)
        .bind(micros(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Takes one automatic mail to `address` from its allowance: `true` (and recorded) when
    /// fewer than `max` were sent to it in the last `window`.
    pub async fn take_reply_allowance(
        &self,
        address: &str,
        kind: &str,
        max: u32,
        window: jiff::SignedDuration,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let index = self.keys.blind_index("mail_reply_address", &address.trim().to_lowercase()).to_vec();

        let since = now.checked_sub(window).unwrap_or(now);
        // Count-then-insert must not interleave: SQLite's deferred transactions would fail the
        // second of two at once, PostgreSQL's would both see room. One process takes them in
        // turn here; PostgreSQL's advisory lock below covers several servers.
        let _turn = REPLY_ALLOWANCE.lock().await;
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        if let Some(lock) = self.backend.transaction_lock("mail_replies") {
            // Two servers replying at once must not both see room for one more.
            sqlx::query(sqlx::AssertSqlSafe(lock)).execute(&mut *tx).await?;
        }
        // The row goes in first: on SQLite that takes the write lock at once (a read first
        // would fail to upgrade if the comment writer committed meanwhile), and the count then
        // includes it.
        sqlx::query("INSERT INTO mail_replies (address_index, sent_at, kind) VALUES ($1, $2, $3)")
            .bind(index.clone())
            .bind(micros(now))
            .bind(kind)
            .execute(&mut *tx)
            .await?;
        let sent: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM mail_replies WHERE address_index = $1 AND sent_at >= $2")
                .bind(index)
                .bind(micros(since))
                .fetch_one(&mut *tx)
                .await?;
        if sent > max as i64 {
            tx.rollback().await?;
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }
}

static REPLY_ALLOWANCE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn bool_of(row: &sqlx::any::AnyRow, i: usize) -> Result<bool, StoreError> {
    // SQLite answers a boolean expression as an integer, PostgreSQL as a boolean.
    Ok(match row.try_get::<bool, _>(i) {
        Ok(b) => b,
        Err(_) => row.try_get::<i64, _>(i)? != 0,
    })
}
