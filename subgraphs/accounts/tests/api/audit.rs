//! The audit chain's sealer against a real trail (the accounts service's, as every service's).

use bank_common::audit::{self, Look};
use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};

async fn entry(db: &impl ConnectionTrait, action: &str) {
    db.execute_unprepared(&format!(
        "INSERT INTO audit_log (actor, action, outcome) VALUES ('tester', '{action}', 'OK')"
    ))
    .await
    .unwrap();
}

async fn sealed(db: &DatabaseConnection, action: &str) -> bool {
    db.query_one(sea_orm::Statement::from_string(
        sea_orm::DatabaseBackend::Postgres,
        format!(
            "SELECT EXISTS (SELECT 1 FROM audit_chain c JOIN audit_log a ON a.id = c.entry_id \
             WHERE a.action = '{action}') AS sealed"
        ),
    ))
    .await
    .unwrap()
    .unwrap()
    .try_get("", "sealed")
    .unwrap()
}

/// A regular pass seals only what is newer than the chain's newest entry, which costs an index
/// range whatever the trail's size; an entry whose transaction commits after a later one was
/// sealed is found by the next pass that looks back, and the chain then verifies whole.
#[tokio::test]
async fn an_entry_that_commits_late_is_sealed_by_a_pass_that_looks_back() {
    let database = bank_testkit::fresh_database(accounts_subgraph::app::NAME).await;
    let db = bank_common::db::connect(&database).await.unwrap();
    accounts_subgraph::app::migrate(&db).await.unwrap();

    entry(&db, "first").await;
    assert_eq!(audit::seal_looking(&db, Look::Ahead).await.unwrap(), 1);
    // An entry takes its id, and a later one commits and is sealed before it.
    let late = db.begin().await.unwrap();
    entry(&late, "late").await;
    entry(&db, "later").await;
    assert_eq!(audit::seal_looking(&db, Look::Ahead).await.unwrap(), 1);
    assert!(sealed(&db, "later").await);
    late.commit().await.unwrap();
    assert_eq!(
        audit::seal_looking(&db, Look::Ahead).await.unwrap(),
        0,
        "a pass that looks ahead does not see below the chain's newest entry"
    );
    assert!(!sealed(&db, "late").await);
    assert_eq!(audit::seal_looking(&db, Look::Back).await.unwrap(), 1);
    assert!(sealed(&db, "late").await);

    let verification = audit::verify(&db).await.unwrap();
    assert!(verification.ok, "{:?}", verification.problems);
    assert_eq!(verification.sealed, 3);
}
