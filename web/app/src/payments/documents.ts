/**
 * The payments subgraph's operations, typed by code generation from the supergraph like every
 * other operation (`npm run codegen`).
 */
import { graphql } from '../gql';

export const PayeeFields = graphql(`
  fragment PayeeFields on Payee {
    id
    name
    iban
    createdAt
  }
`);

export const StandingOrderFields = graphql(`
  fragment StandingOrderFields on StandingOrder {
    id
    fromAccount {
      id
      number
    }
    creditorName
    creditorIban
    amount {
      amount
      currency
    }
    remittance
    frequency
    startOn
    endOn
    nextRunOn
    lastRunOn
    runs
    status
    createdAt
  }
`);

/** The person's accounts to pay from (with their balances), their payees and standing orders. */
export const PaymentsSetupQuery = graphql(`
  query PaymentsSetup {
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
      payees {
        ...PayeeFields
      }
      standingOrders {
        ...StandingOrderFields
      }
    }
  }
`);

export const PaymentFields = graphql(`
  fragment PaymentFields on Payment {
    id
    status
    amount {
      amount
      currency
    }
    creditorName
    creditorIban
    remittance
    failureCode
    failureReason
    gatewayReference
    debit {
      id
    }
    reversal {
      id
    }
    fromAccount {
      id
      number
    }
    createdAt
    updatedAt
  }
`);

export const MyPaymentsQuery = graphql(`
  query MyPayments($first: Int!, $after: String) {
    me {
      id
      payments(first: $first, after: $after) {
        edges {
          cursor
          node {
            ...PaymentFields
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

export const AddPayeeMutation = graphql(`
  mutation AddPayee($input: AddPayeeInput!) {
    addPayee(input: $input) {
      ...PayeeFields
    }
  }
`);

export const RemovePayeeMutation = graphql(`
  mutation RemovePayee($id: ID!) {
    removePayee(id: $id)
  }
`);

export const SendPaymentMutation = graphql(`
  mutation SendPayment($input: SendPaymentInput!) {
    sendPayment(input: $input) {
      ...PaymentFields
    }
  }
`);

export const CreateStandingOrderMutation = graphql(`
  mutation CreateStandingOrder($input: CreateStandingOrderInput!) {
    createStandingOrder(input: $input) {
      ...StandingOrderFields
    }
  }
`);

export const CancelStandingOrderMutation = graphql(`
  mutation CancelStandingOrder($id: ID!) {
    cancelStandingOrder(id: $id) {
      ...StandingOrderFields
    }
  }
`);
