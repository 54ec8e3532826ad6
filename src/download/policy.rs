//! Network policy for result downloads: which URLs and addresses may be fetched.
//!
//! The same checks run on the first URL, on every redirect hop and on the addresses a
//! host name resolves to, so a public name pointing at a private address is refused too.

use std::error::Error as StdError;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect;
use url::{Host, Url};

/// Why a URL or address was refused. Travels inside `reqwest::Error` (from the redirect
/// policy and the resolver) and is recovered by downcasting the error's source chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The URL breaks the policy; the text says how (URLs in it are redacted).
    Policy(String),
    /// More redirects than allowed.
    TooManyRedirects(usize),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Policy(reason) => f.write_str(reason),
            Refusal::TooManyRedirects(max) => write!(f, "more than {max} redirects"),
        }
    }
}

impl StdError for Refusal {}

/// The part of `DownloadOptions` the checks need; copied into the resolver and the
/// redirect policy, which outlive any borrow.
#[derive(Debug, Clone)]
pub(crate) struct NetPolicy {
    pub(crate) allow_http: bool,
    pub(crate) allow_private_hosts: bool,
    pub(crate) max_redirects: usize,
    /// An origin the user chose (the API's own, set explicitly): plain http and a
    /// private address are allowed there alone.
    pub(crate) trusted: Option<TrustedOrigin>,
    /// How refusals name the settings that allow plain http and private addresses.
    pub(crate) names: SettingNames,
}

/// How a refusal names the settings that would allow what it refused.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SettingNames {
    pub(crate) allow_http: &'static str,
    pub(crate) allow_private_hosts: &'static str,
}

impl Default for SettingNames {
    fn default() -> Self {
        SettingNames {
            allow_http: "DownloadOptions::allow_http",
            allow_private_hosts: "DownloadOptions::allow_private_hosts",
        }
    }
}

/// Scheme, host and port of an origin trusted as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TrustedOrigin {
    scheme: String,
    host: Host<String>,
    port: Option<u16>,
}

impl TrustedOrigin {
    /// The origin of `url`; `None` for a URL without a host.
    pub(crate) fn of(url: &str) -> Option<TrustedOrigin> {
        let url = Url::parse(url).ok()?;
        Some(TrustedOrigin {
            scheme: url.scheme().to_owned(),
            host: url.host()?.to_owned(),
            port: url.port_or_known_default(),
        })
    }

    fn matches(&self, url: &Url) -> bool {
        url.scheme() == self.scheme
            && url.host().map(|h| h.to_owned()).as_ref() == Some(&self.host)
            && url.port_or_known_default() == self.port
    }

    /// True when `name` is the trusted origin's host name (the resolver sees no port).
    fn is_host(&self, name: &str) -> bool {
        matches!(&self.host, Host::Domain(d) if d.eq_ignore_ascii_case(name))
    }
}

/// `url` without user name, password, query or fragment: signed result URLs carry
/// their credentials in the query, so this is the only form that may be shown or logged.
///
/// Works on unparsable input too (cuts at `?`/`#` and drops anything before `@`).
pub fn redact_url(url: &str) -> String {
    if let Ok(mut parsed) = Url::parse(url) {
        parsed.set_query(None);
        parsed.set_fragment(None);
        // Both fail only for URLs that cannot have credentials.
        let _ = parsed.set_username("");
        let _ = parsed.set_password(None);
        return parsed.into();
    }
    let cut = url.find(['?', '#']).map_or(url, |end| &url[..end]);
    let (scheme, rest) = cut.split_once("://").unwrap_or(("", cut));
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let rest = match rest[..authority_end].rfind('@') {
        Some(at) => &rest[at + 1..],
        None => rest,
    };
    let sep = if scheme.is_empty() { "" } else { "://" };
    format!("{scheme}{sep}{rest}")
}

impl NetPolicy {
    /// Checks scheme, credentials and (for IP literals) the address of one URL.
    /// Host names are checked later, on the addresses they resolve to.
    pub(crate) fn check_url(&self, url: &Url) -> Result<(), Refusal> {
        let shown = redact_url(url.as_str());
        let trusted = self.trusted.as_ref().is_some_and(|t| t.matches(url));
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http || trusted => {}
            "http" => {
                return Err(Refusal::Policy(format!(
                    "{shown} uses plain http; only https is allowed unless {} is set",
                    self.names.allow_http
                )));
            }
            other => {
                return Err(Refusal::Policy(format!(
                    "{shown} uses the scheme {other:?}; only http(s) result URLs can be downloaded"
                )));
            }
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refusal::Policy(format!(
                "{shown} has credentials embedded in it, which are never sent"
            )));
        }
        let ip = match url.host() {
            Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
            Some(Host::Domain(_)) => return Ok(()),
            None => return Err(Refusal::Policy(format!("{shown} has no host"))),
        };
        if trusted {
            return Ok(());
        }
        self.check_ip(ip, &shown)
    }

    fn check_ip(&self, ip: IpAddr, what: &str) -> Result<(), Refusal> {
        if self.allow_private_hosts || is_public_address(ip) {
            Ok(())
        } else {
            Err(Refusal::Policy(format!(
                "{what} is at {ip}, a loopback, private, link-local or reserved address; \
                 such hosts are refused unless {} is set",
                self.names.allow_private_hosts
            )))
        }
    }

    /// A redirect policy that checks every hop like the first URL and counts hops.
    pub(crate) fn redirect_policy(self) -> redirect::Policy {
        // Redirects are checked like the first URL: a trusted origin may redirect only
        // to itself or to what the policy allows anyway.
        redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > self.max_redirects {
                return attempt.error(Refusal::TooManyRedirects(self.max_redirects));
            }
            match self.check_url(attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(Refusal::Policy(reason)) => {
                    attempt.error(Refusal::Policy(format!("redirect refused: {reason}")))
                }
                Err(other) => attempt.error(other),
            }
        })
    }
}

/// Whether `ip` is an ordinary public unicast address, the only kind a result may be
/// fetched from by default.
///
/// Refused: unspecified, loopback, private (RFC 1918, IPv6 unique-local), shared/CGNAT
/// (100.64.0.0/10), link-local, documentation and benchmarking ranges, multicast,
/// broadcast and other reserved ranges, and IPv6 transition forms (6to4, Teredo,
/// local NAT64). IPv4-mapped and well-known NAT64 IPv6 addresses are judged by the IPv4
/// address inside them.
///
/// ```
/// use modellix::download::is_public_address;
///
/// assert!(is_public_address("93.184.216.34".parse().unwrap()));
/// assert!(!is_public_address("10.0.0.1".parse().unwrap()));
/// assert!(!is_public_address("::ffff:127.0.0.1".parse().unwrap()));
/// ```
pub fn is_public_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let reserved = a == 0 // "this network"
        || a == 10
        || a == 127
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 169 && b == 254)
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // TEST-NET-1
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
        || (a == 192 && b == 168)
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // TEST-NET-2
        || (a == 203 && b == 0 && c == 113) // TEST-NET-3
        || a >= 224; // multicast, reserved, broadcast
    !reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    // Well-known NAT64 prefix 64:ff9b::/96 embeds an IPv4 address.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [a, b] = s[6].to_be_bytes();
        let [c, d] = s[7].to_be_bytes();
        return is_public_v4(Ipv4Addr::new(a, b, c, d));
    }
    // Only global unicast (2000::/3) is public; this also excludes ::, ::1, the
    // deprecated IPv4-compatible form, unique-local, link-local and multicast.
    let global_unicast = s[0] & 0xe000 == 0x2000;
    // 2001::/23 (IETF protocol assignments, incl. Teredo), 2001:db8::/32 and
    // 3fff::/20 (documentation), 2002::/16 (6to4).
    let reserved = (s[0] == 0x2001 && (s[1] < 0x0200 || s[1] == 0x0db8))
        || s[0] == 0x2002
        || s[0] & 0xfff0 == 0x3ff0;
    global_unicast && !reserved
}

/// The system resolver, refusing names that resolve to any non-public address
/// (unless allowed). All addresses are checked, so a name cannot mix a public address
/// with a private one and hope the private one is tried.
#[derive(Debug, Clone)]
pub(crate) struct CheckedResolver(pub(crate) NetPolicy);

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.0.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            // Port 0: reqwest puts the URL's port in afterwards.
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            // The user named this host as the API's origin: its addresses are theirs
            // to choose (the URL check has already matched scheme and port).
            let trusted = policy.trusted.as_ref().is_some_and(|t| t.is_host(&host));
            for addr in addrs.iter().filter(|_| !trusted) {
                policy.check_ip(addr.ip(), &format!("host {host}"))?;
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// The [`Refusal`] somewhere in `error`'s source chain, if any.
pub(crate) fn find_refusal<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a Refusal> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(refusal) = e.downcast_ref::<Refusal>() {
            return Some(refusal);
        }
        current = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_drops_query_fragment_and_credentials() {
        assert_eq!(
            redact_url("https://u:p@file.modellix.ai/a.mp4?X-Sig=s#f"),
            "https://file.modellix.ai/a.mp4"
        );
        assert_eq!(redact_url("not a url?sig=s"), "not a url");
        assert_eq!(redact_url("x://u:p@h/p?q"), "x://h/p");
    }

    #[test]
    fn a_trusted_origin_allows_http_and_loopback_there_alone() {
        let policy = NetPolicy {
            allow_http: false,
            allow_private_hosts: false,
            max_redirects: 5,
            trusted: TrustedOrigin::of("http://127.0.0.1:8080/"),
            names: SettingNames {
                allow_http: "--allow-insecure-http",
                allow_private_hosts: "--allow-private-network",
            },
        };
        let check = |url: &str| policy.check_url(&Url::parse(url).unwrap());
        assert_eq!(check("http://127.0.0.1:8080/files/a.mp4"), Ok(()));
        // Another port or scheme is another origin: refused, naming the flag.
        let Err(Refusal::Policy(other_port)) = check("http://127.0.0.1:9090/a.mp4") else {
            panic!("another port is refused");
        };
        assert!(other_port.contains("--allow-insecure-http"), "{other_port}");
        let Err(Refusal::Policy(https)) = check("https://127.0.0.1:8080/a.mp4") else {
            panic!("another scheme is refused");
        };
        assert!(https.contains("--allow-private-network"), "{https}");
        assert!(
            check("http://u:p@127.0.0.1:8080/a.mp4").is_err(),
            "credentials"
        );
        let named = TrustedOrigin::of("http://localhost:8080").unwrap();
        assert!(named.is_host("LOCALHOST") && !named.is_host("example.com"));
    }

    #[test]
    fn address_ranges() {
        for public in ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "64:ff9b::808:808"] {
            assert!(is_public_address(public.parse().unwrap()), "{public}");
        }
        for private in [
            "0.0.0.0",
            "127.0.0.1",
            "10.1.2.3",
            "100.64.0.1",
            "169.254.169.254",
            "172.31.0.1",
            "192.168.1.1",
            "198.18.0.1",
            "203.0.113.9",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a00:1",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "2001::1",
            "2002:a00:1::",
            "3fff::1",
        ] {
            assert!(!is_public_address(private.parse().unwrap()), "{private}");
        }
    }
}
