//! The names the desk answers to. A page on another site can point its own name at 127.0.0.1
//! (DNS rebinding) and then read the desk as if it were that site's; the browser still sends
//! that name as `Host`, so only the names the desk is really reached by are served: localhost,
//! the loopback addresses, the address it listens on, and the names given with
//! `--allowed-host` (a proxy in front of it). A request that changes something (the login
//! among them) must also come from a page of the desk's own, when the browser says (`Origin`).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::uri::Authority;
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use super::auth::refuse;

/// The host names (lower case, IPv6 in brackets) the desk answers to.
pub struct AllowedHosts {
    names: Vec<String>,
    /// The `--allowed-host` names: a page of theirs may change things, whatever `Host` the
    /// proxy passes on.
    proxied: Vec<String>,
}

impl AllowedHosts {
    /// The loopback names, `listen` unless it is every address, and `extra`.
    pub fn new(listen: SocketAddr, extra: &[String]) -> anyhow::Result<Self> {
        let proxied = extra
            .iter()
            .map(|name| match host_of(name) {
                Some(host) if !name.contains(['/', '@']) => Ok(host),
                _ => Err(anyhow::anyhow!(
                    "--allowed-host {name:?} is not a host name"
                )),
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut names: Vec<String> = ["localhost", "127.0.0.1", "[::1]"].map(String::from).into();
        if !listen.ip().is_unspecified() {
            names.push(host_of(&listen.to_string()).unwrap_or_default());
        }
        names.extend(proxied.iter().cloned());
        Ok(Self { names, proxied })
    }

    fn allows(&self, authority: &str) -> bool {
        !authority.contains('@')
            && host_of(authority).is_some_and(|host| self.names.contains(&host))
    }

    /// A page at `origin` may change things here: the desk's own page, as the request's `Host`
    /// names it, or one behind a proxy named with `--allowed-host`.
    fn allows_origin(&self, origin: &str, host: &str) -> bool {
        let Some((scheme, authority)) = origin.split_once("://") else {
            return false;
        };
        matches!(scheme, "http" | "https")
            && (authority.eq_ignore_ascii_case(host)
                || host_of(authority).is_some_and(|h| self.proxied.contains(&h)))
    }
}

/// The host of `authority` (`name[:port]`), lower case; `None` when it is not one.
fn host_of(authority: &str) -> Option<String> {
    let parsed: Authority = authority.parse().ok()?;
    let host = parsed.host().to_ascii_lowercase();
    (!host.is_empty()).then_some(host)
}

/// Refuses, before anything else runs, a request for a name the desk is not, or a change from
/// another site's page.
pub(super) async fn check(
    State(hosts): State<Arc<AllowedHosts>>,
    req: Request,
    next: Next,
) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| req.uri().authority().map(Authority::as_str))
        .unwrap_or_default();
    let named = req
        .uri()
        .authority()
        .is_none_or(|a| a.as_str().eq_ignore_ascii_case(host));
    if !named || !hosts.allows(host) {
        return refuse(
            StatusCode::MISDIRECTED_REQUEST,
            "host",
            "this desk is not served under that name",
        );
    }
    let reads = matches!(*req.method(), Method::GET | Method::HEAD);
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .map(|v| v.to_str().unwrap_or_default());
    if !reads && origin.is_some_and(|o| !hosts.allows_origin(o, host)) {
        return refuse(
            StatusCode::FORBIDDEN,
            "origin",
            "the request came from a page of another site",
        );
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(listen: &str, extra: &[&str]) -> AllowedHosts {
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        AllowedHosts::new(listen.parse().unwrap(), &extra).unwrap()
    }

    #[test]
    fn loopback_names_and_the_listen_address_are_served_and_no_other() {
        let loopback = hosts("127.0.0.1:8090", &[]);
        for ok in [
            "127.0.0.1:8090",
            "localhost:8090",
            "LOCALHOST",
            "[::1]:8090",
        ] {
            assert!(loopback.allows(ok), "{ok}");
        }
        for refused in [
            "evil.example:8090",
            "evil.example",
            "127.0.0.1.evil.example",
            "localhost.evil.example:8090",
            "evil@127.0.0.1:8090",
            "",
        ] {
            assert!(!loopback.allows(refused), "{refused}");
        }
        let lan = hosts("192.168.1.5:8090", &["Desk.Example.Org"]);
        assert!(lan.allows("192.168.1.5:8090") && lan.allows("desk.example.org"));
        assert!(!hosts("0.0.0.0:8090", &[]).allows("0.0.0.0:8090"));
        assert!(AllowedHosts::new("127.0.0.1:1".parse().unwrap(), &["a/b".into()]).is_err());
    }

    #[test]
    fn only_the_desks_own_pages_may_change_things() {
        let desk = hosts("127.0.0.1:8090", &["desk.example.org"]);
        let host = "127.0.0.1:8090";
        assert!(desk.allows_origin("http://127.0.0.1:8090", host));
        assert!(desk.allows_origin("https://desk.example.org", host));
        for refused in [
            "http://evil.example",
            "http://127.0.0.1:3000",
            "http://localhost:8090",
            "null",
            "file://",
        ] {
            assert!(!desk.allows_origin(refused, host), "{refused}");
        }
    }
}
