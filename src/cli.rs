//! The command line: every command, flag and help text. `main` parses it; `commands` runs it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use yijian_domain::staff::Role;
use yijian_formats::Format;

#[derive(Parser)]
#[command(
    name = "yijian",
    version,
    about = "意见 yijian — public consultations: drafts for comment, durable private intake"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the web server (public pages, the back office and the JSON API), loading the demo consultation into an empty database.
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
    /// Campaigns: comments whose texts are copies or near-copies of one another.
    Campaigns {
        #[command(subcommand)]
        command: CampaignsCommand,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Article suggestions: which articles of the draft each comment seems to speak to.
    Articles {
        #[command(subcommand)]
        command: ArticlesCommand,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Themes: the main points made about each article, confirmed by staff for the report.
    Themes {
        #[command(subcommand)]
        command: ThemesCommand,
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
    /// Copy a SQLite installation, while it runs, into one file (the database and the audit
    /// anchor; the search index is rebuilt after a restore). The master key is NOT in it: keep
    /// the key apart. On PostgreSQL, use pg_dump (see deploy/README.md).
    Backup(BackupArgs),
    /// Bring a backup made by `yijian backup` back into an empty or new --data directory; then
    /// put the master key back (DIR/master.key or YIJIAN_MASTER_KEY).
    Restore(RestoreArgs),
    /// Read and check the audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Add a staff account.
    Add {
        name: String,
        #[arg(long)]
        role: RoleArg,
    },
    /// List staff accounts.
    List,
    /// Stop an account from logging in.
    Disable { name: String },
    /// Let a disabled account log in again.
    Enable { name: String },
    /// Change an account's role.
    SetRole { name: String, role: RoleArg },
    /// Set a new password for an account; its sessions end.
    ResetPassword { name: String },
    /// Turn an account's two-step login off (a lost authenticator): it signs in with the
    /// password alone and sets two-step login up again.
    ResetTotp { name: String },
}

#[derive(Subcommand)]
pub enum TokenCommand {
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
pub struct ExportArgs {
    /// The consultation's id
    #[arg(long)]
    pub consultation: String,
    #[arg(long)]
    pub format: FormatArg,
    /// Where to write the file (replaced if it exists)
    #[arg(long, value_name = "FILE")]
    pub output: PathBuf,
    /// Export full ID and phone numbers (needs --reason)
    #[arg(long, requires = "reason")]
    pub include_personal_data: bool,
    /// Why personal data is exported; recorded in the audit log
    #[arg(long)]
    pub reason: Option<String>,
    #[command(flatten)]
    pub data: DataArgs,
}

#[derive(Args)]
pub struct BackupArgs {
    /// The backup file to write (mode 0600; replaced if it exists)
    #[arg(long, value_name = "FILE")]
    pub output: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
}

#[derive(Args)]
pub struct RestoreArgs {
    /// A file written by `yijian backup`
    pub file: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
}

#[derive(Subcommand)]
pub enum MailCommand {
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
pub enum SearchCommand {
    /// Rebuild the index from the database. If the server is running (it holds the index),
    /// ask it to rebuild instead.
    Reindex,
}

#[derive(Subcommand)]
pub enum CampaignsCommand {
    /// Find every campaign of a consultation afresh; each keeps its id and what staff decided.
    /// Prints one JSON line at the end: {"comments": N, "campaigns": K, "in_campaigns": M, "seconds": S}.
    Detect {
        /// The consultation's id
        #[arg(long)]
        consultation: String,
    },
}

#[derive(Subcommand)]
pub enum ArticlesCommand {
    /// Suggest articles for every comment of a consultation afresh: open suggestions are
    /// replaced; those staff accepted or rejected stay. Prints one JSON line at the end:
    /// {"comments": N, "suggested": M, "seconds": S}.
    Suggest {
        /// The consultation's id
        #[arg(long)]
        consultation: String,
    },
}

#[derive(Subcommand)]
pub enum ThemesCommand {
    /// Build a consultation's themes; a re-run keeps everything staff did (names, merges,
    /// splits, moves, confirmations, decisions) and places only comments in no theme yet.
    /// Prints one JSON line at the end: {"comments": N, "themes": K, "seconds": S}.
    Build {
        /// The consultation's id
        #[arg(long)]
        consultation: String,
    },
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Print the audit log, oldest first.
    List,
    /// Check the keyed chain and the anchor of its head: an edited, removed, inserted or
    /// re-chained entry, or entries cut from the end, are reported.
    Verify,
}

/// Where the data lives; every command that touches data takes these.
#[derive(Args, Clone, Default)]
pub struct DataArgs {
    /// Directory for the SQLite database and the key file [default: ./yijian-data]
    #[arg(long, value_name = "DIR", global = true)]
    pub data: Option<PathBuf>,
    /// Database URL: postgres://… (the key file still lives under --data) [default: SQLite under --data]
    #[arg(long, value_name = "URL", global = true)]
    pub database: Option<String>,
    /// TOML configuration file; YIJIAN_* environment variables override it, flags override both
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
}

#[derive(Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Start with an empty database instead of loading the demo consultation
    #[arg(long)]
    pub no_demo: bool,
    /// Whether admins must use two-step login (an admin without it can only set it up)
    /// [default: true when public_url is https://…, else false]
    #[arg(long, value_name = "BOOL")]
    pub require_admin_totp: Option<bool>,
    /// Accept comments without a captcha. FOR TESTS AND BENCHMARKS ONLY
    #[arg(long)]
    pub insecure_no_captcha: bool,
    /// Turn off the per-client limits on submissions, captchas and receipt look-ups (sign-in protections stay on). FOR BENCHMARKS AND LOAD TESTS ONLY
    #[arg(long)]
    pub insecure_no_rate_limit: bool,
}

#[derive(Subcommand)]
pub enum ConsultationCommand {
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

impl Command {
    /// Where the data lives, for every command.
    pub fn data(&self) -> &DataArgs {
        match self {
            Command::Serve(args) => &args.data,
            Command::Consultation(ConsultationCommand::Import { data, .. } | ConsultationCommand::List { data }) => {
                data
            }
            Command::Export(args) => &args.data,
            Command::Backup(args) => &args.data,
            Command::Restore(args) => &args.data,
            Command::User { data, .. }
            | Command::Token { data, .. }
            | Command::Search { data, .. }
            | Command::Campaigns { data, .. }
            | Command::Articles { data, .. }
            | Command::Themes { data, .. }
            | Command::Mail { data, .. }
            | Command::Audit { data, .. } => data,
        }
    }
}

/// A staff role, as the command line spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    Admin,
    Reviewer,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Role {
        match role {
            RoleArg::Admin => Role::Admin,
            RoleArg::Reviewer => Role::Reviewer,
        }
    }
}

/// An export format, as the command line spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Csv,
    Xlsx,
    Jsonl,
}

impl From<FormatArg> for Format {
    fn from(format: FormatArg) -> Format {
        match format {
            FormatArg::Csv => Format::Csv,
            FormatArg::Xlsx => Format::Xlsx,
            FormatArg::Jsonl => Format::Jsonl,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn roles_and_formats_are_spelt_as_the_rest_of_yijian_spells_them() {
        for role in RoleArg::value_variants() {
            let name = role.to_possible_value().unwrap();
            assert_eq!(Role::from(*role).as_str(), name.get_name());
        }
        for format in FormatArg::value_variants() {
            let name = format.to_possible_value().unwrap();
            assert_eq!(Format::from(*format).as_str(), name.get_name());
        }
    }
}
