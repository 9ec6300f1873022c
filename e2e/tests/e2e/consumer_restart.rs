//! Every consumer group survives a crash of its service: the service is killed (SIGKILL, so it
//! never leaves its group) while money moves, started again, and its group resumes from the
//! committed offsets. Each test checks that the group has partitions again and has consumed
//! everything (its `/metrics`), and what the group's events are for: a new account takes a
//! deposit (the ledger learns of accounts), each posting is one notification (notifications),
//! a loan is paid out and repaid (loans). They restart the stack's services, so
//! `scripts/test.sh` runs them on their own, one at a time (`--run-ignored only`).

use std::time::{Duration, Instant};

use bank_e2e::{Bank, Customer};
use serde_json::{json, Value};
use uuid::Uuid;

fn port(name: &str, default: u16) -> u16 {
    std::env::var(format!("BANK_{}_PORT", name.to_ascii_uppercase()))
        .ok()
        .and_then(|port| port.parse().ok())
        .unwrap_or(default)
}

async fn stack(step: &str, service: &str) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/stack.sh");
    let status = tokio::process::Command::new("bash")
        .args([script, step, service])
        .status()
        .await
        .expect("stack.sh runs");
    assert!(status.success(), "stack.sh {step} {service}");
}

/// The values of `metric` for consumer `group` in a service's `/metrics`, one per series.
async fn series(port: u16, metric: &str, group: &str) -> Vec<i64> {
    let body = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .and_then(|response| response.error_for_status())
        .expect("metrics")
        .text()
        .await
        .expect("metrics body");
    let label = format!("group=\"{group}\"");
    body.lines()
        .filter(|line| line.starts_with(&format!("{metric}{{")) && line.contains(&label))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|value| value as i64)
        .collect()
}

/// Waits until the group's member in the service has partitions and no lag; answers how long
/// it took after the service was ready again.
async fn group_caught_up(port: u16, group: &str) -> Duration {
    let started = Instant::now();
    let mut last = (vec![], vec![]);
    while started.elapsed() < Duration::from_secs(60) {
        let assigned = series(port, "kafka_consumer_assigned_partitions", group).await;
        let lag = series(port, "kafka_consumer_lag", group).await;
        if assigned.iter().sum::<i64>() > 0 && !lag.is_empty() && lag.iter().all(|l| *l == 0) {
            return started.elapsed();
        }
        last = (assigned, lag);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!(
        "group {group} did not catch up: assigned {:?}, lag {:?}",
        last.0, last.1
    );
}

async fn deposit(
    bank: &Bank,
    customer: &Customer,
    account: &Value,
    amount: &str,
) -> bank_e2e::Reply {
    bank.query(
        Some(&customer.token),
        "mutation($i: DepositInput!) { deposit(input: $i) { id } }",
        json!({ "i": { "accountId": account["id"], "amount": amount, "idempotencyKey": Uuid::new_v4() } }),
    )
    .await
}

async fn balance(bank: &Bank, customer: &Customer, account: &Value) -> String {
    let reply = bank
        .query(
            Some(&customer.token),
            "query($id: ID!) { account(id: $id) { balance { amount } } }",
            json!({ "id": account["id"] }),
        )
        .await;
    reply.data()["account"]["balance"]["amount"]
        .as_str()
        .unwrap()
        .to_string()
}

struct Pair {
    ada: Customer,
    bob: Customer,
    from: Value,
    to: Value,
}

async fn pair(bank: &Bank) -> Pair {
    let ada = bank.new_customer("ada").await;
    let bob = bank.new_customer("bob").await;
    let from = bank.open_account(&ada, "EUR").await;
    let to = bank.open_account(&bob, "EUR").await;
    deposit(bank, &ada, &from, "1000").await.data();
    Pair { ada, bob, from, to }
}

/// Transfers of 1.00 from ada to bob every 50 ms for `seconds`, while `service` is killed after
/// two seconds and started again. Answers the transfers the bank confirmed, those it refused,
/// and when the service was killed.
async fn transfers_while_crashing(
    bank: &Bank,
    pair: &Pair,
    service: &str,
    seconds: u64,
) -> ((i64, i64), Instant) {
    let load = async {
        let (mut confirmed, mut refused) = (0i64, 0i64);
        let deadline = Instant::now() + Duration::from_secs(seconds);
        while Instant::now() < deadline {
            let reply = bank
                .query(
                    Some(&pair.ada.token),
                    "mutation($i: TransferInput!) { transfer(input: $i) { id } }",
                    json!({ "i": { "fromAccountId": pair.from["id"], "toAccountId": pair.to["id"], "amount": "1.00", "idempotencyKey": Uuid::new_v4() } }),
                )
                .await;
            if reply.code().is_none() {
                confirmed += 1;
            } else {
                refused += 1;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        (confirmed, refused)
    };
    let crash = async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        stack("kill", service).await;
        let killed = Instant::now();
        tokio::time::sleep(Duration::from_millis(500)).await;
        stack("start", service).await;
        killed
    };
    tokio::join!(load, crash)
}

#[tokio::test]
#[ignore = "kills the stack's transactions service; scripts/test.sh runs it alone"]
async fn the_ledger_group_resumes_after_a_crash_and_new_accounts_take_deposits() {
    let bank = Bank::from_env().unwrap();
    let pair = pair(&bank).await;
    let ((confirmed, refused), killed) =
        transfers_while_crashing(&bank, &pair, "transactions", 6).await;
    // The ledger runs two replicas behind NGINX (scripts/stack.sh): a crash of one refuses at
    // most the transfer it had taken when it died (NGINX does not send a POST twice), and one
    // sent on a connection to it that NGINX had kept open (0 in a measured run). With one
    // replica (BANK_LEDGER_REPLICAS=1), every transfer until the restarted process is ready is
    // refused: 45 of 96 in a measured run.
    println!("{confirmed} transfers confirmed, {refused} refused while one ledger replica crashed");
    assert!(
        refused <= 2,
        "{refused} transfers refused while one of two ledger replicas crashed"
    );

    // The ledger learns of an account opened after the crash (bank.accounts, group
    // transactions-ledger) and takes a deposit into it, within seconds: the dead member's
    // partitions are handed on after the session timeout (6 s) and the router's circuit
    // breaker probes the restarted subgraph after 2 s (with its default of 30 s, the first
    // deposit went through about 30 s after the kill).
    let carol = bank.new_customer("carol").await;
    let fresh = bank.open_account(&carol, "EUR").await;
    let deadline = killed + Duration::from_secs(20);
    loop {
        let reply = deposit(&bank, &carol, &fresh, "25").await;
        if reply.code().is_none() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a new account took no deposit within 20 s of the crash: {:?}",
            reply.code()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!(
        "deposit into a new account {:?} after the kill",
        killed.elapsed()
    );
    assert_eq!(balance(&bank, &carol, &fresh).await, "25.00");
    let caught_up = group_caught_up(port("transactions", 4003), "transactions-ledger").await;
    println!("transactions-ledger caught up {caught_up:?} later");

    // Money moved once: whatever transfers committed (a reply may have been lost with the
    // process) left ada's account exactly as they reached bob's.
    let sent = 1000.0
        - balance(&bank, &pair.ada, &pair.from)
            .await
            .parse::<f64>()
            .unwrap();
    let received = balance(&bank, &pair.bob, &pair.to)
        .await
        .parse::<f64>()
        .unwrap();
    assert!(received > 0.0, "transfers were made");
    assert_eq!(sent, received, "every transfer debited and credited once");
}

#[tokio::test]
#[ignore = "kills the stack's notifications service; scripts/test.sh runs it alone"]
async fn the_notifications_group_resumes_after_a_crash_and_applies_each_event_once() {
    let bank = Bank::from_env().unwrap();
    let pair = pair(&bank).await;
    let ((transfers, _), _) = transfers_while_crashing(&bank, &pair, "notifications", 8).await;
    assert!(transfers > 20, "money kept moving ({transfers} transfers)");
    let caught_up = group_caught_up(port("notifications", 4004), "notifications").await;
    println!("notifications caught up {caught_up:?} after its restart");

    // Redelivered events (offsets not yet committed at the crash) would show up as duplicates.
    let (counts, counts_after) = bank
        .unread_after_transfers(&pair.bob, &pair.ada, transfers)
        .await;
    assert_eq!(counts, counts_after, "nothing arrived twice late");
    bank_e2e::assert_one_notification_per_posting(counts, transfers);
}

#[tokio::test]
#[ignore = "kills the stack's loans service; scripts/test.sh runs it alone"]
async fn the_loans_group_resumes_after_a_crash_and_loans_still_pay_out() {
    let bank = Bank::from_env().unwrap();
    let pair = pair(&bank).await;
    // The loans service reads every ledger event (group loans-ledger): transfers make them.
    let ((transfers, _), _) = transfers_while_crashing(&bank, &pair, "loans", 6).await;
    assert!(transfers > 20, "money kept moving ({transfers} transfers)");
    let caught_up = group_caught_up(port("loans", 4005), "loans-ledger").await;
    println!("loans-ledger caught up {caught_up:?} after its restart");

    let admin = bank.admin_token().await;
    let applied = bank
        .query(
            Some(&pair.bob.token),
            "mutation($i: ApplyForLoanInput!) { applyForLoan(input: $i) { id } }",
            json!({ "i": { "productCode": "MICRO_EUR", "accountId": pair.to["id"], "amount": "500",
                           "termMonths": 5, "idempotencyKey": Uuid::new_v4() } }),
        )
        .await;
    let loan_id = applied.data()["applyForLoan"]["id"].clone();
    let teller = bank.new_teller().await;
    assert_eq!(
        bank.approve_and_pay_out(&admin, &teller, &loan_id).await,
        "ACTIVE"
    );
    let repaid = bank
        .query(
            Some(&pair.bob.token),
            "mutation($i: RepayLoanInput!) { repayLoan(input: $i) { status } }",
            json!({ "i": { "loanId": loan_id, "amount": "100", "idempotencyKey": Uuid::new_v4() } }),
        )
        .await;
    assert_eq!(repaid.data()["repayLoan"]["status"], "POSTED");
    let expected = format!("{}.00", transfers + 500 - 100);
    assert_eq!(balance(&bank, &pair.bob, &pair.to).await, expected);
    group_caught_up(port("loans", 4005), "loans-ledger").await;
}
