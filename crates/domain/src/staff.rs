//! Staff: who may work in the back office, and with which powers.

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

    #[test]
    fn roles() {
        assert_eq!(Role::parse("admin"), Some(Role::Admin));
        assert_eq!(Role::parse(Role::Reviewer.as_str()), Some(Role::Reviewer));
        assert_eq!(Role::parse("root"), None);
    }
}
