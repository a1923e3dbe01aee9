//! The `storegate` command line (docs/API.md §1). Everything it does lives in
//! the library; this file only parses arguments and dispatches.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::error::ErrorKind;
use clap::{Parser, Subcommand};
use migration::{Migrator, MigratorTrait};
use storegate::config::{Config, Settings, redact_url};
use storegate::telemetry::{self, Traces};
use storegate::{db, domain, graphql, server};

#[derive(Parser)]
#[command(name = "storegate", version, about = "One set of data, two faces: REST and GraphQL.")]
struct Cli {
    #[command(flatten)]
    settings: Settings,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve REST and GraphQL (the default).
    Serve,
    /// Run the database migrations only.
    Migrate {
        #[arg(value_enum, default_value = "up")]
        action: MigrateAction,
    },
    /// Print a schema of the public contract.
    Schema {
        #[arg(value_enum)]
        kind: SchemaKind,
    },
    /// Load demo data (factories, products, stores, items); idempotent.
    SeedDemo {
        /// How many demo products to have (for benchmarks on a larger table).
        #[arg(long, value_name = "PRODUCTS", default_value_t = domain::demo::PRODUCTS,
              value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
        scale: u32,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum MigrateAction {
    Up,
    Down,
    Status,
    Fresh,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum SchemaKind {
    Graphql,
    Openapi,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Give a user the admin role (effective at their next login).
    GrantAdmin { email: String },
}

/// The allocator. GraphQL answers are built from many small values (one
/// map per object, one string per name), and glibc's malloc took a third
/// of the CPU of a 100-product page (perf, BENCHMARKS.md). Built without
/// transparent huge pages, which raised RSS by about 20 MiB. It keeps a
/// freed argon2 block (19 MiB) for reuse: a login storm leaves the server
/// near 50 MiB (`bench/login-rss.sh`), bounded by the hashing semaphore.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A refusal (bad configuration, a missing key, an unreachable database)
/// is one line on stderr and a non-zero status: no `Error: ` debug dump,
/// no backtrace, something an operator can act on.
fn main() -> ExitCode {
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|runtime| runtime.block_on(run()));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            refuse(&format!("{error:#}"));
            ExitCode::FAILURE
        }
    }
}

/// Prints `message` on one line of stderr.
fn refuse(message: &str) {
    let line = message.split_whitespace().collect::<Vec<_>>().join(" ");
    let _ = writeln!(std::io::stderr(), "storegate: {line}");
}

/// The command line and environment; a value clap refuses (an unknown
/// `JWT_ALGORITHM`, a port that is not a number) is a one-line refusal
/// with status 2 like clap's own, while `--help` and mistakes in the
/// command itself get clap's usual help.
fn parse_cli() -> Cli {
    match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) if matches!(error.kind(), ErrorKind::InvalidValue | ErrorKind::ValueValidation) => {
            let rendered = error.render().to_string();
            let message: Vec<&str> = rendered
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty() && !line.starts_with("For more information"))
                .collect();
            refuse(message.join(" ").trim_start_matches("error: "));
            std::process::exit(2)
        }
        Err(error) => error.exit(),
    }
}

async fn run() -> anyhow::Result<()> {
    dotenvy::dotenv().ok();
    let cli = parse_cli();
    // Refused before anything starts, like any other bad setting.
    let otlp = cli.settings.otlp()?;
    let traces = otlp.as_ref().map(Traces::start).transpose()?;
    telemetry::init_subscriber(cli.settings.env, traces.as_ref());
    if let Some(otlp) = &otlp {
        tracing::info!(endpoint = %redact_url(&otlp.endpoint), service = %otlp.service_name, "exporting traces over OTLP");
    }
    let result = command(cli).await;
    if let Some(traces) = traces {
        traces.shutdown().await;
    }
    result
}

async fn command(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => server::serve(Config::from_settings(cli.settings)?).await,
        Command::Schema { kind: SchemaKind::Graphql } => {
            print!("{}", graphql::sdl());
            Ok(())
        }
        Command::Schema { kind: SchemaKind::Openapi } => {
            print!("{}", storegate::openapi::to_json());
            Ok(())
        }
        Command::Migrate { action } => {
            let connection = open(&cli.settings.resolved_database_url()?).await?;
            match action {
                MigrateAction::Up => Migrator::up(&connection, None).await?,
                MigrateAction::Down => Migrator::down(&connection, Some(1)).await?,
                MigrateAction::Status => Migrator::status(&connection).await?,
                MigrateAction::Fresh => Migrator::fresh(&connection).await?,
            }
            Ok(())
        }
        Command::SeedDemo { scale } => {
            let connection = open(&cli.settings.resolved_database_url()?).await?;
            db::migrate(&connection).await?;
            let seeded = domain::demo::seed_scaled(&connection, scale)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.detail()))?;
            println!(
                "seeded {} factories, {} products, {} stores, {} items (existing demo rows kept)",
                seeded.factories, seeded.products, seeded.stores, seeded.items
            );
            Ok(())
        }
        Command::User { command: UserCommand::GrantAdmin { email } } => {
            let connection = open(&cli.settings.resolved_database_url()?).await?;
            db::migrate(&connection).await?;
            let user = domain::users::grant_admin(&connection, &email)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.detail()))?;
            println!("{} now has the roles {:?}", user.email, user.roles);
            Ok(())
        }
    }
}

async fn open(url: &str) -> anyhow::Result<sea_orm::DatabaseConnection> {
    db::connect(url).await.with_context(|| format!("could not open the database at {}", redact_url(url)))
}
