//! Reading mail: a pure function of the bytes, with no network and no storage, so it can be
//! fuzzed and reused on its own.
//!
//! - [`parse`] turns a raw message into a [`parse::ParsedMail`]: decoded subject and text in any of
//!   the charsets Chinese mail arrives in, quoted replies trimmed, forwarded mail attributed,
//!   attachments with their text extracted ([`extract`]), and whether it is auto-generated mail
//!   that must get no reply (RFC 3834).
//! - [`mbox`] splits mbox archives; [`route`] finds the consultation a subject names.

pub mod extract;
pub mod mbox;
pub mod parse;
pub mod route;
