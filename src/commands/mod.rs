//! One module per command. Each takes the configuration, loaded once by [`load`], and runs its
//! use cases on the application that [`with_app`] opens, and closes again on every path.

pub mod articles;
pub mod audit;
pub mod backup;
pub mod campaigns;
pub mod consultation;
pub mod export;
pub mod mail;
pub mod search;
pub mod serve;
pub mod themes;
pub mod token;
pub mod user;

use anyhow::{Context, Result};
use yijian_app::{App, AppOptions};

use crate::cli::{Command, DataArgs};
use crate::config::{Config, Overrides};

/// Loads the configuration (defaults, file, environment, flags) and starts logging: the server
/// logs at the configured level, the other commands only warnings, so their output stays clean.
pub fn load(command: &Command) -> Result<Config> {
    let data = command.data();
    let (overrides, quiet) = match command {
        Command::Serve(args) => (
            Overrides {
                listen: args.listen.clone(),
                demo: args.no_demo.then_some(false),
                insecure_no_captcha: args.insecure_no_captcha.then_some(true),
                insecure_no_rate_limit: args.insecure_no_rate_limit.then_some(true),
                require_admin_totp: args.require_admin_totp,
                ..Overrides::from(data)
            },
            false,
        ),
        _ => (Overrides::from(data), true),
    };
    let config = Config::load(data.config.as_deref(), overrides)?;
    init_logging(&config, quiet);
    Ok(config)
}

impl From<&DataArgs> for Overrides {
    fn from(d: &DataArgs) -> Overrides {
        Overrides { data: d.data.clone(), database: d.database.clone(), ..Overrides::default() }
    }
}

fn init_logging(config: &Config, quiet: bool) {
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| if quiet { "warn".into() } else { config.log.clone() });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal; a log file or journald gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Opens the store and the application over it, runs `work`, and closes the store whatever
/// `work` returned, so that queued writes are committed and the connections let go on an error
/// too.
pub async fn with_app<T>(config: &Config, work: impl AsyncFnOnce(&App) -> Result<T>) -> Result<T> {
    let options =
        AppOptions { insecure_no_captcha: config.insecure_no_captcha, session_idle: Some(config.session_idle()) };
    let app = App::open(&config.store_options(), options)
        .await
        .with_context(|| format!("cannot open the data store ({})", config.describe_database()))?;
    let result = work(&app).await;
    app.close().await;
    result
}

/// Who did it, for the audit log: the operator's login on this machine.
pub fn cli_actor() -> String {
    use std::os::unix::fs::MetadataExt;
    let who = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| {
        // No login name in the environment (a service, a container): the uid still says who.
        std::fs::metadata("/proc/self").map(|m| format!("uid {}", m.uid())).unwrap_or_else(|_| "unknown".into())
    });
    format!("cli:{who}")
}

/// A spinner with a message, on a terminal only.
pub fn spinner(what: &str) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message(what.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    Some(bar)
}

/// A progress bar on a terminal only: scripts and pipes get clean output.
pub fn progress_bar(total: u64, what: &str) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} ({eta})") {
        bar.set_style(style);
    }
    bar.set_message(what.to_string());
    Some(bar)
}
