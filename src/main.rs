//! `yijian`: one binary for the whole platform. See `yijian --help`.

mod config;
mod mail;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use jiff::Timestamp;
use yijian_domain::file;
use yijian_store::{ImportOutcome, Store};

use crate::config::{Config, Overrides};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The demo consultation: the repaired reference notice.
const DEMO: &str = include_str!("../demo/ln-hrss-ai-2025.md");
/// How long the demo stays open from the moment `serve` first loads it.
const DEMO_DAYS: i64 = 30;

#[derive(Parser)]
#[command(
    name = "yijian",
    version,
    about = "意见 yijian — public consultations: drafts for comment, durable private intake"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server (public API), loading the demo consultation into an empty database.
    Serve(ServeArgs),
    /// Import and list consultations.
    #[command(subcommand)]
    Consultation(ConsultationCommand),
    /// Manage staff accounts. Passwords are read from standard input or a prompt, never from
    /// the command line.
    User {
        #[command(subcommand)]
        command: UserCommand,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Bearer tokens for the admin API. A token is printed once, when it is made.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Export a consultation's comments to CSV, XLSX or JSONL. ID and phone numbers are masked
    /// unless --include-personal-data is given with a --reason, which goes to the audit log.
    Export(ExportArgs),
    /// The full-text search index of opinions.
    Search {
        #[command(subcommand)]
        command: SearchCommand,
        #[command(flatten)]
        data: DataArgs,
    },
    /// The email channel: fetch from the IMAP mailbox, or import .eml files and mbox archives.
    Mail {
        #[command(subcommand)]
        command: MailCommand,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Read and check the audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a staff account.
    Add {
        name: String,
        #[arg(long, value_parser = ["admin", "reviewer"])]
        role: String,
    },
    /// List staff accounts.
    List,
    /// Stop an account from logging in.
    Disable { name: String },
    /// Let a disabled account log in again.
    Enable { name: String },
    /// Change an account's role.
    SetRole {
        name: String,
        #[arg(value_parser = ["admin", "reviewer"])]
        role: String,
    },
    /// Set a new password for an account.
    ResetPassword { name: String },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Make a token that acts as USER.
    Create {
        #[arg(long)]
        user: String,
        /// Days until it expires [default: never]
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=3650))]
        expires: Option<u32>,
    },
    /// List tokens (never the tokens themselves).
    List,
    /// Revoke a token by its id.
    Revoke { id: String },
}

#[derive(Args)]
struct ExportArgs {
    /// The consultation's id
    #[arg(long)]
    consultation: String,
    #[arg(long, value_parser = ["csv", "xlsx", "jsonl"])]
    format: String,
    /// Where to write the file (replaced if it exists)
    #[arg(long, value_name = "FILE")]
    output: PathBuf,
    /// Export full ID and phone numbers (needs --reason)
    #[arg(long, requires = "reason")]
    include_personal_data: bool,
    /// Why personal data is exported; recorded in the audit log
    #[arg(long)]
    reason: Option<String>,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Subcommand)]
enum MailCommand {
    /// Fetch new mail from the [mail.imap] mailbox once (replies too, when [mail.smtp] is set
    /// and mail.replies is on). Prints one JSON line: what became of the mails.
    Fetch,
    /// Import .eml files and mbox archives. Prints one JSON line on stdout:
    /// {"imported": N, "duplicates": N, "unrouted": N, "rejected": [{"file": …, "reason": …}], …}
    /// and exits 0 whenever it ran, even if some mails were rejected.
    Import {
        /// .eml files and mbox archives
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Send each routed mail its automatic reply (needs [mail.smtp]); off by default, since
        /// an archive's mails are usually old.
        #[arg(long)]
        reply: bool,
    },
}

#[derive(Subcommand)]
enum SearchCommand {
    /// Rebuild the index from the database. If the server is running (it holds the index),
    /// ask it to rebuild instead.
    Reindex,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Print the audit log, oldest first.
    List,
    /// Check the hash chain: an edited, removed or inserted entry is reported.
    Verify,
}

/// Where the data lives; every command that touches data takes these.
#[derive(Args, Clone, Default)]
struct DataArgs {
    /// Directory for the SQLite database and the key file [default: ./yijian-data]
    #[arg(long, value_name = "DIR", global = true)]
    data: Option<PathBuf>,
    /// Database URL: postgres://… (the key file still lives under --data) [default: SQLite under --data]
    #[arg(long, value_name = "URL", global = true)]
    database: Option<String>,
    /// TOML configuration file; YIJIAN_* environment variables override it, flags override both
    #[arg(long, value_name = "FILE", global = true)]
    config: Option<PathBuf>,
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Start with an empty database instead of loading the demo consultation
    #[arg(long)]
    no_demo: bool,
    /// Accept comments without a captcha. FOR TESTS AND BENCHMARKS ONLY
    #[arg(long)]
    insecure_no_captcha: bool,
    /// Turn off the per-address limit on submissions. FOR BENCHMARKS AND LOAD TESTS ONLY
    #[arg(long)]
    insecure_no_rate_limit: bool,
}

#[derive(Subcommand)]
enum ConsultationCommand {
    /// Import a consultation file (TOML front matter + Markdown draft). A changed text of an
    /// existing consultation becomes a new version; the same text changes nothing.
    Import {
        /// The consultation file
        file: PathBuf,
        #[command(flatten)]
        data: DataArgs,
    },
    /// List the consultations with their status.
    List {
        #[command(flatten)]
        data: DataArgs,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let overrides = Overrides {
                listen: args.listen,
                demo: args.no_demo.then_some(false),
                insecure_no_captcha: args.insecure_no_captcha.then_some(true),
                insecure_no_rate_limit: args.insecure_no_rate_limit.then_some(true),
                ..Overrides::from_data(&args.data)
            };
            let config = Config::load(args.data.config.as_deref(), overrides)?;
            serve(config).await
        }
        Command::Consultation(ConsultationCommand::Import { file, data }) => {
            let config = Config::load(data.config.as_deref(), Overrides::from_data(&data))?;
            init_logging(&config, true);
            import(&config, &file).await
        }
        Command::User { command, data } => {
            let config = Config::load(data.config.as_deref(), Overrides::from_data(&data))?;
            init_logging(&config, true);
            user(&config, command).await
        }
        Command::Token { command, data } => {
            let config = Config::load(data.config.as_deref(), Overrides::from_data(&data))?;
            init_logging(&config, true);
            token(&config, command).await
        }
        Command::Audit { command, data } => {
            let config = Config::load(data.config.as_deref(), Overrides::from_data(&data))?;
            init_logging(&config, true);
            audit(&config, command).await
        }
        Command::Export(args) => {
            let config = Config::load(args.data.config.as_deref(), Overrides::from_data(&args.data))?;
            init_logging(&config, true);
            export(&config, args).await
        }
        Command::Search { command: SearchCommand::Reindex, data } => {
            let config = Config::load(data.config.as_deref(), Overrides::from_data(&data))?;
            init_logging(&config, true);
            reindex(&config).await
        }
        Command::Mail { command, data } => {
            let config = Config::load(data.config.as_deref(), Overrides::from_data(&data))?;
            init_logging(&config, true);
            let store = open_store(&config).await?;
            let done = match command {
                MailCommand::Fetch => mail::fetch(&config, &store).await,
                MailCommand::Import { files, reply } => mail::import(&config, &store, &files, reply).await,
            };
            store.close().await;
            done
        }
        Command::Consultation(ConsultationCommand::List { data }) => {
            let config = Config::load(data.config.as_deref(), Overrides::from_data(&data))?;
            init_logging(&config, true);
            list(&config).await
        }
    }
}

impl Overrides {
    fn from_data(d: &DataArgs) -> Overrides {
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

async fn open_store(config: &Config) -> Result<Store> {
    Store::open(&config.store_options())
        .await
        .with_context(|| format!("cannot open the data store ({})", config.describe_database()))
}

async fn serve(config: Config) -> Result<()> {
    init_logging(&config, false);
    if config.insecure_no_captcha {
        tracing::warn!(
            "!!! --insecure-no-captcha: comments are accepted WITHOUT a captcha. For tests and benchmarks only; never in production !!!"
        );
    }
    if config.insecure_no_rate_limit {
        tracing::warn!(
            "!!! --insecure-no-rate-limit: submissions are NOT rate-limited. For benchmarks and load tests only; never in production !!!"
        );
    }
    let listen: SocketAddr = config
        .listen
        .parse()
        .with_context(|| format!("listen address `{}` is not HOST:PORT (for example 127.0.0.1:8080)", config.listen))?;
    let store = open_store(&config).await?;
    tracing::info!(key = ?store.key_source(), backend = ?store.backend(), "store open");
    if config.demo && !store.has_consultations().await? {
        let mut demo = file::parse(DEMO).map_err(|e| anyhow::anyhow!("the built-in demo is broken: {e}"))?;
        let now = Timestamp::now();
        demo.meta.reschedule_from(now, DEMO_DAYS);
        store.import_consultation(&demo, true, now).await?;
        tracing::info!(id = %demo.meta.id, "loaded the demo consultation, open for {DEMO_DAYS} days");
    }
    let state = yijian_web::AppState::new(
        store.clone(),
        yijian_web::WebOptions {
            insecure_no_captcha: config.insecure_no_captcha,
            rate_limit: (!config.insecure_no_rate_limit).then_some(yijian_web::limits::RateLimit {
                per_minute: config.rate_limit_per_minute,
                burst: config.rate_limit_burst,
            }),
            trusted_proxies: config.trusted_proxy_ips()?,
            secure_cookies: config.secure_cookies,
        },
    );
    let state = match yijian_analysis::SearchIndex::open(&search_dir(&config)) {
        Ok(index) => {
            yijian_app::indexing::spawn(store.clone(), index.clone());
            state.with_search(index)
        }
        Err(e) => {
            tracing::error!(error = %e, "the search index cannot be opened; full-text search is off");
            state
        }
    };
    let state = state.with_mail(yijian_web::mail::MailSettings {
        limits: config.mail.limits(),
        replier: mail::replier(&config, &store)?.map(std::sync::Arc::new),
    });
    mail::spawn_poll(&config, store.clone())?;
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    let local = listener.local_addr()?;
    // Tests and scripts read this line to find the port.
    println!("yijian listening on http://{local}");
    tracing::info!(%local, "listening");
    yijian_web::serve(listener, state, shutdown_signal()).await?;
    store.close().await;
    Ok(())
}

/// The search index lives beside the key file, in the data directory.
fn search_dir(config: &Config) -> PathBuf {
    config.data.join("search")
}

/// A spinner with a message, on a terminal only.
fn spinner(what: &str) -> Option<indicatif::ProgressBar> {
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
fn progress_bar(total: u64, what: &str) -> Option<indicatif::ProgressBar> {
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

async fn export(config: &Config, args: ExportArgs) -> Result<()> {
    let store = open_store(config).await?;
    let Some(c) = store.consultation(&args.consultation).await? else {
        bail!("no consultation `{}` (see `yijian consultation list`)", args.consultation);
    };
    let format: yijian_formats::Format = args.format.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    if args.include_personal_data && args.reason.as_deref().is_none_or(|r| r.trim().chars().count() < 4) {
        bail!("--include-personal-data needs --reason with at least 4 characters; it goes to the audit log");
    }
    let total = store.count_comments(&c.meta.id).await? as u64;
    let bar = progress_bar(total, "exporting");
    let req = yijian_app::export::ExportRequest {
        format,
        include_personal_data: args.include_personal_data,
        reason: args.reason.clone(),
        actor: cli_actor(),
    };
    let rows = yijian_app::export::export_consultation(&store, &c, &args.output, &req, jiff::Timestamp::now(), |n| {
        if let Some(b) = &bar {
            b.set_position(n);
        }
    })
    .await
    .with_context(|| format!("cannot export to {}", args.output.display()))?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    eprintln!(
        "exported {rows} comments to {}{}",
        args.output.display(),
        if args.include_personal_data { " WITH personal data (audited)" } else { " (ID and phone numbers masked)" }
    );
    Ok(())
}

async fn reindex(config: &Config) -> Result<()> {
    let store = open_store(config).await?;
    let index = yijian_analysis::SearchIndex::open(&search_dir(config)).context("cannot open the search index")?;
    match index.writer() {
        Ok(mut writer) => {
            let bar = progress_bar(store.count_all_comments().await? as u64, "indexing");
            let n = yijian_app::indexing::rebuild(&store, &mut writer, |n| {
                if let Some(b) = &bar {
                    b.set_position(n);
                }
            })
            .await
            .map_err(|e| anyhow::anyhow!("rebuilding the index failed: {e}"))?;
            if let Some(b) = bar {
                b.finish_and_clear();
            }
            eprintln!("indexed {n} comments");
        }
        Err(yijian_analysis::SearchError::Locked) => {
            store.request_search_reindex().await?;
            eprintln!("the running server holds the index; it will rebuild it within a second");
        }
        Err(e) => bail!("cannot write the search index: {e}"),
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = ctrl_c => {},
        _ = term.recv() => {},
    }
}

async fn import(config: &Config, path: &std::path::Path) -> Result<()> {
    let text = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let text = String::from_utf8(text)
        .map_err(|e| anyhow::anyhow!("{}: not UTF-8 text (byte {})", path.display(), e.utf8_error().valid_up_to()))?;
    let parsed = match file::parse(&text) {
        Ok(f) => f,
        Err(e) => bail!("{}:{}: {}\nnothing was imported", path.display(), e.line, e.message),
    };
    let store = open_store(config).await?;
    let sha = parsed.document.content_sha256();
    let outcome = store.import_consultation(&parsed, false, Timestamp::now()).await.map_err(|e| match e {
        yijian_store::StoreError::ClosedConsultation(id) => {
            anyhow::anyhow!("consultation {id} has closed; its text can no longer change. Nothing was imported")
        }
        other => anyhow::Error::from(other),
    })?;
    let id = &parsed.meta.id;
    match outcome {
        ImportOutcome::Created { version } => println!("created {id} version {version} (sha256 {sha})"),
        ImportOutcome::NewVersion { version } => println!("new version {version} of {id} (sha256 {sha})"),
        ImportOutcome::MetadataUpdated { version } => {
            println!("{id}: text unchanged (version {version}); settings updated")
        }
        ImportOutcome::Unchanged { version } => println!("{id}: unchanged (version {version})"),
    }
    store.close().await;
    Ok(())
}

async fn list(config: &Config) -> Result<()> {
    let store = open_store(config).await?;
    let now = Timestamp::now();
    let items = store.list_consultations().await?;
    if items.is_empty() {
        println!("no consultations");
    }
    for c in items {
        let tz = jiff::tz::TimeZone::get(&c.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
        println!(
            "{}\t{}\tv{}\t{} – {}\t{}{}",
            c.id,
            c.status(now).as_str(),
            c.version,
            c.opens_at.to_zoned(tz.clone()).strftime("%Y-%m-%d %H:%M"),
            c.closes_at.to_zoned(tz).strftime("%Y-%m-%d %H:%M"),
            c.title,
            if c.demo { "\t(演示 demo)" } else { "" }
        );
    }
    store.close().await;
    Ok(())
}

/// Who did it, for the audit log: the operator's login on this machine.
fn cli_actor() -> String {
    use std::os::unix::fs::MetadataExt;
    let who = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| {
        // No login name in the environment (a service, a container): the uid still says who.
        std::fs::metadata("/proc/self").map(|m| format!("uid {}", m.uid())).unwrap_or_else(|_| "unknown".into())
    });
    format!("cli:{who}")
}

/// A new password from a prompt (typed twice, not echoed) or the first line of standard input.
fn read_new_password() -> Result<String> {
    use std::io::IsTerminal;
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("New password: ")?;
        let second = rpassword::prompt_password("Again: ")?;
        if first != second {
            bail!("the two passwords differ; nothing was changed");
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    if let Some(problem) = yijian_domain::staff::password_problem(&password) {
        bail!("{problem}; nothing was changed");
    }
    Ok(password)
}

async fn user(config: &Config, command: UserCommand) -> Result<()> {
    use yijian_domain::staff::{Role, valid_username};
    let check_name = |name: &str| -> Result<()> {
        if !valid_username(name) {
            bail!(
                "`{name}` is not a user name: 2–32 lower-case letters, digits, `.`, `_` or `-`, starting with a letter"
            );
        }
        Ok(())
    };
    let role_of = |r: &str| Role::parse(r).ok_or_else(|| anyhow::anyhow!("unknown role {r}"));
    let actor = cli_actor();
    match command {
        UserCommand::Add { name, role } => {
            check_name(&name)?;
            let role = role_of(&role)?;
            let password = read_new_password()?;
            let app = open_app(config).await?;
            app.add_user(&actor, &name, role, &password, now()).await?;
            println!("added {name} ({})", role.as_str());
            app.close().await;
        }
        UserCommand::List => {
            let store = open_app(config).await?;
            let users = store.list_users().await?;
            if users.is_empty() {
                println!("no users");
            }
            for u in users {
                println!("{}\t{}\t{}", u.name, u.role.as_str(), if u.disabled { "disabled" } else { "enabled" });
            }
            store.close().await;
        }
        UserCommand::Disable { name } => {
            let store = open_app(config).await?;
            store.set_user_disabled(&actor, &name, true, now()).await?;
            println!("disabled {name}");
            store.close().await;
        }
        UserCommand::Enable { name } => {
            let store = open_app(config).await?;
            store.set_user_disabled(&actor, &name, false, now()).await?;
            println!("enabled {name}");
            store.close().await;
        }
        UserCommand::SetRole { name, role } => {
            let role = role_of(&role)?;
            let store = open_app(config).await?;
            store.set_user_role(&actor, &name, role, now()).await?;
            println!("{name} is now {}", role.as_str());
            store.close().await;
        }
        UserCommand::ResetPassword { name } => {
            let store = open_app(config).await?;
            if !store.list_users().await?.iter().any(|u| u.name == name) {
                bail!("no user named {name}");
            }
            let password = read_new_password()?;
            store.reset_password(&actor, &name, &password, now()).await?;
            println!("password of {name} changed");
            store.close().await;
        }
    }
    Ok(())
}

async fn audit(config: &Config, command: AuditCommand) -> Result<()> {
    let store = open_store(config).await?;
    match command {
        AuditCommand::List => {
            for e in store.audit_entries().await? {
                println!("{}\t{}\t{}\t{}\t{}\t{}", e.seq, e.at, e.actor, e.action, e.subject, e.detail);
            }
        }
        AuditCommand::Verify => match store.verify_audit_chain().await? {
            Ok(n) => println!("audit log intact: {n} entries"),
            Err(seq) => bail!("the audit log was tampered with at entry {seq}"),
        },
    }
    store.close().await;
    Ok(())
}

async fn token(config: &Config, command: TokenCommand) -> Result<()> {
    let store = open_app(config).await?;
    let actor = cli_actor();
    match command {
        TokenCommand::Create { user, expires } => {
            let (id, token) = store.create_token(&actor, &user, expires, now()).await?;
            eprintln!("token {id} for {user}; it is shown only now:");
            println!("{token}");
        }
        TokenCommand::List => {
            for t in store.list_tokens().await? {
                let state = if t.revoked {
                    "revoked".to_string()
                } else {
                    t.expires_at.map(|e| format!("expires {e}")).unwrap_or_else(|| "no expiry".into())
                };
                println!("{}\t{}\t{}\t{}", t.id, t.user, t.created_at, state);
            }
        }
        TokenCommand::Revoke { id } => {
            store.revoke_token(&actor, &id, now()).await?;
            println!("revoked {id}");
        }
    }
    store.close().await;
    Ok(())
}

/// The application over the configured store, for commands that run use cases.
async fn open_app(config: &Config) -> Result<yijian_app::App> {
    Ok(yijian_app::App::new(open_store(config).await?, yijian_app::AppOptions::default()))
}

fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}
