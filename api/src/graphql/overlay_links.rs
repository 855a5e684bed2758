//! The streamer's overlay links, one per device (issue 29, item 4: `createOverlayLink`,
//! `overlayLinks`, `revokeOverlayLink`), and the overlay's settings (item 3:
//! `overlaySettings`, `updateOverlaySettings`, and the `overlaySettings(token)` subscription
//! every open page follows, so a change shows on stream at once). The rows are
//! `missionlink_identity::overlay`'s and `::overlay_settings`'.

use super::context::{PublicOrigin, caller, state, streamer_caller};
use super::money::Won;
use crate::error::{ApiError, GqlResult};
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures::Stream;
use missionlink_identity::overlay::{self, Issued};
use missionlink_identity::overlay_settings::{self as settings, Update};
use std::time::Duration;

/// How often an open page's settings subscription reads them (and checks its token).
const SETTINGS_POLL: Duration = Duration::from_secs(1);

/// One of the streamer's overlay links (one per device). The token is stored hashed, so
/// `token` and `url` are given only by the call that issued them (`createOverlayLink`,
/// `rotateOverlayToken`).
#[derive(SimpleObject, Clone, Debug)]
pub struct OverlayLink {
    pub id: ID,
    /// What the streamer calls it ("studio PC"); `OBS` for the default link.
    pub label: String,
    /// The page to add to OBS as a browser source: `<PUBLIC_URL>/overlay/<token>` (never the
    /// request's `Host`). Only from the call that issued the token.
    pub url: Option<String>,
    /// The overlay's read-only token. Only from the call that issued it.
    pub token: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When the current token was issued.
    pub issued_at: DateTime<Utc>,
    /// When a page with it was last seen (loaded, or following its feed).
    pub last_seen_at: Option<DateTime<Utc>>,
    /// Whether a page with it is open now (seen within the last 45 seconds): whether OBS is
    /// actually showing it.
    pub connected: bool,
}

impl OverlayLink {
    pub(super) fn of(issued: Issued, ctx: &Context<'_>) -> Self {
        let origin = ctx.data_opt::<PublicOrigin>().map_or_else(
            || {
                let settings = &state(ctx).settings;
                settings
                    .public_url
                    .clone()
                    .unwrap_or_else(|| format!("http://{}", settings.http_addr))
            },
            |o| o.0.clone(),
        );
        Self {
            connected: issued.connected(Utc::now()),
            id: ID(issued.id),
            label: issued.label,
            url: issued.token.as_deref().map(|t| overlay::url(&origin, t)),
            token: issued.token,
            created_at: issued.created_at,
            issued_at: issued.issued_at,
            last_seen_at: issued.last_seen_at,
        }
    }
}

/// Where the overlay's mission cards sit (its alerts sit in the opposite corner).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum OverlayPosition {
    TopLeft,
    TopRight,
    BottomLeft,
    BottomRight,
}

impl OverlayPosition {
    fn stored(self) -> &'static str {
        match self {
            Self::TopLeft => "TOP_LEFT",
            Self::TopRight => "TOP_RIGHT",
            Self::BottomLeft => "BOTTOM_LEFT",
            Self::BottomRight => "BOTTOM_RIGHT",
        }
    }

    fn of(stored: &str) -> Self {
        match stored {
            "TOP_LEFT" => Self::TopLeft,
            "BOTTOM_LEFT" => Self::BottomLeft,
            "BOTTOM_RIGHT" => Self::BottomRight,
            _ => Self::TopRight,
        }
    }
}

/// How the streamer's overlay shows things.
#[derive(SimpleObject, Clone, Debug, PartialEq)]
pub struct OverlaySettings {
    /// Pledges below this raise no alert (the cards still count them).
    pub min_alert_amount: Won,
    /// How long an alert stays (3 to 60).
    pub alert_seconds: i32,
    /// Whether backers' approved messages show.
    pub show_messages: bool,
    /// The page's size: 1.0 to 2.5 times its base (1.5 by default, for a 1080p canvas).
    pub scale: f64,
    pub position: OverlayPosition,
    /// Mission cards shown at once, the nearest time limit first (1 to 10).
    pub max_cards: i32,
    /// When you last changed them; null: the defaults.
    pub updated_at: Option<DateTime<Utc>>,
}

impl From<settings::OverlaySettings> for OverlaySettings {
    fn from(s: settings::OverlaySettings) -> Self {
        Self {
            min_alert_amount: Won(s.min_alert_won),
            alert_seconds: s.alert_seconds,
            show_messages: s.show_messages,
            scale: f64::from(s.scale_percent) / 100.0,
            position: OverlayPosition::of(&s.position),
            max_cards: s.max_cards,
            updated_at: s.updated_at,
        }
    }
}

/// A change of the overlay's settings: each field given replaces that setting.
#[derive(InputObject)]
pub struct OverlaySettingsInput {
    pub min_alert_amount: Option<i32>,
    pub alert_seconds: Option<i32>,
    pub show_messages: Option<bool>,
    /// 1.0 to 2.5, kept to the hundredth.
    pub scale: Option<f64>,
    pub position: Option<OverlayPosition>,
    pub max_cards: Option<i32>,
}

/// `scale` as kept: a whole percentage (one out of range, or not a number, stays out of range,
/// to be refused).
fn percent(scale: f64) -> i32 {
    // Rounded through its decimal text: no float-to-int cast.
    format!("{:.0}", scale * 100.0).parse().unwrap_or(i32::MAX)
}

#[derive(Default)]
pub struct OverlayLinkQuery;

#[Object]
impl OverlayLinkQuery {
    /// Your overlay links, oldest first, with whether each is showing now (streamers only).
    /// Tokens are stored hashed, so `url` and `token` are null here.
    async fn overlay_links(&self, ctx: &Context<'_>) -> GqlResult<Vec<OverlayLink>> {
        let claims = caller(ctx)?;
        let links = overlay::links(&state(ctx).db.users, &claims.sub, claims.role)
            .await
            .map_err(ApiError::from)?;
        Ok(links.into_iter().map(|l| OverlayLink::of(l, ctx)).collect())
    }

    /// Your overlay's settings (streamers only).
    async fn overlay_settings(&self, ctx: &Context<'_>) -> GqlResult<OverlaySettings> {
        let claims = streamer_caller(ctx, "only streamers have an overlay")?;
        let found = settings::of(&state(ctx).db.users, &claims.sub)
            .await
            .map_err(ApiError::from)?;
        Ok(found.into())
    }
}

#[derive(Default)]
pub struct OverlayLinkMutation;

#[Object]
impl OverlayLinkMutation {
    /// Makes another overlay link, for another device (streamers only), and shows it, once.
    /// `label` is 1 to 40 characters. At most `OVERLAY_LINKS_PER_STREAMER`
    /// (`OVERLAY_LINK_LIMIT`).
    async fn create_overlay_link(
        &self,
        ctx: &Context<'_>,
        label: String,
    ) -> GqlResult<OverlayLink> {
        let claims = caller(ctx)?;
        let app = state(ctx);
        let made = overlay::create(
            &app.db.users,
            &claims.sub,
            claims.role,
            &label,
            app.settings.overlay_links_per_streamer,
        )
        .await
        .map_err(ApiError::from)?;
        Ok(OverlayLink::of(made, ctx))
    }

    /// Revokes your overlay link `id`: it stops at once (a page open with it within two
    /// seconds); your other links keep working. `NOT_FOUND` for one that is not yours.
    async fn revoke_overlay_link(&self, ctx: &Context<'_>, id: ID) -> GqlResult<ID> {
        let claims = caller(ctx)?;
        overlay::revoke(&state(ctx).db.users, &claims.sub, claims.role, &id)
            .await
            .map_err(ApiError::from)?;
        Ok(id)
    }

    /// Changes your overlay's settings (streamers only): every open overlay applies them within
    /// a second or two. Refused input (`BAD_USER_INPUT`, naming every wrong field) changes
    /// nothing.
    async fn update_overlay_settings(
        &self,
        ctx: &Context<'_>,
        input: OverlaySettingsInput,
    ) -> GqlResult<OverlaySettings> {
        let claims = caller(ctx)?;
        let update = Update {
            min_alert_won: input.min_alert_amount.map(i64::from),
            alert_seconds: input.alert_seconds,
            show_messages: input.show_messages,
            scale_percent: input.scale.map(percent),
            position: input.position.map(|p| p.stored().to_owned()),
            max_cards: input.max_cards,
        };
        let done = settings::update(&state(ctx).db.users, &claims.sub, claims.role, &update)
            .await
            .map_err(ApiError::from)?;
        Ok(done.into())
    }
}

#[derive(Default)]
pub struct OverlaySettingsSubscription;

#[Subscription]
impl OverlaySettingsSubscription {
    /// The overlay's settings for the page its token opens: now, then each change, within a
    /// second or two. Ends with `OVERLAY_TOKEN_INVALID` once the link is revoked or rotated.
    async fn overlay_settings(
        &self,
        ctx: &Context<'_>,
        token: String,
    ) -> Result<impl Stream<Item = GqlResult<OverlaySettings>> + use<>, async_graphql::Error> {
        let users = state(ctx).db.users.clone();
        let access = overlay::open(&users, &token)
            .await
            .map_err(ApiError::from)?;
        let first = settings::of(&users, &access.streamer.id)
            .await
            .map_err(ApiError::from)?;
        let start = (
            users,
            access,
            None::<settings::OverlaySettings>,
            Some(first),
            false,
        );
        Ok(futures::stream::unfold(
            start,
            |(users, access, last, mut next, ended)| async move {
                if ended {
                    return None;
                }
                loop {
                    if let Some(now) = next.take()
                        && last.as_ref() != Some(&now)
                    {
                        let shown = OverlaySettings::from(now.clone());
                        return Some((Ok(shown), (users, access, Some(now), None, false)));
                    }
                    tokio::time::sleep(SETTINGS_POLL).await;
                    match access.still_valid(&users).await {
                        Ok(true) => {}
                        Ok(false) => {
                            let gone = ApiError::from(overlay::invalid()).into();
                            return Some((Err(gone), (users, access, last, None, true)));
                        }
                        Err(e) => {
                            tracing::warn!(error = ?e, "overlay settings: token check failed");
                            continue;
                        }
                    }
                    match settings::of(&users, &access.streamer.id).await {
                        Ok(now) => next = Some(now),
                        Err(e) => tracing::warn!(error = ?e, "overlay settings: read failed"),
                    }
                }
            },
        ))
    }
}
