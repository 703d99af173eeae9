//! Staff: who may work in the back office, and with which powers.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// A reviewer reads and classifies comments with personal data masked; an admin also manages
/// consultations, users and tokens, and may reveal personal data by giving a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Reviewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Reviewer => "reviewer",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "reviewer" => Some(Role::Reviewer),
            _ => None,
        }
    }

    /// Who may do what: the one table of staff powers.
    pub fn may(self, permission: Permission) -> bool {
        match permission {
            Permission::Review | Permission::ExportMasked | Permission::ReadMail => true,
            Permission::ManageConsultations
            | Permission::ManageUsers
            | Permission::PublishReport
            | Permission::RevealPersonalData
            | Permission::OpenMailOriginals
            | Permission::ReadMetrics => self == Role::Admin,
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        Role::parse(s).ok_or_else(|| format!("unknown role `{s}`: use admin or reviewer"))
    }
}

/// The powers of the back office, granted by [`Role::may`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read the queue and the comments (personal data masked), classify, tag, link, enter
    /// letters by hand, assign mail.
    Review,
    /// Export comments with personal data masked.
    ExportMasked,
    /// Read the mail trays.
    ReadMail,
    /// Create, upload, extend, close and archive consultations; edit drafts.
    ManageConsultations,
    /// List staff accounts.
    ManageUsers,
    /// Publish the feedback report.
    PublishReport,
    /// See or export ID and phone numbers unmasked, with a reason that is audited.
    RevealPersonalData,
    /// Download a mail as it arrived, or its attachments, with a reason that is audited: they
    /// hold whatever the citizen wrote or scanned, unmasked.
    OpenMailOriginals,
    /// Scrape `/metrics` with a bearer token: traffic and volumes are the operator's business,
    /// not a reviewer's (a separate `metrics_listen` address needs no token at all).
    ReadMetrics,
}

/// A reason given for an audited act (a reveal of personal data, a change of deadline): it is
/// kept in the audit log, and some are shown publicly, so it must say something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReason(String);

impl AuditReason {
    pub const MIN_CHARS: usize = 4;
    pub const MAX_CHARS: usize = 1000;

    /// The reason, trimmed, if it has 4 to 1,000 characters.
    pub fn parse(raw: &str) -> Option<AuditReason> {
        let r = raw.trim();
        (Self::MIN_CHARS..=Self::MAX_CHARS).contains(&r.chars().count()).then(|| AuditReason(r.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for AuditReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How sign-in resists guessing: failures in a row before a name is locked, for how long, how
/// many failed attempts one client address may make, and how long a session lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginPolicy {
    pub max_failures: u32,
    pub lockout: SignedDuration,
    /// Failed attempts one client address may make within `address_window`, whatever names
    /// it tries: a guesser spraying many names is held back too.
    pub max_failures_per_address: u32,
    pub address_window: SignedDuration,
    /// A session ends this long after sign-in, however busy …
    pub session_lifetime: SignedDuration,
    /// … and this long after its last use.
    pub session_idle: SignedDuration,
}

pub const LOGIN_POLICY: LoginPolicy = LoginPolicy {
    max_failures: 5,
    lockout: SignedDuration::from_mins(15),
    max_failures_per_address: 30,
    address_window: SignedDuration::from_mins(15),
    session_lifetime: SignedDuration::from_hours(8),
    session_idle: SignedDuration::from_mins(30),
};

/// What the store knows of an account when someone tries to sign in as it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountState {
    pub role: Role,
    pub disabled: bool,
}

/// Whether an attempt, counted before its password is checked, may have it checked.
///
/// Every attempt on a name (known or not) is counted first, atomically, so that guesses sent at
/// once are each counted and none sees a count from before the others: the `number`th attempt in
/// a row is checked, and the one that reaches `max_failures` locks the name at once, for the
/// attempts after it, whatever it turns out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Check the password: this is the `number`th attempt in a row.
    Check { number: u32 },
    /// Refused without checking: the name is locked.
    Locked { until: Timestamp },
}

/// What a sign-in attempt comes to, decided before anything is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginDecision {
    /// A new session until `expires_at`; the count starts again.
    Accept { role: Role, expires_at: Timestamp },
    /// Refused; the account now has `failures` in a row.
    Refuse { failures: u32 },
    /// Refused, and this failure, the `failures`th in a row, locked the name until `until`.
    LockOut { until: Timestamp, failures: u32 },
    /// Refused without looking further: the name is locked.
    Locked { until: Timestamp },
    /// No such account: refused like a wrong password, and locked like one (`lockout`).
    Unknown { failures: u32, lockout: Option<Timestamp> },
}

impl LoginPolicy {
    /// The lock the `number`th attempt in a row sets when it is counted: the one that reaches
    /// `max_failures` locks the name for those after it.
    pub fn lock_for(&self, number: u32, now: Timestamp) -> Option<Timestamp> {
        (number >= self.max_failures).then(|| now + self.lockout)
    }

    /// An admitted attempt's outcome. `number` is its place in the row of attempts on the name;
    /// `credentials_ok` is the password and, where two-step login is on, the code.
    pub fn decide(
        &self,
        account: Option<&AccountState>,
        number: u32,
        credentials_ok: bool,
        now: Timestamp,
    ) -> LoginDecision {
        let lockout = self.lock_for(number, now);
        let Some(a) = account else { return LoginDecision::Unknown { failures: number, lockout } };
        if credentials_ok && !a.disabled {
            return LoginDecision::Accept { role: a.role, expires_at: now + self.session_lifetime };
        }
        match lockout {
            Some(until) => LoginDecision::LockOut { until, failures: number },
            None => LoginDecision::Refuse { failures: number },
        }
    }
}

/// A name as typed at sign-in, fit for the audit log: at most 64 characters (and `…` when cut),
/// control and invisible formatting characters written as `\u{…}`. Whatever was typed, the entry stays
/// short and prints as one line.
pub fn name_for_record(raw: &str) -> String {
    const MAX_CHARS: usize = 64;
    let (mut out, mut n) = (String::new(), 0);
    for c in raw.chars() {
        let hidden = c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}');
        let piece = if hidden { c.escape_unicode().to_string() } else { c.to_string() };
        let len = piece.chars().count();
        if n + len > MAX_CHARS {
            out.push('…');
            break;
        }
        out.push_str(&piece);
        n += len;
    }
    out
}

/// Shortest password accepted. Length beats composition rules (NIST SP 800-63B).
pub const MIN_PASSWORD_CHARS: usize = 12;

/// A user name: 2–32 lower-case ASCII letters, digits, `.`, `_` or `-`, starting with a letter.
/// Names appear in the audit log and in URLs, so they stay plain.
pub fn valid_username(name: &str) -> bool {
    (2..=32).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

/// Why a password is refused, if it is.
pub fn password_problem(password: &str) -> Option<String> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Some(format!("the password has {n} characters; at least {MIN_PASSWORD_CHARS} are needed"));
    }
    if n > 256 {
        return Some("the password is longer than 256 characters".into());
    }
    if password.chars().any(char::is_control) {
        return Some("the password contains control characters".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        for ok in ["ab", "wang.li", "reviewer_2", "a-b"] {
            assert!(valid_username(ok), "{ok}");
        }
        for bad in ["", "a", "Wang", "2ab", "王丽", "a b", "a/b", &"a".repeat(33)] {
            assert!(!valid_username(bad), "{bad}");
        }
    }

    #[test]
    fn passwords() {
        assert!(password_problem("short").unwrap().contains("at least 12"));
        assert!(password_problem("一二三四五六七八九十一二").is_none(), "twelve characters, not bytes");
        assert!(password_problem("abcdefghijk\u{7}l").is_some());
        assert!(password_problem(&"x".repeat(257)).is_some());
        assert!(password_problem("correct horse battery").is_none());
    }

    fn account() -> AccountState {
        AccountState { role: Role::Reviewer, disabled: false }
    }

    #[test]
    fn the_fifth_attempt_in_a_row_locks_for_fifteen_minutes() {
        let now: Timestamp = "2025-05-12T08:00:00Z".parse().unwrap();
        let p = LOGIN_POLICY;
        let a = account();
        assert_eq!(p.decide(Some(&a), 1, false, now), LoginDecision::Refuse { failures: 1 });
        assert_eq!(p.decide(Some(&a), 4, false, now), LoginDecision::Refuse { failures: 4 });
        let until = now + SignedDuration::from_mins(15);
        assert_eq!(p.decide(Some(&a), 5, false, now), LoginDecision::LockOut { until, failures: 5 });
        assert_eq!(p.lock_for(4, now), None);
        assert_eq!(p.lock_for(5, now), Some(until), "counting the fifth locks out those after it");
        assert_eq!(
            p.decide(Some(&a), 5, true, now),
            LoginDecision::Accept { role: Role::Reviewer, expires_at: now + SignedDuration::from_hours(8) },
            "the fifth attempt itself may still be the right one"
        );
    }

    #[test]
    fn an_unknown_name_is_refused_and_locked_like_a_real_one() {
        let now: Timestamp = "2025-05-12T08:00:00Z".parse().unwrap();
        assert_eq!(LOGIN_POLICY.decide(None, 1, true, now), LoginDecision::Unknown { failures: 1, lockout: None });
        let until = now + SignedDuration::from_mins(15);
        assert_eq!(
            LOGIN_POLICY.decide(None, 5, true, now),
            LoginDecision::Unknown { failures: 5, lockout: Some(until) }
        );
    }

    #[test]
    fn a_disabled_account_never_signs_in_and_still_counts_failures() {
        let now: Timestamp = "2025-05-12T08:00:00Z".parse().unwrap();
        let disabled = AccountState { disabled: true, ..account() };
        assert_eq!(LOGIN_POLICY.decide(Some(&disabled), 1, true, now), LoginDecision::Refuse { failures: 1 });
    }

    #[test]
    fn a_name_in_the_record_is_short_and_one_line() {
        assert_eq!(name_for_record("admin"), "admin");
        let long = "名".repeat(16 * 1024);
        assert_eq!(name_for_record(&long).chars().count(), 65);
        assert_eq!(name_for_record("a\nb\u{1b}[31m\u{202e}"), "a\\u{a}b\\u{1b}[31m\\u{202e}");
    }

    #[test]
    fn reviewers_review_and_admins_also_manage() {
        for p in [Permission::Review, Permission::ExportMasked, Permission::ReadMail] {
            assert!(Role::Reviewer.may(p) && Role::Admin.may(p), "{p:?}");
        }
        for p in [
            Permission::ManageConsultations,
            Permission::ManageUsers,
            Permission::PublishReport,
            Permission::RevealPersonalData,
            Permission::OpenMailOriginals,
            Permission::ReadMetrics,
        ] {
            assert!(!Role::Reviewer.may(p) && Role::Admin.may(p), "{p:?}");
        }
        assert_eq!("admin".parse::<Role>(), Ok(Role::Admin));
        assert!("root".parse::<Role>().unwrap_err().contains("root"));
    }

    #[test]
    fn an_audit_reason_has_four_to_a_thousand_characters_after_trimming() {
        assert_eq!(AuditReason::parse("  核查身份  ").unwrap().as_str(), "核查身份");
        assert!(AuditReason::parse("核查").is_none());
        assert!(AuditReason::parse("   ab   ").is_none(), "spaces do not count");
        assert!(AuditReason::parse(&"理".repeat(1000)).is_some());
        assert!(AuditReason::parse(&"理".repeat(1001)).is_none());
    }

    #[test]
    fn roles() {
        assert_eq!(Role::parse("admin"), Some(Role::Admin));
        assert_eq!(Role::parse(Role::Reviewer.as_str()), Some(Role::Reviewer));
        assert_eq!(Role::parse("root"), None);
    }
}
