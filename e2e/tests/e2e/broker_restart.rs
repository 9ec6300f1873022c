//! The broker (Apache Kafka) is killed (SIGKILL) and restarted while money moves: every
//! posting still becomes exactly one stored notification. It restarts the stack's broker, so `scripts/test.sh` runs it on its
//! own, after the other suites (`--run-ignored only`).

use std::time::Duration;

use bank_e2e::Bank;
use serde_json::json;
use uuid::Uuid;

#[tokio::test]
#[ignore = "restarts the shared broker; scripts/test.sh runs it alone"]
async fn a_broker_restart_mid_load_loses_and_duplicates_no_alert() {
    let bank = Bank::from_env().unwrap();
    let ada = bank.new_customer("ada").await;
    let bob = bank.new_customer("bob").await;
    let from = bank.open_account(&ada, "EUR").await;
    let to = bank.open_account(&bob, "EUR").await;
    bank.query(
        Some(&ada.token),
        "mutation($i: DepositInput!) { deposit(input: $i) { id } }",
        json!({ "i": { "accountId": from["id"], "amount": "1000", "idempotencyKey": Uuid::new_v4() } }),
    )
    .await
    .data();

    let load = async {
        let mut done = 0i64;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while tokio::time::Instant::now() < deadline {
            let reply = bank
                .query(
                    Some(&ada.token),
                    "mutation($i: TransferInput!) { transfer(input: $i) { id } }",
                    json!({ "i": { "fromAccountId": from["id"], "toAccountId": to["id"], "amount": "1.00", "idempotencyKey": Uuid::new_v4() } }),
                )
                .await;
            reply.data();
            done += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        done
    };
    let restart = async {
        tokio::time::sleep(Duration::from_secs(3)).await;
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/kafka.sh");
        for step in ["kill", "start"] {
            let status = tokio::process::Command::new("bash")
                .args([script, step])
                .status()
                .await
                .expect("kafka.sh runs");
            assert!(status.success(), "kafka.sh {step}");
        }
    };
    let (transfers, ()) = tokio::join!(load, restart);
    assert!(transfers > 20, "money kept moving ({transfers} transfers)");

    let (_, counts) = bank.unread_after_transfers(&bob, &ada, transfers).await;
    bank_e2e::assert_one_notification_per_posting(counts, transfers);
}
