/**
 * The notification centre's list as plain data: pages appended by Load more, new notifications
 * put on top as they arrive, marking read in place. Each notification appears once.
 */
export interface NotificationLike {
  id: string;
  createdAt: string;
  readAt?: string | null;
}

/** Pages (older) go below what is there; one notification once. */
export function appendPage<T extends NotificationLike>(list: readonly T[], page: readonly T[]): T[] {
  const known = new Set(list.map((item) => item.id));
  return [...list, ...page.filter((item) => !known.has(item.id))];
}

/**
 * A notification pushed live goes on top (newest first), unless it is there already. With the
 * unread filter on, a read one is not added.
 */
export function addLive<T extends NotificationLike>(list: readonly T[], item: T, unreadOnly: boolean): T[] {
  if (list.some((existing) => existing.id === item.id)) return [...list];
  if (unreadOnly && item.readAt) return [...list];
  const next = [item, ...list];
  return next.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
}

export function markRead<T extends NotificationLike>(list: readonly T[], id: string, readAt: string): T[] {
  return list.map((item) => (item.id === id && !item.readAt ? { ...item, readAt } : item));
}

export function markAllRead<T extends NotificationLike>(list: readonly T[], readAt: string): T[] {
  return list.map((item) => (item.readAt ? item : { ...item, readAt }));
}

/** "3 unread" for the header; nothing when there are none; "99+" beyond 99. */
export function unreadBadge(count: number | null | undefined): string {
  if (!count || count <= 0) return '';
  return count > 99 ? '99+' : String(count);
}
