//! Image captchas whose answers never leave the server.
//!
//! An answer is single-use (taking it out of the map is the only way to check it, so a refused
//! submission uses it up), expires after ten minutes, and is compared case-insensitively.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine;
use jiff::{SignedDuration, Timestamp};

pub const LIFETIME: SignedDuration = SignedDuration::from_secs(600);
/// Beyond this many outstanding captchas the oldest are dropped: a flood of image requests
/// costs memory, not availability.
const MAX_OUTSTANDING: usize = 100_000;
/// Letters and digits that cannot be mistaken for one another on a phone screen.
const CHARS: &[char] = &[
    '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'd', 'e', 'f', 'g', 'h', 'k', 'm', 'n', 'p', 'r', 's', 't', 'w',
    'x', 'y',
];

pub struct Challenge {
    pub id: String,
    pub image_data_url: String,
    pub expires_at: Timestamp,
}

/// What checking an answer found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Right,
    Wrong,
    /// Unknown, expired, or already used.
    Expired,
}

#[derive(Default)]
pub struct Captchas {
    answers: Mutex<HashMap<String, (String, Timestamp)>>,
}

impl Captchas {
    /// Draws a new captcha. CPU-bound (it renders a PNG): call it off the async threads.
    pub fn issue(&self, now: Timestamp) -> Option<Challenge> {
        let mut c = captcha::Captcha::new();
        // Crop to the text first, then distort: the filters then work on 16,000 pixels instead
        // of the crate's 120,000-pixel canvas, which made the image most of a page's cost.
        c.set_chars(CHARS)
            .add_chars(4)
            .view(200, 80)
            .apply_filter(captcha::filters::Noise::new(0.15))
            .apply_filter(captcha::filters::Wave::new(2.0, 18.0));
        let (answer, png) = c.as_tuple()?;
        Some(self.remember(answer, &png, now))
    }

    fn remember(&self, answer: String, png: &[u8], now: Timestamp) -> Challenge {
        let id = hex::encode(yijian_crypto::random_bytes::<16>());
        let expires_at = now + LIFETIME;
        let mut answers = self.answers.lock().expect("captcha map poisoned");
        if answers.len() >= MAX_OUTSTANDING {
            answers.retain(|_, (_, exp)| *exp > now);
            if answers.len() >= MAX_OUTSTANDING {
                answers.clear();
            }
        }
        answers.insert(id.clone(), (answer.to_lowercase(), expires_at));
        Challenge {
            id,
            image_data_url: format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(png)),
            expires_at,
        }
    }

    /// Checks and consumes an answer.
    pub fn check(&self, id: &str, answer: &str, now: Timestamp) -> Verdict {
        let taken = self.answers.lock().expect("captcha map poisoned").remove(id);
        match taken {
            Some((_, exp)) if exp <= now => Verdict::Expired,
            Some((right, _)) if right == answer.trim().to_lowercase() => Verdict::Right,
            Some(_) => Verdict::Wrong,
            None => Verdict::Expired,
        }
    }

    /// For tests of the flow around the image: the answer to an issued captcha.
    #[doc(hidden)]
    pub fn peek_answer(&self, id: &str) -> Option<String> {
        self.answers.lock().expect("captcha map poisoned").get(id).map(|(a, _)| a.clone())
    }
}

impl Captchas {
    /// A text question for people who cannot see the image: a screen reader reads it aloud.
    /// Checked exactly like an image's answer.
    pub fn issue_question(&self, now: Timestamp, lang: yijian_domain::Lang) -> (String, String) {
        let [a, b] = yijian_crypto::random_bytes::<2>();
        let (a, b) = (u32::from(a % 9) + 1, u32::from(b % 9) + 1);
        let question = match lang {
            yijian_domain::Lang::Zh => format!(
                "{}加{}等于几？请用阿拉伯数字填写答案。",
                yijian_domain::document::chinese_numeral(a),
                yijian_domain::document::chinese_numeral(b)
            ),
            yijian_domain::Lang::En => format!("What is {a} plus {b}? Answer in digits."),
        };
        let challenge = self.remember((a + b).to_string(), &[], now);
        (challenge.id, question)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_use_case_insensitive_expiring() {
        let c = Captchas::default();
        let now = Timestamp::now();
        let ch = c.remember("ab3x".into(), b"png", now);
        assert!(ch.image_data_url.starts_with("data:image/png;base64,"));
        assert_eq!(c.check(&ch.id, " AB3X ", now), Verdict::Right);
        assert_eq!(c.check(&ch.id, "ab3x", now), Verdict::Expired, "second use");
        let ch = c.remember("ab3x".into(), b"png", now);
        assert_eq!(c.check(&ch.id, "wrong", now), Verdict::Wrong);
        assert_eq!(c.check(&ch.id, "ab3x", now), Verdict::Expired, "a wrong answer uses it up");
        let ch = c.remember("ab3x".into(), b"png", now);
        assert_eq!(c.check(&ch.id, "ab3x", now + LIFETIME), Verdict::Expired);
        assert_eq!(c.check("nope", "x", now), Verdict::Expired);
    }

    #[test]
    fn renders_a_png() {
        let c = Captchas::default();
        let ch = c.issue(Timestamp::now()).expect("captcha renders");
        let answer = c.peek_answer(&ch.id).unwrap();
        assert_eq!(answer.chars().count(), 4);
        assert!(ch.image_data_url.len() > 200);
    }
}
