//! Start-up refusals of the real binary: each is one line on stderr that
//! names what to set, and a non-zero status; never a backtrace, never the
//! `Error: ` debug dump a `main` returning `Result` prints.

use std::path::Path;
use std::process::{Command, Output};

use clap::CommandFactory;

const STOREGATE: &str = env!("CARGO_BIN_EXE_storegate");
const SECRET: &str = "startup-test-secret-of-at-least-32-bytes";

#[derive(clap::Parser)]
struct SettingsOnly {
    #[command(flatten)]
    settings: storegate::config::Settings,
}

/// Runs `storegate serve` in production with only `env` set among the
/// variables storegate reads (the test's own environment may hold some),
/// in an empty directory (no `.env`), asking for backtraces.
fn serve_in_production(env: &[(&str, &str)], cwd: &Path) -> Output {
    let mut command = Command::new(STOREGATE);
    for arg in SettingsOnly::command().get_arguments() {
        if let Some(name) = arg.get_env() {
            command.env_remove(name);
        }
    }
    command
        .env("STOREGATE_ENV", "production")
        .env("RUST_LOG", "info")
        .env("RUST_BACKTRACE", "1")
        .env("RUST_LIB_BACKTRACE", "1")
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .envs(env.iter().copied())
        .current_dir(cwd)
        .arg("serve");
    command.output().expect("the storegate binary runs")
}

/// Asserts a refusal: failure status, and stderr one line that mentions
/// every one of `names`. Returns the line.
#[track_caller]
fn assert_refused(output: &Output, names: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "storegate started: {stderr}");
    assert_ne!(output.status.code(), None, "storegate was killed, not refused: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr, got:\n{stderr}");
    let line = lines[0];
    assert!(!stderr.contains("stack backtrace") && !stderr.contains("Stack backtrace"), "{stderr}");
    assert!(!line.starts_with("Error: ") && !line.contains("Caused by"), "a debug dump: {line}");
    assert!(line.starts_with("storegate: "), "{line}");
    for name in names {
        assert!(line.contains(name), "the refusal names {name}: {line}");
    }
    assert!(output.stdout.is_empty(), "nothing on stdout: {}", String::from_utf8_lossy(&output.stdout));
    line.to_string()
}

#[test]
fn production_without_database_url_names_the_variable_and_both_choices() {
    let dir = tempfile::tempdir().unwrap();
    let output = serve_in_production(&[("JWT_SECRET", SECRET)], dir.path());
    let line = assert_refused(&output, &["DATABASE_URL", "PostgreSQL", "postgres://", "SQLite", "[mounts]"]);
    assert!(line.contains(r#"destination = "/data""#), "the fly.toml lines to add: {line}");
    // Nothing was created in the working directory (no stray SQLite file).
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// A refusal: what it is, the environment, what its line must name.
type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, Vec<&'a str>);

#[test]
fn every_refusal_is_one_line_that_says_what_to_set() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}?mode=rwc", dir.path().join("s.db").display());
    let missing_key = dir.path().join("missing.pem");
    let not_a_key = dir.path().join("not-a-key.pem");
    std::fs::write(&not_a_key, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").unwrap();
    let (missing_key, not_a_key) = (missing_key.display().to_string(), not_a_key.display().to_string());
    let cases: Vec<Case> = vec![
        ("no JWT_SECRET", vec![("DATABASE_URL", &sqlite)], vec!["JWT_SECRET"]),
        (
            "short JWT_SECRET",
            vec![("DATABASE_URL", &sqlite), ("JWT_SECRET", "short")],
            vec!["JWT_SECRET", "32"],
        ),
        (
            "EdDSA without a key",
            vec![("DATABASE_URL", &sqlite), ("JWT_ALGORITHM", "EdDSA")],
            vec!["JWT_PRIVATE_KEY_FILE", "openssl genpkey"],
        ),
        (
            "EdDSA with a missing key file",
            vec![
                ("DATABASE_URL", &sqlite),
                ("JWT_ALGORITHM", "EdDSA"),
                ("JWT_PRIVATE_KEY_FILE", &missing_key),
            ],
            vec!["JWT_PRIVATE_KEY_FILE", "cannot be read"],
        ),
        (
            "EdDSA with a file that is no key",
            vec![("DATABASE_URL", &sqlite), ("JWT_ALGORITHM", "EdDSA"), ("JWT_PRIVATE_KEY_FILE", &not_a_key)],
            vec!["JWT_PRIVATE_KEY_FILE", "PKCS#8"],
        ),
        (
            "an unknown algorithm",
            vec![("DATABASE_URL", &sqlite), ("JWT_SECRET", SECRET), ("JWT_ALGORITHM", "RS256")],
            vec!["RS256", "EdDSA"],
        ),
        (
            "an unreachable database",
            vec![
                ("DATABASE_URL", "postgres://storegate:hunter2@127.0.0.1:1/storegate"),
                ("JWT_SECRET", SECRET),
            ],
            vec!["could not open the database", "127.0.0.1:1"],
        ),
        (
            "an OTLP endpoint that is no URL",
            vec![
                ("DATABASE_URL", &sqlite),
                ("JWT_SECRET", SECRET),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "otel:hunter2@collector:4318"),
            ],
            vec!["OTEL_EXPORTER_OTLP_ENDPOINT", "***@collector:4318", "http://localhost:4318"],
        ),
        (
            "an OTLP endpoint of another scheme",
            vec![
                ("DATABASE_URL", &sqlite),
                ("JWT_SECRET", SECRET),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "grpc://otel:hunter2@collector:4317"),
            ],
            vec!["OTEL_EXPORTER_OTLP_ENDPOINT", "grpc://otel:***@collector:4317"],
        ),
    ];
    for (case, env, names) in &cases {
        let output = serve_in_production(env, dir.path());
        let line = assert_refused(&output, names);
        assert!(!line.contains("hunter2"), "{case}: the password stays out: {line}");
        assert!(!line.contains(SECRET), "{case}: the secret stays out: {line}");
    }
}
