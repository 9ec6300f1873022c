use std::time::Duration;

use bank_testkit::data;
use chrono::{Datelike, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{spawn_app, Caller, TestApp};

const ORDER_FIELDS: &str = "id status frequency startOn endOn nextRunOn lastRunOn runs \
    amount { amount currency } creditorName creditorIban remittance fromAccount { id } \
    payments { edges { node { id status amount { amount } remittance } } }";

async fn create(app: &TestApp, caller: &Caller, input: Value) -> Value {
    app.gql(
        caller,
        &format!("mutation($i: CreateStandingOrderInput!) {{ createStandingOrder(input: $i) {{ {ORDER_FIELDS} }} }}"),
        json!({ "i": input }),
    )
    .await
}

async fn order(app: &TestApp, caller: &Caller, id: &Value) -> Value {
    let response = app
        .gql(
            caller,
            &format!("query($id: ID!) {{ standingOrder(id: $id) {{ {ORDER_FIELDS} }} }}"),
            json!({ "id": id }),
        )
        .await;
    data(&response)["standingOrder"].clone()
}

/// Waits until the order has paid `runs` dates and its payments reached `status` (up to 30 s).
async fn wait_for_runs(
    app: &TestApp,
    caller: &Caller,
    id: &Value,
    runs: i64,
    status: &str,
) -> Value {
    let mut last = Value::Null;
    for _ in 0..150 {
        last = order(app, caller, id).await;
        let payments = last["payments"]["edges"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if last["runs"] == runs
            && payments.len() as i64 == runs
            && payments.iter().all(|e| e["node"]["status"] == status)
        {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the order never paid {runs} dates to {status}: {last:#}");
}

fn code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
}

fn next_month(day: NaiveDate) -> NaiveDate {
    let (y, m) = if day.month() == 12 {
        (day.year() + 1, 1)
    } else {
        (day.year(), day.month() + 1)
    };
    (1..=day.day())
        .rev()
        .find_map(|d| NaiveDate::from_ymd_opt(y, m, d))
        .unwrap()
}

#[tokio::test]
async fn a_standing_order_pays_on_its_dates_once_each_and_stops_when_cancelled() {
    let app = spawn_app().await;
    let (ada, bob) = (app.customer(), app.customer());
    let account = app.funded_account(&ada, "EUR", "100").await;
    let bobs = app.funded_account(&bob, "EUR", "100").await;
    let today = Utc::now().date_naive();
    let input = json!({ "fromAccountId": account, "creditorName": "Landlord", "creditorIban": "DE89 3704 0044 0532 0130 00",
                        "amount": "30", "remittance": "Rent", "frequency": "MONTHLY",
                        "startOn": today.to_string(), "idempotencyKey": Uuid::new_v4() });

    // Validation and ownership first: nothing is set up.
    for (field, value, expected) in [
        (
            "startOn",
            json!((today - chrono::Duration::days(1)).to_string()),
            "startOn",
        ),
        (
            "endOn",
            json!((today - chrono::Duration::days(1)).to_string()),
            "endOn",
        ),
        ("amount", json!("0"), "amount"),
        (
            "creditorIban",
            json!("DE89 3704 0044 0532 0130 01"),
            "creditorIban",
        ),
    ] {
        let mut bad = input.clone();
        bad[field] = value;
        let response = create(&app, &ada, bad).await;
        assert_eq!(code(&response), "BAD_USER_INPUT", "{field}: {response}");
        assert_eq!(response["errors"][0]["extensions"]["field"], expected);
    }
    let mut others = input.clone();
    others["fromAccountId"] = json!(bobs);
    assert_eq!(code(&create(&app, &ada, others).await), "NOT_FOUND");

    let created = data(&create(&app, &ada, input.clone()).await)["createStandingOrder"].clone();
    assert_eq!(created["status"], "ACTIVE");
    assert_eq!(created["startOn"], today.to_string());
    let replay = data(&create(&app, &ada, input.clone()).await)["createStandingOrder"].clone();
    assert_eq!(
        replay["id"], created["id"],
        "the same key is the same order"
    );
    let mut reused = input.clone();
    reused["amount"] = json!("31");
    assert_eq!(
        code(&create(&app, &ada, reused).await),
        "IDEMPOTENCY_KEY_REUSED"
    );

    // Today's date is paid by the worker: an ordinary payment, settled through the gateway.
    let paid = wait_for_runs(&app, &ada, &created["id"], 1, "COMPLETED").await;
    assert_eq!(paid["lastRunOn"], today.to_string());
    assert_eq!(paid["nextRunOn"], next_month(today).to_string());
    assert_eq!(paid["payments"]["edges"][0]["node"]["remittance"], "Rent");
    assert_eq!(app.balance(account).await, 7_000);

    // A date the service missed (it was down): paid once, then the order goes on.
    app.db
        .execute(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "UPDATE standing_orders SET next_run_on = $2 WHERE id = $1",
            [
                Uuid::parse_str(created["id"].as_str().unwrap())
                    .unwrap()
                    .into(),
                (today - chrono::Duration::days(1)).into(),
            ],
        ))
        .await
        .unwrap();
    let caught_up = wait_for_runs(&app, &ada, &created["id"], 2, "COMPLETED").await;
    assert_eq!(app.balance(account).await, 4_000);
    assert_eq!(app.ledger_transactions("EXTERNAL_PAYMENT").await, 2);
    assert_ne!(caught_up["nextRunOn"], Value::Null);

    // Cancelled: no further payment, even when a date comes round; bob cannot see or cancel it.
    let cancel = "mutation($id: ID!) { cancelStandingOrder(id: $id) { status nextRunOn } }";
    assert_eq!(
        code(&app.gql(&bob, cancel, json!({ "id": created["id"] })).await),
        "NOT_FOUND"
    );
    let cancelled = app.gql(&ada, cancel, json!({ "id": created["id"] })).await;
    assert_eq!(
        data(&cancelled)["cancelStandingOrder"],
        json!({ "status": "CANCELLED", "nextRunOn": null })
    );
    let listed = app
        .gql(
            &ada,
            "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { standingOrders { id status } } } }",
            json!({ "r": [{ "__typename": "User", "id": ada.id }] }),
        )
        .await;
    assert_eq!(
        data(&listed)["_entities"][0]["standingOrders"][0]["status"],
        "CANCELLED"
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(app.balance(account).await, 4_000);
    app.assert_ledger_consistent().await;
}

#[tokio::test]
async fn a_date_without_the_money_fails_alone_and_a_last_date_ends_the_order() {
    let app = spawn_app().await;
    let ada = app.customer();
    let account = app.funded_account(&ada, "EUR", "10").await;
    let today = Utc::now().date_naive();
    let created = data(
        &create(
            &app,
            &ada,
            json!({ "fromAccountId": account, "creditorName": "Gym", "creditorIban": "GB82 WEST 1234 5698 7654 32",
                    "amount": "25", "frequency": "WEEKLY", "startOn": today.to_string(),
                    "endOn": (today + chrono::Duration::days(7)).to_string(), "idempotencyKey": Uuid::new_v4() }),
        )
        .await,
    )["createStandingOrder"]
        .clone();
    // 25.00 from 10.00: this date's payment is refused, the order goes on to next week.
    let first = wait_for_runs(&app, &ada, &created["id"], 1, "FAILED").await;
    assert_eq!(first["status"], "ACTIVE");
    assert_eq!(
        first["nextRunOn"],
        (today + chrono::Duration::days(7)).to_string()
    );
    assert_eq!(app.balance(account).await, 1_000);

    // The last date (brought forward here to yesterday) pays, then the order has ended.
    app.ledger_client
        .query(
            Some(&ada.token),
            "mutation($i: DepositInput!) { deposit(input: $i) { id } }",
            json!({ "i": { "accountId": account, "amount": "20", "idempotencyKey": Uuid::new_v4() } }),
        )
        .await;
    app.db
        .execute(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "UPDATE standing_orders SET start_on = $2 - 7, next_run_on = $2, end_on = $2 WHERE id = $1",
            [
                Uuid::parse_str(created["id"].as_str().unwrap()).unwrap().into(),
                (today - chrono::Duration::days(1)).into(),
            ],
        ))
        .await
        .unwrap();
    let mut last = Value::Null;
    for _ in 0..150 {
        last = order(&app, &ada, &created["id"]).await;
        if last["status"] == "ENDED" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(last["status"], "ENDED", "{last:#}");
    assert_eq!(last["nextRunOn"], Value::Null);
    assert_eq!(last["runs"], 2);
    assert_eq!(app.balance(account).await, 500);
    app.assert_ledger_consistent().await;
}

#[tokio::test]
async fn a_customer_holds_at_most_twenty_active_standing_orders() {
    let app = spawn_app().await;
    let ada = app.customer();
    let account = app.funded_account(&ada, "EUR", "0").await;
    // Starting next week: nothing is paid while the test runs.
    let start = (Utc::now().date_naive() + chrono::Duration::days(7)).to_string();
    let input = |n: usize| {
        json!({ "fromAccountId": account, "creditorName": format!("Creditor {n}"),
                "creditorIban": "DE89 3704 0044 0532 0130 00", "amount": "1", "frequency": "WEEKLY",
                "startOn": start, "idempotencyKey": Uuid::new_v4() })
    };
    let mut ids = Vec::new();
    for n in 0..20 {
        ids.push(data(&create(&app, &ada, input(n)).await)["createStandingOrder"]["id"].clone());
    }
    assert_eq!(code(&create(&app, &ada, input(20)).await), "LIMIT_EXCEEDED");
    // A cancelled order no longer counts.
    app.gql(
        &ada,
        "mutation($id: ID!) { cancelStandingOrder(id: $id) { status } }",
        json!({ "id": ids[0] }),
    )
    .await;
    assert_eq!(
        data(&create(&app, &ada, input(21)).await)["createStandingOrder"]["status"],
        "ACTIVE"
    );
}

#[tokio::test]
async fn an_order_cancelled_after_the_worker_leased_it_pays_nothing() {
    let app = spawn_app().await;
    let ada = app.customer();
    let account = app.funded_account(&ada, "EUR", "100").await;
    // Due tomorrow, so the running worker leaves it alone; leased here as if tomorrow had come.
    let tomorrow = Utc::now().date_naive() + chrono::Duration::days(1);
    let input = json!({ "fromAccountId": account, "creditorName": "Landlord", "creditorIban": "DE89 3704 0044 0532 0130 00",
                        "amount": "30", "remittance": "Rent", "frequency": "WEEKLY",
                        "startOn": tomorrow.to_string(), "idempotencyKey": Uuid::new_v4() });
    let created = data(&create(&app, &ada, input).await)["createStandingOrder"].clone();
    let leased = payments_subgraph::store::lease_due_standing_orders(
        &app.db,
        tomorrow,
        50,
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    let leased = leased
        .into_iter()
        .find(|order| order.id.to_string() == created["id"].as_str().unwrap())
        .expect("the order is leased");

    // The customer cancels while the worker holds the lease; then the worker gets to it.
    let cancelled = app
        .gql(
            &ada,
            "mutation($id: ID!) { cancelStandingOrder(id: $id) { status } }",
            json!({ "id": created["id"] }),
        )
        .await;
    assert_eq!(
        data(&cancelled)["cancelStandingOrder"]["status"],
        "CANCELLED"
    );
    app.worker.pay_standing_order(&leased).await.unwrap();

    let after = order(&app, &ada, &created["id"]).await;
    assert_eq!(
        after["payments"]["edges"].as_array().unwrap().len(),
        0,
        "{after:#}"
    );
    assert_eq!(after["runs"], 0);
    assert_eq!(app.balance(account).await, 10_000, "nothing was paid");
}
