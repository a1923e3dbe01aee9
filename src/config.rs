//! Configuration from the environment (and `.env`), per docs/API.md §1.
//!
//! Development works with no configuration at all; production refuses to
//! start on settings that would be unsafe, saying what to set.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use base64::Engine;
use clap::{Args, ValueEnum};

use crate::auth::keys::{Ed25519PrivateKey, Ed25519PublicKey, JwtKeys, KeyError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Environment {
    Development,
    Production,
}

/// How tokens are signed (docs/API.md §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum JwtAlgorithm {
    /// A shared secret, `JWT_SECRET`.
    #[value(name = "HS256")]
    Hs256,
    /// An Ed25519 key, `JWT_PRIVATE_KEY_FILE`; public keys at
    /// `/.well-known/jwks.json`.
    #[value(name = "EdDSA")]
    EdDsa,
}

/// `DATABASE_URL` when unset, in development.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://storegate.db?mode=rwc";

/// The raw settings as clap reads them from flags and environment.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// `sqlite:` or `postgres:` URL; development default
    /// `sqlite://storegate.db?mode=rwc`, production: required.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Connections in the database pool; default: PostgreSQL twice the
    /// CPUs, at least 4; SQLite 8.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", value_parser = clap::value_parser!(u32).range(1..=1000), global = true)]
    pub database_max_connections: Option<u32>,
    /// `development` or `production`.
    #[arg(long, env = "STOREGATE_ENV", value_enum, default_value = "development", global = true)]
    pub env: Environment,
    /// HS256 signing key (≥ 32 bytes in production).
    #[arg(long, env = "JWT_SECRET", hide_env_values = true, global = true)]
    pub jwt_secret: Option<String>,
    /// `HS256` (JWT_SECRET) or `EdDSA` (JWT_PRIVATE_KEY_FILE).
    #[arg(
        long,
        env = "JWT_ALGORITHM",
        value_enum,
        ignore_case = true,
        default_value = "HS256",
        global = true
    )]
    pub jwt_algorithm: JwtAlgorithm,
    /// EdDSA: an Ed25519 private key in PKCS#8 PEM; development default: one
    /// generated and kept beside the SQLite database.
    #[arg(long, env = "JWT_PRIVATE_KEY_FILE", global = true)]
    pub jwt_private_key_file: Option<PathBuf>,
    /// EdDSA, during a key rotation: the previous key's public half (PEM);
    /// tokens it signed keep working until they expire.
    #[arg(long, env = "JWT_PREVIOUS_PUBLIC_KEY_FILE", global = true)]
    pub jwt_previous_public_key_file: Option<PathBuf>,
    #[arg(long, env = "HOST", default_value = "0.0.0.0", global = true)]
    pub host: String,
    #[arg(long, env = "PORT", default_value_t = 8080, global = true)]
    pub port: u16,
    #[arg(long, env = "ACCESS_TOKEN_TTL", default_value = "15m", value_parser = humantime::parse_duration, global = true)]
    pub access_token_ttl: Duration,
    #[arg(long, env = "REFRESH_TOKEN_TTL", default_value = "30d", value_parser = humantime::parse_duration, global = true)]
    pub refresh_token_ttl: Duration,
    /// When set, revoked tokens are kept in Redis, shared by every instance.
    #[arg(long, env = "REDIS_URL", hide_env_values = true, global = true)]
    pub redis_url: Option<String>,
    /// Failed logins per email within 15 minutes before login answers 429.
    #[arg(long, env = "LOGIN_MAX_FAILURES", default_value_t = 5, global = true)]
    pub login_max_failures: u32,
    /// GraphQL introspection (and so GraphiQL's schema explorer); default:
    /// on in development, off in production.
    #[arg(long, env = "GRAPHQL_INTROSPECTION", global = true)]
    pub graphql_introspection: Option<bool>,
    /// Where GraphiQL's bundles are (scripts/fetch-graphiql-assets.sh).
    #[arg(long, env = "GRAPHIQL_ASSETS_DIR", default_value = "assets/graphiql", global = true)]
    pub graphiql_assets: PathBuf,
    /// Comma-separated origins allowed by CORS, or `*`; default: any in
    /// development, none in production.
    #[arg(long, env = "CORS_ALLOWED_ORIGINS", global = true)]
    pub cors_allowed_origins: Option<String>,
    /// Whether CORS responses allow credentials (cookies, client certs).
    #[arg(long, env = "CORS_ALLOW_CREDENTIALS", default_value_t = false, global = true)]
    pub cors_allow_credentials: bool,
    /// How long a request may run before it is answered with 503.
    #[arg(long, env = "REQUEST_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration, global = true)]
    pub request_timeout: Duration,
    /// How long shutdown waits for in-flight requests.
    #[arg(long, env = "SHUTDOWN_GRACE", default_value = "20s", value_parser = humantime::parse_duration, global = true)]
    pub shutdown_grace: Duration,
    /// A header set by the proxy in front (e.g. `Fly-Client-IP`) whose value
    /// is the client's address; unset: the socket's peer.
    #[arg(long, env = "TRUSTED_CLIENT_IP_HEADER", global = true)]
    pub trusted_client_ip_header: Option<String>,
    /// Signups per client address per hour (`0`: unlimited).
    #[arg(long, env = "SIGNUP_MAX_PER_ADDRESS", default_value_t = 20, global = true)]
    pub signup_max_per_address: u32,
    /// Production: `/metrics` answers only this bearer token (404 unset).
    #[arg(long, env = "METRICS_TOKEN", hide_env_values = true, global = true)]
    pub metrics_token: Option<String>,
    /// How long a connection may take to send a request's head.
    #[arg(long, env = "REQUEST_HEAD_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration, global = true)]
    pub request_head_timeout: Duration,
    /// Open connections the server keeps; more are answered 503.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub max_connections: u32,
    /// Requests handled at once; more are answered 503 with `Retry-After`.
    #[arg(long, env = "MAX_IN_FLIGHT_REQUESTS", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub max_in_flight_requests: u32,
    /// Open GraphQL websockets per instance.
    #[arg(long, env = "WS_MAX_SOCKETS", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub ws_max_sockets: u32,
    /// The OTLP/HTTP collector traces are sent to, e.g.
    /// `http://localhost:4318`; unset: no traces.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT", hide_env_values = true, global = true)]
    pub otel_exporter_otlp_endpoint: Option<String>,
    /// The `service.name` of exported traces.
    #[arg(long, env = "OTEL_SERVICE_NAME", default_value = crate::telemetry::DEFAULT_SERVICE_NAME, global = true)]
    pub otel_service_name: String,
    /// Subscriptions one websocket may hold at once.
    #[arg(long, env = "WS_MAX_SUBSCRIPTIONS", default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub ws_max_subscriptions: u32,
}

/// Which origins CORS allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    Any,
    List(Vec<String>),
}

impl CorsOrigins {
    fn parse(text: Option<&str>, env: Environment) -> Self {
        match text.map(str::trim) {
            None => match env {
                Environment::Development => Self::Any,
                Environment::Production => Self::List(Vec::new()),
            },
            Some("*") => Self::Any,
            Some(list) => Self::List(
                list.split(',')
                    .map(|o| o.trim().trim_end_matches('/').to_string())
                    .filter(|o| !o.is_empty())
                    .collect(),
            ),
        }
    }
}

/// Validated configuration the server runs with.
#[derive(Clone)]
pub struct Config {
    pub env: Environment,
    pub database_url: String,
    /// `None`: [`crate::db::default_postgres_connections`] or
    /// [`crate::db::DEFAULT_SQLITE_CONNECTIONS`].
    pub database_max_connections: Option<u32>,
    /// What tokens are signed with: the HS256 secret or Ed25519 keys.
    pub jwt_keys: JwtKeys,
    pub host: String,
    pub port: u16,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub redis_url: Option<String>,
    pub login_max_failures: u32,
    pub graphql_introspection: bool,
    pub graphiql_assets: PathBuf,
    pub cors_allowed_origins: CorsOrigins,
    pub cors_allow_credentials: bool,
    pub request_timeout: Duration,
    pub shutdown_grace: Duration,
    /// `None`: the socket's peer is the client.
    pub trusted_client_ip_header: Option<axum::http::HeaderName>,
    /// `0`: unlimited.
    pub signup_max_per_address: u32,
    pub metrics_token: Option<String>,
    pub request_head_timeout: Duration,
    pub max_connections: u32,
    pub max_in_flight_requests: u32,
    pub ws_max_sockets: u32,
    pub ws_max_subscriptions: u32,
    /// How long a websocket may wait before `connection_init` (docs/API.md §4:
    /// 10 s; shorter in tests).
    pub ws_init_timeout: Duration,
    /// How often an authenticated websocket re-checks its token for
    /// revocation and a deleted user (at most the 5 s token leeway; not an
    /// environment variable, tests set it short).
    pub ws_revalidate_interval: Duration,
}

impl std::fmt::Debug for Config {
    // Hand-written so the secret can never reach a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("env", &self.env)
            .field("database_url", &redact_url(&self.database_url))
            .field("database_max_connections", &self.database_max_connections)
            .field("jwt_keys", &self.jwt_keys)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("access_token_ttl", &self.access_token_ttl)
            .field("refresh_token_ttl", &self.refresh_token_ttl)
            .field("redis_url", &self.redis_url.as_deref().map(redact_url))
            .field("login_max_failures", &self.login_max_failures)
            .field("graphql_introspection", &self.graphql_introspection)
            .field("graphiql_assets", &self.graphiql_assets)
            .field("cors_allowed_origins", &self.cors_allowed_origins)
            .field("cors_allow_credentials", &self.cors_allow_credentials)
            .field("request_timeout", &self.request_timeout)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("trusted_client_ip_header", &self.trusted_client_ip_header)
            .field("signup_max_per_address", &self.signup_max_per_address)
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "<redacted>"))
            .field("request_head_timeout", &self.request_head_timeout)
            .field("max_connections", &self.max_connections)
            .field("max_in_flight_requests", &self.max_in_flight_requests)
            .field("ws_max_sockets", &self.ws_max_sockets)
            .field("ws_max_subscriptions", &self.ws_max_subscriptions)
            .field("ws_init_timeout", &self.ws_init_timeout)
            .field("ws_revalidate_interval", &self.ws_revalidate_interval)
            .finish()
    }
}

pub const MIN_SECRET_BYTES: usize = 32;
/// docs/API.md §4: a socket that sends no `connection_init` within 10 s closes.
pub const WS_INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// How often an authenticated websocket looks for revocation or deletion:
/// no longer than the token leeway, so a revoked session ends within it.
pub const WS_REVALIDATE_INTERVAL: Duration = Duration::from_secs(5);

impl Settings {
    /// Where traces go, or `None` when `OTEL_EXPORTER_OTLP_ENDPOINT` is unset.
    ///
    /// # Errors
    /// When the endpoint is not an `http://` or `https://` URL.
    pub fn otlp(&self) -> anyhow::Result<Option<crate::telemetry::OtlpConfig>> {
        crate::telemetry::OtlpConfig::from_settings(
            self.otel_exporter_otlp_endpoint.as_deref(),
            Some(&self.otel_service_name),
        )
    }

    /// `DATABASE_URL`, or in development the SQLite default.
    ///
    /// # Errors
    /// In production when it is not set: the message names the two ways to
    /// give storegate a database that outlives the machine.
    pub fn resolved_database_url(&self) -> anyhow::Result<String> {
        match (self.database_url.as_deref().map(str::trim), self.env) {
            (Some(url), _) if !url.is_empty() => Ok(url.to_string()),
            (_, Environment::Development) => Ok(DEFAULT_DATABASE_URL.to_string()),
            (_, Environment::Production) => bail!(
                "DATABASE_URL is not set; production needs either PostgreSQL (`fly postgres attach`, or \
                 `fly secrets set DATABASE_URL=postgres://USER:PASSWORD@HOST:5432/DB`) or a SQLite file on a \
                 writable volume, for a single Machine (`fly volumes create storegate_data`, add \
                 `[mounts] source = \"storegate_data\" destination = \"/data\"` to fly.toml, and \
                 `fly secrets set DATABASE_URL=sqlite:///data/storegate.db?mode=rwc`)"
            ),
        }
    }
}

impl Config {
    /// # Errors
    /// Fails in production when `DATABASE_URL` is missing, when `JWT_SECRET`
    /// is missing or shorter than 32 bytes (HS256), when the Ed25519 key is
    /// missing (EdDSA); always when a key file cannot be read or holds no
    /// key; in development when the generated secret or key cannot be kept.
    pub fn from_settings(settings: Settings) -> anyhow::Result<Self> {
        let database_url = settings.resolved_database_url()?;
        let jwt_keys = match settings.jwt_algorithm {
            JwtAlgorithm::Hs256 => JwtKeys::Hs256(hs256_secret(&settings, &database_url)?),
            JwtAlgorithm::EdDsa => ed25519_keys(&settings, &database_url)?,
        };
        let cors_allowed_origins = CorsOrigins::parse(settings.cors_allowed_origins.as_deref(), settings.env);
        if cors_allowed_origins == CorsOrigins::Any && settings.cors_allow_credentials {
            bail!(
                "CORS_ALLOWED_ORIGINS=* cannot be combined with CORS_ALLOW_CREDENTIALS=true (browsers refuse \
                 credentials for a wildcard origin); list the origins, e.g. \
                 CORS_ALLOWED_ORIGINS=https://app.example.com"
            );
        }
        if settings.access_token_ttl.is_zero() || settings.refresh_token_ttl.is_zero() {
            bail!("ACCESS_TOKEN_TTL and REFRESH_TOKEN_TTL must be longer than zero");
        }
        let trusted_client_ip_header = match settings.trusted_client_ip_header.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(name) => Some(axum::http::HeaderName::try_from(name).map_err(|_| {
                anyhow::anyhow!(
                    "TRUSTED_CLIENT_IP_HEADER is not a header name: {name:?} (e.g. Fly-Client-IP)"
                )
            })?),
        };
        let metrics_token = settings.metrics_token.filter(|token| !token.trim().is_empty());
        Ok(Self {
            env: settings.env,
            database_url,
            database_max_connections: settings.database_max_connections,
            jwt_keys,
            host: settings.host,
            port: settings.port,
            access_token_ttl: settings.access_token_ttl,
            refresh_token_ttl: settings.refresh_token_ttl,
            redis_url: settings.redis_url.filter(|url| !url.trim().is_empty()),
            login_max_failures: settings.login_max_failures,
            graphql_introspection: settings
                .graphql_introspection
                .unwrap_or(settings.env == Environment::Development),
            graphiql_assets: settings.graphiql_assets,
            cors_allowed_origins,
            cors_allow_credentials: settings.cors_allow_credentials,
            request_timeout: settings.request_timeout,
            shutdown_grace: settings.shutdown_grace,
            trusted_client_ip_header,
            signup_max_per_address: settings.signup_max_per_address,
            metrics_token,
            request_head_timeout: settings.request_head_timeout,
            max_connections: settings.max_connections,
            max_in_flight_requests: settings.max_in_flight_requests,
            ws_max_sockets: settings.ws_max_sockets,
            ws_max_subscriptions: settings.ws_max_subscriptions,
            ws_init_timeout: WS_INIT_TIMEOUT,
            ws_revalidate_interval: WS_REVALIDATE_INTERVAL,
        })
    }

    /// A configuration for tests and tools: the given database, a fixed
    /// secret, default lifetimes.
    pub fn for_database(database_url: impl Into<String>, jwt_secret: impl Into<Vec<u8>>) -> Self {
        Self {
            env: Environment::Development,
            database_url: database_url.into(),
            database_max_connections: None,
            jwt_keys: JwtKeys::Hs256(jwt_secret.into()),
            host: "127.0.0.1".into(),
            port: 0,
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            redis_url: None,
            login_max_failures: crate::domain::throttle::DEFAULT_MAX_FAILURES_PER_EMAIL,
            graphql_introspection: true,
            graphiql_assets: PathBuf::from("assets/graphiql"),
            cors_allowed_origins: CorsOrigins::Any,
            cors_allow_credentials: false,
            request_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(20),
            trusted_client_ip_header: None,
            signup_max_per_address: 20,
            metrics_token: None,
            request_head_timeout: Duration::from_secs(30),
            max_connections: 4096,
            max_in_flight_requests: 1024,
            ws_max_sockets: 1024,
            ws_max_subscriptions: 32,
            ws_init_timeout: WS_INIT_TIMEOUT,
            ws_revalidate_interval: WS_REVALIDATE_INTERVAL,
        }
    }
}

/// The HS256 secret: `JWT_SECRET`, or in development one kept in a file.
fn hs256_secret(settings: &Settings, database_url: &str) -> anyhow::Result<Vec<u8>> {
    for (variable, set) in [
        ("JWT_PRIVATE_KEY_FILE", settings.jwt_private_key_file.is_some()),
        ("JWT_PREVIOUS_PUBLIC_KEY_FILE", settings.jwt_previous_public_key_file.is_some()),
    ] {
        if set {
            bail!(
                "{variable} is set but JWT_ALGORITHM is HS256; set JWT_ALGORITHM=EdDSA to sign with Ed25519 keys, or unset {variable}"
            );
        }
    }
    Ok(match (settings.jwt_secret.clone(), settings.env) {
        (Some(secret), _) if secret.len() >= MIN_SECRET_BYTES => secret.into_bytes(),
        (Some(_), Environment::Production) => bail!(
            "JWT_SECRET is shorter than {MIN_SECRET_BYTES} bytes; set it to a random string, \
                 e.g. `openssl rand -base64 48`"
        ),
        (None, Environment::Production) => bail!(
            "JWT_SECRET is not set; production needs a random secret of at least \
                 {MIN_SECRET_BYTES} bytes, e.g. `openssl rand -base64 48`"
        ),
        (Some(secret), Environment::Development) => {
            tracing::warn!("JWT_SECRET is shorter than {MIN_SECRET_BYTES} bytes; fine for development only");
            secret.into_bytes()
        }
        (None, Environment::Development) => {
            let path = beside_database(database_url, "jwt-secret");
            let secret = load_or_create_dev_secret(&path)?;
            tracing::warn!(
                path = %path.display(),
                "JWT_SECRET is not set; using a development secret kept in a file (never do this in production)"
            );
            secret
        }
    })
}

/// The Ed25519 keys: `JWT_PRIVATE_KEY_FILE` (in development, a key kept
/// beside the database when unset) and `JWT_PREVIOUS_PUBLIC_KEY_FILE`.
fn ed25519_keys(settings: &Settings, database_url: &str) -> anyhow::Result<JwtKeys> {
    let current = match (&settings.jwt_private_key_file, settings.env) {
        (Some(path), _) => read_key(path, "JWT_PRIVATE_KEY_FILE", Ed25519PrivateKey::from_pem)?,
        (None, Environment::Production) => bail!(
            "JWT_ALGORITHM=EdDSA needs JWT_PRIVATE_KEY_FILE, the path of an Ed25519 private key in PKCS#8 PEM; \
             make one with `openssl genpkey -algorithm ed25519 -out jwt-ed25519.pem`"
        ),
        (None, Environment::Development) => {
            let path = beside_database(database_url, "jwt-ed25519.pem");
            let key = load_or_create_dev_key(&path)?;
            tracing::warn!(
                path = %path.display(),
                "JWT_PRIVATE_KEY_FILE is not set; using a development key kept in a file (never do this in production)"
            );
            key
        }
    };
    let previous = settings
        .jwt_previous_public_key_file
        .as_deref()
        .map(|path| read_key(path, "JWT_PREVIOUS_PUBLIC_KEY_FILE", Ed25519PublicKey::from_pem))
        .transpose()?;
    Ok(JwtKeys::EdDsa { current, previous })
}

/// Reads the key in the file `variable` names; the error says which file
/// and why, never the file's contents.
fn read_key<K>(
    path: &Path,
    variable: &str,
    parse: impl Fn(&str) -> Result<K, KeyError>,
) -> anyhow::Result<K> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow!("{variable}={} cannot be read: {e}", path.display()))?;
    parse(&text).map_err(|e| anyhow!("{variable}={} is {e}", path.display()))
}

/// Development files live beside the SQLite file (`storegate.db.jwt-secret`),
/// or in the working directory for other databases
/// (`.storegate-jwt-secret`).
fn beside_database(database_url: &str, suffix: &str) -> PathBuf {
    match sqlite_path(database_url) {
        Some(db) => {
            let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
            name.push(format!(".{suffix}"));
            db.with_file_name(name)
        }
        None => PathBuf::from(format!(".storegate-{suffix}")),
    }
}

/// The file path of a `sqlite:` URL, if it names one.
pub fn sqlite_path(database_url: &str) -> Option<PathBuf> {
    let rest = database_url.strip_prefix("sqlite:")?;
    let rest = rest.trim_start_matches("//");
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    Some(PathBuf::from(path))
}

fn load_or_create_dev_secret(path: &Path) -> anyhow::Result<Vec<u8>> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        let existing = existing.trim();
        if existing.len() >= MIN_SECRET_BYTES {
            return Ok(existing.as_bytes().to_vec());
        }
    }
    let random: [u8; 48] = rand::random();
    let secret = base64::engine::general_purpose::STANDARD.encode(random);
    write_private(path, &secret)
        .with_context(|| format!("could not write the development JWT secret to {}", path.display()))?;
    Ok(secret.into_bytes())
}

fn load_or_create_dev_key(path: &Path) -> anyhow::Result<Ed25519PrivateKey> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        return Ed25519PrivateKey::from_pem(&existing).map_err(|e| {
            anyhow!("the development key {} is {e}; delete the file to make a new key", path.display())
        });
    }
    let key = Ed25519PrivateKey::generate();
    write_private(path, &key.to_pem()?)
        .with_context(|| format!("could not write the development Ed25519 key to {}", path.display()))?;
    Ok(key)
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file =
        std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    file.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

/// Hides the password of a database URL for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}://{user}:***@{}", &url[..scheme_end], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths_are_read_from_urls() {
        assert_eq!(sqlite_path("sqlite://storegate.db?mode=rwc"), Some(PathBuf::from("storegate.db")));
        assert_eq!(sqlite_path("sqlite:///tmp/x.db"), Some(PathBuf::from("/tmp/x.db")));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://u@h/db"), None);
    }

    #[test]
    fn the_pool_size_is_read_from_the_environment_and_must_be_1_to_1000() {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            settings: Settings,
        }
        let parse = |value: &str| {
            <Cli as clap::Parser>::try_parse_from(["storegate", "--database-max-connections", value])
                .map(|cli| cli.settings.database_max_connections)
        };
        assert_eq!(parse("6").unwrap(), Some(6));
        assert!(parse("0").is_err());
        assert!(parse("1001").is_err());
        assert!(parse("many").is_err());
        let unset = <Cli as clap::Parser>::try_parse_from(["storegate"]).unwrap();
        assert_eq!(unset.settings.database_max_connections, None);
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact_url("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact_url("sqlite://storegate.db"), "sqlite://storegate.db");
    }

    fn settings(env: Environment, secret: Option<&str>) -> Settings {
        Settings {
            database_url: Some("sqlite::memory:".into()),
            database_max_connections: None,
            env,
            jwt_secret: secret.map(str::to_string),
            jwt_algorithm: JwtAlgorithm::Hs256,
            jwt_private_key_file: None,
            jwt_previous_public_key_file: None,
            host: "127.0.0.1".into(),
            port: 0,
            access_token_ttl: Duration::from_secs(60),
            refresh_token_ttl: Duration::from_secs(600),
            redis_url: None,
            login_max_failures: 5,
            graphql_introspection: None,
            graphiql_assets: PathBuf::from("assets/graphiql"),
            cors_allowed_origins: None,
            cors_allow_credentials: false,
            request_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(20),
            trusted_client_ip_header: None,
            signup_max_per_address: 20,
            metrics_token: None,
            request_head_timeout: Duration::from_secs(30),
            max_connections: 4096,
            max_in_flight_requests: 1024,
            ws_max_sockets: 1024,
            ws_max_subscriptions: 32,
            otel_exporter_otlp_endpoint: None,
            otel_service_name: "storegate".into(),
        }
    }

    /// docs/API.md §8: without an endpoint nothing is exported.
    #[test]
    fn traces_are_exported_only_to_a_usable_endpoint() {
        let mut settings = settings(Environment::Production, None);
        assert_eq!(settings.otlp().unwrap(), None);
        settings.otel_exporter_otlp_endpoint = Some("http://collector:4318".into());
        let otlp = settings.otlp().unwrap().unwrap();
        assert_eq!(
            (otlp.traces_url().as_str(), otlp.service_name.as_str()),
            ("http://collector:4318/v1/traces", "storegate")
        );
        settings.otel_exporter_otlp_endpoint = Some("collector:4318".into());
        let error = format!("{:#}", settings.otlp().unwrap_err());
        assert!(
            error.starts_with("OTEL_EXPORTER_OTLP_ENDPOINT is not an http:// or https:// URL"),
            "{error}"
        );
    }

    #[test]
    fn production_refuses_missing_or_short_secrets() {
        let missing = Config::from_settings(settings(Environment::Production, None)).unwrap_err();
        assert!(missing.to_string().contains("JWT_SECRET is not set"));
        let short = Config::from_settings(settings(Environment::Production, Some("short"))).unwrap_err();
        assert!(short.to_string().contains("shorter than 32 bytes"));
        let long = "x".repeat(32);
        assert!(Config::from_settings(settings(Environment::Production, Some(&long))).is_ok());
    }

    #[test]
    fn wildcard_cors_with_credentials_is_refused() {
        let mut wildcard = settings(Environment::Production, Some(&"x".repeat(32)));
        wildcard.cors_allowed_origins = Some("*".into());
        wildcard.cors_allow_credentials = true;
        let error = Config::from_settings(wildcard).unwrap_err().to_string();
        assert!(error.contains("CORS_ALLOWED_ORIGINS"), "{error}");
        let mut listed = settings(Environment::Production, Some(&"x".repeat(32)));
        listed.cors_allowed_origins = Some("https://a.example, https://b.example/".into());
        listed.cors_allow_credentials = true;
        let config = Config::from_settings(listed).unwrap();
        assert_eq!(
            config.cors_allowed_origins,
            CorsOrigins::List(vec!["https://a.example".into(), "https://b.example".into()])
        );
        let production =
            Config::from_settings(settings(Environment::Production, Some(&"x".repeat(32)))).unwrap();
        assert_eq!(
            production.cors_allowed_origins,
            CorsOrigins::List(vec![]),
            "production allows no origin by default"
        );
    }

    #[test]
    fn debug_output_never_shows_the_secret() {
        let config =
            Config::for_database("postgres://u:pw@h/db", b"super-secret-value-that-is-long-enough".to_vec());
        let printed = format!("{config:?}");
        assert!(!printed.contains("super-secret"));
        assert!(!printed.contains(":pw@"));
    }

    fn eddsa(env: Environment, database_url: &str, key: Option<&Path>, previous: Option<&Path>) -> Settings {
        let mut settings = settings(env, None);
        settings.database_url = Some(database_url.into());
        settings.jwt_algorithm = JwtAlgorithm::EdDsa;
        settings.jwt_private_key_file = key.map(Path::to_path_buf);
        settings.jwt_previous_public_key_file = previous.map(Path::to_path_buf);
        settings
    }

    fn refusal(settings: Settings) -> String {
        Config::from_settings(settings).err().map(|e| format!("{e:#}")).unwrap_or_default()
    }

    #[test]
    fn production_needs_a_database_url() {
        let mut unset = settings(Environment::Production, Some(&"x".repeat(32)));
        unset.database_url = None;
        let error = refusal(unset.clone());
        assert!(error.starts_with("DATABASE_URL is not set"), "{error}");
        assert!(error.contains("postgres://") && error.contains("[mounts]"), "{error}");
        unset.database_url = Some("  ".into());
        assert!(refusal(unset).starts_with("DATABASE_URL is not set"));
        let mut development = settings(Environment::Development, Some(&"x".repeat(32)));
        development.database_url = None;
        assert_eq!(development.resolved_database_url().unwrap(), DEFAULT_DATABASE_URL);
    }

    #[test]
    fn eddsa_reads_its_keys_from_files() {
        let dir = tempfile::tempdir().unwrap();
        let (current, old) = (Ed25519PrivateKey::generate(), Ed25519PrivateKey::generate());
        let key_file = dir.path().join("current.pem");
        let previous_file = dir.path().join("previous.pub.pem");
        std::fs::write(&key_file, current.to_pem().unwrap()).unwrap();
        std::fs::write(&previous_file, old.public().to_pem().unwrap()).unwrap();
        let config = Config::from_settings(eddsa(
            Environment::Production,
            "postgres://u@h/db",
            Some(&key_file),
            Some(&previous_file),
        ))
        .unwrap();
        let JwtKeys::EdDsa { current: loaded, previous } = &config.jwt_keys else {
            panic!("EdDSA keys: {:?}", config.jwt_keys)
        };
        assert_eq!(loaded.public(), current.public());
        assert_eq!(*previous, Some(old.public()));
        // No JWT_SECRET was needed.
        assert!(!format!("{config:?}").contains(&current.to_pem().unwrap()[30..60]));
    }

    #[test]
    fn eddsa_refuses_missing_unreadable_and_wrong_keys() {
        let dir = tempfile::tempdir().unwrap();
        let url = "postgres://u@h/db";
        let missing = refusal(eddsa(Environment::Production, url, None, None));
        assert!(missing.contains("JWT_PRIVATE_KEY_FILE") && missing.contains("openssl genpkey"), "{missing}");

        let nowhere = dir.path().join("nowhere.pem");
        let unreadable = refusal(eddsa(Environment::Production, url, Some(&nowhere), None));
        assert!(unreadable.starts_with("JWT_PRIVATE_KEY_FILE="), "{unreadable}");
        assert!(unreadable.contains("cannot be read"), "{unreadable}");
        // In development too: a named file must be there.
        assert!(
            refusal(eddsa(Environment::Development, url, Some(&nowhere), None)).contains("cannot be read")
        );

        let public_only = dir.path().join("public.pem");
        std::fs::write(&public_only, Ed25519PrivateKey::generate().public().to_pem().unwrap()).unwrap();
        let wrong = refusal(eddsa(Environment::Production, url, Some(&public_only), None));
        assert!(wrong.contains("not an Ed25519 private key"), "{wrong}");
        assert!(!wrong.contains("MCow"), "the file's contents stay out of the message: {wrong}");

        let key_file = dir.path().join("key.pem");
        std::fs::write(&key_file, Ed25519PrivateKey::generate().to_pem().unwrap()).unwrap();
        let previous_private = refusal(eddsa(Environment::Production, url, Some(&key_file), Some(&key_file)));
        assert!(previous_private.starts_with("JWT_PREVIOUS_PUBLIC_KEY_FILE="), "{previous_private}");
        assert!(previous_private.contains("not an Ed25519 public key"), "{previous_private}");
    }

    #[test]
    fn key_files_without_eddsa_are_refused() {
        let mut settings = settings(Environment::Production, Some(&"x".repeat(32)));
        settings.jwt_private_key_file = Some(PathBuf::from("/run/secrets/jwt.pem"));
        let error = refusal(settings);
        assert!(error.contains("JWT_ALGORITHM=EdDSA"), "{error}");
    }

    #[test]
    fn development_keeps_a_generated_key_beside_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("dev.db").display());
        let first = Config::from_settings(eddsa(Environment::Development, &url, None, None)).unwrap();
        let path = dir.path().join("dev.db.jwt-ed25519.pem");
        assert!(path.is_file(), "the key is kept at {}", path.display());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let second = Config::from_settings(eddsa(Environment::Development, &url, None, None)).unwrap();
        let kid = |config: &Config| match &config.jwt_keys {
            JwtKeys::EdDsa { current, .. } => current.public().kid(),
            JwtKeys::Hs256(_) => panic!("EdDSA expected"),
        };
        assert_eq!(kid(&first), kid(&second), "a restart keeps the key, and so the sessions");
        std::fs::write(&path, "garbage").unwrap();
        let error = refusal(eddsa(Environment::Development, &url, None, None));
        assert!(error.contains("delete the file"), "{error}");
    }
}
