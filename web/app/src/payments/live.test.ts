import { describe, expect, it } from 'vitest';
import { anyInFlight, flightKey, pollDelayMs, statusChanges, statusMap } from './live';

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
