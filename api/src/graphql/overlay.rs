//! The streamer's OBS overlay in GraphQL: the streamer's link (`myOverlay`,
//! `rotateOverlayToken`), and what the overlay page reads with its token alone (`overlay`, and
//! the `overlayEvents` subscription, which ends as soon as the token is rotated). The tokens
//! themselves are `missionlink_identity::overlay`'s; the page is `http/overlay.rs`.

use super::connection::graphql_int;
use super::connection::{COMPUTED_ORDER_COST, List, PageArgs, list_cost};
use super::context::{caller, state};
use super::events::{Admission, Guard, MissionEvent, follow, readable};
use super::feed_objects::Wanted;
use super::mission::{Mission, MissionOrder, MissionOrderField, OrderDirection, missions_page};
use super::overlay_links::{OverlayLink, OverlaySettings};
use super::status::MissionStatus;
use super::user::User;
use crate::error::{ApiError, GqlResult};
use async_graphql::{ComplexObject, Context, Object, SimpleObject, Subscription};
use futures::{Stream, StreamExt};
use missionlink_identity::overlay::{self, Access};
use missionlink_ledger::events;
use missionlink_ledger::mission::list::MissionFilter;

/// What an overlay shows when it loads: its streamer, their PENDING and ACTIVE missions, and
/// where their event feed stood just before the missions were read.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Overlay {
    pub streamer: User,
    /// The streamer's language, `ko` or `en`: the overlay's.
    pub locale: String,
    /// The streamer's newest event `seq`, read before the missions: follow `overlayEvents` from
    /// here and nothing is missed.
    pub last_seq: i32,
    #[graphql(skip)]
    pub streamer_id: String,
}

/// Most missions one page of `Overlay.missions` holds.
const OVERLAY_MISSIONS: i32 = 50;

#[ComplexObject]
impl Overlay {
    /// The streamer's missions that are not final (PENDING, ACTIVE, and a success VERIFYING or
    /// DISPUTED), the nearest time limit first (the accept window while PENDING, the deadline
    /// once accepted).
    #[graphql(complexity = "list_cost(first, None, child_complexity, COMPUTED_ORDER_COST)")]
    async fn missions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<List<Mission>> {
        let filter = MissionFilter {
            streamer_id: Some(self.streamer_id.clone()),
            ..MissionFilter::default()
        };
        let args = PageArgs {
            first: Some(first.unwrap_or(OVERLAY_MISSIONS)),
            after,
            last: None,
            before: None,
        };
        let order = MissionOrder {
            field: MissionOrderField::Deadline,
            direction: OrderDirection::Asc,
        };
        let open = vec![
            MissionStatus::Funding,
            MissionStatus::Pending,
            MissionStatus::Active,
            MissionStatus::Verifying,
            MissionStatus::Disputed,
        ];
        missions_page(ctx, filter, None, Some(open), Some(order), &args).await
    }

    /// The streamer's prediction of their own that is not paid out yet (betting open, closed,
    /// or being paid), the newest; null when there is none. Its bars are `outcomes`.
    async fn prediction(
        &self,
        ctx: &Context<'_>,
    ) -> GqlResult<Option<super::channel_prediction::ChannelPrediction>> {
        let found = missionlink_ledger::prediction::streamer::current(
            &state(ctx).db.missions,
            &self.streamer_id,
        )
        .await
        .map_err(ApiError::from)?;
        Ok(found.map(Into::into))
    }

    /// How the streamer wants the overlay to show things (follow `overlaySettings` for
    /// changes).
    async fn settings(&self, ctx: &Context<'_>) -> GqlResult<OverlaySettings> {
        let found =
            missionlink_identity::overlay_settings::of(&state(ctx).db.users, &self.streamer_id)
                .await
                .map_err(ApiError::from)?;
        Ok(found.into())
    }
}

#[derive(Default)]
pub struct OverlayQuery;

#[Object]
impl OverlayQuery {
    /// Your default overlay link (streamers only; `FORBIDDEN` otherwise); null before the first
    /// `rotateOverlayToken`. A link is shown only by the mutation that issues it (it is stored
    /// hashed), so `url` and `token` are null here. Every link: `overlayLinks`.
    async fn my_overlay(&self, ctx: &Context<'_>) -> GqlResult<Option<OverlayLink>> {
        let claims = caller(ctx)?;
        let issued = overlay::default_link(&state(ctx).db.users, &claims.sub, claims.role)
            .await
            .map_err(ApiError::from)?;
        Ok(issued.map(|i| OverlayLink::of(i, ctx)))
    }

    /// The overlay its token opens (no sign-in: the token is the credential, and reads only
    /// this). `OVERLAY_TOKEN_INVALID` for a token that opens none, or was replaced.
    async fn overlay(&self, ctx: &Context<'_>, token: String) -> GqlResult<Overlay> {
        let app = state(ctx);
        let Access { streamer, .. } = overlay::open(&app.db.users, &token)
            .await
            .map_err(ApiError::from)?;
        // Before the missions are read (they are a field below): an event committed between
        // the two reads is then both in the missions and after `lastSeq`, never in neither.
        let feed = events::state(&app.db.missions, &streamer.id)
            .await
            .map_err(ApiError::from)?;
        Ok(Overlay {
            locale: streamer.locale.as_str().to_owned(),
            last_seq: graphql_int(feed.last_seq, "lastSeq")?,
            streamer_id: streamer.id.clone(),
            streamer: User::from(streamer),
        })
    }
}

#[derive(Default)]
pub struct OverlayMutation;

#[Object]
impl OverlayMutation {
    /// Issues your default overlay link, or replaces its token (streamers only), and shows the
    /// new link, once. The old token stops at once: new requests with it are refused, and an
    /// overlay open with it stops within two seconds. Your other links are untouched.
    async fn rotate_overlay_token(&self, ctx: &Context<'_>) -> GqlResult<OverlayLink> {
        let claims = caller(ctx)?;
        let issued = overlay::rotate(&state(ctx).db.users, &claims.sub, claims.role)
            .await
            .map_err(ApiError::from)?;
        Ok(OverlayLink::of(issued, ctx))
    }
}

#[derive(Default)]
pub struct OverlaySubscription;

#[Subscription]
impl OverlaySubscription {
    /// The token's streamer's events after `afterSeq` (the `lastSeq` of `overlay`), then each
    /// new one, in `seq` order, each once, as `missionEvents`. Ends with
    /// `OVERLAY_TOKEN_INVALID` once the token is rotated: nothing committed after the rotation
    /// is delivered, and a quiet feed ends within two seconds.
    async fn overlay_events(
        &self,
        ctx: &Context<'_>,
        token: String,
        after_seq: i32,
    ) -> Result<impl Stream<Item = GqlResult<MissionEvent>> + use<>, async_graphql::Error> {
        let app = state(ctx).clone();
        let access = overlay::open(&app.db.users, &token)
            .await
            .map_err(ApiError::from)?;
        let streamer = access.streamer.id.clone();
        readable(&app, &streamer, i64::from(after_seq)).await?;
        let users = app.db.users.clone();
        let guard: Guard = Box::new(move || {
            let (access, users) = (access.clone(), users.clone());
            Box::pin(async move {
                match access.still_valid(&users).await {
                    Ok(true) => Admission::Go,
                    Ok(false) => Admission::Stop(overlay::invalid().into()),
                    Err(e) => {
                        tracing::warn!(error = ?e, "could not check an overlay token; retrying");
                        Admission::Unknown
                    }
                }
            })
        });
        let wanted = Wanted::of(ctx);
        Ok(
            follow(app, streamer, i64::from(after_seq), Some(guard), wanted)
                .map(|e| e.map_err(async_graphql::Error::from)),
        )
    }
}
