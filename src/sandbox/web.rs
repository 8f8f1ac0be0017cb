//! The sandbox's small web host: the fixture "web" files (landing pages and
//! images of source offers) served under `/_sandbox/web/<path>`, and the log of
//! every download from it, from the asset store and of root icon probes.
//!
//! It exists so that what offersync downloads (thumbnails, creative images, a
//! preview page's `og:image` and icons) can be fetched on loopback. It owns the
//! built-in binary files (embedded with `include_bytes!`); it does not own
//! uploaded assets (`world/uploads.rs`) or the routes (`routes/web.rs`).

use std::collections::BTreeMap;

use axum::body::Bytes;

use super::fixtures::WebFile;

/// The binary files a fixture `web` entry may name with `file`, by their path
/// under `src/sandbox/fixtures/web/`. Each is small (< 50 KB) and was made for
/// the built-in fixtures: real PNG, JPEG and GIF files of known sizes.
const EMBEDDED: &[(&str, &[u8])] = &[
    (
        "trimrx/semaglutide-640x360.png",
        include_bytes!("fixtures/web/trimrx/semaglutide-640x360.png"),
    ),
    (
        "trimrx/banner-300x250.png",
        include_bytes!("fixtures/web/trimrx/banner-300x250.png"),
    ),
    (
        "trimrx/tirzepatide-728x90.png",
        include_bytes!("fixtures/web/trimrx/tirzepatide-728x90.png"),
    ),
    (
        "directmeds/ed-256x256.jpg",
        include_bytes!("fixtures/web/directmeds/ed-256x256.jpg"),
    ),
    (
        "directmeds/ed-300x600.gif",
        include_bytes!("fixtures/web/directmeds/ed-300x600.gif"),
    ),
    (
        "directmeds/og-pharmacy.jpg",
        include_bytes!("fixtures/web/directmeds/og-pharmacy.jpg"),
    ),
];

/// One file the web host serves.
#[derive(Clone, Debug)]
pub(crate) struct WebResponse {
    pub content_type: String,
    pub body: Bytes,
}

/// The fixture web files by path (without a leading `/`).
#[derive(Clone, Debug, Default)]
pub(crate) struct WebFiles(BTreeMap<String, WebResponse>);

impl WebFiles {
    /// Resolves fixture entries; entries that do not describe one file are left
    /// out and described.
    pub fn build(entries: &BTreeMap<String, WebFile>) -> (WebFiles, Vec<String>) {
        let mut files = BTreeMap::new();
        let mut problems = Vec::new();
        for (path, entry) in entries {
            let at = format!("web `{path}`");
            let valid_path = !path.is_empty()
                && !path.starts_with('/')
                && !path.contains('?')
                && !path.split('/').any(|s| s.is_empty() || s == "..");
            if !valid_path {
                problems.push(format!(
                    "{at}: a path is relative (no leading /), without empty or .. segments"
                ));
                continue;
            }
            if entry.content_type.trim().is_empty() {
                problems.push(format!("{at}: content_type is required"));
                continue;
            }
            let body = match (&entry.body, &entry.file) {
                (Some(text), None) => Bytes::from(text.clone().into_bytes()),
                (None, Some(file)) => match EMBEDDED.iter().find(|(name, _)| name == file) {
                    Some((_, bytes)) => Bytes::from_static(bytes),
                    None => {
                        problems.push(format!(
                            "{at}: file `{file}` is not one of the built-in web files ({})",
                            EMBEDDED
                                .iter()
                                .map(|(n, _)| *n)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ));
                        continue;
                    }
                },
                _ => {
                    problems.push(format!("{at}: give exactly one of body and file"));
                    continue;
                }
            };
            let content_type = entry.content_type.clone();
            files.insert(path.clone(), WebResponse { content_type, body });
        }
        (WebFiles(files), problems)
    }

    pub fn get(&self, path: &str) -> Option<&WebResponse> {
        self.0.get(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(body: Option<&str>, file: Option<&str>) -> WebFile {
        WebFile {
            content_type: "text/html".into(),
            body: body.map(str::to_owned),
            file: file.map(str::to_owned),
        }
    }

    #[test]
    fn embedded_files_are_small_and_real_images() {
        for (name, bytes) in EMBEDDED {
            assert!(bytes.len() < 50 * 1024, "{name} is {} bytes", bytes.len());
            let magic: &[u8] = match name.rsplit('.').next() {
                Some("png") => b"\x89PNG",
                Some("jpg") => b"\xff\xd8\xff",
                Some("gif") => b"GIF8",
                other => panic!("unexpected extension {other:?}"),
            };
            assert!(bytes.starts_with(magic), "{name}");
        }
    }

    #[test]
    fn entries_need_one_source_and_a_clean_path() {
        let mut m = BTreeMap::new();
        m.insert("a/page.html".to_owned(), entry(Some("<html>"), None));
        m.insert(
            "a/img.png".to_owned(),
            entry(None, Some("trimrx/banner-300x250.png")),
        );
        m.insert("both".to_owned(), entry(Some("x"), Some("y")));
        m.insert("/abs".to_owned(), entry(Some("x"), None));
        m.insert("a/../b".to_owned(), entry(Some("x"), None));
        m.insert("missing".to_owned(), entry(None, Some("nope.png")));
        let (files, problems) = WebFiles::build(&m);
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert_eq!(files.get("a/page.html").unwrap().body, "<html>");
        assert!(files.get("a/img.png").unwrap().body.starts_with(b"\x89PNG"));
        assert!(files.get("both").is_none());
    }
}
