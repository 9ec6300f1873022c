import { describe, expect, it } from 'vitest';
import { addLive, appendPage, markAllRead, markRead, unreadBadge } from './list';

const n = (id: string, createdAt: string, readAt: string | null = null) => ({ id, createdAt, readAt });

describe('the notification list', () => {
  it('appends older pages once', () => {
    const list = [n('3', '2024-01-03'), n('2', '2024-01-02')];
    expect(appendPage(list, [n('2', '2024-01-02'), n('1', '2024-01-01')]).map((x) => x.id)).toEqual(['3', '2', '1']);
  });

  it('puts a live notification on top, once', () => {
    const list = [n('2', '2024-01-02T00:00:00Z'), n('1', '2024-01-01T00:00:00Z')];
    const added = addLive(list, n('3', '2024-01-03T00:00:00Z'), false);
    expect(added.map((x) => x.id)).toEqual(['3', '2', '1']);
    expect(addLive(added, n('3', '2024-01-03T00:00:00Z'), false)).toHaveLength(3);
  });

  it('keeps newest first when a live one is older than the top', () => {
    const list = [n('3', '2024-01-03'), n('1', '2024-01-01')];
    expect(addLive(list, n('2', '2024-01-02'), false).map((x) => x.id)).toEqual(['3', '2', '1']);
  });

  it('does not add a read one to the unread list', () => {
    expect(addLive([], n('1', '2024-01-01', '2024-01-02'), true)).toEqual([]);
    expect(addLive([], n('1', '2024-01-01'), true)).toHaveLength(1);
  });

  it('marks one or all read, keeping earlier read times', () => {
    const list = [n('2', '2024-01-02'), n('1', '2024-01-01', 'earlier')];
    expect(markRead(list, '2', 'now').map((x) => x.readAt)).toEqual(['now', 'earlier']);
    expect(markRead(list, '1', 'now').map((x) => x.readAt)).toEqual([null, 'earlier']);
    expect(markAllRead(list, 'now').map((x) => x.readAt)).toEqual(['now', 'earlier']);
  });

  it('shows the unread count as a badge', () => {
    expect([unreadBadge(0), unreadBadge(undefined), unreadBadge(3), unreadBadge(100)]).toEqual(['', '', '3', '99+']);
  });
});
