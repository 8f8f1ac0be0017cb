//! Which addresses a third party's URL may make offersync connect to.
//!
//! Thumbnail and landing-page URLs come from source offers, that is from other
//! networks' advertisers. Fetched blindly, `http://169.254.169.254/latest/meta-data/`
//! would read a cloud machine's credentials and `http://10.0.0.5:8500/` would probe the
//! operator's own network. So a fetch goes only to public unicast addresses: checked
//! for IP literals in the URL (and in every redirect), and for names after resolution,
//! which is what defeats a public name pointing at a private address.
//!
//! Loopback is the one exception, and only on request: against the built-in sandbox
//! (whose API is on loopback) the images are served from loopback too.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The kind of non-public address `ip` is, or `None` if offersync may connect to it.
pub fn refused(ip: IpAddr, allow_loopback: bool) -> Option<&'static str> {
    match ip {
        IpAddr::V4(ip) => refused_v4(ip, allow_loopback),
        IpAddr::V6(ip) => refused_v6(ip, allow_loopback),
    }
}

fn refused_v4(ip: Ipv4Addr, allow_loopback: bool) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    if ip.is_loopback() {
        (!allow_loopback).then_some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if a == 100 && (64..128).contains(&b) {
        Some("shared (carrier-grade NAT)")
    } else if a == 0 || ip.is_broadcast() || a >= 240 {
        Some("reserved")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if (a, b, c) == (192, 0, 0) || (a == 198 && (b == 18 || b == 19)) {
        Some("special-purpose")
    } else if ip.is_documentation() {
        Some("documentation")
    } else {
        None
    }
}

fn refused_v6(ip: Ipv6Addr, allow_loopback: bool) -> Option<&'static str> {
    // An IPv4 address written as IPv6 (::ffff:a.b.c.d, or 64:ff9b::a.b.c.d through
    // NAT64) reaches the IPv4 address: judge that one.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return refused_v4(v4, allow_loopback);
    }
    let segments = ip.segments();
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [.., high, low] = segments;
        let v4 = Ipv4Addr::from((u32::from(high) << 16) | u32::from(low));
        return refused_v4(v4, allow_loopback);
    }
    if ip.is_loopback() {
        (!allow_loopback).then_some("loopback")
    } else if ip.is_unspecified() {
        Some("reserved")
    } else if ip.is_unique_local() {
        Some("private")
    } else if ip.is_unicast_link_local() {
        Some("link-local")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if segments[0] == 0x2001 && segments[1] == 0xdb8 {
        Some("documentation")
    } else if segments[..5] == [0; 5] {
        // ::a.b.c.d (deprecated IPv4-compatible) and the rest of ::/80.
        Some("reserved")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(text: &str, allow_loopback: bool) -> Option<&'static str> {
        refused(text.parse().unwrap(), allow_loopback)
    }

    #[test]
    fn public_unicast_addresses_are_allowed() {
        for address in [
            "93.184.215.14",
            "8.8.8.8",
            "1.1.1.1",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.1.1",
            "198.20.0.1",
            "223.255.255.255",
            "2606:2800:220:1::1",
            "2a00:1450:4001:81a::200e",
            "::ffff:93.184.215.14",
            "64:ff9b::808:808",
        ] {
            assert_eq!(kind(address, false), None, "{address}");
        }
    }

    #[test]
    fn internal_addresses_are_refused_with_their_kind() {
        for (address, expected) in [
            ("127.0.0.1", "loopback"),
            ("127.255.0.9", "loopback"),
            ("10.0.0.5", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "link-local"),
            ("100.64.0.1", "shared (carrier-grade NAT)"),
            ("100.127.255.255", "shared (carrier-grade NAT)"),
            ("0.0.0.0", "reserved"),
            ("0.1.2.3", "reserved"),
            ("255.255.255.255", "reserved"),
            ("240.0.0.1", "reserved"),
            ("224.0.0.251", "multicast"),
            ("192.0.0.170", "special-purpose"),
            ("198.18.0.1", "special-purpose"),
            ("192.0.2.1", "documentation"),
            ("::1", "loopback"),
            ("::", "reserved"),
            ("fd00:ec2::254", "private"),
            ("fc00::1", "private"),
            ("fe80::1", "link-local"),
            ("ff02::1", "multicast"),
            ("2001:db8::1", "documentation"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:169.254.169.254", "link-local"),
            ("::ffff:10.1.2.3", "private"),
            ("64:ff9b::a9fe:a9fe", "link-local"),
            ("::10.0.0.1", "reserved"),
        ] {
            assert_eq!(kind(address, false), Some(expected), "{address}");
        }
    }

    #[test]
    fn loopback_is_allowed_only_when_asked_for() {
        for address in ["127.0.0.1", "::1", "::ffff:127.0.0.1"] {
            assert_eq!(kind(address, true), None, "{address}");
            assert_eq!(kind(address, false), Some("loopback"), "{address}");
        }
        // Asking for loopback opens nothing else.
        assert_eq!(kind("10.0.0.1", true), Some("private"));
        assert_eq!(kind("169.254.169.254", true), Some("link-local"));
    }
}
