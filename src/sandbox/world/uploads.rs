//! Temp uploads (`POST /v1/networks/uploads/temp`) and the assets they become
//! when an offer's `thumbnail_file` or a creative's `resource_file` uses them.
//!
//! Facts (LEGACY/LIVE uploading_files): the body is `{"mime_type",
//! "content_base64"}`, the answer `{"urls":[{"url":
//! "https://usercontent.everflowclient.io/<network>/temp/<uuid>","name":""}]}`,
//! and a temp file is usable once. Attaching one stores its bytes as an asset
//! that the sandbox serves at `{base}/_sandbox/assets/<id>/<file name>`
//! (`routes/web.rs`), so clients and tests can download what was uploaded.

use std::collections::BTreeMap;

use axum::body::Bytes;
use serde_json::{Map, Value, json};

use super::super::error::ApiError;
use super::super::faults::splitmix64;
use super::media::{self, ImageFormat, ImageInfo};

/// The largest decoded upload accepted. Everflow documents no limit; 10 MiB is
/// far above any thumbnail or banner and keeps a runaway client visible.
pub(crate) const MAX_UPLOAD_BYTES: usize = 10 * 1024 * 1024;

/// `{temp_url, original_file_name}`: a temp upload to attach (ISCALE
/// `thumbnail_file`, LIVE creatives `resource_file`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FileRef {
    pub temp_url: String,
    pub original_file_name: String,
}

/// Parses a `{temp_url, original_file_name}` object; `field` names it in errors.
pub(crate) fn parse_file_ref(field: &str, v: &Value) -> Result<FileRef, ApiError> {
    let obj = v
        .as_object()
        .ok_or_else(|| ApiError::bad_request(format!("{field} must be an object")))?;
    if let Some(k) = obj
        .keys()
        .find(|k| !matches!(k.as_str(), "temp_url" | "original_file_name"))
    {
        return Err(ApiError::bad_request(format!("unknown field {field}.{k}")));
    }
    let get = |k: &str| match obj.get(k).and_then(Value::as_str) {
        Some(s) if !s.trim().is_empty() => Ok(s.to_owned()),
        _ => Err(ApiError::bad_request(format!("{field}.{k} is required"))),
    };
    Ok(FileRef {
        temp_url: get("temp_url")?,
        original_file_name: get("original_file_name")?,
    })
}

/// What a file is attached as, for the checks that depend on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Use {
    /// An offer thumbnail or an image/thumbnail creative: must be an image.
    Image,
    /// Any other creative file (archive, video).
    Any,
}

#[derive(Debug)]
enum Temp {
    Ready { mime: String, bytes: Bytes },
    Used,
}

/// A stored file (Everflow's `resource_asset`).
#[derive(Clone, Debug)]
pub(crate) struct Asset {
    pub id: u64,
    pub content_type: String,
    pub filename: String,
    pub bytes: Bytes,
    pub image: Option<ImageInfo>,
}

#[derive(Debug)]
pub(crate) struct Media {
    /// `http://127.0.0.1:PORT`, set once the sandbox knows its address.
    pub base_url: String,
    network_id: u64,
    temps: BTreeMap<String, Temp>,
    uploads: u64,
    assets: BTreeMap<u64, Asset>,
    next_asset_id: u64,
}

/// A v4-looking UUID, deterministic per sandbox (so runs are reproducible).
fn uuid_like(network_id: u64, n: u64) -> String {
    let hi = splitmix64(network_id.rotate_left(17) ^ n);
    let lo = splitmix64(hi ^ n.wrapping_mul(0x9e37_79b9));
    let hi = (hi & !0xf000) | 0x4000; // version 4
    let lo = (lo & !(0b11 << 62)) | (0b10 << 62); // RFC 4122 variant
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0xffff,
        lo >> 48,
        lo & 0xffff_ffff_ffff
    )
}

/// A file name safe in a URL path segment.
fn safe_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let out: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.trim_matches('.').is_empty() {
        "file".to_owned()
    } else {
        out
    }
}

fn valid_mime(mime: &str) -> bool {
    let essence = mime.split(';').next().unwrap_or("").trim();
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    matches!(essence.split_once('/'), Some((t, s)) if token(t) && token(s))
}

impl Media {
    pub fn new(network_id: u64) -> Media {
        Media {
            base_url: String::new(),
            network_id,
            temps: BTreeMap::new(),
            uploads: 0,
            assets: BTreeMap::new(),
            next_asset_id: 1,
        }
    }

    /// `POST /v1/networks/uploads/temp`: validates and keeps the file; returns
    /// its single-use temp URL.
    pub fn upload(&mut self, body: Option<&Value>) -> Result<String, ApiError> {
        let empty = Map::new();
        let obj = match body {
            None | Some(Value::Null) => &empty,
            Some(Value::Object(o)) => o,
            Some(_) => return Err(ApiError::bad_request("request body must be a json object")),
        };
        // ISCALE's `{content, file_type, file_name}` contradicts LEGACY and LIVE,
        // which both document exactly these two keys: refuse anything else.
        if let Some(k) = obj
            .keys()
            .find(|k| !matches!(k.as_str(), "mime_type" | "content_base64"))
        {
            return Err(ApiError::bad_request(format!(
                "unknown field {k} (the body is {{mime_type, content_base64}})"
            )));
        }
        let text = |k: &str| match obj.get(k) {
            None | Some(Value::Null) => Err(ApiError::bad_request(format!("{k} is required"))),
            Some(Value::String(s)) if s.is_empty() => {
                Err(ApiError::bad_request(format!("{k} is required")))
            }
            Some(Value::String(s)) => Ok(s.as_str()),
            Some(_) => Err(ApiError::bad_request(format!("{k} must be a string"))),
        };
        let mime = text("mime_type")?;
        if !valid_mime(mime) {
            return Err(ApiError::bad_request(format!(
                "mime_type `{mime}` is not a mime type such as image/png"
            )));
        }
        let encoded = text("content_base64")?;
        // Checked before decoding so a huge body costs no allocation.
        if encoded.len() / 4 * 3 > MAX_UPLOAD_BYTES + 3 {
            return Err(too_large());
        }
        let bytes = media::decode_base64(encoded).map_err(|e| {
            ApiError::bad_request(format!("content_base64 is not valid base64: {e}"))
        })?;
        if bytes.is_empty() {
            return Err(ApiError::bad_request("content_base64 decodes to no bytes"));
        }
        if bytes.len() > MAX_UPLOAD_BYTES {
            return Err(too_large());
        }
        // Not documented: a PNG/JPEG/GIF mime type must match the bytes, so a file
        // labelled wrongly (then served with the wrong type) is caught here.
        if let Some(declared) = ImageFormat::from_mime(mime) {
            let actual = media::sniff_image(&bytes).map(|i| i.format);
            if actual != Some(declared) {
                return Err(ApiError::bad_request(format!(
                    "content_base64 is not {} data, as mime_type {mime} says{}",
                    declared.mime(),
                    actual.map_or(String::new(), |f| format!(" (it is {})", f.mime()))
                )));
            }
        }
        self.uploads += 1;
        let url = format!(
            "https://usercontent.everflowclient.io/{}/temp/{}",
            self.network_id,
            uuid_like(self.network_id, self.uploads)
        );
        let temp = Temp::Ready {
            mime: mime.to_owned(),
            bytes: Bytes::from(bytes),
        };
        self.temps.insert(url.clone(), temp);
        Ok(url)
    }

    /// Checks that `file` can be attached as `what` now, without using it up.
    pub fn check(&self, field: &str, file: &FileRef, what: Use) -> Result<(), ApiError> {
        let url = &file.temp_url;
        match self.temps.get(url) {
            None => Err(ApiError::bad_request(format!(
                "{field}.temp_url {url} is not a temp upload of this network"
            ))),
            // LEGACY uploading_files: a temp file can be used once.
            Some(Temp::Used) => Err(ApiError::bad_request(format!(
                "{field}.temp_url {url} was already used; upload the file again"
            ))),
            Some(Temp::Ready { mime, .. }) => {
                let is_image = mime.trim().to_ascii_lowercase().starts_with("image/");
                if what == Use::Image && !is_image {
                    return Err(ApiError::bad_request(format!(
                        "{field} must be an image, the upload is {mime}"
                    )));
                }
                Ok(())
            }
        }
    }

    /// Uses the temp upload up: it becomes an asset named after the file.
    pub fn attach(&mut self, field: &str, file: &FileRef, what: Use) -> Result<Asset, ApiError> {
        self.check(field, file, what)?;
        let Some(slot) = self.temps.get_mut(&file.temp_url) else {
            return Err(ApiError::bad_request(format!(
                "{field}.temp_url is unknown"
            )));
        };
        let Temp::Ready { mime, bytes } = std::mem::replace(slot, Temp::Used) else {
            return Err(ApiError::bad_request(format!(
                "{field}.temp_url was already used"
            )));
        };
        let asset = Asset {
            id: self.next_asset_id,
            image: media::sniff_image(&bytes),
            content_type: mime,
            filename: safe_name(&file.original_file_name),
            bytes,
        };
        self.next_asset_id += 1;
        self.assets.insert(asset.id, asset.clone());
        Ok(asset)
    }

    pub fn asset(&self, id: u64) -> Option<&Asset> {
        self.assets.get(&id)
    }

    /// Where the sandbox serves `asset`.
    pub fn url(&self, asset: &Asset) -> String {
        format!(
            "{}/_sandbox/assets/{}/{}",
            self.base_url, asset.id, asset.filename
        )
    }

    /// The asset an asset URL names (any host: only the path is compared).
    pub fn find(&self, url: &str) -> Option<&Asset> {
        let path = url.split(['?', '#']).next()?;
        let rest = &path[path.find("/_sandbox/assets/")? + "/_sandbox/assets/".len()..];
        let (id, name) = rest.split_once('/')?;
        self.assets
            .get(&id.parse().ok()?)
            .filter(|a| a.filename == name)
    }

    /// Everflow's `resource_asset` object (LIVE creatives response).
    pub fn asset_json(&self, asset: &Asset) -> Value {
        let (w, h) = asset.image.map_or((0, 0), |i| (i.width, i.height));
        json!({
            "network_asset_id": asset.id,
            "content_type": asset.content_type,
            "filename": asset.filename,
            "url": self.url(asset),
            "file_size": asset.bytes.len(),
            "image_width": w,
            "image_height": h,
        })
    }
}

fn too_large() -> ApiError {
    ApiError::bad_request(format!(
        "the file is larger than {} MiB",
        MAX_UPLOAD_BYTES / 1024 / 1024
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = include_bytes!("../fixtures/web/trimrx/banner-300x250.png");

    fn b64(bytes: &[u8]) -> String {
        const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for c in bytes.chunks(3) {
            let n = c.iter().fold(0u32, |a, b| (a << 8) | u32::from(*b)) << (8 * (3 - c.len()));
            for i in 0..4 {
                if i <= c.len() {
                    out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    fn upload(m: &mut Media, mime: &str, bytes: &[u8]) -> Result<String, ApiError> {
        m.upload(Some(
            &json!({"mime_type": mime, "content_base64": b64(bytes)}),
        ))
    }

    fn file(url: &str) -> FileRef {
        FileRef {
            temp_url: url.to_owned(),
            original_file_name: "My Banner (1).png".to_owned(),
        }
    }

    #[test]
    fn temp_urls_look_like_everflows_and_are_single_use() {
        let mut m = Media::new(7001);
        m.base_url = "http://127.0.0.1:9".into();
        let url = upload(&mut m, "image/png", PNG).unwrap();
        assert!(
            url.starts_with("https://usercontent.everflowclient.io/7001/temp/"),
            "{url}"
        );
        let uuid = url.rsplit('/').next().unwrap();
        assert_eq!(uuid.len(), 36);
        assert_eq!(&uuid[14..15], "4");
        assert_ne!(upload(&mut m, "image/png", PNG).unwrap(), url);

        let asset = m.attach("thumbnail_file", &file(&url), Use::Image).unwrap();
        assert_eq!(asset.filename, "My_Banner__1_.png");
        assert_eq!(&asset.bytes[..], PNG);
        assert_eq!(asset.image.map(|i| (i.width, i.height)), Some((300, 250)));
        let served = m.url(&asset);
        assert_eq!(
            served,
            "http://127.0.0.1:9/_sandbox/assets/1/My_Banner__1_.png"
        );
        assert_eq!(m.find(&served).unwrap().id, 1);
        assert!(m.find("http://x/_sandbox/assets/1/other.png").is_none());

        let again = m.attach("thumbnail_file", &file(&url), Use::Image);
        assert!(again.unwrap_err().message.contains("already used"));
        let unknown = m.check("resource_file", &file("https://x/temp/1"), Use::Any);
        assert!(unknown.unwrap_err().message.contains("not a temp upload"));
    }

    #[test]
    fn uploads_are_validated() {
        let mut m = Media::new(1);
        let err = |body: Value, m: &mut Media| m.upload(Some(&body)).unwrap_err().message;
        assert_eq!(
            err(
                json!({"content": "AAAA", "file_type": "image/png", "file_name": "a.png"}),
                &mut m
            ),
            "unknown field content (the body is {mime_type, content_base64})"
        );
        assert_eq!(
            err(json!({"mime_type": "image/png"}), &mut m),
            "content_base64 is required"
        );
        assert!(
            err(
                json!({"mime_type": "png", "content_base64": "AAAA"}),
                &mut m
            )
            .contains("not a mime type")
        );
        assert!(
            err(
                json!({"mime_type": "text/plain", "content_base64": "AA=A"}),
                &mut m
            )
            .contains("not valid base64")
        );
        assert!(
            upload(&mut m, "image/jpeg", PNG)
                .unwrap_err()
                .message
                .contains("(it is image/png)")
        );
        assert!(upload(&mut m, "text/plain", b"hi").is_ok());
        let big = vec![0u8; MAX_UPLOAD_BYTES + 1];
        assert!(
            upload(&mut m, "application/zip", &big)
                .unwrap_err()
                .message
                .contains("larger than 10 MiB")
        );
    }

    #[test]
    fn non_images_cannot_be_thumbnails() {
        let mut m = Media::new(1);
        let url = upload(&mut m, "application/zip", b"PK\x03\x04").unwrap();
        let e = m
            .check("thumbnail_file", &file(&url), Use::Image)
            .unwrap_err();
        assert!(e.message.contains("must be an image"), "{}", e.message);
        assert!(m.attach("resource_file", &file(&url), Use::Any).is_ok());
    }

    #[test]
    fn safe_names() {
        assert_eq!(safe_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_name(".."), "file");
        assert_eq!(safe_name("logo.png"), "logo.png");
    }
}
