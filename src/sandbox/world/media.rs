//! Bytes of uploaded files: strict base64 decoding and reading an image's
//! format and size from its header (PNG, JPEG, GIF), by hand so the sandbox
//! needs no base64 or image crate.
//!
//! It owns no state; `uploads.rs` keeps the files.

/// An image format the sandbox recognises from its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ImageFormat {
    Png,
    Jpeg,
    Gif,
}

impl ImageFormat {
    pub fn mime(self) -> &'static str {
        match self {
            ImageFormat::Png => "image/png",
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Gif => "image/gif",
        }
    }

    /// The format a declared mime type promises, for the three recognised ones.
    pub fn from_mime(mime: &str) -> Option<ImageFormat> {
        match mime.trim().to_ascii_lowercase().as_str() {
            "image/png" => Some(ImageFormat::Png),
            "image/jpeg" => Some(ImageFormat::Jpeg),
            "image/gif" => Some(ImageFormat::Gif),
            _ => None,
        }
    }
}

/// What an image header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ImageInfo {
    pub format: ImageFormat,
    pub width: u32,
    pub height: u32,
}

fn be16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
    ])))
}

fn le16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_le_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
    ])))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The format and pixel size of a PNG, JPEG or GIF, from its header only.
pub(crate) fn sniff_image(b: &[u8]) -> Option<ImageInfo> {
    let info = |format, width, height| {
        Some(ImageInfo {
            format,
            width,
            height,
        })
    };
    if b.starts_with(b"\x89PNG\r\n\x1a\n") && b.get(12..16) == Some(b"IHDR") {
        return info(ImageFormat::Png, be32(b, 16)?, be32(b, 20)?);
    }
    if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
        return info(ImageFormat::Gif, le16(b, 6)?, le16(b, 8)?);
    }
    if b.starts_with(&[0xff, 0xd8]) {
        let (width, height) = jpeg_size(b)?;
        return info(ImageFormat::Jpeg, width, height);
    }
    None
}

/// Walks the JPEG markers up to the first start-of-frame (any SOFn but the
/// DHT/JPG/DAC markers that share its range) and reads its size.
fn jpeg_size(b: &[u8]) -> Option<(u32, u32)> {
    let mut at = 2;
    loop {
        if *b.get(at)? != 0xff {
            return None;
        }
        while *b.get(at)? == 0xff {
            at += 1;
        }
        let marker = *b.get(at)?;
        at += 1;
        match marker {
            0x01 | 0xd0..=0xd8 => continue,
            0xc0..=0xcf if !matches!(marker, 0xc4 | 0xc8 | 0xcc) => {
                // length(2) precision(1) height(2) width(2)
                return Some((be16(b, at + 5)?, be16(b, at + 3)?));
            }
            0xd9 | 0xda => return None,
            _ => at += usize::try_from(be16(b, at)?).ok()?,
        }
    }
}

/// Why a `content_base64` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Base64Error {
    #[error("invalid character {0:?} at offset {1}")]
    Character(char, usize),
    #[error("length {0} is not a multiple of 4 (padding with = is required)")]
    Length(usize),
    #[error("padding is only allowed at the end")]
    Padding,
    #[error("the last character has bits set past the end of the data")]
    TrailingBits,
}

fn sextet(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Decodes RFC 4648 base64 with the standard alphabet and canonical padding.
///
/// Strict on purpose (the docs only say "base64"): no whitespace, no URL-safe
/// alphabet, no `data:` prefix, no missing padding, so a client sending any of
/// those hears about it here rather than from real Everflow.
pub(crate) fn decode_base64(text: &str) -> Result<Vec<u8>, Base64Error> {
    let bytes = text.as_bytes();
    if let Some((i, c)) = text
        .char_indices()
        .find(|(_, c)| *c != '=' && (!c.is_ascii() || sextet(*c as u8).is_none()))
    {
        return Err(Base64Error::Character(c, i));
    }
    if !bytes.len().is_multiple_of(4) {
        return Err(Base64Error::Length(bytes.len()));
    }
    let pad = bytes.iter().rev().take_while(|b| **b == b'=').count();
    if pad > 2 || bytes[..bytes.len() - pad].contains(&b'=') {
        return Err(Base64Error::Padding);
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for chunk in bytes.chunks(4) {
        let s: Vec<u32> = chunk
            .iter()
            .filter_map(|c| sextet(*c).map(u32::from))
            .collect();
        let n = s.iter().fold(0u32, |acc, v| (acc << 6) | v) << (6 * (4 - s.len()));
        let [_, b0, b1, b2] = n.to_be_bytes();
        match s.len() {
            4 => out.extend([b0, b1, b2]),
            3 if n & 0xff == 0 => out.extend([b0, b1]),
            2 if n & 0xffff == 0 => out.push(b0),
            _ => return Err(Base64Error::TrailingBits),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_rfc4648_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(decode_base64(encoded).unwrap(), plain.as_bytes());
        }
        assert_eq!(decode_base64("YmFzZTY0").unwrap(), b"base64");
        assert_eq!(decode_base64("//8=").unwrap(), [0xff, 0xff]);
    }

    #[test]
    fn base64_is_strict() {
        assert!(matches!(
            decode_base64("data:image/png;base64,AAAA"),
            Err(Base64Error::Character(':', 4))
        ));
        assert!(matches!(
            decode_base64("Zm9v\nYmFy"),
            Err(Base64Error::Character('\n', 4))
        ));
        assert!(matches!(
            decode_base64("Zm9vYg"),
            Err(Base64Error::Length(6))
        ));
        assert!(matches!(
            decode_base64("Zm-v"),
            Err(Base64Error::Character('-', 2))
        ));
        assert_eq!(decode_base64("Zg=a"), Err(Base64Error::Padding));
        assert_eq!(decode_base64("Z==="), Err(Base64Error::Padding));
        assert_eq!(decode_base64("Zh=="), Err(Base64Error::TrailingBits));
        assert_eq!(decode_base64("Zm9="), Err(Base64Error::TrailingBits));
    }

    #[test]
    fn sniffs_the_built_in_images() {
        let png = include_bytes!("../fixtures/web/trimrx/semaglutide-640x360.png");
        let gif = include_bytes!("../fixtures/web/directmeds/ed-300x600.gif");
        let jpg = include_bytes!("../fixtures/web/directmeds/og-pharmacy.jpg");
        let size = |b: &[u8]| sniff_image(b).map(|i| (i.format, i.width, i.height));
        assert_eq!(size(png), Some((ImageFormat::Png, 640, 360)));
        assert_eq!(size(gif), Some((ImageFormat::Gif, 300, 600)));
        assert_eq!(size(jpg), Some((ImageFormat::Jpeg, 600, 315)));
        assert_eq!(size(b"hello"), None);
        assert_eq!(size(&png[..20]), None, "a cut header is not an image");
        assert_eq!(
            size(&[0xff, 0xd8, 0xff, 0xda]),
            None,
            "no frame before the scan"
        );
    }

    #[test]
    fn mime_types_map_to_formats() {
        assert_eq!(ImageFormat::from_mime("IMAGE/PNG"), Some(ImageFormat::Png));
        assert_eq!(ImageFormat::from_mime("image/webp"), None);
        assert_eq!(ImageFormat::Jpeg.mime(), "image/jpeg");
    }
}
