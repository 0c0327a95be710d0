//! The address a request comes from: the peer's, or, behind a trusted proxy, the one it forwards for.
//!
//! Login throttling counts failures per address. Behind a TLS proxy every
//! request's peer is the proxy, so without this every user would share one
//! address, and five strangers' failures would block it for everyone.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;

use crate::app::AppState;
use crate::error::ApiError;

/// The client's address, as far as this server can trust it.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub IpAddr);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Self::Rejection> {
        let ConnectInfo(peer) =
            ConnectInfo::<SocketAddr>::from_request_parts(parts, app).await.map_err(ApiError::internal)?;
        Ok(Self(client_address(peer.ip(), &parts.headers, &app.settings().trusted_proxies)))
    }
}

/// `peer`, unless it is one of the `trusted` proxies: then the nearest address
/// in `X-Forwarded-For` that is not. Each proxy appends the address it heard
/// from, so the list is read from the right; entries left of the first
/// untrusted one were written by the client itself and prove nothing.
///
/// A server listening on IPv6 hears IPv4 peers as mapped addresses
/// (`::ffff:10.0.0.1`); they are read as the IPv4 addresses they are.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    let peer = peer.to_canonical();
    if !trusted.contains(&peer) {
        return peer;
    }
    let forwarded: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect();
    for entry in forwarded.iter().rev() {
        match entry.parse::<IpAddr>().map(|address| address.to_canonical()) {
            Ok(address) if trusted.contains(&address) => continue,
            Ok(address) => return address,
            // A proxy we trust would not write this: trust nothing further left.
            Err(_) => return peer,
        }
    }
    peer
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use axum::http::HeaderMap;

    use super::client_address;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        headers
    }

    #[test]
    fn behind_a_trusted_proxy_the_client_is_the_nearest_untrusted_forwarded_address() {
        let proxies = [ip("10.0.0.1"), ip("10.0.0.2")];
        let headers = forwarded(&["198.51.100.7, 203.0.113.9", "10.0.0.2"]);
        assert_eq!(client_address(ip("10.0.0.1"), &headers, &proxies), ip("203.0.113.9"), "not the client's own claim");
        assert_eq!(client_address(ip("10.0.0.1"), &HeaderMap::new(), &proxies), ip("10.0.0.1"));
        assert_eq!(client_address(ip("10.0.0.1"), &forwarded(&["junk, 10.0.0.2"]), &proxies), ip("10.0.0.1"));
        // Heard on an IPv6 socket, the proxy's IPv4 address is mapped.
        assert_eq!(client_address(ip("::ffff:10.0.0.1"), &headers, &proxies), ip("203.0.113.9"));
    }

    #[test]
    fn a_peer_that_is_not_a_trusted_proxy_cannot_choose_its_address() {
        let headers = forwarded(&["203.0.113.9"]);
        assert_eq!(client_address(ip("198.51.100.7"), &headers, &[]), ip("198.51.100.7"));
        assert_eq!(client_address(ip("198.51.100.7"), &headers, &[ip("10.0.0.1")]), ip("198.51.100.7"));
    }
}
