use std::time::Duration;

use accounts_subgraph::events::{FROZEN, OPENED, TOPIC, UNFROZEN};
use bank_testkit::{data, events_for};
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn lifecycle_changes_reach_kafka_once_each_in_order() {
    let app = spawn_app().await;
    let (ada, teller) = (app.customer(), app.teller());
    let account = app.opened(&ada).await;
    let id = account["id"].as_str().unwrap();
    for (query, vars) in [
        (
            "mutation($id: ID!) { freezeAccount(id: $id, reason: \"check\") { id } }",
            json!({ "id": id }),
        ),
        // Freezing twice changes nothing and publishes nothing.
        (
            "mutation($id: ID!) { freezeAccount(id: $id, reason: \"again\") { id } }",
            json!({ "id": id }),
        ),
        (
            "mutation($id: ID!) { unfreezeAccount(id: $id) { id } }",
            json!({ "id": id }),
        ),
    ] {
        data(&app.client.query(Some(&teller.token), query, vars).await);
    }

    let events = events_for(TOPIC, id, 3, Duration::from_secs(30)).await;
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, vec![OPENED, FROZEN, UNFROZEN], "{events:#?}");
    let opened = &events[0];
    assert_eq!(opened["specversion"], "1.0");
    assert_eq!(opened["source"], "/accounts");
    assert_eq!(opened["data"]["ownerId"], ada.id.to_string());
    assert_eq!(opened["data"]["currency"], "EUR");
    assert_eq!(opened["data"]["number"], account["number"]);
    assert_eq!(events[1]["data"]["status"], "FROZEN");
    assert_eq!(events[1]["data"]["reason"], "check");
    let ids: std::collections::HashSet<_> =
        events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 3, "each event has its own id");
}
