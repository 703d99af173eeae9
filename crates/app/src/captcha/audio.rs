//! The sound of an audio captcha: committed recordings of the ten digits (made once with
//! espeak-ng by `scripts/captcha-voices`), mixed at each request into a WAV file.
//!
//! Each digit is resampled by its own random factor (speed and pitch together), given its own
//! loudness and followed by a gap of random length; under the whole runs noise, and reversed
//! digits at a low level: to a listener they are plainly not words, to a program they are speech
//! to tell apart from the digits. Everything random comes from the captcha's seed, so the same
//! captcha always sounds the same.

use std::sync::OnceLock;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use yijian_domain::Lang;

/// The recordings' rate, and the WAV's.
const RATE: u32 = 11_025;

macro_rules! clips {
    ($lang:literal) => {
        [
            include_bytes!(concat!("../../assets/captcha/", $lang, "-0.pcm")).as_slice(),
            include_bytes!(concat!("../../assets/captcha/", $lang, "-1.pcm")),
            include_bytes!(concat!("../../assets/captcha/", $lang, "-2.pcm")),
            include_bytes!(concat!("../../assets/captcha/", $lang, "-3.pcm")),
            include_bytes!(concat!("../../assets/captcha/", $lang, "-4.pcm")),
            include_bytes!(concat!("../../assets/captcha/", $lang, "-5.pcm")),
            include_bytes!(concat!("../../assets/captcha/", $lang, "-6.pcm")),
            include_bytes!(concat!("../../assets/captcha/", $lang, "-7.pcm")),
            include_bytes!(concat!("../../assets/captcha/", $lang, "-8.pcm")),
            include_bytes!(concat!("../../assets/captcha/", $lang, "-9.pcm")),
        ]
    };
}

const ZH: [&[u8]; 10] = clips!("zh");
const EN: [&[u8]; 10] = clips!("en");

/// The ten digits of a language as samples in [-1, 1], decoded once.
fn voice(lang: Lang) -> &'static [Vec<f32>; 10] {
    static VOICES: OnceLock<[[Vec<f32>; 10]; 2]> = OnceLock::new();
    let decode = |clips: [&[u8]; 10]| {
        clips.map(|pcm| pcm.chunks_exact(2).map(|s| f32::from(i16::from_le_bytes([s[0], s[1]])) / 32_768.0).collect())
    };
    let voices = VOICES.get_or_init(|| [decode(ZH), decode(EN)]);
    match lang {
        Lang::Zh => &voices[0],
        Lang::En => &voices[1],
    }
}

/// `clip` played `factor` times as fast (and as high), by linear interpolation.
fn resample(clip: &[f32], factor: f32) -> impl Iterator<Item = f32> + '_ {
    let len = (clip.len() as f32 / factor) as usize;
    (0..len).map(move |i| {
        let at = i as f32 * factor;
        let j = at as usize;
        let frac = at - j as f32;
        let a = clip.get(j).copied().unwrap_or(0.0);
        let b = clip.get(j + 1).copied().unwrap_or(a);
        a + (b - a) * frac
    })
}

fn seconds(rng: &mut StdRng, from: f32, to: f32) -> usize {
    (rng.random_range(from..to) * RATE as f32) as usize
}

/// `digits` (ASCII digits) said in `lang`, mixed with `seed`, as a 16-bit mono WAV file.
pub(super) fn speak(digits: &str, lang: Lang, seed: [u8; 32]) -> Vec<u8> {
    let mut rng = StdRng::from_seed(seed);
    let voice = voice(lang);
    let mut out: Vec<f32> = vec![0.0; seconds(&mut rng, 0.5, 0.9)];
    for d in digits.bytes().filter(u8::is_ascii_digit) {
        let factor = rng.random_range(0.85..1.15);
        let gain = rng.random_range(0.65..1.0);
        out.extend(resample(&voice[usize::from(d - b'0')], factor).map(|s| s * gain));
        let gap = seconds(&mut rng, 0.35, 0.9);
        out.extend(std::iter::repeat_n(0.0, gap));
    }
    // Reversed digits, quietly, anywhere: babble that is not a digit.
    let babble = digits.len() + rng.random_range(1..4);
    for _ in 0..babble {
        let clip = &voice[rng.random_range(0..10)];
        let factor = rng.random_range(0.8..1.2);
        let gain = rng.random_range(0.08..0.18);
        let reversed: Vec<f32> = clip.iter().rev().copied().collect();
        let start = rng.random_range(0..out.len());
        for (o, s) in out[start..].iter_mut().zip(resample(&reversed, factor)) {
            *o += s * gain;
        }
    }
    // Noise, low-passed a little so that it hisses less than it rumbles.
    let level = rng.random_range(0.03..0.06);
    let mut last = 0.0f32;
    for o in &mut out {
        last = 0.6 * last + 0.4 * rng.random_range(-1.0f32..1.0);
        *o += last * level * 2.0;
    }
    let peak = out.iter().fold(0.0f32, |m, s| m.max(s.abs())).max(1e-6);
    let scale = 0.9 / peak;
    wav(out.iter().map(|s| (s * scale * 32_767.0) as i16), out.len())
}

/// A 16-bit mono PCM WAV file of `len` samples.
fn wav(samples: impl Iterator<Item = i16>, len: usize) -> Vec<u8> {
    let data_len = u32::try_from(len * 2).unwrap_or(u32::MAX);
    let mut w = Vec::with_capacity(44 + len * 2);
    w.extend_from_slice(b"RIFF");
    w.extend_from_slice(&(36 + data_len).to_le_bytes());
    w.extend_from_slice(b"WAVEfmt ");
    w.extend_from_slice(&16u32.to_le_bytes()); // the fmt chunk's size
    w.extend_from_slice(&1u16.to_le_bytes()); // PCM
    w.extend_from_slice(&1u16.to_le_bytes()); // mono
    w.extend_from_slice(&RATE.to_le_bytes());
    w.extend_from_slice(&(RATE * 2).to_le_bytes()); // bytes per second
    w.extend_from_slice(&2u16.to_le_bytes()); // bytes per frame
    w.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    w.extend_from_slice(b"data");
    w.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        w.extend_from_slice(&s.to_le_bytes());
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_digit_has_a_recording_in_both_languages() {
        for lang in [Lang::Zh, Lang::En] {
            for (d, clip) in voice(lang).iter().enumerate() {
                // Between a fifth of a second and a second.
                assert!((2_000..11_025).contains(&clip.len()), "{lang:?} {d}: {}", clip.len());
            }
        }
    }

    #[test]
    fn a_wav_of_plausible_length_that_differs_with_the_seed() {
        let a = speak("40719", Lang::En, [1; 32]);
        let b = speak("40719", Lang::En, [2; 32]);
        assert_eq!((&a[..4], &a[8..16]), (&b"RIFF"[..], &b"WAVEfmt "[..]));
        let secs = (a.len() - 44) as f32 / (2.0 * RATE as f32);
        // Five digits of about half a second, five gaps, a lead-in.
        assert!((3.5..10.0).contains(&secs), "{secs} s");
        assert_ne!(a, b);
        assert_eq!(a, speak("40719", Lang::En, [1; 32]));
        assert_ne!(speak("40719", Lang::Zh, [1; 32]), a);
    }
}
