//! What every HTTP client of offersync shares (the Everflow and Offerit API clients, the
//! image fetcher): the TLS provider, error texts, and for the API clients the base-URL
//! rule.

use std::net::IpAddr;
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
