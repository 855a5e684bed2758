//! The prediction game: free points staked on SUCCESS or FAILURE of an accepted mission,
//! paid out parimutuel (winners share the whole pool in proportion to their stakes).
//!
//! Points only, never cash: bets move points from the bettor's POINTS wallet into the
//! prediction's POINTS pool and back, and the transfers' (account, currency) foreign keys make
//! any other path impossible. `game` opens, locks and sums a prediction, `bet` places bets,
//! `payout` is the arithmetic, `settle` pays a decided prediction out page by page. `daily` is
//! the points' other source beside the signup grant: a claim a day. `streamer` is the streamers'
//! own predictions (2 to 10 outcomes), paid by the same `book`; `boards` ranks the bettors.

mod bet;
pub mod boards;
mod book;
pub mod daily;
pub(crate) mod game;
mod payout;
mod settle;
pub mod streamer;

pub use bet::place_bet;
pub use book::PredictionPage;
pub use game::{MAX_POINTS_PER_USER, Pools, lock, lock_at, pools};
pub use payout::{Shares, parimutuel};
pub use settle::{SettlementPlan, finish, plan, settle_page};
