//! The client's address, resolved once per request for both faces (the
//! login and sign-up throttles key on it).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::{Extensions, HeaderMap, HeaderName, request::Parts};
use tower::{Layer, Service};

/// The client's address, when the server knows it: the socket's peer, or,
/// with `TRUSTED_CLIENT_IP_HEADER`, the address the proxy in front puts in
/// that header (see [`ClientAddrLayer`]). Address headers a client sends
/// itself (`X-Forwarded-For`, `Forwarded`, `X-Real-IP`, ...) are never
/// read. In-process tests have no peer, so `None` unless they add a
/// `ConnectInfo` extension. Used by the login and sign-up throttles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl ClientAddr {
    fn peer(extensions: &Extensions) -> Self {
        ClientAddr(extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip()))
    }

    /// The address `header` names, else the peer's. The last value counts
    /// (and in a list, its last element): a proxy that appends rather than
    /// replaces puts its own observation last, after anything the client
    /// sent.
    fn resolve(header: &HeaderName, headers: &HeaderMap, extensions: &Extensions) -> Self {
        let named = headers
            .get_all(header)
            .iter()
            .next_back()
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.rsplit(',').next())
            .and_then(|value| parse_address(value.trim()));
        match named {
            Some(address) => ClientAddr(Some(address)),
            None => {
                tracing::debug!(header = %header, "client address header missing or unparseable; using the peer");
                Self::peer(extensions)
            }
        }
    }
}

/// An IP address, also as `1.2.3.4:port` or `[v6]:port`.
fn parse_address(text: &str) -> Option<IpAddr> {
    text.parse::<IpAddr>().ok().or_else(|| text.parse::<SocketAddr>().ok().map(|socket| socket.ip()))
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<ClientAddr>().copied().unwrap_or_else(|| Self::peer(&parts.extensions)))
    }
}

/// With `TRUSTED_CLIENT_IP_HEADER` set, resolves every request's
/// [`ClientAddr`] from that header once, before any other layer, and puts
/// it in the request's extensions for the extractor (and logs) to read.
/// Unset, no layer is needed: the extractor reads the peer itself.
#[derive(Clone)]
pub struct ClientAddrLayer {
    header: HeaderName,
}

impl ClientAddrLayer {
    pub fn new(header: HeaderName) -> Self {
        Self { header }
    }
}

impl<S> Layer<S> for ClientAddrLayer {
    type Service = ResolveClientAddr<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ResolveClientAddr { inner, header: self.header.clone() }
    }
}

#[derive(Clone)]
pub struct ResolveClientAddr<S> {
    inner: S,
    header: HeaderName,
}

impl<S, B> Service<axum::http::Request<B>> for ResolveClientAddr<S>
where
    S: Service<axum::http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: axum::http::Request<B>) -> Self::Future {
        let client = ClientAddr::resolve(&self.header, request.headers(), request.extensions());
        request.extensions_mut().insert(client);
        self.inner.call(request)
    }
}

#[cfg(test)]
mod tests {
    use super::{ClientAddr, Extensions, HeaderMap, HeaderName};
    use axum::extract::ConnectInfo;
    use std::net::{IpAddr, SocketAddr};

    fn resolve(values: &[&str]) -> Option<IpAddr> {
        let header = HeaderName::from_static("fly-client-ip");
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(&header, value.parse().unwrap());
        }
        let mut extensions = Extensions::new();
        extensions.insert(ConnectInfo("10.0.0.1:443".parse::<SocketAddr>().unwrap()));
        ClientAddr::resolve(&header, &headers, &extensions).0
    }

    #[test]
    fn the_trusted_header_names_the_client_else_the_peer_does() {
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        assert_eq!(resolve(&["198.51.100.1"]), ip("198.51.100.1"));
        assert_eq!(resolve(&[" 2001:db8::1 "]), ip("2001:db8::1"));
        assert_eq!(resolve(&["198.51.100.1:8080"]), ip("198.51.100.1"));
        assert_eq!(resolve(&["[2001:db8::2]:8080"]), ip("2001:db8::2"));
        // What a proxy appends comes last.
        assert_eq!(resolve(&["203.0.113.9", "198.51.100.1"]), ip("198.51.100.1"));
        assert_eq!(resolve(&["203.0.113.9, 198.51.100.2"]), ip("198.51.100.2"));
        assert_eq!(resolve(&[]), ip("10.0.0.1"));
        assert_eq!(resolve(&["unknown"]), ip("10.0.0.1"));
        assert_eq!(resolve(&["198.51.100.1, garbage"]), ip("10.0.0.1"));
    }
}
