//! `docker build` and `fly deploy` cannot run here, so this checks the
//! deployment files instead: the Dockerfile and fly.toml parse, agree with
//! each other (port, production mode, release command, health check) and
//! agree with the code (the CLI accepts the commands they run, the router
//! answers the health check, every env var they set is one storegate reads).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use clap::CommandFactory;
use http_body_util::BodyExt;
use migration::MigratorTrait;
use tower::ServiceExt;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const STOREGATE: &str = env!("CARGO_BIN_EXE_storegate");

fn repo_file(name: &str) -> PathBuf {
    Path::new(ROOT).join(name)
}

fn read(name: &str) -> String {
    std::fs::read_to_string(repo_file(name)).unwrap_or_else(|e| panic!("cannot read {name}: {e}"))
}

// ---- fly.toml ---------------------------------------------------------------

fn fly() -> toml::Table {
    read("fly.toml").parse::<toml::Table>().unwrap_or_else(|e| panic!("fly.toml is not valid TOML: {e}"))
}

fn table<'a>(parent: &'a toml::Table, key: &str) -> &'a toml::Table {
    parent.get(key).and_then(toml::Value::as_table).unwrap_or_else(|| panic!("fly.toml has no [{key}] table"))
}

fn string<'a>(parent: &'a toml::Table, key: &str) -> &'a str {
    parent
        .get(key)
        .and_then(toml::Value::as_str)
        .unwrap_or_else(|| panic!("fly.toml: `{key}` is not a string"))
}

fn fly_env() -> BTreeMap<String, String> {
    table(&fly(), "env")
        .iter()
        .map(|(k, v)| {
            let v = v.as_str().unwrap_or_else(|| panic!("fly.toml [env] {k} must be a string"));
            (k.clone(), v.to_string())
        })
        .collect()
}

/// The health checks under `[[http_service.checks]]`.
fn fly_checks() -> Vec<toml::Table> {
    let fly = fly();
    let checks = table(&fly, "http_service")
        .get("checks")
        .and_then(toml::Value::as_array)
        .expect("fly.toml has [[http_service.checks]]");
    checks.iter().map(|c| c.as_table().expect("a check is a table").clone()).collect()
}

// ---- Dockerfile -------------------------------------------------------------

#[derive(Debug, Clone)]
struct Instruction {
    keyword: String,
    args: String,
}

#[derive(Debug)]
struct Stage {
    image: String,
    name: Option<String>,
    instructions: Vec<Instruction>,
}

impl Stage {
    fn all(&self, keyword: &str) -> impl Iterator<Item = &Instruction> {
        self.instructions.iter().filter(move |i| i.keyword == keyword)
    }

    fn last(&self, keyword: &str) -> Option<&Instruction> {
        self.all(keyword).last()
    }

    /// Every `ENV` of the stage, later values winning.
    fn env(&self) -> BTreeMap<String, String> {
        self.all("ENV").flat_map(|i| parse_env(&i.args)).collect()
    }

    fn copies(&self) -> impl Iterator<Item = CopyLine> + '_ {
        self.all("COPY").map(|i| parse_copy(&i.args))
    }
}

/// A small Dockerfile reader: comments, line continuations, and the stages
/// that `FROM` starts. Enough for the instructions this repo's file uses.
fn dockerfile() -> Vec<Stage> {
    let text = read("Dockerfile");
    let mut logical = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(part) => {
                current.push_str(part);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                logical.push(std::mem::take(&mut current));
            }
        }
    }
    assert!(current.trim().is_empty(), "the Dockerfile ends inside a line continuation");

    let mut stages: Vec<Stage> = Vec::new();
    for line in logical.iter().filter(|l| !l.trim().is_empty()) {
        let (keyword, args) = line.trim().split_once(char::is_whitespace).unwrap_or((line.trim(), ""));
        let keyword = keyword.to_ascii_uppercase();
        let args = args.trim().to_string();
        if keyword == "FROM" {
            let words: Vec<&str> = args.split_whitespace().filter(|w| !w.starts_with("--")).collect();
            let name = match words.as_slice() {
                [_, as_, name] if as_.eq_ignore_ascii_case("as") => Some(name.to_string()),
                [_] => None,
                _ => panic!("cannot read `FROM {args}`"),
            };
            stages.push(Stage { image: words[0].to_string(), name, instructions: Vec::new() });
        } else {
            let stage = stages.last_mut().unwrap_or_else(|| panic!("`{keyword}` before the first FROM"));
            stage.instructions.push(Instruction { keyword, args });
        }
    }
    assert!(!stages.is_empty(), "the Dockerfile has no FROM");
    stages
}

fn unquote(value: &str) -> String {
    value.trim_matches('"').to_string()
}

/// `ENV A=1 B=2`, or the legacy `ENV A 1`.
fn parse_env(args: &str) -> Vec<(String, String)> {
    let words: Vec<&str> = args.split_whitespace().collect();
    if words.first().is_some_and(|w| w.contains('=')) {
        words
            .iter()
            .map(|w| {
                let (k, v) = w.split_once('=').unwrap_or_else(|| panic!("cannot read `ENV {args}`"));
                (k.to_string(), unquote(v))
            })
            .collect()
    } else {
        let (k, v) =
            args.split_once(char::is_whitespace).unwrap_or_else(|| panic!("cannot read `ENV {args}`"));
        vec![(k.to_string(), unquote(v.trim()))]
    }
}

/// `CMD`/`ENTRYPOINT` in exec (JSON) form; the shell form would put `sh -c`
/// in front and swallow signals, so it is refused.
fn exec_form(keyword: &str, args: &str) -> Vec<String> {
    serde_json::from_str(args)
        .unwrap_or_else(|_| panic!("{keyword} must use the exec form [\"…\"], not `{args}`"))
}

#[derive(Debug)]
struct CopyLine {
    from: Option<String>,
    sources: Vec<String>,
    destination: String,
}

fn parse_copy(args: &str) -> CopyLine {
    let mut from = None;
    let mut paths = Vec::new();
    for word in args.split_whitespace() {
        match word.strip_prefix("--") {
            Some(flag) => {
                if let Some(stage) = flag.strip_prefix("from=") {
                    from = Some(stage.to_string());
                }
            }
            None => paths.push(word.to_string()),
        }
    }
    let destination = paths.pop().unwrap_or_else(|| panic!("cannot read `COPY {args}`"));
    assert!(!paths.is_empty(), "`COPY {args}` has no source");
    CopyLine { from, sources: paths, destination }
}

fn runtime_stage(stages: &[Stage]) -> &Stage {
    stages.last().expect("a stage")
}

// ---- storegate's own view -----------------------------------------------------

/// storegate's settings as a clap command, to read their defaults and env
/// names without going through the environment.
#[derive(clap::Parser)]
struct SettingsOnly {
    #[command(flatten)]
    settings: storegate::config::Settings,
}

fn setting_default(id: &str) -> String {
    let command = SettingsOnly::command();
    let arg = command.get_arguments().find(|a| a.get_id() == id).unwrap_or_else(|| panic!("no setting {id}"));
    let defaults = arg.get_default_values();
    assert_eq!(defaults.len(), 1, "setting {id} has one default");
    defaults[0].to_string_lossy().into_owned()
}

/// Every variable storegate reads: its settings' env names, and `RUST_LOG`.
fn known_env_vars() -> Vec<String> {
    let mut names: Vec<String> = SettingsOnly::command()
        .get_arguments()
        .filter_map(|a| a.get_env())
        .map(|e| e.to_string_lossy().into_owned())
        .collect();
    names.push("RUST_LOG".into());
    names
}

/// Runs the built binary the way the image would: the Dockerfile's and
/// fly.toml's environment, a scratch SQLite database, no .env file.
fn run_storegate(args: &[String], database_url: &str, cwd: &Path) -> std::process::Output {
    let mut command = Command::new(STOREGATE);
    for name in known_env_vars() {
        command.env_remove(name);
    }
    command
        .envs(runtime_stage(&dockerfile()).env())
        .envs(fly_env())
        .env("DATABASE_URL", database_url)
        .current_dir(cwd)
        .args(args);
    command.output().expect("the storegate binary runs")
}

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", dir.join("deploy.db").display())
}

// ---- the checks ---------------------------------------------------------------

#[test]
fn the_port_agrees_everywhere() {
    let fly = fly();
    let internal_port = table(&fly, "http_service")
        .get("internal_port")
        .and_then(toml::Value::as_integer)
        .expect("[http_service] internal_port");
    let stages = dockerfile();
    let runtime = runtime_stage(&stages);
    let expose = runtime.last("EXPOSE").expect("the runtime stage EXPOSEs a port").args.clone();
    let expose = expose.trim_end_matches("/tcp");
    let env_port = runtime.env().get("PORT").cloned().expect("the runtime stage sets ENV PORT");
    let default_port = setting_default("port");

    assert_eq!(internal_port.to_string(), expose, "fly.toml internal_port vs Dockerfile EXPOSE");
    assert_eq!(expose, env_port, "Dockerfile EXPOSE vs ENV PORT");
    assert_eq!(env_port, default_port, "Dockerfile ENV PORT vs storegate's default PORT");
    assert_eq!(default_port, "8080", "README and fly.toml document 8080");
    if let Some(port) = fly_env().get("PORT") {
        assert_eq!(port, &env_port, "fly.toml [env] PORT vs Dockerfile ENV PORT");
    }
}

#[test]
fn both_files_run_in_production_mode() {
    let stages = dockerfile();
    assert_eq!(runtime_stage(&stages).env().get("STOREGATE_ENV").map(String::as_str), Some("production"));
    assert_eq!(fly_env().get("STOREGATE_ENV").map(String::as_str), Some("production"));
    // And the value is one the CLI accepts (clap's value enum).
    let parsed = SettingsOnly::command()
        .try_get_matches_from(["storegate", "--env", "production"])
        .map(|_| ())
        .map_err(|e| e.to_string());
    assert_eq!(parsed, Ok(()));
}

/// Behind Fly's proxy the socket's peer is the proxy: the client's address
/// (for throttling) is the header the proxy sets, and storegate takes it.
#[test]
fn fly_names_the_client_address_header() {
    let env = fly_env();
    let header = env.get("TRUSTED_CLIENT_IP_HEADER").map(String::as_str);
    assert_eq!(header, Some("Fly-Client-IP"), "fly.toml [env] sets TRUSTED_CLIENT_IP_HEADER");
    let settings = <SettingsOnly as clap::Parser>::try_parse_from([
        "storegate",
        "--env",
        "production",
        "--jwt-secret",
        "a-production-secret-of-at-least-32-bytes",
        "--database-url",
        "postgres://storegate@db.internal:5432/storegate",
        "--trusted-client-ip-header",
        header.unwrap_or_default(),
    ])
    .expect("the settings parse")
    .settings;
    let config = storegate::config::Config::from_settings(settings).expect("the configuration is accepted");
    assert_eq!(config.trusted_client_ip_header.as_ref().map(|h| h.as_str()), Some("fly-client-ip"));
}

#[test]
fn every_env_var_set_is_one_storegate_reads() {
    let known = known_env_vars();
    let stages = dockerfile();
    let set = runtime_stage(&stages).env().into_keys().chain(fly_env().into_keys());
    for name in set {
        assert!(known.contains(&name), "{name} is set for deployment but storegate never reads it");
    }
    // Secrets belong in `fly secrets`, never in a committed file.
    for secret in ["JWT_SECRET", "DATABASE_URL", "REDIS_URL"] {
        assert!(!fly_env().contains_key(secret), "{secret} must be a Fly secret, not in fly.toml [env]");
        assert!(
            !runtime_stage(&stages).env().contains_key(secret),
            "{secret} must not be baked into the image"
        );
        assert!(
            read("fly.toml").contains(&format!("fly secrets set {secret}=")),
            "fly.toml documents {secret}"
        );
    }
}

#[tokio::test]
async fn the_health_check_is_one_the_router_answers() {
    let checks = fly_checks();
    assert!(!checks.is_empty(), "fly.toml has at least one HTTP check");
    for check in &checks {
        assert_eq!(string(check, "path"), "/healthz");
        assert_eq!(string(check, "method"), "GET");
        let duration = |key: &str| -> Duration {
            humantime::parse_duration(string(check, key))
                .unwrap_or_else(|e| panic!("[[http_service.checks]] {key}: {e}"))
        };
        assert!(duration("timeout") < duration("interval"), "a check's timeout is shorter than its interval");
        let _ = duration("grace_period");
    }

    let dir = tempfile::tempdir().expect("temporary directory");
    let url = sqlite_url(dir.path());
    let connection = storegate::db::connect(&url).await.expect("database opens");
    storegate::db::migrate(&connection).await.expect("migrations run");
    let config =
        storegate::config::Config::for_database(url, b"deploy-test-secret-of-at-least-32-bytes".to_vec());
    let router = storegate::app(storegate::AppState::new(connection, config).expect("state builds"));
    for check in &checks {
        let path = string(check, "path");
        let request =
            Request::builder().method(string(check, "method")).uri(path).body(Body::empty()).unwrap();
        let response = router.clone().oneshot(request).await.expect("the router never fails");
        let status = response.status();
        let body = response.into_body().collect().await.expect("body").to_bytes();
        assert_eq!(status, StatusCode::OK, "GET {path}: {}", String::from_utf8_lossy(&body));
    }
}

#[tokio::test]
async fn the_release_command_migrates_the_database() {
    let fly = fly();
    let release = string(table(&fly, "deploy"), "release_command");
    assert!(!release.contains(['"', '\'']), "keep release_command free of quoting");
    // Fly.io runs the image's ENTRYPOINT with release_command as its CMD.
    let stages = dockerfile();
    let runtime = runtime_stage(&stages);
    let mut argv = runtime.last("ENTRYPOINT").map(|i| exec_form("ENTRYPOINT", &i.args)).unwrap_or_default();
    argv.extend(release.split_whitespace().map(str::to_string));
    assert_eq!(argv, ["storegate", "migrate", "up"], "what the release Machine runs");

    let dir = tempfile::tempdir().expect("temporary directory");
    let url = sqlite_url(dir.path());
    let output = run_storegate(&argv[1..], &url, dir.path());
    assert!(output.status.success(), "`{release}` failed: {}", String::from_utf8_lossy(&output.stderr));

    let connection = storegate::db::connect(&url).await.expect("database opens");
    let pending = migration::Migrator::get_pending_migrations(&connection).await.expect("migration status");
    assert!(pending.is_empty(), "`{release}` left {} migrations pending", pending.len());
}

#[test]
fn the_image_runs_storegate_serve_on_its_path() {
    let stages = dockerfile();
    let runtime = runtime_stage(&stages);
    let mut argv = runtime.last("ENTRYPOINT").map(|i| exec_form("ENTRYPOINT", &i.args)).unwrap_or_default();
    argv.extend(runtime.last("CMD").map(|i| exec_form("CMD", &i.args)).unwrap_or_default());
    assert_eq!(argv, ["storegate", "serve"], "the image's command");

    // `storegate` resolves on PATH to the binary the runtime stage installs.
    assert!(
        runtime.copies().any(|c| c.destination == "/usr/local/bin/storegate"),
        "the runtime stage installs /usr/local/bin/storegate"
    );
    // The CLI accepts the command (checked with --help, which exits 0).
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut args = argv[1..].to_vec();
    args.push("--help".into());
    let output = run_storegate(&args, &sqlite_url(dir.path()), dir.path());
    assert!(
        output.status.success(),
        "{argv:?} is not a valid command: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_runtime_stage_is_small_and_unprivileged() {
    let stages = dockerfile();
    assert!(stages.len() >= 2, "a multi-stage build");
    let runtime = runtime_stage(&stages);
    assert!(runtime.image.contains("slim"), "a slim runtime base, not {}", runtime.image);
    assert!(!runtime.image.starts_with("rust:"), "the runtime stage carries no toolchain");

    let user = runtime.last("USER").expect("the runtime stage sets USER").args.clone();
    let name = user.split(':').next().unwrap_or_default();
    assert!(name != "root" && name != "0" && !name.is_empty(), "the runtime stage runs as root ({user})");

    // GraphiQL's bundles land where GRAPHIQL_ASSETS_DIR says.
    let assets = runtime.env().get("GRAPHIQL_ASSETS_DIR").cloned().expect("ENV GRAPHIQL_ASSETS_DIR");
    assert!(runtime.copies().any(|c| c.destination == assets), "nothing is copied to {assets}");
}

#[test]
fn cargo_builds_are_locked_and_release() {
    let stages = dockerfile();
    let builds: Vec<&Instruction> = stages
        .iter()
        .flat_map(|s| s.all("RUN"))
        .filter(|i| i.args.contains("cargo build") || i.args.contains("cargo install"))
        .collect();
    assert!(!builds.is_empty(), "the Dockerfile builds storegate");
    for build in builds {
        assert!(build.args.contains("--locked"), "`RUN {}` must pass --locked", build.args);
        assert!(build.args.contains("--release"), "`RUN {}` must build --release", build.args);
    }
}

#[test]
fn every_copy_source_exists_and_is_in_the_build_context() {
    let stages = dockerfile();
    let ignored: Vec<String> = read(".dockerignore")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.trim_start_matches('/').trim_end_matches('/').to_string())
        .collect();
    let is_ignored = |path: &str| {
        ignored.iter().any(|pattern| match pattern.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => path == pattern || path.starts_with(&format!("{pattern}/")),
        })
    };
    let stage_names: Vec<&str> = stages.iter().filter_map(|s| s.name.as_deref()).collect();
    for (index, stage) in stages.iter().enumerate() {
        for copy in stage.copies() {
            match &copy.from {
                Some(from) => {
                    // A build artifact: the stage must exist and come earlier.
                    let earlier = stages[..index].iter().any(|s| s.name.as_deref() == Some(from));
                    assert!(earlier, "COPY --from={from}: no earlier stage of that name ({stage_names:?})");
                }
                None => {
                    for source in &copy.sources {
                        let source = source.trim_start_matches("./").trim_end_matches('/');
                        assert!(
                            repo_file(source).exists(),
                            "COPY source {source} does not exist in the repo"
                        );
                        assert!(!is_ignored(source), "COPY source {source} is excluded by .dockerignore");
                    }
                }
            }
        }
    }
}

#[test]
fn the_dependency_cache_covers_every_workspace_member() {
    let manifest = read("Cargo.toml").parse::<toml::Table>().expect("Cargo.toml is TOML");
    let members = manifest
        .get("workspace")
        .and_then(|w| w.get("members"))
        .and_then(toml::Value::as_array)
        .expect("[workspace] members");
    let stages = dockerfile();
    let copied: Vec<String> =
        stages.iter().flat_map(|s| s.copies()).filter(|c| c.from.is_none()).flat_map(|c| c.sources).collect();
    for member in members {
        let member = member.as_str().expect("a member path");
        let (manifest, sources) = match member {
            "." => ("Cargo.toml".to_string(), "src".to_string()),
            m => (format!("{m}/Cargo.toml"), format!("{m}/src")),
        };
        for path in [manifest, sources, "Cargo.lock".to_string()] {
            assert!(copied.contains(&path), "the Dockerfile never copies {path} (workspace member {member})");
        }
    }
}

#[test]
fn scripts_the_image_runs_are_valid_bash() {
    let stages = dockerfile();
    let scripts: Vec<String> = stages
        .iter()
        .flat_map(|s| s.all("RUN"))
        .flat_map(|i| i.args.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .filter(|w| w.ends_with(".sh"))
        .collect();
    assert!(!scripts.is_empty(), "the image fetches GraphiQL's assets with a script");
    for script in scripts {
        assert!(repo_file(&script).is_file(), "{script} does not exist");
        let status = Command::new("bash").arg("-n").arg(repo_file(&script)).status().expect("bash runs");
        assert!(status.success(), "`bash -n {script}` failed");
    }
}

// ---- compose.yaml -------------------------------------------------------------

/// compose.yaml as JSON values (YAML's maps have string keys here).
fn compose() -> serde_json::Value {
    serde_norway::from_str(&read("compose.yaml"))
        .unwrap_or_else(|e| panic!("compose.yaml is not valid YAML: {e}"))
}

fn service<'a>(compose: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    let service = &compose["services"][name];
    assert!(service.is_object(), "compose.yaml has no service {name}");
    service
}

fn text<'a>(value: &'a serde_json::Value, what: &str) -> &'a str {
    value.as_str().unwrap_or_else(|| panic!("compose.yaml: {what} is not a string: {value}"))
}

/// A service's `environment`, in the map or the `KEY=value` list form.
fn compose_env(service: &serde_json::Value) -> BTreeMap<String, String> {
    match &service["environment"] {
        serde_json::Value::Object(map) => map
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Null => String::new(),
                    other => other.to_string(),
                };
                (k.clone(), v)
            })
            .collect(),
        serde_json::Value::Array(list) => list
            .iter()
            .map(|item| {
                let item = text(item, "an environment entry");
                let (k, v) = item.split_once('=').unwrap_or((item, ""));
                (k.to_string(), v.to_string())
            })
            .collect(),
        serde_json::Value::Null => BTreeMap::new(),
        other => panic!("compose.yaml: environment must be a map or a list, not {other}"),
    }
}

/// A health check's command as the shell would run it: `CMD` argv, or
/// `CMD-SHELL` text.
fn health_command(service: &serde_json::Value, name: &str) -> Vec<String> {
    let test = &service["healthcheck"]["test"];
    let argv: Vec<String> = match test {
        serde_json::Value::Array(words) => words.iter().map(|w| text(w, "a test word").to_string()).collect(),
        serde_json::Value::String(shell) => vec!["CMD-SHELL".into(), shell.clone()],
        _ => panic!("compose.yaml: service {name} has no healthcheck test"),
    };
    assert!(matches!(argv[0].as_str(), "CMD" | "CMD-SHELL"), "{name}: healthcheck test starts with CMD");
    argv
}

#[test]
fn compose_builds_the_image_and_publishes_the_cargo_run_port() {
    let compose = compose();
    let storegate = service(&compose, "storegate");
    let build = &storegate["build"];
    let (context, docker_file) = match build {
        serde_json::Value::String(context) => (context.as_str(), "Dockerfile"),
        _ => (text(&build["context"], "build.context"), build["dockerfile"].as_str().unwrap_or("Dockerfile")),
    };
    assert_eq!(context, ".", "storegate is built from this repository");
    assert_eq!(docker_file, "Dockerfile", "from the Dockerfile fly.toml builds");
    assert_eq!(string(table(&fly(), "build"), "dockerfile"), docker_file);
    // The image's own command runs: storegate serve.
    assert!(storegate.get("command").is_none() && storegate.get("entrypoint").is_none());

    let stages = dockerfile();
    let expose =
        runtime_stage(&stages).last("EXPOSE").expect("EXPOSE").args.trim_end_matches("/tcp").to_string();
    let ports: Vec<&str> = storegate["ports"]
        .as_array()
        .expect("storegate publishes ports")
        .iter()
        .map(|p| text(p, "a port"))
        .collect();
    // Host port as `cargo run` listens, container port as the image does.
    let wanted = format!("{}:{expose}", setting_default("port"));
    assert_eq!(ports, [wanted.as_str()], "the same URLs as `cargo run`");
    assert_eq!(compose_env(storegate).get("PORT"), Some(&expose), "PORT inside the container");
}

#[test]
fn compose_configures_storegate_as_the_fly_deploy_does() {
    let compose = compose();
    let storegate = service(&compose, "storegate");
    let env = compose_env(storegate);
    for (name, value) in fly_env() {
        if name == "TRUSTED_CLIENT_IP_HEADER" {
            // Nothing in front of compose sets it: trusting it would let any
            // client choose its address for the throttles.
            assert!(!env.contains_key(&name), "compose.yaml must not set {name}: no proxy sets it there");
        } else {
            assert_eq!(env.get(&name), Some(&value), "compose.yaml {name} vs fly.toml [env]");
        }
    }
    let known = known_env_vars();
    for name in env.keys() {
        assert!(known.contains(name), "compose.yaml sets {name}, which storegate never reads");
    }
    // The secret comes from the caller's environment, required, never
    // written in the file.
    let secret = env.get("JWT_SECRET").expect("compose.yaml passes JWT_SECRET");
    assert!(
        secret.starts_with("${JWT_SECRET:?") && secret.ends_with('}'),
        "JWT_SECRET must be required: {secret}"
    );

    // The database and Redis are the services next to it, with the
    // credentials the PostgreSQL service is created with.
    let postgres = compose_env(service(&compose, "postgres"));
    let database_url = env.get("DATABASE_URL").expect("DATABASE_URL");
    let expected = format!(
        "postgres://{}:{}@postgres:5432/{}",
        postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"], postgres["POSTGRES_DB"]
    );
    assert_eq!(database_url, &expected);
    assert_eq!(env.get("REDIS_URL").map(String::as_str), Some("redis://redis:6379"));
    for name in ["postgres", "redis"] {
        assert_eq!(
            storegate["depends_on"][name]["condition"], "service_healthy",
            "storegate waits for a healthy {name}"
        );
    }

    // Stopping: the signal and the grace fly.toml gives.
    let fly = fly();
    assert_eq!(storegate["stop_signal"].as_str(), Some(string(&fly, "kill_signal")));
    assert_eq!(storegate["stop_grace_period"].as_str(), Some(string(&fly, "kill_timeout")));
}

#[test]
fn compose_services_have_health_checks_and_volumes() {
    let compose = compose();
    let services = compose["services"].as_object().expect("services");
    let mut names: Vec<&str> = services.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["postgres", "redis", "storegate"]);
    for name in names {
        let service = service(&compose, name);
        health_command(service, name);
        let check = &service["healthcheck"];
        let duration = |key: &str| -> Duration {
            humantime::parse_duration(text(&check[key], key)).unwrap_or_else(|e| panic!("{name} {key}: {e}"))
        };
        assert!(duration("timeout") < duration("interval"), "{name}: timeout shorter than interval");
        assert!(check["retries"].as_u64().is_some_and(|r| r >= 1), "{name}: retries");
    }
    assert!(
        health_command(service(&compose, "postgres"), "postgres").iter().any(|w| w.contains("pg_isready"))
    );
    assert!(health_command(service(&compose, "redis"), "redis").iter().any(|w| w.contains("ping")));

    // The data outlives the containers: named volumes, declared.
    let declared = compose["volumes"].as_object().expect("top-level volumes");
    for (name, path) in [("postgres", "/var/lib/postgresql/data"), ("redis", "/data")] {
        let mounts: Vec<&str> = service(&compose, name)["volumes"]
            .as_array()
            .expect("volumes")
            .iter()
            .map(|v| text(v, "a volume"))
            .collect();
        let volume = mounts
            .iter()
            .find_map(|m| m.strip_suffix(&format!(":{path}")))
            .unwrap_or_else(|| panic!("{name} keeps {path} in a volume: {mounts:?}"));
        assert!(declared.contains_key(volume), "volume {volume} is declared");
    }
}

/// storegate's health check, run as Docker would run it, against a real
/// server: it passes while `/healthz` answers 200 and fails once the
/// server is gone. (The slim image has bash, not curl.)
#[tokio::test]
async fn the_compose_health_check_passes_against_a_running_server() {
    let compose = compose();
    let argv = health_command(service(&compose, "storegate"), "storegate");
    assert_eq!(argv[0], "CMD");
    let script = argv.get(3).cloned().unwrap_or_default();
    assert_eq!(argv[1..3], ["bash", "-c"], "a bash script: {argv:?}");
    let fly_path = fly_checks().iter().map(|c| string(c, "path").to_string()).next().expect("a fly check");
    assert!(script.contains(&format!("GET {fly_path} ")), "the path fly.toml checks: {script}");
    let port = setting_default("port");
    let target = format!("/dev/tcp/127.0.0.1/{port}");
    assert!(script.contains(&target), "it asks the port storegate listens on: {script}");

    let dir = tempfile::tempdir().expect("temporary directory");
    let url = sqlite_url(dir.path());
    let connection = storegate::db::connect(&url).await.expect("database opens");
    storegate::db::migrate(&connection).await.expect("migrations run");
    let config =
        storegate::config::Config::for_database(url, b"deploy-test-secret-of-at-least-32-bytes".to_vec());
    let state = storegate::AppState::new(connection, config).expect("state builds");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let bound = listener.local_addr().expect("address").port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(storegate::server::serve_listener(listener, state, async {
        stopped.await.ok();
    }));
    let local = script.replace(&target, &format!("/dev/tcp/127.0.0.1/{bound}"));
    let run = |script: String| async move {
        tokio::process::Command::new("bash")
            .arg("-c")
            .arg(script)
            .stderr(std::process::Stdio::null())
            .status()
            .await
            .expect("bash runs")
            .success()
    };
    assert!(run(local.clone()).await, "the health check fails against a healthy server: {local}");
    stop.send(()).ok();
    server.await.expect("the server stops");
    assert!(!run(local.clone()).await, "the health check passes with no server: {local}");
}
