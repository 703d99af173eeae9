//! Settings: built-in defaults, then the TOML file (`--config`), then `YIJIAN_*` environment
//! variables, then command-line flags; each layer overrides the one before.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Every setting. `yijian.example.toml` in the repository documents each one.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address the server listens on.
    pub listen: String,
    /// Data directory: the SQLite database and the master key file.
    pub data: PathBuf,
    /// `postgres://…` to use PostgreSQL instead of SQLite.
    pub database: Option<String>,
    /// Load the demo consultation into an empty database.
    pub demo: bool,
    /// Accept comments without a captcha (tests and benchmarks only).
    pub insecure_no_captcha: bool,
    /// Log filter, e.g. `info` or `yijian_store=debug`.
    pub log: String,
    /// Most comments committed together in one transaction.
    pub group_commit_max: usize,
    /// Submissions (web form and API) one client address may make per minute …
    pub rate_limit_per_minute: u32,
    /// … and at once.
    pub rate_limit_burst: u32,
    /// Turn the rate limit off (benchmarks and load tests only).
    pub insecure_no_rate_limit: bool,
    /// Reverse proxies whose X-Forwarded-For header is believed.
    pub trusted_proxies: Vec<String>,
    /// Mark staff session cookies Secure: set this when yijian is reached over HTTPS.
    pub secure_cookies: bool,
    /// The public address of the site (`https://…`), for links in mails.
    pub public_url: Option<String>,
    /// The email channel.
    pub mail: MailConfig,
}

/// The email channel: where mail is fetched, how replies are sent, and the limits.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    /// Seconds between two IMAP passes inside `serve`; 0 turns the poll off.
    pub poll_seconds: u64,
    /// Largest mail taken as a comment, in MiB (a larger one goes to the rejected tray).
    pub max_message_mb: usize,
    /// Largest attachment kept, in MiB (a larger one is left out and the omission recorded).
    pub max_attachment_mb: usize,
    /// Most attachments kept of one mail.
    pub max_attachments: usize,
    /// Send the automatic reply with its receipt to routed mail (needs `[mail.smtp]`).
    pub replies: bool,
    /// Most automatic mails one address receives in 24 hours.
    pub replies_per_address_per_day: u32,
    pub imap: Option<ImapConfig>,
    pub smtp: Option<SmtpConfig>,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            poll_seconds: 300,
            max_message_mb: 30,
            max_attachment_mb: 10,
            max_attachments: 20,
            replies: true,
            replies_per_address_per_day: yijian_mail::reply::DEFAULT_MAX_PER_ADDRESS,
            imap: None,
            smtp: None,
        }
    }
}

/// The mailbox comments arrive in. The password may instead come from YIJIAN_IMAP_PASSWORD.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ImapConfig {
    pub host: String,
    pub port: Option<u16>,
    /// `tls` (the default), `starttls`, or `plain` (only to a loopback address).
    #[serde(default = "default_security")]
    pub security: String,
    pub username: String,
    #[serde(default)]
    pub password: String,
    #[serde(default = "default_mailbox")]
    pub mailbox: String,
    /// Move each mail here once it is stored (never deleted).
    pub move_to: Option<String>,
    /// A PEM file of extra root certificates (a server with its own CA).
    pub ca_file: Option<PathBuf>,
}

/// The server replies go through. The password may instead come from YIJIAN_SMTP_PASSWORD.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    pub port: Option<u16>,
    /// `tls` (the default), `starttls`, or `plain` (only to a loopback address).
    #[serde(default = "default_security")]
    pub security: String,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The From of every automatic mail, e.g. `意见征集 <yijian@example.org>`.
    pub from: String,
    pub ca_file: Option<PathBuf>,
}

fn default_security() -> String {
    "tls".into()
}

fn default_mailbox() -> String {
    "INBOX".into()
}

// Passwords never reach a log line.
impl std::fmt::Debug for ImapConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ImapConfig {{ {}@{}:{:?} {} {} }}", self.username, self.host, self.port, self.security, self.mailbox)
    }
}
impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SmtpConfig {{ {}:{:?} {} from {} }}", self.host, self.port, self.security, self.from)
    }
}

fn security(value: &str, what: &str) -> Result<yijian_mail::imap::Security> {
    Ok(match value {
        "tls" => yijian_mail::imap::Security::Tls,
        "starttls" => yijian_mail::imap::Security::StartTls,
        "plain" => yijian_mail::imap::Security::Plain,
        other => bail!("configuration: {what}.security must be tls, starttls or plain, not `{other}`"),
    })
}

impl MailConfig {
    pub fn limits(&self) -> yijian_mail::parse::Limits {
        yijian_mail::parse::Limits {
            max_message_bytes: self.max_message_mb * 1024 * 1024,
            max_attachment_bytes: self.max_attachment_mb * 1024 * 1024,
            max_attachments: self.max_attachments,
            ..Default::default()
        }
    }

    pub fn imap_account(&self) -> Result<Option<yijian_mail::imap::ImapAccount>> {
        let Some(c) = &self.imap else { return Ok(None) };
        let password = std::env::var("YIJIAN_IMAP_PASSWORD").unwrap_or_else(|_| c.password.clone());
        let account = yijian_mail::imap::ImapAccount {
            host: c.host.clone(),
            port: c.port,
            security: security(&c.security, "mail.imap")?,
            username: c.username.clone(),
            password,
            mailbox: c.mailbox.clone(),
            move_to: c.move_to.clone(),
            ca_file: c.ca_file.clone(),
        };
        account.check().map_err(|e| anyhow::anyhow!("configuration: mail.imap: {e}"))?;
        Ok(Some(account))
    }

    pub fn smtp_account(&self) -> Result<Option<yijian_mail::smtp::SmtpAccount>> {
        let Some(c) = &self.smtp else { return Ok(None) };
        let password = std::env::var("YIJIAN_SMTP_PASSWORD").ok().or_else(|| c.password.clone());
        let account = yijian_mail::smtp::SmtpAccount {
            host: c.host.clone(),
            port: c.port,
            security: security(&c.security, "mail.smtp")?,
            username: c.username.clone(),
            password,
            from: c.from.clone(),
            ca_file: c.ca_file.clone(),
        };
        account.check().map_err(|e| anyhow::anyhow!("configuration: mail.smtp: {e}"))?;
        Ok(Some(account))
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            data: PathBuf::from("./yijian-data"),
            database: None,
            demo: true,
            insecure_no_captcha: false,
            log: "info".into(),
            group_commit_max: 1024,
            rate_limit_per_minute: 30,
            rate_limit_burst: 10,
            insecure_no_rate_limit: false,
            trusted_proxies: Vec::new(),
            secure_cookies: false,
            public_url: None,
            mail: MailConfig::default(),
        }
    }
}

/// What flags set; `None` leaves the lower layers alone.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub demo: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insecure_no_captcha: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insecure_no_rate_limit: Option<bool>,
}

/// The environment variables read as settings (YIJIAN_LISTEN, …). Others with the prefix,
/// such as YIJIAN_MASTER_KEY, are not settings and are left out of the file's namespace.
const ENV_KEYS: [&str; 13] = [
    "secure_cookies",
    "public_url",
    "listen",
    "data",
    "database",
    "demo",
    "insecure_no_captcha",
    "log",
    "group_commit_max",
    "rate_limit_per_minute",
    "rate_limit_burst",
    "insecure_no_rate_limit",
    "trusted_proxies",
];

impl Config {
    pub fn load(file: Option<&Path>, flags: Overrides) -> Result<Config> {
        Self::figment(file, flags).and_then(|f| {
            f.extract::<Config>().map_err(|e| anyhow::anyhow!("configuration: {e}")).and_then(Config::checked)
        })
    }

    fn figment(file: Option<&Path>, flags: Overrides) -> Result<Figment> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.is_file() {
                bail!("configuration file {} does not exist", path.display());
            }
            fig = fig.merge(Toml::file_exact(path));
        }
        Ok(fig.merge(Env::prefixed("YIJIAN_").only(&ENV_KEYS)).merge(Serialized::defaults(flags)))
    }

    fn checked(self) -> Result<Config> {
        if self.group_commit_max == 0 || self.group_commit_max > 100_000 {
            bail!("configuration: group_commit_max must be between 1 and 100000");
        }
        if self.rate_limit_per_minute == 0 || self.rate_limit_burst == 0 {
            bail!(
                "configuration: rate_limit_per_minute and rate_limit_burst must be at least 1 (use insecure_no_rate_limit to turn the limit off)"
            );
        }
        self.trusted_proxy_ips()?;
        if let Some(url) = &self.public_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            bail!("configuration: public_url must start with https:// or http://");
        }
        if self.mail.max_attachments == 0 || self.mail.max_attachment_mb == 0 || self.mail.max_message_mb == 0 {
            bail!(
                "configuration: mail.max_message_mb, mail.max_attachment_mb and mail.max_attachments must be at least 1"
            );
        }
        // Checked now so that a bad account stops start-up with a clear message, not the
        // first poll an hour later.
        self.mail.imap_account()?;
        self.mail.smtp_account()?;
        if let Some(url) = &self.database
            && yijian_store::Backend::from_url(url).is_err()
        {
            bail!("configuration: database must be a postgres://… or sqlite:… URL");
        }
        Ok(self)
    }

    /// The proxies as addresses; the first that is not one is an error naming it.
    pub fn trusted_proxy_ips(&self) -> Result<Vec<std::net::IpAddr>> {
        self.trusted_proxies
            .iter()
            .map(|p| {
                p.parse().map_err(|_| anyhow::anyhow!("configuration: trusted_proxies: `{p}` is not an IP address"))
            })
            .collect()
    }

    pub fn store_options(&self) -> yijian_store::StoreOptions {
        yijian_store::StoreOptions {
            data_dir: self.data.clone(),
            database_url: self.database.clone(),
            master_key: std::env::var(yijian_crypto::MASTER_KEY_ENV).ok(),
            max_batch: self.group_commit_max,
        }
    }

    /// Names the database without any password a URL may carry.
    pub fn describe_database(&self) -> String {
        match &self.database {
            None => format!("SQLite under {}", self.data.display()),
            Some(url) => match url.split_once('@') {
                Some((_, host)) => format!("postgres://…@{host}"),
                None => url.clone(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_config_parses_and_matches_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("yijian.example.toml");
        let c = Config::load(Some(&path), Overrides::default()).unwrap();
        assert_eq!(c, Config::default());
    }

    #[test]
    fn layers_override_in_order() {
        let dir = std::env::temp_dir().join(format!("yijian-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:9000\"\ndemo = false\n").unwrap();
        let c = Config::load(Some(&path), Overrides::default()).unwrap();
        assert_eq!((c.listen.as_str(), c.demo), ("127.0.0.1:9000", false));
        let c =
            Config::load(Some(&path), Overrides { listen: Some("0.0.0.0:1".into()), ..Default::default() }).unwrap();
        assert_eq!(c.listen, "0.0.0.0:1");
    }

    #[test]
    fn bad_files_are_clear_errors() {
        let dir = std::env::temp_dir().join(format!("yijian-config-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cases = [
            ("lisen = \"x\"\n", "lisen"),
            ("demo = \"yes\"\n", "demo"),
            ("group_commit_max = 0\n", "group_commit_max"),
            ("database = \"mysql://x\"\n", "database"),
            ("rate_limit_burst = 0\n", "rate_limit_burst"),
            ("trusted_proxies = [\"proxy.local\"]\n", "proxy.local"),
            ("listen = \n", "c.toml"),
            ("[mail]\nmax_attachments = 0\n", "mail.max_attachments"),
            ("[mail.imap]\nhost = \"imap.example.org\"\nusername = \"u\"\nsecurity = \"plain\"\n", "loopback"),
            ("[mail.imap]\nhost = \"imap.example.org\"\nusername = \"u\"\nsecurity = \"ssl\"\n", "mail.imap.security"),
            ("[mail.smtp]\nhost = \"smtp.example.org\"\n", "from"),
            ("[mail]\npoll = 5\n", "poll"),
            ("public_url = \"example.org\"\n", "public_url"),
        ];
        for (text, needle) in cases {
            let path = dir.join("c.toml");
            std::fs::write(&path, text).unwrap();
            let err = Config::load(Some(&path), Overrides::default()).unwrap_err().to_string();
            assert!(err.contains(needle), "{text:?}: {err}");
        }
        let err = Config::load(Some(&dir.join("missing.toml")), Overrides::default()).unwrap_err().to_string();
        assert!(err.contains("does not exist"), "{err}");
    }
}
