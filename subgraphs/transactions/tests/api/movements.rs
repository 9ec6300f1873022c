use serde_json::json;

use bank_testkit::data;

use crate::helpers::{assert_code, spawn_app};

#[tokio::test]
async fn deposits_and_withdrawals_move_balances_and_appear_newest_first() {
    let app = spawn_app().await;
    let ada = app.customer();
    let account = app.open(&ada, "EUR").await;
    assert_eq!(app.balance(&ada, account).await, "0.00");

    let deposit = app.deposit(&ada, account, "100.50").await;
    let deposit = &data(&deposit)["deposit"];
    assert_eq!(deposit["kind"], "DEPOSIT");
    assert_eq!(
        deposit["amount"],
        json!({ "amount": "100.50", "currency": "EUR" })
    );
    assert_eq!(deposit["toAccount"]["id"], account.to_string());
    assert!(deposit["fromAccount"].is_null(), "cash has no account");
    data(&app.withdraw(&ada, account, "0.50").await);
    assert_eq!(app.balance(&ada, account).await, "100.00");

    let history = app
        .gql(
            &ada,
            "query($r: [_Any!]!) { _entities(representations: $r) { ... on Account { \
             transactions(first: 1) { edges { cursor amount { amount } balanceAfter { amount } node { kind } } \
             pageInfo { hasNextPage endCursor } } } } }",
            json!({ "r": [{ "__typename": "Account", "id": account }] }),
        )
        .await;
    let page = &data(&history)["_entities"][0]["transactions"];
    assert_eq!(page["edges"][0]["node"]["kind"], "WITHDRAWAL");
    assert_eq!(page["edges"][0]["amount"]["amount"], "-0.50");
    assert_eq!(page["edges"][0]["balanceAfter"]["amount"], "100.00");
    assert_eq!(page["pageInfo"]["hasNextPage"], true);

    let next = app
        .gql(
            &ada,
            "query($r: [_Any!]!, $after: String) { _entities(representations: $r) { ... on Account { \
             transactions(first: 5, after: $after) { edges { node { kind } balanceAfter { amount } } \
             pageInfo { hasNextPage hasPreviousPage } } } } }",
            json!({ "r": [{ "__typename": "Account", "id": account }], "after": page["pageInfo"]["endCursor"] }),
        )
        .await;
    let page = &data(&next)["_entities"][0]["transactions"];
    assert_eq!(page["edges"].as_array().unwrap().len(), 1);
    assert_eq!(page["edges"][0]["node"]["kind"], "DEPOSIT");
    assert_eq!(page["edges"][0]["balanceAfter"]["amount"], "100.50");
    assert_eq!(page["pageInfo"]["hasNextPage"], false);
    assert_eq!(page["pageInfo"]["hasPreviousPage"], true);
    app.assert_ledger_ok().await;
}

#[tokio::test]
async fn a_transfer_reaches_another_customer_who_alone_sees_the_destination() {
    let app = spawn_app().await;
    let (ada, bob) = (app.customer(), app.customer());
    let from = app.open(&ada, "EUR").await;
    let to = app.open(&bob, "EUR").await;
    data(&app.deposit(&ada, from, "50").await);

    let transfer = app.transfer(&ada, from, to, "20.25").await;
    let transfer = &data(&transfer)["transfer"];
    assert_eq!(transfer["kind"], "TRANSFER");
    assert_eq!(transfer["fromAccount"]["id"], from.to_string());
    assert!(
        transfer["toAccount"].is_null(),
        "the sender cannot see the receiver's account: {transfer}"
    );
    assert_eq!(app.balance(&ada, from).await, "29.75");
    assert_eq!(app.balance(&bob, to).await, "20.25");

    // Bob sees the transaction from his side; a stranger does not see it at all.
    let id = transfer["id"].as_str().unwrap();
    let seen = app
        .gql(
            &bob,
            "query($id: ID!) { transaction(id: $id) { toAccount { id } fromAccount { id } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        data(&seen)["transaction"]["toAccount"]["id"],
        to.to_string()
    );
    assert!(data(&seen)["transaction"]["fromAccount"].is_null());
    let stranger = app.customer();
    let hidden = app
        .gql(
            &stranger,
            "query($id: ID!) { transaction(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_code(&hidden, "NOT_FOUND");
    assert!(
        app.account(&ada, to).await.is_null(),
        "others' balances stay hidden"
    );
    app.assert_ledger_ok().await;
}

#[tokio::test]
async fn a_transfer_can_name_the_destination_by_account_number() {
    let app = spawn_app().await;
    let (ada, bob) = (app.customer(), app.customer());
    let from = app.open(&ada, "EUR").await;
    let to = app.open(&bob, "EUR").await;
    let number: String = {
        use sea_orm::EntityTrait;
        transactions_subgraph::store::ledger_accounts::Entity::find_by_id(to)
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
            .number
            .unwrap()
    };
    data(&app.deposit(&ada, from, "10").await);
    let spaced = format!("{} {}", &number[..4], &number[4..]).to_lowercase();
    let response = app
        .gql(
            &ada,
            "mutation($i: TransferInput!) { transfer(input: $i) { amount { amount } } }",
            json!({ "i": { "fromAccountId": from, "toAccountNumber": spaced, "amount": "4", "idempotencyKey": "by-number" } }),
        )
        .await;
    data(&response);
    assert_eq!(app.balance(&bob, to).await, "4.00");

    let both = app
        .gql(
            &ada,
            "mutation($i: TransferInput!) { transfer(input: $i) { id } }",
            json!({ "i": { "fromAccountId": from, "toAccountId": to, "toAccountNumber": number, "amount": "1", "idempotencyKey": "both" } }),
        )
        .await;
    assert_code(&both, "BAD_USER_INPUT");
}

#[tokio::test]
async fn a_statement_shows_opening_lines_and_closing_balance() {
    let app = spawn_app().await;
    let ada = app.customer();
    let account = app.open(&ada, "EUR").await;
    data(&app.deposit(&ada, account, "10").await);
    let start = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    data(&app.deposit(&ada, account, "5").await);
    data(&app.withdraw(&ada, account, "3").await);
    let end = chrono::Utc::now() + chrono::Duration::seconds(1);

    let response = app
        .gql(
            &ada,
            "query($r: [_Any!]!, $from: DateTime!, $to: DateTime!) { _entities(representations: $r) { \
             ... on Account { statement(from: $from, to: $to) { openingBalance { amount } closingBalance { amount } \
             totalCredits { amount } totalDebits { amount } lines { amount { amount } balanceAfter { amount } transaction { kind } } } } } }",
            json!({ "r": [{ "__typename": "Account", "id": account }], "from": start, "to": end }),
        )
        .await;
    let statement = &data(&response)["_entities"][0]["statement"];
    assert_eq!(statement["openingBalance"]["amount"], "10.00");
    assert_eq!(statement["closingBalance"]["amount"], "12.00");
    assert_eq!(statement["totalCredits"]["amount"], "5.00");
    assert_eq!(statement["totalDebits"]["amount"], "3.00");
    let lines = statement["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["transaction"]["kind"], "DEPOSIT");
    assert_eq!(lines[1]["amount"]["amount"], "-3.00");

    let backwards = app
        .gql(
            &ada,
            "query($r: [_Any!]!, $from: DateTime!, $to: DateTime!) { _entities(representations: $r) { \
             ... on Account { statement(from: $from, to: $to) { lines { amount { amount } } } } } }",
            json!({ "r": [{ "__typename": "Account", "id": account }], "from": end, "to": start }),
        )
        .await;
    assert_code(&backwards, "BAD_USER_INPUT");
}

#[tokio::test]
async fn staff_run_the_invariant_check_and_customers_may_not() {
    let app = spawn_app().await;
    let (ada, teller) = (app.customer(), app.teller());
    let account = app.open(&ada, "EUR").await;
    data(&app.deposit(&ada, account, "7.00").await);
    data(&app.deposit(&teller, account, "3.00").await);
    let query = "{ ledgerCheck { ok totals { amount currency } balanceMismatches unbalancedTransactions accountsChecked transactionsChecked } }";
    let report = app.gql(&teller, query, json!({})).await;
    let report = &data(&report)["ledgerCheck"];
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["transactionsChecked"], 2);
    let eur = report["totals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["currency"] == "EUR")
        .unwrap();
    assert_eq!(eur["amount"], "0.00", "cash mirrors the customer's 10.00");
    assert_code(&app.gql(&ada, query, json!({})).await, "FORBIDDEN");

    // The check finds the account that `sql` broke.
    use sea_orm::ConnectionTrait;
    let finds_broken = |sql: String| {
        let (app, teller) = (&app, &teller);
        async move {
            app.db.execute_unprepared(&sql).await.unwrap();
            let broken = app.gql(teller, query, json!({})).await;
            let broken = &data(&broken)["ledgerCheck"];
            assert_eq!(broken["ok"], false);
            assert_eq!(broken["balanceMismatches"][0], account.to_string());
        }
    };
    // A balance that does not match its postings ...
    finds_broken(format!(
        "UPDATE ledger_accounts SET balance_minor = balance_minor + 1 WHERE account_id = '{account}'"
    ))
    .await;
    // ... and a posting whose balance after it does not follow from the postings before it,
    // although the account's balance does.
    finds_broken(format!(
        "UPDATE ledger_accounts SET balance_minor = balance_minor - 1 WHERE account_id = '{account}'; \
         UPDATE postings SET balance_after_minor = balance_after_minor + 1 \
          WHERE account_id = '{account}' \
            AND id = (SELECT min(id) FROM postings WHERE account_id = '{account}')"
    ))
    .await;
}

/// A movement's audit entry is written in the movement's own database transaction (the same
/// transaction id, `xmin`, on both rows): a movement that happened has its entry even if the
/// service dies before answering. Movements that share a batch share its transaction. A
/// replay and a refusal, which write no movement, are recorded as before: one entry per
/// request, none twice.
#[tokio::test]
async fn a_movement_and_its_audit_entry_commit_together() {
    use sea_orm::{ConnectionTrait, Statement};

    let app = spawn_app().await;
    let ada = app.customer();
    let from = app.open(&ada, "EUR").await;
    let to = app.open(&ada, "EUR").await;
    data(&app.deposit(&ada, from, "100.00").await);
    let key = uuid::Uuid::new_v4().to_string();
    let moved = data(&app.transfer_with_key(&ada, from, to, "1.00", &key).await)["transfer"]["id"]
        .as_str()
        .expect("a transaction id")
        .to_string();
    let replayed = app.transfer_with_key(&ada, from, to, "1.00", &key).await;
    assert_eq!(data(&replayed)["transfer"]["id"], moved.as_str());
    assert_code(
        &app.transfer(&ada, from, to, "1000.00").await,
        "INSUFFICIENT_FUNDS",
    );
    // At once, so that some share a batch.
    let together: Vec<_> = (0..12)
        .map(|_| app.transfer(&ada, from, to, "0.50"))
        .collect();
    for answer in futures::future::join_all(together).await {
        data(&answer);
    }

    let rows = app
        .db
        .query_all(Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT a.outcome, a.actor, a.after->'answer'->>'id' AS answer, \
                    a.after->'arguments'->'input'->>'amount' AS amount, \
                    t.id IS NOT NULL AS moved, a.xmin::text = t.xmin::text AS together \
               FROM audit_log a \
               LEFT JOIN transactions t ON t.id::text = a.after->'answer'->>'id' \
              WHERE a.action IN ('transactions.transfer', 'transactions.deposit') \
              ORDER BY a.id",
        ))
        .await
        .unwrap();
    #[derive(Debug)]
    struct Entry {
        outcome: String,
        actor: String,
        answer: Option<String>,
        amount: Option<String>,
        moved: bool,
        together: Option<bool>,
    }
    let rows: Vec<Entry> = rows
        .iter()
        .map(|row| Entry {
            outcome: row.try_get("", "outcome").unwrap(),
            actor: row.try_get("", "actor").unwrap(),
            answer: row.try_get("", "answer").unwrap(),
            amount: row.try_get("", "amount").unwrap(),
            moved: row.try_get("", "moved").unwrap(),
            together: row.try_get("", "together").unwrap(),
        })
        .collect();
    assert_eq!(rows.len(), 16, "one entry per request: {rows:?}");
    assert!(rows
        .iter()
        .all(|row| row.actor == ada.id.to_string() && row.amount.is_some()));
    let written: Vec<_> = rows
        .iter()
        .filter(|row| row.outcome == "OK" && row.moved && row.together == Some(true))
        .collect();
    assert_eq!(
        written.len(),
        14,
        "the deposit and 13 transfers are each in their movement's transaction: {rows:?}"
    );
    let replay: Vec<_> = rows
        .iter()
        .filter(|row| row.answer.as_deref() == Some(moved.as_str()))
        .collect();
    assert_eq!(replay.len(), 2, "the transfer and its replay: {rows:?}");
    assert_eq!(
        replay[1].together,
        Some(false),
        "the replay is recorded apart: {rows:?}"
    );
    assert!(
        rows.iter()
            .any(|row| row.outcome == "INSUFFICIENT_FUNDS" && !row.moved),
        "the refusal is recorded: {rows:?}"
    );
}
