//! `yijian export`: a consultation's comments to CSV, XLSX or JSONL, personal data masked unless
//! asked for with a reason (audited).

use anyhow::{Context, Result, bail};

use jiff::Timestamp;

use super::{cli_actor, progress_bar, with_app};
use crate::cli::ExportArgs;
use crate::config::Config;

pub async fn run(config: &Config, args: ExportArgs) -> Result<()> {
    with_app(config, async |app| {
        let Some(c) = app.consultation(&args.consultation).await? else {
            bail!("no consultation `{}` (see `yijian consultation list`)", args.consultation);
        };
        if args.include_personal_data
            && args.reason.as_deref().and_then(yijian_domain::staff::AuditReason::parse).is_none()
        {
            bail!("--include-personal-data needs --reason with at least 4 characters; it goes to the audit log");
        }
        let total = app.count_comments(&c.meta.id).await? as u64;
        let bar = progress_bar(total, "exporting");
        let req = yijian_app::export::ExportRequest {
            format: args.format.into(),
            include_personal_data: args.include_personal_data,
            reason: args.reason.clone(),
            actor: cli_actor(),
        };
        let rows = app
            .export(&c, &args.output, &req, Timestamp::now(), |n| {
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
    })
    .await
}
