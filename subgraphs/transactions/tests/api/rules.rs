//! Every rule of money movement, each with the error code a client sees.

use serde_json::{json, Value};
use uuid::Uuid;

use bank_common::auth::Role;
use bank_testkit::data;
use transactions_subgraph::{app::LedgerConfig, events};

use crate::helpers::{assert_code, spawn_app, spawn_app_with, test_ledger_config};

#[tokio::test]
async fn money_cannot_leave_an_account_beyond_its_balance() {
    let app = spawn_app().await;
    let (ada, bob) = (app.customer(), app.customer());
    let from = app.open(&ada, "EUR").await;
    let to = app.open(&bob, "EUR").await;
    data(&app.deposit(&ada, from, "10.00").await);
    assert_code(
        &app.withdraw(&ada, from, "10.01").await,
        "INSUFFICIENT_FUNDS",
    );
    assert_code(
        &app.transfer(&ada, from, to, "10.01").await,
        "INSUFFICIENT_FUNDS",
    );
    assert_eq!(app.balance(&ada, from).await, "10.00", "nothing moved");
    data(&app.transfer(&ada, from, to, "10.00").await);
    assert_eq!(app.balance(&ada, from).await, "0.00");
    app.assert_ledger_ok().await;
}

#[tokio::test]
async fn an_overdraft_limit_set_by_staff_allows_going_below_zero_that_far() {
    let app = spawn_app().await;
    let (ada, teller) = (app.customer(), app.teller());
    let account = app.open(&ada, "EUR").await;
    let set = "mutation($i: SetAccountLimitsInput!) { setAccountLimits(input: $i) { overdraftLimit { amount } } }";
    let vars = json!({ "i": { "accountId": account, "overdraftLimit": "25.00" } });
    assert_code(&app.gql(&ada, set, vars.clone()).await, "FORBIDDEN");
    let limits = app.gql(&teller, set, vars).await;
    assert_eq!(
        data(&limits)["setAccountLimits"]["overdraftLimit"]["amount"],
        "25.00"
    );
    data(&app.withdraw(&ada, account, "20").await);
    assert_eq!(app.balance(&ada, account).await, "-20.00");
    assert_code(
        &app.withdraw(&ada, account, "5.01").await,
        "INSUFFICIENT_FUNDS",
    );
    // Lowering the limit below what is already used is refused.
    let lower = app
        .gql(
            &teller,
            set,
            json!({ "i": { "accountId": account, "overdraftLimit": "10" } }),
        )
        .await;
    assert_code(&lower, "BAD_USER_INPUT");
    app.assert_ledger_ok().await;
}

#[tokio::test]
async fn the_daily_withdrawal_limit_stops_cash_withdrawals_but_not_transfers() {
    let app = spawn_app().await;
    let (ada, bob, teller) = (app.customer(), app.customer(), app.teller());
    let account = app.open(&ada, "EUR").await;
    let other = app.open(&bob, "EUR").await;
    data(&app.deposit(&ada, account, "1000").await);
    let set = "mutation($i: SetAccountLimitsInput!) { setAccountLimits(input: $i) { dailyWithdrawalLimit { amount } } }";
    data(
        &app.gql(
            &teller,
            set,
            json!({ "i": { "accountId": account, "dailyWithdrawalLimit": "100" } }),
        )
        .await,
    );
    data(&app.withdraw(&ada, account, "60").await);
    assert_code(
        &app.withdraw(&ada, account, "40.01").await,
        "LIMIT_EXCEEDED",
    );
    data(&app.withdraw(&ada, account, "40").await);
    data(&app.transfer(&ada, account, other, "500").await);
    assert_eq!(app.balance(&ada, account).await, "400.00");
}

#[tokio::test]
async fn frozen_and_closed_accounts_move_no_money() {
    let app = spawn_app().await;
    let (ada, bob, teller) = (app.customer(), app.customer(), app.teller());
    let account = app.open(&ada, "EUR").await;
    let other = app.open(&bob, "EUR").await;
    data(&app.deposit(&ada, account, "50").await);

    app.account_event(events::ACCOUNT_FROZEN, account, ada.id, "EUR")
        .await;
    assert_code(
        &app.deposit(&teller, account, "1").await,
        "ACCOUNT_NOT_ACTIVE",
    );
    assert_code(
        &app.withdraw(&ada, account, "1").await,
        "ACCOUNT_NOT_ACTIVE",
    );
    assert_code(
        &app.transfer(&ada, account, other, "1").await,
        "ACCOUNT_NOT_ACTIVE",
    );
    assert_code(
        &app.transfer(&bob, other, account, "1").await,
        "ACCOUNT_NOT_ACTIVE",
    );

    app.account_event(events::ACCOUNT_UNFROZEN, account, ada.id, "EUR")
        .await;
    data(&app.transfer(&ada, account, other, "1").await);

    app.account_event(events::ACCOUNT_CLOSED, other, bob.id, "EUR")
        .await;
    assert_code(
        &app.transfer(&ada, account, other, "1").await,
        "ACCOUNT_NOT_ACTIVE",
    );
    // A late unfreeze cannot reopen a closed account.
    app.account_event(events::ACCOUNT_UNFROZEN, other, bob.id, "EUR")
        .await;
    assert_code(
        &app.transfer(&ada, account, other, "1").await,
        "ACCOUNT_NOT_ACTIVE",
    );
}

#[tokio::test]
async fn transfers_need_the_same_currency_on_both_sides() {
    let app = spawn_app().await;
    let ada = app.customer();
    let eur = app.open(&ada, "EUR").await;
    let usd = app.open(&ada, "USD").await;
    data(&app.deposit(&ada, eur, "10").await);
    assert_code(
        &app.transfer(&ada, eur, usd, "1").await,
        "CURRENCY_MISMATCH",
    );
    assert_eq!(app.balance(&ada, usd).await, "0.00");
}

#[tokio::test]
async fn customers_move_money_only_from_and_into_their_own_accounts() {
    let app = spawn_app().await;
    let (ada, mallory, teller) = (app.customer(), app.customer(), app.teller());
    let victim = app.open(&ada, "EUR").await;
    let own = app.open(&mallory, "EUR").await;
    data(&app.deposit(&ada, victim, "100").await);
    data(&app.deposit(&mallory, own, "100").await);

    assert_code(&app.withdraw(&mallory, victim, "1").await, "NOT_FOUND");
    assert_code(&app.transfer(&mallory, victim, own, "1").await, "NOT_FOUND");
    assert_code(&app.deposit(&mallory, victim, "1").await, "NOT_FOUND");
    // Paying someone else is fine, and staff may deposit anywhere.
    data(&app.transfer(&mallory, own, victim, "1").await);
    data(&app.deposit(&teller, victim, "1").await);
    assert_eq!(app.balance(&ada, victim).await, "102.00");
    // The bank's internal accounts are not addressable.
    let cash = transactions_subgraph::store::InternalAccount::Cash
        .id(bank_common::money::Currency::parse("EUR").unwrap());
    assert_code(&app.transfer(&mallory, own, cash, "1").await, "NOT_FOUND");
    assert_code(&app.withdraw(&teller, cash, "1").await, "NOT_FOUND");
}

#[tokio::test]
async fn amounts_must_be_positive_decimal_strings_that_fit_the_currency() {
    let app = spawn_app().await;
    let ada = app.customer();
    let eur = app.open(&ada, "EUR").await;
    let jpy = app.open(&ada, "JPY").await;
    for bad in ["0", "0.00", "-1", "1.234", "abc", "1e3", ""] {
        assert_code(&app.deposit(&ada, eur, bad).await, "BAD_USER_INPUT");
    }
    assert_code(&app.deposit(&ada, jpy, "1.5").await, "BAD_USER_INPUT");
    data(&app.deposit(&ada, jpy, "1500").await);
    assert_eq!(app.balance(&ada, jpy).await, "1500");
    // A JSON number is not money.
    let number = app
        .gql(
            &ada,
            "mutation($i: DepositInput!) { deposit(input: $i) { id } }",
            json!({ "i": { "accountId": eur, "amount": 12.5, "idempotencyKey": "n" } }),
        )
        .await;
    assert!(number["errors"].is_array(), "{number}");
    assert_eq!(app.balance(&ada, eur).await, "0.00");
}

#[tokio::test]
async fn requests_need_a_token_a_valid_key_and_sane_page_sizes() {
    let app = spawn_app().await;
    let ada = app.customer();
    let account = app.open(&ada, "EUR").await;
    let anonymous = app
        .client
        .query(
            None,
            "mutation($i: DepositInput!) { deposit(input: $i) { id } }",
            json!({ "i": { "accountId": account, "amount": "1", "idempotencyKey": "k" } }),
        )
        .await;
    assert_code(&anonymous, "UNAUTHENTICATED");
    assert_code(
        &app.deposit_with_key(&ada, account, "1", "has spaces").await,
        "BAD_USER_INPUT",
    );
    assert_code(
        &app.transfer(&ada, account, account, "1").await,
        "BAD_USER_INPUT",
    );
    let unknown = uuid::Uuid::now_v7();
    assert_code(&app.deposit(&ada, unknown, "1").await, "NOT_FOUND");
    let page = app
        .gql(
            &ada,
            "query($r: [_Any!]!) { _entities(representations: $r) { ... on Account { transactions(first: 101) { edges { cursor } } } } }",
            json!({ "r": [{ "__typename": "Account", "id": account }] }),
        )
        .await;
    assert_code(&page, "BAD_USER_INPUT");
    let cursor = app
        .gql(
            &ada,
            "query($r: [_Any!]!) { _entities(representations: $r) { ... on Account { transactions(after: \"bogus\") { edges { cursor } } } } }",
            json!({ "r": [{ "__typename": "Account", "id": account }] }),
        )
        .await;
    assert_code(&cursor, "BAD_USER_INPUT");
}

#[tokio::test]
async fn staff_may_not_change_the_limits_of_their_own_account() {
    let app = spawn_app().await;
    let (teller, colleague) = (app.teller(), app.teller());
    let own = app.open(&teller, "EUR").await;
    let set = "mutation($i: SetAccountLimitsInput!) { setAccountLimits(input: $i) { overdraftLimit { amount } } }";
    let vars = json!({ "i": { "accountId": own, "overdraftLimit": "500.00" } });
    let refused = app.gql(&teller, set, vars.clone()).await;
    assert_code(&refused, "FORBIDDEN");
    assert_eq!(
        app.gql(&teller, "query($id: ID!) { _entities(representations: [{ __typename: \"Account\", id: $id }]) { ... on Account { overdraftLimit { amount } } } }", json!({ "id": own })).await["data"]["_entities"][0]["overdraftLimit"]["amount"],
        "0.00",
        "nothing changed"
    );
    let by_colleague = app.gql(&colleague, set, vars).await;
    assert_eq!(
        data(&by_colleague)["setAccountLimits"]["overdraftLimit"]["amount"],
        "500.00"
    );
}

#[tokio::test]
async fn cash_comes_in_at_a_teller_unless_the_sandbox_switch_is_on() {
    // Production: self-service deposits off.
    let app = spawn_app_with(LedgerConfig {
        self_deposit_limit: None,
        ..test_ledger_config()
    })
    .await;
    let (ada, teller) = (app.customer(), app.teller());
    let account = app.open(&ada, "EUR").await;
    assert_code(&app.deposit(&ada, account, "100").await, "FORBIDDEN");
    assert_eq!(
        app.balance(&ada, account).await,
        "0.00",
        "money from nothing refused"
    );
    data(&app.deposit(&teller, account, "100").await);
    assert_eq!(
        app.balance(&ada, account).await,
        "100.00",
        "a teller takes the cash"
    );
    let own = app.open(&teller, "EUR").await;
    assert_code(&app.deposit(&teller, own, "100").await, "FORBIDDEN");
    assert_eq!(
        app.balance(&teller, own).await,
        "0.00",
        "not into the teller's own account"
    );

    // A sandbox: allowed up to the daily limit per account.
    let sandbox = spawn_app_with(LedgerConfig {
        self_deposit_limit: Some(100),
        ..test_ledger_config()
    })
    .await;
    let bob = sandbox.customer();
    let account = sandbox.open(&bob, "EUR").await;
    data(&sandbox.deposit(&bob, account, "60").await);
    assert_code(
        &sandbox.deposit(&bob, account, "40.01").await,
        "LIMIT_EXCEEDED",
    );
    data(&sandbox.deposit(&bob, account, "40").await);
    assert_eq!(sandbox.balance(&bob, account).await, "100.00");
    sandbox.assert_ledger_ok().await;
}

#[tokio::test]
async fn raising_a_limit_past_the_threshold_needs_a_second_member_of_staff() {
    let app = spawn_app().await;
    let (ada, teller, colleague) = (app.customer(), app.teller(), app.teller());
    let account = app.open(&ada, "EUR").await;
    let set = "mutation($i: SetAccountLimitsInput!) { setAccountLimits(input: $i) { overdraftLimit { amount } } }";
    let high = json!({ "i": { "accountId": account, "overdraftLimit": "2500.00" } });
    let overdraft =
        |reply: &Value| data(reply)["setAccountLimits"]["overdraftLimit"]["amount"].clone();
    // Up to the threshold (1,000 by default) one member of staff is enough.
    let low = json!({ "i": { "accountId": account, "overdraftLimit": "1000.00" } });
    assert_eq!(overdraft(&app.gql(&teller, set, low).await), "1000.00");
    // Past it, the first request is recorded and nothing changes, however often it is made.
    for _ in 0..2 {
        assert_code(
            &app.gql(&teller, set, high.clone()).await,
            "SECOND_APPROVAL_REQUIRED",
        );
    }
    data(&app.withdraw(&ada, account, "1000").await);
    assert_code(
        &app.withdraw(&ada, account, "0.01").await,
        "INSUFFICIENT_FUNDS",
    );
    // A second member of staff asking for different limits starts over, as the first.
    let other = json!({ "i": { "accountId": account, "overdraftLimit": "3000.00" } });
    assert_code(
        &app.gql(&colleague, set, other).await,
        "SECOND_APPROVAL_REQUIRED",
    );
    assert_code(
        &app.gql(&teller, set, high.clone()).await,
        "SECOND_APPROVAL_REQUIRED",
    );
    // The same limits from a second member of staff apply them.
    assert_eq!(
        overdraft(&app.gql(&colleague, set, high.clone()).await),
        "2500.00"
    );
    data(&app.withdraw(&ada, account, "1500").await);
    assert_eq!(app.balance(&ada, account).await, "-2500.00");
    // Used up: the next raise starts over.
    let higher = json!({ "i": { "accountId": account, "overdraftLimit": "2600.00" } });
    assert_code(
        &app.gql(&teller, set, higher).await,
        "SECOND_APPROVAL_REQUIRED",
    );
    app.assert_ledger_ok().await;
}

#[tokio::test]
async fn staff_moving_money_out_of_a_customers_account_need_a_second_member_of_staff() {
    let app = spawn_app().await;
    let (ada, teller, colleague) = (app.customer(), app.teller(), app.teller());
    let from = app.open(&ada, "EUR").await;
    let to = app.open(&teller, "EUR").await;
    data(&app.deposit(&ada, from, "100").await);
    let key = Uuid::new_v4().to_string();
    // One member of staff: recorded, nothing moves, however often.
    for _ in 0..2 {
        let once = app.transfer_with_key(&teller, from, to, "40", &key).await;
        assert_code(&once, "SECOND_APPROVAL_REQUIRED");
    }
    assert_eq!(app.balance(&ada, from).await, "100.00");
    // A second one with a different amount under the key is another request, not this one.
    let other = app
        .transfer_with_key(&colleague, from, to, "41", &key)
        .await;
    assert_code(&other, "SECOND_APPROVAL_REQUIRED");
    assert_code(
        &app.transfer_with_key(&teller, from, to, "40", &key).await,
        "SECOND_APPROVAL_REQUIRED",
    );
    // The same request from a second member of staff moves the money, once, whoever retries.
    let moved = app
        .transfer_with_key(&colleague, from, to, "40", &key)
        .await;
    let id = data(&moved)["transfer"]["id"].clone();
    for caller in [&teller, &colleague] {
        let again = app.transfer_with_key(caller, from, to, "40", &key).await;
        assert_eq!(data(&again)["transfer"]["id"], id);
    }
    assert_code(
        &app.transfer_with_key(&teller, from, to, "39", &key).await,
        "IDEMPOTENCY_KEY_REUSED",
    );
    assert_eq!(app.balance(&ada, from).await, "60.00");
    // A member of staff's own account, and money in, need no second pair of eyes.
    data(&app.transfer(&teller, to, from, "1").await);
    data(&app.deposit(&teller, from, "1").await);
    app.assert_ledger_ok().await;
}

#[tokio::test]
async fn only_a_sandbox_administrator_books_in_the_past_and_only_in_time_order() {
    let deposit = "mutation($i: DepositInput!) { deposit(input: $i) { id createdAt } }";
    let at = |days: i64| (chrono::Utc::now() - chrono::TimeDelta::days(days)).to_rfc3339();
    let vars = |account: Uuid, days: i64| {
        json!({ "i": { "accountId": account, "amount": "10", "idempotencyKey": Uuid::new_v4(),
                       "bookedAt": at(days) } })
    };
    // Production: the switch is off, even for an administrator.
    let app = spawn_app().await;
    let (ada, admin) = (app.customer(), app.caller(&[Role::Admin]));
    let account = app.open(&ada, "EUR").await;
    assert_code(
        &app.gql(&admin, deposit, vars(account, 30)).await,
        "FORBIDDEN",
    );

    let sandbox = spawn_app_with(LedgerConfig {
        backdating: true,
        ..test_ledger_config()
    })
    .await;
    let (ada, teller, admin) = (
        sandbox.customer(),
        sandbox.teller(),
        sandbox.caller(&[Role::Admin]),
    );
    let account = sandbox.open(&ada, "EUR").await;
    assert_code(
        &sandbox.gql(&ada, deposit, vars(account, 30)).await,
        "FORBIDDEN",
    );
    assert_code(
        &sandbox.gql(&teller, deposit, vars(account, 30)).await,
        "FORBIDDEN",
    );
    let future = json!({ "i": { "accountId": account, "amount": "10", "idempotencyKey": Uuid::new_v4(),
                                "bookedAt": (chrono::Utc::now() + chrono::TimeDelta::hours(1)).to_rfc3339() } });
    assert_code(
        &sandbox.gql(&admin, deposit, future).await,
        "BAD_USER_INPUT",
    );
    let booked = sandbox.gql(&admin, deposit, vars(account, 30)).await;
    let created: chrono::DateTime<chrono::Utc> = data(&booked)["deposit"]["createdAt"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let age = chrono::Utc::now() - created;
    assert!(age > chrono::TimeDelta::days(29), "booked {age} ago");
    data(&sandbox.gql(&admin, deposit, vars(account, 20)).await);
    // Earlier than what the account already holds: refused, so postings stay in time order.
    assert_code(
        &sandbox.gql(&admin, deposit, vars(account, 25)).await,
        "BAD_USER_INPUT",
    );
    assert_eq!(sandbox.balance(&ada, account).await, "20.00");
    sandbox.assert_ledger_ok().await;
}
