/**
 * Every operation the app sends, typed by code generation from the supergraph
 * (`npm run codegen`, part of `npm run build`).
 */
import { graphql } from '../gql';

export const AuthFields = graphql(`
  fragment AuthFields on AuthPayload {
    accessToken
    refreshToken
    expiresIn
    user {
      id
      email
      fullName
      roles
    }
  }
`);

/** Asks to open an account: nobody is signed in, the answer only says to look for the e-mail. */
export const RegisterMutation = graphql(`
  mutation Register($input: RegisterInput!) {
    register(input: $input) {
      message
    }
  }
`);

/** Confirms the address with the e-mailed link's token and the password, and signs in. */
export const VerifyEmailMutation = graphql(`
  mutation VerifyEmail($input: VerifyEmailInput!) {
    verifyEmail(input: $input) {
      ...AuthFields
    }
  }
`);

/**
 * Asks for a password-reset link by e-mail; sent without a token. The answer is the same whether
 * or not the address has an account.
 */
export const RequestPasswordResetMutation = graphql(`
  mutation RequestPasswordReset($email: String!) {
    requestPasswordReset(email: $email) {
      message
    }
  }
`);

/** Sets a new password with the e-mailed link's token (once); ends every session and signs in. */
export const ResetPasswordMutation = graphql(`
  mutation ResetPassword($input: ResetPasswordInput!) {
    resetPassword(input: $input) {
      ...AuthFields
    }
  }
`);

/** Changes the signed-in person's password; every session ends, and the answer is a new one. */
export const ChangePasswordMutation = graphql(`
  mutation ChangePassword($input: ChangePasswordInput!) {
    changePassword(input: $input) {
      ...AuthFields
    }
  }
`);

/**
 * Who signed in, with the access token from the provider's token endpoint (the ID token names
 * the user but not their roles).
 */
export const SessionUserQuery = graphql(`
  query SessionUser {
    me {
      id
      email
      fullName
      roles
    }
  }
`);

export const AccountSummary = graphql(`
  fragment AccountSummary on Account {
    id
    number
    kind
    currency
    status
    nickname
    freezeReason
    balance {
      amount
      currency
    }
    availableBalance {
      amount
      currency
    }
  }
`);

export const DashboardQuery = graphql(`
  query Dashboard {
    me {
      id
      fullName
      accounts {
        ...AccountSummary
      }
    }
  }
`);

export const AccountQuery = graphql(`
  query Account($id: ID!) {
    account(id: $id) {
      ...AccountSummary
      openedAt
      closedAt
      overdraftLimit {
        amount
        currency
      }
      dailyWithdrawalLimit {
        amount
        currency
      }
      owner {
        id
        fullName
        accounts {
          id
          number
          currency
          status
          nickname
          kind
        }
      }
    }
  }
`);

export const TransactionsQuery = graphql(`
  query Transactions($id: ID!, $first: Int!, $after: String) {
    account(id: $id) {
      id
      transactions(first: $first, after: $after) {
        edges {
          cursor
          amount {
            amount
            currency
          }
          balanceAfter {
            amount
            currency
          }
          node {
            id
            kind
            description
            createdAt
            fromAccount {
              id
              number
            }
            toAccount {
              id
              number
            }
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

// Only the accounts service's fields: the ledger knows the account a moment later.
export const OpenAccountMutation = graphql(`
  mutation OpenAccount($input: OpenAccountInput!) {
    openAccount(input: $input) {
      id
      number
      kind
      currency
      status
      nickname
    }
  }
`);

export const CloseAccountMutation = graphql(`
  mutation CloseAccount($id: ID!) {
    closeAccount(id: $id) {
      id
      status
      closedAt
    }
  }
`);

const MovedMoney = graphql(`
  fragment MovedMoney on Transaction {
    id
    kind
    amount {
      amount
      currency
    }
    createdAt
  }
`);
void MovedMoney;

export const DepositMutation = graphql(`
  mutation Deposit($input: DepositInput!) {
    deposit(input: $input) {
      ...MovedMoney
    }
  }
`);

export const WithdrawMutation = graphql(`
  mutation Withdraw($input: WithdrawInput!) {
    withdraw(input: $input) {
      ...MovedMoney
    }
  }
`);

export const TransferMutation = graphql(`
  mutation Transfer($input: TransferInput!) {
    transfer(input: $input) {
      ...MovedMoney
    }
  }
`);

export const StaffAccountFields = graphql(`
  fragment StaffAccountFields on Account {
    ...AccountSummary
    openedAt
    closedAt
    owner {
      id
      fullName
      email
    }
  }
`);

export const StaffAccountByIdQuery = graphql(`
  query StaffAccountById($id: ID!) {
    account(id: $id) {
      ...StaffAccountFields
    }
  }
`);

export const StaffAccountByNumberQuery = graphql(`
  query StaffAccountByNumber($number: String!) {
    accountByNumber(number: $number) {
      ...StaffAccountFields
    }
  }
`);

export const FreezeAccountMutation = graphql(`
  mutation FreezeAccount($id: ID!, $reason: String!) {
    freezeAccount(id: $id, reason: $reason) {
      id
      status
      freezeReason
    }
  }
`);

export const UnfreezeAccountMutation = graphql(`
  mutation UnfreezeAccount($id: ID!) {
    unfreezeAccount(id: $id) {
      id
      status
      freezeReason
    }
  }
`);
