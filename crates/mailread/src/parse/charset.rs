//! Turning the bytes of a header or body into text.
//!
//! mail-parser knows most WHATWG labels, but Chinese mail also arrives labelled `x-big5`,
//! `cp950` or `eucgb2312_cn`, which it does not know, and it decodes unknown labels and text
//! without a declared charset as lossy UTF-8, so a GBK body written by an old client became
//! replacement characters. Here unknown labels and missing labels are sniffed instead.

use encoding_rs::{BIG5, Encoding, GB18030, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252};

/// The encoding for a charset label as written in mail, or `None` when the label is unknown.
///
/// Every GB label maps to GB18030: it is a superset of GB2312 and GBK, so a sender who wrote
/// `gb2312` but typed a character only GBK has (common: 镕, 堃, 喆) still gets it decoded.
pub(crate) fn for_label(label: &str) -> Option<&'static Encoding> {
    let label = label.trim().trim_matches(['"', '\'']).trim();
    if label.is_empty() || label.len() > 40 {
        return None;
    }
    let lower = label.to_ascii_lowercase();
    let squeezed: String = lower.chars().filter(|c| !matches!(c, '-' | '_' | ' ')).collect();
    match squeezed.as_str() {
        "gbk" | "xgbk" | "cp936" | "ms936" | "windows936" | "gb2312" | "gb231280" | "xgb2312" | "euccn" | "xeuccn"
        | "eucgb2312cn" | "csgb2312" | "csgbk" | "chinese" | "isoir58" | "csiso58gb231280" | "gb18030"
        | "csgb18030" | "gb180302000" | "gb180302005" => {
            return Some(GB18030);
        }
        "big5" | "xbig5" | "cp950" | "ms950" | "windows950" | "big5hkscs" | "cnbig5" | "csbig5" | "xxbig5" => {
            return Some(BIG5);
        }
        "utf8" | "unicode11utf8" | "unicode20utf8" | "xunicode20utf8" => return Some(UTF_8),
        _ => {}
    }
    Encoding::for_label_no_replacement(lower.as_bytes())
}

/// Decodes text whose charset was declared as `label` (if any).
///
/// A byte-order mark wins over the label, as in browsers. Text declared as US-ASCII or
/// Latin-1 that is valid UTF-8 is read as UTF-8: mail programs that do not know better label
/// their UTF-8 that way, and real Latin-1 prose is almost never valid UTF-8. So is text
/// declared in another legacy charset with more than a few non-ASCII bytes, all valid UTF-8.
pub(crate) fn decode(bytes: &[u8], label: Option<&str>) -> String {
    match label.and_then(for_label) {
        Some(encoding) => {
            let utf16 = encoding == UTF_16LE || encoding == UTF_16BE;
            if (encoding == WINDOWS_1252 || encoding == UTF_8 || (!utf16 && looks_like_utf8(bytes)))
                && std::str::from_utf8(bytes).is_ok()
            {
                return strip_bom(bytes);
            }
            let (text, _, _) = encoding.decode(bytes);
            text.into_owned()
        }
        None => decode_unlabelled(bytes),
    }
}

/// Whether there are enough non-ASCII bytes for valid UTF-8 to be no accident. Webmail forms
/// and forwarding gateways relabel text without re-encoding it; GBK or Big5 text is valid
/// UTF-8 only by chance, and the chance vanishes within a few characters: their second bytes
/// are mostly above 0xBF, where UTF-8 has no continuation bytes.
fn looks_like_utf8(bytes: &[u8]) -> bool {
    bytes.iter().filter(|b| **b >= 0x80).nth(8).is_some()
}

fn strip_bom(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    String::from_utf8_lossy(bytes).into_owned()
}

/// Decodes text with no usable charset label: a byte-order mark, else UTF-8 if it is valid,
/// else the encoding chardetng finds most likely for Chinese mail, else GB18030.
pub(crate) fn decode_unlabelled(bytes: &[u8]) -> String {
    if let Some((encoding, bom_len)) = Encoding::for_bom(bytes) {
        let (text, _) = encoding.decode_without_bom_handling(&bytes[bom_len..]);
        return text.into_owned();
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return text.to_owned();
    }
    let encoding = sniff(bytes);
    let (text, had_errors) = encoding.decode_without_bom_handling(bytes);
    if had_errors && encoding != GB18030 {
        let (gb, gb_errors) = GB18030.decode_without_bom_handling(bytes);
        if !gb_errors {
            return gb.into_owned();
        }
    }
    text.into_owned()
}

/// The most likely legacy encoding of `bytes` (which are not valid UTF-8).
fn sniff(bytes: &[u8]) -> &'static Encoding {
    // chardetng needs a few hundred bytes to be sure; more only costs time.
    const SAMPLE: usize = 16 * 1024;
    let mut detector = chardetng::EncodingDetector::new();
    let sample = &bytes[..bytes.len().min(SAMPLE)];
    detector.feed(sample, sample.len() == bytes.len());
    // The "cn" hint makes GBK win ties with Japanese and Korean encodings, which short Chinese
    // texts otherwise lose now and then.
    let guess = detector.guess(Some(b"cn"), false);
    if guess == encoding_rs::GBK || guess == GB18030 || guess == BIG5 { chinese(sample) } else { guess }
}

/// GB18030 or Big5. With the "cn" hint chardetng always says GBK, and Big5 bytes are always
/// well-formed GBK, so it cannot tell them apart. But Big5 punctuation and its most frequent
/// characters (lead bytes A1–A7) fall in GBK's user-defined area, which decodes to private-use
/// characters no real text has; GBK text read as Big5 hits Big5's unassigned codes instead.
fn chinese(sample: &[u8]) -> &'static Encoding {
    let odd = |encoding: &'static Encoding| {
        let (text, _) = encoding.decode_without_bom_handling(sample);
        text.chars().filter(|c| ('\u{e000}'..='\u{f8ff}').contains(c) || *c == '\u{fffd}').count()
    };
    if odd(BIG5) < odd(GB18030) { BIG5 } else { GB18030 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gbk(s: &str) -> Vec<u8> {
        GB18030.encode(s).0.into_owned()
    }

    #[test]
    fn chinese_labels_seen_in_the_wild_map_to_gb18030_or_big5() {
        for label in
            ["x-gbk", "cp936", "gb_2312-80", "eucgb2312_cn", "GB2312", "gbk", "GB18030", "\"gb2312\"", "EUC-CN"]
        {
            assert_eq!(for_label(label), Some(GB18030), "{label}");
        }
        for label in ["big5", "x-big5", "CP950", "Big5-HKSCS"] {
            assert_eq!(for_label(label), Some(BIG5), "{label}");
        }
        assert_eq!(for_label("utf8"), Some(UTF_8));
        assert_eq!(for_label("x-unknown-thing"), None);
        assert_eq!(for_label(""), None);
    }

    #[test]
    fn gbk_label_decodes_a_four_byte_gb18030_character() {
        // U+20087 (𠂇) exists only in GB18030's four-byte range.
        let bytes = GB18030.encode("甲𠂇乙").0.into_owned();
        assert_eq!(bytes.len(), 8);
        assert_eq!(decode(&bytes, Some("gbk")), "甲𠂇乙");
    }

    #[test]
    fn unknown_or_missing_label_is_sniffed() {
        let text = "关于第三条的意见：建议增加对中小企业的培训补贴，并明确申请流程。";
        assert_eq!(decode(&gbk(text), None), text);
        assert_eq!(decode(&gbk(text), Some("x-unknown")), text);
        assert_eq!(decode(text.as_bytes(), None), text);
        let big5 = BIG5.encode("關於第三條的意見：建議增加對中小企業的培訓補貼，並明確申請流程。");
        assert_eq!(decode(&big5.0, None), "關於第三條的意見：建議增加對中小企業的培訓補貼，並明確申請流程。");
    }

    #[test]
    fn utf8_mislabelled_as_ascii_is_read_as_utf8() {
        assert_eq!(decode("同意".as_bytes(), Some("us-ascii")), "同意");
        assert_eq!(decode(b"caf\xe9", Some("iso-8859-1")), "café");
    }

    #[test]
    fn utf8_mislabelled_as_gbk_is_read_as_utf8_but_short_gbk_stays_gbk() {
        let text = "建议删除第九条。";
        assert_eq!(decode(text.as_bytes(), Some("gb18030")), text);
        assert_eq!(decode(&gbk(text), Some("gb18030")), text);
        for word in ["意见", "同意", "反对", "补贴"] {
            assert_eq!(decode(&gbk(word), Some("gbk")), word);
        }
    }

    #[test]
    fn bom_wins() {
        let mut bytes = vec![0xFF, 0xFE];
        for unit in "意见".encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        assert_eq!(decode_unlabelled(&bytes), "意见");
    }
}
