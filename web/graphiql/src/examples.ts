/**
 * The tabs GraphiQL opens with the first time (afterwards it keeps the tabs as they were left):
 * signing in, the federated read of one's accounts, a transfer, and the live alerts the web app
 * shows. Field names are the supergraph's (schema/supergraph.graphql).
 */
import type { GraphiQLProps } from 'graphiql';

type TabDefinition = NonNullable<GraphiQLProps['defaultTabs']>[number];

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

// Comments are wrapped to fit the operation editor beside the Sign in panel (32 characters).
export const SIGN_IN = `# The bank's GraphQL API.
#
# Sign in first: with the Sign
# in panel on the left, or fill
# in the Variables below and run
# this tab (▶ or Ctrl-Enter).
# Either way the token goes into
# the Headers of every tab.
#
# \`make up\` prints the demo
# customer's e-mail and password
# (kept in .data/secrets.env).
mutation SignIn($input: LoginInput!) {
  login(input: $input) {
    accessToken
    expiresIn
    user {
      id
      email
      fullName
      roles
    }
  }
}
`;

export const MY_ACCOUNTS = `# One query across services:
# \`me\` from users, \`accounts\`
# from accounts, \`balance\` and
# \`transactions\` from the
# ledger. The router plans it
# and joins the answers.
query MyAccounts {
  me {
    email
    fullName
    accounts {
      id
      number
      nickname
      kind
      currency
      status
      balance {
        amount
        currency
      }
      availableBalance {
        amount
        currency
      }
      transactions(first: 10) {
        edges {
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
          }
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
    }
  }
}
`;

export const TRANSFER = `# Money to another account here:
# \`fromAccountId\` from
# MyAccounts, the recipient's
# account number.
#
# \`idempotencyKey\` is required:
# the same key and details again
# (a retry) move the money once.
# Use a new key for a new one.
mutation Transfer($input: TransferInput!) {
  transfer(input: $input) {
    id
    kind
    amount {
      amount
      currency
    }
    fromAccount {
      number
    }
    toAccount {
      number
    }
    createdAt
  }
}
`;

export const ALERTS = `# Live alerts, as the web app
# shows them: run this, then
# move money (the Transfer tab
# or the web app). Each posting
# on your accounts arrives here
# over a WebSocket (graphql-ws),
# signed in with the token in
# its connection_init.
subscription TransactionAlerts {
  transactionAlerts {
    transaction {
      id
      kind
    }
    account {
      number
      nickname
    }
    direction
    amount {
      amount
      currency
    }
    balanceAfter {
      amount
      currency
    }
    description
    postedAt
  }
}
`;

/** The example tabs; the transfer's idempotency key is new each time they are made. */
export function exampleTabs(newKey: () => string = () => crypto.randomUUID()): TabDefinition[] {
  return [
    { query: SIGN_IN, variables: json({ input: { email: '', password: '' } }) },
    { query: MY_ACCOUNTS },
    {
      query: TRANSFER,
      variables: json({
        input: {
          fromAccountId: '<an id from MyAccounts>',
          toAccountNumber: '<the recipient’s account number>',
          amount: '10.00',
          description: 'Lunch',
          idempotencyKey: newKey(),
        },
      }),
    },
    { query: ALERTS },
  ];
}
