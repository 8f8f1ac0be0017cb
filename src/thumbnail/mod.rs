//! Offer thumbnails (DESIGN section 5 item 4, seed 000 "Thumbnail handling").
//!
//! Owns finding a picture for a destination offer and making it the 400x400 8-bit PNG
//! that Everflow gets: the source offer's `thumbnail_url`; else the `og:image` of its
//! pages (preview URL, then default landing URL); else their icons; else a generated
//! placeholder with the offer's initials. Every fetch is bounded ([`FetchLimits`]),
//! image formats are sniffed from bytes, and every candidate that fails is skipped with
//! a note, so [`resolve`] always yields a thumbnail.
//!
//! Not here: the temp upload and `thumbnail_file` (the Everflow client and apply),
//! caching images on disk (state), and deciding whether to re-upload (the plan compares
//! [`Thumbnail::fingerprint`] with the last applied one).

mod address;
mod crop;
mod fetch;
mod html;
mod placeholder;
mod run;

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use url::Url;

pub use crop::{ImageError, SIZE, cover_crop_png};
pub use fetch::{FetchError, FetchLimits, Fetched, Fetcher, Refused};
pub use html::{find_icons, find_og_image};
pub use placeholder::{BACKGROUND, FOREGROUND, initials, placeholder_png};
pub use run::Thumbnails;

/// Where a thumbnail came from, for the plan and state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThumbnailSource {
    /// The source offer's own `thumbnail_url`.
    SourceThumbnail { url: String },
    /// The `og:image` (or `twitter:image`) of a landing page.
    OgImage { page: String, url: String },
    /// An icon of a landing page (a declared one, or the origin's `/favicon.ico` or
    /// `/apple-touch-icon.png`).
    Icon { page: String, url: String },
    /// The generated placeholder showing these initials.
    Initials { text: String },
}

/// A processed thumbnail ready to upload: a 400x400 8-bit RGB or RGBA PNG.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Thumbnail {
    pub png: Vec<u8>,
    pub source: ThumbnailSource,
    /// Hex SHA-256 of what the thumbnail was made FROM: the original image bytes as
    /// fetched, or the placeholder's initials, behind a processing-version tag (see
    /// [`image_fingerprint`]). Not of `png`: PNG encoder output may change with a
    /// dependency update, and that alone must not re-upload every thumbnail.
    pub fingerprint: String,
    /// What failed along the way, one line per skipped candidate, e.g.
    /// "thumbnail_url: `https://…/logo.jpg`: HTTP 404".
    pub notes: Vec<String>,
}

/// Bumped when processing changes enough that every thumbnail should be uploaded again
/// (a different crop, size or placeholder design).
const FINGERPRINT_TAG: &[u8] = b"offersync thumbnail v1\n";

/// Declared icons tried per page before the origin's conventional paths; a page may
/// list dozens of sizes and each try costs a fetch.
const MAX_ICON_LINKS: usize = 4;

/// The fingerprint of a thumbnail made from the image `original` (the bytes as fetched).
pub fn image_fingerprint(original: &[u8]) -> String {
    hex_sha256(&[FINGERPRINT_TAG, b"image\n", original])
}

/// The fingerprint of the placeholder for `initials`.
pub fn initials_fingerprint(initials: &str) -> String {
    hex_sha256(&[FINGERPRINT_TAG, b"initials\n", initials.as_bytes()])
}

fn hex_sha256(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    format!("{:x}", hasher.finalize())
}

/// The whole fallback chain: `thumbnail_url`; else the og:image of each page in
/// `pages` (in order: the offer's preview_url, then its default landing URL); else the
/// icons of those pages; else the initials placeholder of `offer_name`.
///
/// Every candidate that fails (network error, not an image, too big, decode error,
/// bomb) is skipped with a note; this function never fails. Empty strings are absent
/// values. An image URL is fetched at most once, whichever stage names it.
pub async fn resolve(
    thumbnails: &Thumbnails,
    thumbnail_url: &str,
    pages: &[String],
    offer_name: &str,
) -> Thumbnail {
    let mut chain = Chain {
        thumbnails,
        notes: Vec::new(),
        tried: HashSet::new(),
    };

    let thumbnail_url = thumbnail_url.trim();
    if thumbnail_url.is_empty() {
        chain
            .notes
            .push("the source offer has no thumbnail_url".to_owned());
    } else if let Some(image) = chain.try_image(thumbnail_url, "thumbnail_url").await {
        let source = ThumbnailSource::SourceThumbnail {
            url: thumbnail_url.to_owned(),
        };
        return chain.finish(image, source);
    }

    // Pages are fetched one at a time as the og:image stage reaches them, so a hit on
    // the preview page spares the landing page.
    let mut fetched: Vec<Page> = Vec::new();
    for given in pages.iter().map(|page| page.trim()) {
        if given.is_empty() || fetched.iter().any(|page| page.given == given) {
            continue;
        }
        let page = chain.fetch_page(given).await;
        if let Some((base, html)) = &page.html {
            match find_og_image(html, base) {
                None => chain.notes.push(format!("no og:image on `{given}`")),
                Some(url) => {
                    let role = format!("og:image of `{given}`");
                    if let Some(image) = chain.try_image(url.as_str(), &role).await {
                        let source = ThumbnailSource::OgImage {
                            page: given.to_owned(),
                            url: url.into(),
                        };
                        return chain.finish(image, source);
                    }
                }
            }
        }
        fetched.push(page);
    }

    for page in &fetched {
        let Some(base) = &page.icons_base else {
            continue;
        };
        let html = page.html.as_ref().map_or("", |(_, html)| html.as_str());
        let icons = find_icons(html, base);
        // The last two are the origin's conventional paths (or a declared icon that
        // dedup moved there): always tried, after at most MAX_ICON_LINKS declared ones.
        let (declared, conventional) = icons.split_at(icons.len().saturating_sub(2));
        let candidates = declared.iter().take(MAX_ICON_LINKS).chain(conventional);
        let role = format!("icon of `{}`", page.given);
        for url in candidates {
            if let Some(image) = chain.try_image(url.as_str(), &role).await {
                let source = ThumbnailSource::Icon {
                    page: page.given.clone(),
                    url: url.to_string(),
                };
                return chain.finish(image, source);
            }
        }
    }

    let text = initials(offer_name);
    Thumbnail {
        png: placeholder_png(&text),
        fingerprint: initials_fingerprint(&text),
        source: ThumbnailSource::Initials { text },
        notes: chain.notes,
    }
}

/// A landing page as far as the chain could read it.
struct Page {
    /// The URL as the offer gives it (what the source and notes name).
    given: String,
    /// The URL after redirects and the HTML, when the page could be fetched.
    html: Option<(Url, String)>,
    /// Where icons are looked for: the page's final URL, or the given URL when the page
    /// itself failed but its host answered (a 404 page's site usually has a favicon).
    icons_base: Option<Url>,
}

/// An image made into a thumbnail: the PNG and the fingerprint of its original.
#[derive(Clone)]
struct Processed {
    png: Vec<u8>,
    fingerprint: String,
}

struct Chain<'a> {
    thumbnails: &'a Thumbnails,
    notes: Vec<String>,
    tried: HashSet<String>,
}

impl Chain<'_> {
    async fn fetch_page(&mut self, given: &str) -> Page {
        match self.thumbnails.fetch(given).await {
            Ok(fetched) => {
                let html = String::from_utf8_lossy(&fetched.bytes).into_owned();
                Page {
                    given: given.to_owned(),
                    icons_base: Some(fetched.url.clone()),
                    html: Some((fetched.url, html)),
                }
            }
            Err(error) => {
                let icons_base = match error {
                    FetchError::Status { .. }
                    | FetchError::TooBig { .. }
                    | FetchError::TooManyRedirects { .. }
                    | FetchError::RedirectRefused { .. } => Url::parse(given).ok(),
                    _ => None,
                };
                self.notes.push(format!("page: {error}"));
                Page {
                    given: given.to_owned(),
                    html: None,
                    icons_base,
                }
            }
        }
    }

    /// Fetches and processes one candidate; `None` (with a note) if it is unusable, or
    /// silently if it was already tried.
    async fn try_image(&mut self, url: &str, role: &str) -> Option<Processed> {
        if !self.tried.insert(url.to_owned()) {
            return None;
        }
        match self.thumbnails.image(url).await {
            Ok(processed) => Some(processed),
            Err(why) => {
                self.notes.push(format!("{role}: {why}"));
                None
            }
        }
    }

    fn finish(self, image: Processed, source: ThumbnailSource) -> Thumbnail {
        Thumbnail {
            png: image.png,
            source,
            fingerprint: image.fingerprint,
            notes: self.notes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_serialises_snake_case_and_round_trips() {
        let sources = [
            ThumbnailSource::SourceThumbnail {
                url: "https://a/x.png".into(),
            },
            ThumbnailSource::OgImage {
                page: "https://lp/".into(),
                url: "https://lp/og.png".into(),
            },
            ThumbnailSource::Icon {
                page: "https://lp/".into(),
                url: "https://lp/favicon.ico".into(),
            },
            ThumbnailSource::Initials { text: "TT".into() },
        ];
        let json = serde_json::to_string(&sources).unwrap();
        assert_eq!(
            json,
            r#"[{"source_thumbnail":{"url":"https://a/x.png"}},{"og_image":{"page":"https://lp/","url":"https://lp/og.png"}},{"icon":{"page":"https://lp/","url":"https://lp/favicon.ico"}},{"initials":{"text":"TT"}}]"#
        );
        let back: Vec<ThumbnailSource> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, sources);
    }

    #[test]
    fn fingerprints_follow_the_original_and_tell_kinds_apart() {
        let a = image_fingerprint(b"image bytes");
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(a, image_fingerprint(b"image bytes"));
        assert_ne!(a, image_fingerprint(b"image bytes!"));
        assert_ne!(initials_fingerprint("TT"), initials_fingerprint("TS"));
        assert_ne!(image_fingerprint(b"TT"), initials_fingerprint("TT"));
    }
}
