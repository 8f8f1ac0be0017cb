//! Turning fetched bytes into the 400x400 PNG Everflow gets: sniff the format, decode
//! within limits, cover-crop, encode.
//!
//! Pure: no I/O. The bytes come from anywhere on the internet, so nothing here trusts
//! them: the format is read from the magic bytes (never from a file name or a
//! Content-Type), the declared size is checked before any pixel is decoded, and every
//! failure is an [`ImageError`], never a panic.

use std::io::Cursor;

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType as ResizeFilter, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::codecs::png::{CompressionType, FilterType as PngFilter, PngEncoder};
use image::{
    DynamicImage, ExtendedColorType, ImageDecoder, ImageEncoder, ImageFormat, ImageReader, Limits,
};

/// Width and height of every thumbnail (seed 000: `magick -resize 400x400^ -extent 400x400`).
pub const SIZE: u32 = 400;

/// Bytes the decoder may allocate per pixel allowed: an 8-bit RGBA buffer. A 16-bit image
/// needs twice that, so its effective pixel cap is half of `max_pixels`.
const ALLOC_BYTES_PER_PIXEL: u64 = 4;

/// Why bytes could not become a thumbnail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    /// The bytes do not start like any supported format (png, jpeg, gif, webp, ico).
    #[error("not a supported image ({excerpt})")]
    NotAnImage {
        /// What the bytes start with, for the reader of a note.
        excerpt: String,
    },
    /// The image declares more pixels than allowed: refused before decoding (a
    /// decompression bomb is small on the wire and huge in memory).
    #[error("{width}x{height} pixels is more than the limit of {max_pixels}")]
    TooManyPixels {
        width: u32,
        height: u32,
        max_pixels: u64,
    },
    /// The format was recognised but the data is broken, unsupported or over a limit.
    #[error("cannot decode {format} image: {reason}")]
    Decode {
        format: &'static str,
        reason: String,
    },
    /// Encoding the result failed (not expected for a 400x400 buffer).
    #[error("cannot encode the thumbnail as png: {reason}")]
    Encode { reason: String },
}

/// Decodes `bytes` (format sniffed from the bytes), scales the image to cover 400x400
/// and crops the centre, like `magick -resize 400x400^ -gravity center -extent 400x400`.
///
/// The result is an 8-bit PNG: RGBA when the source has an alpha channel, RGB
/// otherwise. Images declaring more than `max_pixels` pixels are refused before their
/// pixels are decoded. EXIF orientation is applied so that photos stand upright.
pub fn cover_crop_png(bytes: &[u8], max_pixels: u64) -> Result<Vec<u8>, ImageError> {
    let format = image::guess_format(bytes).map_err(|_| ImageError::NotAnImage {
        excerpt: excerpt(bytes),
    })?;
    let name = format_name(format);
    let decode_error = |error: image::ImageError| ImageError::Decode {
        format: name,
        reason: error.to_string(),
    };

    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits(max_pixels));
    // Building the decoder reads only the header; `set_limits` inside it already refuses
    // dimensions over the width/height caps.
    let mut decoder = reader.into_decoder().map_err(|error| match error {
        error @ image::ImageError::Limits(_) => limit_error(bytes, format, max_pixels, &error),
        other => decode_error(other),
    })?;
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(ImageError::Decode {
            format: name,
            reason: format!("empty image ({width}x{height})"),
        });
    }
    if u64::from(width) * u64::from(height) > max_pixels {
        return Err(ImageError::TooManyPixels {
            width,
            height,
            max_pixels,
        });
    }
    // A broken EXIF block is no reason to drop an otherwise good image.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(decode_error)?;
    image.apply_orientation(orientation);

    let (width, height) = (image.width(), image.height());
    if image.color().has_alpha() {
        let square = cover(&image.into_rgba8(), width, height, PixelType::U8x4)?;
        encode(&square, ExtendedColorType::Rgba8)
    } else {
        let square = cover(&image.into_rgb8(), width, height, PixelType::U8x3)?;
        encode(&square, ExtendedColorType::Rgb8)
    }
}

/// The decoder limits for `max_pixels`: no side longer than the whole pixel budget (a
/// 1-pixel-high strip is the extreme), no allocation beyond an RGBA buffer of it.
fn limits(max_pixels: u64) -> Limits {
    let side = u32::try_from(max_pixels).unwrap_or(u32::MAX);
    let mut limits = Limits::default();
    limits.max_image_width = Some(side);
    limits.max_image_height = Some(side);
    limits.max_alloc = Some(max_pixels.saturating_mul(ALLOC_BYTES_PER_PIXEL));
    limits
}

/// The error for a decoder that refused the header on limits: name the declared
/// dimensions when they are the reason (a second header read allocates no pixels).
fn limit_error(
    bytes: &[u8],
    format: ImageFormat,
    max_pixels: u64,
    error: &image::ImageError,
) -> ImageError {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.no_limits();
    match reader.into_dimensions() {
        Ok((width, height)) if u64::from(width) * u64::from(height) > max_pixels => {
            ImageError::TooManyPixels {
                width,
                height,
                max_pixels,
            }
        }
        _ => ImageError::Decode {
            format: format_name(format),
            reason: error.to_string(),
        },
    }
}

/// Centre square of the image scaled to `SIZE`. Cropping is part of the resampling, so
/// a 20000x2 strip never becomes a 4,000,000x400 intermediate.
///
/// A bilinear (triangle) filter, widened when shrinking so that it still averages every
/// source pixel; alpha is premultiplied while filtering so that transparent pixels do
/// not bleed their colour. A first apply makes one per new offer, and the integer SIMD
/// convolution takes a fraction of a millisecond at this size.
fn cover(pixels: &[u8], width: u32, height: u32, pixel: PixelType) -> Result<Vec<u8>, ImageError> {
    let resample_error = |error: &dyn std::fmt::Display| ImageError::Encode {
        reason: format!("cannot resample: {error}"),
    };
    let source = ImageRef::new(width, height, pixels, pixel).map_err(|e| resample_error(&e))?;
    let mut square = Image::new(SIZE, SIZE, pixel);
    let side = f64::from(width.min(height));
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(ResizeFilter::Bilinear))
        .crop(
            (f64::from(width) - side) / 2.0,
            (f64::from(height) - side) / 2.0,
            side,
            side,
        );
    Resizer::new()
        .resize(&source, &mut square, &options)
        .map_err(|e| resample_error(&e))?;
    Ok(square.into_vec())
}

/// PNG with fast deflate: about a tenth of the default level's time for files some
/// 20-60% larger (a few KB at 400x400); the upload is not what bounds a sync.
fn encode(pixels: &[u8], color: ExtendedColorType) -> Result<Vec<u8>, ImageError> {
    let mut png = Vec::new();
    PngEncoder::new_with_quality(&mut png, CompressionType::Fast, PngFilter::Adaptive)
        .write_image(pixels, SIZE, SIZE, color)
        .map_err(|error| ImageError::Encode {
            reason: error.to_string(),
        })?;
    Ok(png)
}

/// Encodes an 8-bit RGB buffer of `SIZE`x`SIZE` (the placeholder's).
pub(super) fn encode_rgb(pixels: &[u8]) -> Result<Vec<u8>, ImageError> {
    encode(pixels, ExtendedColorType::Rgb8)
}

fn format_name(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Png => "png",
        ImageFormat::Jpeg => "jpeg",
        ImageFormat::Gif => "gif",
        ImageFormat::WebP => "webp",
        ImageFormat::Ico => "ico",
        // Sniffed but not compiled in (e.g. avif, tiff): decoding says it is unsupported.
        other => other.extensions_str().first().copied().unwrap_or("unknown"),
    }
}

/// The first bytes, readably: text as text (an HTML error page is the usual suspect),
/// anything else as hex. Short on purpose: this lands in plan notes.
fn excerpt(bytes: &[u8]) -> String {
    const MAX: usize = 16;
    if bytes.is_empty() {
        return "empty body".to_owned();
    }
    let head = &bytes[..bytes.len().min(MAX)];
    let printable = head
        .iter()
        .all(|byte| byte.is_ascii_graphic() || *byte == b' ');
    let more = if bytes.len() > MAX { "..." } else { "" };
    if printable {
        format!("starts with `{}{more}`", String::from_utf8_lossy(head))
    } else {
        let hex: Vec<String> = head.iter().take(8).map(|b| format!("{b:02x}")).collect();
        format!("starts with bytes {}", hex.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Rgb, RgbImage, Rgba, RgbaImage};

    const MAX_PIXELS: u64 = 40_000_000;
    const RED: Rgb<u8> = Rgb([220, 20, 20]);
    const GREEN: Rgb<u8> = Rgb([20, 200, 40]);

    fn png_of(image: &DynamicImage) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    fn decode(png: &[u8]) -> DynamicImage {
        assert_eq!(image::guess_format(png).unwrap(), ImageFormat::Png);
        image::load_from_memory_with_format(png, ImageFormat::Png).unwrap()
    }

    /// Red with a green band through the middle, `band` pixels wide, running along the
    /// shorter side so that the centre of the cover crop falls inside it.
    fn banded(width: u32, height: u32, band: u32) -> RgbImage {
        ImageBuffer::from_fn(width, height, |x, y| {
            let (pos, len) = if width >= height {
                (x, width)
            } else {
                (y, height)
            };
            if pos.abs_diff(len / 2) < band / 2 {
                GREEN
            } else {
                RED
            }
        })
    }

    fn close(a: Rgb<u8>, b: Rgb<u8>) -> bool {
        a.0.iter().zip(b.0).all(|(x, y)| x.abs_diff(y) <= 8)
    }

    #[test]
    fn a_wide_image_is_cropped_to_its_centre() {
        // 1600x400: the crop keeps x in 600..1000, scaled 1:1; the band is 200 wide.
        let source = banded(1600, 400, 200);
        let out = decode(&cover_crop_png(&png_of(&source.into()), MAX_PIXELS).unwrap());
        assert_eq!((out.width(), out.height()), (SIZE, SIZE));
        let out = out.to_rgb8();
        assert!(close(*out.get_pixel(200, 200), GREEN));
        // Outside the band but inside the crop: still red, so the crop was centred.
        assert!(close(*out.get_pixel(20, 200), RED));
        assert!(close(*out.get_pixel(380, 200), RED));
    }

    #[test]
    fn a_tall_image_is_cropped_to_its_centre() {
        // 300x1200: the centre 300x300 (y in 450..750) is scaled up to 400.
        let source = banded(300, 1200, 100);
        let out = decode(&cover_crop_png(&png_of(&source.into()), MAX_PIXELS).unwrap());
        assert_eq!((out.width(), out.height()), (SIZE, SIZE));
        let out = out.to_rgb8();
        assert!(close(*out.get_pixel(200, 200), GREEN));
        assert!(close(*out.get_pixel(200, 10), RED));
        assert!(close(*out.get_pixel(200, 390), RED));
    }

    #[test]
    fn rgb_stays_rgb_and_alpha_is_kept() {
        let rgb = cover_crop_png(&png_of(&banded(50, 80, 10).into()), MAX_PIXELS).unwrap();
        assert_eq!(decode(&rgb).color(), image::ColorType::Rgb8);

        let rgba = RgbaImage::from_pixel(50, 80, Rgba([1, 2, 3, 100]));
        let out = cover_crop_png(&png_of(&rgba.into()), MAX_PIXELS).unwrap();
        let out = decode(&out);
        assert_eq!(out.color(), image::ColorType::Rgba8);
        assert_eq!(out.to_rgba8().get_pixel(200, 200).0[3], 100);
    }

    #[test]
    fn transparent_pixels_do_not_darken_their_neighbours() {
        // Opaque white beside fully transparent black, shrunk 4:1: the pixels where
        // they meet are partly transparent white, not grey.
        let source = RgbaImage::from_fn(1600, 1600, |x, _| {
            if x < 800 {
                Rgba([255, 255, 255, 255])
            } else {
                Rgba([0, 0, 0, 0])
            }
        });
        let out = cover_crop_png(&png_of(&source.into()), MAX_PIXELS).unwrap();
        let out = decode(&out).to_rgba8();
        let edge = *out.get_pixel(199, 200);
        assert!(
            edge.0[3] > 0 && edge.0[3] < 255,
            "{edge:?} is not on the edge"
        );
        assert!(
            edge.0[..3].iter().all(|&c| c >= 250),
            "{edge:?} was darkened"
        );
    }

    #[test]
    fn sixteen_bit_and_grey_sources_become_8_bit_rgb() {
        let grey16 =
            DynamicImage::ImageLuma16(ImageBuffer::from_pixel(30, 30, image::Luma([40_000u16])));
        let out = decode(&cover_crop_png(&png_of(&grey16), MAX_PIXELS).unwrap());
        assert_eq!(out.color(), image::ColorType::Rgb8);
    }

    #[test]
    fn a_tiny_favicon_is_upscaled() {
        let icon = RgbaImage::from_pixel(16, 16, Rgba([10, 20, 30, 255]));
        let mut ico = Cursor::new(Vec::new());
        DynamicImage::from(icon)
            .write_to(&mut ico, ImageFormat::Ico)
            .unwrap();
        let out = decode(&cover_crop_png(ico.get_ref(), MAX_PIXELS).unwrap());
        assert_eq!((out.width(), out.height()), (SIZE, SIZE));
        assert_eq!(out.to_rgba8().get_pixel(200, 200).0, [10, 20, 30, 255]);
    }

    #[test]
    fn the_format_is_sniffed_not_taken_from_a_name() {
        // What a server calls `logo.jpg` is a PNG: decoding must follow the bytes.
        let png = png_of(&banded(20, 20, 4).into());
        assert!(cover_crop_png(&png, MAX_PIXELS).is_ok());

        let mut jpeg = Cursor::new(Vec::new());
        DynamicImage::from(banded(64, 48, 8))
            .write_to(&mut jpeg, ImageFormat::Jpeg)
            .unwrap();
        assert!(cover_crop_png(jpeg.get_ref(), MAX_PIXELS).is_ok());
    }

    /// A well-formed PNG claiming `width`x`height` RGBA whose only pixel data is a few
    /// compressed bytes: what a decompression bomb looks like before inflating.
    fn png_header(width: u32, height: u32) -> Vec<u8> {
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&width.to_be_bytes());
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[8, 6, 0, 0, 0]); // 8-bit RGBA
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        for (kind, data) in [
            (b"IHDR", &ihdr[..]),
            (
                b"IDAT",
                &[0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01][..],
            ),
            (b"IEND", &[][..]),
        ] {
            let mut chunk = kind.to_vec();
            chunk.extend_from_slice(data);
            png.extend_from_slice(&(data.len() as u32).to_be_bytes());
            png.extend_from_slice(&chunk);
            png.extend_from_slice(&crc32(&chunk).to_be_bytes());
        }
        png
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for byte in data {
            crc ^= u32::from(*byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn a_decompression_bomb_is_refused_before_decoding() {
        // 100000x100000 RGBA would be 40 GB: the test process would die if it were
        // allocated, so passing at all shows it was refused from the header.
        let error = cover_crop_png(&png_header(100_000, 100_000), MAX_PIXELS).unwrap_err();
        assert_eq!(
            error,
            ImageError::TooManyPixels {
                width: 100_000,
                height: 100_000,
                max_pixels: MAX_PIXELS
            }
        );
        // Within the per-side cap but over the pixel budget.
        let error = cover_crop_png(&png_header(10_000, 5_000), MAX_PIXELS).unwrap_err();
        assert!(matches!(error, ImageError::TooManyPixels { .. }), "{error}");
    }

    #[test]
    fn garbage_is_not_an_image() {
        let error = cover_crop_png(b"<!DOCTYPE html><html>", MAX_PIXELS).unwrap_err();
        assert_eq!(
            error.to_string(),
            "not a supported image (starts with `<!DOCTYPE html><...`)"
        );
        let error = cover_crop_png(&[0, 159, 146, 150, 1, 2], MAX_PIXELS).unwrap_err();
        assert_eq!(
            error.to_string(),
            "not a supported image (starts with bytes 00 9f 92 96 01 02)"
        );
        assert!(matches!(
            cover_crop_png(b"", MAX_PIXELS),
            Err(ImageError::NotAnImage { .. })
        ));
    }

    #[test]
    fn truncated_and_corrupt_images_are_decode_errors() {
        let png = png_of(&banded(64, 64, 8).into());
        // Inside the signature, the header, and the pixel data.
        for cut in [8, 20, 33, png.len() / 2] {
            let result = cover_crop_png(&png[..cut], MAX_PIXELS).map(|png| png.len());
            assert!(
                matches!(result, Err(ImageError::Decode { format: "png", .. })),
                "cut at {cut}: {result:?}"
            );
        }
        let mut flipped = png;
        for byte in flipped.iter_mut().skip(40) {
            *byte ^= 0x5a;
        }
        assert!(cover_crop_png(&flipped, MAX_PIXELS).is_err());
        // Sniffed as a GIF, then nothing valid after the magic.
        assert!(matches!(
            cover_crop_png(b"GIF89a\x01", MAX_PIXELS),
            Err(ImageError::Decode { format: "gif", .. })
        ));
    }

    #[test]
    fn an_extreme_strip_is_cropped_without_a_huge_intermediate() {
        let strip = RgbImage::from_pixel(20_000, 2, RED);
        let out = decode(&cover_crop_png(&png_of(&strip.into()), MAX_PIXELS).unwrap());
        assert_eq!((out.width(), out.height()), (SIZE, SIZE));
    }
}
