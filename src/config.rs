//! Settings: built-in defaults, then the TOML file (`--config`), then `YIJIAN_*` environment
//! variables, then command-line flags; each layer overrides the one before.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use yijian_mail::imap::ImapAccount;
use yijian_mail::smtp::SmtpAccount;
use yijian_web::limits::RateLimit;

/// Every setting. `yijian.example.toml` in the repository documents each one.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address the server listens on.
    pub listen: String,
    /// A second address serving `/metrics` (without a token), `/healthz` and `/readyz`, for a
    /// scraper on a private network; `None`: `/metrics` only on `listen`, to an admin's token.
    pub metrics_listen: Option<String>,
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
    /// Most comments waiting to be stored; beyond it a submission is answered 503 at once.
    pub intake_queue: usize,
    /// How often new comments are placed in campaigns, in seconds (at most 60, so a copy joins
    /// its campaign within a minute); 0 turns the background pass off (`yijian campaigns detect`
    /// still works).
    pub campaign_pass_seconds: u64,
    /// How often new comments are given article suggestions, in seconds (at most 60); 0 turns
    /// the background pass off (`yijian articles suggest` still works).
    pub suggestion_pass_seconds: u64,
    /// Submissions (web form and API) one client address may make per minute …
    pub rate_limit_per_minute: u32,
    /// … and at once.
    pub rate_limit_burst: u32,
    /// Receipt look-ups (the `/receipt` page and the API) one client address may make per
    /// minute …
    pub receipt_lookups_per_minute: u32,
    /// … and at once.
    pub receipt_lookup_burst: u32,
    /// Captchas (images and sounds together) one client may be given per minute …
    pub captcha_per_minute: u32,
    /// … and at once.
    pub captcha_burst: u32,
    /// Captcha images this node keeps drawn ahead, so that a crowd opening the form is not
    /// served behind one another's drawings; 0 draws each when it is asked for.
    pub captcha_pool: usize,
    /// Turn the per-client limits off: submissions, captchas, receipt look-ups (benchmarks and
    /// load tests only). The sign-in protections stay on.
    pub insecure_no_rate_limit: bool,
    /// A second file anchoring the audit log's head, besides `DATA/audit-anchor` (e.g. on
    /// another volume or a WORM mount).
    pub audit_anchor: Option<PathBuf>,
    /// Reverse proxies whose X-Forwarded-For header is believed.
    pub trusted_proxies: Vec<String>,
    /// Mark staff session and CSRF cookies Secure, with the `__Host-` name prefix; when not
    /// set, on exactly when `public_url` is https.
    pub secure_cookies: Option<bool>,
    /// Admins must use two-step login; when not set, on exactly when `public_url` is https.
    pub require_admin_totp: Option<bool>,
    /// Minutes an unused staff session lives (a session ends 8 hours after sign-in anyway).
    pub session_idle_minutes: u32,
    /// The public address of the site (`https://…`), for links in mails. An https address
    /// also turns on Secure cookies, HSTS and compulsory two-step login for admins.
    pub public_url: Option<String>,
    /// Timeouts and the connection limit of the web server.
    pub http: HttpConfig,
    /// The email channel.
    pub mail: MailConfig,
    /// Signals on comments (issue 13): thresholds, retention, disposable-mail domains.
    pub signals: SignalsConfig,
}

/// The signals staff see on comments: never a rejection, so these only tune what is shown.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SignalsConfig {
    /// A burst is at least this many comments from one client network (IPv4 /24, IPv6 /64) …
    pub burst_min_comments: usize,
    /// … within this many minutes.
    pub burst_window_minutes: u32,
    /// A run is at least this many ID numbers with one region and birth date …
    pub run_min_length: usize,
    /// … whose sequence codes step by at most this much.
    pub run_max_step: u16,
    /// Days a keyed hash of a comment's client network is kept (bursts are found within them).
    pub address_retention_days: u32,
    /// A file of more disposable-mail domains, one a line (`#` starts a comment), added to the
    /// list shipped with yijian.
    pub disposable_email_file: Option<PathBuf>,
    /// More disposable-mail domains, added to the list.
    pub disposable_email_domains: Vec<String>,
}

impl Default for SignalsConfig {
    fn default() -> Self {
        let r = yijian_domain::signals::SignalRules::default();
        SignalsConfig {
            burst_min_comments: r.burst_min_comments,
            burst_window_minutes: (r.burst_window_seconds / 60) as u32,
            run_min_length: r.run_min_length,
            run_max_step: r.run_max_step,
            address_retention_days: yijian_app::signals::DEFAULT_ADDRESS_RETENTION_DAYS,
            disposable_email_file: None,
            disposable_email_domains: Vec::new(),
        }
    }
}

impl SignalsConfig {
    /// The settings the signal pass applies; reads the extra domains' file.
    pub fn settings(&self) -> Result<yijian_app::signals::SignalSettings> {
        let mut disposable = yijian_domain::signals::DisposableDomains::default();
        if let Some(path) = &self.disposable_email_file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                anyhow::anyhow!("signals.disposable_email_file {}: cannot be read: {e}", path.display())
            })?;
            disposable.add_list(&text);
        }
        disposable.extend(self.disposable_email_domains.iter().map(String::as_str));
        if self.burst_min_comments < 2 || self.run_min_length < 2 || self.run_max_step == 0 {
            bail!("signals: burst_min_comments and run_min_length must be at least 2, run_max_step at least 1");
        }
        Ok(yijian_app::signals::SignalSettings {
            rules: yijian_domain::signals::SignalRules {
                burst_min_comments: self.burst_min_comments,
                burst_window_seconds: i64::from(self.burst_window_minutes) * 60,
                run_min_length: self.run_min_length,
                run_max_step: self.run_max_step,
            },
            disposable: std::sync::Arc::new(disposable),
            address_retention: jiff::SignedDuration::from_hours(24 * i64::from(self.address_retention_days)),
        })
    }
}

/// How long the web server waits for a client, and how many it holds at once.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Seconds for a request's line and headers to arrive, from the connection's opening or the
    /// end of the previous response (so also how long an idle kept-alive connection is kept).
    pub header_read_timeout_seconds: u64,
    /// Seconds for a request's whole body to arrive, once its headers are in.
    pub body_read_timeout_seconds: u64,
    /// Seconds a client may take nothing of a response before it is cut off.
    pub send_timeout_seconds: u64,
    /// Connections held at once, from all addresses together (none is capped per address).
    pub max_connections: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        let d = yijian_web::ConnectionLimits::default();
        HttpConfig {
            header_read_timeout_seconds: d.header_read_timeout.as_secs(),
            body_read_timeout_seconds: d.body_read_timeout.as_secs(),
            send_timeout_seconds: d.send_timeout.as_secs(),
            max_connections: d.max_connections,
        }
    }
}

impl HttpConfig {
    pub fn limits(&self) -> yijian_web::ConnectionLimits {
        use std::time::Duration;
        yijian_web::ConnectionLimits {
            header_read_timeout: Duration::from_secs(self.header_read_timeout_seconds),
            body_read_timeout: Duration::from_secs(self.body_read_timeout_seconds),
            send_timeout: Duration::from_secs(self.send_timeout_seconds),
            max_connections: self.max_connections,
            ..yijian_web::ConnectionLimits::default()
        }
    }
}

/// The email channel: where mail is fetched, how replies are sent, and the limits.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    /// Seconds between two IMAP passes inside `serve`; 0 turns the poll off.
    pub poll_seconds: u64,
    /// Of a larger mail only this many MiB are fetched and read: its text and the attachments
    /// that fit; the attachment the limit cuts through is left out and named on the comment.
    pub max_message_mb: usize,
    /// Largest attachment kept, in MiB (a larger one is left out and the omission recorded).
    pub max_attachment_mb: usize,
    /// Most attachments kept of one mail.
    pub max_attachments: usize,
    /// Send the automatic reply with its receipt to routed mail (needs `[mail.smtp]`).
    pub replies: bool,
    /// Most automatic mails one address receives in 24 hours.
    pub replies_per_address_per_day: u32,
    /// The mailbox comments arrive in. The password may instead come from YIJIAN_IMAP_PASSWORD.
    /// Not serialised: only the defaults are, and a password must never be.
    #[serde(skip_serializing)]
    pub imap: Option<ImapAccount>,
    /// The server replies go through. The password may instead come from YIJIAN_SMTP_PASSWORD.
    #[serde(skip_serializing)]
    pub smtp: Option<SmtpAccount>,
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

/// Read verbatim, unlike the YIJIAN_MAIL__IMAP__PASSWORD form, which is parsed as a value.
const IMAP_PASSWORD_ENV: &str = "YIJIAN_IMAP_PASSWORD";
const SMTP_PASSWORD_ENV: &str = "YIJIAN_SMTP_PASSWORD";

impl MailConfig {
    pub fn limits(&self) -> yijian_mail::parse::Limits {
        yijian_mail::parse::Limits {
            max_message_bytes: self.max_message_mb * 1024 * 1024,
            max_attachment_bytes: self.max_attachment_mb * 1024 * 1024,
            max_attachments: self.max_attachments,
            ..Default::default()
        }
    }

    /// The IMAP account, with the password from YIJIAN_IMAP_PASSWORD when that is set, checked.
    pub fn imap_account(&self) -> Result<Option<ImapAccount>> {
        let Some(account) = &self.imap else { return Ok(None) };
        let mut account = account.clone();
        if let Ok(password) = std::env::var(IMAP_PASSWORD_ENV) {
            account.password = password;
        }
        account.check().map_err(|e| anyhow::anyhow!("configuration: mail.imap: {e}"))?;
        Ok(Some(account))
    }

    /// The SMTP account, with the password from YIJIAN_SMTP_PASSWORD when that is set, checked.
    pub fn smtp_account(&self) -> Result<Option<SmtpAccount>> {
        let Some(account) = &self.smtp else { return Ok(None) };
        let mut account = account.clone();
        if let Ok(password) = std::env::var(SMTP_PASSWORD_ENV) {
            account.password = Some(password);
        }
        account.check().map_err(|e| anyhow::anyhow!("configuration: mail.smtp: {e}"))?;
        Ok(Some(account))
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            metrics_listen: None,
            data: PathBuf::from("./yijian-data"),
            database: None,
            demo: true,
            insecure_no_captcha: false,
            log: "info".into(),
            group_commit_max: 1024,
            intake_queue: 4096,
            campaign_pass_seconds: 5,
            suggestion_pass_seconds: 5,
            rate_limit_per_minute: 30,
            rate_limit_burst: 10,
            receipt_lookups_per_minute: 30,
            receipt_lookup_burst: 20,
            captcha_per_minute: 10,
            captcha_burst: 20,
            captcha_pool: 256,
            insecure_no_rate_limit: false,
            audit_anchor: None,
            trusted_proxies: Vec::new(),
            secure_cookies: None,
            require_admin_totp: None,
            session_idle_minutes: 30,
            public_url: None,
            http: HttpConfig::default(),
            mail: MailConfig::default(),
            signals: SignalsConfig::default(),
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub require_admin_totp: Option<bool>,
}

/// Every setting's environment variable is `YIJIAN_` and the setting's path in capitals, with
/// `__` between levels: YIJIAN_LISTEN, YIJIAN_MAIL__POLL_SECONDS, YIJIAN_MAIL__IMAP__HOST.
const ENV_PREFIX: &str = "YIJIAN_";
const ENV_LEVELS: &str = "__";

/// The environment as a layer of settings. Only variables whose first level names a setting of
/// [`Config`] are read, so other `YIJIAN_*` variables (YIJIAN_MASTER_KEY, YIJIAN_IMAP_PASSWORD,
/// the tests' YIJIAN_TEST_POSTGRES) are not taken for unknown settings.
fn environment() -> Env {
    let settings = setting_names();
    Env::prefixed(ENV_PREFIX).split(ENV_LEVELS).filter(move |key| {
        let first = key.as_str().split('.').next().unwrap_or_default();
        settings.iter().any(|s| s.eq_ignore_ascii_case(first))
    })
}

/// The names of the top-level settings, from the struct itself.
fn setting_names() -> Vec<String> {
    match serde_json::to_value(Config::default()) {
        Ok(serde_json::Value::Object(fields)) => fields.keys().cloned().collect(),
        _ => unreachable!("Config serialises to a map"),
    }
}

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
        Ok(fig.merge(environment()).merge(Serialized::defaults(flags)))
    }

    fn checked(self) -> Result<Config> {
        if self.group_commit_max == 0 || self.group_commit_max > 100_000 {
            bail!("configuration: group_commit_max must be between 1 and 100000");
        }
        if self.intake_queue == 0 || self.intake_queue > 1_000_000 {
            bail!("configuration: intake_queue must be between 1 and 1000000");
        }
        if self.campaign_pass_seconds > 60 {
            bail!("configuration: campaign_pass_seconds must be between 0 (off) and 60");
        }
        if self.suggestion_pass_seconds > 60 {
            bail!("configuration: suggestion_pass_seconds must be between 0 (off) and 60");
        }
        if self.captcha_pool > 100_000 {
            bail!("configuration: captcha_pool must be between 0 (draw each when asked) and 100000");
        }
        if self.receipt_lookups_per_minute == 0 || self.receipt_lookup_burst == 0 {
            bail!(
                "configuration: receipt_lookups_per_minute and receipt_lookup_burst must be at least 1 (use insecure_no_rate_limit to turn the limits off)"
            );
        }
        if self.rate_limit_per_minute == 0 || self.rate_limit_burst == 0 {
            bail!(
                "configuration: rate_limit_per_minute and rate_limit_burst must be at least 1 (use insecure_no_rate_limit to turn the limit off)"
            );
        }
        if self.captcha_per_minute == 0 || self.captcha_burst == 0 {
            bail!(
                "configuration: captcha_per_minute and captcha_burst must be at least 1 (use insecure_no_rate_limit to turn the limit off)"
            );
        }
        let http = &self.http;
        if [http.header_read_timeout_seconds, http.body_read_timeout_seconds, http.send_timeout_seconds]
            .iter()
            .any(|s| !(1..=3600).contains(s))
        {
            bail!(
                "configuration: http.header_read_timeout_seconds, http.body_read_timeout_seconds and http.send_timeout_seconds must be between 1 and 3600"
            );
        }
        if !(1..=1_000_000).contains(&http.max_connections) {
            bail!("configuration: http.max_connections must be between 1 and 1000000");
        }
        self.trusted_proxy_ips()?;
        self.metrics_address()?;
        if let Some(url) = &self.public_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            bail!("configuration: public_url must start with https:// or http://");
        }
        if self.session_idle_minutes == 0 || self.session_idle_minutes > 8 * 60 {
            bail!("configuration: session_idle_minutes must be between 1 and 480");
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

    /// The `metrics_listen` address, checked.
    pub fn metrics_address(&self) -> Result<Option<std::net::SocketAddr>> {
        self.metrics_listen
            .as_deref()
            .map(|a| {
                a.parse().map_err(|_| {
                    anyhow::anyhow!("configuration: metrics_listen `{a}` is not HOST:PORT (for example 127.0.0.1:9464)")
                })
            })
            .transpose()
    }

    /// Whether the site is reached over HTTPS, as `public_url` says.
    pub fn https(&self) -> bool {
        self.public_url.as_deref().is_some_and(|u| u.starts_with("https://"))
    }

    /// Secure cookies (with the `__Host-` prefix): as set, else when the site is https.
    pub fn secure_cookies(&self) -> bool {
        self.secure_cookies.unwrap_or(self.https())
    }

    /// Compulsory two-step login for admins: as set, else when the site is https.
    pub fn require_admin_totp(&self) -> bool {
        self.require_admin_totp.unwrap_or(self.https())
    }

    pub fn session_idle(&self) -> jiff::SignedDuration {
        jiff::SignedDuration::from_mins(i64::from(self.session_idle_minutes))
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

    /// The per-client limits, or none with `insecure_no_rate_limit`.
    pub fn rate_limits(&self) -> (Option<RateLimit>, Option<RateLimit>, Option<RateLimit>) {
        if self.insecure_no_rate_limit {
            return (None, None, None);
        }
        (
            Some(RateLimit { per_minute: self.rate_limit_per_minute, burst: self.rate_limit_burst }),
            Some(RateLimit { per_minute: self.captcha_per_minute, burst: self.captcha_burst }),
            Some(RateLimit { per_minute: self.receipt_lookups_per_minute, burst: self.receipt_lookup_burst }),
        )
    }

    /// The email channel's settings for the use cases, the accounts checked.
    pub fn mail_settings(&self) -> Result<yijian_app::mail::MailSettings> {
        Ok(yijian_app::mail::MailSettings {
            imap: self.mail.imap_account()?,
            smtp: self.mail.smtp_account()?,
            limits: self.mail.limits(),
            replies: self.mail.replies,
            reply: yijian_mail::reply::ReplySettings {
                public_url: self.public_url.clone(),
                max_per_address: self.mail.replies_per_address_per_day,
                window: jiff::SignedDuration::from_hours(24),
            },
            poll_every: std::time::Duration::from_secs(self.mail.poll_seconds),
        })
    }

    /// The search index lives beside the key file, in the data directory.
    pub fn search_dir(&self) -> PathBuf {
        self.data.join("search")
    }

    pub fn store_options(&self) -> yijian_store::StoreOptions {
        yijian_store::StoreOptions {
            data_dir: self.data.clone(),
            database_url: self.database.clone(),
            master_key: std::env::var(yijian_crypto::MASTER_KEY_ENV).ok(),
            max_batch: self.group_commit_max,
            max_queue: self.intake_queue,
            audit_anchor: self.audit_anchor.clone(),
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
// `Jail`'s closures must return `figment::Result`, whose error is large; only tests use it.
#[allow(clippy::result_large_err)]
mod tests {
    use figment::Jail;
    use yijian_mail::imap::Security;

    use super::*;

    // Every test runs in a `Jail`: it holds a lock, so the variables one test sets are never
    // seen by another that loads the configuration at the same time, and removes them after.

    #[test]
    fn example_config_parses_and_matches_defaults() {
        Jail::expect_with(|_| {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("yijian.example.toml");
            let c = Config::load(Some(&path), Overrides::default()).unwrap();
            assert_eq!(c, Config::default());
            Ok(())
        });
    }

    #[test]
    fn layers_override_in_order() {
        Jail::expect_with(|jail| {
            jail.create_file("c.toml", "listen = \"127.0.0.1:9000\"\ndemo = false\n")?;
            let path = jail.directory().join("c.toml");
            let c = Config::load(Some(&path), Overrides::default()).unwrap();
            assert_eq!((c.listen.as_str(), c.demo), ("127.0.0.1:9000", false));
            jail.set_env("YIJIAN_LISTEN", "127.0.0.1:9001");
            let c = Config::load(Some(&path), Overrides::default()).unwrap();
            assert_eq!((c.listen.as_str(), c.demo), ("127.0.0.1:9001", false));
            let c = Config::load(Some(&path), Overrides { listen: Some("0.0.0.0:1".into()), ..Default::default() })
                .unwrap();
            assert_eq!(c.listen, "0.0.0.0:1");
            Ok(())
        });
    }

    #[test]
    fn every_setting_comes_from_the_environment_by_its_path() {
        Jail::expect_with(|jail| {
            jail.set_env("YIJIAN_SECURE_COOKIES", "true");
            jail.set_env("YIJIAN_TRUSTED_PROXIES", "[\"10.0.0.1\"]");
            jail.set_env("YIJIAN_MAIL__POLL_SECONDS", "60");
            jail.set_env("YIJIAN_HTTP__HEADER_READ_TIMEOUT_SECONDS", "5");
            jail.set_env("YIJIAN_HTTP__MAX_CONNECTIONS", "20000");
            jail.set_env("YIJIAN_CAPTCHA_BURST", "3");
            jail.set_env("YIJIAN_MAIL__REPLIES", "false");
            jail.set_env("YIJIAN_MAIL__IMAP__HOST", "127.0.0.1");
            jail.set_env("YIJIAN_MAIL__IMAP__SECURITY", "plain");
            jail.set_env("YIJIAN_MAIL__IMAP__USERNAME", "comments@example.org");
            jail.set_env("YIJIAN_MAIL__IMAP__PASSWORD", "secret");
            jail.set_env("YIJIAN_MAIL__IMAP__MOVE_TO", "Done");
            jail.set_env("YIJIAN_MAIL__SMTP__HOST", "localhost");
            jail.set_env("YIJIAN_MAIL__SMTP__SECURITY", "plain");
            jail.set_env("YIJIAN_MAIL__SMTP__FROM", "意见征集 <yijian@example.org>");
            // Not settings, and so not unknown settings either.
            jail.set_env("YIJIAN_MASTER_KEY", "ab".repeat(32));
            jail.set_env("YIJIAN_TEST_POSTGRES", "postgres://postgres@127.0.0.1/test");
            let c = Config::load(None, Overrides::default()).unwrap();
            assert_eq!(c.secure_cookies, Some(true));
            assert_eq!(c.trusted_proxies, ["10.0.0.1"]);
            assert_eq!((c.mail.poll_seconds, c.mail.replies), (60, false));
            assert_eq!(c.captcha_burst, 3);
            let limits = c.http.limits();
            assert_eq!(limits.header_read_timeout, std::time::Duration::from_secs(5));
            assert_eq!(limits.max_connections, 20_000);
            assert_eq!(limits.body_read_timeout, std::time::Duration::from_secs(30), "the default");
            let imap = c.mail.imap_account().unwrap().unwrap();
            assert_eq!(
                (imap.host.as_str(), imap.security, imap.username.as_str(), imap.password.as_str()),
                ("127.0.0.1", Security::Plain, "comments@example.org", "secret")
            );
            assert_eq!((imap.mailbox.as_str(), imap.move_to.as_deref(), imap.port), ("INBOX", Some("Done"), None));
            let smtp = c.mail.smtp_account().unwrap().unwrap();
            assert_eq!((smtp.host.as_str(), smtp.from.as_str()), ("localhost", "意见征集 <yijian@example.org>"));
            let settings = c.mail_settings().unwrap();
            assert_eq!(settings.poll_every, std::time::Duration::from_secs(60));
            assert!(!settings.replies && settings.imap.is_some() && settings.smtp.is_some());
            Ok(())
        });
    }

    #[test]
    fn the_environment_completes_and_overrides_a_section_of_the_file() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "c.toml",
                "[mail.imap]\nhost = \"127.0.0.1\"\nsecurity = \"plain\"\nusername = \"u\"\npassword = \"in-file\"\n",
            )?;
            let path = jail.directory().join("c.toml");
            jail.set_env("YIJIAN_MAIL__IMAP__MAILBOX", "Comments");
            jail.set_env("YIJIAN_MAIL__IMAP__PASSWORD", "from-env");
            let imap = Config::load(Some(&path), Overrides::default()).unwrap().mail.imap_account().unwrap().unwrap();
            assert_eq!((imap.host.as_str(), imap.mailbox.as_str()), ("127.0.0.1", "Comments"));
            assert_eq!(imap.password, "from-env");
            // The older variable still wins, and is taken verbatim (digits stay a string).
            jail.set_env("YIJIAN_IMAP_PASSWORD", "123456");
            let imap = Config::load(Some(&path), Overrides::default()).unwrap().mail.imap_account().unwrap().unwrap();
            assert_eq!(imap.password, "123456");
            Ok(())
        });
    }

    #[test]
    fn bad_settings_from_the_environment_are_clear_errors() {
        let cases = [
            ("YIJIAN_MAIL__MAX_ATTACHMENTS", "0", "mail.max_attachments"),
            ("YIJIAN_MAIL__POLL", "5", "poll"),
            ("YIJIAN_MAIL__IMAP__HOST", "imap.example.org", "username"),
            ("YIJIAN_GROUP_COMMIT_MAX", "0", "group_commit_max"),
            ("YIJIAN_INTAKE_QUEUE", "0", "intake_queue"),
            ("YIJIAN_CAMPAIGN_PASS_SECONDS", "61", "campaign_pass_seconds"),
            ("YIJIAN_SUGGESTION_PASS_SECONDS", "61", "suggestion_pass_seconds"),
            ("YIJIAN_HTTP__MAX_CONNECTIONS", "0", "http.max_connections"),
            ("YIJIAN_HTTP__BODY_READ_TIMEOUT_SECONDS", "0", "http.body_read_timeout_seconds"),
            ("YIJIAN_CAPTCHA_PER_MINUTE", "0", "captcha_per_minute"),
            ("YIJIAN_CAPTCHA_POOL", "100001", "captcha_pool"),
            ("YIJIAN_DATABASE", "mysql://x", "database"),
            ("YIJIAN_METRICS_LISTEN", "localhost", "metrics_listen"),
        ];
        for (name, value, needle) in cases {
            Jail::expect_with(|jail| {
                jail.set_env(name, value);
                let err = Config::load(None, Overrides::default()).unwrap_err().to_string();
                assert!(err.contains(needle), "{name}={value}: {err}");
                Ok(())
            });
        }
    }

    #[test]
    fn bad_files_are_clear_errors() {
        Jail::expect_with(|jail| {
            let cases = [
                ("lisen = \"x\"\n", "lisen"),
                ("demo = \"yes\"\n", "demo"),
                ("group_commit_max = 0\n", "group_commit_max"),
                ("database = \"mysql://x\"\n", "database"),
                ("rate_limit_burst = 0\n", "rate_limit_burst"),
                ("[http]\nidle_seconds = 5\n", "idle_seconds"),
                ("trusted_proxies = [\"proxy.local\"]\n", "proxy.local"),
                ("listen = \n", "c.toml"),
                ("[mail]\nmax_attachments = 0\n", "mail.max_attachments"),
                ("[mail.imap]\nhost = \"imap.example.org\"\nusername = \"u\"\nsecurity = \"plain\"\n", "loopback"),
                (
                    "[mail.imap]\nhost = \"imap.example.org\"\nusername = \"u\"\nsecurity = \"ssl\"\n",
                    "mail.imap.security",
                ),
                ("[mail.imap]\nhost = \"h\"\nusername = \"u\"\nfolder = \"INBOX\"\n", "folder"),
                ("[mail.smtp]\nhost = \"smtp.example.org\"\n", "from"),
                ("[mail]\npoll = 5\n", "poll"),
                ("public_url = \"example.org\"\n", "public_url"),
            ];
            let path = jail.directory().join("c.toml");
            for (text, needle) in cases {
                jail.create_file("c.toml", text)?;
                let err = Config::load(Some(&path), Overrides::default()).unwrap_err().to_string();
                assert!(err.contains(needle), "{text:?}: {err}");
            }
            let err = Config::load(Some(&jail.directory().join("missing.toml")), Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("does not exist"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn an_https_site_has_secure_cookies_and_compulsory_admin_totp_unless_told_otherwise() {
        Jail::expect_with(|jail| {
            let c = Config::load(None, Overrides::default()).unwrap();
            assert!(!c.secure_cookies() && !c.require_admin_totp(), "a plain-http test server");
            jail.set_env("YIJIAN_PUBLIC_URL", "https://yijian.example.gov.cn");
            let c = Config::load(None, Overrides::default()).unwrap();
            assert!(c.secure_cookies() && c.require_admin_totp() && c.https());
            jail.set_env("YIJIAN_SECURE_COOKIES", "false");
            let flags = Overrides { require_admin_totp: Some(false), ..Default::default() };
            let c = Config::load(None, flags).unwrap();
            assert!(!c.secure_cookies() && !c.require_admin_totp(), "an explicit setting wins");
            jail.set_env("YIJIAN_PUBLIC_URL", "http://127.0.0.1:8080");
            jail.set_env("YIJIAN_REQUIRE_ADMIN_TOTP", "true");
            let c = Config::load(None, Overrides::default()).unwrap();
            assert!(c.require_admin_totp());
            assert_eq!(c.session_idle(), jiff::SignedDuration::from_mins(30));
            jail.set_env("YIJIAN_SESSION_IDLE_MINUTES", "0");
            assert!(Config::load(None, Overrides::default()).unwrap_err().to_string().contains("session_idle_minutes"));
            Ok(())
        });
    }
}
