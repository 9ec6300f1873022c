//! Runs the bank's reconciliation through NGINX as an administrator and prints it: the
//! ledger's invariants, and the payments and loans services' records against the ledger's
//! postings (docs/reliability.md). Exits 1 when anything disagrees, so scripts can end with it
//! (`scripts/test.sh` after the end-to-end suites, `make chaos` after its faults).
//!
//! The target comes from BANK_URL and BANK_CA, the administrator from BANK_ADMIN_EMAIL and
//! BANK_ADMIN_PASSWORD, as for the end-to-end tests.

use std::process::ExitCode;

use bank_e2e::{reconciliation_is_clean, Bank};

/// Reconciles the running bank and prints the report.
#[derive(Debug, clap::Parser)]
#[command(name = "bank-reconcile", version, long_about = None)]
struct Args {
    /// Print the whole report as JSON, not just a summary.
    #[arg(long)]
    json: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = <Args as clap::Parser>::parse();
    let bank = match Bank::from_env() {
        Ok(bank) => bank,
        Err(err) => {
            eprintln!("bank-reconcile: {err:#}");
            return ExitCode::from(2);
        }
    };
    if std::env::var("BANK_ADMIN_PASSWORD").is_err() {
        eprintln!(
            "bank-reconcile: BANK_ADMIN_PASSWORD is not set (the administrator's password; \
             make reconcile reads it from .data/secrets.env)"
        );
        return ExitCode::from(2);
    }
    let token = bank.admin_token().await;
    let reply = bank.reconciliation(&token).await;
    let report = &reply.body["data"]["reconciliation"];
    if report.is_null() {
        eprintln!("bank-reconcile: no report: {}", reply.body);
        return ExitCode::from(2);
    }
    if args.json {
        println!("{report:#}");
    }
    let ledger = &report["ledger"];
    println!(
        "ledger    {}  {} accounts, {} transactions",
        verdict(&ledger["ok"]),
        ledger["accountsChecked"],
        ledger["transactionsChecked"]
    );
    for part in ["payments", "loans"] {
        let r = &report[part];
        println!(
            "{part:<9} {}  {} records, {} ledger transactions, {} in suspense",
            verdict(&r["ok"]),
            r["recordsChecked"],
            r["ledgerTransactionsChecked"],
            r["suspense"].as_array().map_or(0, Vec::len)
        );
        for m in r["mismatches"].as_array().into_iter().flatten() {
            println!(
                "  {} {}: {}",
                m["kind"].as_str().unwrap_or_default(),
                m["reference"].as_str().unwrap_or_default(),
                m["detail"].as_str().unwrap_or_default()
            );
        }
    }
    if reconciliation_is_clean(&reply.body) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn verdict(ok: &serde_json::Value) -> &'static str {
    if ok == true {
        "clean"
    } else {
        "MISMATCH"
    }
}
