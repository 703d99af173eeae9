//! The tracking number a citizen gets for a comment: `YJ-XXXX-XXXX`.
//!
//! Eight Crockford base32 characters (digits and capital letters without I, L, O, U) carry 40
//! random bits: short enough to read over the phone, too many to guess. Reading one back is
//! forgiving: any case, with or without the dashes and the `YJ` prefix, and the look-alikes
//! Crockford defines (O→0, I/L→1).

use std::fmt;

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Receipt([u8; 8]);

impl Receipt {
    /// Makes a receipt from 40 random bits (the caller owns the randomness: this crate has no I/O).
    pub fn from_random(bits: u64) -> Receipt {
        let mut out = [0u8; 8];
        for (i, slot) in out.iter_mut().enumerate() {
            *slot = ALPHABET[((bits >> (35 - 5 * i)) & 31) as usize];
        }
        Receipt(out)
    }

    /// Reads what a person typed. `None` if it cannot be a receipt.
    pub fn parse(input: &str) -> Option<Receipt> {
        let mut chars: Vec<u8> = Vec::with_capacity(10);
        for c in input.trim().chars() {
            match c {
                '-' | ' ' | '－' | '—' => continue,
                c if c.is_ascii_alphanumeric() => chars.push(c.to_ascii_uppercase() as u8),
                _ => return None,
            }
        }
        if chars.len() == 10 && chars.starts_with(b"YJ") {
            chars.drain(..2);
        }
        if chars.len() != 8 {
            return None;
        }
        let mut out = [0u8; 8];
        for (slot, c) in out.iter_mut().zip(chars) {
            *slot = match c {
                b'O' => b'0',
                b'I' | b'L' => b'1',
                c if ALPHABET.contains(&c) => c,
                _ => return None,
            };
        }
        Some(Receipt(out))
    }

    /// The eight characters without prefix or dashes: the stored form.
    pub fn compact(&self) -> &str {
        std::str::from_utf8(&self.0).expect("alphabet is ASCII")
    }
}

impl fmt::Display for Receipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.compact();
        write!(f, "YJ-{}-{}", &s[..4], &s[4..])
    }
}

impl fmt::Debug for Receipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_and_parse() {
        let r = Receipt::from_random(0x12_3456_789A);
        let shown = r.to_string();
        assert!(shown.starts_with("YJ-") && shown.len() == 12, "{shown}");
        for typed in [
            shown.clone(),
            shown.to_lowercase(),
            shown.replace('-', ""),
            r.compact().to_string(),
            format!(" {} ", shown.to_lowercase()),
        ] {
            assert_eq!(Receipt::parse(&typed), Some(r), "{typed}");
        }
    }

    #[test]
    fn alphabet_has_no_ambiguous_letters() {
        for bits in [0u64, u64::MAX, 0xFF_FFFF_FFFF, 0x84_2108_4210] {
            let r = Receipt::from_random(bits);
            assert!(r.compact().bytes().all(|b| !b"ILOU".contains(&b)), "{r}");
        }
        assert_eq!(Receipt::parse("YJ-OOOO-IIII").unwrap().compact(), "00001111");
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "YJ-1234", "YJ-1234-56789", "YJ-UUUU-0000", "YJ-1234-567*", "１２３４５６７８", "YJ-1234-567Ü"]
        {
            assert_eq!(Receipt::parse(bad), None, "{bad}");
        }
    }
}
