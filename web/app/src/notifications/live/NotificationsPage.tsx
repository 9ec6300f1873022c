import { useCallback, useEffect, useRef, useState } from 'react';
import { useClient, useMutation } from 'urql';
import type { NotificationFieldsFragment } from '../../gql/graphql';
import { describeError, type Described } from '../../lib/errors';
import { loadStatus } from '../../lib/loadState';
import { Link, usePageTitle } from '../../router';
import { FormError } from '../../ui/components';
import { QueryState } from '../../ui/QueryState';
import { notificationEvent, onNotificationEvent } from '../events';
import { addLive, appendPage, markAllRead, markRead } from '../list';
import { MarkAllNotificationsReadMutation, MarkNotificationReadMutation, NotificationsQuery } from './documents';

const PAGE_SIZE = 10;

interface ListState {
  items: NotificationFieldsFragment[];
  endCursor: string | null;
  hasNextPage: boolean;
  unreadCount: number;
}

const EMPTY: ListState = { items: [], endCursor: null, hasNextPage: false, unreadCount: 0 };

/** The notification centre: newest first, Load more, unread filter, mark one or all read. */
export function NotificationsPage() {
  usePageTitle('Notifications');
  const client = useClient();
  const [unreadOnly, setUnreadOnly] = useState(false);
  const [list, setList] = useState<ListState>(EMPTY);
  const [loading, setLoading] = useState(true);
  // Why loading the list (or its next page) failed; `error`: why marking read failed.
  const [loadFailure, setLoadFailure] = useState<Described>();
  const [error, setError] = useState<string>();
  const [, markOne] = useMutation(MarkNotificationReadMutation);
  const [{ fetching: markingAll }, markAll] = useMutation(MarkAllNotificationsReadMutation);
  const latest = useRef(0); // only the newest request's answer counts (the filter may change meanwhile)

  const load = useCallback(
    async (after: string | null, filter: boolean) => {
      const request = ++latest.current;
      setLoading(true);
      setLoadFailure(undefined);
      setError(undefined);
      const result = await client
        .query(NotificationsQuery, { first: PAGE_SIZE, after, unreadOnly: filter }, { requestPolicy: 'network-only' })
        .toPromise();
      if (request !== latest.current) return;
      setLoading(false);
      const connection = result.data?.me?.notifications;
      if (!connection) {
        setLoadFailure(describeError(result.error));
        return;
      }
      setList((current) => ({
        items: appendPage(after ? current.items : [], connection.edges.map((edge) => edge.node)),
        endCursor: connection.pageInfo.endCursor ?? null,
        hasNextPage: connection.pageInfo.hasNextPage,
        unreadCount: connection.unreadCount,
      }));
    },
    [client],
  );

  useEffect(() => {
    setList(EMPTY);
    void load(null, unreadOnly);
  }, [load, unreadOnly]);

  useEffect(
    () =>
      onNotificationEvent((event) => {
        if (event.type !== 'added') return;
        setList((current) => {
          const items = addLive(current.items, event.notification, unreadOnly);
          const added = items.length > current.items.length && !event.notification.readAt;
          return { ...current, items, unreadCount: current.unreadCount + (added ? 1 : 0) };
        });
      }),
    [unreadOnly],
  );

  const readOne = async (id: string) => {
    const result = await markOne({ id });
    const read = result.data?.markNotificationRead;
    if (!read) {
      setError(describeError(result.error).message);
      return;
    }
    setList((current) => ({
      ...current,
      items: markRead(current.items, id, read.readAt ?? new Date().toISOString()),
      unreadCount: Math.max(0, current.unreadCount - (current.items.some((i) => i.id === id && !i.readAt) ? 1 : 0)),
    }));
    notificationEvent({ type: 'read' });
  };

  const readAll = async () => {
    const result = await markAll({});
    if (result.data?.markAllNotificationsRead === undefined) {
      setError(describeError(result.error).message);
      return;
    }
    setList((current) => ({ ...current, items: markAllRead(current.items, new Date().toISOString()), unreadCount: 0 }));
    notificationEvent({ type: 'read' });
  };

  const status = loadStatus({ fetching: loading, loaded: !loading && !loadFailure, empty: list.items.length === 0, failure: loadFailure });

  return (
    <section>
      <div className="page-head">
        <h1 tabIndex={-1}>Notifications</h1>
        <Link href="/notifications/settings">Notification settings</Link>
      </div>
      <div className="card notification-tools">
        <p className="muted" aria-live="polite">
          {list.unreadCount === 0 ? 'Nothing unread.' : `${list.unreadCount} unread.`}
        </p>
        <label className="choice">
          <input type="checkbox" checked={unreadOnly} onChange={(e) => setUnreadOnly(e.target.checked)} />
          Show unread only
        </label>
        <button type="button" onClick={readAll} disabled={markingAll || list.unreadCount === 0}>
          {markingAll ? 'Marking…' : 'Mark all as read'}
        </button>
      </div>
      <FormError message={error} />
      <ol className="notifications" aria-label={unreadOnly ? 'Unread notifications, newest first' : 'Notifications, newest first'}>
        {list.items.map((item) => (
          <li key={item.id} className={`notification card ${item.readAt ? 'read' : 'unread'}`} data-testid="notification">
            <div>
              <strong>
                {!item.readAt && <span className="visually-hidden">Unread: </span>}
                {item.title}
              </strong>
              <p>{item.body}</p>
              <div className="muted small">
                <time dateTime={item.createdAt}>{new Date(item.createdAt).toLocaleString()}</time>
              </div>
            </div>
            {!item.readAt && (
              <button type="button" onClick={() => void readOne(item.id)} aria-label={`Mark “${item.title}” as read`}>
                Mark as read
              </button>
            )}
          </li>
        ))}
        <QueryState
          item
          status={status}
          failure={loadFailure}
          onRetry={() => void load(list.items.length ? list.endCursor : null, unreadOnly)}
          loading="Loading notifications…"
          empty={unreadOnly ? 'No unread notifications.' : 'No notifications yet.'}
        />
      </ol>
      {status === 'ready' && list.hasNextPage && list.endCursor && (
        <p className="more">
          <button type="button" onClick={() => void load(list.endCursor, unreadOnly)}>
            Load more
          </button>
        </p>
      )}
    </section>
  );
}
