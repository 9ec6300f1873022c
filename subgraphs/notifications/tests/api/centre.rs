use std::time::Duration;

use bank_testkit::{data, error_code};
use serde_json::json;

use crate::helpers::{posted, posted_on, producer, publish, spawn_app, test_settings, Subscriber};

#[tokio::test]
async fn notifications_page_newest_first_and_are_marked_read() {
    let app = spawn_app(test_settings()).await;
    let producer = producer();
    let ada = app.customer();
    let account = uuid::Uuid::now_v7();
    for n in 1..=3 {
        publish(
            &producer,
            &app.ledger_topic,
            &posted_on(account, ada.id, n * 100, "CREDIT"),
        )
        .await;
    }
    let all = app.wait_for_notifications(&ada, 3).await;
    let edges = all["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 3);
    assert_eq!(edges[0]["node"]["title"], "You received 3.00 EUR");

    let page = "query($r: [_Any!]!, $after: String, $unread: Boolean) { _entities(representations: $r) { ... on User { \
                notifications(first: 2, after: $after, unreadOnly: $unread) { unreadCount edges { node { id title } } pageInfo { hasNextPage endCursor } } } } }";
    let user = json!([{ "__typename": "User", "id": ada.id }]);
    let first = app.gql(&ada, page, json!({ "r": user })).await;
    let first = &data(&first)["_entities"][0]["notifications"];
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    let rest = app
        .gql(
            &ada,
            page,
            json!({ "r": user, "after": first["pageInfo"]["endCursor"] }),
        )
        .await;
    let rest = &data(&rest)["_entities"][0]["notifications"];
    assert_eq!(rest["edges"][0]["node"]["title"], "You received 1.00 EUR");
    assert_eq!(rest["pageInfo"]["hasNextPage"], false);

    let read = "mutation($id: ID!) { markNotificationRead(id: $id) { id readAt } }";
    let id = edges[0]["node"]["id"].clone();
    let marked = app.gql(&ada, read, json!({ "id": id })).await;
    assert!(data(&marked)["markNotificationRead"]["readAt"].is_string());
    let unread = app
        .gql(&ada, page, json!({ "r": user, "unread": true }))
        .await;
    let unread = &data(&unread)["_entities"][0]["notifications"];
    assert_eq!(unread["unreadCount"], 2);
    assert_eq!(unread["edges"].as_array().unwrap().len(), 2);

    // Someone else can neither read nor mark them.
    let mallory = app.customer();
    assert_eq!(
        error_code(&app.gql(&mallory, read, json!({ "id": id })).await),
        Some("NOT_FOUND")
    );
    let peek = app.gql(&mallory, page, json!({ "r": user })).await;
    assert_eq!(error_code(&peek), Some("FORBIDDEN"));
    let all_read = app
        .gql(&ada, "mutation { markAllNotificationsRead }", json!({}))
        .await;
    assert_eq!(data(&all_read)["markAllNotificationsRead"], 2);
}

#[tokio::test]
async fn preferences_are_validated_and_the_threshold_silences_small_amounts() {
    let app = spawn_app(test_settings()).await;
    let producer = producer();
    let ada = app.customer();
    let update = "mutation($i: NotificationPreferencesInput!) { updateNotificationPreferences(input: $i) { inApp email sms phoneNumber alertThreshold } }";
    let sms_without_phone = app.gql(&ada, update, json!({ "i": { "sms": true } })).await;
    assert_eq!(error_code(&sms_without_phone), Some("BAD_USER_INPUT"));
    let bad_phone = app
        .gql(&ada, update, json!({ "i": { "phoneNumber": "12345" } }))
        .await;
    assert_eq!(error_code(&bad_phone), Some("BAD_USER_INPUT"));
    let ok = app
        .gql(
            &ada,
            update,
            json!({ "i": { "alertThreshold": 100, "phoneNumber": "+44 20 7946 0000" } }),
        )
        .await;
    assert_eq!(
        data(&ok)["updateNotificationPreferences"],
        json!({ "inApp": true, "email": false, "sms": false, "phoneNumber": "+442079460000", "alertThreshold": 100 })
    );

    publish(
        &producer,
        &app.ledger_topic,
        &posted(ada.id, 9_999, "CREDIT"),
    )
    .await;
    publish(
        &producer,
        &app.ledger_topic,
        &posted(ada.id, 10_000, "CREDIT"),
    )
    .await;
    app.wait_for_notifications(&ada, 1).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let list = app.notifications(&ada).await;
    let titles: Vec<_> = list["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["title"].clone())
        .collect();
    assert_eq!(titles, vec![json!("You received 100.00 EUR")], "{list}");
}

#[tokio::test]
async fn a_due_reminder_becomes_a_notification_pushed_to_the_subscriber() {
    let app = spawn_app(test_settings()).await;
    let ada = app.customer();
    let mut added = Subscriber::connect(
        app.addr,
        &ada.token,
        "subscription { notificationAdded { id kind title body } }",
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let schedule =
        "mutation($i: ScheduleReminderInput!) { scheduleReminder(input: $i) { id status dueAt } }";
    let due = chrono::Utc::now() + chrono::Duration::milliseconds(500);
    let reminder = app.gql(&ada, schedule, json!({ "i": { "title": "Loan repayment", "body": "12.00 EUR due tomorrow", "dueAt": due } })).await;
    assert_eq!(data(&reminder)["scheduleReminder"]["status"], "PENDING");
    let pushed = added
        .next(Duration::from_secs(10))
        .await
        .expect("the reminder is pushed");
    assert_eq!(pushed["data"]["notificationAdded"]["kind"], "REMINDER");
    assert_eq!(
        pushed["data"]["notificationAdded"]["title"],
        "Loan repayment"
    );
    let list = app.wait_for_notifications(&ada, 1).await;
    assert_eq!(list["edges"][0]["node"]["body"], "12.00 EUR due tomorrow");

    let far = chrono::Utc::now() + chrono::Duration::days(400);
    let too_far = app
        .gql(
            &ada,
            schedule,
            json!({ "i": { "title": "x", "body": "y", "dueAt": far } }),
        )
        .await;
    assert_eq!(error_code(&too_far), Some("BAD_USER_INPUT"));
}
