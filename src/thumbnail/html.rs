//! Finding image candidates in a landing page: its `og:image` (or `twitter:image`) and
//! its icons.
//!
//! Pure: takes the HTML text and the URL it was fetched from (after redirects, which is
//! what relative links resolve against). Never fails: a page that says nothing usable
//! gives `None` or only the origin's conventional icon paths. Candidates are URLs to
//! try, nothing more; whether they are images is for the fetch and decode to find out.

use scraper::{ElementRef, Html};
use url::Url;

/// Meta keys naming the page's share image, by preference. The `og:` ones come first
/// (Open Graph is what link previews use); among them the first in document order
/// wins, as the protocol says the first `og:image` is the preferred one.
const OG_KEYS: [&str; 3] = ["og:image", "og:image:url", "og:image:secure_url"];
/// Twitter's card image: a last resort for pages without Open Graph.
const TWITTER_KEYS: [&str; 2] = ["twitter:image", "twitter:image:src"];

/// The page's share image: `og:image` / `og:image:url` / `og:image:secure_url`, else
/// `twitter:image`, resolved against the page (or its `<base href>`). Only http(s) URLs
/// are returned (a `data:` URI or garbage is skipped in favour of the next candidate).
///
/// Both `property` and `name` are read (pages use either), in any attribute order and
/// case.
pub fn find_og_image(html: &str, page_url: &Url) -> Option<Url> {
    let document = Html::parse_document(html);
    let base = base_url(&document, page_url);
    let metas: Vec<(String, &str)> = elements(&document, "meta")
        .filter_map(|meta| {
            let element = meta.value();
            let key = element.attr("property").or_else(|| element.attr("name"))?;
            let content = element.attr("content")?;
            Some((key.trim().to_ascii_lowercase(), content))
        })
        .collect();
    [&OG_KEYS[..], &TWITTER_KEYS[..]]
        .into_iter()
        .find_map(|keys| {
            metas
                .iter()
                .filter(|(key, _)| keys.contains(&key.as_str()))
                .find_map(|(_, content)| resolve(&base, content))
        })
}

/// Icon candidates, best first: `apple-touch-icon` links (typically 180x180), then
/// `icon` / `shortcut icon` links (each group largest declared `sizes` first, then in
/// document order), then the origin's `/apple-touch-icon.png` and `/favicon.ico`, which
/// browsers try when a page declares nothing. Duplicates are dropped. Pass an empty
/// `html` to get only the origin's paths.
pub fn find_icons(html: &str, page_url: &Url) -> Vec<Url> {
    let document = Html::parse_document(html);
    let base = base_url(&document, page_url);
    let mut links: Vec<(u8, u32, Url)> = elements(&document, "link")
        .filter_map(|link| {
            let element = link.value();
            let rel = element.attr("rel")?.to_ascii_lowercase();
            let group = rel_group(&rel)?;
            let url = resolve(&base, element.attr("href")?)?;
            Some((group, largest_size(element.attr("sizes")), url))
        })
        .collect();
    // Stable: equal keys keep document order.
    links.sort_by_key(|(group, size, _)| (*group, std::cmp::Reverse(*size)));

    let origin_paths = ["/apple-touch-icon.png", "/favicon.ico"]
        .into_iter()
        .filter_map(|path| page_url.join(path).ok());
    let mut icons: Vec<Url> = Vec::new();
    for url in links.into_iter().map(|(_, _, url)| url).chain(origin_paths) {
        if !icons.contains(&url) {
            icons.push(url);
        }
    }
    icons
}

/// 0 for Apple touch icons, 1 for plain icons, `None` for other relations (including
/// Safari's `mask-icon`, a one-colour SVG).
fn rel_group(rel: &str) -> Option<u8> {
    let mut tokens = rel.split_ascii_whitespace();
    if tokens
        .clone()
        .any(|token| token == "apple-touch-icon" || token == "apple-touch-icon-precomposed")
    {
        Some(0)
    } else if tokens.any(|token| token == "icon") {
        Some(1)
    } else {
        None
    }
}

/// The largest width in a `sizes` attribute (`"16x16 32x32"` -> 32); 0 when absent or
/// `any` (usually an SVG, which cannot be decoded anyway).
fn largest_size(sizes: Option<&str>) -> u32 {
    sizes
        .unwrap_or("")
        .split_ascii_whitespace()
        .filter_map(|size| {
            let size = size.to_ascii_lowercase();
            let (width, _) = size.split_once('x')?;
            width.parse::<u32>().ok()
        })
        .max()
        .unwrap_or(0)
}

/// Elements named `name`, in document order.
fn elements<'a>(document: &'a Html, name: &'a str) -> impl Iterator<Item = ElementRef<'a>> {
    document
        .root_element()
        .descendants()
        .filter_map(ElementRef::wrap)
        .filter(move |element| element.value().name() == name)
}

/// What relative URLs resolve against: the first `<base href>` if it is a usable http(s)
/// URL, else the page itself.
fn base_url(document: &Html, page_url: &Url) -> Url {
    elements(document, "base")
        .find_map(|base| base.value().attr("href"))
        .and_then(|href| resolve(page_url, href))
        .unwrap_or_else(|| page_url.clone())
}

/// `href` resolved against `base`, if the result is fetchable (http or https).
fn resolve(base: &Url, href: &str) -> Option<Url> {
    let href = href.trim();
    if href.is_empty() {
        return None;
    }
    let url = base.join(href).ok()?;
    matches!(url.scheme(), "http" | "https").then_some(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> Url {
        Url::parse("https://lp.example.com/offers/trim/index.html?x=1").unwrap()
    }

    fn og(html: &str) -> Option<String> {
        find_og_image(html, &page()).map(String::from)
    }

    #[test]
    fn og_image_absolute_relative_and_protocol_relative() {
        assert_eq!(
            og(r#"<meta property="og:image" content="https://cdn.example.com/a.png">"#).as_deref(),
            Some("https://cdn.example.com/a.png")
        );
        assert_eq!(
            og(r#"<meta property="og:image" content="img/a.png">"#).as_deref(),
            Some("https://lp.example.com/offers/trim/img/a.png")
        );
        assert_eq!(
            og(r#"<meta property="og:image" content="/a.png">"#).as_deref(),
            Some("https://lp.example.com/a.png")
        );
        assert_eq!(
            og(r#"<meta property="og:image" content="//cdn.example.com/a.png">"#).as_deref(),
            Some("https://cdn.example.com/a.png")
        );
    }

    #[test]
    fn og_image_in_odd_attribute_order_case_and_quoting() {
        let html = r#"<html><head>
            <META CONTENT='  /share.jpg ' Property=OG:IMAGE>
            </head></html>"#;
        assert_eq!(
            og(html).as_deref(),
            Some("https://lp.example.com/share.jpg")
        );
        // `name=` instead of `property=`, and in the body of a sloppy page.
        let html = r#"<body><p>hi<meta content="/b.png" name="og:image"></body>"#;
        assert_eq!(og(html).as_deref(), Some("https://lp.example.com/b.png"));
    }

    #[test]
    fn og_keys_beat_twitter_and_the_first_usable_one_wins() {
        let html = r#"
            <meta name="twitter:image" content="/twitter.png">
            <meta property="og:image" content="data:image/png;base64,AAAA">
            <meta property="og:image:secure_url" content="https://cdn.example.com/secure.png">
            <meta property="og:image" content="/second.png">"#;
        assert_eq!(
            og(html).as_deref(),
            Some("https://cdn.example.com/secure.png")
        );

        let html = r#"<meta name="twitter:image:src" content="/twitter.png">"#;
        assert_eq!(
            og(html).as_deref(),
            Some("https://lp.example.com/twitter.png")
        );
    }

    #[test]
    fn og_image_resolves_against_base_href() {
        let html = r#"<head><base href="https://static.example.net/v2/">
            <meta property="og:image" content="og.png"></head>"#;
        assert_eq!(
            og(html).as_deref(),
            Some("https://static.example.net/v2/og.png")
        );
    }

    #[test]
    fn no_og_image_when_absent_empty_or_unfetchable() {
        assert_eq!(og(""), None);
        assert_eq!(og("<html><head><title>x</title></head></html>"), None);
        assert_eq!(og(r#"<meta property="og:image" content="   ">"#), None);
        assert_eq!(og(r#"<meta property="og:image">"#), None);
        assert_eq!(
            og(r#"<meta property="og:image" content="javascript:alert(1)">"#),
            None
        );
        assert_eq!(og(r#"<meta property="og:title" content="/a.png">"#), None);
        // Binary junk and unclosed tags do not panic.
        assert_eq!(
            og("<meta property=\"og:image\" content=\"\u{0}\u{fffd}<<<"),
            None
        );
    }

    fn icons(html: &str) -> Vec<String> {
        find_icons(html, &page())
            .into_iter()
            .map(String::from)
            .collect()
    }

    #[test]
    fn icons_apple_touch_first_then_icons_by_size_then_origin_paths() {
        let html = r#"<head>
            <link rel="mask-icon" href="/mask.svg">
            <link rel="shortcut icon" href="/favicon-16.ico">
            <link href="icons/32.png" sizes="32x32" rel="icon" type="image/png">
            <link rel="Apple-Touch-Icon" href="/apple-180.png" sizes="180x180">
            <link rel="stylesheet" href="/style.css">
            </head>"#;
        assert_eq!(
            icons(html),
            [
                "https://lp.example.com/apple-180.png",
                "https://lp.example.com/offers/trim/icons/32.png",
                "https://lp.example.com/favicon-16.ico",
                "https://lp.example.com/apple-touch-icon.png",
                "https://lp.example.com/favicon.ico",
            ]
        );
    }

    #[test]
    fn icons_without_links_are_the_origin_paths_once() {
        assert_eq!(
            icons(""),
            [
                "https://lp.example.com/apple-touch-icon.png",
                "https://lp.example.com/favicon.ico",
            ]
        );
        // A link to the conventional path itself is not repeated.
        assert_eq!(
            icons(r#"<link rel="icon" href="https://lp.example.com/favicon.ico">"#),
            [
                "https://lp.example.com/favicon.ico",
                "https://lp.example.com/apple-touch-icon.png",
            ]
        );
    }

    #[test]
    fn largest_size_reads_lists_and_ignores_junk() {
        assert_eq!(largest_size(Some("16x16 48X48 32x32")), 48);
        assert_eq!(largest_size(Some("any")), 0);
        assert_eq!(largest_size(Some("x 99999999999x1")), 0);
        assert_eq!(largest_size(None), 0);
    }
}
