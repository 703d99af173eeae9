//! The email channel's networked and storing part.
//!
//! - [`intake`] stores mail: comments, the unrouted tray, the rejected tray.
//! - [`imap`] fetches new mail from a mailbox; [`smtp`] sends mail, [`reply`] the receipts.
//! - [`fetch`] runs one IMAP pass: fetch, store, advance the cursor, move, reply.
//!
//! Reading mail (MIME, charsets, attachments' text, mbox archives, routing) needs neither
//! network nor store and lives in `yijian-mailread`; its modules are re-exported here under
//! their old paths ([`parse`], [`extract`], [`mbox`], [`route`]).

pub use yijian_mailread::{extract, mbox, parse, route};

pub mod fetch;
pub mod imap;
pub mod intake;
pub mod reply;
pub mod smtp;
