//! Who the client is, for the audit log and the throttles: the peer address, or — when
//! the peer is one of the configured reverse proxies (`trusted_proxies`) — the address
//! its `X-Forwarded-For` header names. Anyone can send that header, so it is read only
//! from a trusted peer, and from the right: each trusted proxy appends the address it
//! saw, so the first address from the right that is not a trusted proxy is the client.
//!
//! One middleware ([`remember`]) works this out once per request and leaves a
//! [`ClientAddr`] in the request for the gate and the handlers.

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// One trusted proxy: an address, or a CIDR range (`10.0.0.0/8`, `fd00::/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRange {
    network: IpAddr,
    prefix: u8,
}

impl IpRange {
    /// Parses `192.0.2.7`, `192.0.2.0/24`, `::1` or `fd00::/8`.
    pub fn parse(text: &str) -> Option<IpRange> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().ok()?)),
            None => (text, None),
        };
        let network: IpAddr = address.parse().ok()?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(IpRange { network, prefix })
    }

    /// Whether `ip` lies in the range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (canonical(self.network), ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:192.0.2.7`) as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The client's address as the audit log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddr(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<ClientAddr>()
            .cloned()
            .unwrap_or_else(|| ClientAddr("unknown".to_owned())))
    }
}

/// The client address of a request from `peer` with these headers.
pub fn client_address(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpRange]) -> String {
    let Some(peer) = peer.map(canonical) else {
        return "unknown".to_owned();
    };
    let is_trusted = |ip: IpAddr| trusted.iter().any(|r| r.contains(ip));
    if !is_trusted(peer) {
        return peer.to_string();
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>().map(canonical) {
            Ok(ip) => {
                client = ip;
                if !is_trusted(ip) {
                    break;
                }
            }
            // A trusted proxy passed on something that is not an address: stop at the
            // last address known to be true.
            Err(_) => break,
        }
    }
    client.to_string()
}

/// The middleware: works out the client address once and leaves it in the request.
pub async fn remember(
    State(trusted): State<Arc<Vec<IpRange>>>,
    mut req: Request,
    next: Next,
) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let addr = client_address(peer, req.headers(), &trusted);
    req.extensions_mut().insert(ClientAddr(addr));
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().unwrap());
        h
    }

    #[test]
    fn ranges_contain_their_addresses() {
        let r = IpRange::parse("10.1.0.0/16").unwrap();
        assert!(r.contains("10.1.200.3".parse().unwrap()));
        assert!(!r.contains("10.2.0.1".parse().unwrap()));
        assert!(r.contains("::ffff:10.1.0.9".parse().unwrap()));
        assert!(
            IpRange::parse("::1")
                .unwrap()
                .contains("::1".parse().unwrap())
        );
        assert!(
            IpRange::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        assert!(IpRange::parse("10.0.0.0/33").is_none());
        assert!(IpRange::parse("proxy").is_none());
    }

    #[test]
    fn forwarded_for_is_read_only_from_a_trusted_peer_and_from_the_right() {
        let trusted = [IpRange::parse("10.0.0.1").unwrap()];
        let proxy = Some("10.0.0.1".parse().unwrap());
        let stranger = Some("203.0.113.9".parse().unwrap());
        assert_eq!(
            client_address(proxy, &headers("198.51.100.7"), &trusted),
            "198.51.100.7"
        );
        // The client's own claim comes first; the proxy appended the real address.
        assert_eq!(
            client_address(proxy, &headers("1.2.3.4, 198.51.100.7"), &trusted),
            "198.51.100.7"
        );
        assert_eq!(
            client_address(stranger, &headers("198.51.100.7"), &trusted),
            "203.0.113.9",
            "a header from an untrusted peer is ignored"
        );
        assert_eq!(
            client_address(proxy, &HeaderMap::new(), &trusted),
            "10.0.0.1"
        );
        assert_eq!(
            client_address(proxy, &headers("garbage"), &trusted),
            "10.0.0.1"
        );
        assert_eq!(client_address(None, &HeaderMap::new(), &trusted), "unknown");
    }
}
