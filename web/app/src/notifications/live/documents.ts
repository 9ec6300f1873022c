/**
 * Enabled when the notifications subgraph lands (see ../README.md): these fields are not in the
 * supergraph yet, so this folder is excluded from code generation and the types are written by
 * hand after shared/API.md.
 */
import { gql } from 'urql';

export interface MoneyValue {
  amount: string;
  currency: string;
}

export interface TransactionAlertData {
  transactionAlerts: {
    transaction: { id: string; kind: string; amount: MoneyValue; description?: string | null };
    account: { id: string; number: string; nickname?: string | null };
    balanceAfter: MoneyValue;
  };
}

export interface NotificationItem {
  id: string;
  kind: string;
  title: string;
  body: string;
  createdAt: string;
  readAt?: string | null;
}

export interface NotificationsData {
  me: { id: string; notifications: { edges: Array<{ cursor: string; node: NotificationItem }> } } | null;
}

export const TransactionAlertsSubscription = gql`
  subscription TransactionAlerts {
    transactionAlerts {
      transaction {
        id
        kind
        amount {
          amount
          currency
        }
        description
      }
      account {
        id
        number
        nickname
      }
      balanceAfter {
        amount
        currency
      }
    }
  }
`;

export const NotificationAddedSubscription = gql`
  subscription NotificationAdded {
    notificationAdded {
      id
      kind
      title
      body
      createdAt
      readAt
    }
  }
`;

export const NotificationsQuery = gql`
  query Notifications($first: Int!) {
    me {
      id
      notifications(first: $first) {
        edges {
          cursor
          node {
            id
            kind
            title
            body
            createdAt
            readAt
          }
        }
      }
    }
  }
`;

export const MarkNotificationReadMutation = gql`
  mutation MarkNotificationRead($id: ID!) {
    markNotificationRead(id: $id) {
      id
      readAt
    }
  }
`;
