//! Refunds (issue 26, item 3), through real HTTP against the local Toss (`fake_toss.rs`): a
//! partial withdrawal of a top-up (`cancelTopUp` with `amount`, Toss's `cancelAmount`), exact to
//! the won and up to what is unspent.

use crate::fake_toss::{FakeToss, WEBHOOK_SECRET};
use crate::support::{Gql, Session, TestApp, TestDatabases};
use serde_json::json;

/// A confirmed top-up of `amount` through the provider: its id and payment key.
pub async fn paid_top_up(
    app: &TestApp,
    fake: &FakeToss,
    who: &Session,
    amount: i64,
) -> (String, String) {
    let order = app
        .gql(
            Some(&who.access),
            "mutation($a: Int!) { prepareTopUp(amount: $a) { orderId } }",
            json!({ "a": amount }),
        )
        .await
        .data("prepareTopUp")["orderId"]
        .as_str()
        .expect("orderId")
        .to_owned();
    let key = fake.pay(&order, amount);
    let t = app
        .gql(
            Some(&who.access),
            "mutation($o: String!, $k: String!, $a: Int!) {
               confirmTopUp(orderId: $o, paymentKey: $k, amount: $a) { id status } }",
            json!({ "o": order, "k": key, "a": amount }),
        )
        .await
        .data("confirmTopUp");
    assert_eq!(t["status"], "CONFIRMED");
    (t["id"].as_str().expect("id").to_owned(), key)
}

async fn withdraw(app: &TestApp, who: &Session, id: &str, amount: Option<i64>, key: &str) -> Gql {
    app.gql(
        Some(&who.access),
        "mutation($id: ID!, $a: Int, $k: String!) {
           cancelTopUp(topUpId: $id, amount: $a, idempotencyKey: $k) {
             id status amount withdrawnAmount withdrawnAt } }",
        json!({ "id": id, "a": amount, "k": key }),
    )
    .await
}

async fn cash(app: &TestApp, who: &Session) -> i64 {
    app.wallet(who).await["cash"].as_i64().expect("cash")
}

#[tokio::test]
async fn part_of_a_top_up_is_withdrawn_exactly_up_to_what_is_unspent() {
    let fake = FakeToss::start().await;
    let app = fake
        .app(
            TestDatabases::postgres().await,
            &[("PAYMENT_WEBHOOK_LOOKUP_INTERVAL_SECONDS", "1")],
        )
        .await;
    let streamer = app.register_as("partstreamer", "STREAMER").await;
    let viewer = app.register("partviewer").await;
    let (id, key) = paid_top_up(&app, &fake, &viewer, 50_000).await;
    app.new_mission(&viewer, &streamer.user_id, 30_001).await;
    assert_eq!(cash(&app, &viewer).await, 19_999);

    // More than is unspent, none, or more than the top-up: refused, nothing changed, the
    // provider not asked.
    let before = app.snapshot().await;
    let spent = withdraw(&app, &viewer, &id, Some(20_000), "w-1").await;
    assert_eq!(spent.code(), "TOPUP_ALREADY_SPENT", "{:?}", spent.0);
    assert!(
        spent.message().contains("at most 19999 won"),
        "{}",
        spent.message()
    );
    for bad in [0, -5, 50_001] {
        assert_eq!(
            withdraw(&app, &viewer, &id, Some(bad), &format!("w-bad-{bad}"))
                .await
                .code(),
            "BAD_USER_INPUT"
        );
    }
    assert_eq!(app.snapshot().await, before);
    assert_eq!(fake.payment(&key).cancels, 0);

    // Exactly what is unspent: the provider cancels that much of the payment, and no more.
    let w = withdraw(&app, &viewer, &id, Some(19_999), "w-2")
        .await
        .data("cancelTopUp");
    assert_eq!(w["status"], "WITHDRAWN");
    assert_eq!(w["amount"], 50_000);
    assert_eq!(w["withdrawnAmount"], 19_999);
    let p = fake.payment(&key);
    assert_eq!(
        (p.status, p.cancelled, p.cancels),
        ("PARTIAL_CANCELED", 19_999, 1)
    );
    assert_eq!(cash(&app, &viewer).await, 0);
    // The same request again answers it; another key finds it withdrawn: one withdrawal.
    let again = withdraw(&app, &viewer, &id, Some(19_999), "w-2")
        .await
        .data("cancelTopUp");
    assert_eq!(again, w);
    let other = withdraw(&app, &viewer, &id, Some(5), "w-3")
        .await
        .data("cancelTopUp");
    assert_eq!(other["withdrawnAmount"], 19_999);
    assert_eq!(fake.payment(&key).cancels, 1);
    app.assert_audit_clean().await;

    // The provider's webhook about our own partial cancel opens no case.
    assert_eq!(
        fake.deliver_webhook(&app.url(""), &key, "evt-own", WEBHOOK_SECRET)
            .await,
        200
    );
    let ops = crate::disputes::operator(&app, "refundops").await;
    let open = || async {
        crate::reconciliation::open_cases(&app, &ops)
            .await
            .iter()
            .map(|c| {
                (
                    c["kind"].as_str().expect("kind").to_owned(),
                    c["amount"].clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(open().await, vec![]);
    // The rest cancelled at the provider behind our back is a case for the rest only.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    fake.cancel_at_provider(&key, None);
    assert_eq!(
        fake.deliver_webhook(&app.url(""), &key, "evt-rest", WEBHOOK_SECRET)
            .await,
        200
    );
    assert_eq!(
        open().await,
        vec![("TOPUP_CANCELLED_AT_PROVIDER".to_owned(), json!(30_001))]
    );
    app.assert_audit_clean().await;
}

/// A refund account's mutation, with `holder` as the holder's name.
async fn set_refund_account(app: &TestApp, who: &Session, holder: &str) -> Gql {
    app.gql(
        Some(&who.access),
        "mutation($h: String!) { setRefundAccount(bankCode: \"004\", accountNumber: \"123-456-789012\",
           holderName: $h) { bankCode accountMasked holderName } }",
        json!({ "h": holder }),
    )
    .await
}

async fn refund(app: &TestApp, who: &Session, amount: i64, key: &str) -> Gql {
    app.gql(
        Some(&who.access),
        &format!(
            "mutation($a: Won!, $k: String!) {{ requestCashRefund(amount: $a, idempotencyKey: $k) {{
               kind {} }} }}",
            crate::payouts::PAYOUT_FIELDS
        ),
        json!({ "a": amount, "k": key }),
    )
    .await
}

/// The user's cash statement (kind, amount), oldest first.
async fn cash_entries(app: &TestApp, who: &Session) -> Vec<(String, i64)> {
    let w = app
        .gql(
            Some(&who.access),
            "{ wallet { transactions(first: 50) { nodes { kind balance amount } } } }",
            json!({}),
        )
        .await
        .data("wallet");
    let mut rows: Vec<(String, i64)> = w["transactions"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .filter(|n| n["balance"] == "CASH")
        .map(|n| {
            (
                n["kind"].as_str().expect("kind").to_owned(),
                n["amount"].as_i64().expect("amount"),
            )
        })
        .collect();
    rows.reverse();
    rows
}

/// Remaining cash goes back to an account in the verified name only, with its fee (waived once
/// most of what was charged is used); the worker dies while the bank holds the refund, and a
/// new one finishes it: paid once, one receipt, the audit clean.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remaining_balance_refund_is_paid_once_with_the_worker_killed_mid_way() {
    use crate::payouts::{bank_rows, read_payout, transfers_of, wait_for_status};
    let app = TestApp::with_temporal(&[("PAYOUT_HOLD_SECONDS", "1")]).await;
    let streamer = app.register_as("refundstreamer", "STREAMER").await;
    // `register` verifies each user as "Test Person".
    let viewer = app.register("refundviewer").await;
    app.top_up(&viewer, 50_000, "t1").await.data("topUp");
    app.new_mission(&viewer, &streamer.user_id, 10_000).await;

    // Only an account in the verified name: another name is refused, nothing changed.
    let before = app.snapshot().await;
    let other = set_refund_account(&app, &viewer, "김민지").await;
    assert_eq!(
        other.code(),
        "REFUND_ACCOUNT_NAME_MISMATCH",
        "{:?}",
        other.0
    );
    assert_eq!(
        refund(&app, &viewer, 40_000, "r0").await.code(),
        "REFUND_ACCOUNT_REQUIRED"
    );
    assert_eq!(app.snapshot().await, before);
    let set = set_refund_account(&app, &viewer, " test  PERSON ")
        .await
        .data("setRefundAccount");
    assert_eq!(set["accountMasked"], "********9012");
    // More than the cash, or below the minimum: refused, nothing changed.
    let before = app.snapshot().await;
    assert_eq!(
        refund(&app, &viewer, 40_001, "r-big").await.code(),
        "INSUFFICIENT_FUNDS"
    );
    assert_eq!(
        refund(&app, &viewer, 999, "r-small").await.code(),
        "BAD_USER_INPUT"
    );
    assert_eq!(app.snapshot().await, before);

    // The first worker's bank never answers: the refund waits at the bank.
    let outbox = tempfile::tempdir().expect("outbox");
    let outbox_dir = outbox.path().to_str().expect("utf-8 path").to_owned();
    let env = |outcome: &'static str| {
        vec![
            ("BANK_SANDBOX_OUTCOME", outcome),
            ("BANK_TIMEOUT_SECONDS", "1"),
            ("PAYOUT_HOLD_SECONDS", "1"),
            ("EMAIL_TRANSPORT", "file"),
            ("EMAIL_OUTBOX_DIR", outbox_dir.as_str()),
        ]
    };
    let mut first = app.spawn_worker_process(&env("timeout"));
    // 10,000 of 50,000 used (20 %): the fee, 10 % of 40,000, applies.
    let r = refund(&app, &viewer, 40_000, "r1")
        .await
        .data("requestCashRefund");
    assert_eq!(r["kind"], "CASH_REFUND");
    assert_eq!(
        (r["amount"].as_i64(), r["fee"].as_i64(), r["net"].as_i64()),
        (Some(40_000), Some(4_000), Some(36_000))
    );
    assert_eq!(r["account"]["holderName"], "test  PERSON");
    let id = r["id"].as_str().expect("id").to_owned();
    let again = refund(&app, &viewer, 40_000, "r1")
        .await
        .data("requestCashRefund");
    assert_eq!(again["id"], r["id"], "the same key, the same refund");
    assert_eq!(app.wallet(&viewer).await["cash"], 0);
    wait_for_status(&app, &viewer, &id, "PROCESSING", 60).await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while bank_rows(&app, &id).await.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the bank never received it"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    first.kill().await.expect("kill the worker");
    assert_eq!(
        read_payout(&app, &viewer, &id).await["status"],
        "PROCESSING"
    );

    let mut second = app.spawn_worker_process(&env("succeed"));
    wait_for_status(&app, &viewer, &id, "PAID", 120).await;
    let bank = bank_rows(&app, &id).await;
    assert_eq!(bank.len(), 1, "one transfer at the bank");
    assert_eq!(bank[0].amount, 36_000);
    assert_eq!(
        transfers_of(&app, &id).await,
        vec![
            (format!("payoutpaid:{id}:bank"), 36_000),
            (format!("payoutpaid:{id}:fee"), 4_000),
            (format!("payoutreq:{id}:fee"), 4_000),
            (format!("payoutreq:{id}:net"), 36_000),
        ]
    );
    assert_eq!(
        cash_entries(&app, &viewer).await,
        vec![
            ("TOP_UP".to_owned(), 50_000),
            ("PLEDGE".to_owned(), -10_000),
            ("CASH_REFUND".to_owned(), -36_000),
            ("CASH_REFUND_FEE".to_owned(), -4_000),
        ]
    );
    // One receipt, a refund's, from the second worker.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let receipts = loop {
        let files: Vec<crate::support::Mail> = std::fs::read_dir(outbox.path())
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
            .map(|e| crate::support::parse_eml(&std::fs::read_to_string(e.path()).expect("eml")))
            .filter(|m| m.subject.contains("refund") || m.subject.contains("환불"))
            .collect();
        if !files.is_empty() || tokio::time::Instant::now() > deadline {
            break files;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(receipts.len(), 1, "{receipts:#?}");
    assert!(
        receipts[0].subject.contains("36,000") || receipts[0].subject.contains("36000"),
        "{}",
        receipts[0].subject
    );
    app.assert_audit_clean().await;
    second.kill().await.ok();

    // The receiving bank sends the refund back: the worker's check finds it, and the operator
    // gives the net back to the cash it came from, not to earnings.
    use missionlink_workflows::bank::{SandboxOutcome, sandbox::SandboxBank};
    use sea_orm::ConnectionTrait;
    app.db
        .missions
        .execute_unprepared(&format!(
            "UPDATE bank_sandbox_transfers SET returned_at = received_at, \
             return_reason = 'dormant account' WHERE request_id = 'missionlink-payout-{id}'"
        ))
        .await
        .expect("the bank returns it");
    let bank = SandboxBank::new(app.db.missions.clone(), SandboxOutcome::Succeed);
    let (window, timeout) = (
        std::time::Duration::from_secs(86_400),
        std::time::Duration::from_secs(5),
    );
    missionlink_workflows::payout::returns::check_once(&app.db.missions, &bank, window, timeout)
        .await
        .expect("check the paid payouts");
    let ops = crate::disputes::operator(&app, "refundreturns").await;
    let case = crate::reconciliation::open_cases(&app, &ops).await[0].clone();
    assert_eq!(
        (case["kind"].as_str(), case["amount"].as_i64()),
        (Some("PAYOUT_RETURNED_BY_BANK"), Some(36_000))
    );
    let done = crate::reconciliation::resolve(
        &app,
        &ops,
        case["id"].as_str().expect("id"),
        "RETURN_TO_BALANCE",
    )
    .await
    .data("resolveReconciliation");
    assert_eq!(done["returned"], 36_000);
    let w = app.wallet(&viewer).await;
    assert_eq!(
        (w["cash"].as_i64(), w["earnings"].as_i64()),
        (Some(36_000), Some(0))
    );
    assert_eq!(
        cash_entries(&app, &viewer).await.last(),
        Some(&("CASH_REFUND_RETURNED".to_owned(), 36_000))
    );
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn the_cash_refund_fee_is_waived_once_most_of_what_was_charged_is_used() {
    let app = TestApp::spawn().await;
    let streamer = app.register_as("waivestreamer", "STREAMER").await;
    let viewer = app.register("waiveviewer").await;
    app.top_up(&viewer, 10_000, "t1").await.data("topUp");
    app.new_mission(&viewer, &streamer.user_id, 8_000).await;
    set_refund_account(&app, &viewer, "Test Person")
        .await
        .data("setRefundAccount");
    let r = refund(&app, &viewer, 2_000, "r1")
        .await
        .data("requestCashRefund");
    assert_eq!(
        (r["fee"].as_i64(), r["net"].as_i64()),
        (Some(0), Some(2_000))
    );
    // The refund can be cancelled during its hold: the whole amount back in cash.
    let cancelled = app
        .gql(
            Some(&viewer.access),
            "mutation($id: ID!) { cancelPayout(id: $id, idempotencyKey: \"c1\") { status } }",
            json!({ "id": r["id"] }),
        )
        .await
        .data("cancelPayout");
    assert_eq!(cancelled["status"], "CANCELLED");
    assert_eq!(app.wallet(&viewer).await["cash"], 2_000);
    app.assert_audit_clean().await;
}

/// The provider's cancels and the user's withdrawal, in either order: what the provider
/// cancelled behind our back is never withdrawn again, and what it cancelled while a
/// withdrawal was under way becomes a case.
#[tokio::test]
async fn a_withdrawal_and_a_cancel_at_the_provider_never_refund_the_same_won_twice() {
    let fake = FakeToss::start().await;
    let app = fake
        .app(
            TestDatabases::postgres().await,
            &[
                ("PAYMENT_WEBHOOK_LOOKUP_INTERVAL_SECONDS", "1"),
                ("PAYMENT_TIMEOUT_SECONDS", "1"),
            ],
        )
        .await;
    let ops = crate::disputes::operator(&app, "ordersops").await;
    let viewer = app.register("orderviewer").await;
    let open = || async {
        crate::reconciliation::open_cases(&app, &ops)
            .await
            .iter()
            .map(|c| {
                (
                    c["kind"].as_str().expect("kind").to_owned(),
                    c["amount"].clone(),
                )
            })
            .collect::<Vec<_>>()
    };

    // The provider first: 4,000 cancelled in its console, a case; the user withdraws the rest.
    let (first, key) = paid_top_up(&app, &fake, &viewer, 10_000).await;
    fake.cancel_at_provider(&key, Some(4_000));
    assert_eq!(
        fake.deliver_webhook(&app.url(""), &key, "evt-a", WEBHOOK_SECRET)
            .await,
        200
    );
    assert_eq!(
        open().await,
        vec![("PARTIAL_CANCEL_AT_PROVIDER".to_owned(), json!(4_000))]
    );
    let before = app.snapshot().await;
    let over = withdraw(&app, &viewer, &first, Some(6_001), "a-1").await;
    assert_eq!(over.code(), "BAD_USER_INPUT", "{:?}", over.0);
    assert!(
        over.message().contains("1 to 6000 won"),
        "{}",
        over.message()
    );
    assert_eq!(app.snapshot().await, before);
    let w = withdraw(&app, &viewer, &first, None, "a-2")
        .await
        .data("cancelTopUp");
    assert_eq!(
        (w["status"].as_str(), w["withdrawnAmount"].as_i64()),
        (Some("WITHDRAWN"), Some(6_000))
    );
    assert_eq!(fake.payment(&key).status, "CANCELED");
    assert_eq!(
        cash(&app, &viewer).await,
        4_000,
        "the 4,000 wait for the operator"
    );
    assert_eq!(
        open().await.len(),
        1,
        "no second case for the user's own withdrawal"
    );
    app.assert_audit_clean().await;

    // A payment cancelled whole at the provider cannot be withdrawn at all.
    let (second, key2) = paid_top_up(&app, &fake, &viewer, 5_000).await;
    fake.cancel_at_provider(&key2, None);
    assert_eq!(
        fake.deliver_webhook(&app.url(""), &key2, "evt-b", WEBHOOK_SECRET)
            .await,
        200
    );
    let before = app.snapshot().await;
    let gone = withdraw(&app, &viewer, &second, None, "b-1").await;
    assert_eq!(gone.code(), "INVALID_STATE", "{:?}", gone.0);
    assert_eq!(app.snapshot().await, before);

    // The user first: 3,000 withdrawn, the provider's answer late; meanwhile the console cancels
    // the other 7,000. Finishing the withdrawal finds it, and opens a case for the 7,000.
    let (third, key3) = paid_top_up(&app, &fake, &viewer, 10_000).await;
    fake.answer_cancels_after(Some(std::time::Duration::from_secs(3)));
    let late = withdraw(&app, &viewer, &third, Some(3_000), "c-1").await;
    assert_eq!(late.code(), "PAYMENT_PENDING", "{:?}", late.0);
    fake.answer_cancels_after(None);
    fake.cancel_at_provider(&key3, None);
    let done = withdraw(&app, &viewer, &third, Some(3_000), "c-1")
        .await
        .data("cancelTopUp");
    assert_eq!(done["status"], "WITHDRAWN");
    let cases = open().await;
    assert!(
        cases.contains(&("TOPUP_CANCELLED_AT_PROVIDER".to_owned(), json!(7_000))),
        "{cases:?}"
    );
    app.assert_audit_clean().await;
}
