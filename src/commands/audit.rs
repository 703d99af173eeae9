//! `yijian audit list|verify`: the audit log and its hash chain.

use anyhow::{Result, bail};

use super::with_store;
use crate::cli::AuditCommand;
use crate::config::Config;

pub async fn run(config: &Config, command: AuditCommand) -> Result<()> {
    with_store(config, async |store| {
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
        Ok(())
    })
    .await
}
