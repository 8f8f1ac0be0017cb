//! The last fallback: a generated thumbnail showing the offer's initials, white on
//! `#4A90D9`, as seed 000 draws it with
//! `magick -size 400x400 xc:"#4A90D9" -gravity center -fill white -annotate 0 "AB"`.
//!
//! The font is Karla Bold (SIL Open Font License 1.1), committed unmodified under
//! `assets/fonts/` with its licence and provenance, and embedded in the binary so the
//! placeholder looks the same on every machine.

use ab_glyph::{Font, FontRef, Glyph, OutlinedGlyph, PxScale, Rect, ScaleFont, point};

use super::crop::{SIZE, encode_rgb};

/// Karla Bold 2.002, see `assets/fonts/README.md`.
const FONT: &[u8] = include_bytes!("../../assets/fonts/Karla-Bold.otf");

/// The seed's placeholder background, `#4A90D9`.
pub const BACKGROUND: [u8; 3] = [0x4A, 0x90, 0xD9];
/// The colour of the initials.
pub const FOREGROUND: [u8; 3] = [0xFF, 0xFF, 0xFF];

/// Text height in pixels (ascent to descent); Karla's capitals come out about 120 px
/// tall, a bit less than a third of the square, as initials avatars usually are.
const TEXT_PX: f32 = 220.0;
/// The text's ink never gets wider than this, so wide pairs such as "WM" keep a margin.
const MAX_TEXT_WIDTH: f32 = 300.0;

/// Initials of an offer name: the first letter or digit of each of the first two words,
/// upper-cased. Words are separated by whitespace and by punctuation such as dashes,
/// slashes, pipes and brackets; a "word" with no letter or digit (a lone `-` or `&`)
/// is skipped. `"?"` when the name has none.
///
/// `"TrimRx - Tirzepatide Starter Plan"` -> `"TT"`, `"acme"` -> `"A"`.
pub fn initials(name: &str) -> String {
    let initials: String = name
        .split(is_separator)
        .filter_map(|word| word.chars().find(|c| c.is_alphanumeric()))
        .take(2)
        .filter_map(|c| c.to_uppercase().next())
        .collect();
    if initials.is_empty() {
        "?".to_owned()
    } else {
        initials
    }
}

fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '-' | '\u{2010}'
                ..='\u{2015}'
                    | '_'
                    | '/'
                    | '\\'
                    | '|'
                    | ':'
                    | ';'
                    | ','
                    | '.'
                    | '+'
                    | '&'
                    | '('
                    | ')'
                    | '['
                    | ']'
                    | '{'
                    | '}'
                    | '<'
                    | '>'
                    | '"'
                    | '*'
                    | '~'
                    | '='
        )
}

/// A 400x400 8-bit RGB PNG: `text` in white Karla Bold, centred on `#4A90D9`.
///
/// The ink (not the advance box or the baseline) is centred, so "TT" and "Jy" both
/// look centred. Text wider than 300 px is scaled down to fit. Characters the font
/// lacks are drawn as `?`.
pub fn placeholder_png(text: &str) -> Vec<u8> {
    let mut pixels: Vec<u8> = BACKGROUND
        .iter()
        .copied()
        .cycle()
        .take((SIZE * SIZE * 3) as usize)
        .collect();
    // The font is a fixed asset (a unit test parses it); if it somehow did not parse,
    // a plain placeholder is still a valid thumbnail.
    if let Ok(font) = FontRef::try_from_slice(FONT) {
        for glyph in layout(&font, text) {
            draw(&glyph, &mut pixels);
        }
    }
    // Encoding a well-formed 400x400 RGB buffer into memory cannot fail.
    encode_rgb(&pixels).expect("a 400x400 RGB buffer encodes as PNG")
}

/// Outlines of `text`, placed so that their combined ink box is centred in the square.
fn layout(font: &FontRef<'_>, text: &str) -> Vec<OutlinedGlyph> {
    let question = font.glyph_id('?');
    let ids: Vec<_> = text
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| match font.glyph_id(c) {
            id if id.0 == 0 => question,
            id => id,
        })
        .collect();

    let place = |scale: PxScale, dx: f32, dy: f32| -> Vec<OutlinedGlyph> {
        let scaled = font.as_scaled(scale);
        let mut x = 0.0;
        let mut glyphs = Vec::new();
        let mut previous = None;
        for &id in &ids {
            if let Some(previous) = previous {
                x += scaled.kern(previous, id);
            }
            let glyph: Glyph = id.with_scale_and_position(scale, point(x + dx, dy));
            x += scaled.h_advance(id);
            previous = Some(id);
            glyphs.extend(font.outline_glyph(glyph));
        }
        glyphs
    };

    let mut scale = PxScale::from(TEXT_PX);
    let mut ink = bounds(&place(scale, 0.0, 0.0));
    let Some(mut box_) = ink else {
        return Vec::new();
    };
    if box_.width() > MAX_TEXT_WIDTH {
        scale = PxScale::from(TEXT_PX * MAX_TEXT_WIDTH / box_.width());
        ink = bounds(&place(scale, 0.0, 0.0));
        box_ = ink.unwrap_or(box_);
    }
    let centre = SIZE as f32 / 2.0;
    let dx = centre - (box_.min.x + box_.max.x) / 2.0;
    let dy = centre - (box_.min.y + box_.max.y) / 2.0;
    place(scale, dx.round(), dy.round())
}

fn bounds(glyphs: &[OutlinedGlyph]) -> Option<Rect> {
    glyphs
        .iter()
        .map(OutlinedGlyph::px_bounds)
        .reduce(|a, b| Rect {
            min: point(a.min.x.min(b.min.x), a.min.y.min(b.min.y)),
            max: point(a.max.x.max(b.max.x), a.max.y.max(b.max.y)),
        })
}

/// Blends the glyph's coverage of each pixel from the background towards white.
fn draw(glyph: &OutlinedGlyph, pixels: &mut [u8]) {
    let origin = glyph.px_bounds().min;
    glyph.draw(|x, y, coverage| {
        let x = origin.x as i64 + i64::from(x);
        let y = origin.y as i64 + i64::from(y);
        let size = i64::from(SIZE);
        if !(0..size).contains(&x) || !(0..size).contains(&y) {
            return;
        }
        let at = ((y * size + x) * 3) as usize;
        let coverage = coverage.clamp(0.0, 1.0);
        // Blend from what is there, so overlapping glyphs (tight pairs) add up.
        for (channel, fg) in FOREGROUND.iter().enumerate() {
            let current = f32::from(pixels[at + channel]);
            let blended = current + (f32::from(*fg) - current) * coverage;
            pixels[at + channel] = blended.round() as u8;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_of_typical_offer_names() {
        assert_eq!(initials("TrimRx - Tirzepatide Starter Plan"), "TT");
        assert_eq!(initials("DirectMeds Semaglutide"), "DS");
        assert_eq!(initials("acme"), "A");
        assert_eq!(initials("  keto — burn  "), "KB");
        assert_eq!(initials("(US) Offer"), "UO");
        assert_eq!(initials("#1 Weight-Loss"), "1W");
        assert_eq!(initials("Smith's Plan"), "SP");
        assert_eq!(initials("über natural"), "ÜN");
        assert_eq!(initials("& - / |"), "?");
        assert_eq!(initials(""), "?");
    }

    #[test]
    fn the_font_parses_and_has_the_letters() {
        let font = FontRef::try_from_slice(FONT).expect("the committed font parses");
        for c in ('A'..='Z').chain('0'..='9').chain(['?', 'Ü']) {
            assert_ne!(font.glyph_id(c).0, 0, "no glyph for {c:?}");
        }
    }

    fn render(text: &str) -> image::RgbImage {
        let png = placeholder_png(text);
        let image = image::load_from_memory_with_format(&png, image::ImageFormat::Png).unwrap();
        assert_eq!(image.color(), image::ColorType::Rgb8);
        image.to_rgb8()
    }

    #[test]
    fn placeholder_is_white_text_centred_on_blue() {
        let image = render("TT");
        assert_eq!(image.dimensions(), (SIZE, SIZE));
        assert_eq!(image.get_pixel(0, 0).0, BACKGROUND);
        assert_eq!(image.get_pixel(SIZE - 1, SIZE - 1).0, BACKGROUND);

        let total = (SIZE * SIZE) as f64;
        let inked = image.pixels().filter(|p| p.0 != BACKGROUND).count() as f64;
        let white = image.pixels().filter(|p| p.0 == FOREGROUND).count() as f64;
        assert!(
            inked / total > 0.02,
            "text covers {:.1}%",
            100.0 * inked / total
        );
        assert!(
            white / total > 0.02,
            "white covers {:.1}%",
            100.0 * white / total
        );
        // Only blends between the two colours: nothing else is drawn.
        assert!(
            image
                .pixels()
                .all(|p| (0..3).all(|c| p.0[c] >= BACKGROUND[c]))
        );

        // The ink box is centred (within a pixel or two of rounding).
        let (mut min_x, mut min_y, mut max_x, mut max_y) = (SIZE, SIZE, 0, 0);
        for (x, y, p) in image.enumerate_pixels() {
            if p.0 != BACKGROUND {
                (min_x, min_y) = (min_x.min(x), min_y.min(y));
                (max_x, max_y) = (max_x.max(x), max_y.max(y));
            }
        }
        let centre_x = f64::from(min_x + max_x) / 2.0;
        let centre_y = f64::from(min_y + max_y) / 2.0;
        assert!((centre_x - 200.0).abs() <= 2.0, "x centre {centre_x}");
        assert!((centre_y - 200.0).abs() <= 2.0, "y centre {centre_y}");
        assert!(max_y - min_y > 80, "text is {} px tall", max_y - min_y);
    }

    #[test]
    fn wide_text_is_kept_inside_a_margin() {
        let image = render("WW");
        let columns: Vec<u32> = image
            .enumerate_pixels()
            .filter(|(_, _, p)| p.0 != BACKGROUND)
            .map(|(x, _, _)| x)
            .collect();
        let (min, max) = (columns.iter().min().unwrap(), columns.iter().max().unwrap());
        assert!(*min >= 40 && *max <= 360, "ink spans x {min}..{max}");
    }

    #[test]
    fn unknown_characters_and_empty_text_still_give_a_valid_png() {
        let image = render("中");
        assert!(image.pixels().any(|p| p.0 == FOREGROUND));
        let image = render("");
        assert!(image.pixels().all(|p| p.0 == BACKGROUND));
    }
}
