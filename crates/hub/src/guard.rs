//! The SSRF guard for user-submitted URLs: http(s) only, every resolved address public
//! unless allowed, and a client pinned to the checked addresses.
//!
//! Must not: fetch anything itself.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use reqwest::{Client, Url};

use crate::{Error, Fetcher};

/// Whether an address is loopback, private, link-local or otherwise not a public host.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                || (o[0] == 198 && (o[1] & 0xfe) == 18)
                || o[0] >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            let seg0 = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg0 & 0xfe00) == 0xfc00
                || (seg0 & 0xffc0) == 0xfe80
        }
    }
}

impl Fetcher {
    /// Check a user-submitted URL: http(s) only, and unless private URLs are allowed, every
    /// address it resolves to must be public. Returns a client pinned to the checked
    /// addresses (no second DNS lookup to rebind) that follows no redirects.
    pub async fn guard_url(&self, raw: &str) -> Result<Client, Error> {
        let url = Url::parse(raw).map_err(|e| Error::Forbidden(format!("bad URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::Forbidden("only http and https URLs".into()));
        }
        let host = url
            .host_str()
            .ok_or_else(|| Error::Forbidden("URL without a host".into()))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = url.port_or_known_default().unwrap_or(80);
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| Error::Fetch(format!("{host}: {e}")))?
            .collect();
        if addrs.is_empty() {
            return Err(Error::Fetch(format!("{host}: no address")));
        }
        if !self.cfg.allow_private_urls
            && let Some(a) = addrs.iter().find(|a| is_private(a.ip()))
        {
            return Err(Error::Forbidden(format!(
                "{host} resolves to a non-public address ({})",
                a.ip()
            )));
        }
        let mut b = Client::builder()
            .timeout(Duration::from_secs(self.cfg.http_timeout_secs))
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none());
        if host.parse::<IpAddr>().is_err() {
            b = b.resolve_to_addrs(&host, &addrs);
        }
        b.build().map_err(|e| Error::Fetch(e.to_string()))
    }
}
