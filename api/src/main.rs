//! The `missionlink` binary: `migrate`, `serve`, `worker`, `all`, `audit`, `demo`, `operator`.

use anyhow::Context;
use clap::{Parser, Subcommand};
use missionlink_api::auth::operators;
use missionlink_api::config::{Config, EmailTransport, variables_help};
use missionlink_api::db::Databases;
use missionlink_api::error::ApiError;
use missionlink_api::http::Server;
use missionlink_api::state::AppState;
use missionlink_migration::Migrate as _;
use missionlink_workflows::email::Mailer;
use missionlink_workflows::mission::SettlementSettings;
use missionlink_workflows::worker::{self, WorkerDeps};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
#[command(name = "missionlink", version, about = "Mission donations for live streaming", after_help = variables_help())]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply both databases' migrations, then exit.
    #[command(after_help = variables_help())]
    Migrate,
    /// Run the GraphQL/HTTP API only.
    #[command(after_help = variables_help())]
    Serve,
    /// Run the Temporal worker (workflows, activities) only.
    #[command(after_help = variables_help())]
    Worker,
    /// Migrate, then run the API and the worker in one process.
    #[command(after_help = variables_help())]
    All,
    /// Check the money invariants over the whole missions database. Exit 0 = clean, 1 = violation.
    #[command(after_help = variables_help())]
    Audit,
    /// Seed a running instance through its GraphQL API: a streamer, two viewers with cash and a
    /// mission in every state; print their handles, ids, tokens and GraphiQL headers.
    Demo {
        /// The instance's GraphQL endpoint; by default http://<HTTP_ADDR>/graphql.
        #[arg(long)]
        url: Option<String>,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
        /// How long to wait for the worker to expire and settle the missions that end.
        #[arg(long, default_value_t = 120)]
        wait_seconds: u64,
    },
    /// Manage operator accounts (the users database; run `missionlink migrate` first).
    Operator {
        #[command(subcommand)]
        command: OperatorCommand,
    },
}

#[derive(Subcommand)]
enum OperatorCommand {
    /// Create an operator account with a generated password, printed once (only its hash is
    /// stored). Prints id, email, handle and password. An email that already is an operator's
    /// prints that it exists, with no new password (exit 0); one that belongs to a viewer or
    /// streamer is refused (exit 1: operators are separate accounts, a role never changes); an
    /// invalid email, handle or display name exits 2.
    #[command(after_help = variables_help())]
    Create {
        /// The operator's email, checked as `register` checks it.
        email: String,
        /// Default: operator_<8 random hex digits>.
        #[arg(long)]
        handle: Option<String>,
        /// Default: the handle.
        #[arg(long)]
        display_name: Option<String>,
        /// Print one JSON object instead of `key: value` lines.
        #[arg(long)]
        json: bool,
    },
    /// Suspend a user, recorded as the acting operator's action exactly as `suspendUser` does
    /// (a streamer's open missions and waiting payouts are cancelled). The only way to suspend
    /// an operator: the API refuses it. Exit 0 suspended, 1 refused (no such user or operator),
    /// 2 invalid input.
    #[command(after_help = variables_help())]
    Suspend {
        /// The email of the user to suspend.
        email: String,
        /// The email of the operator who acts (recorded with the action).
        #[arg(long = "as")]
        acting: String,
        /// Why (required, at most 1,000 characters; recorded).
        #[arg(long)]
        note: String,
        /// When the suspension ends (RFC 3339); by default, until lifted.
        #[arg(long)]
        until: Option<chrono::DateTime<chrono::Utc>>,
    },
}

fn main() -> ExitCode {
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("missionlink: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Inside the runtime: the OTLP exporter's HTTP client wants one at build time.
    let tracing = runtime.block_on(async {
        missionlink_telemetry::tracing::init("info,sqlx=warn,temporalio_sdk_core=warn")
    });
    let _tracing = match tracing {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("missionlink: cannot set up logging and tracing: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("missionlink: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<ExitCode> {
    // A client of the running instance: it needs only where the API listens.
    if let Command::Demo {
        url,
        json,
        wait_seconds,
    } = command
    {
        return demo(url, json, wait_seconds).await;
    }
    let config = Config::from_env().context("configuration")?;
    let connect = || Databases::connect(&config.users_database_url, &config.missions_database_url);
    match command {
        Command::Migrate => {
            connect().await?.migrate().await?;
            println!("migrations applied to both databases");
        }
        Command::Audit => return audit(&connect().await?).await,
        Command::Operator {
            command:
                OperatorCommand::Create {
                    email,
                    handle,
                    display_name,
                    json,
                },
        } => {
            let new = operators::NewOperator {
                email,
                handle,
                display_name,
            };
            return operator_create(&config, new, json).await;
        }
        Command::Operator {
            command:
                OperatorCommand::Suspend {
                    email,
                    acting,
                    note,
                    until,
                },
        } => return operator_suspend(&connect().await?, &email, &acting, &note, until).await,
        Command::Serve => serve(config.clone(), connect().await?).await?,
        Command::Worker => {
            let db = connect().await?;
            let deps = worker_deps(&config, &db).await;
            // The API serves this registry in `serve` and `all`; a standalone worker serves it here.
            let serve_metrics = missionlink_telemetry::metrics::serve(
                config.worker_metrics_addr,
                db.users.clone(),
                db.missions.clone(),
                shutdown_signal(),
            );
            let metrics = tokio::spawn(async move {
                if let Err(e) = serve_metrics.await {
                    tracing::error!(error = %format!("{e:#}"), "worker metrics endpoint failed");
                }
            });
            worker::run(&config.temporal, deps, shutdown_signal()).await?;
            metrics.abort();
        }
        Command::All => {
            let db = connect().await?;
            db.migrate().await?;
            let deps = worker_deps(&config, &db).await;
            let api = tokio::spawn(serve(config.clone(), db));
            let worker = worker::run(&config.temporal, deps, shutdown_signal());
            tokio::select! {
                result = api => result.context("API task")??,
                result = worker => result?,
            }
        }
        Command::Demo { .. } => unreachable!("handled before the configuration is read"),
    }
    Ok(ExitCode::SUCCESS)
}

async fn worker_deps(config: &Config, db: &Databases) -> WorkerDeps {
    let mailer = match config.email.transport {
        EmailTransport::File => Mailer::file(&config.email.outbox_dir, &config.email.from),
        EmailTransport::Ses => Mailer::ses(&config.email.from, config.email.max_per_second)
            .await
            .with_send_timeout(std::time::Duration::from_secs(
                config.email.send_timeout_seconds,
            )),
    };
    WorkerDeps {
        audit_interval: std::time::Duration::from_secs(config.audit_interval_seconds),
        event_retention: std::time::Duration::from_secs(config.event_retention_hours * 3600),
        sdk_metrics_addr: config.temporal_metrics_addr,
        missions_db: db.missions.clone(),
        users_db: db.users.clone(),
        mailer: Arc::new(mailer),
        settlement: SettlementSettings {
            fee_bps: config.missions.platform_fee_bps,
            page_size: config.missions.settlement_page_size,
            email_page_size: config.email.page_size,
        },
        payouts: config.payouts.worker(),
        topups: config.topups.worker(),
        dispute_sla: std::time::Duration::from_secs(config.missions.dispute_sla_seconds),
    }
}

async fn serve(config: Config, db: Databases) -> anyhow::Result<()> {
    let addr = config.http_addr;
    let state = AppState::new(config, db)?;
    let server = Server::bind(state, addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    let bound = server.local_addr()?;
    tracing::info!("GraphQL API on http://{bound}/graphql");
    server.run(shutdown_signal()).await
}

/// `missionlink demo`: seeds the instance at `url` (by default the one `HTTP_ADDR` names).
async fn demo(url: Option<String>, json: bool, wait_seconds: u64) -> anyhow::Result<ExitCode> {
    let endpoint = match url {
        Some(url) => url,
        None => {
            let raw = std::env::var("HTTP_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".into());
            let addr = raw
                .parse()
                .with_context(|| format!("HTTP_ADDR {raw:?} is not host:port"))?;
            local_endpoint(addr)
        }
    };
    let wait = std::time::Duration::from_secs(wait_seconds);
    let demo = missionlink_api::demo::run(&endpoint, wait).await?;
    if json {
        println!("{}", demo.to_json());
    } else {
        print!("{}", demo.to_text());
    }
    Ok(ExitCode::SUCCESS)
}

/// The GraphQL endpoint of the API listening on `addr` (on loopback when it listens on every
/// address).
fn local_endpoint(addr: std::net::SocketAddr) -> String {
    let host = if addr.ip().is_unspecified() {
        std::net::IpAddr::from([127, 0, 0, 1])
    } else {
        addr.ip()
    };
    format!(
        "http://{}/graphql",
        std::net::SocketAddr::new(host, addr.port())
    )
}

/// `missionlink operator create`: exit 0 created or already an operator, 1 refused (the email is
/// a viewer's or streamer's), 2 invalid input.
async fn operator_create(
    config: &Config,
    new: operators::NewOperator,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let users = missionlink_api::db::connect(&config.users_database_url)
        .await
        .context("users database")?;
    // Like `serve`, this uses the schema `missionlink migrate` made; it says so rather than
    // failing on a missing column or CHECK.
    let pending = missionlink_migration::users::Migrator::get_pending_migrations(&users)
        .await
        .context("reading the users database's migrations")?;
    if !pending.is_empty() {
        eprintln!(
            "missionlink: the users database is not migrated: run `missionlink migrate` first"
        );
        return Ok(ExitCode::FAILURE);
    }
    match operators::create(&users, new).await {
        Ok(created) => {
            if json {
                println!("{}", created.to_json());
            } else {
                print!("{}", created.to_text());
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => refused(e),
    }
}

/// An operator command's refusal: exit 2 for invalid input, 1 for any other refusal (both
/// printed); an internal error is returned.
fn refused(e: ApiError) -> anyhow::Result<ExitCode> {
    match e {
        ApiError::Internal(e) => Err(e),
        e => {
            eprintln!("missionlink: {}", e.client_message());
            Ok(if matches!(e, ApiError::BadUserInput(_)) {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

/// `missionlink operator suspend`: the API's suspension, for any user, operators included.
async fn operator_suspend(
    db: &Databases,
    email: &str,
    acting: &str,
    note: &str,
    until: Option<chrono::DateTime<chrono::Utc>>,
) -> anyhow::Result<ExitCode> {
    let by_email = |email: &str| {
        let email = email.trim().to_lowercase();
        async move {
            missionlink_entities::users::user::Entity::find()
                .filter(missionlink_entities::users::user::Column::Email.eq(email))
                .one(&db.users)
                .await
        }
    };
    let Some(operator) = by_email(acting)
        .await?
        .filter(|u| u.role == missionlink_api::auth::Role::Operator.as_str())
    else {
        eprintln!("missionlink: --as must name an operator's email");
        return Ok(ExitCode::FAILURE);
    };
    let Some(target) = by_email(email).await? else {
        eprintln!("missionlink: no user has that email");
        return Ok(ExitCode::FAILURE);
    };
    let acting = match missionlink_ledger::operator::Acting::new(&operator.id, note) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("missionlink: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let done = match missionlink_api::suspend::may_suspend(&acting, &target, true) {
        Ok(()) => {
            missionlink_api::suspend::suspend(&db.users, &db.missions, &acting, &target, until)
                .await
        }
        Err(e) => Err(e),
    };
    match done {
        Ok(done) => {
            println!(
                "suspended {} until {} (action {}); {} mission(s) and {} payout(s) cancelled",
                target.email,
                until.map_or_else(|| "lifted".to_owned(), |u| u.to_rfc3339()),
                done.action.id,
                done.missions.len(),
                done.payouts.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => refused(e),
    }
}

async fn audit(db: &Databases) -> anyhow::Result<ExitCode> {
    let violations = missionlink_ledger::audit::run(&db.missions).await?;
    if violations.is_empty() {
        println!("audit clean: every money invariant holds");
        return Ok(ExitCode::SUCCESS);
    }
    for v in &violations {
        println!("VIOLATION {v}");
    }
    println!("audit failed: {} violation(s)", violations.len());
    Ok(ExitCode::from(1))
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
