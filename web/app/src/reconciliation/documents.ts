/**
 * The reconciliation (staff only), typed by code generation from the supergraph like every other
 * operation (`npm run codegen`). One query, answered by three subgraphs: the ledger's invariants
 * (transactions), and payments and loans each compared with the ledger's postings.
 */
import { graphql } from '../gql';

export const ServiceReconciliationFields = graphql(`
  fragment ServiceReconciliationFields on ServiceReconciliation {
    ok
    recordsChecked
    ledgerTransactionsChecked
    mismatches {
      kind
      reference
      detail
    }
    suspense {
      reference
      transactionId
      accountId
      amount {
        amount
        currency
      }
      heldSince
    }
    checkedAt
  }
`);

export const ReconciliationQuery = graphql(`
  query Reconciliation {
    reconciliation {
      id
      ledger {
        ok
        totals {
          amount
          currency
        }
        balanceMismatches
        holdMismatches
        unbalancedTransactions
        overdrawnAccounts
        accountsChecked
        transactionsChecked
        checkedAt
      }
      payments {
        ...ServiceReconciliationFields
      }
      loans {
        ...ServiceReconciliationFields
      }
    }
  }
`);
