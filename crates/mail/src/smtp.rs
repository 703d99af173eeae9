//! Sending mail: receipts and confirmations, never anything a person wrote.
//!
//! Every message is marked as automatic (RFC 3834 `Auto-Submitted`, Microsoft's
//! `X-Auto-Response-Suppress`) so other robots do not answer it, and carries
//! `X-Yijian-Auto: reply` so that yijian recognises its own mail if it comes back and never
//! answers it: two auto-responders answering each other would loop forever.

use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::imap::{Security, bare_host, check_ca_file, check_host};

/// Half the limit on one whole send (connect, greeting, commands, message).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The header yijian puts on everything it sends, and looks for on what it receives.
pub const LOOP_HEADER: &str = "X-Yijian-Auto";

/// The server that sends yijian's mail: the configuration file's `[mail.smtp]`, where an unknown
/// key is an error.
#[derive(Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpAccount {
    pub host: String,
    /// Defaults to 465 with TLS, 587 with STARTTLS, 25 plain.
    pub port: Option<u16>,
    #[serde(default)]
    pub security: Security,
    /// No username: send without logging in (a local relay).
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// The From of every message, e.g. `辽宁省人社厅意见征集 <yijian@example.org>`.
    pub from: String,
    /// A PEM file of extra root certificates, for a server with a private CA.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

impl fmt::Debug for SmtpAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpAccount")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .field("from", &self.from)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

impl SmtpAccount {
    /// Checks the settings without connecting.
    pub fn check(&self) -> Result<(), String> {
        check_host(&self.host, self.security, "SMTP")?;
        self.from
            .parse::<Mailbox>()
            .map_err(|e| format!("SMTP from 不是有效的发件地址 (from is not a valid address): {:?}: {e}", self.from))?;
        match (&self.username, &self.password) {
            (Some(_), None) => return Err("SMTP 设置了 username 但没有 password (username without password)".into()),
            (None, Some(_)) => return Err("SMTP 设置了 password 但没有 username (password without username)".into()),
            _ => {}
        }
        check_ca_file(self.ca_file.as_deref())
    }

    fn port(&self) -> u16 {
        self.port.unwrap_or(match self.security {
            Security::Tls => 465,
            Security::StartTls => 587,
            Security::Plain => 25,
        })
    }
}

/// One message to send.
#[derive(Debug, Clone)]
pub struct OutgoingMail {
    /// The recipient's address (`name@example.cn`, or `Name <name@example.cn>`).
    pub to: String,
    pub subject: String,
    /// Plain text.
    pub body: String,
    /// The Message-ID answered, without the angle brackets.
    pub in_reply_to: Option<String>,
    /// The thread's Message-IDs, oldest first, without angle brackets.
    pub references: Vec<String>,
    /// An answer to a message (`Auto-Submitted: auto-replied`); otherwise a notice nobody asked
    /// for by mail (`auto-generated`).
    pub auto_reply: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    #[error("SMTP 配置错误 (configuration): {0}")]
    Config(String),
    #[error("收件地址无效 (invalid recipient): {0:?}")]
    Recipient(String),
    #[error("邮件无法生成 (cannot build the message): {0}")]
    Build(String),
    #[error("SMTP 发送失败 (sending failed): {0}")]
    Send(String),
    #[error("SMTP 服务器 {0} 秒内未完成发送 (timed out)")]
    Timeout(u64),
}

/// Sends mail through the account's server; cheap to share, one connection per message.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    /// lettre limits only the TCP connect, not the waits for the server's answers: this
    /// bounds the whole send instead.
    send_limit: Duration,
    from: Mailbox,
    /// The right-hand side of the Message-IDs we make: the sender's domain.
    id_domain: String,
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailer").field("from", &self.from.to_string()).finish()
    }
}

impl Mailer {
    pub fn new(account: &SmtpAccount) -> Result<Mailer, SmtpError> {
        Mailer::with_timeout(account, DEFAULT_TIMEOUT)
    }

    /// [`Mailer::new`] with another limit than [`DEFAULT_TIMEOUT`].
    pub fn with_timeout(account: &SmtpAccount, timeout: Duration) -> Result<Mailer, SmtpError> {
        account.check().map_err(SmtpError::Config)?;
        let from: Mailbox = account.from.parse().map_err(|e| SmtpError::Config(format!("from: {e}")))?;
        let host = bare_host(&account.host);
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host).port(account.port()).timeout(Some(timeout));
        builder = match account.security {
            Security::Tls => builder.tls(Tls::Wrapper(tls_parameters(host, account)?)),
            Security::StartTls => builder.tls(Tls::Required(tls_parameters(host, account)?)),
            Security::Plain => builder.tls(Tls::None),
        };
        if let (Some(username), Some(password)) = (&account.username, &account.password) {
            builder = builder.credentials(Credentials::new(username.clone(), password.clone()));
        }
        let id_domain = from.email.domain().to_string();
        Ok(Mailer { transport: builder.build(), send_limit: timeout * 2, from, id_domain })
    }

    /// Sends `mail` and returns the Message-ID it was given, without angle brackets.
    pub async fn send(&self, mail: &OutgoingMail) -> Result<String, SmtpError> {
        let (message, id) = self.build(mail)?;
        match tokio::time::timeout(self.send_limit, self.transport.send(message)).await {
            Err(_) => Err(SmtpError::Timeout(self.send_limit.as_secs())),
            Ok(Err(e)) => Err(SmtpError::Send(e.to_string())),
            Ok(Ok(_)) => Ok(id),
        }
    }

    /// The message as it would be sent, and its Message-ID.
    pub fn build(&self, mail: &OutgoingMail) -> Result<(Message, String), SmtpError> {
        let to = recipient(&mail.to)?;
        let id = new_message_id(&self.id_domain);
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(one_line(&mail.subject))
            .date_now()
            .message_id(Some(format!("<{id}>")))
            .header(ContentType::TEXT_PLAIN);
        if let Some(parent) = mail.in_reply_to.as_deref().and_then(clean_message_id) {
            builder = builder.in_reply_to(format!("<{parent}>"));
        }
        let references: Vec<String> =
            mail.references.iter().filter_map(|r| clean_message_id(r)).map(|r| format!("<{r}>")).collect();
        if !references.is_empty() {
            builder = builder.references(references.join(" "));
        }
        let auto = if mail.auto_reply { "auto-replied" } else { "auto-generated" };
        for (name, value) in [("Auto-Submitted", auto), ("X-Auto-Response-Suppress", "All"), (LOOP_HEADER, "reply")] {
            builder = builder.raw_header(HeaderValue::new(HeaderName::new_from_ascii_str(name), value.to_string()));
        }
        let message = builder.body(mail.body.clone()).map_err(|e| SmtpError::Build(e.to_string()))?;
        Ok((message, id))
    }
}

fn tls_parameters(host: &str, account: &SmtpAccount) -> Result<TlsParameters, SmtpError> {
    let mut builder = TlsParameters::builder(host.to_string());
    if let Some(path) = &account.ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| SmtpError::Config(format!("cannot read ca_file {}: {e}", path.display())))?;
        let certificate = Certificate::from_pem(&pem)
            .map_err(|e| SmtpError::Config(format!("ca_file {} is not PEM: {e}", path.display())))?;
        builder = builder.add_root_certificate(certificate);
    }
    builder.build_rustls().map_err(|e| SmtpError::Config(format!("TLS: {e}")))
}

fn recipient(to: &str) -> Result<Mailbox, SmtpError> {
    let to = to.trim();
    if to.contains(['\r', '\n']) {
        return Err(SmtpError::Recipient(to.to_string()));
    }
    if to.contains('<') {
        return to.parse::<Mailbox>().map_err(|_| SmtpError::Recipient(to.to_string()));
    }
    let address: Address = to.parse().map_err(|_| SmtpError::Recipient(to.to_string()))?;
    Ok(Mailbox::new(None, address))
}

/// A subject on one line: it may quote an incoming subject, which must not be able to add
/// header lines.
fn one_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>().trim().to_string()
}

/// A Message-ID from an incoming mail, fit to be repeated in our headers, or nothing: it comes
/// from a stranger and must not be able to break out of the header.
fn clean_message_id(id: &str) -> Option<&str> {
    let id = id.trim();
    let id = id.strip_prefix('<').and_then(|i| i.strip_suffix('>')).unwrap_or(id);
    let fine = !id.is_empty()
        && id.len() <= 250
        && id.bytes().all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>' && b != b'"' && b != b'\\');
    fine.then_some(id)
}

/// A fresh Message-ID: time, a counter and per-process randomness, at the sender's domain.
fn new_message_id(domain: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let now = jiff::Timestamp::now();
    // RandomState is seeded from the operating system: unpredictable enough to keep two
    // processes (or two hosts) sending in the same nanosecond apart.
    let mut hasher = std::hash::RandomState::new().build_hasher();
    hasher.write_i128(now.as_nanosecond());
    hasher.write_u64(count);
    hasher.write_u32(std::process::id());
    format!("yijian.{}.{count}.{:016x}@{domain}", now.as_millisecond(), hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> SmtpAccount {
        SmtpAccount {
            host: "127.0.0.1".into(),
            port: Some(2525),
            security: Security::Plain,
            username: None,
            password: None,
            from: "辽宁省人社厅意见征集 <yijian@example.org>".into(),
            ca_file: None,
        }
    }

    #[test]
    fn hostile_message_ids_are_dropped() {
        assert_eq!(clean_message_id("<abc@example.org>"), Some("abc@example.org"));
        assert_eq!(clean_message_id("abc@example.org"), Some("abc@example.org"));
        assert_eq!(clean_message_id("a@b>\r\nBcc: victim@example.org"), None);
        assert_eq!(clean_message_id("a b@c"), None);
        assert_eq!(clean_message_id(""), None);
    }

    #[test]
    fn subjects_cannot_add_headers() {
        let mailer = Mailer::new(&account()).unwrap();
        let mail = OutgoingMail {
            to: "citizen@example.com".into(),
            subject: "回复\r\nBcc: victim@example.org".into(),
            body: "正文".into(),
            in_reply_to: Some("x@y>\r\nBcc: victim@example.org".into()),
            references: vec![],
            auto_reply: true,
        };
        let (message, _) = mailer.build(&mail).unwrap();
        let text = String::from_utf8_lossy(&message.formatted()).to_string();
        assert!(!text.contains("\r\nBcc:"), "{text}");
        assert!(!text.contains("In-Reply-To"), "{text}");
        assert_eq!(message.envelope().to().len(), 1);
    }

    #[test]
    fn message_ids_differ_and_use_the_senders_domain() {
        let a = new_message_id("example.org");
        let b = new_message_id("example.org");
        assert_ne!(a, b);
        assert!(a.ends_with("@example.org"));
        assert_eq!(clean_message_id(&a), Some(a.as_str()));
    }

    #[test]
    fn check_rules() {
        assert!(account().check().is_ok());
        let remote_plain = SmtpAccount { host: "smtp.163.com".into(), ..account() };
        assert!(remote_plain.check().unwrap_err().contains("loopback"));
        let bad_from = SmtpAccount { from: "not an address".into(), ..account() };
        assert!(bad_from.check().is_err());
        let half_auth = SmtpAccount { username: Some("u".into()), ..account() };
        assert!(half_auth.check().is_err());
    }
}
