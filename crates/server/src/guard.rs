//! Who may call: the `Host` and `Origin` rules that keep a web page from driving a local server.
//!
//! A server on loopback is still reachable from any web page the user opens: a page can make the browser
//! send requests to `127.0.0.1:8083` (cross-origin), or rebind its own DNS name to 127.0.0.1 and send them
//! as same-origin requests carrying `Host: attacker.example`. Neither is something an AWS SDK or the AWS
//! CLI does: they send the endpoint's own host name and no `Origin`. So a request is answered only when
//! - its `Host` names a loopback address (`127.0.0.0/8`, `[::1]`, `localhost`), a name the server was told
//!   to answer for ([`HostPolicy::allow_host`]), or any name when the server was opened to the network on
//!   an unspecified address (`0.0.0.0`, `[::]` with `--allow-remote`); a request without `Host` (HTTP/1.0,
//!   no browser sends one) is answered;
//! - it carries no `Origin`, or one whose host and port are the request's own `Host` (the server's own
//!   pages, same-origin).
//!
//! Anything else is refused with HTTP 403 before the body is read.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};

use crate::error::ApiError;

/// `router` with every request checked against `policy` first.
pub(crate) fn guarded(router: Router, policy: Arc<HostPolicy>) -> Router {
    router.layer(axum::middleware::from_fn(move |request: Request, next: Next| {
        let policy = policy.clone();
        async move {
            match policy.check(request.headers()) {
                Ok(()) => next.run(request).await,
                Err(e) => {
                    tracing::warn!("refused a request: {}", e.message);
                    let response: Response = e.into_response();
                    response
                }
            }
        }
    }))
}

/// Which `Host` names a server answers for.
#[derive(Debug, Clone, Default)]
pub struct HostPolicy {
    names: Vec<String>,
    any: bool,
}

impl HostPolicy {
    /// Loopback names only.
    pub fn loopback() -> Self {
        Self::default()
    }

    /// The policy for a server bound to `addr`: loopback names, plus the bound address when it is not
    /// loopback (the caller allowed a remote bind), or any name when it is unspecified (`0.0.0.0`).
    pub fn for_listen(addr: SocketAddr) -> Self {
        let mut p = Self::default();
        let ip = addr.ip();
        if ip.is_unspecified() {
            p.any = true;
        } else if !ip.is_loopback() {
            p.names.push(ip.to_string());
        }
        p
    }

    /// Also answers requests for `name` (a host name, without port; compared case-insensitively).
    pub fn allow_host(mut self, name: &str) -> Self {
        self.names.push(name.trim_end_matches('.').to_ascii_lowercase());
        self
    }

    fn host_allowed(&self, host: &str) -> bool {
        if self.any {
            return true;
        }
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        if host == "localhost" || host.ends_with(".localhost") {
            return true;
        }
        let literal = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(&host);
        if literal.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()) {
            return true;
        }
        self.names.iter().any(|n| *n == host || *n == literal)
    }

    /// Checks a request's `Host` and `Origin`; HTTP 403 when a browser page, not a client, sent it.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let host = match headers.get("host").map(|v| v.to_str()) {
            None => None,
            Some(Ok(h)) => Some(h.trim()),
            Some(Err(_)) => return Err(refused("the Host header is not text".to_owned())),
        };
        if let Some(h) = host
            && !self.host_allowed(host_name(h))
        {
            return Err(refused(format!(
                "Host '{h}' is not a name this server answers for (loopback names only; `sfn serve --hostname NAME` adds one)"
            )));
        }
        if let Some(origin) = headers.get("origin") {
            let text = origin.to_str().unwrap_or("");
            let authority = text.split_once("://").map(|(_, a)| a.trim_end_matches('/'));
            let same = match (authority, host) {
                (Some(a), Some(h)) => a.eq_ignore_ascii_case(h),
                _ => false,
            };
            if !same {
                return Err(refused(format!(
                    "requests from web pages are refused (Origin '{text}'); AWS SDKs and the AWS CLI send no Origin"
                )));
            }
        }
        Ok(())
    }
}

/// The host part of a `Host` value (`127.0.0.1:8083` → `127.0.0.1`, `[::1]:8083` → `[::1]`).
fn host_name(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map_or(host, |end| &host[..=end]);
    }
    host.rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map_or(host, |(h, _)| h)
}

fn refused(message: String) -> ApiError {
    ApiError { status: 403, code: "AccessDeniedException".to_owned(), message }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn loopback_names_pass_others_are_refused() {
        let p = HostPolicy::loopback();
        for host in
            ["127.0.0.1:8083", "127.1.2.3", "localhost:8083", "LOCALHOST", "[::1]:8083", "a.localhost"]
        {
            assert!(p.check(&headers(&[("host", host)])).is_ok(), "{host}");
        }
        for host in
            ["attacker.example", "attacker.example:8083", "10.0.0.1:8083", "[::2]:8083", "127.0.0.1.evil.com"]
        {
            let e = p.check(&headers(&[("host", host)])).unwrap_err();
            assert_eq!((e.status, e.code.as_str()), (403, "AccessDeniedException"), "{host}");
        }
        assert!(p.check(&HeaderMap::new()).is_ok(), "no Host: not a browser");
    }

    #[test]
    fn named_and_remote_hosts() {
        let p = HostPolicy::loopback().allow_host("sfn.internal");
        assert!(p.check(&headers(&[("host", "SFN.internal:8083")])).is_ok());
        let p = HostPolicy::for_listen("192.0.2.7:8083".parse().unwrap());
        assert!(p.check(&headers(&[("host", "192.0.2.7:8083")])).is_ok());
        assert!(p.check(&headers(&[("host", "attacker.example")])).is_err());
        let p = HostPolicy::for_listen("0.0.0.0:8083".parse().unwrap());
        assert!(p.check(&headers(&[("host", "anything.example")])).is_ok());
    }

    #[test]
    fn browser_origins_are_refused_unless_same_origin() {
        let p = HostPolicy::loopback();
        let h = headers(&[("host", "127.0.0.1:8083"), ("origin", "https://attacker.example")]);
        assert!(p.check(&h).unwrap_err().message.contains("Origin 'https://attacker.example'"));
        assert!(p.check(&headers(&[("host", "127.0.0.1:8083"), ("origin", "null")])).is_err());
        assert!(p.check(&headers(&[("origin", "http://127.0.0.1:8083")])).is_err(), "an Origin needs a Host");
        assert!(
            p.check(&headers(&[("host", "127.0.0.1:8083"), ("origin", "http://127.0.0.1:8083")])).is_ok()
        );
        // Even on a server open to any name, a cross-origin page is refused.
        let any = HostPolicy::for_listen("0.0.0.0:8083".parse().unwrap());
        assert!(any.check(&headers(&[("host", "h:8083"), ("origin", "http://evil:8083")])).is_err());
    }
}
