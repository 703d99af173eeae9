//! Taking a comment in: one flow for the web form, the API and staff's manual entry (mail has
//! its own batch path in `yijian-mail`, which stores the mail and its comment together).
//!
//! The order matters and is the same for every channel: the consultation must be open, then
//! every field is checked at once (with the captcha, and consent where the form asks for it),
//! then the comment is stored, and only once its commit is durable is a receipt given. A
//! confirmation mail, where the consultation asks for one, goes out in the background.

use std::collections::HashMap;

use jiff::Timestamp;
use serde_json::{Map, Value};
use yijian_domain::comment::{
    Channel, NewComment, ValidSubmission, text_field, validate_manual_entry, validate_submission,
};
use yijian_domain::consultation::{Consultation, Status};
use yijian_domain::receipt::Receipt;
use yijian_domain::staff::Permission;
use yijian_domain::{FieldCode, FieldError};
use yijian_store::{SessionUser, SubmitError};

use crate::captcha::Verdict;
use crate::{App, Error, LiveConsultation};

/// A citizen's submission as it arrived: the form's or the JSON body's fields.
pub struct Submission<'a> {
    pub fields: &'a Map<String, Value>,
    pub channel: Channel,
    /// The web form asks for consent to the processing of personal data in a box of its own
    /// (PIPL art. 29): `Some(ticked)`. `None` where the channel does not ask.
    pub consent: Option<bool>,
    /// The web form's id: a form sent again (a double tap, a reload, a retry that reached
    /// another node) stores nothing new and is answered with the first receipt.
    pub form_id: Option<&'a str>,
    /// The client's address (web form and API), kept only as a keyed hash of its network, for
    /// the burst signal (issue 13). `None` where there is none.
    pub client: Option<std::net::IpAddr>,
}

/// Why a comment was not taken.
#[derive(Debug)]
pub enum Refused {
    /// The consultation is not open (it is upcoming or closed).
    NotOpen(Status),
    /// Fields are wrong; every one is named.
    Invalid(Vec<FieldError>),
    /// The comment could not be stored; nothing was acknowledged.
    Storage(String),
    /// More comments are arriving than the store takes in; nothing was stored, and the citizen
    /// may try again after [`crate::BUSY_RETRY_SECS`].
    Busy,
}

/// A comment taken: its receipt once durable, and what was stored (for the receipt page).
#[derive(Debug)]
pub struct Accepted {
    pub receipt: Receipt,
    pub submitted_at: Timestamp,
    pub submission: ValidSubmission,
}

impl App {
    /// Takes a citizen's comment through the form or the API.
    pub async fn submit_comment(
        &self,
        c: &LiveConsultation,
        sub: Submission<'_>,
        now: Timestamp,
    ) -> Result<Accepted, Refused> {
        match c.meta.status(now) {
            Status::Open => {}
            other => return Err(Refused::NotOpen(other)),
        }
        // Refused before any work is spent on it (and before its captcha is used up).
        if !self.has_room_for_a_comment() {
            return Err(Refused::Busy);
        }
        let entered = std::time::Instant::now();
        let today = now.to_zoned(c.tz.clone()).date();
        let checked = validate_submission(sub.fields, &c.rules, today);
        let mut errors = match &checked {
            Ok(_) => vec![],
            Err(e) => e.clone(),
        };
        // A form already stored is answered before its captcha, which the first sending used.
        if let (Ok(valid), Some(first)) = (&checked, self.stored_form(sub.form_id).await) {
            return Ok(Accepted { receipt: first.0, submitted_at: first.1, submission: valid.clone() });
        }
        errors.extend(self.check_captcha(sub.fields, now).await);
        if sub.consent == Some(false) {
            errors.push(FieldError::new("consent", FieldCode::ConsentRequired));
        }
        let valid = match checked {
            Ok(v) if errors.is_empty() => v,
            Ok(v) => {
                // The same form sent to two nodes at once: one used the captcha and stored it.
                if let Some((receipt, submitted_at)) = self.stored_form(sub.form_id).await {
                    return Ok(Accepted { receipt, submitted_at, submission: v });
                }
                return Err(Refused::Invalid(errors));
            }
            Err(_) => return Err(Refused::Invalid(errors)),
        };
        let comment = valid.clone().into_comment(&c.meta.id, c.version, sub.channel);
        let network = sub.client.map(yijian_domain::signals::client_network);
        let taken = self.take(c, &comment, sub.form_id, network.as_deref(), now).await;
        self.admission.record(entered.elapsed());
        let (receipt, submitted_at) = taken.map_err(|e| match e {
            SubmitError::Busy => Refused::Busy,
            e => Refused::Storage(e.to_string()),
        })?;
        Ok(Accepted { receipt, submitted_at, submission: valid })
    }

    /// Whether a comment arriving now may be taken: not when the writer is behind (a full
    /// intake queue), nor when the node is too loaded to answer in time ([`crate::admission`]).
    /// Adapters may ask before parsing a request, to refuse it cheaply.
    pub fn has_room_for_a_comment(&self) -> bool {
        self.store.intake_has_room() && self.admission.admit(std::time::Instant::now())
    }

    /// The receipt and time of the comment the web form `form_id` already produced, if any.
    async fn stored_form(&self, form_id: Option<&str>) -> Option<(Receipt, Timestamp)> {
        match self.store.comment_by_form_id(form_id?).await {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(error = %e, "could not look a form id up");
                None
            }
        }
    }

    /// Stores a comment staff type in from a letter or a call: only the opinion is required,
    /// and what else it carries is checked as strictly as the form's fields.
    pub async fn enter_comment(
        &self,
        user: &SessionUser,
        c: &LiveConsultation,
        fields: &HashMap<&str, &str>,
        articles: &[&str],
        now: Timestamp,
    ) -> Result<Result<(Receipt, Timestamp), Vec<FieldError>>, Error> {
        self.require(user, Permission::Review)?;
        let mut numbers = Vec::with_capacity(articles.len());
        for a in articles {
            match a.parse::<u32>() {
                Ok(n) => numbers.push(n),
                Err(_) => return Ok(Err(vec![FieldError::new("articles", FieldCode::ArticleUnknown)])),
            }
        }
        let today = now.to_zoned(c.tz.clone()).date();
        match validate_manual_entry(fields, &numbers, &c.rules, today) {
            Err(errors) => Ok(Err(errors)),
            Ok(valid) => {
                let comment = valid.into_comment(&c.meta.id, c.version, &user.name);
                Ok(Ok(self.take(c, &comment, None, None, now).await.map_err(|e| match e {
                    SubmitError::Busy => Error::Busy,
                    e => Error::Storage(e.to_string()),
                })?))
            }
        }
    }

    /// Stores a checked comment and confirms it by mail where asked: the one path from a
    /// checked comment to a receipt.
    async fn take(
        &self,
        c: &Consultation,
        comment: &NewComment,
        form_id: Option<&str>,
        client_network: Option<&str>,
        now: Timestamp,
    ) -> Result<(Receipt, Timestamp), SubmitError> {
        let (receipt, at) =
            self.store.submit_comment_from(comment, form_id, client_network, now).await.inspect_err(|e| {
                // A full queue is the expected answer to a flood, counted rather than logged.
                if !matches!(e, SubmitError::Busy) {
                    tracing::error!(error = %e, consultation = %c.meta.id, "storing a comment failed");
                }
            })?;
        if comment.channel != Channel::Manual {
            self.confirm_comment(c, comment.email.as_deref(), receipt, at);
        }
        Ok((receipt, at))
    }

    /// Confirms a web or API comment by mail where its consultation asks for it and SMTP is
    /// configured. Runs in the background: the citizen's receipt never waits for a mail server.
    fn confirm_comment(&self, consultation: &Consultation, email: Option<&str>, receipt: Receipt, at: Timestamp) {
        let (Some(replier), Some(email)) = (self.mail.replier.clone(), email) else { return };
        if !consultation.meta.email_channel.confirm_web_comments || email.trim().is_empty() {
            return;
        }
        let meta = consultation.meta.clone();
        let email = email.to_string();
        tokio::spawn(async move {
            replier.confirm_web_comment(&email, &receipt, at, &meta).await;
        });
    }

    /// Checks the captcha fields of a submission (`captcha_id`, `captcha_answer`). A refused
    /// submission uses the captcha up, even when another field was missing.
    pub async fn check_captcha(&self, fields: &Map<String, Value>, now: Timestamp) -> Vec<FieldError> {
        let id = fields.get("captcha_id");
        let answer = fields.get("captcha_answer");
        if self.options.insecure_no_captcha && id.is_none_or(Value::is_null) && answer.is_none_or(Value::is_null) {
            return Vec::new();
        }
        let mut errors = Vec::new();
        // A blank answer is no answer.
        let mut text = |field: &'static str| match text_field(fields, field) {
            Ok(s) if s.trim().is_empty() => {
                errors.push(FieldError::new(field, FieldCode::Required));
                None
            }
            r => r.map_err(|e| errors.push(e)).ok(),
        };
        let id = text("captcha_id");
        let answer = text("captcha_answer");
        match (id, answer) {
            (Some(id), Some(answer)) => match self.captchas.check(&id, &answer, now).await {
                Verdict::Right => {}
                Verdict::Wrong => errors.push(FieldError::new("captcha_answer", FieldCode::CaptchaWrong)),
                Verdict::Expired => errors.push(FieldError::new("captcha_answer", FieldCode::CaptchaExpired)),
            },
            (Some(id), None) => {
                self.captchas.check(&id, "", now).await;
            }
            _ => {}
        }
        errors
    }

    /// What a tracking number tells the public: its status, never the comment.
    pub async fn receipt(&self, receipt: &Receipt) -> Result<Option<yijian_store::ReceiptInfo>, Error> {
        Ok(self.store.receipt(receipt).await?)
    }
}
