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
const ENV_KEYS: [&str; 12] = [
    "secure_cookies",
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
        if let Some(url) = &self.database
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://") || url.starts_with("sqlite:"))
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
