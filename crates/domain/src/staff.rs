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
            | Permission::OpenMailOriginals => self == Role::Admin,
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

/// How sign-in resists guessing: failures in a row before an account is locked, for how long,
/// and how long a session lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginPolicy {
    pub max_failures: u32,
    pub lockout: SignedDuration,
    pub session_lifetime: SignedDuration,
}

pub const LOGIN_POLICY: LoginPolicy = LoginPolicy {
    max_failures: 5,
    lockout: SignedDuration::from_mins(15),
    session_lifetime: SignedDuration::from_hours(8),
};

/// What the store knows of an account when someone tries to sign in as it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountState {
    pub role: Role,
    pub disabled: bool,
    /// Failures in a row since the last success or lockout.
    pub failed_logins: u32,
    pub locked_until: Option<Timestamp>,
}

/// What a sign-in attempt comes to, decided before anything is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginDecision {
    /// A new session until `expires_at`; the failure count starts again.
    Accept { role: Role, expires_at: Timestamp },
    /// Refused; the account now has `failures` in a row.
    Refuse { failures: u32 },
    /// Refused, and this failure, the `failures`th in a row, locks the account until `until`.
    LockOut { until: Timestamp, failures: u32 },
    /// Refused without looking further: the account is locked.
    Locked { until: Timestamp },
    /// No such account.
    Unknown,
}

impl LoginPolicy {
    /// `credentials_ok` is the password and, where two-step login is on, the code.
    pub fn decide(&self, account: Option<&AccountState>, credentials_ok: bool, now: Timestamp) -> LoginDecision {
        let Some(a) = account else { return LoginDecision::Unknown };
        if let Some(until) = a.locked_until
            && until > now
        {
            return LoginDecision::Locked { until };
        }
        if credentials_ok && !a.disabled {
            return LoginDecision::Accept { role: a.role, expires_at: now + self.session_lifetime };
        }
        let failures = a.failed_logins + 1;
        if failures >= self.max_failures {
            LoginDecision::LockOut { until: now + self.lockout, failures }
        } else {
            LoginDecision::Refuse { failures }
        }
    }
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

    fn account(failed: u32, locked_until: Option<&str>) -> AccountState {
        AccountState {
            role: Role::Reviewer,
            disabled: false,
            failed_logins: failed,
            locked_until: locked_until.map(|t| t.parse().unwrap()),
        }
    }

    #[test]
    fn the_fifth_failure_in_a_row_locks_for_fifteen_minutes() {
        let now: Timestamp = "2025-05-12T08:00:00Z".parse().unwrap();
        let p = LOGIN_POLICY;
        assert_eq!(p.decide(Some(&account(0, None)), false, now), LoginDecision::Refuse { failures: 1 });
        assert_eq!(p.decide(Some(&account(3, None)), false, now), LoginDecision::Refuse { failures: 4 });
        assert_eq!(
            p.decide(Some(&account(4, None)), false, now),
            LoginDecision::LockOut { until: now + SignedDuration::from_mins(15), failures: 5 }
        );
        assert_eq!(
            p.decide(Some(&account(4, None)), true, now),
            LoginDecision::Accept { role: Role::Reviewer, expires_at: now + SignedDuration::from_hours(8) },
            "a success before the fifth failure clears the count"
        );
        assert_eq!(p.decide(None, true, now), LoginDecision::Unknown);
    }

    #[test]
    fn a_locked_account_refuses_even_the_right_password_until_the_lock_ends() {
        let now: Timestamp = "2025-05-12T08:00:00Z".parse().unwrap();
        let locked = account(0, Some("2025-05-12T08:10:00Z"));
        assert!(matches!(LOGIN_POLICY.decide(Some(&locked), true, now), LoginDecision::Locked { .. }));
        let later: Timestamp = "2025-05-12T08:10:00Z".parse().unwrap();
        assert!(matches!(LOGIN_POLICY.decide(Some(&locked), true, later), LoginDecision::Accept { .. }));
    }

    #[test]
    fn a_disabled_account_never_signs_in_and_still_counts_failures() {
        let now: Timestamp = "2025-05-12T08:00:00Z".parse().unwrap();
        let disabled = AccountState { disabled: true, ..account(0, None) };
        assert_eq!(LOGIN_POLICY.decide(Some(&disabled), true, now), LoginDecision::Refuse { failures: 1 });
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
