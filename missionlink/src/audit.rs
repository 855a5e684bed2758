//! `missionlink audit`: the money invariants over the whole missions database.

use missionlink_api::db::Databases;
use std::process::ExitCode;

/// Exit 0 clean; 1 with every violation printed.
pub async fn run(db: &Databases) -> anyhow::Result<ExitCode> {
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
