//! Captchas whose answers never leave the server: an image, or the same kind of challenge
//! spoken (`audio`), for people who cannot see the image.
//!
//! An answer is single-use (taking it out of the store is the only way to check it, so a refused
//! submission uses it up), expires after ten minutes, and is compared case-insensitively.
//!
//! The store is bounded without ever dropping a valid captcha of one client to make room for
//! another's: each client (as the web layer counts them: an IPv4 address, an IPv6 /64) holds at
//! most [`Bounds::per_client`] outstanding captchas, and a client past its share loses its own
//! oldest; when the whole store is full of valid captchas, issuance is refused until the oldest
//! expires ([`Unavailable::Full`]). A flood from one client therefore never invalidates another
//! client's captcha, and a flood from many clients delays new captchas but invalidates none.
//!
//! Why audio and not a text question: a question in words ("what is 3 plus 4?") is as easy for a
//! program as for a person, so it was a free bypass of the image. The spoken digits ([`audio`])
//! are mixed at each request from committed recordings, with random speed and pitch, gaps, noise
//! and reversed speech under them: a person with a screen reader passes it, while a program needs
//! speech recognition that copes with the noise, and is held to the same per-client issuance
//! limit as the image.

mod audio;

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;

use base64::Engine;
use jiff::{SignedDuration, Timestamp};
use yijian_domain::Lang;

pub const LIFETIME: SignedDuration = SignedDuration::from_secs(600);
/// Letters and digits that cannot be mistaken for one another on a phone screen.
const CHARS: &[char] = &[
    '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'd', 'e', 'f', 'g', 'h', 'k', 'm', 'n', 'p', 'r', 's', 't', 'w',
    'x', 'y',
];
/// How many digits an audio captcha says.
pub const AUDIO_DIGITS: usize = 5;

/// How many captchas may be outstanding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// In all: memory stays bounded whatever the traffic.
    pub total: usize,
    /// Of one client: its share, past which it loses its own oldest.
    pub per_client: usize,
}

impl Default for Bounds {
    fn default() -> Self {
        // A person holds a captcha or two (a few tabs); the per-client issuance limit of the web
        // layer lets a client reach about a hundred in ten minutes.
        Bounds { total: 100_000, per_client: 100 }
    }
}

pub struct Challenge {
    pub id: String,
    pub image_data_url: String,
    pub expires_at: Timestamp,
}

/// An audio captcha: its sound is made on request ([`Captchas::audio`]).
pub struct AudioChallenge {
    pub id: String,
    pub expires_at: Timestamp,
}

/// Why no captcha was issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    /// The store is full of valid captchas; the oldest expires after this long.
    Full { retry_after: SignedDuration },
    /// The image could not be drawn.
    Failed,
}

/// What checking an answer found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Right,
    Wrong,
    /// Unknown, expired, or already used.
    Expired,
}

#[derive(Clone, Copy)]
enum Kind {
    Image,
    /// Said in this language, mixed with this seed: every request for it sounds the same, so
    /// listening again does not give a program fresh noise to average out.
    Audio {
        lang: Lang,
        seed: [u8; 32],
    },
}

struct Entry {
    answer: String,
    expires_at: Timestamp,
    client: IpAddr,
    kind: Kind,
}

#[derive(Default)]
struct Store {
    answers: HashMap<String, Entry>,
    /// Each client's outstanding ids, oldest first.
    by_client: HashMap<IpAddr, VecDeque<String>>,
    /// Every issued id with its expiry, oldest first (all live as long), to drop the expired in
    /// order. Ids already checked stay until they expire or the queue is compacted.
    queue: VecDeque<(Timestamp, String)>,
}

impl Store {
    fn take(&mut self, id: &str) -> Option<Entry> {
        let entry = self.answers.remove(id)?;
        if let Some(ids) = self.by_client.get_mut(&entry.client) {
            if let Some(at) = ids.iter().position(|i| i == id) {
                ids.remove(at);
            }
            if ids.is_empty() {
                self.by_client.remove(&entry.client);
            }
        }
        Some(entry)
    }

    fn drop_expired(&mut self, now: Timestamp) {
        while let Some((expires_at, _)) = self.queue.front() {
            if *expires_at > now {
                break;
            }
            let (_, id) = self.queue.pop_front().expect("front exists");
            self.take(&id);
        }
    }
}

pub struct Captchas {
    bounds: Bounds,
    store: Mutex<Store>,
}

impl Default for Captchas {
    fn default() -> Self {
        Captchas::bounded(Bounds::default())
    }
}

impl Captchas {
    pub fn bounded(bounds: Bounds) -> Captchas {
        let bounds = Bounds { total: bounds.total.max(1), per_client: bounds.per_client.max(1) };
        Captchas { bounds, store: Mutex::default() }
    }

    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().expect("captcha store poisoned")
    }

    /// `Err` when the store is full of valid captchas and `client` holds none it could give up.
    fn room_for(&self, store: &mut Store, client: IpAddr, now: Timestamp) -> Result<(), Unavailable> {
        store.drop_expired(now);
        let held = store.by_client.get(&client).map_or(0, VecDeque::len);
        if held >= self.bounds.per_client {
            // Past its share, a client gives up its own oldest, never another client's.
            if let Some(oldest) = store.by_client.get(&client).and_then(|ids| ids.front().cloned()) {
                store.take(&oldest);
            }
        } else if store.answers.len() >= self.bounds.total {
            let retry_after = store.queue.front().map_or(LIFETIME, |(exp, _)| exp.duration_since(now));
            return Err(Unavailable::Full { retry_after: retry_after.max(SignedDuration::from_secs(1)) });
        }
        Ok(())
    }

    fn remember(
        &self,
        answer: String,
        client: IpAddr,
        kind: Kind,
        now: Timestamp,
    ) -> Result<(String, Timestamp), Unavailable> {
        let id = hex::encode(yijian_crypto::random_bytes::<16>());
        let expires_at = now + LIFETIME;
        let mut store = self.store();
        self.room_for(&mut store, client, now)?;
        store.answers.insert(id.clone(), Entry { answer: answer.to_lowercase(), expires_at, client, kind });
        store.by_client.entry(client).or_default().push_back(id.clone());
        store.queue.push_back((expires_at, id.clone()));
        // Checked ids linger in the queue until they expire; compact it when they outnumber the
        // live ones, so its length stays within twice the store's.
        if store.queue.len() > 2 * self.bounds.total.max(store.answers.len()) {
            let Store { queue, answers, .. } = &mut *store;
            queue.retain(|(_, id)| answers.contains_key(id));
        }
        Ok((id, expires_at))
    }

    /// Draws a new image captcha for `client`. CPU-bound (it renders a PNG): call it off the
    /// async threads.
    pub fn issue(&self, client: IpAddr, now: Timestamp) -> Result<Challenge, Unavailable> {
        // Refused before drawing, so a full store costs no rendering.
        self.room_for(&mut self.store(), client, now)?;
        let mut c = captcha::Captcha::new();
        // Crop to the text first, then distort: the filters then work on 16,000 pixels instead
        // of the crate's 120,000-pixel canvas, which made the image most of a page's cost.
        c.set_chars(CHARS)
            .add_chars(4)
            .view(200, 80)
            .apply_filter(captcha::filters::Noise::new(0.15))
            .apply_filter(captcha::filters::Wave::new(2.0, 18.0));
        let (answer, png) = c.as_tuple().ok_or(Unavailable::Failed)?;
        let (id, expires_at) = self.remember(answer, client, Kind::Image, now)?;
        Ok(Challenge {
            id,
            image_data_url: format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(png)),
            expires_at,
        })
    }

    /// A new audio captcha for `client`, said in `lang`: [`AUDIO_DIGITS`] random digits.
    pub fn issue_audio(&self, client: IpAddr, lang: Lang, now: Timestamp) -> Result<AudioChallenge, Unavailable> {
        use rand::Rng;
        let mut rng = rand::rng();
        let digits: String = (0..AUDIO_DIGITS).map(|_| char::from(b'0' + rng.random_range(0..10u8))).collect();
        let seed: [u8; 32] = rng.random();
        let (id, expires_at) = self.remember(digits, client, Kind::Audio { lang, seed }, now)?;
        Ok(AudioChallenge { id, expires_at })
    }

    /// The sound of an outstanding audio captcha, as a WAV file; `None` for an unknown, expired
    /// or image captcha. CPU-bound (a few milliseconds).
    pub fn audio(&self, id: &str, now: Timestamp) -> Option<Vec<u8>> {
        let (digits, lang, seed) = {
            let store = self.store();
            let entry = store.answers.get(id).filter(|e| e.expires_at > now)?;
            match entry.kind {
                Kind::Audio { lang, seed } => (entry.answer.clone(), lang, seed),
                Kind::Image => return None,
            }
        };
        Some(audio::speak(&digits, lang, seed))
    }

    /// Checks and consumes an answer.
    pub fn check(&self, id: &str, answer: &str, now: Timestamp) -> Verdict {
        let taken = self.store().take(id);
        match taken {
            Some(e) if e.expires_at <= now => Verdict::Expired,
            Some(e) if e.answer == answer.trim().to_lowercase() => Verdict::Right,
            Some(_) => Verdict::Wrong,
            None => Verdict::Expired,
        }
    }

    /// How many captchas are outstanding (expired ones not yet dropped included).
    pub fn outstanding(&self) -> usize {
        self.store().answers.len()
    }

    /// For tests of the flow around the image or the sound: the answer to an issued captcha.
    #[doc(hidden)]
    pub fn peek_answer(&self, id: &str) -> Option<String> {
        self.store().answers.get(id).map(|e| e.answer.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn image(c: &Captchas, answer: &str, client: IpAddr, now: Timestamp) -> Result<String, Unavailable> {
        c.remember(answer.into(), client, Kind::Image, now).map(|(id, _)| id)
    }

    #[test]
    fn single_use_case_insensitive_expiring() {
        let c = Captchas::default();
        let now = Timestamp::now();
        let a = ip("192.0.2.1");
        let id = image(&c, "ab3x", a, now).unwrap();
        assert_eq!(c.check(&id, " AB3X ", now), Verdict::Right);
        assert_eq!(c.check(&id, "ab3x", now), Verdict::Expired, "second use");
        let id = image(&c, "ab3x", a, now).unwrap();
        assert_eq!(c.check(&id, "wrong", now), Verdict::Wrong);
        assert_eq!(c.check(&id, "ab3x", now), Verdict::Expired, "a wrong answer uses it up");
        let id = image(&c, "ab3x", a, now).unwrap();
        assert_eq!(c.check(&id, "ab3x", now + LIFETIME), Verdict::Expired);
        assert_eq!(c.check("nope", "x", now), Verdict::Expired);
        assert_eq!(c.outstanding(), 0);
    }

    #[test]
    fn renders_a_png() {
        let c = Captchas::default();
        let ch = c.issue(ip("192.0.2.1"), Timestamp::now()).expect("captcha renders");
        let answer = c.peek_answer(&ch.id).unwrap();
        assert_eq!(answer.chars().count(), 4);
        assert!(ch.image_data_url.starts_with("data:image/png;base64,") && ch.image_data_url.len() > 200);
    }

    #[test]
    fn a_client_past_its_share_loses_only_its_own_oldest() {
        let c = Captchas::bounded(Bounds { total: 10, per_client: 3 });
        let now = Timestamp::now();
        let other = image(&c, "keep", ip("192.0.2.9"), now).unwrap();
        let flood: Vec<String> = (0..50).map(|_| image(&c, "x", ip("192.0.2.1"), now).unwrap()).collect();
        assert_eq!(c.outstanding(), 4, "the other client's one and the flooder's last three");
        assert_eq!(c.check(&flood[0], "x", now), Verdict::Expired, "the flooder's oldest went");
        assert_eq!(c.check(&flood[49], "x", now), Verdict::Right);
        assert_eq!(c.check(&other, "keep", now), Verdict::Right, "the other client's is untouched");
    }

    #[test]
    fn a_full_store_refuses_new_captchas_until_the_oldest_expires() {
        let c = Captchas::bounded(Bounds { total: 4, per_client: 2 });
        let now = Timestamp::now();
        let kept: Vec<String> = (1..=4).map(|i| image(&c, "x", ip(&format!("192.0.2.{i}")), now).unwrap()).collect();
        let later = now + SignedDuration::from_secs(60);
        match image(&c, "y", ip("192.0.2.99"), later) {
            Err(Unavailable::Full { retry_after }) => assert_eq!(retry_after, LIFETIME - SignedDuration::from_secs(60)),
            other => panic!("{other:?}"),
        }
        assert!(c.issue(ip("192.0.2.99"), later).is_err(), "the image is refused too, before drawing");
        assert!(kept.iter().all(|id| c.peek_answer(id).is_some()), "no valid captcha was dropped");
        // A client that holds some may still replace its own within its share…
        assert!(image(&c, "z", ip("192.0.2.1"), later).is_err(), "…but not grow past a full store");
        // Once the oldest expire, there is room again.
        assert!(image(&c, "y", ip("192.0.2.99"), now + LIFETIME).is_ok());
        assert_eq!(c.outstanding(), 1);
    }

    #[test]
    fn checked_ids_do_not_grow_the_expiry_queue_without_bound() {
        let c = Captchas::bounded(Bounds { total: 5, per_client: 5 });
        let now = Timestamp::now();
        for _ in 0..1000 {
            let id = image(&c, "x", ip("192.0.2.1"), now).unwrap();
            c.check(&id, "x", now);
        }
        assert!(c.store().queue.len() <= 10, "{}", c.store().queue.len());
    }

    #[test]
    fn audio_captchas_are_digits_said_the_same_way_each_time() {
        let c = Captchas::default();
        let now = Timestamp::now();
        let ch = c.issue_audio(ip("2001:db8::1"), Lang::Zh, now).unwrap();
        let answer = c.peek_answer(&ch.id).unwrap();
        assert!(answer.len() == AUDIO_DIGITS && answer.bytes().all(|b| b.is_ascii_digit()), "{answer}");
        let wav = c.audio(&ch.id, now).unwrap();
        assert_eq!(&wav[..4], b"RIFF");
        assert_eq!(wav, c.audio(&ch.id, now).unwrap(), "the same sound when heard again");
        assert!(c.audio(&ch.id, now + LIFETIME).is_none(), "not once expired");
        let image = c.issue(ip("2001:db8::1"), now).unwrap();
        assert!(c.audio(&image.id, now).is_none(), "an image captcha has no sound");
        assert_eq!(c.check(&ch.id, &answer, now), Verdict::Right);
        assert!(c.audio(&ch.id, now).is_none(), "not once used");
    }
}
