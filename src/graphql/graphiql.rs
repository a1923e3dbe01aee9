//! GraphiQL, served by storegate itself so it works air-gapped. Its
//! bundles come from npm through `scripts/fetch-graphiql-assets.sh` into a
//! git-ignored folder, read once at start-up. Without them the page loads
//! the same versions from the unpkg CDN, and the log says so.

use std::collections::HashMap;
use std::path::Path;

use axum::body::Bytes;
use axum::extract::Path as UrlPath;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};

use crate::domain::error::AppError;

/// (file name, media type, CDN fallback)
const FILES: [(&str, &str, &str); 5] = [
    (
        "react.production.min.js",
        "text/javascript",
        "https://unpkg.com/react@18.3.1/umd/react.production.min.js",
    ),
    (
        "react-dom.production.min.js",
        "text/javascript",
        "https://unpkg.com/react-dom@18.3.1/umd/react-dom.production.min.js",
    ),
    ("graphql-ws.min.js", "text/javascript", "https://unpkg.com/graphql-ws@5.16.2/umd/graphql-ws.min.js"),
    ("graphiql.min.js", "text/javascript", "https://unpkg.com/graphiql@4.1.2/graphiql.min.js"),
    ("graphiql.min.css", "text/css", "https://unpkg.com/graphiql@4.1.2/graphiql.min.css"),
];

pub struct Assets {
    files: HashMap<&'static str, Bytes>,
    page: String,
}

impl Assets {
    /// Reads the bundles from `dir`; any missing file switches the page to
    /// the CDN.
    pub fn load(dir: &Path) -> Self {
        let mut files = HashMap::new();
        for (name, _, _) in FILES {
            if let Ok(bytes) = std::fs::read(dir.join(name)) {
                files.insert(name, Bytes::from(bytes));
            }
        }
        let local = files.len() == FILES.len();
        if local {
            tracing::debug!(dir = %dir.display(), "serving GraphiQL from local assets");
        } else {
            tracing::warn!(
                dir = %dir.display(),
                "GraphiQL assets not found; the page will load them from the unpkg CDN \
                 (run scripts/fetch-graphiql-assets.sh to serve them offline)"
            );
        }
        let url =
            |name: &str, cdn: &str| if local { format!("/graphql/assets/{name}") } else { cdn.to_string() };
        let [react, react_dom, graphql_ws, graphiql_js, graphiql_css] =
            FILES.map(|(name, _, cdn)| url(name, cdn));
        let page = PAGE
            .replace("{react}", &react)
            .replace("{react_dom}", &react_dom)
            .replace("{graphql_ws}", &graphql_ws)
            .replace("{graphiql_js}", &graphiql_js)
            .replace("{graphiql_css}", &graphiql_css);
        Self { files, page }
    }

    pub fn page(&self) -> Html<String> {
        Html(self.page.clone())
    }

    /// # Errors
    /// `NotFound` for anything but the known bundles.
    pub fn file(&self, UrlPath(name): UrlPath<String>) -> Result<Response, AppError> {
        let (name, media, _) = FILES
            .iter()
            .find(|(known, _, _)| *known == name)
            .ok_or_else(|| AppError::NotFound("no such asset".into()))?;
        let bytes = self.files.get(name).ok_or_else(|| AppError::NotFound("no such asset".into()))?;
        let mut response = bytes.clone().into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
        // Versions are pinned, so the files never change under a name.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
        Ok(response)
    }
}

/// The token typed into GraphiQL's headers editor also authenticates the
/// subscription websocket (sent in `connection_init`).
const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>storegate · GraphiQL</title>
  <link rel="stylesheet" href="{graphiql_css}">
  <style>body { margin: 0; height: 100vh; } #graphiql { height: 100vh; }</style>
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script src="{react}"></script>
  <script src="{react_dom}"></script>
  <script src="{graphql_ws}"></script>
  <script src="{graphiql_js}"></script>
  <script>
    const wsUrl = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/graphql/ws';
    function authorization() {
      try {
        const headers = JSON.parse(localStorage.getItem('graphiql:headers') || '{}');
        const value = headers.Authorization || headers.authorization;
        return value ? { Authorization: value } : {};
      } catch (_) { return {}; }
    }
    const fetcher = GraphiQL.createFetcher({
      url: '/graphql',
      wsClient: graphqlWs.createClient({ url: wsUrl, connectionParams: authorization, lazy: true }),
    });
    ReactDOM.createRoot(document.getElementById('graphiql')).render(
      React.createElement(GraphiQL, {
        fetcher,
        defaultEditorToolsVisibility: true,
        defaultQuery: '# Welcome to storegate. Sign in with the login mutation and put\n# {"Authorization": "Bearer <accessToken>"} in the Headers tab.\n\n{\n  products(first: 5) {\n    nodes { id name price factory { name country certifications } }\n  }\n}\n',
      }),
    );
  </script>
</body>
</html>
"#;
