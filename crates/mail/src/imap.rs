//! Fetching new mail from one IMAP mailbox.
//!
//! Mail is read, never changed: messages are fetched with `BODY.PEEK[]` so nothing gets `\Seen`,
//! and the only thing ever done to a message on the server is to move it to
//! [`ImapAccount::move_to`] after the caller has stored it. Which mail is new is decided by UID
//! against a [`Cursor`] the caller keeps (UIDVALIDITY and the last UID taken).
//!
//! Commands are sent and their answers read here rather than through async-imap's helpers,
//! because those ignore a tagged `NO` for FETCH and SEARCH: a failing FETCH would look like an
//! empty mailbox, and a message could be skipped for good.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::future::Future as _;
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_imap::imap_proto::{AttributeValue, MailboxDatum, Response, ResponseCode, Status};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Sleep;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

/// How long connecting (TCP, then TLS) and any wait for the server's next bytes may take, so a
/// dead or stalled server fails a pass instead of hanging `serve`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// UIDs per MOVE/COPY command, to stay far below servers' command-line limits.
const UIDS_PER_COMMAND: usize = 500;

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// TLS from the first byte (IMAP port 993, SMTP port 465).
    #[default]
    Tls,
    /// A plain connection upgraded with STARTTLS before logging in (IMAP 143, SMTP 587).
    StartTls,
    /// No encryption: allowed only to a loopback address, since the password would otherwise
    /// cross the network readable.
    Plain,
}

impl fmt::Display for Security {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Security::Tls => "tls",
            Security::StartTls => "starttls",
            Security::Plain => "plain",
        })
    }
}

/// The mailbox to read: the configuration file's `[mail.imap]`, where an unknown key is an error.
#[derive(Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImapAccount {
    pub host: String,
    /// Defaults to 993 with TLS, 143 otherwise.
    pub port: Option<u16>,
    #[serde(default)]
    pub security: Security,
    pub username: String,
    /// May be left out of the file and given in the environment instead.
    #[serde(default)]
    pub password: String,
    #[serde(default = "default_mailbox")]
    pub mailbox: String,
    /// Where stored mail is moved; `None` leaves it where it is.
    #[serde(default)]
    pub move_to: Option<String>,
    /// A PEM file of extra root certificates, for a server with a private CA.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

fn default_mailbox() -> String {
    "INBOX".to_string()
}

impl fmt::Debug for ImapAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImapAccount")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &"<hidden>")
            .field("mailbox", &self.mailbox)
            .field("move_to", &self.move_to)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

impl ImapAccount {
    /// Checks the settings without connecting; the message names the setting, in Chinese and
    /// English.
    pub fn check(&self) -> Result<(), String> {
        check_host(&self.host, self.security, "IMAP")?;
        if self.username.trim().is_empty() {
            return Err("IMAP 用户名不能为空 (username is empty)".into());
        }
        for (what, value) in [("username", &self.username), ("password", &self.password)] {
            if value.contains(['\r', '\n', '\0']) {
                return Err(format!("IMAP {what} 含有换行或空字符 (the {what} contains a line break or NUL)"));
            }
        }
        check_mailbox_name(&self.mailbox, "mailbox")?;
        if let Some(target) = &self.move_to {
            check_mailbox_name(target, "move_to")?;
            if target == &self.mailbox {
                return Err("IMAP move_to 不能与 mailbox 相同 (move_to must differ from mailbox)".into());
            }
        }
        check_ca_file(self.ca_file.as_deref())
    }

    fn port(&self) -> u16 {
        self.port.unwrap_or(match self.security {
            Security::Tls => 993,
            Security::StartTls | Security::Plain => 143,
        })
    }
}

fn check_mailbox_name(name: &str, what: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err(format!("IMAP {what} 不能为空 ({what} is empty)"));
    }
    if name.chars().any(char::is_control) {
        return Err(format!("IMAP {what} 含有控制字符 ({what} contains a control character)"));
    }
    Ok(())
}

/// Shared with SMTP: the host is usable and plain connections go only to loopback.
pub(crate) fn check_host(host: &str, security: Security, protocol: &str) -> Result<(), String> {
    if host.trim().is_empty() || host.contains(char::is_whitespace) {
        return Err(format!("{protocol} 服务器地址无效 (host is empty or contains spaces): {host:?}"));
    }
    if security == Security::Plain && !is_loopback(host) {
        return Err(format!(
            "{protocol} 明文连接只允许本机回环地址 (plain {protocol} is allowed only on loopback; use security = \"tls\" or \"starttls\")"
        ));
    }
    Ok(())
}

pub(crate) fn check_ca_file(ca_file: Option<&Path>) -> Result<(), String> {
    match ca_file {
        Some(path) if !path.is_file() => {
            Err(format!("ca_file 不存在或不是文件 (ca_file is not a readable file): {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// `localhost`, 127.0.0.0/8 and ::1 (also IPv4-mapped, and in brackets).
pub(crate) fn is_loopback(host: &str) -> bool {
    let host = bare_host(host);
    if host.eq_ignore_ascii_case("localhost") || host.eq_ignore_ascii_case("localhost.") {
        return true;
    }
    host.parse::<IpAddr>().is_ok_and(|ip| ip.to_canonical().is_loopback())
}

/// The host without the brackets of an IPv6 literal, as sockets and certificates want it.
pub(crate) fn bare_host(host: &str) -> &str {
    host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host)
}

/// The roots a TLS connection trusts: Mozilla's, plus those in `ca_file`.
pub(crate) fn root_store(ca_file: Option<&Path>) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let pem = std::fs::read(path).map_err(|e| format!("cannot read ca_file {}: {e}", path.display()))?;
        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("ca_file {} is not PEM: {e}", path.display()))?;
        if certs.is_empty() {
            return Err(format!("ca_file {} holds no certificate", path.display()));
        }
        for cert in certs {
            roots.add(cert).map_err(|e| format!("ca_file {}: {e}", path.display()))?;
        }
    }
    Ok(roots)
}

/// One message as the server holds it.
#[derive(Clone)]
pub struct FetchedMail {
    pub uid: u32,
    /// The message, or its first bytes when it is larger than the client's limit.
    pub raw: Vec<u8>,
    /// The whole message's size (RFC822.SIZE), which `raw` is shorter than when it was cut.
    pub size: usize,
    /// The server's INTERNALDATE: when the message arrived in the mailbox.
    pub internal_date: Option<jiff::Timestamp>,
}

impl fmt::Debug for FetchedMail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FetchedMail")
            .field("uid", &self.uid)
            .field("bytes", &self.raw.len())
            .field("size", &self.size)
            .field("internal_date", &self.internal_date)
            .finish()
    }
}

/// How far a mailbox has been read: UIDs are only comparable under the same UIDVALIDITY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub uid_validity: u32,
    pub last_uid: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error("IMAP 配置错误 (configuration): {0}")]
    Config(String),
    #[error("无法连接 IMAP 服务器 {server} (cannot connect): {source}")]
    Connect { server: String, source: io::Error },
    #[error("IMAP TLS 失败 {server} (TLS failed): {message}")]
    Tls { server: String, message: String },
    #[error("IMAP 登录失败 {username}@{server} (login refused): {message}")]
    Login { server: String, username: String, message: String },
    #[error("IMAP 邮箱文件夹不存在 (mailbox does not exist): {0}")]
    MailboxMissing(String),
    /// The server answered NO or BAD, e.g. 163.com's "Unsafe Login" to a client that sent no ID.
    #[error("IMAP 服务器拒绝 {command} (refused): {message}")]
    Refused { command: String, message: String },
    #[error("IMAP 服务器 {0} 秒无响应 (timed out)")]
    Timeout(u64),
    #[error("IMAP 连接中断 (connection failed): {0}")]
    Io(io::Error),
    #[error("IMAP 协议错误 (protocol): {0}")]
    Protocol(String),
}

impl ImapError {
    fn from_io(e: io::Error, timeout: Duration) -> ImapError {
        if e.kind() == io::ErrorKind::TimedOut { ImapError::Timeout(timeout.as_secs()) } else { ImapError::Io(e) }
    }

    fn from_imap(e: async_imap::error::Error, timeout: Duration) -> ImapError {
        match e {
            async_imap::error::Error::Io(e) => ImapError::from_io(e, timeout),
            async_imap::error::Error::ConnectionLost => ImapError::Protocol("the server closed the connection".into()),
            other => ImapError::Protocol(other.to_string()),
        }
    }
}

/// A logged-in connection to the account's server.
pub struct ImapClient {
    session: async_imap::Session<Conn>,
    mailbox: String,
    /// The mailbox names as sent on the wire (modified UTF-7).
    mailbox_wire: String,
    move_to: Option<String>,
    move_to_wire: Option<String>,
    capabilities: HashSet<String>,
    uid_validity: Option<u32>,
    folder_ready: bool,
    timeout: Duration,
    /// Of a larger message only this many bytes are fetched (see [`Self::fetch_after`]).
    max_message_bytes: usize,
}

/// What [`ImapClient::fetch_after`] fetches of one message at most, unless told otherwise:
/// the parser's default limit.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 30 * 1024 * 1024;

/// The bytes one batch of [`ImapClient::fetch_after`] may take together (a single message
/// always goes, up to the per-message limit): fifty large mails must not be held at once.
pub const FETCH_BUDGET_BYTES: usize = 64 * 1024 * 1024;

impl fmt::Debug for ImapClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImapClient").field("mailbox", &self.mailbox).field("uid_validity", &self.uid_validity).finish()
    }
}

/// The tagged answer that ended a command.
struct Tagged {
    ok: bool,
    text: String,
}

impl ImapClient {
    /// Connects, secures the connection as the account says, logs in and sends ID.
    pub async fn connect(account: &ImapAccount) -> Result<ImapClient, ImapError> {
        ImapClient::connect_with_timeout(account, DEFAULT_TIMEOUT).await
    }

    /// [`ImapClient::connect`] with another limit than [`DEFAULT_TIMEOUT`] on each wait.
    pub async fn connect_with_timeout(account: &ImapAccount, timeout: Duration) -> Result<ImapClient, ImapError> {
        account.check().map_err(ImapError::Config)?;
        let host = bare_host(&account.host);
        let port = account.port();
        let server = format!("{}:{port}", account.host);
        let timed_out = || ImapError::Connect {
            server: server.clone(),
            source: io::Error::new(io::ErrorKind::TimedOut, format!("no connection within {} s", timeout.as_secs())),
        };
        let tcp = tokio::time::timeout(timeout, TcpStream::connect((host, port)))
            .await
            .map_err(|_| timed_out())?
            .map_err(|source| ImapError::Connect { server: server.clone(), source })?;
        let tls = match account.security {
            Security::Tls | Security::StartTls => Some(tls_connector(account, &server)?),
            Security::Plain => None,
        };
        let stream = match (&tls, account.security) {
            (Some(connector), Security::Tls) => {
                let tls = handshake(connector, host, tcp, &server, timeout).await?;
                Conn::new(Transport::Tls(Box::new(tls)), timeout)
            }
            _ => Conn::new(Transport::Plain(tcp), timeout),
        };
        let mut client = async_imap::Client::new(stream);
        read_greeting(&mut client, timeout).await?;
        if let (Some(connector), Security::StartTls) = (&tls, account.security) {
            client
                .run_command_and_check_ok("STARTTLS", None)
                .await
                .map_err(|e| ImapError::Tls { server: server.clone(), message: format!("STARTTLS refused: {e}") })?;
            // Whatever the server sent after its OK is dropped with the old client: bytes that
            // arrived unencrypted must not be read as if they came over TLS.
            let Transport::Plain(tcp) = client.into_inner().transport else {
                return Err(ImapError::Protocol("STARTTLS on a TLS connection".into()));
            };
            let tls = handshake(connector, host, tcp, &server, timeout).await?;
            client = async_imap::Client::new(Conn::new(Transport::Tls(Box::new(tls)), timeout));
        }
        let session = client.login(&account.username, &account.password).await.map_err(|(e, _)| {
            use async_imap::error::Error;
            let message = match e {
                Error::No(m) | Error::Bad(m) => server_text(&m),
                Error::Validate(_) => "the username or password contains a line break".into(),
                // The server did not answer: not a refusal of these credentials.
                Error::Io(_) | Error::ConnectionLost => return ImapError::from_imap(e, timeout),
                other => other.to_string(),
            };
            ImapError::Login {
                server: server.clone(),
                username: account.username.clone(),
                message: hide(&message, &account.password),
            }
        })?;
        let mut client = ImapClient {
            session,
            mailbox: account.mailbox.clone(),
            mailbox_wire: encode_mailbox_name(&account.mailbox),
            move_to: account.move_to.clone(),
            move_to_wire: account.move_to.as_deref().map(encode_mailbox_name),
            capabilities: HashSet::new(),
            uid_validity: None,
            folder_ready: false,
            timeout,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
        };
        client.capabilities = client.read_capabilities().await?;
        client.identify().await?;
        Ok(client)
    }

    /// Whether the server advertised `capability` after login (e.g. "MOVE", "UIDPLUS").
    /// Of a message larger than `max` bytes, only the first `max` are fetched.
    pub fn set_max_message_bytes(&mut self, max: usize) {
        self.max_message_bytes = max.max(1);
    }

    pub fn has_capability(&self, capability: &str) -> bool {
        self.capabilities.contains(&capability.to_ascii_uppercase())
    }

    async fn read_capabilities(&mut self) -> Result<HashSet<String>, ImapError> {
        let mut capabilities = HashSet::new();
        self.command("CAPABILITY", |response| {
            if let Response::Capabilities(list) = response {
                capabilities.extend(list.iter().map(|c| match c {
                    async_imap::imap_proto::Capability::Imap4rev1 => "IMAP4REV1".to_string(),
                    async_imap::imap_proto::Capability::Auth(m) => format!("AUTH={}", m.to_ascii_uppercase()),
                    async_imap::imap_proto::Capability::Atom(a) => a.to_ascii_uppercase(),
                }));
            }
        })
        .await?;
        Ok(capabilities)
    }

    /// Sends ID (RFC 2971). 163.com and 126.com refuse SELECT with "Unsafe Login" until a
    /// client has identified itself; servers that do not know ID answer BAD, which is harmless.
    async fn identify(&mut self) -> Result<(), ImapError> {
        let command =
            format!("ID (\"name\" \"yijian\" \"version\" \"{}\" \"vendor\" \"yijian\")", env!("CARGO_PKG_VERSION"));
        let tagged = self.run(&command, |_| {}).await?;
        if !tagged.ok {
            tracing::debug!(answer = %tagged.text, "the IMAP server did not accept ID");
        }
        Ok(())
    }

    /// Opens the account's mailbox and returns its UIDVALIDITY. Read-only (EXAMINE) unless
    /// mail is to be moved, which needs SELECT.
    pub async fn open_mailbox(&mut self) -> Result<u32, ImapError> {
        let verb = if self.move_to_wire.is_some() { "SELECT" } else { "EXAMINE" };
        let mut validity = None;
        let command = format!("{verb} {}", quote(&self.mailbox_wire));
        let tagged = self
            .run(&command, |response| {
                if let Response::Data { code: Some(ResponseCode::UidValidity(v)), .. } = response {
                    validity = Some(*v);
                }
            })
            .await?;
        if !tagged.ok {
            self.uid_validity = None;
            let wire = self.mailbox_wire.clone();
            if tagged.text.contains("NONEXISTENT") || !self.mailbox_exists(&wire).await? {
                return Err(ImapError::MailboxMissing(self.mailbox.clone()));
            }
            return Err(ImapError::Refused { command: verb.into(), message: tagged.text });
        }
        let validity =
            validity.ok_or_else(|| ImapError::Protocol(format!("{verb} {} gave no UIDVALIDITY", self.mailbox)))?;
        self.uid_validity = Some(validity);
        Ok(validity)
    }

    /// The next mails after `cursor` in UID order, at most `max` of them and at most
    /// [`FETCH_BUDGET_BYTES`] together (but always one), and the cursor to store once they are
    /// stored. Sizes are asked first (RFC822.SIZE): of a message larger than the client's
    /// limit only that many bytes are fetched, so a 500 MB mail costs no more than a 30 MB one. A cursor from another UIDVALIDITY (the mailbox was
    /// recreated) counts for nothing: reading starts again from the first message, and the
    /// caller recognises mail it already has by Message-ID.
    pub async fn fetch_after(
        &mut self,
        cursor: Option<Cursor>,
        max: usize,
    ) -> Result<(Cursor, Vec<FetchedMail>), ImapError> {
        let validity = match self.uid_validity {
            Some(v) => {
                // A selected mailbox's view only grows at a sync point: without one, mail that
                // arrived since the last command would stay invisible to SEARCH.
                self.command("NOOP", |_| {}).await?;
                v
            }
            None => self.open_mailbox().await?,
        };
        let last_uid = match cursor {
            Some(c) if c.uid_validity == validity => c.last_uid,
            _ => 0,
        };
        let unchanged = Cursor { uid_validity: validity, last_uid };
        if max == 0 || last_uid == u32::MAX {
            return Ok((unchanged, Vec::new()));
        }

        let mut found = Vec::new();
        self.command(&format!("UID SEARCH UID {}:*", last_uid + 1), |response| {
            if let Response::MailboxData(MailboxDatum::Search(uids)) = response {
                found.extend_from_slice(uids);
            }
        })
        .await?;
        // "N:*" always includes the highest UID, even when it is below N.
        found.retain(|&uid| uid > last_uid);
        found.sort_unstable();
        found.dedup();
        found.truncate(max);
        if found.is_empty() {
            return Ok((unchanged, Vec::new()));
        }

        let mut sizes: HashMap<u32, usize> = HashMap::new();
        self.command(&format!("UID FETCH {} (UID RFC822.SIZE)", uid_set(&found)), |response| {
            if let Response::Fetch(_, attributes) = response {
                let uid = attributes.iter().find_map(|a| if let AttributeValue::Uid(u) = a { Some(*u) } else { None });
                let size =
                    attributes.iter().find_map(|a| if let AttributeValue::Rfc822Size(s) = a { Some(*s) } else { None });
                if let (Some(uid), Some(size)) = (uid, size) {
                    sizes.insert(uid, size as usize);
                }
            }
        })
        .await?;
        let cap = self.max_message_bytes;
        // A message whose size the server does not tell is fetched as a large one.
        let cost = |uid: &u32| sizes.get(uid).map_or(cap, |s| (*s).min(cap));
        let mut budget = FETCH_BUDGET_BYTES;
        let take = found
            .iter()
            .enumerate()
            .take_while(|(i, uid)| {
                let fits = *i == 0 || cost(uid) <= budget;
                budget = budget.saturating_sub(cost(uid));
                fits
            })
            .count();
        found.truncate(take);

        let wanted: HashSet<u32> = found.iter().copied().collect();
        let (whole, cut): (Vec<u32>, Vec<u32>) =
            found.iter().copied().partition(|uid| sizes.get(uid).is_some_and(|s| *s <= cap));
        let mut fetched: BTreeMap<u32, FetchedMail> = BTreeMap::new();
        let mut tagged = Tagged { ok: true, text: String::new() };
        for (uids, section) in [(whole, "BODY.PEEK[]".to_string()), (cut, format!("BODY.PEEK[]<0.{cap}>"))] {
            if uids.is_empty() || !tagged.ok {
                continue;
            }
            let command = format!("UID FETCH {} (UID INTERNALDATE {section})", uid_set(&uids));
            tagged = self
                .run(&command, |response| {
                    if let Some(mut mail) = fetched_mail(response)
                        && wanted.contains(&mail.uid)
                    {
                        mail.size = sizes.get(&mail.uid).copied().unwrap_or(mail.raw.len()).max(mail.raw.len());
                        fetched.insert(mail.uid, mail);
                    }
                })
                .await?;
        }

        let mut mails = Vec::with_capacity(fetched.len());
        let mut consumed = last_uid;
        for uid in found {
            if let Some(mail) = fetched.remove(&uid) {
                mails.push(mail);
                consumed = uid;
            } else if tagged.ok {
                // The server completed the FETCH without it: it was expunged meanwhile.
                tracing::warn!(uid, mailbox = %self.mailbox, "an IMAP message vanished before it could be fetched");
                consumed = uid;
            } else {
                // Stop before the gap so the message is tried again next time.
                break;
            }
        }
        if mails.is_empty() && !tagged.ok {
            return Err(ImapError::Refused { command: "UID FETCH".into(), message: tagged.text });
        }
        if !tagged.ok {
            tracing::warn!(answer = %tagged.text, "IMAP FETCH failed part-way; the rest is retried next time");
        }
        Ok((Cursor { uid_validity: validity, last_uid: consumed }, mails))
    }

    /// Moves the messages to [`ImapAccount::move_to`], creating that folder if needed: with
    /// MOVE where the server has it, else COPY then delete exactly those UIDs (UIDPLUS). A
    /// server with neither only gets a copy, because expunging without UIDPLUS could remove
    /// other clients' deleted messages too. Without `move_to` nothing happens.
    pub async fn move_to_folder(&mut self, uids: &[u32]) -> Result<(), ImapError> {
        let Some(target) = self.move_to_wire.clone() else {
            return Ok(());
        };
        let mut uids = uids.to_vec();
        uids.sort_unstable();
        uids.dedup();
        if uids.is_empty() {
            return Ok(());
        }
        if self.uid_validity.is_none() {
            self.open_mailbox().await?;
        }
        if !self.folder_ready {
            self.create_folder(&target).await?;
            self.folder_ready = true;
        }
        let target = quote(&target);
        let has_move = self.has_capability("MOVE");
        let has_uidplus = self.has_capability("UIDPLUS");
        if !has_move && !has_uidplus {
            tracing::warn!(
                mailbox = %self.mailbox,
                "the IMAP server has neither MOVE nor UIDPLUS: mail is copied to move_to and also left in place"
            );
        }
        for chunk in uids.chunks(UIDS_PER_COMMAND) {
            let set = uid_set(chunk);
            if has_move {
                self.command(&format!("UID MOVE {set} {target}"), |_| {}).await?;
                continue;
            }
            self.command(&format!("UID COPY {set} {target}"), |_| {}).await?;
            if has_uidplus {
                self.command(&format!("UID STORE {set} +FLAGS.SILENT (\\Deleted)"), |_| {}).await?;
                self.command(&format!("UID EXPUNGE {set}"), |_| {}).await?;
            }
        }
        Ok(())
    }

    /// Says goodbye; the server closes the connection.
    pub async fn logout(mut self) -> Result<(), ImapError> {
        match self.run("LOGOUT", |_| {}).await {
            // Some servers close right after their BYE, without the tagged OK.
            Ok(_) | Err(ImapError::Protocol(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn create_folder(&mut self, wire: &str) -> Result<(), ImapError> {
        if self.mailbox_exists(wire).await? {
            return Ok(());
        }
        let tagged = self.run(&format!("CREATE {}", quote(wire)), |_| {}).await?;
        if tagged.ok {
            tracing::info!(
                folder = self.move_to.as_deref().unwrap_or_default(),
                "created the IMAP folder for processed mail"
            );
            return Ok(());
        }
        // Another client may have created it in between.
        if tagged.text.contains("ALREADYEXISTS") || self.mailbox_exists(wire).await? {
            return Ok(());
        }
        Err(ImapError::Refused { command: "CREATE".into(), message: tagged.text })
    }

    async fn mailbox_exists(&mut self, wire: &str) -> Result<bool, ImapError> {
        let mut exists = false;
        self.command(&format!("LIST \"\" {}", quote(wire)), |response| {
            if let Response::MailboxData(MailboxDatum::List { name, .. }) = response {
                // LIST treats % and * as wildcards: only an exact name counts.
                exists |=
                    name.as_ref() == wire || (wire.eq_ignore_ascii_case("INBOX") && name.eq_ignore_ascii_case(wire));
            }
        })
        .await?;
        Ok(exists)
    }

    /// Runs a command that must succeed.
    async fn command(&mut self, command: &str, each: impl FnMut(&Response<'_>)) -> Result<(), ImapError> {
        let tagged = self.run(command, each).await?;
        if tagged.ok { Ok(()) } else { Err(ImapError::Refused { command: verb(command), message: tagged.text }) }
    }

    /// Sends `command`, hands every untagged response to `each` and returns the tagged answer.
    async fn run(&mut self, command: &str, mut each: impl FnMut(&Response<'_>)) -> Result<Tagged, ImapError> {
        let timeout = self.timeout;
        self.session.get_mut().clear_deadlines();
        let tag = self.session.run_command(command).await.map_err(|e| ImapError::from_imap(e, timeout))?;
        loop {
            let Some(response) = self.session.read_response().await.map_err(|e| ImapError::from_io(e, timeout))? else {
                return Err(ImapError::Protocol(format!("the server closed the connection during {}", verb(command))));
            };
            match response.parsed() {
                Response::Done { tag: done, status, information, .. } if *done == tag => {
                    return Ok(Tagged {
                        ok: *status == Status::Ok,
                        text: information.as_deref().unwrap_or_default().to_string(),
                    });
                }
                other => each(other),
            }
        }
    }
}

/// The command's name for messages, never its arguments (LOGIN's would hold the password).
fn verb(command: &str) -> String {
    let mut words = command.split(' ');
    match words.next() {
        Some("UID") => format!("UID {}", words.next().unwrap_or_default()),
        Some(w) => w.to_string(),
        None => String::new(),
    }
}

fn fetched_mail(response: &Response<'_>) -> Option<FetchedMail> {
    let Response::Fetch(_, attributes) = response else {
        return None;
    };
    let mut uid = None;
    let mut raw = None;
    let mut internal_date = None;
    for attribute in attributes {
        match attribute {
            AttributeValue::Uid(u) => uid = Some(*u),
            AttributeValue::BodySection { section: None, data: Some(data), .. }
            | AttributeValue::Rfc822(Some(data)) => raw = Some(data.to_vec()),
            AttributeValue::InternalDate(date) => internal_date = parse_internal_date(date),
            _ => {}
        }
    }
    let raw = raw?;
    Some(FetchedMail { uid: uid?, size: raw.len(), raw, internal_date })
}

/// Parses an IMAP date-time such as ` 7-Jul-2025 09:05:00 +0800`.
fn parse_internal_date(text: &str) -> Option<jiff::Timestamp> {
    jiff::fmt::strtime::parse("%d-%b-%Y %H:%M:%S %z", text.trim()).ok()?.to_timestamp().ok()
}

/// A UID set with runs collapsed (`1:4,7,9:10`), from sorted UIDs.
fn uid_set(uids: &[u32]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1] == end + 1 {
            i += 1;
            end = uids[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

/// An IMAP quoted string.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A mailbox name in IMAP's modified UTF-7 (RFC 3501 §5.1.3): servers name folders such as
/// 已删除 that way, and a UTF-8 name would be a different (or an invalid) folder.
pub fn encode_mailbox_name(name: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
    fn flush(out: &mut String, pending: &mut Vec<u16>) {
        if pending.is_empty() {
            return;
        }
        let bytes: Vec<u8> = pending.iter().flat_map(|u| u.to_be_bytes()).collect();
        out.push('&');
        for chunk in bytes.chunks(3) {
            let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
            for k in 0..=chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * k) & 63) as usize]));
            }
        }
        out.push('-');
        pending.clear();
    }
    let mut out = String::new();
    let mut pending = Vec::new();
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut out, &mut pending);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            pending.extend_from_slice(c.encode_utf16(&mut [0; 2]));
        }
    }
    flush(&mut out, &mut pending);
    out
}

/// The readable part of async-imap's "code: …, info: Some(\"…\")" rendering of a NO or BAD.
fn server_text(rendered: &str) -> String {
    rendered
        .split_once("info: Some(\"")
        .and_then(|(_, rest)| rest.rsplit_once("\")"))
        .map(|(text, _)| text.replace("\\\"", "\""))
        .unwrap_or_else(|| rendered.to_string())
}

/// Never let a password reach a message, even if a server echoes it.
fn hide(message: &str, password: &str) -> String {
    if password.is_empty() { message.to_string() } else { message.replace(password, "<hidden>") }
}

fn tls_connector(account: &ImapAccount, server: &str) -> Result<TlsConnector, ImapError> {
    let roots = root_store(account.ca_file.as_deref()).map_err(ImapError::Config)?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ImapError::Tls { server: server.to_string(), message: e.to_string() })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

async fn handshake(
    connector: &TlsConnector,
    host: &str,
    tcp: TcpStream,
    server: &str,
    timeout: Duration,
) -> Result<TlsStream<TcpStream>, ImapError> {
    let tls_error = |message: String| ImapError::Tls { server: server.to_string(), message };
    let name = ServerName::try_from(host.to_string()).map_err(|e| tls_error(e.to_string()))?;
    tokio::time::timeout(timeout, connector.connect(name, tcp))
        .await
        .map_err(|_| ImapError::Timeout(timeout.as_secs()))?
        .map_err(|e| tls_error(e.to_string()))
}

async fn read_greeting(client: &mut async_imap::Client<Conn>, timeout: Duration) -> Result<(), ImapError> {
    let greeting = client.read_response().await.map_err(|e| ImapError::from_io(e, timeout))?;
    let Some(greeting) = greeting else {
        return Err(ImapError::Protocol("the server closed the connection before greeting".into()));
    };
    match greeting.parsed() {
        Response::Data { status: Status::Ok | Status::PreAuth, .. } => Ok(()),
        Response::Data { status: Status::Bye, information, .. } => Err(ImapError::Refused {
            command: "greeting".into(),
            message: information.as_deref().unwrap_or_default().to_string(),
        }),
        other => Err(ImapError::Protocol(format!("unexpected greeting: {other:?}"))),
    }
}

#[derive(Debug)]
enum Transport {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// The connection, failing any read or write that waits longer than the timeout for the
/// server: an idle limit rather than one per command, so a large FETCH that keeps arriving is
/// never cut off, while a server that stops answering is.
#[derive(Debug)]
struct Conn {
    transport: Transport,
    timeout: Duration,
    read_deadline: Option<Pin<Box<Sleep>>>,
    write_deadline: Option<Pin<Box<Sleep>>>,
    framing: Framing,
}

impl Conn {
    fn new(transport: Transport, timeout: Duration) -> Conn {
        Conn { transport, timeout, read_deadline: None, write_deadline: None, framing: Framing::default() }
    }

    /// Forgets waits left over from a command that was abandoned, so they cannot time out the
    /// next one.
    fn clear_deadlines(&mut self) {
        self.read_deadline = None;
        self.write_deadline = None;
    }

    fn check_deadline(
        deadline: &mut Option<Pin<Box<Sleep>>>,
        timeout: Duration,
        cx: &mut Context<'_>,
    ) -> Poll<io::Error> {
        let sleep = deadline.get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => {
                *deadline = None;
                Poll::Ready(io::Error::new(io::ErrorKind::TimedOut, "the IMAP server stopped answering"))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    /// Runs one poll of the transport under `deadline`.
    fn poll_with<T>(
        &mut self,
        cx: &mut Context<'_>,
        write: bool,
        op: impl FnOnce(&mut Transport, &mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match op(&mut self.transport, cx) {
            Poll::Ready(result) => {
                *(if write { &mut self.write_deadline } else { &mut self.read_deadline }) = None;
                Poll::Ready(result)
            }
            Poll::Pending => {
                let deadline = if write { &mut self.write_deadline } else { &mut self.read_deadline };
                Conn::check_deadline(deadline, self.timeout, cx).map(Err)
            }
        }
    }
}

impl AsyncRead for Conn {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = this.poll_with(cx, false, |transport, cx| match transport {
            Transport::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        });
        if let Poll::Ready(Ok(())) = result {
            this.framing.filter(&mut buf.filled_mut()[before..]);
        }
        result
    }
}

/// Where the server's byte stream is: in a line, or inside a literal (`{n}` CRLF, then n bytes).
///
/// Bytes above 0x7f outside literals become `?`. imap-proto refuses them in response text, and
/// servers do put Chinese there, e.g. Dovecot echoing a folder name in "NO Mailbox doesn't
/// exist: 已处理": that would end the connection with a parse error instead of an answer.
/// Literals, which carry the messages, pass untouched.
#[derive(Debug, Default)]
struct Framing {
    literal_left: u64,
    brace: Brace,
}

#[derive(Debug, Default, Clone, Copy)]
enum Brace {
    #[default]
    None,
    Open,
    Digits(u64),
    Plus(u64),
    Closed(u64),
    Cr(u64),
}

impl Framing {
    fn filter(&mut self, bytes: &mut [u8]) {
        let mut i = 0;
        while i < bytes.len() {
            if self.literal_left > 0 {
                let skip = usize::try_from(self.literal_left).unwrap_or(usize::MAX).min(bytes.len() - i);
                self.literal_left -= skip as u64;
                i += skip;
                continue;
            }
            let byte = bytes[i];
            self.brace = match (self.brace, byte) {
                (Brace::Open | Brace::Digits(_), b'0'..=b'9') => {
                    let so_far = if let Brace::Digits(n) = self.brace { n } else { 0 };
                    Brace::Digits(so_far.saturating_mul(10).saturating_add(u64::from(byte - b'0')))
                }
                (Brace::Digits(n), b'+') => Brace::Plus(n),
                (Brace::Digits(n) | Brace::Plus(n), b'}') => Brace::Closed(n),
                (Brace::Closed(n), b'\r') => Brace::Cr(n),
                (Brace::Cr(n), b'\n') => {
                    self.literal_left = n;
                    Brace::None
                }
                (_, b'{') => Brace::Open,
                _ => Brace::None,
            };
            if byte > 0x7f {
                bytes[i] = b'?';
            }
            i += 1;
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.get_mut().poll_with(cx, true, |transport, cx| match transport {
            Transport::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        })
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_with(cx, true, |transport, cx| match transport {
            Transport::Plain(s) => Pin::new(s).poll_flush(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        })
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().transport {
            Transport::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailbox_names_are_modified_utf7() {
        // RFC 3501's own example: ~peter/mail/台北/日本語
        assert_eq!(encode_mailbox_name("~peter/mail/台北/日本語"), "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
        assert_eq!(encode_mailbox_name("INBOX"), "INBOX");
        assert_eq!(encode_mailbox_name("R&D"), "R&-D");
        assert_eq!(encode_mailbox_name("已处理"), "&XfJZBHQG-");
    }

    #[test]
    fn uid_sets_collapse_runs() {
        assert_eq!(uid_set(&[1, 2, 3, 4, 7, 9, 10]), "1:4,7,9:10");
        assert_eq!(uid_set(&[5]), "5");
    }

    #[test]
    fn internal_dates_parse_with_a_space_padded_day() {
        let t = parse_internal_date(" 7-Jul-2025 09:05:00 +0800").unwrap();
        assert_eq!(t.to_string(), "2025-07-07T01:05:00Z");
        let t = parse_internal_date("17-Jul-1996 02:44:25 -0700").unwrap();
        assert_eq!(t.to_string(), "1996-07-17T09:44:25Z");
    }

    #[test]
    fn loopback_hosts() {
        for host in ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost", "LOCALHOST", "::ffff:127.0.0.1"] {
            assert!(is_loopback(host), "{host}");
        }
        for host in ["imap.163.com", "10.0.0.1", "0.0.0.0", "localhost.example.org", "::"] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[test]
    fn eight_bit_text_is_masked_outside_literals_only() {
        let stream = "A1 NO 没有\r\n* 1 FETCH (BODY[] {6}\r\n意见)\r\n* OK 好\r\n".as_bytes().to_vec();
        // Any split into reads must give the same result.
        for split in 0..stream.len() {
            let mut framing = Framing::default();
            let mut bytes = stream.clone();
            let (a, b) = bytes.split_at_mut(split);
            framing.filter(a);
            framing.filter(b);
            let mut expected = b"A1 NO ??????\r\n* 1 FETCH (BODY[] {6}\r\n".to_vec();
            expected.extend_from_slice("意见".as_bytes());
            expected.extend_from_slice(b")\r\n* OK ???\r\n");
            assert_eq!(bytes, expected, "split at {split}");
        }
    }

    #[test]
    fn server_text_is_extracted() {
        let rendered = r#"code: Some(AuthenticationFailed), info: Some("Authentication failed.")"#;
        assert_eq!(server_text(rendered), "Authentication failed.");
    }
}
