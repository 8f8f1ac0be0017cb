//! Bounded HTTP GETs of images and landing pages on the open internet.
//!
//! The URLs come from source offers, that is from third parties, so every fetch is
//! bounded: http(s) only and no credentials in URLs (checked again on each redirect
//! hop), at most `max_redirects` hops, one overall deadline per fetch (a server that
//! drips a byte a second cannot hold a run hostage), and a byte cap enforced while the
//! body streams in (neither an endless body nor a lying Content-Length makes it read
//! more). Decompression bombs are the decoder's business (`crop`), bounded by
//! `max_pixels`.
//!
//! Only public addresses are reached ([`super::address`]): IP literals are
//! checked in the URL and on each redirect, names once resolved, so neither a URL nor
//! a DNS answer can point a fetch at cloud metadata or the operator's own network.
//! Loopback is allowed only when [`FetchLimits::allow_loopback`] says so (the sandbox).
//!
//! This module does not interpret what it fetched: status 2xx and the bytes, that is
//! all. reqwest is built without gzip/brotli support, so servers send identity bodies
//! and the cap is the real size.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::redirect::{Attempt, Policy};
use url::{Host, Url};

use super::address;

/// The bounds of every fetch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchLimits {
    /// Deadline for one fetch, from connecting to the last byte of the body, redirects
    /// included.
    pub timeout: Duration,
    /// Redirect hops followed; one more is an error.
    pub max_redirects: usize,
    /// Largest body read; a longer one is an error (and is not read past the cap).
    pub max_bytes: usize,
    /// Largest image decoded, in pixels (width x height), checked from the header.
    pub max_pixels: u64,
    /// Whether loopback addresses may be reached: only when the Everflow API is itself
    /// on loopback (the sandbox serves the images too). Other non-public addresses
    /// never are.
    pub allow_loopback: bool,
}

impl Default for FetchLimits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(15),
            max_redirects: 5,
            max_bytes: 10 * 1024 * 1024,
            max_pixels: 40_000_000,
            allow_loopback: false,
        }
    }
}

/// A successful (2xx) response, read whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fetched {
    /// Where the body came from, after redirects (what relative links resolve against).
    pub url: Url,
    /// The Content-Type as the server declared it: informational only (it is often
    /// wrong); formats are sniffed from the bytes.
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

/// Why a fetch gave nothing. `url` is the URL asked for (credentials, if any, removed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("`{url}` is not a valid URL: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("`{url}`: only http and https URLs are fetched, not `{scheme}`")]
    UnsupportedScheme { url: String, scheme: String },
    /// `user:password@` in a URL from a third party is never sent anywhere.
    #[error("`{url}`: URLs with credentials are not fetched")]
    Credentials { url: String },
    /// The URL, a redirect or a DNS answer leads to a non-public address.
    #[error("`{url}`: {address}; only public addresses are fetched")]
    InternalAddress { url: String, address: Refused },
    #[error("`{url}`: more than {max} redirects")]
    TooManyRedirects { url: String, max: usize },
    /// A redirect hop pointed somewhere that is not fetched (another scheme,
    /// credentials).
    #[error("`{url}`: refused redirect to `{target}`: {reason}")]
    RedirectRefused {
        url: String,
        target: String,
        reason: String,
    },
    #[error("`{url}`: HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("`{url}`: body larger than {max_bytes} bytes")]
    TooBig { url: String, max_bytes: usize },
    #[error("`{url}`: no complete answer within {timeout:?}")]
    Timeout { url: String, timeout: Duration },
    /// Connection refused or reset, DNS failure, TLS failure, truncated body.
    #[error("`{url}`: {reason}")]
    Transport { url: String, reason: String },
}

impl FetchError {
    /// Whether the host did not answer at all (timeout or transport failure): other
    /// URLs on the same host are not worth trying.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Self::Timeout { .. } | Self::Transport { .. })
    }
}

/// An HTTP client for thumbnails and landing pages, configured with [`FetchLimits`].
#[derive(Clone)]
pub struct Fetcher {
    http: reqwest::Client,
    limits: FetchLimits,
}

impl fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fetcher")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Fetcher {
    pub fn new(limits: FetchLimits) -> Self {
        crate::http::install_crypto_provider();
        let mut headers = HeaderMap::new();
        // Landing pages and images alike; some CDNs answer 406 to no Accept at all.
        headers.insert(
            ACCEPT,
            HeaderValue::from_static(
                "text/html,application/xhtml+xml,image/webp,image/png,image/*;q=0.8,*/*;q=0.5",
            ),
        );
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(concat!("offersync/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(limits.timeout)
            // The same deadline as the outer one in `fetch`; whichever fires, it is a
            // timeout.
            .timeout(limits.timeout)
            .redirect(redirect_policy(limits.max_redirects, limits.allow_loopback))
            .dns_resolver(Arc::new(PublicResolver {
                allow_loopback: limits.allow_loopback,
            }))
            .build()
            .expect("the HTTP client configuration is valid");
        Self { http, limits }
    }

    pub fn limits(&self) -> &FetchLimits {
        &self.limits
    }

    /// GETs `url` within the limits and returns the body of a 2xx answer.
    pub async fn fetch(&self, url: &str) -> Result<Fetched, FetchError> {
        let parsed = check_url(url, self.limits.allow_loopback)?;
        let shown = redacted(&parsed);
        match tokio::time::timeout(self.limits.timeout, self.get(parsed, &shown)).await {
            Ok(result) => result,
            Err(_elapsed) => Err(FetchError::Timeout {
                url: shown,
                timeout: self.limits.timeout,
            }),
        }
    }

    async fn get(&self, url: Url, shown: &str) -> Result<Fetched, FetchError> {
        let max_bytes = self.limits.max_bytes;
        let mut response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|error| self.error(shown, &error))?;
        let status = response.status();
        if !status.is_success() {
            return Err(FetchError::Status {
                url: shown.to_owned(),
                status: status.as_u16(),
            });
        }
        let too_big = || FetchError::TooBig {
            url: shown.to_owned(),
            max_bytes,
        };
        let declared = response.content_length();
        if declared.is_some_and(|length| length > max_bytes as u64) {
            return Err(too_big());
        }
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(|value| value.chars().take(100).collect());
        let final_url = response.url().clone();

        // The declared length is only a hint for the first allocation: it may lie.
        let hint = declared
            .map_or(0, |length| length as usize)
            .min(1024 * 1024);
        let mut bytes = Vec::with_capacity(hint);
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| self.error(shown, &error))?
        {
            if bytes.len() + chunk.len() > max_bytes {
                return Err(too_big());
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Fetched {
            url: final_url,
            content_type,
            bytes,
        })
    }

    fn error(&self, url: &str, error: &reqwest::Error) -> FetchError {
        let url = url.to_owned();
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
        while let Some(inner) = source {
            if let Some(refused) = inner.downcast_ref::<Refused>() {
                return FetchError::InternalAddress {
                    url,
                    address: refused.clone(),
                };
            }
            if let Some(stop) = inner.downcast_ref::<RedirectStop>() {
                return match stop {
                    RedirectStop::TooMany { max } => {
                        FetchError::TooManyRedirects { url, max: *max }
                    }
                    RedirectStop::Refused { target, reason } => FetchError::RedirectRefused {
                        url,
                        target: target.clone(),
                        reason: reason.clone(),
                    },
                };
            }
            source = inner.source();
        }
        if error.is_timeout() {
            return FetchError::Timeout {
                url,
                timeout: self.limits.timeout,
            };
        }
        FetchError::Transport {
            url,
            reason: crate::http::error_chain(error),
        }
    }
}

/// Parses `url` and refuses what is never fetched.
fn check_url(url: &str, allow_loopback: bool) -> Result<Url, FetchError> {
    let parsed = Url::parse(url.trim()).map_err(|error| FetchError::InvalidUrl {
        // Unparsed, so it cannot be redacted: show only a short start of it.
        url: url.chars().take(80).collect(),
        reason: error.to_string(),
    })?;
    if let Some(reason) = refusal(&parsed, allow_loopback) {
        let url = redacted(&parsed);
        return Err(match reason {
            Refusal::Scheme => FetchError::UnsupportedScheme {
                url,
                scheme: parsed.scheme().to_owned(),
            },
            Refusal::Credentials => FetchError::Credentials { url },
            Refusal::Address(address) => FetchError::InternalAddress { url, address },
        });
    }
    Ok(parsed)
}

enum Refusal {
    Scheme,
    Credentials,
    Address(Refused),
}

fn refusal(url: &Url, allow_loopback: bool) -> Option<Refusal> {
    if !matches!(url.scheme(), "http" | "https") {
        return Some(Refusal::Scheme);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Some(Refusal::Credentials);
    }
    let ip = match url.host()? {
        Host::Ipv4(ip) => IpAddr::V4(ip),
        Host::Ipv6(ip) => IpAddr::V6(ip),
        // Names are judged by what they resolve to (`PublicResolver`).
        Host::Domain(_) => return None,
    };
    Refused::check(None, ip, allow_loopback).map(Refusal::Address)
}

/// A non-public address a fetch would have connected to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The name that resolved to it; `None` for an IP literal in the URL.
    pub name: Option<String>,
    pub ip: IpAddr,
    pub kind: &'static str,
}

impl Refused {
    fn check(name: Option<&str>, ip: IpAddr, allow_loopback: bool) -> Option<Self> {
        address::refused(ip, allow_loopback).map(|kind| Self {
            name: name.map(crate::text::shown),
            ip,
            kind,
        })
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = &self.name {
            write!(f, "`{name}` resolves to ")?;
        }
        write!(f, "{} ({} address)", self.ip, self.kind)
    }
}

impl std::error::Error for Refused {}

/// The system resolver, keeping only the addresses a fetch may connect to. A name
/// with none left fails with [`Refused`] (found again in the reqwest error's chain).
struct PublicResolver {
    allow_loopback: bool,
}

impl Resolve for PublicResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_loopback = self.allow_loopback;
        let name = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let (public, refused): (Vec<_>, Vec<_>) = found
                .into_iter()
                .partition(|addr| address::refused(addr.ip(), allow_loopback).is_none());
            if public.is_empty()
                && let Some(first) = refused.first()
                && let Some(refused) = Refused::check(Some(&name), first.ip(), allow_loopback)
            {
                return Err(refused.into());
            }
            let addrs: Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

/// The URL as text without `user:password@`.
fn redacted(url: &Url) -> String {
    let mut url = url.clone();
    // Fails only for URLs that cannot have credentials in the first place.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.into()
}

/// Why the redirect policy stopped; found again in the reqwest error's source chain.
#[derive(Debug)]
enum RedirectStop {
    TooMany { max: usize },
    Refused { target: String, reason: String },
}

impl fmt::Display for RedirectStop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooMany { max } => write!(f, "more than {max} redirects"),
            Self::Refused { target, reason } => write!(f, "redirect to `{target}`: {reason}"),
        }
    }
}

impl std::error::Error for RedirectStop {}

/// Follows at most `max` hops, each to an http(s) URL without credentials and not to
/// a non-public IP literal.
fn redirect_policy(max: usize, allow_loopback: bool) -> Policy {
    Policy::custom(move |attempt: Attempt<'_>| {
        // `previous` holds the original URL and every hop before this one.
        if attempt.previous().len() > max {
            return attempt.error(RedirectStop::TooMany { max });
        }
        let reason = match refusal(attempt.url(), allow_loopback) {
            None => return attempt.follow(),
            Some(Refusal::Scheme) => format!(
                "only http and https URLs are fetched, not `{}`",
                attempt.url().scheme()
            ),
            Some(Refusal::Credentials) => "URLs with credentials are not fetched".to_owned(),
            Some(Refusal::Address(address)) => {
                format!("{address}; only public addresses are fetched")
            }
        };
        let target = redacted(attempt.url());
        attempt.error(RedirectStop::Refused { target, reason })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_http_and_https_urls_are_fetched() {
        assert!(check_url("https://cdn.example.com/a.png", false).is_ok());
        assert!(check_url(" http://127.0.0.1:8080/a ", true).is_ok());
        assert_eq!(
            check_url("file:///etc/passwd", false).unwrap_err(),
            FetchError::UnsupportedScheme {
                url: "file:///etc/passwd".into(),
                scheme: "file".into()
            }
        );
        assert!(matches!(
            check_url("ftp://example.com/a.png", false),
            Err(FetchError::UnsupportedScheme { .. })
        ));
        assert!(matches!(
            check_url("data:image/png;base64,AAAA", false),
            Err(FetchError::UnsupportedScheme { .. })
        ));
        assert!(matches!(
            check_url("/relative.png", false),
            Err(FetchError::InvalidUrl { .. })
        ));
    }

    #[test]
    fn urls_with_credentials_are_refused_without_showing_them() {
        let error = check_url("https://user:hunter2@example.com/a.png", false).unwrap_err();
        assert_eq!(
            error,
            FetchError::Credentials {
                url: "https://example.com/a.png".into()
            }
        );
        assert!(!error.to_string().contains("hunter2"));
        assert!(matches!(
            check_url("https://user@example.com/", false),
            Err(FetchError::Credentials { .. })
        ));
    }

    #[test]
    fn internal_ip_literals_are_refused_before_connecting() {
        let error = check_url("http://169.254.169.254/latest/meta-data/", false).unwrap_err();
        assert_eq!(
            error.to_string(),
            "`http://169.254.169.254/latest/meta-data/`: 169.254.169.254 (link-local address); \
             only public addresses are fetched"
        );
        assert!(matches!(
            check_url("http://[::ffff:10.0.0.1]:8500/", true),
            Err(FetchError::InternalAddress { .. })
        ));
        assert!(matches!(
            check_url("http://127.0.0.1:8080/a.png", false),
            Err(FetchError::InternalAddress { .. })
        ));
        assert!(check_url("http://93.184.215.14/a.png", false).is_ok());
        // Names are judged once resolved, not here.
        assert!(check_url("http://localhost:8080/a.png", false).is_ok());
    }
}
