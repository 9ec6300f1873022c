/**
 * Notification events inside the app: a notification arrived live (the open list puts it on
 * top), or some were marked read (the header's unread count refetches).
 */
import type { NotificationFieldsFragment } from '../gql/graphql';

export type NotificationEvent = { type: 'added'; notification: NotificationFieldsFragment } | { type: 'read' };
type Listener = (event: NotificationEvent) => void;
const listeners = new Set<Listener>();

export function onNotificationEvent(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function notificationEvent(event: NotificationEvent): void {
  listeners.forEach((listener) => listener(event));
}
