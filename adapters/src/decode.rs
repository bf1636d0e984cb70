//! Bytes → text: the optional UTF-8 byte order mark, then a strict decode in the
//! mapping's encoding (or the one the XML declaration names).
//!
//! Strict means no replacement characters: a GBK document with a broken byte would
//! otherwise turn a name into `张�`, and the hub would deliver a wrong name rather
//! than reject the message. Details give a byte offset, never the bytes.

use encoding_rs::{DecoderResult, Encoding, UTF_8};

use crate::mapping::{supported_encoding, TextEncoding};

/// Decodes `bytes` (BOM already removed by [`strip_bom`]) as the mapping says. With a
/// fixed encoding, an XML declaration that names another one is refused: the document
/// is not what the contract says, and decoding it either way could be wrong.
pub(crate) fn decode(bytes: &[u8], encoding: TextEncoding) -> Result<String, String> {
    let encoding = match encoding {
        TextEncoding::Fixed(fixed) => {
            match declared_encoding(bytes)? {
                Some(declared) if !compatible(declared, fixed) => {
                    return Err(format!(
                        "the XML declaration names encoding {}, but this interface's documents are {}: \
                         send them in {} and declare it",
                        declared.name(),
                        fixed.name(),
                        fixed.name()
                    ))
                }
                _ => {}
            }
            fixed
        }
        TextEncoding::Declared => declared_encoding(bytes)?.unwrap_or(UTF_8),
    };
    if encoding == UTF_8 {
        return match std::str::from_utf8(bytes) {
            Ok(text) => Ok(text.to_owned()),
            Err(err) => Err(format!("invalid UTF-8 at byte {}", err.valid_up_to())),
        };
    }
    decode_strict(bytes, encoding)
}

/// Removes a leading UTF-8 byte order mark (Anhui's systems sometimes write one).
pub(crate) fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

fn decode_strict(bytes: &[u8], encoding: &'static Encoding) -> Result<String, String> {
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let capacity = decoder
        .max_utf8_buffer_length_without_replacement(bytes.len())
        .ok_or_else(|| "document too large to decode".to_owned())?;
    let mut text = String::with_capacity(capacity);
    let (result, read) = decoder.decode_to_string_without_replacement(bytes, &mut text, true);
    match result {
        DecoderResult::InputEmpty => Ok(text),
        DecoderResult::Malformed(bad, _) => {
            // `read` counts the malformed sequence itself; report where it starts.
            let at = read.saturating_sub(usize::from(bad));
            Err(format!("invalid {} at byte {at}", encoding.name()))
        }
        // Cannot happen with a buffer of the maximum length, but never panic on it.
        DecoderResult::OutputFull => Err(format!("could not decode {}", encoding.name())),
    }
}

/// GBK documents may be declared GB18030 (its superset) and the other way round.
fn compatible(declared: &'static Encoding, fixed: &'static Encoding) -> bool {
    let gb = |e: &'static Encoding| e == encoding_rs::GBK || e == encoding_rs::GB18030;
    declared == fixed || (gb(declared) && gb(fixed))
}

/// The encoding named by `<?xml … encoding="…"?>` at the start of the document; `None`
/// when there is no declaration or it names none.
fn declared_encoding(bytes: &[u8]) -> Result<Option<&'static Encoding>, String> {
    // The declaration is ASCII in every encoding we accept, and short.
    if !bytes.starts_with(b"<?xml") {
        return Ok(None);
    }
    let head = &bytes[..bytes.len().min(512)];
    let Some(end) = head.windows(2).position(|w| w == b"?>") else {
        return Err("unterminated XML declaration".to_owned());
    };
    let decl = &head[..end];
    let Some(at) = find(decl, b"encoding") else {
        return Ok(None);
    };
    let rest = &decl[at + b"encoding".len()..];
    let rest = trim_ascii_start(rest);
    let Some(rest) = rest.strip_prefix(b"=") else {
        return Err("malformed encoding in the XML declaration".to_owned());
    };
    let rest = trim_ascii_start(rest);
    let (quote, rest) = match rest.split_first() {
        Some((&q, rest)) if q == b'"' || q == b'\'' => (q, rest),
        _ => return Err("malformed encoding in the XML declaration".to_owned()),
    };
    let Some(close) = rest.iter().position(|&b| b == quote) else {
        return Err("malformed encoding in the XML declaration".to_owned());
    };
    let label = String::from_utf8_lossy(&rest[..close]);
    supported_encoding(&label).map(Some).ok_or_else(|| {
        let shown: String = label
            .chars()
            .filter(|c| c.is_ascii_graphic())
            .take(40)
            .collect();
        format!("unsupported encoding \"{shown}\" (UTF-8, GBK, GB18030 accepted)")
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn trim_ascii_start(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    &bytes[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_declared_gbk_and_refuses_broken_bytes() {
        let (gbk, _, _) =
            encoding_rs::GBK.encode("<?xml version=\"1.0\" encoding=\"GBK\"?><a>孕环情通报</a>");
        let text = decode(&gbk, TextEncoding::Declared).expect("GBK");
        assert!(text.contains("孕环情通报"));
        let mut broken = gbk.into_owned();
        let len = broken.len();
        broken.truncate(len - 5); // keep only the lead byte of 报
        broken.push(b'<');
        assert!(decode(&broken, TextEncoding::Declared).is_err());
        assert!(decode(
            b"<?xml version='1.0' encoding='latin1'?><a/>",
            TextEncoding::Declared
        )
        .is_err());
        assert_eq!(
            decode(b"<a/>", TextEncoding::Declared).as_deref(),
            Ok("<a/>")
        );
        assert!(decode(b"{\"a\": \"\xE5\xAD\"}", TextEncoding::Fixed(UTF_8)).is_err());
        // A fixed encoding: the declaration must name it (or be absent).
        let (gbk_doc, _, _) = encoding_rs::GBK.encode("<?xml version=\"1.0\" encoding=\"UTF-8\"?><a>张</a>");
        let err = decode(&gbk_doc, TextEncoding::Fixed(encoding_rs::GBK)).expect_err("declared UTF-8");
        assert!(err.contains("names encoding UTF-8") && err.contains("GBK"), "{err}");
        assert!(decode(b"<?xml version='1.0' encoding='ISO-8859-1'?><a/>", TextEncoding::Fixed(encoding_rs::GBK)).is_err());
        let (gb18030, _, _) = encoding_rs::GBK.encode("<?xml version='1.0' encoding='GB18030'?><a>张</a>");
        assert!(decode(&gb18030, TextEncoding::Fixed(encoding_rs::GBK)).is_ok());
        let (plain, _, _) = encoding_rs::GBK.encode("<a>张</a>");
        assert!(decode(&plain, TextEncoding::Fixed(encoding_rs::GBK)).is_ok());
        assert_eq!(strip_bom(b"\xEF\xBB\xBF{}"), b"{}");
    }
}
