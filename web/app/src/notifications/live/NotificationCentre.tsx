import { useEffect } from 'react';
import { useQuery } from 'urql';
import { Link, usePath } from '../../router';
import { onNotificationEvent } from '../events';
import { unreadBadge } from '../list';
import { UnreadCountQuery } from './documents';

/** The header's way into the notification centre, with the unread count kept live. */
export function NotificationCentre() {
  const path = usePath();
  const [{ data }, refetch] = useQuery({ query: UnreadCountQuery });
  useEffect(() => onNotificationEvent(() => refetch({ requestPolicy: 'network-only' })), [refetch]);
  const count = data?.me?.notifications.unreadCount ?? 0;
  const badge = unreadBadge(count);
  return (
    <Link
      href="/notifications"
      className="notification-link"
      aria-current={path === '/notifications' ? 'page' : undefined}
      aria-label={count ? `Notifications, ${count} unread` : 'Notifications'}
    >
      Notifications
      {badge && (
        <span className="count" data-testid="unread-count" aria-hidden="true">
          {badge}
        </span>
      )}
    </Link>
  );
}
