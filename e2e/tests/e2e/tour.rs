//! The README's five-minute tour ("A five-minute tour"), followed step by step on the running
//! stack as the demo customer `make up` seeded (`BANK_DEMO_EMAIL`, `BANK_DEMO_PASSWORD`): what
//! the tour says is there is there, and the GraphQL it shows runs.

use std::time::Duration;

use bank_e2e::Bank;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

/// The tour's section of the README.
fn tour() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("the README");
    let start = readme
        .find("### A five-minute tour")
        .expect("the README has the tour");
    let end = readme[start + 1..]
        .find("\n### ")
        .map_or(readme.len(), |i| start + 1 + i);
    readme[start..end].to_string()
}

/// The ```graphql blocks of a text.
fn graphql_blocks(text: &str) -> Vec<String> {
    text.split("```graphql")
        .skip(1)
        .map(|block| block.split("```").next().unwrap().trim().to_string())
        .collect()
}

#[tokio::test]
async fn the_readme_tour_holds_on_the_running_stack() {
    let bank = Bank::from_env().unwrap();
    let tour = tour();
    // Step 1: the demo customer's sign-in, as make up printed it.
    let email = std::env::var("BANK_DEMO_EMAIL").expect("BANK_DEMO_EMAIL (from .data/secrets.env)");
    let password =
        std::env::var("BANK_DEMO_PASSWORD").expect("BANK_DEMO_PASSWORD (from .data/secrets.env)");
    let login = bank.login(&email, &password).await;
    let token = login.data()["login"]["accessToken"]
        .as_str()
        .unwrap()
        .to_string();

    // Step 2: two accounts, and three months of history on Everyday.
    let me = bank
        .query(
            Some(&token),
            "{ me { accounts { id nickname transactions(first: 100) { edges { node { description createdAt } } } } } }",
            json!({}),
        )
        .await;
    let accounts = me.data()["me"]["accounts"].as_array().unwrap().clone();
    let named = |nickname: &str| {
        accounts
            .iter()
            .find(|a| a["nickname"] == nickname)
            .unwrap_or_else(|| panic!("an account called {nickname}: {accounts:?}"))
            .clone()
    };
    assert!(tour.contains("*Everyday*") && tour.contains("*Rainy day*"));
    let (everyday, rainy) = (named("Everyday"), named("Rainy day"));
    let history = everyday["transactions"]["edges"].as_array().unwrap();
    assert!(history.len() >= 30, "{} transactions", history.len());
    let times: Vec<DateTime<Utc>> = history
        .iter()
        .map(|edge| edge["node"]["createdAt"].as_str().unwrap().parse().unwrap())
        .collect();
    let span = *times.iter().max().unwrap() - *times.iter().min().unwrap();
    assert!(span >= chrono::TimeDelta::days(80), "history spans {span}");
    let descriptions: Vec<&str> = history
        .iter()
        .filter_map(|edge| edge["node"]["description"].as_str())
        .collect();
    for what in ["Salary", "Rent", "Electricity", "Card", "Monthly saving"] {
        assert!(
            descriptions.iter().any(|d| d.contains(what)),
            "the tour promises {what} in the history"
        );
    }

    // Step 3: 10.00 to Rainy day, and the notifications count it.
    let unread = bank.unread(&token).await;
    let moved = bank
        .query(
            Some(&token),
            "mutation($i: TransferInput!) { transfer(input: $i) { id } }",
            json!({ "i": { "fromAccountId": everyday["id"], "toAccountId": rainy["id"],
                           "amount": "10.00", "idempotencyKey": Uuid::new_v4() } }),
        )
        .await;
    moved.data();
    let mut counted = unread;
    for _ in 0..50 {
        counted = bank.unread(&token).await;
        if counted > unread {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(counted > unread, "the transfer is notified");

    // Steps 4 to 6: the standing order, the mandate, the loan, the notifications read and not.
    let state = bank
        .query(
            Some(&token),
            "{ me { standingOrders { remittance frequency } mandates { creditorName } loans { edges { node { status purpose repaid { amount } } } } notifications(first: 100) { unreadCount edges { node { readAt } } } } }",
            json!({}),
        )
        .await;
    let state = &state.data()["me"];
    assert!(state["standingOrders"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["frequency"] == "MONTHLY"));
    assert!(state["mandates"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["creditorName"] == "City Power"));
    let loans = state["loans"]["edges"].as_array().unwrap();
    assert!(
        loans.iter().any(|l| l["node"]["status"] == "ACTIVE"
            && l["node"]["purpose"] == "A new bike"
            && l["node"]["repaid"]["amount"] != "0.00"),
        "{loans:?}"
    );
    let read = state["notifications"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| !n["node"]["readAt"].is_null())
        .count();
    assert!(state["notifications"]["unreadCount"].as_i64().unwrap() > 0 && read > 0);

    // Step 7: GraphiQL is served, and the tour's GraphQL runs as written.
    let page = bank
        .http
        .get(format!("{}/graphiql/", bank.url))
        .send()
        .await
        .unwrap();
    assert!(page.status().is_success());
    let blocks = graphql_blocks(&tour);
    assert!(!blocks.is_empty(), "the tour shows GraphQL");
    for block in blocks {
        let reply = bank.query(Some(&token), &block, json!({})).await;
        let data: &Value = reply.data();
        assert!(!data["me"]["accounts"].as_array().unwrap().is_empty());
    }

    // Step 8: the administrator's pages answer: reconciliation and the audit trail.
    let admin = bank.admin_token().await;
    let reconciliation = bank.reconciliation(&admin).await;
    reconciliation.data();
    let audit = bank
        .query(
            Some(&admin),
            "{ auditLog { transactions { verification { ok } entries(first: 1) { nodes { action } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        audit.data()["auditLog"]["transactions"]["verification"]["ok"],
        true
    );
}
