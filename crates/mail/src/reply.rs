//! Automatic mails: the receipt a routed mail gets, and the confirmation a web comment gets
//! where its consultation turns that on.
//!
//! Each address has an allowance (a few mails a day by default), so that nobody can use yijian
//! to flood a third party's inbox by submitting comments in their name. What happened to each
//! reply is recorded on the mail for staff to see.
//!
//! A reply never repeats what the sender wrote: its subject names the consultation and the
//! receipt, and its text is the consultation's template. Echoing the sender's subject let
//! anyone have the official address mail a text of their choosing.

use jiff::{SignedDuration, Timestamp, tz::TimeZone};
use yijian_domain::consultation::ConsultationMeta;
use yijian_domain::receipt::Receipt;
use yijian_store::Store;

use crate::intake::ReplyPlan;
use crate::smtp::{Mailer, OutgoingMail, SmtpAccount};

/// How many automatic mails one address may receive within [`ReplySettings::window`].
pub const DEFAULT_MAX_PER_ADDRESS: u32 = 5;

#[derive(Debug, Clone)]
pub struct ReplySettings {
    /// Where the public site is, for the receipt link (`https://…`, no trailing slash).
    pub public_url: Option<String>,
    pub max_per_address: u32,
    pub window: SignedDuration,
}

impl Default for ReplySettings {
    fn default() -> Self {
        ReplySettings {
            public_url: None,
            max_per_address: DEFAULT_MAX_PER_ADDRESS,
            window: SignedDuration::from_hours(24),
        }
    }
}

/// What became of one automatic mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyState {
    Sent,
    /// The address had its allowance already.
    RateLimited,
    Failed(String),
}

impl ReplyState {
    /// The value stored in `mails.reply_state`.
    pub fn as_record(&self) -> String {
        match self {
            ReplyState::Sent => "sent".into(),
            ReplyState::RateLimited => "rate-limited".into(),
            ReplyState::Failed(e) => format!("failed: {e}"),
        }
    }
}

/// Sends automatic mails through the configured SMTP server.
pub struct Replier {
    mailer: Mailer,
    store: Store,
    settings: ReplySettings,
}

impl Replier {
    pub fn new(account: &SmtpAccount, store: Store, settings: ReplySettings) -> Result<Replier, String> {
        account.check()?;
        let mailer = Mailer::new(account).map_err(|e| e.to_string())?;
        Ok(Replier { mailer, store, settings })
    }

    fn receipt_url(&self, receipt: &Receipt) -> String {
        match &self.settings.public_url {
            Some(base) => format!("{}/receipt?receipt={receipt}", base.trim_end_matches('/')),
            None => format!("/receipt?receipt={receipt}"),
        }
    }

    fn body(&self, meta: &ConsultationMeta, receipt: &Receipt, received_at: Timestamp) -> String {
        let tz = TimeZone::get(&meta.time_zone).unwrap_or(TimeZone::UTC);
        let received = received_at.to_zoned(tz).strftime("%Y年%m月%d日 %H:%M").to_string();
        meta.email_channel.render_reply(&[
            ("receipt", &receipt.to_string()),
            ("title", &meta.title),
            ("issuer", &meta.issuer),
            ("received_at", &received),
            ("receipt_url", &self.receipt_url(receipt)),
        ])
    }

    async fn send_limited(&self, kind: &str, mail: OutgoingMail, now: Timestamp) -> ReplyState {
        match self
            .store
            .take_reply_allowance(&mail.to, kind, self.settings.max_per_address, self.settings.window, now)
            .await
        {
            Ok(true) => {}
            Ok(false) => return ReplyState::RateLimited,
            Err(e) => return ReplyState::Failed(e.to_string()),
        }
        match self.mailer.send(&mail).await {
            Ok(_) => ReplyState::Sent,
            Err(e) => ReplyState::Failed(e.to_string()),
        }
    }

    /// Replies to a routed mail with its receipt and records what happened on the mail.
    pub async fn reply(&self, plan: &ReplyPlan, meta: &ConsultationMeta, now: Timestamp) -> ReplyState {
        let mail = OutgoingMail {
            to: plan.to.clone(),
            subject: reply_subject(meta, &plan.receipt),
            body: self.body(meta, &plan.receipt, plan.received_at),
            in_reply_to: plan.message_id.clone(),
            references: plan.references.clone(),
            auto_reply: true,
        };
        let state = self.send_limited("reply", mail, now).await;
        if let Err(e) = self.store.set_reply_state(plan.mail_id, &state.as_record()).await {
            tracing::warn!(error = %e, mail = plan.mail_id, "could not record the reply's state");
        }
        if let ReplyState::Failed(e) = &state {
            tracing::warn!(error = %e, mail = plan.mail_id, "the automatic reply failed");
        }
        state
    }

    /// Confirms a web or API comment to the address it gave, where the consultation asks for it.
    pub async fn confirm_web_comment(
        &self,
        to: &str,
        receipt: &Receipt,
        submitted_at: Timestamp,
        meta: &ConsultationMeta,
    ) -> ReplyState {
        let mail = OutgoingMail {
            to: to.to_string(),
            subject: reply_subject(meta, receipt),
            body: self.body(meta, receipt, submitted_at),
            in_reply_to: None,
            references: Vec::new(),
            auto_reply: false,
        };
        // The confirmation goes out a moment after the receipt: the allowance counts from it.
        let state = self.send_limited("confirmation", mail, submitted_at).await;
        if let ReplyState::Failed(e) = &state {
            tracing::warn!(error = %e, "the confirmation mail failed");
        }
        state
    }
}

/// The subject of every automatic mail: fixed words, the consultation's title and the receipt.
pub fn reply_subject(meta: &ConsultationMeta, receipt: &Receipt) -> String {
    format!("意见已收到：《{}》（受理编号 {receipt}）", meta.title)
}
