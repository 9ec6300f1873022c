import { describe, expect, it, vi } from 'vitest';
import { balancesChanged, concerns, onBalancesChanged } from './events';

describe('balances changed', () => {
  it('concerns every account when none is named, else only the named ones', () => {
    expect(concerns({}, 'a')).toBe(true);
    expect(concerns({ accountIds: ['a'] }, 'a')).toBe(true);
    expect(concerns({ accountIds: ['b'] }, 'a')).toBe(false);
  });

  it('reaches listeners until they stop listening', () => {
    const listener = vi.fn();
    const stop = onBalancesChanged(listener);
    balancesChanged({ accountIds: ['a'] });
    stop();
    balancesChanged();
    expect(listener).toHaveBeenCalledExactlyOnceWith({ accountIds: ['a'] });
  });
});
