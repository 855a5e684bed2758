//! Where a webhook may point. Its URL is `https` (plain `http` too outside production), with a
//! host and no credentials; every address its host resolves to must be a public one, checked
//! again at each delivery after resolving (and the connection made to the address checked, so a
//! name that resolves elsewhere a moment later changes nothing). Private, link-local, shared,
//! multicast and reserved addresses are refused always; loopback is allowed outside production,
//! for a developer's own receiver.

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::net::{IpAddr, SocketAddr};
use url::Url;

/// Why a target is refused, as the caller is told.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// The ranges no webhook may reach (RFC 6890's special-purpose registries, less the global
/// ones), loopback aside.
fn special_purpose() -> Vec<IpNet> {
    [
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/96",
        "::ffff:0:0:0/96",
        "64:ff9b::/96",
        "64:ff9b:1::/48",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "2002::/16",
        "5f00::/16",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
    ]
    .iter()
    .filter_map(|n| n.parse().ok())
    .collect()
}

fn loopback(ip: IpAddr) -> bool {
    let v4: Ipv4Net = "127.0.0.0/8".parse().unwrap_or_default();
    let v6: Ipv6Net = "::1/128".parse().unwrap_or_default();
    match ip {
        IpAddr::V4(a) => v4.contains(&a),
        IpAddr::V6(a) => v6.contains(&a),
    }
}

/// Whether a webhook may connect to `ip`.
pub fn allowed(ip: IpAddr, production: bool) -> bool {
    // An IPv4 address written as IPv6 (`::ffff:10.0.0.1`) is judged as the IPv4 one.
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    if loopback(ip) {
        return !production;
    }
    !special_purpose().iter().any(|net| net.contains(&ip))
}

/// The URL, if it may be a webhook's: its syntax, scheme and host (a literal address is judged
/// here; a name when it is [`resolve`]d).
pub fn parse(raw: &str, production: bool) -> Result<Url, Refused> {
    let url = Url::parse(raw.trim()).map_err(|e| Refused(format!("url is not a URL: {e}")))?;
    match url.scheme() {
        "https" => {}
        "http" if !production => {}
        "http" => return Err(Refused("url must be https".into())),
        other => return Err(Refused(format!("url must be https, not {other}"))),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Refused(
            "url must not carry credentials: the signature authenticates deliveries".into(),
        ));
    }
    if url.fragment().is_some() {
        return Err(Refused("url must not have a fragment".into()));
    }
    match url.host() {
        None => return Err(Refused("url must name a host".into())),
        Some(url::Host::Ipv4(a)) => literal(IpAddr::V4(a), production)?,
        Some(url::Host::Ipv6(a)) => literal(IpAddr::V6(a), production)?,
        Some(url::Host::Domain(_)) => {}
    }
    Ok(url)
}

fn literal(ip: IpAddr, production: bool) -> Result<(), Refused> {
    if allowed(ip, production) {
        Ok(())
    } else {
        Err(refused_address(ip, production))
    }
}

fn refused_address(ip: IpAddr, production: bool) -> Refused {
    let why = if loopback(ip) {
        "a loopback address (allowed only outside production)"
    } else if production {
        "not a public address"
    } else {
        "a private, link-local or reserved address (only public and loopback addresses are \
         allowed)"
    };
    Refused(format!("url's host is {ip}: {why}"))
}

/// The addresses the URL's host resolves to now, every one of them allowed; the delivery
/// connects to these, and only these.
pub async fn resolve(
    url: &Url,
    production: bool,
    timeout: std::time::Duration,
) -> Result<Vec<SocketAddr>, Refused> {
    let port = url
        .port_or_known_default()
        .ok_or_else(|| Refused("url has no port".into()))?;
    let addrs: Vec<SocketAddr> = match url.host() {
        None => return Err(Refused("url must name a host".into())),
        Some(url::Host::Ipv4(a)) => vec![SocketAddr::new(IpAddr::V4(a), port)],
        Some(url::Host::Ipv6(a)) => vec![SocketAddr::new(IpAddr::V6(a), port)],
        Some(url::Host::Domain(name)) => {
            tokio::time::timeout(timeout, tokio::net::lookup_host((name, port)))
                .await
                .map_err(|_| Refused(format!("url's host {name} did not resolve in time")))?
                .map_err(|e| Refused(format!("url's host {name} does not resolve: {e}")))?
                .collect()
        }
    };
    if addrs.is_empty() {
        return Err(Refused("url's host resolves to no address".into()));
    }
    if let Some(bad) = addrs.iter().find(|a| !allowed(a.ip(), production)) {
        return Err(refused_address(bad.ip(), production));
    }
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn private_link_local_and_reserved_addresses_are_refused_everywhere() {
        for a in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::a9fe:a9fe",
            "fec0::1",
        ] {
            assert!(!allowed(ip(a), false), "{a} allowed in dev");
            assert!(!allowed(ip(a), true), "{a} allowed in production");
        }
    }

    #[test]
    fn loopback_only_outside_production_and_public_everywhere() {
        for a in ["127.0.0.1", "127.8.9.1", "::1", "::ffff:127.0.0.1"] {
            assert!(allowed(ip(a), false), "{a} refused in dev");
            assert!(!allowed(ip(a), true), "{a} allowed in production");
        }
        for a in ["1.1.1.1", "93.184.216.34", "2606:4700:4700::1111"] {
            assert!(allowed(ip(a), true), "{a} refused");
        }
    }

    #[test]
    fn urls_need_https_in_production_a_host_and_no_credentials() {
        assert!(parse("http://127.0.0.1:9/x", false).is_ok());
        assert!(parse("http://example.com/x", true).is_err());
        assert!(parse("https://example.com/x", true).is_ok());
        assert!(parse("ftp://example.com/x", false).is_err());
        assert!(parse("https://user:pw@example.com/x", true).is_err());
        assert!(parse("https://10.0.0.1/x", false).is_err());
        assert!(parse("not a url", false).is_err());
    }

    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_refused_in_production_only() {
        let url = parse("https://localhost:8443/hook", true).expect("a name passes parse");
        let within = std::time::Duration::from_secs(5);
        let refused = resolve(&url, true, within).await.expect_err("production");
        assert!(refused.0.contains("loopback"), "{refused}");
        let addrs = resolve(&url, false, within).await.expect("dev");
        assert!(addrs.iter().all(|a| a.ip().is_loopback()), "{addrs:?}");
    }
}
