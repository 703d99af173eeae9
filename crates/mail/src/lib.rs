//! The email channel.
//!
//! - [`parse`] turns a raw message into a [`parse::ParsedMail`]: decoded subject and text in any of
//!   the charsets Chinese mail arrives in, quoted replies trimmed, forwarded mail attributed,
//!   attachments with their text extracted ([`extract`]), and whether it is auto-generated mail
//!   that must get no reply (RFC 3834).
//! - [`mbox`] splits mbox archives; [`route`] finds the consultation a subject names.
//! - [`intake`] stores mail: comments, the unrouted tray, the rejected tray.
//! - [`imap`] fetches new mail from a mailbox; [`smtp`] sends mail, [`reply`] the receipts.
//! - [`fetch`] runs one IMAP pass: fetch, store, advance the cursor, move, reply.

pub mod extract;
pub mod fetch;
pub mod imap;
pub mod intake;
pub mod mbox;
pub mod parse;
pub mod reply;
pub mod route;
pub mod smtp;
