//! Each service's database role reaches its own schema only (k8s/base/db-roles.sql): SQL
//! injected into one service cannot read another's tables, the users service's signing keys
//! least of all.

use bank_e2e::{psql, service_database_url};

const SERVICES: [&str; 6] = [
    "users",
    "accounts",
    "transactions",
    "notifications",
    "loans",
    "payments",
];

#[test]
fn a_service_role_reads_its_own_schema_and_no_other() {
    for service in SERVICES {
        let url = service_database_url(service).unwrap();
        // Its own migration history: the role the service runs with works.
        let own = psql(&url, "SELECT count(*) FROM seaql_migrations").unwrap();
        assert_ne!(own, ["0"], "{service} sees its migrations");
        for other in SERVICES.iter().filter(|other| **other != service) {
            let err = psql(
                &url,
                &format!("SELECT count(*) FROM {other}.seaql_migrations"),
            )
            .expect_err(&format!("{service}'s role reads {other}'s schema"));
            assert!(
                err.to_string().contains("permission denied for schema"),
                "{service} reading {other}: {err}"
            );
        }
        for statement in [
            "CREATE TABLE public.stolen (secret text)",
            "CREATE SCHEMA stolen",
        ] {
            let err =
                psql(&url, statement).expect_err(&format!("{service}'s role may {statement}"));
            assert!(
                err.to_string().contains("permission denied"),
                "{service}: {err}"
            );
        }
    }
    let keys = psql(
        &service_database_url("accounts").unwrap(),
        "SELECT private_key_pem FROM users.signing_keys",
    );
    assert!(keys.is_err(), "the accounts role reads the signing keys");
}
