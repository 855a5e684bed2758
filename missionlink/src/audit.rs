//! `missionlink audit`: the money invariants over the whole missions database. It opens only a
//! database that is there (never creating one, wherever it is run from), says what it read and
//! which checks it made, and exits with a code a script can tell apart:
//!
//! - [`CLEAN`] (0): every invariant holds;
//! - [`VIOLATED`] (1): at least one does not, each violation printed;
//! - [`NO_DATABASE`] (2): there is no missions database to audit (no such SQLite file, a server
//!   that does not answer or has no such database, or one without MissionLink's tables);
//! - [`FAILED`] (3): the audit could not finish (its configuration, or an error reading).

use std::process::ExitCode;

pub const CLEAN: u8 = 0;
pub const VIOLATED: u8 = 1;
pub const NO_DATABASE: u8 = 2;
pub const FAILED: u8 = 3;

/// Audits the missions database at `missions_url`.
pub async fn run(missions_url: &str) -> ExitCode {
    let shown = missionlink_api::db::redact(missions_url);
    let db = match missionlink_api::db::connect_existing(missions_url).await {
        Ok(Some(db)) => db,
        Ok(None) => {
            eprintln!(
                "missionlink audit: no missions database at {shown} (MISSIONS_DATABASE_URL; \
                 relative to the directory it is run from: scripts/audit audits scripts/run's)"
            );
            return ExitCode::from(NO_DATABASE);
        }
        Err(e) => {
            eprintln!("missionlink audit: cannot open the missions database: {e:#}");
            return ExitCode::from(NO_DATABASE);
        }
    };
    let counts = match missionlink_ledger::audit::counts(&db).await {
        Ok(counts) => counts,
        Err(e) => {
            eprintln!(
                "missionlink audit: {shown} is not a migrated MissionLink missions database \
                 (run `missionlink migrate`): {e}"
            );
            return ExitCode::from(NO_DATABASE);
        }
    };
    let read: Vec<String> = counts
        .iter()
        .map(|(name, n)| format!("{n} {name}"))
        .collect();
    println!("audited {shown}: {}", read.join(", "));
    println!(
        "checks ({}): {}",
        missionlink_ledger::audit::CHECKS.len(),
        missionlink_ledger::audit::CHECKS.join(", ")
    );
    let violations = match missionlink_ledger::audit::run(&db).await {
        Ok(v) => v,
        Err(e) => {
            eprintln!("missionlink audit: the audit could not finish: {e}");
            return ExitCode::from(FAILED);
        }
    };
    if violations.is_empty() {
        println!("audit clean: every money invariant holds");
        return ExitCode::from(CLEAN);
    }
    for v in &violations {
        println!("VIOLATION {v}");
    }
    println!("audit failed: {} violation(s)", violations.len());
    ExitCode::from(VIOLATED)
}
