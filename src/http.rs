//! What every HTTP client of offersync shares (the Everflow client, the image fetcher).

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
