//! `yijian audit list|verify`: the audit log and its hash chain.

use anyhow::{Result, bail};

use super::with_app;
use crate::cli::AuditCommand;
use crate::config::Config;

pub async fn run(config: &Config, command: AuditCommand) -> Result<()> {
    with_app(config, async |app| {
        match command {
            AuditCommand::List => {
                for e in app.audit_entries().await? {
                    println!("{}\t{}\t{}\t{}\t{}\t{}", e.seq, e.at, e.actor, e.action, e.subject, e.detail);
                }
            }
            AuditCommand::Verify => match app.verify_audit_chain().await? {
                Ok(n) => println!("audit log intact: {n} entries"),
                Err(seq) => bail!("the audit log was tampered with at entry {seq}"),
            },
        }
        Ok(())
    })
    .await
}
