use bank_testkit::{data, error_code};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{spawn_app, LOAN_FIELDS};

#[tokio::test]
async fn products_and_quotes_show_what_a_loan_costs() {
    let app = spawn_app().await;
    let ada = app.customer();
    let products = app
        .gql(
            &ada,
            "{ loanProducts { code currency annualRate minAmount { amount } maxTermMonths } }",
            json!({}),
        )
        .await;
    let products = data(&products)["loanProducts"].as_array().unwrap().clone();
    let personal = products
        .iter()
        .find(|p| p["code"] == "PERSONAL_EUR")
        .expect("the personal loan is offered");
    assert_eq!(personal["annualRate"], "6.90");
    assert_eq!(personal["minAmount"]["amount"], "500.00");

    let quote = "query($i: LoanQuoteInput!) { loanQuote(input: $i) { monthlyPayment { amount currency } totalInterest { amount } totalDue { amount } } }";
    // 10,000.00 over 12 months at 6.90%: the textbook annuity is 864.81 a month.
    let answer = app
        .gql(
            &ada,
            quote,
            json!({ "i": { "productCode": "PERSONAL_EUR", "amount": "10000", "termMonths": 12 } }),
        )
        .await;
    let q = &data(&answer)["loanQuote"];
    assert_eq!(q["monthlyPayment"]["amount"], "864.81");
    assert_eq!(q["monthlyPayment"]["currency"], "EUR");
    let total: f64 = q["totalDue"]["amount"].as_str().unwrap().parse().unwrap();
    let interest: f64 = q["totalInterest"]["amount"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((total - interest - 10_000.0).abs() < 0.001, "{q}");

    for (input, field) in [
        (
            json!({ "productCode": "PERSONAL_EUR", "amount": "10", "termMonths": 12 }),
            "amount",
        ),
        (
            json!({ "productCode": "PERSONAL_EUR", "amount": "1000", "termMonths": 500 }),
            "termMonths",
        ),
        (
            json!({ "productCode": "PERSONAL_EUR", "amount": "1000.001", "termMonths": 12 }),
            "amount",
        ),
        (
            json!({ "productCode": "NOPE", "amount": "1000", "termMonths": 12 }),
            "productCode",
        ),
    ] {
        let answer = app.gql(&ada, quote, json!({ "i": input })).await;
        assert_eq!(error_code(&answer), Some("BAD_USER_INPUT"), "{answer}");
        assert_eq!(
            answer["errors"][0]["extensions"]["field"], field,
            "{answer}"
        );
    }
    let anonymous = app
        .client
        .query(None, "{ loanProducts { code } }", json!({}))
        .await;
    assert_eq!(error_code(&anonymous), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn a_loan_is_applied_for_approved_paid_out_once_and_repaid_in_full() {
    let app = spawn_app().await;
    let ada = app.customer();
    let staff = app.teller();
    let account = app.open_account(&ada, "EUR").await;
    let key = Uuid::new_v4().to_string();

    let applied = app.apply(&ada, account, "MICRO_EUR", "300", 3, &key).await;
    let loan = data(&applied)["applyForLoan"].clone();
    let id = loan["id"].as_str().unwrap().to_string();
    assert_eq!(loan["status"], "PENDING");
    assert_eq!(loan["monthlyPayment"]["amount"], "100.00");
    assert_eq!(loan["schedule"], json!([]), "no schedule before the payout");
    // A retry is the same application; the same key for something else is refused.
    let again = app.apply(&ada, account, "MICRO_EUR", "300", 3, &key).await;
    assert_eq!(data(&again)["applyForLoan"]["id"], id.as_str());
    let other = app.apply(&ada, account, "MICRO_EUR", "400", 3, &key).await;
    assert_eq!(error_code(&other), Some("IDEMPOTENCY_KEY_REUSED"));

    // Staff see it in the queue; the customer can neither see the queue nor approve.
    let queue = "{ loanApplications { edges { node { id borrower { id } } } } }";
    let edges = app.gql(&staff, queue, json!({})).await;
    let ids: Vec<&str> = data(&edges)["loanApplications"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&id.as_str()));
    assert_eq!(
        error_code(&app.gql(&ada, queue, json!({})).await),
        Some("FORBIDDEN")
    );
    assert_eq!(error_code(&app.approve(&ada, &id).await), Some("FORBIDDEN"));
    // Not paid out before approval.
    assert_eq!(
        error_code(&app.disburse(&staff, &id).await),
        Some("BAD_USER_INPUT")
    );

    // Four eyes: one member of staff's approval is recorded and waits for a second one's.
    let colleague = app.teller();
    let first = app.approve(&staff, &id).await;
    assert_eq!(data(&first)["approveLoan"]["status"], "PENDING");
    assert_eq!(data(&first)["approveLoan"]["awaitingSecondStaff"], true);
    let again = app.approve(&staff, &id).await;
    assert_eq!(
        data(&again)["approveLoan"]["status"],
        "PENDING",
        "the same one twice"
    );
    let approved = app.approve(&colleague, &id).await;
    let approvals = &data(&approved)["approveLoan"]["approvals"];
    assert_eq!(data(&approved)["approveLoan"]["status"], "APPROVED");
    assert_eq!(data(&approved)["approveLoan"]["awaitingSecondStaff"], false);
    assert_eq!(approvals[0]["staffId"], staff.id.to_string());
    assert_eq!(approvals[1]["staffId"], colleague.id.to_string());
    // The payout too: asked for by one, moved when a second one confirms.
    for caller in [&staff, &staff] {
        let asked = app.disburse(caller, &id).await;
        assert_eq!(data(&asked)["disburseLoan"]["status"], "APPROVED");
        assert_eq!(data(&asked)["disburseLoan"]["awaitingSecondStaff"], true);
        assert_eq!(app.balance(account).await, 0, "nothing paid out by one");
    }
    let disbursed = app.disburse(&colleague, &id).await;
    let loan = &data(&disbursed)["disburseLoan"];
    assert_eq!(loan["status"], "ACTIVE");
    let steps: Vec<(&str, &str)> = loan["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["step"].as_str().unwrap(), a["staffId"].as_str().unwrap()))
        .collect();
    let (one, two) = (staff.id.to_string(), colleague.id.to_string());
    assert_eq!(
        steps,
        [
            ("APPROVAL", one.as_str()),
            ("APPROVAL", two.as_str()),
            ("PAYOUT", one.as_str()),
            ("PAYOUT", two.as_str())
        ]
    );
    assert_eq!(loan["schedule"].as_array().unwrap().len(), 3);
    assert_eq!(loan["schedule"][0]["status"], "UPCOMING");
    assert_eq!(loan["outstanding"]["amount"], "300.00");
    assert!(loan["disbursement"]["id"].is_string());
    assert_eq!(app.balance(account).await, 30_000);
    // Paying out again changes nothing: the money moved once.
    let again = app.disburse(&staff, &id).await;
    assert_eq!(
        data(&again)["disburseLoan"]["disbursement"],
        loan["disbursement"]
    );
    assert_eq!(app.balance(account).await, 30_000);
    assert_eq!(app.ledger_transactions("LOAN_DISBURSEMENT").await, 1);
    // Approving a paid-out loan again is a no-op; rejecting it is refused.
    data(&app.approve(&staff, &id).await);
    let reject = app
        .gql(
            &staff,
            "mutation($id: ID!) { rejectLoan(id: $id, reason: \"late\") { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(error_code(&reject), Some("BAD_USER_INPUT"));

    // Repaid in two parts; installments settle in order.
    let first = app
        .repay(&ada, &id, "150", &Uuid::new_v4().to_string())
        .await;
    assert_eq!(data(&first)["repayLoan"]["status"], "POSTED");
    let loan = app.loan(&ada, &id).await;
    let loan = &data(&loan)["loan"];
    assert_eq!(loan["outstanding"]["amount"], "150.00");
    assert_eq!(loan["schedule"][0]["status"], "PAID");
    assert_eq!(loan["schedule"][1]["status"], "PARTLY_PAID");
    assert_eq!(loan["schedule"][1]["paid"]["amount"], "50.00");
    let too_much = app
        .repay(&ada, &id, "150.01", &Uuid::new_v4().to_string())
        .await;
    assert_eq!(error_code(&too_much), Some("BAD_USER_INPUT"));
    let rest = app
        .repay(&ada, &id, "150", &Uuid::new_v4().to_string())
        .await;
    assert_eq!(data(&rest)["repayLoan"]["status"], "POSTED");
    let loan = app.loan(&ada, &id).await;
    assert_eq!(data(&loan)["loan"]["status"], "PAID_OFF");
    assert_eq!(data(&loan)["loan"]["outstanding"]["amount"], "0.00");
    assert_eq!(app.balance(account).await, 0);
    let after = app.repay(&ada, &id, "1", &Uuid::new_v4().to_string()).await;
    assert_eq!(error_code(&after), Some("BAD_USER_INPUT"));

    // The customer's own list.
    let mine = app
        .gql(&ada, "query($id: ID!) { _entities(representations: [{ __typename: \"User\", id: $id }]) { ... on User { loans { edges { node { id status } } } } } }", json!({ "id": ada.id }))
        .await;
    let edges = &data(&mine)["_entities"][0]["loans"]["edges"];
    assert_eq!(edges.as_array().unwrap().len(), 1);
    assert_eq!(edges[0]["node"]["status"], "PAID_OFF");
    app.assert_ledger_consistent().await;
}

#[tokio::test]
async fn applications_are_checked_against_the_account_and_the_product() {
    let app = spawn_app().await;
    let ada = app.customer();
    let bob = app.customer();
    let staff = app.teller();
    let eur = app.open_account(&ada, "EUR").await;
    let usd = app.open_account(&ada, "USD").await;
    let bobs = app.open_account(&bob, "EUR").await;
    let key = || Uuid::new_v4().to_string();

    let wrong_currency = app
        .apply(&ada, usd, "PERSONAL_EUR", "1000", 12, &key())
        .await;
    assert_eq!(error_code(&wrong_currency), Some("CURRENCY_MISMATCH"));
    let not_hers = app
        .apply(&ada, bobs, "PERSONAL_EUR", "1000", 12, &key())
        .await;
    assert_eq!(error_code(&not_hers), Some("NOT_FOUND"));
    let unknown = app
        .apply(&ada, Uuid::now_v7(), "PERSONAL_EUR", "1000", 12, &key())
        .await;
    assert_eq!(error_code(&unknown), Some("NOT_FOUND"));
    let bad_key = app
        .apply(&ada, eur, "PERSONAL_EUR", "1000", 12, "not a key!")
        .await;
    assert_eq!(error_code(&bad_key), Some("BAD_USER_INPUT"));
    app.freeze_account(&ada, eur, "EUR").await;
    let frozen = app
        .apply(&ada, eur, "PERSONAL_EUR", "1000", 12, &key())
        .await;
    assert_eq!(error_code(&frozen), Some("ACCOUNT_NOT_ACTIVE"));

    // At most five open at once.
    let open = app.open_account(&ada, "EUR").await;
    for _ in 0..5 {
        data(&app.apply(&ada, open, "MICRO_EUR", "100", 2, &key()).await);
    }
    let sixth = app.apply(&ada, open, "MICRO_EUR", "100", 2, &key()).await;
    assert_eq!(error_code(&sixth), Some("LIMIT_EXCEEDED"));

    // Bob sees none of Ada's loans; a rejection needs a reason and is final.
    let applied = app.apply(&bob, bobs, "MICRO_EUR", "100", 2, &key()).await;
    let id = data(&applied)["applyForLoan"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(error_code(&app.loan(&ada, &id).await), Some("NOT_FOUND"));
    assert_eq!(
        error_code(&app.repay(&ada, &id, "1", &key()).await),
        Some("NOT_FOUND")
    );
    let reject = format!(
        "mutation($id: ID!, $r: String!) {{ rejectLoan(id: $id, reason: $r) {{ {LOAN_FIELDS} }} }}"
    );
    let blank = app
        .gql(&staff, &reject, json!({ "id": id, "r": "  " }))
        .await;
    assert_eq!(error_code(&blank), Some("BAD_USER_INPUT"));
    let rejected = app
        .gql(&staff, &reject, json!({ "id": id, "r": "income too low" }))
        .await;
    assert_eq!(data(&rejected)["rejectLoan"]["status"], "REJECTED");
    assert_eq!(
        data(&rejected)["rejectLoan"]["decisionReason"],
        "income too low"
    );
    assert_eq!(
        error_code(&app.approve(&staff, &id).await),
        Some("BAD_USER_INPUT")
    );
    assert_eq!(
        error_code(&app.disburse(&staff, &id).await),
        Some("BAD_USER_INPUT")
    );
    assert_eq!(app.ledger_transactions("LOAN_DISBURSEMENT").await, 0);
}

#[tokio::test]
async fn staff_may_not_decide_or_pay_out_their_own_loan() {
    let app = spawn_app().await;
    let (teller, colleague) = (app.teller(), app.teller());
    let account = app.open_account(&teller, "EUR").await;
    let applied = app
        .apply(
            &teller,
            account,
            "MICRO_EUR",
            "500",
            5,
            &Uuid::new_v4().to_string(),
        )
        .await;
    let id = data(&applied)["applyForLoan"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        error_code(&app.approve(&teller, &id).await),
        Some("FORBIDDEN")
    );
    let reject = "mutation($id: ID!) { rejectLoan(id: $id, reason: \"no\") { status } }";
    assert_eq!(
        error_code(&app.gql(&teller, reject, json!({ "id": id })).await),
        Some("FORBIDDEN")
    );
    let third = app.teller();
    app.approve_by_two(&colleague, &third, &id).await;
    assert_eq!(
        error_code(&app.disburse(&teller, &id).await),
        Some("FORBIDDEN")
    );
    data(&app.disburse(&colleague, &id).await);
    // The borrower cannot be the second pair of eyes either.
    assert_eq!(
        error_code(&app.disburse(&teller, &id).await),
        Some("FORBIDDEN")
    );
    assert_eq!(app.balance(account).await, 0, "nothing paid out");
    assert_eq!(
        data(&app.disburse(&third, &id).await)["disburseLoan"]["status"],
        "ACTIVE"
    );
}
