//! `yijian backup --output FILE` and `yijian restore FILE --data DIR`: a SQLite installation in
//! one file, and back.
//!
//! The file is a plain tar: first `yijian-backup.json` (the format, when, and the size and
//! SHA-256 of each file after it), then the database and the audit anchor. Restoring checks
//! every size and checksum and SQLite's own integrity check before anything takes its final
//! name, so a truncated or damaged file is refused, not half restored. The master key is never
//! in the file: a backup that held it would hand whoever gets the file every ID and phone
//! number in it.
//!
//! Consistency while the server runs: the anchor is read first, then the database copied (one
//! snapshot). The anchor is written only after its entries commit, so the copy holds every
//! entry the anchor names; entries committed in between are in the copy and merely not
//! anchored, which `audit verify` accepts.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use yijian_crypto::{KeySource, MASTER_KEY_ENV, MASTER_KEY_FILE};
use yijian_store::anchor::ANCHOR_FILE;

use super::{cli_actor, with_app};
use crate::config::Config;

const MANIFEST: &str = "yijian-backup.json";
const FORMAT: &str = "yijian-backup 1";
const DATABASE_FILE: &str = "yijian.sqlite3";

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    format: String,
    created_at: String,
    files: Vec<FileEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct FileEntry {
    name: String,
    size: u64,
    sha256: String,
}

fn refuse_postgres(config: &Config, what: &str) -> Result<()> {
    if let Some(url) = &config.database
        && yijian_store::Backend::from_url(url).ok() == Some(yijian_store::Backend::Postgres)
    {
        bail!(
            "yijian {what} is for a SQLite installation; this one is on PostgreSQL: back it up with pg_dump (or your \
             PostgreSQL's base backups and WAL archive), keep the master key apart, and see deploy/README.md"
        );
    }
    Ok(())
}

pub async fn backup(config: &Config, output: &Path) -> Result<()> {
    refuse_postgres(config, "backup")?;
    let database = config.data.join(DATABASE_FILE);
    if !database.is_file() {
        bail!("no yijian database at {}: is --data the installation's data directory?", database.display());
    }
    let output = absolute(output)?;
    let dir = output.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
    // The copy is made beside the output, on the same file system, and removed with this.
    let work = tempfile::Builder::new()
        .prefix(".yijian-backup-")
        .tempdir_in(&dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    let copy = work.path().join(DATABASE_FILE);
    let anchor_path = config.data.join(ANCHOR_FILE);
    let (key_source, anchor) = with_app(config, async |app| {
        // On record before anything is read, so the copy and its anchor hold the entry too.
        app.record_backup(&cli_actor(), &output, jiff::Timestamp::now()).await?;
        // The anchor before the database: see the module's note on consistency.
        let anchor = match std::fs::read(&anchor_path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", anchor_path.display())),
        };
        app.backup_database(&copy).await?;
        Ok((app.store().key_source().clone(), anchor))
    })
    .await?;
    let mut files = vec![(DATABASE_FILE.to_string(), Payload::File(copy.clone()))];
    if let Some(bytes) = anchor {
        files.push((ANCHOR_FILE.to_string(), Payload::Bytes(bytes)));
    }
    let partial = work.path().join("backup.partial");
    write_archive(&partial, &files)?;
    std::fs::rename(&partial, &output).with_context(|| format!("cannot write {}", output.display()))?;
    std::fs::File::open(&dir).and_then(|d| d.sync_all()).with_context(|| format!("cannot sync {}", dir.display()))?;
    let size = std::fs::metadata(&output).map(|m| m.len()).unwrap_or(0);
    println!("backup written: {} ({size} bytes, mode 0600)", output.display());
    let key = match key_source {
        KeySource::Environment => format!("it came from {MASTER_KEY_ENV} in this environment"),
        KeySource::File(path) | KeySource::Created(path) => format!("it is {}", path.display()),
    };
    println!(
        "THE MASTER KEY IS NOT IN THIS BACKUP ({key}). Keep a copy of the key apart from the backup: without it \
         the ID and phone numbers in the backup cannot be read; with both together, anyone can."
    );
    if let Some(second) = &config.audit_anchor {
        println!(
            "note: the second audit anchor ({}) is not in the backup; after a restore, `audit verify` checks the \
             anchor the backup holds",
            second.display()
        );
    }
    Ok(())
}

enum Payload {
    File(PathBuf),
    Bytes(Vec<u8>),
}

impl Payload {
    fn reader(&self) -> Result<(Box<dyn Read + '_>, u64)> {
        Ok(match self {
            Payload::File(path) => {
                let f = std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
                let size = f.metadata()?.len();
                (Box::new(f), size)
            }
            Payload::Bytes(bytes) => (Box::new(bytes.as_slice()), bytes.len() as u64),
        })
    }
}

/// Writes the manifest and the files as a tar at `path`, private, and fsyncs it.
fn write_archive(path: &Path, files: &[(String, Payload)]) -> Result<()> {
    let mut entries = Vec::new();
    for (name, payload) in files {
        let (mut reader, size) = payload.reader()?;
        let mut hasher = Sha256::new();
        std::io::copy(&mut reader, &mut HashWriter(&mut hasher))?;
        entries.push(FileEntry { name: name.clone(), size, sha256: hex::encode(hasher.finalize()) });
    }
    let manifest = Manifest { format: FORMAT.into(), created_at: jiff::Timestamp::now().to_string(), files: entries };
    let file = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("cannot create {}", path.display()))?
    };
    let mut tar = tar::Builder::new(std::io::BufWriter::new(file));
    let json = serde_json::to_vec_pretty(&manifest)?;
    append(&mut tar, MANIFEST, json.len() as u64, json.as_slice())?;
    for (name, payload) in files {
        let (reader, size) = payload.reader()?;
        append(&mut tar, name, size, reader)?;
    }
    let file = tar.into_inner()?.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok(())
}

fn append<W: Write>(tar: &mut tar::Builder<W>, name: &str, size: u64, data: impl Read) -> Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(size);
    header.set_mode(0o600);
    header.set_mtime(jiff::Timestamp::now().as_second().max(0) as u64);
    header.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut header, name, data).with_context(|| format!("cannot write {name} into the backup"))?;
    Ok(())
}

struct HashWriter<'a>(&'a mut Sha256);

impl Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn absolute(path: &Path) -> Result<PathBuf> {
    Ok(if path.is_absolute() { path.to_path_buf() } else { std::env::current_dir()?.join(path) })
}

pub async fn restore(config: &Config, file: &Path) -> Result<()> {
    refuse_postgres(config, "restore")?;
    let dir = absolute(&config.data)?;
    let created = match std::fs::read_dir(&dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                bail!("{} is not empty: restore into an empty or new directory (nothing was changed)", dir.display());
            }
            false
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            true
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", dir.display())),
    };
    let result = unpack(file, &dir).await;
    if let Err(e) = result {
        // Leave the directory as it was found: empty, or not there.
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for entry in entries.flatten() {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        if created {
            let _ = std::fs::remove_dir(&dir);
        }
        return Err(e);
    }
    println!("restored into {}", dir.display());
    println!(
        "The master key is not in the backup: put it back as {} (mode 0600), or set {MASTER_KEY_ENV}, before \
         `yijian serve`; the search index is rebuilt when the server starts.",
        dir.join(MASTER_KEY_FILE).display()
    );
    Ok(())
}

/// Reads the backup into `dir`: each file under a temporary name, checked against the manifest,
/// then the database checked by SQLite; only then do the files take their names.
async fn unpack(file: &Path, dir: &Path) -> Result<()> {
    let refuse = |why: String| anyhow::anyhow!("{} is not a usable yijian backup: {why}", file.display());
    let f = std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let mut archive = tar::Archive::new(std::io::BufReader::new(f));
    let mut entries = archive.entries().map_err(|e| refuse(e.to_string()))?;
    let mut first =
        entries.next().ok_or_else(|| refuse("it is empty".into()))?.map_err(|e| refuse(format!("unreadable ({e})")))?;
    if first.path().ok().as_deref() != Some(Path::new(MANIFEST)) {
        return Err(refuse(format!("it does not begin with {MANIFEST}")));
    }
    let mut json = String::new();
    first.read_to_string(&mut json).map_err(|e| refuse(format!("its manifest is unreadable ({e})")))?;
    drop(first);
    let manifest: Manifest =
        serde_json::from_str(&json).map_err(|e| refuse(format!("its manifest is damaged ({e})")))?;
    if manifest.format != FORMAT {
        return Err(refuse(format!("format `{}`, where this version reads `{FORMAT}`", manifest.format)));
    }
    let allowed = [DATABASE_FILE, ANCHOR_FILE];
    let mut seen: Vec<String> = Vec::new();
    for entry in entries {
        let mut entry = entry.map_err(|e| refuse(format!("it is truncated or damaged ({e})")))?;
        let name = entry.path().map_err(|e| refuse(e.to_string()))?.to_string_lossy().into_owned();
        let expected = manifest
            .files
            .iter()
            .find(|f| f.name == name && allowed.contains(&f.name.as_str()))
            .ok_or_else(|| refuse(format!("it holds `{name}`, which its manifest does not list")))?;
        let temporary = dir.join(format!(".restoring-{name}"));
        let mut out = {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&temporary)
                .with_context(|| format!("cannot create {}", temporary.display()))?
        };
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; 1 << 16];
        let mut size = 0u64;
        loop {
            let n = entry.read(&mut buffer).map_err(|e| refuse(format!("{name} is truncated or damaged ({e})")))?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
            out.write_all(&buffer[..n])?;
            size += n as u64;
        }
        out.sync_all()?;
        if size != expected.size || hex::encode(hasher.finalize()) != expected.sha256 {
            return Err(refuse(format!(
                "{name} is truncated or damaged ({size} bytes where the manifest says {}, or its checksum differs)",
                expected.size
            )));
        }
        seen.push(name);
    }
    for f in &manifest.files {
        if !seen.contains(&f.name) {
            return Err(refuse(format!("it is truncated: {} is missing", f.name)));
        }
    }
    if !seen.iter().any(|n| n == DATABASE_FILE) {
        return Err(refuse("it holds no database".into()));
    }
    yijian_store::check_sqlite_file(&dir.join(format!(".restoring-{DATABASE_FILE}")))
        .await
        .map_err(|e| refuse(format!("the database fails its check ({e})")))?;
    for name in &seen {
        std::fs::rename(dir.join(format!(".restoring-{name}")), dir.join(name))?;
    }
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}
