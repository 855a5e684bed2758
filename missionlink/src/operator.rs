//! `missionlink operator`: operator accounts (`create`) and the one way to suspend an operator
//! (`suspend`).

use anyhow::Context;
use missionlink_api::db::Databases;
use missionlink_api::error::ApiError;
use missionlink_config::Config;
use missionlink_identity::IdentityError;
use missionlink_identity::operators;
use missionlink_migration::Migrate as _;
use std::process::ExitCode;

/// `missionlink operator create`: exit 0 created or already an operator, 1 refused (the email is
/// a viewer's or streamer's), 2 invalid input.
pub async fn create(
    config: &Config,
    new: operators::NewOperator,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let users = missionlink_api::db::connect(&config.databases.users_url)
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

/// An operator command's refusal, read as the API reads it: exit 2 for invalid input, 1 for any
/// other refusal (both printed); an internal error (a database's, the ledger's) is returned.
fn refused(e: IdentityError) -> anyhow::Result<ExitCode> {
    match ApiError::from(e) {
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
pub async fn suspend(
    db: &Databases,
    email: &str,
    acting: &str,
    note: &str,
    until: Option<chrono::DateTime<chrono::Utc>>,
) -> anyhow::Result<ExitCode> {
    let by_email = |email| missionlink_identity::users::by_email(&db.users, email);
    let Some(operator) = by_email(acting)
        .await?
        .filter(|u| u.role == missionlink_identity::Role::Operator)
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
    let done = match missionlink_identity::suspend::may_suspend(&acting, &target, true) {
        Ok(()) => {
            missionlink_identity::suspend::suspend(&db.users, &db.missions, &acting, &target, until)
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
