//! Real mail servers on loopback, started from private configuration in a temporary directory:
//! Dovecot (Debian's `dovecot-imapd`) for IMAP and aiosmtpd (Debian's `python3-aiosmtpd`) as an
//! SMTP sink. Each is killed when its handle is dropped.
//!
//! Dovecot is run as root the way the CI machines run, with its login processes as `dovenull`
//! and the mail owned by `dovecot`, because Dovecot refuses UID 0 for both. When not run as root,
//! every Dovecot process runs as the current user instead.

use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// How long a server may take to answer on its port after being started.
const STARTUP: Duration = Duration::from_secs(20);
/// How long [`SmtpSink::received`] waits for the expected number of messages.
const DELIVERY_WAIT: Duration = Duration::from_secs(15);

/// What to change in a [`Dovecot`] started with [`Dovecot::start_with`].
#[derive(Debug, Clone, Default)]
pub struct DovecotOptions {
    /// Also listen with implicit TLS on [`Dovecot::tls_port`] and offer STARTTLS on
    /// [`Dovecot::port`], with a certificate for `localhost` and `127.0.0.1` issued by a test CA
    /// ([`Dovecot::ca_file`]).
    pub tls: bool,
    /// Replaces the capabilities Dovecot advertises after login (`imap_capability`), to make it
    /// look like a server without MOVE or UIDPLUS. The commands themselves keep working.
    pub capability: Option<String>,
}

/// A Dovecot IMAP server on 127.0.0.1 with one user, plain LOGIN allowed without TLS.
pub struct Dovecot {
    pub port: u16,
    /// The implicit-TLS port, when started with [`DovecotOptions::tls`].
    pub tls_port: Option<u16>,
    /// The PEM file of the CA that issued the server's certificate, when started with TLS.
    pub ca_file: Option<PathBuf>,
    pub user: String,
    pub password: String,
    config: PathBuf,
    log: PathBuf,
    child: Child,
    // Dropped after the child is stopped (Drop runs before the fields drop), so Dovecot never
    // sees its directories vanish underneath it.
    dir: TempDir,
}

impl Dovecot {
    /// Starts Dovecot with plain IMAP on a free loopback port.
    pub fn start() -> io::Result<Dovecot> {
        Dovecot::start_with(DovecotOptions::default())
    }

    /// Starts Dovecot with `options`.
    pub fn start_with(options: DovecotOptions) -> io::Result<Dovecot> {
        let dovecot = find_program("dovecot")
            .ok_or_else(|| missing("the dovecot binary was not found: install the Debian package dovecot-imapd"))?;
        let mut last_error = None;
        // A free port can be taken by someone else between probing and Dovecot binding it.
        for _ in 0..3 {
            match Dovecot::try_start(&dovecot, &options) {
                Ok(d) => return Ok(d),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| io::Error::other("dovecot did not start")))
    }

    fn try_start(program: &Path, options: &DovecotOptions) -> io::Result<Dovecot> {
        let dir = tempfile::Builder::new().prefix("yijian-dovecot-").tempdir()?;
        let root = dir.path();
        let mail = root.join("mail");
        for sub in ["run", "state", "mail"] {
            std::fs::create_dir(root.join(sub))?;
        }
        let accounts = Accounts::for_this_process()?;
        if accounts.as_root {
            // The mail processes run as `dovecot` and must reach and write the mail directory.
            set_mode(root, 0o755)?;
            set_mode(&mail, 0o777)?;
        }
        let user = "citizen".to_string();
        let password = "mail-test-password".to_string();
        std::fs::write(root.join("passwd"), format!("{user}:{{PLAIN}}{password}\n"))?;

        let port = free_port()?;
        let mut tls_port = None;
        let mut ca_file = None;
        let mut ssl = String::from("ssl = no\n");
        if options.tls {
            let certs = TestCertificates::create(root)?;
            let p = free_port()?;
            tls_port = Some(p);
            ssl = format!(
                "ssl = yes\nssl_cert = <{}\nssl_key = <{}\nssl_min_protocol = TLSv1.2\n",
                certs.cert.display(),
                certs.key.display()
            );
            ca_file = Some(certs.ca);
        }
        let imaps = match tls_port {
            Some(p) => format!("address = 127.0.0.1\n    port = {p}"),
            None => "port = 0".to_string(),
        };
        let capability = match &options.capability {
            Some(c) => format!("imap_capability = {c}\n"),
            None => String::new(),
        };
        let log = root.join("dovecot.log");
        let config = root.join("dovecot.conf");
        let text = format!(
            r#"# Written by yijian-mailgen for one test run; nothing else reads it.
base_dir = {root}/run
state_dir = {root}/state
log_path = {log}
protocols = imap
listen = 127.0.0.1
{ssl}disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{mail}/%u
first_valid_uid = 1
default_internal_user = {internal}
default_internal_group = {internal_group}
default_login_user = {login}
# The tests assert on this line of the log to see the client's ID command arrive.
imap_id_log = *
{capability}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_group} home={mail}/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    {imaps}
  }}
}}
service anvil {{
  chroot =
}}
"#,
            root = root.display(),
            log = log.display(),
            mail = mail.display(),
            internal = accounts.internal,
            internal_group = accounts.internal_group,
            login = accounts.login,
            mail_user = accounts.mail_user,
            mail_group = accounts.mail_group,
        );
        std::fs::write(&config, text)?;

        let stderr = std::fs::File::create(root.join("stderr.txt"))?;
        let child = Command::new(program)
            .arg("-F")
            .arg("-c")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()?;
        let mut dovecot = Dovecot { port, tls_port, ca_file, user, password, config, log, child, dir };
        let ready = wait_for_greeting(port, b"* OK", &mut dovecot.child);
        if let Err(e) = ready {
            let stderr = std::fs::read_to_string(dovecot.dir.path().join("stderr.txt")).unwrap_or_default();
            return Err(io::Error::new(
                e.kind(),
                format!("dovecot did not start: {e}\n{stderr}\n{}", dovecot.log_text()),
            ));
        }
        Ok(dovecot)
    }

    /// Delivers `raw` into `mailbox`, creating the mailbox if needed. Dovecot serves lines with
    /// CRLF: give CRLF line endings to get the same bytes back.
    pub fn deliver(&self, mailbox: &str, raw: &[u8]) -> io::Result<()> {
        self.ensure_mailbox(mailbox)?;
        self.doveadm(&["save", "-u", &self.user, "-m", mailbox], Some(raw)).map(drop)
    }

    /// Creates `mailbox` unless it exists.
    pub fn ensure_mailbox(&self, mailbox: &str) -> io::Result<()> {
        if mailbox.eq_ignore_ascii_case("INBOX") {
            return Ok(());
        }
        match self.doveadm(&["mailbox", "create", "-u", &self.user, mailbox], None) {
            Ok(_) => Ok(()),
            Err(e) if e.to_string().contains("already exists") => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Deletes `mailbox` with its messages and creates it again, which gives it a new
    /// UIDVALIDITY. INBOX cannot be deleted.
    pub fn recreate_mailbox(&self, mailbox: &str) -> io::Result<()> {
        self.doveadm(&["mailbox", "delete", "-u", &self.user, mailbox], None)?;
        self.doveadm(&["mailbox", "create", "-u", &self.user, mailbox], None).map(drop)
    }

    /// The number of messages in `mailbox` (0 for a mailbox that does not exist).
    pub fn count(&self, mailbox: &str) -> io::Result<usize> {
        match self.status(mailbox, "messages") {
            Ok(n) => usize::try_from(n).map_err(io::Error::other),
            Err(e) if e.to_string().contains("doesn't exist") => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// The UIDVALIDITY of `mailbox`.
    pub fn uid_validity(&self, mailbox: &str) -> io::Result<u32> {
        self.status(mailbox, "uidvalidity").and_then(|n| u32::try_from(n).map_err(io::Error::other))
    }

    fn status(&self, mailbox: &str, field: &str) -> io::Result<u64> {
        let out = self.doveadm(&["-f", "tab", "mailbox", "status", "-u", &self.user, field, mailbox], None)?;
        // A header line, then one line of values.
        let value = out.lines().nth(1).and_then(|line| line.split('\t').next_back());
        value
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| io::Error::other(format!("unexpected doveadm mailbox status output: {out:?}")))
    }

    /// Every message's UID and flags in `mailbox`, in UID order; to assert that nothing was
    /// marked `\Seen` or `\Deleted`.
    pub fn flags(&self, mailbox: &str) -> io::Result<Vec<(u32, Vec<String>)>> {
        let out = self.doveadm(&["fetch", "-u", &self.user, "uid flags", "mailbox", mailbox], None)?;
        let mut messages = Vec::new();
        for record in out.split('\x0c') {
            let mut uid = None;
            let mut flags = Vec::new();
            for line in record.lines() {
                if let Some(v) = line.strip_prefix("uid: ") {
                    uid = v.trim().parse::<u32>().ok();
                } else if let Some(v) = line.strip_prefix("flags:") {
                    flags = v.split_whitespace().map(str::to_string).collect();
                }
            }
            if let Some(uid) = uid {
                messages.push((uid, flags));
            }
        }
        messages.sort_by_key(|(uid, _)| *uid);
        Ok(messages)
    }

    /// The lines of Dovecot's log that record an ID command received from a client
    /// (`imap_id_log = *`), e.g. `… ID sent: name=yijian, version=0.1.0, vendor=yijian`.
    pub fn id_log(&self) -> String {
        self.log_text().lines().filter(|l| l.contains("ID sent:")).fold(String::new(), |mut out, l| {
            let _ = writeln!(out, "{l}");
            out
        })
    }

    /// Dovecot's whole log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn doveadm(&self, args: &[&str], stdin: Option<&[u8]>) -> io::Result<String> {
        let program = find_program("doveadm")
            .ok_or_else(|| missing("doveadm was not found: install the Debian package dovecot-core"))?;
        let mut command = Command::new(program);
        command.arg("-c").arg(&self.config);
        // Global options (`-f tab`) come before the command name.
        command.args(args);
        command.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn()?;
        if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(data)?;
        }
        let out = child.wait_with_output()?;
        if !out.status.success() {
            return Err(io::Error::other(format!(
                "doveadm {}: {}{}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim(),
                String::from_utf8_lossy(&out.stdout).trim()
            )));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// Which users Dovecot's processes run as.
struct Accounts {
    as_root: bool,
    internal: String,
    internal_group: String,
    login: String,
    mail_user: String,
    mail_group: String,
}

impl Accounts {
    fn for_this_process() -> io::Result<Accounts> {
        let uid = command_output("id", &["-u"])?;
        if uid.trim() == "0" {
            return Ok(Accounts {
                as_root: true,
                internal: "dovecot".into(),
                internal_group: "dovecot".into(),
                login: "dovenull".into(),
                mail_user: "dovecot".into(),
                mail_group: "dovecot".into(),
            });
        }
        let user = command_output("id", &["-un"])?.trim().to_string();
        let group = command_output("id", &["-gn"])?.trim().to_string();
        Ok(Accounts {
            as_root: false,
            internal: user.clone(),
            internal_group: group.clone(),
            login: user.clone(),
            mail_user: user,
            mail_group: group,
        })
    }
}

/// One message as the [`SmtpSink`] received it.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    /// The envelope sender (`MAIL FROM`), empty for the null sender.
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The message exactly as sent in DATA (after dot-unstuffing).
    pub raw: Vec<u8>,
}

/// How the [`SmtpSink`] offers TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkTls {
    None,
    /// STARTTLS offered and required before MAIL.
    StartTls,
    /// TLS from the first byte (port 465 style).
    Implicit,
}

/// An SMTP server on 127.0.0.1 that accepts every message and keeps it as a file.
pub struct SmtpSink {
    pub port: u16,
    /// The PEM file of the CA that issued the sink's certificate, when started with TLS.
    pub ca_file: Option<PathBuf>,
    child: Child,
    dir: TempDir,
}

/// The sink itself: aiosmtpd's SMTP protocol with a handler that writes the envelope and the
/// raw message to numbered files; the `.eml` file is renamed into place last so a reader never
/// sees half a message.
const SINK_SCRIPT: &str = r#"
import asyncio, os, ssl, sys
from aiosmtpd.smtp import SMTP

directory, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]

class Sink:
    def __init__(self):
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(directory, "%06d" % self.count)
        with open(base + ".env", "w", encoding="utf-8") as f:
            f.write((envelope.mail_from or "") + "\n")
            for rcpt in envelope.rcpt_tos:
                f.write(rcpt + "\n")
        with open(base + ".tmp", "wb") as f:
            f.write(envelope.original_content)
        os.rename(base + ".tmp", base + ".eml")
        return "250 OK"

async def main():
    context = None
    if mode != "none":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(sys.argv[4], sys.argv[5])
    handler = Sink()
    def factory():
        if mode == "starttls":
            return SMTP(handler, hostname="sink.test", tls_context=context, require_starttls=True)
        return SMTP(handler, hostname="sink.test")
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        factory, "127.0.0.1", port, ssl=context if mode == "implicit" else None)
    async with server:
        await server.serve_forever()

asyncio.run(main())
"#;

impl SmtpSink {
    /// Starts a plain SMTP sink on a free loopback port.
    pub fn start() -> io::Result<SmtpSink> {
        SmtpSink::start_with(SinkTls::None)
    }

    /// Starts a sink that offers TLS as `tls` says, with a certificate for `localhost` and
    /// `127.0.0.1` issued by a test CA ([`SmtpSink::ca_file`]).
    pub fn start_with(tls: SinkTls) -> io::Result<SmtpSink> {
        let python = find_python_with_aiosmtpd()?;
        let mut last_error = None;
        for _ in 0..3 {
            match SmtpSink::try_start(&python, tls) {
                Ok(s) => return Ok(s),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| io::Error::other("aiosmtpd did not start")))
    }

    fn try_start(python: &Path, tls: SinkTls) -> io::Result<SmtpSink> {
        let dir = tempfile::Builder::new().prefix("yijian-smtp-").tempdir()?;
        let script = dir.path().join("sink.py");
        std::fs::write(&script, SINK_SCRIPT)?;
        let messages = dir.path().join("messages");
        std::fs::create_dir(&messages)?;
        let port = free_port()?;
        let mut command = Command::new(python);
        command.arg(&script).arg(&messages).arg(port.to_string());
        let mut ca_file = None;
        match tls {
            SinkTls::None => {
                command.arg("none");
            }
            SinkTls::StartTls | SinkTls::Implicit => {
                let certs = TestCertificates::create(dir.path())?;
                command.arg(if tls == SinkTls::StartTls { "starttls" } else { "implicit" });
                command.arg(&certs.cert).arg(&certs.key);
                ca_file = Some(certs.ca);
            }
        }
        let stderr = std::fs::File::create(dir.path().join("stderr.txt"))?;
        let child = command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(stderr).spawn()?;
        let mut sink = SmtpSink { port, ca_file, child, dir };
        let ready = if tls == SinkTls::Implicit {
            // Nothing readable arrives before a TLS handshake: a connection is enough.
            wait_for_port(port, &mut sink.child)
        } else {
            wait_for_greeting(port, b"220", &mut sink.child)
        };
        if let Err(e) = ready {
            let stderr = std::fs::read_to_string(sink.dir.path().join("stderr.txt")).unwrap_or_default();
            return Err(io::Error::new(e.kind(), format!("aiosmtpd did not start: {e}\n{stderr}")));
        }
        Ok(sink)
    }

    /// The messages received so far, in arrival order, after waiting up to 15 s for at least
    /// `at_least` of them.
    pub fn received(&self, at_least: usize) -> Vec<ReceivedMail> {
        let deadline = Instant::now() + DELIVERY_WAIT;
        loop {
            let mails = self.read_received();
            if mails.len() >= at_least || Instant::now() >= deadline {
                return mails;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The raw messages received so far; see [`SmtpSink::received`].
    pub fn messages(&self, at_least: usize) -> Vec<Vec<u8>> {
        self.received(at_least).into_iter().map(|m| m.raw).collect()
    }

    fn read_received(&self) -> Vec<ReceivedMail> {
        let directory = self.dir.path().join("messages");
        let mut names: Vec<PathBuf> = std::fs::read_dir(&directory)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
            .into_iter()
            .filter_map(|eml| {
                let raw = std::fs::read(&eml).ok()?;
                let envelope = std::fs::read_to_string(eml.with_extension("env")).ok()?;
                let mut lines = envelope.lines();
                let mail_from = lines.next().unwrap_or_default().to_string();
                let rcpt_to = lines.map(str::to_string).collect();
                Some(ReceivedMail { mail_from, rcpt_to, raw })
            })
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// A test CA and a server certificate it issued for `localhost` and `127.0.0.1`, made with the
/// `openssl` command (which `dovecot-core` depends on). The CA is separate from the server
/// certificate because rustls refuses a CA certificate as a server's own.
#[derive(Debug, Clone)]
pub struct TestCertificates {
    /// The CA certificate, to give a client as its extra root (`ca_file`).
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TestCertificates {
    /// Writes the files into `dir`.
    pub fn create(dir: &Path) -> io::Result<TestCertificates> {
        let openssl = find_program("openssl")
            .ok_or_else(|| missing("openssl was not found: install the Debian package openssl"))?;
        let path = |name: &str| dir.join(name);
        let run = |args: &[&std::ffi::OsStr]| -> io::Result<()> {
            let out = Command::new(&openssl).args(args).stdin(Stdio::null()).output()?;
            if out.status.success() {
                Ok(())
            } else {
                Err(io::Error::other(format!("openssl failed: {}", String::from_utf8_lossy(&out.stderr))))
            }
        };
        let os = |s: &'static str| std::ffi::OsStr::new(s);
        let (ca_key, ca, key, csr, cert, ext) = (
            path("ca.key"),
            path("ca.pem"),
            path("server.key"),
            path("server.csr"),
            path("server.pem"),
            path("server.ext"),
        );
        std::fs::write(
            &ext,
            "basicConstraints = critical, CA:FALSE\n\
             keyUsage = critical, digitalSignature, keyEncipherment\n\
             extendedKeyUsage = serverAuth\n\
             subjectAltName = DNS:localhost, IP:127.0.0.1\n",
        )?;
        let ec = [os("-newkey"), os("ec"), os("-pkeyopt"), os("ec_paramgen_curve:P-256"), os("-nodes")];
        let mut args = vec![os("req"), os("-x509")];
        args.extend(ec);
        args.extend([os("-days"), os("3"), os("-subj"), os("/CN=yijian test CA"), os("-keyout")]);
        args.extend([ca_key.as_os_str(), os("-out"), ca.as_os_str()]);
        run(&args)?;
        let mut args = vec![os("req")];
        args.extend(ec);
        args.extend([os("-subj"), os("/CN=localhost"), os("-keyout"), key.as_os_str()]);
        args.extend([os("-out"), csr.as_os_str()]);
        run(&args)?;
        run(&[
            os("x509"),
            os("-req"),
            os("-in"),
            csr.as_os_str(),
            os("-CA"),
            ca.as_os_str(),
            os("-CAkey"),
            ca_key.as_os_str(),
            os("-CAcreateserial"),
            os("-days"),
            os("3"),
            os("-extfile"),
            ext.as_os_str(),
            os("-out"),
            cert.as_os_str(),
        ])?;
        // Dovecot reads the key as root but may check it from an unprivileged process too.
        set_mode(&key, 0o644)?;
        Ok(TestCertificates { ca, cert, key })
    }
}

fn missing(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, message.to_string())
}

fn command_output(program: &str, args: &[&str]) -> io::Result<String> {
    let out = Command::new(program).args(args).stdin(Stdio::null()).output()?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Finds `name` on PATH or in the sbin directories, which a non-root PATH often lacks.
fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin", "/sbin", "/usr/local/sbin", "/usr/local/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Debian's interpreter first: a python3 from pyenv or a venv earlier on PATH lacks the Debian
/// package's aiosmtpd.
fn find_python_with_aiosmtpd() -> io::Result<PathBuf> {
    let candidates = [Some(PathBuf::from("/usr/bin/python3")), find_program("python3")];
    for python in candidates.into_iter().flatten() {
        let ok = Command::new(&python)
            .args(["-c", "import aiosmtpd"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Ok(python);
        }
    }
    Err(missing("python3 with aiosmtpd was not found: install the Debian package python3-aiosmtpd"))
}

fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn check_alive(child: &mut Child) -> io::Result<()> {
    match child.try_wait()? {
        Some(status) => Err(io::Error::other(format!("the server exited: {status}"))),
        None => Ok(()),
    }
}

fn wait_for_port(port: u16, child: &mut Child) -> io::Result<()> {
    let deadline = Instant::now() + STARTUP;
    loop {
        check_alive(child)?;
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(io::Error::new(io::ErrorKind::TimedOut, format!("nothing answered on port {port}")));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until a connection to `port` gets a first line starting with `prefix`: listening alone
/// is not enough, since Dovecot's master accepts before its login processes are up.
fn wait_for_greeting(port: u16, prefix: &[u8], child: &mut Child) -> io::Result<()> {
    let deadline = Instant::now() + STARTUP;
    loop {
        check_alive(child)?;
        if let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) {
            stream.set_read_timeout(Some(Duration::from_secs(5)))?;
            let mut line = Vec::new();
            let read = BufReader::new(&stream).take(4096).read_until(b'\n', &mut line);
            if read.is_ok() && line.starts_with(prefix) {
                return Ok(());
            }
        }
        if Instant::now() >= deadline {
            return Err(io::Error::new(io::ErrorKind::TimedOut, format!("no greeting on port {port}")));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Stops a server: SIGTERM first so Dovecot's master takes its children down with it, SIGKILL if
/// it is still there after five seconds.
fn stop(child: &mut Child) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}
