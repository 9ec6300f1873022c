/**
 * The notifications subgraph's operations, typed by code generation from the supergraph like
 * every other operation (`npm run codegen`).
 */
import { graphql } from '../../gql';

export const TransactionAlertsSubscription = graphql(`
  subscription TransactionAlerts {
    transactionAlerts {
      transaction {
        id
        kind
      }
      account {
        id
        number
        nickname
        balance {
          amount
          currency
        }
      }
      amount {
        amount
        currency
      }
      direction
      balanceAfter {
        amount
        currency
      }
      description
      postedAt
    }
  }
`);

export const NotificationFields = graphql(`
  fragment NotificationFields on Notification {
    id
    kind
    title
    body
    createdAt
    readAt
  }
`);

export const NotificationAddedSubscription = graphql(`
  subscription NotificationAdded {
    notificationAdded {
      ...NotificationFields
    }
  }
`);

export const UnreadCountQuery = graphql(`
  query UnreadNotifications {
    me {
      id
      notifications(first: 1, unreadOnly: true) {
        unreadCount
      }
    }
  }
`);

export const NotificationsQuery = graphql(`
  query Notifications($first: Int!, $after: String, $unreadOnly: Boolean!) {
    me {
      id
      notifications(first: $first, after: $after, unreadOnly: $unreadOnly) {
        edges {
          cursor
          node {
            ...NotificationFields
          }
        }
        pageInfo {
          hasNextPage
          endCursor
        }
        unreadCount
      }
    }
  }
`);

export const MarkNotificationReadMutation = graphql(`
  mutation MarkNotificationRead($id: ID!) {
    markNotificationRead(id: $id) {
      id
      readAt
    }
  }
`);

export const MarkAllNotificationsReadMutation = graphql(`
  mutation MarkAllNotificationsRead {
    markAllNotificationsRead
  }
`);

export const PreferencesFields = graphql(`
  fragment PreferencesFields on NotificationPreferences {
    inApp
    email
    sms
    phoneNumber
    pendingPhoneNumber
    alertThreshold
  }
`);

export const NotificationPreferencesQuery = graphql(`
  query NotificationPreferences {
    me {
      id
      email
      notificationPreferences {
        ...PreferencesFields
      }
    }
  }
`);

export const UpdateNotificationPreferencesMutation = graphql(`
  mutation UpdateNotificationPreferences($input: NotificationPreferencesInput!) {
    updateNotificationPreferences(input: $input) {
      ...PreferencesFields
    }
  }
`);

export const ConfirmPhoneNumberMutation = graphql(`
  mutation ConfirmPhoneNumber($code: String!) {
    confirmPhoneNumber(code: $code) {
      ...PreferencesFields
    }
  }
`);
