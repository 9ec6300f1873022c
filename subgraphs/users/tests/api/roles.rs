use bank_testkit::{data, error_code};
use serde_json::json;

use crate::helpers::{spawn_app, ADMIN_EMAIL, ADMIN_PASSWORD};

/// The configured administrator signed in: their access token and id.
async fn admin(app: &crate::helpers::TestApp) -> (String, serde_json::Value) {
    let login = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let payload = &data(&login)["login"];
    (
        payload["accessToken"].as_str().unwrap().to_string(),
        payload["user"]["id"].clone(),
    )
}

const SET_ROLES: &str =
    "mutation($u: ID!, $r: [Role!]!) { setUserRoles(userId: $u, roles: $r) { id roles } }";

#[tokio::test]
async fn the_configured_administrator_is_seeded() {
    let app = spawn_app().await;
    let login = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(data(&login)["login"]["user"]["roles"], json!(["ADMIN"]));
}

#[tokio::test]
async fn an_admin_makes_a_teller_and_a_customer_cannot() {
    let app = spawn_app().await;
    let (customer_token, _, customer_id) = app.customer("clerk@example.com").await;
    let denied = app
        .client
        .query(
            Some(&customer_token),
            SET_ROLES,
            json!({ "u": customer_id, "r": ["ADMIN"] }),
        )
        .await;
    assert_eq!(error_code(&denied), Some("FORBIDDEN"));

    let login = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let admin_token = data(&login)["login"]["accessToken"]
        .as_str()
        .unwrap()
        .to_string();
    let granted = app
        .client
        .query(
            Some(&admin_token),
            SET_ROLES,
            json!({ "u": customer_id, "r": ["TELLER"] }),
        )
        .await;
    assert_eq!(data(&granted)["setUserRoles"]["roles"], json!(["TELLER"]));
}

/// A change of roles ends the user's sessions: the token with the old roles is refused (and
/// its refresh token), and a new sign-in carries the new roles.
#[tokio::test]
async fn a_demoted_users_old_token_and_session_end() {
    let app = spawn_app().await;
    let (_, _, user_id) = app.customer("was-staff@example.com").await;
    let admin = data(&app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await)["login"]["accessToken"]
        .as_str()
        .unwrap()
        .to_string();
    let set = |roles: serde_json::Value| {
        let (app, admin, user_id) = (&app, admin.clone(), user_id.clone());
        async move {
            app.client
                .query(Some(&admin), SET_ROLES, json!({ "u": user_id, "r": roles }))
                .await
        }
    };
    data(&set(json!(["TELLER"])).await);
    let teller = app
        .login("was-staff@example.com", crate::helpers::PASSWORD)
        .await;
    let teller_token = data(&teller)["login"]["accessToken"]
        .as_str()
        .unwrap()
        .to_string();
    let teller_refresh = data(&teller)["login"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        data(&app.me(&teller_token).await)["me"]["roles"],
        json!(["TELLER"])
    );

    data(&set(json!(["CUSTOMER"])).await);
    let refused = crate::auth_flows::eventually_refused(&app, &teller_token).await;
    assert_eq!(error_code(&refused), Some("UNAUTHENTICATED"), "{refused}");
    assert_eq!(
        error_code(&app.refresh(&teller_refresh).await),
        Some("UNAUTHENTICATED")
    );
    let again = app
        .login("was-staff@example.com", crate::helpers::PASSWORD)
        .await;
    assert_eq!(data(&again)["login"]["user"]["roles"], json!(["CUSTOMER"]));
    let fresh = data(&again)["login"]["accessToken"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        data(&app.me(&fresh).await)["me"]["roles"],
        json!(["CUSTOMER"])
    );
}

#[tokio::test]
async fn a_customer_resolves_only_their_own_user_entity() {
    let app = spawn_app().await;
    let (token_a, _, id_a) = app.customer("a@example.com").await;
    let (_, _, id_b) = app.customer("b@example.com").await;
    let query =
        "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id email } } }";
    let response = app
        .client
        .query(
            Some(&token_a),
            query,
            json!({ "r": [ { "__typename": "User", "id": id_a }, { "__typename": "User", "id": id_b } ] }),
        )
        .await;
    let entities = &data(&response)["_entities"];
    assert_eq!(entities[0]["email"], "a@example.com");
    assert!(entities[1].is_null(), "{response}");
}

/// An administrator disables a user: their token and session end, they cannot sign in (and
/// only the right password learns why); enabled again, they can. Nobody else may, and no
/// administrator disables themselves.
#[tokio::test]
async fn a_disabled_user_cannot_sign_in_and_their_sessions_end() {
    let app = spawn_app().await;
    let (token, refresh, user_id) = app.customer("leaving@example.com").await;
    let (other, _, _) = app.customer("other@example.com").await;
    let (admin, admin_id) = admin(&app).await;
    let disable = "mutation($u: ID!) { disableUser(userId: $u) { id disabledAt } }";
    let enable = "mutation($u: ID!) { enableUser(userId: $u) { id disabledAt } }";

    let by_customer = app
        .client
        .query(Some(&other), disable, json!({ "u": user_id }))
        .await;
    assert_eq!(error_code(&by_customer), Some("FORBIDDEN"));
    let themselves = app
        .client
        .query(Some(&admin), disable, json!({ "u": admin_id }))
        .await;
    assert_eq!(error_code(&themselves), Some("FORBIDDEN"));

    let disabled = app
        .client
        .query(Some(&admin), disable, json!({ "u": user_id }))
        .await;
    assert!(data(&disabled)["disableUser"]["disabledAt"].is_string());
    let refused = crate::auth_flows::eventually_refused(&app, &token).await;
    assert_eq!(error_code(&refused), Some("UNAUTHENTICATED"));
    assert_eq!(
        error_code(&app.refresh(&refresh).await),
        Some("UNAUTHENTICATED")
    );
    let login = app
        .login("leaving@example.com", crate::helpers::PASSWORD)
        .await;
    assert_eq!(error_code(&login), Some("FORBIDDEN"), "{login}");
    let guess = app.login("leaving@example.com", "not the password 1").await;
    assert_eq!(
        error_code(&guess),
        Some("UNAUTHENTICATED"),
        "a guess learns nothing"
    );
    assert!(data(&app.me(&other).await)["me"]["id"].is_string());

    let enabled = app
        .client
        .query(Some(&admin), enable, json!({ "u": user_id }))
        .await;
    assert!(data(&enabled)["enableUser"]["disabledAt"].is_null());
    let again = app
        .login("leaving@example.com", crate::helpers::PASSWORD)
        .await;
    assert!(data(&again)["login"]["accessToken"].is_string());
}

/// An administrator deletes a user: their address, name and password are erased, their token
/// and session end, they cannot sign in, the deletion is published once for the services that
/// keep their contact details, and the address can open a new account. Nobody else may, no
/// administrator deletes themselves, and a deleted user is not enabled again.
#[tokio::test]
async fn a_deleted_user_is_erased_and_their_address_is_free_again() {
    use sea_orm::ConnectionTrait;
    let app = spawn_app().await;
    let (token, refresh, user_id) = app.customer("gone@example.com").await;
    let (other, _, _) = app.customer("stays@example.com").await;
    let (admin, admin_id) = admin(&app).await;
    let delete =
        "mutation($u: ID!) { deleteUser(userId: $u) { id email fullName deletedAt disabledAt } }";

    let by_customer = app
        .client
        .query(Some(&other), delete, json!({ "u": user_id }))
        .await;
    assert_eq!(error_code(&by_customer), Some("FORBIDDEN"));
    let themselves = app
        .client
        .query(Some(&admin), delete, json!({ "u": admin_id }))
        .await;
    assert_eq!(error_code(&themselves), Some("FORBIDDEN"));
    let nobody = app
        .client
        .query(
            Some(&admin),
            delete,
            json!({ "u": "00000000-0000-4000-8000-000000000000" }),
        )
        .await;
    assert_eq!(error_code(&nobody), Some("NOT_FOUND"), "{nobody}");

    let deleted = app
        .client
        .query(Some(&admin), delete, json!({ "u": user_id }))
        .await;
    let row = &data(&deleted)["deleteUser"];
    assert!(row["deletedAt"].is_string(), "{deleted}");
    assert!(row["disabledAt"].is_string());
    assert_ne!(row["email"], json!("gone@example.com"));
    assert_eq!(row["fullName"], json!("Deleted user"));

    let refused = crate::auth_flows::eventually_refused(&app, &token).await;
    assert_eq!(error_code(&refused), Some("UNAUTHENTICATED"));
    assert_eq!(
        error_code(&app.refresh(&refresh).await),
        Some("UNAUTHENTICATED")
    );
    let login = app
        .login("gone@example.com", crate::helpers::PASSWORD)
        .await;
    assert_eq!(error_code(&login), Some("UNAUTHENTICATED"), "{login}");

    let again = app
        .client
        .query(Some(&admin), delete, json!({ "u": user_id }))
        .await;
    assert_eq!(data(&again)["deleteUser"]["deletedAt"], row["deletedAt"]);
    let events = app
        .db
        .query_one(sea_orm::Statement::from_sql_and_values(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT count(*) AS n FROM outbox WHERE event_type = 'bank.user.deleted.v1' \
             AND payload -> 'data' ->> 'userId' = $1",
            [user_id.as_str().into()],
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(events.try_get::<i64>("", "n").unwrap(), 1, "published once");
    let stored = app
        .db
        .query_one(sea_orm::Statement::from_sql_and_values(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT count(*) AS n FROM users WHERE email = 'gone@example.com' \
             OR full_name <> 'Deleted user' AND id = $1::uuid",
            [user_id.as_str().into()],
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.try_get::<i64>("", "n").unwrap(),
        0,
        "nothing of theirs is kept"
    );

    let enable = "mutation($u: ID!) { enableUser(userId: $u) { id } }";
    let enabled = app
        .client
        .query(Some(&admin), enable, json!({ "u": user_id }))
        .await;
    assert_eq!(error_code(&enabled), Some("BAD_USER_INPUT"), "{enabled}");

    let (_, _, new_id) = app.customer("gone@example.com").await;
    assert_ne!(new_id, user_id, "a new user with the old address");
}
