/**
 * Live notifications: transactionAlerts and notificationAdded over graphql-ws, the notification
 * centre and its settings, served by the notifications subgraph. With this false the app works
 * without them: no socket is opened and balances refresh after the person's own actions.
 */
export const LIVE_NOTIFICATIONS = true;
