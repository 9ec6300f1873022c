//! Payments to other banks through the gateway: NGINX → router → payments → ledger, then the
//! stand-in payment gateway (a real process) and its signed callback; a rejected payment's
//! money comes back.

use std::time::Duration;

use bank_e2e::Bank;
use serde_json::{json, Value};
use uuid::Uuid;

const PAYMENT: &str = "id status failureCode amount { amount } debit { kind amount { amount } } \
    reversal { kind } fromAccount { number balance { amount } }";

async fn wait_for(bank: &Bank, token: &str, id: &Value, status: &str) -> Value {
    let mut last = Value::Null;
    for _ in 0..100 {
        let reply = bank
            .query(
                Some(token),
                &format!("query($id: ID!) {{ payment(id: $id) {{ {PAYMENT} }} }}"),
                json!({ "id": id }),
            )
            .await;
        last = reply.data()["payment"].clone();
        if last["status"] == status {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("payment never reached {status}: {last:#}");
}

#[tokio::test]
async fn payments_settle_or_come_back_through_the_gateway() {
    let bank = Bank::from_env().unwrap();
    let ada = bank.new_customer("payer").await;
    let account = bank.open_account(&ada, "EUR").await;
    let deposit = bank
        .query(
            Some(&ada.token),
            "mutation($i: DepositInput!) { deposit(input: $i) { id } }",
            json!({ "i": { "accountId": account["id"], "amount": "100", "idempotencyKey": Uuid::new_v4() } }),
        )
        .await;
    deposit.data();
    let payee = bank
        .query(
            Some(&ada.token),
            "mutation($i: AddPayeeInput!) { addPayee(input: $i) { id iban } }",
            json!({ "i": { "name": "Grace Hopper", "iban": "GB82 WEST 1234 5698 7654 32" } }),
        )
        .await;
    let payee_id = payee.data()["addPayee"]["id"].clone();
    let send = |remittance: &'static str| {
        let (bank, token, account, payee_id) = (
            &bank,
            ada.token.clone(),
            account["id"].clone(),
            payee_id.clone(),
        );
        async move {
            bank.query(
                Some(&token),
                &format!(
                    "mutation($i: SendPaymentInput!) {{ sendPayment(input: $i) {{ {PAYMENT} }} }}"
                ),
                json!({ "i": { "fromAccountId": account, "payeeId": payee_id, "amount": "30",
                               "remittance": remittance, "idempotencyKey": Uuid::new_v4() } }),
            )
            .await
        }
    };
    let paid = send("Invoice 7").await;
    let payment = &paid.data()["sendPayment"];
    assert_eq!(payment["status"], "QUEUED");
    // The debit is a ledger transaction, resolved by the transactions subgraph.
    assert_eq!(payment["debit"]["kind"], "EXTERNAL_PAYMENT");
    assert_eq!(payment["fromAccount"]["balance"]["amount"], "70.00");
    let done = wait_for(&bank, &ada.token, &payment["id"], "COMPLETED").await;
    assert_eq!(done["fromAccount"]["number"], account["number"]);

    let rejected = send("REJECT: closed account").await;
    let back = wait_for(
        &bank,
        &ada.token,
        &rejected.data()["sendPayment"]["id"],
        "RETURNED",
    )
    .await;
    assert_eq!(back["failureCode"], "REJECTED_BY_GATEWAY");
    assert_eq!(back["reversal"]["kind"], "REVERSAL");
    assert_eq!(back["fromAccount"]["balance"]["amount"], "70.00");
}

/// The payment gateway reaches the payments service through NGINX at /webhooks/gateway; the
/// service (not NGINX) refuses a callback without a valid signature.
#[tokio::test]
async fn gateway_callbacks_reach_the_payments_service_through_nginx() {
    let bank = Bank::from_env().unwrap();
    let url = bank.graphql_url().replace("/graphql", "/webhooks/gateway");
    let ca =
        reqwest::Certificate::from_pem(&std::fs::read(std::env::var("BANK_CA").unwrap()).unwrap())
            .unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(ca)
        .build()
        .unwrap();
    let forged = json!({ "eventId": "forged", "paymentId": Uuid::now_v7(), "status": "SETTLED" });
    let response = client
        .post(&url)
        .header("x-gateway-signature", "sha256=00")
        .json(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(response.text().await.unwrap(), "bad signature");
}

/// A creditor collects through the stand-in gateway (a real process) under a mandate the
/// customer recorded through NGINX; the customer has it refunded.
#[tokio::test]
async fn a_creditor_collects_a_direct_debit_and_the_customer_has_it_refunded() {
    let bank = Bank::from_env().unwrap();
    let gateway =
        std::env::var("BANK_GATEWAY_URL").unwrap_or_else(|_| "http://127.0.0.1:4091".into());
    let ada = bank.new_customer("debtor").await;
    let account = bank.open_account(&ada, "EUR").await;
    bank.deposit(&ada.token, &account["id"], "100").await.data();
    // Each run its own reference: a creditor's reference is one mandate.
    let reference = format!("E2E-{}", &Uuid::new_v4().simple().to_string()[..20]);
    let mandate = bank
        .query(
            Some(&ada.token),
            "mutation($i: CreateMandateInput!) { createMandate(input: $i) { id status } }",
            json!({ "i": { "accountId": account["id"], "creditorId": "DE98ZZZ09999999999",
                           "creditorName": "Stadtwerke", "reference": reference, "maxAmount": "40" } }),
        )
        .await;
    assert_eq!(mandate.data()["createMandate"]["status"], "ACTIVE");

    let answer: Value = reqwest::Client::new()
        .post(format!("{gateway}/collections"))
        .json(
            &json!({ "creditorId": "DE98ZZZ09999999999", "mandateReference": reference,
                       "amount": "25.00", "currency": "EUR", "remittance": "Electricity 11/2026" }),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["status"], "COLLECTED", "{answer}");

    const DEBIT: &str = "status debit { kind amount { amount } } refund { kind } \
        account { number balance { amount } } mandate { reference }";
    let collected = bank
        .query(
            Some(&ada.token),
            &format!("query($id: ID!) {{ directDebit(id: $id) {{ {DEBIT} }} }}"),
            json!({ "id": answer["directDebitId"] }),
        )
        .await;
    let collected = &collected.data()["directDebit"];
    assert_eq!(collected["status"], "COLLECTED");
    assert_eq!(collected["debit"]["kind"], "EXTERNAL_PAYMENT");
    assert_eq!(collected["account"]["balance"]["amount"], "75.00");
    assert_eq!(collected["mandate"]["reference"], reference.as_str());

    let refunded = bank
        .query(
            Some(&ada.token),
            &format!("mutation($id: ID!) {{ refundDirectDebit(id: $id) {{ {DEBIT} }} }}"),
            json!({ "id": answer["directDebitId"] }),
        )
        .await;
    let refunded = &refunded.data()["refundDirectDebit"];
    assert_eq!(refunded["status"], "REFUNDED");
    assert_eq!(refunded["refund"]["kind"], "REVERSAL");
    assert_eq!(refunded["account"]["balance"]["amount"], "100.00");
}

/// A standing order starting today: the stack's worker pays today's date through the stand-in
/// gateway, and the order waits for next month.
#[tokio::test]
async fn a_standing_order_pays_its_first_date_through_the_gateway() {
    let bank = Bank::from_env().unwrap();
    let ada = bank.new_customer("standing").await;
    let account = bank.open_account(&ada, "EUR").await;
    bank.query(
        Some(&ada.token),
        "mutation($i: DepositInput!) { deposit(input: $i) { id } }",
        json!({ "i": { "accountId": account["id"], "amount": "100", "idempotencyKey": Uuid::new_v4() } }),
    )
    .await
    .data();
    let today = chrono::Utc::now().date_naive().to_string();
    const ORDER: &str = "id status runs lastRunOn nextRunOn fromAccount { balance { amount } } \
        payments { edges { node { status debit { kind } } } }";
    let created = bank
        .query(
            Some(&ada.token),
            &format!("mutation($i: CreateStandingOrderInput!) {{ createStandingOrder(input: $i) {{ {ORDER} }} }}"),
            json!({ "i": { "fromAccountId": account["id"], "creditorName": "Landlord",
                           "creditorIban": "DE89 3704 0044 0532 0130 00", "amount": "30", "remittance": "Rent",
                           "frequency": "MONTHLY", "startOn": today, "idempotencyKey": Uuid::new_v4() } }),
        )
        .await;
    let id = created.data()["createStandingOrder"]["id"].clone();
    let mut last = Value::Null;
    for _ in 0..100 {
        let reply = bank
            .query(
                Some(&ada.token),
                &format!("query($id: ID!) {{ standingOrder(id: $id) {{ {ORDER} }} }}"),
                json!({ "id": id }),
            )
            .await;
        last = reply.data()["standingOrder"].clone();
        if last["payments"]["edges"][0]["node"]["status"] == "COMPLETED" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        last["payments"]["edges"][0]["node"]["status"], "COMPLETED",
        "{last:#}"
    );
    assert_eq!(
        last["payments"]["edges"][0]["node"]["debit"]["kind"],
        "EXTERNAL_PAYMENT"
    );
    assert_eq!(last["runs"], 1);
    assert_eq!(last["lastRunOn"], today.as_str());
    assert_eq!(last["status"], "ACTIVE");
    assert_eq!(last["fromAccount"]["balance"]["amount"], "70.00");
}
