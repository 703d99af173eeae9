//! `yijian audit list|verify`: the audit log, its keyed chain and its anchors.

use anyhow::{Result, bail};

use super::with_app;
use crate::cli::AuditCommand;
use crate::config::Config;

pub async fn run(config: &Config, command: AuditCommand) -> Result<()> {
    with_app(config, async |app| {
        match command {
            AuditCommand::List => {
                for e in app.audit_entries().await? {
                    let fields = [e.actor, e.action, e.subject, e.detail].map(|f| printable(&f));
                    println!("{}\t{}\t{}", e.seq, e.at, fields.join("\t"));
                }
            }
            AuditCommand::Verify => {
                let v = app.verify_audit().await?;
                for path in &v.missing_anchors {
                    eprintln!(
                        "warning: no audit anchor at {} (this node has written no audit entry, or the file was removed): \
                         entries cut from the end of the log cannot be detected against it",
                        path.display()
                    );
                }
                if !v.problems.is_empty() {
                    for p in &v.problems {
                        eprintln!("{p}");
                    }
                    match v.first_bad {
                        Some(seq) => bail!("the audit log was tampered with at entry {seq}: {}", v.problems.join("; ")),
                        None => bail!("the audit log was tampered with: {}", v.problems.join("; ")),
                    }
                }
                let anchors: Vec<String> = v.anchors.iter().map(|p| p.display().to_string()).collect();
                match anchors.is_empty() {
                    true => println!("audit log intact: {} entries (not anchored)", v.entries),
                    false => println!("audit log intact: {} entries, anchored in {}", v.entries, anchors.join(", ")),
                }
            }
        }
        Ok(())
    })
    .await
}

/// A field as the operator's terminal may safely show it: control characters (an ANSI escape,
/// a carriage return, a tab that would shift the columns) and the invisible characters that
/// reorder or hide text are written as escapes, and so is the backslash, so the escaped form
/// cannot be faked by typing it. A hostile login name cannot change what the operator sees.
fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 && c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() || invisible(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Format characters that change how the text around them reads: bidirectional overrides and
/// isolates, zero-width characters, the byte-order mark.
fn invisible(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}' | '\u{061c}')
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("\u{1b}[31mroot\r"), "\\x1b[31mroot\\r");
        assert_eq!(printable("a\tb\\x1b"), "a\\tb\\\\x1b");
        assert_eq!(printable("admin\u{202e}nimda"), "admin\\u{202e}nimda");
        assert_eq!(printable("\u{9b}2J"), "\\u{9b}2J");
        assert_eq!(printable("张三 cli:ops"), "张三 cli:ops");
    }
}
