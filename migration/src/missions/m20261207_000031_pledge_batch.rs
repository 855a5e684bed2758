//! A pledge batch in one round trip (issue 27, item 4), on Postgres: the statements a batch
//! sent one by one (about nine round trips: claim the keys, take the gates, read the missions,
//! lock the wallets, debit and hold, give refused claims back, the missions' totals, the feed)
//! run inside the database as one call, `pledge_batch`, between the transaction's BEGIN and
//! COMMIT. The ledger's `batch/set.rs` calls it and checks its verdicts against the Rust rule.
//!
//! - `pledge_batch_item`: one pledge of the batch as the ledger prepared it (ids, its wallet
//!   and escrow, its idempotency claim with the stored answer), with its place in the batch
//!   (`at`) and its round (a backer's second pledge of a batch comes in a later round and sees
//!   the first one's effects).
//! - `pledge_allowed`: the rule of `batch::pledge::ensure_pledgeable` (not the mission's
//!   streamer; PENDING or FUNDING before `accept_by`, ACTIVE before its deadline). The ledger
//!   compares every verdict with its own and fails the batch (rerunning it pledge by pledge,
//!   under the Rust rule alone) if the two ever disagree.
//! - `append_feed`: the feed's one statement (`events.rs`), used by the ledger's every feed
//!   write on Postgres and by `pledge_batch`: one definition of how events are numbered.
//! - `pledge_batch`: everything in the order the batch took it before (gates in mission order,
//!   wallets in id order, totals in mission order, feed rows in streamer order), so that no two
//!   batches, and no batch and transition, wait on each other in a cycle. It answers a row per
//!   pledge (`held`, `replay`, `missing`, `refused`, `funds`, `no_wallet`, with its mission as
//!   read behind its gate), a row per mission's totals as left, a row per streamer's feed.
//!
//! SQLite runs the batch pledge by pledge (`batch/each.rs`) and needs none of this.

use crate::run_sql;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = r#"
CREATE FUNCTION append_feed(p_events jsonb, p_at timestamptz)
RETURNS TABLE (feed_streamer text, feed_last_seq bigint)
LANGUAGE plpgsql AS $fn$
BEGIN
    -- `c` holds each streamer's count (its largest `n`): a new feed row starts at it, an
    -- existing one grows by it, and its events take the numbers just below its new last. The
    -- rows are locked in streamer order.
    RETURN QUERY
    WITH e AS (
        SELECT * FROM jsonb_to_recordset(p_events) AS e(streamer_id text, n bigint,
            mission_id text, prediction_id text, kind text, pledge_id text, tier int,
            test_payload text)
        LIMIT jsonb_array_length(p_events)
    ), c AS (SELECT e.streamer_id, max(e.n) AS n FROM e GROUP BY e.streamer_id),
    f AS (
        INSERT INTO streamer_feeds AS sf (streamer_id, last_seq, pruned_through)
        SELECT c.streamer_id, c.n, 0 FROM c ORDER BY c.streamer_id
        ON CONFLICT (streamer_id) DO UPDATE SET last_seq = sf.last_seq + excluded.last_seq
        RETURNING sf.streamer_id, sf.last_seq
    ), added AS (
        INSERT INTO mission_events (streamer_id, seq, mission_id, prediction_id, kind,
            pledge_id, tier, created_at, test_payload)
        SELECT e.streamer_id, f.last_seq - c.n + e.n, e.mission_id, e.prediction_id, e.kind,
            e.pledge_id, e.tier, p_at, e.test_payload
        FROM e JOIN c ON c.streamer_id = e.streamer_id JOIN f ON f.streamer_id = e.streamer_id
    )
    SELECT f.streamer_id, f.last_seq FROM f;
END
$fn$;

CREATE TYPE pledge_batch_item AS (
    at int, round int, backer_id text, key text, request_hash text, response text,
    mission_id text, wallet text, amount bigint, pledge_id text, transfer_id text, escrow text,
    currency text, transfer_kind text, message text, message_status text, anonymous boolean
);

CREATE FUNCTION pledge_allowed(mi missions, p_backer text, p_at timestamptz) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $fn$
    SELECT mi.streamer_id <> p_backer AND CASE mi.status
        WHEN 'PENDING' THEN p_at < mi.accept_by
        WHEN 'FUNDING' THEN p_at < mi.accept_by
        WHEN 'ACTIVE' THEN coalesce(p_at < mi.deadline, false)
        ELSE false
    END
$fn$;

CREATE FUNCTION pledge_batch(p_items jsonb, p_operation text, p_now timestamptz, p_held text)
RETURNS TABLE (row_kind text, pledge_at int, outcome text, first_pledge boolean,
    totals_mission text, totals_won bigint, totals_backers bigint,
    feed_streamer text, feed_last_seq bigint, m missions)
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
    items pledge_batch_item[] := ARRAY(
        SELECT i FROM jsonb_populate_recordset(NULL::pledge_batch_item, p_items) AS i);
    rounds int;
    r int;
    fresh int[];         -- the round's items whose key this call claimed
    payable int[];       -- of those, the ones the rule lets pledge
    claimed int[] := '{}';
    held int[] := '{}';  -- debited and inserted
    firsts int[] := '{}'; -- held, and the backer's first pledge to the mission
BEGIN
    SELECT coalesce(max(i.round), -1) INTO rounds FROM unnest(items) AS i;
    FOR r IN 0..rounds LOOP
        -- Every key of the round, claimed with its answer already stored; a key claimed
        -- before (an earlier batch, round or a concurrent transaction that committed) is a
        -- replay the ledger answers.
        WITH c AS (
            INSERT INTO idempotency_keys (user_id, key, operation, request_hash, response,
                created_at)
            SELECT i.backer_id, i.key, p_operation, i.request_hash, i.response, p_now
            FROM unnest(items) AS i WHERE i.round = r
            ON CONFLICT DO NOTHING
            RETURNING user_id, key
        )
        SELECT coalesce(array_agg(i.at), '{}') INTO fresh
        FROM unnest(items) AS i JOIN c ON c.user_id = i.backer_id AND c.key = i.key
        WHERE i.round = r;
        claimed := claimed || fresh;
        -- The missions' gates, shared and held to the commit, in one order for every batch.
        PERFORM pg_advisory_xact_lock_shared(hashtextextended('mission:' || g.id, 0))
        FROM (SELECT DISTINCT i.mission_id COLLATE "C" AS id FROM unnest(items) AS i
              WHERE i.at = ANY(fresh) ORDER BY 1) AS g;
        -- Read behind the gates (a statement of its own: a snapshot taken after them).
        SELECT coalesce(array_agg(i.at), '{}') INTO payable
        FROM unnest(items) AS i JOIN missions AS mi ON mi.id = i.mission_id
        WHERE i.at = ANY(fresh) AND pledge_allowed(mi, i.backer_id, p_now);
        -- The wallets, locked in id order before any is debited.
        PERFORM 1 FROM accounts AS a
        WHERE a.id IN (SELECT i.wallet FROM unnest(items) AS i WHERE i.at = ANY(payable))
        ORDER BY a.id FOR UPDATE;
        -- Each wallet that covers its pledge debited, the pledge and its transfer into escrow
        -- inserted with the wallet's balance after: a pledge exists exactly when its wallet
        -- was debited. The statement's snapshot holds none of its own inserts, and the
        -- wallet's lock orders it after any earlier pledge of the backer: `first` is exact.
        WITH d AS (SELECT * FROM unnest(items) AS i WHERE i.at = ANY(payable)),
        debited AS (
            UPDATE accounts AS a SET balance = a.balance - d.amount FROM d
            WHERE a.id = d.wallet AND a.balance >= d.amount
            RETURNING a.id, a.balance
        ), pledged AS (
            INSERT INTO pledges (id, mission_id, backer_id, amount, status, created_at,
                settled_at, message, message_status, anonymous)
            SELECT d.pledge_id, d.mission_id, d.backer_id, d.amount, p_held, p_now, NULL,
                d.message, d.message_status, d.anonymous
            FROM d JOIN debited ON debited.id = d.wallet
        ), moved AS (
            INSERT INTO transfers (id, debit_account_id, credit_account_id, currency, amount,
                kind, created_at, debit_balance_after)
            SELECT d.transfer_id, d.wallet, d.escrow, d.currency, d.amount, d.transfer_kind,
                p_now, debited.balance
            FROM d JOIN debited ON debited.id = d.wallet
        )
        SELECT held || coalesce(array_agg(d.at), '{}'),
            firsts || coalesce(array_agg(d.at) FILTER (WHERE NOT EXISTS (
                SELECT 1 FROM pledges AS p WHERE p.mission_id = d.mission_id
                    AND p.backer_id = d.backer_id AND p.status <> 'WITHDRAWN')), '{}')
        INTO held, firsts
        FROM d JOIN debited ON debited.id = d.wallet;
        -- A refused pledge leaves nothing, not even its key.
        DELETE FROM idempotency_keys AS k USING unnest(items) AS i
        WHERE i.at = ANY(fresh) AND NOT i.at = ANY(held)
            AND k.user_id = i.backer_id AND k.key = i.key;
    END LOOP;
    -- The missions' totals once, in mission order; then the feed, in streamer order. Both
    -- rows stay locked only for the commit.
    RETURN QUERY
    WITH t AS (
        INSERT INTO mission_totals AS t (mission_id, total_won, backers)
        SELECT i.mission_id, sum(i.amount), count(*) FILTER (WHERE i.at = ANY(firsts))
        FROM unnest(items) AS i WHERE i.at = ANY(held)
        GROUP BY i.mission_id ORDER BY i.mission_id
        ON CONFLICT (mission_id) DO UPDATE SET total_won = t.total_won + excluded.total_won,
            backers = t.backers + excluded.backers
        RETURNING t.mission_id, t.total_won, t.backers
    )
    SELECT 'totals', NULL::int, NULL::text, NULL::boolean, t.mission_id, t.total_won,
        t.backers, NULL::text, NULL::bigint, NULL::missions
    FROM t;
    RETURN QUERY
    SELECT 'feed', NULL::int, NULL::text, NULL::boolean, NULL::text, NULL::bigint,
        NULL::bigint, f.feed_streamer, f.feed_last_seq, NULL::missions
    FROM append_feed((
        SELECT coalesce(jsonb_agg(jsonb_build_object('streamer_id', e.streamer_id, 'n', e.n,
            'mission_id', e.mission_id, 'kind', 'PLEDGED', 'pledge_id', e.pledge_id)), '[]')
        FROM (SELECT mi.streamer_id,
                row_number() OVER (PARTITION BY mi.streamer_id ORDER BY i.at) AS n,
                i.mission_id, i.pledge_id
            FROM unnest(items) AS i JOIN missions AS mi ON mi.id = i.mission_id
            WHERE i.at = ANY(held)) AS e), p_now) AS f;
    -- Every pledge's verdict, with its mission as read behind its gate (none for a replay).
    RETURN QUERY
    SELECT 'pledge', i.at,
        CASE WHEN i.at = ANY(held) THEN 'held'
            WHEN NOT i.at = ANY(claimed) THEN 'replay'
            WHEN mi.id IS NULL THEN 'missing'
            WHEN NOT pledge_allowed(mi, i.backer_id, p_now) THEN 'refused'
            WHEN EXISTS (SELECT 1 FROM accounts AS a WHERE a.id = i.wallet) THEN 'funds'
            ELSE 'no_wallet' END,
        i.at = ANY(firsts), NULL::text, NULL::bigint, NULL::bigint, NULL::text, NULL::bigint,
        CASE WHEN i.at = ANY(claimed) THEN mi END
    FROM unnest(items) AS i LEFT JOIN missions AS mi ON mi.id = i.mission_id;
END
$fn$;
"#;

const DOWN: &str = r#"
DROP FUNCTION pledge_batch(jsonb, text, timestamptz, text);
DROP FUNCTION pledge_allowed(missions, text, timestamptz);
DROP TYPE pledge_batch_item;
DROP FUNCTION append_feed(jsonb, timestamptz);
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        run_sql(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        run_sql(manager, DOWN).await
    }
}
