use std::time::Duration;

use bank_common::events::Envelope;
use bank_testkit::{data, error_code};
use serde_json::{json, Value};
use uuid::Uuid;

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
    let update = "mutation($i: NotificationPreferencesInput!) { updateNotificationPreferences(input: $i) { inApp email sms phoneNumber pendingPhoneNumber alertThreshold } }";
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
        json!({ "inApp": true, "email": false, "sms": false, "phoneNumber": null, "pendingPhoneNumber": "+442079460000", "alertThreshold": 100 })
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

#[tokio::test]
async fn a_disbursed_loan_notifies_its_borrower_and_schedules_a_reminder_per_installment() {
    use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
    let app = spawn_app(test_settings()).await;
    let ada = app.customer();
    let producer = producer();
    let loan_id = Uuid::now_v7();
    let today = chrono::Utc::now().date_naive();
    let installments: Vec<Value> = (1..=3)
        .map(|n| {
            json!({ "number": n, "dueOn": today + chrono::Duration::days(30 * n), "amount": "335.00", "amountMinor": 33500 })
        })
        .collect();
    let disbursed = Envelope::new(
        "/loans",
        "bank.loan.disbursed.v1",
        loan_id,
        json!({
            "loanId": loan_id, "ownerId": ada.id, "accountId": Uuid::now_v7(), "productCode": "MICRO_EUR",
            "status": "ACTIVE", "currency": "EUR", "principal": "1000.00", "principalMinor": 100000,
            "repaidMinor": 0, "outstanding": "1005.00", "outstandingMinor": 100500, "reason": null,
            "transactionId": Uuid::now_v7(), "amountMinor": 100000, "installments": installments
        }),
    );
    // Delivered twice: applied once.
    publish(&producer, &app.loans_topic, &disbursed).await;
    publish(&producer, &app.loans_topic, &disbursed).await;
    let list = app.wait_for_notifications(&ada, 1).await;
    let node = &list["edges"][0]["node"];
    assert_eq!(node["kind"], "LOAN");
    assert_eq!(node["title"], "1000.00 EUR paid into your account");
    let first_due = today + chrono::Duration::days(30);
    assert_eq!(
        node["body"],
        format!("Your first repayment of 335.00 EUR is due on {first_due}.")
    );
    // Give the duplicate time to arrive, then count.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let reminders = app
        .db
        .query_all(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT title, due_at FROM reminders WHERE user_id = $1 AND status = 'PENDING' ORDER BY due_at",
            [ada.id.into()],
        ))
        .await
        .unwrap();
    assert_eq!(reminders.len(), 3, "one reminder per installment, once");
    let first: chrono::DateTime<chrono::Utc> = reminders[0].try_get("", "due_at").unwrap();
    assert_eq!(
        first.date_naive(),
        first_due - chrono::Duration::days(3),
        "three days before the due date"
    );
    assert_eq!(
        app.notifications(&ada).await["edges"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_returned_payment_tells_its_payer_why_and_a_sent_one_says_nothing_more() {
    let app = spawn_app(test_settings()).await;
    let ada = app.customer();
    let producer = producer();
    let payment = |kind: &str, reason: Option<&str>| {
        let id = Uuid::now_v7();
        Envelope::new(
            "/payments",
            kind,
            id,
            json!({
                "paymentId": id, "ownerId": ada.id, "fromAccountId": Uuid::now_v7(),
                "status": "RETURNED", "amount": "30.00", "amountMinor": 3000, "currency": "EUR",
                "creditorName": "Grace Hopper", "creditorIban": "DE89370400440532013000",
                "failureCode": "REJECTED_BY_GATEWAY", "failureReason": reason
            }),
        )
    };
    publish(
        &producer,
        &app.payments_topic,
        &payment("bank.payment.sent.v1", None),
    )
    .await;
    let returned = payment("bank.payment.returned.v1", Some("creditor account closed"));
    publish(&producer, &app.payments_topic, &returned).await;
    publish(&producer, &app.payments_topic, &returned).await;
    let list = app.wait_for_notifications(&ada, 1).await;
    let node = &list["edges"][0]["node"];
    assert_eq!(node["kind"], "PAYMENT");
    assert_eq!(
        node["title"],
        "Payment of 30.00 EUR to Grace Hopper returned"
    );
    assert_eq!(
        node["body"],
        "creditor account closed. The money is back in your account."
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        app.notifications(&ada).await["edges"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "the sent event says nothing, the repeated return is stored once"
    );
}

#[tokio::test]
async fn a_refused_direct_debit_and_a_standing_orders_failed_payment_are_told_and_nothing_else() {
    let app = spawn_app(test_settings()).await;
    let ada = app.customer();
    let producer = producer();
    let debit = |kind: &str, reason: Option<&str>| {
        let id = Uuid::now_v7();
        Envelope::new(
            "/payments",
            kind,
            id,
            json!({
                "directDebitId": id, "mandateId": Uuid::now_v7(), "ownerId": ada.id,
                "accountId": Uuid::now_v7(), "status": "REFUSED", "amount": "25.00",
                "amountMinor": 2500, "currency": "EUR", "creditorName": "Stadtwerke",
                "failureCode": "INSUFFICIENT_FUNDS", "failureReason": reason
            }),
        )
    };
    let failed = |standing_order: Option<Uuid>| {
        let id = Uuid::now_v7();
        Envelope::new(
            "/payments",
            "bank.payment.failed.v1",
            id,
            json!({
                "paymentId": id, "ownerId": ada.id, "fromAccountId": Uuid::now_v7(),
                "status": "FAILED", "amount": "30.00", "amountMinor": 3000, "currency": "EUR",
                "creditorName": "Landlord", "creditorIban": "DE89370400440532013000",
                "failureCode": "INSUFFICIENT_FUNDS", "failureReason": "insufficient funds",
                "standingOrderId": standing_order
            }),
        )
    };
    // Collected: the ledger's posting tells of it. A payment failing at once: its payer saw it.
    let collected = debit("bank.payment.direct-debit.collected.v1", None);
    let collected_id = collected.id;
    for event in [
        collected,
        failed(None),
        debit(
            "bank.payment.direct-debit.refused.v1",
            Some("insufficient funds"),
        ),
        failed(Some(Uuid::now_v7())),
    ] {
        publish(&producer, &app.payments_topic, &event).await;
    }
    let list = app.wait_for_notifications(&ada, 2).await;
    let mut titles: Vec<(String, String)> = list["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["node"]["title"].as_str().unwrap().to_string(),
                e["node"]["body"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    titles.sort();
    assert_eq!(
        titles,
        [
            (
                "Direct debit of 25.00 EUR by Stadtwerke refused".to_string(),
                "insufficient funds. Nothing was taken from your account.".to_string()
            ),
            (
                "Standing order to Landlord: 30.00 EUR not paid".to_string(),
                "insufficient funds. The order goes on with its next date.".to_string()
            ),
        ]
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        app.notifications(&ada).await["edges"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // Read and let be, not dead-lettered as data it cannot read.
    let dead = bank_testkit::collect_events(
        bank_common::consumer::DEAD_LETTER_TOPIC,
        |event| event["id"] == json!(collected_id),
        |found| !found.is_empty(),
        Duration::from_secs(3),
    )
    .await;
    assert!(dead.is_empty(), "dead-lettered: {dead:?}");
}

/// Reminders reach the addresses a customer set (e-mail, SMS): bounded, so they cannot be used
/// to pump texts or mail, however many requests arrive at once.
#[tokio::test]
async fn reminders_are_bounded_per_customer() {
    let app = spawn_app(test_settings()).await;
    let ada = app.customer();
    let schedule = "mutation($i: ScheduleReminderInput!) { scheduleReminder(input: $i) { id } }";
    let due = chrono::Utc::now() + chrono::Duration::days(30);
    let attempts = (0..25).map(|n| {
        let (app, ada) = (&app, ada.clone());
        async move {
            app.gql(
                &ada,
                schedule,
                json!({ "i": { "title": format!("Reminder {n}"), "body": "x", "dueAt": due } }),
            )
            .await
        }
    });
    let answers = futures::future::join_all(attempts).await;
    let scheduled = answers.iter().filter(|a| error_code(a).is_none()).count();
    let refused = answers
        .iter()
        .filter(|a| error_code(a) == Some("LIMIT_EXCEEDED"))
        .count();
    assert_eq!((scheduled, refused), (20, 5), "{answers:#?}");
    // Another customer is not held up.
    let bob = app.customer();
    let theirs = app
        .gql(
            &bob,
            schedule,
            json!({ "i": { "title": "Mine", "body": "y", "dueAt": due } }),
        )
        .await;
    assert!(error_code(&theirs).is_none(), "{theirs}");
}

/// Counts `sql`'s rows for `user`.
async fn count_for(app: &crate::helpers::TestApp, sql: &str, user: Uuid) -> i64 {
    use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
    app.db
        .query_one(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            sql,
            [user.into()],
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "n")
        .unwrap()
}

/// Waits until the event `id` has been consumed (applied or skipped).
async fn wait_until_processed(app: &crate::helpers::TestApp, id: Uuid) {
    for _ in 0..150 {
        let n = count_for(
            app,
            "SELECT count(*) AS n FROM processed_events WHERE event_id = $1",
            id,
        )
        .await;
        if n == 1 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("event {id} was never consumed");
}

/// A deleted user's contact details, notifications, reminders and e-mails are erased when
/// the users service says so, and later events for them store and send nothing.
#[tokio::test]
async fn a_deleted_users_details_and_messages_are_erased_and_nothing_more_is_kept() {
    let app = spawn_app(test_settings()).await;
    let producer = producer();
    let ada = app.customer();
    let registered = Envelope::new(
        "/users",
        notifications_subgraph::events::USER_REGISTERED,
        ada.id,
        json!({ "userId": ada.id, "email": "ada@example.test", "fullName": "Ada Lovelace" }),
    );
    publish(&producer, &app.users_topic, &registered).await;
    let update = "mutation($i: NotificationPreferencesInput!) { updateNotificationPreferences(input: $i) { email } }";
    data(
        &app.gql(&ada, update, json!({ "i": { "email": true } }))
            .await,
    );
    wait_until_processed(&app, registered.id).await;
    publish(
        &producer,
        &app.ledger_topic,
        &posted(ada.id, 4_200, "CREDIT"),
    )
    .await;
    app.wait_for_notifications(&ada, 1).await;
    let schedule = "mutation($i: ScheduleReminderInput!) { scheduleReminder(input: $i) { id } }";
    let tomorrow = chrono::Utc::now() + chrono::Duration::days(1);
    data(
        &app.gql(
            &ada,
            schedule,
            json!({ "i": { "title": "Rent", "body": "Pay it", "dueAt": tomorrow } }),
        )
        .await,
    );
    let kept = [
        "SELECT count(*) AS n FROM notifications WHERE user_id = $1",
        "SELECT count(*) AS n FROM deliveries WHERE user_id = $1",
        "SELECT count(*) AS n FROM reminders WHERE user_id = $1",
        "SELECT count(*) AS n FROM recipients WHERE user_id = $1 AND email IS NOT NULL",
    ];
    for sql in kept {
        assert_eq!(count_for(&app, sql, ada.id).await, 1, "before: {sql}");
    }

    let deleted = Envelope::new(
        "/users",
        notifications_subgraph::events::USER_DELETED,
        ada.id,
        json!({ "userId": ada.id }),
    );
    publish(&producer, &app.users_topic, &deleted).await;
    wait_until_processed(&app, deleted.id).await;
    for sql in kept {
        assert_eq!(count_for(&app, sql, ada.id).await, 0, "after: {sql}");
    }

    // Later events for them: nothing stored, nothing sent.
    let late = posted(ada.id, 9_900, "CREDIT");
    publish(&producer, &app.ledger_topic, &late).await;
    wait_until_processed(&app, late.id).await;
    let loan_id = Uuid::now_v7();
    let today = chrono::Utc::now().date_naive();
    let disbursed = Envelope::new(
        "/loans",
        "bank.loan.disbursed.v1",
        loan_id,
        json!({
            "loanId": loan_id, "ownerId": ada.id, "accountId": Uuid::now_v7(), "productCode": "MICRO_EUR",
            "status": "ACTIVE", "currency": "EUR", "principal": "1000.00", "principalMinor": 100000,
            "repaidMinor": 0, "outstanding": "1005.00", "outstandingMinor": 100500, "reason": null,
            "transactionId": Uuid::now_v7(), "amountMinor": 100000,
            "installments": [{ "number": 1, "dueOn": today + chrono::Duration::days(30), "amount": "1005.00", "amountMinor": 100500 }]
        }),
    );
    publish(&producer, &app.loans_topic, &disbursed).await;
    wait_until_processed(&app, disbursed.id).await;
    for sql in kept {
        assert_eq!(count_for(&app, sql, ada.id).await, 0, "later: {sql}");
    }
}

/// A batch of consumed events, applied together: each posting once (a redelivered copy in the
/// same batch and the whole batch again add nothing), each user their own notifications and
/// the deliveries their preferences ask for, nothing for an amount below a user's threshold,
/// and a registration between postings applied in its place.
#[tokio::test]
async fn a_batch_of_postings_is_applied_once_each_with_its_users_preferences() {
    use notifications_subgraph::{app::apply_events, store};
    let app = spawn_app(test_settings()).await;
    let (mailed, quiet, late) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let registered = |user: Uuid| {
        Envelope::new(
            "/users",
            notifications_subgraph::events::USER_REGISTERED,
            user,
            json!({ "userId": user, "email": format!("{user}@example.test"), "fullName": "A" }),
        )
    };
    let outcomes = apply_events(&app.db, vec![registered(mailed)]).await;
    assert!(outcomes.iter().all(Result::is_ok));
    store::update_preferences(
        &app.db,
        mailed,
        store::PreferenceChanges {
            email: Some(true),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    store::update_preferences(
        &app.db,
        quiet,
        store::PreferenceChanges {
            alert_threshold: Some(100),
            ..Default::default()
        },
    )
    .await
    .unwrap();

    let first = posted(mailed, 1_250, "CREDIT");
    let batch = vec![
        first.clone(),
        posted(quiet, 5_000, "DEBIT"),   // below 100 EUR: no alert
        posted(quiet, 20_000, "CREDIT"), // 200 EUR: an alert
        registered(late),                // between postings, applied in its place
        first.clone(),                   // redelivered within the batch
        posted(late, 700, "DEBIT"),
        posted(mailed, 300, "DEBIT"),
    ];
    let outcomes = apply_events(&app.db, batch.clone()).await;
    assert_eq!(outcomes.len(), batch.len());
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    let again = apply_events(&app.db, batch).await;
    assert!(again.iter().all(Result::is_ok));

    let notifications = "SELECT count(*) AS n FROM notifications WHERE user_id = $1";
    let deliveries = "SELECT count(*) AS n FROM deliveries d JOIN notifications n \
                      ON n.id = d.notification_id WHERE d.user_id = $1 AND d.channel = 'EMAIL'";
    assert_eq!(count_for(&app, notifications, mailed).await, 2);
    assert_eq!(count_for(&app, deliveries, mailed).await, 2);
    assert_eq!(count_for(&app, notifications, quiet).await, 1);
    assert_eq!(count_for(&app, notifications, late).await, 1);
    assert_eq!(count_for(&app, deliveries, late).await, 0);
    let postings = "SELECT count(*) AS n FROM processed_events \
                    WHERE event_type = 'bank.ledger.posted.v1' AND $1::uuid IS NOT NULL";
    assert_eq!(count_for(&app, postings, mailed).await, 5);
}
