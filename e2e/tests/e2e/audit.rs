//! The audit trail (docs/security.md): mutations recorded with who, for whom, from where and
//! with which outcome, secrets left out; readable by administrators only; append-only for the
//! services' roles; and an entry edited by hand breaks the chain's verification.

use std::time::Duration;

use bank_e2e::{database_url, psql, service_database_url, Bank};
use serde_json::{json, Value};

const TRAIL: &str = "query($action: String) { auditLog { users { entries(first: 50, action: $action) { nodes { id position actor actorRoles action subject outcome address requestId after } } } transactions { entries(first: 50, action: \"transactions.deposit\") { nodes { id actor action subject outcome after } } } } }";

const VERIFY: &str = "{ auditLog { users { verification { ok sealed unsealed problems head } } } }";

/// The superuser's URL (the administrator's own role may not change the trail either).
fn superuser_url() -> String {
    let mut url = reqwest::Url::parse(&database_url()).unwrap();
    url.set_username("postgres").unwrap();
    url.to_string()
}

/// Restores an entry edited by the test, whatever happens to the test.
struct Restore(String);

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = psql(&superuser_url(), &self.0);
    }
}

#[tokio::test]
async fn mutations_are_audited_for_administrators_and_tampering_is_detected() {
    let bank = Bank::from_env().unwrap();
    let ada = bank.new_customer("audited").await;
    let account = bank.open_account(&ada, "EUR").await;
    bank.deposit(&ada.token, &account["id"], "12.34")
        .await
        .data();
    let refused = bank.login(&ada.email, "not-her-password-1").await;
    assert_eq!(refused.code(), Some("UNAUTHENTICATED"));

    // A customer may not read the trail.
    let forbidden = bank
        .query(Some(&ada.token), TRAIL, json!({ "action": "users.login" }))
        .await;
    assert_eq!(forbidden.code(), Some("FORBIDDEN"));

    let admin = bank.admin_token().await;
    let mut login: Option<Value> = None;
    for _ in 0..50 {
        let reply = bank
            .query(Some(&admin), TRAIL, json!({ "action": "users.login" }))
            .await;
        let data = reply.data();
        let deposit = data["auditLog"]["transactions"]["entries"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|entry| entry["actor"] == ada.id.as_str())
            .cloned();
        let deposit = deposit.expect("the deposit is in the ledger's trail");
        assert_eq!(deposit["outcome"], "OK");
        assert_eq!(deposit["subject"], account["id"]);
        assert!(deposit["after"].as_str().unwrap().contains("12.34"));
        login = data["auditLog"]["users"]["entries"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|entry| entry["subject"] == ada.email.as_str())
            .cloned();
        // Sealed within a second or two.
        if login
            .as_ref()
            .is_some_and(|entry| !entry["position"].is_null())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let login = login.expect("the failed sign-in is in the users' trail");
    assert!(
        !login["position"].is_null(),
        "the entry was sealed: {login}"
    );
    assert_eq!(login["outcome"], "UNAUTHENTICATED");
    assert_eq!(login["actor"], "anonymous");
    assert!(!login["requestId"].as_str().unwrap_or_default().is_empty());
    assert!(
        !login["address"].is_null(),
        "the client's address is recorded"
    );
    let after = login["after"].as_str().unwrap();
    assert!(
        !after.contains("not-her-password-1"),
        "a password in the trail: {after}"
    );
    assert!(after.contains("[redacted]"));

    // The services' own roles may append, never change or remove.
    let users = service_database_url("users").unwrap();
    for statement in [
        "UPDATE audit_log SET outcome = 'OK'",
        "DELETE FROM audit_log",
        "DELETE FROM audit_chain",
        "TRUNCATE audit_log",
    ] {
        let err = psql(&users, statement).expect_err(statement);
        assert!(
            err.to_string().contains("permission denied"),
            "{statement}: {err}"
        );
    }

    // Edited by hand (as the superuser): the chain no longer verifies, and says where.
    let verified = bank.query(Some(&admin), VERIFY, json!({})).await;
    let id = login["id"].as_str().unwrap();
    assert_eq!(
        verified.data()["auditLog"]["users"]["verification"]["ok"],
        true,
        "{verified:?}"
    );
    let _restore = Restore(format!(
        "UPDATE users.audit_log SET outcome = 'UNAUTHENTICATED' WHERE id = {id}"
    ));
    psql(
        &superuser_url(),
        &format!("UPDATE users.audit_log SET outcome = 'OK' WHERE id = {id}"),
    )
    .unwrap();
    let broken = bank.query(Some(&admin), VERIFY, json!({})).await;
    let verification = &broken.data()["auditLog"]["users"]["verification"];
    assert_eq!(verification["ok"], false, "{verification}");
    let problems = verification["problems"].to_string();
    assert!(
        problems.contains(&format!("entry {id} ")),
        "the edited entry is named: {problems}"
    );
}
