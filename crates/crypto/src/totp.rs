//! Time-based one-time passwords (RFC 6238: SHA-1, 6 digits, 30 s), as authenticator apps
//! expect, through the `totp-rs` crate. The otpauth URI is written here rather than with the
//! crate's `otpauth` feature, which would bring in a whole URL parser for one format string.

use totp_rs::{Algorithm, Builder, Totp};

/// A new 160-bit secret.
pub fn new_secret() -> Vec<u8> {
    crate::random_bytes::<20>().to_vec()
}

fn totp(secret: &[u8]) -> Option<Totp> {
    // skew 1: the code of the previous and the next 30 s window is accepted too.
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret.to_vec())
        .build()
        .ok()
}

/// Whether `code` is valid now for `secret`.
pub fn check(secret: &[u8], code: &str) -> bool {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    step_of(secret, code, now).is_some()
}

/// The time step (30 s windows since the Unix epoch) whose code `code` is, at `unix_secs`, if it
/// is valid then. A step is to be accepted once (RFC 6238 §5.2): the caller keeps the last one.
pub fn step_of(secret: &[u8], code: &str, unix_secs: u64) -> Option<u64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 {
        return None;
    }
    totp(secret)?.check(&code, unix_secs)
}

/// The code of the step that holds `unix_secs` (for tests: the next step's code is valid too).
pub fn code_at(secret: &[u8], unix_secs: u64) -> String {
    totp(secret).map(|t| t.generate(unix_secs).to_string()).unwrap_or_default()
}

/// The current code (for tests and for showing that set-up worked).
pub fn current(secret: &[u8]) -> String {
    totp(secret).map(|t| t.generate_current().to_string()).unwrap_or_default()
}

/// RFC 4648 base32 without padding, as authenticator apps take a secret typed by hand.
pub fn base32(secret: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in secret {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            out.push(ALPHABET[((buffer >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

pub fn from_base32(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in s.trim().trim_end_matches('=').chars() {
        let v = match c.to_ascii_uppercase() {
            c @ 'A'..='Z' => c as u32 - 'A' as u32,
            c @ '2'..='7' => c as u32 - '2' as u32 + 26,
            _ => return None,
        };
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            out.push(((buffer >> (bits - 8)) & 0xff) as u8);
            bits -= 8;
        }
    }
    Some(out)
}

/// The `otpauth://` URI an authenticator app reads (from a QR code or a link).
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits=6&period=30",
        enc(issuer),
        enc(account),
        base32(secret),
        enc(issuer)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4648_base32() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(from_base32("MZXW6YTBOI").unwrap(), b"foobar");
        assert_eq!(from_base32("mzxw6ytboi======").unwrap(), b"foobar");
        assert!(from_base32("MZ1").is_none());
    }

    #[test]
    fn codes_check() {
        let s = new_secret();
        let code = current(&s);
        assert_eq!(code.len(), 6);
        assert!(check(&s, &code));
        assert!(check(&s, &format!("{} {}", &code[..3], &code[3..])));
        let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
        assert!(!check(&s, &wrong));
        assert!(!check(&s, "12345"));
        assert!(otpauth_uri("yijian", "wang.li", &s).starts_with("otpauth://totp/yijian:wang.li?secret="));
    }

    #[test]
    fn a_code_names_its_step_and_the_neighbouring_steps_are_accepted() {
        let s = new_secret();
        let t = 1_750_000_000;
        assert_eq!(step_of(&s, &code_at(&s, t), t), Some(t / 30));
        assert_eq!(step_of(&s, &code_at(&s, t + 30), t), Some(t / 30 + 1), "the next step");
        assert_eq!(step_of(&s, &code_at(&s, t - 30), t), Some(t / 30 - 1), "the previous step");
        assert_eq!(step_of(&s, &code_at(&s, t + 90), t), None);
    }
}
