//! The audit chain's head, kept outside the database.
//!
//! Whoever can write the database can cut entries from the end of the audit log, or empty it,
//! and what is left is still a valid chain. So after each committed audit write the head (its
//! sequence number and MAC, and where the keyed chain began) is written, itself MACed, to a file
//! under the node's `--data` directory, and optionally to a second path (another volume, a WORM
//! mount). `yijian audit verify` then checks that the database still holds that head.
//!
//! Several nodes sharing one PostgreSQL database each keep the head *they* last wrote in their
//! own directory: every one of those heads must still be in the log, so a cut is caught by any
//! node that wrote past it. A node that never wrote has no anchor, and says so.
//!
//! Durability: the file is written to a temporary name, fsync'd, renamed over the old one, and
//! the directory fsync'd, so a crash leaves the old head or the new one, never half of either.
//! The write happens after the database commit (an anchor ahead of the database would be a false
//! alarm after a crash; one behind it only weakens the check for the last moment). Committers
//! that arrive while a write is under way share the next one, and a bulk review's chunks defer
//! theirs to the entry that closes the action, so thousands of entries cost one fsync, not one
//! each.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use yijian_crypto::Keys;

/// The anchor's file name under the data directory.
pub const ANCHOR_FILE: &str = "audit-anchor";
const MAGIC: &str = "yijian audit anchor v1";

/// A head of the keyed audit chain: the last entry's sequence number and link, and the first
/// keyed entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub keyed_from: i64,
    pub seq: i64,
    pub hash: String,
}

/// Why an anchor file cannot be believed.
#[derive(Debug, thiserror::Error)]
pub enum AnchorError {
    #[error("{0}: {1}")]
    Io(PathBuf, io::Error),
    #[error("{0} is not an audit anchor (unreadable format)")]
    Malformed(PathBuf),
    #[error("{0} was not written with this installation's key (its MAC does not verify)")]
    Forged(PathBuf),
}

fn signed_part(h: &Head) -> String {
    format!("{MAGIC}\n{}\n{}\n{}\n", h.keyed_from, h.seq, h.hash)
}

fn render(keys: &Keys, h: &Head) -> String {
    let mac = keys.audit_mac(signed_part(h).as_bytes());
    format!("{MAGIC}\nkeyed_from {}\nseq {}\nhash {}\nmac {mac}\n", h.keyed_from, h.seq, h.hash)
}

/// Reads an anchor; `Ok(None)` when there is none at `path`.
pub fn read(keys: &Keys, path: &Path) -> Result<Option<Head>, AnchorError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(AnchorError::Io(path.into(), e)),
    };
    let malformed = || AnchorError::Malformed(path.into());
    let mut lines = text.lines();
    if lines.next() != Some(MAGIC) {
        return Err(malformed());
    }
    let mut field = |name: &str| -> Result<String, AnchorError> {
        lines
            .next()
            .and_then(|l| l.strip_prefix(name))
            .and_then(|v| v.strip_prefix(' '))
            .map(str::to_string)
            .ok_or_else(malformed)
    };
    let keyed_from = field("keyed_from")?.parse().map_err(|_| malformed())?;
    let seq = field("seq")?.parse().map_err(|_| malformed())?;
    let hash = field("hash")?;
    let mac = field("mac")?;
    let head = Head { keyed_from, seq, hash };
    if !keys.audit_mac_ok(signed_part(&head).as_bytes(), &mac) {
        return Err(AnchorError::Forged(path.into()));
    }
    Ok(Some(head))
}

/// Replaces the file at `path` with `text` so that a crash leaves the old file or the new one.
fn write_durably(path: &Path, text: &str) -> io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let tmp = path.with_file_name(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or(ANCHOR_FILE),
        std::process::id()
    ));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()
}

/// The anchor files this node keeps, and the head still to be written to them.
pub(crate) struct Anchors {
    paths: Vec<PathBuf>,
    keys: Arc<Keys>,
    /// The newest committed head not yet written.
    pending: std::sync::Mutex<Option<Head>>,
    /// The sequence number this process last made durable; held while writing, so committers
    /// that arrive meanwhile wait and then find their head already written.
    written: tokio::sync::Mutex<i64>,
}

impl Anchors {
    pub(crate) fn new(paths: Vec<PathBuf>, keys: Arc<Keys>) -> Anchors {
        Anchors { paths, keys, pending: Default::default(), written: tokio::sync::Mutex::new(0) }
    }

    pub(crate) fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    /// Records a head whose transaction has committed, to be written by the next [`Self::sync`].
    pub(crate) fn note(&self, head: Head) {
        let mut p = self.pending.lock().expect("anchor lock");
        if p.as_ref().is_none_or(|h| h.seq < head.seq) {
            *p = Some(head);
        }
    }

    /// Writes the newest noted head, unless one at or past `upto` is already written. A failure
    /// is logged, not returned: the change it follows has committed, and the anchor being
    /// behind is what `audit verify` will then report.
    pub(crate) async fn sync(&self, upto: i64) {
        let mut written = self.written.lock().await;
        if *written >= upto {
            return;
        }
        let Some(head) = self.pending.lock().expect("anchor lock").take() else { return };
        let (keys, paths, h) = (self.keys.clone(), self.paths.clone(), head.clone());
        let result = tokio::task::spawn_blocking(move || {
            for path in &paths {
                // Another process on this data directory (a CLI command beside the server) may
                // have written a newer head meanwhile: never move the anchor back.
                if let Ok(Some(on_disk)) = read(&keys, path)
                    && on_disk.seq >= h.seq
                {
                    continue;
                }
                write_durably(path, &render(&keys, &h)).map_err(|e| (path.clone(), e))?;
            }
            Ok::<_, (PathBuf, io::Error)>(())
        })
        .await;
        match result {
            Ok(Ok(())) => *written = head.seq,
            Ok(Err((path, e))) => {
                tracing::error!(path = %path.display(), error = %e, seq = head.seq, "could not write the audit anchor")
            }
            Err(e) => tracing::error!(error = %e, "the audit anchor writer panicked"),
        }
    }

    /// Writes whatever is pending (before the store closes).
    pub(crate) async fn flush(&self) {
        self.sync(i64::MAX).await;
    }
}
