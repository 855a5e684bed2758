//! The `missionlink` binary, the composition root: the command line, and one module per
//! subcommand (`migrate`, `serve`, `worker`, `all`, `audit`, `demo`, `operator`), each wiring
//! the library crates together: `missionlink-config` (the configuration, cut into each crate's
//! settings), `missionlink-api` (HTTP and GraphQL), `missionlink-workflows`
//! (the Temporal worker), `missionlink-ledger` (the money database) and
//! `missionlink-migration`. Nothing here holds a rule of its own.

mod audit;
mod demo;
mod operator;
mod serve;
mod shutdown;
mod worker;

use anyhow::Context;
use clap::{Parser, Subcommand};
use missionlink_api::db::Databases;
use missionlink_config::{Config, variables_help};
use std::process::ExitCode;

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
    /// Check the money invariants over the whole missions database (never creating one).
    /// Exit 0 = clean, 1 = violation, 2 = no database to audit, 3 = the audit could not run.
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
    // The audit's own codes tell a violation (1) from an audit that could not run (3).
    let auditing = matches!(cli.command, Command::Audit);
    match runtime.block_on(run(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("missionlink: {e:#}");
            if auditing {
                ExitCode::from(audit::FAILED)
            } else {
                ExitCode::FAILURE
            }
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
        return demo::run(url, json, wait_seconds).await;
    }
    let config = Config::from_env().context("configuration")?;
    let connect =
        || Databases::connect(&config.databases.users_url, &config.databases.missions_url);
    match command {
        Command::Migrate => {
            connect().await?.migrate().await?;
            println!("migrations applied to both databases");
        }
        Command::Audit => return Ok(audit::run(&config.databases.missions_url).await),
        Command::Operator {
            command:
                OperatorCommand::Create {
                    email,
                    handle,
                    display_name,
                    json,
                },
        } => {
            let new = missionlink_identity::operators::NewOperator {
                email,
                handle,
                display_name,
            };
            return operator::create(&config, new, json).await;
        }
        Command::Operator {
            command:
                OperatorCommand::Suspend {
                    email,
                    acting,
                    note,
                    until,
                },
        } => {
            return operator::suspend(&connect().await?, &email, &acting, &note, until).await;
        }
        Command::Serve => serve::run(config.clone(), connect().await?).await?,
        Command::Worker => worker::run(&config, &connect().await?).await?,
        Command::All => {
            let db = connect().await?;
            db.migrate().await?;
            let deps = worker::deps(&config, &db).await;
            let api = tokio::spawn(serve::run(config.clone(), db));
            let worker =
                missionlink_workflows::worker::run(&config.temporal, deps, shutdown::signal());
            tokio::select! {
                result = api => result.context("API task")??,
                result = worker => result?,
            }
        }
        Command::Demo { .. } => unreachable!("handled before the configuration is read"),
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    /// clap's own checks of the command line: names, flags and help are consistent.
    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }
}
