//! Captchas whose answers only the server can read: an image, or the same kind of challenge
//! spoken (`audio`), for people who cannot see the image.
//!
//! A captcha's id is a self-contained token: the answer, the kind and the expiry sealed
//! (XChaCha20-Poly1305) under a key derived from the master key, with a random nonce that names
//! it. Any node holding the same master key can therefore check it, or speak it, without a
//! lookup, and nothing is held per captcha issued. What must be shared is that one was used:
//! checking an answer records the use first ([`Store::spend_captcha`]: a row in PostgreSQL that
//! every node sees, or this node's memory on SQLite, which only one node opens), so a captcha is
//! accepted once, anywhere, and a refused submission uses it up too.
//!
//! The in-memory record of a SQLite installation is bounded ([`Bounds`]): past it, issuance is
//! refused until the oldest use may be forgotten ([`Unavailable::Full`]), rather than grow
//! memory or forget a use (which would let that captcha be used again). Issuance per client is
//! the web layer's rate limit.
//!
//! Images are drawn ahead of need ([`Captchas::spawn_pool`]): drawing one costs about a
//! millisecond of CPU, so a crowd opening the form at once would wait behind one another's
//! drawings. The pool holds images and their answers, not tokens: the answer is sealed, with its
//! expiry, only when the image is given out, so an image may wait in the pool any length of time
//! and still be given its full lifetime. When the pool runs dry the image is drawn on the spot
//! (off the async threads), so a crowd beyond the pool is served more slowly, never refused.
//!
//! Why audio and not a text question: a question in words ("what is 3 plus 4?") is as easy for a
//! program as for a person, so it was a free bypass of the image. The spoken digits ([`audio`])
//! are mixed at each request from committed recordings, with random speed and pitch, gaps, noise
//! and reversed speech under them: a person with a screen reader passes it, while a program needs
//! speech recognition that copes with the noise, and is held to the same per-client issuance
//! limit as the image. The noise's seed is derived under a key from the token's nonce, so every
//! node says a captcha the same way and a listener cannot get fresh noise to average out.

mod audio;

use base64::Engine;
use jiff::{SignedDuration, Timestamp};
use yijian_domain::Lang;
use yijian_store::Store;

pub const LIFETIME: SignedDuration = SignedDuration::from_secs(600);
/// Letters and digits that cannot be mistaken for one another on a phone screen.
const CHARS: &[char] = &[
    '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'd', 'e', 'f', 'g', 'h', 'k', 'm', 'n', 'p', 'r', 's', 't', 'w',
    'x', 'y',
];
/// How many digits an audio captcha says.
pub const AUDIO_DIGITS: usize = 5;
/// The associated data of a captcha token: no other token of the server opens as one.
const PURPOSE: &str = "captcha/v1";
/// The nonce that opens a sealed token (see `yijian_crypto::Keys::seal_token`).
const NONCE_LEN: usize = 24;

/// How many used captchas a SQLite installation remembers in memory (PostgreSQL keeps them in
/// the database).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    pub total: usize,
}

impl Default for Bounds {
    fn default() -> Self {
        // About 50 bytes each: tens of megabytes at most, and a million uses in ten minutes is
        // far beyond the intake's rate of real, captcha-checked comments.
        Bounds { total: 1_000_000 }
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
    /// The memory of used captchas is full; its oldest may be forgotten after this long.
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

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Image,
    /// Said in this language.
    Audio(Lang),
}

impl Kind {
    fn byte(self) -> u8 {
        match self {
            Kind::Image => 0,
            Kind::Audio(Lang::Zh) => 1,
            Kind::Audio(Lang::En) => 2,
        }
    }

    fn from_byte(b: u8) -> Option<Kind> {
        match b {
            0 => Some(Kind::Image),
            1 => Some(Kind::Audio(Lang::Zh)),
            2 => Some(Kind::Audio(Lang::En)),
            _ => None,
        }
    }
}

/// What a token holds, opened.
struct Opened {
    /// The token's nonce in hex: names the captcha in the record of uses.
    nonce: String,
    expires_at: Timestamp,
    kind: Kind,
    answer: String,
}

/// Whether `id` has the shape of a captcha token (so a path need not be opened to be refused).
pub fn looks_like_id(id: &str) -> bool {
    (60..=120).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub struct Captchas {
    store: Store,
    bounds: Bounds,
    /// How many this node has issued since it started (for tests and metrics).
    issued: std::sync::atomic::AtomicU64,
    pool: Pool,
}

/// An image drawn and not yet given out.
struct Drawn {
    answer: String,
    data_url: String,
}

/// Images drawn ahead of need (see the module's documentation).
#[derive(Default)]
struct Pool {
    drawn: std::sync::Mutex<Vec<Drawn>>,
    /// How many the pool is kept at; 0 until [`Captchas::spawn_pool`].
    size: std::sync::atomic::AtomicUsize,
    /// Wakes the drawing task when the pool falls to half.
    low: tokio::sync::Notify,
}

/// How many images the drawing task draws per trip to the blocking threads.
const DRAW_BATCH: usize = 16;

impl Captchas {
    pub fn new(store: Store, bounds: Bounds) -> Captchas {
        Captchas {
            store,
            bounds: Bounds { total: bounds.total.max(1) },
            issued: Default::default(),
            pool: Pool::default(),
        }
    }

    /// Keeps `size` images drawn ahead, in a task that draws more whenever the pool falls to
    /// half. Called once, by `serve`.
    pub fn spawn_pool(self: &std::sync::Arc<Self>, size: usize) -> tokio::task::JoinHandle<()> {
        use std::sync::atomic::Ordering;
        self.pool.size.store(size, Ordering::Relaxed);
        let captchas = self.clone();
        tokio::spawn(async move {
            loop {
                loop {
                    let missing = size.saturating_sub(captchas.pooled());
                    if missing == 0 {
                        break;
                    }
                    let batch = tokio::task::spawn_blocking(move || {
                        (0..missing.min(DRAW_BATCH)).filter_map(|_| Captchas::draw()).collect::<Vec<_>>()
                    })
                    .await
                    .unwrap_or_default();
                    if batch.is_empty() {
                        tracing::error!("captcha images could not be drawn ahead");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                        continue;
                    }
                    let mut drawn = captchas.pool.drawn.lock().expect("captcha pool lock");
                    let room = size.saturating_sub(drawn.len());
                    drawn.extend(batch.into_iter().take(room));
                }
                captchas.pool.low.notified().await;
            }
        })
    }

    /// How many images are drawn and waiting.
    pub fn pooled(&self) -> usize {
        self.pool.drawn.lock().expect("captcha pool lock").len()
    }

    /// An image from the pool, if it has one; wakes the drawing task when the pool is low.
    fn take_drawn(&self) -> Option<Drawn> {
        let size = self.pool.size.load(std::sync::atomic::Ordering::Relaxed);
        let (taken, left) = {
            let mut drawn = self.pool.drawn.lock().expect("captcha pool lock");
            (drawn.pop(), drawn.len())
        };
        if size > 0 && left <= size / 2 {
            self.pool.low.notify_one();
        }
        taken
    }

    /// Draws an image and its answer. CPU-bound (it renders a PNG): call it off the async
    /// threads.
    fn draw() -> Option<Drawn> {
        let mut c = captcha::Captcha::new();
        // Crop to the text first, then distort: the filters then work on 16,000 pixels instead
        // of the crate's 120,000-pixel canvas, which made the image most of a page's cost.
        c.set_chars(CHARS)
            .add_chars(4)
            .view(200, 80)
            .apply_filter(captcha::filters::Noise::new(0.15))
            .apply_filter(captcha::filters::Wave::new(2.0, 18.0));
        let (answer, png) = c.as_tuple()?;
        Some(Drawn {
            answer,
            data_url: format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(png)),
        })
    }

    /// Captchas (images and sounds) this node has issued since it started.
    pub fn issued(&self) -> u64 {
        self.issued.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn count_issued(&self) {
        self.issued.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    fn seal(&self, answer: &str, kind: Kind, expires_at: Timestamp) -> String {
        let mut plain = Vec::with_capacity(9 + answer.len());
        plain.extend_from_slice(&expires_at.as_second().to_be_bytes());
        plain.push(kind.byte());
        plain.extend_from_slice(answer.to_lowercase().as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.store.keys().seal_token(PURPOSE, &plain))
    }

    fn open(&self, id: &str) -> Option<Opened> {
        if !looks_like_id(id) {
            return None;
        }
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(id).ok()?;
        let plain = self.store.keys().open_token(PURPOSE, &token)?;
        if plain.len() < 9 {
            return None;
        }
        let secs = i64::from_be_bytes(plain[..8].try_into().expect("length checked"));
        Some(Opened {
            nonce: hex::encode(&token[..NONCE_LEN]),
            expires_at: Timestamp::from_second(secs).ok()?,
            kind: Kind::from_byte(plain[8])?,
            answer: String::from_utf8(plain[9..].to_vec()).ok()?,
        })
    }

    /// `Err` when this node's memory of used captchas is full (SQLite only).
    fn room(&self, now: Timestamp) -> Result<(), Unavailable> {
        match self.store.memory_captcha_room(self.bounds.total, now) {
            Ok(()) => Ok(()),
            Err(first) => {
                Err(Unavailable::Full { retry_after: first.duration_since(now).max(SignedDuration::from_secs(1)) })
            }
        }
    }

    /// The expiry of a captcha issued now, to the second (as the token holds it).
    fn expiry(now: Timestamp) -> Timestamp {
        Timestamp::from_second((now + LIFETIME).as_second()).expect("in range")
    }

    /// Gives out an image captcha: one from the pool, or one drawn now when the pool is empty.
    pub async fn issue(&self, now: Timestamp) -> Result<Challenge, Unavailable> {
        // Refused before drawing, so a full memory costs no rendering.
        self.room(now)?;
        let drawn = match self.take_drawn() {
            Some(drawn) => drawn,
            None => tokio::task::spawn_blocking(Captchas::draw).await.ok().flatten().ok_or(Unavailable::Failed)?,
        };
        self.count_issued();
        let expires_at = Self::expiry(now);
        Ok(Challenge {
            id: self.seal(&drawn.answer, Kind::Image, expires_at),
            image_data_url: drawn.data_url,
            expires_at,
        })
    }

    /// A new audio captcha, said in `lang`: [`AUDIO_DIGITS`] random digits.
    pub fn issue_audio(&self, lang: Lang, now: Timestamp) -> Result<AudioChallenge, Unavailable> {
        use rand::Rng;
        self.room(now)?;
        let mut rng = rand::rng();
        let digits: String = (0..AUDIO_DIGITS).map(|_| char::from(b'0' + rng.random_range(0..10u8))).collect();
        self.count_issued();
        let expires_at = Self::expiry(now);
        Ok(AudioChallenge { id: self.seal(&digits, Kind::Audio(lang), expires_at), expires_at })
    }

    /// The sound of an audio captcha not yet used nor expired, as a WAV file; `None` for any
    /// other id. CPU-bound for a few milliseconds, which run off the async threads.
    pub async fn audio(&self, id: &str, now: Timestamp) -> Option<Vec<u8>> {
        let opened = self.open(id).filter(|o| o.expires_at > now)?;
        let Kind::Audio(lang) = opened.kind else { return None };
        match self.store.captcha_spent(&opened.nonce).await {
            Ok(false) => {}
            Ok(true) => return None,
            Err(e) => {
                tracing::error!(error = %e, "could not tell whether a captcha was used");
                return None;
            }
        }
        let seed = self.store.keys().blind_index("captcha-audio-seed", &opened.nonce);
        tokio::task::spawn_blocking(move || audio::speak(&opened.answer, lang, seed)).await.ok()
    }

    /// Checks and uses up an answer: the use is recorded before the answer is compared, so a
    /// wrong answer uses the captcha up as well.
    pub async fn check(&self, id: &str, answer: &str, now: Timestamp) -> Verdict {
        let Some(opened) = self.open(id) else { return Verdict::Expired };
        if opened.expires_at <= now {
            return Verdict::Expired;
        }
        match self.store.spend_captcha(&opened.nonce, opened.expires_at, now).await {
            Ok(true) => {}
            Ok(false) => return Verdict::Expired,
            Err(e) => {
                // Not recorded, so not accepted: the citizen is asked for a new captcha.
                tracing::error!(error = %e, "could not record a captcha's use");
                return Verdict::Expired;
            }
        }
        if opened.answer == answer.trim().to_lowercase() { Verdict::Right } else { Verdict::Wrong }
    }

    /// For tests of the flow around the image or the sound: the answer a captcha holds.
    #[doc(hidden)]
    pub fn peek_answer(&self, id: &str) -> Option<String> {
        self.open(id).map(|o| o.answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn captchas(name: &str, bounds: Bounds) -> (Captchas, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("yijian-captcha-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::open(&yijian_store::StoreOptions::new(&dir)).await.unwrap();
        (Captchas::new(store, bounds), dir)
    }

    fn image(c: &Captchas, answer: &str, now: Timestamp) -> String {
        c.seal(answer, Kind::Image, Captchas::expiry(now))
    }

    #[tokio::test]
    async fn single_use_case_insensitive_expiring() {
        let (c, dir) = captchas("once", Bounds::default()).await;
        let now = Timestamp::now();
        let id = image(&c, "ab3x", now);
        assert!(looks_like_id(&id), "{id}");
        assert_eq!(c.check(&id, " AB3X ", now).await, Verdict::Right);
        assert_eq!(c.check(&id, "ab3x", now).await, Verdict::Expired, "second use");
        let id = image(&c, "ab3x", now);
        assert_eq!(c.check(&id, "wrong", now).await, Verdict::Wrong);
        assert_eq!(c.check(&id, "ab3x", now).await, Verdict::Expired, "a wrong answer uses it up");
        let id = image(&c, "ab3x", now);
        assert_eq!(c.check(&id, "ab3x", now + LIFETIME).await, Verdict::Expired);
        assert_eq!(c.check("nope", "x", now).await, Verdict::Expired);
        // A token altered by one character does not open.
        let id = image(&c, "ab3x", now);
        let mut forged = id.clone().into_bytes();
        forged[30] = if forged[30] == b'A' { b'B' } else { b'A' };
        assert_eq!(c.check(&String::from_utf8(forged).unwrap(), "ab3x", now).await, Verdict::Expired);
        assert_eq!(c.check(&id, "ab3x", now).await, Verdict::Right, "the original still works");
        c.store.clone().close().await;
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn renders_a_png() {
        let (c, dir) = captchas("png", Bounds::default()).await;
        let ch = c.issue(Timestamp::now()).await.expect("captcha renders");
        let answer = c.peek_answer(&ch.id).unwrap();
        assert_eq!(answer.chars().count(), 4);
        assert!(ch.image_data_url.starts_with("data:image/png;base64,") && ch.image_data_url.len() > 200);
        c.store.clone().close().await;
        let _ = std::fs::remove_dir_all(dir);
    }

    /// The pool fills in the background, gives each image out once, and is filled again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn images_are_drawn_ahead_given_out_once_and_drawn_again() {
        let (c, dir) = captchas("pool", Bounds::default()).await;
        let c = std::sync::Arc::new(c);
        let filled = async |n: usize| {
            for _ in 0..500 {
                if c.pooled() == n {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            panic!("the pool holds {} images, not {n}", c.pooled());
        };
        assert_eq!(c.pooled(), 0, "nothing is drawn before the pool is asked for");
        let task = c.spawn_pool(20);
        filled(20).await;
        let mut given = Vec::new();
        for _ in 0..15 {
            given.push(c.issue(Timestamp::now()).await.unwrap());
        }
        let images: std::collections::HashSet<_> = given.iter().map(|g| &g.image_data_url).collect();
        let ids: std::collections::HashSet<_> = given.iter().map(|g| &g.id).collect();
        assert_eq!((images.len(), ids.len()), (15, 15), "no image nor token is given twice");
        assert!(given.iter().all(|g| c.peek_answer(&g.id).is_some_and(|a| a.chars().count() == 4)));
        assert_eq!(c.issued(), 15);
        // Fallen below half: drawn back up to its size, and no further.
        filled(20).await;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert_eq!(c.pooled(), 20);
        // An answer sealed at issue: the pooled image gets the full lifetime.
        let now = Timestamp::now();
        assert_eq!(c.issue(now).await.unwrap().expires_at, Captchas::expiry(now));
        task.abort();
        c.store.clone().close().await;
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn a_full_memory_of_uses_refuses_new_captchas_until_the_oldest_expires() {
        let (c, dir) = captchas("full", Bounds { total: 3 }).await;
        // A token holds its expiry to the second.
        let now = Timestamp::from_second(Timestamp::now().as_second()).unwrap();
        let ids: Vec<String> = (0..4).map(|_| image(&c, "x", now)).collect();
        for id in &ids[..3] {
            assert_eq!(c.check(id, "x", now).await, Verdict::Right);
        }
        let later = now + SignedDuration::from_secs(60);
        match c.issue_audio(Lang::Zh, later) {
            Err(Unavailable::Full { retry_after }) => assert_eq!(retry_after, LIFETIME - SignedDuration::from_secs(60)),
            Ok(_) => panic!("issued past the bound"),
            Err(e) => panic!("{e:?}"),
        }
        assert!(c.issue(later).await.is_err(), "the image is refused too, before drawing");
        assert_eq!(c.check(&ids[3], "x", later).await, Verdict::Right, "one issued before still works");
        assert_eq!(c.check(&ids[0], "x", later).await, Verdict::Expired, "and none is forgotten early");
        assert!(c.issue_audio(Lang::Zh, now + LIFETIME).is_ok(), "room again once they expire");
        c.store.clone().close().await;
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn audio_captchas_are_digits_said_the_same_way_each_time() {
        let (c, dir) = captchas("audio", Bounds::default()).await;
        let now = Timestamp::now();
        let ch = c.issue_audio(Lang::Zh, now).unwrap();
        let answer = c.peek_answer(&ch.id).unwrap();
        assert!(answer.len() == AUDIO_DIGITS && answer.bytes().all(|b| b.is_ascii_digit()), "{answer}");
        let wav = c.audio(&ch.id, now).await.unwrap();
        assert_eq!(&wav[..4], b"RIFF");
        assert_eq!(wav, c.audio(&ch.id, now).await.unwrap(), "the same sound when heard again");
        assert!(c.audio(&ch.id, now + LIFETIME).await.is_none(), "not once expired");
        let image = c.issue(now).await.unwrap();
        assert!(c.audio(&image.id, now).await.is_none(), "an image captcha has no sound");
        assert_eq!(c.check(&ch.id, &answer, now).await, Verdict::Right);
        assert!(c.audio(&ch.id, now).await.is_none(), "not once used");
        c.store.clone().close().await;
        let _ = std::fs::remove_dir_all(dir);
    }
}
