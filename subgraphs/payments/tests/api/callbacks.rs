use bank_testkit::data;
use payments_subgraph::domain::sign;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{spawn_app, WEBHOOK_SECRET};

async fn post(app: &crate::helpers::TestApp, body: &str, signature: Option<&str>) -> u16 {
    let mut request = reqwest::Client::new()
        .post(format!("http://{}/webhooks/gateway", app.addr))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(signature) = signature {
        request = request.header("x-gateway-signature", signature);
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn only_signed_callbacks_count_and_a_repeat_changes_nothing() {
    let app = spawn_app().await;
    let ada = app.customer();
    let account = app.funded_account(&ada, "EUR", "100").await;
    let sent = app
        .send(&ada, account, "40", "Rent", &Uuid::new_v4().to_string())
        .await;
    let id = data(&sent)["sendPayment"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let settled = app.wait_for_status(&ada, &id, "COMPLETED").await;
    assert_eq!(settled["status"], "COMPLETED");

    // A forged rejection: no signature, a wrong one, one over another body.
    let forged =
        json!({ "eventId": "forged-1", "paymentId": id, "status": "REJECTED", "reason": "x" })
            .to_string();
    assert_eq!(post(&app, &forged, None).await, 401);
    assert_eq!(
        post(
            &app,
            &forged,
            Some(&sign(b"not the secret", forged.as_bytes()))
        )
        .await,
        401
    );
    assert_eq!(
        post(&app, &forged, Some(&sign(WEBHOOK_SECRET.as_bytes(), b"{}"))).await,
        401
    );
    // A properly signed but late rejection of a settled payment changes nothing either.
    assert_eq!(
        post(
            &app,
            &forged,
            Some(&sign(WEBHOOK_SECRET.as_bytes(), forged.as_bytes()))
        )
        .await,
        200
    );
    let after = app.payment(&ada, &id).await;
    assert_eq!(data(&after)["payment"]["status"], "COMPLETED");
    assert_eq!(app.balance(account).await, 6_000);
    assert_eq!(app.ledger_transactions("REVERSAL").await, 0);
    // Unknown payments and malformed bodies are refused.
    let unknown =
        json!({ "eventId": "e", "paymentId": Uuid::now_v7(), "status": "SETTLED" }).to_string();
    assert_eq!(
        post(
            &app,
            &unknown,
            Some(&sign(WEBHOOK_SECRET.as_bytes(), unknown.as_bytes()))
        )
        .await,
        404
    );
    assert_eq!(
        post(
            &app,
            "nope",
            Some(&sign(WEBHOOK_SECRET.as_bytes(), b"nope"))
        )
        .await,
        400
    );
}
