//! What every HTTP client of offersync shares (the Everflow and Offerit API clients, the
//! image fetcher): the TLS provider, error texts, and for the API clients the base-URL
//! rule, the client's configuration, the capped body read and the retries ([`retry`]).
//! What a request is and what its errors are stay with each client.

pub mod retry;

use std::net::IpAddr;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};
use url::Url;

/// reqwest is built without a default TLS crypto provider (to avoid aws-lc's C build);
/// install ring once per process before building any client.
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err means another part of the process installed one first, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// An error with its causes, `outer: inner: innermost` (reqwest's own text stops at
/// "error sending request").
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text = format!("{text}: {inner}");
        source = inner.source();
    }
    text
}

/// Parses an API's base URL: https anywhere, plain http only to loopback, so a key never
/// crosses a network in clear text. A trailing `suffix` (`/v1`, `/api`: the part of the
/// documented URLs that the client adds itself) is accepted and dropped, as are the
/// query and the fragment.
pub fn parse_base_url(text: &str, suffix: &str) -> Result<Url, String> {
    let mut url = Url::parse(text.trim()).map_err(|_| "must be an absolute URL".to_owned())?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials".to_owned());
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(format!(
                "uses plain http to `{}`; plain http is allowed only to loopback",
                crate::text::shown(url.host_str().unwrap_or_default())
            ));
        }
        other => {
            return Err(format!(
                "must use https, got `{}`",
                crate::text::shown(other)
            ));
        }
    }
    let path = url.path().trim_end_matches('/');
    let path = path.strip_suffix(suffix).unwrap_or(path).to_owned();
    url.set_path(&path);
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

/// Whether `url` points at this machine (`localhost` or a loopback IP).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// An API client: JSON accepted, offersync's user agent, the timeouts, and no redirects
/// (a redirect would carry the credential headers to wherever it points; neither API
/// redirects).
pub fn api_client(connect_timeout: Duration, request_timeout: Duration) -> reqwest::Client {
    install_crypto_provider();
    let mut headers = HeaderMap::new();
    headers.insert(
        reqwest::header::ACCEPT,
        HeaderValue::from_static("application/json"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .connect_timeout(connect_timeout)
        .timeout(request_timeout)
        .user_agent(concat!("offersync/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("the HTTP client configuration is valid")
}

/// `base` with `path` appended to its own path, so a base behind a proxy prefix keeps it.
pub fn join(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    url.set_path(&format!("{}{}", base.path().trim_end_matches('/'), path));
    url
}

/// Why a response body could not be read whole.
#[derive(Debug)]
pub enum BodyError {
    /// The connection failed before the body was complete.
    Transport(reqwest::Error),
    /// The body grew past the limit; the text says so (`response larger than N bytes`).
    TooLarge(String),
}

/// The body of `response`, refused as soon as it grows past `max_bytes` (a hostile or
/// broken server could send without end).
pub async fn read_body(
    mut response: reqwest::Response,
    max_bytes: usize,
) -> Result<Vec<u8>, BodyError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if bytes.len() + chunk.len() > max_bytes {
            return Err(BodyError::TooLarge(format!(
                "response larger than {max_bytes} bytes"
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// A transport error in a few words where its kind says enough, else its whole chain.
pub fn describe_transport(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "cannot connect".to_owned()
    } else if error.is_body() || error.is_decode() {
        "the connection closed before the response was complete".to_owned()
    } else {
        // reqwest's own text names the URL, which holds no secret (credentials travel
        // only in headers).
        error_chain(error)
    }
}
