/**
 * The loans subgraph's operations, typed by code generation from the supergraph like every
 * other operation (`npm run codegen`).
 */
import { graphql } from '../gql';

export const LoanProductFields = graphql(`
  fragment LoanProductFields on LoanProduct {
    code
    name
    currency
    annualRate
    minAmount {
      amount
      currency
    }
    maxAmount {
      amount
      currency
    }
    minTermMonths
    maxTermMonths
  }
`);

/** The products on offer, and the person's accounts to pay a loan into. */
export const LoanOffersQuery = graphql(`
  query LoanOffers {
    loanProducts {
      ...LoanProductFields
    }
    me {
      id
      accounts {
        id
        number
        kind
        currency
        status
        nickname
      }
    }
  }
`);

export const LoanQuoteQuery = graphql(`
  query LoanQuote($input: LoanQuoteInput!) {
    loanQuote(input: $input) {
      monthlyPayment {
        amount
        currency
      }
      totalInterest {
        amount
        currency
      }
      totalDue {
        amount
        currency
      }
      annualRate
      termMonths
    }
  }
`);

export const LoanSummary = graphql(`
  fragment LoanSummary on Loan {
    id
    status
    product {
      code
      name
      currency
    }
    principal {
      amount
      currency
    }
    annualRate
    termMonths
    monthlyPayment {
      amount
      currency
    }
    outstanding {
      amount
      currency
    }
    appliedAt
  }
`);

export const MyLoansQuery = graphql(`
  query MyLoans($first: Int!, $after: String) {
    me {
      id
      loans(first: $first, after: $after) {
        edges {
          cursor
          node {
            ...LoanSummary
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

export const ApplyForLoanMutation = graphql(`
  mutation ApplyForLoan($input: ApplyForLoanInput!) {
    applyForLoan(input: $input) {
      ...LoanSummary
    }
  }
`);

export const RepaymentFields = graphql(`
  fragment RepaymentFields on Repayment {
    id
    amount {
      amount
      currency
    }
    status
    failureCode
    createdAt
    transaction {
      id
    }
  }
`);

export const LoanQuery = graphql(`
  query Loan($id: ID!) {
    loan(id: $id) {
      ...LoanSummary
      awaitingSecondStaff
      totalDue {
        amount
        currency
      }
      repaid {
        amount
        currency
      }
      purpose
      decisionReason
      decidedAt
      disbursement {
        id
      }
      disbursedOn
      account {
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
      }
      borrower {
        id
        accounts {
          id
          number
          kind
          currency
          status
          nickname
        }
      }
      schedule {
        number
        dueOn
        principal {
          amount
          currency
        }
        interest {
          amount
          currency
        }
        amount {
          amount
          currency
        }
        paid {
          amount
          currency
        }
        status
      }
      repayments(first: 20) {
        edges {
          cursor
          node {
            ...RepaymentFields
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

export const MoreRepaymentsQuery = graphql(`
  query MoreRepayments($id: ID!, $after: String) {
    loan(id: $id) {
      id
      repayments(first: 20, after: $after) {
        edges {
          cursor
          node {
            ...RepaymentFields
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

export const RepayLoanMutation = graphql(`
  mutation RepayLoan($input: RepayLoanInput!) {
    repayLoan(input: $input) {
      ...RepaymentFields
    }
  }
`);

/**
 * What staff see of an application: the loan, who asked and where it would be paid, and the
 * four-eyes steps so far (who approved it, who asked for and confirmed its payout, and whether
 * it waits for a second member of staff).
 */
export const StaffLoanFields = graphql(`
  fragment StaffLoanFields on Loan {
    ...LoanSummary
    totalDue {
      amount
      currency
    }
    purpose
    decisionReason
    decidedAt
    awaitingSecondStaff
    approvals {
      step
      staffId
      at
    }
    account {
      id
      number
      status
    }
    borrower {
      id
      fullName
      email
    }
  }
`);

/** The review queue: applications in one status, oldest first (PENDING, or APPROVED to pay out). */
export const LoanApplicationsQuery = graphql(`
  query LoanApplications($status: LoanStatus!, $first: Int!, $after: String) {
    loanApplications(status: $status, first: $first, after: $after) {
      edges {
        cursor
        node {
          ...StaffLoanFields
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export const ApproveLoanMutation = graphql(`
  mutation ApproveLoan($id: ID!, $note: String) {
    approveLoan(id: $id, note: $note) {
      ...StaffLoanFields
    }
  }
`);

export const RejectLoanMutation = graphql(`
  mutation RejectLoan($id: ID!, $reason: String!) {
    rejectLoan(id: $id, reason: $reason) {
      ...StaffLoanFields
    }
  }
`);

export const DisburseLoanMutation = graphql(`
  mutation DisburseLoan($id: ID!) {
    disburseLoan(id: $id) {
      ...StaffLoanFields
      disbursedOn
    }
  }
`);
