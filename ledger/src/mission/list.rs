//! The lists of missions, pledges and bets the API pages through: what each is filtered by
//! and the orders it can be read in (keyset pages: [`crate::listing`]).

use crate::listing::{Order, SortKind};
use crate::status::{MessageStatus, MissionStatus, PledgeStatus};
use missionlink_entities::missions::{bet, mission, pledge};
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Select};

/// What missions are sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MissionSort {
    /// Creation time (ids are time-ordered UUIDv7).
    Created,
    /// The next time limit: the accept window while PENDING, the deadline once accepted.
    Deadline,
    /// Won pledged so far.
    Total,
}

/// Which missions a list holds; every given filter applies.
#[derive(Clone, Debug, Default)]
pub struct MissionFilter {
    pub streamer_id: Option<String>,
    pub creator_id: Option<String>,
    /// Any of these statuses; all when empty.
    pub statuses: Vec<MissionStatus>,
}

/// The missions `filter` selects (unordered: [`mission_order`] orders them).
pub fn missions(filter: &MissionFilter) -> Select<mission::Entity> {
    let mut select = mission::Entity::find();
    if let Some(streamer) = &filter.streamer_id {
        select = select.filter(mission::Column::StreamerId.eq(streamer.as_str()));
    }
    if let Some(creator) = &filter.creator_id {
        select = select.filter(mission::Column::CreatorId.eq(creator.as_str()));
    }
    if !filter.statuses.is_empty() {
        select = select.filter(mission::Column::Status.is_in(filter.statuses.iter().copied()));
    }
    select
}

/// Missions in `sort`, ties broken by id.
pub fn mission_order(sort_by: MissionSort, descending: bool) -> Order {
    let col = |c: mission::Column| Expr::col((mission::Entity, c));
    let sort = match sort_by {
        MissionSort::Created => None,
        MissionSort::Deadline => Some((
            Func::coalesce([
                col(mission::Column::Deadline),
                col(mission::Column::AcceptBy),
            ])
            .into(),
            SortKind::Time,
        )),
        // Summed at read time: the hot-mission rule keeps pledges from updating a shared total
        // (BRIEF §5), and `pledges_mission` makes each sum an index range.
        MissionSort::Total => Some((
            Expr::cust(
                "(SELECT CAST(COALESCE(SUM(pledges.amount), 0) AS BIGINT) FROM pledges \
                 WHERE pledges.mission_id = missions.id)",
            ),
            SortKind::Int,
        )),
    };
    Order {
        tag: match sort_by {
            MissionSort::Created => "missions:created",
            MissionSort::Deadline => "missions:deadline",
            MissionSort::Total => "missions:total",
        },
        sort,
        id: col(mission::Column::Id),
        descending,
    }
}

/// Pledges of one mission, or of one backer (optionally in one status).
pub fn pledges(
    mission_id: Option<&str>,
    backer_id: Option<&str>,
    status: Option<PledgeStatus>,
) -> Select<pledge::Entity> {
    let mut select = pledge::Entity::find();
    if let Some(mission) = mission_id {
        select = select.filter(pledge::Column::MissionId.eq(mission));
    }
    if let Some(backer) = backer_id {
        select = select.filter(pledge::Column::BackerId.eq(backer));
    }
    if let Some(status) = status {
        select = select.filter(pledge::Column::Status.eq(status));
    }
    select
}

/// Pledges whose messages wait for approval on `streamer_id`'s missions.
pub fn pending_messages(streamer_id: &str) -> Select<pledge::Entity> {
    use sea_orm::{QuerySelect, QueryTrait};
    let missions = mission::Entity::find()
        .select_only()
        .column(mission::Column::Id)
        .filter(mission::Column::StreamerId.eq(streamer_id))
        .into_query();
    // A pledge withdrawn while its message waited has nothing left to show.
    pledge::Entity::find()
        .filter(pledge::Column::MessageStatus.eq(MessageStatus::Pending))
        .filter(pledge::Column::Status.ne(PledgeStatus::Withdrawn))
        .filter(pledge::Column::MissionId.in_subquery(missions))
}

/// Pledges by id: creation order.
pub fn pledge_order(descending: bool) -> Order {
    Order {
        tag: "pledges:created",
        sort: None,
        id: Expr::col((pledge::Entity, pledge::Column::Id)),
        descending,
    }
}

/// One user's bets.
pub fn bets(bettor_id: &str) -> Select<bet::Entity> {
    bet::Entity::find().filter(bet::Column::BettorId.eq(bettor_id))
}

/// Bets by id: creation order.
pub fn bet_order(descending: bool) -> Order {
    Order {
        tag: "bets:created",
        sort: None,
        id: Expr::col((bet::Entity, bet::Column::Id)),
        descending,
    }
}
