import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RefreshScheduler, refreshDelayMs } from './refresh';

describe('refreshDelayMs', () => {
  it('refreshes at 80% of the lifetime for long-lived tokens', () => {
    expect(refreshDelayMs(900)).toBe(720_000);
    expect(refreshDelayMs(3600)).toBe(2_880_000);
  });

  it('keeps at least 30 seconds of margin for short-lived tokens', () => {
    expect(refreshDelayMs(120)).toBe(90_000);
    expect(refreshDelayMs(60)).toBe(30_000);
  });

  it('never schedules sooner than one second', () => {
    expect(refreshDelayMs(20)).toBe(1_000);
    expect(refreshDelayMs(0)).toBe(1_000);
    expect(refreshDelayMs(-5)).toBe(1_000);
  });
});

describe('RefreshScheduler', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('refreshes once, before expiry', async () => {
    const refresh = vi.fn(async () => 'ok' as const);
    const scheduler = new RefreshScheduler(refresh);
    scheduler.schedule(900);
    await vi.advanceTimersByTimeAsync(719_999);
    expect(refresh).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(scheduler.scheduled).toBe(false);
  });

  it('replaces the timer when a new token arrives, and cancels on sign-out', async () => {
    const refresh = vi.fn(async () => 'ok' as const);
    const scheduler = new RefreshScheduler(refresh);
    scheduler.schedule(900);
    await vi.advanceTimersByTimeAsync(600_000);
    scheduler.schedule(900); // e.g. a new pair after signing in again
    await vi.advanceTimersByTimeAsync(200_000);
    expect(refresh).not.toHaveBeenCalled();
    scheduler.cancel();
    await vi.advanceTimersByTimeAsync(10_000_000);
    expect(refresh).not.toHaveBeenCalled();
  });

  it('tries again after a network failure, not after a refused token', async () => {
    const outcomes: Array<'retry' | 'failed'> = ['retry', 'failed'];
    const refresh = vi.fn(async () => outcomes.shift() ?? 'failed');
    const scheduler = new RefreshScheduler(refresh, undefined, 5_000);
    scheduler.schedule(60);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(refresh).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(refresh).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(refresh).toHaveBeenCalledTimes(2);
  });
});
