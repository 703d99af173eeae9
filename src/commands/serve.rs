//! `yijian serve`: the web server, the search indexer and the mail poll.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use jiff::Timestamp;
use yijian_app::App;
use yijian_domain::file;

use crate::config::Config;

/// The demo consultation: the repaired reference notice.
const DEMO: &str = include_str!("../../demo/ln-hrss-ai-2025.md");
/// How long the demo stays open from the moment `serve` first loads it.
const DEMO_DAYS: i64 = 30;

pub async fn run(config: Config) -> Result<()> {
    if config.insecure_no_captcha {
        tracing::warn!(
            "!!! --insecure-no-captcha: comments are accepted WITHOUT a captcha. For tests and benchmarks only; never in production !!!"
        );
    }
    if config.insecure_no_rate_limit {
        tracing::warn!(
            "!!! --insecure-no-rate-limit: submissions, captchas and receipt look-ups are NOT rate-limited. For benchmarks and load tests only; never in production !!!"
        );
    }
    let listen: SocketAddr = config
        .listen
        .parse()
        .with_context(|| format!("listen address `{}` is not HOST:PORT (for example 127.0.0.1:8080)", config.listen))?;
    super::with_app(&config, async |app| serve(&config, app, listen).await).await
}

async fn serve(config: &Config, app: &App, listen: SocketAddr) -> Result<()> {
    tracing::info!(store = %app.describe(), "store open");
    if config.demo && !app.has_consultations().await? {
        let mut demo = file::parse(DEMO).map_err(|e| anyhow::anyhow!("the built-in demo is broken: {e}"))?;
        let now = Timestamp::now();
        demo.meta.reschedule_from(now, DEMO_DAYS);
        app.import_consultation(&demo, true, now).await?;
        tracing::info!(id = %demo.meta.id, "loaded the demo consultation, open for {DEMO_DAYS} days");
    }
    let mail = config.mail_settings()?;
    let mut app = app.clone().with_mail(yijian_app::MailSettings {
        limits: mail.limits.clone(),
        replier: app.mail_replier(&mail)?.map(Arc::new),
    });
    match yijian_analysis::SearchIndex::open(&config.search_dir()) {
        Ok(index) => {
            app.spawn_indexer(&index);
            app = app.with_search(index);
        }
        Err(e) => tracing::error!(error = %e, "the search index cannot be opened; full-text search is off"),
    }
    app.spawn_mail_poll(&mail)?;
    if config.campaign_pass_seconds > 0 {
        app.spawn_campaign_pass(std::time::Duration::from_secs(config.campaign_pass_seconds));
    }
    if config.suggestion_pass_seconds > 0 {
        app.spawn_suggestion_pass(std::time::Duration::from_secs(config.suggestion_pass_seconds));
    }
    app = app.with_signals(config.signals.settings()?);
    app.spawn_signals();
    if config.captcha_pool > 0 {
        app.captchas().spawn_pool(config.captcha_pool);
    }
    spawn_session_purge(app.clone());
    let (rate_limit, captcha_rate_limit, lookup_limit) = config.rate_limits();
    let leases = app.clone();
    let state = yijian_web::AppState::with_app(
        app,
        yijian_web::WebOptions {
            insecure_no_captcha: config.insecure_no_captcha,
            rate_limit,
            captcha_rate_limit,
            lookup_limit,
            connections: config.http.limits(),
            trusted_proxies: config.trusted_proxy_ips()?,
            secure_cookies: config.secure_cookies(),
            hsts: config.https(),
            require_admin_totp: config.require_admin_totp(),
            session_idle: Some(config.session_idle()),
        },
    );
    match yijian_web::raise_open_files_limit() {
        Some(n) if (n as usize) < config.http.max_connections + 256 => tracing::warn!(
            open_files = n,
            max_connections = config.http.max_connections,
            "the open-files limit is below http.max_connections: raise the hard limit (e.g. LimitNOFILE=)"
        ),
        n => tracing::debug!(open_files = ?n, "open-files limit"),
    }
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    let local = listener.local_addr()?;
    let metrics_listener = match config.metrics_address()? {
        Some(address) => Some(
            tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("cannot listen on {address} (metrics_listen)"))?,
        ),
        None => None,
    };
    let (stop, stopping) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    let until_stopped = move || {
        let mut stopping = stopping.clone();
        async move {
            let _ = stopping.wait_for(|s| *s).await;
        }
    };
    let metrics = match metrics_listener {
        Some(listener) => {
            let address = listener.local_addr()?;
            // Tests and scripts read this line to find the port.
            println!("yijian metrics on http://{address}/metrics");
            tracing::info!(%address, "serving /metrics without a token (metrics_listen)");
            Some(tokio::spawn(yijian_web::serve_metrics(listener, state.clone(), until_stopped())))
        }
        None => None,
    };
    // Tests and scripts read this line to find the port.
    println!("yijian listening on http://{local}");
    tracing::info!(%local, "listening");
    yijian_web::serve(listener, state, until_stopped()).await?;
    if let Some(metrics) = metrics {
        let _ = metrics.await;
    }
    if let Err(e) = leases.release_leases().await {
        tracing::warn!(error = %e, "could not give up this node's leases; others take over when they expire");
    }
    tracing::info!("requests drained; committing what is queued and closing the store");
    Ok(())
}

/// Deletes ended and idle sessions every ten minutes (sign-in purges them too).
fn spawn_session_purge(app: App) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(600));
        loop {
            every.tick().await;
            match app.purge_sessions(Timestamp::now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(sessions = n, "ended sessions purged"),
                Err(e) => tracing::warn!(error = %e, "purging ended sessions failed"),
            }
        }
    });
}

/// How long after SIGTERM the process ends whatever it is doing: the drain takes at most
/// `http.drain_timeout` (8 s), and closing the store a moment; this is the backstop for
/// something stuck, below the 10 s a node promises (and systemd's TimeoutStopSec).
const EXIT_DEADLINE: std::time::Duration = std::time::Duration::from_millis(9_500);

/// Waits for SIGTERM or Ctrl-C, then starts the backstop that ends the process at
/// [`EXIT_DEADLINE`]. Ending it there loses nothing acknowledged: a comment is acknowledged
/// only once its commit is durable.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = ctrl_c => {},
        _ = term.recv() => {},
    }
    tracing::info!("shutting down: no new connections; finishing the requests under way");
    // A thread, not a task: it must fire even if the runtime is what is stuck.
    std::thread::spawn(|| {
        std::thread::sleep(EXIT_DEADLINE);
        tracing::error!(
            "shutdown took longer than {EXIT_DEADLINE:?}: exiting now (everything acknowledged is committed)"
        );
        std::process::exit(0);
    });
}
