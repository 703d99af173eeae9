//! "Not written by me" requests and staff's decisions on the comments they name (issue 13).
//!
//! A request is personal data through and through: its ID number, phone and email are sealed,
//! bound to the request's reference; the ID number is also kept as its keyed hash, which is how
//! the comments made with it are found, without decrypting anything. Each step is audited in
//! its transaction: the request received, each decision.

use std::collections::HashSet;

use jiff::Timestamp;
use sqlx::Row;
use yijian_domain::dispute::{DisputeDecision, DisputeRequest, DisputeState};
use yijian_domain::pii::{IdNumber, PhoneNumber};
use yijian_domain::receipt::Receipt;
use yijian_domain::signals::Signal;

use crate::audit::Audit;
use crate::comments::ID_INDEX_PURPOSE;
use crate::{Store, StoreError, from_micros, micros};

/// A request as staff see it: personal data in the masking newtypes (the email masked by
/// [`mask_email`] unless revealed).
#[derive(Debug, Clone)]
pub struct DisputeRecord {
    pub id: i64,
    pub reference: String,
    pub consultation_id: String,
    pub received_at: Timestamp,
    pub id_number: IdNumber,
    pub phone: Option<PhoneNumber>,
    pub email: Option<String>,
    /// The comments it named, with where each stands.
    pub comments: Vec<(Receipt, DisputeState)>,
}

/// An email address with its local part hidden but for its first character.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

fn aad(column: &str, reference: &str) -> Vec<u8> {
    format!("disputes.{column}:{reference}").into_bytes()
}

fn state_of(decision: Option<String>) -> DisputeState {
    match decision.as_deref().and_then(DisputeDecision::parse) {
        Some(d) => DisputeState::Decided(d),
        None => DisputeState::Pending,
    }
}

/// Who the audit log names for a request from the public.
pub const PUBLIC_ACTOR: &str = "public";

impl Store {
    /// Records a request about the comments of `consultation_id` made with its ID number, and
    /// marks each one disputed (a `disputed` signal, and pending in `comment_disputes`, unless
    /// staff already decided it). The same statements run whether or not any comment is found,
    /// so the request takes about the same time either way. Returns how many it named, which
    /// only staff may be told.
    pub async fn record_dispute(
        &self,
        consultation_id: &str,
        reference: &str,
        req: &DisputeRequest,
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        let index = self.keys.blind_index(ID_INDEX_PURPOSE, req.id_number.expose()).to_vec();
        let id_enc = self.keys.seal(req.id_number.expose().as_bytes(), &aad("id_number", reference));
        let phone_enc =
            req.phone.as_ref().map(|p| self.keys.seal(p.stored_form().as_bytes(), &aad("phone", reference)));
        let email_enc = req.email.as_ref().map(|e| self.keys.seal(e.as_bytes(), &aad("email", reference)));
        let mut tx = self.begin_write().await?;
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM comments WHERE id_number_index = $1 AND consultation_id = $2 ORDER BY id",
        )
        .bind(index.clone())
        .bind(consultation_id)
        .fetch_all(&mut *tx)
        .await?;
        let dispute: i64 = sqlx::query_scalar(
            "INSERT INTO disputes (reference, consultation_id, received_at, id_number_enc, id_number_index, phone_enc, \
             email_enc, comments) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(reference)
        .bind(consultation_id)
        .bind(micros(now))
        .bind(id_enc)
        .bind(index)
        .bind(phone_enc)
        .bind(email_enc)
        .bind(ids.len() as i64)
        .fetch_one(&mut *tx)
        .await?;
        for id in &ids {
            sqlx::query("INSERT INTO dispute_comments (dispute_id, comment_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(dispute)
                .bind(*id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO comment_disputes (comment_id, consultation_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(*id)
            .bind(consultation_id)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO comment_signals (consultation_id, signal, comment_id) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(consultation_id)
            .bind(Signal::Disputed.as_str())
            .bind(*id)
            .execute(&mut *tx)
            .await?;
        }
        let detail = format!("consultation={consultation_id}; comments={}", ids.len());
        self.audit_in(&mut tx, now, Audit::new(PUBLIC_ACTOR, "dispute.received", reference, detail)).await?;
        tx.commit().await?;
        Ok(ids.len())
    }

    /// The requests about a consultation's comments, newest first.
    pub async fn disputes(&self, consultation_id: &str) -> Result<Vec<DisputeRecord>, StoreError> {
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM disputes WHERE consultation_id = $1 ORDER BY id DESC")
            .bind(consultation_id)
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(d) = self.dispute(id).await? {
                out.push(d);
            }
        }
        Ok(out)
    }

    /// One request, its personal data opened (still masked when printed).
    pub async fn dispute(&self, id: i64) -> Result<Option<DisputeRecord>, StoreError> {
        let Some(row) = sqlx::query(
            "SELECT id, reference, consultation_id, received_at, id_number_enc, phone_enc, email_enc FROM disputes \
             WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let reference: String = row.try_get(1)?;
        let open = |column: &str, envelope: Option<Vec<u8>>| -> Result<Option<String>, StoreError> {
            envelope
                .map(|e| {
                    let plain = self
                        .keys
                        .open(&e, &aad(column, &reference))
                        .map_err(|err| StoreError::Corrupt(format!("{column} of dispute {reference}: {err}")))?;
                    String::from_utf8(plain.to_vec())
                        .map_err(|_| StoreError::Corrupt(format!("{column} of dispute {reference}: not UTF-8")))
                })
                .transpose()
        };
        let id_number = open("id_number", row.try_get(4)?)?
            .map(IdNumber::from_normalised)
            .ok_or_else(|| StoreError::Corrupt(format!("dispute {reference} without an ID number")))?;
        let phone = open("phone", row.try_get(5)?)?.map(|s| PhoneNumber::from_stored(&s));
        let email = open("email", row.try_get(6)?)?;
        let comments: Vec<(String, Option<String>)> = sqlx::query_as(
            "SELECT c.receipt, d.decision FROM dispute_comments x JOIN comments c ON c.id = x.comment_id \
             LEFT JOIN comment_disputes d ON d.comment_id = x.comment_id WHERE x.dispute_id = $1 ORDER BY c.id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let comments = comments
            .into_iter()
            .map(|(r, d)| {
                Receipt::parse(&r).map(|r| (r, state_of(d))).ok_or_else(|| StoreError::Corrupt(format!("receipt {r}")))
            })
            .collect::<Result<_, _>>()?;
        Ok(Some(DisputeRecord {
            id: row.try_get(0)?,
            consultation_id: row.try_get(2)?,
            received_at: from_micros(row.try_get(3)?)?,
            reference,
            id_number,
            phone,
            email,
            comments,
        }))
    }

    /// Where a comment stands with disputes.
    pub async fn dispute_state(&self, comment_id: i64) -> Result<DisputeState, StoreError> {
        let row: Option<Option<String>> =
            sqlx::query_scalar("SELECT decision FROM comment_disputes WHERE comment_id = $1")
                .bind(comment_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map_or(DisputeState::None, state_of))
    }

    /// Records staff's decision on a disputed comment of the consultation, audited with it.
    /// `false` when the comment is not disputed (or not of this consultation).
    pub async fn decide_dispute(
        &self,
        actor: &str,
        consultation_id: &str,
        receipt: &Receipt,
        decision: DisputeDecision,
        reason: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let was: Option<(i64, Option<String>)> = sqlx::query_as(
            "SELECT d.comment_id, d.decision FROM comment_disputes d JOIN comments c ON c.id = d.comment_id \
             WHERE c.receipt = $1 AND d.consultation_id = $2",
        )
        .bind(receipt.compact())
        .bind(consultation_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((comment_id, was)) = was else { return Ok(false) };
        sqlx::query(
            "UPDATE comment_disputes SET decision = $1, reason = $2, decided_by = $3, decided_at = $4 \
             WHERE comment_id = $5",
        )
        .bind(decision.as_str())
        .bind(reason.trim())
        .bind(actor)
        .bind(micros(now))
        .bind(comment_id)
        .execute(&mut *tx)
        .await?;
        let detail = serde_json::json!({ "from": was, "to": decision.as_str(), "reason": reason.trim() }).to_string();
        self.audit_in(&mut tx, now, Audit::new(actor, "dispute.decide", &receipt.to_string(), detail)).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The comments of a consultation the report leaves out because of a dispute: those still
    /// waiting for staff, and those whose dispute was upheld (`DisputeState::counts_in_report`).
    pub async fn not_counted_for_disputes(&self, consultation_id: &str) -> Result<HashSet<i64>, StoreError> {
        let rows: Vec<(i64, Option<String>)> =
            sqlx::query_as("SELECT comment_id, decision FROM comment_disputes WHERE consultation_id = $1")
                .bind(consultation_id)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().filter(|(_, d)| !state_of(d.clone()).counts_in_report()).map(|(id, _)| id).collect())
    }
}
