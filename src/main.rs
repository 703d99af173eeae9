//! `yijian`: one binary for the whole platform. See `yijian --help`.
//!
//! The command line is defined in [`cli`], each command is run by its module in [`commands`],
//! and the settings are read by [`config`]; this file only dispatches.

mod cli;
mod commands;
mod config;

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

use crate::cli::{Cli, Command};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Everything this process creates is for the service user alone: the database and its
    // -wal and -shm files, the search index, exports, the key file. The store and the export
    // writer also create their own files private, whatever the umask; this covers the rest
    // (a database named by --database, files third-party code creates).
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli));
    // Dropping the runtime would wait for every blocking task (a tantivy commit, a mail
    // fetch); the work that matters has been awaited by now, so the rest get a second.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    let config = commands::load(&cli.command)?;
    match cli.command {
        Command::Serve(_) => commands::serve::run(config).await,
        Command::Consultation(command) => commands::consultation::run(&config, command).await,
        Command::User { command, .. } => commands::user::run(&config, command).await,
        Command::Token { command, .. } => commands::token::run(&config, command).await,
        Command::Audit { command, .. } => commands::audit::run(&config, command).await,
        Command::Export(args) => commands::export::run(&config, args).await,
        Command::Search { command, .. } => commands::search::run(&config, command).await,
        Command::Campaigns { command, .. } => commands::campaigns::run(&config, command).await,
        Command::Articles { command, .. } => commands::articles::run(&config, command).await,
        Command::Themes { command, .. } => commands::themes::run(&config, command).await,
        Command::Mail { command, .. } => commands::mail::run(&config, command).await,
        Command::Backup(args) => commands::backup::backup(&config, &args.output).await,
        Command::Restore(args) => commands::backup::restore(&config, &args.file).await,
    }
}
