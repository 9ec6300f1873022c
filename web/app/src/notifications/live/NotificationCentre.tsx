import { useEffect, useState } from 'react';
import { useMutation, useQuery, useSubscription } from 'urql';
import {
  MarkNotificationReadMutation,
  NotificationAddedSubscription,
  NotificationsQuery,
  type NotificationItem,
  type NotificationsData,
} from './documents';

/** The bell: unread count, the latest notifications, marking them read. */
export function NotificationCentre() {
  const [open, setOpen] = useState(false);
  const [{ data }, refetch] = useQuery<NotificationsData>({ query: NotificationsQuery, variables: { first: 20 } });
  const [added] = useSubscription<{ notificationAdded: NotificationItem }>({ query: NotificationAddedSubscription });
  const [, markRead] = useMutation(MarkNotificationReadMutation);
  useEffect(() => {
    if (added.data) refetch({ requestPolicy: 'network-only' });
  }, [added.data, refetch]);
  const items = data?.me?.notifications.edges.map((edge) => edge.node) ?? [];
  const unread = items.filter((item) => !item.readAt).length;

  return (
    <div className="notification-centre">
      <button type="button" aria-expanded={open} aria-controls="notification-list" onClick={() => setOpen(!open)}>
        Notifications{unread > 0 && <span className="count"> ({unread} unread)</span>}
      </button>
      {open && (
        <ul id="notification-list" className="card notification-list">
          {items.length === 0 && <li className="muted">Nothing yet.</li>}
          {items.map((item) => (
            <li key={item.id} className={item.readAt ? 'read' : 'unread'}>
              <strong>{item.title}</strong>
              <p>{item.body}</p>
              {!item.readAt && (
                <button type="button" className="link" onClick={() => void markRead({ id: item.id })}>
                  Mark as read
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
