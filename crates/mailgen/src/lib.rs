//! Test support for yijian's email channel (never shipped): [`corpus`] generates test mails in
//! every encoding and shape the mail reader must handle; [`servers`] starts real IMAP (Dovecot)
//! and SMTP (aiosmtpd) servers on loopback from private configuration.

pub mod corpus;
pub mod servers;
