/**
 * The payments subgraph's mandates and direct debits, typed by code generation from the
 * supergraph like every other operation (`npm run codegen`).
 */
import { graphql } from '../gql';

export const MandateFields = graphql(`
  fragment MandateFields on Mandate {
    id
    creditorId
    creditorName
    reference
    maxAmount {
      amount
      currency
    }
    status
    createdAt
    revokedAt
    account {
      id
      number
    }
  }
`);

/** The person's accounts creditors may collect from (with their balances) and their mandates. */
export const DirectDebitsSetupQuery = graphql(`
  query DirectDebitsSetup {
    me {
      id
      accounts {
        id
        number
        kind
        currency
        status
        nickname
        balance {
          amount
          currency
        }
        availableBalance {
          amount
          currency
        }
      }
      mandates {
        ...MandateFields
      }
    }
  }
`);

export const DirectDebitFields = graphql(`
  fragment DirectDebitFields on DirectDebit {
    id
    status
    amount {
      amount
      currency
    }
    remittance
    failureCode
    failureReason
    refundableUntil
    mandate {
      id
      creditorName
      creditorId
      reference
    }
    account {
      id
      number
    }
    debit {
      id
    }
    refund {
      id
    }
    createdAt
    updatedAt
  }
`);

export const MyDirectDebitsQuery = graphql(`
  query MyDirectDebits($first: Int!, $after: String) {
    me {
      id
      directDebits(first: $first, after: $after) {
        edges {
          cursor
          node {
            ...DirectDebitFields
          }
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
    }
  }
`);

export const CreateMandateMutation = graphql(`
  mutation CreateMandate($input: CreateMandateInput!) {
    createMandate(input: $input) {
      ...MandateFields
    }
  }
`);

export const RevokeMandateMutation = graphql(`
  mutation RevokeMandate($id: ID!) {
    revokeMandate(id: $id) {
      ...MandateFields
    }
  }
`);

export const RefundDirectDebitMutation = graphql(`
  mutation RefundDirectDebit($id: ID!) {
    refundDirectDebit(id: $id) {
      ...DirectDebitFields
    }
  }
`);
