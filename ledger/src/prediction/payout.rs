//! The parimutuel arithmetic. With a winning side that has stakes, each winner gets
//! `floor(stake × pool ÷ winning pool)`, and the points left over by the flooring go one each to
//! the winners with the largest remainders (`stake × pool mod winning pool`), earliest bet
//! (smallest id) first among equals; losers get 0. With no winner, or nobody on the winning
//! side, everyone gets their stake back. The payouts always sum to the pool exactly.
//!
//! [`parimutuel`] computes that over a list in memory: the definition, and what the tests hold
//! the paged form to. Settlement uses [`Shares`]: a handful of figures computed once in the
//! database (the pool, the winning pool and the last winner who gets a leftover point), from
//! which any bet's payout follows on its own, so bets are paid page by page in bounded memory.

use super::game::MAX_POINTS_PER_USER;
use crate::LedgerError;

/// Parimutuel payouts of `stakes`, given in bet order (earliest first) with their outcomes
/// (a mission's [`Outcome`](crate::status::Outcome), or a streamer prediction's position).
pub fn parimutuel<O: Copy + PartialEq>(stakes: &[(O, i64)], winner: Option<O>) -> Vec<i64> {
    let pool: i128 = stakes.iter().map(|(_, s)| i128::from(*s)).sum();
    let winning: i128 = stakes
        .iter()
        .filter(|(o, _)| Some(*o) == winner)
        .map(|(_, s)| i128::from(*s))
        .sum();
    if winning == 0 {
        return stakes.iter().map(|(_, s)| *s).collect();
    }
    let mut payouts = vec![0_i128; stakes.len()];
    let mut remainders: Vec<(i128, usize)> = Vec::new();
    for (i, (o, s)) in stakes.iter().enumerate() {
        if Some(*o) == winner {
            let exact = i128::from(*s) * pool;
            payouts[i] = exact / winning;
            remainders.push((exact % winning, i));
        }
    }
    let handed_out: i128 = payouts.iter().sum();
    let mut left = pool - handed_out;
    // Largest remainder first; among equals, the earliest bet.
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in remainders {
        if left == 0 {
            break;
        }
        payouts[i] += 1;
        left -= 1;
    }
    payouts
        .into_iter()
        .map(|p| i64::try_from(p).expect("a payout never exceeds the pool of i64 stakes"))
        .collect()
}

/// What every payout of a decided prediction derives from; `O` is what a bet is on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shares<O> {
    /// The outcome that won and has stakes; `None` refunds every bet its stake.
    pub winner: Option<O>,
    /// All points staked.
    pub pool: i64,
    /// Points staked on the winning side (0 when refunded).
    pub winning: i64,
    /// The last winner, in (remainder descending, bet id ascending) order, who gets one of
    /// the points the flooring left over: its remainder and bet id. `None` when none is left.
    pub last_bonus: Option<(i64, String)>,
}

impl<O: Copy + PartialEq> Shares<O> {
    /// Everyone gets their stake back.
    pub fn refund() -> Self {
        Self {
            winner: None,
            pool: 0,
            winning: 0,
            last_bonus: None,
        }
    }

    /// The largest pool whose products `stake × pool` fit in an i64, so the database computes
    /// remainders exactly on every backend.
    pub const MAX_POOL: i64 = MAX_POOL;

    /// `stake × pool mod winning`, the remainder that ranks winners for leftover points.
    pub fn remainder(&self, stake: i64) -> i64 {
        let exact = i128::from(stake) * i128::from(self.pool);
        i64::try_from(exact % i128::from(self.winning.max(1)))
            .expect("a remainder is below the winning pool")
    }

    /// The payout of one bet.
    pub fn payout(&self, outcome: O, stake: i64, bet_id: &str) -> i64 {
        let Some(winner) = self.winner else {
            return stake;
        };
        if outcome != winner {
            return 0;
        }
        assert!(
            self.winning > 0,
            "a winning side without stakes pays nobody"
        );
        let floor = i128::from(stake) * i128::from(self.pool) / i128::from(self.winning);
        let floor = i64::try_from(floor).expect("a payout never exceeds the pool");
        let bonus = match &self.last_bonus {
            Some((last_remainder, last_id)) => {
                let r = self.remainder(stake);
                r > *last_remainder || (r == *last_remainder && bet_id <= last_id.as_str())
            }
            None => false,
        };
        floor + i64::from(bonus)
    }
}

/// The largest pool whose products `stake × pool` fit in an i64 (see [`Shares::MAX_POOL`]).
const MAX_POOL: i64 = i64::MAX / MAX_POINTS_PER_USER;

/// Checks that a pool can be settled exactly.
pub(super) fn ensure_settleable(pool: i64) -> Result<(), LedgerError> {
    if (0..=MAX_POOL).contains(&pool) {
        Ok(())
    } else {
        Err(LedgerError::InvalidAmount(format!(
            "a prediction pool of {pool} points is beyond {MAX_POOL} and cannot be settled exactly"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Outcome;
    use proptest::prelude::*;

    const S: Outcome = Outcome::Success;
    const F: Outcome = Outcome::Failure;

    #[test]
    fn a_worked_example() {
        // Pool 1,000: 300 + 100 on SUCCESS, 600 on FAILURE; SUCCESS wins.
        // 300 × 1000 / 400 = 750, 100 × 1000 / 400 = 250.
        assert_eq!(
            parimutuel(&[(S, 300), (F, 600), (S, 100)], Some(S)),
            vec![750, 0, 250]
        );
        // Pool 10 over three equal winners: 3.33 each, the leftover point to the earliest.
        assert_eq!(
            parimutuel(&[(S, 3), (S, 3), (S, 3), (F, 1)], Some(S)),
            vec![4, 3, 3, 0]
        );
    }

    #[test]
    fn nobody_on_the_winning_side_or_no_verdict_refunds_everyone() {
        assert_eq!(parimutuel(&[(F, 5), (F, 7)], Some(S)), vec![5, 7]);
        assert_eq!(parimutuel(&[(S, 5), (F, 7)], None), vec![5, 7]);
        assert_eq!(parimutuel(&[], Some(S)), Vec::<i64>::new());
    }

    /// The shares of `stakes` as settlement computes them in the database, here in memory:
    /// bet ids are zero-padded positions, so id order is bet order.
    fn shares_of(stakes: &[(Outcome, i64)], winner: Option<Outcome>) -> Shares<Outcome> {
        let pool: i64 = stakes.iter().map(|(_, s)| s).sum();
        let winning: i64 = stakes
            .iter()
            .filter(|(o, _)| Some(*o) == winner)
            .map(|(_, s)| s)
            .sum();
        let Some(winner) = winner.filter(|_| winning > 0) else {
            return Shares::refund();
        };
        let mut shares = Shares {
            winner: Some(winner),
            pool,
            winning,
            last_bonus: None,
        };
        let floors: i64 = stakes
            .iter()
            .filter(|(o, _)| *o == winner)
            .map(|(_, s)| s * pool / winning)
            .sum();
        let left = usize::try_from(pool - floors).expect("left over");
        let mut ranked: Vec<(i64, String)> = stakes
            .iter()
            .enumerate()
            .filter(|(_, (o, _))| *o == winner)
            .map(|(i, (_, s))| (shares.remainder(*s), format!("{i:06}")))
            .collect();
        ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        shares.last_bonus = left.checked_sub(1).map(|at| ranked[at].clone());
        shares
    }

    fn side() -> impl Strategy<Value = Outcome> {
        prop_oneof![Just(S), Just(F)]
    }

    proptest! {
        #[test]
        fn payouts_sum_to_the_pool_and_respect_each_share(
            stakes in prop::collection::vec((side(), 1_i64..=MAX_POINTS_PER_USER), 0..300),
            winner in prop::option::of(side()),
        ) {
            let payouts = parimutuel(&stakes, winner);
            let pool: i64 = stakes.iter().map(|(_, s)| s).sum();
            prop_assert_eq!(payouts.iter().sum::<i64>(), pool);
            let winning: i64 = stakes.iter().filter(|(o, _)| Some(*o) == winner).map(|(_, s)| s).sum();
            for ((o, s), p) in stakes.iter().zip(&payouts) {
                if winning == 0 {
                    prop_assert_eq!(p, s);
                } else if Some(*o) == winner {
                    let floor = i128::from(*s) * i128::from(pool) / i128::from(winning);
                    prop_assert!(i128::from(*p) >= floor);
                    prop_assert!(i128::from(*p) <= floor + 1);
                } else {
                    prop_assert_eq!(*p, 0);
                }
            }
            prop_assert_eq!(parimutuel(&stakes, winner), payouts);
        }

        #[test]
        fn each_bet_on_its_own_gets_what_the_whole_list_gives_it(
            stakes in prop::collection::vec((side(), 1_i64..=40), 0..300),
            winner in prop::option::of(side()),
        ) {
            // Small stakes make equal remainders common, so the tie-break is exercised.
            let shares = shares_of(&stakes, winner);
            let one_by_one: Vec<i64> = stakes
                .iter()
                .enumerate()
                .map(|(i, (o, s))| shares.payout(*o, *s, &format!("{i:06}")))
                .collect();
            prop_assert_eq!(one_by_one, parimutuel(&stakes, winner));
        }
    }
}
