//! Which address is the client's, for per-address throttles. Directly connected, it is the TCP
//! peer. Behind load balancers listed in `TRUSTED_PROXIES`, each proxy appends the address it
//! received the request from to `X-Forwarded-For`, so the client is the right-most entry that
//! is not itself a trusted proxy; everything left of it was written by the client and is ignored.
//! A peer outside `TRUSTED_PROXIES` is the client whatever headers it sends. The links the API
//! gives out are never built from a request's headers: they start with `PUBLIC_URL`.

use axum::http::HeaderMap;
use ipnet::IpNet;
use std::net::IpAddr;

/// The networks whose `X-Forwarded-For` entries are believed (`TRUSTED_PROXIES`).
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses a comma-separated list of CIDRs (`10.0.0.0/16, fd00::/8`); a bare address is a
    /// network of one. Empty trusts nobody. The error names the entry that is not a network.
    pub fn parse(raw: &str) -> Result<Self, String> {
        raw.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{entry:?} is not a CIDR such as 10.0.0.0/16"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    fn trusts(&self, addr: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&addr))
    }

    /// The client behind a request from `peer` with `headers`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        // Every X-Forwarded-For header, in order, is one list.
        let entries: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer;
        for entry in entries.iter().rev() {
            match entry.parse::<IpAddr>() {
                Ok(addr) => {
                    client = addr.to_canonical();
                    if !self.trusts(client) {
                        break;
                    }
                }
                // Not an address: not written by a trusted proxy. The last hop we could
                // follow is as far as we know.
                Err(_) => break,
            }
        }
        client
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(trusted: &str, peer: &str, xff: &[&str]) -> String {
        let mut headers = HeaderMap::new();
        for value in xff {
            headers.append("x-forwarded-for", value.parse().expect("header"));
        }
        TrustedProxies::parse(trusted)
            .expect("parse")
            .client(peer.parse().expect("peer"), &headers)
            .to_string()
    }

    #[test]
    fn the_right_most_untrusted_entry_is_the_client() {
        let alb = "10.0.0.0/16";
        assert_eq!(client(alb, "10.0.3.4", &["203.0.113.9"]), "203.0.113.9");
        // The client's own forgeries sit left of what the balancer appended.
        assert_eq!(
            client(alb, "10.0.3.4", &["1.1.1.1, 203.0.113.9"]),
            "203.0.113.9"
        );
        assert_eq!(
            client(alb, "10.0.3.4", &["1.1.1.1", "203.0.113.9"]),
            "203.0.113.9"
        );
        // Two trusted hops.
        assert_eq!(
            client(alb, "10.0.3.4", &["203.0.113.9, 10.0.9.9"]),
            "203.0.113.9"
        );
        // No header, or only garbage: the proxy itself is all we know.
        assert_eq!(client(alb, "10.0.3.4", &[]), "10.0.3.4");
        assert_eq!(client(alb, "10.0.3.4", &["nonsense"]), "10.0.3.4");
        assert_eq!(client(alb, "10.0.3.4", &["1.1.1.1, nonsense"]), "10.0.3.4");
        // IPv4 peers seen through an IPv6 socket.
        assert_eq!(
            client(alb, "::ffff:10.0.3.4", &["203.0.113.9"]),
            "203.0.113.9"
        );
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_sends() {
        assert_eq!(client("", "198.51.100.7", &["203.0.113.9"]), "198.51.100.7");
        assert_eq!(
            client("10.0.0.0/8", "198.51.100.7", &["10.0.0.1"]),
            "198.51.100.7"
        );
    }

    #[test]
    fn lists_parse_cidrs_and_bare_addresses_and_name_bad_entries() {
        assert!(TrustedProxies::parse("").expect("empty").0.is_empty());
        assert_eq!(
            TrustedProxies::parse(" 10.0.0.0/16 , 127.0.0.1,fd00::/8,")
                .expect("list")
                .0
                .len(),
            3
        );
        assert!(
            TrustedProxies::parse("10.0.0.0/33")
                .unwrap_err()
                .contains("10.0.0.0/33")
        );
        assert!(TrustedProxies::parse("alb").is_err());
    }
}
