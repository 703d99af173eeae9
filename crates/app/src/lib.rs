//! yijian's application layer: every use case, once.
//!
//! The web server and the command line are adapters over this crate: they turn a request or a
//! command into a call here, and the result into a page, JSON or a line on stdout. A use case
//! takes its inputs, who acts (a staff user, a citizen, a mail) and the current time, and
//! returns a typed result. Rules live in `yijian-domain`; reading and writing in `yijian-store`.

pub mod mail;
