import { describe, expect, it } from 'vitest';
import { anyInFlight, dueKey, flightKey, isDue, ordersThatPaid, pollDelayMs, runsMap, statusChanges, statusMap } from './live';

describe('polling while a payment is in flight', () => {
  it('asks every second at first, then less often, never less than every 15 s', () => {
    const delays = Array.from({ length: 20 }, (_, attempt) => pollDelayMs(attempt));
    expect(delays.slice(0, 10)).toEqual(Array(10).fill(1000));
    expect(delays[10]).toBe(1500);
    for (let i = 1; i < delays.length; i++) expect(delays[i]).toBeGreaterThanOrEqual(delays[i - 1]);
    expect(pollDelayMs(100)).toBe(15_000);
  });

  it('polls only while something will change by itself', () => {
    expect(anyInFlight([{ id: 'a', status: 'COMPLETED' }, { id: 'b', status: 'RETURNED' }, { id: 'c', status: 'FAILED' }])).toBe(false);
    expect(anyInFlight([{ id: 'a', status: 'COMPLETED' }, { id: 'b', status: 'SUBMITTED' }])).toBe(true);
    expect(flightKey([{ id: 'a', status: 'COMPLETED' }])).toBe('');
  });

  it('starts over when an in-flight payment moves on', () => {
    const before = flightKey([{ id: 'a', status: 'QUEUED' }, { id: 'b', status: 'COMPLETED' }]);
    expect(before).toBe('a:QUEUED');
    expect(flightKey([{ id: 'a', status: 'SUBMITTED' }, { id: 'b', status: 'COMPLETED' }])).not.toBe(before);
  });
});

describe('statusChanges', () => {
  it('lists the payments whose status moved, not new ones', () => {
    const before = statusMap([
      { id: 'a', status: 'QUEUED' },
      { id: 'b', status: 'SUBMITTED' },
    ]);
    const after = [
      { id: 'n', status: 'QUEUED' },
      { id: 'a', status: 'COMPLETED' },
      { id: 'b', status: 'SUBMITTED' },
    ];
    expect(statusChanges(before, after)).toEqual([{ payment: { id: 'a', status: 'COMPLETED' }, from: 'QUEUED' }]);
    expect(statusChanges(new Map(), after)).toEqual([]);
  });
});

describe('standing orders the bank is about to pay', () => {
  const today = '2026-11-25';
  const order = (over: Partial<{ id: string; status: string; nextRunOn: string | null; runs: number }> = {}) => ({
    id: 'o1',
    status: 'ACTIVE',
    nextRunOn: today,
    runs: 0,
    ...over,
  });

  it('follows an active order whose next date is today or past, and no other', () => {
    expect(isDue(order(), today)).toBe(true);
    expect(isDue(order({ nextRunOn: '2026-11-20' }), today)).toBe(true); // a missed date is caught up
    expect(isDue(order({ nextRunOn: '2026-11-26' }), today)).toBe(false);
    expect(isDue(order({ status: 'CANCELLED', nextRunOn: null }), today)).toBe(false);
    expect(isDue(order({ status: 'ENDED', nextRunOn: today }), today)).toBe(false);
    expect(dueKey([order(), order({ id: 'o2', nextRunOn: '2026-12-25', runs: 1 })], today)).toBe('o1:2026-11-25:0');
    // Paid: the next date moves on, nothing is due, the asking stops.
    expect(dueKey([order({ nextRunOn: '2026-12-25', runs: 1 })], today)).toBe('');
  });

  it('tells which orders paid a date since the last answer, including one new since then', () => {
    const before = runsMap([order({ runs: 1 }), order({ id: 'o2', runs: 3 })]);
    const after = [order({ runs: 2 }), order({ id: 'o2', runs: 3 }), order({ id: 'new', runs: 1 }), order({ id: 'newer', runs: 0 })];
    expect(ordersThatPaid(before, after).map((o) => o.id)).toEqual(['o1', 'new']);
    // The first answer is no change.
    expect(ordersThatPaid(undefined, after)).toEqual([]);
  });
});
