//! The IMAP client and the mailer against real servers on loopback: Dovecot and aiosmtpd, each
//! started by yijian-mailgen from a private configuration in a temporary directory (Debian
//! packages `dovecot-imapd` and `python3-aiosmtpd`).

use std::net::TcpListener;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use yijian_mail::imap::{Cursor, ImapAccount, ImapClient, ImapError, Security};
use yijian_mail::smtp::{Mailer, OutgoingMail, SmtpAccount, SmtpError};
use yijian_mailgen::servers::{Dovecot, DovecotOptions, SinkTls, SmtpSink};
use yijian_testkit::eventually;

fn account(dovecot: &Dovecot) -> ImapAccount {
    ImapAccount {
        host: "127.0.0.1".into(),
        port: Some(dovecot.port),
        security: Security::Plain,
        username: dovecot.user.clone(),
        password: dovecot.password.clone(),
        mailbox: "INBOX".into(),
        move_to: None,
        ca_file: None,
    }
}

/// A message with CRLF line endings (IMAP's, so the server hands back the same bytes) and a
/// GBK-encoded line, since Chinese mail is often not UTF-8.
fn message(n: usize) -> Vec<u8> {
    let mut raw = format!(
        "From: citizen{n}@example.cn\r\nTo: yijian@example.org\r\nSubject: opinion {n}\r\n\
         Message-ID: <m{n}@example.cn>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=GBK\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    )
    .into_bytes();
    raw.extend_from_slice(b"\xd2\xe2\xbc\xfb"); // 意见 in GBK
    raw.extend_from_slice(format!(" number {n}\r\n").as_bytes());
    raw
}

fn flags_of(dovecot: &Dovecot, mailbox: &str) -> Vec<String> {
    dovecot.flags(mailbox).unwrap().into_iter().flat_map(|(_, flags)| flags).collect()
}

/// yijian never deletes mail, and never marks it read.
fn assert_neither_deleted_nor_seen(dovecot: &Dovecot, mailboxes: &[&str]) {
    for mailbox in mailboxes {
        let flags = flags_of(dovecot, mailbox);
        assert!(!flags.iter().any(|f| f == "\\Deleted" || f == "\\Seen"), "{mailbox}: {flags:?}");
    }
}

#[tokio::test]
async fn fetches_new_mail_once_byte_exact_without_marking_it_seen() {
    let dovecot = Dovecot::start().unwrap();
    let before = Timestamp::now() - Duration::from_secs(2);
    for n in 1..=3 {
        dovecot.deliver("INBOX", &message(n)).unwrap();
    }
    let after = Timestamp::now() + Duration::from_secs(2);

    let mut client = ImapClient::connect(&account(&dovecot)).await.unwrap();
    let validity = client.open_mailbox().await.unwrap();
    assert_eq!(validity, dovecot.uid_validity("INBOX").unwrap());

    let (cursor, mails) = client.fetch_after(None, 100).await.unwrap();
    assert_eq!(mails.len(), 3);
    for (n, mail) in (1..=3).zip(&mails) {
        assert_eq!(mail.raw, message(n), "message {n} must come back byte for byte");
        let date = mail.internal_date.expect("INTERNALDATE");
        assert!(before <= date && date <= after, "{date} outside {before}..{after}");
    }
    let uids: Vec<u32> = mails.iter().map(|m| m.uid).collect();
    assert!(uids.windows(2).all(|w| w[0] < w[1]), "UID order: {uids:?}");
    assert_eq!(cursor, Cursor { uid_validity: validity, last_uid: uids[2] });

    // Nothing new: "N:*" still names the last message on the server, which must not come back.
    let (again, none) = client.fetch_after(Some(cursor), 100).await.unwrap();
    assert!(none.is_empty(), "{none:?}");
    assert_eq!(again, cursor);

    dovecot.deliver("INBOX", &message(4)).unwrap();
    dovecot.deliver("INBOX", &message(5)).unwrap();
    // `max` limits a batch; the cursor lets the next call pick up where it stopped.
    let (first, one) = client.fetch_after(Some(cursor), 1).await.unwrap();
    assert_eq!(one.iter().map(|m| m.raw.clone()).collect::<Vec<_>>(), vec![message(4)]);
    assert_eq!(first.last_uid, one[0].uid);
    let (last, rest) = client.fetch_after(Some(first), 100).await.unwrap();
    assert_eq!(rest.iter().map(|m| m.raw.clone()).collect::<Vec<_>>(), vec![message(5)]);
    assert_eq!(last.last_uid, rest[0].uid);
    client.logout().await.unwrap();

    // Read, not touched: still five messages, none \Seen or \Deleted.
    assert_eq!(dovecot.count("INBOX").unwrap(), 5);
    assert_neither_deleted_nor_seen(&dovecot, &["INBOX"]);
}

#[tokio::test]
async fn sends_the_id_command() {
    let dovecot = Dovecot::start().unwrap();
    let client = ImapClient::connect(&account(&dovecot)).await.unwrap();
    client.logout().await.unwrap();
    // Dovecot's log process writes the line a moment after the command was answered.
    let log = eventually(Duration::from_secs(5), || {
        let log = dovecot.id_log();
        std::future::ready(if log.contains("name=yijian") {
            Ok(log)
        } else {
            Err(format!("ID not in the log: {}", dovecot.log_text()))
        })
    })
    .await;
    assert!(log.contains(&format!("version={}", env!("CARGO_PKG_VERSION"))), "{log}");
    assert!(log.contains("vendor=yijian"), "{log}");
}

#[tokio::test]
async fn moves_stored_mail_to_a_chinese_folder_it_creates() {
    let dovecot = Dovecot::start().unwrap();
    for n in 1..=3 {
        dovecot.deliver("INBOX", &message(n)).unwrap();
    }
    let folder = "已处理";
    let imap = ImapAccount { move_to: Some(folder.into()), ..account(&dovecot) };
    let mut client = ImapClient::connect(&imap).await.unwrap();
    client.open_mailbox().await.unwrap();
    let (_, mails) = client.fetch_after(None, 100).await.unwrap();
    assert_eq!(mails.len(), 3);
    assert!(client.has_capability("MOVE"));
    client.move_to_folder(&[mails[0].uid, mails[1].uid]).await.unwrap();
    client.logout().await.unwrap();

    // The UTF-8 name given to doveadm must be the folder the client created in modified UTF-7.
    assert_eq!(dovecot.count("INBOX").unwrap(), 1);
    assert_eq!(dovecot.count(folder).unwrap(), 2);

    let moved = ImapAccount { mailbox: folder.into(), ..account(&dovecot) };
    let mut reader = ImapClient::connect(&moved).await.unwrap();
    let (_, there) = reader.fetch_after(None, 100).await.unwrap();
    let raws: Vec<Vec<u8>> = there.into_iter().map(|m| m.raw).collect();
    assert_eq!(raws, vec![message(1), message(2)]);
    reader.logout().await.unwrap();
}

#[tokio::test]
async fn without_move_copies_and_expunges_only_those_uids() {
    let dovecot =
        Dovecot::start_with(DovecotOptions { capability: Some("IMAP4rev1 ID UIDPLUS".into()), ..Default::default() })
            .unwrap();
    for n in 1..=3 {
        dovecot.deliver("INBOX", &message(n)).unwrap();
    }
    let imap = ImapAccount { move_to: Some("Done".into()), ..account(&dovecot) };
    let mut client = ImapClient::connect(&imap).await.unwrap();
    assert!(!client.has_capability("MOVE") && client.has_capability("UIDPLUS"));
    let (_, mails) = client.fetch_after(None, 100).await.unwrap();
    client.move_to_folder(&[mails[1].uid]).await.unwrap();
    client.logout().await.unwrap();

    assert_eq!(dovecot.count("INBOX").unwrap(), 2);
    assert_eq!(dovecot.count("Done").unwrap(), 1);
    // Selected read-write here, so only BODY.PEEK keeps \Seen off.
    assert_neither_deleted_nor_seen(&dovecot, &["INBOX", "Done"]);
}

#[tokio::test]
async fn without_move_or_uidplus_only_copies() {
    let dovecot =
        Dovecot::start_with(DovecotOptions { capability: Some("IMAP4rev1 ID".into()), ..Default::default() }).unwrap();
    for n in 1..=2 {
        dovecot.deliver("INBOX", &message(n)).unwrap();
    }
    let imap = ImapAccount { move_to: Some("Done".into()), ..account(&dovecot) };
    let mut client = ImapClient::connect(&imap).await.unwrap();
    let (_, mails) = client.fetch_after(None, 100).await.unwrap();
    let uids: Vec<u32> = mails.iter().map(|m| m.uid).collect();
    client.move_to_folder(&uids).await.unwrap();
    client.logout().await.unwrap();

    assert_eq!(dovecot.count("INBOX").unwrap(), 2, "nothing may be deleted");
    assert_eq!(dovecot.count("Done").unwrap(), 2);
    assert_neither_deleted_nor_seen(&dovecot, &["INBOX", "Done"]);
}

#[tokio::test]
async fn a_new_uid_validity_restarts_from_the_first_message() {
    let dovecot = Dovecot::start().unwrap();
    let imap = ImapAccount { mailbox: "Consultation".into(), ..account(&dovecot) };
    dovecot.deliver("Consultation", &message(1)).unwrap();
    dovecot.deliver("Consultation", &message(2)).unwrap();
    let mut client = ImapClient::connect(&imap).await.unwrap();
    let (old, mails) = client.fetch_after(None, 100).await.unwrap();
    assert_eq!(mails.len(), 2);
    client.logout().await.unwrap();

    dovecot.recreate_mailbox("Consultation").unwrap();
    dovecot.deliver("Consultation", &message(3)).unwrap();
    let mut client = ImapClient::connect(&imap).await.unwrap();
    let validity = client.open_mailbox().await.unwrap();
    assert_ne!(validity, old.uid_validity);
    let (new, mails) = client.fetch_after(Some(old), 100).await.unwrap();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].raw, message(3));
    assert!(
        mails[0].uid <= old.last_uid,
        "UID {} is not above the old cursor: the reset is what found it",
        mails[0].uid
    );
    assert_eq!(new, Cursor { uid_validity: validity, last_uid: mails[0].uid });
    client.logout().await.unwrap();
}

#[tokio::test]
async fn a_missing_mailbox_is_named() {
    let dovecot = Dovecot::start().unwrap();
    let imap = ImapAccount { mailbox: "没有这个文件夹".into(), ..account(&dovecot) };
    let mut client = ImapClient::connect(&imap).await.unwrap();
    let opened = client.open_mailbox().await;
    assert!(matches!(&opened, Err(ImapError::MailboxMissing(name)) if name == "没有这个文件夹"), "{opened:?}");
}

#[tokio::test]
async fn a_wrong_password_is_a_login_error_that_does_not_repeat_it() {
    let dovecot = Dovecot::start().unwrap();
    let password = "Wrong-密码-\"quoted\"-4711";
    let imap = ImapAccount { password: password.into(), ..account(&dovecot) };
    assert!(!format!("{imap:?}").contains("4711"), "Debug shows the password");
    let error = ImapClient::connect(&imap).await.unwrap_err();
    assert!(matches!(error, ImapError::Login { .. }), "{error:?}");
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains("4711"), "{shown}");
    assert!(shown.contains(&dovecot.user), "the message names the account: {shown}");
}

#[test]
fn plain_connections_only_to_loopback() {
    let base = ImapAccount {
        host: "imap.163.com".into(),
        port: None,
        security: Security::Plain,
        username: "someone@163.com".into(),
        password: "x".into(),
        mailbox: "INBOX".into(),
        move_to: None,
        ca_file: None,
    };
    let error = base.check().unwrap_err();
    assert!(error.contains("明文") && error.contains("loopback"), "{error}");
    for host in ["127.0.0.1", "::1", "localhost"] {
        assert_eq!(ImapAccount { host: host.into(), ..base.clone() }.check(), Ok(()), "{host}");
    }
    for security in [Security::Tls, Security::StartTls] {
        assert_eq!(ImapAccount { security, ..base.clone() }.check(), Ok(()));
    }
    let same = ImapAccount { host: "127.0.0.1".into(), move_to: Some("INBOX".into()), ..base.clone() };
    assert!(same.check().is_err(), "moving into the mailbox being read would fetch mail forever");
    let smtp = SmtpAccount {
        host: "smtp.163.com".into(),
        port: None,
        security: Security::Plain,
        username: None,
        password: None,
        from: "yijian@example.org".into(),
        ca_file: None,
    };
    assert!(smtp.check().unwrap_err().contains("loopback"));
}

#[test]
fn the_account_deserializes_with_defaults() {
    #[derive(serde::Deserialize)]
    struct File {
        imap: ImapAccount,
    }
    // The configuration file is TOML; JSON exercises the same serde derive.
    let file: File =
        serde_json::from_str(r#"{"imap": {"host": "imap.163.com", "username": "u@163.com", "password": "p"}}"#)
            .unwrap();
    assert_eq!(file.imap.security, Security::Tls);
    assert_eq!(file.imap.port, None);
    assert_eq!(file.imap.mailbox, "INBOX");
    assert_eq!(file.imap.move_to, None);
    let file: File = serde_json::from_str(
        r#"{"imap": {"host": "h", "username": "u", "password": "p", "security": "starttls", "port": 143}}"#,
    )
    .unwrap();
    assert_eq!(file.imap.security, Security::StartTls);
}

#[tokio::test]
async fn implicit_tls_and_starttls_verify_the_server() {
    let dovecot = Dovecot::start_with(DovecotOptions { tls: true, ..Default::default() }).unwrap();
    dovecot.deliver("INBOX", &message(1)).unwrap();
    let ca_file = dovecot.ca_file.clone().unwrap();
    for (security, port) in [(Security::Tls, dovecot.tls_port.unwrap()), (Security::StartTls, dovecot.port)] {
        let imap = ImapAccount {
            host: "localhost".into(),
            port: Some(port),
            security,
            ca_file: Some(ca_file.clone()),
            ..account(&dovecot)
        };
        let mut client = ImapClient::connect(&imap).await.unwrap_or_else(|e| panic!("{security}: {e}"));
        let (_, mails) = client.fetch_after(None, 10).await.unwrap();
        assert_eq!(mails[0].raw, message(1), "{security}");
        client.logout().await.unwrap();

        // Without the test CA the certificate is not trusted, and nothing is sent.
        let untrusted = ImapAccount { ca_file: None, ..imap };
        match ImapClient::connect(&untrusted).await {
            Err(ImapError::Tls { message, .. }) => assert!(message.contains("certificate"), "{message}"),
            other => panic!("{security}: expected a TLS error, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_silent_server_times_out() {
    // The kernel completes the connection; nobody ever greets.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let imap = ImapAccount {
        host: "127.0.0.1".into(),
        port: Some(listener.local_addr().unwrap().port()),
        security: Security::Plain,
        username: "u".into(),
        password: "p".into(),
        mailbox: "INBOX".into(),
        move_to: None,
        ca_file: None,
    };
    let started = Instant::now();
    let error = ImapClient::connect_with_timeout(&imap, Duration::from_millis(500)).await.unwrap_err();
    assert!(matches!(error, ImapError::Timeout(_)), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

fn smtp_account(sink: &SmtpSink) -> SmtpAccount {
    SmtpAccount {
        host: "127.0.0.1".into(),
        port: Some(sink.port),
        security: Security::Plain,
        username: None,
        password: None,
        from: "辽宁省人社厅意见征集 <yijian@example.org>".into(),
        ca_file: None,
    }
}

fn reply() -> OutgoingMail {
    OutgoingMail {
        to: "citizen@example.cn".into(),
        subject: "回复：关于《若干措施（征求意见稿）》的意见 YJ-ABCD-EFGH".into(),
        body: "您的意见已收到，编号 YJ-ABCD-EFGH。\n感谢您的参与。\n".into(),
        in_reply_to: Some("m1@example.cn".into()),
        references: vec!["m0@example.cn".into(), "m1@example.cn".into()],
        auto_reply: true,
    }
}

#[tokio::test]
async fn an_automatic_reply_is_marked_threaded_and_readable() {
    let sink = SmtpSink::start().unwrap();
    let mailer = Mailer::new(&smtp_account(&sink)).unwrap();
    let id = mailer.send(&reply()).await.unwrap();
    let received = sink.received(1);
    assert_eq!(received.len(), 1);
    let mail = &received[0];
    assert_eq!(mail.mail_from, "yijian@example.org");
    assert_eq!(mail.rcpt_to, vec!["citizen@example.cn".to_string()]);

    let parsed = mail_parser::MessageParser::default().parse(&mail.raw).expect("a parsable message");
    assert_eq!(parsed.header_raw("Auto-Submitted").map(str::trim), Some("auto-replied"));
    assert_eq!(parsed.header_raw("X-Auto-Response-Suppress").map(str::trim), Some("All"));
    assert_eq!(parsed.header_raw("X-Yijian-Auto").map(str::trim), Some("reply"));
    assert_eq!(parsed.header_raw("In-Reply-To").map(str::trim), Some("<m1@example.cn>"));
    assert_eq!(parsed.header_raw("References").map(str::trim), Some("<m0@example.cn> <m1@example.cn>"));
    assert_eq!(parsed.message_id(), Some(id.as_str()));
    assert!(parsed.date().is_some(), "Date header");
    assert_eq!(parsed.subject(), Some(reply().subject.as_str()));
    let from = parsed.from().and_then(|f| f.first()).expect("From");
    assert_eq!(from.name.as_deref(), Some("辽宁省人社厅意见征集"));
    assert_eq!(parsed.body_text(0).as_deref().map(|b| b.replace("\r\n", "\n")), Some(reply().body));
    let content_type = parsed.header_raw("Content-Type").unwrap_or_default().to_ascii_lowercase();
    assert!(content_type.contains("text/plain") && content_type.contains("charset=utf-8"), "{content_type}");
    // The raw header lines are ASCII: the subject went out encoded.
    let head_end = mail.raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    assert!(mail.raw[..head_end].is_ascii(), "{}", String::from_utf8_lossy(&mail.raw[..head_end]));
}

#[tokio::test]
async fn a_notice_is_auto_generated_not_a_reply() {
    let sink = SmtpSink::start().unwrap();
    let mailer = Mailer::new(&smtp_account(&sink)).unwrap();
    let notice = OutgoingMail { auto_reply: false, in_reply_to: None, references: vec![], ..reply() };
    mailer.send(&notice).await.unwrap();
    let received = sink.received(1);
    let parsed = mail_parser::MessageParser::default().parse(&received[0].raw).unwrap();
    assert_eq!(parsed.header_raw("Auto-Submitted").map(str::trim), Some("auto-generated"));
    assert_eq!(parsed.header_raw("X-Yijian-Auto").map(str::trim), Some("reply"));
    assert!(parsed.header_raw("In-Reply-To").is_none());
}

#[tokio::test]
async fn smtp_over_starttls_and_implicit_tls_with_a_private_ca() {
    for (tls, security) in [(SinkTls::StartTls, Security::StartTls), (SinkTls::Implicit, Security::Tls)] {
        let sink = SmtpSink::start_with(tls).unwrap();
        let account =
            SmtpAccount { host: "localhost".into(), security, ca_file: sink.ca_file.clone(), ..smtp_account(&sink) };
        let id = Mailer::new(&account).unwrap().send(&reply()).await.unwrap_or_else(|e| panic!("{security}: {e}"));
        let received = sink.received(1);
        assert_eq!(received.len(), 1, "{security}");
        assert!(String::from_utf8_lossy(&received[0].raw).contains(&id));

        let untrusted = SmtpAccount { ca_file: None, ..account };
        let error = Mailer::new(&untrusted).unwrap().send(&reply()).await.unwrap_err();
        assert!(matches!(error, SmtpError::Send(_)), "{security}: {error:?}");
        assert_eq!(sink.received(0).len(), 1, "{security}: nothing sent to an untrusted server");
    }
}

#[tokio::test]
async fn a_dead_smtp_server_fails_instead_of_hanging() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let account = SmtpAccount {
        host: "127.0.0.1".into(),
        port: Some(listener.local_addr().unwrap().port()),
        security: Security::Plain,
        username: None,
        password: None,
        from: "yijian@example.org".into(),
        ca_file: None,
    };
    let started = Instant::now();
    let mailer = Mailer::with_timeout(&account, Duration::from_millis(500)).unwrap();
    let error = mailer.send(&reply()).await.unwrap_err();
    assert!(matches!(error, SmtpError::Send(_) | SmtpError::Timeout(_)), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// The client's futures are `Send`, so `serve` can run a pass on a task of its own: spawned
/// here against a closed port, each fails with a connection error rather than hanging.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_futures_run_on_a_spawned_task_and_fail_cleanly_on_a_closed_port() {
    // A port just freed: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let account = ImapAccount {
        host: "127.0.0.1".into(),
        port: Some(port),
        security: Security::Plain,
        username: "u".into(),
        password: "p".into(),
        mailbox: "INBOX".into(),
        move_to: None,
        ca_file: None,
    };
    let connected = tokio::spawn(async move { ImapClient::connect(&account).await.map(|_| ()) }).await.unwrap();
    assert!(matches!(connected, Err(ImapError::Connect { .. })), "{connected:?}");

    let smtp = SmtpAccount {
        host: "127.0.0.1".into(),
        port: Some(port),
        security: Security::Plain,
        username: None,
        password: None,
        from: "意见征集 <yijian@example.org>".into(),
        ca_file: None,
    };
    let mailer = Mailer::new(&smtp).unwrap();
    let mail = OutgoingMail {
        to: "citizen@example.cn".into(),
        subject: "回执".into(),
        body: "YJ-ABCD-EFGH".into(),
        in_reply_to: None,
        references: vec![],
        auto_reply: true,
    };
    let sent = tokio::spawn(async move { mailer.send(&mail).await }).await.unwrap();
    assert!(sent.is_err(), "{sent:?}");
    // The client's other futures are Send too (checked by the compiler).
    fn send<T: Send>(_: T) {}
    let _compiled_only = |client: &mut ImapClient| {
        send(client.fetch_after(None, 1));
        send(client.move_to_folder(&[]));
    };
}
