//! Tracking links of source offers and the opaque tokens in them.
//!
//! Everflow redirect links look like `https://{tracking domain}/{token}/{token}/`
//! with short encoded ids. The sandbox makes stable 6-character base-36 tokens
//! from the ids, so the same offer always has the same link. Direct-linking offers
//! (`is_use_direct_linking`) link straight to the landing page with tracking
//! parameters, as ISCALE shows:
//! `https://www.domain.com/path?_ef_transaction_id=&uid=123&oid=456&affid=789`.

use super::super::faults::splitmix64;

/// A stable opaque token for an id within a network.
pub(crate) fn token(network_id: u64, id: u64) -> String {
    const ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut x = splitmix64(network_id.rotate_left(32) ^ id) % 36u64.pow(6);
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(x % 36) as usize];
        x /= 36;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The redirect tracking link on the source's tracking domain.
pub(crate) fn redirect_link(
    domain: &str,
    network_id: u64,
    affiliate_id: u64,
    offer_id: u64,
    url_id: u64,
) -> String {
    // Affiliate and offer tokens live in different id spaces: salt the affiliate.
    let aff = token(network_id ^ 0xaff1_11a7e, affiliate_id);
    let offer = token(network_id, offer_id);
    let mut link = format!("https://{domain}/{aff}/{offer}/");
    if url_id != 0 {
        link.push_str(&format!("?uid={url_id}"));
    }
    link
}

/// The direct link to a landing page with Everflow's attribution parameters.
pub(crate) fn direct_link(
    landing_page: &str,
    url_id: u64,
    offer_id: u64,
    affiliate_id: u64,
) -> String {
    let sep = if landing_page.contains('?') { '&' } else { '?' };
    let uid = if url_id == 0 {
        String::new()
    } else {
        format!("&uid={url_id}")
    };
    format!("{landing_page}{sep}_ef_transaction_id={uid}&oid={offer_id}&affid={affiliate_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_stable_and_distinct() {
        assert_eq!(token(101, 1), token(101, 1));
        assert_ne!(token(101, 1), token(101, 2));
        assert_ne!(token(101, 1), token(202, 1));
        assert_eq!(token(101, 1).len(), 6);
        assert!(token(7, 7).bytes().all(|b| b.is_ascii_alphanumeric()));
    }

    #[test]
    fn links_have_the_documented_shapes() {
        let r = redirect_link("trk.trimrx.test", 101, 42, 2, 201);
        assert!(r.starts_with("https://trk.trimrx.test/"));
        assert!(r.ends_with("/?uid=201"));
        assert!(!redirect_link("t.test", 1, 2, 3, 0).contains('?'));
        assert_eq!(
            direct_link("https://start.trimrx.test/glp1", 102, 1, 42),
            "https://start.trimrx.test/glp1?_ef_transaction_id=&uid=102&oid=1&affid=42"
        );
        assert_eq!(
            direct_link("https://x.test/a?v=2", 0, 1, 42),
            "https://x.test/a?v=2&_ef_transaction_id=&oid=1&affid=42"
        );
    }
}
