//! Missions: creation with the first pledge, the streamer's transitions and expiry,
//! settlement, and the read models. What a mission may be is [`crate::rules`]; the gate that
//! orders pledges and bets against transitions is `crate::gate`.
//!
//! The mission row's `status` is the truth every process agrees on. Each transition is one
//! conditional `UPDATE ... WHERE status = <expected>`, so of two racing transitions (an accept
//! and the accept window's expiry, a verdict and the deadline) exactly one wins and the other
//! sees the winner. The workflow drives time (timers) and settlement; it reads this state
//! rather than keeping its own. Pledges after the first go through [`crate::batch`].

mod create;
pub mod goal;
pub mod list;
pub mod objection;
mod read;
mod settlement;
pub mod tiered;
pub(crate) mod transition;
pub mod withdraw;

pub use crate::rules::{
    Evidence, GoalRules, MAX_ACCEPT_SECONDS, MAX_DESCRIPTION_CHARS, MAX_EVIDENCE_CHARS,
    MAX_GOAL_TIERS, MAX_TITLE_CHARS, MissionRules, NewMission,
};
pub use create::create;
pub use goal::{NewGoal, NewTier, create_goal, tiers};
pub(crate) use read::add_to_totals;
pub use read::{
    BackerTotal, Holdings, Net, Outflows, Totals, backers_page, find, holdings, holdings_of, net,
    outflows, outflows_of, totals, totals_of, workflow_id,
};
pub use settlement::{SettledPage, fee_of, mark_notified, mark_settled, settle_page};
pub use transition::{MAX_REASON_CHARS, StreamerAction, act, expire};
