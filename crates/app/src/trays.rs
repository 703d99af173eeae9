//! The mail trays: mail no subject routed (staff assign it to a consultation, and it becomes a
//! comment with its receipt then), mail that could not become a comment, and the source of
//! every comment that came by mail. Staff read a mail's text with the ID and phone numbers in it
//! masked, as in comments. Opening a raw message or an attachment is for admins, with a reason,
//! and audited before the bytes are handed out: both hold whatever the citizen wrote, unmasked.

use jiff::Timestamp;
use yijian_domain::pii::mask_sensitive;
use yijian_domain::receipt::Receipt;
use yijian_domain::staff::{AuditReason, Permission};
use yijian_mail::intake::{Intake, Outcome};
use yijian_store::{AttachmentInfo, Audit, MailSummary, SessionUser};

use crate::{App, Error};

/// A mail as its page shows it.
pub struct MailView {
    pub summary: MailSummary,
    pub attachments: Vec<AttachmentInfo>,
    /// The mail's whole text, ID and phone numbers masked.
    pub full_text: Option<String>,
    /// The comment it became, if it did.
    pub receipt: Option<Receipt>,
}

/// Why an assignment did not happen.
#[derive(Debug, thiserror::Error)]
pub enum AssignError {
    #[error("no such consultation (or it is archived)")]
    NoConsultation,
    #[error("this mail is not in the unrouted tray")]
    NotUnrouted,
    #[error(transparent)]
    Failed(#[from] Error),
}

impl App {
    /// The mails of a tray (`unrouted`, `rejected` or `comment`), newest first, with the count
    /// of every tray.
    pub async fn mail_tray(
        &self,
        user: &SessionUser,
        tray: &str,
        limit: i64,
        before: Option<i64>,
    ) -> Result<(Vec<MailSummary>, Vec<(String, i64)>), Error> {
        self.require(user, Permission::ReadMail)?;
        let mails = self.store.mail_tray(tray, limit, before).await?.into_iter().map(masked_summary).collect();
        Ok((mails, self.store.mail_counts().await?))
    }

    /// The consultations a mail may be assigned to (published, not archived).
    pub async fn mail_targets(&self) -> Result<Vec<yijian_store::MailTarget>, Error> {
        Ok(self.store.mail_targets().await?)
    }

    /// One mail: its particulars, attachments (listed, not opened), text and comment.
    pub async fn mail(&self, user: &SessionUser, id: i64) -> Result<Option<MailView>, Error> {
        self.require(user, Permission::ReadMail)?;
        let Some(summary) = self.store.mail_summary(id).await? else { return Ok(None) };
        let summary = masked_summary(summary);
        let attachments = self.store.mail_attachments(id).await?;
        let full_text = self.store.mail_full_text(id).await?.map(|t| t.masked());
        let receipt = match summary.comment_id {
            Some(cid) => self.store.receipt_of_comment(cid).await?,
            None => None,
        };
        Ok(Some(MailView { summary, attachments, full_text, receipt }))
    }

    /// The mail a comment came in, and its attachments, for the comment's page.
    pub async fn mail_of_comment(
        &self,
        user: &SessionUser,
        comment_id: i64,
    ) -> Result<Option<(MailSummary, Vec<AttachmentInfo>)>, Error> {
        self.require(user, Permission::Review)?;
        let Some(mail) = self.store.mail_of_comment(comment_id).await? else { return Ok(None) };
        let attachments = self.store.mail_attachments(mail.id).await?;
        Ok(Some((masked_summary(mail), attachments)))
    }

    /// The message as it arrived, for an admin who gives a reason. Audited first: no entry, no
    /// bytes.
    pub async fn mail_raw(
        &self,
        user: &SessionUser,
        id: i64,
        reason: &AuditReason,
        now: Timestamp,
    ) -> Result<Option<Vec<u8>>, Error> {
        self.require(user, Permission::OpenMailOriginals)?;
        let Some(raw) = self.store.mail_raw(id).await? else { return Ok(None) };
        let detail = format!("bytes={}; reason={reason}", raw.len());
        let entry = Audit::new(&user.name, "mail.raw_opened", &format!("mail:{id}"), detail);
        self.store.audit(now, entry).await?;
        Ok(Some(raw))
    }

    /// An attachment's bytes, for an admin who gives a reason. Audited first: no entry, no
    /// bytes.
    pub async fn attachment(
        &self,
        user: &SessionUser,
        id: i64,
        reason: &AuditReason,
        now: Timestamp,
    ) -> Result<Option<(AttachmentInfo, Vec<u8>)>, Error> {
        self.require(user, Permission::OpenMailOriginals)?;
        let Some((info, bytes)) = self.store.attachment_content(id).await? else { return Ok(None) };
        let entry = Audit::new(
            &user.name,
            "mail.attachment_opened",
            &format!("attachment:{id}"),
            format!("mail={}; reason={reason}", info.mail_id),
        );
        self.store.audit(now, entry).await?;
        Ok(Some((info, bytes)))
    }

    /// Assigns an unrouted mail to a consultation: it becomes a comment and gets its receipt
    /// now (audited with it), and the automatic reply goes out where allowed.
    pub async fn assign_mail(
        &self,
        user: &SessionUser,
        id: i64,
        consultation: &str,
        now: Timestamp,
    ) -> Result<Receipt, AssignError> {
        self.require(user, Permission::Review)?;
        let intake = Intake::new(self.store.clone(), self.mail.limits.clone()).await.map_err(Error::from)?;
        if intake.target(consultation).is_none() {
            return Err(AssignError::NoConsultation);
        }
        let imported = intake
            .assign(id, consultation, &user.name, now)
            .await
            .map_err(Error::from)?
            .ok_or(AssignError::NotUnrouted)?;
        let Outcome::Comment { receipt, .. } = imported.outcome else {
            return Err(Error::Storage("assignment made no comment".into()).into());
        };
        let meta = intake.target(consultation).map(|t| t.meta.clone());
        match (&imported.reply, &self.mail.replier, meta) {
            (Ok(plan), Some(replier), Some(meta)) => {
                replier.reply(plan, &meta, now).await;
            }
            (Err(why), _, _) => {
                let _ = self.store.set_reply_state(id, &format!("withheld: {why}")).await;
            }
            _ => {}
        }
        Ok(receipt)
    }
}

/// A mail's particulars as staff see them: numbers in the subject masked, like the text.
fn masked_summary(mut m: MailSummary) -> MailSummary {
    if let std::borrow::Cow::Owned(subject) = mask_sensitive(&m.subject) {
        m.subject = subject;
    }
    m
}
