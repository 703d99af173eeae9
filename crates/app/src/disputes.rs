//! "Not written by me" (issue 13): a person whose ID number was used for comments they did not
//! write says so; staff decide each comment it names.
//!
//! The requester is never told whether any comment was found: the answer is the same either
//! way, and so is the work done (the request is sealed, stored and audited in both cases).

use jiff::Timestamp;
use serde_json::{Map, Value};
use yijian_domain::FieldError;
use yijian_domain::dispute::{DisputeDecision, DisputeState, validate_request};
use yijian_domain::receipt::Receipt;
use yijian_domain::review::MAX_REASON_CHARS;
use yijian_domain::staff::{AuditReason, Permission};
use yijian_store::{Audit, DisputeRecord, SessionUser, StoredComment};

use crate::{App, Error, LiveConsultation};

/// Why a request was not taken.
#[derive(Debug)]
pub enum DisputeRefused {
    /// Fields (or the captcha) are wrong; every one is named.
    Invalid(Vec<FieldError>),
    /// It could not be stored; nothing was recorded.
    Storage(String),
}

impl App {
    /// Takes a request from the public page: `id_number`, `phone` and/or `email`, and the
    /// captcha (`captcha_id`, `captcha_answer`), checked as the comment form checks it. Returns
    /// the request's reference, and nothing about what it found.
    pub async fn submit_dispute(
        &self,
        c: &LiveConsultation,
        fields: &Map<String, Value>,
        now: Timestamp,
    ) -> Result<String, DisputeRefused> {
        let today = now.to_zoned(c.tz.clone()).date();
        let checked = validate_request(fields, today);
        let mut errors = checked.as_ref().err().cloned().unwrap_or_default();
        errors.extend(self.check_captcha(fields, now).await);
        let req = match checked {
            Ok(req) if errors.is_empty() => req,
            _ => return Err(DisputeRefused::Invalid(errors)),
        };
        let reference = hex::encode_upper(yijian_crypto::random_bytes::<8>());
        match self.store.record_dispute(&c.meta.id, &reference, &req, now).await {
            Ok(_) => Ok(reference),
            Err(e) => {
                tracing::error!(error = %e, consultation = %c.meta.id, "storing a dispute failed");
                Err(DisputeRefused::Storage(e.to_string()))
            }
        }
    }

    /// The requests about a consultation's comments, contacts masked when printed.
    pub async fn disputes(&self, user: &SessionUser, consultation: &str) -> Result<Vec<DisputeRecord>, Error> {
        self.require(user, Permission::Review)?;
        Ok(self.store.disputes(consultation).await?)
    }

    /// One request with its contact details to be shown in full, for a user who may reveal
    /// personal data and gives a reason: audited before it is read, like a comment's reveal.
    pub async fn reveal_dispute(
        &self,
        user: &SessionUser,
        consultation: &str,
        dispute: i64,
        reason: &AuditReason,
        now: Timestamp,
    ) -> Result<DisputeRecord, Error> {
        self.require(user, Permission::RevealPersonalData)?;
        let found = self.store.dispute(dispute).await?.filter(|d| d.consultation_id == consultation);
        let d = found.ok_or(Error::NotFound("dispute"))?;
        let entry = Audit::new(&user.name, "reveal.dispute_contact", &d.reference, format!("reason={reason}"));
        self.store.audit(now, entry).await?;
        Ok(d)
    }

    /// Staff's decision on a disputed comment: upheld (left out of the counts) or rejected
    /// (counted again), with the reasoning, audited with it.
    pub async fn decide_dispute(
        &self,
        user: &SessionUser,
        c: &LiveConsultation,
        receipt: &Receipt,
        decision: DisputeDecision,
        reason: &str,
        now: Timestamp,
    ) -> Result<(), Error> {
        self.require(user, Permission::Review)?;
        if reason.trim().is_empty() {
            return Err(Error::Invalid("reason_required"));
        }
        if reason.chars().count() > MAX_REASON_CHARS {
            return Err(Error::Invalid("reason_too_long"));
        }
        if self.store.decide_dispute(&user.name, &c.meta.id, receipt, decision, reason, now).await? {
            Ok(())
        } else {
            Err(Error::NotFound("disputed comment"))
        }
    }

    /// Where a comment stands with disputes.
    pub async fn dispute_state(&self, user: &SessionUser, comment: &StoredComment) -> Result<DisputeState, Error> {
        self.require(user, Permission::Review)?;
        Ok(self.store.dispute_state(comment.id).await?)
    }
}
