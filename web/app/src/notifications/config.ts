/**
 * Live notifications (transactionAlerts and notificationAdded over graphql-ws, the notification
 * centre) need the notifications subgraph, which is not in the supergraph yet. Until then this
 * stays false, the documents in ./live are kept out of code generation (codegen.ts), and balances
 * are refreshed after the person's own mutations instead. See ./README.md for switching it on.
 */
export const LIVE_NOTIFICATIONS = false;
