//! The keys of a yijian installation, kept outside the database.
//!
//! One 32-byte master key (a file `master.key` with mode 0600 under the data directory, or the
//! `YIJIAN_MASTER_KEY` environment variable, 64 hex digits) derives these keys, each for one job:
//!
//! * an XChaCha20-Poly1305 key that seals personal data at rest. An envelope is
//!   `key-id byte ‖ 24-byte nonce ‖ ciphertext+tag`; the caller's associated data binds it to its
//!   row and column, so a ciphertext copied to another row does not open;
//! * an HMAC-SHA256 key for the blind index, so one person's comments can be found by ID number
//!   without decrypting anything;
//! * an Ed25519 key that signs the canonical text of every published draft, and the metadata
//!   citizens rely on beside it;
//! * an HMAC-SHA256 key for the audit chain: each entry's link is a MAC, so whoever can write
//!   the database but does not hold the key cannot re-chain the log after editing it;
//! * an XChaCha20-Poly1305 key for tokens handed to browsers that any node holding the same
//!   master key must be able to open without a lookup (a captcha and its sealed answer).

pub mod password;
pub mod totp;

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

pub const MASTER_KEY_ENV: &str = "YIJIAN_MASTER_KEY";
pub const MASTER_KEY_FILE: &str = "master.key";
const NONCE_LEN: usize = 24;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{MASTER_KEY_ENV} must be 64 hexadecimal digits (a 32-byte key)")]
    BadEnv,
    #[error("key file {0} is not 64 hexadecimal digits; restore the right file or set {MASTER_KEY_ENV}")]
    BadFile(PathBuf),
    #[error(
        "no master key: neither {MASTER_KEY_ENV} nor {0} exists, but the database already holds encrypted personal data; \
         restore the key that encrypted it (yijian never makes a new key over existing data)"
    )]
    Missing(PathBuf),
    #[error("key file {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("key file {0} is readable by other users; run `chmod 600` on it")]
    Permissions(PathBuf),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("ciphertext too short")]
    Truncated,
    #[error("ciphertext was sealed with another key (key id {0})")]
    WrongKeyId(u8),
    #[error("ciphertext does not open with this key and row: altered, moved, or another key")]
    Forged,
}

/// Where the master key came from, which start-up reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Environment,
    File(PathBuf),
    Created(PathBuf),
}

pub struct Keys {
    aead: XChaCha20Poly1305,
    index_key: Zeroizing<[u8; 32]>,
    signing: SigningKey,
    audit_key: Zeroizing<[u8; 32]>,
    tokens: XChaCha20Poly1305,
    key_id: u8,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys").field("key_id", &self.key_id).finish_non_exhaustive()
    }
}

fn derive(master: &[u8; 32], label: &str) -> Zeroizing<[u8; 32]> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(master).expect("any key length");
    mac.update(b"yijian/v1/");
    mac.update(label.as_bytes());
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(&mac.finalize().into_bytes());
    out
}

fn parse_hex_key(s: &str) -> Option<Zeroizing<[u8; 32]>> {
    let bytes = Zeroizing::new(hex::decode(s.trim()).ok()?);
    let mut key = Zeroizing::new([0u8; 32]);
    if bytes.len() != 32 {
        return None;
    }
    key.copy_from_slice(&bytes);
    Some(key)
}

impl Keys {
    pub fn from_master(master: &[u8; 32]) -> Keys {
        let aead_key = derive(master, "pii-aead");
        let index_key = derive(master, "pii-blind-index");
        let signing_seed = derive(master, "draft-signing-ed25519");
        let audit_key = derive(master, "audit-chain-hmac");
        let token_key = derive(master, "web-token-aead");
        let key_id = Sha256::digest(aead_key.as_slice())[0];
        Keys {
            aead: XChaCha20Poly1305::new_from_slice(aead_key.as_slice()).expect("32-byte key"),
            index_key,
            signing: SigningKey::from_bytes(&signing_seed),
            audit_key,
            tokens: XChaCha20Poly1305::new_from_slice(token_key.as_slice()).expect("32-byte key"),
            key_id,
        }
    }

    /// Finds the master key: the environment first, then `DIR/master.key`. When neither exists
    /// a new key file is written only if `may_create` (the caller says no when encrypted data
    /// already exists, so a lost key is an error, never silently replaced).
    pub fn load(data_dir: &Path, env_value: Option<&str>, may_create: bool) -> Result<(Keys, KeySource), KeyError> {
        if let Some(v) = env_value {
            let key = parse_hex_key(v).ok_or(KeyError::BadEnv)?;
            return Ok((Keys::from_master(&key), KeySource::Environment));
        }
        let path = data_dir.join(MASTER_KEY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(&path)
                    .map_err(|source| KeyError::Io { path: path.clone(), source })?
                    .permissions()
                    .mode();
                if mode & 0o077 != 0 {
                    return Err(KeyError::Permissions(path));
                }
                let key = parse_hex_key(&Zeroizing::new(text)).ok_or_else(|| KeyError::BadFile(path.clone()))?;
                Ok((Keys::from_master(&key), KeySource::File(path)))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if !may_create {
                    return Err(KeyError::Missing(path));
                }
                let mut key = Zeroizing::new([0u8; 32]);
                getrandom::fill(key.as_mut_slice())
                    .map_err(|e| KeyError::Io { path: path.clone(), source: io::Error::other(e.to_string()) })?;
                std::fs::create_dir_all(data_dir).map_err(|source| KeyError::Io { path: path.clone(), source })?;
                // create_new: two processes starting at once cannot both write a key.
                let mut file = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)
                    .map_err(|source| KeyError::Io { path: path.clone(), source })?;
                let hex = Zeroizing::new(format!("{}\n", hex::encode(key.as_slice())));
                file.write_all(hex.as_bytes())
                    .and_then(|_| file.sync_all())
                    .map_err(|source| KeyError::Io { path: path.clone(), source })?;
                Ok((Keys::from_master(&key), KeySource::Created(path)))
            }
            Err(source) => Err(KeyError::Io { path, source }),
        }
    }

    pub fn key_id(&self) -> u8 {
        self.key_id
    }

    /// Encrypts `plaintext`; `aad` must name where it will be stored (table, column, row).
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        let nonce: [u8; NONCE_LEN] = random_bytes();
        let ct = self
            .aead
            .encrypt(&XNonce::from(nonce), Payload { msg: plaintext, aad })
            .expect("XChaCha20-Poly1305 encryption does not fail for in-memory data");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
        out.push(self.key_id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    pub fn open(&self, envelope: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        if envelope.len() < 1 + NONCE_LEN + 16 {
            return Err(SealError::Truncated);
        }
        if envelope[0] != self.key_id {
            return Err(SealError::WrongKeyId(envelope[0]));
        }
        let nonce: [u8; NONCE_LEN] = envelope[1..1 + NONCE_LEN].try_into().expect("length checked");
        self.aead
            .decrypt(&XNonce::from(nonce), Payload { msg: &envelope[1 + NONCE_LEN..], aad })
            .map(Zeroizing::new)
            .map_err(|_| SealError::Forged)
    }

    /// HMAC-SHA256 over a normalised value, separated by purpose so an ID number's index can
    /// never be compared with a phone's.
    pub fn blind_index(&self, purpose: &str, value: &str) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.index_key.as_slice()).expect("any key length");
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// HMAC-SHA256 under the audit chain's key, in hex: the link of a keyed audit entry, and
    /// the seal of the anchor file that records the chain's head outside the database.
    pub fn audit_mac(&self, message: &[u8]) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.audit_key.as_slice()).expect("any key length");
        mac.update(message);
        hex::encode(mac.finalize().into_bytes())
    }

    /// Checks an [`Keys::audit_mac`] in constant time.
    pub fn audit_mac_ok(&self, message: &[u8], mac_hex: &str) -> bool {
        let Ok(tag) = hex::decode(mac_hex) else { return false };
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.audit_key.as_slice()).expect("any key length");
        mac.update(message);
        mac.verify_slice(&tag).is_ok()
    }

    /// Seals a token the server hands out and takes back, on any node holding this master key:
    /// `24-byte nonce ‖ ciphertext+tag`. `purpose` (the associated data) keeps one kind of
    /// token from being accepted as another. The nonce is random, so it also names the token.
    pub fn seal_token(&self, purpose: &str, plaintext: &[u8]) -> Vec<u8> {
        let nonce: [u8; NONCE_LEN] = random_bytes();
        let ct = self
            .tokens
            .encrypt(&XNonce::from(nonce), Payload { msg: plaintext, aad: purpose.as_bytes() })
            .expect("XChaCha20-Poly1305 encryption does not fail for in-memory data");
        let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    /// Opens a [`Keys::seal_token`] token: `None` if it was not sealed for `purpose` under this
    /// master key, or was altered.
    pub fn open_token(&self, purpose: &str, token: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        if token.len() < NONCE_LEN + 16 {
            return None;
        }
        let nonce: [u8; NONCE_LEN] = token[..NONCE_LEN].try_into().expect("length checked");
        self.tokens
            .decrypt(&XNonce::from(nonce), Payload { msg: &token[NONCE_LEN..], aad: purpose.as_bytes() })
            .ok()
            .map(Zeroizing::new)
    }

    /// Base64 Ed25519 signature.
    pub fn sign(&self, message: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.signing.sign(message).to_bytes())
    }

    pub fn verify(&self, message: &[u8], signature_b64: &str) -> bool {
        verify_with(&self.public_key(), message, signature_b64)
    }

    pub fn public_key(&self) -> [u8; 32] {
        self.signing.verifying_key().to_bytes()
    }

    pub fn public_key_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.public_key())
    }
}

/// Verifies a signature against a published public key: what anyone holding a copy can do.
pub fn verify_with(public_key: &[u8; 32], message: &[u8], signature_b64: &str) -> bool {
    let Ok(sig) = base64::engine::general_purpose::STANDARD.decode(signature_b64) else { return false };
    let Ok(sig) = <[u8; 64]>::try_from(sig.as_slice()) else { return false };
    let Ok(key) = VerifyingKey::from_bytes(public_key) else { return false };
    key.verify(message, &ed25519_dalek::Signature::from_bytes(&sig)).is_ok()
}

/// Random bytes from a thread-local CSPRNG (ChaCha, seeded and periodically reseeded from the
/// operating system): nonces, receipts and captcha ids need unpredictability, and a system call
/// for each of them was a measurable share of the intake's cost.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    use rand::RngCore;
    let mut b = [0u8; N];
    rand::rng().fill_bytes(&mut b);
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(b: u8) -> Keys {
        Keys::from_master(&[b; 32])
    }

    #[test]
    fn seal_and_open_bound_to_row() {
        let k = keys(1);
        let env = k.seal(b"11010519491231002X", b"comments.id_number:ABCD1234");
        assert_eq!(env[0], k.key_id());
        assert!(!env.windows(18).any(|w| w == b"11010519491231002X"));
        assert_eq!(k.open(&env, b"comments.id_number:ABCD1234").unwrap().as_slice(), b"11010519491231002X");
        assert_eq!(k.open(&env, b"comments.id_number:OTHERROW"), Err(SealError::Forged));
        let mut flipped = env.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(k.open(&flipped, b"comments.id_number:ABCD1234"), Err(SealError::Forged));
        assert_eq!(k.open(&env[..10], b""), Err(SealError::Truncated));
        // Two seals of the same value differ (random nonce).
        assert_ne!(env, k.seal(b"11010519491231002X", b"comments.id_number:ABCD1234"));
    }

    #[test]
    fn other_key_is_refused() {
        let env = keys(1).seal(b"x", b"a");
        let other = keys(2);
        assert!(other.open(&env, b"a").is_err());
    }

    #[test]
    fn blind_index_is_keyed_and_separated() {
        let (a, b) = (keys(1), keys(2));
        assert_eq!(a.blind_index("id", "1"), a.blind_index("id", "1"));
        assert_ne!(a.blind_index("id", "1"), b.blind_index("id", "1"));
        assert_ne!(a.blind_index("id", "1"), a.blind_index("phone", "1"));
    }

    #[test]
    fn signatures_verify_only_the_signed_text() {
        let k = keys(3);
        let sig = k.sign("正文".as_bytes());
        assert!(k.verify("正文".as_bytes(), &sig));
        assert!(verify_with(&k.public_key(), "正文".as_bytes(), &sig));
        assert!(!k.verify("正文！".as_bytes(), &sig));
        assert!(!keys(4).verify("正文".as_bytes(), &sig));
        assert!(!k.verify(b"x", "not base64!"));
    }

    #[test]
    fn audit_macs_are_keyed_and_separate_from_other_keys() {
        let (a, b) = (keys(5), keys(6));
        let m = a.audit_mac(b"entry");
        assert_eq!(m.len(), 64);
        assert!(a.audit_mac_ok(b"entry", &m));
        assert!(!a.audit_mac_ok(b"entry!", &m));
        assert!(!b.audit_mac_ok(b"entry", &m));
        assert!(!a.audit_mac_ok(b"entry", "zz"));
        assert_ne!(m, hex::encode(a.blind_index("", "entry")), "not the blind index key");
    }

    #[test]
    fn key_file_is_created_once_with_mode_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (k1, src) = Keys::load(dir.path(), None, true).unwrap();
        assert!(matches!(src, KeySource::Created(_)));
        let mode = std::fs::metadata(dir.path().join(MASTER_KEY_FILE)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let (k2, src) = Keys::load(dir.path(), None, true).unwrap();
        assert!(matches!(src, KeySource::File(_)));
        assert_eq!(k1.public_key(), k2.public_key());
    }

    #[test]
    fn missing_or_bad_keys_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(Keys::load(dir.path(), None, false), Err(KeyError::Missing(_))));
        assert!(!dir.path().join(MASTER_KEY_FILE).exists());
        assert!(matches!(Keys::load(dir.path(), Some("abc"), true), Err(KeyError::BadEnv)));
        std::fs::write(dir.path().join(MASTER_KEY_FILE), "nothex").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path().join(MASTER_KEY_FILE), std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(matches!(Keys::load(dir.path(), None, true), Err(KeyError::BadFile(_))));
        std::fs::set_permissions(dir.path().join(MASTER_KEY_FILE), std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(Keys::load(dir.path(), None, true), Err(KeyError::Permissions(_))));
        let (k, src) = Keys::load(dir.path(), Some(&"ab".repeat(32)), false).unwrap();
        assert_eq!(src, KeySource::Environment);
        assert_eq!(k.public_key(), Keys::from_master(&[0xab; 32]).public_key());
    }
}
